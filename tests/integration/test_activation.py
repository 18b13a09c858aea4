"""D-Bus activation of mailbridged (issue 6).

With nothing running, mailbridgectl on a private session bus whose
service directory holds our service file (data/org.mailbridge.Relay1.
service.in, with the build tree's mailbridged in Exec) starts the relay,
which reads the user's configuration ($XDG_CONFIG_HOME/mailbridge/
mailbridge.conf) and answers; it owns its name only once it accepts mail.
When the bus goes away the relay stops.  Also checked: the configured
service file and systemd user unit in the build tree.
"""
import os
import re
import select
import subprocess
import unittest

import mbtest
from test_control import Ctl, PrivateBus, WAIT


def relay_pid(address):
    """The pid of the owner of org.mailbridge.Relay1, or None."""
    result = subprocess.run(
        ['gdbus', 'call', '--address', address,
         '--dest', 'org.freedesktop.DBus',
         '--object-path', '/org/freedesktop/DBus',
         '--method', 'org.freedesktop.DBus.GetConnectionUnixProcessID',
         'org.mailbridge.Relay1'],
        capture_output=True, text=True, timeout=mbtest.REPLY_TIMEOUT)
    m = re.search(r'uint32 (\d+)', result.stdout)
    return int(m.group(1)) if m else None


def wait_exit(pid, timeout):
    """Blocks until process @pid (not our child) exits; False on timeout."""
    try:
        fd = os.pidfd_open(pid)
    except ProcessLookupError:
        return True
    try:
        readable, _, _ = select.select([fd], [], [], timeout)
        return bool(readable)
    finally:
        os.close(fd)


class ActivationTests(unittest.TestCase):

    def setUp(self):
        self.daemon = mbtest.daemon_path()
        self.workdir = mbtest.make_tmpdir('activation')
        self.addCleanup(mbtest.remove_tmpdir, self.workdir)
        self.port = mbtest.free_port()
        self.pid = None

        xdg = {name: os.path.join(self.workdir, 'xdg', name.lower())
               for name in ('XDG_CONFIG_HOME', 'XDG_STATE_HOME',
                            'XDG_CACHE_HOME', 'XDG_DATA_HOME')}
        config_dir = os.path.join(xdg['XDG_CONFIG_HOME'], 'mailbridge')
        os.makedirs(config_dir)
        self.config_path = os.path.join(config_dir, 'mailbridge.conf')
        with open(self.config_path, 'w', encoding='utf-8') as f:
            f.write(mbtest.format_config({'relay': {
                'listen': '127.0.0.1:%d' % self.port,
                'allow': '127.0.0.0/8',
                'hostname': mbtest.HOSTNAME,
                'spool': os.path.join(self.workdir, 'spool'),
                'tls-certificate': os.path.join(self.workdir, 'relay.crt'),
                'tls-key': os.path.join(self.workdir, 'relay.key'),
            }}))

        # Our service file, with the build tree's daemon as Exec.
        service_dir = os.path.join(self.workdir, 'services')
        os.makedirs(service_dir)
        template = os.path.join(mbtest.SOURCEDIR, 'data',
                                'org.mailbridge.Relay1.service.in')
        with open(template, encoding='utf-8') as f:
            text = f.read().replace('@bindir@',
                                    os.path.dirname(self.daemon))
        with open(os.path.join(service_dir, 'org.mailbridge.Relay1.service'),
                  'w', encoding='utf-8') as f:
            f.write(text)

        env = dict(os.environ, G_DEBUG='fatal-criticals', **xdg)
        for name in ('NOTIFY_SOCKET', 'JOURNAL_STREAM',
                     'DBUS_SESSION_BUS_ADDRESS'):
            env.pop(name, None)
        self.bus = PrivateBus(self.workdir, service_dir=service_dir, env=env)
        self.addCleanup(self.stop_bus)
        self.ctl = Ctl(self.bus.address)

    def stop_bus(self):
        self.bus.close()
        if self.pid is not None:
            # The relay's bus connection closes with the bus: it stops.
            self.assertTrue(wait_exit(self.pid, mbtest.STOP_TIMEOUT),
                            'the activated relay outlived its bus')

    def diagnostics(self):
        return '--- bus and activated relay output ---\n' + \
            self.bus.log_text()[-4000:]

    def test_status_starts_the_relay_which_answers(self):
        # Nothing owns the name; status activates the relay, which reads
        # the user's configuration and is ready to accept mail at once.
        self.assertIsNone(relay_pid(self.bus.address))
        status = self.ctl.json('status')
        self.assertEqual(status['state'], 'running')
        self.assertIn('127.0.0.1:%d' % self.port, status['listen'])
        self.assertEqual(status['config_path'], self.config_path)
        self.pid = relay_pid(self.bus.address)
        self.assertIsNotNone(self.pid)

        # Owning the name means ready: the listener answers already.
        with mbtest.SmtpSocket(('127.0.0.1', self.port)) as conn:
            self.assertEqual(conn.read_reply().code, 220)
            self.assertEqual(conn.command('QUIT').code, 221)

        # A second command talks to the same relay.
        self.assertEqual(self.ctl.json('status')['state'], 'running')
        self.assertEqual(relay_pid(self.bus.address), self.pid)

    def test_human_status_activates_too(self):
        # The plain (non-JSON) command works the same way, exit 0.
        result = self.ctl.run('status', timeout=WAIT)
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertIn('127.0.0.1:%d' % self.port, result.stdout)
        self.pid = relay_pid(self.bus.address)

    def test_without_service_file_no_relay_exits_3(self):
        # On a bus that cannot start the relay, mailbridgectl says so and
        # exits 3.
        other = os.path.join(self.workdir, 'other-bus')
        os.makedirs(other)
        bus = PrivateBus(other)
        self.addCleanup(bus.close)
        result = Ctl(bus.address).run('status', timeout=WAIT)
        self.assertEqual(result.returncode, 3)
        self.assertIn('mailbridgectl:', result.stderr)


class InstalledFilesTests(unittest.TestCase):

    def read_built(self, name):
        if not mbtest.BUILDDIR:
            raise unittest.SkipTest('MB_BUILDDIR is not set')
        path = os.path.join(mbtest.BUILDDIR, 'data', name)
        if not os.path.exists(path):
            raise unittest.SkipTest('%s is not configured' % path)
        with open(path, encoding='utf-8') as f:
            return f.read()

    def test_service_file_names_the_bus_name_and_daemon(self):
        # The configured D-Bus service file activates our daemon, or
        # hands over to the systemd user unit.
        text = self.read_built('org.mailbridge.Relay1.service')
        self.assertIn('[D-BUS Service]', text)
        self.assertRegex(text, r'(?m)^Name=org\.mailbridge\.Relay1$')
        self.assertRegex(text, r'(?m)^Exec=/\S+/mailbridged --bus=session$')
        self.assertRegex(text, r'(?m)^SystemdService=mailbridged\.service$')
        self.assertNotIn('@', text)

    def test_user_unit_is_type_dbus_with_our_bus_name(self):
        # The systemd user unit: Type=dbus, BusName, reload by SIGHUP.
        text = self.read_built('mailbridged.service')
        self.assertRegex(text, r'(?m)^Type=dbus$')
        self.assertRegex(text, r'(?m)^BusName=org\.mailbridge\.Relay1$')
        self.assertRegex(text,
                         r'(?m)^ExecStart=/\S+/mailbridged --bus=session$')
        self.assertRegex(text, r'(?m)^ExecReload=/bin/kill -HUP \$MAINPID$')
        self.assertNotIn('@', text)


if __name__ == '__main__':
    unittest.main()
