/* mb-smtp-client-send.c - MbSmtpClient: one mail transaction
 *
 * Contract:
 *  - MAIL, one RCPT per recipient, DATA, the message, the end of data
 *    (RFC 5321 3.3).  A refusal by the server is a result, not an error:
 *    the caller gets every reply and decides who got the message.
 *  - PIPELINING (RFC 2920): MAIL, the RCPTs and DATA go in one write, in
 *    groups of PIPELINE_GROUP commands so a large recipient list cannot
 *    dead-lock both sides on full socket buffers; the replies are read in
 *    order.  Without it, one command per round trip, and DATA only once a
 *    recipient was accepted.  A pipelined DATA that gets 354 with nobody
 *    accepted is ended empty (RFC 2920 3.1); an open transaction that did
 *    not end in data is reset with RSET.
 *  - The message is streamed from the caller's GInputStream in CHUNK_SIZE
 *    pieces, dot-stuffed on the way (RFC 5321 4.5.2), a bare LF turned
 *    into CRLF, ended with <CRLF>.<CRLF>.  Memory does not grow with the
 *    message.  A read error mid-message drops the connection, so the
 *    server never delivers half a message.
 *  - SIZE (RFC 1870) is declared when offered; a message over the limit is
 *    refused before MAIL (TOO_BIG).  SMTPUTF8 (RFC 6531) is requested only
 *    when needed; needed and not offered refuses the message before MAIL
 *    (NEEDS_SMTPUTF8).  BODY=8BITMIME (RFC 6152) and the DSN parameters
 *    (RFC 3461, xtext-encoded) only when offered.  Those refusals leave the
 *    connection usable.
 *
 * Not here: BDAT/CHUNKING (the spool holds text lines; DATA suffices),
 * 8-bit to 7-bit conversion (a server without 8BITMIME gets the bytes).
 */
#define G_LOG_DOMAIN "mb-smtp-client"

#include "mb-smtp-client-private.h"

#include <string.h>

/* Commands written together when the server offers PIPELINING. */
#define PIPELINE_GROUP 100
/* Message bytes read from the spool per write. */
#define CHUNK_SIZE (64 * 1024)

typedef struct
{
  MbSmtpSendRequest *request; /* (owned) */
  GInputStream      *message; /* (owned) */
  guint64            size;
  GPtrArray         *commands; /* (owned) (element-type utf8) MAIL..DATA */
  guint              next_write;
  guint              next_reply;
  gboolean           pipelining;
  gboolean           mail_refused;
  guint              n_accepted;
  MbSmtpSendResult  *result; /* (owned) */
  guint8            *chunk;  /* (owned) CHUNK_SIZE bytes */
  gboolean           at_line_start;
  gboolean           last_was_cr;
  guint64            bytes_sent;
} SendData;

static void write_next_group (GTask *task);
static void read_next_send_reply (GTask *task);
static void stream_next_chunk (GTask *task);
static void send_rset (GTask *task);

static void
send_data_free (SendData *data)
{
  mb_smtp_send_request_free (data->request);
  g_clear_object (&data->message);
  g_ptr_array_unref (data->commands);
  mb_smtp_send_result_free (data->result);
  g_free (data->chunk);
  g_free (data);
}

/* Sending: [MAIL RCPT... DATA] in groups → replies → message → end of
 * data → (RSET). */

static gboolean
has_control_chars (const char *text)
{
  for (const guchar *p = (const guchar *)text; *p != '\0'; p++)
    {
      if (*p < 0x20 || *p == 0x7f)
        return TRUE;
    }
  return FALSE;
}

static gboolean
is_ascii (const char *text)
{
  for (const guchar *p = (const guchar *)text; *p != '\0'; p++)
    {
      if (*p >= 0x80)
        return FALSE;
    }
  return TRUE;
}

