/* test-smtp-message.c - the message being received, without sockets
 *
 * Each test feeds an MbSmtpMessage the bytes a session would, against a
 * real spool in a temporary directory, and checks the refusal decision,
 * the reply texts and what reaches queue/.
 */
#include "mb-smtp-message.h"

#include "smtp-test-client.h"

#include <glib/gstdio.h>

typedef struct
{
  char           *dir;
  MbRelayConfig  *config;
  MbSpool        *spool;
  MbSmtpMailArgs *mail;
  GPtrArray      *rcpts; /* (element-type MbSmtpRcptArgs) */
  guint           ready; /* "ready" emissions */
} Fixture;

/* @user_data: extra [relay] lines for this test. */
static void
fixture_setup (Fixture *f, gconstpointer user_data)
{
  const char *extra = user_data;
  g_autoptr (GError) error = NULL;
  g_autofree char *text = NULL;
  g_autofree char *spool_dir = NULL;
  MbSpoolRecovery  recovery;

  f->dir = mb_test_make_tmpdir ("smtp-message");
  spool_dir = g_build_filename (f->dir, "spool", NULL);
  text = g_strdup_printf ("[relay]\nhostname=mx.test\nspool=%s\n%s", spool_dir,
                          extra != NULL ? extra : "");
  f->config = mb_relay_config_load_data (text, -1, "test.conf", &error);
  g_assert_no_error (error);
  f->spool = mb_spool_new (f->config->spool, &error);
  g_assert_no_error (error);
  g_assert_true (mb_spool_recover (f->spool, &recovery, &error));
  f->mail = mb_smtp_mail_args_parse ("FROM:<scanner@example.org>", &error);
  g_assert_no_error (error);
  f->rcpts
      = g_ptr_array_new_with_free_func ((GDestroyNotify)mb_smtp_rcpt_args_free);
  g_ptr_array_add (f->rcpts, mb_smtp_rcpt_args_parse ("TO:<office@example.com>",
                                                      FALSE, &error));
  g_assert_no_error (error);
}

static void
fixture_teardown (Fixture *f, gconstpointer user_data)
{
  /* Let deferred spool idles ("committed") drop their references. */
  while (g_main_context_iteration (NULL, FALSE))
    ;
  g_clear_object (&f->spool);
  g_clear_pointer (&f->config, mb_relay_config_unref);
  g_clear_pointer (&f->mail, mb_smtp_mail_args_free);
  g_clear_pointer (&f->rcpts, g_ptr_array_unref);
  mb_test_remove_tree (f->dir);
  g_free (f->dir);
}

static void
on_ready_cb (MbSmtpMessage *message, gpointer user_data)
{
  Fixture *f = user_data;

  f->ready++;
}

static MbSmtpMessage *
fixture_new_message (Fixture *f, MbSmtpMessageFraming framing)
{
  MbSmtpMessageOrigin origin = {
    .session_id = "TEST",
    .client_ip = "192.0.2.7",
    .helo = "scanner.lan",
    .protocol = "ESMTP",
    .mail = f->mail,
    .rcpts = f->rcpts,
  };
  MbSmtpMessage *message;

  message = mb_smtp_message_new (f->spool, f->config, &origin, framing);
  g_signal_connect (message, "ready", G_CALLBACK (on_ready_cb), f);
  return message;
}

static guint
count_files (Fixture *f, const char *sub)
{
  g_autofree char *path = g_build_filename (f->config->spool, sub, NULL);

  return mb_test_count_files (path);
}

/* Feeds DATA input in pieces of @piece bytes (0: all at once), waiting out
 * the back-pressure as a session does.  Returns the bytes consumed when
 * the end of data was seen, or -1 if it never was. */
static gssize
feed_data (MbSmtpMessage *message, const char *text, gsize piece)
{
  gsize len = strlen (text);
  gsize done = 0;

  while (done < len)
    {
      gsize n = piece > 0 ? MIN (piece, len - done) : len - done;
      gsize consumed = 0;

      MB_TEST_WAIT_UNTIL (!mb_smtp_message_is_busy (message));
      if (mb_smtp_message_feed_data (message, (const guint8 *)text + done, n,
                                     &consumed))
        return (gssize)(done + consumed);
      g_assert_cmpuint (consumed, ==, n);
      done += n;
    }
  return -1;
}

