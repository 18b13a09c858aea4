"""mailbridged delivers its queue to the fake Microsoft 365 (issue 4).

Python's smtplib sends to the real mailbridged, which forwards to
tests/fakes/fake_m365.py over STARTTLS verified against the test CA (the
route's `trust`).  Proved here:
  (a) one end-to-end delivery per method (submission with AUTH LOGIN from
      the secrets file, submission with a static XOAUTH2 token, Direct
      Send, the connector with a client certificate, HVE): the right
      envelope, our Received: field, the sender policy applied;
  (b) five recipients, one refused (5xx) and one deferred (4xx): each
      delivered exactly once, the deferred one on a later attempt, the
      refused one bounced (multipart/report with message/delivery-status,
      the reply and its hint) to the sender with a copy to the admin;
  (c) an upstream certificate the trust does not cover: nothing is sent,
      the message stays queued, the log says why;
  (d) 200 messages against the fake's limits (3 connections, 30 per 2 s):
      no 432, no rate violation;
  (e) repeated 535 5.7.3 pauses the route after a bounded number of
      attempts, with a log line and the hint;
  (f) a recipient deferred past delay-notice-after gets one delay notice
      to the sender, and past expire-after fails with a failure report;
  (g) without any [route] a message stays queued, with one log line;
and beyond the list: an encrypted client key opened with the secrets
file's passphrase (and a wrong one pausing the route), per-recipient state
surviving SIGKILL (no recipient sent twice), 450 recipients split 200 +
200 + 50 for the MX endpoint, the delivery log's records.  Every test
ends with a clean SIGTERM exit and no warning in the daemon's log.
Every wait is on a condition (the fake's state, the log, the spool).
"""
import email
import email.policy
import os
import re
import smtplib
import sqlite3
import subprocess
import sys
import time
import unittest

import mbtest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), 'fakes'))

import fake_m365  # noqa: E402
import testpki  # noqa: E402

PKI = testpki.ensure(testpki.default_dir())

MAILBOX = 'scanner-box@contoso.com'
DEVICE = 'scanner@contoso.com'
ADMIN = 'admin@contoso.com'
PASSWORD = 'correct horse battery staple'
TOKEN = 'EwBAAl3BAAUFFpUAo7J3Ve0bjLBWZWCclRC3EoAA-test'
CLIENT_ID = '9e5f94bc-e8a4-4e73-b8be-63364c29d753'
WAIT = 30 * mbtest.SCALE


def message(subject, to='someone@example.net', sender=DEVICE, extra=''):
    return ('From: Office Scanner <%s>\r\n'
            'To: <%s>\r\n'
            'Subject: %s\r\n'
            '%s'
            '\r\n'
            'Scanned document.\r\n' % (sender, to, subject, extra)
            ).encode('ascii')


class DeliveryTestCase(mbtest.RelayTestCase):
    """A fake upstream of `personality` and a relay routed to it."""

    start_relay = False
    personality = 'submission'
    route = {}
    secrets = {}
    relay_extra = {}

    def setUp(self):
        super().setUp()
        self.fake = fake_m365.FakeM365(self.personality, pki=PKI)
        self.configure_fake(self.fake)
        self.fake.start()
        self.addCleanup(self.fake.stop)

        route = {'host': 'localhost', 'port': self.fake.port,
                 'trust': PKI.ca_cert}
        route.update(self.route)
        route.update(self.route_extra())
        keys = {'route': 'm365', 'retry-schedule': '1s',
                'admin-address': ADMIN}
        keys.update(self.relay_extra)
        if self.secrets:
            path = os.path.join(self.workdir, 'secrets')
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, 'w') as f:
                f.write(mbtest.format_config(
                    {'route m365': dict(self.secrets)}))
            keys['secrets'] = path
        self.relay = mbtest.Relay(self.workdir, keys,
                                  {'route m365': route})
        self.addCleanup(self.relay.close)
        self.relay.start()

    def configure_fake(self, fake):
        pass

    def route_extra(self):
        """Route keys computed once the test's directory exists."""
        return {}

    def tearDown(self):
        # A clean exit (sanitizer builds report leaks only then), and the
        # run itself must be clean.
        if self.relay.running:
            self.relay.stop_cleanly()
        problems = [line for line in self.relay.log_lines()
                    if mbtest.PROBLEM.search(line)]
        self.assertEqual(problems, [], 'warnings or criticals logged')
        self.assertEqual(self.fake.errors, [])
        super().tearDown()

    def diagnostics(self):
        text = super().diagnostics() or ''
        fake = getattr(self, 'fake', None)
        if fake is not None:
            text += '\n--- fake transcript (last 30) ---\n'
            text += '\n'.join(fake.transcript_lines()[-30:])
            text += '\n--- fake counters ---\n%r' % fake.counters()
            if fake.errors:
                text += '\n--- fake errors ---\n' + '\n'.join(fake.errors)
        return text

    def send(self, sender, recipients, data):
        with smtplib.SMTP(self.relay.host, self.relay.port,
                          timeout=mbtest.REPLY_TIMEOUT) as client:
            refused = client.sendmail(sender, recipients, data)
        self.assertEqual(refused, {})

    def wait_removed(self, n, timeout=WAIT):
        """Blocks until the relay logged @n removals from its queue, then
        checks that the queue is empty."""
        regex = re.compile(r'queue-id=\S+ removed ')
        collector = self.relay.collector
        deadline = time.monotonic() + timeout
        with collector.cond:
            while sum(1 for line in collector.lines
                      if regex.search(line)) < n:
                remaining = deadline - time.monotonic()
                if remaining <= 0 or collector.eof:
                    raise AssertionError('fewer than %d messages left the '
                                         'queue' % n)
                collector.cond.wait(remaining)
        self.assertEqual(self.relay.queue_ids(), [])

    def assertReceivedByUs(self, data):
        fields = [mbtest.unfold(raw) for name, raw
                  in mbtest.header_fields(data) if name.lower() == 'received']
        self.assertTrue(fields, 'no Received: field')
        self.assertIn('by ' + mbtest.HOSTNAME, fields[0])


