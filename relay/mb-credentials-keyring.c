/* mb-credentials-keyring.c - the routes' secrets in the Secret Service
 *
 * WHAT IT DOES
 *   Implements MbCredentials on libsecret's asynchronous API: items of the
 *   schema org.mailbridge.Secret with the attributes route, kind and
 *   expires (unix seconds, "0" for none), labelled "Mailbridge: KIND for
 *   route ROUTE".  Lookups search by route and kind, unlocking the
 *   collection if needed, and read the newest matching item.  Stores write
 *   the item, then delete every other item of the same route and kind.
 *   Clears delete every item of the route and kind.
 *
 * GUARANTEES
 *   - Nothing blocks: every step is a libsecret async call whose callback
 *     runs on the main context the object was called from.
 *   - Writes (store, clear) run one at a time, in call order, so two
 *     stores of the same secret cannot delete each other's item.
 *   - A secret and its expiry live in one item and change together.
 *   - Secrets pass through libsecret's non-pageable memory and are freed
 *     with secret_password_free(); our copies are wiped by the caller
 *     (mb_smtp_secret_free()).  No secret is ever logged; errors name the
 *     route and kind only.
 *
 * WHAT IT DOES NOT DO
 *   Prompt on its own (the Secret Service may, to unlock a collection),
 *   create collections, or fall back to the secrets file: a keyring that
 *   cannot be reached is MB_CREDENTIALS_ERROR_UNAVAILABLE, and the admin
 *   sets [relay] secrets for headless use.
 */
#define G_LOG_DOMAIN "mb-credentials-keyring"

#include "mb-credentials-keyring.h"

#include "mb-smtp-reply.h"

#include <string.h>

#define ATTR_ROUTE "route"
#define ATTR_KIND "kind"
#define ATTR_EXPIRES "expires"

struct _MbCredentialsKeyring
{
  MbCredentials parent_instance;

  GQueue *writes; /* (owned) GTask of store/clear; the head is running */
};

/* A store (secret != NULL) or a clear. */
typedef struct
{
  char   *route;   /* (owned) */
  char   *kind;    /* (owned) */
  char   *secret;  /* (owned) (nullable) wiped on free */
  char   *expires; /* (owned) (nullable) "expires" of the item to keep */
  guint   pending; /* deletions in flight */
  GError *error;   /* (owned) (nullable) first deletion error */
} WriteData;

G_DEFINE_FINAL_TYPE (MbCredentialsKeyring,
                     mb_credentials_keyring,
                     MB_TYPE_CREDENTIALS)

static void start_write (MbCredentialsKeyring *self);

static const SecretSchema schema = {
  .name = MB_CREDENTIALS_KEYRING_SCHEMA_NAME,
  .flags = SECRET_SCHEMA_NONE,
  .attributes = {
      { ATTR_ROUTE, SECRET_SCHEMA_ATTRIBUTE_STRING },
      { ATTR_KIND, SECRET_SCHEMA_ATTRIBUTE_STRING },
      { ATTR_EXPIRES, SECRET_SCHEMA_ATTRIBUTE_STRING },
      { NULL, 0 },
  },
};

static void
write_data_free (WriteData *data)
{
  g_free (data->route);
  g_free (data->kind);
  mb_smtp_secret_free (data->secret);
  g_free (data->expires);
  g_clear_error (&data->error);
  g_free (data);
}

/* Helpers */

static GHashTable *
make_attributes (const char *route, const char *kind)
{
  GHashTable *attributes
      = g_hash_table_new_full (g_str_hash, g_str_equal, NULL, g_free);

  /* Copies: libsecret keeps a reference to the table (not to copies of
   * its strings) until it has reached the secret service, after the
   * caller's strings may be gone. */
  if (route != NULL)
    g_hash_table_insert (attributes, ATTR_ROUTE, g_strdup (route));
  if (kind != NULL)
    g_hash_table_insert (attributes, ATTR_KIND, g_strdup (kind));
  return attributes;
}

/* "expires" of an item as unix seconds; 0 when absent or not a number. */
static gint64
parse_expires (const char *text)
{
  guint64 value = 0;

  if (text == NULL
      || !g_ascii_string_to_unsigned (text, 10, 0, G_MAXINT64, &value, NULL))
    return 0;
  return (gint64)value;
}

