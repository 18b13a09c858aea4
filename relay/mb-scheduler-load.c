/* mb-scheduler-load.c - the scheduler's view of the spool
 *
 * WHAT IT DOES
 *   Loads the queue at the start, in a worker thread: the envelopes that
 *   the spool's recovery parsed and handed over
 *   (mb_scheduler_set_recovered()) are taken as they are, and only the
 *   messages without one (committed since the recovery, or all of them
 *   when nothing was handed over) are read from disk.  From then on it
 *   reads each envelope the spool reports "committed" (received messages
 *   and the reports the scheduler queues itself) and adds it to the
 *   scheduler's index.  Follows "removed" for messages deleted by others
 *   (the control plane).
 *
 * GUARANTEES
 *   No file is read on the main loop.  At startup each envelope is parsed
 *   once, by the recovery or here.  The queue loaded is what queue/ lists
 *   when the load runs: a handed-over envelope whose message was removed
 *   since is dropped, a message committed since is read.  The handed-over
 *   envelopes change hands, never are shared: the scheduler owns them
 *   until the start, the load thread while it runs, then the index.  A
 *   message is indexed once, however often it is announced.  An envelope
 *   that cannot be read is logged and left to the spool's recovery
 *   (corrupt/); it is never delivered half understood.
 *
 * WHAT IT DOES NOT DO
 *   It decides nothing about delivery (mb-scheduler.c) and checks nothing
 *   the recovery checked already (ids, sizes).
 */
#define G_LOG_DOMAIN "mb-scheduler"

#include "mb-scheduler-private.h"

#include <string.h>

typedef struct
{
  GPtrArray *recovered;   /* (owned) (nullable) (element-type MbEnvelope) */
  guint      n_recovered; /* set by the thread: taken from @recovered */
  guint      n_read;      /* set by the thread: read from disk */
} QueueLoad;

/* Helpers */

static void
queue_load_free (gpointer data)
{
  QueueLoad *load = data;

  g_clear_pointer (&load->recovered, g_ptr_array_unref);
  g_free (load);
}

static int
compare_envelope_ids (gconstpointer a, gconstpointer b)
{
  const MbEnvelope *x = *(const MbEnvelope *const *)a;
  const MbEnvelope *y = *(const MbEnvelope *const *)b;

  return strcmp (x->id, y->id);
}

/* Puts @envelopes in id order, the order of mb_spool_list_ids(); the
 * recovery hands them over in that order already. */
static void
sort_by_id (GPtrArray *envelopes)
{
  for (guint i = 1; i < envelopes->len; i++)
    {
      if (compare_envelope_ids (&envelopes->pdata[i - 1], &envelopes->pdata[i])
          > 0)
        {
          g_ptr_array_sort (envelopes, compare_envelope_ids);
          return;
        }
    }
}

/* (transfer full) (nullable) The envelope of @id from @recovered, both in
 * id order; those passed on the way belong to messages removed since the
 * recovery. */
static MbEnvelope *
take_recovered (GPtrArray *recovered, guint *next, const char *id)
{
  while (*next < recovered->len)
    {
      MbEnvelope *envelope = recovered->pdata[*next];
      int         cmp = strcmp (envelope->id, id);

      if (cmp > 0)
        return NULL;
      (*next)++;
      if (cmp == 0)
        return g_steal_pointer (&recovered->pdata[*next - 1]);
    }
  return NULL;
}

/* (transfer full) (nullable) @id's envelope from disk; NULL when it is
 * gone (quietly) or cannot be read (logged). */
static MbEnvelope *
read_envelope (MbScheduler *self, const char *id)
{
  g_autoptr (GError) error = NULL;
  MbEnvelope *envelope = mb_spool_load_envelope (self->spool, id, &error);

  if (envelope == NULL
      && !g_error_matches (error, MB_SPOOL_ERROR, MB_SPOOL_ERROR_NOT_FOUND))
    g_warning ("queue-id=%s cannot be loaded: %s", id, error->message);
  return envelope;
}

/* Loading envelopes */

static void
load_queue_thread (GTask        *task,
                   gpointer      source_object,
                   gpointer      task_data,
                   GCancellable *cancellable)
{
  MbScheduler *self = source_object;
  QueueLoad   *load = task_data;
  g_autoptr (GPtrArray) ids = mb_spool_list_ids (self->spool);
  GPtrArray *envelopes
      = g_ptr_array_new_full (ids->len, (GDestroyNotify)mb_envelope_free);
  guint next = 0;

  if (load->recovered != NULL)
    sort_by_id (load->recovered);
  for (guint i = 0; i < ids->len; i++)
    {
      MbEnvelope *envelope = NULL;

      if (load->recovered != NULL)
        envelope = take_recovered (load->recovered, &next, ids->pdata[i]);
      if (envelope != NULL)
        load->n_recovered++;
      else
        {
          load->n_read++;
          envelope = read_envelope (self, ids->pdata[i]);
        }
      if (envelope != NULL)
        g_ptr_array_add (envelopes, envelope);
    }
  /* What is left was removed since: freed here, not on the main loop. */
  g_clear_pointer (&load->recovered, g_ptr_array_unref);
  g_task_return_pointer (task, envelopes, (GDestroyNotify)g_ptr_array_unref);
}