# (a) one end-to-end test per method


class SubmissionBasicTest(DeliveryTestCase):
    route = {'method': 'submission', 'auth': 'basic', 'mailbox': MAILBOX}
    secrets = {'password': PASSWORD}

    def configure_fake(self, fake):
        fake.users[MAILBOX] = {'password': PASSWORD}

    def test_delivered_with_sender_policy(self):
        """AUTH LOGIN with the secrets file's password; the device's
        sender is not the mailbox, so MAIL FROM and From: become the
        mailbox, the device's From: goes to Reply-To."""
        self.send(DEVICE, ['someone@example.net'], message('basic'))
        [msg] = self.fake.wait_for_messages(1, timeout=WAIT)
        self.assertEqual(msg.auth_user.lower(), MAILBOX)
        self.assertEqual(msg.mail_from, MAILBOX)
        self.assertEqual(msg.rcpt_tos, ['someone@example.net'])
        self.assertEqual(msg.tls_version[:5], 'TLSv1')
        self.assertReceivedByUs(msg.data)
        parsed = email.message_from_bytes(msg.data,
                                          policy=email.policy.default)
        self.assertIn(MAILBOX, str(parsed['From']))
        self.assertIn(DEVICE, str(parsed['Reply-To']))
        self.assertIn(DEVICE, str(parsed['X-Mailbridge-Original-From']))
        self.assertIn(b'Scanned document.', msg.data)
        self.wait_removed(1)
        self.relay.wait_for_log(r'queue-id=\S+ to=<someone@example\.net> '
                                r'route=m365 status=delivered')
        self.assertEqual(self.fake.errors, [])


class SubmissionOAuthTest(DeliveryTestCase):
    route = {'method': 'submission', 'auth': 'oauth-device',
             'client-id': CLIENT_ID, 'mailbox': MAILBOX}
    secrets = {'access-token': TOKEN}

    def configure_fake(self, fake):
        fake.users[MAILBOX] = {}
        fake.add_token(TOKEN, MAILBOX, expires_in=3600)

    def test_delivered_with_xoauth2(self):
        """A static access-token from the secrets file signs in with
        XOAUTH2; the mailbox itself as sender is kept."""
        self.send(MAILBOX, ['a@example.net', 'b@example.org'],
                  message('oauth', sender=MAILBOX))
        [msg] = self.fake.wait_for_messages(1, timeout=WAIT)
        self.assertEqual(msg.auth_user.lower(), MAILBOX)
        self.assertEqual(msg.mail_from, MAILBOX)
        self.assertEqual(msg.rcpt_tos, ['a@example.net', 'b@example.org'])
        self.assertReceivedByUs(msg.data)
        self.assertIn('AUTH XOAUTH2', '\n'.join(
            self.fake.transcript_lines()))
        self.wait_removed(1)