static gboolean
check_request (const MbSmtpSendRequest *request,
               gboolean                *needs_smtputf8,
               GError                 **error)
{
  *needs_smtputf8 = request->smtputf8 || !is_ascii (request->sender);
  if (request->recipients->len == 0)
    {
      g_set_error (error, MB_SMTP_CLIENT_ERROR,
                   MB_SMTP_CLIENT_ERROR_BAD_REQUEST, "No recipients");
      return FALSE;
    }
  if (has_control_chars (request->sender))
    {
      g_set_error (error, MB_SMTP_CLIENT_ERROR,
                   MB_SMTP_CLIENT_ERROR_BAD_REQUEST,
                   "The sender address holds control characters");
      return FALSE;
    }
  for (guint i = 0; i < request->recipients->len; i++)
    {
      const MbSmtpSendRecipient *rcpt = request->recipients->pdata[i];

      if (has_control_chars (rcpt->address))
        {
          g_set_error (error, MB_SMTP_CLIENT_ERROR,
                       MB_SMTP_CLIENT_ERROR_BAD_REQUEST,
                       "A recipient address holds control characters");
          return FALSE;
        }
      if (!is_ascii (rcpt->address))
        *needs_smtputf8 = TRUE;
    }
  return TRUE;
}

static char *
build_mail_line (MbSmtpClient            *self,
                 const MbSmtpSendRequest *request,
                 guint64                  size,
                 gboolean                 smtputf8)
{
  GString *line = g_string_new (NULL);

  g_string_append_printf (line, "MAIL FROM:<%s>", request->sender);
  if (mb_smtp_capabilities_has (self->caps, MB_SMTP_EXT_SIZE))
    g_string_append_printf (line, " SIZE=%" G_GUINT64_FORMAT, size);
  if (request->body == MB_SMTP_BODY_8BITMIME
      && mb_smtp_capabilities_has (self->caps, MB_SMTP_EXT_8BITMIME))
    g_string_append (line, " BODY=8BITMIME");
  if (smtputf8)
    g_string_append (line, " SMTPUTF8");
  if (mb_smtp_capabilities_has (self->caps, MB_SMTP_EXT_DSN))
    {
      if (request->ret == MB_DSN_RET_FULL)
        g_string_append (line, " RET=FULL");
      else if (request->ret == MB_DSN_RET_HDRS)
        g_string_append (line, " RET=HDRS");
      if (request->envid != NULL)
        {
          g_autofree char *xtext = mb_smtp_xtext_encode (request->envid);

          g_string_append_printf (line, " ENVID=%s", xtext);
        }
    }
  return g_string_free (line, FALSE);
}

static char *
build_rcpt_line (MbSmtpClient *self, const MbSmtpSendRecipient *rcpt)
{
  GString *line = g_string_new (NULL);

  g_string_append_printf (line, "RCPT TO:<%s>", rcpt->address);
  if (!mb_smtp_capabilities_has (self->caps, MB_SMTP_EXT_DSN))
    return g_string_free (line, FALSE);

  if (rcpt->notify & MB_DSN_NOTIFY_NEVER)
    g_string_append (line, " NOTIFY=NEVER");
  else if (rcpt->notify != 0)
    {
      const char *sep = " NOTIFY=";

      if (rcpt->notify & MB_DSN_NOTIFY_SUCCESS)
        {
          g_string_append_printf (line, "%sSUCCESS", sep);
          sep = ",";
        }
      if (rcpt->notify & MB_DSN_NOTIFY_FAILURE)
        {
          g_string_append_printf (line, "%sFAILURE", sep);
          sep = ",";
        }
      if (rcpt->notify & MB_DSN_NOTIFY_DELAY)
        g_string_append_printf (line, "%sDELAY", sep);
    }
  if (rcpt->orcpt != NULL)
    {
      const char      *semicolon = strchr (rcpt->orcpt, ';');
      g_autofree char *type
          = semicolon != NULL ? g_strndup (rcpt->orcpt, semicolon - rcpt->orcpt)
                              : g_strdup ("rfc822");
      g_autofree char *xtext = mb_smtp_xtext_encode (
          semicolon != NULL ? semicolon + 1 : rcpt->orcpt);

      /* The address type is an atom (RFC 3461 4.2): only the address is
       * xtext, so a hostile type cannot smuggle anything either. */
      if (*type == '\0' || has_control_chars (type) || strchr (type, ' '))
        g_string_append_printf (line, " ORCPT=rfc822;%s", xtext);
      else
        g_string_append_printf (line, " ORCPT=%s;%s", type, xtext);
    }
  return g_string_free (line, FALSE);
}

