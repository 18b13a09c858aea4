/* test-smtp-reply.c - the SMTP reply parser, EHLO keywords and XOAUTH2 */
#include "mb-smtp-reply.h"

#include <string.h>

typedef struct
{
  const char *name;
  const char *input;
  gssize      len; /* -1: strlen (input) */
  guint       code;
  const char *enhanced;
  const char *text;
} GoodCase;

static const GoodCase good_cases[] = {
  { "single", "250 OK\r\n", -1, 250, NULL, "OK" },
  { "code-only", "250\r\n", -1, 250, NULL, "" },
  { "code-space", "250 \r\n", -1, 250, NULL, "" },
  { "bare-lf", "220 ready\n", -1, 220, NULL, "ready" },
  { "multi-line",
    "250-mail.example Hello [192.0.2.1]\r\n250-SIZE 157286400\r\n"
    "250 PIPELINING\r\n",
    -1, 250, NULL,
    "mail.example Hello [192.0.2.1]\nSIZE 157286400\nPIPELINING" },
  { "multi-line-empty-continuation", "250-\r\n250 end\r\n", -1, 250, NULL,
    "\nend" },
  { "enhanced",
    "550 5.7.60 SMTP; Client does not have permissions to send as this "
    "sender\r\n",
    -1, 550, "5.7.60",
    "SMTP; Client does not have permissions to send as this sender" },
  { "enhanced-three-digits",
    "535 5.7.139 Authentication unsuccessful, basic authentication is "
    "disabled.\r\n",
    -1, 535, "5.7.139",
    "Authentication unsuccessful, basic authentication is disabled." },
  { "enhanced-multi-line", "550-5.7.1 first\r\n550 5.7.1 second\r\n", -1, 550,
    "5.7.1", "first\nsecond" },
  { "enhanced-only-on-first-line",
    "451-4.7.500 Server busy.\r\n451 Try later\r\n", -1, 451, "4.7.500",
    "Server busy.\nTry later" },
  { "enhanced-alone", "250 2.0.0\r\n", -1, 250, "2.0.0", "" },
  { "enhanced-class-mismatch", "250 5.0.0 odd\r\n", -1, 250, NULL,
    "5.0.0 odd" },
  { "enhanced-subject-too-long", "550 5.1234.1 x\r\n", -1, 550, NULL,
    "5.1234.1 x" },
  { "enhanced-needs-space", "550 5.7.1x text\r\n", -1, 550, NULL,
    "5.7.1x text" },
  { "intermediate-334", "334 VXNlcm5hbWU6\r\n", -1, 334, NULL, "VXNlcm5hbWU6" },
  { "tab-in-text", "250 a\tb\r\n", -1, 250, NULL, "a\tb" },
  { "latin1-repaired", "220 caf\xe9\r\n", -1, 220, NULL, "caf\xef\xbf\xbd" },
  { "utf8-kept", "250 gr\xc3\xbc\xc3\x9f\x65\r\n", -1, 250, NULL,
    "gr\xc3\xbc\xc3\x9f\x65" },
  { "m365-tag",
    "535 5.7.3 Authentication unsuccessful "
    "[SN2PR00CA0018.namprd00.prod.outlook.com]\r\n",
    -1, 535, "5.7.3",
    "Authentication unsuccessful [SN2PR00CA0018.namprd00.prod.outlook.com]" },
};

typedef struct
{
  const char      *name;
  const char      *input;
  gssize           len;
  MbSmtpReplyError error;
} BadCase;

