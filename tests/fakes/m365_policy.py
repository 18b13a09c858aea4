"""What the fake Microsoft 365 says, and its defaults, as tables.

Every reply text and every default limit of tests/fakes/fake_m365.py lives
here, so that a change in Microsoft's behaviour (M365-FACTS.md marks many
facts as third-party only) is a one-line edit. Section numbers refer to
/work/shared/M365-FACTS.md.

Placeholders filled in by the fake:
  {host}   server_name (banner / EHLO host)
  {short}  "[<tag_host>]", the short tag Microsoft appends to AUTH failures
  {tag}    "[<tag_host> <ISO time>Z <connection id>]", the long tag
  {mbx}    mailbox_server (the Hostname= of the accepting store)
  {ip}     the client's address
  others as named in each entry.
"""

# Replies. The text before {tag}/{short} is what M365-FACTS.md quotes.
REPLIES = {
    # 5: banner, EHLO, STARTTLS, plain command replies
    "banner": "220 {host} Microsoft ESMTP MAIL Service ready at {date} "
              "[{conn_id}]",
    "hello": "{host} Hello [{ip}]",
    "starttls": "220 2.0.0 SMTP server ready",
    "mail_ok": "250 2.1.0 Sender OK",
    "rcpt_ok": "250 2.1.5 Recipient OK",
    "data_go": "354 Start mail input; end with <CRLF>.<CRLF>",
    "bdat_ok": "250 2.0.0 {n} octets received",
    "rset": "250 2.0.0 Resetting",
    "noop": "250 2.0.0 OK",
    "quit": "221 2.0.0 Service closing transmission channel",
    "auth_ok": "235 2.7.0 Authentication successful",
    # 5: accepted messages
    "submission_ok": "250 2.0.0 OK {msgid} [Hostname={mbx}]",
    "mx_ok": "250 2.6.0 {msgid} [InternalId={internal_id}, Hostname={mbx}] "
             "Queued mail for delivery",

    # 4: submission (smtp.office365.com)
    "not_authenticated": "530 5.7.57 Client not authenticated to send mail. "
                         "{tag}",
    "auth_failed": "535 5.7.3 Authentication unsuccessful {short}",
    "auth_basic_disabled": "535 5.7.139 Authentication unsuccessful, basic "
                           "authentication is disabled. {short}",
    "auth_tenant_disabled": "535 5.7.139 Authentication unsuccessful, "
                            "SmtpClientAuthentication is disabled for the "
                            "Tenant. Visit https://aka.ms/smtp_auth_disabled "
                            "for more information. {short}",
    "auth_mailbox_disabled": "535 5.7.139 Authentication unsuccessful, "
                             "SmtpClientAuthentication is disabled for the "
                             "Mailbox. Visit https://aka.ms/smtp_auth_disabled"
                             " for more information. {short}",
    "auth_ca_blocked": "535 5.7.139 Authentication unsuccessful, the request "
                       "did not meet the criteria to be authenticated "
                       "successfully. Contact your administrator. {short}",
    "basic_retired": "550 5.7.30 Basic authentication is not supported for "
                     "Client Submission. {tag}",
    "send_as_mail": "550 5.7.60 SMTP; Client does not have permissions to "
                    "send as this sender {tag}",
    "send_as_data": "554 5.2.252 SendAsDenied; {user} not allowed to send as "
                    "{sender}; STOREDRV.Submission.Exception:"
                    "SendAsDeniedException.MapiExceptionSendAsDenied; Failed "
                    "to process message due to a permanent exception with "
                    "message [BeginDiagnosticData]Cannot submit message. "
                    "[Hostname={mbx}]",
    "thread_limit": "432 4.3.2 STOREDRV.ClientSubmit; sender thread limit "
                    "exceeded [Hostname={mbx}]",
    "quota": "554 5.2.0 STOREDRV.Submission.Exception:"
             "SubmissionQuotaExceededException; Failed to process message "
             "due to a permanent exception with message "
             "[BeginDiagnosticData]Cannot submit message. [Hostname={mbx}]",
    "too_big": "552 5.3.4 Message size exceeds fixed maximum message size "
               "{tag}",
    # 8.5: the reply for too many recipients per message is unknown (✘).
    "too_many_rcpts": "452 4.5.3 Too many recipients {tag}",

    # 4, 3.3, 6, 7: the MX endpoint (Direct Send, connector relay)
    "relay_denied": "550 5.7.54 SMTP; Unable to relay recipient in "
                    "non-accepted domain {tag}",
    "no_such_user": "550 5.4.1 [{rcpt}]: Recipient address rejected: "
                    "Access denied {tag}",
    "reject_direct_send": "550 5.7.68 TenantInboundAttribution; Direct Send "
                          "not allowed for this organization from "
                          "unauthorized sources {tag}",
    "tenant_attribution": "550 5.7.64 TenantAttribution; Relay Access Denied "
                          "{tag}",
    "greylist": "451 4.7.500 Server busy. Please try again later from "
                "[{ip}]. (AS77712344)",

    # 4: transient, any endpoint (faults)
    "busy_421": "421 4.3.2 The maximum number of concurrent connections per "
                "resource forest has exceeded a limit, closing transmission "
                "channel",

    # Protocol errors. Exchange-family texts, not in M365-FACTS.md (◐/✘):
    # tests must not depend on their wording.
    "auth_unknown_mech": "504 5.7.4 Unrecognized authentication type {tag}",
    "auth_already": "503 5.5.2 Already authenticated",
    "auth_bad_b64": "501 5.5.2 Cannot Decode response",
    "unknown_command": "500 5.3.3 Unrecognized command '{command}'",
    "need_helo": "503 5.5.2 Send hello first",
    "need_mail": "503 5.5.2 Need mail command",
    "need_rcpt": "503 5.5.2 Need rcpt command",
    "nested_mail": "503 5.5.2 Sender already specified",
    "bad_sequence": "503 5.5.1 Bad sequence of commands",
    "syntax": "501 5.5.4 Invalid arguments",
    "bad_param": "501 5.5.4 Unrecognized parameter {param}",
    "bad_address": "501 5.1.3 Invalid address",
    "bad_domain": "501 5.5.4 Invalid domain name",
    "no_tls": "454 4.7.0 TLS not available due to local problem",
    "internal_error": "451 4.3.0 fake_m365 internal error: {error}",
}

