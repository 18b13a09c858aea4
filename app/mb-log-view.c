/* mb-log-view.c - the Log page
 *
 * A filter change starts a new query (a new GCancellable, an emptied
 * store); scrolling near the end reads the next page of the same query.
 * The relay filters by time, status and one substring ("grep"); when both
 * the address and the search field are set, the address goes to the relay
 * and the search is applied here, and the address filter is always
 * narrowed here to sender and recipient.  Records logged while the page is
 * open are added at the top when they pass the filters.
 */
#define G_LOG_DOMAIN "mb-log-view"

#include "mb-log-view.h"

#include <glib/gi18n.h>
#include <string.h>

#include "mb-csv-export.h"
#include "mb-format.h"
#include "mb-log-item.h"
#include "mb-log-row.h"

#define PAGE 200
#define EXPORT_PAGE 5000
#define NOTICE_TIMEOUT_S 6

typedef struct
{
  gint64 since_us; /* 0: no lower bound */
  char  *status;   /* (nullable) */
  char  *address;  /* (nullable) lower case */
  char  *text;     /* (nullable) lower case */
} Filter;

typedef struct
{
  MbLogView *self; /* (owned) */
  GFile     *file; /* (owned) */
  Filter    *filter;
  GString   *csv;
  guint      offset;
  guint      count;
} ExportData;

struct _MbLogView
{
  GtkBox parent_instance;

  MbRelayClient *client;            /* (owned) */
  GCancellable  *cancellable;       /* (owned) the view's lifetime */
  GCancellable  *query_cancellable; /* (owned) (nullable) */
  GListStore    *store;             /* (owned) of MbLogItem, newest first */
  Filter        *filter;            /* (owned) */
  guint          offset;            /* records the relay sent for this query */
  gboolean       loading;
  gboolean       complete;
  gboolean       exporting;
  guint          notice_timeout_id;

  GtkComboBoxText   *range_combo;
  GtkComboBoxText   *status_combo;
  GtkSearchEntry    *address_entry;
  GtkSearchEntry    *search_entry;
  GtkButton         *export_button;
  GtkScrolledWindow *scrolled;
  GtkListBox        *log_list;
  GtkLabel          *footer_label;
  GtkSpinner        *footer_spinner;
  GtkRevealer       *notification_revealer;
  GtkLabel          *notification_label;
};

G_DEFINE_TYPE (MbLogView, mb_log_view, GTK_TYPE_BOX)

static void load_more (MbLogView *self);

/* Filters */

static void
filter_free (Filter *filter)
{
  g_free (filter->status);
  g_free (filter->address);
  g_free (filter->text);
  g_free (filter);
}
G_DEFINE_AUTOPTR_CLEANUP_FUNC (Filter, filter_free)

static Filter *
filter_copy (const Filter *filter)
{
  Filter *copy = g_new0 (Filter, 1);

  copy->since_us = filter->since_us;
  copy->status = g_strdup (filter->status);
  copy->address = g_strdup (filter->address);
  copy->text = g_strdup (filter->text);
  return copy;
}

static char *
dup_lower_or_null (const char *text)
{
  g_autofree char *stripped = g_strstrip (g_strdup (text));

  return *stripped != '\0' ? g_utf8_strdown (stripped, -1) : NULL;
}

static gint64
range_seconds (const char *id)
{
  if (g_strcmp0 (id, "hour") == 0)
    return 3600;
  if (g_strcmp0 (id, "day") == 0)
    return 86400;
  if (g_strcmp0 (id, "week") == 0)
    return 7 * 86400;
  if (g_strcmp0 (id, "month") == 0)
    return 30 * 86400;
  return 0;
}

static Filter *
read_filter (MbLogView *self)
{
  Filter     *filter = g_new0 (Filter, 1);
  const char *status
      = gtk_combo_box_get_active_id (GTK_COMBO_BOX (self->status_combo));
  gint64 range = range_seconds (
      gtk_combo_box_get_active_id (GTK_COMBO_BOX (self->range_combo)));

  if (range > 0)
    filter->since_us = g_get_real_time () - range * G_USEC_PER_SEC;
  if (status != NULL && g_strcmp0 (status, "any") != 0)
    filter->status = g_strdup (status);
  filter->address = dup_lower_or_null (
      gtk_entry_get_text (GTK_ENTRY (self->address_entry)));
  filter->text
      = dup_lower_or_null (gtk_entry_get_text (GTK_ENTRY (self->search_entry)));
  return filter;
}

