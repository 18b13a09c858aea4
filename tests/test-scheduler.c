/* test-scheduler.c - unit tests for mb-scheduler with a fake clock
 *
 * Most tests use no network: the route has no password, so it is paused
 * from the start and nothing is ever sent.  What is tested is the
 * scheduler's own work with a clock the test moves: the queue is loaded
 * and kept, the delay notice comes once, expiry fails the recipients, the
 * failure report is committed before the original is removed, and the
 * public API (pause, retry, lookups, state) behaves.  Delivery itself is
 * covered end to end by tests/integration/test_delivery.py.
 *
 * The reload tests (/relay/scheduler/reload/...) deliver for real, plain
 * text over loopback, to two fake upstreams (fake-smtp-upstream.h), and
 * change the route between them while messages wait or are under way.
 */
#include "mb-scheduler.h"

#include "fake-smtp-upstream.h"
#include "mb-retry.h"

#include <glib/gstdio.h>
#include <string.h>
#include <sys/resource.h>

#define HOUR ((gint64)3600)
#define DAY (24 * HOUR)

/* The fake clock: timers fire only when the test moves time. */
typedef struct
{
  guint       id;
  gint64      due; /* microseconds */
  GSourceFunc function;
  gpointer    data;
} FakeTimer;

typedef struct
{
  char          *dir;
  MbSpool       *spool;
  MbRelayConfig *config;
  MbScheduler   *scheduler;
  gint64         now; /* unix microseconds */
  GList         *timers;
  guint          next_timer;
  guint          n_delivered;
  guint          n_failed;
  guint          n_changed;
  GPtrArray     *failed_ids;
  /* The reload tests: two upstreams, their open connections together. */
  FakeUpstream *a;
  FakeUpstream *b;
  guint         open_total;
  guint         open_max;
  GPtrArray    *route_changes; /* (element-type MbRoute) announced */
} Fixture;

static gint64
fake_now (gpointer user_data)
{
  Fixture *f = user_data;

  return f->now;
}

static guint
fake_add_timeout (guint       interval,
                  GSourceFunc function,
                  gpointer    data,
                  gpointer    user_data)
{
  Fixture   *f = user_data;
  FakeTimer *timer = g_new0 (FakeTimer, 1);

  timer->id = ++f->next_timer;
  timer->due = f->now + (gint64)interval * 1000;
  timer->function = function;
  timer->data = data;
  f->timers = g_list_append (f->timers, timer);
  return timer->id;
}

static void
fake_remove_timeout (guint id, gpointer user_data)
{
  Fixture *f = user_data;

  for (GList *l = f->timers; l != NULL; l = l->next)
    {
      FakeTimer *timer = l->data;

      if (timer->id == id)
        {
          f->timers = g_list_delete_link (f->timers, l);
          g_free (timer);
          return;
        }
    }
  g_assert_not_reached ();
}

/* Fires every fake timer that is due; TRUE if one fired. */
static gboolean
fire_due_timers (Fixture *f)
{
  for (GList *l = f->timers; l != NULL; l = l->next)
    {
      FakeTimer *timer = l->data;

      if (timer->due <= f->now)
        {
          GSourceFunc function = timer->function;
          gpointer    data = timer->data;

          f->timers = g_list_delete_link (f->timers, l);
          g_free (timer);
          function (data);
          return TRUE;
        }
    }
  return FALSE;
}

static gboolean timed_out;

static gboolean
on_watchdog_cb (gpointer user_data)
{
  timed_out = TRUE;
  return G_SOURCE_REMOVE;
}

/* Iterates the main context (and the fake timers) until @cond holds; a
 * real-time watchdog fails the test instead of hanging it. */
#define WAIT_UNTIL(f, cond)                                                    \
  G_STMT_START                                                                 \
  {                                                                            \
    guint watchdog_ = g_timeout_add_seconds (30, on_watchdog_cb, NULL);        \
    while (!(cond) && !timed_out)                                              \
      {                                                                        \
        if (!fire_due_timers (f))                                              \
          g_main_context_iteration (NULL, TRUE);                               \
      }                                                                        \
    g_assert_false (timed_out);                                                \
    g_source_remove (watchdog_);                                               \
  }                                                                            \
  G_STMT_END

/* Lets pending work settle: thread results and due timers. */
static void
settle (Fixture *f)
{
  for (guint i = 0; i < 200; i++)
    {
      fire_due_timers (f);
      g_main_context_iteration (NULL, FALSE);
    }
}

static void
on_delivered_cb (MbScheduler *scheduler, const char *id, Fixture *f)
{
  f->n_delivered++;
}

static void
on_failed_cb (MbScheduler *scheduler, const char *id, Fixture *f)
{
  f->n_failed++;
  g_ptr_array_add (f->failed_ids, g_strdup (id));
}

static void
on_changed_cb (MbScheduler *scheduler, Fixture *f)
{
  f->n_changed++;
}

static void
on_done_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  GAsyncResult **out = user_data;

  *out = g_object_ref (result);
}

