/* mb-signin-dialog.c - signing a route in from the application
 *
 * One pass: read the configuration (loading) → MbSigninFlow (device code,
 * browser, or client secret) → ReloadCredentials (finishing) → result.
 * Opened to renew a client secret, the pass starts at the secret page
 * instead of trying the stored secret.  The secret page's "Expires on" is
 * checked as it is typed; its hint turns into the problem once typing
 * pauses.
 * "Try Again" starts the pass anew, configuration included, so a fix
 * made in the meantime counts.  The dialog owns one GCancellable for its
 * life; closing it cancels whatever runs, and every callback holds a
 * reference and checks that cancellable before it touches a widget.
 */
#define G_LOG_DOMAIN "mb-signin-dialog"

#include "mb-signin-dialog.h"

#include <glib/gi18n.h>

#include "mb-format.h"
#include "mb-oauth.h"
#include "mb-relay-config.h"
#include "mb-secret-expiry.h"
#include "mb-signin-flow.h"
#include "mb-signin-outcome.h"

/* How long typing pauses before "Expires on" says what is wrong. */
#define VALIDATE_DELAY_MS 600

struct _MbSigninDialog
{
  GtkDialog parent_instance;

  MbRelayClient *client;           /* (owned) */
  char          *route;            /* (owned) */
  char          *config_path;      /* (owned) (nullable) the caller's */
  MbRelayConfig *config;           /* (owned) (nullable) once read */
  MbSigninFlow  *flow;             /* (owned) (nullable) the current pass */
  GCancellable  *cancellable;      /* (owned) cancelled on close */
  char          *verification_uri; /* (owned) (nullable) */
  char          *browser_uri;      /* (owned) (nullable) */
  gint64         code_expires_at;  /* monotonic µs */
  guint          countdown_id;
  guint          validate_id; /* the pending "Expires on" check */
  gboolean       renew;       /* opened for a new client secret */
  gboolean       started;
  gboolean       finished;      /* "finished" was emitted */
  GtkWidget     *action_button; /* (unowned) Sign In, Try Again */
  GtkWidget     *close_button;  /* (unowned) Cancel, Close */

  GtkStack  *stack;
  GtkLabel  *loading_label;
  GtkLabel  *device_intro;
  GtkLabel  *code_label;
  GtkWidget *open_page_button;
  GtkLabel  *page_label;
  GtkLabel  *expiry_label;
  GtkLabel  *device_problem;
  GtkWidget *open_browser_button;
  GtkLabel  *address_label;
  GtkLabel  *browser_problem;
  GtkLabel  *secret_intro;
  GtkLabel  *secret_problem;
  GtkEntry  *secret_entry;
  GtkEntry  *secret_expiry_entry;
  GtkLabel  *secret_expiry_hint;
  GtkImage  *result_icon;
  GtkLabel  *result_title;
  GtkLabel  *result_detail;
  GtkLabel  *message_title;
  GtkLabel  *message_label;
  GtkLabel  *advice_title;
  GtkLabel  *advice_label;
};

G_DEFINE_TYPE (MbSigninDialog, mb_signin_dialog, GTK_TYPE_DIALOG)

enum
{
  PROP_0,
  PROP_ROUTE,
  N_PROPS
};

static GParamSpec *props[N_PROPS];

enum
{
  SIGNAL_FINISHED,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

static void start_loading (MbSigninDialog *self);

/* Helpers */

/* Whether a callback may touch the dialog: closing cancels. */
static gboolean
is_closed (MbSigninDialog *self, const GError *error)
{
  return g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED)
         || g_cancellable_is_cancelled (self->cancellable);
}

static void
emit_finished (MbSigninDialog *self, gboolean ready)
{
  if (self->finished)
    return;
  self->finished = TRUE;
  g_signal_emit (self, signals[SIGNAL_FINISHED], 0, ready);
}

static void
stop_countdown (MbSigninDialog *self)
{
  g_clear_handle_id (&self->countdown_id, g_source_remove);
}

