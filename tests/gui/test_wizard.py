"""The setup assistant, end to end, through AT-SPI on the real app.

Proved here:
  - opened from the main menu on a relay that has a submission route to
    the fake upstream (with a fake Entra authority), the assistant walks
    method -> submission -> network -> summary (Enter on the chosen
    method is Next); Apply writes the file (the
    chosen keys, and the authority, trust, host and port it keeps),
    the relay reloads it (mailbridgectl status shows the route and the new
    LAN listener), and the sign-in dialog for the route opens afterwards;
  - opened from the Status page's "Open Setup Assistant…" banner on a
    relay without a route, an allow entry of 0.0.0.0/0 keeps Next
    insensitive and the hint says why (an open relay); fixing it makes
    Next sensitive again; Back keeps the previous page's fields, and Cancel
    writes nothing;
  - an error while writing shows above the summary page, which stays
    (Apply can be pressed again) and leaves the file as it was;
  - with the relay stopped before Apply, the file is written all the same
    and a note says the relay uses it when it starts.
Screenshots: wizard-method, wizard-submission, wizard-network,
wizard-summary, wizard-signin, wizard-apply-error, wizard-open-relay,
wizard-no-relay.
"""
import configparser
import os
import shutil
import subprocess
import unittest

import guitest
from guitest import wait_until

from dogtail import rawinput  # noqa: E402

import fake_entra  # noqa: E402  (tests/fakes, on the path via guitest)
import fake_m365  # noqa: E402
import mbtest  # noqa: E402

OLD_MAILBOX = 'old-scanner@contoso.com'
MAILBOX = 'scanner@contoso.com'
TENANT = 'contoso.onmicrosoft.com'
OLD_CLIENT = '11111111-2222-3333-4444-555555555555'
CLIENT = 'aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee'
ALLOW = '192.0.2.0/24'


def read_config(path):
    """The relay's GKeyFile as {group: {key: value}} (comments dropped)."""
    parser = configparser.ConfigParser(interpolation=None, strict=False,
                                       delimiters=('=',),
                                       comment_prefixes=('#',))
    parser.optionxform = str
    with open(path, encoding='utf-8') as f:
        parser.read_string(f.read())
    return {name: dict(parser[name]) for name in parser.sections()}


def key_list(value):
    return [v for v in (value or '').split(';') if v]


