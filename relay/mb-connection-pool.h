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

#include "mb-credentials-file.h"
#include "mb-relay-config.h"
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
 * @credentials: (nullable): the secrets file.
 * @helo_name: our EHLO name.
 * @retry_schedule: (element-type gint64): for the back-off.
 *
 * Reads what sign-in needs now: a route that cannot sign in is set
 * NEEDS_SIGNIN (OAuth without a token) or paused with the reason (basic
 * without a password, an unreadable client certificate), with a log line.
 * Blocks briefly to read the client certificate (startup and reload).
 */
MbConnectionPool *mb_connection_pool_new (MbRoute             *route,
                                          const MbRouteConfig *config,
                                          MbCredentialsFile   *credentials,
                                          const char          *helo_name,
                                          const GArray        *retry_schedule);

MbRoute *mb_connection_pool_get_route (MbConnectionPool *self);

void mb_connection_pool_set_idle_timeout (MbConnectionPool *self,
                                          guint             seconds);

/* (transfer full) (nullable) An idle, ready connection, now busy. */
MbSmtpClient *mb_connection_pool_take_idle (MbConnectionPool *self);

/* Microseconds (monotonic) until a new connection may be opened: 0 now,
 * -1 when all slots are taken (wait for a release), else the back-off. */
gint64 mb_connection_pool_delay_for_open (MbConnectionPool *self);

/* Ends the back-off after failed connects (the admin asked to retry). */
void mb_connection_pool_reset_backoff (MbConnectionPool *self);

/* Takes a slot and connects.  On failure the slot is freed, the route
 * records the failure and the back-off grows; the error is the client's. */
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

guint mb_connection_pool_get_n_open (MbConnectionPool *self);
guint mb_connection_pool_get_n_idle (MbConnectionPool *self);

/* Signal "slot-freed": a connection was closed, so one more may be opened
 * (emitted on the main context, never from inside a pool call). */

G_END_DECLS
