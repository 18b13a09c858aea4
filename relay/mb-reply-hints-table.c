/* mb-reply-hints-table.c - the reply table: meaning and fix for each
 * well-known SMTP reply
 *
 * WHAT IT DOES
 *   Holds the one table that mb-reply-hints.c searches: for each reply a
 *   basic code, an RFC 3463 enhanced code (exact, range or wildcard), an
 *   optional text discriminator, a stable keyword, a one-sentence summary,
 *   a short fix for the admin of a small office, and whether the route
 *   must pause.  In this order: every reply of M365-FACTS.md section 4
 *   (plus the limits of section 3 and the HVE replies), for client
 *   submission and then for the MX endpoint; the RFC 3463 well-known
 *   codes, subjects and classes as fallbacks; the basic RFC 5321 4.2.3
 *   codes for servers without ENHANCEDSTATUSCODES; Mailbridge's own local
 *   failures as "mb." pseudo replies (code 0, no enhanced code).
 *
 * GUARANTEES
 *   - There is a class entry for 4.*.* and for 5.*.*, so a valid 4.x.x or
 *     5.x.x code always finds at least one entry.
 *   - Entries sharing a keyword share summary, fix and pause flag
 *     (tests/test-reply-hints.c checks the table: every entry reachable,
 *     every string translated).
 *   - Summaries and fixes are English and marked N_() so that xgettext
 *     finds them; the strings several entries use are the macros below.
 *     The daemon logs them as they are; the getters translate.
 *   - Static const data: no allocation, no state, thread-safe.
 *
 * WHAT IT DOES NOT DO
 *   No code: parsing, matching and translating are in mb-reply-hints.c,
 *   and the order of entries only breaks the last tie there.  Microsoft's
 *   texts change without notice: a discriminator (text_match) is a
 *   one-line edit here.
 *
 * RFC 3463 (enhanced status codes: class.subject.detail), RFC 5321 4.2.3
 * (reply codes), RFC 4954 6 (AUTH replies), RFC 3207 (STARTTLS).
 */
#define G_LOG_DOMAIN "mb-reply-hints"

#include "mb-reply-hints-private.h"

#include <glib/gi18n-lib.h>

/* Strings shared by several entries. */
#define SEND_AS_SUMMARY                                                        \
  N_ ("The sending mailbox is not allowed to send as the sender address "      \
      "the device used.")
#define SEND_AS_FIX                                                            \
  N_ ("Let the device send from the mailbox's own address, or grant the "      \
      "right: Add-RecipientPermission -Identity <sender address> -Trustee "    \
      "<mailbox> -AccessRights SendAs.")
#define QUOTA_SUMMARY                                                          \
  N_ ("The sending mailbox reached Microsoft's limit of 10,000 recipients "    \
      "in 24 hours.")
#define QUOTA_FIX                                                              \
  N_ ("Wait until the 24-hour window has moved on; to send more, spread the "  \
      "mail over several mailboxes or use the connector method.")
#define BUSY_SUMMARY N_ ("Microsoft 365 is busy at the moment.")
#define RETRY_FIX N_ ("Nothing to do: Mailbridge tries again later.")
#define TOO_BIG_SUMMARY N_ ("The message is too big for the receiving server.")
#define TOO_BIG_FIX                                                            \
  N_ ("Send a smaller message: scan at a lower resolution or in black and "    \
      "white, or split the document into several messages.")
#define MAILBOX_FULL_SUMMARY N_ ("The recipient's mailbox is full.")
#define PROTOCOL_SUMMARY                                                       \
  N_ ("The server and Mailbridge did not understand each other (SMTP "         \
      "protocol error).")
#define PROTOCOL_FIX                                                           \
  N_ ("A firewall with an SMTP filter between Mailbridge and the server may "  \
      "be altering the connection; if not, please report this with the log.")
#define ADDRESS_SYNTAX_SUMMARY N_ ("A recipient address is not valid.")
#define ADDRESS_SYNTAX_FIX                                                     \
  N_ ("Correct the address on the device; it must have the form "              \
      "name@example.com.")
#define TOO_MANY_RCPT_SUMMARY                                                  \
  N_ ("The server accepts fewer recipients per message.")
#define SYSTEM_BUSY_SUMMARY                                                    \
  N_ ("The receiving server is not accepting mail at the moment.")
#define PERMANENT_SUMMARY                                                      \
  N_ ("The receiving server refused the message for good.")
#define PERMANENT_FIX                                                          \
  N_ ("Mailbridge does not try again; the server's reply text names the "      \
      "reason.")
