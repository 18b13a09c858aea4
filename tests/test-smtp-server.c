/* test-smtp-server.c - listeners, the allow list and connection limits
 *
 * Each test starts an MbSmtpServer on loopback port 0 with a real spool in
 * a temporary directory, and connects with GSocketClient.
 */
#include "mb-smtp-server.h"

#include "smtp-test-client.h"

typedef struct
{
  char          *dir;
  MbRelayConfig *config;
  MbSpool       *spool;
  MbSmtpServer  *server;
  guint          accepted;
} Fixture;

/* @extra: [relay] lines; a line "listen=IP" (one address) binds port 0.
 * The configuration file refuses port 0, so the test sets it in the fresh,
 * not yet shared configuration. */
static MbRelayConfig *
load_config (Fixture *f, const char *extra)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *spool_dir = g_build_filename (f->dir, "spool", NULL);
  g_auto (GStrv) lines = g_strsplit (extra, "\n", -1);
  g_autoptr (GString) text = g_string_new ("[relay]\nhostname=mx.test\n");
  const char    *listen_ip = "127.0.0.1";
  MbRelayConfig *config;

  g_string_append_printf (text, "spool=%s\n", spool_dir);
  for (gsize i = 0; lines[i] != NULL; i++)
    {
      if (g_str_has_prefix (lines[i], "listen="))
        listen_ip = lines[i] + strlen ("listen=");
      else
        g_string_append_printf (text, "%s\n", lines[i]);
    }
  config = mb_relay_config_load_data (text->str, -1, "test.conf", &error);
  g_assert_no_error (error);
  g_ptr_array_set_size (config->listen, 0);
  g_ptr_array_add (config->listen,
                   g_inet_socket_address_new_from_string (listen_ip, 0));
  return config;
}

static void
on_message_accepted_cb (MbSmtpServer *server,
                        const char   *queue_id,
                        gpointer      user_data)
{
  Fixture *f = user_data;

  f->accepted++;
}

/* @user_data: the [relay] lines for this test (listen, allow, limits). */
static void
fixture_setup (Fixture *f, gconstpointer user_data)
{
  g_autoptr (GError) error = NULL;
  MbSpoolRecovery recovery;

  f->dir = mb_test_make_tmpdir ("smtp-server");
  f->config = load_config (f, user_data);
  f->spool = mb_spool_new (f->config->spool, &error);
  g_assert_no_error (error);
  g_assert_true (mb_spool_recover (f->spool, &recovery, &error));
  g_assert_no_error (error);
  f->server = mb_smtp_server_new (f->config, f->spool);
  g_signal_connect (f->server, "message-accepted",
                    G_CALLBACK (on_message_accepted_cb), f);
}

static void
fixture_teardown (Fixture *f, gconstpointer user_data)
{
  mb_smtp_server_stop (f->server);
  MB_TEST_WAIT_UNTIL (mb_smtp_server_get_n_sessions (f->server) == 0);
  g_clear_object (&f->server);
  g_clear_object (&f->spool);
  g_clear_pointer (&f->config, mb_relay_config_unref);
  mb_test_remove_tree (f->dir);
  g_free (f->dir);
}

/* Starts the server; returns its first bound address. */
static GSocketAddress *
fixture_start (Fixture *f)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) bound = NULL;

  g_assert_true (mb_smtp_server_start (f->server, &error));
  g_assert_no_error (error);
  bound = mb_smtp_server_get_bound_addresses (f->server);
  g_assert_cmpuint (bound->len, >=, 1);
  g_assert_cmpuint (g_inet_socket_address_get_port (
                        G_INET_SOCKET_ADDRESS (g_ptr_array_index (bound, 0))),
                    !=, 0);
  return g_object_ref (g_ptr_array_index (bound, 0));
}

typedef struct
{
  gboolean           done;
  GSocketConnection *connection;
  GError            *error;
} Connect;

static void
on_connected_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  Connect *connect = user_data;

  connect->connection = g_socket_client_connect_finish (
      G_SOCKET_CLIENT (source), result, &connect->error);
  connect->done = TRUE;
}

/* Connects to @address; NULL with @error set when refused. */
static TestClient *
connect_to (GSocketAddress *address, GError **error)
{
  g_autoptr (GSocketClient) socket_client = g_socket_client_new ();
  Connect     connect = { 0 };
  TestClient *client;

  g_socket_client_connect_async (socket_client, G_SOCKET_CONNECTABLE (address),
                                 NULL, on_connected_cb, &connect);
  MB_TEST_WAIT_UNTIL (connect.done);
  if (connect.connection == NULL)
    {
      g_propagate_error (error, connect.error);
      return NULL;
    }
  client = test_client_new (G_IO_STREAM (connect.connection));
  g_object_unref (connect.connection);
  return client;
}

