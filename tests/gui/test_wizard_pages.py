"""The setup assistant's method pages: SMTP AUTH (submission) and MX.

Proved here, through AT-SPI on the real app and its assistant (app.setup):
  - connector by IP: the PowerShell names New-InboundConnector,
    -SenderIPAddresses and the typed IP, and the SPF record has ip4:<ip>;
    by certificate it uses -TlsSenderCertificateName instead;
  - Direct Send while DNS cannot answer (the test machine is offline): the
    MX lookup fails, the manual MX host entry appears, and Next becomes
    sensitive once a host is typed;
  - submission: choosing the password shows the basic-auth warning; the
    535 5.7.139 expander shows the Set-CASMailbox PowerShell; Next stores
    the password in the keyring (route m365, kind password) and empties
    the field.
Screenshots: wizard-mx-direct-send-offline, wizard-mx-connector-private-ip,
wizard-mx-connector-ip,
wizard-mx-connector-certificate, wizard-submission-basic,
wizard-submission-oauth-app.
"""
import os
import subprocess
import unittest

import guitest
from guitest import wait_until

import gi  # noqa: E402
gi.require_version('Secret', '1')
from gi.repository import Secret  # noqa: E402

IP = '203.0.113.10'
MX_HOST = 'contoso-com.mail.protection.outlook.com'
PASSWORD = 'Correct-Horse-7'
SCHEMA = Secret.Schema.new(
    'org.mailbridge.Secret', Secret.SchemaFlags.NONE,
    {'route': Secret.SchemaAttributeType.STRING,
     'kind': Secret.SchemaAttributeType.STRING,
     'expires': Secret.SchemaAttributeType.STRING})


def visible_within(node, page):
    """Whether @node and its parents up to @page are visible (the page
    may be scrolled so that it is not on screen)."""
    while node is not None and node != page:
        if not node.visible:
            return False
        node = node.parent
    return node == page


