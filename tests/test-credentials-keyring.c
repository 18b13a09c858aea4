/* test-credentials-keyring.c - MbCredentialsKeyring against gnome-keyring
 *
 * Runs only inside tests/run-with-keyring.sh: a private session bus with
 * its own gnome-keyring-daemon and a throwaway login keyring unlocked with
 * a test password.  Run directly, every test skips, so the user's keyring
 * is never touched.
 *
 * Every call goes through wait_for(), which asserts that the callback has
 * not run inside the _async call and then iterates the main context until
 * it has: the backend completes through the main loop only.
 */
#include "mb-credentials-keyring.h"

#include "credentials-test-util.h"

#include <string.h>

#define DAY (24 * 60 * 60)

typedef struct
{
  MbCredentials *creds;
  char          *route_a; /* unique per test: the keyring outlives tests */
  char          *route_b;
} Fixture;

/* The wrapper records the bus it started; any other bus may be the
 * user's session. */
static gboolean
private_keyring_ready (void)
{
  const char *private_bus = g_getenv ("MB_TEST_KEYRING_BUS");

  return private_bus != NULL
         && g_strcmp0 (private_bus, g_getenv ("DBUS_SESSION_BUS_ADDRESS")) == 0;
}

static gboolean
have_private_keyring (void)
{
  if (!private_keyring_ready ())
    {
      g_test_skip ("needs a private keyring: run through "
                   "tests/run-with-keyring.sh");
      return FALSE;
    }
  return TRUE;
}

/* The items of our schema for @route and @kind, read behind the backend's
 * back.  (element-type SecretRetrievable) */
static GList *
search_items (const char *route, const char *kind)
{
  Wait wait = { NULL };
  g_autoptr (GAsyncResult) result = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (GHashTable) attributes
      = g_hash_table_new (g_str_hash, g_str_equal);
  GList *items;

  g_hash_table_insert (attributes, "route", (gpointer)route);
  g_hash_table_insert (attributes, "kind", (gpointer)kind);
  secret_password_searchv (mb_credentials_keyring_get_schema (), attributes,
                           SECRET_SEARCH_ALL, NULL, wait_cb, &wait);
  result = wait_for (&wait);
  items = secret_password_search_finish (result, &error);
  g_assert_no_error (error);
  return items;
}

static void
fixture_set_up (Fixture *f, gconstpointer data)
{
  static guint counter;

  f->creds = MB_CREDENTIALS (mb_credentials_keyring_new ());
  counter++;
  f->route_a = g_strdup_printf ("office365-%u-%d", counter, (int)getpid ());
  f->route_b = g_strdup_printf ("hve-%u-%d", counter, (int)getpid ());
}

static void
fixture_tear_down (Fixture *f, gconstpointer data)
{
  if (private_keyring_ready () && !g_test_failed ())
    for (const char *const *kind = mb_credentials_get_kinds (); *kind != NULL;
         kind++)
      {
        g_autoptr (GError) error = NULL;

        g_assert_true (clear (f->creds, f->route_a, *kind, &error));
        g_assert_true (clear (f->creds, f->route_b, *kind, &error));
      }
  g_clear_object (&f->creds);
  g_free (f->route_a);
  g_free (f->route_b);
}

/* A stored password comes back by route and kind, with no expiry; an
 * absent one is NULL without an error. */
static void
test_store_lookup (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;

  if (!have_private_keyring ())
    return;
  assert_secret (f->creds, f->route_a, MB_CREDENTIALS_KIND_PASSWORD, NULL, 0);
  g_assert_true (store (f->creds, f->route_a, MB_CREDENTIALS_KIND_PASSWORD,
                        "kr-Pa55word-3f9a1c", 0, &error));
  g_assert_no_error (error);
  assert_secret (f->creds, f->route_a, MB_CREDENTIALS_KIND_PASSWORD,
                 "kr-Pa55word-3f9a1c", 0);
  assert_secret (f->creds, f->route_a, MB_CREDENTIALS_KIND_CLIENT_SECRET, NULL,
                 0);
}

/* The caller's route and kind may go as soon as lookup_async returns,
 * also while libsecret is still connecting to the secret service (the
 * first call of a process; disconnected here to be one): the backend
 * searches with its own copies.  The caller's strings are scribbled over
 * before they are freed, so a search that still read them would look for
 * another route and find nothing. */
