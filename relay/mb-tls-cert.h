/* mb-tls-cert.h - certificates with GnuTLS
 *
 * The LAN listener's STARTTLS certificate: loaded from the configured files,
 * or generated at first start (ECDSA P-256, self-signed, the relay's host
 * name as CN and subjectAltName, key written 0600).  Generation runs in a
 * worker thread.
 */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

#define MB_TLS_CERT_ERROR (mb_tls_cert_error_quark ())
GQuark mb_tls_cert_error_quark (void);

typedef enum
{
  MB_TLS_CERT_ERROR_FAILED,
  MB_TLS_CERT_ERROR_BAD_FILE,
} MbTlsCertError;

/* Loads @cert_path + @key_path; if neither exists, generates a pair for
 * @hostname and writes it there first.  Only one of the two existing is an
 * error (never overwrite an admin's file). */
void             mb_tls_cert_load_or_generate_async (const char         *cert_path,
                                                     const char         *key_path,
                                                     const char         *hostname,
                                                     GCancellable       *cancellable,
                                                     GAsyncReadyCallback callback,
                                                     gpointer            user_data);
GTlsCertificate *mb_tls_cert_load_or_generate_finish (GAsyncResult *result,
                                                      GError      **error);

/* Blocking variant for tools and tests. */
gboolean mb_tls_cert_generate_files (const char *cert_path,
                                     const char *key_path,
                                     const char *hostname,
                                     GError    **error);

G_END_DECLS
