"""mailbridged's command line: --check-config, and the run contract
(READY=1, "listening on" per address, clean exit on SIGTERM and SIGINT,
no start on a bad configuration)."""
import os
import re
import signal
import socket
import subprocess
import unittest

import mbtest

# name, file text, the key the error must name, the line it must name
BAD_FILES = [
    ('unknown_key',
     '[relay]\nlisten=127.0.0.1:2525\nmax-recipents=5\n',
     'max-recipents', 3),
    ('bad_size',
     '[relay]\n# a comment line counts too\nmax-message-size=lots\n',
     'max-message-size', 3),
    ('bad_listen_address',
     '[relay]\nhostname=relay.example\n\nlisten=nowhere:port\n',
     'listen', 4),
    ('bad_allow_range',
     '[relay]\nallow=10.0.0.0/33\n',
     'allow', 2),
    ('bad_duration',
     '[relay]\nhostname=relay.example\nidle-timeout=soon\n',
     'idle-timeout', 3),
    ('bad_route_method',
     '[relay]\nroute=m365\n\n[route m365]\nmethod=carrier-pigeon\n',
     'method', 5),
]


def line_pattern(line):
    """'line 3' or 'FILE:3' (both usual ways of naming a line)."""
    return r'(?i)(\bline\s+%d\b|:%d\b)' % (line, line)


class CheckConfigTests(unittest.TestCase):

    def setUp(self):
        self.daemon = mbtest.daemon_path()
        self.workdir = mbtest.make_tmpdir('check-config')
        self.addCleanup(mbtest.remove_tmpdir, self.workdir)

    def check(self, path):
        return subprocess.run([self.daemon, '--check-config', path],
                              stdin=subprocess.DEVNULL, capture_output=True,
                              text=True, timeout=mbtest.START_TIMEOUT)

    def test_example_configuration_is_ok(self):
        path = os.path.join(mbtest.SOURCEDIR, 'data', 'mailbridge.conf.example')
        result = self.check(path)
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertEqual(result.stdout, '%s: configuration OK\n' % path)

    def check_bad_file(self, text, key, line):
        path = os.path.join(self.workdir, 'bad.conf')
        with open(path, 'w', encoding='utf-8') as f:
            f.write(text)
        result = self.check(path)
        self.assertNotEqual(result.returncode, 0, 'accepted:\n' + text)
        self.assertNotIn('configuration OK', result.stdout)
        self.assertRegex(result.stderr, r'(^|\W)%s(\W|$)' % re.escape(key))
        self.assertRegex(result.stderr, line_pattern(line))

    def test_syntax_error_names_the_line(self):
        path = os.path.join(self.workdir, 'syntax.conf')
        with open(path, 'w', encoding='utf-8') as f:
            f.write('[relay]\nhostname=relay.example\nthis is not a key\n')
        result = self.check(path)
        self.assertNotEqual(result.returncode, 0)
        self.assertRegex(result.stderr, line_pattern(3))

    def test_missing_file_is_an_error_naming_it(self):
        path = os.path.join(self.workdir, 'does-not-exist.conf')
        result = self.check(path)
        self.assertNotEqual(result.returncode, 0)
        self.assertIn('does-not-exist.conf', result.stderr)


def add_bad_file_test(name, text, key, line):
    def test(self):
        self.check_bad_file(text, key, line)
    test.__name__ = 'test_%s_is_refused_naming_key_and_line' % name
    setattr(CheckConfigTests, test.__name__, test)


for _case in BAD_FILES:
    add_bad_file_test(*_case)


class RunTests(mbtest.RelayTestCase):
    start_relay = False

    def test_ready_and_listening_log_then_sigterm_exits_0(self):
        self.relay.start()
        self.relay.wait_for_log(r'\blistening on 127\.0\.0\.1:%d$'
                                % self.relay.port)
        with self.relay.connect() as conn:
            self.assertReply(conn.read_reply(), 220)
            self.assertReply(conn.command('QUIT'), 221)
        self.relay.stop_cleanly(signal.SIGTERM)

    def test_sigint_exits_0(self):
        self.relay.start()
        self.relay.stop_cleanly(signal.SIGINT)

    def test_sigterm_tells_open_sessions_421_and_exits_0(self):
        self.relay.start()
        conn = self.smtp_session()
        self.assertReply(conn.command('MAIL FROM:<a@sender.example>'), 250)
        self.relay.stop_cleanly(signal.SIGTERM)
        # mb_smtp_session_close(): "421 4.3.2" and close.
        self.assertRegex(conn.read_eof(), rb'^421[ -]4\.3\.2\b')

    def test_bad_configuration_exits_non_zero_without_ready(self):
        path = os.path.join(self.workdir, 'bad.conf')
        with open(path, 'w', encoding='utf-8') as f:
            f.write('[relay]\nlisten=127.0.0.1:%d\nmax-message-size=lots\n'
                    % self.relay.port)
        self.relay.open_notify_socket()
        env = dict(os.environ, NOTIFY_SOCKET=self.relay.notify_name)
        result = subprocess.run([mbtest.daemon_path(), '--config', path],
                                stdin=subprocess.DEVNULL, capture_output=True,
                                text=True, env=env,
                                timeout=mbtest.START_TIMEOUT)
        self.assertNotEqual(result.returncode, 0)
        self.assertIn('max-message-size', result.stderr)
        self.relay.notify.setblocking(False)
        with self.assertRaises(BlockingIOError, msg='READY sent'):
            self.relay.notify.recv(4096)
        with self.assertRaises(ConnectionRefusedError):
            socket.create_connection(self.relay.address, timeout=5).close()


if __name__ == '__main__':
    unittest.main()
