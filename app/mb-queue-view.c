/* mb-queue-view.c - the Queue page
 *
 * The store holds a prefix of the relay's queue (oldest first): the first
 * page at once, the next as the list nears its end.  QueueChanged is
 * applied in place: removed ids leave the store, a few changed ids are
 * re-read one by one (ShowMessage), a burst re-reads the loaded prefix in
 * one ListQueue call and merges it by id.  Each refresh owns a fresh
 * GCancellable, so an older answer never overwrites a newer one.
 */
#define G_LOG_DOMAIN "mb-queue-view"

#include "mb-queue-view.h"

#include <glib/gi18n.h>

#include "mb-message-details.h"
#include "mb-queue-item.h"
#include "mb-queue-row.h"

#define FIRST_PAGE 100
#define PAGE 200
#define SEARCH_PAGE 2000
#define MAX_MATCHES 500
#define FEW_CHANGES 50
#define UNDO_TIMEOUT_S 7
#define NOTICE_TIMEOUT_S 5
#define CLOCK_INTERVAL_S 30

struct _MbQueueView
{
  GtkBox parent_instance;

  MbRelayClient *client;              /* (owned) */
  GCancellable  *cancellable;         /* (owned) the view's lifetime */
  GCancellable  *refresh_cancellable; /* (owned) (nullable) current page */
  GCancellable  *search_cancellable;  /* (owned) (nullable) */

  GListStore *store;   /* (owned) the loaded prefix of the queue */
  GListStore *matches; /* (owned) search results */
  GHashTable *loaded;  /* (owned) id -> MbQueueItem in store */
  GHashTable *found;   /* (owned) id -> MbQueueItem in matches */
  guint       total;
  gboolean    loading;
  gboolean    complete;

