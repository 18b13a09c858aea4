/* mb-queue-row.h - the queue view's row for one MbQueueItem
 *
 * Shows the sender, each recipient with its state, the age, attempts, next
 * attempt, the last reply and its plain-language hint; follows the item's
 * property changes.  Its Retry and Delete buttons activate "queue.retry"
 * and "queue.delete" with the message id as target, so the row needs no
 * signals of its own.
 */
#pragma once

#include <gtk/gtk.h>

#include "mb-queue-item.h"

G_BEGIN_DECLS

#define MB_TYPE_QUEUE_ROW (mb_queue_row_get_type ())
G_DECLARE_FINAL_TYPE (MbQueueRow, mb_queue_row, MB, QUEUE_ROW, GtkListBoxRow)

GtkWidget   *mb_queue_row_new (MbQueueItem *item);
MbQueueItem *mb_queue_row_get_item (MbQueueRow *self);
/* Rewrites the texts that depend on the clock ("5 minutes ago"). */
void mb_queue_row_update_time (MbQueueRow *self, gint64 now);

/* The translated word for a recipient state of the relay ("queued",
 * "deferred", ...); the word itself if unknown. */
const char *mb_queue_row_format_state (const char *state);

G_END_DECLS
