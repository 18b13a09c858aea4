/* mb-smtp-client-connect.c - MbSmtpClient: from TCP connect to AUTH done
 *
 * Contract:
 *  - Order (RFC 5321 3.1, 4.1.1.1; RFC 3207; RFC 4954): connect, greeting
 *    (anything but 220 fails with the reply), EHLO (HELO only when EHLO is
 *    refused with 500 or 502), STARTTLS, EHLO again, AUTH.  What the server
 *    said before TLS is forgotten after it (RFC 3207 4.2).
 *  - TLS: the server identity is the configured host name (SNI and
 *    certificate check); the certificate must verify against the system
 *    CAs, or against a CA of the route's trust file for that same identity
 *    with no other flaw (checked in "accept-certificate").  Nothing can
 *    switch that off.  A protocol below TLS 1.2 is refused after the
 *    handshake (GIO has no knob to forbid it before).  Bytes the server
 *    sends after its 220 to STARTTLS are refused (RFC 3207 6).
 *  - TLS required and STARTTLS not offered or refused: NO_STARTTLS, and
 *    nothing more is sent.  Credentials are never sent without TLS, even
 *    when TLS is only opportunistic.
 *  - AUTH uses only an advertised mechanism.  XOAUTH2 goes in two steps so
 *    a long token never pushes the AUTH line past the line limit
 *    (M365-FACTS.md 2.1, RFC 4954 4); a second 334 (the error as JSON) is
 *    answered with an empty line to get the final 535.
 *
 * Not here: the transaction (mb-smtp-client-send.c), line I/O and timeouts
 * (mb-smtp-client.c).
 */
#define G_LOG_DOMAIN "mb-smtp-client"

#include "mb-smtp-client-private.h"
#include "mb-tls-trust.h"

#include <string.h>

static void send_ehlo (GTask *task);

/* Connecting: connect → greeting → EHLO (→ HELO) → STARTTLS → handshake
 * → EHLO → AUTH. */

static void
finish_connect (GTask *task)
{
  MbSmtpClient *self = g_task_get_source_object (task);

  self->ready = TRUE;
  mb_smtp_client_end_op (self);
  g_task_return_boolean (task, TRUE);
}

static const char *
auth_mechanism_name (MbSmtpClientAuth auth)
{
  switch (auth)
    {
    case MB_SMTP_CLIENT_AUTH_LOGIN:
      return "LOGIN";
    case MB_SMTP_CLIENT_AUTH_PLAIN:
      return "PLAIN";
    case MB_SMTP_CLIENT_AUTH_XOAUTH2:
      return "XOAUTH2";
    case MB_SMTP_CLIENT_AUTH_NONE:
    default:
      return NULL;
    }
}

static char *
encode_secret (const char *data, gsize len)
{
  return g_base64_encode ((const guchar *)data, len);
}

/* What to answer the server's 334 in this round, or NULL when the
 * mechanism has nothing more to say.  The caller wipes the result. */
static char *
next_auth_response (MbSmtpClient *self)
{
  const char *user = self->options->username ? self->options->username : "";
  const char *secret = self->options->secret ? self->options->secret : "";
  gsize       user_len = strlen (user), secret_len = strlen (secret);

  switch (self->options->auth)
    {
    case MB_SMTP_CLIENT_AUTH_XOAUTH2:
      if (self->auth_round == 0)
        return mb_smtp_xoauth2_encode (user, secret);
      /* A second 334 carries the error as JSON; an empty answer makes the
       * server send its final 535 (M365-FACTS.md 2.1). */
      if (self->auth_round == 1)
        return g_strdup ("");
      return NULL;
    case MB_SMTP_CLIENT_AUTH_LOGIN:
      if (self->auth_round == 0)
        return encode_secret (user, user_len);
      if (self->auth_round == 1)
        return encode_secret (secret, secret_len);
      return NULL;
    case MB_SMTP_CLIENT_AUTH_PLAIN:
      if (self->auth_round == 0)
        {
          /* RFC 4616: authzid (empty) NUL authcid NUL passwd. */
          gsize len = user_len + secret_len + 2;
          char *raw = g_malloc0 (len + 1);
          char *encoded;

          memcpy (raw + 1, user, user_len);
          memcpy (raw + user_len + 2, secret, secret_len);
          encoded = encode_secret (raw, len);
          explicit_bzero (raw, len);
          g_free (raw);
          return encoded;
        }
      return NULL;
    case MB_SMTP_CLIENT_AUTH_NONE:
    default:
      return NULL;
    }
}

