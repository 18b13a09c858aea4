/* test-spool.c - unit tests for mb-spool */
#include "mb-spool.h"

#include "mb-test-util.h"

#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib/gstdio.h>

#define N_CONCURRENT 50

typedef struct
{
  char    *dir;   /* (owned) */
  MbSpool *spool; /* (owned) */
} Fixture;

static void
fixture_setup (Fixture *f, gconstpointer data)
{
  g_autofree char *spool_dir = NULL;
  g_autoptr (GError) error = NULL;

  f->dir = mb_test_make_tmpdir ("spool");
  spool_dir = g_build_filename (f->dir, "spool", NULL);
  f->spool = mb_spool_new (spool_dir, &error);
  g_assert_no_error (error);
  g_assert_nonnull (f->spool);
  mb_test_clear_warnings ();
}

static void
fixture_teardown (Fixture *f, gconstpointer data)
{
  g_clear_object (&f->spool);
  /* Deferred idles (signals) hold references; let them run. */
  while (g_main_context_iteration (NULL, FALSE))
    ;
  mb_test_remove_tree (f->dir);
  g_free (f->dir);
}

static char *
spool_path (Fixture *f, const char *sub, const char *name)
{
  return g_build_filename (mb_spool_get_directory (f->spool), sub, name, NULL);
}

static guint
count_files (Fixture *f, const char *sub)
{
  g_autofree char *path = spool_path (f, sub, NULL);

  return mb_test_count_files (path);
}

static gboolean
spool_file_exists (Fixture *f, const char *sub, const char *name)
{
  g_autofree char *path = spool_path (f, sub, name);

  return g_file_test (path, G_FILE_TEST_EXISTS);
}

static gboolean
write_sync (MbSpoolWriter *writer, const char *text, GError **error)
{
  g_autoptr (GAsyncResult) result = NULL;

  mb_spool_writer_write_async (writer, (const guint8 *)text, strlen (text),
                               NULL, mb_test_store_result_cb, &result);
  return mb_spool_writer_write_finish (
      writer, mb_test_wait_for_result (&result), error);
}

static gboolean
commit_sync (MbSpoolWriter *writer, MbEnvelope *envelope, GError **error)
{
  g_autoptr (GAsyncResult) result = NULL;

  mb_spool_writer_commit_async (writer, envelope, NULL, mb_test_store_result_cb,
                                &result);
  return mb_spool_writer_commit_finish (
      writer, mb_test_wait_for_result (&result), error);
}

static MbEnvelope *
build_envelope (void)
{
  MbEnvelope *envelope = mb_envelope_new ();

  g_free (envelope->sender);
  envelope->sender = g_strdup ("scanner@example.com");
  envelope->received = g_get_real_time () / G_USEC_PER_SEC;
  envelope->client_address = g_strdup ("192.0.2.7");
  mb_envelope_add_recipient (envelope, "anna@example.com",
                             MB_DSN_NOTIFY_FAILURE, NULL);
  mb_envelope_add_recipient (envelope, "bob@example.com", 0, NULL);
  return envelope;
}

/* Writes and commits @text; returns the new queue id. */
static char *
commit_message (Fixture *f, const char *text)
{
  g_autoptr (MbSpoolWriter) writer = NULL;
  g_autoptr (MbEnvelope) envelope = build_envelope ();
  g_autoptr (GError) error = NULL;

  writer = mb_spool_writer_new (f->spool, &error);
  g_assert_no_error (error);
  write_sync (writer, text, &error);
  g_assert_no_error (error);
  commit_sync (writer, envelope, &error);
  g_assert_no_error (error);
  return g_strdup (mb_spool_writer_get_id (writer));
}

static void
assert_mode (Fixture *f, const char *sub, const char *name, guint mode)
{
  g_autofree char *path = spool_path (f, sub, name);
  GStatBuf         st;

  g_assert_cmpint (g_stat (path, &st), ==, 0);
  g_assert_cmpuint (st.st_mode & 07777, ==, mode);
}

typedef struct
{
  GPtrArray     *events; /* "callback:ID", "committed:ID", "removed:ID" */
  GAsyncResult **result;
} Recorder;

static void
record_result_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  Recorder *recorder = user_data;

  /* Only the commit test uses this: the id is in the envelope's task. */
  g_ptr_array_add (recorder->events, g_strdup ("callback"));
  mb_test_store_result_cb (source, result, recorder->result);
}

static void
on_spool_signal_cb (MbSpool *spool, const char *id, gpointer user_data)
{
  Recorder   *recorder = user_data;
  const char *name = g_object_get_data (G_OBJECT (spool), "signal-name");

  g_ptr_array_add (recorder->events, g_strdup_printf ("%s:%s", name, id));
}

