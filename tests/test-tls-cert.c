/* test-tls-cert.c - unit tests of mb-tls-cert
 *
 * Generation into a temporary directory (modes, contents checked with
 * GnuTLS), loading back through GIO's TLS backend, no regeneration on the
 * second start, refusal of a half-present pair or a bad file, cancellation.
 */
#include "mb-tls-cert.h"

#include "mb-test-util.h"

#include <glib/gstdio.h>
#include <gnutls/x509.h>
#include <string.h>
#include <sys/stat.h>

typedef struct
{
  char *dir;  /* (owned) */
  char *cert; /* (owned) dir/tls/relay.crt */
  char *key;  /* (owned) dir/tls/relay.key */
} Fixture;

typedef struct
{
  gboolean         done;
  GTlsCertificate *certificate; /* (owned) (nullable) */
  GError          *error;       /* (owned) (nullable) */
} Result;

static void
fixture_set_up (Fixture *fixture, gconstpointer data)
{
  fixture->dir = mb_test_make_tmpdir ("tls-cert");
  fixture->cert = g_build_filename (fixture->dir, "tls", "relay.crt", NULL);
  fixture->key = g_build_filename (fixture->dir, "tls", "relay.key", NULL);
}

static void
fixture_tear_down (Fixture *fixture, gconstpointer data)
{
  mb_test_remove_tree (fixture->dir);
  g_free (fixture->dir);
  g_free (fixture->cert);
  g_free (fixture->key);
}

static void
load_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  Result *out = user_data;

  out->certificate = mb_tls_cert_load_or_generate_finish (result, &out->error);
  out->done = TRUE;
}

/* Runs load_or_generate and iterates the main context until it is done. */
static GTlsCertificate *
load_or_generate (Fixture      *fixture,
                  const char   *hostname,
                  GCancellable *cancellable,
                  GError      **error)
{
  Result result = { FALSE, NULL, NULL };

  mb_tls_cert_load_or_generate_async (fixture->cert, fixture->key, hostname,
                                      cancellable, load_cb, &result);
  MB_TEST_WAIT_UNTIL (result.done);
  g_assert_true ((result.certificate == NULL) != (result.error == NULL));
  if (result.error != NULL)
    g_propagate_error (error, result.error);
  return result.certificate;
}

static guint
file_mode (const char *path)
{
  GStatBuf st;

  g_assert_cmpint (g_stat (path, &st), ==, 0);
  return st.st_mode & 07777;
}

/* Reads the PEM certificate at @path with GnuTLS. */
static gnutls_x509_crt_t
read_certificate (const char *path)
{
  g_autofree char  *pem = NULL;
  gsize             len;
  gnutls_datum_t    datum;
  gnutls_x509_crt_t crt;

  g_assert_true (g_file_get_contents (path, &pem, &len, NULL));
  datum.data = (unsigned char *)pem;
  datum.size = len;
  g_assert_cmpint (gnutls_x509_crt_init (&crt), ==, 0);
  g_assert_cmpint (gnutls_x509_crt_import (crt, &datum, GNUTLS_X509_FMT_PEM),
                   ==, 0);
  return crt;
}

/* A first start writes a key (0600), a certificate (0644) in a new 0700
 * directory, and returns a certificate with its private key. */
static void
test_generate_fresh (Fixture *fixture, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GTlsCertificate) certificate = NULL;
  g_autofree char *dir = g_path_get_dirname (fixture->cert);
  g_autofree char *key_pem = NULL;
  g_autofree char *private_key = NULL;

  if (!mb_test_need_tls_backend ())
    return;
  certificate = load_or_generate (fixture, "relay.example.com", NULL, &error);
  g_assert_no_error (error);
  g_assert_true (G_IS_TLS_CERTIFICATE (certificate));
  g_assert_cmpuint (file_mode (fixture->key), ==, 0600);
  g_assert_cmpuint (file_mode (fixture->cert) & 0600, ==, 0600);
  g_assert_cmpuint (file_mode (fixture->cert) & 0022, ==, 0);
  g_assert_cmpuint (file_mode (dir), ==, 0700);
  g_assert_true (g_file_get_contents (fixture->key, &key_pem, NULL, NULL));
  g_assert_true (g_str_has_prefix (key_pem, "-----BEGIN PRIVATE KEY-----"));
  g_object_get (certificate, "private-key-pem", &private_key, NULL);
  g_assert_nonnull (private_key);
}

/* The certificate is a self-signed X.509 v3 server certificate for the
 * host name, as the header promises. */
