/* fake-smtp-upstream.h - a plain SMTP server that accepts every message
 *
 * Header-only, for unit tests that let the relay deliver (test-scheduler.c).
 * A GSocketService on 127.0.0.1, port 0, on the default main context: it
 * greets, answers EHLO without extensions (no STARTTLS, so a route with
 * tls=opportunistic talks plain text), accepts every MAIL, RCPT and
 * message, and counts what the tests look at: connections accepted and
 * open, QUITs, and the recipients of each accepted message.  With @hold
 * set, the reply to the end of DATA is withheld until
 * fake_upstream_release(): the attempt stays under way as long as the
 * test wants.  Replies are written synchronously (a few bytes on
 * loopback); reads are asynchronous.
 */
#pragma once

#include <gio/gio.h>
#include <string.h>

typedef struct _FakeUpstream FakeUpstream;

typedef struct
{
  FakeUpstream      *upstream;   /* (unowned) */
  GSocketConnection *connection; /* (owned) */
  GDataInputStream  *input;      /* (owned) */
  GString           *rcpts;      /* (owned) of the transaction, ", " */
  gboolean           in_data;
  gboolean           held; /* end of data seen, no reply yet */
} FakeUpstreamConn;

struct _FakeUpstream
{
  GSocketService *service;     /* (owned) */
  GCancellable   *cancellable; /* (owned) */
  guint16         port;
  GPtrArray      *conns;     /* (owned) (element-type FakeUpstreamConn) open */
  GPtrArray      *delivered; /* (owned) (element-type utf8) the recipients of
                              * each accepted message, ", "-joined */
  guint  n_connections;      /* accepted in all */
  guint  n_quits;
  guint *open_total; /* (nullable) open connections of a group of
                      * upstreams, and its highest value */
  guint   *open_max;
  gboolean hold;
};

static inline void fake_upstream_read (FakeUpstreamConn *conn);

static inline void
fake_upstream_write (FakeUpstreamConn *conn, const char *reply)
{
  GOutputStream *output
      = g_io_stream_get_output_stream (G_IO_STREAM (conn->connection));

  g_output_stream_write_all (output, reply, strlen (reply), NULL, NULL, NULL);
}

static inline void
fake_upstream_close (FakeUpstreamConn *conn)
{
  FakeUpstream *upstream = conn->upstream;

  g_io_stream_close (G_IO_STREAM (conn->connection), NULL, NULL);
  g_object_unref (conn->connection);
  g_object_unref (conn->input);
  g_string_free (conn->rcpts, TRUE);
  if (upstream->open_total != NULL)
    (*upstream->open_total)--;
  g_ptr_array_remove (upstream->conns, conn);
  g_free (conn);
}

static inline void
fake_upstream_accept_message (FakeUpstreamConn *conn)
{
  g_ptr_array_add (conn->upstream->delivered, g_strdup (conn->rcpts->str));
  g_string_truncate (conn->rcpts, 0);
  fake_upstream_write (conn, "250 2.0.0 OK queued\r\n");
}

static inline void
fake_upstream_line_cb (GObject      *source,
                       GAsyncResult *result,
                       gpointer      user_data)
{
  FakeUpstreamConn *conn = user_data;
  g_autoptr (GError) error = NULL;
  g_autofree char *line = g_data_input_stream_read_line_finish (
      G_DATA_INPUT_STREAM (source), result, NULL, &error);

  if (line == NULL)
    {
      fake_upstream_close (conn);
      return;
    }
  if (conn->in_data)
    {
      if (strcmp (line, ".") == 0)
        {
          conn->in_data = FALSE;
          if (conn->upstream->hold)
            {
              conn->held = TRUE;
              return;
            }
          fake_upstream_accept_message (conn);
        }
    }
  else if (g_ascii_strncasecmp (line, "EHLO", 4) == 0
           || g_ascii_strncasecmp (line, "HELO", 4) == 0)
    fake_upstream_write (conn, "250 fake.upstream.test\r\n");
  else if (g_ascii_strncasecmp (line, "RCPT TO:", 8) == 0)
    {
      if (conn->rcpts->len > 0)
        g_string_append (conn->rcpts, ", ");
      g_string_append (conn->rcpts, line + 8);
      fake_upstream_write (conn, "250 2.1.5 OK\r\n");
    }
  else if (g_ascii_strcasecmp (line, "DATA") == 0)
    {
      conn->in_data = TRUE;
      fake_upstream_write (conn, "354 Start mail input\r\n");
    }
  else if (g_ascii_strcasecmp (line, "QUIT") == 0)
    {
      conn->upstream->n_quits++;
      fake_upstream_write (conn, "221 2.0.0 Bye\r\n");
      fake_upstream_close (conn);
      return;
    }
  else
    fake_upstream_write (conn, "250 2.0.0 OK\r\n");
  fake_upstream_read (conn);
}

