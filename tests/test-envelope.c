/* test-envelope.c - unit tests for mb-envelope */
#include "mb-envelope.h"

#include <string.h>

static MbEnvelope *
build_full_envelope (void)
{
  MbEnvelope  *envelope = mb_envelope_new ();
  MbRecipient *recipient;

  envelope->id = g_strdup ("00061a2b3c4d5e6f-0badcafe");
  g_free (envelope->sender);
  envelope->sender = g_strdup ("scanner@example.com");
  envelope->received = 1732400000;
  envelope->size = 123456789012;
  envelope->client_address = g_strdup ("192.0.2.10");
  envelope->client_helo = g_strdup ("  scanner [lobby]; #1\\ ");
  envelope->route = g_strdup ("m365");
  envelope->message_id = g_strdup ("abc@scanner");
  envelope->smtputf8 = TRUE;
  envelope->body = MB_SMTP_BODY_8BITMIME;
  envelope->ret = MB_DSN_RET_HDRS;
  envelope->envid = g_strdup ("");
  envelope->delay_notice_sent = 1732414400;

  mb_envelope_add_recipient (envelope, "anna@example.com", 0, NULL);
  recipient = mb_envelope_add_recipient (
      envelope, "jürgen@bücher.example",
      MB_DSN_NOTIFY_SUCCESS | MB_DSN_NOTIFY_FAILURE | MB_DSN_NOTIFY_DELAY,
      "rfc822;jürgen@bücher.example");
  recipient->state = MB_RECIPIENT_STATE_DEFERRED;
  recipient->attempts = 3;
  recipient->next_attempt = 1732403600;
  recipient->last_reply = g_strdup ("451 4.7.500 Server busy.\r\n"
                                    "\tPlease retry later [AM0PR01]  ");
  recipient = mb_envelope_add_recipient (envelope, "bob@example.com",
                                         MB_DSN_NOTIFY_NEVER, NULL);
  recipient->state = MB_RECIPIENT_STATE_DELIVERED;
  recipient = mb_envelope_add_recipient (envelope, "eve@example.com", 0, "");
  recipient->state = MB_RECIPIENT_STATE_FAILED;
  recipient->last_reply
      = g_strdup ("550 5.1.10 RESOLVER.ADR.RecipientNotFound");
  return envelope;
}

static void
assert_envelopes_equal (const MbEnvelope *a, const MbEnvelope *b)
{
  g_assert_cmpstr (a->id, ==, b->id);
  g_assert_cmpstr (a->sender, ==, b->sender);
  g_assert_cmpint (a->received, ==, b->received);
  g_assert_cmpuint (a->size, ==, b->size);
  g_assert_cmpstr (a->client_address, ==, b->client_address);
  g_assert_cmpstr (a->client_helo, ==, b->client_helo);
  g_assert_cmpstr (a->route, ==, b->route);
  g_assert_cmpstr (a->message_id, ==, b->message_id);
  g_assert_cmpint (a->smtputf8, ==, b->smtputf8);
  g_assert_cmpint (a->body, ==, b->body);
  g_assert_cmpint (a->ret, ==, b->ret);
  g_assert_cmpstr (a->envid, ==, b->envid);
  g_assert_cmpint (a->delay_notice_sent, ==, b->delay_notice_sent);
  g_assert_cmpuint (a->recipients->len, ==, b->recipients->len);
  for (guint i = 0; i < a->recipients->len; i++)
    {
      const MbRecipient *ra = g_ptr_array_index (a->recipients, i);
      const MbRecipient *rb = g_ptr_array_index (b->recipients, i);

      g_assert_cmpstr (ra->address, ==, rb->address);
      g_assert_cmpint (ra->state, ==, rb->state);
      g_assert_cmpuint (ra->notify, ==, rb->notify);
      g_assert_cmpstr (ra->orcpt, ==, rb->orcpt);
      g_assert_cmpuint (ra->attempts, ==, rb->attempts);
      g_assert_cmpint (ra->next_attempt, ==, rb->next_attempt);
      g_assert_cmpstr (ra->last_reply, ==, rb->last_reply);
    }
}

/* Every field, including text with line breaks, tabs, backslashes, leading
 * and trailing blanks, UTF-8, NULL vs "", survives serialize + parse. */
static void
test_round_trip_full (void)
{
  g_autoptr (MbEnvelope) envelope = build_full_envelope ();
  g_autoptr (GBytes) bytes = mb_envelope_serialize (envelope);
  g_autoptr (MbEnvelope) parsed = NULL;
  g_autoptr (GError) error = NULL;
  gsize       len;
  const char *data = g_bytes_get_data (bytes, &len);

  g_assert_true (g_utf8_validate (data, len, NULL));
  g_assert_null (memchr (data, '\r', len));
  parsed = mb_envelope_parse (data, len, &error);
  g_assert_no_error (error);
  g_assert_nonnull (parsed);
  assert_envelopes_equal (envelope, parsed);
}

