/* test-smtp-connection.c - the byte transport under an SMTP session
 *
 * Each test runs one MbSmtpConnection on one end of a socketpair and plays
 * both the session (pulling lines, queueing output) and, with the raw
 * client of smtp-test-client.h, the client.  No SMTP is spoken here.
 */
#include "mb-smtp-connection.h"
#include "mb-tls-cert.h"

#include "smtp-test-client.h"

#include <sys/socket.h>

/* Big enough to fill the socket buffers of a socketpair several times. */
#define STUCK_OUTPUT_SIZE (8 * 1024 * 1024)

typedef struct
{
  char             *dir;
  MbSmtpConnection *connection;
  TestClient       *client;
  guint             n_inputs;
  guint             n_sent;
  GArray           *timeouts; /* (element-type guint) kinds, in order */
  guint             n_tls_done;
  guint             n_lost;
  gboolean          lost_eof;
  guint             n_closed;
} Fixture;

static void
on_input_available_cb (MbSmtpConnection *connection, gpointer user_data)
{
  Fixture *f = user_data;

  f->n_inputs++;
}

static void
on_output_sent_cb (MbSmtpConnection *connection, gpointer user_data)
{
  Fixture *f = user_data;

  f->n_sent++;
}

static void
on_timeout_cb (MbSmtpConnection *connection, guint kind, gpointer user_data)
{
  Fixture *f = user_data;

  g_array_append_val (f->timeouts, kind);
}

static void
on_tls_done_cb (MbSmtpConnection *connection, gpointer user_data)
{
  Fixture *f = user_data;

  f->n_tls_done++;
}

static void
on_lost_cb (MbSmtpConnection *connection, gboolean eof, gpointer user_data)
{
  Fixture *f = user_data;

  g_assert_cmpuint (f->n_closed, ==, 0);
  f->n_lost++;
  f->lost_eof = eof;
}

static void
on_closed_cb (MbSmtpConnection *connection, gpointer user_data)
{
  Fixture *f = user_data;

  f->n_closed++;
}

static void
fixture_setup (Fixture *f, gconstpointer user_data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GSocket) server_socket = NULL;
  g_autoptr (GSocket) client_socket = NULL;
  g_autoptr (GSocketConnection) server_side = NULL;
  g_autoptr (GSocketConnection) client_side = NULL;
  g_autoptr (GSocketAddress) remote = NULL;
  int fds[2];

  f->dir = mb_test_make_tmpdir ("smtp-connection");
  f->timeouts = g_array_new (FALSE, FALSE, sizeof (guint));
  g_assert_cmpint (socketpair (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds), ==,
                   0);
  server_socket = g_socket_new_from_fd (fds[0], &error);
  g_assert_no_error (error);
  client_socket = g_socket_new_from_fd (fds[1], &error);
  g_assert_no_error (error);
  server_side = g_socket_connection_factory_create_connection (server_socket);
  client_side = g_socket_connection_factory_create_connection (client_socket);
  f->client = test_client_new (G_IO_STREAM (client_side));

  remote = g_inet_socket_address_new_from_string ("2001:db8::7", 40000);
  f->connection = mb_smtp_connection_new (G_IO_STREAM (server_side), remote,
                                          "TESTSESSION");
  g_signal_connect (f->connection, "input-available",
                    G_CALLBACK (on_input_available_cb), f);
  g_signal_connect (f->connection, "output-sent",
                    G_CALLBACK (on_output_sent_cb), f);
  g_signal_connect (f->connection, "timeout", G_CALLBACK (on_timeout_cb), f);
  g_signal_connect (f->connection, "tls-done", G_CALLBACK (on_tls_done_cb), f);
  g_signal_connect (f->connection, "lost", G_CALLBACK (on_lost_cb), f);
  g_signal_connect (f->connection, "closed", G_CALLBACK (on_closed_cb), f);
}

