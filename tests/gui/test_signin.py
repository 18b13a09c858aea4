"""The sign-in dialog against the fake Entra ID and Microsoft 365.

The relay's route m365 is SMTP AUTH submission signing in with OAuth
against the fake Entra ID (tests/fakes/fake_entra.py: its authority, the
test CA as the route's trust); the fake upstream (submission) accepts
exactly the access tokens that fake issued.  Nothing is stored for the
route, so it starts in needs-signin.  Secrets live in the session's
keyring, where both the app and the relay read them.  The fake holds
each device code pending ("await_approval") until the test answers for
the person at the sign-in page.

Proved here, through AT-SPI on the real app:
  1. auth=oauth-device, declined: the Status page's "Sign In Again…"
     opens the dialog, which shows exactly the code Entra issued (asked
     again, the app brings the same dialog forward); declined, it says
     so in words with Entra's text and offers "Try Again", which asks
     for a new code; Cancel closes it and the route still needs a
     sign-in;
  2. auth=oauth-device, approved: the code shown is the one Entra issued;
     the dialog reports the route ready, `mailbridgectl status` agrees,
     the message that waited goes out with XOAUTH2 (the relay renewed the
     token with the stored refresh token), and the keyring holds the
     newest refresh token;
  3. auth=oauth-app without a stored secret: the dialog asks for the
     client secret; a wrong one is refused with Entra's explanation and
     the field is emptied; the right one makes the route ready and is
     stored in the keyring;
  4. auth=oauth-app whose stored secret expires in 10 days: the Status
     page names the route and the date in its own banner with "Enter New
     Secret…", which opens the dialog at the secret page (not at a
     sign-in with the old secret); "Expires on" says what is wrong with a
     date that is not one, or has passed, and holds Sign In back; the new
     secret (which the fake Entra now accepts) with a date a year ahead
     is stored with that date, the banner goes and the relay's status
     shows no warning.
Screenshots: signin-device-code, signin-declined, signin-ready,
signin-client-secret, secret-expiry-banner, signin-renew-secret.
"""
import datetime
import os
import unittest

import guitest
import mbtest
from guitest import wait_until

import fake_entra  # guitest put tests/fakes on the path

import gi
gi.require_version('Secret', '1')
from gi.repository import Secret  # noqa: E402

MAILBOX = 'scanner-box@contoso.com'
DEVICE_CLIENT = '0d9c3a53-6b7e-4d11-9a55-1f2e0c0e5b01'
APP_CLIENT = '6f1c2d8e-0a4b-4c3d-8e9f-3b2a1c0d4e02'
APP_PRINCIPAL = 'app-sp-6f1c2d8e@contoso.com'
APP_SECRET = 'Xq8~fake.app.secret-' + os.urandom(6).hex()
NEW_SECRET = 'Zk2~fake.renewed.secret-' + os.urandom(6).hex()
DAY = 24 * 60 * 60
TITLE = 'Sign In to Microsoft 365'
READY = 'Route “m365” is signed in and ready.'
# The keyring schema of relay/mb-credentials-keyring.c.
SCHEMA = Secret.Schema.new(
    'org.mailbridge.Secret', Secret.SchemaFlags.NONE,
    {'route': Secret.SchemaAttributeType.STRING,
     'kind': Secret.SchemaAttributeType.STRING,
     'expires': Secret.SchemaAttributeType.STRING})


def stored_secret(kind):
    return Secret.password_lookup_sync(
        SCHEMA, {'route': 'm365', 'kind': kind}, None)


def stored_expiry(kind):
    """The "expires" attribute of the route's items of @kind."""
    items = Secret.password_search_sync(
        SCHEMA, {'route': 'm365', 'kind': kind},
        Secret.SearchFlags.ALL | Secret.SearchFlags.UNLOCK, None)
    return [item.get_attributes().get('expires') for item in items]


def store_secret(kind, secret, expires_at):
    """Stores as relay/mb-credentials-keyring.c does."""
    Secret.password_store_sync(
        SCHEMA, {'route': 'm365', 'kind': kind, 'expires': str(expires_at)},
        Secret.COLLECTION_DEFAULT, 'Mailbridge: %s for route m365' % kind,
        secret, None)


def utc_day(seconds):
    return datetime.datetime.fromtimestamp(
        seconds, datetime.timezone.utc).strftime('%Y-%m-%d')


