/* mb-smtp-connection.c - the byte transport under one inbound SMTP session
 *
 * What it does: owns the GIOStream of one SMTP client and everything that
 * is I/O rather than SMTP.  Input: one read of up to 64 KiB at a time into
 * an input buffer, issued only when the session asks for input; the
 * session pulls command lines (take_line) or raw message bytes (peek and
 * consume) out of it.  Output: the session appends reply bytes to a batch;
 * each flush turns the batch into one entry of an ordered queue, written
 * one entry at a time.  Timers: an idle timer restarted by every completed
 * read and write, and a session timer armed once.  STARTTLS: after the 220
 * is sent, the stream is wrapped in a TLS server connection and the
 * handshake runs.  Closing: gracefully (what is queued goes out first) or
 * at once, always with an asynchronous close and "closed" emitted once.
 *
 * Guarantees:
 * - Order: bytes go out exactly in the order they were added; one write is
 *   outstanding at a time, and nothing is written once an abort started.
 * - Back-pressure: no read is issued unless the session asks, nor while a
 *   read is outstanding, nor while more than OUTPUT_HIGH_WATER bytes of
 *   output wait for a client that does not read them.  So the input buffer
 *   holds at most what the session left in it plus one read.
 * - A line over the session's limit never grows the buffer past the limit
 *   plus one read: it is dropped as it arrives, up to its line end.
 * - STARTTLS (RFC 3207 4.2, CVE-2011-0411): input buffered when STARTTLS
 *   is taken, or read before the handshake, is discarded and logged, never
 *   handed to the session; no read is issued between the command and the
 *   end of the handshake.  The handshake starts only once every queued byte
 *   (the 220) is written and no read is outstanding.
 * - Closing: no new I/O starts once closing; the stream is closed once the
 *   outstanding read, write and handshake have finished (an abort cancels
 *   them), and "closed" is emitted exactly once, after every other signal.
 *   While closing, the idle timer bounds how long the last bytes may take:
 *   when it fires, the connection aborts.
 * - Every asynchronous step holds a reference on the connection.
 *
 * What it does not do: parse or answer SMTP (mb-smtp-session decides what
 * the bytes mean, which replies to send and when to close), choose the
 * timeouts, or check client certificates (none are asked for).
 *
 * RFCs: 5321 2.3.8 (lines end in CRLF; a lone LF ends a line for the
 * session's parser too), 4.5.3.1.4 (command line length, the session's
 * limit), 4.5.3.2 (timeouts); 2920 (replies batched, in order); 3207
 * (STARTTLS).
 */
#define G_LOG_DOMAIN "mb-smtp-connection"

#include "mb-smtp-connection.h"

#include "mb-smtp-parser.h"

#include <string.h>

#define READ_CHUNK_SIZE (64 * 1024)
/* Stop reading while this many output bytes wait to be sent. */
#define OUTPUT_HIGH_WATER (64 * 1024)

struct _MbSmtpConnection
{
  GObject parent_instance;

  GIOStream       *stream;           /* (owned) plain, later the TLS one */
  char            *session_id;       /* (owned) for log lines */
  char            *client_ip;        /* (owned) "unknown" without remote */
  char            *client_address;   /* (owned) "IP:port" or "[IP]:port" */
  GTlsCertificate *tls_certificate;  /* (owned) (nullable) from start_tls */
  GCancellable    *cancellable;      /* (owned) all I/O */
  GCancellable    *read_cancellable; /* (owned) reads only */

  /* Input: bytes in_start..len of inbuf are unconsumed. */
  GByteArray *inbuf; /* (owned) */
  gsize       in_start;
  guint8     *read_buffer;     /* (owned) READ_CHUNK_SIZE bytes */
  gboolean    discarding_line; /* the rest of an over-long line */
  gboolean    reading;

  /* Output: the batch being built, then whole batches in order. */
  GString *batch;     /* (owned) */
  GQueue   out_queue; /* (element-type GBytes) (owned) */
  gsize    out_queued;
  gboolean writing;

