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

G_END_DECLS
