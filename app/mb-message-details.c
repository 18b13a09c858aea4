/* mb-message-details.c - envelope, headers and history of one message */
#define G_LOG_DOMAIN "mb-message-details"

#include "mb-message-details.h"

#include <glib/gi18n.h>

#include "mb-format.h"
#include "mb-log-item.h"
#include "mb-log-row.h"
#include "mb-queue-row.h"

struct _MbMessageDetails
{
  GtkWindow parent_instance;

  MbRelayClient *client;      /* (owned) */
  GCancellable  *cancellable; /* (owned) */
  char          *queue_id;    /* (owned) */
  GListStore    *history;     /* (owned) of MbLogItem */
  guint          grid_rows;

  GtkHeaderBar *header_bar;
  GtkLabel     *status_label;
  GtkGrid      *envelope_grid;
  GtkListBox   *recipients_list;
  GtkTextView  *headers_view;
  GtkListBox   *history_list;
};

G_DEFINE_TYPE (MbMessageDetails, mb_message_details, GTK_TYPE_WINDOW)

static char *
format_time (gint64 seconds)
{
  if (seconds <= 0)
    return g_strdup ("—");
  return mb_log_row_format_time (seconds * G_USEC_PER_SEC);
}

static void
add_field (MbMessageDetails *self, const char *name, const char *value)
{
  GtkWidget *name_label = gtk_label_new (name);
  GtkWidget *value_label
      = gtk_label_new (value != NULL && *value != '\0' ? value : "—");

  gtk_label_set_xalign (GTK_LABEL (name_label), 1);
  gtk_label_set_yalign (GTK_LABEL (name_label), 0);
  gtk_style_context_add_class (gtk_widget_get_style_context (name_label),
                               "dim-label");
  gtk_label_set_xalign (GTK_LABEL (value_label), 0);
  gtk_label_set_selectable (GTK_LABEL (value_label), TRUE);
  gtk_label_set_line_wrap (GTK_LABEL (value_label), TRUE);
  gtk_label_set_line_wrap_mode (GTK_LABEL (value_label), PANGO_WRAP_WORD_CHAR);
  gtk_widget_set_can_focus (value_label, FALSE);
  gtk_widget_set_hexpand (value_label, TRUE);
  gtk_label_set_mnemonic_widget (GTK_LABEL (name_label), value_label);
  atk_object_set_name (gtk_widget_get_accessible (value_label), name);
  gtk_grid_attach (self->envelope_grid, name_label, 0, (int)self->grid_rows, 1,
                   1);
  gtk_grid_attach (self->envelope_grid, value_label, 1, (int)self->grid_rows, 1,
                   1);
  gtk_widget_show (name_label);
  gtk_widget_show (value_label);
  self->grid_rows++;
}

static const char *
lookup_string (GVariant *dict, const char *key)
{
  const char *value = "";

  g_variant_lookup (dict, key, "&s", &value);
  return value;
}

static GtkWidget *
create_recipient_row (GVariant *recipient)
{
  GtkWidget       *box = gtk_box_new (GTK_ORIENTATION_VERTICAL, 2);
  GtkWidget       *title;
  GtkWidget       *detail;
  const char      *address = lookup_string (recipient, "address");
  const char      *reply = lookup_string (recipient, "last_reply");
  guint            attempts = 0;
  gint64           next = 0;
  g_autofree char *title_text = NULL;
  g_autofree char *next_text = NULL;
  g_autofree char *detail_text = NULL;
  g_autofree char *hint = NULL;

  g_variant_lookup (recipient, "attempts", "u", &attempts);
  g_variant_lookup (recipient, "next_attempt", "x", &next);
  title_text = g_strdup_printf (
      _ ("%s (%s)"), address,
      mb_queue_row_format_state (lookup_string (recipient, "state")));
  next_text = format_time (next);
  /* Translators: "3 attempts · next attempt 2026-11-24 14:05:00" */
  detail_text
      = g_strdup_printf (ngettext ("%u attempt · next attempt %s",
                                   "%u attempts · next attempt %s", attempts),
                         attempts, next_text);

  title = gtk_label_new (title_text);
  gtk_label_set_xalign (GTK_LABEL (title), 0);
  gtk_label_set_selectable (GTK_LABEL (title), TRUE);
  gtk_widget_set_can_focus (title, FALSE);
  gtk_container_add (GTK_CONTAINER (box), title);
  detail = gtk_label_new (detail_text);
  gtk_label_set_xalign (GTK_LABEL (detail), 0);
  gtk_style_context_add_class (gtk_widget_get_style_context (detail),
                               "dim-label");
  gtk_container_add (GTK_CONTAINER (box), detail);
  if (*reply != '\0')
    {
      GtkWidget *label = gtk_label_new (reply);

      gtk_label_set_xalign (GTK_LABEL (label), 0);
      gtk_label_set_line_wrap (GTK_LABEL (label), TRUE);
      gtk_label_set_selectable (GTK_LABEL (label), TRUE);
      gtk_widget_set_can_focus (label, FALSE);
      gtk_style_context_add_class (gtk_widget_get_style_context (label),
                                   "monospace");
      gtk_container_add (GTK_CONTAINER (box), label);
    }
  hint = mb_format_hint (lookup_string (recipient, "hint"),
                         lookup_string (recipient, "hint_text"));
  if (hint != NULL)
    {
      GtkWidget *label = gtk_label_new (hint);

      gtk_label_set_xalign (GTK_LABEL (label), 0);
      gtk_label_set_line_wrap (GTK_LABEL (label), TRUE);
      gtk_container_add (GTK_CONTAINER (box), label);
    }
  g_object_set (box, "margin", 8, NULL);
  gtk_widget_show_all (box);
  atk_object_set_name (gtk_widget_get_accessible (box), title_text);
  return box;
}

