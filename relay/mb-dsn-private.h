/* mb-dsn-private.h - shared by mb-dsn.c (reading the original, building
 * the MIME report) and mb-dsn-text.c (what the report says) */
#pragma once

#include "mb-dsn.h"

G_BEGIN_DECLS

/* What mb-dsn.c took from the original message. */
typedef struct
{
  GBytes  *content;      /* (owned) (nullable) what goes in part 3 */
  gboolean full;         /* @content is the whole message */
  gboolean too_large;    /* headers only because of the size */
  gboolean auto_replied; /* Auto-Submitted: auto-replied, or a DSN */
  char    *subject;      /* (owned) (nullable) decoded */
  char    *message_id;   /* (owned) (nullable) without brackets */
} MbDsnOriginal;

/* The text/plain part (UTF-8, LF line ends).  @have_original: whether
 * part 3 is attached at all. */
char *mb_dsn_format_text (MbDsnKind            kind,
                          const MbEnvelope    *envelope,
                          GPtrArray           *recipients,
                          const MbDsnOptions  *options,
                          const MbDsnOriginal *original,
                          gboolean             have_original);

/* The message/delivery-status body (RFC 3464 2.1), CRLF line ends. */
char *mb_dsn_format_delivery_status (MbDsnKind           kind,
                                     const MbEnvelope   *envelope,
                                     GPtrArray          *recipients,
                                     const MbDsnOptions *options);

/* @text as one line of valid UTF-8 without control characters, trimmed. */
char    *mb_dsn_sanitize (const char *text);
gboolean mb_dsn_is_ascii (const char *text);

G_END_DECLS