  guint idle_timeout; /* seconds, 0 for none */
  guint idle_source;
  guint session_source;

  gboolean tls_pending; /* start_tls() called, handshake not yet begun */
  gboolean handshaking;

  gboolean closing;       /* close() or abort() called */
  gboolean force_close;   /* abort(): drop unsent output */
  gboolean close_started; /* g_io_stream_close_async() issued */
  gboolean closed;
};

enum
{
  SIGNAL_INPUT_AVAILABLE,
  SIGNAL_OUTPUT_SENT,
  SIGNAL_TIMEOUT,
  SIGNAL_TLS_DONE,
  SIGNAL_LOST,
  SIGNAL_CLOSED,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

static void maybe_start_tls (MbSmtpConnection *self);
static void maybe_finish_close (MbSmtpConnection *self);

G_DEFINE_FINAL_TYPE (MbSmtpConnection, mb_smtp_connection, G_TYPE_OBJECT)

/* Helpers */

/* One log line "session=ID client=IP ..." with the MB_SESSION field, the
 * same shape as the session's own. */
G_GNUC_PRINTF (3, 4)
static void
log_event (MbSmtpConnection *self,
           GLogLevelFlags    level,
           const char       *format,
           ...)
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

static const guint8 *
in_data (MbSmtpConnection *self)
{
  return self->inbuf->data + self->in_start;
}

static gsize
in_len (MbSmtpConnection *self)
{
  return self->inbuf->len - self->in_start;
}

static void
in_consume (MbSmtpConnection *self, gsize n)
{
  self->in_start += n;
  if (self->in_start == self->inbuf->len)
    {
      g_byte_array_set_size (self->inbuf, 0);
      self->in_start = 0;
    }
}

static void
in_clear (MbSmtpConnection *self)
{
  g_byte_array_set_size (self->inbuf, 0);
  self->in_start = 0;
}

/* RFC 3207 4.2: whatever came before the handshake is not a command. */
static void
discard_plaintext (MbSmtpConnection *self)
{
  gsize discarded = in_len (self);

  if (discarded > 0)
    log_event (self, G_LOG_LEVEL_MESSAGE,
               "discarded=%" G_GSIZE_FORMAT " reason=plaintext-after-starttls",
               discarded);
  in_clear (self);
}

/* The stream is unusable: the session hears of it first, so it drops its
 * transaction before anything else can happen. */
static void
fail (MbSmtpConnection *self, gboolean eof)
{
  g_signal_emit (self, signals[SIGNAL_LOST], 0, eof);
  mb_smtp_connection_abort (self);
}

/* Timers */

static gboolean
on_idle_timeout_cb (gpointer user_data)
{
  g_autoptr (MbSmtpConnection) self = g_object_ref (user_data);

  self->idle_source = 0;
  if (self->closing)
    {
      /* The client does not even read our last reply. */
      mb_smtp_connection_abort (self);
      return G_SOURCE_REMOVE;
    }
  g_signal_emit (self, signals[SIGNAL_TIMEOUT], 0,
                 (guint)MB_SMTP_CONNECTION_TIMEOUT_IDLE);
  return G_SOURCE_REMOVE;
}

static void
arm_idle_timer (MbSmtpConnection *self)
{
  g_clear_handle_id (&self->idle_source, g_source_remove);
  if (self->idle_timeout == 0 || self->closed || self->close_started)
    return;
  self->idle_source
      = g_timeout_add_seconds (self->idle_timeout, on_idle_timeout_cb, self);
}

static gboolean
on_session_timeout_cb (gpointer user_data)
{
  g_autoptr (MbSmtpConnection) self = g_object_ref (user_data);

  self->session_source = 0;
  if (!self->closing)
    g_signal_emit (self, signals[SIGNAL_TIMEOUT], 0,
                   (guint)MB_SMTP_CONNECTION_TIMEOUT_SESSION);
  return G_SOURCE_REMOVE;
}

/* Async steps: reading */

static void
read_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (MbSmtpConnection) self = user_data;
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
      /* A message cut off by the client is the session's to drop. */
      fail (self, n == 0);
      return;
    }

  arm_idle_timer (self);
  if (self->tls_pending)
    {
      /* A read issued before STARTTLS brought plaintext after it. */
      discard_plaintext (self);
      maybe_start_tls (self);
      return;
    }
  g_signal_emit (self, signals[SIGNAL_INPUT_AVAILABLE], 0);
}

