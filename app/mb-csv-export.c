/* mb-csv-export.c - delivery log records as RFC 4180 CSV */
#define G_LOG_DOMAIN "mb-csv-export"

#include "mb-csv-export.h"

#include <string.h>

static const char *const log_columns[] = {
  "time",   "queue_id", "message_id", "sender",      "recipient",   "route",
  "status", "reply",    "hint",       "explanation", "duration_ms",
};

static gboolean
needs_quotes (const char *field)
{
  gsize len = strlen (field);

  if (len == 0)
    return FALSE;
  return strpbrk (field, ",\"\r\n") != NULL || field[0] == ' '
         || field[len - 1] == ' ';
}

void
mb_csv_append_field (GString *out, const char *field)
{
  g_return_if_fail (out != NULL);

  if (field == NULL)
    return;
  if (!needs_quotes (field))
    {
      g_string_append (out, field);
      return;
    }
  g_string_append_c (out, '"');
  for (const char *p = field; *p != '\0'; p++)
    {
      if (*p == '"')
        g_string_append_c (out, '"');
      g_string_append_c (out, *p);
    }
  g_string_append_c (out, '"');
}

void
mb_csv_append_row (GString *out, const char *const *fields, gsize n_fields)
{
  g_return_if_fail (out != NULL);

  for (gsize i = 0; i < n_fields; i++)
    {
      if (i > 0)
        g_string_append_c (out, ',');
      mb_csv_append_field (out, fields[i]);
    }
  g_string_append (out, "\r\n");
}

void
mb_csv_append_log_header (GString *out)
{
  mb_csv_append_row (out, log_columns, G_N_ELEMENTS (log_columns));
}

static const char *
lookup_string (GVariant *record, const char *key)
{
  const char *value = "";

  g_variant_lookup (record, key, "&s", &value);
  return value;
}

void
mb_csv_append_log_record (GString    *out,
                          GVariant   *record,
                          const char *explanation)
{
  g_autoptr (GDateTime) time = NULL;
  g_autofree char *time_text = NULL;
  g_autofree char *duration = NULL;
  gint64           time_us = 0;
  gint64           duration_ms = 0;
  const char      *fields[G_N_ELEMENTS (log_columns)];

  g_return_if_fail (out != NULL);
  g_return_if_fail (g_variant_is_of_type (record, G_VARIANT_TYPE_VARDICT));

  g_variant_lookup (record, "time_us", "x", &time_us);
  time = g_date_time_new_from_unix_utc (time_us / G_USEC_PER_SEC);
  time_text = time != NULL ? g_date_time_format (time, "%Y-%m-%dT%H:%M:%SZ")
                           : g_strdup ("");
  if (g_variant_lookup (record, "duration_ms", "x", &duration_ms))
    duration = g_strdup_printf ("%" G_GINT64_FORMAT, duration_ms);

  fields[0] = time_text;
  fields[1] = lookup_string (record, "queue_id");
  fields[2] = lookup_string (record, "message_id");
  fields[3] = lookup_string (record, "sender");
  fields[4] = lookup_string (record, "recipient");
  fields[5] = lookup_string (record, "route");
  fields[6] = lookup_string (record, "status");
  fields[7] = lookup_string (record, "reply");
  fields[8] = lookup_string (record, "hint");
  fields[9]
      = explanation != NULL ? explanation : lookup_string (record, "hint_text");
  fields[10] = duration != NULL ? duration : "";
  mb_csv_append_row (out, fields, G_N_ELEMENTS (fields));
}
