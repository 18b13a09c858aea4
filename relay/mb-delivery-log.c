/* mb-delivery-log.c - the history of delivery attempts
 *
 * What it does
 *   Records one MbDeliveryRecord per delivery attempt per recipient, and
 *   per final event, in an SQLite file (mb-delivery-store.c), and answers
 *   queries by time range, address, status and queue id, with paging, a
 *   count, and retention by age.
 *
 * Guarantees
 *   - The caller's thread never waits for SQLite: every statement runs on
 *     the log's one worker thread, fed by a GAsyncQueue of jobs in FIFO
 *     order.  Only dropping the last reference waits, for the worker to
 *     write what is queued and close the file.
 *   - Appends are copied and collected; the collection is handed to the
 *     worker from an idle on the log's main context, at 1,000 records, or
 *     before any other request.  The worker merges the append jobs waiting
 *     in its queue, so a burst costs a few transactions, not one each.
 *   - A query, count or expiry sees every record appended before it was
 *     called; a flush completes after every earlier record is committed.
 *   - "record-added" is emitted on the log's main context (the thread
 *     default when it was created), after the record's transaction
 *     committed, in commit order, and before the completion of any later
 *     request.  Every result reaches the main context through that same
 *     ordered channel, and the worker never holds a reference to the log
 *     or to a task's source, so the log is never finalized off the main
 *     context.
 *   - A failure to write loses history only: it is logged, counted for
 *     the next flush, and never reaches the caller of append.
 *
 * What it does not do
 *   It is never the only copy of anything: the spool's envelopes are the
 *   truth and the log is history, so it trades the last transactions of a
 *   power cut for speed (synchronous=NORMAL).  It does not redact: callers
 *   pass reply lines, never commands or credentials.  It does not schedule
 *   retention itself.
 */
#define G_LOG_DOMAIN "mb-delivery-log"

#include "mb-delivery-log.h"

#include "mb-delivery-store.h"

/* Appends collected before the worker gets them, at most. */
#define HANDOFF_RECORDS 1000
/* Records merged from waiting append jobs into one transaction, at most. */
#define MAX_TRANSACTION_RECORDS 5000

#define USEC_PER_DAY ((gint64)86400 * G_USEC_PER_SEC)

typedef enum
{
  JOB_APPEND,
  JOB_FLUSH,
  JOB_QUERY,
  JOB_COUNT,
  JOB_EXPIRE,
  JOB_STOP,
} JobKind;

typedef struct
{
  JobKind    kind;
  GPtrArray *records; /* (owned) (nullable) JOB_APPEND */
  GTask     *task;    /* (owned) (nullable) */
} Job;

/* What the worker hands back to the main context: committed records to
 * announce, or a task to complete (with a result or an error). */
typedef struct
{
  GPtrArray     *added;       /* (owned) (nullable) */
  GTask         *task;        /* (owned) (nullable) */
  gpointer       result;      /* (owned) (nullable) */
  GDestroyNotify result_free; /* NULL: a boolean task */
  GError        *error;       /* (owned) (nullable) */
} Event;

/* Shared between the log, its worker thread and the idles it schedules;
 * refcounted so an idle that runs after the log is gone finds it intact. */
typedef struct
{
  gatomicrefcount ref_count;
  GAsyncQueue    *jobs;    /* (owned) (element-type Job) */
  GMainContext   *context; /* (owned) */
  GWeakRef        owner;   /* the MbDeliveryLog, for signal emission */

  GMutex     lock;
  GPtrArray *pending;        /* (owned) (nullable) (locked) not handed over */
  gboolean   handoff_queued; /* (locked) */
  GQueue     events;         /* (owned) (element-type Event) (locked) */
  gboolean   events_queued;  /* (locked) */
  guint64    transactions;   /* (locked) */

  /* Worker thread only. */
  MbDeliveryStore *store;   /* (owned) */
  gboolean         dropped; /* records lost since the last flush */
} Worker;

typedef struct
{
  MbDeliveryLogQuery query; /* strings (owned) */
} QueryData;

struct _MbDeliveryLog
{
  GObject parent_instance;

  char    *path;   /* (owned) */
  Worker  *worker; /* (owned) */
  GThread *thread; /* (owned) (nullable) NULL once joined */
};