static void
on_committed_cb (MbSpool *spool, const char *id, gpointer user_data)
{
  g_object_set_data (G_OBJECT (spool), "signal-name", (gpointer) "committed");
  on_spool_signal_cb (spool, id, user_data);
}

static void
on_removed_cb (MbSpool *spool, const char *id, gpointer user_data)
{
  g_object_set_data (G_OBJECT (spool), "signal-name", (gpointer) "removed");
  on_spool_signal_cb (spool, id, user_data);
}

/* The spool creates tmp/, queue/ and corrupt/ with mode 0700. */
static void
test_layout (Fixture *f, gconstpointer data)
{
  assert_mode (f, "tmp", NULL, 0700);
  assert_mode (f, "queue", NULL, 0700);
  assert_mode (f, "corrupt", NULL, 0700);
  g_assert_cmpuint (mb_spool_get_length (f->spool), ==, 0);
}

/* The error domain has its documented name (D-Bus error mapping uses it). */
static void
test_error_quark (void)
{
  g_assert_cmpstr (g_quark_to_string (MB_SPOOL_ERROR), ==,
                   "mb-spool-error-quark");
}

/* Ids have the documented form, are unique and sort by creation. */
static void
test_ids_ordered (Fixture *f, gconstpointer data)
{
  g_autoptr (GPtrArray) writers
      = g_ptr_array_new_with_free_func ((GDestroyNotify)mb_spool_writer_free);
  g_autoptr (GRegex) form
      = g_regex_new ("^[0-9a-f]{16}-[0-9a-f]{8}$", 0, 0, NULL);

  for (guint i = 0; i < 200; i++)
    {
      g_autoptr (GError) error = NULL;
      MbSpoolWriter *writer = mb_spool_writer_new (f->spool, &error);

      g_assert_no_error (error);
      g_assert_true (
          g_regex_match (form, mb_spool_writer_get_id (writer), 0, NULL));
      if (i > 0)
        {
          MbSpoolWriter *prev = g_ptr_array_index (writers, i - 1);

          g_assert_cmpstr (mb_spool_writer_get_id (prev), <,
                           mb_spool_writer_get_id (writer));
        }
      g_ptr_array_add (writers, writer);
    }
  g_assert_cmpuint (count_files (f, "tmp"), ==, 200);
  g_ptr_array_set_size (writers, 0);
  g_assert_cmpuint (count_files (f, "tmp"), ==, 0);
}

/* A commit puts the message and its envelope in queue/ with the bytes
 * written and the id and size filled in, leaves tmp/ empty, and emits
 * "committed" after the caller's callback. */
