/* test-smtp-client.c - the outbound client against a scripted fake server
 *
 * The fake server is a GSocketService on 127.0.0.1, port 0, that plays a
 * list of steps (send these bytes, expect this line, expect exactly this
 * one read, start TLS, ...) on the same main context as the client.  Tests
 * iterate the context until the client's operation and the script are
 * done.  TLS material comes from certtool into a temporary directory.
 */
#include "mb-smtp-client.h"

#include "mb-test-util.h"

#include <glib/gstdio.h>
#include <string.h>

#define HELO_NAME "relay.test"
#define EHLO_LINE "EHLO " HELO_NAME

typedef enum
{
  STEP_END,          /* script done: close the connection */
  STEP_SEND,         /* write text */
  STEP_EXPECT,       /* read one line, compare it to text (without CRLF) */
  STEP_EXPECT_READ,  /* nothing buffered; the next read returns text exactly */
  STEP_EXPECT_BYTES, /* the next strlen (text) bytes equal text */
  STEP_EXPECT_EOF,   /* the client closes without sending anything */
  STEP_STARTTLS,     /* TLS handshake as the server */
  STEP_HANG,         /* stop answering, keep the connection open */
} StepKind;

typedef struct
{
  StepKind    kind;
  const char *text;
} Step;

typedef struct
{
  GSocketService    *service;
  guint16            port;
  const Step        *steps;
  guint              next;
  GSocketConnection *connection;
  GIOStream         *stream;
  GByteArray        *inbuf;
  guint8             readbuf[128 * 1024];
  gboolean           one_read;
  gboolean           finished;
  gboolean           stopped;
  char              *failure;
  GError            *handshake_error;
  GTlsCertificate   *certificate;
  gboolean           request_client_certificate;
  GTlsCertificate   *peer_certificate;
  GCancellable      *cancellable;
} FakeServer;

typedef struct
{
  char *dir;
  char *ca_pem;
  char *server_pem;
  char *server_key;
  char *other_pem;
  char *other_key;
  char *client_pem;
  char *client_key;
} Pki;

typedef struct
{
  FakeServer   *server;
  MbSmtpClient *client;
  GAsyncResult *result;
  GPtrArray    *transcript; /* "> line" / "< line" */
} Fixture;

static Pki     *pki;
static GString *captured_log;

/* The fake server */

static void server_next (FakeServer *s);

static FakeServer *
server_ref (FakeServer *s)
{
  return g_rc_box_acquire (s);
}

static void
server_clear (FakeServer *s)
{
  g_clear_object (&s->service);
  g_clear_object (&s->connection);
  g_clear_object (&s->stream);
  g_byte_array_unref (s->inbuf);
  g_free (s->failure);
  g_clear_error (&s->handshake_error);
  g_clear_object (&s->certificate);
  g_clear_object (&s->peer_certificate);
  g_clear_object (&s->cancellable);
}

static void
server_unref (FakeServer *s)
{
  g_rc_box_release_full (s, (GDestroyNotify)server_clear);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (FakeServer, server_unref)

static void
server_close (FakeServer *s)
{
  if (s->connection != NULL)
    g_socket_close (g_socket_connection_get_socket (s->connection), NULL);
  g_clear_object (&s->stream);
  g_clear_object (&s->connection);
}

G_GNUC_PRINTF (2, 3)
static void
server_fail (FakeServer *s, const char *format, ...)
{
  va_list args;

  if (s->failure == NULL)
    {
      va_start (args, format);
      s->failure = g_strdup_vprintf (format, args);
      va_end (args);
    }
  s->finished = TRUE;
  server_close (s);
}

/* Returns TRUE when the callback must not touch @s any more. */
static gboolean
server_gone (FakeServer *s)
{
  return s->stopped || s->stream == NULL;
}

static void
server_written_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (FakeServer) s = user_data;
  g_autoptr (GError) error = NULL;

  if (!g_output_stream_write_all_finish (G_OUTPUT_STREAM (source), result, NULL,
                                         &error))
    {
      if (!server_gone (s))
        server_fail (s, "step %u: write failed: %s", s->next, error->message);
      return;
    }
  if (server_gone (s))
    return;
  s->next++;
  server_next (s);
}

static char *
escape_bytes (const guint8 *data, gsize len)
{
  g_autofree char *copy = g_strndup ((const char *)data, MIN (len, 300));

  return g_strescape (copy, NULL);
}

static void
server_read_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (FakeServer) s = user_data;
  g_autoptr (GError) error = NULL;
  const Step *step;
  gssize      n;

  n = g_input_stream_read_finish (G_INPUT_STREAM (source), result, &error);
  if (server_gone (s))
    return;
  step = &s->steps[s->next];
  if (n <= 0)
    {
      /* A TLS peer may close without close_notify: still an EOF. */
      if (step->kind == STEP_EXPECT_EOF && s->inbuf->len == 0
          && (n == 0 || g_error_matches (error, G_TLS_ERROR, G_TLS_ERROR_EOF)))
        {
          s->next++;
          server_next (s);
          return;
        }
      server_fail (s, "step %u: %s while waiting for \"%s\"", s->next,
                   n == 0 ? "end of stream" : error->message,
                   step->text != NULL ? step->text : "");
      return;
    }
  g_byte_array_append (s->inbuf, s->readbuf, (guint)n);
  if (s->one_read)
    {
      g_autofree char *got = escape_bytes (s->inbuf->data, s->inbuf->len);
      g_autofree char *want = g_strescape (step->text, NULL);

      s->one_read = FALSE;
      if (s->inbuf->len != strlen (step->text)
          || memcmp (s->inbuf->data, step->text, s->inbuf->len) != 0)
        {
          server_fail (s, "step %u: one read gave \"%s\", expected \"%s\"",
                       s->next, got, want);
          return;
        }
      g_byte_array_set_size (s->inbuf, 0);
      s->next++;
    }
  server_next (s);
}

static void
server_read_more (FakeServer *s)
{
  g_input_stream_read_async (g_io_stream_get_input_stream (s->stream),
                             s->readbuf, sizeof s->readbuf, G_PRIORITY_DEFAULT,
                             s->cancellable, server_read_cb, server_ref (s));
}

static gboolean
on_server_accept_certificate_cb (GTlsConnection      *connection,
                                 GTlsCertificate     *peer,
                                 GTlsCertificateFlags errors,
                                 gpointer             user_data)
{
  return TRUE;
}

static void
server_handshake_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (FakeServer) s = user_data;
  GTlsConnection *tls = G_TLS_CONNECTION (source);
  GError         *error = NULL;

  if (!g_tls_connection_handshake_finish (tls, result, &error))
    {
      if (!server_gone (s))
        {
          s->handshake_error = error;
          s->finished = TRUE;
          server_close (s);
        }
      else
        g_error_free (error);
      return;
    }
  if (server_gone (s))
    return;
  g_set_object (&s->peer_certificate,
                g_tls_connection_get_peer_certificate (tls));
  g_set_object (&s->stream, G_IO_STREAM (tls));
  s->next++;
  server_next (s);
}

static void
server_start_tls (FakeServer *s)
{
  g_autoptr (GIOStream) tls = NULL;
  g_autoptr (GError) error = NULL;

  if (s->inbuf->len > 0)
    {
      server_fail (s, "step %u: data before the TLS handshake", s->next);
      return;
    }
  tls = g_tls_server_connection_new (G_IO_STREAM (s->connection),
                                     s->certificate, &error);
  g_assert_no_error (error);
  if (s->request_client_certificate)
    g_object_set (tls, "authentication-mode", G_TLS_AUTHENTICATION_REQUESTED,
                  NULL);
  g_signal_connect (tls, "accept-certificate",
                    G_CALLBACK (on_server_accept_certificate_cb), NULL);
  g_tls_connection_handshake_async (G_TLS_CONNECTION (tls), G_PRIORITY_DEFAULT,
                                    s->cancellable, server_handshake_cb,
                                    server_ref (s));
}

