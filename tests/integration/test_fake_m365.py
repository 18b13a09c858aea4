#!/usr/bin/python3
"""Self-tests of the fake Microsoft 365 upstream (tests/fakes/fake_m365.py).

Python's smtplib, a client nobody here wrote, talks to each personality and
checks the replies M365-FACTS.md documents. Run directly, with unittest, or
through tests/integration/taprunner.py.
"""

import base64
import json
import os
import re
import signal
import smtplib
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import unittest
import warnings

HERE = os.path.dirname(os.path.abspath(__file__))
FAKES = os.path.join(os.path.dirname(HERE), "fakes")
sys.path.insert(0, FAKES)

import fake_m365  # noqa: E402
import testpki  # noqa: E402

PKI = testpki.ensure(testpki.default_dir())

USER = "user@contoso.com"
EHLO_PLAIN = ["SIZE 157286400", "PIPELINING", "DSN", "ENHANCEDSTATUSCODES",
              "STARTTLS", "8BITMIME", "BINARYMIME", "CHUNKING", "SMTPUTF8"]
EHLO_SUBMISSION_TLS = ["SIZE 157286400", "PIPELINING", "DSN",
                       "ENHANCEDSTATUSCODES", "AUTH LOGIN XOAUTH2",
                       "8BITMIME", "BINARYMIME", "CHUNKING", "SMTPUTF8"]
EHLO_MX_TLS = [line for line in EHLO_PLAIN if line != "STARTTLS"]

# M365-FACTS 2.1: Microsoft's own XOAUTH2 example.
MS_VECTOR_USER = "test@contoso.onmicrosoft.com"
MS_VECTOR_TOKEN = "EwBAAl3BAAUFFpUAo7J3Ve0bjLBWZWCclRC3EoAA"
MS_VECTOR_B64 = ("dXNlcj10ZXN0QGNvbnRvc28ub25taWNyb3NvZnQuY29tAWF1dGg9Qm"
                 "VhcmVyIEV3QkFBbDNCQUFVRkZwVUFvN0ozVmUwYmpMQldaV0NjbFJDM0"
                 "VvQUEBAQ==")

MESSAGE = (b"From: user@contoso.com\r\nTo: someone@example.net\r\n"
           b"Subject: test\r\nMessage-ID: <m1@device.contoso.com>\r\n\r\n"
           b"Hello.\r\n")


def xoauth2(user, token):
    return base64.b64encode(
        f"user={user}\x01auth=Bearer {token}\x01\x01".encode()).decode()


def trusting_context(cafile=PKI.ca_cert):
    return ssl.create_default_context(cafile=cafile)


def ehlo_lines(client):
    code, text = client.ehlo("device.contoso.com")
    assert code == 250, (code, text)
    return text.decode().split("\n")


class FakeCase(unittest.TestCase):
    personality = None
    options = {}

    def setUp(self):
        self.fake = fake_m365.FakeM365(self.personality, pki=PKI,
                                       **self.options)
        self.fake.start()
        self.clients = []

    def tearDown(self):
        for c in self.clients:
            try:
                c.close()
            except OSError:
                pass
        self.fake.stop()
        self.assertEqual(self.fake.errors, [])

    def connect(self, starttls=True, context=None):
        client = smtplib.SMTP("127.0.0.1", self.fake.port, timeout=10)
        self.clients.append(client)
        ehlo_lines(client)
        if starttls:
            client.starttls(context=context or trusting_context())
            ehlo_lines(client)
        return client

    def assertReply(self, reply, code, enhanced):
        """Match on code + enhanced code, as M365-FACTS 4 says."""
        got_code, text = reply
        self.assertEqual(got_code, code, text)
        self.assertTrue(text.decode().startswith(enhanced + " ")
                        or text.decode() == enhanced, text)


