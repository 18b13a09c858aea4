/* test-config-syntax.c - unit tests of mb-config-syntax
 *
 * Each value syntax on its own: listen addresses, allow ranges, durations,
 * sizes, numbers, rates, choices, the text normalisers, and the message
 * helpers.  How the relay's keys use them (group, key, line in messages) is
 * tested in test-relay-config.c.
 */
#include "mb-config-syntax.h"

#include <string.h>

/* Asserts @error is INVALID, its message starts with the quoted @value and
 * contains @needle (if not NULL). */
static void
assert_refused (const GError *error, const char *value, const char *needle)
{
  g_autofree char *quoted = g_strdup_printf ("“%s” ", value);

  g_assert_error (error, MB_CONFIG_SYNTAX_ERROR,
                  MB_CONFIG_SYNTAX_ERROR_INVALID);
  if (!g_str_has_prefix (error->message, quoted))
    g_test_fail_printf ("“%s” does not start with %s", error->message, quoted);
  if (needle != NULL && strstr (error->message, needle) == NULL)
    g_test_fail_printf ("“%s” does not contain “%s”", error->message, needle);
}

/* Listen addresses */

/* IPv4, bracketed IPv6 and scoped link-local addresses with a port are
 * accepted; the stored address is the one written. */
static void
test_listen_good (void)
{
  static const struct
  {
    const char *text;
    const char *address; /* as g_socket_connectable_to_string() gives it */
  } cases[] = {
    { "192.168.1.10:25", "192.168.1.10:25" },
    { "0.0.0.0:2525", "0.0.0.0:2525" },
    { "[::1]:2525", "[::1]:2525" },
    { "[::]:25", "[::]:25" },
    { "127.0.0.1:65535", "127.0.0.1:65535" },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr (GError) error = NULL;
      g_autoptr (GInetSocketAddress) address
          = mb_config_syntax_parse_listen (cases[i].text, &error);
      g_autofree char *text = NULL;

      g_test_message ("%s", cases[i].text);
      g_assert_no_error (error);
      text = g_socket_connectable_to_string (G_SOCKET_CONNECTABLE (address));
      g_assert_cmpstr (text, ==, cases[i].address);
    }
}

/* Host names, missing or bad ports, unbracketed IPv6 and getaddrinfo()-only
 * forms are refused with the reason. */
static void
test_listen_bad (void)
{
  static const struct
  {
    const char *text;
    const char *needle;
  } cases[] = {
    { "localhost:25", "host names are not looked up" },
    { "relay.example.com:25", "host names are not looked up" },
    { "127.0.0.1", "has no port" },
    { "[::1]", "has no port" },
    { "127.0.0.1:0", "has no valid port (1 to 65535)" },
    { "127.0.0.1:65536", "has no valid port" },
    { "127.0.0.1:-1", "has no valid port" },
    { "127.0.0.1:25x", "has no valid port" },
    { "127.0.0.1:", "has no valid port" },
    { "::1:25", "brackets" },
    { "[127.0.0.1]:25", "is not an IP address and port" },
    { "[::1:25", "is not an IP address and port" },
    { "[::1]x25", "is not an IP address and port" },
    { "127.1:25", "is not an IP address and port" },
    { "0x7f.0.0.1:25", "is not an IP address and port" },
    { "1.2.3:25", "is not an IP address and port" },
    { "[127.0.0.1%lo]:25", "is not an IP address and port" },
    { "", "is not an IP address and port" },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr (GError) error = NULL;
      g_autoptr (GInetSocketAddress) address
          = mb_config_syntax_parse_listen (cases[i].text, &error);

      g_test_message ("%s", cases[i].text);
      g_assert_null (address);
      assert_refused (error, cases[i].text, cases[i].needle);
    }
}

/* Allow ranges */

/* Addresses and CIDR ranges are accepted; a single address is a /32 or
 * /128; an IPv4-mapped range becomes the IPv4 range. */
