/* test-header-stamper.c - unit tests for mb-header-stamper */
#include "mb-header-stamper.h"

#include <gmime/gmime.h>
#include <string.h>

#define RECEIVED                                                               \
  "Received: from scanner.lan ([192.0.2.10]) by relay.example "                \
  "(Mailbridge)\r\n"                                                           \
  "\twith ESMTP id 0000000000000001-00000000; Mon, 24 Nov 2025 01:56:00 "      \
  "+0000\r\n"
#define HOSTNAME "relay.example"
#define DATE "Date: Mon, 24 Nov 2025 01:00:00 +0100\r\n"

typedef enum
{
  FEED_WHOLE,
  FEED_BYTES,
  FEED_CHUNKS,
  N_FEED_MODES
} FeedMode;

static const char *feed_mode_names[] = { "whole", "bytes", "chunks" };

typedef struct
{
  const char *name;
  const char *input;
  gboolean    adds_date;
  gboolean    adds_message_id;
  gboolean    separates;  /* an empty line between our fields and theirs */
  const char *message_id; /* the device's, "*" for any, NULL when ours */
} StampCase;

static const StampCase stamp_cases[] = {
  { "complete",
    DATE "Message-ID: <abc.123@scanner.lan>\r\nSubject: scan\r\n\r\nbody\r\n",
    FALSE, FALSE, FALSE, "abc.123@scanner.lan" },
  { "no-date", "Message-ID: <abc@dev>\r\nSubject: scan\r\n\r\nbody\r\n", TRUE,
    FALSE, FALSE, "abc@dev" },
  { "no-message-id", "Subject: scan\r\n" DATE "\r\nbody\r\n", FALSE, TRUE,
    FALSE, NULL },
  { "neither", "From: scanner@example.com\r\nSubject: scan\r\n\r\nbody\r\n",
    TRUE, TRUE, FALSE, NULL },
  { "lower-case-names",
    "date: Mon, 24 Nov 2025 01:00:00 +0100\r\n"
    "message-id: <lc@dev>\r\n\r\nbody\r\n",
    FALSE, FALSE, FALSE, "lc@dev" },
  { "folded-message-id",
    "Subject: x\r\nMessage-ID:\r\n <folded@dev>\r\n" DATE "\r\nbody\r\n", FALSE,
    FALSE, FALSE, "folded@dev" },
  { "odd-message-id", "Message-ID: no brackets here\r\n" DATE "\r\nbody\r\n",
    FALSE, FALSE, FALSE, "*" },
  { "header-only", "Subject: only headers\r\n" DATE, FALSE, TRUE, FALSE, NULL },
  { "body-only", "\r\nJust a body.\r\nDate: in the body\r\n", TRUE, TRUE, FALSE,
    NULL },
  { "empty", "", TRUE, TRUE, FALSE, NULL },
  { "no-headers-at-all", "Scan complete\r\nPages: 3\r\n", TRUE, TRUE, TRUE,
    NULL },
  { "mbox-from-line",
    "From scanner Mon Nov 24 01:00:00 2025\r\n"
    "Subject: x\r\n\r\nbody\r\n",
    TRUE, TRUE, TRUE, NULL },
  { "fields-only-in-body", "Subject: x\r\n\r\n" DATE "Message-ID: <b@d>\r\n",
    TRUE, TRUE, FALSE, NULL },
  { "utf8-headers",
    "Subject: Gr\xc3\xb6\xc3\x9f"
    "e \xe2\x82\xac 8-bit\r\n"
    "From: J\xc3\xbcrgen <j@example.com>\r\n"
    "X-Raw: \xff\xfe latin-1 \xe9\r\n\r\nK\xc3\xb6rper\r\n",
    TRUE, TRUE, FALSE, NULL },
  { "bare-lf", "Subject: x\n" DATE "\nbody\n", FALSE, TRUE, FALSE, NULL },
};

static void
feed (MbHeaderStamper *stamper,
      const guint8    *data,
      gsize            len,
      FeedMode         mode,
      GByteArray      *out)
{
  switch (mode)
    {
    case FEED_WHOLE:
      mb_header_stamper_feed (stamper, data, len, out);
      break;
    case FEED_BYTES:
      for (gsize i = 0; i < len; i++)
        mb_header_stamper_feed (stamper, data + i, 1, out);
      break;
    case FEED_CHUNKS:
      for (gsize i = 0, step = 1; i < len; i += step, step = step * 3 % 17 + 1)
        mb_header_stamper_feed (stamper, data + i, MIN (step, len - i), out);
      break;
    default:
      g_assert_not_reached ();
    }
}

