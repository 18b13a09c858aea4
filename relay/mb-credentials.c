/* mb-credentials.c - the routes' secrets, behind one asynchronous API
 *
 * WHAT IT DOES
 *   MbCredentials is the abstract base of the secret stores (keyring and
 *   secrets file).  Its public calls check their arguments and hand them to
 *   the backend's vfuncs; on top of the backends it answers which secrets
 *   expire soon (check_expiry) and formats the warning for the log.
 *   mb_credentials_new_for_config() picks the backend from [relay] secrets.
 *
 * GUARANTEES
 *   - A backend never sees an invalid route or kind: the call fails with
 *     MB_CREDENTIALS_ERROR_INVALID before it starts.
 *   - Callbacks run on the caller's thread-default main context, never
 *     from inside the _async call (GTask defers them to an idle).
 *   - Log text built here names routes, kinds and dates, never a secret.
 *
 * WHAT IT DOES NOT DO
 *   Store anything itself, cache secrets, or decide what a route does when
 *   a secret is missing or expired (the connection pool and the route do).
 */
#define G_LOG_DOMAIN "mb-credentials"

#include "mb-credentials.h"

#include "mb-credentials-file.h"
#include "mb-credentials-keyring.h"

#include <stdio.h>
#include <string.h>

#define SECONDS_PER_DAY (24 * 60 * 60)

G_DEFINE_ABSTRACT_TYPE (MbCredentials, mb_credentials, G_TYPE_OBJECT)

static const char *const known_kinds[] = {
  MB_CREDENTIALS_KIND_PASSWORD,      MB_CREDENTIALS_KIND_CLIENT_SECRET,
  MB_CREDENTIALS_KIND_REFRESH_TOKEN, MB_CREDENTIALS_KIND_CLIENT_KEY_PASSPHRASE,
  MB_CREDENTIALS_KIND_ACCESS_TOKEN,  NULL,
};

GQuark
mb_credentials_error_quark (void)
{
  return g_quark_from_static_string ("mb-credentials-error-quark");
}

/* Expiry records */

MbCredentialsExpiry *
mb_credentials_expiry_new (const char *route,
                           const char *kind,
                           gint64      expires_at)
{
  MbCredentialsExpiry *expiry = g_new0 (MbCredentialsExpiry, 1);

  expiry->route = g_strdup (route);
  expiry->kind = g_strdup (kind);
  expiry->expires_at = expires_at;
  return expiry;
}

void
mb_credentials_expiry_free (MbCredentialsExpiry *expiry)
{
  if (expiry == NULL)
    return;
  g_free (expiry->route);
  g_free (expiry->kind);
  g_free (expiry);
}

gboolean
mb_credentials_expiry_is_due (gint64 expires_at, gint64 now)
{
  if (expires_at <= 0)
    return FALSE;
  return expires_at - now
         <= (gint64)MB_CREDENTIALS_EXPIRY_WARNING_DAYS * SECONDS_PER_DAY;
}

/* What the admin does about it, per kind: the client secret is the one
 * Entra ID expires on a date the admin chose; the others expire when the
 * admin (or the tenant's policy) says so. */
static const char *
expiry_action (const char *kind)
{
  if (g_strcmp0 (kind, MB_CREDENTIALS_KIND_CLIENT_SECRET) == 0)
    return "create a new client secret for the app registration in "
           "Microsoft Entra ID and store it for this route";
  if (g_strcmp0 (kind, MB_CREDENTIALS_KIND_REFRESH_TOKEN) == 0
      || g_strcmp0 (kind, MB_CREDENTIALS_KIND_ACCESS_TOKEN) == 0)
    return "sign in again for this route (mailbridgectl signin ROUTE)";
  return "store a new secret for this route before the old one stops "
         "working";
}

char *
mb_credentials_expiry_describe (const MbCredentialsExpiry *expiry, gint64 now)
{
  g_autoptr (GDateTime) when = NULL;
  g_autofree char *date = NULL;
  gint64           left;

  g_return_val_if_fail (expiry != NULL, NULL);

  when = g_date_time_new_from_unix_utc (expiry->expires_at);
  date = when != NULL
             ? g_date_time_format_iso8601 (when)
             : g_strdup_printf ("%" G_GINT64_FORMAT, expiry->expires_at);
  /* Whole days, rounded down; a secret that expired shows how long ago. */
  left = expiry->expires_at - now;
  if (left < 0)
    return g_strdup_printf (
        "route=%s kind=%s expires=%s expired_days_ago=%" G_GINT64_FORMAT
        " action=\"%s\"",
        expiry->route, expiry->kind, date, (-left) / SECONDS_PER_DAY,
        expiry_action (expiry->kind));
  return g_strdup_printf (
      "route=%s kind=%s expires=%s days_left=%" G_GINT64_FORMAT
      " action=\"%s\"",
      expiry->route, expiry->kind, date, left / SECONDS_PER_DAY,
      expiry_action (expiry->kind));
}

