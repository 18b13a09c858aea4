"""OAuth sign-in and XOAUTH2 delivery end to end (issue 5).

A private session bus (as in test_control.py), the fake Entra ID
(tests/fakes/fake_entra.py), the fake Microsoft 365 submission endpoint
(tests/fakes/fake_m365.py) whose token_validator is the fake Entra's (so
it accepts exactly the unexpired tokens Entra issued), and mailbridged with
a 0600 secrets file.  mailbridgectl runs as a subprocess on that bus.
Proved here:
  1. `mailbridgectl signin` runs the device code flow through
     authorization_pending and slow_down (at the intervals Entra asks) to a
     token, stores the refresh token, tells the relay, and the message that
     waited for the sign-in goes out with XOAUTH2;
  2. the access token expires between two messages: the second goes out
     after an automatic refresh, and the secrets file holds the newest
     (rotated) refresh token;
  3. a refresh answered with invalid_grant (revoked, AADSTS50173): the route
     reports needs-signin with Entra's reason (status --json), the message
     stays queued, and a new sign-in delivers it;
  4. app-only client credentials, with a client secret and with a
     certificate (the fake checks the JWT's RS256 signature), each
     delivering a message; `mailbridgectl signin` checks them.
The keyring backend is exercised by tests/test-credentials-keyring.c under
tests/run-with-keyring.sh; these tests use the secrets file.
Every wait is on a condition with a deadline (the fakes' state, the log,
mailbridgectl's answers).
"""
import configparser
import os
import re
import smtplib
import sys
import unittest

import mbtest
from test_control import Ctl, PrivateBus, wait_until

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), 'fakes'))

import fake_entra  # noqa: E402
import fake_m365  # noqa: E402
import testpki  # noqa: E402

PKI = testpki.ensure(testpki.default_dir())
WAIT = 30 * mbtest.SCALE
MAILBOX = 'scanner-box@contoso.com'
DEVICE_CLIENT = '0d9c3a53-6b7e-4d11-9a55-1f2e0c0e5b01'
APP_CLIENT = '6f1c2d8e-0a4b-4c3d-8e9f-3b2a1c0d4e02'
APP_PRINCIPAL = 'app-sp-6f1c2d8e@contoso.com'
APP_SECRET = 'Xq8~fake.app.secret-' + os.urandom(6).hex()
# Shorter than the relay's refresh margin (5 min): every new connection
# renews its token, so each test sees refreshes without waiting.
TOKEN_LIFETIME = 120


def message(subject, sender=MAILBOX, to='someone@example.net'):
    return ('From: <%s>\r\nTo: <%s>\r\nSubject: %s\r\n\r\nScanned.\r\n'
            % (sender, to, subject)).encode('ascii')


def read_secrets(path):
    parser = configparser.ConfigParser(interpolation=None)
    with open(path, encoding='utf-8') as f:
        parser.read_file(f)
    return {section: dict(parser[section]) for section in parser.sections()}


