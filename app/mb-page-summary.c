/* mb-page-summary.c - the setup assistant's last page
 *
 * Says in words what Apply will write, and where.  Apply keeps the
 * current file's text, writes the new one (mb_setup_plan_write_async),
 * has the relay check it and reload.  A file the relay refuses is put
 * back as it was, so a refused setup changes nothing; without a relay the
 * file is written and used when the relay starts.
 */
#define G_LOG_DOMAIN "mb-page-summary"

#include "mb-page-summary.h"

#include <glib/gi18n.h>

#include "mb-wizard.h"

struct _MbPageSummary
{
  MbWizardPage parent_instance;

  GtkSizeGroup *names; /* (owned) the names' column */

  GtkBox    *summary_box;
  GtkLabel  *next_steps_label;
  GtkWidget *relay_notice;
};

G_DEFINE_TYPE (MbPageSummary, mb_page_summary, MB_TYPE_WIZARD_PAGE)

typedef struct
{
  MbSetupPlan *plan;    /* (owned) a copy: the assistant's may change */
  char        *path;    /* (owned) */
  GBytes      *old;     /* (owned) (nullable) the text before; NULL: no file */
  GError      *refusal; /* (owned) (nullable) why the relay refused it */
} ApplyData;

static void
apply_data_free (ApplyData *data)
{
  mb_setup_plan_free (data->plan);
  g_free (data->path);
  g_clear_pointer (&data->old, g_bytes_unref);
  g_clear_error (&data->refusal);
  g_free (data);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (ApplyData, apply_data_free)

/* Helpers */

static char *
get_config_path (MbPageSummary *self)
{
  GtkWidget *wizard
      = gtk_widget_get_ancestor (GTK_WIDGET (self), MB_TYPE_WIZARD);
  MbRelayClient *client = mb_wizard_page_get_client (MB_WIZARD_PAGE (self));

  if (wizard != NULL)
    return g_strdup (mb_wizard_get_config_path (MB_WIZARD (wizard)));
  if (client != NULL)
    return mb_relay_client_dup_config_file (client);
  return mb_relay_config_dup_user_path ();
}

static const char *
describe_auth (MbRouteAuth auth)
{
  switch (auth)
    {
    case MB_ROUTE_AUTH_OAUTH_DEVICE:
      return _ ("Microsoft sign-in with a code, on any device");
    case MB_ROUTE_AUTH_OAUTH_BROWSER:
      return _ ("Microsoft sign-in in the web browser");
    case MB_ROUTE_AUTH_OAUTH_APP:
      return _ ("As the app registration itself (app-only)");
    case MB_ROUTE_AUTH_BASIC:
      return _ ("Password (basic authentication)");
    case MB_ROUTE_AUTH_NONE:
    default:
      return _ ("None");
    }
}

static const char *
or_unset (const char *value)
{
  return value != NULL && *value != '\0' ? value : _ ("Not set");
}

static void
add_row (MbPageSummary *self, const char *name, const char *value)
{
  GtkWidget *line = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 18);
  GtkWidget *name_label = gtk_label_new (name);
  GtkWidget *value_label = gtk_label_new (value);
  AtkObject *name_atk = gtk_widget_get_accessible (name_label);
  AtkObject *value_atk = gtk_widget_get_accessible (value_label);

  gtk_label_set_xalign (GTK_LABEL (name_label), 1);
  gtk_label_set_yalign (GTK_LABEL (name_label), 0);
  gtk_style_context_add_class (gtk_widget_get_style_context (name_label),
                               "dim-label");
  gtk_label_set_xalign (GTK_LABEL (value_label), 0);
  /* One fixed width: a wrapping label whose width may vary gets a height
   * for another width than it is given in the scrolled page (GTK 3). */
  gtk_label_set_line_wrap (GTK_LABEL (value_label), TRUE);
  gtk_label_set_width_chars (GTK_LABEL (value_label), 46);
  gtk_label_set_max_width_chars (GTK_LABEL (value_label), 46);
  gtk_label_set_selectable (GTK_LABEL (value_label), TRUE);
  /* Screen readers (and the tests) read each value with its name. */
  atk_object_add_relationship (name_atk, ATK_RELATION_LABEL_FOR, value_atk);
  atk_object_add_relationship (value_atk, ATK_RELATION_LABELLED_BY, name_atk);
  atk_object_set_name (value_atk, name);

  gtk_size_group_add_widget (self->names, name_label);
  gtk_container_add (GTK_CONTAINER (line), name_label);
  gtk_container_add (GTK_CONTAINER (line), value_label);
  gtk_widget_show_all (line);
  gtk_container_add (GTK_CONTAINER (self->summary_box), line);
}

