/* mb-oauth-jwt.c - the JWT client assertion for app-only sign-in
 *
 * Contract:
 *  - Builds the assertion of RFC 7523 2.2 as Entra's "certificate
 *    credentials" page documents it: a JWS (RFC 7515, compact form) with
 *    header alg RS256, typ JWT, x5t = base64url SHA-1 of the certificate's
 *    DER and x5t#S256 = the same with SHA-256 (Entra reads either); claims
 *    aud (the token endpoint), iss = sub (the client id), jti (random,
 *    single use), nbf = iat = now, exp = now + 10 minutes.
 *  - Signs with RSASSA-PKCS1-v1_5 and SHA-256 (RFC 7518 3.3) through
 *    GnuTLS, with the key from a PEM file (PKCS#1 or PKCS#8, encrypted
 *    with an optional passphrase).  Refuses a non-RSA certificate and a key
 *    that does not belong to the certificate, with a CONFIG error naming
 *    the file, before Entra would answer AADSTS700027.
 *  - Key material is wiped from our buffers; GnuTLS wipes its own.
 *
 * Not here: sending it (mb-oauth.c), reading the route's configuration.
 * Blocks on file reads: the client calls it in a worker thread.
 */
#define G_LOG_DOMAIN "mb-oauth"

#include "mb-oauth-private.h"

#include <gnutls/abstract.h>
#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <string.h>

#define ASSERTION_LIFETIME_SECONDS 600

typedef gnutls_x509_crt_t X509Crt;
typedef gnutls_privkey_t  PrivKey;
typedef gnutls_pubkey_t   PubKey;

static void
free_crt (X509Crt crt)
{
  gnutls_x509_crt_deinit (crt);
}

static void
free_privkey (PrivKey key)
{
  gnutls_privkey_deinit (key);
}

static void
free_pubkey (PubKey key)
{
  gnutls_pubkey_deinit (key);
}

G_DEFINE_AUTO_CLEANUP_FREE_FUNC (X509Crt, free_crt, NULL)
G_DEFINE_AUTO_CLEANUP_FREE_FUNC (PrivKey, free_privkey, NULL)
G_DEFINE_AUTO_CLEANUP_FREE_FUNC (PubKey, free_pubkey, NULL)

static void
free_datum (gnutls_datum_t *datum)
{
  gnutls_free (datum->data);
  datum->data = NULL;
  datum->size = 0;
}

static gboolean
read_pem (const char *path, char **text, gsize *len, GError **error)
{
  g_autoptr (GError) local = NULL;

  if (!g_file_get_contents (path, text, len, &local))
    {
      g_set_error (error, MB_OAUTH_ERROR, MB_OAUTH_ERROR_CONFIG,
                   "Cannot read %s: %s", path, local->message);
      return FALSE;
    }
  return TRUE;
}

static gboolean
load_certificate (const char *path, X509Crt *crt_out, GError **error)
{
  g_auto (X509Crt) crt = NULL;
  g_autofree char *text = NULL;
  gsize            len = 0;
  gnutls_datum_t   datum;
  int              ret;

  if (!read_pem (path, &text, &len, error))
    return FALSE;
  datum.data = (unsigned char *)text;
  datum.size = len;
  gnutls_x509_crt_init (&crt);
  /* The first certificate of the file: the app's own, as a chain file or
   * a certificate + key file starts with it. */
  ret = gnutls_x509_crt_import (crt, &datum, GNUTLS_X509_FMT_PEM);
  if (ret < 0)
    {
      g_set_error (error, MB_OAUTH_ERROR, MB_OAUTH_ERROR_CONFIG,
                   "%s holds no PEM certificate: %s", path,
                   gnutls_strerror (ret));
      return FALSE;
    }
  /* Entra takes RS256 and PS256 assertions, both RSA. */
  if (gnutls_x509_crt_get_pk_algorithm (crt, NULL) != GNUTLS_PK_RSA)
    {
      g_set_error (error, MB_OAUTH_ERROR, MB_OAUTH_ERROR_CONFIG,
                   "The certificate in %s does not have an RSA key; Entra "
                   "signs in apps with RSA certificates only",
                   path);
      return FALSE;
    }
  *crt_out = g_steal_pointer (&crt);
  return TRUE;
}