static void
auth_reply_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  MbSmtpClient *self = MB_SMTP_CLIENT (source);
  g_autoptr (MbSmtpReply) reply = NULL;
  char *response = NULL;

  reply = mb_smtp_client_reply_or_fail (task, result);
  if (reply == NULL || mb_smtp_client_fail_if_closing (task, reply))
    return;
  if (reply->code == 235)
    {
      finish_connect (task);
      return;
    }
  if (reply->code == 334)
    response = next_auth_response (self);
  if (response == NULL)
    {
      mb_smtp_client_fail_op (
          task,
          mb_smtp_client_new_reply_error (
              MB_SMTP_CLIENT_ERROR_AUTH_FAILED, reply,
              "Authentication as %s failed",
              self->options->username != NULL ? self->options->username : ""));
      return;
    }
  self->auth_round++;
  mb_smtp_client_command_async (self, response, "AUTH", response[0] != '\0',
                                auth_reply_cb, g_steal_pointer (&task));
  mb_smtp_secret_free (response);
}

static void
start_auth (GTask *task_in)
{
  g_autoptr (GTask) task = task_in;
  MbSmtpClient    *self = g_task_get_source_object (task);
  const char      *mechanism = auth_mechanism_name (self->options->auth);
  g_autofree char *line = NULL;

  if (mechanism == NULL)
    {
      finish_connect (task);
      return;
    }
  if (!mb_smtp_capabilities_has_auth (self->caps, mechanism))
    {
      g_autofree char *offered = g_strjoinv (" ", self->caps->auth_mechanisms);

      mb_smtp_client_fail_op (
          task, g_error_new (
                    MB_SMTP_CLIENT_ERROR, MB_SMTP_CLIENT_ERROR_AUTH_UNAVAILABLE,
                    "The server does not offer AUTH %s (it offers: %s)",
                    mechanism, offered[0] != '\0' ? offered : "none"));
      return;
    }
  self->auth_round = 0;
  line = g_strdup_printf ("AUTH %s", mechanism);
  mb_smtp_client_command_async (self, line, "AUTH", FALSE, auth_reply_cb,
                                g_steal_pointer (&task));
}

/* Called during the handshake only when the system validation failed: the
 * route's trust file may still vouch for the server, for the same identity
 * and with no other flaw.  Reading that (small, local) file blocks the main
 * loop briefly, and only on this rare path (mb-tls-trust.h). */
static gboolean
on_tls_accept_certificate_cb (GTlsConnection      *connection,
                              GTlsCertificate     *peer_certificate,
                              GTlsCertificateFlags errors,
                              gpointer             user_data)
{
  MbSmtpClient *self = user_data;

  self->tls_errors = errors;
  g_clear_pointer (&self->trust_problem, g_free);
  return mb_tls_trust_check (self->options->trust_file, peer_certificate,
                             self->identity, &self->tls_errors,
                             &self->trust_problem);
}

static const char *
tls_version_name (GTlsProtocolVersion version)
{
  switch (version)
    {
    case G_TLS_PROTOCOL_VERSION_SSL_3_0:
      return "SSLv3";
    case G_TLS_PROTOCOL_VERSION_TLS_1_0:
      return "TLSv1.0";
    case G_TLS_PROTOCOL_VERSION_TLS_1_1:
      return "TLSv1.1";
    case G_TLS_PROTOCOL_VERSION_TLS_1_2:
      return "TLSv1.2";
    case G_TLS_PROTOCOL_VERSION_TLS_1_3:
      return "TLSv1.3";
    case G_TLS_PROTOCOL_VERSION_DTLS_1_0:
    case G_TLS_PROTOCOL_VERSION_DTLS_1_2:
    case G_TLS_PROTOCOL_VERSION_UNKNOWN:
    default:
      return "TLS";
    }
}

