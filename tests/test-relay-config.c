/* test-relay-config.c - unit tests of mb-relay-config
 *
 * Defaults, every key's refusals (code, key, line and value in the
 * message), unknown and misplaced keys, cross-key checks, the allow list,
 * the public duration and size parsers, and the shipped example file.  The
 * value syntax itself is tested in test-config-syntax.c.
 */
#include "mb-relay-config.h"

#include "mb-test-util.h"

#include <glib/gstdio.h>
#include <string.h>

#define ORIGIN "test.conf"

static MbRelayConfig *
load (const char *text, GError **error)
{
  return mb_relay_config_load_data (text, -1, ORIGIN, error);
}

static char *
address_to_string (gpointer address)
{
  return g_socket_connectable_to_string (G_SOCKET_CONNECTABLE (address));
}

static gboolean
allows (const MbRelayConfig *config, const char *ip)
{
  g_autoptr (GInetAddress) address = g_inet_address_new_from_string (ip);

  g_assert_nonnull (address);
  return mb_relay_config_allows (config, address);
}

/* The line of @text that starts with @prefix (1-based). */
static guint
line_of (const char *text, const char *prefix)
{
  guint line = 1;

  for (const char *p = text; *p != '\0'; p++)
    {
      if ((p == text || p[-1] == '\n') && g_str_has_prefix (p, prefix))
        return line;
      if (*p == '\n')
        line++;
    }
  g_assert_not_reached ();
}

/* Asserts @error is @code and its message starts with
 * "test.conf:LINE: [GROUP] KEY: " and contains @needle. */
static void
assert_error (const GError *error,
              gint          code,
              guint         line,
              const char   *group,
              const char   *key,
              const char   *needle)
{
  g_autofree char *prefix
      = g_strdup_printf (ORIGIN ":%u: [%s] %s: ", line, group, key);

  g_assert_error (error, MB_RELAY_CONFIG_ERROR, code);
  if (!g_str_has_prefix (error->message, prefix))
    g_test_fail_printf ("“%s” does not start with “%s”", error->message,
                        prefix);
  if (needle != NULL && strstr (error->message, needle) == NULL)
    g_test_fail_printf ("“%s” does not contain “%s”", error->message, needle);
}

/* Defaults */

/* Built-in defaults are those of DESIGN.md: loopback only, documented
 * limits. */
static void
test_defaults_values (void)
{
  g_autoptr (MbRelayConfig) config = mb_relay_config_new_default ();
  g_autofree char *spool
      = g_build_filename (g_get_user_state_dir (), "mailbridge", "spool", NULL);
  g_autofree char *cert = g_build_filename (
      g_get_user_state_dir (), "mailbridge", "tls", "relay.crt", NULL);
  g_autofree char *key = g_build_filename (
      g_get_user_state_dir (), "mailbridge", "tls", "relay.key", NULL);
  static const gint64 retry[] = { 60, 300, 900, 1800, 3600 };
  g_autofree char    *listen0 = NULL;
  g_autofree char    *listen1 = NULL;

  g_assert_null (config->path);
  g_assert_cmpuint (config->listen->len, ==, 2);
  listen0 = address_to_string (config->listen->pdata[0]);
  listen1 = address_to_string (config->listen->pdata[1]);
  g_assert_cmpstr (listen0, ==, "127.0.0.1:2525");
  g_assert_cmpstr (listen1, ==, "[::1]:2525");
  g_assert_cmpuint (config->allow->len, ==, 2);
  g_assert_true (allows (config, "127.0.0.1"));
  g_assert_true (allows (config, "127.3.4.5"));
  g_assert_true (allows (config, "::1"));
  g_assert_true (allows (config, "::ffff:127.0.0.1"));
  g_assert_false (allows (config, "192.168.1.1"));
  g_assert_false (allows (config, "::2"));
  g_assert_cmpstr (config->hostname, ==, g_get_host_name ());
  g_assert_cmpstr (config->spool, ==, spool);
  g_assert_null (config->admin_address);
  g_assert_cmpuint (config->max_message_size, ==, 35 * 1024 * 1024);
  g_assert_null (config->route);
  g_assert_cmpmem (config->retry_schedule->data,
                   config->retry_schedule->len * sizeof (gint64), retry,
                   sizeof retry);
  g_assert_cmpint (config->delay_notice_after, ==, 4 * 3600);
  g_assert_cmpint (config->expire_after, ==, 2 * 86400);
  g_assert_null (config->secrets);
  g_assert_cmpuint (config->max_recipients, ==, 500);
  g_assert_cmpuint (config->max_line_length, ==, 998);
  g_assert_cmpuint (config->max_command_line_length, ==, 2048);
  g_assert_cmpint (config->idle_timeout, ==, 300);
  g_assert_cmpint (config->session_timeout, ==, 1800);
  g_assert_cmpuint (config->max_connections, ==, 100);
  g_assert_cmpuint (config->max_connections_per_client, ==, 20);
  g_assert_cmpuint (config->max_errors, ==, 10);
  g_assert_cmpstr (config->tls_certificate, ==, cert);
  g_assert_cmpstr (config->tls_key, ==, key);
  g_assert_cmpuint (config->routes->len, ==, 0);
}

/* An empty file, and an empty [relay] group, give the defaults. */
static void
test_defaults_empty (void)
{
  static const char *const texts[] = { "", "# nothing\n\n", "[relay]\n" };

  for (gsize i = 0; i < G_N_ELEMENTS (texts); i++)
    {
      g_autoptr (GError) error = NULL;
      g_autoptr (MbRelayConfig) config = load (texts[i], &error);
      g_autoptr (MbRelayConfig) defaults = mb_relay_config_new_default ();

      g_assert_no_error (error);
      g_assert_cmpuint (config->listen->len, ==, 2);
      g_assert_cmpstr (config->spool, ==, defaults->spool);
      g_assert_cmpuint (config->max_message_size, ==,
                        defaults->max_message_size);
      g_assert_cmpuint (config->retry_schedule->len, ==, 5);
      g_assert_cmpuint (config->routes->len, ==, 0);
    }
}

/* A reference keeps the configuration alive after the first owner drops
 * it. */
static void
test_defaults_refcount (void)
{
  MbRelayConfig *config = mb_relay_config_new_default ();
  MbRelayConfig *other = mb_relay_config_ref (config);

  g_assert_true (other == config);
  mb_relay_config_unref (config);
  g_assert_cmpuint (other->max_errors, ==, 10);
  mb_relay_config_unref (other);
}

/* Values */

typedef struct
{
  const char *group; /* "relay" or "route r" */
  const char *key;
  const char *value;
  const char *needle; /* in the message; NULL: the value itself */
  const char *base;   /* route keys to start from; NULL: a submission route */
} BadValue;

#define SUBMISSION                                                             \
  "method=submission\nmailbox=scanner@contoso.com\n"                           \
  "client-id=abc\n"
#define DIRECT "method=direct-send\ndomain=contoso.com\n"