PERSONALITIES = ("submission", "mx-direct-send", "mx-connector")

MB = 1024 * 1024

# Options common to all personalities. Each is an attribute of FakeM365 and
# a key of the --config JSON file.
COMMON = {
    "server_name": None,            # per personality, below
    "tag_host": None,
    "mailbox_server": None,
    "advertised_size": 157286400,   # 5: EHLO SIZE (150 MiB)
    "max_message_size": None,       # per personality, below
    "offer_starttls": True,
    "idle_timeout": 300.0,
    "accepted_domains": ["contoso.com"],
    # Scripted per-recipient outcomes: {addr: reply | [reply | None, ...]}.
    "rcpt_replies": {},
    # Faults on demand.
    "fault_connect_421": 0,         # refuse the next N connections; -1 = all
    "fault_drop_after_bytes": None,  # abort mid-DATA/BDAT after N body bytes
    "fault_drop_times": 1,          # how many transfers to drop; -1 = all
    "fault_reply_delay": 0.0,       # seconds before each (final) reply line
    "fault_untrusted_cert": False,  # present the rogue CA's certificate
}

DEFAULTS = {
    "submission": {
        "server_name": "FR0P281CA0042.outlook.office365.com",
        "tag_host": "FR0P281CA0042.DEUP281.PROD.OUTLOOK.COM",
        "mailbox_server": "FR2P281MB0123.DEUP281.PROD.OUTLOOK.COM",
        "max_message_size": 35 * MB,        # 3.1 MaxSendSize default
        # {address: {"password", "send_as": [...], "full_access": [...],
        #            "smtp_auth_disabled": None|True|False, "ca_blocked"}}
        "users": {},
        # {token: (principal, expires_at epoch seconds or None)}
        "tokens": {},
        "basic_auth": "enabled",            # | "disabled" (5.7.139) |
                                            #   "retired" (5.7.30)
        "smtp_auth_disabled_tenant": False,  # 1.4
        "send_as_check": "mail",            # | "data" (554 5.2.252)
        "max_connections_per_mailbox": 3,   # 3.1
        "rate_limit": 30,                   # 3.1: messages per rate_window
        "rate_window": 60.0,
        "rate_delay_cap": 5.0,              # longest carry-over delay
        "recipient_quota": 10000,           # 3.1: recipients per quota_window
        "quota_window": 86400.0,
        "max_recipients_per_message": 500,  # 3.1
    },
    "mx-direct-send": {
        "server_name": "DB5PEPF00014B8A.mail.protection.outlook.com",
        "tag_host": "DB5PEPF00014B8A.eurprd04.prod.outlook.com",
        "mailbox_server": "AS8PR04MB8345.eurprd04.prod.outlook.com",
        "max_message_size": 157286400,      # 8.6: effective limit unknown
        "mailboxes": [],                    # empty = every address exists
        "reject_direct_send": False,        # 7
        "greylist": False,                  # 4: 451 4.7.500
        "max_recipients_per_domain": 200,   # 3.3
    },
}
DEFAULTS["mx-connector"] = dict(
    DEFAULTS["mx-direct-send"],
    connector_cert_domains=["*.contoso.com"],   # TlsSenderCertificateName
    connector_ips=[],                           # SenderIPAddresses (IPv4)
)


def options_for(personality):
    """A fresh dict of every option of a personality, with its defaults."""
    if personality not in PERSONALITIES:
        raise ValueError(f"unknown personality {personality!r}")
    opts = {}
    for src in (COMMON, DEFAULTS[personality]):
        for k, v in src.items():
            opts[k] = v.copy() if isinstance(v, (dict, list)) else v
    return opts
