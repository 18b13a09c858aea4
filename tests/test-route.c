/* test-route.c - the methods' profiles and limits, overrides, recipient
 * splitting, MX resolution with a fake GResolver, pausing on repeated
 * replies, resume, and local recipient checks. */
#include "mb-route.h"

#include "mb-test-util.h"

#include <stdio.h>
#include <string.h>

#define SERVER_TAG " [SN2PR00CA0018.namprd00.prod.outlook.com]"

/* Log lines with an MB_ROUTE field, captured by the writer in main(). */
static GPtrArray *route_log;

static GLogWriterOutput
capture_writer (GLogLevelFlags   level,
                const GLogField *fields,
                gsize            n_fields,
                gpointer         user_data)
{
  const char *message = NULL;
  gboolean    has_route = FALSE;

  for (gsize i = 0; i < n_fields; i++)
    {
      if (strcmp (fields[i].key, "MB_ROUTE") == 0)
        has_route = TRUE;
      else if (strcmp (fields[i].key, "MESSAGE") == 0)
        message = fields[i].value;
    }
  if (has_route && message != NULL)
    {
      g_ptr_array_add (route_log, g_strdup (message));
      return G_LOG_WRITER_HANDLED;
    }
  return g_log_writer_default (level, fields, n_fields, user_data);
}

/* Fake resolver: answers MX lookups from a fixed list or error, from an
 * idle (like a real lookup), and counts the lookups. */
#define FAKE_TYPE_RESOLVER (fake_resolver_get_type ())
G_DECLARE_FINAL_TYPE (FakeResolver, fake_resolver, FAKE, RESOLVER, GResolver)

struct _FakeResolver
{
  GResolver parent_instance;

  GPtrArray          *records; /* (element-type GVariant) (owned) "(qs)" */
  GError             *error;   /* (owned) (nullable) */
  guint               n_lookups;
  char               *last_name; /* (owned) (nullable) */
  GResolverRecordType last_type;
};

G_DEFINE_TYPE (FakeResolver, fake_resolver, G_TYPE_RESOLVER)

static GList *
fake_answer (FakeResolver *self, GError **error)
{
  GList *records = NULL;

  if (self->error != NULL)
    {
      g_propagate_error (error, g_error_copy (self->error));
      return NULL;
    }
  for (guint i = self->records->len; i-- > 0;)
    records = g_list_prepend (records, g_variant_ref (self->records->pdata[i]));
  return records;
}

static void
free_records (gpointer records)
{
  g_list_free_full (records, (GDestroyNotify)g_variant_unref);
}

static GList *
fake_lookup_records (GResolver          *resolver,
                     const char         *rrname,
                     GResolverRecordType record_type,
                     GCancellable       *cancellable,
                     GError            **error)
{
  FakeResolver *self = FAKE_RESOLVER (resolver);

  self->n_lookups++;
  g_free (self->last_name);
  self->last_name = g_strdup (rrname);
  self->last_type = record_type;
  return fake_answer (self, error);
}

static void
fake_lookup_records_async (GResolver          *resolver,
                           const char         *rrname,
                           GResolverRecordType record_type,
                           GCancellable       *cancellable,
                           GAsyncReadyCallback callback,
                           gpointer            user_data)
{
  FakeResolver *self = FAKE_RESOLVER (resolver);
  g_autoptr (GTask) task
      = g_task_new (resolver, cancellable, callback, user_data);
  g_autoptr (GError) error = NULL;
  GList *records;

  self->n_lookups++;
  g_free (self->last_name);
  self->last_name = g_strdup (rrname);
  self->last_type = record_type;
  records = fake_answer (self, &error);
  if (error != NULL)
    g_task_return_error (task, g_steal_pointer (&error));
  else
    g_task_return_pointer (task, records, free_records);
}

static GList *
fake_lookup_records_finish (GResolver    *resolver,
                            GAsyncResult *result,
                            GError      **error)
{
  return g_task_propagate_pointer (G_TASK (result), error);
}

static void
fake_resolver_finalize (GObject *object)
{
  FakeResolver *self = FAKE_RESOLVER (object);

  g_ptr_array_unref (self->records);
  g_clear_error (&self->error);
  g_free (self->last_name);
  G_OBJECT_CLASS (fake_resolver_parent_class)->finalize (object);
}

static void
fake_resolver_class_init (FakeResolverClass *klass)
{
  GResolverClass *resolver_class = G_RESOLVER_CLASS (klass);

  G_OBJECT_CLASS (klass)->finalize = fake_resolver_finalize;
  resolver_class->lookup_records = fake_lookup_records;
  resolver_class->lookup_records_async = fake_lookup_records_async;
  resolver_class->lookup_records_finish = fake_lookup_records_finish;
}

static void
fake_resolver_init (FakeResolver *self)
{
  self->records
      = g_ptr_array_new_with_free_func ((GDestroyNotify)g_variant_unref);
}

static void
fake_resolver_add_mx (FakeResolver *self, guint16 preference, const char *host)
{
  g_ptr_array_add (self->records, g_variant_ref_sink (g_variant_new (
                                      "(qs)", preference, host)));
}

/* Helpers */

typedef struct
{
  MbRouteMethod method;
  const char   *host;
  guint16       port;
  const char   *domain;
  MbRouteTls    tls;
} RouteSpec;

static MbRoute *
new_route (MbRouteMethod method, const char *host, const char *domain)
{
  MbRouteConfig config = { 0 };

  config.name = (char *)"office";
  config.method = method;
  config.host = (char *)host;
  config.domain = (char *)domain;
  config.tls = method == MB_ROUTE_METHOD_DIRECT_SEND
                   ? MB_ROUTE_TLS_OPPORTUNISTIC
                   : MB_ROUTE_TLS_REQUIRED;
  return mb_route_new (&config);
}

typedef struct
{
  gboolean   done;
  GPtrArray *hosts;
  guint16    port;
  GError    *error;
} ResolveResult;

static void
resolve_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  ResolveResult *out = user_data;

  out->hosts = mb_route_resolve_finish (MB_ROUTE (source), result, &out->port,
                                        &out->error);
  out->done = TRUE;
}

/* Runs a resolution to the end: iterates the main context until done. */
static void
resolve (MbRoute       *route,
         GResolver     *resolver,
         const char    *recipient_domain,
         GCancellable  *cancellable,
         ResolveResult *out)
{
  memset (out, 0, sizeof *out);
  mb_route_resolve_async (route, resolver, recipient_domain, cancellable,
                          resolve_cb, out);
  g_assert_false (out->done); /* never completes inside the call */
  MB_TEST_WAIT_UNTIL (out->done);
}

