/* test-smtp-session.c - the inbound SMTP state machine
 *
 * Each test runs one MbSmtpSession on one end of a socketpair, with a real
 * spool in a temporary directory, and talks to it with the raw client of
 * smtp-test-client.h.
 */
#include "mb-smtp-session.h"
#include "mb-tls-cert.h"

#include "smtp-test-client.h"

#include <sys/socket.h>

typedef struct
{
  char            *dir;
  MbRelayConfig   *config;
  MbSpool         *spool;
  GIOStream       *server_stream;
  GSocketAddress  *remote;
  GTlsCertificate *certificate; /* (nullable) */
  MbSmtpSession   *session;
  TestClient      *client;
  gboolean         closed;
  GPtrArray       *accepted; /* queue ids from "message-accepted" */
} Fixture;

static void
on_closed_cb (MbSmtpSession *session, gpointer user_data)
{
  Fixture *f = user_data;

  g_assert_false (f->closed);
  f->closed = TRUE;
}

static void
on_message_accepted_cb (MbSmtpSession *session,
                        const char    *queue_id,
                        gpointer       user_data)
{
  Fixture *f = user_data;

  g_ptr_array_add (f->accepted, g_strdup (queue_id));
}

/* @user_data: extra [relay] lines for this test. */
static void
fixture_setup (Fixture *f, gconstpointer user_data)
{
  const char *extra = user_data;
  g_autoptr (GError) error = NULL;
  g_autofree char *text = NULL;
  g_autofree char *spool_dir = NULL;
  g_autoptr (GSocket) server_socket = NULL;
  g_autoptr (GSocket) client_socket = NULL;
  g_autoptr (GSocketConnection) server_side = NULL;
  g_autoptr (GSocketConnection) client_side = NULL;
  MbSpoolRecovery recovery;
  int             fds[2];

  f->dir = mb_test_make_tmpdir ("smtp-session");
  spool_dir = g_build_filename (f->dir, "spool", NULL);
  text = g_strdup_printf ("[relay]\nhostname=mx.test\nspool=%s\n"
                          "max-message-size=64K\n%s",
                          spool_dir, extra != NULL ? extra : "");
  f->config = mb_relay_config_load_data (text, -1, "test.conf", &error);
  g_assert_no_error (error);
  f->spool = mb_spool_new (f->config->spool, &error);
  g_assert_no_error (error);
  g_assert_true (mb_spool_recover (f->spool, &recovery, &error));
  g_assert_no_error (error);
  f->accepted = g_ptr_array_new_with_free_func (g_free);

  g_assert_cmpint (socketpair (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds), ==,
                   0);
  server_socket = g_socket_new_from_fd (fds[0], &error);
  g_assert_no_error (error);
  client_socket = g_socket_new_from_fd (fds[1], &error);
  g_assert_no_error (error);
  server_side = g_socket_connection_factory_create_connection (server_socket);
  client_side = g_socket_connection_factory_create_connection (client_socket);
  f->server_stream = G_IO_STREAM (g_steal_pointer (&server_side));
  f->client = test_client_new (G_IO_STREAM (client_side));
  f->remote = g_inet_socket_address_new_from_string ("192.0.2.7", 40000);
}

static void
fixture_teardown (Fixture *f, gconstpointer user_data)
{
  /* Closing the client's end makes the session see EOF and close. */
  if (f->client != NULL)
    g_io_stream_close (f->client->stream, NULL, NULL);
  if (f->session != NULL)
    MB_TEST_WAIT_UNTIL (f->closed);
  g_clear_object (&f->session);
  g_clear_pointer (&f->client, test_client_free);
  g_clear_object (&f->server_stream);
  g_clear_object (&f->remote);
  g_clear_object (&f->certificate);
  g_clear_object (&f->spool);
  g_clear_pointer (&f->config, mb_relay_config_unref);
  g_clear_pointer (&f->accepted, g_ptr_array_unref);
  mb_test_remove_tree (f->dir);
  g_free (f->dir);
}

static void
fixture_create (Fixture *f)
{
  f->session = mb_smtp_session_new (f->server_stream, f->remote, f->config,
                                    f->spool, f->certificate);
  g_signal_connect (f->session, "closed", G_CALLBACK (on_closed_cb), f);
  g_signal_connect (f->session, "message-accepted",
                    G_CALLBACK (on_message_accepted_cb), f);
}

