#!/usr/bin/python3
"""mailbridged and Postfix side by side: relay throughput and latency with
durable queueing, one load generator, one run.

Sends the same load, N messages of S KiB from C concurrent SMTP clients on
loopback (each client one connection, transactions one after another), to
mailbridged and then to a private Postfix instance, and prints for each
messages per second and the p50/p95/p99 latency of the 250 after the end
of DATA (from the client's last byte of the message to the reply).  Both
acknowledge a message only once it is on disk: mailbridged fsyncs the
message, its envelope and the queue directory; Postfix's cleanup fsyncs
its queue file.  Nothing leaves either server: mailbridged has no route,
Postfix defers the smtp transport (or holds every message, --postfix-queue
hold).  A script that prints figures, not a test.

    bench/compare-postfix.py [--messages N] [--clients C] [--size 4k]
                             [--rounds R] [--postfix-queue defer|hold]
                             [--dir DIR] [--daemon PATH] [--no-install]
                             [--keep]

Postfix comes from Debian's postfix package; if it is missing the script
installs it (as root, "No configuration", nothing else removed) unless
--no-install.  The machine's own Postfix instance is never touched: the
benchmark runs its own instance (configuration, queue, data and log under
the bench directory, smtpd on a free loopback port) and stops it.  If
Postfix cannot be installed or started the script says why and still
measures mailbridged.

Spools go under --dir, else $MB_BENCH_DIR, else /var/tmp/mailbridge-bench:
put them on the disk you want to measure (tmpfs has no fsync cost).
"""
import argparse
import importlib.util
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))


