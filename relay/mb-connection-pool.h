/* mb-connection-pool.h - the upstream connections of one route
 *
 * Opens connections to a route's upstream with its settings (host or MX,
 * port, TLS, trust, client certificate, sign-in), keeps them open between
 * messages for reuse, closes them with QUIT once idle for a while, and
 * never holds more than the route's pacer allows.  After a failed connect
 * it backs off on the retry schedule, so an unreachable upstream is not
 * hammered by every queued message in turn.
 *
 * Main-loop only.
 */
#pragma once

#include <gio/gio.h>

#include "mb-credentials.h"
#include "mb-relay-config.h"
#include "mb-route-signin.h"
#include "mb-route.h"
#include "mb-smtp-client.h"

G_BEGIN_DECLS

/* Seconds an idle connection stays open by default. */
#define MB_CONNECTION_POOL_DEFAULT_IDLE_TIMEOUT 10

#define MB_TYPE_CONNECTION_POOL (mb_connection_pool_get_type ())
G_DECLARE_FINAL_TYPE (MbConnectionPool,
                      mb_connection_pool,
                      MB,
                      CONNECTION_POOL,
                      GObject)

/**
 * mb_connection_pool_new:
 * @route: the route (its pacer counts the connections).
 * @config: its [route NAME] (copied where needed).
 * @credentials: (nullable): the route's secret store (keyring or
 *   secrets file).
 * @helo_name: our EHLO name.
 * @retry_schedule: (element-type gint64): for the back-off.
 *
 * Starts reading what sign-in needs (mb-route-signin.h), without
 * blocking: a route that cannot sign in is set NEEDS_SIGNIN or paused
 * with the reason, with a log line.
 */
MbConnectionPool *mb_connection_pool_new (MbRoute             *route,
                                          const MbRouteConfig *config,
                                          MbCredentials       *credentials,
                                          const char          *helo_name,
                                          const GArray        *retry_schedule);

MbRoute *mb_connection_pool_get_route (MbConnectionPool *self);
/* (transfer none) The route's sign-in material (reload, problem). */
MbRouteSignin *mb_connection_pool_get_signin (MbConnectionPool *self);

void mb_connection_pool_set_idle_timeout (MbConnectionPool *self,
                                          guint             seconds);

/* (transfer full) (nullable) An idle, ready connection, now busy. */
MbSmtpClient *mb_connection_pool_take_idle (MbConnectionPool *self);

/* Microseconds (monotonic) until a new connection may be opened: 0 now,
 * -1 when all slots are taken (wait for a release), else the back-off. */
gint64 mb_connection_pool_delay_for_open (MbConnectionPool *self);

/* Ends the back-off after failed connects (the admin asked to retry). */
void mb_connection_pool_reset_backoff (MbConnectionPool *self);

/* Takes a slot, gets the sign-in material and connects.  On failure the
 * slot is freed, the route records the failure and the back-off grows;
 * the error is the client's.  MB_SMTP_CLIENT_ERROR_AUTH_UNAVAILABLE from
 * the sign-in (the route is NEEDS_SIGNIN or paused) is not counted. */
void          mb_connection_pool_open_async (MbConnectionPool   *self,
                                             GAsyncReadyCallback callback,
                                             gpointer            user_data);
MbSmtpClient *mb_connection_pool_open_finish (MbConnectionPool *self,
                                              GAsyncResult     *result,
                                              GError          **error);

/* Hands a busy connection back: kept idle when it is still ready, else
 * closed and its slot freed. */
void mb_connection_pool_release (MbConnectionPool *self, MbSmtpClient *client);

/* QUITs the idle connections; busy ones are closed when released. */
void mb_connection_pool_close_idle (MbConnectionPool *self);

/* Ends the pool's use (its route's settings changed, or the route went
 * away): connects and sign-ins under way are cancelled, idle connections
 * are QUIT now and busy ones as soon as they are released; it opens
 * nothing more (G_IO_ERROR_CLOSED).  Each QUIT that ends emits
 * "slot-freed"; once mb_connection_pool_get_n_open() is 0 no connection
 * is left. */
void mb_connection_pool_retire (MbConnectionPool *self);

guint mb_connection_pool_get_n_open (MbConnectionPool *self);
guint mb_connection_pool_get_n_idle (MbConnectionPool *self);

/* Signal "slot-freed": a connection was closed, so one more may be opened
 * (emitted on the main context, never from inside a pool call). */

G_END_DECLS
