/* mb-setup-plan.c - the setup assistant's choices, as a configuration file
 * and as the admin's steps in Microsoft 365
 *
 * WHAT IT DOES
 *   Checks an MbSetupPlan field by field (messages for the GUI, translated),
 *   reads one back from a loaded configuration, renders it into the text of
 *   an existing configuration file, writes that file, and prints the
 *   PowerShell and the SPF record the admin needs on the Microsoft side.
 *
 * GUARANTEES
 *   - Rendering edits the existing text through GKeyFile (comments and
 *     translations kept): groups, comments and keys the assistant does not
 *     manage survive unchanged.  A key new to a group goes after the last
 *     key the assistant sets there (else the group's last key), before the
 *     comments that follow it (they describe what comes next); a new
 *     [relay] goes before the first group, a new route group at the end.
 *     Rendering the result again with the same plan changes nothing.
 *   - What the assistant manages: in [relay] listen, allow, route and
 *     admin-address; in the plan's [route NAME] the keys of the method
 *     (mb-setup-plan.h).  client-certificate is the plan's (oauth-app's or
 *     the connector's) and goes without one; client-key goes when
 *     client-certificate changes or goes.  With the mailbox gone (Direct
 *     Send, connector), send-as and a rewrite-* sender-policy go too: they
 *     need a mailbox.  An HVE route is written as submission is (it signs
 *     in the same way).
 *   - listen keeps the loopback listeners and puts the plan's LAN listener
 *     in place of the non-loopback ones.  A wildcard LAN listener
 *     (0.0.0.0:P, [::]:P) replaces the loopback listener of its family and
 *     port, which Linux would refuse to bind beside it, and gives it back
 *     when the LAN listener goes.  allow is loopback plus the plan's list.
 *   - The result is checked with mb_relay_config_load_data() before it is
 *     returned: the assistant never writes a file the relay refuses.
 *   - Writing happens in a thread: parent directories created, the old file
 *     kept as PATH.bak, the new one put in place atomically
 *     (G_FILE_SET_CONTENTS_CONSISTENT) with mode 0644 (no secrets in it).
 *
 * WHAT IT DOES NOT DO
 *   No DNS (mb-dns-check), no certificate inspection (mb-tls-cert), no
 *   secrets (the keyring or the secrets file).  The connector's public IP
 *   and certificate name are not configuration keys, so reading a plan
 *   back from a configuration leaves them empty.  The texts for Microsoft
 *   365 follow M365-FACTS.md (1.4, 2.2, 6) and stay English, as PowerShell
 *   does; validation messages are translated (GETTEXT_PACKAGE).
 *
 * RFC 5321 4.1.2 (addresses, via mb-config-syntax), RFC 7208 5.6 (the ip4
 * mechanism of the SPF record), RFC 1918 and RFC 6598 (addresses Microsoft
 * 365 never sees as a sender).
 */
#define G_LOG_DOMAIN "mb-setup-plan"

#include "mb-setup-plan.h"

#include "mb-config-syntax.h"

#include <glib/gi18n-lib.h>
#include <errno.h>
#include <glib/gstdio.h>
#include <string.h>

#define LOOPBACK_LISTEN "127.0.0.1:2525;[::1]:2525"
#define LOOPBACK_ALLOW "127.0.0.0/8;::1/128"
#define ROUTE_PREFIX "route "
#define RENDER_ORIGIN "mailbridge.conf"
#define MX_PORT "25" /* M365-FACTS.md 1.1: Direct Send and connector */
#define MS_SPF_INCLUDE "include:spf.protection.outlook.com"
#define CONNECTOR_NAME "Mailbridge relay"
#define KEYFILE_FLAGS (G_KEY_FILE_KEEP_COMMENTS | G_KEY_FILE_KEEP_TRANSLATIONS)

/* One change to a group: @value NULL removes @key.  A @raw value is
 * written as it is (a list already joined); otherwise GKeyFile escapes it. */
typedef struct
{
  const char *key;
  char       *value; /* (owned) (nullable) */
  gboolean    raw;
} Edit;

/* Lines to insert before line @at. */
typedef struct
{
  guint      at;
  GPtrArray *lines; /* (unowned) */
} Insert;

typedef struct
{
  MbSetupPlan *plan; /* (owned) */
  char        *path; /* (owned) */
} WriteData;

GQuark
mb_setup_plan_error_quark (void)
{
  return g_quark_from_static_string ("mb-setup-plan-error-quark");
}

static void
edit_clear (Edit *edit)
{
  g_free (edit->value);
}

static void
write_data_free (WriteData *data)
{
  mb_setup_plan_free (data->plan);
  g_free (data->path);
  g_free (data);
}

/* Helpers */

static gboolean
has_text (const char *text)
{
  return text != NULL && *text != '\0';
}

static gboolean
signs_in (MbRouteMethod method)
{
  return method == MB_ROUTE_METHOD_SUBMISSION || method == MB_ROUTE_METHOD_HVE;
}

static gboolean
is_oauth (MbRouteAuth auth)
{
  return auth == MB_ROUTE_AUTH_OAUTH_DEVICE
         || auth == MB_ROUTE_AUTH_OAUTH_BROWSER
         || auth == MB_ROUTE_AUTH_OAUTH_APP;
}

static const char *
lan_listen_of (const MbSetupPlan *plan)
{
  return has_text (plan->lan_listen) ? plan->lan_listen
                                     : MB_SETUP_PLAN_DEFAULT_LAN_LISTEN;
}

/* A PowerShell single-quoted string: nothing inside is expanded, a quote
 * is doubled. */
static char *
ps_quote (const char *text)
{
  GString *quoted = g_string_new ("'");

  for (const char *p = text; *p != '\0'; p++)
    {
      if (*p == '\'')
        g_string_append_c (quoted, '\'');
      g_string_append_c (quoted, *p);
    }
  g_string_append_c (quoted, '\'');
  return g_string_free (quoted, FALSE);
}

/* Validation */

G_GNUC_PRINTF (2, 3)
static gboolean
invalid (GError **error, const char *format, ...)
{
  va_list          args;
  g_autofree char *message = NULL;

  va_start (args, format);
  message = g_strdup_vprintf (format, args);
  va_end (args);
  g_set_error_literal (error, MB_SETUP_PLAN_ERROR, MB_SETUP_PLAN_ERROR_INVALID,
                       message);
  return FALSE;
}