static void
test_generate_contents (Fixture *fixture, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  gnutls_x509_crt_t crt;
  char              name[256];
  size_t            size = sizeof name;
  unsigned int      critical, usage, type, bits, ca = 1;
  guint8            serial[32];
  size_t            serial_size = sizeof serial;
  gint64            now = g_get_real_time () / G_USEC_PER_SEC;
  unsigned int      verify = 0;

  g_assert_true (mb_tls_cert_generate_files (fixture->cert, fixture->key,
                                             "relay.example.com", &error));
  g_assert_no_error (error);
  crt = read_certificate (fixture->cert);

  g_assert_cmpint (gnutls_x509_crt_get_version (crt), ==, 3);
  g_assert_cmpint (gnutls_x509_crt_get_dn_by_oid (
                       crt, GNUTLS_OID_X520_COMMON_NAME, 0, 0, name, &size),
                   ==, 0);
  g_assert_cmpstr (name, ==, "relay.example.com");
  size = sizeof name;
  type = gnutls_x509_crt_get_subject_alt_name (crt, 0, name, &size, NULL);
  g_assert_cmpint (type, ==, GNUTLS_SAN_DNSNAME);
  g_assert_cmpstr (name, ==, "relay.example.com");
  g_assert_true (gnutls_x509_crt_check_hostname (crt, "relay.example.com"));
  g_assert_cmpint (gnutls_x509_crt_get_pk_algorithm (crt, &bits), ==,
                   GNUTLS_PK_ECDSA);
  g_assert_cmpint (gnutls_x509_crt_get_signature_algorithm (crt), ==,
                   GNUTLS_SIGN_ECDSA_SHA256);
  g_assert_cmpint (
      gnutls_x509_crt_get_basic_constraints (crt, &critical, &ca, NULL), >=, 0);
  g_assert_cmpuint (ca, ==, 0);
  g_assert_cmpint (gnutls_x509_crt_get_key_usage (crt, &usage, &critical), >=,
                   0);
  g_assert_cmpuint (usage, ==, GNUTLS_KEY_DIGITAL_SIGNATURE);
  size = sizeof name;
  g_assert_cmpint (
      gnutls_x509_crt_get_key_purpose_oid (crt, 0, name, &size, NULL), ==, 0);
  g_assert_cmpstr (name, ==, GNUTLS_KP_TLS_WWW_SERVER);
  g_assert_cmpint (gnutls_x509_crt_get_serial (crt, serial, &serial_size), ==,
                   0);
  g_assert_cmpuint (serial_size, ==, 16);
  g_assert_cmpuint (serial[0] & 0x80, ==, 0);
  g_assert_cmpint (gnutls_x509_crt_get_activation_time (crt), <=, now - 3500);
  g_assert_cmpint (gnutls_x509_crt_get_expiration_time (crt), >=,
                   now + G_GINT64_CONSTANT (3650) * 86400);
  /* Self-signed: it verifies against itself. */
  g_assert_cmpint (gnutls_x509_crt_verify (crt, &crt, 1, 0, &verify), ==, 0);
  g_assert_cmpuint (verify, ==, 0);
  gnutls_x509_crt_deinit (crt);
}

/* An IP address as the host name becomes an iPAddress subjectAltName. */
static void
test_generate_ip_name (Fixture *fixture, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  gnutls_x509_crt_t   crt;
  guint8              ip[16];
  size_t              size = sizeof ip;
  static const guint8 expected[4] = { 192, 168, 1, 10 };

  g_assert_true (mb_tls_cert_generate_files (fixture->cert, fixture->key,
                                             "192.168.1.10", &error));
  g_assert_no_error (error);
  crt = read_certificate (fixture->cert);
  g_assert_cmpint (
      gnutls_x509_crt_get_subject_alt_name (crt, 0, ip, &size, NULL), ==,
      GNUTLS_SAN_IPADDRESS);
  g_assert_cmpmem (ip, size, expected, sizeof expected);
  gnutls_x509_crt_deinit (crt);
}

/* A second start loads the same pair and leaves both files untouched. */
static void
test_load_existing (Fixture *fixture, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GTlsCertificate) first = NULL;
  g_autoptr (GTlsCertificate) second = NULL;
  g_autofree char *cert_before = NULL;
  g_autofree char *key_before = NULL;
  g_autofree char *cert_after = NULL;
  g_autofree char *key_after = NULL;

  if (!mb_test_need_tls_backend ())
    return;
  first = load_or_generate (fixture, "relay.example.com", NULL, &error);
  g_assert_no_error (error);
  g_assert_true (g_file_get_contents (fixture->cert, &cert_before, NULL, NULL));
  g_assert_true (g_file_get_contents (fixture->key, &key_before, NULL, NULL));

  /* Another host name must not matter: nothing is regenerated. */
  second = load_or_generate (fixture, "other.example.com", NULL, &error);
  g_assert_no_error (error);
  g_assert_true (g_tls_certificate_is_same (first, second));
  g_assert_true (g_file_get_contents (fixture->cert, &cert_after, NULL, NULL));
  g_assert_true (g_file_get_contents (fixture->key, &key_after, NULL, NULL));
  g_assert_cmpstr (cert_before, ==, cert_after);
  g_assert_cmpstr (key_before, ==, key_after);
}

