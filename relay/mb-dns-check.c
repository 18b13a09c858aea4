/* mb-dns-check.c - the tenant's MX host and SPF record, for the setup
 * assistant
 *
 * WHAT IT DOES
 *   Asks the default GResolver for a domain's MX records and picks the
 *   most preferred host, saying whether it is one of Microsoft 365's; asks
 *   for its TXT records and picks the SPF record, saying whether it
 *   includes Microsoft 365's and whether it allows a given IPv4 address.
 *
 * GUARANTEES
 *   - Asynchronous only: nothing blocks the caller's main context.  The
 *     domain is checked (and an internationalized one converted to
 *     A-labels) before DNS is asked; a malformed one is
 *     MB_DNS_CHECK_ERROR_INVALID_DOMAIN.
 *   - The lowest preference wins; among equals the first record DNS gave.
 *     A null MX ("0 .") means the domain takes no mail: _NOT_FOUND.
 *   - "No such record" from DNS is _NOT_FOUND, any other resolver failure
 *     _FAILED; cancellation stays G_IO_ERROR_CANCELLED.  Messages are
 *     translated sentences for the GUI.
 *
 * WHAT IT DOES NOT DO
 *   It does not follow SPF include: or redirect= (Microsoft's include is
 *   recognised by name), evaluate the SPF policy, or cache.  The relay's
 *   delivery looks up MX hosts itself (mb-route).  The MX host is never
 *   built from a pattern (M365-FACTS.md 1.3).
 *
 * RFC 5321 5.1 (MX preference), RFC 7505 (null MX), RFC 7208 3 and 4.5
 * (the SPF record: "v=spf1", TXT strings joined), RFC 7208 5.6 (ip4).
 */
#define G_LOG_DOMAIN "mb-dns-check"

#include "mb-dns-check.h"

#include "mb-config-syntax.h"

#include <glib/gi18n-lib.h>
#include <string.h>

#define SPF_VERSION "v=spf1"
#define MS_SPF_INCLUDE "spf.protection.outlook.com"

/* M365-FACTS.md 1.1 and 1.3: older and newer MX host names. */
static const char *const microsoft_mx_suffixes[] = {
  ".mail.protection.outlook.com",
  ".mx.microsoft",
};

typedef struct
{
  char *domain; /* (owned) A-labels */
  char *ip;     /* (owned) (nullable) */
} LookupData;

GQuark
mb_dns_check_error_quark (void)
{
  return g_quark_from_static_string ("mb-dns-check-error-quark");
}

static void
lookup_data_free (LookupData *data)
{
  g_free (data->domain);
  g_free (data->ip);
  g_free (data);
}

/* Errors */

/* The resolver's error in our domain, for the admin. */
static GError *
map_resolver_error (const GError *error,
                    const char   *domain,
                    const char   *not_found)
{
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return g_error_copy (error);
  if (g_error_matches (error, G_RESOLVER_ERROR, G_RESOLVER_ERROR_NOT_FOUND))
    return g_error_new (MB_DNS_CHECK_ERROR, MB_DNS_CHECK_ERROR_NOT_FOUND,
                        not_found, domain);
  return g_error_new (MB_DNS_CHECK_ERROR, MB_DNS_CHECK_ERROR_FAILED,
                      _ ("DNS could not be asked about %s (%s). Check this "
                         "computer's network connection and try again."),
                      domain, error->message);
}

/* Starts @task's lookup data, or returns the task with
 * MB_DNS_CHECK_ERROR_INVALID_DOMAIN. */
static gboolean
start_lookup (GTask *task, const char *domain, const char *ip)
{
  g_autofree char *normal = mb_config_syntax_normalize_domain (domain);
  LookupData      *data;

  if (normal == NULL)
    {
      g_task_return_new_error (task, MB_DNS_CHECK_ERROR,
                               MB_DNS_CHECK_ERROR_INVALID_DOMAIN,
                               _ ("“%s” is not a domain name; enter your "
                                  "domain like contoso.com."),
                               domain);
      return FALSE;
    }
  data = g_new0 (LookupData, 1);
  data->domain = g_ascii_strdown (normal, -1);
  data->ip = g_strdup (ip);
  g_task_set_task_data (task, data, (GDestroyNotify)lookup_data_free);
  return TRUE;
}

/* MX */

