"""A client secret about to expire is shown to the admin (issue 5).

Entra ID client secrets expire on a date chosen when they are created
(at most 24 months).  The relay cannot ask Entra for that date, so the
admin writes it beside the secret: in the secrets file as
`client-secret-expires=2027-03-01` (or an ISO 8601 time) in the route's
group, in the keyring as the item's "expires" attribute
(relay/mb-credentials-file.h, mb-credentials-keyring.h).  The relay
compares it with its wall clock at startup, after every reload or
ReloadCredentials (`mailbridgectl signin`) and then once a day
(relay/mb-daemon.c check_expiry); a secret due within 14 days, or past
its date, is logged as a warning and becomes the route's "attention" in
Routes and a line in AttentionReasons (relay/mb-control.c), so the relay's
state is needs-attention.  The relay keeps using the secret: Entra, not
the stored date, decides whether it still works.

Each test runs the fake Entra ID (tests/fakes/fake_entra.py), the fake
Microsoft 365 submission endpoint and mailbridged with an oauth-app route
and a 0600 secrets file on a private session bus, as in
test_oauth_delivery.py.  Proved here:
  1. a secret expiring in 10 days: `mailbridgectl status --json` shows the
     warning on the route and in the relay's attention reasons (state
     needs-attention, the route stays ready), the plain status prints it,
     the log has one warning line naming the route, kind, date and days
     left (never the secret), and a message is still delivered;
  2. the admin renews it in the secrets file with a later date and reloads:
     the warning goes; renewing it with `mailbridgectl signin
     --client-secret-stdin` instead also clears it (the date belonged to
     the old secret and is dropped with it) and the new secret delivers;
     with `--client-secret-expires DATE` the new date is stored with the
     new secret: a year ahead, no warning; five days ahead, the warning
     (a date that is not one, or has passed, is a usage error, exit 2,
     before anything is asked or stored);
  2a. a reload that rebuilds the route (its settings changed) while the
     secrets file is refused (mode 0644) keeps the warning: the relay
     keeps the secrets it read, and their date;
  3. a secret expiring in 30 days (written as a plain date): no warning,
     state running; the date moved to 5 days ahead and reloaded: the
     warning appears while the relay runs;
  4. a secret whose date is past: "expired on DATE", the log counts the
     days since, and the relay still uses the secret (the fake Entra
     accepts it), so delivery goes on.
The daily re-check is a 24-hour timer and is not waited for here; the
startup and reload checks are the same code (check_expiry).  Every wait is
on a condition with a deadline.
"""
import datetime
import os
import re
import subprocess
import unittest

import mbtest
from test_control import wait_until
from test_oauth_delivery import (APP_CLIENT, APP_PRINCIPAL, APP_SECRET,
                                 MAILBOX, WAIT, OAuthTestCase, read_secrets)

DAY = 24 * 60 * 60
WARNING_DAYS = 14  # MB_CREDENTIALS_EXPIRY_WARNING_DAYS
# The relay's expiry warning: the only warning these tests expect.
EXPIRY_LOG = re.compile(r'^WARNING .*route=m365 kind=client-secret '
                        r'expires=\S+ (days_left|expired_days_ago)=\d+ '
                        r'action="')


def utc(seconds):
    return datetime.datetime.fromtimestamp(seconds, datetime.timezone.utc)


def iso_time(seconds):
    return utc(seconds).strftime('%Y-%m-%dT%H:%M:%SZ')


def iso_date(seconds):
    return utc(seconds).strftime('%Y-%m-%d')