  char    *needle; /* (owned) (nullable) lower-case search text */
  guint    search_offset;
  gboolean searching;

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

static void load_more (MbQueueView *self);
static void search_next_page (MbQueueView *self);

/* Helpers */

static gboolean
is_connected (MbQueueView *self)
{
  return mb_relay_client_get_connection (self->client)
         == MB_RELAY_CONNECTION_CONNECTED;
}

static const char *
dict_id (GVariant *dict)
{
  const char *id = NULL;

  g_variant_lookup (dict, "id", "&s", &id);
  return id;
}

static gboolean
is_pending (MbQueueView *self, const char *id)
{
  return self->pending_item != NULL
         && g_strcmp0 (mb_queue_item_get_id (self->pending_item), id) == 0;
}

static void
update_footer (MbQueueView *self)
{
  g_autofree char *text = NULL;
  guint    n_loaded = g_list_model_get_n_items (G_LIST_MODEL (self->store));
  guint    n_matches = g_list_model_get_n_items (G_LIST_MODEL (self->matches));
  guint    total = is_connected (self)
                       ? mb_relay_client_get_queue_length (self->client)
                       : self->total;
  gboolean busy;

  if (!is_connected (self))
    text = g_strdup (_ ("Not connected to the relay."));
  else if (self->needle != NULL && self->searching)
    text
        = g_strdup_printf (ngettext ("Searching… %u match so far",
                                     "Searching… %u matches so far", n_matches),
                           n_matches);
  else if (self->needle != NULL && n_matches >= MAX_MATCHES)
    text = g_strdup_printf (_ ("Showing the first %u matches: refine the "
                               "search to see others."),
                            n_matches);
  else if (self->needle != NULL)
    text = g_strdup_printf (ngettext ("%u message matches",
                                      "%u messages "
                                      "match",
                                      n_matches),
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

  busy = self->loading || self->searching;
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

static void
log_first_rows (MbQueueView *self, const char *what)
{
  guint n = g_list_model_get_n_items (G_LIST_MODEL (self->store));

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
      || g_list_model_get_n_items (G_LIST_MODEL (self->store)) == 0)
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

/* The item for @dict: the loaded or found one (updated), else a new one. */
static MbQueueItem *
ensure_item (MbQueueView *self, GVariant *dict, const char *id)
{
  MbQueueItem *item = g_hash_table_lookup (self->loaded, id);

  if (item == NULL)
    item = g_hash_table_lookup (self->found, id);
  if (item == NULL)
    return mb_queue_item_new (dict);
  mb_queue_item_update (item, dict);
  return g_object_ref (item);
}

static void
append_page (MbQueueView *self, GVariant *messages)
{
  g_autoptr (GPtrArray) added = g_ptr_array_new_with_free_func (g_object_unref);
  GVariantIter iter;
  GVariant    *dict;

  g_variant_iter_init (&iter, messages);
  while ((dict = g_variant_iter_next_value (&iter)) != NULL)
    {
      const char *id = dict_id (dict);

      if (id != NULL && !is_pending (self, id))
        {
          MbQueueItem *item = g_hash_table_lookup (self->loaded, id);

          if (item != NULL)
            mb_queue_item_update (item, dict);
          else
            {
              item = ensure_item (self, dict, id);
              g_hash_table_insert (self->loaded, g_strdup (id),
                                   g_object_ref (item));
              g_ptr_array_add (added, item);
            }
        }
      g_variant_unref (dict);
    }
  /* One items-changed for the whole page. */
  g_list_store_splice (self->store,
                       g_list_model_get_n_items (G_LIST_MODEL (self->store)), 0,
                       added->pdata, added->len);
}

/* Makes the store equal to @messages (the queue's prefix), in place. */
static void
merge_prefix (MbQueueView *self, GVariant *messages)
{
  g_autoptr (GHashTable) wanted = g_hash_table_new (g_str_hash, g_str_equal);
  GVariantIter iter;
  GVariant    *dict;
  guint        pos = 0;

  g_variant_iter_init (&iter, messages);
  while ((dict = g_variant_iter_next_value (&iter)) != NULL)
    {
      const char *id = dict_id (dict);

      if (id != NULL)
        g_hash_table_add (wanted, (gpointer)id); /* lives in @messages */
      g_variant_unref (dict);
    }

  for (guint i = g_list_model_get_n_items (G_LIST_MODEL (self->store)); i > 0;
       i--)
    {
      g_autoptr (MbQueueItem) item
          = g_list_model_get_item (G_LIST_MODEL (self->store), i - 1);
      const char *id = mb_queue_item_get_id (item);

      if (!g_hash_table_contains (wanted, id))
        {
          g_list_store_remove (self->store, i - 1);
          g_hash_table_remove (self->loaded, id);
        }
    }

  g_variant_iter_init (&iter, messages);
  while ((dict = g_variant_iter_next_value (&iter)) != NULL)
    {
      const char  *id = dict_id (dict);
      MbQueueItem *item;

      if (id == NULL || is_pending (self, id))
        {
          g_variant_unref (dict);
          continue;
        }
      item = g_hash_table_lookup (self->loaded, id);
      if (item != NULL)
        {
          g_autoptr (MbQueueItem) here
              = g_list_model_get_item (G_LIST_MODEL (self->store), pos);
          guint old;

          mb_queue_item_update (item, dict);
          if (here != item && g_list_store_find (self->store, item, &old))
            {
              g_object_ref (item);
              g_list_store_remove (self->store, old);
              g_list_store_insert (self->store, pos, item);
              g_object_unref (item);
            }
        }
      else
        {
          g_autoptr (MbQueueItem) added = ensure_item (self, dict, id);

          g_hash_table_insert (self->loaded, g_strdup (id),
                               g_object_ref (added));
          g_list_store_insert (self->store, pos, added);
        }
      pos++;
      g_variant_unref (dict);
    }
}

static void
remove_from_store (GListStore *store, GHashTable *table, GHashTable *ids)
{
  for (guint i = g_list_model_get_n_items (G_LIST_MODEL (store)); i > 0; i--)
    {
      g_autoptr (MbQueueItem) item
          = g_list_model_get_item (G_LIST_MODEL (store), i - 1);
      const char *id = mb_queue_item_get_id (item);

      if (g_hash_table_contains (ids, id))
        {
          g_list_store_remove (store, i - 1);
          g_hash_table_remove (table, id);
        }
    }
}

static void
remove_ids (MbQueueView *self, const char *const *removed)
{
  g_autoptr (GHashTable) ids = g_hash_table_new (g_str_hash, g_str_equal);

  for (guint i = 0; removed[i] != NULL; i++)
    if (g_hash_table_contains (self->loaded, removed[i])
        || g_hash_table_contains (self->found, removed[i]))
      g_hash_table_add (ids, (gpointer)removed[i]);
  if (g_hash_table_size (ids) == 0)
    return;
  remove_from_store (self->store, self->loaded, ids);
  remove_from_store (self->matches, self->found, ids);
}

/* Paging */

static gboolean
near_end (MbQueueView *self)
{
  GtkAdjustment *adj = gtk_scrolled_window_get_vadjustment (self->scrolled);
  double left = gtk_adjustment_get_upper (adj) - gtk_adjustment_get_value (adj)
                - gtk_adjustment_get_page_size (adj);

  return left < 2 * gtk_adjustment_get_page_size (adj);
}

static void
page_loaded_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GVariant) messages = NULL;
  MbQueueView *self;
  guint        total = 0;

  messages = mb_relay_client_list_queue_finish (MB_RELAY_CLIENT (source),
                                                result, &total, &error);
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;
  self = MB_QUEUE_VIEW (user_data);
  self->loading = FALSE;
  if (messages == NULL)
    {
      show_error (self, _ ("Could not read the queue:"), error);
      update_footer (self);
      return;
    }
  append_page (self, messages);
  self->total = total;
  self->complete
      = g_variant_n_children (messages) == 0
        || g_list_model_get_n_items (G_LIST_MODEL (self->store)) >= total;
  note_first_rows (self);
  update_footer (self);
  if (!self->complete && self->needle == NULL && near_end (self))
    load_more (self);
}

static void
load_more (MbQueueView *self)
{
  guint n = g_list_model_get_n_items (G_LIST_MODEL (self->store));

  if (self->loading || self->complete || !is_connected (self))
    return;
  self->loading = TRUE;
  g_cancellable_cancel (self->refresh_cancellable);
  g_clear_object (&self->refresh_cancellable);
  self->refresh_cancellable = g_cancellable_new ();
  mb_relay_client_list_queue_async (self->client, n, n == 0 ? FIRST_PAGE : PAGE,
                                    self->refresh_cancellable, page_loaded_cb,
                                    self);
  update_footer (self);
}

static void
refreshed_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GVariant) messages = NULL;
  MbQueueView *self;
  guint        total = 0;

  messages = mb_relay_client_list_queue_finish (MB_RELAY_CLIENT (source),
                                                result, &total, &error);
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;
  self = MB_QUEUE_VIEW (user_data);
  self->loading = FALSE;
  if (messages == NULL)
    {
      show_error (self, _ ("Could not read the queue:"), error);
      update_footer (self);
      return;
    }
  merge_prefix (self, messages);
  self->total = total;
  self->complete
      = g_list_model_get_n_items (G_LIST_MODEL (self->store)) >= total;
  note_first_rows (self);
  update_footer (self);
}