/* A minimal envelope (null reverse path, nothing optional) round-trips and
 * its optional strings stay NULL. */
static void
test_round_trip_minimal (void)
{
  g_autoptr (MbEnvelope) envelope = mb_envelope_new ();
  g_autoptr (GBytes) bytes = NULL;
  g_autoptr (MbEnvelope) parsed = NULL;
  g_autoptr (GError) error = NULL;

  envelope->id = g_strdup ("x");
  mb_envelope_add_recipient (envelope, "postmaster", 0, NULL);
  bytes = mb_envelope_serialize (envelope);
  parsed = mb_envelope_parse (g_bytes_get_data (bytes, NULL),
                              g_bytes_get_size (bytes), &error);
  g_assert_no_error (error);
  assert_envelopes_equal (envelope, parsed);
  g_assert_cmpstr (parsed->sender, ==, "");
  g_assert_null (parsed->client_address);
  g_assert_null (parsed->envid);
}

/* Text that is not UTF-8 cannot live in a key file: it is stored with
 * U+FFFD instead of making the whole envelope unreadable. */
static void
test_invalid_utf8_is_repaired (void)
{
  g_autoptr (MbEnvelope) envelope = build_full_envelope ();
  MbRecipient *recipient = g_ptr_array_index (envelope->recipients, 0);
  g_autoptr (GBytes) bytes = NULL;
  g_autoptr (MbEnvelope) parsed = NULL;
  g_autoptr (GError) error = NULL;

  recipient->last_reply = g_strdup ("550 bad \xff byte");
  bytes = mb_envelope_serialize (envelope);
  parsed = mb_envelope_parse (g_bytes_get_data (bytes, NULL),
                              g_bytes_get_size (bytes), &error);
  g_assert_no_error (error);
  recipient = g_ptr_array_index (parsed->recipients, 0);
  g_assert_cmpstr (recipient->last_reply, ==, "550 bad \xef\xbf\xbd byte");
}

/* The copy is deep and equal. */
static void
test_copy (void)
{
  g_autoptr (MbEnvelope) envelope = build_full_envelope ();
  g_autoptr (MbEnvelope) copy = mb_envelope_copy (envelope);

  assert_envelopes_equal (envelope, copy);
  g_assert_true (copy->id != envelope->id);
  g_assert_true (g_ptr_array_index (copy->recipients, 0)
                 != g_ptr_array_index (envelope->recipients, 0));
}

/* Finished means every recipient is delivered or failed. */
static void
test_is_finished (void)
{
  g_autoptr (MbEnvelope) envelope = build_full_envelope ();

  g_assert_false (mb_envelope_is_finished (envelope));
  for (guint i = 0; i < envelope->recipients->len; i++)
    {
      MbRecipient *recipient = g_ptr_array_index (envelope->recipients, i);

      if (recipient->state != MB_RECIPIENT_STATE_FAILED)
        recipient->state = MB_RECIPIENT_STATE_DELIVERED;
    }
  g_assert_true (mb_envelope_is_finished (envelope));
}

/* The state names are the ones the file and the CLI use. */
static void
test_state_strings (void)
{
  static const char *names[] = { "queued", "deferred", "delivered", "failed" };
  MbRecipientState   state;

  for (guint i = 0; i < G_N_ELEMENTS (names); i++)
    {
      g_assert_cmpstr (mb_recipient_state_to_string (i), ==, names[i]);
      g_assert_true (mb_recipient_state_from_string (names[i], &state));
      g_assert_cmpint (state, ==, i);
    }
  g_assert_false (mb_recipient_state_from_string ("Queued", &state));
  g_assert_false (mb_recipient_state_from_string ("", &state));
  g_assert_false (mb_recipient_state_from_string (NULL, &state));
}

#define GOOD_HEAD                                                              \
  "[envelope]\nversion=1\nrecipients=1\nid=a\nsender=s@x\nreceived=5\n"
#define GOOD_RCPT "[recipient 0]\naddress=r@x\nstate=queued\n"

typedef struct
{
  const char *name;
  const char *text;
  int         code; /* MbEnvelopeError, or -1 when the text is valid */
} ParseCase;

