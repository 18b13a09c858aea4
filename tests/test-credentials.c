/* test-credentials.c - MbCredentials: names, expiry, the factory, and the
 * secrets-file backend through the asynchronous API
 *
 * The keyring backend has its own binary (test-credentials-keyring.c, run
 * on a private bus by tests/run-with-keyring.sh).  Here the session bus
 * address points nowhere, so the one keyring test proves the "no keyring"
 * error and nothing can reach a real keyring.
 *
 * Every call goes through wait_for(), which asserts that the callback did
 * not run inside the _async call and iterates the main context until it
 * has.
 */
#include "mb-credentials-file.h"
#include "mb-credentials-keyring.h"
#include "mb-credentials.h"

#include "credentials-test-util.h"

#include <glib/gstdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define DAY (24 * 60 * 60)
#define NOW ((gint64)1800000000) /* 2027-01-15T08:00:00Z */

typedef struct
{
  char *dir;
  char *path;
} Fixture;

static GPtrArray *
check_expiry (MbCredentials *creds, gint64 now)
{
  Wait wait = { NULL };
  g_autoptr (GAsyncResult) result = NULL;
  g_autoptr (GError) error = NULL;
  GPtrArray *due;

  mb_credentials_check_expiry_async (creds, now, NULL, wait_cb, &wait);
  result = wait_for (&wait);
  due = mb_credentials_check_expiry_finish (creds, result, &error);
  g_assert_no_error (error);
  return due;
}

static void
fixture_set_up (Fixture *f, gconstpointer data)
{
  const char *base = g_getenv ("MB_TEST_TMPDIR");
  g_autofree char *template = g_build_filename (
      base != NULL ? base : "/var/tmp", "test-credentials-XXXXXX", NULL);

  f->dir = g_mkdtemp (g_steal_pointer (&template));
  g_assert_nonnull (f->dir);
  f->path = g_build_filename (f->dir, "secrets.conf", NULL);
}

static void
fixture_tear_down (Fixture *f, gconstpointer data)
{
  g_autoptr (GDir) dir = g_dir_open (f->dir, 0, NULL);
  const char *name;

  while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *path = g_build_filename (f->dir, name, NULL);

      g_unlink (path);
    }
  g_rmdir (f->dir);
  g_free (f->path);
  g_free (f->dir);
}

static void
write_file (Fixture *f, const char *text, int mode)
{
  g_autoptr (GError) error = NULL;

  g_unlink (f->path);
  g_assert_true (g_file_set_contents_full (f->path, text, -1, 0, mode, &error));
  g_assert_no_error (error);
  g_assert_cmpint (g_chmod (f->path, mode), ==, 0);
}

static MbCredentials *
load (Fixture *f)
{
  g_autoptr (GError) error = NULL;
  MbCredentialsFile *file = mb_credentials_file_new (f->path, &error);

  g_assert_no_error (error);
  return MB_CREDENTIALS (file);
}

static char *
read_text (const char *path)
{
  g_autoptr (GError) error = NULL;
  char *text = NULL;

  g_assert_true (g_file_get_contents (path, &text, NULL, &error));
  g_assert_no_error (error);
  return text;
}

/* Names */

/* Route names that would break a "[route NAME]" group or a log line are
 * refused; ordinary ones pass.  Kinds are exactly the five known. */
static void
test_names (void)
{
  static const struct
  {
    const char *route;
    gboolean    valid;
  } routes[] = {
    { "office365", TRUE },   { "Büro HVE", TRUE }, { "a.b-c_d", TRUE },
    { "", FALSE },           { "x]y", FALSE },     { "[x", FALSE },
    { "two\nlines", FALSE }, { "tab\t", FALSE },   { "\xff\xfe", FALSE },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (routes); i++)
    g_assert_cmpint (mb_credentials_route_is_valid (routes[i].route), ==,
                     routes[i].valid);
  g_assert_false (mb_credentials_route_is_valid (NULL));
  g_assert_cmpuint (g_strv_length ((GStrv)mb_credentials_get_kinds ()), ==, 5);
  g_assert_true (mb_credentials_kind_is_valid ("client-secret"));
  g_assert_true (mb_credentials_kind_is_valid ("access-token"));
  g_assert_false (mb_credentials_kind_is_valid ("client-secret-expires"));
  g_assert_false (mb_credentials_kind_is_valid (NULL));
}