static const BadCase bad_cases[] = {
  { "not-a-reply", "hello world\r\n", -1, MB_SMTP_REPLY_ERROR_SYNTAX },
  { "short-code", "25\r\n", -1, MB_SMTP_REPLY_ERROR_SYNTAX },
  { "first-digit-6", "600 no\r\n", -1, MB_SMTP_REPLY_ERROR_SYNTAX },
  { "first-digit-1", "150 no\r\n", -1, MB_SMTP_REPLY_ERROR_SYNTAX },
  { "second-digit-6", "260 no\r\n", -1, MB_SMTP_REPLY_ERROR_SYNTAX },
  { "letter-in-code", "2a0 no\r\n", -1, MB_SMTP_REPLY_ERROR_SYNTAX },
  { "bad-separator", "250xOK\r\n", -1, MB_SMTP_REPLY_ERROR_SYNTAX },
  { "control-char", "250 a\001b\r\n", -1, MB_SMTP_REPLY_ERROR_SYNTAX },
  { "nul", "250 a\0b\r\n", 9, MB_SMTP_REPLY_ERROR_SYNTAX },
  { "cr-inside", "250 a\rb\r\n", -1, MB_SMTP_REPLY_ERROR_SYNTAX },
  { "inconsistent-codes", "250-a\r\n251 b\r\n", -1,
    MB_SMTP_REPLY_ERROR_INCONSISTENT },
  { "garbage-continuation", "250-a\r\nfoo\r\n", -1,
    MB_SMTP_REPLY_ERROR_SYNTAX },
  { "empty", "", -1, MB_SMTP_REPLY_ERROR_SYNTAX },
  { "only-continuation", "250-a\r\n", -1, MB_SMTP_REPLY_ERROR_SYNTAX },
  { "trailing-reply", "250 a\r\n250 b\r\n", -1, MB_SMTP_REPLY_ERROR_SYNTAX },
};

static gsize
case_len (const char *input, gssize len)
{
  return len < 0 ? strlen (input) : (gsize)len;
}

static void
assert_reply (const MbSmtpReply *reply, const GoodCase *c)
{
  g_assert_nonnull (reply);
  g_assert_cmpuint (reply->code, ==, c->code);
  g_assert_cmpstr (reply->enhanced, ==, c->enhanced);
  g_assert_cmpstr (reply->text, ==, c->text);
  g_assert_true (g_utf8_validate (reply->text, -1, NULL));
}

/* Each well-formed reply gives the expected code, enhanced code and text. */
static void
test_parse_good (gconstpointer data)
{
  const GoodCase *c = data;
  g_autoptr (GError) error = NULL;
  g_autoptr (MbSmtpReply) reply = NULL;

  reply = mb_smtp_reply_parse (c->input, case_len (c->input, c->len), &error);
  g_assert_no_error (error);
  assert_reply (reply, c);
}

/* Each malformed reply is refused with the right error code. */
static void
test_parse_bad (gconstpointer data)
{
  const BadCase *c = data;
  g_autoptr (GError) error = NULL;
  g_autoptr (MbSmtpReply) reply = NULL;

  reply = mb_smtp_reply_parse (c->input, case_len (c->input, c->len), &error);
  g_assert_error (error, MB_SMTP_REPLY_ERROR, (gint)c->error);
  g_assert_null (reply);
}

/* Feeding a reply in two pieces, split at every byte, gives the same reply
 * and never reports completion early. */
static void
test_parser_split (void)
{
  for (gsize i = 0; i < G_N_ELEMENTS (good_cases); i++)
    {
      const GoodCase *c = &good_cases[i];
      gsize           len = case_len (c->input, c->len);

      for (gsize split = 0; split <= len; split++)
        {
          g_autoptr (MbSmtpReplyParser) parser = mb_smtp_reply_parser_new ();
          g_autoptr (MbSmtpReply) reply = NULL;
          g_autoptr (GError) error = NULL;
          const guint8           *in = (const guint8 *)c->input;
          gsize                   consumed = 0;
          MbSmtpReplyParserStatus status;

          status = mb_smtp_reply_parser_feed (parser, in, split, &consumed,
                                              &reply, &error);
          g_assert_no_error (error);
          if (split < len)
            {
              g_assert_cmpint (status, ==, MB_SMTP_REPLY_PARSER_MORE);
              g_assert_cmpuint (consumed, ==, split);
              status = mb_smtp_reply_parser_feed (
                  parser, in + split, len - split, &consumed, &reply, &error);
              g_assert_no_error (error);
              g_assert_cmpuint (consumed, ==, len - split);
            }
          g_assert_cmpint (status, ==, MB_SMTP_REPLY_PARSER_DONE);
          assert_reply (reply, c);
        }
    }
}