/* Entra IDs are GUIDs: 8-4-4-4-12 hexadecimal digits. */
static gboolean
is_guid (const char *text)
{
  static const guint groups[] = { 8, 4, 4, 4, 12 };
  const char        *p = text;

  for (guint i = 0; i < G_N_ELEMENTS (groups); i++)
    {
      for (guint j = 0; j < groups[i]; j++, p++)
        if (!g_ascii_isxdigit (*p))
          return FALSE;
      if (*p != (i + 1 < G_N_ELEMENTS (groups) ? '-' : '\0'))
        return FALSE;
      p++;
    }
  return TRUE;
}

static gboolean
is_email (const char *text)
{
  g_autofree char *normal = mb_config_syntax_normalize_mailbox (text);

  return normal != NULL;
}

static gboolean
is_domain (const char *text)
{
  g_autofree char *normal = mb_config_syntax_normalize_domain (text);

  return normal != NULL;
}

/* M365-FACTS.md 2.3: a GUID or a domain; the v2 endpoints also take the
 * two multi-tenant names a work account can use. */
static gboolean
is_tenant (const char *text)
{
  return is_guid (text) || is_domain (text) || strcmp (text, "common") == 0
         || strcmp (text, "organizations") == 0;
}

/* M365-FACTS.md 6: -TlsSenderCertificateName takes a domain, wildcard
 * allowed. */
static gboolean
is_certificate_name (const char *text)
{
  return is_domain (g_str_has_prefix (text, "*.") ? text + 2 : text);
}

/* Ranges Microsoft 365 never sees as a sender's address: private (RFC
 * 1918), carrier-grade NAT shared by many customers (RFC 6598; a shared IP
 * must not identify a connector, M365-FACTS.md 6), loopback, link-local,
 * "this network", multicast and reserved.  The documentation ranges
 * (203.0.113.0/24 ...) stay allowed: examples and tests use them. */
static gboolean
is_public_ipv4 (GInetAddress *address)
{
  static const struct
  {
    const char *network;
    guint       length;
  } not_public[] = {
    { "0.0.0.0", 8 },      { "10.0.0.0", 8 },     { "100.64.0.0", 10 },
    { "127.0.0.0", 8 },    { "169.254.0.0", 16 }, { "172.16.0.0", 12 },
    { "192.168.0.0", 16 }, { "224.0.0.0", 4 },    { "240.0.0.0", 4 },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (not_public); i++)
    {
      g_autoptr (GInetAddress) network
          = g_inet_address_new_from_string (not_public[i].network);
      g_autoptr (GInetAddressMask) mask
          = g_inet_address_mask_new (network, not_public[i].length, NULL);

      if (g_inet_address_mask_matches (mask, address))
        return FALSE;
    }
  return TRUE;
}

static gboolean
validate_public_ip (const char *text, GError **error)
{
  g_autoptr (GInetAddress) address = g_inet_address_new_from_string (text);

  if (address == NULL
      || g_inet_address_get_family (address) != G_SOCKET_FAMILY_IPV4)
    return invalid (error,
                    _ ("The public IP address must be an IPv4 address, like "
                       "203.0.113.10: Microsoft 365 recognises a relay by "
                       "its IPv4 address only."));
  if (!is_public_ipv4 (address))
    return invalid (error,
                    _ ("%s is a private or local address. Microsoft 365 sees "
                       "the public IPv4 address your Internet connection "
                       "sends from; enter that one."),
                    text);
  return TRUE;
}

/* One allow entry, as the relay reads it (mb_config_syntax_parse_allow()),
 * with a message for each way it can be wrong. */
static gboolean
validate_allow_entry (const char *text, GError **error)
{
  const char      *slash = strchr (text, '/');
  g_autofree char *ip
      = slash != NULL ? g_strndup (text, slash - text) : g_strdup (text);
  g_autoptr (GInetAddress) address = g_inet_address_new_from_string (ip);
  g_autoptr (GInetAddressMask) mask = NULL;
  guint64 length;
  guint   bits;

  if (address == NULL)
    return invalid (error,
                    _ ("“%s” in the list of allowed devices is not an IP "
                       "address or network range, like 192.168.1.20 or "
                       "192.168.1.0/24."),
                    text);
  bits = g_inet_address_get_native_size (address) * 8;
  length = bits;
  if (slash != NULL
      && !g_ascii_string_to_unsigned (slash + 1, 10, 0, bits, &length, NULL))
    return invalid (error,
                    _ ("“%s” in the list of allowed devices is not an IP "
                       "address or network range, like 192.168.1.20 or "
                       "192.168.1.0/24."),
                    text);
  mask = g_inet_address_mask_new (address, length, NULL);
  if (mask == NULL)
    return invalid (error,
                    _ ("“%s” in the list of allowed devices is not the start "
                       "of a network range; write the range with its first "
                       "address, like 192.168.1.0/24."),
                    text);
  if (!mb_config_syntax_parse_allow (text, NULL))
    return invalid (error,
                    _ ("“%s” in the list of allowed devices is too wide: it "
                       "would let much of the Internet send mail through the "
                       "relay. List your own networks, like 192.168.1.0/24."),
                    text);
  return TRUE;
}

static gboolean
validate_network (const MbSetupPlan *plan, GError **error)
{
  if (plan->lan)
    {
      g_autoptr (GInetSocketAddress) listen
          = mb_config_syntax_parse_listen (lan_listen_of (plan), NULL);

      if (listen == NULL)
        return invalid (error,
                        _ ("The network address must be an IP address and a "
                           "port, like 0.0.0.0:2525 or 192.168.1.10:25."));
      if (g_inet_address_get_is_loopback (
              g_inet_socket_address_get_address (listen)))
        return invalid (error,
                        _ ("The network address %s reaches only this "
                           "computer; use 0.0.0.0:2525 or this computer's "
                           "address in the network."),
                        lan_listen_of (plan));
      if (plan->allow == NULL || plan->allow[0] == NULL)
        return invalid (error,
                        _ ("List the devices or networks that may send mail "
                           "through the relay, like 192.168.1.0/24."));
    }
  for (gsize i = 0; plan->allow != NULL && plan->allow[i] != NULL; i++)
    if (!validate_allow_entry (plan->allow[i], error))
      return FALSE;
  if (has_text (plan->admin_address) && !is_email (plan->admin_address))
    return invalid (error,
                    _ ("The admin address must be an email address, like "
                       "postmaster@contoso.com."));
  return TRUE;
}