static void
test_allow_good (void)
{
  static const struct
  {
    const char *text;
    const char *mask;
  } cases[] = {
    { "192.168.1.0/24", "192.168.1.0/24" },
    { "10.0.0.5", "10.0.0.5" },
    { "fd00::/8", "fd00::/8" },
    { "::1/128", "::1" },
    { "10.0.0.0/8", "10.0.0.0/8" },
    { "fc00::/7", "fc00::/7" },
    { "::ffff:172.16.0.0/108", "172.16.0.0/12" },
    { "::ffff:10.1.2.3", "10.1.2.3" },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr (GError) error = NULL;
      g_autoptr (GInetAddressMask) mask
          = mb_config_syntax_parse_allow (cases[i].text, &error);
      g_autofree char *text = NULL;

      g_test_message ("%s", cases[i].text);
      g_assert_no_error (error);
      text = g_inet_address_mask_to_string (mask);
      g_assert_cmpstr (text, ==, cases[i].mask);
    }
}

/* Names, bad lengths, host bits (with the range meant) and ranges that
 * would make an open relay are refused. */
static void
test_allow_bad (void)
{
  static const struct
  {
    const char *text;
    const char *needle;
  } cases[] = {
    { "192.168.1.5/24", "has host bits set; use 192.168.1.0/24" },
    { "fd00::1/8", "use fd00::/8" },
    { "::ffff:10.0.0.1/104", "use 10.0.0.0/8" },
    { "example.com", "is not an IP address or CIDR range" },
    { "10.0.0.0/33", "is not an IP address or CIDR range" },
    { "10.0.0.0/", "is not an IP address or CIDR range" },
    { "10.0.0.0/8x", "is not an IP address or CIDR range" },
    { "10.0.0.0/-8", "is not an IP address or CIDR range" },
    { "", "is not an IP address or CIDR range" },
    { "0.0.0.0/0", "open relay" },
    { "2.0.0.0/7", "open relay" },
    { "::/0", "open relay" },
    { "fc00::/6", "open relay" },
    { "::ffff:0.0.0.0/96", "open relay" },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr (GError) error = NULL;
      g_autoptr (GInetAddressMask) mask
          = mb_config_syntax_parse_allow (cases[i].text, &error);

      g_test_message ("%s", cases[i].text);
      g_assert_null (mask);
      assert_refused (error, cases[i].text, cases[i].needle);
    }
}

/* An IPv4-mapped client is unmapped; others come back as they are. */
static void
test_allow_unmap (void)
{
  static const struct
  {
    const char *in;
    const char *out;
  } cases[] = {
    { "::ffff:192.168.1.7", "192.168.1.7" },
    { "192.168.1.7", "192.168.1.7" },
    { "::1", "::1" },
    { "::192.168.1.7", "::192.168.1.7" },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr (GInetAddress) in
          = g_inet_address_new_from_string (cases[i].in);
      g_autoptr (GInetAddress) out = mb_config_syntax_unmap_ipv4 (in);
      g_autofree char *text = g_inet_address_to_string (out);

      g_assert_cmpstr (text, ==, cases[i].out);
    }
}

/* Durations, sizes, numbers */

/* The duration syntax: units s m h d w or plain seconds; no sign, no
 * spaces, no overflow. */
static void
test_duration_syntax (void)
{
  static const struct
  {
    const char *text;
    gboolean    ok;
    gint64      seconds;
  } cases[] = {
    { "0", TRUE, 0 },
    { "90", TRUE, 90 },
    { "90s", TRUE, 90 },
    { "5m", TRUE, 300 },
    { "2h", TRUE, 7200 },
    { "2d", TRUE, 172800 },
    { "1w", TRUE, 604800 },
    { "007m", TRUE, 420 },
    { "9223372036854775807", TRUE, G_MAXINT64 },
    { "9223372036854775808", FALSE },
    { "15250284452472w", FALSE },
    { "15250284452471w", TRUE, G_GINT64_CONSTANT (15250284452471) * 604800 },
    { "", FALSE },
    { "m", FALSE },
    { "-5m", FALSE },
    { "+5m", FALSE },
    { "5 m", FALSE },
    { " 5m", FALSE },
    { "5m ", FALSE },
    { "5M", FALSE },
    { "5ms", FALSE },
    { "1h30m", FALSE },
    { "5y", FALSE },
    { "0x10", FALSE },
    { "1.5h", FALSE },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      gint64 seconds = -1;

      g_test_message ("%s", cases[i].text);
      g_assert_cmpint (mb_config_syntax_parse_duration (
                           cases[i].text, 0, G_MAXINT64, &seconds, NULL),
                       ==, cases[i].ok);
      if (cases[i].ok)
        g_assert_cmpint (seconds, ==, cases[i].seconds);
      else
        g_assert_cmpint (seconds, ==, -1);
    }
}

