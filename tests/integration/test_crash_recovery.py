"""No acknowledged message is lost, and no half message is queued, when
mailbridged is killed (SIGKILL) at random moments under load.

Client threads (smtplib) send messages, each with a unique token, while a
killer thread SIGKILLs the daemon 10-20 times and restarts it on the same
port and spool, waiting for READY=1 each time.  A message counts as
acknowledged only once its client got the 250 to DATA; an unacknowledged
message is sent again with the next attempt number (header X-Test-Attempt).
After every token is acknowledged, the daemon is stopped cleanly, started
once more (recovery) and stopped.  Then:
  - every acknowledged (token, attempt) is in queue/ exactly once, under
    the queue id its 250 named; no token has two acknowledged attempts;
  - an unacknowledged attempt is there at most once (it may have been
    committed just before the kill);
  - every .env parses and has its .eml, every .eml has its .env, every
    message is complete (the body ends in the sha256 of what precedes it)
    with the envelope the client sent; nothing else is queued;
  - tmp/ and corrupt/ are empty.

Kills are spread over the run by progress: the killer picks random
acknowledgement counts and, when one is reached, waits a random 0-300 ms
(chaos timing, not synchronisation) and kills, so every kill lands while
clients are sending, whatever the machine's speed.

Environment (defaults in brackets; lower counts only to debug):
  MB_CRASH_MESSAGES  messages to acknowledge [1000]
  MB_CRASH_CLIENTS   concurrent client threads [20]
  MB_CRASH_KILLS     SIGKILLs [random 10-20]
  MB_CRASH_SEED      random seed [random; printed on stderr]
"""
import collections
import configparser
import hashlib
import os
import queue
import random
import re
import smtplib
import sys
import threading
import time
import unittest

import mbtest

N_MESSAGES = int(os.environ.get('MB_CRASH_MESSAGES', '1000'))
N_CLIENTS = int(os.environ.get('MB_CRASH_CLIENTS', '20'))
N_KILLS = os.environ.get('MB_CRASH_KILLS')
SEED = int(os.environ.get('MB_CRASH_SEED', str(random.randrange(2 ** 32))))

RUN_DEADLINE = 240 * mbtest.SCALE  # a hang fails, it does not pass late
CLIENT_TIMEOUT = 60 * mbtest.SCALE
MAX_ATTEMPTS = 40  # per token; more means the relay refuses for good
CLIENT_ADDRESS = '127.0.0.2'


def log(text):
    sys.stderr.write('crash-recovery: %s\n' % text)
    sys.stderr.flush()


class Attempt:
    def __init__(self, token, number, sender, recipients):
        self.token = token
        self.number = number
        self.sender = sender
        self.recipients = recipients
        self.acked = False
        self.queue_id = None


