/* mb-setup-plan.c - the setup assistant's choices: the plan, its checks,
 * and writing the configuration file
 *
 * WHAT IT DOES
 *   Holds an MbSetupPlan (new, free, copy), checks it field by field
 *   (messages for the GUI, translated), reads one back from a loaded
 *   configuration, and writes the configuration file.  The file's text
 *   comes from mb-setup-plan-render.c (mb_setup_plan_render()); the
 *   PowerShell and the SPF record the admin needs on the Microsoft side
 *   come from mb-setup-plan-texts.c.  What the three files share is in
 *   mb-setup-plan-private.h.
 *
 * GUARANTEES
 *   - Validation names the first wrong field in words.  Rendering, and so
 *     writing, validates first: no invalid plan reaches a file.
 *   - Writing happens in a thread: parent directories created, the old file
 *     kept as PATH.bak, the new one put in place atomically
 *     (G_FILE_SET_CONTENTS_CONSISTENT) with mode 0644 (no secrets in it).
 *
 * WHAT IT DOES NOT DO
 *   No DNS (mb-dns-check), no certificate inspection (mb-tls-cert), no
 *   secrets (the keyring or the secrets file).  The connector's public IP
 *   and certificate name are not configuration keys, so reading a plan
 *   back from a configuration leaves them empty.  Validation messages are
 *   translated (GETTEXT_PACKAGE).
 *
 * RFC 5321 4.1.2 (addresses, via mb-config-syntax), RFC 1918 and RFC 6598
 * (addresses Microsoft 365 never sees as a sender).
 */
#define G_LOG_DOMAIN "mb-setup-plan"

#include "mb-setup-plan-private.h"

#include "mb-config-syntax.h"

#include <glib/gi18n-lib.h>
#include <errno.h>
#include <glib/gstdio.h>
#include <string.h>

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
write_data_free (WriteData *data)
{
  mb_setup_plan_free (data->plan);
  g_free (data->path);
  g_free (data);
}

/* Helpers shared with mb-setup-plan-render.c and mb-setup-plan-texts.c
 * (mb-setup-plan-private.h) */

gboolean
mb_setup_plan_has_text (const char *text)
{
  return text != NULL && *text != '\0';
}

gboolean
mb_setup_plan_signs_in (MbRouteMethod method)
{
  return method == MB_ROUTE_METHOD_SUBMISSION || method == MB_ROUTE_METHOD_HVE;
}

gboolean
mb_setup_plan_is_oauth (MbRouteAuth auth)
{
  return auth == MB_ROUTE_AUTH_OAUTH_DEVICE
         || auth == MB_ROUTE_AUTH_OAUTH_BROWSER
         || auth == MB_ROUTE_AUTH_OAUTH_APP;
}

const char *
mb_setup_plan_get_lan_listen (const MbSetupPlan *plan)
{
  return mb_setup_plan_has_text (plan->lan_listen)
             ? plan->lan_listen
             : MB_SETUP_PLAN_DEFAULT_LAN_LISTEN;
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
      g_autoptr (GInetSocketAddress) listen = mb_config_syntax_parse_listen (
          mb_setup_plan_get_lan_listen (plan), NULL);

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
                        mb_setup_plan_get_lan_listen (plan));
      if (plan->allow == NULL || plan->allow[0] == NULL)
        return invalid (error,
                        _ ("List the devices or networks that may send mail "
                           "through the relay, like 192.168.1.0/24."));
    }
  for (gsize i = 0; plan->allow != NULL && plan->allow[i] != NULL; i++)
    if (!validate_allow_entry (plan->allow[i], error))
      return FALSE;
  if (mb_setup_plan_has_text (plan->admin_address)
      && !is_email (plan->admin_address))
    return invalid (error,
                    _ ("The admin address must be an email address, like "
                       "postmaster@contoso.com."));
  return TRUE;
}