static void
server_next (FakeServer *s)
{
  const Step   *step = &s->steps[s->next];
  const guint8 *lf;

  switch (step->kind)
    {
    case STEP_END:
      s->finished = TRUE;
      server_close (s);
      return;

    case STEP_SEND:
      g_output_stream_write_all_async (
          g_io_stream_get_output_stream (s->stream), step->text,
          strlen (step->text), G_PRIORITY_DEFAULT, s->cancellable,
          server_written_cb, server_ref (s));
      return;

    case STEP_EXPECT:
      lf = s->inbuf->len > 0 ? memchr (s->inbuf->data, '\n', s->inbuf->len)
                             : NULL;
      if (lf == NULL)
        {
          server_read_more (s);
          return;
        }
      else
        {
          gsize            len = (gsize)(lf - s->inbuf->data) + 1;
          g_autofree char *want = g_strconcat (step->text, "\r\n", NULL);

          if (len != strlen (want) || memcmp (s->inbuf->data, want, len) != 0)
            {
              g_autofree char *got = escape_bytes (s->inbuf->data, len);

              server_fail (s, "step %u: got \"%s\", expected \"%s\"", s->next,
                           got, step->text);
              return;
            }
          g_byte_array_remove_range (s->inbuf, 0, (guint)len);
          s->next++;
          server_next (s);
          return;
        }

    case STEP_EXPECT_READ:
      if (s->inbuf->len > 0)
        {
          g_autofree char *got = escape_bytes (s->inbuf->data, s->inbuf->len);

          server_fail (s, "step %u: \"%s\" arrived before the expected read",
                       s->next, got);
          return;
        }
      s->one_read = TRUE;
      server_read_more (s);
      return;

    case STEP_EXPECT_BYTES:
      if (s->inbuf->len < strlen (step->text))
        {
          server_read_more (s);
          return;
        }
      if (memcmp (s->inbuf->data, step->text, strlen (step->text)) != 0)
        {
          g_autofree char *got = escape_bytes (s->inbuf->data, s->inbuf->len);

          server_fail (s, "step %u: got \"%s\"", s->next, got);
          return;
        }
      g_byte_array_remove_range (s->inbuf, 0, (guint)strlen (step->text));
      s->next++;
      server_next (s);
      return;

    case STEP_EXPECT_EOF:
      if (s->inbuf->len > 0)
        {
          g_autofree char *got = escape_bytes (s->inbuf->data, s->inbuf->len);

          server_fail (s, "step %u: expected the end, got \"%s\"", s->next,
                       got);
          return;
        }
      server_read_more (s);
      return;

    case STEP_STARTTLS:
      server_start_tls (s);
      return;

    case STEP_HANG:
    default:
      s->finished = TRUE;
      return;
    }
}

static gboolean
on_incoming_cb (GSocketService    *service,
                GSocketConnection *connection,
                GObject           *source_object,
                gpointer           user_data)
{
  FakeServer *s = user_data;

  if (s->connection != NULL || s->finished)
    {
      server_fail (s, "a second connection");
      return FALSE;
    }
  s->connection = g_object_ref (connection);
  s->stream = G_IO_STREAM (g_object_ref (connection));
  server_next (s);
  return TRUE;
}

static FakeServer *
fake_server_new (const Step *steps)
{
  FakeServer *s = g_rc_box_new0 (FakeServer);
  g_autoptr (GSocketAddress) address = NULL;
  g_autoptr (GSocketAddress) effective = NULL;
  g_autoptr (GInetAddress) loopback = NULL;
  g_autoptr (GError) error = NULL;

  s->steps = steps;
  s->inbuf = g_byte_array_new ();
  s->cancellable = g_cancellable_new ();
  s->service = g_socket_service_new ();
  loopback = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  address = g_inet_socket_address_new (loopback, 0);
  g_socket_listener_add_address (G_SOCKET_LISTENER (s->service), address,
                                 G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_TCP,
                                 NULL, &effective, &error);
  g_assert_no_error (error);
  s->port = g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (effective));
  g_signal_connect (s->service, "incoming", G_CALLBACK (on_incoming_cb), s);
  g_socket_service_start (s->service);
  return s;
}

static void
fake_server_stop (FakeServer *s)
{
  s->stopped = TRUE;
  g_cancellable_cancel (s->cancellable);
  g_socket_service_stop (s->service);
  g_socket_listener_close (G_SOCKET_LISTENER (s->service));
  server_close (s);
}

/* Test PKI: a CA, a server certificate it signed for mail.test and
 * 127.0.0.1, one for another name only, and a client certificate. */

static gboolean
run_certtool (const char *dir, const char *const *args)
{
  g_autoptr (GPtrArray) argv = g_ptr_array_new ();
  g_autoptr (GError) error = NULL;
  int status = 0;

  g_ptr_array_add (argv, (gpointer) "certtool");
  for (guint i = 0; args[i] != NULL; i++)
    g_ptr_array_add (argv, (gpointer)args[i]);
  g_ptr_array_add (argv, (gpointer) "--no-text");
  g_ptr_array_add (argv, NULL);
  if (!g_spawn_sync (dir, (char **)argv->pdata, NULL,
                     G_SPAWN_SEARCH_PATH | G_SPAWN_STDOUT_TO_DEV_NULL
                         | G_SPAWN_STDERR_TO_DEV_NULL,
                     NULL, NULL, NULL, NULL, &status, &error)
      || !g_spawn_check_wait_status (status, &error))
    {
      g_test_message ("certtool failed: %s", error->message);
      return FALSE;
    }
  return TRUE;
}

static gboolean
make_cert (const char *dir, const char *name, const char *template_text)
{
  g_autofree char *tmpl = g_strdup_printf ("%s/%s.tmpl", dir, name);
  g_autofree char *key = g_strdup_printf ("%s.key", name);
  g_autofree char *pem = g_strdup_printf ("%s.pem", name);

  g_assert_true (g_file_set_contents (tmpl, template_text, -1, NULL));
  if (!run_certtool (dir,
                     (const char *[]){ "--generate-privkey", "--key-type=ecdsa",
                                       "--outfile", key, NULL }))
    return FALSE;
  if (strcmp (name, "ca") == 0)
    return run_certtool (
        dir, (const char *[]){ "--generate-self-signed", "--load-privkey", key,
                               "--template", tmpl, "--outfile", pem, NULL });
  return run_certtool (
      dir,
      (const char *[]){ "--generate-certificate", "--load-privkey", key,
                        "--load-ca-certificate", "ca.pem", "--load-ca-privkey",
                        "ca.key", "--template", tmpl, "--outfile", pem, NULL });
}

static void
pki_free (Pki *p)
{
  mb_test_remove_tree (p->dir);
  g_free (p->dir);
  g_free (p->ca_pem);
  g_free (p->server_pem);
  g_free (p->server_key);
  g_free (p->other_pem);
  g_free (p->other_key);
  g_free (p->client_pem);
  g_free (p->client_key);
  g_free (p);
}

static Pki *
pki_new (void)
{
  g_autofree char *certtool = g_find_program_in_path ("certtool");
  Pki             *p;

  if (certtool == NULL)
    return NULL;
  p = g_new0 (Pki, 1);
  p->dir = mb_test_make_tmpdir ("smtp-client");
  if (!make_cert (p->dir, "ca",
                  "cn = \"Mailbridge Test CA\"\nca\ncert_signing_key\n"
                  "expiration_days = 2\n")
      || !make_cert (p->dir, "server",
                     "cn = \"mail.test\"\ndns_name = \"mail.test\"\n"
                     "ip_address = \"127.0.0.1\"\ntls_www_server\n"
                     "signing_key\nexpiration_days = 2\n")
      || !make_cert (p->dir, "other",
                     "cn = \"other.test\"\ndns_name = \"other.test\"\n"
                     "tls_www_server\nsigning_key\nexpiration_days = 2\n")
      || !make_cert (p->dir, "client",
                     "cn = \"relay.contoso.test\"\n"
                     "dns_name = \"relay.contoso.test\"\ntls_www_client\n"
                     "signing_key\nexpiration_days = 2\n"))
    {
      pki_free (p);
      return NULL;
    }
  p->ca_pem = g_build_filename (p->dir, "ca.pem", NULL);
  p->server_pem = g_build_filename (p->dir, "server.pem", NULL);
  p->server_key = g_build_filename (p->dir, "server.key", NULL);
  p->other_pem = g_build_filename (p->dir, "other.pem", NULL);
  p->other_key = g_build_filename (p->dir, "other.key", NULL);
  p->client_pem = g_build_filename (p->dir, "client.pem", NULL);
  p->client_key = g_build_filename (p->dir, "client.key", NULL);
  return p;
}

static GTlsCertificate *
load_cert (const char *pem, const char *key)
{
  g_autoptr (GError) error = NULL;
  GTlsCertificate *cert = g_tls_certificate_new_from_files (pem, key, &error);

  g_assert_no_error (error);
  return cert;
}

static gboolean
need_tls (void)
{
  if (pki != NULL)
    return TRUE;
  g_test_skip ("certtool or the GnuTLS GIO module is not available");
  return FALSE;
}

/* Fixture helpers */

static void
on_transcript_cb (MbSmtpClient *client,
                  gboolean      sent,
                  const char   *line,
                  gpointer      user_data)
{
  Fixture *f = user_data;

  g_ptr_array_add (f->transcript,
                   g_strdup_printf ("%s %s", sent ? ">" : "<", line));
}

static MbSmtpClientOptions *
make_options (Fixture *f, MbSmtpClientTls tls)
{
  MbSmtpClientOptions *options = mb_smtp_client_options_new ();

  options->host = g_strdup ("127.0.0.1");
  options->port = f->server->port;
  options->helo_name = g_strdup (HELO_NAME);
  options->tls = tls;
  options->timeout_seconds = 30;
  return options;
}

static void
start_client (Fixture *f, const MbSmtpClientOptions *options)
{
  f->client = mb_smtp_client_new (options);
  g_signal_connect (f->client, "transcript", G_CALLBACK (on_transcript_cb), f);
}

