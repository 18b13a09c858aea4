"""SMTP smuggling: every end-of-data other than <CRLF>.<CRLF> is refused.

For each variant, the DATA body holds the variant, then a second SMTP
transaction ("MAIL FROM:<evil@x>", "RCPT TO:<v@y>", "DATA", "smuggled"),
then the real end of data.  A relay that took the variant for the end of
data would answer 250 and then run the smuggled commands.  mailbridged must
answer exactly one reply, after the real end: a 5xx naming the bare LF or
bare CR; queue nothing (neither the first message nor the smuggled one);
and accept a clean message on the same connection afterwards.

"Exactly one reply" is checked by sending HELP next: its 214 must be the
very next reply, a code none of the smuggled commands could produce.
"""
import socket
import unittest
import uuid

import mbtest

SMUGGLED = (b'MAIL FROM:<evil@x>\r\n'
            b'RCPT TO:<v@y>\r\n'
            b'DATA\r\n'
            b'smuggled\r\n')
REAL_END = b'\r\n.\r\n'

# name, bytes put into the body, which bare character the reply must name,
# whether to send the variant one byte per write
VARIANTS = [
    ('lf_dot_lf', b'\n.\n', 'LF', False),
    ('cr_dot_cr', b'\r.\r', 'CR', False),
    ('lf_dot_crlf', b'\n.\r\n', 'LF', False),
    ('crlf_dot_lf', b'\r\n.\n', 'LF', False),
    ('cr_dot_crlf', b'\r.\r\n', 'CR', False),
    ('bare_lf_in_body', b'\nbare LF above\r\n', 'LF', False),
    ('bare_cr_in_body', b'\rbare CR before\r\n', 'CR', False),
    ('lf_dot_lf_one_byte_per_write', b'\n.\n', 'LF', True),
    ('crlf_dot_lf_one_byte_per_write', b'\r\n.\n', 'LF', True),
]


class SmugglingTests(mbtest.RelayTestCase):

    def transaction(self, conn, sender, recipient):
        self.assertReply(conn.command('MAIL FROM:<%s>' % sender), 250)
        self.assertReply(conn.command('RCPT TO:<%s>' % recipient), 250)
        self.assertReply(conn.command('DATA'), 354)

    def check_variant(self, variant, bare, one_byte_per_write):
        conn = self.smtp_session()
        self.transaction(conn, 'first@sender.example', 'first@example.org')

        head = b'Subject: smuggling test\r\n\r\nfirst message'
        tail = SMUGGLED + REAL_END
        if one_byte_per_write:
            conn.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            conn.send(head)
            for i in range(len(variant)):
                conn.send(variant[i:i + 1])
            conn.send(tail)
        else:
            conn.send(head + variant + tail)

        reply = conn.read_reply()
        self.assertEqual(reply.code // 100, 5,
                         'the smuggling attempt was answered: %s' % reply)
        self.assertRegex(reply.text, r'(?i)\bbare\b\W*%s\b' % bare)
        self.assertReply(conn.command('HELP'), 214,
                         msg='more than one reply to the smuggling attempt')
        self.assertEqual(self.relay.queue_ids(), [],
                         'a message was queued from the smuggling attempt')

        token = uuid.uuid4().hex
        self.transaction(conn, 'clean@sender.example', 'clean@example.org')
        conn.send(b'Subject: clean %s\r\n\r\nclean message\r\n.\r\n'
                  % token.encode())
        reply = conn.read_reply()
        self.assertReply(reply, 250, '2.0.0')
        self.assertReply(conn.command('QUIT'), 221)

        queued = self.relay.read_queue()
        self.assertEqual(len(queued), 1)
        self.assertIn(token.encode(), queued[0].eml)
        self.assertNotIn(b'smuggled', queued[0].eml)
        self.assertEqual(queued[0].envelope.sender, 'clean@sender.example')
        self.assertEqual(queued[0].envelope.recipient_addresses,
                         ['clean@example.org'])


def add_variant_test(name, variant, bare, one_byte_per_write):
    def test(self):
        self.check_variant(variant, bare, one_byte_per_write)
    test.__name__ = 'test_%s_is_refused_and_nothing_is_smuggled' % name
    test.__doc__ = ('%r in DATA: one 5xx naming bare %s, nothing queued, '
                    'the session goes on' % (variant, bare))
    setattr(SmugglingTests, test.__name__, test)


for _variant in VARIANTS:
    add_variant_test(*_variant)


if __name__ == '__main__':
    unittest.main()
