/* mb-queue-row.c - one queued message in the queue view */
#define G_LOG_DOMAIN "mb-queue-row"

#include "mb-queue-row.h"

#include <glib/gi18n.h>

#include "mb-format.h"

/* Recipients named in the row; the rest are counted ("and 12 more"). */
#define SHOWN_RECIPIENTS 3

struct _MbQueueRow
{
  GtkListBoxRow parent_instance;

  MbQueueItem *item; /* (owned) */

  GtkLabel  *sender_label;
  GtkLabel  *recipients_label;
  GtkLabel  *timing_label;
  GtkLabel  *reply_label;
  GtkLabel  *hint_label;
  GtkButton *retry_button;
  GtkButton *delete_button;
};

G_DEFINE_TYPE (MbQueueRow, mb_queue_row, GTK_TYPE_LIST_BOX_ROW)

const char *
mb_queue_row_format_state (const char *state)
{
  if (g_strcmp0 (state, "queued") == 0)
    /* Translators: a recipient's state: not tried yet */
    return C_ ("recipient state", "waiting");
  if (g_strcmp0 (state, "deferred") == 0)
    /* Translators: a recipient's state: a temporary failure, retried later */
    return C_ ("recipient state", "deferred");
  if (g_strcmp0 (state, "delivered") == 0)
    return C_ ("recipient state", "delivered");
  if (g_strcmp0 (state, "failed") == 0)
    return C_ ("recipient state", "failed");
  return state;
}

static char *
format_recipients (GVariant *recipients)
{
  g_autoptr (GString) text = g_string_new (NULL);
  gsize n = g_variant_n_children (recipients);

  for (gsize i = 0; i < n && i < SHOWN_RECIPIENTS; i++)
    {
      g_autoptr (GVariant) recipient
          = g_variant_get_child_value (recipients, i);
      const char *address = "";
      const char *state = "";

      g_variant_lookup (recipient, "address", "&s", &address);
      g_variant_lookup (recipient, "state", "&s", &state);
      if (i > 0)
        /* Translators: the separator between recipients */
        g_string_append (text, _ (", "));
      /* Translators: a recipient and its state: "bob@example.com (deferred)" */
      g_string_append_printf (text, _ ("%s (%s)"), address,
                              mb_queue_row_format_state (state));
    }
  if (n > SHOWN_RECIPIENTS)
    {
      guint more = (guint)(n - SHOWN_RECIPIENTS);

      g_string_append_c (text, ' ');
      g_string_append_printf (
          text, ngettext ("and %u more", "and %u more", more), more);
    }
  return g_string_free (g_steal_pointer (&text), FALSE);
}

static char *
dup_first_recipient (GVariant *recipients)
{
  char *address = NULL;

  if (g_variant_n_children (recipients) > 0)
    {
      g_autoptr (GVariant) first = g_variant_get_child_value (recipients, 0);

      g_variant_lookup (first, "address", "s", &address);
    }
  return address != NULL ? address : g_strdup ("");
}

static void
update_texts (MbQueueRow *self)
{
  MbQueueItem     *item = self->item;
  const char      *sender = mb_queue_item_get_sender (item);
  const char      *reply = mb_queue_item_get_last_reply (item);
  GVariant        *recipients = mb_queue_item_get_recipients (item);
  g_autofree char *recipients_text = format_recipients (recipients);
  g_autofree char *hint = NULL;
  g_autofree char *accessible = NULL;
  g_autofree char *first = dup_first_recipient (recipients);
  AtkObject       *atk;

  if (*sender == '\0')
    /* Translators: the sender of a bounce, which has none */
    sender = _ ("(no sender)");
  gtk_label_set_text (self->sender_label, sender);
  gtk_label_set_text (self->recipients_label, recipients_text);
  gtk_label_set_text (self->reply_label, reply);
  gtk_widget_set_visible (GTK_WIDGET (self->reply_label), *reply != '\0');

  hint = mb_format_hint (mb_queue_item_get_hint (item),
                         mb_queue_item_get_hint_text (item));
  gtk_label_set_text (self->hint_label, hint != NULL ? hint : "");
  gtk_widget_set_visible (GTK_WIDGET (self->hint_label), hint != NULL);

  /* Translators: the accessible name of a queued message's row */
  accessible = g_strdup_printf (_ ("Message from %s to %s"), sender, first);
  atk = gtk_widget_get_accessible (GTK_WIDGET (self));
  atk_object_set_name (atk, accessible);
  atk_object_set_description (atk, recipients_text);

  mb_queue_row_update_time (self, g_get_real_time () / G_USEC_PER_SEC);
}

