/* mb-ctl-queue.c - mailbridgectl queue list|show|retry|delete|flush
 *
 * queue list pages through ListQueue (a page of PAGE_SIZE at a time, so a
 * large queue never travels in one message); --json prints one array of
 * every message.  The other commands are one call each.
 */
#define G_LOG_DOMAIN "mailbridgectl"

#include "mb-ctl.h"

#include <stdio.h>

#define PAGE_SIZE 500

static const char *const queue_time_keys[]
    = { "received", "next_attempt", "delay_notice_sent", NULL };

static void
print_message_line (GVariant *message, gint64 now)
{
  g_autoptr (GVariant) recipients = NULL;
  guint64          size = 0;
  gint64           received = 0, next_attempt = 0;
  guint            attempts = 0;
  g_autofree char *age = NULL;
  g_autofree char *size_text = NULL;
  const char      *sender = mb_ctl_lookup_string (message, "sender");

  g_variant_lookup (message, "size", "t", &size);
  g_variant_lookup (message, "received", "x", &received);
  g_variant_lookup (message, "next_attempt", "x", &next_attempt);
  g_variant_lookup (message, "attempts", "u", &attempts);
  recipients = g_variant_lookup_value (message, "recipients",
                                       G_VARIANT_TYPE ("aa{sv}"));
  age = mb_ctl_format_age (now - received);
  size_text = mb_ctl_format_size (size);

  printf ("%s  %s  %s ago  from %s  (%s, %u attempt%s",
          mb_ctl_lookup_string (message, "id"), size_text, age,
          *sender != '\0' ? sender : "<>",
          mb_ctl_lookup_string (message, "state"), attempts,
          attempts == 1 ? "" : "s");
  if (next_attempt > now)
    {
      g_autofree char *wait = mb_ctl_format_age (next_attempt - now);

      printf (", next in %s", wait);
    }
  printf (")\n");
  for (gsize i = 0; recipients != NULL && i < g_variant_n_children (recipients);
       i++)
    {
      g_autoptr (GVariant) r = g_variant_get_child_value (recipients, i);
      const char *reply = mb_ctl_lookup_string (r, "last_reply");
      const char *hint_text = mb_ctl_lookup_string (r, "hint_text");

      printf ("    to %s: %s\n", mb_ctl_lookup_string (r, "address"),
              mb_ctl_lookup_string (r, "state"));
      if (*reply != '\0')
        printf ("      reply: %s\n", reply);
      if (*hint_text != '\0')
        printf ("      hint:  %s\n", hint_text);
    }
}

/* Every message from @offset on (at most @limit, 0: all), page by page. */
static GVariant *
list_all (MbRelay1 *proxy,
          guint     offset,
          guint     limit,
          guint    *total,
          GError  **error)
{
  g_autoptr (GVariantBuilder) all
      = g_variant_builder_new (G_VARIANT_TYPE ("aa{sv}"));
  guint fetched = 0;

  do
    {
      g_autoptr (GVariant) page = NULL;
      guint want = PAGE_SIZE;

      if (limit > 0)
        want = MIN (want, limit - fetched);
      if (!mb_relay1_call_list_queue_sync (proxy, offset + fetched, want,
                                           G_DBUS_CALL_FLAGS_NONE, -1, &page,
                                           total, NULL, error))
        return NULL;
      for (gsize i = 0; i < g_variant_n_children (page); i++)
        {
          g_autoptr (GVariant) child = g_variant_get_child_value (page, i);

          g_variant_builder_add_value (all, child);
        }
      if (g_variant_n_children (page) == 0)
        break;
      fetched += g_variant_n_children (page);
    }
  while (offset + fetched < *total && (limit == 0 || fetched < limit));
  return g_variant_ref_sink (g_variant_builder_end (all));
}

