/* mb-page-submission.c - the setup assistant's SMTP AUTH page
 *
 * The sending mailbox, how the relay signs in (a Microsoft sign-in, or a
 * password while the tenant still allows basic authentication), the app
 * registration an OAuth sign-in needs, and what to do when Microsoft 365
 * refuses SMTP AUTH (535 5.7.139) with the PowerShell that fixes it
 * (M365-FACTS.md 1.4, 2.2).  Fields are checked as the admin types; a
 * field's hint appears once typing pauses.
 *
 * The password is stored by this page's apply (Next), where the relay
 * will read it: mb_credentials_new_for_config() on the configuration file
 * the assistant writes (its [relay] secrets file, else the keyring), or
 * the keyring when that file does not exist yet (the relay's defaults).
 * The assistant keeps the file's [relay] section, so the relay finds the
 * password once the summary page has written the route and reloaded it.
 * Storing it here, not on the summary page, keeps the secret in this
 * page's entry only as long as the page is in front; the entry is emptied
 * once it is stored, and an empty entry then keeps the stored password.
 */
#define G_LOG_DOMAIN "mb-page-submission"

#include "mb-page-submission.h"

#include <glib/gi18n.h>
#include <string.h>

#include "mb-config-syntax.h"
#include "mb-credentials.h"
#include "mb-wizard.h"
#include "mb-smtp-reply.h"

/* How long typing must pause before hints and texts follow. */
#define REFRESH_DELAY_MS 500

struct _MbPageSubmission
{
  MbWizardPage parent_instance;

  GCancellable *cancellable;     /* (owned) lookups; cancelled in dispose */
  guint         refresh_id;      /* pending debounced refresh, or 0 */
  gboolean      loaded;          /* the fields were filled from the plan */
  gboolean      looked_up;       /* the stored password was looked for */
  gboolean      password_stored; /* one is stored for the route */

  GtkEntry             *mailbox_entry;
  GtkLabel             *mailbox_hint;
  GtkToggleButton      *device_radio;
  GtkToggleButton      *browser_radio;
  GtkToggleButton      *app_radio;
  GtkToggleButton      *basic_radio;
  GtkWidget            *oauth_box;
  GtkEntry             *tenant_entry;
  GtkLabel             *tenant_hint;
  GtkEntry             *client_id_entry;
  GtkLabel             *client_id_hint;
  GtkLabel             *app_help_label;
  GtkWidget            *app_box;
  GtkToggleButton      *certificate_radio;
  GtkFileChooserButton *certificate_chooser;
  GtkWidget            *basic_box;
  GtkEntry             *password_entry;
  GtkLabel             *plan_hint;
  GtkTextView          *powershell_view;
};

G_DEFINE_TYPE (MbPageSubmission, mb_page_submission, MB_TYPE_WIZARD_PAGE)

/* The apply's state: the secret is wiped when it is freed. */
typedef struct
{
  char *config_path; /* (owned) (nullable) the relay's file */
  char *route;       /* (owned) */
  char *password;    /* (owned) (nullable) wiped */
} StoreData;