static void
fixture_teardown (Fixture *f, gconstpointer user_data)
{
  if (f->n_closed == 0)
    {
      mb_smtp_connection_abort (f->connection);
      MB_TEST_WAIT_UNTIL (f->n_closed > 0);
    }
  g_assert_cmpuint (f->n_closed, ==, 1);
  g_clear_object (&f->connection);
  g_clear_pointer (&f->client, test_client_free);
  g_clear_pointer (&f->timeouts, g_array_unref);
  mb_test_remove_tree (f->dir);
  g_free (f->dir);
}

/* Runs every source that is ready now, without blocking: what a read or
 * write that was issued would need to finish on a socketpair. */
static void
drain_main_context (void)
{
  while (g_main_context_iteration (NULL, FALSE))
    ;
}

static gsize
input_length (Fixture *f)
{
  gsize len;

  mb_smtp_connection_peek_input (f->connection, &len);
  return len;
}

/* Sends @len bytes and asks for input until all of them are buffered. */
static void
send_and_read (Fixture *f, const void *data, gsize len)
{
  gsize want = input_length (f) + len;

  g_assert_true (test_client_send_bytes (f->client, data, len));
  while (input_length (f) < want)
    {
      guint before = f->n_inputs;

      mb_smtp_connection_request_input (f->connection);
      MB_TEST_WAIT_UNTIL (f->n_inputs > before);
    }
  g_assert_cmpuint (input_length (f), ==, want);
}

/* Queues @text and flushes it. */
static void
send_output (Fixture *f, const char *text, gsize len)
{
  mb_smtp_connection_add_output (f->connection, text, len);
  mb_smtp_connection_flush (f->connection);
}

/* Reads exactly @len bytes as the client and checks them against @want. */
static void
client_expect (Fixture *f, const char *want, gsize len)
{
  while (f->client->input->len < len && !f->client->eof)
    test_client_read_more (f->client);
  g_assert_cmpmem (f->client->input->data, len, want, len);
  g_byte_array_remove_range (f->client->input, 0, (guint)len);
}

/* Takes lines until INCOMPLETE; appends "line|" or "<too-long>|". */
static void
take_lines (Fixture *f, gsize limit, GString *outcome)
{
  for (;;)
    {
      g_autofree char *line = NULL;
      gsize            len = 0;

      switch (mb_smtp_connection_take_line (f->connection, limit, &line, &len))
        {
        case MB_SMTP_CONNECTION_LINE_COMPLETE:
          g_assert_nonnull (line);
          g_assert_cmpint (line[len], ==, '\0');
          for (gsize i = 0; i < len; i++)
            if (line[i] == '\0')
              g_string_append (outcome, "\\0");
            else
              g_string_append_c (outcome, line[i]);
          g_string_append_c (outcome, '|');
          break;
        case MB_SMTP_CONNECTION_LINE_TOO_LONG:
          g_assert_null (line);
          g_string_append (outcome, "<too-long>|");
          break;
        case MB_SMTP_CONNECTION_LINE_INCOMPLETE:
        default:
          g_assert_null (line);
          return;
        }
    }
}

/* Tests */

/* Line framing: CRLF and a lone LF end a line, NULs stay inside it, a line
 * up to the limit is whole (even with its CR alone in the buffer), a longer
 * one is dropped up to its line end however it arrives, and what follows
 * is intact. */
