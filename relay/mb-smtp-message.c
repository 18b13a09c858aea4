/* mb-smtp-message.c - the message being received in one SMTP transaction
 *
 * What it does: takes the octets of one message from the session, from 354
 * (or the first BDAT) to the end of data, and turns them into a queued
 * message.  DATA input goes through the DATA decoder (unstuffing, the end
 * of data, line-end checks); BDAT content is raw, so its line ends are
 * checked here the same way.  The octets then pass the header stamper (our
 * Received:, and Date: and Message-ID: when missing) into a spool writer.
 * At the end the MbEnvelope is built from the transaction and the message
 * committed to the spool.
 *
 * Guarantees:
 * - The commit succeeds only after mb_spool_writer_commit_finish() returned
 *   TRUE (DESIGN.md "Data that must not be lost").  A refused, failed or
 *   dropped message has its spool writer freed without a commit, so its
 *   tmp file goes and nothing is ever half-queued.  A refusal frees the
 *   writer at once: no more bytes of that message reach the disk.
 * - Back-pressure: at most one spool write is outstanding.  While it is,
 *   mb_smtp_message_is_busy() is TRUE and the session feeds nothing more;
 *   "ready" tells it when it may.  Memory holds one decoded piece of input,
 *   the stamper's header buffer and the bytes of one write.
 * - Refusals: the first problem found is kept.  A bare LF or bare CR
 *   anywhere in the content is 550 5.6.11 (no SMTP smuggling: the only end
 *   of data is <CRLF>.<CRLF>), a text line over max_line_length 500 5.5.2,
 *   a message over max_message_size 552 5.3.4, a full spool 452 4.3.1, any
 *   other spool error 451 4.3.0.  A refused message is still read to its
 *   real end, so its rest is never taken as commands, and the refusal is
 *   reported only then.
 * - Dropping the message (the last unref by its owner) is safe at any
 *   time: an outstanding spool write or commit holds a reference of its
 *   own, and "ready" is not emitted to a handler that was disconnected.
 * - Log lines are key=value with the session id; the message content is
 *   never logged.
 *
 * What it does not do: the SMTP dialogue, when replies are sent and which
 * count as client errors (mb-smtp-session); DATA framing itself
 * (mb-smtp-data); the Received: field's text (mb-header-stamper);
 * durability (mb-spool).
 *
 * RFCs: 5321 2.3.8 (lines end in CRLF), 4.5.2 (transparency), 4.4
 * (Received), 4.5.3.1.6 with 5322 2.1.1 (line length), 6.1 (responsibility
 * once acknowledged); 1870 (SIZE); 3030 2 (BDAT: a failed chunk fails the
 * transaction).
 */
#define G_LOG_DOMAIN "mb-smtp-message"

#include "mb-smtp-message.h"

#include "mb-header-stamper.h"

struct _MbSmtpMessage
{
  GObject parent_instance;

  char              *session_id; /* (owned) for log lines */
  char              *client_ip;  /* (owned) for log lines */
  MbRelayConfig     *config;     /* (owned) */
  MbSpoolWriter     *writer;     /* (owned) (nullable) NULL once refused */
  MbSmtpDataDecoder *decoder;    /* (owned) (nullable) DATA only */
  MbHeaderStamper   *stamper;    /* (owned) (nullable) NULL without writer */
  MbEnvelope        *envelope;   /* (owned) */
  GByteArray        *decoded;    /* (owned) scratch: decoder output */
  GByteArray        *out;        /* (owned) stamped bytes not yet written */
  GTask             *commit;     /* (owned) (nullable) from commit_async */
  MbSmtpRefusal      refusal;
  guint64            size; /* message octets, before stamping */
  gboolean           saw_8bit;
  gboolean           write_pending; /* a spool write is outstanding */

  /* BDAT line-end checks (the DATA decoder does its own). */
  gboolean prev_cr;
  gboolean ends_with_lf;
  gsize    line_len;
};

