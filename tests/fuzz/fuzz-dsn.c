/* fuzz-dsn.c - fuzz target for relay/mb-dsn.h
 *
 * The input is the original message a report is built on (queue/ID.eml,
 * as a device sent it: untrusted).  The envelope is fixed but for the
 * report kind, RET and whether the original counts as too large, picked
 * by a hash of the input, and one recipient's last reply, which is the
 * input's first line (an upstream's reply is untrusted too).  Then:
 *   - no report comes with an error or without a reason to skip;
 *   - a report is a multipart/report of three parts that GMime reads, and
 *     fed back as an original it gets no report (no bounce of a bounce);
 *   - it has CRLF line ends and lines within 998 octets outside the
 *     original, and it is 7-bit when the original is (when the original
 *     has CRLF line ends, as every spooled message has);
 *   - it holds the original, or its header section, byte for byte.
 * A broken property aborts.
 */
#include "mb-dsn.h"

#include <gmime/gmime.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (GMimeStream, g_object_unref)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (GMimeParser, g_object_unref)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (GMimeMessage, g_object_unref)

static MbEnvelope *
make_envelope (guint32 variant, const char *reply, gsize size)
{
  MbEnvelope  *envelope = mb_envelope_new ();
  MbRecipient *r;

  envelope->id = g_strdup ("00061a2b3c4d5e6f-0badcafe");
  g_free (envelope->sender);
  /* RFC 6533: a report on SMTPUTF8 addresses may be 8-bit itself. */
  envelope->sender = g_strdup (variant % 5 == 0 ? "scänner@contoso.com"
                                                : "scanner@contoso.com");
  envelope->received = 1795510800;
  envelope->size = variant % 7 == 0 ? MB_DSN_MAX_FULL_ORIGINAL + 1 : size;
  envelope->ret = variant % 3 == 0   ? MB_DSN_RET_HDRS
                  : variant % 3 == 1 ? MB_DSN_RET_FULL
                                     : MB_DSN_RET_UNSET;
  envelope->envid = g_strdup ("QQ314159");

  r = mb_envelope_add_recipient (envelope, "bad@contoso.com", 0,
                                 "rfc822;Bad@Contoso.com");
  r->state = MB_RECIPIENT_STATE_FAILED;
  r->attempts = 1;
  r->last_reply = g_strdup (reply);
  r = mb_envelope_add_recipient (envelope, "later@fabrikam.example",
                                 MB_DSN_NOTIFY_DELAY | MB_DSN_NOTIFY_FAILURE,
                                 NULL);
  r->state = MB_RECIPIENT_STATE_DEFERRED;
  r->attempts = 3;
  r->last_reply = g_strdup ("451 4.7.500 Server busy. Please try again later "
                            "from [203.0.113.10]. (AS77712344)");
  r = mb_envelope_add_recipient (envelope, "ok@contoso.com",
                                 MB_DSN_NOTIFY_SUCCESS, NULL);
  r->state = MB_RECIPIENT_STATE_DELIVERED;
  r->last_reply = g_strdup ("250 2.6.0 <scan-42@scanner> Queued mail");
  if (variant % 5 == 0)
    {
      r = mb_envelope_add_recipient (envelope, "ünicode@contoso.com", 0, NULL);
      r->state = variant % 2 == 0 ? MB_RECIPIENT_STATE_FAILED
                                  : MB_RECIPIENT_STATE_QUEUED;
    }
  return envelope;
}

static gboolean
has_8bit (const guint8 *data, gsize len)
{
  for (gsize i = 0; i < len; i++)
    if (data[i] >= 0x80)
      return TRUE;
  return FALSE;
}

static gboolean
is_ascii_envelope (const MbEnvelope *envelope)
{
  if (has_8bit ((const guint8 *)envelope->sender, strlen (envelope->sender)))
    return FALSE;
  for (guint i = 0; i < envelope->recipients->len; i++)
    {
      const MbRecipient *r = g_ptr_array_index (envelope->recipients, i);

      if (has_8bit ((const guint8 *)r->address, strlen (r->address)))
        return FALSE;
    }
  return TRUE;
}

static gboolean
is_crlf_text (const guint8 *data, gsize len)
{
  for (gsize i = 0; i < len; i++)
    if ((data[i] == '\r' && (i + 1 == len || data[i + 1] != '\n'))
        || (data[i] == '\n' && (i == 0 || data[i - 1] != '\r')))
      return FALSE;
  return TRUE;
}

/* The offset of @needle in @haystack, or -1. */
static gssize
find_bytes (const guint8 *haystack,
            gsize         len,
            const guint8 *needle,
            gsize         needle_len)
{
  if (needle_len == 0)
    return 0;
  for (gsize i = 0; i + needle_len <= len; i++)
    if (haystack[i] == needle[0]
        && memcmp (haystack + i, needle, needle_len) == 0)
      return (gssize)i;
  return -1;
}

/* The bytes of the original that go back: all of them, or the header
 * section without the empty line that ends it. */
