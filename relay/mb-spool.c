/* mb-spool.c - the durable message queue on disk
 *
 * What it does
 *   Keeps every accepted message as two files under the spool directory:
 *     tmp/ID.eml, tmp/ID.env   being written (never read back)
 *     queue/ID.eml             the message, as received, CRLF
 *     queue/ID.env             its envelope (mb-envelope.c)
 *     corrupt/                 whatever recovery could not read
 *   Directories are created 0700, files 0600.  A queue id is 16 hex digits
 *   of the arrival time in microseconds, "-", 8 random hex digits, so ids
 *   sort by arrival and stay unique across restarts and concurrent
 *   writers (O_EXCL catches the rest).
 *
 * Guarantees
 *   - A message is in the queue once queue/ID.env exists; queue/ID.eml
 *     arrives first.  How a received message gets there, durably and with
 *     group commit, is mb-spool-writer.c.
 *   - An envelope update is tmp + fsync + rename over queue/ID.env + fsync
 *     of queue/: a crash leaves the old or the new envelope, never a mix.
 *   - Removal unlinks ID.env first (uncommit), fsyncs queue/, then unlinks
 *     ID.eml: a crash in between leaves an .eml without .env, which
 *     recovery removes as incomplete.
 *   - Recovery at startup reads the disk alone and drops nothing
 *     readable (mb-spool-recovery.c).
 *   - No fsync, rename or directory fsync runs on the caller's main loop
 *     (mb_spool_new() and recovery excepted: they run before anyone is
 *     served); "committed" and "removed" are emitted on the main context
 *     that was the thread default when the spool was created, after the
 *     task's callback has run.
 *   - Errors: ENOSPC, EDQUOT and EFBIG are MB_SPOOL_ERROR_NO_SPACE (SMTP
 *     452 4.3.1), any other errno MB_SPOOL_ERROR_IO (451 4.3.0).
 *
 * What it does not do
 *   It does not receive messages (MbSpoolWriter, mb-spool-writer.c), does
 *   not recover the queue at startup (mb-spool-recovery.c), does not
 *   decide what to deliver when (mb-scheduler), does not look inside
 *   the message, and does not lock the spool against a second daemon: one
 *   spool directory belongs to one mailbridged.
 *
 * Follows RFC 5321 6.1: a message is ours once acknowledged, and must
 * survive a crash.
 */
#define G_LOG_DOMAIN "mb-spool"

#include "mb-spool-private.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib/gstdio.h>

#define ID_TIME_DIGITS 16
#define ID_RANDOM_DIGITS 8
#define ID_LENGTH (ID_TIME_DIGITS + 1 + ID_RANDOM_DIGITS)

typedef struct
{
  char   *id;       /* (owned) */
  GBytes *envelope; /* (owned) (nullable) for updates */
} QueueOpData;

typedef struct
{
  MbSpool *spool; /* (owned) */
  guint    signal;
  char    *id; /* (owned) */
} SignalData;

