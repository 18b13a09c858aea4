"""No secret in the spool, the logs or the configuration (issue 5).

Runs after every other test: tests/meson.build gives it the lowest
priority, and integration tests run one at a time (tests named on the
meson test command line run in the order given: name this one last).
Proved here:
  (a) the scanner (mbtest.audit_tree) finds a planted secret in clear, in
      base64 at each alignment (AUTH LOGIN, inside an XOAUTH2 blob),
      URL-encoded and inside an SQLite database, and skips the secrets file
      a configuration names, so "nothing found" means something;
  (b) mailbridged, given a secrets file with a fresh secret of every kind
      and delivering with them to the fake Microsoft 365 (AUTH LOGIN, then
      XOAUTH2) with --verbose transcripts, leaves none of them, in any
      form, in its spool, logs, configuration or delivery-log database;
  (c) the directories of every test that ran before in this build
      directory (each audited by mbtest.remove_tmpdir as it was removed,
      against every secret the unit tests, the integration tests and the
      fakes recorded) held none of those secrets.
(c) consumes the findings and the ledger, so the next run starts afresh.
"""
import base64
import json
import os
import secrets
import smtplib
import sqlite3
import sys
import time
import unittest
import urllib.parse

import mbtest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), 'fakes'))

import fake_m365  # noqa: E402
import testpki  # noqa: E402

MAILBOX = 'audit-box@contoso.com'
DEVICE = 'scanner@contoso.com'
CLIENT_ID = '0d1c2b3a-4e5f-4a6b-8c7d-9e0f1a2b3c4d'
WAIT = 30 * mbtest.SCALE
KINDS = ('password', 'client-secret', 'refresh-token',
         'client-key-passphrase', 'access-token')


def fresh_secret(kind):
    # Spaces and URL-special characters exercise every encoded form.
    return 'audit %s+%s/%s' % (kind, secrets.token_urlsafe(18),
                               secrets.token_hex(4))


def describe(findings):
    return '\n'.join('%(path)s: %(secret)s (%(form)s)' % f for f in findings)


class AuditScannerTest(unittest.TestCase):
    """(a) The scanner itself, on planted files."""

    def setUp(self):
        self.root = mbtest.make_tmpdir('audit-scanner')
        self.addCleanup(mbtest._remove_tmpdir_unaudited, self.root)

    def write(self, name, data):
        path = os.path.join(self.root, name)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, 'wb') as f:
            f.write(data)
        return path

    def test_finds_every_form(self):
        # Each planted file is found with the form it holds; the clean
        # file, the configured secrets file and a too-short secret are not.
        password = b'planted password 7f3a'
        token = b'planted-token-EwBAAl3BAAUF-' + secrets.token_hex(8).encode()
        refresh = b'planted/refresh+token=0.AAAA'
        stored = b'planted-db-secret-91c2'
        short = b'abc'
        planted = {password, token, refresh, stored, short}

        self.write('spool/log.txt', b'x AUTH LOGIN ' + password + b'\n')
        for k in range(3):
            self.write('auth-%d.txt' % k,
                       b'334 UGFzc3dvcmQ6\n'
                       + base64.b64encode(b'\0' * k + password) + b'\n')
        blob = base64.b64encode(b'user=' + MAILBOX.encode()
                                + b'\x01auth=Bearer ' + token + b'\x01\x01')
        self.write('xoauth2.txt', b'C: ' + blob + b'\r\n')
        self.write('form.txt', b'grant_type=refresh_token&refresh_token='
                   + urllib.parse.quote(refresh, safe='').encode())
        db = os.path.join(self.root, 'state', 'log.sqlite')
        os.makedirs(os.path.dirname(db))
        with sqlite3.connect(db) as conn:
            conn.execute('CREATE TABLE t (x TEXT)')
            conn.executemany('INSERT INTO t VALUES (?)',
                             [('row %d' % i,) for i in range(500)]
                             + [(stored.decode(),)])
        conn.close()
        self.write('clean.txt', b'nothing to see; abc is too short\n')
        secrets_file = self.write(
            'secrets.conf', b'[route r]\npassword=' + password + b'\n')
        self.write('mailbridge.conf',
                   b'[relay]\nsecrets=' + secrets_file.encode() + b'\n')

        findings, files, skipped = mbtest.audit_tree(self.root, planted,
                                                     set())
        self.assertEqual(skipped, 1)
        self.assertNotIn(secrets_file, files)
        self.assertIn(os.path.join(self.root, 'clean.txt'), files)
        found = {(os.path.relpath(f['path'], self.root), f['form'])
                 for f in findings}
        for expected in [('spool/log.txt', 'clear'),
                         ('auth-0.txt', 'base64'),
                         ('auth-1.txt', 'base64'),
                         ('auth-2.txt', 'base64'),
                         ('xoauth2.txt', 'base64'),
                         ('form.txt', 'url-encoded'),
                         ('state/log.sqlite', 'clear')]:
            self.assertIn(expected, found)
        paths = {path for path, _ in found}
        self.assertNotIn('clean.txt', paths)
        self.assertNotIn('secrets.conf', paths)
        self.assertNotIn('mailbridge.conf', paths)
        # A finding never repeats the secret.
        for finding in findings:
            for secret in planted - {short}:
                self.assertNotIn(secret.decode(), finding['secret'])


