"""The Queue page against a running relay whose upstream defers.

The fake Microsoft 365 greylists the first attempt of every recipient
(451 4.7.500) and accepts the second, and the relay retries only after an
hour: mail stays queued, deferred, until the admin acts.  Proved here,
through AT-SPI on the real app:
  - the page lists the messages queued in the relay, and a message queued
    while the page is open appears without any action;
  - a deferred recipient shows its state and the reply's plain-language
    hint;
  - Retry on one message makes the relay deliver it and its row leaves the
    list (the page follows QueueChanged);
  - Delete hides the row at once and offers Undo; Undo brings it back and
    the relay still has it; a second Delete reaches the relay only after
    the notification timed out;
  - the search finds a message by recipient (case-insensitive) and
    clearing it brings every row back;
  - activating a row opens its envelope, headers and history;
  - Pause/Resume switch the relay and the button follows its state;
  - Retry All delivers the rest and the list empties.
Screenshots: queue, queue-undo-delete, message-details.
"""
import time
import unittest

import guitest
from guitest import wait_until

RECIPIENTS = ['anna@contoso.com', 'bernd@contoso.com', 'carla@contoso.com']
COPIES = ['copy%d@contoso.com' % i for i in range(len(RECIPIENTS))]
LATE = ['dieter@contoso.com', 'erika@contoso.com']


