"""RFC 5321 limits: recipients, size, line length, idle time, errors and
connections per client, each with its reply and nothing queued by it."""
import time
import unittest

import mbtest


def queued_id(reply):
    return reply.text.rsplit('queued as ', 1)[1].strip()


class RecipientLimitTests(mbtest.RelayTestCase):
    # The default max-recipients is 500 (relay/mb-relay-config.h).

    def test_501st_recipient_gets_452_and_the_first_500_are_queued(self):
        conn = self.smtp_session()
        recipients = ['r%03d@example.org' % i for i in range(501)]
        # One write, as a PIPELINING client sends it.
        conn.send(b'MAIL FROM:<many@sender.example>\r\n'
                  + b''.join(b'RCPT TO:<%s>\r\n' % r.encode()
                             for r in recipients))
        self.assertReply(conn.read_reply(), 250)
        for i in range(500):
            self.assertReply(conn.read_reply(), 250,
                             msg='recipient %d refused' % (i + 1))
        self.assertReply(conn.read_reply(), 452, '4.5.3')
        self.assertReply(conn.command('DATA'), 354)
        conn.send(b'Subject: 500 recipients\r\n\r\nhello\r\n.\r\n')
        reply = conn.read_reply()
        self.assertReply(reply, 250)
        stored = mbtest.QueuedMessage(self.relay.spool, queued_id(reply))
        self.assertEqual(stored.envelope.recipient_addresses,
                         recipients[:500])


