/* mb-smtp-parser.c - SMTP command and ESMTP parameter parser
 *
 * WHAT IT DOES
 *   Finds command lines in a buffer and splits them into verb and argument
 *   (RFC 5321 4.1.1); parses the arguments of MAIL and RCPT: the path
 *   (4.1.2, checked by mb-smtp-address.c) and the ESMTP parameters we
 *   announce: SIZE (RFC 1870), BODY (RFC 6152), SMTPUTF8 (RFC 6531), RET,
 *   ENVID, NOTIFY, ORCPT (RFC 3461); the BDAT chunk size (RFC 3030); RFC
 *   3461 xtext.  The DATA decoder of the same header is mb-smtp-data.c.
 *
 * GUARANTEES
 *   Pure code: no GObject, no I/O, no global state; safe on any input (a
 *   fuzz target).  Every refusal is a MB_SMTP_PARSER_ERROR whose code maps
 *   to one reply (mb_smtp_parser_error_reply()); messages never echo client
 *   bytes other than a checked keyword, so they can go into a reply as
 *   they are.  Each parameter appears at most once.  Decoded ENVID and
 *   ORCPT values are printable ASCII: they cannot break an envelope file
 *   or a DSN.
 *
 * LENIENCY (what real devices send)
 *   "MAIL FROM: <a@b>" (spaces after the colon); a path without angle
 *   brackets when it is a single bare mailbox ("MAIL FROM:a@b SIZE=10");
 *   any number of spaces or tabs between tokens.  Never in the limits.
 *
 * WHAT IT DOES NOT DO
 *   No policy: whether a sender or recipient is allowed, whether SIZE is
 *   over our limit, whether a verb fits the session state is the session's
 *   business.  Addresses are returned as sent (see mb-smtp-address.c).  A
 *   command line holding a NUL byte is UNKNOWN with an empty argument.
 */
#define G_LOG_DOMAIN "mb-smtp-parser"

#include "mb-smtp-parser-private.h"

#include <string.h>

#define MAX_ENVID 100 /* RFC 3461 4.4 */
#define MAX_ORCPT 500 /* RFC 3461 4.2 */

typedef gboolean (*ParamFunc) (const char *value,
                               gpointer    args,
                               GError    **error);

typedef struct
{
  const char *keyword;
  ParamFunc   parse;
} ParamSpec;

static gboolean parse_size_param (const char *, gpointer, GError **);
static gboolean parse_body_param (const char *, gpointer, GError **);
static gboolean parse_smtputf8_param (const char *, gpointer, GError **);
static gboolean parse_ret_param (const char *, gpointer, GError **);
static gboolean parse_envid_param (const char *, gpointer, GError **);
static gboolean parse_notify_param (const char *, gpointer, GError **);
static gboolean parse_orcpt_param (const char *, gpointer, GError **);

GQuark
mb_smtp_parser_error_quark (void)
{
  return g_quark_from_static_string ("mb-smtp-parser-error-quark");
}

static const struct
{
  const char *name;
  MbSmtpVerb  verb;
} verbs[] = {
  { "HELO", MB_SMTP_VERB_HELO },         { "EHLO", MB_SMTP_VERB_EHLO },
  { "MAIL", MB_SMTP_VERB_MAIL },         { "RCPT", MB_SMTP_VERB_RCPT },
  { "DATA", MB_SMTP_VERB_DATA },         { "BDAT", MB_SMTP_VERB_BDAT },
  { "RSET", MB_SMTP_VERB_RSET },         { "NOOP", MB_SMTP_VERB_NOOP },
  { "QUIT", MB_SMTP_VERB_QUIT },         { "VRFY", MB_SMTP_VERB_VRFY },
  { "EXPN", MB_SMTP_VERB_EXPN },         { "HELP", MB_SMTP_VERB_HELP },
  { "STARTTLS", MB_SMTP_VERB_STARTTLS }, { "AUTH", MB_SMTP_VERB_AUTH },
};

/* Parameters we announce in EHLO; anything else is UNKNOWN_PARAM (AUTH= is
 * deliberately absent: we do not offer AUTH to devices). */
