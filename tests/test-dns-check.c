/* test-dns-check.c - unit tests of mb-dns-check
 *
 * A fake GResolver, installed with g_resolver_set_default(), answers MX
 * and TXT questions from a table (records, "no such record", or a
 * failure) and counts them, so the tests see which questions were asked
 * and never touch the network.
 */
#include "mb-dns-check.h"

#include "mb-test-util.h"

#include <string.h>

/* The fake resolver */

typedef struct
{
  const char         *name;
  GResolverRecordType type;
  const char         *records; /* MX: "PREF HOST;..."; TXT: "a|b;..." (a
                                * record's strings split by '|'); NULL: no
                                * such record */
  gboolean fail;               /* a temporary failure instead */
} FakeAnswer;

static const FakeAnswer fake_answers[] = {
  { "contoso.com", G_RESOLVER_RECORD_MX,
    "20 backup.contoso.com;10 contoso-com.mail.protection.outlook.com;"
    "10 second.contoso.com",
    FALSE },
  { "fabrikam.com", G_RESOLVER_RECORD_MX, "0 fabrikam-com.a1b2c3.mx.microsoft",
    FALSE },
  { "example.org", G_RESOLVER_RECORD_MX, "5 mail.example.org", FALSE },
  { "nomail.example", G_RESOLVER_RECORD_MX, "0 .", FALSE },
  { "empty.example", G_RESOLVER_RECORD_MX, "", FALSE },
  { "broken.example", G_RESOLVER_RECORD_MX, NULL, TRUE },
  { "xn--bcher-kva.example", G_RESOLVER_RECORD_MX,
    "10 mx.xn--bcher-kva.example", FALSE },
  { "contoso.com", G_RESOLVER_RECORD_TXT,
    "MS=ms12345678;"
    "v=spf1 ip4:203.0.113.10 |include:spf.protection.outlook.com ~all",
    FALSE },
  { "fabrikam.com", G_RESOLVER_RECORD_TXT,
    "v=spf1 ip4:198.51.100.0/24 -all;google-site-verification=x", FALSE },
  { "example.org", G_RESOLVER_RECORD_TXT, "v=spf10 nothing;hello", FALSE },
  { "mixed.example", G_RESOLVER_RECORD_TXT,
    "V=SPF1 +INCLUDE:SPF.PROTECTION.OUTLOOK.COM -ip4:192.0.2.1 "
    "ip4:192.0.2.128/25 ip4:bogus ip4:192.0.2.0/33 ~all",
    FALSE },
  { "broken.example", G_RESOLVER_RECORD_TXT, NULL, TRUE },
};

typedef struct
{
  GResolver parent_instance;
  guint     questions;
} FakeResolver;

typedef struct
{
  GResolverClass parent_class;
} FakeResolverClass;

GType fake_resolver_get_type (void);
G_DEFINE_TYPE (FakeResolver, fake_resolver, G_TYPE_RESOLVER)

static GVariant *
make_record (GResolverRecordType type, const char *text)
{
  if (type == G_RESOLVER_RECORD_MX)
    {
      const char      *space = strchr (text, ' ');
      g_autofree char *preference = g_strndup (text, space - text);

      return g_variant_new ("(qs)", (guint16)atoi (preference), space + 1);
    }
  else
    {
      g_auto (GStrv) parts = g_strsplit (text, "|", -1);

      return g_variant_new ("(^as)", parts);
    }
}

static GList *
fake_answer (GResolver          *resolver,
             const char         *name,
             GResolverRecordType type,
             GError            **error)
{
  ((FakeResolver *)resolver)->questions++;
  for (gsize i = 0; i < G_N_ELEMENTS (fake_answers); i++)
    {
      const FakeAnswer *answer = &fake_answers[i];
      g_auto (GStrv) items = NULL;
      GList *records = NULL;

      if (strcmp (answer->name, name) != 0 || answer->type != type)
        continue;
      if (answer->fail)
        {
          g_set_error (error, G_RESOLVER_ERROR,
                       G_RESOLVER_ERROR_TEMPORARY_FAILURE,
                       "Temporary failure in name resolution");
          return NULL;
        }
      items = g_strsplit (answer->records, ";", -1);
      for (gsize j = 0; items[j] != NULL; j++)
        if (*items[j] != '\0')
          records = g_list_append (
              records, g_variant_ref_sink (make_record (type, items[j])));
      if (records == NULL)
        break;
      return records;
    }
  g_set_error (error, G_RESOLVER_ERROR, G_RESOLVER_ERROR_NOT_FOUND,
               "No DNS record of the requested type for “%s”", name);
  return NULL;
}

