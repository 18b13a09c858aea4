/* mb-scheduler-private.h - shared by the mb-scheduler*.c files (not
 * installed, not for other modules) */
#pragma once

#include "mb-connection-pool.h"
#include "mb-scheduler.h"
#include "mb-sender-policy.h"

G_BEGIN_DECLS

typedef struct _RouteSlot RouteSlot;

/* Where an entry is: exactly one of these. */
typedef enum
{
  ENTRY_WAITING, /* in the timeline only (not due, or no route) */
  ENTRY_READY,   /* due: in its route's ready queue (and in the timeline
                  * for its expiry or delay notice) */
  ENTRY_BUSY,    /* an attempt, a write, a report or the removal runs */
  ENTRY_PENDING, /* a write, expiry, report or removal is due: in the
                  * scheduler's step queue, waiting for a free step */
} EntryPlace;

typedef struct
{
  char          *id;       /* (owned) */
  MbEnvelope    *envelope; /* (owned) as last written (or being written) */
  EntryPlace     place;
  guint64        seq;         /* ties in the timeline: arrival order */
  gint64         wake;        /* unix seconds; key in the timeline */
  GSequenceIter *iter;        /* (nullable) in the timeline */
  GList         *link;        /* (nullable) in slot->ready */
  RouteSlot     *slot;        /* (unowned) (nullable) while ENTRY_READY */
  gboolean       deliver_now; /* retried by the admin: in slot->urgent,
                               * sent even while the relay is paused */
  GList   *step_link;         /* (nullable) in the step queue */
  gboolean in_step;           /* BUSY with a step: counts in n_steps */
  gboolean step_follows;      /* a step just ended: its next goes first */
  gboolean dirty;             /* the envelope failed to be written */
  gboolean report_queued;     /* its failure report is committed */
  gboolean dropped;           /* removed from the spool meanwhile */
  gint64   last_attempt;      /* unix seconds, 0: none this run */
} Entry;

struct _RouteSlot
{
  MbScheduler          *scheduler; /* (unowned) */
  MbRelayConfig        *config;    /* (owned) the one it was built from */
  const MbRouteConfig  *settings;  /* (unowned) its route, in config */
  MbRoute              *route;     /* (owned) */
  MbConnectionPool     *pool;      /* (owned) */
  MbSenderPolicyConfig *policy;    /* (owned) */
  GQueue                ready;     /* (element-type Entry) (unowned) */
  GQueue                urgent;    /* (element-type Entry) (unowned) due
                                    * and deliver_now: before ready */
  guint  timer;                    /* pacing or back-off wait */
  guint  n_connecting;
  gint64 pacer_skew; /* microseconds subtracted while asking
                      * the pacer (see mb-scheduler.c) */
  gulong state_handler;
  gulong slot_handler;
  gulong problem_handler;
  char  *expiry_warning;     /* (owned) (nullable) a secret expires soon */
  gint64 secret_expires;     /* the client secret's due expiry, or 0 */
  guint  n_calls;            /* attempts and connects under way */
  guint  borrowed;           /* pacer connection slots held for the open
                              * connections of retired slots of this name */
  gboolean retired;          /* replaced or removed by a reload: in
                              * scheduler->retired, starts nothing */
  gboolean awaiting_secrets; /* built by a reload: connects only once its
                              * secrets are read again from the store the
                              * daemon reads anew */
};

struct _MbScheduler
{
  GObject parent_instance;

  MbSpool         *spool;       /* (owned) */
  MbRelayConfig   *config;      /* (owned) */
  MbCredentials   *credentials; /* (owned) (nullable) */
  MbDeliveryLog   *log;         /* (owned) (nullable) */
  MbSchedulerClock clock;
  guint            idle_timeout;

  GPtrArray *recovered; /* (owned) (nullable) (element-type MbEnvelope)
                         * from the spool's recovery, until the start */
  GHashTable *entries;  /* (owned) id -> Entry (owned) */
  GSequence  *timeline; /* (owned) (element-type Entry) (unowned) by wake */
  guint64     next_seq;
  guint       timer;      /* for the timeline's first entry */
  gint64      timer_at;   /* its wake, unix seconds */
  GHashTable *slots;      /* (owned) route name -> RouteSlot (owned) */
  GPtrArray  *retired;    /* (owned) (element-type RouteSlot) (owned) */
  GQueue      steps;      /* (element-type Entry) (unowned) ENTRY_PENDING */
  guint       n_steps;    /* under way, at most MB_SCHEDULER_MAX_STEPS */
  guint       steps_idle; /* pending start of waiting steps */

  gboolean custom_clock;
  gboolean started;
  gboolean stopped;
  gboolean paused;
  gboolean no_route_logged; /* the "no route configured" line was logged */
  guint    changed_idle;    /* pending "queue-changed" emission */
  gulong   committed_handler;
  gulong   removed_handler;
};

