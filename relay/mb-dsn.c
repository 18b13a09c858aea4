/* mb-dsn.c - delivery status notifications: bounces, delay notices, relay
 * reports
 *
 * WHAT IT DOES
 *   Builds the report the relay sends to a message's sender when some of
 *   its recipients failed, are delayed, or were relayed to an upstream that
 *   will not report success itself.  The report is a multipart/report
 *   (RFC 6522, report-type=delivery-status) of three parts:
 *     1. text/plain: what happened in plain words for a small-office user,
 *        with each reply verbatim and its hint (written by mb-dsn-text.c);
 *     2. message/delivery-status, the RFC 3464 fields (mb-dsn-text.c);
 *     3. the original: message/rfc822, or text/rfc822-headers when the
 *        sender asked for RET=HDRS (RFC 3461 4.3) or the message is larger
 *        than MB_DSN_MAX_FULL_ORIGINAL.
 *   This file decides whether there is anything to report, reads the
 *   original and puts the MIME message together with GMime.
 *   The header says From: "Mail Delivery System" <MAILER-DAEMON@host>,
 *   Auto-Submitted: auto-replied (RFC 3834 5), and refers to the original
 *   with In-Reply-To/References, so mail programs thread the two.
 *
 * GUARANTEES
 *   - No report for <>, for a MAILER-DAEMON sender, for an original that
 *     is itself auto-replied or a delivery report (no bounce of a bounce,
 *     RFC 3461 6.2, RFC 3834 2), or when no recipient asked for this kind
 *     (NOTIFY, RFC 3461 4.1): NULL without error, and the reason.
 *   - The original is read as a stream: at most its header section when
 *     only headers go back, never more than MB_DSN_MAX_FULL_ORIGINAL + one
 *     read.  Returned whole, its bytes are the part's content unchanged.
 *   - The result has CRLF line ends and lines within 998 octets outside
 *     the original; it is 7-bit unless the returned original is 8-bit.
 *   - Addresses beyond ASCII (SMTPUTF8) turn the report into its RFC 6533
 *     form: message/global-delivery-status and "utf-8" address types.
 *
 * WHAT IT DOES NOT DO
 *   No queueing, no scheduling: the caller decides when a report is due
 *   (delay-notice-after, expiry) and queues the bytes with the recipients
 *   of mb_dsn_get_report_recipients() and the reverse path <>.  No
 *   "delivered" action: we never deliver, we relay.
 *
 * RFC 3461 (SMTP DSN), RFC 3464 (the delivery-status format), RFC 6522
 * (multipart/report), RFC 3834 (Auto-Submitted), RFC 6533 (SMTPUTF8
 * reports), RFC 3463 (status codes).
 */
#define G_LOG_DOMAIN "mb-dsn"

#include "mb-dsn.h"
#include "mb-dsn-private.h"
#include "mb-mime.h"

#include <gmime/gmime.h>
#include <string.h>

#define READ_CHUNK (64 * 1024)
/* A msg-id cannot be folded (RFC 5322 3.6.4): an original's id too long
 * for a 998-octet In-Reply-To: line is left out of ours. */
#define MAX_REFERENCE_ID 900

/* The settings mb_dsn_build_async() hands to its thread. */
typedef struct
{
  MbDsnKind     kind;
  MbEnvelope   *envelope;      /* (owned) */
  GPtrArray    *recipients;    /* (owned) (nullable) of owned MbRecipient */
  char         *reporting_mta; /* (owned) */
  char         *remote_mta;    /* (owned) (nullable) */
  MbDsnOptions  options;       /* strings point to the members above */
  GInputStream *original;      /* (owned) (nullable) */
  MbDsnSkip     skip;          /* written by the thread */
} BuildData;

GQuark
mb_dsn_error_quark (void)
{
  return g_quark_from_static_string ("mb-dsn-error-quark");
}

