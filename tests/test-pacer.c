/* test-pacer.c - connection cap, sliding message window, 24 h recipient
 * budget, all on a fake clock; plus a randomized run checked against a
 * brute-force model. */
#include "mb-pacer.h"

#define SEC ((gint64)G_USEC_PER_SEC)
#define DAY ((gint64)24 * 60 * 60 * SEC)

typedef struct
{
  gint64   now;
  MbPacer *pacer;
} Fixture;

static gint64
fake_now (gpointer user_data)
{
  Fixture *fixture = user_data;

  return fixture->now;
}

/* A pacer on the fake clock; the clock starts at an arbitrary large value
 * so nothing depends on time 0. */
static void
fixture_init (Fixture *fixture,
              guint    connections,
              guint    messages,
              gint64   message_window,
              guint    recipients,
              gint64   recipient_window)
{
  fixture->now = 1000 * SEC;
  fixture->pacer = mb_pacer_new (connections, messages, message_window,
                                 recipients, recipient_window);
  mb_pacer_set_clock (fixture->pacer, fake_now, fixture);
}

static void
fixture_clear (Fixture *fixture)
{
  g_clear_pointer (&fixture->pacer, mb_pacer_free);
}

/* At most N connections at once; a release frees a slot; 0 = no cap. */
static void
test_connections_cap (void)
{
  g_autoptr (MbPacer) pacer = mb_pacer_new (3, 0, 0, 0, 0);
  g_autoptr (MbPacer) unlimited = mb_pacer_new (0, 0, 0, 0, 0);

  g_assert_cmpuint (mb_pacer_get_max_connections (pacer), ==, 3);
  for (guint i = 0; i < 3; i++)
    g_assert_true (mb_pacer_try_acquire_connection (pacer));
  g_assert_cmpuint (mb_pacer_get_connections (pacer), ==, 3);
  g_assert_false (mb_pacer_try_acquire_connection (pacer));
  g_assert_false (mb_pacer_try_acquire_connection (pacer));
  g_assert_cmpuint (mb_pacer_get_connections (pacer), ==, 3);

  mb_pacer_release_connection (pacer);
  g_assert_cmpuint (mb_pacer_get_connections (pacer), ==, 2);
  g_assert_true (mb_pacer_try_acquire_connection (pacer));
  g_assert_false (mb_pacer_try_acquire_connection (pacer));

  for (guint i = 0; i < 1000; i++)
    g_assert_true (mb_pacer_try_acquire_connection (unlimited));
  g_assert_cmpuint (mb_pacer_get_connections (unlimited), ==, 1000);
}

/* The delay is exact: it names the microsecond the oldest send of a full
 * window leaves it (30 a minute, one send a second). */
static void
test_messages_delay_exact (void)
{
  Fixture fixture;
  gint64  start;

  fixture_init (&fixture, 0, 30, 60 * SEC, 0, 0);
  start = fixture.now;
  for (guint i = 0; i < 30; i++)
    {
      g_assert_cmpint (mb_pacer_delay_for_message (fixture.pacer), ==, 0);
      mb_pacer_record_message (fixture.pacer, 1);
      fixture.now += SEC;
    }
  /* now = start + 30 s; the first send (start) frees at start + 60 s. */
  g_assert_cmpint (mb_pacer_delay_for_message (fixture.pacer), ==, 30 * SEC);
  fixture.now = start + 60 * SEC - 1;
  g_assert_cmpint (mb_pacer_delay_for_message (fixture.pacer), ==, 1);
  fixture.now = start + 60 * SEC;
  g_assert_cmpint (mb_pacer_delay_for_message (fixture.pacer), ==, 0);
  mb_pacer_record_message (fixture.pacer, 1);
  /* The next slot is the second send's, at start + 1 s + 60 s. */
  g_assert_cmpint (mb_pacer_delay_for_message (fixture.pacer), ==, SEC);
  fixture_clear (&fixture);
}

/* A burst of 30 at one instant blocks the 31st for exactly the window;
 * the integration tests' scale (30 per 2 s) works the same way. */
static void
test_messages_burst_scale (void)
{
  const gint64 windows[] = { 60 * SEC, 2 * SEC };

  for (gsize w = 0; w < G_N_ELEMENTS (windows); w++)
    {
      Fixture fixture;

      fixture_init (&fixture, 0, 30, windows[w], 0, 0);
      for (guint i = 0; i < 30; i++)
        {
          g_assert_cmpint (mb_pacer_delay_for_message (fixture.pacer), ==, 0);
          mb_pacer_record_message (fixture.pacer, 1);
        }
      g_assert_cmpint (mb_pacer_delay_for_message (fixture.pacer), ==,
                       windows[w]);
      fixture.now += windows[w] / 2;
      g_assert_cmpint (mb_pacer_delay_for_message (fixture.pacer), ==,
                       windows[w] / 2);
      fixture_clear (&fixture);
    }
}