static GList *
fake_lookup_records (GResolver          *resolver,
                     const char         *rrname,
                     GResolverRecordType record_type,
                     GCancellable       *cancellable,
                     GError            **error)
{
  if (g_cancellable_set_error_if_cancelled (cancellable, error))
    return NULL;
  return fake_answer (resolver, rrname, record_type, error);
}

static void
fake_lookup_records_async (GResolver          *resolver,
                           const char         *rrname,
                           GResolverRecordType record_type,
                           GCancellable       *cancellable,
                           GAsyncReadyCallback callback,
                           gpointer            user_data)
{
  g_autoptr (GTask) task
      = g_task_new (resolver, cancellable, callback, user_data);
  GError *error = NULL;
  GList  *records;

  if (g_task_return_error_if_cancelled (task))
    return;
  records = fake_answer (resolver, rrname, record_type, &error);
  if (error != NULL)
    g_task_return_error (task, error);
  else
    g_task_return_pointer (task, records, NULL);
}

static GList *
fake_lookup_records_finish (GResolver    *resolver,
                            GAsyncResult *result,
                            GError      **error)
{
  return g_task_propagate_pointer (G_TASK (result), error);
}

static void
fake_resolver_class_init (FakeResolverClass *klass)
{
  GResolverClass *resolver_class = G_RESOLVER_CLASS (klass);

  resolver_class->lookup_records = fake_lookup_records;
  resolver_class->lookup_records_async = fake_lookup_records_async;
  resolver_class->lookup_records_finish = fake_lookup_records_finish;
}

static void
fake_resolver_init (FakeResolver *self)
{
}

static FakeResolver *fake; /* (owned) the default resolver */

/* Helpers */

static MbDnsMx *
lookup_mx (const char *domain, GCancellable *cancellable, GError **error)
{
  g_autoptr (GAsyncResult) result = NULL;

  mb_dns_check_lookup_mx_async (domain, cancellable, mb_test_store_result_cb,
                                &result);
  mb_test_wait_for_result (&result);
  return mb_dns_check_lookup_mx_finish (result, error);
}

static MbDnsSpf *
lookup_spf (const char *domain, const char *ip, GError **error)
{
  g_autoptr (GAsyncResult) result = NULL;

  mb_dns_check_lookup_spf_async (domain, ip, NULL, mb_test_store_result_cb,
                                 &result);
  mb_test_wait_for_result (&result);
  return mb_dns_check_lookup_spf_finish (result, error);
}

/* Microsoft's MX names */

/* Both generations of Microsoft 365 MX host names are recognised, in any
 * case and with a final dot; look-alikes are not. */