def build_message(rng, attempt):
    """Headers with the token and attempt; a body of random size whose last
    line is the sha256 of everything before it."""
    head = ('From: <%s>\r\n'
            'To: %s\r\n'
            'Subject: crash test %s attempt %d\r\n'
            'X-Test-Token: %s\r\n'
            'X-Test-Attempt: %d\r\n'
            '\r\n' % (attempt.sender,
                      ', '.join('<%s>' % r for r in attempt.recipients),
                      attempt.token, attempt.number, attempt.token,
                      attempt.number)).encode('ascii')
    if rng.random() < 0.15:
        size = rng.randint(20_000, 200_000)
    else:
        size = rng.randint(100, 4_000)
    filler = rng.randbytes(size // 2 + 1).hex()
    lines = [filler[i:i + 76] for i in range(0, size, 76)]
    content = ('token %s attempt %d\r\n' % (attempt.token, attempt.number)
               + ''.join(line + '\r\n' for line in lines)
               + '.a dot line to stuff and unstuff\r\n').encode('ascii')
    checksum = hashlib.sha256(content).hexdigest()
    return head + content + b'sha256 ' + checksum.encode('ascii') + b'\r\n'


def body_is_complete(eml):
    end = eml.find(b'\r\n\r\n')
    if end < 0 or not eml.endswith(b'\r\n'):
        return False
    body = eml[end + 4:]
    content, _, last = body[:-2].rpartition(b'\r\n')
    m = re.fullmatch(rb'sha256 ([0-9a-f]{64})', last)
    return bool(m) and hashlib.sha256(content + b'\r\n').hexdigest() \
        == m.group(1).decode()


class TransientFailure(Exception):
    """Worth sending again once the daemon is back."""


class PermanentFailure(Exception):
    """A reply no healthy relay gives to these messages."""


class CrashRun:
    def __init__(self, relay, rng):
        self.relay = relay
        self.rng = rng
        self.lock = threading.Lock()
        self.progress = threading.Condition(self.lock)
        self.attempts = {}       # (token, number) -> Attempt
        self.n_acked = 0
        self.failures = []       # fatal problems seen by threads
        self.kills = 0
        self.up = threading.Event()
        self.up.set()
        self.abort = threading.Event()
        # The last tokens wait until every kill is done, so that each kill
        # point (an acknowledgement count below them) lands under load.
        self.held_back = max(1, N_MESSAGES // 20)
        self.kills_done = threading.Event()
        self.work = queue.Queue()
        for i in range(N_MESSAGES):
            self.work.put((i, '%04d-%08x' % (i, rng.getrandbits(32))))

    def fail(self, text):
        with self.lock:
            self.failures.append(text)
        self.abort.set()
        self.up.set()  # wake the waiters so they see the abort

    # Clients

    def connect(self):
        # From another address than the relay's: while the daemon is down,
        # a connect from 127.0.0.1 could pick the relay's port as its own
        # and connect to itself (TCP simultaneous open), then hold the port.
        smtp = smtplib.SMTP(self.relay.host, self.relay.port,
                            local_hostname='client.mbtest.invalid',
                            timeout=CLIENT_TIMEOUT,
                            source_address=(CLIENT_ADDRESS, 0))
        code, msg = smtp.ehlo()
        if code != 250:
            smtp.close()
            raise TransientFailure('EHLO: %d %r' % (code, msg))
        return smtp

    @staticmethod
    def check(code, msg, what):
        if 400 <= code < 500:
            raise TransientFailure('%s: %d %r' % (what, code, msg))
        if code >= 500:
            raise PermanentFailure('%s: %d %r' % (what, code, msg))

    def send_attempt(self, smtp, attempt, data):
        code, msg = smtp.mail(attempt.sender)
        if code != 250:
            self.check(code, msg, 'MAIL')
        for r in attempt.recipients:
            code, msg = smtp.rcpt(r)
            if code != 250:
                self.check(code, msg, 'RCPT')
        try:
            code, msg = smtp.data(data)
        except smtplib.SMTPDataError as e:
            self.check(e.smtp_code, e.smtp_error, 'DATA')
            raise
        if code != 250:
            self.check(code, msg, 'end of DATA')
            raise PermanentFailure('end of DATA: %d %r' % (code, msg))
        m = re.search(r'queued as (\S+)', msg.decode('utf-8', 'replace'))
        if not m:
            raise PermanentFailure('250 without a queue id: %r' % msg)
        return m.group(1)

    def client(self, index):
        rng = random.Random(self.rng.getrandbits(64))
        # A quarter of the clients open a connection per message.
        per_message = index % 4 == 0
        sender = 'device-%02d@office.example' % index
        smtp = None
        try:
            while not self.abort.is_set():
                try:
                    position, token = self.work.get_nowait()
                except queue.Empty:
                    break
                if position >= N_MESSAGES - self.held_back:
                    if not self.kills_done.wait(RUN_DEADLINE):
                        self.fail('the killer never finished')
                        return
                recipients = ['r%d-%s@example.org' % (n, token)
                              for n in range(rng.randint(1, 3))]
                for number in range(1, MAX_ATTEMPTS + 1):
                    if self.abort.is_set():
                        return
                    attempt = Attempt(token, number, sender, recipients)
                    data = build_message(rng, attempt)
                    with self.lock:
                        self.attempts[(token, number)] = attempt
                    try:
                        if smtp is None:
                            smtp = self.connect()
                        queue_id = self.send_attempt(smtp, attempt, data)
                    except (TransientFailure, smtplib.SMTPServerDisconnected,
                            smtplib.SMTPConnectError,
                            ConnectionError) as e:
                        # Killed under us (or refused while it restarts):
                        # wait until it is back, then send again.
                        if smtp is not None:
                            smtp.close()
                            smtp = None
                        if not self.up.wait(RUN_DEADLINE):
                            self.fail('daemon not back: %s' % e)
                            return
                        continue
                    with self.progress:
                        attempt.acked = True
                        attempt.queue_id = queue_id
                        self.n_acked += 1
                        self.progress.notify_all()
                    break
                else:
                    self.fail('token %s not accepted in %d attempts'
                              % (token, MAX_ATTEMPTS))
                    return
                if per_message:
                    try:
                        smtp.quit()
                    except (smtplib.SMTPException, OSError):
                        pass
                    smtp.close()
                    smtp = None
        except PermanentFailure as e:
            self.fail('client %d: %s' % (index, e))
        except Exception as e:  # a timeout is a hang: fail, do not retry
            self.fail('client %d: %s: %s' % (index, type(e).__name__, e))
        finally:
            if smtp is not None:
                smtp.close()

    # Killer

    def killer(self, kill_points):
        try:
            for point in kill_points:
                with self.progress:
                    while self.n_acked < point and not self.abort.is_set():
                        self.progress.wait()
                if self.abort.is_set():
                    return
                # Chaos timing: where the kill lands is up to chance.
                if self.abort.wait(self.rng.uniform(0, 0.3)):
                    return
                self.up.clear()
                self.relay.kill()
                self.kills += 1
                self.relay.start()
                self.up.set()
        except Exception as e:
            self.fail('killer: %s: %s' % (type(e).__name__, e))
        finally:
            self.kills_done.set()

    def run(self):
        n_kills = (int(N_KILLS) if N_KILLS is not None
                   else self.rng.randint(10, 20))
        margin = self.held_back
        points = sorted(self.rng.sample(range(margin, N_MESSAGES - margin),
                                        min(n_kills,
                                            N_MESSAGES - 2 * margin)))
        clients = [threading.Thread(target=self.client, args=(i,),
                                    daemon=True) for i in range(N_CLIENTS)]
        killer = threading.Thread(target=self.killer, args=(points,),
                                  daemon=True)
        deadline = time.monotonic() + RUN_DEADLINE
        killer.start()
        for t in clients:
            t.start()
        for t in clients:
            t.join(max(0, deadline - time.monotonic()))
        killer.join(max(0, deadline - time.monotonic()))
        if any(t.is_alive() for t in clients) or killer.is_alive():
            self.fail('no progress within %ds: %d of %d acknowledged'
                      % (RUN_DEADLINE, self.n_acked, N_MESSAGES))
            self.relay.kill()
        return len(points)


class CrashRecoveryTests(mbtest.RelayTestCase):
    relay_keys = {
        'max-connections': '200',
        'max-connections-per-client': '100',
    }

    def test_sigkill_under_load_loses_no_acked_message_and_queues_no_half(self):
        log('seed=%d messages=%d clients=%d' % (SEED, N_MESSAGES, N_CLIENTS))
        run = CrashRun(self.relay, random.Random(SEED))
        started = time.monotonic()
        planned_kills = run.run()
        log('%d kills, %d attempts for %d messages in %.1fs'
            % (run.kills, len(run.attempts), N_MESSAGES,
               time.monotonic() - started))
        self.assertEqual(run.failures, [], 'seed %d' % SEED)
        self.assertEqual(run.n_acked, N_MESSAGES)
        self.assertEqual(run.kills, planned_kills)
        self.assertGreater(len(run.attempts), N_MESSAGES,
                           'no kill interrupted a transaction: the run '
                           'proved nothing')

        # A clean stop, a recovery start, a clean stop.
        started = time.monotonic()
        self.relay.stop_cleanly()
        self.relay.start()
        self.relay.stop_cleanly()
        log('clean stop, recovery start, clean stop in %.1fs'
            % (time.monotonic() - started))

        spool = self.relay.spool
        self.assertEqual(mbtest.spool_files(spool, 'tmp'), [], 'tmp/')
        self.assertEqual(mbtest.spool_files(spool, 'corrupt'), [],
                         'corrupt/')
        names = mbtest.spool_files(spool, 'queue')
        stems = collections.Counter(os.path.splitext(n)[0] for n in names)
        odd = [n for n in names if not n.endswith(('.eml', '.env'))]
        halves = [stem for stem, count in stems.items() if count != 2]
        self.assertEqual(odd, [], 'unexpected files in queue/')
        self.assertEqual(halves, [], 'ids without both .eml and .env')

        found = collections.defaultdict(list)  # (token, number) -> ids
        for queue_id in sorted(stems):
            try:
                stored = mbtest.QueuedMessage(spool, queue_id)
            except (ValueError, KeyError, configparser.Error) as e:
                self.fail('queue/%s.env does not parse: %s: %s'
                          % (queue_id, type(e).__name__, e))
            self.assertTrue(body_is_complete(stored.eml),
                            'incomplete message %s (%d bytes)'
                            % (queue_id, len(stored.eml)))
            message = stored.message
            key = (message['X-Test-Token'],
                   int(message['X-Test-Attempt']))
            attempt = run.attempts.get(key)
            self.assertIsNotNone(attempt, '%s holds a message never sent: '
                                 '%r' % (queue_id, key))
            self.assertEqual(stored.envelope.id, queue_id)
            self.assertEqual(stored.envelope.size, len(stored.eml))
            self.assertEqual(stored.envelope.sender, attempt.sender)
            self.assertEqual(stored.envelope.recipient_addresses,
                             attempt.recipients)
            found[key].append(queue_id)

        acked = [a for a in run.attempts.values() if a.acked]
        per_token = collections.Counter(a.token for a in acked)
        self.assertEqual(len(per_token), N_MESSAGES)
        self.assertEqual(set(per_token.values()), {1},
                         'a token acknowledged twice')
        lost = [(a.token, a.number, a.queue_id) for a in acked
                if found.get((a.token, a.number)) != [a.queue_id]]
        if lost:
            self.fail('%d acknowledged messages missing, duplicated or under '
                      'another id (seed %d); the first (token, attempt, id '
                      'of the 250): %s' % (len(lost), SEED, lost[:10]))
        twice = {k: v for k, v in found.items() if len(v) > 1}
        self.assertEqual(twice, {}, 'one attempt queued more than once')
        unacked_kept = len(found) - len(acked)
        log('%d queued, %d of them unacknowledged attempts kept'
            % (len(found), unacked_kept))


if __name__ == '__main__':
    unittest.main()