class SizeLimitTests(mbtest.RelayTestCase):
    relay_keys = {'max-message-size': '1M'}
    LIMIT = 1024 * 1024

    def test_ehlo_announces_the_size_limit(self):
        conn = self.relay.connect()
        self.addCleanup(conn.close)
        self.assertReply(conn.read_reply(), 220)
        ehlo = conn.command('EHLO client.mbtest.invalid')
        self.assertIn('SIZE %d' % self.LIMIT,
                      [line[4:] for line in ehlo.lines], ehlo)

    def test_mail_with_size_over_the_limit_gets_552(self):
        conn = self.smtp_session()
        self.assertReply(conn.command('MAIL FROM:<big@sender.example> SIZE=%d'
                                      % (2 * self.LIMIT)), 552, '5.3.4')
        # The refusal ends nothing but that MAIL.
        self.assertReply(conn.command('MAIL FROM:<small@sender.example>'),
                         250)
        self.assertEqual(self.relay.queue_ids(), [])

    def test_oversized_body_gets_552_after_the_end_and_nothing_is_queued(self):
        conn = self.smtp_session()
        self.assertReply(conn.command('MAIL FROM:<big@sender.example>'), 250)
        self.assertReply(conn.command('RCPT TO:<r@example.org>'), 250)
        self.assertReply(conn.command('DATA'), 354)
        line = b'x' * 76 + b'\r\n'
        body = line * (2 * self.LIMIT // len(line))
        # The body contains what would be commands if the relay stopped
        # reading at the limit.
        conn.send(b'Subject: too big\r\n\r\n' + body
                  + b'QUIT\r\n' + line * 10 + b'.\r\n')
        self.assertReply(conn.read_reply(), 552, '5.3.4')
        self.assertReply(conn.command('HELP'), 214,
                         msg='the session is out of step after the 552')
        self.assertEqual(self.relay.queue_ids(), [])
        conn.close()
        self.relay.stop_cleanly()
        self.assertEqual(mbtest.spool_files(self.relay.spool, 'tmp'), [])
        self.assertEqual(mbtest.spool_files(self.relay.spool, 'queue'), [])


class CommandLineLimitTests(mbtest.RelayTestCase):
    relay_keys = {'max-command-line-length': '1000'}

    def test_over_long_command_line_gets_500_and_the_session_goes_on(self):
        conn = self.smtp_session()
        long_line = b'MAIL FROM:<' + b'a' * 3000 + b'@sender.example>'
        self.assertReply(conn.command(long_line), 500, '5.5.2')
        # Nothing of the long line is read as a command.
        self.assertReply(conn.command('NOOP'), 250)
        self.assertReply(conn.command('RCPT TO:<r@example.org>'), 503)
        self.assertReply(conn.command('MAIL FROM:<a@sender.example>'), 250)


class IdleTimeoutTests(mbtest.RelayTestCase):
    relay_keys = {'idle-timeout': '1s'}

    def wait_for_421(self, conn, started):
        reply = conn.read_reply()  # blocking, bounded by the socket timeout
        elapsed = time.monotonic() - started
        self.assertReply(reply, 421, '4.4.2')
        # Not at once; GLib may round a seconds timeout down by 250 ms.
        self.assertGreaterEqual(elapsed, 0.5, 'closed before the idle '
                                'timeout: after %.2fs' % elapsed)
        self.assertEqual(conn.read_eof(), b'')

    def test_idle_client_gets_421_after_the_idle_timeout(self):
        conn = self.smtp_session()
        self.wait_for_421(conn, time.monotonic())

    def test_client_idle_inside_data_gets_421_and_nothing_is_queued(self):
        conn = self.smtp_session()
        self.assertReply(conn.command('MAIL FROM:<slow@sender.example>'), 250)
        self.assertReply(conn.command('RCPT TO:<r@example.org>'), 250)
        self.assertReply(conn.command('DATA'), 354)
        conn.send(b'Subject: never finished\r\n\r\nhalf a message\r\n')
        self.wait_for_421(conn, time.monotonic())
        self.assertEqual(self.relay.queue_ids(), [])
        self.relay.stop_cleanly()
        self.assertEqual(mbtest.spool_files(self.relay.spool, 'tmp'), [])


class ErrorLimitTests(mbtest.RelayTestCase):
    MAX_ERRORS = 3
    relay_keys = {'max-errors': str(MAX_ERRORS)}

    def test_error_over_max_errors_gets_421_and_the_connection_is_closed(self):
        conn = self.smtp_session()
        # max-errors errors are tolerated (answered, the session goes on)...
        for i in range(1, self.MAX_ERRORS + 1):
            reply = conn.command('BOGUS %d' % i)
            self.assertEqual(reply.code // 100, 5,
                             'error %d answered %s' % (i, reply))
        # ... the one beyond the limit ends the session: 421 instead of
        # its reply, or after it (as Postfix's hard error limit does).
        reply = conn.command('BOGUS %d' % (self.MAX_ERRORS + 1))
        if reply.code != 421:
            self.assertEqual(reply.code // 100, 5, reply)
            reply = conn.read_reply()
        self.assertReply(reply, 421, '4.7.0')
        self.assertEqual(conn.read_eof(), b'')


class ConnectionLimitTests(mbtest.RelayTestCase):
    relay_keys = {'max-connections-per-client': '2'}

    def test_third_connection_from_one_client_gets_421(self):
        first = self.relay.connect(source='127.0.0.1')
        second = self.relay.connect(source='127.0.0.1')
        for conn in (first, second):
            self.addCleanup(conn.close)
            # The greeting shows the relay has counted the connection.
            self.assertReply(conn.read_reply(), 220)
        with self.relay.connect(source='127.0.0.1') as third:
            self.assertReply(third.read_reply(), 421, '4.7.0')
            self.assertEqual(third.read_eof(), b'')
        # The limit is per client: another address is still served.
        with self.relay.connect(source='127.0.0.2') as other:
            self.assertReply(other.read_reply(), 220)
        # And the two first sessions are unharmed.
        self.assertReply(first.command('NOOP'), 250)
        self.assertReply(second.command('NOOP'), 250)


class TotalConnectionLimitTests(mbtest.RelayTestCase):
    # max-connections may not be below max-connections-per-client.
    relay_keys = {'max-connections': '2', 'max-connections-per-client': '2'}

    def test_connection_over_the_total_limit_gets_421(self):
        first = self.relay.connect(source='127.0.0.1')
        second = self.relay.connect(source='127.0.0.2')
        for conn in (first, second):
            self.addCleanup(conn.close)
            self.assertReply(conn.read_reply(), 220)
        with self.relay.connect(source='127.0.0.3') as third:
            self.assertReply(third.read_reply(), 421)
            self.assertEqual(third.read_eof(), b'')


if __name__ == '__main__':
    unittest.main()
