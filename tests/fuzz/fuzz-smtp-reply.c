/* fuzz-smtp-reply.c - fuzz target for relay/mb-smtp-reply.h
 *
 * The input is what a hostile upstream server sends.  It goes to the
 * incremental reply parser twice, once whole and once in chunks of 1..64
 * octets drawn from the input (as reads off a socket would cut it): both
 * runs must yield the same replies and fail alike, and each reply must keep
 * the header's promises (code range, enhanced code class, text that is
 * UTF-8 without control characters).  Every reply is also read as an EHLO
 * answer, the input as one reply (mb_smtp_reply_parse), as the keyword
 * text of an EHLO answer, and as a user and token for XOAUTH2.  A broken
 * property aborts.
 */
#include "mb-smtp-reply.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

typedef struct
{
  GPtrArray *replies; /* (element-type MbSmtpReply) */
  gboolean   failed;
  gint       error_code;
} Run;

static gboolean
is_clean_text (const char *text, gboolean newline_ok)
{
  if (!g_utf8_validate (text, -1, NULL))
    return FALSE;
  for (const guchar *p = (const guchar *)text; *p != '\0'; p++)
    if ((*p < 0x20 && *p != '\t' && !(newline_ok && *p == '\n')) || *p == 0x7f)
      return FALSE;
  return TRUE;
}

/* RFC 3463 2: class "." 1*3digit "." 1*3digit. */
static gboolean
is_enhanced_code (const char *text, guint code)
{
  const char *p = text;

  if ((guint)(p[0] - '0') != code / 100 || p[1] != '.')
    return FALSE;
  p += 2;
  for (int part = 0; part < 2; part++)
    {
      int digits = 0;

      while (g_ascii_isdigit (*p))
        p++, digits++;
      if (digits < 1 || digits > 3 || *p != (part == 0 ? '.' : '\0'))
        return FALSE;
      p++;
    }
  return TRUE;
}

static void
check_capabilities (const MbSmtpReply *reply)
{
  g_autoptr (MbSmtpCapabilities) caps = mb_smtp_capabilities_parse (reply);
  g_autoptr (MbSmtpCapabilities) copy = mb_smtp_capabilities_copy (caps);

  if (caps == NULL || caps->auth_mechanisms == NULL)
    abort ();
  for (guint i = 0; caps->auth_mechanisms[i] != NULL; i++)
    {
      const char *mechanism = caps->auth_mechanisms[i];

      if (*mechanism == '\0' || strpbrk (mechanism, " \t") != NULL
          || !mb_smtp_capabilities_has_auth (caps, mechanism))
        abort ();
      for (const char *p = mechanism; *p != '\0'; p++)
        if (g_ascii_islower (*p))
          abort ();
      for (guint j = 0; j < i; j++)
        if (strcmp (caps->auth_mechanisms[j], mechanism) == 0)
          abort ();
    }
  if ((caps->auth_mechanisms[0] != NULL
       && !mb_smtp_capabilities_has (caps, MB_SMTP_EXT_AUTH))
      || (caps->size != 0
          && !mb_smtp_capabilities_has (caps, MB_SMTP_EXT_SIZE)))
    abort ();
  if (copy->extensions != caps->extensions || copy->size != caps->size
      || g_strv_length (copy->auth_mechanisms)
             != g_strv_length (caps->auth_mechanisms))
    abort ();
}

static void
check_reply (const MbSmtpReply *reply)
{
  g_autofree char *line = NULL;
  g_autofree char *code = NULL;
  guint            kinds;

  if (reply->code < 200 || reply->code > 559 || reply->code % 100 > 59)
    abort ();
  if (reply->enhanced != NULL
      && !is_enhanced_code (reply->enhanced, reply->code))
    abort ();
  if (reply->text == NULL || !is_clean_text (reply->text, TRUE))
    abort ();
  kinds = mb_smtp_reply_is_positive (reply)
          + mb_smtp_reply_is_intermediate (reply)
          + mb_smtp_reply_is_transient (reply)
          + mb_smtp_reply_is_permanent (reply);
  if (kinds != 1)
    abort ();

  /* The one-line form goes into logs and envelopes. */
  line = mb_smtp_reply_to_string (reply);
  code = g_strdup_printf ("%03u", reply->code);
  if (!g_str_has_prefix (line, code) || !is_clean_text (line, FALSE))
    abort ();
  check_capabilities (reply);
}

static void
run_clear (Run *run)
{
  g_ptr_array_unref (run->replies);
}

/* Feeds @data whole (@seed 0) or in chunks of 1..64 octets drawn from
 * @seed, up to the first error. */
