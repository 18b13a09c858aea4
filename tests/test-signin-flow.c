/* test-signin-flow.c - MbSigninFlow against the fake Entra ID
 *
 * tests/fakes/fake_entra.py runs as a subprocess for the whole binary
 * (HTTPS on 127.0.0.1, a free port, the test PKI); each test uses its own
 * client IDs, scripted in FAKE_SCRIPT below.  Every test writes a
 * configuration with one [route m365] and a 0600 secrets file in a fresh
 * directory, runs the flow on the main context and reads what it stored
 * back from the file (a new MbCredentialsFile).  Tests iterate the main
 * context until the flow's callback ran; they never sleep.
 *
 * Not covered: MB_SIGNIN_FLOW_ERROR_NO_REFRESH_TOKEN (the flow always asks
 * for offline_access, and the fake always grants it), and a cancel that
 * arrives between the token and the store (no hook to time it).
 */
#include "mb-credentials-file.h"
#include "mb-oauth.h"
#include "mb-signin-flow.h"
#include "mb-smtp-reply.h"
#include "mb-test-util.h"

#include <glib/gstdio.h>
#include <gnutls/gnutls.h>
#include <string.h>

#define APP_SECRET "flow-s3cret"
#define APP_KEY_PASSPHRASE "mailbridge-test"
#define ROUTE "m365"

static const char FAKE_SCRIPT[]
    = "{"
      "\"clients\": {"
      "  \"flow-device\": {\"public\": true},"
      "  \"flow-declined\": {\"public\": true},"
      "  \"flow-cancel\": {\"public\": true, \"interval\": 1},"
      "  \"flow-store\": {\"public\": true},"
      "  \"flow-app\": {\"secret\": \"" APP_SECRET "\"},"
      "  \"flow-app-none\": {\"secret\": \"" APP_SECRET "\"},"
      "  \"flow-cert\": {\"certificate\": \"app\"},"
      "  \"flow-browser\": {\"public\": true},"
      "  \"flow-browser-denied\": {\"public\": true,"
      "                           \"authorize_outcome\": \"access_denied\"}"
      "},"
      "\"device_scripts\": {"
      "  \"flow-device\": [\"authorization_pending\", \"ok\"],"
      "  \"flow-declined\": [\"authorization_pending\","
      "                     \"authorization_declined\"],"
      "  \"flow-cancel\": [\"authorization_pending\"],"
      "  \"flow-store\": [\"ok\"]"
      "},"
      "\"interval\": 0"
      "}";

/* A secrets file whose route still has a static access-token, which a
 * successful sign-in removes. */
#define STALE_SECRETS "[route " ROUTE "]\naccess-token=stale-token\n"

static MbTestFakeEntra *fake;             /* (nullable) */
static char            *fake_skip_reason; /* (nullable) */

typedef struct
{
  char *dir;
  char *secrets; /* the 0600 secrets file */
} Fixture;

/* What one run saw. */
typedef struct
{
  GAsyncResult *result;
  gboolean      signal_before_result;
  guint         device_codes;
  char         *user_code;
  char         *verification_uri;
  gint64        expires_in;
  guint         browser_uris;
  char         *browser_uri;
  GCancellable *cancel_on_signal; /* (unowned) (nullable) */
} Run;

/* Helpers */