static const ParamSpec mail_params[] = {
  { "SIZE", parse_size_param },         { "BODY", parse_body_param },
  { "SMTPUTF8", parse_smtputf8_param }, { "RET", parse_ret_param },
  { "ENVID", parse_envid_param },       { NULL, NULL },
};

static const ParamSpec rcpt_params[] = {
  { "NOTIFY", parse_notify_param },
  { "ORCPT", parse_orcpt_param },
  { NULL, NULL },
};

static gboolean
is_space (char c)
{
  return c == ' ' || c == '\t';
}

static gboolean
set_error (GError **error, MbSmtpParserError code, const char *message)
{
  g_set_error_literal (error, MB_SMTP_PARSER_ERROR, code, message);
  return FALSE;
}

/* 1*DIGIT no larger than @max, without sign or spaces. */
static gboolean
parse_decimal (const char *s, gsize n, guint64 max, guint64 *out)
{
  guint64 value = 0;

  if (n == 0)
    return FALSE;
  for (gsize i = 0; i < n; i++)
    {
      guint digit;

      if (!g_ascii_isdigit (s[i]))
        return FALSE;
      digit = (guint)(s[i] - '0');
      if (value > (max - digit) / 10)
        return FALSE;
      value = value * 10 + digit;
    }
  *out = value;
  return TRUE;
}

/* Splits "FROM:<path> params" after @prefix: *path and *path_len cover the
 * path token (brackets included when given), *params the rest. */
static gboolean
split_path_argument (const char  *argument,
                     const char  *prefix,
                     const char  *usage,
                     const char **path,
                     gsize       *path_len,
                     const char **params,
                     GError     **error)
{
  gsize       prefix_len = strlen (prefix);
  gboolean    quoted = FALSE;
  const char *p;

  if (g_ascii_strncasecmp (argument, prefix, prefix_len) != 0)
    return set_error (error, MB_SMTP_PARSER_ERROR_SYNTAX, usage);
  p = argument + prefix_len;
  while (is_space (*p))
    p++;
  *path = p;
  if (*p == '\0')
    return set_error (error, MB_SMTP_PARSER_ERROR_SYNTAX, usage);
  /* The path ends at ">" (or, bare, at a space) outside a quoted string. */
  for (; *p != '\0'; p++)
    {
      if (quoted && *p == '\\' && p[1] != '\0')
        p++;
      else if (*p == '"')
        quoted = !quoted;
      else if (!quoted && **path == '<' && *p == '>')
        break;
      else if (!quoted && **path != '<' && is_space (*p))
        break;
    }
  if (**path == '<')
    {
      if (*p != '>')
        return set_error (error, MB_SMTP_PARSER_ERROR_BAD_PATH,
                          "Address lacks its closing \">\"");
      p++;
    }
  if (*p != '\0' && !is_space (*p))
    return set_error (error, MB_SMTP_PARSER_ERROR_SYNTAX,
                      "Unexpected text after the address");
  *path_len = (gsize)(p - *path);
  *params = p;
  return TRUE;
}

/* esmtp-param *(SP esmtp-param), RFC 5321 4.1.2; @specs say which keywords
 * we know.  Keywords are case-insensitive and may appear once each. */
static gboolean
parse_params (const char      *p,
              const ParamSpec *specs,
              gpointer         args,
              GError         **error)
{
  guint seen = 0;

  for (;;)
    {
      g_autofree char *token = NULL;
      const char      *start;
      char            *value;
      guint            i;

      while (is_space (*p))
        p++;
      if (*p == '\0')
        return TRUE;
      for (start = p; *p != '\0' && !is_space (*p); p++)
        ;
      token = g_strndup (start, (gsize)(p - start));
      value = strchr (token, '=');
      if (value != NULL)
        *value++ = '\0';
      if (!g_ascii_isalnum (token[0])
          || token[strspn (token, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnop"
                                  "qrstuvwxyz0123456789-")]
                 != '\0')
        return set_error (error, MB_SMTP_PARSER_ERROR_SYNTAX,
                          "Bad parameter syntax");
      for (i = 0; specs[i].keyword != NULL; i++)
        if (g_ascii_strcasecmp (token, specs[i].keyword) == 0)
          break;
      if (specs[i].keyword == NULL)
        {
          g_set_error (error, MB_SMTP_PARSER_ERROR,
                       MB_SMTP_PARSER_ERROR_UNKNOWN_PARAM,
                       "Parameter %.32s is not supported", token);
          return FALSE;
        }
      if (seen & (1u << i))
        {
          g_set_error (error, MB_SMTP_PARSER_ERROR,
                       MB_SMTP_PARSER_ERROR_DUPLICATE_PARAM,
                       "Parameter %s given twice", specs[i].keyword);
          return FALSE;
        }
      seen |= 1u << i;
      if (value != NULL && *value == '\0')
        {
          g_set_error (error, MB_SMTP_PARSER_ERROR,
                       MB_SMTP_PARSER_ERROR_BAD_PARAM,
                       "Parameter %s has an empty value", specs[i].keyword);
          return FALSE;
        }
      if (!specs[i].parse (value, args, error))
        return FALSE;
    }
}