static const char *
command_verb (SendData *data, guint index)
{
  if (index == 0)
    return "MAIL";
  if (index == data->commands->len - 1)
    return "DATA";
  return "RCPT";
}

/* The terminal helpers borrow @task; the chain steps (write_next_group,
 * read_next_send_reply, stream_next_chunk, send_rset) take it. */
static void
finish_send (GTask *task)
{
  MbSmtpClient *self = g_task_get_source_object (task);
  SendData     *data = g_task_get_task_data (task);

  mb_smtp_client_end_op (self);
  g_task_return_pointer (task, g_steal_pointer (&data->result),
                         (GDestroyNotify)mb_smtp_send_result_free);
}

/* Ends the operation, keeping the connection: the message was refused
 * before anything was sent. */
static void
reject_message (GTask *task, GError *error)
{
  MbSmtpClient *self = g_task_get_source_object (task);

  g_debug ("host=%s message-refused=\"%s\"", self->options->host,
           error->message);
  mb_smtp_client_end_op (self);
  g_task_return_error (task, error);
}

static void
rset_reply_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  MbSmtpClient *self = MB_SMTP_CLIENT (source);
  g_autoptr (MbSmtpReply) reply = NULL;

  reply = mb_smtp_client_reply_or_fail (task, result);
  if (reply == NULL || mb_smtp_client_fail_if_closing (task, reply))
    return;
  /* The message's fate is known already; a server that cannot reset is
   * just not fit for the next one. */
  if (!mb_smtp_reply_is_positive (reply))
    mb_smtp_client_close_connection (self);
  finish_send (task);
}

static void
send_rset (GTask *task)
{
  MbSmtpClient *self = g_task_get_source_object (task);

  mb_smtp_client_command_async (self, "RSET", "RSET", FALSE, rset_reply_cb,
                                task);
}

static void
final_reply_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  SendData    *data = g_task_get_task_data (task);
  MbSmtpReply *reply;

  reply = mb_smtp_client_reply_or_fail (task, result);
  if (reply == NULL)
    return;
  data->result->data_reply = reply;
  if (mb_smtp_client_fail_if_closing (task, reply))
    return;
  if (mb_smtp_reply_is_intermediate (reply))
    {
      mb_smtp_client_fail_op (task, mb_smtp_client_new_reply_error (
                                        MB_SMTP_CLIENT_ERROR_PROTOCOL, reply,
                                        "Unexpected reply to the end of data"));
      return;
    }
  finish_send (task);
}

static void
end_written_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  MbSmtpClient *self = MB_SMTP_CLIENT (source);

  if (!mb_smtp_client_write_or_fail (task, result))
    return;
  mb_smtp_client_read_reply_async (self, "the reply to the end of data",
                                   final_reply_cb, g_steal_pointer (&task));
}

static void
chunk_written_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;

  if (!mb_smtp_client_write_or_fail (task, result))
    return;
  stream_next_chunk (g_steal_pointer (&task));
}

/* RFC 5321 4.5.2: a line that starts with "." gets another one.  Bare LF
 * becomes CRLF, so the server sees proper lines whatever the file holds. */
static void
stuff_chunk (SendData *data, const guint8 *in, gsize len, GByteArray *out)
{
  gsize pos = 0;

  while (pos < len)
    {
      const guint8 *lf = memchr (in + pos, '\n', len - pos);
      gsize         end = lf != NULL ? (gsize)(lf - in) : len;

      if (data->at_line_start && in[pos] == '.')
        g_byte_array_append (out, (const guint8 *)".", 1);
      g_byte_array_append (out, in + pos, (guint)(end - pos));
      if (end > pos)
        data->last_was_cr = in[end - 1] == '\r';
      data->at_line_start = FALSE;
      if (lf == NULL)
        break;

      if (!data->last_was_cr)
        g_byte_array_append (out, (const guint8 *)"\r", 1);
      g_byte_array_append (out, (const guint8 *)"\n", 1);
      data->last_was_cr = FALSE;
      data->at_line_start = TRUE;
      pos = end + 1;
    }
}

