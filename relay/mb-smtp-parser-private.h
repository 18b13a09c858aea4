/* mb-smtp-parser-private.h - shared between the files of the smtp-parser
 * module (mb-smtp-parser.c, mb-smtp-address.c, mb-smtp-data.c); not for
 * other modules, which use mb-smtp-parser.h. */
#pragma once

#include "mb-smtp-parser.h"

G_BEGIN_DECLS

typedef enum
{
  MB_SMTP_PATH_REVERSE, /* MAIL: "<>" allowed */
  MB_SMTP_PATH_FORWARD, /* RCPT: "<postmaster>" allowed, "<>" refused */
} MbSmtpPathKind;

/* Checks @path (@len octets, "<...>" or a bare mailbox, never empty) and
 * returns the mailbox in @mailbox: "" for the null path, the source route
 * removed, "postmaster" for RCPT's special case.  Errors are BAD_PATH,
 * NEEDS_SMTPUTF8 or NULL_RCPT. */
gboolean mb_smtp_path_parse (const char    *path,
                             gsize          len,
                             MbSmtpPathKind kind,
                             gboolean       smtputf8,
                             char         **mailbox,
                             GError       **error);

G_END_DECLS
