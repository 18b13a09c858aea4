/* mb-smtp-data.c - DATA framing: end-of-data detection and dot-unstuffing
 *
 * WHAT IT DOES
 *   Turns the bytes a client sends after "354" into the message (RFC 5321
 *   4.1.1.4, 4.5.2): a "." at the start of a line is removed when more
 *   follows on that line, and the data ends at the first <CRLF>.<CRLF>,
 *   whose leading CRLF is the end of the previous line or the start of the
 *   data.  The message keeps the CRLF of its last line.  Part of the
 *   smtp-parser module (API in mb-smtp-parser.h).
 *
 * GUARANTEES
 *   Input may be split at any byte: the decoder is a state machine that
 *   carries at most one pending "." or CR between calls and yields the same
 *   output however the input is cut.  Nothing but <CRLF>.<CRLF> ends the
 *   data: a bare LF (not after CR) or a bare CR (not before LF) is passed
 *   through unchanged and only sets a problem flag, so "<LF>.<LF>",
 *   "<CR>.<CR>", "<LF>.<CRLF>" and the other SMTP smuggling variants never
 *   end a message early; the caller refuses a message with problems once
 *   the real end has been seen.  A line is a line only after a real CRLF.
 *   Runs of ordinary bytes are found with memchr() and appended as one
 *   span: a message costs one append per feed plus one per stuffed dot.
 *   Never reads past @in_len, never consumes past the end of data.
 *
 * WHAT IT DOES NOT DO
 *   No limits other than flagging lines longer than max_line_length
 *   octets (counted after unstuffing, without the CRLF; a bare CR counts
 *   as text, a bare LF starts a new count); the size cap is the caller's, via
 * get_size().  No header parsing, no line-ending repair.
 */
#define G_LOG_DOMAIN "mb-smtp-parser"

#include "mb-smtp-parser-private.h"

#include <string.h>

typedef enum
{
  STATE_LINE_START, /* after a real CRLF, or at the start of the data */
  STATE_TEXT,       /* inside a line */
  STATE_CR,         /* after a CR inside a line (already in the output) */
  STATE_DOT,        /* after a "." at a line start (not in the output) */
  STATE_DOT_CR,     /* after "." CR at a line start (neither in output) */
  STATE_DONE,       /* <CRLF>.<CRLF> seen */
} State;

struct _MbSmtpDataDecoder
{
  State    state;
  gsize    max_line_length; /* 0: no limit */
  guint64  line_length;     /* octets of the current line so far */
  guint64  size;
  guint    problems; /* MbSmtpDataProblem */
  gboolean saw_8bit;
};

static void
append_span (MbSmtpDataDecoder *decoder,
             GByteArray        *out,
             const guint8      *start,
             const guint8      *end)
{
  if (end == start)
    return;
  decoder->size += (guint64)(end - start);
  if (out != NULL)
    g_byte_array_append (out, start, (guint)(end - start));
}

static void
add_line_length (MbSmtpDataDecoder *decoder, guint64 n)
{
  decoder->line_length += n;
  if (decoder->max_line_length != 0
      && decoder->line_length > decoder->max_line_length)
    decoder->problems |= MB_SMTP_DATA_PROBLEM_LINE_TOO_LONG;
}

/* Word-at-a-time test for a byte >= 0x80, only until the first one. */
static void
scan_8bit (MbSmtpDataDecoder *decoder, const guint8 *p, gsize n)
{
  guint64 acc = 0;
  gsize   i = 0;

  if (decoder->saw_8bit)
    return;
  for (; i + 8 <= n; i += 8)
    {
      guint64 word;

      memcpy (&word, p + i, 8);
      acc |= word;
    }
  for (; i < n; i++)
    acc |= p[i];
  decoder->saw_8bit = (acc & G_GUINT64_CONSTANT (0x8080808080808080)) != 0;
}

/* The next CR or LF at or after @pos, or @len.  The positions found are
 * cached in *cr and *lf so that a buffer is scanned once per character,
 * even when one of them is rare (e.g. LF-only input); -1 means not
 * looked up yet. */
static gsize
find_line_break (const guint8 *in, gsize len, gsize pos, gssize *cr, gssize *lf)
{
  const guint8 *hit;

  if (*cr < (gssize)pos)
    {
      hit = memchr (in + pos, '\r', len - pos);
      *cr = hit != NULL ? hit - in : (gssize)len;
    }
  if (*lf < (gssize)pos)
    {
      hit = memchr (in + pos, '\n', len - pos);
      *lf = hit != NULL ? hit - in : (gssize)len;
    }
  return (gsize)MIN (*cr, *lf);
}