static const BadValue bad_values[] = {
  { "relay", "listen", "localhost:25", "use an IP address" },
  { "relay", "listen", "relay.example.com:25", "not looked up" },
  { "relay", "listen", "127.0.0.1", "has no port" },
  { "relay", "listen", "127.0.0.1:0" },
  { "relay", "listen", "127.0.0.1:65536" },
  { "relay", "listen", "127.0.0.1:-1" },
  { "relay", "listen", "127.0.0.1:25x" },
  { "relay", "listen", "::1:25", "brackets" },
  { "relay", "listen", "[::1]", "has no port" },
  { "relay", "listen", "[127.0.0.1]:25" },
  { "relay", "listen", "[::1:25" },
  { "relay", "listen", "1.2.3:25" },
  { "relay", "listen", "127.0.0.1:25;127.0.0.1:25", "listed twice" },
  { "relay", "listen", "", "no address" },
  { "relay", "allow", "192.168.1.5/24", "use 192.168.1.0/24" },
  { "relay", "allow", "10.0.0.0/8;example.com", "“example.com”" },
  { "relay", "allow", "10.0.0.0/33" },
  { "relay", "allow", "10.0.0.0/" },
  { "relay", "allow", "10.0.0.0/8x" },
  { "relay", "allow", "0.0.0.0/0", "open relay" },
  { "relay", "allow", "::/0", "open relay" },
  { "relay", "allow", "2.0.0.0/7", "open relay" },
  { "relay", "hostname", "relay example" },
  { "relay", "hostname", "-bad.example" },
  { "relay", "hostname", "a..b" },
  { "relay", "hostname", "relay.example.com:25" },
  { "relay", "hostname", "", "“”" },
  { "relay", "spool", "", "no path" },
  { "relay", "admin-address", "postmaster" },
  { "relay", "admin-address", "Admin <admin@example.com>" },
  { "relay", "admin-address", "admin@" },
  { "relay", "admin-address", "@example.com" },
  { "relay", "admin-address", "a..b@example.com" },
  { "relay", "admin-address", "admin@example..com" },
  { "relay", "admin-address", "admin@[300.1.1.1]" },
  { "relay", "max-message-size", "0" },
  { "relay", "max-message-size", "1023" },
  { "relay", "max-message-size", "3G" },
  { "relay", "max-message-size", "35X" },
  { "relay", "max-message-size", "-1" },
  { "relay", "max-message-size", "35 M" },
  { "relay", "max-message-size", "99999999999999999999999" },
  { "relay", "route", "no such" },
  { "relay", "route", "missing", "is not defined" },
  { "relay", "retry-schedule", "1m;0;5m", "“0”" },
  { "relay", "retry-schedule", "1m;x", "“x”" },
  { "relay", "retry-schedule", "8d" },
  { "relay", "retry-schedule", "", "no duration" },
  { "relay", "delay-notice-after", "0" },
  { "relay", "delay-notice-after", "5 minutes" },
  { "relay", "delay-notice-after", "-1h" },
  { "relay", "delay-notice-after", "1y" },
  { "relay", "delay-notice-after", "2d",
    "must be shorter than expire-after (2d)" },
  { "relay", "expire-after", "0" },
  { "relay", "expire-after", "abc" },
  { "relay", "expire-after", "1h", "“1h” is not allowed; it must be longer" },
  { "relay", "expire-after", "4h", "must be longer" },
  { "relay", "secrets", "", "no path" },
  { "relay", "max-recipients", "0" },
  { "relay", "max-recipients", "100001" },
  { "relay", "max-recipients", "ten" },
  { "relay", "max-recipients", "-5" },
  { "relay", "max-recipients", "1e3" },
  { "relay", "max-recipients", "18446744073709551617" },
  { "relay", "max-line-length", "77" },
  { "relay", "max-line-length", "1000001" },
  { "relay", "max-command-line-length", "511" },
  { "relay", "idle-timeout", "0" },
  { "relay", "idle-timeout", "2d" },
  { "relay", "session-timeout", "0s" },
  { "relay", "max-connections", "0" },
  { "relay", "max-connections-per-client", "0" },
  { "relay", "max-connections-per-client", "101",
    "“101” is not allowed; it must not exceed" },
  { "relay", "max-errors", "0" },
  { "relay", "max-errors", "1001" },
  { "relay", "tls-certificate", "", "no path" },
  { "relay", "tls-key", "", "no path" },
  { "route r", "method", "smtp", "submission, direct-send, connector or hve" },
  { "route r", "host", "smtp.office365.com:587" },
  { "route r", "host", "bad host" },
  { "route r", "port", "0" },
  { "route r", "port", "65536" },
  { "route r", "port", "smtp" },
  { "route r", "tls", "yes", "required or opportunistic" },
  { "route r", "tls", "opportunistic", "credentials" },
  { "route r", "tls", "opportunistic", "certificate",
    "method=connector\ndomain=contoso.com\nclient-certificate=/c.pem\n" },
  { "route r", "auth", "password" },
  { "route r", "auth", "none", "signs in" },
  { "route r", "auth", "basic", "does not sign in", DIRECT },
  { "route r", "auth", "oauth-device", "does not sign in",
    "method=connector\nhost=mx.example.com\n" },
  { "route r", "mailbox", "scanner" },
  { "route r", "tenant", "con toso" },
  { "route r", "client-id", "has space" },
  { "route r", "client-id", "", "“”" },
  { "route r", "client-certificate", "", "no path" },
  { "route r", "client-key", "", "no path" },
  { "route r", "trust", "", "no path" },
  { "route r", "authority", "http://login.microsoftonline.com" },
  { "route r", "authority", "login.microsoftonline.com" },
  { "route r", "authority", "https://" },
  { "route r", "authority", "https://login.example.com/?q=1" },
  { "route r", "authority", "https://user@login.example.com" },
  { "route r", "domain", "contoso", NULL, DIRECT },
  { "route r", "domain", "bad_domain.com", NULL, DIRECT },
  { "route r", "sender-policy", "rewrite",
    "“rewrite” is not allowed; use keep, rewrite-envelope or rewrite-from" },
  { "route r", "sender-policy", "Keep" },
  { "route r", "sender-policy", "", "“”" },
  { "route r", "send-as", "sales", "“sales” is not an email address" },
  { "route r", "send-as", "Sales <sales@contoso.com>" },
  { "route r", "send-as", "sales@contoso.com;info", "“info” is not" },
  { "route r", "send-as", "sales@contoso.com; Sales@Contoso.com",
    "“Sales@Contoso.com” is listed twice" },
  { "route r", "max-connections", "0",
    "“0” is not allowed; use a whole number from 1 to 50" },
  { "route r", "max-connections", "51" },
  { "route r", "max-connections", "three" },
  { "route r", "rate-limit", "30", "use COUNT/DURATION" },
  { "route r", "rate-limit", "0/1m" },
  { "route r", "rate-limit", "100001/1m", "COUNT from 1 to 100000" },
  { "route r", "rate-limit", "30/0s", "DURATION from 1s to 1d" },
  { "route r", "rate-limit", "30/2d" },
  { "route r", "rate-limit", "30/1m/1" },
  { "route r", "rate-limit", "thirty/1m" },
  { "route r", "rate-limit", "30/1 m" },
  { "route r", "daily-recipient-limit", "0",
    "use a whole number from 1 to 1000000" },
  { "route r", "daily-recipient-limit", "1000001" },
  { "route r", "daily-recipient-limit", "-1" },
  { "route r", "recipients-per-transaction", "0",
    "use a whole number from 1 to 1000" },
  { "route r", "recipients-per-transaction", "1001" },
};