/* Our error for a libsecret/D-Bus failure; cancellation stays as it is
 * so callers can tell it apart. */
static GError *
map_error (GError *error, const char *what)
{
  int code = MB_CREDENTIALS_ERROR_FAILED;

  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return g_error_copy (error);
  if (error->domain == G_DBUS_ERROR
      || g_error_matches (error, G_IO_ERROR, G_IO_ERROR_DBUS_ERROR)
      || g_error_matches (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND)
      || g_error_matches (error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED)
      || g_error_matches (error, SECRET_ERROR, SECRET_ERROR_IS_LOCKED)
      || g_error_matches (error, SECRET_ERROR, SECRET_ERROR_NO_SUCH_OBJECT))
    code = MB_CREDENTIALS_ERROR_UNAVAILABLE;
  return g_error_new (MB_CREDENTIALS_ERROR, code, "keyring: cannot %s: %s%s",
                      what, error->message,
                      code == MB_CREDENTIALS_ERROR_UNAVAILABLE
                          ? " (without a desktop keyring, set [relay] "
                            "secrets to a 0600 secrets file)"
                          : "");
}

/* The newest item of @items (stale duplicates written by other tools
 * lose). (transfer none) (nullable) */
static SecretRetrievable *
pick_newest (GList *items)
{
  SecretRetrievable *best = NULL;

  for (GList *l = items; l != NULL; l = l->next)
    if (best == NULL
        || secret_retrievable_get_modified (l->data)
               > secret_retrievable_get_modified (best))
      best = l->data;
  return best;
}

static gint64
get_item_expires (SecretRetrievable *item)
{
  g_autoptr (GHashTable) attributes = secret_retrievable_get_attributes (item);

  return parse_expires (g_hash_table_lookup (attributes, ATTR_EXPIRES));
}

/* What secret_password_search_finish() returns. */
typedef GList SecretRetrievableList;

static void
free_items (SecretRetrievableList *items)
{
  g_list_free_full (items, g_object_unref);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (SecretRetrievableList, free_items)

/* Callbacks: lookup */

static void
lookup_retrieved_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  g_autoptr (GError) error = NULL;
  SecretValue *value;
  char        *password;
  char        *copy;

  value = secret_retrievable_retrieve_secret_finish (
      SECRET_RETRIEVABLE (source), result, &error);
  if (value == NULL)
    {
      if (error == NULL)
        g_task_return_pointer (task, NULL, NULL);
      else
        g_task_return_error (task, map_error (error, "read the secret"));
      return;
    }
  password = secret_value_unref_to_password (value, NULL);
  if (password == NULL)
    {
      g_task_return_new_error (task, MB_CREDENTIALS_ERROR,
                               MB_CREDENTIALS_ERROR_FAILED,
                               "keyring: the item is not a text secret");
      return;
    }
  copy = g_strdup (password);
  secret_password_free (password);
  g_task_return_pointer (task, copy, (GDestroyNotify)mb_smtp_secret_free);
}

static void
lookup_searched_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  g_autoptr (GError) error = NULL;
  g_autoptr (SecretRetrievableList) items = NULL;
  SecretRetrievable *item;
  GCancellable      *cancellable;
  gint64            *expires = g_task_get_task_data (task);

  items = secret_password_search_finish (result, &error);
  if (error != NULL)
    {
      g_task_return_error (task, map_error (error, "search"));
      return;
    }
  item = pick_newest (items);
  if (item == NULL)
    {
      g_task_return_pointer (task, NULL, NULL);
      return;
    }
  *expires = get_item_expires (item);
  cancellable = g_task_get_cancellable (task);
  secret_retrievable_retrieve_secret (item, cancellable, lookup_retrieved_cb,
                                      g_steal_pointer (&task));
}

static void
expiry_searched_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  g_autoptr (GError) error = NULL;
  g_autoptr (SecretRetrievableList) items = NULL;
  SecretRetrievable *item;
  gint64            *expires = g_task_get_task_data (task);

  items = secret_password_search_finish (result, &error);
  if (error != NULL)
    {
      g_task_return_error (task, map_error (error, "search"));
      return;
    }
  item = pick_newest (items);
  *expires = item != NULL ? get_item_expires (item) : 0;
  g_task_return_boolean (task, TRUE);
}

