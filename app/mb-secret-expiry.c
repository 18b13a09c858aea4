/* mb-secret-expiry.c - a client secret's expiry date, typed and shown */
#define G_LOG_DOMAIN "mb-secret-expiry"

#include "mb-secret-expiry.h"

#include <glib/gi18n.h>
#include <stdio.h>

#include "mb-credentials.h"

/* "1.3.2027" or "01.03.2027", as German and many other locales write it;
 * slashes are refused, since 3/1/2027 means two days. */
static gboolean
parse_day_first (const char *text, gint64 *expires_at)
{
  g_autoptr (GDateTime) when = NULL;
  unsigned day, month, year;
  int      end = 0;

  if (sscanf (text, "%2u.%2u.%4u%n", &day, &month, &year, &end) != 3
      || text[end] != '\0' || year < 1000
      || !g_date_valid_dmy (day, month, year))
    return FALSE;
  when = g_date_time_new_utc (year, month, day, 0, 0, 0);
  *expires_at = g_date_time_to_unix (when);
  return TRUE;
}

const char *
mb_secret_expiry_check (const char *text, gint64 now, gint64 *expires_at)
{
  g_autofree char *stripped = NULL;
  gint64           when = 0;

  g_return_val_if_fail (text != NULL, NULL);
  g_return_val_if_fail (expires_at != NULL, NULL);

  *expires_at = 0;
  stripped = g_strstrip (g_strdup (text));
  if (*stripped == '\0')
    return NULL;
  if (!mb_credentials_parse_expiry (stripped, &when)
      && !parse_day_first (stripped, &when))
    return _ ("Not a date: enter it as 2027-03-01 or 01.03.2027");
  /* A secret that has expired cannot be the new one: a typo. */
  if (when <= now)
    return _ ("This date has passed: enter the day the new secret expires");
  *expires_at = when;
  return NULL;
}

char *
mb_secret_expiry_format (gint64 expires_at)
{
  g_autoptr (GDateTime) when = g_date_time_new_from_unix_utc (expires_at);

  if (when == NULL)
    return g_strdup ("—");
  /* Translators: the date a client secret expires, as strftime() takes
   * it; numbers only (month names would follow LC_TIME, not the
   * language).  German: "%d.%m.%Y" */
  return g_date_time_format (when, C_ ("expiry date", "%Y-%m-%d"));
}