static gboolean
load_key (const char *path,
          const char *passphrase,
          PrivKey    *key_out,
          GError    **error)
{
  g_auto (PrivKey) key = NULL;
  char          *text = NULL;
  gsize          len = 0;
  gnutls_datum_t datum;
  int            ret;

  if (!read_pem (path, &text, &len, error))
    return FALSE;
  datum.data = (unsigned char *)text;
  datum.size = len;
  gnutls_privkey_init (&key);
  /* Finds the key block in a file that also holds certificates, and
   * decrypts PKCS#8 with the passphrase. */
  ret = gnutls_privkey_import_x509_raw (key, &datum, GNUTLS_X509_FMT_PEM,
                                        passphrase, 0);
  explicit_bzero (text, len);
  g_free (text);
  if (ret < 0)
    {
      if (ret == GNUTLS_E_DECRYPTION_FAILED
          || ret == GNUTLS_E_PK_INVALID_PRIVKEY)
        g_set_error (error, MB_OAUTH_ERROR, MB_OAUTH_ERROR_CONFIG,
                     "Cannot decrypt the private key in %s: %s", path,
                     passphrase != NULL ? "wrong passphrase"
                                        : "it needs a passphrase");
      else
        g_set_error (error, MB_OAUTH_ERROR, MB_OAUTH_ERROR_CONFIG,
                     "%s holds no usable PEM private key: %s", path,
                     gnutls_strerror (ret));
      return FALSE;
    }
  *key_out = g_steal_pointer (&key);
  return TRUE;
}

/* Whether @key is the private half of @crt's public key.  Checked here
 * because Entra would only say "signature validation failed"
 * (AADSTS700027), which also means "certificate not uploaded". */
static gboolean
key_matches (X509Crt crt, PrivKey key)
{
  g_auto (PubKey) from_crt = NULL;
  g_auto (PubKey) from_key = NULL;
  gnutls_datum_t a = { NULL, 0 }, b = { NULL, 0 };
  gboolean       same;

  gnutls_pubkey_init (&from_crt);
  gnutls_pubkey_init (&from_key);
  if (gnutls_pubkey_import_x509 (from_crt, crt, 0) < 0
      || gnutls_pubkey_import_privkey (from_key, key, 0, 0) < 0
      || gnutls_pubkey_export2 (from_crt, GNUTLS_X509_FMT_DER, &a) < 0
      || gnutls_pubkey_export2 (from_key, GNUTLS_X509_FMT_DER, &b) < 0)
    {
      free_datum (&a);
      free_datum (&b);
      return FALSE;
    }
  same = a.size == b.size && memcmp (a.data, b.data, a.size) == 0;
  free_datum (&a);
  free_datum (&b);
  return same;
}

static char *
thumbprint (const gnutls_datum_t *der, gnutls_digest_algorithm_t algorithm)
{
  guint8 digest[64];

  g_assert (gnutls_hash_get_len (algorithm) <= sizeof digest);
  gnutls_hash_fast (algorithm, der->data, der->size, digest);
  return mb_oauth_base64url (digest, gnutls_hash_get_len (algorithm));
}

static char *
encode_json (JsonBuilder *builder)
{
  g_autoptr (JsonGenerator) generator = json_generator_new ();
  g_autoptr (JsonNode) root = json_builder_get_root (builder);
  g_autofree char *text = NULL;
  gsize            len = 0;

  json_generator_set_root (generator, root);
  text = json_generator_to_data (generator, &len);
  return mb_oauth_base64url ((const guint8 *)text, len);
}

