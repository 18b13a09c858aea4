"""The app in German (LANGUAGE=de): every page and the test-send dialog
are photographed for the README and the CI artifacts, and the pages show
German text (no English left on the queue and log pages' controls).

The app reads the build tree's catalogue ($MB_BUILDDIR/po, passed as
MB_LOCALEDIR by run-gui-tests.sh); a missing catalogue fails the test.
Screenshots (docs/screenshots/ has the same names): status-de, queue-de,
log-de, test-send-de.
"""
import os
import unittest

import guitest
from guitest import wait_until

LATER = 'later@contoso.com'
FAILED = 'nobody@contoso.com'


class GermanTests(guitest.GuiTestCase):

    paused = False
    rcpt_replies = {LATER: guitest.GREYLIST, FAILED: guitest.REJECT_REPLY}
    app_env = {'LANGUAGE': 'de', 'LANG': 'C.UTF-8', 'LC_ALL': 'C.UTF-8'}

    @classmethod
    def before_app(cls):
        cls.send(['frank@contoso.com'], subject='Zugestellt')
        cls.send([FAILED], subject='Abgelehnt')
        cls.send([LATER, 'copy@contoso.com'], subject='Spaeter')
        wait_until(lambda: len(cls.ctl.queue()) == 1
                   and cls.ctl.json('status')['deferred'] == 1,
                   what='one deferred message left')

    def setUp(self):
        found = wait_until(lambda: guitest.find_all(
            self.app.window, '^(Warteschlange|Queue)$', 'radio button'),
            what='the page switcher')
        self.assertEqual(found[0].name, 'Warteschlange',
                         'the app is not in German: no catalogue in '
                         'MB_LOCALEDIR=%s' % os.environ.get(
                             'MB_LOCALEDIR'))

    def test_1_status_page(self):
        self.app.show_page('Status')
        self.app.screenshot('status-de')

    def test_2_queue_page(self):
        self.app.show_page('Warteschlange')
        wait_until(lambda: guitest.find_all(
            self.app.window, '^Nachricht von scanner@contoso.com an '
            'later@contoso.com$', 'list item'), what='the German row')
        for name in ('_?Alle erneut versuchen', 'Zustellung anhalten'):
            wait_until(lambda: guitest.find_all(self.app.window, name,
                                                'push button'),
                       what='button %s' % name)
        wait_until(lambda: guitest.find_all(
            self.app.window, None, 'label',
            text=r'^later@contoso\.com \(zurückgestellt\)'),
            what='the German recipient state')
        self.app.screenshot('queue-de')

    def test_3_log_page(self):
        self.app.show_page('Protokoll')
        wait_until(lambda: guitest.find_all(
            self.app.window, '^(Fehlgeschlagen|Zurückgewiesen): '
            'scanner@contoso.com → nobody@contoso.com$', 'list item'),
            what='the German failure row')
        self.app.screenshot('log-de')

    def test_4_test_send_dialog(self):
        self.app.show_page('Status')
        wait_until(lambda: guitest.find_all(
            self.app.window, '^Test-E-Mail senden …$', 'push button'),
            what='the test-send button')[0].doActionNamed('click')
        dialog = wait_until(lambda: [
            w for w in self.app.node.children
            if w.name == 'Test-E-Mail senden' and w.showing],
            what='the dialog')[0]
        entry = wait_until(lambda: guitest.find_all(dialog, '^An$', 'text'),
                           what='the To field (An)')[0]
        wait_until(lambda: entry.text == guitest.ADMIN,
                   what='the admin address in the To field')
        self.assertTrue(guitest.find_all(dialog, '^Von$', 'text'),
                        'the From field has no German accessible name')
        entry.text = FAILED
        dialog.child(name='Senden', roleName='push button').doActionNamed(
            'click')
        wait_until(lambda: guitest.find_all(
            dialog, '^Microsoft 365 hat die Test-E-Mail abgelehnt$',
            'label'), what='the German refusal')
        wait_until(lambda: not guitest.find_all(
            dialog, '^Das dauert', 'label'), what='the progress page gone')
        ids = guitest.subprocess.run(
            ['xdotool', 'search', '--onlyvisible', '--name',
             '^Test-E-Mail senden$'], capture_output=True,
            text=True).stdout.split()
        self.app.screenshot('test-send-de', window=ids[-1] if ids else None)


if __name__ == '__main__':
    unittest.main()
