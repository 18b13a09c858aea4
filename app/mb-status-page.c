/* mb-status-page.c - the Status page
 *
 * Everything shown comes from MbRelayClient's properties; one update
 * function redraws the page from them (cheap: a dozen labels), so the page
 * cannot disagree with itself.  The oldest message's age follows the
 * clock with a timer that runs only while the page is mapped.
 */
#define G_LOG_DOMAIN "mb-status-page"

#include "mb-status-page.h"

#include <glib/gi18n.h>

#include "mb-attention.h"
#include "mb-format.h"

struct _MbStatusPage
{
  GtkScrolledWindow parent_instance;

  MbRelayClient *client; /* (owned) */
  guint          clock_id;
  guint          update_id;

  GtkInfoBar *attention_bar;
  GtkLabel   *attention_title;
  GtkLabel   *attention_detail;
  GtkButton  *attention_button;
  GtkImage   *state_icon;
  GtkLabel   *state_title;
  GtkLabel   *state_detail;
  GtkSpinner *spinner;
  GtkLabel   *listen_label;
  GtkLabel   *route_label;
  GtkLabel   *queue_label;
  GtkLabel   *oldest_label;
  GtkLabel   *delivered_label;
  GtkLabel   *failed_label;
  GtkButton  *pause_button;
};

enum
{
  PROP_0,
  PROP_CLIENT,
  N_PROPS
};

static GParamSpec *props[N_PROPS];

G_DEFINE_TYPE (MbStatusPage, mb_status_page, GTK_TYPE_SCROLLED_WINDOW)

/* Returns whether the banner is shown. */
static gboolean
update_attention (MbStatusPage *self)
{
  g_autoptr (MbAttention) attention
      = mb_attention_new_for_client (self->client);
  gboolean shown = attention->kind != MB_ATTENTION_NONE;

  if (!shown)
    {
      gtk_widget_hide (GTK_WIDGET (self->attention_bar));
      return FALSE;
    }
  gtk_info_bar_set_message_type (self->attention_bar,
                                 attention->kind == MB_ATTENTION_NO_RELAY
                                     ? GTK_MESSAGE_ERROR
                                     : GTK_MESSAGE_WARNING);
  gtk_label_set_text (self->attention_title, attention->title);
  gtk_label_set_text (self->attention_detail,
                      attention->detail ? attention->detail : "");
  gtk_widget_set_visible (GTK_WIDGET (self->attention_detail),
                          attention->detail != NULL);
  gtk_widget_set_visible (GTK_WIDGET (self->attention_button),
                          attention->action_name != NULL);
  if (attention->action_name != NULL)
    {
      GtkActionable *actionable = GTK_ACTIONABLE (self->attention_button);

      gtk_button_set_label (self->attention_button, attention->action_label);
      /* Name last, so the button never pairs an action with a target of
       * another type (GTK warns, and the old pair may be stale). */
      gtk_actionable_set_action_name (actionable, NULL);
      gtk_actionable_set_action_target_value (actionable,
                                              attention->action_target);
      gtk_actionable_set_action_name (actionable, attention->action_name);
    }
  /* Shown (not revealed) once its content is set: GTK 3's info bar
   * revealer keeps the size it had when revealed, and a banner revealed
   * before its first allocation was drawn cut off at the right. */
  gtk_widget_show (GTK_WIDGET (self->attention_bar));
  return TRUE;
}