static void
resolve_result_clear (ResolveResult *out)
{
  g_clear_pointer (&out->hosts, g_ptr_array_unref);
  g_clear_error (&out->error);
}

static MbSmtpReply *
reply (guint code, const char *enhanced, const char *text)
{
  return mb_smtp_reply_new (code, enhanced, text);
}

/* Feeds one reply and frees it. */
static void
feed (MbRoute *route, guint code, const char *enhanced, const char *text)
{
  g_autoptr (MbSmtpReply) r = reply (code, enhanced, text);

  mb_route_record_result (route, r);
}

static void
on_state_changed_cb (MbRoute *route, MbRouteState old_state, gpointer data)
{
  GArray *transitions = data;
  guint   pair[2] = { old_state, mb_route_get_state (route) };

  g_array_append_vals (transitions, pair, 2);
}

static void
on_notify_cb (GObject *object, GParamSpec *pspec, gpointer data)
{
  GPtrArray *names = data;

  g_ptr_array_add (names, g_strdup (pspec->name));
}

static guint
count_string (GPtrArray *strings, const char *s)
{
  guint n = 0;

  for (guint i = 0; i < strings->len; i++)
    if (strcmp (strings->pdata[i], s) == 0)
      n++;
  return n;
}

/* Profiles */

typedef struct
{
  MbRouteMethod       method;
  const char         *host;
  guint16             port;
  MbRouteTls          tls;
  gboolean            auth_required;
  gboolean            internal_only;
  gboolean            split_by_domain;
  MbRouteLimits       limits;
  MbRouteLimitsSource source;
} ProfileCase;

/* The table holds DESIGN.md's methods and M365-FACTS.md's limits. */
static void
test_profile_table (void)
{
  static const ProfileCase cases[] = {
    { MB_ROUTE_METHOD_SUBMISSION,
      "smtp.office365.com",
      587,
      MB_ROUTE_TLS_REQUIRED,
      TRUE,
      FALSE,
      FALSE,
      { 3, 30, 60, 10000, 500 },
      MB_ROUTE_LIMITS_DOCUMENTED },
    { MB_ROUTE_METHOD_DIRECT_SEND,
      NULL,
      25,
      MB_ROUTE_TLS_OPPORTUNISTIC,
      FALSE,
      TRUE,
      TRUE,
      { 3, 60, 60, 10000, 200 },
      MB_ROUTE_LIMITS_CHOSEN },
    { MB_ROUTE_METHOD_CONNECTOR,
      NULL,
      25,
      MB_ROUTE_TLS_REQUIRED,
      FALSE,
      FALSE,
      TRUE,
      { 3, 60, 60, 10000, 200 },
      MB_ROUTE_LIMITS_CHOSEN },
    { MB_ROUTE_METHOD_HVE,
      "smtp.hve.mx.microsoft",
      587,
      MB_ROUTE_TLS_REQUIRED,
      TRUE,
      TRUE,
      FALSE,
      { 3, 30, 60, 10000, 500 },
      MB_ROUTE_LIMITS_UNCONFIRMED },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      const ProfileCase    *c = &cases[i];
      const MbRouteProfile *p = mb_route_profile_lookup (c->method);

      g_assert_nonnull (p);
      g_assert_cmpint (p->method, ==, c->method);
      g_assert_cmpstr (p->host, ==, c->host);
      g_assert_cmpuint (p->port, ==, c->port);
      g_assert_cmpint (p->tls, ==, c->tls);
      g_assert_cmpint (p->auth_required, ==, c->auth_required);
      g_assert_cmpint (p->internal_only, ==, c->internal_only);
      g_assert_cmpint (p->split_by_domain, ==, c->split_by_domain);
      g_assert_cmpuint (p->limits.max_connections, ==,
                        c->limits.max_connections);
      g_assert_cmpuint (p->limits.rate_limit_messages, ==,
                        c->limits.rate_limit_messages);
      g_assert_cmpint (p->limits.rate_limit_window, ==,
                       c->limits.rate_limit_window);
      g_assert_cmpuint (p->limits.daily_recipient_limit, ==,
                        c->limits.daily_recipient_limit);
      g_assert_cmpuint (p->limits.recipients_per_transaction, ==,
                        c->limits.recipients_per_transaction);
      g_assert_cmpint (p->limits_source, ==, c->source);
    }
}

/* A route takes the configuration's values where set (0 = profile), and
 * never allows a batch larger than its daily budget. */
static void
test_limits_overrides (void)
{
  MbRouteConfig config = { 0 };
  g_autoptr (MbRoute) plain
      = new_route (MB_ROUTE_METHOD_SUBMISSION, NULL, NULL);
  g_autoptr (MbRoute) tuned = NULL;
  g_autoptr (MbRoute) small = NULL;
  const MbRouteLimits *limits;

  limits = mb_route_get_limits (plain);
  g_assert_cmpuint (limits->max_connections, ==, 3);
  g_assert_cmpuint (limits->rate_limit_messages, ==, 30);
  g_assert_cmpint (limits->rate_limit_window, ==, 60);
  g_assert_cmpuint (limits->daily_recipient_limit, ==, 10000);
  g_assert_cmpuint (limits->recipients_per_transaction, ==, 500);
  g_assert_cmpuint (mb_route_get_port (plain), ==, 587);
  g_assert_null (mb_route_get_host (plain));

  config.name = (char *)"tuned";
  config.method = MB_ROUTE_METHOD_DIRECT_SEND;
  config.host = (char *)"contoso-com.mail.protection.outlook.com";
  config.port = 2525;
  config.domain = (char *)"Contoso.COM.";
  config.mailbox = (char *)"scanner@contoso.com";
  config.max_connections = 1;
  config.rate_limit_messages = 30;
  config.rate_limit_window = 2;
  config.recipients_per_transaction = 50;
  tuned = mb_route_new (&config);
  limits = mb_route_get_limits (tuned);
  g_assert_cmpuint (limits->max_connections, ==, 1);
  g_assert_cmpuint (limits->rate_limit_messages, ==, 30);
  g_assert_cmpint (limits->rate_limit_window, ==, 2);
  g_assert_cmpuint (limits->daily_recipient_limit, ==, 10000); /* profile */
  g_assert_cmpuint (limits->recipients_per_transaction, ==, 50);
  g_assert_cmpstr (mb_route_get_name (tuned), ==, "tuned");
  g_assert_cmpstr (mb_route_get_host (tuned), ==,
                   "contoso-com.mail.protection.outlook.com");
  g_assert_cmpuint (mb_route_get_port (tuned), ==, 2525);
  g_assert_cmpstr (mb_route_get_domain (tuned), ==, "contoso.com");
  g_assert_cmpstr (mb_route_get_mailbox (tuned), ==, "scanner@contoso.com");
  g_assert_cmpint (mb_route_get_method (tuned), ==,
                   MB_ROUTE_METHOD_DIRECT_SEND);
  g_assert_true (mb_route_get_profile (tuned)
                 == mb_route_profile_lookup (MB_ROUTE_METHOD_DIRECT_SEND));

  /* The route copied what it needs: the config may go away. */
  config.name = (char *)"changed";
  g_assert_cmpstr (mb_route_get_name (tuned), ==, "tuned");

  memset (&config, 0, sizeof config);
  config.name = (char *)"small";
  config.method = MB_ROUTE_METHOD_SUBMISSION;
  config.daily_recipient_limit = 100;
  small = mb_route_new (&config);
  limits = mb_route_get_limits (small);
  g_assert_cmpuint (limits->daily_recipient_limit, ==, 100);
  g_assert_cmpuint (limits->recipients_per_transaction, ==, 100);
}

