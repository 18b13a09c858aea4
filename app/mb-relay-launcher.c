/* mb-relay-launcher.c - finds or starts the relay for the app
 *
 * Until the D-Bus control plane exists, the app learns whether a relay
 * runs by connecting to the first `listen` address of the user's
 * configuration.  If nothing answers it starts mailbridged in its own
 * session (so it outlives the app), with its log in
 * $XDG_STATE_HOME/mailbridge/relay.log, and waits for its sd_notify
 * READY=1 on a private socket.  Everything is asynchronous.
 */
#define G_LOG_DOMAIN "mb-relay-launcher"

#include "mb-relay-launcher.h"

#include <gio/gunixsocketaddress.h>
#include <glib/gi18n.h>
#include <unistd.h>

#include "mb-relay-config.h"

struct _MbRelayLauncher
{
  GObject parent_instance;

  GCancellable  *cancellable; /* (owned) */
  MbRelayConfig *config;      /* (owned) (nullable) */
  GSocket       *notify_socket; /* (owned) (nullable) */
  GSource       *notify_source; /* (owned) (nullable) */
  char          *log_path;      /* (owned) */
  MbRelayState   state;
  char          *status; /* (owned) */
};

enum
{
  PROP_0,
  PROP_STATE,
  PROP_STATUS,
  N_PROPS
};

static GParamSpec *props[N_PROPS];

G_DEFINE_TYPE (MbRelayLauncher, mb_relay_launcher, G_TYPE_OBJECT)

static void
set_state (MbRelayLauncher *self, MbRelayState state, const char *status)
{
  if (self->state != state)
    {
      self->state = state;
      g_object_notify_by_pspec (G_OBJECT (self), props[PROP_STATE]);
    }
  if (g_strcmp0 (self->status, status) != 0)
    {
      g_free (self->status);
      self->status = g_strdup (status);
      g_object_notify_by_pspec (G_OBJECT (self), props[PROP_STATUS]);
    }
}

static char *
describe_listen (MbRelayLauncher *self)
{
  g_autoptr (GString) text = g_string_new (NULL);

  for (guint i = 0; i < self->config->listen->len; i++)
    {
      GInetSocketAddress *address = g_ptr_array_index (self->config->listen, i);
      g_autofree char    *ip = g_inet_address_to_string (
          g_inet_socket_address_get_address (address));

      if (text->len > 0)
        g_string_append (text, ", ");
      if (strchr (ip, ':') != NULL)
        g_string_append_printf (text, "[%s]:%u", ip,
                                g_inet_socket_address_get_port (address));
      else
        g_string_append_printf (text, "%s:%u", ip,
                                g_inet_socket_address_get_port (address));
    }
  return g_string_free (g_steal_pointer (&text), FALSE);
}

static void
report_running (MbRelayLauncher *self)
{
  g_autofree char *where = describe_listen (self);
  g_autofree char *status = NULL;

  /* Translators: %s is a list of addresses such as 127.0.0.1:2525 */
  status = g_strdup_printf (_("The relay is running and accepts mail on %s."),
                            where);
  set_state (self, MB_RELAY_STATE_RUNNING, status);
}

static char *
find_relay_binary (void)
{
  const char      *override = g_getenv ("MB_MAILBRIDGED");
  g_autofree char *self_path = g_file_read_link ("/proc/self/exe", NULL);

  if (override != NULL)
    return g_strdup (override);

  /* Run from the build tree: build/app/mailbridge -> build/relay/. */
  if (self_path != NULL)
    {
      g_autofree char *dir = g_path_get_dirname (self_path);
      g_autofree char *candidate
          = g_build_filename (dir, "..", "relay", "mailbridged", NULL);

      if (g_file_test (candidate, G_FILE_TEST_IS_EXECUTABLE))
        return g_steal_pointer (&candidate);
    }
  return g_build_filename (BINDIR, "mailbridged", NULL);
}

static void
child_setup (gpointer user_data)
{
  /* The relay must outlive the app and its terminal. */
  setsid ();
}

static gboolean
on_notify_readable_cb (GSocket     *socket,
                       GIOCondition condition,
                       gpointer     user_data)
{
  MbRelayLauncher *self = user_data;
  char             buffer[256];
  gssize           n;

  n = g_socket_receive (socket, buffer, sizeof buffer - 1, NULL, NULL);
  if (n > 0)
    {
      buffer[n] = '\0';
      if (strstr (buffer, "READY=1") != NULL)
        {
          report_running (self);
          g_clear_pointer (&self->notify_source, g_source_unref);
          return G_SOURCE_REMOVE;
        }
    }
  return G_SOURCE_CONTINUE;
}