enum
{
  SIGNAL_READY,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

static void continue_commit (MbSmtpMessage *self);

G_DEFINE_FINAL_TYPE (MbSmtpMessage, mb_smtp_message, G_TYPE_OBJECT)

GQuark
mb_smtp_message_error_quark (void)
{
  return g_quark_from_static_string ("mb-smtp-message-error-quark");
}

/* Helpers */

/* One log line "session=ID client=IP ..." with the MB_SESSION field. */
G_GNUC_PRINTF (3, 4)
static void
log_event (MbSmtpMessage *self, GLogLevelFlags level, const char *format, ...)
{
  g_autofree char *text = NULL;
  va_list          args;

  va_start (args, format);
  text = g_strdup_vprintf (format, args);
  va_end (args);
  g_log_structured (G_LOG_DOMAIN, level, "MB_SESSION", self->session_id,
                    "MESSAGE", "session=%s client=%s %s", self->session_id,
                    self->client_ip, text);
}

static MbSmtpRefusal
refusal_from_spool_error (const GError *error)
{
  return g_error_matches (error, MB_SPOOL_ERROR, MB_SPOOL_ERROR_NO_SPACE)
             ? MB_SMTP_REFUSAL_NO_SPACE
             : MB_SMTP_REFUSAL_SPOOL_ERROR;
}

static void
set_refusal (MbSmtpMessage *self, MbSmtpRefusal refusal)
{
  if (self->refusal == MB_SMTP_REFUSAL_NONE)
    self->refusal = refusal;
  /* No more bytes for the spool; the input is still read to its end. */
  if (!self->write_pending)
    g_clear_pointer (&self->writer, mb_spool_writer_free);
}

static MbEnvelope *
build_envelope (const MbSmtpMessageOrigin *origin, gint64 received)
{
  MbEnvelope *envelope = mb_envelope_new ();

  g_free (envelope->sender);
  envelope->sender = g_strdup (origin->mail->reverse_path);
  for (guint i = 0; i < origin->rcpts->len; i++)
    {
      MbSmtpRcptArgs *rcpt = g_ptr_array_index (origin->rcpts, i);

      mb_envelope_add_recipient (envelope, rcpt->forward_path, rcpt->notify,
                                 rcpt->orcpt);
    }
  envelope->received = received;
  envelope->client_address = g_strdup (origin->client_ip);
  envelope->client_helo = g_strdup (origin->helo);
  envelope->smtputf8 = origin->mail->smtputf8;
  envelope->body = origin->mail->body;
  envelope->ret = origin->mail->ret;
  envelope->envid = g_strdup (origin->mail->envid);
  return envelope;
}

static void
spool_write_cb (GObject *source, GAsyncResult *result, gpointer data);

/* Hands the stamped bytes to the spool: one write at a time; the spool
 * copies them, so the buffer is free again at once. */
static void
flush_out (MbSmtpMessage *self)
{
  if (self->write_pending || self->out->len == 0)
    return;
  if (self->writer == NULL)
    {
      g_byte_array_set_size (self->out, 0);
      return;
    }
  self->write_pending = TRUE;
  mb_spool_writer_write_async (self->writer, self->out->data, self->out->len,
                               NULL, spool_write_cb, g_object_ref (self));
  g_byte_array_set_size (self->out, 0);
}

/* Message octets (after unstuffing): the size limit, the stamper, the
 * spool. */
static void
append_octets (MbSmtpMessage *self, const guint8 *data, gsize len)
{
  self->size += len;
  if (self->size > self->config->max_message_size)
    set_refusal (self, MB_SMTP_REFUSAL_TOO_BIG);
  if (self->refusal != MB_SMTP_REFUSAL_NONE || len == 0)
    return;
  mb_header_stamper_feed (self->stamper, data, len, self->out);
  flush_out (self);
}

/* BDAT content is raw, so its line ends are checked here, the same way the
 * DATA decoder checks them (RFC 5321 2.3.8: lines end in CRLF). */
static void
check_chunk (MbSmtpMessage *self, const guint8 *data, gsize len)
{
  gsize max_line = self->config->max_line_length;

  for (gsize i = 0; i < len; i++)
    {
      guint8 c = data[i];

      if (self->prev_cr && c != '\n')
        set_refusal (self, MB_SMTP_REFUSAL_BARE_CR);
      if (c == '\n')
        {
          if (!self->prev_cr)
            set_refusal (self, MB_SMTP_REFUSAL_BARE_LF);
          self->line_len = 0;
        }
      else if (c != '\r' && ++self->line_len > max_line && max_line > 0)
        set_refusal (self, MB_SMTP_REFUSAL_LINE_TOO_LONG);
      if (c >= 0x80)
        self->saw_8bit = TRUE;
      self->prev_cr = c == '\r';
    }
  if (len > 0)
    self->ends_with_lf = data[len - 1] == '\n';
}

/* Ends the commit with the message's refusal. */
static void
return_refusal (MbSmtpMessage *self)
{
  g_autoptr (GTask) task = g_steal_pointer (&self->commit);
  g_autofree char *line = mb_smtp_message_format_refusal (self);

  g_clear_pointer (&self->writer, mb_spool_writer_free);
  g_task_return_new_error (task, MB_SMTP_MESSAGE_ERROR, (int)self->refusal,
                           "%s", line);
}

/* Async steps: the spool */

static void
spool_commit_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (MbSmtpMessage) self = user_data;
  g_autoptr (GError) error = NULL;
  g_autoptr (GTask) task = NULL;