static gboolean
bad_param (GError **error, const char *message)
{
  return set_error (error, MB_SMTP_PARSER_ERROR_BAD_PARAM, message);
}

/* Printable US-ASCII and space: what RFC 3461 4.2 and 4.4 allow once
 * decoded. */
static gboolean
is_printable_ascii (const char *s)
{
  for (; *s != '\0'; s++)
    if ((guchar)*s < 32 || (guchar)*s > 126)
      return FALSE;
  return TRUE;
}

/* SIZE=1*20DIGIT (RFC 1870 3). */
static gboolean
parse_size_param (const char *value, gpointer data, GError **error)
{
  MbSmtpMailArgs *args = data;
  guint64         size;

  if (value == NULL
      || !parse_decimal (value, strlen (value), G_MAXINT64, &size))
    return bad_param (error, "SIZE= needs a decimal number of octets");
  args->size = (gint64)size;
  return TRUE;
}

/* BODY=7BIT / 8BITMIME (RFC 6152 2).  BINARYMIME (RFC 3030) is refused:
 * we do not announce it. */
static gboolean
parse_body_param (const char *value, gpointer data, GError **error)
{
  MbSmtpMailArgs *args = data;

  if (value != NULL && g_ascii_strcasecmp (value, "7BIT") == 0)
    args->body = MB_SMTP_BODY_7BIT;
  else if (value != NULL && g_ascii_strcasecmp (value, "8BITMIME") == 0)
    args->body = MB_SMTP_BODY_8BITMIME;
  else if (value != NULL && g_ascii_strcasecmp (value, "BINARYMIME") == 0)
    return bad_param (error, "BODY=BINARYMIME is not supported");
  else
    return bad_param (error, "BODY= must be 7BIT or 8BITMIME");
  return TRUE;
}

/* SMTPUTF8 takes no value (RFC 6531 3.4). */
static gboolean
parse_smtputf8_param (const char *value, gpointer data, GError **error)
{
  MbSmtpMailArgs *args = data;

  if (value != NULL)
    return bad_param (error, "SMTPUTF8 takes no value");
  args->smtputf8 = TRUE;
  return TRUE;
}

/* RET=FULL / HDRS (RFC 3461 4.3). */
static gboolean
parse_ret_param (const char *value, gpointer data, GError **error)
{
  MbSmtpMailArgs *args = data;

  if (value != NULL && g_ascii_strcasecmp (value, "FULL") == 0)
    args->ret = MB_DSN_RET_FULL;
  else if (value != NULL && g_ascii_strcasecmp (value, "HDRS") == 0)
    args->ret = MB_DSN_RET_HDRS;
  else
    return bad_param (error, "RET= must be FULL or HDRS");
  return TRUE;
}

/* ENVID=xtext (RFC 3461 4.4); the limit of 100 characters is applied to
 * the decoded value, the more lenient reading. */
static gboolean
parse_envid_param (const char *value, gpointer data, GError **error)
{
  MbSmtpMailArgs  *args = data;
  g_autofree char *envid = NULL;

  if (value != NULL)
    envid = mb_smtp_xtext_decode (value, NULL);
  if (envid == NULL || *envid == '\0' || !is_printable_ascii (envid))
    return bad_param (error, "ENVID= needs printable xtext");
  if (strlen (envid) > MAX_ENVID)
    return bad_param (error, "ENVID= longer than 100 characters");
  args->envid = g_steal_pointer (&envid);
  return TRUE;
}