/* Async steps: writing */

static void write_cb (GObject *source, GAsyncResult *result, gpointer data);

static void
write_next (MbSmtpConnection *self)
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

static void
write_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (MbSmtpConnection) self = user_data;
  g_autoptr (GError) error = NULL;
  GBytes *bytes;

  self->writing = FALSE;
  bytes = g_queue_pop_head (&self->out_queue);
  self->out_queued -= g_bytes_get_size (bytes);
  g_bytes_unref (bytes);

  if (!g_output_stream_write_all_finish (G_OUTPUT_STREAM (source), result, NULL,
                                         &error))
    {
      if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        {
          mb_smtp_connection_abort (self);
          return;
        }
      log_event (self, G_LOG_LEVEL_INFO, "write-error=\"%s\"", error->message);
      fail (self, FALSE);
      return;
    }

  if (self->closing)
    {
      write_next (self);
      maybe_finish_close (self);
      return;
    }
  arm_idle_timer (self);
  write_next (self);
  maybe_start_tls (self);
  g_signal_emit (self, signals[SIGNAL_OUTPUT_SENT], 0);
}

/* Async steps: STARTTLS */

static void
handshake_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (MbSmtpConnection) self = user_data;
  g_autoptr (GError) error = NULL;
  GTlsConnection  *tls = G_TLS_CONNECTION (source);
  g_autofree char *cipher = NULL;

  self->handshaking = FALSE;
  if (!g_tls_connection_handshake_finish (tls, result, &error))
    {
      if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        {
          mb_smtp_connection_abort (self);
          return;
        }
      log_event (self, G_LOG_LEVEL_MESSAGE, "tls-handshake-failed=\"%s\"",
                 error->message);
      fail (self, FALSE);
      return;
    }
  if (self->closing)
    {
      maybe_finish_close (self);
      return;
    }

  cipher = g_tls_connection_get_ciphersuite_name (tls);
  log_event (self, G_LOG_LEVEL_INFO, "starttls cipher=%s",
             cipher != NULL ? cipher : "unknown");
  arm_idle_timer (self);
  g_signal_emit (self, signals[SIGNAL_TLS_DONE], 0);
}

static void
start_handshake (MbSmtpConnection *self)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GIOStream) tls = NULL;

  self->tls_pending = FALSE;
  tls = g_tls_server_connection_new (self->stream, self->tls_certificate,
                                     &error);
  if (tls == NULL)
    {
      log_event (self, G_LOG_LEVEL_MESSAGE, "tls-error=\"%s\"", error->message);
      fail (self, FALSE);
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

/* The handshake begins once the 220 is on the wire and nothing else is
 * outstanding on the plain stream. */
static void
maybe_start_tls (MbSmtpConnection *self)
{
  if (self->tls_pending && !self->closing && !self->handshaking
      && !self->writing && !self->reading && g_queue_is_empty (&self->out_queue)
      && self->batch->len == 0)
    start_handshake (self);
}

/* Async steps: closing */

static void
close_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (MbSmtpConnection) self = user_data;

  /* Errors closing a broken connection tell nothing new. */
  g_io_stream_close_finish (G_IO_STREAM (source), result, NULL);
  self->closed = TRUE;
  g_signal_emit (self, signals[SIGNAL_CLOSED], 0);
}

