/* mb-application.c - the single-instance GtkApplication
 *
 * Owns the relay client, the tray icon and the notifier, which live as
 * long as the process; the window comes and goes.  While the tray is shown
 * the application holds itself, so closing the window leaves the tray and
 * the relay; Quit leaves the relay running unless the admin asks to stop
 * it.
 */
#define G_LOG_DOMAIN "mb-application"

#include "mb-application.h"

#include <glib/gi18n.h>

#include "mb-autostart.h"
#include "mb-notifier.h"
#include "mb-relay-client.h"
#include "mb-signin-dialog.h"
#include "mb-test-send-dialog.h"
#include "mb-tray.h"
#include "mb-window.h"
#include "mb-wizard.h"

#define SCHEMA_ID "org.mailbridge.Mailbridge"
#define TRAY_GRACE_S 10

struct _MbApplication
{
  GtkApplication parent_instance;

  MbRelayClient *client;      /* (owned) */
  GSettings     *settings;    /* (owned) (nullable) no schema installed */
  MbTray        *tray;        /* (owned) */
  MbNotifier    *notifier;    /* (owned) */
  GCancellable  *cancellable; /* (owned) */
  GtkWidget     *test_dialog; /* (unowned) (nullable) */
  GtkWidget     *quit_dialog; /* (unowned) (nullable) */
  gboolean       start_hidden;
  gboolean       held;
};

G_DEFINE_TYPE (MbApplication, mb_application, GTK_TYPE_APPLICATION)

static GSettings *
create_settings (void)
{
  GSettingsSchemaSource *source = g_settings_schema_source_get_default ();
  g_autoptr (GSettingsSchemaSource) build_source = NULL;
  g_autoptr (GSettingsSchema) schema = NULL;

  if (source != NULL)
    schema = g_settings_schema_source_lookup (source, SCHEMA_ID, TRUE);
  if (schema == NULL)
    {
      /* Running from the build tree without GSETTINGS_SCHEMA_DIR. */
      build_source = g_settings_schema_source_new_from_directory (
          MB_BUILD_DATADIR, source, FALSE, NULL);
      if (build_source != NULL)
        schema
            = g_settings_schema_source_lookup (build_source, SCHEMA_ID, FALSE);
    }
  if (schema == NULL)
    {
      g_message ("GSettings schema %s not found; settings are not kept",
                 SCHEMA_ID);
      return NULL;
    }
  return g_settings_new_full (schema, NULL, NULL);
}

static GtkWindow *
ensure_window (MbApplication *self)
{
  GtkWindow *window
      = gtk_application_get_active_window (GTK_APPLICATION (self));

  if (window == NULL)
    window = GTK_WINDOW (mb_window_new (self, self->client, self->settings));
  return window;
}

static void
update_hold (MbApplication *self)
{
  gboolean want = mb_tray_get_available (self->tray);

  if (want == self->held)
    return;
  self->held = want;
  if (want)
    g_application_hold (G_APPLICATION (self));
  else
    g_application_release (G_APPLICATION (self));
}

static void
show_error (MbApplication *self, const char *title, const GError *error)
{
  GtkWindow *parent
      = gtk_application_get_active_window (GTK_APPLICATION (self));
  GtkWidget *dialog = gtk_message_dialog_new (
      parent, GTK_DIALOG_MODAL | GTK_DIALOG_DESTROY_WITH_PARENT,
      GTK_MESSAGE_ERROR, GTK_BUTTONS_CLOSE, "%s", title);

  gtk_message_dialog_format_secondary_text (GTK_MESSAGE_DIALOG (dialog), "%s",
                                            error->message);
  g_signal_connect (dialog, "response", G_CALLBACK (gtk_widget_destroy), NULL);
  gtk_window_present (GTK_WINDOW (dialog));
}

/* Callbacks */

static void
on_tray_available_notify_cb (GObject    *object,
                             GParamSpec *pspec,
                             gpointer    user_data)
{
  update_hold (MB_APPLICATION (user_data));
}