/* The ReadLog argument for @filter (floating). */
static GVariant *
build_query (const Filter *filter, guint offset, guint limit)
{
  g_auto (GVariantBuilder) builder
      = G_VARIANT_BUILDER_INIT (G_VARIANT_TYPE_VARDICT);
  const char *grep = filter->address != NULL ? filter->address : filter->text;

  if (filter->since_us > 0)
    g_variant_builder_add (&builder, "{sv}", "since_us",
                           g_variant_new_int64 (filter->since_us));
  if (filter->status != NULL)
    g_variant_builder_add (&builder, "{sv}", "status",
                           g_variant_new_string (filter->status));
  if (grep != NULL)
    g_variant_builder_add (&builder, "{sv}", "grep",
                           g_variant_new_string (grep));
  g_variant_builder_add (&builder, "{sv}", "limit",
                         g_variant_new_uint32 (limit));
  g_variant_builder_add (&builder, "{sv}", "offset",
                         g_variant_new_uint32 (offset));
  g_variant_builder_add (&builder, "{sv}", "newest_first",
                         g_variant_new_boolean (TRUE));
  return g_variant_builder_end (&builder);
}

static gboolean
field_contains (GVariant *record, const char *key, const char *needle)
{
  const char      *value = "";
  g_autofree char *lower = NULL;

  if (!g_variant_lookup (record, key, "&s", &value) || *value == '\0')
    return FALSE;
  lower = g_utf8_strdown (value, -1);
  return strstr (lower, needle) != NULL;
}

/* Whether @record passes @filter; the relay has already applied what it
 * could, this also checks records that did not come through ReadLog. */
static gboolean
record_matches (const Filter *filter, GVariant *record)
{
  static const char *const text_keys[]
      = { "queue_id", "sender", "recipient", "route", "reply", "hint" };
  gint64      time_us = 0;
  const char *status = "";
  gboolean    found = FALSE;

  g_variant_lookup (record, "time_us", "x", &time_us);
  g_variant_lookup (record, "status", "&s", &status);
  if (filter->since_us > 0 && time_us < filter->since_us)
    return FALSE;
  if (filter->status != NULL && g_strcmp0 (filter->status, status) != 0)
    return FALSE;
  if (filter->address != NULL
      && !field_contains (record, "sender", filter->address)
      && !field_contains (record, "recipient", filter->address))
    return FALSE;
  if (filter->text == NULL)
    return TRUE;
  for (gsize i = 0; i < G_N_ELEMENTS (text_keys) && !found; i++)
    found = field_contains (record, text_keys[i], filter->text);
  return found;
}

static gboolean
is_connected (MbLogView *self)
{
  return mb_relay_client_get_connection (self->client)
         == MB_RELAY_CONNECTION_CONNECTED;
}

/* Helpers */

static void
update_footer (MbLogView *self)
{
  guint            n = g_list_model_get_n_items (G_LIST_MODEL (self->store));
  g_autofree char *text = NULL;
  gboolean         busy = self->loading || self->exporting;

  if (!is_connected (self))
    text = g_strdup (_ ("Not connected to the relay."));
  else if (self->complete)
    text = g_strdup_printf (ngettext ("%u record", "%u records", n), n);
  else
    /* Translators: more records are read when the list is scrolled */
    text = g_strdup_printf (ngettext ("%u record shown, scroll for more",
                                      "%u records shown, scroll for more", n),
                            n);
  gtk_label_set_text (self->footer_label, text);
  gtk_widget_set_visible (GTK_WIDGET (self->footer_spinner), busy);
  g_object_set (self->footer_spinner, "active", busy, NULL);
  gtk_widget_set_sensitive (GTK_WIDGET (self->export_button),
                            is_connected (self) && !self->exporting);
}

static gboolean
hide_notification_cb (gpointer user_data)
{
  MbLogView *self = user_data;

  self->notice_timeout_id = 0;
  gtk_revealer_set_reveal_child (self->notification_revealer, FALSE);
  return G_SOURCE_REMOVE;
}

static void
show_notification (MbLogView *self, const char *text)
{
  g_clear_handle_id (&self->notice_timeout_id, g_source_remove);
  gtk_label_set_text (self->notification_label, text);
  gtk_revealer_set_reveal_child (self->notification_revealer, TRUE);
  self->notice_timeout_id
      = g_timeout_add_seconds (NOTICE_TIMEOUT_S, hide_notification_cb, self);
}