class WizardCase(guitest.GuiTestCase):
    """The relay with the class's route group (None: no route), the fake
    upstream and the app, like GuiTestCase."""

    @classmethod
    def route_keys(cls):
        """The [route m365] keys, None for a relay without a route."""
        return None

    @classmethod
    def setUpClass(cls):
        cls.workdir = mbtest.make_tmpdir('gui-wizard')
        cls.ctl = guitest.Ctl()
        cls.entra = fake_entra.FakeEntra(
            pki=guitest.PKI, user=MAILBOX, clients={
                CLIENT: {'public': True}, OLD_CLIENT: {'public': True}},
            # The sign-in waits for the admin: it stays pending.
            default_script=['authorization_pending'] * 1000, interval=5)
        cls.fake = fake_m365.FakeM365('submission', pki=guitest.PKI)
        groups = {}
        keys = {'retry-schedule': '1h', 'admin-address': guitest.ADMIN}
        try:
            cls.entra.start()
            cls.fake.start()
            route = cls.route_keys()
            if route is not None:
                keys['route'] = 'm365'
                groups['route m365'] = route
            cls.relay = mbtest.Relay(cls.workdir, keys, groups)
            cls.relay.start(extra_args=['--bus=session'])
            cls.ctl.run('pause')
            cls.app = guitest.App(cls.workdir)
        except BaseException:
            cls.cleanup_class()
            raise

    @classmethod
    def cleanup_class(cls):
        app = getattr(cls, 'app', None)
        if app is not None:
            app.close()
        relay = getattr(cls, 'relay', None)
        if relay is not None:
            relay.close()
        cls.fake.stop()
        cls.entra.stop()
        mbtest.remove_tmpdir(cls.workdir)

    # The assistant

    def wizard(self):
        return wait_until(lambda: [
            w for w in self.app.node.children
            if w.name == 'Setup Assistant' and guitest.showing(w)],
            what='the setup assistant')[0]

    def wizard_window_id(self):
        ids = subprocess.run(
            ['xdotool', 'search', '--onlyvisible', '--name',
             '^Setup Assistant$'], capture_output=True,
            text=True).stdout.split()
        return ids[-1] if ids else None

    def screenshot(self, name):
        self.app.screenshot(name, window=self.wizard_window_id())

    def wait_page(self, wizard, title, previous=None):
        """Waits until the page whose heading matches the regex @title
        shows and, if @previous (the accessible name of a widget of the
        page before) is given, until the slide has ended."""
        wait_until(lambda: guitest.find_all(wizard, title, 'heading'),
                   what='the page "%s"' % title)
        if previous is not None:
            wait_until(lambda: not guitest.find_all(wizard, previous),
                       what='the previous page to slide away')

    def button(self, wizard, name):
        return wait_until(lambda: guitest.find_all(
            wizard, '^%s$' % name, 'push button'),
            what='the %s button' % name)[0]

    def next(self, wizard, name='Next'):
        button = self.button(wizard, name)
        wait_until(lambda: button.sensitive,
                   what='%s to become sensitive' % name)
        button.doActionNamed('click')

    def entry(self, wizard, name):
        return wait_until(lambda: guitest.find_all(
            wizard, '^%s$' % name, 'text'),
            what='the %s field' % name)[0]

    def set_text(self, entry, text):
        entry.text = text
        wait_until(lambda: entry.text == text, what='%r typed' % text)

    def open_from_menu(self):
        self.app.show_page('Status')
        menu = wait_until(lambda: guitest.find_all(
            self.app.window, '^Main menu$', 'toggle button'),
            what='the main menu button')[0]
        menu.doActionNamed('click')
        item = wait_until(lambda: [
            n for app_child in [self.app.node]
            for n in guitest.find_all(app_child, '^Setup Assistant…$')],
            what='the Setup Assistant… menu item')[0]
        item.doActionNamed('click')
        return self.wizard()

    def open_from_banner(self):
        self.app.show_page('Status')
        wait_until(lambda: guitest.find_all(
            self.app.window, '^Open Setup Assistant…$', 'push button'),
            what='the Open Setup Assistant… banner button'
        )[0].doActionNamed('click')
        return self.wizard()

    def choose_submission(self, wizard):
        self.wait_page(wizard, '^How Should Mail Reach Microsoft 365\\?$')
        radio = wait_until(lambda: guitest.find_all(
            wizard, '^SMTP AUTH with a mailbox \\(recommended\\)$',
            'radio button'), what='the SMTP AUTH choice')[0]
        radio.doActionNamed('click')
        wait_until(lambda: radio.checked, what='SMTP AUTH chosen')

    def fill_submission(self, wizard):
        self.wait_page(wizard, '(?i)mailbox',  # the submission page's
                       previous='^SMTP AUTH with a mailbox')
        self.set_text(self.entry(wizard, 'Mailbox'), MAILBOX)
        self.set_text(self.entry(wizard, 'Tenant'), TENANT)
        self.set_text(self.entry(wizard, 'Application \\(client\\) ID'),
                      CLIENT)

    def switch_lan_on(self, wizard):
        switch = wait_until(lambda: guitest.find_all(
            wizard, '^Accept mail from devices on the network$',
            'toggle button'), what='the LAN switch')[0]
        if not switch.checked:
            switch.doActionNamed('toggle')
        wait_until(lambda: switch.checked, what='the LAN switch on')

    def set_allow(self, wizard, text):
        """Leaves one allow entry, @text."""
        while True:
            entries = guitest.find_all(wizard, '^Allowed address or network$',
                                       'text')
            if len(entries) <= 1:
                break
            removes = guitest.find_all(wizard, '^Remove$', 'push button')
            before = len(entries)
            removes[-1].doActionNamed('click')
            wait_until(lambda: len(guitest.find_all(
                wizard, '^Allowed address or network$', 'text')) < before,
                what='an allow entry removed')
        if not entries:
            self.button(wizard, 'Add Address').doActionNamed('click')
        entry = self.entry(wizard, 'Allowed address or network')
        self.set_text(entry, text)