/* The route's pacer carries its effective limits, windows in
 * microseconds, recipients over 24 h. */
static void
test_limits_pacer (void)
{
  MbRouteConfig config = { 0 };
  g_autoptr (MbRoute) route = NULL;
  MbPacer *pacer;

  config.name = (char *)"test-scale";
  config.method = MB_ROUTE_METHOD_SUBMISSION;
  config.rate_limit_window = 2;
  route = mb_route_new (&config);
  pacer = mb_route_get_pacer (route);
  g_assert_true (pacer == mb_route_get_pacer (route));
  g_assert_cmpuint (mb_pacer_get_max_connections (pacer), ==, 3);
  g_assert_cmpuint (mb_pacer_get_max_messages (pacer), ==, 30);
  g_assert_cmpint (mb_pacer_get_message_window (pacer), ==, 2 * G_USEC_PER_SEC);
  g_assert_cmpuint (mb_pacer_get_max_recipients (pacer), ==, 10000);
  g_assert_cmpint (mb_pacer_get_recipient_window (pacer), ==,
                   (gint64)24 * 3600 * G_USEC_PER_SEC);
}

/* Splitting */

static GPtrArray *
make_addresses (guint n, const char *const *domains, gsize n_domains)
{
  GPtrArray *addresses = g_ptr_array_new_with_free_func (g_free);

  for (guint i = 0; i < n; i++)
    g_ptr_array_add (addresses,
                     g_strdup_printf ("user%u@%s", i, domains[i % n_domains]));
  return addresses;
}

/* Submission: 501 recipients make one transaction of 500 and one of 1,
 * in input order. */
static void
test_split_submission (void)
{
  static const char *const domains[] = { "contoso.com", "gmail.com" };
  g_autoptr (MbRoute) route
      = new_route (MB_ROUTE_METHOD_SUBMISSION, NULL, NULL);
  g_autoptr (GPtrArray) addresses = make_addresses (501, domains, 2);
  g_autoptr (GPtrArray) batches = mb_route_split_recipients (route, addresses);
  GPtrArray *first;
  GPtrArray *second;

  g_assert_cmpuint (batches->len, ==, 2);
  first = batches->pdata[0];
  second = batches->pdata[1];
  g_assert_cmpuint (first->len, ==, 500);
  g_assert_cmpuint (second->len, ==, 1);
  for (guint i = 0; i < 500; i++)
    g_assert_true (first->pdata[i] == addresses->pdata[i]);
  g_assert_true (second->pdata[0] == addresses->pdata[500]);
}

/* The MX methods: 450 recipients of three domains (mixed case) become
 * one-domain transactions of at most 200, domains in order of first
 * appearance, input order within each; twice the same result. */
static void
test_split_mx_domains (void)
{
  static const char *const domains[] = {
    "contoso.com", "fabrikam.com", "CONTOSO.com", "example.org", "Contoso.Com",
    "contoso.com", "fabrikam.com", "contoso.com", "example.org",
  };
  static const struct
  {
    const char *domain;
    guint       len;
  } expected[] = {
    { "contoso.com", 200 },
    { "contoso.com", 50 },
    { "fabrikam.com", 100 },
    { "example.org", 100 },
  };
  const MbRouteMethod methods[]
      = { MB_ROUTE_METHOD_DIRECT_SEND, MB_ROUTE_METHOD_CONNECTOR };

  for (gsize m = 0; m < G_N_ELEMENTS (methods); m++)
    {
      g_autoptr (MbRoute) route = new_route (methods[m], NULL, "contoso.com");
      g_autoptr (GPtrArray) addresses
          = make_addresses (450, domains, G_N_ELEMENTS (domains));
      g_autoptr (GPtrArray) batches
          = mb_route_split_recipients (route, addresses);
      g_autoptr (GPtrArray) again
          = mb_route_split_recipients (route, addresses);
      guint total = 0;

      g_assert_cmpuint (batches->len, ==, G_N_ELEMENTS (expected));
      for (guint b = 0; b < batches->len; b++)
        {
          GPtrArray *batch = batches->pdata[b];
          GPtrArray *batch_again = again->pdata[b];
          int        last_index = -1;

          g_assert_cmpuint (batch->len, ==, expected[b].len);
          g_assert_cmpuint (batch_again->len, ==, batch->len);
          for (guint i = 0; i < batch->len; i++)
            {
              const char *address = batch->pdata[i];
              int         index = -1;

              g_assert_cmpint (g_ascii_strcasecmp (strchr (address, '@') + 1,
                                                   expected[b].domain),
                               ==, 0);
              g_assert_true (batch_again->pdata[i] == batch->pdata[i]);
              /* Input order kept: the user number grows within a batch. */
              g_assert_true (sscanf (address, "user%d@", &index) == 1);
              g_assert_cmpint (index, >, last_index);
              last_index = index;
            }
          total += batch->len;
        }
      g_assert_cmpuint (total, ==, 450);
    }
}