static void
chunk_read_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  MbSmtpClient *self = g_task_get_source_object (task);
  SendData     *data = g_task_get_task_data (task);
  g_autoptr (GByteArray) out = NULL;
  g_autoptr (GBytes) bytes = NULL;
  g_autofree char *summary = NULL;
  GError          *error = NULL;
  gssize           n;

  n = g_input_stream_read_finish (G_INPUT_STREAM (source), result, &error);
  if (n < 0)
    {
      /* Half a message is on the wire: only dropping the connection keeps
       * the server from delivering it. */
      g_prefix_error (&error, "Reading the message: ");
      mb_smtp_client_fail_op (task, error);
      return;
    }

  out = g_byte_array_sized_new ((guint)n + (guint)n / 8 + 8);
  if (n > 0)
    {
      stuff_chunk (data, data->chunk, (gsize)n, out);
      data->bytes_sent += (guint64)n;
      bytes = g_byte_array_free_to_bytes (g_steal_pointer (&out));
      mb_smtp_client_write_async (self, bytes, chunk_written_cb,
                                  g_steal_pointer (&task));
      return;
    }

  if (!data->at_line_start)
    g_byte_array_append (out, (const guint8 *)"\r\n", 2);
  g_byte_array_append (out, (const guint8 *)".\r\n", 3);
  summary = g_strdup_printf ("[%" G_GUINT64_FORMAT " bytes of message data]",
                             data->bytes_sent);
  mb_smtp_client_emit_line (self, TRUE, summary);
  mb_smtp_client_emit_line (self, TRUE, ".");
  mb_smtp_client_start_step (self, "sending the end of data");
  bytes = g_byte_array_free_to_bytes (g_steal_pointer (&out));
  mb_smtp_client_write_async (self, bytes, end_written_cb,
                              g_steal_pointer (&task));
}

static void
stream_next_chunk (GTask *task)
{
  MbSmtpClient *self = g_task_get_source_object (task);
  SendData     *data = g_task_get_task_data (task);

  mb_smtp_client_start_step (self, "sending the message");
  g_input_stream_read_async (data->message, data->chunk, CHUNK_SIZE,
                             G_PRIORITY_DEFAULT, self->io_cancellable,
                             chunk_read_cb, task);
}

static void
empty_data_reply_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  SendData *data = g_task_get_task_data (task);
  g_autoptr (MbSmtpReply) reply = NULL;

  reply = mb_smtp_client_reply_or_fail (task, result);
  if (reply == NULL || mb_smtp_client_fail_if_closing (task, reply))
    return;
  if (data->mail_refused)
    finish_send (task);
  else
    send_rset (g_steal_pointer (&task));
}

static void
send_reply_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  MbSmtpClient *self = MB_SMTP_CLIENT (source);
  SendData     *data = g_task_get_task_data (task);
  g_autoptr (MbSmtpReply) reply = NULL;
  gboolean wanted = !data->mail_refused;
  guint    index;

  reply = mb_smtp_client_reply_or_fail (task, result);
  if (reply == NULL || mb_smtp_client_fail_if_closing (task, reply))
    return;

  index = data->next_reply++;
  if (index == 0)
    {
      data->mail_refused = !mb_smtp_reply_is_positive (reply);
      data->result->mail_reply = g_steal_pointer (&reply);
    }
  else if (index < data->commands->len - 1)
    {
      /* Replies to RCPTs pipelined after a refused MAIL say nothing about
       * the recipients. */
      if (wanted && mb_smtp_reply_is_positive (reply))
        data->n_accepted++;
      if (wanted)
        g_ptr_array_add (data->result->rcpt_replies, g_steal_pointer (&reply));
    }
  else if (reply->code == 354 && wanted && data->n_accepted > 0)
    {
      stream_next_chunk (g_steal_pointer (&task));
      return;
    }
  else if (reply->code == 354)
    {
      /* Pipelined DATA went through although nobody can receive the
       * message: end it empty (RFC 2920 3.1). */
      mb_smtp_client_command_async (self, ".", "the end of data", FALSE,
                                    empty_data_reply_cb,
                                    g_steal_pointer (&task));
      return;
    }
  else if (!mb_smtp_reply_is_transient (reply)
           && !mb_smtp_reply_is_permanent (reply))
    {
      mb_smtp_client_fail_op (task, mb_smtp_client_new_reply_error (
                                        MB_SMTP_CLIENT_ERROR_PROTOCOL, reply,
                                        "Unexpected reply to DATA"));
      return;
    }
  else
    {
      if (wanted && data->n_accepted > 0)
        data->result->data_reply = g_steal_pointer (&reply);
      if (wanted)
        send_rset (g_steal_pointer (&task));
      else
        finish_send (task);
      return;
    }

  if (data->next_reply < data->next_write)
    read_next_send_reply (g_steal_pointer (&task));
  else if (data->mail_refused)
    finish_send (task);
  else
    write_next_group (g_steal_pointer (&task));
}

