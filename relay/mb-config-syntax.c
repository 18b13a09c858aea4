/* mb-config-syntax.c - the syntax of configuration values
 *
 * What it does: turns one configuration value (text) into what the relay
 * stores: a socket address, an address mask, seconds, bytes, a number, a
 * rate, a normalised name or address; or refuses it with a message that
 * quotes the value and says what is allowed.
 *
 * Guarantees:
 * - Pure: no I/O, no name lookup, no global state; thread-safe.  Host
 *   names where the relay binds or matches clients are refused, never
 *   resolved: "127.1" or "0x7f.0.0.1" (getaddrinfo() forms) too.
 * - Numbers are decimal digits only: no sign, no spaces, no exponent, and
 *   overflow is a refusal, never a wrap.
 * - An allow range never covers more than /8 (IPv4) or /7 (IPv6, fc00::/7
 *   is the widest private range): no open relay by typo.
 * - Messages quote the value with control characters escaped, so a log or
 *   a terminal shows what the file holds.
 *
 * What it does not do: read key files (mb-keyfile-scan), know keys,
 * defaults or the relations between keys (mb-relay-config).
 *
 * Standards: RFC 1035 2.3.4 and RFC 1123 2.1 (host names), RFC 5890
 * (internationalized names as A-labels), RFC 5321 4.1.2 and RFC 6531
 * (Mailbox), RFC 4291 2.5.5.2 (IPv4-mapped IPv6 addresses), RFC 4632
 * (CIDR notation), RFC 3986 (the authority URL).
 */
#define G_LOG_DOMAIN "mb-config-syntax"

#include "mb-config-syntax.h"

#include "mb-smtp-parser.h"

#include <string.h>

#define LISTEN_HINT "use e.g. 192.168.1.10:25 or [::1]:2525"
#define NAME_CHARS                                                             \
  "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-"
#define DAY G_GINT64_CONSTANT (86400)

GQuark
mb_config_syntax_error_quark (void)
{
  return g_quark_from_static_string ("mb-config-syntax-error-quark");
}

/* "“VALUE” detail", the value escaped. */
G_GNUC_PRINTF (3, 4)
static gboolean
refuse (GError **error, const char *value, const char *format, ...)
{
  va_list          args;
  g_autofree char *shown = NULL;
  g_autofree char *detail = NULL;

  if (error == NULL)
    return FALSE;
  va_start (args, format);
  detail = g_strdup_vprintf (format, args);
  va_end (args);
  shown = mb_config_syntax_escape (value);
  g_set_error (error, MB_CONFIG_SYNTAX_ERROR, MB_CONFIG_SYNTAX_ERROR_INVALID,
               "“%s” %s", shown, detail);
  return FALSE;
}

/* Digits only, at most @max. */
static gboolean
parse_uint (const char *text, guint64 max, guint64 *out)
{
  guint64 n = 0;

  if (!g_ascii_isdigit (*text))
    return FALSE;
  for (; g_ascii_isdigit (*text); text++)
    {
      guint digit = *text - '0';

      if (n > (max - digit) / 10)
        return FALSE;
      n = n * 10 + digit;
    }
  *out = n;
  return *text == '\0';
}

static gboolean
is_domain_name (const char *text)
{
  gsize len = strlen (text);
  gsize label = 0;

  if (len == 0 || len > 253)
    return FALSE;
  for (gsize i = 0; i <= len; i++)
    {
      if (text[i] == '.' || text[i] == '\0')
        {
          if (label == 0 || label > 63 || text[i - 1] == '-')
            return FALSE;
          label = 0;
        }
      else if (g_ascii_isalnum (text[i]) || (text[i] == '-' && label > 0))
        label++;
      else
        return FALSE;
    }
  return TRUE;
}