static void
fill_envelope (MbMessageDetails *self, GVariant *envelope)
{
  g_autoptr (GVariant) recipients = NULL;
  g_autofree char *received = NULL;
  g_autofree char *size = NULL;
  g_autofree char *client = NULL;
  guint64          size_bytes = 0;
  gint64           received_s = 0;
  const char      *sender = lookup_string (envelope, "sender");

  g_variant_lookup (envelope, "size", "t", &size_bytes);
  g_variant_lookup (envelope, "received", "x", &received_s);
  received = format_time (received_s);
  size = g_format_size (size_bytes);
  client
      = g_strdup_printf ("%s (%s)", lookup_string (envelope, "client_address"),
                         lookup_string (envelope, "client_helo"));

  add_field (self, _ ("Queue ID"), self->queue_id);
  add_field (self, _ ("Sender"), *sender != '\0' ? sender : _ ("(no sender)"));
  add_field (self, _ ("Received"), received);
  add_field (self, _ ("Size"), size);
  add_field (self, _ ("From device"), client);
  add_field (self, _ ("Route"), lookup_string (envelope, "route"));
  add_field (self, _ ("Message-ID"), lookup_string (envelope, "message_id"));
  add_field (self, _ ("DSN envelope ID"), lookup_string (envelope, "envid"));

  recipients = g_variant_lookup_value (envelope, "recipients",
                                       G_VARIANT_TYPE ("aa{sv}"));
  if (recipients == NULL)
    return;
  for (gsize i = 0; i < g_variant_n_children (recipients); i++)
    {
      g_autoptr (GVariant) recipient
          = g_variant_get_child_value (recipients, i);

      gtk_container_add (GTK_CONTAINER (self->recipients_list),
                         create_recipient_row (recipient));
    }
}

static void
fill_headers (MbMessageDetails *self, GVariant *headers)
{
  g_autoptr (GString) text = g_string_new (NULL);
  GVariantIter iter;
  const char  *name, *value;

  g_variant_iter_init (&iter, headers);
  while (g_variant_iter_next (&iter, "(&s&s)", &name, &value))
    g_string_append_printf (text, "%s: %s\n", name, value);
  gtk_text_buffer_set_text (gtk_text_view_get_buffer (self->headers_view),
                            text->str, (int)text->len);
}

static void
message_shown_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GVariant) envelope = NULL;
  g_autoptr (GVariant) headers = NULL;
  MbMessageDetails *self;

  if (!mb_relay_client_show_message_finish (MB_RELAY_CLIENT (source), result,
                                            &envelope, &headers, &error)
      && g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;
  self = MB_MESSAGE_DETAILS (user_data);
  if (error != NULL)
    {
      if (g_error_matches (error, MB_RELAY_CLIENT_ERROR,
                           MB_RELAY_CLIENT_ERROR_NOT_FOUND))
        gtk_label_set_text (self->status_label,
                            _ ("This message is no longer in the queue: it "
                               "was delivered, bounced or deleted. Its "
                               "history is below."));
      else
        gtk_label_set_text (self->status_label, error->message);
      gtk_widget_show (GTK_WIDGET (self->status_label));
      add_field (self, _ ("Queue ID"), self->queue_id);
      return;
    }
  fill_envelope (self, envelope);
  fill_headers (self, headers);
}

