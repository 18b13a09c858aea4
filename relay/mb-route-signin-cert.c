/* mb-route-signin-cert.c - the TLS client certificate of a route
 *
 * WHAT IT DOES
 *   Reads the client certificate a route presents over TLS (the connector
 *   method's certificate-based authentication) from its PEM files: the
 *   certificate chain, and the private key from client-key or from the
 *   certificate file itself.  An encrypted key (PKCS#8 or the old OpenSSL
 *   "Proc-Type: 4,ENCRYPTED" form) is decrypted with the stored
 *   client-key-passphrase through GnuTLS, since GIO's TLS backend reads
 *   only unencrypted keys.
 *
 * GUARANTEES
 *   - Runs in a worker thread (g_task_run_in_thread): the main loop never
 *     waits on the files or the decryption.  The thread touches no object.
 *   - An encrypted key without a passphrase fails with
 *     G_IO_ERROR_PERMISSION_DENIED, so the caller can fetch the
 *     passphrase and try again; a wrong passphrase fails with
 *     G_IO_ERROR_INVALID_DATA naming the key file.
 *   - The passphrase and every decrypted copy of the key in our buffers
 *     are wiped before they are freed.
 *
 * WHAT IT DOES NOT DO
 *   Read the passphrase (mb-route-signin-secrets.c), decide when a route
 *   needs a certificate, or sign the oauth-app client assertion with it
 *   (mb-oauth-jwt.c).
 *
 * RFC 7468 (PEM), RFC 5958 (PKCS#8).
 */
#define G_LOG_DOMAIN "mb-route-signin"

#include "mb-route-signin-private.h"

#include "mb-smtp-reply.h"

#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <string.h>

/* What the worker thread reads: copies, so it touches no object. */
typedef struct
{
  char *cert_path;  /* (owned) */
  char *key_path;   /* (owned) */
  char *passphrase; /* (owned) (nullable) wiped */
} CertData;

static void
cert_data_free (CertData *data)
{
  g_free (data->cert_path);
  g_free (data->key_path);
  mb_smtp_secret_free (data->passphrase);
  g_free (data);
}

/* The CERTIFICATE blocks of a PEM text, without any key block. */
static char *
extract_certificates (const char *pem)
{
  GString    *out = g_string_new (NULL);
  const char *p = pem;

  for (;;)
    {
      const char *begin = strstr (p, "-----BEGIN CERTIFICATE-----");
      const char *end;

      if (begin == NULL)
        break;
      end = strstr (begin, "-----END CERTIFICATE-----");
      if (end == NULL)
        break;
      end += strlen ("-----END CERTIFICATE-----");
      g_string_append_len (out, begin, end - begin);
      g_string_append_c (out, '\n');
      p = end;
    }
  return g_string_free (out, FALSE);
}

/* GIO's TLS backend reads only unencrypted keys: decrypt with GnuTLS into
 * memory and hand GIO a plain PKCS#8 PEM (the form it parses for every
 * key type), wiping every copy afterwards. */
static GTlsCertificate *
load_encrypted (const char *cert_path,
                const char *key_path,
                const char *passphrase,
                GError    **error)
{
  g_autofree char      *cert_pem = NULL;
  g_autofree char      *certs = NULL;
  char                 *key_pem = NULL;
  gsize                 key_len = 0;
  gnutls_x509_privkey_t key = NULL;
  gnutls_datum_t        in, out = { NULL, 0 };
  GTlsCertificate      *certificate = NULL;
  int                   rc;

  if (!g_file_get_contents (cert_path, &cert_pem, NULL, error)
      || !g_file_get_contents (key_path, &key_pem, &key_len, error))
    return NULL;
  certs = extract_certificates (cert_pem);

  in.data = (unsigned char *)key_pem;
  in.size = key_len;
  rc = gnutls_x509_privkey_init (&key);
  if (rc == GNUTLS_E_SUCCESS)
    rc = gnutls_x509_privkey_import2 (key, &in, GNUTLS_X509_FMT_PEM, passphrase,
                                      0);
  if (rc == GNUTLS_E_SUCCESS)
    rc = gnutls_x509_privkey_export2_pkcs8 (key, GNUTLS_X509_FMT_PEM, NULL,
                                            GNUTLS_PKCS_PLAIN, &out);
  explicit_bzero (key_pem, key_len);
  g_free (key_pem);
  if (key != NULL)
    gnutls_x509_privkey_deinit (key);
  if (rc != GNUTLS_E_SUCCESS)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                   "the key %s cannot be decrypted with the stored "
                   "client-key-passphrase: %s",
                   key_path, gnutls_strerror (rc));
      return NULL;
    }
  {
    g_autofree char *combined = NULL;
    gsize            combined_len;

    combined = g_strdup_printf ("%s%.*s", certs, (int)out.size,
                                (const char *)out.data);
    combined_len = strlen (combined);
    explicit_bzero (out.data, out.size);
    gnutls_free (out.data);
    certificate = g_tls_certificate_new_from_pem (combined, -1, error);
    explicit_bzero (combined, combined_len);
  }
  return certificate;
}

/* Whether the PEM key file holds an encrypted key (PKCS#8 or the old
 * OpenSSL "Proc-Type: 4,ENCRYPTED" form). */
static gboolean
key_is_encrypted (const char *key_path)
{
  g_autofree char *text = NULL;

  if (!g_file_get_contents (key_path, &text, NULL, NULL))
    return FALSE;
  return strstr (text, "ENCRYPTED") != NULL;
}

static void
load_certificate_thread (GTask        *task,
                         gpointer      source_object,
                         gpointer      task_data,
                         GCancellable *cancellable)
{
  CertData        *data = task_data;
  GError          *error = NULL;
  GTlsCertificate *certificate;

  if (data->passphrase != NULL)
    certificate = load_encrypted (data->cert_path, data->key_path,
                                  data->passphrase, &error);
  else if (key_is_encrypted (data->key_path))
    {
      g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_PERMISSION_DENIED,
                               "the key %s is encrypted and no "
                               "client-key-passphrase is stored",
                               data->key_path);
      return;
    }
  else
    certificate = g_tls_certificate_new_from_files (data->cert_path,
                                                    data->key_path, &error);
  if (certificate == NULL)
    g_task_return_error (task, error);
  else
    g_task_return_pointer (task, certificate, g_object_unref);
}

/* Private API */

void
mb_route_signin_read_certificate_async (const char         *cert_path,
                                        const char         *key_path,
                                        const char         *passphrase,
                                        GCancellable       *cancellable,
                                        GAsyncReadyCallback callback,
                                        gpointer            user_data)
{
  g_autoptr (GTask) task = g_task_new (NULL, cancellable, callback, user_data);
  CertData *cert = g_new0 (CertData, 1);

  g_task_set_source_tag (task, mb_route_signin_read_certificate_async);
  cert->cert_path = g_strdup (cert_path);
  cert->key_path = g_strdup (key_path);
  cert->passphrase = g_strdup (passphrase);
  g_task_set_task_data (task, cert, (GDestroyNotify)cert_data_free);
  g_task_run_in_thread (task, load_certificate_thread);
}

GTlsCertificate *
mb_route_signin_read_certificate_finish (GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, NULL), NULL);
  return g_task_propagate_pointer (G_TASK (result), error);
}
