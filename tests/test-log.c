/* test-log.c - the relay's log writer */
#include "mb-log.h"

/* Proves the key=value words that become journal fields are found exactly:
 * whole keys only, unquoted values only, up to the next blank. */
static void
test_message_value (void)
{
  static const struct
  {
    const char *message;
    const char *key;
    const char *expected;
  } cases[] = {
    { "session=AB12 client=1.2.3.4 connect", "session", "AB12" },
    { "session=AB12 queue-id=0006-ff client=x", "queue-id", "0006-ff" },
    { "route=office365 paused reply=\"535 5.7.3 x\"", "route", "office365" },
    { "route=office365 paused reply=\"535 5.7.3 x\"", "reply", NULL },
    { "xsession=AB12 session=CD34", "session", "CD34" },
    { "client=1.2.3.4 connect", "session", NULL },
    { "session= connect", "session", NULL },
    { "", "session", NULL },
    { "recipient=a@b.example", "recipient", "a@b.example" },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *value
          = mb_log_message_value (cases[i].message, cases[i].key);

      g_assert_cmpstr (value, ==, cases[i].expected);
    }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/relay/log/message-value", test_message_value);
  return g_test_run ();
}
