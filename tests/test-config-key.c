/* test-config-key.c - unit tests of mb-config-key
 *
 * A key table over a struct of its own: each parser stores into the member
 * its entry names (numbers by the member's size), a refused value leaves
 * the member as it was, and apply() frames refusals with the key's place.
 * The relay's own tables are tested in test-relay-config.c.
 */
#include "mb-config-key.h"

#include <stddef.h>
#include <string.h>

#define ORIGIN "/etc/test/test.conf"

typedef struct
{
  guint16    port;
  guint      count;
  guint64    bytes;
  gint64     seconds;
  guint      mode; /* enum index */
  char      *policy;
  char      *host;
  char      *file;
  GPtrArray *listen;
  GPtrArray *allow;
  GArray    *schedule;
  GStrv      send_as;
} Sample;

static void
sample_clear (Sample *sample)
{
  g_free (sample->policy);
  g_free (sample->host);
  g_free (sample->file);
  g_clear_pointer (&sample->listen, g_ptr_array_unref);
  g_clear_pointer (&sample->allow, g_ptr_array_unref);
  g_clear_pointer (&sample->schedule, g_array_unref);
  g_strfreev (sample->send_as);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (Sample, sample_clear)

static char *
check_host (const char *text)
{
  return strchr (text, ' ') == NULL ? g_ascii_strdown (text, -1) : NULL;
}

static char *
check_address (const char *text)
{
  return strchr (text, '@') != NULL ? g_strdup (text) : NULL;
}

static const char *const modes[] = { "off", "on", NULL };

#define AT(member)                                                             \
  .offset = offsetof (Sample, member), .size = sizeof (((Sample *)NULL)->member)

/* clang-format off */
static const MbConfigKey keys[] = {
  { "port", mb_config_key_parse_number, AT (port), .min = 1, .max = 65535 },
  { "count", mb_config_key_parse_number, AT (count), .min = 0, .max = 10 },
  { "bytes", mb_config_key_parse_size, AT (bytes), .min = 1, .max = 1 << 30 },
  { "wait", mb_config_key_parse_duration, AT (seconds), .min = 1, .max = 60 },
  { "mode", mb_config_key_parse_enum, AT (mode), .choices = modes },
  { "policy", mb_config_key_parse_choice, AT (policy), .choices = modes },
  { "host", mb_config_key_parse_text, AT (host), .check = check_host,
    .hint = "has a space" },
  { "file", mb_config_key_parse_path, AT (file) },
  { "listen", .parse_list = mb_config_key_parse_listen, AT (listen) },
  { "allow", .parse_list = mb_config_key_parse_allow, AT (allow) },
  { "schedule", .parse_list = mb_config_key_parse_durations, AT (schedule),
    .min = 1, .max = 3600 },
  { "send-as", .parse_list = mb_config_key_parse_mailboxes, AT (send_as),
    .check = check_address, .hint = "has no @" },
  { NULL },
};
/* clang-format on */

/* Applies every key of "[sample]\n@body" to @sample, in file order. */
static gboolean
apply_text (const char *body, Sample *sample, GError **error)
{
  g_auto (GStrv) names = mb_config_key_collect_names (keys);
  const MbKeyfileGroupDef schema[] = {
    { "sample", FALSE, NULL, (const char *const *)names, keys },
    { NULL },
  };
  g_autofree char *text = g_strconcat ("[sample]\n", body, NULL);
  g_autoptr (MbKeyfileScan) scan
      = mb_keyfile_scan_new (text, strlen (text), ORIGIN, schema, error);
  GPtrArray *entries;

  if (scan == NULL)
    return FALSE;
  entries = mb_keyfile_scan_get_entries (scan);
  for (guint i = 0; i < entries->len; i++)
    {
      const MbKeyfileEntry *entry = entries->pdata[i];

      if (!mb_config_key_apply (&keys[entry->key_index], scan, entry, sample,
                                "/etc/test", error))
        return FALSE;
    }
  return TRUE;
}

/* The names come in table order. */
static void
test_table_names (void)
{
  g_auto (GStrv) names = mb_config_key_collect_names (keys);

  g_assert_cmpuint (g_strv_length (names), ==, G_N_ELEMENTS (keys) - 1);
  g_assert_cmpstr (names[0], ==, "port");
  g_assert_cmpstr (names[11], ==, "send-as");
}

/* Each parser stores into its member: numbers by the member's size, enums
 * as index, choices and text as strings, paths absolute, lists whole. */
static void
test_apply_good (void)
{
  g_auto (Sample) sample = { 0 };
  g_autoptr (GError) error = NULL;

  sample.count = 99;
  g_assert_true (apply_text ("port=65535\ncount=0\nbytes=1G\nwait=1m\n"
                             "mode=on\npolicy=off\nhost=MX.Example.COM\n"
                             "file=sub/f.pem\n"
                             "listen=127.0.0.1:25;[::1]:25\n"
                             "allow=\n"
                             "schedule=1s;1h\n"
                             "send-as=a@b.c; A@x.y\n",
                             &sample, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (sample.port, ==, 65535);
  g_assert_cmpuint (sample.count, ==, 0);
  g_assert_cmpuint (sample.bytes, ==, G_GUINT64_CONSTANT (1) << 30);
  g_assert_cmpint (sample.seconds, ==, 60);
  g_assert_cmpuint (sample.mode, ==, 1);
  g_assert_cmpstr (sample.policy, ==, "off");
  g_assert_cmpstr (sample.host, ==, "mx.example.com");
  g_assert_cmpstr (sample.file, ==, "/etc/test/sub/f.pem");
  g_assert_cmpuint (sample.listen->len, ==, 2);
  g_assert_cmpuint (sample.allow->len, ==, 0);
  g_assert_cmpuint (sample.schedule->len, ==, 2);
  g_assert_cmpint (g_array_index (sample.schedule, gint64, 1), ==, 3600);
  g_assert_cmpuint (g_strv_length (sample.send_as), ==, 2);
  g_assert_cmpstr (sample.send_as[1], ==, "A@x.y");
}

typedef struct
{
  const char *body;
  guint       line;
  const char *message; /* after "ORIGIN:LINE: [sample] " */
} Refusal;

static const Refusal refusals[] = {
  { "port=0\n", 2,
    "port: “0” is not allowed; use a whole number from 1 to "
    "65535" },
  { "count=11\n", 2, "count: “11” is not allowed" },
  { "bytes=2G\n", 2, "bytes: “2G” is not allowed; use a size from 1 to 1G" },
  { "\nwait=2m\n", 3,
    "wait: “2m” is not allowed; use a duration from 1s "
    "to 1m" },
  { "mode=maybe\n", 2, "mode: “maybe” is not allowed; use off or on" },
  { "policy=ON\n", 2, "policy: “ON” is not allowed; use off or on" },
  { "host=a b\n", 2, "host: “a b” has a space" },
  { "file=\n", 2,
    "file: no path given; use a file or directory name (a "
    "relative one starts from the configuration file's "
    "directory)" },
  { "listen=127.0.0.1:25;127.0.0.1:25\n", 2,
    "listen: “127.0.0.1:25” is listed twice; list each address once" },
  { "listen=;\n", 2,
    "listen: no address given; use e.g. 192.168.1.10:25 "
    "or [::1]:2525" },
  { "allow=10.0.0.1/8\n", 2,
    "allow: “10.0.0.1/8” has host bits set; use "
    "10.0.0.0/8" },
  { "schedule=\n", 2,
    "schedule: no duration given; use e.g. "
    "1m;5m;15m;30m;1h" },
  { "schedule=1s;2h\n", 2, "schedule: “2h” is not allowed" },
  { "send-as=a@b.c;x\n", 2, "send-as: “x” has no @" },
  { "send-as=a@b.c;A@B.C\n", 2, "send-as: “A@B.C” is listed twice" },
  { "host=\\q\n", 2, "host: “\\q” has an escape other than" },
};

/* A refused value is INVALID_VALUE with origin, line, group and key, and
 * leaves the member as it was. */
static void
test_apply_refused (void)
{
  for (gsize i = 0; i < G_N_ELEMENTS (refusals); i++)
    {
      g_auto (Sample) sample = { 0 };
      g_autoptr (GError) error = NULL;
      g_autofree char *prefix = g_strdup_printf (
          ORIGIN ":%u: [sample] %s", refusals[i].line, refusals[i].message);

      g_test_message ("%s", refusals[i].body);
      sample.port = 7;
      sample.count = 7;
      sample.bytes = 7;
      sample.seconds = 7;
      sample.mode = 7;
      g_assert_false (apply_text (refusals[i].body, &sample, &error));
      g_assert_error (error, MB_KEYFILE_SCAN_ERROR,
                      MB_KEYFILE_SCAN_ERROR_INVALID_VALUE);
      if (!g_str_has_prefix (error->message, prefix))
        g_test_fail_printf ("“%s” does not start with “%s”", error->message,
                            prefix);
      g_assert_cmpuint (sample.port, ==, 7);
      g_assert_cmpuint (sample.count, ==, 7);
      g_assert_cmpuint (sample.bytes, ==, 7);
      g_assert_cmpint (sample.seconds, ==, 7);
      g_assert_cmpuint (sample.mode, ==, 7);
      g_assert_null (sample.policy);
      g_assert_null (sample.host);
      g_assert_null (sample.file);
      g_assert_null (sample.listen);
      g_assert_null (sample.allow);
      g_assert_null (sample.schedule);
      g_assert_null (sample.send_as);
    }
}

/* A later value replaces what an earlier one (a default) stored, freeing
 * it; an empty address list stores NULL. */
static void
test_apply_replaces (void)
{
  g_auto (Sample) sample = { 0 };
  g_autoptr (GError) error = NULL;
  g_autofree char *old_host = g_strdup ("old");

  sample.host = g_steal_pointer (&old_host);
  sample.listen = g_ptr_array_new_with_free_func (g_object_unref);
  sample.send_as = g_strsplit ("x@y.z", ";", -1);
  g_assert_true (
      apply_text ("host=new\nlisten=[::]:25\nsend-as=\n", &sample, &error));
  g_assert_no_error (error);
  g_assert_cmpstr (sample.host, ==, "new");
  g_assert_cmpuint (sample.listen->len, ==, 1);
  g_assert_null (sample.send_as);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/relay/config-key/table/names", test_table_names);
  g_test_add_func ("/relay/config-key/apply/good", test_apply_good);
  g_test_add_func ("/relay/config-key/apply/refused", test_apply_refused);
  g_test_add_func ("/relay/config-key/apply/replaces", test_apply_replaces);

  return g_test_run ();
}
