/* mb-tray.c - the tray icon
 *
 * libayatana-appindicator3 exports the icon and the menu over D-Bus
 * (StatusNotifierItem + dbusmenu).  It has no tooltip of its own: the
 * state is in the title (which hosts show as the tooltip), the icon's
 * accessible description and the menu's first line.  Uninstalled, the
 * icon theme path points at the source tree so the host finds our icons.
 */
#define G_LOG_DOMAIN "mb-tray"

#include "mb-tray.h"

#include <glib/gi18n.h>
#include <libayatana-appindicator/app-indicator.h>

#include "mb-attention.h"

struct _MbTray
{
  GObject parent_instance;

  GApplication  *application; /* (unowned) it owns us */
  MbRelayClient *client;      /* (owned) */
  AppIndicator  *indicator;   /* (owned) */
  GtkWidget     *menu;        /* (owned) */
  GtkWidget     *status_item; /* (unowned) */
  GtkWidget     *open_item;   /* (unowned) */
  GtkWidget     *pause_item;  /* (unowned) */
  GtkWidget     *test_item;   /* (unowned) */
  guint          update_id;
  gboolean       available;
};

enum
{
  PROP_0,
  PROP_AVAILABLE,
  N_PROPS
};

static GParamSpec *props[N_PROPS];

G_DEFINE_TYPE (MbTray, mb_tray, G_TYPE_OBJECT)

static char *
describe_state (MbTray *self, const char **icon)
{
  g_autoptr (MbAttention) attention
      = mb_attention_new_for_client (self->client);
  guint length = mb_relay_client_get_queue_length (self->client);
  guint deferred = mb_relay_client_get_deferred_count (self->client);

  if (attention->kind != MB_ATTENTION_NONE)
    {
      *icon = "mailbridge-attention-symbolic";
      return g_strdup (attention->title);
    }
  if (mb_relay_client_get_connection (self->client)
      != MB_RELAY_CONNECTION_CONNECTED)
    {
      *icon = "mailbridge-idle-symbolic";
      return g_strdup (_ ("Looking for the relay…"));
    }
  if (mb_relay_client_get_paused (self->client))
    {
      *icon = length > 0 ? "mailbridge-deferred-symbolic"
                         : "mailbridge-idle-symbolic";
      return g_strdup_printf (ngettext ("Delivery paused, %u message waiting",
                                        "Delivery paused, %u messages waiting",
                                        length),
                              length);
    }
  if (deferred > 0)
    {
      *icon = "mailbridge-deferred-symbolic";
      return g_strdup_printf (ngettext ("%u message waiting for a retry",
                                        "%u messages waiting for a retry",
                                        deferred),
                              deferred);
    }
  if (length > 0)
    {
      *icon = "mailbridge-sending-symbolic";
      return g_strdup_printf (
          ngettext ("Sending %u message", "Sending %u messages", length),
          length);
    }
  *icon = "mailbridge-idle-symbolic";
  return g_strdup (_ ("All mail delivered"));
}

static gboolean
update_idle_cb (gpointer user_data)
{
  MbTray          *self = user_data;
  const char      *icon = NULL;
  g_autofree char *status = describe_state (self, &icon);
  /* Translators: the tray icon's title, e.g. "Mailbridge: All mail
   * delivered" */
  g_autofree char *title = g_strdup_printf (_ ("Mailbridge: %s"), status);
  gboolean         connected = mb_relay_client_get_connection (self->client)
                       == MB_RELAY_CONNECTION_CONNECTED;

  self->update_id = 0;
  app_indicator_set_icon_full (self->indicator, icon, status);
  app_indicator_set_title (self->indicator, title);
  gtk_menu_item_set_label (GTK_MENU_ITEM (self->status_item), status);
  gtk_menu_item_set_label (GTK_MENU_ITEM (self->pause_item),
                           mb_relay_client_get_paused (self->client)
                               ? _ ("_Resume Delivery")
                               : _ ("_Pause Delivery"));
  gtk_widget_set_sensitive (self->pause_item, connected);
  gtk_widget_set_sensitive (self->test_item, connected);
  return G_SOURCE_REMOVE;
}

static void
on_client_notify_cb (GObject *object, GParamSpec *pspec, gpointer user_data)
{
  MbTray *self = user_data;

  if (self->update_id == 0)
    self->update_id = g_idle_add (update_idle_cb, self);
}

static void
on_item_activated_cb (GtkMenuItem *item, gpointer user_data)
{
  MbTray     *self = user_data;
  const char *action = g_object_get_data (G_OBJECT (item), "mb-action");

  g_action_group_activate_action (G_ACTION_GROUP (self->application), action,
                                  NULL);
}

static void
on_connection_changed_cb (AppIndicator *indicator,
                          gboolean      connected,
                          gpointer      user_data)
{
  MbTray *self = user_data;

  if (self->available == connected)
    return;
  self->available = connected;
  g_object_notify_by_pspec (G_OBJECT (self), props[PROP_AVAILABLE]);
}

static GtkWidget *
add_item (MbTray *self, const char *label, const char *action)
{
  GtkWidget *item = gtk_menu_item_new_with_mnemonic (label);

  if (action != NULL)
    {
      g_object_set_data (G_OBJECT (item), "mb-action", (gpointer)action);
      g_signal_connect (item, "activate", G_CALLBACK (on_item_activated_cb),
                        self);
    }
  gtk_menu_shell_append (GTK_MENU_SHELL (self->menu), item);
  gtk_widget_show (item);
  return item;
}

