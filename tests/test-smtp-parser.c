/* test-smtp-parser.c - unit tests for relay/mb-smtp-parser.h
 *
 * Table-driven: each row is its own test case, so a failure names it.
 * The golden files tests/data/smtp-parser/commands.{in,ref} hold real-world
 * command lines and what the parser makes of them; run with
 * MB_UPDATE_GOLDEN=1 to rewrite the .ref after a deliberate change (and
 * read the diff).
 */
#include "mb-smtp-parser.h"

#include <string.h>

#define OK (-1) /* expected error code: none */
#define S(s) s, sizeof (s) - 1

/* ---- next_line ---- */

typedef struct
{
  const char *name;
  const char *buf;
  gboolean    found;
  gsize       line_len;
  gsize       consumed;
} LineCase;

static const LineCase line_cases[] = {
  { "empty", "", FALSE, 0, 0 },
  { "no-lf", "NOOP", FALSE, 0, 0 },
  { "cr-only", "NOOP\r", FALSE, 0, 0 },
  { "crlf", "NOOP\r\n", TRUE, 4, 6 },
  { "lone-lf", "NOOP\n", TRUE, 4, 5 },
  { "empty-crlf", "\r\n", TRUE, 0, 2 },
  { "empty-lf", "\n", TRUE, 0, 1 },
  { "inner-cr-kept", "a\rb\n", TRUE, 3, 4 },
  { "double-cr", "a\r\r\n", TRUE, 2, 4 },
  { "first-of-two", "one\r\ntwo\r\n", TRUE, 3, 5 },
};

/* The line ends at the first LF; only a CR directly before it is cut. */
static void
test_next_line (gconstpointer data)
{
  const LineCase *c = data;
  gsize           line_len = 99, consumed = 99;
  gboolean        found;

  found = mb_smtp_parser_next_line ((const guint8 *)c->buf, strlen (c->buf),
                                    &line_len, &consumed);
  g_assert_cmpint (found, ==, c->found);
  if (found)
    {
      g_assert_cmpuint (line_len, ==, c->line_len);
      g_assert_cmpuint (consumed, ==, c->consumed);
    }
}

/* ---- command lines ---- */

typedef struct
{
  const char *name;
  const char *line;
  gsize       len; /* 0: strlen */
  MbSmtpVerb  verb;
  const char *verb_text;
  const char *argument;
} CommandCase;

static const CommandCase command_cases[] = {
  { "mail", "MAIL FROM:<a@b.example>", 0, MB_SMTP_VERB_MAIL, "MAIL",
    "FROM:<a@b.example>" },
  { "lowercase", "mail from:<a@b.example>", 0, MB_SMTP_VERB_MAIL, "mail",
    "from:<a@b.example>" },
  { "mixed-case", "EhLo host.example", 0, MB_SMTP_VERB_EHLO, "EhLo",
    "host.example" },
  { "helo", "HELO host", 0, MB_SMTP_VERB_HELO, "HELO", "host" },
  { "rcpt-tab", "RCPT\tTO:<a@b.example>", 0, MB_SMTP_VERB_RCPT, "RCPT",
    "TO:<a@b.example>" },
  { "data", "DATA", 0, MB_SMTP_VERB_DATA, "DATA", "" },
  { "bdat", "BDAT 10 LAST", 0, MB_SMTP_VERB_BDAT, "BDAT", "10 LAST" },
  { "rset", "RSET", 0, MB_SMTP_VERB_RSET, "RSET", "" },
  { "noop-arg", "NOOP hello", 0, MB_SMTP_VERB_NOOP, "NOOP", "hello" },
  { "quit-spaces", "quit   ", 0, MB_SMTP_VERB_QUIT, "quit", "" },
  { "vrfy", "VRFY user", 0, MB_SMTP_VERB_VRFY, "VRFY", "user" },
  { "expn", "EXPN list", 0, MB_SMTP_VERB_EXPN, "EXPN", "list" },
  { "help", "HELP", 0, MB_SMTP_VERB_HELP, "HELP", "" },
  { "starttls", "StartTLS", 0, MB_SMTP_VERB_STARTTLS, "StartTLS", "" },
  { "auth", "AUTH PLAIN dGVzdA==", 0, MB_SMTP_VERB_AUTH, "AUTH",
    "PLAIN dGVzdA==" },
  { "leading-space", "  NOOP", 0, MB_SMTP_VERB_NOOP, "NOOP", "" },
  { "inner-spaces-kept", "HELO  a  b  ", 0, MB_SMTP_VERB_HELO, "HELO", "a  b" },
  { "unknown", "XCLIENT ADDR=1.2.3.4", 0, MB_SMTP_VERB_UNKNOWN, "XCLIENT",
    "ADDR=1.2.3.4" },
  { "prefix-is-not-verb", "MAILX FROM:<a@b>", 0, MB_SMTP_VERB_UNKNOWN, "MAILX",
    "FROM:<a@b>" },
  { "verb-prefix", "MAI", 0, MB_SMTP_VERB_UNKNOWN, "MAI", "" },
  { "empty", "", 0, MB_SMTP_VERB_UNKNOWN, "", "" },
  { "length-bounded", "QUIT NOW", 4, MB_SMTP_VERB_QUIT, "QUIT", "" },
  { "nul-byte", "MAIL FROM:<a@b.example>\0junk", 28, MB_SMTP_VERB_UNKNOWN,
    "MAIL", "" },
};

/* Verbs match case-insensitively; verb_text keeps the bytes as sent. */
static void
test_command (gconstpointer data)
{
  const CommandCase *c = data;
  g_autoptr (MbSmtpCommand) command = NULL;

  command = mb_smtp_command_parse (c->line, c->len ? c->len : strlen (c->line));
  g_assert_nonnull (command);
  g_assert_cmpint (command->verb, ==, c->verb);
  g_assert_cmpstr (command->verb_text, ==, c->verb_text);
  g_assert_cmpstr (command->argument, ==, c->argument);
}

/* ---- MAIL ---- */

typedef struct
{
  const char    *name;
  const char    *argument;
  int            error; /* MbSmtpParserError or OK */
  const char    *reverse_path;
  gint64         size;
  MbSmtpBodyType body;
  gboolean       smtputf8;
  MbDsnRet       ret;
  const char    *envid;
} MailCase;

#define LOCAL64                                                                \
  "abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyz0123456789ab"
#define LABEL63                                                                \
  "abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyz01234567890"
/* 64 + 1 + 63 + 1 + 63 + 1 + 61 = 254 octets: with "<>" exactly 256 */
#define LABEL61 "abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyz012345678"
#define MAILBOX254 LOCAL64 "@" LABEL63 "." LABEL63 "." LABEL61
#define ENVID100                                                               \
  "0123456789012345678901234567890123456789012345678901234567890123456789"     \
  "012345678901234567890123456789"