MbSmtpDataDecoder *
mb_smtp_data_decoder_new (gsize max_line_length)
{
  MbSmtpDataDecoder *decoder = g_new0 (MbSmtpDataDecoder, 1);

  decoder->state = STATE_LINE_START;
  decoder->max_line_length = max_line_length;
  return decoder;
}

void
mb_smtp_data_decoder_free (MbSmtpDataDecoder *decoder)
{
  g_free (decoder);
}

MbSmtpDataStatus
mb_smtp_data_decoder_feed (MbSmtpDataDecoder *decoder,
                           const guint8      *in,
                           gsize              in_len,
                           gsize             *consumed,
                           GByteArray        *out)
{
  gsize  pos = 0;
  gsize  run = 0;          /* start of the bytes not yet appended to @out */
  gssize cr = -1, lf = -1; /* see find_line_break() */

  g_return_val_if_fail (decoder != NULL, MB_SMTP_DATA_END);
  g_return_val_if_fail (in != NULL || in_len == 0, MB_SMTP_DATA_END);
  g_return_val_if_fail (consumed != NULL, MB_SMTP_DATA_END);

  *consumed = 0;
  if (decoder->state == STATE_DONE)
    return MB_SMTP_DATA_END;

  while (pos < in_len)
    {
      guint8 c = in[pos];

      switch (decoder->state)
        {
        case STATE_LINE_START:
          decoder->line_length = 0;
          if (c == '.')
            {
              /* Never part of the message: either stuffing or the end. */
              append_span (decoder, out, in + run, in + pos);
              run = ++pos;
              decoder->state = STATE_DOT;
            }
          else
            decoder->state = STATE_TEXT;
          break;

        case STATE_TEXT:
          {
            gsize stop;

            stop = find_line_break (in, in_len, pos, &cr, &lf);
            scan_8bit (decoder, in + pos, stop - pos);
            add_line_length (decoder, stop - pos);
            pos = stop;
            if (pos == in_len)
              break;
            if (in[pos] == '\n')
              {
                /* Not a line end for framing, but one for the length: an
                 * LF-only message is refused for its bare LFs, not as one
                 * long line. */
                decoder->problems |= MB_SMTP_DATA_PROBLEM_BARE_LF;
                decoder->line_length = 0;
              }
            else
              decoder->state = STATE_CR;
            pos++;
          }
          break;

        case STATE_CR:
          if (c == '\n')
            {
              pos++;
              decoder->state = STATE_LINE_START;
            }
          else
            {
              decoder->problems |= MB_SMTP_DATA_PROBLEM_BARE_CR;
              add_line_length (decoder, 1);
              decoder->state = STATE_TEXT;
            }
          break;

        case STATE_DOT:
          if (c == '\r')
            {
              /* Held back: it is output only if no LF follows. */
              run = ++pos;
              decoder->state = STATE_DOT_CR;
            }
          else
            decoder->state = STATE_TEXT; /* the dot was stuffing */
          break;

        case STATE_DOT_CR:
          if (c == '\n')
            {
              decoder->state = STATE_DONE;
              *consumed = pos + 1;
              return MB_SMTP_DATA_END;
            }
          decoder->problems |= MB_SMTP_DATA_PROBLEM_BARE_CR;
          append_span (decoder, out, (const guint8 *)"\r",
                       (const guint8 *)"\r" + 1);
          add_line_length (decoder, 1);
          decoder->state = STATE_TEXT;
          break;

        case STATE_DONE:
        default:
          g_assert_not_reached ();
        }
    }
  append_span (decoder, out, in + run, in + pos);
  *consumed = in_len;
  return MB_SMTP_DATA_MORE;
}

guint
mb_smtp_data_decoder_get_problems (MbSmtpDataDecoder *decoder)
{
  g_return_val_if_fail (decoder != NULL, 0);

  return decoder->problems;
}

guint64
mb_smtp_data_decoder_get_size (MbSmtpDataDecoder *decoder)
{
  g_return_val_if_fail (decoder != NULL, 0);

  return decoder->size;
}

gboolean
mb_smtp_data_decoder_saw_8bit (MbSmtpDataDecoder *decoder)
{
  g_return_val_if_fail (decoder != NULL, FALSE);

  return decoder->saw_8bit;
}
