/* mb-ctl-config.c - mailbridgectl check-config, reload
 *
 * check-config asks the running relay to validate its file (or FILE)
 * without applying it; reload puts the file in force (a file that does
 * not validate is refused and the old configuration stays).  signin lives
 * in mb-ctl-signin.c.
 */
#define G_LOG_DOMAIN "mailbridgectl"

#include "mb-ctl.h"

#include <stdio.h>

static int
print_done (MbCtl *ctl, const char *key, const char *value, const char *text)
{
  if (ctl->json)
    {
      g_autoptr (JsonBuilder) builder = json_builder_new ();

      json_builder_begin_object (builder);
      json_builder_set_member_name (builder, "ok");
      json_builder_add_boolean_value (builder, TRUE);
      json_builder_set_member_name (builder, key);
      json_builder_add_string_value (builder, value);
      json_builder_end_object (builder);
      mb_ctl_print_json (json_builder_get_root (builder));
    }
  else
    printf ("%s\n", text);
  return MB_CTL_EXIT_OK;
}

int
mb_ctl_check_config (MbCtl *ctl, int argc, char **argv)
{
  const GOptionEntry entries[] = { { NULL } };
  g_autoptr (GError) error = NULL;
  g_autofree char *path = NULL;
  g_autofree char *checked = NULL;
  g_autofree char *text = NULL;
  MbRelay1        *proxy;

  if (!mb_ctl_parse_options (argv[0], entries, &argc, &argv))
    return MB_CTL_EXIT_USAGE;
  if (argc > 2)
    return mb_ctl_usage_error ("usage: mailbridgectl check-config [FILE]");
  if (argc == 2)
    {
      g_autoptr (GFile) file = g_file_new_for_commandline_arg (argv[1]);

      path = g_file_get_path (file);
    }
  proxy = mb_ctl_get_proxy (ctl, &error);
  if (proxy == NULL)
    return mb_ctl_report_error (error);
  if (!mb_relay1_call_check_config_sync (proxy, path != NULL ? path : "",
                                         G_DBUS_CALL_FLAGS_NONE, -1, &checked,
                                         NULL, &error))
    return mb_ctl_report_error (error);
  text = g_strdup_printf ("%s: configuration OK", checked);
  return print_done (ctl, "path", checked, text);
}

int
mb_ctl_reload (MbCtl *ctl, int argc, char **argv)
{
  const GOptionEntry entries[] = { { NULL } };
  g_autoptr (GError) error = NULL;
  MbRelay1 *proxy;

  if (!mb_ctl_parse_options (argv[0], entries, &argc, &argv))
    return MB_CTL_EXIT_USAGE;
  if (argc != 1)
    return mb_ctl_usage_error ("usage: mailbridgectl reload");
  proxy = mb_ctl_get_proxy (ctl, &error);
  if (proxy == NULL)
    return mb_ctl_report_error (error);
  if (!mb_relay1_call_reload_sync (proxy, G_DBUS_CALL_FLAGS_NONE, -1, NULL,
                                   &error))
    return mb_ctl_report_error (error);
  return print_done (ctl, "path", mb_relay1_get_config_path (proxy),
                     "Configuration reloaded.");
}