static gboolean
do_connect (Fixture *f, GError **error)
{
  g_autoptr (GAsyncResult) result = NULL;

  mb_smtp_client_connect_async (f->client, NULL, mb_test_store_result_cb,
                                &f->result);
  mb_test_wait_for_result (&f->result);
  result = g_steal_pointer (&f->result);
  return mb_smtp_client_connect_finish (f->client, result, error);
}

static MbSmtpSendResult *
do_send (Fixture                 *f,
         const MbSmtpSendRequest *request,
         const char              *message,
         gsize                    message_len,
         GError                 **error)
{
  g_autoptr (GAsyncResult) result = NULL;
  g_autoptr (GInputStream) stream = g_memory_input_stream_new_from_data (
      g_memdup2 (message, message_len), (gssize)message_len, g_free);

  mb_smtp_client_send_async (f->client, request, stream, message_len, NULL,
                             mb_test_store_result_cb, &f->result);
  mb_test_wait_for_result (&f->result);
  result = g_steal_pointer (&f->result);
  return mb_smtp_client_send_finish (f->client, result, error);
}

static void
do_quit (Fixture *f)
{
  g_autoptr (GAsyncResult) result = NULL;
  g_autoptr (GError) error = NULL;

  mb_smtp_client_quit_async (f->client, NULL, mb_test_store_result_cb,
                             &f->result);
  mb_test_wait_for_result (&f->result);
  result = g_steal_pointer (&f->result);
  g_assert_true (mb_smtp_client_quit_finish (f->client, result, &error));
  g_assert_no_error (error);
  g_assert_false (mb_smtp_client_is_ready (f->client));
}

static void
assert_script_done (Fixture *f)
{
  MB_TEST_WAIT_UNTIL (f->server->finished);
  g_assert_cmpstr (f->server->failure, ==, NULL);
  g_assert_no_error (f->server->handshake_error);
  g_assert_cmpint (f->server->steps[f->server->next].kind, !=, STEP_HANG);
}

static void
fixture_setup (Fixture *f, gconstpointer data)
{
  f->server = fake_server_new (data);
  f->transcript = g_ptr_array_new_with_free_func (g_free);
}

static void
fixture_teardown (Fixture *f, gconstpointer data)
{
  g_clear_object (&f->client);
  fake_server_stop (f->server);
  /* Let cancelled server operations finish before the next test. */
  while (g_main_context_iteration (NULL, FALSE))
    ;
  g_clear_pointer (&f->server, server_unref);
  g_clear_object (&f->result);
  g_ptr_array_unref (f->transcript);
}

static MbSmtpSendRequest *
make_request (const char *sender, ...)
{
  MbSmtpSendRequest *request = mb_smtp_send_request_new (sender);
  const char        *rcpt;
  va_list            args;

  va_start (args, sender);
  while ((rcpt = va_arg (args, const char *)) != NULL)
    mb_smtp_send_request_add_recipient (request, rcpt, 0, NULL);
  va_end (args);
  return request;
}

static void
assert_codes (const MbSmtpSendResult *result,
              guint                   mail,
              const guint            *rcpts,
              guint                   n_rcpts,
              guint                   data)
{
  g_assert_nonnull (result->mail_reply);
  g_assert_cmpuint (result->mail_reply->code, ==, mail);
  g_assert_cmpuint (result->rcpt_replies->len, ==, n_rcpts);
  for (guint i = 0; i < n_rcpts; i++)
    g_assert_cmpuint (((MbSmtpReply *)result->rcpt_replies->pdata[i])->code, ==,
                      rcpts[i]);
  if (data == 0)
    g_assert_null (result->data_reply);
  else
    g_assert_cmpuint (result->data_reply->code, ==, data);
}

#define MESSAGE "Subject: hi\r\n\r\nHello\r\n"
#define MESSAGE_ON_WIRE MESSAGE ".\r\n"

/* Scripts */

static const Step plain_session[] = {
  { STEP_SEND, "220 fake.test ESMTP ready\r\n" },
  { STEP_EXPECT, EHLO_LINE },
  { STEP_SEND, "250-fake.test Hello\r\n250-SIZE 100000\r\n250 8BITMIME\r\n" },
  { STEP_EXPECT, "MAIL FROM:<dev@office.test> SIZE=22" },
  { STEP_SEND, "250 2.1.0 Sender OK\r\n" },
  { STEP_EXPECT, "RCPT TO:<boss@contoso.test>" },
  { STEP_SEND, "250 2.1.5 Recipient OK\r\n" },
  { STEP_EXPECT, "DATA" },
  { STEP_SEND, "354 Start mail input; end with <CRLF>.<CRLF>\r\n" },
  { STEP_EXPECT_BYTES, MESSAGE_ON_WIRE },
  { STEP_SEND, "250 2.0.0 OK <id@fake> [Hostname=FAKE]\r\n" },
  { STEP_EXPECT, "QUIT" },
  { STEP_SEND, "221 2.0.0 Service closing transmission channel\r\n" },
  { STEP_EXPECT_EOF },
  { STEP_END },
};

/* Opportunistic TLS with no STARTTLS on offer: the session runs in plain
 * text, SIZE= is declared, the message arrives intact, QUIT closes. */
static void
test_plain_session (Fixture *f, gconstpointer data)
{
  g_autoptr (MbSmtpClientOptions) options
      = make_options (f, MB_SMTP_CLIENT_TLS_OPPORTUNISTIC);
  g_autoptr (MbSmtpSendRequest) request
      = make_request ("dev@office.test", "boss@contoso.test", NULL);
  g_autoptr (MbSmtpSendResult) result = NULL;
  g_autoptr (GError) error = NULL;
  const guint rcpt_codes[] = { 250 };

  start_client (f, options);
  g_assert_true (do_connect (f, &error));
  g_assert_no_error (error);
  g_assert_true (mb_smtp_client_is_ready (f->client));
  g_assert_null (mb_smtp_client_get_tls_summary (f->client));
  g_assert_cmpuint (mb_smtp_client_get_greeting (f->client)->code, ==, 220);
  g_assert_cmpuint (mb_smtp_client_get_capabilities (f->client)->size, ==,
                    100000);

  result = do_send (f, request, MESSAGE, strlen (MESSAGE), &error);
  g_assert_no_error (error);
  assert_codes (result, 250, rcpt_codes, 1, 250);
  g_assert_cmpstr (result->data_reply->enhanced, ==, "2.0.0");
  g_assert_true (mb_smtp_client_is_ready (f->client));
  do_quit (f);
  assert_script_done (f);
  g_assert_cmpstr (f->transcript->pdata[0], ==, "< 220 fake.test ESMTP ready");
  g_assert_cmpstr (f->transcript->pdata[1], ==, "> " EHLO_LINE);
}

static const Step no_starttls[] = {
  { STEP_SEND, "220 fake.test ESMTP\r\n" },
  { STEP_EXPECT, EHLO_LINE },
  { STEP_SEND, "250-fake.test\r\n250 PIPELINING\r\n" },
  { STEP_EXPECT_EOF },
  { STEP_END },
};

/* TLS required and STARTTLS not offered: NO_STARTTLS, and the client
 * closes without sending another byte. */
static void
test_required_without_starttls (Fixture *f, gconstpointer data)
{
  g_autoptr (MbSmtpClientOptions) options
      = make_options (f, MB_SMTP_CLIENT_TLS_REQUIRED);
  g_autoptr (GError) error = NULL;

  start_client (f, options);
  g_assert_false (do_connect (f, &error));
  g_assert_error (error, MB_SMTP_CLIENT_ERROR,
                  MB_SMTP_CLIENT_ERROR_NO_STARTTLS);
  g_assert_cmpstr (error->message, ==, "The server does not offer STARTTLS");
  g_assert_false (mb_smtp_client_is_ready (f->client));
  assert_script_done (f);
}

/* Credentials to send and no STARTTLS: refused even when TLS is only
 * opportunistic; nothing after EHLO reaches the server. */
static void
test_auth_without_starttls (Fixture *f, gconstpointer data)
{
  g_autoptr (MbSmtpClientOptions) options
      = make_options (f, MB_SMTP_CLIENT_TLS_OPPORTUNISTIC);
  g_autoptr (GError) error = NULL;

  options->auth = MB_SMTP_CLIENT_AUTH_LOGIN;
  options->username = g_strdup ("user@contoso.test");
  options->secret = g_strdup ("hunter2");
  start_client (f, options);
  g_assert_false (do_connect (f, &error));
  g_assert_error (error, MB_SMTP_CLIENT_ERROR,
                  MB_SMTP_CLIENT_ERROR_NO_STARTTLS);
  assert_script_done (f);
}