static void
clear_flow (MbSigninDialog *self)
{
  if (self->flow != NULL)
    g_signal_handlers_disconnect_by_data (self->flow, self);
  g_clear_object (&self->flow);
}

/* Shows a stack page and sets the header buttons: @action (nullable) is
 * the main action's label, @closing the other button's. */
static void
show_page (MbSigninDialog *self,
           const char     *page,
           const char     *action,
           const char     *closing)
{
  if (!g_str_equal (page, "device"))
    stop_countdown (self);
  gtk_stack_set_visible_child_name (self->stack, page);
  gtk_widget_set_visible (self->action_button, action != NULL);
  gtk_widget_set_sensitive (self->action_button, TRUE);
  if (action != NULL)
    gtk_button_set_label (GTK_BUTTON (self->action_button), action);
  gtk_button_set_label (GTK_BUTTON (self->close_button), closing);
}

static void
show_working (MbSigninDialog *self, const char *text)
{
  gtk_label_set_text (self->loading_label, text);
  show_page (self, "loading", NULL, _ ("_Cancel"));
}

static void
set_optional_label (GtkLabel *title, GtkLabel *label, const char *text)
{
  gboolean shown = text != NULL && *text != '\0';

  gtk_label_set_text (label, shown ? text : "");
  gtk_widget_set_visible (GTK_WIDGET (title), shown);
  gtk_widget_set_visible (GTK_WIDGET (label), shown);
}

/* The outcome page (mb-signin-outcome.h has the words). */
static void
show_outcome (MbSigninDialog *self, const MbSigninOutcome *outcome)
{
  clear_flow (self);
  gtk_image_set_from_icon_name (self->result_icon,
                                outcome->ready ? "emblem-ok-symbolic"
                                               : "dialog-error-symbolic",
                                GTK_ICON_SIZE_DIALOG);
  gtk_label_set_text (self->result_title, outcome->title);
  gtk_label_set_text (self->result_detail,
                      outcome->detail != NULL ? outcome->detail : "");
  gtk_widget_set_visible (GTK_WIDGET (self->result_detail),
                          outcome->detail != NULL);
  set_optional_label (self->message_title, self->message_label,
                      outcome->message);
  set_optional_label (self->advice_title, self->advice_label, outcome->advice);

  if (outcome->ready)
    {
      show_page (self, "result", NULL, _ ("_Close"));
      gtk_window_set_default (GTK_WINDOW (self), self->close_button);
      gtk_widget_grab_focus (self->close_button);
      emit_finished (self, TRUE);
    }
  else
    {
      show_page (self, "result", _ ("_Try Again"), _ ("_Close"));
      gtk_window_set_default (GTK_WINDOW (self), self->action_button);
      gtk_widget_grab_focus (self->action_button);
    }
}

/* What "Expires on" holds: NULL with *@expires_at (0: empty), or what is
 * wrong with it. */
static const char *
check_expiry (MbSigninDialog *self, gint64 *expires_at)
{
  return mb_secret_expiry_check (gtk_entry_get_text (self->secret_expiry_entry),
                                 g_get_real_time () / G_USEC_PER_SEC,
                                 expires_at);
}

/* The hint beside "Expires on", or @problem (nullable) in its place. */
static void
show_expiry_hint (MbSigninDialog *self, const char *problem)
{
  GtkStyleContext *style
      = gtk_widget_get_style_context (GTK_WIDGET (self->secret_expiry_hint));

  gtk_label_set_text (
      self->secret_expiry_hint,
      problem != NULL ? problem
                      : _ ("Optional: the date shown in Microsoft Entra when "
                           "you created the secret. Mailbridge reminds you "
                           "14 days before."));
  if (problem != NULL)
    {
      gtk_style_context_remove_class (style, "dim-label");
      gtk_style_context_add_class (style, "error");
    }
  else
    {
      gtk_style_context_remove_class (style, "error");
      gtk_style_context_add_class (style, "dim-label");
    }
}