static void
on_item_notify_cb (GObject *object, GParamSpec *pspec, gpointer user_data)
{
  update_texts (MB_QUEUE_ROW (user_data));
}

void
mb_queue_row_update_time (MbQueueRow *self, gint64 now)
{
  MbQueueItem     *item;
  gint64           received, next;
  guint            attempts;
  g_autofree char *age = NULL;
  g_autoptr (GString) text = g_string_new (NULL);

  g_return_if_fail (MB_IS_QUEUE_ROW (self));

  item = self->item;
  received = mb_queue_item_get_received (item);
  next = mb_queue_item_get_next_attempt (item);
  attempts = mb_queue_item_get_attempts (item);

  age = mb_format_age (MAX (now - received, 0));
  /* Translators: "%s" is an age such as "5 minutes" */
  g_string_append_printf (text, _ ("Received %s ago"), age);
  g_string_append (text, " · ");
  if (attempts == 0)
    g_string_append (text, _ ("not tried yet"));
  else
    g_string_append_printf (
        text, ngettext ("%u attempt", "%u attempts", attempts), attempts);
  if (next > now)
    {
      g_autofree char *in = mb_format_age (next - now);

      g_string_append (text, " · ");
      /* Translators: "%s" is a duration such as "5 minutes" */
      g_string_append_printf (text, _ ("next attempt in %s"), in);
    }
  else if (next > 0)
    {
      g_string_append (text, " · ");
      g_string_append (text, _ ("next attempt now"));
    }
  gtk_label_set_text (self->timing_label, text->str);
}

static void
mb_queue_row_dispose (GObject *object)
{
  MbQueueRow *self = MB_QUEUE_ROW (object);

  if (self->item != NULL)
    g_signal_handlers_disconnect_by_data (self->item, self);
  g_clear_object (&self->item);
  G_OBJECT_CLASS (mb_queue_row_parent_class)->dispose (object);
}

static void
mb_queue_row_class_init (MbQueueRowClass *klass)
{
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  G_OBJECT_CLASS (klass)->dispose = mb_queue_row_dispose;

  gtk_widget_class_set_template_from_resource (
      widget_class, "/org/mailbridge/Mailbridge/ui/mb-queue-row.ui");
  gtk_widget_class_bind_template_child (widget_class, MbQueueRow, sender_label);
  gtk_widget_class_bind_template_child (widget_class, MbQueueRow,
                                        recipients_label);
  gtk_widget_class_bind_template_child (widget_class, MbQueueRow, timing_label);
  gtk_widget_class_bind_template_child (widget_class, MbQueueRow, reply_label);
  gtk_widget_class_bind_template_child (widget_class, MbQueueRow, hint_label);
  gtk_widget_class_bind_template_child (widget_class, MbQueueRow, retry_button);
  gtk_widget_class_bind_template_child (widget_class, MbQueueRow,
                                        delete_button);
}

static void
mb_queue_row_init (MbQueueRow *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
}

GtkWidget *
mb_queue_row_new (MbQueueItem *item)
{
  MbQueueRow *self;
  GVariant   *target;

  g_return_val_if_fail (MB_IS_QUEUE_ITEM (item), NULL);

  self = g_object_new (MB_TYPE_QUEUE_ROW, NULL);
  self->item = g_object_ref (item);
  target = g_variant_new_string (mb_queue_item_get_id (item));
  gtk_actionable_set_action_target_value (GTK_ACTIONABLE (self->retry_button),
                                          target);
  gtk_actionable_set_action_target_value (GTK_ACTIONABLE (self->delete_button),
                                          target);
  g_signal_connect_object (item, "notify", G_CALLBACK (on_item_notify_cb), self,
                           0);
  update_texts (self);
  return GTK_WIDGET (self);
}

MbQueueItem *
mb_queue_row_get_item (MbQueueRow *self)
{
  g_return_val_if_fail (MB_IS_QUEUE_ROW (self), NULL);
  return self->item;
}