/* Re-reads the loaded prefix and merges it; cancels any page in flight. */
static void
refresh (MbQueueView *self)
{
  guint n = g_list_model_get_n_items (G_LIST_MODEL (self->store));

  if (!is_connected (self))
    return;
  if (n == 0)
    {
      self->complete = FALSE;
      self->loading = FALSE;
      load_more (self);
      return;
    }
  g_cancellable_cancel (self->refresh_cancellable);
  g_clear_object (&self->refresh_cancellable);
  self->refresh_cancellable = g_cancellable_new ();
  self->loading = TRUE;
  mb_relay_client_list_queue_async (
      self->client, 0, n, self->refresh_cancellable, refreshed_cb, self);
}

static void
message_reread_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GVariant) envelope = NULL;
  MbQueueView *self;
  MbQueueItem *item;
  const char  *id;

  if (!mb_relay_client_show_message_finish (MB_RELAY_CLIENT (source), result,
                                            &envelope, NULL, &error))
    {
      /* Gone meanwhile: its QueueChanged removal follows. */
      if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        g_debug ("re-reading a message failed: %s", error->message);
      return;
    }
  self = MB_QUEUE_VIEW (user_data);
  id = dict_id (envelope);
  if (id == NULL)
    return;
  item = g_hash_table_lookup (self->loaded, id);
  if (item == NULL)
    item = g_hash_table_lookup (self->found, id);
  if (item != NULL)
    mb_queue_item_update (item, envelope);
}

