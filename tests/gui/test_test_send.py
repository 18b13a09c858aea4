"""The test-send dialog against the fake Microsoft 365 upstream.

Proved here, through AT-SPI on the real app: the dialog opened from the
Status page sends through the relay and reports success when the upstream
accepts; against an upstream that refuses the recipient it shows
Microsoft's reply and the plain-language hint.
Screenshots: test-send-accepted, test-send-rejected.
"""
import unittest

import guitest
from guitest import wait_until

ACCEPTED = 'helpdesk@contoso.com'
REFUSED = 'nobody@contoso.com'


class TestSendCase(guitest.GuiTestCase):

    paused = False
    rcpt_replies = {REFUSED: guitest.REJECT_REPLY}

    def open_dialog(self):
        self.app.show_page('Status')
        wait_until(lambda: guitest.find_all(
            self.app.window, '^Send Test Email…$', 'push button'),
            what='the Send Test Email button')[0].doActionNamed('click')
        return wait_until(lambda: [
            w for w in self.app.node.children
            if w.name == 'Send Test Email' and w.showing],
            what='the test-send dialog')[0]

    def send_test(self, to):
        dialog = self.open_dialog()
        # The fields are found by their accessible names; To comes
        # prefilled with the relay's admin address.
        entry = wait_until(lambda: guitest.find_all(dialog, '^To$', 'text'),
                           what='the To field')[0]
        wait_until(lambda: entry.text == guitest.ADMIN,
                   what='the admin address in the To field')
        self.assertTrue(guitest.find_all(dialog, '^From$', 'text'),
                        'the From field has no accessible name')
        entry.text = to
        dialog.child(name='Send', roleName='push button').doActionNamed(
            'click')
        return dialog

    def settled(self, dialog):
        # The stack cross-fades from the progress page: wait until the
        # progress text is gone, so the screenshot shows one page.
        wait_until(lambda: not guitest.find_all(
            dialog, '^This takes a few seconds', 'label'),
            what='the progress page to leave')

    def close(self, dialog):
        wait_until(lambda: guitest.find_all(dialog, '^Close$',
                                            'push button'),
                   what='Close')[0].doActionNamed('click')
        wait_until(lambda: not [w for w in self.app.node.children
                                if w.name == 'Send Test Email'
                                and w.showing], what='the dialog to close')

    def dialog_window(self):
        ids = guitest.subprocess.run(
            ['xdotool', 'search', '--onlyvisible', '--name',
             '^Send Test Email$'], capture_output=True,
            text=True).stdout.split()
        return ids[-1] if ids else None

    def test_1_success(self):
        # The upstream accepts: the dialog says so, the fake got it.
        dialog = self.send_test(ACCEPTED)
        wait_until(lambda: guitest.find_all(
            dialog, '^Microsoft 365 accepted the test email$', 'label'),
            what='the success title')
        self.assertTrue(any(ACCEPTED in m.rcpt_tos
                            for m in self.fake.messages))
        self.settled(dialog)
        self.app.screenshot('test-send-accepted', window=self.dialog_window())
        self.close(dialog)

    def test_2_refused_shows_reply_and_hint(self):
        # The upstream refuses: the reply and its explanation are shown.
        dialog = self.send_test(REFUSED)
        wait_until(lambda: guitest.find_all(
            dialog, '^Microsoft 365 refused the test email$', 'label'),
            what='the refusal title')
        wait_until(lambda: guitest.find_all(dialog, None, 'label',
                                            text=r'^550 5\.4\.1 '),
                   what='the reply')
        wait_until(lambda: guitest.find_all(
            dialog, None, 'label',
            text='recipient address does not exist'),
            what='the hint')
        self.settled(dialog)
        self.app.screenshot('test-send-rejected',
                            window=self.dialog_window())
        self.close(dialog)


if __name__ == '__main__':
    unittest.main()