static const MailCase mail_cases[] = {
  /* accepted */
  { "simple", "FROM:<a@b.example>", OK, "a@b.example", -1 },
  { "lowercase-from", "from:<a@b.example>", OK, "a@b.example", -1 },
  { "null-path", "FROM:<>", OK, "", -1 },
  { "null-path-params", "FROM:<> SIZE=10", OK, "", 10 },
  { "space-after-colon", "FROM: <a@b.example>", OK, "a@b.example", -1 },
  { "spaces-after-colon", "FROM:   <a@b.example>", OK, "a@b.example", -1 },
  { "bare-mailbox", "FROM:a@b.example", OK, "a@b.example", -1 },
  { "bare-space-after-colon", "FROM: a@b.example", OK, "a@b.example", -1 },
  { "bare-with-params", "FROM:a@b.example SIZE=100", OK, "a@b.example", 100 },
  { "size", "FROM:<a@b.example> SIZE=12345", OK, "a@b.example", 12345 },
  { "size-zero", "FROM:<a@b.example> SIZE=0", OK, "a@b.example", 0 },
  { "size-max", "FROM:<a@b.example> SIZE=9223372036854775807", OK,
    "a@b.example", G_MAXINT64 },
  { "body-7bit", "FROM:<a@b.example> BODY=7BIT", OK, "a@b.example", -1,
    MB_SMTP_BODY_7BIT },
  { "body-8bitmime", "FROM:<a@b.example> body=8bitmime", OK, "a@b.example", -1,
    MB_SMTP_BODY_8BITMIME },
  { "smtputf8", "FROM:<jörg@bücher.example> SMTPUTF8", OK,
    "jörg@bücher.example", -1, MB_SMTP_BODY_UNSET, TRUE },
  { "smtputf8-ascii", "FROM:<a@b.example> smtputf8", OK, "a@b.example", -1,
    MB_SMTP_BODY_UNSET, TRUE },
  { "ret-full", "FROM:<a@b.example> RET=FULL", OK, "a@b.example", -1,
    MB_SMTP_BODY_UNSET, FALSE, MB_DSN_RET_FULL },
  { "ret-hdrs", "FROM:<a@b.example> ret=hdrs", OK, "a@b.example", -1,
    MB_SMTP_BODY_UNSET, FALSE, MB_DSN_RET_HDRS },
  { "envid", "FROM:<a@b.example> ENVID=QQ+2B314+3D", OK, "a@b.example", -1,
    MB_SMTP_BODY_UNSET, FALSE, MB_DSN_RET_UNSET, "QQ+314=" },
  { "envid-space", "FROM:<a@b.example> ENVID=a+20b", OK, "a@b.example", -1,
    MB_SMTP_BODY_UNSET, FALSE, MB_DSN_RET_UNSET, "a b" },
  { "envid-100", "FROM:<a@b.example> ENVID=" ENVID100, OK, "a@b.example", -1,
    MB_SMTP_BODY_UNSET, FALSE, MB_DSN_RET_UNSET, ENVID100 },
  { "all-params",
    "FROM:<a@b.example> SIZE=1 BODY=8BITMIME RET=HDRS ENVID=x SMTPUTF8", OK,
    "a@b.example", 1, MB_SMTP_BODY_8BITMIME, TRUE, MB_DSN_RET_HDRS, "x" },
  { "tab-and-spaces", "FROM:<a@b.example>\t SIZE=5  ", OK, "a@b.example", 5 },
  { "quoted-local", "FROM:<\"john doe\"@b.example>", OK,
    "\"john doe\"@b.example", -1 },
  { "quoted-gt-at", "FROM:<\"a>b@c\"@b.example>", OK, "\"a>b@c\"@b.example",
    -1 },
  { "quoted-escape", "FROM:<\"a\\\"b\"@b.example>", OK, "\"a\\\"b\"@b.example",
    -1 },
  { "quoted-empty", "FROM:<\"\"@b.example>", OK, "\"\"@b.example", -1 },
  { "bare-quoted", "FROM:\"a b\"@b.example SIZE=3", OK, "\"a b\"@b.example",
    3 },
  { "atext-specials", "FROM:<!#$%&'*+-/=?^_`{|}~@b.example>", OK,
    "!#$%&'*+-/=?^_`{|}~@b.example", -1 },
  { "dotted-local", "FROM:<first.last@b.example>", OK, "first.last@b.example",
    -1 },
  { "source-route", "FROM:<@relay.example,@hop.example:user@b.example>", OK,
    "user@b.example", -1 },
  { "source-route-one", "FROM:<@relay.example:user@b.example>", OK,
    "user@b.example", -1 },
  { "ipv4-literal", "FROM:<a@[192.0.2.1]>", OK, "a@[192.0.2.1]", -1 },
  { "ipv6-literal", "FROM:<a@[IPv6:2001:db8::1]>", OK, "a@[IPv6:2001:db8::1]",
    -1 },
  { "ipv6-full", "FROM:<a@[ipv6:2001:db8:0:0:0:0:0:1]>", OK,
    "a@[ipv6:2001:db8:0:0:0:0:0:1]", -1 },
  { "ipv6-v4", "FROM:<a@[IPv6:::ffff:192.0.2.1]>", OK,
    "a@[IPv6:::ffff:192.0.2.1]", -1 },
  { "single-label", "FROM:<a@localhost>", OK, "a@localhost", -1 },
  { "digits-domain", "FROM:<a@123.example>", OK, "a@123.example", -1 },
  { "hyphen-inside", "FROM:<a@my-host.b.example>", OK, "a@my-host.b.example",
    -1 },
  { "local-64", "FROM:<" LOCAL64 "@b.example>", OK, LOCAL64 "@b.example", -1 },
  { "label-63", "FROM:<a@" LABEL63 ".example>", OK, "a@" LABEL63 ".example",
    -1 },
  { "path-256", "FROM:<" MAILBOX254 ">", OK, MAILBOX254, -1 },
  /* refused */
  { "no-from", "<a@b.example>", MB_SMTP_PARSER_ERROR_SYNTAX },
  { "to-not-from", "TO:<a@b.example>", MB_SMTP_PARSER_ERROR_SYNTAX },
  { "from-without-colon", "FROM <a@b.example>", MB_SMTP_PARSER_ERROR_SYNTAX },
  { "empty", "", MB_SMTP_PARSER_ERROR_SYNTAX },
  { "no-path", "FROM:", MB_SMTP_PARSER_ERROR_SYNTAX },
  { "no-path-spaces", "FROM:   ", MB_SMTP_PARSER_ERROR_SYNTAX },
  { "no-domain", "FROM:<user>", MB_SMTP_PARSER_ERROR_BAD_PATH },
  { "empty-domain", "FROM:<user@>", MB_SMTP_PARSER_ERROR_BAD_PATH },
  { "empty-local", "FROM:<@b.example>", MB_SMTP_PARSER_ERROR_BAD_PATH },
  { "unterminated", "FROM:<a@b.example", MB_SMTP_PARSER_ERROR_BAD_PATH },
  { "unterminated-quote", "FROM:<\"a@b.example>",
    MB_SMTP_PARSER_ERROR_BAD_PATH },
  { "text-after-path", "FROM:<a@b.example>x", MB_SMTP_PARSER_ERROR_SYNTAX },
  { "two-paths", "FROM:<a@b.example><c@d.example>",
    MB_SMTP_PARSER_ERROR_SYNTAX },
  { "display-name", "FROM:Scanner <scan@b.example>",
    MB_SMTP_PARSER_ERROR_BAD_PATH },
  { "bare-two-mailboxes", "FROM:a@b.example c@d.example",
    MB_SMTP_PARSER_ERROR_SYNTAX },
  { "bare-bracket-tail", "FROM:a@b.example>", MB_SMTP_PARSER_ERROR_BAD_PATH },
  { "nested-brackets", "FROM:<<a@b.example>>", MB_SMTP_PARSER_ERROR_SYNTAX },
  { "double-dot", "FROM:<a..b@b.example>", MB_SMTP_PARSER_ERROR_BAD_PATH },
  { "leading-dot", "FROM:<.a@b.example>", MB_SMTP_PARSER_ERROR_BAD_PATH },
  { "trailing-dot-local", "FROM:<a.@b.example>",
    MB_SMTP_PARSER_ERROR_BAD_PATH },
  { "two-ats", "FROM:<a@b@c.example>", MB_SMTP_PARSER_ERROR_BAD_PATH },
  { "space-in-local", "FROM:<a b@b.example>", MB_SMTP_PARSER_ERROR_BAD_PATH },
  { "control-char", "FROM:<a\x01@b.example>", MB_SMTP_PARSER_ERROR_BAD_PATH },
  { "quoted-control", "FROM:<\"a\x01\"@b.example>",
    MB_SMTP_PARSER_ERROR_BAD_PATH },
  { "quoted-not-whole", "FROM:<\"a\"b@b.example>",
    MB_SMTP_PARSER_ERROR_BAD_PATH },
  { "empty-label", "FROM:<a@b..example>", MB_SMTP_PARSER_ERROR_BAD_PATH },
  { "leading-dot-domain", "FROM:<a@.b.example>",
    MB_SMTP_PARSER_ERROR_BAD_PATH },
  { "trailing-dot-domain", "FROM:<a@b.example.>",
    MB_SMTP_PARSER_ERROR_BAD_PATH },
  { "hyphen-start", "FROM:<a@-b.example>", MB_SMTP_PARSER_ERROR_BAD_PATH },
  { "hyphen-end", "FROM:<a@b-.example>", MB_SMTP_PARSER_ERROR_BAD_PATH },
  { "underscore-domain", "FROM:<a@my_host.example>",
    MB_SMTP_PARSER_ERROR_BAD_PATH },
  { "label-64", "FROM:<a@" LABEL63 "x.example>",
    MB_SMTP_PARSER_ERROR_BAD_PATH },
  { "local-65", "FROM:<" LOCAL64 "x@b.example>",
    MB_SMTP_PARSER_ERROR_BAD_PATH },
  { "path-257", "FROM:<" MAILBOX254 "c>", MB_SMTP_PARSER_ERROR_BAD_PATH },
  { "bare-path-257", "FROM:" MAILBOX254 "c", MB_SMTP_PARSER_ERROR_BAD_PATH },
  { "ipv4-octet-256", "FROM:<a@[192.0.2.256]>", MB_SMTP_PARSER_ERROR_BAD_PATH },
  { "ipv4-three-parts", "FROM:<a@[192.0.2]>", MB_SMTP_PARSER_ERROR_BAD_PATH },
  { "ipv4-five-parts", "FROM:<a@[192.0.2.1.5]>",
    MB_SMTP_PARSER_ERROR_BAD_PATH },
  { "ipv4-no-brackets-close", "FROM:<a@[192.0.2.1>",
    MB_SMTP_PARSER_ERROR_BAD_PATH },
  { "ipv6-no-tag", "FROM:<a@[2001:db8::1]>", MB_SMTP_PARSER_ERROR_BAD_PATH },
  { "ipv6-two-compressions", "FROM:<a@[IPv6:1::2::3]>",
    MB_SMTP_PARSER_ERROR_BAD_PATH },
  { "ipv6-long-group", "FROM:<a@[IPv6:12345::1]>",
    MB_SMTP_PARSER_ERROR_BAD_PATH },
  { "ipv6-seven-groups", "FROM:<a@[IPv6:1:2:3:4:5:6:7]>",
    MB_SMTP_PARSER_ERROR_BAD_PATH },
  { "ipv6-trailing-colon", "FROM:<a@[IPv6:1:2:3:4:5:6:7:]>",
    MB_SMTP_PARSER_ERROR_BAD_PATH },
  { "ipv6-zone", "FROM:<a@[IPv6:fe80::1%eth0]>",
    MB_SMTP_PARSER_ERROR_BAD_PATH },
  { "general-literal", "FROM:<a@[x400:c=de]>", MB_SMTP_PARSER_ERROR_BAD_PATH },
  { "empty-literal", "FROM:<a@[]>", MB_SMTP_PARSER_ERROR_BAD_PATH },
  { "postmaster", "FROM:<postmaster>", MB_SMTP_PARSER_ERROR_BAD_PATH },
  { "bare-source-route", "FROM:@relay.example:a@b.example",
    MB_SMTP_PARSER_ERROR_BAD_PATH },
  { "source-route-no-colon", "FROM:<@relay.example>",
    MB_SMTP_PARSER_ERROR_BAD_PATH },
  { "source-route-empty", "FROM:<@:a@b.example>",
    MB_SMTP_PARSER_ERROR_BAD_PATH },
  { "source-route-no-at", "FROM:<@a.example,b.example:c@d.example>",
    MB_SMTP_PARSER_ERROR_BAD_PATH },
  { "source-route-no-mailbox", "FROM:<@a.example:>",
    MB_SMTP_PARSER_ERROR_BAD_PATH },
  { "non-ascii", "FROM:<jörg@b.example>", MB_SMTP_PARSER_ERROR_NEEDS_SMTPUTF8 },
  { "non-ascii-domain", "FROM:<a@bücher.example>",
    MB_SMTP_PARSER_ERROR_NEEDS_SMTPUTF8 },
  { "invalid-utf8", "FROM:<\xff@b.example> SMTPUTF8",
    MB_SMTP_PARSER_ERROR_BAD_PATH },
  { "utf8-in-literal", "FROM:<a@[ü]> SMTPUTF8", MB_SMTP_PARSER_ERROR_BAD_PATH },
  { "size-letters", "FROM:<a@b.example> SIZE=abc",
    MB_SMTP_PARSER_ERROR_BAD_PARAM },
  { "size-empty", "FROM:<a@b.example> SIZE=", MB_SMTP_PARSER_ERROR_BAD_PARAM },
  { "size-no-value", "FROM:<a@b.example> SIZE",
    MB_SMTP_PARSER_ERROR_BAD_PARAM },
  { "size-negative", "FROM:<a@b.example> SIZE=-1",
    MB_SMTP_PARSER_ERROR_BAD_PARAM },
  { "size-overflow", "FROM:<a@b.example> SIZE=9223372036854775808",
    MB_SMTP_PARSER_ERROR_BAD_PARAM },
  { "size-huge", "FROM:<a@b.example> SIZE=99999999999999999999999",
    MB_SMTP_PARSER_ERROR_BAD_PARAM },
  { "body-binarymime", "FROM:<a@b.example> BODY=BINARYMIME",
    MB_SMTP_PARSER_ERROR_BAD_PARAM },
  { "body-other", "FROM:<a@b.example> BODY=9BIT",
    MB_SMTP_PARSER_ERROR_BAD_PARAM },
  { "smtputf8-value", "FROM:<a@b.example> SMTPUTF8=yes",
    MB_SMTP_PARSER_ERROR_BAD_PARAM },
  { "ret-other", "FROM:<a@b.example> RET=ALL", MB_SMTP_PARSER_ERROR_BAD_PARAM },
  { "envid-bad-escape", "FROM:<a@b.example> ENVID=a+zz",
    MB_SMTP_PARSER_ERROR_BAD_PARAM },
  { "envid-lowercase-hex", "FROM:<a@b.example> ENVID=a+2b",
    MB_SMTP_PARSER_ERROR_BAD_PARAM },
  { "envid-newline", "FROM:<a@b.example> ENVID=a+0D+0Ab",
    MB_SMTP_PARSER_ERROR_BAD_PARAM },
  { "envid-non-ascii", "FROM:<a@b.example> ENVID=a+C3+BC",
    MB_SMTP_PARSER_ERROR_BAD_PARAM },
  { "envid-101", "FROM:<a@b.example> ENVID=" ENVID100 "x",
    MB_SMTP_PARSER_ERROR_BAD_PARAM },
  { "envid-raw-equals", "FROM:<a@b.example> ENVID=a=b",
    MB_SMTP_PARSER_ERROR_BAD_PARAM },
  { "auth-not-offered", "FROM:<a@b.example> AUTH=<>",
    MB_SMTP_PARSER_ERROR_UNKNOWN_PARAM },
  { "unknown", "FROM:<a@b.example> X-FOO=1",
    MB_SMTP_PARSER_ERROR_UNKNOWN_PARAM },
  { "rcpt-param", "FROM:<a@b.example> NOTIFY=NEVER",
    MB_SMTP_PARSER_ERROR_UNKNOWN_PARAM },
  { "duplicate", "FROM:<a@b.example> SIZE=1 SIZE=2",
    MB_SMTP_PARSER_ERROR_DUPLICATE_PARAM },
  { "duplicate-case", "FROM:<a@b.example> smtputf8 SMTPUTF8",
    MB_SMTP_PARSER_ERROR_DUPLICATE_PARAM },
  { "keyword-empty", "FROM:<a@b.example> =x", MB_SMTP_PARSER_ERROR_SYNTAX },
  { "keyword-hyphen-first", "FROM:<a@b.example> -X=1",
    MB_SMTP_PARSER_ERROR_SYNTAX },
  { "keyword-bad-char", "FROM:<a@b.example> SI_ZE=1",
    MB_SMTP_PARSER_ERROR_SYNTAX },
};

