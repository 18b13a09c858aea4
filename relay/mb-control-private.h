/* mb-control-private.h - what the parts of the control object share
 *
 * mb-control.c (lifecycle, status, pause, configuration),
 * mb-control-queue.c (the queue's figures, pages, retry and delete),
 * mb-control-message.c (one message's envelope and header fields),
 * mb-control-log.c (the delivery log and its signals),
 * mb-control-test-send.c (test messages) and mb-control-backend.c (the
 * thin calls into the scheduler).
 */
#pragma once

#include "mb-control.h"
#include "mb-daemon.h"
#include "mb-delivery-log.h"
#include "mb-envelope.h"
#include "mb-relay1-generated.h"

G_BEGIN_DECLS

struct _MbControl
{
  GObject parent_instance;

  MbDaemon        *daemon;      /* (unowned) owns us */
  MbRelay1        *skeleton;    /* (owned) */
  GDBusConnection *connection;  /* (owned) (nullable) */
  GCancellable    *cancellable; /* (owned) cancelled in dispose/stop */
  guint            owner_id;
  GTask           *start_task; /* (owned) (nullable) until the name is ours */

  /* Delivery paused by the admin while there is no scheduler to ask. */
  gboolean paused;

  /* The queue's figures (mb-control-queue.c). */
  GHashTable *queue_entries; /* (owned) id -> QueueEntry, as last read */
  GHashTable *dirty_ids;     /* (owned) ids to read again */
  GHashTable *changed_ids;   /* (owned) for the next QueueChanged */
  GHashTable *removed_ids;   /* (owned) for the next QueueChanged */
  guint       queue_timeout_id;
  gboolean    queue_refreshing;
  gboolean    queue_refresh_again;
  GPtrArray  *figures_waiters; /* (owned) (element-type GTask) */

  /* Test messages and flushes waiting for an attempt (mb-control-log.c
   * feeds them). */
  GPtrArray *outcome_waiters; /* (owned) (element-type OutcomeWaiter) */

  GPtrArray *signal_sources; /* (owned) (element-type SignalSource) */
  GPtrArray *watched_routes; /* (owned) (element-type GObject) */
};

/* mb-control.c */
void control_update_status (MbControl *self);
/* Returns @error (taking it) on @invocation as a control error. */
void control_return_error (GDBusMethodInvocation *invocation, GError *error);
/* Connects @handler to @instance for the control's lifetime. */
void control_connect (MbControl  *self,
                      gpointer    instance,
                      const char *signal,
                      GCallback   handler);

/* mb-control-queue.c */
void control_queue_setup (MbControl *self);
/* Marks @id as changed (or gone) for the figures and QueueChanged. */
void control_queue_mark (MbControl *self, const char *id, gboolean removed);
/* The scheduler's figures changed: set the properties now. */
void control_queue_figures_changed (MbControl *self);
/* Reads the figures now (in a thread), completing once they are set. */
void     control_queue_refresh_async (MbControl          *self,
                                      GAsyncReadyCallback callback,
                                      gpointer            user_data);
gboolean control_queue_refresh_finish (MbControl    *self,
                                       GAsyncResult *result,
                                       GError      **error);
/* An envelope as the a{sv} of ListQueue (thread-safe, pure). */
/* Whether @envelope's id, sender, route, a recipient address or a last
 * reply contains @needle (lower case; NULL matches all). */
gboolean  control_envelope_matches (const MbEnvelope *envelope,
                                    const char       *needle);
GVariant *control_envelope_to_variant (const MbEnvelope *envelope,
                                       gboolean          details);
/* A GAsyncReadyCallback for a GTask returning a GVariant: answers the
 * GDBusMethodInvocation in @user_data (taken) with it, or with the error. */
void control_return_variant_cb (GObject      *source,
                                GAsyncResult *result,
                                gpointer      user_data);

/* mb-control-message.c */
void control_message_setup (MbControl *self);

/* mb-control-log.c */
void control_log_setup (MbControl *self);
/* "summary — fix" for a reply line, "" when none applies (pure). */
char *control_hint_text_for_reply (const char *reply, const char **keyword);

/* Waits until the delivery log records an attempt for @queue_id (the
 * first recipient's outcome), or, with @until_removed, the message leaves
 * the queue, or @timeout_seconds pass.  The result is the record (NULL
 * without one: removed, or still queued at the timeout). */
void              control_wait_outcome_async (MbControl          *self,
                                              const char         *queue_id,
                                              guint               timeout_seconds,
                                              gboolean            until_removed,
                                              GAsyncReadyCallback callback,
                                              gpointer            user_data);
MbDeliveryRecord *control_wait_outcome_finish (MbControl    *self,
                                               GAsyncResult *result,
                                               GError      **error);

typedef struct _OutcomeWaiter OutcomeWaiter;
/* Completes a waiter still pending with G_IO_ERROR_CANCELLED. */
void control_outcome_waiter_free (OutcomeWaiter *waiter);

/* mb-control-test-send.c */
void control_test_send_setup (MbControl *self);

/* mb-control-backend.c: what only the scheduler can do.  Until the
 * scheduler exists these fall back to what the spool alone allows. */
void     control_backend_setup (MbControl *self);
gboolean control_backend_is_paused (MbControl *self);
void     control_backend_pause (MbControl *self);
void     control_backend_resume (MbControl *self);
/* (element-type utf8) English sentences for AttentionReasons. */
GPtrArray *control_backend_attention_reasons (MbControl *self);
/* The queue's figures from the scheduler's memory; FALSE without one. */
gboolean control_backend_figures (MbControl *self,
                                  guint     *length,
                                  guint     *deferred,
                                  gint64    *oldest);
/* ListQueue's reply "(aa{sv}u)" (floating) from the scheduler's memory;
 * NULL without one (then the spool is read). */
GVariant *control_backend_list_queue (MbControl  *self,
                                      guint       offset,
                                      guint       limit,
                                      const char *needle);
/* aa{sv}, floating. */
GVariant *control_backend_routes (MbControl *self);
gboolean
control_backend_retry (MbControl *self, const char *id, GError **error);
/* The ids retried (element-type utf8). */
GPtrArray *control_backend_retry_all (MbControl *self, GError **error);
void       control_backend_delete_async (MbControl          *self,
                                         const char         *id,
                                         GAsyncReadyCallback callback,
                                         gpointer            user_data);
gboolean   control_backend_delete_finish (MbControl    *self,
                                          GAsyncResult *result,
                                          GError      **error);

G_END_DECLS