/* No recipients, no batches; a tuned transaction size applies. */
static void
test_split_small (void)
{
  static const char *const domains[] = { "contoso.com" };
  MbRouteConfig            config = { 0 };
  g_autoptr (MbRoute) route = new_route (MB_ROUTE_METHOD_HVE, NULL, NULL);
  g_autoptr (MbRoute) tuned = NULL;
  g_autoptr (GPtrArray) none = g_ptr_array_new ();
  g_autoptr (GPtrArray) batches = mb_route_split_recipients (route, none);
  g_autoptr (GPtrArray) five = make_addresses (5, domains, 1);
  g_autoptr (GPtrArray) tuned_batches = NULL;

  g_assert_cmpuint (batches->len, ==, 0);

  config.name = (char *)"tuned";
  config.method = MB_ROUTE_METHOD_SUBMISSION;
  config.recipients_per_transaction = 2;
  tuned = mb_route_new (&config);
  tuned_batches = mb_route_split_recipients (tuned, five);
  g_assert_cmpuint (tuned_batches->len, ==, 3);
  g_assert_cmpuint (((GPtrArray *)tuned_batches->pdata[0])->len, ==, 2);
  g_assert_cmpuint (((GPtrArray *)tuned_batches->pdata[1])->len, ==, 2);
  g_assert_cmpuint (((GPtrArray *)tuned_batches->pdata[2])->len, ==, 1);
}

/* Resolution */

/* MX hosts come sorted by preference (equal ones in DNS order), without
 * the final dot or duplicates, with port 25; the route's domain is what
 * is looked up, as an MX query. */
static void
test_resolve_mx_sorted (void)
{
  g_autoptr (FakeResolver) resolver = g_object_new (FAKE_TYPE_RESOLVER, NULL);
  g_autoptr (MbRoute) route
      = new_route (MB_ROUTE_METHOD_DIRECT_SEND, NULL, "contoso.com");
  static const char *const expected[] = {
    "contoso-com.mail.protection.outlook.com",
    "contoso.com.a1b2c3.mx.microsoft",
    "backup.contoso.com",
    "last.contoso.com",
  };
  ResolveResult out;

  fake_resolver_add_mx (resolver, 20, "backup.contoso.com.");
  fake_resolver_add_mx (resolver, 0,
                        "contoso-com.mail.protection.outlook.com.");
  fake_resolver_add_mx (resolver, 30, "last.contoso.com");
  fake_resolver_add_mx (resolver, 0, "contoso.com.a1b2c3.mx.microsoft.");
  fake_resolver_add_mx (resolver, 25, "Backup.Contoso.com.");

  resolve (route, G_RESOLVER (resolver), "fabrikam.com", NULL, &out);
  g_assert_no_error (out.error);
  g_assert_cmpuint (resolver->n_lookups, ==, 1);
  g_assert_cmpstr (resolver->last_name, ==, "contoso.com");
  g_assert_cmpint (resolver->last_type, ==, G_RESOLVER_RECORD_MX);
  g_assert_cmpuint (out.port, ==, 25);
  g_assert_cmpuint (out.hosts->len, ==, G_N_ELEMENTS (expected));
  for (guint i = 0; i < out.hosts->len; i++)
    g_assert_cmpstr (out.hosts->pdata[i], ==, expected[i]);
  resolve_result_clear (&out);
}

/* A domain without MX records gives a plain error naming the domain and
 * the route; a null MX (RFC 7505) too; a DNS failure is its own code. */
static void
test_resolve_errors (void)
{
  g_autoptr (FakeResolver) resolver = g_object_new (FAKE_TYPE_RESOLVER, NULL);
  g_autoptr (MbRoute) route = NULL;
  MbRouteConfig config = { 0 };
  ResolveResult out;

  config.name = (char *)"dsend";
  config.method = MB_ROUTE_METHOD_DIRECT_SEND;
  config.domain = (char *)"contoso.com";
  route = mb_route_new (&config);

  resolver->error = g_error_new (G_RESOLVER_ERROR, G_RESOLVER_ERROR_NOT_FOUND,
                                 "No DNS record of the requested type");
  resolve (route, G_RESOLVER (resolver), NULL, NULL, &out);
  g_assert_error (out.error, MB_ROUTE_ERROR, MB_ROUTE_ERROR_NO_MX);
  g_assert_cmpstr (out.error->message, ==,
                   "The domain contoso.com has no MX record; set host= in "
                   "[route dsend] or check the domain");
  g_assert_null (out.hosts);
  resolve_result_clear (&out);

  g_clear_error (&resolver->error);
  resolver->error
      = g_error_new (G_RESOLVER_ERROR, G_RESOLVER_ERROR_TEMPORARY_FAILURE,
                     "Temporary failure in name resolution");
  resolve (route, G_RESOLVER (resolver), NULL, NULL, &out);
  g_assert_error (out.error, MB_ROUTE_ERROR, MB_ROUTE_ERROR_RESOLVE);
  g_assert_nonnull (strstr (out.error->message, "contoso.com"));
  g_assert_nonnull (strstr (out.error->message, "Temporary failure"));
  resolve_result_clear (&out);

  g_clear_error (&resolver->error);
  fake_resolver_add_mx (resolver, 0, ".");
  resolve (route, G_RESOLVER (resolver), NULL, NULL, &out);
  g_assert_error (out.error, MB_ROUTE_ERROR, MB_ROUTE_ERROR_NO_MX);
  g_assert_nonnull (strstr (out.error->message, "contoso.com"));
  resolve_result_clear (&out);
}

/* A configured host wins over DNS (no lookup at all); submission and HVE
 * use their fixed endpoints; a configured port wins. */
static void
test_resolve_fixed_hosts (void)
{
  static const struct
  {
    MbRouteMethod method;
    const char   *host;
    const char   *expected;
    guint16       port;
  } cases[] = {
    { MB_ROUTE_METHOD_DIRECT_SEND, "mx.test.example", "mx.test.example", 25 },
    { MB_ROUTE_METHOD_CONNECTOR, "mx.test.example", "mx.test.example", 25 },
    { MB_ROUTE_METHOD_SUBMISSION, NULL, "smtp.office365.com", 587 },
    { MB_ROUTE_METHOD_SUBMISSION, "smtp.test.example", "smtp.test.example",
      587 },
    { MB_ROUTE_METHOD_HVE, NULL, "smtp.hve.mx.microsoft", 587 },
  };
  g_autoptr (FakeResolver) resolver = g_object_new (FAKE_TYPE_RESOLVER, NULL);
  MbRouteConfig config = { 0 };
  g_autoptr (MbRoute) ported = NULL;
  ResolveResult out;

  fake_resolver_add_mx (resolver, 10, "wrong.example");
  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr (MbRoute) route
          = new_route (cases[i].method, cases[i].host, "contoso.com");

      resolve (route, G_RESOLVER (resolver), NULL, NULL, &out);
      g_assert_no_error (out.error);
      g_assert_cmpuint (out.hosts->len, ==, 1);
      g_assert_cmpstr (out.hosts->pdata[0], ==, cases[i].expected);
      g_assert_cmpuint (out.port, ==, cases[i].port);
      resolve_result_clear (&out);
    }
  g_assert_cmpuint (resolver->n_lookups, ==, 0);

  config.name = (char *)"ported";
  config.method = MB_ROUTE_METHOD_CONNECTOR;
  config.host = (char *)"127.0.0.1";
  config.port = 2525;
  ported = mb_route_new (&config);
  resolve (ported, G_RESOLVER (resolver), NULL, NULL, &out);
  g_assert_no_error (out.error);
  g_assert_cmpstr (out.hosts->pdata[0], ==, "127.0.0.1");
  g_assert_cmpuint (out.port, ==, 2525);
  resolve_result_clear (&out);
  g_assert_cmpuint (resolver->n_lookups, ==, 0);
}

