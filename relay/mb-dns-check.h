/* mb-dns-check.h - the tenant's MX host and SPF record from DNS
 *
 * The MX methods (Direct Send, connector) deliver to the tenant's MX
 * host, read from DNS, never built from a pattern (new domains get
 * <domain>.<random>.mx.microsoft; older ones
 * <domain-with-dashes>.mail.protection.outlook.com).  The setup assistant
 * looks it up and shows whether it is Microsoft 365's, and reads the
 * domain's SPF record to say whether it already allows Microsoft 365 and
 * the relay's public IP.
 *
 * Asynchronous (GResolver); uses g_resolver_get_default(), so tests
 * install a fake resolver with g_resolver_set_default().
 */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

#define MB_DNS_CHECK_ERROR (mb_dns_check_error_quark ())
GQuark mb_dns_check_error_quark (void);

typedef enum
{
  MB_DNS_CHECK_ERROR_INVALID_DOMAIN, /* not a domain name */
  MB_DNS_CHECK_ERROR_NOT_FOUND,      /* the domain has no MX (or no SPF) */
  MB_DNS_CHECK_ERROR_FAILED,         /* DNS could not be asked (offline) */
} MbDnsCheckError;

typedef struct
{
  char    *host;         /* (owned) the most preferred MX host */
  guint16  preference;   /* its preference */
  gboolean is_microsoft; /* ends in .mail.protection.outlook.com or
                          * .mx.microsoft */
} MbDnsMx;

void mb_dns_mx_free (MbDnsMx *mx);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (MbDnsMx, mb_dns_mx_free)

/* Whether @host is one of Microsoft 365's MX host names. */
gboolean mb_dns_check_is_microsoft_mx (const char *host);

void     mb_dns_check_lookup_mx_async (const char         *domain,
                                       GCancellable       *cancellable,
                                       GAsyncReadyCallback callback,
                                       gpointer            user_data);
MbDnsMx *mb_dns_check_lookup_mx_finish (GAsyncResult *result, GError **error);

typedef struct
{
  char    *record;             /* (owned) the v=spf1 TXT record */
  gboolean includes_microsoft; /* include:spf.protection.outlook.com */
  gboolean allows_ip;          /* has ip4:<the IP asked for> (exact or in
                                * a CIDR range) */
} MbDnsSpf;

void mb_dns_spf_free (MbDnsSpf *spf);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (MbDnsSpf, mb_dns_spf_free)

/* @ip: (nullable) the relay's public IPv4 to look for in the record. */
void      mb_dns_check_lookup_spf_async (const char         *domain,
                                         const char         *ip,
                                         GCancellable       *cancellable,
                                         GAsyncReadyCallback callback,
                                         gpointer            user_data);
MbDnsSpf *mb_dns_check_lookup_spf_finish (GAsyncResult *result, GError **error);

G_END_DECLS
