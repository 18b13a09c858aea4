/* mb-smtp-session.c - one inbound SMTP conversation (the state machine)
 *
 * What it does: speaks ESMTP (RFC 5321) with one device over a GIOStream it
 * owns.  Command lines are parsed by mb-smtp-parser; the commands move the
 * session through its states (command, DATA, BDAT chunk, commit, TLS
 * handshake, closing).  The message of a transaction is an MbSmtpMessage
 * (mb-smtp-message): the session feeds it the input between 354 and the
 * end of data (or the BDAT chunks) and answers with what its commit
 * returns.  All I/O is asynchronous: one read of up to 64 KiB at a time
 * into an input buffer, replies through an ordered output queue.
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
 *   streamed, and no read is issued while a spool write is outstanding
 *   (back-pressure), nor while more than OUTPUT_HIGH_WATER bytes of replies
 *   wait for a client that does not read them.
 * - Limits (RFC 5321 4.5.3, 4.5.3.2): command line length, recipients per
 *   message, message size (announced in EHLO SIZE, RFC 1870), text line
 *   length (RFC 5322 2.1.1), idle timeout, session time, errors per session.
 * - Log lines are key=value with the session id; message content, and the
 *   arguments of AUTH, are never logged.
 *
 * What it does not do: look at message content, decide refusals of a
 * message or write the spool (mb-smtp-message); authentication (AUTH is
 * answered 502: devices must not send credentials to the relay); access
 * control and connection limits (mb-smtp-server); delivery.
 *
 * RFCs: 5321 (SMTP), 1870 (SIZE), 2920 (PIPELINING), 6152 (8BITMIME), 6531
 * (SMTPUTF8), 2034 + 3463 (enhanced status codes), 3461 (DSN), 3030
 * (CHUNKING/BDAT), 3207 (STARTTLS), 3848 (Received "with" keywords).
 */
#define G_LOG_DOMAIN "mb-smtp-session"

#include "mb-smtp-session.h"

#include "mb-smtp-message.h"
#include "mb-smtp-parser.h"

#include <string.h>

#define READ_CHUNK_SIZE (64 * 1024)
/* Stop reading commands while this many reply bytes wait to be sent. */
#define OUTPUT_HIGH_WATER (64 * 1024)
/* A refused client (RFC 5321 3.1) gets this many commands, then is closed. */
#define REFUSED_MAX_COMMANDS 5
#define REFUSED_IDLE_TIMEOUT 10

typedef enum
{
  STATE_NEW,     /* not started */
  STATE_COMMAND, /* reading command lines */
  STATE_DATA,    /* after 354: the message takes the input */
  STATE_BDAT,    /* inside a BDAT chunk */
  STATE_COMMIT,  /* end of message seen: spool writes and commit; input waits */
  STATE_TLS,     /* after "220 Ready to start TLS": drain, then handshake */
  STATE_CLOSING, /* no more input; the queued replies drain, then close */
  STATE_CLOSED,
} SessionState;

struct _MbSmtpSession
{
  GObject parent_instance;

  char            *id;
  GIOStream       *stream;           /* (owned) plain, later the TLS one */
  GSocketAddress  *remote;           /* (owned) (nullable) */
  char            *client_ip;        /* (owned) "unknown" without remote */
  char            *client_desc;      /* (owned) "IP:port" or "[IP]:port" */
  MbRelayConfig   *config;           /* (owned) */
  MbSpool         *spool;            /* (owned) */
  GTlsCertificate *tls_certificate;  /* (owned) (nullable) */
  GCancellable    *cancellable;      /* (owned) all network I/O */
  GCancellable    *read_cancellable; /* (owned) reads only */

  SessionState state;
  gboolean     refused; /* started with start_refused() */
  gboolean     tls;     /* STARTTLS done */
  gboolean     reading;
  gboolean     writing;
  gboolean     handshaking;
  gboolean     processing;
  gboolean     force_close;    /* drop unsent replies */
  gboolean     close_started;  /* g_io_stream_close_async() issued */
  char        *deferred_close; /* (owned) (nullable) 421 after the commit */

  /* Input: bytes in_start..len of inbuf are unprocessed. */
  GByteArray *inbuf; /* (owned) */
  gsize       in_start;
  guint8     *read_buffer;     /* (owned) READ_CHUNK_SIZE bytes */
  gboolean    discarding_line; /* an over-long command line */

  /* Output: the batch being built, then whole batches in order. */
  GString *replies;   /* (owned) */
  GQueue   out_queue; /* (element-type GBytes) (owned) */
  gsize    out_queued;

  guint idle_source;
  guint session_source;