int
mb_ctl_queue_list (MbCtl *ctl, int argc, char **argv)
{
  int                limit = 0, offset = 0;
  g_autofree char   *grep = NULL;
  const GOptionEntry entries[]
      = { { "limit", 0, 0, G_OPTION_ARG_INT, &limit, "At most N messages",
            "N" },
          { "offset", 0, 0, G_OPTION_ARG_INT, &offset, "Skip N messages", "N" },
          { "grep", 0, 0, G_OPTION_ARG_STRING, &grep,
            "Only messages whose id, sender, route, recipients or replies "
            "contain TEXT (case-insensitive; searched in the relay)",
            "TEXT" },
          { NULL } };
  g_autoptr (GError) error = NULL;
  g_autoptr (GVariant) messages = NULL;
  MbRelay1 *proxy;
  guint     total = 0;
  gint64    now = g_get_real_time () / G_USEC_PER_SEC;

  if (!mb_ctl_parse_options (argv[0], entries, &argc, &argv))
    return MB_CTL_EXIT_USAGE;
  if (argc > 1)
    return mb_ctl_usage_error ("queue list: unexpected argument “%s”", argv[1]);
  if (limit < 0 || offset < 0)
    return mb_ctl_usage_error ("queue list: --limit and --offset must not "
                               "be negative");
  proxy = mb_ctl_get_proxy (ctl, &error);
  if (proxy == NULL)
    return mb_ctl_report_error (error);

  if (grep != NULL && offset > 0)
    return mb_ctl_usage_error ("queue list: --grep takes --limit, not "
                               "--offset");
  if (grep != NULL)
    {
      if (!mb_relay1_call_search_queue_sync (proxy, grep, (guint)limit,
                                             G_DBUS_CALL_FLAGS_NONE, -1,
                                             &messages, &total, NULL, &error))
        return mb_ctl_report_error (error);
    }
  else
    messages = list_all (proxy, (guint)offset, (guint)limit, &total, &error);
  if (messages == NULL)
    return mb_ctl_report_error (error);

  if (ctl->json)
    {
      mb_ctl_print_json (mb_ctl_dicts_to_json (messages, queue_time_keys));
      return MB_CTL_EXIT_OK;
    }
  if (g_variant_n_children (messages) == 0)
    {
      printf (grep != NULL ? "No message in the queue matches.\n"
                           : "The queue is empty.\n");
      return MB_CTL_EXIT_OK;
    }
  for (gsize i = 0; i < g_variant_n_children (messages); i++)
    {
      g_autoptr (GVariant) message = g_variant_get_child_value (messages, i);

      print_message_line (message, now);
    }
  if (grep != NULL)
    printf ("%u message%s in the queue match.\n", total, total == 1 ? "" : "s");
  else
    printf ("%u message%s in the queue.\n", total, total == 1 ? "" : "s");
  return MB_CTL_EXIT_OK;
}

static gboolean
take_id (int argc, char **argv, const char **id, int *status)
{
  if (argc != 2)
    {
      *status = mb_ctl_usage_error ("usage: mailbridgectl %s ID", argv[0]);
      return FALSE;
    }
  *id = argv[1];
  return TRUE;
}

int
mb_ctl_queue_show (MbCtl *ctl, int argc, char **argv)
{
  const GOptionEntry entries[] = { { NULL } };
  g_autoptr (GError) error = NULL;
  g_autoptr (GVariant) envelope = NULL;
  g_autoptr (GVariant) headers = NULL;
  MbRelay1   *proxy;
  const char *id;
  int         status;

  if (!mb_ctl_parse_options (argv[0], entries, &argc, &argv))
    return MB_CTL_EXIT_USAGE;
  if (!take_id (argc, argv, &id, &status))
    return status;
  proxy = mb_ctl_get_proxy (ctl, &error);
  if (proxy == NULL)
    return mb_ctl_report_error (error);
  if (!mb_relay1_call_show_message_sync (proxy, id, G_DBUS_CALL_FLAGS_NONE, -1,
                                         &envelope, &headers, NULL, &error))
    return mb_ctl_report_error (error);

  if (ctl->json)
    {
      JsonNode    *node = mb_ctl_dict_to_json (envelope, queue_time_keys);
      JsonObject  *object = json_node_get_object (node);
      JsonArray   *array = json_array_new ();
      GVariantIter iter;
      const char  *name, *value;

      g_variant_iter_init (&iter, headers);
      while (g_variant_iter_next (&iter, "(&s&s)", &name, &value))
        {
          JsonObject *header = json_object_new ();

          json_object_set_string_member (header, "name", name);
          json_object_set_string_member (header, "value", value);
          json_array_add_object_element (array, header);
        }
      json_object_set_array_member (object, "headers", array);
      mb_ctl_print_json (node);
      return MB_CTL_EXIT_OK;
    }

  print_message_line (envelope, g_get_real_time () / G_USEC_PER_SEC);
  {
    gint64           received = 0;
    g_autofree char *when = NULL;
    const char      *client = mb_ctl_lookup_string (envelope, "client_address");
    const char      *route = mb_ctl_lookup_string (envelope, "route");
    GVariantIter     iter;
    const char      *name, *value;

    g_variant_lookup (envelope, "received", "x", &received);
    when = mb_ctl_format_time (received);
    printf ("  received:  %s\n", when);
    if (*client != '\0')
      printf ("  client:    %s (%s)\n", client,
              mb_ctl_lookup_string (envelope, "client_helo"));
    if (*route != '\0')
      printf ("  route:     %s\n", route);
    printf ("\n");
    g_variant_iter_init (&iter, headers);
    while (g_variant_iter_next (&iter, "(&s&s)", &name, &value))
      printf ("%s: %s\n", name, value);
  }
  return MB_CTL_EXIT_OK;
}

