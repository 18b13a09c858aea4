#!/usr/bin/python3
"""Throughput and latency of mailbridged with durable queueing.

Starts mailbridged on a free loopback port with a fresh spool, sends N
messages from C concurrent clients (each one connection, one transaction
after another), and prints messages per second and the p50/p95/p99
latency of the 250 after the end of DATA: the time from the client's last
byte of the message to the relay's acknowledgement, which covers the
spool commit (write, fsync, rename, directory fsync, shared by concurrent
commits).  A script that prints figures, not a test.

    bench/relay-throughput.py [--messages N] [--clients C] [--size BYTES]
                              [--spool-dir DIR] [--daemon PATH] [--keep]

The spool goes under --spool-dir, else $MB_BENCH_DIR, else /var/tmp: put
it on the disk you want to measure (tmpfs has no fsync cost).
"""
import argparse
import os
import shutil
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, '..', 'tests', 'integration'))
import mbtest  # noqa: E402  (the integration tests' daemon harness)


def percentile(sorted_values, p):
    if not sorted_values:
        return float('nan')
    k = (len(sorted_values) - 1) * p / 100
    lo = int(k)
    hi = min(lo + 1, len(sorted_values) - 1)
    return sorted_values[lo] + (sorted_values[hi] - sorted_values[lo]) * (
        k - lo)


def make_message(size, index):
    head = ('From: <bench@office.example>\r\nTo: <sink@example.org>\r\n'
            'Subject: bench %d\r\n\r\n' % index).encode('ascii')
    line = b'x' * 76 + b'\r\n'
    message = head + line * (max(0, size - len(head)) // len(line))
    rest = size - len(message)
    if rest >= 2:
        message += b'y' * (rest - 2) + b'\r\n'
    return message


class Client(threading.Thread):
    def __init__(self, relay, counter, size, results, errors):
        super().__init__(daemon=True)
        self.relay = relay
        self.counter = counter
        self.size = size
        self.results = results
        self.errors = errors

    def run(self):
        try:
            conn = self.relay.connect()
            expect(conn.read_reply(), 220)
            expect(conn.command('EHLO bench.mbtest.invalid'), 250)
            while True:
                index = self.counter.take()
                if index is None:
                    break
                data = make_message(self.size, index)
                expect(conn.command('MAIL FROM:<bench@office.example>'), 250)
                expect(conn.command('RCPT TO:<sink@example.org>'), 250)
                expect(conn.command('DATA'), 354)
                started = time.perf_counter()
                conn.send(data + b'.\r\n')
                expect(conn.read_reply(), 250)
                self.results.append(time.perf_counter() - started)
            expect(conn.command('QUIT'), 221)
            conn.close()
        except Exception as e:
            self.errors.append('%s: %s' % (type(e).__name__, e))


def expect(reply, code):
    if reply.code != code:
        raise RuntimeError('expected %d, got: %s' % (code, reply))


class Counter:
    def __init__(self, n):
        self.n = n
        self.next = 0
        self.lock = threading.Lock()

    def take(self):
        with self.lock:
            if self.next >= self.n:
                return None
            self.next += 1
            return self.next - 1


def default_daemon():
    for builddir in (os.environ.get('MB_BUILDDIR'),
                     os.path.join(HERE, '..', 'build')):
        if builddir:
            path = os.path.join(builddir, 'relay', 'mailbridged')
            if os.access(path, os.X_OK):
                return os.path.abspath(path)
    return None


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--messages', '-n', type=int, default=2000)
    parser.add_argument('--clients', '-c', type=int, default=10)
    parser.add_argument('--size', '-s', type=int, default=4096,
                        help='bytes per message (default 4096)')
    parser.add_argument('--spool-dir', default=os.environ.get(
        'MB_BENCH_DIR', '/var/tmp'),
        help='where the temporary spool goes ($MB_BENCH_DIR, /var/tmp)')
    parser.add_argument('--daemon', default=default_daemon(),
                        help='mailbridged to run ($MB_BUILDDIR/relay/'
                        'mailbridged, else build/relay/mailbridged)')
    parser.add_argument('--keep', action='store_true',
                        help='keep the spool and the log')
    args = parser.parse_args()
    if not args.daemon:
        parser.error('no mailbridged found: build it or give --daemon')

    workdir = tempfile.mkdtemp(prefix='mb-bench-', dir=args.spool_dir)
    relay = mbtest.Relay(workdir, {
        'max-connections': str(args.clients + 10),
        'max-connections-per-client': str(args.clients + 10),
    }, verbose=False, daemon=args.daemon)
    try:
        relay.start()
        counter = Counter(args.messages)
        results, errors = [], []
        clients = [Client(relay, counter, args.size, results, errors)
                   for _ in range(args.clients)]
        cpu_before = os.times()
        started = time.perf_counter()
        for c in clients:
            c.start()
        for c in clients:
            c.join()
        elapsed = time.perf_counter() - started
        cpu_after = os.times()
        status = relay.stop()
        queued = len(relay.queue_ids())
    except AssertionError as e:  # the harness's "did not start/stop"
        print('mailbridged failed: %s\n%s' % (e, relay.log_tail()))
        return 1
    finally:
        relay.close()
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)

    latencies = sorted(results)
    client_cpu = ((cpu_after.user - cpu_before.user)
                  + (cpu_after.system - cpu_before.system))
    print('mailbridged %s' % args.daemon)
    print('  %d messages of %d bytes, %d clients, spool under %s'
          % (args.messages, args.size, args.clients, args.spool_dir))
    print('  %d acknowledged in %.2f s: %.1f messages/s'
          % (len(latencies), elapsed, len(latencies) / elapsed))
    print('  250 after end of DATA: p50 %.2f ms, p95 %.2f ms, p99 %.2f ms, '
          'max %.2f ms' % tuple(1000 * v for v in (
              percentile(latencies, 50), percentile(latencies, 95),
              percentile(latencies, 99),
              latencies[-1] if latencies else float('nan'))))
    print('  queue: %d messages on disk; benchmark client CPU %.0f%% of one '
          'core' % (queued, 100 * client_cpu / elapsed))
    if status != 0:
        print('  mailbridged exited with status %d on SIGTERM' % status)
    if args.keep:
        print('  kept: %s' % workdir)
    for e in errors[:10]:
        print('  client error: %s' % e)
    return 1 if errors or queued != len(latencies) else 0


if __name__ == '__main__':
    sys.exit(main())