static void
relay_exited_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (MbRelayLauncher) self = user_data;
  g_autofree char *status = NULL;

  if (!g_subprocess_wait_finish (G_SUBPROCESS (source), result, NULL))
    return;
  if (self->state != MB_RELAY_STATE_STARTING)
    return;

  status = g_strdup_printf (
      _("The relay stopped right after it was started. Its log at %s says "
        "why; check the configuration with “mailbridged --check-config”."),
      self->log_path);
  set_state (self, MB_RELAY_STATE_FAILED, status);
}

static void
spawn_relay (MbRelayLauncher *self)
{
  g_autoptr (GSubprocessLauncher) launcher = NULL;
  g_autoptr (GSubprocess) subprocess = NULL;
  g_autoptr (GSocketAddress) address = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree char *binary = find_relay_binary ();
  g_autofree char *name = NULL;
  g_autofree char *state_dir = NULL;
  g_autofree char *notify_address = NULL;

  set_state (self, MB_RELAY_STATE_STARTING, _("Starting the relay…"));

  name = g_strdup_printf ("mailbridge-app-%d-%08x", getpid (),
                          g_random_int ());
  self->notify_socket = g_socket_new (G_SOCKET_FAMILY_UNIX,
                                      G_SOCKET_TYPE_DATAGRAM,
                                      G_SOCKET_PROTOCOL_DEFAULT, &error);
  address = g_unix_socket_address_new_with_type (
      name, -1, G_UNIX_SOCKET_ADDRESS_ABSTRACT);
  if (self->notify_socket == NULL
      || !g_socket_bind (self->notify_socket, address, FALSE, &error))
    {
      set_state (self, MB_RELAY_STATE_FAILED, error->message);
      return;
    }
  self->notify_source = g_socket_create_source (self->notify_socket,
                                                G_IO_IN, self->cancellable);
  g_source_set_callback (self->notify_source,
                         G_SOURCE_FUNC (on_notify_readable_cb), self, NULL);
  g_source_attach (self->notify_source, NULL);

  state_dir = g_build_filename (g_get_user_state_dir (), "mailbridge", NULL);
  g_mkdir_with_parents (state_dir, 0700);
  self->log_path = g_build_filename (state_dir, "relay.log", NULL);

  launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDIN_INHERIT);
  notify_address = g_strconcat ("@", name, NULL);
  g_subprocess_launcher_setenv (launcher, "NOTIFY_SOCKET", notify_address,
                                TRUE);
  g_subprocess_launcher_set_stderr_file_path (launcher, self->log_path);
  g_subprocess_launcher_set_child_setup (launcher, child_setup, NULL, NULL);

  if (self->config->path != NULL)
    subprocess = g_subprocess_launcher_spawn (launcher, &error, binary,
                                              "--config", self->config->path,
                                              NULL);
  else
    subprocess = g_subprocess_launcher_spawn (launcher, &error, binary, NULL);

  if (subprocess == NULL)
    {
      g_autofree char *status = g_strdup_printf (
          _("The relay could not be started (%s). Reinstall Mailbridge or "
            "start mailbridged by hand."),
          error->message);
      set_state (self, MB_RELAY_STATE_FAILED, status);
      return;
    }
  g_subprocess_wait_async (subprocess, self->cancellable, relay_exited_cb,
                           g_object_ref (self));
}

static void
probe_connected_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (MbRelayLauncher) self = user_data;
  g_autoptr (GSocketConnection) connection = NULL;
  g_autoptr (GError) error = NULL;

  connection = g_socket_client_connect_finish (G_SOCKET_CLIENT (source),
                                               result, &error);
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;
  if (connection != NULL)
    {
      g_io_stream_close_async (G_IO_STREAM (connection), G_PRIORITY_DEFAULT,
                               NULL, NULL, NULL);
      report_running (self);
      return;
    }
  spawn_relay (self);
}

static void
probe_relay (MbRelayLauncher *self)
{
  g_autoptr (GSocketClient) client = g_socket_client_new ();

  if (self->config->listen->len == 0)
    {
      set_state (self, MB_RELAY_STATE_FAILED,
                 _("The configuration has no listen address."));
      return;
    }
  g_socket_client_set_timeout (client, 5);
  g_socket_client_connect_async (
      client, G_SOCKET_CONNECTABLE (g_ptr_array_index (self->config->listen, 0)),
      self->cancellable, probe_connected_cb, g_object_ref (self));
}