/* Expects @error to be unset (@code OK) or to carry @code. */
static void
assert_result (const GError *error, int code)
{
  if (code == OK)
    {
      g_assert_no_error (error);
      return;
    }
  g_assert_error (error, MB_SMTP_PARSER_ERROR, code);
  g_assert_nonnull (error->message);
  g_assert_null (strpbrk (error->message, "\r\n"));
}

/* MAIL: RFC 5321 4.1.2 paths, the lenient forms devices use, and the ESMTP
 * parameters; each refusal carries the precise error code. */
static void
test_mail (gconstpointer data)
{
  const MailCase *c = data;
  g_autoptr (GError) error = NULL;
  g_autoptr (MbSmtpMailArgs) args = NULL;

  args = mb_smtp_mail_args_parse (c->argument, &error);
  assert_result (error, c->error);
  if (c->error != OK)
    {
      g_assert_null (args);
      return;
    }
  g_assert_nonnull (args);
  g_assert_cmpstr (args->reverse_path, ==, c->reverse_path);
  g_assert_cmpint (args->size, ==, c->size);
  g_assert_cmpint (args->body, ==, c->body);
  g_assert_cmpint (args->smtputf8, ==, c->smtputf8);
  g_assert_cmpint (args->ret, ==, c->ret);
  g_assert_cmpstr (args->envid, ==, c->envid);
}