static void
store_data_free (StoreData *data)
{
  g_free (data->config_path);
  g_free (data->route);
  mb_smtp_secret_free (data->password);
  g_free (data);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (StoreData, store_data_free)

/* The relay's own syntax checks, so the page accepts what the
 * configuration does. */
static gboolean
is_domain (const char *text)
{
  g_autofree char *normal = mb_config_syntax_normalize_domain (text);

  return normal != NULL;
}

static gboolean
is_address (const char *text)
{
  g_autofree char *normal = mb_config_syntax_normalize_mailbox (text);

  return normal != NULL;
}

/* 8-4-4-4-12 hexadecimal digits, as Entra ID shows its IDs. */
static gboolean
is_guid (const char *text)
{
  if (strlen (text) != 36)
    return FALSE;
  for (guint i = 0; i < 36; i++)
    {
      gboolean dash = i == 8 || i == 13 || i == 18 || i == 23;

      if (dash ? text[i] != '-' : !g_ascii_isxdigit (text[i]))
        return FALSE;
    }
  return TRUE;
}

/* The entry's text without surrounding blanks; NULL when empty. */
static char *
dup_field (GtkEntry *entry)
{
  g_autofree char *text = g_strstrip (g_strdup (gtk_entry_get_text (entry)));

  return *text != '\0' ? g_steal_pointer (&text) : NULL;
}

static MbRouteAuth
get_auth (MbPageSubmission *self)
{
  if (gtk_toggle_button_get_active (self->browser_radio))
    return MB_ROUTE_AUTH_OAUTH_BROWSER;
  if (gtk_toggle_button_get_active (self->app_radio))
    return MB_ROUTE_AUTH_OAUTH_APP;
  if (gtk_toggle_button_get_active (self->basic_radio))
    return MB_ROUTE_AUTH_BASIC;
  return MB_ROUTE_AUTH_OAUTH_DEVICE;
}

static gboolean
is_oauth (MbRouteAuth auth)
{
  return auth == MB_ROUTE_AUTH_OAUTH_DEVICE
         || auth == MB_ROUTE_AUTH_OAUTH_BROWSER
         || auth == MB_ROUTE_AUTH_OAUTH_APP;
}

static void
save_fields (MbPageSubmission *self, MbSetupPlan *plan)
{
  MbRouteAuth auth = get_auth (self);
  gboolean    oauth = is_oauth (auth);

  plan->auth = auth;
  g_free (plan->mailbox);
  plan->mailbox = dup_field (self->mailbox_entry);
  g_free (plan->tenant);
  plan->tenant = oauth ? dup_field (self->tenant_entry) : NULL;
  g_free (plan->client_id);
  plan->client_id = oauth ? dup_field (self->client_id_entry) : NULL;
  g_free (plan->client_certificate);
  plan->client_certificate = NULL;
  if (auth == MB_ROUTE_AUTH_OAUTH_APP
      && gtk_toggle_button_get_active (self->certificate_radio))
    plan->client_certificate = gtk_file_chooser_get_filename (
        GTK_FILE_CHOOSER (self->certificate_chooser));
}

/* The plan as it would be with the fields saved: for validation and the
 * texts, without touching the assistant's plan before Next. */
static MbSetupPlan *
dup_scratch_plan (MbPageSubmission *self)
{
  MbSetupPlan *plan = mb_wizard_page_get_plan (MB_WIZARD_PAGE (self));
  MbSetupPlan *scratch
      = plan != NULL ? mb_setup_plan_copy (plan) : mb_setup_plan_new ();

  scratch->method = MB_ROUTE_METHOD_SUBMISSION;
  save_fields (self, scratch);
  return scratch;
}

static const char *
check_mailbox (const char *text)
{
  if (text == NULL || is_address (text))
    return NULL;
  return _ ("The mailbox must be an email address, like scanner@contoso.com.");
}

static const char *
check_tenant (const char *text)
{
  if (text == NULL || is_domain (text) || is_guid (text)
      || g_str_equal (text, "organizations") || g_str_equal (text, "common"))
    return NULL;
  return _ ("Enter a domain of your organisation, like contoso.com, or the "
            "tenant ID, like 00000000-0000-0000-0000-000000000000.");
}

static const char *
check_client_id (const char *text)
{
  if (text == NULL || is_guid (text))
    return NULL;
  return _ ("The application (client) ID looks like "
            "00000000-0000-0000-0000-000000000000. Copy it from the app "
            "registration in Microsoft Entra ID.");
}

/* Shows @hint beside its field: at once when it goes away, only after the
 * pause (@now) when it appears or changes, so typing is not nagged. */
static void
set_hint (GtkLabel *label, const char *hint, gboolean now)
{
  if (hint == NULL)
    {
      gtk_widget_hide (GTK_WIDGET (label));
      return;
    }
  if (!now)
    return;
  gtk_label_set_text (label, hint);
  gtk_widget_show (GTK_WIDGET (label));
}

static char *
dup_app_help (MbPageSubmission *self, MbRouteAuth auth)
{
  g_autofree char *client_id = dup_field (self->client_id_entry);
  g_autofree char *mailbox = dup_field (self->mailbox_entry);
  g_autofree char *id_text = NULL;
  g_autofree char *mailbox_text = NULL;
  g_autofree char *tenant = dup_field (self->tenant_entry);
  g_autofree char *tenant_text = NULL;

  if (auth != MB_ROUTE_AUTH_OAUTH_APP)
    {
      GString *help = g_string_new (NULL);

      g_string_append_printf (
          help, "<b>%s</b>\n%s", _ ("The app registration it needs"),
          _ ("In Microsoft Entra ID, register an app (App registrations; "
             "one tenant is enough). Under API permissions add Office 365 "
             "Exchange Online › Delegated › <tt>SMTP.Send</tt>, and "
             "<tt>offline_access</tt>."));
      g_string_append_c (help, ' ');
      if (auth == MB_ROUTE_AUTH_OAUTH_DEVICE)
        g_string_append (help, _ ("For the sign-in with a code, set "
                                  "Authentication › Advanced settings › "
                                  "Allow public client flows to Yes."));
      else
        g_string_append (help, _ ("The browser sign-in returns to "
                                  "<tt>http://127.0.0.1</tt> on a port "
                                  "Mailbridge picks: add that address as a "
                                  "redirect address of the app."));
      return g_string_free (help, FALSE);
    }

  id_text = g_markup_escape_text (client_id != NULL && is_guid (client_id)
                                      ? client_id
                                      : _ ("APPLICATION-ID"),
                                  -1);
  mailbox_text = g_markup_escape_text (
      mailbox != NULL && is_address (mailbox) ? mailbox : _ ("MAILBOX"), -1);
  tenant_text
      = g_markup_escape_text (tenant != NULL ? tenant : _ ("TENANT-ID"), -1);
  /* Translators: the PowerShell in <tt> stays English; %s are the tenant,
   * the application ID (twice) and the mailbox. */
  return g_strdup_printf (
      _ ("<b>The app registration it needs</b>\n"
         "In Microsoft Entra ID, register an app. Under API permissions add "
         "Office 365 Exchange Online › Application › <tt>SMTP.SendAsApp</tt> "
         "and grant admin consent. Then let it send as the mailbox, in "
         "Exchange Online PowerShell:\n"
         "<tt>Connect-ExchangeOnline -Organization %s\n"
         "New-ServicePrincipal -AppId %s -ObjectId OBJECT-ID\n"
         "Add-MailboxPermission -Identity \"%s\" -User SERVICE-PRINCIPAL-ID "
         "-AccessRights FullAccess</tt>\n"
         "OBJECT-ID is the object ID of the Enterprise application (%s), not "
         "the one of the app registration: the wrong one makes the sign-in "
         "fail."),
      tenant_text, id_text, mailbox_text, id_text);
}

static void
show_powershell (MbPageSubmission *self, const MbSetupPlan *scratch)
{
  g_autofree char *text = mb_setup_plan_submission_powershell (scratch);
  GtkTextBuffer   *buffer = gtk_text_view_get_buffer (self->powershell_view);
  g_autofree char *old = NULL;
  GtkTextIter      start, end;

  gtk_text_buffer_get_bounds (buffer, &start, &end);
  old = gtk_text_buffer_get_text (buffer, &start, &end, FALSE);
  if (g_strcmp0 (old, text != NULL ? text : "") != 0)
    gtk_text_buffer_set_text (buffer, text != NULL ? text : "", -1);
}

/* Checks every field and sets "complete"; @now also shows new hints and
 * updates the texts that follow the fields (after the typing pause). */
static void
refresh (MbPageSubmission *self, gboolean now)
{
  g_autoptr (MbSetupPlan) scratch = dup_scratch_plan (self);
  g_autoptr (GError) error = NULL;
  MbRouteAuth auth = scratch->auth;
  gboolean    oauth = is_oauth (auth);
  const char *mailbox_hint = check_mailbox (scratch->mailbox);
  const char *tenant_hint = oauth ? check_tenant (scratch->tenant) : NULL;
  const char *client_id_hint
      = oauth ? check_client_id (scratch->client_id) : NULL;
  gboolean fields_ok = mailbox_hint == NULL && tenant_hint == NULL
                       && client_id_hint == NULL && scratch->mailbox != NULL;
  gboolean complete;

  if (oauth)
    fields_ok
        = fields_ok && scratch->tenant != NULL && scratch->client_id != NULL;
  if (auth == MB_ROUTE_AUTH_OAUTH_APP
      && gtk_toggle_button_get_active (self->certificate_radio))
    fields_ok = fields_ok && scratch->client_certificate != NULL;
  if (auth == MB_ROUTE_AUTH_BASIC)
    fields_ok = fields_ok
                && (self->password_stored
                    || *gtk_entry_get_text (self->password_entry) != '\0');

  set_hint (self->mailbox_hint, mailbox_hint, now);
  set_hint (self->tenant_hint, tenant_hint, now);
  set_hint (self->client_id_hint, client_id_hint, now);

  /* The plan's own check has the last word (the assistant writes only
   * what it accepts); its message shows when every field looks right. */
  complete = fields_ok && mb_setup_plan_validate (scratch, &error);
  set_hint (self->plan_hint, fields_ok && !complete ? error->message : NULL,
            now);
  mb_wizard_page_set_complete (MB_WIZARD_PAGE (self), complete);

  if (now)
    {
      g_autofree char *help = oauth ? dup_app_help (self, auth) : NULL;

      if (help != NULL)
        gtk_label_set_markup (self->app_help_label, help);
      show_powershell (self, scratch);
    }
}

static gboolean
refresh_timeout_cb (gpointer user_data)
{
  MbPageSubmission *self = user_data;

  self->refresh_id = 0;
  refresh (self, TRUE);
  return G_SOURCE_REMOVE;
}

static void
on_field_changed_cb (MbPageSubmission *self)
{
  refresh (self, FALSE);
  g_clear_handle_id (&self->refresh_id, g_source_remove);
  self->refresh_id = g_timeout_add (REFRESH_DELAY_MS, refresh_timeout_cb, self);
}

/* Opens the store the relay reads its secrets from (see the top of the
 * file).  Reading the configuration, and a secrets file, blocks briefly:
 * hence the thread. */
static void
open_credentials_thread (GTask        *task,
                         gpointer      source,
                         gpointer      task_data,
                         GCancellable *cancellable)
{
  StoreData *data = task_data;
  g_autoptr (MbRelayConfig) config = NULL;
  g_autoptr (GError) error = NULL;
  MbCredentials *credentials;

  /* No file: the relay runs on its defaults, which keep secrets in the
   * keyring. */
  if (data->config_path == NULL
      || !g_file_test (data->config_path, G_FILE_TEST_EXISTS))
    config = mb_relay_config_new_default ();
  else
    config = mb_relay_config_load_file (data->config_path, &error);
  if (config == NULL)
    {
      g_task_return_new_error (
          task, MB_CREDENTIALS_ERROR, MB_CREDENTIALS_ERROR_UNAVAILABLE,
          /* Translators: %s is why the configuration cannot be read */
          _ ("The password cannot be stored: the relay’s configuration "
             "cannot be read (%s). Fix the file, then try again."),
          error->message);
      return;
    }
  credentials = mb_credentials_new_for_config (config, &error);
  if (credentials == NULL)
    g_task_return_new_error (
        task, MB_CREDENTIALS_ERROR, MB_CREDENTIALS_ERROR_UNAVAILABLE,
        /* Translators: %s is why the secrets file cannot be used */
        _ ("The password cannot be stored in the relay’s secrets file: %s"),
        error->message);
  else
    g_task_return_pointer (task, credentials, g_object_unref);
}

static void
open_credentials_async (MbPageSubmission   *self,
                        StoreData          *data,
                        GCancellable       *cancellable,
                        GAsyncReadyCallback callback,
                        gpointer            user_data)
{
  g_autoptr (GTask) task = g_task_new (self, cancellable, callback, user_data);

  g_task_set_source_tag (task, open_credentials_async);
  g_task_set_task_data (task, data, (GDestroyNotify)store_data_free);
  g_task_run_in_thread (task, open_credentials_thread);
}

static MbCredentials *
open_credentials_finish (GAsyncResult *result, GError **error)
{
  return g_task_propagate_pointer (G_TASK (result), error);
}

static StoreData *
store_data_new (MbPageSubmission *self)
{
  MbSetupPlan   *plan = mb_wizard_page_get_plan (MB_WIZARD_PAGE (self));
  MbRelayClient *client = mb_wizard_page_get_client (MB_WIZARD_PAGE (self));
  GtkWidget     *toplevel = gtk_widget_get_toplevel (GTK_WIDGET (self));
  const char    *path = NULL;
  StoreData     *data = g_new0 (StoreData, 1);

  /* The file the assistant writes, whose [relay] secrets the relay will
   * read; the relay's own outside the assistant. */
  if (MB_IS_WIZARD (toplevel))
    path = mb_wizard_get_config_path (MB_WIZARD (toplevel));
  else if (client != NULL)
    path = mb_relay_client_get_config_path (client);

  data->config_path = path != NULL && *path != '\0' ? g_strdup (path) : NULL;
  data->route = g_strdup (plan != NULL && plan->route != NULL
                              ? plan->route
                              : MB_SETUP_PLAN_DEFAULT_ROUTE);
  return data;
}

/* Whether a password is stored already: then the field may stay empty
 * when the assistant runs again. */

static void
lookup_password_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  MbPageSubmission *self = user_data;
  g_autoptr (GError) error = NULL;
  char *secret;

  secret = mb_credentials_lookup_finish (MB_CREDENTIALS (source), result, NULL,
                                         &error);
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;
  self->password_stored = secret != NULL;
  mb_smtp_secret_free (secret);
  if (error != NULL)
    g_debug ("stored password not readable: %s", error->message);
  gtk_entry_set_placeholder_text (
      self->password_entry,
      self->password_stored ? _ ("Stored: leave empty to keep it") : NULL);
  refresh (self, FALSE);
}