static void
test_commit_files (Fixture *f, gconstpointer data)
{
  static const char *chunks[]
      = { "Subject: test\r\n", "\r\n", "line one\r\nline two\r\n" };
  g_autoptr (MbSpoolWriter) writer = NULL;
  g_autoptr (MbEnvelope) envelope = build_envelope ();
  g_autoptr (MbEnvelope) loaded = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (GAsyncResult) result = NULL;
  g_autoptr (GPtrArray) ids = NULL;
  g_autofree char *expected = g_strjoinv ("", (char **)chunks);
  g_autofree char *eml_name = NULL;
  g_autofree char *env_name = NULL;
  g_autofree char *eml_path = NULL;
  g_autofree char *contents = NULL;
  g_autofree char *expected_callback = NULL;
  g_autofree char *expected_signal = NULL;
  Recorder         recorder = { g_ptr_array_new_with_free_func (g_free) };
  char            *id;
  gboolean         ok;

  g_signal_connect (f->spool, "committed", G_CALLBACK (on_committed_cb),
                    &recorder);
  writer = mb_spool_writer_new (f->spool, &error);
  g_assert_no_error (error);
  id = g_strdup (mb_spool_writer_get_id (writer));
  for (guint i = 0; i < G_N_ELEMENTS (chunks); i++)
    {
      write_sync (writer, chunks[i], &error);
      g_assert_no_error (error);
    }
  g_assert_cmpuint (mb_spool_writer_get_size (writer), ==, strlen (expected));

  recorder.result = &result;
  mb_spool_writer_commit_async (writer, envelope, NULL, record_result_cb,
                                &recorder);
  ok = mb_spool_writer_commit_finish (writer, mb_test_wait_for_result (&result),
                                      &error);
  g_assert_no_error (error);
  g_assert_true (ok);
  MB_TEST_WAIT_UNTIL (recorder.events->len >= 2);
  expected_callback = g_strdup ("callback");
  expected_signal = g_strdup_printf ("committed:%s", id);
  g_assert_cmpstr (g_ptr_array_index (recorder.events, 0), ==,
                   expected_callback);
  g_assert_cmpstr (g_ptr_array_index (recorder.events, 1), ==, expected_signal);

  /* The caller's envelope got the id and size. */
  g_assert_cmpstr (envelope->id, ==, id);
  g_assert_cmpuint (envelope->size, ==, strlen (expected));

  eml_name = g_strconcat (id, ".eml", NULL);
  env_name = g_strconcat (id, ".env", NULL);
  g_assert_cmpuint (count_files (f, "tmp"), ==, 0);
  g_assert_cmpuint (count_files (f, "queue"), ==, 2);
  assert_mode (f, "queue", eml_name, 0600);
  assert_mode (f, "queue", env_name, 0600);
  eml_path = mb_spool_get_message_path (f->spool, id);
  g_assert_true (g_file_get_contents (eml_path, &contents, NULL, NULL));
  g_assert_cmpstr (contents, ==, expected);

  loaded = mb_spool_load_envelope (f->spool, id, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (loaded->id, ==, id);
  g_assert_cmpuint (loaded->size, ==, strlen (expected));
  g_assert_cmpstr (loaded->sender, ==, "scanner@example.com");
  g_assert_cmpuint (loaded->recipients->len, ==, 2);

  ids = mb_spool_list_ids (f->spool);
  g_assert_cmpuint (ids->len, ==, 1);
  g_assert_cmpstr (g_ptr_array_index (ids, 0), ==, id);
  g_assert_cmpuint (mb_spool_get_commits (f->spool), ==, 1);
  g_assert_cmpuint (mb_spool_get_commit_rounds (f->spool), ==, 1);

  /* A fresh spool on the same directory recovers it as is. */
  {
    g_autoptr (MbSpool) again
        = mb_spool_new (mb_spool_get_directory (f->spool), &error);
    MbSpoolRecovery stats;

    g_assert_no_error (error);
    g_assert_true (mb_spool_recover (again, &stats, &error));
    g_assert_no_error (error);
    g_assert_cmpuint (stats.queued, ==, 1);
    g_assert_cmpuint (stats.corrupt + stats.incomplete + stats.tmp_removed, ==,
                      0);
  }
  g_free (id);
  g_ptr_array_unref (recorder.events);
}

/* Freeing a writer without committing leaves nothing behind, also while a
 * write is still running. */
static void
test_abort (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GAsyncResult) result = NULL;
  MbSpoolWriter *writer;

  writer = mb_spool_writer_new (f->spool, &error);
  g_assert_no_error (error);
  write_sync (writer, "Subject: x\r\n\r\nbody\r\n", &error);
  g_assert_no_error (error);
  g_assert_cmpuint (count_files (f, "tmp"), ==, 1);
  mb_spool_writer_free (writer);
  g_assert_cmpuint (count_files (f, "tmp"), ==, 0);

  writer = mb_spool_writer_new (f->spool, &error);
  g_assert_no_error (error);
  mb_spool_writer_write_async (writer, (const guint8 *)"abc", 3, NULL,
                               mb_test_store_result_cb, &result);
  mb_spool_writer_free (writer);
  mb_test_wait_for_result (&result);
  g_clear_object (&result);
  g_assert_cmpuint (count_files (f, "tmp"), ==, 0);
  g_assert_cmpuint (count_files (f, "queue"), ==, 0);
}

/* A commit cancelled before it starts fails with CANCELLED and leaves
 * nothing in tmp/ or queue/. */