/* Starts the session and reads the greeting. */
static void
fixture_start (Fixture *f)
{
  fixture_create (f);
  mb_smtp_session_start (f->session);
  test_client_assert_reply (f->client, "220 mx.test ESMTP Mailbridge");
}

static void
fixture_ehlo (Fixture *f)
{
  g_autofree char *reply = NULL;

  test_client_send (f->client, "EHLO device.lan\r\n");
  reply = test_client_read_reply (f->client);
  g_assert_nonnull (reply);
  g_assert_true (g_str_has_prefix (reply, "250-mx.test"));
}

static guint
spool_length (Fixture *f)
{
  g_autoptr (GPtrArray) ids = mb_spool_list_ids (f->spool);

  return ids->len;
}

static char *
spool_message (Fixture *f, const char *id)
{
  g_autofree char *path = mb_spool_get_message_path (f->spool, id);
  g_autoptr (GError) error = NULL;
  char *contents = NULL;

  g_file_get_contents (path, &contents, NULL, &error);
  g_assert_no_error (error);
  return contents;
}

/* Runs MAIL, RCPT, DATA with @body (ending in CRLF) and expects 250. */
static char *
send_message (Fixture *f, const char *body)
{
  g_autofree char *reply = NULL;
  g_autofree char *data = g_strconcat (body, ".\r\n", NULL);

  test_client_send (f->client, "MAIL FROM:<scanner@office.example>\r\n");
  test_client_assert_reply (f->client, "250 2.1.0");
  test_client_send (f->client, "RCPT TO:<boss@office.example>\r\n");
  test_client_assert_reply (f->client, "250 2.1.5");
  test_client_send (f->client, "DATA\r\n");
  test_client_assert_reply (f->client, "354 ");
  test_client_send (f->client, data);
  reply = test_client_read_reply (f->client);
  g_assert_nonnull (reply);
  g_test_message ("reply: %s", reply);
  g_assert_true (g_str_has_prefix (reply, "250 2.0.0 Ok: queued as "));
  return g_strdup (reply + strlen ("250 2.0.0 Ok: queued as "));
}

/* Tests */

/* The greeting and the EHLO reply list exactly the extensions we offer. */
static void
test_greeting_ehlo (Fixture *f, gconstpointer user_data)
{
  g_autofree char *reply = NULL;

  fixture_start (f);
  test_client_send (f->client, "EHLO device.lan\r\n");
  reply = test_client_read_reply (f->client);
  g_assert_cmpstr (reply, ==,
                   "250-mx.test\n"
                   "250-SIZE 65536\n"
                   "250-PIPELINING\n"
                   "250-8BITMIME\n"
                   "250-SMTPUTF8\n"
                   "250-ENHANCEDSTATUSCODES\n"
                   "250-DSN\n"
                   "250-CHUNKING\n"
                   "250 HELP");
}

/* HELO works as plain SMTP; EHLO and HELO need an argument. */
static void
test_greeting_helo (Fixture *f, gconstpointer user_data)
{
  fixture_start (f);
  test_client_send (f->client, "EHLO\r\n");
  test_client_assert_reply (f->client, "501 5.5.4");
  test_client_send (f->client, "HELO\r\n");
  test_client_assert_reply (f->client, "501 5.5.4");
  test_client_send (f->client, "HELO device.lan\r\n");
  test_client_assert_reply (f->client, "250 mx.test");
  test_client_send (f->client, "MAIL FROM:<a@example.org>\r\n");
  test_client_assert_reply (f->client, "250 2.1.0");
}

/* A whole transaction lands in the spool with Received and Message-ID
 * added, the envelope as sent, and "message-accepted" after the 250. */
