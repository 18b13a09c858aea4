/* test-oauth.c - the OAuth client against the fake Entra ID
 *
 * tests/fakes/fake_entra.py runs as a subprocess for the whole binary
 * (HTTPS on 127.0.0.1, a free port, the test PKI); each test uses its own
 * client IDs, whose scripts and options are in FAKE_SCRIPT below, and reads
 * the fake's state (grants, polls, interval violations) from its
 * GET /_fake/state.  Tests iterate the main context until the operation's
 * callback ran; they never sleep.  Polling intervals are 0 s except where
 * a test checks the interval itself (1 s).
 */
#include "mb-oauth.h"
#include "mb-smtp-reply.h"
#include "mb-test-util.h"

#include <gnutls/abstract.h>
#include <gnutls/gnutls.h>
#include <json-glib/json-glib.h>
#include <string.h>

#define APP_SECRET "s3cret-value"
#define APP_KEY_PASSPHRASE "mailbridge-test"

/* Every client the tests use, with its device script and overrides. */
static const char FAKE_SCRIPT[]
    = "{"
      "\"clients\": {"
      "  \"dev-slow\": {\"public\": true},"
      "  \"dev-interval\": {\"public\": true, \"interval\": 1},"
      "  \"dev-declined\": {\"public\": true},"
      "  \"dev-expired\": {\"public\": true},"
      "  \"dev-bad-code\": {\"public\": true},"
      "  \"dev-confidential\": {\"public\": false, \"secret\": \"x\"},"
      "  \"dev-ca\": {\"public\": true},"
      "  \"dev-mfa\": {\"public\": true},"
      "  \"dev-short\": {\"public\": true, \"interval\": 1,"
      "                  \"expires_in\": 2},"
      "  \"dev-cancel\": {\"public\": true, \"interval\": 1},"
      "  \"dev-busy\": {\"public\": true},"
      "  \"refresh\": {\"public\": true},"
      "  \"source\": {\"public\": true},"
      "  \"app-secret\": {\"secret\": \"" APP_SECRET "\","
      "                   \"access_token_lifetime\": 600},"
      "  \"app-cert\": {\"certificate\": \"app\"},"
      "  \"browser\": {\"public\": true},"
      "  \"browser-denied\": {\"public\": true,"
      "                       \"authorize_outcome\": \"access_denied\"},"
      "  \"tls\": {\"public\": true}"
      "},"
      "\"device_scripts\": {"
      "  \"dev-slow\": [\"authorization_pending\", \"slow_down\","
      "                \"authorization_pending\", \"ok\"],"
      "  \"dev-interval\": [\"authorization_pending\", \"ok\"],"
      "  \"dev-declined\": [\"authorization_pending\","
      "                    \"authorization_declined\"],"
      "  \"dev-expired\": [\"authorization_pending\", \"expired_token\"],"
      "  \"dev-bad-code\": [\"bad_verification_code\"],"
      "  \"dev-ca\": [\"authorization_pending\", \"ca_blocked\"],"
      "  \"dev-mfa\": [\"mfa_required\"],"
      "  \"dev-short\": [\"authorization_pending\"],"
      "  \"dev-cancel\": [\"authorization_pending\"],"
      "  \"dev-busy\": [\"authorization_pending\", \"server_error\","
      "                \"ok\"]"
      "},"
      "\"refresh_tokens\": {"
      "  \"rt-revoked\": {\"client_id\": \"refresh\","
      "                  \"revoked\": \"refresh_revoked\"},"
      "  \"rt-inactive\": {\"client_id\": \"refresh\","
      "                   \"revoked\": \"refresh_inactive\"},"
      "  \"rt-source\": {\"client_id\": \"source\"},"
      "  \"rt-source-revoked\": {\"client_id\": \"source\","
      "                         \"revoked\": \"refresh_revoked\"}"
      "},"
      "\"interval\": 0,"
      "\"slow_down_step\": 0.2"
      "}";

static MbTestFakeEntra *fake;             /* (nullable) */
static char            *fake_skip_reason; /* (nullable) */

typedef struct
{
  GAsyncResult *result;
  guint         prompts;
  char         *user_code;
  char         *verification_uri;
  char         *message;
  guint         interval;
  char         *authorize_uri;
  GCancellable *cancel_on_prompt; /* (unowned) (nullable) */
} Flow;

/* Helpers */