static void
describe_route (MbPageSummary *self, const MbSetupPlan *plan)
{
  switch (plan->method)
    {
    case MB_ROUTE_METHOD_DIRECT_SEND:
    case MB_ROUTE_METHOD_CONNECTOR:
      add_row (self, _ ("Method"),
               plan->method == MB_ROUTE_METHOD_DIRECT_SEND
                   ? _ ("Direct Send (only to your organisation)")
                   : _ ("Relay through an inbound connector"));
      add_row (self, _ ("Domain"), or_unset (plan->domain));
      add_row (self, _ ("Delivers to"), or_unset (plan->mx_host));
      add_row (self, _ ("Encryption"),
               plan->method == MB_ROUTE_METHOD_CONNECTOR
                       || plan->tls == MB_ROUTE_TLS_REQUIRED
                   ? _ ("Required (STARTTLS)")
                   : _ ("When Microsoft 365 offers it (STARTTLS)"));
      if (plan->method == MB_ROUTE_METHOD_CONNECTOR)
        {
          if (plan->public_ip != NULL && *plan->public_ip != '\0')
            add_row (self, _ ("Recognised by"), plan->public_ip);
          else
            add_row (self, _ ("Recognised by"),
                     or_unset (plan->certificate_name));
        }
      break;
    case MB_ROUTE_METHOD_SUBMISSION:
    case MB_ROUTE_METHOD_HVE:
    default:
      add_row (self, _ ("Method"), _ ("SMTP AUTH with a mailbox"));
      add_row (self, _ ("Mailbox"), or_unset (plan->mailbox));
      add_row (self, _ ("Sign-in"), describe_auth (plan->auth));
      if (plan->auth != MB_ROUTE_AUTH_BASIC)
        {
          add_row (self, _ ("Tenant"), or_unset (plan->tenant));
          add_row (self, _ ("App (client) ID"), or_unset (plan->client_id));
        }
      break;
    }
}

static char *
describe_devices (const MbSetupPlan *plan)
{
  if (!plan->lan)
    return g_strdup (_ ("Only programs on this computer"));
  /* Translators: %s is a listen address such as 0.0.0.0:2525 */
  return g_strdup_printf (_ ("Devices on the network, on %s, and programs "
                             "on this computer"),
                          plan->lan_listen != NULL
                              ? plan->lan_listen
                              : MB_SETUP_PLAN_DEFAULT_LAN_LISTEN);
}

static const char *
describe_next_steps (const MbSetupPlan *plan)
{
  if (plan->method == MB_ROUTE_METHOD_DIRECT_SEND
      || plan->method == MB_ROUTE_METHOD_CONNECTOR)
    return _ ("Make the changes in Microsoft 365 and DNS shown on the "
              "previous page, if you have not yet. Then send a test email.");
  switch (plan->auth)
    {
    case MB_ROUTE_AUTH_BASIC:
      return _ ("The password is kept in the keyring, not in the file. "
                "Then send a test email.");
    case MB_ROUTE_AUTH_OAUTH_APP:
      return _ ("After Apply, Mailbridge asks for the app’s secret or "
                "checks its certificate.");
    case MB_ROUTE_AUTH_OAUTH_DEVICE:
    case MB_ROUTE_AUTH_OAUTH_BROWSER:
    case MB_ROUTE_AUTH_NONE:
    default:
      return _ ("After Apply, sign in to the mailbox once: Mailbridge keeps "
                "the sign-in and renews it by itself.");
    }
}

