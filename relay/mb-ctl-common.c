/* mb-ctl-common.c - mailbridgectl's connection, errors and output helpers
 *
 * Connects to org.mailbridge.Relay1 (D-Bus activation starts the relay if
 * none runs), turns D-Bus errors into one line on stderr and an exit
 * status, and formats times, sizes and JSON the same way for every
 * command.  JSON times are ISO 8601 in UTC, null when there is none.
 */
#define G_LOG_DOMAIN "mailbridgectl"

#include "mb-ctl.h"

#include <stdarg.h>
#include <stdio.h>

#include "mb-control.h"

MbRelay1 *
mb_ctl_get_proxy (MbCtl *ctl, GError **error)
{
  g_autofree char *owner = NULL;

  if (ctl->proxy != NULL)
    return ctl->proxy;

  /* Make sure the error domain is registered before the first call, so
   * remote errors come back as MB_CONTROL_ERROR codes. */
  (void)MB_CONTROL_ERROR;

  /* Without DO_NOT_AUTO_START the proxy asks the bus to start the relay
   * when the name has no owner, and waits for it. */
  ctl->proxy = mb_relay1_proxy_new_for_bus_sync (
      ctl->bus_type, G_DBUS_PROXY_FLAGS_NONE, MB_CONTROL_BUS_NAME,
      MB_CONTROL_OBJECT_PATH, NULL, error);
  if (ctl->proxy == NULL)
    return NULL;
  owner = g_dbus_proxy_get_name_owner (G_DBUS_PROXY (ctl->proxy));
  if (owner == NULL)
    {
      g_clear_object (&ctl->proxy);
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_CONNECTED,
                   "No relay answers on the %s bus and D-Bus could not start "
                   "one: is mailbridged installed (or running with "
                   "--bus=%s)?",
                   ctl->bus_type == G_BUS_TYPE_SYSTEM ? "system" : "session",
                   ctl->bus_type == G_BUS_TYPE_SYSTEM ? "system" : "session");
      return NULL;
    }
  /* test-send and flush wait for deliveries; each command that can wait
   * longer sets its own timeout. */
  g_dbus_proxy_set_default_timeout (G_DBUS_PROXY (ctl->proxy), 60 * 1000);
  return ctl->proxy;
}

int
mb_ctl_report_error (const GError *error)
{
  g_autoptr (GError) copy = g_error_copy (error);

  g_dbus_error_strip_remote_error (copy);
  fprintf (stderr, "mailbridgectl: %s\n", copy->message);
  if (copy->domain == G_IO_ERROR
      && (copy->code == G_IO_ERROR_NOT_CONNECTED
          || copy->code == G_IO_ERROR_DBUS_ERROR))
    return MB_CTL_EXIT_UNREACHABLE;
  if (copy->domain == G_DBUS_ERROR
      && (copy->code == G_DBUS_ERROR_SERVICE_UNKNOWN
          || copy->code == G_DBUS_ERROR_NAME_HAS_NO_OWNER
          || copy->code == G_DBUS_ERROR_SPAWN_EXEC_FAILED
          || copy->code == G_DBUS_ERROR_SPAWN_CHILD_EXITED
          || copy->code == G_DBUS_ERROR_FILE_NOT_FOUND))
    return MB_CTL_EXIT_UNREACHABLE;
  return MB_CTL_EXIT_FAILURE;
}

int
mb_ctl_usage_error (const char *format, ...)
{
  g_autofree char *message = NULL;
  va_list          args;

  va_start (args, format);
  message = g_strdup_vprintf (format, args);
  va_end (args);
  fprintf (stderr, "mailbridgectl: %s\n", message);
  return MB_CTL_EXIT_USAGE;
}

gboolean
mb_ctl_parse_options (const char         *command,
                      const GOptionEntry *entries,
                      int                *argc,
                      char             ***argv)
{
  g_autofree char *parameter = g_strdup_printf ("%s", command);
  g_autoptr (GOptionContext) context = g_option_context_new (parameter);
  g_autoptr (GError) error = NULL;

  g_option_context_set_help_enabled (context, TRUE);
  g_option_context_add_main_entries (context, entries, NULL);
  if (!g_option_context_parse (context, argc, argv, &error))
    {
      mb_ctl_usage_error ("%s: %s", command, error->message);
      return FALSE;
    }
  return TRUE;
}

/* JSON */