static const ParseCase parse_cases[] = {
  { "good", GOOD_HEAD GOOD_RCPT, -1 },
  { "unknown-keys-ignored",
    GOOD_HEAD "future-key=1\n" GOOD_RCPT "[future]\nx=y\n", -1 },
  { "empty", "", MB_ENVELOPE_ERROR_MISSING },
  { "not-a-key-file", "From: someone\nSubject: hi\n", MB_ENVELOPE_ERROR_PARSE },
  { "binary", "\x89PNG\r\n\x1a\n", MB_ENVELOPE_ERROR_PARSE },
  { "no-version",
    "[envelope]\nrecipients=1\nid=a\nsender=\nreceived=5\n" GOOD_RCPT,
    MB_ENVELOPE_ERROR_MISSING },
  { "newer-version",
    "[envelope]\nversion=2\nrecipients=1\nid=a\nsender=\nreceived="
    "5\n" GOOD_RCPT,
    MB_ENVELOPE_ERROR_VERSION },
  { "version-zero",
    "[envelope]\nversion=0\nrecipients=1\nid=a\nsender=\nreceived="
    "5\n" GOOD_RCPT,
    MB_ENVELOPE_ERROR_PARSE },
  { "version-text",
    "[envelope]\nversion=one\nrecipients=1\nid=a\nsender=\nreceived="
    "5\n" GOOD_RCPT,
    MB_ENVELOPE_ERROR_PARSE },
  { "no-id",
    "[envelope]\nversion=1\nrecipients=1\nsender=\nreceived=5\n" GOOD_RCPT,
    MB_ENVELOPE_ERROR_MISSING },
  { "empty-id",
    "[envelope]\nversion=1\nrecipients=1\nid=\nsender=\nreceived=5\n" GOOD_RCPT,
    MB_ENVELOPE_ERROR_PARSE },
  { "no-sender",
    "[envelope]\nversion=1\nrecipients=1\nid=a\nreceived=5\n" GOOD_RCPT,
    MB_ENVELOPE_ERROR_MISSING },
  { "no-received",
    "[envelope]\nversion=1\nrecipients=1\nid=a\nsender=\n" GOOD_RCPT,
    MB_ENVELOPE_ERROR_MISSING },
  { "negative-received",
    "[envelope]\nversion=1\nrecipients=1\nid=a\nsender=\nreceived=-"
    "5\n" GOOD_RCPT,
    MB_ENVELOPE_ERROR_PARSE },
  { "size-overflow", GOOD_HEAD "size=18446744073709551616\n" GOOD_RCPT,
    MB_ENVELOPE_ERROR_PARSE },
  { "size-trailing", GOOD_HEAD "size=12k\n" GOOD_RCPT,
    MB_ENVELOPE_ERROR_PARSE },
  { "bad-smtputf8", GOOD_HEAD "smtputf8=yes\n" GOOD_RCPT,
    MB_ENVELOPE_ERROR_PARSE },
  { "bad-body", GOOD_HEAD "body=8BIT\n" GOOD_RCPT, MB_ENVELOPE_ERROR_PARSE },
  { "bad-ret", GOOD_HEAD "ret=all\n" GOOD_RCPT, MB_ENVELOPE_ERROR_PARSE },
  { "no-recipient",
    "[envelope]\nversion=1\nrecipients=0\nid=a\nsender=\nreceived=5\n",
    MB_ENVELOPE_ERROR_MISSING },
  { "recipient-count-missing",
    "[envelope]\nversion=1\nid=a\nsender=\nreceived=5\n" GOOD_RCPT,
    MB_ENVELOPE_ERROR_MISSING },
  { "recipient-count-short", GOOD_HEAD, MB_ENVELOPE_ERROR_PARSE },
  { "recipient-count-long",
    GOOD_HEAD GOOD_RCPT "[recipient 1]\naddress=r@x\nstate=queued\n",
    MB_ENVELOPE_ERROR_PARSE },
  { "recipient-gap", GOOD_HEAD "[recipient 1]\naddress=r@x\nstate=queued\n",
    MB_ENVELOPE_ERROR_PARSE },
  { "recipient-bad-number",
    GOOD_HEAD GOOD_RCPT "[recipient x]\naddress=r@x\nstate=queued\n",
    MB_ENVELOPE_ERROR_PARSE },
  { "recipient-no-address", GOOD_HEAD "[recipient 0]\nstate=queued\n",
    MB_ENVELOPE_ERROR_MISSING },
  { "recipient-no-state", GOOD_HEAD "[recipient 0]\naddress=r@x\n",
    MB_ENVELOPE_ERROR_MISSING },
  { "recipient-bad-state", GOOD_HEAD "[recipient 0]\naddress=r@x\nstate=sent\n",
    MB_ENVELOPE_ERROR_PARSE },
  { "recipient-bad-notify", GOOD_HEAD GOOD_RCPT "notify=success,always\n",
    MB_ENVELOPE_ERROR_PARSE },
  { "recipient-bad-attempts", GOOD_HEAD GOOD_RCPT "attempts=-1\n",
    MB_ENVELOPE_ERROR_PARSE },
  { "truncated-group", GOOD_HEAD "[recipient 0", MB_ENVELOPE_ERROR_PARSE },
  { "truncated-value", "[envelope]\nversion=1\nid=a\nsender=s@x\nrecei",
    MB_ENVELOPE_ERROR_PARSE },
  { "bad-escape", GOOD_HEAD GOOD_RCPT "last-reply=x\\qy\n",
    MB_ENVELOPE_ERROR_PARSE },
  { "invalid-utf8-value", GOOD_HEAD GOOD_RCPT "last-reply=\xc3\x28\n",
    MB_ENVELOPE_ERROR_PARSE },
};

