/* fuzz-smtp-parser.c - fuzz target for relay/mb-smtp-parser.h
 *
 * The input is read as what a client sends: each line (next_line) is
 * parsed as a command, MAIL/RCPT/BDAT arguments as such (RCPT with and
 * without SMTPUTF8), every argument also as a mailbox and as xtext.  Then
 * the whole input goes to the DATA decoder, once whole and once in chunks
 * of sizes drawn from the input: both runs must agree, and an accepted end
 * of data must be a real <CRLF>.<CRLF>.  A broken property aborts.
 */
#include "mb-smtp-parser.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

typedef struct
{
  MbSmtpDataStatus status;
  gsize            consumed;
  guint            problems;
  guint64          size;
  gboolean         eight_bit;
  GByteArray      *out;
} Decoded;

static void
check_error (const GError *error)
{
  guint       code = 0;
  const char *enhanced = NULL;

  if (error == NULL || error->domain != MB_SMTP_PARSER_ERROR)
    abort ();
  mb_smtp_parser_error_reply (error, &code, &enhanced);
  if ((code != 501 && code != 553 && code != 555) || enhanced == NULL
      || strpbrk (error->message, "\r\n") != NULL)
    abort ();
}

static void
check_xtext (const char *text)
{
  g_autofree char *encoded = mb_smtp_xtext_encode (text);
  g_autofree char *back = mb_smtp_xtext_decode (encoded, NULL);
  g_autoptr (GError) error = NULL;
  g_autofree char *decoded = mb_smtp_xtext_decode (text, &error);

  if (back == NULL || strcmp (back, text) != 0)
    abort ();
  if (decoded == NULL)
    check_error (error);
}

static void
parse_line (const char *line, gsize len)
{
  g_autoptr (MbSmtpCommand) command = mb_smtp_command_parse (line, len);
  const char *arg = command->argument;

  /* Whatever is a mailbox in ASCII is one with SMTPUTF8 too. */
  if (mb_smtp_parser_is_valid_mailbox (arg, FALSE)
      && !mb_smtp_parser_is_valid_mailbox (arg, TRUE))
    abort ();
  check_xtext (arg);

  if (command->verb == MB_SMTP_VERB_MAIL)
    {
      g_autoptr (GError) error = NULL;
      g_autoptr (MbSmtpMailArgs) mail = mb_smtp_mail_args_parse (arg, &error);

      if (mail == NULL)
        check_error (error);
      else if (*mail->reverse_path != '\0'
               && !mb_smtp_parser_is_valid_mailbox (mail->reverse_path,
                                                    mail->smtputf8))
        abort ();
    }
  else if (command->verb == MB_SMTP_VERB_RCPT)
    {
      for (int utf8 = 0; utf8 < 2; utf8++)
        {
          g_autoptr (GError) error = NULL;
          g_autoptr (MbSmtpRcptArgs) rcpt
              = mb_smtp_rcpt_args_parse (arg, utf8, &error);

          if (rcpt == NULL)
            check_error (error);
          else if (strcmp (rcpt->forward_path, "postmaster") != 0
                   && !mb_smtp_parser_is_valid_mailbox (rcpt->forward_path,
                                                        utf8))
            abort ();
        }
    }
  else if (command->verb == MB_SMTP_VERB_BDAT)
    {
      g_autoptr (GError) error = NULL;
      MbSmtpBdatArgs bdat;

      if (!mb_smtp_bdat_args_parse (arg, &bdat, &error))
        check_error (error);
      else if (bdat.chunk_size > G_MAXINT64)
        abort ();
    }
}

/* Feeds @data whole (@seed 0) or in chunks of 1..64 octets drawn from
 * @seed. */
static void
decode (const uint8_t *data, size_t size, guint32 seed, Decoded *d)
{
  g_autoptr (MbSmtpDataDecoder) decoder = mb_smtp_data_decoder_new (998);
  gsize offset = 0;

  d->out = g_byte_array_new ();
  d->status = MB_SMTP_DATA_MORE;
  do
    {
      gsize chunk = size - offset, consumed = 0;

      if (seed != 0)
        {
          seed ^= seed << 13; /* xorshift32 */
          seed ^= seed >> 17;
          seed ^= seed << 5;
          chunk = MIN (chunk, 1 + seed % 64);
        }
      d->status = mb_smtp_data_decoder_feed (decoder, data + offset, chunk,
                                             &consumed, d->out);
      if (consumed > chunk
          || (d->status == MB_SMTP_DATA_MORE && consumed != chunk))
        abort ();
      offset += consumed;
    }
  while (d->status == MB_SMTP_DATA_MORE && offset < size);
  d->consumed = offset;
  d->problems = mb_smtp_data_decoder_get_problems (decoder);
  d->size = mb_smtp_data_decoder_get_size (decoder);
  d->eight_bit = mb_smtp_data_decoder_saw_8bit (decoder);
}

static void
check_data (const uint8_t *data, size_t size)
{
  Decoded whole, chunked;
  guint32 seed = 2166136261u;

  for (size_t i = 0; i < size; i++)
    seed = (seed ^ data[i]) * 16777619u; /* FNV-1a */
  decode (data, size, 0, &whole);
  decode (data, size, seed != 0 ? seed : 1, &chunked);

  if (whole.status != chunked.status || whole.consumed != chunked.consumed
      || whole.problems != chunked.problems || whole.size != chunked.size
      || whole.eight_bit != chunked.eight_bit
      || whole.out->len != chunked.out->len
      || (whole.out->len != 0
          && memcmp (whole.out->data, chunked.out->data, whole.out->len) != 0)
      || whole.size != whole.out->len)
    abort ();

  if (whole.status == MB_SMTP_DATA_END)
    {
      const uint8_t *end = data + whole.consumed;

      /* The end is ".\r\n" at the start or after a real CRLF ... */
      if (whole.consumed < 3 || memcmp (end - 3, ".\r\n", 3) != 0
          || (whole.consumed != 3
              && (whole.consumed < 5 || memcmp (end - 5, "\r\n", 2) != 0)))
        abort ();
      /* ... and a message without problems has CRLF line ends only. */
      for (guint i = 0; whole.problems == 0 && i < whole.out->len; i++)
        if ((whole.out->data[i] == '\r'
             && (i + 1 == whole.out->len || whole.out->data[i + 1] != '\n'))
            || (whole.out->data[i] == '\n'
                && (i == 0 || whole.out->data[i - 1] != '\r')))
          abort ();
    }
  g_byte_array_unref (whole.out);
  g_byte_array_unref (chunked.out);
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  static const uint8_t empty[1];
  gsize                offset = 0, line_len = 0, consumed = 0;

  if (data == NULL)
    data = empty;
  while (mb_smtp_parser_next_line (data + offset, size - offset, &line_len,
                                   &consumed))
    {
      if (consumed == 0 || line_len >= consumed || consumed > size - offset)
        abort ();
      parse_line ((const char *)data + offset, line_len);
      offset += consumed;
    }
  parse_line ((const char *)data + offset, size - offset);
  check_data (data, size);
  return 0;
}
