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
 *                       for a token (a secret may be given on stdin)
 * then asks the running relay to read the route's secrets again
 * (ReloadCredentials) and exits 0 once the route is ready, 1 with the
 * reason otherwise.
 *
 * The configuration is the file the relay runs with (its ConfigPath), or
 * --config FILE.  Tokens and secrets are never printed.  mailbridgectl may
 * block: the OAuth calls run on a main context iterated here.
 */
#define G_LOG_DOMAIN "mailbridgectl"

#include "mb-ctl.h"

#include <stdio.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "mb-control.h"
#include "mb-credentials.h"
#include "mb-oauth.h"
#include "mb-smtp-reply.h"

typedef struct
{
  MbCtl        *ctl;
  const char   *route;
  gboolean      done;
  GAsyncResult *result; /* (owned) (nullable) */
} Waiter;

static void
done_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  Waiter *waiter = user_data;

  waiter->result = g_object_ref (result);
  waiter->done = TRUE;
}

/* Iterates the main context until @waiter's operation completed; returns
 * its result (transfer full). */
static GAsyncResult *
wait_for (Waiter *waiter)
{
  while (!waiter->done)
    g_main_context_iteration (NULL, TRUE);
  waiter->done = FALSE;
  return g_steal_pointer (&waiter->result);
}

static void
device_prompt_cb (const MbOAuthDevicePrompt *prompt, gpointer user_data)
{
  Waiter *waiter = user_data;
  FILE   *out = waiter->ctl->json ? stderr : stdout;

  fprintf (out,
           "To sign in route %s, open %s in a browser (on any device) and "
           "enter the code %s.\n"
           "The code expires in %" G_GINT64_FORMAT
           " minutes.  Waiting for the sign-in...\n",
           waiter->route, prompt->verification_uri, prompt->user_code,
           (prompt->expires_in + 59) / 60);
  fflush (out);
}

static void
browser_uri_cb (const char *uri, gpointer user_data)
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

static gboolean
store_secret (Waiter        *waiter,
              MbCredentials *credentials,
              const char    *kind,
              const char    *secret,
              GError       **error)
{
  g_autoptr (GAsyncResult) result = NULL;

  mb_credentials_store_async (credentials, waiter->route, kind, secret, 0, NULL,
                              done_cb, waiter);
  result = wait_for (waiter);
  return mb_credentials_store_finish (credentials, result, error);
}

static char *
lookup_secret (Waiter        *waiter,
               MbCredentials *credentials,
               const char    *kind,
               GError       **error)
{
  g_autoptr (GAsyncResult) result = NULL;

  mb_credentials_lookup_async (credentials, waiter->route, kind, NULL, done_cb,
                               waiter);
  result = wait_for (waiter);
  return mb_credentials_lookup_finish (credentials, result, NULL, error);
}

/* The delegated flows: a token with a refresh token, stored. */
static int
sign_in_delegated (Waiter              *waiter,
                   const MbRouteConfig *route,
                   MbOAuthClient       *client,
                   MbCredentials       *credentials,
                   gboolean             no_browser)
{
  g_autoptr (GAsyncResult) result = NULL;
  g_autoptr (MbOAuthToken) token = NULL;
  g_autoptr (GError) error = NULL;

  if (route->auth == MB_ROUTE_AUTH_OAUTH_DEVICE)
    {
      mb_oauth_client_sign_in_device_async (client, NULL, device_prompt_cb,
                                            waiter, NULL, done_cb, waiter);
      result = wait_for (waiter);
      token = mb_oauth_client_sign_in_device_finish (client, result, &error);
    }
  else
    {
      gboolean display = g_getenv ("DISPLAY") != NULL
                         || g_getenv ("WAYLAND_DISPLAY") != NULL;

      mb_oauth_client_sign_in_browser_async (
          client, NULL,
          display && !no_browser ? MB_OAUTH_BROWSER_FLAGS_OPEN
                                 : MB_OAUTH_BROWSER_FLAGS_NONE,
          browser_uri_cb, waiter, NULL, done_cb, waiter);
      result = wait_for (waiter);
      token = mb_oauth_client_sign_in_browser_finish (client, result, &error);
    }
  if (token == NULL)
    return fail ("signin %s: %s", waiter->route, error->message);
  if (token->refresh_token == NULL)
    return fail ("signin %s: Microsoft Entra ID sent no refresh token (the "
                 "scope offline_access was not granted)",
                 waiter->route);
  if (!store_secret (waiter, credentials, MB_CREDENTIALS_KIND_REFRESH_TOKEN,
                     token->refresh_token, &error))
    return fail ("signin %s: the sign-in worked, but its refresh token cannot "
                 "be stored: %s",
                 waiter->route, error->message);
  return MB_CTL_EXIT_OK;
}

/* App-only: the stored secret (or one given now) or the certificate must
 * get a token. */