static void
lookup_open_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  MbPageSubmission *self = MB_PAGE_SUBMISSION (source);
  g_autoptr (MbCredentials) credentials = NULL;
  g_autoptr (GError) error = NULL;

  credentials = open_credentials_finish (result, &error);
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;
  if (credentials == NULL)
    {
      g_debug ("no secret store to look in: %s", error->message);
      return;
    }
  mb_credentials_lookup_async (
      credentials, ((StoreData *)g_task_get_task_data (G_TASK (result)))->route,
      MB_CREDENTIALS_KIND_PASSWORD, self->cancellable, lookup_password_cb,
      self);
}

static void
look_up_stored_password (MbPageSubmission *self)
{
  if (self->looked_up)
    return;
  self->looked_up = TRUE;
  open_credentials_async (self, store_data_new (self), self->cancellable,
                          lookup_open_cb, NULL);
}

static void
on_kind_toggled_cb (MbPageSubmission *self, GtkToggleButton *button)
{
  MbRouteAuth auth;

  if (!gtk_toggle_button_get_active (button))
    return; /* the other radio of the pair reports the change */
  auth = get_auth (self);
  gtk_widget_set_visible (self->oauth_box, is_oauth (auth));
  gtk_widget_set_visible (self->app_box, auth == MB_ROUTE_AUTH_OAUTH_APP);
  gtk_widget_set_visible (self->basic_box, auth == MB_ROUTE_AUTH_BASIC);
  if (auth == MB_ROUTE_AUTH_BASIC)
    look_up_stored_password (self);
  g_clear_handle_id (&self->refresh_id, g_source_remove);
  refresh (self, TRUE);
}