static char *
queue_message (Fixture *f, const char *sender, const char *const *recipients)
{
  static const char text[] = "From: <scanner@contoso.com>\r\n"
                             "Subject: test\r\n\r\nbody\r\n";
  g_autoptr (GError) error = NULL;
  g_autoptr (MbEnvelope) envelope = mb_envelope_new ();
  g_autoptr (GAsyncResult) result = NULL;
  MbSpoolWriter *writer = mb_spool_writer_new (f->spool, &error);
  char          *id;

  g_assert_no_error (error);
  mb_spool_writer_write_async (writer, (const guint8 *)text, strlen (text),
                               NULL, on_done_cb, &result);
  WAIT_UNTIL (f, result != NULL);
  g_assert_true (mb_spool_writer_write_finish (writer, result, &error));
  g_clear_object (&result);

  g_free (envelope->sender);
  envelope->sender = g_strdup (sender);
  envelope->received = f->now / G_USEC_PER_SEC;
  for (guint i = 0; recipients[i] != NULL; i++)
    mb_envelope_add_recipient (envelope, recipients[i], 0, NULL);
  mb_spool_writer_commit_async (writer, envelope, NULL, on_done_cb, &result);
  WAIT_UNTIL (f, result != NULL);
  g_assert_true (mb_spool_writer_commit_finish (writer, result, &error));
  id = g_strdup (mb_spool_writer_get_id (writer));
  mb_spool_writer_free (writer);
  return id;
}

/* The test's configuration with @routes (and [relay] keys before them). */
static MbRelayConfig *
load_config (Fixture *f, const char *routes)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *text = g_strdup_printf ("[relay]\n"
                                           "spool=%s/spool\n"
                                           "hostname=relay.test.invalid\n"
                                           "admin-address=admin@contoso.com\n"
                                           "retry-schedule=1m;5m\n"
                                           "delay-notice-after=4h\n"
                                           "expire-after=2d\n"
                                           "%s",
                                           f->dir, routes);
  MbRelayConfig *config = mb_relay_config_load_data (text, -1, "test", &error);

  g_assert_no_error (error);
  return config;
}

static void
fixture_set_up (Fixture *f, gconstpointer data)
{
  const char *routes = data;
  const char *base = g_getenv ("MB_TEST_TMPDIR");
  g_autofree char *template = g_build_filename (
      base != NULL ? base : "/var/tmp", "test-scheduler-XXXXXX", NULL);
  g_autoptr (GError) error = NULL;
  MbSpoolRecovery  recovery;
  MbSchedulerClock clock;

  f->dir = g_mkdtemp (g_steal_pointer (&template));
  g_assert_nonnull (f->dir);
  f->now = (gint64)1764000000 * G_USEC_PER_SEC;
  f->failed_ids = g_ptr_array_new_with_free_func (g_free);

  f->config = load_config (f, routes);
  f->spool = mb_spool_new (f->config->spool, &error);
  g_assert_no_error (error);
  g_assert_true (mb_spool_recover (f->spool, &recovery, &error));

  f->scheduler = mb_scheduler_new (f->spool, f->config, NULL, NULL);
  clock.now = fake_now;
  clock.add_timeout = fake_add_timeout;
  clock.remove_timeout = fake_remove_timeout;
  clock.user_data = f;
  mb_scheduler_set_clock (f->scheduler, &clock);
  g_signal_connect (f->scheduler, "message-delivered",
                    G_CALLBACK (on_delivered_cb), f);
  g_signal_connect (f->scheduler, "message-failed", G_CALLBACK (on_failed_cb),
                    f);
  g_signal_connect (f->scheduler, "queue-changed", G_CALLBACK (on_changed_cb),
                    f);
}

static void
start (Fixture *f)
{
  g_autoptr (GAsyncResult) result = NULL;
  g_autoptr (GError) error = NULL;

  mb_scheduler_start_async (f->scheduler, NULL, on_done_cb, &result);
  WAIT_UNTIL (f, result != NULL);
  g_assert_true (mb_scheduler_start_finish (f->scheduler, result, &error));
  g_assert_no_error (error);
}

static void
remove_tree (const char *path)
{
  g_autoptr (GDir) dir = g_dir_open (path, 0, NULL);
  const char *name;

  while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *child = g_build_filename (path, name, NULL);

      if (g_file_test (child, G_FILE_TEST_IS_DIR))
        remove_tree (child);
      else
        g_unlink (child);
    }
  g_rmdir (path);
}

static void
fixture_tear_down (Fixture *f, gconstpointer data)
{
  mb_scheduler_stop (f->scheduler);
  settle (f);
  g_clear_object (&f->scheduler);
  g_clear_pointer (&f->a, fake_upstream_free);
  g_clear_pointer (&f->b, fake_upstream_free);
  g_clear_pointer (&f->route_changes, g_ptr_array_unref);
  g_clear_object (&f->spool);
  g_clear_pointer (&f->config, mb_relay_config_unref);
  g_list_free_full (f->timers, g_free);
  g_ptr_array_unref (f->failed_ids);
  remove_tree (f->dir);
  g_free (f->dir);
}

static const char paused_route[] = "route=m365\n"
                                   "[route m365]\n"
                                   "method=submission\n"
                                   "auth=basic\n"
                                   "mailbox=box@contoso.com\n"
                                   "host=127.0.0.1\n";

static const char oauth_route[] = "[route m365]\n"
                                  "method=submission\n"
                                  "auth=oauth-device\n"
                                  "client-id=9e5f94bc-e8a4-4e73-b8be\n"
                                  "mailbox=box@contoso.com\n"
                                  "host=127.0.0.1\n";

static const MbEnvelope *
lookup (Fixture *f, const char *id)
{
  return mb_scheduler_lookup (f->scheduler, id);
}

/* A route that cannot sign in is paused with its reason; queued messages
 * are loaded at start and kept, untouched. */