/* Bounds are inclusive, and a refusal names them in their largest unit. */
static void
test_duration_bounds (void)
{
  g_autoptr (GError) error = NULL;
  gint64 seconds = 0;

  g_assert_true (
      mb_config_syntax_parse_duration ("1s", 1, 86400, &seconds, NULL));
  g_assert_cmpint (seconds, ==, 1);
  g_assert_true (
      mb_config_syntax_parse_duration ("1d", 1, 86400, &seconds, NULL));
  g_assert_cmpint (seconds, ==, 86400);
  g_assert_true (mb_config_syntax_parse_duration ("5m", 1, 86400, NULL, NULL));

  g_assert_false (
      mb_config_syntax_parse_duration ("86401", 1, 86400, &seconds, &error));
  assert_refused (error, "86401",
                  "is not allowed; use a duration from 1s to 1d: seconds, or "
                  "a number with s, m, h, d or w, e.g. 90s, 5m, 4h, 2d");
  g_clear_error (&error);
  g_assert_false (
      mb_config_syntax_parse_duration ("0", 1, 604800, &seconds, &error));
  assert_refused (error, "0", "from 1s to 1w");
  g_assert_cmpint (seconds, ==, 86400);
}

/* The size syntax: bytes, or K M G T with optional B or iB, binary
 * multiples, any case; no sign, no spaces, no overflow. */
static void
test_size_syntax (void)
{
  static const struct
  {
    const char *text;
    gboolean    ok;
    guint64     bytes;
  } cases[] = {
    { "0", TRUE, 0 },
    { "1024", TRUE, 1024 },
    { "1024B", TRUE, 1024 },
    { "512K", TRUE, 512 * 1024 },
    { "512kb", TRUE, 512 * 1024 },
    { "35M", TRUE, 35 * 1024 * 1024 },
    { "35MB", TRUE, 35 * 1024 * 1024 },
    { "20MiB", TRUE, 20 * 1024 * 1024 },
    { "20mib", TRUE, 20 * 1024 * 1024 },
    { "1G", TRUE, G_GUINT64_CONSTANT (1) << 30 },
    { "2GiB", TRUE, G_GUINT64_CONSTANT (2) << 30 },
    { "3T", TRUE, G_GUINT64_CONSTANT (3) << 40 },
    { "18446744073709551615", TRUE, G_MAXUINT64 },
    { "18446744073709551616", FALSE },
    { "16777216T", FALSE },
    { "16777215T", TRUE, G_GUINT64_CONSTANT (16777215) << 40 },
    { "", FALSE },
    { "M", FALSE },
    { "-1", FALSE },
    { "+1", FALSE },
    { "1 M", FALSE },
    { "1.5M", FALSE },
    { "35X", FALSE },
    { "35MiBs", FALSE },
    { "35iB", FALSE },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      guint64 bytes = 1;

      g_test_message ("%s", cases[i].text);
      g_assert_cmpint (mb_config_syntax_parse_size (cases[i].text, 0,
                                                    G_MAXUINT64, &bytes, NULL),
                       ==, cases[i].ok);
      if (cases[i].ok)
        g_assert_cmpuint (bytes, ==, cases[i].bytes);
      else
        g_assert_cmpuint (bytes, ==, 1);
    }
}

/* Size bounds are inclusive, and a refusal names them with K, M, G. */
static void
test_size_bounds (void)
{
  g_autoptr (GError) error = NULL;
  guint64 bytes = 0;

  g_assert_true (mb_config_syntax_parse_size (
      "1K", 1024, G_GUINT64_CONSTANT (2) << 30, &bytes, NULL));
  g_assert_cmpuint (bytes, ==, 1024);
  g_assert_true (mb_config_syntax_parse_size (
      "2G", 1024, G_GUINT64_CONSTANT (2) << 30, &bytes, NULL));
  g_assert_false (mb_config_syntax_parse_size (
      "1023", 1024, G_GUINT64_CONSTANT (2) << 30, &bytes, &error));
  assert_refused (error, "1023",
                  "is not allowed; use a size from 1K to 2G in bytes or with "
                  "K, M or G (binary multiples), e.g. 35M");
}