  /* SMTP state */
  char           *helo; /* (owned) (nullable) */
  gboolean        esmtp;
  MbSmtpMailArgs *mail;    /* (owned) (nullable) */
  GPtrArray      *rcpts;   /* (owned) (element-type MbSmtpRcptArgs) */
  MbSmtpMessage  *message; /* (owned) (nullable) from 354 or BDAT */
  guint64         bdat_remaining;
  guint64         bdat_chunk;
  gboolean        bdat_last;
  char           *bdat_error; /* (owned) (nullable) reply after the chunk */

  /* Counters for the log and the limits. */
  guint n_commands;
  guint n_errors;
  guint n_messages;
};

enum
{
  SIGNAL_CLOSED,
  SIGNAL_MESSAGE_ACCEPTED,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

static void process_input (MbSmtpSession *self);
static void begin_close (MbSmtpSession *self, const char *reply);
static void request_close (MbSmtpSession *self, const char *reply);
static void abort_connection (MbSmtpSession *self);
static void maybe_finish_close (MbSmtpSession *self);

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

/* Client-supplied words (the HELO name) go into logs and the Received
 * field: keep printable ASCII only, so nothing can forge a log line or
 * fold a header. */
static char *
sanitize_word (const char *text)
{
  GString *word = g_string_new (NULL);

  for (const char *p = text; *p != '\0' && *p != ' ' && word->len < 255; p++)
    g_string_append_c (word, g_ascii_isgraph (*p) ? *p : '?');
  return g_string_free (word, FALSE);
}

/* Helpers: input buffer */

static const guint8 *
in_data (MbSmtpSession *self)
{
  return self->inbuf->data + self->in_start;
}

static gsize
in_len (MbSmtpSession *self)
{
  return self->inbuf->len - self->in_start;
}

static void
in_consume (MbSmtpSession *self, gsize n)
{
  self->in_start += n;
  if (self->in_start == self->inbuf->len)
    {
      g_byte_array_set_size (self->inbuf, 0);
      self->in_start = 0;
    }
}

static void
in_clear (MbSmtpSession *self)
{
  g_byte_array_set_size (self->inbuf, 0);
  self->in_start = 0;
}

/* Helpers: replies */

static void
append_reply_va (MbSmtpSession *self,
                 gboolean       counts,
                 const char    *format,
                 va_list        args)
{
  gsize start = self->replies->len;

  g_string_append_vprintf (self->replies, format, args);
  /* Texts may quote the client (parser errors): never let them end the
   * reply line early. */
  for (gsize i = start; i < self->replies->len; i++)
    if ((guchar)self->replies->str[i] < 0x20)
      self->replies->str[i] = '?';
  if (counts
      && (self->replies->str[start] == '4' || self->replies->str[start] == '5'))
    self->n_errors++;
  g_string_append (self->replies, "\r\n");
}

/* Queues one reply line to a command; a 4xx or 5xx counts as an error of
 * the client (max_errors). */
G_GNUC_PRINTF (2, 3)
static void
reply (MbSmtpSession *self, const char *format, ...)
{
  va_list args;

  va_start (args, format);
  append_reply_va (self, TRUE, format, args);
  va_end (args);
}

/* The same for replies that are not the client's fault: local errors, the
 * recipient limit (RFC 5321 4.5.3.1.10 expects the client to carry on). */
G_GNUC_PRINTF (2, 3)
static void
reply_no_count (MbSmtpSession *self, const char *format, ...)
{
  va_list args;

  va_start (args, format);
  append_reply_va (self, FALSE, format, args);
  va_end (args);
}

static gsize
output_backlog (MbSmtpSession *self)
{
  return self->out_queued + self->replies->len;
}

static void write_cb (GObject *source, GAsyncResult *result, gpointer data);

static void
write_next (MbSmtpSession *self)
{
  GBytes *bytes;

  if (self->writing || self->close_started || self->force_close
      || g_queue_is_empty (&self->out_queue))
    return;

  bytes = g_queue_peek_head (&self->out_queue);
  self->writing = TRUE;
  g_output_stream_write_all_async (
      g_io_stream_get_output_stream (self->stream),
      g_bytes_get_data (bytes, NULL), g_bytes_get_size (bytes),
      G_PRIORITY_DEFAULT, self->cancellable, write_cb, g_object_ref (self));
}

/* Sends the replies batched so far (RFC 2920: before any wait). */
static void
flush_replies (MbSmtpSession *self)
{
  GBytes *bytes;

  if (self->replies->len == 0)
    return;
  if (self->force_close || self->state == STATE_CLOSED)
    {
      g_string_truncate (self->replies, 0);
      return;
    }
  bytes = g_string_free_to_bytes (g_steal_pointer (&self->replies));
  self->replies = g_string_new (NULL);
  self->out_queued += g_bytes_get_size (bytes);
  g_queue_push_tail (&self->out_queue, bytes);
  write_next (self);
}

/* Helpers: timers */

static gboolean
on_idle_timeout_cb (gpointer user_data)
{
  MbSmtpSession *self = user_data;

  self->idle_source = 0;
  if (self->state >= STATE_CLOSING)
    {
      /* The client does not even read our last reply. */
      abort_connection (self);
      return G_SOURCE_REMOVE;
    }
  if (self->message != NULL && mb_smtp_message_is_busy (self->message))
    {
      /* Our own disk is slow, not the client: wait again. */
      self->idle_source = g_timeout_add_seconds (
          (guint)MAX (self->config->idle_timeout, 1), on_idle_timeout_cb, self);
      return G_SOURCE_REMOVE;
    }

  log_event (self, G_LOG_LEVEL_MESSAGE, "closing reason=idle-timeout");
  if (self->handshaking)
    {
      abort_connection (self);
      return G_SOURCE_REMOVE;
    }
  {
    g_autofree char *line = g_strdup_printf (
        "421 4.4.2 %s Error: timeout exceeded", self->config->hostname);
    begin_close (self, line);
  }
  return G_SOURCE_REMOVE;
}

/* Restarts the idle timer: called on every completed read and write. */
static void
arm_idle_timer (MbSmtpSession *self)
{
  gint64 seconds
      = self->refused ? REFUSED_IDLE_TIMEOUT : self->config->idle_timeout;

  g_clear_handle_id (&self->idle_source, g_source_remove);
  if (seconds <= 0 || self->state == STATE_CLOSED || self->close_started)
    return;
  self->idle_source = g_timeout_add_seconds ((guint)MIN (seconds, G_MAXUINT),
                                             on_idle_timeout_cb, self);
}

static gboolean
on_session_timeout_cb (gpointer user_data)
{
  MbSmtpSession   *self = user_data;
  g_autofree char *line = NULL;

  self->session_source = 0;
  if (self->state >= STATE_CLOSING)
    return G_SOURCE_REMOVE;
  log_event (self, G_LOG_LEVEL_MESSAGE, "closing reason=session-timeout");
  line = g_strdup_printf ("421 4.4.2 %s Error: session time limit exceeded",
                          self->config->hostname);
  request_close (self, line);
  return G_SOURCE_REMOVE;
}

/* Helpers: the transaction */

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

/* Starts the message of the transaction (354 or the first BDAT). */
static void
start_message (MbSmtpSession *self, MbSmtpMessageFraming framing)
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

/* Forgets MAIL, RCPT and any message (RFC 5321 4.1.1.5). */
static void
reset_transaction (MbSmtpSession *self)
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

static void
refuse_message (MbSmtpSession *self)
{
  MbSmtpRefusal    refusal = mb_smtp_message_get_refusal (self->message);
  g_autofree char *line = mb_smtp_message_format_refusal (self->message);

  if (mb_smtp_refusal_is_local (refusal))
    reply_no_count (self, "%s", line);
  else
    reply (self, "%s", line);
  log_refusal (self, line, mb_smtp_refusal_to_string (refusal));
  reset_transaction (self);
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
      maybe_finish_close (self);
      return;
    }

