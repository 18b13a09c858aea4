"""The allow list: a client outside it is refused at connect.

allow=127.0.0.1/32.  A client bound to source address 127.0.0.2 gets
"554 5.7.1" instead of the greeting, 503 to anything but QUIT, 221 to
QUIT, and the daemon logs the refusal with reason=not-in-allow-list;
nothing is queued.  A client from 127.0.0.1 is served.
"""
import unittest

import mbtest

INSIDE = '127.0.0.1'
OUTSIDE = '127.0.0.2'


class AllowListTests(mbtest.RelayTestCase):
    relay_keys = {'allow': INSIDE + '/32'}

    def test_client_outside_allow_list_gets_554_at_connect_and_a_log_line(self):
        with self.relay.connect(source=OUTSIDE) as conn:
            greeting = conn.read_reply()
            self.assertReply(greeting, 554, '5.7.1')
            # RFC 5321 3.1: after a 554 greeting only QUIT is served.
            self.assertReply(conn.command('EHLO outside.mbtest.invalid'), 503)
            self.assertReply(conn.command('MAIL FROM:<a@outside.example>'),
                             503)
            self.assertReply(conn.command('QUIT'), 221)
            self.assertEqual(conn.read_eof(), b'')

        line = self.relay.wait_for_log(r'\bclient=%s\b.*\brefused\b'
                                       % OUTSIDE.replace('.', r'\.'))
        fields = mbtest.parse_log_fields(line)
        self.assertEqual(fields.get('reason'), 'not-in-allow-list', line)
        self.assertTrue(fields.get('session'), 'no session= in: ' + line)
        self.assertTrue(fields.get('reply', '').startswith('554 5.7.1'),
                        line)
        self.assertEqual(self.relay.queue_ids(), [])

    def test_client_inside_allow_list_is_served(self):
        with self.relay.connect(source=INSIDE) as conn:
            self.assertReply(conn.read_reply(), 220)
            self.assertReply(conn.command('EHLO inside.mbtest.invalid'), 250)
            self.assertReply(conn.command('MAIL FROM:<a@inside.example>'), 250)
            self.assertReply(conn.command('RCPT TO:<b@example.org>'), 250)
            self.assertReply(conn.command('DATA'), 354)
            conn.send(b'Subject: from inside\r\n\r\nhello\r\n.\r\n')
            reply = conn.read_reply()
            self.assertReply(reply, 250, '2.0.0')
            self.assertReply(conn.command('QUIT'), 221)
        queue_id = reply.text.rsplit('queued as ', 1)[1].strip()
        self.assertEqual(self.relay.queue_ids(), [queue_id])
        log = '\n'.join(self.relay.log_lines())
        self.assertNotIn('not-in-allow-list', log)


if __name__ == '__main__':
    unittest.main()
