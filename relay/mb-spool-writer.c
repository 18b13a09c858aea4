/* mb-spool-writer.c - MbSpool: the receiving path (writers, group commit)
 *
 * What it does
 *   An MbSpoolWriter is one message being received: tmp/ID.eml, created
 *   O_EXCL and 0600 under a new queue id (mb-spool.c), appended to in
 *   worker threads, then committed: its envelope is written to tmp/ID.env
 *   and both files are moved into queue/.  One committer thread per spool,
 *   started at the first commit, runs the renames and the directory fsync.
 *
 * Guarantees
 *   - Commit: the envelope is written to tmp/ID.env and fsynced, the message
 *     fdatasynced, both in a worker thread.  Then the one committer thread
 *     takes every commit that is ready, renames each ID.eml into queue/,
 *     then each ID.env (its arrival is the commit point), fsyncs queue/ once
 *     for the whole round and only then completes the tasks.  A commit
 *     never reports success before its files and their names are durable,
 *     and concurrent commits share one directory fsync (group commit).
 *     Before closing a round the committer also waits for the commits that
 *     were already being prepared, so a burst of arrivals shares one round
 *     instead of trickling into many (PostgreSQL's commit_siblings idea,
 *     bounded: later arrivals go to the next round).
 *   - On any failure of a commit, that message's files are unlinked from
 *     tmp/ and queue/ (envelope first) and the error returned; other
 *     messages are never touched.  A write that failed, even in part,
 *     makes the message uncommittable.
 *   - A writer freed without a commit loses its tmp files as soon as the
 *     last outstanding write or commit is done with them.
 *   - No write, fsync or rename runs on the caller's main loop; a writer has
 *     at most one write or commit outstanding.  "committed" is emitted on
 *     the spool's main context after the commit's callback has run.
 *
 * What it does not do
 *   It does not look at the message (mb-smtp-message decodes and stamps
 *   it), and does not own the layout, the ids, recovery or the operations
 *   on queued messages (mb-spool.c).
 *
 * Follows RFC 5321 6.1: a message is ours once acknowledged, so it is
 * acknowledged only after mb_spool_writer_commit_finish() returned TRUE.
 */
#define G_LOG_DOMAIN "mb-spool"

#include "mb-spool-private.h"

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include <glib/gstdio.h>

/* The committer's state, shared between the spool and its thread and
 * refcounted, so the thread never touches a finalized spool (the last
 * reference to the spool may be dropped by the committer itself). */
struct _MbSpoolCommitter
{
  gatomicrefcount ref_count;
  char           *queue_dir; /* (owned) for error messages */
  int             queue_fd;  /* (owned) queue/, for the directory fsync */

  GMutex   lock;
  GCond    cond;
  GThread *thread; /* (owned) (nullable) started at the first commit */
  gboolean stopping;
  GQueue   ready; /* (element-type GTask) (owned) prepared, not renamed */
  /* Commits still in their prepare step, per generation (mod 2), and the
   * generation new commits join.  A round closes the current generation
   * and waits for its stragglers; see committer_thread(). */
  guint   preparing[2];
  guint   generation;
  guint64 rounds;
  guint64 commits;
};

struct _MbSpoolWriter
{
  gatomicrefcount ref_count;
  MbSpool        *spool;     /* (owned) */
  char           *id;        /* (owned) */
  char           *tmp_eml;   /* (owned) */
  char           *tmp_env;   /* (owned) */
  char           *queue_eml; /* (owned) */
  char           *queue_env; /* (owned) */
  int             fd;        /* tmp/ID.eml; -1 once closed */
  guint64         size;
  gint            busy;         /* (atomic) a write or commit outstanding */
  gboolean        write_failed; /* the message on disk is incomplete */
  gboolean        commit_started;
  gboolean        committed; /* set by the committer before its unref */
};

typedef struct
{
  MbSpoolWriter *writer; /* (owned) */
  GBytes        *data;   /* (owned) */
} WriteData;

