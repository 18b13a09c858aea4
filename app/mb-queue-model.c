/* mb-queue-model.c - a live, paged mirror of the relay's queue */
#define G_LOG_DOMAIN "mb-queue-model"

#include "mb-queue-model.h"

#define FIRST_PAGE 100
#define PAGE 200
#define FEW_CHANGES 50

struct _MbQueueModel
{
  GObject parent_instance;

  MbRelayClient *client;              /* (owned) */
  GCancellable  *cancellable;         /* (owned) the model's lifetime */
  GCancellable  *refresh_cancellable; /* (owned) (nullable) current page */
  GListStore    *store;               /* (owned) the loaded prefix */
  GHashTable    *loaded;              /* (owned) id -> MbQueueItem */
  GHashTable    *hidden;              /* (owned) set of ids */
  gboolean       loading;
  gboolean       complete;
};

enum
{
  PROP_0,
  PROP_LOADING,
  PROP_COMPLETE,
  N_PROPS
};

enum
{
  SIGNAL_FAILED,
  N_SIGNALS
};

static GParamSpec *props[N_PROPS];
static guint       signals[N_SIGNALS];

G_DEFINE_TYPE (MbQueueModel, mb_queue_model, G_TYPE_OBJECT)

/* Helpers */

static gboolean
is_connected (MbQueueModel *self)
{
  return mb_relay_client_get_connection (self->client)
         == MB_RELAY_CONNECTION_CONNECTED;
}

static guint
n_loaded (MbQueueModel *self)
{
  return g_list_model_get_n_items (G_LIST_MODEL (self->store));
}

static void
set_flags (MbQueueModel *self, gboolean loading, gboolean complete)
{
  g_object_freeze_notify (G_OBJECT (self));
  if (self->loading != loading)
    {
      self->loading = loading;
      g_object_notify_by_pspec (G_OBJECT (self), props[PROP_LOADING]);
    }
  if (self->complete != complete)
    {
      self->complete = complete;
      g_object_notify_by_pspec (G_OBJECT (self), props[PROP_COMPLETE]);
    }
  g_object_thaw_notify (G_OBJECT (self));
}

static GCancellable *
renew_refresh_cancellable (MbQueueModel *self)
{
  g_cancellable_cancel (self->refresh_cancellable);
  g_clear_object (&self->refresh_cancellable);
  self->refresh_cancellable = g_cancellable_new ();
  return self->refresh_cancellable;
}

static void
append_page (MbQueueModel *self, GVariant *messages)
{
  g_autoptr (GPtrArray) added = g_ptr_array_new_with_free_func (g_object_unref);
  GVariantIter iter;
  GVariant    *dict;

  g_variant_iter_init (&iter, messages);
  while ((dict = g_variant_iter_next_value (&iter)) != NULL)
    {
      const char  *id = mb_queue_item_dict_get_id (dict);
      MbQueueItem *item
          = id != NULL ? g_hash_table_lookup (self->loaded, id) : NULL;

      if (item != NULL)
        mb_queue_item_update (item, dict);
      else if (id != NULL && !g_hash_table_contains (self->hidden, id))
        {
          item = mb_queue_item_new (dict);
          g_hash_table_insert (self->loaded, g_strdup (id),
                               g_object_ref (item));
          g_ptr_array_add (added, item);
        }
      g_variant_unref (dict);
    }
  /* One items-changed for the whole page. */
  g_list_store_splice (self->store, n_loaded (self), 0, added->pdata,
                       added->len);
}

/* Makes the store equal to @messages (the queue's prefix), in place. */
static void
merge_prefix (MbQueueModel *self, GVariant *messages)
{
  g_autoptr (GHashTable) wanted = g_hash_table_new (g_str_hash, g_str_equal);
  GVariantIter iter;
  GVariant    *dict;
  guint        pos = 0;

  g_variant_iter_init (&iter, messages);
  while ((dict = g_variant_iter_next_value (&iter)) != NULL)
    {
      const char *id = mb_queue_item_dict_get_id (dict);

      if (id != NULL)
        g_hash_table_add (wanted, (gpointer)id); /* lives in @messages */
      g_variant_unref (dict);
    }

  for (guint i = n_loaded (self); i > 0; i--)
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
      const char  *id = mb_queue_item_dict_get_id (dict);
      MbQueueItem *item;

      if (id == NULL || g_hash_table_contains (self->hidden, id))
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
          /* The queue's order is stable; this only repairs a race. */
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
          g_autoptr (MbQueueItem) added = mb_queue_item_new (dict);

          g_hash_table_insert (self->loaded, g_strdup (id),
                               g_object_ref (added));
          g_list_store_insert (self->store, pos, added);
        }
      pos++;
      g_variant_unref (dict);
    }
}

/* Callbacks */