/* A long greedy burst (send whenever allowed) never puts more than M sends
 * in any window of W, checked for every window, and is not slower than
 * the limit: a send that had to wait comes exactly W after the M-th send
 * before it. */
static void
test_messages_every_window (void)
{
  const guint          m = 30;
  const gint64         w = 60 * SEC;
  const guint          n_sends = 5000;
  g_autofree gint64   *times = g_new (gint64, n_sends);
  g_autofree gboolean *waited = g_new (gboolean, n_sends);
  guint                n_waited = 0;
  Fixture              fixture;

  fixture_init (&fixture, 0, m, w, 0, 0);
  for (guint i = 0; i < n_sends; i++)
    {
      gint64 delay = mb_pacer_delay_for_message (fixture.pacer);

      g_assert_cmpint (delay, >=, 0);
      fixture.now += delay;
      g_assert_cmpint (mb_pacer_delay_for_message (fixture.pacer), ==, 0);
      times[i] = fixture.now;
      waited[i] = delay > 0;
      n_waited += waited[i] ? 1 : 0;
      mb_pacer_record_message (fixture.pacer, 1);
      /* Jitter, so the sends do not all line up on window edges. */
      fixture.now += g_test_rand_int_range (0, 3) * (SEC / 7);
    }
  g_assert_cmpuint (n_waited, >, n_sends / 2);

  /* A window holding M + 1 sends would hold sends i and i + M. */
  for (guint i = 0; i + m < n_sends; i++)
    {
      g_assert_cmpint (times[i + m] - times[i], >=, w);
      if (waited[i + m])
        g_assert_cmpint (times[i + m] - times[i], ==, w);
    }
  fixture_clear (&fixture);
}

/* The 24 h recipient budget: spent, then refilled as each entry turns
 * 24 h old, exactly; the delay for n names the entry that frees enough. */
static void
test_recipients_budget_refill (void)
{
  Fixture fixture;
  gint64  start;

  fixture_init (&fixture, 0, 0, 0, 10000, DAY);
  start = fixture.now;
  g_assert_cmpuint (mb_pacer_recipient_budget (fixture.pacer), ==, 10000);

  /* 400 messages of 25 recipients, one every minute. */
  for (guint i = 0; i < 400; i++)
    {
      g_assert_cmpint (mb_pacer_delay_for_recipients (fixture.pacer, 25), ==,
                       0);
      mb_pacer_record_message (fixture.pacer, 25);
      fixture.now += 60 * SEC;
    }
  /* now = start + 400 min */
  g_assert_cmpuint (mb_pacer_recipient_budget (fixture.pacer), ==, 0);
  g_assert_cmpint (mb_pacer_delay_for_recipients (fixture.pacer, 0), ==, 0);
  g_assert_cmpint (mb_pacer_delay_for_recipients (fixture.pacer, 1), ==,
                   start + DAY - fixture.now);
  /* 26 need the first two messages' recipients back. */
  g_assert_cmpint (mb_pacer_delay_for_recipients (fixture.pacer, 26), ==,
                   start + 60 * SEC + DAY - fixture.now);

  fixture.now = start + DAY - 1;
  g_assert_cmpuint (mb_pacer_recipient_budget (fixture.pacer), ==, 0);
  fixture.now = start + DAY;
  g_assert_cmpuint (mb_pacer_recipient_budget (fixture.pacer), ==, 25);
  g_assert_cmpint (mb_pacer_delay_for_recipients (fixture.pacer, 25), ==, 0);
  g_assert_cmpint (mb_pacer_delay_for_recipients (fixture.pacer, 26), ==,
                   60 * SEC);
  /* 24 h after the last message everything is back. */
  fixture.now = start + 399 * 60 * SEC + DAY;
  g_assert_cmpuint (mb_pacer_recipient_budget (fixture.pacer), ==, 10000);
  fixture_clear (&fixture);
}

/* More recipients than the whole budget can never be sent (-1), and the
 * combined delay is the larger of the two limits. */