class ExpiryTestCase(OAuthTestCase):
    """An oauth-app route whose client secret has the expiry the subclass
    gives as `expires` (a function of the test's start time)."""

    route = {'auth': 'oauth-app', 'client-id': APP_CLIENT}

    def setUp(self):
        self.now = int(datetime.datetime.now(datetime.timezone.utc)
                       .timestamp())
        self.secrets = {'client-secret': APP_SECRET,
                        'client-secret-expires': self.expires()}
        super().setUp()

    def expires(self):
        raise NotImplementedError

    def tearDown(self):
        # OAuthTestCase.tearDown() with the expiry warning allowed: every
        # other warning still fails the test.
        if self.relay.running:
            self.relay.stop_cleanly()
        problems = [line for line in self.relay.log_lines()
                    if mbtest.PROBLEM.search(line)
                    and not EXPIRY_LOG.search(line)]
        self.assertEqual(problems, [], 'warnings or criticals logged')
        self.assertEqual(self.fake.errors, [])
        self.assertEqual(self.entra.errors, [])
        mbtest.RelayTestCase.tearDown(self)

    # Helpers

    def status(self):
        return self.ctl.json('status')

    def expiry_log_lines(self):
        return [line for line in self.relay.log_lines()
                if EXPIRY_LOG.search(line)]

    def wait_expiry_log_lines(self):
        """The expiry warnings logged, once there is one: the relay logs
        before it updates the status, but our reader may lag behind."""
        self.relay.wait_for_log(EXPIRY_LOG.pattern)
        return self.expiry_log_lines()

    def wait_attention(self, expected):
        """Until the route's attention is @expected; the whole status."""
        def check():
            status = self.status()
            [route] = status['routes']
            return status if route['attention'] == expected else None
        return wait_until(check, timeout=WAIT,
                          what='route attention %r' % expected)

    def assert_warned(self, status, attention, expires_at=None):
        [route] = status['routes']
        self.assertEqual(route['attention'], attention)
        # The structured twin of the attention text, for the app.
        self.assertEqual(route['secret_expires'],
                         iso_time(expires_at if expires_at is not None
                                  else self.expires_at))
        self.assertEqual(route['state'], 'ready')
        self.assertEqual(status['attention'], ['route m365: ' + attention])
        self.assertEqual(status['state'], 'needs-attention')

    def assert_quiet(self, status):
        [route] = status['routes']
        self.assertEqual(route['attention'], '')
        self.assertIsNone(route['secret_expires'])
        self.assertEqual(status['attention'], [])
        self.assertEqual(status['state'], 'running')

    def deliver(self, subject, count):
        self.send(subject)
        msgs = self.wait_delivered(count)
        self.assertIn(b'Subject: ' + subject.encode('ascii'), msgs[-1].data)
        self.assertEqual(msgs[-1].auth_user.lower(), MAILBOX)
        return msgs

    def write_secrets(self, secrets):
        for key, value in secrets.items():
            if not key.endswith('-expires'):
                mbtest.record_secret(value)
        tmp = self.secrets_path + '.new'
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, 'w') as f:
            f.write(mbtest.format_config({'route m365': dict(secrets)}))
        os.replace(tmp, self.secrets_path)

    def reload(self):
        result = self.ctl.run('reload')
        self.assertEqual(result.returncode, 0,
                         'reload failed:\n%s%s' % (result.stdout,
                                                   result.stderr))

    def signin(self, secret, *args):
        """`mailbridgectl signin m365 --client-secret-stdin ARGS` with
        @secret on stdin; the completed process."""
        return subprocess.run(
            [self.ctl.path, 'signin', 'm365', '--client-secret-stdin']
            + list(args), input=secret + '\n', capture_output=True,
            text=True, env=self.ctl.env, timeout=WAIT + 60)

    def assert_signed_in(self, result, secret):
        self.assertEqual(result.returncode, 0,
                         'signin failed:\n%s%s' % (result.stdout,
                                                   result.stderr))
        self.assertNotIn(secret, result.stdout + result.stderr)