static void
run_clear (Run *run)
{
  g_clear_object (&run->result);
  g_free (run->user_code);
  g_free (run->verification_uri);
  g_free (run->browser_uri);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (Run, run_clear)

static gboolean
need_fake (void)
{
  if (fake == NULL)
    g_test_skip (fake_skip_reason);
  return fake != NULL;
}

static void
write_secrets (Fixture *f, const char *text)
{
  g_autoptr (GError) error = NULL;

  /* CONSISTENT: replaced, not written over (a shorter text would leave
   * the longer one's tail). */
  g_assert_true (g_file_set_contents_full (
      f->secrets, text, -1, G_FILE_SET_CONTENTS_CONSISTENT, 0600, &error));
  g_assert_no_error (error);
  g_assert_cmpint (g_chmod (f->secrets, 0600), ==, 0);
}

static char *
read_secrets_text (Fixture *f)
{
  g_autoptr (GError) error = NULL;
  char *text = NULL;

  g_assert_true (g_file_get_contents (f->secrets, &text, NULL, &error));
  g_assert_no_error (error);
  return text;
}

/* The secret of @kind for the route, as the relay would read it now. */
static char *
stored (Fixture *f, const char *kind)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (MbCredentialsFile) file
      = mb_credentials_file_new (f->secrets, &error);

  g_assert_no_error (error);
  return mb_credentials_file_lookup (file, ROUTE, kind);
}

static void
assert_stored (Fixture *f, const char *kind, const char *expected)
{
  char *secret = stored (f, kind);

  g_assert_cmpstr (secret, ==, expected);
  mb_smtp_secret_free (secret);
}

/* The secrets file is still, byte for byte, @before. */
static void
assert_secrets_unchanged (Fixture *f, const char *before)
{
  g_autofree char *after = read_secrets_text (f);

  g_assert_cmpstr (after, ==, before);
}

static char *
app_file (const char *name)
{
  return g_build_filename (fake->app_dir, name, NULL);
}

/* A configuration with one [route m365] against the fake: @keys add the
 * auth, client-id and anything else. */
static MbRelayConfig *
new_config (Fixture *f, const char *keys)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *spool = g_build_filename (f->dir, "spool", NULL);
  g_autofree char *text = g_strdup_printf ("[relay]\n"
                                           "spool=%s\n"
                                           "secrets=%s\n"
                                           "\n"
                                           "[route " ROUTE "]\n"
                                           "method=submission\n"
                                           "mailbox=scanner@contoso.com\n"
                                           "tenant=contoso.com\n"
                                           "authority=%s\n"
                                           "trust=%s\n"
                                           "%s",
                                           spool, f->secrets, fake->authority,
                                           fake->ca_file, keys);
  g_autofree char *path = g_build_filename (f->dir, "mailbridge.conf", NULL);
  MbRelayConfig   *config;

  /* The flow names the file in its messages. */
  g_assert_true (g_file_set_contents (path, text, -1, &error));
  g_assert_no_error (error);
  config = mb_relay_config_load_file (path, &error);
  g_assert_no_error (error);
  return config;
}

static MbSigninFlow *
new_flow (Fixture *f, const char *keys)
{
  g_autoptr (MbRelayConfig) config = new_config (f, keys);
  g_autoptr (GError) error = NULL;
  MbSigninFlow *flow = mb_signin_flow_new (config, ROUTE, &error);

  g_assert_no_error (error);
  g_assert_nonnull (flow);
  g_assert_cmpstr (mb_signin_flow_get_route (flow), ==, ROUTE);
  return flow;
}

static void
on_flow_device_code_cb (MbSigninFlow *flow,
                        const char   *user_code,
                        const char   *verification_uri,
                        gint64        expires_in,
                        gpointer      user_data)
{
  Run *run = user_data;

  run->device_codes++;
  run->signal_before_result = run->result == NULL;
  g_free (run->user_code);
  run->user_code = g_strdup (user_code);
  g_free (run->verification_uri);
  run->verification_uri = g_strdup (verification_uri);
  run->expires_in = expires_in;
  if (run->cancel_on_signal != NULL)
    g_cancellable_cancel (run->cancel_on_signal);
}

static void
on_flow_browser_uri_cb (MbSigninFlow *flow, const char *uri, gpointer user_data)
{
  Run *run = user_data;

  run->browser_uris++;
  run->signal_before_result = run->result == NULL;
  g_free (run->browser_uri);
  run->browser_uri = g_strdup (uri);
  if (run->cancel_on_signal != NULL)
    g_cancellable_cancel (run->cancel_on_signal);
}

