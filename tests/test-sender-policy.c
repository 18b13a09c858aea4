/* test-sender-policy.c - the sender decision per method, the header
 * rewrite (byte-exact elsewhere), display-name encoding, streaming of a
 * large body, and the async step. */
#include "mb-sender-policy.h"

#include "mb-test-util.h"

#include <glib/gstdio.h>
#include <gmime/gmime.h>
#include <string.h>

G_DEFINE_AUTOPTR_CLEANUP_FUNC (GMimeStream, g_object_unref)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (GMimeParser, g_object_unref)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (GMimeMessage, g_object_unref)

#define MAILBOX "scanner@contoso.com"
#define SEND_AS "reception@contoso.com"
#define ADMIN "it@contoso.com"
#define DOMAIN "contoso.com"

static const char *const send_as_list[] = { SEND_AS, NULL };

static MbSenderPolicyConfig *
make_config (MbRouteMethod method, gboolean mailbox, gboolean admin)
{
  MbSenderPolicyConfig *config = mb_sender_policy_config_new (method);

  config->send_as = g_strdupv ((GStrv)send_as_list);
  config->mailbox = mailbox ? g_strdup (MAILBOX) : NULL;
  config->admin_address = admin ? g_strdup (ADMIN) : NULL;
  config->accepted_domain = g_strdup (DOMAIN);
  return config;
}

static GBytes *
bytes_from_string (const char *text)
{
  return g_bytes_new (text, strlen (text));
}

static char *
bytes_to_string (GBytes *bytes)
{
  gsize       len;
  const char *data = g_bytes_get_data (bytes, &len);

  return g_strndup (data, len);
}

static char *
to_hex (const char *text)
{
  GString *hex = g_string_new (NULL);

  for (const char *p = text; *p != '\0'; p++)
    g_string_append_printf (hex, "%02x", (guchar)*p);
  return g_string_free (hex, FALSE);
}

typedef struct
{
  const char   *name;
  MbRouteMethod method;
  int           mode; /* -1: the method's default */
  gboolean      mailbox;
  gboolean      admin;
  const char   *sender;
  const char   *from; /* nullable */
  const char   *expect_sender;
  gboolean      expect_rewrite;
  const char   *expect_reply_to; /* nullable */
  const char   *expect_reason;   /* substring */
} DecideCase;

