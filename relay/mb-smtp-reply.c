/* mb-smtp-reply.c - SMTP replies, EHLO keywords and XOAUTH2
 *
 * Contract:
 *  - The reply parser takes bytes as they come off the wire, in pieces of
 *    any size, and yields one MbSmtpReply per complete reply (RFC 5321 4.2,
 *    4.2.1).  It never consumes a byte of the next reply, so a pipelined
 *    burst (RFC 2920) is split exactly.  Lines end in CRLF; a bare LF is
 *    tolerated because the reply is ours to read, not to relay.
 *  - It refuses, with a GError and never an assertion: a line that does not
 *    start with a reply code (first digit 2-5, second 0-5), a separator
 *    other than SP or "-", control characters in the text, lines of one
 *    reply with different codes, a line over MB_SMTP_REPLY_MAX_LINE and a
 *    reply over MB_SMTP_REPLY_MAX_SIZE.  Memory is bounded by those limits.
 *  - The text it hands back is valid UTF-8 without control characters
 *    other than TAB, so it can go into logs, key files and D-Bus as is.
 *  - RFC 2034 / RFC 3463 enhanced codes are taken from the first line only,
 *    and only when their class matches the reply's first digit (a "250
 *    5.0.0" is a broken server, not a failure); the code is stripped from
 *    every line that repeats it.
 *  - EHLO keywords (RFC 5321 4.1.1.1) become an MbSmtpCapabilities table;
 *    unknown keywords are ignored.
 *  - XOAUTH2 follows Microsoft's documented encoding (M365-FACTS.md 2.1);
 *    buffers that held the token are zeroed before they are freed.
 *
 * Not here: sockets, timeouts, what a reply means to the admin
 * (mb-reply-hints), what to do about it (mb-scheduler).
 */
#define G_LOG_DOMAIN "mb-smtp-reply"

#include "mb-smtp-reply.h"

#include <string.h>

struct _MbSmtpReplyParser
{
  GByteArray *line;  /* (owned) the line being read, without its LF */
  GPtrArray  *texts; /* (owned) (element-type utf8) text of each line */
  guint       code;  /* of the first line; 0 before it is complete */
  gsize       total; /* bytes of this reply consumed so far */
  gboolean    failed;
};

GQuark
mb_smtp_reply_error_quark (void)
{
  return g_quark_from_static_string ("mb-smtp-reply-error-quark");
}

G_DEFINE_BOXED_TYPE (MbSmtpReply,
                     mb_smtp_reply,
                     mb_smtp_reply_copy,
                     mb_smtp_reply_free)

/* RFC 3463 2: class "." subject "." detail, subject and detail 1*3digit. */
static gsize
scan_enhanced_code (const char *text, guint reply_class)
{
  const char *p = text;

  if (p[0] != '2' && p[0] != '4' && p[0] != '5')
    return 0;
  if ((guint)(p[0] - '0') != reply_class || p[1] != '.')
    return 0;
  p += 2;
  for (int part = 0; part < 2; part++)
    {
      int digits = 0;

      while (g_ascii_isdigit (*p) && digits < 4)
        {
          p++;
          digits++;
        }
      if (digits == 0 || digits > 3)
        return 0;
      if (part == 0 && *p++ != '.')
        return 0;
    }
  if (*p != '\0' && *p != ' ')
    return 0;
  return (gsize)(p - text);
}

static MbSmtpReply *
build_reply (guint code, GPtrArray *texts)
{
  g_autofree char *enhanced = NULL;
  g_autoptr (GString) joined = g_string_new (NULL);
  gsize enhanced_len;

  enhanced_len = scan_enhanced_code (g_ptr_array_index (texts, 0), code / 100);
  if (enhanced_len > 0)
    enhanced = g_strndup (g_ptr_array_index (texts, 0), enhanced_len);

  for (guint i = 0; i < texts->len; i++)
    {
      const char *text = g_ptr_array_index (texts, i);

      if (enhanced != NULL && strncmp (text, enhanced, enhanced_len) == 0
          && (text[enhanced_len] == '\0' || text[enhanced_len] == ' '))
        {
          text += enhanced_len;
          if (*text == ' ')
            text++;
        }
      if (i > 0)
        g_string_append_c (joined, '\n');
      g_string_append (joined, text);
    }

  return mb_smtp_reply_new (code, enhanced, joined->str);
}