/* NOTIFY=NEVER / 1#(SUCCESS / FAILURE / DELAY) (RFC 3461 4.1). */
static gboolean
parse_notify_param (const char *value, gpointer data, GError **error)
{
  static const struct
  {
    const char *name;
    guint       flag;
  } names[] = {
    { "NEVER", MB_DSN_NOTIFY_NEVER },
    { "SUCCESS", MB_DSN_NOTIFY_SUCCESS },
    { "FAILURE", MB_DSN_NOTIFY_FAILURE },
    { "DELAY", MB_DSN_NOTIFY_DELAY },
  };
  MbSmtpRcptArgs *args = data;
  g_auto (GStrv) items = NULL;
  guint notify = 0;

  if (value == NULL)
    return bad_param (error, "NOTIFY= needs a value");
  items = g_strsplit (value, ",", -1);
  for (guint i = 0; items[i] != NULL; i++)
    {
      guint j;

      for (j = 0; j < G_N_ELEMENTS (names); j++)
        if (g_ascii_strcasecmp (items[i], names[j].name) == 0)
          break;
      if (j == G_N_ELEMENTS (names))
        return bad_param (error, "NOTIFY= must be NEVER or a list of "
                                 "SUCCESS, FAILURE, DELAY");
      notify |= names[j].flag;
    }
  if ((notify & MB_DSN_NOTIFY_NEVER) && notify != MB_DSN_NOTIFY_NEVER)
    return bad_param (error, "NOTIFY=NEVER cannot be combined with others");
  args->notify = notify;
  return TRUE;
}

/* ORCPT=addr-type ";" xtext (RFC 3461 4.2); stored decoded, as
 * "rfc822;user@example.com". */
static gboolean
parse_orcpt_param (const char *value, gpointer data, GError **error)
{
  MbSmtpRcptArgs  *args = data;
  const char      *semi = value != NULL ? strchr (value, ';') : NULL;
  g_autofree char *address = NULL;
  g_autofree char *orcpt = NULL;

  if (semi == NULL || semi == value)
    return bad_param (error, "ORCPT= needs addr-type;address");
  /* addr-type: "rfc822", "utf-8", "x400", "unknown" (RFC 3461 4.2) */
  for (const char *p = value; p < semi; p++)
    if (!g_ascii_isalnum (*p) && *p != '-')
      return bad_param (error, "ORCPT= has a bad address type");
  address = mb_smtp_xtext_decode (semi + 1, NULL);
  if (address == NULL || *address == '\0' || !is_printable_ascii (address))
    return bad_param (error, "ORCPT= needs a printable xtext address");
  orcpt = g_strdup_printf ("%.*s;%s", (int)(semi - value), value, address);
  if (strlen (orcpt) > MAX_ORCPT)
    return bad_param (error, "ORCPT= longer than 500 characters");
  args->orcpt = g_steal_pointer (&orcpt);
  return TRUE;
}

static int
upper_hex_value (char c)
{
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'A' && c <= 'F')
    return c - 'A' + 10;
  return -1;
}

gboolean
mb_smtp_parser_next_line (const guint8 *buf,
                          gsize         len,
                          gsize        *line_len,
                          gsize        *consumed)
{
  const guint8 *lf;

  g_return_val_if_fail (buf != NULL || len == 0, FALSE);
  g_return_val_if_fail (line_len != NULL && consumed != NULL, FALSE);

  lf = len > 0 ? memchr (buf, '\n', len) : NULL;
  if (lf == NULL)
    return FALSE;
  *consumed = (gsize)(lf - buf) + 1;
  *line_len = *consumed - 1;
  if (*line_len > 0 && buf[*line_len - 1] == '\r')
    (*line_len)--;
  return TRUE;
}

