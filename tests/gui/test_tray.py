"""The tray icon, checked over D-Bus (never by pixels).

A fake StatusNotifierWatcher (fake_sni_watcher.py) owns
org.kde.StatusNotifierWatcher on the test bus before the app starts.
Proved here: the app registers its StatusNotifierItem with the watcher;
the item's icon and title say all mail is delivered; once the upstream
defers a message (451 4.7.500) they change to the deferred state.
"""
import unittest

from gi.repository import Gio, GLib

import guitest
from guitest import wait_until

LATER = 'later@contoso.com'
ITEM = 'org.kde.StatusNotifierItem'


class TrayTests(guitest.GuiTestCase):

    paused = False
    rcpt_replies = {LATER: guitest.GREYLIST}
    tray_host = True

    def item_property(self, name):
        value = self.bus.call_sync(
            self.item_name, self.item_path, 'org.freedesktop.DBus.Properties',
            'Get', GLib.Variant('(ss)', (ITEM, name)),
            GLib.VariantType('(v)'), Gio.DBusCallFlags.NONE, 5000, None)
        return value.unpack()[0]

    def test_registers_and_follows_deferred_mail(self):
        # Registration, then the icon and title follow a deferral.
        line = self.watcher.stdout.readline().split()
        self.assertEqual(line[0], 'registered', line)
        self.item_name, self.item_path = line[1], line[2]
        self.bus = Gio.bus_get_sync(Gio.BusType.SESSION, None)

        self.assertEqual(self.item_property('Id'),
                         'org.mailbridge.Mailbridge')
        wait_until(lambda: self.item_property('IconName')
                   == 'mailbridge-idle-symbolic',
                   what='the idle icon')
        self.assertEqual(self.item_property('Title'),
                         'Mailbridge: All mail delivered')

        self.send([LATER], subject='Deferred')
        wait_until(lambda: self.ctl.json('status')['deferred'] == 1,
                   what='the relay to defer the message')
        icon = wait_until(lambda: (lambda name: name if name !=
                                   'mailbridge-idle-symbolic' else None)(
            self.item_property('IconName')), what='the icon to change')
        title = self.item_property('Title')
        print('# after the deferral: icon=%s title=%r status=%s'
              % (icon, title, self.item_property('Status')))
        # One 451 leaves the route ready (failing takes three in a row), so
        # the icon says "waiting for a retry", not "needs attention".
        self.assertEqual(icon, 'mailbridge-deferred-symbolic')
        self.assertNotEqual(title, 'Mailbridge: All mail delivered')


if __name__ == '__main__':
    unittest.main()
