/* fuzz-sender-policy.c - fuzz target for relay/mb-sender-policy.h
 *
 * The input is a message as a device sent it, taken as it comes and as
 * the spool holds it (behind our Received: field).  Its header section
 * is read as the scheduler reads it (mb_sender_policy_read_header() on a
 * stream), its From: taken (get_from) and decided on for one of a few
 * route settings picked by a hash of the input; the input's first line
 * is also tried as the envelope sender.  Then:
 *   - the decision's field values are single lines (no CR, LF or other
 *     control characters: nothing can be injected into the header);
 *   - the rewritten header section ends as before, and in a message
 *     with CRLF line ends only (all the spool holds) our From: is the one
 *     a reader finds (get_from of the result);
 *   - the rewritten stream (mb_sender_policy_rewrite_stream()) is the
 *     rewritten header section followed by the rest of the message, and
 *     its size_delta is right.
 * A broken property aborts.
 */
#include "mb-sender-policy.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

static gboolean
is_one_line (const char *text)
{
  if (text == NULL)
    return TRUE;
  for (const guchar *p = (const guchar *)text; *p != '\0'; p++)
    if ((*p < 0x20 && *p != '\t') || *p == 0x7f)
      return FALSE;
  return TRUE;
}

static MbSenderPolicyConfig *
make_config (guint32 variant)
{
  static const char *const send_as[]
      = { "scanner@contoso.com", "Fax@Contoso.com", NULL };
  MbSenderPolicyConfig *config;

  config = mb_sender_policy_config_new (variant % 2 == 0
                                            ? MB_ROUTE_METHOD_SUBMISSION
                                            : MB_ROUTE_METHOD_DIRECT_SEND);
  config->mode = MB_SENDER_POLICY_MODE_REWRITE_FROM;
  if (variant % 3 == 1)
    config->mode = MB_SENDER_POLICY_MODE_REWRITE_ENVELOPE;
  else if (variant % 3 == 2 && variant % 2 == 1)
    config->mode = MB_SENDER_POLICY_MODE_KEEP;
  config->mailbox = g_strdup (variant % 5 == 4 ? NULL : "relay@contoso.com");
  if (variant % 7 < 3)
    config->send_as = g_strdupv ((char **)send_as);
  config->admin_address = g_strdup (variant % 4 == 3 ? NULL : "it@contoso.com");
  config->accepted_domain = g_strdup ("contoso.com");
  return config;
}

static void
check_decision (const MbSenderDecision *decision)
{
  if (decision == NULL || decision->envelope_sender == NULL
      || decision->reason == NULL
      || !g_str_has_prefix (decision->reason, "policy=")
      || !is_one_line (decision->envelope_sender)
      || !is_one_line (decision->new_from) || !is_one_line (decision->reply_to)
      || !is_one_line (decision->original_from)
      || !is_one_line (decision->reason)
      || decision->rewrite_from != (decision->new_from != NULL)
      || (!decision->rewrite_from
          && (decision->reply_to != NULL || decision->original_from != NULL)))
    abort ();
}

static gboolean
contains_line_start (const guint8 *data, gsize len, const char *prefix)
{
  gsize prefix_len = strlen (prefix);

  for (gsize i = 0; i + prefix_len <= len; i++)
    if ((i == 0 || data[i - 1] == '\n')
        && memcmp (data + i, prefix, prefix_len) == 0)
      return TRUE;
  return FALSE;
}

/* The rewritten header section: its end unchanged, our From: in it. */
static void
check_rewrite (GBytes                 *header,
               gboolean                had_from,
               gboolean                crlf,
               const MbSenderDecision *decision)
{
  g_autoptr (GBytes) rewritten
      = mb_sender_policy_rewrite_header (header, decision);
  g_autofree char *from = NULL;
  gsize            header_len, new_len;
  const guint8    *header_data = g_bytes_get_data (header, &header_len);
  const guint8    *new_data = g_bytes_get_data (rewritten, &new_len);
  gsize            tail = 0;

  if (!decision->rewrite_from)
    {
      if (!g_bytes_equal (rewritten, header))
        abort ();
      return;
    }

  /* The empty line that ends the section, and anything read past it, stay
   * at the end. */
  if (header_len >= 2 && header_data[header_len - 1] == '\n'
      && header_data[header_len - 2] == '\r'
      && (header_len == 2
          || (header_len >= 4 && header_data[header_len - 3] == '\n'
              && header_data[header_len - 4] == '\r')))
    tail = 2;
  if (new_len < tail
      || (tail > 0
          && memcmp (new_data + new_len - tail, header_data + header_len - tail,
                     tail)
                 != 0))
    abort ();

  /* Where GMime found the device's From:, ours is now the From: it finds.
   * (Without one, ours is appended; GMime may not read that far, e.g. past
   * a line that is no field, so only check that it is there.) */
  from = mb_sender_policy_get_from (rewritten);
  if (crlf && had_from
      && (from == NULL || strcmp (from, decision->new_from) != 0))
    abort ();
  if (crlf && !had_from && !contains_line_start (new_data, new_len, "From:"))
    abort ();
}

/* mb_sender_policy_rewrite_stream() reads the header section itself and
 * must give the same bytes as rewrite_header() + the rest. */