/* @records: (element-type GVariant) "(qs)". */
static MbDnsMx *
choose_mx (GList *records)
{
  GVariant *best = NULL;
  guint16   best_preference = 0;
  MbDnsMx  *mx;
  char     *host;
  gsize     len;

  for (GList *l = records; l != NULL; l = l->next)
    {
      guint16 preference;

      g_variant_get (l->data, "(q&s)", &preference, NULL);
      if (best == NULL || preference < best_preference)
        {
          best = l->data;
          best_preference = preference;
        }
    }
  if (best == NULL)
    return NULL;
  g_variant_get (best, "(qs)", NULL, &host);
  len = strlen (host);
  if (len > 0 && host[len - 1] == '.')
    host[len - 1] = '\0';
  /* RFC 7505: the host "." says the domain accepts no mail. */
  if (host[0] == '\0')
    {
      g_free (host);
      return NULL;
    }
  mx = g_new0 (MbDnsMx, 1);
  mx->host = host;
  mx->preference = best_preference;
  mx->is_microsoft = mb_dns_check_is_microsoft_mx (host);
  return mx;
}

static void
lookup_mx_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  LookupData *data = g_task_get_task_data (task);
  g_autoptr (GError) error = NULL;
  GList   *records;
  MbDnsMx *mx;

  records
      = g_resolver_lookup_records_finish (G_RESOLVER (source), result, &error);
  if (error != NULL)
    {
      g_task_return_error (
          task,
          map_resolver_error (error, data->domain,
                              _ ("The domain %s has no MX record, so it "
                                 "receives no mail. Check the spelling, or "
                                 "add the domain to Microsoft 365 first.")));
      return;
    }
  mx = choose_mx (records);
  g_list_free_full (records, (GDestroyNotify)g_variant_unref);
  if (mx == NULL)
    {
      g_task_return_new_error (task, MB_DNS_CHECK_ERROR,
                               MB_DNS_CHECK_ERROR_NOT_FOUND,
                               _ ("The domain %s has no MX record that takes "
                                  "mail. Check the spelling, or add the "
                                  "domain to Microsoft 365 first."),
                               data->domain);
      return;
    }
  g_task_return_pointer (task, mx, (GDestroyNotify)mb_dns_mx_free);
}

/* SPF */

/* Whether @spec ("A.B.C.D" or "A.B.C.D/N") contains @ip.  SPF allows host
 * bits in the network (RFC 7208 5.6), so the mask is applied to both. */
static gboolean
ip4_contains (const char *spec, GInetAddress *ip)
{
  const char      *slash = strchr (spec, '/');
  g_autofree char *text
      = slash != NULL ? g_strndup (spec, slash - spec) : g_strdup (spec);
  g_autoptr (GInetAddress) network = g_inet_address_new_from_string (text);
  const guint8 *a;
  const guint8 *b;
  guint64       length = 32;

  if (network == NULL
      || g_inet_address_get_family (network) != G_SOCKET_FAMILY_IPV4)
    return FALSE;
  if (slash != NULL
      && !g_ascii_string_to_unsigned (slash + 1, 10, 0, 32, &length, NULL))
    return FALSE;
  a = g_inet_address_to_bytes (network);
  b = g_inet_address_to_bytes (ip);
  for (guint i = 0; i < length; i++)
    {
      guint8 bit = 0x80 >> (i % 8);

      if ((a[i / 8] & bit) != (b[i / 8] & bit))
        return FALSE;
    }
  return TRUE;
}

/* Reads the mechanisms of @spf->record that Mailbridge cares about.  A
 * qualifier other than "+" (the default) does not allow. */
static void
read_spf_terms (MbDnsSpf *spf, const char *ip_text)
{
  g_auto (GStrv) terms = g_strsplit (spf->record, " ", -1);
  g_autoptr (GInetAddress) ip = NULL;

  if (ip_text != NULL)
    ip = g_inet_address_new_from_string (ip_text);
  if (ip != NULL && g_inet_address_get_family (ip) != G_SOCKET_FAMILY_IPV4)
    g_clear_object (&ip);

  for (gsize i = 0; terms[i] != NULL; i++)
    {
      const char *term = terms[i];

      if (*term == '+')
        term++;
      if (g_ascii_strncasecmp (term, "include:", 8) == 0
          && g_ascii_strcasecmp (term + 8, MS_SPF_INCLUDE) == 0)
        spf->includes_microsoft = TRUE;
      else if (g_ascii_strncasecmp (term, "ip4:", 4) == 0 && ip != NULL
               && ip4_contains (term + 4, ip))
        spf->allows_ip = TRUE;
    }
}

/* The TXT record whose joined strings start with "v=spf1" (then a space
 * or the end); @records: (element-type GVariant) "(as)". */
