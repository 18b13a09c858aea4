"""Shared helpers for Mailbridge's GUI tests (tests/gui/test_*.py).

Run through tests/gui/run-gui-tests.sh, which provides the Xvfb display,
the private session bus, the unlocked keyring and accessibility.  Each
test class gets:

  - the fake Microsoft 365 upstream (tests/fakes/fake_m365.py) in Direct
    Send personality, optionally rejecting some recipients;
  - the real mailbridged from the build tree on that session bus, routed
    to the fake over verified STARTTLS, delivery paused unless the class
    says otherwise ("upstream paused": mail stays queued);
  - the real mailbridge app from the build tree, found through AT-SPI with
    dogtail (tree.root.application).

Waits are deadlines around polls of AT-SPI or mailbridgectl; nothing
sleeps for a fixed time.  Screenshots go to $MB_ARTIFACTS_DIR.
"""
import json
import os
import queue
import re
import signal
import smtplib
import subprocess
import sys
import threading
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
TESTS = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(TESTS, 'integration'))
sys.path.insert(0, os.path.join(TESTS, 'fakes'))

import mbtest  # noqa: E402

if not os.environ.get('DISPLAY') or not os.environ.get('MB_TEST_KEYRING_BUS'):
    raise unittest.SkipTest('run through tests/gui/run-gui-tests.sh (needs '
                            'Xvfb, a private bus and the keyring)')

import fake_m365  # noqa: E402
import testpki  # noqa: E402

from dogtail.config import config as dogtail_config  # noqa: E402

# Short polls: the app answers in milliseconds; the deadlines below decide.
dogtail_config.searchBackoffDuration = 0.2
dogtail_config.searchCutoffCount = 10
dogtail_config.actionDelay = 0.1
dogtail_config.typingDelay = 0.02
dogtail_config.defaultDelay = 0.1
dogtail_config.logDebugToFile = False
dogtail_config.logDebugToStdOut = False

from dogtail import predicate, tree  # noqa: E402

PKI = testpki.ensure(testpki.default_dir())
DEVICE = 'scanner@contoso.com'
ADMIN = 'admin@contoso.com'
WAIT = 30 * mbtest.SCALE
# Exchange Online's greylisting and a refusal (M365-FACTS.md), as the fake
# upstream scripts them per recipient.
GREYLIST = ('451 4.7.500 Server busy. Please try again later from '
            '[127.0.0.1]. (S77719) [DB5PEPF00014B8A.eurprd04.prod.outlook.com]')
REJECT_REPLY = ('550 5.4.1 Recipient address rejected: Access denied. '
                '[DB5PEPF00014B8A.eurprd04.prod.outlook.com]')


def artifacts_dir():
    path = os.environ.get('MB_ARTIFACTS_DIR') or os.path.join(
        os.environ.get('MB_BUILDDIR', 'build'), 'screenshots')
    os.makedirs(path, exist_ok=True)
    return path


def message(subject, to, sender=DEVICE):
    return ('From: Office Scanner <%s>\r\nTo: <%s>\r\nSubject: %s\r\n\r\n'
            'Scanned document.\r\n' % (sender, to, subject)).encode('ascii')