static void
sync_action_states (MbApplication *self)
{
  gboolean connected = mb_relay_client_get_connection (self->client)
                       == MB_RELAY_CONNECTION_CONNECTED;
  const char *const relay_actions[]
      = { "pause", "retry-all", "resume-route", "test-send" };
  GAction *pause = g_action_map_lookup_action (G_ACTION_MAP (self), "pause");

  for (gsize i = 0; i < G_N_ELEMENTS (relay_actions); i++)
    g_simple_action_set_enabled (G_SIMPLE_ACTION (g_action_map_lookup_action (
                                     G_ACTION_MAP (self), relay_actions[i])),
                                 connected);
  g_simple_action_set_state (
      G_SIMPLE_ACTION (pause),
      g_variant_new_boolean (mb_relay_client_get_paused (self->client)));
}

static void
on_client_notify_cb (GObject *object, GParamSpec *pspec, gpointer user_data)
{
  sync_action_states (MB_APPLICATION (user_data));
}

static void
autostart_applied_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GError) error = NULL;

  if (!mb_autostart_set_enabled_finish (result, &error)
      && !g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    g_warning ("cannot change the autostart entry: %s", error->message);
}

static void
on_autostart_changed_cb (GSettings  *settings,
                         const char *key,
                         gpointer    user_data)
{
  MbApplication *self = user_data;

  mb_autostart_set_enabled_async (g_settings_get_boolean (settings, key),
                                  self->cancellable, autostart_applied_cb,
                                  NULL);
}

/* Actions */

static void
show_window_activated_cb (GSimpleAction *action,
                          GVariant      *parameter,
                          gpointer       user_data)
{
  gtk_window_present (ensure_window (MB_APPLICATION (user_data)));
}

static void
show_page_activated_cb (GSimpleAction *action,
                        GVariant      *parameter,
                        gpointer       user_data)
{
  MbApplication *self = MB_APPLICATION (user_data);
  GtkWindow     *window = ensure_window (self);

  mb_window_show_page (MB_WINDOW (window),
                       g_variant_get_string (parameter, NULL));
  gtk_window_present (window);
}

static void
on_test_dialog_destroy_cb (GtkWidget *widget, gpointer user_data)
{
  MbApplication *self = user_data;

  self->test_dialog = NULL;
}

static void
test_send_activated_cb (GSimpleAction *action,
                        GVariant      *parameter,
                        gpointer       user_data)
{
  MbApplication *self = MB_APPLICATION (user_data);
  GtkWindow     *parent
      = gtk_application_get_active_window (GTK_APPLICATION (self));

  if (self->test_dialog == NULL)
    {
      /* From the tray the window may be closed; the dialog stands alone. */
      self->test_dialog = mb_test_send_dialog_new (
          MB_IS_WINDOW (parent) ? parent : NULL, self->client);
      gtk_window_set_application (GTK_WINDOW (self->test_dialog),
                                  GTK_APPLICATION (self));
      g_signal_connect (self->test_dialog, "destroy",
                        G_CALLBACK (on_test_dialog_destroy_cb), self);
    }
  gtk_window_present (GTK_WINDOW (self->test_dialog));
}

static void
paused_set_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (MbApplication) self = user_data;
  g_autoptr (GError) error = NULL;

  if (!mb_relay_client_set_paused_finish (MB_RELAY_CLIENT (source), result,
                                          &error))
    {
      if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        show_error (self, _ ("Delivery could not be paused or resumed"), error);
      /* The relay's state stands; show it again. */
      sync_action_states (self);
    }
}

static void
pause_change_state_cb (GSimpleAction *action,
                       GVariant      *value,
                       gpointer       user_data)
{
  MbApplication *self = MB_APPLICATION (user_data);

  /* The state follows the relay's Paused property once it has changed. */
  mb_relay_client_set_paused_async (self->client, g_variant_get_boolean (value),
                                    self->cancellable, paused_set_cb,
                                    g_object_ref (self));
}

