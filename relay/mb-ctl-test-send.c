/* mb-ctl-test-send.c - mailbridgectl test-send
 *
 * Asks the relay to queue a test message and waits for its first delivery
 * attempt.  Exit status 0 only when Microsoft 365 accepted it; a refusal
 * prints the reply and what it means, and exits 1.
 */
#define G_LOG_DOMAIN "mailbridgectl"

#include "mb-ctl.h"

#include <stdio.h>
#include <string.h>

int
mb_ctl_test_send (MbCtl *ctl, int argc, char **argv)
{
  g_autofree char   *to = NULL;
  g_autofree char   *from = NULL;
  g_autofree char   *route = NULL;
  int                timeout = 60;
  const GOptionEntry entries[]
      = { { "to", 0, 0, G_OPTION_ARG_STRING, &to, "The recipient", "ADDR" },
          { "from", 0, 0, G_OPTION_ARG_STRING, &from,
            "The sender (default: the route's mailbox or the admin address)",
            "ADDR" },
          { "route", 0, 0, G_OPTION_ARG_STRING, &route,
            "The route (default: the relay's)", "NAME" },
          { "timeout", 0, 0, G_OPTION_ARG_INT, &timeout,
            "Wait at most SECONDS for the attempt (default 60)", "SECONDS" },
          { NULL } };
  g_autoptr (GError) error = NULL;
  g_autofree char *queue_id = NULL;
  g_autofree char *outcome = NULL;
  g_autofree char *reply = NULL;
  g_autofree char *hint = NULL;
  g_autofree char *hint_text = NULL;
  MbRelay1        *proxy;

  if (!mb_ctl_parse_options (argv[0], entries, &argc, &argv))
    return MB_CTL_EXIT_USAGE;
  if (to == NULL || argc != 1 || timeout <= 0)
    return mb_ctl_usage_error ("usage: mailbridgectl test-send --to ADDR "
                               "[--from ADDR] [--route NAME]");
  proxy = mb_ctl_get_proxy (ctl, &error);
  if (proxy == NULL)
    return mb_ctl_report_error (error);
  if (!mb_relay1_call_send_test_sync (
          proxy, to, from != NULL ? from : "", route != NULL ? route : "",
          timeout, G_DBUS_CALL_FLAGS_NONE, (timeout + 30) * 1000, &queue_id,
          &outcome, &reply, &hint, &hint_text, NULL, &error))
    return mb_ctl_report_error (error);

  if (ctl->json)
    {
      g_autoptr (JsonBuilder) builder = json_builder_new ();

      json_builder_begin_object (builder);
      json_builder_set_member_name (builder, "queue_id");
      json_builder_add_string_value (builder, queue_id);
      json_builder_set_member_name (builder, "to");
      json_builder_add_string_value (builder, to);
      json_builder_set_member_name (builder, "outcome");
      json_builder_add_string_value (builder, outcome);
      json_builder_set_member_name (builder, "reply");
      json_builder_add_string_value (builder, reply);
      json_builder_set_member_name (builder, "hint");
      json_builder_add_string_value (builder, hint);
      json_builder_set_member_name (builder, "hint_text");
      json_builder_add_string_value (builder, hint_text);
      json_builder_end_object (builder);
      mb_ctl_print_json (json_builder_get_root (builder));
    }
  else
    {
      if (strcmp (outcome, "delivered") == 0)
        printf ("Test message %s to %s was accepted by Microsoft 365.\n",
                queue_id, to);
      else if (strcmp (outcome, "queued") == 0)
        printf ("Test message %s to %s is still queued: no delivery attempt "
                "within %d s (is delivery paused?).\n",
                queue_id, to, timeout);
      else
        printf ("Test message %s to %s was not delivered (%s).\n", queue_id, to,
                outcome);
      if (*reply != '\0')
        printf ("Reply: %s\n", reply);
      if (*hint_text != '\0')
        printf ("Hint:  %s\n", hint_text);
    }
  return strcmp (outcome, "delivered") == 0 ? MB_CTL_EXIT_OK
                                            : MB_CTL_EXIT_FAILURE;
}
