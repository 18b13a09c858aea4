/* test-csv-export.c - RFC 4180 quoting of the Log page's CSV export */
#include <glib.h>

#include "mb-csv-export.h"

typedef struct
{
  const char *field;
  const char *expected;
} QuoteCase;

/* Each field is quoted exactly when RFC 4180 section 2 (rules 5-7)
 * requires it (plus leading/trailing spaces, which spreadsheets trim). */
static void
test_quote_table (void)
{
  static const QuoteCase cases[] = {
    { "", "" },
    { "plain", "plain" },
    { "a,b", "\"a,b\"" },
    { "say \"hi\"", "\"say \"\"hi\"\"\"" },
    { "\"", "\"\"\"\"" },
    { "line\r\nbreak", "\"line\r\nbreak\"" },
    { "lf\nonly", "\"lf\nonly\"" },
    { " padded", "\" padded\"" },
    { "padded ", "\"padded \"" },
    { "in side", "in side" },
    { "Grüße", "Grüße" },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr (GString) out = g_string_new (NULL);

      mb_csv_append_field (out, cases[i].field);
      g_assert_cmpstr (out->str, ==, cases[i].expected);
    }
}

/* Rows are comma-separated and every row ends in CRLF. */
static void
test_row (void)
{
  const char *fields[] = { "a", "b,c", "" };
  g_autoptr (GString) out = g_string_new (NULL);

  mb_csv_append_row (out, fields, G_N_ELEMENTS (fields));
  mb_csv_append_row (out, fields, 1);
  g_assert_cmpstr (out->str, ==, "a,\"b,c\",\r\na\r\n");
}

/* A log record becomes one row under the header, time in UTC ISO 8601,
 * the explanation given by the caller or else the relay's hint_text. */
static void
test_log_record (void)
{
  g_autoptr (GString) out = g_string_new (NULL);
  g_autoptr (GVariant) record = g_variant_ref_sink (g_variant_new_parsed (
      "{'time_us': <int64 1795488450000000>, 'queue_id': <'Q1'>, "
      "'message_id': <'<m@x>'>, 'sender': <'a@b'>, 'recipient': <'c@d'>, "
      "'route': <'m365'>, 'status': <'failed'>, "
      "'reply': <'550 5.4.1 Recipient address rejected: Access denied.'>, "
      "'hint': <'m365.recipient-not-found'>, "
      "'hint_text': <'Unknown, check \"it\"'>, "
      "'duration_ms': <int64 812>}"));

  mb_csv_append_log_header (out);
  mb_csv_append_log_record (out, record, NULL);
  mb_csv_append_log_record (out, record, "Erklärung");
  g_assert_cmpstr (
      out->str, ==,
      "time,queue_id,message_id,sender,recipient,route,status,reply,hint,"
      "explanation,duration_ms\r\n"
      "2026-11-24T02:47:30Z,Q1,<m@x>,a@b,c@d,m365,failed,"
      "550 5.4.1 Recipient address rejected: Access denied.,"
      "m365.recipient-not-found,\"Unknown, check \"\"it\"\"\",812\r\n"
      "2026-11-24T02:47:30Z,Q1,<m@x>,a@b,c@d,m365,failed,"
      "550 5.4.1 Recipient address rejected: Access denied.,"
      "m365.recipient-not-found,Erklärung,812\r\n");
}

/* Keys the record lacks become empty fields, never "(null)". */
static void
test_log_record_sparse (void)
{
  g_autoptr (GString) out = g_string_new (NULL);
  g_autoptr (GVariant) record = g_variant_ref_sink (
      g_variant_new_parsed ("@a{sv} {'status': <'deleted'>}"));

  mb_csv_append_log_record (out, record, NULL);
  g_assert_cmpstr (out->str, ==, "1970-01-01T00:00:00Z,,,,,,deleted,,,,\r\n");
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/app/csv-export/quote/table", test_quote_table);
  g_test_add_func ("/app/csv-export/row/crlf", test_row);
  g_test_add_func ("/app/csv-export/log/record", test_log_record);
  g_test_add_func ("/app/csv-export/log/sparse", test_log_record_sparse);
  return g_test_run ();
}