class DirectSendTest(DeliveryTestCase):
    personality = 'mx-direct-send'
    route = {'method': 'direct-send', 'domain': 'contoso.com'}

    def test_delivered_keeping_sender(self):
        """Anonymous to the MX endpoint over STARTTLS; the device's
        accepted-domain sender is kept."""
        self.send(DEVICE, ['user@contoso.com'],
                  message('direct', to='user@contoso.com'))
        [msg] = self.fake.wait_for_messages(1, timeout=WAIT)
        self.assertIsNone(msg.auth_user)
        self.assertEqual(msg.mail_from, DEVICE)
        self.assertEqual(msg.rcpt_tos, ['user@contoso.com'])
        self.assertIsNotNone(msg.tls_version)
        self.assertReceivedByUs(msg.data)
        parsed = email.message_from_bytes(msg.data,
                                          policy=email.policy.default)
        self.assertIn(DEVICE, str(parsed['From']))
        self.assertIsNone(parsed['X-Mailbridge-Original-From'])
        self.wait_removed(1)


class ConnectorTest(DeliveryTestCase):
    personality = 'mx-connector'
    route = {'method': 'connector', 'domain': 'contoso.com',
             'client-certificate': PKI.client_pem('relay')}

    def test_delivered_with_client_certificate(self):
        """The client certificate (relay.contoso.com, with its chain)
        attributes the connection, so mail to the outside is relayed."""
        self.send('printer@fabrikam.example', ['someone@example.net'],
                  message('connector', sender='printer@fabrikam.example'))
        [msg] = self.fake.wait_for_messages(1, timeout=WAIT)
        self.assertEqual(msg.client_cert_name, 'relay.contoso.com')
        self.assertEqual(msg.mail_from, 'printer@fabrikam.example')
        self.assertEqual(msg.rcpt_tos, ['someone@example.net'])
        self.assertReceivedByUs(msg.data)
        self.wait_removed(1)


class EncryptedKeyTestCase(DeliveryTestCase):
    personality = 'mx-connector'
    route = {'method': 'connector', 'domain': 'contoso.com'}

    def route_extra(self):
        # The client key encrypted (PKCS#8), its passphrase in the secrets
        # file, the chain in a file of its own.
        key = os.path.join(self.workdir, 'client-encrypted.key')
        subprocess.run(['openssl', 'pkcs8', '-topk8', '-v2', 'aes-256-cbc',
                        '-in', PKI.client_key('relay'), '-out', key,
                        '-passout', 'pass:key passphrase'], check=True)
        return {'client-certificate': PKI.client_chain('relay'),
                'client-key': key}


class ConnectorEncryptedKeyTest(EncryptedKeyTestCase):
    secrets = {'client-key-passphrase': 'key passphrase'}

    def test_delivered_with_encrypted_key(self):
        """An encrypted client key is opened with client-key-passphrase
        from the secrets file."""
        self.send(DEVICE, ['someone@example.net'], message('encrypted'))
        [msg] = self.fake.wait_for_messages(1, timeout=WAIT)
        self.assertEqual(msg.client_cert_name, 'relay.contoso.com')
        self.wait_removed(1)


class ConnectorWrongPassphraseTest(EncryptedKeyTestCase):
    secrets = {'client-key-passphrase': 'not the passphrase'}

    def test_route_paused(self):
        """A key that does not open pauses the route, saying why; nothing
        is sent and the message stays queued."""
        self.send(DEVICE, ['someone@example.net'], message('wrong key'))
        line = self.relay.wait_for_log(r'route=m365 paused reason="The '
                                       r'client certificate')
        self.assertIn('client-key-passphrase', line)
        self.relay.wait_for_log(r'queue-id=\S+ client=127\.0\.0\.1 from=')
        self.assertEqual(len(self.relay.queue_ids()), 1)
        self.assertEqual(self.fake.counters()['connections'], 0)


class HveTest(DeliveryTestCase):
    # The fake has no HVE personality; HVE is submission-like (3.4).
    route = {'method': 'hve', 'auth': 'basic', 'mailbox': 'hve@contoso.com'}
    secrets = {'password': PASSWORD}

    def configure_fake(self, fake):
        fake.users['hve@contoso.com'] = {'password': PASSWORD}

    def test_delivered_as_hve_account(self):
        """The HVE account signs in; the sender becomes the account."""
        self.send(DEVICE, ['user@contoso.com'],
                  message('hve', to='user@contoso.com'))
        [msg] = self.fake.wait_for_messages(1, timeout=WAIT)
        self.assertEqual(msg.auth_user.lower(), 'hve@contoso.com')
        self.assertEqual(msg.mail_from, 'hve@contoso.com')
        self.assertReceivedByUs(msg.data)
        self.wait_removed(1)


