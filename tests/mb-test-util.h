/* mb-test-util.h - helpers shared by the unit tests
 *
 * Compiled into every unit test executable (tests/meson.build).  Temporary
 * files go under $MB_TEST_TMPDIR, else /var/tmp (not /tmp: about 30 times
 * slower here).  Waits iterate the default main context until a condition
 * holds, never sleep, and fail the test after MB_TEST_HANG_GUARD_SECONDS
 * instead of hanging it.  Failures are assertions: these are for tests only.
 * The fake Entra ID helpers use libsoup and json-glib, which every unit test
 * has through librelay_dep.
 */
#pragma once

#include <gio/gio.h>
#include <json-glib/json-glib.h>
#include <libsoup/soup.h>

G_BEGIN_DECLS

/* A safety net against a hung test, not a wait. */
#define MB_TEST_HANG_GUARD_SECONDS 60

/* A fresh directory $MB_TEST_TMPDIR/mb-@name-XXXXXX (else under /var/tmp);
 * free it, and remove it with mb_test_remove_tree(). */
char *mb_test_make_tmpdir (const char *name);

/* Removes @path (nullable) and, for a directory, all it holds; symbolic
 * links are removed, never followed. */
void mb_test_remove_tree (const char *path);

/* The number of entries in the directory @path, which must exist. */
guint mb_test_count_files (const char *path);

/* Fails the test if it is still waiting for @what (a static string) after
 * MB_TEST_HANG_GUARD_SECONDS; returns the source to remove once done. */
guint mb_test_add_hang_guard (const char *what);

/* Iterates the default main context until @cond holds. */
#define MB_TEST_WAIT_UNTIL(cond)                                               \
  G_STMT_START                                                                 \
  {                                                                            \
    guint mb_test_guard_ = mb_test_add_hang_guard (#cond);                     \
    while (!(cond))                                                            \
      g_main_context_iteration (NULL, TRUE);                                   \
    g_source_remove (mb_test_guard_);                                          \
  }                                                                            \
  G_STMT_END

/* A GAsyncReadyCallback: stores a reference to @result in the
 * GAsyncResult * that @user_data points to, which must still be NULL. */
void mb_test_store_result_cb (GObject      *source,
                              GAsyncResult *result,
                              gpointer      user_data);

/* Waits until mb_test_store_result_cb() filled @slot; returns *@slot. */
GAsyncResult *mb_test_wait_for_result (GAsyncResult **slot);

/* Whether GIO has a TLS backend; if not, skips the test and returns FALSE. */
gboolean mb_test_need_tls_backend (void);

/* Runs @script with /usr/bin/python3 on @data, written to a temporary file
 * named @file_name and passed as argv[1]; asserts that it exits 0.  FALSE
 * with a skip when Python is missing. */
gboolean
mb_test_run_python (const char *script, GBytes *data, const char *file_name);

/* Installs a log writer (once, from main()) that captures the warnings of
 * @log_domain, from any thread, instead of letting them abort the test;
 * everything else goes to the default writer. */
void mb_test_capture_warnings (const char *log_domain);

/* How many captured warnings contain @substring (NULL: all of them). */
guint mb_test_count_warnings (const char *substring);

/* (transfer full) A copy of the captured warnings' messages. */
GPtrArray *mb_test_dup_warnings (void);

void mb_test_clear_warnings (void);

/* The fake Entra ID (tests/fakes/fake_entra.py) as a subprocess for a whole
 * test binary: HTTPS on 127.0.0.1, a free port, the test PKI. */
typedef struct
{
  GSubprocess *process;
  char        *authority;     /* https://127.0.0.1:PORT */
  char        *pki_dir;       /* the test PKI */
  char        *ca_file;       /* the CA that issued the fake's certificate */
  char        *rogue_ca_file; /* a CA that did not */
  char        *app_dir;       /* the RSA app certificates */
  SoupSession *http;          /* the tests' own client (trusts ca_file) */
} MbTestFakeEntra;

/* Starts the fake with its options @script_json (clients, device scripts,
 * ...) and waits until it listens; blocks, so call it from main() before
 * g_test_run().  Also keeps proxies from the environment away from the
 * loopback authority.  NULL with a reason in @skip_reason (free it) when
 * the fake cannot run here: tests then call g_test_skip() with it. */
MbTestFakeEntra *mb_test_fake_entra_start (const char *script_json,
                                           char      **skip_reason);

/* Ends the fake (nullable) and frees @fake. */
void mb_test_fake_entra_stop (MbTestFakeEntra *fake);

/* An HTTP GET of the tests themselves (the fake's control endpoints, the
 * browser's part), run on the main context without following redirects;
 * asserts it got an answer.  Returns the body; @status and @location (the
 * Location header) are nullable. */
GBytes *mb_test_fake_entra_get (MbTestFakeEntra *fake,
                                const char      *url,
                                guint           *status,
                                char           **location);

/* (transfer full) The fake's state (GET /_fake/state): grants, polls,
 * interval violations. */
JsonObject *mb_test_fake_entra_get_state (MbTestFakeEntra *fake);

/* How many token requests with @grant_type the fake answered for
 * @client_id, with the result @result ("ok", the error; NULL: any). */
guint mb_test_fake_entra_count_grants (MbTestFakeEntra *fake,
                                       const char      *client_id,
                                       const char      *grant_type,
                                       const char      *result);

G_END_DECLS
