/* mb-smtp-session.c - one inbound SMTP conversation (the state machine)
 *
 * What it does: drives one ESMTP (RFC 5321) conversation with one device.
 * The session moves through its states (command, DATA, BDAT chunk, commit,
 * TLS handshake, closing); its input loop hands each command line to the
 * command handlers (mb-smtp-session-commands.c: syntax, sequence, reply).
 * The message of a transaction is an MbSmtpMessage (mb-smtp-message): the
 * session feeds it the input between 354 and the end of data (or the BDAT
 * chunks) and answers with what its commit returns.  The bytes travel
 * through an MbSmtpConnection (mb-smtp-connection), which owns the stream:
 * the session pulls command lines or message bytes from its input buffer,
 * asks it for more input only when it can take some, and queues replies on
 * it; the connection reports input, sent output, timeouts, the end of
 * STARTTLS, a lost client and the close.
 *
 * Guarantees:
 * - "250 2.0.0 Ok: queued as ID" is sent only after the message's commit
 *   succeeded, which it does only once the spool made it durable (DESIGN.md
 *   "Data that must not be lost").  A refused or abandoned message is
 *   dropped without a commit, so nothing is ever half-queued.
 * - Pipelining (RFC 2920): every complete command already buffered is
 *   handled in order, and the replies go out in that order, batched; the
 *   batch is flushed whenever the session waits (for input, for the spool,
 *   for TLS).  Input pipelined after the end of data stays buffered while
 *   the commit runs and is handled afterwards.
 * - No SMTP smuggling: the message reads DATA to its only end,
 *   <CRLF>.<CRLF>, and refuses a bare LF or bare CR only then, so the rest
 *   of a message is never read as commands; a BDAT chunk is read to its
 *   announced size even when refused.  Plaintext pipelined after STARTTLS
 *   is discarded (RFC 3207 4.2).
 * - Bounded memory: in command mode the input buffer holds at most one
 *   command line (max_command_line_length) plus one read; message bytes are
 *   streamed, and no input is asked for while a spool write is outstanding
 *   (back-pressure), nor taken while the connection's output is full of
 *   replies for a client that does not read them.
 * - Limits (RFC 5321 4.5.3, 4.5.3.2): command line length, recipients per
 *   message, message size (announced in EHLO SIZE, RFC 1870), text line
 *   length (RFC 5322 2.1.1), idle timeout, session time, errors per session.
 * - Log lines are key=value with the session id; message content, and the
 *   arguments of AUTH, are never logged.
 * - Lifetime: a started (or closed) session holds a reference on itself
 *   until its connection closed and "closed" was emitted, once.
 *
 * What it does not do: reads, writes, timers, the TLS handshake and closing
 * the stream (mb-smtp-connection); look at message content, decide
 * refusals of a message or write the spool (mb-smtp-message);
 * authentication (AUTH is answered 502: devices must not send credentials
 * to the relay); access control and connection limits (mb-smtp-server);
 * delivery.
 *
 * RFCs: 5321 (SMTP), 1870 (SIZE), 2920 (PIPELINING), 6152 (8BITMIME), 6531
 * (SMTPUTF8), 2034 + 3463 (enhanced status codes), 3461 (DSN), 3030
 * (CHUNKING/BDAT), 3207 (STARTTLS), 3848 (Received "with" keywords).
 */
#define G_LOG_DOMAIN "mb-smtp-session"

#include "mb-smtp-session.h"

#include "mb-smtp-session-private.h"

/* A refused client (RFC 5321 3.1) gets this long between commands. */
#define REFUSED_IDLE_TIMEOUT 10