static void
test_paused_route_keeps_queue (Fixture *f, gconstpointer data)
{
  const char *const to[] = { "a@contoso.com", "b@contoso.com", NULL };
  g_autofree char  *id = queue_message (f, "scanner@contoso.com", to);
  MbRoute          *route;
  MbRecipient      *rcpt;

  start (f);
  settle (f);
  route = mb_scheduler_lookup_route (f->scheduler, "m365");
  g_assert_nonnull (route);
  g_assert_cmpint (mb_route_get_state (route), ==, MB_ROUTE_STATE_PAUSED);
  g_assert_nonnull (strstr (mb_route_get_pause_reason (route), "password"));
  g_assert_cmpuint (mb_scheduler_get_length (f->scheduler), ==, 1);
  g_assert_cmpint (mb_scheduler_get_state (f->scheduler), ==,
                   MB_SCHEDULER_STATE_RUNNING);
  g_assert_nonnull (lookup (f, id));
  rcpt = lookup (f, id)->recipients->pdata[0];
  g_assert_cmpint (rcpt->state, ==, MB_RECIPIENT_STATE_QUEUED);
  g_assert_cmpuint (rcpt->attempts, ==, 0);
  g_assert_false (mb_scheduler_is_busy (f->scheduler, id));

  /* A message committed after the start is picked up as well. */
  {
    g_autofree char *id2 = queue_message (f, "scanner@contoso.com", to);

    WAIT_UNTIL (f, mb_scheduler_get_length (f->scheduler) == 2);
    g_assert_nonnull (lookup (f, id2));
  }
}

/* After delay-notice-after one notice is queued (once); after
 * expire-after the pending recipients fail with mb.expired, the failure
 * report is committed, then the original is removed ("message-failed"). */
static void
test_notice_then_expiry (Fixture *f, gconstpointer data)
{
  const char *const to[] = { "a@contoso.com", NULL };
  g_autofree char  *id = queue_message (f, "scanner@contoso.com", to);
  g_autoptr (GPtrArray) ids = NULL;
  const MbEnvelope *report = NULL;

  start (f);
  settle (f);
  g_assert_cmpint (lookup (f, id)->delay_notice_sent, ==, 0);

  /* Just before the delay notice: nothing. */
  f->now += (4 * HOUR - 1) * G_USEC_PER_SEC;
  settle (f);
  g_assert_cmpuint (mb_scheduler_get_length (f->scheduler), ==, 1);

  f->now += 1 * G_USEC_PER_SEC;
  WAIT_UNTIL (f, mb_scheduler_get_length (f->scheduler) == 2
                     && lookup (f, id)->delay_notice_sent != 0
                     && !mb_scheduler_is_busy (f->scheduler, id));
  g_assert_cmpint (lookup (f, id)->delay_notice_sent, ==,
                   f->now / G_USEC_PER_SEC);
  {
    /* Written to disk, so a restart does not send it again. */
    g_autoptr (MbEnvelope) on_disk
        = mb_spool_load_envelope (f->spool, id, NULL);

    g_assert_cmpint (on_disk->delay_notice_sent, ==, f->now / G_USEC_PER_SEC);
  }

  /* Expiry of the original (not yet of the notice, which came later). */
  f->now += (2 * DAY - 4 * HOUR) * G_USEC_PER_SEC;
  WAIT_UNTIL (f, f->n_failed == 1);
  g_assert_cmpstr (f->failed_ids->pdata[0], ==, id);
  g_assert_null (lookup (f, id));
  {
    g_autoptr (GError) error = NULL;
    g_autoptr (MbEnvelope) gone = mb_spool_load_envelope (f->spool, id, &error);

    g_assert_null (gone);
    g_assert_error (error, MB_SPOOL_ERROR, MB_SPOOL_ERROR_NOT_FOUND);
  }

  /* Left: the delay notice and the failure report, both from <>; the
   * failure report also to the admin. */
  WAIT_UNTIL (f, mb_scheduler_get_length (f->scheduler) == 2);
  ids = mb_scheduler_list_ids (f->scheduler);
  for (guint i = 0; i < ids->len; i++)
    {
      const MbEnvelope *envelope = lookup (f, ids->pdata[i]);

      g_assert_cmpstr (envelope->sender, ==, "");
      if (envelope->recipients->len == 2)
        report = envelope;
    }
  g_assert_nonnull (report);
  g_assert_cmpstr (((MbRecipient *)report->recipients->pdata[0])->address, ==,
                   "scanner@contoso.com");
  g_assert_cmpstr (((MbRecipient *)report->recipients->pdata[1])->address, ==,
                   "admin@contoso.com");
  g_assert_cmpint (report->received, ==, f->now / G_USEC_PER_SEC);
}

/* Pause and resume change the state and announce it; retry refuses an
 * unknown id and makes deferred recipients due now. */
static void
test_pause_and_retry (Fixture *f, gconstpointer data)
{
  const char *const to[] = { "a@contoso.com", NULL };
  g_autofree char  *id = queue_message (f, "scanner@contoso.com", to);
  g_autoptr (GError) error = NULL;
  guint changed;

  start (f);
  settle (f);
  changed = f->n_changed;
  mb_scheduler_set_paused (f->scheduler, TRUE);
  g_assert_true (mb_scheduler_get_paused (f->scheduler));
  g_assert_cmpint (mb_scheduler_get_state (f->scheduler), ==,
                   MB_SCHEDULER_STATE_PAUSED);
  settle (f);
  g_assert_cmpuint (f->n_changed, >, changed);
  mb_scheduler_set_paused (f->scheduler, FALSE);
  g_assert_cmpint (mb_scheduler_get_state (f->scheduler), ==,
                   MB_SCHEDULER_STATE_RUNNING);

  g_assert_false (mb_scheduler_retry (f->scheduler, "nope", &error));
  g_assert_error (error, MB_SCHEDULER_ERROR, MB_SCHEDULER_ERROR_NOT_FOUND);
  g_assert_true (mb_scheduler_retry (f->scheduler, id, NULL));
  g_assert_true (mb_scheduler_retry (f->scheduler, NULL, NULL));
  g_assert_cmpuint (mb_scheduler_get_n_deferred (f->scheduler), ==, 0);
}