static void
add_separator (MbTray *self)
{
  GtkWidget *item = gtk_separator_menu_item_new ();

  gtk_menu_shell_append (GTK_MENU_SHELL (self->menu), item);
  gtk_widget_show (item);
}

static void
build_menu (MbTray *self)
{
  self->menu = g_object_ref_sink (gtk_menu_new ());
  self->status_item = add_item (self, "", NULL);
  gtk_widget_set_sensitive (self->status_item, FALSE);
  add_separator (self);
  self->open_item = add_item (self, _ ("_Open Mailbridge"), "show-window");
  self->test_item = add_item (self, _ ("Send _Test Email…"), "test-send");
  self->pause_item = add_item (self, _ ("_Pause Delivery"), "pause");
  add_separator (self);
  add_item (self, _ ("_Quit"), "quit");
}

static const char *
find_icon_theme_path (void)
{
  /* Installed icons are in the hicolor theme; uninstalled, the tray host
   * needs to be told where they are. */
  if (g_file_test (DATADIR "/icons/hicolor/scalable/status/"
                           "mailbridge-idle-symbolic.svg",
                   G_FILE_TEST_EXISTS))
    return NULL;
  return MB_SOURCE_DATADIR "/icons";
}

static void
add_icon_theme_path (const char *theme_path)
{
  GtkIconTheme *icon_theme = gtk_icon_theme_get_default ();
  g_auto (GStrv) search_path = NULL;

  gtk_icon_theme_get_search_path (icon_theme, &search_path, NULL);
  if (!g_strv_contains ((const char *const *)search_path, theme_path))
    gtk_icon_theme_append_search_path (icon_theme, theme_path);
}

static void
mb_tray_get_property (GObject    *object,
                      guint       prop_id,
                      GValue     *value,
                      GParamSpec *pspec)
{
  MbTray *self = MB_TRAY (object);

  switch (prop_id)
    {
    case PROP_AVAILABLE:
      g_value_set_boolean (value, self->available);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
mb_tray_dispose (GObject *object)
{
  MbTray *self = MB_TRAY (object);

  g_clear_handle_id (&self->update_id, g_source_remove);
  if (self->client != NULL)
    g_signal_handlers_disconnect_by_data (self->client, self);
  if (self->indicator != NULL)
    {
      g_signal_handlers_disconnect_by_data (self->indicator, self);
      app_indicator_set_status (self->indicator, APP_INDICATOR_STATUS_PASSIVE);
    }
  g_clear_object (&self->indicator);
  if (self->menu != NULL)
    gtk_widget_destroy (self->menu);
  g_clear_object (&self->menu);
  g_clear_object (&self->client);
  G_OBJECT_CLASS (mb_tray_parent_class)->dispose (object);
}

static void
mb_tray_class_init (MbTrayClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->get_property = mb_tray_get_property;
  object_class->dispose = mb_tray_dispose;

  props[PROP_AVAILABLE] = g_param_spec_boolean (
      "available", NULL, NULL, FALSE,
      G_PARAM_READABLE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);
  g_object_class_install_properties (object_class, N_PROPS, props);
}

static void
mb_tray_init (MbTray *self)
{
}

MbTray *
mb_tray_new (GApplication *application, MbRelayClient *client)
{
  MbTray     *self = g_object_new (MB_TYPE_TRAY, NULL);
  const char *theme_path = find_icon_theme_path ();

  self->application = application;
  self->client = g_object_ref (client);
  build_menu (self);

  /* With no StatusNotifierWatcher on the bus the library falls back to a
   * GtkStatusIcon after 100 ms and, before showing it, looks for the
   * indicator's theme path in the default icon theme's search path to add
   * it there.  Debian 12's build of that loop (libayatana-appindicator3
   * 0.5.92-1) does not stop at the end of the array when the path is
   * missing: it reads on until it meets a non-NULL word, which under ASan
   * is an unmapped page (SEGV).  With the path already in the search path
   * the loop finds it and stops; the fallback icon needs it there anyway. */
  if (theme_path != NULL)
    add_icon_theme_path (theme_path);
  self->indicator = app_indicator_new ("org.mailbridge.Mailbridge",
                                       "mailbridge-idle-symbolic",
                                       APP_INDICATOR_CATEGORY_COMMUNICATIONS);
  if (theme_path != NULL)
    app_indicator_set_icon_theme_path (self->indicator, theme_path);
  app_indicator_set_menu (self->indicator, GTK_MENU (self->menu));
  /* A middle click opens the window. */
  app_indicator_set_secondary_activate_target (self->indicator,
                                               self->open_item);
  g_signal_connect (self->indicator, "connection-changed",
                    G_CALLBACK (on_connection_changed_cb), self);
  app_indicator_set_status (self->indicator, APP_INDICATOR_STATUS_ACTIVE);

  g_signal_connect_object (client, "notify", G_CALLBACK (on_client_notify_cb),
                           self, 0);
  update_idle_cb (self);
  return self;
}

gboolean
mb_tray_get_available (MbTray *self)
{
  return self->available;
}