static gboolean
validate_submission (const MbSetupPlan *plan, GError **error)
{
  if (!mb_setup_plan_has_text (plan->mailbox))
    return invalid (error, _ ("Enter the mailbox Mailbridge sends as, like "
                              "scanner@contoso.com."));
  if (!is_email (plan->mailbox))
    return invalid (error, _ ("The mailbox must be an email address, like "
                              "scanner@contoso.com."));
  if (plan->auth == MB_ROUTE_AUTH_NONE
      || (guint)plan->auth > MB_ROUTE_AUTH_OAUTH_APP)
    return invalid (error, _ ("Choose how Mailbridge signs in to the "
                              "mailbox."));
  if (!mb_setup_plan_is_oauth (plan->auth))
    return TRUE;
  if (plan->auth == MB_ROUTE_AUTH_OAUTH_APP
      && !mb_setup_plan_has_text (plan->tenant))
    return invalid (error,
                    _ ("Enter the tenant: its directory (tenant) ID or a "
                       "verified domain such as contoso.onmicrosoft.com."));
  if (mb_setup_plan_has_text (plan->tenant) && !is_tenant (plan->tenant))
    return invalid (error,
                    _ ("The tenant must be the directory (tenant) ID, a GUID, "
                       "or a verified domain such as "
                       "contoso.onmicrosoft.com."));
  if (!mb_setup_plan_has_text (plan->client_id))
    return invalid (error, _ ("Enter the application (client) ID of the app "
                              "registration in Microsoft Entra ID."));
  if (!is_guid (plan->client_id))
    return invalid (error,
                    _ ("The application (client) ID must be a GUID, like "
                       "9e5f94bc-e8a4-4e73-b8be-63364c29d753."));
  if (plan->auth == MB_ROUTE_AUTH_OAUTH_APP
      && mb_setup_plan_has_text (plan->client_certificate)
      && !g_path_is_absolute (plan->client_certificate))
    return invalid (error, _ ("Choose the app's certificate file with its full "
                              "path, like /etc/mailbridge/app.pem."));
  return TRUE;
}

static gboolean
validate_mx (const MbSetupPlan *plan, GError **error)
{
  if (!mb_setup_plan_has_text (plan->domain))
    return invalid (error, _ ("Enter your domain in Microsoft 365, like "
                              "contoso.com."));
  if (!is_domain (plan->domain))
    return invalid (error, _ ("The domain must be a domain name, like "
                              "contoso.com."));
  if (mb_setup_plan_has_text (plan->mx_host) && !is_domain (plan->mx_host))
    return invalid (error, _ ("The MX host must be a host name, like "
                              "contoso-com.mail.protection.outlook.com."));
  if (mb_setup_plan_has_text (plan->public_ip)
      && !validate_public_ip (plan->public_ip, error))
    return FALSE;
  if (plan->method != MB_ROUTE_METHOD_CONNECTOR)
    return TRUE;

  if (!mb_setup_plan_has_text (plan->public_ip)
      && !mb_setup_plan_has_text (plan->certificate_name))
    return invalid (error,
                    _ ("Enter the relay's static public IPv4 address or the "
                       "name on its TLS certificate, so that Microsoft 365 "
                       "can recognise the relay."));
  if (!mb_setup_plan_has_text (plan->certificate_name))
    return TRUE;
  if (!is_certificate_name (plan->certificate_name))
    return invalid (error,
                    _ ("The certificate name must be a domain of your "
                       "tenant, like relay.contoso.com or *.contoso.com."));
  if (!mb_setup_plan_has_text (plan->connector_certificate))
    return invalid (error,
                    _ ("Choose the file of the relay's TLS certificate (with "
                       "its key), which the relay shows to Microsoft 365."));
  if (!g_path_is_absolute (plan->connector_certificate))
    return invalid (error,
                    _ ("Choose the certificate file with its full path, like "
                       "/etc/mailbridge/relay.pem."));
  return TRUE;
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

  text = mb_setup_plan_render_with_origin (plan, old, path, error);
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
  if (mb_setup_plan_signs_in (route->method))
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
  if (!mb_setup_plan_has_text (plan->route)
      || !mb_config_syntax_is_name (plan->route))
    return invalid (error,
                    _ ("The route name may hold only letters, digits, “.”, "
                       "“_” and “-” (at most 64), like m365."));
  if (mb_setup_plan_signs_in (plan->method) ? !validate_submission (plan, error)
                                            : !validate_mx (plan, error))
    return FALSE;
  return validate_network (plan, error);
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
