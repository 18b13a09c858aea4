/* mb-relay-config.c - the relay's configuration file
 *
 * What it does: reads a GKeyFile with one [relay] group and any number of
 * [route NAME] groups, fills in the defaults of DESIGN.md, checks every
 * value and the relations between keys, and returns an immutable,
 * reference-counted MbRelayConfig.  The key file's structure (lines,
 * unknown keys) is mb-keyfile-scan's job, each value's syntax
 * mb-config-syntax's, storing a value mb-config-key's; this file holds the
 * contract: the keys, their bounds and defaults, and what one key demands
 * of another.
 *
 * Guarantees:
 * - Nothing is silently ignored: an unknown group, an unknown key, a
 *   localized key (key[de]=), a key given twice, a NUL byte or a line that
 *   is not UTF-8 is an error, and so is a key that would have no effect
 *   (send-as without a mailbox).
 * - Every error names the origin, the line, the group, the key and the
 *   offending value, and says what is allowed:
 *   "mailbridge.conf:7: [relay] listen: “localhost:25” is not ...".
 * - Only literal IP addresses are accepted where the relay binds or matches
 *   clients: loading never resolves a name and never blocks on the network.
 *   An allow range wider than /8 (IPv4) or /7 (IPv6) is refused: it would
 *   make an open relay.
 * - Relative paths are resolved against the directory of the file.
 * - Unset keys get safe defaults: loopback listeners, a loopback allow list.
 *   A route's delivery tuning left unset stays 0 / NULL: the method's
 *   profile (Microsoft's documented limits) decides, elsewhere.
 *
 * What it does not do: bind, open or create anything; read the secrets file
 * (only its path is kept); check that the files it names exist (the modules
 * using them report that); enforce the limits it reads.  Read errors other
 * than a missing file keep their G_FILE_ERROR code.
 *
 * Standards: RFC 5321 4.5.3.1 (size limits: the lower bounds of the line
 * limits), RFC 5321 4.1.2 and RFC 6531 (the addresses: Mailbox, UTF-8
 * allowed), RFC 4291 2.5.5.2 (IPv4-mapped IPv6 addresses), RFC 5890
 * (internationalized host names are stored as A-labels).
 */
#define G_LOG_DOMAIN "mb-relay-config"

#include "mb-relay-config.h"

#include "mb-config-key.h"
#include "mb-config-syntax.h"
#include "mb-keyfile-scan.h"

#include <stddef.h>
#include <string.h>

#define DEFAULT_LISTEN "127.0.0.1:2525;[::1]:2525"
#define DEFAULT_ALLOW "127.0.0.0/8;::1/128"
#define DEFAULT_RETRY "1m;5m;15m;30m;1h"
#define DEFAULT_AUTHORITY "https://login.microsoftonline.com"
#define ROUTE_PREFIX "route "
#define KIB G_GINT64_CONSTANT (1024)
#define GIB (KIB * KIB * KIB)
#define DAY G_GINT64_CONSTANT (86400)
#define RATE_MAX_COUNT 100000 /* rate-limit's COUNT ... */
#define RATE_MAX_WINDOW DAY   /* ... and DURATION */
#define MAILBOX_HINT                                                           \
  "is not an email address; use a bare address without name or angle "         \
  "brackets, e.g. "

typedef struct
{
  MbKeyfileScan *scan;     /* (owned) */
  char          *base_dir; /* (owned) relative paths start here */
  GHashTable    *routes;   /* (owned) group → MbRouteConfig (unowned) */
} Loader;

static const char *const method_names[]
    = { "submission", "direct-send", "connector", "hve", NULL };
static const char *const tls_names[] = { "required", "opportunistic", NULL };
static const char *const auth_names[]
    = { "none", "basic", "oauth-device", "oauth-browser", "oauth-app", NULL };
static const char *const sender_policy_names[]
    = { "keep", "rewrite-envelope", "rewrite-from", NULL };

GQuark
mb_relay_config_error_quark (void)
{
  return g_quark_from_static_string ("mb-relay-config-error-quark");
}

/* Memory */

static void
route_config_free (MbRouteConfig *route)
{
  g_free (route->name);
  g_free (route->host);
  g_free (route->mailbox);
  g_free (route->tenant);
  g_free (route->client_id);
  g_free (route->client_certificate);
  g_free (route->client_key);
  g_free (route->trust);
  g_free (route->authority);
  g_free (route->domain);
  g_free (route->sender_policy);
  g_strfreev (route->send_as);
  g_free (route);
}