enum
{
  SIGNAL_CLOSED,
  SIGNAL_MESSAGE_ACCEPTED,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

static void process_input (MbSmtpSession *self);

G_DEFINE_FINAL_TYPE (MbSmtpSession, mb_smtp_session, G_TYPE_OBJECT)

/* Helpers: logging */

/* One log line "session=ID client=IP ..." with the MB_SESSION field. */
G_GNUC_PRINTF (3, 4)
static void
log_event (MbSmtpSession *self, GLogLevelFlags level, const char *format, ...)
{
  g_autofree char *text = NULL;
  va_list          args;

  va_start (args, format);
  text = g_strdup_vprintf (format, args);
  va_end (args);
  g_log_structured (G_LOG_DOMAIN, level, "MB_SESSION", self->id, "MESSAGE",
                    "session=%s client=%s %s", self->id, self->client_ip, text);
}

static void
log_refusal (MbSmtpSession *self, const char *reply, const char *reason)
{
  log_event (self, G_LOG_LEVEL_MESSAGE, "refused reply=\"%s\" reason=%s", reply,
             reason);
}

/* Shared with the command handlers: replies */

static void
append_reply_va (MbSmtpSession *self,
                 gboolean       counts,
                 const char    *format,
                 va_list        args)
{
  g_autoptr (GString) line = g_string_new (NULL);

  g_string_append_vprintf (line, format, args);
  /* Texts may quote the client (parser errors): never let them end the
   * reply line early. */
  for (gsize i = 0; i < line->len; i++)
    if ((guchar)line->str[i] < 0x20)
      line->str[i] = '?';
  if (counts && (line->str[0] == '4' || line->str[0] == '5'))
    self->n_errors++;
  g_string_append (line, "\r\n");
  mb_smtp_connection_add_output (self->connection, line->str, line->len);
}

void
mb_smtp_session_reply (MbSmtpSession *self, const char *format, ...)
{
  va_list args;

  va_start (args, format);
  append_reply_va (self, TRUE, format, args);
  va_end (args);
}

void
mb_smtp_session_reply_no_count (MbSmtpSession *self, const char *format, ...)
{
  va_list args;

  va_start (args, format);
  append_reply_va (self, FALSE, format, args);
  va_end (args);
}

/* Sends the replies batched so far (RFC 2920: before any wait). */
static void
flush_replies (MbSmtpSession *self)
{
  mb_smtp_connection_flush (self->connection);
}

/* Shared with the command handlers: the transaction */

/* The RFC 3848 "with" keyword. */
static const char *
received_protocol (MbSmtpSession *self)
{
  gboolean utf8 = self->mail != NULL && self->mail->smtputf8;

  if (self->tls)
    return utf8 ? "UTF8SMTPS" : "ESMTPS";
  if (utf8)
    return "UTF8SMTP";
  return self->esmtp ? "ESMTP" : "SMTP";
}

static void on_message_ready_cb (MbSmtpMessage *message, gpointer user_data);

void
mb_smtp_session_start_message (MbSmtpSession       *self,
                               MbSmtpMessageFraming framing)
{
  MbSmtpMessageOrigin origin = {
    .session_id = self->id,
    .client_ip = self->client_ip,
    .helo = self->helo,
    .protocol = received_protocol (self),
    .mail = self->mail,
    .rcpts = self->rcpts,
  };

  g_assert (self->message == NULL);
  self->message
      = mb_smtp_message_new (self->spool, self->config, &origin, framing);
  g_signal_connect (self->message, "ready", G_CALLBACK (on_message_ready_cb),
                    self);
}

void
mb_smtp_session_reset_transaction (MbSmtpSession *self)
{
  g_clear_pointer (&self->mail, mb_smtp_mail_args_free);
  g_ptr_array_set_size (self->rcpts, 0);
  if (self->message == NULL)
    return;
  /* An outstanding spool write or commit keeps the message until it is
   * done; its tmp file goes then.  "ready" never reaches us again, and a
   * commit's callback sees that the message is no longer ours. */
  g_signal_handlers_disconnect_by_data (self->message, self);
  g_clear_object (&self->message);
}

void
mb_smtp_session_refuse_message (MbSmtpSession *self)
{
  MbSmtpRefusal    refusal = mb_smtp_message_get_refusal (self->message);
  g_autofree char *line = mb_smtp_message_format_refusal (self->message);

  if (mb_smtp_refusal_is_local (refusal))
    mb_smtp_session_reply_no_count (self, "%s", line);
  else
    mb_smtp_session_reply (self, "%s", line);
  log_refusal (self, line, mb_smtp_refusal_to_string (refusal));
  mb_smtp_session_reset_transaction (self);
  self->state = STATE_COMMAND;
}

/* Async steps: the message */

static void
log_accepted (MbSmtpSession *self, MbSmtpMessage *message, const char *note)
{
  const MbEnvelope *envelope = mb_smtp_message_get_envelope (message);
  const char       *queue_id = mb_smtp_message_get_queue_id (message);
  g_autoptr (GString) to = g_string_new (NULL);

  for (guint i = 0; i < envelope->recipients->len; i++)
    {
      MbRecipient *rcpt = g_ptr_array_index (envelope->recipients, i);

      g_string_append_printf (to, "%s<%s>", i > 0 ? "," : "", rcpt->address);
    }
  g_log_structured (G_LOG_DOMAIN, G_LOG_LEVEL_INFO, "MB_SESSION", self->id,
                    "MB_QUEUE_ID", queue_id, "MESSAGE",
                    "session=%s queue-id=%s client=%s from=<%s> to=%s nrcpt=%u "
                    "size=%" G_GUINT64_FORMAT "%s",
                    self->id, queue_id, self->client_ip, envelope->sender,
                    to->str, envelope->recipients->len,
                    mb_smtp_message_get_size (message), note);
}

static void
message_commit_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (MbSmtpSession) self = user_data;
  MbSmtpMessage *message = MB_SMTP_MESSAGE (source);
  gboolean       ok;

