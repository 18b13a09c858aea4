/* mb-queue-item.h - one queued message, as the queue view's GListStore holds
 * it
 *
 * Built from one dictionary of the relay's ListQueue reply (or the envelope
 * of ShowMessage) and updated in place from newer ones: each property
 * notifies only when its value changed, so a bound row redraws only what
 * moved.
 */
#pragma once

#include <glib-object.h>

G_BEGIN_DECLS

#define MB_TYPE_QUEUE_ITEM (mb_queue_item_get_type ())
G_DECLARE_FINAL_TYPE (MbQueueItem, mb_queue_item, MB, QUEUE_ITEM, GObject)

/* @dict: an a{sv} with the keys of ListQueue; it must hold "id". */
MbQueueItem *mb_queue_item_new (GVariant *dict);
/* Takes the values of @dict (same id); returns whether anything changed. */
gboolean mb_queue_item_update (MbQueueItem *self, GVariant *dict);
/* The queue id of one a{sv} entry of the relay's queue listing, or NULL.
 * (transfer none): points into @dict. */
const char *mb_queue_item_dict_get_id (GVariant *dict);

const char *mb_queue_item_get_id (MbQueueItem *self);
/* "" for the null sender */
const char *mb_queue_item_get_sender (MbQueueItem *self);
/* (element-type: a{sv}) The recipients as the relay sent them (aa{sv}). */
GVariant   *mb_queue_item_get_recipients (MbQueueItem *self);
guint       mb_queue_item_get_n_recipients (MbQueueItem *self);
guint64     mb_queue_item_get_size (MbQueueItem *self);
gint64      mb_queue_item_get_received (MbQueueItem *self);
guint       mb_queue_item_get_attempts (MbQueueItem *self);
gint64      mb_queue_item_get_next_attempt (MbQueueItem *self);
const char *mb_queue_item_get_last_reply (MbQueueItem *self);
const char *mb_queue_item_get_hint (MbQueueItem *self);
const char *mb_queue_item_get_hint_text (MbQueueItem *self);
const char *mb_queue_item_get_route (MbQueueItem *self);

/* Whether @needle (lower case) occurs in the id, sender, a recipient, the
 * route or the last reply, ignoring case. */
gboolean mb_queue_item_matches (MbQueueItem *self, const char *needle);

G_END_DECLS