def wait_until(check, timeout=WAIT, what='condition', interval=0.1):
    """Polls @check until it returns something true, which is returned;
    fails after @timeout seconds."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            value = check()
        except AssertionError:
            raise
        except Exception:  # AT-SPI objects may vanish between polls
            value = None
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError('timed out after %ds waiting for %s'
                                 % (timeout, what))
        time.sleep(interval)


class Ctl:
    """mailbridgectl on the session bus."""

    def __init__(self):
        self.path = os.path.join(os.environ['MB_BUILDDIR'], 'relay',
                                 'mailbridgectl')

    def run(self, *args):
        result = subprocess.run([self.path] + list(args),
                                stdin=subprocess.DEVNULL, capture_output=True,
                                text=True, timeout=WAIT + 30)
        if result.returncode != 0:
            raise AssertionError('mailbridgectl %s exited %d:\n%s%s'
                                 % (' '.join(args), result.returncode,
                                    result.stdout, result.stderr))
        return result.stdout

    def json(self, *args):
        return json.loads(self.run('--json', *args))

    def queue(self):
        return self.json('queue', 'list')


class App:
    """The mailbridge process and its AT-SPI application node."""

    def __init__(self, workdir, env=None, args=()):
        path = os.path.join(os.environ['MB_BUILDDIR'], 'app', 'mailbridge')
        if not os.access(path, os.X_OK):
            raise unittest.SkipTest('%s is not built' % path)
        self.log_path = os.path.join(workdir, 'mailbridge.log')
        self.log = open(self.log_path, 'wb')
        full_env = dict(os.environ)
        full_env.setdefault('G_MESSAGES_DEBUG', 'mb-queue-view mb-log-view')
        full_env.update(env or {})
        self.proc = subprocess.Popen([path] + list(args),
                                     stdin=subprocess.DEVNULL,
                                     stdout=self.log, stderr=self.log,
                                     env=full_env)
        self.node = wait_until(self.find, what='mailbridge on AT-SPI',
                               timeout=WAIT)
        self.window = wait_until(
            lambda: self.node.child(roleName='frame', retry=False),
            what='the main window')

    def find(self):
        if self.proc.poll() is not None:
            raise AssertionError('mailbridge exited with status %d:\n%s'
                                 % (self.proc.returncode,
                                    self.log_text()[-3000:]))
        for app in tree.root.applications():
            try:
                if app.name == 'mailbridge' and self.proc.pid == app.get_process_id():
                    return app
            except Exception:
                continue
        return None

    def close(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()

    def log_text(self):
        with open(self.log_path, 'rb') as f:
            return f.read().decode('utf-8', 'replace')

    def window_id(self):
        out = subprocess.run(['xdotool', 'search', '--onlyvisible', '--pid',
                              str(self.proc.pid)], capture_output=True,
                             text=True).stdout.split()
        return out[-1] if out else None

    def screenshot(self, name, window=None):
        """Saves the app's main window (or the root window) as NAME.png in
        the artifacts directory and returns the path."""
        path = os.path.join(artifacts_dir(), name + '.png')
        target = window or self.window_id() or 'root'
        subprocess.run(['import', '-window', target, path], check=True,
                       capture_output=True, timeout=60)
        return path

    # Navigation

    def show_page(self, title):
        """Clicks the page switcher's button @title (Status/Queue/Log)."""
        button = wait_until(
            lambda: self.window.findChild(
                predicate.GenericPredicate(name=title,
                                           roleName='radio button'),
                retry=False, requireResult=False),
            what='the %s page button' % title)
        button.doActionNamed('click')
        return button


def showing(node):
    try:
        return node.showing
    except Exception:
        return False


def find_all(root, name=None, role=None, showing_only=True, text=None):
    """Every descendant of @root with @role whose name matches the regex
    @name and whose text (AtkText) matches the regex @text (None: any)."""
    regex = re.compile(name) if name else None
    text_regex = re.compile(text) if text else None

    def match(node):
        try:
            if role is not None and node.roleName != role:
                return False
            if regex is not None and not regex.search(node.name or ''):
                return False
            if text_regex is not None and not text_regex.search(
                    node.text or ''):
                return False
            return not showing_only or node.showing
        except Exception:
            return False
    return root.findChildren(match, isLambda=True, showingOnly=False)