class ApplyCase(WizardCase):

    @classmethod
    def route_keys(cls):
        # The keys the assistant keeps: the fake upstream and authority.
        return {'method': 'submission', 'host': 'localhost',
                'port': cls.fake.port, 'trust': guitest.PKI.ca_cert,
                'authority': cls.entra.authority, 'auth': 'oauth-device',
                'mailbox': OLD_MAILBOX, 'client-id': OLD_CLIENT,
                'tenant': TENANT}

    def test_apply_writes_reloads_and_offers_sign_in(self):
        # Menu -> SMTP AUTH -> mailbox -> LAN + allow list -> Apply.
        lan_port = mbtest.free_port()
        lan_listen = '0.0.0.0:%d' % lan_port
        wizard = self.open_from_menu()

        self.choose_submission(wizard)
        self.screenshot('wizard-method')
        # The keyboard alone: Enter on the focused choice is Next.
        radio = guitest.find_all(
            wizard, '^SMTP AUTH with a mailbox \\(recommended\\)$',
            'radio button')[0]
        # No window manager runs here: give the assistant the keyboard.
        subprocess.run(['xdotool', 'windowfocus', '--sync',
                        self.wizard_window_id()], check=True, timeout=30)
        wait_until(lambda: radio.focused, what='the focus on the choice')
        rawinput.pressKey('Return')

        self.fill_submission(wizard)
        self.screenshot('wizard-submission')
        self.next(wizard)

        self.wait_page(wizard, '^Which Devices May Send\\?$',
                       previous='^Mailbox$')
        self.switch_lan_on(wizard)
        self.set_text(self.entry(wizard, 'Listen address'), lan_listen)
        self.set_allow(wizard, ALLOW)
        admin = self.entry(wizard, 'Admin address')
        self.assertEqual(admin.text, guitest.ADMIN,
                         'the admin address comes from the configuration')
        self.screenshot('wizard-network')
        self.next(wizard)

        self.wait_page(wizard, '^Ready to Apply$',
                       previous='^Listen address$')
        for name, value in (('Mailbox', MAILBOX),
                            ('Allowed devices', ALLOW),
                            ('Configuration file', self.relay.config_path)):
            found = guitest.find_all(wizard, '^%s$' % name, 'label')
            self.assertTrue(any(value in (n.text or '') for n in found),
                            'the summary shows %s = %s' % (name, value))
        self.screenshot('wizard-summary')
        self.next(wizard, 'Apply')

        # The assistant closes once the relay took the file.
        wait_until(lambda: not [w for w in self.app.node.children
                                if w.name == 'Setup Assistant'
                                and guitest.showing(w)],
                   what='the assistant to close')

        config = read_config(self.relay.config_path)
        relay = config['relay']
        route = config['route m365']
        self.assertIn(lan_listen, key_list(relay['listen']))
        self.assertIn('127.0.0.1:%d' % self.relay.port,
                      key_list(relay['listen']),
                      'the loopback listener stays')
        self.assertIn(ALLOW, key_list(relay['allow']))
        self.assertEqual(relay.get('route'), 'm365')
        self.assertEqual(relay.get('admin-address'), guitest.ADMIN)
        self.assertEqual(route['method'], 'submission')
        self.assertEqual(route['mailbox'], MAILBOX)
        self.assertEqual(route['client-id'], CLIENT)
        self.assertEqual(route.get('auth', 'oauth-device'), 'oauth-device')
        for key, value in (('host', 'localhost'),
                           ('port', str(self.fake.port)),
                           ('trust', guitest.PKI.ca_cert),
                           ('authority', self.entra.authority)):
            self.assertEqual(route.get(key), value, 'kept: %s' % key)

        # The relay reloaded it: the new listener is in force.
        status = wait_until(
            lambda: (lambda s: s if lan_listen in s['listen'] else None)(
                self.ctl.json('status')),
            what='the relay to listen on %s' % lan_listen)
        self.assertEqual([r['name'] for r in status['routes']], ['m365'])
        self.assertEqual(status['routes'][0]['method'], 'submission')

        # The OAuth route needs a sign-in: its dialog opens.
        signin = wait_until(lambda: [
            w for w in self.app.node.children
            if w.name == 'Sign In to Microsoft 365' and guitest.showing(w)],
            what='the sign-in dialog')[0]
        self.assertTrue(signin)
        ids = subprocess.run(
            ['xdotool', 'search', '--onlyvisible', '--name',
             '^Sign In to Microsoft 365$'], capture_output=True,
            text=True).stdout.split()
        self.app.screenshot('wizard-signin', window=ids[-1] if ids else None)