class SubmissionTest(FakeCase):
    personality = "submission"

    def setUp(self):
        super().setUp()
        self.fake.users[USER] = {"password": "secret"}
        self.fake.add_token("good-token", USER, expires_in=3600)

    def login_oauth(self, client, user=USER, token="good-token"):
        return client.auth("XOAUTH2", lambda challenge=None:
                           base64.b64decode(xoauth2(user, token)).decode(),
                           initial_response_ok=False)

    def test_banner_and_ehlo_before_and_after_starttls(self):
        # The banner has Microsoft's format; EHLO lists match section 5
        # exactly: STARTTLS before TLS, AUTH LOGIN XOAUTH2 (no PLAIN) after.
        with socket.create_connection(("127.0.0.1", self.fake.port)) as s:
            banner = s.makefile("rb").readline().decode()
        self.assertRegex(
            banner,
            r"^220 \S+\.outlook\.office365\.com Microsoft ESMTP MAIL Service "
            r"ready at \w{3}, \d{1,2} \w{3} \d{4} \d\d:\d\d:\d\d \+0000 "
            r"\[[0-9A-F]{16}\]\r\n$")
        client = smtplib.SMTP("127.0.0.1", self.fake.port, timeout=10)
        self.clients.append(client)
        lines = ehlo_lines(client)
        self.assertRegex(lines[0], r"^\S+ Hello \[127\.0\.0\.1\]$")
        self.assertEqual(lines[1:], EHLO_PLAIN)
        code, text = client.starttls(context=trusting_context())
        self.assertEqual((code, text), (220, b"2.0.0 SMTP server ready"))
        self.assertEqual(ehlo_lines(client)[1:], EHLO_SUBMISSION_TLS)
        self.assertEqual(self.fake.messages, [])

    def test_mail_without_auth_is_530(self):
        # MAIL FROM without AUTH gets 530 5.7.57, with or without TLS.
        client = self.connect(starttls=False)
        self.assertReply(client.mail(USER), 530, "5.7.57")
        client.starttls(context=trusting_context())
        ehlo_lines(client)
        reply = client.mail(USER)
        self.assertReply(reply, 530, "5.7.57")
        self.assertIn(b"Client not authenticated to send mail.", reply[1])

    def test_auth_before_starttls_refused(self):
        # AUTH is offered only after STARTTLS; before it, it is refused.
        client = self.connect(starttls=False)
        code, _ = client.docmd("AUTH", "XOAUTH2 " + xoauth2(USER, "good"))
        self.assertEqual(code, 504)
        self.assertEqual(self.fake.counters()["auth_successes"], 0)

    def test_xoauth2_microsoft_vector(self):
        # Microsoft's documented vector encodes as documented, and the
        # two-step form (AUTH XOAUTH2, 334, token line) authenticates.
        self.assertEqual(xoauth2(MS_VECTOR_USER, MS_VECTOR_TOKEN),
                         MS_VECTOR_B64)
        self.fake.add_token(MS_VECTOR_TOKEN, MS_VECTOR_USER)
        client = self.connect()
        self.assertEqual(client.docmd("AUTH", "XOAUTH2"), (334, b""))
        self.assertReply(client.docmd(MS_VECTOR_B64), 235, "2.7.0")
        self.assertReply(client.mail(MS_VECTOR_USER), 250, "2.1.0")

    def test_xoauth2_expired_token_is_535(self):
        # An expired token gets 535 5.7.3 with the server tag.
        self.fake.add_token(MS_VECTOR_TOKEN, MS_VECTOR_USER, expires_in=-1)
        client = self.connect()
        client.docmd("AUTH", "XOAUTH2")
        code, text = client.docmd(MS_VECTOR_B64)
        self.assertEqual(code, 535)
        self.assertRegex(text.decode(),
                         r"^5\.7\.3 Authentication unsuccessful \[\S+\]$")
        self.assertEqual(self.fake.counters()["auth_failures"], 1)

    def test_xoauth2_inline_and_redacted(self):
        # The inline form works too; the transcript never holds the token.
        client = self.connect()
        self.assertReply(client.docmd("AUTH", "XOAUTH2 " + xoauth2(
            USER, "good-token")), 235, "2.7.0")
        text = "\n".join(self.fake.transcript_lines())
        self.assertIn("C: AUTH XOAUTH2 ********", text)
        self.assertNotIn(xoauth2(USER, "good-token"), text)

    def test_xoauth2_token_of_other_user_refused(self):
        # A valid token for another principal does not open this mailbox.
        self.fake.add_token("other", "boss@contoso.com")
        client = self.connect()
        with self.assertRaises(smtplib.SMTPAuthenticationError) as cm:
            self.login_oauth(client, token="other")
        self.assertEqual(cm.exception.smtp_code, 535)

    def test_login_prompts(self):
        # AUTH LOGIN prompts with VXNlcm5hbWU6 / UGFzc3dvcmQ6 and succeeds;
        # the credentials never reach the transcript.
        client = self.connect()
        self.assertEqual(client.docmd("AUTH", "LOGIN"),
                         (334, b"VXNlcm5hbWU6"))
        self.assertEqual(client.docmd(base64.b64encode(USER.encode())
                                      .decode()), (334, b"UGFzc3dvcmQ6"))
        self.assertReply(client.docmd(base64.b64encode(b"secret").decode()),
                         235, "2.7.0")
        text = "\n".join(self.fake.transcript_lines())
        self.assertNotIn("secret", text)
        self.assertNotIn(base64.b64encode(b"secret").decode(), text)
        self.assertNotIn(base64.b64encode(USER.encode()).decode(), text)

    def test_smtplib_login(self):
        # smtplib's login() picks LOGIN (PLAIN is not offered), sending the
        # user name inline, and succeeds.
        client = self.connect()
        self.assertReply(client.login(USER, "secret"), 235, "2.7.0")
        self.assertIn("C: AUTH LOGIN ********", self.fake.transcript_lines())

    def test_auth_failures_table(self):
        # Each tenant/mailbox switch yields its documented reply (1.4, 4).
        cases = [
            # (options, user entry, mechanism, code, enhanced, text)
            ({}, {"password": "secret"}, "LOGIN-bad", 535, "5.7.3",
             "Authentication unsuccessful"),
            ({"basic_auth": "retired"}, {"password": "secret"}, "LOGIN",
             550, "5.7.30", "Basic authentication is not supported"),
            ({"basic_auth": "disabled"}, {"password": "secret"}, "LOGIN",
             535, "5.7.139", "basic authentication is disabled"),
            ({}, {"password": "secret", "ca_blocked": True}, "LOGIN",
             535, "5.7.139", "did not meet the criteria"),
            ({"smtp_auth_disabled_tenant": True}, {"password": "secret"},
             "XOAUTH2", 535, "5.7.139", "disabled for the Tenant"),
            ({}, {"password": "secret", "smtp_auth_disabled": True},
             "XOAUTH2", 535, "5.7.139", "disabled for the Mailbox"),
            ({"smtp_auth_disabled_tenant": True},
             {"password": "secret", "smtp_auth_disabled": False},
             "XOAUTH2", 235, "2.7.0", "Authentication successful"),
        ]
        for options, entry, mech, code, enhanced, text in cases:
            with self.subTest(options=options, entry=entry, mech=mech):
                saved = {k: getattr(self.fake, k) for k in options}
                self.fake.configure(**options)
                self.fake.users[USER] = entry
                client = self.connect()
                if mech.startswith("LOGIN"):
                    client.docmd("AUTH", "LOGIN")
                    client.docmd(base64.b64encode(USER.encode()).decode())
                    password = "wrong" if mech == "LOGIN-bad" else "secret"
                    reply = client.docmd(
                        base64.b64encode(password.encode()).decode())
                    if code == 550:     # refused at the AUTH LOGIN command
                        client.close()
                        client = self.connect()
                        reply = client.docmd("AUTH", "LOGIN")
                else:
                    reply = client.docmd("AUTH", "XOAUTH2 " + xoauth2(
                        USER, "good-token"))
                self.assertReply(reply, code, enhanced)
                self.assertIn(text, reply[1].decode())
                client.close()
                self.fake.configure(**saved)

    def test_fourth_connection_gets_432(self):
        # Three authenticated connections per mailbox; the 4th gets 432 4.3.2
        # at AUTH, and a slot frees up when one of the three quits.
        clients = [self.connect() for _ in range(4)]
        for c in clients[:3]:
            self.assertReply(self.login_oauth(c), 235, "2.7.0")
        code, text = clients[3].docmd("AUTH", "XOAUTH2 " + xoauth2(
            USER, "good-token"))
        self.assertEqual(code, 432)
        self.assertIn(b"4.3.2 STOREDRV.ClientSubmit; sender thread limit "
                      b"exceeded", text)
        counters = self.fake.counters()
        self.assertEqual(counters["max_concurrent"][USER], 4)
        self.assertEqual(counters["thread_limit_refusals"], 1)
        clients[0].quit()
        self.fake.wait_until(
            lambda f: f.counters()["active"].get(USER) == 2)
        self.assertReply(self.login_oauth(clients[3]), 235, "2.7.0")

    def test_send_as_denied_at_mail(self):
        # MAIL FROM another address without Send As: 550 5.7.60; with the
        # Send As grant it is accepted.
        client = self.connect()
        self.login_oauth(client)
        reply = client.mail("boss@contoso.com")
        self.assertReply(reply, 550, "5.7.60")
        self.assertIn(b"Client does not have permissions to send as this "
                      b"sender", reply[1])
        self.fake.users[USER]["send_as"] = ["boss@contoso.com"]
        self.assertReply(client.mail("boss@contoso.com"), 250, "2.1.0")

    def test_send_as_denied_after_data(self):
        # send_as_check="data": the refusal is 554 5.2.252 after DATA.
        self.fake.send_as_check = "data"
        client = self.connect()
        self.login_oauth(client)
        with self.assertRaises(smtplib.SMTPDataError) as cm:
            client.sendmail("boss@contoso.com", ["a@example.net"], MESSAGE)
        self.assertEqual(cm.exception.smtp_code, 554)
        self.assertTrue(cm.exception.smtp_error.startswith(
            b"5.2.252 SendAsDenied;"))
        self.assertEqual(self.fake.messages, [])

    def test_accepted_message_reply_and_record(self):
        # An accepted message gets 250 2.0.0 OK <msgid> [Hostname=...] and is
        # recorded with its envelope, user, TLS version and connection id.
        client = self.connect()
        self.login_oauth(client)
        client.mail(USER, ["BODY=8BITMIME"])
        client.rcpt("a@example.net", ["NOTIFY=FAILURE,DELAY",
                                      "ORCPT=rfc822;a@example.net"])
        code, text = client.data(MESSAGE + b".leading dot\r\n")
        self.assertEqual(code, 250)
        self.assertRegex(text.decode(), r"^2\.0\.0 OK <m1@device\.contoso\."
                         r"com> \[Hostname=\S+\.PROD\.OUTLOOK\.COM\]$")
        (m,) = self.fake.messages
        self.assertEqual(m.mail_from, USER)
        self.assertEqual(m.rcpt_tos, ["a@example.net"])
        self.assertEqual(m.data, MESSAGE + b".leading dot\r\n")
        self.assertEqual(m.auth_user, USER)
        self.assertIn(m.tls_version, ("TLSv1.2", "TLSv1.3"))
        self.assertEqual(m.mail_options, {"BODY": "8BITMIME"})
        self.assertEqual(m.rcpt_options["a@example.net"]["NOTIFY"],
                         "FAILURE,DELAY")
        self.assertRegex(m.conn_id, r"^[0-9A-F]{16}$")

    def test_rate_limit_delays_and_counts(self):
        # Over rate_limit messages per window the 250 comes late (carried
        # over, capped here at 0.3 s) and rate_violations counts it; within
        # the limit it stays 0.
        self.fake.configure(rate_limit=2, rate_window=60.0,
                            rate_delay_cap=0.3)
        client = self.connect()
        self.login_oauth(client)
        for _ in range(2):
            client.sendmail(USER, ["a@example.net"], MESSAGE)
        self.assertEqual(self.fake.counters()["rate_violations"], 0)
        start = time.monotonic()
        client.sendmail(USER, ["a@example.net"], MESSAGE)
        self.assertGreaterEqual(time.monotonic() - start, 0.29)
        counters = self.fake.counters()
        self.assertEqual(counters["rate_violations"], 1)
        self.assertEqual(counters["rate_violations_by_mailbox"], {USER: 1})
        self.assertEqual(len(self.fake.messages), 3)

    def test_recipient_quota(self):
        # Past the daily recipient quota: 554 5.2.0 ...QuotaExceeded.
        self.fake.recipient_quota = 3
        client = self.connect()
        self.login_oauth(client)
        client.sendmail(USER, ["a@example.net", "b@example.net"], MESSAGE)
        with self.assertRaises(smtplib.SMTPDataError) as cm:
            client.sendmail(USER, ["c@example.net", "d@example.net"],
                            MESSAGE)
        self.assertEqual(cm.exception.smtp_code, 554)
        self.assertTrue(cm.exception.smtp_error.startswith(
            b"5.2.0 STOREDRV.Submission.Exception:"
            b"SubmissionQuotaExceededException"))
        client.sendmail(USER, ["c@example.net"], MESSAGE)

    def test_size_limits(self):
        # SIZE= above the mailbox limit is refused at MAIL, an oversized
        # body after DATA, both 552 5.3.4.
        self.fake.max_message_size = 1000
        client = self.connect()
        self.login_oauth(client)
        self.assertReply(client.mail(USER, ["SIZE=2000"]), 552, "5.3.4")
        client.rset()
        client.mail(USER)
        client.rcpt("a@example.net")
        self.assertReply(client.data(MESSAGE + b"x" * 2000 + b"\r\n"),
                         552, "5.3.4")
        self.assertEqual(self.fake.messages, [])

    def test_tls11_client_refused(self):
        # A client limited to TLS 1.0/1.1 cannot complete STARTTLS.
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            ctx.minimum_version = ssl.TLSVersion.TLSv1
            ctx.maximum_version = ssl.TLSVersion.TLSv1_1
        ctx.set_ciphers("DEFAULT:@SECLEVEL=0")
        client = self.connect(starttls=False)
        with self.assertRaises(ssl.SSLError):
            client.starttls(context=ctx)
        self.fake.wait_until(
            lambda f: f.counters()["tls_handshake_failures"] == 1)

    def test_scripted_recipient_replies(self):
        # rcpt_replies: a fixed reply, and a list played per attempt, then
        # normal handling once the list is used up.
        self.fake.rcpt_replies = {
            "bad@example.net": "550 5.1.1 User unknown",
            "later@example.net": ["451 4.7.0 Temporary server error. "
                                  "Please try again later. PRX4", None],
        }
        client = self.connect()
        self.login_oauth(client)
        client.mail(USER)
        self.assertReply(client.rcpt("bad@example.net"), 550, "5.1.1")
        self.assertReply(client.rcpt("later@example.net"), 451, "4.7.0")
        self.assertReply(client.rcpt("later@example.net"), 250, "2.1.5")
        self.assertReply(client.rcpt("later@example.net"), 250, "2.1.5")
        attempts = self.fake.counters()["rcpt_attempts"]
        self.assertEqual(attempts, {"bad@example.net": 1,
                                    "later@example.net": 3})