/* clang-format off */
static const DecideCase decide_cases[] = {
  /* SMTP AUTH: only the mailbox or a send-as address pass (5.7.60). */
  { "submission-mailbox", MB_ROUTE_METHOD_SUBMISSION, -1, TRUE, TRUE,
    MAILBOX, "Scanner <" MAILBOX ">", MAILBOX, FALSE, NULL,
    "policy=rewrite-from envelope=kept from=kept" },
  { "submission-send-as-any-case", MB_ROUTE_METHOD_SUBMISSION, -1, TRUE,
    TRUE, "Reception@Contoso.com", "Reception@CONTOSO.com", "Reception@Contoso.com",
    FALSE, NULL, "envelope=kept from=kept" },
  { "submission-foreign", MB_ROUTE_METHOD_SUBMISSION, -1, TRUE, TRUE,
    "copier@fabrikam.com", "Copier 2nd floor <copier@fabrikam.com>", MAILBOX,
    TRUE, "Copier 2nd floor <copier@fabrikam.com>",
    "envelope=mailbox from=rewritten" },
  { "submission-allowed-envelope-foreign-from", MB_ROUTE_METHOD_SUBMISSION,
    -1, TRUE, TRUE, SEND_AS, "someone@fabrikam.com", SEND_AS, TRUE,
    "someone@fabrikam.com", "envelope=kept from=rewritten" },
  { "submission-empty", MB_ROUTE_METHOD_SUBMISSION, -1, TRUE, TRUE, "", NULL,
    MAILBOX, TRUE, NULL, "note=unusable-sender" },
  { "submission-garbage", MB_ROUTE_METHOD_SUBMISSION, -1, TRUE, TRUE,
    "scanner at lobby", "not an address", MAILBOX, TRUE, NULL,
    "envelope=mailbox from=rewritten note=unusable-sender" },
  { "submission-no-from-header", MB_ROUTE_METHOD_SUBMISSION, -1, TRUE, TRUE,
    "copier@fabrikam.com", NULL, MAILBOX, TRUE, "copier@fabrikam.com",
    "from=rewritten" },
  { "submission-mailer-daemon-no-reply-to", MB_ROUTE_METHOD_SUBMISSION, -1,
    TRUE, TRUE, "", "Mail Delivery System <MAILER-DAEMON@relay.lan>", MAILBOX,
    TRUE, NULL, "from=rewritten" },
  { "submission-no-mailbox-keeps", MB_ROUTE_METHOD_SUBMISSION, -1, FALSE,
    TRUE, "copier@fabrikam.com", "copier@fabrikam.com",
    "copier@fabrikam.com", FALSE, NULL, "policy=keep envelope=kept "
    "from=kept note=no-mailbox" },
  { "hve-foreign", MB_ROUTE_METHOD_HVE, -1, TRUE, TRUE, "app@fabrikam.com",
    "app@fabrikam.com", MAILBOX, TRUE, "app@fabrikam.com",
    "policy=rewrite-from" },
  /* Direct Send and the connector: P1 stays the device's own. */
  { "direct-send-own-domain", MB_ROUTE_METHOD_DIRECT_SEND, -1, FALSE, TRUE,
    "scan@contoso.com", "foreign@fabrikam.com", "scan@contoso.com", FALSE,
    NULL, "policy=keep envelope=kept from=kept" },
  { "direct-send-subdomain", MB_ROUTE_METHOD_DIRECT_SEND, -1, FALSE, TRUE,
    "scan@eu.Contoso.COM", NULL, "scan@eu.Contoso.COM", FALSE, NULL,
    "policy=keep envelope=kept from=kept" },
  { "direct-send-foreign", MB_ROUTE_METHOD_DIRECT_SEND, -1, FALSE, TRUE,
    "copier@fabrikam.com", NULL, "copier@fabrikam.com", FALSE, NULL,
    "note=sender-outside-accepted-domain" },
  { "direct-send-lookalike-domain", MB_ROUTE_METHOD_DIRECT_SEND, -1, FALSE,
    TRUE, "copier@notcontoso.com", NULL, "copier@notcontoso.com", FALSE,
    NULL, "note=sender-outside-accepted-domain" },
  { "direct-send-empty", MB_ROUTE_METHOD_DIRECT_SEND, -1, FALSE, TRUE, "",
    NULL, ADMIN, FALSE, NULL, "envelope=admin-address from=kept "
    "note=unusable-sender" },
  { "connector-garbage", MB_ROUTE_METHOD_CONNECTOR, -1, TRUE, TRUE, "<>x",
    NULL, ADMIN, FALSE, NULL, "envelope=admin-address" },
  { "connector-empty-no-admin", MB_ROUTE_METHOD_CONNECTOR, -1, TRUE, FALSE,
    "", NULL, MAILBOX, FALSE, NULL, "envelope=mailbox" },
  { "connector-empty-nothing", MB_ROUTE_METHOD_CONNECTOR, -1, FALSE, FALSE,
    "", NULL, "", FALSE, NULL, "envelope=none" },
  { "connector-foreign", MB_ROUTE_METHOD_CONNECTOR, -1, FALSE, TRUE,
    "copier@fabrikam.com", NULL, "copier@fabrikam.com", FALSE, NULL,
    "note=sender-outside-accepted-domain" },
  /* Explicit modes. */
  { "rewrite-envelope-foreign", MB_ROUTE_METHOD_CONNECTOR,
    MB_SENDER_POLICY_MODE_REWRITE_ENVELOPE, TRUE, TRUE, "copier@fabrikam.com",
    "copier@fabrikam.com", MAILBOX, FALSE, NULL,
    "policy=rewrite-envelope envelope=mailbox from=kept" },
  { "rewrite-envelope-allowed", MB_ROUTE_METHOD_CONNECTOR,
    MB_SENDER_POLICY_MODE_REWRITE_ENVELOPE, TRUE, TRUE, SEND_AS, NULL,
    SEND_AS, FALSE, NULL, "envelope=kept" },
  { "keep-on-submission", MB_ROUTE_METHOD_SUBMISSION,
    MB_SENDER_POLICY_MODE_KEEP, TRUE, TRUE, "copier@fabrikam.com",
    "copier@fabrikam.com", "copier@fabrikam.com", FALSE, NULL,
    "policy=keep envelope=kept from=kept" },
};
/* clang-format on */

/* The decision table: per method and mode, the mailbox itself, a send-as
 * address, a foreign address, an empty and a garbage sender give the
 * documented reverse path, From: action, Reply-To and log reason. */
static void
test_decide_table (void)
{
  for (gsize i = 0; i < G_N_ELEMENTS (decide_cases); i++)
    {
      const DecideCase *c = &decide_cases[i];
      g_autoptr (MbSenderPolicyConfig) config = NULL;
      g_autoptr (MbSenderDecision) decision = NULL;

      g_test_message ("case %s", c->name);
      config = make_config (c->method, c->mailbox, c->admin);
      if (c->mode >= 0)
        config->mode = (MbSenderPolicyMode)c->mode;
      decision = mb_sender_policy_decide (config, c->sender, c->from);
      g_assert_cmpstr (decision->envelope_sender, ==, c->expect_sender);
      g_assert_cmpint (decision->rewrite_from, ==, c->expect_rewrite);
      g_assert_cmpstr (decision->reply_to, ==, c->expect_reply_to);
      g_assert_nonnull (strstr (decision->reason, c->expect_reason));
      if (c->expect_rewrite)
        {
          g_assert_nonnull (decision->new_from);
          g_assert_nonnull (strstr (decision->new_from, "<" MAILBOX ">"));
        }
      else
        {
          g_assert_null (decision->new_from);
          g_assert_null (decision->original_from);
        }
    }
}

/* The new From: keeps the device's display name (or its local part) with
 * "(via Mailbridge)", and the device's From: goes to
 * X-Mailbridge-Original-From as it was. */
