/* mb-tls-trust.h - a route's trust file: extra CAs for one upstream
 *
 * A route's `trust` key names a PEM file of CAs that may vouch for its
 * upstream (the SMTP server, the OAuth authority) in addition to the
 * system's CAs.  TLS is verified by the system first; only when that fails
 * does the "accept-certificate" handler ask mb_tls_trust_check(), which
 * accepts the peer only if a CA of the file vouches for it, for the same
 * identity and with no other flaw.  Nothing here can switch verification
 * off.
 */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

/**
 * mb_tls_trust_check:
 * @trust_file: (nullable): the route's trust file; NULL refuses.
 * @peer: the certificate the server presented.
 * @identity: the server's identity (host name and port).
 * @flags: (inout): on entry the system's verdict; on return, when the file
 *   does not vouch, the closest miss ("right CA, wrong name" says more than
 *   "unknown CA").
 * @problem: (out) (optional) (nullable): set when the file itself is
 *   unusable ("and the trust file X could not be read"); free it.
 *
 * Whether a CA of @trust_file vouches for @peer as @identity.  Reads the
 * (small, local) file: this blocks briefly, and only on the rare path where
 * the system CAs did not verify the peer.
 */
gboolean mb_tls_trust_check (const char           *trust_file,
                             GTlsCertificate      *peer,
                             GSocketConnectable   *identity,
                             GTlsCertificateFlags *flags,
                             char                **problem);

/* Plain language for @flags, e.g. "issued by an unknown authority, not
 * valid for the name smtp.example.com"; @problem (nullable) is appended. */
char *mb_tls_trust_describe (GTlsCertificateFlags flags,
                             const char          *host,
                             const char          *problem);

G_END_DECLS
