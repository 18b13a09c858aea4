/* mb-smtp-client.c - one outbound SMTP connection to the upstream
 *
 * Contract:
 *  - MbSmtpClient speaks RFC 5321 to one server over one connection: the
 *    session setup is in mb-smtp-client-connect.c, each mail transaction in
 *    mb-smtp-client-send.c; this file holds the object, QUIT, and what both
 *    use: the step timer and line I/O.  One operation at a time; the object
 *    never retries, reconnects or decides what a reply means for a
 *    recipient: that is the scheduler's work.
 *  - Every step (connect, each write, each reply, the handshake) has the
 *    options' timeout; on expiry the error is G_IO_ERROR_TIMED_OUT naming
 *    the step ("Timed out waiting for the reply to RCPT").  The caller's
 *    cancellable cancels the step in progress.
 *  - Replies are read through MbSmtpReplyParser; bytes that belong to the
 *    next reply (pipelining) stay buffered for it.  Memory per connection
 *    is bounded by the parser's limits.
 *  - After a timeout, a cancellation, an I/O error, garbage or a 421 the
 *    connection is closed: we no longer know what the server thinks.
 *  - Every line sent or received goes to the "transcript" signal and to
 *    g_debug; lines that hold credentials show "********", and their
 *    buffers are zeroed before they are freed.
 *
 * Not here: MX lookup, OAuth token refresh, per-method limits and pacing.
 */
#define G_LOG_DOMAIN "mb-smtp-client"

#include "mb-smtp-client-private.h"

#include <string.h>

#define DEFAULT_TIMEOUT_SECONDS 300

typedef struct
{
  MbSmtpReply *reply; /* (owned) (nullable) */
} MbSmtpClientErrorPrivate;

typedef struct
{
  GBytes *bytes; /* (owned) */
} WriteData;

typedef struct
{
  char *verb; /* (owned) for step names */
} CommandData;

enum
{
  SIGNAL_TRANSCRIPT,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

static void read_more (GTask *task);

G_DEFINE_FINAL_TYPE (MbSmtpClient, mb_smtp_client, G_TYPE_OBJECT)

static void
mb_smtp_client_error_private_init (MbSmtpClientErrorPrivate *priv)
{
}

static void
mb_smtp_client_error_private_copy (const MbSmtpClientErrorPrivate *src,
                                   MbSmtpClientErrorPrivate       *dest)
{
  dest->reply = src->reply != NULL ? mb_smtp_reply_copy (src->reply) : NULL;
}

static void
mb_smtp_client_error_private_clear (MbSmtpClientErrorPrivate *priv)
{
  g_clear_pointer (&priv->reply, mb_smtp_reply_free);
}

/* An extended error domain, so the reply travels with the GError. */
G_DEFINE_EXTENDED_ERROR (MbSmtpClientError, mb_smtp_client_error)

static void
write_data_free (WriteData *data)
{
  g_bytes_unref (data->bytes);
  g_free (data);
}

static void
command_data_free (CommandData *data)
{
  g_free (data->verb);
  g_free (data);
}

static void
wipe_free (gpointer secret)
{
  mb_smtp_secret_free (secret);
}

GError *
mb_smtp_client_new_reply_error (MbSmtpClientError  code,
                                const MbSmtpReply *reply,
                                const char        *format,
                                ...)
{
  g_autofree char *what = NULL;
  g_autofree char *shown = mb_smtp_reply_to_string (reply);
  GError          *error;
  va_list          args;

  va_start (args, format);
  what = g_strdup_vprintf (format, args);
  va_end (args);
  error = g_error_new (MB_SMTP_CLIENT_ERROR, code, "%s: %s", what, shown);
  mb_smtp_client_error_get_private (error)->reply = mb_smtp_reply_copy (reply);
  return error;
}

void
mb_smtp_client_emit_line (MbSmtpClient *self, gboolean sent, const char *line)
{
  g_debug ("host=%s %s %s", self->options->host, sent ? ">" : "<", line);
  g_signal_emit (self, signals[SIGNAL_TRANSCRIPT], 0, sent, line);
}

/* The reply as the server wrote it, near enough: one line each. */
static void
emit_reply (MbSmtpClient *self, const MbSmtpReply *reply)
{
  g_auto (GStrv) lines = g_strsplit (reply->text, "\n", -1);

  for (guint i = 0; lines[i] != NULL; i++)
    {
      g_autofree char *line = g_strdup_printf (
          "%03u%c%s%s%s", reply->code, lines[i + 1] != NULL ? '-' : ' ',
          reply->enhanced != NULL ? reply->enhanced : "",
          reply->enhanced != NULL && lines[i][0] != '\0' ? " " : "", lines[i]);

      mb_smtp_client_emit_line (self, FALSE, g_strchomp (line));
    }
}

static gboolean
on_step_timeout_cb (gpointer user_data)
{
  MbSmtpClient *self = user_data;

  self->timed_out = TRUE;
  g_clear_pointer (&self->timeout_source, g_source_unref);
  g_cancellable_cancel (self->io_cancellable);
  return G_SOURCE_REMOVE;
}

static void
stop_step (MbSmtpClient *self)
{
  if (self->timeout_source != NULL)
    {
      g_source_destroy (self->timeout_source);
      g_clear_pointer (&self->timeout_source, g_source_unref);
    }
}

/* Restarts the step timer; @format names what we wait for, for the
 * timeout message. */
void
mb_smtp_client_start_step (MbSmtpClient *self, const char *format, ...)
{
  va_list args;

  va_start (args, format);
  g_free (self->step);
  self->step = g_strdup_vprintf (format, args);
  va_end (args);

  stop_step (self);
  self->timeout_source
      = g_timeout_source_new_seconds (self->options->timeout_seconds);
  g_source_set_callback (self->timeout_source, on_step_timeout_cb, self, NULL);
  g_source_attach (self->timeout_source, g_main_context_get_thread_default ());
}

static void
on_user_cancelled_cb (GCancellable *cancellable, gpointer user_data)
{
  MbSmtpClient *self = user_data;

  g_cancellable_cancel (self->io_cancellable);
}

gboolean
mb_smtp_client_check_idle (MbSmtpClient *self, GTask *task)
{
  if (!self->busy)
    return TRUE;
  g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_PENDING,
                           "Another operation is in progress");
  return FALSE;
}