static void
test_commit_cancelled (Fixture *f, gconstpointer data)
{
  g_autoptr (MbSpoolWriter) writer = NULL;
  g_autoptr (MbEnvelope) envelope = build_envelope ();
  g_autoptr (GCancellable) cancellable = g_cancellable_new ();
  g_autoptr (GAsyncResult) result = NULL;
  g_autoptr (GError) error = NULL;

  writer = mb_spool_writer_new (f->spool, &error);
  g_assert_no_error (error);
  write_sync (writer, "Subject: x\r\n\r\n", &error);
  g_assert_no_error (error);
  g_cancellable_cancel (cancellable);
  mb_spool_writer_commit_async (writer, envelope, cancellable,
                                mb_test_store_result_cb, &result);
  g_assert_false (mb_spool_writer_commit_finish (
      writer, mb_test_wait_for_result (&result), &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_assert_cmpuint (count_files (f, "tmp"), ==, 0);
  g_assert_cmpuint (count_files (f, "queue"), ==, 0);
}

/* 50 commits started together all succeed and share directory fsync
 * rounds.  Deterministic: all 50 are started before the main loop runs,
 * and a round waits for the commits already being prepared, so only those
 * whose prepare step had not even been registered when the first one was
 * ready (none, in practice) can end up in a later round. */
static void
test_group_commit (Fixture *f, gconstpointer data)
{
  MbSpoolWriter *writers[N_CONCURRENT];
  MbEnvelope    *envelopes[N_CONCURRENT];
  GAsyncResult  *results[N_CONCURRENT] = { NULL };
  g_autoptr (GPtrArray) ids = NULL;
  guint64 rounds;

  for (guint i = 0; i < N_CONCURRENT; i++)
    {
      g_autoptr (GError) error = NULL;
      g_autofree char *text
          = g_strdup_printf ("Subject: message %u\r\n\r\nbody\r\n", i);

      writers[i] = mb_spool_writer_new (f->spool, &error);
      g_assert_no_error (error);
      write_sync (writers[i], text, &error);
      g_assert_no_error (error);
      envelopes[i] = build_envelope ();
    }
  for (guint i = 0; i < N_CONCURRENT; i++)
    mb_spool_writer_commit_async (writers[i], envelopes[i], NULL,
                                  mb_test_store_result_cb, &results[i]);
  for (guint i = 0; i < N_CONCURRENT; i++)
    mb_test_wait_for_result (&results[i]);
  for (guint i = 0; i < N_CONCURRENT; i++)
    {
      g_autoptr (GError) error = NULL;

      g_assert_true (
          mb_spool_writer_commit_finish (writers[i], results[i], &error));
      g_assert_no_error (error);
      g_object_unref (results[i]);
      mb_spool_writer_free (writers[i]);
      mb_envelope_free (envelopes[i]);
    }

  rounds = mb_spool_get_commit_rounds (f->spool);
  g_test_message ("%d commits in %" G_GUINT64_FORMAT " rounds", N_CONCURRENT,
                  rounds);
  g_assert_cmpuint (mb_spool_get_commits (f->spool), ==, N_CONCURRENT);
  g_assert_cmpuint (rounds, >=, 1);
  g_assert_cmpuint (rounds, <, N_CONCURRENT);
  ids = mb_spool_list_ids (f->spool);
  g_assert_cmpuint (ids->len, ==, N_CONCURRENT);
  g_assert_cmpuint (count_files (f, "tmp"), ==, 0);
  g_assert_cmpuint (count_files (f, "queue"), ==, 2 * N_CONCURRENT);
}

static void
limit_file_size (rlim_t bytes)
{
  struct rlimit limit = { bytes, bytes };

  signal (SIGXFSZ, SIG_IGN);
  g_assert_cmpint (setrlimit (RLIMIT_FSIZE, &limit), ==, 0);
}

/* A write that hits the file size limit (EFBIG) fails with NO_SPACE naming
 * the file, the message can no longer be committed, and queue/ keeps only
 * what was there before. */
static void
test_write_efbig (Fixture *f, gconstpointer data)
{
  g_autoptr (MbSpoolWriter) writer = NULL;
  g_autoptr (MbEnvelope) envelope = build_envelope ();
  g_autoptr (GError) error = NULL;
  g_autofree char *big = NULL;
  g_autofree char *before = NULL;
  g_autofree char *before_eml = NULL;

  if (!g_test_subprocess ())
    {
      g_test_trap_subprocess (NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
      g_test_trap_assert_passed ();
      return;
    }

  before = commit_message (f, "Subject: queued before\r\n\r\n");
  before_eml = g_strconcat (before, ".eml", NULL);
  limit_file_size (4096);

  writer = mb_spool_writer_new (f->spool, &error);
  g_assert_no_error (error);
  big = g_strnfill (64 * 1024, 'x');
  g_assert_false (write_sync (writer, big, &error));
  g_assert_error (error, MB_SPOOL_ERROR, MB_SPOOL_ERROR_NO_SPACE);
  g_assert_nonnull (strstr (error->message, mb_spool_writer_get_id (writer)));
  g_clear_error (&error);

  g_assert_false (commit_sync (writer, envelope, &error));
  g_assert_error (error, MB_SPOOL_ERROR, MB_SPOOL_ERROR_IO);
  g_assert_cmpuint (count_files (f, "tmp"), ==, 0);
  g_assert_cmpuint (count_files (f, "queue"), ==, 2);
  g_assert_true (spool_file_exists (f, "queue", before_eml));
}

/* A commit whose envelope cannot be written (EFBIG) fails with NO_SPACE and
 * removes both files of that message; queued messages are untouched. */
static void
test_commit_efbig (Fixture *f, gconstpointer data)
{
  g_autoptr (MbSpoolWriter) writer = NULL;
  g_autoptr (MbEnvelope) envelope = build_envelope ();
  g_autoptr (GError) error = NULL;
  g_autofree char *before = NULL;
  g_autoptr (GPtrArray) ids = NULL;

  if (!g_test_subprocess ())
    {
      g_test_trap_subprocess (NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
      g_test_trap_assert_passed ();
      return;
    }

  before = commit_message (f, "Subject: queued before\r\n\r\n");
  /* Room for the message, not for its envelope. */
  limit_file_size (64);
  writer = mb_spool_writer_new (f->spool, &error);
  g_assert_no_error (error);
  write_sync (writer, "Subject: small\r\n\r\n", &error);
  g_assert_no_error (error);
  g_assert_false (commit_sync (writer, envelope, &error));
  g_assert_error (error, MB_SPOOL_ERROR, MB_SPOOL_ERROR_NO_SPACE);
  g_assert_cmpuint (count_files (f, "tmp"), ==, 0);
  g_assert_cmpuint (count_files (f, "queue"), ==, 2);
  ids = mb_spool_list_ids (f->spool);
  g_assert_cmpuint (ids->len, ==, 1);
  g_assert_cmpstr (g_ptr_array_index (ids, 0), ==, before);
}

static void
write_queue_file (Fixture    *f,
                  const char *sub,
                  const char *name,
                  const char *contents,
                  gssize      len)
{
  g_autofree char *path = spool_path (f, sub, name);
  g_autoptr (GError) error = NULL;

  g_file_set_contents (path, contents, len, &error);
  g_assert_no_error (error);
}

static void
unlink_spool_file (Fixture *f, const char *sub, const char *name)
{
  g_autofree char *path = spool_path (f, sub, name);

  g_assert_cmpint (g_unlink (path), ==, 0);
}

static char *
read_queue_file (Fixture *f, const char *sub, const char *name, gsize *len)
{
  g_autofree char *path = spool_path (f, sub, name);
  char            *contents = NULL;

  g_assert_true (g_file_get_contents (path, &contents, len, NULL));
  return contents;
}

static gboolean
warning_logged (const char *id, const char *reason)
{
  g_autofree char *needle_id = g_strdup_printf ("id=%s ", id);
  g_autofree char *needle_reason = g_strdup_printf ("reason=%s", reason);

  g_autoptr (GPtrArray) warnings = mb_test_dup_warnings ();

  for (guint i = 0; i < warnings->len; i++)
    {
      const char *line = g_ptr_array_index (warnings, i);

      if (g_str_has_prefix (line, "corrupt queue file moved ")
          && strstr (line, needle_id) != NULL
          && strstr (line, needle_reason) != NULL)
        return TRUE;
    }
  return FALSE;
}

/* Recovery after a crash: tmp/ is emptied, a message without envelope is
 * removed, and every torn or foreign file goes to corrupt/ with a log line
 * while the readable messages stay queued; the envelopes it hands over
 * are exactly theirs, in queue order, as on disk. */
static void
test_recover_torn (Fixture *f, gconstpointer data)
{
  g_autofree char *good1 = commit_message (f, "Subject: 1\r\n\r\n");
  g_autofree char *truncated = commit_message (f, "Subject: 2\r\n\r\n");
  g_autofree char *garbage = commit_message (f, "Subject: 3\r\n\r\n");
  g_autofree char *no_env = commit_message (f, "Subject: 4\r\n\r\n");
  g_autofree char *no_eml = commit_message (f, "Subject: 5\r\n\r\n");
  g_autofree char *wrong_id = commit_message (f, "Subject: 6\r\n\r\n");
  g_autofree char *grown = commit_message (f, "Subject: 7\r\n\r\n");
  g_autofree char *good2 = commit_message (f, "Subject: 8\r\n\r\n");
  g_autofree char *env = NULL;
  g_autofree char *name = NULL;
  g_autofree char *good_env = NULL;
  g_autoptr (GPtrArray) ids = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (MbEnvelope) loaded = NULL;
  g_autoptr (GPtrArray) recovered = NULL;
  MbSpoolRecovery stats;
  gsize           len;

  /* A truncated envelope (cut in the middle). */
  name = g_strconcat (truncated, ".env", NULL);
  env = read_queue_file (f, "queue", name, &len);
  write_queue_file (f, "queue", name, env, len / 2);
  g_clear_pointer (&name, g_free);
  g_clear_pointer (&env, g_free);
  /* An envelope of garbage. */
  name = g_strconcat (garbage, ".env", NULL);
  write_queue_file (f, "queue", name,
                    "\x7f"
                    "ELF\x02\x01\x01\0\0\0",
                    10);
  g_clear_pointer (&name, g_free);
  /* A message whose envelope never arrived. */
  name = g_strconcat (no_env, ".env", NULL);
  unlink_spool_file (f, "queue", name);
  g_clear_pointer (&name, g_free);
  /* An envelope whose message is gone. */
  name = g_strconcat (no_eml, ".eml", NULL);
  unlink_spool_file (f, "queue", name);
  g_clear_pointer (&name, g_free);
  /* An envelope that belongs to another message. */
  good_env = g_strconcat (good1, ".env", NULL);
  env = read_queue_file (f, "queue", good_env, &len);
  name = g_strconcat (wrong_id, ".env", NULL);
  write_queue_file (f, "queue", name, env, len);
  g_clear_pointer (&name, g_free);
  /* A message longer than its envelope says. */
  name = g_strconcat (grown, ".eml", NULL);
  write_queue_file (f, "queue", name, "Subject: 7\r\n\r\nmore", -1);
  g_clear_pointer (&name, g_free);
  /* Leftovers in tmp/ and strays in queue/. */
  write_queue_file (f, "tmp", "0000000000000001-00000000.eml", "x", -1);
  write_queue_file (f, "tmp", "0000000000000001-00000000.env", "x", -1);
  write_queue_file (f, "tmp", "junk", "x", -1);
  write_queue_file (f, "queue", "README", "x", -1);
  write_queue_file (f, "queue", ".nfs0001", "x", -1);
  write_queue_file (f, "queue", "not-an-id.eml", "x", -1);
  /* A name collision in corrupt/ must not overwrite the earlier file. */
  write_queue_file (f, "corrupt", "README", "earlier", -1);

  mb_spool_recover_full (f->spool, &stats, &recovered, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (stats.queued, ==, 2);
  g_assert_cmpuint (stats.tmp_removed, ==, 3);
  g_assert_cmpuint (stats.incomplete, ==, 1);
  g_assert_cmpuint (stats.corrupt, ==, 5 + 3);

  ids = mb_spool_list_ids (f->spool);
  g_assert_cmpuint (ids->len, ==, 2);
  g_assert_cmpstr (g_ptr_array_index (ids, 0), ==, good1);
  g_assert_cmpstr (g_ptr_array_index (ids, 1), ==, good2);
  g_assert_cmpuint (count_files (f, "queue"), ==, 4);
  g_assert_cmpuint (count_files (f, "tmp"), ==, 0);
  loaded = mb_spool_load_envelope (f->spool, good2, &error);
  g_assert_no_error (error);

  /* The envelopes recovery parsed: the two queued ones, as on disk. */
  g_assert_cmpuint (recovered->len, ==, 2);
  for (guint i = 0; i < recovered->len; i++)
    {
      MbEnvelope *envelope = g_ptr_array_index (recovered, i);
      g_autoptr (MbEnvelope) on_disk = NULL;
      g_autoptr (GBytes) a = NULL;
      g_autoptr (GBytes) b = NULL;

      g_assert_cmpstr (envelope->id, ==, i == 0 ? good1 : good2);
      on_disk = mb_spool_load_envelope (f->spool, envelope->id, &error);
      g_assert_no_error (error);
      a = mb_envelope_serialize (envelope);
      b = mb_envelope_serialize (on_disk);
      g_assert_true (g_bytes_equal (a, b));
    }

  /* Nothing unreadable was dropped: all of it is in corrupt/. */
  {
    const char *moved[] = { truncated, garbage, wrong_id, grown };

    for (guint i = 0; i < G_N_ELEMENTS (moved); i++)
      {
        g_autofree char *eml = g_strconcat (moved[i], ".eml", NULL);
        g_autofree char *env_name = g_strconcat (moved[i], ".env", NULL);

        g_assert_true (spool_file_exists (f, "corrupt", eml));
        g_assert_true (spool_file_exists (f, "corrupt", env_name));
      }
    name = g_strconcat (no_eml, ".env", NULL);
    g_assert_true (spool_file_exists (f, "corrupt", name));
    g_clear_pointer (&name, g_free);
    name = g_strconcat (no_env, ".eml", NULL);
    g_assert_false (spool_file_exists (f, "corrupt", name));
    g_assert_false (spool_file_exists (f, "queue", name));
    g_assert_true (spool_file_exists (f, "corrupt", "README.1"));
    g_assert_true (spool_file_exists (f, "corrupt", ".nfs0001"));
    g_assert_true (spool_file_exists (f, "corrupt", "not-an-id.eml"));
    g_clear_pointer (&env, g_free);
    env = read_queue_file (f, "corrupt", "README", NULL);
    g_assert_cmpstr (env, ==, "earlier");
  }
  g_assert_cmpuint (count_files (f, "corrupt"), ==, 4 * 2 + 1 + 3 + 1);

  /* One log line per corrupt item, with its id and reason. */
  g_assert_cmpuint (mb_test_count_warnings (NULL), ==, 8);
  g_assert_true (warning_logged (truncated, "bad-envelope"));
  g_assert_true (warning_logged (garbage, "bad-envelope"));
  g_assert_true (warning_logged (no_eml, "missing-message"));
  g_assert_true (warning_logged (wrong_id, "id-mismatch"));
  g_assert_true (warning_logged (grown, "size-mismatch"));
  g_assert_true (warning_logged ("-", "stray-file"));

  /* A second recovery finds a clean queue. */
  mb_test_clear_warnings ();
  g_assert_true (mb_spool_recover (f->spool, &stats, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (stats.queued, ==, 2);
  g_assert_cmpuint (stats.corrupt + stats.incomplete + stats.tmp_removed, ==,
                    0);
  g_assert_cmpuint (mb_test_count_warnings (NULL), ==, 0);
}

/* An envelope update replaces queue/ID.env atomically and reads back as
 * written; nothing is left in tmp/. */
static void
test_update_round_trip (Fixture *f, gconstpointer data)
{
  g_autofree char *id = commit_message (f, "Subject: u\r\n\r\n");
  g_autoptr (MbEnvelope) envelope = NULL;
  g_autoptr (MbEnvelope) loaded = NULL;
  g_autoptr (GAsyncResult) result = NULL;
  g_autoptr (GError) error = NULL;
  MbRecipient *recipient;

  envelope = mb_spool_load_envelope (f->spool, id, &error);
  g_assert_no_error (error);
  recipient = g_ptr_array_index (envelope->recipients, 0);
  recipient->state = MB_RECIPIENT_STATE_DELIVERED;
  recipient->attempts = 1;
  recipient->last_reply = g_strdup ("250 2.6.0 <x@y> Queued mail for delivery");
  recipient = g_ptr_array_index (envelope->recipients, 1);
  recipient->state = MB_RECIPIENT_STATE_DEFERRED;
  recipient->attempts = 1;
  recipient->next_attempt = 1900000000;
  recipient->last_reply = g_strdup ("451 4.7.500 Server busy.\nTry later");

  mb_spool_update_envelope_async (f->spool, envelope, NULL,
                                  mb_test_store_result_cb, &result);
  /* The spool took a copy: changing ours now must not matter. */
  recipient->attempts = 99;
  g_assert_true (mb_spool_update_envelope_finish (
      f->spool, mb_test_wait_for_result (&result), &error));
  g_assert_no_error (error);

  loaded = mb_spool_load_envelope (f->spool, id, &error);
  g_assert_no_error (error);
  recipient = g_ptr_array_index (loaded->recipients, 0);
  g_assert_cmpint (recipient->state, ==, MB_RECIPIENT_STATE_DELIVERED);
  g_assert_cmpstr (recipient->last_reply, ==,
                   "250 2.6.0 <x@y> Queued mail for delivery");
  recipient = g_ptr_array_index (loaded->recipients, 1);
  g_assert_cmpint (recipient->state, ==, MB_RECIPIENT_STATE_DEFERRED);
  g_assert_cmpuint (recipient->attempts, ==, 1);
  g_assert_cmpint (recipient->next_attempt, ==, 1900000000);
  g_assert_cmpstr (recipient->last_reply, ==,
                   "451 4.7.500 Server busy.\nTry later");
  g_assert_cmpuint (count_files (f, "tmp"), ==, 0);
  g_assert_cmpuint (count_files (f, "queue"), ==, 2);
}

/* Updating a message that is not (or no longer) queued fails with
 * NOT_FOUND and creates nothing. */
static void
test_update_not_found (Fixture *f, gconstpointer data)
{
  g_autoptr (MbEnvelope) envelope = build_envelope ();
  g_autoptr (GAsyncResult) result = NULL;
  g_autoptr (GError) error = NULL;

  envelope->id = g_strdup ("0000000000000001-00000000");
  mb_spool_update_envelope_async (f->spool, envelope, NULL,
                                  mb_test_store_result_cb, &result);
  g_assert_false (mb_spool_update_envelope_finish (
      f->spool, mb_test_wait_for_result (&result), &error));
  g_assert_error (error, MB_SPOOL_ERROR, MB_SPOOL_ERROR_NOT_FOUND);
  g_clear_error (&error);
  g_clear_object (&result);

  /* Not an id at all: never turned into a path. */
  g_free (envelope->id);
  envelope->id = g_strdup ("../../etc/passwd");
  mb_spool_update_envelope_async (f->spool, envelope, NULL,
                                  mb_test_store_result_cb, &result);
  g_assert_false (mb_spool_update_envelope_finish (
      f->spool, mb_test_wait_for_result (&result), &error));
  g_assert_error (error, MB_SPOOL_ERROR, MB_SPOOL_ERROR_NOT_FOUND);
  g_assert_cmpuint (count_files (f, "tmp"), ==, 0);
  g_assert_cmpuint (count_files (f, "queue"), ==, 0);
}

/* Removal deletes both files and emits "removed"; a second removal says
 * NOT_FOUND. */
static void
test_remove (Fixture *f, gconstpointer data)
{
  g_autofree char *id = commit_message (f, "Subject: r\r\n\r\n");
  g_autofree char *keep = commit_message (f, "Subject: k\r\n\r\n");
  g_autofree char *expected = g_strdup_printf ("removed:%s", id);
  g_autoptr (GAsyncResult) result = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) ids = NULL;
  Recorder recorder = { g_ptr_array_new_with_free_func (g_free) };

  g_signal_connect (f->spool, "removed", G_CALLBACK (on_removed_cb), &recorder);
  mb_spool_remove_async (f->spool, id, NULL, mb_test_store_result_cb, &result);
  g_assert_true (mb_spool_remove_finish (
      f->spool, mb_test_wait_for_result (&result), &error));
  g_assert_no_error (error);
  MB_TEST_WAIT_UNTIL (recorder.events->len >= 1);
  g_assert_cmpstr (g_ptr_array_index (recorder.events, 0), ==, expected);

  ids = mb_spool_list_ids (f->spool);
  g_assert_cmpuint (ids->len, ==, 1);
  g_assert_cmpstr (g_ptr_array_index (ids, 0), ==, keep);
  g_assert_cmpuint (count_files (f, "queue"), ==, 2);

  g_clear_object (&result);
  mb_spool_remove_async (f->spool, id, NULL, mb_test_store_result_cb, &result);
  g_assert_false (mb_spool_remove_finish (
      f->spool, mb_test_wait_for_result (&result), &error));
  g_assert_error (error, MB_SPOOL_ERROR, MB_SPOOL_ERROR_NOT_FOUND);
  g_assert_cmpuint (recorder.events->len, ==, 1);
  g_ptr_array_unref (recorder.events);
}

/* Loading an unknown id says NOT_FOUND, an unreadable envelope CORRUPT. */
static void
test_load_errors (Fixture *f, gconstpointer data)
{
  g_autofree char *id = commit_message (f, "Subject: l\r\n\r\n");
  g_autofree char *env = g_strconcat (id, ".env", NULL);
  g_autoptr (GError) error = NULL;
  MbEnvelope *envelope;

  envelope
      = mb_spool_load_envelope (f->spool, "0000000000000001-00000000", &error);
  g_assert_null (envelope);
  g_assert_error (error, MB_SPOOL_ERROR, MB_SPOOL_ERROR_NOT_FOUND);
  g_clear_error (&error);
  envelope = mb_spool_load_envelope (f->spool, "../queue/x", &error);
  g_assert_null (envelope);
  g_assert_error (error, MB_SPOOL_ERROR, MB_SPOOL_ERROR_NOT_FOUND);
  g_clear_error (&error);

  write_queue_file (f, "queue", env, "[envelope]\nversion=1\n", -1);
  envelope = mb_spool_load_envelope (f->spool, id, &error);
  g_assert_null (envelope);
  g_assert_error (error, MB_SPOOL_ERROR, MB_SPOOL_ERROR_CORRUPT);
}

/* A spool can be dropped right after starting a commit: the commit still
 * completes and the committer thread ends cleanly. */
static void
test_unref_during_commit (Fixture *f, gconstpointer data)
{
  g_autoptr (MbSpoolWriter) writer = NULL;
  g_autoptr (MbEnvelope) envelope = build_envelope ();
  g_autoptr (GAsyncResult) result = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree char *eml = NULL;
  MbSpool         *spool = g_steal_pointer (&f->spool);
  g_autofree char *directory = g_strdup (mb_spool_get_directory (spool));

  writer = mb_spool_writer_new (spool, &error);
  g_assert_no_error (error);
  write_sync (writer, "Subject: late\r\n\r\n", &error);
  g_assert_no_error (error);
  mb_spool_writer_commit_async (writer, envelope, NULL, mb_test_store_result_cb,
                                &result);
  g_object_unref (spool);
  mb_test_wait_for_result (&result);
  g_assert_true (mb_spool_writer_commit_finish (writer, result, &error));
  g_assert_no_error (error);
  eml = g_strdup_printf ("%s/queue/%s.eml", directory,
                         mb_spool_writer_get_id (writer));
  g_assert_true (g_file_test (eml, G_FILE_TEST_EXISTS));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  /* Warnings from mb-spool are captured (and counted by the tests) instead
   * of aborting the test. */
  mb_test_capture_warnings ("mb-spool");

  g_test_add_func ("/relay/spool/error/quark", test_error_quark);
#define ADD(path, func)                                                        \
  g_test_add ("/relay/spool/" path, Fixture, NULL, fixture_setup, func,        \
              fixture_teardown)
  ADD ("layout/directories", test_layout);
  ADD ("id/ordered-unique", test_ids_ordered);
  ADD ("commit/files", test_commit_files);
  ADD ("commit/abort", test_abort);
  ADD ("commit/cancelled", test_commit_cancelled);
  ADD ("commit/group", test_group_commit);
  ADD ("commit/unref-spool", test_unref_during_commit);
  ADD ("error/write-efbig", test_write_efbig);
  ADD ("error/commit-efbig", test_commit_efbig);
  ADD ("recover/torn", test_recover_torn);
  ADD ("update/round-trip", test_update_round_trip);
  ADD ("update/not-found", test_update_not_found);
  ADD ("remove/both-files", test_remove);
  ADD ("load/errors", test_load_errors);
#undef ADD

  return g_test_run ();
}
