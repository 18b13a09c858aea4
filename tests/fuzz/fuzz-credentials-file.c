/* fuzz-credentials-file.c - fuzz target for relay/mb-credentials-file.h
 *
 * The input is the text of a [relay] secrets file, written as a 0600 file
 * of ours under $MB_TEST_TMPDIR (else /var/tmp) and read with
 * mb_credentials_file_new().  Then:
 *   - a refusal is a PARSE error (the file is ours and 0600) whose message
 *     holds no secret: nothing written after a secret's key name on any
 *     line;
 *   - an accepted file answers each "[route NAME]" and kind with what
 *     GKeyFile itself reads there;
 *   - a secret stored into it and then cleared again (the worker thread
 *     rewrites the file) leaves a file that reading accepts, with the new
 *     secret, then without it, and every other secret as it was, or as
 *     GKeyFile writes it back ("a write never produces a file that
 *     reading would refuse").
 * A broken property aborts.
 */
#include "mb-credentials-file.h"
#include "mb-smtp-reply.h"

#include <glib/gstdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

typedef struct
{
  gboolean done;
  gboolean ok;
  GError  *error;
} Wait;

static char *path;

static void
remove_files (void)
{
  g_autofree char *dir = g_path_get_dirname (path);

  g_unlink (path);
  g_rmdir (dir);
}

static const char *
get_path (void)
{
  if (path == NULL)
    {
      const char      *base = g_getenv ("MB_TEST_TMPDIR");
      g_autofree char *templ
          = g_build_filename (base != NULL && *base != '\0' ? base : "/var/tmp",
                              "mb-fuzz-credentials-XXXXXX", NULL);

      if (g_mkdtemp (templ) == NULL)
        abort ();
      path = g_build_filename (templ, "secrets.conf", NULL);
      atexit (remove_files);
    }
  return path;
}

static void
write_file (const char *path, const char *text, gsize len)
{
  /* GLib 2.74 writes over an existing file without truncating it when
   * asked for no guarantees. */
  g_unlink (path);
  if (!g_file_set_contents_full (path, text, (gssize)len,
                                 G_FILE_SET_CONTENTS_NONE, 0600, NULL))
    abort ();
}

static guint
count_occurrences (const char *text, const char *needle)
{
  guint n = 0;

  for (const char *p = strstr (text, needle); p != NULL;
       p = strstr (p + 1, needle))
    n++;
  return n;
}

/* Nothing after a kind name on any line may show in @message. */
static void
check_no_secret (const char *text, const char *message)
{
  g_auto (GStrv) lines = g_strsplit (text, "\n", -1);
  const char *const *kinds = mb_credentials_get_kinds ();

  for (guint i = 0; lines[i] != NULL; i++)
    {
      const char *line = g_strchug (lines[i]);

      for (guint k = 0; kinds[k] != NULL; k++)
        {
          const char *secret;

          if (!g_str_has_prefix (line, kinds[k]))
            continue;
          secret = line + strlen (kinds[k]);
          secret += strspn (secret, " \t=:");
          /* (What is written elsewhere too, say in a group name, may
           * show.) */
          if (strlen (g_strchomp ((char *)secret)) >= 8
              && strstr (get_path (), secret) == NULL
              && count_occurrences (text, secret) == 1
              && strstr (message, secret) != NULL)
            abort ();
        }
    }
}

static void
store_done_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  Wait *wait = user_data;

  wait->ok = mb_credentials_store_finish (MB_CREDENTIALS (source), result,
                                          &wait->error);
  wait->done = TRUE;
}

static void
clear_done_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  Wait *wait = user_data;

  wait->ok = mb_credentials_clear_finish (MB_CREDENTIALS (source), result,
                                          &wait->error);
  wait->done = TRUE;
}

/* Every secret of @keyfile's route groups is what @credentials answers
 * (or what @written, nullable, says), but for @route/@kind, which must be
 * @secret (NULL: none). */