/* Builds a file where @row's key sits below comments and other keys. */
static char *
build_bad_value_text (const BadValue *row)
{
  GString         *text = g_string_new ("# test\n\n[relay]\n");
  g_autofree char *skip = g_strconcat (row->key, "=", NULL);
  g_auto (GStrv) base = NULL;

  g_string_append (text, strcmp (row->key, "max-errors") == 0
                             ? "max-recipients=500\n"
                             : "max-errors=10\n");

  if (strcmp (row->group, "relay") == 0)
    {
      g_string_append_printf (text, "\n# under test\n%s=%s\n", row->key,
                              row->value);
      g_string_append (text, "\n[route r]\n" DIRECT);
      return g_string_free (text, FALSE);
    }
  g_string_append (text, "\n[route r]\n");
  base = g_strsplit (row->base != NULL ? row->base : SUBMISSION, "\n", -1);
  for (gsize i = 0; base[i] != NULL; i++)
    if (*base[i] != '\0' && !g_str_has_prefix (base[i], skip))
      g_string_append_printf (text, "%s\n", base[i]);
  g_string_append_printf (text, "# under test\n%s=%s\n", row->key, row->value);
  return g_string_free (text, FALSE);
}

/* Every key refuses its bad values with INVALID_VALUE, naming the group,
 * the key, the line and the value. */
static void
test_values_bad (void)
{
  for (gsize i = 0; i < G_N_ELEMENTS (bad_values); i++)
    {
      const BadValue  *row = &bad_values[i];
      g_autofree char *text = build_bad_value_text (row);
      g_autofree char *line_start = g_strconcat (row->key, "=", NULL);
      g_autofree char *quoted = g_strdup_printf ("“%s”", row->value);
      g_autoptr (GError) error = NULL;
      g_autoptr (MbRelayConfig) config = NULL;
      const char *under_test = strstr (text, "# under test\n");

      g_test_message ("[%s] %s=%s", row->group, row->key, row->value);
      config = load (text, &error);
      g_assert_null (config);
      assert_error (error, MB_RELAY_CONFIG_ERROR_INVALID_VALUE,
                    line_of (text, "# under test") + 1, row->group, row->key,
                    row->needle != NULL ? row->needle : quoted);
      g_assert_true (g_str_has_prefix (under_test + 13, line_start));
    }
}

/* The message of the brief's example, word for word. */
static void
test_values_message (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (MbRelayConfig) config = mb_relay_config_load_data (
      "# Mailbridge\n\n[relay]\nhostname=relay.example.com\n\n# LAN\n"
      "listen = localhost:25\n",
      -1, "mailbridge.conf", &error);

  g_assert_null (config);
  g_assert_cmpstr (error->message, ==,
                   "mailbridge.conf:7: [relay] listen: “localhost:25” is not "
                   "an IP address and port; host names are not looked up "
                   "here, use an IP address, e.g. 192.168.1.10:25 or "
                   "[::1]:2525");
}

/* Good values are parsed, normalised and stored. */
static void
test_values_good (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (MbRelayConfig) config = mb_relay_config_load_data (
      "[relay]\r\n"
      "listen = [::]:25 ; 192.168.1.10:2525;[fe80::1%lo]:2526;\r\n"
      "allow=\n"
      "hostname=bücher.example\n"
      "spool=spool\n"
      "admin-address=\"john doe\"@[IPv6:2001:db8::1]\n"
      "max-message-size=20MiB\n"
      "retry-schedule=90s;2m;1h;\n"
      "delay-notice-after=1d\n"
      "expire-after=1w\n"
      "secrets=/etc/mailbridge/secrets.conf\n"
      "max-recipients=100000\n"
      "max-line-length=78\n"
      "max-command-line-length=512\n"
      "idle-timeout=90\n"
      "session-timeout=1h\n"
      "max-connections=5\n"
      "max-errors=1\n"
      "tls-certificate=tls/relay.pem\n"
      "tls-key=/etc/ssl/private/relay.key\n"
      "[route office]\n"
      "method=submission\n"
      "mailbox=scanner@bücher.example\n"
      "client-id=9e5f94bc-e8a4-4e73-b8be-63364c29d753\n"
      "host=127.0.0.1\n"
      "port=10587\n"
      "authority=https://login.example.test:8443/base/\n"
      "trust=ca.pem\n",
      -1, "/etc/mailbridge/mailbridge.conf", &error);
  g_autofree char *a0 = NULL;
  g_autofree char *a1 = NULL;
  g_autofree char *a2 = NULL;
  MbRouteConfig   *route;

  g_assert_no_error (error);
  g_assert_null (config->path);
  g_assert_cmpuint (config->listen->len, ==, 3);
  a0 = address_to_string (config->listen->pdata[0]);
  a1 = address_to_string (config->listen->pdata[1]);
  a2 = address_to_string (config->listen->pdata[2]);
  g_assert_cmpstr (a0, ==, "[::]:25");
  g_assert_cmpstr (a1, ==, "192.168.1.10:2525");
  g_assert_true (g_str_has_prefix (a2, "[fe80::1"));
  g_assert_true (g_str_has_suffix (a2, "]:2526"));
  g_assert_cmpuint (config->allow->len, ==, 0);
  g_assert_false (allows (config, "127.0.0.1"));
  g_assert_cmpstr (config->hostname, ==, "xn--bcher-kva.example");
  g_assert_cmpstr (config->spool, ==, "/etc/mailbridge/spool");
  g_assert_cmpstr (config->admin_address, ==,
                   "\"john doe\"@[IPv6:2001:db8::1]");
  g_assert_cmpuint (config->max_message_size, ==, 20 * 1024 * 1024);
  g_assert_cmpuint (config->retry_schedule->len, ==, 3);
  g_assert_cmpint (g_array_index (config->retry_schedule, gint64, 0), ==, 90);
  g_assert_cmpint (g_array_index (config->retry_schedule, gint64, 2), ==, 3600);
  g_assert_cmpint (config->delay_notice_after, ==, 86400);
  g_assert_cmpint (config->expire_after, ==, 7 * 86400);
  g_assert_cmpstr (config->secrets, ==, "/etc/mailbridge/secrets.conf");
  g_assert_cmpuint (config->max_recipients, ==, 100000);
  g_assert_cmpuint (config->max_line_length, ==, 78);
  g_assert_cmpuint (config->max_command_line_length, ==, 512);
  g_assert_cmpint (config->idle_timeout, ==, 90);
  g_assert_cmpint (config->session_timeout, ==, 3600);
  g_assert_cmpuint (config->max_connections, ==, 5);
  g_assert_cmpuint (config->max_connections_per_client, ==, 5);
  g_assert_cmpuint (config->max_errors, ==, 1);
  g_assert_cmpstr (config->tls_certificate, ==,
                   "/etc/mailbridge/tls/relay.pem");
  g_assert_cmpstr (config->tls_key, ==, "/etc/ssl/private/relay.key");

  /* The only route is the route. */
  g_assert_cmpstr (config->route, ==, "office");
  route = mb_relay_config_lookup_route (config, "office");
  g_assert_nonnull (route);
  g_assert_cmpint (route->method, ==, MB_ROUTE_METHOD_SUBMISSION);
  g_assert_cmpint (route->auth, ==, MB_ROUTE_AUTH_OAUTH_DEVICE);
  g_assert_cmpint (route->tls, ==, MB_ROUTE_TLS_REQUIRED);
  g_assert_cmpstr (route->mailbox, ==, "scanner@bücher.example");
  g_assert_cmpstr (route->host, ==, "127.0.0.1");
  g_assert_cmpuint (route->port, ==, 10587);
  g_assert_cmpstr (route->authority, ==,
                   "https://login.example.test:8443/base");
  g_assert_cmpstr (route->trust, ==, "/etc/mailbridge/ca.pem");
  g_assert_null (mb_relay_config_lookup_route (config, "other"));
}