MbSmtpCommand *
mb_smtp_command_parse (const char *line, gsize len)
{
  MbSmtpCommand *command;
  gsize          start = 0, verb_end, arg_start, arg_end = len;

  g_return_val_if_fail (line != NULL || len == 0, NULL);

  if (line == NULL)
    line = "";
  while (start < len && is_space (line[start]))
    start++;
  for (verb_end = start; verb_end < len && !is_space (line[verb_end]);
       verb_end++)
    ;
  for (arg_start = verb_end; arg_start < len && is_space (line[arg_start]);
       arg_start++)
    ;
  while (arg_end > arg_start && is_space (line[arg_end - 1]))
    arg_end--;

  command = g_new0 (MbSmtpCommand, 1);
  command->verb = MB_SMTP_VERB_UNKNOWN;
  command->verb_text = g_strndup (line + start, verb_end - start);
  /* A NUL would silently cut the argument short: refuse the whole line. */
  if (len > 0 && memchr (line, '\0', len) != NULL)
    {
      command->argument = g_strdup ("");
      return command;
    }
  command->argument = g_strndup (line + arg_start, arg_end - arg_start);
  for (guint i = 0; i < G_N_ELEMENTS (verbs); i++)
    if (strlen (verbs[i].name) == verb_end - start
        && g_ascii_strncasecmp (line + start, verbs[i].name, verb_end - start)
               == 0)
      command->verb = verbs[i].verb;
  return command;
}

void
mb_smtp_command_free (MbSmtpCommand *command)
{
  if (command == NULL)
    return;
  g_free (command->verb_text);
  g_free (command->argument);
  g_free (command);
}

MbSmtpMailArgs *
mb_smtp_mail_args_parse (const char *argument, GError **error)
{
  g_autoptr (MbSmtpMailArgs) args = NULL;
  const char *path, *params;
  gsize       path_len;

  g_return_val_if_fail (argument != NULL, NULL);

  args = g_new0 (MbSmtpMailArgs, 1);
  args->size = -1;
  if (!split_path_argument (argument, "FROM:", "Syntax: MAIL FROM:<address>",
                            &path, &path_len, &params, error))
    return NULL;
  /* The path's syntax first, its encoding once SMTPUTF8 is known. */
  if (!mb_smtp_path_parse (path, path_len, MB_SMTP_PATH_REVERSE, TRUE,
                           &args->reverse_path, error)
      || !parse_params (params, mail_params, args, error))
    return NULL;
  for (gsize i = 0; i < path_len && !args->smtputf8; i++)
    if ((guchar)path[i] >= 0x80)
      {
        set_error (error, MB_SMTP_PARSER_ERROR_NEEDS_SMTPUTF8,
                   "Non-ASCII address requires SMTPUTF8");
        return NULL;
      }
  return g_steal_pointer (&args);
}

void
mb_smtp_mail_args_free (MbSmtpMailArgs *args)
{
  if (args == NULL)
    return;
  g_free (args->reverse_path);
  g_free (args->envid);
  g_free (args);
}

MbSmtpRcptArgs *
mb_smtp_rcpt_args_parse (const char *argument,
                         gboolean    smtputf8,
                         GError    **error)
{
  g_autoptr (MbSmtpRcptArgs) args = NULL;
  const char *path, *params;
  gsize       path_len;

  g_return_val_if_fail (argument != NULL, NULL);

  args = g_new0 (MbSmtpRcptArgs, 1);
  if (!split_path_argument (argument, "TO:", "Syntax: RCPT TO:<address>", &path,
                            &path_len, &params, error))
    return NULL;
  if (!mb_smtp_path_parse (path, path_len, MB_SMTP_PATH_FORWARD, smtputf8,
                           &args->forward_path, error))
    return NULL;
  if (!parse_params (params, rcpt_params, args, error))
    return NULL;
  return g_steal_pointer (&args);
}

void
mb_smtp_rcpt_args_free (MbSmtpRcptArgs *args)
{
  if (args == NULL)
    return;
  g_free (args->forward_path);
  g_free (args->orcpt);
  g_free (args);
}

