/* mb-control.h - the relay's D-Bus control object (org.mailbridge.Relay1)
 *
 * Implements data/org.mailbridge.Relay1.xml on /org/mailbridge/Relay1 for
 * the GTK application and mailbridgectl: status properties, the queue,
 * pause and resume, test messages, the delivery log and configuration
 * reload.  Errors cross the bus as registered D-Bus errors
 * (org.mailbridge.Relay1.Error.*): a client that links librelay gets them
 * back as MB_CONTROL_ERROR codes.
 *
 * Main-loop only.
 */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

#define MB_CONTROL_BUS_NAME "org.mailbridge.Relay1"
#define MB_CONTROL_OBJECT_PATH "/org/mailbridge/Relay1"

/* Registered with g_dbus_error_register_error_domain() on first use of the
 * quark: each code travels as org.mailbridge.Relay1.Error.<Name>. */
#define MB_CONTROL_ERROR (mb_control_error_quark ())
GQuark mb_control_error_quark (void);

typedef enum
{
  MB_CONTROL_ERROR_FAILED,           /* Failed: anything not below */
  MB_CONTROL_ERROR_INVALID_ARGUMENT, /* InvalidArgument */
  MB_CONTROL_ERROR_NOT_FOUND,        /* NotFound: queue id or route */
  MB_CONTROL_ERROR_CONFIG_INVALID,   /* ConfigInvalid: names the key */
  MB_CONTROL_ERROR_IO,               /* Io: the spool */
  MB_CONTROL_ERROR_NO_SPACE,         /* NoSpace: the spool's disk is full */
  MB_CONTROL_ERROR_BUSY,             /* Busy: being delivered right now */
  MB_CONTROL_ERROR_TIMEOUT,          /* Timeout */
  MB_CONTROL_ERROR_NOT_SUPPORTED,    /* NotSupported */
} MbControlError;

/* An error of another domain (spool, configuration, GIO) as the control
 * code a client acts on, keeping its message. */
GError *mb_control_error_from (const GError *error);

/* The daemon is declared in mb-daemon.h, which includes this file. */
typedef struct _MbDaemon MbDaemon;

#define MB_TYPE_CONTROL (mb_control_get_type ())
G_DECLARE_FINAL_TYPE (MbControl, mb_control, MB, CONTROL, GObject)

/* @daemon: (unowned) the daemon that owns the control object; it must
 * outlive it. */
MbControl *mb_control_new (MbDaemon *daemon);

/* Connects to @bus_type (G_BUS_TYPE_SESSION or G_BUS_TYPE_SYSTEM), exports
 * the object, reads the queue's figures and then acquires
 * MB_CONTROL_BUS_NAME.  Completes once the name is ours: for Type=dbus
 * that is the readiness signal.  Fails when the bus cannot be reached or
 * another process owns the name. */
void     mb_control_start_async (MbControl          *control,
                                 GBusType            bus_type,
                                 GCancellable       *cancellable,
                                 GAsyncReadyCallback callback,
                                 gpointer            user_data);
gboolean mb_control_start_finish (MbControl    *control,
                                  GAsyncResult *result,
                                  GError      **error);

/* Releases the name and unexports the object. */
void mb_control_stop (MbControl *control);

/* The configuration in force changed (reload): routes, listen addresses
 * and the configuration path are read again. */
void mb_control_config_changed (MbControl *control);

G_END_DECLS