class OAuthTestCase(mbtest.RelayTestCase):
    """The fakes, a private bus and a relay routed to the fake with OAuth;
    subclasses set `route` and `secrets` and configure the fakes."""

    start_relay = False
    route = {}
    secrets = {}

    def setUp(self):
        super().setUp()
        mbtest.record_secret(APP_SECRET)
        self.bus = PrivateBus(self.workdir)
        self.addCleanup(self.bus.close)
        self.ctl = Ctl(self.bus.address)

        self.entra = fake_entra.FakeEntra(
            pki=PKI, user=MAILBOX, access_token_lifetime=TOKEN_LIFETIME,
            clients={
                DEVICE_CLIENT: {'public': True},
                APP_CLIENT: {'secret': APP_SECRET, 'certificate': 'app',
                             'principal': APP_PRINCIPAL},
            },
            device_scripts={DEVICE_CLIENT: [
                'authorization_pending', 'slow_down',
                'authorization_pending', 'ok']},
            interval=0)
        self.entra.start()
        self.addCleanup(self.entra.stop)

        self.fake = fake_m365.FakeM365('submission', pki=PKI)
        self.fake.users[MAILBOX] = {'full_access': [APP_PRINCIPAL]}
        self.fake.token_validator = self.entra.token_validator()
        self.fake.start()
        self.addCleanup(self.fake.stop)

        self.secrets_path = os.path.join(self.workdir, 'secrets')
        fd = os.open(self.secrets_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL,
                     0o600)
        with os.fdopen(fd, 'w') as f:
            f.write(mbtest.format_config({'route m365': dict(self.secrets)})
                    if self.secrets else '# secrets of the routes\n')

        route = {'method': 'submission', 'host': 'localhost',
                 'port': self.fake.port, 'trust': PKI.ca_cert,
                 'mailbox': MAILBOX, 'authority': self.entra.authority,
                 'tenant': 'contoso.onmicrosoft.com'}
        route.update(self.route_keys())
        self.relay = mbtest.Relay(
            self.workdir,
            {'route': 'm365', 'retry-schedule': '1h',
             'secrets': self.secrets_path},
            {'route m365': route})
        self.addCleanup(self.relay.close)
        old = os.environ.get('DBUS_SESSION_BUS_ADDRESS')
        os.environ['DBUS_SESSION_BUS_ADDRESS'] = self.bus.address
        try:
            self.relay.start(extra_args=['--bus=session'])
        finally:
            if old is None:
                del os.environ['DBUS_SESSION_BUS_ADDRESS']
            else:
                os.environ['DBUS_SESSION_BUS_ADDRESS'] = old

    def route_keys(self):
        return dict(self.route)

    def tearDown(self):
        if self.relay.running:
            self.relay.stop_cleanly()
        problems = [line for line in self.relay.log_lines()
                    if mbtest.PROBLEM.search(line)]
        self.assertEqual(problems, [], 'warnings or criticals logged')
        self.assertEqual(self.fake.errors, [])
        self.assertEqual(self.entra.errors, [])
        super().tearDown()

    def diagnostics(self):
        text = super().diagnostics() or ''
        fake = getattr(self, 'fake', None)
        if fake is not None:
            text += '\n--- fake transcript (last 20) ---\n'
            text += '\n'.join(fake.transcript_lines()[-20:])
        entra = getattr(self, 'entra', None)
        if entra is not None:
            text += '\n--- fake Entra grants ---\n%r' % [
                (g['grant_type'], g['result']) for g in entra.grants]
        return text

    # Helpers

    def send(self, subject):
        with smtplib.SMTP(self.relay.host, self.relay.port,
                          timeout=mbtest.REPLY_TIMEOUT) as client:
            refused = client.sendmail(MAILBOX, ['someone@example.net'],
                                      message(subject))
        self.assertEqual(refused, {})

    def route_status(self):
        [route] = self.ctl.json('status')['routes']
        return route

    def wait_route_state(self, state):
        return wait_until(
            lambda: (lambda r: r if r['state'] == state else None)(
                self.route_status()),
            timeout=WAIT, what='route state %s' % state)

    def signin(self):
        result = self.ctl.run('signin', 'm365', timeout=WAIT + 60)
        self.assertEqual(result.returncode, 0,
                         'signin failed:\n%s%s' % (result.stdout,
                                                   result.stderr))
        return result

    def wait_delivered(self, count):
        return self.fake.wait_for_messages(count, timeout=WAIT)

    def wait_connections_closed(self):
        """Until the relay QUIT its idle connections (its idle timeout), so
        the next message opens a new one and signs in again."""
        self.fake.wait_until(lambda f: not f.counters()['active'],
                             timeout=WAIT)

    def refresh_grants(self):
        return [g for g in self.entra.grants
                if g['grant_type'] == 'refresh_token' and g['result'] == 'ok']

    def stored_refresh_token(self):
        return read_secrets(self.secrets_path).get(
            'route m365', {}).get('refresh-token')