gboolean
mb_smtp_bdat_args_parse (const char     *argument,
                         MbSmtpBdatArgs *args,
                         GError        **error)
{
  const char *p = argument, *digits;
  guint64     size;
  gboolean    last = FALSE;

  g_return_val_if_fail (argument != NULL && args != NULL, FALSE);

  while (is_space (*p))
    p++;
  for (digits = p; g_ascii_isdigit (*p); p++)
    ;
  if (!parse_decimal (digits, (gsize)(p - digits), G_MAXINT64, &size)
      || (*p != '\0' && !is_space (*p)))
    return set_error (error, MB_SMTP_PARSER_ERROR_SYNTAX,
                      "Syntax: BDAT chunk-size [LAST]");
  while (is_space (*p))
    p++;
  if (g_ascii_strncasecmp (p, "LAST", 4) == 0)
    {
      last = TRUE;
      p += 4;
      while (is_space (*p))
        p++;
    }
  if (*p != '\0')
    return set_error (error, MB_SMTP_PARSER_ERROR_SYNTAX,
                      "Syntax: BDAT chunk-size [LAST]");
  args->chunk_size = size;
  args->last = last;
  return TRUE;
}

char *
mb_smtp_xtext_encode (const char *text)
{
  GString *out;

  g_return_val_if_fail (text != NULL, NULL);

  out = g_string_sized_new (strlen (text));
  for (const char *p = text; *p != '\0'; p++)
    {
      guchar c = (guchar)*p;

      if (c < 33 || c > 126 || c == '+' || c == '=')
        g_string_append_printf (out, "+%02X", c);
      else
        g_string_append_c (out, (char)c);
    }
  return g_string_free (out, FALSE);
}

char *
mb_smtp_xtext_decode (const char *xtext, GError **error)
{
  g_autoptr (GString) out = NULL;

  g_return_val_if_fail (xtext != NULL, NULL);

  out = g_string_sized_new (strlen (xtext));
  for (const char *p = xtext; *p != '\0'; p++)
    {
      guchar c = (guchar)*p;

      if (c == '+')
        {
          /* hexchar: "+" and two upper-case hex digits (RFC 3461 4);
           * "+00" would end the C string early, so it is refused too. */
          int hi = upper_hex_value (p[1]);
          int lo = hi >= 0 ? upper_hex_value (p[2]) : -1;

          if (lo < 0 || (hi == 0 && lo == 0))
            {
              set_error (error, MB_SMTP_PARSER_ERROR_BAD_PARAM,
                         "Malformed xtext escape");
              return NULL;
            }
          g_string_append_c (out, (char)(hi << 4 | lo));
          p += 2;
        }
      else if (c < 33 || c > 126 || c == '=')
        {
          set_error (error, MB_SMTP_PARSER_ERROR_BAD_PARAM,
                     "Malformed xtext character");
          return NULL;
        }
      else
        g_string_append_c (out, (char)c);
    }
  return g_string_free (g_steal_pointer (&out), FALSE);
}

void
mb_smtp_parser_error_reply (const GError *error,
                            guint        *code,
                            const char  **enhanced)
{
  g_return_if_fail (error != NULL && code != NULL && enhanced != NULL);

  /* RFC 3463: 5.1.3 bad destination address syntax (used for the sender
   * too: the error does not say which path it was), 5.6.7 non-ASCII
   * address without SMTPUTF8 (RFC 6531 3.7.4), 5.5.4 invalid arguments. */
  *code = 501;
  *enhanced = "5.5.4";
  if (error->domain != MB_SMTP_PARSER_ERROR)
    return;
  switch ((MbSmtpParserError)error->code)
    {
    case MB_SMTP_PARSER_ERROR_BAD_PATH:
    case MB_SMTP_PARSER_ERROR_NULL_RCPT:
      *enhanced = "5.1.3";
      break;
    case MB_SMTP_PARSER_ERROR_NEEDS_SMTPUTF8:
      *code = 553;
      *enhanced = "5.6.7";
      break;
    case MB_SMTP_PARSER_ERROR_UNKNOWN_PARAM:
      *code = 555;
      break;
    case MB_SMTP_PARSER_ERROR_SYNTAX:
    case MB_SMTP_PARSER_ERROR_BAD_PARAM:
    case MB_SMTP_PARSER_ERROR_DUPLICATE_PARAM:
    default:
      break;
    }
}