# (b) per-recipient outcomes, retry and bounce


class RecipientOutcomesTest(DeliveryTestCase):
    route = {'method': 'submission', 'auth': 'basic', 'mailbox': MAILBOX}
    secrets = {'password': PASSWORD}
    recipients = ['one@contoso.com', 'bad@contoso.com', 'two@contoso.com',
                  'later@contoso.com', 'three@contoso.com']

    def configure_fake(self, fake):
        fake.users[MAILBOX] = {'password': PASSWORD}
        fake.rcpt_replies = {
            'bad@contoso.com': '550 5.1.1 User unknown',
            'later@contoso.com': ['451 4.7.500 Server busy. Please try '
                                  'again later', None],
        }

    def test_each_recipient_once_and_bounce(self):
        """Three delivered once, the deferred one once on the retry, the
        refused one bounced to the sender with a copy to the admin."""
        self.send(DEVICE, self.recipients, message('five'))
        self.wait_removed(2)
        messages = self.fake.messages
        originals = [m for m in messages if ADMIN not in m.rcpt_tos]
        bounces = [m for m in messages if ADMIN in m.rcpt_tos]

        self.assertEqual([m.rcpt_tos for m in originals],
                         [['one@contoso.com', 'two@contoso.com',
                           'three@contoso.com'], ['later@contoso.com']])
        attempts = self.fake.counters()['rcpt_attempts']
        for address in ('one@contoso.com', 'two@contoso.com',
                        'three@contoso.com', 'bad@contoso.com'):
            self.assertEqual(attempts[address], 1, address)
        self.assertEqual(attempts['later@contoso.com'], 2)

        self.assertEqual(len(bounces), 1)
        bounce = bounces[0]
        self.assertEqual(sorted(bounce.rcpt_tos), sorted([DEVICE, ADMIN]))
        report = email.message_from_bytes(bounce.data,
                                          policy=email.policy.default)
        self.assertEqual(report.get_content_type(), 'multipart/report')
        self.assertEqual(report.get_param('report-type'), 'delivery-status')
        parts = list(report.iter_parts())
        self.assertEqual(parts[1].get_content_type(),
                         'message/delivery-status')
        status = parts[1].as_string()
        self.assertIn('bad@contoso.com', status)
        self.assertIn('5.1.1', status)
        self.assertIn('Action: failed', status)
        self.assertNotIn('one@contoso.com', status)
        text = ' '.join(parts[0].get_content().split())
        self.assertIn('550 5.1.1 User unknown', text)
        # The hint of smtp.mailbox-unknown (mb-reply-hints).
        self.assertIn("recipient's mailbox does not exist", text)
        self.relay.wait_for_log(r'queue-id=\S+ status=bounced report=\S+ '
                                r'to=<%s> copy=%s' % (re.escape(DEVICE),
                                                      re.escape(ADMIN)))

        # The delivery log has one record per attempt and recipient, and
        # one for the bounce.
        self.relay.stop_cleanly()
        path = os.path.join(self.workdir, 'xdg', 'xdg_state_home',
                            'mailbridge', 'delivery-log.sqlite')
        with sqlite3.connect(path) as db:
            rows = db.execute(
                "SELECT recipient, status, hint FROM delivery "
                "WHERE sender = ? ORDER BY id", (DEVICE,)).fetchall()
        history = {}
        for recipient, status, hint in rows:
            history.setdefault(recipient, []).append((status, hint))
        self.assertEqual(history['one@contoso.com'], [('delivered', None)])
        self.assertEqual(history['bad@contoso.com'],
                         [('failed', 'smtp.mailbox-unknown'),
                          ('bounced', 'smtp.mailbox-unknown')])
        self.assertEqual(history['later@contoso.com'],
                         [('deferred', 'm365.server-busy'),
                          ('delivered', None)])