/* ---- RCPT ---- */

typedef struct
{
  const char *name;
  const char *argument;
  gboolean    smtputf8;
  int         error;
  const char *forward_path;
  guint       notify;
  const char *orcpt;
} RcptCase;

static const RcptCase rcpt_cases[] = {
  /* accepted */
  { "simple", "TO:<a@b.example>", FALSE, OK, "a@b.example" },
  { "lowercase-to", "to:<a@b.example>", FALSE, OK, "a@b.example" },
  { "space-after-colon", "TO: <a@b.example>", FALSE, OK, "a@b.example" },
  { "bare", "TO:a@b.example", FALSE, OK, "a@b.example" },
  { "postmaster", "TO:<postmaster>", FALSE, OK, "postmaster" },
  { "postmaster-case", "TO:<PostMaster>", FALSE, OK, "postmaster" },
  { "postmaster-bare", "TO:POSTMASTER", FALSE, OK, "postmaster" },
  { "postmaster-domain", "TO:<Postmaster@b.example>", FALSE, OK,
    "Postmaster@b.example" },
  { "source-route", "TO:<@hop.example:a@b.example>", FALSE, OK, "a@b.example" },
  { "utf8", "TO:<jörg@bücher.example>", TRUE, OK, "jörg@bücher.example" },
  { "utf8-quoted", "TO:<\"jörg m\"@b.example>", TRUE, OK,
    "\"jörg m\"@b.example" },
  { "notify-never", "TO:<a@b.example> NOTIFY=NEVER", FALSE, OK, "a@b.example",
    MB_DSN_NOTIFY_NEVER },
  { "notify-list", "TO:<a@b.example> NOTIFY=SUCCESS,FAILURE,DELAY", FALSE, OK,
    "a@b.example",
    MB_DSN_NOTIFY_SUCCESS | MB_DSN_NOTIFY_FAILURE | MB_DSN_NOTIFY_DELAY },
  { "notify-case", "TO:<a@b.example> notify=failure,Delay", FALSE, OK,
    "a@b.example", MB_DSN_NOTIFY_FAILURE | MB_DSN_NOTIFY_DELAY },
  { "orcpt", "TO:<a@b.example> ORCPT=rfc822;user+2Btag@b.example", FALSE, OK,
    "a@b.example", 0, "rfc822;user+tag@b.example" },
  { "orcpt-utf-8-type", "TO:<a@b.example> ORCPT=utf-8;a@b.example", FALSE, OK,
    "a@b.example", 0, "utf-8;a@b.example" },
  { "both", "TO:<a@b.example> NOTIFY=SUCCESS ORCPT=rfc822;a@b.example", FALSE,
    OK, "a@b.example", MB_DSN_NOTIFY_SUCCESS, "rfc822;a@b.example" },
  /* refused */
  { "null", "TO:<>", FALSE, MB_SMTP_PARSER_ERROR_NULL_RCPT },
  { "null-utf8", "TO:<>", TRUE, MB_SMTP_PARSER_ERROR_NULL_RCPT },
  { "from-not-to", "FROM:<a@b.example>", FALSE, MB_SMTP_PARSER_ERROR_SYNTAX },
  { "no-path", "TO:", FALSE, MB_SMTP_PARSER_ERROR_SYNTAX },
  { "no-domain", "TO:<user>", FALSE, MB_SMTP_PARSER_ERROR_BAD_PATH },
  { "postmaster-prefix", "TO:<postmasterx>", FALSE,
    MB_SMTP_PARSER_ERROR_BAD_PATH },
  { "non-ascii", "TO:<jörg@b.example>", FALSE,
    MB_SMTP_PARSER_ERROR_NEEDS_SMTPUTF8 },
  { "invalid-utf8", "TO:<j\xc3@b.example>", TRUE,
    MB_SMTP_PARSER_ERROR_BAD_PATH },
  { "notify-never-combined", "TO:<a@b.example> NOTIFY=NEVER,SUCCESS", FALSE,
    MB_SMTP_PARSER_ERROR_BAD_PARAM },
  { "notify-empty-item", "TO:<a@b.example> NOTIFY=SUCCESS,", FALSE,
    MB_SMTP_PARSER_ERROR_BAD_PARAM },
  { "notify-other", "TO:<a@b.example> NOTIFY=ALWAYS", FALSE,
    MB_SMTP_PARSER_ERROR_BAD_PARAM },
  { "notify-no-value", "TO:<a@b.example> NOTIFY", FALSE,
    MB_SMTP_PARSER_ERROR_BAD_PARAM },
  { "orcpt-no-type", "TO:<a@b.example> ORCPT=;a@b.example", FALSE,
    MB_SMTP_PARSER_ERROR_BAD_PARAM },
  { "orcpt-no-semicolon", "TO:<a@b.example> ORCPT=a@b.example", FALSE,
    MB_SMTP_PARSER_ERROR_BAD_PARAM },
  { "orcpt-empty-address", "TO:<a@b.example> ORCPT=rfc822;", FALSE,
    MB_SMTP_PARSER_ERROR_BAD_PARAM },
  { "orcpt-bad-xtext", "TO:<a@b.example> ORCPT=rfc822;a+zz", FALSE,
    MB_SMTP_PARSER_ERROR_BAD_PARAM },
  { "orcpt-control", "TO:<a@b.example> ORCPT=rfc822;a+0Ab", FALSE,
    MB_SMTP_PARSER_ERROR_BAD_PARAM },
  { "orcpt-bad-type", "TO:<a@b.example> ORCPT=rfc_822;a", FALSE,
    MB_SMTP_PARSER_ERROR_BAD_PARAM },
  { "mail-param", "TO:<a@b.example> SIZE=10", FALSE,
    MB_SMTP_PARSER_ERROR_UNKNOWN_PARAM },
  { "duplicate", "TO:<a@b.example> NOTIFY=NEVER notify=NEVER", FALSE,
    MB_SMTP_PARSER_ERROR_DUPLICATE_PARAM },
};