static void
handshake_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  MbSmtpClient       *self = g_task_get_source_object (task);
  GTlsConnection     *tls = G_TLS_CONNECTION (source);
  GTlsProtocolVersion version;
  g_autofree char    *cipher = NULL;
  GError             *error = NULL;

  if (!g_tls_connection_handshake_finish (tls, result, &error))
    {
      if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        {
          mb_smtp_client_fail_op (task, error);
        }
      else if (self->tls_errors != 0
               || g_error_matches (error, G_TLS_ERROR,
                                   G_TLS_ERROR_BAD_CERTIFICATE))
        {
          g_autofree char *why = mb_tls_trust_describe (
              self->tls_errors, self->options->host, self->trust_problem);

          g_error_free (error);
          mb_smtp_client_fail_op (
              task, g_error_new (MB_SMTP_CLIENT_ERROR,
                                 MB_SMTP_CLIENT_ERROR_TLS_UNTRUSTED,
                                 "The certificate of %s is not trusted: "
                                 "%s",
                                 self->options->host, why));
        }
      else
        {
          GError *wrapped = g_error_new (MB_SMTP_CLIENT_ERROR,
                                         MB_SMTP_CLIENT_ERROR_TLS_FAILED,
                                         "The TLS handshake with %s failed: %s",
                                         self->options->host, error->message);

          g_error_free (error);
          mb_smtp_client_fail_op (task, wrapped);
        }
      return;
    }

  version = g_tls_connection_get_protocol_version (tls);
  if (version == G_TLS_PROTOCOL_VERSION_SSL_3_0
      || version == G_TLS_PROTOCOL_VERSION_TLS_1_0
      || version == G_TLS_PROTOCOL_VERSION_TLS_1_1)
    {
      mb_smtp_client_fail_op (
          task,
          g_error_new (MB_SMTP_CLIENT_ERROR, MB_SMTP_CLIENT_ERROR_TLS_TOO_OLD,
                       "%s negotiated %s; TLS 1.2 or newer is "
                       "required",
                       self->options->host, tls_version_name (version)));
      return;
    }

  g_set_object (&self->stream, G_IO_STREAM (tls));
  self->encrypted = TRUE;
  cipher = g_tls_connection_get_ciphersuite_name (tls);
  g_free (self->tls_summary);
  self->tls_summary
      = g_strdup_printf ("%s %s", tls_version_name (version),
                         cipher != NULL ? cipher : "unknown-cipher");
  g_debug ("host=%s tls=\"%s\"", self->options->host, self->tls_summary);
  /* RFC 3207 4.2: forget everything learnt before TLS. */
  g_clear_pointer (&self->caps, mb_smtp_capabilities_free);
  send_ehlo (g_steal_pointer (&task));
}

