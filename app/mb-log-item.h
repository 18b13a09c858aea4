/* mb-log-item.h - one delivery log record in a GListStore
 *
 * Log records never change, so the item is a thin immutable wrapper around
 * the a{sv} the relay sent (the keys of ReadLog).
 */
#pragma once

#include <glib-object.h>

G_BEGIN_DECLS

#define MB_TYPE_LOG_ITEM (mb_log_item_get_type ())
G_DECLARE_FINAL_TYPE (MbLogItem, mb_log_item, MB, LOG_ITEM, GObject)

/* Takes a reference on @record (sinks a floating one). */
MbLogItem *mb_log_item_new (GVariant *record);
GVariant  *mb_log_item_get_record (MbLogItem *self);
/* The string value of @key, "" if absent. */
const char *mb_log_item_get_string (MbLogItem *self, const char *key);
gint64      mb_log_item_get_time_us (MbLogItem *self);

G_END_DECLS