static void
update_secret_action (MbSigninDialog *self)
{
  gint64 expires_at;

  if (g_str_equal (gtk_stack_get_visible_child_name (self->stack), "secret"))
    gtk_widget_set_sensitive (self->action_button,
                              *gtk_entry_get_text (self->secret_entry) != '\0'
                                  && check_expiry (self, &expires_at) == NULL);
}

static void
show_secret_page (MbSigninDialog *self, const char *problem)
{
  g_autofree char *intro = NULL;

  if (self->renew)
    /* Translators: %s is the name of a route, e.g. "m365" */
    intro = g_strdup_printf (
        _ ("Route “%s” signs in as an app with a client secret. To replace "
           "it, add a new client secret to the app registration in the "
           "Microsoft Entra admin center (Certificates & secrets) and enter "
           "its value (not its ID) and the date it expires. Mailbridge "
           "stores them once Microsoft 365 accepts the secret; then delete "
           "the old secret in Entra."),
        self->route);
  else
    /* Translators: %s is the name of a route, e.g. "m365" */
    intro = g_strdup_printf (
        _ ("Route “%s” signs in as an app with a client secret. Enter the "
           "secret’s value (not its ID) from the app registration in the "
           "Microsoft Entra admin center. Mailbridge stores it once "
           "Microsoft 365 accepts it."),
        self->route);
  gtk_label_set_text (self->secret_intro, intro);
  gtk_label_set_text (self->secret_problem, problem != NULL ? problem : "");
  gtk_widget_set_visible (GTK_WIDGET (self->secret_problem), problem != NULL);
  show_page (self, "secret", _ ("_Sign In"), _ ("_Cancel"));
  update_secret_action (self);
  gtk_window_set_default (GTK_WINDOW (self), self->action_button);
  gtk_widget_grab_focus (GTK_WIDGET (self->secret_entry));
}

static void
show_flow_error (MbSigninDialog *self, const GError *error)
{
  g_autoptr (MbSigninOutcome) outcome
      = mb_signin_outcome_new_for_flow_error (error);

  show_outcome (self, outcome);
}

static void
copy_text (MbSigninDialog *self, const char *text)
{
  if (text != NULL)
    gtk_clipboard_set_text (
        gtk_widget_get_clipboard (GTK_WIDGET (self), GDK_SELECTION_CLIPBOARD),
        text, -1);
}

static void
open_uri (MbSigninDialog *self, const char *uri, GtkLabel *problem)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *text = NULL;

  if (uri == NULL)
    return;
  if (gtk_show_uri_on_window (GTK_WINDOW (self), uri, GDK_CURRENT_TIME, &error))
    {
      gtk_widget_hide (GTK_WIDGET (problem));
      return;
    }
  /* Translators: %s says why, e.g. "No application is registered..." */
  text = g_strdup_printf (_ ("No browser could be opened (%s). Copy the "
                             "address and open it in a browser yourself."),
                          error->message);
  gtk_label_set_text (problem, text);
  gtk_widget_show (GTK_WIDGET (problem));
}

static void
update_countdown (MbSigninDialog *self)
{
  gint64 left
      = (self->code_expires_at - g_get_monotonic_time () + G_USEC_PER_SEC - 1)
        / G_USEC_PER_SEC;
  g_autofree char *text = NULL;

  if (left <= 0)
    {
      gtk_label_set_text (self->expiry_label,
                          _ ("The code has expired. Close this window and "
                             "sign in again."));
      stop_countdown (self);
      return;
    }
  /* Translators: %d:%02d is the time left, minutes and seconds */
  text = g_strdup_printf (_ ("The code expires in %d:%02d."), (int)(left / 60),
                          (int)(left % 60));
  gtk_label_set_text (self->expiry_label, text);
}

