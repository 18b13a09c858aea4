/* mb-smtp-address.c - RFC 5321 mailbox and path syntax
 *
 * WHAT IT DOES
 *   Checks that a path of MAIL or RCPT (RFC 5321 4.1.2) holds a Mailbox:
 *   Local-part "@" (Domain / address-literal), the Local-part a Dot-string
 *   or a Quoted-string, the address literal an IPv4 or "IPv6:" address
 *   (4.1.3).  With SMTPUTF8 (RFC 6531 3.3) atext, qtext and domain labels
 *   may also hold UTF-8.  Part of the smtp-parser module: the internal
 *   entry point is in mb-smtp-parser-private.h, the public one is
 *   mb_smtp_parser_is_valid_mailbox().
 *
 * GUARANTEES
 *   An accepted path is within the limits of RFC 5321 4.5.3.1 (local part
 *   64, domain 255, path 256 octets counting its brackets; labels 63 as
 *   in RFC 1035 2.3.4), is ASCII unless SMTPUTF8 is in effect and then
 *   valid UTF-8, and holds no control character or space outside a
 *   quoted local part.  Refusal reasons are fixed English text.
 *
 * WHAT IT DOES NOT DO
 *   No DNS, no IDNA conversion, no case folding.  A source route
 *   "<@a,@b:u@x>" is checked and dropped (RFC 5321 4.1.2, Appendix C).
 *   General address literals with unregistered tags are refused.
 */
#define G_LOG_DOMAIN "mb-smtp-parser"

#include "mb-smtp-parser-private.h"

#include <string.h>

#define MAX_LOCAL_PART 64 /* RFC 5321 4.5.3.1.1 */
#define MAX_DOMAIN 255    /* RFC 5321 4.5.3.1.2 */
#define MAX_PATH 256      /* RFC 5321 4.5.3.1.3, brackets included */
#define MAX_LABEL 63      /* RFC 1035 2.3.4 */

/* RFC 5322 3.2.3 atext, widened by RFC 6531 3.3 to UTF-8 when @utf8. */
static gboolean
is_atext (guchar c, gboolean utf8)
{
  if (c >= 0x80)
    return utf8;
  return g_ascii_isalnum (c)
         || (c != '\0' && strchr ("!#$%&'*+-/=?^_`{|}~", c));
}

/* RFC 5321 4.1.2 qtextSMTP (RFC 6531 3.3 adds UTF-8). */
static gboolean
is_qtext (guchar c, gboolean utf8)
{
  if (c >= 0x80)
    return utf8;
  return c >= 32 && c <= 126 && c != '"' && c != '\\';
}

static gboolean
set_error (GError **error, MbSmtpParserError code, const char *message)
{
  g_set_error_literal (error, MB_SMTP_PARSER_ERROR, code, message);
  return FALSE;
}

/* Snum: 1*3DIGIT, 0..255 (RFC 5321 4.1.3). */
static gboolean
is_snum (const char *s, gsize n)
{
  guint value = 0;

  if (n == 0 || n > 3)
    return FALSE;
  for (gsize i = 0; i < n; i++)
    {
      if (!g_ascii_isdigit (s[i]))
        return FALSE;
      value = value * 10 + (guint)(s[i] - '0');
    }
  return value <= 255;
}

/* Snum "." Snum "." Snum "." Snum, each 0..255 (RFC 5321 4.1.3). */
static gboolean
is_ipv4 (const char *s, gsize n)
{
  gsize i = 0;

  for (guint part = 0; part < 4; part++)
    {
      gsize start = i;

      while (i < n && g_ascii_isdigit (s[i]))
        i++;
      if (!is_snum (s + start, i - start))
        return FALSE;
      if (part < 3)
        {
          if (i >= n || s[i] != '.')
            return FALSE;
          i++;
        }
    }
  return i == n;
}

/* RFC 5321 4.1.3 IPv6-addr: 8 groups, or fewer with one "::", the last two
 * groups possibly written as an IPv4 address.  "::" may stand for a single
 * group as RFC 4291 2.2 allows, a little wider than RFC 5321's grammar. */