static void
retried_all_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (MbApplication) self = user_data;
  g_autoptr (GError) error = NULL;

  if (!mb_relay_client_retry_all_finish (MB_RELAY_CLIENT (source), result, NULL,
                                         &error)
      && !g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    show_error (self, _ ("The queue could not be retried"), error);
}

static void
retry_all_activated_cb (GSimpleAction *action,
                        GVariant      *parameter,
                        gpointer       user_data)
{
  MbApplication *self = MB_APPLICATION (user_data);

  mb_relay_client_retry_all_async (self->client, self->cancellable,
                                   retried_all_cb, g_object_ref (self));
}

static void
resumed_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (MbApplication) self = user_data;
  g_autoptr (GError) error = NULL;

  if (!mb_relay_client_set_paused_finish (MB_RELAY_CLIENT (source), result,
                                          &error))
    {
      if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        show_error (self, _ ("Delivery could not be resumed"), error);
      return;
    }
  mb_relay_client_retry_all_async (self->client, self->cancellable,
                                   retried_all_cb, g_object_ref (self));
}

static void
resume_route_activated_cb (GSimpleAction *action,
                           GVariant      *parameter,
                           gpointer       user_data)
{
  MbApplication *self = MB_APPLICATION (user_data);

  /* Resume releases the routes paused after repeated failures. */
  mb_relay_client_set_paused_async (self->client, FALSE, self->cancellable,
                                    resumed_cb, g_object_ref (self));
}

static void
start_relay_activated_cb (GSimpleAction *action,
                          GVariant      *parameter,
                          gpointer       user_data)
{
  mb_relay_client_connect (MB_APPLICATION (user_data)->client);
}

/* The sign-in of @route, the open one if any (brought to the front),
 * else a new one: for a new client secret when @renew. */
static void
present_signin (MbApplication *self, const char *route, gboolean renew)
{
  GtkWindow *parent
      = gtk_application_get_active_window (GTK_APPLICATION (self));
  MbSigninDialog *dialog = NULL;

  /* One sign-in per route: the open one comes to the front. */
  for (GList *l = gtk_application_get_windows (GTK_APPLICATION (self));
       l != NULL && dialog == NULL; l = l->next)
    {
      g_autofree char *shown = NULL;

      if (!MB_IS_SIGNIN_DIALOG (l->data))
        continue;
      g_object_get (l->data, "route", &shown, NULL);
      if (g_strcmp0 (shown, route) == 0)
        dialog = l->data;
    }
  if (dialog == NULL)
    {
      /* From the tray or a notification the window may be closed. */
      parent = MB_IS_WINDOW (parent) ? parent : NULL;
      if (renew)
        dialog = mb_signin_dialog_new_for_new_secret (parent, self->client,
                                                      route, NULL);
      else
        dialog = mb_signin_dialog_new (parent, self->client, route, NULL);
      gtk_window_set_application (GTK_WINDOW (dialog), GTK_APPLICATION (self));
    }
  gtk_window_present (GTK_WINDOW (dialog));
}

static void
sign_in_activated_cb (GSimpleAction *action,
                      GVariant      *parameter,
                      gpointer       user_data)
{
  present_signin (MB_APPLICATION (user_data),
                  g_variant_get_string (parameter, NULL), FALSE);
}

static void
renew_secret_activated_cb (GSimpleAction *action,
                           GVariant      *parameter,
                           gpointer       user_data)
{
  present_signin (MB_APPLICATION (user_data),
                  g_variant_get_string (parameter, NULL), TRUE);
}

static void
on_wizard_applied_cb (MbWizard *wizard, const char *route, gpointer user_data)
{
  MbApplication     *self = MB_APPLICATION (user_data);
  const MbSetupPlan *plan = mb_wizard_get_plan (wizard);

  if (plan->method != MB_ROUTE_METHOD_SUBMISSION
      || (plan->auth != MB_ROUTE_AUTH_OAUTH_DEVICE
          && plan->auth != MB_ROUTE_AUTH_OAUTH_BROWSER
          && plan->auth != MB_ROUTE_AUTH_OAUTH_APP))
    return;
  /* The assistant closes right after this signal; let go of it now, so
   * the sign-in opens over the main window, the active one again. */
  gtk_window_set_application (GTK_WINDOW (wizard), NULL);
  g_action_group_activate_action (G_ACTION_GROUP (self), "sign-in",
                                  g_variant_new_string (route));
}

