/* mb-systemd.c - sd_notify(3) over a unix datagram socket
 *
 * Contract: one non-blocking datagram per call to the socket named by
 * $NOTIFY_SOCKET (a path, or "@name" for the abstract namespace).  Returns
 * TRUE without sending when the variable is unset.  Follows the protocol
 * of sd_notify(3); credentials passing and fd storage are not used.
 */
#define G_LOG_DOMAIN "mb-systemd"

#include "mb-systemd.h"

#include <gio/gio.h>
#include <gio/gunixsocketaddress.h>
#include <string.h>

gboolean
mb_systemd_notify (const char *state, GError **error)
{
  const char *path = g_getenv ("NOTIFY_SOCKET");
  g_autoptr (GSocket) socket = NULL;
  g_autoptr (GSocketAddress) address = NULL;

  if (path == NULL || *path == '\0')
    return TRUE;

  socket = g_socket_new (G_SOCKET_FAMILY_UNIX, G_SOCKET_TYPE_DATAGRAM,
                         G_SOCKET_PROTOCOL_DEFAULT, error);
  if (socket == NULL)
    return FALSE;

  if (path[0] == '@')
    address = g_unix_socket_address_new_with_type (
        path + 1, -1, G_UNIX_SOCKET_ADDRESS_ABSTRACT);
  else
    address = g_unix_socket_address_new (path);

  if (g_socket_send_to (socket, address, state, strlen (state), NULL, error)
      < 0)
    {
      g_prefix_error (error, "Could not notify the service manager: ");
      return FALSE;
    }
  return TRUE;
}
