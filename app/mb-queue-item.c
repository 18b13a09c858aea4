/* mb-queue-item.c - one queued message in the queue view's model */
#define G_LOG_DOMAIN "mb-queue-item"

#include "mb-queue-item.h"

#include <string.h>

struct _MbQueueItem
{
  GObject parent_instance;

  char     *id;         /* (owned) */
  char     *sender;     /* (owned) */
  GVariant *recipients; /* (owned) aa{sv} */
  guint64   size;
  gint64    received;
  guint     attempts;
  gint64    next_attempt;
  char     *last_reply; /* (owned) */
  char     *hint;       /* (owned) */
  char     *hint_text;  /* (owned) */
  char     *route;      /* (owned) */
  char     *haystack;   /* (owned) (nullable) lower-case text for search */
};

enum
{
  PROP_0,
  PROP_ID,
  PROP_SENDER,
  PROP_RECIPIENTS,
  PROP_SIZE,
  PROP_RECEIVED,
  PROP_ATTEMPTS,
  PROP_NEXT_ATTEMPT,
  PROP_LAST_REPLY,
  PROP_HINT,
  PROP_HINT_TEXT,
  PROP_ROUTE,
  N_PROPS
};

static GParamSpec *props[N_PROPS];

G_DEFINE_TYPE (MbQueueItem, mb_queue_item, G_TYPE_OBJECT)

static void
take_string (MbQueueItem  *self,
             char        **field,
             GVariantDict *dict,
             const char   *key,
             guint         prop,
             gboolean     *changed)
{
  const char *value = "";

  g_variant_dict_lookup (dict, key, "&s", &value);
  if (g_strcmp0 (*field, value) == 0)
    return;
  g_free (*field);
  *field = g_strdup (value);
  *changed = TRUE;
  g_object_notify_by_pspec (G_OBJECT (self), props[prop]);
}

#define TAKE_NUMBER(self, field, dict, key, fmt, type, prop, changed)          \
  G_STMT_START                                                                 \
  {                                                                            \
    type value_ = 0;                                                           \
    g_variant_dict_lookup ((dict), (key), (fmt), &value_);                     \
    if ((self)->field != value_)                                               \
      {                                                                        \
        (self)->field = value_;                                                \
        *(changed) = TRUE;                                                     \
        g_object_notify_by_pspec (G_OBJECT (self), props[(prop)]);             \
      }                                                                        \
  }                                                                            \
  G_STMT_END

