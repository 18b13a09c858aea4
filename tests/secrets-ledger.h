/* secrets-ledger.h - record the secrets a C test uses, for the audit
 *
 * Header-only.  tests/integration/test_secret_audit.py runs after the
 * whole suite and searches the spools, logs and configurations the tests
 * left for every secret recorded here (and its base64 and URL-encoded
 * forms).  Call test_record_secret() with every password, token or client
 * secret a test hands to the relay.
 *
 * The ledger is $MB_SECRETS_LEDGER, else
 * $MB_BUILDDIR/mailbridge-secrets-ledger.txt (one per build directory, so
 * concurrent runs in other build directories do not mix), else nothing is
 * recorded.  One line per secret, "S " and the secret in hex: the ledger
 * itself never holds a secret in clear.  tests/integration/mbtest.py
 * (record_secret) writes the same format.
 */
#pragma once

#include <glib.h>
#include <glib/gstdio.h>

#include <fcntl.h>
#include <string.h>
#include <unistd.h>

/* (transfer full) (nullable) */
static inline char *
test_secrets_ledger_path (void)
{
  const char *path = g_getenv ("MB_SECRETS_LEDGER");
  const char *builddir = g_getenv ("MB_BUILDDIR");

  if (path != NULL && *path != '\0')
    return g_strdup (path);
  if (builddir != NULL && *builddir != '\0')
    return g_build_filename (builddir, "mailbridge-secrets-ledger.txt", NULL);
  return NULL;
}

static inline void
test_record_secret (const char *secret)
{
  g_autofree char *path = test_secrets_ledger_path ();
  g_autoptr (GString) line = NULL;
  int fd;

  if (path == NULL || secret == NULL || *secret == '\0')
    return;
  line = g_string_new ("S ");
  for (const char *p = secret; *p != '\0'; p++)
    g_string_append_printf (line, "%02x", (guint)(guchar)*p);
  g_string_append_c (line, '\n');
  /* One write(2) with O_APPEND: lines of concurrent tests never mix. */
  fd = g_open (path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  g_assert_cmpint (fd, >=, 0);
  g_assert_cmpint (write (fd, line->str, line->len), ==, (gssize)line->len);
  close (fd);
}