static gboolean
commit (MbSmtpMessage *message, GError **error)
{
  g_autoptr (GAsyncResult) result = NULL;

  mb_smtp_message_commit_async (message, mb_test_store_result_cb, &result);
  mb_test_wait_for_result (&result);
  g_assert_false (mb_smtp_message_is_busy (message));
  return mb_smtp_message_commit_finish (message, result, error);
}

static char *
read_queued (Fixture *f, MbSmtpMessage *message)
{
  g_autofree char *path = mb_spool_get_message_path (
      f->spool, mb_smtp_message_get_queue_id (message));
  g_autoptr (GError) error = NULL;
  char *contents = NULL;

  g_assert_true (g_file_get_contents (path, &contents, NULL, &error));
  g_assert_no_error (error);
  return contents;
}

/* A clean DATA message is unstuffed, stamped, committed, and input
 * pipelined after the end of data is left to the session. */
static void
test_data_queued (Fixture *f, gconstpointer user_data)
{
  const char *input = "Subject: test\r\n"
                      "Message-ID: <m1@scanner.lan>\r\n"
                      "\r\n"
                      "..leading dot\r\n"
                      "body\r\n"
                      ".\r\n"
                      "QUIT\r\n";
  g_autoptr (MbSmtpMessage) message
      = fixture_new_message (f, MB_SMTP_MESSAGE_DATA);
  g_autoptr (GError) error = NULL;
  g_autoptr (MbEnvelope) loaded = NULL;
  g_autofree char  *eml = NULL;
  const MbEnvelope *envelope;

  g_assert_cmpint (feed_data (message, input, 0), ==,
                   strlen (input) - strlen ("QUIT\r\n"));
  g_assert_true (commit (message, &error));
  g_assert_no_error (error);
  g_assert_cmpint (mb_smtp_message_get_refusal (message), ==,
                   MB_SMTP_REFUSAL_NONE);

  eml = read_queued (f, message);
  g_assert_true (g_str_has_prefix (eml, "Received: from scanner.lan"));
  g_assert_nonnull (strstr (eml, "\r\n\r\n.leading dot\r\nbody\r\n"));
  g_assert_true (g_str_has_suffix (eml, "body\r\n"));
  g_assert_cmpuint (mb_smtp_message_get_size (message), ==, strlen (eml));

  envelope = mb_smtp_message_get_envelope (message);
  g_assert_cmpstr (envelope->id, ==, mb_smtp_message_get_queue_id (message));
  g_assert_cmpstr (envelope->message_id, ==, "m1@scanner.lan");
  loaded = mb_spool_load_envelope (
      f->spool, mb_smtp_message_get_queue_id (message), &error);
  g_assert_no_error (error);
  g_assert_cmpstr (loaded->sender, ==, "scanner@example.org");
  g_assert_cmpuint (loaded->recipients->len, ==, 1);
  g_assert_cmpstr (
      ((MbRecipient *)g_ptr_array_index (loaded->recipients, 0))->address, ==,
      "office@example.com");
  g_assert_cmpstr (loaded->client_address, ==, "192.0.2.7");
  g_assert_cmpstr (loaded->client_helo, ==, "scanner.lan");
  g_assert_cmpuint (loaded->size, ==, strlen (eml));
}

typedef struct
{
  const char   *name;
  const char   *input;
  MbSmtpRefusal refusal;
  const char   *reply; /* prefix */
} RefusalCase;

#define X10 "xxxxxxxxxx"
#define X100 X10 X10 X10 X10 X10 X10 X10 X10 X10 X10

static const RefusalCase data_refusals[] = {
  { "bare-lf", "Subject: a\r\n\r\nline\nmore\r\n.\r\n", MB_SMTP_REFUSAL_BARE_LF,
    "550 5.6.11 " },
  { "bare-cr", "Subject: a\r\n\r\nline\rmore\r\n.\r\n", MB_SMTP_REFUSAL_BARE_CR,
    "550 5.6.11 " },
  /* A smuggled end of data ends nothing: only <CRLF>.<CRLF> does. */
  { "smuggled-end",
    "Subject: a\r\n\r\nx\n.\nMAIL FROM:<evil@example.org>\r\n"
    ".\r\n",
    MB_SMTP_REFUSAL_BARE_LF, "550 5.6.11 " },
  /* In one piece of input, smuggling wins over a long line. */
  { "lf-beats-long-line", "Subject: a\r\n\r\n" X100 "x\r\nz\nw\r\n.\r\n",
    MB_SMTP_REFUSAL_BARE_LF, "550 5.6.11 " },
};