typedef struct
{
  MbSpoolWriter *writer;   /* (owned) */
  GBytes        *envelope; /* (owned) serialized */
  guint          generation;
  GError        *error; /* (owned) (nullable) set during the round */
} CommitData;

/* Helpers: files */

static gboolean
write_all (int           fd,
           const guint8 *data,
           gsize         len,
           const char   *what,
           const char   *path,
           GError      **error)
{
  while (len > 0)
    {
      ssize_t n = write (fd, data, MIN (len, (gsize)G_MAXSSIZE));

      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        {
          mb_spool_set_errno_error (error, errno, what, path);
          return FALSE;
        }
      data += n;
      len -= n;
    }
  return TRUE;
}

/* Also for envelope updates (mb-spool-private.h). */
gboolean
mb_spool_write_new_file_synced (const char *path, GBytes *data, GError **error)
{
  gsize         len;
  const guint8 *bytes = g_bytes_get_data (data, &len);
  int           fd = open (path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  gboolean      ok;

  if (fd < 0)
    {
      mb_spool_set_errno_error (error, errno, "Could not create the envelope",
                                path);
      return FALSE;
    }
  ok = write_all (fd, bytes, len, "Could not write the envelope", path, error)
       && mb_spool_fsync_fd (fd, "Could not flush to disk the envelope", path,
                             error);
  if (close (fd) != 0 && ok)
    {
      mb_spool_set_errno_error (error, errno, "Could not close the envelope",
                                path);
      ok = FALSE;
    }
  if (!ok)
    g_unlink (path);
  return ok;
}

/* Helpers: the writer */

static MbSpoolWriter *
writer_ref (MbSpoolWriter *writer)
{
  g_atomic_ref_count_inc (&writer->ref_count);
  return writer;
}

/* Removes whatever exists of this message, envelope first, so a crash
 * halfway leaves at most an .eml without .env: "never committed". */
static void
discard_files (MbSpoolWriter *writer)
{
  mb_spool_unlink_quietly (writer->queue_env);
  mb_spool_unlink_quietly (writer->queue_eml);
  mb_spool_unlink_quietly (writer->tmp_env);
  mb_spool_unlink_quietly (writer->tmp_eml);
}

static void
writer_unref (MbSpoolWriter *writer)
{
  if (!g_atomic_ref_count_dec (&writer->ref_count))
    return;
  if (writer->fd >= 0)
    close (writer->fd);
  if (!writer->committed)
    {
      mb_spool_unlink_quietly (writer->tmp_env);
      mb_spool_unlink_quietly (writer->tmp_eml);
    }
  g_object_unref (writer->spool);
  g_free (writer->id);
  g_free (writer->tmp_eml);
  g_free (writer->tmp_env);
  g_free (writer->queue_eml);
  g_free (writer->queue_env);
  g_free (writer);
}

static void
write_data_free (gpointer user_data)
{
  WriteData *data = user_data;

  g_clear_pointer (&data->writer, writer_unref);
  g_bytes_unref (data->data);
  g_free (data);
}

static void
commit_data_free (gpointer user_data)
{
  CommitData *data = user_data;

  writer_unref (data->writer);
  g_bytes_unref (data->envelope);
  g_clear_error (&data->error);
  g_free (data);
}

/* Helpers: the committer */

static MbSpoolCommitter *
committer_ref (MbSpoolCommitter *c)
{
  g_atomic_ref_count_inc (&c->ref_count);
  return c;
}

static void
committer_unref (MbSpoolCommitter *c)
{
  if (!g_atomic_ref_count_dec (&c->ref_count))
    return;
  g_assert (g_queue_is_empty (&c->ready));
  if (c->queue_fd >= 0)
    close (c->queue_fd);
  g_mutex_clear (&c->lock);
  g_cond_clear (&c->cond);
  g_free (c->queue_dir);
  g_free (c);
}

/* Renames a batch into queue/ and makes it durable with one fsync. */
static void
run_round (MbSpoolCommitter *c, GQueue *batch)
{
  guint n_renamed = 0;

  for (GList *l = batch->head; l != NULL; l = l->next)
    {
      CommitData *data = g_task_get_task_data (l->data);

      if (g_rename (data->writer->tmp_eml, data->writer->queue_eml) != 0)
        mb_spool_set_errno_error (&data->error, errno,
                                  "Could not move the message into the queue",
                                  data->writer->tmp_eml);
    }
  /* Only now the envelopes: an .env in queue/ always has its .eml. */
  for (GList *l = batch->head; l != NULL; l = l->next)
    {
      CommitData *data = g_task_get_task_data (l->data);

      if (data->error != NULL)
        continue;
      if (g_rename (data->writer->tmp_env, data->writer->queue_env) != 0)
        mb_spool_set_errno_error (&data->error, errno,
                                  "Could not move the envelope into the queue",
                                  data->writer->tmp_env);
      else
        n_renamed++;
    }
  if (n_renamed > 0 && fsync (c->queue_fd) != 0)
    {
      int saved_errno = errno;

      for (GList *l = batch->head; l != NULL; l = l->next)
        {
          CommitData *data = g_task_get_task_data (l->data);

          if (data->error == NULL)
            mb_spool_set_errno_error (
                &data->error, saved_errno,
                "Could not flush to disk the queue directory", c->queue_dir);
        }
    }
  for (GList *l = batch->head; l != NULL; l = l->next)
    {
      CommitData *data = g_task_get_task_data (l->data);

      if (data->error != NULL)
        discard_files (data->writer);
      else
        data->writer->committed = TRUE;
    }
}

static void
complete_round (MbSpoolCommitter *c, GQueue *batch)
{
  guint64 n_committed = 0;
  GTask  *task;

  /* Counted before any callback can run, so a caller that saw its commit
   * complete also sees it counted. */
  for (GList *l = batch->head; l != NULL; l = l->next)
    {
      CommitData *data = g_task_get_task_data (l->data);

      n_committed += data->error == NULL;
    }
  g_mutex_lock (&c->lock);
  c->rounds++;
  c->commits += n_committed;
  g_mutex_unlock (&c->lock);

  while ((task = g_queue_pop_head (batch)) != NULL)
    {
      CommitData *data = g_task_get_task_data (task);
      MbSpool    *spool = g_task_get_source_object (task);

      if (data->error != NULL)
        {
          g_task_return_error (task, g_steal_pointer (&data->error));
        }
      else
        {
          g_task_return_boolean (task, TRUE);
          /* Scheduled after the task's own idle: handlers see the commit
           * after the committing caller has. */
          mb_spool_schedule_committed (spool, data->writer->id);
        }
      /* May drop the last reference to the spool: see mb_spool_finalize. */
      g_object_unref (task);
    }
}

static gpointer
committer_thread (gpointer user_data)
{
  MbSpoolCommitter *c = user_data;

  g_mutex_lock (&c->lock);
  for (;;)
    {
      GQueue batch = G_QUEUE_INIT;
      guint  closing;

      while (!c->stopping && g_queue_is_empty (&c->ready))
        g_cond_wait (&c->cond, &c->lock);
      if (g_queue_is_empty (&c->ready))
        break;

      /* Close the generation: commits started from now on join the next
       * round; those already preparing are waited for, so a burst shares
       * one directory fsync.  The previous round emptied the other slot,
       * and nothing joins it until this increment, so two slots suffice. */
      closing = c->generation++;
      while (c->preparing[closing & 1] > 0)
        g_cond_wait (&c->cond, &c->lock);

      batch = c->ready;
      g_queue_init (&c->ready);
      g_mutex_unlock (&c->lock);

      run_round (c, &batch);
      complete_round (c, &batch);

      g_mutex_lock (&c->lock);
    }
  g_mutex_unlock (&c->lock);
  committer_unref (c);
  return NULL;
}

static gboolean
committer_start (MbSpoolCommitter *c, GError **error)
{
  g_autoptr (GError) local_error = NULL;
  gboolean ok = TRUE;

  g_mutex_lock (&c->lock);
  if (c->thread == NULL)
    {
      c->thread = g_thread_try_new ("mb-spool-commit", committer_thread,
                                    committer_ref (c), &local_error);
      if (c->thread == NULL)
        {
          committer_unref (c);
          g_set_error (error, MB_SPOOL_ERROR, MB_SPOOL_ERROR_IO,
                       "Could not start the spool’s commit thread: %s",
                       local_error->message);
          ok = FALSE;
        }
    }
  g_mutex_unlock (&c->lock);
  return ok;
}

static void
committer_stop (MbSpoolCommitter *c)
{
  GThread *thread;

  g_mutex_lock (&c->lock);
  c->stopping = TRUE;
  thread = g_steal_pointer (&c->thread);
  g_cond_broadcast (&c->cond);
  g_mutex_unlock (&c->lock);

  if (thread == NULL)
    return;
  /* When the committer itself dropped the last reference to the spool it
   * cannot join itself; it sees @stopping and ends once it is back in its
   * loop, holding its own reference to @c. */
  if (thread == g_thread_self ())
    g_thread_unref (thread);
  else
    g_thread_join (thread);
}

/* Helpers: writes and commits in worker threads */

static void
write_thread (GTask        *task,
              gpointer      source_object,
              gpointer      task_data,
              GCancellable *cancellable)
{
  WriteData     *data = task_data;
  MbSpoolWriter *writer = data->writer;
  gsize          len;
  const guint8  *bytes = g_bytes_get_data (data->data, &len);
  GError        *error = NULL;

  if (g_cancellable_set_error_if_cancelled (cancellable, &error)
      || !write_all (writer->fd, bytes, len, "Could not write the message to",
                     writer->tmp_eml, &error))
    {
      /* Part of @data may be on disk: the message can no longer be
       * committed. */
      writer->write_failed = TRUE;
    }
  else
    {
      writer->size += len;
    }
  g_atomic_int_set (&writer->busy, 0);
  /* Dropped before the callback is queued: if the caller already freed the
   * writer, its tmp file is gone by the time the callback runs. */
  g_clear_pointer (&data->writer, writer_unref);
  if (error != NULL)
    g_task_return_error (task, error);
  else
    g_task_return_boolean (task, TRUE);
}

static gboolean
prepare_commit (CommitData *data, GCancellable *cancellable, GError **error)
{
  MbSpoolWriter *writer = data->writer;

  if (g_cancellable_set_error_if_cancelled (cancellable, error))
    return FALSE;
  if (writer->write_failed)
    {
      g_set_error (error, MB_SPOOL_ERROR, MB_SPOOL_ERROR_IO,
                   "The message “%s” is incomplete: an earlier write failed",
                   writer->tmp_eml);
      return FALSE;
    }
  if (!mb_spool_write_new_file_synced (writer->tmp_env, data->envelope, error))
    return FALSE;
  if (fdatasync (writer->fd) != 0)
    {
      mb_spool_set_errno_error (
          error, errno, "Could not flush to disk the message", writer->tmp_eml);
      return FALSE;
    }
  if (close (writer->fd) != 0)
    {
      writer->fd = -1;
      mb_spool_set_errno_error (error, errno, "Could not close the message",
                                writer->tmp_eml);
      return FALSE;
    }
  writer->fd = -1;
  return TRUE;
}

/* Runs in a worker; @prepare is a helper task whose data is the caller's
 * task, which is completed here on failure or by the committer. */
static void
prepare_commit_thread (GTask        *prepare,
                       gpointer      source_object,
                       gpointer      task_data,
                       GCancellable *cancellable)
{
  GTask            *task = task_data;
  MbSpool          *spool = g_task_get_source_object (task);
  CommitData       *data = g_task_get_task_data (task);
  MbSpoolCommitter *c = spool->committer;
  GError           *error = NULL;
  gboolean          ok;

  ok = prepare_commit (data, g_task_get_cancellable (task), &error);
  if (!ok)
    discard_files (data->writer);

  g_mutex_lock (&c->lock);
  c->preparing[data->generation & 1]--;
  if (ok)
    g_queue_push_tail (&c->ready, g_object_ref (task));
  g_cond_broadcast (&c->cond);
  g_mutex_unlock (&c->lock);

  if (!ok)
    g_task_return_error (task, error);
  g_task_return_boolean (prepare, TRUE);
}

/* Private API (mb-spool-private.h): the committer */

MbSpoolCommitter *
mb_spool_committer_new (const char *queue_dir, int queue_fd)
{
  MbSpoolCommitter *c = g_new0 (MbSpoolCommitter, 1);

  g_atomic_ref_count_init (&c->ref_count);
  c->queue_dir = g_strdup (queue_dir);
  c->queue_fd = queue_fd;
  g_mutex_init (&c->lock);
  g_cond_init (&c->cond);
  g_queue_init (&c->ready);
  return c;
}

int
mb_spool_committer_get_queue_fd (MbSpoolCommitter *committer)
{
  return committer->queue_fd;
}

void
mb_spool_committer_shutdown (MbSpoolCommitter *committer)
{
  committer_stop (committer);
  committer_unref (committer);
}

/* Public API */

guint64
mb_spool_get_commit_rounds (MbSpool *spool)
{
  guint64 rounds;

  g_return_val_if_fail (MB_IS_SPOOL (spool), 0);

  g_mutex_lock (&spool->committer->lock);
  rounds = spool->committer->rounds;
  g_mutex_unlock (&spool->committer->lock);
  return rounds;
}

guint64
mb_spool_get_commits (MbSpool *spool)
{
  guint64 commits;

  g_return_val_if_fail (MB_IS_SPOOL (spool), 0);

  g_mutex_lock (&spool->committer->lock);
  commits = spool->committer->commits;
  g_mutex_unlock (&spool->committer->lock);
  return commits;
}

MbSpoolWriter *
mb_spool_writer_new (MbSpool *spool, GError **error)
{
  g_autofree char *id = NULL;
  g_autofree char *path = NULL;
  MbSpoolWriter   *writer;
  int              fd = -1;

  g_return_val_if_fail (MB_IS_SPOOL (spool), NULL);

  /* EEXIST can only mean two writers drew the same microsecond and random
   * number; draw again. */
  for (guint attempt = 0; fd < 0 && attempt < 8; attempt++)
    {
      g_free (id);
      g_free (path);
      id = mb_spool_generate_id (spool);
      path = g_strdup_printf ("%s/%s.eml", spool->tmp_dir, id);
      fd = open (path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
      if (fd < 0 && errno != EEXIST)
        break;
    }
  if (fd < 0)
    {
      mb_spool_set_errno_error (error, errno, "Could not create the message",
                                path);
      return NULL;
    }

  writer = g_new0 (MbSpoolWriter, 1);
  g_atomic_ref_count_init (&writer->ref_count);
  writer->spool = g_object_ref (spool);
  writer->fd = fd;
  writer->tmp_eml = g_steal_pointer (&path);
  writer->tmp_env = g_strdup_printf ("%s/%s.env", spool->tmp_dir, id);
  writer->queue_eml = g_strdup_printf ("%s/%s.eml", spool->queue_dir, id);
  writer->queue_env = g_strdup_printf ("%s/%s.env", spool->queue_dir, id);
  writer->id = g_steal_pointer (&id);
  return writer;
}

const char *
mb_spool_writer_get_id (MbSpoolWriter *writer)
{
  g_return_val_if_fail (writer != NULL, NULL);

  return writer->id;
}

guint64
mb_spool_writer_get_size (MbSpoolWriter *writer)
{
  g_return_val_if_fail (writer != NULL, 0);

  return writer->size;
}

void
mb_spool_writer_write_async (MbSpoolWriter      *writer,
                             const guint8       *data,
                             gsize               len,
                             GCancellable       *cancellable,
                             GAsyncReadyCallback callback,
                             gpointer            user_data)
{
  g_autoptr (GTask) task = NULL;
  WriteData *write_data;

  g_return_if_fail (writer != NULL);
  g_return_if_fail (data != NULL || len == 0);
  g_return_if_fail (!writer->commit_started);
  g_return_if_fail (g_atomic_int_compare_and_exchange (&writer->busy, 0, 1));

  task = g_task_new (writer->spool, cancellable, callback, user_data);
  g_task_set_source_tag (task, mb_spool_writer_write_async);
  /* The result says what reached the file, even if cancelled meanwhile. */
  g_task_set_check_cancellable (task, FALSE);
  write_data = g_new0 (WriteData, 1);
  write_data->writer = writer_ref (writer);
  write_data->data = g_bytes_new (data, len);
  g_task_set_task_data (task, write_data, write_data_free);
  g_task_run_in_thread (task, write_thread);
}

gboolean
mb_spool_writer_write_finish (MbSpoolWriter *writer,
                              GAsyncResult  *result,
                              GError       **error)
{
  g_return_val_if_fail (writer != NULL, FALSE);
  g_return_val_if_fail (g_task_is_valid (result, writer->spool), FALSE);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result))
                            == mb_spool_writer_write_async,
                        FALSE);

  return g_task_propagate_boolean (G_TASK (result), error);
}