class QueuePageTests(guitest.GuiTestCase):

    paused = False
    rcpt_replies = {rcpt: [guitest.GREYLIST, None]
                    for rcpt in RECIPIENTS + COPIES + LATE}

    @classmethod
    def before_app(cls):
        for i, rcpt in enumerate(RECIPIENTS):
            cls.send([rcpt, COPIES[i]], subject='Scan %d' % i)
        wait_until(lambda: all(r['state'] == 'deferred'
                               for m in cls.ctl.queue()
                               for r in m['recipients'])
                   and len(cls.ctl.queue()) == len(RECIPIENTS),
                   what='every recipient deferred')

    def setUp(self):
        self.app.show_page('Queue')

    def row(self, recipient, present=True):
        """The row of the message to @recipient once it is shown (or True
        once it is gone, with present=False)."""
        name = 'Message from scanner@contoso.com to %s' % recipient

        def check():
            rows = guitest.find_all(self.app.window, '^%s$' % name,
                                    'list item')
            if present:
                return rows[0] if rows else None
            return not rows
        return wait_until(check, what='row %r %s' % (
            name, 'shown' if present else 'gone'))

    def message_id(self, recipient):
        for m in self.ctl.queue():
            if m['recipients'][0]['address'] == recipient:
                return m['id']
        return None

    def test_1_lists_queued_messages_and_new_ones(self):
        # Every queued message has a row; one queued later shows up live.
        for rcpt in RECIPIENTS:
            self.row(rcpt)
        self.send([LATE[0]], subject='Late scan')
        self.row(LATE[0])
        wait_until(lambda: guitest.find_all(
            self.app.window, r'^4 messages in the queue$', 'label'),
            what='the footer counting 4 messages')

    def test_2_deferred_state_and_hint(self):
        # A deferred recipient shows its state, the reply and its hint.
        row = self.row(RECIPIENTS[0])
        wait_until(lambda: guitest.find_all(
            row, r'^anna@contoso\.com \(deferred\), copy0@contoso\.com '
            r'\(deferred\)$', 'label'), what='deferred states')
        wait_until(lambda: guitest.find_all(row, r'^451 4\.7\.500 ',
                                            'label'),
                   what='the last reply')
        wait_until(lambda: guitest.find_all(row, r'\S{20,}', 'label'),
                   what='the hint')
        self.app.screenshot('queue')

    def test_3_retry_delivers_and_row_leaves(self):
        # Retry on a row makes the relay deliver it; the row goes away.
        queue_id = self.message_id(RECIPIENTS[0])
        self.assertIsNotNone(queue_id)
        row = self.row(RECIPIENTS[0])
        row.child(name='Retry', roleName='push button').doActionNamed('click')
        wait_until(lambda: self.message_id(RECIPIENTS[0]) is None,
                   what='the relay to deliver %s' % queue_id)
        self.assertTrue(any(RECIPIENTS[0] in m.rcpt_tos
                            for m in self.fake.messages))
        self.row(RECIPIENTS[0], present=False)
        self.row(RECIPIENTS[1])

    def test_4_delete_is_undoable_then_sent(self):
        # Delete hides the row and offers Undo; Undo restores it and the
        # relay kept the message; a second Delete reaches the relay only
        # after the notification's timeout.
        queue_id = self.message_id(RECIPIENTS[1])
        self.assertIsNotNone(queue_id)
        self.row(RECIPIENTS[1]).child(
            name='Delete', roleName='push button').doActionNamed('click')
        self.row(RECIPIENTS[1], present=False)
        wait_until(lambda: guitest.find_all(self.app.window,
                                            '^Message deleted$', 'label'),
                   what='the "Message deleted" notification')
        self.app.screenshot('queue-undo-delete')
        self.assertIn(queue_id, self.queue_ids(),
                      'the relay deleted before the timeout')
        undo = wait_until(lambda: guitest.find_all(
            self.app.window, '^Undo$', 'push button'), what='Undo')[0]
        undo.doActionNamed('click')
        self.row(RECIPIENTS[1])
        self.assertIn(queue_id, self.queue_ids())

        self.row(RECIPIENTS[1]).child(
            name='Delete', roleName='push button').doActionNamed('click')
        started = time.monotonic()
        self.row(RECIPIENTS[1], present=False)
        wait_until(lambda: queue_id not in self.queue_ids(),
                   what='the relay to delete %s' % queue_id)
        self.assertGreater(time.monotonic() - started, 3,
                           'deleted before the undo timeout')
        # Later queue updates do not bring it back.
        self.send([LATE[1]], subject='After delete')
        self.row(LATE[1])
        self.assertFalse(guitest.find_all(
            self.app.window,
            '^Message from scanner@contoso.com to %s$' % RECIPIENTS[1],
            'list item'))

    def test_4b_search(self):
        # The search finds a message by recipient in the whole queue and
        # clearing it brings the full list back.
        entry = self.app.window.child(name='Search the queue', roleName='text')
        entry.text = 'CARLA@contoso'
        self.row(RECIPIENTS[2])
        wait_until(lambda: not guitest.find_all(
            self.app.window, '^Message from .* to %s$' % LATE[0],
            'list item'), what='the other rows hidden')
        wait_until(lambda: guitest.find_all(
            self.app.window, '^1 message matches$', 'label'),
            what='the match count')
        entry.text = 'no such message'
        wait_until(lambda: not guitest.find_all(
            self.app.window, '^Message from ', 'list item'),
            what='no row for a search without match')
        entry.text = ''
        self.row(RECIPIENTS[2])
        self.row(LATE[0])

    def test_5_details(self):
        # Activating a row opens the message's envelope, headers, history.
        queue_id = self.message_id(RECIPIENTS[2])
        self.activate_row(RECIPIENTS[2])
        dialog = wait_until(lambda: [
            w for w in self.app.node.children
            if w.name == 'Message Details' and w.showing],
            what='the details window')[0]
        wait_until(lambda: guitest.find_all(dialog, '^Queue ID$', 'label',
                                            text='^%s$' % queue_id),
                   what='the queue id in the details')
        wait_until(lambda: guitest.find_all(
            dialog, r'^%s \(deferred\)$' % RECIPIENTS[2]),
            what='the recipient with its state')
        self.app.screenshot('message-details', window=self.dialog_window())
        dialog.child(name='Headers', roleName='radio button').doActionNamed(
            'click')
        headers = dialog.child(name='Header fields', roleName='text')
        wait_until(lambda: 'Subject: Scan 2' in headers.text,
                   what='the Subject header')
        dialog.child(name='History', roleName='radio button').doActionNamed(
            'click')
        wait_until(lambda: guitest.find_all(dialog, r'^Deferred: ',
                                            'list item'),
                   what='the deferred attempt in the history')
        dialog.child(name='Close', roleName='push button').doActionNamed(
            'click')
        wait_until(lambda: not [w for w in self.app.node.children
                                if w.name == 'Message Details'
                                and w.showing], what='details to close')

    def activate_row(self, recipient):
        # GtkListBoxRow has no AtkAction: focus it and press Enter.
        from dogtail import rawinput
        self.row(recipient).grabFocus()
        rawinput.pressKey('Return')

    def dialog_window(self):
        ids = guitest.subprocess.run(
            ['xdotool', 'search', '--onlyvisible', '--name',
             '^Message Details$'], capture_output=True,
            text=True).stdout.split()
        return ids[-1] if ids else None

    def test_6_pause_and_resume(self):
        # The button pauses and resumes the relay and follows its state.
        wait_until(lambda: guitest.find_all(
            self.app.window, '^Pause Delivery$', 'push button'),
            what='Pause Delivery')[0].doActionNamed('click')
        wait_until(lambda: self.ctl.json('status')['paused'] is True,
                   what='the relay to pause')
        wait_until(lambda: guitest.find_all(
            self.app.window, '^Resume Delivery$', 'push button'),
            what='Resume Delivery')[0].doActionNamed('click')
        wait_until(lambda: self.ctl.json('status')['paused'] is False,
                   what='the relay to resume')
        wait_until(lambda: guitest.find_all(
            self.app.window, '^Pause Delivery$', 'push button'),
            what='Pause Delivery again')

    def test_7_retry_all_empties_the_queue(self):
        # Retry All asks the relay, reports it, and the list empties as
        # the upstream accepts the second attempts.
        wait_until(lambda: guitest.find_all(
            self.app.window, '^Retry All$', 'push button'),
            what='Retry All')[0].doActionNamed('click')
        wait_until(lambda: guitest.find_all(
            self.app.window, r'^Retrying \d+ messages? now$', 'label'),
            what='the Retry All notification')
        wait_until(lambda: self.ctl.queue() == [], what='an empty queue')
        wait_until(lambda: guitest.find_all(
            self.app.window, '^0 messages in the queue$', 'label'),
            what='the footer counting no message')
        wait_until(lambda: not guitest.find_all(
            self.app.window, '^Message from ', 'list item'),
            what='no row left')


if __name__ == '__main__':
    unittest.main()