/* Search */

static void
search_page_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GVariant) messages = NULL;
  g_autoptr (GPtrArray) hits = g_ptr_array_new_with_free_func (g_object_unref);
  MbQueueView *self;
  GVariantIter iter;
  GVariant    *dict;
  guint        total = 0;
  guint        n_matches;

  messages = mb_relay_client_list_queue_finish (MB_RELAY_CLIENT (source),
                                                result, &total, &error);
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;
  self = MB_QUEUE_VIEW (user_data);
  if (messages == NULL)
    {
      self->searching = FALSE;
      show_error (self, _ ("Could not search the queue:"), error);
      update_footer (self);
      return;
    }

  n_matches = g_list_model_get_n_items (G_LIST_MODEL (self->matches));
  g_variant_iter_init (&iter, messages);
  while ((dict = g_variant_iter_next_value (&iter)) != NULL)
    {
      const char *id = dict_id (dict);

      if (id != NULL && !is_pending (self, id)
          && !g_hash_table_contains (self->found, id)
          && n_matches + hits->len < MAX_MATCHES)
        {
          g_autoptr (MbQueueItem) item = ensure_item (self, dict, id);

          if (mb_queue_item_matches (item, self->needle))
            {
              g_hash_table_insert (self->found, g_strdup (id),
                                   g_object_ref (item));
              g_ptr_array_add (hits, g_steal_pointer (&item));
            }
        }
      g_variant_unref (dict);
    }
  g_list_store_splice (self->matches, n_matches, 0, hits->pdata, hits->len);

  self->search_offset += (guint)g_variant_n_children (messages);
  self->searching = g_variant_n_children (messages) > 0
                    && self->search_offset < total
                    && n_matches + hits->len < MAX_MATCHES;
  if (self->searching)
    search_next_page (self);
  update_footer (self);
}

static void
search_next_page (MbQueueView *self)
{
  mb_relay_client_list_queue_async (self->client, self->search_offset,
                                    SEARCH_PAGE, self->search_cancellable,
                                    search_page_cb, self);
}

static GtkWidget *
create_row_cb (gpointer item, gpointer user_data)
{
  return mb_queue_row_new (MB_QUEUE_ITEM (item));
}

static void
stop_search (MbQueueView *self)
{
  g_cancellable_cancel (self->search_cancellable);
  g_clear_object (&self->search_cancellable);
  self->searching = FALSE;
  g_list_store_remove_all (self->matches);
  g_hash_table_remove_all (self->found);
}

static void
start_search (MbQueueView *self, const char *text)
{
  gboolean was_searching = self->needle != NULL;

  stop_search (self);
  g_clear_pointer (&self->needle, g_free);
  if (text == NULL || *text == '\0')
    {
      if (was_searching)
        gtk_list_box_bind_model (self->queue_list, G_LIST_MODEL (self->store),
                                 create_row_cb, self, NULL);
      gtk_label_set_text (self->placeholder_label,
                          _ ("The queue is empty. Every message the relay "
                             "accepts waits here until Microsoft 365 takes "
                             "it."));
      update_footer (self);
      if (near_end (self))
        load_more (self);
      return;
    }

  self->needle = g_utf8_strdown (text, -1);
  if (!was_searching)
    gtk_list_box_bind_model (self->queue_list, G_LIST_MODEL (self->matches),
                             create_row_cb, self, NULL);
  gtk_label_set_text (self->placeholder_label,
                      _ ("No queued message matches the search."));
  if (!is_connected (self))
    {
      update_footer (self);
      return;
    }
  self->search_cancellable = g_cancellable_new ();
  self->search_offset = 0;
  self->searching = TRUE;
  search_next_page (self);
  update_footer (self);
}