static void
load_committed_thread (GTask        *task,
                       gpointer      source_object,
                       gpointer      task_data,
                       GCancellable *cancellable)
{
  MbScheduler *self = source_object;
  GPtrArray   *ids = task_data;
  GPtrArray   *envelopes
      = g_ptr_array_new_with_free_func ((GDestroyNotify)mb_envelope_free);

  for (guint i = 0; i < ids->len; i++)
    {
      MbEnvelope *envelope = read_envelope (self, ids->pdata[i]);

      if (envelope != NULL)
        g_ptr_array_add (envelopes, envelope);
    }
  g_task_return_pointer (task, envelopes, (GDestroyNotify)g_ptr_array_unref);
}

void
mb_scheduler_add_envelopes (MbScheduler *self, GPtrArray *envelopes)
{
  for (guint i = 0; i < envelopes->len; i++)
    {
      MbEnvelope *envelope = envelopes->pdata[i];
      Entry      *entry;

      if (envelope->id == NULL
          || g_hash_table_contains (self->entries, envelope->id))
        continue;
      entry = g_new0 (Entry, 1);
      entry->id = g_strdup (envelope->id);
      entry->envelope = g_steal_pointer (&envelopes->pdata[i]);
      entry->seq = self->next_seq++;
      entry->place = ENTRY_WAITING;
      g_hash_table_insert (self->entries, entry->id, entry);
      mb_scheduler_process (self, entry);
    }
  mb_scheduler_queue_changed (self);
}

/* Callbacks */

static void
committed_loaded_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  MbScheduler *self = MB_SCHEDULER (source);
  g_autoptr (GPtrArray) envelopes
      = g_task_propagate_pointer (G_TASK (result), NULL);

  if (envelopes != NULL && !self->stopped)
    mb_scheduler_add_envelopes (self, envelopes);
}

void
mb_scheduler_on_spool_committed_cb (MbSpool    *spool,
                                    const char *id,
                                    gpointer    user_data)
{
  MbScheduler *self = user_data;
  g_autoptr (GTask) task = NULL;
  GPtrArray *ids = g_ptr_array_new_with_free_func (g_free);

  g_ptr_array_add (ids, g_strdup (id));
  task = g_task_new (self, NULL, committed_loaded_cb, NULL);
  g_task_set_task_data (task, ids, (GDestroyNotify)g_ptr_array_unref);
  g_task_run_in_thread (task, load_committed_thread);
}

void
mb_scheduler_on_spool_removed_cb (MbSpool    *spool,
                                  const char *id,
                                  gpointer    user_data)
{
  MbScheduler *self = user_data;
  Entry       *entry = g_hash_table_lookup (self->entries, id);

  /* Our own removals have forgotten the entry already. */
  if (entry != NULL)
    mb_scheduler_forget (self, entry);
}

static void
queue_loaded_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GTask) start = user_data;
  MbScheduler *self = MB_SCHEDULER (source);
  QueueLoad   *load = g_task_get_task_data (G_TASK (result));
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) envelopes
      = g_task_propagate_pointer (G_TASK (result), &error);

  if (envelopes == NULL)
    {
      g_task_return_error (start, g_steal_pointer (&error));
      return;
    }
  self->started = TRUE;
  /* recovered= were parsed by the recovery, read= here. */
  g_info ("queue loaded queued=%u recovered=%u read=%u routes=%u",
          envelopes->len, load->n_recovered, load->n_read,
          g_hash_table_size (self->slots));
  mb_scheduler_add_envelopes (self, envelopes);
  g_task_return_boolean (start, TRUE);
}

/* Private API */

void
mb_scheduler_load_queue (MbScheduler  *self,
                         GCancellable *cancellable,
                         GTask        *start)
{
  g_autoptr (GTask) task
      = g_task_new (self, cancellable, queue_loaded_cb, start);
  QueueLoad *load = g_new0 (QueueLoad, 1);

  load->recovered = g_steal_pointer (&self->recovered);
  g_task_set_task_data (task, load, queue_load_free);
  g_task_run_in_thread (task, load_queue_thread);
}

/* Public API */

void
mb_scheduler_set_recovered (MbScheduler *self, GPtrArray *envelopes)
{
  g_return_if_fail (MB_IS_SCHEDULER (self));
  /* The start connects to the spool and takes them. */
  g_return_if_fail (self->committed_handler == 0);

  g_clear_pointer (&self->recovered, g_ptr_array_unref);
  self->recovered = envelopes;
}
