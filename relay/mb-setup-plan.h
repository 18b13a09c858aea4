/* mb-setup-plan.h - what the setup assistant writes, and what it tells
 * the admin to do in Microsoft 365
 *
 * An MbSetupPlan is the admin's choices in the setup assistant: the
 * method, its route's settings, whether devices on the LAN may send, and
 * the admin address.  This module turns them into the configuration file
 * and into the texts the admin needs on the Microsoft side (PowerShell,
 * the SPF record).  Pure except mb_setup_plan_write_async().
 *
 * Writing keeps what the assistant does not show: other groups, comments,
 * keys it does not manage (spool, limits, authority, trust, ...).  In the
 * route's group it sets the keys of the chosen method and removes the
 * keys of the other methods (auth, mailbox, tenant, client-id for Direct
 * Send and connector; domain for submission).  host and port are written
 * only for the MX methods (the MX host from DNS) and kept for submission
 * when the method did not change (a private upstream in tests or a
 * smart host stays).  [relay] route names the route.
 *
 * The facts behind the texts: M365-FACTS.md (SMTP AUTH switches, Security
 * Defaults, New-InboundConnector, SPF).
 */
#pragma once

#include <gio/gio.h>

#include "mb-relay-config.h"

G_BEGIN_DECLS

#define MB_SETUP_PLAN_ERROR (mb_setup_plan_error_quark ())
GQuark mb_setup_plan_error_quark (void);

typedef enum
{
  MB_SETUP_PLAN_ERROR_INVALID,  /* a choice is missing or malformed; the
                                 * message names the field in words */
  MB_SETUP_PLAN_ERROR_EXISTING, /* the existing file cannot be read as a
                                 * configuration (message: why) */
  MB_SETUP_PLAN_ERROR_WRITE,    /* the file cannot be written */
} MbSetupPlanError;

/* The default route name the assistant uses for a new setup. */
#define MB_SETUP_PLAN_DEFAULT_ROUTE "m365"
/* The default LAN listener: all IPv4 addresses, an unprivileged port. */
#define MB_SETUP_PLAN_DEFAULT_LAN_LISTEN "0.0.0.0:2525"

typedef struct
{
  MbRouteMethod method; /* submission, direct-send or connector */
  char         *route;  /* (owned) route name; default "m365" */

  /* submission */
  char       *mailbox;      /* (owned) (nullable) the sending mailbox */
  MbRouteAuth auth;         /* oauth-device (default), oauth-browser,
                             * oauth-app, basic */
  char *tenant;             /* (owned) (nullable) domain or GUID (oauth) */
  char *client_id;          /* (owned) (nullable) app registration (oauth) */
  char *client_certificate; /* (owned) (nullable) oauth-app with a
                             * certificate: its file; NULL: client secret */

  /* direct-send, connector */
  char      *domain;  /* (owned) (nullable) the accepted domain */
  char      *mx_host; /* (owned) (nullable) from DNS (or typed) */
  MbRouteTls tls;     /* direct-send: opportunistic (default) or
                       * required; connector: always required */

  /* connector: how Microsoft 365 recognises the relay, one of */
  char *public_ip;             /* (owned) (nullable) static public IPv4 */
  char *certificate_name;      /* (owned) (nullable) the TLS certificate's
                                * subject name (a domain of the tenant) */
  char *connector_certificate; /* (owned) (nullable) file of that
                                * certificate (+ key) the relay presents */

  /* [relay] */
  gboolean lan;        /* accept mail from devices on the network */
  char    *lan_listen; /* (owned) (nullable) host:port, default
                        * MB_SETUP_PLAN_DEFAULT_LAN_LISTEN */
  GStrv allow;         /* (owned) (nullable) IPs and CIDR ranges besides
                        * loopback */
  char *admin_address; /* (owned) (nullable) */
} MbSetupPlan;

MbSetupPlan *mb_setup_plan_new (void);
void         mb_setup_plan_free (MbSetupPlan *plan);
MbSetupPlan *mb_setup_plan_copy (const MbSetupPlan *plan);

/* The choices a configuration already holds (to run the assistant again):
 * its [relay] route (or the first route), listeners other than loopback,
 * allow list without loopback, admin address.  @config may be NULL (a new
 * setup: the defaults). */
MbSetupPlan *mb_setup_plan_new_from_config (const MbRelayConfig *config);

/* Checks the choices for the plan's method; the error names the first
 * wrong field in words ("The mailbox must be an email address, like
 * scanner@contoso.com."). */
gboolean mb_setup_plan_validate (const MbSetupPlan *plan, GError **error);

/**
 * mb_setup_plan_render:
 * @existing: (nullable): the current file's text.
 *
 * Returns: (transfer full): the new file's text: @existing with the
 *   plan applied, checked with mb_relay_config_load_data(); NULL with
 *   MB_SETUP_PLAN_ERROR_INVALID (the plan, or the result does not load:
 *   the message says which key) or _EXISTING.
 */
char *mb_setup_plan_render (const MbSetupPlan *plan,
                            const char        *existing,
                            GError           **error);

/* Reads @path (missing: a new file), renders, and replaces it atomically
 * (parent directories created, mode 0644, the previous file kept as
 * PATH.bak), in a thread. */
void     mb_setup_plan_write_async (const MbSetupPlan  *plan,
                                    const char         *path,
                                    GCancellable       *cancellable,
                                    GAsyncReadyCallback callback,
                                    gpointer            user_data);
gboolean mb_setup_plan_write_finish (GAsyncResult *result, GError **error);

/* What the admin runs or enters on the Microsoft side (transfer full;
 * never NULL for the method they belong to, NULL otherwise):
 * submission: the Exchange Online PowerShell that allows SMTP AUTH for
 *   the mailbox (Set-CASMailbox -SmtpClientAuthenticationDisabled $false)
 *   and checks the tenant switch (Get-TransportConfig), with comments;
 * connector: New-InboundConnector -ConnectorType OnPremises
 *   -SenderDomains * with -SenderIPAddresses or -TlsSenderCertificateName
 *   (and -RequireTls $true -RestrictDomainsToCertificate as fits);
 * the SPF TXT record for direct-send and connector
 *   ("v=spf1 ip4:<ip> include:spf.protection.outlook.com ~all", without
 *   ip4 when no IP is known). */
char *mb_setup_plan_submission_powershell (const MbSetupPlan *plan);
char *mb_setup_plan_connector_powershell (const MbSetupPlan *plan);
char *mb_setup_plan_spf_record (const MbSetupPlan *plan);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (MbSetupPlan, mb_setup_plan_free)

G_END_DECLS