static gboolean
is_ipv6 (const char *s, gsize n)
{
  guint    groups = 0;
  gboolean compressed = FALSE;
  gsize    i = 0;

  if (n >= 2 && s[0] == ':' && s[1] == ':')
    {
      compressed = TRUE;
      i = 2;
    }
  while (i < n)
    {
      gsize start = i;

      while (i < n && g_ascii_isxdigit (s[i]))
        i++;
      if (i < n && s[i] == '.')
        {
          if (!is_ipv4 (s + start, n - start))
            return FALSE;
          groups += 2;
          break;
        }
      if (i == start || i - start > 4)
        return FALSE;
      groups++;
      if (i == n)
        break;
      if (s[i++] != ':' || i == n)
        return FALSE;
      if (s[i] == ':')
        {
          if (compressed)
            return FALSE;
          compressed = TRUE;
          i++;
        }
    }
  return compressed ? groups <= 7 : groups == 8;
}

/* address-literal (RFC 5321 4.1.3).  General-address-literal tags other
 * than IPv6 are not registered, so they are refused. */
static gboolean
is_address_literal (const char *s, gsize n)
{
  if (n < 3 || s[0] != '[' || s[n - 1] != ']')
    return FALSE;
  s++;
  n -= 2;
  if (n > 5 && g_ascii_strncasecmp (s, "IPv6:", 5) == 0)
    return is_ipv6 (s + 5, n - 5);
  return is_ipv4 (s, n);
}

/* Domain or address-literal; returns the reason when it is not one. */
static const char *
check_domain (const char *s, gsize n, gboolean utf8, gboolean allow_literal)
{
  gsize    label_start = 0;
  gboolean label_utf8 = FALSE;

  if (n == 0)
    return "Missing domain in address";
  if (n > MAX_DOMAIN)
    return "Domain longer than 255 octets";
  if (s[0] == '[')
    {
      if (allow_literal && is_address_literal (s, n))
        return NULL;
      return "Bad address literal";
    }
  for (gsize i = 0; i <= n; i++)
    {
      guchar c = i < n ? (guchar)s[i] : '.';

      if (c == '.')
        {
          gsize len = i - label_start;

          if (len == 0)
            return "Empty label in domain";
          if (s[label_start] == '-' || s[i - 1] == '-')
            return "Domain label starts or ends with a hyphen";
          /* A U-label's limit applies to its A-label form, unknown here. */
          if (len > MAX_LABEL && !label_utf8)
            return "Domain label longer than 63 octets";
          label_start = i + 1;
          label_utf8 = FALSE;
        }
      else if (c >= 0x80 && utf8)
        label_utf8 = TRUE;
      else if (!g_ascii_isalnum (c) && c != '-')
        return "Bad character in domain";
    }
  return NULL;
}

/* Dot-string or Quoted-string (RFC 5321 4.1.2). */
static const char *
check_local_part (const char *s, gsize n, gboolean utf8)
{
  gboolean after_dot = TRUE;

  if (n == 0)
    return "Missing local part in address";
  if (n > MAX_LOCAL_PART)
    return "Local part longer than 64 octets";
  if (s[0] == '"')
    {
      if (n < 2 || s[n - 1] != '"')
        return "Bad quoted local part";
      for (gsize i = 1; i < n - 1; i++)
        {
          if (s[i] == '\\')
            {
              i++;
              if (i >= n - 1 || (guchar)s[i] < 32 || (guchar)s[i] > 126)
                return "Bad quoted local part";
            }
          else if (!is_qtext ((guchar)s[i], utf8))
            return "Bad quoted local part";
        }
      return NULL;
    }
  for (gsize i = 0; i < n; i++)
    {
      if (s[i] == '.')
        {
          if (after_dot)
            return "Misplaced dot in local part";
          after_dot = TRUE;
        }
      else if (is_atext ((guchar)s[i], utf8))
        after_dot = FALSE;
      else
        return "Bad character in local part";
    }
  return after_dot ? "Misplaced dot in local part" : NULL;
}

/* Mailbox = Local-part "@" ( Domain / address-literal ).  A quoted local
 * part may hold "@" but no domain can, so the last "@" separates them. */
