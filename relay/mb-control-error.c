/* mb-control-error.c - the control object's errors, registered on D-Bus
 *
 * Contract: MB_CONTROL_ERROR codes travel as org.mailbridge.Relay1.Error.*
 * (g_dbus_error_register_error_domain), so the daemon, mailbridgectl and
 * the application see the same codes.  mb_control_error_from() maps the
 * domains the relay uses (spool, configuration, GIO) to the code a client
 * acts on, keeping the message.  Kept apart from mb-control.c so that
 * clients link it without the daemon.
 */
#define G_LOG_DOMAIN "mb-control"

#include "mb-control.h"

#include "mb-relay-config.h"
#include "mb-spool.h"

static const GDBusErrorEntry control_error_entries[] = {
  { MB_CONTROL_ERROR_FAILED, "org.mailbridge.Relay1.Error.Failed" },
  { MB_CONTROL_ERROR_INVALID_ARGUMENT,
    "org.mailbridge.Relay1.Error.InvalidArgument" },
  { MB_CONTROL_ERROR_NOT_FOUND, "org.mailbridge.Relay1.Error.NotFound" },
  { MB_CONTROL_ERROR_CONFIG_INVALID,
    "org.mailbridge.Relay1.Error.ConfigInvalid" },
  { MB_CONTROL_ERROR_IO, "org.mailbridge.Relay1.Error.Io" },
  { MB_CONTROL_ERROR_NO_SPACE, "org.mailbridge.Relay1.Error.NoSpace" },
  { MB_CONTROL_ERROR_BUSY, "org.mailbridge.Relay1.Error.Busy" },
  { MB_CONTROL_ERROR_TIMEOUT, "org.mailbridge.Relay1.Error.Timeout" },
  { MB_CONTROL_ERROR_NOT_SUPPORTED,
    "org.mailbridge.Relay1.Error.NotSupported" },
};

GQuark
mb_control_error_quark (void)
{
  static gsize quark = 0;

  g_dbus_error_register_error_domain ("mb-control-error-quark", &quark,
                                      control_error_entries,
                                      G_N_ELEMENTS (control_error_entries));
  return (GQuark)quark;
}

static int
map_spool_error (int code)
{
  switch ((MbSpoolError)code)
    {
    case MB_SPOOL_ERROR_NO_SPACE:
      return MB_CONTROL_ERROR_NO_SPACE;
    case MB_SPOOL_ERROR_NOT_FOUND:
      return MB_CONTROL_ERROR_NOT_FOUND;
    case MB_SPOOL_ERROR_IO:
    case MB_SPOOL_ERROR_CORRUPT:
      return MB_CONTROL_ERROR_IO;
    }
  return MB_CONTROL_ERROR_FAILED;
}

static int
map_io_error (int code)
{
  switch (code)
    {
    case G_IO_ERROR_NOT_FOUND:
      return MB_CONTROL_ERROR_NOT_FOUND;
    case G_IO_ERROR_NO_SPACE:
      return MB_CONTROL_ERROR_NO_SPACE;
    case G_IO_ERROR_TIMED_OUT:
      return MB_CONTROL_ERROR_TIMEOUT;
    case G_IO_ERROR_INVALID_ARGUMENT:
      return MB_CONTROL_ERROR_INVALID_ARGUMENT;
    case G_IO_ERROR_BUSY:
    case G_IO_ERROR_PENDING:
      return MB_CONTROL_ERROR_BUSY;
    case G_IO_ERROR_NOT_SUPPORTED:
      return MB_CONTROL_ERROR_NOT_SUPPORTED;
    default:
      return MB_CONTROL_ERROR_IO;
    }
}

GError *
mb_control_error_from (const GError *error)
{
  int code = MB_CONTROL_ERROR_FAILED;

  g_return_val_if_fail (error != NULL, NULL);

  if (error->domain == MB_CONTROL_ERROR)
    return g_error_copy (error);
  if (error->domain == MB_SPOOL_ERROR)
    code = map_spool_error (error->code);
  else if (error->domain == MB_RELAY_CONFIG_ERROR)
    code = MB_CONTROL_ERROR_CONFIG_INVALID;
  else if (error->domain == G_IO_ERROR)
    code = map_io_error (error->code);
  else if (error->domain == G_FILE_ERROR)
    code = error->code == G_FILE_ERROR_NOENT ? MB_CONTROL_ERROR_NOT_FOUND
                                             : MB_CONTROL_ERROR_IO;
  return g_error_new_literal (MB_CONTROL_ERROR, code, error->message);
}