static char *
find_spf_record (GList *records)
{
  for (GList *l = records; l != NULL; l = l->next)
    {
      g_autoptr (GVariantIter) iter = NULL;
      const char *part;
      GString    *joined = g_string_new (NULL);

      g_variant_get (l->data, "(as)", &iter);
      while (g_variant_iter_next (iter, "&s", &part))
        g_string_append (joined, part);
      if (g_ascii_strncasecmp (joined->str, SPF_VERSION, strlen (SPF_VERSION))
              == 0
          && (joined->str[strlen (SPF_VERSION)] == ' '
              || joined->str[strlen (SPF_VERSION)] == '\0'))
        return g_string_free (joined, FALSE);
      g_string_free (joined, TRUE);
    }
  return NULL;
}

static void
lookup_spf_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  LookupData *data = g_task_get_task_data (task);
  const char *not_found = _ ("The domain %s has no SPF record (a TXT record "
                             "that starts with v=spf1).");
  g_autoptr (GError) error = NULL;
  GList    *records;
  char     *record;
  MbDnsSpf *spf;

  records
      = g_resolver_lookup_records_finish (G_RESOLVER (source), result, &error);
  if (error != NULL)
    {
      g_task_return_error (task,
                           map_resolver_error (error, data->domain, not_found));
      return;
    }
  record = find_spf_record (records);
  g_list_free_full (records, (GDestroyNotify)g_variant_unref);
  if (record == NULL)
    {
      g_task_return_new_error (task, MB_DNS_CHECK_ERROR,
                               MB_DNS_CHECK_ERROR_NOT_FOUND, not_found,
                               data->domain);
      return;
    }
  spf = g_new0 (MbDnsSpf, 1);
  spf->record = record;
  read_spf_terms (spf, data->ip);
  g_task_return_pointer (task, spf, (GDestroyNotify)mb_dns_spf_free);
}

/* Public API */

void
mb_dns_mx_free (MbDnsMx *mx)
{
  if (mx == NULL)
    return;
  g_free (mx->host);
  g_free (mx);
}

void
mb_dns_spf_free (MbDnsSpf *spf)
{
  if (spf == NULL)
    return;
  g_free (spf->record);
  g_free (spf);
}

gboolean
mb_dns_check_is_microsoft_mx (const char *host)
{
  g_autofree char *lower = NULL;
  gsize            len;

  g_return_val_if_fail (host != NULL, FALSE);

  lower = g_ascii_strdown (host, -1);
  len = strlen (lower);
  if (len > 0 && lower[len - 1] == '.')
    lower[len - 1] = '\0';
  for (gsize i = 0; i < G_N_ELEMENTS (microsoft_mx_suffixes); i++)
    if (g_str_has_suffix (lower, microsoft_mx_suffixes[i])
        && strlen (lower) > strlen (microsoft_mx_suffixes[i]))
      return TRUE;
  return FALSE;
}

void
mb_dns_check_lookup_mx_async (const char         *domain,
                              GCancellable       *cancellable,
                              GAsyncReadyCallback callback,
                              gpointer            user_data)
{
  g_autoptr (GTask) task = NULL;
  g_autoptr (GResolver) resolver = NULL;
  LookupData *data;

  g_return_if_fail (domain != NULL);
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  task = g_task_new (NULL, cancellable, callback, user_data);
  g_task_set_source_tag (task, mb_dns_check_lookup_mx_async);
  if (!start_lookup (task, domain, NULL))
    return;
  data = g_task_get_task_data (task);
  resolver = g_resolver_get_default ();
  g_resolver_lookup_records_async (resolver, data->domain, G_RESOLVER_RECORD_MX,
                                   cancellable, lookup_mx_cb,
                                   g_steal_pointer (&task));
}

MbDnsMx *
mb_dns_check_lookup_mx_finish (GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, NULL), NULL);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result))
                            == mb_dns_check_lookup_mx_async,
                        NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}

void
mb_dns_check_lookup_spf_async (const char         *domain,
                               const char         *ip,
                               GCancellable       *cancellable,
                               GAsyncReadyCallback callback,
                               gpointer            user_data)
{
  g_autoptr (GTask) task = NULL;
  g_autoptr (GResolver) resolver = NULL;
  LookupData *data;

  g_return_if_fail (domain != NULL);
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  task = g_task_new (NULL, cancellable, callback, user_data);
  g_task_set_source_tag (task, mb_dns_check_lookup_spf_async);
  if (!start_lookup (task, domain, ip))
    return;
  data = g_task_get_task_data (task);
  resolver = g_resolver_get_default ();
  g_resolver_lookup_records_async (resolver, data->domain,
                                   G_RESOLVER_RECORD_TXT, cancellable,
                                   lookup_spf_cb, g_steal_pointer (&task));
}

MbDnsSpf *
mb_dns_check_lookup_spf_finish (GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, NULL), NULL);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result))
                            == mb_dns_check_lookup_spf_async,
                        NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}