/* Shows a refused line in an error message without letting the server
 * write control characters into our log. */
static char *
describe_line (const guint8 *line, gsize len)
{
  /* An empty line of a fresh parser has no buffer at all. */
  g_autofree char *cut
      = g_strndup (line != NULL ? (const char *)line : "", MIN (len, 40));
  g_autofree char *escaped = g_strescape (cut, NULL);

  return g_strdup_printf ("\"%s%s\"", escaped, len > 40 ? "..." : "");
}

static gboolean
fail_line (MbSmtpReplyParser *parser,
           MbSmtpReplyError   code,
           const char        *what,
           GError           **error)
{
  g_autofree char *shown
      = describe_line (parser->line->data, parser->line->len);

  parser->failed = TRUE;
  g_set_error (error, MB_SMTP_REPLY_ERROR, code, "%s: %s", what, shown);
  return FALSE;
}

/* Takes the complete line in parser->line apart.  Sets *last when it is the
 * final line of the reply. */
static gboolean
take_line (MbSmtpReplyParser *parser, gboolean *last, GError **error)
{
  const guint8 *line = parser->line->data;
  gsize         len = parser->line->len;
  guint         code;

  if (len > 0 && line[len - 1] == '\r')
    len--;

  if (len < 3 || line[0] < '2' || line[0] > '5' || line[1] < '0'
      || line[1] > '5' || !g_ascii_isdigit (line[2]))
    return fail_line (parser, MB_SMTP_REPLY_ERROR_SYNTAX,
                      "The server sent a line that is not a reply", error);
  if (len > 3 && line[3] != ' ' && line[3] != '-')
    return fail_line (parser, MB_SMTP_REPLY_ERROR_SYNTAX,
                      "The server sent a line that is not a reply", error);
  for (gsize i = 3; i < len; i++)
    {
      if ((line[i] < 0x20 && line[i] != '\t') || line[i] == 0x7f)
        return fail_line (parser, MB_SMTP_REPLY_ERROR_SYNTAX,
                          "The server sent control characters in a reply",
                          error);
    }

  code = (line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0');
  if (parser->code != 0 && code != parser->code)
    return fail_line (parser, MB_SMTP_REPLY_ERROR_INCONSISTENT,
                      "The server changed the code within a reply", error);
  parser->code = code;
  *last = len == 3 || line[3] == ' ';
  g_ptr_array_add (parser->texts, len > 4 ? g_utf8_make_valid (
                                      (const char *)line + 4, (gssize)len - 4)
                                          : g_strdup (""));
  g_byte_array_set_size (parser->line, 0);
  return TRUE;
}

MbSmtpReply *
mb_smtp_reply_new (guint code, const char *enhanced, const char *text)
{
  MbSmtpReply *reply = g_new0 (MbSmtpReply, 1);

  reply->code = code;
  reply->enhanced = g_strdup (enhanced);
  reply->text = g_strdup (text != NULL ? text : "");
  return reply;
}

MbSmtpReply *
mb_smtp_reply_copy (const MbSmtpReply *reply)
{
  g_return_val_if_fail (reply != NULL, NULL);

  return mb_smtp_reply_new (reply->code, reply->enhanced, reply->text);
}

void
mb_smtp_reply_free (MbSmtpReply *reply)
{
  if (reply == NULL)
    return;
  g_free (reply->enhanced);
  g_free (reply->text);
  g_free (reply);
}

char *
mb_smtp_reply_to_string (const MbSmtpReply *reply)
{
  GString *out;

  g_return_val_if_fail (reply != NULL, NULL);

  out = g_string_new (NULL);
  g_string_append_printf (out, "%03u", reply->code);
  if (reply->enhanced != NULL)
    g_string_append_printf (out, " %s", reply->enhanced);
  if (reply->text[0] != '\0')
    {
      g_string_append_c (out, ' ');
      for (const char *p = reply->text; *p != '\0'; p++)
        g_string_append_c (out, *p == '\n' ? ' ' : *p);
    }
  return g_string_free (out, FALSE);
}

gboolean
mb_smtp_reply_is_positive (const MbSmtpReply *reply)
{
  return reply->code / 100 == 2;
}

gboolean
mb_smtp_reply_is_intermediate (const MbSmtpReply *reply)
{
  return reply->code / 100 == 3;
}

gboolean
mb_smtp_reply_is_transient (const MbSmtpReply *reply)
{
  return reply->code / 100 == 4;
}

gboolean
mb_smtp_reply_is_permanent (const MbSmtpReply *reply)
{
  return reply->code / 100 == 5;
}

MbSmtpReply *
mb_smtp_reply_parse (const char *data, gsize len, GError **error)
{
  g_autoptr (MbSmtpReplyParser) parser = mb_smtp_reply_parser_new ();
  MbSmtpReply            *reply = NULL;
  MbSmtpReplyParserStatus status;
  gsize                   consumed = 0;

  status = mb_smtp_reply_parser_feed (parser, (const guint8 *)data, len,
                                      &consumed, &reply, error);
  if (status == MB_SMTP_REPLY_PARSER_MORE && parser->line->len > 0)
    status = mb_smtp_reply_parser_feed (parser, (const guint8 *)"\r\n", 2,
                                        &(gsize){ 0 }, &reply, error);
  if (status == MB_SMTP_REPLY_PARSER_ERROR)
    return NULL;
  if (status == MB_SMTP_REPLY_PARSER_MORE)
    {
      g_set_error_literal (
          error, MB_SMTP_REPLY_ERROR, MB_SMTP_REPLY_ERROR_SYNTAX,
          parser->texts->len == 0 ? "The reply is empty"
                                  : "The reply ends with a continuation line");
      return NULL;
    }
  if (consumed < len)
    {
      mb_smtp_reply_free (reply);
      g_set_error (error, MB_SMTP_REPLY_ERROR, MB_SMTP_REPLY_ERROR_SYNTAX,
                   "Data follows the reply");
      return NULL;
    }
  return reply;
}

MbSmtpReplyParser *
mb_smtp_reply_parser_new (void)
{
  MbSmtpReplyParser *parser = g_new0 (MbSmtpReplyParser, 1);

  parser->line = g_byte_array_new ();
  parser->texts = g_ptr_array_new_with_free_func (g_free);
  return parser;
}

void
mb_smtp_reply_parser_free (MbSmtpReplyParser *parser)
{
  if (parser == NULL)
    return;
  g_byte_array_unref (parser->line);
  g_ptr_array_unref (parser->texts);
  g_free (parser);
}

void
mb_smtp_reply_parser_reset (MbSmtpReplyParser *parser)
{
  g_byte_array_set_size (parser->line, 0);
  g_ptr_array_set_size (parser->texts, 0);
  parser->code = 0;
  parser->total = 0;
  parser->failed = FALSE;
}

MbSmtpReplyParserStatus
mb_smtp_reply_parser_feed (MbSmtpReplyParser *parser,
                           const guint8      *data,
                           gsize              len,
                           gsize             *consumed,
                           MbSmtpReply      **reply,
                           GError           **error)
{
  gsize pos = 0;

  g_return_val_if_fail (parser != NULL, MB_SMTP_REPLY_PARSER_ERROR);
  g_return_val_if_fail (data != NULL || len == 0, MB_SMTP_REPLY_PARSER_ERROR);
  g_return_val_if_fail (reply != NULL && *reply == NULL,
                        MB_SMTP_REPLY_PARSER_ERROR);

  *consumed = 0;
  if (parser->failed)
    {
      g_set_error (error, MB_SMTP_REPLY_ERROR, MB_SMTP_REPLY_ERROR_SYNTAX,
                   "The reply parser was not reset after an error");
      return MB_SMTP_REPLY_PARSER_ERROR;
    }

  while (pos < len)
    {
      const guint8 *lf = memchr (data + pos, '\n', len - pos);
      gsize         piece = lf != NULL ? (gsize)(lf - (data + pos)) : len - pos;
      gboolean      last = FALSE;

      /* +1: the CR of the line end is still in the buffer. */
      if (parser->line->len + piece > MB_SMTP_REPLY_MAX_LINE + 1)
        {
          g_byte_array_append (parser->line, data + pos,
                               MIN (piece, MB_SMTP_REPLY_MAX_LINE));
          *consumed = pos;
          fail_line (parser, MB_SMTP_REPLY_ERROR_TOO_LONG,
                     "The server sent a reply line that is too long", error);
          return MB_SMTP_REPLY_PARSER_ERROR;
        }
      g_byte_array_append (parser->line, data + pos, (guint)piece);
      pos += piece;
      parser->total += piece;
      if (lf == NULL)
        break;

      pos++;
      parser->total++;
      if (parser->total > MB_SMTP_REPLY_MAX_SIZE)
        {
          *consumed = pos;
          fail_line (parser, MB_SMTP_REPLY_ERROR_TOO_LONG,
                     "The server sent a reply that is too long", error);
          return MB_SMTP_REPLY_PARSER_ERROR;
        }
      if (!take_line (parser, &last, error))
        {
          *consumed = pos;
          return MB_SMTP_REPLY_PARSER_ERROR;
        }
      if (last)
        {
          *reply = build_reply (parser->code, parser->texts);
          *consumed = pos;
          mb_smtp_reply_parser_reset (parser);
          return MB_SMTP_REPLY_PARSER_DONE;
        }
    }

  *consumed = len;
  return MB_SMTP_REPLY_PARSER_MORE;
}

static const struct
{
  const char     *keyword;
  MbSmtpExtension extension;
} keyword_table[] = {
  { "SIZE", MB_SMTP_EXT_SIZE },
  { "PIPELINING", MB_SMTP_EXT_PIPELINING },
  { "8BITMIME", MB_SMTP_EXT_8BITMIME },
  { "SMTPUTF8", MB_SMTP_EXT_SMTPUTF8 },
  { "DSN", MB_SMTP_EXT_DSN },
  { "STARTTLS", MB_SMTP_EXT_STARTTLS },
  { "AUTH", MB_SMTP_EXT_AUTH },
  { "CHUNKING", MB_SMTP_EXT_CHUNKING },
  { "BINARYMIME", MB_SMTP_EXT_BINARYMIME },
  { "ENHANCEDSTATUSCODES", MB_SMTP_EXT_ENHANCEDSTATUSCODES },
};

static void
add_auth_mechanism (GPtrArray *mechanisms, const char *name)
{
  g_autofree char *upper = g_ascii_strup (name, -1);

  if (*upper == '\0')
    return;
  for (guint i = 0; i < mechanisms->len; i++)
    {
      if (strcmp (g_ptr_array_index (mechanisms, i), upper) == 0)
        return;
    }
  g_ptr_array_add (mechanisms, g_steal_pointer (&upper));
}

MbSmtpCapabilities *
mb_smtp_capabilities_new (void)
{
  MbSmtpCapabilities *caps = g_new0 (MbSmtpCapabilities, 1);

  caps->auth_mechanisms = g_new0 (char *, 1);
  return caps;
}

MbSmtpCapabilities *
mb_smtp_capabilities_parse (const MbSmtpReply *ehlo_reply)
{
  g_autoptr (MbSmtpCapabilities) caps = mb_smtp_capabilities_new ();
  g_autoptr (GPtrArray) mechanisms = g_ptr_array_new ();
  g_auto (GStrv) lines = NULL;

  g_return_val_if_fail (ehlo_reply != NULL, NULL);

  lines = g_strsplit (ehlo_reply->text, "\n", -1);
  /* The first line is the server's greeting to us, not a keyword.  A bare
   * "250" has empty text, which g_strsplit() makes an empty vector. */
  for (guint i = 1; lines[0] != NULL && lines[i] != NULL; i++)
    {
      g_auto (GStrv) words = g_strsplit_set (g_strstrip (lines[i]), " \t", -1);
      const char *keyword = words[0];

      /* An empty keyword line splits into an empty vector. */
      if (keyword == NULL)
        continue;
      /* The pre-RFC 4954 form "AUTH=LOGIN PLAIN" still shows up. */
      if (g_ascii_strncasecmp (keyword, "AUTH=", 5) == 0)
        {
          caps->extensions |= MB_SMTP_EXT_AUTH;
          add_auth_mechanism (mechanisms, keyword + 5);
          for (guint w = 1; words[w] != NULL; w++)
            add_auth_mechanism (mechanisms, words[w]);
          continue;
        }

      for (gsize k = 0; k < G_N_ELEMENTS (keyword_table); k++)
        {
          if (g_ascii_strcasecmp (keyword, keyword_table[k].keyword) != 0)
            continue;
          caps->extensions |= keyword_table[k].extension;
          if (keyword_table[k].extension == MB_SMTP_EXT_AUTH)
            {
              for (guint w = 1; words[w] != NULL; w++)
                add_auth_mechanism (mechanisms, words[w]);
            }
          else if (keyword_table[k].extension == MB_SMTP_EXT_SIZE
                   && words[1] != NULL)
            {
              guint64 size = 0;

              /* A malformed limit counts as "no limit announced": the
               * server will still refuse what it cannot take. */
              if (g_ascii_string_to_unsigned (words[1], 10, 0, G_MAXUINT64,
                                              &size, NULL))
                caps->size = size;
            }
        }
    }

  g_ptr_array_add (mechanisms, NULL);
  g_free (caps->auth_mechanisms);
  caps->auth_mechanisms = (char **)g_ptr_array_free (
      (GPtrArray *)g_steal_pointer (&mechanisms), FALSE);
  return g_steal_pointer (&caps);
}

MbSmtpCapabilities *
mb_smtp_capabilities_copy (const MbSmtpCapabilities *caps)
{
  MbSmtpCapabilities *copy;

  g_return_val_if_fail (caps != NULL, NULL);

  copy = g_new0 (MbSmtpCapabilities, 1);
  copy->extensions = caps->extensions;
  copy->size = caps->size;
  copy->auth_mechanisms = g_strdupv (caps->auth_mechanisms);
  return copy;
}

void
mb_smtp_capabilities_free (MbSmtpCapabilities *caps)
{
  if (caps == NULL)
    return;
  g_strfreev (caps->auth_mechanisms);
  g_free (caps);
}

gboolean
mb_smtp_capabilities_has (const MbSmtpCapabilities *caps,
                          MbSmtpExtension           extension)
{
  g_return_val_if_fail (caps != NULL, FALSE);

  return (caps->extensions & extension) == extension;
}

gboolean
mb_smtp_capabilities_has_auth (const MbSmtpCapabilities *caps,
                               const char               *mechanism)
{
  g_return_val_if_fail (caps != NULL, FALSE);
  g_return_val_if_fail (mechanism != NULL, FALSE);

  for (guint i = 0; caps->auth_mechanisms[i] != NULL; i++)
    {
      if (g_ascii_strcasecmp (caps->auth_mechanisms[i], mechanism) == 0)
        return TRUE;
    }
  return FALSE;
}

char *
mb_smtp_xoauth2_encode (const char *user, const char *token)
{
  GString *raw;
  char    *encoded;

  g_return_val_if_fail (user != NULL, NULL);
  g_return_val_if_fail (token != NULL, NULL);

  raw = g_string_new ("user=");
  g_string_append (raw, user);
  g_string_append (raw, "\001auth=Bearer ");
  g_string_append (raw, token);
  g_string_append (raw, "\001\001");
  encoded = g_base64_encode ((const guchar *)raw->str, raw->len);
  mb_smtp_secret_free (g_string_free (raw, FALSE));
  return encoded;
}

void
mb_smtp_secret_free (char *secret)
{
  if (secret == NULL)
    return;
  explicit_bzero (secret, strlen (secret));
  g_free (secret);
}