  if (!ok)
    {
      /* The refusal and its reply are the message's. */
      refuse_message (self);
    }
  else
    {
      g_autofree char *queue_id
          = g_strdup (mb_smtp_message_get_queue_id (message));

      reply_no_count (self, "250 2.0.0 Ok: queued as %s", queue_id);
      log_accepted (self, message, "");
      self->n_messages++;
      reset_transaction (self);
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

/* Async steps: the connection */

static void
read_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (MbSmtpSession) self = user_data;
  g_autoptr (GError) error = NULL;
  gssize n;

  n = g_input_stream_read_finish (G_INPUT_STREAM (source), result, &error);
  self->reading = FALSE;
  if (n > 0)
    g_byte_array_append (self->inbuf, self->read_buffer, (guint)n);
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    {
      maybe_finish_close (self);
      return;
    }
  if (n <= 0)
    {
      if (n < 0)
        log_event (self, G_LOG_LEVEL_INFO, "read-error=\"%s\"", error->message);
      else if (self->message != NULL || self->state == STATE_BDAT)
        log_event (self, G_LOG_LEVEL_MESSAGE,
                   "dropped reason=disconnect-in-data");
      /* A message cut off by the client is dropped, never queued. */
      abort_connection (self);
      return;
    }

  arm_idle_timer (self);
  process_input (self);
}

/* Reads more unless the session waits for something else. */
static void
maybe_read (MbSmtpSession *self)
{
  if (self->reading || self->force_close
      || (self->state != STATE_COMMAND && self->state != STATE_DATA
          && self->state != STATE_BDAT)
      || (self->message != NULL && mb_smtp_message_is_busy (self->message))
      || output_backlog (self) > OUTPUT_HIGH_WATER)
    return;

  if (self->in_start > 0)
    {
      g_byte_array_remove_range (self->inbuf, 0, (guint)self->in_start);
      self->in_start = 0;
    }
  self->reading = TRUE;
  g_input_stream_read_async (g_io_stream_get_input_stream (self->stream),
                             self->read_buffer, READ_CHUNK_SIZE,
                             G_PRIORITY_DEFAULT, self->read_cancellable,
                             read_cb, g_object_ref (self));
}

static void
handshake_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (MbSmtpSession) self = user_data;
  g_autoptr (GError) error = NULL;
  GTlsConnection  *tls = G_TLS_CONNECTION (source);
  g_autofree char *cipher = NULL;