static void
setup_activated_cb (GSimpleAction *action,
                    GVariant      *parameter,
                    gpointer       user_data)
{
  MbApplication *self = MB_APPLICATION (user_data);
  GtkWindow     *window = ensure_window (self);
  MbWizard      *wizard = NULL;

  /* One assistant: the open one comes to the front. */
  for (GList *l = gtk_application_get_windows (GTK_APPLICATION (self));
       l != NULL && wizard == NULL; l = l->next)
    if (MB_IS_WIZARD (l->data))
      wizard = l->data;
  if (wizard == NULL)
    {
      /* Modal to the main window, which comes back if it was closed. */
      gtk_window_present (window);
      wizard = mb_wizard_new (window, self->client);
      gtk_window_set_application (GTK_WINDOW (wizard), GTK_APPLICATION (self));
      g_signal_connect_object (wizard, "applied",
                               G_CALLBACK (on_wizard_applied_cb), self, 0);
    }
  gtk_window_present (GTK_WINDOW (wizard));
}

static void
about_activated_cb (GSimpleAction *action,
                    GVariant      *parameter,
                    gpointer       user_data)
{
  MbApplication *self = MB_APPLICATION (user_data);

  gtk_show_about_dialog (
      gtk_application_get_active_window (GTK_APPLICATION (self)),
      "program-name", _ ("Mailbridge"), "logo-icon-name",
      "org.mailbridge.Mailbridge", "version", MB_VERSION, "comments",
      _ ("Lets the scanners, copiers and programs of a small office send "
         "mail through Microsoft 365."),
      "license-type", GTK_LICENSE_GPL_3_0, "translator-credits",
      _ ("translator-credits"), NULL);
}

static void
relay_stopped_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (MbApplication) self = user_data;
  g_autoptr (GError) error = NULL;

  if (!mb_relay_client_stop_relay_finish (MB_RELAY_CLIENT (source), result,
                                          &error))
    g_warning ("cannot stop the relay: %s", error->message);
  g_application_quit (G_APPLICATION (self));
}

static void
on_quit_response_cb (GtkDialog *dialog, int response, gpointer user_data)
{
  MbApplication   *self = user_data;
  GtkToggleButton *stop = g_object_get_data (G_OBJECT (dialog), "mb-stop");
  gboolean         stop_relay = gtk_toggle_button_get_active (stop);

  gtk_widget_destroy (GTK_WIDGET (dialog));
  self->quit_dialog = NULL;
  if (response != GTK_RESPONSE_ACCEPT)
    return;
  if (stop_relay)
    mb_relay_client_stop_relay_async (self->client, NULL, relay_stopped_cb,
                                      g_object_ref (self));
  else
    g_application_quit (G_APPLICATION (self));
}

static void
quit_activated_cb (GSimpleAction *action,
                   GVariant      *parameter,
                   gpointer       user_data)
{
  MbApplication *self = MB_APPLICATION (user_data);
  GtkWindow     *parent
      = gtk_application_get_active_window (GTK_APPLICATION (self));
  GtkWidget *stop;
  GtkWidget *area;

  if (self->quit_dialog != NULL)
    {
      gtk_window_present (GTK_WINDOW (self->quit_dialog));
      return;
    }
  self->quit_dialog = gtk_message_dialog_new (
      MB_IS_WINDOW (parent) ? parent : NULL, GTK_DIALOG_MODAL,
      GTK_MESSAGE_QUESTION, GTK_BUTTONS_NONE, "%s", _ ("Quit Mailbridge?"));
  gtk_message_dialog_format_secondary_text (
      GTK_MESSAGE_DIALOG (self->quit_dialog), "%s",
      _ ("The relay keeps accepting and delivering mail without the window "
         "and the tray icon."));
  gtk_dialog_add_buttons (GTK_DIALOG (self->quit_dialog), _ ("_Cancel"),
                          GTK_RESPONSE_CANCEL, _ ("_Quit"), GTK_RESPONSE_ACCEPT,
                          NULL);
  gtk_dialog_set_default_response (GTK_DIALOG (self->quit_dialog),
                                   GTK_RESPONSE_ACCEPT);
  stop = gtk_check_button_new_with_mnemonic (
      _ ("Also _stop the relay (devices can no longer send mail)"));
  gtk_widget_show (stop);
  area = gtk_message_dialog_get_message_area (
      GTK_MESSAGE_DIALOG (self->quit_dialog));
  gtk_container_add (GTK_CONTAINER (area), stop);
  g_object_set_data (G_OBJECT (self->quit_dialog), "mb-stop", stop);
  g_signal_connect (self->quit_dialog, "response",
                    G_CALLBACK (on_quit_response_cb), self);
  gtk_window_present (GTK_WINDOW (self->quit_dialog));
}