static void
test_input_lines (Fixture *f, gconstpointer user_data)
{
  g_autofree char *x600 = g_strnfill (600, 'x');
  g_autofree char *a512 = g_strnfill (512, 'a');
  g_autofree char *a513 = g_strnfill (513, 'a');
  g_autofree char *a512_line = g_strconcat (a512, "|", NULL);
  g_autofree char *long_then_noop = g_strconcat (x600, "\r\nNOOP\r\n", NULL);
  g_autofree char *exact = g_strconcat (a512, "\r\n", NULL);
  g_autofree char *over = g_strconcat (a513, "\r\n", NULL);
  g_autofree char *exact_cr = g_strconcat (a512, "\r", NULL);
  const struct
  {
    const char *name;
    const char *pieces[3];
    const char *outcome;
  } cases[] = {
    { "crlf", { "EHLO a\r\nNOOP\r\n" }, "EHLO a|NOOP|" },
    { "lone lf", { "NOOP\nRSET\r\n" }, "NOOP|RSET|" },
    { "split", { "EH", "LO a\r", "\nQUIT\r\n" }, "EHLO a|QUIT|" },
    { "empty line", { "\r\n\n" }, "||" },
    { "too long, whole", { long_then_noop }, "<too-long>|NOOP|" },
    { "too long, in pieces",
      { x600, "still it\r\nNOOP\r\n" },
      "<too-long>|NOOP|" },
    { "at the limit", { exact }, a512_line },
    { "over the limit", { over, "NOOP\r\n" }, "<too-long>|NOOP|" },
    { "at the limit, CR first", { exact_cr, "\n" }, a512_line },
  };

  mb_smtp_connection_start (f->connection, 0, 0);
  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr (GString) outcome = g_string_new (NULL);

      g_test_message ("case: %s", cases[i].name);
      for (gsize p = 0; p < G_N_ELEMENTS (cases[i].pieces); p++)
        {
          if (cases[i].pieces[p] == NULL)
            break;
          send_and_read (f, cases[i].pieces[p], strlen (cases[i].pieces[p]));
          take_lines (f, 512, outcome);
        }
      g_assert_cmpstr (outcome->str, ==, cases[i].outcome);
      g_assert_cmpuint (input_length (f), ==, 0);
    }

  {
    g_autoptr (GString) outcome = g_string_new (NULL);

    send_and_read (f, "N\0L\r\n", 5);
    take_lines (f, 512, outcome);
    g_assert_cmpstr (outcome->str, ==, "N\\0L|");
  }
}

/* Raw input is peeked and consumed in any portion; the address of the
 * client is formatted for the logs. */
static void
test_input_peek_consume (Fixture *f, gconstpointer user_data)
{
  const guint8 *data;
  gsize         len;

  g_assert_cmpstr (mb_smtp_connection_get_client_ip (f->connection), ==,
                   "2001:db8::7");
  g_assert_cmpstr (mb_smtp_connection_get_client_address (f->connection), ==,
                   "[2001:db8::7]:40000");

  mb_smtp_connection_start (f->connection, 0, 0);
  g_assert_null (mb_smtp_connection_peek_input (f->connection, &len));
  g_assert_cmpuint (len, ==, 0);
  send_and_read (f, "hello world", 11);
  data = mb_smtp_connection_peek_input (f->connection, &len);
  g_assert_cmpmem (data, len, "hello world", 11);
  mb_smtp_connection_consume_input (f->connection, 6);
  send_and_read (f, "!\r\n", 3);
  data = mb_smtp_connection_peek_input (f->connection, &len);
  g_assert_cmpmem (data, len, "world!\r\n", 8);
  mb_smtp_connection_consume_input (f->connection, len);
  g_assert_cmpuint (input_length (f), ==, 0);
}

/* Back-pressure: nothing is read unless asked for, and nothing while the
 * output is full of bytes the client does not read; once it reads them,
 * "output-sent" comes and input is read again. */