  self->handshaking = FALSE;
  if (!g_tls_connection_handshake_finish (tls, result, &error))
    {
      if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        log_event (self, G_LOG_LEVEL_MESSAGE, "tls-handshake-failed=\"%s\"",
                   error->message);
      abort_connection (self);
      return;
    }
  if (self->state != STATE_TLS)
    {
      maybe_finish_close (self);
      return;
    }

  cipher = g_tls_connection_get_ciphersuite_name (tls);
  log_event (self, G_LOG_LEVEL_INFO, "starttls cipher=%s",
             cipher != NULL ? cipher : "unknown");
  /* RFC 3207 4.2: forget everything learned before; EHLO again. */
  self->tls = TRUE;
  g_clear_pointer (&self->helo, g_free);
  self->esmtp = FALSE;
  reset_transaction (self);
  self->state = STATE_COMMAND;
  arm_idle_timer (self);
  process_input (self);
}

static void
start_tls_handshake (MbSmtpSession *self)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GIOStream) tls = NULL;

  tls = g_tls_server_connection_new (self->stream, self->tls_certificate,
                                     &error);
  if (tls == NULL)
    {
      log_event (self, G_LOG_LEVEL_MESSAGE, "tls-error=\"%s\"", error->message);
      abort_connection (self);
      return;
    }
  /* Devices often just drop the connection; that is an EOF, not an
   * attack on a finished SMTP conversation (RFC 3207 has QUIT). */
  g_tls_connection_set_require_close_notify (G_TLS_CONNECTION (tls), FALSE);
  g_set_object (&self->stream, tls);
  self->handshaking = TRUE;
  g_tls_connection_handshake_async (G_TLS_CONNECTION (tls), G_PRIORITY_DEFAULT,
                                    self->cancellable, handshake_cb,
                                    g_object_ref (self));
}

static void
maybe_start_tls (MbSmtpSession *self)
{
  if (self->state == STATE_TLS && !self->handshaking && !self->writing
      && !self->reading && g_queue_is_empty (&self->out_queue)
      && self->replies->len == 0)
    start_tls_handshake (self);
}

static void
write_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (MbSmtpSession) self = user_data;
  g_autoptr (GError) error = NULL;
  GBytes *bytes;

  self->writing = FALSE;
  bytes = g_queue_pop_head (&self->out_queue);
  self->out_queued -= g_bytes_get_size (bytes);
  g_bytes_unref (bytes);

  if (!g_output_stream_write_all_finish (G_OUTPUT_STREAM (source), result, NULL,
                                         &error))
    {
      if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        log_event (self, G_LOG_LEVEL_INFO, "write-error=\"%s\"",
                   error->message);
      abort_connection (self);
      return;
    }

  if (self->state >= STATE_CLOSING)
    {
      write_next (self);
      maybe_finish_close (self);
      return;
    }
  arm_idle_timer (self);
  write_next (self);
  maybe_start_tls (self);
  process_input (self);
}

static void
close_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (MbSmtpSession) self = user_data;

  /* Errors closing a broken connection tell nothing new. */
  g_io_stream_close_finish (G_IO_STREAM (source), result, NULL);
  self->state = STATE_CLOSED;
  log_event (self, G_LOG_LEVEL_INFO,
             "disconnect commands=%u messages=%u errors=%u", self->n_commands,
             self->n_messages, self->n_errors);
  g_signal_emit (self, signals[SIGNAL_CLOSED], 0);
}

