/* mb-queue-search.c - search over the whole relay queue */
#define G_LOG_DOMAIN "mb-queue-search"

#include "mb-queue-search.h"

#define FEW_CHANGES 50

struct _MbQueueSearch
{
  GObject parent_instance;

  MbRelayClient *client;           /* (owned) */
  MbQueueModel  *model;            /* (owned) */
  GCancellable  *cancellable;      /* (owned) the object's lifetime */
  GCancellable  *scan_cancellable; /* (owned) (nullable) */
  GListStore    *matches;          /* (owned) */
  GHashTable    *found;            /* (owned) id -> MbQueueItem */
  char          *needle;           /* (owned) (nullable) */
  gboolean       scanning;
};

enum
{
  PROP_0,
  PROP_SCANNING,
  N_PROPS
};

enum
{
  SIGNAL_FAILED,
  N_SIGNALS
};

static GParamSpec *props[N_PROPS];
static guint       signals[N_SIGNALS];

G_DEFINE_TYPE (MbQueueSearch, mb_queue_search, G_TYPE_OBJECT)

static void
set_scanning (MbQueueSearch *self, gboolean scanning)
{
  if (self->scanning == scanning)
    return;
  self->scanning = scanning;
  g_object_notify_by_pspec (G_OBJECT (self), props[PROP_SCANNING]);
}

static guint
n_matches (MbQueueSearch *self)
{
  return g_list_model_get_n_items (G_LIST_MODEL (self->matches));
}

static void
page_scanned_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GVariant) messages = NULL;
  g_autoptr (GPtrArray) hits = g_ptr_array_new_with_free_func (g_object_unref);
  MbQueueSearch *self;
  GVariantIter   iter;
  GVariant      *dict;
  guint          before;

  messages = mb_relay_client_search_queue_finish (MB_RELAY_CLIENT (source),
                                                  result, NULL, &error);
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;
  self = MB_QUEUE_SEARCH (user_data);
  if (messages == NULL)
    {
      set_scanning (self, FALSE);
      g_signal_emit (self, signals[SIGNAL_FAILED], 0, error);
      return;
    }

  before = n_matches (self);
  g_variant_iter_init (&iter, messages);
  while ((dict = g_variant_iter_next_value (&iter)) != NULL)
    {
      const char *id = mb_queue_item_dict_get_id (dict);

      if (id != NULL && !mb_queue_model_is_hidden (self->model, id)
          && !g_hash_table_contains (self->found, id)
          && before + hits->len < MB_QUEUE_SEARCH_MAX_MATCHES)
        {
          MbQueueItem *loaded = mb_queue_model_lookup (self->model, id);
          /* Share the model's item, so both lists follow one update. */
          g_autoptr (MbQueueItem) hit = loaded != NULL
                                            ? g_object_ref (loaded)
                                            : mb_queue_item_new (dict);

          mb_queue_item_update (hit, dict);
          if (mb_queue_item_matches (hit, self->needle))
            {
              g_hash_table_insert (self->found, g_strdup (id),
                                   g_object_ref (hit));
              g_ptr_array_add (hits, g_steal_pointer (&hit));
            }
        }
      g_variant_unref (dict);
    }
  g_list_store_splice (self->matches, before, 0, hits->pdata, hits->len);
  set_scanning (self, FALSE);
}

static void
scan (MbQueueSearch *self)
{
  /* The relay filters: one answer with the first matches, whatever the
   * length of the queue. */
  mb_relay_client_search_queue_async (
      self->client, self->needle, MB_QUEUE_SEARCH_MAX_MATCHES,
      self->scan_cancellable, page_scanned_cb, self);
}

static void
match_reread_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GVariant) envelope = NULL;
  MbQueueItem *item;
  const char  *id;

  if (!mb_relay_client_show_message_finish (MB_RELAY_CLIENT (source), result,
                                            &envelope, NULL, NULL))
    return; /* cancelled, or gone: its removal follows */
  id = mb_queue_item_dict_get_id (envelope);
  item = id != NULL
             ? g_hash_table_lookup (MB_QUEUE_SEARCH (user_data)->found, id)
             : NULL;
  if (item != NULL)
    mb_queue_item_update (item, envelope);
}

/* The model follows the queue by itself; matches it has not loaded need
 * the same here. */
static void
on_queue_changed_cb (MbRelayClient *client,
                     GStrv          changed,
                     GStrv          removed,
                     gpointer       user_data)
{
  MbQueueSearch *self = user_data;
  guint          rereads = 0;

  for (guint i = 0; removed[i] != NULL; i++)
    {
      MbQueueItem *item = g_hash_table_lookup (self->found, removed[i]);

      if (item != NULL)
        mb_queue_search_forget (self, item);
    }
  for (guint i = 0; changed[i] != NULL && rereads < FEW_CHANGES; i++)
    if (g_hash_table_contains (self->found, changed[i])
        && mb_queue_model_lookup (self->model, changed[i]) == NULL)
      {
        rereads++;
        mb_relay_client_show_message_async (
            client, changed[i], self->cancellable, match_reread_cb, self);
      }
}

static void
on_connection_changed_cb (GObject    *object,
                          GParamSpec *pspec,
                          gpointer    user_data)
{
  MbQueueSearch   *self = user_data;
  g_autofree char *text = g_strdup (self->needle);

  /* A relay that came back may hold another queue: scan again. */
  if (text != NULL
      && mb_relay_client_get_connection (self->client)
             == MB_RELAY_CONNECTION_CONNECTED)
    mb_queue_search_set_text (self, text);
}

