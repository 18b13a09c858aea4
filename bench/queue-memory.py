#!/usr/bin/python3
"""mailbridged with a large queue: startup (recovery) time and memory.

Fills a fresh spool with N queued messages (queue/ID.eml + queue/ID.env,
written directly in the format the relay writes and reads: relay/
mb-spool.c for ids and layout, relay/mb-envelope.c for the envelope),
starts mailbridged on it with no route configured (nothing leaves), waits
for READY=1 and prints the startup time and the daemon's memory (VmRSS,
VmHWM, RssAnon from /proc/PID/status), then stops it.  The same daemon
started on the empty spool first gives the baseline, and generates the
STARTTLS certificate so that key generation is not in the figure.  A
script that prints figures, not a test.

    bench/queue-memory.py [--messages N] [--size 4k] [--recipients R]
                          [--dir DIR] [--daemon PATH] [--cold]
                          [--timeout S] [--keep]

Startup covers what mailbridged does before READY=1: spool recovery
(every envelope parsed, every message's size checked), the scheduler's
load of the queue into memory (it takes the envelopes recovery parsed),
the listener.  It is measured from
the exec to READY=1.  --cold drops the page cache first (root only,
machine-wide), as after a reboot; otherwise the files are in the cache,
as they are right after they were written.

Spools go under --dir, else $MB_BENCH_DIR, else /var/tmp/mailbridge-bench.
"""
import argparse
import importlib.util
import os
import random
import re
import shutil
import sys
import tempfile
import threading
import time
from email.utils import formatdate

HERE = os.path.dirname(os.path.abspath(__file__))


