/* mb-scheduler.h - what to deliver when
 *
 * The scheduler keeps the queue's envelopes in memory, indexed by the time
 * each needs attention, and drives every queued message to its end: one
 * delivery attempt per transaction on the message's route (paced to the
 * route's limits, over reused connections), retries on the retry
 * schedule, a delay notice once, expiry, a failure report for the
 * recipients that failed, and finally the message's removal from the
 * spool.  The D-Bus control object and mailbridgectl act through the
 * public API below.
 *
 * Main-loop only.
 */
#pragma once

#include <gio/gio.h>

#include "mb-credentials.h"
#include "mb-delivery-log.h"
#include "mb-relay-config.h"
#include "mb-route.h"
#include "mb-spool.h"

G_BEGIN_DECLS

#define MB_SCHEDULER_ERROR (mb_scheduler_error_quark ())
GQuark mb_scheduler_error_quark (void);

typedef enum
{
  MB_SCHEDULER_ERROR_NOT_FOUND, /* no such queue id */
} MbSchedulerError;

/* The relay's delivery state as a whole. */
typedef enum
{
  MB_SCHEDULER_STATE_RUNNING,  /* delivering (routes may still be paused) */
  MB_SCHEDULER_STATE_PAUSED,   /* held by mb_scheduler_set_paused() */
  MB_SCHEDULER_STATE_NO_ROUTE, /* messages wait, but no [route] is
                                * configured for them */
} MbSchedulerState;

/* "running", "paused", "no-route-configured". */
const char *mb_scheduler_state_to_string (MbSchedulerState state);

/**
 * MbSchedulerClock:
 * @now: unix time in microseconds (default g_get_real_time()).
 * @add_timeout: like g_timeout_add() (@interval in milliseconds).
 * @remove_timeout: like g_source_remove().
 * @user_data: passed to all three.
 *
 * Where the scheduler takes its time from, so tests can use a fake clock.
 * With a custom clock the route pacers use @now too.
 */
typedef struct
{
  gint64 (*now) (gpointer user_data);
  guint (*add_timeout) (guint       interval,
                        GSourceFunc function,
                        gpointer    data,
                        gpointer    user_data);
  void (*remove_timeout) (guint id, gpointer user_data);
  gpointer user_data;
} MbSchedulerClock;

#define MB_TYPE_SCHEDULER (mb_scheduler_get_type ())
G_DECLARE_FINAL_TYPE (MbScheduler, mb_scheduler, MB, SCHEDULER, GObject)

/**
 * mb_scheduler_new:
 * @spool: the recovered spool.
 * @config: the configuration in force (routes, retry schedule, ...).
 * @credentials: (nullable): the secret store (keyring or secrets file,
 *   mb_credentials_new_for_config()); NULL: routes that need secrets
 *   cannot sign in.
 * @log: (nullable): the delivery log.
 *
 * Creates one MbRoute per [route NAME].  Nothing runs until
 * mb_scheduler_start_async().
 */
MbScheduler *mb_scheduler_new (MbSpool       *spool,
                               MbRelayConfig *config,
                               MbCredentials *credentials,
                               MbDeliveryLog *log);

/* Replaces the clock; call before starting. */
void mb_scheduler_set_clock (MbScheduler *self, const MbSchedulerClock *clock);

/* Seconds an unused upstream connection stays open (default 10). */
void mb_scheduler_set_idle_timeout (MbScheduler *self, guint seconds);

/**
 * mb_scheduler_set_recovered:
 * @envelopes: (transfer full) (element-type MbEnvelope): what
 *   mb_spool_recover_full() parsed from the scheduler's spool.
 *
 * Call before mb_scheduler_start_async(): the start then indexes these
 * envelopes instead of reading their files again, reads from disk only
 * the messages committed since the recovery, and drops those removed
 * since.  Only the scheduler rewrites envelopes, so none changed.
 */
void mb_scheduler_set_recovered (MbScheduler *self, GPtrArray *envelopes);

/* Loads every queued envelope (read in a worker thread), follows the
 * spool's "committed" and "removed" signals from then on, and starts
 * delivering.  Completes once the queue is loaded. */
void     mb_scheduler_start_async (MbScheduler        *self,
                                   GCancellable       *cancellable,
                                   GAsyncReadyCallback callback,
                                   gpointer            user_data);
gboolean mb_scheduler_start_finish (MbScheduler  *self,
                                    GAsyncResult *result,
                                    GError      **error);

/* Starts nothing new; idle connections are closed.  Attempts under way
 * finish (their results are written). */
void mb_scheduler_stop (MbScheduler *self);

