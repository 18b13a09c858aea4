"""mailbridgectl against a running mailbridged over D-Bus (issue 6).

Each test starts its own private session bus (dbus-run-session with a
private configuration, started by the test), a fake Microsoft 365 Direct
Send upstream (tests/fakes/fake_m365.py) and mailbridged with --bus=session
routed to it.  mailbridgectl runs as a subprocess against that bus.
Proved here:
  - status --json: state, paused, queue_length, deferred, routes (name,
    method, state, last_reply, hint), listen;
  - queue list / show / retry / delete with their JSON fields, while the
    relay is paused (pause/resume), and a deferred recipient's reply and
    hint; delete logs the recipient as deleted; retrying one message
    while paused delivers that one only (retry --all and flush stay
    held);
  - test-send: delivered (exit 0), and refused by the fake (exit 1 with
    the reply and its plain-language hint);
  - log: --json fields, --grep, --since, and --follow streaming from the
    LogRecordAdded signal;
  - reload: a new allow list applies to the next connection while a
    session in the middle of DATA completes normally; an invalid file is
    refused with the reason (D-Bus and SIGHUP) and the old one keeps
    working.
Every wait is on a condition with a deadline (the fake's state, the log,
the queue as mailbridgectl reports it).
"""
import json
import os
import re
import signal
import smtplib
import subprocess
import sys
import time
import unittest

import mbtest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), 'fakes'))

import fake_m365  # noqa: E402
import testpki  # noqa: E402

PKI = testpki.ensure(testpki.default_dir())
WAIT = 30 * mbtest.SCALE
ADMIN = 'admin@contoso.com'
DEVICE = 'scanner@contoso.com'
REJECTED = 'nobody@contoso.com'
REJECT_REPLY = ('550 5.4.1 Recipient address rejected: Access denied. '
                '[DB5PEPF00014B8A.eurprd04.prod.outlook.com]')
LATER = 'later@contoso.com'
GREYLIST = ('451 4.7.500 Server busy. Please try again later from '
            '[127.0.0.1]. (S77719) [DB5PEPF00014B8A.eurprd04.prod.outlook.com]')


def ctl_path():
    path = os.path.join(mbtest.BUILDDIR or '', 'relay', 'mailbridgectl')
    if not mbtest.BUILDDIR or not os.access(path, os.X_OK):
        raise unittest.SkipTest('mailbridgectl is not built')
    return path


BUS_CONFIG = '''<!DOCTYPE busconfig PUBLIC
 "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:dir=%(socket_dir)s</listen>
  <auth>EXTERNAL</auth>
  %(servicedir)s
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
'''


