#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

typedef enum
{
  MB_RELAY_STATE_UNKNOWN,
  MB_RELAY_STATE_STARTING,
  MB_RELAY_STATE_RUNNING,
  MB_RELAY_STATE_FAILED,
} MbRelayState;

#define MB_TYPE_RELAY_LAUNCHER (mb_relay_launcher_get_type ())
G_DECLARE_FINAL_TYPE (MbRelayLauncher, mb_relay_launcher, MB, RELAY_LAUNCHER,
                      GObject)

MbRelayLauncher *mb_relay_launcher_new (void);

/* Finds a relay listening on the configured address or starts one (it
 * keeps running when the app quits).  Progress is reported through the
 * "state" and "status" properties. */
void         mb_relay_launcher_ensure_running (MbRelayLauncher *self);
MbRelayState mb_relay_launcher_get_state (MbRelayLauncher *self);
/* A sentence for the admin, translated. */
const char  *mb_relay_launcher_get_status (MbRelayLauncher *self);

G_END_DECLS