static gboolean
validate_submission (const MbSetupPlan *plan, GError **error)
{
  if (!has_text (plan->mailbox))
    return invalid (error, _ ("Enter the mailbox Mailbridge sends as, like "
                              "scanner@contoso.com."));
  if (!is_email (plan->mailbox))
    return invalid (error, _ ("The mailbox must be an email address, like "
                              "scanner@contoso.com."));
  if (plan->auth == MB_ROUTE_AUTH_NONE
      || (guint)plan->auth > MB_ROUTE_AUTH_OAUTH_APP)
    return invalid (error, _ ("Choose how Mailbridge signs in to the "
                              "mailbox."));
  if (!is_oauth (plan->auth))
    return TRUE;
  if (plan->auth == MB_ROUTE_AUTH_OAUTH_APP && !has_text (plan->tenant))
    return invalid (error,
                    _ ("Enter the tenant: its directory (tenant) ID or a "
                       "verified domain such as contoso.onmicrosoft.com."));
  if (has_text (plan->tenant) && !is_tenant (plan->tenant))
    return invalid (error,
                    _ ("The tenant must be the directory (tenant) ID, a GUID, "
                       "or a verified domain such as "
                       "contoso.onmicrosoft.com."));
  if (!has_text (plan->client_id))
    return invalid (error, _ ("Enter the application (client) ID of the app "
                              "registration in Microsoft Entra ID."));
  if (!is_guid (plan->client_id))
    return invalid (error,
                    _ ("The application (client) ID must be a GUID, like "
                       "9e5f94bc-e8a4-4e73-b8be-63364c29d753."));
  if (plan->auth == MB_ROUTE_AUTH_OAUTH_APP
      && has_text (plan->client_certificate)
      && !g_path_is_absolute (plan->client_certificate))
    return invalid (error, _ ("Choose the app's certificate file with its full "
                              "path, like /etc/mailbridge/app.pem."));
  return TRUE;
}

static gboolean
validate_mx (const MbSetupPlan *plan, GError **error)
{
  if (!has_text (plan->domain))
    return invalid (error, _ ("Enter your domain in Microsoft 365, like "
                              "contoso.com."));
  if (!is_domain (plan->domain))
    return invalid (error, _ ("The domain must be a domain name, like "
                              "contoso.com."));
  if (has_text (plan->mx_host) && !is_domain (plan->mx_host))
    return invalid (error, _ ("The MX host must be a host name, like "
                              "contoso-com.mail.protection.outlook.com."));
  if (has_text (plan->public_ip)
      && !validate_public_ip (plan->public_ip, error))
    return FALSE;
  if (plan->method != MB_ROUTE_METHOD_CONNECTOR)
    return TRUE;

  if (!has_text (plan->public_ip) && !has_text (plan->certificate_name))
    return invalid (error,
                    _ ("Enter the relay's static public IPv4 address or the "
                       "name on its TLS certificate, so that Microsoft 365 "
                       "can recognise the relay."));
  if (!has_text (plan->certificate_name))
    return TRUE;
  if (!is_certificate_name (plan->certificate_name))
    return invalid (error,
                    _ ("The certificate name must be a domain of your "
                       "tenant, like relay.contoso.com or *.contoso.com."));
  if (!has_text (plan->connector_certificate))
    return invalid (error,
                    _ ("Choose the file of the relay's TLS certificate (with "
                       "its key), which the relay shows to Microsoft 365."));
  if (!g_path_is_absolute (plan->connector_certificate))
    return invalid (error,
                    _ ("Choose the certificate file with its full path, like "
                       "/etc/mailbridge/relay.pem."));
  return TRUE;
}

/* Rendering: the values */

/* A list value as GKeyFile writes one, without the trailing ';'. */
static char *
join_list (GPtrArray *items)
{
  GString *joined = g_string_new (NULL);

  for (guint i = 0; i < items->len; i++)
    {
      if (i > 0)
        g_string_append_c (joined, ';');
      for (const char *p = items->pdata[i]; *p != '\0'; p++)
        {
          if (*p == ';' || *p == '\\')
            g_string_append_c (joined, '\\');
          g_string_append_c (joined, *p);
        }
    }
  return g_string_free (joined, FALSE);
}

static gboolean
contains (GPtrArray *items, const char *item)
{
  return g_ptr_array_find_with_equal_func (items, item, g_str_equal, NULL);
}

/* The loopback listener a wildcard listener stands in for. */
static char *
loopback_for_wildcard (GInetSocketAddress *address)
{
  GInetAddress *ip = g_inet_socket_address_get_address (address);
  guint16       port = g_inet_socket_address_get_port (address);

  if (!g_inet_address_get_is_any (ip))
    return NULL;
  if (g_inet_address_get_family (ip) == G_SOCKET_FAMILY_IPV4)
    return g_strdup_printf ("127.0.0.1:%u", port);
  return g_strdup_printf ("[::1]:%u", port);
}

/* Whether @lan (a wildcard) covers the loopback listener @text. */
static gboolean
is_covered (GInetSocketAddress *lan, const char *text)
{
  g_autoptr (GInetSocketAddress) address
      = mb_config_syntax_parse_listen (text, NULL);
  GInetAddress *lan_ip = g_inet_socket_address_get_address (lan);

  return address != NULL && g_inet_address_get_is_any (lan_ip)
         && g_inet_address_get_family (lan_ip)
                == g_inet_address_get_family (
                    g_inet_socket_address_get_address (address))
         && g_inet_socket_address_get_port (lan)
                == g_inet_socket_address_get_port (address);
}

static char *
render_listen (const MbSetupPlan *plan, GKeyFile *existing)
{
  g_auto (GStrv) current = NULL;
  g_autoptr (GPtrArray) loopback = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GPtrArray) result = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GInetSocketAddress) lan = NULL;

  current
      = g_key_file_get_string_list (existing, "relay", "listen", NULL, NULL);
  if (current == NULL)
    current = g_strsplit (LOOPBACK_LISTEN, ";", -1);
  for (gsize i = 0; current[i] != NULL; i++)
    {
      g_autoptr (GInetSocketAddress) address
          = mb_config_syntax_parse_listen (current[i], NULL);
      g_autofree char *stood_for = NULL;

      /* What the relay cannot read stays, for the check to name it. */
      if (address == NULL
          || g_inet_address_get_is_loopback (
              g_inet_socket_address_get_address (address)))
        {
          if (!contains (loopback, current[i]))
            g_ptr_array_add (loopback, g_strdup (current[i]));
          continue;
        }
      stood_for = loopback_for_wildcard (address);
      if (stood_for != NULL && !contains (loopback, stood_for))
        g_ptr_array_add (loopback, g_steal_pointer (&stood_for));
    }

  if (plan->lan)
    lan = mb_config_syntax_parse_listen (lan_listen_of (plan), NULL);
  for (guint i = 0; i < loopback->len; i++)
    if (lan == NULL || !is_covered (lan, loopback->pdata[i]))
      g_ptr_array_add (result, g_strdup (loopback->pdata[i]));
  if (lan != NULL)
    g_ptr_array_add (result, g_strdup (lan_listen_of (plan)));
  if (result->len == 0)
    return g_strdup (LOOPBACK_LISTEN);
  return join_list (result);
}

