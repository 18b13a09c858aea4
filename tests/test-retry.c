/* test-retry.c - unit tests for mb-retry (table-driven times) */
#include "mb-retry.h"

#define MIN_ 60
#define HOUR (60 * MIN_)
#define DAY (24 * HOUR)
#define T0 ((gint64)1764000000)

static GArray *
default_schedule (void)
{
  static const gint64 steps[]
      = { 1 * MIN_, 5 * MIN_, 15 * MIN_, 30 * MIN_, 1 * HOUR };
  GArray *schedule = g_array_new (FALSE, FALSE, sizeof (gint64));

  g_array_append_vals (schedule, steps, G_N_ELEMENTS (steps));
  return schedule;
}

/* Each failed attempt waits its step; the last step repeats. */
static void
test_schedule_steps (void)
{
  static const struct
  {
    guint  attempts;
    gint64 delay;
  } cases[] = {
    { 0, 1 * MIN_ }, /* never tried counts as the first step */
    { 1, 1 * MIN_ }, { 2, 5 * MIN_ }, { 3, 15 * MIN_ },  { 4, 30 * MIN_ },
    { 5, 1 * HOUR }, { 6, 1 * HOUR }, { 100, 1 * HOUR },
  };
  g_autoptr (GArray) schedule = default_schedule ();

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_assert_cmpint (mb_retry_get_delay (schedule, cases[i].attempts), ==,
                       cases[i].delay);
      g_assert_cmpint (mb_retry_next_attempt (schedule, cases[i].attempts, T0),
                       ==, T0 + cases[i].delay);
    }
}

/* An empty or missing schedule falls back to one minute; the sum
 * saturates instead of overflowing. */
static void
test_schedule_edges (void)
{
  g_autoptr (GArray) empty = g_array_new (FALSE, FALSE, sizeof (gint64));

  g_assert_cmpint (mb_retry_get_delay (NULL, 3), ==, MB_RETRY_DEFAULT_DELAY);
  g_assert_cmpint (mb_retry_get_delay (empty, 1), ==, MB_RETRY_DEFAULT_DELAY);
  g_assert_cmpint (mb_retry_next_attempt (NULL, 1, G_MAXINT64 - 5), ==,
                   G_MAXINT64);
}

static MbEnvelope *
make_envelope (const MbRecipientState *states,
               const gint64           *next_attempts,
               guint                   n)
{
  MbEnvelope *envelope = mb_envelope_new ();

  envelope->received = T0;
  for (guint i = 0; i < n; i++)
    {
      g_autofree char *address = g_strdup_printf ("r%u@contoso.com", i);
      MbRecipient     *rcpt
          = mb_envelope_add_recipient (envelope, address, 0, NULL);

      rcpt->state = states[i];
      rcpt->next_attempt = next_attempts[i];
    }
  return envelope;
}

/* Due time, expiry, delay notice and wake time over a table of envelopes
 * and times (delay notice after 4 h, expiry after 2 d). */
static void
test_wake_table (void)
{
#define Q MB_RECIPIENT_STATE_QUEUED
#define D MB_RECIPIENT_STATE_DEFERRED
#define OK MB_RECIPIENT_STATE_DELIVERED
#define F MB_RECIPIENT_STATE_FAILED
  static const struct
  {
    const char      *name;
    MbRecipientState states[3];
    gint64           next[3];
    guint            n;
    gint64           notice_sent;
    gint64           now;
    gint64           due;
    gint64           wake;
    gboolean         expired;
    gboolean         notice_due;
  } cases[] = {
    { "new", { Q }, { 0 }, 1, 0, T0, 0, 0, FALSE, FALSE },
    { "deferred-min",
      { D, D, OK },
      { T0 + 300, T0 + 60, 0 },
      3,
      0,
      T0 + 10,
      T0 + 60,
      T0 + 60,
      FALSE,
      FALSE },
    { "finished", { OK, F }, { 0, 0 }, 2, 0, T0, G_MAXINT64, 0, FALSE, FALSE },
    { "notice-before-retry",
      { D },
      { T0 + 5 * HOUR },
      1,
      0,
      T0 + 4 * HOUR,
      T0 + 5 * HOUR,
      T0 + 4 * HOUR,
      FALSE,
      TRUE },
    { "notice-already-sent",
      { D },
      { T0 + 5 * HOUR },
      1,
      T0 + 4 * HOUR,
      T0 + 4 * HOUR + 1,
      T0 + 5 * HOUR,
      T0 + 5 * HOUR,
      FALSE,
      FALSE },
    { "expiry-before-retry",
      { D },
      { T0 + 3 * DAY },
      1,
      T0 + 4 * HOUR,
      T0 + 2 * DAY,
      T0 + 3 * DAY,
      T0 + 2 * DAY,
      TRUE,
      FALSE },
    { "one-second-before-expiry",
      { D },
      { T0 + 3 * DAY },
      1,
      T0 + 4 * HOUR,
      T0 + 2 * DAY - 1,
      T0 + 3 * DAY,
      T0 + 2 * DAY,
      FALSE,
      FALSE },
    { "finished-never-expires",
      { OK },
      { 0 },
      1,
      0,
      T0 + 9 * DAY,
      G_MAXINT64,
      0,
      FALSE,
      FALSE },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr (MbEnvelope) envelope
          = make_envelope (cases[i].states, cases[i].next, cases[i].n);

      g_test_message ("case %s", cases[i].name);
      envelope->delay_notice_sent = cases[i].notice_sent;
      g_assert_cmpint (mb_retry_due_time (envelope), ==, cases[i].due);
      g_assert_cmpint (mb_retry_wake_time (envelope, 4 * HOUR, 2 * DAY), ==,
                       cases[i].wake);
      g_assert_cmpint (mb_retry_is_expired (envelope, 2 * DAY, cases[i].now),
                       ==, cases[i].expired);
      g_assert_cmpint (
          mb_retry_delay_notice_due (envelope, 4 * HOUR, cases[i].now), ==,
          cases[i].notice_due);
    }
#undef Q
#undef D
#undef OK
#undef F
}

/* Only pending recipients whose next attempt has come are due, in
 * order. */
static void
test_due_recipients (void)
{
  static const MbRecipientState states[] = {
    MB_RECIPIENT_STATE_QUEUED,    MB_RECIPIENT_STATE_DEFERRED,
    MB_RECIPIENT_STATE_DELIVERED, MB_RECIPIENT_STATE_DEFERRED,
    MB_RECIPIENT_STATE_FAILED,
  };
  static const gint64 next[] = { 0, T0 + 61, 0, T0 + 60, 0 };
  g_autoptr (MbEnvelope) envelope = make_envelope (states, next, 5);
  g_autoptr (GArray) due = mb_retry_due_recipients (envelope, T0 + 60);

  g_assert_cmpuint (due->len, ==, 2);
  g_assert_cmpuint (g_array_index (due, guint, 0), ==, 0);
  g_assert_cmpuint (g_array_index (due, guint, 1), ==, 3);
}

int
main (int argc, char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/relay/retry/schedule/steps", test_schedule_steps);
  g_test_add_func ("/relay/retry/schedule/edges", test_schedule_edges);
  g_test_add_func ("/relay/retry/wake/table", test_wake_table);
  g_test_add_func ("/relay/retry/due/recipients", test_due_recipients);
  return g_test_run ();
}