/* Without any [route] the state says so and the message stays queued. */
static void
test_no_route (Fixture *f, gconstpointer data)
{
  const char *const to[] = { "a@contoso.com", NULL };
  g_autofree char  *id = NULL;
  g_autoptr (GPtrArray) routes = NULL;

  start (f);
  g_assert_cmpint (mb_scheduler_get_state (f->scheduler), ==,
                   MB_SCHEDULER_STATE_RUNNING);
  id = queue_message (f, "scanner@contoso.com", to);
  WAIT_UNTIL (f, mb_scheduler_get_length (f->scheduler) == 1);
  routes = mb_scheduler_get_routes (f->scheduler);
  g_assert_cmpuint (routes->len, ==, 0);
  g_assert_cmpint (mb_scheduler_get_state (f->scheduler), ==,
                   MB_SCHEDULER_STATE_NO_ROUTE);
  g_assert_cmpstr (
      mb_scheduler_state_to_string (mb_scheduler_get_state (f->scheduler)), ==,
      "no-route-configured");
  f->now += HOUR * G_USEC_PER_SEC;
  settle (f);
  g_assert_nonnull (lookup (f, id));
}

/* An OAuth route without any token source needs a sign-in and sends
 * nothing; the only route is used without [relay] route=. */
static void
test_needs_signin (Fixture *f, gconstpointer data)
{
  const char *const to[] = { "a@contoso.com", NULL };
  g_autofree char  *id = queue_message (f, "scanner@contoso.com", to);
  MbRoute          *route;

  start (f);
  settle (f);
  route = mb_scheduler_lookup_route (f->scheduler, "m365");
  g_assert_cmpint (mb_route_get_state (route), ==, MB_ROUTE_STATE_NEEDS_SIGNIN);
  g_assert_cmpuint (
      ((MbRecipient *)lookup (f, id)->recipients->pdata[0])->attempts, ==, 0);
  g_assert_cmpint (mb_scheduler_get_state (f->scheduler), ==,
                   MB_SCHEDULER_STATE_RUNNING);
}

static guint
count_busy (Fixture *f, GPtrArray *ids)
{
  guint n = 0;

  for (guint i = 0; i < ids->len; i++)
    n += mb_scheduler_is_busy (f->scheduler, ids->pdata[i]);
  return n;
}

/* Many messages whose delay notice is due at startup, under a low file
 * descriptor limit: the reports are built a few at a time, so the relay
 * neither runs out of descriptors nor drops one; every notice is queued,
 * built from its readable original (a warning is fatal here); the same
 * for their expiry and failure reports. */
static void
test_many_reports_low_fd_limit (Fixture *f, gconstpointer data)
{
  enum
  {
    N_MESSAGES = 200
  };
  const char *const to[] = { "a@contoso.com", NULL };
  g_autoptr (GPtrArray) ids = g_ptr_array_new_with_free_func (g_free);
  struct rlimit limit;
  guint         max_busy = 0;

  if (!g_test_subprocess ())
    {
      g_test_trap_subprocess (NULL, 20 * G_USEC_PER_SEC, 0);
      g_test_trap_assert_passed ();
      return;
    }

  for (guint i = 0; i < N_MESSAGES; i++)
    g_ptr_array_add (ids, queue_message (f, "scanner@contoso.com", to));

  /* Far fewer descriptors than messages: reports started all at once
   * would each hold the original and a spool file open. */
  g_assert_cmpint (getrlimit (RLIMIT_NOFILE, &limit), ==, 0);
  limit.rlim_cur = 64;
  g_assert_cmpint (setrlimit (RLIMIT_NOFILE, &limit), ==, 0);

  /* The relay was down past delay-notice-after: all are due at start. */
  f->now += 5 * HOUR * G_USEC_PER_SEC;
  start (f);
  WAIT_UNTIL (f, (max_busy = MAX (max_busy, count_busy (f, ids)),
                  mb_scheduler_get_length (f->scheduler) == 2 * N_MESSAGES));
  /* A few at a time (nothing else is busy: the route is paused). */
  g_assert_cmpuint (max_busy, >=, 1);
  g_assert_cmpuint (max_busy, <=, 4);
  for (guint i = 0; i < ids->len; i++)
    {
      const MbEnvelope *envelope;

      WAIT_UNTIL (f, !mb_scheduler_is_busy (f->scheduler, ids->pdata[i]));
      envelope = lookup (f, ids->pdata[i]);
      g_assert_nonnull (envelope);
      g_assert_cmpint (envelope->delay_notice_sent, ==,
                       f->now / G_USEC_PER_SEC);
    }
  {
    /* Each notice is from <> to the sender and carries the original. */
    g_autoptr (GPtrArray) all = mb_scheduler_list_ids (f->scheduler);
    guint n_notices = 0;

    for (guint i = 0; i < all->len; i++)
      {
        const MbEnvelope *envelope = lookup (f, all->pdata[i]);
        g_autofree char  *path = NULL;
        g_autofree char  *text = NULL;

        if (envelope->sender[0] != '\0')
          continue;
        n_notices++;
        g_assert_cmpstr (
            ((MbRecipient *)envelope->recipients->pdata[0])->address, ==,
            "scanner@contoso.com");
        path = mb_spool_get_message_path (f->spool, all->pdata[i]);
        g_assert_true (g_file_get_contents (path, &text, NULL, NULL));
        g_assert_nonnull (strstr (text, "Subject: test"));
      }
    g_assert_cmpuint (n_notices, ==, N_MESSAGES);
  }

  /* Then all expire together: every original gets its failure report
   * and leaves the queue, again a few at a time. */
  max_busy = 0;
  f->now += (2 * DAY - 5 * HOUR) * G_USEC_PER_SEC;
  WAIT_UNTIL (f, (max_busy = MAX (max_busy, count_busy (f, ids)),
                  f->n_failed == N_MESSAGES));
  g_assert_cmpuint (max_busy, >=, 1);
  g_assert_cmpuint (max_busy, <=, 4);
  for (guint i = 0; i < ids->len; i++)
    g_assert_null (lookup (f, ids->pdata[i]));
  /* Left: the delay notices and the failure reports. */
  WAIT_UNTIL (f, mb_scheduler_get_length (f->scheduler) == 2 * N_MESSAGES);
}