/* Each DATA refusal is decided, read to the real end of data, reported by
 * the commit with its reply, and leaves nothing in the spool. */
static void
test_data_refusals (Fixture *f, gconstpointer user_data)
{
  for (gsize i = 0; i < G_N_ELEMENTS (data_refusals); i++)
    {
      const RefusalCase *c = &data_refusals[i];
      g_autoptr (MbSmtpMessage) message
          = fixture_new_message (f, MB_SMTP_MESSAGE_DATA);
      g_autoptr (GError) error = NULL;
      g_autofree char *line = NULL;

      g_test_message ("case %s", c->name);
      g_assert_cmpint (feed_data (message, c->input, 0), ==, strlen (c->input));
      g_assert_cmpint (mb_smtp_message_get_refusal (message), ==, c->refusal);
      g_assert_false (commit (message, &error));
      g_assert_error (error, MB_SMTP_MESSAGE_ERROR, (int)c->refusal);
      line = mb_smtp_message_format_refusal (message);
      g_assert_true (g_str_has_prefix (line, c->reply));
      g_assert_cmpstr (error->message, ==, line);
      g_assert_null (mb_smtp_message_get_queue_id (message));
      g_clear_object (&message);
      g_assert_cmpuint (count_files (f, "queue"), ==, 0);
      g_assert_cmpuint (count_files (f, "tmp"), ==, 0);
    }
}

/* A text line over max-line-length refuses the message with 500 5.5.2
 * naming the limit. */
static void
test_data_line_too_long (Fixture *f, gconstpointer user_data)
{
  g_autoptr (MbSmtpMessage) message
      = fixture_new_message (f, MB_SMTP_MESSAGE_DATA);
  g_autoptr (GError) error = NULL;
  g_autofree char *line = g_strnfill (101, 'x');
  g_autofree char *input
      = g_strdup_printf ("Subject: a\r\n\r\n%s\r\n.\r\n", line);

  g_assert_cmpint (feed_data (message, input, 0), ==, strlen (input));
  g_assert_false (commit (message, &error));
  g_assert_error (error, MB_SMTP_MESSAGE_ERROR, MB_SMTP_REFUSAL_LINE_TOO_LONG);
  g_assert_cmpstr (error->message, ==,
                   "500 5.5.2 Message refused: a line is longer than 100 "
                   "characters (RFC 5322 limit)");
}

/* Past max-message-size the message is refused (552) but still read to its
 * end, in pieces, with the spool writer dropped at once; a problem found
 * after that does not change the reply. */
static void
test_data_too_big (Fixture *f, gconstpointer user_data)
{
  g_autoptr (MbSmtpMessage) message
      = fixture_new_message (f, MB_SMTP_MESSAGE_DATA);
  g_autoptr (GError) error = NULL;
  g_autoptr (GString) input = g_string_new ("Subject: big\r\n\r\n");

  while (input->len < 3000)
    g_string_append (input, "0123456789012345678901234567890123456789\r\n");
  /* Found later: the first reason is kept. */
  g_string_append (input, "bare\nLF\r\n.\r\n");

  g_assert_cmpint (feed_data (message, input->str, 512), ==, input->len);
  g_assert_cmpint (mb_smtp_message_get_refusal (message), ==,
                   MB_SMTP_REFUSAL_TOO_BIG);
  g_assert_null (mb_smtp_message_get_queue_id (message));
  g_assert_cmpuint (count_files (f, "tmp"), ==, 0);
  g_assert_false (commit (message, &error));
  g_assert_error (error, MB_SMTP_MESSAGE_ERROR, MB_SMTP_REFUSAL_TOO_BIG);
  g_assert_cmpstr (error->message, ==,
                   "552 5.3.4 Message size exceeds fixed maximum message size");
  g_assert_false (mb_smtp_refusal_is_local (MB_SMTP_REFUSAL_TOO_BIG));
}

/* One spool write at a time: busy right after a feed that produced bytes,
 * "ready" once the write is done, and then more can be fed. */