static void
test_is_microsoft (void)
{
  static const struct
  {
    const char *host;
    gboolean    microsoft;
  } cases[] = {
    { "contoso-com.mail.protection.outlook.com", TRUE },
    { "CONTOSO-COM.MAIL.PROTECTION.OUTLOOK.COM.", TRUE },
    { "contoso-com.a1b2c3.mx.microsoft", TRUE },
    { "contoso.mx.microsoft.", TRUE },
    { "mail.protection.outlook.com", FALSE },
    { ".mx.microsoft", FALSE },
    { "mx.microsoft", FALSE },
    { "contoso.mail.protection.outlook.com.evil.example", FALSE },
    { "mx.microsoft.evil.example", FALSE },
    { "smtp.office365.com", FALSE },
    { "mail.contoso.com", FALSE },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    if (mb_dns_check_is_microsoft_mx (cases[i].host) != cases[i].microsoft)
      g_test_fail_printf ("%s: expected %s", cases[i].host,
                          cases[i].microsoft ? "Microsoft" : "not Microsoft");
}

/* MX */

typedef struct
{
  const char *name;
  const char *domain;
  const char *host; /* NULL: an error */
  guint16     preference;
  gboolean    microsoft;
  gint        code;
  const char *needle;
} MxCase;

static const MxCase mx_cases[] = {
  /* The lowest preference, the first of two equal ones. */
  { "lowest-preference", "contoso.com",
    "contoso-com.mail.protection.outlook.com", 10, TRUE },
  { "mx-microsoft", "fabrikam.com", "fabrikam-com.a1b2c3.mx.microsoft", 0,
    TRUE },
  { "other-host", "example.org", "mail.example.org", 5, FALSE },
  { "upper-case", "Contoso.COM", "contoso-com.mail.protection.outlook.com", 10,
    TRUE },
  { "idn", "bücher.example", "mx.xn--bcher-kva.example", 10, FALSE },
  { "no-record", "unknown.example", NULL, 0, FALSE,
    MB_DNS_CHECK_ERROR_NOT_FOUND,
    "The domain unknown.example has no MX record" },
  { "empty-answer", "empty.example", NULL, 0, FALSE,
    MB_DNS_CHECK_ERROR_NOT_FOUND, "has no MX record" },
  { "null-mx", "nomail.example", NULL, 0, FALSE, MB_DNS_CHECK_ERROR_NOT_FOUND,
    "has no MX record that takes mail" },
  { "dns-failure", "broken.example", NULL, 0, FALSE, MB_DNS_CHECK_ERROR_FAILED,
    "DNS could not be asked about broken.example" },
};

/* The most preferred MX host, whether it is Microsoft's, and each way the
 * lookup can fail, as our error codes. */
static void
test_mx (gconstpointer data)
{
  const MxCase *c = data;
  g_autoptr (GError) error = NULL;
  g_autoptr (MbDnsMx) mx = lookup_mx (c->domain, NULL, &error);

  if (c->host == NULL)
    {
      g_assert_null (mx);
      g_assert_error (error, MB_DNS_CHECK_ERROR, c->code);
      if (strstr (error->message, c->needle) == NULL)
        g_test_fail_printf ("“%s” does not contain “%s”", error->message,
                            c->needle);
      return;
    }
  g_assert_no_error (error);
  g_assert_nonnull (mx);
  g_assert_cmpstr (mx->host, ==, c->host);
  g_assert_cmpuint (mx->preference, ==, c->preference);
  g_assert_cmpint (mx->is_microsoft, ==, c->microsoft);
}

/* A malformed domain is refused before DNS is asked. */
static void
test_invalid_domain (void)
{
  const char *domains[] = { "",           "contoso", "contoso .com",
                            "-x.example", "a..b",    "scanner@contoso.com" };

  for (gsize i = 0; i < G_N_ELEMENTS (domains); i++)
    {
      guint before = fake->questions;
      g_autoptr (GError) error = NULL;
      g_autoptr (GError) spf_error = NULL;
      g_autoptr (MbDnsMx) mx = lookup_mx (domains[i], NULL, &error);
      g_autoptr (MbDnsSpf) spf = lookup_spf (domains[i], NULL, &spf_error);

      g_assert_null (mx);
      g_assert_null (spf);
      g_assert_error (error, MB_DNS_CHECK_ERROR,
                      MB_DNS_CHECK_ERROR_INVALID_DOMAIN);
      g_assert_error (spf_error, MB_DNS_CHECK_ERROR,
                      MB_DNS_CHECK_ERROR_INVALID_DOMAIN);
      g_assert_cmpuint (fake->questions, ==, before);
    }
  /* The counter does count. */
  {
    g_autoptr (MbDnsMx) mx = lookup_mx ("example.org", NULL, NULL);
    guint questions = fake->questions;

    g_assert_nonnull (mx);
    g_clear_pointer (&mx, mb_dns_mx_free);
    mx = lookup_mx ("example.org", NULL, NULL);
    g_assert_cmpuint (fake->questions, ==, questions + 1);
  }
}

/* A cancelled lookup reports G_IO_ERROR_CANCELLED, not a DNS failure. */
static void
test_cancelled (void)
{
  g_autoptr (GCancellable) cancellable = g_cancellable_new ();
  g_autoptr (GError) error = NULL;
  g_autoptr (MbDnsMx) mx = NULL;

  g_cancellable_cancel (cancellable);
  mx = lookup_mx ("contoso.com", cancellable, &error);
  g_assert_null (mx);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
}

/* SPF */

typedef struct
{
  const char *domain;
  const char *ip;
  const char *record; /* NULL: an error */
  gboolean    microsoft;
  gboolean    allows;
  gint        code;
} SpfCase;

static const SpfCase spf_cases[] = {
  /* The strings of one TXT record are joined; other TXT records skipped. */
  { "contoso.com", "203.0.113.10",
    "v=spf1 ip4:203.0.113.10 include:spf.protection.outlook.com ~all", TRUE,
    TRUE },
  { "contoso.com", "203.0.113.11",
    "v=spf1 ip4:203.0.113.10 include:spf.protection.outlook.com ~all", TRUE,
    FALSE },
  { "contoso.com", NULL,
    "v=spf1 ip4:203.0.113.10 include:spf.protection.outlook.com ~all", TRUE,
    FALSE },
  /* Inside and outside a CIDR range; no include. */
  { "fabrikam.com", "198.51.100.77", "v=spf1 ip4:198.51.100.0/24 -all", FALSE,
    TRUE },
  { "fabrikam.com", "198.51.101.1", "v=spf1 ip4:198.51.100.0/24 -all", FALSE,
    FALSE },
  { "fabrikam.com", "2001:db8::1", "v=spf1 ip4:198.51.100.0/24 -all", FALSE,
    FALSE },
  { "fabrikam.com", "not an ip", "v=spf1 ip4:198.51.100.0/24 -all", FALSE,
    FALSE },
  /* Any case, "+" qualifier; "-ip4" does not allow; host bits in the range
   * are ignored; malformed terms are skipped. */
  { "mixed.example", "192.0.2.1",
    "V=SPF1 +INCLUDE:SPF.PROTECTION.OUTLOOK.COM -ip4:192.0.2.1 "
    "ip4:192.0.2.128/25 ip4:bogus ip4:192.0.2.0/33 ~all",
    TRUE, FALSE },
  { "mixed.example", "192.0.2.200",
    "V=SPF1 +INCLUDE:SPF.PROTECTION.OUTLOOK.COM -ip4:192.0.2.1 "
    "ip4:192.0.2.128/25 ip4:bogus ip4:192.0.2.0/33 ~all",
    TRUE, TRUE },
  /* "v=spf10" is not an SPF record. */
  { "example.org", NULL, NULL, FALSE, FALSE, MB_DNS_CHECK_ERROR_NOT_FOUND },
  { "unknown.example", NULL, NULL, FALSE, FALSE, MB_DNS_CHECK_ERROR_NOT_FOUND },
  { "broken.example", NULL, NULL, FALSE, FALSE, MB_DNS_CHECK_ERROR_FAILED },
};

/* The SPF record is found among the TXT records and read for Microsoft's
 * include and for the relay's IP. */
static void
test_spf (gconstpointer data)
{
  const SpfCase *c = data;
  g_autoptr (GError) error = NULL;
  g_autoptr (MbDnsSpf) spf = lookup_spf (c->domain, c->ip, &error);

  if (c->record == NULL)
    {
      g_assert_null (spf);
      g_assert_error (error, MB_DNS_CHECK_ERROR, c->code);
      return;
    }
  g_assert_no_error (error);
  g_assert_nonnull (spf);
  g_assert_cmpstr (spf->record, ==, c->record);
  g_assert_cmpint (spf->includes_microsoft, ==, c->microsoft);
  g_assert_cmpint (spf->allows_ip, ==, c->allows);
}

int
main (int argc, char **argv)
{
  int status;

  g_test_init (&argc, &argv, NULL);

  fake = g_object_new (fake_resolver_get_type (), NULL);
  g_resolver_set_default (G_RESOLVER (fake));

  g_test_add_func ("/relay/dns-check/mx/is-microsoft", test_is_microsoft);
  for (gsize i = 0; i < G_N_ELEMENTS (mx_cases); i++)
    {
      g_autofree char *path
          = g_strdup_printf ("/relay/dns-check/mx/%s", mx_cases[i].name);

      g_test_add_data_func (path, &mx_cases[i], test_mx);
    }
  g_test_add_func ("/relay/dns-check/mx/invalid-domain", test_invalid_domain);
  g_test_add_func ("/relay/dns-check/mx/cancelled", test_cancelled);
  for (gsize i = 0; i < G_N_ELEMENTS (spf_cases); i++)
    {
      g_autofree char *path = g_strdup_printf (
          "/relay/dns-check/spf/%s-%" G_GSIZE_FORMAT, spf_cases[i].domain, i);

      g_test_add_data_func (path, &spf_cases[i], test_spf);
    }
  status = g_test_run ();
  g_object_unref (fake);
  return status;
}
