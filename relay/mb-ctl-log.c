/* mb-ctl-log.c - mailbridgectl log [--since T] [--follow] [--grep S]
 *
 * Reads the delivery log with ReadLog.  Without --since it shows the
 * newest --limit records (default 50), oldest first; with --since every
 * record from then on (up to --limit, default 1000).  --follow then keeps
 * printing new records as LogRecordAdded signals arrive, until interrupted
 * (exit 0) or the relay goes away (exit 1).  The signal is subscribed to
 * before the log is read, and records already printed (by id) are
 * skipped, so nothing is missed or printed twice.  --json prints an array,
 * or with --follow one JSON object per line.
 */
#define G_LOG_DOMAIN "mailbridgectl"

#include "mb-ctl.h"

#include <glib-unix.h>
#include <stdio.h>
#include <string.h>

#include "mb-relay-config.h"

typedef struct
{
  MbCtl     *ctl;
  GMainLoop *loop;
  char      *grep; /* (nullable) casefolded */
  gint64     last_id;
  int        status;
} Follow;

/* "2h", "30m", "2d" ago; "2025-03-01", "2025-03-01T14:00[:00]" (local
 * time unless an offset is given); "today", "yesterday". Microseconds. */
static gboolean
parse_since (const char *text, gint64 *since_us)
{
  gint64 seconds;
  g_autoptr (GTimeZone) local = g_time_zone_new_local ();
  g_autoptr (GDateTime) now = g_date_time_new_now (local);
  g_autoptr (GDateTime) when = NULL;

  if (mb_relay_config_parse_duration (text, &seconds))
    {
      *since_us = g_get_real_time () - seconds * G_USEC_PER_SEC;
      return TRUE;
    }
  if (strcmp (text, "today") == 0 || strcmp (text, "yesterday") == 0)
    {
      when = g_date_time_new (local, g_date_time_get_year (now),
                              g_date_time_get_month (now),
                              g_date_time_get_day_of_month (now), 0, 0, 0);
      if (strcmp (text, "yesterday") == 0)
        {
          GDateTime *before = g_date_time_add_days (when, -1);

          g_date_time_unref (when);
          when = before;
        }
    }
  else if (strlen (text) == 10)
    {
      g_autofree char *midnight = g_strconcat (text, "T00:00:00", NULL);

      when = g_date_time_new_from_iso8601 (midnight, local);
    }
  else
    when = g_date_time_new_from_iso8601 (text, local);
  if (when == NULL)
    return FALSE;
  *since_us = g_date_time_to_unix (when) * G_USEC_PER_SEC;
  return TRUE;
}

static void
print_record (MbCtl *ctl, GVariant *record)
{
  gint64           time_us = 0;
  g_autofree char *when = NULL;
  const char      *status = mb_ctl_lookup_string (record, "status");
  const char      *reply = mb_ctl_lookup_string (record, "reply");
  const char      *route = mb_ctl_lookup_string (record, "route");
  const char      *hint_text = mb_ctl_lookup_string (record, "hint_text");
  const char      *sender = mb_ctl_lookup_string (record, "sender");

  if (ctl->json)
    {
      g_autoptr (JsonGenerator) generator = json_generator_new ();
      g_autoptr (JsonNode) node = mb_ctl_dict_to_json (record, NULL);
      g_autofree char *line = NULL;

      json_generator_set_root (generator, node);
      line = json_generator_to_data (generator, NULL);
      printf ("%s\n", line);
      fflush (stdout);
      return;
    }
  g_variant_lookup (record, "time_us", "x", &time_us);
  when = mb_ctl_format_time (time_us / G_USEC_PER_SEC);
  printf ("%s  %-9s %s  %s -> %s", when, status,
          mb_ctl_lookup_string (record, "queue_id"),
          *sender != '\0' ? sender : "<>",
          mb_ctl_lookup_string (record, "recipient"));
  if (*route != '\0')
    printf ("  via %s", route);
  if (*reply != '\0')
    printf (": %s", reply);
  printf ("\n");
  if (*hint_text != '\0' && strcmp (status, "delivered") != 0)
    printf ("    hint: %s\n", hint_text);
  fflush (stdout);
}

static gboolean
record_matches (GVariant *record, const char *grep)
{
  static const char *const keys[]
      = { "queue_id", "sender", "recipient", "route",
          "reply",    "hint",   "message_id" };

  if (grep == NULL)
    return TRUE;
  for (gsize i = 0; i < G_N_ELEMENTS (keys); i++)
    {
      g_autofree char *folded
          = g_utf8_casefold (mb_ctl_lookup_string (record, keys[i]), -1);

      if (strstr (folded, grep) != NULL)
        return TRUE;
    }
  return FALSE;
}

static void
on_log_record_added_cb (MbRelay1 *proxy, GVariant *record, gpointer user_data)
{
  Follow *follow = user_data;
  gint64  id = 0;

  g_variant_lookup (record, "id", "x", &id);
  if (id <= follow->last_id || !record_matches (record, follow->grep))
    return;
  follow->last_id = id;
  print_record (follow->ctl, record);
}