/* Parsing accepts a valid file and refuses each kind of broken one with
 * the right error code. */
static void
test_parse_case (gconstpointer data)
{
  const ParseCase *c = data;
  g_autoptr (GError) error = NULL;
  g_autoptr (MbEnvelope) envelope
      = mb_envelope_parse (c->text, strlen (c->text), &error);

  if (c->code < 0)
    {
      g_assert_no_error (error);
      g_assert_nonnull (envelope);
      g_assert_cmpuint (envelope->recipients->len, ==, 1);
    }
  else
    {
      g_assert_error (error, MB_ENVELOPE_ERROR, c->code);
      g_assert_null (envelope);
    }
}

/* A NUL byte (a torn write of zeros, say) is refused, not read as the text
 * before it. */
static void
test_parse_nul (void)
{
  static const char text[] = GOOD_HEAD GOOD_RCPT "\0garbage";
  g_autoptr (GError) error = NULL;
  g_autoptr (MbEnvelope) envelope
      = mb_envelope_parse (text, sizeof text - 1, &error);

  g_assert_error (error, MB_ENVELOPE_ERROR, MB_ENVELOPE_ERROR_PARSE);
  g_assert_null (envelope);
}

/* A file cut short at any byte before its final newline is refused (a
 * torn file is never half-trusted, never read as fewer recipients). */
static void
test_parse_every_prefix (void)
{
  g_autoptr (MbEnvelope) envelope = build_full_envelope ();
  g_autoptr (GBytes) bytes = mb_envelope_serialize (envelope);
  gsize       len;
  const char *data = g_bytes_get_data (bytes, &len);

  g_assert_cmpint (data[len - 1], ==, '\n');
  for (gsize cut = 0; cut < len - 1; cut++)
    {
      g_autoptr (GError) error = NULL;
      g_autoptr (MbEnvelope) parsed = mb_envelope_parse (data, cut, &error);

      if (parsed != NULL)
        g_error ("a prefix of %" G_GSIZE_FORMAT " bytes was accepted", cut);
      g_assert_true (
          g_error_matches (error, MB_ENVELOPE_ERROR, MB_ENVELOPE_ERROR_PARSE)
          || g_error_matches (error, MB_ENVELOPE_ERROR,
                              MB_ENVELOPE_ERROR_MISSING));
    }
}

/* The error domain has its documented name (D-Bus error mapping uses it). */
static void
test_error_quark (void)
{
  g_assert_cmpstr (g_quark_to_string (MB_ENVELOPE_ERROR), ==,
                   "mb-envelope-error-quark");
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/relay/envelope/round-trip/full", test_round_trip_full);
  g_test_add_func ("/relay/envelope/round-trip/minimal",
                   test_round_trip_minimal);
  g_test_add_func ("/relay/envelope/round-trip/invalid-utf8",
                   test_invalid_utf8_is_repaired);
  g_test_add_func ("/relay/envelope/error-quark", test_error_quark);
  g_test_add_func ("/relay/envelope/copy", test_copy);
  g_test_add_func ("/relay/envelope/is-finished", test_is_finished);
  g_test_add_func ("/relay/envelope/state-strings", test_state_strings);
  for (guint i = 0; i < G_N_ELEMENTS (parse_cases); i++)
    {
      g_autofree char *path
          = g_strdup_printf ("/relay/envelope/parse/%s", parse_cases[i].name);
      g_test_add_data_func (path, &parse_cases[i], test_parse_case);
    }
  g_test_add_func ("/relay/envelope/parse/nul", test_parse_nul);
  g_test_add_func ("/relay/envelope/parse/every-prefix",
                   test_parse_every_prefix);
  return g_test_run ();
}