void
mb_ctl_print_json (JsonNode *node)
{
  g_autoptr (JsonGenerator) generator = json_generator_new ();
  g_autofree char *text = NULL;

  json_generator_set_pretty (generator, TRUE);
  json_generator_set_root (generator, node);
  text = json_generator_to_data (generator, NULL);
  printf ("%s\n", text);
  json_node_unref (node);
}

static JsonNode *
iso_time_node (gint64 microseconds)
{
  g_autoptr (GDateTime) time = NULL;
  JsonNode *node = json_node_new (JSON_NODE_VALUE);

  if (microseconds == 0)
    return json_node_init_null (node);
  time = g_date_time_new_from_unix_utc (microseconds / G_USEC_PER_SEC);
  if (time == NULL)
    return json_node_init_null (node);
  if (microseconds % G_USEC_PER_SEC != 0)
    {
      g_autoptr (GDateTime) precise
          = g_date_time_add (time, microseconds % G_USEC_PER_SEC);
      g_autofree char *text = g_date_time_format (precise, "%FT%T.%fZ");

      json_node_set_string (node, text);
      return node;
    }
  {
    g_autofree char *text = g_date_time_format (time, "%FT%TZ");

    json_node_set_string (node, text);
  }
  return node;
}

JsonNode *
mb_ctl_dict_to_json (GVariant *dict, const char *const *time_keys)
{
  g_autoptr (JsonObject) object = json_object_new ();
  GVariantIter iter;
  const char  *key;
  GVariant    *value;
  JsonNode    *node;

  g_variant_iter_init (&iter, dict);
  while (g_variant_iter_loop (&iter, "{&sv}", &key, &value))
    {
      if (g_variant_is_of_type (value, G_VARIANT_TYPE ("aa{sv}")))
        json_object_set_member (object, key,
                                mb_ctl_dicts_to_json (value, time_keys));
      else if (g_strcmp0 (key, "time_us") == 0
               && g_variant_is_of_type (value, G_VARIANT_TYPE_INT64))
        json_object_set_member (object, "time",
                                iso_time_node (g_variant_get_int64 (value)));
      else if (time_keys != NULL && g_strv_contains (time_keys, key)
               && g_variant_is_of_type (value, G_VARIANT_TYPE_INT64))
        json_object_set_member (
            object, key,
            iso_time_node (g_variant_get_int64 (value) * G_USEC_PER_SEC));
      else
        json_object_set_member (object, key, json_gvariant_serialize (value));
    }
  node = json_node_new (JSON_NODE_OBJECT);
  json_node_set_object (node, object);
  return node;
}

JsonNode *
mb_ctl_dicts_to_json (GVariant *dicts, const char *const *time_keys)
{
  g_autoptr (JsonArray) array = json_array_new ();
  JsonNode *node;

  for (gsize i = 0; i < g_variant_n_children (dicts); i++)
    {
      g_autoptr (GVariant) child = g_variant_get_child_value (dicts, i);

      json_array_add_element (array, mb_ctl_dict_to_json (child, time_keys));
    }
  node = json_node_new (JSON_NODE_ARRAY);
  json_node_set_array (node, array);
  return node;
}

/* Human output */

char *
mb_ctl_format_time (gint64 unix_seconds)
{
  g_autoptr (GDateTime) time = NULL;

  if (unix_seconds == 0)
    return g_strdup ("");
  time = g_date_time_new_from_unix_local (unix_seconds);
  return time != NULL ? g_date_time_format (time, "%F %T") : g_strdup ("?");
}

char *
mb_ctl_format_age (gint64 seconds)
{
  if (seconds < 0)
    seconds = 0;
  if (seconds < 60)
    return g_strdup_printf ("%" G_GINT64_FORMAT " s", seconds);
  if (seconds < 3600)
    return g_strdup_printf ("%" G_GINT64_FORMAT " min", seconds / 60);
  if (seconds < 86400)
    return g_strdup_printf ("%" G_GINT64_FORMAT " h %" G_GINT64_FORMAT " min",
                            seconds / 3600, seconds % 3600 / 60);
  return g_strdup_printf ("%" G_GINT64_FORMAT " d %" G_GINT64_FORMAT " h",
                          seconds / 86400, seconds % 86400 / 3600);
}

char *
mb_ctl_format_size (guint64 bytes)
{
  return g_format_size (bytes);
}

const char *
mb_ctl_lookup_string (GVariant *dict, const char *key)
{
  const char *value = NULL;

  if (!g_variant_lookup (dict, key, "&s", &value))
    return "";
  return value;
}