class FaultTest(FakeCase):
    personality = "mx-direct-send"

    def test_untrusted_certificate_detected(self):
        # With the rogue-CA fault a verifying client refuses the server;
        # without it the same client verifies fine.
        self.fake.fault_untrusted_cert = True
        client = self.connect(starttls=False)
        with self.assertRaises(ssl.SSLCertVerificationError):
            client.starttls(context=trusting_context())
        self.fake.fault_untrusted_cert = False
        self.connect()

    def test_drop_mid_data(self):
        # The connection is cut after N body bytes; nothing is recorded; the
        # next transfer (fault used up) goes through.
        self.fake.fault_drop_after_bytes = 100
        client = self.connect()
        with self.assertRaises(smtplib.SMTPServerDisconnected):
            client.sendmail("scanner@contoso.com", [USER],
                            MESSAGE + b"x" * 1000 + b"\r\n")
        self.assertEqual(self.fake.counters()["drops"], 1)
        self.assertEqual(self.fake.messages, [])
        client = self.connect()
        client.sendmail("scanner@contoso.com", [USER], MESSAGE)
        self.assertEqual(len(self.fake.messages), 1)

    def test_421_at_connect(self):
        # fault_connect_421 refuses the next connection with 421 4.3.2.
        self.fake.fault_connect_421 = 1
        with self.assertRaises(smtplib.SMTPConnectError) as cm:
            smtplib.SMTP("127.0.0.1", self.fake.port, timeout=10)
        self.assertEqual(cm.exception.smtp_code, 421)
        self.assertTrue(cm.exception.smtp_error.startswith(b"4.3.2 "))
        self.connect().quit()

    def test_slow_replies(self):
        # fault_reply_delay delays every reply.
        client = self.connect(starttls=False)
        self.fake.fault_reply_delay = 0.2
        start = time.monotonic()
        client.noop()
        self.assertGreaterEqual(time.monotonic() - start, 0.19)

    def test_bdat(self):
        # CHUNKING is advertised, so BDAT works (RFC 3030).
        sock = socket.create_connection(("127.0.0.1", self.fake.port), 10)
        f = sock.makefile("rb")

        def reply():
            lines = [f.readline()]
            while lines[-1][3:4] == b"-":
                lines.append(f.readline())
            return lines[-1]
        reply()
        sock.sendall(b"EHLO x\r\n")
        reply()
        sock.sendall(b"MAIL FROM:<s@contoso.com> BODY=BINARYMIME\r\n"
                     b"RCPT TO:<user@contoso.com>\r\n")
        self.assertTrue(reply().startswith(b"250 2.1.0"))
        self.assertTrue(reply().startswith(b"250 2.1.5"))
        sock.sendall(b"BDAT 10\r\n" + MESSAGE[:10])
        self.assertTrue(reply().startswith(b"250 "))
        rest = MESSAGE[10:]
        sock.sendall(b"BDAT %d LAST\r\n" % len(rest) + rest)
        self.assertTrue(reply().startswith(b"250 2.6.0 "))
        sock.sendall(b"QUIT\r\n")
        reply()
        sock.close()
        (m,) = self.fake.messages
        self.assertEqual((m.data, m.transfer), (MESSAGE, "BDAT"))