/* Closes the stream once nothing is pending on it any more. */
static void
maybe_finish_close (MbSmtpSession *self)
{
  if (self->state != STATE_CLOSING || self->close_started || self->reading
      || self->writing || self->handshaking)
    return;
  if (!self->force_close
      && (!g_queue_is_empty (&self->out_queue) || self->replies->len > 0))
    return;

  self->close_started = TRUE;
  g_clear_handle_id (&self->idle_source, g_source_remove);
  g_clear_handle_id (&self->session_source, g_source_remove);
  g_io_stream_close_async (self->stream, G_PRIORITY_DEFAULT, NULL, close_cb,
                           g_object_ref (self));
}

/* Stops taking input, sends @reply (nullable) after the replies already
 * queued, then closes. */
static void
begin_close (MbSmtpSession *self, const char *reply_line)
{
  if (self->state >= STATE_CLOSING)
    return;
  if (reply_line != NULL)
    reply_no_count (self, "%s", reply_line);
  reset_transaction (self);
  self->state = STATE_CLOSING;
  g_cancellable_cancel (self->read_cancellable);
  g_clear_handle_id (&self->session_source, g_source_remove);
  /* The idle timer now bounds how long the last replies may take. */
  arm_idle_timer (self);
  flush_replies (self);
  maybe_finish_close (self);
}

/* Closes now, dropping unsent replies (I/O error, failed handshake). */
static void
abort_connection (MbSmtpSession *self)
{
  if (self->state == STATE_CLOSED)
    return;
  reset_transaction (self);
  self->state = STATE_CLOSING;
  self->force_close = TRUE;
  g_string_truncate (self->replies, 0);
  g_cancellable_cancel (self->read_cancellable);
  g_cancellable_cancel (self->cancellable);
  maybe_finish_close (self);
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
  if (self->handshaking)
    {
      abort_connection (self);
      return;
    }
  begin_close (self, reply_line);
}

/* Command handlers */

static void
handle_helo (MbSmtpSession *self, MbSmtpCommand *command, gboolean esmtp)
{
  const char *hostname = self->config->hostname;

  if (command->argument[0] == '\0')
    {
      reply (self, "501 5.5.4 Syntax: %s hostname", esmtp ? "EHLO" : "HELO");
      return;
    }
  reset_transaction (self);
  g_free (self->helo);
  self->helo = sanitize_word (command->argument);
  self->esmtp = esmtp;
  if (!esmtp)
    {
      reply (self, "250 %s", hostname);
      return;
    }
  g_string_append_printf (self->replies, "250-%s\r\n", hostname);
  g_string_append_printf (self->replies, "250-SIZE %" G_GUINT64_FORMAT "\r\n",
                          self->config->max_message_size);
  g_string_append (self->replies, "250-PIPELINING\r\n"
                                  "250-8BITMIME\r\n"
                                  "250-SMTPUTF8\r\n"
                                  "250-ENHANCEDSTATUSCODES\r\n"
                                  "250-DSN\r\n"
                                  "250-CHUNKING\r\n");
  if (!self->tls && self->tls_certificate != NULL)
    g_string_append (self->replies, "250-STARTTLS\r\n");
  g_string_append (self->replies, "250 HELP\r\n");
}

static gboolean
has_esmtp_params (const MbSmtpMailArgs *mail)
{
  return mail->size >= 0 || mail->body != MB_SMTP_BODY_UNSET || mail->smtputf8
         || mail->ret != MB_DSN_RET_UNSET || mail->envid != NULL;
}

static void
reply_parser_error (MbSmtpSession *self, const GError *error)
{
  guint       code;
  const char *enhanced;

  mb_smtp_parser_error_reply (error, &code, &enhanced);
  reply (self, "%u %s %s", code, enhanced, error->message);
}

static void
handle_mail (MbSmtpSession *self, MbSmtpCommand *command)
{
  g_autoptr (MbSmtpMailArgs) mail = NULL;
  g_autoptr (GError) error = NULL;

  if (self->helo == NULL)
    {
      reply (self, "503 5.5.1 Error: send HELO/EHLO first");
      return;
    }
  if (self->mail != NULL)
    {
      reply (self, "503 5.5.1 Error: nested MAIL command");
      return;
    }
  mail = mb_smtp_mail_args_parse (command->argument, &error);
  if (mail == NULL)
    {
      reply_parser_error (self, error);
      return;
    }
  if (!self->esmtp && has_esmtp_params (mail))
    {
      reply (self, "555 5.5.4 MAIL parameters need EHLO");
      return;
    }
  if (mail->body == MB_SMTP_BODY_BINARYMIME)
    {
      reply (self, "555 5.5.4 BODY=BINARYMIME is not supported");
      return;
    }
  if (mail->size >= 0 && (guint64)mail->size > self->config->max_message_size)
    {
      reply (self, "552 5.3.4 Message size exceeds fixed maximum message "
                   "size");
      return;
    }
  self->mail = g_steal_pointer (&mail);
  reply (self, "250 2.1.0 Ok");
}