static gboolean
is_loopback_mask (const char *text)
{
  g_autoptr (GInetAddressMask) mask = mb_config_syntax_parse_allow (text, NULL);

  return mask != NULL
         && g_inet_address_get_is_loopback (
             g_inet_address_mask_get_address (mask));
}

static char *
render_allow (const MbSetupPlan *plan)
{
  g_auto (GStrv) loopback = g_strsplit (LOOPBACK_ALLOW, ";", -1);
  g_autoptr (GPtrArray) result = g_ptr_array_new ();

  for (gsize i = 0; loopback[i] != NULL; i++)
    g_ptr_array_add (result, loopback[i]);
  for (gsize i = 0; plan->allow != NULL && plan->allow[i] != NULL; i++)
    if (!is_loopback_mask (plan->allow[i])
        && !contains (result, plan->allow[i]))
      g_ptr_array_add (result, plan->allow[i]);
  return join_list (result);
}

static void
add_edit (GArray *edits, const char *key, const char *value)
{
  Edit edit = { key, g_strdup (value), FALSE };

  g_array_append_val (edits, edit);
}

static void
add_raw_edit (GArray *edits, const char *key, char *value)
{
  Edit edit = { key, value, TRUE };

  g_array_append_val (edits, edit);
}

static GArray *
new_edits (void)
{
  GArray *edits = g_array_new (FALSE, TRUE, sizeof (Edit));

  g_array_set_clear_func (edits, (GDestroyNotify)edit_clear);
  return edits;
}

static GArray *
relay_edits (const MbSetupPlan *plan, GKeyFile *existing)
{
  GArray *edits = new_edits ();

  add_raw_edit (edits, "listen", render_listen (plan, existing));
  add_raw_edit (edits, "allow", render_allow (plan));
  add_edit (edits, "route", plan->route);
  add_edit (edits, "admin-address",
            has_text (plan->admin_address) ? plan->admin_address : NULL);
  return edits;
}

/* The certificate the route presents, and client-key: kept while the
 * certificate stays the same file, removed with a new one (it belonged to
 * the old certificate). */
static void
add_certificate_edits (GArray     *edits,
                       GKeyFile   *existing,
                       const char *group,
                       const char *certificate,
                       const char *base_dir)
{
  g_autofree char *current
      = g_key_file_get_string (existing, group, "client-certificate", NULL);
  g_autofree char *resolved
      = current != NULL ? g_canonicalize_filename (current, base_dir) : NULL;

  if (certificate != NULL && g_strcmp0 (resolved, certificate) == 0)
    return;
  add_edit (edits, "client-certificate", certificate);
  add_edit (edits, "client-key", NULL);
}

/* Direct Send and connector: the MX host, no sign-in. */
static void
add_mx_edits (GArray            *edits,
              const MbSetupPlan *plan,
              GKeyFile          *existing,
              const char        *group,
              const char        *base_dir)
{
  gboolean         connector = plan->method == MB_ROUTE_METHOD_CONNECTOR;
  MbRouteTls       tls = connector ? MB_ROUTE_TLS_REQUIRED : plan->tls;
  gboolean         has_host = has_text (plan->mx_host);
  const char      *certificate = connector && has_text (plan->certificate_name)
                                    && has_text (plan->connector_certificate)
                                     ? plan->connector_certificate
                                     : NULL;
  g_autofree char *policy
      = g_key_file_get_string (existing, group, "sender-policy", NULL);

  add_edit (edits, "domain", plan->domain);
  add_edit (edits, "host", has_host ? plan->mx_host : NULL);
  add_edit (edits, "port", has_host ? MX_PORT : NULL);
  add_edit (edits, "tls", mb_route_tls_to_string (tls));
  add_certificate_edits (edits, existing, group, certificate, base_dir);
  add_edit (edits, "auth", NULL);
  add_edit (edits, "mailbox", NULL);
  add_edit (edits, "tenant", NULL);
  add_edit (edits, "client-id", NULL);
  /* Both need the mailbox that just went. */
  add_edit (edits, "send-as", NULL);
  if (policy != NULL && g_str_has_prefix (policy, "rewrite-"))
    add_edit (edits, "sender-policy", NULL);
}

static GArray *
route_edits (const MbSetupPlan *plan,
             GKeyFile          *existing,
             const char        *group,
             const char        *base_dir)
{
  GArray          *edits = new_edits ();
  const char      *method = mb_route_method_to_string (plan->method);
  g_autofree char *current_method
      = g_key_file_get_string (existing, group, "method", NULL);
  gboolean same_method = g_strcmp0 (current_method, method) == 0;
  gboolean oauth = is_oauth (plan->auth);

  add_edit (edits, "method", method);
  if (signs_in (plan->method))
    {
      const char *certificate = plan->auth == MB_ROUTE_AUTH_OAUTH_APP
                                        && has_text (plan->client_certificate)
                                    ? plan->client_certificate
                                    : NULL;

      add_edit (edits, "mailbox", plan->mailbox);
      add_edit (edits, "auth", mb_route_auth_to_string (plan->auth));
      add_edit (edits, "tenant",
                oauth && has_text (plan->tenant) ? plan->tenant : NULL);
      add_edit (edits, "client-id", oauth ? plan->client_id : NULL);
      add_certificate_edits (edits, existing, group, certificate, base_dir);
      add_edit (edits, "domain", NULL);
      /* A private upstream (tests) or a smart host stays; after a switch
       * from an MX method, the method's endpoint is the default. */
      if (!same_method)
        {
          add_edit (edits, "host", NULL);
          add_edit (edits, "port", NULL);
          add_edit (edits, "tls", NULL);
        }
      return edits;
    }

  add_mx_edits (edits, plan, existing, group, base_dir);
  return edits;
}

/* Rendering: the text */

static const char *
skip_space (const char *line)
{
  while (g_ascii_isspace (*line))
    line++;
  return line;
}

/* The group a header line opens, by GKeyFile's rules; NULL for other
 * lines. */
static char *
header_group (const char *line)
{
  const char *start = skip_space (line);
  const char *end;

  if (*start != '[')
    return NULL;
  end = strrchr (start, ']');
  return end != NULL ? g_strndup (start + 1, end - start - 1) : NULL;
}

static gboolean
is_key_line (const char *line)
{
  const char *start = skip_space (line);

  return *start != '\0' && *start != '#' && *start != '[';
}

/* Lines "KEY=" for the keys @edits sets that @group lacks, in the edits'
 * order; GKeyFile fills in the values where they stand. */
