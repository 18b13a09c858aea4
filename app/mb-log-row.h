/* mb-log-row.h - one delivery log record in a list: time, status, sender
 * and recipient, the reply and, for a failure, its plain-language hint.
 * Used by the Log page and by a message's history (mb-message-details).
 */
#pragma once

#include <gtk/gtk.h>

#include "mb-log-item.h"

G_BEGIN_DECLS

#define MB_TYPE_LOG_ROW (mb_log_row_get_type ())
G_DECLARE_FINAL_TYPE (MbLogRow, mb_log_row, MB, LOG_ROW, GtkListBoxRow)

GtkWidget *mb_log_row_new (MbLogItem *item);

/* The translated word for a log status ("delivered", "deferred", ...). */
const char *mb_log_row_format_status (const char *status);
/* The local time of @time_us as "2026-11-24 14:05:31". */
char *mb_log_row_format_time (gint64 time_us);

G_END_DECLS