void
mb_smtp_client_begin_op (MbSmtpClient *self, GCancellable *cancellable)
{
  self->busy = TRUE;
  self->timed_out = FALSE;
  self->io_cancellable = g_cancellable_new ();
  if (cancellable != NULL)
    {
      self->user_cancellable = g_object_ref (cancellable);
      self->user_cancelled_id = g_cancellable_connect (
          cancellable, G_CALLBACK (on_user_cancelled_cb), self, NULL);
    }
}

void
mb_smtp_client_end_op (MbSmtpClient *self)
{
  stop_step (self);
  if (self->user_cancellable != NULL)
    g_cancellable_disconnect (self->user_cancellable, self->user_cancelled_id);
  self->user_cancelled_id = 0;
  g_clear_object (&self->user_cancellable);
  g_clear_object (&self->io_cancellable);
  self->busy = FALSE;
}

void
mb_smtp_client_close_connection (MbSmtpClient *self)
{
  self->ready = FALSE;
  if (self->socket != NULL)
    g_socket_close (g_socket_connection_get_socket (self->socket), NULL);
  g_clear_object (&self->stream);
  g_clear_object (&self->socket);
}

/* Ends the operation with @error and drops the connection: after a
 * failure we no longer know what state the server is in. */
void
mb_smtp_client_fail_op (GTask *task, GError *error)
{
  MbSmtpClient *self = g_task_get_source_object (task);

  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED)
      && self->timed_out)
    {
      g_clear_error (&error);
      error = g_error_new (G_IO_ERROR, G_IO_ERROR_TIMED_OUT, "Timed out %s",
                           self->step);
    }
  g_debug ("host=%s error=\"%s\"", self->options->host, error->message);
  mb_smtp_client_close_connection (self);
  mb_smtp_client_end_op (self);
  g_task_return_error (task, error);
}

gboolean
mb_smtp_client_write_or_fail (GTask *task, GAsyncResult *result)
{
  GError *error = NULL;

  if (g_task_propagate_boolean (G_TASK (result), &error))
    return TRUE;
  mb_smtp_client_fail_op (task, error);
  return FALSE;
}

MbSmtpReply *
mb_smtp_client_reply_or_fail (GTask *task, GAsyncResult *result)
{
  GError      *error = NULL;
  MbSmtpReply *reply = g_task_propagate_pointer (G_TASK (result), &error);

  if (reply == NULL)
    mb_smtp_client_fail_op (task, error);
  return reply;
}

/* A 421 anywhere means the server is closing the session (RFC 5321
 * 3.8). */