/* Byte by byte, a multi-line reply completes exactly on its last LF. */
static void
test_parser_byte_by_byte (void)
{
  const char *input = "250-one\r\n250-two\r\n250 three\r\n";
  g_autoptr (MbSmtpReplyParser) parser = mb_smtp_reply_parser_new ();
  g_autoptr (MbSmtpReply) reply = NULL;
  gsize len = strlen (input);

  for (gsize i = 0; i < len; i++)
    {
      g_autoptr (GError) error = NULL;
      gsize                   consumed = 0;
      MbSmtpReplyParserStatus status;

      status = mb_smtp_reply_parser_feed (parser, (const guint8 *)input + i, 1,
                                          &consumed, &reply, &error);
      g_assert_no_error (error);
      g_assert_cmpuint (consumed, ==, 1);
      g_assert_cmpint (status, ==,
                       i == len - 1 ? MB_SMTP_REPLY_PARSER_DONE
                                    : MB_SMTP_REPLY_PARSER_MORE);
    }
  g_assert_cmpstr (reply->text, ==, "one\ntwo\nthree");
}

/* Pipelined replies in one buffer come out one per call, each consuming
 * only its own bytes. */
static void
test_parser_pipelined (void)
{
  const char *input = "250 2.1.0 Sender OK\r\n550-5.1.1 no\r\n550 5.1.1 such"
                      "\r\n354 Start mail input\r\n";
  const guint expected_codes[] = { 250, 550, 354 };
  g_autoptr (MbSmtpReplyParser) parser = mb_smtp_reply_parser_new ();
  gsize pos = 0, len = strlen (input);

  for (gsize i = 0; i < G_N_ELEMENTS (expected_codes); i++)
    {
      g_autoptr (MbSmtpReply) reply = NULL;
      g_autoptr (GError) error = NULL;
      gsize consumed = 0;

      g_assert_cmpint (
          mb_smtp_reply_parser_feed (parser, (const guint8 *)input + pos,
                                     len - pos, &consumed, &reply, &error),
          ==, MB_SMTP_REPLY_PARSER_DONE);
      g_assert_no_error (error);
      g_assert_cmpuint (reply->code, ==, expected_codes[i]);
      pos += consumed;
    }
  g_assert_cmpuint (pos, ==, len);
}

/* A line over the limit and a reply over the limit are refused, and the
 * parser stays refused until it is reset. */
static void
test_parser_limits (void)
{
  g_autoptr (MbSmtpReplyParser) parser = mb_smtp_reply_parser_new ();
  g_autoptr (GString) line = g_string_new ("250 ");
  g_autoptr (GString) many = g_string_new (NULL);
  g_autoptr (GError) error = NULL;
  g_autoptr (MbSmtpReply) reply = NULL;
  gsize consumed = 0;

  /* Exactly at the limit is fine. */
  while (line->len < MB_SMTP_REPLY_MAX_LINE)
    g_string_append_c (line, 'a');
  g_string_append (line, "\r\n");
  reply = mb_smtp_reply_parse (line->str, line->len, &error);
  g_assert_no_error (error);
  g_clear_pointer (&reply, mb_smtp_reply_free);

  /* One more byte is not, even fed in pieces without a line end. */
  g_string_insert_c (line, 4, 'a');
  g_assert_cmpint (mb_smtp_reply_parser_feed (parser, (guint8 *)line->str, 100,
                                              &consumed, &reply, &error),
                   ==, MB_SMTP_REPLY_PARSER_MORE);
  g_assert_cmpint (mb_smtp_reply_parser_feed (parser, (guint8 *)line->str + 100,
                                              line->len - 100, &consumed,
                                              &reply, &error),
                   ==, MB_SMTP_REPLY_PARSER_ERROR);
  g_assert_error (error, MB_SMTP_REPLY_ERROR, MB_SMTP_REPLY_ERROR_TOO_LONG);
  g_clear_error (&error);

  g_assert_cmpint (mb_smtp_reply_parser_feed (parser, (guint8 *)"250 x\r\n", 7,
                                              &consumed, &reply, &error),
                   ==, MB_SMTP_REPLY_PARSER_ERROR);
  g_clear_error (&error);
  mb_smtp_reply_parser_reset (parser);
  g_assert_cmpint (mb_smtp_reply_parser_feed (parser, (guint8 *)"250 x\r\n", 7,
                                              &consumed, &reply, &error),
                   ==, MB_SMTP_REPLY_PARSER_DONE);
  g_assert_no_error (error);
  g_clear_pointer (&reply, mb_smtp_reply_free);

  /* Many short lines: the whole reply is bounded too. */
  while (many->len <= MB_SMTP_REPLY_MAX_SIZE)
    g_string_append (many, "250-0123456789012345678901234567890123456789\r\n");
  g_string_append (many, "250 end\r\n");
  g_assert_null (mb_smtp_reply_parse (many->str, many->len, &error));
  g_assert_error (error, MB_SMTP_REPLY_ERROR, MB_SMTP_REPLY_ERROR_TOO_LONG);
}