/* RCPT: forward paths, "<postmaster>", "<>" refused, NOTIFY and ORCPT;
 * SMTPUTF8 comes from the transaction's MAIL. */
static void
test_rcpt (gconstpointer data)
{
  const RcptCase *c = data;
  g_autoptr (GError) error = NULL;
  g_autoptr (MbSmtpRcptArgs) args = NULL;

  args = mb_smtp_rcpt_args_parse (c->argument, c->smtputf8, &error);
  assert_result (error, c->error);
  if (c->error != OK)
    {
      g_assert_null (args);
      return;
    }
  g_assert_nonnull (args);
  g_assert_cmpstr (args->forward_path, ==, c->forward_path);
  g_assert_cmpuint (args->notify, ==, c->notify);
  g_assert_cmpstr (args->orcpt, ==, c->orcpt);
}

/* ---- BDAT ---- */

typedef struct
{
  const char *name;
  const char *argument;
  gboolean    ok;
  guint64     chunk_size;
  gboolean    last;
} BdatCase;

static const BdatCase bdat_cases[] = {
  { "size", "100", TRUE, 100, FALSE },
  { "last", "100 LAST", TRUE, 100, TRUE },
  { "last-lowercase", "0 last", TRUE, 0, TRUE },
  { "spaces", "  5 \t LAST  ", TRUE, 5, TRUE },
  { "leading-zeros", "007", TRUE, 7, FALSE },
  { "max", "9223372036854775807", TRUE, G_MAXINT64, FALSE },
  { "overflow", "9223372036854775808", FALSE },
  { "empty", "", FALSE },
  { "only-last", "LAST", FALSE },
  { "glued-last", "10LAST", FALSE },
  { "negative", "-1", FALSE },
  { "plus", "+5", FALSE },
  { "hex", "0x10", FALSE },
  { "fraction", "1.5", FALSE },
  { "trailing-word", "10 LAST x", FALSE },
  { "lastx", "10 LASTX", FALSE },
  { "two-sizes", "10 20", FALSE },
};

/* BDAT chunk-size [LAST] (RFC 3030 2), sizes up to 2^63 - 1. */
static void
test_bdat (gconstpointer data)
{
  const BdatCase *c = data;
  g_autoptr (GError) error = NULL;
  MbSmtpBdatArgs args = { 42, TRUE };
  gboolean       ok;

  ok = mb_smtp_bdat_args_parse (c->argument, &args, &error);
  g_assert_cmpint (ok, ==, c->ok);
  if (!ok)
    {
      g_assert_error (error, MB_SMTP_PARSER_ERROR, MB_SMTP_PARSER_ERROR_SYNTAX);
      return;
    }
  g_assert_no_error (error);
  g_assert_cmpuint (args.chunk_size, ==, c->chunk_size);
  g_assert_cmpint (args.last, ==, c->last);
}

/* ---- mailbox ---- */

typedef struct
{
  const char *mailbox;
  gboolean    smtputf8;
  gboolean    valid;
} MailboxCase;

static const MailboxCase mailbox_cases[] = {
  { "a@b.example", FALSE, TRUE },
  { "first.last@b.example", FALSE, TRUE },
  { "\"a b\"@b.example", FALSE, TRUE },
  { "a@[192.0.2.1]", FALSE, TRUE },
  { "a@[IPv6:::1]", FALSE, TRUE },
  { "jörg@b.example", TRUE, TRUE },
  { MAILBOX254, FALSE, TRUE },
  { MAILBOX254 "c", FALSE, FALSE },
  { "jörg@b.example", FALSE, FALSE },
  { "<a@b.example>", FALSE, FALSE },
  { "postmaster", FALSE, FALSE },
  { "", FALSE, FALSE },
  { "@", FALSE, FALSE },
  { "a@", FALSE, FALSE },
  { "@b.example", FALSE, FALSE },
  { "a@b.example ", FALSE, FALSE },
  { "@hop:a@b.example", FALSE, FALSE },
};

/* The public validator agrees with the path rules, without brackets. */
static void
test_mailbox (void)
{
  for (guint i = 0; i < G_N_ELEMENTS (mailbox_cases); i++)
    {
      const MailboxCase *c = &mailbox_cases[i];

      g_test_message ("mailbox %s", c->mailbox);
      g_assert_cmpint (
          mb_smtp_parser_is_valid_mailbox (c->mailbox, c->smtputf8), ==,
          c->valid);
    }
}

/* ---- xtext ---- */

