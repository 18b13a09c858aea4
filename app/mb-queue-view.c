/* mb-queue-view.c - the Queue page
 *
 * The list shows an MbQueueModel (the loaded prefix of the queue, kept
 * live) and asks it for the next page as the list nears its end; while a
 * search runs it shows the MbQueueSearch matches instead.  A delete hides
 * the item in the model (it stays out whatever the relay says) and is sent
 * when the Undo notification times out.
 */
#define G_LOG_DOMAIN "mb-queue-view"

#include "mb-queue-view.h"

#include <glib/gi18n.h>

#include "mb-message-details.h"
#include "mb-queue-item.h"
#include "mb-queue-model.h"
#include "mb-queue-search.h"
#include "mb-queue-row.h"

#define UNDO_TIMEOUT_S 7
#define NOTICE_TIMEOUT_S 5
#define CLOCK_INTERVAL_S 30

struct _MbQueueView
{
  GtkBox parent_instance;

  MbRelayClient *client;      /* (owned) */
  MbQueueModel  *model;       /* (owned) */
  MbQueueSearch *search;      /* (owned) */
  GCancellable  *cancellable; /* (owned) the view's lifetime */

  MbQueueItem *pending_item; /* (owned) (nullable) deleted, not yet sent */
  guint        pending_position;
  guint        pending_timeout_id;
  guint        notice_timeout_id;
  guint        clock_id;

  gint64   created_us;
  gboolean first_rows_logged;

  GtkSearchEntry    *search_entry;
  GtkButton         *pause_button;
  GtkButton         *retry_all_button;
  GtkListBox        *queue_list;
  GtkScrolledWindow *scrolled;
  GtkLabel          *placeholder_label;
  GtkLabel          *footer_label;
  GtkSpinner        *footer_spinner;
  GtkRevealer       *notification_revealer;
  GtkLabel          *notification_label;
  GtkButton         *undo_button;
};

G_DEFINE_TYPE (MbQueueView, mb_queue_view, GTK_TYPE_BOX)

/* Helpers */

static gboolean
is_connected (MbQueueView *self)
{
  return mb_relay_client_get_connection (self->client)
         == MB_RELAY_CONNECTION_CONNECTED;
}

static MbQueueItem *
lookup_item (MbQueueView *self, const char *id)
{
  MbQueueItem *item = mb_queue_model_lookup (self->model, id);

  return item != NULL ? item : mb_queue_search_lookup (self->search, id);
}

static void
update_footer (MbQueueView *self)
{
  g_autofree char *text = NULL;
  GListModel      *items = mb_queue_model_get_items (self->model);
  guint            n_loaded = g_list_model_get_n_items (items);
  guint            n_matches
      = g_list_model_get_n_items (mb_queue_search_get_matches (self->search));
  guint       total = mb_relay_client_get_queue_length (self->client);
  const char *needle = mb_queue_search_get_needle (self->search);
  gboolean    scanning = mb_queue_search_get_scanning (self->search);
  gboolean    busy;

  if (!is_connected (self))
    text = g_strdup (_ ("Not connected to the relay."));
  else if (needle != NULL && scanning)
    text
        = g_strdup_printf (ngettext ("Searching… %u match so far",
                                     "Searching… %u matches so far", n_matches),
                           n_matches);
  else if (needle != NULL && n_matches >= MB_QUEUE_SEARCH_MAX_MATCHES)
    text = g_strdup_printf (_ ("Showing the first %u matches: refine the "
                               "search to see others."),
                            n_matches);
  else if (needle != NULL)
    text = g_strdup_printf (
        ngettext ("%u message matches", "%u messages match", n_matches),
        n_matches);
  else if (n_loaded < total)
    /* Translators: "Showing 100 of 100000 messages" */
    text = g_strdup_printf (ngettext ("Showing %u of %u message",
                                      "Showing %u of %u messages", total),
                            n_loaded, total);
  else
    text = g_strdup_printf (
        ngettext ("%u message in the queue", "%u messages in the queue", total),
        total);
  if (is_connected (self) && mb_relay_client_get_paused (self->client))
    {
      g_autofree char *paused
          = g_strdup_printf ("%s %s", _ ("Delivery is paused."), text);

      g_free (text);
      text = g_steal_pointer (&paused);
    }
  gtk_label_set_text (self->footer_label, text);

  busy = mb_queue_model_get_loading (self->model) || scanning;
  gtk_widget_set_visible (GTK_WIDGET (self->footer_spinner), busy);
  g_object_set (self->footer_spinner, "active", busy, NULL);
}