/* Without a configured domain the recipient's domain is looked up;
 * without either, an error says what to set. */
static void
test_resolve_recipient_domain (void)
{
  g_autoptr (FakeResolver) resolver = g_object_new (FAKE_TYPE_RESOLVER, NULL);
  g_autoptr (MbRoute) route = new_route (MB_ROUTE_METHOD_CONNECTOR, NULL, NULL);
  ResolveResult out;

  fake_resolver_add_mx (resolver, 0,
                        "fabrikam-com.mail.protection.outlook.com");
  resolve (route, G_RESOLVER (resolver), "Fabrikam.COM", NULL, &out);
  g_assert_no_error (out.error);
  g_assert_cmpstr (resolver->last_name, ==, "fabrikam.com");
  g_assert_cmpstr (out.hosts->pdata[0], ==,
                   "fabrikam-com.mail.protection.outlook.com");
  resolve_result_clear (&out);

  resolve (route, G_RESOLVER (resolver), NULL, NULL, &out);
  g_assert_error (out.error, MB_ROUTE_ERROR, MB_ROUTE_ERROR_NO_DOMAIN);
  g_assert_nonnull (strstr (out.error->message, "[route office]"));
  g_assert_cmpuint (resolver->n_lookups, ==, 1);
  resolve_result_clear (&out);
}