/* Undoable delete */

static void
delete_done_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (MbQueueView) self = user_data; /* (nullable) */
  g_autoptr (GError) error = NULL;

  if (mb_relay_client_delete_message_finish (MB_RELAY_CLIENT (source), result,
                                             &error)
      || g_error_matches (error, MB_RELAY_CLIENT_ERROR,
                          MB_RELAY_CLIENT_ERROR_NOT_FOUND))
    return;
  g_warning ("deleting a message failed: %s", error->message);
  if (self == NULL || gtk_widget_in_destruction (GTK_WIDGET (self)))
    return;
  show_error (self, _ ("The message could not be deleted:"), error);
  /* It is no longer pending: the refresh brings it back. */
  refresh (self);
}

/* Sends the pending delete; @self_alive is FALSE from dispose. */
static void
commit_pending_delete (MbQueueView *self, gboolean self_alive)
{
  g_autoptr (MbQueueItem) item = g_steal_pointer (&self->pending_item);

  g_clear_handle_id (&self->pending_timeout_id, g_source_remove);
  if (item == NULL)
    return;
  mb_relay_client_delete_message_async (
      self->client, mb_queue_item_get_id (item), NULL, delete_done_cb,
      self_alive ? g_object_ref (self) : NULL);
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
  guint        position = 0;
  g_autoptr (GHashTable) ids = g_hash_table_new (g_str_hash, g_str_equal);

  commit_pending_delete (self, TRUE);

  item = g_hash_table_lookup (self->loaded, id);
  if (item == NULL)
    item = g_hash_table_lookup (self->found, id);
  if (item == NULL)
    return;
  self->pending_item = g_object_ref (item);
  if (!g_list_store_find (self->store, item, &position))
    position = G_MAXUINT;
  self->pending_position = position;

  g_hash_table_add (ids, (gpointer)mb_queue_item_get_id (item));
  remove_from_store (self->store, self->loaded, ids);
  remove_from_store (self->matches, self->found, ids);

  show_notification (self, _ ("Message deleted"), TRUE);
  self->pending_timeout_id
      = g_timeout_add_seconds (UNDO_TIMEOUT_S, pending_timeout_cb, self);
}