static void
fill_summary (MbPageSummary *self, const MbSetupPlan *plan)
{
  g_autoptr (GList) children
      = gtk_container_get_children (GTK_CONTAINER (self->summary_box));
  g_autofree char *devices = describe_devices (plan);
  g_autofree char *allow = NULL;
  g_autofree char *path = get_config_path (self);

  for (GList *l = children; l != NULL; l = l->next)
    gtk_widget_destroy (l->data);

  describe_route (self, plan);
  add_row (self, _ ("Accepts mail from"), devices);
  if (plan->lan)
    {
      allow = plan->allow != NULL && plan->allow[0] != NULL
                  ? g_strjoinv (", ", plan->allow)
                  : g_strdup (_ ("No device yet"));
      add_row (self, _ ("Allowed devices"), allow);
    }
  add_row (self, _ ("Admin address"), or_unset (plan->admin_address));
  add_row (self, _ ("Route name"), plan->route);
  add_row (self, _ ("Configuration file"), path);

  gtk_label_set_text (self->next_steps_label, describe_next_steps (plan));
}

static void
show_relay_not_running (MbPageSummary *self)
{
  GtkWidget *wizard = gtk_widget_get_toplevel (GTK_WIDGET (self));
  GtkWindow *parent = NULL;
  GtkWidget *dialog;

  /* The assistant closes after Apply: the note goes to the main window. */
  if (GTK_IS_WINDOW (wizard))
    parent = gtk_window_get_transient_for (GTK_WINDOW (wizard));
  dialog = gtk_message_dialog_new (parent, GTK_DIALOG_DESTROY_WITH_PARENT,
                                   GTK_MESSAGE_INFO, GTK_BUTTONS_CLOSE, "%s",
                                   _ ("The configuration is saved"));
  gtk_message_dialog_format_secondary_text (
      GTK_MESSAGE_DIALOG (dialog), "%s",
      _ ("The relay is not running. It uses the new configuration when it "
         "starts."));
  g_signal_connect (dialog, "response", G_CALLBACK (gtk_widget_destroy), NULL);
  gtk_window_present (GTK_WINDOW (dialog));
}

/* Apply, in execution order */

static void
reloaded_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  MbPageSummary *self = g_task_get_source_object (task);
  g_autoptr (GError) error = NULL;

  if (mb_relay_client_reload_finish (MB_RELAY_CLIENT (source), result, &error))
    {
      g_task_return_boolean (task, TRUE);
      return;
    }
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  if (g_error_matches (error, MB_RELAY_CLIENT_ERROR,
                       MB_RELAY_CLIENT_ERROR_UNREACHABLE))
    {
      show_relay_not_running (self);
      g_task_return_boolean (task, TRUE);
      return;
    }
  g_task_return_new_error (
      task, MB_RELAY_CLIENT_ERROR, error->code,
      /* Translators: %s is the relay's reason */
      _ ("The configuration is saved, but the relay could not put it in "
         "force: %s. Check the relay’s log, then press Apply again."),
      error->message);
}

static void
restored_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  ApplyData *data = g_task_get_task_data (task);
  g_autoptr (GError) error = NULL;
  gboolean done;

  if (data->old != NULL)
    done = g_file_replace_contents_finish (G_FILE (source), result, NULL,
                                           &error);
  else
    done = g_file_delete_finish (G_FILE (source), result, &error);

  if (!done)
    {
      g_autofree char *backup = g_strconcat (data->path, ".bak", NULL);

      g_task_return_new_error (
          task, MB_RELAY_CLIENT_ERROR, MB_RELAY_CLIENT_ERROR_CONFIG_INVALID,
          /* Translators: the first %s is the relay's reason, the second
           * why the old file could not be put back, the third its copy */
          _ ("The relay refused the new configuration: %s. Putting the "
             "previous file back failed too (%s); a copy of it is %s."),
          data->refusal->message, error->message, backup);
    }
  else
    g_task_return_new_error (
        task, MB_RELAY_CLIENT_ERROR, MB_RELAY_CLIENT_ERROR_CONFIG_INVALID,
        /* Translators: %s is the relay's reason (file, key, line) */
        _ ("The relay refused the new configuration: %s. Nothing was "
           "changed; correct the setting named and press Apply again."),
        data->refusal->message);
}