static void
test_input_back_pressure (Fixture *f, gconstpointer user_data)
{
  g_autofree char *stuck = g_malloc (STUCK_OUTPUT_SIZE);

  mb_smtp_connection_start (f->connection, 0, 0);
  g_assert_true (test_client_send (f->client, "NOOP\r\n"));
  drain_main_context ();
  g_assert_cmpuint (f->n_inputs, ==, 0);
  g_assert_cmpuint (input_length (f), ==, 0);

  memset (stuck, 'o', STUCK_OUTPUT_SIZE);
  send_output (f, stuck, STUCK_OUTPUT_SIZE);
  drain_main_context ();
  g_assert_true (mb_smtp_connection_is_output_full (f->connection));
  mb_smtp_connection_request_input (f->connection);
  drain_main_context ();
  g_assert_cmpuint (f->n_inputs, ==, 0);
  g_assert_cmpuint (input_length (f), ==, 0);

  client_expect (f, stuck, STUCK_OUTPUT_SIZE);
  MB_TEST_WAIT_UNTIL (f->n_sent > 0);
  g_assert_false (mb_smtp_connection_is_output_full (f->connection));
  mb_smtp_connection_request_input (f->connection);
  MB_TEST_WAIT_UNTIL (f->n_inputs > 0);
  g_assert_cmpuint (input_length (f), ==, 6);
}

/* Output goes out exactly in the order it was added, across batches
 * flushed while an earlier, bigger one is still being written. */
static void
test_output_order (Fixture *f, gconstpointer user_data)
{
  g_autoptr (GString) want = g_string_new (NULL);

  mb_smtp_connection_start (f->connection, 0, 0);
  for (guint i = 0; i < 1000; i++)
    {
      g_autofree char *line = g_strdup_printf ("250-line %u\r\n", i);

      g_string_append (want, line);
      mb_smtp_connection_add_output (f->connection, line, strlen (line));
      if (i % 7 == 0)
        mb_smtp_connection_flush (f->connection);
      if (i == 500)
        {
          g_autofree char *big = g_strnfill (300 * 1024, 'b');

          g_string_append (want, big);
          send_output (f, big, strlen (big));
        }
    }
  mb_smtp_connection_flush (f->connection);
  client_expect (f, want->str, want->len);
}

/* The idle timer fires after a quiet period and again after a restart;
 * the session timer fires once.  (This waits on the timers themselves,
 * which is what is tested.) */
static void
test_timers (Fixture *f, gconstpointer user_data)
{
  mb_smtp_connection_start (f->connection, 1, 2);
  MB_TEST_WAIT_UNTIL (f->timeouts->len == 1);
  g_assert_cmpuint (g_array_index (f->timeouts, guint, 0), ==,
                    MB_SMTP_CONNECTION_TIMEOUT_IDLE);
  mb_smtp_connection_restart_idle_timer (f->connection);
  MB_TEST_WAIT_UNTIL (f->timeouts->len == 3);
  /* Both fire about two seconds after the start, in either order. */
  g_assert_cmpuint (g_array_index (f->timeouts, guint, 1), !=,
                    g_array_index (f->timeouts, guint, 2));
  mb_smtp_connection_close (f->connection);
  MB_TEST_WAIT_UNTIL (f->n_closed == 1);
  g_assert_cmpuint (f->timeouts->len, ==, 3);
}

/* A graceful close sends what was queued, then closes the stream:
 * "closed" once, nothing "lost", and no more input is read. */
static void
test_close_graceful (Fixture *f, gconstpointer user_data)
{
  g_autofree char *rest = NULL;

  mb_smtp_connection_start (f->connection, 0, 0);
  mb_smtp_connection_add_output (f->connection, "221 2.0.0 Bye\r\n", 15);
  mb_smtp_connection_close (f->connection);
  mb_smtp_connection_request_input (f->connection);
  rest = test_client_read_to_eof (f->client);
  g_assert_cmpstr (rest, ==, "221 2.0.0 Bye\r\n");
  MB_TEST_WAIT_UNTIL (f->n_closed == 1);
  g_assert_cmpuint (f->n_lost, ==, 0);
  g_assert_cmpuint (f->n_inputs, ==, 0);
}

/* While closing, a client that does not read its last bytes is cut off
 * when the idle timer fires, without a "timeout".  (This waits on the
 * timer itself.) */