/* The one-line form for logs: code, enhanced code, text with the lines
 * joined by a space. */
static void
test_to_string (void)
{
  const struct
  {
    const char *input;
    const char *expected;
  } cases[] = {
    { "550 5.7.60 SMTP; Client does not have permissions\r\n",
      "550 5.7.60 SMTP; Client does not have permissions" },
    { "250 OK\r\n", "250 OK" },
    { "250\r\n", "250" },
    { "250 2.0.0\r\n", "250 2.0.0" },
    { "550-5.7.1 first\r\n550 5.7.1 second\r\n", "550 5.7.1 first second" },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr (GError) error = NULL;
      g_autoptr (MbSmtpReply) reply = mb_smtp_reply_parse (
          cases[i].input, strlen (cases[i].input), &error);
      g_autofree char *shown = NULL;

      g_assert_no_error (error);
      shown = mb_smtp_reply_to_string (reply);
      g_assert_cmpstr (shown, ==, cases[i].expected);
    }
}

/* The class predicates follow the first digit; copies are deep. */
static void
test_classes_and_copy (void)
{
  g_autoptr (MbSmtpReply) ok = mb_smtp_reply_new (250, "2.0.0", "OK");
  g_autoptr (MbSmtpReply) more = mb_smtp_reply_new (354, NULL, "go");
  g_autoptr (MbSmtpReply) busy = mb_smtp_reply_new (451, "4.7.500", "busy");
  g_autoptr (MbSmtpReply) no = mb_smtp_reply_new (550, "5.1.1", NULL);
  g_autoptr (MbSmtpReply) copy = mb_smtp_reply_copy (busy);

  g_assert_true (mb_smtp_reply_is_positive (ok));
  g_assert_false (mb_smtp_reply_is_transient (ok));
  g_assert_true (mb_smtp_reply_is_intermediate (more));
  g_assert_true (mb_smtp_reply_is_transient (busy));
  g_assert_false (mb_smtp_reply_is_permanent (busy));
  g_assert_true (mb_smtp_reply_is_permanent (no));
  g_assert_cmpstr (no->text, ==, "");

  g_assert_true (copy != busy && copy->text != busy->text);
  g_assert_cmpuint (copy->code, ==, 451);
  g_assert_cmpstr (copy->enhanced, ==, "4.7.500");
  g_assert_cmpstr (copy->text, ==, "busy");
  g_assert_true (G_TYPE_IS_BOXED (MB_TYPE_SMTP_REPLY));
}

static MbSmtpCapabilities *
parse_ehlo (const char *text)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (MbSmtpReply) reply
      = mb_smtp_reply_parse (text, strlen (text), &error);

  g_assert_no_error (error);
  return mb_smtp_capabilities_parse (reply);
}