static void
starttls_reply_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  MbSmtpClient *self = MB_SMTP_CLIENT (source);
  g_autoptr (MbSmtpReply) reply = NULL;
  g_autoptr (GIOStream) tls = NULL;
  GError *error = NULL;

  reply = mb_smtp_client_reply_or_fail (task, result);
  if (reply == NULL || mb_smtp_client_fail_if_closing (task, reply))
    return;
  if (reply->code != 220)
    {
      if (self->options->tls == MB_SMTP_CLIENT_TLS_REQUIRED
          || self->options->auth != MB_SMTP_CLIENT_AUTH_NONE)
        mb_smtp_client_fail_op (task,
                                mb_smtp_client_new_reply_error (
                                    MB_SMTP_CLIENT_ERROR_NO_STARTTLS, reply,
                                    "The server refused STARTTLS"));
      else
        finish_connect (task);
      return;
    }
  if (self->inbuf->len > 0)
    {
      mb_smtp_client_fail_op (
          task,
          g_error_new (MB_SMTP_CLIENT_ERROR, MB_SMTP_CLIENT_ERROR_PROTOCOL,
                       "The server sent data after its reply to "
                       "STARTTLS"));
      return;
    }

  tls = g_tls_client_connection_new (G_IO_STREAM (self->socket), self->identity,
                                     &error);
  if (tls == NULL)
    {
      GError *wrapped
          = g_error_new (MB_SMTP_CLIENT_ERROR, MB_SMTP_CLIENT_ERROR_TLS_FAILED,
                         "TLS is not available: %s", error->message);

      g_error_free (error);
      mb_smtp_client_fail_op (task, wrapped);
      return;
    }
  if (self->options->client_certificate != NULL)
    g_tls_connection_set_certificate (G_TLS_CONNECTION (tls),
                                      self->options->client_certificate);
  g_signal_connect (tls, "accept-certificate",
                    G_CALLBACK (on_tls_accept_certificate_cb), self);
  self->tls_errors = 0;
  g_clear_pointer (&self->trust_problem, g_free);
  mb_smtp_client_start_step (self, "waiting for the TLS handshake");
  g_tls_connection_handshake_async (G_TLS_CONNECTION (tls), G_PRIORITY_DEFAULT,
                                    self->io_cancellable, handshake_cb,
                                    g_steal_pointer (&task));
}

/* Chain steps take @task (transfer full); finish_connect() and
 * mb_smtp_client_fail_op() only borrow it. */
static void
after_ehlo (GTask *task_in)
{
  g_autoptr (GTask) task = task_in;
  MbSmtpClient *self = g_task_get_source_object (task);

  if (!self->encrypted)
    {
      if (mb_smtp_capabilities_has (self->caps, MB_SMTP_EXT_STARTTLS))
        {
          mb_smtp_client_command_async (self, "STARTTLS", "STARTTLS", FALSE,
                                        starttls_reply_cb,
                                        g_steal_pointer (&task));
          return;
        }
      if (self->options->tls == MB_SMTP_CLIENT_TLS_REQUIRED)
        {
          mb_smtp_client_fail_op (
              task, g_error_new (MB_SMTP_CLIENT_ERROR,
                                 MB_SMTP_CLIENT_ERROR_NO_STARTTLS,
                                 "The server does not offer STARTTLS"));
          return;
        }
      if (self->options->auth != MB_SMTP_CLIENT_AUTH_NONE)
        {
          mb_smtp_client_fail_op (
              task, g_error_new (MB_SMTP_CLIENT_ERROR,
                                 MB_SMTP_CLIENT_ERROR_NO_STARTTLS,
                                 "The server does not offer STARTTLS, "
                                 "and credentials are never sent "
                                 "without TLS"));
          return;
        }
    }
  start_auth (g_steal_pointer (&task));
}

static void
helo_reply_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  MbSmtpClient *self = MB_SMTP_CLIENT (source);
  g_autoptr (MbSmtpReply) reply = NULL;

  reply = mb_smtp_client_reply_or_fail (task, result);
  if (reply == NULL)
    return;
  if (reply->code != 250)
    {
      mb_smtp_client_fail_op (task, mb_smtp_client_new_reply_error (
                                        MB_SMTP_CLIENT_ERROR_REPLY, reply,
                                        "The server refused HELO"));
      return;
    }
  self->caps = mb_smtp_capabilities_new ();
  after_ehlo (g_steal_pointer (&task));
}

static void
ehlo_reply_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  MbSmtpClient *self = MB_SMTP_CLIENT (source);
  g_autoptr (MbSmtpReply) reply = NULL;
  g_autofree char *helo = NULL;

  reply = mb_smtp_client_reply_or_fail (task, result);
  if (reply == NULL)
    return;
  if (reply->code == 250)
    {
      self->caps = mb_smtp_capabilities_parse (reply);
      after_ehlo (g_steal_pointer (&task));
      return;
    }
  if (reply->code != 500 && reply->code != 502)
    {
      mb_smtp_client_fail_op (task, mb_smtp_client_new_reply_error (
                                        MB_SMTP_CLIENT_ERROR_REPLY, reply,
                                        "The server refused EHLO"));
      return;
    }
  helo = g_strdup_printf ("HELO %s", self->options->helo_name);
  mb_smtp_client_command_async (self, helo, "HELO", FALSE, helo_reply_cb,
                                g_steal_pointer (&task));
}