static void
mb_queue_item_get_property (GObject    *object,
                            guint       prop_id,
                            GValue     *value,
                            GParamSpec *pspec)
{
  MbQueueItem *self = MB_QUEUE_ITEM (object);

  switch (prop_id)
    {
    case PROP_ID:
      g_value_set_string (value, self->id);
      break;
    case PROP_SENDER:
      g_value_set_string (value, self->sender);
      break;
    case PROP_RECIPIENTS:
      g_value_set_variant (value, self->recipients);
      break;
    case PROP_SIZE:
      g_value_set_uint64 (value, self->size);
      break;
    case PROP_RECEIVED:
      g_value_set_int64 (value, self->received);
      break;
    case PROP_ATTEMPTS:
      g_value_set_uint (value, self->attempts);
      break;
    case PROP_NEXT_ATTEMPT:
      g_value_set_int64 (value, self->next_attempt);
      break;
    case PROP_LAST_REPLY:
      g_value_set_string (value, self->last_reply);
      break;
    case PROP_HINT:
      g_value_set_string (value, self->hint);
      break;
    case PROP_HINT_TEXT:
      g_value_set_string (value, self->hint_text);
      break;
    case PROP_ROUTE:
      g_value_set_string (value, self->route);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
mb_queue_item_finalize (GObject *object)
{
  MbQueueItem *self = MB_QUEUE_ITEM (object);

  g_free (self->id);
  g_free (self->sender);
  g_clear_pointer (&self->recipients, g_variant_unref);
  g_free (self->last_reply);
  g_free (self->hint);
  g_free (self->hint_text);
  g_free (self->route);
  g_free (self->haystack);
  G_OBJECT_CLASS (mb_queue_item_parent_class)->finalize (object);
}

static GParamSpec *
string_param (const char *name)
{
  return g_param_spec_string (name, NULL, NULL, "",
                              G_PARAM_READABLE | G_PARAM_STATIC_STRINGS
                                  | G_PARAM_EXPLICIT_NOTIFY);
}

static GParamSpec *
int64_param (const char *name)
{
  return g_param_spec_int64 (name, NULL, NULL, 0, G_MAXINT64, 0,
                             G_PARAM_READABLE | G_PARAM_STATIC_STRINGS
                                 | G_PARAM_EXPLICIT_NOTIFY);
}

static void
mb_queue_item_class_init (MbQueueItemClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->get_property = mb_queue_item_get_property;
  object_class->finalize = mb_queue_item_finalize;

  props[PROP_ID] = string_param ("id");
  props[PROP_SENDER] = string_param ("sender");
  props[PROP_RECIPIENTS] = g_param_spec_variant (
      "recipients", NULL, NULL, G_VARIANT_TYPE ("aa{sv}"), NULL,
      G_PARAM_READABLE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);
  props[PROP_SIZE] = g_param_spec_uint64 (
      "size", NULL, NULL, 0, G_MAXUINT64, 0,
      G_PARAM_READABLE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);
  props[PROP_RECEIVED] = int64_param ("received");
  props[PROP_ATTEMPTS] = g_param_spec_uint (
      "attempts", NULL, NULL, 0, G_MAXUINT, 0,
      G_PARAM_READABLE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);
  props[PROP_NEXT_ATTEMPT] = int64_param ("next-attempt");
  props[PROP_LAST_REPLY] = string_param ("last-reply");
  props[PROP_HINT] = string_param ("hint");
  props[PROP_HINT_TEXT] = string_param ("hint-text");
  props[PROP_ROUTE] = string_param ("route");
  g_object_class_install_properties (object_class, N_PROPS, props);
}

static void
mb_queue_item_init (MbQueueItem *self)
{
  self->recipients = g_variant_ref_sink (
      g_variant_new_array (G_VARIANT_TYPE ("a{sv}"), NULL, 0));
}

MbQueueItem *
mb_queue_item_new (GVariant *dict)
{
  MbQueueItem *self;
  const char  *id = NULL;

  g_return_val_if_fail (dict != NULL, NULL);

  self = g_object_new (MB_TYPE_QUEUE_ITEM, NULL);
  g_variant_lookup (dict, "id", "&s", &id);
  self->id = g_strdup (id != NULL ? id : "");
  mb_queue_item_update (self, dict);
  return self;
}

gboolean
mb_queue_item_update (MbQueueItem *self, GVariant *dict)
{
  g_auto (GVariantDict) d = G_VARIANT_DICT_INIT (dict);
  g_autoptr (GVariant) recipients = NULL;
  gboolean changed = FALSE;

  g_return_val_if_fail (MB_IS_QUEUE_ITEM (self), FALSE);

  g_object_freeze_notify (G_OBJECT (self));
  take_string (self, &self->sender, &d, "sender", PROP_SENDER, &changed);
  take_string (self, &self->last_reply, &d, "last_reply", PROP_LAST_REPLY,
               &changed);
  take_string (self, &self->hint, &d, "hint", PROP_HINT, &changed);
  take_string (self, &self->hint_text, &d, "hint_text", PROP_HINT_TEXT,
               &changed);
  take_string (self, &self->route, &d, "route", PROP_ROUTE, &changed);
  TAKE_NUMBER (self, size, &d, "size", "t", guint64, PROP_SIZE, &changed);
  TAKE_NUMBER (self, received, &d, "received", "x", gint64, PROP_RECEIVED,
               &changed);
  TAKE_NUMBER (self, attempts, &d, "attempts", "u", guint32, PROP_ATTEMPTS,
               &changed);
  TAKE_NUMBER (self, next_attempt, &d, "next_attempt", "x", gint64,
               PROP_NEXT_ATTEMPT, &changed);

  recipients = g_variant_dict_lookup_value (&d, "recipients",
                                            G_VARIANT_TYPE ("aa{sv}"));
  if (recipients != NULL && !g_variant_equal (recipients, self->recipients))
    {
      g_variant_unref (self->recipients);
      self->recipients = g_steal_pointer (&recipients);
      changed = TRUE;
      g_object_notify_by_pspec (G_OBJECT (self), props[PROP_RECIPIENTS]);
    }
  if (changed)
    g_clear_pointer (&self->haystack, g_free);
  g_object_thaw_notify (G_OBJECT (self));
  return changed;
}

const char *
mb_queue_item_get_id (MbQueueItem *self)
{
  g_return_val_if_fail (MB_IS_QUEUE_ITEM (self), NULL);
  return self->id;
}

const char *
mb_queue_item_get_sender (MbQueueItem *self)
{
  g_return_val_if_fail (MB_IS_QUEUE_ITEM (self), NULL);
  return self->sender;
}

GVariant *
mb_queue_item_get_recipients (MbQueueItem *self)
{
  g_return_val_if_fail (MB_IS_QUEUE_ITEM (self), NULL);
  return self->recipients;
}

guint
mb_queue_item_get_n_recipients (MbQueueItem *self)
{
  g_return_val_if_fail (MB_IS_QUEUE_ITEM (self), 0);
  return (guint)g_variant_n_children (self->recipients);
}

guint64
mb_queue_item_get_size (MbQueueItem *self)
{
  g_return_val_if_fail (MB_IS_QUEUE_ITEM (self), 0);
  return self->size;
}

gint64
mb_queue_item_get_received (MbQueueItem *self)
{
  g_return_val_if_fail (MB_IS_QUEUE_ITEM (self), 0);
  return self->received;
}

guint
mb_queue_item_get_attempts (MbQueueItem *self)
{
  g_return_val_if_fail (MB_IS_QUEUE_ITEM (self), 0);
  return self->attempts;
}

gint64
mb_queue_item_get_next_attempt (MbQueueItem *self)
{
  g_return_val_if_fail (MB_IS_QUEUE_ITEM (self), 0);
  return self->next_attempt;
}

const char *
mb_queue_item_get_last_reply (MbQueueItem *self)
{
  g_return_val_if_fail (MB_IS_QUEUE_ITEM (self), NULL);
  return self->last_reply;
}

const char *
mb_queue_item_get_hint (MbQueueItem *self)
{
  g_return_val_if_fail (MB_IS_QUEUE_ITEM (self), NULL);
  return self->hint;
}

const char *
mb_queue_item_get_hint_text (MbQueueItem *self)
{
  g_return_val_if_fail (MB_IS_QUEUE_ITEM (self), NULL);
  return self->hint_text;
}

const char *
mb_queue_item_get_route (MbQueueItem *self)
{
  g_return_val_if_fail (MB_IS_QUEUE_ITEM (self), NULL);
  return self->route;
}

static char *
build_haystack (MbQueueItem *self)
{
  g_autoptr (GString) text = g_string_new (NULL);
  GVariantIter iter;
  GVariant    *recipient;

  g_string_append_printf (text, "%s\n%s\n%s\n%s\n", self->id, self->sender,
                          self->route, self->last_reply);
  g_variant_iter_init (&iter, self->recipients);
  while ((recipient = g_variant_iter_next_value (&iter)) != NULL)
    {
      const char *address = "";

      g_variant_lookup (recipient, "address", "&s", &address);
      g_string_append_printf (text, "%s\n", address);
      g_variant_unref (recipient);
    }
  return g_utf8_strdown (text->str, (gssize)text->len);
}

gboolean
mb_queue_item_matches (MbQueueItem *self, const char *needle)
{
  g_return_val_if_fail (MB_IS_QUEUE_ITEM (self), FALSE);

  if (needle == NULL || *needle == '\0')
    return TRUE;
  if (self->haystack == NULL)
    self->haystack = build_haystack (self);
  return strstr (self->haystack, needle) != NULL;
}

const char *
mb_queue_item_dict_get_id (GVariant *dict)
{
  const char *id = NULL;

  g_variant_lookup (dict, "id", "&s", &id);
  return id;
}