static void
update_state (MbStatusPage *self, gboolean attention)
{
  MbRelayConnection  connection = mb_relay_client_get_connection (self->client);
  const char *const *listen
      = mb_relay_client_get_listen_addresses (self->client);
  g_autofree char *where = mb_format_list (listen);
  g_autofree char *detail = NULL;
  const char      *title;
  const char      *icon;

  switch (connection)
    {
    case MB_RELAY_CONNECTION_CONNECTING:
      title = _ ("Looking for the relay…");
      icon = "mailbridge-idle-symbolic";
      break;
    case MB_RELAY_CONNECTION_UNREACHABLE:
      title = _ ("The relay is not running");
      icon = "mailbridge-attention-symbolic";
      detail = g_strdup (_ ("Devices cannot send mail until it runs."));
      break;
    case MB_RELAY_CONNECTION_CONNECTED:
    default:
      switch (mb_relay_client_get_state (self->client))
        {
        case MB_RELAY_STATE_PAUSED:
          title = _ ("Delivery is paused");
          icon = "mailbridge-deferred-symbolic";
          detail = g_strdup (_ ("Devices can still send mail; it waits in "
                                "the queue until you resume delivery."));
          break;
        case MB_RELAY_STATE_NEEDS_ATTENTION:
          title = _ ("The relay needs your attention");
          icon = "mailbridge-attention-symbolic";
          break;
        case MB_RELAY_STATE_RUNNING:
        case MB_RELAY_STATE_UNKNOWN:
        default:
          title = _ ("The relay is running");
          icon = mb_relay_client_get_queue_length (self->client) > 0
                     ? "mailbridge-sending-symbolic"
                     : "mailbridge-idle-symbolic";
          break;
        }
      if (detail == NULL && listen[0] != NULL)
        /* Translators: %s is a list of addresses such as 127.0.0.1:2525 */
        detail = g_strdup_printf (_ ("Devices can send mail to %s."), where);
      break;
    }

  /* A route problem does not change the relay's State; the banner and
   * the icon agree on it. */
  if (connection == MB_RELAY_CONNECTION_CONNECTED && attention)
    icon = "mailbridge-attention-symbolic";

  gtk_label_set_text (self->state_title, title);
  gtk_label_set_text (self->state_detail, detail ? detail : "");
  gtk_widget_set_visible (GTK_WIDGET (self->state_detail), detail != NULL);
  gtk_image_set_from_icon_name (self->state_icon, icon, GTK_ICON_SIZE_DIALOG);
  gtk_widget_set_visible (GTK_WIDGET (self->spinner),
                          connection == MB_RELAY_CONNECTION_CONNECTING);
  if (connection == MB_RELAY_CONNECTION_CONNECTING)
    gtk_spinner_start (self->spinner);
  else
    gtk_spinner_stop (self->spinner);
  gtk_label_set_text (self->listen_label, listen[0] != NULL ? where : "—");
}

static void
update_route (MbStatusPage *self)
{
  const MbRouteStatus *route = mb_relay_client_get_default_route (self->client);
  g_autofree char     *text = NULL;

  if (route == NULL)
    {
      gtk_label_set_text (self->route_label, _ ("None configured"));
      return;
    }
  /* Translators: route name, its method, its state: "m365 (SMTP AUTH
   * submission): Ready" */
  text = g_strdup_printf (_ ("%s (%s): %s"), route->name,
                          mb_format_method (route->method),
                          mb_format_route_state (route->state));
  gtk_label_set_text (self->route_label, text);
}

static void
update_queue (MbStatusPage *self)
{
  guint            length = mb_relay_client_get_queue_length (self->client);
  guint            deferred = mb_relay_client_get_deferred_count (self->client);
  gint64           oldest = mb_relay_client_get_oldest_received (self->client);
  g_autofree char *queue = NULL;
  g_autofree char *age = NULL;
  g_autofree char *delivered = NULL;
  g_autofree char *failed = NULL;
  gboolean         connected = mb_relay_client_get_connection (self->client)
                       == MB_RELAY_CONNECTION_CONNECTED;

  if (!connected)
    queue = g_strdup ("—");
  else if (length == 0)
    queue = g_strdup (_ ("Empty"));
  else if (deferred > 0)
    /* Translators: "3 messages, 1 waiting for a retry"; the first %u is
     * the number of messages, the second of deferred ones */
    queue = g_strdup_printf (ngettext ("%u message, %u waiting for a retry",
                                       "%u messages, %u waiting for a retry",
                                       length),
                             length, deferred);
  else
    queue = g_strdup_printf (ngettext ("%u message", "%u messages", length),
                             length);
  gtk_label_set_text (self->queue_label, queue);

  if (connected && oldest > 0)
    {
      g_autofree char *duration = mb_format_age (
          MAX (0, g_get_real_time () / G_USEC_PER_SEC - oldest));

      /* Translators: %s is a duration such as "5 minutes" */
      age = g_strdup_printf (_ ("%s old"), duration);
    }
  gtk_label_set_text (self->oldest_label, age ? age : "—");

  delivered = connected ? g_strdup_printf (
                  "%u", mb_relay_client_get_delivered_today (self->client))
                        : g_strdup ("—");
  failed = connected ? g_strdup_printf (
               "%u", mb_relay_client_get_failed_today (self->client))
                     : g_strdup ("—");
  gtk_label_set_text (self->delivered_label, delivered);
  gtk_label_set_text (self->failed_label, failed);

  gtk_button_set_label (self->pause_button,
                        mb_relay_client_get_paused (self->client)
                            ? _ ("_Resume Delivery")
                            : _ ("_Pause Delivery"));
}

static void
update_all (MbStatusPage *self)
{
  update_state (self, update_attention (self));
  update_route (self);
  update_queue (self);
}

static gboolean
update_idle_cb (gpointer user_data)
{
  MbStatusPage *self = user_data;

  self->update_id = 0;
  update_all (self);
  return G_SOURCE_REMOVE;
}

static void
on_client_notify_cb (GObject *object, GParamSpec *pspec, gpointer user_data)
{
  MbStatusPage *self = user_data;

  /* Several properties change together; redraw once. */
  if (self->update_id == 0)
    self->update_id = g_idle_add (update_idle_cb, self);
}