static void
on_undo_clicked_cb (GtkButton *button, gpointer user_data)
{
  MbQueueView *self = user_data;
  g_autoptr (MbQueueItem) item = g_steal_pointer (&self->pending_item);
  guint n = g_list_model_get_n_items (G_LIST_MODEL (self->store));

  g_clear_handle_id (&self->pending_timeout_id, g_source_remove);
  gtk_revealer_set_reveal_child (self->notification_revealer, FALSE);
  if (item == NULL)
    return;
  if (self->pending_position != G_MAXUINT)
    {
      g_hash_table_insert (self->loaded, g_strdup (mb_queue_item_get_id (item)),
                           g_object_ref (item));
      g_list_store_insert (self->store, MIN (self->pending_position, n), item);
    }
  if (self->needle != NULL && mb_queue_item_matches (item, self->needle))
    {
      g_hash_table_insert (self->found, g_strdup (mb_queue_item_get_id (item)),
                           g_object_ref (item));
      g_list_store_insert (self->matches, 0, item);
    }
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
              _ ("The message could not be "
                 "retried:"),
              error);
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
  MbQueueView     *self;
  guint            count = 0;

  if (!mb_relay_client_retry_all_finish (MB_RELAY_CLIENT (source), result,
                                         &count, &error))
    {
      if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        show_error (MB_QUEUE_VIEW (user_data), _ ("Retry all failed:"), error);
      return;
    }
  self = MB_QUEUE_VIEW (user_data);
  if (count == 0)
    text = g_strdup (_ ("No message is waiting for a retry."));
  else
    text = g_strdup_printf (
        ngettext ("Retrying %u message now", "Retrying %u messages now", count),
        count);
  show_notification (self, text, FALSE);
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
on_queue_changed_cb (MbRelayClient *client,
                     GStrv          changed,
                     GStrv          removed,
                     gpointer       user_data)
{
  MbQueueView *self = user_data;
  guint        known = 0;
  gboolean     unknown = FALSE;

  remove_ids (self, (const char *const *)removed);
  for (guint i = 0; changed[i] != NULL; i++)
    {
      if (g_hash_table_contains (self->loaded, changed[i])
          || g_hash_table_contains (self->found, changed[i]))
        known++;
      else if (!is_pending (self, changed[i]))
        unknown = TRUE;
    }

  if (known > FEW_CHANGES)
    refresh (self);
  else
    for (guint i = 0; changed[i] != NULL && known > 0; i++)
      if (g_hash_table_contains (self->loaded, changed[i])
          || g_hash_table_contains (self->found, changed[i]))
        mb_relay_client_show_message_async (
            client, changed[i], self->cancellable, message_reread_cb, self);

  /* New messages join the end of the queue: show them when the end is
   * loaded, else they come with a later page. */
  if (unknown && self->complete && !self->loading)
    {
      self->complete = FALSE;
      load_more (self);
    }
  update_footer (self);
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
  if (is_connected (self))
    {
      refresh (self);
      if (self->needle != NULL)
        {
          g_autofree char *text = g_strdup (self->needle);

          start_search (self, text);
        }
    }
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
  MbQueueView *self = user_data;

  if (self->needle == NULL && near_end (self))
    load_more (self);
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
  g_cancellable_cancel (self->cancellable);
  g_cancellable_cancel (self->refresh_cancellable);
  g_cancellable_cancel (self->search_cancellable);
  g_clear_handle_id (&self->notice_timeout_id, g_source_remove);
  g_clear_handle_id (&self->clock_id, g_source_remove);
  g_clear_object (&self->refresh_cancellable);
  g_clear_object (&self->search_cancellable);
  g_clear_object (&self->client);
  G_OBJECT_CLASS (mb_queue_view_parent_class)->dispose (object);
}

static void
mb_queue_view_finalize (GObject *object)
{
  MbQueueView *self = MB_QUEUE_VIEW (object);

  g_clear_object (&self->cancellable);
  g_clear_object (&self->store);
  g_clear_object (&self->matches);
  g_clear_pointer (&self->loaded, g_hash_table_unref);
  g_clear_pointer (&self->found, g_hash_table_unref);
  g_free (self->needle);
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
  self->store = g_list_store_new (MB_TYPE_QUEUE_ITEM);
  self->matches = g_list_store_new (MB_TYPE_QUEUE_ITEM);
  self->loaded
      = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_object_unref);
  self->found
      = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_object_unref);

  g_action_map_add_action_entries (G_ACTION_MAP (group), actions,
                                   G_N_ELEMENTS (actions), self);
  gtk_widget_insert_action_group (GTK_WIDGET (self), "queue",
                                  G_ACTION_GROUP (group));

  gtk_list_box_bind_model (self->queue_list, G_LIST_MODEL (self->store),
                           create_row_cb, self, NULL);
  g_signal_connect_object (gtk_scrolled_window_get_vadjustment (self->scrolled),
                           "value-changed", G_CALLBACK (on_scrolled_cb), self,
                           0);
  self->clock_id
      = g_timeout_add_seconds (CLOCK_INTERVAL_S, clock_tick_cb, self);
}

GtkWidget *
mb_queue_view_new (MbRelayClient *client)
{
  MbQueueView *self;

  g_return_val_if_fail (MB_IS_RELAY_CLIENT (client), NULL);

  self = g_object_new (MB_TYPE_QUEUE_VIEW, NULL);
  self->client = g_object_ref (client);
  g_signal_connect_object (client, "queue-changed",
                           G_CALLBACK (on_queue_changed_cb), self, 0);
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