/* Closes the stream once nothing is pending on it any more. */
static void
maybe_finish_close (MbSmtpConnection *self)
{
  if (!self->closing || self->close_started || self->reading || self->writing
      || self->handshaking)
    return;
  if (!self->force_close
      && (!g_queue_is_empty (&self->out_queue) || self->batch->len > 0))
    return;

  self->close_started = TRUE;
  g_clear_handle_id (&self->idle_source, g_source_remove);
  g_clear_handle_id (&self->session_source, g_source_remove);
  g_io_stream_close_async (self->stream, G_PRIORITY_DEFAULT, NULL, close_cb,
                           g_object_ref (self));
}

/* GObject */

static void
mb_smtp_connection_dispose (GObject *object)
{
  MbSmtpConnection *self = MB_SMTP_CONNECTION (object);

  /* Every async step holds a reference, so nothing is pending here. */
  g_cancellable_cancel (self->cancellable);
  g_cancellable_cancel (self->read_cancellable);
  g_clear_handle_id (&self->idle_source, g_source_remove);
  g_clear_handle_id (&self->session_source, g_source_remove);

  G_OBJECT_CLASS (mb_smtp_connection_parent_class)->dispose (object);
}

static void
mb_smtp_connection_finalize (GObject *object)
{
  MbSmtpConnection *self = MB_SMTP_CONNECTION (object);

  g_clear_object (&self->stream);
  g_free (self->session_id);
  g_free (self->client_ip);
  g_free (self->client_address);
  g_clear_object (&self->tls_certificate);
  g_clear_object (&self->cancellable);
  g_clear_object (&self->read_cancellable);
  g_byte_array_unref (self->inbuf);
  g_free (self->read_buffer);
  g_string_free (self->batch, TRUE);
  g_queue_clear_full (&self->out_queue, (GDestroyNotify)g_bytes_unref);

  G_OBJECT_CLASS (mb_smtp_connection_parent_class)->finalize (object);
}

static void
mb_smtp_connection_class_init (MbSmtpConnectionClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = mb_smtp_connection_dispose;
  object_class->finalize = mb_smtp_connection_finalize;

  /* The signals are documented in the header. */
  signals[SIGNAL_INPUT_AVAILABLE]
      = g_signal_new ("input-available", G_TYPE_FROM_CLASS (klass),
                      G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL, G_TYPE_NONE, 0);
  signals[SIGNAL_OUTPUT_SENT]
      = g_signal_new ("output-sent", G_TYPE_FROM_CLASS (klass),
                      G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL, G_TYPE_NONE, 0);
  signals[SIGNAL_TIMEOUT]
      = g_signal_new ("timeout", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                      0, NULL, NULL, NULL, G_TYPE_NONE, 1, G_TYPE_UINT);
  signals[SIGNAL_TLS_DONE]
      = g_signal_new ("tls-done", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                      0, NULL, NULL, NULL, G_TYPE_NONE, 0);
  signals[SIGNAL_LOST]
      = g_signal_new ("lost", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0,
                      NULL, NULL, NULL, G_TYPE_NONE, 1, G_TYPE_BOOLEAN);
  signals[SIGNAL_CLOSED]
      = g_signal_new ("closed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0,
                      NULL, NULL, NULL, G_TYPE_NONE, 0);
}

static void
mb_smtp_connection_init (MbSmtpConnection *self)
{
  self->cancellable = g_cancellable_new ();
  self->read_cancellable = g_cancellable_new ();
  self->inbuf = g_byte_array_new ();
  self->read_buffer = g_malloc (READ_CHUNK_SIZE);
  self->batch = g_string_new (NULL);
  g_queue_init (&self->out_queue);
}

/* Public API */

