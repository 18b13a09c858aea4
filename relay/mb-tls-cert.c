/* mb-tls-cert.c - the LAN listener's STARTTLS certificate
 *
 * What it does: loads the certificate and key the configuration names, or,
 * when neither file exists (first start), generates a self-signed pair for
 * the relay's host name with GnuTLS and writes it there: an ECDSA P-256
 * key, an X.509 v3 certificate with a 128-bit random serial, valid from an
 * hour ago (clock skew) for ten years, CN and subjectAltName = the host
 * name (an iPAddress SAN when the "name" is an IP address),
 * basicConstraints CA:FALSE, keyUsage digitalSignature, extKeyUsage
 * serverAuth, signed with SHA-256.
 *
 * Guarantees:
 * - The key is written with mode 0600 and the certificate 0644, each
 *   atomically (a reader sees the whole file or none); missing parent
 *   directories are created 0700.
 * - An admin's file is never overwritten: when only one of the two files
 *   exists, loading fails with MB_TLS_CERT_ERROR_BAD_FILE naming the
 *   missing one.  (A crash between the two writes leaves the key alone; the
 *   message says to remove it.)
 * - Key generation and file I/O run in a GTask worker thread, never on the
 *   caller's main loop.
 *
 * What it does not do: renew an expiring certificate, or check that a
 * loaded certificate matches the host name (devices on a LAN rarely
 * verify it; the admin may install any certificate they like).
 *
 * Standards: RFC 5280 4.1.2.2 (serial: positive, at most 20 octets),
 * 4.2.1.3, 4.2.1.6, 4.2.1.9, 4.2.1.12 (the extensions); RFC 5480 (ECDSA
 * keys); RFC 5958 (PKCS #8 key file).
 */
#define G_LOG_DOMAIN "mb-tls-cert"

#include "mb-tls-cert.h"

#include <errno.h>
#include <gnutls/abstract.h>
#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <string.h>

#define SERIAL_SIZE 16
#define VALIDITY_YEARS 10
#define CN_MAX 64 /* RFC 5280 ub-common-name */

typedef struct
{
  char *cert_path; /* (owned) */
  char *key_path;  /* (owned) */
  char *hostname;  /* (owned) */
} LoadData;

GQuark
mb_tls_cert_error_quark (void)
{
  return g_quark_from_static_string ("mb-tls-cert-error-quark");
}