static TestClient *
connect_ok (GSocketAddress *address)
{
  g_autoptr (GError) error = NULL;
  TestClient *client = connect_to (address, &error);

  g_assert_no_error (error);
  return client;
}

static void
client_quit (TestClient *client)
{
  g_autofree char *rest = NULL;

  test_client_send (client, "QUIT\r\n");
  test_client_assert_reply (client, "221 2.0.0");
  rest = test_client_read_to_eof (client);
  g_assert_cmpstr (rest, ==, "");
  test_client_free (client);
}

/* Tests */

/* A client on the allow list gets a session: a message is queued and the
 * server forwards "message-accepted"; the session is dropped at QUIT. */
static void
test_accept_transaction (Fixture *f, gconstpointer user_data)
{
  g_autoptr (GSocketAddress) address = fixture_start (f);
  TestClient      *client = connect_ok (address);
  g_autofree char *ehlo = NULL;

  test_client_assert_reply (client, "220 mx.test ESMTP Mailbridge");
  g_assert_cmpuint (mb_smtp_server_get_n_sessions (f->server), ==, 1);
  test_client_send (client, "EHLO device.lan\r\n");
  ehlo = test_client_read_reply (client);
  g_assert_true (g_str_has_prefix (ehlo, "250-mx.test\n"));
  test_client_send (client, "MAIL FROM:<a@example.org>\r\n"
                            "RCPT TO:<b@example.org>\r\nDATA\r\n");
  test_client_assert_reply (client, "250 2.1.0");
  test_client_assert_reply (client, "250 2.1.5");
  test_client_assert_reply (client, "354 ");
  test_client_send (client, "Subject: hi\r\n\r\nhi\r\n.\r\n");
  test_client_assert_reply (client, "250 2.0.0 Ok: queued as ");
  g_assert_cmpuint (f->accepted, ==, 1);
  g_assert_cmpuint (mb_spool_get_length (f->spool), ==, 1);
  client_quit (client);
  MB_TEST_WAIT_UNTIL (mb_smtp_server_get_n_sessions (f->server) == 0);
}

/* A client outside the allow list gets 554 5.7.1 naming its address, 503
 * to commands, and 221 to QUIT. */
static void
test_allow_refused (Fixture *f, gconstpointer user_data)
{
  g_autoptr (GSocketAddress) address = fixture_start (f);
  TestClient *client = connect_ok (address);

  test_client_assert_reply (client,
                            "554 5.7.1 mx.test: your address 127.0.0.1 is not "
                            "allowed to relay through this server; ask the "
                            "administrator to add it to the allow list");
  test_client_send (client, "EHLO device.lan\r\n");
  test_client_assert_reply (client, "503 5.5.1");
  test_client_send (client, "MAIL FROM:<a@example.org>\r\n");
  test_client_assert_reply (client, "503 5.5.1");
  client_quit (client);
  g_assert_cmpuint (mb_spool_get_length (f->spool), ==, 0);
}

/* A second connection from one IP over max-connections-per-client gets
 * 421 4.7.0 and is closed; once the first has gone, a new one is served. */
static void
test_limits_per_client (Fixture *f, gconstpointer user_data)
{
  g_autoptr (GSocketAddress) address = fixture_start (f);
  TestClient      *first = connect_ok (address);
  TestClient      *second = NULL;
  TestClient      *third = NULL;
  g_autofree char *rest = NULL;

  test_client_assert_reply (first, "220 ");
  second = connect_ok (address);
  test_client_assert_reply (second, "421 4.7.0 Too many connections from "
                                    "your address, try again later");
  rest = test_client_read_to_eof (second);
  g_assert_cmpstr (rest, ==, "");
  test_client_free (second);

  client_quit (first);
  MB_TEST_WAIT_UNTIL (mb_smtp_server_get_n_sessions (f->server) == 0);
  third = connect_ok (address);
  test_client_assert_reply (third, "220 ");
  client_quit (third);
}

/* Over max-connections in total: 421 4.3.2. */
static void
test_limits_total (Fixture *f, gconstpointer user_data)
{
  g_autoptr (GSocketAddress) address = fixture_start (f);
  TestClient *first = connect_ok (address);
  TestClient *second = NULL;

  test_client_assert_reply (first, "220 ");
  second = connect_ok (address);
  test_client_assert_reply (second, "421 4.3.2 Too many connections, try "
                                    "again later");
  g_free (test_client_read_to_eof (second));
  test_client_free (second);
  client_quit (first);
}