static void
run_parser (const uint8_t *data, size_t size, guint32 seed, Run *run)
{
  g_autoptr (MbSmtpReplyParser) parser = mb_smtp_reply_parser_new ();
  gsize offset = 0;

  run->replies
      = g_ptr_array_new_with_free_func ((GDestroyNotify)mb_smtp_reply_free);
  run->failed = FALSE;
  while (offset < size && !run->failed)
    {
      gsize chunk = size - offset, pos = 0;

      if (seed != 0)
        {
          seed ^= seed << 13; /* xorshift32 */
          seed ^= seed >> 17;
          seed ^= seed << 5;
          chunk = MIN (chunk, 1 + seed % 64);
        }
      while (pos < chunk)
        {
          g_autoptr (GError) error = NULL;
          MbSmtpReply            *reply = NULL;
          gsize                   consumed = 0;
          MbSmtpReplyParserStatus status;

          status = mb_smtp_reply_parser_feed (parser, data + offset + pos,
                                              chunk - pos, &consumed, &reply,
                                              &error);
          if (consumed > chunk - pos)
            abort ();
          if (status == MB_SMTP_REPLY_PARSER_MORE)
            {
              if (consumed != chunk - pos || reply != NULL || error != NULL)
                abort ();
            }
          else if (status == MB_SMTP_REPLY_PARSER_DONE)
            {
              if (reply == NULL || error != NULL || consumed == 0
                  || data[offset + pos + consumed - 1] != '\n')
                abort ();
              check_reply (reply);
              g_ptr_array_add (run->replies, reply);
            }
          else
            {
              if (reply != NULL || error == NULL
                  || error->domain != MB_SMTP_REPLY_ERROR
                  || !g_utf8_validate (error->message, -1, NULL)
                  || strpbrk (error->message, "\r\n") != NULL)
                abort ();
              run->failed = TRUE;
              run->error_code = error->code;
              break;
            }
          pos += consumed;
        }
      offset += chunk;
    }

  /* A failed parser refuses more input until it is reset. */
  if (run->failed)
    {
      g_autoptr (GError) error = NULL;
      MbSmtpReply *reply = NULL;
      gsize        consumed = 0;

      if (mb_smtp_reply_parser_feed (parser, (const guint8 *)"250 ok\r\n", 8,
                                     &consumed, &reply, &error)
          != MB_SMTP_REPLY_PARSER_ERROR)
        abort ();
      g_clear_error (&error);
      mb_smtp_reply_parser_reset (parser);
      if (mb_smtp_reply_parser_feed (parser, (const guint8 *)"250 ok\r\n", 8,
                                     &consumed, &reply, &error)
          != MB_SMTP_REPLY_PARSER_DONE)
        abort ();
      mb_smtp_reply_free (reply);
    }
}

static gboolean
replies_equal (const MbSmtpReply *a, const MbSmtpReply *b)
{
  return a->code == b->code && g_strcmp0 (a->enhanced, b->enhanced) == 0
         && strcmp (a->text, b->text) == 0;
}

static void
check_whole_reply (const uint8_t *data, size_t size, const Run *run)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (MbSmtpReply) reply
      = mb_smtp_reply_parse ((const char *)data, size, &error);

  if (reply == NULL)
    {
      if (error == NULL || error->domain != MB_SMTP_REPLY_ERROR)
        abort ();
      return;
    }
  check_reply (reply);
  /* One complete reply and nothing after it, or one whose last line ends
   * without a line end. */
  if (run->failed
      || (run->replies->len == 1
          && !replies_equal (reply, g_ptr_array_index (run->replies, 0)))
      || (run->replies->len == 0 && (size == 0 || data[size - 1] == '\n'))
      || run->replies->len > 1)
    abort ();
}

/* Any text as the keyword lines of an EHLO answer. */
static void
check_keywords (const uint8_t *data, size_t size)
{
  g_autofree char *text = g_utf8_make_valid ((const char *)data, size);
  g_autoptr (MbSmtpReply) reply = mb_smtp_reply_new (250, NULL, text);

  check_capabilities (reply);
}

/* The input up to its first NUL as the user, the rest as the token. */
static void
check_xoauth2 (const uint8_t *data, size_t size)
{
  gsize            user_len = strnlen ((const char *)data, size);
  g_autofree char *user = g_strndup ((const char *)data, user_len);
  g_autofree char *token
      = user_len < size
            ? g_strndup ((const char *)data + user_len + 1, size - user_len - 1)
            : g_strdup ("");
  g_autofree char *expected
      = g_strdup_printf ("user=%s\001auth=Bearer %s\001\001", user, token);
  char              *encoded = mb_smtp_xoauth2_encode (user, token);
  g_autofree guchar *decoded = NULL;
  gsize              decoded_len = 0;

  if (strpbrk (encoded, "\r\n ") != NULL)
    abort ();
  decoded = g_base64_decode (encoded, &decoded_len);
  if (decoded_len != strlen (expected)
      || memcmp (decoded, expected, decoded_len) != 0)
    abort ();
  mb_smtp_secret_free (encoded);
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  static const uint8_t empty[1];
  Run                  whole, chunked;
  guint32              seed = 2166136261u;

  if (data == NULL)
    data = empty;
  for (size_t i = 0; i < size; i++)
    seed = (seed ^ data[i]) * 16777619u; /* FNV-1a */

  run_parser (data, size, 0, &whole);
  run_parser (data, size, seed != 0 ? seed : 1, &chunked);
  if (whole.replies->len != chunked.replies->len
      || whole.failed != chunked.failed
      || (whole.failed && whole.error_code != chunked.error_code))
    abort ();
  for (guint i = 0; i < whole.replies->len; i++)
    if (!replies_equal (g_ptr_array_index (whole.replies, i),
                        g_ptr_array_index (chunked.replies, i)))
      abort ();

  check_whole_reply (data, size, &whole);
  check_keywords (data, size);
  check_xoauth2 (data, size);
  run_clear (&whole);
  run_clear (&chunked);
  return 0;
}