/* Starts @flow, recording its signals in @run; wait with finish_flow(). */
static void
start_flow (MbSigninFlow *flow, GCancellable *cancellable, Run *run)
{
  g_signal_connect (flow, "device-code", G_CALLBACK (on_flow_device_code_cb),
                    run);
  g_signal_connect (flow, "browser-uri", G_CALLBACK (on_flow_browser_uri_cb),
                    run);
  mb_signin_flow_run_async (flow, cancellable, mb_test_store_result_cb,
                            &run->result);
  /* Completion always goes through the main loop. */
  g_assert_null (run->result);
}

static gboolean
finish_flow (MbSigninFlow *flow, Run *run, GError **error)
{
  mb_test_wait_for_result (&run->result);
  return mb_signin_flow_run_finish (flow, run->result, error);
}

static gboolean
run_flow (MbSigninFlow *flow,
          GCancellable *cancellable,
          Run          *run,
          GError      **error)
{
  start_flow (flow, cancellable, run);
  return finish_flow (flow, run, error);
}

/* Plays the browser: the authorize address redirects to the flow's
 * loopback listener, which gets the redirect. */
static void
play_browser (const char *authorize_uri)
{
  g_autofree char *location = NULL;
  g_autoptr (GBytes) authorize_page = NULL;
  g_autoptr (GBytes) redirect_page = NULL;
  guint status = 0;

  authorize_page
      = mb_test_fake_entra_get (fake, authorize_uri, &status, &location);
  g_assert_cmpuint (status, ==, 302);
  g_assert_true (g_str_has_prefix (location, "http://127.0.0.1:"));
  redirect_page = mb_test_fake_entra_get (fake, location, &status, NULL);
  g_assert_cmpuint (status, ==, 200);
}

/* Whether @refresh_token is one the fake issued and still honours. */
static gboolean
refresh_works (const char *client_id, const char *refresh_token)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (MbOAuthClient) client = mb_oauth_client_new (
      fake->authority, "contoso.com", client_id, fake->ca_file, &error);
  g_autoptr (GAsyncResult) result = NULL;
  g_autoptr (MbOAuthToken) token = NULL;

  g_assert_no_error (error);
  mb_oauth_client_refresh_async (client, refresh_token, NULL, NULL,
                                 mb_test_store_result_cb, &result);
  mb_test_wait_for_result (&result);
  token = mb_oauth_client_refresh_finish (client, result, &error);
  return token != NULL;
}

/* What a completed delegated sign-in leaves: a refresh token that Entra
 * honours for @client_id, and no static access-token. */
static void
assert_refresh_token_stored (Fixture *f, const char *client_id)
{
  char *refresh_token = stored (f, "refresh-token");

  g_assert_nonnull (refresh_token);
  assert_stored (f, "access-token", NULL);
  g_assert_true (refresh_works (client_id, refresh_token));
  mb_smtp_secret_free (refresh_token);
}

/* How many client_credentials grants the fake answered for @client_id. */
static guint
count_app_grants (const char *client_id)
{
  return mb_test_fake_entra_count_grants (fake, client_id, "client_credentials",
                                          NULL);
}

static void
fixture_set_up (Fixture *f, gconstpointer data)
{
  f->dir = mb_test_make_tmpdir ("signin-flow");
  f->secrets = g_build_filename (f->dir, "secrets", NULL);
  write_secrets (f, "# the routes' secrets\n");
}

static void
fixture_tear_down (Fixture *f, gconstpointer data)
{
  mb_test_remove_tree (f->dir);
  g_free (f->dir);
  g_free (f->secrets);
}

/* Device code */

/* The device flow announces the code once, before it completes, stores
 * the refresh token Entra issued (it renews), and clears a stale static
 * access-token. */
