"""A route rewritten in the configuration is used after a reload.

The setup assistant rewrites a [route NAME] and asks the running relay to
reload; the relay must then deliver with the new settings at once, without
a restart.  Each test starts a private session bus (as in
test_control.py), two fake Microsoft 365 upstreams A and B on their own
ports (tests/fakes/fake_m365.py, STARTTLS verified against the test CA)
and mailbridged routed to A; the test rewrites the configuration file and
calls `mailbridgectl reload` (D-Bus Reload), or sends SIGHUP.  Proved here:
  1. Direct Send moved from A to B: the next message goes to B; the one
     sent before went to A only; the route is still listed, ready;
  2. a message whose attempt on A is under way during the reload (A holds
     its final reply): it finishes on A and is recorded once, while the
     message sent after the reload goes to B meanwhile; each message is
     delivered exactly once and the queue ends empty;
  3. a submission route whose mailbox and password change (the secrets
     file rewritten as well) while a message waits for the route's only
     connection: that message goes out at once on a new connection,
     signed in as the new mailbox, and no AUTH is refused on the way (no
     attempt with the secrets read before the reload), while the attempt
     under way ends as the old mailbox; and a change of auth from AUTH
     LOGIN to XOAUTH2 with another mailbox's token;
  4. a route removed by a reload (SIGHUP): a new message waits, never
     attempted, as without any route; putting the route back delivers it.
Every test ends with a clean SIGTERM exit and no warning in the daemon's
log.  Every wait is on a condition with a deadline (the fakes' state, the
log, mailbridgectl's answers).
"""
import os
import re
import signal
import smtplib
import sys

import mbtest
from test_control import Ctl, PrivateBus, wait_until

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), 'fakes'))

import fake_m365  # noqa: E402
import testpki  # noqa: E402

PKI = testpki.ensure(testpki.default_dir())
WAIT = 30 * mbtest.SCALE
# How long fake A holds the final reply of the message in flight: long
# enough for a reload and another delivery, even under a sanitizer.
HOLD = 5 * mbtest.SCALE
DEVICE = 'scanner@contoso.com'
ADMIN = 'admin@contoso.com'
OLD_BOX = 'scanner-box@contoso.com'
NEW_BOX = 'copier-box@contoso.com'
OLD_PASSWORD = 'old horse battery staple'
NEW_PASSWORD = 'new horse battery staple'
NEW_TOKEN = 'EwBAAl3BAAUFFpUAo7J3Ve0bjLBWZWCclRC3EoAA-reload'
CLIENT_ID = '9e5f94bc-e8a4-4e73-b8be-63364c29d753'


def message(subject, to, sender=DEVICE):
    return ('From: Office Scanner <%s>\r\nTo: <%s>\r\nSubject: %s\r\n\r\n'
            'Scanned document.\r\n' % (sender, to, subject)).encode('ascii')


def hold_in_flight(fake):
    """Makes @fake hold its 250 to the message "in flight" for HOLD
    seconds, after it has the message: the carry-over delay of the fake's
    rate limit (logged as "carrying over"), here for that one message."""
    check = fake._check_message

    def holding_check(session, raw, transfer):
        reply, delay, accepted = check(session, raw, transfer)
        if b'Subject: in flight' in raw:
            delay = HOLD
        return reply, delay, accepted
    fake._check_message = holding_check


def subject_of(msg):
    match = re.search(rb'(?m)^Subject: (.*?)\r?$', msg.data)
    return match.group(1).decode() if match else None