static GPtrArray *
new_key_lines (GKeyFile *existing, const char *group, GArray *edits)
{
  GPtrArray *lines = g_ptr_array_new_with_free_func (g_free);

  for (guint i = 0; i < edits->len; i++)
    {
      const Edit *edit = &g_array_index (edits, Edit, i);

      if (edit->value != NULL
          && !g_key_file_has_key (existing, group, edit->key, NULL))
        g_ptr_array_add (lines, g_strconcat (edit->key, "=", NULL));
    }
  return lines;
}

/* The key of a key line ("  key = value"), else NULL. */
static char *
line_key (const char *line)
{
  const char *start = skip_space (line);
  const char *equals = strchr (start, '=');

  if (!is_key_line (line) || equals == NULL)
    return NULL;
  return g_strstrip (g_strndup (start, equals - start));
}

/* Whether @edits sets @key (keeps it, with a new value). */
static gboolean
is_set_by (GArray *edits, const char *key)
{
  for (guint i = 0; key != NULL && i < edits->len; i++)
    {
      const Edit *edit = &g_array_index (edits, Edit, i);

      if (strcmp (edit->key, key) == 0)
        return edit->value != NULL;
    }
  return FALSE;
}

/* Where new keys go in a group: after the last key the assistant sets,
 * else after the last key or the header; -1 if the group is not there. */
typedef struct
{
  const char *group;
  GArray     *edits; /* (unowned) */
  gint        last_line;
  gint        last_managed;
} Place;

static void
place_see_line (Place *place, const char *group, const char *line, guint i)
{
  g_autofree char *key = NULL;
  g_autofree char *header = NULL;

  if (g_strcmp0 (group, place->group) != 0)
    return;
  key = line_key (line);
  header = header_group (line);
  if (key == NULL && header == NULL)
    return;
  place->last_line = i;
  if (is_set_by (place->edits, key))
    place->last_managed = i;
}

static gint
place_get_line (const Place *place)
{
  return place->last_managed >= 0 ? place->last_managed : place->last_line;
}

/* @lines with the keys new to [relay] and the route group inserted where
 * Place says, not below the comments that end a group (they are about
 * what follows), where GKeyFile would put them.  A missing [relay] goes
 * before the first group and the comments right above it; a missing route
 * group is left to GKeyFile, which appends it. */
static void
place_new_keys (GPtrArray  *lines,
                GKeyFile   *existing,
                const char *route_group,
                GArray     *relay,
                GArray     *route)
{
  g_autoptr (GPtrArray) relay_lines = new_key_lines (existing, "relay", relay);
  g_autoptr (GPtrArray) route_lines
      = new_key_lines (existing, route_group, route);
  Place            relay_place = { "relay", relay, -1, -1 };
  Place            route_place = { route_group, route, -1, -1 };
  g_autofree char *current = NULL;
  gint             first_group = -1;
  Insert           inserts[2];
  guint            n = 0;

  for (guint i = 0; i < lines->len; i++)
    {
      char *group = header_group (lines->pdata[i]);

      if (group != NULL)
        {
          g_free (current);
          current = group;
          if (first_group < 0)
            first_group = i;
        }
      place_see_line (&relay_place, current, lines->pdata[i], i);
      place_see_line (&route_place, current, lines->pdata[i], i);
    }

  if (place_get_line (&relay_place) >= 0)
    inserts[n++] = (Insert){ place_get_line (&relay_place) + 1, relay_lines };
  else if (first_group >= 0)
    {
      guint at = first_group;

      while (at > 0 && *skip_space (lines->pdata[at - 1]) == '#')
        at--;
      g_ptr_array_insert (relay_lines, 0, g_strdup ("[relay]"));
      g_ptr_array_add (relay_lines, g_strdup (""));
      inserts[n++] = (Insert){ at, relay_lines };
    }
  if (place_get_line (&route_place) >= 0)
    inserts[n++] = (Insert){ place_get_line (&route_place) + 1, route_lines };
  /* The later place first, so the earlier one stays valid. */
  if (n == 2 && inserts[0].at < inserts[1].at)
    {
      Insert first = inserts[0];

      inserts[0] = inserts[1];
      inserts[1] = first;
    }
  for (guint i = 0; i < n; i++)
    for (guint j = inserts[i].lines->len; j > 0; j--)
      g_ptr_array_insert (lines, inserts[i].at,
                          g_strdup (inserts[i].lines->pdata[j - 1]));
}

/* The groups whose header directly follows a comment line in @lines. */
static GHashTable *
find_commented_groups (GPtrArray *lines)
{
  GHashTable *groups
      = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);

  for (guint i = 1; i < lines->len; i++)
    {
      char *group = header_group (lines->pdata[i]);

      if (group != NULL && *skip_space (lines->pdata[i - 1]) == '#')
        g_hash_table_add (groups, group);
      else
        g_free (group);
    }
  return groups;
}

/* g_key_file_to_data() puts an empty line before every group header,
 * which parts a comment from the group it describes; this takes those
 * lines out again where the original had none. */
static char *
rejoin_group_comments (const char *text, GHashTable *commented)
{
  g_auto (GStrv) lines = g_strsplit (text, "\n", -1);
  GString *joined = g_string_new (NULL);

  for (gsize i = 0; lines[i] != NULL; i++)
    {
      if (lines[i][0] == '\0' && i > 0 && lines[i + 1] != NULL
          && *skip_space (lines[i - 1]) == '#')
        {
          g_autofree char *group = header_group (lines[i + 1]);

          if (group != NULL && g_hash_table_contains (commented, group))
            continue;
        }
      g_string_append (joined, lines[i]);
      if (lines[i + 1] != NULL)
        g_string_append_c (joined, '\n');
    }
  return g_string_free (joined, FALSE);
}

static void
apply_edits (GKeyFile *keyfile, const char *group, GArray *edits)
{
  for (guint i = 0; i < edits->len; i++)
    {
      const Edit *edit = &g_array_index (edits, Edit, i);

      if (edit->value == NULL)
        g_key_file_remove_key (keyfile, group, edit->key, NULL);
      else if (edit->raw)
        g_key_file_set_value (keyfile, group, edit->key, edit->value);
      else
        g_key_file_set_string (keyfile, group, edit->key, edit->value);
    }
}

/* Whether @text loads on its own; if not, why. */
static gboolean
loads (const char *text, const char *origin, GError **error)
{
  g_autoptr (MbRelayConfig) config
      = mb_relay_config_load_data (text, -1, origin, error);

  return config != NULL;
}