static void
on_copy_clicked_cb (MbPageSubmission *self)
{
  GtkTextBuffer   *buffer = gtk_text_view_get_buffer (self->powershell_view);
  g_autofree char *text = NULL;
  GtkTextIter      start, end;

  gtk_text_buffer_get_bounds (buffer, &start, &end);
  text = gtk_text_buffer_get_text (buffer, &start, &end, FALSE);
  gtk_clipboard_set_text (
      gtk_widget_get_clipboard (GTK_WIDGET (self), GDK_SELECTION_CLIPBOARD),
      text, -1);
}

static void
load_fields (MbPageSubmission *self, const MbSetupPlan *plan)
{
  GtkToggleButton *radio;

  gtk_entry_set_text (self->mailbox_entry, plan->mailbox ? plan->mailbox : "");
  gtk_entry_set_text (self->tenant_entry, plan->tenant ? plan->tenant : "");
  gtk_entry_set_text (self->client_id_entry,
                      plan->client_id ? plan->client_id : "");
  if (plan->client_certificate != NULL)
    gtk_file_chooser_set_filename (GTK_FILE_CHOOSER (self->certificate_chooser),
                                   plan->client_certificate);
  gtk_toggle_button_set_active (self->certificate_radio,
                                plan->client_certificate != NULL);
  switch (plan->auth)
    {
    case MB_ROUTE_AUTH_OAUTH_BROWSER:
      radio = self->browser_radio;
      break;
    case MB_ROUTE_AUTH_OAUTH_APP:
      radio = self->app_radio;
      break;
    case MB_ROUTE_AUTH_BASIC:
      radio = self->basic_radio;
      break;
    case MB_ROUTE_AUTH_NONE:
    case MB_ROUTE_AUTH_OAUTH_DEVICE:
    default:
      radio = self->device_radio;
      break;
    }
  gtk_toggle_button_set_active (radio, TRUE);
  /* Already active radios do not toggle: show the kind's parts anyway. */
  on_kind_toggled_cb (self, radio);
}

