/* test-keyfile-scan.c - unit tests of mb-keyfile-scan
 *
 * The scanner on a schema of its own (shaped like the secrets file: only
 * [route NAME] groups, plus a plain [options] group): entries and groups in
 * file order with their lines, lookups, values and lists, every structural
 * refusal with its code and line, and errors in a caller's domain.  Its use
 * by the relay's configuration is tested in test-relay-config.c.
 */
#include "mb-keyfile-scan.h"

#include <string.h>

#define ORIGIN "secrets.conf"

static const char *const route_keys[]
    = { "password", "client-secret", "refresh-token", NULL };
static const char *const       option_keys[] = { "mode", "list", NULL };
static const MbKeyfileGroupDef schema[] = {
  { "route", TRUE, "office365", route_keys, "route data" },
  { "options", FALSE, NULL, option_keys, NULL },
  { NULL },
};

static MbKeyfileScan *
scan (const char *text, GError **error)
{
  return mb_keyfile_scan_new (text, strlen (text), ORIGIN, schema, error);
}

/* Entries come in file order with their line, group definition and key
 * index; groups once each, in file order; lookups find keys and lines. */
static void
test_scan_entries (void)
{
  static const char text[] = "# secrets\n"
                             "\n"
                             "[route office365]\n"
                             "  password = s3cret \n"
                             "refresh-token=abc\n"
                             "[options]\n"
                             "mode=0600\n"
                             "[route office365]\n"
                             "client-secret=xyz\n"
                             "[route other]\n";
  g_autoptr (GError) error = NULL;
  g_autoptr (MbKeyfileScan) s = scan (text, &error);
  GPtrArray            *entries;
  GPtrArray            *groups;
  const MbKeyfileEntry *entry;

  g_assert_no_error (error);
  g_assert_cmpstr (mb_keyfile_scan_get_origin (s), ==, ORIGIN);
  entries = mb_keyfile_scan_get_entries (s);
  g_assert_cmpuint (entries->len, ==, 4);
  entry = entries->pdata[0];
  g_assert_cmpstr (entry->group, ==, "route office365");
  g_assert_cmpstr (entry->key, ==, "password");
  g_assert_cmpuint (entry->line, ==, 4);
  g_assert_true (entry->group_def == &schema[0]);
  g_assert_cmpuint (entry->key_index, ==, 0);
  entry = entries->pdata[1];
  g_assert_cmpstr (entry->key, ==, "refresh-token");
  g_assert_cmpuint (entry->key_index, ==, 2);
  entry = entries->pdata[2];
  g_assert_cmpstr (entry->group, ==, "options");
  g_assert_true (entry->group_def == &schema[1]);
  g_assert_cmpuint (entry->line, ==, 7);
  entry = entries->pdata[3];
  g_assert_cmpstr (entry->key, ==, "client-secret");
  g_assert_cmpuint (entry->line, ==, 9);

  groups = mb_keyfile_scan_get_groups (s);
  g_assert_cmpuint (groups->len, ==, 3);
  g_assert_cmpstr (groups->pdata[0], ==, "route office365");
  g_assert_cmpstr (groups->pdata[1], ==, "options");
  g_assert_cmpstr (groups->pdata[2], ==, "route other");

  g_assert_true (mb_keyfile_scan_lookup (s, "route office365", "password")
                 == entries->pdata[0]);
  g_assert_null (mb_keyfile_scan_lookup (s, "route other", "password"));
  g_assert_cmpuint (
      mb_keyfile_scan_get_line (s, "route office365", "client-secret"), ==, 9);
  /* Unset: the group's first header. */
  g_assert_cmpuint (mb_keyfile_scan_get_line (s, "route office365", "nope"), ==,
                    3);
  g_assert_cmpuint (mb_keyfile_scan_get_line (s, "route other", "password"), ==,
                    10);
  g_assert_cmpuint (mb_keyfile_scan_get_line (s, "route none", "password"), ==,
                    0);
  g_assert_true (
      g_key_file_has_group (mb_keyfile_scan_get_keyfile (s), "route other"));
}

/* Values are unescaped and stripped; lists drop empty items; the raw form
 * keeps escapes and shows control characters escaped. */