static void
update_pause_button (MbQueueView *self)
{
  gboolean paused = mb_relay_client_get_paused (self->client);

  gtk_button_set_label (self->pause_button, paused ? _ ("_Resume Delivery")
                                                   : _ ("_Pause Delivery"));
  gtk_widget_set_tooltip_text (
      GTK_WIDGET (self->pause_button),
      paused ? _ ("Deliver queued mail again")
             : _ ("Hold all delivery; mail is still accepted and queued"));
}

static gboolean
hide_notification_cb (gpointer user_data)
{
  MbQueueView *self = user_data;

  self->notice_timeout_id = 0;
  gtk_revealer_set_reveal_child (self->notification_revealer, FALSE);
  return G_SOURCE_REMOVE;
}

/* An in-app notification; with @undo it stays until the pending delete is
 * sent or undone. */
static void
show_notification (MbQueueView *self, const char *text, gboolean undo)
{
  g_clear_handle_id (&self->notice_timeout_id, g_source_remove);
  gtk_label_set_text (self->notification_label, text);
  gtk_widget_set_visible (GTK_WIDGET (self->undo_button), undo);
  gtk_revealer_set_reveal_child (self->notification_revealer, TRUE);
  if (!undo)
    self->notice_timeout_id
        = g_timeout_add_seconds (NOTICE_TIMEOUT_S, hide_notification_cb, self);
}

static void
show_error (MbQueueView *self, const char *what, const GError *error)
{
  g_autofree char *text = g_strdup_printf ("%s %s", what, error->message);

  show_notification (self, text, FALSE);
}

/* The benchmark (bench/queue-100k.py) reads this line. */
static void
log_first_rows (MbQueueView *self, const char *what)
{
  guint n = g_list_model_get_n_items (mb_queue_model_get_items (self->model));

  self->first_rows_logged = TRUE;
  g_debug ("queue-first-rows %s rows=%u elapsed_ms=%.1f "
           "realtime_us=%" G_GINT64_FORMAT,
           what, n, (g_get_monotonic_time () - self->created_us) / 1000.0,
           g_get_real_time ());
}

static void
on_frame_after_paint_cb (GdkFrameClock *clock, gpointer user_data)
{
  MbQueueView *self = user_data;

  g_signal_handlers_disconnect_by_func (clock, on_frame_after_paint_cb, self);
  log_first_rows (self, "painted");
}

static void
note_first_rows (MbQueueView *self)
{
  GdkFrameClock *clock;

  if (self->first_rows_logged
      || g_list_model_get_n_items (mb_queue_model_get_items (self->model)) == 0)
    return;
  clock = gtk_widget_get_frame_clock (GTK_WIDGET (self->queue_list));
  if (clock == NULL || !gtk_widget_get_mapped (GTK_WIDGET (self->queue_list)))
    {
      log_first_rows (self, "bound");
      return;
    }
  self->first_rows_logged = TRUE;
  g_signal_connect_object (clock, "after-paint",
                           G_CALLBACK (on_frame_after_paint_cb), self, 0);
}

static gboolean
near_end (MbQueueView *self)
{
  GtkAdjustment *adj = gtk_scrolled_window_get_vadjustment (self->scrolled);
  double left = gtk_adjustment_get_upper (adj) - gtk_adjustment_get_value (adj)
                - gtk_adjustment_get_page_size (adj);

  return left < 2 * gtk_adjustment_get_page_size (adj);
}

static void
maybe_load_more (MbQueueView *self)
{
  if (mb_queue_search_get_needle (self->search) == NULL && near_end (self))
    mb_queue_model_load_more (self->model);
}

/* Search */

static GtkWidget *
create_row_cb (gpointer item, gpointer user_data)
{
  return mb_queue_row_new (MB_QUEUE_ITEM (item));
}