static void
list_searched_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  g_autoptr (GError) error = NULL;
  g_autoptr (SecretRetrievableList) items = NULL;
  g_autoptr (GHashTable) newest = NULL;
  g_autoptr (GPtrArray) list = NULL;
  GHashTableIter iter;
  gpointer       value;

  items = secret_password_search_finish (result, &error);
  if (error != NULL)
    {
      g_task_return_error (task, map_error (error, "search"));
      return;
    }
  /* One entry per route and kind: the newest item's. */
  newest = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  for (GList *l = items; l != NULL; l = l->next)
    {
      g_autoptr (GHashTable) attributes
          = secret_retrievable_get_attributes (l->data);
      const char        *route = g_hash_table_lookup (attributes, ATTR_ROUTE);
      const char        *kind = g_hash_table_lookup (attributes, ATTR_KIND);
      SecretRetrievable *seen;
      char              *key;

      if (route == NULL || kind == NULL)
        continue;
      key = g_strconcat (route, "\n", kind, NULL);
      seen = g_hash_table_lookup (newest, key);
      if (seen == NULL
          || secret_retrievable_get_modified (l->data)
                 > secret_retrievable_get_modified (seen))
        g_hash_table_replace (newest, key, l->data);
      else
        g_free (key);
    }
  list = g_ptr_array_new_with_free_func (
      (GDestroyNotify)mb_credentials_expiry_free);
  g_hash_table_iter_init (&iter, newest);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    {
      g_autoptr (GHashTable) attributes
          = secret_retrievable_get_attributes (value);
      gint64 expires
          = parse_expires (g_hash_table_lookup (attributes, ATTR_EXPIRES));

      if (expires > 0)
        g_ptr_array_add (list, mb_credentials_expiry_new (
                                   g_hash_table_lookup (attributes, ATTR_ROUTE),
                                   g_hash_table_lookup (attributes, ATTR_KIND),
                                   expires));
    }
  g_task_return_pointer (task, g_steal_pointer (&list),
                         (GDestroyNotify)g_ptr_array_unref);
}

/* Callbacks: writes, in execution order (store → search → delete) */

/* Ends the running write and starts the next one before returning, so
 * a callback that queues a new write finds the queue in order.  Leaves
 * self alone afterwards: the last task may hold the last reference. */
static void
finish_write (GTask *task)
{
  MbCredentialsKeyring *self = g_task_get_source_object (task);
  WriteData            *data = g_task_get_task_data (task);

  g_assert (g_queue_peek_head (self->writes) == task);
  g_queue_pop_head (self->writes);
  start_write (self);
  if (data->error != NULL)
    g_task_return_error (task, g_steal_pointer (&data->error));
  else
    g_task_return_boolean (task, TRUE);
  g_object_unref (task);
}

static void
write_deleted_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  GTask     *task = user_data;
  WriteData *data = g_task_get_task_data (task);
  g_autoptr (GError) error = NULL;
  gboolean ok;

  if (SECRET_IS_ITEM (source))
    ok = secret_item_delete_finish (SECRET_ITEM (source), result, &error);
  else
    ok = secret_password_clear_finish (result, &error);
  if (!ok && error != NULL && data->error == NULL)
    data->error = map_error (error, "remove an old item");
  if (--data->pending == 0)
    finish_write (task);
}

static void
write_searched_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  GTask     *task = user_data;
  WriteData *data = g_task_get_task_data (task);
  g_autoptr (GError) error = NULL;
  g_autoptr (SecretRetrievableList) items = NULL;
  GCancellable *cancellable = g_task_get_cancellable (task);

  items = secret_password_search_finish (result, &error);
  if (error != NULL)
    {
      data->error = map_error (error, "search");
      finish_write (task);
      return;
    }
  /* Hold one count while starting, so a deletion that completes at once
   * cannot finish the write early. */
  data->pending = 1;
  for (GList *l = items; l != NULL; l = l->next)
    {
      g_autoptr (GHashTable) attributes
          = secret_retrievable_get_attributes (l->data);
      const char *expires = g_hash_table_lookup (attributes, ATTR_EXPIRES);

      if (data->expires != NULL && g_strcmp0 (expires, data->expires) == 0)
        continue;
      data->pending++;
      if (SECRET_IS_ITEM (l->data))
        secret_item_delete (l->data, cancellable, write_deleted_cb, task);
      else
        secret_password_clearv (&schema, attributes, cancellable,
                                write_deleted_cb, task);
    }
  if (--data->pending == 0)
    finish_write (task);
}