/* Only one file of the pair: BAD_FILE naming the missing one, and the
 * remaining file is left as it was. */
static void
test_load_half_present (Fixture *fixture, gconstpointer data)
{
  const char *const which[] = { "key", "certificate" };

  for (gsize i = 0; i < G_N_ELEMENTS (which); i++)
    {
      g_autoptr (GError) error = NULL;
      g_autoptr (GTlsCertificate) certificate = NULL;
      const char      *missing = i == 0 ? fixture->key : fixture->cert;
      const char      *kept = i == 0 ? fixture->cert : fixture->key;
      g_autofree char *before = NULL;
      g_autofree char *after = NULL;

      g_assert_true (mb_tls_cert_generate_files (fixture->cert, fixture->key,
                                                 "relay.example.com", &error));
      g_assert_no_error (error);
      g_assert_cmpint (g_unlink (missing), ==, 0);
      g_assert_true (g_file_get_contents (kept, &before, NULL, NULL));

      certificate
          = load_or_generate (fixture, "relay.example.com", NULL, &error);
      g_assert_null (certificate);
      g_assert_error (error, MB_TLS_CERT_ERROR, MB_TLS_CERT_ERROR_BAD_FILE);
      g_assert_nonnull (strstr (error->message, missing));
      g_assert_nonnull (strstr (error->message, which[i]));
      g_assert_false (g_file_test (missing, G_FILE_TEST_EXISTS));
      g_assert_true (g_file_get_contents (kept, &after, NULL, NULL));
      g_assert_cmpstr (before, ==, after);
      g_assert_cmpint (g_unlink (kept), ==, 0);
    }
}

/* Files that are not a certificate and key: BAD_FILE, never replaced. */
static void
test_load_bad_file (Fixture *fixture, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GTlsCertificate) certificate = NULL;
  g_autofree char *dir = g_path_get_dirname (fixture->cert);
  g_autofree char *after = NULL;

  if (!mb_test_need_tls_backend ())
    return;
  g_assert_cmpint (g_mkdir (dir, 0700), ==, 0);
  g_assert_true (g_file_set_contents (fixture->cert, "not a cert\n", -1, NULL));
  g_assert_true (g_file_set_contents (fixture->key, "not a key\n", -1, NULL));
  certificate = load_or_generate (fixture, "relay.example.com", NULL, &error);
  g_assert_null (certificate);
  g_assert_error (error, MB_TLS_CERT_ERROR, MB_TLS_CERT_ERROR_BAD_FILE);
  g_assert_nonnull (strstr (error->message, fixture->cert));
  g_assert_true (g_file_get_contents (fixture->cert, &after, NULL, NULL));
  g_assert_cmpstr (after, ==, "not a cert\n");
}

/* A parent that cannot be created is a FAILED error, not a crash. */
static void
test_generate_unwritable (Fixture *fixture, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *blocker = g_build_filename (fixture->dir, "tls", NULL);

  /* A file where the directory should be. */
  g_assert_true (g_file_set_contents (blocker, "", -1, NULL));
  g_assert_false (mb_tls_cert_generate_files (fixture->cert, fixture->key,
                                              "relay.example.com", &error));
  g_assert_error (error, MB_TLS_CERT_ERROR, MB_TLS_CERT_ERROR_FAILED);
  g_assert_false (g_file_test (fixture->key, G_FILE_TEST_EXISTS));
}

/* A cancelled call reports G_IO_ERROR_CANCELLED and writes nothing. */
static void
test_load_cancelled (Fixture *fixture, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GCancellable) cancellable = g_cancellable_new ();
  g_autoptr (GTlsCertificate) certificate = NULL;

  g_cancellable_cancel (cancellable);
  certificate
      = load_or_generate (fixture, "relay.example.com", cancellable, &error);
  g_assert_null (certificate);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_assert_false (g_file_test (fixture->key, G_FILE_TEST_EXISTS));
  g_assert_false (g_file_test (fixture->cert, G_FILE_TEST_EXISTS));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

#define ADD(path, func)                                                        \
  g_test_add ("/relay/tls-cert/" path, Fixture, NULL, fixture_set_up, func,    \
              fixture_tear_down)
  ADD ("generate/fresh", test_generate_fresh);
  ADD ("generate/contents", test_generate_contents);
  ADD ("generate/ip-name", test_generate_ip_name);
  ADD ("generate/unwritable", test_generate_unwritable);
  ADD ("load/existing", test_load_existing);
  ADD ("load/half-present", test_load_half_present);
  ADD ("load/bad-file", test_load_bad_file);
  ADD ("load/cancelled", test_load_cancelled);
#undef ADD

  return g_test_run ();
}