static void
config_loaded_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (MbRelayLauncher) self = user_data;
  g_autoptr (GError) error = NULL;
  g_autofree char *contents = NULL;
  gsize            length = 0;

  if (!g_file_load_contents_finish (G_FILE (source), result, &contents,
                                    &length, NULL, &error))
    {
      if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        return;
      if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND))
        {
          set_state (self, MB_RELAY_STATE_FAILED, error->message);
          return;
        }
      self->config = mb_relay_config_new_default ();
    }
  else
    {
      g_autofree char *path = g_file_get_path (G_FILE (source));

      self->config = mb_relay_config_load_data (contents, length, path, &error);
      if (self->config == NULL)
        {
          g_autofree char *status = g_strdup_printf (
              _("The relay configuration has an error: %s"), error->message);
          set_state (self, MB_RELAY_STATE_FAILED, status);
          return;
        }
      g_free (self->config->path);
      self->config->path = g_steal_pointer (&path);
    }
  probe_relay (self);
}

void
mb_relay_launcher_ensure_running (MbRelayLauncher *self)
{
  g_autofree char *path = NULL;
  g_autoptr (GFile) file = NULL;

  g_return_if_fail (MB_IS_RELAY_LAUNCHER (self));

  set_state (self, MB_RELAY_STATE_STARTING, _("Looking for the relay…"));
  path = g_build_filename (g_get_user_config_dir (), "mailbridge",
                           "mailbridge.conf", NULL);
  file = g_file_new_for_path (path);
  g_file_load_contents_async (file, self->cancellable, config_loaded_cb,
                              g_object_ref (self));
}

MbRelayState
mb_relay_launcher_get_state (MbRelayLauncher *self)
{
  return self->state;
}

const char *
mb_relay_launcher_get_status (MbRelayLauncher *self)
{
  return self->status;
}

static void
mb_relay_launcher_get_property (GObject    *object,
                                guint       prop_id,
                                GValue     *value,
                                GParamSpec *pspec)
{
  MbRelayLauncher *self = MB_RELAY_LAUNCHER (object);

  switch (prop_id)
    {
    case PROP_STATE:
      g_value_set_int (value, self->state);
      break;
    case PROP_STATUS:
      g_value_set_string (value, self->status);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
mb_relay_launcher_dispose (GObject *object)
{
  MbRelayLauncher *self = MB_RELAY_LAUNCHER (object);

  g_cancellable_cancel (self->cancellable);
  if (self->notify_source != NULL)
    {
      g_source_destroy (self->notify_source);
      g_clear_pointer (&self->notify_source, g_source_unref);
    }
  g_clear_object (&self->notify_socket);
  G_OBJECT_CLASS (mb_relay_launcher_parent_class)->dispose (object);
}

static void
mb_relay_launcher_finalize (GObject *object)
{
  MbRelayLauncher *self = MB_RELAY_LAUNCHER (object);

  g_clear_object (&self->cancellable);
  g_clear_pointer (&self->config, mb_relay_config_unref);
  g_free (self->log_path);
  g_free (self->status);
  G_OBJECT_CLASS (mb_relay_launcher_parent_class)->finalize (object);
}

static void
mb_relay_launcher_class_init (MbRelayLauncherClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->get_property = mb_relay_launcher_get_property;
  object_class->dispose = mb_relay_launcher_dispose;
  object_class->finalize = mb_relay_launcher_finalize;

  props[PROP_STATE] = g_param_spec_int (
      "state", NULL, NULL, MB_RELAY_STATE_UNKNOWN, MB_RELAY_STATE_FAILED,
      MB_RELAY_STATE_UNKNOWN,
      G_PARAM_READABLE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);
  props[PROP_STATUS] = g_param_spec_string (
      "status", NULL, NULL, NULL,
      G_PARAM_READABLE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);
  g_object_class_install_properties (object_class, N_PROPS, props);
}

static void
mb_relay_launcher_init (MbRelayLauncher *self)
{
  self->cancellable = g_cancellable_new ();
}

MbRelayLauncher *
mb_relay_launcher_new (void)
{
  return g_object_new (MB_TYPE_RELAY_LAUNCHER, NULL);
}