/* RFC 3461 4: "+XX" for '+', '=' and octets outside 33..126. */
static void
test_xtext_encode (void)
{
  static const char *const pairs[][2] = {
    { "", "" },         { "abc", "abc" },         { "a+b=c", "a+2Bb+3Dc" },
    { "a b", "a+20b" }, { "\x01\x7f", "+01+7F" }, { "ü", "+C3+BC" },
    { "!~", "!~" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (pairs); i++)
    {
      g_autofree char *encoded = mb_smtp_xtext_encode (pairs[i][0]);
      g_autofree char *decoded = mb_smtp_xtext_decode (pairs[i][1], NULL);

      g_assert_cmpstr (encoded, ==, pairs[i][1]);
      g_assert_cmpstr (decoded, ==, pairs[i][0]);
    }
}

/* Every octet 1..255 survives encode then decode. */
static void
test_xtext_roundtrip (void)
{
  char             all[256];
  g_autofree char *encoded = NULL;
  g_autofree char *decoded = NULL;
  g_autoptr (GError) error = NULL;

  for (guint i = 1; i < 256; i++)
    all[i - 1] = (char)i;
  all[255] = '\0';
  encoded = mb_smtp_xtext_encode (all);
  g_assert_cmpuint (strspn (encoded, "!\"#$%&'()*+,-./0123456789:;<>?@ABCDEF"
                                     "GHIJKLMNOPQRSTUVWXYZ[\\]^_`abcdefghijk"
                                     "lmnopqrstuvwxyz{|}~"),
                    ==, strlen (encoded));
  decoded = mb_smtp_xtext_decode (encoded, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (decoded, ==, all);
}

/* Malformed xtext is refused, not guessed at. */
static void
test_xtext_malformed (void)
{
  static const char *const bad[] = {
    "+",   "+4",  "a+4", "+4g",  "+4a", "+zz",
    "a b", "a=b", "+00", "\x7f", "\t",  "é",
  };

  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autoptr (GError) error = NULL;
      g_autofree char *decoded = mb_smtp_xtext_decode (bad[i], &error);

      g_test_message ("xtext %s", bad[i]);
      g_assert_null (decoded);
      g_assert_error (error, MB_SMTP_PARSER_ERROR,
                      MB_SMTP_PARSER_ERROR_BAD_PARAM);
    }
}

/* ---- replies ---- */

/* Each error code maps to its RFC 5321 reply and RFC 3463 status. */
static void
test_error_reply (void)
{
  static const struct
  {
    int         error;
    guint       code;
    const char *enhanced;
  } replies[] = {
    { MB_SMTP_PARSER_ERROR_SYNTAX, 501, "5.5.4" },
    { MB_SMTP_PARSER_ERROR_BAD_PATH, 501, "5.1.3" },
    { MB_SMTP_PARSER_ERROR_NEEDS_SMTPUTF8, 553, "5.6.7" },
    { MB_SMTP_PARSER_ERROR_UNKNOWN_PARAM, 555, "5.5.4" },
    { MB_SMTP_PARSER_ERROR_BAD_PARAM, 501, "5.5.4" },
    { MB_SMTP_PARSER_ERROR_DUPLICATE_PARAM, 501, "5.5.4" },
    { MB_SMTP_PARSER_ERROR_NULL_RCPT, 501, "5.1.3" },
  };
  g_autoptr (GError) foreign = NULL;
  guint       code = 0;
  const char *enhanced = NULL;

  for (guint i = 0; i < G_N_ELEMENTS (replies); i++)
    {
      g_autoptr (GError) error
          = g_error_new_literal (MB_SMTP_PARSER_ERROR, replies[i].error, "x");

      mb_smtp_parser_error_reply (error, &code, &enhanced);
      g_assert_cmpuint (code, ==, replies[i].code);
      g_assert_cmpstr (enhanced, ==, replies[i].enhanced);
    }
  foreign = g_error_new_literal (G_FILE_ERROR, G_FILE_ERROR_NOENT, "x");
  mb_smtp_parser_error_reply (foreign, &code, &enhanced);
  g_assert_cmpuint (code, ==, 501);
  g_assert_cmpstr (enhanced, ==, "5.5.4");
}

/* ---- golden command lines ---- */

static const char *const body_names[]
    = { "-", "7BIT", "8BITMIME", "BINARYMIME" };
static const char *const ret_names[] = { "-", "FULL", "HDRS" };

static const char *const verb_names[] = {
  "UNKNOWN", "HELO", "EHLO", "MAIL", "RCPT", "DATA",     "BDAT", "RSET",
  "NOOP",    "QUIT", "VRFY", "EXPN", "HELP", "STARTTLS", "AUTH",
};

static char *
render_line (const char *line, gboolean *smtputf8)
{
  g_autoptr (MbSmtpCommand) command
      = mb_smtp_command_parse (line, strlen (line));
  g_autoptr (GError) error = NULL;
  guint       code;
  const char *enhanced;

  if (command->verb == MB_SMTP_VERB_MAIL)
    {
      g_autoptr (MbSmtpMailArgs) a
          = mb_smtp_mail_args_parse (command->argument, &error);

      if (a != NULL)
        {
          *smtputf8 = a->smtputf8;
          return g_strdup_printf ("MAIL ok <%s> size=%" G_GINT64_FORMAT
                                  " body=%s smtputf8=%d ret=%s envid=%s",
                                  a->reverse_path, a->size, body_names[a->body],
                                  a->smtputf8, ret_names[a->ret],
                                  a->envid ? a->envid : "-");
        }
    }
  else if (command->verb == MB_SMTP_VERB_RCPT)
    {
      g_autoptr (MbSmtpRcptArgs) a
          = mb_smtp_rcpt_args_parse (command->argument, *smtputf8, &error);

      if (a != NULL)
        return g_strdup_printf ("RCPT ok <%s> notify=0x%x orcpt=%s",
                                a->forward_path, a->notify,
                                a->orcpt ? a->orcpt : "-");
    }
  else if (command->verb == MB_SMTP_VERB_BDAT)
    {
      MbSmtpBdatArgs a;

      if (mb_smtp_bdat_args_parse (command->argument, &a, &error))
        return g_strdup_printf ("BDAT ok %" G_GUINT64_FORMAT " last=%d",
                                a.chunk_size, a.last);
    }
  else
    return g_strdup_printf ("%s text=%s arg=%s", verb_names[command->verb],
                            command->verb_text, command->argument);
  mb_smtp_parser_error_reply (error, &code, &enhanced);
  return g_strdup_printf ("%s %u %s %s", command->verb_text, code, enhanced,
                          error->message);
}

/* Real-world command lines (printers, scanners, scripts) give the reviewed
 * results in commands.ref; SMTPUTF8 of the last MAIL applies to RCPT. */
static void
test_golden_commands (void)
{
  const char      *srcdir = g_getenv ("MB_SOURCEDIR");
  g_autofree char *dir = NULL, *in_path = NULL, *ref_path = NULL;
  g_autofree char *in = NULL, *ref = NULL;
  g_auto (GStrv) lines = NULL;
  g_autoptr (GString) out = g_string_new (NULL);
  g_autoptr (GError) error = NULL;
  gboolean smtputf8 = FALSE;

  if (srcdir == NULL)
    {
      g_test_skip ("MB_SOURCEDIR is not set");
      return;
    }
  dir = g_build_filename (srcdir, "tests", "data", "smtp-parser", NULL);
  in_path = g_build_filename (dir, "commands.in", NULL);
  ref_path = g_build_filename (dir, "commands.ref", NULL);
  g_file_get_contents (in_path, &in, NULL, &error);
  g_assert_no_error (error);
  lines = g_strsplit (in, "\n", -1);
  for (guint i = 0; lines[i] != NULL; i++)
    {
      g_autofree char *result = NULL;

      if (lines[i][0] == '\0' || lines[i][0] == '#')
        continue;
      result = render_line (lines[i], &smtputf8);
      g_string_append_printf (out, "%s\n=> %s\n", lines[i], result);
    }
  if (g_getenv ("MB_UPDATE_GOLDEN") != NULL)
    {
      g_file_set_contents (ref_path, out->str, -1, &error);
      g_assert_no_error (error);
    }
  g_file_get_contents (ref_path, &ref, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (out->str, ==, ref);
}

/* ---- DATA decoder ---- */

typedef struct
{
  const char *name;
  const char *in;
  gsize       in_len;
  gsize       max_line;
  gboolean    end;
  gsize       consumed;
  const char *out;
  gsize       out_len;
  guint       problems;
  gboolean    eight_bit;
} DataCase;

#define LF MB_SMTP_DATA_PROBLEM_BARE_LF
#define CR MB_SMTP_DATA_PROBLEM_BARE_CR
#define LONG MB_SMTP_DATA_PROBLEM_LINE_TOO_LONG

/* Each smuggling variant sits between "a" and "b": it must not end the
 * data, and the real <CRLF>.<CRLF> after "b" must. */
#define SMUGGLE(name, variant, out, problems)                                  \
  {                                                                            \
    name, S ("a" variant "b\r\n.\r\nMAIL FROM:<x@y.example>\r\n"), 998, TRUE,  \
        sizeof ("a" variant "b\r\n.\r\n") - 1, S (out), problems               \
  }

static const DataCase data_cases[] = {
  { "empty-message", S (".\r\n"), 998, TRUE, 3, S ("") },
  { "simple", S ("Hello\r\n.\r\n"), 998, TRUE, 10, S ("Hello\r\n") },
  { "stops-at-end", S ("Hi\r\n.\r\nQUIT\r\n"), 998, TRUE, 7, S ("Hi\r\n") },
  { "two-lines", S ("a\r\nb\r\n.\r\n"), 998, TRUE, 9, S ("a\r\nb\r\n") },
  { "empty-lines", S ("\r\n\r\n.\r\n"), 998, TRUE, 7, S ("\r\n\r\n") },
  { "dot-stuffed", S ("..leading\r\n.\r\n"), 998, TRUE, 14,
    S (".leading\r\n") },
  { "dot-line-stuffed", S ("a\r\n..\r\n.\r\n"), 998, TRUE, 10,
    S ("a\r\n.\r\n") },
  { "unstuffed-dot-dropped", S ("a\r\n.b\r\n.\r\n"), 998, TRUE, 10,
    S ("a\r\nb\r\n") },
  { "dot-mid-line", S ("a.b\r\n.\r\n"), 998, TRUE, 8, S ("a.b\r\n") },
  { "dot-space", S (". \r\n.\r\n"), 998, TRUE, 7, S (" \r\n") },
  { "no-end", S ("Hello\r\n"), 998, FALSE, 7, S ("Hello\r\n") },
  { "no-end-dot", S ("Hello\r\n."), 998, FALSE, 8, S ("Hello\r\n") },
  { "no-end-dot-cr", S ("Hello\r\n.\r"), 998, FALSE, 9, S ("Hello\r\n") },
  { "no-end-cr", S ("Hello\r"), 998, FALSE, 6, S ("Hello\r") },
  { "no-end-text-dot-crlf", S ("abc.\r\n"), 998, FALSE, 6, S ("abc.\r\n") },
  { "nul-bytes", S ("a\0b\r\n.\r\n"), 998, TRUE, 8, S ("a\0b\r\n") },
  { "eight-bit", S ("caf\xc3\xa9\r\n.\r\n"), 998, TRUE, 10,
    S ("caf\xc3\xa9\r\n"), 0, TRUE },
  { "eight-bit-late", S ("0123456789abcdefghij\x80\r\n.\r\n"), 998, TRUE, 26,
    S ("0123456789abcdefghij\x80\r\n"), 0, TRUE },
  SMUGGLE ("lf-dot-lf", "\n.\n", "a\n.\nb\r\n", LF),
  SMUGGLE ("cr-dot-cr", "\r.\r", "a\r.\rb\r\n", CR),
  SMUGGLE ("lf-dot-crlf", "\n.\r\n", "a\n.\r\nb\r\n", LF),
  SMUGGLE ("crlf-dot-lf", "\r\n.\n", "a\r\n\nb\r\n", LF),
  SMUGGLE ("cr-dot-crlf", "\r.\r\n", "a\r.\r\nb\r\n", CR),
  SMUGGLE ("crlf-dot-cr", "\r\n.\r", "a\r\n\rb\r\n", CR),
  SMUGGLE ("crlf-dot-cr-crlf", "\r\n.\r\r\n", "a\r\n\r\r\nb\r\n", CR),
  SMUGGLE ("bare-lf", "\n", "a\nb\r\n", LF),
  SMUGGLE ("bare-cr", "\r", "a\rb\r\n", CR),
  SMUGGLE ("lf-cr", "\n\r", "a\n\rb\r\n", LF | CR),
  SMUGGLE ("crcrlf", "\r\r\n", "a\r\r\nb\r\n", CR),
  { "start-dot-lf", S (".\nx\r\n.\r\n"), 998, TRUE, 8, S ("\nx\r\n"), LF },
  { "lf-only-never-ends", S ("a\n.\n"), 998, FALSE, 4, S ("a\n.\n"), LF },
  { "cr-only-never-ends", S ("a\r.\r"), 998, FALSE, 4, S ("a\r.\r"), CR },
  { "line-at-limit", S ("0123456789\r\n.\r\n"), 10, TRUE, 15,
    S ("0123456789\r\n") },
  { "line-over-limit", S ("01234567890\r\n.\r\n"), 10, TRUE, 16,
    S ("01234567890\r\n"), LONG },
  { "stuffed-dot-not-counted", S ("..123456789\r\n.\r\n"), 10, TRUE, 16,
    S (".123456789\r\n") },
  { "bare-cr-counts", S ("012345678\r9\r\n.\r\n"), 10, TRUE, 16,
    S ("012345678\r9\r\n"), CR | LONG },
  { "bare-lf-restarts-count", S ("01234567\n01234567\r\n.\r\n"), 10, TRUE, 22,
    S ("01234567\n01234567\r\n"), LF },
  { "limit-per-line", S ("0123456789\r\n0123456789\r\n.\r\n"), 10, TRUE, 27,
    S ("0123456789\r\n0123456789\r\n") },
  { "no-limit", S ("0123456789012345\r\n.\r\n"), 0, TRUE, 21,
    S ("0123456789012345\r\n") },
};

typedef struct
{
  gboolean end;
  gsize    consumed;
  guint    problems;
  gboolean eight_bit;
  guint64  size;
  GBytes  *out;
} DataResult;

static void
data_result_clear (DataResult *r)
{
  g_clear_pointer (&r->out, g_bytes_unref);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (DataResult, data_result_clear)

/* Feeds @in cut at the @n_cuts offsets in @cuts. */
static void
decode_with_cuts (const DataCase *c,
                  gsize           max_line,
                  const gsize    *cuts,
                  guint           n_cuts,
                  DataResult     *r)
{
  g_autoptr (MbSmtpDataDecoder) decoder = mb_smtp_data_decoder_new (max_line);
  g_autoptr (GByteArray) out = g_byte_array_new ();
  gsize offset = 0;

  r->end = FALSE;
  for (guint i = 0; i <= n_cuts && !r->end; i++)
    {
      gsize stop = i < n_cuts ? cuts[i] : c->in_len;
      gsize consumed = G_MAXSIZE;

      r->end
          = mb_smtp_data_decoder_feed (decoder, (const guint8 *)c->in + offset,
                                       stop - offset, &consumed, out)
            == MB_SMTP_DATA_END;
      g_assert_cmpuint (consumed, <=, stop - offset);
      if (!r->end)
        g_assert_cmpuint (consumed, ==, stop - offset);
      offset += consumed;
    }
  if (r->end)
    {
      gsize consumed = 99;

      /* After the end the decoder takes nothing more. */
      g_assert_cmpint (mb_smtp_data_decoder_feed (
                           decoder, (const guint8 *)"x\r\n", 3, &consumed, out),
                       ==, MB_SMTP_DATA_END);
      g_assert_cmpuint (consumed, ==, 0);
    }
  r->consumed = offset;
  r->problems = mb_smtp_data_decoder_get_problems (decoder);
  r->eight_bit = mb_smtp_data_decoder_saw_8bit (decoder);
  r->size = mb_smtp_data_decoder_get_size (decoder);
  r->out = g_byte_array_free_to_bytes (g_steal_pointer (&out));
}

static void
assert_data_result (const DataCase *c, const DataResult *r)
{
  gsize         len;
  const guint8 *bytes = g_bytes_get_data (r->out, &len);

  g_assert_cmpint (r->end, ==, c->end);
  g_assert_cmpuint (r->consumed, ==, c->consumed);
  g_assert_cmpmem (bytes, len, c->out, c->out_len);
  g_assert_cmpuint (r->size, ==, c->out_len);
  g_assert_cmphex (r->problems, ==, c->problems);
  g_assert_cmpint (r->eight_bit, ==, c->eight_bit);
}

/* The decoder's result is the same whole, one byte at a time, and cut at
 * every one and every pair of offsets: no state is lost between feeds. */
static void
test_data (gconstpointer data)
{
  const DataCase *c = data;
  g_auto (DataResult) whole = { 0 };
  g_autofree gsize *bytes = g_new (gsize, c->in_len + 1);

  decode_with_cuts (c, c->max_line, NULL, 0, &whole);
  assert_data_result (c, &whole);

  for (gsize i = 0; i < c->in_len; i++)
    bytes[i] = i + 1;
  {
    g_auto (DataResult) r = { 0 };

    decode_with_cuts (c, c->max_line, bytes, (guint)c->in_len, &r);
    assert_data_result (c, &r);
  }
  for (gsize i = 0; i <= c->in_len; i++)
    for (gsize j = i; j <= c->in_len; j++)
      {
        g_auto (DataResult) r = { 0 };
        gsize cuts[2] = { i, j };

        decode_with_cuts (c, c->max_line, cuts, 2, &r);
        assert_data_result (c, &r);
      }
}

/* A NULL output still counts the size, and flags still work. */
static void
test_data_discard (void)
{
  g_autoptr (MbSmtpDataDecoder) decoder = mb_smtp_data_decoder_new (998);
  const char *in = "..a\nb\r\n.\r\n";
  gsize       consumed = 0;

  g_assert_cmpint (mb_smtp_data_decoder_feed (decoder, (const guint8 *)in,
                                              strlen (in), &consumed, NULL),
                   ==, MB_SMTP_DATA_END);
  g_assert_cmpuint (consumed, ==, strlen (in));
  g_assert_cmpuint (mb_smtp_data_decoder_get_size (decoder), ==, 6);
  g_assert_cmphex (mb_smtp_data_decoder_get_problems (decoder), ==, LF);
}

/* A large message (8 MiB, CRLF and LF-only variants) fed in 64 KiB
 * chunks comes out exactly unstuffed; LF-only input stays linear. */
static void
test_data_large (void)
{
  for (guint variant = 0; variant < 2; variant++)
    {
      const char *eol = variant == 0 ? "\r\n" : "\n";
      g_autoptr (GString) message = g_string_new (NULL);
      g_autoptr (GString) wire = g_string_new (NULL);
      g_autoptr (GByteArray) out = g_byte_array_new ();
      g_autoptr (MbSmtpDataDecoder) decoder = mb_smtp_data_decoder_new (998);
      GRand           *rand = g_rand_new_with_seed (42);
      MbSmtpDataStatus status = MB_SMTP_DATA_MORE;
      gsize            offset = 0;

      while (message->len < 8 * 1024 * 1024)
        {
          gsize start = message->len;
          guint n = (guint)g_rand_int_range (rand, 0, 200);

          for (guint k = 0; k < n; k++)
            g_string_append_c (message, (char)g_rand_int_range (rand, 32, 127));
          if (n > 0 && g_rand_int_range (rand, 0, 10) == 0)
            message->str[start] = '.';
          g_string_append (message, eol);
          /* With bare LF there are no lines after the first, so nothing
           * else is stuffed. */
          if ((variant == 0 || start == 0) && message->str[start] == '.')
            g_string_append_c (wire, '.');
          g_string_append_len (wire, message->str + start,
                               (gssize)(message->len - start));
        }
      g_rand_free (rand);
      g_string_append (wire, variant == 0 ? ".\r\n" : "\r\n.\r\n");
      if (variant == 1)
        g_string_append (message, "\r\n");

      while (status == MB_SMTP_DATA_MORE && offset < wire->len)
        {
          gsize chunk = MIN (wire->len - offset, 65536), consumed = 0;

          status = mb_smtp_data_decoder_feed (
              decoder, (const guint8 *)wire->str + offset, chunk, &consumed,
              out);
          offset += consumed;
        }
      g_assert_cmpint (status, ==, MB_SMTP_DATA_END);
      g_assert_cmpuint (offset, ==, wire->len);
      g_assert_cmpmem (out->data, out->len, message->str, message->len);
      g_assert_cmphex (mb_smtp_data_decoder_get_problems (decoder), ==,
                       variant == 0 ? 0 : LF);
    }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

#define ADD_TABLE(area, cases, func)                                           \
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)                             \
    {                                                                          \
      g_autofree char *path                                                    \
          = g_strdup_printf ("/relay/smtp-parser/" area "/%s", cases[i].name); \
      g_test_add_data_func (path, &cases[i], func);                            \
    }

  ADD_TABLE ("next-line", line_cases, test_next_line);
  ADD_TABLE ("command", command_cases, test_command);
  ADD_TABLE ("mail", mail_cases, test_mail);
  ADD_TABLE ("rcpt", rcpt_cases, test_rcpt);
  ADD_TABLE ("bdat", bdat_cases, test_bdat);
  ADD_TABLE ("data", data_cases, test_data);
  g_test_add_func ("/relay/smtp-parser/mailbox/valid", test_mailbox);
  g_test_add_func ("/relay/smtp-parser/xtext/encode", test_xtext_encode);
  g_test_add_func ("/relay/smtp-parser/xtext/roundtrip", test_xtext_roundtrip);
  g_test_add_func ("/relay/smtp-parser/xtext/malformed", test_xtext_malformed);
  g_test_add_func ("/relay/smtp-parser/reply/codes", test_error_reply);
  g_test_add_func ("/relay/smtp-parser/golden/commands", test_golden_commands);
  g_test_add_func ("/relay/smtp-parser/data-api/discard", test_data_discard);
  g_test_add_func ("/relay/smtp-parser/data-api/large", test_data_large);

  return g_test_run ();
}
