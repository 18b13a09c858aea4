/* mailbridged - the Mailbridge relay engine
 *
 * main() with its option table: load and check the configuration, run the
 * daemon in the foreground, stop on SIGTERM/SIGINT, reload on SIGHUP.
 */
#define G_LOG_DOMAIN "mailbridged"

#include <glib-unix.h>
#include <gmime/gmime.h>
#include <locale.h>
#include <stdio.h>
#include <stdlib.h>

#include "mb-daemon.h"
#include "mb-log.h"
#include "mb-relay-config.h"

static char    *opt_config;
static char    *opt_check_config;
static gboolean opt_verbose;
static gboolean opt_version;

static const GOptionEntry option_entries[] = {
  { "config", 'c', 0, G_OPTION_ARG_FILENAME, &opt_config,
    "Run with the configuration in FILE", "FILE" },
  { "check-config", 0, 0, G_OPTION_ARG_FILENAME, &opt_check_config,
    "Check the configuration in FILE and exit", "FILE" },
  { "verbose", 'v', 0, G_OPTION_ARG_NONE, &opt_verbose,
    "Log debugging information", NULL },
  { "version", 0, 0, G_OPTION_ARG_NONE, &opt_version,
    "Print the version and exit", NULL },
  { NULL }
};

typedef struct
{
  GMainLoop *loop;
  MbDaemon  *daemon;
  char      *config_path; /* (nullable) */
  int        exit_status;
} Relay;

static MbRelayConfig *
load_config (const char *path, GError **error)
{
  g_autofree char *user_path = NULL;

  if (path != NULL)
    return mb_relay_config_load_file (path, error);

  user_path = g_build_filename (g_get_user_config_dir (), "mailbridge",
                                "mailbridge.conf", NULL);
  if (g_file_test (user_path, G_FILE_TEST_EXISTS))
    return mb_relay_config_load_file (user_path, error);

  return mb_relay_config_new_default ();
}

static gboolean
on_stop_signal_cb (gpointer user_data)
{
  Relay *relay = user_data;

  g_info ("stopping");
  mb_daemon_stop (relay->daemon);
  g_main_loop_quit (relay->loop);
  return G_SOURCE_CONTINUE;
}

static gboolean
on_reload_signal_cb (gpointer user_data)
{
  Relay *relay = user_data;
  g_autoptr (GError) error = NULL;
  g_autoptr (MbRelayConfig) config = load_config (relay->config_path, &error);

  if (config == NULL || !mb_daemon_reload (relay->daemon, config, &error))
    g_message ("reload refused, the previous configuration stays in force: "
               "%s",
               error->message);
  return G_SOURCE_CONTINUE;
}

static void
daemon_started_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  Relay *relay = user_data;
  g_autoptr (GError) error = NULL;

  if (!mb_daemon_start_finish (MB_DAEMON (source), result, &error))
    {
      fprintf (stderr, "mailbridged: %s\n", error->message);
      relay->exit_status = EXIT_FAILURE;
      g_main_loop_quit (relay->loop);
    }
}

static int
check_config (const char *path)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (MbRelayConfig) config = mb_relay_config_load_file (path, &error);

  if (config == NULL)
    {
      fprintf (stderr, "%s\n", error->message);
      return EXIT_FAILURE;
    }
  printf ("%s: configuration OK\n", path);
  return EXIT_SUCCESS;
}

int
main (int argc, char **argv)
{
  g_autoptr (GOptionContext) context = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (MbRelayConfig) config = NULL;
  g_autoptr (GMainLoop) loop = NULL;
  g_autoptr (MbDaemon) daemon = NULL;
  Relay relay = { 0 };

  setlocale (LC_ALL, "");

  context = g_option_context_new ("- the Mailbridge relay");
  g_option_context_add_main_entries (context, option_entries, NULL);
  if (!g_option_context_parse (context, &argc, &argv, &error))
    {
      fprintf (stderr, "mailbridged: %s\n", error->message);
      return EXIT_FAILURE;
    }
  if (opt_version)
    {
      printf ("mailbridged %s\n", MB_VERSION);
      return EXIT_SUCCESS;
    }
  if (opt_check_config != NULL)
    return check_config (opt_check_config);

  mb_log_install_writer (opt_verbose);
  g_mime_init ();

  config = load_config (opt_config, &error);
  if (config == NULL)
    {
      fprintf (stderr, "mailbridged: %s\n", error->message);
      return EXIT_FAILURE;
    }

  loop = g_main_loop_new (NULL, FALSE);
  daemon = mb_daemon_new (config);
  relay.loop = loop;
  relay.daemon = daemon;
  relay.config_path = opt_config;
  relay.exit_status = EXIT_SUCCESS;

  g_unix_signal_add (SIGTERM, on_stop_signal_cb, &relay);
  g_unix_signal_add (SIGINT, on_stop_signal_cb, &relay);
  g_unix_signal_add (SIGHUP, on_reload_signal_cb, &relay);

  mb_daemon_start_async (daemon, NULL, daemon_started_cb, &relay);
  g_main_loop_run (loop);

  g_mime_shutdown ();
  return relay.exit_status;
}