static int
sign_in_app (Waiter              *waiter,
             const MbRouteConfig *route,
             MbOAuthClient       *client,
             MbCredentials       *credentials,
             gboolean             secret_from_stdin)
{
  g_autoptr (MbOAuthAppCredential) credential = mb_oauth_app_credential_new ();
  g_autoptr (GAsyncResult) result = NULL;
  g_autoptr (MbOAuthToken) token = NULL;
  g_autoptr (GError) error = NULL;
  char    *entered = NULL;
  gboolean store_entered = FALSE;

  if (route->client_certificate != NULL)
    {
      credential->certificate_file = g_strdup (route->client_certificate);
      credential->key_file = g_strdup (route->client_key);
      credential->key_passphrase
          = lookup_secret (waiter, credentials,
                           MB_CREDENTIALS_KIND_CLIENT_KEY_PASSPHRASE, &error);
      if (error != NULL)
        return fail ("signin %s: %s", waiter->route, error->message);
    }
  else
    {
      if (!secret_from_stdin)
        credential->client_secret = lookup_secret (
            waiter, credentials, MB_CREDENTIALS_KIND_CLIENT_SECRET, &error);
      if (error != NULL)
        return fail ("signin %s: %s", waiter->route, error->message);
      if (credential->client_secret == NULL)
        {
          entered = read_secret (secret_from_stdin);
          if (entered == NULL)
            return fail ("signin %s: no client secret is stored for the route "
                         "and none was given (type it on a terminal, or pass "
                         "--client-secret-stdin)",
                         waiter->route);
          credential->client_secret = g_strdup (entered);
          store_entered = TRUE;
        }
    }

  mb_oauth_client_request_app_token_async (client, credential, NULL, done_cb,
                                           waiter);
  result = wait_for (waiter);
  token = mb_oauth_client_request_app_token_finish (client, result, &error);
  if (token == NULL)
    {
      mb_smtp_secret_free (entered);
      return fail ("signin %s: no token for the app: %s", waiter->route,
                   error->message);
    }
  if (store_entered
      && !store_secret (waiter, credentials, MB_CREDENTIALS_KIND_CLIENT_SECRET,
                        entered, &error))
    {
      mb_smtp_secret_free (entered);
      return fail ("signin %s: the client secret works, but it cannot be "
                   "stored: %s",
                   waiter->route, error->message);
    }
  mb_smtp_secret_free (entered);
  return MB_CTL_EXIT_OK;
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

int
mb_ctl_signin (MbCtl *ctl, int argc, char **argv)
{
  g_autofree char   *config_path = NULL;
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
          { NULL } };
  g_autoptr (GError) error = NULL;
  g_autoptr (MbRelayConfig) config = NULL;
  g_autoptr (MbCredentials) credentials = NULL;
  g_autoptr (MbOAuthClient) client = NULL;
  g_autofree char     *state = NULL;
  g_autofree char     *reason = NULL;
  const MbRouteConfig *route;
  MbRelay1            *proxy;
  Waiter               waiter = { ctl, NULL, FALSE, NULL };
  int                  status;

  if (!mb_ctl_parse_options ("signin ROUTE", entries, &argc, &argv))
    return MB_CTL_EXIT_USAGE;
  if (argc != 2)
    return mb_ctl_usage_error ("usage: mailbridgectl signin [--config FILE] "
                               "[--no-browser] [--client-secret-stdin] "
                               "ROUTE");
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
  route = mb_relay_config_lookup_route (config, waiter.route);
  if (route == NULL)
    return fail ("signin %s: %s has no [route %s]", waiter.route, config_path,
                 waiter.route);
  if (route->auth != MB_ROUTE_AUTH_OAUTH_DEVICE
      && route->auth != MB_ROUTE_AUTH_OAUTH_BROWSER
      && route->auth != MB_ROUTE_AUTH_OAUTH_APP)
    return fail ("signin %s: the route signs in with auth=%s; signin is for "
                 "auth=oauth-device, oauth-browser and oauth-app",
                 waiter.route, mb_route_auth_to_string (route->auth));

  credentials = mb_credentials_new_for_config (config, &error);
  if (credentials == NULL)
    return fail ("signin %s: %s", waiter.route, error->message);
  client = mb_oauth_client_new_for_route (route, &error);
  if (client == NULL)
    return fail ("signin %s: %s", waiter.route, error->message);

  if (route->auth == MB_ROUTE_AUTH_OAUTH_APP)
    status
        = sign_in_app (&waiter, route, client, credentials, secret_from_stdin);
  else
    status
        = sign_in_delegated (&waiter, route, client, credentials, no_browser);
  if (status != MB_CTL_EXIT_OK)
    return status;

  /* A static access-token would win over the new sign-in in the relay. */
  {
    g_autoptr (GAsyncResult) result = NULL;

    mb_credentials_clear_async (credentials, waiter.route,
                                MB_CREDENTIALS_KIND_ACCESS_TOKEN, NULL, done_cb,
                                &waiter);
    result = wait_for (&waiter);
    if (!mb_credentials_clear_finish (credentials, result, &error))
      return fail ("signin %s: the old access-token cannot be removed: %s",
                   waiter.route, error->message);
  }

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