static void
search_for_write (GTask *task)
{
  WriteData *data = g_task_get_task_data (task);
  g_autoptr (GHashTable) attributes = make_attributes (data->route, data->kind);

  secret_password_searchv (
      &schema, attributes, SECRET_SEARCH_ALL | SECRET_SEARCH_UNLOCK,
      g_task_get_cancellable (task), write_searched_cb, task);
}

static void
write_stored_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  GTask     *task = user_data;
  WriteData *data = g_task_get_task_data (task);
  g_autoptr (GError) error = NULL;

  if (!secret_password_store_finish (result, &error))
    {
      data->error = map_error (error, "store the secret");
      finish_write (task);
      return;
    }
  search_for_write (task);
}

static void
start_write (MbCredentialsKeyring *self)
{
  GTask     *task = g_queue_peek_head (self->writes);
  WriteData *data;

  if (task == NULL)
    return;
  data = g_task_get_task_data (task);
  if (g_cancellable_set_error_if_cancelled (g_task_get_cancellable (task),
                                            &data->error))
    {
      finish_write (task);
      return;
    }
  if (data->secret != NULL)
    {
      g_autoptr (GHashTable) attributes
          = make_attributes (data->route, data->kind);
      g_autofree char *label
          = mb_credentials_keyring_make_label (data->route, data->kind);

      g_hash_table_insert (attributes, ATTR_EXPIRES, g_strdup (data->expires));
      secret_password_storev (
          &schema, attributes, SECRET_COLLECTION_DEFAULT, label, data->secret,
          g_task_get_cancellable (task), write_stored_cb, task);
    }
  else
    search_for_write (task);
}

static void
queue_write (MbCredentialsKeyring *self, GTask *task)
{
  g_queue_push_tail (self->writes, g_object_ref (task));
  if (g_queue_get_length (self->writes) == 1)
    start_write (self);
}

/* Overrides */

/* Starts a search for the items of @route and @kind, unlocking the
 * keyring if needed; @searched_cb finishes @source_tag's task, whose data
 * is a gint64 for the expiry found. */
static void
search_items (MbCredentials      *credentials,
              const char         *route,
              const char         *kind,
              gpointer            source_tag,
              GAsyncReadyCallback searched_cb,
              GCancellable       *cancellable,
              GAsyncReadyCallback callback,
              gpointer            user_data)
{
  g_autoptr (GTask) task = NULL;
  g_autoptr (GHashTable) attributes = make_attributes (route, kind);

  task = g_task_new (credentials, cancellable, callback, user_data);
  g_task_set_source_tag (task, source_tag);
  g_task_set_task_data (task, g_new0 (gint64, 1), g_free);
  secret_password_searchv (&schema, attributes,
                           SECRET_SEARCH_ALL | SECRET_SEARCH_UNLOCK,
                           cancellable, searched_cb, g_steal_pointer (&task));
}

static void
keyring_lookup_async (MbCredentials      *credentials,
                      const char         *route,
                      const char         *kind,
                      GCancellable       *cancellable,
                      GAsyncReadyCallback callback,
                      gpointer            user_data)
{
  search_items (credentials, route, kind, keyring_lookup_async,
                lookup_searched_cb, cancellable, callback, user_data);
}