  if (!mb_spool_writer_commit_finish (self->writer, result, &error))
    {
      log_event (self, G_LOG_LEVEL_MESSAGE, "spool-error=\"%s\"",
                 error->message);
      self->refusal = refusal_from_spool_error (error);
      return_refusal (self);
      return;
    }
  task = g_steal_pointer (&self->commit);
  g_task_return_boolean (task, TRUE);
}

static void
start_spool_commit (MbSmtpMessage *self)
{
  const char *message_id = mb_header_stamper_get_message_id (self->stamper);

  /* Accepted anyway: devices do this, and Exchange Online takes it. */
  if (self->saw_8bit && self->envelope->body != MB_SMTP_BODY_8BITMIME
      && !self->envelope->smtputf8)
    log_event (self, G_LOG_LEVEL_INFO, "note=8bit-without-body-8bitmime");
  g_free (self->envelope->message_id);
  self->envelope->message_id = g_strdup (message_id);
  /* Not cancellable: see mb_smtp_message_commit_async(). */
  mb_spool_writer_commit_async (self->writer, self->envelope, NULL,
                                spool_commit_cb, g_object_ref (self));
}

/* The end of the message was seen and no spool write is outstanding:
 * refuse, write the stamper's rest, or commit. */
static void
continue_commit (MbSmtpMessage *self)
{
  if (self->write_pending)
    return;
  if (self->refusal != MB_SMTP_REFUSAL_NONE)
    {
      return_refusal (self);
      return;
    }
  if (self->out->len > 0)
    {
      flush_out (self);
      return;
    }
  start_spool_commit (self);
}

static void
spool_write_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (MbSmtpMessage) self = user_data;
  g_autoptr (GError) error = NULL;
  gboolean ok;

  ok = mb_spool_writer_write_finish (self->writer, result, &error);
  self->write_pending = FALSE;
  if (!ok)
    {
      log_event (self, G_LOG_LEVEL_MESSAGE, "spool-error=\"%s\"",
                 error->message);
      set_refusal (self, refusal_from_spool_error (error));
    }
  else if (self->refusal != MB_SMTP_REFUSAL_NONE)
    g_clear_pointer (&self->writer, mb_spool_writer_free);

  /* Last: the handlers may drop their reference (ours keeps @self). */
  if (self->commit != NULL)
    continue_commit (self);
  else
    g_signal_emit (self, signals[SIGNAL_READY], 0);
}

/* Overrides */

static void
mb_smtp_message_finalize (GObject *object)
{
  MbSmtpMessage *self = MB_SMTP_MESSAGE (object);

  /* A writer freed without commit removes its tmp file. */
  g_clear_pointer (&self->writer, mb_spool_writer_free);
  g_clear_pointer (&self->decoder, mb_smtp_data_decoder_free);
  g_clear_pointer (&self->stamper, mb_header_stamper_free);
  g_clear_pointer (&self->envelope, mb_envelope_free);
  g_byte_array_unref (self->decoded);
  g_byte_array_unref (self->out);
  g_clear_pointer (&self->config, mb_relay_config_unref);
  g_free (self->session_id);
  g_free (self->client_ip);

  G_OBJECT_CLASS (mb_smtp_message_parent_class)->finalize (object);
}

static void
mb_smtp_message_class_init (MbSmtpMessageClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->finalize = mb_smtp_message_finalize;

  /**
   * MbSmtpMessage::ready:
   *
   * A spool write finished before the end of the message: the message
   * takes input again.  Emitted from the write's callback, on the main
   * context; a handler may drop its reference to the message.
   */
  signals[SIGNAL_READY]
      = g_signal_new ("ready", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0,
                      NULL, NULL, NULL, G_TYPE_NONE, 0);
}

static void
mb_smtp_message_init (MbSmtpMessage *self)
{
  self->decoded = g_byte_array_new ();
  self->out = g_byte_array_new ();
}

/* Public API */

