/* mb-notifier.c - notifications for what needs the admin
 *
 * Notification ids: "delivery-failed", "route-NAME", "relay-stopped",
 * "relay-attention"; sending one with the same id replaces it.
 */
#define G_LOG_DOMAIN "mb-notifier"

#include "mb-notifier.h"

#include "mb-attention.h"

#include <glib/gi18n.h>

#include "mb-format.h"

#define COLLAPSE_SECONDS 3

struct _MbNotifier
{
  GObject parent_instance;

  GApplication  *application; /* (unowned) it owns us */
  MbRelayClient *client;      /* (owned) */

  /* Failures collected for one notification. */
  guint failed_count;
  char *failed_recipient; /* (owned) (nullable) the first one */
  char *failed_hint;      /* (owned) (nullable) its explanation */
  guint failed_timeout_id;

  gboolean was_connected;
  GStrv    reasons; /* (owned) the attention reasons last seen */
};

G_DEFINE_TYPE (MbNotifier, mb_notifier, G_TYPE_OBJECT)

static void
send (MbNotifier *self, const char *id, GNotification *notification)
{
  g_application_send_notification (self->application, id, notification);
}

static gboolean
on_failed_timeout_cb (gpointer user_data)
{
  MbNotifier *self = user_data;
  g_autoptr (GNotification) notification = NULL;
  g_autofree char *body = NULL;

  self->failed_timeout_id = 0;
  if (self->failed_count == 1)
    /* Translators: %s is a recipient's address, then the explanation */
    body = g_strdup_printf (_ ("To %s: %s"), self->failed_recipient,
                            self->failed_hint ? self->failed_hint : "");
  else
    body = g_strdup_printf (
        ngettext ("%u message could not be delivered. Its sender gets a "
                  "failure report.",
                  "%u messages could not be delivered. Their senders get "
                  "a failure report.",
                  self->failed_count),
        self->failed_count);

  notification = g_notification_new (_ ("Mail could not be delivered"));
  g_notification_set_body (notification, body);
  g_notification_set_default_action_and_target (notification, "app.show-page",
                                                "s", "log");
  g_notification_add_button_with_target (notification, _ ("Open Log"),
                                         "app.show-page", "s", "log");
  send (self, "delivery-failed", notification);

  self->failed_count = 0;
  g_clear_pointer (&self->failed_recipient, g_free);
  g_clear_pointer (&self->failed_hint, g_free);
  return G_SOURCE_REMOVE;
}

static void
on_delivery_failed_cb (MbRelayClient *client,
                       const char    *queue_id,
                       const char    *recipient,
                       const char    *route,
                       const char    *status,
                       const char    *reply,
                       const char    *hint,
                       const char    *hint_text,
                       gpointer       user_data)
{
  MbNotifier *self = user_data;

  /* Deferred mail is retried: not the admin's business yet.  A bounce
   * follows a failure for the same recipient: count the failure only. */
  if (!g_str_equal (status, "failed") && !g_str_equal (status, "expired"))
    return;
  if (self->failed_count++ == 0)
    {
      self->failed_recipient = g_strdup (recipient);
      self->failed_hint = mb_format_hint (hint, hint_text);
      if (self->failed_hint == NULL && *reply != '\0')
        self->failed_hint = g_strdup (reply);
    }
  if (self->failed_timeout_id == 0)
    self->failed_timeout_id
        = g_timeout_add_seconds (COLLAPSE_SECONDS, on_failed_timeout_cb, self);
}

static void
on_route_state_changed_cb (MbRelayClient *client,
                           const char    *route,
                           const char    *state,
                           const char    *reason,
                           const char    *hint,
                           gpointer       user_data)
{
  MbNotifier      *self = user_data;
  MbRouteState     route_state = MB_ROUTE_STATE_READY;
  g_autofree char *id = g_strconcat ("route-", route, NULL);
  g_autofree char *title = NULL;
  g_autofree char *body = NULL;
  g_autoptr (GNotification) notification = NULL;
  GPtrArray *routes = mb_relay_client_get_routes (client);

  for (guint i = 0; i < routes->len; i++)
    {
      const MbRouteStatus *status = g_ptr_array_index (routes, i);

      if (g_str_equal (status->name, route))
        {
          route_state = status->state;
          body = mb_format_hint (status->hint, status->hint_text);
        }
    }
  if (body == NULL)
    body = mb_format_hint (hint, reason);

  switch (route_state)
    {
    case MB_ROUTE_STATE_NEEDS_SIGNIN:
      title = g_strdup_printf (_ ("Route “%s” needs you to sign in again"),
                               route);
      notification = g_notification_new (title);
      g_notification_add_button_with_target (notification, _ ("Sign In Again"),
                                             "app.sign-in", "s", route);
      break;
    case MB_ROUTE_STATE_PAUSED:
      title = g_strdup_printf (_ ("Delivery through “%s” is paused"), route);
      notification = g_notification_new (title);
      g_notification_add_button (notification, _ ("Retry Now"),
                                 "app.resume-route");
      break;
    case MB_ROUTE_STATE_READY:
    case MB_ROUTE_STATE_FAILING:
    default:
      /* Failing routes are retried and show in the window and the tray;
       * only a route that stopped needs a notification. */
      g_application_withdraw_notification (self->application, id);
      return;
    }
  if (body != NULL)
    g_notification_set_body (notification, body);
  g_notification_set_priority (notification, G_NOTIFICATION_PRIORITY_HIGH);
  g_notification_set_default_action (notification, "app.show-window");
  send (self, id, notification);
}