static void
keyring_store_async (MbCredentials      *credentials,
                     const char         *route,
                     const char         *kind,
                     const char         *secret,
                     gint64              expires_at,
                     GCancellable       *cancellable,
                     GAsyncReadyCallback callback,
                     gpointer            user_data)
{
  g_autoptr (GTask) task = NULL;
  WriteData *data = g_new0 (WriteData, 1);

  data->route = g_strdup (route);
  data->kind = g_strdup (kind);
  data->secret = g_strdup (secret);
  data->expires = g_strdup_printf ("%" G_GINT64_FORMAT, expires_at);
  task = g_task_new (credentials, cancellable, callback, user_data);
  g_task_set_source_tag (task, keyring_store_async);
  g_task_set_task_data (task, data, (GDestroyNotify)write_data_free);
  queue_write (MB_CREDENTIALS_KEYRING (credentials), task);
}

static void
keyring_clear_async (MbCredentials      *credentials,
                     const char         *route,
                     const char         *kind,
                     GCancellable       *cancellable,
                     GAsyncReadyCallback callback,
                     gpointer            user_data)
{
  g_autoptr (GTask) task = NULL;
  WriteData *data = g_new0 (WriteData, 1);

  data->route = g_strdup (route);
  data->kind = g_strdup (kind);
  task = g_task_new (credentials, cancellable, callback, user_data);
  g_task_set_source_tag (task, keyring_clear_async);
  g_task_set_task_data (task, data, (GDestroyNotify)write_data_free);
  queue_write (MB_CREDENTIALS_KEYRING (credentials), task);
}

static void
keyring_lookup_expiry_async (MbCredentials      *credentials,
                             const char         *route,
                             const char         *kind,
                             GCancellable       *cancellable,
                             GAsyncReadyCallback callback,
                             gpointer            user_data)
{
  search_items (credentials, route, kind, keyring_lookup_expiry_async,
                expiry_searched_cb, cancellable, callback, user_data);
}

static void
keyring_list_expiries_async (MbCredentials      *credentials,
                             GCancellable       *cancellable,
                             GAsyncReadyCallback callback,
                             gpointer            user_data)
{
  g_autoptr (GTask) task = NULL;
  g_autoptr (GHashTable) attributes = make_attributes (NULL, NULL);

  task = g_task_new (credentials, cancellable, callback, user_data);
  g_task_set_source_tag (task, keyring_list_expiries_async);
  /* No attributes: every item of our schema (libsecret adds xdg:schema). */
  secret_password_searchv (
      &schema, attributes, SECRET_SEARCH_ALL | SECRET_SEARCH_UNLOCK,
      cancellable, list_searched_cb, g_steal_pointer (&task));
}

static void
mb_credentials_keyring_finalize (GObject *object)
{
  MbCredentialsKeyring *self = MB_CREDENTIALS_KEYRING (object);

  /* Each queued write holds a reference on us through its task. */
  g_assert (g_queue_is_empty (self->writes));
  g_queue_free (self->writes);
  G_OBJECT_CLASS (mb_credentials_keyring_parent_class)->finalize (object);
}

static void
mb_credentials_keyring_class_init (MbCredentialsKeyringClass *klass)
{
  GObjectClass       *object_class = G_OBJECT_CLASS (klass);
  MbCredentialsClass *credentials_class = MB_CREDENTIALS_CLASS (klass);

  object_class->finalize = mb_credentials_keyring_finalize;
  credentials_class->lookup_async = keyring_lookup_async;
  credentials_class->store_async = keyring_store_async;
  credentials_class->clear_async = keyring_clear_async;
  credentials_class->lookup_expiry_async = keyring_lookup_expiry_async;
  credentials_class->list_expiries_async = keyring_list_expiries_async;
}

static void
mb_credentials_keyring_init (MbCredentialsKeyring *self)
{
  self->writes = g_queue_new ();
}

/* Public API */

MbCredentialsKeyring *
mb_credentials_keyring_new (void)
{
  return g_object_new (MB_TYPE_CREDENTIALS_KEYRING, NULL);
}

const SecretSchema *
mb_credentials_keyring_get_schema (void)
{
  return &schema;
}

char *
mb_credentials_keyring_make_label (const char *route, const char *kind)
{
  g_autofree char *words = g_strdup (kind);

  g_return_val_if_fail (route != NULL && kind != NULL, NULL);

  /* "client-secret" reads "client secret" in the keyring manager. */
  g_strdelimit (words, "-", ' ');
  return g_strdup_printf ("Mailbridge: %s for route %s", words, route);
}