static char *
render (const MbSetupPlan *plan,
        const char        *existing,
        const char        *origin,
        GError           **error)
{
  g_autoptr (GKeyFile) current = g_key_file_new ();
  g_autoptr (GKeyFile) keyfile = g_key_file_new ();
  g_autoptr (GError) local_error = NULL;
  g_autofree char *route_group = NULL;
  g_autofree char *dir = g_path_get_dirname (origin);
  g_autofree char *base_dir = g_canonicalize_filename (dir, NULL);
  g_autoptr (GArray) relay = NULL;
  g_autoptr (GArray) route = NULL;
  g_auto (GStrv) split = NULL;
  g_autoptr (GPtrArray) lines = g_ptr_array_new_with_free_func (g_free);
  g_autofree char *placed = NULL;
  g_autoptr (GHashTable) commented = NULL;
  g_autofree char *data = NULL;
  g_autofree char *text = NULL;

  if (!mb_setup_plan_validate (plan, error))
    return NULL;
  if (existing == NULL)
    existing = "";
  if (!g_key_file_load_from_data (current, existing, -1, KEYFILE_FLAGS,
                                  &local_error))
    {
      g_set_error (error, MB_SETUP_PLAN_ERROR, MB_SETUP_PLAN_ERROR_EXISTING,
                   _ ("The current configuration cannot be read: %s"),
                   local_error->message);
      return NULL;
    }

  route_group = g_strconcat (ROUTE_PREFIX, plan->route, NULL);
  relay = relay_edits (plan, current);
  route = route_edits (plan, current, route_group, base_dir);

  split = g_strsplit (existing, "\n", -1);
  for (gsize i = 0; split[i] != NULL; i++)
    /* The last piece is what follows the final newline. */
    if (split[i + 1] != NULL || *split[i] != '\0')
      g_ptr_array_add (lines, g_strdup (split[i]));
  place_new_keys (lines, current, route_group, relay, route);
  commented = find_commented_groups (lines);
  g_ptr_array_add (lines, NULL);
  placed = g_strjoinv ("\n", (char **)lines->pdata);

  if (!g_key_file_load_from_data (keyfile, placed, -1, KEYFILE_FLAGS,
                                  &local_error))
    {
      g_set_error (error, MB_SETUP_PLAN_ERROR, MB_SETUP_PLAN_ERROR_EXISTING,
                   _ ("The current configuration cannot be read: %s"),
                   local_error->message);
      return NULL;
    }
  apply_edits (keyfile, "relay", relay);
  apply_edits (keyfile, route_group, route);
  data = g_key_file_to_data (keyfile, NULL, NULL);
  text = rejoin_group_comments (data, commented);

  if (!loads (text, origin, &local_error))
    {
      g_autoptr (GError) existing_error = NULL;

      /* A fault the plan did not bring in is the file's own. */
      if (!loads (existing, origin, &existing_error))
        g_set_error (error, MB_SETUP_PLAN_ERROR, MB_SETUP_PLAN_ERROR_EXISTING,
                     _ ("The current configuration has an error the "
                        "assistant does not change: %s"),
                     existing_error->message);
      else
        g_set_error (error, MB_SETUP_PLAN_ERROR, MB_SETUP_PLAN_ERROR_INVALID,
                     _ ("The new configuration would not load: %s"),
                     local_error->message);
      return NULL;
    }
  return g_steal_pointer (&text);
}

/* Writing */

static gboolean
write_failed (GError **error, const char *path, const GError *cause)
{
  g_set_error (error, MB_SETUP_PLAN_ERROR, MB_SETUP_PLAN_ERROR_WRITE,
               _ ("The configuration could not be saved to %s: %s"), path,
               cause->message);
  return FALSE;
}

static gboolean
write_file (const MbSetupPlan *plan, const char *path, GError **error)
{
  g_autofree char *dir = g_path_get_dirname (path);
  g_autofree char *old = NULL;
  g_autofree char *text = NULL;
  g_autoptr (GError) local_error = NULL;
  gsize length = 0;

  if (g_mkdir_with_parents (dir, 0755) < 0)
    {
      int saved_errno = errno;

      local_error = g_error_new_literal (G_FILE_ERROR,
                                         g_file_error_from_errno (saved_errno),
                                         g_strerror (saved_errno));
      return write_failed (error, path, local_error);
    }
  if (!g_file_get_contents (path, &old, &length, &local_error))
    {
      if (!g_error_matches (local_error, G_FILE_ERROR, G_FILE_ERROR_NOENT))
        {
          g_set_error (error, MB_SETUP_PLAN_ERROR, MB_SETUP_PLAN_ERROR_EXISTING,
                       _ ("The current configuration cannot be read: %s"),
                       local_error->message);
          return FALSE;
        }
      g_clear_error (&local_error);
    }

  text = render (plan, old, path, error);
  if (text == NULL)
    return FALSE;

  if (old != NULL)
    {
      g_autofree char *backup = g_strconcat (path, ".bak", NULL);

      if (!g_file_set_contents_full (backup, old, length,
                                     G_FILE_SET_CONTENTS_CONSISTENT, 0644,
                                     &local_error))
        return write_failed (error, backup, local_error);
    }
  if (!g_file_set_contents_full (path, text, -1, G_FILE_SET_CONTENTS_CONSISTENT,
                                 0644, &local_error))
    return write_failed (error, path, local_error);
  return TRUE;
}

static void
write_thread (GTask        *task,
              gpointer      source_object,
              gpointer      task_data,
              GCancellable *cancellable)
{
  WriteData *data = task_data;
  GError    *error = NULL;

  if (g_task_return_error_if_cancelled (task))
    return;
  if (!write_file (data->plan, data->path, &error))
    g_task_return_error (task, error);
  else
    g_task_return_boolean (task, TRUE);
}

/* The texts for Microsoft 365 */

static char *
spf_record (const MbSetupPlan *plan)
{
  if (has_text (plan->public_ip))
    return g_strdup_printf ("v=spf1 ip4:%s " MS_SPF_INCLUDE " ~all",
                            plan->public_ip);
  return g_strdup ("v=spf1 " MS_SPF_INCLUDE " ~all");
}

/* Public API */

MbSetupPlan *
mb_setup_plan_new (void)
{
  MbSetupPlan *plan = g_new0 (MbSetupPlan, 1);

  plan->method = MB_ROUTE_METHOD_SUBMISSION;
  plan->route = g_strdup (MB_SETUP_PLAN_DEFAULT_ROUTE);
  plan->auth = MB_ROUTE_AUTH_OAUTH_DEVICE;
  plan->tls = MB_ROUTE_TLS_OPPORTUNISTIC;
  plan->lan_listen = g_strdup (MB_SETUP_PLAN_DEFAULT_LAN_LISTEN);
  return plan;
}