/* Each method gets its documented tls and auth defaults. */
static void
test_values_route_defaults (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (MbRelayConfig) config
      = load ("[relay]\nroute=hve\n"
              "[route direct]\n" DIRECT
              "[route cert]\nmethod=direct-send\nhost=mx.example.com\n"
              "client-certificate=/c.pem\n"
              "[route conn]\nmethod=connector\ndomain=contoso.com\n"
              "[route hve]\nmethod=hve\nmailbox=hve@contoso.com\nauth=basic\n",
              &error);
  MbRouteConfig *route;

  g_assert_no_error (error);
  g_assert_cmpuint (config->routes->len, ==, 4);
  g_assert_cmpstr (config->route, ==, "hve");

  route = mb_relay_config_lookup_route (config, "direct");
  g_assert_cmpint (route->method, ==, MB_ROUTE_METHOD_DIRECT_SEND);
  g_assert_cmpint (route->tls, ==, MB_ROUTE_TLS_OPPORTUNISTIC);
  g_assert_cmpint (route->auth, ==, MB_ROUTE_AUTH_NONE);
  g_assert_null (route->host);
  g_assert_cmpuint (route->port, ==, 0);
  g_assert_cmpstr (route->domain, ==, "contoso.com");
  g_assert_cmpstr (route->authority, ==, "https://login.microsoftonline.com");

  route = mb_relay_config_lookup_route (config, "cert");
  g_assert_cmpint (route->tls, ==, MB_ROUTE_TLS_REQUIRED);

  route = mb_relay_config_lookup_route (config, "conn");
  g_assert_cmpint (route->method, ==, MB_ROUTE_METHOD_CONNECTOR);
  g_assert_cmpint (route->tls, ==, MB_ROUTE_TLS_REQUIRED);
  g_assert_cmpint (route->auth, ==, MB_ROUTE_AUTH_NONE);

  route = mb_relay_config_lookup_route (config, "hve");
  g_assert_cmpint (route->method, ==, MB_ROUTE_METHOD_HVE);
  g_assert_cmpint (route->auth, ==, MB_ROUTE_AUTH_BASIC);
  g_assert_cmpint (route->tls, ==, MB_ROUTE_TLS_REQUIRED);
}

/* Several routes and no choice: the route stays unset. */
static void
test_values_no_route_chosen (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (MbRelayConfig) config
      = load ("[route a]\n" DIRECT "[route b]\n" DIRECT, &error);

  g_assert_no_error (error);
  g_assert_null (config->route);
  g_assert_cmpuint (config->routes->len, ==, 2);
}

/* A route's delivery tuning is stored as written; unset, it stays 0 / NULL
 * (the method's profile decides). */
static void
test_values_route_tuning (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (MbRelayConfig) config
      = load ("[route tuned]\n" SUBMISSION "sender-policy=rewrite-envelope\n"
              "send-as = sales@contoso.com; info@bücher.example ;\n"
              "max-connections=50\n"
              "rate-limit=30/2s\n"
              "daily-recipient-limit=1000000\n"
              "recipients-per-transaction=1\n"
              "[route hourly]\n" DIRECT "rate-limit=100000/1d\n"
              "sender-policy=keep\nmax-connections=1\n"
              "daily-recipient-limit=1\nrecipients-per-transaction=1000\n"
              "[route plain]\n" DIRECT,
              &error);
  MbRouteConfig *route;

  g_assert_no_error (error);
  route = mb_relay_config_lookup_route (config, "tuned");
  g_assert_cmpstr (route->sender_policy, ==, "rewrite-envelope");
  g_assert_nonnull (route->send_as);
  g_assert_cmpuint (g_strv_length (route->send_as), ==, 2);
  g_assert_cmpstr (route->send_as[0], ==, "sales@contoso.com");
  g_assert_cmpstr (route->send_as[1], ==, "info@bücher.example");
  g_assert_cmpuint (route->max_connections, ==, 50);
  g_assert_cmpuint (route->rate_limit_messages, ==, 30);
  g_assert_cmpint (route->rate_limit_window, ==, 2);
  g_assert_cmpuint (route->daily_recipient_limit, ==, 1000000);
  g_assert_cmpuint (route->recipients_per_transaction, ==, 1);

  route = mb_relay_config_lookup_route (config, "hourly");
  g_assert_cmpstr (route->sender_policy, ==, "keep");
  g_assert_null (route->send_as);
  g_assert_cmpuint (route->max_connections, ==, 1);
  g_assert_cmpuint (route->rate_limit_messages, ==, 100000);
  g_assert_cmpint (route->rate_limit_window, ==, 86400);
  g_assert_cmpuint (route->daily_recipient_limit, ==, 1);
  g_assert_cmpuint (route->recipients_per_transaction, ==, 1000);

  route = mb_relay_config_lookup_route (config, "plain");
  g_assert_null (route->sender_policy);
  g_assert_null (route->send_as);
  g_assert_cmpuint (route->max_connections, ==, 0);
  g_assert_cmpuint (route->rate_limit_messages, ==, 0);
  g_assert_cmpint (route->rate_limit_window, ==, 0);
  g_assert_cmpuint (route->daily_recipient_limit, ==, 0);
  g_assert_cmpuint (route->recipients_per_transaction, ==, 0);
}

/* An empty send-as means none; the relay's own max-connections and the
 * route's are separate keys. */