  ok = mb_smtp_message_commit_finish (message, result, NULL);
  if (message != self->message)
    {
      /* The connection broke while committing: the message may be queued
       * without the client knowing (RFC 5321 6.1 accepts the duplicate). */
      if (ok)
        log_accepted (self, message, " note=client-gone-before-reply");
      return;
    }

  if (!ok)
    {
      /* The refusal and its reply are the message's. */
      mb_smtp_session_refuse_message (self);
    }
  else
    {
      g_autofree char *queue_id
          = g_strdup (mb_smtp_message_get_queue_id (message));

      mb_smtp_session_reply_no_count (self, "250 2.0.0 Ok: queued as %s",
                                      queue_id);
      log_accepted (self, message, "");
      self->n_messages++;
      mb_smtp_session_reset_transaction (self);
      self->state = STATE_COMMAND;
      flush_replies (self);
      g_signal_emit (self, signals[SIGNAL_MESSAGE_ACCEPTED], 0, queue_id);
    }
  process_input (self);
}

/* The end of the message was seen: the reply waits for the commit.  Input
 * pipelined after it stays buffered meanwhile. */
static void
end_message (MbSmtpSession *self)
{
  self->state = STATE_COMMIT;
  mb_smtp_message_commit_async (self->message, message_commit_cb,
                                g_object_ref (self));
}

/* A spool write finished: the message takes input again. */
static void
on_message_ready_cb (MbSmtpMessage *message, gpointer user_data)
{
  MbSmtpSession *self = user_data;

  process_input (self);
}

/* Helpers: input and closing */

/* Asks for more input unless the session waits for something else. */
static void
maybe_read (MbSmtpSession *self)
{
  if ((self->state != STATE_COMMAND && self->state != STATE_DATA
       && self->state != STATE_BDAT)
      || (self->message != NULL && mb_smtp_message_is_busy (self->message)))
    return;
  mb_smtp_connection_request_input (self->connection);
}

/* A started session lives until its connection closed, whoever else still
 * holds it (the server drops its reference on "closed"). */
static void
hold_until_closed (MbSmtpSession *self)
{
  if (self->running)
    return;
  self->running = TRUE;
  g_object_ref (self);
}

void
mb_smtp_session_begin_close (MbSmtpSession *self, const char *reply_line)
{
  if (self->state >= STATE_CLOSING)
    return;
  if (reply_line != NULL)
    mb_smtp_session_reply_no_count (self, "%s", reply_line);
  mb_smtp_session_reset_transaction (self);
  self->state = STATE_CLOSING;
  /* During a TLS handshake this aborts: nothing can be sent then. */
  mb_smtp_connection_close (self->connection);
}

/* Closes now, dropping unsent replies (I/O error, failed handshake). */
static void
abort_connection (MbSmtpSession *self)
{
  if (self->state == STATE_CLOSED)
    return;
  mb_smtp_session_reset_transaction (self);
  self->state = STATE_CLOSING;
  mb_smtp_connection_abort (self->connection);
}

/* A close from outside the conversation (timer, shutdown): a commit in
 * progress is answered first, the handshake is cut short. */
static void
request_close (MbSmtpSession *self, const char *reply_line)
{
  if (self->state == STATE_COMMIT)
    {
      if (self->deferred_close == NULL)
        self->deferred_close = g_strdup (reply_line);
      return;
    }
  mb_smtp_session_begin_close (self, reply_line);
}

/* Signal handlers: the connection */

static void
on_connection_input_available_cb (MbSmtpConnection *connection,
                                  gpointer          user_data)
{
  process_input (user_data);
}

/* The replies may have fallen below the high-water mark. */
static void
on_connection_output_sent_cb (MbSmtpConnection *connection, gpointer user_data)
{
  process_input (user_data);
}

