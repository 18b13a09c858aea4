/* test-credentials-file.c - unit tests for mb-credentials-file */
#include "mb-credentials-file.h"

#include "mb-smtp-reply.h"

#include <glib/gstdio.h>

typedef struct
{
  char *dir;
  char *path;
} Fixture;

static void
fixture_set_up (Fixture *f, gconstpointer data)
{
  const char *base = g_getenv ("MB_TEST_TMPDIR");
  g_autofree char *template = g_build_filename (
      base != NULL ? base : "/var/tmp", "test-credentials-XXXXXX", NULL);

  f->dir = g_mkdtemp (g_steal_pointer (&template));
  g_assert_nonnull (f->dir);
  f->path = g_build_filename (f->dir, "secrets", NULL);
}

static void
fixture_tear_down (Fixture *f, gconstpointer data)
{
  g_unlink (f->path);
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

/* A 0600 file gives each route's secrets by kind, and nothing else. */
static void
test_lookup (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (MbCredentialsFile) creds = NULL;
  char *secret;

  write_file (f,
              "[route m365]\npassword=s3cret pass\naccess-token=tok\n"
              "[route other]\nclient-key-passphrase=pp\n",
              0600);
  creds = mb_credentials_file_new (f->path, &error);
  g_assert_no_error (error);

  secret = mb_credentials_file_lookup (creds, "m365", "password");
  g_assert_cmpstr (secret, ==, "s3cret pass");
  mb_smtp_secret_free (secret);
  secret = mb_credentials_file_lookup (creds, "m365", "access-token");
  g_assert_cmpstr (secret, ==, "tok");
  mb_smtp_secret_free (secret);
  g_assert_null (mb_credentials_file_lookup (creds, "other", "password"));
  g_assert_null (mb_credentials_file_lookup (creds, "missing", "password"));
  secret = mb_credentials_file_lookup (creds, "other", "client-key-passphrase");
  g_assert_cmpstr (secret, ==, "pp");
  mb_smtp_secret_free (secret);
}

/* Any group or other permission bit refuses the whole file. */
static void
test_permissions (Fixture *f, gconstpointer data)
{
  static const int modes[] = { 0644, 0640, 0604, 0660, 0602 };

  for (gsize i = 0; i < G_N_ELEMENTS (modes); i++)
    {
      g_autoptr (GError) error = NULL;
      g_autoptr (MbCredentialsFile) creds = NULL;

      write_file (f, "[route m365]\npassword=x\n", modes[i]);
      creds = mb_credentials_file_new (f->path, &error);
      g_assert_null (creds);
      g_assert_error (error, MB_CREDENTIALS_FILE_ERROR,
                      MB_CREDENTIALS_FILE_ERROR_PERMISSIONS);
      g_assert_nonnull (strstr (error->message, "0600"));
    }
}

/* Unknown groups and keys are refused with their name; a missing file is
 * NOT_FOUND. */
static void
test_refusals (Fixture *f, gconstpointer data)
{
  static const struct
  {
    const char *text;
    int         code;
    const char *needle;
  } cases[] = {
    { "[relay]\npassword=x\n", MB_CREDENTIALS_FILE_ERROR_PARSE, "[relay]" },
    { "[route m365]\npasword=x\n", MB_CREDENTIALS_FILE_ERROR_PARSE, "pasword" },
    { "not a key file\n", MB_CREDENTIALS_FILE_ERROR_PARSE, "secrets" },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr (GError) error = NULL;
      g_autoptr (MbCredentialsFile) creds = NULL;

      write_file (f, cases[i].text, 0600);
      creds = mb_credentials_file_new (f->path, &error);
      g_assert_null (creds);
      g_assert_error (error, MB_CREDENTIALS_FILE_ERROR, cases[i].code);
      g_assert_nonnull (strstr (error->message, cases[i].needle));
    }

  {
    g_autoptr (GError) error = NULL;

    g_unlink (f->path);
    g_assert_null (mb_credentials_file_new (f->path, &error));
    g_assert_error (error, MB_CREDENTIALS_FILE_ERROR,
                    MB_CREDENTIALS_FILE_ERROR_NOT_FOUND);
  }
}

int
main (int argc, char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add ("/relay/credentials-file/lookup/by-route-and-kind", Fixture, NULL,
              fixture_set_up, test_lookup, fixture_tear_down);
  g_test_add ("/relay/credentials-file/refuse/permissions", Fixture, NULL,
              fixture_set_up, test_permissions, fixture_tear_down);
  g_test_add ("/relay/credentials-file/refuse/unknown-and-missing", Fixture,
              NULL, fixture_set_up, test_refusals, fixture_tear_down);
  return g_test_run ();
}