static void
test_scan_values (void)
{
  static const char text[] = "[options]\n"
                             "mode = a\\tb\\s \n"
                             "list= x ; ;y\\;z;\n";
  g_autoptr (GError) error = NULL;
  g_autoptr (MbKeyfileScan) s = scan (text, &error);
  const MbKeyfileEntry *mode;
  const MbKeyfileEntry *list;
  g_autofree char      *value = NULL;
  g_autofree char      *raw = NULL;
  g_autofree char      *unset = NULL;
  g_auto (GStrv) items = NULL;

  g_assert_no_error (error);
  mode = mb_keyfile_scan_lookup (s, "options", "mode");
  list = mb_keyfile_scan_lookup (s, "options", "list");
  g_assert_true (mb_keyfile_scan_get_string (s, mode, &value, &error));
  g_assert_no_error (error);
  g_assert_cmpstr (value, ==, "a\tb");
  raw = mb_keyfile_scan_get_raw (s, "options", "mode");
  g_assert_cmpstr (raw, ==, "a\\tb\\s");
  unset = mb_keyfile_scan_get_raw (s, "route x", "password");
  g_assert_cmpstr (unset, ==, "");
  g_assert_true (mb_keyfile_scan_get_list (s, list, &items, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (g_strv_length (items), ==, 2);
  g_assert_cmpstr (items[0], ==, "x");
  g_assert_cmpstr (items[1], ==, "y;z");
}

/* An escape GKeyFile does not know is INVALID_VALUE at the key's line, for
 * a value and for a list. */
static void
test_scan_bad_escape (void)
{
  static const char text[] = "[options]\nmode=\\q\nlist=a;\\x\n";
  g_autoptr (GError) error = NULL;
  g_autoptr (MbKeyfileScan) s = scan (text, &error);
  g_autofree char *value = NULL;
  g_auto (GStrv) items = NULL;

  g_assert_no_error (error);
  g_assert_false (mb_keyfile_scan_get_string (
      s, mb_keyfile_scan_lookup (s, "options", "mode"), &value, &error));
  g_assert_error (error, MB_KEYFILE_SCAN_ERROR,
                  MB_KEYFILE_SCAN_ERROR_INVALID_VALUE);
  g_assert_cmpstr (error->message, ==,
                   ORIGIN ":2: [options] mode: “\\q” has an escape other than "
                          "\\s \\n \\t \\r \\\\ or (in lists) \\;");
  g_assert_null (value);
  g_clear_error (&error);
  g_assert_false (mb_keyfile_scan_get_list (
      s, mb_keyfile_scan_lookup (s, "options", "list"), &items, &error));
  g_assert_error (error, MB_KEYFILE_SCAN_ERROR,
                  MB_KEYFILE_SCAN_ERROR_INVALID_VALUE);
  g_assert_true (
      g_str_has_prefix (error->message, ORIGIN ":3: [options] list"));
  g_assert_null (items);
}

typedef struct
{
  const char *text;
  gint        code;
  guint       line;
  const char *message; /* after "ORIGIN:LINE: " */
} Refusal;

static const Refusal refusals[] = {
  { "[route a]\npasword=x\n", MB_KEYFILE_SCAN_ERROR_UNKNOWN_KEY, 2,
    "[route a] pasword: unknown key; did you mean “password”?" },
  { "[options]\nverbose=1\n", MB_KEYFILE_SCAN_ERROR_UNKNOWN_KEY, 2,
    "[options] verbose: unknown key; the keys of this group are mode, list" },
  { "[options]\nmode[de]=1\n", MB_KEYFILE_SCAN_ERROR_UNKNOWN_KEY, 2,
    "[options] mode[de]: localized keys (key[locale]=) are not supported; "
    "remove the [...] part" },
  { "[relay]\n", MB_KEYFILE_SCAN_ERROR_UNKNOWN_GROUP, 1,
    "[relay]: unknown group; use [route NAME] or [options]" },
  { "[route]\n", MB_KEYFILE_SCAN_ERROR_UNKNOWN_GROUP, 1,
    "[route]: unknown group; use [route NAME] or [options]" },
  { "[options x]\n", MB_KEYFILE_SCAN_ERROR_UNKNOWN_GROUP, 1,
    "[options x]: unknown group; use [route NAME] or [options]" },
  { "\n[route a/b]\n", MB_KEYFILE_SCAN_ERROR_INVALID_NAME, 2,
    "[route a/b]: “a/b” is not a route name; use letters, digits, '.', '_' "
    "or '-', e.g. [route office365]" },
  { "[route a]\npassword=1\n[options]\n[route a]\npassword=2\n",
    MB_KEYFILE_SCAN_ERROR_SYNTAX, 5,
    "[route a] password: set twice (also on line 2); keep one" },
  { "password=1\n[route a]\n", MB_KEYFILE_SCAN_ERROR_SYNTAX, 1,
    "“password” comes before any group; put it under [route NAME] or "
    "[options]" },
  { "a\tb=1\n", MB_KEYFILE_SCAN_ERROR_SYNTAX, 1,
    "“a\\x09b” comes before any group; put it under [route NAME] or "
    "[options]" },
  { "[options]\n# ok\nnot a key\n", MB_KEYFILE_SCAN_ERROR_SYNTAX, 3,
    "“not a key” is not a [group], a key=value line or a # comment" },
  { "[options]\n=1\n", MB_KEYFILE_SCAN_ERROR_SYNTAX, 2,
    "“=1” is not a [group], a key=value line or a # comment" },
  { "[options\n", MB_KEYFILE_SCAN_ERROR_SYNTAX, 1,
    "“[options” is not a [group], a key=value line or a # comment" },
  { "[options]\nmode=\xc3\x28\n", MB_KEYFILE_SCAN_ERROR_SYNTAX, 2,
    "not valid UTF-8; save the file as UTF-8" },
};

/* Each structural problem is refused with its code, its line and the
 * whole message; the first in file order wins. */
static void
test_scan_refusals (void)
{
  for (gsize i = 0; i < G_N_ELEMENTS (refusals); i++)
    {
      g_autoptr (GError) error = NULL;
      g_autoptr (MbKeyfileScan) s = scan (refusals[i].text, &error);
      g_autofree char *escaped = g_strescape (refusals[i].text, NULL);
      g_autofree char *expected = g_strdup_printf (
          ORIGIN ":%u: %s", refusals[i].line, refusals[i].message);

      g_test_message ("%s", escaped);
      g_assert_null (s);
      g_assert_error (error, MB_KEYFILE_SCAN_ERROR, refusals[i].code);
      g_assert_cmpstr (error->message, ==, expected);
    }
}

/* A NUL byte is refused at its line, though GKeyFile would read past it. */
static void
test_scan_nul (void)
{
  static const char text[] = "[options]\nmode=1\0 2\n";
  g_autoptr (GError) error = NULL;
  g_autoptr (MbKeyfileScan) s
      = mb_keyfile_scan_new (text, sizeof text - 1, ORIGIN, schema, &error);

  g_assert_null (s);
  g_assert_error (error, MB_KEYFILE_SCAN_ERROR, MB_KEYFILE_SCAN_ERROR_SYNTAX);
  g_assert_cmpstr (error->message, ==, ORIGIN ":2: contains a NUL byte");
}

/* An empty text scans to nothing. */
static void
test_scan_empty (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (MbKeyfileScan) s
      = mb_keyfile_scan_new (NULL, 0, ORIGIN, schema, &error);

  g_assert_no_error (error);
  g_assert_cmpuint (mb_keyfile_scan_get_entries (s)->len, ==, 0);
  g_assert_cmpuint (mb_keyfile_scan_get_groups (s)->len, ==, 0);
}

/* set_error() frames a caller's message in the caller's domain, with or
 * without key and line. */
static void
test_scan_set_error (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (MbKeyfileScan) s = scan ("[options]\nmode=1\n", &error);

  g_assert_no_error (error);
  mb_keyfile_scan_set_error (s, &error, G_IO_ERROR, G_IO_ERROR_FAILED,
                             "options", "mode", 2, "“%s” is bad", "1");
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_FAILED);
  g_assert_cmpstr (error->message, ==, ORIGIN ":2: [options] mode: “1” is bad");
  g_clear_error (&error);
  mb_keyfile_scan_set_error (s, &error, G_IO_ERROR, G_IO_ERROR_FAILED,
                             "route x", NULL, 0, "missing");
  g_assert_cmpstr (error->message, ==, ORIGIN ": [route x]: missing");
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/relay/keyfile-scan/scan/entries", test_scan_entries);
  g_test_add_func ("/relay/keyfile-scan/scan/values", test_scan_values);
  g_test_add_func ("/relay/keyfile-scan/scan/bad-escape", test_scan_bad_escape);
  g_test_add_func ("/relay/keyfile-scan/scan/refusals", test_scan_refusals);
  g_test_add_func ("/relay/keyfile-scan/scan/nul", test_scan_nul);
  g_test_add_func ("/relay/keyfile-scan/scan/empty", test_scan_empty);
  g_test_add_func ("/relay/keyfile-scan/errors/set-error", test_scan_set_error);

  return g_test_run ();
}