static void
start_search (MbQueueView *self, const char *text)
{
  gboolean was_searching = mb_queue_search_get_needle (self->search) != NULL;
  gboolean searching = text != NULL && *text != '\0';

  mb_queue_search_set_text (self->search, text);
  if (searching != was_searching)
    gtk_list_box_bind_model (self->queue_list,
                             searching
                                 ? mb_queue_search_get_matches (self->search)
                                 : mb_queue_model_get_items (self->model),
                             create_row_cb, self, NULL);
  gtk_label_set_text (self->placeholder_label,
                      searching
                          ? _ ("No queued message matches the search.")
                          : _ ("The queue is empty. Every message the relay "
                               "accepts waits here until Microsoft 365 "
                               "takes it."));
  update_footer (self);
  maybe_load_more (self);
}

/* Undoable delete */

typedef struct
{
  MbQueueView  *self;  /* (owned) (nullable) NULL once the view is gone */
  MbQueueModel *model; /* (owned) */
  MbQueueItem  *item;  /* (owned) */
  guint         position;
} DeleteData;

static void
delete_data_free (DeleteData *data)
{
  g_clear_object (&data->self);
  g_clear_object (&data->model);
  g_clear_object (&data->item);
  g_free (data);
}
G_DEFINE_AUTOPTR_CLEANUP_FUNC (DeleteData, delete_data_free)

static void
delete_done_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (DeleteData) data = user_data;
  g_autoptr (GError) error = NULL;

  if (mb_relay_client_delete_message_finish (MB_RELAY_CLIENT (source), result,
                                             &error)
      || g_error_matches (error, MB_RELAY_CLIENT_ERROR,
                          MB_RELAY_CLIENT_ERROR_NOT_FOUND))
    {
      /* Gone from the relay: nothing left to keep out. */
      mb_queue_model_unhide (data->model, data->item, G_MAXUINT);
      return;
    }
  g_message ("deleting a message failed: %s", error->message);
  /* Still queued (Busy: being delivered right now): show it again. */
  mb_queue_model_unhide (data->model, data->item, data->position);
  if (data->self == NULL || gtk_widget_in_destruction (GTK_WIDGET (data->self)))
    return;
  show_error (data->self, _ ("The message could not be deleted:"), error);
}

/* Sends the pending delete; @self_alive is FALSE from dispose.  The item
 * stays hidden until the relay answered. */
static void
commit_pending_delete (MbQueueView *self, gboolean self_alive)
{
  DeleteData *data;

  g_clear_handle_id (&self->pending_timeout_id, g_source_remove);
  if (self->pending_item == NULL)
    return;
  data = g_new0 (DeleteData, 1);
  data->self = self_alive ? g_object_ref (self) : NULL;
  data->model = g_object_ref (self->model);
  data->item = g_steal_pointer (&self->pending_item);
  data->position = self->pending_position;
  /* No cancellable: the delete must reach the relay even when the window
   * closes. */
  mb_relay_client_delete_message_async (self->client,
                                        mb_queue_item_get_id (data->item), NULL,
                                        delete_done_cb, data);
}

static gboolean
pending_timeout_cb (gpointer user_data)
{
  MbQueueView *self = user_data;

  self->pending_timeout_id = 0;
  commit_pending_delete (self, TRUE);
  gtk_revealer_set_reveal_child (self->notification_revealer, FALSE);
  return G_SOURCE_REMOVE;
}

static void
delete_message (MbQueueView *self, const char *id)
{
  MbQueueItem *item;

  commit_pending_delete (self, TRUE);
  item = lookup_item (self, id);
  if (item == NULL)
    return;
  self->pending_item = g_object_ref (item);
  self->pending_position = mb_queue_model_hide (self->model, item);
  mb_queue_search_forget (self->search, item);
  show_notification (self, _ ("Message deleted"), TRUE);
  self->pending_timeout_id
      = g_timeout_add_seconds (UNDO_TIMEOUT_S, pending_timeout_cb, self);
  update_footer (self);
}

static void
on_undo_clicked_cb (GtkButton *button, gpointer user_data)
{
  MbQueueView *self = user_data;
  g_autoptr (MbQueueItem) item = g_steal_pointer (&self->pending_item);

  g_clear_handle_id (&self->pending_timeout_id, g_source_remove);
  gtk_revealer_set_reveal_child (self->notification_revealer, FALSE);
  if (item == NULL)
    return;
  mb_queue_model_unhide (self->model, item, self->pending_position);
  mb_queue_search_restore (self->search, item);
  update_footer (self);
}

static void
on_close_notification_clicked_cb (GtkButton *button, gpointer user_data)
{
  MbQueueView *self = user_data;

  /* Closing the notification confirms the delete, as in GNOME. */
  commit_pending_delete (self, TRUE);
  hide_notification_cb (self);
}