static gboolean
is_v4_mapped (GInetAddress *address)
{
  static const guint8 prefix[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

  return g_inet_address_get_family (address) == G_SOCKET_FAMILY_IPV6
         && memcmp (g_inet_address_to_bytes (address), prefix, 12) == 0;
}

/* Seconds, at most G_MAXINT64. */
static gboolean
scan_duration (const char *text, gint64 *seconds)
{
  static const struct
  {
    char   unit;
    gint64 factor;
  } units[] = {
    { 's', 1 }, { 'm', 60 }, { 'h', 3600 }, { 'd', DAY }, { 'w', 7 * DAY }
  };
  const char      *unit = text + strspn (text, "0123456789");
  g_autofree char *digits = NULL;
  gint64           factor = 1;
  guint64          n;

  if (unit == text || (unit[0] != '\0' && unit[1] != '\0'))
    return FALSE;
  if (unit[0] != '\0')
    {
      gsize i;

      for (i = 0; i < G_N_ELEMENTS (units) && units[i].unit != unit[0]; i++)
        ;
      if (i == G_N_ELEMENTS (units))
        return FALSE;
      factor = units[i].factor;
    }
  digits = g_strndup (text, unit - text);
  if (!parse_uint (digits, G_MAXINT64 / factor, &n))
    return FALSE;
  *seconds = (gint64)n * factor;
  return TRUE;
}

static gboolean
scan_size (const char *text, guint64 *bytes)
{
  static const struct
  {
    const char *suffix;
    guint       shift;
  } units[] = { { "", 0 },     { "B", 0 },   { "K", 10 },   { "KB", 10 },
                { "KiB", 10 }, { "M", 20 },  { "MB", 20 },  { "MiB", 20 },
                { "G", 30 },   { "GB", 30 }, { "GiB", 30 }, { "T", 40 },
                { "TB", 40 },  { "TiB", 40 } };
  const char      *suffix = text + strspn (text, "0123456789");
  g_autofree char *digits = g_strndup (text, suffix - text);
  guint64          n;

  for (gsize i = 0; i < G_N_ELEMENTS (units); i++)
    if (g_ascii_strcasecmp (suffix, units[i].suffix) == 0)
      {
        if (!parse_uint (digits, G_MAXUINT64 >> units[i].shift, &n))
          return FALSE;
        *bytes = n << units[i].shift;
        return TRUE;
      }
  return FALSE;
}

/* Values, with their messages */

/* (nullable) On failure @problem says why, to follow the quoted value. */
static GSocketAddress *
parse_socket_address (const char *text, const char **problem)
{
  const char      *port_text;
  const char      *bracket = strchr (text, ']');
  const char      *colon = strrchr (text, ':');
  g_autofree char *host = NULL;
  g_autoptr (GInetAddress) address = NULL;
  guint64 port;

  *problem = "is not an IP address and port; " LISTEN_HINT;
  if (text[0] == '[')
    {
      if (bracket == NULL || (bracket[1] != ':' && bracket[1] != '\0'))
        return NULL;
      host = g_strndup (text + 1, bracket - text - 1);
      port_text = bracket[1] == ':' ? bracket + 2 : NULL;
      if (strchr (host, ':') == NULL)
        return NULL;
    }
  else if (colon != NULL && strchr (text, ':') != colon)
    {
      *problem = "is not an IP address and port; write IPv6 addresses in "
                 "brackets, e.g. [::1]:2525";
      return NULL;
    }
  else
    {
      host = colon != NULL ? g_strndup (text, colon - text) : g_strdup (text);
      port_text = colon != NULL ? colon + 1 : NULL;
    }

  if (strchr (host, '%') != NULL)
    {
      /* Link-local IPv6 with a scope: GLib resolves it numerically. */
      g_autofree char *bare = g_strndup (host, strchr (host, '%') - host);
      g_autoptr (GInetAddress) check = g_inet_address_new_from_string (bare);

      if (check == NULL
          || g_inet_address_get_family (check) != G_SOCKET_FAMILY_IPV6)
        return NULL;
    }
  /* inet_pton() rules, not getaddrinfo()'s: "127.1" or "0x7f.0.0.1" would
   * bind somewhere the admin did not write. */
  else if ((address = g_inet_address_new_from_string (host)) == NULL)
    {
      if (is_domain_name (host))
        *problem = "is not an IP address and port; host names are not looked "
                   "up here, use an IP address, e.g. 192.168.1.10:25 or "
                   "[::1]:2525";
      return NULL;
    }

  if (port_text == NULL)
    {
      *problem = "has no port; " LISTEN_HINT;
      return NULL;
    }
  if (!parse_uint (port_text, 65535, &port) || port == 0)
    {
      *problem = "has no valid port (1 to 65535); " LISTEN_HINT;
      return NULL;
    }
  if (address != NULL)
    return g_inet_socket_address_new (address, port);
  /* NULL for a scope that names no interface here. */
  return g_inet_socket_address_new_from_string (host, port);
}

GInetSocketAddress *
mb_config_syntax_parse_listen (const char *text, GError **error)
{
  const char     *problem;
  GSocketAddress *address;

  g_return_val_if_fail (text != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  address = parse_socket_address (text, &problem);
  if (address == NULL)
    {
      refuse (error, text, "%s", problem);
      return NULL;
    }
  return G_INET_SOCKET_ADDRESS (address);
}

/* The network of @address/@length: its host bits cleared. */
static char *
format_network (GInetAddress *address, guint length)
{
  guint  bits = g_inet_address_get_native_size (address) * 8;
  guint8 bytes[16];
  g_autoptr (GInetAddress) net = NULL;
  g_autofree char *net_text = NULL;

  memcpy (bytes, g_inet_address_to_bytes (address), bits / 8);
  for (guint i = length; i < bits; i++)
    bytes[i / 8] &= ~(0x80 >> (i % 8));
  net = g_inet_address_new_from_bytes (bytes,
                                       g_inet_address_get_family (address));
  net_text = g_inet_address_to_string (net);
  return g_strdup_printf ("%s/%u", net_text, length);
}

/* (nullable) If only host bits are wrong, @network gets the range probably
 * meant. */
static GInetAddressMask *
parse_mask (const char *text, char **network)
{
  const char      *slash = strchr (text, '/');
  g_autofree char *ip
      = slash != NULL ? g_strndup (text, slash - text) : g_strdup (text);
  g_autoptr (GInetAddress) address = g_inet_address_new_from_string (ip);
  GInetAddressMask *mask;
  guint64           length;

  if (address == NULL)
    return NULL;
  length = g_inet_address_get_native_size (address) * 8;
  if (slash != NULL && !parse_uint (slash + 1, length, &length))
    return NULL;
  /* Clients are matched as IPv4 when mapped, so a mapped range must be
   * IPv4 too, or it would never match. */
  if (is_v4_mapped (address) && length >= 96)
    {
      GInetAddress *v4 = mb_config_syntax_unmap_ipv4 (address);

      g_object_unref (address);
      address = v4;
      length -= 96;
    }
  mask = g_inet_address_mask_new (address, length, NULL);
  if (mask == NULL)
    *network = format_network (address, length);
  return mask;
}

GInetAddressMask *
mb_config_syntax_parse_allow (const char *text, GError **error)
{
  g_autofree char *network = NULL;
  g_autoptr (GInetAddressMask) mask = NULL;
  guint widest;

  g_return_val_if_fail (text != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  mask = parse_mask (text, &network);
  if (mask == NULL && network != NULL)
    refuse (error, text, "has host bits set; use %s", network);
  else if (mask == NULL)
    refuse (error, text,
            "is not an IP address or CIDR range; use e.g. 192.168.1.0/24, "
            "10.0.0.5 or fd00::/8");
  if (mask == NULL)
    return NULL;
  /* fc00::/7 (unique local) is the widest private IPv6 range. */
  widest
      = g_inet_address_mask_get_family (mask) == G_SOCKET_FAMILY_IPV4 ? 8 : 7;
  if (g_inet_address_mask_get_length (mask) < widest)
    {
      refuse (error, text,
              "is too wide: it would let much of the Internet relay through "
              "Mailbridge (an open relay); list your LAN ranges, e.g. "
              "192.168.1.0/24");
      return NULL;
    }
  return g_steal_pointer (&mask);
}

gboolean
mb_config_syntax_parse_duration (const char *text,
                                 gint64      min,
                                 gint64      max,
                                 gint64     *seconds,
                                 GError    **error)
{
  gint64 value;

  g_return_val_if_fail (text != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (!scan_duration (text, &value) || value < min || value > max)
    {
      g_autofree char *min_text = mb_config_syntax_format_duration (min);
      g_autofree char *max_text = mb_config_syntax_format_duration (max);

      return refuse (error, text,
                     "is not allowed; use a duration from %s to %s: seconds, "
                     "or a number with s, m, h, d or w, e.g. 90s, 5m, 4h, 2d",
                     min_text, max_text);
    }
  if (seconds != NULL)
    *seconds = value;
  return TRUE;
}

gboolean
mb_config_syntax_parse_size (const char *text,
                             guint64     min,
                             guint64     max,
                             guint64    *bytes,
                             GError    **error)
{
  guint64 value;

  g_return_val_if_fail (text != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (!scan_size (text, &value) || value < min || value > max)
    {
      g_autofree char *min_text = mb_config_syntax_format_size (min);
      g_autofree char *max_text = mb_config_syntax_format_size (max);

      return refuse (error, text,
                     "is not allowed; use a size from %s to %s in bytes or "
                     "with K, M or G (binary multiples), e.g. 35M",
                     min_text, max_text);
    }
  if (bytes != NULL)
    *bytes = value;
  return TRUE;
}

gboolean
mb_config_syntax_parse_number (const char *text,
                               guint64     min,
                               guint64     max,
                               guint64    *number,
                               GError    **error)
{
  guint64 value;

  g_return_val_if_fail (text != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (!parse_uint (text, G_MAXUINT64, &value) || value < min || value > max)
    return refuse (error, text,
                   "is not allowed; use a whole number from "
                   "%" G_GUINT64_FORMAT " to %" G_GUINT64_FORMAT,
                   min, max);
  if (number != NULL)
    *number = value;
  return TRUE;
}

gboolean
mb_config_syntax_parse_rate (const char *text,
                             guint       max_count,
                             gint64      max_window,
                             guint      *count,
                             gint64     *window,
                             GError    **error)
{
  const char      *slash;
  g_autofree char *count_text = NULL;
  guint64          n;
  gint64           seconds;

  g_return_val_if_fail (text != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  slash = strchr (text, '/');
  if (slash != NULL)
    count_text = g_strndup (text, slash - text);
  if (slash == NULL || !parse_uint (count_text, max_count, &n) || n == 0
      || !scan_duration (slash + 1, &seconds) || seconds < 1
      || seconds > max_window)
    {
      g_autofree char *max_text = mb_config_syntax_format_duration (max_window);

      return refuse (error, text,
                     "is not allowed; use COUNT/DURATION, at most COUNT "
                     "messages per DURATION, with COUNT from 1 to %u and "
                     "DURATION from 1s to %s, e.g. 30/1m",
                     max_count, max_text);
    }
  if (count != NULL)
    *count = n;
  if (window != NULL)
    *window = seconds;
  return TRUE;
}

gboolean
mb_config_syntax_parse_choice (const char        *text,
                               const char *const *choices,
                               guint             *index,
                               GError           **error)
{
  g_autofree char *allowed = NULL;

  g_return_val_if_fail (text != NULL, FALSE);
  g_return_val_if_fail (choices != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  for (guint i = 0; choices[i] != NULL; i++)
    if (strcmp (text, choices[i]) == 0)
      {
        if (index != NULL)
          *index = i;
        return TRUE;
      }
  allowed = mb_config_syntax_format_choices (choices);
  return refuse (error, text, "is not allowed; use %s", allowed);
}

/* Text values */

char *
mb_config_syntax_normalize_hostname (const char *text)
{
  g_autofree char *ascii = NULL;

  g_return_val_if_fail (text != NULL, NULL);

  ascii = g_hostname_is_non_ascii (text) ? g_hostname_to_ascii (text)
                                         : g_strdup (text);
  return ascii != NULL && is_domain_name (ascii) ? g_steal_pointer (&ascii)
                                                 : NULL;
}

char *
mb_config_syntax_normalize_host (const char *text)
{
  g_autoptr (GInetAddress) address = NULL;

  g_return_val_if_fail (text != NULL, NULL);

  address = g_inet_address_new_from_string (text);
  return address != NULL ? g_strdup (text)
                         : mb_config_syntax_normalize_hostname (text);
}

char *
mb_config_syntax_normalize_domain (const char *text)
{
  char *domain = mb_config_syntax_normalize_hostname (text);

  if (domain != NULL && strchr (domain, '.') == NULL)
    g_clear_pointer (&domain, g_free);
  return domain;
}

/* A GUID is a valid DNS label: one check covers IDs and domains. */
char *
mb_config_syntax_normalize_tenant (const char *text)
{
  g_return_val_if_fail (text != NULL, NULL);

  return is_domain_name (text) ? g_strdup (text) : NULL;
}

/* These addresses go into SMTP envelopes, so the SMTP parser's own check
 * applies. */
char *
mb_config_syntax_normalize_mailbox (const char *text)
{
  g_return_val_if_fail (text != NULL, NULL);

  return strchr (text, '@') != NULL
                 && mb_smtp_parser_is_valid_mailbox (text, TRUE)
             ? g_strdup (text)
             : NULL;
}

char *
mb_config_syntax_normalize_client_id (const char *text)
{
  gsize len;

  g_return_val_if_fail (text != NULL, NULL);

  len = strlen (text);
  return len > 0 && len <= 256
                 && strspn (
                        text,
                        "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                        "0123456789-._~")
                        == len
             ? g_strdup (text)
             : NULL;
}

/* Paths get "/{tenant}/oauth2/v2.0/..." appended, so trailing slashes
 * go. */
char *
mb_config_syntax_normalize_authority (const char *text)
{
  g_autoptr (GUri) uri = NULL;
  gsize len;

  g_return_val_if_fail (text != NULL, NULL);

  uri = g_uri_parse (text, G_URI_FLAGS_NONE, NULL);
  len = strlen (text);
  if (uri == NULL || g_ascii_strcasecmp (g_uri_get_scheme (uri), "https") != 0
      || g_uri_get_host (uri) == NULL || *g_uri_get_host (uri) == '\0'
      || g_uri_get_userinfo (uri) != NULL || g_uri_get_query (uri) != NULL
      || g_uri_get_fragment (uri) != NULL)
    return NULL;
  while (len > 0 && text[len - 1] == '/')
    len--;
  return g_strndup (text, len);
}

gboolean
mb_config_syntax_is_name (const char *text)
{
  gsize len;

  g_return_val_if_fail (text != NULL, FALSE);

  len = strlen (text);
  return len > 0 && len <= 64 && strspn (text, NAME_CHARS) == len;
}

/* Helpers for messages and matching */

char *
mb_config_syntax_escape (const char *value)
{
  GString *out;

  g_return_val_if_fail (value != NULL, NULL);

  out = g_string_new (NULL);
  for (const char *p = value; *p != '\0'; p++)
    if ((guchar)*p < 0x20 || *p == 0x7f)
      g_string_append_printf (out, "\\x%02x", (guchar)*p);
    else
      g_string_append_c (out, *p);
  return g_string_free (out, FALSE);
}

char *
mb_config_syntax_format_choices (const char *const *choices)
{
  GString *out;

  g_return_val_if_fail (choices != NULL, NULL);

  out = g_string_new (NULL);
  for (gsize i = 0; choices[i] != NULL; i++)
    {
      if (i > 0)
        g_string_append (out, choices[i + 1] == NULL ? " or " : ", ");
      g_string_append (out, choices[i]);
    }
  return g_string_free (out, FALSE);
}

char *
mb_config_syntax_format_duration (gint64 seconds)
{
  static const struct
  {
    gint64 factor;
    char   unit;
  } units[] = { { 7 * DAY, 'w' }, { DAY, 'd' }, { 3600, 'h' }, { 60, 'm' } };

  for (gsize i = 0; i < G_N_ELEMENTS (units); i++)
    if (seconds > 0 && seconds % units[i].factor == 0)
      return g_strdup_printf ("%" G_GINT64_FORMAT "%c",
                              seconds / units[i].factor, units[i].unit);
  return g_strdup_printf ("%" G_GINT64_FORMAT "s", seconds);
}

char *
mb_config_syntax_format_size (guint64 bytes)
{
  static const char units[] = "GMK";

  for (gsize i = 0; i < 3; i++)
    {
      guint64 factor = (guint64)1 << (10 * (3 - i));

      if (bytes > 0 && bytes % factor == 0)
        return g_strdup_printf ("%" G_GUINT64_FORMAT "%c", bytes / factor,
                                units[i]);
    }
  return g_strdup_printf ("%" G_GUINT64_FORMAT, bytes);
}

GInetAddress *
mb_config_syntax_unmap_ipv4 (GInetAddress *address)
{
  g_return_val_if_fail (G_IS_INET_ADDRESS (address), NULL);

  if (!is_v4_mapped (address))
    return g_object_ref (address);
  return g_inet_address_new_from_bytes (g_inet_address_to_bytes (address) + 12,
                                        G_SOCKET_FAMILY_IPV4);
}