/* "Due" means at most 14 days left, or past; no expiry is never due. */
static void
test_expiry_due (void)
{
  static const struct
  {
    gint64   expires_at;
    gboolean due;
  } cases[] = {
    { 0, FALSE },
    { NOW + 14 * DAY + 1, FALSE },
    { NOW + 14 * DAY, TRUE },
    { NOW + 1, TRUE },
    { NOW, TRUE },
    { NOW - 3 * DAY, TRUE },
    { NOW + 365 * DAY, FALSE },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    g_assert_cmpint (mb_credentials_expiry_is_due (cases[i].expires_at, NOW),
                     ==, cases[i].due);
}

/* The warning names route, kind, date and days left (or days since) and
 * what to do, as key=value. */
static void
test_expiry_describe (void)
{
  g_autoptr (MbCredentialsExpiry) soon = mb_credentials_expiry_new (
      "office365", "client-secret", NOW + 12 * DAY + 3600);
  g_autoptr (MbCredentialsExpiry) past
      = mb_credentials_expiry_new ("hve", "refresh-token", NOW - 2 * DAY);
  g_autofree char *text = mb_credentials_expiry_describe (soon, NOW);
  g_autofree char *past_text = mb_credentials_expiry_describe (past, NOW);

  g_assert_true (g_str_has_prefix (
      text, "route=office365 kind=client-secret "
            "expires=2027-01-27T09:00:00Z days_left=12 action=\"create a "
            "new client secret"));
  g_assert_true (g_str_has_prefix (past_text,
                                   "route=hve kind=refresh-token "
                                   "expires=2027-01-13T08:00:00Z "
                                   "expired_days_ago=2 action=\"sign in"));
}

/* Expiries read as a date (midnight UTC) or an ISO 8601 time; anything
 * else, an impossible date or a bare number included, is refused. */
static void
test_expiry_parse (void)
{
  static const struct
  {
    const char *text;
    gboolean    valid;
    gint64      expires_at;
  } cases[] = {
    { "2027-03-01", TRUE, G_GINT64_CONSTANT (1803859200) },
    { "2027-03-01T00:00:00Z", TRUE, G_GINT64_CONSTANT (1803859200) },
    { "2027-03-01T12:00:00", TRUE, G_GINT64_CONSTANT (1803902400) },
    { "2027-03-01T14:00:00+02:00", TRUE, G_GINT64_CONSTANT (1803902400) },
    { "2027-02-30", FALSE, 0 },
    { "2027-3-1", FALSE, 0 },
    { "2027-03-01x", FALSE, 0 },
    { "01.03.2027", FALSE, 0 },
    { "1800000000", FALSE, 0 },
    { "", FALSE, 0 },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      gint64 expires_at = -1;

      g_assert_cmpint (mb_credentials_parse_expiry (cases[i].text, &expires_at),
                       ==, cases[i].valid);
      g_assert_cmpint (expires_at, ==,
                       cases[i].valid ? cases[i].expires_at : -1);
    }
}

/* The keyring label reads as words. */
static void
test_keyring_label (void)
{
  g_autofree char *label
      = mb_credentials_keyring_make_label ("office365", "client-secret");

  g_assert_cmpstr (label, ==, "Mailbridge: client secret for route office365");
}

/* Without a Secret Service on the bus the keyring backend fails with
 * UNAVAILABLE, pointing at [relay] secrets. */
static void
test_keyring_unavailable (void)
{
  g_autoptr (MbCredentials) creds
      = MB_CREDENTIALS (mb_credentials_keyring_new ());
  g_autoptr (GError) error = NULL;
  char *secret;

  secret = lookup (creds, "office365", "password", NULL, &error);
  g_assert_null (secret);
  g_assert_error (error, MB_CREDENTIALS_ERROR,
                  MB_CREDENTIALS_ERROR_UNAVAILABLE);
  g_assert_nonnull (strstr (error->message, "[relay] secrets"));
}

/* The factory */

/* [relay] secrets picks the file (and its checks), no secrets the
 * keyring. */
static void
test_factory (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (MbRelayConfig) with_file = NULL;
  g_autoptr (MbRelayConfig) without = mb_relay_config_new_default ();
  g_autoptr (MbCredentials) creds = NULL;
  g_autofree char *text = g_strdup_printf ("[relay]\nsecrets=%s\n", f->path);

  with_file = mb_relay_config_load_data (text, -1, "test.conf", &error);
  g_assert_no_error (error);

  write_file (f, "[route office365]\npassword=factory-pw-6e2a1b\n", 0600);
  test_record_secret ("factory-pw-6e2a1b");
  creds = mb_credentials_new_for_config (with_file, &error);
  g_assert_no_error (error);
  g_assert_true (MB_IS_CREDENTIALS_FILE (creds));
  assert_secret (creds, "office365", "password", "factory-pw-6e2a1b", 0);
  g_clear_object (&creds);

  g_assert_cmpint (g_chmod (f->path, 0644), ==, 0);
  g_assert_null (mb_credentials_new_for_config (with_file, &error));
  g_assert_error (error, MB_CREDENTIALS_FILE_ERROR,
                  MB_CREDENTIALS_FILE_ERROR_PERMISSIONS);
  g_clear_error (&error);

  creds = mb_credentials_new_for_config (without, &error);
  g_assert_no_error (error);
  g_assert_true (MB_IS_CREDENTIALS_KEYRING (creds));
}

/* The secrets file */

/* Mode 0644 is refused with a message that names the file, its mode and
 * the command that fixes it; 0600 and 0400 are accepted. */
static void
test_file_mode (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (MbCredentialsFile) creds = NULL;
  g_autofree char *fix = g_strdup_printf ("chmod 600 %s", f->path);

  write_file (f, "[route office365]\npassword=mode-test-pw-0a9f\n", 0644);
  test_record_secret ("mode-test-pw-0a9f");
  creds = mb_credentials_file_new (f->path, &error);
  g_assert_null (creds);
  g_assert_error (error, MB_CREDENTIALS_FILE_ERROR,
                  MB_CREDENTIALS_FILE_ERROR_PERMISSIONS);
  g_assert_true (g_str_has_prefix (error->message, f->path));
  g_assert_nonnull (strstr (error->message, "0644"));
  g_assert_nonnull (strstr (error->message, fix));
  /* The refusal never quotes the file's content. */
  g_assert_null (strstr (error->message, "mode-test-pw"));
  g_clear_error (&error);

  for (int mode = 0400; mode <= 0600; mode += 0200)
    {
      g_autoptr (MbCredentialsFile) ok = NULL;

      g_assert_cmpint (g_chmod (f->path, mode), ==, 0);
      ok = mb_credentials_file_new (f->path, &error);
      g_assert_no_error (error);
      g_assert_nonnull (ok);
    }
}

/* A 0600 file that belongs to another user is refused with "chown" in the
 * message (needs root to create; skipped otherwise). */
static void
test_file_owner (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  const uid_t nobody = 65534;

  if (geteuid () != 0)
    {
      g_test_skip ("needs root to give the file to another user");
      return;
    }
  write_file (f, "[route office365]\npassword=owner-test-pw-5c1d\n", 0600);
  test_record_secret ("owner-test-pw-5c1d");
  g_assert_cmpint (chown (f->path, nobody, (gid_t)-1), ==, 0);
  g_assert_null (mb_credentials_file_new (f->path, &error));
  g_assert_error (error, MB_CREDENTIALS_FILE_ERROR,
                  MB_CREDENTIALS_FILE_ERROR_PERMISSIONS);
  g_assert_true (g_str_has_prefix (error->message, f->path));
  g_assert_nonnull (strstr (error->message, "65534"));
  g_assert_nonnull (strstr (error->message, "chown"));
}

/* Store, lookup (async and the older sync call), overwrite and clear
 * round-trip through the file; two routes stay apart. */
static void
test_file_round_trip (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (MbCredentials) creds = NULL;
  g_autoptr (MbCredentials) again = NULL;
  char *secret;

  write_file (f, "[route office365]\npassword=first-pw-44e0b9\n", 0600);
  test_record_secret ("first-pw-44e0b9");
  creds = load (f);
  assert_secret (creds, "office365", "password", "first-pw-44e0b9", 0);
  assert_secret (creds, "hve", "password", NULL, 0);

  g_assert_true (
      store (creds, "office365", "password", " second pw=#;\\x ", 0, &error));
  g_assert_no_error (error);
  g_assert_true (store (creds, "hve", "password", "hve-pw-d1c7f3", 0, &error));
  g_assert_no_error (error);
  assert_secret (creds, "office365", "password", " second pw=#;\\x ", 0);
  assert_secret (creds, "hve", "password", "hve-pw-d1c7f3", 0);
  secret = mb_credentials_file_lookup (MB_CREDENTIALS_FILE (creds), "hve",
                                       "password");
  g_assert_cmpstr (secret, ==, "hve-pw-d1c7f3");
  mb_smtp_secret_free (secret);

  /* A fresh reader of the file sees the same. */
  again = load (f);
  assert_secret (again, "office365", "password", " second pw=#;\\x ", 0);
  assert_secret (again, "hve", "password", "hve-pw-d1c7f3", 0);
  g_clear_object (&again);

  g_assert_true (clear (creds, "office365", "password", &error));
  g_assert_no_error (error);
  g_assert_true (clear (creds, "office365", "password", &error));
  g_assert_no_error (error);
  assert_secret (creds, "office365", "password", NULL, 0);
  assert_secret (creds, "hve", "password", "hve-pw-d1c7f3", 0);
  again = load (f);
  assert_secret (again, "office365", "password", NULL, 0);
  assert_secret (again, "hve", "password", "hve-pw-d1c7f3", 0);
}

/* A store rewrites the file atomically as a 0600 file of ours, even when
 * it was 0400; comments and other routes survive; no temporary file is
 * left beside it. */
static void
test_file_atomic_store (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (MbCredentials) creds = NULL;
  g_autoptr (GDir) dir = NULL;
  g_autofree char *text = NULL;
  struct stat      st;
  const char      *name;
  guint            files = 0;

  write_file (f,
              "# Mailbridge secrets\n"
              "[route office365]\n"
              "# rotated by hand\n"
              "password=atomic-old-pw-8b3e\n"
              "[route other]\n"
              "client-key-passphrase=atomic-pp-27aa\n",
              0400);
  test_record_secret ("atomic-old-pw-8b3e");
  test_record_secret ("atomic-pp-27aa");
  creds = load (f);
  g_assert_true (
      store (creds, "office365", "password", "atomic-new-pw-f00d", 0, &error));
  g_assert_no_error (error);

  g_assert_cmpint (g_stat (f->path, &st), ==, 0);
  g_assert_cmpint (st.st_mode & 07777, ==, 0600);
  g_assert_cmpint (st.st_uid, ==, geteuid ());
  text = read_text (f->path);
  g_assert_nonnull (strstr (text, "# Mailbridge secrets"));
  g_assert_nonnull (strstr (text, "# rotated by hand"));
  g_assert_nonnull (strstr (text, "password=atomic-new-pw-f00d"));
  g_assert_null (strstr (text, "atomic-old-pw"));
  g_assert_nonnull (strstr (text, "client-key-passphrase=atomic-pp-27aa"));

  dir = g_dir_open (f->dir, 0, &error);
  g_assert_no_error (error);
  while ((name = g_dir_read_name (dir)) != NULL)
    {
      g_assert_cmpstr (name, ==, "secrets.conf");
      files++;
    }
  g_assert_cmpuint (files, ==, 1);
}

/* A file made readable by others after loading is not rewritten: the
 * store fails with the permission error and the file stays as it was. */
static void
test_file_store_refused (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (MbCredentials) creds = NULL;
  g_autofree char *text = NULL;

  write_file (f, "[route office365]\npassword=refused-old-pw-3a3a\n", 0600);
  test_record_secret ("refused-old-pw-3a3a");
  creds = load (f);
  g_assert_cmpint (g_chmod (f->path, 0644), ==, 0);
  g_assert_false (
      store (creds, "office365", "password", "refused-new-pw-4b4b", 0, &error));
  g_assert_error (error, MB_CREDENTIALS_FILE_ERROR,
                  MB_CREDENTIALS_FILE_ERROR_PERMISSIONS);
  text = read_text (f->path);
  g_assert_null (strstr (text, "refused-new-pw"));
  assert_secret (creds, "office365", "password", "refused-old-pw-3a3a", 0);
}

/* Expiry dates are read from "<kind>-expires" (a date or ISO 8601), kept
 * with the secret, written back as ISO 8601, and check_expiry reports
 * those within 14 days or past. */
static void
test_file_expiry (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (MbCredentials) creds = NULL;
  g_autoptr (MbCredentials) again = NULL;
  g_autoptr (GPtrArray) due = NULL;
  g_autoptr (GAsyncResult) result = NULL;
  g_autofree char *text = NULL;
  Wait             wait = { NULL };
  gint64           expires_at = -1;

  /* 2027-01-25 is 9 days 16 hours after NOW; 2027-03-01 is 45 days. */
  write_file (f,
              "[route soon]\n"
              "client-secret=expiry-soon-cs-11aa\n"
              "client-secret-expires=2027-01-25\n"
              "[route later]\n"
              "client-secret=expiry-later-cs-22bb\n"
              "client-secret-expires=2027-03-01T00:00:00Z\n"
              "[route past]\n"
              "password=expiry-past-pw-33cc\n"
              "password-expires=2027-01-10T12:00:00+01:00\n"
              "[route never]\n"
              "client-secret=expiry-never-cs-44dd\n",
              0600);
  for (const char *const *s
       = (const char *const[]){ "expiry-soon-cs-11aa", "expiry-later-cs-22bb",
                                "expiry-past-pw-33cc", "expiry-never-cs-44dd",
                                NULL };
       *s != NULL; s++)
    test_record_secret (*s);
  creds = load (f);

  assert_secret (creds, "soon", "client-secret", "expiry-soon-cs-11aa",
                 1800835200);
  mb_credentials_lookup_expiry_async (creds, "past", "password", NULL, wait_cb,
                                      &wait);
  result = wait_for (&wait);
  g_assert_true (
      mb_credentials_lookup_expiry_finish (creds, result, &expires_at, &error));
  g_assert_no_error (error);
  g_assert_cmpint (expires_at, ==, 1799578800);

  due = check_expiry (creds, NOW);
  g_assert_cmpuint (due->len, ==, 2);
  g_assert_cmpstr (((MbCredentialsExpiry *)due->pdata[0])->route, ==, "past");
  g_assert_cmpstr (((MbCredentialsExpiry *)due->pdata[1])->route, ==, "soon");
  g_assert_cmpstr (((MbCredentialsExpiry *)due->pdata[1])->kind, ==,
                   "client-secret");
  g_clear_pointer (&due, g_ptr_array_unref);

  /* A new secret with a new date replaces both; without a date, the old
   * date goes too. */
  g_assert_true (store (creds, "soon", "client-secret",
                        "expiry-renewed-cs-55ee", NOW + 700 * DAY, &error));
  g_assert_true (
      store (creds, "past", "password", "expiry-renewed-pw-66ff", 0, &error));
  g_assert_no_error (error);
  text = read_text (f->path);
  g_assert_nonnull (
      strstr (text, "client-secret-expires=2028-12-15T08:00:00Z"));
  g_assert_null (strstr (text, "password-expires"));
  again = load (f);
  assert_secret (again, "soon", "client-secret", "expiry-renewed-cs-55ee",
                 NOW + 700 * DAY);
  assert_secret (again, "past", "password", "expiry-renewed-pw-66ff", 0);
  due = check_expiry (again, NOW);
  g_assert_cmpuint (due->len, ==, 0);
  g_clear_pointer (&due, g_ptr_array_unref);
  /* 690 days on, "later" has long expired and "soon" has 10 days left. */
  due = check_expiry (again, NOW + 690 * DAY);
  g_assert_cmpuint (due->len, ==, 2);
  g_assert_cmpstr (((MbCredentialsExpiry *)due->pdata[0])->route, ==, "later");
  g_assert_cmpstr (((MbCredentialsExpiry *)due->pdata[1])->route, ==, "soon");
}

/* Bad expiry values and an expiry key for an unknown kind are refused,
 * naming the key. */
static void
test_file_expiry_refused (Fixture *f, gconstpointer data)
{
  static const struct
  {
    const char *text;
    const char *needle;
  } cases[] = {
    { "[route r]\npassword=x\npassword-expires=soon\n", "password-expires" },
    { "[route r]\npassword=x\npassword-expires=2027-02-30\n",
      "password-expires" },
    { "[route r]\npassword=x\npassword-expires=1800000000\n",
      "password-expires" },
    { "[route r]\npasword-expires=2027-01-01\n", "pasword-expires" },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr (GError) error = NULL;

      write_file (f, cases[i].text, 0600);
      g_assert_null (mb_credentials_file_new (f->path, &error));
      g_assert_error (error, MB_CREDENTIALS_FILE_ERROR,
                      MB_CREDENTIALS_FILE_ERROR_PARSE);
      g_assert_nonnull (strstr (error->message, cases[i].needle));
    }
}

/* Invalid routes and kinds fail through the callback with INVALID, and
 * the file is not touched. */
static void
test_file_invalid (Fixture *f, gconstpointer data)
{
  g_autoptr (MbCredentials) creds = NULL;
  g_autofree char *before = NULL;
  g_autofree char *after = NULL;

  write_file (f, "[route r]\npassword=invalid-test-pw-77ab\n", 0600);
  test_record_secret ("invalid-test-pw-77ab");
  before = read_text (f->path);
  creds = load (f);
  for (const char *const *route
       = (const char *const[]){ "", "a]b", "a\nb", NULL };
       *route != NULL; route++)
    {
      g_autoptr (GError) error = NULL;

      g_assert_false (
          store (creds, *route, "password", "never-stored-pw-88cd", 0, &error));
      g_assert_error (error, MB_CREDENTIALS_ERROR,
                      MB_CREDENTIALS_ERROR_INVALID);
    }
  {
    g_autoptr (GError) error = NULL;

    g_assert_false (
        store (creds, "r", "passwd", "never-stored-pw-88cd", 0, &error));
    g_assert_error (error, MB_CREDENTIALS_ERROR, MB_CREDENTIALS_ERROR_INVALID);
  }
  after = read_text (f->path);
  g_assert_cmpstr (before, ==, after);
}

int
main (int argc, char *argv[])
{
  static const struct
  {
    const char *path;
    void (*func) (Fixture *, gconstpointer);
  } file_tests[] = {
    { "/relay/credentials/factory/by-config", test_factory },
    { "/relay/credentials/file/mode-0644-refused", test_file_mode },
    { "/relay/credentials/file/other-owner-refused", test_file_owner },
    { "/relay/credentials/file/round-trip", test_file_round_trip },
    { "/relay/credentials/file/atomic-store-0600", test_file_atomic_store },
    { "/relay/credentials/file/store-refused-when-0644",
      test_file_store_refused },
    { "/relay/credentials/file/expiry", test_file_expiry },
    { "/relay/credentials/file/expiry-refused", test_file_expiry_refused },
    { "/relay/credentials/file/invalid-names", test_file_invalid },
  };

  /* A bus address that leads nowhere: no test here can reach a real
   * keyring, and the keyring backend's "unavailable" path is testable. */
  g_setenv ("DBUS_SESSION_BUS_ADDRESS",
            "unix:path=/nonexistent/mailbridge-test-no-bus", TRUE);
  g_unsetenv ("DISPLAY");
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/relay/credentials/names/routes-and-kinds", test_names);
  g_test_add_func ("/relay/credentials/expiry/due", test_expiry_due);
  g_test_add_func ("/relay/credentials/expiry/describe", test_expiry_describe);
  g_test_add_func ("/relay/credentials/expiry/parse", test_expiry_parse);
  g_test_add_func ("/relay/credentials/keyring/label", test_keyring_label);
  g_test_add_func ("/relay/credentials/keyring/unavailable",
                   test_keyring_unavailable);
  for (gsize i = 0; i < G_N_ELEMENTS (file_tests); i++)
    g_test_add (file_tests[i].path, Fixture, NULL, fixture_set_up,
                file_tests[i].func, fixture_tear_down);
  return g_test_run ();
}