static const GActionEntry app_actions[] = {
  { "show-window", show_window_activated_cb, NULL, NULL, NULL, { 0 } },
  { "show-page", show_page_activated_cb, "s", NULL, NULL, { 0 } },
  { "test-send", test_send_activated_cb, NULL, NULL, NULL, { 0 } },
  { "pause", NULL, NULL, "false", pause_change_state_cb, { 0 } },
  { "retry-all", retry_all_activated_cb, NULL, NULL, NULL, { 0 } },
  { "resume-route", resume_route_activated_cb, NULL, NULL, NULL, { 0 } },
  { "start-relay", start_relay_activated_cb, NULL, NULL, NULL, { 0 } },
  { "sign-in", sign_in_activated_cb, "s", NULL, NULL, { 0 } },
  { "renew-secret", renew_secret_activated_cb, "s", NULL, NULL, { 0 } },
  { "setup", setup_activated_cb, NULL, NULL, NULL, { 0 } },
  { "about", about_activated_cb, NULL, NULL, NULL, { 0 } },
  { "quit", quit_activated_cb, NULL, NULL, NULL, { 0 } },
};

static const struct
{
  const char *action;
  const char *accels[2];
} app_accels[] = {
  { "app.test-send", { "<Control>t", NULL } },
  { "app.quit", { "<Control>q", NULL } },
  { "win.show-page::status", { "<Alt>1", NULL } },
  { "win.show-page::queue", { "<Alt>2", NULL } },
  { "win.show-page::log", { "<Alt>3", NULL } },
  { "win.show-menu", { "F10", NULL } },
  { "win.close", { "<Control>w", NULL } },
};

static gboolean
on_tray_grace_cb (gpointer user_data)
{
  /* No tray host took the icon: without a window, nothing would show. */
  update_hold (MB_APPLICATION (user_data));
  return G_SOURCE_REMOVE;
}

/* Overrides */

static int
mb_application_handle_local_options (GApplication *application,
                                     GVariantDict *options)
{
  MbApplication *self = MB_APPLICATION (application);
  g_autoptr (GError) error = NULL;

  if (g_variant_dict_contains (options, "version"))
    {
      g_print ("mailbridge %s\n", MB_VERSION);
      return 0;
    }
  if (g_variant_dict_contains (options, "tray"))
    {
      if (!g_application_register (application, NULL, &error))
        {
          g_printerr ("mailbridge: %s\n", error->message);
          return 1;
        }
      /* Already running: it has its tray icon; nothing to do. */
      if (g_application_get_is_remote (application))
        return 0;
      self->start_hidden = TRUE;
    }
  return -1;
}