class PrivateBus:
    """A session bus of our own: dbus-run-session with a private
    configuration (optionally a service directory for activation) runs a
    shell that prints the bus address and then waits on its stdin; closing
    stdin ends the shell and with it the bus."""

    def __init__(self, workdir, service_dir=None, env=None):
        if not os.access('/usr/bin/dbus-run-session', os.X_OK):
            raise unittest.SkipTest('dbus-run-session is not installed')
        self.workdir = workdir
        socket_dir = os.path.join(workdir, 'bus')
        os.makedirs(socket_dir, exist_ok=True)
        self.config = os.path.join(workdir, 'bus.conf')
        with open(self.config, 'w', encoding='utf-8') as f:
            f.write(BUS_CONFIG % {
                'socket_dir': socket_dir,
                'servicedir': ('<servicedir>%s</servicedir>' % service_dir
                               if service_dir else ''),
            })
        self.log_path = os.path.join(workdir, 'bus.log')
        self.log = open(self.log_path, 'wb')
        self.proc = subprocess.Popen(
            ['dbus-run-session', '--config-file', self.config, '--',
             'sh', '-c', 'echo "$DBUS_SESSION_BUS_ADDRESS"; exec cat'],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self.log,
            env=env if env is not None else dict(os.environ))
        self.address = self.proc.stdout.readline().decode().strip()
        if not self.address:
            self.close()
            raise AssertionError('dbus-run-session printed no address')

    def close(self):
        if self.proc.poll() is None:
            self.proc.stdin.close()
            try:
                self.proc.wait(mbtest.STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc.stdout.close()
        self.log.close()

    def log_text(self):
        try:
            with open(self.log_path, 'rb') as f:
                return f.read().decode('utf-8', 'replace')
        except FileNotFoundError:
            return '(removed)'



class Ctl:
    """Runs mailbridgectl on a bus."""

    def __init__(self, address):
        self.path = ctl_path()
        self.env = dict(os.environ, DBUS_SESSION_BUS_ADDRESS=address)

    def run(self, *args, timeout=WAIT + 30):
        return subprocess.run([self.path] + list(args),
                              stdin=subprocess.DEVNULL, capture_output=True,
                              text=True, env=self.env, timeout=timeout)

    def json(self, *args, expect=0):
        result = self.run('--json', *args)
        if result.returncode != expect:
            raise AssertionError('mailbridgectl --json %s exited %d, not %d:'
                                 '\n%s%s' % (' '.join(args),
                                             result.returncode, expect,
                                             result.stdout, result.stderr))
        return json.loads(result.stdout)

    def popen(self, *args):
        return subprocess.Popen([self.path] + list(args),
                                stdin=subprocess.DEVNULL,
                                stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True,
                                env=self.env)


def wait_until(predicate, timeout=WAIT, what='condition'):
    """Polls @predicate (a mailbridgectl call: each poll is a full round
    trip to the relay, no fixed delay) until it returns a true value."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError('timed out waiting for %s' % what)


def message(subject, to, sender=DEVICE):
    return ('From: Office Scanner <%s>\r\nTo: <%s>\r\nSubject: %s\r\n\r\n'
            'Scanned document.\r\n' % (sender, to, subject)).encode('ascii')


class ControlTestCase(mbtest.RelayTestCase):
    """A private bus, a fake Direct Send upstream and a relay on both."""

    start_relay = False
    relay_extra = {}

    def setUp(self):
        super().setUp()
        self.bus = PrivateBus(self.workdir)
        self.addCleanup(self.bus.close)
        self.ctl = Ctl(self.bus.address)

        self.fake = fake_m365.FakeM365('mx-direct-send', pki=PKI)
        self.fake.rcpt_replies = {REJECTED: REJECT_REPLY,
                                  LATER: [GREYLIST, None]}
        self.fake.start()
        self.addCleanup(self.fake.stop)

        keys = {'route': 'm365', 'retry-schedule': '1h',
                'admin-address': ADMIN}
        keys.update(self.relay_extra)
        self.route = {'method': 'direct-send', 'host': 'localhost',
                      'port': self.fake.port, 'trust': PKI.ca_cert,
                      'tls': 'required'}
        self.relay = mbtest.Relay(self.workdir, keys,
                                  {'route m365': self.route})
        self.addCleanup(self.relay.close)
        old = os.environ.get('DBUS_SESSION_BUS_ADDRESS')
        os.environ['DBUS_SESSION_BUS_ADDRESS'] = self.bus.address
        try:
            self.relay.start(extra_args=['--bus=session'])
        finally:
            if old is None:
                del os.environ['DBUS_SESSION_BUS_ADDRESS']
            else:
                os.environ['DBUS_SESSION_BUS_ADDRESS'] = old

    def diagnostics(self):
        text = super().diagnostics() or ''
        bus = getattr(self, 'bus', None)
        if bus is not None:
            text += '\n--- bus log ---\n' + bus.log_text()[-2000:]
        fake = getattr(self, 'fake', None)
        if fake is not None:
            text += '\n--- fake transcript (last 20) ---\n'
            text += '\n'.join(fake.transcript_lines()[-20:])
        return text

    def send(self, recipients, subject='test', sender=DEVICE):
        with smtplib.SMTP(self.relay.host, self.relay.port,
                          timeout=mbtest.REPLY_TIMEOUT) as client:
            refused = client.sendmail(sender, recipients,
                                      message(subject, recipients[0], sender))
        self.assertEqual(refused, {})

    def queue(self):
        return self.ctl.json('queue', 'list')

    def wait_queue(self, predicate, what):
        """The queue (queue list --json) once @predicate holds for it."""
        def check():
            queue = self.queue()
            return (queue,) if predicate(queue) else None
        return wait_until(check, what=what)[0]

    def rewrite_config(self, relay_changes):
        """The relay's configuration file with @relay_changes applied."""
        keys = {
            'listen': '127.0.0.1:%d' % self.relay.port,
            'allow': '127.0.0.0/8',
            'hostname': mbtest.HOSTNAME,
            'spool': self.relay.spool,
            'tls-certificate': self.relay.tls_certificate,
            'tls-key': self.relay.tls_key,
            'route': 'm365', 'retry-schedule': '1h', 'admin-address': ADMIN,
        }
        keys.update(relay_changes)
        with open(self.relay.config_path, 'w', encoding='utf-8') as f:
            f.write(mbtest.format_config({'relay': keys,
                                          'route m365': self.route}))


class StatusTests(ControlTestCase):

    def test_status_json_has_state_queue_and_routes(self):
        # status --json carries the contract's fields with the relay's
        # real values.
        status = self.ctl.json('status')
        self.assertEqual(status['state'], 'running')
        self.assertIs(status['paused'], False)
        self.assertEqual(status['queue_length'], 0)
        self.assertEqual(status['deferred'], 0)
        self.assertIn('127.0.0.1:%d' % self.relay.port, status['listen'])
        self.assertEqual(status['config_path'], self.relay.config_path)
        self.assertEqual(len(status['routes']), 1)
        route = status['routes'][0]
        self.assertEqual(route['name'], 'm365')
        self.assertEqual(route['method'], 'direct-send')
        self.assertEqual(route['state'], 'ready')
        self.assertEqual(route['last_reply'], '')
        self.assertEqual(route['hint'], '')
        self.assertIs(route['default'], True)

    def test_status_human_output_and_exit_0(self):
        # The default output is text for people, and exit status 0.
        result = self.ctl.run('status')
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertRegex(result.stdout, r'(?m)^Relay:\s+running$')
        self.assertRegex(result.stdout, r'(?m)^Route m365 \(direct-send, '
                                        r'default\): ready$')

    def test_pause_and_resume_change_state(self):
        # pause holds delivery (state paused), resume releases it.
        self.assertEqual(self.ctl.json('pause'), {'paused': True})
        status = self.ctl.json('status')
        self.assertEqual(status['state'], 'paused')
        self.assertIs(status['paused'], True)
        self.assertEqual(self.ctl.json('resume'), {'paused': False})
        status = self.ctl.json('status')
        self.assertEqual(status['state'], 'running')
        self.assertIs(status['paused'], False)

    def test_unknown_command_and_missing_id_exit_2(self):
        # Usage errors exit 2 with a message, without touching the relay.
        result = self.ctl.run('frobnicate')
        self.assertEqual(result.returncode, 2)
        self.assertIn('unknown command', result.stderr)
        result = self.ctl.run('queue', 'show')
        self.assertEqual(result.returncode, 2)

    def test_signin_refuses_a_route_without_oauth(self):
        # signin is for OAuth routes (test_oauth_delivery.py runs the
        # flows): a Direct Send route is refused with its auth named.
        result = self.ctl.run('signin', 'm365')
        self.assertEqual(result.returncode, 1, result.stderr)
        self.assertIn('auth=none', result.stderr)


class QueueTests(ControlTestCase):

    def test_queue_list_show_and_delete_while_paused(self):
        # A paused relay keeps the message queued; list and show report
        # it; delete removes it and logs its recipient as deleted.
        self.ctl.json('pause')
        self.send(['alice@contoso.com', 'bob@contoso.com'], subject='Held')
        queue = self.wait_queue(lambda q: len(q) == 1, 'one queued message')
        msg = queue[0]
        self.assertRegex(msg['id'], r'^[0-9a-f]{16}-[0-9a-f]{8}$')
        self.assertEqual(msg['sender'], DEVICE)
        self.assertEqual([r['address'] for r in msg['recipients']],
                         ['alice@contoso.com', 'bob@contoso.com'])
        for r in msg['recipients']:
            self.assertEqual(r['state'], 'queued')
            self.assertEqual(r['last_reply'], '')
            self.assertEqual(r['hint'], '')
        self.assertEqual(msg['size'], os.path.getsize(os.path.join(
            self.relay.queue_dir(), msg['id'] + '.eml')))
        self.assertRegex(msg['received'], r'^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$')
        self.assertEqual(msg['attempts'], 0)
        self.assertIn('next_attempt', msg)

        shown = self.ctl.json('queue', 'show', msg['id'])
        self.assertEqual(shown['id'], msg['id'])
        self.assertEqual(shown['client_address'], '127.0.0.1')
        headers = {h['name'].lower(): h['value'] for h in shown['headers']}
        self.assertEqual(headers['subject'], 'Held')
        self.assertIn('by ' + mbtest.HOSTNAME, headers['received'])

        status = self.ctl.json('status')
        self.assertEqual(status['queue_length'], 1)
        self.assertIsNotNone(status['oldest_received'])

        self.assertEqual(self.ctl.json('queue', 'delete', msg['id']),
                         {'deleted': msg['id']})
        self.assertEqual(self.queue(), [])
        self.assertEqual(self.relay.queue_ids(), [])
        records = wait_until(
            lambda: [r for r in self.ctl.json('log', '--grep', msg['id'])
                     if r['status'] == 'deleted'],
            what='deleted records')
        self.assertEqual(sorted(r['recipient'] for r in records),
                         ['alice@contoso.com', 'bob@contoso.com'])
        self.assertEqual(self.fake.messages, [])

    def test_queue_list_grep_searches_in_the_relay(self):
        # --grep (SearchQueue) finds messages by recipient, sender and
        # id, case-insensitively, counts the matches and honours --limit.
        self.ctl.json('pause')
        self.send(['alice@contoso.com'], subject='One')
        self.send(['Bob@Contoso.com', 'carol@contoso.com'], subject='Two')
        self.send(['bob@fabrikam.com'], subject='Three')
        queue = self.wait_queue(lambda q: len(q) == 3, 'three queued')
        found = self.ctl.json('queue', 'list', '--grep', 'BOB@')
        self.assertEqual([m['id'] for m in found],
                         [queue[1]['id'], queue[2]['id']])
        self.assertEqual(
            [m['id'] for m in self.ctl.json('queue', 'list', '--grep',
                                            queue[0]['id'][-8:])],
            [queue[0]['id']])
        self.assertEqual(len(self.ctl.json('queue', 'list', '--grep',
                                           DEVICE.upper())), 3)
        limited = self.ctl.json('queue', 'list', '--grep', 'bob',
                                '--limit', '1')
        self.assertEqual([m['id'] for m in limited], [queue[1]['id']])
        self.assertEqual(self.ctl.json('queue', 'list', '--grep', 'nobody'),
                         [])
        text = self.ctl.run('queue', 'list', '--grep', 'bob')
        self.assertEqual(text.returncode, 0, text.stderr)
        self.assertIn('2 messages in the queue match.', text.stdout)

    def test_show_and_delete_unknown_id_fail(self):
        # An unknown id is a NotFound error: a message and exit 1.
        for args in (('queue', 'show', '0000000000000000-00000000'),
                     ('queue', 'delete', '0000000000000000-00000000'),
                     ('queue', 'retry', '0000000000000000-00000000')):
            result = self.ctl.run(*args)
            self.assertEqual(result.returncode, 1, args)
            self.assertIn('0000000000000000-00000000', result.stderr)

    def test_deferred_recipient_shows_reply_and_hint_then_retry(self):
        # A greylisted recipient is deferred with the reply and its hint;
        # queue retry delivers it at once instead of in an hour.
        self.send([LATER], subject='Greylisted')
        queue = self.wait_queue(
            lambda q: q and q[0]['recipients'][0]['state'] == 'deferred',
            'a deferred recipient')
        msg = queue[0]
        rcpt = msg['recipients'][0]
        self.assertIn('4.7.500', rcpt['last_reply'])
        self.assertNotEqual(rcpt['hint'], '')
        self.assertNotEqual(rcpt['hint_text'], '')
        self.assertEqual(msg['attempts'], 1)
        self.assertIsNotNone(msg['next_attempt'])
        status = self.ctl.json('status')
        self.assertEqual(status['deferred'], 1)

        self.assertEqual(self.ctl.json('queue', 'retry', msg['id']),
                         {'retried': 1, 'id': msg['id']})
        self.fake.wait_for_messages(1, timeout=WAIT)
        self.wait_queue(lambda q: q == [], 'an empty queue')
        self.assertEqual(self.fake.messages[0].rcpt_tos, [LATER])

    def test_retry_one_while_paused_delivers_only_that_one(self):
        # An admin who paused the relay and retries one message gets that
        # message delivered now; the others stay queued until resume, and
        # retry --all does not override the pause.
        self.ctl.json('pause')
        self.send(['first@contoso.com'], subject='Held 1')
        self.send(['second@contoso.com'], subject='Held 2')
        self.send(['third@contoso.com'], subject='Held 3')
        queue = self.wait_queue(lambda q: len(q) == 3, 'three queued')
        wanted = next(m for m in queue
                      if m['recipients'][0]['address'] == 'second@contoso.com')

        self.assertEqual(self.ctl.json('queue', 'retry', wanted['id']),
                         {'retried': 1, 'id': wanted['id']})
        self.fake.wait_for_messages(1, timeout=WAIT)
        queue = self.wait_queue(lambda q: len(q) == 2, 'two left queued')
        self.assertNotIn(wanted['id'], [m['id'] for m in queue])
        self.assertEqual(self.fake.messages[0].rcpt_tos,
                         ['second@contoso.com'])
        for msg in queue:
            self.assertEqual(msg['attempts'], 0)
            self.assertEqual(msg['recipients'][0]['state'], 'queued')
        status = self.ctl.json('status')
        self.assertEqual(status['state'], 'paused')
        self.assertEqual(status['routes'][0]['state'], 'ready')

        # Still paused: retry --all is held, nothing else goes out.
        self.ctl.json('queue', 'retry', '--all')
        self.assertEqual(self.ctl.json('queue', 'flush', '--timeout', '1'),
                         {'attempted': 2, 'remaining': 2})
        self.assertEqual(len(self.fake.messages), 1)
        self.assertEqual(len(self.queue()), 2)

        self.ctl.json('resume')
        self.fake.wait_for_messages(3, timeout=WAIT)
        self.wait_queue(lambda q: q == [], 'an empty queue')

    def test_retry_all_and_flush_report_counts(self):
        # retry --all and flush answer with what they did.
        result = self.ctl.json('queue', 'retry', '--all')
        self.assertEqual(result, {'retried': 0})
        result = self.ctl.json('queue', 'flush', '--timeout', '5')
        self.assertEqual(result, {'attempted': 0, 'remaining': 0})


class TestSendTests(ControlTestCase):

    def test_test_send_delivered_exits_0(self):
        # The test message goes through the queue to the upstream.
        result = self.ctl.json('test-send', '--to', 'alice@contoso.com')
        self.assertEqual(result['outcome'], 'delivered')
        self.assertRegex(result['reply'], r'^250 ')
        self.assertRegex(result['queue_id'], r'^[0-9a-f]{16}-[0-9a-f]{8}$')
        self.fake.wait_for_messages(1, timeout=WAIT)
        got = self.fake.messages[0]
        self.assertEqual(got.rcpt_tos, ['alice@contoso.com'])
        self.assertEqual(got.mail_from, ADMIN)
        self.assertIn(b'Subject: Mailbridge test message', got.data)
        self.assertRegex(got.data, rb'(?im)^Message-ID: <[^>]+@%s>\r$'
                         % re.escape(mbtest.HOSTNAME.encode()))

    def test_test_send_refused_prints_reply_and_hint_and_exits_1(self):
        # A recipient the upstream refuses: the reply, its plain-language
        # hint, and a non-zero exit.
        result = self.ctl.json('test-send', '--to', REJECTED, expect=1)
        self.assertEqual(result['outcome'], 'failed')
        self.assertIn('5.4.1', result['reply'])
        self.assertEqual(result['hint'], 'm365.recipient-unknown')
        self.assertNotEqual(result['hint_text'], '')

        text = self.ctl.run('test-send', '--to', REJECTED)
        self.assertEqual(text.returncode, 1)
        self.assertIn('was not delivered (failed)', text.stdout)
        self.assertRegex(text.stdout, r'(?m)^Reply: 550 5\.4\.1 ')
        self.assertRegex(text.stdout, r'(?m)^Hint:  \S')

    def test_test_send_bad_address_is_refused(self):
        # An invalid address is an InvalidArgument error.
        result = self.ctl.run('test-send', '--to', 'not an address')
        self.assertEqual(result.returncode, 1)
        self.assertIn('not a valid recipient', result.stderr)


class LogTests(ControlTestCase):

    def test_log_json_grep_and_since(self):
        # Delivered records carry the contract's fields; --grep and
        # --since filter them.
        self.send(['alice@contoso.com'], subject='One')
        self.send(['bob@contoso.com'], subject='Two')
        self.fake.wait_for_messages(2, timeout=WAIT)
        def two_delivered():
            records = self.ctl.json('log')
            done = [r for r in records if r['status'] == 'delivered']
            return records if len(done) == 2 else None
        records = wait_until(two_delivered, what='two delivered records')
        delivered = [r for r in records if r['status'] == 'delivered']
        self.assertEqual(sorted(r['recipient'] for r in delivered),
                         ['alice@contoso.com', 'bob@contoso.com'])
        for r in delivered:
            self.assertEqual(r['sender'], DEVICE)
            self.assertEqual(r['route'], 'm365')
            self.assertRegex(r['reply'], r'^250 ')
            self.assertRegex(r['queue_id'], r'^[0-9a-f]{16}-[0-9a-f]{8}$')
            self.assertRegex(r['time'], r'^\d{4}-\d\d-\d\dT')
        only = self.ctl.json('log', '--grep', 'ALICE@contoso')
        self.assertEqual({r['recipient'] for r in only},
                         {'alice@contoso.com'})
        self.assertEqual(len(self.ctl.json('log', '--since', '1h')),
                         len(records))
        self.assertEqual(self.ctl.json('log', '--since', '2099-01-01'), [])

    def test_log_follow_streams_new_records(self):
        # --follow prints records as they are committed, from the signal.
        follower = self.ctl.popen('--json', 'log', '--follow')
        self.addCleanup(follower.kill)
        # Whether the record lands before the follower subscribed (then it
        # is in the history it reads) or after (then it comes as a
        # signal), it is printed exactly once.
        self.send(['carol@contoso.com'], subject='Followed')
        deadline = time.monotonic() + WAIT
        seen = []
        while time.monotonic() < deadline:
            line = follower.stdout.readline()
            if not line:
                break
            record = json.loads(line)
            seen.append(record)
            if record['status'] == 'delivered':
                break
        self.assertIn('carol@contoso.com',
                      [r['recipient'] for r in seen
                       if r['status'] == 'delivered'])
        follower.send_signal(signal.SIGTERM)
        self.assertEqual(follower.wait(mbtest.STOP_TIMEOUT), 0)


class ReloadTests(ControlTestCase):

    def test_reload_new_allow_list_spares_session_in_data(self):
        # The allow list changes for the next connection; a session in the
        # middle of DATA completes with 250 and its message is delivered.
        conn = self.smtp_session()
        self.assertReply(conn.command('MAIL FROM:<%s>' % DEVICE), 250)
        self.assertReply(conn.command('RCPT TO:<dave@contoso.com>'), 250)
        self.assertReply(conn.command('DATA'), 354)
        conn.send(b'Subject: mid-reload\r\n\r\nfirst half\r\n')

        self.rewrite_config({'allow': '192.0.2.0/24'})
        result = self.ctl.run('reload')
        self.assertEqual(result.returncode, 0, result.stderr)

        with self.relay.connect() as late:
            self.assertReply(late.read_reply(), 554, '5.7.1')

        conn.send(b'second half\r\n.\r\n')
        self.assertReply(conn.read_reply(), 250)
        self.assertReply(conn.command('QUIT'), 221)
        self.fake.wait_for_messages(1, timeout=WAIT)
        self.assertIn(b'second half', self.fake.messages[0].data)

    def test_invalid_config_is_refused_and_old_one_keeps_working(self):
        # check-config and reload refuse a file that does not validate,
        # naming the key; SIGHUP does too; the relay keeps serving.
        self.rewrite_config({'max-message-size': 'lots'})
        result = self.ctl.run('check-config')
        self.assertEqual(result.returncode, 1)
        self.assertIn('max-message-size', result.stderr)
        result = self.ctl.run('reload')
        self.assertEqual(result.returncode, 1)
        self.assertIn('max-message-size', result.stderr)

        self.relay.proc.send_signal(signal.SIGHUP)
        self.relay.wait_for_log(r'reload refused.*max-message-size')

        self.send(['erin@contoso.com'], subject='Still works')
        self.fake.wait_for_messages(1, timeout=WAIT)
        self.assertEqual(self.ctl.json('status')['state'], 'running')

    def test_check_config_ok(self):
        # A valid file is reported OK with its path.
        result = self.ctl.json('check-config')
        self.assertEqual(result, {'ok': True,
                                  'path': self.relay.config_path})


if __name__ == '__main__':
    unittest.main()