/* Startup: recovery's envelopes handed to the load */

/* What the test's log writer saw: "queue loaded" lines, and the spool's
 * warnings while spool_warnings is set (else they stay fatal). */
static GMutex     log_lock;
static GPtrArray *load_lines;     /* (element-type utf8) */
static GPtrArray *spool_warnings; /* (element-type utf8) (nullable) */

static GLogWriterOutput
log_writer (GLogLevelFlags   log_level,
            const GLogField *fields,
            gsize            n_fields,
            gpointer         user_data)
{
  const char      *domain = NULL;
  const char      *message = NULL;
  GLogWriterOutput handled = G_LOG_WRITER_UNHANDLED;

  for (gsize i = 0; i < n_fields; i++)
    {
      if (g_strcmp0 (fields[i].key, "GLIB_DOMAIN") == 0)
        domain = fields[i].value;
      else if (g_strcmp0 (fields[i].key, "MESSAGE") == 0)
        message = fields[i].value;
    }
  g_mutex_lock (&log_lock);
  if (message != NULL && g_strcmp0 (domain, "mb-scheduler") == 0
      && g_str_has_prefix (message, "queue loaded "))
    g_ptr_array_add (load_lines, g_strdup (message));
  if (message != NULL && spool_warnings != NULL
      && g_strcmp0 (domain, "mb-spool") == 0
      && (log_level & G_LOG_LEVEL_WARNING) != 0)
    {
      g_ptr_array_add (spool_warnings, g_strdup (message));
      handled = G_LOG_WRITER_HANDLED;
    }
  g_mutex_unlock (&log_lock);
  if (handled == G_LOG_WRITER_HANDLED)
    return handled;
  return g_log_writer_default (log_level, fields, n_fields, user_data);
}

static char *
queue_file (Fixture *f, const char *id, const char *suffix)
{
  return g_strdup_printf ("%s/queue/%s%s", f->config->spool, id, suffix);
}

static guint
count_corrupt_files (Fixture *f)
{
  g_autofree char *path = g_build_filename (f->config->spool, "corrupt", NULL);
  g_autoptr (GDir) dir = g_dir_open (path, 0, NULL);
  guint n = 0;

  while (dir != NULL && g_dir_read_name (dir) != NULL)
    n++;
  return n;
}

/* A queue at startup: A and B stay, C is removed and E committed between
 * the recovery and the start, D's envelope is garbage; A's envelope is
 * rewritten on disk after the recovery (sender changed@contoso.com), which
 * shows whether the start read it again.  With @hand_over the recovery's
 * envelopes go to mb_scheduler_set_recovered(). */
