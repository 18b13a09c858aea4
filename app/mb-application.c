/* mb-application.c - the single-instance GtkApplication
 *
 * Starts the relay (through MbRelayLauncher) and shows the main window.
 * Closing the window does not stop the relay.
 */
#define G_LOG_DOMAIN "mb-application"

#include "mb-application.h"

#include "mb-relay-launcher.h"
#include "mb-window.h"

struct _MbApplication
{
  GtkApplication parent_instance;

  MbRelayLauncher *launcher; /* (owned) */
};

G_DEFINE_TYPE (MbApplication, mb_application, GTK_TYPE_APPLICATION)

static void
mb_application_activate (GApplication *application)
{
  MbApplication *self = MB_APPLICATION (application);
  GtkWindow     *window;

  window = gtk_application_get_active_window (GTK_APPLICATION (self));
  if (window == NULL)
    {
      window = GTK_WINDOW (mb_window_new (self, self->launcher));
      mb_relay_launcher_ensure_running (self->launcher);
    }
  gtk_window_present (window);
}

static void
mb_application_dispose (GObject *object)
{
  MbApplication *self = MB_APPLICATION (object);

  g_clear_object (&self->launcher);
  G_OBJECT_CLASS (mb_application_parent_class)->dispose (object);
}

static void
mb_application_class_init (MbApplicationClass *klass)
{
  G_OBJECT_CLASS (klass)->dispose = mb_application_dispose;
  G_APPLICATION_CLASS (klass)->activate = mb_application_activate;
}

static void
mb_application_init (MbApplication *self)
{
  self->launcher = mb_relay_launcher_new ();
}

MbApplication *
mb_application_new (void)
{
  return g_object_new (MB_TYPE_APPLICATION, "application-id",
                       "org.mailbridge.Mailbridge", "flags",
                       G_APPLICATION_DEFAULT_FLAGS, NULL);
}
