/* test-dsn.c - delivery status notifications: the report's structure read
 * back by GMime and by Python's email package, the per-recipient fields,
 * NOTIFY and RET, the cases that get no report, and bounded reading of
 * the original. */
#include "mb-dsn.h"

#include <gmime/gmime.h>
#include <string.h>

#include "mb-reply-hints.h"
#include "mb-test-util.h"

G_DEFINE_AUTOPTR_CLEANUP_FUNC (GMimeStream, g_object_unref)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (GMimeParser, g_object_unref)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (GMimeMessage, g_object_unref)

#define REPORTING_MTA "relay.office.lan"
#define REMOTE_MTA "contoso-com.mail.protection.outlook.com"
#define SENDER "scanner@contoso.com"
#define ADMIN "it@contoso.com"
#define REPLY_550                                                              \
  "550 5.1.1 <bad@contoso.com>: Recipient address rejected: User unknown "     \
  "[AM0PR01MB1234.eurprd01.prod.outlook.com 2026-11-24T09:00:00.000Z "         \
  "08DD3DD7D75D7743]"
#define REPLY_451                                                              \
  "451 4.7.500 Server busy. Please try again later from [203.0.113.10]. "      \
  "(AS77712344)"

#define ORIGINAL                                                               \
  "Received: from scanner (unknown [192.0.2.10])\r\n"                          \
  "\tby relay.office.lan (Mailbridge) with ESMTP id 0001;\r\n"                 \
  "\tTue, 24 Nov 2026 10:00:00 +0100\r\n"                                      \
  "From: Scanner <scanner@contoso.com>\r\n"                                    \
  "To: bad@contoso.com\r\n"                                                    \
  "Subject: Scan 42 from the copier\r\n"                                       \
  "Message-ID: <scan-42@scanner.contoso.com>\r\n"                              \
  "Date: Tue, 24 Nov 2026 10:00:00 +0100\r\n"                                  \
  "\r\n"                                                                       \
  "Body line one\r\n"                                                          \
  ".a line with a leading dot\r\n"                                             \
  "From the copier\r\n"

#define ORIGINAL_HEADER_LEN (strlen (ORIGINAL) - 62)

static MbEnvelope *
make_envelope (const char *sender)
{
  MbEnvelope              *envelope = mb_envelope_new ();
  static const char *const others[]
      = { "anna@contoso.com", "bob@contoso.com", "carol@fabrikam.com",
          "dave@fabrikam.com" };
  MbRecipient *bad;

  envelope->id = g_strdup ("00061a2b3c4d5e6f-0badcafe");
  g_free (envelope->sender);
  envelope->sender = g_strdup (sender);
  envelope->received = 1795510800; /* 2026-11-24 09:00 UTC */
  envelope->size = strlen (ORIGINAL);
  envelope->envid = g_strdup ("QQ314159");

  for (gsize i = 0; i < 2; i++)
    {
      MbRecipient *r = mb_envelope_add_recipient (envelope, others[i], 0, NULL);
      r->state = MB_RECIPIENT_STATE_DELIVERED;
      r->last_reply = g_strdup ("250 2.6.0 <scan-42@scanner> Queued mail");
    }
  bad = mb_envelope_add_recipient (envelope, "bad@contoso.com", 0,
                                   "rfc822;Bad@Contoso.com");
  bad->state = MB_RECIPIENT_STATE_FAILED;
  bad->attempts = 1;
  bad->last_reply = g_strdup (REPLY_550);
  for (gsize i = 2; i < 4; i++)
    {
      MbRecipient *r = mb_envelope_add_recipient (envelope, others[i], 0, NULL);
      r->state = MB_RECIPIENT_STATE_DELIVERED;
    }
  return envelope;
}

static MbDsnOptions
make_options (void)
{
  MbDsnOptions options = { 0 };

  options.reporting_mta = REPORTING_MTA;
  options.remote_mta = REMOTE_MTA;
  options.last_attempt = 1795511100;
  options.retry_until = 1795683600;
  return options;
}

static GInputStream *
original_stream (const char *text)
{
  return g_memory_input_stream_new_from_data (text, -1, NULL);
}

static char *
collapse_blanks (const char *text)
{
  GString *out = g_string_new (NULL);
  gboolean blank = FALSE;

  for (const char *p = text; *p != '\0'; p++)
    {
      if (g_ascii_isspace (*p))
        {
          blank = TRUE;
          continue;
        }
      if (blank && out->len > 0)
        g_string_append_c (out, ' ');
      blank = FALSE;
      g_string_append_c (out, *p);
    }
  return g_string_free (out, FALSE);
}

static GMimeMessage *
parse_report (GBytes *report)
{
  g_autoptr (GMimeStream) stream = NULL;
  g_autoptr (GMimeParser) parser = NULL;
  gsize       len;
  const char *data = g_bytes_get_data (report, &len);

  stream = g_mime_stream_mem_new_with_buffer (data, len);
  parser = g_mime_parser_new_with_stream (stream);
  return g_mime_parser_construct_message (parser, NULL);
}