static void
on_connection_timeout_cb (MbSmtpConnection *connection,
                          guint             kind,
                          gpointer          user_data)
{
  MbSmtpSession   *self = user_data;
  g_autofree char *line = NULL;

  if (kind == MB_SMTP_CONNECTION_TIMEOUT_SESSION)
    {
      log_event (self, G_LOG_LEVEL_MESSAGE, "closing reason=session-timeout");
      line = g_strdup_printf ("421 4.4.2 %s Error: session time limit exceeded",
                              self->config->hostname);
      request_close (self, line);
      return;
    }

  if (self->message != NULL && mb_smtp_message_is_busy (self->message))
    {
      /* Our own disk is slow, not the client: wait again. */
      mb_smtp_connection_restart_idle_timer (connection);
      return;
    }
  log_event (self, G_LOG_LEVEL_MESSAGE, "closing reason=idle-timeout");
  line = g_strdup_printf ("421 4.4.2 %s Error: timeout exceeded",
                          self->config->hostname);
  mb_smtp_session_begin_close (self, line);
}

static void
on_connection_tls_done_cb (MbSmtpConnection *connection, gpointer user_data)
{
  MbSmtpSession *self = user_data;

  /* RFC 3207 4.2: forget everything learned before; EHLO again. */
  self->tls = TRUE;
  g_clear_pointer (&self->helo, g_free);
  self->esmtp = FALSE;
  mb_smtp_session_reset_transaction (self);
  self->state = STATE_COMMAND;
  process_input (self);
}

static void
on_connection_lost_cb (MbSmtpConnection *connection,
                       gboolean          eof,
                       gpointer          user_data)
{
  MbSmtpSession *self = user_data;

  if (eof && (self->message != NULL || self->state == STATE_BDAT))
    log_event (self, G_LOG_LEVEL_MESSAGE, "dropped reason=disconnect-in-data");
  /* A message cut off is dropped, never queued. */
  abort_connection (self);
}

static void
on_connection_closed_cb (MbSmtpConnection *connection, gpointer user_data)
{
  MbSmtpSession *self = user_data;

  self->state = STATE_CLOSED;
  log_event (self, G_LOG_LEVEL_INFO,
             "disconnect commands=%u messages=%u errors=%u", self->n_commands,
             self->n_messages, self->n_errors);
  g_signal_emit (self, signals[SIGNAL_CLOSED], 0);
  if (self->running)
    {
      self->running = FALSE;
      g_object_unref (self);
    }
}

/* The input loop */

/* Each returns TRUE when it made progress and the loop should go on, FALSE
 * when it needs more input or waits for something else. */

static gboolean
process_command_input (MbSmtpSession *self)
{
  g_autofree char *line = NULL;
  gsize            len;

  /* The line is a copy: the handler may drop the buffer (STARTTLS). */
  switch (mb_smtp_connection_take_line (
      self->connection, self->config->max_command_line_length, &line, &len))
    {
    case MB_SMTP_CONNECTION_LINE_COMPLETE:
      mb_smtp_session_handle_command (self, line, len);
      return TRUE;
    case MB_SMTP_CONNECTION_LINE_TOO_LONG:
      mb_smtp_session_reply (self, "500 5.5.2 Error: line too long");
      return TRUE;
    case MB_SMTP_CONNECTION_LINE_INCOMPLETE:
    default:
      return FALSE;
    }
}

static gboolean
process_data_input (MbSmtpSession *self)
{
  gsize         len;
  const guint8 *data = mb_smtp_connection_peek_input (self->connection, &len);
  gsize         consumed = 0;
  gboolean      end;

  if (mb_smtp_message_is_busy (self->message) || len == 0)
    return FALSE;

  end = mb_smtp_message_feed_data (self->message, data, len, &consumed);
  mb_smtp_connection_consume_input (self->connection, consumed);
  if (end)
    end_message (self);
  return TRUE;
}