static void
restore_previous (GTask *task)
{
  ApplyData *data = g_task_get_task_data (task);
  g_autoptr (GFile) file = g_file_new_for_path (data->path);

  /* Not cancellable: a half-done apply must not stay in place. */
  if (data->old != NULL)
    g_file_replace_contents_bytes_async (file, data->old, NULL, FALSE,
                                         G_FILE_CREATE_NONE, NULL, restored_cb,
                                         task);
  else
    g_file_delete_async (file, G_PRIORITY_DEFAULT, NULL, restored_cb, task);
}

static void
checked_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  MbPageSummary *self = g_task_get_source_object (task);
  ApplyData     *data = g_task_get_task_data (task);
  GCancellable  *cancellable;
  g_autoptr (GError) error = NULL;

  if (!mb_relay_client_check_config_finish (MB_RELAY_CLIENT (source), result,
                                            &error))
    {
      if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        g_task_return_error (task, g_steal_pointer (&error));
      else if (g_error_matches (error, MB_RELAY_CLIENT_ERROR,
                                MB_RELAY_CLIENT_ERROR_UNREACHABLE))
        {
          show_relay_not_running (self);
          g_task_return_boolean (task, TRUE);
        }
      else
        {
          data->refusal = g_steal_pointer (&error);
          restore_previous (g_steal_pointer (&task));
        }
      return;
    }
  /* The argument list must not read the task it gives away. */
  cancellable = g_task_get_cancellable (task);
  mb_relay_client_reload_async (MB_RELAY_CLIENT (source), cancellable,
                                reloaded_cb, g_steal_pointer (&task));
}

static void
written_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  MbPageSummary *self = g_task_get_source_object (task);
  ApplyData     *data = g_task_get_task_data (task);
  MbRelayClient *client = mb_wizard_page_get_client (MB_WIZARD_PAGE (self));
  GCancellable  *cancellable;
  g_autoptr (GError) error = NULL;

  if (!mb_setup_plan_write_finish (result, &error))
    {
      /* The plan's messages say what failed; a write also needs what to
       * do. */
      if (g_error_matches (error, MB_SETUP_PLAN_ERROR,
                           MB_SETUP_PLAN_ERROR_WRITE))
        g_task_return_new_error (
            task, MB_SETUP_PLAN_ERROR, MB_SETUP_PLAN_ERROR_WRITE,
            /* Translators: %s says which file could not be written, why */
            _ ("%s. Make sure the folder can be written to, then press Apply "
               "again."),
            error->message);
      else
        g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  if (client == NULL
      || mb_relay_client_get_connection (client)
             != MB_RELAY_CONNECTION_CONNECTED)
    {
      show_relay_not_running (self);
      g_task_return_boolean (task, TRUE);
      return;
    }
  cancellable = g_task_get_cancellable (task);
  mb_relay_client_check_config_async (client, data->path, cancellable,
                                      checked_cb, g_steal_pointer (&task));
}

static void
previous_loaded_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  ApplyData    *data = g_task_get_task_data (task);
  GCancellable *cancellable;
  g_autoptr (GError) error = NULL;
  g_autoptr (GBytes) old = NULL;

  old = g_file_load_bytes_finish (G_FILE (source), result, NULL, &error);
  if (old == NULL && !g_error_matches (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND))
    {
      if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        g_prefix_error (&error,
                        _ ("The current configuration could not be read: "));
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  data->old = g_steal_pointer (&old);
  cancellable = g_task_get_cancellable (task);
  mb_setup_plan_write_async (data->plan, data->path, cancellable, written_cb,
                             g_steal_pointer (&task));
}