/* The decoded content of a leaf part. */
static char *
get_part_content (GMimeObject *part)
{
  g_autoptr (GMimeStream) out = g_mime_stream_mem_new ();
  GByteArray *array;

  g_assert_true (GMIME_IS_PART (part));
  g_mime_data_wrapper_write_to_stream (
      g_mime_part_get_content (GMIME_PART (part)), out);
  array = g_mime_stream_mem_get_byte_array (GMIME_STREAM_MEM (out));
  return g_strndup ((const char *)array->data, array->len);
}

/* The blocks of a message/delivery-status body: each a table of lower-case
 * field name to unfolded value. */
static GPtrArray *
parse_status_blocks (const char *text)
{
  GPtrArray *blocks
      = g_ptr_array_new_with_free_func ((GDestroyNotify)g_hash_table_unref);
  g_auto (GStrv) lines = g_strsplit (text, "\r\n", -1);
  GHashTable *block = NULL;
  char       *last_key = NULL;

  for (guint i = 0; lines[i] != NULL; i++)
    {
      const char *line = lines[i];
      const char *colon;

      if (line[0] == '\0')
        {
          block = NULL;
          continue;
        }
      if (block == NULL)
        {
          block
              = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
          g_ptr_array_add (blocks, block);
        }
      if (line[0] == ' ' || line[0] == '\t')
        {
          char *old = g_hash_table_lookup (block, last_key);

          g_assert_nonnull (old);
          g_hash_table_insert (block, g_strdup (last_key),
                               g_strconcat (old, line, NULL));
          continue;
        }
      colon = strchr (line, ':');
      g_assert_nonnull (colon);
      last_key = g_ascii_strdown (line, colon - line);
      g_hash_table_insert (block, last_key,
                           g_strdup (g_strchug ((char *)colon + 1)));
    }
  return blocks;
}

static const char *
field (GPtrArray *blocks, guint index, const char *name)
{
  g_assert_cmpuint (index, <, blocks->len);
  return g_hash_table_lookup (g_ptr_array_index (blocks, index), name);
}

/* Every line of @report ends in CRLF and is within 998 octets. */
static void
assert_crlf_lines (GBytes *report)
{
  gsize       len;
  const char *data = g_bytes_get_data (report, &len);
  gsize       line_start = 0;

  g_assert_cmpuint (len, >, 2);
  g_assert_cmpmem (data + len - 2, 2, "\r\n", 2);
  for (gsize i = 0; i < len; i++)
    {
      if (data[i] == '\n')
        {
          g_assert_cmpuint (i, >, 0);
          g_assert_cmpint (data[i - 1], ==, '\r');
          g_assert_cmpuint (i - line_start, <=, 999);
          line_start = i + 1;
        }
      else if (data[i] == '\r')
        {
          g_assert_cmpuint (i + 1, <, len);
          g_assert_cmpint (data[i + 1], ==, '\n');
        }
    }
}

/* A failure report for a five-recipient message where one recipient got
 * "550 5.1.1": multipart/report with report-type=delivery-status, the
 * header fields, one per-recipient block with ORCPT, Action, Status 5.1.1,
 * Remote-MTA, the reply as Diagnostic-Code, the hint's summary and fix in
 * the text, the original returned byte for byte; Python's email package
 * reads the same structure. */