/* Actions */

static void
retry_done_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GError) error = NULL;

  if (mb_relay_client_retry_message_finish (MB_RELAY_CLIENT (source), result,
                                            &error)
      || g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;
  show_error (MB_QUEUE_VIEW (user_data),
              _ ("The message could not be retried:"), error);
}

static void
retry_activated_cb (GSimpleAction *action, GVariant *param, gpointer user_data)
{
  MbQueueView *self = user_data;

  mb_relay_client_retry_message_async (self->client,
                                       g_variant_get_string (param, NULL),
                                       self->cancellable, retry_done_cb, self);
}

static void
delete_activated_cb (GSimpleAction *action, GVariant *param, gpointer user_data)
{
  delete_message (MB_QUEUE_VIEW (user_data),
                  g_variant_get_string (param, NULL));
}

static void
show_details (MbQueueView *self, const char *id)
{
  GtkWidget *toplevel = gtk_widget_get_toplevel (GTK_WIDGET (self));
  GtkWidget *details = mb_message_details_new (self->client, id);

  if (GTK_IS_WINDOW (toplevel))
    gtk_window_set_transient_for (GTK_WINDOW (details), GTK_WINDOW (toplevel));
  gtk_window_present (GTK_WINDOW (details));
}

static void
details_activated_cb (GSimpleAction *action,
                      GVariant      *param,
                      gpointer       user_data)
{
  show_details (MB_QUEUE_VIEW (user_data), g_variant_get_string (param, NULL));
}

static void
retry_all_done_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *text = NULL;
  guint            count = 0;

  if (!mb_relay_client_retry_all_finish (MB_RELAY_CLIENT (source), result,
                                         &count, &error))
    {
      if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        show_error (MB_QUEUE_VIEW (user_data), _ ("Retry all failed:"), error);
      return;
    }
  if (count == 0)
    text = g_strdup (_ ("No message is waiting for a retry."));
  else
    text = g_strdup_printf (
        ngettext ("Retrying %u message now", "Retrying %u messages now", count),
        count);
  show_notification (MB_QUEUE_VIEW (user_data), text, FALSE);
}

static void
retry_all_activated_cb (GSimpleAction *action,
                        GVariant      *param,
                        gpointer       user_data)
{
  MbQueueView *self = user_data;

  mb_relay_client_retry_all_async (self->client, self->cancellable,
                                   retry_all_done_cb, self);
}

static void
set_paused_done_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GError) error = NULL;

  if (mb_relay_client_set_paused_finish (MB_RELAY_CLIENT (source), result,
                                         &error)
      || g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;
  show_error (MB_QUEUE_VIEW (user_data), _ ("The relay did not answer:"),
              error);
}

static void
toggle_pause_activated_cb (GSimpleAction *action,
                           GVariant      *param,
                           gpointer       user_data)
{
  MbQueueView *self = user_data;

  mb_relay_client_set_paused_async (
      self->client, !mb_relay_client_get_paused (self->client),
      self->cancellable, set_paused_done_cb, self);
}

static const GActionEntry actions[] = {
  { "retry", retry_activated_cb, "s", NULL, NULL, { 0 } },
  { "delete", delete_activated_cb, "s", NULL, NULL, { 0 } },
  { "details", details_activated_cb, "s", NULL, NULL, { 0 } },
  { "retry-all", retry_all_activated_cb, NULL, NULL, NULL, { 0 } },
  { "toggle-pause", toggle_pause_activated_cb, NULL, NULL, NULL, { 0 } },
};

/* Signal handlers */

static void
on_model_items_changed_cb (GListModel *model,
                           guint       position,
                           guint       removed,
                           guint       added,
                           gpointer    user_data)
{
  MbQueueView *self = user_data;

  note_first_rows (self);
  update_footer (self);
}

static void
on_model_loading_changed_cb (GObject    *object,
                             GParamSpec *pspec,
                             gpointer    user_data)
{
  MbQueueView *self = user_data;

  update_footer (self);
  /* A short first page does not fill the window: read on. */
  if (!mb_queue_model_get_loading (self->model))
    maybe_load_more (self);
}

static void
on_search_scanning_changed_cb (GObject    *object,
                               GParamSpec *pspec,
                               gpointer    user_data)
{
  update_footer (MB_QUEUE_VIEW (user_data));
}