#define AUTH_FAILED_SUMMARY N_ ("The server did not accept the sign-in.")
#define AUTH_FAILED_FIX                                                        \
  N_ ("Check the user name and password of the route in the setup assistant, " \
      "or sign in again.")
#define AUTH_REQUIRED_SUMMARY                                                  \
  N_ ("The server requires a sign-in before it accepts mail.")
#define AUTH_REQUIRED_FIX                                                      \
  N_ ("Check the route's sign-in settings in the setup assistant.")
#define AUTH_MECH_SUMMARY N_ ("The server requires a stronger sign-in method.")
#define OAUTH_FIX                                                              \
  N_ ("Switch the route to OAuth sign-in in the setup assistant.")
#define ENCRYPTION_SUMMARY                                                     \
  N_ ("The server requires encryption before it accepts a sign-in.")
#define ENCRYPTION_FIX                                                         \
  N_ ("Set the route's TLS setting to \"required\" in the setup assistant.")

/* clang-format off */
const MbReplyHint mb_reply_hints_table[] = {
  /* Microsoft 365: SMTP AUTH client submission (smtp.office365.com).
   * Where M365-FACTS.md gives no basic code, code is 0. */
  { 530, "5.7.57", NULL, NULL, "m365.not-authenticated",
    /* Translators: in every hint keep cmdlets, parameters, host names and
       codes as they are; name the admin-center menus as your language's
       Microsoft portals do. */
    N_ ("Microsoft 365 refused the message because Mailbridge was not signed "
        "in."),
    N_ ("For SMTP AUTH, check the route's sign-in in the setup assistant. For "
        "Direct Send or a connector, the host must be your domain's MX host "
        "(such as contoso-com.mail.protection.outlook.com), not "
        "smtp.office365.com."),
    TRUE },
  { 535, "5.7.3", NULL, NULL, "m365.auth-failed",
    N_ ("Microsoft 365 did not accept the sign-in of the sending mailbox."),
    N_ ("Check the password or sign in again; if SMTP AUTH is off for the "
        "mailbox, run Set-CASMailbox -Identity <mailbox> "
        "-SmtpClientAuthenticationDisabled $false. With app-only OAuth, "
        "register the app with New-ServicePrincipal and give it "
        "Add-MailboxPermission -AccessRights FullAccess on the mailbox."),
    TRUE },
  { 535, "5.7.139", NULL, NULL, "m365.auth-blocked",
    N_ ("Microsoft 365 blocked the sign-in of the sending mailbox."),
    N_ ("The reply text names the reason (SMTP AUTH off, basic "
        "authentication off, or a sign-in policy). Switch the route to OAuth "
        "sign-in in the setup assistant, or have SMTP AUTH allowed for this "
        "mailbox."),
    TRUE },
  { 535, "5.7.139", NULL, "basic authentication is disabled",
    "m365.basic-auth-disabled",
    N_ ("Microsoft 365 no longer accepts a password for this mailbox (basic "
        "authentication is turned off)."),
    N_ ("Switch the route to OAuth sign-in in the setup assistant, or change "
        "the authentication policy or Conditional Access policy that blocks "
        "basic authentication."),
    TRUE },
  { 535, "5.7.139", NULL, "disabled for the tenant",
    "m365.smtp-auth-disabled-tenant",
    N_ ("SMTP AUTH is turned off for your whole organization, for password "
        "and OAuth sign-in alike."),
    N_ ("Allow it for the sending mailbox only: Set-CASMailbox -Identity "
        "<mailbox> -SmtpClientAuthenticationDisabled $false, or in the "
        "Microsoft 365 admin center under Users > Active users > Mail > "
        "Manage email apps > Authenticated SMTP."),
    TRUE },
  { 535, "5.7.139", NULL, "disabled for the mailbox",
    "m365.smtp-auth-disabled-mailbox",
    N_ ("SMTP AUTH is turned off for the sending mailbox."),
    N_ ("Run Set-CASMailbox -Identity <mailbox> "
        "-SmtpClientAuthenticationDisabled $false, or tick Authenticated "
        "SMTP in the Microsoft 365 admin center under Users > Active users > "
        "Mail > Manage email apps."),
    TRUE },
  { 535, "5.7.139", NULL, "did not meet the criteria",
    "m365.sign-in-blocked-by-policy",
    N_ ("A sign-in policy (Conditional Access, multi-factor authentication or "
        "security defaults) blocked the mailbox's sign-in."),
    N_ ("Switch the route to OAuth sign-in in the setup assistant, or exclude "
        "this mailbox from the policy in the Microsoft Entra admin center."),
    TRUE },
  { 535, "5.7.139", NULL, "credentials were incorrect", "m365.wrong-password",
    N_ ("The password of the sending mailbox is wrong."),
    N_ ("Enter the current password in the setup assistant; better still, "
        "switch the route to OAuth sign-in."),
    TRUE },
  { 535, "5.7.139", NULL, "security defaults", "m365.security-defaults",
    N_ ("The security defaults of Microsoft Entra ID block this mailbox's "
        "sign-in by SMTP AUTH."),
    N_ ("Switch the route to OAuth sign-in or to the connector method in the "
        "setup assistant. Turn security defaults off in the Microsoft Entra "
        "admin center only if Conditional Access protects your accounts "
        "instead."),
    TRUE },
  { 550, "5.7.30", NULL, NULL, "m365.basic-auth-retired",
    N_ ("Microsoft 365 no longer accepts password sign-in (basic "
        "authentication) for sending."),
    N_ ("Switch the route to OAuth sign-in or to the connector method in the "
        "setup assistant."),
    TRUE },
  { 421, "4.7.66", NULL, NULL, "m365.tls-too-old",
    N_ ("Microsoft 365 saw an outdated TLS version (1.0 or 1.1) on the "
        "connection."),
    N_ ("Mailbridge itself always uses TLS 1.2 or newer, so a firewall or "
        "proxy is re-encrypting the connection: exempt smtp.office365.com "
        "from its TLS inspection."),
    FALSE },
  { 550, "5.7.60", NULL, NULL, "m365.send-as-denied",
    SEND_AS_SUMMARY, SEND_AS_FIX, TRUE },
  { 554, "5.2.252", NULL, "SendAsDenied", "m365.send-as-denied",
    SEND_AS_SUMMARY, SEND_AS_FIX, TRUE },
  { 554, "5.2.0", NULL, "SendAsDenied", "m365.send-as-denied",
    SEND_AS_SUMMARY, SEND_AS_FIX, TRUE },
  { 554, "5.2.0", NULL, "SubmissionQuotaExceeded", "m365.recipient-quota",
    QUOTA_SUMMARY, QUOTA_FIX, TRUE },
  { 0, "5.2.2", NULL, "Submission quota exceeded|SubmissionQuotaExceeded",
    "m365.recipient-quota", QUOTA_SUMMARY, QUOTA_FIX, TRUE },
  { 0, "5.1.90", NULL, NULL, "m365.recipient-quota",
    QUOTA_SUMMARY, QUOTA_FIX, TRUE },
  { 0, "5.2.0", NULL, "MaxSubmissionExceeded|exceeds maximum size",
    "m365.message-too-big",
    N_ ("The message is larger than the sending mailbox may send."),
    N_ ("Send a smaller message, or raise the mailbox's limit (35 MB by "
        "default, at most 150 MB): Set-Mailbox -Identity <mailbox> "
        "-MaxSendSize 150MB."),
    FALSE },
  { 432, "4.3.2", NULL, "sender thread limit", "m365.too-many-connections",
    N_ ("More than three connections were sending through the same mailbox "
        "at once."),
    N_ ("Mailbridge tries again and itself uses at most three connections "
        "per mailbox; give other devices or programs that sign in with this "
        "mailbox their own mailbox, or send them through Mailbridge."),
    FALSE },
  { 550, "5.2.251", "5.2.255", NULL, "m365.continuous-error-block",
    N_ ("Microsoft 365 blocked SMTP AUTH for this mailbox for a while "
        "because the same error kept repeating."),
    N_ ("Fix the cause the code names (5.2.251 mailbox full, 5.2.252 Send As "
        "denied, 5.2.253 license, 5.2.254 too many recipients, 5.2.255 "
        "invalid recipients), then wait: the block ends by itself, and "
        "Microsoft support cannot lift it."),
    TRUE },
  { 554, "5.2.2", NULL, "ShutoffQuota|mailbox full; STOREDRV",
    "m365.sending-mailbox-full",
    N_ ("The sending mailbox is full (every message sent through it is also "
        "saved in its Sent Items folder)."),
    N_ ("Empty the mailbox's Sent Items folder, and set up a retention policy "
        "that deletes old sent items (Microsoft Purview portal > Data "
        "lifecycle management)."),
    TRUE },
  { 550, "5.1.8", NULL, NULL, "m365.sender-restricted",
    N_ ("Microsoft 365 blocked the sending mailbox because it sent suspected "
        "spam."),
    N_ ("Change the mailbox's password and check it for misuse, then release "
        "it in the Microsoft Defender portal under Email & collaboration > "
        "Review > Restricted entities."),
    TRUE },
  { 501, "5.5.124", NULL, NULL, "m365.xoauth2-invalid",
    N_ ("The server rejected the OAuth sign-in data Mailbridge sent."),
    N_ ("Sign in again in the setup assistant; for a High Volume Email "
        "account, also check that the app is allowed with Add-HVEAppAccess."),
    TRUE },

  /* Microsoft 365: the MX endpoint (Direct Send, connector relay). */
  { 550, "5.7.64", NULL, NULL, "m365.connector-no-match",
    N_ ("No inbound connector of your organization matched this connection, "
        "so Microsoft 365 refused to relay."),
    N_ ("Update the connector to your current public IP address or "
        "certificate (Set-InboundConnector, or run the setup assistant again); "
        "a certificate must name one of your accepted domains and be sent "
        "with its full chain."),
    TRUE },
  { 451, "4.4.62", NULL, NULL, "m365.wrong-region",
    N_ ("Microsoft 365 could not assign the message to your organization."),
    N_ ("Check the inbound connector as for 5.7.64 (current public IP address "
        "or certificate) and that the route uses your own domain's MX host; "
        "the setup assistant checks both."),
    FALSE },
  { 550, "5.7.68", NULL, NULL, "m365.direct-send-rejected",
    N_ ("Your organization rejects Direct Send (RejectDirectSend is on), and "
        "no connector matches this connection."),
    N_ ("Switch the route to the connector method in the setup assistant, or "
        "allow Direct Send again with Set-OrganizationConfig "
        "-RejectDirectSend $false."),
    TRUE },
  { 550, "5.7.54", NULL, NULL, "m365.relay-denied-external",
    N_ ("Microsoft 365 refused to relay to an address outside your "
        "organization."),
    N_ ("Direct Send only reaches your own mailboxes; to send outside, switch "
        "the route to SMTP AUTH or the connector method in the setup "
        "assistant."),
    FALSE },
  { 550, "5.7.1", NULL, "Blocked by Customer Allow list",
    "m365.allow-list-blocked",
    N_ ("Microsoft 365 refused to relay because your IP address is on the IP "
        "Allow list of the connection filter and also on a public block "
        "list."),
    N_ ("Remove your IP address from the IP Allow list in the Microsoft "
        "Defender portal (Anti-spam policies > Connection filter policy); "
        "the connector alone is enough."),
    TRUE },
  { 550, "5.7.1", NULL, "Unable to relay", "m365.relay-denied",
    N_ ("Microsoft 365 refused to relay the message."),
    N_ ("To reach outside addresses, use SMTP AUTH or a connector; with a "
        "connector, check that it still matches your public IP address or "
        "certificate."),
    FALSE },
  { 550, "5.7.1", NULL, "Client was not authenticated",
    "m365.client-not-authenticated",
    N_ ("Microsoft 365 refused the message because the connection was "
        "neither signed in nor matched by a connector."),
    N_ ("Check the route in the setup assistant: SMTP AUTH needs a sign-in, "
        "and the connector method needs a connector that matches your "
        "public IP address or certificate."),
    FALSE },
  { 550, "5.7.1", NULL, "Delivery not authorized",
    "m365.delivery-not-authorized",
    N_ ("The recipient's organization does not accept mail from this "
        "sender."),
    N_ ("A policy restricts who may send to this address; ask the "
        "recipient's administrator to allow the sender."),
    FALSE },
  { 550, "5.4.1", NULL, "Recipient address rejected", "m365.recipient-unknown",
    N_ ("The recipient address does not exist in the receiving Microsoft 365 "
        "organization."),
    N_ ("Check the address for typing errors and correct it on the device or "
        "in its address book."),
    FALSE },
  { 451, "4.7.500", "4.7.699", NULL, "m365.server-busy",
    N_ ("Microsoft 365 is slowing down mail from your IP address for now "
        "(a new or changed sending pattern)."),
    N_ ("Nothing to do: Mailbridge tries again with growing pauses. A "
        "connector for your IP address avoids this throttling."),
    FALSE },
  { 0, "4.7.850", "4.7.899", NULL, "m365.ip-restricted-temporarily",
    N_ ("Microsoft 365 temporarily restricts mail from your IP address."),
    N_ ("Mailbridge tries again later; if it lasts for hours, check that no "
        "computer in your network sends spam."),
    FALSE },
  { 550, "5.7.606", "5.7.649", NULL, "m365.ip-banned",
    N_ ("Microsoft 365 has put your public IP address on its block list."),
    N_ ("Request the removal at https://sender.office.com, then resume the "
        "route."),
    TRUE },
  { 0, "5.7.511", NULL, NULL, "m365.ip-banned-permanently",
    N_ ("Microsoft 365 has banned your public IP address, and self-service "
        "removal is not possible."),
    N_ ("Email delist@messaging.microsoft.com with the rejection message and "
        "your public IP address, and ask for the removal."),
    TRUE },
  { 0, "5.7.510", NULL, NULL, "m365.ipv6-not-accepted",
    N_ ("The receiving organization does not accept mail over IPv6."),
    N_ ("Mailbridge must reach this server over IPv4: make sure the computer "
        "running Mailbridge has a working IPv4 internet connection."),
    FALSE },
  { 0, "5.7.700", "5.7.750", NULL, "m365.tenant-blocked",
    N_ ("Microsoft 365 has blocked your organization from sending mail."),
    N_ ("Check in the Microsoft 365 admin center that the subscription is "
        "active and no account sends spam, then open a support request "
        "there."),
    TRUE },
  { 0, "5.7.705", NULL, NULL, "m365.tenant-threshold",
    N_ ("Your organization may not send because it exceeded Microsoft's "
        "limits, usually through spam from a compromised account or a "
        "lapsed subscription."),
    N_ ("Change the passwords of misused accounts and check that the "
        "subscription is paid, then open a support request in the Microsoft "
        "365 admin center."),
    TRUE },
  { 0, "5.7.708", NULL, NULL, "m365.ip-low-reputation",
    N_ ("Microsoft 365 does not accept mail from this IP address (common for "
        "new and trial organizations)."),
    N_ ("Add and verify your own domain in the Microsoft 365 admin center, "
        "and open a support request there."),
    TRUE },
  { 550, "5.7.750", NULL, NULL, "m365.unregistered-domain",
    N_ ("Microsoft 365 blocks mail from sender domains that are not "
        "registered in your organization."),
    N_ ("Add and verify every sender domain in the Microsoft 365 admin center "
        "(Settings > Domains), or let devices send only from your verified "
        "domains."),
    TRUE },
  { 550, "5.7.233", NULL, NULL, "m365.tenant-external-limit",
    N_ ("Your organization reached its daily limit for sending to outside "
        "recipients."),
    N_ ("Wait until the 24-hour window has moved on; more paid licenses raise "
        "the limit."),
    TRUE },
  { 550, "5.7.23", NULL, NULL, "m365.spf-failed",
    N_ ("The recipient's server rejected the message because of the sender "
        "domain's SPF record."),
    N_ ("Check your domain's SPF record in DNS: it must include "
        "spf.protection.outlook.com and your public IP address, and every "
        "sender domain must be added to Microsoft 365."),
    FALSE },
  { 550, "5.7.520", NULL, NULL, "m365.external-forwarding-blocked",
    N_ ("Your organization's outbound spam policy blocks automatic "
        "forwarding to outside addresses."),
    N_ ("If the forwarding is wanted, allow it in the Microsoft Defender "
        "portal under Anti-spam policies > Outbound spam filter policy > "
        "Automatic forwarding rules."),
    FALSE },
  { 550, "5.5.105", NULL, NULL, "m365.hve-external",
    N_ ("High Volume Email accounts may only send to your own organization's "
        "mailboxes."),
    N_ ("Send to outside addresses through a route with SMTP AUTH or the "
        "connector method."),
    FALSE },
  { 0, "4.4.316", NULL, NULL, "m365.remote-connection-refused",
    N_ ("Microsoft 365 could not connect to the recipient's mail server."),
    N_ ("Nothing to change at your end; if it lasts, the recipient's mail "
        "server is down, so tell the recipient another way."),
    FALSE },
  { 421, "4.3.2", NULL, "resource forest", "m365.service-busy",
    BUSY_SUMMARY, RETRY_FIX, FALSE },
  { 451, "4.7.0", NULL, "Temporary server error", "m365.service-busy",
    BUSY_SUMMARY, RETRY_FIX, FALSE },
  { 432, "4.3.2", NULL, "recipient thread limit", "m365.recipient-throttled",
    N_ ("The recipient's mailbox is receiving too much mail at once."),
    RETRY_FIX, FALSE },
  { 0, "5.2.121", NULL, NULL, "m365.recipient-limit-from-sender",
    N_ ("The recipient has received too many messages from this sender "
        "within the last hour."),
    N_ ("Send fewer messages to this recipient, or combine them; the limit "
        "resets after an hour."),
    FALSE },
  { 0, "5.2.122", NULL, NULL, "m365.recipient-limit",
    N_ ("The recipient has received too many messages within the last "
        "hour."),
    N_ ("Send the message again later; the limit resets after an hour."),
    FALSE },
  { 500, "5.3.3", NULL, "Unrecognized command", "smtp.protocol",
    PROTOCOL_SUMMARY, PROTOCOL_FIX, FALSE },

  /* RFC 3463: well-known codes, then subjects, then classes. */
  { 0, "5.1.1", NULL, NULL, "smtp.mailbox-unknown",
    N_ ("The recipient's mailbox does not exist."),
    N_ ("Check the address for typing errors and correct it on the device or "
        "in its address book."),
    FALSE },
  { 0, "5.1.2", NULL, NULL, "smtp.domain-unknown",
    N_ ("The domain of the recipient address does not exist or does not "
        "receive mail."),
    N_ ("Check the part after the @ for typing errors."),
    FALSE },
  { 0, "5.1.3", NULL, NULL, "smtp.address-syntax",
    ADDRESS_SYNTAX_SUMMARY, ADDRESS_SYNTAX_FIX, FALSE },
  { 0, "5.1.7", NULL, NULL, "smtp.sender-address-invalid",
    N_ ("The sender address is not valid."),
    N_ ("Set a complete sender address on the device, for example "
        "scanner@example.com."),
    FALSE },
  { 0, "5.2.1", NULL, NULL, "smtp.mailbox-disabled",
    N_ ("The recipient's mailbox is disabled."),
    N_ ("Use another address for this recipient."),
    FALSE },
  { 0, "5.2.2", NULL, NULL, "smtp.mailbox-full",
    MAILBOX_FULL_SUMMARY,
    N_ ("Tell the recipient another way; the message can be sent again once "
        "they have made room."),
    FALSE },
  { 0, "4.2.2", NULL, NULL, "smtp.mailbox-full-temporary",
    MAILBOX_FULL_SUMMARY,
    N_ ("Mailbridge tries again later; the recipient should make room in the "
        "mailbox."),
    FALSE },
  { 0, "5.2.3", NULL, NULL, "smtp.message-too-big",
    TOO_BIG_SUMMARY, TOO_BIG_FIX, FALSE },
  { 0, "5.3.4", NULL, NULL, "smtp.message-too-big",
    TOO_BIG_SUMMARY, TOO_BIG_FIX, FALSE },
  { 0, "4.4.7", NULL, NULL, "smtp.expired",
    N_ ("The message could not be delivered within the allowed time."),
    N_ ("The earlier replies name the reason; fix it, then send the message "
        "again."),
    FALSE },
  { 0, "5.4.7", NULL, NULL, "smtp.expired",
    N_ ("The message could not be delivered within the allowed time."),
    N_ ("The earlier replies name the reason; fix it, then send the message "
        "again."),
    FALSE },
  { 0, "4.5.3", NULL, NULL, "smtp.too-many-recipients-temporary",
    TOO_MANY_RCPT_SUMMARY,
    N_ ("Nothing to do: Mailbridge sends to the remaining recipients in a "
        "further round."),
    FALSE },
  { 0, "5.5.3", NULL, NULL, "smtp.too-many-recipients",
    TOO_MANY_RCPT_SUMMARY,
    N_ ("Send to fewer recipients at once, or use a distribution group for "
        "large lists."),
    FALSE },
  { 0, "5.7.1", NULL, NULL, "smtp.refused",
    N_ ("The server refused the message: this sender may not send to this "
        "recipient."),
    N_ ("The reply text names the reason; check that the sender address "
        "belongs to your organization and that the recipient accepts mail "
        "from it."),
    FALSE },
  { 535, "5.7.8", NULL, NULL, "smtp.auth-failed",
    AUTH_FAILED_SUMMARY, AUTH_FAILED_FIX, TRUE },
  { 534, "5.7.9", NULL, NULL, "smtp.auth-mechanism-too-weak",
    AUTH_MECH_SUMMARY, OAUTH_FIX, TRUE },
  { 538, "5.7.11", NULL, NULL, "smtp.encryption-required",
    ENCRYPTION_SUMMARY, ENCRYPTION_FIX, TRUE },
  { 0, "5.1.*", NULL, NULL, "smtp.address",
    N_ ("The server rejected an address of the message."),
    N_ ("Check the sender and recipient addresses set on the device."),
    FALSE },
  { 0, "5.2.*", NULL, NULL, "smtp.mailbox",
    N_ ("The recipient's mailbox cannot take the message."),
    N_ ("Tell the recipient another way; they or their administrator must "
        "check the mailbox."),
    FALSE },
  { 0, "5.3.*", NULL, NULL, "smtp.mail-system",
    N_ ("The receiving mail system has a problem with this message."),
    N_ ("Mailbridge does not try again; if it keeps happening, tell the "
        "recipient's administrator."),
    FALSE },
  { 0, "4.3.*", NULL, NULL, "smtp.system-busy",
    SYSTEM_BUSY_SUMMARY, RETRY_FIX, FALSE },
  { 0, "4.4.*", NULL, NULL, "smtp.network",
    N_ ("A network or connection problem occurred on the way to the "
        "server."),
    N_ ("Mailbridge tries again later; if it keeps happening, check the "
        "internet connection and the firewall."),
    FALSE },
  { 0, "5.4.*", NULL, NULL, "smtp.routing",
    N_ ("The message could not be routed to the recipient's server."),
    N_ ("Check the recipient's domain; if it is correct, their mail setup is "
        "broken, so tell the recipient another way."),
    FALSE },
  { 0, "5.5.*", NULL, NULL, "smtp.protocol",
    PROTOCOL_SUMMARY, PROTOCOL_FIX, FALSE },
  { 0, "5.6.*", NULL, NULL, "smtp.content",
    N_ ("The receiving server could not process the content or format of the "
        "message."),
    N_ ("Check the device's mail settings (character set, attachment type); "
        "sending the document as PDF usually works."),
    FALSE },
  { 535, "5.7.*", NULL, NULL, "smtp.auth-failed",
    AUTH_FAILED_SUMMARY, AUTH_FAILED_FIX, TRUE },
  { 530, "5.7.*", NULL, NULL, "smtp.auth-required",
    AUTH_REQUIRED_SUMMARY, AUTH_REQUIRED_FIX, TRUE },
  { 0, "5.7.*", NULL, NULL, "smtp.policy",
    N_ ("The server refused the message for a security or policy reason."),
    N_ ("The reply text names the reason; often the sender may not send to "
        "this recipient."),
    FALSE },
  { 0, "4.7.*", NULL, NULL, "smtp.policy-temporary",
    N_ ("The server temporarily refused the message for a security or policy "
        "reason."),
    RETRY_FIX, FALSE },
  { 0, "4.*.*", NULL, NULL, "smtp.temporary",
    N_ ("The receiving server reported a temporary problem."),
    N_ ("Nothing to do for now: Mailbridge tries again later and tells you "
        "if the message stays stuck."),
    FALSE },
  { 0, "5.*.*", NULL, NULL, "smtp.permanent",
    PERMANENT_SUMMARY, PERMANENT_FIX, FALSE },

  /* RFC 5321 4.2.3 basic codes, for replies without an enhanced code. */
  { 421, NULL, NULL, NULL, "smtp.service-closing",
    N_ ("The server closed the connection for now."),
    RETRY_FIX, FALSE },
  { 452, NULL, NULL, NULL, "smtp.system-busy",
    SYSTEM_BUSY_SUMMARY, RETRY_FIX, FALSE },
  { 454, NULL, NULL, NULL, "smtp.tls-auth-unavailable",
    N_ ("The server cannot offer encryption or sign-in at the moment."),
    RETRY_FIX, FALSE },
  { 500, NULL, NULL, NULL, "smtp.protocol",
    PROTOCOL_SUMMARY, PROTOCOL_FIX, FALSE },
  { 501, NULL, NULL, NULL, "smtp.protocol",
    PROTOCOL_SUMMARY, PROTOCOL_FIX, FALSE },
  { 502, NULL, NULL, NULL, "smtp.protocol",
    PROTOCOL_SUMMARY, PROTOCOL_FIX, FALSE },
  { 503, NULL, NULL, NULL, "smtp.protocol",
    PROTOCOL_SUMMARY, PROTOCOL_FIX, FALSE },
  { 504, NULL, NULL, NULL, "smtp.protocol",
    PROTOCOL_SUMMARY, PROTOCOL_FIX, FALSE },
  { 555, NULL, NULL, NULL, "smtp.protocol",
    PROTOCOL_SUMMARY, PROTOCOL_FIX, FALSE },
  { 530, NULL, NULL, NULL, "smtp.auth-required",
    AUTH_REQUIRED_SUMMARY, AUTH_REQUIRED_FIX, TRUE },
  { 534, NULL, NULL, NULL, "smtp.auth-mechanism-too-weak",
    AUTH_MECH_SUMMARY, OAUTH_FIX, TRUE },
  { 535, NULL, NULL, NULL, "smtp.auth-failed",
    AUTH_FAILED_SUMMARY, AUTH_FAILED_FIX, TRUE },
  { 538, NULL, NULL, NULL, "smtp.encryption-required",
    ENCRYPTION_SUMMARY, ENCRYPTION_FIX, TRUE },
  { 550, NULL, NULL, NULL, "smtp.mailbox-unavailable",
    N_ ("The server refused the message, usually because the recipient's "
        "mailbox does not exist or does not accept mail."),
    N_ ("Check the recipient address; the server's reply text names the "
        "reason."),
    FALSE },
  { 552, NULL, NULL, NULL, "smtp.message-too-big",
    TOO_BIG_SUMMARY, TOO_BIG_FIX, FALSE },
  { 553, NULL, NULL, NULL, "smtp.address-syntax",
    ADDRESS_SYNTAX_SUMMARY, ADDRESS_SYNTAX_FIX, FALSE },
  { 554, NULL, NULL, NULL, "smtp.permanent",
    PERMANENT_SUMMARY, PERMANENT_FIX, FALSE },

  /* Mailbridge's own failures (code 0, found by keyword). */
  { 0, NULL, NULL, NULL, "mb.connect-failed",
    N_ ("Mailbridge could not connect to the mail server."),
    N_ ("Check the internet connection, and that the firewall lets Mailbridge "
        "connect out on port 587 (SMTP AUTH) or 25 (Direct Send, connector); "
        "many internet providers block port 25."),
    FALSE },
  { 0, NULL, NULL, NULL, "mb.dns-failed",
    N_ ("The name of the mail server could not be found (DNS)."),
    N_ ("Check the internet connection and the DNS server; if it keeps "
        "happening, run the setup assistant again to check the route's host "
        "name."),
    FALSE },
  { 0, NULL, NULL, NULL, "mb.tls-untrusted",
    N_ ("The server's TLS certificate is not trusted, so Mailbridge sent "
        "nothing."),
    N_ ("Check the route's host name; a firewall or antivirus program that "
        "inspects encrypted traffic must leave Mailbridge's connections "
        "alone. Mailbridge never sends mail without this check."),
    FALSE },
  { 0, NULL, NULL, NULL, "mb.tls-failed",
    N_ ("The encrypted connection to the server could not be set up."),
    N_ ("Mailbridge tries again later; if it keeps happening, a firewall or "
        "proxy may be interfering with encrypted connections."),
    FALSE },
  { 0, NULL, NULL, NULL, "mb.starttls-unavailable",
    N_ ("The server did not offer encryption (STARTTLS), which this route "
        "requires."),
    N_ ("Check the route's host name in the setup assistant; a firewall with "
        "an SMTP filter can also remove STARTTLS."),
    FALSE },
  { 0, NULL, NULL, NULL, "mb.timeout",
    N_ ("The server did not answer in time."),
    N_ ("Nothing to do for now: Mailbridge tries again later; if it keeps "
        "happening, check the internet connection."),
    FALSE },
  { 0, NULL, NULL, NULL, "mb.connection-lost",
    N_ ("The connection to the server broke off."),
    RETRY_FIX, FALSE },
  { 0, NULL, NULL, NULL, "mb.auth-unavailable",
    N_ ("The server does not offer the sign-in method this route uses."),
    N_ ("Check the route's host and port in the setup assistant: SMTP AUTH "
        "needs smtp.office365.com on port 587."),
    TRUE },
  { 0, NULL, NULL, NULL, "mb.auth-token-expired",
    N_ ("The Microsoft 365 sign-in of this route has expired or was revoked "
        "(for example after a password change)."),
    N_ ("Sign in again: open Mailbridge and run the sign-in for this route, "
        "or run mailbridgectl signin ROUTE."),
    TRUE },
};
/* clang-format on */

const gsize mb_reply_hints_table_length = G_N_ELEMENTS (mb_reply_hints_table);