static void
test_transaction_full (Fixture *f, gconstpointer user_data)
{
  g_autofree char *id = NULL;
  g_autofree char *message = NULL;
  g_autoptr (MbEnvelope) envelope = NULL;
  g_autoptr (GError) error = NULL;
  MbRecipient *rcpt;

  fixture_start (f);
  fixture_ehlo (f);
  id = send_message (f, "Subject: scan\r\n\r\nPage 1\r\n..dot line\r\n");

  g_assert_cmpuint (f->accepted->len, ==, 1);
  g_assert_cmpstr (g_ptr_array_index (f->accepted, 0), ==, id);
  g_assert_cmpuint (spool_length (f), ==, 1);

  message = spool_message (f, id);
  g_assert_true (g_str_has_prefix (message, "Received: from device.lan"));
  g_assert_nonnull (strstr (message, "with ESMTP"));
  g_assert_nonnull (strstr (message, "\r\nMessage-ID: <"));
  g_assert_nonnull (strstr (message, "\r\nSubject: scan\r\n\r\nPage 1\r\n"
                                     ".dot line\r\n"));
  g_assert_true (g_str_has_suffix (message, ".dot line\r\n"));

  envelope = mb_spool_load_envelope (f->spool, id, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (envelope->sender, ==, "scanner@office.example");
  g_assert_cmpuint (envelope->recipients->len, ==, 1);
  rcpt = g_ptr_array_index (envelope->recipients, 0);
  g_assert_cmpstr (rcpt->address, ==, "boss@office.example");
  g_assert_cmpstr (envelope->client_address, ==, "192.0.2.7");
  g_assert_cmpstr (envelope->client_helo, ==, "device.lan");
  g_assert_nonnull (envelope->message_id);

  test_client_send (f->client, "QUIT\r\n");
  test_client_assert_reply (f->client, "221 2.0.0");
  MB_TEST_WAIT_UNTIL (f->closed);
}

/* Pipelined commands sent in one write get their replies in order, and
 * commands after the final dot wait for the commit, then run. */
static void
test_pipelining_in_order (Fixture *f, gconstpointer user_data)
{
  fixture_start (f);
  fixture_ehlo (f);
  test_client_send (f->client, "MAIL FROM:<a@example.org> BODY=8BITMIME\r\n"
                               "RCPT TO:<b@example.org>\r\n"
                               "RCPT TO:<bad address>\r\n"
                               "RCPT TO:<c@example.org>\r\n"
                               "DATA\r\n");
  test_client_assert_reply (f->client, "250 2.1.0");
  test_client_assert_reply (f->client, "250 2.1.5");
  test_client_assert_reply (f->client, "501 5.1.");
  test_client_assert_reply (f->client, "250 2.1.5");
  test_client_assert_reply (f->client, "354 ");

  test_client_send (f->client, "Subject: one\r\n\r\nbody\r\n.\r\n"
                               "MAIL FROM:<a@example.org>\r\n"
                               "RCPT TO:<d@example.org>\r\n"
                               "DATA\r\n"
                               "Subject: two\r\n\r\nbody\r\n.\r\n"
                               "NOOP\r\n");
  test_client_assert_reply (f->client, "250 2.0.0 Ok: queued as ");
  test_client_assert_reply (f->client, "250 2.1.0");
  test_client_assert_reply (f->client, "250 2.1.5");
  test_client_assert_reply (f->client, "354 ");
  test_client_assert_reply (f->client, "250 2.0.0 Ok: queued as ");
  test_client_assert_reply (f->client, "250 2.0.0");
  g_assert_cmpuint (spool_length (f), ==, 2);
  g_assert_cmpuint (f->accepted->len, ==, 2);
}

/* A client that pipelines far more than the socket buffers hold before
 * reading any reply still gets every reply, in order: the session stops
 * reading while its replies back up instead of buffering without bound. */
static void
test_pipelining_flood (Fixture *f, gconstpointer user_data)
{
  g_autoptr (GString) flood = g_string_new (NULL);
  const guint n = 100000;

  fixture_start (f);
  for (guint i = 0; i < n; i++)
    g_string_append (flood, "NOOP\r\n");
  g_string_append (flood, "QUIT\r\n");
  test_client_send_begin (f->client, flood->str, flood->len);
  for (guint i = 0; i < n; i++)
    {
      g_autofree char *reply = test_client_read_reply (f->client);

      g_assert_cmpstr (reply, ==, "250 2.0.0 Ok");
    }
  test_client_assert_reply (f->client, "221 2.0.0");
  g_assert_true (test_client_wait_sent (f->client));
  MB_TEST_WAIT_UNTIL (f->closed);
}

/* Commands out of order get 503 5.5.1, the other verbs their fixed replies,
 * and QUIT closes. */
static void
test_sequence_errors (Fixture *f, gconstpointer user_data)
{
  static const struct
  {
    const char *command;
    const char *reply;
  } steps[] = {
    { "MAIL FROM:<a@example.org>", "503 5.5.1" }, /* before EHLO */
    { "STARTTLS", "502 5.5.1" },                  /* no certificate */
    { "EHLO device.lan", "250-mx.test" },
    { "RCPT TO:<b@example.org>", "503 5.5.1" }, /* before MAIL */
    { "DATA", "503 5.5.1" },                    /* before MAIL */
    { "BDAT 0 LAST", "503 5.5.1" },             /* before MAIL */
    { "MAIL FROM:<a@example.org>", "250 2.1.0" },
    { "MAIL FROM:<a@example.org>", "503 5.5.1" }, /* nested */
    { "DATA", "503 5.5.1 Error: no valid recipients" },
    { "RSET", "250 2.0.0" },
    { "RCPT TO:<b@example.org>", "503 5.5.1" }, /* RSET forgot MAIL */
    { "FROB", "500 5.5.2" },
    { "AUTH PLAIN AGJvYgBzZWNyZXQ=", "502 5.5.1" },
    { "VRFY boss", "252 2.5.0" },
    { "EXPN staff", "502 5.5.1" },
    { "HELP", "214 2.0.0" },
    { "NOOP", "250 2.0.0" },
    { "QUIT", "221 2.0.0" },
  };

  fixture_start (f);
  for (gsize i = 0; i < G_N_ELEMENTS (steps); i++)
    {
      g_autofree char *line = g_strconcat (steps[i].command, "\r\n", NULL);

      g_test_message ("command: %s", steps[i].command);
      test_client_send (f->client, line);
      test_client_assert_reply (f->client, steps[i].reply);
    }
  MB_TEST_WAIT_UNTIL (f->closed);
}

/* A second EHLO resets the transaction. */
static void
test_sequence_ehlo_resets (Fixture *f, gconstpointer user_data)
{
  fixture_start (f);
  fixture_ehlo (f);
  test_client_send (f->client, "MAIL FROM:<a@example.org>\r\n");
  test_client_assert_reply (f->client, "250 2.1.0");
  fixture_ehlo (f);
  test_client_send (f->client, "RCPT TO:<b@example.org>\r\n");
  test_client_assert_reply (f->client, "503 5.5.1");
}

/* Recipients beyond max-recipients get 452 4.5.3; those accepted before
 * stay in the message. */
static void
test_limits_recipients (Fixture *f, gconstpointer user_data)
{
  g_autofree char *reply = NULL;
  g_autoptr (MbEnvelope) envelope = NULL;
  g_autoptr (GError) error = NULL;

  fixture_start (f);
  fixture_ehlo (f);
  test_client_send (f->client, "MAIL FROM:<a@example.org>\r\n"
                               "RCPT TO:<b1@example.org>\r\n"
                               "RCPT TO:<b2@example.org>\r\n"
                               "RCPT TO:<b3@example.org>\r\n"
                               "DATA\r\n");
  test_client_assert_reply (f->client, "250 2.1.0");
  test_client_assert_reply (f->client, "250 2.1.5");
  test_client_assert_reply (f->client, "250 2.1.5");
  test_client_assert_reply (f->client, "452 4.5.3 Too many recipients");
  test_client_assert_reply (f->client, "354 ");
  test_client_send (f->client, "Subject: x\r\n\r\nx\r\n.\r\n");
  reply = test_client_read_reply (f->client);
  g_assert_true (g_str_has_prefix (reply, "250 2.0.0 Ok: queued as "));

  envelope = mb_spool_load_envelope (
      f->spool, reply + strlen ("250 2.0.0 Ok: queued as "), &error);
  g_assert_no_error (error);
  g_assert_cmpuint (envelope->recipients->len, ==, 2);
}

/* MAIL SIZE= above max-message-size is refused at once with 552 5.3.4; a
 * message that turns out bigger is refused after its end and not queued. */
static void
test_limits_size (Fixture *f, gconstpointer user_data)
{
  g_autoptr (GString) big = g_string_new ("Subject: big\r\n\r\n");

  fixture_start (f);
  fixture_ehlo (f);
  test_client_send (f->client, "MAIL FROM:<a@example.org> SIZE=65537\r\n");
  test_client_assert_reply (f->client, "552 5.3.4");
  test_client_send (f->client, "MAIL FROM:<a@example.org> SIZE=1000\r\n");
  test_client_assert_reply (f->client, "250 2.1.0");
  test_client_send (f->client, "RCPT TO:<b@example.org>\r\nDATA\r\n");
  test_client_assert_reply (f->client, "250 2.1.5");
  test_client_assert_reply (f->client, "354 ");
  while (big->len < 200 * 1024)
    g_string_append (big, "0123456789012345678901234567890123456789\r\n");
  g_string_append (big, ".\r\n");
  test_client_send_bytes (f->client, big->str, big->len);
  test_client_assert_reply (f->client, "552 5.3.4 Message size exceeds");
  g_assert_cmpuint (spool_length (f), ==, 0);
  test_client_send (f->client, "NOOP\r\n");
  test_client_assert_reply (f->client, "250 2.0.0");
}

/* A command line over max-command-line-length gets 500 5.5.2, with or
 * without its line feed in the same read; the next command works. */
static void
test_limits_line_too_long (Fixture *f, gconstpointer user_data)
{
  g_autofree char *long_line = g_strnfill (600, 'x');
  g_autofree char *huge = g_strnfill (200 * 1024, 'y');

  fixture_start (f);
  test_client_send (f->client, long_line);
  test_client_send (f->client, "\r\nNOOP\r\n");
  test_client_assert_reply (f->client, "500 5.5.2");
  test_client_assert_reply (f->client, "250 2.0.0");

  test_client_send (f->client, huge);
  test_client_assert_reply (f->client, "500 5.5.2");
  test_client_send (f->client, "still the same line\r\nNOOP\r\n");
  test_client_assert_reply (f->client, "250 2.0.0");
}

/* A text line longer than max-line-length refuses the message (500 5.5.2,
 * after the end of data). */
static void
test_limits_text_line (Fixture *f, gconstpointer user_data)
{
  g_autofree char *long_line = g_strnfill (1200, 'z');
  g_autofree char *body
      = g_strdup_printf ("Subject: x\r\n\r\n%s\r\n.\r\n", long_line);

  fixture_start (f);
  fixture_ehlo (f);
  test_client_send (f->client, "MAIL FROM:<a@example.org>\r\n"
                               "RCPT TO:<b@example.org>\r\nDATA\r\n");
  test_client_assert_reply (f->client, "250 2.1.0");
  test_client_assert_reply (f->client, "250 2.1.5");
  test_client_assert_reply (f->client, "354 ");
  test_client_send (f->client, body);
  test_client_assert_reply (f->client, "500 5.5.2 Message refused: a line is "
                                       "longer than 998 characters");
  g_assert_cmpuint (spool_length (f), ==, 0);
}

/* Every SMTP smuggling variant, and bare LF or CR anywhere in the body,
 * gets exactly one 550 5.6.11 after the real end of data: the smuggled
 * commands are never executed, nothing is queued, and the connection
 * still works for a correct message. */
static void
test_smuggling (Fixture *f, gconstpointer user_data)
{
  static const struct
  {
    const char *name;
    const char *end;
    const char *kind;
  } variants[] = {
    { "LF.LF", "\n.\n", "bare LF" },
    { "CR.CR", "\r.\r", "bare CR" },
    { "LF.CRLF", "\n.\r\n", "bare LF" },
    { "CRLF.LF", "\r\n.\n", "bare LF" },
    { "CR.CRLF", "\r.\r\n", "bare CR" },
    { "bare LF in body", "\nmore text\r\n", "bare LF" },
    { "bare CR in body", "\rmore text\r\n", "bare CR" },
  };

  fixture_start (f);
  fixture_ehlo (f);
  for (gsize i = 0; i < G_N_ELEMENTS (variants); i++)
    {
      g_autofree char *data = NULL;
      g_autofree char *reply = NULL;

      g_test_message ("variant: %s", variants[i].name);
      test_client_send (f->client, "MAIL FROM:<a@example.org>\r\n"
                                   "RCPT TO:<b@example.org>\r\nDATA\r\n");
      test_client_assert_reply (f->client, "250 2.1.0");
      test_client_assert_reply (f->client, "250 2.1.5");
      test_client_assert_reply (f->client, "354 ");
      data = g_strconcat ("Subject: smuggle\r\n\r\nfirst", variants[i].end,
                          "MAIL FROM:<evil@example.org>\r\n"
                          "RCPT TO:<victim@example.org>\r\n"
                          "DATA\r\n"
                          "Subject: smuggled\r\n\r\nsmuggled\r\n"
                          "\r\n.\r\n"
                          "NOOP\r\n",
                          NULL);
      test_client_send (f->client, data);
      reply = test_client_read_reply (f->client);
      g_test_message ("reply: %s", reply);
      g_assert_true (g_str_has_prefix (reply, "550 5.6.11 Message refused: "));
      g_assert_nonnull (strstr (reply, variants[i].kind));
      /* The next reply is the NOOP's: nothing in between ran. */
      test_client_assert_reply (f->client, "250 2.0.0 Ok");
      g_assert_cmpuint (spool_length (f), ==, 0);
    }

  g_free (send_message (f, "Subject: fine\r\n\r\nfine\r\n"));
  g_assert_cmpuint (spool_length (f), ==, 1);
}

/* BDAT: two chunks make one message, without dot-unstuffing; BDAT without
 * a transaction still consumes its bytes, then answers 503. */
static void
test_bdat_chunks (Fixture *f, gconstpointer user_data)
{
  g_autofree char *reply = NULL;
  g_autofree char *message = NULL;
  const char      *first = "Subject: chunks\r\n\r\n";
  const char      *second = ".leading dot\r\nend\r\n";
  g_autofree char *commands = NULL;

  fixture_start (f);
  fixture_ehlo (f);
  test_client_send (f->client, "BDAT 6\r\nNOOP\r\nNOOP\r\n");
  test_client_assert_reply (f->client, "503 5.5.1");
  test_client_assert_reply (f->client, "250 2.0.0 Ok");

  commands = g_strdup_printf ("MAIL FROM:<a@example.org>\r\n"
                              "RCPT TO:<b@example.org>\r\n"
                              "BDAT %zu\r\n%s"
                              "BDAT %zu LAST\r\n%s",
                              strlen (first), first, strlen (second), second);
  test_client_send (f->client, commands);
  test_client_assert_reply (f->client, "250 2.1.0");
  test_client_assert_reply (f->client, "250 2.1.5");
  test_client_assert_reply (f->client, "250 2.0.0 19 octets received");
  reply = test_client_read_reply (f->client);
  g_assert_true (g_str_has_prefix (reply, "250 2.0.0 Ok: queued as "));

  message = spool_message (f, reply + strlen ("250 2.0.0 Ok: queued as "));
  g_assert_true (g_str_has_prefix (message, "Received: "));
  g_assert_nonnull (strstr (message, "\r\nSubject: chunks\r\n\r\n"
                                     ".leading dot\r\nend\r\n"));
}

/* A bare LF inside BDAT content refuses the message too. */
static void
test_bdat_bare_lf (Fixture *f, gconstpointer user_data)
{
  fixture_start (f);
  fixture_ehlo (f);
  test_client_send (f->client, "MAIL FROM:<a@example.org>\r\n"
                               "RCPT TO:<b@example.org>\r\n"
                               "BDAT 13 LAST\r\nSubject: x\n\r\n"
                               "NOOP\r\n");
  test_client_assert_reply (f->client, "250 2.1.0");
  test_client_assert_reply (f->client, "250 2.1.5");
  test_client_assert_reply (f->client, "550 5.6.11");
  test_client_assert_reply (f->client, "250 2.0.0 Ok");
  g_assert_cmpuint (spool_length (f), ==, 0);
}

/* More errors than max-errors: 421 4.7.0 and the connection closes. */
static void
test_limits_errors (Fixture *f, gconstpointer user_data)
{
  fixture_start (f);
  test_client_send (f->client, "FROB\r\nFROB\r\nFROB\r\nFROB\r\nNOOP\r\n");
  for (guint i = 0; i < 4; i++)
    test_client_assert_reply (f->client, "500 5.5.2");
  test_client_assert_reply (f->client, "421 4.7.0 mx.test Error: too many "
                                       "errors");
  g_assert_null (test_client_read_reply (f->client));
  MB_TEST_WAIT_UNTIL (f->closed);
}

/* No input for idle-timeout seconds: 421 4.4.2 and close.  (This waits on
 * the timer itself, which is what is tested.) */
static void
test_limits_idle (Fixture *f, gconstpointer user_data)
{
  fixture_start (f);
  test_client_assert_reply (f->client, "421 4.4.2 mx.test Error: timeout "
                                       "exceeded");
  MB_TEST_WAIT_UNTIL (f->closed);
}

/* The whole session is limited by session-timeout even while the client
 * keeps it busy: 421 4.4.2 and close.  (This iterates until the timer
 * fires, which is what is tested.) */
static void
test_limits_session_time (Fixture *f, gconstpointer user_data)
{
  fixture_start (f);
  for (;;)
    {
      g_autofree char *reply = NULL;

      test_client_send (f->client, "NOOP\r\n");
      reply = test_client_read_reply (f->client);
      g_assert_nonnull (reply);
      if (g_str_has_prefix (reply, "250 "))
        continue;
      g_assert_cmpstr (reply, ==,
                       "421 4.4.2 mx.test Error: session time limit exceeded");
      break;
    }
  MB_TEST_WAIT_UNTIL (f->closed);
}

/* BDAT whose size cannot be read closes the connection after 501: its
 * bytes must never be taken for commands. */
static void
test_bdat_syntax (Fixture *f, gconstpointer user_data)
{
  g_autofree char *rest = NULL;

  fixture_start (f);
  fixture_ehlo (f);
  test_client_send (f->client, "MAIL FROM:<a@example.org>\r\n"
                               "RCPT TO:<b@example.org>\r\n"
                               "BDAT lots\r\nQUIT\r\n");
  test_client_assert_reply (f->client, "250 2.1.0");
  test_client_assert_reply (f->client, "250 2.1.5");
  test_client_assert_reply (f->client, "501 5.5.4");
  rest = test_client_read_to_eof (f->client);
  g_assert_cmpstr (rest, ==, "");
  MB_TEST_WAIT_UNTIL (f->closed);
}

/* A refused session answers 503 to everything but QUIT. */
static void
test_refused (Fixture *f, gconstpointer user_data)
{
  fixture_create (f);
  mb_smtp_session_start_refused (f->session, "554 5.7.1 go away");
  test_client_assert_reply (f->client, "554 5.7.1 go away");
  test_client_send (f->client, "EHLO device.lan\r\nMAIL FROM:<a@b.example>\r\n"
                               "QUIT\r\n");
  test_client_assert_reply (f->client, "503 5.5.1");
  test_client_assert_reply (f->client, "503 5.5.1");
  test_client_assert_reply (f->client, "221 2.0.0");
  MB_TEST_WAIT_UNTIL (f->closed);
}

/* close() in the middle of DATA: 421 4.3.2, nothing queued. */
static void
test_close_in_data (Fixture *f, gconstpointer user_data)
{
  fixture_start (f);
  fixture_ehlo (f);
  test_client_send (f->client, "MAIL FROM:<a@example.org>\r\n"
                               "RCPT TO:<b@example.org>\r\nDATA\r\n");
  test_client_assert_reply (f->client, "250 2.1.0");
  test_client_assert_reply (f->client, "250 2.1.5");
  test_client_assert_reply (f->client, "354 ");
  test_client_send (f->client, "Subject: half\r\n\r\nhalf a message\r\n");
  mb_smtp_session_close (f->session);
  test_client_assert_reply (f->client, "421 4.3.2 mx.test Service shutting "
                                       "down");
  MB_TEST_WAIT_UNTIL (f->closed);
  g_assert_cmpuint (spool_length (f), ==, 0);
}

/* The client vanishing in the middle of DATA leaves nothing queued. */
static void
test_close_client_gone (Fixture *f, gconstpointer user_data)
{
  fixture_start (f);
  fixture_ehlo (f);
  test_client_send (f->client, "MAIL FROM:<a@example.org>\r\n"
                               "RCPT TO:<b@example.org>\r\nDATA\r\n");
  test_client_assert_reply (f->client, "250 2.1.0");
  test_client_assert_reply (f->client, "250 2.1.5");
  test_client_assert_reply (f->client, "354 ");
  test_client_send (f->client, "Subject: half\r\n\r\nhalf a message\r\n");
  g_io_stream_close (f->client->stream, NULL, NULL);
  MB_TEST_WAIT_UNTIL (f->closed);
  g_assert_cmpuint (spool_length (f), ==, 0);
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

/* The test client trusts exactly the session's certificate. */
static gboolean
on_accept_certificate_cb (GTlsConnection      *connection,
                          GTlsCertificate     *peer,
                          GTlsCertificateFlags errors,
                          gpointer             user_data)
{
  Fixture *f = user_data;

  return g_tls_certificate_is_same (peer, f->certificate);
}

/* STARTTLS: offered with a certificate; plaintext pipelined after it is
 * discarded, not executed; after the handshake the client must EHLO again,
 * STARTTLS is gone from the list, and Received says ESMTPS. */
static void
test_starttls (Fixture *f, gconstpointer user_data)
{
  g_autofree char *cert_path = g_build_filename (f->dir, "cert.pem", NULL);
  g_autofree char *key_path = g_build_filename (f->dir, "key.pem", NULL);
  g_autoptr (GError) error = NULL;
  g_autoptr (GIOStream) tls = NULL;
  g_autofree char *reply = NULL;
  g_autofree char *id = NULL;
  g_autofree char *message = NULL;
  Handshake        handshake = { 0 };

  if (!mb_test_need_tls_backend ())
    return;
  if (!mb_tls_cert_generate_files (cert_path, key_path, "mx.test", &error))
    {
      g_autofree char *why = g_strdup_printf (
          "cannot generate a test certificate: %s", error->message);

      g_test_skip (why);
      return;
    }
  f->certificate
      = g_tls_certificate_new_from_files (cert_path, key_path, &error);
  g_assert_no_error (error);

  fixture_start (f);
  test_client_send (f->client, "EHLO device.lan\r\n");
  reply = test_client_read_reply (f->client);
  g_assert_nonnull (strstr (reply, "\n250-STARTTLS\n"));
  test_client_send (f->client, "STARTTLS\r\nMAIL FROM:<evil@example.org>\r\n"
                               "NOOP\r\n");
  test_client_assert_reply (f->client, "220 2.0.0 Ready to start TLS");
  g_assert_cmpuint (f->client->input->len, ==, 0);

  tls = g_tls_client_connection_new (f->client->stream, NULL, &error);
  g_assert_no_error (error);
  g_signal_connect (tls, "accept-certificate",
                    G_CALLBACK (on_accept_certificate_cb), f);
  g_tls_connection_handshake_async (G_TLS_CONNECTION (tls), G_PRIORITY_DEFAULT,
                                    NULL, on_handshake_done_cb, &handshake);
  MB_TEST_WAIT_UNTIL (handshake.done);
  g_assert_no_error (handshake.error);
  g_set_object (&f->client->stream, tls);

  /* The discarded MAIL did not start a transaction, and EHLO is needed. */
  test_client_send (f->client, "MAIL FROM:<a@example.org>\r\n");
  test_client_assert_reply (f->client, "503 5.5.1");
  test_client_send (f->client, "EHLO device.lan\r\n");
  g_clear_pointer (&reply, g_free);
  reply = test_client_read_reply (f->client);
  g_assert_true (g_str_has_prefix (reply, "250-mx.test"));
  g_assert_null (strstr (reply, "STARTTLS"));
  test_client_send (f->client, "STARTTLS\r\n");
  test_client_assert_reply (f->client, "503 5.5.1");

  id = send_message (f, "Subject: secure\r\n\r\nscan\r\n");
  message = spool_message (f, id);
  g_assert_nonnull (strstr (message, "with ESMTPS"));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

#define ADD(path, extra, func)                                                 \
  g_test_add ("/relay/smtp-session/" path, Fixture, extra, fixture_setup,      \
              func, fixture_teardown)

  ADD ("greeting/ehlo", NULL, test_greeting_ehlo);
  ADD ("greeting/helo", NULL, test_greeting_helo);
  ADD ("transaction/full", NULL, test_transaction_full);
  ADD ("pipelining/in-order", NULL, test_pipelining_in_order);
  ADD ("pipelining/flood", NULL, test_pipelining_flood);
  ADD ("sequence/errors", "max-errors=100\n", test_sequence_errors);
  ADD ("sequence/ehlo-resets", NULL, test_sequence_ehlo_resets);
  ADD ("limits/recipients", "max-recipients=2\n", test_limits_recipients);
  ADD ("limits/size", NULL, test_limits_size);
  ADD ("limits/command-line", "max-command-line-length=512\n",
       test_limits_line_too_long);
  ADD ("limits/text-line", NULL, test_limits_text_line);
  ADD ("limits/errors", "max-errors=3\n", test_limits_errors);
  ADD ("limits/idle", "idle-timeout=1\n", test_limits_idle);
  ADD ("limits/session-time", "session-timeout=1\n", test_limits_session_time);
  ADD ("smuggling/variants", "max-errors=100\n", test_smuggling);
  ADD ("bdat/chunks", NULL, test_bdat_chunks);
  ADD ("bdat/bare-lf", NULL, test_bdat_bare_lf);
  ADD ("bdat/syntax-closes", NULL, test_bdat_syntax);
  ADD ("refused/503-until-quit", NULL, test_refused);
  ADD ("close/in-data", NULL, test_close_in_data);
  ADD ("close/client-gone", NULL, test_close_client_gone);
  ADD ("starttls/discard-plaintext", NULL, test_starttls);

#undef ADD

  return g_test_run ();
}