class SoonTest(ExpiryTestCase):
    """(1), (2) Ten days left, written as an ISO 8601 time; an hour more
    than ten days, so the relay counts 10 however long the start takes."""

    def expires(self):
        self.expires_at = self.now + 10 * DAY + 3600
        return iso_time(self.expires_at)

    def attention(self):
        return ('the client-secret expires on %s (in 10 days): store a new '
                'one before then' % iso_date(self.expires_at))

    def test_warning_shown_and_delivery_goes_on(self):
        """(1) The warning is on the route, in the attention reasons and in
        the log, once; the route still delivers."""
        status = self.wait_attention(self.attention())
        self.assert_warned(status, self.attention())

        plain = self.ctl.run('status')
        self.assertEqual(plain.returncode, 0, plain.stderr)
        self.assertIn('Relay:      needs-attention', plain.stdout)
        self.assertIn('! route m365: ' + self.attention(), plain.stdout)

        [line] = self.wait_expiry_log_lines()
        fields = mbtest.parse_log_fields(line)
        self.assertEqual(fields['route'], 'm365')
        self.assertEqual(fields['kind'], 'client-secret')
        self.assertEqual(fields['expires'], iso_time(self.expires_at))
        self.assertEqual(fields['days_left'], '10')
        self.assertIn('new client secret', fields['action'])
        self.assertNotIn(APP_SECRET, line)

        self.deliver('ten days left', 1)
        grants = [g for g in self.entra.grants
                  if g['grant_type'] == 'client_credentials']
        self.assertEqual({(g.get('auth'), g['result']) for g in grants},
                         {('secret', 'ok')})
        # Delivering changes nothing about the warning.
        self.assert_warned(self.status(), self.attention())

    def test_renewed_in_the_file_and_reloaded(self):
        """(2) The admin stores the same secret with a date a year ahead
        and reloads: the warning goes, and is not logged again."""
        self.wait_attention(self.attention())
        self.write_secrets({'client-secret': APP_SECRET,
                            'client-secret-expires':
                                iso_date(self.now + 400 * DAY)})
        self.reload()
        status = self.wait_attention('')
        self.assert_quiet(status)
        self.assertEqual(len(self.wait_expiry_log_lines()), 1)
        self.deliver('renewed', 1)

    def test_renewed_with_signin(self):
        """(2) A new secret given to `mailbridgectl signin
        --client-secret-stdin`: Entra accepts it, it replaces the old one
        and its date, the relay reads it again and the warning goes; the
        next message is sent with the new secret."""
        new_secret = 'Yr3~fake.renewed.secret-' + os.urandom(6).hex()
        mbtest.record_secret(new_secret)
        self.wait_attention(self.attention())
        # The admin made a new secret in Entra and deleted the old one:
        # from now on only the new one is accepted.
        self.entra.configure(clients={APP_CLIENT: {
            'secret': new_secret, 'principal': APP_PRINCIPAL}})

        self.assert_signed_in(self.signin(new_secret), new_secret)

        stored = read_secrets(self.secrets_path)['route m365']
        self.assertEqual(stored.get('client-secret'), new_secret)
        self.assertNotIn('client-secret-expires', stored)
        status = self.wait_attention('')
        self.assert_quiet(status)

        self.deliver('new secret', 1)
        # The check by signin and the relay's own request: both with the
        # new secret, none refused (the old one would be: bad_secret).
        grants = [(g.get('auth'), g['result']) for g in self.entra.grants
                  if g['grant_type'] == 'client_credentials']
        self.assertGreaterEqual(len(grants), 2)
        self.assertEqual(set(grants), {('secret', 'ok')})


    def test_renewed_with_signin_and_its_date(self):
        """(2) `mailbridgectl signin --client-secret-expires DATE`: the new
        secret is stored with DATE; a year ahead, the warning goes; the
        next renewal with a date five days ahead brings it back."""
        new_secret = 'Yr3~fake.dated.secret-' + os.urandom(6).hex()
        mbtest.record_secret(new_secret)
        self.wait_attention(self.attention())
        self.entra.configure(clients={APP_CLIENT: {
            'secret': new_secret, 'principal': APP_PRINCIPAL}})

        # A plain date: midnight UTC, stored as such.
        year = iso_date(self.now + 365 * DAY)
        self.assert_signed_in(
            self.signin(new_secret, '--client-secret-expires', year),
            new_secret)
        stored = read_secrets(self.secrets_path)['route m365']
        self.assertEqual(stored.get('client-secret'), new_secret)
        self.assertEqual(stored.get('client-secret-expires'),
                         year + 'T00:00:00Z')
        self.assert_quiet(self.wait_attention(''))
        self.deliver('renewed for a year', 1)

        # An ISO 8601 time five days (and an hour) ahead: due.
        soon = self.now + 5 * DAY + 3600
        self.assert_signed_in(
            self.signin(new_secret, '--client-secret-expires',
                        iso_time(soon)), new_secret)
        self.assertEqual(read_secrets(self.secrets_path)['route m365']
                         .get('client-secret-expires'), iso_time(soon))
        attention = ('the client-secret expires on %s (in 5 days): store a '
                     'new one before then' % iso_date(soon))
        self.assert_warned(self.wait_attention(attention), attention, soon)

    def test_signin_refuses_a_bad_date(self):
        """(2) A date that is not one, or has passed: exit 2 with the
        reason, before the secret is read; nothing is stored."""
        before = read_secrets(self.secrets_path)
        grants = len(self.entra.grants)
        for date, reason in (('2027-02-30', 'not a date'),
                             ('next year', 'not a date'),
                             ('1800000000', 'not a date'),
                             (iso_date(self.now - DAY), 'has passed')):
            result = self.signin('Yr3~never.stored', '--client-secret-expires',
                                 date)
            self.assertEqual(result.returncode, 2, result.stderr)
            self.assertIn(reason, result.stderr)
            self.assertIn('--client-secret-expires', result.stderr)
        self.assertEqual(read_secrets(self.secrets_path), before)
        self.assertEqual(len(self.entra.grants), grants)
        self.assert_warned(self.status(), self.attention())

    def test_warning_kept_when_the_secrets_are_refused(self):
        """(2a) The route's settings change (max-connections) and the
        secrets file is refused at the reload: the route is rebuilt with
        the secrets read before, and keeps their warning."""
        self.wait_attention(self.attention())
        os.chmod(self.secrets_path, 0o644)
        with open(self.relay.config_path, encoding='utf-8') as f:
            text = f.read()
        self.assertIn('[route m365]\n', text)
        with open(self.relay.config_path, 'w', encoding='utf-8') as f:
            f.write(text.replace('[route m365]\n',
                                 '[route m365]\nmax-connections=2\n'))
        self.reload()
        self.relay.wait_for_log(r'route=m365 settings=changed')
        self.relay.wait_for_log(r'the secrets cannot be read again')
        self.assert_warned(self.status(), self.attention())
        os.chmod(self.secrets_path, 0o600)
        self.deliver('rebuilt route', 1)
        self.assert_warned(self.status(), self.attention())