void
mb_credentials_log_expiry (const MbCredentialsExpiry *expiry, gint64 now)
{
  g_autofree char *text = mb_credentials_expiry_describe (expiry, now);

  g_log_structured (G_LOG_DOMAIN, G_LOG_LEVEL_WARNING, "MB_ROUTE",
                    expiry->route, "MESSAGE", "%s", text);
}

static int
compare_expiry (gconstpointer a, gconstpointer b)
{
  const MbCredentialsExpiry *x = *(MbCredentialsExpiry *const *)a;
  const MbCredentialsExpiry *y = *(MbCredentialsExpiry *const *)b;
  int                        order;

  if (x->expires_at != y->expires_at)
    return x->expires_at < y->expires_at ? -1 : 1;
  order = g_strcmp0 (x->route, y->route);
  return order != 0 ? order : g_strcmp0 (x->kind, y->kind);
}

/* Names */

gboolean
mb_credentials_parse_expiry (const char *text, gint64 *expires_at)
{
  g_autoptr (GTimeZone) utc = g_time_zone_new_utc ();
  g_autoptr (GDateTime) when = NULL;
  unsigned year, month, day;
  char     tail;

  g_return_val_if_fail (text != NULL, FALSE);
  g_return_val_if_fail (expires_at != NULL, FALSE);

  if (strlen (text) == 10
      && sscanf (text, "%4u-%2u-%2u%c", &year, &month, &day, &tail) == 3)
    {
      if (!g_date_valid_dmy (day, month, year))
        return FALSE;
      when = g_date_time_new (utc, year, month, day, 0, 0, 0);
    }
  else
    when = g_date_time_new_from_iso8601 (text, utc);
  if (when == NULL)
    return FALSE;
  *expires_at = g_date_time_to_unix (when);
  return TRUE;
}

const char *const *
mb_credentials_get_kinds (void)
{
  return known_kinds;
}

gboolean
mb_credentials_kind_is_valid (const char *kind)
{
  return kind != NULL && g_strv_contains (known_kinds, kind);
}

gboolean
mb_credentials_route_is_valid (const char *route)
{
  if (route == NULL || *route == '\0' || !g_utf8_validate (route, -1, NULL))
    return FALSE;
  for (const char *p = route; *p != '\0'; p++)
    if (g_ascii_iscntrl (*p) || *p == '[' || *p == ']')
      return FALSE;
  return TRUE;
}

/* Reports a bad route or kind through the callback, as a GTask tagged
 * with @tag; FALSE when the arguments are fine. */
static gboolean
report_invalid (MbCredentials      *self,
                const char         *route,
                const char         *kind,
                gpointer            tag,
                GAsyncReadyCallback callback,
                gpointer            user_data)
{
  if (!mb_credentials_route_is_valid (route))
    {
      g_task_report_new_error (
          self, callback, user_data, tag, MB_CREDENTIALS_ERROR,
          MB_CREDENTIALS_ERROR_INVALID, "invalid route name \"%s\"",
          route != NULL ? route : "");
      return TRUE;
    }
  if (kind != NULL && !mb_credentials_kind_is_valid (kind))
    {
      g_task_report_new_error (
          self, callback, user_data, tag, MB_CREDENTIALS_ERROR,
          MB_CREDENTIALS_ERROR_INVALID, "unknown kind of secret \"%s\"", kind);
      return TRUE;
    }
  return FALSE;
}

/* check_expiry */

static void
list_for_check_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) all = NULL;
  g_autoptr (GPtrArray) due = NULL;
  gint64 now = *(gint64 *)g_task_get_task_data (task);

  all = mb_credentials_list_expiries_finish (MB_CREDENTIALS (source), result,
                                             &error);
  if (all == NULL)
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  due = g_ptr_array_new_with_free_func (
      (GDestroyNotify)mb_credentials_expiry_free);
  for (guint i = 0; i < all->len; i++)
    {
      MbCredentialsExpiry *expiry = g_ptr_array_index (all, i);

      if (mb_credentials_expiry_is_due (expiry->expires_at, now))
        g_ptr_array_add (due,
                         mb_credentials_expiry_new (expiry->route, expiry->kind,
                                                    expiry->expires_at));
    }
  g_ptr_array_sort (due, compare_expiry);
  g_task_return_pointer (task, g_steal_pointer (&due),
                         (GDestroyNotify)g_ptr_array_unref);
}