static void
test_values_route_tuning_edges (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (MbRelayConfig) config
      = load ("[relay]\nmax-connections=7\n"
              "[route r]\n" DIRECT "send-as=\nmax-connections=2\n",
              &error);
  MbRouteConfig *route;

  g_assert_no_error (error);
  route = mb_relay_config_lookup_route (config, "r");
  g_assert_null (route->send_as);
  g_assert_cmpuint (route->max_connections, ==, 2);
  g_assert_cmpuint (config->max_connections, ==, 7);
}

/* The enum names round-trip. */
static void
test_values_enum_names (void)
{
  g_assert_cmpstr (mb_route_method_to_string (MB_ROUTE_METHOD_SUBMISSION), ==,
                   "submission");
  g_assert_cmpstr (mb_route_method_to_string (MB_ROUTE_METHOD_DIRECT_SEND), ==,
                   "direct-send");
  g_assert_cmpstr (mb_route_method_to_string (MB_ROUTE_METHOD_CONNECTOR), ==,
                   "connector");
  g_assert_cmpstr (mb_route_method_to_string (MB_ROUTE_METHOD_HVE), ==, "hve");
  g_assert_cmpstr (mb_route_auth_to_string (MB_ROUTE_AUTH_NONE), ==, "none");
  g_assert_cmpstr (mb_route_auth_to_string (MB_ROUTE_AUTH_BASIC), ==, "basic");
  g_assert_cmpstr (mb_route_auth_to_string (MB_ROUTE_AUTH_OAUTH_DEVICE), ==,
                   "oauth-device");
  g_assert_cmpstr (mb_route_auth_to_string (MB_ROUTE_AUTH_OAUTH_BROWSER), ==,
                   "oauth-browser");
  g_assert_cmpstr (mb_route_auth_to_string (MB_ROUTE_AUTH_OAUTH_APP), ==,
                   "oauth-app");
  g_assert_cmpstr (mb_route_tls_to_string (MB_ROUTE_TLS_REQUIRED), ==,
                   "required");
  g_assert_cmpstr (mb_route_tls_to_string (MB_ROUTE_TLS_OPPORTUNISTIC), ==,
                   "opportunistic");
}

/* Missing keys */

typedef struct
{
  const char *text;
  const char *group;
  const char *key;
  const char *line_prefix; /* the line the message points at */
} Missing;

static const Missing missing[] = {
  { "[route r]\nmailbox=a@contoso.com\n", "route r", "method", "[route r]" },
  { "[relay]\n\n[route r]\nmethod=submission\nclient-id=x\n", "route r",
    "mailbox", "[route r]" },
  { "[route r]\nmethod=hve\nmailbox=a@contoso.com\n", "route r", "client-id",
    "[route r]" },
  { "[route r]\nmethod=submission\nmailbox=a@contoso.com\nclient-id=x\n"
    "auth=oauth-app\n",
    "route r", "tenant", "[route r]" },
  { "[route r]\nmethod=direct-send\n", "route r", "domain", "[route r]" },
  { "[route r]\nmethod=connector\nhost=mx.example.com\nclient-key=k.pem\n",
    "route r", "client-certificate", "client-key=" },
  { "[relay]\nmax-errors=3\ntls-certificate=/a.crt\n", "relay", "tls-key",
    "tls-certificate=" },
  { "[relay]\ntls-key=/a.key\n", "relay", "tls-certificate", "tls-key=" },
  { "[route r]\n" DIRECT "\nsender-policy=rewrite-from\n", "route r", "mailbox",
    "sender-policy=" },
  { "[route r]\nmethod=connector\nsender-policy=rewrite-envelope\n"
    "host=mx.example.com\n",
    "route r", "mailbox", "sender-policy=" },
  { "[route r]\n" DIRECT "send-as=sales@contoso.com\n", "route r", "mailbox",
    "send-as=" },
};

/* A required key that is missing gives MISSING, naming it. */
static void
test_missing (void)
{
  for (gsize i = 0; i < G_N_ELEMENTS (missing); i++)
    {
      g_autoptr (GError) error = NULL;
      g_autoptr (MbRelayConfig) config = load (missing[i].text, &error);
      g_autofree char *escaped = g_strescape (missing[i].text, NULL);

      g_test_message ("%s", escaped);
      g_assert_null (config);
      assert_error (error, MB_RELAY_CONFIG_ERROR_MISSING,
                    line_of (missing[i].text, missing[i].line_prefix),
                    missing[i].group, missing[i].key, "missing");
    }
}

/* sender-policy keep needs no mailbox; rewrite-from with one loads. */
static void
test_missing_not_needed (void)
{
  static const char *const texts[] = {
    "[route r]\n" DIRECT "sender-policy=keep\n",
    "[route r]\n" DIRECT "mailbox=relay@contoso.com\n"
    "sender-policy=rewrite-from\nsend-as=sales@contoso.com\n",
  };

  for (gsize i = 0; i < G_N_ELEMENTS (texts); i++)
    {
      g_autoptr (GError) error = NULL;
      g_autoptr (MbRelayConfig) config = load (texts[i], &error);

      g_assert_no_error (error);
      g_assert_nonnull (config);
    }
}

/* Structure */

typedef struct
{
  const char *text;
  gint        code;
  guint       line;
  const char *needle;
} Structure;

static const Structure structure[] = {
  { "[relay]\nlisen=127.0.0.1:25\n", MB_RELAY_CONFIG_ERROR_UNKNOWN_KEY, 2,
    "[relay] lisen: unknown key; did you mean “listen”?" },
  { "[relay]\nfrobnicate=1\n", MB_RELAY_CONFIG_ERROR_UNKNOWN_KEY, 2,
    "the keys of this group are listen, allow, hostname" },
  { "[relay]\n[route r]\n" DIRECT "mailbx=a@b.c\n",
    MB_RELAY_CONFIG_ERROR_UNKNOWN_KEY, 5, "did you mean “mailbox”?" },
  { "[route r]\n" DIRECT "rate-limits=30/1m\n",
    MB_RELAY_CONFIG_ERROR_UNKNOWN_KEY, 4,
    "[route r] rate-limits: unknown key; did you mean “rate-limit”?" },
  { "[route r]\n" DIRECT "idle-timeout=5m\n", MB_RELAY_CONFIG_ERROR_UNKNOWN_KEY,
    4,
    "the keys of this group are method, host, port, tls, auth, mailbox, "
    "tenant, client-id, client-certificate, client-key, trust, authority, "
    "domain, sender-policy, send-as, max-connections, rate-limit, "
    "daily-recipient-limit, recipients-per-transaction" },
  { "[route r]\n" DIRECT "rate-limit=30/1m\nrate-limit=20/1m\n",
    MB_RELAY_CONFIG_ERROR_SYNTAX, 5,
    "[route r] rate-limit: set twice (also on line 4)" },
  { "[relay]\nhostname[de]=x.example\n", MB_RELAY_CONFIG_ERROR_UNKNOWN_KEY, 2,
    "[relay] hostname[de]: localized keys" },
  { "# c\n[relya]\n", MB_RELAY_CONFIG_ERROR_UNKNOWN_KEY, 2,
    "[relya]: unknown group" },
  { "[route]\n", MB_RELAY_CONFIG_ERROR_UNKNOWN_KEY, 1,
    "[route]: unknown group" },
  { "[route a b]\n", MB_RELAY_CONFIG_ERROR_INVALID_VALUE, 1,
    "“a b” is not a route name" },
  { "[relay]\nmax-errors=1\n\nmax-errors = 2\n", MB_RELAY_CONFIG_ERROR_SYNTAX,
    4, "[relay] max-errors: set twice (also on line 2)" },
  { "[relay]\nmax-errors=1\n[route r]\n" DIRECT "[relay]\nmax-errors=2\n",
    MB_RELAY_CONFIG_ERROR_SYNTAX, 7, "set twice" },
  { "listen=127.0.0.1:25\n[relay]\n", MB_RELAY_CONFIG_ERROR_SYNTAX, 1,
    "comes before any group" },
  { "[relay]\n\nthis is not a key\n", MB_RELAY_CONFIG_ERROR_SYNTAX, 3,
    "“this is not a key” is not a [group]" },
  { "[relay]\n=5\n", MB_RELAY_CONFIG_ERROR_SYNTAX, 2, "is not a [group]" },
  { "[relay\n", MB_RELAY_CONFIG_ERROR_SYNTAX, 1, "is not a [group]" },
  { "[relay] x\n", MB_RELAY_CONFIG_ERROR_SYNTAX, 1, "is not a [group]" },
  { "[relay]\nhostname=a\xff\n", MB_RELAY_CONFIG_ERROR_SYNTAX, 2,
    "not valid UTF-8" },
  { "[relay]\nhostname=\\q\n", MB_RELAY_CONFIG_ERROR_INVALID_VALUE, 2,
    "[relay] hostname: " },
};