static inline void
fake_upstream_read (FakeUpstreamConn *conn)
{
  g_data_input_stream_read_line_async (conn->input, G_PRIORITY_DEFAULT,
                                       conn->upstream->cancellable,
                                       fake_upstream_line_cb, conn);
}

static inline gboolean
fake_upstream_incoming_cb (GSocketService    *service,
                           GSocketConnection *connection,
                           GObject           *source,
                           gpointer           user_data)
{
  FakeUpstream     *upstream = user_data;
  FakeUpstreamConn *conn = g_new0 (FakeUpstreamConn, 1);

  conn->upstream = upstream;
  conn->connection = g_object_ref (connection);
  conn->input = g_data_input_stream_new (
      g_io_stream_get_input_stream (G_IO_STREAM (connection)));
  g_data_input_stream_set_newline_type (conn->input,
                                        G_DATA_STREAM_NEWLINE_TYPE_CR_LF);
  conn->rcpts = g_string_new (NULL);
  g_ptr_array_add (upstream->conns, conn);
  upstream->n_connections++;
  if (upstream->open_total != NULL
      && ++(*upstream->open_total) > *upstream->open_max)
    *upstream->open_max = *upstream->open_total;
  fake_upstream_write (conn, "220 fake.upstream.test ESMTP\r\n");
  fake_upstream_read (conn);
  return TRUE;
}

static inline FakeUpstream *
fake_upstream_new (void)
{
  FakeUpstream *upstream = g_new0 (FakeUpstream, 1);
  g_autoptr (GInetAddress) loopback
      = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr (GSocketAddress) address = g_inet_socket_address_new (loopback, 0);
  g_autoptr (GSocketAddress) effective = NULL;
  g_autoptr (GError) error = NULL;

  upstream->conns = g_ptr_array_new ();
  upstream->delivered = g_ptr_array_new_with_free_func (g_free);
  upstream->cancellable = g_cancellable_new ();
  upstream->service = g_socket_service_new ();
  g_socket_listener_add_address (G_SOCKET_LISTENER (upstream->service), address,
                                 G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_TCP,
                                 NULL, &effective, &error);
  g_assert_no_error (error);
  upstream->port
      = g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (effective));
  g_signal_connect (upstream->service, "incoming",
                    G_CALLBACK (fake_upstream_incoming_cb), upstream);
  g_socket_service_start (upstream->service);
  return upstream;
}

/* Sends the withheld replies and accepts what comes next at once. */
static inline void
fake_upstream_release (FakeUpstream *upstream)
{
  upstream->hold = FALSE;
  for (guint i = 0; i < upstream->conns->len; i++)
    {
      FakeUpstreamConn *conn = upstream->conns->pdata[i];

      if (!conn->held)
        continue;
      conn->held = FALSE;
      fake_upstream_accept_message (conn);
      fake_upstream_read (conn);
    }
}

/* How many messages wait for fake_upstream_release(). */
static inline guint
fake_upstream_count_held (FakeUpstream *upstream)
{
  guint n = 0;

  for (guint i = 0; i < upstream->conns->len; i++)
    n += ((FakeUpstreamConn *)upstream->conns->pdata[i])->held;
  return n;
}

/* Closes every connection (iterating the main context until the pending
 * reads have ended) and frees @upstream. */
static inline void
fake_upstream_free (FakeUpstream *upstream)
{
  g_socket_service_stop (upstream->service);
  g_socket_listener_close (G_SOCKET_LISTENER (upstream->service));
  /* Held connections have no read under way: close them here. */
  for (guint i = upstream->conns->len; i > 0; i--)
    {
      FakeUpstreamConn *conn = upstream->conns->pdata[i - 1];

      if (conn->held)
        fake_upstream_close (conn);
    }
  g_cancellable_cancel (upstream->cancellable);
  while (upstream->conns->len > 0)
    g_main_context_iteration (NULL, TRUE);
  g_object_unref (upstream->service);
  g_object_unref (upstream->cancellable);
  g_ptr_array_unref (upstream->conns);
  g_ptr_array_unref (upstream->delivered);
  g_free (upstream);
}