/* Puts a new configuration in force.  A route whose [route NAME] (or the
 * relay's hostname, admin-address or retry-schedule) changed is replaced
 * by one with the new settings, its waiting messages move over at once,
 * and it reads its secrets anew; a removed route delivers nothing more
 * (its messages wait as messages without a route); attempts under way
 * finish on the old settings and are recorded as usual.  Unchanged routes
 * keep their connections, state and pacing.  "route-state-changed"
 * tells of each new or replaced route.  With a secret store, a new or
 * replaced route that signs in connects only after the next
 * mb_scheduler_reload_credentials_async(), so it never signs in with
 * secrets read before the file changed: call it after this (the daemon
 * does, with the store read anew). */
void mb_scheduler_set_config (MbScheduler *self, MbRelayConfig *config);

/* Holds (or releases) all deliveries, except a message retried by id
 * (mb_scheduler_retry()); the queue, expiry and reports are kept.  Emits
 * "queue-changed". */
void     mb_scheduler_set_paused (MbScheduler *self, gboolean paused);
gboolean mb_scheduler_get_paused (MbScheduler *self);

MbSchedulerState mb_scheduler_get_state (MbScheduler *self);

/* Makes the deferred recipients of message @id (NULL: of every message)
 * due now and ends the routes' connection back-off.  A message retried by
 * @id goes next on its route, even while the relay is paused: one attempt
 * (one-shot; its route's pacing, pause and sign-in still apply).  With
 * NULL a paused relay stays paused.  Fails with
 * MB_SCHEDULER_ERROR_NOT_FOUND for an unknown id. */
gboolean mb_scheduler_retry (MbScheduler *self, const char *id, GError **error);

/* Queued messages, and those with a deferred recipient. */
guint mb_scheduler_get_length (MbScheduler *self);
guint mb_scheduler_get_n_deferred (MbScheduler *self);

/* (transfer none) (nullable) The envelope as last written (or being
 * written) of @id. */
const MbEnvelope *mb_scheduler_lookup (MbScheduler *self, const char *id);
/* Whether an attempt, report or removal of @id is under way. */
gboolean mb_scheduler_is_busy (MbScheduler *self, const char *id);
/* (transfer container) (element-type utf8) Queue ids, unordered. */
GPtrArray *mb_scheduler_list_ids (MbScheduler *self);

/* (transfer container) (element-type MbRoute) The routes, by name. */
GPtrArray *mb_scheduler_get_routes (MbScheduler *self);
/* (transfer none) (nullable) */
MbRoute *mb_scheduler_lookup_route (MbScheduler *self, const char *name);

/**
 * mb_scheduler_reload_credentials_async:
 * @route: (nullable): the route; NULL for every route.
 * @credentials: (nullable): a new secret store (a re-read secrets file),
 *   also for routes added later; NULL: the current one.
 *
 * Reads the routes' secrets again (after a sign-in stored new ones): a
 * route whose sign-in material is now complete leaves NEEDS_SIGNIN (or
 * the pause its missing secrets caused) and delivers its waiting
 * messages.  Completes once the secrets are read; fails with
 * MB_SCHEDULER_ERROR_NOT_FOUND for an unknown route.
 */
void     mb_scheduler_reload_credentials_async (MbScheduler        *self,
                                                const char         *route,
                                                MbCredentials      *credentials,
                                                GAsyncReadyCallback callback,
                                                gpointer            user_data);
gboolean mb_scheduler_reload_credentials_finish (MbScheduler  *self,
                                                 GAsyncResult *result,
                                                 GError      **error);

/* (nullable) Why route @name cannot sign in ("Route m365 is not signed
 * in ...", Entra's reason with its AADSTS code), or NULL. */
const char *mb_scheduler_get_signin_problem (MbScheduler *self,
                                             const char  *name);

/* Puts the result of mb_credentials_check_expiry_async() (element-type
 * MbCredentialsExpiry) in force: each route named there gets an expiry
 * warning (mb_scheduler_get_expiry_warning()) and, for its client secret,
 * the date (mb_scheduler_get_secret_expiry()); the others lose theirs;
 * "route-state-changed" tells of each change. */
void mb_scheduler_set_expiring_secrets (MbScheduler *self,
                                        GPtrArray   *expiring,
                                        gint64       now);
/* (nullable) "the client-secret expires on 2026-03-01 (12 days)". */
const char *mb_scheduler_get_expiry_warning (MbScheduler *self,
                                             const char  *name);
/* When route @name's client secret expires (unix seconds) while it is due
 * (within MB_CREDENTIALS_EXPIRY_WARNING_DAYS or past), else 0: what an
 * application offers to renew. */
gint64 mb_scheduler_get_secret_expiry (MbScheduler *self, const char *name);

/* Signals (all on the main context):
 *   "message-delivered" (const char *id): every recipient delivered, the
 *     message left the queue;
 *   "message-failed" (const char *id): the message left the queue with at
 *     least one recipient FAILED (its report queued);
 *   "queue-changed" (): messages came, went or changed state; bursts are
 *     collapsed into one emission per main-loop iteration;
 *   "route-state-changed" (MbRoute *route): a route's state changed, or
 *     its sign-in problem or expiry warning. */

G_END_DECLS