/* Microsoft 365's EHLO reply after STARTTLS (M365-FACTS.md 5) gives the
 * expected table. */
static void
test_capabilities_m365 (void)
{
  g_autoptr (MbSmtpCapabilities) caps = parse_ehlo (
      "250-SY5P282CA0097.outlook.office365.com Hello [192.0.2.7]\r\n"
      "250-SIZE 157286400\r\n"
      "250-PIPELINING\r\n"
      "250-DSN\r\n"
      "250-ENHANCEDSTATUSCODES\r\n"
      "250-AUTH LOGIN XOAUTH2\r\n"
      "250-8BITMIME\r\n"
      "250-BINARYMIME\r\n"
      "250-CHUNKING\r\n"
      "250 SMTPUTF8\r\n");
  g_autoptr (MbSmtpCapabilities) copy = mb_smtp_capabilities_copy (caps);

  g_assert_cmpuint (caps->size, ==, 157286400);
  g_assert_true (mb_smtp_capabilities_has (caps, MB_SMTP_EXT_SIZE));
  g_assert_true (mb_smtp_capabilities_has (caps, MB_SMTP_EXT_PIPELINING));
  g_assert_true (mb_smtp_capabilities_has (caps, MB_SMTP_EXT_DSN));
  g_assert_true (
      mb_smtp_capabilities_has (caps, MB_SMTP_EXT_ENHANCEDSTATUSCODES));
  g_assert_true (mb_smtp_capabilities_has (caps, MB_SMTP_EXT_8BITMIME));
  g_assert_true (mb_smtp_capabilities_has (caps, MB_SMTP_EXT_BINARYMIME));
  g_assert_true (mb_smtp_capabilities_has (caps, MB_SMTP_EXT_CHUNKING));
  g_assert_true (mb_smtp_capabilities_has (caps, MB_SMTP_EXT_SMTPUTF8));
  g_assert_true (mb_smtp_capabilities_has (caps, MB_SMTP_EXT_AUTH));
  g_assert_false (mb_smtp_capabilities_has (caps, MB_SMTP_EXT_STARTTLS));
  g_assert_true (mb_smtp_capabilities_has_auth (caps, "XOAUTH2"));
  g_assert_true (mb_smtp_capabilities_has_auth (caps, "login"));
  g_assert_false (mb_smtp_capabilities_has_auth (caps, "PLAIN"));
  g_assert_cmpuint (g_strv_length (caps->auth_mechanisms), ==, 2);

  g_assert_cmpuint (copy->extensions, ==, caps->extensions);
  g_assert_true (g_strv_equal ((const char *const *)copy->auth_mechanisms,
                               (const char *const *)caps->auth_mechanisms));
}

/* Odd but real forms: "AUTH=" (pre-RFC 4954), lower case, SIZE without a
 * number, duplicates, unknown keywords; the greeting line never counts. */
static void
test_capabilities_variants (void)
{
  g_autoptr (MbSmtpCapabilities) caps
      = parse_ehlo ("250-STARTTLS is not a keyword on the first line\r\n"
                    "250-size\r\n"
                    "250-AUTH=LOGIN PLAIN\r\n"
                    "250-auth login cram-md5\r\n"
                    "250-X-EXPS GSSAPI\r\n"
                    "250 starttls\r\n");
  g_autoptr (MbSmtpCapabilities) bad_size
      = parse_ehlo ("250-host\r\n250 SIZE many\r\n");
  g_autoptr (MbSmtpCapabilities) helo = mb_smtp_capabilities_new ();
  g_autoptr (MbSmtpCapabilities) first_line_only
      = parse_ehlo ("250 host PIPELINING\r\n");
  const char *const expected_mechs[] = { "LOGIN", "PLAIN", "CRAM-MD5", NULL };

  g_assert_true (mb_smtp_capabilities_has (caps, MB_SMTP_EXT_SIZE));
  g_assert_cmpuint (caps->size, ==, 0);
  g_assert_true (mb_smtp_capabilities_has (caps, MB_SMTP_EXT_STARTTLS));
  g_assert_false (mb_smtp_capabilities_has (caps, MB_SMTP_EXT_PIPELINING));
  g_assert_true (g_strv_equal ((const char *const *)caps->auth_mechanisms,
                               expected_mechs));

  g_assert_true (mb_smtp_capabilities_has (bad_size, MB_SMTP_EXT_SIZE));
  g_assert_cmpuint (bad_size->size, ==, 0);

  g_assert_cmpuint (helo->extensions, ==, 0);
  g_assert_nonnull (helo->auth_mechanisms);
  g_assert_null (helo->auth_mechanisms[0]);
  g_assert_false (mb_smtp_capabilities_has_auth (helo, "LOGIN"));

  g_assert_cmpuint (first_line_only->extensions, ==, 0);
}