class DeviceCodeTest(OAuthTestCase):
    route = {'auth': 'oauth-device', 'client-id': DEVICE_CLIENT}

    def test_signin_then_delivery_with_xoauth2(self):
        """(1) A message waits while the route is not signed in; signin
        goes through authorization_pending and slow_down to a token, and
        the message goes out with XOAUTH2."""
        route = self.wait_route_state('needs-signin')
        self.assertIn('mailbridgectl signin m365', route['reason'])
        self.send('waits for the sign-in')
        wait_until(lambda: len(self.relay.queue_ids()) == 1,
                   what='the message queued')

        result = self.signin()
        self.assertRegex(result.stdout,
                         r'open https://microsoft\.com/devicelogin .*'
                         r'enter the code [0-9A-F]{8}')
        self.assertIn('signed in and ready', result.stdout)
        steps = [p['step'] for p in self.entra.device_polls]
        self.assertEqual(steps, ['authorization_pending', 'slow_down',
                                 'authorization_pending', 'ok'])
        # slow_down made the relay's client wait 5 s longer: never early.
        self.assertEqual(self.entra.interval_violations, [])

        [msg] = self.wait_delivered(1)
        self.assertEqual(msg.auth_user.lower(), MAILBOX)
        transcript = '\n'.join(self.fake.transcript_lines())
        self.assertIn('AUTH XOAUTH2', transcript)
        self.relay.wait_for_log(r'route=m365 status=delivered')
        # The relay renewed the token itself and stored the rotated
        # refresh token; no token reached the log.
        self.assertGreaterEqual(len(self.refresh_grants()), 1)
        wait_until(lambda: self.stored_refresh_token() ==
                   self.latest_refresh_token(), what='newest token stored')
        self.assertEqual(self.route_status()['state'], 'ready')

    def latest_refresh_token(self):
        tokens = self.entra.live_refresh_tokens()
        self.assertEqual(len(tokens), 1, 'exactly one live refresh token')
        return tokens[0]

    def test_token_expires_between_messages(self):
        """(2) The access token expires between two messages: the second
        goes out after an automatic refresh, and the newest refresh token
        is the stored one."""
        self.signin()
        self.send('first')
        self.wait_delivered(1)
        self.wait_connections_closed()
        grants_before = len(self.refresh_grants())
        first_stored = self.stored_refresh_token()

        # The first access token is past its lifetime for Entra and for
        # the fake upstream.
        self.entra.advance(TOKEN_LIFETIME + 1)
        self.send('second')
        [_, second] = self.wait_delivered(2)
        self.assertEqual(second.auth_user.lower(), MAILBOX)
        self.assertGreater(len(self.refresh_grants()), grants_before)
        self.assertEqual(self.fake.counters()['auth_failures'], 0)
        wait_until(lambda: self.stored_refresh_token() ==
                   self.latest_refresh_token(), what='newest token stored')
        self.assertNotEqual(self.stored_refresh_token(), first_stored)

    def test_invalid_grant_needs_signin_and_keeps_the_message(self):
        """(3) Entra refuses the refresh token (revoked): the route needs
        sign-in with Entra's reason, the message stays queued, and a new
        sign-in delivers it."""
        self.signin()
        self.send('first')
        self.wait_delivered(1)
        self.wait_connections_closed()
        self.entra.revoke(self.stored_refresh_token())

        self.send('held')
        route = self.wait_route_state('needs-signin')
        self.assertIn('AADSTS50173', route['reason'])
        self.assertEqual(route['hint'], 'mb.auth-token-expired')
        status = self.ctl.json('status')
        self.assertEqual(status['queue_length'], 1)
        self.assertTrue(any('needs sign-in' in a
                            for a in status['attention']))
        [queued] = self.ctl.json('queue', 'list')
        self.assertEqual([r['state'] for r in queued['recipients']],
                         ['queued'])
        self.assertEqual(len(self.relay.queue_ids()), 1)
        self.assertEqual(len(self.fake.messages), 1)

        self.entra.configure(device_scripts={DEVICE_CLIENT: ['ok']})
        self.signin()
        msgs = self.wait_delivered(2)
        self.assertIn(b'Subject: held', msgs[1].data)
        self.relay.wait_for_log(r'queue-id=\S+ removed ')
        wait_until(lambda: self.relay.queue_ids() == [],
                   what='the queue empty')
        self.assertEqual(self.route_status()['state'], 'ready')


class AppSecretTest(OAuthTestCase):
    route = {'auth': 'oauth-app', 'client-id': APP_CLIENT}
    secrets = {'client-secret': APP_SECRET}

    def test_client_secret_delivers(self):
        """(4) Client credentials with the stored secret: a message goes
        out as the mailbox; signin checks the secret."""
        self.send('app secret')
        [msg] = self.wait_delivered(1)
        self.assertEqual(msg.auth_user.lower(), MAILBOX)
        grants = [g for g in self.entra.grants
                  if g['grant_type'] == 'client_credentials']
        self.assertTrue(grants)
        self.assertEqual({g.get('auth') for g in grants}, {'secret'})
        result = self.signin()
        self.assertIn('signed in and ready', result.stdout)


class AppCertificateTest(OAuthTestCase):
    route = {'auth': 'oauth-app', 'client-id': APP_CLIENT}

    def route_keys(self):
        return dict(self.route, **{
            'client-certificate': self.entra.app_cert('app'),
            'client-key': self.entra.app_key('app')})

    def test_certificate_delivers(self):
        """(4) Client credentials with a certificate: the fake verifies the
        JWT's RS256 signature against the registered certificate."""
        self.send('app certificate')
        [msg] = self.wait_delivered(1)
        self.assertEqual(msg.auth_user.lower(), MAILBOX)
        [assertion] = self.entra.assertions
        self.assertEqual(assertion['header']['alg'], 'RS256')
        self.assertEqual(assertion['claims']['iss'], APP_CLIENT)
        grants = [g for g in self.entra.grants
                  if g['grant_type'] == 'client_credentials']
        self.assertEqual({g.get('auth') for g in grants}, {'assertion'})


if __name__ == '__main__':
    unittest.main()
