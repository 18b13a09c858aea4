/* mb-test-util.c - helpers shared by the unit tests (see mb-test-util.h) */
#define G_LOG_DOMAIN "mb-test-util"

#include "mb-test-util.h"

#include <glib/gstdio.h>
#include <string.h>
#include <sys/stat.h>

char *
mb_test_make_tmpdir (const char *name)
{
  const char      *base = g_getenv ("MB_TEST_TMPDIR");
  g_autofree char *leaf = g_strdup_printf ("mb-%s-XXXXXX", name);
  g_autofree char *template = NULL;

  if (base == NULL || *base == '\0')
    base = "/var/tmp";
  template = g_build_filename (base, leaf, NULL);
  g_assert_nonnull (g_mkdtemp (template));
  return g_steal_pointer (&template);
}

void
mb_test_remove_tree (const char *path)
{
  GStatBuf st;

  if (path == NULL || g_lstat (path, &st) != 0)
    return;
  if (S_ISDIR (st.st_mode))
    {
      g_autoptr (GDir) dir = g_dir_open (path, 0, NULL);
      const char *name;

      while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
        {
          g_autofree char *child = g_build_filename (path, name, NULL);

          mb_test_remove_tree (child);
        }
      g_rmdir (path);
    }
  else
    {
      g_unlink (path);
    }
}

guint
mb_test_count_files (const char *path)
{
  g_autoptr (GDir) dir = g_dir_open (path, 0, NULL);
  guint n = 0;

  g_assert_nonnull (dir);
  while (g_dir_read_name (dir) != NULL)
    n++;
  return n;
}

/* Waiting */

static gboolean
on_hang_guard_expired_cb (gpointer user_data)
{
  const char *what = user_data;

  g_test_message ("still waiting after %d s for: %s",
                  MB_TEST_HANG_GUARD_SECONDS, what);
  g_assert_not_reached ();
  return G_SOURCE_REMOVE;
}

guint
mb_test_add_hang_guard (const char *what)
{
  return g_timeout_add_seconds (MB_TEST_HANG_GUARD_SECONDS,
                                on_hang_guard_expired_cb, (gpointer)what);
}

void
mb_test_store_result_cb (GObject      *source,
                         GAsyncResult *result,
                         gpointer      user_data)
{
  GAsyncResult **slot = user_data;

  g_assert_null (*slot);
  *slot = g_object_ref (result);
}

GAsyncResult *
mb_test_wait_for_result (GAsyncResult **slot)
{
  MB_TEST_WAIT_UNTIL (*slot != NULL);
  return *slot;
}

/* Environment */

gboolean
mb_test_need_tls_backend (void)
{
  if (g_tls_backend_supports_tls (g_tls_backend_get_default ()))
    return TRUE;
  g_test_skip ("no GIO TLS backend (glib-networking)");
  return FALSE;
}

gboolean
mb_test_run_python (const char *script, GBytes *data, const char *file_name)
{
  g_autofree char *dir = NULL;
  g_autofree char *path = NULL;
  g_autofree char *out = NULL;
  g_autofree char *err = NULL;
  g_autoptr (GError) error = NULL;
  const char *argv[] = { "/usr/bin/python3", "-c", script, NULL, NULL };
  int         status = 0;

  if (!g_file_test (argv[0], G_FILE_TEST_IS_EXECUTABLE))
    {
      g_test_skip ("/usr/bin/python3 is not installed");
      return FALSE;
    }
  dir = mb_test_make_tmpdir ("python");
  path = g_build_filename (dir, file_name, NULL);
  g_file_set_contents (path, g_bytes_get_data (data, NULL),
                       (gssize)g_bytes_get_size (data), &error);
  g_assert_no_error (error);
  argv[3] = path;
  g_spawn_sync (NULL, (char **)argv, NULL, G_SPAWN_DEFAULT, NULL, NULL, &out,
                &err, &status, &error);
  g_assert_no_error (error);
  if (!g_spawn_check_wait_status (status, NULL))
    g_test_message ("python said:\n%s%s", out, err);
  g_assert_true (g_spawn_check_wait_status (status, NULL));
  mb_test_remove_tree (dir);
  return TRUE;
}

/* Captured warnings */

static GMutex     captured_lock;
static GPtrArray *captured_warnings; /* (element-type utf8) */
static char      *captured_domain;

static GLogWriterOutput
capture_writer (GLogLevelFlags   log_level,
                const GLogField *fields,
                gsize            n_fields,
                gpointer         user_data)
{
  const char *domain = NULL;
  const char *message = NULL;

  for (gsize i = 0; i < n_fields; i++)
    {
      if (g_strcmp0 (fields[i].key, "GLIB_DOMAIN") == 0)
        domain = fields[i].value;
      else if (g_strcmp0 (fields[i].key, "MESSAGE") == 0)
        message = fields[i].value;
    }
  if ((log_level & G_LOG_LEVEL_WARNING) != 0
      && g_strcmp0 (domain, captured_domain) == 0 && message != NULL)
    {
      g_mutex_lock (&captured_lock);
      g_ptr_array_add (captured_warnings, g_strdup (message));
      g_mutex_unlock (&captured_lock);
      return G_LOG_WRITER_HANDLED;
    }
  return g_log_writer_default (log_level, fields, n_fields, user_data);
}

void
mb_test_capture_warnings (const char *log_domain)
{
  g_assert_null (captured_warnings);
  captured_domain = g_strdup (log_domain);
  captured_warnings = g_ptr_array_new_with_free_func (g_free);
  g_log_set_writer_func (capture_writer, NULL, NULL);
}

guint
mb_test_count_warnings (const char *substring)
{
  guint n = 0;

  g_mutex_lock (&captured_lock);
  for (guint i = 0; i < captured_warnings->len; i++)
    n += substring == NULL
         || strstr (g_ptr_array_index (captured_warnings, i), substring)
                != NULL;
  g_mutex_unlock (&captured_lock);
  return n;
}

GPtrArray *
mb_test_dup_warnings (void)
{
  GPtrArray *copy = g_ptr_array_new_with_free_func (g_free);

  g_mutex_lock (&captured_lock);
  for (guint i = 0; i < captured_warnings->len; i++)
    g_ptr_array_add (copy, g_strdup (g_ptr_array_index (captured_warnings, i)));
  g_mutex_unlock (&captured_lock);
  return copy;
}

void
mb_test_clear_warnings (void)
{
  g_mutex_lock (&captured_lock);
  g_ptr_array_set_size (captured_warnings, 0);
  g_mutex_unlock (&captured_lock);
}