/* XOAUTH2 encodes Microsoft's documented example byte for byte
 * (M365-FACTS.md 2.1). */
static void
test_xoauth2_vector (void)
{
  g_autofree char *encoded
      = mb_smtp_xoauth2_encode ("test@contoso.onmicrosoft.com",
                                "EwBAAl3BAAUFFpUAo7J3Ve0bjLBWZWCclRC3EoAA");

  g_assert_cmpstr (encoded, ==,
                   "dXNlcj10ZXN0QGNvbnRvc28ub25taWNyb3NvZnQuY29tAWF1dGg9QmVh"
                   "cmVyIEV3QkFBbDNCQUFVRkZwVUFvN0ozVmUwYmpMQldaV0NjbFJDM0Vv"
                   "QUEBAQ==");
}

/* A long token (Entra tokens pass 4 KB) decodes back to the exact SASL
 * string. */
static void
test_xoauth2_long_token (void)
{
  g_autofree char *token = g_strnfill (5000, 'T');
  g_autofree char *encoded = mb_smtp_xoauth2_encode ("a@b.example", token);
  g_autofree char *expected
      = g_strdup_printf ("user=a@b.example\001auth=Bearer %s\001\001", token);
  gsize              len = 0;
  g_autofree guchar *decoded = g_base64_decode (encoded, &len);

  g_assert_cmpmem (decoded, len, expected, strlen (expected));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

  for (gsize i = 0; i < G_N_ELEMENTS (good_cases); i++)
    {
      g_autofree char *path = g_strdup_printf (
          "/relay/smtp-reply/parse/good/%s", good_cases[i].name);

      g_test_add_data_func (path, &good_cases[i], test_parse_good);
    }
  for (gsize i = 0; i < G_N_ELEMENTS (bad_cases); i++)
    {
      g_autofree char *path = g_strdup_printf ("/relay/smtp-reply/parse/bad/%s",
                                               bad_cases[i].name);

      g_test_add_data_func (path, &bad_cases[i], test_parse_bad);
    }
  g_test_add_func ("/relay/smtp-reply/parser/split-at-every-byte",
                   test_parser_split);
  g_test_add_func ("/relay/smtp-reply/parser/byte-by-byte",
                   test_parser_byte_by_byte);
  g_test_add_func ("/relay/smtp-reply/parser/pipelined", test_parser_pipelined);
  g_test_add_func ("/relay/smtp-reply/parser/limits", test_parser_limits);
  g_test_add_func ("/relay/smtp-reply/reply/to-string", test_to_string);
  g_test_add_func ("/relay/smtp-reply/reply/classes-and-copy",
                   test_classes_and_copy);
  g_test_add_func ("/relay/smtp-reply/capabilities/m365",
                   test_capabilities_m365);
  g_test_add_func ("/relay/smtp-reply/capabilities/variants",
                   test_capabilities_variants);
  g_test_add_func ("/relay/smtp-reply/xoauth2/microsoft-vector",
                   test_xoauth2_vector);
  g_test_add_func ("/relay/smtp-reply/xoauth2/long-token",
                   test_xoauth2_long_token);

  return g_test_run ();
}