static gboolean
process_bdat_input (MbSmtpSession *self)
{
  if (self->message != NULL && mb_smtp_message_is_busy (self->message))
    return FALSE;

  if (self->bdat_remaining > 0)
    {
      gsize         len;
      const guint8 *data
          = mb_smtp_connection_peek_input (self->connection, &len);
      gsize n = (gsize)MIN (self->bdat_remaining, (guint64)len);

      if (n == 0)
        return FALSE;
      if (self->bdat_error == NULL)
        mb_smtp_message_feed_chunk (self->message, data, n);
      mb_smtp_connection_consume_input (self->connection, n);
      self->bdat_remaining -= n;
      return TRUE;
    }

  /* The chunk is complete. */
  self->state = STATE_COMMAND;
  if (self->bdat_error != NULL)
    {
      g_autofree char *line = g_steal_pointer (&self->bdat_error);

      mb_smtp_session_reply (self, "%s", line);
      return TRUE;
    }
  if (!mb_smtp_message_end_chunk (self->message, self->bdat_last))
    {
      /* RFC 3030 2: a failed chunk fails the transaction. */
      mb_smtp_session_refuse_message (self);
      return TRUE;
    }
  if (!self->bdat_last)
    {
      mb_smtp_session_reply (self,
                             "250 2.0.0 %" G_GUINT64_FORMAT " octets received",
                             self->bdat_chunk);
      return TRUE;
    }
  end_message (self);
  return TRUE;
}

/* Handles everything buffered that can be handled now, then flushes the
 * replies and reads more if the session waits for input. */
static void
process_input (MbSmtpSession *self)
{
  if (self->processing)
    return;
  self->processing = TRUE;

  if (self->deferred_close != NULL && self->state != STATE_COMMIT)
    {
      g_autofree char *line = g_steal_pointer (&self->deferred_close);

      mb_smtp_session_begin_close (self, line);
    }

  for (;;)
    {
      gboolean progressed;

      if (mb_smtp_connection_is_output_full (self->connection))
        break;
      switch (self->state)
        {
        case STATE_COMMAND:
          progressed = process_command_input (self);
          break;
        case STATE_DATA:
          progressed = process_data_input (self);
          break;
        case STATE_BDAT:
          progressed = process_bdat_input (self);
          break;
        case STATE_NEW:
        case STATE_COMMIT:
        case STATE_TLS:
        case STATE_CLOSING:
        case STATE_CLOSED:
        default:
          progressed = FALSE;
          break;
        }
      if (!self->refused && self->n_errors > self->config->max_errors
          && self->state < STATE_COMMIT)
        {
          g_autofree char *line = g_strdup_printf (
              "421 4.7.0 %s Error: too many errors", self->config->hostname);

          log_refusal (self, line, "too-many-errors");
          mb_smtp_session_begin_close (self, line);
        }
      if (!progressed)
        break;
    }

  self->processing = FALSE;
  /* Also starts the TLS handshake once the 220 is out. */
  flush_replies (self);
  maybe_read (self);
}

/* GObject */

static void
mb_smtp_session_dispose (GObject *object)
{
  MbSmtpSession *self = MB_SMTP_SESSION (object);

  /* A started session holds itself until closed, so this is a session
   * that was never started, or one that is closed: its connection has
   * nothing pending that could still call us. */
  if (self->connection != NULL)
    g_signal_handlers_disconnect_by_data (self->connection, self);
  g_clear_object (&self->connection);
  mb_smtp_session_reset_transaction (self);

  G_OBJECT_CLASS (mb_smtp_session_parent_class)->dispose (object);
}

static void
mb_smtp_session_finalize (GObject *object)
{
  MbSmtpSession *self = MB_SMTP_SESSION (object);

  g_free (self->id);
  g_clear_pointer (&self->config, mb_relay_config_unref);
  g_clear_object (&self->spool);
  g_clear_object (&self->tls_certificate);
  g_free (self->deferred_close);
  g_free (self->helo);
  g_ptr_array_unref (self->rcpts);
  g_free (self->bdat_error);

  G_OBJECT_CLASS (mb_smtp_session_parent_class)->finalize (object);
}

static void
mb_smtp_session_class_init (MbSmtpSessionClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = mb_smtp_session_dispose;
  object_class->finalize = mb_smtp_session_finalize;

  /**
   * MbSmtpSession::closed:
   *
   * The connection is closed; emitted once.  The session may be dropped.
   */
  signals[SIGNAL_CLOSED]
      = g_signal_new ("closed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0,
                      NULL, NULL, NULL, G_TYPE_NONE, 0);

  /**
   * MbSmtpSession::message-accepted:
   * @queue_id: the spool id of the message
   *
   * A message was committed to the spool and its 250 queued for sending.
   */
  signals[SIGNAL_MESSAGE_ACCEPTED] = g_signal_new (
      "message-accepted", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL,
      NULL, NULL, G_TYPE_NONE, 1, G_TYPE_STRING);
}