enum
{
  SIGNAL_RECORD_ADDED,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

G_DEFINE_BOXED_TYPE (MbDeliveryRecord,
                     mb_delivery_record,
                     mb_delivery_record_copy,
                     mb_delivery_record_free)
G_DEFINE_TYPE (MbDeliveryLog, mb_delivery_log, G_TYPE_OBJECT)

static const char *const status_names[] = {
  [MB_DELIVERY_STATUS_DELIVERED] = "delivered",
  [MB_DELIVERY_STATUS_DEFERRED] = "deferred",
  [MB_DELIVERY_STATUS_FAILED] = "failed",
  [MB_DELIVERY_STATUS_BOUNCED] = "bounced",
  [MB_DELIVERY_STATUS_EXPIRED] = "expired",
  [MB_DELIVERY_STATUS_DELETED] = "deleted",
  [MB_DELIVERY_STATUS_SENT_DSN] = "sent-dsn",
};

G_STATIC_ASSERT (G_N_ELEMENTS (status_names) == MB_DELIVERY_STATUS_LAST + 1);

/* Helpers: jobs, events, the shared state */

static Job *
job_new (JobKind kind, GPtrArray *records, GTask *task)
{
  Job *job = g_new0 (Job, 1);

  job->kind = kind;
  job->records = records;
  job->task = task;
  return job;
}

static void
job_free (Job *job)
{
  g_clear_pointer (&job->records, g_ptr_array_unref);
  g_clear_object (&job->task);
  g_free (job);
}

static void
event_free (Event *event)
{
  g_clear_pointer (&event->added, g_ptr_array_unref);
  g_clear_object (&event->task);
  if (event->result != NULL && event->result_free != NULL)
    event->result_free (event->result);
  g_clear_error (&event->error);
  g_free (event);
}

static void
query_data_free (QueryData *data)
{
  g_free (data->query.address);
  g_free (data->query.queue_id);
  g_free (data);
}

static GPtrArray *
new_record_array (void)
{
  return g_ptr_array_new_with_free_func (
      (GDestroyNotify)mb_delivery_record_free);
}

static Worker *
worker_ref (Worker *worker)
{
  g_atomic_ref_count_inc (&worker->ref_count);
  return worker;
}

static void
worker_unref (Worker *worker)
{
  if (!g_atomic_ref_count_dec (&worker->ref_count))
    return;
  g_async_queue_unref (worker->jobs);
  g_main_context_unref (worker->context);
  g_weak_ref_clear (&worker->owner);
  g_mutex_clear (&worker->lock);
  g_clear_pointer (&worker->pending, g_ptr_array_unref);
  g_queue_clear_full (&worker->events, (GDestroyNotify)event_free);
  mb_delivery_store_free (worker->store);
  g_free (worker);
}

/* Moves the collected appends into the job queue, in front of whatever
 * the caller pushes next. */
static void
hand_over_pending (Worker *worker)
{
  GPtrArray *records;

  g_mutex_lock (&worker->lock);
  records = g_steal_pointer (&worker->pending);
  if (records != NULL)
    g_async_queue_push (worker->jobs, job_new (JOB_APPEND, records, NULL));
  g_mutex_unlock (&worker->lock);
}

static gboolean
hand_over_cb (gpointer user_data)
{
  Worker *worker = user_data;

  g_mutex_lock (&worker->lock);
  worker->handoff_queued = FALSE;
  g_mutex_unlock (&worker->lock);
  hand_over_pending (worker);
  return G_SOURCE_REMOVE;
}

static void
schedule (Worker *worker, GSourceFunc func)
{
  g_autoptr (GSource) source = g_idle_source_new ();

  g_source_set_priority (source, G_PRIORITY_DEFAULT);
  g_source_set_callback (source, func, worker_ref (worker),
                         (GDestroyNotify)worker_unref);
  g_source_set_static_name (source, "[mb-delivery-log]");
  g_source_attach (source, worker->context);
}

static gboolean deliver_events_cb (gpointer user_data);

/* Worker thread: queues @event for the main context. */
static void
post_event (Worker *worker, Event *event)
{
  gboolean need_idle;

  g_mutex_lock (&worker->lock);
  g_queue_push_tail (&worker->events, event);
  need_idle = !worker->events_queued;
  worker->events_queued = TRUE;
  g_mutex_unlock (&worker->lock);
  if (need_idle)
    schedule (worker, deliver_events_cb);
}

static void
post_task_result (Worker        *worker,
                  Job           *job,
                  gpointer       result,
                  GDestroyNotify result_free,
                  GError        *error)
{
  Event *event = g_new0 (Event, 1);

  event->task = g_steal_pointer (&job->task);
  event->result = result;
  event->result_free = result_free;
  event->error = error;
  post_event (worker, event);
}

static void
post_records_added (Worker *worker, GPtrArray *records)
{
  Event *event = g_new0 (Event, 1);

  event->added = records;
  post_event (worker, event);
}

static guint64 *
dup_uint64 (guint64 value)
{
  return g_memdup2 (&value, sizeof value);
}

/* The number a count or expire job returned (see dup_uint64()). */
static gboolean
propagate_uint64 (GAsyncResult *result, guint64 *out, GError **error)
{
  g_autofree guint64 *value = g_task_propagate_pointer (G_TASK (result), error);

  if (value == NULL)
    return FALSE;
  if (out != NULL)
    *out = *value;
  return TRUE;
}

/* Helpers: the worker thread */

/* Writes @job's records together with the append jobs waiting behind it.
 * Returns the first job of another kind taken from the queue, if any. */
static Job *
run_appends (Worker *worker, Job *job)
{
  g_autoptr (GPtrArray) batch = g_steal_pointer (&job->records);
  g_autoptr (GError) error = NULL;
  Job *next = NULL;

  job_free (job);
  while (batch->len < MAX_TRANSACTION_RECORDS
         && (next = g_async_queue_try_pop (worker->jobs)) != NULL
         && next->kind == JOB_APPEND)
    {
      g_ptr_array_extend_and_steal (batch, g_steal_pointer (&next->records));
      g_clear_pointer (&next, job_free);
    }

  if (!mb_delivery_store_insert (worker->store, batch, &error))
    {
      worker->dropped = TRUE;
      /* The store already said once that it is unavailable. */
      if (!g_error_matches (error, MB_DELIVERY_LOG_ERROR,
                            MB_DELIVERY_LOG_ERROR_UNAVAILABLE))
        g_log_structured (G_LOG_DOMAIN, G_LOG_LEVEL_WARNING, "MESSAGE",
                          "delivery log records dropped count=%u error=\"%s\"",
                          batch->len, error->message);
      return next;
    }

  g_mutex_lock (&worker->lock);
  worker->transactions++;
  g_mutex_unlock (&worker->lock);
  post_records_added (worker, g_steal_pointer (&batch));
  return next;
}

static void
run_task (Worker *worker, Job *job)
{
  GCancellable *cancellable = g_task_get_cancellable (job->task);
  QueryData    *data = g_task_get_task_data (job->task);
  GError       *error = NULL;
  gpointer      result = NULL;
  guint64       value = 0;

  if (g_cancellable_set_error_if_cancelled (cancellable, &error))
    {
      post_task_result (worker, job, NULL, NULL, error);
      job_free (job);
      return;
    }

  switch (job->kind)
    {
    case JOB_FLUSH:
      /* Earlier appends are done: the queue is FIFO. */
      if (mb_delivery_store_open (worker->store, &error) && worker->dropped)
        g_set_error_literal (&error, MB_DELIVERY_LOG_ERROR,
                             MB_DELIVERY_LOG_ERROR_DROPPED,
                             "Delivery records were lost since the last "
                             "flush (see the log)");
      worker->dropped = FALSE;
      post_task_result (worker, job, NULL, NULL, error);
      break;

    case JOB_QUERY:
      result = mb_delivery_store_select (worker->store, &data->query,
                                         cancellable, &error);
      post_task_result (worker, job, result, (GDestroyNotify)g_ptr_array_unref,
                        error);
      break;

    case JOB_COUNT:
      if (mb_delivery_store_count (worker->store, &data->query, cancellable,
                                   &value, &error))
        result = dup_uint64 (value);
      post_task_result (worker, job, result, g_free, error);
      break;

    case JOB_EXPIRE:
      if (mb_delivery_store_delete_before (
              worker->store, *(gint64 *)g_task_get_task_data (job->task),
              cancellable, &value, &error))
        result = dup_uint64 (value);
      if (value > 0)
        g_info ("delivery log expired records=%" G_GUINT64_FORMAT, value);
      post_task_result (worker, job, result, g_free, error);
      break;

    case JOB_APPEND:
    case JOB_STOP:
    default:
      g_assert_not_reached ();
    }
  job_free (job);
}

static gpointer
worker_thread (gpointer user_data)
{
  Worker *worker = user_data;
  Job    *next = NULL;

  /* Open (and repair) at startup rather than at the first record; a
   * failure is logged by the store and retried by each later job. */
  mb_delivery_store_open (worker->store, NULL);
  for (;;)
    {
      Job *job = next != NULL ? g_steal_pointer (&next)
                              : g_async_queue_pop (worker->jobs);

      if (job->kind == JOB_STOP)
        {
          job_free (job);
          break;
        }
      if (job->kind == JOB_APPEND)
        next = run_appends (worker, job);
      else
        run_task (worker, job);
    }
  /* Closing checkpoints the WAL: disk work, so here, not in finalize. */
  g_clear_pointer (&worker->store, mb_delivery_store_free);
  return NULL;
}

/* Callbacks */

static gboolean
deliver_events_cb (gpointer user_data)
{
  Worker *worker = user_data;
  g_autoptr (MbDeliveryLog) self = g_weak_ref_get (&worker->owner);
  GQueue events = G_QUEUE_INIT;
  Event *event;

  g_mutex_lock (&worker->lock);
  events = worker->events;
  g_queue_init (&worker->events);
  worker->events_queued = FALSE;
  g_mutex_unlock (&worker->lock);

  while ((event = g_queue_pop_head (&events)) != NULL)
    {
      for (guint i = 0;
           self != NULL && event->added != NULL && i < event->added->len; i++)
        g_signal_emit (self, signals[SIGNAL_RECORD_ADDED], 0,
                       g_ptr_array_index (event->added, i));
      if (event->task != NULL && event->error != NULL)
        g_task_return_error (event->task, g_steal_pointer (&event->error));
      else if (event->task != NULL && event->result_free == NULL)
        g_task_return_boolean (event->task, TRUE);
      else if (event->task != NULL)
        g_task_return_pointer (event->task, g_steal_pointer (&event->result),
                               event->result_free);
      event_free (event);
    }
  return G_SOURCE_REMOVE;
}

/* Overrides */

static void
mb_delivery_log_dispose (GObject *object)
{
  MbDeliveryLog *self = MB_DELIVERY_LOG (object);

  if (self->thread != NULL)
    {
      hand_over_pending (self->worker);
      g_async_queue_push (self->worker->jobs, job_new (JOB_STOP, NULL, NULL));
      g_thread_join (g_steal_pointer (&self->thread));
    }
  G_OBJECT_CLASS (mb_delivery_log_parent_class)->dispose (object);
}

static void
mb_delivery_log_finalize (GObject *object)
{
  MbDeliveryLog *self = MB_DELIVERY_LOG (object);

  g_clear_pointer (&self->worker, worker_unref);
  g_free (self->path);
  G_OBJECT_CLASS (mb_delivery_log_parent_class)->finalize (object);
}

static void
mb_delivery_log_class_init (MbDeliveryLogClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = mb_delivery_log_dispose;
  object_class->finalize = mb_delivery_log_finalize;

  /**
   * MbDeliveryLog::record-added:
   * @record: (transfer none): the committed record, with its id
   *
   * A record was committed to the database.  Emitted on the log's main
   * context in commit order; @record is valid during the emission only.
   */
  signals[SIGNAL_RECORD_ADDED]
      = g_signal_new ("record-added", G_TYPE_FROM_CLASS (klass),
                      G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL, G_TYPE_NONE, 1,
                      MB_TYPE_DELIVERY_RECORD | G_SIGNAL_TYPE_STATIC_SCOPE);
}

static void
mb_delivery_log_init (MbDeliveryLog *self)
{
}

/* Public API: statuses, records, queries */

GQuark
mb_delivery_log_error_quark (void)
{
  return g_quark_from_static_string ("mb-delivery-log-error-quark");
}

const char *
mb_delivery_status_to_string (MbDeliveryStatus status)
{
  if ((guint)status > MB_DELIVERY_STATUS_LAST)
    return NULL;
  return status_names[status];
}

gboolean
mb_delivery_status_from_string (const char *text, MbDeliveryStatus *status)
{
  for (guint i = 0; text != NULL && i < G_N_ELEMENTS (status_names); i++)
    {
      if (g_str_equal (text, status_names[i]))
        {
          *status = (MbDeliveryStatus)i;
          return TRUE;
        }
    }
  return FALSE;
}

MbDeliveryRecord *
mb_delivery_record_new (void)
{
  return g_new0 (MbDeliveryRecord, 1);
}

MbDeliveryRecord *
mb_delivery_record_copy (const MbDeliveryRecord *record)
{
  MbDeliveryRecord *copy;

  g_return_val_if_fail (record != NULL, NULL);

  copy = g_memdup2 (record, sizeof *record);
  copy->queue_id = g_strdup (record->queue_id);
  copy->message_id = g_strdup (record->message_id);
  copy->sender = g_strdup (record->sender);
  copy->recipient = g_strdup (record->recipient);
  copy->route = g_strdup (record->route);
  copy->reply = g_strdup (record->reply);
  copy->hint = g_strdup (record->hint);
  return copy;
}

void
mb_delivery_record_free (MbDeliveryRecord *record)
{
  if (record == NULL)
    return;
  g_free (record->queue_id);
  g_free (record->message_id);
  g_free (record->sender);
  g_free (record->recipient);
  g_free (record->route);
  g_free (record->reply);
  g_free (record->hint);
  g_free (record);
}

void
mb_delivery_log_query_init (MbDeliveryLogQuery *query)
{
  g_return_if_fail (query != NULL);

  *query = (MbDeliveryLogQuery)MB_DELIVERY_LOG_QUERY_INIT;
}

/* Public API: the log */

MbDeliveryLog *
mb_delivery_log_new (const char *path)
{
  MbDeliveryLog *self;
  Worker        *worker;

  g_return_val_if_fail (path != NULL && *path != '\0', NULL);

  self = g_object_new (MB_TYPE_DELIVERY_LOG, NULL);
  self->path = g_strdup (path);

  worker = g_new0 (Worker, 1);
  g_atomic_ref_count_init (&worker->ref_count);
  worker->jobs = g_async_queue_new_full ((GDestroyNotify)job_free);
  worker->context = g_main_context_ref_thread_default ();
  g_weak_ref_init (&worker->owner, self);
  g_mutex_init (&worker->lock);
  g_queue_init (&worker->events);
  worker->store = mb_delivery_store_new (path);
  self->worker = worker;

  /* The thread borrows the log's reference: dispose joins it first. */
  self->thread = g_thread_new ("mb-delivery-log", worker_thread, worker);
  return self;
}

const char *
mb_delivery_log_get_path (MbDeliveryLog *log)
{
  g_return_val_if_fail (MB_IS_DELIVERY_LOG (log), NULL);

  return log->path;
}

void
mb_delivery_log_append (MbDeliveryLog *log, const MbDeliveryRecord *record)
{
  Worker  *worker;
  gboolean need_idle = FALSE;

  g_return_if_fail (MB_IS_DELIVERY_LOG (log));
  g_return_if_fail (record != NULL);

  worker = log->worker;
  g_mutex_lock (&worker->lock);
  if (worker->pending == NULL)
    worker->pending = new_record_array ();
  g_ptr_array_add (worker->pending, mb_delivery_record_copy (record));
  if (worker->pending->len >= HANDOFF_RECORDS)
    g_async_queue_push (
        worker->jobs,
        job_new (JOB_APPEND, g_steal_pointer (&worker->pending), NULL));
  else if (!worker->handoff_queued)
    need_idle = worker->handoff_queued = TRUE;
  g_mutex_unlock (&worker->lock);

  if (need_idle)
    schedule (worker, hand_over_cb);
}

/* Queues a request behind every append made so far. */
static void
push_task (MbDeliveryLog *log, JobKind kind, GTask *task)
{
  hand_over_pending (log->worker);
  g_async_queue_push (log->worker->jobs,
                      job_new (kind, NULL, g_object_ref (task)));
}

void
mb_delivery_log_flush_async (MbDeliveryLog      *log,
                             GCancellable       *cancellable,
                             GAsyncReadyCallback callback,
                             gpointer            user_data)
{
  g_autoptr (GTask) task = NULL;

  g_return_if_fail (MB_IS_DELIVERY_LOG (log));

  task = g_task_new (log, cancellable, callback, user_data);
  g_task_set_source_tag (task, mb_delivery_log_flush_async);
  push_task (log, JOB_FLUSH, task);
}

gboolean
mb_delivery_log_flush_finish (MbDeliveryLog *log,
                              GAsyncResult  *result,
                              GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, log), FALSE);
  g_return_val_if_fail (
      g_async_result_is_tagged (result, mb_delivery_log_flush_async), FALSE);

  return g_task_propagate_boolean (G_TASK (result), error);
}