static void
read_next_send_reply (GTask *task)
{
  MbSmtpClient    *self = g_task_get_source_object (task);
  SendData        *data = g_task_get_task_data (task);
  g_autofree char *what = g_strdup_printf (
      "the reply to %s", command_verb (data, data->next_reply));

  mb_smtp_client_read_reply_async (self, what, send_reply_cb, task);
}

static void
group_written_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;

  if (!mb_smtp_client_write_or_fail (task, result))
    return;
  read_next_send_reply (g_steal_pointer (&task));
}

static void
write_next_group (GTask *task)
{
  MbSmtpClient *self = g_task_get_source_object (task);
  SendData     *data = g_task_get_task_data (task);
  g_autoptr (GString) group = g_string_new (NULL);
  g_autoptr (GBytes) bytes = NULL;
  guint end;

  /* Without pipelining DATA waits for an accepted recipient. */
  if (!data->pipelining && data->next_write == data->commands->len - 1
      && data->n_accepted == 0)
    {
      send_rset (task);
      return;
    }

  end = data->pipelining
            ? MIN (data->next_write + PIPELINE_GROUP, data->commands->len)
            : data->next_write + 1;
  for (guint i = data->next_write; i < end; i++)
    {
      mb_smtp_client_emit_line (self, TRUE, data->commands->pdata[i]);
      g_string_append (group, data->commands->pdata[i]);
      g_string_append (group, "\r\n");
    }
  mb_smtp_client_start_step (self, "sending %s",
                             command_verb (data, data->next_write));
  data->next_write = end;
  bytes = g_string_free_to_bytes (g_steal_pointer (&group));
  mb_smtp_client_write_async (self, bytes, group_written_cb, task);
}

/* Public API */

static void
send_recipient_free (MbSmtpSendRecipient *rcpt)
{
  g_free (rcpt->address);
  g_free (rcpt->orcpt);
  g_free (rcpt);
}

MbSmtpSendRequest *
mb_smtp_send_request_new (const char *sender)
{
  MbSmtpSendRequest *request = g_new0 (MbSmtpSendRequest, 1);

  request->sender = g_strdup (sender != NULL ? sender : "");
  request->recipients
      = g_ptr_array_new_with_free_func ((GDestroyNotify)send_recipient_free);
  return request;
}

void
mb_smtp_send_request_add_recipient (MbSmtpSendRequest *request,
                                    const char        *address,
                                    guint              notify,
                                    const char        *orcpt)
{
  MbSmtpSendRecipient *rcpt;

  g_return_if_fail (request != NULL);
  g_return_if_fail (address != NULL);

  rcpt = g_new0 (MbSmtpSendRecipient, 1);
  rcpt->address = g_strdup (address);
  rcpt->notify = notify;
  rcpt->orcpt = g_strdup (orcpt);
  g_ptr_array_add (request->recipients, rcpt);
}