static const Step pipelined[] = {
  { STEP_SEND, "220 fake.test ESMTP\r\n" },
  { STEP_EXPECT, EHLO_LINE },
  { STEP_SEND, "250-fake.test\r\n250 PIPELINING\r\n" },
  { STEP_EXPECT_READ, "MAIL FROM:<dev@office.test>\r\n"
                      "RCPT TO:<a@contoso.test>\r\n"
                      "RCPT TO:<b@contoso.test>\r\n"
                      "RCPT TO:<c@contoso.test>\r\n"
                      "DATA\r\n" },
  /* All replies in one write: the parser must split them. */
  { STEP_SEND, "250 2.1.0 Sender OK\r\n"
               "250 2.1.5 Recipient OK\r\n"
               "550 5.1.1 User unknown\r\n"
               "451 4.7.500 Server busy. Please try again later\r\n"
               "354 Start mail input\r\n" },
  { STEP_EXPECT_BYTES, MESSAGE_ON_WIRE },
  { STEP_SEND, "250 2.6.0 Queued mail for delivery\r\n" },
  /* A second message on the same connection, nobody accepted. */
  { STEP_EXPECT_READ, "MAIL FROM:<>\r\n"
                      "RCPT TO:<x@contoso.test>\r\n"
                      "DATA\r\n" },
  { STEP_SEND, "250 2.1.0 Sender OK\r\n"
               "550 5.4.1 Recipient address rejected: Access denied\r\n"
               "554 5.5.1 No valid recipients\r\n" },
  { STEP_EXPECT, "RSET" },
  { STEP_SEND, "250 2.0.0 Resetting\r\n" },
  { STEP_EXPECT, "QUIT" },
  { STEP_SEND, "221 bye\r\n" },
  { STEP_END },
};

/* With PIPELINING, MAIL, every RCPT and DATA arrive in one read; mixed
 * per-recipient replies (250/550/451) come back in order; a second message
 * whose recipients are all refused gets no data and an RSET. */
static void
test_pipelining (Fixture *f, gconstpointer data)
{
  g_autoptr (MbSmtpClientOptions) options
      = make_options (f, MB_SMTP_CLIENT_TLS_OPPORTUNISTIC);
  g_autoptr (MbSmtpSendRequest) first
      = make_request ("dev@office.test", "a@contoso.test", "b@contoso.test",
                      "c@contoso.test", NULL);
  g_autoptr (MbSmtpSendRequest) second
      = make_request ("", "x@contoso.test", NULL);
  g_autoptr (MbSmtpSendResult) result = NULL;
  g_autoptr (MbSmtpSendResult) result2 = NULL;
  g_autoptr (GError) error = NULL;
  const guint        codes[] = { 250, 550, 451 };
  const guint        codes2[] = { 550 };
  const MbSmtpReply *r;

  start_client (f, options);
  g_assert_true (do_connect (f, &error));
  result = do_send (f, first, MESSAGE, strlen (MESSAGE), &error);
  g_assert_no_error (error);
  assert_codes (result, 250, codes, 3, 250);
  r = result->rcpt_replies->pdata[2];
  g_assert_true (mb_smtp_reply_is_transient (r));
  g_assert_cmpstr (r->enhanced, ==, "4.7.500");
  r = result->rcpt_replies->pdata[1];
  g_assert_true (mb_smtp_reply_is_permanent (r));
  g_assert_cmpstr (r->text, ==, "User unknown");

  result2 = do_send (f, second, MESSAGE, strlen (MESSAGE), &error);
  g_assert_no_error (error);
  assert_codes (result2, 250, codes2, 1, 0);
  g_assert_true (mb_smtp_client_is_ready (f->client));
  do_quit (f);
  assert_script_done (f);
}

static const Step one_by_one[] = {
  { STEP_SEND, "220 fake.test ESMTP\r\n" },
  { STEP_EXPECT, EHLO_LINE },
  { STEP_SEND, "250-fake.test\r\n250 DSN\r\n" },
  { STEP_EXPECT_READ, "MAIL FROM:<dev@office.test>\r\n" },
  { STEP_SEND, "250 OK\r\n" },
  { STEP_EXPECT_READ, "RCPT TO:<a@contoso.test>\r\n" },
  { STEP_SEND, "550 5.1.1 no\r\n" },
  { STEP_EXPECT_READ, "RCPT TO:<b@contoso.test>\r\n" },
  { STEP_SEND, "250 OK\r\n" },
  { STEP_EXPECT_READ, "DATA\r\n" },
  { STEP_SEND, "354 go\r\n" },
  { STEP_EXPECT_BYTES, MESSAGE_ON_WIRE },
  { STEP_SEND, "250 OK\r\n" },
  /* All refused: no DATA at all, RSET instead. */
  { STEP_EXPECT_READ, "MAIL FROM:<dev@office.test>\r\n" },
  { STEP_SEND, "250 OK\r\n" },
  { STEP_EXPECT_READ, "RCPT TO:<a@contoso.test>\r\n" },
  { STEP_SEND, "550 5.1.1 no\r\n" },
  { STEP_EXPECT_READ, "RSET\r\n" },
  { STEP_SEND, "250 OK\r\n" },
  /* MAIL refused: nothing else for that message. */
  { STEP_EXPECT_READ, "MAIL FROM:<dev@office.test>\r\n" },
  { STEP_SEND, "550 5.7.60 SMTP; Client does not have permissions to send "
               "as this sender\r\n" },
  { STEP_EXPECT_READ, "QUIT\r\n" },
  { STEP_SEND, "221 bye\r\n" },
  { STEP_END },
};

/* Without PIPELINING each command is alone on the wire and waits for its
 * reply; DATA only follows an accepted recipient; a refused MAIL ends the
 * message there. */
static void
test_no_pipelining (Fixture *f, gconstpointer data)
{
  g_autoptr (MbSmtpClientOptions) options
      = make_options (f, MB_SMTP_CLIENT_TLS_OPPORTUNISTIC);
  g_autoptr (MbSmtpSendRequest) two = make_request (
      "dev@office.test", "a@contoso.test", "b@contoso.test", NULL);
  g_autoptr (MbSmtpSendRequest) one
      = make_request ("dev@office.test", "a@contoso.test", NULL);
  g_autoptr (MbSmtpSendResult) result = NULL;
  g_autoptr (MbSmtpSendResult) result2 = NULL;
  g_autoptr (MbSmtpSendResult) result3 = NULL;
  g_autoptr (GError) error = NULL;
  const guint codes[] = { 550, 250 };
  const guint codes2[] = { 550 };

  start_client (f, options);
  g_assert_true (do_connect (f, &error));
  result = do_send (f, two, MESSAGE, strlen (MESSAGE), &error);
  g_assert_no_error (error);
  assert_codes (result, 250, codes, 2, 250);
  result2 = do_send (f, one, MESSAGE, strlen (MESSAGE), &error);
  g_assert_no_error (error);
  assert_codes (result2, 250, codes2, 1, 0);
  result3 = do_send (f, one, MESSAGE, strlen (MESSAGE), &error);
  g_assert_no_error (error);
  assert_codes (result3, 550, NULL, 0, 0);
  g_assert_cmpstr (result3->mail_reply->enhanced, ==, "5.7.60");
  do_quit (f);
  assert_script_done (f);
}

#define STUFF_IN ".hidden\r\nline\r\n..\r\n.\r\nbare\nend"
#define STUFF_OUT "..hidden\r\nline\r\n...\r\n..\r\nbare\r\nend\r\n.\r\n"

static char *big_in;
static char *big_out;

static const Step dot_stuffing[] = {
  { STEP_SEND, "220 fake.test ESMTP\r\n" },
  { STEP_EXPECT, EHLO_LINE },
  { STEP_SEND, "250 fake.test\r\n" },
  { STEP_EXPECT, "MAIL FROM:<dev@office.test>" },
  { STEP_SEND, "250 OK\r\n" },
  { STEP_EXPECT, "RCPT TO:<a@contoso.test>" },
  { STEP_SEND, "250 OK\r\n" },
  { STEP_EXPECT, "DATA" },
  { STEP_SEND, "354 go\r\n" },
  { STEP_EXPECT_BYTES, STUFF_OUT },
  { STEP_SEND, "250 OK\r\n" },
  { STEP_EXPECT, "MAIL FROM:<dev@office.test>" },
  { STEP_SEND, "250 OK\r\n" },
  { STEP_EXPECT, "RCPT TO:<a@contoso.test>" },
  { STEP_SEND, "250 OK\r\n" },
  { STEP_EXPECT, "DATA" },
  { STEP_SEND, "354 go\r\n" },
  { STEP_EXPECT_BYTES, NULL }, /* big_out, filled in by the test */
  { STEP_SEND, "250 OK\r\n" },
  { STEP_EXPECT, "MAIL FROM:<dev@office.test>" },
  { STEP_SEND, "250 OK\r\n" },
  { STEP_EXPECT, "RCPT TO:<a@contoso.test>" },
  { STEP_SEND, "250 OK\r\n" },
  { STEP_EXPECT, "DATA" },
  { STEP_SEND, "354 go\r\n" },
  { STEP_EXPECT_BYTES, ".\r\n" }, /* the empty message */
  { STEP_SEND, "250 OK\r\n" },
  { STEP_END },
};

/* Lines starting with "." are stuffed, a bare LF becomes CRLF, a missing
 * final CRLF is added; the same holds across the 64 KiB chunk boundary
 * (a "." line and a CR/LF pair split over two chunks); an empty message
 * is just the terminator. */