/* The reply hint of the relay's route, in the admin's language. */
static char *
lookup_route_hint (MbSigninDialog *self)
{
  GPtrArray *routes = mb_relay_client_get_routes (self->client);

  for (guint i = 0; i < routes->len; i++)
    {
      const MbRouteStatus *status = g_ptr_array_index (routes, i);

      if (g_str_equal (status->name, self->route))
        return mb_format_hint (status->hint, status->hint_text);
    }
  return NULL;
}

/* Callbacks */

static gboolean
on_countdown_cb (gpointer user_data)
{
  MbSigninDialog *self = user_data;

  update_countdown (self);
  return self->countdown_id != 0 ? G_SOURCE_CONTINUE : G_SOURCE_REMOVE;
}

static void
on_flow_device_code_cb (MbSigninFlow *flow,
                        const char   *user_code,
                        const char   *verification_uri,
                        gint64        expires_in,
                        gpointer      user_data)
{
  MbSigninDialog  *self = user_data;
  g_autofree char *intro = NULL;

  g_free (self->verification_uri);
  self->verification_uri = g_strdup (verification_uri);
  /* Translators: %s is the name of a route, e.g. "m365" */
  intro = g_strdup_printf (
      _ ("To sign in route “%s”, open the sign-in page on this or any other "
         "device, enter this code, and sign in with the mailbox’s "
         "account:"),
      self->route);
  gtk_label_set_text (self->device_intro, intro);
  gtk_label_set_text (self->code_label, user_code);
  gtk_label_set_text (self->page_label, verification_uri);
  gtk_widget_hide (GTK_WIDGET (self->device_problem));

  show_page (self, "device", NULL, _ ("_Cancel"));
  self->code_expires_at
      = g_get_monotonic_time () + MAX (expires_in, 0) * G_USEC_PER_SEC;
  stop_countdown (self);
  self->countdown_id = g_timeout_add_seconds (1, on_countdown_cb, self);
  update_countdown (self);
  gtk_window_set_default (GTK_WINDOW (self), self->open_page_button);
  gtk_widget_grab_focus (self->open_page_button);
}

static void
on_flow_browser_uri_cb (MbSigninFlow *flow, const char *uri, gpointer user_data)
{
  MbSigninDialog *self = user_data;

  g_free (self->browser_uri);
  self->browser_uri = g_strdup (uri);
  gtk_label_set_text (self->address_label, uri);
  gtk_widget_set_tooltip_text (GTK_WIDGET (self->address_label), uri);
  gtk_widget_hide (GTK_WIDGET (self->browser_problem));
  show_page (self, "browser", NULL, _ ("_Cancel"));
  gtk_window_set_default (GTK_WINDOW (self), self->open_browser_button);
  gtk_widget_grab_focus (self->open_browser_button);
}

static void
on_copy_code_clicked_cb (MbSigninDialog *self)
{
  copy_text (self, gtk_label_get_text (self->code_label));
}

static void
on_open_page_clicked_cb (MbSigninDialog *self)
{
  open_uri (self, self->verification_uri, self->device_problem);
}

static void
on_open_browser_clicked_cb (MbSigninDialog *self)
{
  open_uri (self, self->browser_uri, self->browser_problem);
}

static void
on_copy_address_clicked_cb (MbSigninDialog *self)
{
  copy_text (self, self->browser_uri);
}

static void
on_secret_entry_changed_cb (MbSigninDialog *self)
{
  update_secret_action (self);
}

static gboolean
on_validate_expiry_cb (gpointer user_data)
{
  MbSigninDialog *self = user_data;
  gint64          expires_at;

  self->validate_id = 0;
  show_expiry_hint (self, check_expiry (self, &expires_at));
  return G_SOURCE_REMOVE;
}

static void
on_secret_expiry_changed_cb (MbSigninDialog *self)
{
  gint64 expires_at;

  update_secret_action (self);
  /* A good date is said at once; a problem waits until typing pauses,
   * so a date half typed is not called wrong. */
  g_clear_handle_id (&self->validate_id, g_source_remove);
  if (check_expiry (self, &expires_at) == NULL)
    show_expiry_hint (self, NULL);
  else
    self->validate_id
        = g_timeout_add (VALIDATE_DELAY_MS, on_validate_expiry_cb, self);
}

