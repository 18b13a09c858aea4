"""Shared helpers for Mailbridge's integration tests.

The real mailbridged ($MB_BUILDDIR/relay/mailbridged) runs as a subprocess
on a free loopback port with its spool in a temporary directory under
$MB_TEST_TMPDIR (default /var/tmp).  Readiness is the daemon's READY=1 on a
NOTIFY_SOCKET we bind (sd_notify protocol); its stderr is collected by a
thread into a file and into memory, so a test can block until a log line
appears.  Nothing here sleeps: every wait is a blocking call with a
deadline.

Environment:
  MB_BUILDDIR, MB_SOURCEDIR  set by tests/meson.build
  MB_TEST_TMPDIR             where temporary directories go (/var/tmp)
  MB_TEST_KEEP=1             keep each test's directory (spool, logs)
  MB_SANITIZER               set for ASan/UBSan builds: deadlines x4
"""
import configparser
import email.parser
import email.policy
import os
import re
import select
import shutil
import signal
import socket
import struct
import subprocess
import tempfile
import threading
import time
import unittest

SOURCEDIR = os.environ.get('MB_SOURCEDIR') or os.path.dirname(
    os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUILDDIR = os.environ.get('MB_BUILDDIR')
SANITIZER = bool(os.environ.get('MB_SANITIZER'))

# Deadlines, never waits: a healthy run is far below them.
SCALE = 4 if SANITIZER else 1
START_TIMEOUT = 30 * SCALE
STOP_TIMEOUT = 30 * SCALE
REPLY_TIMEOUT = 30 * SCALE

HOSTNAME = 'relay.mbtest.invalid'


def daemon_path():
    if not BUILDDIR:
        raise unittest.SkipTest('MB_BUILDDIR is not set (run through '
                                'meson test)')
    path = os.path.join(BUILDDIR, 'relay', 'mailbridged')
    if not os.access(path, os.X_OK):
        raise unittest.SkipTest('%s is not built' % path)
    return path


def tmp_base():
    return os.environ.get('MB_TEST_TMPDIR') or '/var/tmp'


def make_tmpdir(name):
    return tempfile.mkdtemp(prefix='mbtest-%s-' % name, dir=tmp_base())


def remove_tmpdir(path):
    if not os.environ.get('MB_TEST_KEEP'):
        shutil.rmtree(path, ignore_errors=True)


def free_port(host='127.0.0.1'):
    """A TCP port nobody listens on now (bound, never connected, so no
    TIME_WAIT is left behind)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


# Configuration


def format_config(groups):
    """GKeyFile text from {group: {key: value}}; a list value is joined
    with ';' (GKeyFile list syntax)."""
    out = []
    for group, keys in groups.items():
        out.append('[%s]' % group)
        for key, value in keys.items():
            if value is None:
                continue
            if isinstance(value, (list, tuple)):
                value = ';'.join(str(v) for v in value)
            out.append('%s=%s' % (key, value))
        out.append('')
    return '\n'.join(out)


# Logs


LOG_KV = re.compile(r'([A-Za-z0-9_.-]+)=("(?:[^"\\]|\\.)*"|\S*)')


def parse_log_fields(line):
    """The key=value pairs of a log line; quoted values are unquoted."""
    fields = {}
    for key, value in LOG_KV.findall(line):
        if value.startswith('"') and value.endswith('"') and len(value) > 1:
            value = re.sub(r'\\(.)', r'\1', value[1:-1])
        fields[key] = value
    return fields


PROBLEM = re.compile(r'^(WARNING|CRITICAL|ERROR) |Sanitizer|runtime error')


class LogCollector(threading.Thread):
    """Reads a pipe line by line into a file and a list; waiters block on a
    condition until a matching line arrives or the pipe closes."""

    def __init__(self, pipe, path):
        super().__init__(daemon=True)
        self.pipe = pipe
        self.path = path
        self.lines = []
        self.eof = False
        self.cond = threading.Condition()
        self.start()

    def run(self):
        with open(self.path, 'wb') as out:
            for raw in iter(self.pipe.readline, b''):
                out.write(raw)
                out.flush()
                with self.cond:
                    self.lines.append(raw.decode('utf-8', 'replace')
                                      .rstrip('\n'))
                    self.cond.notify_all()
        self.pipe.close()
        with self.cond:
            self.eof = True
            self.cond.notify_all()

    def wait_for(self, pattern, timeout, start=0):
        """The first line from index @start matching @pattern; None on
        timeout or end of output."""
        regex = re.compile(pattern)
        deadline = time.monotonic() + timeout
        index = start
        with self.cond:
            while True:
                while index < len(self.lines):
                    if regex.search(self.lines[index]):
                        return self.lines[index]
                    index += 1
                remaining = deadline - time.monotonic()
                if self.eof or remaining <= 0:
                    return None
                self.cond.wait(remaining)


# The daemon


def ucred_pid(ancillary):
    for level, kind, data in ancillary:
        if level == socket.SOL_SOCKET and kind == socket.SCM_CREDENTIALS:
            pid, _uid, _gid = struct.unpack('iII', data[:12])
            return pid
    return None


class Relay:
    """One mailbridged configuration, spool and port; start() may be called
    again after stop() or kill() (same port, same spool)."""

    def __init__(self, workdir, relay_keys=None, extra_groups=None,
                 verbose=True, daemon=None):
        self.workdir = workdir
        self.daemon = daemon  # None: the build tree's
        self.spool = os.path.join(workdir, 'spool')
        self.port = free_port()
        self.host = '127.0.0.1'
        self.verbose = verbose
        self.tls_certificate = os.path.join(workdir, 'tls', 'relay.crt')
        self.tls_key = os.path.join(workdir, 'tls', 'relay.key')
        os.makedirs(os.path.dirname(self.tls_certificate), exist_ok=True)
        keys = {
            'listen': '127.0.0.1:%d' % self.port,
            'allow': '127.0.0.0/8',
            'hostname': HOSTNAME,
            'spool': self.spool,
            'tls-certificate': self.tls_certificate,
            'tls-key': self.tls_key,
        }
        keys.update(relay_keys or {})
        groups = {'relay': keys}
        groups.update(extra_groups or {})
        self.config_path = os.path.join(workdir, 'mailbridge.conf')
        with open(self.config_path, 'w', encoding='utf-8') as f:
            f.write(format_config(groups))
        self.proc = None
        self.collector = None
        self.collectors = []  # one per start, oldest first
        self.notify = None
        self.notify_name = None

    @property
    def address(self):
        return (self.host, self.port)

    @property
    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def open_notify_socket(self):
        self.notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        # The sender's credentials tell a stale READY=1 of a killed
        # predecessor from the one of the process we wait for.
        self.notify.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
        path = os.path.join(self.workdir, 'notify.sock')
        if len(path.encode()) < 100:
            self.notify.bind(path)
            self.notify_name = path
        else:
            name = 'mbtest-notify-%d-%d' % (os.getpid(), id(self))
            self.notify.bind('\0' + name)
            self.notify_name = '@' + name

    def start(self, timeout=START_TIMEOUT, extra_args=()):
        """Starts the daemon and returns once it sent READY=1."""
        assert not self.running, 'mailbridged already runs'
        if self.notify is None:
            self.open_notify_socket()
        env = dict(os.environ)
        env['NOTIFY_SOCKET'] = self.notify_name
        env['G_DEBUG'] = 'fatal-criticals'
        env.pop('JOURNAL_STREAM', None)
        env.pop('LISTEN_FDS', None)
        env.pop('LISTEN_PID', None)
        for name in ('XDG_CONFIG_HOME', 'XDG_STATE_HOME', 'XDG_CACHE_HOME',
                     'XDG_DATA_HOME'):
            env[name] = os.path.join(self.workdir, 'xdg', name.lower())
        args = [self.daemon or daemon_path(), '--config', self.config_path]
        if self.verbose:
            args.append('--verbose')
        args.extend(extra_args)
        # Never take the name org.mailbridge.Relay1 on the bus of whoever
        # runs the tests: only tests that bring a private bus ask for one.
        if not any(a.startswith('--bus') for a in args):
            args.append('--bus=none')
        self.proc = subprocess.Popen(args, stdin=subprocess.DEVNULL,
                                     stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, env=env)
        log_path = os.path.join(self.workdir,
                                'mailbridged.%d.log' % len(self.collectors))
        self.collector = LogCollector(self.proc.stdout, log_path)
        self.collectors.append(self.collector)
        self.wait_ready(timeout)

    def wait_ready(self, timeout):
        deadline = time.monotonic() + timeout
        pidfd = os.pidfd_open(self.proc.pid)
        try:
            while True:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    self.kill()
                    raise AssertionError('mailbridged sent no READY=1 within '
                                         '%ds' % timeout)
                readable, _, _ = select.select([self.notify, pidfd], [], [],
                                               remaining)
                if self.notify in readable:
                    data, ancillary, _, _ = self.notify.recvmsg(
                        4096, socket.CMSG_SPACE(12))
                    if (ucred_pid(ancillary) == self.proc.pid
                            and b'READY=1' in data.split(b'\n')):
                        return
                    continue
                if pidfd in readable:
                    status = self.proc.wait()
                    self.collector.join(STOP_TIMEOUT)
                    raise AssertionError('mailbridged exited with status %d '
                                         'before READY=1' % status)
        finally:
            os.close(pidfd)

    def stop(self, signum=signal.SIGTERM, timeout=STOP_TIMEOUT):
        """Sends @signum and waits for the exit; returns the exit status."""
        self.proc.send_signal(signum)
        try:
            status = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise AssertionError('mailbridged did not exit within %ds of '
                                 'signal %d' % (timeout, signum))
        self.collector.join(STOP_TIMEOUT)
        return status

    def stop_cleanly(self, signum=signal.SIGTERM):
        status = self.stop(signum)
        if status != 0:
            raise AssertionError('mailbridged exited with status %d on signal '
                                 '%d, not 0' % (status, signum))

    def kill(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
        if self.proc is not None:
            self.proc.wait()
            self.collector.join(STOP_TIMEOUT)

    def close(self):
        self.kill()
        if self.notify is not None:
            self.notify.close()
            self.notify = None

    # Logs

    def log_lines(self):
        lines = []
        for collector in self.collectors:
            with collector.cond:
                lines.extend(collector.lines)
        return lines

    def log_tail(self, n=40):
        """The log's problems (warnings, criticals, sanitizer reports)
        and its last @n lines, as text for a failure report."""
        lines = self.log_lines()
        problems = [line for line in lines[:-n] if PROBLEM.search(line)]
        out = []
        if problems:
            out.append('--- %d earlier problem lines of mailbridged '
                       '(first 20) ---' % len(problems))
            out.extend(problems[:20])
        out.append('--- last %d of %d log lines of mailbridged ---'
                   % (min(n, len(lines)), len(lines)))
        out.extend(lines[-n:])
        return '\n'.join(out)

    def wait_for_log(self, pattern, timeout=REPLY_TIMEOUT):
        """Blocks until the running daemon logs a line matching @pattern
        (searching from its start) and returns it; fails on timeout."""
        line = self.collector.wait_for(pattern, timeout)
        if line is None:
            raise AssertionError('mailbridged logged no line matching %r'
                                 % pattern)
        return line

    # The spool

    def queue_dir(self):
        return os.path.join(self.spool, 'queue')

    def queue_ids(self):
        return queue_ids(self.spool)

    def read_queue(self):
        return read_queue(self.spool)

    # Clients

    def connect(self, source=None, timeout=REPLY_TIMEOUT):
        return SmtpSocket(self.address, source=source, timeout=timeout)


# The spool on disk


def spool_files(spool, sub):
    try:
        return sorted(os.listdir(os.path.join(spool, sub)))
    except FileNotFoundError:
        return []


def queue_ids(spool):
    """Ids of committed messages (those with an envelope), sorted."""
    return sorted(name[:-4] for name in spool_files(spool, 'queue')
                  if name.endswith('.env'))


def gkeyfile_unescape(value):
    """A GKeyFile string value (g_key_file_get_string escapes)."""
    escapes = {'s': ' ', 'n': '\n', 't': '\t', 'r': '\r', '\\': '\\'}
    out = []
    i = 0
    while i < len(value):
        c = value[i]
        if c == '\\':
            if i + 1 >= len(value) or value[i + 1] not in escapes:
                raise ValueError('invalid escape in key file value %r'
                                 % value)
            out.append(escapes[value[i + 1]])
            i += 2
        else:
            out.append(c)
            i += 1
    return ''.join(out)


class Envelope:
    """queue/ID.env read with configparser, values unescaped."""

    def __init__(self, text):
        parser = configparser.ConfigParser(
            interpolation=None, delimiters=('=',), comment_prefixes=('#',),
            inline_comment_prefixes=None, strict=True,
            empty_lines_in_values=False, default_section='\x00none')
        parser.optionxform = str  # GKeyFile keys are case-sensitive
        parser.read_string(text)
        self.groups = {
            name: {k: gkeyfile_unescape(v) for k, v in parser[name].items()}
            for name in parser.sections()}
        envelope = self.groups['envelope']
        self.id = envelope.get('id')
        self.sender = envelope['sender']
        self.size = int(envelope['size']) if 'size' in envelope else None
        numbered = []
        for name, keys in self.groups.items():
            m = re.fullmatch(r'recipient (\d+)', name)
            if m:
                numbered.append((int(m.group(1)), keys))
        numbered.sort(key=lambda item: item[0])
        self.recipients = [keys for _, keys in numbered]
        if [n for n, _ in numbered] != list(range(len(numbered))):
            raise ValueError('recipient groups are not numbered 0..N-1')
        if int(envelope.get('recipients', len(numbered))) != len(numbered):
            raise ValueError('recipients=%s but %d recipient groups'
                             % (envelope['recipients'], len(numbered)))

    @property
    def recipient_addresses(self):
        return [r['address'] for r in self.recipients]


class QueuedMessage:
    def __init__(self, spool, queue_id):
        self.id = queue_id
        base = os.path.join(spool, 'queue', queue_id)
        with open(base + '.env', encoding='utf-8') as f:
            self.envelope = Envelope(f.read())
        self.eml_path = base + '.eml'
        with open(self.eml_path, 'rb') as f:
            self.eml = f.read()

    @property
    def message(self):
        """The .eml parsed by the email package."""
        return email.parser.BytesParser(
            policy=email.policy.SMTPUTF8).parsebytes(self.eml)

    def header_fields(self):
        return header_fields(self.eml)


def read_queue(spool):
    return [QueuedMessage(spool, i) for i in queue_ids(spool)]


def header_fields(data):
    """The raw header fields of a CRLF message as [(name, raw_bytes)], in
    order, each raw field with its folding and its final CRLF."""
    end = data.find(b'\r\n\r\n')
    header = data[:end + 2] if end >= 0 else data
    fields = []
    for line in header.split(b'\r\n')[:-1]:
        if line[:1] in (b' ', b'\t') and fields:
            fields[-1][1] += line + b'\r\n'
        else:
            fields.append([line.split(b':', 1)[0].decode('ascii', 'replace'),
                           line + b'\r\n'])
    return [(name, raw) for name, raw in fields]


def unfold(raw):
    return re.sub(rb'\r\n(?=[ \t])', b'', raw).rstrip(b'\r\n').decode(
        'utf-8', 'replace')


def field_value(raw):
    return unfold(raw).split(':', 1)[1].strip()


def to_crlf(data):
    """What an SMTP client puts on the wire for @data: every line ending a
    CRLF (the stored .eml is unstuffed CRLF text)."""
    return re.sub(rb'\r?\n', b'\r\n', data)


# A raw SMTP client


class Reply:
    def __init__(self, lines):
        self.lines = lines  # str lines without CRLF
        self.code = int(lines[-1][:3])
        self.text = '\n'.join(lines)
        rest = lines[-1][4:]
        m = re.match(r'([245]\.\d{1,3}\.\d{1,3})\b', rest)
        self.enhanced = m.group(1) if m else None

    def __str__(self):
        return self.text

    def __repr__(self):
        return 'Reply(%r)' % self.text


class ConnectionClosed(Exception):
    pass


class SmtpSocket:
    """Line-oriented SMTP client on a plain socket, for what ordinary
    clients will not send (bare LF, pipelined junk, idle silence)."""

    def __init__(self, address, source=None, timeout=REPLY_TIMEOUT):
        self.sock = socket.create_connection(
            address, timeout=timeout,
            source_address=(source, 0) if source else None)
        self.buffer = b''

    def close(self):
        self.sock.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def send(self, data):
        self.sock.sendall(data)

    def read_line(self):
        while b'\r\n' not in self.buffer:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionClosed('connection closed by the relay; '
                                       'unread: %r' % self.buffer)
            self.buffer += chunk
        line, self.buffer = self.buffer.split(b'\r\n', 1)
        return line.decode('utf-8', 'replace')

    def read_reply(self):
        lines = []
        while True:
            line = self.read_line()
            if not re.match(r'[2-5]\d\d([ -]|$)', line):
                raise AssertionError('not an SMTP reply line: %r' % line)
            lines.append(line)
            if len(line) == 3 or line[3] == ' ':
                return Reply(lines)

    def command(self, line):
        if isinstance(line, str):
            line = line.encode('utf-8')
        self.send(line + b'\r\n')
        return self.read_reply()

    def read_eof(self):
        """Blocks until the relay closes the connection; returns what came
        before the close (bytes)."""
        data = self.buffer
        self.buffer = b''
        while True:
            try:
                chunk = self.sock.recv(65536)
            except ConnectionResetError:
                return data
            if not chunk:
                return data
            data += chunk


# Test cases


class RelayTestCase(unittest.TestCase):
    """Each test gets its own mailbridged, configured with the class's
    relay_keys, started and ready, in self.relay."""

    relay_keys = {}
    extra_groups = {}
    start_relay = True

    def setUp(self):
        self.workdir = make_tmpdir(type(self).__name__)
        self.addCleanup(remove_tmpdir, self.workdir)
        self.relay = Relay(self.workdir, dict(self.relay_keys),
                           dict(self.extra_groups))
        self.addCleanup(self.relay.close)
        if self.start_relay:
            self.relay.start()

    def diagnostics(self):
        relay = getattr(self, 'relay', None)
        if relay is None or not relay.collectors:
            return None
        return '%s\nworkdir: %s' % (relay.log_tail(), self.workdir)

    # Assertions shared by the test files

    def assertReply(self, reply, code, enhanced=None, msg=None):
        self.assertEqual(reply.code, code, msg or 'reply: %s' % reply)
        if enhanced is not None:
            self.assertEqual(reply.enhanced, enhanced,
                             msg or 'reply: %s' % reply)

    def smtp_session(self, source=None, ehlo='client.mbtest.invalid'):
        """A raw connection past the greeting and EHLO."""
        conn = self.relay.connect(source=source)
        self.addCleanup(conn.close)
        self.assertReply(conn.read_reply(), 220)
        self.assertReply(conn.command('EHLO ' + ehlo), 250)
        return conn



# ---------------------------------------------------------------------------
# Secrets ledger and audit (issue 5).  This section belongs to the
# credentials work; please keep other edits above it.
#
# Every secret a test hands to the relay or to a fake (passwords, tokens,
# client secrets) is recorded with record_secret() in a ledger, one per
# build directory: $MB_SECRETS_LEDGER, else
# $MB_BUILDDIR/mailbridge-secrets-ledger.txt (the C tests use the same,
# tests/secrets-ledger.h).  Each line is "S " and the secret in hex, or
# "F " and the path of a file that holds secrets by design
# (allow_secret_file()).
#
# Every test directory is audited just before it is removed (remove_tmpdir
# below wraps the one above): each regular file in it (spool, logs,
# configuration, the delivery-log database) is searched for each recorded
# secret in clear, base64 at any alignment, URL-encoded and GKeyFile-
# escaped.  The secrets file a configuration names ([relay] secrets) and
# files passed to allow_secret_file() are skipped.  Results go to
# <ledger>.findings (JSON lines); tests/integration/test_secret_audit.py
# runs after every other test and fails on any hit.

import base64 as _base64  # noqa: E402
import json as _json  # noqa: E402
import urllib.parse as _urlparse  # noqa: E402

# Shorter secrets are recorded but not searched: "secret" or "token" occur
# in ordinary log lines and key names.
SECRET_MIN_LENGTH = 8
_SECRETS_KEY = re.compile(rb'^[ \t]*secrets[ \t]*=[ \t]*(.+?)[ \t]*$', re.M)


def secrets_ledger_path():
    path = os.environ.get('MB_SECRETS_LEDGER')
    if path:
        return path
    if BUILDDIR:
        return os.path.join(BUILDDIR, 'mailbridge-secrets-ledger.txt')
    return None


def secrets_findings_path():
    path = secrets_ledger_path()
    return path + '.findings' if path else None


def _append_line(path, line):
    # One write(2) with O_APPEND: lines from concurrent tests never mix.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_CLOEXEC,
                 0o600)
    try:
        os.write(fd, line.encode('utf-8'))
    finally:
        os.close(fd)


def record_secret(value):
    """Adds @value (str or bytes) to the secrets the audit searches for."""
    path = secrets_ledger_path()
    if not path or not value:
        return
    if isinstance(value, str):
        value = value.encode('utf-8')
    _append_line(path, 'S %s\n' % value.hex())


def allow_secret_file(path):
    """Marks @path as a file that holds secrets by design (a fake's token
    configuration): the audit does not search it."""
    ledger = secrets_ledger_path()
    if ledger:
        _append_line(ledger, 'F %s\n' % os.path.abspath(path))


def read_secrets_ledger(path=None):
    """(set of secrets as bytes, set of allowed file paths)."""
    path = path or secrets_ledger_path()
    secrets, allowed = set(), set()
    if not path:
        return secrets, allowed
    try:
        with open(path, encoding='utf-8') as f:
            for line in f:
                kind, _, value = line.rstrip('\n').partition(' ')
                if kind == 'S' and value:
                    secrets.add(bytes.fromhex(value))
                elif kind == 'F' and value:
                    allowed.add(value)
    except FileNotFoundError:
        pass
    return secrets, allowed


def secret_needles(secret):
    """[(form, bytes)] to search for: the secret as stored, sent or logged
    by anything we know (clear, base64 as in AUTH LOGIN and inside an
    XOAUTH2 blob at any offset, URL-encoded form fields, GKeyFile
    escapes)."""
    needles = [('clear', secret)]
    for skip in range(3):
        # A base64 run of the secret starting on a 3-byte boundary: the
        # same characters whatever precedes it in the encoded blob.
        chunk = secret[skip:]
        chunk = chunk[:len(chunk) // 3 * 3]
        if len(chunk) >= 6:
            needles.append(('base64', _base64.b64encode(chunk)))
            needles.append(('base64url', _base64.urlsafe_b64encode(chunk)))
    text = secret.decode('utf-8', 'replace')
    for form, encoded in (
            ('url-encoded', _urlparse.quote(text, safe='')),
            ('form-encoded', _urlparse.quote_plus(text, safe='')),
            ('keyfile-escaped', text.replace('\\', '\\\\')
             .replace('\n', '\\n').replace('\t', '\\t')
             .replace('\r', '\\r'))):
        encoded = encoded.encode('utf-8')
        if encoded != secret:
            needles.append((form, encoded))
    unique, seen = [], set()
    for form, needle in needles:
        if needle not in seen:
            seen.add(needle)
            unique.append((form, needle))
    return unique


def mask_secret(secret):
    """How a finding names a secret without repeating it."""
    text = secret.decode('utf-8', 'replace')
    return '%s... (%d bytes)' % (text[:3], len(secret))


def _configured_secret_files(root):
    """Absolute paths named by "secrets=" in the .conf files under @root."""
    paths = set()
    for dirpath, _, names in os.walk(root):
        for name in names:
            if not name.endswith('.conf'):
                continue
            path = os.path.join(dirpath, name)
            try:
                with open(path, 'rb') as f:
                    data = f.read(1 << 20)
            except OSError:
                continue
            for match in _SECRETS_KEY.finditer(data):
                value = os.fsdecode(match.group(1))
                paths.add(os.path.normpath(os.path.join(dirpath, value)))
    return paths


def _files_with_any(files, needles):
    """The files of @files that may hold one of @needles: GNU grep's
    multi-string search (fast on large spools) picks them, Python then
    checks them one by one.  Needles grep cannot take (newline, NUL) and
    any grep error make every file a candidate."""
    if not files or not needles:
        return []
    if any(b'\n' in n or b'\0' in n for n in needles):
        return files
    candidates = []
    for start in range(0, len(files), 500):
        chunk = files[start:start + 500]
        result = subprocess.run(
            ['grep', '-F', '-l', '-a', '-f', '-', '--'] + chunk,
            input=b'\n'.join(needles), stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL, env=dict(os.environ, LC_ALL='C'))
        if result.returncode == 0:
            candidates.extend(os.fsdecode(line) for line
                              in result.stdout.splitlines())
        elif result.returncode != 1:
            candidates.extend(chunk)
    return candidates


def audit_tree(root, secrets=None, allowed=None):
    """Searches every regular file under @root (symlinks not followed) for
    the recorded secrets.  Returns (findings, files, skipped_secrets):
    findings as [{'path', 'form', 'secret'}] with the secret masked, files
    the paths searched, skipped_secrets how many were too short."""
    if secrets is None or allowed is None:
        ledger_secrets, ledger_allowed = read_secrets_ledger()
        secrets = ledger_secrets if secrets is None else secrets
        allowed = ledger_allowed if allowed is None else allowed
    searched = [s for s in secrets if len(s) >= SECRET_MIN_LENGTH]
    skipped = len(secrets) - len(searched)
    needles = [(secret, form, needle) for secret in sorted(searched)
               for form, needle in secret_needles(secret)]
    exempt = {os.path.normpath(p) for p in allowed}
    exempt |= _configured_secret_files(root)
    files = []
    for dirpath, dirnames, names in os.walk(root):
        dirnames.sort()
        for name in sorted(names):
            path = os.path.join(dirpath, name)
            if os.path.normpath(path) not in exempt \
                    and not os.path.islink(path) and os.path.isfile(path):
                files.append(path)
    findings = []
    for path in _files_with_any(files, [n for _, _, n in needles]):
        try:
            with open(path, 'rb') as f:
                data = f.read()
        except OSError:
            continue
        for secret, form, needle in needles:
            if needle in data:
                findings.append({'path': path, 'form': form,
                                 'secret': mask_secret(secret)})
    return findings, files, skipped


def audit_tmpdir(path):
    """Audits a test directory and appends the result to the findings
    file (a no-op outside a build directory)."""
    findings_path = secrets_findings_path()
    if not findings_path or not os.path.isdir(path):
        return
    findings, files, _ = audit_tree(path)
    lines = [_json.dumps({'audited': path, 'files': len(files)})]
    lines += [_json.dumps(finding) for finding in findings]
    _append_line(findings_path, ''.join(line + '\n' for line in lines))


_remove_tmpdir_unaudited = remove_tmpdir


def remove_tmpdir(path):  # noqa: F811 (wraps the definition above)
    """Audits @path for recorded secrets, then removes it (unless
    MB_TEST_KEEP is set)."""
    audit_tmpdir(path)
    _remove_tmpdir_unaudited(path)