static void
test_decide_display_name (void)
{
  g_autoptr (MbSenderPolicyConfig) config
      = make_config (MB_ROUTE_METHOD_SUBMISSION, TRUE, TRUE);
  g_autoptr (MbSenderDecision) named = NULL;
  g_autoptr (MbSenderDecision) bare = NULL;
  g_autoptr (MbSenderDecision) none = NULL;

  named = mb_sender_policy_decide (config, "x@fabrikam.com",
                                   "\"Copier\" <copier@fabrikam.com>");
  g_assert_cmpstr (named->new_from, ==,
                   "\"Copier (via Mailbridge)\" <" MAILBOX ">");
  g_assert_cmpstr (named->original_from, ==,
                   "\"Copier\" <copier@fabrikam.com>");

  bare = mb_sender_policy_decide (config, "x@fabrikam.com",
                                  "copier@fabrikam.com");
  g_assert_cmpstr (bare->new_from, ==,
                   "\"copier (via Mailbridge)\" <" MAILBOX ">");

  none = mb_sender_policy_decide (config, "", NULL);
  g_assert_cmpstr (none->new_from, ==, "Mailbridge <" MAILBOX ">");
  g_assert_null (none->original_from);
}

/* Defaults per method, the config built from a route, copies and the
 * key's strings. */
static void
test_config (void)
{
  MbRouteConfig route = { 0 };
  g_autoptr (MbSenderPolicyConfig) config = NULL;
  g_autoptr (MbSenderPolicyConfig) copy = NULL;
  MbSenderPolicyMode mode;

  g_assert_cmpint (
      mb_sender_policy_mode_for_method (MB_ROUTE_METHOD_SUBMISSION), ==,
      MB_SENDER_POLICY_MODE_REWRITE_FROM);
  g_assert_cmpint (mb_sender_policy_mode_for_method (MB_ROUTE_METHOD_HVE), ==,
                   MB_SENDER_POLICY_MODE_REWRITE_FROM);
  g_assert_cmpint (
      mb_sender_policy_mode_for_method (MB_ROUTE_METHOD_DIRECT_SEND), ==,
      MB_SENDER_POLICY_MODE_KEEP);
  g_assert_cmpint (mb_sender_policy_mode_for_method (MB_ROUTE_METHOD_CONNECTOR),
                   ==, MB_SENDER_POLICY_MODE_KEEP);

  route.method = MB_ROUTE_METHOD_HVE;
  route.mailbox = (char *)"hve@contoso.com";
  route.domain = (char *)DOMAIN;
  config = mb_sender_policy_config_new_from_route (&route, ADMIN);
  g_assert_cmpint (config->mode, ==, MB_SENDER_POLICY_MODE_REWRITE_FROM);
  g_assert_cmpstr (config->mailbox, ==, "hve@contoso.com");
  g_assert_cmpstr (config->accepted_domain, ==, DOMAIN);
  g_assert_cmpstr (config->admin_address, ==, ADMIN);
  g_assert_true (mb_sender_policy_is_allowed (config, "HVE@contoso.com"));
  g_assert_false (mb_sender_policy_is_allowed (config, ADMIN));

  config->send_as = g_strdupv ((GStrv)send_as_list);
  copy = mb_sender_policy_config_copy (config);
  g_assert_true (copy->mailbox != config->mailbox);
  g_assert_true (mb_sender_policy_is_allowed (copy, SEND_AS));

  for (int m = MB_SENDER_POLICY_MODE_KEEP;
       m <= MB_SENDER_POLICY_MODE_REWRITE_FROM; m++)
    {
      g_assert_true (mb_sender_policy_mode_from_string (
          mb_sender_policy_mode_to_string (m), &mode));
      g_assert_cmpint (mode, ==, m);
    }
  g_assert_false (mb_sender_policy_mode_from_string ("Keep", &mode));
  g_assert_false (mb_sender_policy_mode_from_string ("", &mode));
}

/* Header parts around the From: fields, to build inputs and expected
 * outputs from the same bytes. */
#define HDR_RECEIVED                                                           \
  "Received: from scanner (unknown [192.0.2.10])\r\n"                          \
  "\tby relay.lan (Mailbridge) with ESMTP id 0001;\r\n"                        \
  "\tTue, 24 Nov 2026 10:00:00 +0100\r\n"
#define HDR_MIDDLE                                                             \
  "Subject: Scan vom Kopierer – Grüße aus Köln\r\n"                       \
  "X-Folded:  keep   these   blanks\r\n"                                       \
  "   and\tthis tab \r\n"                                                      \
  "To: Anna <anna@contoso.com>,\r\n"                                           \
  " Bob <bob@contoso.com>\r\n"                                                 \
  "MIME-Version: 1.0\r\n"                                                      \
  "Content-Type: text/plain; charset=utf-8\r\n"
#define HDR_TAIL "X-Last: end\r\n"

/* Every field but From: stays byte for byte in its place (folded, 8-bit
 * UTF-8, odd blanks); both From: fields go, the new fields stand where
 * the first was; the body after the empty line is untouched. */