static void
page_loaded_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GVariant) messages = NULL;
  MbQueueModel *self;
  guint         total = 0;

  messages = mb_relay_client_list_queue_finish (MB_RELAY_CLIENT (source),
                                                result, &total, &error);
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;
  self = MB_QUEUE_MODEL (user_data);
  if (messages == NULL)
    {
      set_flags (self, FALSE, self->complete);
      g_signal_emit (self, signals[SIGNAL_FAILED], 0, error);
      return;
    }
  append_page (self, messages);
  set_flags (self, FALSE,
             g_variant_n_children (messages) == 0 || n_loaded (self) >= total);
}

static void
refreshed_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GVariant) messages = NULL;
  MbQueueModel *self;
  guint         total = 0;

  messages = mb_relay_client_list_queue_finish (MB_RELAY_CLIENT (source),
                                                result, &total, &error);
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;
  self = MB_QUEUE_MODEL (user_data);
  if (messages == NULL)
    {
      set_flags (self, FALSE, self->complete);
      g_signal_emit (self, signals[SIGNAL_FAILED], 0, error);
      return;
    }
  merge_prefix (self, messages);
  set_flags (self, FALSE, n_loaded (self) >= total);
}

/* Re-reads the loaded prefix and merges it; cancels any page in flight. */
static void
refresh (MbQueueModel *self)
{
  if (!is_connected (self))
    return;
  if (n_loaded (self) == 0)
    {
      set_flags (self, FALSE, FALSE);
      mb_queue_model_load_more (self);
      return;
    }
  mb_relay_client_list_queue_async (self->client, 0, n_loaded (self),
                                    renew_refresh_cancellable (self),
                                    refreshed_cb, self);
  set_flags (self, TRUE, self->complete);
}

static void
message_reread_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GVariant) envelope = NULL;
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
  id = mb_queue_item_dict_get_id (envelope);
  item = id != NULL
             ? g_hash_table_lookup (MB_QUEUE_MODEL (user_data)->loaded, id)
             : NULL;
  if (item != NULL)
    mb_queue_item_update (item, envelope);
}

static void
on_queue_changed_cb (MbRelayClient *client,
                     GStrv          changed,
                     GStrv          removed,
                     gpointer       user_data)
{
  MbQueueModel *self = user_data;
  guint         known = 0;
  gboolean      unknown = FALSE;

  g_autoptr (GHashTable) gone = g_hash_table_new (g_str_hash, g_str_equal);

  for (guint i = 0; removed[i] != NULL; i++)
    if (g_hash_table_contains (self->loaded, removed[i]))
      g_hash_table_add (gone, removed[i]);
  /* One pass over the store, however long the burst. */
  for (guint i = n_loaded (self); i > 0 && g_hash_table_size (gone) > 0; i--)
    {
      g_autoptr (MbQueueItem) item
          = g_list_model_get_item (G_LIST_MODEL (self->store), i - 1);

      if (g_hash_table_contains (gone, mb_queue_item_get_id (item)))
        {
          g_hash_table_remove (self->loaded, mb_queue_item_get_id (item));
          g_list_store_remove (self->store, i - 1);
        }
    }

  for (guint i = 0; changed[i] != NULL; i++)
    {
      if (g_hash_table_contains (self->loaded, changed[i]))
        known++;
      else if (!g_hash_table_contains (self->hidden, changed[i]))
        unknown = TRUE;
    }
  if (known > FEW_CHANGES)
    refresh (self);
  else
    for (guint i = 0; changed[i] != NULL && known > 0; i++)
      if (g_hash_table_contains (self->loaded, changed[i]))
        mb_relay_client_show_message_async (
            client, changed[i], self->cancellable, message_reread_cb, self);

  /* New messages join the end of the queue: fetch them when the end is
   * loaded, else they come with a later page. */
  if (unknown && self->complete && !self->loading)
    {
      set_flags (self, FALSE, FALSE);
      mb_queue_model_load_more (self);
    }
}

static void
on_connection_changed_cb (GObject    *object,
                          GParamSpec *pspec,
                          gpointer    user_data)
{
  refresh (MB_QUEUE_MODEL (user_data));
}

/* Overrides */