static void
relay_config_clear (MbRelayConfig *config)
{
  g_free (config->path);
  g_clear_pointer (&config->listen, g_ptr_array_unref);
  g_clear_pointer (&config->allow, g_ptr_array_unref);
  g_free (config->hostname);
  g_free (config->spool);
  g_free (config->admin_address);
  g_free (config->route);
  g_clear_pointer (&config->retry_schedule, g_array_unref);
  g_free (config->secrets);
  g_free (config->tls_certificate);
  g_free (config->tls_key);
  g_clear_pointer (&config->routes, g_ptr_array_unref);
}

static void
loader_clear (Loader *loader)
{
  g_clear_pointer (&loader->scan, mb_keyfile_scan_free);
  g_clear_pointer (&loader->base_dir, g_free);
  g_clear_pointer (&loader->routes, g_hash_table_unref);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (Loader, loader_clear)

/* Messages */

/* "origin:LINE: [group] key: detail" */
G_GNUC_PRINTF (7, 8)
static gboolean
fail (GError    **error,
      Loader     *loader,
      gint        code,
      const char *group,
      const char *key,
      guint       line,
      const char *format,
      ...)
{
  va_list          args;
  g_autofree char *detail = NULL;

  va_start (args, format);
  detail = g_strdup_vprintf (format, args);
  va_end (args);
  mb_keyfile_scan_set_error (loader->scan, error, MB_RELAY_CONFIG_ERROR, code,
                             group, key, line, "%s", detail);
  return FALSE;
}

/* An error of mb-keyfile-scan, whose message is complete, in our domain. */
static gboolean
propagate_scan_error (GError **error, const GError *scan_error)
{
  gint code = MB_RELAY_CONFIG_ERROR_SYNTAX;

  if (scan_error->domain == MB_KEYFILE_SCAN_ERROR)
    switch ((MbKeyfileScanError)scan_error->code)
      {
      case MB_KEYFILE_SCAN_ERROR_SYNTAX:
        code = MB_RELAY_CONFIG_ERROR_SYNTAX;
        break;
      case MB_KEYFILE_SCAN_ERROR_UNKNOWN_GROUP:
      case MB_KEYFILE_SCAN_ERROR_UNKNOWN_KEY:
        code = MB_RELAY_CONFIG_ERROR_UNKNOWN_KEY;
        break;
      case MB_KEYFILE_SCAN_ERROR_INVALID_NAME:
      case MB_KEYFILE_SCAN_ERROR_INVALID_VALUE:
        code = MB_RELAY_CONFIG_ERROR_INVALID_VALUE;
        break;
      }
  g_set_error_literal (error, MB_RELAY_CONFIG_ERROR, code, scan_error->message);
  return FALSE;
}

/* Values */

/* "COUNT/DURATION" into rate_limit_messages and rate_limit_window (a
 * route key only). */
static gboolean
parse_rate (const MbConfigKey *key,
            const char        *value,
            gpointer           base,
            const char        *base_dir,
            GError           **error)
{
  MbRouteConfig *route = base;

  return mb_config_syntax_parse_rate (value, RATE_MAX_COUNT, RATE_MAX_WINDOW,
                                      &route->rate_limit_messages,
                                      &route->rate_limit_window, error);
}

static char *
check_route_name (const char *text)
{
  return mb_config_syntax_is_name (text) ? g_strdup (text) : NULL;
}

/* The keys */

#define RELAY(member)                                                          \
  .offset = offsetof (MbRelayConfig, member),                                  \
  .size = sizeof (((MbRelayConfig *)NULL)->member)
#define ROUTE(member)                                                          \
  .offset = offsetof (MbRouteConfig, member),                                  \
  .size = sizeof (((MbRouteConfig *)NULL)->member)

/* Bounds as documented in mailbridge.conf.example.  The line limits start
 * at RFC 5321 4.5.3.1.4 (512 octets for a command line) and at RFC 5322
 * 2.1.1's recommended 78; the durations stop where a typo (an extra digit)
 * is likelier than intent.  The route's tuning bounds sit well above
 * Microsoft's limits (M365-FACTS.md 3: 3 connections, 30 messages a
 * minute, 10,000 recipients a day, 500 per message), for tenants with
 * raised limits and for tests. */
/* clang-format off */
#define TEXT mb_config_key_parse_text
#define PATH mb_config_key_parse_path
#define NUMBER mb_config_key_parse_number
#define DURATION mb_config_key_parse_duration
static const MbConfigKey relay_keys[] = {
  { "listen", .parse_list = mb_config_key_parse_listen, RELAY (listen) },
  { "allow", .parse_list = mb_config_key_parse_allow, RELAY (allow) },
  { "hostname", TEXT, RELAY (hostname),
    .check = mb_config_syntax_normalize_hostname,
    .hint = "is not a host name; use the relay's fully qualified name, "
            "e.g. relay.example.com" },
  { "spool", PATH, RELAY (spool) },
  { "admin-address", TEXT, RELAY (admin_address),
    .check = mb_config_syntax_normalize_mailbox,
    .hint = MAILBOX_HINT "postmaster@example.com" },
  { "max-message-size", mb_config_key_parse_size, RELAY (max_message_size),
    .min = KIB, .max = 2 * GIB },
  { "route", TEXT, RELAY (route), .check = check_route_name,
    .hint = "is not a route name; use the NAME of a [route NAME] group "
            "(letters, digits, '.', '_', '-')" },
  { "retry-schedule", .parse_list = mb_config_key_parse_durations,
    RELAY (retry_schedule), .min = 1, .max = 7 * DAY },
  { "delay-notice-after", DURATION, RELAY (delay_notice_after),
    .min = 1, .max = 365 * DAY },
  { "expire-after", DURATION, RELAY (expire_after),
    .min = 1, .max = 365 * DAY },
  { "secrets", PATH, RELAY (secrets) },
  { "max-recipients", NUMBER, RELAY (max_recipients),
    .min = 1, .max = 100000 },
  { "max-line-length", NUMBER, RELAY (max_line_length),
    .min = 78, .max = 1000000 },
  { "max-command-line-length", NUMBER, RELAY (max_command_line_length),
    .min = 512, .max = 1000000 },
  { "idle-timeout", DURATION, RELAY (idle_timeout), .min = 1, .max = DAY },
  { "session-timeout", DURATION, RELAY (session_timeout),
    .min = 1, .max = DAY },
  { "max-connections", NUMBER, RELAY (max_connections),
    .min = 1, .max = 100000 },
  { "max-connections-per-client", NUMBER,
    RELAY (max_connections_per_client), .min = 1, .max = 100000 },
  { "max-errors", NUMBER, RELAY (max_errors), .min = 1, .max = 1000 },
  { "tls-certificate", PATH, RELAY (tls_certificate) },
  { "tls-key", PATH, RELAY (tls_key) },
  { NULL },
};

static const MbConfigKey route_keys[] = {
  { "method", mb_config_key_parse_enum, ROUTE (method),
    .choices = method_names },
  { "host", TEXT, ROUTE (host), .check = mb_config_syntax_normalize_host,
    .hint = "is not a host name or IP address (without a port; set port "
            "separately); use e.g. smtp.office365.com" },
  { "port", NUMBER, ROUTE (port), .min = 1, .max = 65535 },
  { "tls", mb_config_key_parse_enum, ROUTE (tls), .choices = tls_names },
  { "auth", mb_config_key_parse_enum, ROUTE (auth), .choices = auth_names },
  { "mailbox", TEXT, ROUTE (mailbox),
    .check = mb_config_syntax_normalize_mailbox,
    .hint = MAILBOX_HINT "scanner@contoso.com" },
  { "tenant", TEXT, ROUTE (tenant),
    .check = mb_config_syntax_normalize_tenant,
    .hint = "is not a tenant; use the directory (tenant) ID, a GUID, or a "
            "verified domain such as contoso.onmicrosoft.com" },
  { "client-id", TEXT, ROUTE (client_id),
    .check = mb_config_syntax_normalize_client_id,
    .hint = "is not a client ID; use the application (client) ID of the app "
            "registration, e.g. 9e5f94bc-e8a4-4e73-b8be-63364c29d753" },
  { "client-certificate", PATH, ROUTE (client_certificate) },
  { "client-key", PATH, ROUTE (client_key) },
  { "trust", PATH, ROUTE (trust) },
  { "authority", TEXT, ROUTE (authority),
    .check = mb_config_syntax_normalize_authority,
    .hint = "is not an https:// URL without query or fragment; use e.g. "
            DEFAULT_AUTHORITY },
  { "domain", TEXT, ROUTE (domain),
    .check = mb_config_syntax_normalize_domain,
    .hint = "is not a domain name; use the tenant's accepted domain, e.g. "
            "contoso.com" },
  { "sender-policy", mb_config_key_parse_choice, ROUTE (sender_policy),
    .choices = sender_policy_names },
  { "send-as", .parse_list = mb_config_key_parse_mailboxes, ROUTE (send_as),
    .check = mb_config_syntax_normalize_mailbox,
    .hint = MAILBOX_HINT "sales@contoso.com" },
  { "max-connections", NUMBER, ROUTE (max_connections), .min = 1, .max = 50 },
  { "rate-limit", parse_rate, ROUTE (rate_limit_messages) },
  { "daily-recipient-limit", NUMBER, ROUTE (daily_recipient_limit),
    .min = 1, .max = 1000000 },
  { "recipients-per-transaction", NUMBER,
    ROUTE (recipients_per_transaction), .min = 1, .max = 1000 },
  { NULL },
};
#undef TEXT
#undef PATH
#undef NUMBER
#undef DURATION
/* clang-format on */

/* Checks across keys */

static gboolean
is_set (Loader *loader, const char *group, const char *key)
{
  return mb_keyfile_scan_lookup (loader->scan, group, key) != NULL;
}

static guint
find_line (Loader *loader, const char *group, const char *key)
{
  return mb_keyfile_scan_get_line (loader->scan, group, key);
}

/* Defaults that depend on the method, and the combinations DESIGN.md's
 * method table rules out (M365-FACTS.md 1.1). */
static gboolean
finish_route (Loader *loader, MbRouteConfig *route, GError **error)
{
  g_autofree char *group = g_strconcat (ROUTE_PREFIX, route->name, NULL);
  const char      *method_name = method_names[route->method];
  const char      *auth_name;
  gboolean         signs_in;

  if (!is_set (loader, group, "method"))
    return fail (error, loader, MB_RELAY_CONFIG_ERROR_MISSING, group, "method",
                 find_line (loader, group, "method"),
                 "missing; use submission, direct-send, connector or hve");
  signs_in = route->method == MB_ROUTE_METHOD_SUBMISSION
             || route->method == MB_ROUTE_METHOD_HVE;
  /* Direct Send takes TLS when offered (M365 makes it optional), unless a
   * client certificate is to be shown, which needs TLS. */
  if (!is_set (loader, group, "tls")
      && route->method == MB_ROUTE_METHOD_DIRECT_SEND
      && route->client_certificate == NULL)
    route->tls = MB_ROUTE_TLS_OPPORTUNISTIC;
  if (!is_set (loader, group, "auth") && signs_in)
    route->auth = MB_ROUTE_AUTH_OAUTH_DEVICE;
  auth_name = auth_names[route->auth];

  /* Both refusals below concern an auth that differs from the method's
   * default, so auth is set and has a line of its own. */
  if (!signs_in && route->auth != MB_ROUTE_AUTH_NONE)
    return fail (error, loader, MB_RELAY_CONFIG_ERROR_INVALID_VALUE, group,
                 "auth", find_line (loader, group, "auth"),
                 "“%s” is not allowed with method %s, which does not sign "
                 "in; use none or leave auth out",
                 auth_name, method_name);
  if (signs_in && route->auth == MB_ROUTE_AUTH_NONE)
    return fail (error, loader, MB_RELAY_CONFIG_ERROR_INVALID_VALUE, group,
                 "auth", find_line (loader, group, "auth"),
                 "“none” is not allowed with method %s, which signs in; use "
                 "oauth-device, oauth-browser, oauth-app or basic",
                 method_name);
  if (route->tls == MB_ROUTE_TLS_OPPORTUNISTIC
      && (signs_in || route->client_certificate != NULL))
    return fail (error, loader, MB_RELAY_CONFIG_ERROR_INVALID_VALUE, group,
                 "tls", find_line (loader, group, "tls"),
                 "“opportunistic” is not allowed here: it would send %s "
                 "without TLS; use required",
                 signs_in ? "credentials" : "the client certificate's name");
  if (signs_in && route->mailbox == NULL)
    return fail (error, loader, MB_RELAY_CONFIG_ERROR_MISSING, group, "mailbox",
                 find_line (loader, group, "mailbox"),
                 "missing; a %s route signs in as this mailbox, e.g. "
                 "mailbox=scanner@contoso.com",
                 method_name);
  if (route->sender_policy != NULL
      && g_str_has_prefix (route->sender_policy, "rewrite-")
      && route->mailbox == NULL)
    return fail (error, loader, MB_RELAY_CONFIG_ERROR_MISSING, group, "mailbox",
                 find_line (loader, group, "sender-policy"),
                 "missing; sender-policy %s puts this mailbox in place of "
                 "the device's sender, e.g. mailbox=scanner@contoso.com",
                 route->sender_policy);
  if (route->send_as != NULL && route->mailbox == NULL)
    return fail (error, loader, MB_RELAY_CONFIG_ERROR_MISSING, group, "mailbox",
                 find_line (loader, group, "send-as"),
                 "missing; send-as lists the addresses this mailbox may "
                 "send as, e.g. mailbox=scanner@contoso.com");
  if ((route->auth == MB_ROUTE_AUTH_OAUTH_DEVICE
       || route->auth == MB_ROUTE_AUTH_OAUTH_BROWSER
       || route->auth == MB_ROUTE_AUTH_OAUTH_APP)
      && route->client_id == NULL)
    return fail (error, loader, MB_RELAY_CONFIG_ERROR_MISSING, group,
                 "client-id", find_line (loader, group, "client-id"),
                 "missing; auth %s needs the application (client) ID of "
                 "the app registration",
                 auth_name);
  if (route->auth == MB_ROUTE_AUTH_OAUTH_APP && route->tenant == NULL)
    return fail (error, loader, MB_RELAY_CONFIG_ERROR_MISSING, group, "tenant",
                 find_line (loader, group, "tenant"),
                 "missing; auth oauth-app needs the tenant ID or a verified "
                 "domain of the tenant");
  if (route->client_key != NULL && route->client_certificate == NULL)
    return fail (error, loader, MB_RELAY_CONFIG_ERROR_MISSING, group,
                 "client-certificate", find_line (loader, group, "client-key"),
                 "missing; client-key is set, so set the certificate it "
                 "belongs to as well");
  if (!signs_in && route->host == NULL && route->domain == NULL)
    return fail (error, loader, MB_RELAY_CONFIG_ERROR_MISSING, group, "domain",
                 find_line (loader, group, "domain"),
                 "missing; method %s needs the tenant's accepted domain "
                 "(its MX host is looked up) or a host",
                 method_name);
  return TRUE;
}

static gboolean
finish_relay (Loader *loader, MbRelayConfig *config, GError **error)
{
  gboolean cert = is_set (loader, "relay", "tls-certificate");
  gboolean key = is_set (loader, "relay", "tls-key");

  if (cert != key)
    return fail (
        error, loader, MB_RELAY_CONFIG_ERROR_MISSING, "relay",
        cert ? "tls-key" : "tls-certificate",
        find_line (loader, "relay", cert ? "tls-certificate" : "tls-key"),
        "missing; set tls-certificate and tls-key together, or "
        "neither to use a generated pair");
  if (config->expire_after <= config->delay_notice_after)
    {
      g_autofree char *expire
          = mb_config_syntax_format_duration (config->expire_after);
      g_autofree char *notice
          = mb_config_syntax_format_duration (config->delay_notice_after);
      g_autofree char *expire_raw
          = mb_keyfile_scan_get_raw (loader->scan, "relay", "expire-after");
      g_autofree char *notice_raw = mb_keyfile_scan_get_raw (
          loader->scan, "relay", "delay-notice-after");

      /* Point at the key the admin wrote. */
      if (is_set (loader, "relay", "expire-after"))
        return fail (error, loader, MB_RELAY_CONFIG_ERROR_INVALID_VALUE,
                     "relay", "expire-after",
                     find_line (loader, "relay", "expire-after"),
                     "“%s” is not allowed; it must be longer than "
                     "delay-notice-after (%s): the delay notice comes before "
                     "the bounce",
                     expire_raw, notice);
      return fail (error, loader, MB_RELAY_CONFIG_ERROR_INVALID_VALUE, "relay",
                   "delay-notice-after",
                   find_line (loader, "relay", "delay-notice-after"),
                   "“%s” is not allowed; it must be shorter than "
                   "expire-after (%s): the delay notice comes before the "
                   "bounce",
                   notice_raw, expire);
    }
  if (config->max_connections_per_client > config->max_connections)
    {
      g_autofree char *per_client_raw = mb_keyfile_scan_get_raw (
          loader->scan, "relay", "max-connections-per-client");

      /* Only the default is above: it follows max-connections down. */
      if (!is_set (loader, "relay", "max-connections-per-client"))
        config->max_connections_per_client = config->max_connections;
      else
        return fail (error, loader, MB_RELAY_CONFIG_ERROR_INVALID_VALUE,
                     "relay", "max-connections-per-client",
                     find_line (loader, "relay", "max-connections-per-client"),
                     "“%s” is not allowed; it must not exceed "
                     "max-connections (%u)",
                     per_client_raw, config->max_connections);
    }
  if (config->route != NULL
      && mb_relay_config_lookup_route (config, config->route) == NULL)
    return fail (error, loader, MB_RELAY_CONFIG_ERROR_INVALID_VALUE, "relay",
                 "route", find_line (loader, "relay", "route"),
                 "“%s” is not defined; add a [route %s] group or name one "
                 "of the routes in this file",
                 config->route, config->route);
  /* One route and no choice made: that route is the choice. */
  if (config->route == NULL && config->routes->len == 1)
    config->route
        = g_strdup (((MbRouteConfig *)config->routes->pdata[0])->name);
  return TRUE;
}

static MbRelayConfig *
load_text (const char *data,
           gsize       len,
           const char *origin,
           const char *base_dir,
           GError    **error)
{
  g_auto (GStrv) relay_names = mb_config_key_collect_names (relay_keys);
  g_auto (GStrv) route_names = mb_config_key_collect_names (route_keys);
  const MbKeyfileGroupDef schema[] = {
    { "relay", FALSE, NULL, (const char *const *)relay_names, relay_keys },
    { "route", TRUE, "office365", (const char *const *)route_names,
      route_keys },
    { NULL },
  };
  g_auto (Loader) loader = { 0 };
  g_autoptr (MbRelayConfig) config = mb_relay_config_new_default ();
  g_autoptr (GError) local_error = NULL;
  GPtrArray *groups;
  GPtrArray *entries;

  loader.scan = mb_keyfile_scan_new (data, len, origin, schema, &local_error);
  if (loader.scan == NULL)
    {
      propagate_scan_error (error, local_error);
      return NULL;
    }
  loader.base_dir = g_strdup (base_dir);
  loader.routes = g_hash_table_new (g_str_hash, g_str_equal);

  groups = mb_keyfile_scan_get_groups (loader.scan);
  for (guint i = 0; i < groups->len; i++)
    {
      const char    *group = groups->pdata[i];
      MbRouteConfig *route;

      if (!g_str_has_prefix (group, ROUTE_PREFIX))
        continue;
      route = g_new0 (MbRouteConfig, 1);
      route->name = g_strdup (group + strlen (ROUTE_PREFIX));
      route->tls = MB_ROUTE_TLS_REQUIRED;
      route->auth = MB_ROUTE_AUTH_NONE;
      route->authority = g_strdup (DEFAULT_AUTHORITY);
      g_ptr_array_add (config->routes, route);
      g_hash_table_insert (loader.routes, (gpointer)group, route);
    }

  /* File order, so the first error reported is the first in the file. */
  entries = mb_keyfile_scan_get_entries (loader.scan);
  for (guint i = 0; i < entries->len; i++)
    {
      const MbKeyfileEntry *entry = entries->pdata[i];
      const MbConfigKey    *keys = entry->group_def->user_data;
      gpointer base = g_hash_table_lookup (loader.routes, entry->group);
      g_autoptr (GError) entry_error = NULL;

      if (base == NULL)
        base = config;
      if (!mb_config_key_apply (&keys[entry->key_index], loader.scan, entry,
                                base, loader.base_dir, &entry_error))
        {
          propagate_scan_error (error, entry_error);
          return NULL;
        }
    }

  for (guint i = 0; i < config->routes->len; i++)
    if (!finish_route (&loader, config->routes->pdata[i], error))
      return NULL;
  if (!finish_relay (&loader, config, error))
    return NULL;
  return g_steal_pointer (&config);
}

/* Defaults, public API */

static GPtrArray *
make_default_listen (void)
{
  GPtrArray *listen = g_ptr_array_new_with_free_func (g_object_unref);
  g_auto (GStrv) items = g_strsplit (DEFAULT_LISTEN, ";", -1);

  for (gsize i = 0; items[i] != NULL; i++)
    g_ptr_array_add (listen, mb_config_syntax_parse_listen (items[i], NULL));
  return listen;
}

static GPtrArray *
make_default_allow (void)
{
  GPtrArray *allow = g_ptr_array_new_with_free_func (g_object_unref);
  g_auto (GStrv) items = g_strsplit (DEFAULT_ALLOW, ";", -1);

  for (gsize i = 0; items[i] != NULL; i++)
    g_ptr_array_add (allow, mb_config_syntax_parse_allow (items[i], NULL));
  return allow;
}

static GArray *
make_default_retry (void)
{
  GArray *retry = g_array_new (FALSE, FALSE, sizeof (gint64));
  g_auto (GStrv) items = g_strsplit (DEFAULT_RETRY, ";", -1);

  for (gsize i = 0; items[i] != NULL; i++)
    {
      gint64 seconds = 0;

      mb_relay_config_parse_duration (items[i], &seconds);
      g_array_append_val (retry, seconds);
    }
  return retry;
}

char *
mb_relay_config_dup_user_path (void)
{
  return g_build_filename (g_get_user_config_dir (), "mailbridge",
                           "mailbridge.conf", NULL);
}

MbRelayConfig *
mb_relay_config_new_default (void)
{
  MbRelayConfig *config = g_atomic_rc_box_new0 (MbRelayConfig);
  const char    *state = g_get_user_state_dir ();

  config->listen = make_default_listen ();
  config->allow = make_default_allow ();
  config->hostname = g_strdup (g_get_host_name ());
  config->spool = g_build_filename (state, "mailbridge", "spool", NULL);
  config->max_message_size = 35 * 1024 * 1024;
  config->retry_schedule = make_default_retry ();
  config->delay_notice_after = 4 * 3600;
  config->expire_after = 2 * DAY;
  config->max_recipients = 500;
  config->max_line_length = 998;
  config->max_command_line_length = 2048;
  config->idle_timeout = 5 * 60;
  config->session_timeout = 30 * 60;
  config->max_connections = 100;
  config->max_connections_per_client = 20;
  config->max_errors = 10;
  config->tls_certificate
      = g_build_filename (state, "mailbridge", "tls", "relay.crt", NULL);
  config->tls_key
      = g_build_filename (state, "mailbridge", "tls", "relay.key", NULL);
  config->routes
      = g_ptr_array_new_with_free_func ((GDestroyNotify)route_config_free);
  return config;
}

MbRelayConfig *
mb_relay_config_load_data (const char *data,
                           gssize      len,
                           const char *origin,
                           GError    **error)
{
  g_autofree char *dir = NULL;
  g_autofree char *base_dir = NULL;

  g_return_val_if_fail (data != NULL || len == 0, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (origin == NULL)
    origin = "configuration";
  if (len < 0)
    len = strlen (data);
  dir = g_path_get_dirname (origin);
  base_dir = g_canonicalize_filename (dir, NULL);
  return load_text (data != NULL ? data : "", len, origin, base_dir, error);
}

MbRelayConfig *
mb_relay_config_load_file (const char *path, GError **error)
{
  g_autofree char *contents = NULL;
  gsize            length = 0;
  g_autoptr (GError) local_error = NULL;
  MbRelayConfig *config;

  g_return_val_if_fail (path != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (!g_file_get_contents (path, &contents, &length, &local_error))
    {
      if (g_error_matches (local_error, G_FILE_ERROR, G_FILE_ERROR_NOENT))
        g_set_error (error, MB_RELAY_CONFIG_ERROR,
                     MB_RELAY_CONFIG_ERROR_NOT_FOUND,
                     "%s: no such file; copy mailbridge.conf.example there "
                     "or give another file",
                     path);
      else
        g_propagate_error (error, g_steal_pointer (&local_error));
      return NULL;
    }
  config = mb_relay_config_load_data (contents, length, path, error);
  if (config != NULL)
    config->path = g_canonicalize_filename (path, NULL);
  return config;
}

MbRelayConfig *
mb_relay_config_ref (MbRelayConfig *config)
{
  g_return_val_if_fail (config != NULL, NULL);
  return g_atomic_rc_box_acquire (config);
}

void
mb_relay_config_unref (MbRelayConfig *config)
{
  g_return_if_fail (config != NULL);
  g_atomic_rc_box_release_full (config, (GDestroyNotify)relay_config_clear);
}

gboolean
mb_relay_config_allows (const MbRelayConfig *config, GInetAddress *address)
{
  g_autoptr (GInetAddress) client = NULL;

  g_return_val_if_fail (config != NULL, FALSE);
  g_return_val_if_fail (G_IS_INET_ADDRESS (address), FALSE);

  /* A dual-stack listener sees IPv4 clients as ::ffff:a.b.c.d. */
  client = mb_config_syntax_unmap_ipv4 (address);
  for (guint i = 0; i < config->allow->len; i++)
    if (g_inet_address_mask_matches (config->allow->pdata[i], client))
      return TRUE;
  return FALSE;
}

MbRouteConfig *
mb_relay_config_lookup_route (const MbRelayConfig *config, const char *name)
{
  g_return_val_if_fail (config != NULL, NULL);

  for (guint i = 0; name != NULL && i < config->routes->len; i++)
    {
      MbRouteConfig *route = config->routes->pdata[i];

      if (strcmp (route->name, name) == 0)
        return route;
    }
  return NULL;
}

gboolean
mb_route_config_equal (const MbRouteConfig *a, const MbRouteConfig *b)
{
  g_return_val_if_fail (a != NULL && b != NULL, FALSE);

  /* Every member, so a key added to the struct must be added here. */
  return g_strcmp0 (a->name, b->name) == 0 && a->method == b->method
         && g_strcmp0 (a->host, b->host) == 0 && a->port == b->port
         && a->tls == b->tls && a->auth == b->auth
         && g_strcmp0 (a->mailbox, b->mailbox) == 0
         && g_strcmp0 (a->tenant, b->tenant) == 0
         && g_strcmp0 (a->client_id, b->client_id) == 0
         && g_strcmp0 (a->client_certificate, b->client_certificate) == 0
         && g_strcmp0 (a->client_key, b->client_key) == 0
         && g_strcmp0 (a->trust, b->trust) == 0
         && g_strcmp0 (a->authority, b->authority) == 0
         && g_strcmp0 (a->domain, b->domain) == 0
         && g_strcmp0 (a->sender_policy, b->sender_policy) == 0
         && (a->send_as == NULL) == (b->send_as == NULL)
         && (a->send_as == NULL
             || g_strv_equal ((const char *const *)a->send_as,
                              (const char *const *)b->send_as))
         && a->max_connections == b->max_connections
         && a->rate_limit_messages == b->rate_limit_messages
         && a->rate_limit_window == b->rate_limit_window
         && a->daily_recipient_limit == b->daily_recipient_limit
         && a->recipients_per_transaction == b->recipients_per_transaction;
}

gboolean
mb_relay_config_parse_duration (const char *text, gint64 *seconds)
{
  g_return_val_if_fail (text != NULL, FALSE);
  return mb_config_syntax_parse_duration (text, 0, G_MAXINT64, seconds, NULL);
}

gboolean
mb_relay_config_parse_size (const char *text, guint64 *bytes)
{
  g_return_val_if_fail (text != NULL, FALSE);
  return mb_config_syntax_parse_size (text, 0, G_MAXUINT64, bytes, NULL);
}

const char *
mb_route_method_to_string (MbRouteMethod method)
{
  g_return_val_if_fail ((guint)method < G_N_ELEMENTS (method_names) - 1, NULL);
  return method_names[method];
}

const char *
mb_route_auth_to_string (MbRouteAuth auth)
{
  g_return_val_if_fail ((guint)auth < G_N_ELEMENTS (auth_names) - 1, NULL);
  return auth_names[auth];
}

const char *
mb_route_tls_to_string (MbRouteTls tls)
{
  g_return_val_if_fail ((guint)tls < G_N_ELEMENTS (tls_names) - 1, NULL);
  return tls_names[tls];
}