static void
test_close_stuck_client (Fixture *f, gconstpointer user_data)
{
  g_autofree char *stuck = g_strnfill (STUCK_OUTPUT_SIZE, 'o');

  mb_smtp_connection_start (f->connection, 1, 0);
  mb_smtp_connection_add_output (f->connection, stuck, STUCK_OUTPUT_SIZE);
  mb_smtp_connection_close (f->connection);
  MB_TEST_WAIT_UNTIL (f->n_closed == 1);
  g_assert_cmpuint (f->timeouts->len, ==, 0);
  g_assert_cmpuint (f->n_lost, ==, 0);
}

/* An abort drops what was not sent yet and closes at once. */
static void
test_close_abort (Fixture *f, gconstpointer user_data)
{
  g_autofree char *stuck = g_strnfill (STUCK_OUTPUT_SIZE, 'o');
  g_autofree char *rest = NULL;

  mb_smtp_connection_start (f->connection, 0, 0);
  send_output (f, stuck, STUCK_OUTPUT_SIZE);
  drain_main_context ();
  mb_smtp_connection_add_output (f->connection, "421 late\r\n", 10);
  mb_smtp_connection_abort (f->connection);
  MB_TEST_WAIT_UNTIL (f->n_closed == 1);
  rest = test_client_read_to_eof (f->client);
  g_assert_cmpuint (strlen (rest), <, STUCK_OUTPUT_SIZE);
  g_assert_null (strstr (rest, "421"));
  g_assert_cmpuint (f->n_lost, ==, 0);
}

/* The client going away is "lost" with eof, then "closed". */
static void
test_close_client_eof (Fixture *f, gconstpointer user_data)
{
  mb_smtp_connection_start (f->connection, 0, 0);
  mb_smtp_connection_request_input (f->connection);
  g_io_stream_close (f->client->stream, NULL, NULL);
  MB_TEST_WAIT_UNTIL (f->n_closed == 1);
  g_assert_cmpuint (f->n_lost, ==, 1);
  g_assert_true (f->lost_eof);
}

typedef struct
{
  gboolean done;
  GError  *error;
} Handshake;

static void
on_handshake_done_cb (GObject *source, GAsyncResult *result, gpointer data)
{
  Handshake *handshake = data;

  g_tls_connection_handshake_finish (G_TLS_CONNECTION (source), result,
                                     &handshake->error);
  handshake->done = TRUE;
}

static gboolean
on_accept_certificate_cb (GTlsConnection      *connection,
                          GTlsCertificate     *peer,
                          GTlsCertificateFlags errors,
                          gpointer             user_data)
{
  GTlsCertificate *certificate = user_data;

  return g_tls_certificate_is_same (peer, certificate);
}

/* A certificate for "mx.test", or NULL with the test skipped. */
static GTlsCertificate *
make_certificate (Fixture *f)
{
  g_autofree char *cert_path = g_build_filename (f->dir, "cert.pem", NULL);
  g_autofree char *key_path = g_build_filename (f->dir, "key.pem", NULL);
  g_autoptr (GError) error = NULL;
  GTlsCertificate *certificate;

  if (!mb_test_need_tls_backend ())
    return NULL;
  if (!mb_tls_cert_generate_files (cert_path, key_path, "mx.test", &error))
    {
      g_autofree char *why = g_strdup_printf (
          "cannot generate a test certificate: %s", error->message);

      g_test_skip (why);
      return NULL;
    }
  certificate = g_tls_certificate_new_from_files (cert_path, key_path, &error);
  g_assert_no_error (error);
  return certificate;
}

/* STARTTLS: plaintext buffered behind the command is discarded, the 220
 * goes out in the clear before the handshake, and after "tls-done" the
 * input is what the client sent over TLS. */