class RouteReloadTestCase(mbtest.RelayTestCase):
    """Fakes A and B of `personality`, a private bus, and a relay routed
    to A with `route` (and `secrets`, written to a 0600 file)."""

    start_relay = False
    personality = 'mx-direct-send'
    route = {'method': 'direct-send', 'tls': 'required'}
    secrets = {}

    def setUp(self):
        super().setUp()
        self.bus = PrivateBus(self.workdir)
        self.addCleanup(self.bus.close)
        self.ctl = Ctl(self.bus.address)
        self.fake_a = self.start_fake()
        self.fake_b = self.start_fake()

        self.relay_keys = {'route': 'm365', 'retry-schedule': '1s',
                           'admin-address': ADMIN}
        self.secrets_path = os.path.join(self.workdir, 'secrets')
        if self.secrets:
            self.write_secrets(self.secrets)
            self.relay_keys['secrets'] = self.secrets_path
        self.route_keys = self.route_to(self.fake_a, self.route)
        self.relay = mbtest.Relay(self.workdir, dict(self.relay_keys),
                                  {'route m365': self.route_keys})
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

    def start_fake(self):
        fake = fake_m365.FakeM365(self.personality, pki=PKI)
        self.configure_fake(fake)
        fake.start()
        self.addCleanup(fake.stop)
        return fake

    def configure_fake(self, fake):
        pass

    def tearDown(self):
        if self.relay.running:
            self.relay.stop_cleanly()
        problems = [line for line in self.relay.log_lines()
                    if mbtest.PROBLEM.search(line)]
        self.assertEqual(problems, [], 'warnings or criticals logged')
        self.assertEqual(self.fake_a.errors, [])
        self.assertEqual(self.fake_b.errors, [])
        super().tearDown()

    def diagnostics(self):
        text = super().diagnostics() or ''
        for name in ('fake_a', 'fake_b'):
            fake = getattr(self, name, None)
            if fake is not None:
                text += '\n--- %s transcript (last 20) ---\n' % name
                text += '\n'.join(fake.transcript_lines()[-20:])
        return text

    # Configuration

    @staticmethod
    def route_to(fake, keys):
        route = {'host': 'localhost', 'port': fake.port,
                 'trust': PKI.ca_cert}
        route.update(keys)
        return route

    def write_secrets(self, secrets):
        for value in secrets.values():
            mbtest.record_secret(value)
        fd = os.open(self.secrets_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC,
                     0o600)
        with os.fdopen(fd, 'w') as f:
            f.write(mbtest.format_config({'route m365': dict(secrets)}))

    def rewrite_config(self, route):
        """The configuration file with [route m365] = @route (None: no
        route at all), the rest as the relay started with."""
        keys = {
            'listen': '127.0.0.1:%d' % self.relay.port,
            'allow': '127.0.0.0/8',
            'hostname': mbtest.HOSTNAME,
            'spool': self.relay.spool,
            'tls-certificate': self.relay.tls_certificate,
            'tls-key': self.relay.tls_key,
        }
        keys.update(self.relay_keys)
        groups = {'relay': keys}
        if route is not None:
            groups['route m365'] = route
        else:
            del keys['route']
        with open(self.relay.config_path, 'w', encoding='utf-8') as f:
            f.write(mbtest.format_config(groups))

    def reload(self):
        result = self.ctl.run('reload')
        self.assertEqual(result.returncode, 0, result.stderr)

    # Mail

    def send(self, subject, to, sender=DEVICE):
        with smtplib.SMTP(self.relay.host, self.relay.port,
                          timeout=mbtest.REPLY_TIMEOUT) as client:
            refused = client.sendmail(sender, [to],
                                      message(subject, to, sender))
        self.assertEqual(refused, {})

    def count_log(self, pattern):
        regex = re.compile(pattern)
        return sum(1 for line in self.relay.log_lines() if regex.search(line))

    def wait_queue_empty(self):
        wait_until(lambda: self.ctl.json('queue', 'list') == [],
                   what='an empty queue')

    def subjects(self, fake):
        return [subject_of(m) for m in fake.messages]

    def route_status(self):
        routes = self.ctl.json('status')['routes']
        return {route['name']: route for route in routes}


