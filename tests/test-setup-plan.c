/* test-setup-plan.c - unit tests of mb-setup-plan
 *
 * Validation (one refusal per field), rendering against golden files
 * (tests/setup-plan/NAME.in, the existing file, and NAME.ref, the result;
 * MB_UPDATE_GOLDEN=1 rewrites the .ref files), running the assistant again
 * (the plan read back from the result, and a second render), comments
 * kept, the listen and allow lists, the PowerShell and SPF texts, and
 * writing the file in a thread.
 */
#include "mb-setup-plan.h"

#include "mb-test-util.h"

#include <glib/gstdio.h>
#include <string.h>
#include <sys/stat.h>

#define CLIENT_ID "9e5f94bc-e8a4-4e73-b8be-63364c29d753"
#define TENANT_ID "72f988bf-86f1-41af-91ab-2d7cd011db47"

/* Plans */

static MbSetupPlan *
plan_submission (void)
{
  MbSetupPlan *plan = mb_setup_plan_new ();

  plan->mailbox = g_strdup ("scanner@contoso.com");
  plan->tenant = g_strdup ("contoso.onmicrosoft.com");
  plan->client_id = g_strdup (CLIENT_ID);
  return plan;
}

static MbSetupPlan *
plan_submission_lan (void)
{
  MbSetupPlan *plan = plan_submission ();
  const char  *allow[] = { "192.168.1.0/24", "10.0.0.17", NULL };

  plan->lan = TRUE;
  plan->allow = g_strdupv ((GStrv)allow);
  plan->admin_address = g_strdup ("postmaster@contoso.com");
  return plan;
}

static MbSetupPlan *
plan_submission_basic (void)
{
  MbSetupPlan *plan = plan_submission ();

  plan->auth = MB_ROUTE_AUTH_BASIC;
  g_clear_pointer (&plan->tenant, g_free);
  g_clear_pointer (&plan->client_id, g_free);
  return plan;
}

static MbSetupPlan *
plan_submission_app (void)
{
  MbSetupPlan *plan = plan_submission ();

  plan->auth = MB_ROUTE_AUTH_OAUTH_APP;
  g_free (plan->tenant);
  plan->tenant = g_strdup (TENANT_ID);
  plan->client_certificate = g_strdup ("/etc/mailbridge/app.pem");
  return plan;
}

static MbSetupPlan *
plan_direct_send (void)
{
  MbSetupPlan *plan = mb_setup_plan_new ();
  const char  *allow[] = { "192.168.10.0/24", NULL };

  plan->method = MB_ROUTE_METHOD_DIRECT_SEND;
  plan->domain = g_strdup ("contoso.com");
  plan->mx_host = g_strdup ("contoso-com.mail.protection.outlook.com");
  plan->lan = TRUE;
  g_free (plan->lan_listen);
  plan->lan_listen = g_strdup ("192.168.10.5:25");
  plan->allow = g_strdupv ((GStrv)allow);
  return plan;
}

static MbSetupPlan *
plan_connector_certificate (void)
{
  MbSetupPlan *plan = mb_setup_plan_new ();
  const char  *allow[] = { "192.168.1.0/24", NULL };

  plan->method = MB_ROUTE_METHOD_CONNECTOR;
  plan->tls = MB_ROUTE_TLS_REQUIRED;
  plan->domain = g_strdup ("contoso.com");
  plan->mx_host = g_strdup ("contoso-com.x7f2k.mx.microsoft");
  plan->certificate_name = g_strdup ("relay.contoso.com");
  plan->connector_certificate
      = g_strdup ("/etc/mailbridge/relay.contoso.com.pem");
  plan->lan = TRUE;
  plan->allow = g_strdupv ((GStrv)allow);
  return plan;
}

static MbSetupPlan *
plan_connector_ip (void)
{
  MbSetupPlan *plan = mb_setup_plan_new ();

  plan->method = MB_ROUTE_METHOD_CONNECTOR;
  plan->tls = MB_ROUTE_TLS_REQUIRED;
  plan->domain = g_strdup ("contoso.com");
  plan->mx_host = g_strdup ("contoso-com.mail.protection.outlook.com");
  plan->public_ip = g_strdup ("203.0.113.10");
  return plan;
}

static MbSetupPlan *
plan_loopback_only (void)
{
  MbSetupPlan *plan = plan_submission ();

  g_free (plan->route);
  plan->route = g_strdup ("office365");
  return plan;
}

/* Whether the config holds @plan: the fields of its method and the network
 * (the connector's IP and certificate name are not configuration keys). */
static void
assert_plans_equal (const MbSetupPlan *a, const MbSetupPlan *b)
{
  g_assert_cmpstr (a->route, ==, b->route);
  g_assert_cmpint (a->method, ==, b->method);
  if (a->method == MB_ROUTE_METHOD_SUBMISSION)
    {
      gboolean oauth = a->auth != MB_ROUTE_AUTH_BASIC;

      g_assert_cmpstr (a->mailbox, ==, b->mailbox);
      g_assert_cmpint (a->auth, ==, b->auth);
      g_assert_cmpstr (oauth ? a->tenant : NULL, ==, b->tenant);
      g_assert_cmpstr (oauth ? a->client_id : NULL, ==, b->client_id);
      g_assert_cmpstr (a->client_certificate, ==, b->client_certificate);
    }
  else
    {
      g_assert_cmpstr (a->domain, ==, b->domain);
      g_assert_cmpstr (a->mx_host, ==, b->mx_host);
      g_assert_cmpint (a->tls, ==, b->tls);
      g_assert_cmpstr (a->certificate_name != NULL ? a->connector_certificate
                                                   : NULL,
                       ==, b->connector_certificate);
    }
  g_assert_cmpint (a->lan, ==, b->lan);
  if (a->lan)
    g_assert_cmpstr (a->lan_listen, ==, b->lan_listen);
  if (a->allow == NULL || b->allow == NULL)
    g_assert_true ((a->allow == NULL || a->allow[0] == NULL)
                   && (b->allow == NULL || b->allow[0] == NULL));
  else
    g_assert_true (g_strv_equal ((const char *const *)a->allow,
                                 (const char *const *)b->allow));
  g_assert_cmpstr (a->admin_address, ==, b->admin_address);
}

