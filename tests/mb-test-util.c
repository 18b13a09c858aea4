/* mb-test-util.c - helpers shared by the unit tests (see mb-test-util.h) */
#define G_LOG_DOMAIN "mb-test-util"

#include "mb-test-util.h"

#include <glib/gstdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

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

/* The fake Entra ID */

static char *
default_pki_dir (void)
{
  const char *base = g_getenv ("MB_TEST_TMPDIR");

  if (base != NULL && *base != '\0')
    return g_build_filename (base, "testpki", NULL);
  return g_strdup_printf ("/var/tmp/mailbridge-testpki-%u", (guint)getuid ());
}

MbTestFakeEntra *
mb_test_fake_entra_start (const char *script_json, char **skip_reason)
{
  const char      *srcdir = g_getenv ("MB_SOURCEDIR");
  g_autofree char *script = NULL;
  g_autofree char *pki_dir = NULL;
  g_autofree char *line = NULL;
  g_autoptr (GSubprocess) process = NULL;
  g_autoptr (GDataInputStream) out = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (GTlsDatabase) database = NULL;
  MbTestFakeEntra *fake;

  /* The authority is on loopback: keep proxies from the environment away
   * from the clients under test and from the fake. */
  g_unsetenv ("http_proxy");
  g_unsetenv ("https_proxy");
  g_unsetenv ("HTTPS_PROXY");
  g_unsetenv ("all_proxy");
  g_setenv ("GIO_USE_PROXY_RESOLVER", "dummy", TRUE);

  if (srcdir == NULL)
    {
      *skip_reason = g_strdup ("MB_SOURCEDIR is not set (run through "
                               "meson test)");
      return NULL;
    }
  script = g_build_filename (srcdir, "tests", "fakes", "fake_entra.py", NULL);
  pki_dir = default_pki_dir ();
  process = g_subprocess_new (
      G_SUBPROCESS_FLAGS_STDIN_PIPE | G_SUBPROCESS_FLAGS_STDOUT_PIPE, &error,
      "/usr/bin/python3", script, "--port", "0", "--pki-dir", pki_dir,
      "--script", script_json, NULL);
  if (process == NULL)
    {
      *skip_reason
          = g_strdup_printf ("cannot start the fake: %s", error->message);
      return NULL;
    }
  /* Test setup may block: the fake prints its port once it listens. */
  out = g_data_input_stream_new (g_subprocess_get_stdout_pipe (process));
  line = g_data_input_stream_read_line (out, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_nonnull (line);

  fake = g_new0 (MbTestFakeEntra, 1);
  fake->process = g_steal_pointer (&process);
  fake->authority = g_strdup_printf ("https://127.0.0.1:%s", g_strstrip (line));
  fake->ca_file = g_build_filename (pki_dir, "ca.crt", NULL);
  fake->rogue_ca_file = g_build_filename (pki_dir, "rogue-ca.crt", NULL);
  fake->app_dir = g_build_filename (pki_dir, "entra", NULL);
  fake->pki_dir = g_steal_pointer (&pki_dir);
  database = g_tls_file_database_new (fake->ca_file, &error);
  g_assert_no_error (error);
  fake->http = soup_session_new_with_options ("tls-database", database,
                                              "proxy-resolver", NULL, NULL);
  return fake;
}

void
mb_test_fake_entra_stop (MbTestFakeEntra *fake)
{
  if (fake == NULL)
    return;
  /* Closing its stdin ends the fake. */
  g_output_stream_close (g_subprocess_get_stdin_pipe (fake->process), NULL,
                         NULL);
  g_subprocess_wait (fake->process, NULL, NULL);
  g_object_unref (fake->process);
  g_object_unref (fake->http);
  g_free (fake->authority);
  g_free (fake->pki_dir);
  g_free (fake->ca_file);
  g_free (fake->rogue_ca_file);
  g_free (fake->app_dir);
  g_free (fake);
}

GBytes *
mb_test_fake_entra_get (MbTestFakeEntra *fake,
                        const char      *url,
                        guint           *status,
                        char           **location)
{
  g_autoptr (SoupMessage) message = soup_message_new ("GET", url);
  g_autoptr (GAsyncResult) result = NULL;
  g_autoptr (GError) error = NULL;
  GBytes *body;

  g_assert_nonnull (message);
  soup_message_add_flags (message, SOUP_MESSAGE_NO_REDIRECT);
  soup_session_send_and_read_async (fake->http, message, G_PRIORITY_DEFAULT,
                                    NULL, mb_test_store_result_cb, &result);
  mb_test_wait_for_result (&result);
  body = soup_session_send_and_read_finish (fake->http, result, &error);
  g_assert_no_error (error);
  if (status != NULL)
    *status = soup_message_get_status (message);
  if (location != NULL)
    *location = g_strdup (soup_message_headers_get_one (
        soup_message_get_response_headers (message), "Location"));
  return body;
}

JsonObject *
mb_test_fake_entra_get_state (MbTestFakeEntra *fake)
{
  g_autofree char *url = g_strconcat (fake->authority, "/_fake/state", NULL);
  g_autoptr (GBytes) body = mb_test_fake_entra_get (fake, url, NULL, NULL);
  g_autoptr (JsonParser) parser = json_parser_new ();
  g_autoptr (GError) error = NULL;
  gsize       len;
  const char *data = g_bytes_get_data (body, &len);

  json_parser_load_from_data (parser, data, len, &error);
  g_assert_no_error (error);
  return json_object_ref (json_node_get_object (json_parser_get_root (parser)));
}

guint
mb_test_fake_entra_count_grants (MbTestFakeEntra *fake,
                                 const char      *client_id,
                                 const char      *grant_type,
                                 const char      *result)
{
  g_autoptr (JsonObject) state = mb_test_fake_entra_get_state (fake);
  JsonArray *grants = json_object_get_array_member (state, "grants");
  guint      n = 0;

  for (guint i = 0; i < json_array_get_length (grants); i++)
    {
      JsonObject *g = json_array_get_object_element (grants, i);

      if (g_strcmp0 (json_object_get_string_member (g, "client_id"), client_id)
              == 0
          && g_strcmp0 (json_object_get_string_member (g, "grant_type"),
                        grant_type)
                 == 0
          && (result == NULL
              || g_strcmp0 (json_object_get_string_member (g, "result"), result)
                     == 0))
        n++;
    }
  return n;
}