class OAuthSigninCase(guitest.GuiTestCase):
    """The fake Entra ID, and the route signing in against it."""

    paused = False
    upstream = 'submission'
    auth_keys = {}       # auth, client-id
    entra_options = {}

    @classmethod
    def stored_before_start(cls):
        """(kind, secret, expires_at) in the keyring as the relay starts."""
        return []

    @classmethod
    def setUpClass(cls):
        # Another class of this module may have signed m365 in.
        while Secret.password_clear_sync(SCHEMA, {'route': 'm365'}, None):
            pass
        for kind, secret, expires_at in cls.stored_before_start():
            store_secret(kind, secret, expires_at)
        cls.entra = fake_entra.FakeEntra(pki=guitest.PKI, user=MAILBOX,
                                         **cls.entra_options)
        cls.entra.start()
        try:
            super().setUpClass()
        except BaseException:
            cls.entra.stop()
            raise

    @classmethod
    def route_keys(cls):
        cls.fake.users[MAILBOX] = {'full_access': [APP_PRINCIPAL]}
        cls.fake.token_validator = cls.entra.token_validator()
        keys = {'method': 'submission', 'host': 'localhost',
                'port': cls.fake.port, 'trust': guitest.PKI.ca_cert,
                'mailbox': MAILBOX, 'authority': cls.entra.authority,
                'tenant': 'contoso.onmicrosoft.com'}
        keys.update(cls.auth_keys)
        return keys

    @classmethod
    def cleanup_class(cls):
        super().cleanup_class()
        cls.entra.stop()

    def tearDown(self):
        self.assertEqual(self.entra.errors, [])
        self.assertEqual(self.entra.interval_violations, [])

    def diagnostics(self):
        return super().diagnostics() + '\n--- fake Entra grants ---\n%r' % [
            (g['grant_type'], g['result']) for g in self.entra.grants]

    # Helpers

    def route_state(self):
        [route] = self.ctl.json('status')['routes']
        return route['state']

    def dialogs(self):
        return [w for w in self.app.node.children
                if w.name == TITLE and guitest.showing(w)]

    def open_dialog(self):
        wait_until(lambda: self.route_state() == 'needs-signin',
                   what='the route to need a sign-in')
        self.app.show_page('Status')
        wait_until(lambda: guitest.find_all(
            self.app.window, '^Sign In Again…$', 'push button'),
            what='the Sign In Again… button')[0].doActionNamed('click')
        return wait_until(self.dialogs, what='the sign-in dialog')[0]

    def dialog_window(self):
        ids = guitest.subprocess.run(
            ['xdotool', 'search', '--onlyvisible', '--name',
             '^%s$' % TITLE], capture_output=True, text=True).stdout.split()
        return ids[-1] if ids else None

    def click(self, dialog, name):
        wait_until(lambda: [b for b in guitest.find_all(
            dialog, '^%s$' % name, 'push button') if b.sensitive],
            what=name)[0].doActionNamed('click')

    def wait_ready(self, dialog):
        wait_until(lambda: guitest.find_all(dialog, '^%s$' % READY, 'label'),
                   what='the dialog to report the route ready')
        self.assertEqual(self.route_state(), 'ready')

    def close(self, dialog, button):
        self.click(dialog, button)
        wait_until(lambda: not self.dialogs(), what='the dialog to close')