MbSmtpConnection *
mb_smtp_connection_new (GIOStream      *stream,
                        GSocketAddress *remote,
                        const char     *session_id)
{
  MbSmtpConnection *self;

  g_return_val_if_fail (G_IS_IO_STREAM (stream), NULL);
  g_return_val_if_fail (remote == NULL || G_IS_SOCKET_ADDRESS (remote), NULL);
  g_return_val_if_fail (session_id != NULL, NULL);

  self = g_object_new (MB_TYPE_SMTP_CONNECTION, NULL);
  self->stream = g_object_ref (stream);
  self->session_id = g_strdup (session_id);
  if (G_IS_INET_SOCKET_ADDRESS (remote))
    {
      GInetSocketAddress *inet = G_INET_SOCKET_ADDRESS (remote);
      GInetAddress       *address = g_inet_socket_address_get_address (inet);

      self->client_ip = g_inet_address_to_string (address);
      self->client_address = g_strdup_printf (
          g_inet_address_get_family (address) == G_SOCKET_FAMILY_IPV6
              ? "[%s]:%u"
              : "%s:%u",
          self->client_ip, g_inet_socket_address_get_port (inet));
    }
  else
    {
      self->client_ip = g_strdup ("unknown");
      self->client_address = g_strdup ("unknown");
    }
  return self;
}

const char *
mb_smtp_connection_get_client_ip (MbSmtpConnection *connection)
{
  g_return_val_if_fail (MB_IS_SMTP_CONNECTION (connection), NULL);

  return connection->client_ip;
}

const char *
mb_smtp_connection_get_client_address (MbSmtpConnection *connection)
{
  g_return_val_if_fail (MB_IS_SMTP_CONNECTION (connection), NULL);

  return connection->client_address;
}

void
mb_smtp_connection_start (MbSmtpConnection *connection,
                          guint             idle_timeout,
                          guint             session_timeout)
{
  g_return_if_fail (MB_IS_SMTP_CONNECTION (connection));

  connection->idle_timeout = idle_timeout;
  arm_idle_timer (connection);
  if (session_timeout > 0 && !connection->closing)
    connection->session_source = g_timeout_add_seconds (
        session_timeout, on_session_timeout_cb, connection);
}

void
mb_smtp_connection_restart_idle_timer (MbSmtpConnection *connection)
{
  g_return_if_fail (MB_IS_SMTP_CONNECTION (connection));

  arm_idle_timer (connection);
}