static void
test_rewrite_keeps_bytes (void)
{
  g_autoptr (MbSenderPolicyConfig) config
      = make_config (MB_ROUTE_METHOD_SUBMISSION, TRUE, TRUE);
  g_autoptr (MbSenderDecision) decision = NULL;
  g_autoptr (GBytes) header = NULL;
  g_autoptr (GBytes) result = NULL;
  g_autofree char *from = NULL;
  g_autofree char *text = NULL;
  g_autofree char *expected = NULL;

  header = bytes_from_string (
      HDR_RECEIVED "From: \"Kopierer, 2. OG\"\r\n"
                   " <copier@fabrikam.com>\r\n" HDR_MIDDLE
                   "FROM : duplicate@fabrikam.com\r\n" HDR_TAIL "\r\n");
  from = mb_sender_policy_get_from (header);
  g_assert_cmpstr (from, ==, "\"Kopierer, 2. OG\" <copier@fabrikam.com>");
  decision = mb_sender_policy_decide (config, "copier@fabrikam.com", from);
  g_assert_true (decision->rewrite_from);

  result = mb_sender_policy_rewrite_header (header, decision);
  text = bytes_to_string (result);
  expected = g_strconcat (
      HDR_RECEIVED,
      "From: \"Kopierer, 2. OG (via Mailbridge)\" <" MAILBOX ">\r\n",
      "X-Mailbridge-Original-From: \"Kopierer, 2. OG\" "
      "<copier@fabrikam.com>\r\n",
      "Reply-To: \"Kopierer, 2. OG\" <copier@fabrikam.com>\r\n", HDR_MIDDLE,
      HDR_TAIL, "\r\n", NULL);
  g_assert_cmpstr (text, ==, expected);

  /* Without a rewrite the same bytes come back. */
  {
    g_autoptr (MbSenderDecision) keep = NULL;
    g_autoptr (GBytes) same = NULL;

    keep = mb_sender_policy_decide (config, MAILBOX, MAILBOX);
    same = mb_sender_policy_rewrite_header (header, keep);
    g_assert_true (g_bytes_equal (same, header));
  }
}

/* A Reply-To the device set is kept and not doubled; a header without
 * From: gets ours at its end, also one that ends without a line end. */
static void
test_rewrite_reply_to_and_missing_from (void)
{
  g_autoptr (MbSenderPolicyConfig) config
      = make_config (MB_ROUTE_METHOD_SUBMISSION, TRUE, TRUE);
  g_autoptr (MbSenderDecision) decision = NULL;
  g_autoptr (GBytes) header = NULL;
  g_autoptr (GBytes) result = NULL;
  g_autofree char *text = NULL;

  decision = mb_sender_policy_decide (config, "copier@fabrikam.com",
                                      "copier@fabrikam.com");
  header = bytes_from_string ("From: copier@fabrikam.com\r\n"
                              "reply-to: helpdesk@fabrikam.com\r\n"
                              "Subject: x\r\n\r\n");
  result = mb_sender_policy_rewrite_header (header, decision);
  text = bytes_to_string (result);
  g_assert_cmpstr (text, ==,
                   "From: \"copier (via Mailbridge)\" <" MAILBOX ">\r\n"
                   "X-Mailbridge-Original-From: copier@fabrikam.com\r\n"
                   "reply-to: helpdesk@fabrikam.com\r\n"
                   "Subject: x\r\n\r\n");

  g_clear_pointer (&header, g_bytes_unref);
  g_clear_pointer (&result, g_bytes_unref);
  g_clear_pointer (&text, g_free);
  header = bytes_from_string ("Subject: no from\r\nX-A: 1\r\n\r\n");
  result = mb_sender_policy_rewrite_header (header, decision);
  text = bytes_to_string (result);
  g_assert_cmpstr (text, ==,
                   "Subject: no from\r\nX-A: 1\r\n"
                   "From: \"copier (via Mailbridge)\" <" MAILBOX ">\r\n"
                   "X-Mailbridge-Original-From: copier@fabrikam.com\r\n"
                   "Reply-To: copier@fabrikam.com\r\n\r\n");

  g_clear_pointer (&header, g_bytes_unref);
  g_clear_pointer (&result, g_bytes_unref);
  g_clear_pointer (&text, g_free);
  header = bytes_from_string ("Subject: all header");
  result = mb_sender_policy_rewrite_header (header, decision);
  text = bytes_to_string (result);
  g_assert_cmpstr (text, ==,
                   "Subject: all header\r\n"
                   "From: \"copier (via Mailbridge)\" <" MAILBOX ">\r\n"
                   "X-Mailbridge-Original-From: copier@fabrikam.com\r\n"
                   "Reply-To: copier@fabrikam.com\r\n");
}

typedef struct
{
  const char *from;         /* the device's From: */
  const char *display_name; /* what a reader must see before the suffix */
  const char *reply_to;     /* Reply-To's display name */
  gboolean    gmime_check;  /* also read back with GMime */
} NameCase;