class DeviceCodeCase(OAuthSigninCase):

    auth_keys = {'auth': 'oauth-device', 'client-id': DEVICE_CLIENT}
    # One poll a second: the dialog waits as long as the test needs.
    entra_options = {'clients': {DEVICE_CLIENT: {'public': True}},
                     'device_scripts': {DEVICE_CLIENT: ['await_approval']},
                     'interval': 1}

    def wait_code(self, dialog, count):
        """The @count-th code Entra issued, once the dialog shows it."""
        wait_until(lambda: len(self.entra.device_codes) >= count,
                   what='device code %d from the fake Entra' % count)
        code = self.entra.device_codes[count - 1]['user_code']
        wait_until(lambda: [label for label in guitest.find_all(
            dialog, '^Sign-in code$', 'label') if label.text == code],
            what='the code %s in the dialog' % code)
        # The countdown runs, the address is shown.
        wait_until(lambda: guitest.find_all(
            dialog, None, 'label', text=r'^The code expires in 1[45]:\d\d\.$'),
            what='the time left')
        self.assertTrue(guitest.find_all(
            dialog, None, 'label', text='^' + fake_entra.VERIFICATION_URI))
        for name in ('Copy Code', 'Open Sign-in Page'):
            self.assertTrue(guitest.find_all(dialog, '^%s$' % name,
                                             'push button'), name)
        return code

    def time_left(self, dialog):
        [label] = guitest.find_all(dialog, None, 'label',
                                   text='^The code expires in ')
        return label.text

    def test_1_declined_then_cancel(self):
        # Declined: Entra's refusal in words, Try Again, then Cancel.
        before = len(self.entra.device_codes)
        dialog = self.open_dialog()
        code = self.wait_code(dialog, before + 1)
        # One dialog per route: asking again brings the same one forward.
        # The countdown ticking on shows the app handled the click.
        left = self.time_left(dialog)
        guitest.find_all(self.app.window, '^Sign In Again…$',
                         'push button')[0].doActionNamed('click')
        wait_until(lambda: self.time_left(dialog) != left,
                   what='the countdown to tick')
        self.assertEqual(len(self.dialogs()), 1)
        self.assertEqual(len(self.entra.device_codes), before + 1)
        self.entra.approve(code, 'authorization_declined')

        wait_until(lambda: guitest.find_all(
            dialog, '^The sign-in was declined$', 'label'),
            what='the refusal title')
        wait_until(lambda: guitest.find_all(
            dialog, None, 'label',
            text='The end user denied the authorization request'),
            what="Entra's words")
        self.assertTrue(guitest.find_all(dialog, '^Try Again$',
                                         'push button'))
        self.app.screenshot('signin-declined', window=self.dialog_window())
        self.assertEqual(self.route_state(), 'needs-signin')

        # Try Again asks Entra for a new code; Cancel closes the dialog.
        self.click(dialog, 'Try Again')
        self.wait_code(dialog, before + 2)
        self.close(dialog, 'Cancel')
        self.assertEqual(self.route_state(), 'needs-signin')
        self.assertIsNone(stored_secret('refresh-token'))

    def test_2_signs_in(self):
        # Approved: the route is ready and the waiting message goes out.
        self.send(['someone@example.net'], subject='waits for the sign-in',
                  sender=MAILBOX)
        wait_until(lambda: len(self.queue_ids()) == 1,
                   what='the message to wait in the queue')
        before = len(self.entra.device_codes)
        dialog = self.open_dialog()
        code = self.wait_code(dialog, before + 1)
        self.app.screenshot('signin-device-code', window=self.dialog_window())

        self.entra.approve(code)
        self.wait_ready(dialog)
        self.app.screenshot('signin-ready', window=self.dialog_window())

        # The relay signs in with what the dialog stored: it renews the
        # access token with the refresh token and delivers.
        [msg] = self.fake.wait_for_messages(1, timeout=guitest.WAIT)
        self.assertEqual(msg.auth_user.lower(), MAILBOX)
        wait_until(lambda: not self.queue_ids(), what='an empty queue')
        self.assertTrue([g for g in self.entra.grants
                         if g['grant_type'] == 'refresh_token'
                         and g['result'] == 'ok'], 'no refresh grant')
        wait_until(lambda: self.entra.live_refresh_tokens()
                   == [stored_secret('refresh-token')],
                   what='the newest refresh token in the keyring')
        self.close(dialog, 'Close')


class ClientSecretCase(OAuthSigninCase):

    auth_keys = {'auth': 'oauth-app', 'client-id': APP_CLIENT}
    entra_options = {'clients': {APP_CLIENT: {
        'secret': APP_SECRET, 'principal': APP_PRINCIPAL}}}

    @classmethod
    def setUpClass(cls):
        mbtest.record_secret(APP_SECRET)
        super().setUpClass()

    def enter_secret(self, dialog, secret):
        entry = wait_until(lambda: guitest.find_all(
            dialog, '^Client secret$', 'password text'),
            what='the Client secret field')[0]
        entry.text = secret
        self.click(dialog, 'Sign In')
        return entry

    def test_signs_in_with_client_secret(self):
        # No secret stored: asked for; a wrong one refused; the right one
        # stored and the route ready.
        dialog = self.open_dialog()
        entry = self.enter_secret(dialog, 'not-the-secret')
        wait_until(lambda: guitest.find_all(
            dialog, None, 'label', text=r'client secret is wrong.*'
            r'AADSTS7000215'), what="Entra's refusal of the secret")
        wait_until(lambda: entry.text == '', what='the field to be emptied')
        self.app.screenshot('signin-client-secret',
                            window=self.dialog_window())
        self.assertIsNone(stored_secret('client-secret'))

        self.enter_secret(dialog, APP_SECRET)
        self.wait_ready(dialog)
        self.assertEqual(stored_secret('client-secret'), APP_SECRET)
        self.assertEqual(
            [g['auth'] for g in self.entra.grants
             if g['grant_type'] == 'client_credentials'
             and g['result'] == 'ok'][:1], ['secret'])
        self.close(dialog, 'Close')