static void
send_ehlo (GTask *task)
{
  MbSmtpClient    *self = g_task_get_source_object (task);
  g_autofree char *line = g_strdup_printf ("EHLO %s", self->options->helo_name);

  mb_smtp_client_command_async (self, line, "EHLO", FALSE, ehlo_reply_cb, task);
}

static void
greeting_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  MbSmtpClient *self = MB_SMTP_CLIENT (source);

  self->greeting = mb_smtp_client_reply_or_fail (task, result);
  if (self->greeting == NULL)
    return;
  if (self->greeting->code != 220)
    {
      mb_smtp_client_fail_op (task,
                              mb_smtp_client_new_reply_error (
                                  MB_SMTP_CLIENT_ERROR_REPLY, self->greeting,
                                  "The server refused the session"));
      return;
    }
  send_ehlo (g_steal_pointer (&task));
}

static void
connected_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  MbSmtpClient      *self = g_task_get_source_object (task);
  GSocketConnection *connection;
  GError            *error = NULL;

  connection = g_socket_client_connect_finish (G_SOCKET_CLIENT (source), result,
                                               &error);
  if (connection == NULL)
    {
      if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        {
          mb_smtp_client_fail_op (task, error);
        }
      else
        {
          GError *wrapped = g_error_new (
              MB_SMTP_CLIENT_ERROR, MB_SMTP_CLIENT_ERROR_CONNECT,
              "Could not connect to %s port %u: %s", self->options->host,
              self->options->port, error->message);

          g_error_free (error);
          mb_smtp_client_fail_op (task, wrapped);
        }
      return;
    }
  self->socket = connection;
  self->stream = G_IO_STREAM (g_object_ref (connection));
  mb_smtp_client_read_reply_async (self, "the greeting", greeting_cb,
                                   g_steal_pointer (&task));
}

/* Public API */

void
mb_smtp_client_connect_async (MbSmtpClient       *self,
                              GCancellable       *cancellable,
                              GAsyncReadyCallback callback,
                              gpointer            user_data)
{
  g_autoptr (GTask) task = NULL;
  g_autoptr (GSocketClient) socket_client = NULL;

  g_return_if_fail (MB_IS_SMTP_CLIENT (self));
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, mb_smtp_client_connect_async);
  if (!mb_smtp_client_check_idle (self, task))
    return;
  if (self->stream != NULL)
    {
      g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_EXISTS,
                               "Already connected");
      return;
    }

  /* A client may be connected again after a failure: start clean. */
  mb_smtp_reply_parser_reset (self->parser);
  g_byte_array_set_size (self->inbuf, 0);
  g_clear_pointer (&self->greeting, mb_smtp_reply_free);
  g_clear_pointer (&self->caps, mb_smtp_capabilities_free);
  g_clear_pointer (&self->tls_summary, g_free);
  self->encrypted = FALSE;

  mb_smtp_client_begin_op (self, cancellable);
  socket_client = g_socket_client_new ();
  /* Mail goes straight to the server, never through a desktop proxy. */
  g_socket_client_set_enable_proxy (socket_client, FALSE);
  mb_smtp_client_start_step (self, "connecting to %s port %u",
                             self->options->host, self->options->port);
  g_socket_client_connect_async (socket_client, self->identity,
                                 self->io_cancellable, connected_cb,
                                 g_steal_pointer (&task));
}

gboolean
mb_smtp_client_connect_finish (MbSmtpClient *self,
                               GAsyncResult *result,
                               GError      **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);

  return g_task_propagate_boolean (G_TASK (result), error);
}