/* Numbers are decimal digits within the bounds, nothing else. */
static void
test_number (void)
{
  static const struct
  {
    const char *text;
    gboolean    ok;
  } cases[] = {
    { "1", TRUE },     { "50", TRUE },
    { "007", TRUE },   { "0", FALSE },
    { "51", FALSE },   { "-5", FALSE },
    { "+5", FALSE },   { "1e1", FALSE },
    { " 5", FALSE },   { "5 ", FALSE },
    { "", FALSE },     { "five", FALSE },
    { "0x10", FALSE }, { "18446744073709551616", FALSE },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr (GError) error = NULL;
      guint64  number = 0;
      gboolean ok = mb_config_syntax_parse_number (cases[i].text, 1, 50,
                                                   &number, &error);

      g_test_message ("%s", cases[i].text);
      g_assert_cmpint (ok, ==, cases[i].ok);
      if (ok)
        g_assert_cmpuint (number, ==,
                          g_ascii_strtoull (cases[i].text, NULL, 10));
      else
        assert_refused (error, cases[i].text,
                        "is not allowed; use a whole number from 1 to 50");
    }
}

/* Rates */

/* "COUNT/DURATION": Microsoft's 30 a minute, sub-minute windows for tests,
 * and the bounds; anything else is refused with the form expected. */
static void
test_rate (void)
{
  static const struct
  {
    const char *text;
    gboolean    ok;
    guint       count;
    gint64      window;
  } cases[] = {
    { "30/1m", TRUE, 30, 60 },
    { "30/2s", TRUE, 30, 2 },
    { "1/1", TRUE, 1, 1 },
    { "100000/1d", TRUE, 100000, 86400 },
    { "10000/86400", TRUE, 10000, 86400 },
    { "0/1m", FALSE },
    { "100001/1m", FALSE },
    { "30/0", FALSE },
    { "30/0s", FALSE },
    { "30/86401", FALSE },
    { "30/2d", FALSE },
    { "30", FALSE },
    { "30/", FALSE },
    { "/1m", FALSE },
    { "30/1m/2", FALSE },
    { "30 / 1m", FALSE },
    { "-30/1m", FALSE },
    { "30/1x", FALSE },
    { "30/-1m", FALSE },
    { "", FALSE },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr (GError) error = NULL;
      guint    count = 0;
      gint64   window = 0;
      gboolean ok = mb_config_syntax_parse_rate (cases[i].text, 100000, 86400,
                                                 &count, &window, &error);

      g_test_message ("%s", cases[i].text);
      g_assert_cmpint (ok, ==, cases[i].ok);
      if (ok)
        {
          g_assert_no_error (error);
          g_assert_cmpuint (count, ==, cases[i].count);
          g_assert_cmpint (window, ==, cases[i].window);
        }
      else
        {
          assert_refused (error, cases[i].text,
                          "use COUNT/DURATION, at most COUNT messages per "
                          "DURATION, with COUNT from 1 to 100000 and DURATION "
                          "from 1s to 1d, e.g. 30/1m");
          g_assert_cmpuint (count, ==, 0);
          g_assert_cmpint (window, ==, 0);
        }
    }
}

/* Choices */

/* A choice matches exactly (case too); a refusal lists the choices. */
static void
test_choice (void)
{
  static const char *const choices[]
      = { "keep", "rewrite-envelope", "rewrite-from", NULL };
  g_autoptr (GError) error = NULL;
  guint index = 99;

  g_assert_true (
      mb_config_syntax_parse_choice ("rewrite-from", choices, &index, NULL));
  g_assert_cmpuint (index, ==, 2);
  g_assert_true (mb_config_syntax_parse_choice ("keep", choices, NULL, NULL));
  g_assert_false (
      mb_config_syntax_parse_choice ("Keep", choices, &index, &error));
  assert_refused (error, "Keep",
                  "is not allowed; use keep, rewrite-envelope or "
                  "rewrite-from");
  g_assert_cmpuint (index, ==, 2);
}

/* Text values */

typedef char *(*NormalizeFunc) (const char *text);

typedef struct
{
  const char   *name;
  NormalizeFunc normalize;
  const char   *text;
  const char   *stored; /* NULL: refused */
} NormalizeCase;