/* Checks @out = RECEIVED [Date] [Message-ID] [CRLF] @input, byte for byte. */
static void
assert_stamped (GByteArray      *out,
                const guint8    *input,
                gsize            input_len,
                MbHeaderStamper *stamper,
                gboolean         adds_date,
                gboolean         adds_message_id,
                gboolean         separates)
{
  const char *p = (const char *)out->data;
  const char *end = p + out->len;
  const char *eol;

  g_assert_cmpuint (out->len, >=, strlen (RECEIVED));
  g_assert_true (memcmp (p, RECEIVED, strlen (RECEIVED)) == 0);
  p += strlen (RECEIVED);

  if (adds_date)
    {
      g_autofree char *value = NULL;
      g_autoptr (GDateTime) date = NULL;

      g_assert_true (g_str_has_prefix (p, "Date: "));
      eol = g_strstr_len (p, end - p, "\r\n");
      g_assert_nonnull (eol);
      value = g_strndup (p + 6, eol - p - 6);
      date = g_mime_utils_header_decode_date (value);
      g_assert_nonnull (date);
      p = eol + 2;
    }
  if (adds_message_id)
    {
      g_autofree char *line = g_strdup_printf (
          "Message-ID: <%s>\r\n", mb_header_stamper_get_message_id (stamper));

      g_assert_nonnull (
          strchr (mb_header_stamper_get_message_id (stamper), '@'));
      g_assert_true (g_str_has_suffix (
          mb_header_stamper_get_message_id (stamper), "@" HOSTNAME));
      g_assert_cmpuint (end - p, >=, strlen (line));
      g_assert_true (memcmp (p, line, strlen (line)) == 0);
      p += strlen (line);
    }
  if (separates)
    {
      g_assert_cmpuint (end - p, >=, 2);
      g_assert_true (memcmp (p, "\r\n", 2) == 0);
      p += 2;
    }
  g_assert_cmpuint (end - p, ==, input_len);
  g_assert_true (memcmp (p, input, input_len) == 0);
}

/* Our fields come first, Date:/Message-ID: only when the device left them
 * out, and the device's bytes follow unchanged, however they are split
 * across feed() calls. */
static void
test_stamp_case (gconstpointer data)
{
  const StampCase *c = data;
  const guint8    *input = (const guint8 *)c->input;
  gsize            len = strlen (c->input);

  for (FeedMode mode = 0; mode < N_FEED_MODES; mode++)
    {
      g_autoptr (MbHeaderStamper) stamper
          = mb_header_stamper_new (RECEIVED, HOSTNAME);
      g_autoptr (GByteArray) out = g_byte_array_new ();

      g_test_message ("feeding %s", feed_mode_names[mode]);
      feed (stamper, input, len, mode, out);
      mb_header_stamper_finish (stamper, out);
      assert_stamped (out, input, len, stamper, c->adds_date,
                      c->adds_message_id, c->separates);
      g_assert_nonnull (mb_header_stamper_get_message_id (stamper));
      if (c->message_id != NULL && strcmp (c->message_id, "*") != 0)
        g_assert_cmpstr (mb_header_stamper_get_message_id (stamper), ==,
                         c->message_id);
    }
}

/* Nothing is emitted and no Message-ID is known until the header section
 * has ended; then the rest passes straight through. */
static void
test_holds_until_end_of_header (void)
{
  g_autoptr (MbHeaderStamper) stamper
      = mb_header_stamper_new (RECEIVED, HOSTNAME);
  g_autoptr (GByteArray) out = g_byte_array_new ();
  static const char head[] = "Subject: x\r\nMessage-ID: <m@d>\r\n";
  gsize             before;

  mb_header_stamper_feed (stamper, (const guint8 *)head, strlen (head), out);
  g_assert_cmpuint (out->len, ==, 0);
  g_assert_null (mb_header_stamper_get_message_id (stamper));
  mb_header_stamper_feed (stamper, (const guint8 *)"\r", 1, out);
  g_assert_cmpuint (out->len, ==, 0);
  mb_header_stamper_feed (stamper, (const guint8 *)"\n", 1, out);
  g_assert_cmpuint (out->len, >, strlen (head));
  g_assert_cmpstr (mb_header_stamper_get_message_id (stamper), ==, "m@d");

  before = out->len;
  mb_header_stamper_feed (stamper, (const guint8 *)"body\r\n", 6, out);
  g_assert_cmpuint (out->len, ==, before + 6);
  mb_header_stamper_finish (stamper, out);
  g_assert_cmpuint (out->len, ==, before + 6);
}

static GString *
build_long_header (gsize at_least)
{
  GString *text = g_string_new ("Subject: many headers\r\n");

  for (guint i = 0; text->len < at_least; i++)
    g_string_append_printf (text, "X-Filler-%05u: %s\r\n", i,
                            "0123456789abcdefghijklmnopqrstuvwxyz");
  return text;
}

/* A header section just under the 256 KiB limit is read whole: a Date: at
 * its end is found and not added twice. */