static gboolean
near_end (MbLogView *self)
{
  GtkAdjustment *adj = gtk_scrolled_window_get_vadjustment (self->scrolled);

  return gtk_adjustment_get_upper (adj) - gtk_adjustment_get_value (adj)
             - gtk_adjustment_get_page_size (adj)
         < 2 * gtk_adjustment_get_page_size (adj);
}

/* Querying */

static void
page_read_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GVariant) records = NULL;
  g_autoptr (GPtrArray) items = g_ptr_array_new_with_free_func (g_object_unref);
  MbLogView   *self;
  GVariantIter iter;
  GVariant    *record;
  gsize        n;

  records = mb_relay_client_read_log_finish (MB_RELAY_CLIENT (source), result,
                                             &error);
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;
  self = MB_LOG_VIEW (user_data);
  self->loading = FALSE;
  if (records == NULL)
    {
      g_autofree char *text = g_strdup_printf (
          "%s %s", _ ("Could not read the delivery log:"), error->message);

      show_notification (self, text);
      update_footer (self);
      return;
    }

  n = g_variant_n_children (records);
  g_variant_iter_init (&iter, records);
  while ((record = g_variant_iter_next_value (&iter)) != NULL)
    {
      if (record_matches (self->filter, record))
        g_ptr_array_add (items, mb_log_item_new (record));
      g_variant_unref (record);
    }
  g_list_store_splice (self->store,
                       g_list_model_get_n_items (G_LIST_MODEL (self->store)), 0,
                       items->pdata, items->len);
  self->offset += (guint)n;
  self->complete = n < PAGE;
  update_footer (self);
  if (!self->complete && near_end (self))
    load_more (self);
}

static void
load_more (MbLogView *self)
{
  if (self->loading || self->complete || !is_connected (self))
    return;
  self->loading = TRUE;
  mb_relay_client_read_log_async (
      self->client, build_query (self->filter, self->offset, PAGE),
      self->query_cancellable, page_read_cb, self);
  update_footer (self);
}

/* A new query: the filters changed or the relay came back. */
static void
restart_query (MbLogView *self)
{
  g_cancellable_cancel (self->query_cancellable);
  g_clear_object (&self->query_cancellable);
  self->query_cancellable = g_cancellable_new ();
  g_clear_pointer (&self->filter, filter_free);
  self->filter = read_filter (self);
  self->offset = 0;
  self->loading = FALSE;
  self->complete = FALSE;
  g_list_store_remove_all (self->store);
  load_more (self);
  update_footer (self);
}

/* Export */

static void
export_data_free (ExportData *data)
{
  g_clear_object (&data->self);
  g_clear_object (&data->file);
  filter_free (data->filter);
  g_string_free (data->csv, TRUE);
  g_free (data);
}
G_DEFINE_AUTOPTR_CLEANUP_FUNC (ExportData, export_data_free)

static void
export_finished (ExportData *data, const GError *error)
{
  MbLogView       *self = data->self;
  g_autofree char *name = g_file_get_parse_name (data->file);
  g_autofree char *text = NULL;

  self->exporting = FALSE;
  if (error != NULL)
    text = g_strdup_printf (_ ("Could not export the log to %s: %s"), name,
                            error->message);
  else
    text = g_strdup_printf (ngettext ("Exported %u record to %s",
                                      "Exported %u records to %s", data->count),
                            data->count, name);
  g_debug ("export: %s", text);
  show_notification (self, text);
  update_footer (self);
}

static void
export_written_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (ExportData) data = user_data;
  g_autoptr (GError) error = NULL;

  if (!g_file_replace_contents_finish (G_FILE (source), result, NULL, &error)
      && g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;
  export_finished (data, error);
}

static void
export_page_cb (GObject *source, GAsyncResult *result, gpointer user_data);

static void
export_next_page (ExportData *data)
{
  MbLogView *self = data->self;

  mb_relay_client_read_log_async (
      self->client, build_query (data->filter, data->offset, EXPORT_PAGE),
      self->cancellable, export_page_cb, data);
}