class RestartTest(DeliveryTestCase):
    """Per-recipient state survives a crash: a restarted relay sends only
    to the recipient still pending."""
    route = {'method': 'submission', 'auth': 'basic', 'mailbox': MAILBOX}
    secrets = {'password': PASSWORD}

    def configure_fake(self, fake):
        fake.users[MAILBOX] = {'password': PASSWORD}
        fake.rcpt_replies = {'later@contoso.com': ['451 4.3.2 Try later',
                                                   None]}

    def test_exactly_once_across_sigkill(self):
        """SIGKILL right after the first attempt was logged (the log line
        follows the envelope's fsync): the restarted relay sends to the
        deferred recipient only."""
        self.send(DEVICE, ['one@contoso.com', 'later@contoso.com'],
                  message('restart'))
        self.relay.wait_for_log(r'to=<later@contoso\.com> route=m365 '
                                r'status=deferred')
        self.relay.kill()
        [queued] = self.relay.read_queue()
        states = {r['address']: r['state']
                  for r in queued.envelope.recipients}
        self.assertEqual(states, {'one@contoso.com': 'delivered',
                                  'later@contoso.com': 'deferred'})
        self.relay.start()
        self.relay.wait_for_log(r'queue loaded queued=1')
        self.wait_removed(1)
        self.assertEqual([m.rcpt_tos for m in self.fake.messages],
                         [['one@contoso.com'], ['later@contoso.com']])
        attempts = self.fake.counters()['rcpt_attempts']
        self.assertEqual(attempts['one@contoso.com'], 1)
        self.assertEqual(attempts['later@contoso.com'], 2)


# Splitting large recipient lists


class SplitTest(DeliveryTestCase):
    personality = 'mx-direct-send'
    route = {'method': 'direct-send', 'domain': 'contoso.com'}
    count = 450

    def test_200_per_domain(self):
        """450 recipients of one domain go as 200 + 200 + 50: the MX
        endpoint's limit (452 4.5.3 above 200) is never hit."""
        recipients = ['u%03d@contoso.com' % i for i in range(self.count)]
        self.send(DEVICE, recipients, message('split', to='all@contoso.com'))
        self.wait_removed(1)
        sizes = [len(m.rcpt_tos) for m in self.fake.messages]
        self.assertEqual(sizes, [200, 200, 50])
        delivered = [r for m in self.fake.messages for r in m.rcpt_tos]
        self.assertEqual(delivered, recipients)
        self.assertFalse([line for line in self.fake.transcript_lines()
                          if line.startswith('S: 452')])


# (c) an untrusted upstream certificate


class UntrustedCertificateTest(DeliveryTestCase):
    route = {'method': 'submission', 'auth': 'basic', 'mailbox': MAILBOX}
    secrets = {'password': PASSWORD}
    relay_extra = {'retry-schedule': '1h'}

    def configure_fake(self, fake):
        fake.users[MAILBOX] = {'password': PASSWORD}
        fake.fault_untrusted_cert = True

    def test_nothing_sent_and_kept(self):
        """The rogue CA's certificate is refused: no AUTH, no message, the
        message stays queued as deferred with the reason in log and
        envelope."""
        self.send(DEVICE, ['someone@example.net'], message('untrusted'))
        line = self.relay.wait_for_log(r'status=deferred .*mb\.tls-untrusted')
        self.assertIn('hint=mb.tls-untrusted', line)
        [queued] = self.relay.read_queue()
        [rcpt] = queued.envelope.recipients
        self.assertEqual(rcpt['state'], 'deferred')
        self.assertIn('mb.tls-untrusted', rcpt['last-reply'])
        counters = self.fake.counters()
        self.assertEqual(counters['messages'], 0)
        self.assertEqual(counters['auth_successes'], 0)
        self.assertEqual(counters['auth_failures'], 0)


# (d) pacing against the fake's limits


class PacingTest(DeliveryTestCase):
    route = {'method': 'submission', 'auth': 'basic', 'mailbox': MAILBOX,
             'rate-limit': '30/2s'}
    secrets = {'password': PASSWORD}
    count = 200

    def configure_fake(self, fake):
        fake.users[MAILBOX] = {'password': PASSWORD}
        fake.rate_window = 2.0

    def test_burst_within_limits(self):
        """200 messages: at most 3 connections, at most 30 per 2 s, so no
        432 and no rate violation, and each message delivered once."""
        with smtplib.SMTP(self.relay.host, self.relay.port,
                          timeout=mbtest.REPLY_TIMEOUT) as client:
            for i in range(self.count):
                client.sendmail(MAILBOX, ['r%d@example.net' % i],
                                message('burst %d' % i, sender=MAILBOX))
        self.fake.wait_for_messages(self.count, timeout=120 * mbtest.SCALE)
        self.wait_removed(self.count)
        counters = self.fake.counters()
        self.assertEqual(counters['thread_limit_refusals'], 0)
        self.assertEqual(counters['rate_violations'], 0)
        self.assertLessEqual(counters['max_concurrent'][MAILBOX], 3)
        self.assertEqual(counters['messages'], self.count)
        self.assertTrue(all(n == 1 for n in
                            counters['rcpt_attempts'].values()))
        self.assertFalse([line for line in self.fake.transcript_lines()
                          if line.startswith('S: 432')])