gboolean
mb_smtp_client_fail_if_closing (GTask *task, const MbSmtpReply *reply)
{
  if (reply->code != 421)
    return FALSE;
  mb_smtp_client_fail_op (task, mb_smtp_client_new_reply_error (
                                    MB_SMTP_CLIENT_ERROR_REPLY, reply,
                                    "The server is closing the session"));
  return TRUE;
}

/* Writing and reading: internal tasks whose errors the chains pass on. */

static void
write_done_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  GError *error = NULL;

  if (!g_output_stream_write_all_finish (G_OUTPUT_STREAM (source), result, NULL,
                                         &error))
    g_task_return_error (task, error);
  else
    g_task_return_boolean (task, TRUE);
}

void
mb_smtp_client_write_async (MbSmtpClient       *self,
                            GBytes             *bytes,
                            GAsyncReadyCallback callback,
                            gpointer            user_data)
{
  g_autoptr (GTask) task = g_task_new (self, NULL, callback, user_data);
  WriteData    *data = g_new0 (WriteData, 1);
  gsize         len;
  const guint8 *buf = g_bytes_get_data (bytes, &len);

  data->bytes = g_bytes_ref (bytes);
  g_task_set_task_data (task, data, (GDestroyNotify)write_data_free);
  g_output_stream_write_all_async (g_io_stream_get_output_stream (self->stream),
                                   buf, len, G_PRIORITY_DEFAULT,
                                   self->io_cancellable, write_done_cb,
                                   g_steal_pointer (&task));
}

gboolean
mb_smtp_client_write_finish (MbSmtpClient *self,
                             GAsyncResult *result,
                             GError      **error)
{
  return g_task_propagate_boolean (G_TASK (result), error);
}

/* Returns TRUE when the task got its result. */
static gboolean
parse_buffered_reply (GTask *task)
{
  MbSmtpClient *self = g_task_get_source_object (task);
  MbSmtpReply  *reply = NULL;
  GError       *error = NULL;
  gsize         consumed = 0;

  switch (mb_smtp_reply_parser_feed (self->parser, self->inbuf->data,
                                     self->inbuf->len, &consumed, &reply,
                                     &error))
    {
    case MB_SMTP_REPLY_PARSER_DONE:
      g_byte_array_remove_range (self->inbuf, 0, (guint)consumed);
      emit_reply (self, reply);
      g_task_return_pointer (task, reply, (GDestroyNotify)mb_smtp_reply_free);
      return TRUE;
    case MB_SMTP_REPLY_PARSER_ERROR:
      g_task_return_new_error (task, MB_SMTP_CLIENT_ERROR,
                               MB_SMTP_CLIENT_ERROR_PROTOCOL, "%s",
                               error->message);
      g_error_free (error);
      return TRUE;
    case MB_SMTP_REPLY_PARSER_MORE:
    default:
      g_byte_array_set_size (self->inbuf, 0);
      return FALSE;
    }
}

static void
read_done_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  MbSmtpClient *self = g_task_get_source_object (task);
  GError       *error = NULL;
  gssize        n;

  n = g_input_stream_read_finish (G_INPUT_STREAM (source), result, &error);
  if (n < 0)
    {
      g_task_return_error (task, error);
      return;
    }
  if (n == 0)
    {
      g_task_return_new_error (task, MB_SMTP_CLIENT_ERROR,
                               MB_SMTP_CLIENT_ERROR_PROTOCOL,
                               "The server closed the connection while we "
                               "were %s",
                               self->step);
      return;
    }
  g_byte_array_append (self->inbuf, self->readbuf, (guint)n);
  if (!parse_buffered_reply (task))
    read_more (g_steal_pointer (&task));
}

static void
read_more (GTask *task)
{
  MbSmtpClient *self = g_task_get_source_object (task);

  g_input_stream_read_async (g_io_stream_get_input_stream (self->stream),
                             self->readbuf, sizeof self->readbuf,
                             G_PRIORITY_DEFAULT, self->io_cancellable,
                             read_done_cb, task);
}

/* Reads one reply; bytes already buffered (pipelining) come first. */
void
mb_smtp_client_read_reply_async (MbSmtpClient       *self,
                                 const char         *what,
                                 GAsyncReadyCallback callback,
                                 gpointer            user_data)
{
  g_autoptr (GTask) task = g_task_new (self, NULL, callback, user_data);

  mb_smtp_client_start_step (self, "waiting for %s", what);
  if (!parse_buffered_reply (task))
    read_more (g_steal_pointer (&task));
}

MbSmtpReply *
mb_smtp_client_read_reply_finish (MbSmtpClient *self,
                                  GAsyncResult *result,
                                  GError      **error)
{
  return g_task_propagate_pointer (G_TASK (result), error);
}