class WizardPagesCase(guitest.GuiTestCase):

    def open_wizard(self):
        subprocess.run(
            ['gdbus', 'call', '--session', '--dest',
             'org.mailbridge.Mailbridge', '--object-path',
             '/org/mailbridge/Mailbridge', '--method',
             'org.gtk.Actions.Activate', 'setup', '[]', '{}'],
            check=True, capture_output=True, timeout=30)
        self.wizard = wait_until(lambda: [
            w for w in self.app.node.children
            if w.name == 'Setup Assistant' and w.showing],
            what='the setup assistant')[0]
        self.addCleanup(self.close_wizard)
        return self.wizard

    def close_wizard(self):
        buttons = guitest.find_all(self.wizard, '^Cancel$', 'push button')
        if buttons:
            buttons[0].doActionNamed('click')
        wait_until(lambda: not [w for w in self.app.node.children
                                if w.name == 'Setup Assistant'
                                and w.showing],
                   what='the assistant to close')
        # Its pages went with lookups and timers maybe pending: the app
        # lives on.
        self.assertIsNone(self.app.proc.poll(), 'mailbridge exited')

    def shown_page(self):
        """The assistant's page in front: the stack beside the page's
        heading holds the pages, and only the visible one is mapped."""
        heading = guitest.find_all(self.wizard, None, 'heading',
                                   showing_only=False)[0]
        stack = heading.parent.children[heading.indexInParent + 1]
        return [p for p in stack.children if p.showing][0]

    def on_page(self, name, role, **kwargs):
        page = self.shown_page()
        return [n for n in guitest.find_all(page, name, role,
                                             showing_only=False, **kwargs)
                if visible_within(n, page)]

    def find(self, name, role, **kwargs):
        """The widget on the page in front, on screen or not (AT-SPI acts
        on it either way, and its cached "showing" state does not follow
        scrolling)."""
        return wait_until(lambda: self.on_page(name, role, **kwargs),
                          what='%s %s' % (role, name or kwargs))[0]

    def scroll_to(self, node):
        """Focuses @node, which scrolls the assistant to it."""
        node.grabFocus()
        wait_until(lambda: node.focused, what='focus on %s' % node.name)

    def gone(self, name, role, **kwargs):
        wait_until(lambda: not self.on_page(name, role, **kwargs),
                   what='%s %s to go' % (role, name or kwargs))

    def next_button(self):
        return wait_until(lambda: guitest.find_all(self.wizard, '^Next$',
                                                   'push button'),
                          what='Next')[0]

    def choose_method(self, method):
        self.find('^' + method, 'radio button').doActionNamed('click')
        next_button = self.next_button()
        wait_until(lambda: next_button.sensitive, what='Next for the method')
        next_button.doActionNamed('click')

    def screenshot(self, name):
        """The assistant's window once its pixels stop changing (GTK
        paints a frame after AT-SPI already reports the new state)."""
        ids = subprocess.run(['xdotool', 'search', '--onlyvisible', '--name',
                              '^Setup Assistant$'], capture_output=True,
                             text=True).stdout.split()
        target = ids[-1] if ids else 'root'
        last = [None]

        def settled():
            pixels = subprocess.run(['import', '-window', target, 'rgb:-'],
                                    capture_output=True, timeout=60).stdout
            same = pixels == last[0]
            last[0] = pixels
            return same
        wait_until(settled, what='the window to settle', interval=0.05)
        self.app.screenshot(name, window=target)

    def type_domain(self):
        self.find('^Domain$', 'text').text = 'contoso.com'
        # No DNS here: the lookup fails and the manual entry appears (its
        # revealer maps it).
        entry = self.find('^MX host$', 'text')
        wait_until(lambda: entry.showing, what='the manual MX host entry')
        return entry

    def test_1_direct_send_offline_manual_mx(self):
        # The failed MX lookup reveals the MX host entry; Next follows it.
        self.open_wizard()
        self.choose_method('Direct Send')
        self.find('^Require TLS$', 'check box')
        self.find(None, 'label', text='^Only recipients in your own')
        mx_entry = self.type_domain()
        # Offline, the resolver finds nothing or cannot ask.
        self.find('^MX record$', 'label')
        self.find(None, 'label', text='^(None found|Not known)$')
        next_button = self.next_button()
        mx_entry.text = ''
        wait_until(lambda: not next_button.sensitive,
                   what='Next insensitive without an MX host')
        mx_entry.text = MX_HOST
        wait_until(lambda: next_button.sensitive,
                   what='Next sensitive with the typed MX host')
        self.screenshot('wizard-mx-direct-send-offline')

    def test_2_connector_by_ip(self):
        # The typed IP shows up in the connector PowerShell and the SPF.
        self.open_wizard()
        self.choose_method('Relay through a connector')
        self.type_domain().text = MX_HOST
        self.find('^By this office’s static public IP address$',
                  'radio button')
        ip_entry = self.find('^Public IP address$', 'text')
        # A private address gets the hint beside the field once typing
        # pauses, and keeps Next insensitive.
        ip_entry.text = '192.168.1.10'
        self.find(None, 'label', text='inside your network')
        self.assertFalse(self.next_button().sensitive)
        self.scroll_to(ip_entry)
        self.screenshot('wizard-mx-connector-private-ip')
        ip_entry.text = IP
        self.gone(None, 'label', text='inside your network')
        powershell = self.find('^Connector PowerShell$', 'text')
        wait_until(lambda: IP in powershell.text,
                   what='the IP in the PowerShell')
        self.assertIn('New-InboundConnector', powershell.text)
        self.assertIn('-SenderIPAddresses', powershell.text)
        spf = self.find('^SPF record$', 'text')
        wait_until(lambda: 'ip4:' + IP in spf.text, what='ip4 in the SPF')
        next_button = self.next_button()
        wait_until(lambda: next_button.sensitive, what='Next sensitive')
        self.find('^Copy PowerShell$', 'push button')
        self.scroll_to(self.find('^Copy SPF record$', 'push button'))
        self.screenshot('wizard-mx-connector-ip')

        # A certificate instead: its name replaces the IP.
        self.find('^By a TLS certificate$', 'radio button').doActionNamed(
            'click')
        wait_until(lambda: not next_button.sensitive,
                   what='Next insensitive without the certificate')
        self.find('^Certificate name$', 'text').text = 'relay.contoso.com'
        wait_until(lambda: '-TlsSenderCertificateName' in powershell.text,
                   what='the certificate name in the PowerShell')
        self.assertNotIn('-SenderIPAddresses', powershell.text)
        self.scroll_to(self.find('^Certificate file$', 'filler').child(
            roleName='push button'))
        self.screenshot('wizard-mx-connector-certificate')

    def test_3_submission_basic_stores_password(self):
        # The password kind warns; Next stores the password, empties it.
        self.open_wizard()
        self.choose_method('SMTP AUTH with a mailbox')
        self.find('^Mailbox$', 'text').text = guitest.DEVICE
        warning = '^Basic authentication is being retired'
        self.assertFalse(self.on_page(None, 'label', text=warning))
        self.find('^Password \\(basic authentication\\)$',
                  'radio button').doActionNamed('click')
        password = self.find('^Password$', 'password text')
        self.find(None, 'label', text=warning)
        self.gone('^Tenant$', 'text')
        next_button = self.next_button()
        wait_until(lambda: not next_button.sensitive,
                   what='Next insensitive without a password')
        password.text = PASSWORD
        wait_until(lambda: next_button.sensitive, what='Next sensitive')

        expander = self.find('^If Microsoft 365 refuses the sign-in',
                             'toggle button')
        expander.doActionNamed('activate')
        powershell = self.find('^SMTP AUTH PowerShell$', 'text')
        wait_until(lambda: 'Set-CASMailbox' in powershell.text,
                   what='Set-CASMailbox in the PowerShell')
        self.assertIn(guitest.DEVICE, powershell.text)
        self.scroll_to(self.find('^Copy PowerShell$', 'push button'))
        self.screenshot('wizard-submission-basic')

        next_button.doActionNamed('click')
        wait_until(lambda: Secret.password_lookup_sync(
            SCHEMA, {'route': 'm365', 'kind': 'password'}, None) == PASSWORD,
            what='the password in the keyring')
        wait_until(lambda: password.text == '', what='the field emptied')

    def test_4_submission_oauth_app(self):
        # App-only shows the app's proof choice and the Exchange steps.
        self.open_wizard()
        self.choose_method('SMTP AUTH with a mailbox')
        self.find('^App-only \\(client secret or certificate\\)$',
                  'radio button').doActionNamed('click')
        self.find('^Mailbox$', 'text').text = guitest.DEVICE
        self.find('^Tenant$', 'text').text = 'contoso.com'
        self.find('^Application \\(client\\) ID$', 'text').text = (
            '9e5f94bc-e8a4-4e73-b8be-63364c29d753')
        self.find('^A client secret$', 'radio button')
        self.find(None, 'label', text='New-ServicePrincipal -AppId '
                  '9e5f94bc-e8a4-4e73-b8be-63364c29d753')
        next_button = self.next_button()
        wait_until(lambda: next_button.sensitive, what='Next sensitive')
        self.assertFalse(self.on_page('^Password$', 'password text'))
        self.scroll_to(self.find('^Certificate file$', 'filler').child(
            roleName='push button'))
        self.screenshot('wizard-submission-oauth-app')


if __name__ == '__main__':
    unittest.main()