/* Typos and misplaced lines are errors with their line, never ignored. */
static void
test_structure (void)
{
  for (gsize i = 0; i < G_N_ELEMENTS (structure); i++)
    {
      g_autoptr (GError) error = NULL;
      g_autoptr (MbRelayConfig) config = load (structure[i].text, &error);
      g_autofree char *escaped = g_strescape (structure[i].text, NULL);
      g_autofree char *prefix
          = g_strdup_printf (ORIGIN ":%u: ", structure[i].line);

      g_test_message ("%s", escaped);
      g_assert_null (config);
      g_assert_error (error, MB_RELAY_CONFIG_ERROR, structure[i].code);
      g_assert_true (g_str_has_prefix (error->message, prefix));
      if (strstr (error->message, structure[i].needle) == NULL)
        g_test_fail_printf ("“%s” lacks “%s”", error->message,
                            structure[i].needle);
    }
}

/* A NUL byte inside the data is refused at its line. */
static void
test_structure_nul (void)
{
  static const char text[] = "[relay]\nmax-errors=1\0 2\n";
  g_autoptr (GError) error = NULL;
  g_autoptr (MbRelayConfig) config
      = mb_relay_config_load_data (text, sizeof text - 1, ORIGIN, &error);

  g_assert_null (config);
  g_assert_error (error, MB_RELAY_CONFIG_ERROR, MB_RELAY_CONFIG_ERROR_SYNTAX);
  g_assert_true (g_str_has_prefix (error->message, ORIGIN ":2: "));
}

/* Allow list */

/* allows() matches IPv4, IPv6, CIDR ranges, and IPv4-mapped IPv6 clients
 * (and mapped ranges) as IPv4. */
static void
test_allow_matching (void)
{
  static const struct
  {
    const char *ip;
    gboolean    allowed;
  } cases[] = {
    { "192.168.1.77", TRUE },
    { "192.168.1.0", TRUE },
    { "192.168.1.255", TRUE },
    { "192.168.2.1", FALSE },
    { "::ffff:192.168.1.77", TRUE },
    { "::ffff:192.168.2.1", FALSE },
    { "10.0.0.17", TRUE },
    { "10.0.0.18", FALSE },
    { "fd00::5", TRUE },
    { "fd12:3456::1", TRUE },
    { "fe80::1", FALSE },
    { "172.16.5.5", TRUE },
    { "::ffff:172.16.5.5", TRUE },
    { "172.32.0.1", FALSE },
    { "127.0.0.1", FALSE },
    { "::1", FALSE },
    { "::192.168.1.77", FALSE },
  };
  g_autoptr (GError) error = NULL;
  g_autoptr (MbRelayConfig) config = load (
      "[relay]\nallow=192.168.1.0/24; 10.0.0.17 ;fd00::/8;::ffff:172.16.0.0/"
      "108\n",
      &error);

  g_assert_no_error (error);
  g_assert_cmpuint (config->allow->len, ==, 4);
  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_test_message ("%s", cases[i].ip);
      g_assert_cmpint (allows (config, cases[i].ip), ==, cases[i].allowed);
    }
}

/* Durations and sizes */

/* The public parsers keep their contract (any duration or size, out
 * parameter optional); the syntax is tested in test-config-syntax.c. */
static void
test_syntax_forwarders (void)
{
  gint64  seconds = 0;
  guint64 bytes = 0;

  g_assert_true (mb_relay_config_parse_duration ("2d", &seconds));
  g_assert_cmpint (seconds, ==, 172800);
  g_assert_true (mb_relay_config_parse_duration ("0", &seconds));
  g_assert_cmpint (seconds, ==, 0);
  g_assert_true (mb_relay_config_parse_duration ("9223372036854775807", NULL));
  g_assert_false (mb_relay_config_parse_duration ("9223372036854775808", NULL));
  g_assert_false (mb_relay_config_parse_duration ("5 m", &seconds));
  g_assert_cmpint (seconds, ==, 0);

  g_assert_true (mb_relay_config_parse_size ("20MiB", &bytes));
  g_assert_cmpuint (bytes, ==, 20 * 1024 * 1024);
  g_assert_true (mb_relay_config_parse_size ("18446744073709551615", NULL));
  g_assert_false (mb_relay_config_parse_size ("16777216T", NULL));
  g_assert_false (mb_relay_config_parse_size ("35X", &bytes));
  g_assert_cmpuint (bytes, ==, 20 * 1024 * 1024);
}

/* Files */

/* A missing file is NOT_FOUND; a loaded file records its path and resolves
 * relative paths against its directory. */