enum
{
  SIGNAL_MESSAGE_DELIVERED,
  SIGNAL_MESSAGE_FAILED,
  SIGNAL_QUEUE_CHANGED,
  SIGNAL_ROUTE_STATE_CHANGED,
  N_SCHEDULER_SIGNALS
};

extern guint mb_scheduler_signals[N_SCHEDULER_SIGNALS];

/* mb-scheduler.c */
gint64 mb_scheduler_now (MbScheduler *self); /* unix seconds */
void   mb_scheduler_process (MbScheduler *self, Entry *entry);
void   mb_scheduler_set_busy (MbScheduler *self, Entry *entry);
/* The attempt or report on @entry ended: drops it when it was removed
 * meanwhile (returns FALSE), else makes it available again. */
gboolean mb_scheduler_end_busy (MbScheduler *self, Entry *entry);
void     mb_scheduler_forget (MbScheduler *self, Entry *entry);
/* Puts a non-busy @entry into the timeline at @wake without further
 * decisions (a retry of a failed write or report). */
void mb_scheduler_hold (MbScheduler *self, Entry *entry, gint64 wake);
void mb_scheduler_queue_changed (MbScheduler *self);
/* Clears the one-shot deliver_now of @entry (out of the ready queues). */
void mb_scheduler_end_deliver_now (Entry *entry);
/* (nullable) The name of the route @envelope goes by. */
const char *mb_scheduler_route_name_for (MbScheduler      *self,
                                         const MbEnvelope *envelope);

guint mb_scheduler_add_timeout (MbScheduler *self,
                                gint64       delay_usec,
                                GSourceFunc  function,
                                gpointer     data);
void  mb_scheduler_clear_timeout (MbScheduler *self, guint *id);

/* mb-scheduler-load.c */
/* Loads the queue in a worker thread (the envelopes recovery handed over,
 * the rest from disk), indexes it and completes @start (transfer full). */
void mb_scheduler_load_queue (MbScheduler  *self,
                              GCancellable *cancellable,
                              GTask        *start);
void mb_scheduler_add_envelopes (MbScheduler *self, GPtrArray *envelopes);
void mb_scheduler_on_spool_committed_cb (MbSpool    *spool,
                                         const char *id,
                                         gpointer    user_data);
void mb_scheduler_on_spool_removed_cb (MbSpool    *spool,
                                       const char *id,
                                       gpointer    user_data);

/* mb-scheduler-routes.c */
/* Adds a slot for each configured route that has none; a route's retired
 * slot, if any, hands its pacing counts on. */
void mb_scheduler_add_routes (MbScheduler *self);
void mb_scheduler_route_slot_free (RouteSlot *slot);
/* Sends what the route's limits allow from its ready queue (for a
 * retired slot: frees it once its last call and connection are gone). */
void mb_scheduler_pump (RouteSlot *slot);

/* mb-scheduler-reload.c */
/* (nullable) The newest retired slot of route @name. */
RouteSlot *mb_scheduler_find_retired (MbScheduler *self, const char *name);
/* Holds in @slot's pacer one connection slot per connection its retired
 * predecessors still have open, as far as the limit allows. */
void mb_scheduler_sync_borrowed (RouteSlot *slot);
/* The pump of a retired slot (see mb_scheduler_pump()). */
void mb_scheduler_pump_retired (RouteSlot *slot);

/* mb-scheduler-reports.c */
/* A record for the delivery log (nothing without a log). */
void mb_scheduler_append_log (MbScheduler       *self,
                              const MbEnvelope  *envelope,
                              const MbRecipient *recipient,
                              MbDeliveryStatus   status,
                              const char        *reply);
/* @text for a key="value" log field: quotes escaped, one line. */
char *mb_scheduler_quote (const char *text);
/* The steps (a write again, expiry, the delay notice, the failure report
 * and removal) that run at most this many at once; each holds files open
 * (the original, the report being written), so a queue that needs
 * thousands of them at startup must not start them together. */
#define MB_SCHEDULER_MAX_STEPS 4
/* Whether @entry (not busy) needs one of the steps now, before any
 * delivery. */
gboolean mb_scheduler_step_is_due (MbScheduler *self, Entry *entry, gint64 now);
/* Makes @entry (not busy) ENTRY_PENDING in the step queue (first when
 * @first) and starts what the limit allows.  The step to run is decided
 * when it starts. */
void mb_scheduler_queue_step (MbScheduler *self, Entry *entry, gboolean first);
/* Takes @entry out of the step queue, if it is there. */
void mb_scheduler_unqueue_step (MbScheduler *self, Entry *entry);
/* Starts waiting steps while fewer than MB_SCHEDULER_MAX_STEPS run. */
void mb_scheduler_run_steps (MbScheduler *self);

G_END_DECLS
