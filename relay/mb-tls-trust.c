/* mb-tls-trust.c - a route's trust file: extra CAs for one upstream
 *
 * Contract:
 *  - mb_tls_trust_check() accepts a peer certificate only when one CA of
 *    the trust file verifies it for the given identity with no flag at all
 *    (g_tls_certificate_verify): a trusted CA does not excuse a wrong name,
 *    an expired certificate or an insecure algorithm.
 *  - The system CAs are never replaced: callers ask here only after the
 *    system's own verification failed, from "accept-certificate".
 *  - The file is read each time it is asked (a handshake that failed the
 *    system check), so an edited file takes effect at the next connection.
 *
 * Not here: the handshake itself, TLS versions, client certificates.
 * Shared by the SMTP client and the OAuth client (the route's authority).
 */
#define G_LOG_DOMAIN "mb-tls-trust"

#include "mb-tls-trust.h"

gboolean
mb_tls_trust_check (const char           *trust_file,
                    GTlsCertificate      *peer,
                    GSocketConnectable   *identity,
                    GTlsCertificateFlags *flags,
                    char                **problem)
{
  g_autolist (GTlsCertificate) anchors = NULL;
  g_autoptr (GError) error = NULL;
  GTlsCertificateFlags best;

  g_return_val_if_fail (G_IS_TLS_CERTIFICATE (peer), FALSE);
  g_return_val_if_fail (G_IS_SOCKET_CONNECTABLE (identity), FALSE);
  g_return_val_if_fail (flags != NULL, FALSE);

  if (problem != NULL)
    *problem = NULL;
  if (trust_file == NULL)
    return FALSE;

  anchors = g_tls_certificate_list_new_from_file (trust_file, &error);
  if (error != NULL || anchors == NULL)
    {
      if (problem != NULL)
        *problem = g_strdup_printf ("and the trust file %s %s", trust_file,
                                    error != NULL ? "could not be read"
                                                  : "holds no certificate");
      return FALSE;
    }

  best = *flags;
  for (GList *l = anchors; l != NULL; l = l->next)
    {
      GTlsCertificateFlags verdict
          = g_tls_certificate_verify (peer, identity, l->data);

      if (verdict == 0)
        {
          *flags = 0;
          return TRUE;
        }
      if (__builtin_popcount (verdict) < __builtin_popcount (best))
        best = verdict;
    }
  *flags = best;
  return FALSE;
}

char *
mb_tls_trust_describe (GTlsCertificateFlags flags,
                       const char          *host,
                       const char          *problem)
{
  g_autoptr (GPtrArray) parts = g_ptr_array_new_with_free_func (g_free);

  if (flags & G_TLS_CERTIFICATE_UNKNOWN_CA)
    g_ptr_array_add (parts, g_strdup ("issued by an unknown authority"));
  if (flags & G_TLS_CERTIFICATE_BAD_IDENTITY)
    g_ptr_array_add (parts,
                     g_strdup_printf ("not valid for the name %s", host));
  if (flags & G_TLS_CERTIFICATE_NOT_ACTIVATED)
    g_ptr_array_add (parts, g_strdup ("not valid yet"));
  if (flags & G_TLS_CERTIFICATE_EXPIRED)
    g_ptr_array_add (parts, g_strdup ("expired"));
  if (flags & G_TLS_CERTIFICATE_REVOKED)
    g_ptr_array_add (parts, g_strdup ("revoked"));
  if (flags & G_TLS_CERTIFICATE_INSECURE)
    g_ptr_array_add (parts, g_strdup ("signed with an insecure algorithm"));
  if (parts->len == 0)
    g_ptr_array_add (parts, g_strdup ("could not be verified"));
  if (problem != NULL)
    g_ptr_array_add (parts, g_strdup (problem));
  g_ptr_array_add (parts, NULL);
  return g_strjoinv (", ", (char **)parts->pdata);
}