static const NormalizeCase normalize_cases[] = {
  { "hostname", mb_config_syntax_normalize_hostname, "relay.example.com",
    "relay.example.com" },
  { "hostname", mb_config_syntax_normalize_hostname, "relay", "relay" },
  { "hostname", mb_config_syntax_normalize_hostname, "bücher.example",
    "xn--bcher-kva.example" },
  { "hostname", mb_config_syntax_normalize_hostname, "relay example", NULL },
  { "hostname", mb_config_syntax_normalize_hostname, "-bad.example", NULL },
  { "hostname", mb_config_syntax_normalize_hostname, "bad-.example", NULL },
  { "hostname", mb_config_syntax_normalize_hostname, "a..b", NULL },
  { "hostname", mb_config_syntax_normalize_hostname, "a.b.", NULL },
  { "hostname", mb_config_syntax_normalize_hostname, "relay:25", NULL },
  { "hostname", mb_config_syntax_normalize_hostname, "under_score.com", NULL },
  { "hostname", mb_config_syntax_normalize_hostname, "", NULL },
  { "hostname", mb_config_syntax_normalize_hostname,
    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.com",
    NULL },
  { "host", mb_config_syntax_normalize_host, "127.0.0.1", "127.0.0.1" },
  { "host", mb_config_syntax_normalize_host, "::1", "::1" },
  { "host", mb_config_syntax_normalize_host, "smtp.office365.com",
    "smtp.office365.com" },
  { "host", mb_config_syntax_normalize_host, "smtp.office365.com:587", NULL },
  { "domain", mb_config_syntax_normalize_domain, "contoso.com", "contoso.com" },
  { "domain", mb_config_syntax_normalize_domain, "contoso", NULL },
  { "tenant", mb_config_syntax_normalize_tenant,
    "9e5f94bc-e8a4-4e73-b8be-63364c29d753",
    "9e5f94bc-e8a4-4e73-b8be-63364c29d753" },
  { "tenant", mb_config_syntax_normalize_tenant, "contoso.onmicrosoft.com",
    "contoso.onmicrosoft.com" },
  { "tenant", mb_config_syntax_normalize_tenant, "con toso", NULL },
  { "mailbox", mb_config_syntax_normalize_mailbox, "scanner@contoso.com",
    "scanner@contoso.com" },
  { "mailbox", mb_config_syntax_normalize_mailbox, "scanner@bücher.example",
    "scanner@bücher.example" },
  { "mailbox", mb_config_syntax_normalize_mailbox, "scanner", NULL },
  { "mailbox", mb_config_syntax_normalize_mailbox,
    "Scanner <scanner@contoso.com>", NULL },
  { "mailbox", mb_config_syntax_normalize_mailbox, "a..b@contoso.com", NULL },
  { "client-id", mb_config_syntax_normalize_client_id, "abc-._~XYZ09",
    "abc-._~XYZ09" },
  { "client-id", mb_config_syntax_normalize_client_id, "has space", NULL },
  { "client-id", mb_config_syntax_normalize_client_id, "", NULL },
  { "authority", mb_config_syntax_normalize_authority,
    "https://login.example.test:8443/base//",
    "https://login.example.test:8443/base" },
  { "authority", mb_config_syntax_normalize_authority,
    "HTTPS://login.microsoftonline.com", "HTTPS://login.microsoftonline.com" },
  { "authority", mb_config_syntax_normalize_authority,
    "http://login.microsoftonline.com", NULL },
  { "authority", mb_config_syntax_normalize_authority, "https://", NULL },
  { "authority", mb_config_syntax_normalize_authority,
    "https://login.example.com/?q=1", NULL },
  { "authority", mb_config_syntax_normalize_authority,
    "https://login.example.com/#f", NULL },
  { "authority", mb_config_syntax_normalize_authority,
    "https://user@login.example.com", NULL },
};

/* Each normaliser stores the canonical form of what it accepts and
 * refuses the rest. */
static void
test_normalize (void)
{
  for (gsize i = 0; i < G_N_ELEMENTS (normalize_cases); i++)
    {
      const NormalizeCase *row = &normalize_cases[i];
      g_autofree char     *stored = row->normalize (row->text);

      g_test_message ("%s: %s", row->name, row->text);
      g_assert_cmpstr (stored, ==, row->stored);
    }
}