static void
test_starttls_discard (Fixture *f, gconstpointer user_data)
{
  g_autoptr (GTlsCertificate) certificate = make_certificate (f);
  g_autoptr (GIOStream) tls = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (GString) outcome = g_string_new (NULL);
  g_autofree char *line = NULL;
  gsize            len;
  guint            n_inputs;
  Handshake        handshake = { 0 };

  if (certificate == NULL)
    return;

  mb_smtp_connection_start (f->connection, 0, 0);
  send_and_read (f, "STARTTLS\r\nMAIL FROM:<evil@example.org>\r\n", 40);
  g_assert_cmpint (
      mb_smtp_connection_take_line (f->connection, 512, &line, &len), ==,
      MB_SMTP_CONNECTION_LINE_COMPLETE);
  g_assert_cmpstr (line, ==, "STARTTLS");
  mb_smtp_connection_add_output (f->connection, "220 Go ahead\r\n", 14);
  mb_smtp_connection_start_tls (f->connection, certificate);
  g_assert_cmpuint (input_length (f), ==, 0);
  n_inputs = f->n_inputs;
  mb_smtp_connection_flush (f->connection);
  /* No input is read while STARTTLS runs. */
  mb_smtp_connection_request_input (f->connection);
  client_expect (f, "220 Go ahead\r\n", 14);

  tls = g_tls_client_connection_new (f->client->stream, NULL, &error);
  g_assert_no_error (error);
  g_signal_connect (tls, "accept-certificate",
                    G_CALLBACK (on_accept_certificate_cb), certificate);
  g_tls_connection_handshake_async (G_TLS_CONNECTION (tls), G_PRIORITY_DEFAULT,
                                    NULL, on_handshake_done_cb, &handshake);
  MB_TEST_WAIT_UNTIL (handshake.done && f->n_tls_done == 1);
  g_assert_no_error (handshake.error);
  g_set_object (&f->client->stream, tls);
  g_assert_cmpuint (f->n_inputs, ==, n_inputs);

  send_and_read (f, "EHLO device.lan\r\n", 17);
  take_lines (f, 512, outcome);
  g_assert_cmpstr (outcome->str, ==, "EHLO device.lan|");
  send_output (f, "250 secret\r\n", 12);
  client_expect (f, "250 secret\r\n", 12);
}

/* Closing while the handshake waits for the client's hello does not wait
 * for it (nothing can be sent then): the connection closes at once,
 * without "lost" or "tls-done". */
static void
test_starttls_close_in_handshake (Fixture *f, gconstpointer user_data)
{
  g_autoptr (GTlsCertificate) certificate = make_certificate (f);

  if (certificate == NULL)
    return;

  mb_smtp_connection_start (f->connection, 0, 0);
  mb_smtp_connection_add_output (f->connection, "220 Go ahead\r\n", 14);
  mb_smtp_connection_start_tls (f->connection, certificate);
  mb_smtp_connection_flush (f->connection);
  client_expect (f, "220 Go ahead\r\n", 14);
  /* The server now waits for the client's hello. */
  drain_main_context ();
  mb_smtp_connection_close (f->connection);
  MB_TEST_WAIT_UNTIL (f->n_closed == 1);
  g_assert_cmpuint (f->n_lost, ==, 0);
  g_assert_cmpuint (f->n_tls_done, ==, 0);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

#define ADD(path, func)                                                        \
  g_test_add ("/relay/smtp-connection/" path, Fixture, NULL, fixture_setup,    \
              func, fixture_teardown)

  ADD ("input/lines", test_input_lines);
  ADD ("input/peek-consume", test_input_peek_consume);
  ADD ("input/back-pressure", test_input_back_pressure);
  ADD ("output/order", test_output_order);
  ADD ("timers/idle-and-session", test_timers);
  ADD ("close/graceful", test_close_graceful);
  ADD ("close/stuck-client", test_close_stuck_client);
  ADD ("close/abort", test_close_abort);
  ADD ("close/client-eof", test_close_client_eof);
  ADD ("starttls/discard-plaintext", test_starttls_discard);
  ADD ("starttls/close-in-handshake", test_starttls_close_in_handshake);

#undef ADD

  return g_test_run ();
}