static void
on_connection_notify_cb (GObject *object, GParamSpec *pspec, gpointer user_data)
{
  MbNotifier       *self = user_data;
  MbRelayConnection connection = mb_relay_client_get_connection (self->client);
  g_autoptr (GNotification) notification = NULL;

  if (connection == MB_RELAY_CONNECTION_CONNECTED)
    {
      self->was_connected = TRUE;
      g_application_withdraw_notification (self->application, "relay-stopped");
      return;
    }
  /* At startup the window says it; afterwards the admin may not look. */
  if (connection != MB_RELAY_CONNECTION_UNREACHABLE || !self->was_connected)
    return;
  notification = g_notification_new (_ ("The relay is not running"));
  g_notification_set_body (notification,
                           mb_relay_client_get_connection_error (self->client));
  g_notification_set_priority (notification, G_NOTIFICATION_PRIORITY_HIGH);
  g_notification_set_default_action (notification, "app.show-window");
  g_notification_add_button (notification, _ ("Start Relay"),
                             "app.start-relay");
  send (self, "relay-stopped", notification);
}

/* A button label from a widget label: "_Enter New Secret…" without its
 * mnemonic ("__" stays one "_"). */
static char *
strip_mnemonic (const char *label)
{
  GString *text = g_string_new (NULL);

  for (const char *p = label; *p != '\0'; p++)
    {
      if (*p == '_' && p[1] != '\0')
        p++;
      g_string_append_c (text, *p);
    }
  return g_string_free (text, FALSE);
}

static void
on_reasons_notify_cb (GObject *object, GParamSpec *pspec, gpointer user_data)
{
  MbNotifier        *self = user_data;
  const char *const *reasons
      = mb_relay_client_get_attention_reasons (self->client);
  gboolean is_new = FALSE;
  g_autoptr (GNotification) notification = NULL;
  g_autoptr (MbAttention) attention = NULL;
  g_autofree char *body = NULL;

  for (gsize i = 0; reasons[i] != NULL; i++)
    if (self->reasons == NULL
        || !g_strv_contains ((const char *const *)self->reasons, reasons[i]))
      is_new = TRUE;
  g_strfreev (self->reasons);
  self->reasons = g_strdupv ((char **)reasons);

  if (reasons[0] == NULL)
    {
      g_application_withdraw_notification (self->application,
                                           "relay-attention");
      return;
    }
  if (!is_new)
    return;
  attention = mb_attention_new_for_client (self->client);
  if (attention->kind == MB_ATTENTION_SECRET)
    {
      /* The banner's words and action: the admin can act from here. */
      g_autofree char *label = strip_mnemonic (attention->action_label);

      notification = g_notification_new (attention->title);
      if (attention->detail != NULL)
        g_notification_set_body (notification, attention->detail);
      g_notification_add_button_with_target_value (notification, label,
                                                   attention->action_name,
                                                   attention->action_target);
    }
  else
    {
      /* The relay words these (disk full, spool errors); routes have
       * their own notifications, so this one only repeats what is new. */
      body = g_strjoinv ("\n", (char **)reasons);
      notification = g_notification_new (_ ("The relay needs your attention"));
      g_notification_set_body (notification, body);
    }
  g_notification_set_default_action (notification, "app.show-window");
  send (self, "relay-attention", notification);
}

static void
mb_notifier_dispose (GObject *object)
{
  MbNotifier *self = MB_NOTIFIER (object);

  g_clear_handle_id (&self->failed_timeout_id, g_source_remove);
  if (self->client != NULL)
    g_signal_handlers_disconnect_by_data (self->client, self);
  g_clear_object (&self->client);
  G_OBJECT_CLASS (mb_notifier_parent_class)->dispose (object);
}

static void
mb_notifier_finalize (GObject *object)
{
  MbNotifier *self = MB_NOTIFIER (object);

  g_free (self->failed_recipient);
  g_free (self->failed_hint);
  g_strfreev (self->reasons);
  G_OBJECT_CLASS (mb_notifier_parent_class)->finalize (object);
}

static void
mb_notifier_class_init (MbNotifierClass *klass)
{
  G_OBJECT_CLASS (klass)->dispose = mb_notifier_dispose;
  G_OBJECT_CLASS (klass)->finalize = mb_notifier_finalize;
}

static void
mb_notifier_init (MbNotifier *self)
{
}

MbNotifier *
mb_notifier_new (GApplication *application, MbRelayClient *client)
{
  MbNotifier *self = g_object_new (MB_TYPE_NOTIFIER, NULL);

  self->application = application;
  self->client = g_object_ref (client);
  g_signal_connect_object (client, "delivery-failed",
                           G_CALLBACK (on_delivery_failed_cb), self, 0);
  g_signal_connect_object (client, "route-state-changed",
                           G_CALLBACK (on_route_state_changed_cb), self, 0);
  g_signal_connect_object (client, "notify::connection",
                           G_CALLBACK (on_connection_notify_cb), self, 0);
  g_signal_connect_object (client, "notify::attention-reasons",
                           G_CALLBACK (on_reasons_notify_cb), self, 0);
  return self;
}
