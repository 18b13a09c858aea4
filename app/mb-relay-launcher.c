/* mb-relay-launcher.c - starts mailbridged when D-Bus cannot
 *
 * Used by MbRelayClient only when the bus has no service file for
 * org.mailbridge.Relay1 (the app runs from its build tree or was installed
 * without the D-Bus service).  The relay runs in its own session so that it
 * outlives the app and its terminal; its stderr goes to a log file the app
 * can name when the relay stops right away.
 */
#define G_LOG_DOMAIN "mb-relay-launcher"

#include "mb-relay-launcher.h"

#include <unistd.h>

static char *
find_relay_binary (void)
{
  const char      *override = g_getenv ("MB_MAILBRIDGED");
  g_autofree char *self_path = g_file_read_link ("/proc/self/exe", NULL);

  if (override != NULL && *override != '\0')
    return g_strdup (override);

  /* Run from the build tree: build/app/mailbridge -> build/relay/. */
  if (self_path != NULL)
    {
      g_autofree char *dir = g_path_get_dirname (self_path);
      g_autofree char *candidate
          = g_build_filename (dir, "..", "relay", "mailbridged", NULL);

      if (g_file_test (candidate, G_FILE_TEST_IS_EXECUTABLE))
        return g_steal_pointer (&candidate);
    }
  return g_build_filename (BINDIR, "mailbridged", NULL);
}

static void
child_setup (gpointer user_data)
{
  /* The relay must outlive the app and its terminal. */
  setsid ();
}

GSubprocess *
mb_relay_launcher_spawn (char **log_path, GError **error)
{
  g_autoptr (GSubprocessLauncher) launcher = NULL;
  g_autofree char *binary = find_relay_binary ();
  g_autofree char *state_dir = NULL;
  g_autofree char *path = NULL;

  g_return_val_if_fail (log_path != NULL, NULL);

  state_dir = g_build_filename (g_get_user_state_dir (), "mailbridge", NULL);
  g_mkdir_with_parents (state_dir, 0700);
  path = g_build_filename (state_dir, "relay.log", NULL);
  *log_path = g_strdup (path);

  launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDIN_INHERIT
                                        | G_SUBPROCESS_FLAGS_STDOUT_SILENCE);
  /* Not ours to forward: a READY=1 meant for whoever started the app. */
  g_subprocess_launcher_unsetenv (launcher, "NOTIFY_SOCKET");
  g_subprocess_launcher_set_stderr_file_path (launcher, path);
  g_subprocess_launcher_set_child_setup (launcher, child_setup, NULL, NULL);
  g_debug ("starting %s, log in %s", binary, path);
  return g_subprocess_launcher_spawn (launcher, error, binary, NULL);
}