static void
mb_smtp_session_init (MbSmtpSession *self)
{
  static guint counter;

  /* Unique within the process and sortable: start second, then a count. */
  self->id = g_strdup_printf ("%08" G_GINT64_MODIFIER "X%04X",
                              g_get_real_time () / G_USEC_PER_SEC,
                              ++counter & 0xffff);
  self->rcpts
      = g_ptr_array_new_with_free_func ((GDestroyNotify)mb_smtp_rcpt_args_free);
}

/* Public API */

MbSmtpSession *
mb_smtp_session_new (GIOStream       *stream,
                     GSocketAddress  *remote,
                     MbRelayConfig   *config,
                     MbSpool         *spool,
                     GTlsCertificate *tls_certificate)
{
  MbSmtpSession *self;

  g_return_val_if_fail (G_IS_IO_STREAM (stream), NULL);
  g_return_val_if_fail (remote == NULL || G_IS_SOCKET_ADDRESS (remote), NULL);
  g_return_val_if_fail (config != NULL, NULL);
  g_return_val_if_fail (MB_IS_SPOOL (spool), NULL);

  self = g_object_new (MB_TYPE_SMTP_SESSION, NULL);
  self->config = mb_relay_config_ref (config);
  self->spool = g_object_ref (spool);
  if (tls_certificate != NULL)
    self->tls_certificate = g_object_ref (tls_certificate);

  self->connection = mb_smtp_connection_new (stream, remote, self->id);
  self->client_ip = mb_smtp_connection_get_client_ip (self->connection);
  g_signal_connect (self->connection, "input-available",
                    G_CALLBACK (on_connection_input_available_cb), self);
  g_signal_connect (self->connection, "output-sent",
                    G_CALLBACK (on_connection_output_sent_cb), self);
  g_signal_connect (self->connection, "timeout",
                    G_CALLBACK (on_connection_timeout_cb), self);
  g_signal_connect (self->connection, "tls-done",
                    G_CALLBACK (on_connection_tls_done_cb), self);
  g_signal_connect (self->connection, "lost",
                    G_CALLBACK (on_connection_lost_cb), self);
  g_signal_connect (self->connection, "closed",
                    G_CALLBACK (on_connection_closed_cb), self);
  return self;
}

const char *
mb_smtp_session_get_id (MbSmtpSession *session)
{
  g_return_val_if_fail (MB_IS_SMTP_SESSION (session), NULL);

  return session->id;
}

static void
start_common (MbSmtpSession *self, const char *greeting)
{
  gint64 idle
      = self->refused ? REFUSED_IDLE_TIMEOUT : self->config->idle_timeout;
  gint64 session = self->refused ? 0 : self->config->session_timeout;

  g_log_structured (G_LOG_DOMAIN, G_LOG_LEVEL_INFO, "MB_SESSION", self->id,
                    "MESSAGE", "session=%s client=%s connect", self->id,
                    mb_smtp_connection_get_client_address (self->connection));
  hold_until_closed (self);
  mb_smtp_session_reply_no_count (self, "%s", greeting);
  self->state = STATE_COMMAND;
  mb_smtp_connection_start (self->connection,
                            (guint)CLAMP (idle, 0, (gint64)G_MAXUINT),
                            (guint)CLAMP (session, 0, (gint64)G_MAXUINT));
  process_input (self);
}

void
mb_smtp_session_start (MbSmtpSession *session)
{
  g_autofree char *greeting = NULL;

  g_return_if_fail (MB_IS_SMTP_SESSION (session));
  g_return_if_fail (session->state == STATE_NEW);

  greeting
      = g_strdup_printf ("220 %s ESMTP Mailbridge", session->config->hostname);
  start_common (session, greeting);
}

void
mb_smtp_session_start_refused (MbSmtpSession *session, const char *reply_line)
{
  g_return_if_fail (MB_IS_SMTP_SESSION (session));
  g_return_if_fail (session->state == STATE_NEW);
  g_return_if_fail (reply_line != NULL);

  session->refused = TRUE;
  start_common (session, reply_line);
}

void
mb_smtp_session_close (MbSmtpSession *session)
{
  g_autofree char *line = NULL;

  g_return_if_fail (MB_IS_SMTP_SESSION (session));

  if (session->state >= STATE_CLOSING)
    return;
  line = g_strdup_printf ("421 4.3.2 %s Service shutting down",
                          session->config->hostname);
  if (session->state == STATE_NEW)
    {
      hold_until_closed (session);
      session->state = STATE_COMMAND;
      mb_smtp_session_begin_close (session, NULL);
      return;
    }
  request_close (session, line);
}