static void
test_file_load (void)
{
  g_autofree char *dir = mb_test_make_tmpdir ("relay-config");
  g_autofree char *path = g_build_filename (dir, "mailbridge.conf", NULL);
  g_autofree char *spool = g_build_filename (dir, "queue", NULL);
  g_autofree char *missing_path = g_build_filename (dir, "nope.conf", NULL);
  g_autoptr (GError) error = NULL;
  g_autoptr (MbRelayConfig) config = NULL;
  g_autoptr (MbRelayConfig) none = NULL;

  g_assert_true (
      g_file_set_contents (path, "[relay]\nspool=queue\n", -1, NULL));
  config = mb_relay_config_load_file (path, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (config->path, ==, path);
  g_assert_cmpstr (config->spool, ==, spool);

  none = mb_relay_config_load_file (missing_path, &error);
  g_assert_null (none);
  g_assert_error (error, MB_RELAY_CONFIG_ERROR,
                  MB_RELAY_CONFIG_ERROR_NOT_FOUND);
  g_assert_nonnull (strstr (error->message, missing_path));

  g_assert_cmpint (g_unlink (path), ==, 0);
  g_assert_cmpint (g_rmdir (dir), ==, 0);
}

/* The example */

static char *
read_example (void)
{
  const char      *srcdir = g_getenv ("MB_SOURCEDIR");
  g_autofree char *path = NULL;
  g_autofree char *text = NULL;

  if (srcdir == NULL)
    return NULL;
  path = g_build_filename (srcdir, "data", "mailbridge.conf.example", NULL);
  g_assert_true (g_file_get_contents (path, &text, NULL, NULL));
  return g_steal_pointer (&text);
}

/* "#key=value" lines turned into "key=value" from the first "#[route"
 * on, plus the relay line @extra (tls-certificate and tls-key go
 * together). */
static char *
uncomment_example (const char *text, const char *extra)
{
  g_auto (GStrv) lines = g_strsplit (text, "\n", -1);
  GString *out = g_string_new (NULL);
  gboolean routes = FALSE;

  for (gsize i = 0; lines[i] != NULL; i++)
    {
      const char *line = lines[i];

      routes = routes || g_str_has_prefix (line, "#[route ");
      if ((routes
           && (g_str_has_prefix (line, "#[")
               || (line[0] == '#' && g_ascii_islower (line[1]))))
          || (extra != NULL && strcmp (line, extra) == 0)
          || (extra != NULL && g_str_has_prefix (extra, "#tls-")
              && g_str_has_prefix (line, "#tls-")))
        line++;
      g_string_append_printf (out, "%s\n", line);
    }
  return g_string_free (out, FALSE);
}

/* The shipped example loads as it is: loopback only, no route. */
static void
test_example_loads (void)
{
  const char      *srcdir = g_getenv ("MB_SOURCEDIR");
  g_autofree char *path = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (MbRelayConfig) config = NULL;
  g_autoptr (MbRelayConfig) defaults = mb_relay_config_new_default ();

  if (srcdir == NULL)
    {
      g_test_skip ("MB_SOURCEDIR is not set");
      return;
    }
  path = g_build_filename (srcdir, "data", "mailbridge.conf.example", NULL);
  config = mb_relay_config_load_file (path, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (config->listen->len, ==, 2);
  g_assert_true (allows (config, "127.0.0.1"));
  g_assert_true (allows (config, "::1"));
  g_assert_false (allows (config, "192.168.1.1"));
  g_assert_cmpstr (config->spool, ==, defaults->spool);
  g_assert_cmpuint (config->routes->len, ==, 0);
  g_assert_null (config->route);
}

/* Its commented route examples load when uncommented, together with each
 * commented [relay] line on its own. */
static void
test_example_uncommented (void)
{
  g_autofree char *text = read_example ();
  g_auto (GStrv) lines = NULL;
  guint tried = 0;

  if (text == NULL)
    {
      g_test_skip ("MB_SOURCEDIR is not set");
      return;
    }
  lines = g_strsplit (text, "\n", -1);
  for (gsize i = 0; lines[i] != NULL; i++)
    {
      const char      *line = lines[i];
      g_autofree char *variant = NULL;
      g_autoptr (GError) error = NULL;
      g_autoptr (MbRelayConfig) config = NULL;
      MbRouteConfig *office;

      if (g_str_has_prefix (line, "#[route "))
        break;
      if (line[0] != '#' || !g_ascii_islower (line[1]))
        continue;
      g_test_message ("%s", line);
      variant = uncomment_example (text, line);
      config = load (variant, &error);
      g_assert_no_error (error);
      g_assert_cmpuint (config->routes->len, ==, 4);
      g_assert_cmpint (
          mb_relay_config_lookup_route (config, "office365")->method, ==,
          MB_ROUTE_METHOD_SUBMISSION);
      g_assert_cmpint (mb_relay_config_lookup_route (config, "direct")->method,
                       ==, MB_ROUTE_METHOD_DIRECT_SEND);
      g_assert_cmpint (
          mb_relay_config_lookup_route (config, "connector")->method, ==,
          MB_ROUTE_METHOD_CONNECTOR);
      g_assert_cmpstr (mb_relay_config_lookup_route (config, "connector")
                           ->client_certificate,
                       ==, "/etc/mailbridge/relay.contoso.com.crt");
      g_assert_cmpint (mb_relay_config_lookup_route (config, "hve")->method, ==,
                       MB_ROUTE_METHOD_HVE);
      g_assert_cmpint (mb_relay_config_lookup_route (config, "hve")->auth, ==,
                       MB_ROUTE_AUTH_OAUTH_APP);
      office = mb_relay_config_lookup_route (config, "office365");
      g_assert_cmpstr (office->sender_policy, ==, "rewrite-from");
      g_assert_cmpstr (office->send_as[0], ==, "sales@contoso.com");
      g_assert_cmpuint (office->max_connections, ==, 3);
      g_assert_cmpuint (office->rate_limit_messages, ==, 30);
      g_assert_cmpint (office->rate_limit_window, ==, 60);
      g_assert_cmpuint (office->daily_recipient_limit, ==, 10000);
      g_assert_cmpuint (office->recipients_per_transaction, ==, 500);
      tried++;
    }
  /* Every [relay] key except listen and allow, which are set. */
  g_assert_cmpuint (tried, ==, 19);
}

/* Every key is documented in the example. */
static void
test_example_documents_every_key (void)
{
  static const char *const relay[] = {
    "listen",
    "allow",
    "hostname",
    "spool",
    "admin-address",
    "max-message-size",
    "route",
    "retry-schedule",
    "delay-notice-after",
    "expire-after",
    "secrets",
    "max-recipients",
    "max-line-length",
    "max-command-line-length",
    "idle-timeout",
    "session-timeout",
    "max-connections",
    "max-connections-per-client",
    "max-errors",
    "tls-certificate",
    "tls-key",
  };
  static const char *const route[] = {
    "method",
    "host",
    "port",
    "tls",
    "auth",
    "mailbox",
    "tenant",
    "client-id",
    "client-certificate",
    "client-key",
    "trust",
    "authority",
    "domain",
    "sender-policy",
    "send-as",
    "max-connections",
    "rate-limit",
    "daily-recipient-limit",
    "recipients-per-transaction",
  };
  g_autofree char *text = read_example ();

  if (text == NULL)
    {
      g_test_skip ("MB_SOURCEDIR is not set");
      return;
    }
  for (gsize i = 0; i < G_N_ELEMENTS (relay); i++)
    {
      g_autofree char *commented = g_strdup_printf ("\n#%s=", relay[i]);
      g_autofree char *active = g_strdup_printf ("\n%s=", relay[i]);
      g_autofree char *doc = g_strdup_printf ("\n# %s:", relay[i]);
      g_autofree char *doc_first = g_strdup_printf ("\n# %s,", relay[i]);
      g_autofree char *doc_second = g_strdup_printf (", %s:", relay[i]);

      g_test_message ("%s", relay[i]);
      g_assert_true (strstr (text, commented) != NULL
                     || strstr (text, active) != NULL);
      g_assert_true (strstr (text, doc) != NULL
                     || strstr (text, doc_first) != NULL
                     || strstr (text, doc_second) != NULL);
    }
  for (gsize i = 0; i < G_N_ELEMENTS (route); i++)
    {
      g_autofree char *doc = g_strdup_printf ("\n# %s: ", route[i]);

      g_test_message ("%s", route[i]);
      g_assert_nonnull (strstr (text, doc));
    }
}

/* Route equality (a reload keeps a route only when it is equal) */

/* A [route NAME] with every key set; @override replaces the line of its
 * key (or is added), so each case changes exactly one value. */
static MbRelayConfig *
load_route (const char *name, const char *override)
{
  static const char *const keys[] = {
    "method=submission",
    "host=smtp.example.com",
    "port=587",
    "tls=required",
    "auth=oauth-app",
    "mailbox=box@contoso.com",
    "tenant=contoso.onmicrosoft.com",
    "client-id=9e5f94bc-e8a4-4e73-b8be-63364c29d753",
    "client-certificate=/etc/mailbridge/app.pem",
    "client-key=/etc/mailbridge/app.key",
    "trust=/etc/mailbridge/ca.pem",
    "authority=https://login.microsoftonline.com",
    "domain=contoso.com",
    "sender-policy=rewrite-from",
    "send-as=a@contoso.com",
    "max-connections=3",
    "rate-limit=30/1m",
    "daily-recipient-limit=10000",
    "recipients-per-transaction=500",
    NULL,
  };
  g_autoptr (GString) text = g_string_new (NULL);
  g_autoptr (GError) error = NULL;
  gsize          key_len = override != NULL ? strcspn (override, "=") + 1 : 0;
  MbRelayConfig *config;

  g_string_append_printf (text, "[route %s]\n", name);
  for (guint i = 0; keys[i] != NULL; i++)
    if (override == NULL || strncmp (keys[i], override, key_len) != 0)
      g_string_append_printf (text, "%s\n", keys[i]);
  if (override != NULL)
    g_string_append_printf (text, "%s\n", override);
  config = load (text->str, &error);
  g_assert_no_error (error);
  return config;
}

/* Two routes are equal only when the name and every value are: each key
 * changed alone makes them differ, the same text makes them equal. */
static void
test_route_equal (void)
{
  static const char *const changes[] = {
    "method=hve",
    "host=smtp2.example.com",
    "port=25",
    "auth=oauth-device",
    "mailbox=other@contoso.com",
    "tenant=fabrikam.onmicrosoft.com",
    "client-id=0d9c3a53-6b7e-4d11-9a55-1f2e0c0e5b01",
    "client-certificate=/etc/mailbridge/other.pem",
    "client-key=/etc/mailbridge/other.key",
    "trust=/etc/mailbridge/other-ca.pem",
    "authority=https://login.example.net",
    "domain=fabrikam.com",
    "sender-policy=rewrite-envelope",
    "send-as=a@contoso.com;b@contoso.com",
    "max-connections=2",
    "rate-limit=20/1m",
    "rate-limit=30/2m",
    "daily-recipient-limit=5000",
    "recipients-per-transaction=100",
  };
  g_autoptr (MbRelayConfig) base = load_route ("m365", NULL);
  g_autoptr (MbRelayConfig) same = load_route ("m365", NULL);
  g_autoptr (MbRelayConfig) renamed = load_route ("other", NULL);
  g_autoptr (MbRelayConfig) direct = NULL;
  g_autoptr (MbRelayConfig) opportunistic = NULL;
  g_autoptr (GError) error = NULL;

  g_assert_true (
      mb_route_config_equal (base->routes->pdata[0], same->routes->pdata[0]));
  g_assert_false (mb_route_config_equal (base->routes->pdata[0],
                                         renamed->routes->pdata[0]));
  for (gsize i = 0; i < G_N_ELEMENTS (changes); i++)
    {
      g_autoptr (MbRelayConfig) changed = load_route ("m365", changes[i]);

      g_test_message ("%s", changes[i]);
      g_assert_false (mb_route_config_equal (base->routes->pdata[0],
                                             changed->routes->pdata[0]));
      g_assert_false (mb_route_config_equal (changed->routes->pdata[0],
                                             base->routes->pdata[0]));
    }

  /* tls, on a method that allows both. */
  direct = load ("[route m365]\nmethod=direct-send\ndomain=contoso.com\n"
                 "tls=required\n",
                 &error);
  g_assert_no_error (error);
  opportunistic = load ("[route m365]\nmethod=direct-send\n"
                        "domain=contoso.com\ntls=opportunistic\n",
                        &error);
  g_assert_no_error (error);
  g_assert_false (mb_route_config_equal (direct->routes->pdata[0],
                                         opportunistic->routes->pdata[0]));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/relay/relay-config/defaults/values", test_defaults_values);
  g_test_add_func ("/relay/relay-config/defaults/empty", test_defaults_empty);
  g_test_add_func ("/relay/relay-config/defaults/refcount",
                   test_defaults_refcount);
  g_test_add_func ("/relay/relay-config/values/bad", test_values_bad);
  g_test_add_func ("/relay/relay-config/values/message", test_values_message);
  g_test_add_func ("/relay/relay-config/values/good", test_values_good);
  g_test_add_func ("/relay/relay-config/values/route-defaults",
                   test_values_route_defaults);
  g_test_add_func ("/relay/relay-config/values/no-route-chosen",
                   test_values_no_route_chosen);
  g_test_add_func ("/relay/relay-config/values/route-tuning",
                   test_values_route_tuning);
  g_test_add_func ("/relay/relay-config/values/route-tuning-edges",
                   test_values_route_tuning_edges);
  g_test_add_func ("/relay/relay-config/values/enum-names",
                   test_values_enum_names);
  g_test_add_func ("/relay/relay-config/missing/required", test_missing);
  g_test_add_func ("/relay/relay-config/missing/not-needed",
                   test_missing_not_needed);
  g_test_add_func ("/relay/relay-config/structure/errors", test_structure);
  g_test_add_func ("/relay/relay-config/structure/nul", test_structure_nul);
  g_test_add_func ("/relay/relay-config/allow/matching", test_allow_matching);
  g_test_add_func ("/relay/relay-config/routes/equal", test_route_equal);
  g_test_add_func ("/relay/relay-config/syntax/forwarders",
                   test_syntax_forwarders);
  g_test_add_func ("/relay/relay-config/file/load", test_file_load);
  g_test_add_func ("/relay/relay-config/example/loads", test_example_loads);
  g_test_add_func ("/relay/relay-config/example/uncommented",
                   test_example_uncommented);
  g_test_add_func ("/relay/relay-config/example/documents-every-key",
                   test_example_documents_every_key);

  return g_test_run ();
}