/* clang-format off */
static const NameCase name_cases[] = {
  { "\"Kopierer \\\"Lobby\\\", 2. OG\" <copier@fabrikam.com>",
    "Kopierer \"Lobby\", 2. OG", "Kopierer \"Lobby\", 2. OG", TRUE },
  { "=?iso-8859-1?q?M=FCller=2C_Hans?= <hans@fabrikam.com>",
    "Müller, Hans", "Müller, Hans", TRUE },
  { "Jürgen Groß <jg@fabrikam.com>", "Jürgen Groß", "Jürgen Groß", TRUE },
  { "\"Дмитрий Иванов, Отдел\" <di@fabrikam.com>",
    "Дмитрий Иванов, Отдел", "Дмитрий Иванов, Отдел", TRUE },
  { "=?UTF-8?Q?=E5=B1=B1=E7=94=B0_=E5=A4=AA=E9=83=8E?= <yt@fabrikam.com>",
    "山田 太郎", "山田 太郎", TRUE },
  { "\"Ελληνικά πολύ μεγάλο όνομα συσκευής σάρωσης στον δεύτερο όροφο\" "
    "<gr@fabrikam.com>",
    "Ελληνικά πολύ μεγάλο όνομα συσκευής σάρωσης στον δεύτερο όροφο",
    "Ελληνικά πολύ μεγάλο όνομα συσκευής σάρωσης στον δεύτερο όροφο", TRUE },
  { "\"Scanner; (lobby) <x> @ [a]\" <s@fabrikam.com>",
    "Scanner; (lobby) <x> @ [a]", "Scanner; (lobby) <x> @ [a]", TRUE },
};
/* clang-format on */

/* Display names with quotes, commas, specials and UTF-8 (Latin, Cyrillic,
 * CJK, long Greek) come out as valid RFC 5322/2047 From: and Reply-To:
 * fields, ASCII within 78 columns, that both GMime and Python's email
 * package read back to the intended names. */
static void
test_rewrite_display_names (void)
{
  g_autoptr (MbSenderPolicyConfig) config
      = make_config (MB_ROUTE_METHOD_SUBMISSION, TRUE, TRUE);

  for (gsize i = 0; i < G_N_ELEMENTS (name_cases); i++)
    {
      const NameCase *c = &name_cases[i];
      g_autoptr (MbSenderDecision) decision = NULL;
      g_autoptr (GBytes) header = NULL;
      g_autoptr (GBytes) result = NULL;
      g_autoptr (GString) message = g_string_new (NULL);
      g_autofree char *text = NULL;
      g_autofree char *want_from = NULL;
      g_autofree char *script = NULL;

      g_test_message ("From: %s", c->from);
      decision = mb_sender_policy_decide (config, "x@fabrikam.com", c->from);
      g_string_append_printf (message, "From: %s\r\nSubject: t\r\n\r\n",
                              c->from);
      header = bytes_from_string (message->str);
      result = mb_sender_policy_rewrite_header (header, decision);
      text = bytes_to_string (result);

      /* What we write is ASCII, lines within 78 columns. */
      for (const char *p = text; *p != '\0'; p++)
        g_assert_cmpint ((guchar)*p, <, 0x80);
      {
        g_auto (GStrv) lines = g_strsplit (text, "\r\n", -1);

        for (guint l = 0; lines[l] != NULL; l++)
          g_assert_cmpuint (strlen (lines[l]), <=, 78);
      }

      want_from = g_strconcat (c->display_name, " (via Mailbridge)", NULL);
      if (c->gmime_check)
        {
          g_autoptr (GMimeStream) stream = NULL;
          g_autoptr (GMimeParser) parser = NULL;
          g_autoptr (GMimeMessage) parsed = NULL;
          InternetAddressList *list;
          InternetAddress     *address;

          stream = g_mime_stream_mem_new_with_buffer (text, strlen (text));
          parser = g_mime_parser_new_with_stream (stream);
          parsed = g_mime_parser_construct_message (parser, NULL);
          g_assert_nonnull (parsed);
          list = g_mime_message_get_from (parsed);
          g_assert_cmpint (internet_address_list_length (list), ==, 1);
          address = internet_address_list_get_address (list, 0);
          g_assert_cmpstr (internet_address_get_name (address), ==, want_from);
          g_assert_cmpstr (internet_address_mailbox_get_addr (
                               INTERNET_ADDRESS_MAILBOX (address)),
                           ==, MAILBOX);
          list = g_mime_message_get_reply_to (parsed);
          address = internet_address_list_get_address (list, 0);
          g_assert_cmpstr (internet_address_get_name (address), ==,
                           c->reply_to);
        }

      {
        /* The names go in as hex, so no quoting can go wrong. */
        g_autofree char *hex_from = to_hex (want_from);
        g_autofree char *hex_reply = to_hex (c->reply_to);

        script = g_strdup_printf (
            "import sys\n"
            "from email import policy\n"
            "from email.parser import BytesParser\n"
            "m = BytesParser(policy=policy.default).parse(open(sys.argv[1], "
            "'rb'))\n"
            "f = m['From'].addresses\n"
            "assert len(f) == 1, f\n"
            "assert f[0].addr_spec == '%s', f[0].addr_spec\n"
            "got = ' '.join(f[0].display_name.split())\n"
            "assert got == bytes.fromhex('%s').decode(), got\n"
            "r = m['Reply-To'].addresses[0].display_name\n"
            "assert ' '.join(r.split()) == bytes.fromhex('%s').decode(), r\n"
            "assert len(m.get_all('From')) == 1\n",
            MAILBOX, hex_from, hex_reply);
      }
      if (!mb_test_run_python (script, result, "message.eml"))
        return;
    }
}