static void
test_caller_strings_released (Fixture *f, gconstpointer data)
{
  Wait wait = { NULL };
  g_autoptr (GAsyncResult) result = NULL;
  g_autoptr (GError) error = NULL;
  char *route;
  char *kind;
  char *secret;

  if (!have_private_keyring ())
    return;
  g_assert_true (store (f->creds, f->route_a, MB_CREDENTIALS_KIND_PASSWORD,
                        "kr-early-free-8d2e", 0, &error));
  g_assert_no_error (error);
  secret_service_disconnect ();

  route = g_strdup (f->route_a);
  kind = g_strdup (MB_CREDENTIALS_KIND_PASSWORD);
  mb_credentials_lookup_async (f->creds, route, kind, NULL, wait_cb, &wait);
  memset (route, 'x', strlen (route));
  memset (kind, 'x', strlen (kind));
  g_free (route);
  g_free (kind);
  result = wait_for (&wait);
  secret = mb_credentials_lookup_finish (f->creds, result, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (secret, ==, "kr-early-free-8d2e");
  mb_smtp_secret_free (secret);
}

/* Storing again replaces secret and expiry in place: one item remains,
 * labelled for people, with the new "expires" attribute. */
static void
test_overwrite (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  GList           *items;
  g_autofree char *label = NULL;
  g_autoptr (GHashTable) attributes = NULL;

  if (!have_private_keyring ())
    return;
  g_assert_true (store (f->creds, f->route_a, MB_CREDENTIALS_KIND_CLIENT_SECRET,
                        "kr-old-client-secret-77c1", 1900000000, &error));
  g_assert_true (store (f->creds, f->route_a, MB_CREDENTIALS_KIND_CLIENT_SECRET,
                        "kr-new-client-secret-0b2e", 1950000000, &error));
  g_assert_no_error (error);
  assert_secret (f->creds, f->route_a, MB_CREDENTIALS_KIND_CLIENT_SECRET,
                 "kr-new-client-secret-0b2e", 1950000000);

  items = search_items (f->route_a, MB_CREDENTIALS_KIND_CLIENT_SECRET);
  g_assert_cmpuint (g_list_length (items), ==, 1);
  label = secret_retrievable_get_label (items->data);
  g_assert_true (g_str_has_prefix (label, "Mailbridge: client secret for "
                                          "route office365-"));
  attributes = secret_retrievable_get_attributes (items->data);
  g_assert_cmpstr (g_hash_table_lookup (attributes, "expires"), ==,
                   "1950000000");
  g_list_free_full (items, g_object_unref);

  /* Back to no expiry: still one item. */
  g_assert_true (store (f->creds, f->route_a, MB_CREDENTIALS_KIND_CLIENT_SECRET,
                        "kr-newer-client-secret-4d5f", 0, &error));
  assert_secret (f->creds, f->route_a, MB_CREDENTIALS_KIND_CLIENT_SECRET,
                 "kr-newer-client-secret-4d5f", 0);
  items = search_items (f->route_a, MB_CREDENTIALS_KIND_CLIENT_SECRET);
  g_assert_cmpuint (g_list_length (items), ==, 1);
  g_list_free_full (items, g_object_unref);
}

/* Clearing removes the secret; clearing what is not there succeeds. */
static void
test_clear (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;

  if (!have_private_keyring ())
    return;
  g_assert_true (store (f->creds, f->route_a, MB_CREDENTIALS_KIND_REFRESH_TOKEN,
                        "kr-refresh-token-a81f0d", 0, &error));
  g_assert_true (
      clear (f->creds, f->route_a, MB_CREDENTIALS_KIND_REFRESH_TOKEN, &error));
  g_assert_no_error (error);
  assert_secret (f->creds, f->route_a, MB_CREDENTIALS_KIND_REFRESH_TOKEN, NULL,
                 0);
  g_assert_true (
      clear (f->creds, f->route_a, MB_CREDENTIALS_KIND_REFRESH_TOKEN, &error));
  g_assert_no_error (error);
}

/* Two routes with the same kind keep their own secrets; clearing one
 * leaves the other. */
static void
test_routes_apart (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;

  if (!have_private_keyring ())
    return;
  g_assert_true (store (f->creds, f->route_a, MB_CREDENTIALS_KIND_PASSWORD,
                        "kr-route-a-secret-19e4", 0, &error));
  g_assert_true (store (f->creds, f->route_b, MB_CREDENTIALS_KIND_PASSWORD,
                        "kr-route-b-secret-c03d", 0, &error));
  g_assert_no_error (error);
  assert_secret (f->creds, f->route_a, MB_CREDENTIALS_KIND_PASSWORD,
                 "kr-route-a-secret-19e4", 0);
  assert_secret (f->creds, f->route_b, MB_CREDENTIALS_KIND_PASSWORD,
                 "kr-route-b-secret-c03d", 0);
  g_assert_true (
      clear (f->creds, f->route_a, MB_CREDENTIALS_KIND_PASSWORD, &error));
  assert_secret (f->creds, f->route_a, MB_CREDENTIALS_KIND_PASSWORD, NULL, 0);
  assert_secret (f->creds, f->route_b, MB_CREDENTIALS_KIND_PASSWORD,
                 "kr-route-b-secret-c03d", 0);
}

/* The expiry is read alone, listed across routes, and check_expiry
 * reports only what expires within 14 days. */
static void
test_expiry (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GAsyncResult) result = NULL;
  g_autoptr (GPtrArray) all = NULL;
  g_autoptr (GPtrArray) due = NULL;
  Wait         wait = { NULL };
  const gint64 now = 1800000000;
  gint64       expires_at = -1;
  guint        ours = 0;

  if (!have_private_keyring ())
    return;
  g_assert_true (store (f->creds, f->route_a, MB_CREDENTIALS_KIND_CLIENT_SECRET,
                        "kr-expiring-soon-5e61a2", now + 10 * DAY, &error));
  g_assert_true (store (f->creds, f->route_b, MB_CREDENTIALS_KIND_CLIENT_SECRET,
                        "kr-expiring-later-8f03b7", now + 30 * DAY, &error));
  g_assert_true (store (f->creds, f->route_b, MB_CREDENTIALS_KIND_PASSWORD,
                        "kr-never-expires-2c9d41", 0, &error));
  g_assert_no_error (error);

  mb_credentials_lookup_expiry_async (f->creds, f->route_b,
                                      MB_CREDENTIALS_KIND_CLIENT_SECRET, NULL,
                                      wait_cb, &wait);
  result = wait_for (&wait);
  g_assert_true (mb_credentials_lookup_expiry_finish (f->creds, result,
                                                      &expires_at, &error));
  g_assert_cmpint (expires_at, ==, now + 30 * DAY);
  g_clear_object (&result);

  mb_credentials_list_expiries_async (f->creds, NULL, wait_cb, &wait);
  result = wait_for (&wait);
  all = mb_credentials_list_expiries_finish (f->creds, result, &error);
  g_assert_no_error (error);
  g_clear_object (&result);
  /* Other tests' routes are cleared, but count only ours anyway. */
  for (guint i = 0; i < all->len; i++)
    {
      MbCredentialsExpiry *e = g_ptr_array_index (all, i);

      if (g_str_equal (e->route, f->route_a))
        {
          g_assert_cmpstr (e->kind, ==, MB_CREDENTIALS_KIND_CLIENT_SECRET);
          g_assert_cmpint (e->expires_at, ==, now + 10 * DAY);
          ours++;
        }
      else if (g_str_equal (e->route, f->route_b))
        {
          g_assert_cmpstr (e->kind, ==, MB_CREDENTIALS_KIND_CLIENT_SECRET);
          g_assert_cmpint (e->expires_at, ==, now + 30 * DAY);
          ours++;
        }
    }
  g_assert_cmpuint (ours, ==, 2);

  mb_credentials_check_expiry_async (f->creds, now, NULL, wait_cb, &wait);
  result = wait_for (&wait);
  due = mb_credentials_check_expiry_finish (f->creds, result, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (due->len, ==, 1);
  g_assert_cmpstr (((MbCredentialsExpiry *)due->pdata[0])->route, ==,
                   f->route_a);
}

/* Writes queued back to back on one key run in call order: the last
 * store wins and leaves a single item, even with different expiries. */
static void
test_serialized_writes (Fixture *f, gconstpointer data)
{
  static const char *const secrets[] = {
    "kr-burst-one-0a1b2c",
    "kr-burst-two-3d4e5f",
    "kr-burst-three-6a7b8c",
  };
  Wait   waits[G_N_ELEMENTS (secrets) + 1] = { { NULL } };
  GList *items;

  if (!have_private_keyring ())
    return;
  for (guint i = 0; i < G_N_ELEMENTS (secrets); i++)
    {
      test_record_secret (secrets[i]);
      mb_credentials_store_async (f->creds, f->route_a,
                                  MB_CREDENTIALS_KIND_ACCESS_TOKEN, secrets[i],
                                  1900000000 + i, NULL, wait_cb, &waits[i]);
    }
  mb_credentials_clear_async (f->creds, f->route_b,
                              MB_CREDENTIALS_KIND_ACCESS_TOKEN, NULL, wait_cb,
                              &waits[G_N_ELEMENTS (secrets)]);
  for (guint i = 0; i < G_N_ELEMENTS (waits); i++)
    {
      g_autoptr (GAsyncResult) result = wait_for (&waits[i]);
      g_autoptr (GError) error = NULL;

      if (i < G_N_ELEMENTS (secrets))
        g_assert_true (mb_credentials_store_finish (f->creds, result, &error));
      else
        g_assert_true (mb_credentials_clear_finish (f->creds, result, &error));
      g_assert_no_error (error);
    }
  assert_secret (f->creds, f->route_a, MB_CREDENTIALS_KIND_ACCESS_TOKEN,
                 "kr-burst-three-6a7b8c", 1900000002);
  items = search_items (f->route_a, MB_CREDENTIALS_KIND_ACCESS_TOKEN);
  g_assert_cmpuint (g_list_length (items), ==, 1);
  g_list_free_full (items, g_object_unref);
}

/* An item written by another tool without "expires" (or a stale
 * duplicate) is replaced by the next store, not kept beside it. */
static void
test_foreign_item_replaced (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GAsyncResult) result = NULL;
  g_autoptr (GHashTable) attributes
      = g_hash_table_new (g_str_hash, g_str_equal);
  Wait   wait = { NULL };
  GList *items;

  if (!have_private_keyring ())
    return;
  g_hash_table_insert (attributes, "route", f->route_a);
  g_hash_table_insert (attributes, "kind", MB_CREDENTIALS_KIND_PASSWORD);
  test_record_secret ("kr-foreign-item-91fe22");
  secret_password_storev (mb_credentials_keyring_get_schema (), attributes,
                          SECRET_COLLECTION_DEFAULT, "written elsewhere",
                          "kr-foreign-item-91fe22", NULL, wait_cb, &wait);
  result = wait_for (&wait);
  g_assert_true (secret_password_store_finish (result, &error));
  g_assert_no_error (error);
  assert_secret (f->creds, f->route_a, MB_CREDENTIALS_KIND_PASSWORD,
                 "kr-foreign-item-91fe22", 0);

  g_assert_true (store (f->creds, f->route_a, MB_CREDENTIALS_KIND_PASSWORD,
                        "kr-ours-now-7d3c55", 0, &error));
  assert_secret (f->creds, f->route_a, MB_CREDENTIALS_KIND_PASSWORD,
                 "kr-ours-now-7d3c55", 0);
  items = search_items (f->route_a, MB_CREDENTIALS_KIND_PASSWORD);
  g_assert_cmpuint (g_list_length (items), ==, 1);
  g_list_free_full (items, g_object_unref);
}