static void
test_failure_report (void)
{
  g_autoptr (MbEnvelope) envelope = make_envelope (SENDER);
  g_autoptr (GInputStream) original = original_stream (ORIGINAL);
  g_autoptr (GError) error = NULL;
  g_autoptr (GBytes) report = NULL;
  g_autoptr (GMimeMessage) message = NULL;
  g_autoptr (GPtrArray) blocks = NULL;
  g_autofree char   *text = NULL;
  g_autofree char   *flat = NULL;
  g_autofree char   *status = NULL;
  g_autofree char   *returned = NULL;
  g_autofree char   *hint_summary = NULL;
  g_autofree char   *hint_fix = NULL;
  MbDsnOptions       options = make_options ();
  const MbReplyHint *hint;
  GMimeObject       *body;
  GMimeContentType  *type;
  MbDsnSkip          skip = MB_DSN_SKIP_NOT_REQUESTED;
  const char        *value;

  report = mb_dsn_build (MB_DSN_KIND_FAILURE, envelope, NULL, &options,
                         original, &skip, NULL, &error);
  g_assert_no_error (error);
  g_assert_nonnull (report);
  g_assert_cmpint (skip, ==, MB_DSN_SKIP_NONE);
  g_assert_cmpint (mb_dsn_get_body_type (report), ==, MB_SMTP_BODY_7BIT);
  assert_crlf_lines (report);

  message = parse_report (report);
  g_assert_nonnull (message);
  g_assert_cmpstr (g_mime_object_get_header (GMIME_OBJECT (message), "From"),
                   ==,
                   "Mail Delivery System <MAILER-DAEMON@" REPORTING_MTA ">");
  g_assert_cmpstr (g_mime_object_get_header (GMIME_OBJECT (message), "To"), ==,
                   SENDER);
  g_assert_cmpstr (g_mime_message_get_subject (message), ==,
                   "Undelivered Mail Returned to Sender");
  g_assert_cmpstr (
      g_mime_object_get_header (GMIME_OBJECT (message), "Auto-Submitted"), ==,
      "auto-replied");
  g_assert_cmpstr (
      g_mime_object_get_header (GMIME_OBJECT (message), "In-Reply-To"), ==,
      "<scan-42@scanner.contoso.com>");
  g_assert_nonnull (g_mime_message_get_date (message));
  value = g_mime_message_get_message_id (message);
  g_assert_nonnull (value);
  g_assert_true (g_str_has_suffix (value, "@" REPORTING_MTA));

  body = g_mime_message_get_mime_part (message);
  g_assert_true (GMIME_IS_MULTIPART (body));
  type = g_mime_object_get_content_type (body);
  g_assert_true (g_mime_content_type_is_type (type, "multipart", "report"));
  g_assert_cmpstr (g_mime_content_type_get_parameter (type, "report-type"), ==,
                   "delivery-status");
  g_assert_cmpint (g_mime_multipart_get_count (GMIME_MULTIPART (body)), ==, 3);

  /* Part 1: the plain words, the reply verbatim, the hint. */
  {
    GMimeObject *part = g_mime_multipart_get_part (GMIME_MULTIPART (body), 0);

    g_assert_true (GMIME_IS_TEXT_PART (part));
    g_assert_true (g_mime_content_type_is_type (
        g_mime_object_get_content_type (part), "text", "plain"));
    text = g_mime_text_part_get_text (GMIME_TEXT_PART (part));
  }
  flat = collapse_blanks (text);
  hint = mb_reply_hints_lookup_line (REPLY_550);
  g_assert_nonnull (hint);
  g_assert_cmpstr (hint->keyword, ==, "smtp.mailbox-unknown");
  hint_summary = collapse_blanks (mb_reply_hint_get_summary (hint));
  hint_fix = collapse_blanks (mb_reply_hint_get_fix (hint));
  g_assert_nonnull (strstr (flat, hint_summary));
  g_assert_nonnull (strstr (flat, hint_fix));
  g_assert_nonnull (strstr (text, REPLY_550));
  g_assert_nonnull (strstr (text, "<bad@contoso.com>"));
  g_assert_nonnull (strstr (text, "Scan 42 from the copier"));
  g_assert_nonnull (strstr (text, "could not be delivered"));
  g_assert_nonnull (strstr (text, "The original message is attached."));
  /* Only the failed recipient is reported. */
  g_assert_null (strstr (text, "anna@contoso.com"));

  /* Part 2: the machine-readable fields. */
  {
    GMimeObject *part = g_mime_multipart_get_part (GMIME_MULTIPART (body), 1);

    g_assert_true (g_mime_content_type_is_type (
        g_mime_object_get_content_type (part), "message", "delivery-status"));
    status = get_part_content (part);
  }
  blocks = parse_status_blocks (status);
  g_assert_cmpuint (blocks->len, ==, 2);
  g_assert_cmpstr (field (blocks, 0, "reporting-mta"), ==,
                   "dns; " REPORTING_MTA);
  g_assert_cmpstr (field (blocks, 0, "original-envelope-id"), ==, "QQ314159");
  g_assert_nonnull (field (blocks, 0, "arrival-date"));
  g_assert_cmpstr (field (blocks, 1, "original-recipient"), ==,
                   "rfc822; Bad@Contoso.com");
  g_assert_cmpstr (field (blocks, 1, "final-recipient"), ==,
                   "rfc822; bad@contoso.com");
  g_assert_cmpstr (field (blocks, 1, "action"), ==, "failed");
  g_assert_cmpstr (field (blocks, 1, "status"), ==, "5.1.1");
  g_assert_cmpstr (field (blocks, 1, "remote-mta"), ==, "dns; " REMOTE_MTA);
  g_assert_cmpstr (field (blocks, 1, "diagnostic-code"), ==,
                   "smtp; " REPLY_550);
  g_assert_nonnull (field (blocks, 1, "last-attempt-date"));
  g_assert_null (field (blocks, 1, "will-retry-until"));

  /* Part 3: the original, unchanged. */
  {
    GMimeObject *part = g_mime_multipart_get_part (GMIME_MULTIPART (body), 2);

    g_assert_true (g_mime_content_type_is_type (
        g_mime_object_get_content_type (part), "message", "rfc822"));
  }
  {
    gsize       len;
    const char *data = g_bytes_get_data (report, &len);

    returned = g_strndup (data, len);
    g_assert_nonnull (strstr (returned, "\r\n\r\n" ORIGINAL "\r\n--"));
  }

  mb_test_run_python (
      "import sys\n"
      "from email import policy\n"
      "from email.parser import BytesParser\n"
      "m = BytesParser(policy=policy.default).parse(open(sys.argv[1], 'rb'))\n"
      "assert m.get_content_type() == 'multipart/report', "
      "m.get_content_type()\n"
      "assert m.get_param('report-type') == 'delivery-status'\n"
      "assert m['Auto-Submitted'] == 'auto-replied'\n"
      "assert m['From'].addresses[0].username == 'MAILER-DAEMON'\n"
      "assert not m.defects, m.defects\n"
      "parts = list(m.iter_parts())\n"
      "assert [p.get_content_type() for p in parts] == ['text/plain', "
      "'message/delivery-status', 'message/rfc822'], parts\n"
      "ds = parts[1].get_payload()\n"
      "assert len(ds) == 2, ds\n"
      "assert ds[0]['Reporting-MTA'] == 'dns; " REPORTING_MTA "'\n"
      "assert ds[1]['Action'] == 'failed'\n"
      "assert ds[1]['Status'] == '5.1.1'\n"
      "assert ds[1]['Final-Recipient'] == 'rfc822; bad@contoso.com'\n"
      "assert 'User unknown' in str(ds[1]['Diagnostic-Code'])\n"
      "text = parts[0].get_content()\n"
      "assert 'does not exist' in text, text\n"
      "orig = parts[2].get_payload()[0]\n"
      "assert orig['Subject'] == 'Scan 42 from the copier'\n",
      report, "report.eml");
}