static void
credentials_reloaded_cb (GObject      *source,
                         GAsyncResult *result,
                         gpointer      user_data)
{
  g_autoptr (MbSigninDialog) self = user_data;
  g_autoptr (GError) error = NULL;
  g_autoptr (MbSigninOutcome) outcome = NULL;
  g_autofree char *state = NULL;
  g_autofree char *reason = NULL;
  g_autofree char *hint = NULL;

  if (!mb_relay_client_reload_credentials_finish (
          MB_RELAY_CLIENT (source), result, &state, &reason, &error))
    {
      if (is_closed (self, error))
        return;
      outcome = mb_signin_outcome_new_for_reload_error (error);
      show_outcome (self, outcome);
      return;
    }
  if (is_closed (self, NULL))
    return;

  hint = lookup_route_hint (self);
  outcome = mb_signin_outcome_new_for_route_state (self->route, state, reason,
                                                   hint);
  show_outcome (self, outcome);
}

static void
flow_run_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (MbSigninDialog) self = user_data;
  MbSigninFlow *flow = MB_SIGNIN_FLOW (source);
  g_autoptr (GError) error = NULL;

  if (!mb_signin_flow_run_finish (flow, result, &error))
    {
      if (is_closed (self, error))
        return;
      if (g_error_matches (error, MB_SIGNIN_FLOW_ERROR,
                           MB_SIGNIN_FLOW_ERROR_NEEDS_SECRET))
        show_secret_page (self, NULL);
      else if (g_error_matches (error, MB_OAUTH_ERROR,
                                MB_OAUTH_ERROR_INVALID_CLIENT)
               && mb_signin_flow_get_auth (flow) == MB_ROUTE_AUTH_OAUTH_APP
               && mb_signin_flow_uses_client_secret (flow))
        show_secret_page (self, error->message);
      else
        show_flow_error (self, error);
      clear_flow (self);
      return;
    }
  if (is_closed (self, NULL))
    return;

  clear_flow (self);
  show_page (self, "finishing", NULL, _ ("_Cancel"));
  mb_relay_client_reload_credentials_async (
      self->client, self->route, self->cancellable, credentials_reloaded_cb,
      g_object_ref (self));
}

/* Runs one pass of the flow; @secret (nullable) is a client secret the
 * admin just entered, which expires at @expires_at (0: unknown). */
static void
start_flow (MbSigninDialog *self, const char *secret, gint64 expires_at)
{
  g_autoptr (GError) error = NULL;

  clear_flow (self);
  self->flow = mb_signin_flow_new (self->config, self->route, &error);
  if (self->flow == NULL)
    {
      show_flow_error (self, error);
      return;
    }
  if (secret != NULL)
    {
      mb_signin_flow_set_client_secret (self->flow, secret);
      mb_signin_flow_set_client_secret_expiry (self->flow, expires_at);
    }
  /* The admin opens the browser with the button, not on their behalf. */
  mb_signin_flow_set_open_browser (self->flow, FALSE);
  g_signal_connect (self->flow, "device-code",
                    G_CALLBACK (on_flow_device_code_cb), self);
  g_signal_connect (self->flow, "browser-uri",
                    G_CALLBACK (on_flow_browser_uri_cb), self);

  switch (mb_signin_flow_get_auth (self->flow))
    {
    case MB_ROUTE_AUTH_OAUTH_DEVICE:
      show_working (self, _ ("Asking Microsoft 365 for a sign-in code…"));
      break;
    case MB_ROUTE_AUTH_OAUTH_BROWSER:
      show_working (self, _ ("Preparing the sign-in…"));
      break;
    case MB_ROUTE_AUTH_OAUTH_APP:
    case MB_ROUTE_AUTH_NONE:
    case MB_ROUTE_AUTH_BASIC:
    default:
      show_working (self,
                    _ ("Checking the app’s credentials with Microsoft 365…"));
      break;
    }
  mb_signin_flow_run_async (self->flow, self->cancellable, flow_run_cb,
                            g_object_ref (self));
}

