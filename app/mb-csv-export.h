/* mb-csv-export.h - delivery log records as CSV (RFC 4180)
 *
 * Pure text building, no I/O: the Log page pages through ReadLog, appends
 * each record here and writes the result with g_file_replace_contents_async.
 * Fields are quoted when they hold a comma, a double quote, CR or LF, or
 * start or end with a space; double quotes inside are doubled; every
 * record, the header included, ends with CRLF (RFC 4180 section 2).
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Appends one field, quoted as needed. */
void mb_csv_append_field (GString *out, const char *field);
/* Appends @n_fields fields separated by commas and a CRLF. */
void
mb_csv_append_row (GString *out, const char *const *fields, gsize n_fields);

/* The header row of a log export (column names are stable English
 * identifiers, for spreadsheets and scripts). */
void mb_csv_append_log_header (GString *out);
/* One log record (an a{sv} with the keys of ReadLog); @explanation is the
 * hint's text in the admin's language, or NULL for the relay's own. The
 * time is ISO 8601 in UTC. */
void mb_csv_append_log_record (GString    *out,
                               GVariant   *record,
                               const char *explanation);

G_END_DECLS
