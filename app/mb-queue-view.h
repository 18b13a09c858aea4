/* mb-queue-view.h - the Queue page: the relay's live queue
 *
 * A GListStore of MbQueueItem bound to a GtkListBox.  The first page comes
 * from ListQueue at once, further pages as the admin scrolls, so a queue
 * of 100,000 messages opens as fast as one of ten.  QueueChanged updates
 * the loaded items in place; the list is never rebuilt.  Search scans the
 * whole queue page by page in the background.  Delete is undoable: the
 * row disappears at once, an in-app notification offers Undo, and the
 * relay is told only when the notification times out.
 *
 * For the window (app/mb-window.c, owned by the shell):
 *
 *   GtkWidget *queue = mb_queue_view_new (client);
 *   gtk_stack_add_titled (stack, queue, "queue", _("Queue"));
 *
 * The page is a GtkBox with its own toolbar (search, Retry All,
 * Pause/Resume) and installs the action group "queue" on itself.
 * mb_queue_view_focus_search() is for a Ctrl+F accelerator.
 */
#pragma once

#include <gtk/gtk.h>

#include "mb-relay-client.h"

G_BEGIN_DECLS

#define MB_TYPE_QUEUE_VIEW (mb_queue_view_get_type ())
G_DECLARE_FINAL_TYPE (MbQueueView, mb_queue_view, MB, QUEUE_VIEW, GtkBox)

GtkWidget *mb_queue_view_new (MbRelayClient *client);
void       mb_queue_view_focus_search (MbQueueView *self);

G_END_DECLS
