/* mb-log-row.c - one delivery log record */
#define G_LOG_DOMAIN "mb-log-row"

#include "mb-log-row.h"

#include <glib/gi18n.h>

#include "mb-format.h"

struct _MbLogRow
{
  GtkListBoxRow parent_instance;

  MbLogItem *item; /* (owned) */

  GtkLabel *time_label;
  GtkLabel *status_label;
  GtkLabel *addresses_label;
  GtkLabel *meta_label;
  GtkLabel *reply_label;
  GtkLabel *hint_label;
};

G_DEFINE_TYPE (MbLogRow, mb_log_row, GTK_TYPE_LIST_BOX_ROW)

static const struct
{
  const char *word;
  const char *text;
} statuses[] = {
  { "delivered", NC_ ("log status", "Delivered") },
  /* Translators: a temporary failure; the relay tries again */
  { "deferred", NC_ ("log status", "Deferred") },
  { "failed", NC_ ("log status", "Failed") },
  /* Translators: returned to the sender with a delivery report */
  { "bounced", NC_ ("log status", "Bounced") },
  /* Translators: given up after the maximum time in the queue */
  { "expired", NC_ ("log status", "Expired") },
  /* Translators: deleted from the queue by the admin */
  { "deleted", NC_ ("log status", "Deleted") },
  /* Translators: a delivery status notification was sent */
  { "sent-dsn", NC_ ("log status", "Report sent") },
};

const char *
mb_log_row_format_status (const char *status)
{
  for (gsize i = 0; i < G_N_ELEMENTS (statuses); i++)
    if (g_strcmp0 (status, statuses[i].word) == 0)
      return g_dpgettext2 (NULL, "log status", statuses[i].text);
  return status;
}

static int
get_status_width_chars (void)
{
  /* One column for the status word in every row, wide enough for the
   * longest translation ("Bericht gesendet" in German) in bold: width-chars
   * counts average characters of the regular face, hence the slack. */
  static int width = 0;

  if (width == 0)
    {
      glong longest = 0;

      for (gsize i = 0; i < G_N_ELEMENTS (statuses); i++)
        longest = MAX (
            longest,
            g_utf8_strlen (mb_log_row_format_status (statuses[i].word), -1));
      width = MAX (15, (int)longest + 3);
    }
  return width;
}

char *
mb_log_row_format_time (gint64 time_us)
{
  g_autoptr (GDateTime) utc
      = g_date_time_new_from_unix_utc (time_us / G_USEC_PER_SEC);
  g_autoptr (GDateTime) local = NULL;

  if (utc == NULL)
    return g_strdup ("");
  local = g_date_time_to_local (utc);
  return g_date_time_format (local, "%Y-%m-%d %H:%M:%S");
}

static gboolean
is_failure (const char *status)
{
  return g_strcmp0 (status, "deferred") == 0
         || g_strcmp0 (status, "failed") == 0
         || g_strcmp0 (status, "bounced") == 0
         || g_strcmp0 (status, "expired") == 0;
}

static void
fill (MbLogRow *self)
{
  MbLogItem       *item = self->item;
  const char      *status = mb_log_item_get_string (item, "status");
  const char      *sender = mb_log_item_get_string (item, "sender");
  const char      *recipient = mb_log_item_get_string (item, "recipient");
  const char      *reply = mb_log_item_get_string (item, "reply");
  const char      *queue_id = mb_log_item_get_string (item, "queue_id");
  const char      *route = mb_log_item_get_string (item, "route");
  g_autofree char *time
      = mb_log_row_format_time (mb_log_item_get_time_us (item));
  g_autofree char *addresses = NULL;
  g_autofree char *meta = NULL;
  g_autofree char *hint = NULL;
  g_autofree char *accessible = NULL;
  GtkStyleContext *context;

  if (*sender == '\0')
    sender = _ ("(no sender)");
  gtk_label_set_text (self->time_label, time);
  gtk_label_set_text (self->status_label, mb_log_row_format_status (status));
  context = gtk_widget_get_style_context (GTK_WIDGET (self->status_label));
  gtk_style_context_add_class (context, is_failure (status) ? "error"
                                        : g_strcmp0 (status, "delivered") == 0
                                            ? "success"
                                            : "dim-label");

  /* Translators: "sender → recipient" in the delivery log */
  addresses = g_strdup_printf (_ ("%s → %s"), sender, recipient);
  gtk_label_set_text (self->addresses_label, addresses);

  /* Translators: "Queue ID 1A2B3C · route m365" */
  meta = g_strdup_printf (_ ("Queue ID %s · route %s"), queue_id,
                          *route != '\0' ? route : "—");
  gtk_label_set_text (self->meta_label, meta);

  gtk_label_set_text (self->reply_label, reply);
  gtk_widget_set_visible (GTK_WIDGET (self->reply_label), *reply != '\0');

  if (is_failure (status))
    hint = mb_format_hint (mb_log_item_get_string (item, "hint"),
                           mb_log_item_get_string (item, "hint_text"));
  gtk_label_set_text (self->hint_label, hint != NULL ? hint : "");
  gtk_widget_set_visible (GTK_WIDGET (self->hint_label), hint != NULL);

  /* Translators: accessible name of a log row: "Delivered: a@b → c@d" */
  accessible = g_strdup_printf (_ ("%s: %s"), mb_log_row_format_status (status),
                                addresses);
  atk_object_set_name (gtk_widget_get_accessible (GTK_WIDGET (self)),
                       accessible);
}

static void
mb_log_row_dispose (GObject *object)
{
  g_clear_object (&MB_LOG_ROW (object)->item);
  G_OBJECT_CLASS (mb_log_row_parent_class)->dispose (object);
}

static void
mb_log_row_class_init (MbLogRowClass *klass)
{
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  G_OBJECT_CLASS (klass)->dispose = mb_log_row_dispose;

  gtk_widget_class_set_template_from_resource (
      widget_class, "/org/mailbridge/Mailbridge/ui/mb-log-row.ui");
  gtk_widget_class_bind_template_child (widget_class, MbLogRow, time_label);
  gtk_widget_class_bind_template_child (widget_class, MbLogRow, status_label);
  gtk_widget_class_bind_template_child (widget_class, MbLogRow,
                                        addresses_label);
  gtk_widget_class_bind_template_child (widget_class, MbLogRow, meta_label);
  gtk_widget_class_bind_template_child (widget_class, MbLogRow, reply_label);
  gtk_widget_class_bind_template_child (widget_class, MbLogRow, hint_label);
}

static void
mb_log_row_init (MbLogRow *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
  gtk_label_set_width_chars (self->status_label, get_status_width_chars ());
}

GtkWidget *
mb_log_row_new (MbLogItem *item)
{
  MbLogRow *self;

  g_return_val_if_fail (MB_IS_LOG_ITEM (item), NULL);

  self = g_object_new (MB_TYPE_LOG_ROW, NULL);
  self->item = g_object_ref (item);
  fill (self);
  return GTK_WIDGET (self);
}