int
mb_ctl_queue_retry (MbCtl *ctl, int argc, char **argv)
{
  gboolean           all = FALSE;
  const GOptionEntry entries[]
      = { { "all", 0, 0, G_OPTION_ARG_NONE, &all, "Retry every message", NULL },
          { NULL } };
  g_autoptr (GError) error = NULL;
  MbRelay1 *proxy;
  guint     count = 1;

  if (!mb_ctl_parse_options (argv[0], entries, &argc, &argv))
    return MB_CTL_EXIT_USAGE;
  if (all ? argc != 1 : argc != 2)
    return mb_ctl_usage_error ("usage: mailbridgectl queue retry ID|--all");
  proxy = mb_ctl_get_proxy (ctl, &error);
  if (proxy == NULL)
    return mb_ctl_report_error (error);
  if (all ? !mb_relay1_call_retry_all_sync (proxy, G_DBUS_CALL_FLAGS_NONE, -1,
                                            &count, NULL, &error)
          : !mb_relay1_call_retry_message_sync (
              proxy, argv[1], G_DBUS_CALL_FLAGS_NONE, -1, NULL, &error))
    return mb_ctl_report_error (error);

  if (ctl->json)
    {
      g_autoptr (JsonBuilder) builder = json_builder_new ();

      json_builder_begin_object (builder);
      json_builder_set_member_name (builder, "retried");
      json_builder_add_int_value (builder, count);
      if (!all)
        {
          json_builder_set_member_name (builder, "id");
          json_builder_add_string_value (builder, argv[1]);
        }
      json_builder_end_object (builder);
      mb_ctl_print_json (json_builder_get_root (builder));
    }
  else if (all)
    printf ("Retrying %u message%s now.\n", count, count == 1 ? "" : "s");
  else
    printf ("Retrying %s now.\n", argv[1]);
  return MB_CTL_EXIT_OK;
}

int
mb_ctl_queue_delete (MbCtl *ctl, int argc, char **argv)
{
  const GOptionEntry entries[] = { { NULL } };
  g_autoptr (GError) error = NULL;
  MbRelay1   *proxy;
  const char *id;
  int         status;

  if (!mb_ctl_parse_options (argv[0], entries, &argc, &argv))
    return MB_CTL_EXIT_USAGE;
  if (!take_id (argc, argv, &id, &status))
    return status;
  proxy = mb_ctl_get_proxy (ctl, &error);
  if (proxy == NULL)
    return mb_ctl_report_error (error);
  if (!mb_relay1_call_delete_message_sync (proxy, id, G_DBUS_CALL_FLAGS_NONE,
                                           -1, NULL, &error))
    return mb_ctl_report_error (error);

  if (ctl->json)
    {
      g_autoptr (JsonBuilder) builder = json_builder_new ();

      json_builder_begin_object (builder);
      json_builder_set_member_name (builder, "deleted");
      json_builder_add_string_value (builder, id);
      json_builder_end_object (builder);
      mb_ctl_print_json (json_builder_get_root (builder));
    }
  else
    printf ("Deleted %s from the queue (not delivered, not bounced).\n", id);
  return MB_CTL_EXIT_OK;
}

int
mb_ctl_queue_flush (MbCtl *ctl, int argc, char **argv)
{
  int                timeout = 60;
  const GOptionEntry entries[]
      = { { "timeout", 0, 0, G_OPTION_ARG_INT, &timeout,
            "Wait at most SECONDS for the attempts (default 60)", "SECONDS" },
          { NULL } };
  g_autoptr (GError) error = NULL;
  MbRelay1 *proxy;
  guint     attempted = 0, remaining = 0;

  if (!mb_ctl_parse_options (argv[0], entries, &argc, &argv))
    return MB_CTL_EXIT_USAGE;
  if (argc != 1 || timeout <= 0)
    return mb_ctl_usage_error (
        "usage: mailbridgectl queue flush [--timeout SECONDS]");
  proxy = mb_ctl_get_proxy (ctl, &error);
  if (proxy == NULL)
    return mb_ctl_report_error (error);
  if (!mb_relay1_call_flush_sync (proxy, timeout, G_DBUS_CALL_FLAGS_NONE,
                                  (timeout + 30) * 1000, &attempted, &remaining,
                                  NULL, &error))
    return mb_ctl_report_error (error);

  if (ctl->json)
    {
      g_autoptr (JsonBuilder) builder = json_builder_new ();

      json_builder_begin_object (builder);
      json_builder_set_member_name (builder, "attempted");
      json_builder_add_int_value (builder, attempted);
      json_builder_set_member_name (builder, "remaining");
      json_builder_add_int_value (builder, remaining);
      json_builder_end_object (builder);
      mb_ctl_print_json (json_builder_get_root (builder));
    }
  else
    printf ("Tried %u message%s; %u left in the queue.\n", attempted,
            attempted == 1 ? "" : "s", remaining);
  return MB_CTL_EXIT_OK;
}