static GTask *
new_query_task (MbDeliveryLog            *log,
                const MbDeliveryLogQuery *query,
                GCancellable             *cancellable,
                GAsyncReadyCallback       callback,
                gpointer                  user_data,
                gpointer                  source_tag)
{
  GTask     *task = g_task_new (log, cancellable, callback, user_data);
  QueryData *data = g_new0 (QueryData, 1);

  data->query = *query;
  data->query.address = g_strdup (query->address);
  data->query.queue_id = g_strdup (query->queue_id);
  g_task_set_source_tag (task, source_tag);
  g_task_set_task_data (task, data, (GDestroyNotify)query_data_free);
  return task;
}

void
mb_delivery_log_query_async (MbDeliveryLog            *log,
                             const MbDeliveryLogQuery *query,
                             GCancellable             *cancellable,
                             GAsyncReadyCallback       callback,
                             gpointer                  user_data)
{
  g_autoptr (GTask) task = NULL;

  g_return_if_fail (MB_IS_DELIVERY_LOG (log));
  g_return_if_fail (query != NULL);

  task = new_query_task (log, query, cancellable, callback, user_data,
                         mb_delivery_log_query_async);
  push_task (log, JOB_QUERY, task);
}

GPtrArray *
mb_delivery_log_query_finish (MbDeliveryLog *log,
                              GAsyncResult  *result,
                              GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, log), NULL);
  g_return_val_if_fail (
      g_async_result_is_tagged (result, mb_delivery_log_query_async), NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}