static void
mb_page_submission_shown (MbWizardPage *page)
{
  MbPageSubmission *self = MB_PAGE_SUBMISSION (page);
  MbSetupPlan      *plan = mb_wizard_page_get_plan (page);
  GtkWidget        *scrolled
      = gtk_widget_get_ancestor (GTK_WIDGET (page), GTK_TYPE_SCROLLED_WINDOW);

  /* The assistant scrolls its pages: Tab brings the focused field into
   * view. */
  if (scrolled != NULL)
    gtk_container_set_focus_vadjustment (
        GTK_CONTAINER (page),
        gtk_scrolled_window_get_vadjustment (GTK_SCROLLED_WINDOW (scrolled)));

  /* Fill the fields once: going Back and Next again keeps what was typed. */
  if (!self->loaded && plan != NULL)
    {
      self->loaded = TRUE;
      load_fields (self, plan);
    }
  refresh (self, TRUE);
  gtk_widget_grab_focus (GTK_WIDGET (self->mailbox_entry));
}

static void
mb_page_submission_save (MbWizardPage *page, MbSetupPlan *plan)
{
  save_fields (MB_PAGE_SUBMISSION (page), plan);
}

/* The apply task holds the page: "applying" goes back to FALSE even when
 * the assistant cancelled (Back), so the page can be used again. */
