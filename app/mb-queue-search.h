/* mb-queue-search.h - search over the whole relay queue
 *
 * The queue view loads only a prefix of the queue, so a search cannot look
 * at the loaded rows alone: the relay searches its queue (SearchQueue,
 * case-insensitively over the id, sender, recipients, route and replies)
 * and answers with the first MB_QUEUE_SEARCH_MAX_MATCHES matches, which
 * go, checked again with mb_queue_item_matches, into this object's own
 * GListStore.  Items
 * the model has loaded are shared, so a match follows the same updates;
 * the others follow QueueChanged here.  A new text cancels the scan under
 * way (its own GCancellable).
 */
#pragma once

#include <gio/gio.h>

#include "mb-queue-item.h"
#include "mb-queue-model.h"
#include "mb-relay-client.h"

G_BEGIN_DECLS

#define MB_QUEUE_SEARCH_MAX_MATCHES 500

#define MB_TYPE_QUEUE_SEARCH (mb_queue_search_get_type ())
G_DECLARE_FINAL_TYPE (MbQueueSearch, mb_queue_search, MB, QUEUE_SEARCH, GObject)

MbQueueSearch *mb_queue_search_new (MbRelayClient *client, MbQueueModel *model);

/* (transfer none) The matches so far, a GListModel of MbQueueItem. */
GListModel *mb_queue_search_get_matches (MbQueueSearch *self);
/* Starts a scan for @text; NULL or "" stops searching and empties the
 * matches. */
void mb_queue_search_set_text (MbQueueSearch *self, const char *text);
/* (nullable) The lower-case text searched for, NULL when not searching. */
const char *mb_queue_search_get_needle (MbQueueSearch *self);
/* Property "scanning" (notifies): a scan is under way. */
gboolean mb_queue_search_get_scanning (MbQueueSearch *self);
/* (transfer none) (nullable) A matched item. */
MbQueueItem *mb_queue_search_lookup (MbQueueSearch *self, const char *id);
/* Takes @item out of the matches (a delete under way). */
void mb_queue_search_forget (MbQueueSearch *self, MbQueueItem *item);
/* Puts @item back at the top of the matches if it matches (an undo). */
void mb_queue_search_restore (MbQueueSearch *self, MbQueueItem *item);

/* Signals: "failed" (GError *): a page could not be read; the scan
 * stops. */

G_END_DECLS