void
mb_delivery_log_count_async (MbDeliveryLog            *log,
                             const MbDeliveryLogQuery *query,
                             GCancellable             *cancellable,
                             GAsyncReadyCallback       callback,
                             gpointer                  user_data)
{
  g_autoptr (GTask) task = NULL;

  g_return_if_fail (MB_IS_DELIVERY_LOG (log));
  g_return_if_fail (query != NULL);

  task = new_query_task (log, query, cancellable, callback, user_data,
                         mb_delivery_log_count_async);
  push_task (log, JOB_COUNT, task);
}

gboolean
mb_delivery_log_count_finish (MbDeliveryLog *log,
                              GAsyncResult  *result,
                              guint64       *count,
                              GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, log), FALSE);
  g_return_val_if_fail (
      g_async_result_is_tagged (result, mb_delivery_log_count_async), FALSE);

  return propagate_uint64 (result, count, error);
}

void
mb_delivery_log_expire_async (MbDeliveryLog      *log,
                              guint               older_than_days,
                              GCancellable       *cancellable,
                              GAsyncReadyCallback callback,
                              gpointer            user_data)
{
  g_autoptr (GTask) task = NULL;
  gint64 cutoff = g_get_real_time () - (gint64)older_than_days * USEC_PER_DAY;

  g_return_if_fail (MB_IS_DELIVERY_LOG (log));

  task = g_task_new (log, cancellable, callback, user_data);
  g_task_set_source_tag (task, mb_delivery_log_expire_async);
  g_task_set_task_data (task, g_memdup2 (&cutoff, sizeof cutoff), g_free);
  push_task (log, JOB_EXPIRE, task);
}

gboolean
mb_delivery_log_expire_finish (MbDeliveryLog *log,
                               GAsyncResult  *result,
                               guint64       *n_deleted,
                               GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, log), FALSE);
  g_return_val_if_fail (
      g_async_result_is_tagged (result, mb_delivery_log_expire_async), FALSE);

  return propagate_uint64 (result, n_deleted, error);
}

guint64
mb_delivery_log_get_transactions (MbDeliveryLog *log)
{
  guint64 transactions;

  g_return_val_if_fail (MB_IS_DELIVERY_LOG (log), 0);

  g_mutex_lock (&log->worker->lock);
  transactions = log->worker->transactions;
  g_mutex_unlock (&log->worker->lock);
  return transactions;
}