static void
check_secrets (MbCredentialsFile *credentials,
               GKeyFile          *keyfile,
               GKeyFile          *written,
               const char        *route,
               const char        *kind,
               const char        *secret)
{
  g_auto (GStrv) groups = g_key_file_get_groups (keyfile, NULL);
  const char *const *kinds = mb_credentials_get_kinds ();
  char              *found;

  for (guint g = 0; groups[g] != NULL; g++)
    for (guint k = 0; kinds[k] != NULL; k++)
      {
        g_autofree char *expected = NULL;
        g_autofree char *rewritten = NULL;
        const char      *name = groups[g] + strlen ("route ");

        if (!g_str_has_prefix (groups[g], "route ")
            || (route != NULL && strcmp (name, route) == 0
                && strcmp (kinds[k], kind) == 0))
          continue;
        expected = g_key_file_get_string (keyfile, groups[g], kinds[k], NULL);
        /* GKeyFile takes one raw CR at a value's end for a line end: each
         * write and read of "x\r\r" takes one away. */
        if (expected != NULL && g_str_has_suffix (expected, "\r"))
          continue;
        if (written != NULL)
          rewritten
              = g_key_file_get_string (written, groups[g], kinds[k], NULL);
        found = mb_credentials_file_lookup (credentials, name, kinds[k]);
        if (g_strcmp0 (found, expected) != 0
            && (written == NULL || g_strcmp0 (found, rewritten) != 0))
          abort ();
        mb_smtp_secret_free (found);
      }
  if (route == NULL)
    return;
  found = mb_credentials_file_lookup (credentials, route, kind);
  if (g_strcmp0 (found, secret) != 0)
    abort ();
  mb_smtp_secret_free (found);
}

/* Stores (@secret) or clears (NULL) @route/@kind, then reads the file
 * afresh: it must load, with the change and nothing else changed. */
static void
write_and_reread (MbCredentialsFile *credentials,
                  GKeyFile          *before,
                  const char        *route,
                  const char        *kind,
                  const char        *secret)
{
  g_autoptr (MbCredentialsFile) again = NULL;
  g_autoptr (GKeyFile) written = g_key_file_new ();
  g_autoptr (GError) error = NULL;
  g_autofree char *text = NULL;
  gsize            len = 0;
  Wait             wait = { 0 };

  if (secret != NULL)
    mb_credentials_store_async (MB_CREDENTIALS (credentials), route, kind,
                                secret, 0, NULL, store_done_cb, &wait);
  else
    mb_credentials_clear_async (MB_CREDENTIALS (credentials), route, kind, NULL,
                                clear_done_cb, &wait);
  while (!wait.done)
    g_main_context_iteration (NULL, TRUE);
  if (!wait.ok)
    abort ();
  again = mb_credentials_file_new (get_path (), &error);
  if (again == NULL)
    abort ();

  /* The other secrets as they were, or as GKeyFile writes and reads them
   * back (a value with a NUL byte loses what follows it). */
  text = g_key_file_to_data (before, &len, NULL);
  if (!g_key_file_load_from_data (written, text, len,
                                  G_KEY_FILE_KEEP_TRANSLATIONS, NULL))
    abort ();
  check_secrets (credentials, before, written, route, kind, secret);
  check_secrets (again, before, written, route, kind, secret);
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  g_autoptr (MbCredentialsFile) credentials = NULL;
  g_autoptr (GKeyFile) keyfile = g_key_file_new ();
  g_autoptr (GError) error = NULL;
  g_autofree char *text = g_strndup ((const char *)data, size);
  g_autofree char *raw = NULL;
  g_autofree char *secret = NULL;
  g_auto (GStrv) groups = NULL;
  const char *route = "fuzz";

  write_file (get_path (), (const char *)data, size);
  credentials = mb_credentials_file_new (get_path (), &error);
  if (credentials == NULL)
    {
      if (!g_error_matches (error, MB_CREDENTIALS_FILE_ERROR,
                            MB_CREDENTIALS_FILE_ERROR_PARSE)
          || !g_str_has_prefix (error->message, get_path ()))
        abort ();
      {
        /* The date example of the "not a date" hint is ours. */
        g_autofree char *message = g_strdup (error->message);
        char            *hint = strstr (message, "; write it as 2027-03-01");

        if (hint != NULL)
          *hint = '\0';
        check_no_secret (text, message);
      }
      return 0;
    }
  if (!g_key_file_load_from_data (keyfile, (const char *)data, size,
                                  G_KEY_FILE_KEEP_TRANSLATIONS, NULL))
    abort ();
  check_secrets (credentials, keyfile, NULL, NULL, NULL, NULL);

  /* A secret made of the input, into the first route the file names. */
  groups = g_key_file_get_groups (keyfile, NULL);
  if (groups[0] != NULL)
    route = groups[0] + strlen ("route ");
  /* GKeyFile escapes a leading space or tab but not a leading form feed
   * or vertical tab, which reading then strips: such a secret does not
   * come back (a GLib limit, not worth refusing secrets for). */
  raw = g_utf8_make_valid (text, -1);
  secret = g_strdup (raw + strspn (raw, "\f\v"));
  if (*secret == '\0')
    secret = (g_free (secret), g_strdup ("s3cr3t"));
  write_and_reread (credentials, keyfile, route, "password", secret);
  write_and_reread (credentials, keyfile, route, "password", NULL);
  return 0;
}