class DirectSendTest(FakeCase):
    personality = "mx-direct-send"
    options = {"accepted_domains": ["contoso.com"],
               "mailboxes": [USER, "boss@contoso.com"]}

    def test_ehlo_no_auth(self):
        # MX: STARTTLS offered, no AUTH before or after TLS.
        client = smtplib.SMTP("127.0.0.1", self.fake.port, timeout=10)
        self.clients.append(client)
        self.assertEqual(ehlo_lines(client)[1:], EHLO_PLAIN)
        client.starttls(context=trusting_context())
        self.assertEqual(ehlo_lines(client)[1:], EHLO_MX_TLS)

    def test_accepts_internal_without_tls(self):
        # Direct Send: anonymous, TLS optional, internal recipient accepted
        # with 250 2.6.0 <msgid> [InternalId=..., Hostname=...] Queued...
        client = self.connect(starttls=False)
        client.mail("scanner@contoso.com")
        client.rcpt(USER)
        code, text = client.data(MESSAGE)
        self.assertEqual(code, 250)
        self.assertRegex(text.decode(), r"^2\.6\.0 <m1@device\.contoso\.com>"
                         r" \[InternalId=\d+, Hostname=\S+\.prod\.outlook\."
                         r"com\] Queued mail for delivery$")
        (m,) = self.fake.messages
        self.assertIsNone(m.tls_version)
        self.assertIsNone(m.auth_user)

    def test_external_recipient_554(self):
        # A recipient outside the accepted domains: 550 5.7.54.
        client = self.connect()
        client.mail("scanner@contoso.com")
        reply = client.rcpt("someone@example.net")
        self.assertReply(reply, 550, "5.7.54")
        self.assertIn(b"Unable to relay recipient in non-accepted domain",
                      reply[1])

    def test_unknown_mailbox_541(self):
        # An accepted domain but no such mailbox: 550 5.4.1.
        client = self.connect()
        client.mail("scanner@contoso.com")
        reply = client.rcpt("nobody@contoso.com")
        self.assertReply(reply, 550, "5.4.1")
        self.assertIn(b"[nobody@contoso.com]: Recipient address rejected: "
                      b"Access denied", reply[1])

    def test_reject_direct_send(self):
        # RejectDirectSend: an accepted-domain sender gets 550 5.7.68; a
        # foreign sender is ordinary inbound mail and still accepted.
        self.fake.reject_direct_send = True
        client = self.connect()
        client.mail("scanner@contoso.com")
        reply = client.rcpt(USER)
        self.assertReply(reply, 550, "5.7.68")
        self.assertIn(b"TenantInboundAttribution; Direct Send not allowed",
                      reply[1])
        client.rset()
        client.mail("news@example.net")
        self.assertReply(client.rcpt(USER), 250, "2.1.5")

    def test_greylist_then_accept(self):
        # Greylisting: the first try of (sender, IP) gets 451 4.7.500, the
        # retry is accepted.
        self.fake.greylist = True
        client = self.connect()
        with self.assertRaises(smtplib.SMTPSenderRefused) as cm:
            client.sendmail("scanner@contoso.com", [USER], MESSAGE)
        self.assertEqual(cm.exception.smtp_code, 451)
        self.assertTrue(cm.exception.smtp_error.startswith(
            b"4.7.500 Server busy. Please try again later from "
            b"[127.0.0.1]. (AS77712344)"))
        client.rset()
        client.sendmail("scanner@contoso.com", [USER], MESSAGE)
        self.assertEqual(len(self.fake.messages), 1)
        self.assertEqual(self.fake.counters()["greylisted"], 1)

    def test_201st_recipient_of_one_domain(self):
        # At most 200 recipients of one domain per transaction: the 201st
        # and later get 452 4.5.3; another domain is counted apart.
        self.fake.mailboxes = []
        self.fake.accepted_domains = ["contoso.com", "fabrikam.com"]
        client = self.connect(starttls=False)
        client.mail("scanner@contoso.com")
        for i in range(200):
            self.assertEqual(client.rcpt(f"u{i}@contoso.com")[0], 250)
        self.assertReply(client.rcpt("u200@contoso.com"), 452, "4.5.3")
        self.assertReply(client.rcpt("u201@contoso.com"), 452, "4.5.3")
        self.assertReply(client.rcpt("u0@fabrikam.com"), 250, "2.1.5")
        self.assertEqual(client.data(MESSAGE)[0], 250)
        self.assertEqual(len(self.fake.messages[0].rcpt_tos), 201)