static void
test_dot_stuffing (Fixture *f, gconstpointer data)
{
  g_autoptr (MbSmtpClientOptions) options
      = make_options (f, MB_SMTP_CLIENT_TLS_OPPORTUNISTIC);
  g_autoptr (MbSmtpSendRequest) request
      = make_request ("dev@office.test", "a@contoso.test", NULL);
  g_autoptr (MbSmtpSendResult) result = NULL;
  g_autoptr (MbSmtpSendResult) result2 = NULL;
  g_autoptr (MbSmtpSendResult) result3 = NULL;
  g_autoptr (GError) error = NULL;

  start_client (f, options);
  g_assert_true (do_connect (f, &error));
  result = do_send (f, request, STUFF_IN, strlen (STUFF_IN), &error);
  g_assert_no_error (error);
  g_assert_cmpuint (result->data_reply->code, ==, 250);

  result2 = do_send (f, request, big_in, strlen (big_in), &error);
  g_assert_no_error (error);
  g_assert_cmpuint (result2->data_reply->code, ==, 250);

  result3 = do_send (f, request, "", 0, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (result3->data_reply->code, ==, 250);
  assert_script_done (f);
}

static const Step size_limit[] = {
  { STEP_SEND, "220 fake.test ESMTP\r\n" },
  { STEP_EXPECT, EHLO_LINE },
  { STEP_SEND, "250-fake.test\r\n250 SIZE 10\r\n" },
  { STEP_EXPECT, "QUIT" },
  { STEP_SEND, "221 bye\r\n" },
  { STEP_END },
};

/* A message over the server's SIZE is refused before MAIL; the connection
 * stays usable. */
static void
test_size_refusal (Fixture *f, gconstpointer data)
{
  g_autoptr (MbSmtpClientOptions) options
      = make_options (f, MB_SMTP_CLIENT_TLS_OPPORTUNISTIC);
  g_autoptr (MbSmtpSendRequest) request
      = make_request ("dev@office.test", "a@contoso.test", NULL);
  g_autoptr (MbSmtpSendResult) result = NULL;
  g_autoptr (GError) error = NULL;

  start_client (f, options);
  g_assert_true (do_connect (f, &error));
  result = do_send (f, request, MESSAGE, strlen (MESSAGE), &error);
  g_assert_error (error, MB_SMTP_CLIENT_ERROR, MB_SMTP_CLIENT_ERROR_TOO_BIG);
  g_assert_null (result);
  g_assert_true (mb_smtp_client_is_ready (f->client));
  do_quit (f);
  assert_script_done (f);
}

static const Step params_offered[] = {
  { STEP_SEND, "220 fake.test ESMTP\r\n" },
  { STEP_EXPECT, EHLO_LINE },
  { STEP_SEND, "250-fake.test\r\n250-DSN\r\n250-8BITMIME\r\n250-SIZE\r\n"
               "250 SMTPUTF8\r\n" },
  { STEP_EXPECT, "MAIL FROM:<d\xc3\xa9v@office.test> SIZE=22 BODY=8BITMIME "
                 "SMTPUTF8 RET=HDRS ENVID=QQ+2B1" },
  { STEP_SEND, "250 OK\r\n" },
  { STEP_EXPECT, "RCPT TO:<a@contoso.test> NOTIFY=SUCCESS,FAILURE,DELAY "
                 "ORCPT=rfc822;a+2Bx@contoso.test" },
  { STEP_SEND, "250 OK\r\n" },
  { STEP_EXPECT, "RCPT TO:<b@contoso.test> NOTIFY=NEVER" },
  { STEP_SEND, "250 OK\r\n" },
  { STEP_EXPECT, "DATA" },
  { STEP_SEND, "354 go\r\n" },
  { STEP_EXPECT_BYTES, MESSAGE_ON_WIRE },
  { STEP_SEND, "250 OK\r\n" },
  { STEP_END },
};

/* SMTPUTF8, BODY=8BITMIME and the DSN parameters (xtext-encoded) are sent
 * when the server offers them; "SIZE" without a limit still gets SIZE=. */
static void
test_mail_params (Fixture *f, gconstpointer data)
{
  g_autoptr (MbSmtpClientOptions) options
      = make_options (f, MB_SMTP_CLIENT_TLS_OPPORTUNISTIC);
  g_autoptr (MbSmtpSendRequest) request
      = mb_smtp_send_request_new ("d\xc3\xa9v@office.test");
  g_autoptr (MbSmtpSendResult) result = NULL;
  g_autoptr (GError) error = NULL;

  request->body = MB_SMTP_BODY_8BITMIME;
  request->ret = MB_DSN_RET_HDRS;
  request->envid = g_strdup ("QQ+1");
  mb_smtp_send_request_add_recipient (
      request, "a@contoso.test",
      MB_DSN_NOTIFY_SUCCESS | MB_DSN_NOTIFY_FAILURE | MB_DSN_NOTIFY_DELAY,
      "rfc822;a+x@contoso.test");
  mb_smtp_send_request_add_recipient (request, "b@contoso.test",
                                      MB_DSN_NOTIFY_NEVER, NULL);
  start_client (f, options);
  g_assert_true (do_connect (f, &error));
  result = do_send (f, request, MESSAGE, strlen (MESSAGE), &error);
  g_assert_no_error (error);
  g_assert_cmpuint (result->data_reply->code, ==, 250);
  assert_script_done (f);
}

static const Step params_missing[] = {
  { STEP_SEND, "220 fake.test ESMTP\r\n" },
  { STEP_EXPECT, "EHLO " HELO_NAME },
  { STEP_SEND, "502 5.5.1 EHLO not implemented\r\n" },
  { STEP_EXPECT, "HELO " HELO_NAME },
  { STEP_SEND, "250 fake.test\r\n" },
  { STEP_EXPECT, "MAIL FROM:<dev@office.test>" },
  { STEP_SEND, "250 OK\r\n" },
  { STEP_EXPECT, "RCPT TO:<a@contoso.test>" },
  { STEP_SEND, "250 OK\r\n" },
  { STEP_EXPECT, "DATA" },
  { STEP_SEND, "354 go\r\n" },
  { STEP_EXPECT_BYTES, MESSAGE_ON_WIRE },
  { STEP_SEND, "250 OK\r\n" },
  { STEP_EXPECT, "QUIT" },
  { STEP_SEND, "221 bye\r\n" },
  { STEP_END },
};

/* A HELO-only server: EHLO refused with 502 falls back to HELO; no
 * parameters are sent; a message that needs SMTPUTF8 is refused before
 * MAIL with NEEDS_SMTPUTF8 and the next message still goes through. */
static void
test_helo_fallback (Fixture *f, gconstpointer data)
{
  g_autoptr (MbSmtpClientOptions) options
      = make_options (f, MB_SMTP_CLIENT_TLS_OPPORTUNISTIC);
  g_autoptr (MbSmtpSendRequest) utf8
      = make_request ("dev@office.test", "j\xc3\xbcrgen@contoso.test", NULL);
  g_autoptr (MbSmtpSendRequest) request
      = make_request ("dev@office.test", "a@contoso.test", NULL);
  g_autoptr (MbSmtpSendResult) refused = NULL;
  g_autoptr (MbSmtpSendResult) result = NULL;
  g_autoptr (GError) error = NULL;

  request->body = MB_SMTP_BODY_8BITMIME;
  request->ret = MB_DSN_RET_FULL;
  start_client (f, options);
  g_assert_true (do_connect (f, &error));
  g_assert_cmpuint (mb_smtp_client_get_capabilities (f->client)->extensions, ==,
                    0);
  refused = do_send (f, utf8, MESSAGE, strlen (MESSAGE), &error);
  g_assert_error (error, MB_SMTP_CLIENT_ERROR,
                  MB_SMTP_CLIENT_ERROR_NEEDS_SMTPUTF8);
  g_assert_null (refused);
  g_clear_error (&error);
  result = do_send (f, request, MESSAGE, strlen (MESSAGE), &error);
  g_assert_no_error (error);
  g_assert_cmpuint (result->data_reply->code, ==, 250);
  do_quit (f);
  assert_script_done (f);
}

static const Step hang_at_rcpt[] = {
  { STEP_SEND, "220 fake.test ESMTP\r\n" },
  { STEP_EXPECT, EHLO_LINE },
  { STEP_SEND, "250 fake.test\r\n" },
  { STEP_EXPECT, "MAIL FROM:<dev@office.test>" },
  { STEP_SEND, "250 OK\r\n" },
  { STEP_EXPECT, "RCPT TO:<a@contoso.test>" },
  { STEP_HANG },
};

/* A server that stops answering: the send fails with G_IO_ERROR_TIMED_OUT
 * naming the step, and the client is closed. */
static void
test_timeout (Fixture *f, gconstpointer data)
{
  g_autoptr (MbSmtpClientOptions) options
      = make_options (f, MB_SMTP_CLIENT_TLS_OPPORTUNISTIC);
  g_autoptr (MbSmtpSendRequest) request
      = make_request ("dev@office.test", "a@contoso.test", NULL);
  g_autoptr (MbSmtpSendResult) result = NULL;
  g_autoptr (GError) error = NULL;

  options->timeout_seconds = 1;
  start_client (f, options);
  g_assert_true (do_connect (f, &error));
  result = do_send (f, request, MESSAGE, strlen (MESSAGE), &error);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT);
  g_assert_cmpstr (error->message, ==,
                   "Timed out waiting for the reply to RCPT");
  g_assert_false (mb_smtp_client_is_ready (f->client));
  MB_TEST_WAIT_UNTIL (f->server->finished);
  g_assert_cmpstr (f->server->failure, ==, NULL);
}