static void
history_read_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GVariant) records = NULL;
  MbMessageDetails *self;
  GVariantIter      iter;
  GVariant         *record;

  records = mb_relay_client_read_log_finish (MB_RELAY_CLIENT (source), result,
                                             &error);
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;
  self = MB_MESSAGE_DETAILS (user_data);
  if (records == NULL)
    {
      g_debug ("reading the history of %s failed: %s", self->queue_id,
               error->message);
      return;
    }
  g_variant_iter_init (&iter, records);
  while ((record = g_variant_iter_next_value (&iter)) != NULL)
    {
      g_autoptr (MbLogItem) item = mb_log_item_new (record);

      g_list_store_append (self->history, item);
      g_variant_unref (record);
    }
}

static GtkWidget *
create_history_row_cb (gpointer item, gpointer user_data)
{
  return mb_log_row_new (MB_LOG_ITEM (item));
}

static void
mb_message_details_dispose (GObject *object)
{
  MbMessageDetails *self = MB_MESSAGE_DETAILS (object);

  g_cancellable_cancel (self->cancellable);
  g_clear_object (&self->client);
  G_OBJECT_CLASS (mb_message_details_parent_class)->dispose (object);
}

static void
mb_message_details_finalize (GObject *object)
{
  MbMessageDetails *self = MB_MESSAGE_DETAILS (object);

  g_clear_object (&self->cancellable);
  g_clear_object (&self->history);
  g_free (self->queue_id);
  G_OBJECT_CLASS (mb_message_details_parent_class)->finalize (object);
}

static void
mb_message_details_class_init (MbMessageDetailsClass *klass)
{
  GObjectClass   *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = mb_message_details_dispose;
  object_class->finalize = mb_message_details_finalize;

  gtk_widget_class_set_template_from_resource (
      widget_class, "/org/mailbridge/Mailbridge/ui/mb-message-details.ui");
  gtk_widget_class_bind_template_child (widget_class, MbMessageDetails,
                                        header_bar);
  gtk_widget_class_bind_template_child (widget_class, MbMessageDetails,
                                        status_label);
  gtk_widget_class_bind_template_child (widget_class, MbMessageDetails,
                                        envelope_grid);
  gtk_widget_class_bind_template_child (widget_class, MbMessageDetails,
                                        recipients_list);
  gtk_widget_class_bind_template_child (widget_class, MbMessageDetails,
                                        headers_view);
  gtk_widget_class_bind_template_child (widget_class, MbMessageDetails,
                                        history_list);
}

static void
mb_message_details_init (MbMessageDetails *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
  self->cancellable = g_cancellable_new ();
  self->history = g_list_store_new (MB_TYPE_LOG_ITEM);
  gtk_list_box_bind_model (self->history_list, G_LIST_MODEL (self->history),
                           create_history_row_cb, self, NULL);
}

GtkWidget *
mb_message_details_new (MbRelayClient *client, const char *queue_id)
{
  MbMessageDetails *self;
  g_autofree char  *subtitle = NULL;
  GVariantBuilder   filter;

  g_return_val_if_fail (MB_IS_RELAY_CLIENT (client), NULL);
  g_return_val_if_fail (queue_id != NULL, NULL);

  self = g_object_new (MB_TYPE_MESSAGE_DETAILS, NULL);
  self->client = g_object_ref (client);
  self->queue_id = g_strdup (queue_id);
  /* Translators: the subtitle of the message details window */
  subtitle = g_strdup_printf (_ ("Queue ID %s"), queue_id);
  gtk_header_bar_set_subtitle (self->header_bar, subtitle);

  mb_relay_client_show_message_async (client, queue_id, self->cancellable,
                                      message_shown_cb, self);
  g_variant_builder_init (&filter, G_VARIANT_TYPE_VARDICT);
  g_variant_builder_add (&filter, "{sv}", "queue_id",
                         g_variant_new_string (queue_id));
  mb_relay_client_read_log_async (client, g_variant_builder_end (&filter),
                                  self->cancellable, history_read_cb, self);
  return GTK_WIDGET (self);
}
