/* mb-window.c - the main window
 *
 * For now a status page: whether the relay runs and where it listens.
 * The queue, log and test-send pages come with the desktop app issue.
 */
#define G_LOG_DOMAIN "mb-window"

#include "mb-window.h"

#include <glib/gi18n.h>

struct _MbWindow
{
  GtkApplicationWindow parent_instance;

  MbRelayLauncher *launcher; /* (owned) */

  GtkImage   *status_icon;
  GtkLabel   *status_title;
  GtkLabel   *status_detail;
  GtkSpinner *status_spinner;
};

G_DEFINE_TYPE (MbWindow, mb_window, GTK_TYPE_APPLICATION_WINDOW)

static void
update_status (MbWindow *self)
{
  MbRelayState state = mb_relay_launcher_get_state (self->launcher);
  const char  *detail = mb_relay_launcher_get_status (self->launcher);
  const char  *title = NULL;
  const char  *icon = NULL;

  switch (state)
    {
    case MB_RELAY_STATE_RUNNING:
      title = _("Relay running");
      icon = "emblem-ok-symbolic";
      break;
    case MB_RELAY_STATE_FAILED:
      title = _("Relay not running");
      icon = "dialog-warning-symbolic";
      break;
    case MB_RELAY_STATE_UNKNOWN:
    case MB_RELAY_STATE_STARTING:
    default:
      title = _("Starting…");
      icon = "content-loading-symbolic";
      break;
    }

  gtk_label_set_text (self->status_title, title);
  gtk_label_set_text (self->status_detail, detail != NULL ? detail : "");
  gtk_image_set_from_icon_name (self->status_icon, icon, GTK_ICON_SIZE_DIALOG);
  gtk_widget_set_visible (GTK_WIDGET (self->status_spinner),
                          state == MB_RELAY_STATE_STARTING);
  g_object_set (self->status_spinner, "active",
                state == MB_RELAY_STATE_STARTING, NULL);
}

static void
on_launcher_changed_cb (GObject    *object,
                        GParamSpec *pspec,
                        gpointer    user_data)
{
  update_status (MB_WINDOW (user_data));
}

static void
mb_window_dispose (GObject *object)
{
  MbWindow *self = MB_WINDOW (object);

  if (self->launcher != NULL)
    g_signal_handlers_disconnect_by_data (self->launcher, self);
  g_clear_object (&self->launcher);
  G_OBJECT_CLASS (mb_window_parent_class)->dispose (object);
}

static void
mb_window_class_init (MbWindowClass *klass)
{
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  G_OBJECT_CLASS (klass)->dispose = mb_window_dispose;

  gtk_widget_class_set_template_from_resource (
      widget_class, "/org/mailbridge/Mailbridge/ui/mb-window.ui");
  gtk_widget_class_bind_template_child (widget_class, MbWindow, status_icon);
  gtk_widget_class_bind_template_child (widget_class, MbWindow, status_title);
  gtk_widget_class_bind_template_child (widget_class, MbWindow,
                                        status_detail);
  gtk_widget_class_bind_template_child (widget_class, MbWindow,
                                        status_spinner);
}

static void
mb_window_init (MbWindow *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
}

MbWindow *
mb_window_new (MbApplication *application, MbRelayLauncher *launcher)
{
  MbWindow *self = g_object_new (MB_TYPE_WINDOW, "application", application,
                                 NULL);

  self->launcher = g_object_ref (launcher);
  g_signal_connect_object (launcher, "notify::state",
                           G_CALLBACK (on_launcher_changed_cb), self, 0);
  g_signal_connect_object (launcher, "notify::status",
                           G_CALLBACK (on_launcher_changed_cb), self, 0);
  update_status (self);
  return self;
}