enum
{
  SIGNAL_COMMITTED,
  SIGNAL_REMOVED,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

G_DEFINE_TYPE (MbSpool, mb_spool, G_TYPE_OBJECT)

GQuark
mb_spool_error_quark (void)
{
  return g_quark_from_static_string ("mb-spool-error-quark");
}

/* Shared with mb-spool-writer.c (mb-spool-private.h): errors and small
 * file operations */

void
mb_spool_set_errno_error (GError    **error,
                          int         saved_errno,
                          const char *what,
                          const char *path)
{
  MbSpoolError code = MB_SPOOL_ERROR_IO;

  if (saved_errno == ENOSPC || saved_errno == EDQUOT || saved_errno == EFBIG)
    code = MB_SPOOL_ERROR_NO_SPACE;
  g_set_error (error, MB_SPOOL_ERROR, code, "%s “%s”: %s", what, path,
               g_strerror (saved_errno));
}

gboolean
mb_spool_fsync_fd (int fd, const char *what, const char *path, GError **error)
{
  if (fsync (fd) != 0)
    {
      mb_spool_set_errno_error (error, errno, what, path);
      return FALSE;
    }
  return TRUE;
}

gboolean
mb_spool_fsync_directory (const char *path, GError **error)
{
  int      fd = open (path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  gboolean ok;

  if (fd < 0)
    {
      mb_spool_set_errno_error (error, errno, "Could not open the directory",
                                path);
      return FALSE;
    }
  ok = mb_spool_fsync_fd (fd, "Could not flush to disk the directory", path,
                          error);
  close (fd);
  return ok;
}

void
mb_spool_unlink_quietly (const char *path)
{
  if (g_unlink (path) != 0 && errno != ENOENT)
    g_log_structured (G_LOG_DOMAIN, G_LOG_LEVEL_WARNING, "MESSAGE",
                      "could not remove spool file path=%s error=\"%s\"", path,
                      g_strerror (errno));
}

/* A time-ordered unique id: strictly increasing within this process even
 * when the clock stands still or steps back; the random part keeps ids
 * from two processes or two boots apart. */
char *
mb_spool_generate_id (MbSpool *spool)
{
  gint64 now = g_get_real_time ();

  g_mutex_lock (&spool->id_lock);
  if (now <= spool->last_id_time)
    now = spool->last_id_time + 1;
  spool->last_id_time = now;
  g_mutex_unlock (&spool->id_lock);
  return g_strdup_printf ("%016" G_GINT64_MODIFIER "x-%08x", (guint64)now,
                          g_random_int ());
}

gboolean
mb_spool_is_valid_id (const char *id)
{
  if (id == NULL || strlen (id) != ID_LENGTH || id[ID_TIME_DIGITS] != '-')
    return FALSE;
  for (gsize i = 0; i < ID_LENGTH; i++)
    {
      if (i != ID_TIME_DIGITS && !g_ascii_isxdigit (id[i]))
        return FALSE;
      if (g_ascii_isupper (id[i]))
        return FALSE;
    }
  return TRUE;
}

int
mb_spool_compare_names (gconstpointer a, gconstpointer b)
{
  return strcmp (*(const char *const *)a, *(const char *const *)b);
}

/* Helpers: ids */

static void
set_not_found (GError **error, const char *id)
{
  g_set_error (error, MB_SPOOL_ERROR, MB_SPOOL_ERROR_NOT_FOUND,
               "No message with queue id “%s”", id);
}

/* Helpers: signals, always from an idle on the spool's context, never by
 * g_main_context_invoke(): that would run the handler in a worker thread
 * whenever the main loop happens to be between iterations. */

static gboolean
emit_signal_cb (gpointer user_data)
{
  SignalData *data = user_data;

  g_signal_emit (data->spool, signals[data->signal], 0, data->id);
  return G_SOURCE_REMOVE;
}

static void
signal_data_free (gpointer user_data)
{
  SignalData *data = user_data;

  g_object_unref (data->spool);
  g_free (data->id);
  g_free (data);
}

static void
schedule_signal (MbSpool *spool, guint signal, const char *id)
{
  g_autoptr (GSource) source = g_idle_source_new ();
  SignalData *data = g_new0 (SignalData, 1);

  data->spool = g_object_ref (spool);
  data->signal = signal;
  data->id = g_strdup (id);
  g_source_set_priority (source, G_PRIORITY_DEFAULT);
  g_source_set_callback (source, emit_signal_cb, data, signal_data_free);
  g_source_set_static_name (source, "[mb-spool] signal");
  g_source_attach (source, spool->context);
}

void
mb_spool_schedule_committed (MbSpool *spool, const char *id)
{
  schedule_signal (spool, SIGNAL_COMMITTED, id);
}

/* Helpers: queue operations in worker threads */

static void
queue_op_data_free (gpointer user_data)
{
  QueueOpData *data = user_data;

  g_free (data->id);
  g_clear_pointer (&data->envelope, g_bytes_unref);
  g_free (data);
}

static void
update_envelope_thread (GTask        *task,
                        gpointer      source_object,
                        gpointer      task_data,
                        GCancellable *cancellable)
{
  MbSpool         *spool = source_object;
  QueueOpData     *data = task_data;
  g_autofree char *tmp_path = NULL;
  g_autofree char *env_path = NULL;
  GError          *error = NULL;
  int              saved_errno = 0;

  if (g_cancellable_set_error_if_cancelled (cancellable, &error))
    {
      g_task_return_error (task, error);
      return;
    }
  tmp_path = g_strdup_printf ("%s/%s.env.%08x", spool->tmp_dir, data->id,
                              g_random_int ());
  env_path = g_strdup_printf ("%s/%s.env", spool->queue_dir, data->id);
  if (!mb_spool_write_new_file_synced (tmp_path, data->envelope, &error))
    {
      g_task_return_error (task, error);
      return;
    }

  g_mutex_lock (&spool->queue_lock);
  if (!g_file_test (env_path, G_FILE_TEST_EXISTS))
    saved_errno = ENOENT;
  else if (g_rename (tmp_path, env_path) != 0)
    saved_errno = errno;
  g_mutex_unlock (&spool->queue_lock);

  if (saved_errno != 0)
    {
      g_unlink (tmp_path);
      if (saved_errno == ENOENT)
        set_not_found (&error, data->id);
      else
        mb_spool_set_errno_error (&error, saved_errno,
                                  "Could not replace the envelope", env_path);
      g_task_return_error (task, error);
      return;
    }
  if (!mb_spool_fsync_fd (mb_spool_committer_get_queue_fd (spool->committer),
                          "Could not flush to disk the queue directory",
                          spool->queue_dir, &error))
    {
      g_task_return_error (task, error);
      return;
    }
  g_task_return_boolean (task, TRUE);
}

static void
remove_thread (GTask        *task,
               gpointer      source_object,
               gpointer      task_data,
               GCancellable *cancellable)
{
  MbSpool         *spool = source_object;
  QueueOpData     *data = task_data;
  g_autofree char *env_path = NULL;
  g_autofree char *eml_path = NULL;
  GError          *error = NULL;
  int              saved_errno = 0;

  if (g_cancellable_set_error_if_cancelled (cancellable, &error))
    {
      g_task_return_error (task, error);
      return;
    }
  env_path = g_strdup_printf ("%s/%s.env", spool->queue_dir, data->id);
  eml_path = g_strdup_printf ("%s/%s.eml", spool->queue_dir, data->id);

  g_mutex_lock (&spool->queue_lock);
  if (g_unlink (env_path) != 0)
    saved_errno = errno;
  g_mutex_unlock (&spool->queue_lock);

  if (saved_errno == ENOENT)
    {
      set_not_found (&error, data->id);
      g_task_return_error (task, error);
      return;
    }
  if (saved_errno != 0)
    {
      mb_spool_set_errno_error (&error, saved_errno,
                                "Could not remove the envelope", env_path);
      g_task_return_error (task, error);
      return;
    }
  /* The message is out of the queue from here on, whatever follows; a
   * failed fsync is still reported, as the removal may not last. */
  mb_spool_fsync_fd (mb_spool_committer_get_queue_fd (spool->committer),
                     "Could not flush to disk the queue directory",
                     spool->queue_dir, &error);
  mb_spool_unlink_quietly (eml_path);
  if (error != NULL)
    g_task_return_error (task, error);
  else
    g_task_return_boolean (task, TRUE);
  schedule_signal (spool, SIGNAL_REMOVED, data->id);
}

/* Overrides */

static void
mb_spool_finalize (GObject *object)
{
  MbSpool *self = MB_SPOOL (object);

  g_clear_pointer (&self->committer, mb_spool_committer_shutdown);
  g_mutex_clear (&self->queue_lock);
  g_mutex_clear (&self->id_lock);
  g_main_context_unref (self->context);
  g_free (self->directory);
  g_free (self->tmp_dir);
  g_free (self->queue_dir);
  g_free (self->corrupt_dir);

  G_OBJECT_CLASS (mb_spool_parent_class)->finalize (object);
}

static void
mb_spool_class_init (MbSpoolClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->finalize = mb_spool_finalize;

  /**
   * MbSpool::committed:
   * @id: the queue id
   *
   * A message was committed; emitted on the spool's main context after
   * the commit's callback.
   */
  signals[SIGNAL_COMMITTED]
      = g_signal_new ("committed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                      0, NULL, NULL, NULL, G_TYPE_NONE, 1, G_TYPE_STRING);
  /**
   * MbSpool::removed:
   * @id: the queue id
   *
   * A message left the queue; emitted on the spool's main context.
   */
  signals[SIGNAL_REMOVED]
      = g_signal_new ("removed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                      0, NULL, NULL, NULL, G_TYPE_NONE, 1, G_TYPE_STRING);
}

static void
mb_spool_init (MbSpool *self)
{
  g_mutex_init (&self->queue_lock);
  g_mutex_init (&self->id_lock);
  self->context = g_main_context_ref_thread_default ();
}

/* Public API */

MbSpool *
mb_spool_new (const char *directory, GError **error)
{
  g_autoptr (MbSpool) self = NULL;
  const char *const *dirs;
  int                queue_fd;

  g_return_val_if_fail (directory != NULL, NULL);

  self = g_object_new (MB_TYPE_SPOOL, NULL);
  self->directory = g_canonicalize_filename (directory, NULL);
  self->tmp_dir = g_build_filename (self->directory, "tmp", NULL);
  self->queue_dir = g_build_filename (self->directory, "queue", NULL);
  self->corrupt_dir = g_build_filename (self->directory, "corrupt", NULL);

  if (g_mkdir_with_parents (self->directory, 0700) != 0)
    {
      mb_spool_set_errno_error (error, errno,
                                "Could not create the spool directory",
                                self->directory);
      return NULL;
    }
  dirs = (const char *const[]){ self->tmp_dir, self->queue_dir,
                                self->corrupt_dir, NULL };
  for (gsize i = 0; dirs[i] != NULL; i++)
    {
      if (g_mkdir (dirs[i], 0700) != 0 && errno != EEXIST)
        {
          mb_spool_set_errno_error (
              error, errno, "Could not create the spool directory", dirs[i]);
          return NULL;
        }
    }
  /* A queue/ that is itself not durable would lose every message in it. */
  if (!mb_spool_fsync_directory (self->directory, error))
    return NULL;

  queue_fd = open (self->queue_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (queue_fd < 0)
    {
      mb_spool_set_errno_error (
          error, errno, "Could not open the queue directory", self->queue_dir);
      return NULL;
    }
  self->committer = mb_spool_committer_new (self->queue_dir, queue_fd);
  return g_steal_pointer (&self);
}

const char *
mb_spool_get_directory (MbSpool *spool)
{
  g_return_val_if_fail (MB_IS_SPOOL (spool), NULL);

  return spool->directory;
}

GPtrArray *
mb_spool_list_ids (MbSpool *spool)
{
  GPtrArray *ids;
  g_autoptr (GDir) dir = NULL;
  const char *name;

  g_return_val_if_fail (MB_IS_SPOOL (spool), NULL);

  ids = g_ptr_array_new_with_free_func (g_free);
  dir = g_dir_open (spool->queue_dir, 0, NULL);
  if (dir == NULL)
    return ids;
  while ((name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *id = NULL;

      if (!g_str_has_suffix (name, ".env"))
        continue;
      id = g_strndup (name, strlen (name) - 4);
      if (mb_spool_is_valid_id (id))
        g_ptr_array_add (ids, g_steal_pointer (&id));
    }
  g_ptr_array_sort (ids, mb_spool_compare_names);
  return ids;
}

guint
mb_spool_get_length (MbSpool *spool)
{
  g_autoptr (GPtrArray) ids = NULL;

  g_return_val_if_fail (MB_IS_SPOOL (spool), 0);

  ids = mb_spool_list_ids (spool);
  return ids->len;
}

char *
mb_spool_get_message_path (MbSpool *spool, const char *id)
{
  g_return_val_if_fail (MB_IS_SPOOL (spool), NULL);
  g_return_val_if_fail (id != NULL, NULL);

  return g_strdup_printf ("%s/%s.eml", spool->queue_dir, id);
}

MbEnvelope *
mb_spool_load_envelope (MbSpool *spool, const char *id, GError **error)
{
  g_autofree char *path = NULL;
  g_autofree char *contents = NULL;
  g_autoptr (GError) local_error = NULL;
  MbEnvelope *envelope;
  gsize       len;

  g_return_val_if_fail (MB_IS_SPOOL (spool), NULL);

  if (!mb_spool_is_valid_id (id))
    {
      set_not_found (error, id != NULL ? id : "(null)");
      return NULL;
    }
  path = g_strdup_printf ("%s/%s.env", spool->queue_dir, id);
  if (!g_file_get_contents (path, &contents, &len, &local_error))
    {
      if (g_error_matches (local_error, G_FILE_ERROR, G_FILE_ERROR_NOENT))
        set_not_found (error, id);
      else
        g_set_error (error, MB_SPOOL_ERROR, MB_SPOOL_ERROR_IO,
                     "Could not read the envelope “%s”: %s", path,
                     local_error->message);
      return NULL;
    }
  envelope = mb_envelope_parse (contents, len, &local_error);
  if (envelope == NULL)
    {
      g_set_error (error, MB_SPOOL_ERROR, MB_SPOOL_ERROR_CORRUPT,
                   "The envelope “%s” cannot be read: %s", path,
                   local_error->message);
      return NULL;
    }
  return envelope;
}

void
mb_spool_update_envelope_async (MbSpool            *spool,
                                const MbEnvelope   *envelope,
                                GCancellable       *cancellable,
                                GAsyncReadyCallback callback,
                                gpointer            user_data)
{
  g_autoptr (GTask) task = NULL;
  QueueOpData *data;

  g_return_if_fail (MB_IS_SPOOL (spool));
  g_return_if_fail (envelope != NULL);

  task = g_task_new (spool, cancellable, callback, user_data);
  g_task_set_source_tag (task, mb_spool_update_envelope_async);
  /* Cancellation is checked before the work starts; once done, the result
   * says so, or the caller would believe an update that is on disk lost. */
  g_task_set_check_cancellable (task, FALSE);
  if (!mb_spool_is_valid_id (envelope->id))
    {
      g_task_return_new_error (task, MB_SPOOL_ERROR, MB_SPOOL_ERROR_NOT_FOUND,
                               "No message with queue id “%s”",
                               envelope->id != NULL ? envelope->id : "(null)");
      return;
    }
  /* Serialized here, so the caller may change @envelope right away. */
  data = g_new0 (QueueOpData, 1);
  data->id = g_strdup (envelope->id);
  data->envelope = mb_envelope_serialize (envelope);
  g_task_set_task_data (task, data, queue_op_data_free);
  g_task_run_in_thread (task, update_envelope_thread);
}

gboolean
mb_spool_update_envelope_finish (MbSpool      *spool,
                                 GAsyncResult *result,
                                 GError      **error)
{
  g_return_val_if_fail (g_task_is_valid (result, spool), FALSE);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result))
                            == mb_spool_update_envelope_async,
                        FALSE);

  return g_task_propagate_boolean (G_TASK (result), error);
}

void
mb_spool_remove_async (MbSpool            *spool,
                       const char         *id,
                       GCancellable       *cancellable,
                       GAsyncReadyCallback callback,
                       gpointer            user_data)
{
  g_autoptr (GTask) task = NULL;
  QueueOpData *data;

  g_return_if_fail (MB_IS_SPOOL (spool));

  task = g_task_new (spool, cancellable, callback, user_data);
  g_task_set_source_tag (task, mb_spool_remove_async);
  g_task_set_check_cancellable (task, FALSE);
  if (!mb_spool_is_valid_id (id))
    {
      g_task_return_new_error (task, MB_SPOOL_ERROR, MB_SPOOL_ERROR_NOT_FOUND,
                               "No message with queue id “%s”",
                               id != NULL ? id : "(null)");
      return;
    }
  data = g_new0 (QueueOpData, 1);
  data->id = g_strdup (id);
  g_task_set_task_data (task, data, queue_op_data_free);
  g_task_run_in_thread (task, remove_thread);
}

gboolean
mb_spool_remove_finish (MbSpool *spool, GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, spool), FALSE);
  g_return_val_if_fail (
      g_task_get_source_tag (G_TASK (result)) == mb_spool_remove_async, FALSE);

  return g_task_propagate_boolean (G_TASK (result), error);
}