static void
mb_application_startup (GApplication *application)
{
  MbApplication *self = MB_APPLICATION (application);

  G_APPLICATION_CLASS (mb_application_parent_class)->startup (application);

  gtk_window_set_default_icon_name ("org.mailbridge.Mailbridge");
  g_action_map_add_action_entries (G_ACTION_MAP (self), app_actions,
                                   G_N_ELEMENTS (app_actions), self);
  for (gsize i = 0; i < G_N_ELEMENTS (app_accels); i++)
    gtk_application_set_accels_for_action (
        GTK_APPLICATION (self), app_accels[i].action, app_accels[i].accels);

  self->settings = create_settings ();
  if (self->settings != NULL)
    {
      g_autoptr (GAction) autostart
          = g_settings_create_action (self->settings, "autostart");

      g_action_map_add_action (G_ACTION_MAP (self), autostart);
      g_signal_connect_object (self->settings, "changed::autostart",
                               G_CALLBACK (on_autostart_changed_cb), self, 0);
    }

  self->client = mb_relay_client_new ();
  g_signal_connect_object (self->client, "notify::connection",
                           G_CALLBACK (on_client_notify_cb), self, 0);
  g_signal_connect_object (self->client, "notify::paused",
                           G_CALLBACK (on_client_notify_cb), self, 0);
  sync_action_states (self);

  self->tray = mb_tray_new (application, self->client);
  g_signal_connect_object (self->tray, "notify::available",
                           G_CALLBACK (on_tray_available_notify_cb), self, 0);
  self->notifier = mb_notifier_new (application, self->client);
  mb_relay_client_connect (self->client);
}

static void
mb_application_activate (GApplication *application)
{
  MbApplication *self = MB_APPLICATION (application);

  if (self->start_hidden)
    {
      /* Started at login for the tray: no window, but stay alive long
       * enough for the tray host to take the icon. */
      self->start_hidden = FALSE;
      if (!self->held)
        {
          self->held = TRUE;
          g_application_hold (application);
        }
      g_timeout_add_seconds_full (G_PRIORITY_DEFAULT, TRAY_GRACE_S,
                                  on_tray_grace_cb, g_object_ref (self),
                                  g_object_unref);
      return;
    }
  gtk_window_present (ensure_window (self));
}

static void
mb_application_shutdown (GApplication *application)
{
  MbApplication *self = MB_APPLICATION (application);

  g_cancellable_cancel (self->cancellable);
  g_clear_object (&self->notifier);
  g_clear_object (&self->tray);
  G_APPLICATION_CLASS (mb_application_parent_class)->shutdown (application);
}

static void
mb_application_dispose (GObject *object)
{
  MbApplication *self = MB_APPLICATION (object);

  g_cancellable_cancel (self->cancellable);
  g_clear_object (&self->notifier);
  g_clear_object (&self->tray);
  g_clear_object (&self->client);
  g_clear_object (&self->settings);
  G_OBJECT_CLASS (mb_application_parent_class)->dispose (object);
}

static void
mb_application_finalize (GObject *object)
{
  MbApplication *self = MB_APPLICATION (object);

  g_clear_object (&self->cancellable);
  G_OBJECT_CLASS (mb_application_parent_class)->finalize (object);
}

static void
mb_application_class_init (MbApplicationClass *klass)
{
  GObjectClass      *object_class = G_OBJECT_CLASS (klass);
  GApplicationClass *application_class = G_APPLICATION_CLASS (klass);

  object_class->dispose = mb_application_dispose;
  object_class->finalize = mb_application_finalize;
  application_class->handle_local_options = mb_application_handle_local_options;
  application_class->startup = mb_application_startup;
  application_class->activate = mb_application_activate;
  application_class->shutdown = mb_application_shutdown;
}

static const GOptionEntry option_entries[]
    = { { "tray", 0, 0, G_OPTION_ARG_NONE, NULL,
          N_ ("Start with the tray icon only (as at login)"), NULL },
        { "version", 0, 0, G_OPTION_ARG_NONE, NULL, N_ ("Print the version"),
          NULL },
        { NULL } };

static void
mb_application_init (MbApplication *self)
{
  self->cancellable = g_cancellable_new ();
  g_application_add_main_option_entries (G_APPLICATION (self), option_entries);
}

MbApplication *
mb_application_new (void)
{
  return g_object_new (MB_TYPE_APPLICATION, "application-id",
                       "org.mailbridge.Mailbridge", "flags",
                       G_APPLICATION_DEFAULT_FLAGS, NULL);
}
