#!/usr/bin/python3
"""A fake notification server (org.freedesktop.Notifications, the
Desktop Notifications Specification 1.2) for the GUI tests: it owns the
name on the session bus, so GApplication's GNotification goes out as
Notify calls, and prints one JSON line per notification,

    {"id": N, "summary": "...", "body": "...", "actions": [["key", "label"], ...]}

flushed, so a test can wait for what the app told the admin.  It prints
"ready" once it owns the name and runs until stdin closes.  Gio from
python3-gi; no GTK.
"""
import json
import sys

from gi.repository import Gio, GLib

XML = """
<node>
  <interface name="org.freedesktop.Notifications">
    <method name="Notify">
      <arg name="app_name" type="s" direction="in"/>
      <arg name="replaces_id" type="u" direction="in"/>
      <arg name="app_icon" type="s" direction="in"/>
      <arg name="summary" type="s" direction="in"/>
      <arg name="body" type="s" direction="in"/>
      <arg name="actions" type="as" direction="in"/>
      <arg name="hints" type="a{sv}" direction="in"/>
      <arg name="expire_timeout" type="i" direction="in"/>
      <arg name="id" type="u" direction="out"/>
    </method>
    <method name="CloseNotification">
      <arg name="id" type="u" direction="in"/>
    </method>
    <method name="GetCapabilities">
      <arg name="capabilities" type="as" direction="out"/>
    </method>
    <method name="GetServerInformation">
      <arg name="name" type="s" direction="out"/>
      <arg name="vendor" type="s" direction="out"/>
      <arg name="version" type="s" direction="out"/>
      <arg name="spec_version" type="s" direction="out"/>
    </method>
    <signal name="NotificationClosed">
      <arg name="id" type="u"/>
      <arg name="reason" type="u"/>
    </signal>
    <signal name="ActionInvoked">
      <arg name="id" type="u"/>
      <arg name="action_key" type="s"/>
    </signal>
  </interface>
</node>
"""
PATH = '/org/freedesktop/Notifications'
NAME = 'org.freedesktop.Notifications'


class Server:
    def __init__(self, loop):
        self.loop = loop
        self.last_id = 0

    def on_method_call(self, connection, sender, path, interface, method,
                       params, invocation):
        if method == 'Notify':
            (_app, replaces, _icon, summary, body, actions, _hints,
             _timeout) = params.unpack()
            if replaces:
                notification_id = replaces
            else:
                self.last_id += 1
                notification_id = self.last_id
            print(json.dumps({
                'id': notification_id, 'summary': summary, 'body': body,
                'actions': [list(pair) for pair in zip(actions[0::2],
                                                       actions[1::2])]}),
                  flush=True)
            invocation.return_value(GLib.Variant('(u)', (notification_id,)))
        elif method == 'CloseNotification':
            invocation.return_value(None)
        elif method == 'GetCapabilities':
            invocation.return_value(GLib.Variant('(as)',
                                                 (['actions', 'body'],)))
        else:
            invocation.return_value(GLib.Variant(
                '(ssss)', ('fake', 'Mailbridge tests', '1', '1.2')))

    def on_bus_acquired(self, connection, name):
        info = Gio.DBusNodeInfo.new_for_xml(XML).interfaces[0]
        connection.register_object(PATH, info, self.on_method_call, None,
                                   None)

    def on_name_acquired(self, connection, name):
        print('ready', flush=True)

    def on_name_lost(self, connection, name):
        print('name lost', flush=True)
        self.loop.quit()


def main():
    loop = GLib.MainLoop()
    server = Server(loop)
    Gio.bus_own_name(Gio.BusType.SESSION, NAME,
                     Gio.BusNameOwnerFlags.NONE, server.on_bus_acquired,
                     server.on_name_acquired, server.on_name_lost)
    GLib.io_add_watch(GLib.IOChannel.unix_new(sys.stdin.fileno()),
                      GLib.PRIORITY_DEFAULT, GLib.IO_IN | GLib.IO_HUP,
                      lambda *args: loop.quit() or False)
    loop.run()


if __name__ == '__main__':
    main()
