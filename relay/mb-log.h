/* mb-log.h - where the relay's structured log goes
 *
 * Under systemd (stderr connected to the journal) every record goes to
 * journald with its structured fields (MB_SESSION, MB_QUEUE_ID, MB_ROUTE,
 * MB_RECIPIENT).  Otherwise one line per record on stderr:
 * "LEVEL domain: message".  Info and above are always shown; debug only
 * with --verbose or G_MESSAGES_DEBUG.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

void mb_log_install_writer (gboolean verbose);

/* The value of @key in a "key=value key=value" log message (unquoted
 * values only), or NULL.  These become journal fields: session ->
 * MB_SESSION, queue-id -> MB_QUEUE_ID, route -> MB_ROUTE, recipient or
 * rcpt -> MB_RECIPIENT. */
char *mb_log_message_value (const char *message, const char *key);

G_END_DECLS
