#!/usr/bin/python3
"""A fake StatusNotifierWatcher (org.kde.StatusNotifierWatcher) for the
tray test: it owns the watcher's name on the session bus, says a host is
registered (so libayatana-appindicator exports its item instead of falling
back), and prints one line per registered item,

    registered BUS_NAME OBJECT_PATH

flushed, so the test can read the item's properties
(org.kde.StatusNotifierItem) over D-Bus.  It prints "ready" once it owns
the name and runs until stdin closes.  Gio from python3-gi; no GTK.
"""
import sys

from gi.repository import Gio, GLib

XML = """
<node>
  <interface name="org.kde.StatusNotifierWatcher">
    <method name="RegisterStatusNotifierItem">
      <arg name="service" type="s" direction="in"/>
    </method>
    <method name="RegisterStatusNotifierHost">
      <arg name="service" type="s" direction="in"/>
    </method>
    <property name="RegisteredStatusNotifierItems" type="as" access="read"/>
    <property name="IsStatusNotifierHostRegistered" type="b" access="read"/>
    <property name="ProtocolVersion" type="i" access="read"/>
    <signal name="StatusNotifierItemRegistered">
      <arg name="service" type="s"/>
    </signal>
    <signal name="StatusNotifierItemUnregistered">
      <arg name="service" type="s"/>
    </signal>
    <signal name="StatusNotifierHostRegistered"/>
  </interface>
</node>
"""
PATH = '/StatusNotifierWatcher'
NAME = 'org.kde.StatusNotifierWatcher'


class Watcher:
    def __init__(self, loop):
        self.loop = loop
        self.items = []
        self.connection = None

    def on_method_call(self, connection, sender, path, interface, method,
                       params, invocation):
        if method == 'RegisterStatusNotifierItem':
            service = params.unpack()[0]
            # Either a bus name (then the path is the default one) or an
            # object path on the caller's connection.
            if service.startswith('/'):
                bus_name, object_path = sender, service
            else:
                bus_name, object_path = service, '/StatusNotifierItem'
            entry = '%s%s' % (bus_name, object_path)
            if entry not in self.items:
                self.items.append(entry)
            connection.emit_signal(None, PATH, NAME,
                                   'StatusNotifierItemRegistered',
                                   GLib.Variant('(s)', (entry,)))
            print('registered %s %s' % (bus_name, object_path), flush=True)
        invocation.return_value(None)

    def on_get_property(self, connection, sender, path, interface, name):
        if name == 'RegisteredStatusNotifierItems':
            return GLib.Variant('as', self.items)
        if name == 'IsStatusNotifierHostRegistered':
            return GLib.Variant('b', True)
        if name == 'ProtocolVersion':
            return GLib.Variant('i', 0)
        return None

    def on_bus_acquired(self, connection, name):
        self.connection = connection
        info = Gio.DBusNodeInfo.new_for_xml(XML).interfaces[0]
        connection.register_object(PATH, info, self.on_method_call,
                                   self.on_get_property, None)

    def on_name_acquired(self, connection, name):
        print('ready', flush=True)

    def on_name_lost(self, connection, name):
        print('name lost', flush=True)
        self.loop.quit()


def main():
    loop = GLib.MainLoop()
    watcher = Watcher(loop)
    Gio.bus_own_name(Gio.BusType.SESSION, NAME,
                     Gio.BusNameOwnerFlags.NONE, watcher.on_bus_acquired,
                     watcher.on_name_acquired, watcher.on_name_lost)
    GLib.io_add_watch(GLib.IOChannel.unix_new(sys.stdin.fileno()),
                      GLib.PRIORITY_DEFAULT, GLib.IO_IN | GLib.IO_HUP,
                      lambda *args: loop.quit() or False)
    loop.run()


if __name__ == '__main__':
    main()