class OpenRelayCase(WizardCase):

    def test_apply_error_shows_in_the_infobar(self):
        # The previous file's copy cannot be written (a directory is in the
        # way): the error shows above the page, which stays for another try.
        backup = self.relay.config_path + '.bak'
        os.makedirs(os.path.join(backup, 'in-the-way'))
        self.addCleanup(shutil.rmtree, backup, True)
        with open(self.relay.config_path, encoding='utf-8') as f:
            before = f.read()
        wizard = self.open_from_banner()
        self.choose_submission(wizard)
        self.next(wizard)
        self.fill_submission(wizard)
        self.next(wizard)
        self.wait_page(wizard, '^Which Devices May Send\\?$',
                       previous='^Mailbox$')
        self.next(wizard)
        self.wait_page(wizard, '^Ready to Apply$', previous='^Listen address$')
        self.next(wizard, 'Apply')

        wait_until(lambda: guitest.find_all(
            wizard, None, 'label',
            text='^The configuration could not be saved .*Apply again\\.$'),
            what='the error above the page')
        apply_button = self.button(wizard, 'Apply')
        wait_until(lambda: apply_button.sensitive,
                   what='Apply to be sensitive again')
        self.assertTrue(guitest.find_all(wizard, '^Ready to Apply$',
                                         'heading'))
        self.screenshot('wizard-apply-error')
        with open(self.relay.config_path, encoding='utf-8') as f:
            self.assertEqual(f.read(), before, 'the file is unchanged')

        self.button(wizard, 'Cancel').doActionNamed('click')
        wait_until(lambda: not [w for w in self.app.node.children
                                if w.name == 'Setup Assistant'
                                and guitest.showing(w)],
                   what='the assistant to close')

    def test_wide_allow_entry_keeps_next_insensitive(self):
        # Banner (no route yet) -> ... -> 0.0.0.0/0: refused with the hint.
        wizard = self.open_from_banner()
        self.choose_submission(wizard)
        self.next(wizard)
        self.fill_submission(wizard)
        self.next(wizard)

        self.wait_page(wizard, '^Which Devices May Send\\?$',
                       previous='^Mailbox$')
        self.switch_lan_on(wizard)
        self.set_text(self.entry(wizard, 'Listen address'), '0.0.0.0:2525')
        self.set_allow(wizard, '0.0.0.0/0')
        next_button = self.button(wizard, 'Next')
        wait_until(lambda: guitest.find_all(wizard, None, 'label',
                                            text='open relay'),
                   what='the open-relay hint')
        self.assertFalse(next_button.sensitive,
                         'Next stays insensitive with 0.0.0.0/0')
        self.screenshot('wizard-open-relay')

        self.set_allow(wizard, ALLOW)
        wait_until(lambda: next_button.sensitive,
                   what='Next to become sensitive with %s' % ALLOW)
        wait_until(lambda: not guitest.find_all(wizard, None, 'label',
                                                text='open relay'),
                   what='the open-relay hint to go')

        # Back keeps what was typed on the page before.
        self.button(wizard, 'Back').doActionNamed('click')
        self.wait_page(wizard, '(?i)mailbox', previous='^Listen address$')
        self.assertEqual(self.entry(wizard, 'Mailbox').text, MAILBOX)

        self.button(wizard, 'Cancel').doActionNamed('click')
        wait_until(lambda: not [w for w in self.app.node.children
                                if w.name == 'Setup Assistant'
                                and guitest.showing(w)],
                   what='the assistant to close')
        self.assertFalse(os.path.exists(self.relay.config_path + '.bak'),
                         'Cancel wrote nothing')

    def test_without_relay_the_file_is_written(self):
        # The relay stops before Apply: the file is written all the same,
        # and the admin learns that it applies when the relay starts.
        lan_listen = '0.0.0.0:%d' % mbtest.free_port()
        wizard = self.open_from_banner()
        self.choose_submission(wizard)
        self.next(wizard)
        self.fill_submission(wizard)
        self.next(wizard)
        self.wait_page(wizard, '^Which Devices May Send\\?$',
                       previous='^Mailbox$')
        self.switch_lan_on(wizard)
        self.set_text(self.entry(wizard, 'Listen address'), lan_listen)
        self.set_allow(wizard, ALLOW)
        self.next(wizard)
        self.wait_page(wizard, '^Ready to Apply$', previous='^Listen address$')

        self.relay.stop()
        self.next(wizard, 'Apply')
        wait_until(lambda: [
            n for n in guitest.find_all(self.app.node, None, 'label',
                                        text='^The relay is not running')
            if 'new configuration' in (n.text or '')],
            what='the note that the relay is not running')
        self.app.screenshot('wizard-no-relay', window='root')

        config = read_config(self.relay.config_path)
        self.assertEqual(config['relay'].get('route'), 'm365')
        self.assertIn(lan_listen, key_list(config['relay']['listen']))
        self.assertIn(ALLOW, key_list(config['relay']['allow']))
        self.assertEqual(config['route m365']['mailbox'], MAILBOX)
        self.assertEqual(config['route m365']['client-id'], CLIENT)


if __name__ == '__main__':
    unittest.main()