/* Reading the header section finds the empty line wherever it falls
 * relative to the 16 KiB reads, and leaves the body in the stream. */
static void
test_read_header_boundaries (void)
{
  for (gsize size = 16 * 1024 - 4; size <= 16 * 1024 + 4; size++)
    {
      g_autoptr (GString) message = g_string_new ("Subject: pad ");
      g_autoptr (GInputStream) stream = NULL;
      g_autoptr (GBytes) header = NULL;
      g_autoptr (GBytes) rest = NULL;
      g_autoptr (GError) error = NULL;
      g_autoptr (GByteArray) body = g_byte_array_new ();
      guint8 buffer[4096];
      gssize n;

      /* The header section (with its empty line) is exactly @size. */
      while (message->len < size - 4)
        g_string_append_c (message, 'x');
      g_string_append (message, "\r\n\r\n");
      g_assert_cmpuint (message->len, ==, size);
      g_string_append (message, "body\r\n");

      stream = g_memory_input_stream_new_from_data (
          g_memdup2 (message->str, message->len), (gssize)message->len, g_free);
      g_assert_true (
          mb_sender_policy_read_header (stream, &header, &rest, NULL, &error));
      g_assert_no_error (error);
      g_assert_cmpuint (g_bytes_get_size (header), ==, size);
      g_byte_array_append (body, g_bytes_get_data (rest, NULL),
                           (guint)g_bytes_get_size (rest));
      while ((n = g_input_stream_read (stream, buffer, sizeof buffer, NULL,
                                       &error))
             > 0)
        g_byte_array_append (body, buffer, (guint)n);
      g_assert_no_error (error);
      g_assert_cmpmem (body->data, body->len, "body\r\n", 6);
    }
}

/* A message without an empty line is all header; more than 1 MiB of
 * header without one is refused with HEADER_TOO_LONG. */
