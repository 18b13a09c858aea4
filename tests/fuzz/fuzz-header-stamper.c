/* fuzz-header-stamper.c - fuzz target for relay/mb-header-stamper.h
 *
 * The input is a message as a device sends it (after the DATA decoder).  It
 * goes through the stamper twice, once whole and once in chunks of 1..64
 * octets drawn from the input.  Each output must be our Received: field,
 * then at most a Date:, a Message-ID: and an empty line of our own, then
 * the device's bytes unchanged; both runs must add the same fields and
 * find the same Message-ID.  An input that starts with 0xFF is fed behind
 * a header section of almost 256 KiB (the stamper's limit), so that the
 * fuzzer's bytes meet the limit.  The parts of the input split at NUL
 * bytes also go to format_received() as HELO, client address, recipient,
 * protocol and queue id: the field must stay one folded header field.
 * A broken property aborts.
 */
#include "mb-header-stamper.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

/* mb-header-stamper.c's MAX_HELD. */
#define STAMPER_LIMIT (256 * 1024)

typedef struct
{
  gboolean added_date;
  gboolean added_id;
  gboolean separated;
  char    *message_id;
} Stamped;

/* "Received: from ...", folded with CRLF + TAB, ending in CRLF: one
 * field whatever the device and the recipient sent. */
static void
check_received (const char *received)
{
  gsize len = strlen (received);

  /* It may fold right after the colon when the first clause is long. */
  if ((!g_str_has_prefix (received, "Received: from ")
       && !g_str_has_prefix (received, "Received:\r\n\tfrom "))
      || !g_str_has_suffix (received, "\r\n")
      || strstr (received, "(Mailbridge)") == NULL
      || !g_utf8_validate (received, -1, NULL))
    abort ();
  for (gsize i = 0; i < len; i++)
    {
      guchar c = received[i];

      if (c == '\r')
        {
          if (received[i + 1] != '\n'
              || (i + 2 < len && received[i + 2] != '\t'))
            abort ();
        }
      else if (c == '\n')
        {
          if (i == 0 || received[i - 1] != '\r')
            abort ();
        }
      else if ((c < 0x20 && c != '\t') || c == 0x7f)
        abort ();
    }
}

/* A line of our own: @prefix, printable ASCII, CRLF.  Returns its length
 * or 0. */
static gsize
match_line (const guint8 *data, gsize len, const char *prefix)
{
  gsize prefix_len = strlen (prefix);

  if (len < prefix_len + 2 || memcmp (data, prefix, prefix_len) != 0)
    return 0;
  for (gsize i = prefix_len; i + 1 < len; i++)
    {
      if (data[i] == '\r' && data[i + 1] == '\n')
        return i > prefix_len ? i + 2 : 0;
      if (data[i] < 0x20 || data[i] > 0x7e)
        return 0;
    }
  return 0;
}

static void
stamp (const char   *received,
       const guint8 *message,
       gsize         size,
       guint32       seed,
       Stamped      *stamped)
{
  g_autoptr (MbHeaderStamper) stamper
      = mb_header_stamper_new (received, "relay.office.lan");
  g_autoptr (GByteArray) out = g_byte_array_new ();
  gsize         received_len = strlen (received);
  gsize         offset = 0, pos, middle_len, n, id_len;
  const guint8 *middle, *id_line;

  while (offset < size)
    {
      gsize chunk = size - offset;

      if (seed != 0)
        {
          seed ^= seed << 13; /* xorshift32 */
          seed ^= seed >> 17;
          seed ^= seed << 5;
          chunk = MIN (chunk, 1 + seed % 64);
        }
      mb_header_stamper_feed (stamper, message + offset, chunk, out);
      offset += chunk;
    }
  mb_header_stamper_finish (stamper, out);

  /* RECEIVED [Date] [Message-ID] [CRLF] MESSAGE */
  if (out->len < received_len + size
      || memcmp (out->data, received, received_len) != 0
      || (size > 0 && memcmp (out->data + out->len - size, message, size) != 0))
    abort ();
  middle = out->data + received_len;
  middle_len = out->len - received_len - size;
  pos = 0;
  n = match_line (middle, middle_len, "Date: ");
  stamped->added_date = n > 0;
  pos += n;
  n = match_line (middle + pos, middle_len - pos, "Message-ID: <");
  stamped->added_id = n > 0;
  id_line = middle + pos;
  id_len = n;
  pos += n;
  stamped->separated
      = middle_len - pos == 2 && middle[pos] == '\r' && middle[pos + 1] == '\n';
  if (stamped->separated)
    pos += 2;
  if (pos != middle_len || (stamped->separated && size == 0))
    abort ();

  stamped->message_id = g_strdup (mb_header_stamper_get_message_id (stamper));
  if (stamped->message_id == NULL)
    abort ();
  if (stamped->added_id)
    {
      g_autofree char *line
          = g_strdup_printf ("Message-ID: <%s>\r\n", stamped->message_id);

      if (id_len != strlen (line) || memcmp (id_line, line, id_len) != 0)
        abort ();
    }
}

/* Splits @data at NUL bytes into at most 5 strings (NULL when absent). */
static void
split_fields (const uint8_t *data, size_t size, char *fields[5])
{
  gsize start = 0;

  for (int i = 0; i < 5; i++)
    {
      gsize end = start;

      fields[i] = NULL;
      if (start > size)
        continue;
      while (end < size && data[end] != '\0')
        end++;
      fields[i] = g_strndup ((const char *)data + start, end - start);
      start = end + 1;
    }
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  static const uint8_t empty[1];
  g_autoptr (GDateTime) when = g_date_time_new_utc (2026, 11, 24, 9, 0, 0);
  g_autofree char *received = NULL;
  g_autoptr (GByteArray) message = g_byte_array_new ();
  char   *fields[5];
  Stamped whole = { 0 }, chunked = { 0 };
  guint32 seed = 2166136261u;

  if (data == NULL)
    data = empty;
  for (size_t i = 0; i < size; i++)
    seed = (seed ^ data[i]) * 16777619u; /* FNV-1a */

  split_fields (data, size, fields);
  received = mb_header_stamper_format_received (fields[0], fields[1],
                                                "relay.office.lan", fields[3],
                                                fields[4], fields[2], when);
  check_received (received);
  for (int i = 0; i < 5; i++)
    g_free (fields[i]);

  if (size > 0 && data[0] == 0xff)
    {
      static const char pad[] = "X-Pad: 0123456789abcdef0123456789abcdef0123"
                                "456789abcdef0123456789abcdef\r\n";

      while (message->len + sizeof pad < STAMPER_LIMIT - 64)
        g_byte_array_append (message, (const guint8 *)pad, sizeof pad - 1);
      g_byte_array_append (message, data + 1, size - 1);
    }
  else
    g_byte_array_append (message, data, size);

  stamp (received, message->data, message->len, 0, &whole);
  stamp (received, message->data, message->len, seed != 0 ? seed : 1, &chunked);
  if (whole.added_date != chunked.added_date
      || whole.added_id != chunked.added_id
      || whole.separated != chunked.separated
      || (!whole.added_id
          && strcmp (whole.message_id, chunked.message_id) != 0))
    abort ();
  g_free (whole.message_id);
  g_free (chunked.message_id);
  return 0;
}