/* Overrides */

static void
mb_page_summary_apply_async (MbWizardPage       *page,
                             GCancellable       *cancellable,
                             GAsyncReadyCallback callback,
                             gpointer            user_data)
{
  MbPageSummary *self = MB_PAGE_SUMMARY (page);
  g_autoptr (GTask) task = g_task_new (self, cancellable, callback, user_data);
  g_autoptr (ApplyData) data = g_new0 (ApplyData, 1);
  g_autoptr (GFile) file = NULL;
  g_autoptr (GError) error = NULL;

  g_task_set_source_tag (task, mb_page_summary_apply_async);
  data->plan = mb_setup_plan_copy (mb_wizard_page_get_plan (page));
  data->path = get_config_path (self);
  if (!mb_setup_plan_validate (data->plan, &error))
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  file = g_file_new_for_path (data->path);
  g_task_set_task_data (task, g_steal_pointer (&data),
                        (GDestroyNotify)apply_data_free);
  g_file_load_bytes_async (file, cancellable, previous_loaded_cb,
                           g_steal_pointer (&task));
}

static gboolean
mb_page_summary_apply_finish (MbWizardPage *page,
                              GAsyncResult *result,
                              GError      **error)
{
  g_return_val_if_fail (g_task_is_valid (result, page), FALSE);
  return g_task_propagate_boolean (G_TASK (result), error);
}

static void
mb_page_summary_shown (MbWizardPage *page)
{
  MbPageSummary *self = MB_PAGE_SUMMARY (page);
  MbSetupPlan   *plan = mb_wizard_page_get_plan (page);
  MbRelayClient *client = mb_wizard_page_get_client (page);

  if (plan != NULL)
    fill_summary (self, plan);
  gtk_widget_set_visible (self->relay_notice,
                          client == NULL
                              || mb_relay_client_get_connection (client)
                                     != MB_RELAY_CONNECTION_CONNECTED);
}

static void
mb_page_summary_dispose (GObject *object)
{
  MbPageSummary *self = MB_PAGE_SUMMARY (object);

  g_clear_object (&self->names);
  G_OBJECT_CLASS (mb_page_summary_parent_class)->dispose (object);
}

static void
mb_page_summary_class_init (MbPageSummaryClass *klass)
{
  GtkWidgetClass    *widget_class = GTK_WIDGET_CLASS (klass);
  MbWizardPageClass *page_class = MB_WIZARD_PAGE_CLASS (klass);

  G_OBJECT_CLASS (klass)->dispose = mb_page_summary_dispose;
  page_class->shown = mb_page_summary_shown;
  page_class->apply_async = mb_page_summary_apply_async;
  page_class->apply_finish = mb_page_summary_apply_finish;

  gtk_widget_class_set_template_from_resource (
      widget_class, "/org/mailbridge/Mailbridge/ui/mb-page-summary.ui");
  gtk_widget_class_bind_template_child (widget_class, MbPageSummary,
                                        summary_box);
  gtk_widget_class_bind_template_child (widget_class, MbPageSummary,
                                        next_steps_label);
  gtk_widget_class_bind_template_child (widget_class, MbPageSummary,
                                        relay_notice);
}

static void
mb_page_summary_init (MbPageSummary *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
  self->names = gtk_size_group_new (GTK_SIZE_GROUP_HORIZONTAL);
  mb_wizard_page_set_title (MB_WIZARD_PAGE (self), _ ("Ready to Apply"));
  mb_wizard_page_set_complete (MB_WIZARD_PAGE (self), TRUE);
}

GtkWidget *
mb_page_summary_new (void)
{
  return g_object_new (MB_TYPE_PAGE_SUMMARY, NULL);
}