/* Whether the configuration read signs the route in with a client
 * secret (auth=oauth-app without a certificate). */
static gboolean
route_uses_client_secret (MbSigninDialog *self)
{
  const MbRouteConfig *route
      = mb_relay_config_lookup_route (self->config, self->route);

  return route != NULL && route->auth == MB_ROUTE_AUTH_OAUTH_APP
         && route->client_certificate == NULL;
}

static void
config_loaded_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (MbSigninDialog) self = user_data;
  GFile *file = G_FILE (source);
  g_autoptr (GError) error = NULL;
  g_autoptr (MbSigninOutcome) outcome = NULL;
  g_autofree char *contents = NULL;
  g_autofree char *path = g_file_get_path (file);
  gsize            length = 0;

  if (!g_file_load_contents_finish (file, result, &contents, &length, NULL,
                                    &error))
    {
      if (is_closed (self, error))
        return;
      outcome = mb_signin_outcome_new_for_config_error (error);
      show_outcome (self, outcome);
      return;
    }
  if (is_closed (self, NULL))
    return;

  g_clear_pointer (&self->config, mb_relay_config_unref);
  self->config
      = mb_relay_config_load_data (contents, (gssize)length, path, &error);
  if (self->config == NULL)
    {
      outcome = mb_signin_outcome_new_for_config_error (error);
      show_outcome (self, outcome);
      return;
    }
  /* Renewing: the stored secret may still work, so trying it would only
   * say "ready".  A route that no longer uses a secret signs in as
   * usual. */
  if (self->renew && route_uses_client_secret (self))
    {
      show_secret_page (self, NULL);
      return;
    }
  start_flow (self, NULL, 0);
}

/* The file the relay reads: the caller's, the relay's ConfigPath, else
 * the user's file that the relay uses when started without --config. */
static char *
resolve_config_path (MbSigninDialog *self)
{
  if (self->config_path != NULL && *self->config_path != '\0')
    return g_strdup (self->config_path);
  return mb_relay_client_dup_config_file (self->client);
}

static void
start_loading (MbSigninDialog *self)
{
  g_autofree char *path = resolve_config_path (self);
  g_autoptr (GFile) file = g_file_new_for_path (path);

  show_working (self, _ ("Reading the relay’s configuration…"));
  g_file_load_contents_async (file, self->cancellable, config_loaded_cb,
                              g_object_ref (self));
}

static void
sign_in_with_secret (MbSigninDialog *self)
{
  const char *secret = gtk_entry_get_text (self->secret_entry);
  const char *problem;
  gint64      expires_at;

  if (*secret == '\0')
    return;
  problem = check_expiry (self, &expires_at);
  if (problem != NULL)
    {
      g_clear_handle_id (&self->validate_id, g_source_remove);
      show_expiry_hint (self, problem);
      gtk_widget_grab_focus (GTK_WIDGET (self->secret_expiry_entry));
      return;
    }
  /* The flow keeps its own copy; GtkEntryBuffer wipes the text it drops.
   * The date stays for another try. */
  start_flow (self, secret, expires_at);
  gtk_entry_set_text (self->secret_entry, "");
}

/* Overrides */

static void
mb_signin_dialog_response (GtkDialog *dialog, int response)
{
  MbSigninDialog *self = MB_SIGNIN_DIALOG (dialog);
  const char     *page = gtk_stack_get_visible_child_name (self->stack);

  if (response == GTK_RESPONSE_OK)
    {
      if (g_str_equal (page, "secret"))
        sign_in_with_secret (self);
      else if (g_str_equal (page, "result") && !self->finished)
        start_loading (self);
      return;
    }
  g_cancellable_cancel (self->cancellable);
  emit_finished (self, FALSE);
  gtk_widget_destroy (GTK_WIDGET (self));
}

