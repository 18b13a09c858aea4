/* mb-ctl-signin.c - mailbridgectl signin ROUTE
 *
 * Signs a route in to Microsoft 365 from a terminal, for a relay
 * administered over ssh, and stores the result where the relay reads it
 * (mb_credentials_new_for_config(): the [relay] secrets file, else the
 * keyring), as the application does:
 *   auth=oauth-device   prints the code and the URL, waits for the user
 *   auth=oauth-browser  prints the URL to open (and opens it when there is
 *                       a display), waits for the loopback redirect
 *   auth=oauth-app      checks the client secret or certificate by asking
 *                       for a token (a secret may be given on stdin, with
 *                       the date it expires: --client-secret-expires)
 * then asks the running relay to read the route's secrets again
 * (ReloadCredentials) and exits 0 once the route is ready, 1 with the
 * reason otherwise.
 *
 * The configuration is the file the relay runs with (its ConfigPath), or
 * --config FILE.  The sequence itself is MbSigninFlow (mb-signin-flow.h),
 * shared with the application; this file prints its prompts, asks for a
 * client secret when the flow needs one, and talks to the relay.  Tokens
 * and secrets are never printed.  mailbridgectl may block: the flow runs
 * on a main context iterated here.
 */
#define G_LOG_DOMAIN "mailbridgectl"

#include "mb-ctl.h"

#include <stdio.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "mb-credentials.h"
#include "mb-oauth.h"
#include "mb-signin-flow.h"
#include "mb-smtp-reply.h"

typedef struct
{
  MbCtl        *ctl;
  const char   *route;
  GAsyncResult *result; /* (owned) (nullable) */
} Waiter;

static void
done_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  Waiter *waiter = user_data;

  waiter->result = g_object_ref (result);
}

static void
on_flow_device_code_cb (MbSigninFlow *flow,
                        const char   *user_code,
                        const char   *verification_uri,
                        gint64        expires_in,
                        gpointer      user_data)
{
  Waiter *waiter = user_data;
  FILE   *out = waiter->ctl->json ? stderr : stdout;

  fprintf (out,
           "To sign in route %s, open %s in a browser (on any device) and "
           "enter the code %s.\n"
           "The code expires in %" G_GINT64_FORMAT
           " minutes.  Waiting for the sign-in...\n",
           waiter->route, verification_uri, user_code, (expires_in + 59) / 60);
  fflush (out);
}

static void
on_flow_browser_uri_cb (MbSigninFlow *flow, const char *uri, gpointer user_data)
{
  Waiter *waiter = user_data;
  FILE   *out = waiter->ctl->json ? stderr : stdout;

  fprintf (out,
           "To sign in route %s, open this address in a browser on this "
           "machine (over ssh, forward the port of its redirect_uri first: "
           "ssh -L PORT:127.0.0.1:PORT):\n%s\nWaiting for the sign-in...\n",
           waiter->route, uri);
  fflush (out);
}

/* A secret typed on the terminal without echo, or read from stdin. */
static char *
read_secret (gboolean from_stdin)
{
  struct termios saved, quiet;
  gboolean       tty = isatty (STDIN_FILENO);
  char           buffer[4096];
  char          *line;
  gsize          len;

  if (!from_stdin && !tty)
    return NULL;
  if (tty)
    {
      fprintf (stderr, "Client secret (not shown): ");
      fflush (stderr);
      tcgetattr (STDIN_FILENO, &saved);
      quiet = saved;
      quiet.c_lflag &= ~(tcflag_t)ECHO;
      tcsetattr (STDIN_FILENO, TCSANOW, &quiet);
    }
  line = fgets (buffer, sizeof buffer, stdin);
  if (tty)
    {
      tcsetattr (STDIN_FILENO, TCSANOW, &saved);
      fprintf (stderr, "\n");
    }
  if (line == NULL)
    {
      explicit_bzero (buffer, sizeof buffer);
      return NULL;
    }
  len = strcspn (buffer, "\r\n");
  line = len > 0 ? g_strndup (buffer, len) : NULL;
  explicit_bzero (buffer, sizeof buffer);
  return line;
}

static int fail (const char *format, ...) G_GNUC_PRINTF (1, 2);

static int
fail (const char *format, ...)
{
  g_autofree char *message = NULL;
  va_list          args;

  va_start (args, format);
  message = g_strdup_vprintf (format, args);
  va_end (args);
  fprintf (stderr, "mailbridgectl: %s\n", message);
  return MB_CTL_EXIT_FAILURE;
}