static void
handle_rcpt (MbSmtpSession *self, MbSmtpCommand *command)
{
  g_autoptr (MbSmtpRcptArgs) rcpt = NULL;
  g_autoptr (GError) error = NULL;

  if (self->mail == NULL)
    {
      reply (self, "503 5.5.1 Error: need MAIL command");
      return;
    }
  if (self->message != NULL)
    {
      reply (self, "503 5.5.1 Error: RCPT during BDAT");
      return;
    }
  if (self->rcpts->len >= self->config->max_recipients)
    {
      /* RFC 5321 4.5.3.1.10: the client sends the rest in another
       * transaction, so this is not counted as a client error. */
      reply_no_count (self, "452 4.5.3 Too many recipients");
      return;
    }
  rcpt = mb_smtp_rcpt_args_parse (command->argument, self->mail->smtputf8,
                                  &error);
  if (rcpt == NULL)
    {
      reply_parser_error (self, error);
      return;
    }
  g_ptr_array_add (self->rcpts, g_steal_pointer (&rcpt));
  reply (self, "250 2.1.5 Ok");
}

/* DATA and BDAT need a transaction with a recipient. */
static const char *
check_transaction (MbSmtpSession *self)
{
  if (self->mail == NULL)
    return "503 5.5.1 Error: need MAIL command";
  if (self->rcpts->len == 0)
    return "503 5.5.1 Error: no valid recipients";
  return NULL;
}

static void
handle_data (MbSmtpSession *self, MbSmtpCommand *command)
{
  const char *error_line;

  if (command->argument[0] != '\0')
    {
      reply (self, "501 5.5.4 Syntax: DATA");
      return;
    }
  error_line = check_transaction (self);
  if (error_line != NULL)
    {
      reply (self, "%s", error_line);
      return;
    }
  if (self->message != NULL)
    {
      reply (self, "503 5.5.1 Error: DATA during BDAT");
      return;
    }

  start_message (self, MB_SMTP_MESSAGE_DATA);
  if (mb_smtp_message_get_refusal (self->message) != MB_SMTP_REFUSAL_NONE)
    {
      /* Answer now: the client need not send a message we cannot keep. */
      refuse_message (self);
      return;
    }
  reply (self, "354 End data with <CR><LF>.<CR><LF>");
  self->state = STATE_DATA;
}

static void
handle_bdat (MbSmtpSession *self, MbSmtpCommand *command)
{
  g_autoptr (GError) error = NULL;
  MbSmtpBdatArgs args = { 0 };
  const char    *error_line;

  if (!mb_smtp_bdat_args_parse (command->argument, &args, &error))
    {
      /* Without a chunk size the chunk cannot be skipped, and reading its
       * bytes as commands is what smuggling is made of: close. */
      reply_parser_error (self, error);
      begin_close (self, NULL);
      return;
    }
  self->bdat_remaining = args.chunk_size;
  self->bdat_chunk = args.chunk_size;
  self->bdat_last = args.last;
  self->state = STATE_BDAT;

  /* RFC 3030 2: the chunk is read even when it will be refused. */
  error_line = check_transaction (self);
  if (error_line != NULL)
    self->bdat_error = g_strdup (error_line);
  else if (self->message == NULL)
    start_message (self, MB_SMTP_MESSAGE_BDAT);
}

static void
handle_starttls (MbSmtpSession *self, MbSmtpCommand *command)
{
  gsize discarded;

  if (command->argument[0] != '\0')
    reply (self, "501 5.5.4 Syntax: STARTTLS");
  else if (self->tls)
    reply (self, "503 5.5.1 Error: TLS already active");
  else if (self->tls_certificate == NULL)
    reply (self, "502 5.5.1 Error: command not implemented");
  else if (!self->esmtp)
    reply (self, "503 5.5.1 Error: send EHLO first");
  else if (self->mail != NULL)
    reply (self, "503 5.5.1 Error: STARTTLS not allowed during a mail "
                 "transaction");
  else
    {
      reply (self, "220 2.0.0 Ready to start TLS");
      /* RFC 3207 4.2 and CVE-2011-0411: nothing sent before the handshake
       * may be taken as a command after it. */
      discarded = in_len (self);
      if (discarded > 0)
        log_event (self, G_LOG_LEVEL_MESSAGE,
                   "discarded=%" G_GSIZE_FORMAT
                   " reason=plaintext-after-starttls",
                   discarded);
      in_clear (self);
      self->state = STATE_TLS;
    }
}

