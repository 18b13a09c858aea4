/* mb-daemon.h - the relay engine put together
 *
 * Owns the configuration in force, the spool and the SMTP server (and,
 * later, the scheduler and the D-Bus control object).  mailbridged.c only
 * parses options and runs this.
 */
#pragma once

#include <gio/gio.h>

#include "mb-relay-config.h"
#include "mb-smtp-server.h"
#include "mb-spool.h"

G_BEGIN_DECLS

#define MB_TYPE_DAEMON (mb_daemon_get_type ())
G_DECLARE_FINAL_TYPE (MbDaemon, mb_daemon, MB, DAEMON, GObject)

MbDaemon *mb_daemon_new (MbRelayConfig *config);

/* Recovers the spool, loads or generates the STARTTLS certificate (in a
 * worker thread), binds every listener and then reports READY=1 to the
 * service manager. */
void     mb_daemon_start_async (MbDaemon           *daemon,
                                GCancellable       *cancellable,
                                GAsyncReadyCallback callback,
                                gpointer            user_data);
gboolean mb_daemon_start_finish (MbDaemon     *daemon,
                                 GAsyncResult *result,
                                 GError      **error);

/* Puts @config in force for new connections.  A configuration whose spool
 * differs is refused: moving the queue needs a restart. */
gboolean mb_daemon_reload (MbDaemon      *daemon,
                           MbRelayConfig *config,
                           GError       **error);

void mb_daemon_stop (MbDaemon *daemon);

MbRelayConfig *mb_daemon_get_config (MbDaemon *daemon);
MbSpool       *mb_daemon_get_spool (MbDaemon *daemon);

G_END_DECLS