static void
flow_clear (Flow *flow)
{
  g_clear_object (&flow->result);
  g_free (flow->user_code);
  g_free (flow->verification_uri);
  g_free (flow->message);
  g_free (flow->authorize_uri);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (Flow, flow_clear)

static gboolean
need_fake (void)
{
  if (fake == NULL)
    g_test_skip (fake_skip_reason);
  return fake != NULL;
}

static MbOAuthClient *
new_client (const char *client_id)
{
  g_autoptr (GError) error = NULL;
  MbOAuthClient *client = mb_oauth_client_new (
      fake->authority, "contoso.com", client_id, fake->ca_file, &error);

  g_assert_no_error (error);
  /* The fake adds 0.2 s per slow_down (RFC 8628's 5 s, scaled). */
  mb_oauth_client_set_slow_down_step (client, 200);
  return client;
}

/* How many of the fake's records in @list have client_id @client_id and,
 * when given, the member @key equal to @value. */
static guint
count_records (const char *list,
               const char *client_id,
               const char *key,
               const char *value)
{
  g_autoptr (JsonObject) state = mb_test_fake_entra_get_state (fake);
  JsonArray *array = json_object_get_array_member (state, list);
  guint      n = 0;

  for (guint i = 0; i < json_array_get_length (array); i++)
    {
      JsonObject *record = json_array_get_object_element (array, i);

      if (g_strcmp0 (json_object_get_string_member (record, "client_id"),
                     client_id)
          != 0)
        continue;
      if (key != NULL
          && g_strcmp0 (
                 json_object_get_string_member_with_default (record, key, NULL),
                 value)
                 != 0)
        continue;
      n++;
    }
  return n;
}

static guint
count_grants (const char *client_id, const char *grant_type, const char *result)
{
  return mb_test_fake_entra_count_grants (fake, client_id, grant_type, result);
}

static void
on_device_prompt_cb (const MbOAuthDevicePrompt *prompt, gpointer user_data)
{
  Flow *flow = user_data;

  flow->prompts++;
  g_free (flow->user_code);
  flow->user_code = g_strdup (prompt->user_code);
  g_free (flow->verification_uri);
  flow->verification_uri = g_strdup (prompt->verification_uri);
  g_free (flow->message);
  flow->message = g_strdup (prompt->message);
  flow->interval = prompt->interval;
  if (flow->cancel_on_prompt != NULL)
    g_cancellable_cancel (flow->cancel_on_prompt);
}

static MbOAuthToken *
run_device_flow (const char   *client_id,
                 Flow         *flow,
                 GCancellable *cancellable,
                 GError      **error)
{
  g_autoptr (MbOAuthClient) client = new_client (client_id);

  mb_oauth_client_sign_in_device_async (client, NULL, on_device_prompt_cb, flow,
                                        cancellable, mb_test_store_result_cb,
                                        &flow->result);
  mb_test_wait_for_result (&flow->result);
  return mb_oauth_client_sign_in_device_finish (client, flow->result, error);
}

static MbOAuthToken *
run_refresh (const char *client_id, const char *refresh_token, GError **error)
{
  g_autoptr (MbOAuthClient) client = new_client (client_id);
  g_autoptr (GAsyncResult) result = NULL;

  mb_oauth_client_refresh_async (client, refresh_token, NULL, NULL,
                                 mb_test_store_result_cb, &result);
  mb_test_wait_for_result (&result);
  return mb_oauth_client_refresh_finish (client, result, error);
}

static MbOAuthToken *
run_app (const char                 *client_id,
         const MbOAuthAppCredential *credential,
         GError                    **error)
{
  g_autoptr (MbOAuthClient) client = new_client (client_id);
  g_autoptr (GAsyncResult) result = NULL;

  mb_oauth_client_request_app_token_async (client, credential, NULL,
                                           mb_test_store_result_cb, &result);
  mb_test_wait_for_result (&result);
  return mb_oauth_client_request_app_token_finish (client, result, error);
}

static char *
app_file (const char *name)
{
  return g_build_filename (fake->app_dir, name, NULL);
}

static void
assert_token (const MbOAuthToken *token, gboolean with_refresh)
{
  gint64 now = g_get_real_time () / G_USEC_PER_SEC;

  g_assert_nonnull (token);
  g_assert_nonnull (token->access_token);
  /* Entra's tokens are long; the fake's are 1500 characters. */
  g_assert_cmpuint (strlen (token->access_token), >=, 1000);
  g_assert_cmpint (token->expires_at, >, now);
  if (with_refresh)
    g_assert_nonnull (token->refresh_token);
  else
    g_assert_null (token->refresh_token);
}

/* Device code */

/* pending → slow_down → pending → ok ends with a token; the prompt came
 * once, and no poll came sooner than the (slowed down) interval. */
static void
test_device_slow_down (void)
{
  g_auto (Flow) flow = { 0 };
  g_autoptr (MbOAuthToken) token = NULL;
  g_autoptr (GError) error = NULL;

  if (!need_fake ())
    return;
  token = run_device_flow ("dev-slow", &flow, NULL, &error);
  g_assert_no_error (error);
  assert_token (token, TRUE);
  g_assert_cmpstr (token->scope, ==, MB_OAUTH_SCOPE_DELEGATED);
  g_assert_cmpuint (flow.prompts, ==, 1);
  g_assert_cmpuint (strlen (flow.user_code), >, 0);
  g_assert_cmpstr (flow.verification_uri, ==,
                   "https://microsoft.com/devicelogin");
  g_assert_nonnull (strstr (flow.message, flow.user_code));
  g_assert_cmpuint (count_records ("device_polls", "dev-slow", NULL, NULL), ==,
                    4);
  g_assert_cmpuint (
      count_records ("interval_violations", "dev-slow", NULL, NULL), ==, 0);
}

/* With interval 1 the client waits at least 1 s between polls. */
static void
test_device_interval (void)
{
  g_auto (Flow) flow = { 0 };
  g_autoptr (MbOAuthToken) token = NULL;
  g_autoptr (GError) error = NULL;
  gint64 start = g_get_monotonic_time ();

  if (!need_fake ())
    return;
  token = run_device_flow ("dev-interval", &flow, NULL, &error);
  g_assert_no_error (error);
  assert_token (token, TRUE);
  g_assert_cmpuint (flow.interval, ==, 1);
  g_assert_cmpint (g_get_monotonic_time () - start, >=, 2 * G_USEC_PER_SEC);
  g_assert_cmpuint (
      count_records ("interval_violations", "dev-interval", NULL, NULL), ==, 0);
}

typedef struct
{
  const char *client_id;
  int         code;
  const char *text; /* (nullable) in the message */
} DeviceFailure;

static const DeviceFailure device_failures[] = {
  { "dev-declined", MB_OAUTH_ERROR_DECLINED, "declined" },
  { "dev-expired", MB_OAUTH_ERROR_EXPIRED, "expired" },
  { "dev-bad-code", MB_OAUTH_ERROR_BAD_CODE, "device code" },
  { "dev-confidential", MB_OAUTH_ERROR_INVALID_CLIENT,
    "\"Allow public client flows\" to Yes (AADSTS7000218)" },
  { "dev-ca", MB_OAUTH_ERROR_BLOCKED, "Conditional Access" },
  { "dev-mfa", MB_OAUTH_ERROR_BLOCKED, "AADSTS50076" },
  { "unknown-client", MB_OAUTH_ERROR_INVALID_CLIENT, "AADSTS700016" },
};

/* Each way a device sign-in ends without a token is its own error code,
 * with the AADSTS reason in plain language. */
static void
test_device_failures (void)
{
  if (!need_fake ())
    return;
  for (gsize i = 0; i < G_N_ELEMENTS (device_failures); i++)
    {
      const DeviceFailure *c = &device_failures[i];
      g_auto (Flow) flow = { 0 };
      g_autoptr (MbOAuthToken) token = NULL;
      g_autoptr (GError) error = NULL;

      g_test_message ("client %s", c->client_id);
      token = run_device_flow (c->client_id, &flow, NULL, &error);
      g_assert_null (token);
      g_assert_error (error, MB_OAUTH_ERROR, c->code);
      if (c->text != NULL)
        g_assert_nonnull (strstr (error->message, c->text));
    }
}

/* The code's lifetime on our clock ends the polling: EXPIRED without a
 * poll after the end. */
static void
test_device_local_expiry (void)
{
  g_auto (Flow) flow = { 0 };
  g_autoptr (MbOAuthToken) token = NULL;
  g_autoptr (GError) error = NULL;

  if (!need_fake ())
    return;
  token = run_device_flow ("dev-short", &flow, NULL, &error);
  g_assert_error (error, MB_OAUTH_ERROR, MB_OAUTH_ERROR_EXPIRED);
  g_assert_cmpuint (count_records ("device_polls", "dev-short", NULL, NULL), ==,
                    1);
}

/* A 500 while polling does not end the sign-in: the next poll succeeds. */
static void
test_device_server_error (void)
{
  g_auto (Flow) flow = { 0 };
  g_autoptr (MbOAuthToken) token = NULL;
  g_autoptr (GError) error = NULL;

  if (!need_fake ())
    return;
  token = run_device_flow ("dev-busy", &flow, NULL, &error);
  g_assert_no_error (error);
  assert_token (token, TRUE);
  g_assert_cmpuint (count_records ("device_polls", "dev-busy", NULL, NULL), ==,
                    3);
}

/* Cancelling while waiting for the user ends the flow at once. */
static void
test_device_cancel (void)
{
  g_auto (Flow) flow = { 0 };
  g_autoptr (GCancellable) cancellable = g_cancellable_new ();
  g_autoptr (MbOAuthToken) token = NULL;
  g_autoptr (GError) error = NULL;

  if (!need_fake ())
    return;
  flow.cancel_on_prompt = cancellable;
  token = run_device_flow ("dev-cancel", &flow, cancellable, &error);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_assert_cmpuint (flow.prompts, ==, 1);
  g_assert_cmpuint (count_records ("device_polls", "dev-cancel", NULL, NULL),
                    ==, 0);
}

/* Refresh */

/* Each refresh returns a new access token and a new refresh token, which
 * works in turn. */
static void
test_refresh_rotation (void)
{
  g_auto (Flow) flow = { 0 };
  g_autoptr (MbOAuthToken) first = NULL;
  g_autoptr (MbOAuthToken) second = NULL;
  g_autoptr (MbOAuthToken) third = NULL;
  g_autoptr (GError) error = NULL;

  if (!need_fake ())
    return;
  first = run_device_flow ("refresh", &flow, NULL, &error);
  g_assert_no_error (error);
  second = run_refresh ("refresh", first->refresh_token, &error);
  g_assert_no_error (error);
  assert_token (second, TRUE);
  g_assert_cmpstr (second->access_token, !=, first->access_token);
  g_assert_cmpstr (second->refresh_token, !=, first->refresh_token);
  third = run_refresh ("refresh", second->refresh_token, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (third->refresh_token, !=, second->refresh_token);
  g_assert_cmpuint (count_grants ("refresh", "refresh_token", "ok"), ==, 2);
}

typedef struct
{
  const char *refresh_token;
  const char *text;
} RefreshFailure;

static const RefreshFailure refresh_failures[] = {
  { "rt-revoked", "password change or reset: sign in again (AADSTS50173)" },
  { "rt-inactive", "without use, or was revoked: sign in again (AADSTS70008)" },
  { "rt-never-issued", "sign in again" },
};

/* A revoked, expired or unknown refresh token is NEEDS_SIGNIN with the
 * reason explained. */
static void
test_refresh_invalid_grant (void)
{
  if (!need_fake ())
    return;
  for (gsize i = 0; i < G_N_ELEMENTS (refresh_failures); i++)
    {
      g_autoptr (MbOAuthToken) token = NULL;
      g_autoptr (GError) error = NULL;

      token
          = run_refresh ("refresh", refresh_failures[i].refresh_token, &error);
      g_assert_null (token);
      g_assert_error (error, MB_OAUTH_ERROR, MB_OAUTH_ERROR_NEEDS_SIGNIN);
      g_test_message ("%s", error->message);
      g_assert_nonnull (strstr (error->message, refresh_failures[i].text));
    }
}

/* Client credentials */

/* A client secret gets an app token (no refresh token); a wrong one is
 * INVALID_CLIENT with Entra's reason. */
static void
test_app_secret (void)
{
  g_autoptr (MbOAuthAppCredential) credential = mb_oauth_app_credential_new ();
  g_autoptr (MbOAuthToken) token = NULL;
  g_autoptr (GError) error = NULL;

  if (!need_fake ())
    return;
  credential->client_secret = g_strdup (APP_SECRET);
  token = run_app ("app-secret", credential, &error);
  g_assert_no_error (error);
  assert_token (token, FALSE);
  g_assert_cmpstr (token->scope, ==, MB_OAUTH_SCOPE_APP);
  g_clear_pointer (&token, mb_oauth_token_free);

  g_free (credential->client_secret);
  credential->client_secret = g_strdup ("wrong");
  token = run_app ("app-secret", credential, &error);
  g_assert_error (error, MB_OAUTH_ERROR, MB_OAUTH_ERROR_INVALID_CLIENT);
  g_assert_nonnull (strstr (error->message, "AADSTS7000215"));
}

typedef struct
{
  const char *certificate; /* in the app dir, or "pki:" + testpki name */
  const char *key;         /* (nullable) */
  const char *passphrase;  /* (nullable) */
  int         code;        /* -1: a token */
  const char *text;        /* (nullable) in the message */
} CertCase;

static const CertCase cert_cases[] = {
  { "app.crt", "app.key", NULL, -1, NULL },
  { "app.pem", NULL, NULL, -1, NULL },
  { "app.crt", "app-pkcs1.key", NULL, -1, NULL },
  { "app.crt", "app-enc.key", APP_KEY_PASSPHRASE, -1, NULL },
  { "app.crt", "app-enc.key", NULL, MB_OAUTH_ERROR_CONFIG, "passphrase" },
  { "app.crt", "app-enc.key", "wrong", MB_OAUTH_ERROR_CONFIG, "passphrase" },
  { "app.crt", "other-app.key", NULL, MB_OAUTH_ERROR_CONFIG,
    "does not belong" },
  { "other-app.crt", "other-app.key", NULL, MB_OAUTH_ERROR_INVALID_CLIENT,
    "AADSTS700027" },
  { "pki:client-relay.crt", "pki:client-relay.key", NULL, MB_OAUTH_ERROR_CONFIG,
    "RSA" },
  { "missing.crt", NULL, NULL, MB_OAUTH_ERROR_CONFIG, "Cannot read" },
};

static char *
cert_case_path (const char *name)
{
  if (name == NULL)
    return NULL;
  if (g_str_has_prefix (name, "pki:"))
    return g_build_filename (fake->pki_dir, name + 4, NULL);
  return app_file (name);
}

/* The certificate flow: the fake verifies the assertion's RS256 signature
 * with the registered certificate; local problems are CONFIG errors
 * before any request. */
static void
test_app_certificate (void)
{
  guint tokens = 0;

  if (!need_fake ())
    return;
  for (gsize i = 0; i < G_N_ELEMENTS (cert_cases); i++)
    {
      const CertCase *c = &cert_cases[i];
      g_autoptr (MbOAuthAppCredential) credential
          = mb_oauth_app_credential_new ();
      g_autoptr (MbOAuthToken) token = NULL;
      g_autoptr (GError) error = NULL;

      g_test_message ("certificate %s key %s", c->certificate,
                      c->key != NULL ? c->key : "(same file)");
      credential->certificate_file = cert_case_path (c->certificate);
      credential->key_file = cert_case_path (c->key);
      credential->key_passphrase = g_strdup (c->passphrase);
      credential->client_secret = g_strdup ("ignored: a certificate wins");
      token = run_app ("app-cert", credential, &error);
      if (c->code < 0)
        {
          g_assert_no_error (error);
          assert_token (token, FALSE);
          tokens++;
          continue;
        }
      g_assert_null (token);
      g_assert_error (error, MB_OAUTH_ERROR, c->code);
      g_test_message ("%s", error->message);
      if (c->text != NULL)
        g_assert_nonnull (strstr (error->message, c->text));
    }
  g_assert_cmpuint (count_records ("grants", "app-cert", "auth", "assertion"),
                    ==, tokens);
}

static guchar *
base64url_decode (const char *text, gsize *len)
{
  g_autoptr (GString) padded = g_string_new (text);

  g_strdelimit (padded->str, "-", '+');
  g_strdelimit (padded->str, "_", '/');
  while (padded->len % 4 != 0)
    g_string_append_c (padded, '=');
  return g_base64_decode (padded->str, len);
}

static JsonObject *
decode_jwt_part (const char *part)
{
  g_autoptr (JsonParser) parser = json_parser_new ();
  g_autoptr (GError) error = NULL;
  g_autofree guchar *raw = NULL;
  gsize              len;

  g_assert_null (strpbrk (part, "+/="));
  raw = base64url_decode (part, &len);
  json_parser_load_from_data (parser, (const char *)raw, len, &error);
  g_assert_no_error (error);
  return json_object_ref (json_node_get_object (json_parser_get_root (parser)));
}

static char *
thumbprint (GChecksumType type, GByteArray *der)
{
  guint8 digest[32];
  gsize  len = sizeof digest;
  g_autoptr (GChecksum) checksum = g_checksum_new (type);
  g_autofree char *b64 = NULL;

  g_checksum_update (checksum, der->data, der->len);
  g_checksum_get_digest (checksum, digest, &len);
  b64 = g_base64_encode (digest, len);
  g_strdelimit (b64, "+", '-');
  g_strdelimit (b64, "/", '_');
  b64[strcspn (b64, "=")] = '\0';
  return g_steal_pointer (&b64);
}

/* The assertion is a compact JWS with the documented header and claims,
 * and its signature verifies with the certificate (checked here with
 * GnuTLS, independently of the fake). */
static void
test_jwt_structure (void)
{
  g_autoptr (MbOAuthAppCredential) credential = mb_oauth_app_credential_new ();
  g_autoptr (GError) error = NULL;
  g_autofree char *assertion = NULL;
  g_autofree char *other = NULL;
  g_autoptr (JsonObject) header = NULL;
  g_autoptr (JsonObject) claims = NULL;
  g_autoptr (JsonObject) other_claims = NULL;
  g_autoptr (GTlsCertificate) cert = NULL;
  g_autoptr (GByteArray) der = NULL;
  g_autofree char *sha1 = NULL;
  g_autofree char *sha256 = NULL;
  g_auto (GStrv) parts = NULL;
  g_auto (GStrv) other_parts = NULL;
  g_autofree guchar *signature = NULL;
  gsize              signature_len;
  const gint64       now = 1700000000;
  const char       *aud = "https://login.example/contoso.com/oauth2/v2.0/token";
  gnutls_x509_crt_t crt;
  gnutls_pubkey_t   pubkey;
  gnutls_datum_t    data, sig;
  g_autofree char  *signed_part = NULL;

  if (!need_fake ())
    return;
  credential->certificate_file = app_file ("app.crt");
  credential->key_file = app_file ("app.key");
  assertion = mb_oauth_build_client_assertion (credential, "client-1", aud, now,
                                               &error);
  g_assert_no_error (error);
  other = mb_oauth_build_client_assertion (credential, "client-1", aud, now,
                                           &error);
  g_assert_no_error (error);

  parts = g_strsplit (assertion, ".", -1);
  g_assert_cmpuint (g_strv_length (parts), ==, 3);
  header = decode_jwt_part (parts[0]);
  claims = decode_jwt_part (parts[1]);

  cert = g_tls_certificate_new_from_file (credential->certificate_file, &error);
  g_assert_no_error (error);
  g_object_get (cert, "certificate", &der, NULL);
  sha1 = thumbprint (G_CHECKSUM_SHA1, der);
  sha256 = thumbprint (G_CHECKSUM_SHA256, der);
  g_assert_cmpuint (json_object_get_size (header), ==, 4);
  g_assert_cmpstr (json_object_get_string_member (header, "alg"), ==, "RS256");
  g_assert_cmpstr (json_object_get_string_member (header, "typ"), ==, "JWT");
  g_assert_cmpstr (json_object_get_string_member (header, "x5t"), ==, sha1);
  g_assert_cmpstr (json_object_get_string_member (header, "x5t#S256"), ==,
                   sha256);

  g_assert_cmpuint (json_object_get_size (claims), ==, 7);
  g_assert_cmpstr (json_object_get_string_member (claims, "aud"), ==, aud);
  g_assert_cmpstr (json_object_get_string_member (claims, "iss"), ==,
                   "client-1");
  g_assert_cmpstr (json_object_get_string_member (claims, "sub"), ==,
                   "client-1");
  g_assert_cmpint (json_object_get_int_member (claims, "nbf"), ==, now);
  g_assert_cmpint (json_object_get_int_member (claims, "iat"), ==, now);
  g_assert_cmpint (json_object_get_int_member (claims, "exp"), ==, now + 600);
  g_assert_cmpuint (strlen (json_object_get_string_member (claims, "jti")), >=,
                    32);
  other_parts = g_strsplit (other, ".", -1);
  other_claims = decode_jwt_part (other_parts[1]);
  g_assert_cmpstr (json_object_get_string_member (claims, "jti"), !=,
                   json_object_get_string_member (other_claims, "jti"));

  signature = base64url_decode (parts[2], &signature_len);
  g_assert_cmpuint (signature_len, ==, 256); /* RSA 2048 */
  signed_part = g_strconcat (parts[0], ".", parts[1], NULL);
  data.data = (unsigned char *)signed_part;
  data.size = strlen (signed_part);
  sig.data = signature;
  sig.size = signature_len;
  gnutls_x509_crt_init (&crt);
  gnutls_pubkey_init (&pubkey);
  {
    gnutls_datum_t der_datum = { der->data, der->len };

    g_assert_cmpint (
        gnutls_x509_crt_import (crt, &der_datum, GNUTLS_X509_FMT_DER), ==, 0);
  }
  g_assert_cmpint (gnutls_pubkey_import_x509 (pubkey, crt, 0), ==, 0);
  g_assert_cmpint (gnutls_pubkey_verify_data2 (pubkey, GNUTLS_SIGN_RSA_SHA256,
                                               0, &data, &sig),
                   >=, 0);
  /* One flipped bit in the claims breaks it. */
  signed_part[strlen (parts[0]) + 3] ^= 1;
  g_assert_cmpint (gnutls_pubkey_verify_data2 (pubkey, GNUTLS_SIGN_RSA_SHA256,
                                               0, &data, &sig),
                   <, 0);
  gnutls_pubkey_deinit (pubkey);
  gnutls_x509_crt_deinit (crt);
}

/* Browser */

static void
on_authorize_uri_cb (const char *uri, gpointer user_data)
{
  Flow *flow = user_data;

  flow->prompts++;
  g_free (flow->authorize_uri);
  flow->authorize_uri = g_strdup (uri);
}

/* Starts a browser sign-in, recording the authorize address in @flow;
 * wait with finish_browser_flow(). */
static void
start_browser_flow (MbOAuthClient *client,
                    Flow          *flow,
                    GCancellable  *cancellable)
{
  mb_oauth_client_sign_in_browser_async (
      client, NULL, MB_OAUTH_BROWSER_FLAGS_NONE, on_authorize_uri_cb, flow,
      cancellable, mb_test_store_result_cb, &flow->result);
}

static MbOAuthToken *
finish_browser_flow (MbOAuthClient *client, Flow *flow, GError **error)
{
  mb_test_wait_for_result (&flow->result);
  return mb_oauth_client_sign_in_browser_finish (client, flow->result, error);
}

static GHashTable *
query_of (const char *uri)
{
  g_autoptr (GUri) parsed = g_uri_parse (uri, G_URI_FLAGS_ENCODED, NULL);

  g_assert_nonnull (parsed);
  return g_uri_parse_params (g_uri_get_query (parsed), -1, "&",
                             G_URI_PARAMS_WWW_FORM, NULL);
}

/* Plays the browser: the authorize URL redirects to the loopback listener
 * with code and state; the listener refuses wrong requests, answers the
 * right one, and the flow exchanges the code (the fake checks PKCE S256). */
static void
test_browser_pkce (void)
{
  g_autoptr (MbOAuthClient) client = NULL;
  g_auto (Flow) flow = { 0 };
  g_autoptr (MbOAuthToken) token = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (GHashTable) query = NULL;
  g_autoptr (GBytes) page = NULL;
  g_autofree char *location = NULL;
  g_autofree char *bad_state = NULL;
  g_autofree char *favicon = NULL;
  g_autofree char *redirect_base = NULL;
  const char      *redirect_uri;
  guint            status = 0;

  if (!need_fake ())
    return;
  client = new_client ("browser");
  start_browser_flow (client, &flow, NULL);
  g_assert_cmpuint (flow.prompts, ==, 1);
  g_assert_true (g_str_has_prefix (
      flow.authorize_uri, mb_oauth_client_get_authorize_endpoint (client)));
  query = query_of (flow.authorize_uri);
  g_assert_cmpstr (g_hash_table_lookup (query, "code_challenge_method"), ==,
                   "S256");
  g_assert_cmpuint (strlen (g_hash_table_lookup (query, "code_challenge")), ==,
                    43);
  g_assert_cmpstr (g_hash_table_lookup (query, "response_type"), ==, "code");
  g_assert_cmpstr (g_hash_table_lookup (query, "scope"), ==,
                   MB_OAUTH_SCOPE_DELEGATED);
  g_assert_cmpstr (g_hash_table_lookup (query, "client_id"), ==, "browser");
  redirect_uri = g_hash_table_lookup (query, "redirect_uri");
  g_assert_true (g_str_has_prefix (redirect_uri, "http://127.0.0.1:"));

  /* A stray page and a wrong state do not end the sign-in. */
  favicon = g_strconcat (redirect_uri, "/favicon.ico", NULL);
  g_clear_pointer (&page, g_bytes_unref);
  page = mb_test_fake_entra_get (fake, favicon, &status, NULL);
  g_assert_cmpuint (status, ==, 404);
  bad_state = g_strconcat (redirect_uri, "/?code=stolen&state=wrong", NULL);
  g_clear_pointer (&page, g_bytes_unref);
  page = mb_test_fake_entra_get (fake, bad_state, &status, NULL);
  g_assert_cmpuint (status, ==, 400);
  g_assert_null (flow.result);

  g_clear_pointer (&page, g_bytes_unref);
  page = mb_test_fake_entra_get (fake, flow.authorize_uri, &status, &location);
  g_assert_cmpuint (status, ==, 302);
  redirect_base = g_strconcat (redirect_uri, "?", NULL);
  g_assert_true (g_str_has_prefix (location, redirect_base));
  g_clear_pointer (&page, g_bytes_unref);
  page = mb_test_fake_entra_get (fake, location, &status, NULL);
  g_assert_cmpuint (status, ==, 200);
  g_assert_nonnull (g_strstr_len (g_bytes_get_data (page, NULL),
                                  g_bytes_get_size (page),
                                  "You can close this window"));

  token = finish_browser_flow (client, &flow, &error);
  g_assert_no_error (error);
  assert_token (token, TRUE);
  g_assert_cmpuint (count_grants ("browser", "authorization_code", "ok"), ==,
                    1);
}

/* The user declining consent (error=access_denied in the redirect) is
 * DECLINED. */
static void
test_browser_denied (void)
{
  g_autoptr (MbOAuthClient) client = NULL;
  g_auto (Flow) flow = { 0 };
  g_autoptr (MbOAuthToken) token = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (GBytes) page = NULL;
  g_autofree char *location = NULL;
  guint            status = 0;

  if (!need_fake ())
    return;
  client = new_client ("browser-denied");
  start_browser_flow (client, &flow, NULL);
  page = mb_test_fake_entra_get (fake, flow.authorize_uri, &status, &location);
  g_assert_cmpuint (status, ==, 302);
  g_assert_nonnull (strstr (location, "error=access_denied"));
  g_clear_pointer (&page, g_bytes_unref);
  page = mb_test_fake_entra_get (fake, location, &status, NULL);
  g_assert_cmpuint (status, ==, 200);
  token = finish_browser_flow (client, &flow, &error);
  g_assert_error (error, MB_OAUTH_ERROR, MB_OAUTH_ERROR_DECLINED);
  g_assert_cmpuint (count_grants ("browser-denied", "authorization_code", NULL),
                    ==, 0);
}

/* Cancelling a browser sign-in stops the listener. */
static void
test_browser_cancel (void)
{
  g_autoptr (MbOAuthClient) client = NULL;
  g_auto (Flow) flow = { 0 };
  g_autoptr (GCancellable) cancellable = g_cancellable_new ();
  g_autoptr (GHashTable) query = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (GSocketClient) socket_client = g_socket_client_new ();
  g_autoptr (GSocketConnection) connection = NULL;
  g_autoptr (GUri) redirect = NULL;
  g_autoptr (MbOAuthToken) token = NULL;

  if (!need_fake ())
    return;
  client = new_client ("browser");
  start_browser_flow (client, &flow, cancellable);
  g_cancellable_cancel (cancellable);
  token = finish_browser_flow (client, &flow, &error);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_clear_error (&error);

  query = query_of (flow.authorize_uri);
  redirect = g_uri_parse (g_hash_table_lookup (query, "redirect_uri"),
                          G_URI_FLAGS_NONE, NULL);
  connection = g_socket_client_connect_to_host (
      socket_client, "127.0.0.1", g_uri_get_port (redirect), NULL, &error);
  g_assert_null (connection);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CONNECTION_REFUSED);
}

/* TLS */

/* Without the test CA, or with a CA that did not issue the fake's
 * certificate, the authority is TLS_UNTRUSTED and nothing is sent. */
static void
test_tls_untrusted (void)
{
  const char *trust_files[2] = { NULL };

  if (!need_fake ())
    return;
  trust_files[1] = fake->rogue_ca_file;
  for (gsize i = 0; i < G_N_ELEMENTS (trust_files); i++)
    {
      g_autoptr (MbOAuthClient) client = NULL;
      g_autoptr (GAsyncResult) result = NULL;
      g_autoptr (MbOAuthToken) token = NULL;
      g_autoptr (GError) error = NULL;

      client = mb_oauth_client_new (fake->authority, "contoso.com", "tls",
                                    trust_files[i], &error);
      g_assert_no_error (error);
      mb_oauth_client_refresh_async (client, "rt-anything", NULL, NULL,
                                     mb_test_store_result_cb, &result);
      mb_test_wait_for_result (&result);
      token = mb_oauth_client_refresh_finish (client, result, &error);
      g_assert_error (error, MB_OAUTH_ERROR, MB_OAUTH_ERROR_TLS_UNTRUSTED);
      g_test_message ("%s", error->message);
      g_assert_nonnull (strstr (error->message, "unknown authority"));
    }
  g_assert_cmpuint (count_grants ("tls", "refresh_token", NULL), ==, 0);
}

/* Configuration */

/* A missing client id, a non-https authority and a tenant that would
 * change the URL's path are CONFIG errors; endpoints follow the pattern. */
static void
test_client_config (void)
{
  g_autoptr (MbOAuthClient) client = NULL;
  g_autoptr (GError) error = NULL;

  client = mb_oauth_client_new (NULL, NULL, NULL, NULL, &error);
  g_assert_error (error, MB_OAUTH_ERROR, MB_OAUTH_ERROR_CONFIG);
  g_clear_error (&error);
  client
      = mb_oauth_client_new ("http://login.example", NULL, "id", NULL, &error);
  g_assert_error (error, MB_OAUTH_ERROR, MB_OAUTH_ERROR_CONFIG);
  g_clear_error (&error);
  client = mb_oauth_client_new (NULL, "contoso.com/../x", "id", NULL, &error);
  g_assert_error (error, MB_OAUTH_ERROR, MB_OAUTH_ERROR_CONFIG);
  g_clear_error (&error);

  client = mb_oauth_client_new (NULL, NULL, "id", NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (mb_oauth_client_get_token_endpoint (client), ==,
                   "https://login.microsoftonline.com/organizations/oauth2/"
                   "v2.0/token");
  g_assert_cmpstr (mb_oauth_client_get_device_code_endpoint (client), ==,
                   "https://login.microsoftonline.com/organizations/oauth2/"
                   "v2.0/devicecode");
  g_clear_object (&client);
  client = mb_oauth_client_new ("https://login.example:8443/", "contoso.com",
                                "id", NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (mb_oauth_client_get_authorize_endpoint (client), ==,
                   "https://login.example:8443/contoso.com/oauth2/v2.0/"
                   "authorize");
}

/* Token source */

typedef struct
{
  GPtrArray *refresh_tokens; /* every "refresh-token-changed" */
  guint      needs_signin_notifies;
} SourceWatch;

static void
on_refresh_token_changed_cb (MbOAuthTokenSource *source,
                             const char         *refresh_token,
                             gpointer            user_data)
{
  SourceWatch *watch = user_data;

  g_ptr_array_add (watch->refresh_tokens, g_strdup (refresh_token));
}

static void
on_needs_signin_notify_cb (GObject    *object,
                           GParamSpec *pspec,
                           gpointer    user_data)
{
  SourceWatch *watch = user_data;

  watch->needs_signin_notifies++;
}

static void
watch_source (MbOAuthTokenSource *source, SourceWatch *watch)
{
  watch->refresh_tokens = g_ptr_array_new_with_free_func (g_free);
  g_signal_connect (source, "refresh-token-changed",
                    G_CALLBACK (on_refresh_token_changed_cb), watch);
  g_signal_connect (source, "notify::needs-signin",
                    G_CALLBACK (on_needs_signin_notify_cb), watch);
}

static char *
get_token (MbOAuthTokenSource *source, GError **error)
{
  g_autoptr (GAsyncResult) result = NULL;

  mb_oauth_get_access_token_async (source, NULL, mb_test_store_result_cb,
                                   &result);
  mb_test_wait_for_result (&result);
  return mb_oauth_get_access_token_finish (source, result, error);
}

/* The first request refreshes and announces the new refresh token; the
 * next is served from the cache; a larger margin than the lifetime renews
 * again with the newest refresh token. */
static void
test_source_refresh (void)
{
  g_autoptr (MbOAuthClient) client = NULL;
  g_autoptr (MbOAuthTokenSource) source = NULL;
  SourceWatch watch = { 0 };
  g_autoptr (GError) error = NULL;
  char *first, *second, *third;

  if (!need_fake ())
    return;
  client = new_client ("source");
  source = mb_oauth_token_source_new_delegated (client, "rt-source");
  watch_source (source, &watch);
  g_assert_false (mb_oauth_token_source_get_needs_signin (source));

  first = get_token (source, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (watch.refresh_tokens->len, ==, 1);
  g_assert_cmpstr (watch.refresh_tokens->pdata[0], !=, "rt-source");
  second = get_token (source, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (first, ==, second);
  g_assert_cmpuint (count_grants ("source", "refresh_token", "ok"), ==, 1);

  mb_oauth_token_source_set_refresh_margin (source, 7200);
  third = get_token (source, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (third, !=, second);
  g_assert_cmpuint (watch.refresh_tokens->len, ==, 2);
  g_assert_cmpuint (count_grants ("source", "refresh_token", "ok"), ==, 2);
  g_assert_cmpuint (watch.needs_signin_notifies, ==, 0);

  mb_smtp_secret_free (first);
  mb_smtp_secret_free (second);
  mb_smtp_secret_free (third);
  g_ptr_array_unref (watch.refresh_tokens);
}

/* Requests that arrive together share one refresh; a cancelled one ends
 * alone. */
static void
test_source_concurrent (void)
{
  g_autoptr (MbOAuthClient) client = NULL;
  g_autoptr (MbOAuthTokenSource) source = NULL;
  g_autoptr (GCancellable) cancellable = g_cancellable_new ();
  GAsyncResult *results[4] = { NULL };
  char         *tokens[4] = { NULL };
  GError       *errors[4] = { NULL };
  guint         before;

  if (!need_fake ())
    return;
  before = count_grants ("source", "refresh_token", "ok");
  client = new_client ("source");
  source = mb_oauth_token_source_new_delegated (client, "rt-source");
  for (guint i = 0; i < G_N_ELEMENTS (results); i++)
    mb_oauth_get_access_token_async (source, i == 3 ? cancellable : NULL,
                                     mb_test_store_result_cb, &results[i]);
  g_cancellable_cancel (cancellable);
  for (guint i = 0; i < G_N_ELEMENTS (results); i++)
    {
      mb_test_wait_for_result (&results[i]);
      tokens[i]
          = mb_oauth_get_access_token_finish (source, results[i], &errors[i]);
    }
  for (guint i = 0; i < 3; i++)
    {
      g_assert_no_error (errors[i]);
      g_assert_cmpstr (tokens[i], ==, tokens[0]);
    }
  g_assert_error (errors[3], G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_assert_cmpuint (count_grants ("source", "refresh_token", "ok"), ==,
                    before + 1);
  for (guint i = 0; i < G_N_ELEMENTS (results); i++)
    {
      mb_smtp_secret_free (tokens[i]);
      g_clear_error (&errors[i]);
      g_object_unref (results[i]);
    }
}

/* A revoked refresh token raises needs-signin; later requests fail at
 * once without asking Entra, until set_token() after a new sign-in. */
static void
test_source_needs_signin (void)
{
  g_autoptr (MbOAuthClient) client = NULL;
  g_autoptr (MbOAuthTokenSource) source = NULL;
  g_autoptr (MbOAuthToken) token = NULL;
  SourceWatch watch = { 0 };
  g_auto (Flow) flow = { 0 };
  g_autoptr (GError) error = NULL;
  char *access;
  guint refusals;

  if (!need_fake ())
    return;
  client = new_client ("source");
  source = mb_oauth_token_source_new_delegated (client, "rt-source-revoked");
  watch_source (source, &watch);
  access = get_token (source, &error);
  g_assert_null (access);
  g_assert_error (error, MB_OAUTH_ERROR, MB_OAUTH_ERROR_NEEDS_SIGNIN);
  g_assert_nonnull (strstr (error->message, "AADSTS50173"));
  g_clear_error (&error);
  g_assert_true (mb_oauth_token_source_get_needs_signin (source));
  g_assert_cmpuint (watch.needs_signin_notifies, ==, 1);

  refusals = count_grants ("source", "refresh_token", "refresh_revoked");
  access = get_token (source, &error);
  g_assert_error (error, MB_OAUTH_ERROR, MB_OAUTH_ERROR_NEEDS_SIGNIN);
  g_clear_error (&error);
  g_assert_cmpuint (count_grants ("source", "refresh_token", "refresh_revoked"),
                    ==, refusals);

  token = run_device_flow ("source", &flow, NULL, &error);
  g_assert_no_error (error);
  mb_oauth_token_source_set_token (source, token);
  g_assert_false (mb_oauth_token_source_get_needs_signin (source));
  g_assert_cmpuint (watch.needs_signin_notifies, ==, 2);
  access = get_token (source, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (access, ==, token->access_token);
  mb_smtp_secret_free (access);
  g_assert_cmpuint (watch.refresh_tokens->len, ==, 0);
  g_ptr_array_unref (watch.refresh_tokens);
}

/* A source nobody asks still refreshes once the keepalive interval has
 * passed, and announces the new refresh token. */
static void
test_source_keepalive (void)
{
  g_autoptr (MbOAuthClient) client = NULL;
  g_autoptr (MbOAuthTokenSource) source = NULL;
  SourceWatch watch = { 0 };

  if (!need_fake ())
    return;
  client = new_client ("source");
  source = mb_oauth_token_source_new_delegated (client, "rt-source");
  watch_source (source, &watch);
  mb_oauth_token_source_set_keepalive_interval (source, 1);
  MB_TEST_WAIT_UNTIL (watch.refresh_tokens->len > 0);
  g_assert_false (mb_oauth_token_source_get_needs_signin (source));
  g_ptr_array_unref (watch.refresh_tokens);
}

/* App-only: one token request serves until invalidate(); no refresh token
 * is ever announced. */
static void
test_source_app (void)
{
  g_autoptr (MbOAuthClient) client = NULL;
  g_autoptr (MbOAuthTokenSource) source = NULL;
  g_autoptr (MbOAuthAppCredential) credential = mb_oauth_app_credential_new ();
  g_autoptr (GError) error = NULL;
  SourceWatch watch = { 0 };
  char       *first, *second, *third;
  guint       before;

  if (!need_fake ())
    return;
  before = count_grants ("app-secret", "client_credentials", "ok");
  client = new_client ("app-secret");
  credential->client_secret = g_strdup (APP_SECRET);
  source = mb_oauth_token_source_new_app (client, credential);
  watch_source (source, &watch);
  first = get_token (source, &error);
  g_assert_no_error (error);
  second = get_token (source, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (first, ==, second);
  mb_oauth_token_source_invalidate (source);
  third = get_token (source, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (third, !=, first);
  g_assert_cmpuint (count_grants ("app-secret", "client_credentials", "ok"), ==,
                    before + 2);
  g_assert_cmpuint (watch.refresh_tokens->len, ==, 0);
  mb_smtp_secret_free (first);
  mb_smtp_secret_free (second);
  mb_smtp_secret_free (third);
  g_ptr_array_unref (watch.refresh_tokens);
}

/* A client whose app has no refresh token yet needs a sign-in. */
static void
test_source_without_refresh_token (void)
{
  g_autoptr (MbOAuthClient) client = NULL;
  g_autoptr (MbOAuthTokenSource) source = NULL;
  g_autoptr (GError) error = NULL;
  char *access;

  client = mb_oauth_client_new (NULL, NULL, "id", NULL, &error);
  g_assert_no_error (error);
  source = mb_oauth_token_source_new_delegated (client, NULL);
  g_assert_true (mb_oauth_token_source_get_needs_signin (source));
  access = get_token (source, &error);
  g_assert_null (access);
  g_assert_error (error, MB_OAUTH_ERROR, MB_OAUTH_ERROR_NEEDS_SIGNIN);
}

/* Token structs: copies are deep, free wipes. */
static void
test_token_copy (void)
{
  g_autoptr (MbOAuthToken) token = mb_oauth_token_new ();
  g_autoptr (MbOAuthToken) copy = NULL;

  token->access_token = g_strdup ("at");
  token->refresh_token = g_strdup ("rt");
  token->scope = g_strdup ("s");
  token->expires_at = 42;
  copy = mb_oauth_token_copy (token);
  g_assert_true (copy->access_token != token->access_token);
  g_assert_cmpstr (copy->access_token, ==, "at");
  g_assert_cmpstr (copy->refresh_token, ==, "rt");
  g_assert_cmpstr (copy->scope, ==, "s");
  g_assert_cmpint (copy->expires_at, ==, 42);
}

int
main (int argc, char **argv)
{
  int status;

  g_test_init (&argc, &argv, NULL);
  gnutls_global_init ();
  fake = mb_test_fake_entra_start (FAKE_SCRIPT, &fake_skip_reason);

  g_test_add_func ("/relay/oauth/device/slow-down", test_device_slow_down);
  g_test_add_func ("/relay/oauth/device/interval", test_device_interval);
  g_test_add_func ("/relay/oauth/device/failures", test_device_failures);
  g_test_add_func ("/relay/oauth/device/local-expiry",
                   test_device_local_expiry);
  g_test_add_func ("/relay/oauth/device/server-error",
                   test_device_server_error);
  g_test_add_func ("/relay/oauth/device/cancel", test_device_cancel);
  g_test_add_func ("/relay/oauth/refresh/rotation", test_refresh_rotation);
  g_test_add_func ("/relay/oauth/refresh/invalid-grant",
                   test_refresh_invalid_grant);
  g_test_add_func ("/relay/oauth/app/secret", test_app_secret);
  g_test_add_func ("/relay/oauth/app/certificate", test_app_certificate);
  g_test_add_func ("/relay/oauth/jwt/structure", test_jwt_structure);
  g_test_add_func ("/relay/oauth/browser/pkce", test_browser_pkce);
  g_test_add_func ("/relay/oauth/browser/denied", test_browser_denied);
  g_test_add_func ("/relay/oauth/browser/cancel", test_browser_cancel);
  g_test_add_func ("/relay/oauth/tls/untrusted", test_tls_untrusted);
  g_test_add_func ("/relay/oauth/client/config", test_client_config);
  g_test_add_func ("/relay/oauth/source/refresh", test_source_refresh);
  g_test_add_func ("/relay/oauth/source/concurrent", test_source_concurrent);
  g_test_add_func ("/relay/oauth/source/needs-signin",
                   test_source_needs_signin);
  g_test_add_func ("/relay/oauth/source/keepalive", test_source_keepalive);
  g_test_add_func ("/relay/oauth/source/app", test_source_app);
  g_test_add_func ("/relay/oauth/source/no-refresh-token",
                   test_source_without_refresh_token);
  g_test_add_func ("/relay/oauth/token/copy", test_token_copy);

  status = g_test_run ();
  mb_test_fake_entra_stop (fake);
  g_free (fake_skip_reason);
  gnutls_global_deinit ();
  return status;
}