static void
command_reply_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  MbSmtpReply *reply;
  GError      *error = NULL;

  reply = mb_smtp_client_read_reply_finish (MB_SMTP_CLIENT (source), result,
                                            &error);
  if (reply == NULL)
    g_task_return_error (task, error);
  else
    g_task_return_pointer (task, reply, (GDestroyNotify)mb_smtp_reply_free);
}

static void
command_written_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  MbSmtpClient    *self = MB_SMTP_CLIENT (source);
  CommandData     *data = g_task_get_task_data (task);
  g_autofree char *what = NULL;
  GError          *error = NULL;

  if (!mb_smtp_client_write_finish (self, result, &error))
    {
      g_task_return_error (task, error);
      return;
    }
  what = g_strdup_printf ("the reply to %s", data->verb);
  mb_smtp_client_read_reply_async (self, what, command_reply_cb,
                                   g_steal_pointer (&task));
}

void
mb_smtp_client_command_async (MbSmtpClient       *self,
                              const char         *line,
                              const char         *verb,
                              gboolean            secret,
                              GAsyncReadyCallback callback,
                              gpointer            user_data)
{
  g_autoptr (GTask) task = g_task_new (self, NULL, callback, user_data);
  g_autoptr (GBytes) bytes = NULL;
  CommandData *data = g_new0 (CommandData, 1);
  char        *wire = g_strconcat (line, "\r\n", NULL);

  data->verb = g_strdup (verb);
  g_task_set_task_data (task, data, (GDestroyNotify)command_data_free);
  bytes = g_bytes_new_with_free_func (wire, strlen (wire),
                                      secret ? wipe_free : g_free, wire);
  mb_smtp_client_emit_line (self, TRUE,
                            secret ? MB_SMTP_CLIENT_REDACTED : line);
  mb_smtp_client_start_step (self, "sending %s", verb);
  mb_smtp_client_write_async (self, bytes, command_written_cb,
                              g_steal_pointer (&task));
}

MbSmtpReply *
mb_smtp_client_command_finish (MbSmtpClient *self,
                               GAsyncResult *result,
                               GError      **error)
{
  return g_task_propagate_pointer (G_TASK (result), error);
}

static void
quit_reply_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  MbSmtpClient *self = MB_SMTP_CLIENT (source);
  g_autoptr (MbSmtpReply) reply = NULL;

  reply = mb_smtp_client_reply_or_fail (task, result);
  if (reply == NULL)
    return;
  mb_smtp_client_close_connection (self);
  mb_smtp_client_end_op (self);
  g_task_return_boolean (task, TRUE);
}

/* GObject */

static void
mb_smtp_client_dispose (GObject *object)
{
  MbSmtpClient *self = MB_SMTP_CLIENT (object);

  stop_step (self);
  if (self->io_cancellable != NULL)
    g_cancellable_cancel (self->io_cancellable);
  mb_smtp_client_close_connection (self);

  G_OBJECT_CLASS (mb_smtp_client_parent_class)->dispose (object);
}

static void
mb_smtp_client_finalize (GObject *object)
{
  MbSmtpClient *self = MB_SMTP_CLIENT (object);

  mb_smtp_client_options_free (self->options);
  g_clear_object (&self->identity);
  mb_smtp_reply_parser_free (self->parser);
  g_byte_array_unref (self->inbuf);
  g_clear_pointer (&self->greeting, mb_smtp_reply_free);
  g_clear_pointer (&self->caps, mb_smtp_capabilities_free);
  g_free (self->tls_summary);
  g_free (self->trust_problem);
  g_free (self->step);

  G_OBJECT_CLASS (mb_smtp_client_parent_class)->finalize (object);
}

static void
mb_smtp_client_class_init (MbSmtpClientClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = mb_smtp_client_dispose;
  object_class->finalize = mb_smtp_client_finalize;

  /**
   * MbSmtpClient::transcript:
   * @sent: TRUE for a line we sent, FALSE for one we received
   * @line: the line without CRLF, credentials redacted
   *
   * Emitted synchronously for every line, as it is sent or received.
   */
  signals[SIGNAL_TRANSCRIPT] = g_signal_new (
      "transcript", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL,
      NULL, G_TYPE_NONE, 2, G_TYPE_BOOLEAN, G_TYPE_STRING);
}

static void
mb_smtp_client_init (MbSmtpClient *self)
{
  self->parser = mb_smtp_reply_parser_new ();
  self->inbuf = g_byte_array_new ();
}