/* A bad route name or kind fails through the callback (still not inside
 * the call) with INVALID, and nothing reaches the keyring. */
static void
test_invalid (Fixture *f, gconstpointer data)
{
  static const struct
  {
    const char *route;
    const char *kind;
  } cases[] = {
    { "", MB_CREDENTIALS_KIND_PASSWORD },
    { "bad]route", MB_CREDENTIALS_KIND_PASSWORD },
    { "line\nbreak", MB_CREDENTIALS_KIND_PASSWORD },
    { "office365", "pasword" },
  };

  if (!have_private_keyring ())
    return;
  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr (GError) error = NULL;

      g_assert_false (store (f->creds, cases[i].route, cases[i].kind,
                             "kr-never-stored-6b0f", 0, &error));
      g_assert_error (error, MB_CREDENTIALS_ERROR,
                      MB_CREDENTIALS_ERROR_INVALID);
    }
}

int
main (int argc, char *argv[])
{
  static const struct
  {
    const char *path;
    void (*func) (Fixture *, gconstpointer);
  } tests[] = {
    { "/relay/credentials/keyring/store-lookup", test_store_lookup },
    { "/relay/credentials/keyring/overwrite", test_overwrite },
    { "/relay/credentials/keyring/caller-strings-released",
      test_caller_strings_released },
    { "/relay/credentials/keyring/clear", test_clear },
    { "/relay/credentials/keyring/routes-apart", test_routes_apart },
    { "/relay/credentials/keyring/expiry", test_expiry },
    { "/relay/credentials/keyring/serialized-writes", test_serialized_writes },
    { "/relay/credentials/keyring/foreign-item-replaced",
      test_foreign_item_replaced },
    { "/relay/credentials/keyring/invalid", test_invalid },
  };

  g_test_init (&argc, &argv, NULL);
  for (gsize i = 0; i < G_N_ELEMENTS (tests); i++)
    g_test_add (tests[i].path, Fixture, NULL, fixture_set_up, tests[i].func,
                fixture_tear_down);
  return g_test_run ();
}
