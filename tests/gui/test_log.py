"""The Log page against a relay that delivered, deferred and failed mail.

The fake upstream accepts frank@, refuses nobody@ (550 5.4.1) and
greylists later@ (451 4.7.500).  Proved here, through AT-SPI on the real
app:
  - the page lists the delivery log, each failure with its plain-language
    hint beside Microsoft's reply;
  - the address filter finds a message by its recipient (and hides the
    others); the search narrows by reply text;
  - a record logged while the page is open appears at the top;
  - Export writes what the filters select as RFC 4180 CSV (read back with
    Python's csv module) through the file chooser.
Screenshots: log, log-search.
"""
import csv
import os
import unittest

import guitest
from guitest import wait_until

DELIVERED = 'frank@contoso.com'
FAILED = 'nobody@contoso.com'
DEFERRED = 'later@contoso.com'
LIVE = 'gina@contoso.com'


def row_name(status, recipient):
    return '^%s: scanner@contoso\\.com → %s$' % (status,
                                                 recipient.replace('.', '\\.'))


class LogPageTests(guitest.GuiTestCase):

    paused = False
    rcpt_replies = {FAILED: guitest.REJECT_REPLY,
                    DEFERRED: guitest.GREYLIST}

    @classmethod
    def before_app(cls):
        for rcpt in (DELIVERED, FAILED, DEFERRED):
            cls.send([rcpt], subject='Report for %s' % rcpt)
        # The refused one bounces to the device, which the fake accepts.
        wait_until(lambda: [m['recipients'][0]['address']
                            for m in cls.ctl.queue()] == [DEFERRED]
                   and cls.ctl.queue()[0]['recipients'][0]['state']
                   == 'deferred',
                   what='only the deferred message left in the queue')

    def setUp(self):
        self.app.show_page('Log')
        self.address = self.app.window.child(name='Filter by address',
                                             roleName='text')
        self.search = self.app.window.child(name='Search the log',
                                            roleName='text')

    def tearDown(self):
        self.address.text = ''
        self.search.text = ''

    def rows(self, status, recipient):
        return guitest.find_all(self.app.window, row_name(status, recipient),
                                'list item')

    def wait_row(self, status, recipient):
        return wait_until(lambda: (self.rows(status, recipient) or [None])[0],
                          what='log row %s %s' % (status, recipient))

    def test_1_lists_records_with_hints(self):
        # Delivered, failed and deferred records are shown; a failure
        # carries Microsoft's reply and the hint's explanation.
        self.wait_row('Delivered', DELIVERED)
        self.wait_row('Deferred', DEFERRED)
        failed = self.wait_row('Failed', FAILED)
        wait_until(lambda: guitest.find_all(failed, None, 'label',
                                            text=r'^550 5\.4\.1 '),
                   what='the refusal in the failed row')
        labels = [l.text for l in guitest.find_all(failed, None, 'label')]
        hints = [t for t in labels
                 if len(t) > 40 and not t.startswith('550')
                 and '→' not in t]
        self.assertTrue(hints, 'no hint among %r' % labels)
        self.app.screenshot('log')

    def test_2_address_filter_finds_recipient(self):
        # Typing a recipient shows its records and hides the others.
        self.address.text = DELIVERED
        self.wait_row('Delivered', DELIVERED)
        wait_until(lambda: not self.rows('Failed', FAILED)
                   and not self.rows('Deferred', DEFERRED),
                   what='the other records hidden')

    def test_3_search_by_reply(self):
        # The search narrows to the records whose reply matches.
        self.search.text = '5.4.1'
        self.wait_row('Failed', FAILED)
        wait_until(lambda: not self.rows('Delivered', DELIVERED),
                   what='the delivered record hidden')
        self.app.screenshot('log-search')

    def test_4_new_record_appears(self):
        # A delivery logged while the page is open shows up by itself.
        self.send([LIVE], subject='Live')
        self.wait_row('Delivered', LIVE)

    def test_5_export_csv(self):
        # Export writes the filtered records as RFC 4180 CSV.
        self.wait_row('Delivered', LIVE)
        path = os.path.join(self.workdir, 'export, "quoted".csv')
        self.app.window.child(name='Export…', roleName='push button') \
            .doActionNamed('click')
        chooser = wait_until(lambda: [
            w for w in self.app.node.children
            if w.name == 'Export Delivery Log' and w.showing],
            what='the file chooser')[0]
        name = wait_until(lambda: guitest.find_all(chooser, None, 'text'),
                          what='the name field')[0]
        name.text = path
        chooser.child(name='Export', roleName='push button') \
            .doActionNamed('click')
        wait_until(lambda: guitest.find_all(
            self.app.window, r'^Exported \d+ records to ', 'label'),
            what='the export notification')
        with open(path, newline='', encoding='utf-8') as f:
            raw = f.read()
        self.assertTrue(raw.endswith('\r\n'))
        rows = list(csv.reader(raw.splitlines(keepends=True)))
        self.assertEqual(rows[0][:7], ['time', 'queue_id', 'message_id',
                                       'sender', 'recipient', 'route',
                                       'status'])
        by_recipient = {r[4]: r for r in rows[1:]}
        self.assertIn(by_recipient[FAILED][6], ('failed', 'bounced'))
        self.assertTrue(by_recipient[FAILED][7].startswith('550 5.4.1 '))
        self.assertEqual(by_recipient[DELIVERED][6], 'delivered')
        self.assertTrue(by_recipient[FAILED][9], 'no explanation column')
        # Everything the relay logged for these addresses is there.
        for rcpt in (DELIVERED, FAILED, DEFERRED, LIVE):
            self.assertIn(rcpt, by_recipient)


if __name__ == '__main__':
    unittest.main()