/* Names are 1 to 64 of letters, digits, '.', '_', '-'. */
static void
test_name (void)
{
  g_autofree char *longest = g_strnfill (64, 'a');
  g_autofree char *too_long = g_strnfill (65, 'a');

  g_assert_true (mb_config_syntax_is_name ("office365"));
  g_assert_true (mb_config_syntax_is_name ("a.b_c-d"));
  g_assert_true (mb_config_syntax_is_name (longest));
  g_assert_false (mb_config_syntax_is_name (too_long));
  g_assert_false (mb_config_syntax_is_name (""));
  g_assert_false (mb_config_syntax_is_name ("a b"));
  g_assert_false (mb_config_syntax_is_name ("bücher"));
  g_assert_false (mb_config_syntax_is_name ("a/b"));
}

/* Message helpers */

/* Control characters are escaped, UTF-8 text is kept, and quoted values in
 * messages are escaped. */
static void
test_escape (void)
{
  g_autofree char *escaped = mb_config_syntax_escape ("a\tb\x01\x7f ü");
  g_autoptr (GError) error = NULL;

  g_assert_cmpstr (escaped, ==, "a\\x09b\\x01\\x7f ü");
  g_assert_false (mb_config_syntax_parse_number ("1\t2", 1, 5, NULL, &error));
  assert_refused (error, "1\\x092", NULL);
}

/* Choices read "a, b or c"; durations and sizes use their largest exact
 * unit. */
static void
test_format (void)
{
  static const char *const one[] = { "a", NULL };
  static const char *const two[] = { "a", "b", NULL };
  static const char *const three[] = { "a", "b", "c", NULL };
  static const struct
  {
    gint64      seconds;
    const char *text;
  } durations[] = {
    { 0, "0s" },      { 59, "59s" },       { 60, "1m" },
    { 90, "90s" },    { 3600, "1h" },      { 86400, "1d" },
    { 604800, "1w" }, { 2 * 86400, "2d" }, { 365 * 86400, "365d" },
  };
  static const struct
  {
    guint64     bytes;
    const char *text;
  } sizes[] = {
    { 0, "0" },
    { 1023, "1023" },
    { 1024, "1K" },
    { 35 * 1024 * 1024, "35M" },
    { G_GUINT64_CONSTANT (2) << 30, "2G" },
    { 1536 * 1024, "1536K" },
  };
  g_autofree char *c1 = mb_config_syntax_format_choices (one);
  g_autofree char *c2 = mb_config_syntax_format_choices (two);
  g_autofree char *c3 = mb_config_syntax_format_choices (three);

  g_assert_cmpstr (c1, ==, "a");
  g_assert_cmpstr (c2, ==, "a or b");
  g_assert_cmpstr (c3, ==, "a, b or c");
  for (gsize i = 0; i < G_N_ELEMENTS (durations); i++)
    {
      g_autofree char *text
          = mb_config_syntax_format_duration (durations[i].seconds);

      g_assert_cmpstr (text, ==, durations[i].text);
    }
  for (gsize i = 0; i < G_N_ELEMENTS (sizes); i++)
    {
      g_autofree char *text = mb_config_syntax_format_size (sizes[i].bytes);

      g_assert_cmpstr (text, ==, sizes[i].text);
    }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/relay/config-syntax/listen/good", test_listen_good);
  g_test_add_func ("/relay/config-syntax/listen/bad", test_listen_bad);
  g_test_add_func ("/relay/config-syntax/allow/good", test_allow_good);
  g_test_add_func ("/relay/config-syntax/allow/bad", test_allow_bad);
  g_test_add_func ("/relay/config-syntax/allow/unmap", test_allow_unmap);
  g_test_add_func ("/relay/config-syntax/duration/syntax",
                   test_duration_syntax);
  g_test_add_func ("/relay/config-syntax/duration/bounds",
                   test_duration_bounds);
  g_test_add_func ("/relay/config-syntax/size/syntax", test_size_syntax);
  g_test_add_func ("/relay/config-syntax/size/bounds", test_size_bounds);
  g_test_add_func ("/relay/config-syntax/number/bounds", test_number);
  g_test_add_func ("/relay/config-syntax/rate/cases", test_rate);
  g_test_add_func ("/relay/config-syntax/choice/exact", test_choice);
  g_test_add_func ("/relay/config-syntax/text/normalize", test_normalize);
  g_test_add_func ("/relay/config-syntax/text/name", test_name);
  g_test_add_func ("/relay/config-syntax/message/escape", test_escape);
  g_test_add_func ("/relay/config-syntax/message/format", test_format);

  return g_test_run ();
}