static void
export_page_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (ExportData) data = user_data;
  g_autoptr (GError) error = NULL;
  g_autoptr (GVariant) records = NULL;
  GVariantIter iter;
  GVariant    *record;
  gsize        n;

  records = mb_relay_client_read_log_finish (MB_RELAY_CLIENT (source), result,
                                             &error);
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;
  if (records == NULL)
    {
      export_finished (data, error);
      return;
    }
  n = g_variant_n_children (records);
  g_variant_iter_init (&iter, records);
  while ((record = g_variant_iter_next_value (&iter)) != NULL)
    {
      if (record_matches (data->filter, record))
        {
          const char      *hint = "";
          const char      *hint_text = "";
          g_autofree char *explanation = NULL;

          g_variant_lookup (record, "hint", "&s", &hint);
          g_variant_lookup (record, "hint_text", "&s", &hint_text);
          explanation = mb_format_hint (hint, hint_text);
          mb_csv_append_log_record (data->csv, record,
                                    explanation != NULL ? explanation : "");
          data->count++;
        }
      g_variant_unref (record);
    }
  data->offset += (guint)n;
  if (n == EXPORT_PAGE)
    {
      export_next_page (g_steal_pointer (&data));
      return;
    }
  g_file_replace_contents_async (data->file, data->csv->str, data->csv->len,
                                 NULL, FALSE, G_FILE_CREATE_REPLACE_DESTINATION,
                                 data->self->cancellable, export_written_cb,
                                 data);
  g_steal_pointer (&data);
}

static void
on_export_response_cb (GtkNativeDialog *dialog,
                       gint             response,
                       gpointer         user_data)
{
  MbLogView  *self = user_data;
  ExportData *data;

  if (response == GTK_RESPONSE_ACCEPT)
    {
      data = g_new0 (ExportData, 1);
      data->self = g_object_ref (self);
      data->file = gtk_file_chooser_get_file (GTK_FILE_CHOOSER (dialog));
      data->filter = filter_copy (self->filter);
      data->csv = g_string_new (NULL);
      mb_csv_append_log_header (data->csv);
      self->exporting = TRUE;
      update_footer (self);
      export_next_page (data);
    }
  g_object_unref (dialog);
}

static void
on_export_clicked_cb (GtkButton *button, gpointer user_data)
{
  MbLogView *self = user_data;
  GtkWidget *toplevel = gtk_widget_get_toplevel (GTK_WIDGET (self));
  g_autoptr (GDateTime) now = g_date_time_new_now_local ();
  g_autofree char *name
      = g_date_time_format (now, "mailbridge-log-%Y-%m-%d.csv");
  GtkFileChooserNative *chooser;
  GtkFileFilter        *filter = gtk_file_filter_new ();

  chooser = gtk_file_chooser_native_new (
      _ ("Export Delivery Log"),
      GTK_IS_WINDOW (toplevel) ? GTK_WINDOW (toplevel) : NULL,
      GTK_FILE_CHOOSER_ACTION_SAVE, _ ("_Export"), _ ("_Cancel"));
  gtk_file_chooser_set_do_overwrite_confirmation (GTK_FILE_CHOOSER (chooser),
                                                  TRUE);
  gtk_file_chooser_set_current_name (GTK_FILE_CHOOSER (chooser), name);
  gtk_file_filter_set_name (filter, _ ("CSV files"));
  gtk_file_filter_add_mime_type (filter, "text/csv");
  gtk_file_filter_add_pattern (filter, "*.csv");
  gtk_file_chooser_add_filter (GTK_FILE_CHOOSER (chooser), filter);
  g_signal_connect (chooser, "response", G_CALLBACK (on_export_response_cb),
                    self);
  gtk_native_dialog_show (GTK_NATIVE_DIALOG (chooser));
}

/* Signal handlers */

static void
on_filter_changed_cb (GtkWidget *widget, gpointer user_data)
{
  restart_query (MB_LOG_VIEW (user_data));
}

static void
on_log_record_added_cb (MbRelayClient *client,
                        GVariant      *record,
                        gpointer       user_data)
{
  MbLogView *self = user_data;
  g_autoptr (MbLogItem) item = NULL;

  if (self->filter == NULL || !record_matches (self->filter, record))
    return;
  item = mb_log_item_new (record);
  g_list_store_insert (self->store, 0, item);
  /* The record shifts the relay's newest-first offsets by one. */
  self->offset++;
  update_footer (self);
}