MbSmtpMessage *
mb_smtp_message_new (MbSpool                   *spool,
                     MbRelayConfig             *config,
                     const MbSmtpMessageOrigin *origin,
                     MbSmtpMessageFraming       framing)
{
  g_autoptr (MbSmtpMessage) self = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (GDateTime) now = g_date_time_new_now_local ();
  g_autofree char *received = NULL;
  const char      *recipient = NULL;

  g_return_val_if_fail (MB_IS_SPOOL (spool), NULL);
  g_return_val_if_fail (config != NULL, NULL);
  g_return_val_if_fail (origin != NULL && origin->mail != NULL, NULL);
  g_return_val_if_fail (origin->rcpts != NULL && origin->rcpts->len > 0, NULL);

  self = g_object_new (MB_TYPE_SMTP_MESSAGE, NULL);
  self->session_id = g_strdup (origin->session_id);
  self->client_ip = g_strdup (origin->client_ip);
  self->config = mb_relay_config_ref (config);
  self->envelope = build_envelope (origin, g_date_time_to_unix (now));
  if (framing == MB_SMTP_MESSAGE_DATA)
    self->decoder = mb_smtp_data_decoder_new (config->max_line_length);

  self->writer = mb_spool_writer_new (spool, &error);
  if (self->writer == NULL)
    {
      log_event (self, G_LOG_LEVEL_MESSAGE, "spool-error=\"%s\"",
                 error->message);
      self->refusal = refusal_from_spool_error (error);
      return g_steal_pointer (&self);
    }

  if (origin->rcpts->len == 1)
    recipient = ((MbSmtpRcptArgs *)g_ptr_array_index (origin->rcpts, 0))
                    ->forward_path;
  received = mb_header_stamper_format_received (
      origin->helo, origin->client_ip, config->hostname, origin->protocol,
      mb_spool_writer_get_id (self->writer), recipient, now);
  self->stamper = mb_header_stamper_new (received, config->hostname);
  return g_steal_pointer (&self);
}

gboolean
mb_smtp_message_is_busy (MbSmtpMessage *message)
{
  g_return_val_if_fail (MB_IS_SMTP_MESSAGE (message), FALSE);

  return message->write_pending || message->commit != NULL;
}

gboolean
mb_smtp_message_feed_data (MbSmtpMessage *message,
                           const guint8  *data,
                           gsize          len,
                           gsize         *consumed)
{
  MbSmtpDataStatus status;
  guint            problems;

  g_return_val_if_fail (MB_IS_SMTP_MESSAGE (message), FALSE);
  g_return_val_if_fail (message->decoder != NULL, FALSE);
  g_return_val_if_fail (!mb_smtp_message_is_busy (message), FALSE);
  g_return_val_if_fail (consumed != NULL, FALSE);

  g_byte_array_set_size (message->decoded, 0);
  status = mb_smtp_data_decoder_feed (
      message->decoder, data, len, consumed,
      message->refusal == MB_SMTP_REFUSAL_NONE ? message->decoded : NULL);

  problems = mb_smtp_data_decoder_get_problems (message->decoder);
  if (problems & MB_SMTP_DATA_PROBLEM_BARE_LF)
    set_refusal (message, MB_SMTP_REFUSAL_BARE_LF);
  else if (problems & MB_SMTP_DATA_PROBLEM_BARE_CR)
    set_refusal (message, MB_SMTP_REFUSAL_BARE_CR);
  else if (problems & MB_SMTP_DATA_PROBLEM_LINE_TOO_LONG)
    set_refusal (message, MB_SMTP_REFUSAL_LINE_TOO_LONG);
  message->saw_8bit = mb_smtp_data_decoder_saw_8bit (message->decoder);
  append_octets (message, message->decoded->data, message->decoded->len);

  if (status != MB_SMTP_DATA_END)
    return FALSE;
  if (message->refusal == MB_SMTP_REFUSAL_NONE)
    mb_header_stamper_finish (message->stamper, message->out);
  return TRUE;
}

void
mb_smtp_message_feed_chunk (MbSmtpMessage *message,
                            const guint8  *data,
                            gsize          len)
{
  g_return_if_fail (MB_IS_SMTP_MESSAGE (message));
  g_return_if_fail (message->decoder == NULL);
  g_return_if_fail (!mb_smtp_message_is_busy (message));

  check_chunk (message, data, len);
  append_octets (message, data, len);
}

gboolean
mb_smtp_message_end_chunk (MbSmtpMessage *message, gboolean last)
{
  g_return_val_if_fail (MB_IS_SMTP_MESSAGE (message), FALSE);
  g_return_val_if_fail (message->decoder == NULL, FALSE);
  g_return_val_if_fail (!mb_smtp_message_is_busy (message), FALSE);

  if (last && message->prev_cr)
    set_refusal (message, MB_SMTP_REFUSAL_BARE_CR);
  if (message->refusal != MB_SMTP_REFUSAL_NONE)
    return FALSE;
  if (!last)
    return TRUE;

  /* The spool holds CRLF text: end the last line if the client did not. */
  if (message->size > 0 && !message->ends_with_lf)
    mb_header_stamper_feed (message->stamper, (const guint8 *)"\r\n", 2,
                            message->out);
  mb_header_stamper_finish (message->stamper, message->out);
  return TRUE;
}

