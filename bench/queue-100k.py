#!/usr/bin/python3
"""How fast the Queue page opens on a queue of 100,000 messages.

    /usr/bin/python3 bench/queue-100k.py [--messages N] [--builddir DIR]

Prints figures; passes or fails on nothing.  It runs itself inside
tests/gui/run-gui-tests.sh (Xvfb, a private session bus, the keyring,
AT-SPI) and:

  1. fills a spool with N messages in the relay's own format: one real
     message is queued through SMTP, then cloned N-1 times with fresh
     queue ids and arrival times over the last two hours (queue/ID.eml +
     queue/ID.env, no fsync: a fixture, not the relay's durable path);
  2. starts mailbridged on that spool with delivery paused (no route is
     configured, so nothing can leave, and Pause is called too) and
     times its recovery until READY=1;
  3. times the D-Bus paged listing (ListQueue, 200 messages) at the start,
     the middle and the end of the queue;
  4. starts the app on the Queue page and times, from the exec, the first
     queue rows on screen: the app's own debug line "queue-first-rows"
     (G_MESSAGES_DEBUG=mb-queue-view; "painted" = after the frame that
     shows them) and the first row seen through AT-SPI;
  5. times a search for the newest message (the relay searches its queue:
     SearchQueue);
  6. prints the memory (VmRSS) of both processes.
"""
import argparse
import os
import random
import re
import shutil
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE = os.path.dirname(HERE)


def reexec_in_gui_session(args):
    runner = os.path.join(SOURCE, 'tests', 'gui', 'run-gui-tests.sh')
    env = dict(os.environ, MB_BUILDDIR=args.builddir)
    os.execve(runner, [runner, '--exec', '/usr/bin/python3',
                       os.path.abspath(__file__)] + sys.argv[1:], env)