static void
test_data_back_pressure (Fixture *f, gconstpointer user_data)
{
  g_autoptr (MbSmtpMessage) message
      = fixture_new_message (f, MB_SMTP_MESSAGE_DATA);
  g_autoptr (GError) error = NULL;
  const char *head = "Subject: a\r\n\r\nfirst\r\n";
  const char *tail = "second\r\n.\r\n";
  gsize       consumed = 0;

  g_assert_false (mb_smtp_message_feed_data (message, (const guint8 *)head,
                                             strlen (head), &consumed));
  g_assert_true (mb_smtp_message_is_busy (message));
  MB_TEST_WAIT_UNTIL (f->ready == 1);
  g_assert_false (mb_smtp_message_is_busy (message));
  g_assert_true (mb_smtp_message_feed_data (message, (const guint8 *)tail,
                                            strlen (tail), &consumed));
  g_assert_cmpuint (consumed, ==, strlen (tail));
  g_assert_true (commit (message, &error));
  g_assert_no_error (error);
  /* Writes that belong to the commit do not emit "ready". */
  g_assert_cmpuint (f->ready, ==, 1);
  g_assert_cmpuint (count_files (f, "queue"), ==, 2);
}

/* BDAT content is kept as sent, and a last line without CRLF is ended. */
static void
test_bdat_queued (Fixture *f, gconstpointer user_data)
{
  g_autoptr (MbSmtpMessage) message
      = fixture_new_message (f, MB_SMTP_MESSAGE_BDAT);
  g_autoptr (GError) error = NULL;
  g_autofree char *eml = NULL;
  const char      *chunk1 = "Subject: chunks\r\n\r\n.dot stays\r";
  const char      *chunk2 = "\nlast line";

  mb_smtp_message_feed_chunk (message, (const guint8 *)chunk1, strlen (chunk1));
  MB_TEST_WAIT_UNTIL (!mb_smtp_message_is_busy (message));
  /* A CR that ends a chunk may be followed by the LF of the next one. */
  g_assert_true (mb_smtp_message_end_chunk (message, FALSE));
  mb_smtp_message_feed_chunk (message, (const guint8 *)chunk2, strlen (chunk2));
  MB_TEST_WAIT_UNTIL (!mb_smtp_message_is_busy (message));
  g_assert_true (mb_smtp_message_end_chunk (message, TRUE));
  g_assert_true (commit (message, &error));
  g_assert_no_error (error);

  eml = read_queued (f, message);
  g_assert_true (g_str_has_suffix (eml, "\r\n\r\n.dot stays\r\nlast line\r\n"));
}

typedef struct
{
  const char   *name;
  const char   *chunk;
  gboolean      last;
  MbSmtpRefusal refusal;
} ChunkCase;

static const ChunkCase chunk_refusals[] = {
  { "bare-lf", "Subject: a\r\n\r\nx\ny\r\n", FALSE, MB_SMTP_REFUSAL_BARE_LF },
  { "bare-cr", "Subject: a\r\n\r\nx\ry\r\n", FALSE, MB_SMTP_REFUSAL_BARE_CR },
  { "cr-at-end", "Subject: a\r\n\r\nx\r", TRUE, MB_SMTP_REFUSAL_BARE_CR },
  { "too-long", "Subject: a\r\n\r\n" X100 "x\r\n", TRUE,
    MB_SMTP_REFUSAL_LINE_TOO_LONG },
};

/* A BDAT chunk with bad line ends or a long line fails at its end (RFC
 * 3030 2), whether or not it is the last. */
static void
test_bdat_refusals (Fixture *f, gconstpointer user_data)
{
  for (gsize i = 0; i < G_N_ELEMENTS (chunk_refusals); i++)
    {
      const ChunkCase *c = &chunk_refusals[i];
      g_autoptr (MbSmtpMessage) message
          = fixture_new_message (f, MB_SMTP_MESSAGE_BDAT);
      g_autofree char *line = NULL;

      g_test_message ("case %s", c->name);
      mb_smtp_message_feed_chunk (message, (const guint8 *)c->chunk,
                                  strlen (c->chunk));
      MB_TEST_WAIT_UNTIL (!mb_smtp_message_is_busy (message));
      g_assert_false (mb_smtp_message_end_chunk (message, c->last));
      g_assert_cmpint (mb_smtp_message_get_refusal (message), ==, c->refusal);
      line = mb_smtp_message_format_refusal (message);
      g_assert_true (g_str_has_prefix (
          line, c->refusal == MB_SMTP_REFUSAL_LINE_TOO_LONG ? "500 5.5.2 "
                                                            : "550 5.6.11 "));
      g_clear_object (&message);
      g_assert_cmpuint (count_files (f, "tmp"), ==, 0);
    }
}