static const Step greeting_421[] = {
  { STEP_SEND, "421 4.3.2 The maximum number of concurrent connections has "
               "exceeded a limit, closing transmission channel\r\n" },
  { STEP_EXPECT_EOF },
  { STEP_END },
};

/* A 421 greeting fails the connect with REPLY, carrying the reply (also
 * through g_error_copy), and the client sends nothing. */
static void
test_greeting_421 (Fixture *f, gconstpointer data)
{
  g_autoptr (MbSmtpClientOptions) options
      = make_options (f, MB_SMTP_CLIENT_TLS_REQUIRED);
  g_autoptr (GError) error = NULL;
  g_autoptr (GError) copy = NULL;
  const MbSmtpReply *reply;

  start_client (f, options);
  g_assert_false (do_connect (f, &error));
  g_assert_error (error, MB_SMTP_CLIENT_ERROR, MB_SMTP_CLIENT_ERROR_REPLY);
  copy = g_error_copy (error);
  g_clear_error (&error);
  reply = mb_smtp_client_error_get_reply (copy);
  g_assert_nonnull (reply);
  g_assert_cmpuint (reply->code, ==, 421);
  g_assert_cmpstr (reply->enhanced, ==, "4.3.2");
  g_assert_true (g_str_has_suffix (copy->message, "closing transmission "
                                                  "channel"));
  assert_script_done (f);
}

static const Step garbage[] = {
  { STEP_SEND, "220 fake.test ESMTP\r\n" },
  { STEP_EXPECT, EHLO_LINE },
  { STEP_SEND, "250-fake.test\r\nHTTP/1.1 400 Bad Request\r\n" },
  { STEP_EXPECT_EOF },
  { STEP_END },
};

/* Something that is not SMTP ends the connect with PROTOCOL. */
static void
test_garbage (Fixture *f, gconstpointer data)
{
  g_autoptr (MbSmtpClientOptions) options
      = make_options (f, MB_SMTP_CLIENT_TLS_OPPORTUNISTIC);
  g_autoptr (GError) error = NULL;

  start_client (f, options);
  g_assert_false (do_connect (f, &error));
  g_assert_error (error, MB_SMTP_CLIENT_ERROR, MB_SMTP_CLIENT_ERROR_PROTOCOL);
  g_assert_null (mb_smtp_client_error_get_reply (error));
  assert_script_done (f);
}

static const Step starttls_refused[] = {
  { STEP_SEND, "220 fake.test ESMTP\r\n" },
  { STEP_EXPECT, EHLO_LINE },
  { STEP_SEND, "250-fake.test\r\n250 STARTTLS\r\n" },
  { STEP_EXPECT, "STARTTLS" },
  { STEP_SEND, "454 4.7.0 TLS not available due to temporary reason\r\n" },
  { STEP_EXPECT_EOF },
  { STEP_END },
};

/* TLS required, STARTTLS offered and then refused: NO_STARTTLS carrying
 * the reply, and nothing more is sent. */
static void
test_starttls_refused (Fixture *f, gconstpointer data)
{
  g_autoptr (MbSmtpClientOptions) options
      = make_options (f, MB_SMTP_CLIENT_TLS_REQUIRED);
  g_autoptr (GError) error = NULL;

  start_client (f, options);
  g_assert_false (do_connect (f, &error));
  g_assert_error (error, MB_SMTP_CLIENT_ERROR,
                  MB_SMTP_CLIENT_ERROR_NO_STARTTLS);
  g_assert_cmpuint (mb_smtp_client_error_get_reply (error)->code, ==, 454);
  assert_script_done (f);
}

static const Step hang_after_ehlo[] = {
  { STEP_SEND, "220 fake.test ESMTP\r\n" },
  { STEP_EXPECT, EHLO_LINE },
  { STEP_HANG },
};

/* The caller's cancellable stops a connect in progress with
 * G_IO_ERROR_CANCELLED (not a timeout) and closes the connection. */