static void
mb_queue_search_get_property (GObject    *object,
                              guint       prop_id,
                              GValue     *value,
                              GParamSpec *pspec)
{
  switch (prop_id)
    {
    case PROP_SCANNING:
      g_value_set_boolean (value, MB_QUEUE_SEARCH (object)->scanning);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
mb_queue_search_dispose (GObject *object)
{
  MbQueueSearch *self = MB_QUEUE_SEARCH (object);

  if (self->client != NULL)
    g_signal_handlers_disconnect_by_data (self->client, self);
  g_cancellable_cancel (self->cancellable);
  g_cancellable_cancel (self->scan_cancellable);
  g_clear_object (&self->scan_cancellable);
  g_clear_object (&self->client);
  g_clear_object (&self->model);
  G_OBJECT_CLASS (mb_queue_search_parent_class)->dispose (object);
}

static void
mb_queue_search_finalize (GObject *object)
{
  MbQueueSearch *self = MB_QUEUE_SEARCH (object);

  g_clear_object (&self->cancellable);
  g_clear_object (&self->matches);
  g_clear_pointer (&self->found, g_hash_table_unref);
  g_free (self->needle);
  G_OBJECT_CLASS (mb_queue_search_parent_class)->finalize (object);
}

static void
mb_queue_search_class_init (MbQueueSearchClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->get_property = mb_queue_search_get_property;
  object_class->dispose = mb_queue_search_dispose;
  object_class->finalize = mb_queue_search_finalize;

  props[PROP_SCANNING] = g_param_spec_boolean (
      "scanning", NULL, NULL, FALSE,
      G_PARAM_READABLE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);
  g_object_class_install_properties (object_class, N_PROPS, props);

  signals[SIGNAL_FAILED]
      = g_signal_new ("failed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0,
                      NULL, NULL, NULL, G_TYPE_NONE, 1, G_TYPE_ERROR);
}

static void
mb_queue_search_init (MbQueueSearch *self)
{
  self->cancellable = g_cancellable_new ();
  self->matches = g_list_store_new (MB_TYPE_QUEUE_ITEM);
  self->found
      = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_object_unref);
}

MbQueueSearch *
mb_queue_search_new (MbRelayClient *client, MbQueueModel *model)
{
  MbQueueSearch *self;

  g_return_val_if_fail (MB_IS_RELAY_CLIENT (client), NULL);
  g_return_val_if_fail (MB_IS_QUEUE_MODEL (model), NULL);

  self = g_object_new (MB_TYPE_QUEUE_SEARCH, NULL);
  self->client = g_object_ref (client);
  self->model = g_object_ref (model);
  g_signal_connect_object (client, "queue-changed",
                           G_CALLBACK (on_queue_changed_cb), self, 0);
  g_signal_connect_object (client, "notify::connection",
                           G_CALLBACK (on_connection_changed_cb), self, 0);
  return self;
}

GListModel *
mb_queue_search_get_matches (MbQueueSearch *self)
{
  g_return_val_if_fail (MB_IS_QUEUE_SEARCH (self), NULL);
  return G_LIST_MODEL (self->matches);
}

void
mb_queue_search_set_text (MbQueueSearch *self, const char *text)
{
  g_return_if_fail (MB_IS_QUEUE_SEARCH (self));

  g_cancellable_cancel (self->scan_cancellable);
  g_clear_object (&self->scan_cancellable);
  g_list_store_remove_all (self->matches);
  g_hash_table_remove_all (self->found);
  g_clear_pointer (&self->needle, g_free);
  if (text == NULL || *text == '\0')
    {
      set_scanning (self, FALSE);
      return;
    }
  self->needle = g_utf8_strdown (text, -1);
  if (mb_relay_client_get_connection (self->client)
      != MB_RELAY_CONNECTION_CONNECTED)
    {
      set_scanning (self, FALSE);
      return;
    }
  self->scan_cancellable = g_cancellable_new ();
  set_scanning (self, TRUE);
  scan (self);
}

const char *
mb_queue_search_get_needle (MbQueueSearch *self)
{
  g_return_val_if_fail (MB_IS_QUEUE_SEARCH (self), NULL);
  return self->needle;
}

gboolean
mb_queue_search_get_scanning (MbQueueSearch *self)
{
  g_return_val_if_fail (MB_IS_QUEUE_SEARCH (self), FALSE);
  return self->scanning;
}

MbQueueItem *
mb_queue_search_lookup (MbQueueSearch *self, const char *id)
{
  g_return_val_if_fail (MB_IS_QUEUE_SEARCH (self), NULL);
  return g_hash_table_lookup (self->found, id);
}

void
mb_queue_search_forget (MbQueueSearch *self, MbQueueItem *item)
{
  guint position;

  g_return_if_fail (MB_IS_QUEUE_SEARCH (self));
  g_return_if_fail (MB_IS_QUEUE_ITEM (item));

  if (g_list_store_find (self->matches, item, &position))
    g_list_store_remove (self->matches, position);
  g_hash_table_remove (self->found, mb_queue_item_get_id (item));
}

void
mb_queue_search_restore (MbQueueSearch *self, MbQueueItem *item)
{
  const char *id;

  g_return_if_fail (MB_IS_QUEUE_SEARCH (self));
  g_return_if_fail (MB_IS_QUEUE_ITEM (item));

  id = mb_queue_item_get_id (item);
  if (self->needle == NULL || g_hash_table_contains (self->found, id)
      || !mb_queue_item_matches (item, self->needle))
    return;
  g_hash_table_insert (self->found, g_strdup (id), g_object_ref (item));
  g_list_store_insert (self->matches, 0, item);
}