/* Without a usable spool the message is refused from the start with a
 * local 451, before any input. */
static void
test_spool_unavailable (Fixture *f, gconstpointer user_data)
{
  g_autofree char *tmp = g_build_filename (f->config->spool, "tmp", NULL);
  g_autoptr (MbSmtpMessage) message = NULL;
  g_autofree char *line = NULL;
  MbSmtpRefusal    refusal;

  g_assert_cmpint (g_rmdir (tmp), ==, 0);
  message = fixture_new_message (f, MB_SMTP_MESSAGE_DATA);
  refusal = mb_smtp_message_get_refusal (message);
  g_assert_cmpint (refusal, ==, MB_SMTP_REFUSAL_SPOOL_ERROR);
  g_assert_true (mb_smtp_refusal_is_local (refusal));
  g_assert_null (mb_smtp_message_get_queue_id (message));
  line = mb_smtp_message_format_refusal (message);
  g_assert_cmpstr (line, ==,
                   "451 4.3.0 Local error while queueing, try again later");
  g_assert_cmpint (g_mkdir (tmp, 0700), ==, 0);
}

/* Dropping a message while its spool write runs is safe: the write ends,
 * "ready" reaches no one, and the tmp file goes. */
static void
test_drop_while_writing (Fixture *f, gconstpointer user_data)
{
  MbSmtpMessage *message = fixture_new_message (f, MB_SMTP_MESSAGE_DATA);
  const char    *head = "Subject: a\r\n\r\nfirst\r\n";
  gsize          consumed = 0;

  g_assert_false (mb_smtp_message_feed_data (message, (const guint8 *)head,
                                             strlen (head), &consumed));
  g_assert_true (mb_smtp_message_is_busy (message));
  g_assert_cmpuint (count_files (f, "tmp"), ==, 1);
  g_signal_handlers_disconnect_by_data (message, f);
  g_object_unref (message);
  MB_TEST_WAIT_UNTIL (count_files (f, "tmp") == 0);
  g_assert_cmpuint (f->ready, ==, 0);
  g_assert_cmpuint (count_files (f, "queue"), ==, 0);
}

static const struct
{
  MbSmtpRefusal refusal;
  const char   *reason;
  gboolean      local;
} refusal_names[] = {
  { MB_SMTP_REFUSAL_NONE, "none", FALSE },
  { MB_SMTP_REFUSAL_BARE_LF, "bare-lf", FALSE },
  { MB_SMTP_REFUSAL_BARE_CR, "bare-cr", FALSE },
  { MB_SMTP_REFUSAL_LINE_TOO_LONG, "line-too-long", FALSE },
  { MB_SMTP_REFUSAL_TOO_BIG, "message-too-big", FALSE },
  { MB_SMTP_REFUSAL_NO_SPACE, "spool-no-space", TRUE },
  { MB_SMTP_REFUSAL_SPOOL_ERROR, "spool-error", TRUE },
};

/* Every refusal has its log reason, and only the spool's count as the
 * relay's own fault. */
static void
test_refusal_names (void)
{
  for (gsize i = 0; i < G_N_ELEMENTS (refusal_names); i++)
    {
      g_assert_cmpstr (mb_smtp_refusal_to_string (refusal_names[i].refusal), ==,
                       refusal_names[i].reason);
      g_assert_cmpint (mb_smtp_refusal_is_local (refusal_names[i].refusal), ==,
                       refusal_names[i].local);
    }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

#define ADD(path, extra, func)                                                 \
  g_test_add ("/relay/smtp-message/" path, Fixture, extra, fixture_setup,      \
              func, fixture_teardown)
  ADD ("data/queued", NULL, test_data_queued);
  ADD ("data/refusals", "max-line-length=100\n", test_data_refusals);
  ADD ("data/line-too-long", "max-line-length=100\n", test_data_line_too_long);
  ADD ("data/too-big", "max-message-size=2K\n", test_data_too_big);
  ADD ("data/back-pressure", NULL, test_data_back_pressure);
  ADD ("bdat/queued", NULL, test_bdat_queued);
  ADD ("bdat/refusals", "max-line-length=100\n", test_bdat_refusals);
  ADD ("spool/unavailable", NULL, test_spool_unavailable);
  ADD ("drop/while-writing", NULL, test_drop_while_writing);
#undef ADD
  g_test_add_func ("/relay/smtp-message/refusal/names", test_refusal_names);

  return g_test_run ();
}
