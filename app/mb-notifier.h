#pragma once

#include <gio/gio.h>

#include "mb-relay-client.h"

G_BEGIN_DECLS

#define MB_TYPE_NOTIFIER (mb_notifier_get_type ())
G_DECLARE_FINAL_TYPE (MbNotifier, mb_notifier, MB, NOTIFIER, GObject)

/* Desktop notifications (GNotification) for what needs the admin: a
 * message that could not be delivered (collapsed: one notification for a
 * burst), a route paused or needing sign-in, the relay gone, a problem the
 * relay reports (disk full).  Never one per delivered message.  Each
 * notification is withdrawn when its cause goes away. */
MbNotifier *mb_notifier_new (GApplication *application, MbRelayClient *client);

G_END_DECLS
