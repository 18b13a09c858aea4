/* smtp-test-client.h - a tiny asynchronous SMTP client for the unit tests
 *
 * Header-only, shared by test-smtp-session.c, test-smtp-server.c and
 * test-smtp-message.c.  It writes raw bytes and reads reply lines over any
 * GIOStream, iterating the default main context until the operation
 * finished (MB_TEST_WAIT_UNTIL): no sleeps, no threads, and a hung peer
 * fails the test instead of hanging it.  Reads happen only on demand, so
 * the stream can be wrapped in TLS between two calls.
 */
#pragma once

#include "mb-test-util.h"

#include <gio/gio.h>
#include <string.h>

typedef struct
{
  GIOStream  *stream; /* (owned) */
  GByteArray *input;  /* (owned) received, not yet taken */
  gboolean    reading;
  gboolean    writing;
  gboolean    eof;
  GError     *error; /* (owned) (nullable) the last I/O error */
  guint8      buffer[16384];
} TestClient;

static inline TestClient *
test_client_new (GIOStream *stream)
{
  TestClient *client = g_new0 (TestClient, 1);

  client->stream = g_object_ref (stream);
  client->input = g_byte_array_new ();
  return client;
}

static inline void
test_client_free (TestClient *client)
{
  if (client == NULL)
    return;
  g_assert_false (client->reading);
  g_assert_false (client->writing);
  g_object_unref (client->stream);
  g_byte_array_unref (client->input);
  g_clear_error (&client->error);
  g_free (client);
}

static inline void
test_client_written_cb (GObject *source, GAsyncResult *result, gpointer data)
{
  TestClient *client = data;

  client->writing = FALSE;
  g_clear_error (&client->error);
  g_output_stream_write_all_finish (G_OUTPUT_STREAM (source), result, NULL,
                                    &client->error);
}

/* Writes @len bytes; returns whether all were written (the peer may have
 * closed). */
static inline gboolean
test_client_send_bytes (TestClient *client, const void *data, gsize len)
{
  client->writing = TRUE;
  g_output_stream_write_all_async (
      g_io_stream_get_output_stream (client->stream), data, len,
      G_PRIORITY_DEFAULT, NULL, test_client_written_cb, client);
  MB_TEST_WAIT_UNTIL (!client->writing);
  return client->error == NULL;
}

/* Starts writing @len bytes (which must stay valid) and returns at once,
 * so the test can read replies meanwhile; see test_client_wait_sent(). */
static inline void
test_client_send_begin (TestClient *client, const void *data, gsize len)
{
  client->writing = TRUE;
  g_output_stream_write_all_async (
      g_io_stream_get_output_stream (client->stream), data, len,
      G_PRIORITY_DEFAULT, NULL, test_client_written_cb, client);
}

static inline gboolean
test_client_wait_sent (TestClient *client)
{
  MB_TEST_WAIT_UNTIL (!client->writing);
  return client->error == NULL;
}

static inline gboolean
test_client_send (TestClient *client, const char *text)
{
  return test_client_send_bytes (client, text, strlen (text));
}

static inline void
test_client_read_cb (GObject *source, GAsyncResult *result, gpointer data)
{
  TestClient *client = data;
  gssize      n;

  client->reading = FALSE;
  g_clear_error (&client->error);
  n = g_input_stream_read_finish (G_INPUT_STREAM (source), result,
                                  &client->error);
  if (n <= 0)
    client->eof = TRUE;
  else
    g_byte_array_append (client->input, client->buffer, (guint)n);
}

static inline void
test_client_read_more (TestClient *client)
{
  client->reading = TRUE;
  g_input_stream_read_async (g_io_stream_get_input_stream (client->stream),
                             client->buffer, sizeof client->buffer,
                             G_PRIORITY_DEFAULT, NULL, test_client_read_cb,
                             client);
  MB_TEST_WAIT_UNTIL (!client->reading);
}

/* One line without its CRLF; NULL at end of stream. */
static inline char *
test_client_read_line (TestClient *client)
{
  for (;;)
    {
      const guint8 *lf
          = client->input->len > 0
                ? memchr (client->input->data, '\n', client->input->len)
                : NULL;

      if (lf != NULL)
        {
          gsize len = (gsize)(lf - client->input->data);
          char *line = g_strndup ((const char *)client->input->data,
                                  len > 0 && lf[-1] == '\r' ? len - 1 : len);

          g_byte_array_remove_range (client->input, 0, (guint)len + 1);
          return line;
        }
      if (client->eof)
        return NULL;
      test_client_read_more (client);
    }
}

/* A whole reply, its lines joined by "\n"; NULL at end of stream. */
static inline char *
test_client_read_reply (TestClient *client)
{
  g_autoptr (GString) reply = g_string_new (NULL);

  for (;;)
    {
      g_autofree char *line = test_client_read_line (client);

      if (line == NULL)
        return NULL;
      if (reply->len > 0)
        g_string_append_c (reply, '\n');
      g_string_append (reply, line);
      if (strlen (line) < 4 || line[3] != '-')
        return g_string_free (g_steal_pointer (&reply), FALSE);
    }
}

/* Reads until the peer closed; returns what came before, as text. */
static inline char *
test_client_read_to_eof (TestClient *client)
{
  while (!client->eof)
    test_client_read_more (client);
  return g_strndup ((const char *)client->input->data, client->input->len);
}

/* Asserts that the next reply starts with @prefix. */
#define test_client_assert_reply(client, prefix)                               \
  G_STMT_START                                                                 \
  {                                                                            \
    g_autofree char *reply_ = test_client_read_reply (client);                 \
    g_autofree char *head_ = NULL;                                             \
    g_assert_nonnull (reply_);                                                 \
    g_test_message ("reply: %s", reply_);                                      \
    head_ = g_strndup (reply_, strlen (prefix));                               \
    g_assert_cmpstr (head_, ==, prefix);                                       \
  }                                                                            \
  G_STMT_END