static void
handle_refused_command (MbSmtpSession *self, MbSmtpCommand *command)
{
  if (command->verb == MB_SMTP_VERB_QUIT)
    {
      reply_no_count (self, "221 2.0.0 Bye");
      begin_close (self, NULL);
      return;
    }
  /* RFC 5321 3.1: after a 554 greeting, 503 to everything but QUIT. */
  reply_no_count (self, "503 5.5.1 Error: access denied, send QUIT");
  if (self->n_commands >= REFUSED_MAX_COMMANDS)
    begin_close (self, NULL);
}

static void
handle_command (MbSmtpSession *self, const char *line, gsize len)
{
  g_autoptr (MbSmtpCommand) command = mb_smtp_command_parse (line, len);
  gboolean no_argument = command->argument[0] == '\0';

  self->n_commands++;
  if (self->refused)
    {
      handle_refused_command (self, command);
      return;
    }

  switch (command->verb)
    {
    case MB_SMTP_VERB_HELO:
      handle_helo (self, command, FALSE);
      break;
    case MB_SMTP_VERB_EHLO:
      handle_helo (self, command, TRUE);
      break;
    case MB_SMTP_VERB_MAIL:
      handle_mail (self, command);
      break;
    case MB_SMTP_VERB_RCPT:
      handle_rcpt (self, command);
      break;
    case MB_SMTP_VERB_DATA:
      handle_data (self, command);
      break;
    case MB_SMTP_VERB_BDAT:
      handle_bdat (self, command);
      break;
    case MB_SMTP_VERB_RSET:
      if (!no_argument)
        {
          reply (self, "501 5.5.4 Syntax: RSET");
          break;
        }
      reset_transaction (self);
      reply (self, "250 2.0.0 Ok");
      break;
    case MB_SMTP_VERB_NOOP:
      reply (self, "250 2.0.0 Ok");
      break;
    case MB_SMTP_VERB_QUIT:
      reply (self, "221 2.0.0 Bye");
      begin_close (self, NULL);
      break;
    case MB_SMTP_VERB_VRFY:
      reply (self, "252 2.5.0 Cannot VRFY user, but will accept message");
      break;
    case MB_SMTP_VERB_EXPN:
      reply (self, "502 5.5.1 Error: EXPN not supported");
      break;
    case MB_SMTP_VERB_HELP:
      reply (self, "214 2.0.0 Mailbridge relay: see "
                   "https://www.rfc-editor.org/rfc/rfc5321");
      break;
    case MB_SMTP_VERB_STARTTLS:
      handle_starttls (self, command);
      break;
    case MB_SMTP_VERB_AUTH:
      /* Not offered: devices must not send credentials here. */
      reply (self, "502 5.5.1 Error: authentication not enabled");
      break;
    case MB_SMTP_VERB_UNKNOWN:
    default:
      reply (self, "500 5.5.2 Error: command not recognized");
      break;
    }
}

/* The input loop */

/* Each returns TRUE when it made progress and the loop should go on, FALSE
 * when it needs more input or waits for something else. */

static gboolean
process_command_input (MbSmtpSession *self)
{
  gsize            limit = self->config->max_command_line_length;
  gsize            line_len;
  gsize            consumed;
  g_autofree char *line = NULL;

  if (in_len (self) == 0)
    return FALSE;
  if (self->discarding_line)
    {
      const guint8 *lf = memchr (in_data (self), '\n', in_len (self));

      if (lf == NULL)
        {
          in_clear (self);
          return FALSE;
        }
      in_consume (self, (gsize)(lf - in_data (self)) + 1);
      self->discarding_line = FALSE;
      return TRUE;
    }

  if (!mb_smtp_parser_next_line (in_data (self), in_len (self), &line_len,
                                 &consumed))
    {
      /* + 1: the line's CR may already be here without its LF. */
      if (in_len (self) <= limit + 1)
        return FALSE;
      reply (self, "500 5.5.2 Error: line too long");
      in_clear (self);
      self->discarding_line = TRUE;
      return TRUE;
    }
  if (line_len > limit)
    {
      reply (self, "500 5.5.2 Error: line too long");
      in_consume (self, consumed);
      return TRUE;
    }

  /* A copy: the handler may drop the buffer (STARTTLS). */
  line = g_malloc (line_len + 1);
  memcpy (line, in_data (self), line_len);
  line[line_len] = '\0';
  in_consume (self, consumed);
  handle_command (self, line, line_len);
  return TRUE;
}

