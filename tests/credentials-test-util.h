/* credentials-test-util.h - helpers shared by the MbCredentials tests
 *
 * Included by test-credentials.c and test-credentials-keyring.c (two
 * binaries: the keyring one runs on a private bus).  Every call goes
 * through wait_for(), which asserts that the callback has not run inside
 * the _async call and then iterates the main context until it has: a
 * backend completes through the main loop only.  The synchronous wrappers
 * are for the tests only.
 */
#pragma once

#include "mb-credentials.h"
#include "mb-smtp-reply.h"
#include "secrets-ledger.h"

#define WATCHDOG_SECONDS 30

typedef struct
{
  GAsyncResult *result;
} Wait;

static inline void
wait_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  Wait *wait = user_data;

  g_assert_null (wait->result);
  wait->result = g_object_ref (result);
}

static inline gboolean
on_watchdog_cb (gpointer user_data)
{
  gboolean *timed_out = user_data;

  *timed_out = TRUE;
  return G_SOURCE_REMOVE;
}

/* Asserts the call did not complete synchronously, then runs the main
 * loop until it completes; fails after a watchdog.  (transfer full) */
static inline GAsyncResult *
wait_for (Wait *wait)
{
  gboolean timed_out = FALSE;
  guint    watchdog;

  g_assert_null (wait->result);
  watchdog
      = g_timeout_add_seconds (WATCHDOG_SECONDS, on_watchdog_cb, &timed_out);
  while (wait->result == NULL && !timed_out)
    g_main_context_iteration (NULL, TRUE);
  g_assert_false (timed_out);
  g_source_remove (watchdog);
  return g_steal_pointer (&wait->result);
}

static inline gboolean
store (MbCredentials *creds,
       const char    *route,
       const char    *kind,
       const char    *secret,
       gint64         expires_at,
       GError       **error)
{
  Wait wait = { NULL };
  g_autoptr (GAsyncResult) result = NULL;

  test_record_secret (secret);
  mb_credentials_store_async (creds, route, kind, secret, expires_at, NULL,
                              wait_cb, &wait);
  result = wait_for (&wait);
  return mb_credentials_store_finish (creds, result, error);
}

static inline char *
lookup (MbCredentials *creds,
        const char    *route,
        const char    *kind,
        gint64        *expires_at,
        GError       **error)
{
  Wait wait = { NULL };
  g_autoptr (GAsyncResult) result = NULL;

  mb_credentials_lookup_async (creds, route, kind, NULL, wait_cb, &wait);
  result = wait_for (&wait);
  return mb_credentials_lookup_finish (creds, result, expires_at, error);
}

static inline gboolean
clear (MbCredentials *creds,
       const char    *route,
       const char    *kind,
       GError       **error)
{
  Wait wait = { NULL };
  g_autoptr (GAsyncResult) result = NULL;

  mb_credentials_clear_async (creds, route, kind, NULL, wait_cb, &wait);
  result = wait_for (&wait);
  return mb_credentials_clear_finish (creds, result, error);
}

static inline void
assert_secret (MbCredentials *creds,
               const char    *route,
               const char    *kind,
               const char    *expected,
               gint64         expected_expiry)
{
  g_autoptr (GError) error = NULL;
  gint64 expires_at = -1;
  char  *secret = lookup (creds, route, kind, &expires_at, &error);

  g_assert_no_error (error);
  g_assert_cmpstr (secret, ==, expected);
  g_assert_cmpint (expires_at, ==, expected == NULL ? 0 : expected_expiry);
  mb_smtp_secret_free (secret);
}
