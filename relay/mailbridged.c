/* mailbridged - the Mailbridge relay engine
 *
 * main() with its option table: load and check the configuration, run the
 * daemon in the foreground, stop on SIGTERM/SIGINT, reload on SIGHUP.
 * --bus chooses where the D-Bus control object goes: the session bus by
 * default when there is one, the system bus in system mode, or none.
 */
#define G_LOG_DOMAIN "mailbridged"

#include <glib-unix.h>
#include <gmime/gmime.h>
#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mb-daemon.h"
#include "mb-log.h"
#include "mb-relay-config.h"

static char    *opt_config;
static char    *opt_check_config;
static char    *opt_bus;
static gboolean opt_verbose;
static gboolean opt_version;

static const GOptionEntry option_entries[]
    = { { "config", 'c', 0, G_OPTION_ARG_FILENAME, &opt_config,
          "Run with the configuration in FILE", "FILE" },
        { "check-config", 0, 0, G_OPTION_ARG_FILENAME, &opt_check_config,
          "Check the configuration in FILE and exit", "FILE" },
        { "bus", 0, 0, G_OPTION_ARG_STRING, &opt_bus,
          "Serve org.mailbridge.Relay1 on BUS: session, system or none "
          "(default: session when DBUS_SESSION_BUS_ADDRESS is set, else none)",
          "BUS" },
        { "verbose", 'v', 0, G_OPTION_ARG_NONE, &opt_verbose,
          "Log debugging information", NULL },
        { "version", 0, 0, G_OPTION_ARG_NONE, &opt_version,
          "Print the version and exit", NULL },
        { NULL } };

typedef struct
{
  GMainLoop *loop;
  MbDaemon  *daemon;
  char      *config_path; /* (nullable) */
  int        exit_status;
} Relay;

static gboolean
parse_bus_type (const char *text, GBusType *bus_type)
{
  if (text == NULL)
    {
      const char *address = g_getenv ("DBUS_SESSION_BUS_ADDRESS");

      *bus_type = address != NULL && *address != '\0' ? G_BUS_TYPE_SESSION
                                                      : G_BUS_TYPE_NONE;
      return TRUE;
    }
  if (strcmp (text, "session") == 0)
    *bus_type = G_BUS_TYPE_SESSION;
  else if (strcmp (text, "system") == 0)
    *bus_type = G_BUS_TYPE_SYSTEM;
  else if (strcmp (text, "none") == 0)
    *bus_type = G_BUS_TYPE_NONE;
  else
    return FALSE;
  return TRUE;
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
  g_autoptr (MbRelayConfig) config
      = mb_daemon_load_config (relay->config_path, &error);

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
  Relay    relay = { 0 };
  GBusType bus_type = G_BUS_TYPE_NONE;

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
  if (!parse_bus_type (opt_bus, &bus_type))
    {
      fprintf (stderr,
               "mailbridged: --bus must be session, system or none, not "
               "“%s”\n",
               opt_bus);
      return EXIT_FAILURE;
    }

  mb_log_install_writer (opt_verbose);
  g_mime_init ();

  config = mb_daemon_load_config (opt_config, &error);
  if (config == NULL)
    {
      fprintf (stderr, "mailbridged: %s\n", error->message);
      return EXIT_FAILURE;
    }

  loop = g_main_loop_new (NULL, FALSE);
  daemon = mb_daemon_new (config);
  mb_daemon_set_config_source (daemon, opt_config);
  /* An explicit --bus must work; the implicit session bus is a
   * convenience. */
  mb_daemon_set_bus_type (daemon, bus_type, opt_bus != NULL);
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
