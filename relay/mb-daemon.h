/* mb-daemon.h - the relay engine put together
 *
 * Owns the configuration in force, the spool and the SMTP server (and,
 * later, the scheduler and the D-Bus control object).  mailbridged.c only
 * parses options and runs this.
 */
#pragma once

#include <gio/gio.h>

#include "mb-control.h"
#include "mb-credentials.h"
#include "mb-delivery-log.h"
#include "mb-relay-config.h"
#include "mb-smtp-server.h"
#include "mb-spool.h"

G_BEGIN_DECLS

#define MB_TYPE_DAEMON (mb_daemon_get_type ())
G_DECLARE_FINAL_TYPE (MbDaemon, mb_daemon, MB, DAEMON, GObject)

MbDaemon *mb_daemon_new (MbRelayConfig *config);

/* Reads the configuration: @path, else $XDG_CONFIG_HOME/mailbridge/
 * mailbridge.conf when it exists, else the built-in defaults.  Blocks (a
 * small file). */
MbRelayConfig *mb_daemon_load_config (const char *path, GError **error);

/* Before start: where the configuration comes from (NULL: the user's file
 * or the defaults, as mb_daemon_load_config()), for reloads. */
void        mb_daemon_set_config_source (MbDaemon *daemon, const char *path);
const char *mb_daemon_get_config_source (MbDaemon *daemon);

/* Before start: the bus for the control object (org.mailbridge.Relay1);
 * G_BUS_TYPE_NONE (the default) for none.  With a bus, start completes
 * (and READY=1 is sent) only once the bus name is acquired.  When the bus
 * cannot be reached or another process owns the name, start fails if
 * @required, else the relay runs without the control object (a log line
 * says so). */
void
mb_daemon_set_bus_type (MbDaemon *daemon, GBusType bus_type, gboolean required);

/* Recovers the spool, loads or generates the STARTTLS certificate (in a
 * worker thread), binds every listener and then reports READY=1 to the
 * service manager. */
void mb_daemon_start_async (MbDaemon           *daemon,
                            GCancellable       *cancellable,
                            GAsyncReadyCallback callback,
                            gpointer            user_data);
gboolean
mb_daemon_start_finish (MbDaemon *daemon, GAsyncResult *result, GError **error);

/* Puts @config in force for new connections.  A configuration whose spool
 * differs is refused: moving the queue needs a restart. */
gboolean
mb_daemon_reload (MbDaemon *daemon, MbRelayConfig *config, GError **error);

void mb_daemon_stop (MbDaemon *daemon);

MbRelayConfig *mb_daemon_get_config (MbDaemon *daemon);
MbSpool       *mb_daemon_get_spool (MbDaemon *daemon);
/* (nullable) until started */
MbSmtpServer *mb_daemon_get_server (MbDaemon *daemon);
/* (nullable) until started, or when the build has no scheduler; an
 * MbScheduler (mb-scheduler.h). */
gpointer mb_daemon_get_scheduler (MbDaemon *daemon);
/* (nullable) until started; the history of deliveries, in
 * $XDG_STATE_HOME/mailbridge/delivery-log.sqlite */
MbDeliveryLog *mb_daemon_get_delivery_log (MbDaemon *daemon);
/* (nullable) until started; the routes' secret store
 * (mb_credentials_new_for_config()). */
MbCredentials *mb_daemon_get_credentials (MbDaemon *daemon);

/* Reads the secrets again (the secrets file anew, in a worker thread),
 * then those of @route (nullable: every route), so a route signed in by
 * mailbridgectl or the application leaves NEEDS_SIGNIN; then checks the
 * secrets' expiry.  Errors: the secrets file is refused now (the old
 * secrets stay), MB_SCHEDULER_ERROR_NOT_FOUND for an unknown route. */
void     mb_daemon_reload_credentials_async (MbDaemon           *daemon,
                                             const char         *route,
                                             GAsyncReadyCallback callback,
                                             gpointer            user_data);
gboolean mb_daemon_reload_credentials_finish (MbDaemon     *daemon,
                                              GAsyncResult *result,
                                              GError      **error);

G_END_DECLS