void
mb_smtp_connection_request_input (MbSmtpConnection *connection)
{
  MbSmtpConnection *self = connection;

  g_return_if_fail (MB_IS_SMTP_CONNECTION (connection));

  if (self->reading || self->closing || self->tls_pending || self->handshaking
      || mb_smtp_connection_is_output_full (self))
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

const guint8 *
mb_smtp_connection_peek_input (MbSmtpConnection *connection, gsize *len)
{
  g_return_val_if_fail (MB_IS_SMTP_CONNECTION (connection), NULL);
  g_return_val_if_fail (len != NULL, NULL);

  *len = in_len (connection);
  return *len > 0 ? in_data (connection) : NULL;
}

void
mb_smtp_connection_consume_input (MbSmtpConnection *connection, gsize n)
{
  g_return_if_fail (MB_IS_SMTP_CONNECTION (connection));
  g_return_if_fail (n <= in_len (connection));

  in_consume (connection, n);
}

MbSmtpConnectionLine
mb_smtp_connection_take_line (MbSmtpConnection *connection,
                              gsize             limit,
                              char            **line,
                              gsize            *len)
{
  MbSmtpConnection *self = connection;
  gsize             line_len;
  gsize             consumed;

  g_return_val_if_fail (MB_IS_SMTP_CONNECTION (connection),
                        MB_SMTP_CONNECTION_LINE_INCOMPLETE);
  g_return_val_if_fail (line != NULL && len != NULL,
                        MB_SMTP_CONNECTION_LINE_INCOMPLETE);

  *line = NULL;
  *len = 0;
  if (in_len (self) == 0)
    return MB_SMTP_CONNECTION_LINE_INCOMPLETE;
  if (self->discarding_line)
    {
      const guint8 *lf = memchr (in_data (self), '\n', in_len (self));

      if (lf == NULL)
        {
          in_clear (self);
          return MB_SMTP_CONNECTION_LINE_INCOMPLETE;
        }
      in_consume (self, (gsize)(lf - in_data (self)) + 1);
      self->discarding_line = FALSE;
      if (in_len (self) == 0)
        return MB_SMTP_CONNECTION_LINE_INCOMPLETE;
    }

  if (!mb_smtp_parser_next_line (in_data (self), in_len (self), &line_len,
                                 &consumed))
    {
      /* + 1: the line's CR may already be here without its LF. */
      if (in_len (self) <= limit + 1)
        return MB_SMTP_CONNECTION_LINE_INCOMPLETE;
      in_clear (self);
      self->discarding_line = TRUE;
      return MB_SMTP_CONNECTION_LINE_TOO_LONG;
    }
  if (line_len > limit)
    {
      in_consume (self, consumed);
      return MB_SMTP_CONNECTION_LINE_TOO_LONG;
    }

  *line = g_malloc (line_len + 1);
  memcpy (*line, in_data (self), line_len);
  (*line)[line_len] = '\0';
  *len = line_len;
  in_consume (self, consumed);
  return MB_SMTP_CONNECTION_LINE_COMPLETE;
}

void
mb_smtp_connection_add_output (MbSmtpConnection *connection,
                               const char       *text,
                               gsize             len)
{
  g_return_if_fail (MB_IS_SMTP_CONNECTION (connection));
  g_return_if_fail (text != NULL || len == 0);

  g_string_append_len (connection->batch, text, (gssize)len);
}

void
mb_smtp_connection_flush (MbSmtpConnection *connection)
{
  MbSmtpConnection *self = connection;
  GBytes           *bytes;

  g_return_if_fail (MB_IS_SMTP_CONNECTION (connection));

  if (self->batch->len > 0)
    {
      if (self->force_close || self->closed)
        g_string_truncate (self->batch, 0);
      else
        {
          bytes = g_string_free_to_bytes (g_steal_pointer (&self->batch));
          self->batch = g_string_new (NULL);
          self->out_queued += g_bytes_get_size (bytes);
          g_queue_push_tail (&self->out_queue, bytes);
          write_next (self);
        }
    }
  maybe_start_tls (self);
}

gboolean
mb_smtp_connection_is_output_full (MbSmtpConnection *connection)
{
  g_return_val_if_fail (MB_IS_SMTP_CONNECTION (connection), FALSE);

  return connection->out_queued + connection->batch->len > OUTPUT_HIGH_WATER;
}

void
mb_smtp_connection_start_tls (MbSmtpConnection *connection,
                              GTlsCertificate  *certificate)
{
  g_return_if_fail (MB_IS_SMTP_CONNECTION (connection));
  g_return_if_fail (G_IS_TLS_CERTIFICATE (certificate));
  g_return_if_fail (!connection->tls_pending && !connection->handshaking);

  if (connection->closing)
    return;
  g_set_object (&connection->tls_certificate, certificate);
  discard_plaintext (connection);
  connection->tls_pending = TRUE;
}

void
mb_smtp_connection_close (MbSmtpConnection *connection)
{
  MbSmtpConnection *self = connection;

  g_return_if_fail (MB_IS_SMTP_CONNECTION (connection));

  if (self->closing)
    return;
  if (self->handshaking)
    {
      mb_smtp_connection_abort (self);
      return;
    }
  self->closing = TRUE;
  g_cancellable_cancel (self->read_cancellable);
  g_clear_handle_id (&self->session_source, g_source_remove);
  /* The idle timer now bounds how long the last output may take. */
  arm_idle_timer (self);
  mb_smtp_connection_flush (self);
  maybe_finish_close (self);
}

void
mb_smtp_connection_abort (MbSmtpConnection *connection)
{
  MbSmtpConnection *self = connection;

  g_return_if_fail (MB_IS_SMTP_CONNECTION (connection));

  if (self->closed)
    return;
  self->closing = TRUE;
  self->force_close = TRUE;
  g_string_truncate (self->batch, 0);
  g_cancellable_cancel (self->read_cancellable);
  g_cancellable_cancel (self->cancellable);
  maybe_finish_close (self);
}