MbSmtpSendRequest *
mb_smtp_send_request_copy (const MbSmtpSendRequest *request)
{
  MbSmtpSendRequest *copy;

  g_return_val_if_fail (request != NULL, NULL);

  copy = mb_smtp_send_request_new (request->sender);
  for (guint i = 0; i < request->recipients->len; i++)
    {
      const MbSmtpSendRecipient *rcpt = request->recipients->pdata[i];

      mb_smtp_send_request_add_recipient (copy, rcpt->address, rcpt->notify,
                                          rcpt->orcpt);
    }
  copy->smtputf8 = request->smtputf8;
  copy->body = request->body;
  copy->ret = request->ret;
  copy->envid = g_strdup (request->envid);
  return copy;
}

void
mb_smtp_send_request_free (MbSmtpSendRequest *request)
{
  if (request == NULL)
    return;
  g_free (request->sender);
  g_ptr_array_unref (request->recipients);
  g_free (request->envid);
  g_free (request);
}

void
mb_smtp_send_result_free (MbSmtpSendResult *result)
{
  if (result == NULL)
    return;
  mb_smtp_reply_free (result->mail_reply);
  g_ptr_array_unref (result->rcpt_replies);
  mb_smtp_reply_free (result->data_reply);
  g_free (result);
}

void
mb_smtp_client_send_async (MbSmtpClient            *self,
                           const MbSmtpSendRequest *request,
                           GInputStream            *message,
                           guint64                  size,
                           GCancellable            *cancellable,
                           GAsyncReadyCallback      callback,
                           gpointer                 user_data)
{
  g_autoptr (GTask) task = NULL;
  GError   *error = NULL;
  SendData *data;
  gboolean  smtputf8 = FALSE;

  g_return_if_fail (MB_IS_SMTP_CLIENT (self));
  g_return_if_fail (request != NULL);
  g_return_if_fail (G_IS_INPUT_STREAM (message));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, mb_smtp_client_send_async);
  if (!mb_smtp_client_check_idle (self, task))
    return;
  if (!self->ready)
    {
      g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_NOT_CONNECTED,
                               "Not connected to %s", self->options->host);
      return;
    }

  mb_smtp_client_begin_op (self, cancellable);
  if (!check_request (request, &smtputf8, &error))
    {
      reject_message (task, error);
      return;
    }
  if (smtputf8 && !mb_smtp_capabilities_has (self->caps, MB_SMTP_EXT_SMTPUTF8))
    {
      reject_message (task, g_error_new (MB_SMTP_CLIENT_ERROR,
                                         MB_SMTP_CLIENT_ERROR_NEEDS_SMTPUTF8,
                                         "The message needs SMTPUTF8, which %s "
                                         "does not offer",
                                         self->options->host));
      return;
    }
  if (self->caps->size > 0 && size > self->caps->size)
    {
      reject_message (
          task,
          g_error_new (MB_SMTP_CLIENT_ERROR, MB_SMTP_CLIENT_ERROR_TOO_BIG,
                       "The message (%" G_GUINT64_FORMAT
                       " bytes) is larger than %s accepts (%" G_GUINT64_FORMAT
                       " bytes)",
                       size, self->options->host, self->caps->size));
      return;
    }

  data = g_new0 (SendData, 1);
  data->request = mb_smtp_send_request_copy (request);
  data->message = g_object_ref (message);
  data->size = size;
  data->pipelining
      = mb_smtp_capabilities_has (self->caps, MB_SMTP_EXT_PIPELINING);
  data->result = g_new0 (MbSmtpSendResult, 1);
  data->result->rcpt_replies
      = g_ptr_array_new_with_free_func ((GDestroyNotify)mb_smtp_reply_free);
  data->chunk = g_malloc (CHUNK_SIZE);
  data->at_line_start = TRUE;
  data->commands = g_ptr_array_new_with_free_func (g_free);
  g_ptr_array_add (data->commands,
                   build_mail_line (self, request, size, smtputf8));
  for (guint i = 0; i < request->recipients->len; i++)
    g_ptr_array_add (data->commands,
                     build_rcpt_line (self, request->recipients->pdata[i]));
  g_ptr_array_add (data->commands, g_strdup ("DATA"));
  g_task_set_task_data (task, data, (GDestroyNotify)send_data_free);

  write_next_group (g_steal_pointer (&task));
}

MbSmtpSendResult *
mb_smtp_client_send_finish (MbSmtpClient *self,
                            GAsyncResult *result,
                            GError      **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}