static void
test_read_header_limits (void)
{
  g_autoptr (GInputStream) small = NULL;
  g_autoptr (GInputStream) huge = NULL;
  g_autoptr (GBytes) header = NULL;
  g_autoptr (GBytes) rest = NULL;
  g_autoptr (GError) error = NULL;
  gsize huge_len = (MB_SENDER_POLICY_MAX_HEADER / 100 + 2) * 100;
  char *data;

  small = g_memory_input_stream_new_from_data ("Subject: only\r\n", -1, NULL);
  g_assert_true (
      mb_sender_policy_read_header (small, &header, &rest, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (g_bytes_get_size (header), ==, 15);
  g_assert_cmpuint (g_bytes_get_size (rest), ==, 0);
  g_clear_pointer (&header, g_bytes_unref);
  g_clear_pointer (&rest, g_bytes_unref);

  data = g_malloc (huge_len);
  for (gsize i = 0; i < huge_len; i += 100)
    {
      memset (data + i, 'h', 98);
      memcpy (data + i, "X-H: ", 5);
      memcpy (data + i + 98, "\r\n", 2);
    }
  huge = g_memory_input_stream_new_from_data (data, (gssize)huge_len, g_free);
  g_assert_false (
      mb_sender_policy_read_header (huge, &header, &rest, NULL, &error));
  g_assert_error (error, MB_SENDER_POLICY_ERROR,
                  MB_SENDER_POLICY_ERROR_HEADER_TOO_LONG);
}

static void
on_read_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  gssize *n = user_data;
  g_autoptr (GError) error = NULL;

  *n = g_input_stream_read_finish (G_INPUT_STREAM (source), result, &error);
  g_assert_no_error (error);
}

/* Reads @stream to its end (async reads when @async): the first @head_len
 * bytes into @head, the rest into @body_sum; returns the total length. */
static gsize
drain (GInputStream *stream,
       gboolean      async,
       GBytes      **head,
       gsize         head_len,
       GChecksum    *body_sum)
{
  g_autoptr (GByteArray) first = g_byte_array_new ();
  g_autofree guint8 *buffer = g_malloc (65536);
  gsize              total = 0;

  for (;;)
    {
      gssize n = -2;

      if (async)
        {
          g_input_stream_read_async (stream, buffer, 65536, G_PRIORITY_DEFAULT,
                                     NULL, on_read_cb, &n);
          MB_TEST_WAIT_UNTIL (n != -2);
        }
      else
        {
          g_autoptr (GError) error = NULL;

          n = g_input_stream_read (stream, buffer, 65536, NULL, &error);
          g_assert_no_error (error);
        }
      g_assert_cmpint (n, >=, 0);
      if (n == 0)
        break;
      {
        gsize take = total < head_len ? MIN ((gsize)n, head_len - total) : 0;

        g_byte_array_append (first, buffer, (guint)take);
        g_checksum_update (body_sum, buffer + take, (gssize)((gsize)n - take));
        total += (gsize)n;
      }
    }
  *head = g_byte_array_free_to_bytes (g_steal_pointer (&first));
  return total;
}

typedef struct
{
  char *dir;
  char *path;
  gsize header_len;
  gsize size;
  char *body_sha; /* of the body */
} LargeFixture;

#define LARGE_HEADER                                                           \
  "Received: from scanner by relay.lan; Tue, 24 Nov 2026 10:00:00 +0100\r\n"   \
  "From: Scanner <scan@fabrikam.com>\r\n"                                      \
  "Subject: 5 MiB scan\r\n"                                                    \
  "\r\n"

static void
large_setup (LargeFixture *fixture, gconstpointer data)
{
  g_autoptr (GChecksum) sum = g_checksum_new (G_CHECKSUM_SHA256);
  g_autoptr (GError) error = NULL;
  g_autoptr (GFile) file = NULL;
  g_autoptr (GFileOutputStream) out = NULL;
  g_autofree guint8 *chunk = g_malloc (78 * 1024);
  gsize              written;

  (void)data;
  fixture->dir = mb_test_make_tmpdir ("sender-policy");
  fixture->path = g_build_filename (fixture->dir, "large.eml", NULL);
  file = g_file_new_for_path (fixture->path);
  out = g_file_replace (file, NULL, FALSE, G_FILE_CREATE_NONE, NULL, &error);
  g_assert_no_error (error);
  g_output_stream_write_all (G_OUTPUT_STREAM (out), LARGE_HEADER,
                             strlen (LARGE_HEADER), &written, NULL, &error);
  g_assert_no_error (error);
  fixture->header_len = strlen (LARGE_HEADER);

  /* 5 MiB of base64-like lines, 76 characters and CRLF, each distinct. */
  for (gsize line = 0; line * 78 < 5 * 1024 * 1024; line += 1024)
    {
      gsize len = 0;

      for (gsize l = 0; l < 1024; l++)
        {
          for (gsize c = 0; c < 76; c++)
            chunk[len++]
                = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                  "0123456789+/"[(line + l + c * 7) % 64];
          chunk[len++] = '\r';
          chunk[len++] = '\n';
        }
      g_checksum_update (sum, chunk, len);
      g_output_stream_write_all (G_OUTPUT_STREAM (out), chunk, len, &written,
                                 NULL, &error);
      g_assert_no_error (error);
    }
  g_output_stream_close (G_OUTPUT_STREAM (out), NULL, &error);
  g_assert_no_error (error);
  fixture->body_sha = g_strdup (g_checksum_get_string (sum));
  {
    GStatBuf st;

    g_assert_cmpint (g_stat (fixture->path, &st), ==, 0);
    fixture->size = (gsize)st.st_size;
  }
}

static void
large_teardown (LargeFixture *fixture, gconstpointer data)
{
  (void)data;
  g_unlink (fixture->path);
  g_rmdir (fixture->dir);
  g_free (fixture->path);
  g_free (fixture->dir);
  g_free (fixture->body_sha);
}

/* A 5 MiB body streams through the rewrite (sync and async reads) byte
 * for byte; size_delta matches the header's change. */
static void
test_stream_large_body (LargeFixture *fixture, gconstpointer data)
{
  g_autoptr (MbSenderPolicyConfig) config
      = make_config (MB_ROUTE_METHOD_SUBMISSION, TRUE, TRUE);

  (void)data;
  for (int async = 0; async <= 1; async++)
    {
      g_autoptr (GFile) file = g_file_new_for_path (fixture->path);
      g_autoptr (GError) error = NULL;
      g_autoptr (GInputStream) message = NULL;
      g_autoptr (GInputStream) stream = NULL;
      g_autoptr (MbSenderDecision) decision = NULL;
      g_autoptr (GChecksum) sum = g_checksum_new (G_CHECKSUM_SHA256);
      g_autoptr (GBytes) head = NULL;
      g_autofree char *head_text = NULL;
      gint64           size_delta = 0;
      gsize            total;
      gsize            new_header_len;

      message = G_INPUT_STREAM (g_file_read (file, NULL, &error));
      g_assert_no_error (error);
      decision = mb_sender_policy_decide (config, "scan@fabrikam.com",
                                          "Scanner <scan@fabrikam.com>");
      stream = mb_sender_policy_rewrite_stream (message, decision, &size_delta,
                                                NULL, &error);
      g_assert_no_error (error);
      g_assert_nonnull (stream);
      g_assert_true (stream != message);
      new_header_len = fixture->header_len + (gsize)size_delta;

      total = drain (stream, async, &head, new_header_len, sum);
      g_assert_cmpuint (total, ==, fixture->size + (gsize)size_delta);
      g_assert_cmpstr (g_checksum_get_string (sum), ==, fixture->body_sha);
      head_text = bytes_to_string (head);
      g_assert_true (g_str_has_prefix (
          head_text,
          "Received: from scanner by relay.lan; Tue, 24 Nov 2026 "
          "10:00:00 +0100\r\nFrom: \"Scanner (via Mailbridge)\" <" MAILBOX
          ">\r\n"));
      g_assert_true (
          g_str_has_suffix (head_text, "Subject: 5 MiB scan\r\n\r\n"));
      g_input_stream_close (stream, NULL, &error);
      g_assert_no_error (error);
      g_assert_true (g_input_stream_is_closed (message));
    }
}

typedef struct
{
  GInputStream     *stream;
  MbSenderDecision *decision;
  gint64            size_delta;
  GError           *error;
  gboolean          done;
} ApplyWait;

static void
on_apply_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  ApplyWait *wait = user_data;

  (void)source;
  wait->stream = mb_sender_policy_apply_finish (
      result, &wait->decision, &wait->size_delta, &wait->error);
  wait->done = TRUE;
}