static void
return_apply_error (GTask *task, GError *error)
{
  mb_wizard_page_set_applying (g_task_get_source_object (task), FALSE);
  g_task_return_error (task, error);
}

static void
store_password_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  MbPageSubmission *self = g_task_get_source_object (task);
  GError           *error = NULL;

  if (!mb_credentials_store_finish (MB_CREDENTIALS (source), result, &error))
    {
      if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        g_prefix_error (&error, "%s ", _ ("The password could not be stored:"));
      return_apply_error (task, error);
      return;
    }
  /* Stored even if cancelled meanwhile: the entry need not keep it. */
  gtk_entry_set_text (self->password_entry, "");
  self->password_stored = TRUE;
  gtk_entry_set_placeholder_text (self->password_entry,
                                  _ ("Stored: leave empty to keep it"));
  mb_wizard_page_set_applying (MB_WIZARD_PAGE (self), FALSE);
  if (!g_task_return_error_if_cancelled (task))
    g_task_return_boolean (task, TRUE);
}

static void
store_open_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  StoreData *data = g_task_get_task_data (G_TASK (result));
  g_autoptr (MbCredentials) credentials = NULL;
  GError *error = NULL;

  credentials = open_credentials_finish (result, &error);
  if (credentials == NULL)
    {
      return_apply_error (task, error);
      return;
    }
  mb_credentials_store_async (
      credentials, data->route, MB_CREDENTIALS_KIND_PASSWORD, data->password, 0,
      g_task_get_cancellable (task), store_password_cb, g_object_ref (task));
}

