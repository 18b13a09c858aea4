/* mb-scheduler-load.c - the scheduler's view of the spool
 *
 * WHAT IT DOES
 *   Reads queued envelopes in a worker thread: all of them at startup,
 *   then each one the spool reports "committed" (received messages and
 *   the reports the scheduler queues itself), and adds them to the
 *   scheduler's index.  Follows "removed" for messages deleted by others
 *   (the control plane).
 *
 * GUARANTEES
 *   No file is read on the main loop.  A message is indexed once, however
 *   often it is announced.  An envelope that cannot be read is logged and
 *   left to the spool's recovery (corrupt/); it is never delivered half
 *   understood.
 *
 * WHAT IT DOES NOT DO
 *   It decides nothing about delivery (mb-scheduler.c).
 */
#define G_LOG_DOMAIN "mb-scheduler"

#include "mb-scheduler-private.h"

/* Loading envelopes */

void
mb_scheduler_load_thread (GTask        *task,
                          gpointer      source_object,
                          gpointer      task_data,
                          GCancellable *cancellable)
{
  MbScheduler *self = source_object;
  GPtrArray   *ids = task_data;
  GPtrArray   *envelopes
      = g_ptr_array_new_with_free_func ((GDestroyNotify)mb_envelope_free);
  g_autoptr (GPtrArray) listed = NULL;

  if (ids == NULL)
    ids = listed = mb_spool_list_ids (self->spool);
  for (guint i = 0; i < ids->len; i++)
    {
      g_autoptr (GError) error = NULL;
      MbEnvelope *envelope
          = mb_spool_load_envelope (self->spool, ids->pdata[i], &error);

      if (envelope != NULL)
        g_ptr_array_add (envelopes, envelope);
      else if (!g_error_matches (error, MB_SPOOL_ERROR,
                                 MB_SPOOL_ERROR_NOT_FOUND))
        g_warning ("queue-id=%s cannot be loaded: %s",
                   (const char *)ids->pdata[i], error->message);
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
  g_task_run_in_thread (task, mb_scheduler_load_thread);
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

void
mb_scheduler_initial_load_cb (GObject      *source,
                              GAsyncResult *result,
                              gpointer      user_data)
{
  g_autoptr (GTask) task = user_data;
  MbScheduler *self = MB_SCHEDULER (source);
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) envelopes
      = g_task_propagate_pointer (G_TASK (result), &error);

  if (envelopes == NULL)
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  self->started = TRUE;
  g_info ("queue loaded queued=%u routes=%u", envelopes->len,
          g_hash_table_size (self->slots));
  mb_scheduler_add_envelopes (self, envelopes);
  g_task_return_boolean (task, TRUE);
}