static void
test_device_stores (Fixture *f, gconstpointer data)
{
  g_autoptr (MbSigninFlow) flow = NULL;
  g_auto (Run) run = { 0 };
  g_autoptr (GError) error = NULL;

  if (!need_fake ())
    return;
  write_secrets (f, STALE_SECRETS);
  flow = new_flow (f, "auth=oauth-device\nclient-id=flow-device\n");
  g_assert_cmpint (mb_signin_flow_get_auth (flow), ==,
                   MB_ROUTE_AUTH_OAUTH_DEVICE);
  g_assert_false (mb_signin_flow_uses_client_secret (flow));

  g_assert_true (run_flow (flow, NULL, &run, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (run.device_codes, ==, 1);
  g_assert_true (run.signal_before_result);
  g_assert_cmpuint (strlen (run.user_code), >, 0);
  g_assert_cmpstr (run.verification_uri, ==,
                   "https://microsoft.com/devicelogin");
  g_assert_cmpint (run.expires_in, ==, 900);
  g_assert_cmpuint (run.browser_uris, ==, 0);
  assert_refresh_token_stored (f, "flow-device");
}

/* A declined device sign-in keeps Entra's error and stores nothing, not
 * even the removal of the old access-token. */
static void
test_device_declined (Fixture *f, gconstpointer data)
{
  g_autoptr (MbSigninFlow) flow = NULL;
  g_auto (Run) run = { 0 };
  g_autoptr (GError) error = NULL;
  g_autofree char *before = NULL;

  if (!need_fake ())
    return;
  write_secrets (f, STALE_SECRETS);
  before = read_secrets_text (f);
  flow = new_flow (f, "auth=oauth-device\nclient-id=flow-declined\n");
  g_assert_false (run_flow (flow, NULL, &run, &error));
  g_assert_error (error, MB_OAUTH_ERROR, MB_OAUTH_ERROR_DECLINED);
  g_assert_cmpuint (run.device_codes, ==, 1);
  assert_secrets_unchanged (f, before);
}

/* A secrets file that cannot be written (here: its mode changed to 0640
 * while the admin signed in) is STORE_FAILED with the file's reason. */
static void
test_device_store_failed (Fixture *f, gconstpointer data)
{
  g_autoptr (MbSigninFlow) flow = NULL;
  g_auto (Run) run = { 0 };
  g_autoptr (GError) error = NULL;

  if (!need_fake ())
    return;
  flow = new_flow (f, "auth=oauth-device\nclient-id=flow-store\n");
  start_flow (flow, NULL, &run);
  g_assert_cmpint (g_chmod (f->secrets, 0640), ==, 0);
  g_assert_false (finish_flow (flow, &run, &error));
  g_assert_error (error, MB_SIGNIN_FLOW_ERROR,
                  MB_SIGNIN_FLOW_ERROR_STORE_FAILED);
  g_test_message ("%s", error->message);
  g_assert_nonnull (strstr (error->message, f->secrets));
  g_assert_cmpint (g_chmod (f->secrets, 0600), ==, 0);
  assert_stored (f, "refresh-token", NULL);
}

/* Browser */

/* The browser flow announces the authorize address from within
 * run_async (the listener runs by then), and a completed redirect stores
 * the refresh token. */
static void
test_browser_stores (Fixture *f, gconstpointer data)
{
  g_autoptr (MbSigninFlow) flow = NULL;
  g_auto (Run) run = { 0 };
  g_autoptr (GError) error = NULL;

  if (!need_fake ())
    return;
  write_secrets (f, STALE_SECRETS);
  flow = new_flow (f, "auth=oauth-browser\nclient-id=flow-browser\n");
  g_assert_cmpint (mb_signin_flow_get_auth (flow), ==,
                   MB_ROUTE_AUTH_OAUTH_BROWSER);
  start_flow (flow, NULL, &run);
  g_assert_cmpuint (run.browser_uris, ==, 1);
  g_assert_true (g_str_has_prefix (run.browser_uri, fake->authority));
  g_assert_nonnull (strstr (run.browser_uri, "client_id=flow-browser"));

  play_browser (run.browser_uri);
  g_assert_true (finish_flow (flow, &run, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (run.device_codes, ==, 0);
  assert_refresh_token_stored (f, "flow-browser");
}

/* Consent denied in the browser is DECLINED; nothing is stored. */
static void
test_browser_denied (Fixture *f, gconstpointer data)
{
  g_autoptr (MbSigninFlow) flow = NULL;
  g_auto (Run) run = { 0 };
  g_autoptr (GError) error = NULL;
  g_autofree char *before = NULL;

  if (!need_fake ())
    return;
  before = read_secrets_text (f);
  flow = new_flow (f, "auth=oauth-browser\nclient-id=flow-browser-denied\n");
  start_flow (flow, NULL, &run);
  g_assert_cmpuint (run.browser_uris, ==, 1);
  play_browser (run.browser_uri);
  g_assert_false (finish_flow (flow, &run, &error));
  g_assert_error (error, MB_OAUTH_ERROR, MB_OAUTH_ERROR_DECLINED);
  assert_secrets_unchanged (f, before);
}

/* App-only */

/* A client secret given to the flow is stored once Entra accepted it;
 * the stale access-token goes. */
static void
test_app_given_secret (Fixture *f, gconstpointer data)
{
  g_autoptr (MbSigninFlow) flow = NULL;
  g_auto (Run) run = { 0 };
  g_autoptr (GError) error = NULL;

  if (!need_fake ())
    return;
  write_secrets (f, STALE_SECRETS);
  flow = new_flow (f, "auth=oauth-app\nclient-id=flow-app\n");
  g_assert_cmpint (mb_signin_flow_get_auth (flow), ==, MB_ROUTE_AUTH_OAUTH_APP);
  g_assert_true (mb_signin_flow_uses_client_secret (flow));
  mb_signin_flow_set_client_secret (flow, APP_SECRET);
  g_assert_true (run_flow (flow, NULL, &run, &error));
  g_assert_no_error (error);
  assert_stored (f, "client-secret", APP_SECRET);
  assert_stored (f, "access-token", NULL);
  g_assert_cmpuint (run.device_codes + run.browser_uris, ==, 0);
}

/* A wrong new client secret keeps Entra's refusal and is not stored: the
 * old secret stays. */
static void
test_app_wrong_secret (Fixture *f, gconstpointer data)
{
  g_autoptr (MbSigninFlow) flow = NULL;
  g_auto (Run) run = { 0 };
  g_autoptr (GError) error = NULL;

  if (!need_fake ())
    return;
  write_secrets (f, "[route " ROUTE "]\nclient-secret=old-secret\n");
  flow = new_flow (f, "auth=oauth-app\nclient-id=flow-app\n");
  mb_signin_flow_set_client_secret (flow, "wrong-secret");
  g_assert_false (run_flow (flow, NULL, &run, &error));
  g_assert_error (error, MB_OAUTH_ERROR, MB_OAUTH_ERROR_INVALID_CLIENT);
  g_assert_nonnull (strstr (error->message, "AADSTS7000215"));
  assert_stored (f, "client-secret", "old-secret");
}

/* The stored client secret is checked and left as it is. */
static void
test_app_stored_secret (Fixture *f, gconstpointer data)
{
  g_autoptr (MbSigninFlow) flow = NULL;
  g_auto (Run) run = { 0 };
  g_autoptr (GError) error = NULL;
  guint grants;

  if (!need_fake ())
    return;
  write_secrets (f, "[route " ROUTE "]\nclient-secret=" APP_SECRET "\n"
                    "access-token=stale-token\n");
  grants = count_app_grants ("flow-app");
  flow = new_flow (f, "auth=oauth-app\nclient-id=flow-app\n");
  g_assert_true (run_flow (flow, NULL, &run, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (count_app_grants ("flow-app"), ==, grants + 1);
  assert_stored (f, "client-secret", APP_SECRET);
  assert_stored (f, "access-token", NULL);
}

/* The expiry of the route's client secret, as the relay would read it
 * now (0: none). */
static gint64
stored_expiry (Fixture *f)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (MbCredentialsFile) file
      = mb_credentials_file_new (f->secrets, &error);
  g_autoptr (GAsyncResult) result = NULL;
  gint64 expires_at = -1;

  g_assert_no_error (error);
  mb_credentials_lookup_expiry_async (MB_CREDENTIALS (file), ROUTE,
                                      MB_CREDENTIALS_KIND_CLIENT_SECRET, NULL,
                                      mb_test_store_result_cb, &result);
  mb_test_wait_for_result (&result);
  g_assert_true (mb_credentials_lookup_expiry_finish (
      MB_CREDENTIALS (file), result, &expires_at, &error));
  g_assert_no_error (error);
  return expires_at;
}

/* 2027-03-01T00:00:00Z and 2028-12-15T00:00:00Z */
#define OLD_EXPIRY G_GINT64_CONSTANT (1803859200)
#define NEW_EXPIRY G_GINT64_CONSTANT (1860451200)
#define OLD_SECRETS                                                            \
  "[route " ROUTE "]\nclient-secret=old-secret\n"                              \
  "client-secret-expires=2027-03-01\n"

typedef struct
{
  const char *name;
  const char *new_secret; /* (nullable) given to the flow */
  gint64      expiry;     /* given to the flow */
  gboolean    works;
  const char *secret_after;
  gint64      expiry_after;
} ExpiryCase;

static const ExpiryCase expiry_cases[] = {
  { "new secret, new date", APP_SECRET, NEW_EXPIRY, TRUE, APP_SECRET,
    NEW_EXPIRY },
  /* The old date belonged to the old secret. */
  { "new secret, no date", APP_SECRET, 0, TRUE, APP_SECRET, 0 },
  /* Without a new secret the date is not the stored one's to change. */
  { "stored secret, date ignored", NULL, NEW_EXPIRY, TRUE, APP_SECRET,
    OLD_EXPIRY },
  { "wrong secret, nothing stored", "wrong-secret", NEW_EXPIRY, FALSE,
    "old-secret", OLD_EXPIRY },
};

/* The expiry given with a new client secret is stored beside it (read
 * back from the secrets file); without one the old date goes with the
 * old secret; with no new secret, or a refused one, nothing changes. */
static void
test_app_secret_expiry (Fixture *f, gconstpointer data)
{
  if (!need_fake ())
    return;
  for (gsize i = 0; i < G_N_ELEMENTS (expiry_cases); i++)
    {
      const ExpiryCase *c = &expiry_cases[i];
      g_autoptr (MbSigninFlow) flow = NULL;
      g_auto (Run) run = { 0 };
      g_autoptr (GError) error = NULL;

      g_test_message ("case: %s", c->name);
      /* The stored secret works in the "stored secret" case. */
      write_secrets (f, c->new_secret == NULL
                            ? "[route " ROUTE "]\nclient-secret=" APP_SECRET
                              "\nclient-secret-expires=2027-03-01\n"
                            : OLD_SECRETS);
      flow = new_flow (f, "auth=oauth-app\nclient-id=flow-app\n");
      mb_signin_flow_set_client_secret (flow, c->new_secret);
      mb_signin_flow_set_client_secret_expiry (flow, c->expiry);
      g_assert_cmpint (run_flow (flow, NULL, &run, &error), ==, c->works);
      if (c->works)
        g_assert_no_error (error);
      else
        g_assert_error (error, MB_OAUTH_ERROR, MB_OAUTH_ERROR_INVALID_CLIENT);
      assert_stored (f, "client-secret", c->secret_after);
      g_assert_cmpint (stored_expiry (f), ==, c->expiry_after);
    }
}

/* Without a stored or given secret the flow asks for one (NEEDS_SECRET)
 * before it asks Entra anything; with it, a new flow succeeds. */
static void
test_app_needs_secret (Fixture *f, gconstpointer data)
{
  g_autoptr (MbSigninFlow) flow = NULL;
  g_auto (Run) run = { 0 };
  g_auto (Run) again = { 0 };
  g_autoptr (GError) error = NULL;

  if (!need_fake ())
    return;
  flow = new_flow (f, "auth=oauth-app\nclient-id=flow-app-none\n");
  g_assert_false (run_flow (flow, NULL, &run, &error));
  g_assert_error (error, MB_SIGNIN_FLOW_ERROR,
                  MB_SIGNIN_FLOW_ERROR_NEEDS_SECRET);
  g_assert_cmpuint (count_app_grants ("flow-app-none"), ==, 0);
  assert_stored (f, "client-secret", NULL);
  g_clear_error (&error);
  g_clear_object (&flow);

  flow = new_flow (f, "auth=oauth-app\nclient-id=flow-app-none\n");
  mb_signin_flow_set_client_secret (flow, APP_SECRET);
  g_assert_true (run_flow (flow, NULL, &again, &error));
  g_assert_no_error (error);
  assert_stored (f, "client-secret", APP_SECRET);
}

typedef struct
{
  const char *key;        /* in the app dir */
  const char *passphrase; /* (nullable) stored client-key-passphrase */
} CertCase;

static const CertCase cert_cases[] = {
  { "app.key", NULL },
  { "app-enc.key", APP_KEY_PASSPHRASE },
};

/* A certificate route signs in with the certificate (and the stored
 * passphrase of an encrypted key), not with a secret. */
static void
test_app_certificate (Fixture *f, gconstpointer data)
{
  if (!need_fake ())
    return;
  for (gsize i = 0; i < G_N_ELEMENTS (cert_cases); i++)
    {
      const CertCase *c = &cert_cases[i];
      g_autoptr (MbSigninFlow) flow = NULL;
      g_auto (Run) run = { 0 };
      g_autoptr (GError) error = NULL;
      g_autofree char *certificate = app_file ("app.crt");
      g_autofree char *key = app_file (c->key);
      g_autofree char *keys = g_strdup_printf ("auth=oauth-app\n"
                                               "client-id=flow-cert\n"
                                               "client-certificate=%s\n"
                                               "client-key=%s\n",
                                               certificate, key);
      g_autofree char *secrets = g_strdup_printf (
          STALE_SECRETS "%s%s\n",
          c->passphrase != NULL ? "client-key-passphrase=" : "",
          c->passphrase != NULL ? c->passphrase : "");

      g_test_message ("key %s", c->key);
      write_secrets (f, secrets);
      flow = new_flow (f, keys);
      g_assert_false (mb_signin_flow_uses_client_secret (flow));
      g_assert_true (run_flow (flow, NULL, &run, &error));
      g_assert_no_error (error);
      assert_stored (f, "access-token", NULL);
      assert_stored (f, "client-secret", NULL);
      assert_stored (f, "client-key-passphrase", c->passphrase);
    }
}

/* Not applicable */

typedef struct
{
  const char *keys;  /* of [route m365] */
  const char *route; /* the one asked for */
  const char *text;  /* in the message */
} NotApplicableCase;

static const NotApplicableCase not_applicable_cases[] = {
  { "auth=basic\n", ROUTE, "auth=basic" },
  { "auth=oauth-device\nclient-id=flow-device\n", "other", "[route other]" },
};

/* auth=basic and an unknown route are NOT_APPLICABLE, named in the
 * message. */
static void
test_not_applicable (Fixture *f, gconstpointer data)
{
  if (!need_fake ())
    return;
  for (gsize i = 0; i < G_N_ELEMENTS (not_applicable_cases); i++)
    {
      const NotApplicableCase *c = &not_applicable_cases[i];
      g_autoptr (MbRelayConfig) config = new_config (f, c->keys);
      g_autoptr (MbSigninFlow) flow = NULL;
      g_autoptr (GError) error = NULL;

      flow = mb_signin_flow_new (config, c->route, &error);
      g_assert_null (flow);
      g_assert_error (error, MB_SIGNIN_FLOW_ERROR,
                      MB_SIGNIN_FLOW_ERROR_NOT_APPLICABLE);
      g_test_message ("%s", error->message);
      g_assert_nonnull (strstr (error->message, c->text));
    }
}

/* Cancellation */

typedef struct
{
  const char *keys;
  gboolean    cancel_on_signal; /* else right after run_async */
} CancelCase;

static const CancelCase cancel_cases[] = {
  { "auth=oauth-device\nclient-id=flow-cancel\n", TRUE },
  { "auth=oauth-browser\nclient-id=flow-browser\n", TRUE },
  { "auth=oauth-app\nclient-id=flow-app\n", FALSE },
};

/* Cancelling while the admin signs in (device, browser) or while the
 * secret is checked (app, with a good new secret) ends the flow with
 * CANCELLED and leaves the secrets file untouched. */
static void
test_cancel (Fixture *f, gconstpointer data)
{
  if (!need_fake ())
    return;
  for (gsize i = 0; i < G_N_ELEMENTS (cancel_cases); i++)
    {
      const CancelCase *c = &cancel_cases[i];
      g_autoptr (GCancellable) cancellable = g_cancellable_new ();
      g_autoptr (MbSigninFlow) flow = NULL;
      g_auto (Run) run = { 0 };
      g_autoptr (GError) error = NULL;
      g_autofree char *before = NULL;

      g_test_message ("%s", c->keys);
      write_secrets (f, STALE_SECRETS);
      before = read_secrets_text (f);
      flow = new_flow (f, c->keys);
      mb_signin_flow_set_client_secret (flow, APP_SECRET);
      if (c->cancel_on_signal)
        run.cancel_on_signal = cancellable;
      start_flow (flow, cancellable, &run);
      if (!c->cancel_on_signal)
        g_cancellable_cancel (cancellable);
      g_assert_false (finish_flow (flow, &run, &error));
      g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
      if (c->cancel_on_signal)
        g_assert_cmpuint (run.device_codes + run.browser_uris, ==, 1);
      assert_secrets_unchanged (f, before);
    }
}

#define ADD(path, func)                                                        \
  g_test_add (path, Fixture, NULL, fixture_set_up, func, fixture_tear_down)

int
main (int argc, char **argv)
{
  int status;

  g_test_init (&argc, &argv, NULL);
  gnutls_global_init ();
  fake = mb_test_fake_entra_start (FAKE_SCRIPT, &fake_skip_reason);

  ADD ("/relay/signin-flow/device/stores", test_device_stores);
  ADD ("/relay/signin-flow/device/declined", test_device_declined);
  ADD ("/relay/signin-flow/device/store-failed", test_device_store_failed);
  ADD ("/relay/signin-flow/browser/stores", test_browser_stores);
  ADD ("/relay/signin-flow/browser/denied", test_browser_denied);
  ADD ("/relay/signin-flow/app/given-secret", test_app_given_secret);
  ADD ("/relay/signin-flow/app/wrong-secret", test_app_wrong_secret);
  ADD ("/relay/signin-flow/app/stored-secret", test_app_stored_secret);
  ADD ("/relay/signin-flow/app/secret-expiry", test_app_secret_expiry);
  ADD ("/relay/signin-flow/app/needs-secret", test_app_needs_secret);
  ADD ("/relay/signin-flow/app/certificate", test_app_certificate);
  ADD ("/relay/signin-flow/not-applicable", test_not_applicable);
  ADD ("/relay/signin-flow/cancel", test_cancel);

  status = g_test_run ();
  mb_test_fake_entra_stop (fake);
  g_free (fake_skip_reason);
  gnutls_global_deinit ();
  return status;
}