class ConnectorTest(FakeCase):
    personality = "mx-connector"
    options = {"accepted_domains": ["contoso.com"],
               "connector_cert_domains": ["*.contoso.com"]}

    def cert_context(self, which="relay", chain=True):
        ctx = trusting_context()
        if chain:
            ctx.load_cert_chain(PKI.client_pem(which))
        else:
            ctx.load_cert_chain(PKI.client_cert(which), PKI.client_key(which))
        return ctx

    def test_relay_by_client_certificate(self):
        # A client certificate for relay.contoso.com matches the connector:
        # relay to an external recipient is allowed, even from a foreign
        # MAIL FROM domain (the cert domain is accepted).
        client = self.connect(context=self.cert_context())
        client.sendmail("bounces@example.org", ["someone@example.net"],
                        MESSAGE)
        (m,) = self.fake.messages
        self.assertEqual(m.client_cert_name, "relay.contoso.com")
        self.assertEqual(m.rcpt_tos, ["someone@example.net"])

    def test_no_certificate_564(self):
        # Without a certificate (and no IP match): 550 5.7.64 for external
        # recipients; internal mail is still plain inbound mail.
        client = self.connect()
        client.mail("scanner@contoso.com")
        reply = client.rcpt("someone@example.net")
        self.assertReply(reply, 550, "5.7.64")
        self.assertIn(b"TenantAttribution; Relay Access Denied", reply[1])
        self.assertReply(client.rcpt(USER), 250, "2.1.5")

    def test_certificate_of_unaccepted_domain(self):
        # relay.fabrikam.com matches no connector: 550 5.7.64.
        self.fake.connector_cert_domains = ["*.contoso.com"]
        client = self.connect(context=self.cert_context("other"))
        client.mail("scanner@contoso.com")
        self.assertReply(client.rcpt("someone@example.net"), 550, "5.7.64")

    def test_certificate_match_needs_accepted_domain(self):
        # Since 2023-11: a connector matching the cert relay.fabrikam.com
        # (not an accepted domain) relays only if MAIL FROM is accepted.
        self.fake.connector_cert_domains = ["relay.fabrikam.com"]
        client = self.connect(context=self.cert_context("other"))
        client.mail("bounces@example.org")
        self.assertReply(client.rcpt("someone@example.net"), 550, "5.7.64")
        client.rset()
        client.mail("scanner@contoso.com")
        self.assertReply(client.rcpt("someone@example.net"), 250, "2.1.5")

    def test_certificate_without_intermediate_fails_tls(self):
        # A client that omits the intermediate cannot be verified.
        client = self.connect(starttls=False)
        try:
            client.starttls(context=self.cert_context(chain=False))
            ehlo_lines(client)
            self.fail("TLS with an unverifiable client cert succeeded")
        except (ssl.SSLError, smtplib.SMTPServerDisconnected,
                ConnectionError):
            pass
        self.fake.wait_until(
            lambda f: f.counters()["tls_handshake_failures"] == 1)

    def test_relay_by_ip(self):
        # By sender IP: the MAIL FROM domain must be accepted.
        self.fake.connector_ips = ["127.0.0.0/24"]
        client = self.connect()
        client.mail("scanner@contoso.com")
        self.assertReply(client.rcpt("someone@example.net"), 250, "2.1.5")
        client.rset()
        client.mail("bounces@example.org")
        self.assertReply(client.rcpt("someone@example.net"), 550, "5.7.64")