void
mb_spool_writer_commit_async (MbSpoolWriter      *writer,
                              MbEnvelope         *envelope,
                              GCancellable       *cancellable,
                              GAsyncReadyCallback callback,
                              gpointer            user_data)
{
  g_autoptr (GTask) task = NULL;
  g_autoptr (GTask) prepare = NULL;
  g_autoptr (GError) error = NULL;
  MbSpool          *spool;
  MbSpoolCommitter *c;
  CommitData       *data;

  g_return_if_fail (writer != NULL);
  g_return_if_fail (envelope != NULL);
  g_return_if_fail (!writer->commit_started);
  g_return_if_fail (g_atomic_int_compare_and_exchange (&writer->busy, 0, 1));

  spool = writer->spool;
  c = spool->committer;
  writer->commit_started = TRUE;
  task = g_task_new (spool, cancellable, callback, user_data);
  g_task_set_source_tag (task, mb_spool_writer_commit_async);
  /* Past the prepare step a commit is not undone: reporting "cancelled"
   * for a message that is in the queue would make it a duplicate. */
  g_task_set_check_cancellable (task, FALSE);

  if (!committer_start (c, &error))
    {
      discard_files (writer);
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }

  g_free (envelope->id);
  envelope->id = g_strdup (writer->id);
  envelope->size = writer->size;
  data = g_new0 (CommitData, 1);
  data->writer = writer_ref (writer);
  data->envelope = mb_envelope_serialize (envelope);
  g_task_set_task_data (task, data, commit_data_free);

  g_mutex_lock (&c->lock);
  data->generation = c->generation;
  c->preparing[data->generation & 1]++;
  g_mutex_unlock (&c->lock);

  prepare = g_task_new (NULL, NULL, NULL, NULL);
  g_task_set_source_tag (prepare, prepare_commit_thread);
  g_task_set_task_data (prepare, g_object_ref (task), g_object_unref);
  g_task_run_in_thread (prepare, prepare_commit_thread);
}

gboolean
mb_spool_writer_commit_finish (MbSpoolWriter *writer,
                               GAsyncResult  *result,
                               GError       **error)
{
  g_return_val_if_fail (writer != NULL, FALSE);
  g_return_val_if_fail (g_task_is_valid (result, writer->spool), FALSE);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result))
                            == mb_spool_writer_commit_async,
                        FALSE);

  return g_task_propagate_boolean (G_TASK (result), error);
}

void
mb_spool_writer_free (MbSpoolWriter *writer)
{
  if (writer == NULL)
    return;
  /* Outstanding writes and commits hold their own reference: the tmp
   * files go once the last of them is done, unless committed. */
  writer_unref (writer);
}