class RenewSecretCase(OAuthSigninCase):

    notification_server = True
    auth_keys = {'auth': 'oauth-app', 'client-id': APP_CLIENT}
    entra_options = {'clients': {APP_CLIENT: {
        'secret': APP_SECRET, 'principal': APP_PRINCIPAL}}}

    @classmethod
    def stored_before_start(cls):
        mbtest.record_secret(APP_SECRET)
        mbtest.record_secret(NEW_SECRET)
        # Ten days and an hour: the relay counts 10 whatever the start takes.
        cls.expires_at = int(datetime.datetime.now(
            datetime.timezone.utc).timestamp()) + 10 * DAY + 3600
        return [('client-secret', APP_SECRET, cls.expires_at)]

    def route_status(self):
        [route] = self.ctl.json('status')['routes']
        return route

    def test_renews_the_expiring_secret(self):
        # The banner names the route and the date, and offers the renewal.
        title = 'The client secret of route “m365” expires on %s' % utc_day(
            self.expires_at)
        self.app.show_page('Status')
        wait_until(lambda: guitest.find_all(
            self.app.window, None, 'label', text='^%s$' % title),
            what='the secret-expiry banner')
        self.assertTrue(guitest.find_all(
            self.app.window, None, 'label',
            text='Certificates & secrets'), 'what to do in Entra')
        self.assertEqual(self.route_status()['state'], 'ready')
        self.app.screenshot('secret-expiry-banner')
        # The desktop notification says the same and offers the renewal.
        note = self.wait_notification(
            lambda n: n['summary'] == title, 'the secret-expiry notification')
        self.assertIn('Certificates & secrets', note['body'])
        self.assertIn('Enter New Secret…',
                      [label for _key, label in note['actions']])

        # "Enter New Secret…" opens the dialog at the secret page.
        grants = len(self.entra.grants)
        wait_until(lambda: guitest.find_all(
            self.app.window, '^Enter New Secret…$', 'push button'),
            what='the Enter New Secret… button')[0].doActionNamed('click')
        dialog = wait_until(self.dialogs, what='the sign-in dialog')[0]
        entry = wait_until(lambda: guitest.find_all(
            dialog, '^Client secret$', 'password text'),
            what='the Client secret field')[0]
        [date] = guitest.find_all(dialog, '^Expires on$', 'text')
        self.assertTrue(guitest.find_all(dialog, None, 'label',
                                         text='To replace it'))
        # The stored secret was not tried: nothing to ask Entra yet.
        self.assertEqual(len(self.entra.grants), grants)

        # A date that is not one, or has passed: said beside the field,
        # and Sign In waits.
        entry.text = NEW_SECRET
        for text, problem in (('2027-13-45', '^Not a date'),
                              ('01.01.2020', '^This date has passed')):
            date.text = text
            wait_until(lambda: guitest.find_all(dialog, None, 'label',
                                                text=problem),
                       what='the problem %r beside Expires on' % problem)
            [sign_in] = guitest.find_all(dialog, '^Sign In$', 'push button')
            self.assertFalse(sign_in.sensitive)

        # The admin made a new secret in Entra and deleted the old one.
        self.entra.configure(clients={APP_CLIENT: {
            'secret': NEW_SECRET, 'principal': APP_PRINCIPAL}})
        year = int(datetime.datetime.now(datetime.timezone.utc).timestamp()
                   ) + 365 * DAY
        day = utc_day(year)
        date.text = day
        wait_until(lambda: guitest.find_all(dialog, None, 'label',
                                            text='^Optional: the date shown'),
                   what='the hint back beside Expires on')
        self.app.screenshot('signin-renew-secret',
                            window=self.dialog_window())
        self.click(dialog, 'Sign In')
        self.wait_ready(dialog)

        # Stored with its date (midnight UTC), in place of the old one.
        midnight = int(datetime.datetime.strptime(day, '%Y-%m-%d').replace(
            tzinfo=datetime.timezone.utc).timestamp())
        self.assertEqual(stored_secret('client-secret'), NEW_SECRET)
        self.assertEqual(stored_expiry('client-secret'), [str(midnight)])

        # The relay checked the date again: no warning, no banner.
        wait_until(lambda: self.route_status()['attention'] == '',
                   what='the relay to drop the warning')
        status = self.ctl.json('status')
        self.assertEqual(status['attention'], [])
        self.assertEqual(status['state'], 'running')
        self.assertIsNone(status['routes'][0]['secret_expires'])
        wait_until(lambda: not guitest.find_all(
            self.app.window, None, 'label', text='^The client secret of'),
            what='the banner to go')
        self.close(dialog, 'Close')


if __name__ == '__main__':
    unittest.main()
