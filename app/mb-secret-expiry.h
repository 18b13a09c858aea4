#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* A client secret's expiry date as the admin types and reads it: the day
 * Microsoft Entra showed when the secret was made.  The relay keeps it as
 * midnight UTC of that day (relay/mb-credentials-file.h), so the day is
 * read and shown in UTC, never shifted by the local zone. */

/* Checks what the admin typed in "Expires on": empty (unknown: 0), a date
 * as 2027-03-01 (or an ISO 8601 time) or as 1.3.2027 (day first), after
 * @now (unix seconds).  Returns NULL with *@expires_at set, or what is
 * wrong (translated, static). */
const char *
mb_secret_expiry_check (const char *text, gint64 now, gint64 *expires_at);

/* The UTC day of @expires_at in the admin's date format ("2027-03-01"). */
char *mb_secret_expiry_format (gint64 expires_at);

G_END_DECLS