static char *
encode_header (X509Crt crt)
{
  g_autoptr (JsonBuilder) builder = json_builder_new ();
  gnutls_datum_t   der = { NULL, 0 };
  g_autofree char *sha1 = NULL;
  g_autofree char *sha256 = NULL;

  if (gnutls_x509_crt_export2 (crt, GNUTLS_X509_FMT_DER, &der) < 0)
    return NULL;
  sha1 = thumbprint (&der, GNUTLS_DIG_SHA1);
  sha256 = thumbprint (&der, GNUTLS_DIG_SHA256);
  free_datum (&der);

  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "alg");
  json_builder_add_string_value (builder, "RS256");
  json_builder_set_member_name (builder, "typ");
  json_builder_add_string_value (builder, "JWT");
  json_builder_set_member_name (builder, "x5t");
  json_builder_add_string_value (builder, sha1);
  /* Entra's page now documents x5t#S256 (with PS256); x5t is what RS256
   * clients have always sent.  Both name the same certificate. */
  json_builder_set_member_name (builder, "x5t#S256");
  json_builder_add_string_value (builder, sha256);
  json_builder_end_object (builder);
  return encode_json (builder);
}

static char *
encode_claims (const char *client_id, const char *audience, gint64 now)
{
  g_autoptr (JsonBuilder) builder = json_builder_new ();
  /* jti only has to be unique (RFC 7523 3 item 7), not secret. */
  g_autofree char *jti = g_uuid_string_random ();

  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "aud");
  json_builder_add_string_value (builder, audience);
  json_builder_set_member_name (builder, "iss");
  json_builder_add_string_value (builder, client_id);
  json_builder_set_member_name (builder, "sub");
  json_builder_add_string_value (builder, client_id);
  json_builder_set_member_name (builder, "jti");
  json_builder_add_string_value (builder, jti);
  json_builder_set_member_name (builder, "nbf");
  json_builder_add_int_value (builder, now);
  json_builder_set_member_name (builder, "iat");
  json_builder_add_int_value (builder, now);
  json_builder_set_member_name (builder, "exp");
  json_builder_add_int_value (builder, now + ASSERTION_LIFETIME_SECONDS);
  json_builder_end_object (builder);
  return encode_json (builder);
}

char *
mb_oauth_build_client_assertion (const MbOAuthAppCredential *credential,
                                 const char                 *client_id,
                                 const char                 *audience,
                                 gint64                      now,
                                 GError                    **error)
{
  g_auto (X509Crt) crt = NULL;
  g_auto (PrivKey) key = NULL;
  g_autofree char *header = NULL;
  g_autofree char *claims = NULL;
  g_autofree char *input = NULL;
  g_autofree char *signature = NULL;
  const char      *key_file;
  gnutls_datum_t   data, sig = { NULL, 0 };
  int              ret;

  g_return_val_if_fail (credential != NULL, NULL);
  g_return_val_if_fail (credential->certificate_file != NULL, NULL);
  g_return_val_if_fail (client_id != NULL, NULL);
  g_return_val_if_fail (audience != NULL, NULL);

  key_file = credential->key_file != NULL ? credential->key_file
                                          : credential->certificate_file;
  if (!load_certificate (credential->certificate_file, &crt, error)
      || !load_key (key_file, credential->key_passphrase, &key, error))
    return NULL;
  if (!key_matches (crt, key))
    {
      g_set_error (error, MB_OAUTH_ERROR, MB_OAUTH_ERROR_CONFIG,
                   "The private key in %s does not belong to the "
                   "certificate in %s",
                   key_file, credential->certificate_file);
      return NULL;
    }

  header = encode_header (crt);
  if (header == NULL)
    {
      g_set_error (error, MB_OAUTH_ERROR, MB_OAUTH_ERROR_CONFIG,
                   "Cannot encode the certificate in %s",
                   credential->certificate_file);
      return NULL;
    }
  claims = encode_claims (client_id, audience, now);
  input = g_strconcat (header, ".", claims, NULL);
  data.data = (unsigned char *)input;
  data.size = strlen (input);
  ret = gnutls_privkey_sign_data (key, GNUTLS_DIG_SHA256, 0, &data, &sig);
  if (ret < 0)
    {
      g_set_error (error, MB_OAUTH_ERROR, MB_OAUTH_ERROR_CONFIG,
                   "Cannot sign with the key in %s: %s", key_file,
                   gnutls_strerror (ret));
      return NULL;
    }
  signature = mb_oauth_base64url (sig.data, sig.size);
  free_datum (&sig);
  return g_strconcat (input, ".", signature, NULL);
}