/* A cancelled resolution ends with G_IO_ERROR_CANCELLED. */
static void
test_resolve_cancelled (void)
{
  g_autoptr (FakeResolver) resolver = g_object_new (FAKE_TYPE_RESOLVER, NULL);
  g_autoptr (MbRoute) route
      = new_route (MB_ROUTE_METHOD_DIRECT_SEND, NULL, "contoso.com");
  g_autoptr (GCancellable) cancellable = g_cancellable_new ();
  ResolveResult out = { 0 };

  fake_resolver_add_mx (resolver, 0, "contoso-com.mail.protection.outlook.com");
  mb_route_resolve_async (route, G_RESOLVER (resolver), NULL, cancellable,
                          resolve_cb, &out);
  g_cancellable_cancel (cancellable);
  MB_TEST_WAIT_UNTIL (out.done);
  g_assert_error (out.error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_assert_null (out.hosts);
  resolve_result_clear (&out);
}

/* Pausing */

/* The same pause_route reply three times in a row (different server tags)
 * pauses the route on the third, with one log line naming the reply and
 * the hint; state goes READY -> FAILING -> PAUSED. */
static void
test_pause_repeated (void)
{
  g_autoptr (MbRoute) route
      = new_route (MB_ROUTE_METHOD_SUBMISSION, NULL, NULL);
  g_autoptr (GArray) transitions = g_array_new (FALSE, FALSE, sizeof (guint));
  const MbReplyHint *hint = mb_reply_hints_lookup (535, "5.7.3", "");
  const char        *line;

  g_assert_nonnull (hint);
  g_assert_true (hint->pause_route);
  g_signal_connect (route, "state-changed", G_CALLBACK (on_state_changed_cb),
                    transitions);
  g_ptr_array_set_size (route_log, 0);

  g_assert_cmpuint (mb_route_get_pause_threshold (route), ==, 3);
  g_assert_cmpint (mb_route_get_state (route), ==, MB_ROUTE_STATE_READY);
  feed (route, 535, "5.7.3", "Authentication unsuccessful [A.outlook.com]");
  g_assert_cmpint (mb_route_get_state (route), ==, MB_ROUTE_STATE_FAILING);
  feed (route, 535, "5.7.3", "Authentication unsuccessful [B.outlook.com]");
  g_assert_cmpint (mb_route_get_state (route), ==, MB_ROUTE_STATE_FAILING);
  g_assert_null (mb_route_get_pause_reason (route));
  g_assert_cmpuint (route_log->len, ==, 0);
  feed (route, 535, "5.7.3", "Authentication unsuccessful" SERVER_TAG);
  g_assert_cmpint (mb_route_get_state (route), ==, MB_ROUTE_STATE_PAUSED);
  g_assert_nonnull (mb_route_get_pause_reason (route));
  g_assert_true (mb_route_get_hint (route) == hint);
  g_assert_cmpstr (mb_route_get_last_reply (route), ==,
                   "535 5.7.3 Authentication unsuccessful" SERVER_TAG);

  g_assert_cmpuint (transitions->len, ==, 4);
  g_assert_cmpuint (g_array_index (transitions, guint, 0), ==,
                    MB_ROUTE_STATE_READY);
  g_assert_cmpuint (g_array_index (transitions, guint, 1), ==,
                    MB_ROUTE_STATE_FAILING);
  g_assert_cmpuint (g_array_index (transitions, guint, 2), ==,
                    MB_ROUTE_STATE_FAILING);
  g_assert_cmpuint (g_array_index (transitions, guint, 3), ==,
                    MB_ROUTE_STATE_PAUSED);

  g_assert_cmpuint (route_log->len, ==, 1);
  line = route_log->pdata[0];
  g_assert_true (g_str_has_prefix (
      line, "route=office paused reply=\"535 5.7.3 Authentication "
            "unsuccessful" SERVER_TAG "\" hint=\""));
  g_assert_nonnull (strstr (line, hint->summary));
  g_assert_true (g_str_has_suffix (line, "\""));

  /* Paused stays paused, also after a success; no second log line. */
  feed (route, 535, "5.7.3", "Authentication unsuccessful");
  feed (route, 250, "2.0.0", "OK");
  g_assert_cmpint (mb_route_get_state (route), ==, MB_ROUTE_STATE_PAUSED);
  g_assert_cmpuint (route_log->len, ==, 1);
}

/* Alternating different pause_route replies never make a run of three. */
static void
test_pause_alternating (void)
{
  g_autoptr (MbRoute) route
      = new_route (MB_ROUTE_METHOD_SUBMISSION, NULL, NULL);
  const MbReplyHint *a = mb_reply_hints_lookup (535, "5.7.3", "");
  const MbReplyHint *b = mb_reply_hints_lookup (550, "5.7.64", "");

  g_assert_true (a->pause_route && b->pause_route);
  for (guint i = 0; i < 20; i++)
    {
      if (i % 2 == 0)
        feed (route, 535, "5.7.3", "Authentication unsuccessful");
      else
        feed (route, 550, "5.7.64", "TenantAttribution; Relay Access Denied");
      g_assert_cmpint (mb_route_get_state (route), ==, MB_ROUTE_STATE_FAILING);
    }
  /* Same enhanced code, other basic code: a different reply too. */
  feed (route, 535, "5.7.3", "x");
  feed (route, 535, "5.7.3", "x");
  feed (route, 530, "5.7.3", "x");
  feed (route, 535, "5.7.3", "x");
  g_assert_null (mb_route_get_pause_reason (route));
}

/* Replies without pause_route never pause, however often they repeat,
 * and break a run of pausing ones; so does a success. */
static void
test_pause_non_pausing (void)
{
  static const struct
  {
    guint        code;
    const char  *enhanced;
    const char  *text;
    MbRouteState state;
  } non_pausing[] = {
    { 432, "4.3.2", "STOREDRV.ClientSubmit; sender thread limit exceeded",
      MB_ROUTE_STATE_FAILING },
    { 451, "4.7.500", "Server busy. Please try again later",
      MB_ROUTE_STATE_FAILING },
    { 550, "5.4.1", "Recipient address rejected: Access denied",
      MB_ROUTE_STATE_READY },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (non_pausing); i++)
    {
      g_autoptr (MbRoute) route
          = new_route (MB_ROUTE_METHOD_SUBMISSION, NULL, NULL);
      const MbReplyHint *hint = mb_reply_hints_lookup (
          non_pausing[i].code, non_pausing[i].enhanced, non_pausing[i].text);

      g_assert_true (hint == NULL || !hint->pause_route);
      for (guint n = 0; n < 10; n++)
        feed (route, non_pausing[i].code, non_pausing[i].enhanced,
              non_pausing[i].text);
      g_assert_cmpint (mb_route_get_state (route), ==, non_pausing[i].state);

      /* pausing, pausing, other, pausing, pausing: no run of three */
      feed (route, 535, "5.7.3", "Authentication unsuccessful");
      feed (route, 535, "5.7.3", "Authentication unsuccessful");
      feed (route, non_pausing[i].code, non_pausing[i].enhanced,
            non_pausing[i].text);
      feed (route, 535, "5.7.3", "Authentication unsuccessful");
      feed (route, 535, "5.7.3", "Authentication unsuccessful");
      g_assert_cmpint (mb_route_get_state (route), ==, MB_ROUTE_STATE_FAILING);
      /* success in the middle */
      feed (route, 250, "2.0.0", "OK <id> [Hostname=X.PROD.OUTLOOK.COM]");
      g_assert_cmpint (mb_route_get_state (route), ==, MB_ROUTE_STATE_READY);
      g_assert_null (mb_route_get_hint (route));
      feed (route, 535, "5.7.3", "Authentication unsuccessful");
      feed (route, 535, "5.7.3", "Authentication unsuccessful");
      g_assert_cmpint (mb_route_get_state (route), ==, MB_ROUTE_STATE_FAILING);
      feed (route, 535, "5.7.3", "Authentication unsuccessful");
      g_assert_cmpint (mb_route_get_state (route), ==, MB_ROUTE_STATE_PAUSED);
    }
}

/* The threshold is configurable: 1 pauses at once, 5 on the fifth. */
static void
test_pause_threshold (void)
{
  static const guint thresholds[] = { 1, 2, 5 };

  for (gsize i = 0; i < G_N_ELEMENTS (thresholds); i++)
    {
      g_autoptr (MbRoute) route
          = new_route (MB_ROUTE_METHOD_CONNECTOR, NULL, "contoso.com");

      g_object_set (route, "pause-threshold", thresholds[i], NULL);
      g_assert_cmpuint (mb_route_get_pause_threshold (route), ==,
                        thresholds[i]);
      for (guint n = 1; n <= thresholds[i]; n++)
        {
          g_assert_null (mb_route_get_pause_reason (route));
          feed (route, 550, "5.7.64", "TenantAttribution; Relay Access Denied");
        }
      g_assert_cmpint (mb_route_get_state (route), ==, MB_ROUTE_STATE_PAUSED);
    }
}

/* Resume clears the pause and the count: three more are needed to pause
 * again; the state after resume is FAILING until a success. */
static void
test_resume (void)
{
  g_autoptr (MbRoute) route
      = new_route (MB_ROUTE_METHOD_SUBMISSION, NULL, NULL);
  g_autoptr (GPtrArray) notified = g_ptr_array_new_with_free_func (g_free);

  for (guint n = 0; n < 3; n++)
    feed (route, 554, "5.2.252",
          "SendAsDenied; a@x not allowed to send as b@x");
  g_assert_cmpint (mb_route_get_state (route), ==, MB_ROUTE_STATE_PAUSED);

  g_ptr_array_set_size (route_log, 0);
  g_signal_connect (route, "notify", G_CALLBACK (on_notify_cb), notified);
  mb_route_resume (route);
  g_assert_cmpint (mb_route_get_state (route), ==, MB_ROUTE_STATE_FAILING);
  g_assert_null (mb_route_get_pause_reason (route));
  g_assert_cmpuint (count_string (notified, "state"), ==, 1);
  g_assert_cmpuint (count_string (notified, "pause-reason"), ==, 1);
  g_assert_cmpuint (route_log->len, ==, 1);
  g_assert_cmpstr (route_log->pdata[0], ==, "route=office resumed");

  /* A second resume changes nothing. */
  mb_route_resume (route);
  g_assert_cmpuint (count_string (notified, "state"), ==, 1);
  g_assert_cmpuint (route_log->len, ==, 1);

  feed (route, 554, "5.2.252", "SendAsDenied");
  feed (route, 554, "5.2.252", "SendAsDenied");
  g_assert_cmpint (mb_route_get_state (route), ==, MB_ROUTE_STATE_FAILING);
  feed (route, 554, "5.2.252", "SendAsDenied");
  g_assert_cmpint (mb_route_get_state (route), ==, MB_ROUTE_STATE_PAUSED);
  mb_route_resume (route);
  feed (route, 250, "2.0.0", "OK");
  g_assert_cmpint (mb_route_get_state (route), ==, MB_ROUTE_STATE_READY);
}

/* Properties notify only on change: the same reply three times notifies
 * last-reply once, and state once (on the third). */
static void
test_state_notify (void)
{
  g_autoptr (MbRoute) route
      = new_route (MB_ROUTE_METHOD_SUBMISSION, NULL, NULL);
  g_autoptr (GPtrArray) notified = g_ptr_array_new_with_free_func (g_free);
  g_autofree char *last_reply = NULL;
  gpointer         hint = NULL;
  MbRouteState     state;

  g_signal_connect (route, "notify", G_CALLBACK (on_notify_cb), notified);
  feed (route, 451, "4.7.500", "Server busy");
  feed (route, 451, "4.7.500", "Server busy");
  g_assert_cmpuint (count_string (notified, "state"), ==, 0);
  feed (route, 451, "4.7.500", "Server busy");
  g_assert_cmpuint (count_string (notified, "last-reply"), ==, 1);
  g_assert_cmpuint (count_string (notified, "hint"), ==, 1);
  g_assert_cmpuint (count_string (notified, "state"), ==, 1);

  g_object_get (route, "state", &state, "last-reply", &last_reply, "hint",
                &hint, NULL);
  g_assert_cmpint (state, ==, MB_ROUTE_STATE_FAILING);
  g_assert_cmpstr (last_reply, ==, "451 4.7.500 Server busy");
  g_assert_true (hint == mb_route_get_hint (route));
  g_assert_cmpstr (mb_route_state_to_string (state), ==, "failing");
}

/* Sign-in and pause stack: PAUSED > NEEDS_SIGNIN > FAILING > READY. */
static void
test_state_signin_and_manual_pause (void)
{
  g_autoptr (MbRoute) route
      = new_route (MB_ROUTE_METHOD_SUBMISSION, NULL, NULL);

  mb_route_set_needs_signin (route, TRUE);
  g_assert_cmpint (mb_route_get_state (route), ==, MB_ROUTE_STATE_NEEDS_SIGNIN);
  g_assert_cmpstr (mb_route_state_to_string (mb_route_get_state (route)), ==,
                   "needs-signin");
  g_ptr_array_set_size (route_log, 0);
  mb_route_pause (route, "paused by the admin");
  g_assert_cmpint (mb_route_get_state (route), ==, MB_ROUTE_STATE_PAUSED);
  g_assert_cmpstr (mb_route_get_pause_reason (route), ==,
                   "paused by the admin");
  g_assert_cmpuint (route_log->len, ==, 1);
  g_assert_cmpstr (route_log->pdata[0], ==,
                   "route=office paused reason=\"paused by the admin\"");
  mb_route_pause (route, "another reason");
  g_assert_cmpstr (mb_route_get_pause_reason (route), ==,
                   "paused by the admin");
  mb_route_resume (route);
  g_assert_cmpint (mb_route_get_state (route), ==, MB_ROUTE_STATE_NEEDS_SIGNIN);
  for (guint n = 0; n < MB_ROUTE_DEFAULT_PAUSE_THRESHOLD; n++)
    feed (route, 421, "4.3.2", "resource forest limit");
  mb_route_set_needs_signin (route, FALSE);
  g_assert_cmpint (mb_route_get_state (route), ==, MB_ROUTE_STATE_FAILING);
}

/* One transient failure (greylisting) is routine: the route stays READY,
 * with the reply shown; pause-threshold of them in a row (of any kind)
 * make it FAILING; a success in between starts the count over, and a
 * success ends FAILING.  With threshold 1 the first one counts. */
static void
test_state_transient_failures (void)
{
  g_autoptr (MbRoute) route
      = new_route (MB_ROUTE_METHOD_SUBMISSION, NULL, NULL);
  g_autoptr (MbRoute) eager
      = new_route (MB_ROUTE_METHOD_SUBMISSION, NULL, NULL);
  g_autoptr (GArray) transitions = g_array_new (FALSE, FALSE, sizeof (guint));

  g_signal_connect (route, "state-changed", G_CALLBACK (on_state_changed_cb),
                    transitions);
  feed (route, 451, "4.7.500", "Server busy. Please try again later");
  g_assert_cmpint (mb_route_get_state (route), ==, MB_ROUTE_STATE_READY);
  g_assert_cmpstr (mb_route_get_last_reply (route), ==,
                   "451 4.7.500 Server busy. Please try again later");
  g_assert_nonnull (mb_route_get_hint (route));
  feed (route, 451, "4.7.500", "Server busy. Please try again later");
  g_assert_cmpint (mb_route_get_state (route), ==, MB_ROUTE_STATE_READY);
  g_assert_cmpuint (transitions->len, ==, 0);
  feed (route, 451, "4.7.500", "Server busy. Please try again later");
  g_assert_cmpint (mb_route_get_state (route), ==, MB_ROUTE_STATE_FAILING);
  g_assert_null (mb_route_get_pause_reason (route));
  feed (route, 250, "2.0.0", "OK");
  g_assert_cmpint (mb_route_get_state (route), ==, MB_ROUTE_STATE_READY);
  g_assert_cmpuint (transitions->len, ==, 4);
  g_assert_cmpuint (g_array_index (transitions, guint, 0), ==,
                    MB_ROUTE_STATE_READY);
  g_assert_cmpuint (g_array_index (transitions, guint, 1), ==,
                    MB_ROUTE_STATE_FAILING);
  g_assert_cmpuint (g_array_index (transitions, guint, 2), ==,
                    MB_ROUTE_STATE_FAILING);
  g_assert_cmpuint (g_array_index (transitions, guint, 3), ==,
                    MB_ROUTE_STATE_READY);

  /* A success in between starts over; any transient failure counts. */
  feed (route, 451, "4.7.500", "Server busy. Please try again later");
  feed (route, 250, "2.0.0", "OK");
  feed (route, 451, "4.7.500", "Server busy. Please try again later");
  feed (route, 421, "4.3.2", "Service not available");
  g_assert_cmpint (mb_route_get_state (route), ==, MB_ROUTE_STATE_READY);
  mb_route_record_local_failure (route, "mb.timeout", "waiting for DATA");
  g_assert_cmpint (mb_route_get_state (route), ==, MB_ROUTE_STATE_FAILING);

  mb_route_set_pause_threshold (eager, 1);
  feed (eager, 451, "4.7.500", "Server busy. Please try again later");
  g_assert_cmpint (mb_route_get_state (eager), ==, MB_ROUTE_STATE_FAILING);
}

/* Local failures: a timeout keeps failing without pausing; a refused
 * token (pause_route) pauses after three. */
static void
test_state_local_failure (void)
{
  g_autoptr (MbRoute) route
      = new_route (MB_ROUTE_METHOD_SUBMISSION, NULL, NULL);

  for (guint n = 0; n < 10; n++)
    mb_route_record_local_failure (route, "mb.timeout", "waiting for EHLO");
  g_assert_cmpint (mb_route_get_state (route), ==, MB_ROUTE_STATE_FAILING);
  g_assert_cmpstr (mb_route_get_last_reply (route), ==,
                   "mb.timeout waiting for EHLO");
  g_assert_cmpstr (mb_route_get_hint (route)->keyword, ==, "mb.timeout");

  mb_route_record_local_failure (route, "mb.auth-token-expired", NULL);
  mb_route_record_local_failure (route, "mb.auth-token-expired", "again");
  g_assert_cmpint (mb_route_get_state (route), ==, MB_ROUTE_STATE_FAILING);
  mb_route_record_local_failure (route, "mb.auth-token-expired", NULL);
  g_assert_cmpint (mb_route_get_state (route), ==, MB_ROUTE_STATE_PAUSED);
  g_assert_cmpstr (mb_route_get_last_reply (route), ==,
                   "mb.auth-token-expired");
}

/* Recipients */

/* Direct Send and HVE with a domain refuse outside recipients with a
 * clear error; subdomains and case do not matter; submission, the
 * connector and routes without a domain refuse none; no domain at all is
 * always refused. */
static void
test_accepts_recipient (void)
{
  static const struct
  {
    MbRouteMethod method;
    const char   *domain;
    const char   *address;
    int           error; /* -1: accepted */
  } cases[] = {
    { MB_ROUTE_METHOD_DIRECT_SEND, "contoso.com", "alice@contoso.com", -1 },
    { MB_ROUTE_METHOD_DIRECT_SEND, "contoso.com", "Bob@Sales.CONTOSO.com", -1 },
    { MB_ROUTE_METHOD_DIRECT_SEND, "contoso.com", "\"a@b\"@contoso.com.", -1 },
    { MB_ROUTE_METHOD_DIRECT_SEND, "contoso.com", "eve@gmail.com",
      MB_ROUTE_ERROR_OUTSIDE_TENANT },
    { MB_ROUTE_METHOD_DIRECT_SEND, "contoso.com", "eve@notcontoso.com",
      MB_ROUTE_ERROR_OUTSIDE_TENANT },
    { MB_ROUTE_METHOD_DIRECT_SEND, "contoso.com", "eve@contoso.com.evil.net",
      MB_ROUTE_ERROR_OUTSIDE_TENANT },
    { MB_ROUTE_METHOD_DIRECT_SEND, "contoso.com", "postmaster",
      MB_ROUTE_ERROR_INVALID_ADDRESS },
    { MB_ROUTE_METHOD_DIRECT_SEND, NULL, "eve@gmail.com", -1 },
    { MB_ROUTE_METHOD_HVE, "contoso.com", "eve@gmail.com",
      MB_ROUTE_ERROR_OUTSIDE_TENANT },
    { MB_ROUTE_METHOD_HVE, "contoso.com", "alice@contoso.com", -1 },
    { MB_ROUTE_METHOD_SUBMISSION, "contoso.com", "eve@gmail.com", -1 },
    { MB_ROUTE_METHOD_CONNECTOR, "contoso.com", "eve@gmail.com", -1 },
    { MB_ROUTE_METHOD_SUBMISSION, "contoso.com", "eve@",
      MB_ROUTE_ERROR_INVALID_ADDRESS },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr (MbRoute) route
          = new_route (cases[i].method, NULL, cases[i].domain);
      g_autoptr (GError) error = NULL;
      gboolean ok;

      ok = mb_route_accepts_recipient (route, cases[i].address, &error);
      if (cases[i].error < 0)
        {
          g_assert_no_error (error);
          g_assert_true (ok);
          continue;
        }
      g_assert_false (ok);
      g_assert_error (error, MB_ROUTE_ERROR, cases[i].error);
      g_assert_nonnull (strstr (error->message, cases[i].address));
      if (cases[i].error == MB_ROUTE_ERROR_OUTSIDE_TENANT)
        g_assert_nonnull (
            strstr (error->message, cases[i].method == MB_ROUTE_METHOD_HVE
                                        ? "High Volume Email cannot reach"
                                        : "Direct Send cannot reach"));
    }
}

int
main (int argc, char *argv[])
{
  g_test_init (&argc, &argv, NULL);
  route_log = g_ptr_array_new_with_free_func (g_free);
  g_log_set_writer_func (capture_writer, NULL, NULL);

  g_test_add_func ("/relay/route/profile/table", test_profile_table);
  g_test_add_func ("/relay/route/limits/overrides", test_limits_overrides);
  g_test_add_func ("/relay/route/limits/pacer", test_limits_pacer);
  g_test_add_func ("/relay/route/split/submission-501", test_split_submission);
  g_test_add_func ("/relay/route/split/mx-per-domain", test_split_mx_domains);
  g_test_add_func ("/relay/route/split/small", test_split_small);
  g_test_add_func ("/relay/route/resolve/mx-sorted", test_resolve_mx_sorted);
  g_test_add_func ("/relay/route/resolve/errors", test_resolve_errors);
  g_test_add_func ("/relay/route/resolve/fixed-hosts",
                   test_resolve_fixed_hosts);
  g_test_add_func ("/relay/route/resolve/recipient-domain",
                   test_resolve_recipient_domain);
  g_test_add_func ("/relay/route/resolve/cancelled", test_resolve_cancelled);
  g_test_add_func ("/relay/route/pause/repeated", test_pause_repeated);
  g_test_add_func ("/relay/route/pause/alternating", test_pause_alternating);
  g_test_add_func ("/relay/route/pause/non-pausing", test_pause_non_pausing);
  g_test_add_func ("/relay/route/pause/threshold", test_pause_threshold);
  g_test_add_func ("/relay/route/pause/resume", test_resume);
  g_test_add_func ("/relay/route/state/notify", test_state_notify);
  g_test_add_func ("/relay/route/state/signin-and-manual-pause",
                   test_state_signin_and_manual_pause);
  g_test_add_func ("/relay/route/state/transient-failures",
                   test_state_transient_failures);
  g_test_add_func ("/relay/route/state/local-failure",
                   test_state_local_failure);
  g_test_add_func ("/relay/route/recipients/accepts", test_accepts_recipient);

  return g_test_run ();
}