static void
check_startup_load (Fixture *f, gboolean hand_over)
{
  const char *const to[] = { "a@contoso.com", NULL };
  g_autofree char  *a = queue_message (f, "scanner@contoso.com", to);
  g_autofree char  *b = queue_message (f, "scanner@contoso.com", to);
  g_autofree char  *c = queue_message (f, "scanner@contoso.com", to);
  g_autofree char  *d = queue_message (f, "scanner@contoso.com", to);
  g_autofree char  *e = NULL;
  g_autofree char  *path = NULL;
  g_autofree char  *expected = NULL;
  g_autoptr (GPtrArray) recovered = NULL;
  g_autoptr (GAsyncResult) result = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (MbEnvelope) rewritten = NULL;
  g_autoptr (GBytes) bytes = NULL;
  MbSpoolRecovery stats;

  path = queue_file (f, d, ".env");
  g_assert_true (g_file_set_contents (path, "[envelope\n", -1, NULL));
  g_clear_pointer (&path, g_free);

  g_mutex_lock (&log_lock);
  spool_warnings = g_ptr_array_new_with_free_func (g_free);
  g_mutex_unlock (&log_lock);
  g_assert_true (mb_spool_recover_full (f->spool, &stats, &recovered, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (stats.queued, ==, 3);
  g_assert_cmpuint (stats.corrupt, ==, 1);
  g_assert_cmpuint (recovered->len, ==, 3);
  g_assert_cmpuint (spool_warnings->len, ==, 1);
  g_assert_nonnull (strstr (spool_warnings->pdata[0], d));

  rewritten = mb_spool_load_envelope (f->spool, a, &error);
  g_assert_no_error (error);
  g_free (rewritten->sender);
  rewritten->sender = g_strdup ("changed@contoso.com");
  bytes = mb_envelope_serialize (rewritten);
  path = queue_file (f, a, ".env");
  g_assert_true (g_file_set_contents (path, g_bytes_get_data (bytes, NULL),
                                      g_bytes_get_size (bytes), NULL));

  mb_spool_remove_async (f->spool, c, NULL, on_done_cb, &result);
  WAIT_UNTIL (f, result != NULL);
  g_assert_true (mb_spool_remove_finish (f->spool, result, &error));
  e = queue_message (f, "scanner@contoso.com", to);
  /* The spool's signals of the above are gone before the start, so that
   * only the start's load reads envelopes. */
  settle (f);

  if (hand_over)
    mb_scheduler_set_recovered (f->scheduler, g_steal_pointer (&recovered));
  g_mutex_lock (&log_lock);
  g_ptr_array_set_size (load_lines, 0);
  g_mutex_unlock (&log_lock);
  start (f);

  g_assert_cmpuint (mb_scheduler_get_length (f->scheduler), ==, 3);
  g_assert_nonnull (lookup (f, b));
  g_assert_nonnull (lookup (f, e));
  g_assert_null (lookup (f, c));
  g_assert_null (lookup (f, d));
  g_assert_cmpstr (lookup (f, a)->sender, ==,
                   hand_over ? "scanner@contoso.com" : "changed@contoso.com");
  /* recovered= were parsed by the recovery, read= by the load. */
  expected = g_strdup_printf ("queue loaded queued=3 recovered=%u read=%u ",
                              hand_over ? 2 : 0, hand_over ? 1 : 3);
  g_mutex_lock (&log_lock);
  g_assert_cmpuint (load_lines->len, ==, 1);
  g_assert_true (g_str_has_prefix (load_lines->pdata[0], expected));
  /* D was reported and moved once: nothing more from the spool (and a
   * warning of the scheduler is fatal here). */
  g_assert_cmpuint (spool_warnings->len, ==, 1);
  g_clear_pointer (&spool_warnings, g_ptr_array_unref);
  g_mutex_unlock (&log_lock);
  g_assert_cmpuint (count_corrupt_files (f), ==, 2);
}

/* The start takes the envelopes the recovery parsed and reads from disk
 * only the message committed since; a message removed since is dropped,
 * a corrupt one was reported once, by the recovery. */
static void
test_load_recovered_read_once (Fixture *f, gconstpointer data)
{
  check_startup_load (f, TRUE);
}

/* Without a hand-over the start reads every envelope from disk (the
 * check above would see a second read). */
static void
test_load_without_recovered (Fixture *f, gconstpointer data)
{
  check_startup_load (f, FALSE);
}

/* Reload: two fake upstreams, a Direct Send route in plain text */

static void
on_route_state_changed_cb (MbScheduler *scheduler, MbRoute *route, Fixture *f)
{
  g_ptr_array_add (f->route_changes, route);
}

/* [relay] route=m365 and a [route m365] to @port with @extra keys. */
static char *
route_to (guint16 port, const char *extra)
{
  return g_strdup_printf ("route=m365\n"
                          "[route m365]\n"
                          "method=direct-send\n"
                          "host=127.0.0.1\n"
                          "port=%u\n"
                          "%s",
                          port, extra);
}

/* Starts upstreams A and B and a scheduler routed to A; @data: more keys
 * for the route. */
static void
reload_set_up (Fixture *f, gconstpointer data)
{
  g_autofree char *routes = NULL;

  f->a = fake_upstream_new ();
  f->b = fake_upstream_new ();
  f->a->open_total = f->b->open_total = &f->open_total;
  f->a->open_max = f->b->open_max = &f->open_max;
  f->route_changes = g_ptr_array_new ();
  routes = route_to (f->a->port, data);
  fixture_set_up (f, routes);
  /* Idle connections stay open for the whole test. */
  mb_scheduler_set_idle_timeout (f->scheduler, 3600);
  g_signal_connect (f->scheduler, "route-state-changed",
                    G_CALLBACK (on_route_state_changed_cb), f);
}

/* Puts @routes in force, as the daemon's reload does. */
static void
reload (Fixture *f, const char *routes)
{
  g_autoptr (MbRelayConfig) config = load_config (f, routes);

  mb_scheduler_set_config (f->scheduler, config);
}

static void
reload_to (Fixture *f, guint16 port, const char *extra)
{
  g_autofree char *routes = route_to (port, extra);

  reload (f, routes);
}

static char *
queue_to (Fixture *f, const char *recipient)
{
  const char *const to[] = { recipient, NULL };

  return queue_message (f, "scanner@contoso.com", to);
}

/* After a reload that points the route at another upstream, the next
 * message goes there; the old connection is QUIT; the control object
 * hears of the new route, the only one listed. */
static void
test_reload_changed_route (Fixture *f, gconstpointer data)
{
  g_autofree char *first = NULL;
  g_autofree char *second = NULL;
  g_autoptr (GPtrArray) routes = NULL;
  MbRoute *old_route;
  MbRoute *new_route;

  start (f);
  first = queue_to (f, "a@contoso.com");
  WAIT_UNTIL (f, f->n_delivered == 1);
  g_assert_cmpuint (f->a->delivered->len, ==, 1);
  g_assert_cmpuint (f->a->conns->len, ==, 1);
  old_route = mb_scheduler_lookup_route (f->scheduler, "m365");

  reload_to (f, f->b->port, "");
  new_route = mb_scheduler_lookup_route (f->scheduler, "m365");
  g_assert_true (new_route != old_route);
  g_assert_cmpuint (mb_route_get_port (new_route), ==, f->b->port);
  g_assert_cmpuint (f->route_changes->len, ==, 1);
  g_assert_true (f->route_changes->pdata[0] == new_route);
  routes = mb_scheduler_get_routes (f->scheduler);
  g_assert_cmpuint (routes->len, ==, 1);
  g_assert_true (routes->pdata[0] == new_route);
  WAIT_UNTIL (f, f->a->n_quits == 1 && f->a->conns->len == 0);

  second = queue_to (f, "b@contoso.com");
  WAIT_UNTIL (f, f->n_delivered == 2);
  g_assert_cmpuint (f->a->delivered->len, ==, 1);
  g_assert_cmpstr (f->a->delivered->pdata[0], ==, "<a@contoso.com>");
  g_assert_cmpuint (f->b->delivered->len, ==, 1);
  g_assert_cmpstr (f->b->delivered->pdata[0], ==, "<b@contoso.com>");
  g_assert_cmpuint (mb_scheduler_get_length (f->scheduler), ==, 0);
}

/* An attempt under way when the route changes ends on the old upstream
 * and is recorded once; the message waiting behind it moves to the new
 * route, which waits for the old connection to close (one connection at
 * most, old and new together), then delivers it there. */
static void
test_reload_in_flight (Fixture *f, gconstpointer data)
{
  g_autofree char *first = NULL;
  g_autofree char *second = NULL;

  f->a->hold = TRUE;
  start (f);
  first = queue_to (f, "a@contoso.com");
  WAIT_UNTIL (f, fake_upstream_count_held (f->a) == 1);
  second = queue_to (f, "b@contoso.com");
  WAIT_UNTIL (f, mb_scheduler_get_length (f->scheduler) == 2);
  settle (f);
  g_assert_true (mb_scheduler_is_busy (f->scheduler, first));
  g_assert_false (mb_scheduler_is_busy (f->scheduler, second));

  reload_to (f, f->b->port, "max-connections=1\n");
  settle (f);
  /* The old connection still holds the route's only one. */
  g_assert_cmpuint (f->b->n_connections, ==, 0);
  g_assert_true (mb_scheduler_is_busy (f->scheduler, first));
  g_assert_cmpuint (f->n_delivered, ==, 0);

  fake_upstream_release (f->a);
  WAIT_UNTIL (f, f->n_delivered == 2);
  settle (f);
  g_assert_cmpuint (f->a->delivered->len, ==, 1);
  g_assert_cmpstr (f->a->delivered->pdata[0], ==, "<a@contoso.com>");
  g_assert_cmpuint (f->a->n_quits, ==, 1);
  g_assert_cmpuint (f->a->conns->len, ==, 0);
  g_assert_cmpuint (f->b->delivered->len, ==, 1);
  g_assert_cmpstr (f->b->delivered->pdata[0], ==, "<b@contoso.com>");
  g_assert_cmpuint (f->open_max, ==, 1);
  g_assert_null (lookup (f, first));
  g_assert_null (lookup (f, second));
}

/* A route removed by a reload sends nothing more: its old connection is
 * QUIT, a new message waits unattempted as without any route; a reload
 * that brings the route back delivers it. */
static void
test_reload_removed_route (Fixture *f, gconstpointer data)
{
  g_autofree char   *first = NULL;
  g_autofree char   *second = NULL;
  const MbRecipient *rcpt;
  g_autoptr (GPtrArray) routes = NULL;

  start (f);
  first = queue_to (f, "a@contoso.com");
  WAIT_UNTIL (f, f->n_delivered == 1);

  reload (f, "");
  routes = mb_scheduler_get_routes (f->scheduler);
  g_assert_cmpuint (routes->len, ==, 0);
  g_assert_null (mb_scheduler_lookup_route (f->scheduler, "m365"));
  WAIT_UNTIL (f, f->a->n_quits == 1 && f->a->conns->len == 0);

  second = queue_to (f, "b@contoso.com");
  WAIT_UNTIL (f, mb_scheduler_get_length (f->scheduler) == 1);
  f->now += HOUR * G_USEC_PER_SEC;
  settle (f);
  g_assert_cmpint (mb_scheduler_get_state (f->scheduler), ==,
                   MB_SCHEDULER_STATE_NO_ROUTE);
  rcpt = lookup (f, second)->recipients->pdata[0];
  g_assert_cmpint (rcpt->state, ==, MB_RECIPIENT_STATE_QUEUED);
  g_assert_cmpuint (rcpt->attempts, ==, 0);
  g_assert_cmpuint (f->a->n_connections, ==, 1);
  g_assert_cmpuint (f->b->n_connections, ==, 0);

  reload_to (f, f->b->port, "");
  WAIT_UNTIL (f, f->n_delivered == 2);
  g_assert_cmpuint (f->a->delivered->len, ==, 1);
  g_assert_cmpuint (f->b->delivered->len, ==, 1);
  g_assert_cmpstr (f->b->delivered->pdata[0], ==, "<b@contoso.com>");
}

/* A reload that leaves a route as it was keeps its route, its pool and
 * its open connection (the next message reuses it), while another route
 * in the same file is replaced. */
static void
test_reload_unchanged_route (Fixture *f, gconstpointer data)
{
  g_autofree char *m365 = route_to (f->a->port, "");
  g_autofree char *before = g_strdup_printf ("%s"
                                             "[route other]\n"
                                             "method=direct-send\n"
                                             "host=127.0.0.1\n"
                                             "port=%u\n",
                                             m365, f->b->port);
  g_autofree char *after = g_strdup_printf ("%s"
                                            "[route other]\n"
                                            "method=direct-send\n"
                                            "host=localhost\n"
                                            "port=%u\n",
                                            m365, f->b->port);
  g_autofree char *first = NULL;
  g_autofree char *second = NULL;
  MbRoute         *route;
  MbRoute         *other;

  reload (f, before);
  start (f);
  first = queue_to (f, "a@contoso.com");
  WAIT_UNTIL (f, f->n_delivered == 1);
  route = mb_scheduler_lookup_route (f->scheduler, "m365");
  other = mb_scheduler_lookup_route (f->scheduler, "other");
  g_ptr_array_set_size (f->route_changes, 0);

  reload (f, after);
  settle (f);
  g_assert_true (mb_scheduler_lookup_route (f->scheduler, "m365") == route);
  g_assert_true (mb_scheduler_lookup_route (f->scheduler, "other") != other);
  g_assert_cmpuint (f->route_changes->len, ==, 1);
  g_assert_true (f->route_changes->pdata[0]
                 == mb_scheduler_lookup_route (f->scheduler, "other"));
  g_assert_cmpuint (f->a->n_quits, ==, 0);
  g_assert_cmpuint (f->a->conns->len, ==, 1);

  second = queue_to (f, "b@contoso.com");
  WAIT_UNTIL (f, f->n_delivered == 2);
  g_assert_cmpuint (f->a->n_connections, ==, 1);
  g_assert_cmpuint (f->a->delivered->len, ==, 2);
  g_assert_cmpuint (f->b->n_connections, ==, 0);
}

/* The route replaced by a reload keeps its pacing counts: one message a
 * minute, sent just before the reload, holds the next one on the new
 * upstream until the minute is over. */
static void
test_reload_keeps_pacing (Fixture *f, gconstpointer data)
{
  g_autofree char *first = NULL;
  g_autofree char *second = NULL;

  start (f);
  first = queue_to (f, "a@contoso.com");
  WAIT_UNTIL (f, f->n_delivered == 1);

  reload_to (f, f->b->port, "rate-limit=1/1m\n");
  second = queue_to (f, "b@contoso.com");
  WAIT_UNTIL (f, mb_scheduler_get_length (f->scheduler) == 1);
  f->now += 30 * G_USEC_PER_SEC;
  settle (f);
  g_assert_cmpuint (f->b->n_connections, ==, 0);
  g_assert_cmpuint (
      ((MbRecipient *)lookup (f, second)->recipients->pdata[0])->attempts, ==,
      0);

  f->now += 35 * G_USEC_PER_SEC;
  WAIT_UNTIL (f, f->n_delivered == 2);
  g_assert_cmpuint (f->b->delivered->len, ==, 1);
}

int
main (int argc, char *argv[])
{
  int status;

  g_test_init (&argc, &argv, NULL);
  load_lines = g_ptr_array_new_with_free_func (g_free);
  g_log_set_writer_func (log_writer, NULL, NULL);

  g_test_add ("/relay/scheduler/route/paused-keeps-queue", Fixture,
              paused_route, fixture_set_up, test_paused_route_keeps_queue,
              fixture_tear_down);
  g_test_add ("/relay/scheduler/reports/notice-then-expiry", Fixture,
              paused_route, fixture_set_up, test_notice_then_expiry,
              fixture_tear_down);
  g_test_add ("/relay/scheduler/api/pause-and-retry", Fixture, paused_route,
              fixture_set_up, test_pause_and_retry, fixture_tear_down);
  g_test_add ("/relay/scheduler/route/needs-signin", Fixture, oauth_route,
              fixture_set_up, test_needs_signin, fixture_tear_down);
  g_test_add ("/relay/scheduler/route/none-configured", Fixture, "",
              fixture_set_up, test_no_route, fixture_tear_down);
  g_test_add ("/relay/scheduler/reports/many-reports-low-fd-limit", Fixture,
              paused_route, fixture_set_up, test_many_reports_low_fd_limit,
              fixture_tear_down);
  g_test_add ("/relay/scheduler/load/recovered-read-once", Fixture,
              paused_route, fixture_set_up, test_load_recovered_read_once,
              fixture_tear_down);
  g_test_add ("/relay/scheduler/load/without-recovered", Fixture, paused_route,
              fixture_set_up, test_load_without_recovered, fixture_tear_down);
  g_test_add ("/relay/scheduler/reload/changed-route", Fixture, "",
              reload_set_up, test_reload_changed_route, fixture_tear_down);
  g_test_add ("/relay/scheduler/reload/in-flight", Fixture,
              "max-connections=1\n", reload_set_up, test_reload_in_flight,
              fixture_tear_down);
  g_test_add ("/relay/scheduler/reload/removed-route", Fixture, "",
              reload_set_up, test_reload_removed_route, fixture_tear_down);
  g_test_add ("/relay/scheduler/reload/unchanged-route", Fixture, "",
              reload_set_up, test_reload_unchanged_route, fixture_tear_down);
  g_test_add ("/relay/scheduler/reload/keeps-pacing", Fixture,
              "rate-limit=1/1m\n", reload_set_up, test_reload_keeps_pacing,
              fixture_tear_down);
  status = g_test_run ();
  g_ptr_array_unref (load_lines);
  return status;
}