void
mb_setup_plan_free (MbSetupPlan *plan)
{
  if (plan == NULL)
    return;
  g_free (plan->route);
  g_free (plan->mailbox);
  g_free (plan->tenant);
  g_free (plan->client_id);
  g_free (plan->client_certificate);
  g_free (plan->domain);
  g_free (plan->mx_host);
  g_free (plan->public_ip);
  g_free (plan->certificate_name);
  g_free (plan->connector_certificate);
  g_free (plan->lan_listen);
  g_strfreev (plan->allow);
  g_free (plan->admin_address);
  g_free (plan);
}

MbSetupPlan *
mb_setup_plan_copy (const MbSetupPlan *plan)
{
  MbSetupPlan *copy;

  g_return_val_if_fail (plan != NULL, NULL);

  copy = g_new0 (MbSetupPlan, 1);
  *copy = *plan;
  copy->route = g_strdup (plan->route);
  copy->mailbox = g_strdup (plan->mailbox);
  copy->tenant = g_strdup (plan->tenant);
  copy->client_id = g_strdup (plan->client_id);
  copy->client_certificate = g_strdup (plan->client_certificate);
  copy->domain = g_strdup (plan->domain);
  copy->mx_host = g_strdup (plan->mx_host);
  copy->public_ip = g_strdup (plan->public_ip);
  copy->certificate_name = g_strdup (plan->certificate_name);
  copy->connector_certificate = g_strdup (plan->connector_certificate);
  copy->lan_listen = g_strdup (plan->lan_listen);
  copy->allow = g_strdupv (plan->allow);
  copy->admin_address = g_strdup (plan->admin_address);
  return copy;
}

MbSetupPlan *
mb_setup_plan_new_from_config (const MbRelayConfig *config)
{
  MbSetupPlan   *plan = mb_setup_plan_new ();
  MbRouteConfig *route;
  g_autoptr (GPtrArray) allow = g_ptr_array_new ();

  if (config == NULL)
    return plan;

  for (guint i = 0; i < config->listen->len; i++)
    {
      GInetSocketAddress *address = config->listen->pdata[i];

      if (!g_inet_address_get_is_loopback (
              g_inet_socket_address_get_address (address)))
        {
          plan->lan = TRUE;
          g_free (plan->lan_listen);
          plan->lan_listen
              = g_socket_connectable_to_string (G_SOCKET_CONNECTABLE (address));
          break;
        }
    }
  for (guint i = 0; i < config->allow->len; i++)
    {
      GInetAddressMask *mask = config->allow->pdata[i];

      if (!g_inet_address_get_is_loopback (
              g_inet_address_mask_get_address (mask)))
        g_ptr_array_add (allow, g_inet_address_mask_to_string (mask));
    }
  if (allow->len > 0)
    {
      g_ptr_array_add (allow, NULL);
      plan->allow = (GStrv)g_ptr_array_steal (allow, NULL);
    }
  plan->admin_address = g_strdup (config->admin_address);

  route = mb_relay_config_lookup_route (config, config->route);
  if (route == NULL && config->routes->len > 0)
    route = config->routes->pdata[0];
  if (route == NULL)
    return plan;

  g_free (plan->route);
  plan->route = g_strdup (route->name);
  plan->method = route->method;
  if (signs_in (route->method))
    {
      plan->mailbox = g_strdup (route->mailbox);
      plan->auth = route->auth;
      plan->tenant = g_strdup (route->tenant);
      plan->client_id = g_strdup (route->client_id);
      plan->client_certificate = g_strdup (route->client_certificate);
    }
  else
    {
      plan->domain = g_strdup (route->domain);
      plan->mx_host = g_strdup (route->host);
      plan->tls = route->tls;
      if (route->method == MB_ROUTE_METHOD_CONNECTOR)
        plan->connector_certificate = g_strdup (route->client_certificate);
    }
  return plan;
}

gboolean
mb_setup_plan_validate (const MbSetupPlan *plan, GError **error)
{
  g_return_val_if_fail (plan != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if ((guint)plan->method > MB_ROUTE_METHOD_HVE)
    return invalid (error, _ ("Choose how Mailbridge sends mail to Microsoft "
                              "365."));
  if (!has_text (plan->route) || !mb_config_syntax_is_name (plan->route))
    return invalid (error,
                    _ ("The route name may hold only letters, digits, “.”, "
                       "“_” and “-” (at most 64), like m365."));
  if (signs_in (plan->method) ? !validate_submission (plan, error)
                              : !validate_mx (plan, error))
    return FALSE;
  return validate_network (plan, error);
}

char *
mb_setup_plan_render (const MbSetupPlan *plan,
                      const char        *existing,
                      GError           **error)
{
  g_return_val_if_fail (plan != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  return render (plan, existing, RENDER_ORIGIN, error);
}

void
mb_setup_plan_write_async (const MbSetupPlan  *plan,
                           const char         *path,
                           GCancellable       *cancellable,
                           GAsyncReadyCallback callback,
                           gpointer            user_data)
{
  g_autoptr (GTask) task = NULL;
  WriteData *data;

  g_return_if_fail (plan != NULL);
  g_return_if_fail (path != NULL);
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  task = g_task_new (NULL, cancellable, callback, user_data);
  g_task_set_source_tag (task, mb_setup_plan_write_async);
  data = g_new0 (WriteData, 1);
  data->plan = mb_setup_plan_copy (plan);
  data->path = g_strdup (path);
  g_task_set_task_data (task, data, (GDestroyNotify)write_data_free);
  g_task_run_in_thread (task, write_thread);
}

gboolean
mb_setup_plan_write_finish (GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, NULL), FALSE);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result))
                            == mb_setup_plan_write_async,
                        FALSE);

  return g_task_propagate_boolean (G_TASK (result), error);
}

/* M365-FACTS.md 1.4 (the switches), 2.2 (app-only registration), 1.3
 * (basic authentication). */