static void
test_long_header_within_limit (void)
{
  g_autoptr (GString) text = build_long_header (250 * 1024);
  g_autoptr (MbHeaderStamper) stamper
      = mb_header_stamper_new (RECEIVED, HOSTNAME);
  g_autoptr (GByteArray) out = g_byte_array_new ();

  g_string_append (text, DATE "Message-ID: <long@dev>\r\n\r\nbody\r\n");
  g_assert_cmpuint (text->len, <, 256 * 1024);
  feed (stamper, (const guint8 *)text->str, text->len, FEED_CHUNKS, out);
  mb_header_stamper_finish (stamper, out);
  assert_stamped (out, (const guint8 *)text->str, text->len, stamper, FALSE,
                  FALSE, FALSE);
  g_assert_cmpstr (mb_header_stamper_get_message_id (stamper), ==, "long@dev");
}

/* Past 256 KiB the stamper stops looking (documented): Date: and
 * Message-ID: beyond the limit are not seen, so ours are added, and all of
 * the device's bytes still pass through unchanged. */
static void
test_long_header_over_limit (void)
{
  g_autoptr (GString) text = build_long_header (300 * 1024);
  g_autoptr (MbHeaderStamper) stamper
      = mb_header_stamper_new (RECEIVED, HOSTNAME);
  g_autoptr (GByteArray) out = g_byte_array_new ();
  gsize emitted_at_limit;

  g_string_append (text, DATE "Message-ID: <late@dev>\r\n\r\nbody\r\n");
  /* Everything up to the limit is held, then released at once. */
  mb_header_stamper_feed (stamper, (const guint8 *)text->str, 256 * 1024 - 1,
                          out);
  g_assert_cmpuint (out->len, ==, 0);
  mb_header_stamper_feed (stamper, (const guint8 *)text->str + 256 * 1024 - 1,
                          1, out);
  emitted_at_limit = out->len;
  g_assert_cmpuint (emitted_at_limit, >, 256 * 1024);
  mb_header_stamper_feed (stamper, (const guint8 *)text->str + 256 * 1024,
                          text->len - 256 * 1024, out);
  mb_header_stamper_finish (stamper, out);
  assert_stamped (out, (const guint8 *)text->str, text->len, stamper, TRUE,
                  TRUE, FALSE);
}

/* A first line of over 256 KiB without a line end is not a header field:
 * it becomes the body behind our fields. */
static void
test_long_first_line (void)
{
  g_autofree char *text = g_strnfill (300 * 1024, 'a');
  g_autoptr (MbHeaderStamper) stamper
      = mb_header_stamper_new (RECEIVED, HOSTNAME);
  g_autoptr (GByteArray) out = g_byte_array_new ();

  feed (stamper, (const guint8 *)text, strlen (text), FEED_WHOLE, out);
  mb_header_stamper_finish (stamper, out);
  assert_stamped (out, (const guint8 *)text, strlen (text), stamper, TRUE, TRUE,
                  TRUE);
}

typedef struct
{
  const char *name;
  const char *helo;
  const char *ip;
  const char *protocol;
  const char *recipient;
  const char *expected;
} ReceivedCase;

static const ReceivedCase received_cases[] = {
  { "one-recipient", "scanner.lan", "192.0.2.10", "ESMTP", "anna@example.com",
    "Received: from scanner.lan ([192.0.2.10]) by relay.example "
    "(Mailbridge)\r\n"
    "\twith ESMTP id 0000000000000001-00000000 for <anna@example.com>;\r\n"
    "\tMon, 24 Nov 2025 01:56:00 +0000\r\n" },
  { "many-recipients", "scanner.lan", "192.0.2.10", "ESMTPS", NULL,
    "Received: from scanner.lan ([192.0.2.10]) by relay.example "
    "(Mailbridge)\r\n"
    "\twith ESMTPS id 0000000000000001-00000000; Mon, 24 Nov 2025 01:56:00 "
    "+0000\r\n" },
  { "ipv6", "printer", "2001:db8::7", "SMTP", NULL,
    "Received: from printer ([IPv6:2001:db8::7]) by relay.example "
    "(Mailbridge)\r\n"
    "\twith SMTP id 0000000000000001-00000000; Mon, 24 Nov 2025 01:56:00 "
    "+0000\r\n" },
  { "ipv4-mapped", "printer", "::ffff:192.0.2.10", "SMTP", NULL,
    "Received: from printer ([192.0.2.10]) by relay.example (Mailbridge) with "
    "SMTP\r\n"
    "\tid 0000000000000001-00000000; Mon, 24 Nov 2025 01:56:00 +0000\r\n" },
  { "no-helo", NULL, "192.0.2.10", "SMTP", NULL,
    "Received: from [192.0.2.10] ([192.0.2.10]) by relay.example "
    "(Mailbridge)\r\n"
    "\twith SMTP id 0000000000000001-00000000; Mon, 24 Nov 2025 01:56:00 "
    "+0000\r\n" },
  { "hostile-helo", "evil)\r\nX-Injected: yes (", "192.0.2.10", "ESMTP", NULL,
    "Received: from evil___X-Injected:_yes__ ([192.0.2.10]) by "
    "relay.example\r\n"
    "\t(Mailbridge) with ESMTP id 0000000000000001-00000000;\r\n"
    "\tMon, 24 Nov 2025 01:56:00 +0000\r\n" },
  { "utf8-recipient", "scanner.lan", "192.0.2.10", "UTF8SMTPS",
    "j\xc3\xbcrgen@b\xc3\xbc"
    "cher.example",
    "Received: from scanner.lan ([192.0.2.10]) by relay.example "
    "(Mailbridge)\r\n"
    "\twith UTF8SMTPS id 0000000000000001-00000000 for "
    "<j\xc3\xbcrgen@b\xc3\xbc"
    "cher.example>;\r\n"
    "\tMon, 24 Nov 2025 01:56:00 +0000\r\n" },
};

