/* mb-window.c - the main window
 *
 * A header bar with the page switcher, the test-send button and the main
 * menu, and a stack of pages: Status (mb-status-page), Queue
 * (mb-queue-view) and Log (mb-log-view).  Each page is its own class and
 * gets the relay client; the window only switches between them and
 * remembers its size and the last page.
 */
#define G_LOG_DOMAIN "mb-window"

#include "mb-window.h"

#include <glib/gi18n.h>

#include "mb-log-view.h"
#include "mb-queue-view.h"
#include "mb-status-page.h"

struct _MbWindow
{
  GtkApplicationWindow parent_instance;

  MbRelayClient *client;     /* (owned) */
  GSettings     *settings;   /* (owned) (nullable) */
  GtkWidget     *queue_view; /* (unowned) */

  GtkStack      *stack;
  GtkMenuButton *menu_button;
};

G_DEFINE_TYPE (MbWindow, mb_window, GTK_TYPE_APPLICATION_WINDOW)

static void
save_size (MbWindow *self)
{
  int width;
  int height;

  if (self->settings == NULL || !gtk_widget_get_realized (GTK_WIDGET (self)))
    return;
  g_settings_set_boolean (self->settings, "window-maximized",
                          gtk_window_is_maximized (GTK_WINDOW (self)));
  if (gtk_window_is_maximized (GTK_WINDOW (self)))
    return;
  gtk_window_get_size (GTK_WINDOW (self), &width, &height);
  g_settings_set_int (self->settings, "window-width", width);
  g_settings_set_int (self->settings, "window-height", height);
}

static void
update_queue_attention (MbWindow *self)
{
  /* The switcher marks the Queue page while mail waits for a retry. */
  gtk_container_child_set (
      GTK_CONTAINER (self->stack), self->queue_view, "needs-attention",
      mb_relay_client_get_deferred_count (self->client) > 0, NULL);
}

static void
on_deferred_count_notify_cb (GObject    *object,
                             GParamSpec *pspec,
                             gpointer    user_data)
{
  update_queue_attention (MB_WINDOW (user_data));
}

static void
show_page_activated_cb (GSimpleAction *action,
                        GVariant      *parameter,
                        gpointer       user_data)
{
  mb_window_show_page (MB_WINDOW (user_data),
                       g_variant_get_string (parameter, NULL));
}

static void
show_menu_activated_cb (GSimpleAction *action,
                        GVariant      *parameter,
                        gpointer       user_data)
{
  MbWindow *self = MB_WINDOW (user_data);

  gtk_toggle_button_set_active (
      GTK_TOGGLE_BUTTON (self->menu_button),
      !gtk_toggle_button_get_active (GTK_TOGGLE_BUTTON (self->menu_button)));
}

static void
close_activated_cb (GSimpleAction *action,
                    GVariant      *parameter,
                    gpointer       user_data)
{
  gtk_window_close (GTK_WINDOW (user_data));
}

static const GActionEntry win_actions[] = {
  { "close", close_activated_cb, NULL, NULL, NULL, { 0 } },
  { "show-page", show_page_activated_cb, "s", NULL, NULL, { 0 } },
  { "show-menu", show_menu_activated_cb, NULL, NULL, NULL, { 0 } },
};

static void
add_pages (MbWindow *self)
{
  GtkWidget *status = mb_status_page_new (self->client);
  GtkWidget *log = mb_log_view_new (self->client);

  self->queue_view = mb_queue_view_new (self->client);
  gtk_widget_show (status);
  gtk_widget_show (self->queue_view);
  gtk_widget_show (log);
  gtk_stack_add_titled (self->stack, status, "status", _ ("Status"));
  gtk_stack_add_titled (self->stack, self->queue_view, "queue", _ ("Queue"));
  gtk_stack_add_titled (self->stack, log, "log", _ ("Log"));
}

static void
restore_settings (MbWindow *self)
{
  if (self->settings == NULL)
    {
      gtk_window_set_default_size (GTK_WINDOW (self), 900, 640);
      return;
    }
  gtk_window_set_default_size (
      GTK_WINDOW (self), g_settings_get_int (self->settings, "window-width"),
      g_settings_get_int (self->settings, "window-height"));
  if (g_settings_get_boolean (self->settings, "window-maximized"))
    gtk_window_maximize (GTK_WINDOW (self));
  g_settings_bind (self->settings, "last-page", self->stack,
                   "visible-child-name", G_SETTINGS_BIND_DEFAULT);
}

static void
mb_window_unmap (GtkWidget *widget)
{
  save_size (MB_WINDOW (widget));
  GTK_WIDGET_CLASS (mb_window_parent_class)->unmap (widget);
}

static void
mb_window_dispose (GObject *object)
{
  MbWindow *self = MB_WINDOW (object);

  if (self->client != NULL)
    g_signal_handlers_disconnect_by_data (self->client, self);
  g_clear_object (&self->client);
  g_clear_object (&self->settings);
  G_OBJECT_CLASS (mb_window_parent_class)->dispose (object);
}

static void
mb_window_class_init (MbWindowClass *klass)
{
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  G_OBJECT_CLASS (klass)->dispose = mb_window_dispose;
  widget_class->unmap = mb_window_unmap;

  gtk_widget_class_set_template_from_resource (
      widget_class, "/org/mailbridge/Mailbridge/ui/mb-window.ui");
  gtk_widget_class_bind_template_child (widget_class, MbWindow, stack);
  gtk_widget_class_bind_template_child (widget_class, MbWindow, menu_button);
}

static void
mb_window_init (MbWindow *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
  g_action_map_add_action_entries (G_ACTION_MAP (self), win_actions,
                                   G_N_ELEMENTS (win_actions), self);
}

MbWindow *
mb_window_new (MbApplication *application,
               MbRelayClient *client,
               GSettings     *settings)
{
  MbWindow *self
      = g_object_new (MB_TYPE_WINDOW, "application", application, NULL);

  self->client = g_object_ref (client);
  self->settings = settings != NULL ? g_object_ref (settings) : NULL;
  add_pages (self);
  restore_settings (self);
  g_signal_connect_object (client, "notify::deferred-count",
                           G_CALLBACK (on_deferred_count_notify_cb), self, 0);
  update_queue_attention (self);
  return self;
}

void
mb_window_show_page (MbWindow *self, const char *name)
{
  g_return_if_fail (MB_IS_WINDOW (self));

  if (gtk_stack_get_child_by_name (self->stack, name) != NULL)
    gtk_stack_set_visible_child_name (self->stack, name);
}