class GuiTestCase(unittest.TestCase):
    """The fake upstream, the relay (paused) and the app, per class."""

    paused = True
    upstream = 'mx-direct-send'  # the fake's personality (fake_m365.py)
    rcpt_replies = {}      # recipient -> reply or [reply per attempt]
    # Start the fake StatusNotifierWatcher (a desktop with a tray host)
    # before the app; MB_GUI_TRAY_HOST=1 does it for every class.
    tray_host = False
    # Start a fake notification server (fake_notifications.py) before
    # the app, so its GNotifications can be read (wait_notification).
    notification_server = False
    app_env = {}
    relay_extra = {}

    @classmethod
    def setUpClass(cls):
        cls.workdir = mbtest.make_tmpdir('gui')
        cls.ctl = Ctl()
        cls.fake = fake_m365.FakeM365(cls.upstream, pki=PKI)
        if cls.rcpt_replies:
            cls.fake.rcpt_replies = dict(cls.rcpt_replies)
        cls.fake.start()
        keys = {'route': 'm365', 'retry-schedule': '1h',
                'admin-address': ADMIN}
        keys.update(cls.relay_extra)
        cls.relay = mbtest.Relay(cls.workdir, keys,
                                 {'route m365': cls.route_keys()})
        try:
            cls.relay.start(extra_args=['--bus=session'])
            if cls.paused:
                cls.ctl.run('pause')
            if cls.tray_host or os.environ.get('MB_GUI_TRAY_HOST') == '1':
                cls.start_watcher()
            if cls.notification_server:
                cls.start_notification_server()
            cls.before_app()
            cls.app = App(cls.workdir, env=cls.app_env)
        except BaseException:
            cls.cleanup_class()
            raise

    @classmethod
    def route_keys(cls):
        """The relay's [route m365], once the fake upstream listens;
        classes routing otherwise (OAuth, say) override it."""
        return {'method': 'direct-send', 'host': 'localhost',
                'port': cls.fake.port, 'trust': PKI.ca_cert,
                'tls': 'required'}

    @classmethod
    def before_app(cls):
        pass

    @classmethod
    def start_watcher(cls):
        cls.watcher = subprocess.Popen(
            [sys.executable, os.path.join(HERE, 'fake_sni_watcher.py')],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        line = cls.watcher.stdout.readline().strip()
        if line != 'ready':
            raise AssertionError('the fake watcher said %r' % line)

    @classmethod
    def start_notification_server(cls):
        cls.notifier = subprocess.Popen(
            [sys.executable, os.path.join(HERE, 'fake_notifications.py')],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        line = cls.notifier.stdout.readline().strip()
        if line != 'ready':
            raise AssertionError('the fake notification server said %r'
                                 % line)
        # A reader thread, so waits are deadlines on a queue.
        cls.notes = queue.Queue()

        def read_notes(stream, notes):
            for note in stream:
                notes.put(json.loads(note))
            notes.put(None)

        threading.Thread(target=read_notes,
                         args=(cls.notifier.stdout, cls.notes),
                         daemon=True).start()

    def wait_notification(self, predicate, what):
        """The first notification (a dict: summary, body, actions) sent
        from now on, or before and not yet read, for which @predicate
        holds; fails after WAIT."""
        deadline = time.monotonic() + WAIT
        while True:
            try:
                note = self.notes.get(
                    timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                raise AssertionError('no notification: %s' % what)
            if note is None:
                raise AssertionError('the fake notification server ended '
                                     'before %s' % what)
            if predicate(note):
                return note

    @classmethod
    def cleanup_class(cls):
        app = getattr(cls, 'app', None)
        if app is not None:
            app.close()
        notifier = getattr(cls, 'notifier', None)
        if notifier is not None:
            notifier.stdin.close()
            notifier.wait(30)
        watcher = getattr(cls, 'watcher', None)
        if watcher is not None:
            watcher.stdin.close()
            watcher.wait(30)
            watcher.stdout.close()
        cls.relay.close()
        cls.fake.stop()
        mbtest.remove_tmpdir(cls.workdir)

    @classmethod
    def tearDownClass(cls):
        cls.cleanup_class()

    def diagnostics(self):
        text = ''
        try:
            text += 'screenshot: %s\n' % self.app.screenshot(
                'failed-' + self.id().split('.')[-1])
        except Exception as e:  # the failure matters more
            text += 'no screenshot: %s\n' % e
        text += '--- mailbridge (app) log, last 40 lines ---\n'
        text += '\n'.join(self.app.log_text().splitlines()[-40:])
        text += '\n' + self.relay.log_tail(30)
        return text

    @classmethod
    def send(cls, recipients, subject='test', sender=DEVICE):
        with smtplib.SMTP(cls.relay.host, cls.relay.port,
                          timeout=mbtest.REPLY_TIMEOUT) as client:
            refused = client.sendmail(sender, recipients,
                                      message(subject, recipients[0], sender))
        assert refused == {}, refused

    def queue_ids(self):
        return sorted(m['id'] for m in self.ctl.queue())