class CommandLineTest(unittest.TestCase):
    def test_run_by_hand(self):
        # The script runs standalone with a JSON config, prints its port,
        # and writes its state on SIGTERM.
        tmpdir = tempfile.TemporaryDirectory(
            prefix="fake-m365-cli-",
            dir=os.environ.get("MB_TEST_TMPDIR", "/var/tmp"))
        self.addCleanup(tmpdir.cleanup)
        tmp = tmpdir.name
        config = os.path.join(tmp, "config.json")
        state = os.path.join(tmp, "state.json")
        with open(config, "w") as f:
            json.dump({"tokens": {"t": {"user": USER, "expires_in": 600}},
                       "users": {USER: {"send_as": ["boss@contoso.com"]}}},
                      f)
        proc = subprocess.Popen(
            [sys.executable, os.path.join(FAKES, "fake_m365.py"),
             "--personality", "submission", "--port", "0", "--config",
             config, "--pki-dir", PKI.directory, "--state-file", state],
            stdout=subprocess.PIPE, text=True)
        try:
            line = proc.stdout.readline()
            port = int(re.search(r":(\d+) ", line).group(1))
            client = smtplib.SMTP("127.0.0.1", port, timeout=10)
            client.starttls(context=trusting_context())
            client.ehlo()
            client.docmd("AUTH", "XOAUTH2 " + xoauth2(USER, "t"))
            client.sendmail("boss@contoso.com", ["a@example.net"], MESSAGE)
            client.quit()
        finally:
            proc.send_signal(signal.SIGTERM)
            self.assertEqual(proc.wait(10), 0)
            proc.stdout.close()
        with open(state) as f:
            data = json.load(f)
        self.assertEqual(data["counters"]["messages"], 1)
        self.assertEqual(data["messages"][0]["auth_user"], USER)
        self.assertEqual(data["errors"], [])


if __name__ == "__main__":
    unittest.main()