class LaterTest(ExpiryTestCase):
    """(3) Thirty days left, written as a plain date (midnight UTC)."""

    def expires(self):
        return iso_date(self.now + 30 * DAY)

    def test_no_warning_then_due_after_reload(self):
        """(3) Nothing to do while 30 days are left; the date moved to 5
        days ahead and reloaded, the warning appears on the running
        relay."""
        self.deliver('thirty days left', 1)
        status = self.status()
        self.assert_quiet(status)
        self.assertEqual(self.expiry_log_lines(), [])

        soon = self.now + 5 * DAY + 3600
        self.write_secrets({'client-secret': APP_SECRET,
                            'client-secret-expires': iso_time(soon)})
        self.reload()
        attention = ('the client-secret expires on %s (in 5 days): store a '
                     'new one before then' % iso_date(soon))
        self.assert_warned(self.wait_attention(attention), attention, soon)
        [line] = self.wait_expiry_log_lines()
        self.assertEqual(mbtest.parse_log_fields(line)['days_left'], '5')
        self.deliver('five days left', 2)


class BoundaryTest(ExpiryTestCase):
    """Fourteen days less an hour: inside the warning window."""

    def expires(self):
        self.expires_at = self.now + WARNING_DAYS * DAY - 3600
        return iso_time(self.expires_at)

    def test_fourteen_days_warns(self):
        """The window's edge: 13 whole days left is warned about."""
        attention = ('the client-secret expires on %s (in 13 days): store a '
                     'new one before then' % iso_date(self.expires_at))
        self.assert_warned(self.wait_attention(attention), attention)


class ExpiredTest(ExpiryTestCase):
    """(4) The stored date passed two days (and an hour) ago."""

    def expires(self):
        self.expires_at = self.now - 2 * DAY - 3600
        return iso_time(self.expires_at)

    def test_expired_is_shown_and_still_used(self):
        """(4) "expired on DATE", expired_days_ago in the log; the relay
        does not withhold the secret, and the fake Entra still takes it."""
        attention = ('the client-secret expired on %s: store a new one'
                     % iso_date(self.expires_at))
        self.assert_warned(self.wait_attention(attention), attention)
        [line] = self.wait_expiry_log_lines()
        fields = mbtest.parse_log_fields(line)
        self.assertEqual(fields['expired_days_ago'], '2')
        self.assertNotIn('days_left', fields)
        self.deliver('past its date', 1)
        self.assert_warned(self.status(), attention)


if __name__ == '__main__':
    unittest.main()