/* Runs one sign-in of @waiter's route on the iterated main context, with
 * @secret (nullable) as a new client secret that expires at @expires_at
 * (0: unknown). */
static gboolean
run_flow (Waiter        *waiter,
          MbRelayConfig *config,
          const char    *secret,
          gint64         expires_at,
          gboolean       no_browser,
          GError       **error)
{
  g_autoptr (MbSigninFlow) flow = NULL;
  g_autoptr (GAsyncResult) result = NULL;
  gboolean display
      = g_getenv ("DISPLAY") != NULL || g_getenv ("WAYLAND_DISPLAY") != NULL;

  flow = mb_signin_flow_new (config, waiter->route, error);
  if (flow == NULL)
    return FALSE;
  g_signal_connect (flow, "device-code", G_CALLBACK (on_flow_device_code_cb),
                    waiter);
  g_signal_connect (flow, "browser-uri", G_CALLBACK (on_flow_browser_uri_cb),
                    waiter);
  mb_signin_flow_set_client_secret (flow, secret);
  mb_signin_flow_set_client_secret_expiry (flow, expires_at);
  mb_signin_flow_set_open_browser (flow, display && !no_browser);
  mb_signin_flow_run_async (flow, NULL, done_cb, waiter);
  while (waiter->result == NULL)
    g_main_context_iteration (NULL, TRUE);
  result = g_steal_pointer (&waiter->result);
  return mb_signin_flow_run_finish (flow, result, error);
}

/* The sign-in, stored; a client secret asked for when the route needs
 * one and none is stored, or when @expires_at (unix seconds, 0: not
 * given) announces a new one. */
static int
sign_in (Waiter        *waiter,
         MbRelayConfig *config,
         gboolean       no_browser,
         gboolean       secret_from_stdin,
         gint64         expires_at)
{
  const MbRouteConfig *route
      = mb_relay_config_lookup_route (config, waiter->route);
  gboolean uses_secret = route != NULL && route->auth == MB_ROUTE_AUTH_OAUTH_APP
                         && route->client_certificate == NULL;
  g_autoptr (GError) error = NULL;
  char    *entered = NULL;
  gboolean ok;

  /* The date belongs to a new secret: there must be one to store it
   * with, not the stored secret, whose date stays. */
  if (expires_at != 0 && route != NULL && !uses_secret)
    return mb_ctl_usage_error (
        "signin %s: --client-secret-expires is for a route with "
        "auth=oauth-app that signs in with a client secret",
        waiter->route);
  /* A certificate route has no use for a secret on stdin. */
  if ((secret_from_stdin || expires_at != 0) && uses_secret)
    {
      entered = read_secret (secret_from_stdin);
      if (entered == NULL)
        return fail ("signin %s: no new client secret was given (type it on "
                     "a terminal, or pass --client-secret-stdin)",
                     waiter->route);
    }
  ok = run_flow (waiter, config, entered, expires_at, no_browser, &error);
  if (!ok && entered == NULL
      && g_error_matches (error, MB_SIGNIN_FLOW_ERROR,
                          MB_SIGNIN_FLOW_ERROR_NEEDS_SECRET))
    {
      entered = read_secret (FALSE);
      if (entered == NULL)
        return fail ("signin %s: %s (type it on a terminal, or pass "
                     "--client-secret-stdin)",
                     waiter->route, error->message);
      g_clear_error (&error);
      ok = run_flow (waiter, config, entered, 0, no_browser, &error);
    }
  mb_smtp_secret_free (entered);
  if (ok)
    return MB_CTL_EXIT_OK;
  if (route != NULL && route->auth == MB_ROUTE_AUTH_OAUTH_APP
      && error->domain == MB_OAUTH_ERROR)
    return fail ("signin %s: no token for the app: %s", waiter->route,
                 error->message);
  return fail ("signin %s: %s", waiter->route, error->message);
}

static int
print_result (MbCtl      *ctl,
              const char *route,
              const char *state,
              const char *reason,
              gboolean    ready)
{
  if (ctl->json)
    {
      g_autoptr (JsonBuilder) builder = json_builder_new ();

      json_builder_begin_object (builder);
      json_builder_set_member_name (builder, "ok");
      json_builder_add_boolean_value (builder, ready);
      json_builder_set_member_name (builder, "route");
      json_builder_add_string_value (builder, route);
      json_builder_set_member_name (builder, "state");
      json_builder_add_string_value (builder, state);
      json_builder_set_member_name (builder, "reason");
      json_builder_add_string_value (builder, reason);
      json_builder_end_object (builder);
      mb_ctl_print_json (json_builder_get_root (builder));
    }
  else if (ready)
    printf ("Route %s is signed in and ready (%s).\n", route, state);
  if (!ready)
    fprintf (stderr,
             "mailbridgectl: signin %s: the sign-in is stored, but the route "
             "is %s%s%s\n",
             route, state, *reason != '\0' ? ": " : "", reason);
  return ready ? MB_CTL_EXIT_OK : MB_CTL_EXIT_FAILURE;
}