static gboolean
process_data_input (MbSmtpSession *self)
{
  gsize    consumed = 0;
  gboolean end;

  if (mb_smtp_message_is_busy (self->message) || in_len (self) == 0)
    return FALSE;

  end = mb_smtp_message_feed_data (self->message, in_data (self), in_len (self),
                                   &consumed);
  in_consume (self, consumed);
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
      gsize n = (gsize)MIN (self->bdat_remaining, (guint64)in_len (self));

      if (n == 0)
        return FALSE;
      if (self->bdat_error == NULL)
        mb_smtp_message_feed_chunk (self->message, in_data (self), n);
      in_consume (self, n);
      self->bdat_remaining -= n;
      return TRUE;
    }

  /* The chunk is complete. */
  self->state = STATE_COMMAND;
  if (self->bdat_error != NULL)
    {
      g_autofree char *line = g_steal_pointer (&self->bdat_error);

      reply (self, "%s", line);
      return TRUE;
    }
  if (!mb_smtp_message_end_chunk (self->message, self->bdat_last))
    {
      /* RFC 3030 2: a failed chunk fails the transaction. */
      refuse_message (self);
      return TRUE;
    }
  if (!self->bdat_last)
    {
      reply (self, "250 2.0.0 %" G_GUINT64_FORMAT " octets received",
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

      begin_close (self, line);
    }

  for (;;)
    {
      gboolean progressed;

      if (output_backlog (self) > OUTPUT_HIGH_WATER)
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
          begin_close (self, line);
        }
      if (!progressed)
        break;
    }

  self->processing = FALSE;
  flush_replies (self);
  maybe_start_tls (self);
  maybe_read (self);
}

/* GObject */

static void
mb_smtp_session_dispose (GObject *object)
{
  MbSmtpSession *self = MB_SMTP_SESSION (object);

  /* Every async step holds a reference, so nothing is pending here; this
   * only covers a session that was never started. */
  g_cancellable_cancel (self->cancellable);
  g_cancellable_cancel (self->read_cancellable);
  g_clear_handle_id (&self->idle_source, g_source_remove);
  g_clear_handle_id (&self->session_source, g_source_remove);
  reset_transaction (self);

  G_OBJECT_CLASS (mb_smtp_session_parent_class)->dispose (object);
}

static void
mb_smtp_session_finalize (GObject *object)
{
  MbSmtpSession *self = MB_SMTP_SESSION (object);

  g_free (self->id);
  g_clear_object (&self->stream);
  g_clear_object (&self->remote);
  g_free (self->client_ip);
  g_free (self->client_desc);
  g_clear_pointer (&self->config, mb_relay_config_unref);
  g_clear_object (&self->spool);
  g_clear_object (&self->tls_certificate);
  g_clear_object (&self->cancellable);
  g_clear_object (&self->read_cancellable);
  g_free (self->deferred_close);
  g_byte_array_unref (self->inbuf);
  g_free (self->read_buffer);
  g_string_free (self->replies, TRUE);
  g_queue_clear_full (&self->out_queue, (GDestroyNotify)g_bytes_unref);
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
  self->cancellable = g_cancellable_new ();
  self->read_cancellable = g_cancellable_new ();
  self->inbuf = g_byte_array_new ();
  self->read_buffer = g_malloc (READ_CHUNK_SIZE);
  self->replies = g_string_new (NULL);
  g_queue_init (&self->out_queue);
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
  self->stream = g_object_ref (stream);
  self->config = mb_relay_config_ref (config);
  self->spool = g_object_ref (spool);
  if (tls_certificate != NULL)
    self->tls_certificate = g_object_ref (tls_certificate);

  if (G_IS_INET_SOCKET_ADDRESS (remote))
    {
      GInetSocketAddress *inet = G_INET_SOCKET_ADDRESS (remote);
      GInetAddress       *address = g_inet_socket_address_get_address (inet);

      self->remote = g_object_ref (remote);
      self->client_ip = g_inet_address_to_string (address);
      self->client_desc = g_strdup_printf (
          g_inet_address_get_family (address) == G_SOCKET_FAMILY_IPV6
              ? "[%s]:%u"
              : "%s:%u",
          self->client_ip, g_inet_socket_address_get_port (inet));
    }
  else
    {
      self->client_ip = g_strdup ("unknown");
      self->client_desc = g_strdup ("unknown");
    }
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
  g_log_structured (G_LOG_DOMAIN, G_LOG_LEVEL_INFO, "MB_SESSION", self->id,
                    "MESSAGE", "session=%s client=%s connect", self->id,
                    self->client_desc);
  reply_no_count (self, "%s", greeting);
  self->state = STATE_COMMAND;
  arm_idle_timer (self);
  if (!self->refused && self->config->session_timeout > 0)
    self->session_source = g_timeout_add_seconds (
        (guint)MIN (self->config->session_timeout, G_MAXUINT),
        on_session_timeout_cb, self);
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
      session->state = STATE_COMMAND;
      begin_close (session, NULL);
      return;
    }
  request_close (session, line);
}