def load_throughput_module():
    """bench/relay-throughput.py, for its message body and daemon lookup
    and the mbtest harness it imports."""
    spec = importlib.util.spec_from_file_location(
        'relay_throughput', os.path.join(HERE, 'relay-throughput.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


rt = load_throughput_module()
mbtest = rt.mbtest

DEFAULT_DIR = '/var/tmp/mailbridge-bench'
SENDER = 'bench@office.example'
CLIENT_HELO = 'bench.mbtest.invalid'


def parse_size(text):
    text = text.strip().lower()
    factor = 1
    if text.endswith('k'):
        factor, text = 1024, text[:-1]
    elif text.endswith('m'):
        factor, text = 1024 * 1024, text[:-1]
    try:
        value = int(float(text) * factor)
    except ValueError:
        raise argparse.ArgumentTypeError('not a size: %r' % text)
    if value < 256:
        raise argparse.ArgumentTypeError('at least 256 bytes')
    return value


# The spool, as mailbridged writes it


def queue_id(micros, rng):
    """mb-spool.c: 16 hex digits of the arrival time in microseconds, "-",
    8 random hex digits."""
    return '%016x-%08x' % (micros, rng.getrandbits(32))


def make_eml(qid, recipients, body, when):
    """What the relay stores: our Received field, then Date: and
    Message-ID: (the device sent neither), then the device's message;
    CRLF throughout (mb-header-stamper.c)."""
    date = formatdate(when, usegmt=True).replace('GMT', '+0000')
    message_id = '%s@%s' % (qid.replace('-', '.').upper(), mbtest.HOSTNAME)
    received = ('Received: from %s ([127.0.0.1]) by %s\r\n'
                '\t(Mailbridge) with ESMTP id %s for <%s>;\r\n'
                '\t%s\r\n' % (CLIENT_HELO, mbtest.HOSTNAME, qid,
                              recipients[0], date))
    head = '%sDate: %s\r\nMessage-ID: <%s>\r\n' % (received, date,
                                                   message_id)
    return head.encode('ascii') + body, message_id


def make_env(qid, recipients, size, received, message_id):
    """mb-envelope.c's key file, as mb_envelope_serialize() writes it for
    a message just received (no value here needs GKeyFile escapes)."""
    lines = ['[envelope]', 'version=1', 'recipients=%d' % len(recipients),
             'id=%s' % qid, 'sender=%s' % SENDER, 'received=%d' % received,
             'size=%d' % size, 'client-address=127.0.0.1',
             'client-helo=%s' % CLIENT_HELO, 'message-id=%s' % message_id,
             'smtputf8=false', 'body=', 'ret=', 'delay-notice-sent=0']
    for n, address in enumerate(recipients):
        lines += ['', '[recipient %d]' % n, 'address=%s' % address,
                  'notify=', 'attempts=0', 'next-attempt=0',
                  'state=queued']
    return ('\n'.join(lines) + '\n').encode('utf-8')


def fill_spool(spool, count, size, n_recipients, seed=1):
    """Writes @count committed messages into @spool/queue; returns the
    bytes written.  Files 0600 as the relay makes them; one sync() at the
    end instead of the relay's fsyncs (the fill is not what we measure)."""
    queue = os.path.join(spool, 'queue')
    os.makedirs(queue, mode=0o700, exist_ok=True)
    rng = random.Random(seed)
    now = time.time()
    start_micros = int(now * 1e6) - count * 1000  # 1 ms apart, in the past
    total = 0
    for i in range(count):
        qid = queue_id(start_micros + i * 1000, rng)
        recipients = ['sink%d@example.org' % r for r in range(n_recipients)]
        body = rt.make_message(size, i)
        eml, message_id = make_eml(qid, recipients, body,
                                   (start_micros + i * 1000) / 1e6)
        env = make_env(qid, recipients, len(eml),
                       (start_micros + i * 1000) // 1000000, message_id)
        for name, data in ((qid + '.eml', eml), (qid + '.env', env)):
            fd = os.open(os.path.join(queue, name),
                         os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC,
                         0o600)
            try:
                os.write(fd, data)
            finally:
                os.close(fd)
            total += len(data)
    os.sync()
    return total


# The daemon


def proc_status(pid):
    """{field: kB} of the memory fields of /proc/PID/status, and Threads."""
    fields = {}
    with open('/proc/%d/status' % pid) as f:
        for line in f:
            name, _, value = line.partition(':')
            if name.startswith(('Vm', 'Rss')) or name == 'Threads':
                fields[name] = int(value.split()[0])
    return fields


def proc_cpu_seconds(pid):
    """User + system CPU seconds of @pid (all threads) so far."""
    with open('/proc/%d/stat' % pid) as f:
        stat = f.read().rsplit(')', 1)[1].split()
    return (int(stat[11]) + int(stat[12])) / os.sysconf('SC_CLK_TCK')


def drop_caches():
    os.sync()
    try:
        with open('/proc/sys/vm/drop_caches', 'w') as f:
            f.write('3\n')
        return None
    except OSError as e:
        return str(e)


class PhaseWatcher(threading.Thread):
    """Notes when the log lines that end the startup phases arrive (the
    daemon's stderr is unbuffered and read as it comes)."""

    PHASES = (('recovery', r' recovered$'), ('load', r'queue loaded '))

    def __init__(self, relay, started, timeout):
        super().__init__(daemon=True)
        self.relay = relay
        self.started = started
        self.timeout = timeout
        self.known = len(relay.collectors)
        self.times = {}
        self.start()

    def run(self):
        deadline = time.monotonic() + self.timeout
        while len(self.relay.collectors) == self.known:
            if time.monotonic() > deadline:
                return
            time.sleep(0.001)
        collector = self.relay.collectors[-1]
        for name, pattern in self.PHASES:
            if collector.wait_for(pattern, self.timeout) is None:
                return
            self.times[name] = time.perf_counter() - self.started


class Run:
    """One start of the daemon: how long to READY=1 and its memory then."""

    def __init__(self, relay, timeout, settle):
        started = time.perf_counter()
        watcher = PhaseWatcher(relay, started, timeout)
        relay.start(timeout=timeout)
        self.startup = time.perf_counter() - started
        watcher.join(timeout)
        self.phases = watcher.times
        pid = relay.proc.pid
        self.cpu = proc_cpu_seconds(pid)
        self.status = proc_status(pid)
        time.sleep(settle)  # anything still growing after READY=1
        self.settled = proc_status(pid)
        started = time.perf_counter()
        self.exit_status = relay.stop()
        self.stop = time.perf_counter() - started

    def kib(self, name, settled=False):
        return (self.settled if settled else self.status).get(name, 0)


def mib(kib):
    return kib / 1024


def log_count(relay, pattern, key):
    """The value of @key in the last log line matching @pattern."""
    value = None
    for line in relay.log_lines():
        if re.search(pattern, line):
            value = mbtest.parse_log_fields(line).get(key)
    return int(value) if value is not None and value.isdigit() else None


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--messages', '-n', type=int, default=100000)
    parser.add_argument('--size', '-s', type=parse_size, default=4096,
                        help='bytes of each device message, or with k/M '
                        '(default 4k)')
    parser.add_argument('--recipients', '-r', type=int, default=1,
                        help='recipients per message (default 1)')
    parser.add_argument('--dir', default=os.environ.get('MB_BENCH_DIR',
                                                        DEFAULT_DIR),
                        help='where the spool goes ($MB_BENCH_DIR, else %s)'
                        % DEFAULT_DIR)
    parser.add_argument('--daemon', default=rt.default_daemon(),
                        help='mailbridged to run ($MB_BUILDDIR/relay/'
                        'mailbridged, else build/relay/mailbridged)')
    parser.add_argument('--cold', action='store_true',
                        help='drop the page cache before the start (root)')
    parser.add_argument('--settle', type=float, default=1.0,
                        help='seconds after READY=1 before memory is read '
                        'again (default 1)')
    parser.add_argument('--timeout', type=float, default=600,
                        help='seconds allowed until READY=1 (default 600)')
    parser.add_argument('--keep', action='store_true',
                        help='keep the spool and the logs')
    args = parser.parse_args()
    if not args.daemon:
        parser.error('no mailbridged found: build it or give --daemon')
    if args.messages < 1 or args.recipients < 1:
        parser.error('--messages and --recipients must be at least 1')

    os.makedirs(args.dir, exist_ok=True)
    workdir = tempfile.mkdtemp(prefix='queue-memory-', dir=args.dir)
    # No [route]: the scheduler keeps every message queued.
    relay = mbtest.Relay(workdir, {}, verbose=False, daemon=args.daemon)
    failed = False
    print('mailbridged %s' % args.daemon)
    print('  %d messages of %d bytes (+ our header fields), %d recipient%s '
          'each, no route; spool under %s'
          % (args.messages, args.size, args.recipients,
             '' if args.recipients == 1 else 's', args.dir))
    try:
        empty = Run(relay, args.timeout, args.settle)

        started = time.perf_counter()
        written = fill_spool(relay.spool, args.messages, args.size,
                             args.recipients)
        filled = time.perf_counter() - started
        print('  spool filled in %.1f s: %d files, %.0f MiB'
              % (filled, 2 * args.messages, written / 2**20))

        cache = 'warm page cache'
        if args.cold:
            error = drop_caches()
            cache = ('cold page cache' if error is None
                     else 'warm page cache (could not drop it: %s)' % error)
        full = Run(relay, args.timeout, args.settle)
        recovered = log_count(relay, r'recovered$', 'queued')
        loaded = log_count(relay, r'queue loaded', 'queued')
        corrupt = log_count(relay, r'recovered$', 'corrupt')
    except AssertionError as e:  # the harness: did not start or stop
        print('  mailbridged failed: %s\n%s' % (e, relay.log_tail()))
        return 1
    finally:
        relay.close()
        if args.keep:
            print('  kept: %s' % workdir)
        else:
            shutil.rmtree(workdir, ignore_errors=True)

    print('  empty spool: READY=1 after %.2f s; VmRSS %.1f MiB, '
          'VmHWM %.1f MiB' % (empty.startup, mib(empty.kib('VmRSS')),
                              mib(empty.kib('VmHWM'))))
    print('  %d queued (%s): READY=1 after %.2f s (daemon CPU %.2f s), '
          'stopped in %.2f s'
          % (args.messages, cache, full.startup, full.cpu, full.stop))
    print('    recovery: queued=%s corrupt=%s, done after %.2f s; '
          'scheduler loaded %s, done after %.2f s'
          % (recovered, corrupt, full.phases.get('recovery', float('nan')),
             loaded, full.phases.get('load', float('nan'))))
    print('    at READY=1: VmRSS %.1f MiB (RssAnon %.1f MiB), VmHWM %.1f '
          'MiB, %d threads'
          % (mib(full.kib('VmRSS')), mib(full.kib('RssAnon')),
             mib(full.kib('VmHWM')), full.kib('Threads')))
    print('    %.0f s later: VmRSS %.1f MiB, VmHWM %.1f MiB'
          % (args.settle, mib(full.kib('VmRSS', True)),
             mib(full.kib('VmHWM', True))))
    per_message = ((full.kib('VmRSS') - empty.kib('VmRSS')) * 1024
                   / args.messages)
    print('    per queued message: %.0f bytes of VmRSS above the empty '
          'spool\'s' % per_message)
    for name, run in (('empty', empty), ('full', full)):
        if run.exit_status != 0:
            print('  mailbridged (%s spool) exited with status %d on '
                  'SIGTERM' % (name, run.exit_status))
            failed = True
    if recovered != args.messages or loaded != args.messages or corrupt:
        print('  the relay did not take every generated message: the '
              'generated spool no longer matches its format')
        failed = True
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
