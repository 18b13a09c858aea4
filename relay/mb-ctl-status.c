/* mb-ctl-status.c - mailbridgectl status, pause, resume
 *
 * status reads the relay's properties in one GetAll (the proxy's cache,
 * filled when it connected); pause and resume call the methods and say
 * what changed.
 */
#define G_LOG_DOMAIN "mailbridgectl"

#include "mb-ctl.h"

#include <stdio.h>

static const char *const route_keys[] = { "secret_expires", NULL };

static JsonNode *
status_to_json (MbRelay1 *proxy)
{
  g_autoptr (JsonBuilder) builder = json_builder_new ();
  const char *const *reasons = mb_relay1_get_attention_reasons (proxy);
  const char *const *listen = mb_relay1_get_listen_addresses (proxy);
  GVariant          *routes = mb_relay1_get_routes (proxy);
  gint64             oldest = mb_relay1_get_oldest_message_received (proxy);
  g_autoptr (GDateTime) oldest_time = NULL;

  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "state");
  json_builder_add_string_value (builder, mb_relay1_get_state (proxy));
  json_builder_set_member_name (builder, "paused");
  json_builder_add_boolean_value (builder, mb_relay1_get_paused (proxy));
  json_builder_set_member_name (builder, "attention");
  json_builder_begin_array (builder);
  for (guint i = 0; reasons != NULL && reasons[i] != NULL; i++)
    json_builder_add_string_value (builder, reasons[i]);
  json_builder_end_array (builder);
  json_builder_set_member_name (builder, "queue_length");
  json_builder_add_int_value (builder, mb_relay1_get_queue_length (proxy));
  json_builder_set_member_name (builder, "deferred");
  json_builder_add_int_value (builder, mb_relay1_get_deferred_count (proxy));
  json_builder_set_member_name (builder, "oldest_received");
  if (oldest != 0
      && (oldest_time = g_date_time_new_from_unix_utc (oldest)) != NULL)
    {
      g_autofree char *text = g_date_time_format (oldest_time, "%FT%TZ");

      json_builder_add_string_value (builder, text);
    }
  else
    json_builder_add_null_value (builder);
  json_builder_set_member_name (builder, "oldest_age");
  if (oldest != 0)
    json_builder_add_int_value (builder,
                                g_get_real_time () / G_USEC_PER_SEC - oldest);
  else
    json_builder_add_null_value (builder);
  json_builder_set_member_name (builder, "listen");
  json_builder_begin_array (builder);
  for (guint i = 0; listen != NULL && listen[i] != NULL; i++)
    json_builder_add_string_value (builder, listen[i]);
  json_builder_end_array (builder);
  json_builder_set_member_name (builder, "config_path");
  json_builder_add_string_value (builder, mb_relay1_get_config_path (proxy));
  json_builder_set_member_name (builder, "version");
  json_builder_add_string_value (builder, mb_relay1_get_version (proxy));
  json_builder_set_member_name (builder, "routes");
  if (routes != NULL)
    json_builder_add_value (builder, mb_ctl_dicts_to_json (routes, route_keys));
  else
    {
      json_builder_begin_array (builder);
      json_builder_end_array (builder);
    }
  json_builder_end_object (builder);
  return json_builder_get_root (builder);
}