/* The whole step in a thread: submission reads From:, decides and returns
 * the rewritten stream; the connector (KEEP) returns the message itself
 * without reading a byte. */
static void
test_apply_async (void)
{
  const char *text = "From: Copier <copier@fabrikam.com>\r\nSubject: s\r\n"
                     "\r\nbody\r\n";
  g_autoptr (MbSenderPolicyConfig) submission
      = make_config (MB_ROUTE_METHOD_SUBMISSION, TRUE, TRUE);
  g_autoptr (MbSenderPolicyConfig) connector
      = make_config (MB_ROUTE_METHOD_CONNECTOR, FALSE, TRUE);

  {
    g_autoptr (GInputStream) message
        = g_memory_input_stream_new_from_data (text, -1, NULL);
    ApplyWait        wait = { 0 };
    g_autofree char *out = NULL;
    gsize            len;

    mb_sender_policy_apply_async (submission, "copier@fabrikam.com", message,
                                  NULL, on_apply_cb, &wait);
    MB_TEST_WAIT_UNTIL (wait.done);
    g_assert_no_error (wait.error);
    g_assert_cmpstr (wait.decision->envelope_sender, ==, MAILBOX);
    g_assert_true (wait.decision->rewrite_from);
    out = g_malloc0 (4096);
    g_input_stream_read_all (wait.stream, out, 4095, &len, NULL, NULL);
    g_assert_cmpuint (len, ==, strlen (text) + (gsize)wait.size_delta);
    g_assert_true (g_str_has_prefix (
        out, "From: \"Copier (via Mailbridge)\" <" MAILBOX ">\r\n"));
    g_assert_true (g_str_has_suffix (out, "Subject: s\r\n\r\nbody\r\n"));
    g_object_unref (wait.stream);
    mb_sender_decision_free (wait.decision);
  }
  {
    g_autoptr (GInputStream) message
        = g_memory_input_stream_new_from_data (text, -1, NULL);
    ApplyWait wait = { 0 };

    mb_sender_policy_apply_async (connector, "copier@fabrikam.com", message,
                                  NULL, on_apply_cb, &wait);
    MB_TEST_WAIT_UNTIL (wait.done);
    g_assert_no_error (wait.error);
    g_assert_true (wait.stream == message);
    g_assert_cmpint (wait.size_delta, ==, 0);
    g_assert_false (wait.decision->rewrite_from);
    g_assert_cmpint (g_seekable_tell (G_SEEKABLE (message)), ==, 0);
    g_object_unref (wait.stream);
    mb_sender_decision_free (wait.decision);
  }
}

/* get_from() unfolds a folded From:, keeps 8-bit text, and returns NULL
 * without one. */
static void
test_get_from (void)
{
  g_autoptr (GBytes) folded = bytes_from_string (
      "Subject: a\r\nFrom: \"Jürgen\"\r\n\t<j@fabrikam.com>\r\n\r\n");
  g_autoptr (GBytes) none = bytes_from_string ("Subject: a\r\n\r\n");
  g_autoptr (GBytes) empty = bytes_from_string ("\r\nFrom: body@x\r\n");
  g_autofree char *from = mb_sender_policy_get_from (folded);
  g_autofree char *no_from = mb_sender_policy_get_from (none);
  g_autofree char *body_from = mb_sender_policy_get_from (empty);

  g_assert_cmpstr (from, ==, "\"Jürgen\" <j@fabrikam.com>");
  g_assert_null (no_from);
  g_assert_null (body_from);
}

int
main (int argc, char *argv[])
{
  g_test_init (&argc, &argv, NULL);
  g_mime_init ();

  g_test_add_func ("/relay/sender-policy/decide/table", test_decide_table);
  g_test_add_func ("/relay/sender-policy/decide/display-name",
                   test_decide_display_name);
  g_test_add_func ("/relay/sender-policy/config/defaults", test_config);
  g_test_add_func ("/relay/sender-policy/rewrite/keeps-bytes",
                   test_rewrite_keeps_bytes);
  g_test_add_func ("/relay/sender-policy/rewrite/reply-to-and-missing-from",
                   test_rewrite_reply_to_and_missing_from);
  g_test_add_func ("/relay/sender-policy/rewrite/display-names",
                   test_rewrite_display_names);
  g_test_add_func ("/relay/sender-policy/read-header/boundaries",
                   test_read_header_boundaries);
  g_test_add_func ("/relay/sender-policy/read-header/limits",
                   test_read_header_limits);
  g_test_add ("/relay/sender-policy/stream/large-body", LargeFixture, NULL,
              large_setup, test_stream_large_body, large_teardown);
  g_test_add_func ("/relay/sender-policy/apply/async", test_apply_async);
  g_test_add_func ("/relay/sender-policy/get-from", test_get_from);

  return g_test_run ();
}
