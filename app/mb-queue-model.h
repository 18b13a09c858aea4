/* mb-queue-model.h - a live, paged mirror of the relay's queue
 *
 * A GListStore of MbQueueItem holding a prefix of the queue (oldest first):
 * the first page once the relay is connected, the next whenever
 * mb_queue_model_load_more() is called (the view calls it as the list
 * nears its end), so a queue of 100,000 messages costs one page.
 * QueueChanged is applied in place: removed ids leave the store, a few
 * changed ids are re-read one by one (ShowMessage), a burst re-reads the
 * loaded prefix in one ListQueue call and merges it by id; new messages
 * join the end once the end is loaded.  The store is never rebuilt.  Each
 * page or refresh owns a fresh GCancellable, so an older answer never
 * overwrites a newer one.
 *
 * Hidden ids (a delete the admin may still undo) stay out of the store
 * whatever the relay says, until unhidden.
 */
#pragma once

#include <gio/gio.h>

#include "mb-queue-item.h"
#include "mb-relay-client.h"

G_BEGIN_DECLS

#define MB_TYPE_QUEUE_MODEL (mb_queue_model_get_type ())
G_DECLARE_FINAL_TYPE (MbQueueModel, mb_queue_model, MB, QUEUE_MODEL, GObject)

MbQueueModel *mb_queue_model_new (MbRelayClient *client);

/* (transfer none) The loaded prefix, a GListModel of MbQueueItem. */
GListModel *mb_queue_model_get_items (MbQueueModel *self);
/* Reads the next page unless one is in flight or all is loaded. */
void mb_queue_model_load_more (MbQueueModel *self);
/* Properties "loading" (a page or refresh is in flight) and "complete"
 * (the whole queue is loaded); both notify. */
gboolean mb_queue_model_get_loading (MbQueueModel *self);
gboolean mb_queue_model_get_complete (MbQueueModel *self);
/* (transfer none) (nullable) The loaded item of @id. */
MbQueueItem *mb_queue_model_lookup (MbQueueModel *self, const char *id);

/* Takes @item out of the store (if there) and keeps it out; returns its
 * position, G_MAXUINT if it was not loaded. */
guint mb_queue_model_hide (MbQueueModel *self, MbQueueItem *item);
/* Puts a hidden item back at @position (clamped), or only forgets it
 * when @position is G_MAXUINT. */
void
mb_queue_model_unhide (MbQueueModel *self, MbQueueItem *item, guint position);
gboolean mb_queue_model_is_hidden (MbQueueModel *self, const char *id);

/* Signals: "failed" (GError *): a page or refresh could not be read. */

G_END_DECLS