/* Received: follows RFC 5321 4.4 with RFC 3848 protocol names, folds at
 * clause boundaries under 78 columns, and keeps device input from
 * breaking out of the field. */
static void
test_format_received (gconstpointer data)
{
  const ReceivedCase *c = data;
  g_autoptr (GDateTime) when = g_date_time_new_utc (2025, 11, 24, 1, 56, 0);
  g_autofree char *field = mb_header_stamper_format_received (
      c->helo, c->ip, HOSTNAME, c->protocol, "0000000000000001-00000000",
      c->recipient, when);
  g_auto (GStrv) lines = NULL;

  g_assert_cmpstr (field, ==, c->expected);
  g_assert_true (g_str_has_suffix (field, "\r\n"));
  lines = g_strsplit (field, "\r\n", -1);
  for (guint i = 0; lines[i] != NULL && lines[i][0] != '\0'; i++)
    {
      g_assert_cmpuint (strlen (lines[i]), <=, 78);
      g_assert_null (strchr (lines[i], '\r'));
      g_assert_null (strchr (lines[i], '\n'));
      if (i > 0)
        g_assert_cmpint (lines[i][0], ==, '\t');
    }
}

/* The field we build is what the stamper test uses, and it parses as a
 * header with GMime. */
static void
test_format_received_parses (void)
{
  g_autoptr (GDateTime) when = g_date_time_new_utc (2025, 11, 24, 1, 56, 0);
  g_autofree char *field = mb_header_stamper_format_received (
      "scanner.lan", "192.0.2.10", HOSTNAME, "ESMTP",
      "0000000000000001-00000000", NULL, when);
  g_autofree char *message = g_strconcat (field, "Subject: x\r\n\r\n", NULL);
  GMimeStream     *stream;
  GMimeParser     *parser;
  GMimeMessage    *parsed;
  const char      *value;

  g_assert_cmpstr (field, ==, RECEIVED);
  stream = g_mime_stream_mem_new_with_buffer (message, strlen (message));
  parser = g_mime_parser_new_with_stream (stream);
  parsed = g_mime_parser_construct_message (parser, NULL);
  g_assert_nonnull (parsed);
  value = g_mime_object_get_header (GMIME_OBJECT (parsed), "Received");
  g_assert_nonnull (value);
  g_assert_nonnull (strstr (value, "Mailbridge"));
  g_assert_nonnull (
      g_mime_object_get_header (GMIME_OBJECT (parsed), "Subject"));
  g_object_unref (parsed);
  g_object_unref (parser);
  g_object_unref (stream);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_mime_init ();

  for (guint i = 0; i < G_N_ELEMENTS (stamp_cases); i++)
    {
      g_autofree char *path = g_strdup_printf ("/relay/header-stamper/stamp/%s",
                                               stamp_cases[i].name);
      g_test_add_data_func (path, &stamp_cases[i], test_stamp_case);
    }
  g_test_add_func ("/relay/header-stamper/stamp/holds-until-end",
                   test_holds_until_end_of_header);
  g_test_add_func ("/relay/header-stamper/limit/within",
                   test_long_header_within_limit);
  g_test_add_func ("/relay/header-stamper/limit/over",
                   test_long_header_over_limit);
  g_test_add_func ("/relay/header-stamper/limit/first-line",
                   test_long_first_line);
  for (guint i = 0; i < G_N_ELEMENTS (received_cases); i++)
    {
      g_autofree char *path = g_strdup_printf (
          "/relay/header-stamper/received/%s", received_cases[i].name);
      g_test_add_data_func (path, &received_cases[i], test_format_received);
    }
  g_test_add_func ("/relay/header-stamper/received/parses",
                   test_format_received_parses);
  return g_test_run ();
}