static void
mb_signin_dialog_map (GtkWidget *widget)
{
  MbSigninDialog *self = MB_SIGNIN_DIALOG (widget);

  GTK_WIDGET_CLASS (mb_signin_dialog_parent_class)->map (widget);
  if (!self->started)
    {
      self->started = TRUE;
      start_loading (self);
    }
}

static void
mb_signin_dialog_get_property (GObject    *object,
                               guint       prop_id,
                               GValue     *value,
                               GParamSpec *pspec)
{
  MbSigninDialog *self = MB_SIGNIN_DIALOG (object);

  switch (prop_id)
    {
    case PROP_ROUTE:
      g_value_set_string (value, self->route);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
mb_signin_dialog_dispose (GObject *object)
{
  MbSigninDialog *self = MB_SIGNIN_DIALOG (object);

  g_cancellable_cancel (self->cancellable);
  stop_countdown (self);
  g_clear_handle_id (&self->validate_id, g_source_remove);
  /* Destroyed without a response (with its parent): still say so. */
  emit_finished (self, FALSE);
  clear_flow (self);
  g_clear_object (&self->client);
  g_clear_pointer (&self->config, mb_relay_config_unref);
  G_OBJECT_CLASS (mb_signin_dialog_parent_class)->dispose (object);
}

static void
mb_signin_dialog_finalize (GObject *object)
{
  MbSigninDialog *self = MB_SIGNIN_DIALOG (object);

  g_clear_object (&self->cancellable);
  g_free (self->route);
  g_free (self->config_path);
  g_free (self->verification_uri);
  g_free (self->browser_uri);
  G_OBJECT_CLASS (mb_signin_dialog_parent_class)->finalize (object);
}

static void
mb_signin_dialog_class_init (MbSigninDialogClass *klass)
{
  GObjectClass   *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->get_property = mb_signin_dialog_get_property;
  object_class->dispose = mb_signin_dialog_dispose;
  object_class->finalize = mb_signin_dialog_finalize;
  widget_class->map = mb_signin_dialog_map;
  GTK_DIALOG_CLASS (klass)->response = mb_signin_dialog_response;

  /* The route it signs in (read-only: set by mb_signin_dialog_new()). */
  props[PROP_ROUTE] = g_param_spec_string (
      "route", NULL, NULL, NULL, G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, props);

  signals[SIGNAL_FINISHED]
      = g_signal_new ("finished", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                      0, NULL, NULL, NULL, G_TYPE_NONE, 1, G_TYPE_BOOLEAN);

  gtk_widget_class_set_template_from_resource (
      widget_class, "/org/mailbridge/Mailbridge/ui/mb-signin-dialog.ui");
  gtk_widget_class_bind_template_child (widget_class, MbSigninDialog, stack);
  gtk_widget_class_bind_template_child (widget_class, MbSigninDialog,
                                        loading_label);
  gtk_widget_class_bind_template_child (widget_class, MbSigninDialog,
                                        device_intro);
  gtk_widget_class_bind_template_child (widget_class, MbSigninDialog,
                                        code_label);
  gtk_widget_class_bind_template_child (widget_class, MbSigninDialog,
                                        open_page_button);
  gtk_widget_class_bind_template_child (widget_class, MbSigninDialog,
                                        page_label);
  gtk_widget_class_bind_template_child (widget_class, MbSigninDialog,
                                        expiry_label);
  gtk_widget_class_bind_template_child (widget_class, MbSigninDialog,
                                        device_problem);
  gtk_widget_class_bind_template_child (widget_class, MbSigninDialog,
                                        open_browser_button);
  gtk_widget_class_bind_template_child (widget_class, MbSigninDialog,
                                        address_label);
  gtk_widget_class_bind_template_child (widget_class, MbSigninDialog,
                                        browser_problem);
  gtk_widget_class_bind_template_child (widget_class, MbSigninDialog,
                                        secret_intro);
  gtk_widget_class_bind_template_child (widget_class, MbSigninDialog,
                                        secret_problem);
  gtk_widget_class_bind_template_child (widget_class, MbSigninDialog,
                                        secret_entry);
  gtk_widget_class_bind_template_child (widget_class, MbSigninDialog,
                                        secret_expiry_entry);
  gtk_widget_class_bind_template_child (widget_class, MbSigninDialog,
                                        secret_expiry_hint);
  gtk_widget_class_bind_template_child (widget_class, MbSigninDialog,
                                        result_icon);
  gtk_widget_class_bind_template_child (widget_class, MbSigninDialog,
                                        result_title);
  gtk_widget_class_bind_template_child (widget_class, MbSigninDialog,
                                        result_detail);
  gtk_widget_class_bind_template_child (widget_class, MbSigninDialog,
                                        message_title);
  gtk_widget_class_bind_template_child (widget_class, MbSigninDialog,
                                        message_label);
  gtk_widget_class_bind_template_child (widget_class, MbSigninDialog,
                                        advice_title);
  gtk_widget_class_bind_template_child (widget_class, MbSigninDialog,
                                        advice_label);
  gtk_widget_class_bind_template_callback (widget_class,
                                           on_copy_code_clicked_cb);
  gtk_widget_class_bind_template_callback (widget_class,
                                           on_open_page_clicked_cb);
  gtk_widget_class_bind_template_callback (widget_class,
                                           on_open_browser_clicked_cb);
  gtk_widget_class_bind_template_callback (widget_class,
                                           on_copy_address_clicked_cb);
  gtk_widget_class_bind_template_callback (widget_class,
                                           on_secret_entry_changed_cb);
  gtk_widget_class_bind_template_callback (widget_class,
                                           on_secret_expiry_changed_cb);
}

static void
mb_signin_dialog_init (MbSigninDialog *self)
{
  self->cancellable = g_cancellable_new ();
  gtk_widget_init_template (GTK_WIDGET (self));
  self->close_button = gtk_dialog_add_button (GTK_DIALOG (self), _ ("_Cancel"),
                                              GTK_RESPONSE_CANCEL);
  self->action_button = gtk_dialog_add_button (GTK_DIALOG (self),
                                               _ ("_Sign In"), GTK_RESPONSE_OK);
  gtk_style_context_add_class (
      gtk_widget_get_style_context (self->action_button), "suggested-action");
  gtk_widget_hide (self->action_button);
  gtk_dialog_set_default_response (GTK_DIALOG (self), GTK_RESPONSE_OK);
  show_expiry_hint (self, NULL);
}

/* Public API */

MbSigninDialog *
mb_signin_dialog_new (GtkWindow     *parent,
                      MbRelayClient *client,
                      const char    *route,
                      const char    *config_path)
{
  MbSigninDialog *self;

  g_return_val_if_fail (MB_IS_RELAY_CLIENT (client), NULL);
  g_return_val_if_fail (route != NULL, NULL);

  self = g_object_new (MB_TYPE_SIGNIN_DIALOG, "use-header-bar", TRUE,
                       "transient-for", parent, NULL);
  self->client = g_object_ref (client);
  self->route = g_strdup (route);
  self->config_path = g_strdup (config_path);
  gtk_header_bar_set_subtitle (
      GTK_HEADER_BAR (gtk_dialog_get_header_bar (GTK_DIALOG (self))), route);
  return self;
}

MbSigninDialog *
mb_signin_dialog_new_for_new_secret (GtkWindow     *parent,
                                     MbRelayClient *client,
                                     const char    *route,
                                     const char    *config_path)
{
  MbSigninDialog *self
      = mb_signin_dialog_new (parent, client, route, config_path);

  if (self != NULL)
    self->renew = TRUE;
  return self;
}
