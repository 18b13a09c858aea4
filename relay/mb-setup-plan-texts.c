/* mb-setup-plan-texts.c - what the admin runs or enters on the Microsoft
 * side for a setup plan
 *
 * WHAT IT DOES
 *   Prints the Exchange Online PowerShell for submission (allow SMTP AUTH
 *   for the mailbox, check the organisation's switch; for oauth-app the
 *   service principal), the PowerShell for an inbound connector (by public
 *   IP or by certificate name), and the SPF TXT record for Direct Send and
 *   the connector.
 *
 * GUARANTEES
 *   - Each text is NULL for a method it does not belong to and never NULL
 *     for one it does: a value not chosen yet shows as a placeholder
 *     (<mailbox>, <domain>, <public-IPv4>, <APPLICATION_ID>).
 *   - The mailbox, the connector's name and the certificate name are
 *     PowerShell single-quoted strings: nothing in them is expanded.
 *   - The SPF record soft-fails (~all), as Microsoft recommends, and has
 *     an ip4 mechanism only when the relay's public IP is known.
 *
 * WHAT IT DOES NOT DO
 *   Runs and looks up nothing (no PowerShell, no DNS) and checks nothing
 *   (mb_setup_plan_validate() does).  The texts follow M365-FACTS.md (1.3,
 *   1.4, 2.2, 6, 7) and stay English, as PowerShell does.
 *
 * RFC 7208 5.6 (the ip4 mechanism of the SPF record).
 */
#define G_LOG_DOMAIN "mb-setup-plan"

#include "mb-setup-plan-private.h"

#define MS_SPF_INCLUDE "include:spf.protection.outlook.com"
#define CONNECTOR_NAME "Mailbridge relay"

/* Helpers */

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

static char *
spf_record (const MbSetupPlan *plan)
{
  if (mb_setup_plan_has_text (plan->public_ip))
    return g_strdup_printf ("v=spf1 ip4:%s " MS_SPF_INCLUDE " ~all",
                            plan->public_ip);
  return g_strdup ("v=spf1 " MS_SPF_INCLUDE " ~all");
}

/* Public API */

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
  mailbox
      = mb_setup_plan_has_text (plan->mailbox) ? plan->mailbox : "<mailbox>";
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
        mb_setup_plan_has_text (plan->client_id) ? plan->client_id
                                                 : "<APPLICATION_ID>",
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
  by_certificate = mb_setup_plan_has_text (plan->certificate_name);
  domain = mb_setup_plan_has_text (plan->domain) ? plan->domain : "<domain>";
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
        name,
        mb_setup_plan_has_text (plan->public_ip) ? plan->public_ip
                                                 : "<public-IPv4>");
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