static void
mb_page_submission_apply_async (MbWizardPage       *page,
                                GCancellable       *cancellable,
                                GAsyncReadyCallback callback,
                                gpointer            user_data)
{
  MbPageSubmission *self = MB_PAGE_SUBMISSION (page);
  g_autoptr (GTask) task = g_task_new (self, cancellable, callback, user_data);
  const char *password = gtk_entry_get_text (self->password_entry);
  StoreData  *data;

  g_task_set_source_tag (task, mb_page_submission_apply_async);
  if (get_auth (self) != MB_ROUTE_AUTH_BASIC || *password == '\0')
    {
      g_task_return_boolean (task, TRUE);
      return;
    }
  data = store_data_new (self);
  data->password = g_strdup (password);
  mb_wizard_page_set_applying (page, TRUE);
  open_credentials_async (self, data, cancellable, store_open_cb,
                          g_steal_pointer (&task));
}

static gboolean
mb_page_submission_apply_finish (MbWizardPage *page,
                                 GAsyncResult *result,
                                 GError      **error)
{
  g_return_val_if_fail (g_task_is_valid (result, page), FALSE);

  return g_task_propagate_boolean (G_TASK (result), error);
}

static void
mb_page_submission_dispose (GObject *object)
{
  MbPageSubmission *self = MB_PAGE_SUBMISSION (object);

  g_cancellable_cancel (self->cancellable);
  g_clear_handle_id (&self->refresh_id, g_source_remove);
  G_OBJECT_CLASS (mb_page_submission_parent_class)->dispose (object);
}

static void
mb_page_submission_finalize (GObject *object)
{
  g_clear_object (&MB_PAGE_SUBMISSION (object)->cancellable);
  G_OBJECT_CLASS (mb_page_submission_parent_class)->finalize (object);
}

static void
mb_page_submission_class_init (MbPageSubmissionClass *klass)
{
  GObjectClass      *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass    *widget_class = GTK_WIDGET_CLASS (klass);
  MbWizardPageClass *page_class = MB_WIZARD_PAGE_CLASS (klass);

  object_class->dispose = mb_page_submission_dispose;
  object_class->finalize = mb_page_submission_finalize;
  page_class->shown = mb_page_submission_shown;
  page_class->save = mb_page_submission_save;
  page_class->apply_async = mb_page_submission_apply_async;
  page_class->apply_finish = mb_page_submission_apply_finish;

  gtk_widget_class_set_template_from_resource (
      widget_class, "/org/mailbridge/Mailbridge/ui/mb-page-submission.ui");
#define BIND(name)                                                             \
  gtk_widget_class_bind_template_child (widget_class, MbPageSubmission, name)
  BIND (mailbox_entry);
  BIND (mailbox_hint);
  BIND (device_radio);
  BIND (browser_radio);
  BIND (app_radio);
  BIND (basic_radio);
  BIND (oauth_box);
  BIND (tenant_entry);
  BIND (tenant_hint);
  BIND (client_id_entry);
  BIND (client_id_hint);
  BIND (app_help_label);
  BIND (app_box);
  BIND (certificate_radio);
  BIND (certificate_chooser);
  BIND (basic_box);
  BIND (password_entry);
  BIND (plan_hint);
  BIND (powershell_view);
#undef BIND
  gtk_widget_class_bind_template_callback (widget_class, on_field_changed_cb);
  gtk_widget_class_bind_template_callback (widget_class, on_kind_toggled_cb);
  gtk_widget_class_bind_template_callback (widget_class, on_copy_clicked_cb);
}

static void
mb_page_submission_init (MbPageSubmission *self)
{
  self->cancellable = g_cancellable_new ();
  gtk_widget_init_template (GTK_WIDGET (self));
  mb_wizard_page_set_title (MB_WIZARD_PAGE (self),
                            _ ("SMTP AUTH with a Mailbox"));
}

GtkWidget *
mb_page_submission_new (void)
{
  return g_object_new (MB_TYPE_PAGE_SUBMISSION, NULL);
}