/* Default _finish vfuncs, for backends that complete through a GTask whose
 * source is the backend: the secret (a wiped string) or the expiry list as
 * the task's pointer, a gint64 expiry as its task data, writes as a
 * boolean. */

static char *
task_lookup_finish (MbCredentials *self,
                    GAsyncResult  *result,
                    gint64        *expires_at,
                    GError       **error)
{
  char *secret;

  g_return_val_if_fail (g_task_is_valid (result, self), NULL);

  secret = g_task_propagate_pointer (G_TASK (result), error);
  if (secret != NULL && expires_at != NULL)
    *expires_at = *(gint64 *)g_task_get_task_data (G_TASK (result));
  return secret;
}

static gboolean
task_write_finish (MbCredentials *self, GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);

  return g_task_propagate_boolean (G_TASK (result), error);
}

static gboolean
task_lookup_expiry_finish (MbCredentials *self,
                           GAsyncResult  *result,
                           gint64        *expires_at,
                           GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);

  if (!g_task_propagate_boolean (G_TASK (result), error))
    return FALSE;
  if (expires_at != NULL)
    *expires_at = *(gint64 *)g_task_get_task_data (G_TASK (result));
  return TRUE;
}

static GPtrArray *
task_list_expiries_finish (MbCredentials *self,
                           GAsyncResult  *result,
                           GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}

/* Overrides */

static void
mb_credentials_class_init (MbCredentialsClass *klass)
{
  klass->lookup_finish = task_lookup_finish;
  klass->store_finish = task_write_finish;
  klass->clear_finish = task_write_finish;
  klass->lookup_expiry_finish = task_lookup_expiry_finish;
  klass->list_expiries_finish = task_list_expiries_finish;
}

static void
mb_credentials_init (MbCredentials *self)
{
}

/* Public API */

MbCredentials *
mb_credentials_new_for_config (const MbRelayConfig *config, GError **error)
{
  g_return_val_if_fail (config != NULL, NULL);

  if (config->secrets != NULL)
    return MB_CREDENTIALS (mb_credentials_file_new (config->secrets, error));
  return MB_CREDENTIALS (mb_credentials_keyring_new ());
}

void
mb_credentials_lookup_async (MbCredentials      *self,
                             const char         *route,
                             const char         *kind,
                             GCancellable       *cancellable,
                             GAsyncReadyCallback callback,
                             gpointer            user_data)
{
  g_return_if_fail (MB_IS_CREDENTIALS (self));
  g_return_if_fail (kind != NULL);

  if (report_invalid (self, route, kind, mb_credentials_lookup_async, callback,
                      user_data))
    return;
  MB_CREDENTIALS_GET_CLASS (self)->lookup_async (self, route, kind, cancellable,
                                                 callback, user_data);
}

char *
mb_credentials_lookup_finish (MbCredentials *self,
                              GAsyncResult  *result,
                              gint64        *expires_at,
                              GError       **error)
{
  g_return_val_if_fail (MB_IS_CREDENTIALS (self), NULL);

  if (expires_at != NULL)
    *expires_at = 0;
  if (g_async_result_is_tagged (result, mb_credentials_lookup_async))
    return g_task_propagate_pointer (G_TASK (result), error);
  return MB_CREDENTIALS_GET_CLASS (self)->lookup_finish (self, result,
                                                         expires_at, error);
}

void
mb_credentials_store_async (MbCredentials      *self,
                            const char         *route,
                            const char         *kind,
                            const char         *secret,
                            gint64              expires_at,
                            GCancellable       *cancellable,
                            GAsyncReadyCallback callback,
                            gpointer            user_data)
{
  g_return_if_fail (MB_IS_CREDENTIALS (self));
  g_return_if_fail (kind != NULL);
  g_return_if_fail (secret != NULL);
  g_return_if_fail (expires_at >= 0);

  if (report_invalid (self, route, kind, mb_credentials_store_async, callback,
                      user_data))
    return;
  MB_CREDENTIALS_GET_CLASS (self)->store_async (
      self, route, kind, secret, expires_at, cancellable, callback, user_data);
}

