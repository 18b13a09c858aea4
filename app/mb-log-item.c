/* mb-log-item.c - one delivery log record */
#define G_LOG_DOMAIN "mb-log-item"

#include "mb-log-item.h"

struct _MbLogItem
{
  GObject parent_instance;

  GVariant *record; /* (owned) a{sv} */
};

G_DEFINE_TYPE (MbLogItem, mb_log_item, G_TYPE_OBJECT)

static void
mb_log_item_finalize (GObject *object)
{
  g_clear_pointer (&MB_LOG_ITEM (object)->record, g_variant_unref);
  G_OBJECT_CLASS (mb_log_item_parent_class)->finalize (object);
}

static void
mb_log_item_class_init (MbLogItemClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = mb_log_item_finalize;
}

static void
mb_log_item_init (MbLogItem *self)
{
}

MbLogItem *
mb_log_item_new (GVariant *record)
{
  MbLogItem *self;

  g_return_val_if_fail (record != NULL, NULL);
  g_return_val_if_fail (g_variant_is_of_type (record, G_VARIANT_TYPE_VARDICT),
                        NULL);

  self = g_object_new (MB_TYPE_LOG_ITEM, NULL);
  self->record = g_variant_ref_sink (record);
  return self;
}

GVariant *
mb_log_item_get_record (MbLogItem *self)
{
  g_return_val_if_fail (MB_IS_LOG_ITEM (self), NULL);
  return self->record;
}

const char *
mb_log_item_get_string (MbLogItem *self, const char *key)
{
  const char *value = "";

  g_return_val_if_fail (MB_IS_LOG_ITEM (self), "");

  /* The string points into self->record, which outlives the caller's use. */
  if (!g_variant_lookup (self->record, key, "&s", &value))
    return "";
  return value;
}

gint64
mb_log_item_get_time_us (MbLogItem *self)
{
  gint64 time_us = 0;

  g_return_val_if_fail (MB_IS_LOG_ITEM (self), 0);
  g_variant_lookup (self->record, "time_us", "x", &time_us);
  return time_us;
}