def load_throughput_module():
    """bench/relay-throughput.py, for its load generator (one client
    implementation for both servers) and the mbtest harness it imports."""
    spec = importlib.util.spec_from_file_location(
        'relay_throughput', os.path.join(HERE, 'relay-throughput.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


rt = load_throughput_module()
mbtest = rt.mbtest

DEFAULT_DIR = '/var/tmp/mailbridge-bench'
POSTFIX_HOSTNAME = 'postfix.bench.invalid'


def parse_size(text):
    """Bytes from "4096", "4k", "64K", "1M"."""
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


def format_size(size):
    if size % 1024 == 0:
        return '%d KiB' % (size // 1024)
    return '%.1f KiB' % (size / 1024)


# The load


class Endpoint:
    """What the load generator connects to: anything with connect()."""

    def __init__(self, host, port):
        self.address = (host, port)

    def connect(self):
        return mbtest.SmtpSocket(self.address)


def run_load(endpoint, messages, clients, size):
    """Sends @messages from @clients concurrent connections; returns
    (elapsed seconds, sorted latencies, errors, client CPU share)."""
    counter = rt.Counter(messages)
    results, errors = [], []
    threads = [rt.Client(endpoint, counter, size, results, errors)
               for _ in range(clients)]
    cpu_before = os.times()
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - started
    cpu_after = os.times()
    client_cpu = ((cpu_after.user - cpu_before.user)
                  + (cpu_after.system - cpu_before.system))
    return elapsed, sorted(results), errors, client_cpu / elapsed


class Result:
    def __init__(self, server, elapsed, latencies, errors, client_cpu,
                 queued, expected):
        self.server = server
        self.elapsed = elapsed
        self.latencies = latencies
        self.errors = errors
        self.client_cpu = client_cpu
        self.queued = queued
        self.expected = expected  # acknowledged, warm-up included

    @property
    def rate(self):
        return len(self.latencies) / self.elapsed if self.elapsed else 0.0

    def percentile(self, p):
        return 1000 * rt.percentile(self.latencies, p)

    @property
    def ok(self):
        return not self.errors and self.queued == self.expected

    def print(self):
        lat = self.latencies
        print('  %d acknowledged in %.2f s: %.1f messages/s'
              % (len(lat), self.elapsed, self.rate))
        print('  250 after end of DATA: p50 %.2f ms, p95 %.2f ms, '
              'p99 %.2f ms, max %.2f ms'
              % (self.percentile(50), self.percentile(95),
                 self.percentile(99),
                 1000 * lat[-1] if lat else float('nan')))
        print('  queue: %d of %d acknowledged messages on disk '
              '(warm-up included); client CPU %.0f%% of one core'
              % (self.queued, self.expected, 100 * self.client_cpu))
        for e in self.errors[:10]:
            print('  client error: %s' % e)


def measure(endpoint, args):
    """Warm-up (not counted), then the measured load."""
    if args.warmup:
        _, warm, errors, _ = run_load(endpoint, args.warmup, args.clients,
                                      args.size)
        if errors:
            return None, len(warm), errors
    elapsed, latencies, errors, cpu = run_load(endpoint, args.messages,
                                               args.clients, args.size)
    return (elapsed, latencies, cpu), args.warmup, errors


# mailbridged


def run_mailbridged(args, base):
    workdir = tempfile.mkdtemp(prefix='mailbridged-', dir=base)
    relay = mbtest.Relay(workdir, {
        'max-connections': str(args.clients + 10),
        'max-connections-per-client': str(args.clients + 10),
    }, verbose=False, daemon=args.daemon)
    try:
        relay.start()
        outcome, warm, errors = measure(relay, args)
        relay.stop()
        queued = len(relay.queue_ids())
    except AssertionError as e:  # the harness: did not start or stop
        print('  mailbridged failed: %s\n%s' % (e, relay.log_tail()))
        return None
    finally:
        relay.close()
        if args.keep:
            print('  kept: %s' % workdir)
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    if outcome is None:
        return Result('mailbridged', 0, [], errors, 0, queued, warm)
    elapsed, latencies, cpu = outcome
    return Result('mailbridged', elapsed, latencies, errors, cpu, queued,
                  warm + len(latencies))


# Postfix


class PostfixUnavailable(Exception):
    pass


def run_quiet(argv, log=None, env=None, timeout=600):
    """Runs @argv; returns (status, output).  The output also goes to
    @log (a path) when given."""
    try:
        proc = subprocess.run(argv, stdin=subprocess.DEVNULL,
                              stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, env=env,
                              timeout=timeout)
    except (OSError, subprocess.TimeoutExpired) as e:
        return 127, str(e)
    output = proc.stdout.decode('utf-8', 'replace')
    if log:
        with open(log, 'a', encoding='utf-8') as f:
            f.write('$ %s\n%s' % (' '.join(argv), output))
    return proc.returncode, output


def tail(text, n=8):
    return '\n'.join('    ' + line for line in text.strip().splitlines()[-n:])


def postfix_installed():
    return all(shutil.which(p, path='/usr/sbin:/usr/bin:/sbin:/bin')
               for p in ('postfix', 'postconf'))


def install_postfix(log):
    """Installs Debian's postfix package without configuring or starting a
    system instance ("No configuration"), unless that would remove a
    package (another MTA): then the admin decides, not a benchmark."""
    if os.geteuid() != 0:
        raise PostfixUnavailable('postfix is not installed, and installing '
                                 'it needs root (apt-get install postfix)')
    env = dict(os.environ, DEBIAN_FRONTEND='noninteractive')
    status, out = run_quiet(
        ['apt-get', '-s', 'install', '--no-install-recommends', 'postfix'],
        log, env)
    if status != 0:
        run_quiet(['apt-get', 'update'], log, env)
        status, out = run_quiet(['apt-get', '-s', 'install',
                                 '--no-install-recommends', 'postfix'],
                                log, env)
    if status != 0:
        raise PostfixUnavailable('apt-get cannot install postfix:\n%s'
                                 % tail(out))
    removed = [line.split()[1] for line in out.splitlines()
               if line.startswith('Remv ')]
    if removed:
        raise PostfixUnavailable(
            'installing postfix would remove %s; not done by a benchmark '
            '(install postfix yourself if that is what you want)'
            % ', '.join(removed))
    selection = b'postfix postfix/main_mailer_type select No configuration\n'
    proc = subprocess.run(['debconf-set-selections'], input=selection,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    if proc.returncode != 0:
        raise PostfixUnavailable('debconf-set-selections failed: %s'
                                 % proc.stdout.decode('utf-8', 'replace'))
    print('  installing postfix (apt-get, "No configuration"; log %s)' % log)
    status, out = run_quiet(['apt-get', 'install', '-y',
                             '--no-install-recommends', 'postfix'], log, env)
    if status != 0 or not postfix_installed():
        raise PostfixUnavailable('apt-get install postfix failed:\n%s'
                                 % tail(out))


MASTER_CF = """\
# A private instance for bench/compare-postfix.py: no chroot, smtpd on
# one loopback port only.
# service type  private unpriv  chroot  wakeup  maxproc command
{listen} inet n     -       n       -       -       smtpd
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
proxywrite unix -       -       n       -       1       proxymap
smtp      unix  -       -       n       -       -       smtp
relay     unix  -       -       n       -       -       smtp
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
local     unix  -       n       n       -       -       local
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
"""

# Everything the instance needs, nothing from the system's main.cf.
MAIN_CF = """\
# A private instance for bench/compare-postfix.py.
compatibility_level = 3.6
queue_directory = {queue}
data_directory = {data}
mail_owner = postfix
setgid_group = postdrop
maillog_file = {maillog}
myhostname = {hostname}
mydomain = bench.invalid
myorigin = $myhostname
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mydestination =
local_recipient_maps =
relay_domains =
alias_maps =
alias_database =
mynetworks = 127.0.0.0/8
smtpd_relay_restrictions = permit_mynetworks, reject_unauth_destination
# Nothing leaves: the next hop is a loopback port nobody listens on, and
# the smtp transport is deferred anyway.
relayhost = [127.0.0.1]:{dead_port}
default_transport = smtp
defer_transports = {defer_transports}
{hold}
# As mailbridged: no reverse DNS of the client, TLS not offered.
smtpd_peername_lookup = no
smtpd_tls_security_level =
smtp_tls_security_level =
smtpd_client_connection_count_limit = {connections}
default_process_limit = {processes}
biff = no
"""


class PostfixInstance:
    """A Postfix instance of our own: configuration in DIR/etc, queue in
    DIR/queue, data in DIR/data, log in DIR/maillog."""

    def __init__(self, directory, clients, queue_mode, ours=()):
        self.directory = directory
        self.ours = list(ours) + [directory]  # made by us: made searchable
        self.etc = os.path.join(directory, 'etc')
        self.queue = os.path.join(directory, 'queue')
        self.data = os.path.join(directory, 'data')
        self.maillog = os.path.join(directory, 'maillog')
        self.commands = os.path.join(directory, 'commands.log')
        self.port = mbtest.free_port()
        self.clients = clients
        self.queue_mode = queue_mode
        self.master_pid = None
        self.version = None

    def postconf_default(self, name):
        status, out = run_quiet(['postconf', '-dh', name])
        return out.strip() if status == 0 else None

    def setup(self):
        # Postfix daemons run as "postfix" and chdir into the queue: every
        # directory above it must be searchable.
        os.makedirs(self.etc)
        os.makedirs(self.queue)  # the rest is made by "postfix check"
        for path in self.ours:
            os.chmod(path, 0o755)
        path = self.directory
        while path != '/':
            if os.stat(path).st_mode & 0o001 == 0:
                raise PostfixUnavailable(
                    'its daemons run as user postfix and cannot reach %s: '
                    '%s is not searchable by others (choose another --dir)'
                    % (self.queue, path))
            path = os.path.dirname(path)
        self.version = self.postconf_default('mail_version')
        # postfix-files and dynamicmaps.cf (the "meta" files) are read
        # from the configuration directory: copies, so the system's
        # /etc/postfix is only ever read.
        meta = self.postconf_default('meta_directory') or '/etc/postfix'
        for name in ('postfix-files', 'dynamicmaps.cf'):
            source = os.path.join(meta, name)
            if not os.path.exists(source):
                raise PostfixUnavailable('%s is missing' % source)
            shutil.copy(source, self.etc)
            if os.path.isdir(source + '.d'):
                shutil.copytree(source + '.d',
                                os.path.join(self.etc, name + '.d'))
        hold = ''
        if self.queue_mode == 'hold':
            # Every message goes to hold/ and the queue manager never sees
            # it; without a queue manager taking messages no tokens come
            # back to smtpd, so flow control would pause every client.
            hold = ('smtpd_end_of_data_restrictions = '
                    'check_client_access static:HOLD\nin_flow_delay = 0s')
        with open(os.path.join(self.etc, 'main.cf'), 'w') as f:
            f.write(MAIN_CF.format(
                queue=self.queue, data=self.data, maillog=self.maillog,
                hostname=POSTFIX_HOSTNAME, dead_port=mbtest.free_port(),
                defer_transports='smtp' if self.queue_mode == 'defer'
                else '', hold=hold,
                connections=max(50, self.clients + 10),
                processes=max(100, 2 * self.clients + 20)))
        with open(os.path.join(self.etc, 'master.cf'), 'w') as f:
            f.write(MASTER_CF.format(listen='127.0.0.1:%d' % self.port))
        self.postfix('check')

    def postfix(self, command):
        status, out = run_quiet(['postfix', '-c', self.etc, command],
                                self.commands)
        if status != 0:
            raise PostfixUnavailable('postfix -c %s %s failed (status %d):\n'
                                     '%s' % (self.etc, command, status,
                                             tail(out)))
        return out

    def start(self, timeout=30):
        self.postfix('start')
        pid_file = os.path.join(self.queue, 'pid', 'master.pid')
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.master_pid is None:
                try:
                    with open(pid_file) as f:
                        self.master_pid = int(f.read().split()[0])
                except (OSError, ValueError, IndexError):
                    pass
            try:
                socket.create_connection(('127.0.0.1', self.port),
                                         timeout=1).close()
                if self.master_pid is not None:
                    return
            except OSError:
                pass
            time.sleep(0.05)
        raise PostfixUnavailable('postfix did not listen on 127.0.0.1:%d '
                                 'within %ds; its log:\n%s'
                                 % (self.port, timeout, self.log_tail()))

    def master_running(self):
        return (self.master_pid is not None
                and os.path.exists('/proc/%d' % self.master_pid))

    def stop(self, timeout=30):
        """Stops the instance and waits for its master to exit; returns
        whether it did."""
        if not self.master_running():
            return True
        run_quiet(['postfix', '-c', self.etc, 'stop'], self.commands)
        deadline = time.monotonic() + timeout
        while self.master_running() and time.monotonic() < deadline:
            time.sleep(0.05)
        if self.master_running():
            run_quiet(['postfix', '-c', self.etc, 'abort'], self.commands)
            deadline = time.monotonic() + timeout
            while self.master_running() and time.monotonic() < deadline:
                time.sleep(0.05)
        return not self.master_running()

    def queued(self):
        """Queue files in incoming/, active/, deferred/ and hold/ (counted
        once the instance is stopped: nothing moves)."""
        count = 0
        for sub in ('incoming', 'active', 'deferred', 'hold'):
            for _, _, names in os.walk(os.path.join(self.queue, sub)):
                count += len(names)
        return count

    def log_tail(self, n=15):
        try:
            with open(self.maillog, encoding='utf-8',
                      errors='replace') as f:
                return tail(f.read(), n)
        except OSError as e:
            return '    (no log: %s)' % e


def run_postfix(args, base):
    workdir = tempfile.mkdtemp(prefix='postfix-', dir=base)
    instance = PostfixInstance(os.path.join(workdir, 'instance'),
                               args.clients, args.postfix_queue,
                               ours=(base, workdir))
    try:
        instance.setup()
        instance.start()
        outcome, warm, errors = measure(
            Endpoint('127.0.0.1', instance.port), args)
        if not instance.stop():
            raise PostfixUnavailable('postfix did not stop')
        queued = instance.queued()
        with open(instance.maillog, errors='replace') as f:
            warnings = [line for line in f if ' warning: ' in line
                        or ' fatal: ' in line or ' panic: ' in line]
        for line in warnings[:5]:
            print('  postfix log: %s' % line.rstrip())
    except PostfixUnavailable as e:
        print('  Postfix not measured: %s' % e)
        return None
    finally:
        instance.stop()
        if args.keep:
            print('  kept: %s' % workdir)
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    if outcome is None:
        return Result('postfix', 0, [], errors, 0, queued, warm)
    elapsed, latencies, cpu = outcome
    return Result('postfix', elapsed, latencies, errors, cpu, queued,
                  warm + len(latencies))


# Main


def describe_postfix(args, version):
    how = ('defer_transports=smtp: each message queued, then moved to '
           'deferred/ by the queue manager' if args.postfix_queue == 'defer'
           else 'HOLD at end of data: each message queued in hold/')
    return 'postfix %s (%s)' % (version or '?', how)


def summary(results):
    print('summary (median of %d round%s)'
          % (max(len(r) for r in results.values()),
             '' if max(len(r) for r in results.values()) == 1 else 's'))
    print('  %-12s %12s %9s %9s %9s' % ('', 'messages/s', 'p50 ms',
                                         'p95 ms', 'p99 ms'))
    for server, rounds in results.items():
        if not rounds:
            print('  %-12s %12s' % (server, 'not measured'))
            continue
        print('  %-12s %12.1f %9.2f %9.2f %9.2f' % (
            server, statistics.median(r.rate for r in rounds),
            statistics.median(r.percentile(50) for r in rounds),
            statistics.median(r.percentile(95) for r in rounds),
            statistics.median(r.percentile(99) for r in rounds)))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--messages', '-n', type=int, default=2000)
    parser.add_argument('--clients', '-c', type=int, default=10)
    parser.add_argument('--size', '-s', type=parse_size, default=4096,
                        help='message size: bytes, or with k/M '
                        '(default 4k)')
    parser.add_argument('--warmup', type=int, default=None,
                        help='messages sent first and not counted '
                        '(default 2 per client)')
    parser.add_argument('--rounds', type=int, default=1,
                        help='measure each server this often, alternating '
                        'which goes first (default 1)')
    parser.add_argument('--postfix-queue', choices=('defer', 'hold'),
                        default='defer',
                        help='how Postfix keeps mail: defer the smtp '
                        'transport (default) or hold every message')
    parser.add_argument('--dir', default=os.environ.get('MB_BENCH_DIR',
                                                        DEFAULT_DIR),
                        help='where spools go ($MB_BENCH_DIR, else %s)'
                        % DEFAULT_DIR)
    parser.add_argument('--daemon', default=rt.default_daemon(),
                        help='mailbridged to run ($MB_BUILDDIR/relay/'
                        'mailbridged, else build/relay/mailbridged)')
    parser.add_argument('--no-install', action='store_true',
                        help='do not install postfix when it is missing')
    parser.add_argument('--keep', action='store_true',
                        help='keep spools, configuration and logs')
    args = parser.parse_args()
    if not args.daemon:
        parser.error('no mailbridged found: build it or give --daemon')
    if args.warmup is None:
        args.warmup = 2 * args.clients

    os.makedirs(args.dir, exist_ok=True)
    base = tempfile.mkdtemp(prefix='compare-', dir=args.dir)
    print('compare-postfix: %d messages of %s (%d bytes), %d clients on '
          'loopback, %d warm-up messages first; spools under %s; '
          '%d CPUs, load average %.2f' % (
              args.messages, format_size(args.size), args.size,
              args.clients, args.warmup, args.dir, os.cpu_count(),
              os.getloadavg()[0]))

    postfix_reason = None
    if not postfix_installed():
        if args.no_install:
            postfix_reason = 'postfix is not installed (--no-install)'
        else:
            try:
                install_postfix(os.path.join(args.dir,
                                             'apt-postfix.log'))
            except PostfixUnavailable as e:
                postfix_reason = str(e)
    version = None
    if postfix_reason is None:
        status, out = run_quiet(['postconf', '-dh', 'mail_version'])
        version = out.strip() if status == 0 else None

    results = {'mailbridged': [], 'postfix': []}
    failed = False
    try:
        for n in range(args.rounds):
            order = ['mailbridged', 'postfix']
            if n % 2:
                order.reverse()
            if args.rounds > 1:
                print('round %d of %d' % (n + 1, args.rounds))
            for server in order:
                if server == 'mailbridged':
                    print('mailbridged %s' % args.daemon)
                    result = run_mailbridged(args, base)
                else:
                    print(describe_postfix(args, version))
                    if postfix_reason is not None:
                        print('  Postfix not measured: %s' % postfix_reason)
                        continue
                    result = run_postfix(args, base)
                if result is None:
                    if server == 'mailbridged':
                        failed = True
                    else:
                        postfix_reason = 'it failed in an earlier round'
                    continue
                result.print()
                failed = failed or not result.ok
                results[server].append(result)
    finally:
        if args.keep:
            print('kept: %s' % base)
        else:
            shutil.rmtree(base, ignore_errors=True)
    summary(results)
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