gboolean
mb_credentials_store_finish (MbCredentials *self,
                             GAsyncResult  *result,
                             GError       **error)
{
  g_return_val_if_fail (MB_IS_CREDENTIALS (self), FALSE);

  if (g_async_result_is_tagged (result, mb_credentials_store_async))
    return g_task_propagate_boolean (G_TASK (result), error);
  return MB_CREDENTIALS_GET_CLASS (self)->store_finish (self, result, error);
}

void
mb_credentials_clear_async (MbCredentials      *self,
                            const char         *route,
                            const char         *kind,
                            GCancellable       *cancellable,
                            GAsyncReadyCallback callback,
                            gpointer            user_data)
{
  g_return_if_fail (MB_IS_CREDENTIALS (self));
  g_return_if_fail (kind != NULL);

  if (report_invalid (self, route, kind, mb_credentials_clear_async, callback,
                      user_data))
    return;
  MB_CREDENTIALS_GET_CLASS (self)->clear_async (self, route, kind, cancellable,
                                                callback, user_data);
}

gboolean
mb_credentials_clear_finish (MbCredentials *self,
                             GAsyncResult  *result,
                             GError       **error)
{
  g_return_val_if_fail (MB_IS_CREDENTIALS (self), FALSE);

  if (g_async_result_is_tagged (result, mb_credentials_clear_async))
    return g_task_propagate_boolean (G_TASK (result), error);
  return MB_CREDENTIALS_GET_CLASS (self)->clear_finish (self, result, error);
}

void
mb_credentials_lookup_expiry_async (MbCredentials      *self,
                                    const char         *route,
                                    const char         *kind,
                                    GCancellable       *cancellable,
                                    GAsyncReadyCallback callback,
                                    gpointer            user_data)
{
  g_return_if_fail (MB_IS_CREDENTIALS (self));
  g_return_if_fail (kind != NULL);

  if (report_invalid (self, route, kind, mb_credentials_lookup_expiry_async,
                      callback, user_data))
    return;
  MB_CREDENTIALS_GET_CLASS (self)->lookup_expiry_async (
      self, route, kind, cancellable, callback, user_data);
}

gboolean
mb_credentials_lookup_expiry_finish (MbCredentials *self,
                                     GAsyncResult  *result,
                                     gint64        *expires_at,
                                     GError       **error)
{
  g_return_val_if_fail (MB_IS_CREDENTIALS (self), FALSE);

  if (expires_at != NULL)
    *expires_at = 0;
  if (g_async_result_is_tagged (result, mb_credentials_lookup_expiry_async))
    return g_task_propagate_boolean (G_TASK (result), error);
  return MB_CREDENTIALS_GET_CLASS (self)->lookup_expiry_finish (
      self, result, expires_at, error);
}

void
mb_credentials_list_expiries_async (MbCredentials      *self,
                                    GCancellable       *cancellable,
                                    GAsyncReadyCallback callback,
                                    gpointer            user_data)
{
  g_return_if_fail (MB_IS_CREDENTIALS (self));

  MB_CREDENTIALS_GET_CLASS (self)->list_expiries_async (self, cancellable,
                                                        callback, user_data);
}

GPtrArray *
mb_credentials_list_expiries_finish (MbCredentials *self,
                                     GAsyncResult  *result,
                                     GError       **error)
{
  GPtrArray *all;

  g_return_val_if_fail (MB_IS_CREDENTIALS (self), NULL);

  all = MB_CREDENTIALS_GET_CLASS (self)->list_expiries_finish (self, result,
                                                               error);
  if (all != NULL)
    g_ptr_array_sort (all, compare_expiry);
  return all;
}

void
mb_credentials_check_expiry_async (MbCredentials      *self,
                                   gint64              now,
                                   GCancellable       *cancellable,
                                   GAsyncReadyCallback callback,
                                   gpointer            user_data)
{
  g_autoptr (GTask) task = NULL;
  gint64 *when;

  g_return_if_fail (MB_IS_CREDENTIALS (self));

  when = g_new (gint64, 1);
  *when = now != 0 ? now : g_get_real_time () / G_USEC_PER_SEC;
  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, mb_credentials_check_expiry_async);
  g_task_set_task_data (task, when, g_free);
  mb_credentials_list_expiries_async (self, cancellable, list_for_check_cb,
                                      g_steal_pointer (&task));
}

GPtrArray *
mb_credentials_check_expiry_finish (MbCredentials *self,
                                    GAsyncResult  *result,
                                    GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}