char *
mb_setup_plan_submission_powershell (const MbSetupPlan *plan)
{
  const char      *mailbox = NULL;
  g_autofree char *quoted = NULL;
  GString         *text;

  g_return_val_if_fail (plan != NULL, NULL);

  if (plan->method != MB_ROUTE_METHOD_SUBMISSION)
    return NULL;
  mailbox = has_text (plan->mailbox) ? plan->mailbox : "<mailbox>";
  quoted = ps_quote (mailbox);
  text = g_string_new (NULL);
  g_string_append_printf (
      text,
      "# Microsoft 365: allow SMTP AUTH (client submission to\n"
      "# smtp.office365.com, port 587) for the mailbox Mailbridge signs in\n"
      "# as:\n"
      "#   %s\n"
      "# Run these lines in Exchange Online PowerShell as an Exchange\n"
      "# administrator.  Or in the Microsoft 365 admin center: Users >\n"
      "# Active users > the mailbox > Mail > Manage email apps >\n"
      "# \"Authenticated SMTP\".\n"
      "\n"
      "# 1. Connect to Exchange Online.\n"
      "Connect-ExchangeOnline\n"
      "\n"
      "# 2. Look at the organisation's switch.  True means SMTP AUTH is off\n"
      "#    for every mailbox without a setting of its own (the default for\n"
      "#    organisations created after January 2020).  It blocks OAuth\n"
      "#    too; Microsoft 365 then answers \"535 5.7.139 ... is disabled\n"
      "#    for the Tenant\".  Step 3 is enough either way: the mailbox's\n"
      "#    own setting wins over the organisation's.\n"
      "Get-TransportConfig | Format-List SmtpClientAuthenticationDisabled\n"
      "\n"
      "# 3. Allow SMTP AUTH for this mailbox only ($false: not disabled).\n"
      "Set-CASMailbox -Identity %s -SmtpClientAuthenticationDisabled "
      "$false\n",
      mailbox, quoted);
  if (plan->auth == MB_ROUTE_AUTH_OAUTH_APP)
    g_string_append_printf (
        text,
        "\n"
        "# 4. Signing in as the app itself (oauth-app): register the app's\n"
        "#    service principal in Exchange Online.  <OBJECT_ID> is the\n"
        "#    object ID of the Enterprise application (service principal),\n"
        "#    not the one of the app registration.\n"
        "New-ServicePrincipal -AppId %s -ObjectId <OBJECT_ID>\n"
        "\n"
        "# 5. Let that service principal use the mailbox.\n"
        "Add-MailboxPermission -Identity %s -User <ServicePrincipalId> "
        "-AccessRights FullAccess\n",
        has_text (plan->client_id) ? plan->client_id : "<APPLICATION_ID>",
        quoted);
  if (plan->auth == MB_ROUTE_AUTH_BASIC)
    g_string_append (
        text,
        "\n"
        "# Basic authentication (a password) for SMTP AUTH is disabled by\n"
        "# default for existing tenants from the end of December 2026;\n"
        "# OAuth keeps working.\n");
  g_string_append (
      text,
      "\n"
      "# Security defaults in Microsoft Entra ID disable SMTP AUTH as well\n"
      "# (the relay then sees \"535 5.7.139\").  With security defaults on,\n"
      "# use Direct Send or a connector instead.\n");
  return g_string_free (text, FALSE);
}

/* M365-FACTS.md 6 (New-InboundConnector, attribution, the certificate
 * rule, SPF). */
char *
mb_setup_plan_connector_powershell (const MbSetupPlan *plan)
{
  gboolean         by_certificate;
  const char      *domain;
  g_autofree char *spf = NULL;
  g_autofree char *name = NULL;
  GString         *text;

  g_return_val_if_fail (plan != NULL, NULL);

  if (plan->method != MB_ROUTE_METHOD_CONNECTOR)
    return NULL;
  by_certificate = has_text (plan->certificate_name);
  domain = has_text (plan->domain) ? plan->domain : "<domain>";
  spf = spf_record (plan);
  name = ps_quote (CONNECTOR_NAME);
  text = g_string_new (NULL);
  g_string_append_printf (
      text,
      "# Microsoft 365: an inbound connector that lets Mailbridge relay mail\n"
      "# from your domain through Exchange Online to any recipient:\n"
      "#   %s\n"
      "# Run these lines in Exchange Online PowerShell as an Exchange\n"
      "# administrator.  (Creating inbound connectors is restricted in\n"
      "# Microsoft 365 E5 developer subscriptions.)\n"
      "#\n"
      "# Or in the Exchange admin center: Mail flow > Connectors > Add a\n"
      "# connector, from \"Your organization's email server\" to\n"
      "# \"Office 365\", and let it recognise the relay %s.\n"
      "\n"
      "# 1. Connect to Exchange Online.\n"
      "Connect-ExchangeOnline\n"
      "\n"
      "# 2. Create the connector.  OnPremises lets mail from the relay go on\n"
      "#    to recipients on the Internet; -SenderDomains * takes every\n"
      "#    sender domain.  The certificate's domain or the sender's domain\n"
      "#    (MAIL FROM) must be an accepted domain of the tenant.\n",
      domain,
      by_certificate ? "by the name on its TLS\n# certificate (the option "
                       "marked \"recommended\")"
                     : "by its static public IP\n# address");
  if (by_certificate)
    {
      g_autofree char *certificate = ps_quote (plan->certificate_name);

      g_string_append_printf (
          text,
          "#    The connector recognises the relay by the name on its TLS\n"
          "#    certificate, which must be an accepted domain of the tenant\n"
          "#    or lie under one (*.contoso.com).  The relay must send the\n"
          "#    whole chain: a missing intermediate gives 5.7.64\n"
          "#    TenantAttribution.\n"
          "New-InboundConnector -Name %s -ConnectorType OnPremises "
          "-SenderDomains * -TlsSenderCertificateName %s\n",
          name, certificate);
    }
  else
    g_string_append_printf (
        text,
        "#    The connector recognises the relay by its static public IPv4\n"
        "#    address, which no other organisation may share (no shared NAT\n"
        "#    or hosting).  If the address changes, update the connector and\n"
        "#    the SPF record, or mail to the Internet stops (5.7.64).\n"
        "New-InboundConnector -Name %s -ConnectorType OnPremises "
        "-SenderDomains * -SenderIPAddresses %s\n",
        name, has_text (plan->public_ip) ? plan->public_ip : "<public-IPv4>");
  g_string_append_printf (
      text,
      "\n"
      "# -RequireTls and -RestrictDomainsToCertificate apply only to Partner\n"
      "# connectors, so they are left out; the relay always uses TLS on this\n"
      "# route.\n"
      "\n"
      "# 3. At your DNS host, publish this SPF record (a TXT record) for\n"
      "#    %s:\n"
      "#    %s\n",
      domain, spf);
  return g_string_free (text, FALSE);
}

/* M365-FACTS.md 6, 7: soft fail (~all), as Microsoft recommends. */
char *
mb_setup_plan_spf_record (const MbSetupPlan *plan)
{
  g_return_val_if_fail (plan != NULL, NULL);

  if (plan->method != MB_ROUTE_METHOD_DIRECT_SEND
      && plan->method != MB_ROUTE_METHOD_CONNECTOR)
    return NULL;
  return spf_record (plan);
}