static void
check_stream (const uint8_t          *data,
              size_t                  size,
              GBytes                 *message,
              const MbSenderDecision *decision)
{
  g_autoptr (GInputStream) input
      = g_memory_input_stream_new_from_bytes (message);
  g_autoptr (GInputStream) output = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (GBytes) header = NULL;
  g_autoptr (GBytes) rest = NULL;
  g_autoptr (GBytes) rewritten = NULL;
  g_autoptr (GByteArray) read = g_byte_array_new ();
  g_autoptr (GByteArray) expected = g_byte_array_new ();
  g_autoptr (GInputStream) again = NULL;
  gint64 delta = -1;
  gsize  header_len;

  output
      = mb_sender_policy_rewrite_stream (input, decision, &delta, NULL, &error);
  if (output == NULL)
    {
      if (!g_error_matches (error, MB_SENDER_POLICY_ERROR,
                            MB_SENDER_POLICY_ERROR_HEADER_TOO_LONG))
        abort ();
      return;
    }
  for (;;)
    {
      guint8 buffer[997];
      gssize n
          = g_input_stream_read (output, buffer, sizeof buffer, NULL, &error);

      if (n < 0)
        abort ();
      if (n == 0)
        break;
      g_byte_array_append (read, buffer, (guint)n);
    }

  again = g_memory_input_stream_new_from_bytes (message);
  if (!mb_sender_policy_read_header (again, &header, &rest, NULL, &error))
    abort ();
  rewritten = mb_sender_policy_rewrite_header (header, decision);
  g_byte_array_append (expected, g_bytes_get_data (rewritten, NULL),
                       (guint)g_bytes_get_size (rewritten));
  header_len = g_bytes_get_size (header);
  g_byte_array_append (expected, data + header_len, (guint)(size - header_len));
  if (read->len != expected->len
      || (read->len > 0 && memcmp (read->data, expected->data, read->len) != 0)
      || delta
             != (gint64)g_bytes_get_size (rewritten)
                    - (gint64)g_bytes_get_size (header))
    abort ();
}

/* One message: @spool says it starts as the spool's do (with our
 * Received: field), so that the rewrite's promises apply. */
static void
check_message (const uint8_t              *data,
               size_t                      size,
               gboolean                    spool,
               const MbSenderPolicyConfig *config)
{
  g_autoptr (GBytes) message = g_bytes_new (data, size);
  g_autoptr (GInputStream) stream
      = g_memory_input_stream_new_from_bytes (message);
  g_autoptr (GBytes) header = NULL;
  g_autoptr (GBytes) rest = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (MbSenderDecision) decision = NULL;
  g_autoptr (MbSenderDecision) by_line = NULL;
  g_autofree char *from = NULL;
  g_autofree char *first_line = NULL;
  gsize            header_len, rest_len;
  gboolean         crlf = spool;

  /* The spool holds only CRLF line ends (bare CR and LF are refused in
   * DATA); the rewrite promises nothing for other text. */
  for (size_t i = 0; i < size; i++)
    if ((data[i] == '\r' && (i + 1 == size || data[i + 1] != '\n'))
        || (data[i] == '\n' && (i == 0 || data[i - 1] != '\r')))
      crlf = FALSE;

  if (!mb_sender_policy_read_header (stream, &header, &rest, NULL, &error))
    abort (); /* inputs are far below MB_SENDER_POLICY_MAX_HEADER */
  header_len = g_bytes_get_size (header);
  rest_len = g_bytes_get_size (rest);
  if (header_len + rest_len != size
      || (header_len > 0
          && memcmp (g_bytes_get_data (header, NULL), data, header_len) != 0))
    abort ();

  from = mb_sender_policy_get_from (header);
  if (!is_one_line (from))
    abort ();
  decision = mb_sender_policy_decide (config, "scanner@contoso.com", from);
  check_decision (decision);
  check_rewrite (header, from != NULL, crlf, decision);
  check_stream (data, size, message, decision);

  /* The first line as a device's reverse path, with the From: we read. */
  first_line = g_strndup ((const char *)data, size);
  first_line[strcspn (first_line, "\r\n")] = '\0';
  by_line = mb_sender_policy_decide (config, first_line, from);
  check_decision (by_line);
  check_rewrite (header, from != NULL, crlf, by_line);
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  static const uint8_t empty[1];
  static const char    received[]
      = "Received: from scanner ([192.0.2.10]) by relay.office.lan "
        "(Mailbridge) with ESMTP id 0001;\r\n\tTue, 24 Nov 2026 10:00:00 "
        "+0100\r\n";
  g_autoptr (MbSenderPolicyConfig) config = NULL;
  g_autoptr (GByteArray) spooled = g_byte_array_new ();
  guint32 hash = 2166136261u;

  if (data == NULL)
    data = empty;
  for (size_t i = 0; i < size; i++)
    hash = (hash ^ data[i]) * 16777619u; /* FNV-1a */
  config = make_config (hash);

  /* As the bytes come, for crashes and injections; and as the spool has
   * them, behind our Received: field, for the rest. */
  check_message (data, size, FALSE, config);
  g_byte_array_append (spooled, (const guint8 *)received, strlen (received));
  g_byte_array_append (spooled, data, size);
  check_message (spooled->data, spooled->len, TRUE, config);
  return 0;
}