/* Public API */

const MbSmtpReply *
mb_smtp_client_error_get_reply (const GError *error)
{
  g_return_val_if_fail (error != NULL, NULL);

  if (error->domain != MB_SMTP_CLIENT_ERROR)
    return NULL;
  return mb_smtp_client_error_get_private (error)->reply;
}

MbSmtpClientOptions *
mb_smtp_client_options_new (void)
{
  MbSmtpClientOptions *options = g_new0 (MbSmtpClientOptions, 1);

  options->tls = MB_SMTP_CLIENT_TLS_REQUIRED;
  return options;
}

MbSmtpClientOptions *
mb_smtp_client_options_copy (const MbSmtpClientOptions *options)
{
  MbSmtpClientOptions *copy;

  g_return_val_if_fail (options != NULL, NULL);

  copy = g_new0 (MbSmtpClientOptions, 1);
  copy->host = g_strdup (options->host);
  copy->port = options->port;
  copy->helo_name = g_strdup (options->helo_name);
  copy->tls = options->tls;
  copy->trust_file = g_strdup (options->trust_file);
  g_set_object (&copy->client_certificate, options->client_certificate);
  copy->auth = options->auth;
  copy->username = g_strdup (options->username);
  copy->secret = g_strdup (options->secret);
  copy->timeout_seconds = options->timeout_seconds;
  return copy;
}

void
mb_smtp_client_options_free (MbSmtpClientOptions *options)
{
  if (options == NULL)
    return;
  g_free (options->host);
  g_free (options->helo_name);
  g_free (options->trust_file);
  g_clear_object (&options->client_certificate);
  g_free (options->username);
  mb_smtp_secret_free (options->secret);
  g_free (options);
}

MbSmtpClient *
mb_smtp_client_new (const MbSmtpClientOptions *options)
{
  MbSmtpClient *self;

  g_return_val_if_fail (options != NULL, NULL);
  g_return_val_if_fail (options->host != NULL, NULL);
  g_return_val_if_fail (options->helo_name != NULL, NULL);

  self = g_object_new (MB_TYPE_SMTP_CLIENT, NULL);
  self->options = mb_smtp_client_options_copy (options);
  if (self->options->timeout_seconds == 0)
    self->options->timeout_seconds = DEFAULT_TIMEOUT_SECONDS;
  self->identity = g_network_address_new (options->host, options->port);
  return self;
}

void
mb_smtp_client_quit_async (MbSmtpClient       *self,
                           GCancellable       *cancellable,
                           GAsyncReadyCallback callback,
                           gpointer            user_data)
{
  g_autoptr (GTask) task = NULL;

  g_return_if_fail (MB_IS_SMTP_CLIENT (self));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, mb_smtp_client_quit_async);
  if (!mb_smtp_client_check_idle (self, task))
    return;
  if (self->stream == NULL)
    {
      g_task_return_boolean (task, TRUE);
      return;
    }
  mb_smtp_client_begin_op (self, cancellable);
  mb_smtp_client_command_async (self, "QUIT", "QUIT", FALSE, quit_reply_cb,
                                g_steal_pointer (&task));
}

gboolean
mb_smtp_client_quit_finish (MbSmtpClient *self,
                            GAsyncResult *result,
                            GError      **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);

  return g_task_propagate_boolean (G_TASK (result), error);
}

void
mb_smtp_client_close (MbSmtpClient *self)
{
  g_return_if_fail (MB_IS_SMTP_CLIENT (self));

  if (self->io_cancellable != NULL)
    g_cancellable_cancel (self->io_cancellable);
  mb_smtp_client_close_connection (self);
}

gboolean
mb_smtp_client_is_ready (MbSmtpClient *self)
{
  g_return_val_if_fail (MB_IS_SMTP_CLIENT (self), FALSE);

  return self->ready && !self->busy;
}

const MbSmtpCapabilities *
mb_smtp_client_get_capabilities (MbSmtpClient *self)
{
  g_return_val_if_fail (MB_IS_SMTP_CLIENT (self), NULL);

  return self->caps;
}

const MbSmtpReply *
mb_smtp_client_get_greeting (MbSmtpClient *self)
{
  g_return_val_if_fail (MB_IS_SMTP_CLIENT (self), NULL);

  return self->greeting;
}

const char *
mb_smtp_client_get_tls_summary (MbSmtpClient *self)
{
  g_return_val_if_fail (MB_IS_SMTP_CLIENT (self), NULL);

  return self->tls_summary;
}