static void
test_recipients_never_and_combined (void)
{
  Fixture fixture;

  fixture_init (&fixture, 0, 2, 10 * SEC, 100, 60 * SEC);
  g_assert_cmpint (mb_pacer_delay_for_recipients (fixture.pacer, 101), ==, -1);
  g_assert_cmpint (mb_pacer_delay_for_send (fixture.pacer, 101), ==, -1);
  g_assert_cmpint (mb_pacer_delay_for_send (fixture.pacer, 100), ==, 0);

  mb_pacer_record_message (fixture.pacer, 90);
  fixture.now += SEC;
  mb_pacer_record_message (fixture.pacer, 5);
  /* Messages: full until the first leaves at +10 s (9 s from now);
   * recipients: 10 more need the 90 back, at +60 s (59 s from now). */
  g_assert_cmpint (mb_pacer_delay_for_message (fixture.pacer), ==, 9 * SEC);
  g_assert_cmpint (mb_pacer_delay_for_send (fixture.pacer, 5), ==, 9 * SEC);
  g_assert_cmpint (mb_pacer_delay_for_send (fixture.pacer, 10), ==, 59 * SEC);
  g_assert_cmpuint (mb_pacer_recipient_budget (fixture.pacer), ==, 5);
  fixture_clear (&fixture);
}

/* Zero counts or windows mean no limit at all. */
static void
test_unlimited (void)
{
  Fixture fixture;

  fixture_init (&fixture, 0, 0, 0, 0, 0);
  for (guint i = 0; i < 100000; i++)
    mb_pacer_record_message (fixture.pacer, 1000);
  g_assert_cmpint (mb_pacer_delay_for_send (fixture.pacer, G_MAXUINT), ==, 0);
  g_assert_cmpuint (mb_pacer_recipient_budget (fixture.pacer), ==, G_MAXUINT);
  fixture_clear (&fixture);

  fixture_init (&fixture, 0, 5, 0, 5, 0);
  for (guint i = 0; i < 100; i++)
    mb_pacer_record_message (fixture.pacer, 5);
  g_assert_cmpint (mb_pacer_delay_for_send (fixture.pacer, 5), ==, 0);
  fixture_clear (&fixture);
}

typedef struct
{
  gint64 time;
  guint  n;
} Send;

/* The model: the smallest d >= 0 at which a send of @n obeys both limits,
 * computed from the whole history (no ring, no running sums). */
static gint64
model_delay (GArray *history,
             gint64  now,
             guint   m,
             gint64  w,
             guint   r,
             gint64  d,
             guint   n)
{
  gint64 message_delay = 0;
  gint64 best = -1;

  if (n > r)
    return -1;
  if (history->len >= m)
    {
      const Send *mth = &g_array_index (history, Send, history->len - m);
      message_delay = MAX (0, mth->time + w - now);
    }

  /* Candidates: now, and each instant a recorded send leaves the window. */
  for (guint c = 0; c <= history->len; c++)
    {
      gint64 candidate
          = c == 0 ? 0 : g_array_index (history, Send, c - 1).time + d - now;
      guint64 sum = 0;

      if (candidate < 0)
        continue;
      for (guint i = 0; i < history->len; i++)
        {
          const Send *send = &g_array_index (history, Send, i);
          if (send->time > now + candidate - d)
            sum += send->n;
        }
      if (sum + n <= r && (best < 0 || candidate < best))
        best = candidate;
    }
  g_assert_cmpint (best, >=, 0);
  return MAX (best, message_delay);
}

/* Random attempts over simulated time: the pacer's delay always equals
 * the model's, and the sends it allowed never break either limit in any
 * window; the connection count never passes its cap. */
static void
test_property_random (void)
{
  const guint  m = 5;
  const gint64 w = 10 * SEC;
  const guint  r = 100;
  const gint64 d = 60 * SEC;
  const guint  max_connections = 3;
  g_autoptr (GArray) history = g_array_new (FALSE, FALSE, sizeof (Send));
  g_autoptr (GArray) recent = g_array_new (FALSE, FALSE, sizeof (Send));
  Fixture fixture;
  guint   open = 0;
  guint   n_sent = 0;

  fixture_init (&fixture, max_connections, m, w, r, d);
  for (guint step = 0; step < 20000; step++)
    {
      guint  n = (guint)g_test_rand_int_range (0, 45);
      gint64 delay = mb_pacer_delay_for_send (fixture.pacer, n);

      /* The model needs only the sends that can still count (time only
       * moves forward). */
      while (recent->len > 0
             && g_array_index (recent, Send, 0).time
                    <= fixture.now - MAX (w, d))
        g_array_remove_index (recent, 0);
      g_assert_cmpint (delay, ==,
                       model_delay (recent, fixture.now, m, w, r, d, n));
      if (delay == 0)
        {
          Send send = { fixture.now, n };

          mb_pacer_record_message (fixture.pacer, n);
          g_array_append_val (history, send);
          g_array_append_val (recent, send);
          n_sent++;
        }
      else if (delay > 0 && g_test_rand_bit ())
        fixture.now += delay; /* a scheduler that waits as told */

      /* Connections: random acquire and release against a counter. */
      if (g_test_rand_bit ())
        {
          gboolean got = mb_pacer_try_acquire_connection (fixture.pacer);
          g_assert_cmpint (got, ==, open < max_connections);
          open += got ? 1 : 0;
        }
      else if (open > 0)
        {
          mb_pacer_release_connection (fixture.pacer);
          open--;
        }
      g_assert_cmpuint (mb_pacer_get_connections (fixture.pacer), ==, open);

      switch (g_test_rand_int_range (0, 4))
        {
        case 0:
          break; /* several attempts at one instant */
        case 1:
          fixture.now += g_test_rand_int_range (1, 1000);
          break;
        case 2:
          fixture.now += g_test_rand_int_range (1, 3 * SEC);
          break;
        default:
          fixture.now += g_test_rand_int_range (1, 40 * SEC);
        }
    }
  g_assert_cmpuint (n_sent, >, 1000);

  /* Every window that ends at a send holds at most M sends and R
   * recipients (a window's count only grows at a send). */
  for (guint k = 0; k < history->len; k++)
    {
      const Send *end = &g_array_index (history, Send, k);
      guint       messages = 0;
      guint64     recipients = 0;

      for (guint i = k + 1; i-- > 0;)
        {
          const Send *send = &g_array_index (history, Send, i);
          if (send->time <= end->time - MAX (w, d))
            break;
          if (send->time > end->time - w)
            messages++;
          if (send->time > end->time - d)
            recipients += send->n;
        }
      g_assert_cmpuint (messages, <=, m);
      g_assert_cmpuint (recipients, <=, r);
    }
  fixture_clear (&fixture);
}