static gboolean
on_clock_cb (gpointer user_data)
{
  update_queue (MB_STATUS_PAGE (user_data));
  return G_SOURCE_CONTINUE;
}

static void
mb_status_page_map (GtkWidget *widget)
{
  MbStatusPage *self = MB_STATUS_PAGE (widget);

  GTK_WIDGET_CLASS (mb_status_page_parent_class)->map (widget);
  update_all (self);
  if (self->clock_id == 0)
    self->clock_id = g_timeout_add_seconds (30, on_clock_cb, self);
}

static void
mb_status_page_unmap (GtkWidget *widget)
{
  MbStatusPage *self = MB_STATUS_PAGE (widget);

  g_clear_handle_id (&self->clock_id, g_source_remove);
  GTK_WIDGET_CLASS (mb_status_page_parent_class)->unmap (widget);
}

static void
mb_status_page_constructed (GObject *object)
{
  MbStatusPage *self = MB_STATUS_PAGE (object);

  G_OBJECT_CLASS (mb_status_page_parent_class)->constructed (object);
  g_signal_connect_object (self->client, "notify",
                           G_CALLBACK (on_client_notify_cb), self, 0);
  update_all (self);
}

static void
mb_status_page_set_property (GObject      *object,
                             guint         prop_id,
                             const GValue *value,
                             GParamSpec   *pspec)
{
  MbStatusPage *self = MB_STATUS_PAGE (object);

  switch (prop_id)
    {
    case PROP_CLIENT:
      self->client = g_value_dup_object (value);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
mb_status_page_get_property (GObject    *object,
                             guint       prop_id,
                             GValue     *value,
                             GParamSpec *pspec)
{
  MbStatusPage *self = MB_STATUS_PAGE (object);

  switch (prop_id)
    {
    case PROP_CLIENT:
      g_value_set_object (value, self->client);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
mb_status_page_dispose (GObject *object)
{
  MbStatusPage *self = MB_STATUS_PAGE (object);

  g_clear_handle_id (&self->clock_id, g_source_remove);
  g_clear_handle_id (&self->update_id, g_source_remove);
  g_clear_object (&self->client);
  G_OBJECT_CLASS (mb_status_page_parent_class)->dispose (object);
}

static void
mb_status_page_class_init (MbStatusPageClass *klass)
{
  GObjectClass   *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->constructed = mb_status_page_constructed;
  object_class->set_property = mb_status_page_set_property;
  object_class->get_property = mb_status_page_get_property;
  object_class->dispose = mb_status_page_dispose;
  widget_class->map = mb_status_page_map;
  widget_class->unmap = mb_status_page_unmap;

  props[PROP_CLIENT] = g_param_spec_object (
      "client", NULL, NULL, MB_TYPE_RELAY_CLIENT,
      G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, props);

  gtk_widget_class_set_template_from_resource (
      widget_class, "/org/mailbridge/Mailbridge/ui/mb-status-page.ui");
  gtk_widget_class_bind_template_child (widget_class, MbStatusPage,
                                        attention_bar);
  gtk_widget_class_bind_template_child (widget_class, MbStatusPage,
                                        attention_title);
  gtk_widget_class_bind_template_child (widget_class, MbStatusPage,
                                        attention_detail);
  gtk_widget_class_bind_template_child (widget_class, MbStatusPage,
                                        attention_button);
  gtk_widget_class_bind_template_child (widget_class, MbStatusPage, state_icon);
  gtk_widget_class_bind_template_child (widget_class, MbStatusPage,
                                        state_title);
  gtk_widget_class_bind_template_child (widget_class, MbStatusPage,
                                        state_detail);
  gtk_widget_class_bind_template_child (widget_class, MbStatusPage, spinner);
  gtk_widget_class_bind_template_child (widget_class, MbStatusPage,
                                        listen_label);
  gtk_widget_class_bind_template_child (widget_class, MbStatusPage,
                                        route_label);
  gtk_widget_class_bind_template_child (widget_class, MbStatusPage,
                                        queue_label);
  gtk_widget_class_bind_template_child (widget_class, MbStatusPage,
                                        oldest_label);
  gtk_widget_class_bind_template_child (widget_class, MbStatusPage,
                                        delivered_label);
  gtk_widget_class_bind_template_child (widget_class, MbStatusPage,
                                        failed_label);
  gtk_widget_class_bind_template_child (widget_class, MbStatusPage,
                                        pause_button);
}

static void
mb_status_page_init (MbStatusPage *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
}

GtkWidget *
mb_status_page_new (MbRelayClient *client)
{
  return g_object_new (MB_TYPE_STATUS_PAGE, "client", client, NULL);
}