static MbRelayConfig *
load (const char *text)
{
  g_autoptr (GError) error = NULL;
  MbRelayConfig *config
      = mb_relay_config_load_data (text, -1, "test.conf", &error);

  g_assert_no_error (error);
  return config;
}

static char *
render_ok (const MbSetupPlan *plan, const char *existing)
{
  g_autoptr (GError) error = NULL;
  char *text = mb_setup_plan_render (plan, existing, &error);

  g_assert_no_error (error);
  g_assert_nonnull (text);
  return text;
}

/* Every comment line of @before is in @after, in the same order. */
static void
assert_comments_kept (const char *before, const char *after)
{
  g_auto (GStrv) old_lines = g_strsplit (before, "\n", -1);
  g_auto (GStrv) new_lines = g_strsplit (after, "\n", -1);
  gsize j = 0;

  for (gsize i = 0; old_lines[i] != NULL; i++)
    {
      if (old_lines[i][0] != '#')
        continue;
      while (new_lines[j] != NULL && strcmp (new_lines[j], old_lines[i]) != 0)
        j++;
      if (new_lines[j] == NULL)
        {
          g_test_fail_printf ("comment lost: %s", old_lines[i]);
          return;
        }
      j++;
    }
}

/* Defaults */

/* A new plan and one from no configuration are the documented defaults. */
static void
test_defaults (void)
{
  g_autoptr (MbSetupPlan) plan = mb_setup_plan_new ();
  g_autoptr (MbSetupPlan) from_nothing = mb_setup_plan_new_from_config (NULL);
  g_autoptr (MbSetupPlan) copy = NULL;

  g_assert_cmpint (plan->method, ==, MB_ROUTE_METHOD_SUBMISSION);
  g_assert_cmpstr (plan->route, ==, MB_SETUP_PLAN_DEFAULT_ROUTE);
  g_assert_cmpint (plan->auth, ==, MB_ROUTE_AUTH_OAUTH_DEVICE);
  g_assert_cmpint (plan->tls, ==, MB_ROUTE_TLS_OPPORTUNISTIC);
  g_assert_false (plan->lan);
  g_assert_cmpstr (plan->lan_listen, ==, MB_SETUP_PLAN_DEFAULT_LAN_LISTEN);
  g_assert_null (plan->allow);
  assert_plans_equal (plan, from_nothing);

  copy = mb_setup_plan_copy (plan);
  assert_plans_equal (plan, copy);
  g_assert_true (copy->route != plan->route);
}

/* Validation */

typedef struct
{
  const char *name;
  MbSetupPlan *(*make) (void);
  const char *field;
  const char *value;
  const char *needle; /* NULL: valid */
} ValidateCase;