/* An IPv6 listener on ::1 serves IPv6 clients (skipped without IPv6). */
static void
test_ipv6_listener (Fixture *f, gconstpointer user_data)
{
  g_autoptr (GSocket) probe = NULL;
  g_autoptr (GSocketAddress) any = NULL;
  g_autoptr (GSocketAddress) address = NULL;
  TestClient *client;

  probe = g_socket_new (G_SOCKET_FAMILY_IPV6, G_SOCKET_TYPE_STREAM,
                        G_SOCKET_PROTOCOL_TCP, NULL);
  any = g_inet_socket_address_new_from_string ("::1", 0);
  if (probe == NULL || !g_socket_bind (probe, any, TRUE, NULL))
    {
      g_test_skip ("IPv6 loopback (::1) is not available");
      return;
    }

  address = fixture_start (f);
  g_assert_cmpint (g_socket_address_get_family (address), ==,
                   G_SOCKET_FAMILY_IPV6);
  client = connect_ok (address);
  test_client_assert_reply (client, "220 mx.test ESMTP Mailbridge");
  client_quit (client);
}

/* stop() closes the listeners and every session with 421 4.3.2. */
static void
test_stop_closes_sessions (Fixture *f, gconstpointer user_data)
{
  g_autoptr (GSocketAddress) address = fixture_start (f);
  TestClient *client = connect_ok (address);
  g_autoptr (GError) error = NULL;
  TestClient *late;

  test_client_assert_reply (client, "220 ");
  mb_smtp_server_stop (f->server);
  test_client_assert_reply (client, "421 4.3.2 mx.test Service shutting down");
  g_free (test_client_read_to_eof (client));
  test_client_free (client);
  MB_TEST_WAIT_UNTIL (mb_smtp_server_get_n_sessions (f->server) == 0);

  late = connect_to (address, &error);
  g_assert_null (late);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CONNECTION_REFUSED);
}

/* set_config: the allow list applies to the next connection at once, open
 * sessions keep theirs; an unchanged listen list keeps its socket, a changed
 * one is rebound and the old address closed. */
static void
test_config_reload (Fixture *f, gconstpointer user_data)
{
  g_autoptr (GSocketAddress) address = fixture_start (f);
  g_autoptr (MbRelayConfig) same_listen = NULL;
  g_autoptr (MbRelayConfig) new_listen = NULL;
  g_autoptr (GPtrArray) bound = NULL;
  g_autoptr (GError) error = NULL;
  TestClient         *open_session = connect_ok (address);
  TestClient         *client;
  GInetSocketAddress *now;

  test_client_assert_reply (open_session, "220 ");

  same_listen = load_config (f, "listen=127.0.0.1\nallow=127.0.0.2/32\n");
  mb_smtp_server_set_config (f->server, same_listen);
  bound = mb_smtp_server_get_bound_addresses (f->server);
  g_assert_cmpuint (bound->len, ==, 1);
  now = g_ptr_array_index (bound, 0);
  g_assert_cmpuint (
      g_inet_socket_address_get_port (now), ==,
      g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (address)));
  client = connect_ok (address);
  test_client_assert_reply (client, "554 5.7.1");
  client_quit (client);

  /* The session opened before still relays. */
  test_client_send (open_session, "EHLO device.lan\r\n");
  g_free (test_client_read_reply (open_session));
  test_client_send (open_session, "MAIL FROM:<a@example.org>\r\n");
  test_client_assert_reply (open_session, "250 2.1.0");

  new_listen = load_config (f, "listen=127.0.0.2\n");
  mb_smtp_server_set_config (f->server, new_listen);
  g_clear_pointer (&bound, g_ptr_array_unref);
  bound = mb_smtp_server_get_bound_addresses (f->server);
  g_assert_cmpuint (bound->len, ==, 1);
  now = g_ptr_array_index (bound, 0);
  {
    g_autofree char *ip
        = g_inet_address_to_string (g_inet_socket_address_get_address (now));

    g_assert_cmpstr (ip, ==, "127.0.0.2");
  }
  client = connect_ok (G_SOCKET_ADDRESS (now));
  test_client_assert_reply (client, "220 ");
  client_quit (client);
  g_assert_null (connect_to (address, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CONNECTION_REFUSED);

  client_quit (open_session);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

#define ADD(path, config, func)                                                \
  g_test_add ("/relay/smtp-server/" path, Fixture, config, fixture_setup,      \
              func, fixture_teardown)

  ADD ("accept/transaction", "listen=127.0.0.1\n", test_accept_transaction);
  ADD ("allow/refused", "listen=127.0.0.1\nallow=127.0.0.2/32\n",
       test_allow_refused);
  ADD ("limits/per-client", "listen=127.0.0.1\nmax-connections-per-client=1\n",
       test_limits_per_client);
  ADD ("limits/total",
       "listen=127.0.0.1\nmax-connections=1\n"
       "max-connections-per-client=1\n",
       test_limits_total);
  ADD ("ipv6/listener", "listen=::1\n", test_ipv6_listener);
  ADD ("stop/closes-sessions", "listen=127.0.0.1\n", test_stop_closes_sessions);
  ADD ("config/reload", "listen=127.0.0.1\n", test_config_reload);

#undef ADD

  return g_test_run ();
}