static const char *
check_mailbox (const char *s, gsize n, gboolean utf8)
{
  gsize       at = n;
  const char *reason;

  while (at > 0 && s[at - 1] != '@')
    at--;
  if (at == 0)
    return "Address has no domain";
  reason = check_local_part (s, at - 1, utf8);
  if (reason == NULL)
    reason = check_domain (s + at, n - at, utf8, TRUE);
  return reason;
}

/* Non-ASCII needs SMTPUTF8 (RFC 6531 3.4), and then must be UTF-8. */
static gboolean
check_encoding (const char *s, gsize n, gboolean utf8, GError **error)
{
  gboolean ascii = TRUE;

  for (gsize i = 0; i < n && ascii; i++)
    ascii = (guchar)s[i] < 0x80;
  if (ascii)
    return TRUE;
  if (!utf8)
    return set_error (error, MB_SMTP_PARSER_ERROR_NEEDS_SMTPUTF8,
                      "Non-ASCII address requires SMTPUTF8");
  if (!g_utf8_validate_len (s, n, NULL))
    return set_error (error, MB_SMTP_PARSER_ERROR_BAD_PATH,
                      "Address is not valid UTF-8");
  return TRUE;
}

/* A-d-l ":" (RFC 5321 4.1.2): "@a,@b:" is skipped; returns its length, or
 * 0 when it is malformed. */
static gsize
skip_source_route (const char *s, gsize n, gboolean utf8)
{
  gsize i = 0;

  for (;;)
    {
      gsize start;

      if (i >= n || s[i] != '@')
        return 0;
      start = ++i;
      while (i < n && s[i] != ',' && s[i] != ':')
        i++;
      if (i >= n || check_domain (s + start, i - start, utf8, FALSE) != NULL)
        return 0;
      if (s[i++] == ':')
        return i;
    }
}

gboolean
mb_smtp_path_parse (const char    *path,
                    gsize          len,
                    MbSmtpPathKind kind,
                    gboolean       utf8,
                    char         **mailbox,
                    GError       **error)
{
  gboolean    bracketed;
  const char *s = path;
  gsize       n = len;
  const char *reason;

  g_return_val_if_fail (path != NULL && len > 0 && mailbox != NULL, FALSE);
  bracketed = path[0] == '<';
  g_return_val_if_fail (!bracketed || (len >= 2 && path[len - 1] == '>'),
                        FALSE);

  if (bracketed)
    {
      s++;
      n -= 2;
    }

  if (n + 2 > MAX_PATH)
    return set_error (error, MB_SMTP_PARSER_ERROR_BAD_PATH,
                      "Address longer than 256 octets");
  if (!check_encoding (s, n, utf8, error))
    return FALSE;
  if (n == 0 && kind == MB_SMTP_PATH_FORWARD)
    return set_error (error, MB_SMTP_PARSER_ERROR_NULL_RCPT,
                      "Null recipient address <> is not allowed");
  if (n == 0)
    {
      *mailbox = g_strdup ("");
      return TRUE;
    }
  if (s[0] == '@')
    {
      gsize route = bracketed ? skip_source_route (s, n, utf8) : 0;

      if (route == 0)
        return set_error (error, MB_SMTP_PARSER_ERROR_BAD_PATH,
                          "Bad source route in address");
      s += route;
      n -= route;
    }
  /* RFC 5321 4.1.1.3: "<Postmaster>" without a domain, any case. */
  if (kind == MB_SMTP_PATH_FORWARD && n == 10
      && g_ascii_strncasecmp (s, "postmaster", 10) == 0)
    {
      *mailbox = g_strdup ("postmaster");
      return TRUE;
    }
  reason = check_mailbox (s, n, utf8);
  if (reason != NULL)
    return set_error (error, MB_SMTP_PARSER_ERROR_BAD_PATH, reason);
  *mailbox = g_strndup (s, n);
  return TRUE;
}

gboolean
mb_smtp_parser_is_valid_mailbox (const char *mailbox, gboolean smtputf8)
{
  gsize len;

  g_return_val_if_fail (mailbox != NULL, FALSE);

  len = strlen (mailbox);
  return len + 2 <= MAX_PATH && check_encoding (mailbox, len, smtputf8, NULL)
         && check_mailbox (mailbox, len, smtputf8) == NULL;
}