static void
set_field (MbSetupPlan *plan, const char *field, const char *value)
{
  char **slot = NULL;

  if (strcmp (field, "auth") == 0)
    {
      plan->auth = atoi (value);
      return;
    }
  if (strcmp (field, "lan") == 0)
    {
      plan->lan = strcmp (value, "yes") == 0;
      return;
    }
  if (strcmp (field, "allow") == 0)
    {
      g_strfreev (plan->allow);
      plan->allow = value != NULL ? g_strsplit (value, ";", -1) : NULL;
      return;
    }
#define FIELD(f)                                                               \
  if (strcmp (field, #f) == 0)                                                 \
    slot = &plan->f;
  FIELD (route);
  FIELD (mailbox);
  FIELD (tenant);
  FIELD (client_id);
  FIELD (client_certificate);
  FIELD (domain);
  FIELD (mx_host);
  FIELD (public_ip);
  FIELD (certificate_name);
  FIELD (connector_certificate);
  FIELD (lan_listen);
  FIELD (admin_address);
#undef FIELD
  g_assert_nonnull (slot);
  g_free (*slot);
  *slot = g_strdup (value);
}

static const ValidateCase validate_cases[] = {
  { "submission", plan_submission, "mailbox", "scanner@contoso.com", NULL },
  { "submission-lan", plan_submission_lan, "route", "m365", NULL },
  { "basic", plan_submission_basic, "route", "m365", NULL },
  { "app", plan_submission_app, "route", "m365", NULL },
  { "direct-send", plan_direct_send, "route", "m365", NULL },
  { "direct-send-no-mx", plan_direct_send, "mx_host", NULL, NULL },
  { "connector-cert", plan_connector_certificate, "route", "m365", NULL },
  { "connector-ip", plan_connector_ip, "route", "m365", NULL },
  { "tenant-guid", plan_submission, "tenant", TENANT_ID, NULL },
  { "tenant-organizations", plan_submission, "tenant", "organizations", NULL },
  { "tenant-empty", plan_submission, "tenant", "", NULL },
  { "wildcard-cert", plan_connector_certificate, "certificate_name",
    "*.contoso.com", NULL },
  { "ip-documentation", plan_connector_ip, "public_ip", "198.51.100.7", NULL },
  { "allow-ipv6", plan_submission_lan, "allow", "fd00::/8", NULL },
  { "no-admin", plan_submission_lan, "admin_address", "", NULL },

  { "route-empty", plan_submission, "route", "", "route name" },
  { "route-space", plan_submission, "route", "my route", "route name" },
  { "mailbox-missing", plan_submission, "mailbox", NULL, "Enter the mailbox" },
  { "mailbox-invalid", plan_submission, "mailbox", "scanner",
    "The mailbox must be an email address" },
  { "mailbox-name", plan_submission, "mailbox", "Scanner <s@contoso.com>",
    "The mailbox must be an email address" },
  { "auth-none", plan_submission, "auth", "0", "signs in" },
  { "tenant-invalid", plan_submission, "tenant", "contoso .com",
    "The tenant must be" },
  { "app-tenant-missing", plan_submission_app, "tenant", NULL,
    "Enter the tenant" },
  { "client-id-missing", plan_submission, "client_id", NULL,
    "application (client) ID of the app registration" },
  { "client-id-not-guid", plan_submission, "client_id", "my-app",
    "must be a GUID" },
  { "client-id-short", plan_submission, "client_id",
    "9e5f94bc-e8a4-4e73-b8be-63364c29d75", "must be a GUID" },
  { "app-cert-relative", plan_submission_app, "client_certificate", "app.pem",
    "full path" },
  { "domain-missing", plan_direct_send, "domain", NULL, "Enter your domain" },
  { "domain-invalid", plan_direct_send, "domain", "contoso",
    "The domain must be a domain name" },
  { "mx-invalid", plan_direct_send, "mx_host", "mx host",
    "The MX host must be a host name" },
  { "connector-no-identity", plan_connector_ip, "public_ip", NULL,
    "static public IPv4 address or the name" },
  { "ip-invalid", plan_connector_ip, "public_ip", "203.0.113",
    "must be an IPv4 address" },
  { "ip-v6", plan_connector_ip, "public_ip", "2001:db8::1",
    "must be an IPv4 address" },
  { "ip-private-10", plan_connector_ip, "public_ip", "10.1.2.3",
    "10.1.2.3 is a private or local address" },
  { "ip-private-172", plan_connector_ip, "public_ip", "172.20.0.1",
    "private or local" },
  { "ip-private-192", plan_connector_ip, "public_ip", "192.168.1.1",
    "private or local" },
  { "ip-loopback", plan_connector_ip, "public_ip", "127.0.0.1",
    "private or local" },
  { "ip-cgnat", plan_connector_ip, "public_ip", "100.64.1.1",
    "private or local" },
  { "ip-link-local", plan_connector_ip, "public_ip", "169.254.1.1",
    "private or local" },
  { "ip-direct-send", plan_direct_send, "public_ip", "192.168.0.10",
    "private or local" },
  { "cert-name-invalid", plan_connector_certificate, "certificate_name",
    "relay contoso", "The certificate name must be" },
  { "cert-file-missing", plan_connector_certificate, "connector_certificate",
    NULL, "Choose the file of the relay's TLS certificate" },
  { "cert-file-relative", plan_connector_certificate, "connector_certificate",
    "relay.pem", "full path" },
  { "listen-invalid", plan_submission_lan, "lan_listen", "localhost:25",
    "IP address and a port" },
  { "listen-no-port", plan_submission_lan, "lan_listen", "192.168.1.10",
    "IP address and a port" },
  { "listen-loopback", plan_submission_lan, "lan_listen", "127.0.0.1:25",
    "reaches only this computer" },
  { "allow-empty", plan_submission_lan, "allow", NULL,
    "List the devices or networks" },
  { "allow-invalid", plan_submission_lan, "allow", "192.168.1.0/24;printer",
    "“printer” in the list of allowed devices is not an IP" },
  { "allow-bad-length", plan_submission_lan, "allow", "192.168.1.0/33",
    "is not an IP address or network range" },
  { "allow-host-bits", plan_submission_lan, "allow", "192.168.1.5/24",
    "not the start of a network range" },
  { "allow-too-wide", plan_submission_lan, "allow", "10.0.0.0/7", "too wide" },
  { "admin-invalid", plan_submission_lan, "admin_address", "postmaster",
    "The admin address must be an email address" },
};

/* Each field is checked, valid values pass, and the message names the
 * field in words. */
static void
test_validate (gconstpointer data)
{
  const ValidateCase *c = data;
  g_autoptr (MbSetupPlan) plan = c->make ();
  g_autoptr (GError) error = NULL;
  g_autofree char *text = NULL;

  set_field (plan, c->field, c->value);
  if (c->needle == NULL)
    {
      g_assert_true (mb_setup_plan_validate (plan, &error));
      g_assert_no_error (error);
      return;
    }
  g_assert_false (mb_setup_plan_validate (plan, &error));
  g_assert_error (error, MB_SETUP_PLAN_ERROR, MB_SETUP_PLAN_ERROR_INVALID);
  if (strstr (error->message, c->needle) == NULL)
    g_test_fail_printf ("“%s” does not contain “%s”", error->message,
                        c->needle);
  /* render refuses the same plan with the same error. */
  g_clear_error (&error);
  text = mb_setup_plan_render (plan, NULL, &error);
  g_assert_null (text);
  g_assert_error (error, MB_SETUP_PLAN_ERROR, MB_SETUP_PLAN_ERROR_INVALID);
}

/* Golden files */

typedef struct
{
  const char *name; /* tests/setup-plan/NAME.in and NAME.ref */
  MbSetupPlan *(*make) (void);
} GoldenCase;

static const GoldenCase golden_cases[] = {
  { "submission-new", plan_submission },
  { "submission-example", plan_submission_lan },
  { "submission-keep-host", plan_submission_basic },
  { "submission-app", plan_submission_app },
  { "submission-from-direct-send", plan_submission },
  { "direct-send-example", plan_direct_send },
  { "direct-send-from-submission", plan_direct_send },
  { "connector-certificate", plan_connector_certificate },
  { "connector-ip-from-certificate", plan_connector_ip },
  { "lan-off", plan_loopback_only },
  { "relay-missing", plan_submission },
};

static char *
golden_path (const char *name, const char *suffix)
{
  const char      *srcdir = g_getenv ("MB_SOURCEDIR");
  g_autofree char *file = g_strconcat (name, suffix, NULL);

  return g_build_filename (srcdir, "tests", "setup-plan", file, NULL);
}

static char *
read_text (const char *path)
{
  g_autoptr (GError) error = NULL;
  char *text = NULL;

  g_file_get_contents (path, &text, NULL, &error);
  g_assert_no_error (error);
  return text;
}

/* The rendered file is the reviewed .ref, keeps every comment, loads, and
 * a second run of the assistant changes nothing. */
static void
test_golden (gconstpointer data)
{
  const GoldenCase *c = data;
  g_autoptr (MbSetupPlan) plan = c->make ();
  g_autofree char *in_path = NULL;
  g_autofree char *ref_path = NULL;
  g_autofree char *existing = NULL;
  g_autofree char *rendered = NULL;
  g_autofree char *expected = NULL;
  g_autofree char *again = NULL;
  g_autoptr (MbRelayConfig) config = NULL;
  g_autoptr (MbSetupPlan) read_back = NULL;
  g_autofree char *rerun = NULL;

  if (g_getenv ("MB_SOURCEDIR") == NULL)
    {
      g_test_skip ("MB_SOURCEDIR is not set (run through meson test)");
      return;
    }
  in_path = golden_path (c->name, ".in");
  ref_path = golden_path (c->name, ".ref");
  existing = read_text (in_path);
  rendered = render_ok (plan, existing);
  if (g_strcmp0 (g_getenv ("MB_UPDATE_GOLDEN"), "1") == 0)
    g_file_set_contents (ref_path, rendered, -1, NULL);
  expected = read_text (ref_path);
  g_assert_cmpstr (rendered, ==, expected);
  assert_comments_kept (existing, rendered);

  /* Rendering the result again is a fixed point. */
  again = render_ok (plan, rendered);
  g_assert_cmpstr (again, ==, rendered);

  /* Running the assistant again starts from the same choices. */
  config = load (rendered);
  read_back = mb_setup_plan_new_from_config (config);
  assert_plans_equal (plan, read_back);
  if (plan->public_ip == NULL && plan->certificate_name == NULL)
    {
      rerun = render_ok (read_back, rendered);
      g_assert_cmpstr (rerun, ==, rendered);
    }
}

/* listen and allow */

typedef struct
{
  const char *existing; /* [relay] listen, NULL: absent */
  const char *lan;      /* the plan's LAN listener, NULL: off */
  const char *expected;
} ListenCase;

static const ListenCase listen_cases[] = {
  { NULL, NULL, "127.0.0.1:2525;[::1]:2525" },
  { NULL, "0.0.0.0:2525", "[::1]:2525;0.0.0.0:2525" },
  { NULL, "192.168.1.10:25", "127.0.0.1:2525;[::1]:2525;192.168.1.10:25" },
  { NULL, "[::]:2525", "127.0.0.1:2525;[::]:2525" },
  { "127.0.0.1:25", "0.0.0.0:2525", "127.0.0.1:25;0.0.0.0:2525" },
  { "[::1]:2525;0.0.0.0:2525", NULL, "[::1]:2525;127.0.0.1:2525" },
  { "[::1]:2525;0.0.0.0:2525", "0.0.0.0:2525", "[::1]:2525;0.0.0.0:2525" },
  { "127.0.0.1:2525;192.168.1.10:25;10.0.0.1:25", "192.168.1.11:25",
    "127.0.0.1:2525;192.168.1.11:25" },
  { "192.168.1.10:25", NULL, "127.0.0.1:2525;[::1]:2525" },
  { "127.0.0.1:2525;127.0.0.1:2525", NULL, "127.0.0.1:2525" },
};

static char *
relay_value (const char *text, const char *key)
{
  g_autoptr (GKeyFile) keyfile = g_key_file_new ();

  g_assert_true (
      g_key_file_load_from_data (keyfile, text, -1, G_KEY_FILE_NONE, NULL));
  return g_key_file_get_value (keyfile, "relay", key, NULL);
}

/* Loopback listeners stay, the plan's LAN listener replaces the others,
 * and a wildcard one replaces the loopback listener it would clash with
 * (and gives it back). */
static void
test_listen (gconstpointer data)
{
  const ListenCase *c = data;
  g_autoptr (MbSetupPlan) plan = plan_submission ();
  g_autofree char *existing = NULL;
  g_autofree char *rendered = NULL;
  g_autofree char *listen = NULL;
  g_autoptr (MbRelayConfig) config = NULL;
  g_auto (GStrv) expected = g_strsplit (c->expected, ";", -1);

  if (c->existing != NULL)
    existing = g_strdup_printf ("[relay]\nlisten=%s\n", c->existing);
  if (c->lan != NULL)
    {
      const char *allow[] = { "192.168.1.0/24", NULL };

      plan->lan = TRUE;
      g_free (plan->lan_listen);
      plan->lan_listen = g_strdup (c->lan);
      plan->allow = g_strdupv ((GStrv)allow);
    }
  rendered = render_ok (plan, existing);
  listen = relay_value (rendered, "listen");
  g_assert_cmpstr (listen, ==, c->expected);
  config = load (rendered);
  g_assert_cmpuint (config->listen->len, ==, g_strv_length (expected));
}

/* allow is loopback plus the plan's entries, without loopback entries or
 * repeats, whatever it held before. */
static void
test_allow (void)
{
  g_autoptr (MbSetupPlan) plan = plan_submission_lan ();
  const char *allow[]
      = { "192.168.1.0/24", "127.0.0.1", "192.168.1.0/24", "fd00::/8", NULL };
  g_autofree char *rendered = NULL;
  g_autofree char *value = NULL;

  g_strfreev (plan->allow);
  plan->allow = g_strdupv ((GStrv)allow);
  rendered = render_ok (plan, "[relay]\nallow=127.0.0.1;10.0.0.0/8\n");
  value = relay_value (rendered, "allow");
  g_assert_cmpstr (value, ==, "127.0.0.0/8;::1/128;192.168.1.0/24;fd00::/8");
}

/* Errors */

/* A file GKeyFile cannot read, or one with a fault of its own that the
 * plan does not touch, is _EXISTING with the reason; the plan's own
 * faults are _INVALID. */
static void
test_existing_errors (void)
{
  static const struct
  {
    const char *existing;
    gint        code;
    const char *needle;
  } cases[] = {
    { "this is not a key file\n", MB_SETUP_PLAN_ERROR_EXISTING,
      "cannot be read" },
    { "[relay]\nlisten=127.0.0.1:2525\nspeed=fast\n",
      MB_SETUP_PLAN_ERROR_EXISTING, "speed" },
    { "[relay]\nmax-errors=0\n", MB_SETUP_PLAN_ERROR_EXISTING, "max-errors" },
    { "[route other]\nmethod=teleport\n", MB_SETUP_PLAN_ERROR_EXISTING,
      "teleport" },
  };
  g_autoptr (MbSetupPlan) plan = plan_submission ();

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr (GError) error = NULL;
      g_autofree char *text
          = mb_setup_plan_render (plan, cases[i].existing, &error);

      g_assert_null (text);
      g_assert_error (error, MB_SETUP_PLAN_ERROR, cases[i].code);
      if (strstr (error->message, cases[i].needle) == NULL)
        g_test_fail_printf ("“%s” does not contain “%s”", error->message,
                            cases[i].needle);
    }
}

/* A fault of the existing file that the plan replaces is no obstacle. */
static void
test_existing_fixed (void)
{
  g_autoptr (MbSetupPlan) plan = plan_submission ();
  g_autofree char *text
      = render_ok (plan, "[route m365]\nmethod=submission\nauth=none\n");

  g_assert_nonnull (strstr (text, "auth=oauth-device\n"));
}

/* Other routes and keys the assistant does not manage stay as they are. */
static void
test_unmanaged_kept (void)
{
  const char *existing = "[relay]\n"
                         "# the spool\n"
                         "spool=/srv/spool\n"
                         "max-errors=5\n"
                         "route=old\n"
                         "\n"
                         "[route old]\n"
                         "method=direct-send\n"
                         "domain=fabrikam.com\n"
                         "\n"
                         "[route m365]\n"
                         "method=submission\n"
                         "mailbox=old@contoso.com\n"
                         "client-id=" CLIENT_ID "\n"
                         "trust=/etc/ssl/private-ca.pem\n"
                         "rate-limit=20/1m\n"
                         "send-as=sales@contoso.com\n";
  g_autoptr (MbSetupPlan) plan = plan_submission ();
  g_autofree char *text = render_ok (plan, existing);
  g_autoptr (MbRelayConfig) config = load (text);
  MbRouteConfig *old = mb_relay_config_lookup_route (config, "old");
  MbRouteConfig *m365 = mb_relay_config_lookup_route (config, "m365");

  g_assert_cmpstr (config->route, ==, "m365");
  g_assert_cmpstr (config->spool, ==, "/srv/spool");
  g_assert_cmpuint (config->max_errors, ==, 5);
  g_assert_nonnull (strstr (text, "# the spool\nspool=/srv/spool\n"));
  g_assert_nonnull (old);
  g_assert_cmpstr (old->domain, ==, "fabrikam.com");
  g_assert_nonnull (m365);
  g_assert_cmpstr (m365->mailbox, ==, "scanner@contoso.com");
  g_assert_cmpstr (m365->trust, ==, "/etc/ssl/private-ca.pem");
  g_assert_cmpuint (m365->rate_limit_messages, ==, 20);
  g_assert_nonnull (m365->send_as);
}

/* The texts for Microsoft 365 */

/* Each non-comment line of @text is one of @commands (a prefix). */
static void
assert_only_commands (const char *text, const char *const *commands)
{
  g_auto (GStrv) lines = g_strsplit (text, "\n", -1);

  for (gsize i = 0; lines[i] != NULL; i++)
    {
      gboolean known = FALSE;

      if (lines[i][0] == '\0' || lines[i][0] == '#')
        continue;
      for (gsize j = 0; commands[j] != NULL && !known; j++)
        known = g_str_has_prefix (lines[i], commands[j]);
      if (!known)
        g_test_fail_printf ("unexpected command line: %s", lines[i]);
    }
}

/* Submission: the documented cmdlets for the mailbox switch and the
 * tenant switch, App-only registration only for oauth-app, quoting that
 * PowerShell does not expand; nothing for other methods. */
static void
test_submission_powershell (void)
{
  const char *const commands[]
      = { "Connect-ExchangeOnline", "Get-TransportConfig",   "Set-CASMailbox",
          "New-ServicePrincipal",   "Add-MailboxPermission", NULL };
  g_autoptr (MbSetupPlan) plan = plan_submission ();
  g_autoptr (MbSetupPlan) app = plan_submission_app ();
  g_autoptr (MbSetupPlan) basic = plan_submission_basic ();
  g_autoptr (MbSetupPlan) direct = plan_direct_send ();
  g_autofree char *text = mb_setup_plan_submission_powershell (plan);
  g_autofree char *app_text = mb_setup_plan_submission_powershell (app);
  g_autofree char *basic_text = mb_setup_plan_submission_powershell (basic);
  g_autofree char *quoted = NULL;

  g_assert_nonnull (text);
  assert_only_commands (text, commands);
  g_assert_nonnull (strstr (text, "\nConnect-ExchangeOnline\n"));
  g_assert_nonnull (strstr (text, "\nGet-TransportConfig | Format-List "
                                  "SmtpClientAuthenticationDisabled\n"));
  g_assert_nonnull (strstr (text, "\nSet-CASMailbox -Identity "
                                  "'scanner@contoso.com' "
                                  "-SmtpClientAuthenticationDisabled "
                                  "$false\n"));
  g_assert_nonnull (strstr (text, "535 5.7.139"));
  g_assert_nonnull (strstr (text, "Security defaults"));
  g_assert_null (strstr (text, "New-ServicePrincipal"));

  assert_only_commands (app_text, commands);
  g_assert_nonnull (strstr (app_text, "\nNew-ServicePrincipal -AppId " CLIENT_ID
                                      " -ObjectId <OBJECT_ID>\n"));
  g_assert_nonnull (strstr (app_text, "\nAdd-MailboxPermission -Identity "
                                      "'scanner@contoso.com' -User "
                                      "<ServicePrincipalId> -AccessRights "
                                      "FullAccess\n"));
  g_assert_nonnull (strstr (basic_text, "end of December 2026"));

  g_free (plan->mailbox);
  plan->mailbox = g_strdup ("o'brien$x@contoso.com");
  quoted = mb_setup_plan_submission_powershell (plan);
  g_assert_nonnull (strstr (quoted, "-Identity 'o''brien$x@contoso.com' "));

  g_assert_null (mb_setup_plan_submission_powershell (direct));
}

/* Connector: New-InboundConnector OnPremises for every sender domain, by
 * certificate name or by IP, never with the Partner-only parameters; the
 * admin-center path as a comment; nothing for other methods. */
static void
test_connector_powershell (void)
{
  const char *const commands[]
      = { "Connect-ExchangeOnline", "New-InboundConnector", NULL };
  g_autoptr (MbSetupPlan) by_cert = plan_connector_certificate ();
  g_autoptr (MbSetupPlan) by_ip = plan_connector_ip ();
  g_autoptr (MbSetupPlan) submission = plan_submission ();
  g_autofree char *cert_text = mb_setup_plan_connector_powershell (by_cert);
  g_autofree char *ip_text = mb_setup_plan_connector_powershell (by_ip);
  const char      *texts[] = { cert_text, ip_text };

  for (gsize i = 0; i < G_N_ELEMENTS (texts); i++)
    {
      g_assert_nonnull (texts[i]);
      assert_only_commands (texts[i], commands);
      g_assert_nonnull (strstr (texts[i], "\nNew-InboundConnector -Name "
                                          "'Mailbridge relay' -ConnectorType "
                                          "OnPremises -SenderDomains * -"));
      g_assert_nonnull (strstr (texts[i], "# Or in the Exchange admin "
                                          "center: Mail flow > Connectors > "
                                          "Add a\n# connector, from \"Your "
                                          "organization's email server\" to\n"
                                          "# \"Office 365\""));
      g_assert_null (strstr (texts[i], "-RequireTls $true"));
      g_assert_null (strstr (texts[i], "-RestrictDomainsToCertificate $"));
    }
  g_assert_nonnull (strstr (cert_text, " -TlsSenderCertificateName "
                                       "'relay.contoso.com'\n"));
  g_assert_null (strstr (cert_text, "-SenderIPAddresses"));
  g_assert_nonnull (
      strstr (cert_text, "v=spf1 include:spf.protection.outlook.com ~all"));
  g_assert_nonnull (strstr (ip_text, " -SenderIPAddresses 203.0.113.10\n"));
  g_assert_null (strstr (ip_text, "-TlsSenderCertificateName"));
  g_assert_nonnull (strstr (
      ip_text, "v=spf1 ip4:203.0.113.10 include:spf.protection.outlook.com "
               "~all"));
  g_assert_null (mb_setup_plan_connector_powershell (submission));
}

/* The SPF record: ip4 when the IP is known, Microsoft's include, soft
 * fail; only for the MX methods. */
static void
test_spf_record (void)
{
  static const struct
  {
    MbRouteMethod method;
    const char   *ip;
    const char   *expected;
  } cases[] = {
    { MB_ROUTE_METHOD_CONNECTOR, "203.0.113.10",
      "v=spf1 ip4:203.0.113.10 include:spf.protection.outlook.com ~all" },
    { MB_ROUTE_METHOD_CONNECTOR, NULL,
      "v=spf1 include:spf.protection.outlook.com ~all" },
    { MB_ROUTE_METHOD_DIRECT_SEND, "198.51.100.7",
      "v=spf1 ip4:198.51.100.7 include:spf.protection.outlook.com ~all" },
    { MB_ROUTE_METHOD_DIRECT_SEND, "",
      "v=spf1 include:spf.protection.outlook.com ~all" },
    { MB_ROUTE_METHOD_SUBMISSION, "203.0.113.10", NULL },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr (MbSetupPlan) plan = mb_setup_plan_new ();
      g_autofree char *record = NULL;

      plan->method = cases[i].method;
      plan->public_ip = g_strdup (cases[i].ip);
      record = mb_setup_plan_spf_record (plan);
      g_assert_cmpstr (record, ==, cases[i].expected);
    }
}

/* Reading back */

/* The plan comes from [relay] route (else the first route); loopback is
 * left out of the network choices; an HVE route keeps its method. */
static void
test_new_from_config (void)
{
  g_autoptr (MbRelayConfig) config
      = load ("[relay]\n"
              "listen=127.0.0.1:2525;[::1]:2525;[fe80::1]:25;192.168.1.10:25\n"
              "allow=127.0.0.1;::1;192.168.1.0/24;fd00::/8\n"
              "route=second\n"
              "[route first]\n"
              "method=direct-send\n"
              "domain=contoso.com\n"
              "[route second]\n"
              "method=hve\n"
              "mailbox=hve@contoso.com\n"
              "client-id=" CLIENT_ID "\n");
  g_autoptr (MbRelayConfig) unnamed = load ("[relay]\n"
                                            "[route b]\n"
                                            "method=connector\n"
                                            "domain=contoso.com\n"
                                            "[route a]\n"
                                            "method=direct-send\n"
                                            "domain=fabrikam.com\n");
  g_autoptr (MbSetupPlan) plan = mb_setup_plan_new_from_config (config);
  g_autoptr (MbSetupPlan) first = mb_setup_plan_new_from_config (unnamed);
  const char *allow[] = { "192.168.1.0/24", "fd00::/8", NULL };

  g_assert_cmpstr (plan->route, ==, "second");
  g_assert_cmpint (plan->method, ==, MB_ROUTE_METHOD_HVE);
  g_assert_cmpstr (plan->mailbox, ==, "hve@contoso.com");
  g_assert_cmpint (plan->auth, ==, MB_ROUTE_AUTH_OAUTH_DEVICE);
  g_assert_true (plan->lan);
  g_assert_cmpstr (plan->lan_listen, ==, "[fe80::1]:25");
  g_assert_true (g_strv_equal ((const char *const *)plan->allow, allow));
  g_assert_true (mb_setup_plan_validate (plan, NULL));

  g_assert_cmpstr (first->route, ==, "b");
  g_assert_cmpint (first->method, ==, MB_ROUTE_METHOD_CONNECTOR);
  g_assert_cmpint (first->tls, ==, MB_ROUTE_TLS_REQUIRED);
  g_assert_false (first->lan);
  g_assert_null (first->allow);
}

/* Writing */

typedef struct
{
  char *dir;
} WriteFixture;

static void
write_setup (WriteFixture *fixture, gconstpointer data)
{
  fixture->dir = mb_test_make_tmpdir ("setup-plan");
}

static void
write_teardown (WriteFixture *fixture, gconstpointer data)
{
  mb_test_remove_tree (fixture->dir);
  g_free (fixture->dir);
}

static gboolean
write_plan (const MbSetupPlan *plan,
            const char        *path,
            GCancellable      *cancellable,
            GError           **error)
{
  g_autoptr (GAsyncResult) result = NULL;

  mb_setup_plan_write_async (plan, path, cancellable, mb_test_store_result_cb,
                             &result);
  mb_test_wait_for_result (&result);
  return mb_setup_plan_write_finish (result, error);
}

static guint
file_mode (const char *path)
{
  GStatBuf st;

  g_assert_cmpint (g_stat (path, &st), ==, 0);
  return st.st_mode & 07777;
}

/* A new file: the parent directories are made, the text is the rendered
 * one, mode 0644, and there is nothing to back up. */
static void
test_write_new (WriteFixture *fixture, gconstpointer data)
{
  g_autoptr (MbSetupPlan) plan = plan_submission_lan ();
  g_autofree char *path
      = g_build_filename (fixture->dir, "a", "b", "mailbridge.conf", NULL);
  g_autofree char *backup = g_strconcat (path, ".bak", NULL);
  g_autofree char *expected = render_ok (plan, NULL);
  g_autofree char *written = NULL;
  g_autoptr (GError) error = NULL;

  g_assert_true (write_plan (plan, path, NULL, &error));
  g_assert_no_error (error);
  written = read_text (path);
  g_assert_cmpstr (written, ==, expected);
  g_assert_cmpuint (file_mode (path), ==, 0644);
  g_assert_false (g_file_test (backup, G_FILE_TEST_EXISTS));
}

/* Over an existing file: the old text is kept as PATH.bak, the new one
 * replaces it with mode 0644 even where the old one had another. */
static void
test_write_existing (WriteFixture *fixture, gconstpointer data)
{
  const char *old = "# mine\n[relay]\nmax-errors=7\n";
  g_autoptr (MbSetupPlan) plan = plan_direct_send ();
  g_autofree char *path = g_build_filename (fixture->dir, "mb.conf", NULL);
  g_autofree char *backup = g_strconcat (path, ".bak", NULL);
  g_autofree char *expected = render_ok (plan, old);
  g_autofree char *written = NULL;
  g_autofree char *kept = NULL;
  g_autoptr (GError) error = NULL;

  g_assert_true (g_file_set_contents_full (
      path, old, -1, G_FILE_SET_CONTENTS_NONE, 0600, NULL));
  g_assert_true (write_plan (plan, path, NULL, &error));
  g_assert_no_error (error);
  written = read_text (path);
  kept = read_text (backup);
  g_assert_cmpstr (written, ==, expected);
  g_assert_cmpstr (kept, ==, old);
  g_assert_cmpuint (file_mode (path), ==, 0644);
}

/* An invalid plan, an unreadable existing file or a cancelled write leave
 * the file as it was. */
static void
test_write_refused (WriteFixture *fixture, gconstpointer data)
{
  const char *old = "[relay]\nmax-errors=7\n";
  g_autoptr (MbSetupPlan) plan = plan_submission ();
  g_autoptr (MbSetupPlan) invalid = plan_submission ();
  g_autofree char *path = g_build_filename (fixture->dir, "mb.conf", NULL);
  g_autofree char *backup = g_strconcat (path, ".bak", NULL);
  g_autofree char *blocked
      = g_build_filename (fixture->dir, "file", "mb.conf", NULL);
  g_autofree char *blocker = g_build_filename (fixture->dir, "file", NULL);
  g_autofree char *written = NULL;
  g_autoptr (GCancellable) cancellable = g_cancellable_new ();
  g_autoptr (GError) error = NULL;

  g_assert_true (g_file_set_contents (path, old, -1, NULL));
  g_clear_pointer (&invalid->mailbox, g_free);
  g_assert_false (write_plan (invalid, path, NULL, &error));
  g_assert_error (error, MB_SETUP_PLAN_ERROR, MB_SETUP_PLAN_ERROR_INVALID);
  g_clear_error (&error);

  g_cancellable_cancel (cancellable);
  g_assert_false (write_plan (plan, path, cancellable, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_clear_error (&error);

  written = read_text (path);
  g_assert_cmpstr (written, ==, old);
  g_assert_false (g_file_test (backup, G_FILE_TEST_EXISTS));

  /* A file where the directory should be. */
  g_assert_true (g_file_set_contents (blocker, "", -1, NULL));
  g_assert_false (write_plan (plan, blocked, NULL, &error));
  g_assert_error (error, MB_SETUP_PLAN_ERROR, MB_SETUP_PLAN_ERROR_WRITE);
  g_assert_nonnull (strstr (error->message, blocked));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/relay/setup-plan/plan/defaults", test_defaults);
  g_test_add_func ("/relay/setup-plan/plan/new-from-config",
                   test_new_from_config);
  for (gsize i = 0; i < G_N_ELEMENTS (validate_cases); i++)
    {
      g_autofree char *path = g_strdup_printf ("/relay/setup-plan/validate/%s",
                                               validate_cases[i].name);

      g_test_add_data_func (path, &validate_cases[i], test_validate);
    }
  for (gsize i = 0; i < G_N_ELEMENTS (golden_cases); i++)
    {
      g_autofree char *path = g_strdup_printf ("/relay/setup-plan/render/%s",
                                               golden_cases[i].name);

      g_test_add_data_func (path, &golden_cases[i], test_golden);
    }
  for (gsize i = 0; i < G_N_ELEMENTS (listen_cases); i++)
    {
      g_autofree char *path
          = g_strdup_printf ("/relay/setup-plan/listen/%" G_GSIZE_FORMAT, i);

      g_test_add_data_func (path, &listen_cases[i], test_listen);
    }
  g_test_add_func ("/relay/setup-plan/allow/loopback-and-plan", test_allow);
  g_test_add_func ("/relay/setup-plan/render/existing-errors",
                   test_existing_errors);
  g_test_add_func ("/relay/setup-plan/render/existing-fixed",
                   test_existing_fixed);
  g_test_add_func ("/relay/setup-plan/render/unmanaged-kept",
                   test_unmanaged_kept);
  g_test_add_func ("/relay/setup-plan/texts/submission-powershell",
                   test_submission_powershell);
  g_test_add_func ("/relay/setup-plan/texts/connector-powershell",
                   test_connector_powershell);
  g_test_add_func ("/relay/setup-plan/texts/spf-record", test_spf_record);
  g_test_add ("/relay/setup-plan/write/new-file", WriteFixture, NULL,
              write_setup, test_write_new, write_teardown);
  g_test_add ("/relay/setup-plan/write/existing-file", WriteFixture, NULL,
              write_setup, test_write_existing, write_teardown);
  g_test_add ("/relay/setup-plan/write/refused", WriteFixture, NULL,
              write_setup, test_write_refused, write_teardown);
  return g_test_run ();
}