static void
on_connection_changed_cb (GObject    *object,
                          GParamSpec *pspec,
                          gpointer    user_data)
{
  MbLogView *self = user_data;

  if (is_connected (self))
    restart_query (self);
  update_footer (self);
}

static void
on_scrolled_cb (GtkAdjustment *adjustment, gpointer user_data)
{
  MbLogView *self = user_data;

  if (near_end (self))
    load_more (self);
}

static GtkWidget *
create_row_cb (gpointer item, gpointer user_data)
{
  return mb_log_row_new (MB_LOG_ITEM (item));
}

/* Overrides */

static void
mb_log_view_dispose (GObject *object)
{
  MbLogView *self = MB_LOG_VIEW (object);

  if (self->client != NULL)
    g_signal_handlers_disconnect_by_data (self->client, self);
  g_cancellable_cancel (self->cancellable);
  g_cancellable_cancel (self->query_cancellable);
  g_clear_handle_id (&self->notice_timeout_id, g_source_remove);
  g_clear_object (&self->query_cancellable);
  g_clear_object (&self->client);
  G_OBJECT_CLASS (mb_log_view_parent_class)->dispose (object);
}

static void
mb_log_view_finalize (GObject *object)
{
  MbLogView *self = MB_LOG_VIEW (object);

  g_clear_object (&self->cancellable);
  g_clear_object (&self->store);
  g_clear_pointer (&self->filter, filter_free);
  G_OBJECT_CLASS (mb_log_view_parent_class)->finalize (object);
}

static void
mb_log_view_class_init (MbLogViewClass *klass)
{
  GObjectClass   *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = mb_log_view_dispose;
  object_class->finalize = mb_log_view_finalize;

  gtk_widget_class_set_template_from_resource (
      widget_class, "/org/mailbridge/Mailbridge/ui/mb-log-view.ui");
  gtk_widget_class_bind_template_child (widget_class, MbLogView, range_combo);
  gtk_widget_class_bind_template_child (widget_class, MbLogView, status_combo);
  gtk_widget_class_bind_template_child (widget_class, MbLogView, address_entry);
  gtk_widget_class_bind_template_child (widget_class, MbLogView, search_entry);
  gtk_widget_class_bind_template_child (widget_class, MbLogView, export_button);
  gtk_widget_class_bind_template_child (widget_class, MbLogView, scrolled);
  gtk_widget_class_bind_template_child (widget_class, MbLogView, log_list);
  gtk_widget_class_bind_template_child (widget_class, MbLogView, footer_label);
  gtk_widget_class_bind_template_child (widget_class, MbLogView,
                                        footer_spinner);
  gtk_widget_class_bind_template_child (widget_class, MbLogView,
                                        notification_revealer);
  gtk_widget_class_bind_template_child (widget_class, MbLogView,
                                        notification_label);
  gtk_widget_class_bind_template_callback (widget_class, on_filter_changed_cb);
  gtk_widget_class_bind_template_callback (widget_class, on_export_clicked_cb);
}

static void
mb_log_view_init (MbLogView *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));

  self->cancellable = g_cancellable_new ();
  self->store = g_list_store_new (MB_TYPE_LOG_ITEM);
  self->filter = read_filter (self);
  gtk_list_box_bind_model (self->log_list, G_LIST_MODEL (self->store),
                           create_row_cb, self, NULL);
  g_signal_connect_object (gtk_scrolled_window_get_vadjustment (self->scrolled),
                           "value-changed", G_CALLBACK (on_scrolled_cb), self,
                           0);
}

GtkWidget *
mb_log_view_new (MbRelayClient *client)
{
  MbLogView *self;

  g_return_val_if_fail (MB_IS_RELAY_CLIENT (client), NULL);

  self = g_object_new (MB_TYPE_LOG_VIEW, NULL);
  self->client = g_object_ref (client);
  g_signal_connect_object (client, "log-record-added",
                           G_CALLBACK (on_log_record_added_cb), self, 0);
  g_signal_connect_object (client, "notify::connection",
                           G_CALLBACK (on_connection_changed_cb), self, 0);
  on_connection_changed_cb (NULL, NULL, self);
  return GTK_WIDGET (self);
}

void
mb_log_view_focus_search (MbLogView *self)
{
  g_return_if_fail (MB_IS_LOG_VIEW (self));
  gtk_widget_grab_focus (GTK_WIDGET (self->search_entry));
}