class RelaySecretsTest(unittest.TestCase):
    """(b) A relay that used secrets of every kind leaves none behind."""

    def setUp(self):
        self.workdir = mbtest.make_tmpdir(type(self).__name__)
        self.addCleanup(mbtest.remove_tmpdir, self.workdir)
        self.secrets = {kind: fresh_secret(kind) for kind in KINDS}
        for value in self.secrets.values():
            mbtest.record_secret(value)
        self.relay = None
        self.fake = None

    def diagnostics(self):
        relay = getattr(self, 'relay', None)
        if relay is None or not relay.collectors:
            return None
        return '%s\nworkdir: %s' % (relay.log_tail(), self.workdir)

    def start(self, route):
        pki = testpki.ensure(testpki.default_dir())
        self.fake = fake_m365.FakeM365('submission', pki=pki)
        self.fake.users[MAILBOX] = {'password': self.secrets['password']}
        self.fake.add_token(self.secrets['access-token'], MAILBOX,
                            expires_in=3600)
        self.fake.start()
        self.addCleanup(self.fake.stop)

        path = os.path.join(self.workdir, 'secrets')
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, 'w') as f:
            f.write(mbtest.format_config({'route m365': self.secrets}))
        route = dict(route, host='localhost', port=self.fake.port,
                     trust=pki.ca_cert, mailbox=MAILBOX)
        self.relay = mbtest.Relay(
            self.workdir,
            {'route': 'm365', 'retry-schedule': '1s', 'secrets': path},
            {'route m365': route})
        self.addCleanup(self.relay.close)
        self.relay.start()

    def deliver_and_audit(self):
        with smtplib.SMTP(self.relay.host, self.relay.port,
                          timeout=mbtest.REPLY_TIMEOUT) as client:
            client.sendmail(MAILBOX, ['someone@example.net'],
                            b'From: <%s>\r\nTo: <someone@example.net>\r\n'
                            b'Subject: audit\r\n\r\nScanned.\r\n'
                            % MAILBOX.encode())
        self.fake.wait_for_messages(1, timeout=WAIT)
        self.relay.wait_for_log(r'queue-id=\S+ to=<someone@example\.net> '
                                r'route=m365 status=delivered')
        self.relay.stop_cleanly()
        # The secrets went through the relay: it signed in with them.
        self.assertGreaterEqual(self.fake.counters()['auth_successes'], 1)

        findings, files, skipped = mbtest.audit_tree(self.workdir)
        names = {os.path.relpath(p, self.workdir) for p in files}
        for expected in ('mailbridge.conf', 'mailbridged.0.log',
                         'xdg/xdg_state_home/mailbridge/delivery-log.sqlite'):
            self.assertIn(expected, names)
        self.assertNotIn('secrets', names)
        if findings:
            self.fail('secrets left behind:\n%s' % describe(findings))

    def test_basic_auth(self):
        """AUTH LOGIN with the secrets file's password."""
        self.start({'method': 'submission', 'auth': 'basic'})
        self.deliver_and_audit()

    def test_xoauth2(self):
        """XOAUTH2 with the secrets file's access token."""
        self.start({'method': 'submission', 'auth': 'oauth-device',
                    'client-id': CLIENT_ID})
        self.deliver_and_audit()


class SuiteAuditTest(unittest.TestCase):
    """(c) What every earlier test left, audited as it was removed."""

    def test_no_secret_left_by_any_test(self):
        """Every test directory removed in this build directory since the
        last audit held none of the recorded secrets."""
        findings_path = mbtest.secrets_findings_path()
        ledger_path = mbtest.secrets_ledger_path()
        if not findings_path:
            raise unittest.SkipTest('MB_BUILDDIR is not set (run through '
                                    'meson test)')
        audited, hits = [], []
        try:
            with open(findings_path, encoding='utf-8') as f:
                for line in f:
                    entry = json.loads(line)
                    (audited if 'audited' in entry else hits).append(entry)
        except FileNotFoundError:
            pass
        recorded, _ = mbtest.read_secrets_ledger()
        # Consume both, so the next run starts afresh (the last ones stay
        # beside them for a look).
        stamp = time.strftime('%Y%m%dT%H%M%S')
        for path in (findings_path, ledger_path):
            if os.path.exists(path):
                os.replace(path, '%s.last' % path)
        if not audited:
            raise unittest.SkipTest('no test directory was audited (run '
                                    'the whole suite)')
        searchable = [s for s in recorded
                      if len(s) >= mbtest.SECRET_MIN_LENGTH]
        self.assertTrue(searchable, 'no secret was recorded')
        files = sum(entry['files'] for entry in audited)
        print('# %s: %d secrets recorded (%d searchable), %d test '
              'directories and %d files searched'
              % (stamp, len(recorded), len(searchable), len(audited),
                 files))
        if hits:
            self.fail('%d secrets found where none may be:\n%s'
                      % (len(hits), describe(hits)))


if __name__ == '__main__':
    unittest.main()