/* GMime 3.2 declares no cleanup functions of its own. */
G_DEFINE_AUTOPTR_CLEANUP_FUNC (GMimeStream, g_object_unref)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (GMimeParser, g_object_unref)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (GMimeMessage, g_object_unref)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (GMimeMultipart, g_object_unref)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (GMimeTextPart, g_object_unref)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (GMimeObject, g_object_unref)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (GMimeDataWrapper, g_object_unref)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (GMimeFormatOptions, g_mime_format_options_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (InternetAddress, g_object_unref)

/* Helpers */

static void
original_clear (MbDsnOriginal *original)
{
  g_clear_pointer (&original->content, g_bytes_unref);
  g_clear_pointer (&original->subject, g_free);
  g_clear_pointer (&original->message_id, g_free);
}

static MbRecipient *
copy_recipient (const MbRecipient *from)
{
  MbRecipient *to = g_new0 (MbRecipient, 1);

  to->address = g_strdup (from->address);
  to->state = from->state;
  to->notify = from->notify;
  to->orcpt = g_strdup (from->orcpt);
  to->attempts = from->attempts;
  to->next_attempt = from->next_attempt;
  to->last_reply = g_strdup (from->last_reply);
  return to;
}

static void
build_data_free (BuildData *data)
{
  g_clear_pointer (&data->envelope, mb_envelope_free);
  g_clear_pointer (&data->recipients, g_ptr_array_unref);
  g_free (data->reporting_mta);
  g_free (data->remote_mta);
  g_clear_pointer (&data->options.now, g_date_time_unref);
  g_clear_object (&data->original);
  g_free (data);
}

static gboolean
is_null_sender (const MbEnvelope *envelope)
{
  return envelope->sender == NULL || envelope->sender[0] == '\0';
}

/* MAILER-DAEMON is what reports come from (ours among them); answering it
 * risks a loop between two relays. */
static gboolean
is_mailer_daemon (const char *address)
{
  const char *at = strrchr (address, '@');
  gsize       len = at != NULL ? (gsize)(at - address) : strlen (address);

  return len == strlen ("MAILER-DAEMON")
         && g_ascii_strncasecmp (address, "MAILER-DAEMON", len) == 0;
}

static gboolean
state_matches (MbDsnKind kind, MbRecipientState state)
{
  switch (kind)
    {
    case MB_DSN_KIND_FAILURE:
      return state == MB_RECIPIENT_STATE_FAILED;
    case MB_DSN_KIND_DELAY:
      return state == MB_RECIPIENT_STATE_QUEUED
             || state == MB_RECIPIENT_STATE_DEFERRED;
    case MB_DSN_KIND_RELAYED:
      return state == MB_RECIPIENT_STATE_DELIVERED;
    default:
      return FALSE;
    }
}

/* The end of the last complete line in @data (0 if none). */
static gsize
find_last_line_end (const guint8 *data, gsize len)
{
  while (len > 0 && data[len - 1] != '\n')
    len--;
  return len;
}

/* Reads what GMime makes of a header section: the subject, the message
 * id, and whether the message is an automatic reply or a report. */
static void
scan_original_header (const guint8 *data, gsize len, MbDsnOriginal *original)
{
  g_autoptr (GMimeStream) stream = NULL;
  g_autoptr (GMimeParser) parser = NULL;
  g_autoptr (GMimeMessage) message = NULL;
  GMimeHeaderList  *headers;
  GMimeObject      *body;
  GMimeContentType *type;
  const char       *value;

  if (len == 0)
    return;
  mb_mime_ensure_init ();
  stream = g_mime_stream_mem_new_with_buffer ((const char *)data, len);
  parser = g_mime_parser_new_with_stream (stream);
  g_mime_parser_set_format (parser, GMIME_FORMAT_MESSAGE);
  message = g_mime_parser_construct_message (parser, NULL);
  if (message == NULL)
    return;

  headers = g_mime_object_get_header_list (GMIME_OBJECT (message));
  value = g_mime_header_list_get_header (headers, "Auto-Submitted") != NULL
              ? g_mime_object_get_header (GMIME_OBJECT (message),
                                          "Auto-Submitted")
              : NULL;
  if (value != NULL)
    {
      g_autofree char *keyword = g_strstrip (g_strdup (value));

      /* RFC 3834 5: the keyword, then optional parameters. */
      keyword[strcspn (keyword, " \t;(")] = '\0';
      if (g_ascii_strcasecmp (keyword, "auto-replied") == 0)
        original->auto_replied = TRUE;
    }

  /* GMime keeps the Content-Type with the message's body part. */
  body = g_mime_message_get_mime_part (message);
  type = body != NULL ? g_mime_object_get_content_type (body) : NULL;
  if (type != NULL && g_mime_content_type_is_type (type, "multipart", "report"))
    {
      const char *report
          = g_mime_content_type_get_parameter (type, "report-type");

      if (report != NULL
          && (g_ascii_strcasecmp (report, "delivery-status") == 0
              || g_ascii_strcasecmp (report, "global-delivery-status") == 0))
        original->auto_replied = TRUE;
    }

  value = g_mime_message_get_subject (message);
  if (value != NULL)
    original->subject = mb_dsn_sanitize (value);
  value = g_mime_message_get_message_id (message);
  if (value != NULL && value[0] != '\0')
    original->message_id = mb_dsn_sanitize (value);
}

/* Reads the original: its header section always, the rest when @want_full
 * and the whole message fits MB_DSN_MAX_FULL_ORIGINAL. */
static gboolean
read_original (GInputStream  *stream,
               gboolean       want_full,
               MbDsnOriginal *original,
               GCancellable  *cancellable,
               GError       **error)
{
  g_autoptr (GByteArray) data = g_byte_array_new ();
  gsize    header_end = 0;
  gboolean eof = FALSE;
  gsize    header_len;

  while (!eof && data->len <= MB_DSN_MAX_FULL_ORIGINAL)
    {
      gsize  old_len = data->len;
      gsize  want = MIN (READ_CHUNK, MB_DSN_MAX_FULL_ORIGINAL + 1 - old_len);
      gssize n;

      /* Search what the last read added, plus two bytes for an empty line
       * that straddles two reads. */
      if (header_end == 0)
        header_end = mb_mime_find_header_end (
            data->data, old_len,
            old_len >= READ_CHUNK + 2 ? old_len - READ_CHUNK - 2 : 0);
      if (header_end != 0 && !want_full)
        break;

      g_byte_array_set_size (data, old_len + want);
      n = g_input_stream_read (stream, data->data + old_len, want, cancellable,
                               error);
      if (n < 0)
        {
          g_prefix_error (error, "Cannot read the original message: ");
          return FALSE;
        }
      g_byte_array_set_size (data, old_len + (gsize)n);
      eof = n == 0;
    }
  if (header_end == 0)
    header_end = mb_mime_find_header_end (data->data, data->len, 0);

  /* Without an empty line it is all header (up to its last whole line when
   * cut short by the limit). */
  if (header_end != 0)
    header_len = header_end >= 2 ? header_end - 2 : 0;
  else
    header_len = eof ? data->len : find_last_line_end (data->data, data->len);
  scan_original_header (data->data, header_len, original);

  if (want_full && eof && data->len <= MB_DSN_MAX_FULL_ORIGINAL)
    {
      original->full = TRUE;
      original->content = g_byte_array_free_to_bytes (g_steal_pointer (&data));
      return TRUE;
    }
  g_byte_array_set_size (data, header_len);
  original->content = g_byte_array_free_to_bytes (g_steal_pointer (&data));
  return TRUE;
}

static GMimeObject *
make_part (const char *type,
           const char *subtype,
           const char *description,
           GBytes     *content,
           gboolean    eight_bit)
{
  GMimePart           *part = g_mime_part_new_with_type (type, subtype);
  GMimeContentEncoding encoding
      = eight_bit ? GMIME_CONTENT_ENCODING_8BIT : GMIME_CONTENT_ENCODING_7BIT;
  g_autoptr (GMimeStream) stream = NULL;
  g_autoptr (GMimeDataWrapper) wrapper = NULL;
  gsize       len;
  const char *data = g_bytes_get_data (content, &len);

  stream = g_mime_stream_mem_new_with_buffer (data != NULL ? data : "", len);
  wrapper = g_mime_data_wrapper_new_with_stream (stream, encoding);
  g_mime_part_set_content (part, wrapper);
  g_mime_part_set_content_encoding (part, encoding);
  if (description != NULL)
    g_mime_object_set_header (GMIME_OBJECT (part), "Content-Description",
                              description, NULL);
  return GMIME_OBJECT (part);
}

static gboolean
bytes_are_8bit (GBytes *bytes)
{
  gsize         len;
  const guint8 *data = g_bytes_get_data (bytes, &len);

  for (gsize i = 0; i < len; i++)
    if (data[i] >= 0x80)
      return TRUE;
  return FALSE;
}

static const char *
get_subject (MbDsnKind kind)
{
  switch (kind)
    {
    case MB_DSN_KIND_DELAY:
      return "Delayed Mail (still being retried)";
    case MB_DSN_KIND_RELAYED:
      return "Successful Mail Delivery Report";
    case MB_DSN_KIND_FAILURE:
    default:
      return "Undelivered Mail Returned to Sender";
    }
}

/* Puts the report together with GMime and writes it with CRLF. */
static GBytes *
assemble (MbDsnKind            kind,
          const MbEnvelope    *envelope,
          GPtrArray           *recipients,
          const MbDsnOptions  *options,
          const MbDsnOriginal *original,
          gboolean             have_original)
{
  g_autoptr (GMimeMessage) message = g_mime_message_new (FALSE);
  g_autoptr (GMimeMultipart) report = NULL;
  g_autoptr (GMimeTextPart) text_part = NULL;
  g_autoptr (GMimeObject) status_part = NULL;
  g_autoptr (GMimeFormatOptions) format = NULL;
  g_autoptr (GMimeStream) stream = NULL;
  g_autoptr (GDateTime) now = NULL;
  g_autofree char *daemon = NULL;
  g_autofree char *message_id = NULL;
  g_autofree char *text = NULL;
  g_autofree char *status = NULL;
  gboolean         global = !mb_dsn_is_ascii (envelope->sender);
  GByteArray      *array;

  for (guint i = 0; i < recipients->len; i++)
    {
      const MbRecipient *recipient = g_ptr_array_index (recipients, i);

      if (!mb_dsn_is_ascii (recipient->address))
        global = TRUE;
    }

  daemon = g_strdup_printf ("MAILER-DAEMON@%s", options->reporting_mta);
  g_mime_message_add_mailbox (message, GMIME_ADDRESS_TYPE_FROM,
                              "Mail Delivery System", daemon);
  if (mb_smtp_parser_is_valid_mailbox (envelope->sender, TRUE))
    g_mime_message_add_mailbox (message, GMIME_ADDRESS_TYPE_TO, NULL,
                                envelope->sender);
  else
    {
      /* An unusable sender: the report goes to the admin only (see
       * mb_dsn_get_report_recipients()), who is not named. */
      g_autoptr (InternetAddress) group
          = internet_address_group_new ("undisclosed-recipients");

      internet_address_list_add (
          g_mime_message_get_addresses (message, GMIME_ADDRESS_TYPE_TO), group);
    }
  g_mime_message_set_subject (message, get_subject (kind), NULL);
  now = options->now != NULL ? g_date_time_ref (options->now)
                             : g_date_time_new_now_local ();
  g_mime_message_set_date (message, now);
  message_id = g_mime_utils_generate_message_id (options->reporting_mta);
  g_mime_message_set_message_id (message, message_id);
  if (original->message_id != NULL
      && strlen (original->message_id) <= MAX_REFERENCE_ID)
    {
      g_autofree char *reference
          = g_strdup_printf ("<%s>", original->message_id);

      g_mime_object_set_header (GMIME_OBJECT (message), "In-Reply-To",
                                reference, NULL);
      g_mime_object_set_header (GMIME_OBJECT (message), "References", reference,
                                NULL);
    }
  g_mime_object_set_header (GMIME_OBJECT (message), "Auto-Submitted",
                            "auto-replied", NULL);

  report = g_mime_multipart_new_with_subtype ("report");
  g_mime_object_set_content_type_parameter (
      GMIME_OBJECT (report), "report-type",
      global ? "global-delivery-status" : "delivery-status");

  /* Part 1: UTF-8 text; GMime picks 7bit or quoted-printable. */
  text = mb_dsn_format_text (kind, envelope, recipients, options, original,
                             have_original);
  {
    g_autoptr (GMimeStream) text_stream = NULL;
    g_autoptr (GMimeDataWrapper) wrapper = NULL;

    text_part = g_mime_text_part_new_with_subtype ("plain");
    text_stream = g_mime_stream_mem_new_with_buffer (text, strlen (text));
    wrapper = g_mime_data_wrapper_new_with_stream (
        text_stream, GMIME_CONTENT_ENCODING_DEFAULT);
    g_mime_part_set_content (GMIME_PART (text_part), wrapper);
    g_mime_text_part_set_charset (text_part, "utf-8");
    g_mime_object_set_header (GMIME_OBJECT (text_part), "Content-Description",
                              "Notification", NULL);
    g_mime_object_encode (GMIME_OBJECT (text_part),
                          GMIME_ENCODING_CONSTRAINT_7BIT);
  }
  g_mime_multipart_add (report, GMIME_OBJECT (text_part));

  /* Part 2: the machine-readable report. */
  status = mb_dsn_format_delivery_status (kind, envelope, recipients, options);
  {
    g_autoptr (GBytes) bytes = g_bytes_new_static (status, strlen (status));

    status_part = make_part (
        "message", global ? "global-delivery-status" : "delivery-status",
        "Delivery report", bytes, !mb_dsn_is_ascii (status));
  }
  g_mime_multipart_add (report, status_part);

  /* Part 3: the original, its bytes unchanged. */
  if (have_original)
    {
      g_autoptr (GMimeObject) part = NULL;
      gboolean eight_bit = bytes_are_8bit (original->content);

      if (original->full)
        part = make_part ("message", global ? "global" : "rfc822",
                          "Undelivered Message", original->content, eight_bit);
      else
        part = make_part ("text", global ? "global-headers" : "rfc822-headers",
                          "Undelivered Message Headers", original->content,
                          eight_bit);
      g_mime_multipart_add (report, part);
    }

  g_mime_message_set_mime_part (message, GMIME_OBJECT (report));

  format = g_mime_format_options_new ();
  g_mime_format_options_set_newline_format (format, GMIME_NEWLINE_FORMAT_DOS);
  stream = g_mime_stream_mem_new ();
  g_mime_object_write_to_stream (GMIME_OBJECT (message), format, stream);
  array = g_mime_stream_mem_get_byte_array (GMIME_STREAM_MEM (stream));
  return g_bytes_new (array->data, array->len);
}

/* Callbacks */

static void
build_thread (GTask        *task,
              gpointer      source_object,
              gpointer      task_data,
              GCancellable *cancellable)
{
  BuildData *data = task_data;
  GError    *error = NULL;
  GBytes    *report;

  (void)source_object;
  report = mb_dsn_build (data->kind, data->envelope, data->recipients,
                         &data->options, data->original, &data->skip,
                         cancellable, &error);
  if (error != NULL)
    g_task_return_error (task, error);
  else
    g_task_return_pointer (task, report, (GDestroyNotify)g_bytes_unref);
}

/* Public API */

gboolean
mb_dsn_should_report (MbDsnKind          kind,
                      const MbEnvelope  *envelope,
                      const MbRecipient *recipient)
{
  g_return_val_if_fail (envelope != NULL, FALSE);
  g_return_val_if_fail (recipient != NULL, FALSE);

  if (is_null_sender (envelope) || is_mailer_daemon (envelope->sender))
    return FALSE;
  if (recipient->notify & MB_DSN_NOTIFY_NEVER)
    return FALSE;
  switch (kind)
    {
    case MB_DSN_KIND_FAILURE:
      return recipient->notify == 0
             || (recipient->notify & MB_DSN_NOTIFY_FAILURE) != 0;
    case MB_DSN_KIND_DELAY:
      return recipient->notify == 0
             || (recipient->notify & MB_DSN_NOTIFY_DELAY) != 0;
    case MB_DSN_KIND_RELAYED:
      return (recipient->notify & MB_DSN_NOTIFY_SUCCESS) != 0;
    default:
      return FALSE;
    }
}

GStrv
mb_dsn_get_report_recipients (MbDsnKind         kind,
                              const MbEnvelope *envelope,
                              const char       *admin_address)
{
  g_autoptr (GStrvBuilder) builder = g_strv_builder_new ();
  const char *sender;

  g_return_val_if_fail (envelope != NULL, NULL);

  if (is_null_sender (envelope) || is_mailer_daemon (envelope->sender))
    return g_strv_builder_end (builder);
  if (admin_address != NULL && admin_address[0] == '\0')
    admin_address = NULL;

  sender = envelope->sender;
  if (!mb_smtp_parser_is_valid_mailbox (sender, TRUE))
    sender = NULL;
  if (sender != NULL)
    g_strv_builder_add (builder, sender);
  if (admin_address != NULL && (sender == NULL || kind == MB_DSN_KIND_FAILURE)
      && (sender == NULL || g_ascii_strcasecmp (sender, admin_address) != 0))
    g_strv_builder_add (builder, admin_address);
  return g_strv_builder_end (builder);
}

GBytes *
mb_dsn_build (MbDsnKind           kind,
              const MbEnvelope   *envelope,
              GPtrArray          *recipients,
              const MbDsnOptions *options,
              GInputStream       *original,
              MbDsnSkip          *skip,
              GCancellable       *cancellable,
              GError            **error)
{
  g_autoptr (GPtrArray) reported = g_ptr_array_new ();
  GPtrArray    *candidates;
  MbDsnOriginal taken = { 0 };
  GBytes       *report;
  MbDsnSkip     dummy;

  g_return_val_if_fail (envelope != NULL, NULL);
  g_return_val_if_fail (options != NULL, NULL);
  g_return_val_if_fail (original == NULL || G_IS_INPUT_STREAM (original), NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (skip == NULL)
    skip = &dummy;
  *skip = MB_DSN_SKIP_NONE;

  if (is_null_sender (envelope))
    {
      *skip = MB_DSN_SKIP_NULL_SENDER;
      return NULL;
    }
  if (is_mailer_daemon (envelope->sender))
    {
      *skip = MB_DSN_SKIP_MAILER_DAEMON;
      return NULL;
    }
  if (options->reporting_mta == NULL || options->reporting_mta[0] == '\0')
    {
      g_set_error_literal (error, MB_DSN_ERROR, MB_DSN_ERROR_INVALID,
                           "No reporting host name for the report");
      return NULL;
    }

  candidates = recipients != NULL ? recipients : envelope->recipients;
  for (guint i = 0; i < candidates->len; i++)
    {
      MbRecipient *recipient = g_ptr_array_index (candidates, i);

      if (recipient->address == NULL)
        {
          g_set_error_literal (error, MB_DSN_ERROR, MB_DSN_ERROR_INVALID,
                               "A recipient to report on has no address");
          return NULL;
        }
      if (recipients == NULL && !state_matches (kind, recipient->state))
        continue;
      if (mb_dsn_should_report (kind, envelope, recipient))
        g_ptr_array_add (reported, recipient);
    }
  if (reported->len == 0)
    {
      *skip = MB_DSN_SKIP_NOT_REQUESTED;
      return NULL;
    }

  if (original != NULL)
    {
      /* RFC 3461 4.3: RET=HDRS asks for headers; without RET we return
       * small messages whole. */
      gboolean want_full = envelope->ret != MB_DSN_RET_HDRS
                           && envelope->size <= MB_DSN_MAX_FULL_ORIGINAL;

      if (!read_original (original, want_full, &taken, cancellable, error))
        {
          original_clear (&taken);
          return NULL;
        }
      taken.too_large = envelope->ret != MB_DSN_RET_HDRS && !taken.full;
    }
  if (taken.auto_replied)
    {
      original_clear (&taken);
      *skip = MB_DSN_SKIP_AUTO_REPLIED;
      return NULL;
    }

  mb_mime_ensure_init ();
  report
      = assemble (kind, envelope, reported, options, &taken, original != NULL);
  original_clear (&taken);
  return report;
}

void
mb_dsn_build_async (MbDsnKind           kind,
                    const MbEnvelope   *envelope,
                    GPtrArray          *recipients,
                    const MbDsnOptions *options,
                    GInputStream       *original,
                    GCancellable       *cancellable,
                    GAsyncReadyCallback callback,
                    gpointer            user_data)
{
  g_autoptr (GTask) task = NULL;
  BuildData *data;

  g_return_if_fail (envelope != NULL);
  g_return_if_fail (options != NULL);
  g_return_if_fail (original == NULL || G_IS_INPUT_STREAM (original));

  data = g_new0 (BuildData, 1);
  data->kind = kind;
  data->envelope = mb_envelope_copy (envelope);
  if (recipients != NULL)
    {
      data->recipients
          = g_ptr_array_new_with_free_func ((GDestroyNotify)mb_recipient_free);
      for (guint i = 0; i < recipients->len; i++)
        g_ptr_array_add (data->recipients,
                         copy_recipient (g_ptr_array_index (recipients, i)));
    }
  data->reporting_mta = g_strdup (options->reporting_mta);
  data->remote_mta = g_strdup (options->remote_mta);
  data->options = *options;
  data->options.reporting_mta = data->reporting_mta;
  data->options.remote_mta = data->remote_mta;
  data->options.now
      = options->now != NULL ? g_date_time_ref (options->now) : NULL;
  data->original = original != NULL ? g_object_ref (original) : NULL;

  task = g_task_new (NULL, cancellable, callback, user_data);
  g_task_set_source_tag (task, mb_dsn_build_async);
  g_task_set_task_data (task, data, (GDestroyNotify)build_data_free);
  g_task_run_in_thread (task, build_thread);
}

GBytes *
mb_dsn_build_finish (GAsyncResult *result, MbDsnSkip *skip, GError **error)
{
  BuildData *data;

  g_return_val_if_fail (g_task_is_valid (result, NULL), NULL);
  g_return_val_if_fail (
      g_task_get_source_tag (G_TASK (result)) == mb_dsn_build_async, NULL);

  data = g_task_get_task_data (G_TASK (result));
  if (skip != NULL)
    *skip = data->skip;
  return g_task_propagate_pointer (G_TASK (result), error);
}

MbSmtpBodyType
mb_dsn_get_body_type (GBytes *report)
{
  g_return_val_if_fail (report != NULL, MB_SMTP_BODY_7BIT);

  return bytes_are_8bit (report) ? MB_SMTP_BODY_8BITMIME : MB_SMTP_BODY_7BIT;
}

const char *
mb_dsn_skip_to_string (MbDsnSkip skip)
{
  switch (skip)
    {
    case MB_DSN_SKIP_NONE:
      return "none";
    case MB_DSN_SKIP_NULL_SENDER:
      return "null-sender";
    case MB_DSN_SKIP_MAILER_DAEMON:
      return "mailer-daemon";
    case MB_DSN_SKIP_AUTO_REPLIED:
      return "auto-replied";
    case MB_DSN_SKIP_NOT_REQUESTED:
      return "not-requested";
    default:
      return "unknown";
    }
}

const char *
mb_dsn_kind_to_string (MbDsnKind kind)
{
  switch (kind)
    {
    case MB_DSN_KIND_FAILURE:
      return "failure";
    case MB_DSN_KIND_DELAY:
      return "delay";
    case MB_DSN_KIND_RELAYED:
      return "relayed";
    default:
      return "unknown";
    }
}