static void
mb_queue_model_get_property (GObject    *object,
                             guint       prop_id,
                             GValue     *value,
                             GParamSpec *pspec)
{
  MbQueueModel *self = MB_QUEUE_MODEL (object);

  switch (prop_id)
    {
    case PROP_LOADING:
      g_value_set_boolean (value, self->loading);
      break;
    case PROP_COMPLETE:
      g_value_set_boolean (value, self->complete);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
mb_queue_model_dispose (GObject *object)
{
  MbQueueModel *self = MB_QUEUE_MODEL (object);

  if (self->client != NULL)
    g_signal_handlers_disconnect_by_data (self->client, self);
  g_cancellable_cancel (self->cancellable);
  g_cancellable_cancel (self->refresh_cancellable);
  g_clear_object (&self->refresh_cancellable);
  g_clear_object (&self->client);
  G_OBJECT_CLASS (mb_queue_model_parent_class)->dispose (object);
}

static void
mb_queue_model_finalize (GObject *object)
{
  MbQueueModel *self = MB_QUEUE_MODEL (object);

  g_clear_object (&self->cancellable);
  g_clear_object (&self->store);
  g_clear_pointer (&self->loaded, g_hash_table_unref);
  g_clear_pointer (&self->hidden, g_hash_table_unref);
  G_OBJECT_CLASS (mb_queue_model_parent_class)->finalize (object);
}

static void
mb_queue_model_class_init (MbQueueModelClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->get_property = mb_queue_model_get_property;
  object_class->dispose = mb_queue_model_dispose;
  object_class->finalize = mb_queue_model_finalize;

  props[PROP_LOADING] = g_param_spec_boolean (
      "loading", NULL, NULL, FALSE,
      G_PARAM_READABLE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);
  props[PROP_COMPLETE] = g_param_spec_boolean (
      "complete", NULL, NULL, FALSE,
      G_PARAM_READABLE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);
  g_object_class_install_properties (object_class, N_PROPS, props);

  signals[SIGNAL_FAILED]
      = g_signal_new ("failed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0,
                      NULL, NULL, NULL, G_TYPE_NONE, 1, G_TYPE_ERROR);
}

static void
mb_queue_model_init (MbQueueModel *self)
{
  self->cancellable = g_cancellable_new ();
  self->store = g_list_store_new (MB_TYPE_QUEUE_ITEM);
  self->loaded
      = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_object_unref);
  self->hidden = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
}

/* Public API */

MbQueueModel *
mb_queue_model_new (MbRelayClient *client)
{
  MbQueueModel *self;

  g_return_val_if_fail (MB_IS_RELAY_CLIENT (client), NULL);

  self = g_object_new (MB_TYPE_QUEUE_MODEL, NULL);
  self->client = g_object_ref (client);
  g_signal_connect_object (client, "queue-changed",
                           G_CALLBACK (on_queue_changed_cb), self, 0);
  g_signal_connect_object (client, "notify::connection",
                           G_CALLBACK (on_connection_changed_cb), self, 0);
  refresh (self);
  return self;
}

GListModel *
mb_queue_model_get_items (MbQueueModel *self)
{
  g_return_val_if_fail (MB_IS_QUEUE_MODEL (self), NULL);
  return G_LIST_MODEL (self->store);
}

void
mb_queue_model_load_more (MbQueueModel *self)
{
  guint n;

  g_return_if_fail (MB_IS_QUEUE_MODEL (self));

  if (self->loading || self->complete || !is_connected (self))
    return;
  n = n_loaded (self);
  mb_relay_client_list_queue_async (self->client, n, n == 0 ? FIRST_PAGE : PAGE,
                                    renew_refresh_cancellable (self),
                                    page_loaded_cb, self);
  set_flags (self, TRUE, FALSE);
}

gboolean
mb_queue_model_get_loading (MbQueueModel *self)
{
  g_return_val_if_fail (MB_IS_QUEUE_MODEL (self), FALSE);
  return self->loading;
}

gboolean
mb_queue_model_get_complete (MbQueueModel *self)
{
  g_return_val_if_fail (MB_IS_QUEUE_MODEL (self), FALSE);
  return self->complete;
}

MbQueueItem *
mb_queue_model_lookup (MbQueueModel *self, const char *id)
{
  g_return_val_if_fail (MB_IS_QUEUE_MODEL (self), NULL);
  return g_hash_table_lookup (self->loaded, id);
}

guint
mb_queue_model_hide (MbQueueModel *self, MbQueueItem *item)
{
  const char *id;
  guint       position;

  g_return_val_if_fail (MB_IS_QUEUE_MODEL (self), G_MAXUINT);
  g_return_val_if_fail (MB_IS_QUEUE_ITEM (item), G_MAXUINT);

  id = mb_queue_item_get_id (item);
  g_hash_table_add (self->hidden, g_strdup (id));
  if (!g_list_store_find (self->store, item, &position))
    return G_MAXUINT;
  g_list_store_remove (self->store, position);
  g_hash_table_remove (self->loaded, id);
  return position;
}

void
mb_queue_model_unhide (MbQueueModel *self, MbQueueItem *item, guint position)
{
  const char *id;

  g_return_if_fail (MB_IS_QUEUE_MODEL (self));
  g_return_if_fail (MB_IS_QUEUE_ITEM (item));

  id = mb_queue_item_get_id (item);
  g_hash_table_remove (self->hidden, id);
  if (position == G_MAXUINT || g_hash_table_contains (self->loaded, id))
    return;
  g_hash_table_insert (self->loaded, g_strdup (id), g_object_ref (item));
  g_list_store_insert (self->store, MIN (position, n_loaded (self)), item);
}

gboolean
mb_queue_model_is_hidden (MbQueueModel *self, const char *id)
{
  g_return_val_if_fail (MB_IS_QUEUE_MODEL (self), FALSE);
  return g_hash_table_contains (self->hidden, id);
}