static gsize
get_returned_len (const uint8_t *data, size_t size, const MbEnvelope *envelope)
{
  if (envelope->ret != MB_DSN_RET_HDRS
      && envelope->size <= MB_DSN_MAX_FULL_ORIGINAL)
    return size;
  if (size >= 2 && data[0] == '\r' && data[1] == '\n')
    return 0;
  for (gsize i = 0; i + 2 < size; i++)
    if (data[i] == '\n' && data[i + 1] == '\r' && data[i + 2] == '\n')
      return i + 1;
  return size;
}

static void
check_parsed (GBytes *report)
{
  g_autoptr (GMimeStream) stream = NULL;
  g_autoptr (GMimeParser) parser = NULL;
  g_autoptr (GMimeMessage) message = NULL;
  GMimeObject *body;

  stream = g_mime_stream_mem_new_with_buffer (g_bytes_get_data (report, NULL),
                                              g_bytes_get_size (report));
  parser = g_mime_parser_new_with_stream (stream);
  message = g_mime_parser_construct_message (parser, NULL);
  if (message == NULL)
    abort ();
  body = g_mime_message_get_mime_part (message);
  if (body == NULL || !GMIME_IS_MULTIPART (body)
      || !g_mime_content_type_is_type (g_mime_object_get_content_type (body),
                                       "multipart", "report")
      || g_mime_multipart_get_count (GMIME_MULTIPART (body)) != 3)
    abort ();
}

static void
check_report (GBytes             *report,
              const uint8_t      *data,
              size_t              size,
              const MbEnvelope   *envelope,
              const MbDsnOptions *options)
{
  gsize         len, returned_len, line_start = 0;
  const guint8 *bytes = g_bytes_get_data (report, &len);
  gssize        at;

  check_parsed (report);

  /* The report on a report: none. */
  {
    g_autoptr (GInputStream) again
        = g_memory_input_stream_new_from_bytes (report);
    g_autoptr (GError) error = NULL;
    g_autoptr (GBytes) second = NULL;
    MbDsnSkip skip = MB_DSN_SKIP_NONE;

    second = mb_dsn_build (MB_DSN_KIND_FAILURE, envelope, NULL, options, again,
                           &skip, NULL, &error);
    if (second != NULL || error != NULL || skip != MB_DSN_SKIP_AUTO_REPLIED)
      abort ();
  }

  /* Everything below holds for originals as the spool keeps them. */
  if (!is_crlf_text (data, size))
    return;
  if (!is_crlf_text (bytes, len))
    abort ();
  returned_len = get_returned_len (data, size, envelope);
  at = find_bytes (bytes, len, data, returned_len);
  if (at < 0)
    abort ();
  if ((mb_dsn_get_body_type (report) == MB_SMTP_BODY_8BITMIME)
      != has_8bit (bytes, len))
    abort ();
  if (is_ascii_envelope (envelope) && has_8bit (bytes, len)
      && !has_8bit (data, returned_len))
    abort ();
  for (gsize i = 0; i < len; i++)
    {
      if (bytes[i] != '\n')
        continue;
      /* Lines of the original may be as long as the device made them. */
      if (i - line_start > 998 + 1
          && !((gssize)line_start >= at
               && line_start < (gsize)at + returned_len + 1))
        abort ();
      line_start = i + 1;
    }
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  static const uint8_t empty[1];
  g_autoptr (GDateTime) now = g_date_time_new_utc (2026, 11, 26, 9, 0, 0);
  g_autoptr (MbEnvelope) envelope = NULL;
  g_autoptr (GBytes) original = NULL;
  g_autoptr (GInputStream) stream = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (GBytes) report = NULL;
  g_autofree char *reply = NULL;
  MbDsnOptions     options = { 0 };
  MbDsnSkip        skip = MB_DSN_SKIP_NONE;
  MbDsnKind        kind;
  guint32          hash = 2166136261u;

  if (data == NULL)
    data = empty;
  for (size_t i = 0; i < size; i++)
    hash = (hash ^ data[i]) * 16777619u; /* FNV-1a */

  reply = g_strndup ((const char *)data, size);
  reply[strcspn (reply, "\r\n")] = '\0';
  envelope = make_envelope (hash, reply, size);
  kind = (MbDsnKind)(hash / 11 % 3);
  options.reporting_mta = "relay.office.lan";
  options.remote_mta = "contoso-com.mail.protection.outlook.com";
  options.last_attempt = 1795511100;
  options.retry_until = 1795683600;
  options.now = now;

  original = g_bytes_new (data, size);
  stream = g_memory_input_stream_new_from_bytes (original);
  report = mb_dsn_build (kind, envelope, NULL, &options, stream, &skip, NULL,
                         &error);
  if (error != NULL || (report == NULL) != (skip != MB_DSN_SKIP_NONE))
    abort ();
  if (report != NULL)
    check_report (report, data, size, envelope, &options);
  return 0;
}