def clone_spool(spool, count):
    """Clones the one queued message into @count messages."""
    queue = os.path.join(spool, 'queue')
    envs = [n for n in os.listdir(queue) if n.endswith('.env')]
    assert len(envs) == 1, envs
    old_id = envs[0][:-4]
    with open(os.path.join(queue, old_id + '.env'), encoding='utf-8') as f:
        env_text = f.read()
    with open(os.path.join(queue, old_id + '.eml'), 'rb') as f:
        eml = f.read()
    os.unlink(os.path.join(queue, old_id + '.env'))
    os.unlink(os.path.join(queue, old_id + '.eml'))
    received = re.search(r'^received=(\d+)$', env_text, re.M)
    assert received, 'no received= in the envelope'
    now = int(time.time())
    base_us = time.time_ns() // 1000 - count * 1000
    rng = random.Random(1)
    for i in range(count):
        new_id = '%016x-%08x' % (base_us + i * 1000, rng.getrandbits(32))
        text = env_text.replace(old_id, new_id)
        # Oldest first, spread over the last two hours, the newest now.
        text = re.sub(r'^received=\d+$',
                      'received=%d' % (now - (count - i) * 7200 // count),
                      text, count=1, flags=re.M)
        text = text.replace('bench0@contoso.com', 'bench%d@contoso.com' % i)
        with open(os.path.join(queue, new_id + '.eml'), 'wb') as f:
            f.write(eml.replace(old_id.encode(), new_id.encode()))
        with open(os.path.join(queue, new_id + '.env'), 'w',
                  encoding='utf-8') as f:
            f.write(text)


def rss_kib(pid):
    try:
        with open('/proc/%d/status' % pid) as f:
            for line in f:
                if line.startswith('VmRSS:'):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def time_list_queue(offset, limit=200):
    from gi.repository import Gio, GLib
    bus = Gio.bus_get_sync(Gio.BusType.SESSION, None)
    started = time.monotonic()
    reply = bus.call_sync('org.mailbridge.Relay1', '/org/mailbridge/Relay1',
                          'org.mailbridge.Relay1', 'ListQueue',
                          GLib.Variant('(uu)', (offset, limit)),
                          GLib.VariantType('(aa{sv}u)'),
                          Gio.DBusCallFlags.NONE, 120000, None)
    elapsed = time.monotonic() - started
    messages, total = reply.unpack()
    return elapsed, len(messages), total


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--messages', type=int, default=100000)
    parser.add_argument('--builddir', default=os.environ.get(
        'MB_BUILDDIR', os.path.join(SOURCE, 'build')))
    parser.add_argument('--keep', action='store_true',
                        help='keep the spool directory')
    args = parser.parse_args()
    args.builddir = os.path.abspath(args.builddir)
    if not os.environ.get('MB_TEST_KEYRING_BUS'):
        reexec_in_gui_session(args)

    os.environ['MB_BUILDDIR'] = args.builddir
    sys.path.insert(0, os.path.join(SOURCE, 'tests', 'integration'))
    sys.path.insert(0, os.path.join(SOURCE, 'tests', 'gui'))
    import mbtest
    import guitest
    from guitest import wait_until, find_all

    workdir = mbtest.make_tmpdir('bench-queue')
    # No delay notices or expiry during the run: 100,000 reports are not
    # what is measured.
    relay = mbtest.Relay(workdir, {'retry-schedule': '1h',
                                   'delay-notice-after': '7d',
                                   'expire-after': '30d'}, verbose=False)
    app = None
    try:
        print('Queue page with %d queued messages' % args.messages)
        started = time.monotonic()
        relay.start(extra_args=['--bus=session'])
        guitest.GuiTestCase.relay = relay
        guitest.GuiTestCase.send(['bench0@contoso.com'], subject='Bench')
        relay.stop_cleanly()
        clone_spool(relay.spool, args.messages)
        print('  spool filled in %.1f s (%s)' % (time.monotonic() - started,
                                                 relay.spool))

        started = time.monotonic()
        relay.start(extra_args=['--bus=session'], timeout=600)
        print('  mailbridged recovered the queue and was ready in %.2f s'
              % (time.monotonic() - started))
        guitest.Ctl().run('pause')

        for offset in (0, args.messages // 2, max(args.messages - 200, 0)):
            elapsed, n, total = time_list_queue(offset)
            print('  ListQueue(offset=%d, limit=200): %d of %d messages in '
                  '%.1f ms' % (offset, n, total, elapsed * 1000))

        subprocess.run(['gsettings', 'set', 'org.mailbridge.Mailbridge',
                        'last-page', 'queue'], check=False,
                       env=dict(os.environ, GSETTINGS_SCHEMA_DIR=os.path.join(
                           args.builddir, 'data')))
        exec_time = time.time()
        exec_mono = time.monotonic()
        app = guitest.App(workdir, env={'G_MESSAGES_DEBUG': 'mb-queue-view'})
        row = wait_until(lambda: find_all(app.window, '^Message from ',
                                          'list item'),
                         timeout=120, what='a queue row on AT-SPI')
        atspi = time.monotonic() - exec_mono
        line = wait_until(lambda: re.search(
            r'queue-first-rows (\w+) rows=(\d+) elapsed_ms=([\d.]+) '
            r'realtime_us=(\d+)', app.log_text()), timeout=60,
            what='the queue-first-rows debug line')
        shown = int(line.group(4)) / 1e6 - exec_time
        print('  app: first %s rows %s %.3f s after exec (%.0f ms after the '
              'page was created)' % (line.group(2), line.group(1), shown,
                                     float(line.group(3))))
        print('  app: first row seen through AT-SPI %.3f s after exec'
              % atspi)
        footer = find_all(app.window, r'^(Delivery is paused\. )?Showing ',
                          'label')
        if footer:
            print('  app: footer says "%s"' % footer[0].name)
        # The relay searches the whole queue (SearchQueue): the newest
        # message is the last one it reaches.
        needle = 'bench%d@contoso.com' % (args.messages - 1)
        entry = app.window.child(name='Search the queue', roleName='text')
        started = time.monotonic()
        entry.text = needle
        wait_until(lambda: find_all(app.window, '^Message from .* to %s$'
                                    % re.escape(needle), 'list item'),
                   timeout=600, what='the searched row')
        found = time.monotonic() - started
        wait_until(lambda: find_all(app.window, r'^(Delivery is paused\. )?'
                                    r'1 message matches$', 'label'),
                   timeout=600, what='the end of the search')
        print('  app: search for the newest message: row shown after %.2f s, '
              'search done after %.2f s'
              % (found, time.monotonic() - started))
        entry.text = ''
        print('  memory: mailbridge %.1f MiB, mailbridged %.1f MiB (VmRSS)'
              % (rss_kib(app.proc.pid) / 1024,
                 rss_kib(relay.proc.pid) / 1024))
        del row
    finally:
        if app is not None:
            app.close()
        relay.close()
        if args.keep:
            print('  kept %s' % workdir)
        else:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == '__main__':
    main()