static void
on_name_owner_changed_cb (GObject *proxy, GParamSpec *pspec, gpointer data)
{
  Follow          *follow = data;
  g_autofree char *owner = g_dbus_proxy_get_name_owner (G_DBUS_PROXY (proxy));

  if (owner != NULL)
    return;
  fprintf (stderr, "mailbridgectl: the relay stopped\n");
  follow->status = MB_CTL_EXIT_FAILURE;
  g_main_loop_quit (follow->loop);
}

static gboolean
on_interrupt_cb (gpointer user_data)
{
  Follow *follow = user_data;

  g_main_loop_quit (follow->loop);
  return G_SOURCE_CONTINUE;
}

int
mb_ctl_log (MbCtl *ctl, int argc, char **argv)
{
  g_autofree char   *since = NULL;
  g_autofree char   *grep = NULL;
  gboolean           follow_opt = FALSE;
  int                limit = -1;
  const GOptionEntry entries[] = {
    { "since", 0, 0, G_OPTION_ARG_STRING, &since,
      "Records from T on: 2h, 30m, 2d ago, today, yesterday, or a date and "
      "time (2025-03-01T14:00)",
      "T" },
    { "follow", 'f', 0, G_OPTION_ARG_NONE, &follow_opt,
      "Keep printing new records", NULL },
    { "grep", 0, 0, G_OPTION_ARG_STRING, &grep,
      "Only records whose address, queue id, route or reply contains S", "S" },
    { "limit", 'n', 0, G_OPTION_ARG_INT, &limit,
      "At most N records (default 50, or 1000 with --since)", "N" },
    { NULL }
  };
  g_autoptr (GError) error = NULL;
  g_autoptr (GVariant) records = NULL;
  g_auto (GVariantDict) filter;
  Follow    follow = { 0 };
  MbRelay1 *proxy;
  gint64    since_us = 0;
  gulong    handler = 0;

  if (!mb_ctl_parse_options (argv[0], entries, &argc, &argv))
    return MB_CTL_EXIT_USAGE;
  if (argc != 1)
    return mb_ctl_usage_error ("log: unexpected argument “%s”", argv[1]);
  if (since != NULL && !parse_since (since, &since_us))
    return mb_ctl_usage_error ("log: --since “%s” is neither a duration "
                               "(2h, 30m, 2d) nor a date (2025-03-01, "
                               "2025-03-01T14:00)",
                               since);
  if (limit < 0)
    limit = since != NULL ? 1000 : 50;
  proxy = mb_ctl_get_proxy (ctl, &error);
  if (proxy == NULL)
    return mb_ctl_report_error (error);

  follow.ctl = ctl;
  follow.grep = grep != NULL ? g_utf8_casefold (grep, -1) : NULL;
  follow.status = MB_CTL_EXIT_OK;
  if (follow_opt)
    handler = g_signal_connect (proxy, "log-record-added",
                                G_CALLBACK (on_log_record_added_cb), &follow);

  g_variant_dict_init (&filter, NULL);
  if (since != NULL)
    g_variant_dict_insert (&filter, "since_us", "x", since_us);
  else
    g_variant_dict_insert (&filter, "newest_first", "b", TRUE);
  if (grep != NULL)
    g_variant_dict_insert (&filter, "grep", "s", grep);
  g_variant_dict_insert (&filter, "limit", "u", (guint)limit);
  if (!mb_relay1_call_read_log_sync (proxy, g_variant_dict_end (&filter),
                                     G_DBUS_CALL_FLAGS_NONE, -1, &records, NULL,
                                     &error))
    {
      g_clear_signal_handler (&handler, proxy);
      g_free (follow.grep);
      return mb_ctl_report_error (error);
    }

  if (ctl->json && !follow_opt)
    {
      JsonNode  *node = mb_ctl_dicts_to_json (records, NULL);
      JsonArray *array = json_node_get_array (node);

      /* Newest first was only for the limit: print oldest first. */
      if (since == NULL)
        {
          g_autoptr (JsonArray) reversed = json_array_new ();

          for (guint i = json_array_get_length (array); i-- > 0;)
            json_array_add_element (
                reversed, json_node_copy (json_array_get_element (array, i)));
          json_node_set_array (node, reversed);
        }
      mb_ctl_print_json (node);
      g_free (follow.grep);
      return MB_CTL_EXIT_OK;
    }

  for (gsize n = g_variant_n_children (records), k = 0; k < n; k++)
    {
      gsize i = since == NULL ? n - 1 - k : k;
      g_autoptr (GVariant) record = g_variant_get_child_value (records, i);
      gint64 id = 0;

      g_variant_lookup (record, "id", "x", &id);
      follow.last_id = MAX (follow.last_id, id);
      print_record (ctl, record);
    }

  if (follow_opt)
    {
      follow.loop = g_main_loop_new (NULL, FALSE);
      g_signal_connect (proxy, "notify::g-name-owner",
                        G_CALLBACK (on_name_owner_changed_cb), &follow);
      g_unix_signal_add (SIGINT, on_interrupt_cb, &follow);
      g_unix_signal_add (SIGTERM, on_interrupt_cb, &follow);
      g_main_loop_run (follow.loop);
      g_main_loop_unref (follow.loop);
      g_clear_signal_handler (&handler, proxy);
    }
  g_free (follow.grep);
  return follow.status;
}