class DirectSendMoveTest(RouteReloadTestCase):

    def test_next_message_goes_to_new_upstream(self):
        # (1) Delivered to A; the route is rewritten to B and reloaded;
        # the next message goes to B, nothing else moves.
        self.send('before', 'alice@contoso.com')
        self.fake_a.wait_for_messages(1, timeout=WAIT)
        self.wait_queue_empty()

        self.rewrite_config(self.route_to(self.fake_b, self.route))
        self.reload()
        self.relay.wait_for_log(r'route=m365 settings=changed')
        self.assertEqual(self.route_status()['m365']['state'], 'ready')

        self.send('after', 'bob@contoso.com')
        [msg] = self.fake_b.wait_for_messages(1, timeout=WAIT)
        self.assertEqual(msg.rcpt_tos, ['bob@contoso.com'])
        self.assertIsNotNone(msg.tls_version)
        self.wait_queue_empty()
        self.assertEqual(self.subjects(self.fake_a), ['before'])
        self.assertEqual(self.subjects(self.fake_b), ['after'])
        # The old connection to A was closed with QUIT.
        self.fake_a.wait_until(
            lambda f: any(line == 'C: QUIT' for line in f.transcript_lines()),
            timeout=WAIT)


class InFlightTest(RouteReloadTestCase):

    def configure_fake(self, fake):
        hold_in_flight(fake)

    def test_attempt_under_way_finishes_once(self):
        # (2) The reload comes while A holds the final reply; the message
        # sent after it goes to B meanwhile; A's message is recorded once.
        self.send('in flight', 'alice@contoso.com')
        self.fake_a.wait_until(
            lambda f: any('carrying over' in line
                          for line in f.transcript_lines()),
            timeout=WAIT)

        self.rewrite_config(self.route_to(self.fake_b, self.route))
        self.reload()
        line = self.relay.wait_for_log(r'route=m365 settings=changed')
        self.assertIn('attempts-under-way=1', line)

        self.send('after', 'bob@contoso.com')
        self.fake_b.wait_for_messages(1, timeout=WAIT)
        # B did not wait for A's attempt to end.
        self.assertEqual(self.fake_a.messages, [])

        self.fake_a.wait_for_messages(1, timeout=WAIT)
        self.wait_queue_empty()
        self.assertEqual(self.subjects(self.fake_a), ['in flight'])
        self.assertEqual(self.subjects(self.fake_b), ['after'])
        # Each recorded once, as delivered.
        self.assertEqual(self.count_log(r'to=<alice@contoso\.com> '
                                        r'route=m365 status=delivered'), 1)
        self.assertEqual(self.count_log(r'to=<bob@contoso\.com> '
                                        r'route=m365 status=delivered'), 1)
        self.assertEqual(self.count_log(r'status=(?!delivered)'), 0)
        # The old connection is closed once its attempt ended.
        self.fake_a.wait_until(
            lambda f: any(line == 'C: QUIT' for line in f.transcript_lines()),
            timeout=WAIT)