/* --client-secret-expires: a date or time, and not one that has passed
 * (Entra would refuse such a secret anyway).  0 when @text is NULL. */
static gboolean
parse_expires (const char *text, gint64 *expires_at)
{
  *expires_at = 0;
  if (text == NULL)
    return TRUE;
  if (!mb_credentials_parse_expiry (text, expires_at))
    {
      mb_ctl_usage_error ("signin: --client-secret-expires “%s”: not a date; "
                          "write it as 2027-03-01 or 2027-03-01T12:00:00Z",
                          text);
      return FALSE;
    }
  if (*expires_at <= g_get_real_time () / G_USEC_PER_SEC)
    {
      mb_ctl_usage_error ("signin: --client-secret-expires %s: that date has "
                          "passed; give the date the new secret expires, as "
                          "Microsoft Entra shows it",
                          text);
      return FALSE;
    }
  return TRUE;
}

int
mb_ctl_signin (MbCtl *ctl, int argc, char **argv)
{
  g_autofree char   *config_path = NULL;
  g_autofree char   *expires_text = NULL;
  gboolean           no_browser = FALSE;
  gboolean           secret_from_stdin = FALSE;
  const GOptionEntry entries[]
      = { { "config", 0, 0, G_OPTION_ARG_FILENAME, &config_path,
            "The relay's configuration (default: the file the running "
            "relay uses)",
            "FILE" },
          { "no-browser", 0, 0, G_OPTION_ARG_NONE, &no_browser,
            "Only print the sign-in address (oauth-browser)", NULL },
          { "client-secret-stdin", 0, 0, G_OPTION_ARG_NONE, &secret_from_stdin,
            "Read a new client secret from stdin and store it once it works "
            "(oauth-app)",
            NULL },
          { "client-secret-expires", 0, 0, G_OPTION_ARG_STRING, &expires_text,
            "When the new client secret expires, as Microsoft Entra shows "
            "it (YYYY-MM-DD or ISO 8601 UTC); the relay warns 14 days "
            "before (oauth-app; asks for the new secret)",
            "DATE" },
          { NULL } };
  g_autoptr (GError) error = NULL;
  g_autoptr (MbRelayConfig) config = NULL;
  g_autofree char *state = NULL;
  g_autofree char *reason = NULL;
  MbRelay1        *proxy;
  Waiter           waiter = { ctl, NULL, NULL };
  gint64           expires_at = 0;
  int              status;

  if (!mb_ctl_parse_options ("signin ROUTE", entries, &argc, &argv))
    return MB_CTL_EXIT_USAGE;
  if (argc != 2)
    return mb_ctl_usage_error ("usage: mailbridgectl signin [--config FILE] "
                               "[--no-browser] [--client-secret-stdin] "
                               "[--client-secret-expires DATE] ROUTE");
  if (!parse_expires (expires_text, &expires_at))
    return MB_CTL_EXIT_USAGE;
  waiter.route = argv[1];

  proxy = mb_ctl_get_proxy (ctl, &error);
  if (proxy == NULL)
    return mb_ctl_report_error (error);
  if (config_path == NULL)
    config_path = g_strdup (mb_relay1_get_config_path (proxy));
  if (config_path == NULL || *config_path == '\0')
    return fail ("signin %s: the relay runs without a configuration file, so "
                 "it has no routes",
                 waiter.route);
  config = mb_relay_config_load_file (config_path, &error);
  if (config == NULL)
    return fail ("signin %s: %s", waiter.route, error->message);

  status = sign_in (&waiter, config, no_browser, secret_from_stdin, expires_at);
  if (status != MB_CTL_EXIT_OK)
    return status;

  /* The relay reads the secrets again; its answer is the route's state
   * once they are read. */
  if (!mb_relay1_call_reload_credentials_sync (
          proxy, waiter.route, G_DBUS_CALL_FLAGS_NONE, 120 * 1000, &state,
          &reason, NULL, &error))
    return mb_ctl_report_error (error);
  return print_result (ctl, waiter.route, state, reason,
                       g_strcmp0 (state, "ready") == 0
                           || g_strcmp0 (state, "failing") == 0);
}