static void
test_cancel (Fixture *f, gconstpointer data)
{
  g_autoptr (MbSmtpClientOptions) options
      = make_options (f, MB_SMTP_CLIENT_TLS_OPPORTUNISTIC);
  g_autoptr (GCancellable) cancellable = g_cancellable_new ();
  g_autoptr (GAsyncResult) result = NULL;
  g_autoptr (GError) error = NULL;

  start_client (f, options);
  mb_smtp_client_connect_async (f->client, cancellable, mb_test_store_result_cb,
                                &f->result);
  /* The server hangs once EHLO has arrived: the client now waits. */
  MB_TEST_WAIT_UNTIL (f->server->finished);
  g_assert_null (f->result);
  g_cancellable_cancel (cancellable);
  mb_test_wait_for_result (&f->result);
  result = g_steal_pointer (&f->result);
  g_assert_false (mb_smtp_client_connect_finish (f->client, result, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_assert_false (mb_smtp_client_is_ready (f->client));
  g_assert_cmpstr (f->server->failure, ==, NULL);
}

/* TLS */

#define TLS_OPENING                                                            \
  { STEP_SEND, "220 fake.test ESMTP\r\n" }, { STEP_EXPECT, EHLO_LINE },        \
      { STEP_SEND, "250-fake.test\r\n250-PIPELINING\r\n250 STARTTLS\r\n" },    \
      { STEP_EXPECT, "STARTTLS" },                                             \
      { STEP_SEND, "220 2.0.0 SMTP server ready\r\n" },                        \
  {                                                                            \
    STEP_STARTTLS, NULL                                                        \
  }

static const Step tls_refused[] = {
  TLS_OPENING,
  { STEP_END },
};

static void
setup_tls_server (Fixture *f, const char *pem, const char *key)
{
  f->server->certificate = load_cert (pem, key);
}

/* Options for the test CA's mail.test certificate, trusted through the
 * trust file, with TLS required and AUTH @auth as @username. */
static MbSmtpClientOptions *
make_auth_options (Fixture         *f,
                   MbSmtpClientAuth auth,
                   const char      *username,
                   const char      *secret)
{
  MbSmtpClientOptions *options;

  setup_tls_server (f, pki->server_pem, pki->server_key);
  options = make_options (f, MB_SMTP_CLIENT_TLS_REQUIRED);
  options->trust_file = g_strdup (pki->ca_pem);
  options->auth = auth;
  options->username = g_strdup (username);
  options->secret = g_strdup (secret);
  return options;
}

static void
assert_untrusted (Fixture *f, const char *fragment)
{
  g_autoptr (GError) error = NULL;

  g_assert_false (do_connect (f, &error));
  g_assert_error (error, MB_SMTP_CLIENT_ERROR,
                  MB_SMTP_CLIENT_ERROR_TLS_UNTRUSTED);
  g_test_message ("%s", error->message);
  g_assert_nonnull (strstr (error->message, fragment));
  g_assert_false (mb_smtp_client_is_ready (f->client));
  /* The server saw the handshake fail, and nothing after it. */
  MB_TEST_WAIT_UNTIL (f->server->finished);
  g_assert_nonnull (f->server->handshake_error);
  g_assert_cmpstr (f->server->failure, ==, NULL);
}

/* A certificate from a CA the system does not know is refused. */
static void
test_tls_untrusted (Fixture *f, gconstpointer data)
{
  g_autoptr (MbSmtpClientOptions) options = NULL;

  if (!need_tls ())
    return;
  setup_tls_server (f, pki->server_pem, pki->server_key);
  options = make_options (f, MB_SMTP_CLIENT_TLS_OPPORTUNISTIC);
  start_client (f, options);
  assert_untrusted (f, "unknown authority");
}

/* The route's trust file does not vouch for a certificate issued to
 * another name: refused, and the message says why. */
static void
test_tls_wrong_name (Fixture *f, gconstpointer data)
{
  g_autoptr (MbSmtpClientOptions) options = NULL;

  if (!need_tls ())
    return;
  setup_tls_server (f, pki->other_pem, pki->other_key);
  options = make_options (f, MB_SMTP_CLIENT_TLS_REQUIRED);
  options->trust_file = g_strdup (pki->ca_pem);
  start_client (f, options);
  assert_untrusted (f, "not valid for the name 127.0.0.1");
}

static const Step tls_session[] = {
  TLS_OPENING,
  { STEP_EXPECT, EHLO_LINE },
  { STEP_SEND, "250-fake.test\r\n250-SIZE 157286400\r\n250-PIPELINING\r\n"
               "250 AUTH LOGIN XOAUTH2\r\n" },
  { STEP_EXPECT_READ, "MAIL FROM:<dev@office.test> SIZE=22\r\n"
                      "RCPT TO:<a@contoso.test>\r\nDATA\r\n" },
  { STEP_SEND, "250 OK\r\n250 OK\r\n354 go\r\n" },
  { STEP_EXPECT_BYTES, MESSAGE_ON_WIRE },
  { STEP_SEND, "250 2.0.0 OK\r\n" },
  { STEP_EXPECT, "QUIT" },
  { STEP_SEND, "221 bye\r\n" },
  { STEP_END },
};

/* With the CA in the trust file the session runs over TLS 1.2+, EHLO is
 * repeated and its new capabilities replace the old ones; the client
 * certificate is presented when the server asks for it. */
static void
test_tls_trusted (Fixture *f, gconstpointer data)
{
  g_autoptr (MbSmtpClientOptions) options = NULL;
  g_autoptr (MbSmtpSendRequest) request
      = make_request ("dev@office.test", "a@contoso.test", NULL);
  g_autoptr (MbSmtpSendResult) result = NULL;
  g_autoptr (GError) error = NULL;
  const MbSmtpCapabilities *caps;

  if (!need_tls ())
    return;
  setup_tls_server (f, pki->server_pem, pki->server_key);
  f->server->request_client_certificate = TRUE;
  options = make_options (f, MB_SMTP_CLIENT_TLS_REQUIRED);
  options->trust_file = g_strdup (pki->ca_pem);
  options->client_certificate = load_cert (pki->client_pem, pki->client_key);
  start_client (f, options);
  g_assert_true (do_connect (f, &error));
  g_assert_no_error (error);
  g_test_message ("tls: %s", mb_smtp_client_get_tls_summary (f->client));
  g_assert_true (
      g_str_has_prefix (mb_smtp_client_get_tls_summary (f->client), "TLSv1."));
  caps = mb_smtp_client_get_capabilities (f->client);
  g_assert_false (mb_smtp_capabilities_has (caps, MB_SMTP_EXT_STARTTLS));
  g_assert_true (mb_smtp_capabilities_has_auth (caps, "XOAUTH2"));
  g_assert_nonnull (f->server->peer_certificate);
  g_assert_true (g_tls_certificate_is_same (f->server->peer_certificate,
                                            options->client_certificate));

  result = do_send (f, request, MESSAGE, strlen (MESSAGE), &error);
  g_assert_no_error (error);
  g_assert_cmpuint (result->data_reply->code, ==, 250);
  do_quit (f);
  assert_script_done (f);
}

static const Step tls_injection[] = {
  { STEP_SEND, "220 fake.test ESMTP\r\n" },
  { STEP_EXPECT, EHLO_LINE },
  { STEP_SEND, "250-fake.test\r\n250 STARTTLS\r\n" },
  { STEP_EXPECT, "STARTTLS" },
  { STEP_SEND, "220 go ahead\r\n250 injected\r\n" },
  { STEP_EXPECT_EOF },
  { STEP_END },
};

/* Plain text that follows the 220 to STARTTLS is refused (RFC 3207 6):
 * PROTOCOL, and no handshake starts. */
static void
test_tls_injection (Fixture *f, gconstpointer data)
{
  g_autoptr (MbSmtpClientOptions) options
      = make_options (f, MB_SMTP_CLIENT_TLS_REQUIRED);
  g_autoptr (GError) error = NULL;

  start_client (f, options);
  g_assert_false (do_connect (f, &error));
  g_assert_error (error, MB_SMTP_CLIENT_ERROR, MB_SMTP_CLIENT_ERROR_PROTOCOL);
  assert_script_done (f);
}

/* AUTH */

#define M365_USER "test@contoso.onmicrosoft.com"
#define M365_TOKEN "EwBAAl3BAAUFFpUAo7J3Ve0bjLBWZWCclRC3EoAA"
#define M365_XOAUTH2                                                           \
  "dXNlcj10ZXN0QGNvbnRvc28ub25taWNyb3NvZnQuY29tAWF1dGg9QmVhcmVyIEV3QkFBbDNC"   \
  "QUFVRkZwVUFvN0ozVmUwYmpMQldaV0NjbFJDM0VvQUEBAQ=="

#define AUTH_OPENING                                                           \
  TLS_OPENING, { STEP_EXPECT, EHLO_LINE },                                     \
  {                                                                            \
    STEP_SEND, "250-fake.test\r\n250-ENHANCEDSTATUSCODES\r\n"                  \
               "250 AUTH LOGIN XOAUTH2\r\n"                                    \
  }

static const Step xoauth2_ok[] = {
  AUTH_OPENING,
  { STEP_EXPECT_READ, "AUTH XOAUTH2\r\n" },
  { STEP_SEND, "334 \r\n" },
  { STEP_EXPECT_READ, M365_XOAUTH2 "\r\n" },
  { STEP_SEND, "235 2.7.0 Authentication successful\r\n" },
  { STEP_EXPECT, "QUIT" },
  { STEP_SEND, "221 bye\r\n" },
  { STEP_END },
};

static GLogWriterOutput
capture_log_cb (GLogLevelFlags   level,
                const GLogField *fields,
                gsize            n_fields,
                gpointer         user_data)
{
  if (captured_log != NULL)
    {
      for (gsize i = 0; i < n_fields; i++)
        {
          if (g_strcmp0 (fields[i].key, "MESSAGE") == 0 && fields[i].length < 0)
            g_string_append_printf (captured_log, "%s\n",
                                    (const char *)fields[i].value);
        }
    }
  if (level & G_LOG_LEVEL_DEBUG)
    return G_LOG_WRITER_HANDLED;
  return g_log_writer_default (level, fields, n_fields, user_data);
}

static void
assert_no_secret (Fixture *f, const char *secret, const char *encoded)
{
  g_autofree char *b64
      = g_base64_encode ((const guchar *)secret, strlen (secret));
  gboolean redacted = FALSE;

  for (guint i = 0; i < f->transcript->len; i++)
    {
      const char *line = f->transcript->pdata[i];

      g_assert_null (strstr (line, secret));
      g_assert_null (strstr (line, b64));
      if (encoded != NULL)
        g_assert_null (strstr (line, encoded));
      if (strcmp (line, "> ********") == 0)
        redacted = TRUE;
    }
  g_assert_true (redacted);
  g_assert_nonnull (strstr (captured_log->str, "> ********"));
  g_assert_null (strstr (captured_log->str, secret));
  g_assert_null (strstr (captured_log->str, b64));
  if (encoded != NULL)
    g_assert_null (strstr (captured_log->str, encoded));
}

/* XOAUTH2 goes in two steps with Microsoft's exact bytes; neither the
 * token nor its encoding reaches the transcript or the debug log. */
static void
test_auth_xoauth2 (Fixture *f, gconstpointer data)
{
  g_autoptr (MbSmtpClientOptions) options = NULL;
  g_autoptr (GError) error = NULL;

  if (!need_tls ())
    return;
  options = make_auth_options (f, MB_SMTP_CLIENT_AUTH_XOAUTH2, M365_USER,
                               M365_TOKEN);
  start_client (f, options);
  g_string_truncate (captured_log, 0);
  g_assert_true (do_connect (f, &error));
  g_assert_no_error (error);
  do_quit (f);
  assert_script_done (f);
  assert_no_secret (f, M365_TOKEN, M365_XOAUTH2);
}

static const Step xoauth2_bad_token[] = {
  AUTH_OPENING,
  { STEP_EXPECT, "AUTH XOAUTH2" },
  { STEP_SEND, "334 \r\n" },
  { STEP_EXPECT, M365_XOAUTH2 },
  { STEP_SEND, "334 eyJzdGF0dXMiOiI0MDEiLCJzY2hlbWVzIjoiQmVhcmVyIn0=\r\n" },
  { STEP_EXPECT, "" },
  { STEP_SEND, "535 5.7.3 Authentication unsuccessful "
               "[SN2PR00CA0018.namprd00.prod.outlook.com]\r\n" },
  { STEP_EXPECT_EOF },
  { STEP_END },
};

/* A refused token: the 334 error challenge gets an empty line, and the
 * final 535 comes back as AUTH_FAILED with the reply. */
static void
test_auth_xoauth2_refused (Fixture *f, gconstpointer data)
{
  g_autoptr (MbSmtpClientOptions) options = NULL;
  g_autoptr (GError) error = NULL;
  const MbSmtpReply *reply;

  if (!need_tls ())
    return;
  options = make_auth_options (f, MB_SMTP_CLIENT_AUTH_XOAUTH2, M365_USER,
                               M365_TOKEN);
  start_client (f, options);
  g_assert_false (do_connect (f, &error));
  g_assert_error (error, MB_SMTP_CLIENT_ERROR,
                  MB_SMTP_CLIENT_ERROR_AUTH_FAILED);
  reply = mb_smtp_client_error_get_reply (error);
  g_assert_cmpuint (reply->code, ==, 535);
  g_assert_cmpstr (reply->enhanced, ==, "5.7.3");
  assert_script_done (f);
}

static const Step login_ok[] = {
  AUTH_OPENING,
  { STEP_EXPECT, "AUTH LOGIN" },
  { STEP_SEND, "334 VXNlcm5hbWU6\r\n" },
  { STEP_EXPECT, "dXNlckBjb250b3NvLnRlc3Q=" }, /* user@contoso.test */
  { STEP_SEND, "334 UGFzc3dvcmQ6\r\n" },
  { STEP_EXPECT, "czNjcjN0LXBhc3N3b3Jk" }, /* s3cr3t-password */
  { STEP_SEND, "235 2.7.0 Authentication successful\r\n" },
  { STEP_EXPECT, "QUIT" },
  { STEP_SEND, "221 bye\r\n" },
  { STEP_END },
};

/* AUTH LOGIN answers the two prompts with the user name and the password,
 * base64; the password never appears in the transcript. */
static void
test_auth_login (Fixture *f, gconstpointer data)
{
  g_autoptr (MbSmtpClientOptions) options = NULL;
  g_autoptr (GError) error = NULL;

  if (!need_tls ())
    return;
  options = make_auth_options (f, MB_SMTP_CLIENT_AUTH_LOGIN,
                               "user@contoso.test", "s3cr3t-password");
  start_client (f, options);
  g_string_truncate (captured_log, 0);
  g_assert_true (do_connect (f, &error));
  g_assert_no_error (error);
  do_quit (f);
  assert_script_done (f);
  assert_no_secret (f, "s3cr3t-password", NULL);
}

static const Step plain_not_offered[] = {
  AUTH_OPENING,
  { STEP_EXPECT_EOF },
  { STEP_END },
};

/* A mechanism the server does not offer (PLAIN on Microsoft 365) is not
 * tried: AUTH_UNAVAILABLE names what is offered. */
static void
test_auth_unavailable (Fixture *f, gconstpointer data)
{
  g_autoptr (MbSmtpClientOptions) options = NULL;
  g_autoptr (GError) error = NULL;

  if (!need_tls ())
    return;
  options = make_auth_options (f, MB_SMTP_CLIENT_AUTH_PLAIN,
                               "user@contoso.test", "pw");
  start_client (f, options);
  g_assert_false (do_connect (f, &error));
  g_assert_error (error, MB_SMTP_CLIENT_ERROR,
                  MB_SMTP_CLIENT_ERROR_AUTH_UNAVAILABLE);
  g_assert_nonnull (strstr (error->message, "LOGIN XOAUTH2"));
  assert_script_done (f);
}

static const Step plain_ok[] = {
  TLS_OPENING,
  { STEP_EXPECT, EHLO_LINE },
  { STEP_SEND, "250-fake.test\r\n250 AUTH PLAIN\r\n" },
  { STEP_EXPECT, "AUTH PLAIN" },
  { STEP_SEND, "334 \r\n" },
  { STEP_EXPECT, "AHVzZXJAY29udG9zby50ZXN0AHB3" }, /* \0user@contoso.test\0pw */
  { STEP_SEND, "235 2.7.0 ok\r\n" },
  { STEP_END },
};

/* AUTH PLAIN sends NUL user NUL password (RFC 4616) when offered. */
static void
test_auth_plain (Fixture *f, gconstpointer data)
{
  g_autoptr (MbSmtpClientOptions) options = NULL;
  g_autoptr (GError) error = NULL;

  if (!need_tls ())
    return;
  options = make_auth_options (f, MB_SMTP_CLIENT_AUTH_PLAIN,
                               "user@contoso.test", "pw");
  start_client (f, options);
  g_assert_true (do_connect (f, &error));
  g_assert_no_error (error);
  assert_script_done (f);
}

/* Options and requests copy deeply; freeing NULL is fine. */
static void
test_copies (void)
{
  g_autoptr (MbSmtpClientOptions) options = mb_smtp_client_options_new ();
  g_autoptr (MbSmtpClientOptions) options_copy = NULL;
  g_autoptr (MbSmtpSendRequest) request = mb_smtp_send_request_new (NULL);
  g_autoptr (MbSmtpSendRequest) request_copy = NULL;
  const MbSmtpSendRecipient *rcpt;

  options->host = g_strdup ("smtp.office365.com");
  options->secret = g_strdup ("token");
  options_copy = mb_smtp_client_options_copy (options);
  g_assert_cmpstr (options_copy->host, ==, "smtp.office365.com");
  g_assert_cmpstr (options_copy->secret, ==, "token");
  g_assert_true (options_copy->secret != options->secret);
  g_assert_cmpint (options_copy->tls, ==, MB_SMTP_CLIENT_TLS_REQUIRED);

  mb_smtp_send_request_add_recipient (request, "a@b.test",
                                      MB_DSN_NOTIFY_FAILURE, "rfc822;a@b.test");
  request->envid = g_strdup ("e1");
  request_copy = mb_smtp_send_request_copy (request);
  g_assert_cmpstr (request_copy->sender, ==, "");
  g_assert_cmpstr (request_copy->envid, ==, "e1");
  rcpt = request_copy->recipients->pdata[0];
  g_assert_cmpstr (rcpt->address, ==, "a@b.test");
  g_assert_cmpuint (rcpt->notify, ==, MB_DSN_NOTIFY_FAILURE);
  g_assert_cmpstr (rcpt->orcpt, ==, "rfc822;a@b.test");

  mb_smtp_client_options_free (NULL);
  mb_smtp_send_request_free (NULL);
  mb_smtp_send_result_free (NULL);
}

static void
build_big_message (void)
{
  GString *in = g_string_new (NULL);
  GString *out = g_string_new (NULL);

  /* Chunk 1 ends right after a line end, so chunk 2 opens with ".x". */
  while (in->len < 64 * 1024 - 2)
    g_string_append_c (in, 'a');
  g_string_append (out, in->str);
  g_string_append (in, "\r\n.x\r\n");
  g_string_append (out, "\r\n..x\r\n");
  /* Chunk 2 ends between a CR and its LF. */
  while (in->len < 2 * 64 * 1024 - 1)
    {
      g_string_append_c (in, 'b');
      g_string_append_c (out, 'b');
    }
  g_string_append (in, "\r\n.\r\n");
  g_string_append (out, "\r\n..\r\n.\r\n");
  big_in = g_string_free (in, FALSE);
  big_out = g_string_free (out, FALSE);
}

int
main (int argc, char **argv)
{
  static Step stuffing_steps[G_N_ELEMENTS (dot_stuffing)];
  int         status;

  g_test_init (&argc, &argv, NULL);
  captured_log = g_string_new (NULL);
  g_log_set_writer_func (capture_log_cb, NULL, NULL);

  build_big_message ();
  memcpy (stuffing_steps, dot_stuffing, sizeof dot_stuffing);
  for (gsize i = 0; i < G_N_ELEMENTS (stuffing_steps); i++)
    {
      if (stuffing_steps[i].kind == STEP_EXPECT_BYTES
          && stuffing_steps[i].text == NULL)
        stuffing_steps[i].text = big_out;
    }

  if (g_tls_backend_supports_tls (g_tls_backend_get_default ()))
    pki = pki_new ();

#define ADD(path, steps, func)                                                 \
  g_test_add ("/relay/smtp-client/" path, Fixture, steps, fixture_setup, func, \
              fixture_teardown)

  ADD ("session/plain-opportunistic", plain_session, test_plain_session);
  ADD ("session/required-without-starttls", no_starttls,
       test_required_without_starttls);
  ADD ("session/auth-without-starttls", no_starttls,
       test_auth_without_starttls);
  ADD ("session/greeting-421", greeting_421, test_greeting_421);
  ADD ("session/garbage", garbage, test_garbage);
  ADD ("session/helo-fallback", params_missing, test_helo_fallback);
  ADD ("session/timeout", hang_at_rcpt, test_timeout);
  ADD ("session/cancel", hang_after_ehlo, test_cancel);
  ADD ("session/starttls-refused", starttls_refused, test_starttls_refused);
  ADD ("send/pipelining", pipelined, test_pipelining);
  ADD ("send/no-pipelining", one_by_one, test_no_pipelining);
  ADD ("send/dot-stuffing", stuffing_steps, test_dot_stuffing);
  ADD ("send/size-refusal", size_limit, test_size_refusal);
  ADD ("send/mail-params", params_offered, test_mail_params);
  ADD ("tls/untrusted", tls_refused, test_tls_untrusted);
  ADD ("tls/wrong-name", tls_refused, test_tls_wrong_name);
  ADD ("tls/trusted-with-client-cert", tls_session, test_tls_trusted);
  ADD ("tls/injection-after-starttls", tls_injection, test_tls_injection);
  ADD ("auth/xoauth2", xoauth2_ok, test_auth_xoauth2);
  ADD ("auth/xoauth2-refused", xoauth2_bad_token, test_auth_xoauth2_refused);
  ADD ("auth/login", login_ok, test_auth_login);
  ADD ("auth/plain", plain_ok, test_auth_plain);
  ADD ("auth/unavailable", plain_not_offered, test_auth_unavailable);
  g_test_add_func ("/relay/smtp-client/data/copies", test_copies);

  status = g_test_run ();

  g_clear_pointer (&pki, pki_free);
  g_free (big_in);
  g_free (big_out);
  g_string_free (captured_log, TRUE);
  return status;
}