class SubmissionMailboxChangeTest(RouteReloadTestCase):
    personality = 'submission'
    route = {'method': 'submission', 'auth': 'basic', 'mailbox': OLD_BOX,
             'max-connections': 1}
    secrets = {'password': OLD_PASSWORD}

    def configure_fake(self, fake):
        fake.users[OLD_BOX] = {'password': OLD_PASSWORD}
        fake.users[NEW_BOX] = {'password': NEW_PASSWORD}
        fake.add_token(NEW_TOKEN, NEW_BOX, expires_in=3600)
        hold_in_flight(fake)

    def test_waiting_message_uses_new_mailbox_and_password(self):
        # (3) The route's only connection holds "in flight"; "waiting"
        # waits for it.  Mailbox, password and the connection limit
        # change: "waiting" goes out at once as the new mailbox, the
        # attempt under way ends as the old one.
        self.send('in flight', 'someone@example.net')
        self.fake_a.wait_until(
            lambda f: any('carrying over' in line
                          for line in f.transcript_lines()),
            timeout=WAIT)
        self.send('waiting', 'someone@example.net')
        wait_until(lambda: len(self.ctl.json('queue', 'list')) == 2,
                   what='two queued messages')

        self.write_secrets({'password': NEW_PASSWORD})
        self.rewrite_config(self.route_to(self.fake_a, {
            'method': 'submission', 'auth': 'basic', 'mailbox': NEW_BOX}))
        self.reload()
        line = self.relay.wait_for_log(r'route=m365 settings=changed')
        self.assertIn('attempts-under-way=1', line)

        [first] = self.fake_a.wait_for_messages(1, timeout=WAIT)
        self.assertEqual(subject_of(first), 'waiting')
        self.assertEqual(first.auth_user.lower(), NEW_BOX)
        self.assertEqual(first.mail_from, NEW_BOX)
        messages = self.fake_a.wait_for_messages(2, timeout=WAIT)
        self.assertEqual(subject_of(messages[1]), 'in flight')
        self.assertEqual(messages[1].auth_user.lower(), OLD_BOX)
        self.assertEqual(messages[1].mail_from, OLD_BOX)
        self.wait_queue_empty()
        self.assertEqual(len(self.fake_a.messages), 2)
        self.assertEqual(self.fake_a.counters()['auth_failures'], 0)
        self.assertEqual(self.count_log(r'status=delivered'), 2)

    def test_new_mailbox_and_auth_used(self):
        # (3) AUTH LOGIN as the old mailbox; then mailbox, auth and the
        # secrets file change, and the next message is sent as the new
        # mailbox with XOAUTH2, with no refused AUTH in between.
        self.send('old mailbox', 'someone@example.net')
        [msg] = self.fake_a.wait_for_messages(1, timeout=WAIT)
        self.assertEqual(msg.auth_user.lower(), OLD_BOX)
        self.assertEqual(msg.mail_from, OLD_BOX)
        self.wait_queue_empty()

        self.write_secrets({'access-token': NEW_TOKEN})
        self.rewrite_config(self.route_to(self.fake_a, {
            'method': 'submission', 'auth': 'oauth-device',
            'client-id': CLIENT_ID, 'mailbox': NEW_BOX}))
        self.reload()
        self.relay.wait_for_log(r'route=m365 settings=changed')

        self.send('new mailbox', 'someone@example.net')
        messages = self.fake_a.wait_for_messages(2, timeout=WAIT)
        self.assertEqual(len(messages), 2)
        self.assertEqual(messages[1].auth_user.lower(), NEW_BOX)
        self.assertEqual(messages[1].mail_from, NEW_BOX)
        self.assertEqual(subject_of(messages[1]), 'new mailbox')
        transcript = '\n'.join(self.fake_a.transcript_lines())
        self.assertIn('AUTH XOAUTH2 ok mailbox=%s' % NEW_BOX, transcript)
        self.assertEqual(self.fake_a.counters()['auth_failures'], 0)
        self.wait_queue_empty()
        self.assertEqual(self.route_status()['m365']['state'], 'ready')
        self.assertEqual(self.fake_b.messages, [])


class RemovedRouteTest(RouteReloadTestCase):

    def test_removed_route_holds_then_delivers_when_back(self):
        # (4) Without its route a new message waits, unattempted; with the
        # route back (to B) it is delivered.
        self.send('before', 'alice@contoso.com')
        self.fake_a.wait_for_messages(1, timeout=WAIT)
        self.wait_queue_empty()

        self.rewrite_config(None)
        self.relay.proc.send_signal(signal.SIGHUP)
        self.relay.wait_for_log(r'route=m365 settings=removed')
        wait_until(lambda: self.ctl.json('status')['routes'] == [],
                   what='no route listed')

        self.send('waiting', 'bob@contoso.com')
        self.relay.wait_for_log(r'state=no-route-configured')
        [entry] = self.ctl.json('queue', 'list')
        self.assertEqual(entry['attempts'], 0)
        self.assertEqual(self.ctl.json('status')['state'], 'needs-attention')

        self.rewrite_config(self.route_to(self.fake_b, self.route))
        self.reload()
        [msg] = self.fake_b.wait_for_messages(1, timeout=WAIT)
        self.assertEqual(subject_of(msg), 'waiting')
        self.wait_queue_empty()
        self.assertEqual(self.subjects(self.fake_a), ['before'])