static void
on_search_failed_cb (MbQueueSearch *search,
                     const GError  *error,
                     gpointer       user_data)
{
  show_error (MB_QUEUE_VIEW (user_data), _ ("Could not search the queue:"),
              error);
}

static void
on_model_failed_cb (MbQueueModel *model,
                    const GError *error,
                    gpointer      user_data)
{
  show_error (MB_QUEUE_VIEW (user_data), _ ("Could not read the queue:"),
              error);
}

static void
on_connection_changed_cb (GObject    *object,
                          GParamSpec *pspec,
                          gpointer    user_data)
{
  MbQueueView *self = user_data;

  gtk_widget_set_sensitive (GTK_WIDGET (self->retry_all_button),
                            is_connected (self));
  gtk_widget_set_sensitive (GTK_WIDGET (self->pause_button),
                            is_connected (self));
  update_footer (self);
}

static void
on_paused_changed_cb (GObject *object, GParamSpec *pspec, gpointer user_data)
{
  update_pause_button (MB_QUEUE_VIEW (user_data));
  update_footer (MB_QUEUE_VIEW (user_data));
}

static void
on_queue_length_changed_cb (GObject    *object,
                            GParamSpec *pspec,
                            gpointer    user_data)
{
  update_footer (MB_QUEUE_VIEW (user_data));
}

static void
on_search_changed_cb (GtkSearchEntry *entry, gpointer user_data)
{
  start_search (MB_QUEUE_VIEW (user_data),
                gtk_entry_get_text (GTK_ENTRY (entry)));
}

static void
on_scrolled_cb (GtkAdjustment *adjustment, gpointer user_data)
{
  maybe_load_more (MB_QUEUE_VIEW (user_data));
}

static void
on_row_activated_cb (GtkListBox *box, GtkListBoxRow *row, gpointer user_data)
{
  MbQueueItem *item = mb_queue_row_get_item (MB_QUEUE_ROW (row));

  show_details (MB_QUEUE_VIEW (user_data), mb_queue_item_get_id (item));
}

static void
update_row_time_cb (GtkWidget *row, gpointer user_data)
{
  if (MB_IS_QUEUE_ROW (row))
    mb_queue_row_update_time (MB_QUEUE_ROW (row), *(gint64 *)user_data);
}

static gboolean
clock_tick_cb (gpointer user_data)
{
  MbQueueView *self = user_data;
  gint64       now = g_get_real_time () / G_USEC_PER_SEC;

  if (gtk_widget_get_mapped (GTK_WIDGET (self)))
    gtk_container_foreach (GTK_CONTAINER (self->queue_list), update_row_time_cb,
                           &now);
  return G_SOURCE_CONTINUE;
}

/* Overrides */

static void
mb_queue_view_dispose (GObject *object)
{
  MbQueueView *self = MB_QUEUE_VIEW (object);

  if (self->client != NULL)
    {
      commit_pending_delete (self, FALSE);
      g_signal_handlers_disconnect_by_data (self->client, self);
    }
  if (self->model != NULL)
    {
      g_signal_handlers_disconnect_by_data (self->model, self);
      g_signal_handlers_disconnect_by_data (
          mb_queue_model_get_items (self->model), self);
    }
  if (self->search != NULL)
    g_signal_handlers_disconnect_by_data (self->search, self);
  g_cancellable_cancel (self->cancellable);
  g_clear_handle_id (&self->notice_timeout_id, g_source_remove);
  g_clear_handle_id (&self->clock_id, g_source_remove);
  g_clear_object (&self->search);
  g_clear_object (&self->model);
  g_clear_object (&self->client);
  G_OBJECT_CLASS (mb_queue_view_parent_class)->dispose (object);
}

static void
mb_queue_view_finalize (GObject *object)
{
  MbQueueView *self = MB_QUEUE_VIEW (object);

  g_clear_object (&self->cancellable);
  G_OBJECT_CLASS (mb_queue_view_parent_class)->finalize (object);
}