/* Counts copied into a new pacer go on there, judged by its own limits:
 * sends and recipients keep their times; connections are not copied. */
static void
test_copy_counts (void)
{
  Fixture old, same, lower;

  fixture_init (&old, 3, 3, 60 * SEC, 100, DAY);
  for (guint i = 0; i < 3; i++)
    {
      mb_pacer_record_message (old.pacer, 10);
      old.now += 10 * SEC;
    }
  g_assert_true (mb_pacer_try_acquire_connection (old.pacer));
  /* Sends at 1000, 1010 and 1020 s; now 1030 s. */

  fixture_init (&same, 3, 3, 60 * SEC, 100, DAY);
  same.now = old.now;
  mb_pacer_copy_counts (same.pacer, old.pacer);
  g_assert_cmpint (mb_pacer_delay_for_message (same.pacer), ==,
                   mb_pacer_delay_for_message (old.pacer));
  g_assert_cmpint (mb_pacer_delay_for_message (same.pacer), ==, 30 * SEC);
  g_assert_cmpuint (mb_pacer_recipient_budget (same.pacer), ==, 70);
  g_assert_cmpuint (mb_pacer_get_connections (same.pacer), ==, 0);

  /* Two a minute: the send at 1010 s must leave first; 25 recipients a
   * day: the 10 of 1000 s must leave before one more fits. */
  fixture_init (&lower, 0, 2, 60 * SEC, 25, DAY);
  lower.now = old.now;
  mb_pacer_copy_counts (lower.pacer, old.pacer);
  g_assert_cmpint (mb_pacer_delay_for_message (lower.pacer), ==, 40 * SEC);
  g_assert_cmpuint (mb_pacer_recipient_budget (lower.pacer), ==, 0);
  g_assert_cmpint (mb_pacer_delay_for_recipients (lower.pacer, 1), ==,
                   DAY - 30 * SEC);

  /* It goes on counting its own sends after the copied ones. */
  same.now += 30 * SEC;
  g_assert_cmpint (mb_pacer_delay_for_message (same.pacer), ==, 0);
  mb_pacer_record_message (same.pacer, 5);
  g_assert_cmpint (mb_pacer_delay_for_message (same.pacer), ==, 10 * SEC);
  g_assert_cmpuint (mb_pacer_recipient_budget (same.pacer), ==, 65);

  fixture_clear (&old);
  fixture_clear (&same);
  fixture_clear (&lower);
}

int
main (int argc, char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/relay/pacer/connections/cap", test_connections_cap);
  g_test_add_func ("/relay/pacer/messages/delay-exact",
                   test_messages_delay_exact);
  g_test_add_func ("/relay/pacer/messages/burst-and-test-scale",
                   test_messages_burst_scale);
  g_test_add_func ("/relay/pacer/messages/every-window",
                   test_messages_every_window);
  g_test_add_func ("/relay/pacer/recipients/budget-refill",
                   test_recipients_budget_refill);
  g_test_add_func ("/relay/pacer/recipients/never-and-combined",
                   test_recipients_never_and_combined);
  g_test_add_func ("/relay/pacer/limits/unlimited", test_unlimited);
  g_test_add_func ("/relay/pacer/limits/copy-counts", test_copy_counts);
  g_test_add_func ("/relay/pacer/property/random", test_property_random);

  return g_test_run ();
}