# (e) repeated 535 pauses the route


class AuthFailurePauseTest(DeliveryTestCase):
    route = {'method': 'submission', 'auth': 'basic', 'mailbox': MAILBOX}
    secrets = {'password': 'wrong password'}

    def configure_fake(self, fake):
        fake.users[MAILBOX] = {'password': PASSWORD}

    def test_route_pauses(self):
        """535 5.7.3 three times in a row pauses the route with the reply
        and the hint; then nothing more is tried and the message stays."""
        self.send(DEVICE, ['someone@example.net'], message('pause'))
        line = self.relay.wait_for_log(r'route=m365 paused reply="535 5\.7\.3')
        self.assertIn('hint="', line)
        failures = self.fake.counters()['auth_failures']
        self.assertEqual(failures, 3)
        with self.assertRaises(TimeoutError):
            self.fake.wait_until(
                lambda f: f.counters()['auth_failures'] > failures,
                timeout=3)
        self.assertEqual(len(self.relay.queue_ids()), 1)
        self.assertEqual(self.fake.counters()['messages'], 0)


# (f) delay notice and expiry


class ExpiryTest(DeliveryTestCase):
    route = {'method': 'submission', 'auth': 'basic', 'mailbox': MAILBOX}
    secrets = {'password': PASSWORD}
    relay_extra = {'delay-notice-after': '1s', 'expire-after': '3s'}

    def configure_fake(self, fake):
        fake.users[MAILBOX] = {'password': PASSWORD}
        fake.rcpt_replies = {'slow@contoso.com': '451 4.7.500 Server busy. '
                                                 'Please try again later'}

    def reports(self, action):
        found = []
        for msg in self.fake.messages:
            parsed = email.message_from_bytes(msg.data,
                                              policy=email.policy.default)
            if parsed.get_content_type() != 'multipart/report':
                continue
            status = list(parsed.iter_parts())[1].as_string()
            if 'Action: %s' % action in status:
                found.append((msg, parsed, status))
        return found

    def test_delay_notice_then_expiry(self):
        """One delay notice (to the sender only), then expiry: the
        recipient fails with an mb.expired reason, the failure report goes
        to the sender and the admin, and the queue is empty."""
        self.send(DEVICE, ['slow@contoso.com', 'ok@contoso.com'],
                  message('expiry'))
        # The original, the delay notice and the failure report.
        self.wait_removed(3)
        [(notice, _, notice_status)] = self.reports('delayed')
        self.assertEqual(notice.rcpt_tos, [DEVICE])
        self.assertIn('slow@contoso.com', notice_status)
        self.assertIn('Will-Retry-Until', notice_status)
        [(failure, parsed, status)] = self.reports('failed')
        self.assertEqual(sorted(failure.rcpt_tos), sorted([DEVICE, ADMIN]))
        self.assertIn('slow@contoso.com', status)
        self.assertIn('mb.expired', status)
        self.assertIn('451 4.7.500', status)
        originals = [m for m in self.fake.messages
                     if 'ok@contoso.com' in m.rcpt_tos]
        self.assertEqual(len(originals), 1)
        self.relay.wait_for_log(r'to=<slow@contoso\.com> status=expired '
                                r'reply="mb\.expired Gave up after 3s')


# (g) no route configured


class NoRouteTest(mbtest.RelayTestCase):
    def test_stays_queued(self):
        """Without a [route] the message is kept, with one log line."""
        for i in range(2):
            with smtplib.SMTP(self.relay.host, self.relay.port,
                              timeout=mbtest.REPLY_TIMEOUT) as client:
                client.sendmail(DEVICE, ['someone@example.net'],
                                message('no route %d' % i))
        self.relay.wait_for_log(r'state=no-route-configured route=none')
        self.assertEqual(len(self.relay.queue_ids()), 2)
        lines = [line for line in self.relay.log_lines()
                 if 'no-route-configured' in line]
        self.assertEqual(len(lines), 1)
        for queued in self.relay.read_queue():
            self.assertEqual(queued.envelope.recipients[0]['state'],
                             'queued')


if __name__ == '__main__':
    unittest.main()