static void
mb_queue_view_class_init (MbQueueViewClass *klass)
{
  GObjectClass   *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = mb_queue_view_dispose;
  object_class->finalize = mb_queue_view_finalize;

  gtk_widget_class_set_template_from_resource (
      widget_class, "/org/mailbridge/Mailbridge/ui/mb-queue-view.ui");
  gtk_widget_class_bind_template_child (widget_class, MbQueueView,
                                        search_entry);
  gtk_widget_class_bind_template_child (widget_class, MbQueueView,
                                        pause_button);
  gtk_widget_class_bind_template_child (widget_class, MbQueueView,
                                        retry_all_button);
  gtk_widget_class_bind_template_child (widget_class, MbQueueView, queue_list);
  gtk_widget_class_bind_template_child (widget_class, MbQueueView, scrolled);
  gtk_widget_class_bind_template_child (widget_class, MbQueueView,
                                        placeholder_label);
  gtk_widget_class_bind_template_child (widget_class, MbQueueView,
                                        footer_label);
  gtk_widget_class_bind_template_child (widget_class, MbQueueView,
                                        footer_spinner);
  gtk_widget_class_bind_template_child (widget_class, MbQueueView,
                                        notification_revealer);
  gtk_widget_class_bind_template_child (widget_class, MbQueueView,
                                        notification_label);
  gtk_widget_class_bind_template_child (widget_class, MbQueueView, undo_button);
  gtk_widget_class_bind_template_callback (widget_class, on_search_changed_cb);
  gtk_widget_class_bind_template_callback (widget_class, on_row_activated_cb);
  gtk_widget_class_bind_template_callback (widget_class, on_undo_clicked_cb);
  gtk_widget_class_bind_template_callback (widget_class,
                                           on_close_notification_clicked_cb);
}

static void
mb_queue_view_init (MbQueueView *self)
{
  g_autoptr (GSimpleActionGroup) group = g_simple_action_group_new ();

  self->created_us = g_get_monotonic_time ();
  gtk_widget_init_template (GTK_WIDGET (self));

  self->cancellable = g_cancellable_new ();

  g_action_map_add_action_entries (G_ACTION_MAP (group), actions,
                                   G_N_ELEMENTS (actions), self);
  gtk_widget_insert_action_group (GTK_WIDGET (self), "queue",
                                  G_ACTION_GROUP (group));
  g_signal_connect_object (gtk_scrolled_window_get_vadjustment (self->scrolled),
                           "value-changed", G_CALLBACK (on_scrolled_cb), self,
                           0);
  self->clock_id
      = g_timeout_add_seconds (CLOCK_INTERVAL_S, clock_tick_cb, self);
}

/* Public API */

GtkWidget *
mb_queue_view_new (MbRelayClient *client)
{
  MbQueueView *self;

  g_return_val_if_fail (MB_IS_RELAY_CLIENT (client), NULL);

  self = g_object_new (MB_TYPE_QUEUE_VIEW, NULL);
  self->client = g_object_ref (client);
  self->model = mb_queue_model_new (client);
  self->search = mb_queue_search_new (client, self->model);
  gtk_list_box_bind_model (self->queue_list,
                           mb_queue_model_get_items (self->model),
                           create_row_cb, self, NULL);
  g_signal_connect_object (
      mb_queue_model_get_items (self->model), "items-changed",
      G_CALLBACK (on_model_items_changed_cb), self, G_CONNECT_AFTER);
  g_signal_connect_object (self->model, "notify::loading",
                           G_CALLBACK (on_model_loading_changed_cb), self, 0);
  g_signal_connect_object (self->model, "failed",
                           G_CALLBACK (on_model_failed_cb), self, 0);
  g_signal_connect_object (self->search, "notify::scanning",
                           G_CALLBACK (on_search_scanning_changed_cb), self, 0);
  g_signal_connect_object (self->search, "failed",
                           G_CALLBACK (on_search_failed_cb), self, 0);
  g_signal_connect_object (client, "notify::connection",
                           G_CALLBACK (on_connection_changed_cb), self, 0);
  g_signal_connect_object (client, "notify::paused",
                           G_CALLBACK (on_paused_changed_cb), self, 0);
  g_signal_connect_object (client, "notify::queue-length",
                           G_CALLBACK (on_queue_length_changed_cb), self, 0);
  update_pause_button (self);
  on_connection_changed_cb (NULL, NULL, self);
  return GTK_WIDGET (self);
}

void
mb_queue_view_focus_search (MbQueueView *self)
{
  g_return_if_fail (MB_IS_QUEUE_VIEW (self));
  gtk_widget_grab_focus (GTK_WIDGET (self->search_entry));
}