/* A delay notice: Action delayed, the 4.x.x status of the last reply,
 * Will-Retry-Until, and the retry promise in the text. */
static void
test_delay_report (void)
{
  g_autoptr (MbEnvelope) envelope = make_envelope (SENDER);
  g_autoptr (GInputStream) original = original_stream (ORIGINAL);
  g_autoptr (GError) error = NULL;
  g_autoptr (GBytes) report = NULL;
  g_autoptr (GMimeMessage) message = NULL;
  g_autoptr (GPtrArray) blocks = NULL;
  g_autofree char *status = NULL;
  g_autofree char *text = NULL;
  MbDsnOptions     options = make_options ();
  MbRecipient     *late = g_ptr_array_index (envelope->recipients, 3);
  GMimeObject     *body;

  late->state = MB_RECIPIENT_STATE_DEFERRED;
  late->attempts = 7;
  late->last_reply = g_strdup (REPLY_451);

  report = mb_dsn_build (MB_DSN_KIND_DELAY, envelope, NULL, &options, original,
                         NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_nonnull (report);
  assert_crlf_lines (report);

  message = parse_report (report);
  g_assert_cmpstr (g_mime_message_get_subject (message), ==,
                   "Delayed Mail (still being retried)");
  body = g_mime_message_get_mime_part (message);
  status = get_part_content (
      g_mime_multipart_get_part (GMIME_MULTIPART (body), 1));
  blocks = parse_status_blocks (status);
  g_assert_cmpuint (blocks->len, ==, 2);
  g_assert_cmpstr (field (blocks, 1, "final-recipient"), ==,
                   "rfc822; carol@fabrikam.com");
  g_assert_cmpstr (field (blocks, 1, "action"), ==, "delayed");
  g_assert_cmpstr (field (blocks, 1, "status"), ==, "4.7.500");
  g_assert_cmpstr (field (blocks, 1, "diagnostic-code"), ==,
                   "smtp; " REPLY_451);
  g_assert_nonnull (field (blocks, 1, "will-retry-until"));
  g_assert_null (field (blocks, 1, "original-recipient"));

  text = g_mime_text_part_get_text (
      GMIME_TEXT_PART (g_mime_multipart_get_part (GMIME_MULTIPART (body), 0)));
  g_assert_nonnull (strstr (text, "not been delivered yet"));
  g_assert_nonnull (strstr (text, "keeps trying until"));
  g_assert_nonnull (strstr (text, REPLY_451));
}

/* A relay report (NOTIFY=SUCCESS, upstream without DSN): Action relayed,
 * Status 2.x.x. */
static void
test_relayed_report (void)
{
  g_autoptr (MbEnvelope) envelope = make_envelope (SENDER);
  g_autoptr (GInputStream) original = original_stream (ORIGINAL);
  g_autoptr (GError) error = NULL;
  g_autoptr (GBytes) report = NULL;
  g_autoptr (GMimeMessage) message = NULL;
  g_autoptr (GPtrArray) blocks = NULL;
  g_autofree char *status = NULL;
  MbDsnOptions     options = make_options ();
  MbRecipient     *anna = g_ptr_array_index (envelope->recipients, 0);
  MbDsnSkip        skip;

  /* Nobody asked for success yet. */
  report = mb_dsn_build (MB_DSN_KIND_RELAYED, envelope, NULL, &options,
                         original, &skip, NULL, &error);
  g_assert_no_error (error);
  g_assert_null (report);
  g_assert_cmpint (skip, ==, MB_DSN_SKIP_NOT_REQUESTED);

  anna->notify = MB_DSN_NOTIFY_SUCCESS | MB_DSN_NOTIFY_FAILURE;
  report = mb_dsn_build (MB_DSN_KIND_RELAYED, envelope, NULL, &options,
                         original, &skip, NULL, &error);
  g_assert_no_error (error);
  g_assert_nonnull (report);
  message = parse_report (report);
  g_assert_cmpstr (g_mime_message_get_subject (message), ==,
                   "Successful Mail Delivery Report");
  status = get_part_content (g_mime_multipart_get_part (
      GMIME_MULTIPART (g_mime_message_get_mime_part (message)), 1));
  blocks = parse_status_blocks (status);
  g_assert_cmpuint (blocks->len, ==, 2);
  g_assert_cmpstr (field (blocks, 1, "final-recipient"), ==,
                   "rfc822; anna@contoso.com");
  g_assert_cmpstr (field (blocks, 1, "action"), ==, "relayed");
  g_assert_cmpstr (field (blocks, 1, "status"), ==, "2.6.0");
}

typedef struct
{
  guint    notify;
  gboolean failure;
  gboolean delay;
  gboolean relayed;
} NotifyCase;

/* NOTIFY decides which reports a recipient gets (RFC 3461 4.1): NEVER
 * none, unset failure and delay, otherwise exactly what was asked. */
static void
test_notify_matrix (void)
{
  static const NotifyCase cases[] = {
    { 0, TRUE, TRUE, FALSE },
    { MB_DSN_NOTIFY_NEVER, FALSE, FALSE, FALSE },
    { MB_DSN_NOTIFY_SUCCESS, FALSE, FALSE, TRUE },
    { MB_DSN_NOTIFY_FAILURE, TRUE, FALSE, FALSE },
    { MB_DSN_NOTIFY_DELAY, FALSE, TRUE, FALSE },
    { MB_DSN_NOTIFY_FAILURE | MB_DSN_NOTIFY_DELAY, TRUE, TRUE, FALSE },
    { MB_DSN_NOTIFY_SUCCESS | MB_DSN_NOTIFY_FAILURE | MB_DSN_NOTIFY_DELAY, TRUE,
      TRUE, TRUE },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      const NotifyCase *c = &cases[i];
      g_autoptr (MbEnvelope) envelope = make_envelope (SENDER);
      MbRecipient    *bad = g_ptr_array_index (envelope->recipients, 2);
      const MbDsnKind kinds[]
          = { MB_DSN_KIND_FAILURE, MB_DSN_KIND_DELAY, MB_DSN_KIND_RELAYED };
      const gboolean expected[] = { c->failure, c->delay, c->relayed };

      bad->notify = c->notify;
      for (gsize k = 0; k < G_N_ELEMENTS (kinds); k++)
        {
          g_autoptr (GPtrArray) only = g_ptr_array_new ();
          g_autoptr (GInputStream) original = original_stream (ORIGINAL);
          g_autoptr (GBytes) report = NULL;
          g_autoptr (GError) error = NULL;
          MbDsnOptions options = make_options ();
          MbDsnSkip    skip;

          g_test_message ("notify=0x%x kind=%s", c->notify,
                          mb_dsn_kind_to_string (kinds[k]));
          g_assert_cmpint (mb_dsn_should_report (kinds[k], envelope, bad), ==,
                           expected[k]);
          g_ptr_array_add (only, bad);
          report = mb_dsn_build (kinds[k], envelope, only, &options, original,
                                 &skip, NULL, &error);
          g_assert_no_error (error);
          g_assert_cmpint (report != NULL, ==, expected[k]);
          g_assert_cmpint (skip, ==,
                           expected[k] ? MB_DSN_SKIP_NONE
                                       : MB_DSN_SKIP_NOT_REQUESTED);
        }
    }
}

/* RET=HDRS returns text/rfc822-headers: the header section, no body. */
static void
test_ret_hdrs (void)
{
  g_autoptr (MbEnvelope) envelope = make_envelope (SENDER);
  g_autoptr (GInputStream) original = original_stream (ORIGINAL);
  g_autoptr (GError) error = NULL;
  g_autoptr (GBytes) report = NULL;
  g_autoptr (GMimeMessage) message = NULL;
  g_autofree char *headers = NULL;
  g_autofree char *text = NULL;
  g_autofree char *expected = NULL;
  MbDsnOptions     options = make_options ();
  GMimeObject     *body;
  GMimeObject     *part;

  envelope->ret = MB_DSN_RET_HDRS;
  report = mb_dsn_build (MB_DSN_KIND_FAILURE, envelope, NULL, &options,
                         original, NULL, NULL, &error);
  g_assert_no_error (error);
  message = parse_report (report);
  body = g_mime_message_get_mime_part (message);
  part = g_mime_multipart_get_part (GMIME_MULTIPART (body), 2);
  g_assert_true (g_mime_content_type_is_type (
      g_mime_object_get_content_type (part), "text", "rfc822-headers"));
  headers = get_part_content (part);
  expected = g_strndup (ORIGINAL, ORIGINAL_HEADER_LEN);
  g_assert_true (g_str_has_suffix (expected, "+0100\r\n"));
  g_assert_cmpstr (headers, ==, expected);
  g_assert_null (strstr (headers, "Body line one"));

  text = g_mime_text_part_get_text (
      GMIME_TEXT_PART (g_mime_multipart_get_part (GMIME_MULTIPART (body), 0)));
  g_assert_nonnull (strstr (text, "The header of the original message is "
                                  "attached."));
}

/* A message larger than 1 MiB goes back as headers only, and the stream
 * is read no further than its header section (envelope size known) or
 * than the limit plus one read (size unknown). */
static void
test_large_original (void)
{
  gsize body_len = 2 * 1024 * 1024;
  g_autoptr (GString) big = g_string_new (ORIGINAL);

  while (big->len < body_len)
    g_string_append (big, "0123456789012345678901234567890123456789012345"
                          "678901234567890123456789\r\n");

  for (int known = 0; known <= 1; known++)
    {
      g_autoptr (MbEnvelope) envelope = make_envelope (SENDER);
      g_autoptr (GInputStream) original = NULL;
      g_autoptr (GError) error = NULL;
      g_autoptr (GBytes) report = NULL;
      g_autoptr (GMimeMessage) message = NULL;
      g_autofree char *text = NULL;
      MbDsnOptions     options = make_options ();
      GMimeObject     *body;
      GMimeObject     *part;
      goffset          position;

      envelope->size = known ? big->len : 0;
      original = g_memory_input_stream_new_from_data (big->str,
                                                      (gssize)big->len, NULL);
      report = mb_dsn_build (MB_DSN_KIND_FAILURE, envelope, NULL, &options,
                             original, NULL, NULL, &error);
      g_assert_no_error (error);
      g_assert_cmpuint (g_bytes_get_size (report), <, 64 * 1024);
      position = g_seekable_tell (G_SEEKABLE (original));
      if (known)
        g_assert_cmpint (position, <=, 64 * 1024);
      else
        g_assert_cmpint (position, <=, MB_DSN_MAX_FULL_ORIGINAL + 64 * 1024);

      message = parse_report (report);
      body = g_mime_message_get_mime_part (message);
      part = g_mime_multipart_get_part (GMIME_MULTIPART (body), 2);
      g_assert_true (g_mime_content_type_is_type (
          g_mime_object_get_content_type (part), "text", "rfc822-headers"));
      text = g_mime_text_part_get_text (GMIME_TEXT_PART (
          g_mime_multipart_get_part (GMIME_MULTIPART (body), 0)));
      g_assert_nonnull (strstr (text, "too large to return"));
    }
}

typedef struct
{
  const char *name;
  const char *sender;
  const char *original;
  MbDsnSkip   skip;
} SkipCase;

/* No bounce for <>, for MAILER-DAEMON, or of an automatic reply or a
 * report; Auto-Submitted: auto-generated (a device's own notice) still
 * gets one. */
static void
test_no_report (void)
{
  static const SkipCase cases[] = {
    { "null-sender", "", ORIGINAL, MB_DSN_SKIP_NULL_SENDER },
    { "mailer-daemon", "Mailer-Daemon@fabrikam.com", ORIGINAL,
      MB_DSN_SKIP_MAILER_DAEMON },
    { "auto-replied", SENDER,
      "From: x@contoso.com\r\nAuto-Submitted: Auto-Replied (vacation)\r\n"
      "Subject: away\r\n\r\nbody\r\n",
      MB_DSN_SKIP_AUTO_REPLIED },
    { "a-report", SENDER,
      "From: x@contoso.com\r\nMIME-Version: 1.0\r\nContent-Type: "
      "multipart/report;\r\n report-type=delivery-status; boundary=b\r\n\r\n"
      "--b\r\n\r\nx\r\n--b--\r\n",
      MB_DSN_SKIP_AUTO_REPLIED },
    { "auto-generated-still-bounces", SENDER,
      "From: x@contoso.com\r\nAuto-Submitted: auto-generated\r\n"
      "Subject: toner low\r\n\r\nbody\r\n",
      MB_DSN_SKIP_NONE },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      const SkipCase *c = &cases[i];
      g_autoptr (MbEnvelope) envelope = make_envelope (c->sender);
      g_autoptr (GInputStream) original = original_stream (c->original);
      g_autoptr (GError) error = NULL;
      g_autoptr (GBytes) report = NULL;
      MbDsnOptions options = make_options ();
      MbDsnSkip    skip = MB_DSN_SKIP_NONE;

      g_test_message ("case %s", c->name);
      envelope->size = strlen (c->original);
      report = mb_dsn_build (MB_DSN_KIND_FAILURE, envelope, NULL, &options,
                             original, &skip, NULL, &error);
      g_assert_no_error (error);
      g_assert_cmpint (skip, ==, c->skip);
      g_assert_cmpint (report != NULL, ==, c->skip == MB_DSN_SKIP_NONE);
      if (c->skip == MB_DSN_SKIP_NULL_SENDER
          || c->skip == MB_DSN_SKIP_MAILER_DAEMON)
        g_assert_false (
            mb_dsn_should_report (MB_DSN_KIND_FAILURE, envelope,
                                  g_ptr_array_index (envelope->recipients, 2)));
    }
}

/* The report goes to the sender, failures also to the admin; once when
 * they are the same; to the admin (unnamed in To:) when the sender is
 * unusable; to nobody for <>. */
static void
test_report_recipients (void)
{
  g_autoptr (MbEnvelope) envelope = make_envelope (SENDER);
  g_auto (GStrv) failure = NULL;
  g_auto (GStrv) delay = NULL;
  g_auto (GStrv) same = NULL;
  g_auto (GStrv) no_admin = NULL;
  g_auto (GStrv) broken = NULL;
  g_auto (GStrv) null_sender = NULL;
  const char *const both[] = { SENDER, ADMIN, NULL };
  const char *const sender_only[] = { SENDER, NULL };
  const char *const admin_only[] = { ADMIN, NULL };
  const char *const none[] = { NULL };

  failure = mb_dsn_get_report_recipients (MB_DSN_KIND_FAILURE, envelope, ADMIN);
  g_assert_cmpstrv (failure, both);
  delay = mb_dsn_get_report_recipients (MB_DSN_KIND_DELAY, envelope, ADMIN);
  g_assert_cmpstrv (delay, sender_only);
  same = mb_dsn_get_report_recipients (MB_DSN_KIND_FAILURE, envelope,
                                       "Scanner@Contoso.com");
  g_assert_cmpstrv (same, sender_only);
  no_admin = mb_dsn_get_report_recipients (MB_DSN_KIND_FAILURE, envelope, NULL);
  g_assert_cmpstrv (no_admin, sender_only);

  g_free (envelope->sender);
  envelope->sender = g_strdup ("scanner at lobby");
  broken = mb_dsn_get_report_recipients (MB_DSN_KIND_DELAY, envelope, ADMIN);
  g_assert_cmpstrv (broken, admin_only);
  {
    g_autoptr (GInputStream) original = original_stream (ORIGINAL);
    g_autoptr (GBytes) report = NULL;
    g_autoptr (GMimeMessage) message = NULL;
    g_autoptr (GError) error = NULL;
    MbDsnOptions options = make_options ();

    /* Such a report names no one in To:. */
    report = mb_dsn_build (MB_DSN_KIND_FAILURE, envelope, NULL, &options,
                           original, NULL, NULL, &error);
    g_assert_no_error (error);
    message = parse_report (report);
    g_assert_cmpstr (g_mime_object_get_header (GMIME_OBJECT (message), "To"),
                     ==, "undisclosed-recipients: ;");
  }

  g_free (envelope->sender);
  envelope->sender = g_strdup ("");
  null_sender
      = mb_dsn_get_report_recipients (MB_DSN_KIND_FAILURE, envelope, ADMIN);
  g_assert_cmpstrv (null_sender, none);
}

/* An SMTPUTF8 recipient turns the report into its RFC 6533 form; a pseudo
 * reply gets our own diagnostic type; a very long reply is folded within
 * 998 octets; without the original file there are two parts. */
static void
test_special_recipients (void)
{
  g_autoptr (MbEnvelope) envelope = make_envelope (SENDER);
  g_autoptr (GPtrArray) chosen = g_ptr_array_new ();
  g_autoptr (GError) error = NULL;
  g_autoptr (GBytes) report = NULL;
  g_autoptr (GMimeMessage) message = NULL;
  g_autoptr (GPtrArray) blocks = NULL;
  g_autoptr (GString) long_reply = g_string_new ("554 5.6.0 ");
  g_autofree char  *status = NULL;
  g_autofree char  *text = NULL;
  g_autofree char  *flat_code = NULL;
  MbDsnOptions      options = make_options ();
  MbRecipient      *utf8;
  MbRecipient      *timeout;
  MbRecipient      *chatty;
  GMimeObject      *body;
  GMimeContentType *type;

  utf8 = mb_envelope_add_recipient (envelope, "jürgen@bücher.example", 0, NULL);
  utf8->state = MB_RECIPIENT_STATE_FAILED;
  utf8->last_reply = g_strdup ("550 5.1.1 no such user");
  timeout = mb_envelope_add_recipient (envelope, "slow@fabrikam.com", 0, NULL);
  timeout->state = MB_RECIPIENT_STATE_FAILED;
  timeout->last_reply = g_strdup ("mb.timeout no reply within 300 seconds");
  chatty = mb_envelope_add_recipient (envelope, "chatty@fabrikam.com", 0, NULL);
  chatty->state = MB_RECIPIENT_STATE_FAILED;
  while (long_reply->len < 3000)
    g_string_append (long_reply, "Lorem ipsum dolor sit amet ");
  g_string_append (long_reply, "XXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX"
                               "XXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX");
  chatty->last_reply = g_strdup (long_reply->str);
  g_ptr_array_add (chosen, utf8);
  g_ptr_array_add (chosen, timeout);
  g_ptr_array_add (chosen, chatty);

  report = mb_dsn_build (MB_DSN_KIND_FAILURE, envelope, chosen, &options, NULL,
                         NULL, NULL, &error);
  g_assert_no_error (error);
  assert_crlf_lines (report);
  message = parse_report (report);
  body = g_mime_message_get_mime_part (message);
  type = g_mime_object_get_content_type (body);
  g_assert_cmpstr (g_mime_content_type_get_parameter (type, "report-type"), ==,
                   "global-delivery-status");
  g_assert_cmpint (g_mime_multipart_get_count (GMIME_MULTIPART (body)), ==, 2);
  g_assert_true (g_mime_content_type_is_type (
      g_mime_object_get_content_type (
          g_mime_multipart_get_part (GMIME_MULTIPART (body), 1)),
      "message", "global-delivery-status"));

  status = get_part_content (
      g_mime_multipart_get_part (GMIME_MULTIPART (body), 1));
  blocks = parse_status_blocks (status);
  g_assert_cmpuint (blocks->len, ==, 4);
  g_assert_cmpstr (field (blocks, 1, "final-recipient"), ==,
                   "utf-8; jürgen@bücher.example");
  g_assert_cmpstr (field (blocks, 2, "status"), ==, "5.0.0");
  g_assert_cmpstr (field (blocks, 2, "diagnostic-code"), ==,
                   "X-Mailbridge; mb.timeout no reply within 300 seconds");
  g_assert_cmpstr (field (blocks, 3, "status"), ==, "5.6.0");
  flat_code = collapse_blanks (field (blocks, 3, "diagnostic-code"));
  g_assert_true (g_str_has_prefix (flat_code, "smtp; 554 5.6.0 Lorem"));
  g_assert_true (g_str_has_suffix (flat_code, "XXXXXXXXXX"));

  text = g_mime_text_part_get_text (
      GMIME_TEXT_PART (g_mime_multipart_get_part (GMIME_MULTIPART (body), 0)));
  g_assert_nonnull (strstr (text, "could not be attached"));
  g_assert_nonnull (strstr (text, "<jürgen@bücher.example>"));
  /* The pseudo reply has its own hint. */
  g_assert_nonnull (
      strstr (text, mb_reply_hint_get_summary (
                        mb_reply_hints_lookup_keyword ("mb.timeout"))));
}

/* An 8-bit original returned whole makes the report 8BITMIME, its bytes
 * unchanged. */
static void
test_eight_bit_original (void)
{
  const char *original = "From: Scanner <scanner@contoso.com>\r\n"
                         "Subject: Grüße aus Köln\r\n\r\n"
                         "Größe: 3 Seiten\r\n";
  g_autoptr (MbEnvelope) envelope = make_envelope (SENDER);
  g_autoptr (GInputStream) stream = original_stream (original);
  g_autoptr (GError) error = NULL;
  g_autoptr (GBytes) report = NULL;
  g_autofree char *all = NULL;
  g_autofree char *text = NULL;
  g_autoptr (GMimeMessage) message = NULL;

  envelope->size = strlen (original);
  report = mb_dsn_build (MB_DSN_KIND_FAILURE, envelope, NULL,
                         &(MbDsnOptions){ .reporting_mta = REPORTING_MTA },
                         stream, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpint (mb_dsn_get_body_type (report), ==, MB_SMTP_BODY_8BITMIME);
  all = g_strndup (g_bytes_get_data (report, NULL), g_bytes_get_size (report));
  g_assert_nonnull (strstr (all, "Content-Transfer-Encoding: 8bit\r\n"));
  g_assert_nonnull (strstr (all, original));

  message = parse_report (report);
  text = g_mime_text_part_get_text (GMIME_TEXT_PART (g_mime_multipart_get_part (
      GMIME_MULTIPART (g_mime_message_get_mime_part (message)), 0)));
  g_assert_nonnull (strstr (text, "Subject:  Grüße aus Köln"));
}

typedef struct
{
  GBytes   *report;
  MbDsnSkip skip;
  GError   *error;
  gboolean  done;
} BuildWait;

static void
on_build_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  BuildWait *wait = user_data;

  (void)source;
  wait->report = mb_dsn_build_finish (result, &wait->skip, &wait->error);
  wait->done = TRUE;
}

/* The threaded build copies its inputs: the caller may free the envelope
 * and recipients at once; skips come back without an error. */
static void
test_async (void)
{
  g_autoptr (GInputStream) original = original_stream (ORIGINAL);
  g_autoptr (GMimeMessage) message = NULL;
  BuildWait    wait = { 0 };
  MbDsnOptions options = make_options ();

  {
    g_autoptr (MbEnvelope) envelope = make_envelope (SENDER);
    g_autoptr (GPtrArray) chosen = g_ptr_array_new ();

    g_ptr_array_add (chosen, g_ptr_array_index (envelope->recipients, 2));
    mb_dsn_build_async (MB_DSN_KIND_FAILURE, envelope, chosen, &options,
                        original, NULL, on_build_cb, &wait);
  }
  MB_TEST_WAIT_UNTIL (wait.done);
  g_assert_no_error (wait.error);
  g_assert_cmpint (wait.skip, ==, MB_DSN_SKIP_NONE);
  g_assert_nonnull (wait.report);
  message = parse_report (wait.report);
  g_assert_cmpint (g_mime_multipart_get_count (GMIME_MULTIPART (
                       g_mime_message_get_mime_part (message))),
                   ==, 3);
  g_bytes_unref (wait.report);

  memset (&wait, 0, sizeof wait);
  {
    g_autoptr (MbEnvelope) envelope = make_envelope ("");

    mb_dsn_build_async (MB_DSN_KIND_FAILURE, envelope, NULL, &options, NULL,
                        NULL, on_build_cb, &wait);
  }
  MB_TEST_WAIT_UNTIL (wait.done);
  g_assert_no_error (wait.error);
  g_assert_null (wait.report);
  g_assert_cmpint (wait.skip, ==, MB_DSN_SKIP_NULL_SENDER);
}

int
main (int argc, char *argv[])
{
  g_test_init (&argc, &argv, NULL);
  g_mime_init ();

  g_test_add_func ("/relay/dsn/failure/five-recipients", test_failure_report);
  g_test_add_func ("/relay/dsn/delay/deferred-recipient", test_delay_report);
  g_test_add_func ("/relay/dsn/relayed/notify-success", test_relayed_report);
  g_test_add_func ("/relay/dsn/notify/matrix", test_notify_matrix);
  g_test_add_func ("/relay/dsn/original/ret-hdrs", test_ret_hdrs);
  g_test_add_func ("/relay/dsn/original/large", test_large_original);
  g_test_add_func ("/relay/dsn/original/eight-bit", test_eight_bit_original);
  g_test_add_func ("/relay/dsn/skip/no-bounce-of-bounce", test_no_report);
  g_test_add_func ("/relay/dsn/recipients/sender-and-admin",
                   test_report_recipients);
  g_test_add_func ("/relay/dsn/fields/special-recipients",
                   test_special_recipients);
  g_test_add_func ("/relay/dsn/async/copies-inputs", test_async);

  return g_test_run ();
}