MbSmtpRefusal
mb_smtp_message_get_refusal (MbSmtpMessage *message)
{
  g_return_val_if_fail (MB_IS_SMTP_MESSAGE (message), MB_SMTP_REFUSAL_NONE);

  return message->refusal;
}

char *
mb_smtp_message_format_refusal (MbSmtpMessage *message)
{
  g_return_val_if_fail (MB_IS_SMTP_MESSAGE (message), NULL);

  switch (message->refusal)
    {
    case MB_SMTP_REFUSAL_BARE_LF:
      return g_strdup ("550 5.6.11 Message refused: bare LF (line feed "
                       "without carriage return) in the message; lines must "
                       "end with CRLF");
    case MB_SMTP_REFUSAL_BARE_CR:
      return g_strdup ("550 5.6.11 Message refused: bare CR (carriage return "
                       "without line feed) in the message; lines must end "
                       "with CRLF");
    case MB_SMTP_REFUSAL_LINE_TOO_LONG:
      return g_strdup_printf ("500 5.5.2 Message refused: a line is longer "
                              "than %" G_GSIZE_FORMAT " characters (RFC 5322 "
                              "limit)",
                              message->config->max_line_length);
    case MB_SMTP_REFUSAL_TOO_BIG:
      return g_strdup ("552 5.3.4 Message size exceeds fixed maximum message "
                       "size");
    case MB_SMTP_REFUSAL_NO_SPACE:
      return g_strdup ("452 4.3.1 Insufficient system storage, try again "
                       "later");
    case MB_SMTP_REFUSAL_SPOOL_ERROR:
    case MB_SMTP_REFUSAL_NONE:
    default:
      return g_strdup ("451 4.3.0 Local error while queueing, try again "
                       "later");
    }
}

const char *
mb_smtp_refusal_to_string (MbSmtpRefusal refusal)
{
  switch (refusal)
    {
    case MB_SMTP_REFUSAL_BARE_LF:
      return "bare-lf";
    case MB_SMTP_REFUSAL_BARE_CR:
      return "bare-cr";
    case MB_SMTP_REFUSAL_LINE_TOO_LONG:
      return "line-too-long";
    case MB_SMTP_REFUSAL_TOO_BIG:
      return "message-too-big";
    case MB_SMTP_REFUSAL_NO_SPACE:
      return "spool-no-space";
    case MB_SMTP_REFUSAL_SPOOL_ERROR:
      return "spool-error";
    case MB_SMTP_REFUSAL_NONE:
    default:
      return "none";
    }
}

gboolean
mb_smtp_refusal_is_local (MbSmtpRefusal refusal)
{
  return refusal == MB_SMTP_REFUSAL_NO_SPACE
         || refusal == MB_SMTP_REFUSAL_SPOOL_ERROR;
}

void
mb_smtp_message_commit_async (MbSmtpMessage      *message,
                              GAsyncReadyCallback callback,
                              gpointer            user_data)
{
  g_return_if_fail (MB_IS_SMTP_MESSAGE (message));
  g_return_if_fail (message->commit == NULL);

  message->commit = g_task_new (message, NULL, callback, user_data);
  g_task_set_source_tag (message->commit, mb_smtp_message_commit_async);
  /* With a write outstanding, its callback goes on from here. */
  continue_commit (message);
}

gboolean
mb_smtp_message_commit_finish (MbSmtpMessage *message,
                               GAsyncResult  *result,
                               GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, message), FALSE);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result))
                            == mb_smtp_message_commit_async,
                        FALSE);

  return g_task_propagate_boolean (G_TASK (result), error);
}

const char *
mb_smtp_message_get_queue_id (MbSmtpMessage *message)
{
  g_return_val_if_fail (MB_IS_SMTP_MESSAGE (message), NULL);

  return message->writer != NULL ? mb_spool_writer_get_id (message->writer)
                                 : NULL;
}

guint64
mb_smtp_message_get_size (MbSmtpMessage *message)
{
  g_return_val_if_fail (MB_IS_SMTP_MESSAGE (message), 0);

  return message->writer != NULL ? mb_spool_writer_get_size (message->writer)
                                 : 0;
}

const MbEnvelope *
mb_smtp_message_get_envelope (MbSmtpMessage *message)
{
  g_return_val_if_fail (MB_IS_SMTP_MESSAGE (message), NULL);

  return message->envelope;
}
