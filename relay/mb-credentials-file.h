/* mb-credentials-file.h - upstream secrets from a 0600 file
 *
 * The [relay] secrets file: a GKeyFile with one group per route,
 * "[route NAME]", and the keys of MB_CREDENTIALS_KIND_* (mb-credentials.h).
 * For headless use (DESIGN.md "The contract"); in a desktop session the
 * keyring backend (mb-credentials-keyring.h) takes its place behind the
 * same MbCredentials API.
 *
 * A secret may have an expiry date beside it, under the kind's name with
 * "-expires" appended, as a date or an ISO 8601 time:
 *
 *   [route office365]
 *   client-secret=...
 *   client-secret-expires=2027-03-01
 *
 * The file must be a regular file of the daemon's own user with no group
 * or other permission bits (0600 or stricter); anything else is refused
 * with a message that says how to fix it.  Stores and clears rewrite it
 * atomically as a 0600 file, keeping its comments.
 */
#pragma once

#include <gio/gio.h>

#include "mb-credentials.h"

G_BEGIN_DECLS

#define MB_CREDENTIALS_FILE_ERROR (mb_credentials_file_error_quark ())
GQuark mb_credentials_file_error_quark (void);

typedef enum
{
  MB_CREDENTIALS_FILE_ERROR_NOT_FOUND,   /* the file does not exist */
  MB_CREDENTIALS_FILE_ERROR_PERMISSIONS, /* not a regular file, readable
                                          * or writable by group or
                                          * others, or not ours */
  MB_CREDENTIALS_FILE_ERROR_IO,          /* it cannot be read or written */
  MB_CREDENTIALS_FILE_ERROR_PARSE,       /* not a key file, or a group,
                                          * key or date we do not know */
} MbCredentialsFileError;

#define MB_TYPE_CREDENTIALS_FILE (mb_credentials_file_get_type ())
G_DECLARE_FINAL_TYPE (MbCredentialsFile,
                      mb_credentials_file,
                      MB,
                      CREDENTIALS_FILE,
                      MbCredentials)

/* Reads and checks @path: refused unless it is a regular file owned by the
 * effective user, without any group or other permission bits (0600 or
 * stricter).  Blocks (a small file, read at startup and on reload). */
MbCredentialsFile *mb_credentials_file_new (const char *path, GError **error);

const char *mb_credentials_file_get_path (MbCredentialsFile *self);

/* The secret of @kind for route @route, or NULL, from memory (never
 * blocks; any thread).  Free it with mb_smtp_secret_free() (it is
 * wiped).  (transfer full) (nullable) */
char *mb_credentials_file_lookup (MbCredentialsFile *self,
                                  const char        *route,
                                  const char        *kind);

G_END_DECLS