static void
clear_datum (gnutls_datum_t *datum)
{
  if (datum->data != NULL)
    {
      gnutls_memset (datum->data, 0, datum->size);
      gnutls_free (datum->data);
    }
  datum->data = NULL;
  datum->size = 0;
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (gnutls_datum_t, clear_datum)
G_DEFINE_AUTO_CLEANUP_FREE_FUNC (gnutls_x509_crt_t,
                                 gnutls_x509_crt_deinit,
                                 NULL)
G_DEFINE_AUTO_CLEANUP_FREE_FUNC (gnutls_x509_privkey_t,
                                 gnutls_x509_privkey_deinit,
                                 NULL)

static void
load_data_free (LoadData *data)
{
  g_free (data->cert_path);
  g_free (data->key_path);
  g_free (data->hostname);
  g_free (data);
}

static gboolean
check_gnutls (int ret, const char *what, GError **error)
{
  if (ret >= 0)
    return TRUE;
  g_set_error (error, MB_TLS_CERT_ERROR, MB_TLS_CERT_ERROR_FAILED,
               "cannot %s: %s", what, gnutls_strerror (ret));
  return FALSE;
}

/* The subject names: CN (when it fits) and one subjectAltName. */
static gboolean
set_names (gnutls_x509_crt_t crt, const char *hostname, GError **error)
{
  g_autoptr (GInetAddress) address = g_inet_address_new_from_string (hostname);

  if (strlen (hostname) <= CN_MAX
      && !check_gnutls (
          gnutls_x509_crt_set_dn_by_oid (crt, GNUTLS_OID_X520_COMMON_NAME, 0,
                                         hostname, strlen (hostname)),
          "set the common name", error))
    return FALSE;
  if (address != NULL)
    return check_gnutls (
        gnutls_x509_crt_set_subject_alt_name (
            crt, GNUTLS_SAN_IPADDRESS, g_inet_address_to_bytes (address),
            g_inet_address_get_native_size (address), GNUTLS_FSAN_SET),
        "set the subjectAltName", error);
  return check_gnutls (
      gnutls_x509_crt_set_subject_alt_name (crt, GNUTLS_SAN_DNSNAME, hostname,
                                            strlen (hostname), GNUTLS_FSAN_SET),
      "set the subjectAltName", error);
}

static gboolean
make_certificate (const char     *hostname,
                  gnutls_datum_t *cert_pem,
                  gnutls_datum_t *key_pem,
                  GError        **error)
{
  g_auto (gnutls_x509_privkey_t) key = NULL;
  g_auto (gnutls_x509_crt_t) crt = NULL;
  g_autoptr (GDateTime) now = g_date_time_new_now_utc ();
  g_autoptr (GDateTime) expires = g_date_time_add_years (now, VALIDITY_YEARS);
  guint8        serial[SERIAL_SIZE];
  unsigned char key_id[64];
  size_t        key_id_size = sizeof key_id;

  if (!check_gnutls (gnutls_x509_privkey_init (&key), "create a key", error)
      || !check_gnutls (gnutls_x509_privkey_generate2 (
                            key, GNUTLS_PK_ECDSA,
                            GNUTLS_CURVE_TO_BITS (GNUTLS_ECC_CURVE_SECP256R1),
                            0, NULL, 0),
                        "generate an ECDSA P-256 key", error)
      || !check_gnutls (gnutls_x509_crt_init (&crt), "create a certificate",
                        error)
      || !check_gnutls (gnutls_rnd (GNUTLS_RND_NONCE, serial, sizeof serial),
                        "make a serial number", error))
    return FALSE;

  /* Positive (top bit clear) and of fixed length (next bit set), so the
   * DER INTEGER is exactly SERIAL_SIZE octets. */
  serial[0] = (serial[0] & 0x7f) | 0x40;

  if (!check_gnutls (gnutls_x509_crt_set_version (crt, 3), "set the version",
                     error)
      || !check_gnutls (gnutls_x509_crt_set_serial (crt, serial, sizeof serial),
                        "set the serial number", error)
      || !check_gnutls (gnutls_x509_crt_set_activation_time (
                            crt, g_date_time_to_unix (now) - 3600),
                        "set the start of validity", error)
      || !check_gnutls (gnutls_x509_crt_set_expiration_time (
                            crt, g_date_time_to_unix (expires)),
                        "set the end of validity", error)
      || !set_names (crt, hostname, error)
      || !check_gnutls (gnutls_x509_crt_set_basic_constraints (crt, 0, -1),
                        "set basicConstraints", error)
      || !check_gnutls (
          gnutls_x509_crt_set_key_usage (crt, GNUTLS_KEY_DIGITAL_SIGNATURE),
          "set keyUsage", error)
      || !check_gnutls (gnutls_x509_crt_set_key_purpose_oid (
                            crt, GNUTLS_KP_TLS_WWW_SERVER, 0),
                        "set extKeyUsage", error)
      || !check_gnutls (gnutls_x509_crt_set_key (crt, key), "set the key",
                        error)
      || !check_gnutls (
          gnutls_x509_crt_get_key_id (crt, 0, key_id, &key_id_size),
          "compute the key identifier", error)
      || !check_gnutls (
          gnutls_x509_crt_set_subject_key_id (crt, key_id, key_id_size),
          "set subjectKeyIdentifier", error)
      || !check_gnutls (
          gnutls_x509_crt_sign2 (crt, crt, key, GNUTLS_DIG_SHA256, 0),
          "sign the certificate", error)
      || !check_gnutls (
          gnutls_x509_crt_export2 (crt, GNUTLS_X509_FMT_PEM, cert_pem),
          "export the certificate", error)
      || !check_gnutls (
          gnutls_x509_privkey_export2_pkcs8 (key, GNUTLS_X509_FMT_PEM, NULL,
                                             GNUTLS_PKCS_PLAIN, key_pem),
          "export the key", error))
    return FALSE;
  return TRUE;
}

static gboolean
make_parent (const char *path, GError **error)
{
  g_autofree char *dir = g_path_get_dirname (path);
  int              saved_errno;

  if (g_mkdir_with_parents (dir, 0700) == 0)
    return TRUE;
  saved_errno = errno;
  g_set_error (error, MB_TLS_CERT_ERROR, MB_TLS_CERT_ERROR_FAILED,
               "cannot create directory %s: %s", dir, g_strerror (saved_errno));
  return FALSE;
}

static gboolean
write_file (const char           *path,
            const gnutls_datum_t *pem,
            int                   mode,
            GError              **error)
{
  g_autoptr (GError) local_error = NULL;

  if (g_file_set_contents_full (path, (const char *)pem->data, pem->size,
                                G_FILE_SET_CONTENTS_CONSISTENT, mode,
                                &local_error))
    return TRUE;
  g_set_error (error, MB_TLS_CERT_ERROR, MB_TLS_CERT_ERROR_FAILED, "%s",
               local_error->message);
  return FALSE;
}

static GTlsCertificate *
load_pair (const char *cert_path, const char *key_path, GError **error)
{
  g_autoptr (GError) local_error = NULL;
  GTlsCertificate *certificate;

  certificate
      = g_tls_certificate_new_from_files (cert_path, key_path, &local_error);
  if (certificate == NULL)
    g_set_error (error, MB_TLS_CERT_ERROR, MB_TLS_CERT_ERROR_BAD_FILE,
                 "cannot load the STARTTLS certificate %s with key %s: %s",
                 cert_path, key_path, local_error->message);
  return certificate;
}

static void
load_or_generate_thread (GTask        *task,
                         gpointer      source_object,
                         gpointer      task_data,
                         GCancellable *cancellable)
{
  LoadData *data = task_data;
  gboolean  have_cert = g_file_test (data->cert_path, G_FILE_TEST_EXISTS);
  gboolean  have_key = g_file_test (data->key_path, G_FILE_TEST_EXISTS);
  GError   *error = NULL;
  GTlsCertificate *certificate;

  if (g_task_return_error_if_cancelled (task))
    return;
  if (have_cert != have_key)
    {
      g_task_return_new_error (
          task, MB_TLS_CERT_ERROR, MB_TLS_CERT_ERROR_BAD_FILE,
          "the STARTTLS %s %s is missing but the %s %s exists; restore the "
          "missing file (tls-certificate and tls-key), or remove %s to have "
          "a new self-signed pair generated",
          have_cert ? "key" : "certificate",
          have_cert ? data->key_path : data->cert_path,
          have_cert ? "certificate" : "key",
          have_cert ? data->cert_path : data->key_path,
          have_cert ? data->cert_path : data->key_path);
      return;
    }
  if (!have_cert)
    {
      if (!mb_tls_cert_generate_files (data->cert_path, data->key_path,
                                       data->hostname, &error))
        {
          g_task_return_error (task, error);
          return;
        }
      g_info ("generated a self-signed STARTTLS certificate cert=%s key=%s "
              "hostname=%s",
              data->cert_path, data->key_path, data->hostname);
    }
  certificate = load_pair (data->cert_path, data->key_path, &error);
  if (certificate == NULL)
    g_task_return_error (task, error);
  else
    g_task_return_pointer (task, certificate, g_object_unref);
}

void
mb_tls_cert_load_or_generate_async (const char         *cert_path,
                                    const char         *key_path,
                                    const char         *hostname,
                                    GCancellable       *cancellable,
                                    GAsyncReadyCallback callback,
                                    gpointer            user_data)
{
  g_autoptr (GTask) task = NULL;
  LoadData *data;

  g_return_if_fail (cert_path != NULL);
  g_return_if_fail (key_path != NULL);
  g_return_if_fail (hostname != NULL && *hostname != '\0');
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  task = g_task_new (NULL, cancellable, callback, user_data);
  g_task_set_source_tag (task, mb_tls_cert_load_or_generate_async);
  data = g_new0 (LoadData, 1);
  data->cert_path = g_strdup (cert_path);
  data->key_path = g_strdup (key_path);
  data->hostname = g_strdup (hostname);
  g_task_set_task_data (task, data, (GDestroyNotify)load_data_free);
  g_task_run_in_thread (task, load_or_generate_thread);
}

GTlsCertificate *
mb_tls_cert_load_or_generate_finish (GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, NULL), NULL);
  g_return_val_if_fail (
      g_async_result_is_tagged (result, mb_tls_cert_load_or_generate_async),
      NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}

/* Replaces both files: callers that must not overwrite check first, as
 * load_or_generate_thread() does. */
gboolean
mb_tls_cert_generate_files (const char *cert_path,
                            const char *key_path,
                            const char *hostname,
                            GError    **error)
{
  g_auto (gnutls_datum_t) cert_pem = { NULL, 0 };
  g_auto (gnutls_datum_t) key_pem = { NULL, 0 };

  g_return_val_if_fail (cert_path != NULL, FALSE);
  g_return_val_if_fail (key_path != NULL, FALSE);
  g_return_val_if_fail (hostname != NULL && *hostname != '\0', FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  /* The key first, so a certificate never sits on disk without its key. */
  return make_certificate (hostname, &cert_pem, &key_pem, error)
         && make_parent (key_path, error) && make_parent (cert_path, error)
         && write_file (key_path, &key_pem, 0600, error)
         && write_file (cert_path, &cert_pem, 0644, error);
}