static void
print_status (MbRelay1 *proxy)
{
  const char *const *reasons = mb_relay1_get_attention_reasons (proxy);
  const char *const *listen = mb_relay1_get_listen_addresses (proxy);
  GVariant          *routes = mb_relay1_get_routes (proxy);
  gint64             oldest = mb_relay1_get_oldest_message_received (proxy);
  g_autofree char   *listening = NULL;
  const char        *config_path = mb_relay1_get_config_path (proxy);

  printf ("Relay:      %s\n", mb_relay1_get_state (proxy));
  for (guint i = 0; reasons != NULL && reasons[i] != NULL; i++)
    printf ("            ! %s\n", reasons[i]);
  printf ("Queue:      %u message%s, %u deferred",
          mb_relay1_get_queue_length (proxy),
          mb_relay1_get_queue_length (proxy) == 1 ? "" : "s",
          mb_relay1_get_deferred_count (proxy));
  if (oldest != 0)
    {
      g_autofree char *age
          = mb_ctl_format_age (g_get_real_time () / G_USEC_PER_SEC - oldest);

      printf (", oldest %s old", age);
    }
  printf ("\n");
  listening
      = listen != NULL ? g_strjoinv (", ", (char **)listen) : g_strdup ("");
  printf ("Listening:  %s\n", listening);
  printf ("Config:     %s\n", config_path != NULL && *config_path != '\0'
                                  ? config_path
                                  : "(built-in defaults)");

  for (gsize i = 0; routes != NULL && i < g_variant_n_children (routes); i++)
    {
      g_autoptr (GVariant) route = g_variant_get_child_value (routes, i);
      gboolean    is_default = FALSE;
      const char *reason = mb_ctl_lookup_string (route, "reason");
      const char *reply = mb_ctl_lookup_string (route, "last_reply");
      const char *hint_text = mb_ctl_lookup_string (route, "hint_text");

      g_variant_lookup (route, "default", "b", &is_default);
      printf ("Route %s (%s%s): %s\n", mb_ctl_lookup_string (route, "name"),
              mb_ctl_lookup_string (route, "method"),
              is_default ? ", default" : "",
              mb_ctl_lookup_string (route, "state"));
      if (*reason != '\0')
        printf ("  reason:     %s\n", reason);
      if (*reply != '\0')
        printf ("  last reply: %s\n", reply);
      if (*hint_text != '\0')
        printf ("  hint:       %s\n", hint_text);
    }
  if (routes == NULL || g_variant_n_children (routes) == 0)
    printf ("Routes:     none configured\n");
}

int
mb_ctl_status (MbCtl *ctl, int argc, char **argv)
{
  const GOptionEntry entries[] = { { NULL } };
  g_autoptr (GError) error = NULL;
  MbRelay1 *proxy;

  if (!mb_ctl_parse_options (argv[0], entries, &argc, &argv))
    return MB_CTL_EXIT_USAGE;
  if (argc > 1)
    return mb_ctl_usage_error ("status: unexpected argument “%s”", argv[1]);
  proxy = mb_ctl_get_proxy (ctl, &error);
  if (proxy == NULL)
    return mb_ctl_report_error (error);
  if (mb_relay1_get_state (proxy) == NULL)
    {
      g_set_error_literal (&error, G_IO_ERROR, G_IO_ERROR_NOT_CONNECTED,
                           "The relay did not report its status");
      return mb_ctl_report_error (error);
    }
  if (ctl->json)
    mb_ctl_print_json (status_to_json (proxy));
  else
    print_status (proxy);
  return MB_CTL_EXIT_OK;
}

static int
pause_or_resume (MbCtl *ctl, int argc, char **argv, gboolean pause)
{
  const GOptionEntry entries[] = { { NULL } };
  g_autoptr (GError) error = NULL;
  MbRelay1 *proxy;
  gboolean  ok;

  if (!mb_ctl_parse_options (argv[0], entries, &argc, &argv))
    return MB_CTL_EXIT_USAGE;
  if (argc > 1)
    return mb_ctl_usage_error ("%s: unexpected argument “%s”", argv[0],
                               argv[1]);
  proxy = mb_ctl_get_proxy (ctl, &error);
  if (proxy == NULL)
    return mb_ctl_report_error (error);
  ok = pause ? mb_relay1_call_pause_sync (proxy, G_DBUS_CALL_FLAGS_NONE, -1,
                                          NULL, &error)
             : mb_relay1_call_resume_sync (proxy, G_DBUS_CALL_FLAGS_NONE, -1,
                                           NULL, &error);
  if (!ok)
    return mb_ctl_report_error (error);
  if (ctl->json)
    {
      g_autoptr (JsonBuilder) builder = json_builder_new ();

      json_builder_begin_object (builder);
      json_builder_set_member_name (builder, "paused");
      json_builder_add_boolean_value (builder, pause);
      json_builder_end_object (builder);
      mb_ctl_print_json (json_builder_get_root (builder));
    }
  else
    printf (pause ? "Delivery paused: mail is still accepted and queued.\n"
                  : "Delivery resumed.\n");
  return MB_CTL_EXIT_OK;
}

int
mb_ctl_pause (MbCtl *ctl, int argc, char **argv)
{
  return pause_or_resume (ctl, argc, argv, TRUE);
}

int
mb_ctl_resume (MbCtl *ctl, int argc, char **argv)
{
  return pause_or_resume (ctl, argc, argv, FALSE);
}
