/* mb-route-signin.c - what one route signs in with
 *
 * WHAT IT DOES
 *   The MbRouteSignin object: holds a route's sign-in material (a
 *   password, an XOAUTH2 token source, a static access token, a TLS client
 *   certificate) while the relay runs, keeps the route's state in step
 *   with it, and hands the connection pool the sign-in part of every new
 *   connection: the AUTH mechanism (LOGIN for auth=basic, XOAUTH2 for the
 *   OAuth methods), the mailbox as user name, the password or a valid
 *   access token, and the client certificate.  Prepares that come while
 *   the secrets are read wait for that load.
 *
 * GUARANTEES
 *   - Nothing blocks the main loop: tokens come from the token source
 *     (HTTP in GIO/libsoup); loading is asynchronous
 *     (mb-route-signin-secrets.c).
 *   - A route that cannot sign in says why, once, in its state and one log
 *     line: NEEDS_SIGNIN for a missing or refused refresh token (Entra's
 *     reason in plain language, with the AADSTS code), PAUSED for anything
 *     the admin must fix otherwise.  Its messages stay queued: a prepare
 *     then fails with AUTH_UNAVAILABLE, not as a connection failure.  A
 *     reload that finds usable secrets lifts exactly what this module set
 *     (a pause only while its reason is still ours).
 *   - A token request that fails for a reason that may pass (network, TLS,
 *     protocol) is a connection-level error and leaves the state alone.
 *   - Disposing fails the waiting prepares and reloads with CANCELLED.
 *   - Secrets are wiped when dropped and never logged.
 *
 * WHAT IT DOES NOT DO
 *   Read the secrets or decide what the route signs in with
 *   (mb-route-signin-secrets.c), read the client certificate
 *   (mb-route-signin-cert.c), run a sign-in flow (mailbridgectl signin,
 *   the application), connect, or decide on retries (the connection
 *   pool).
 *
 * RFC 4954 (AUTH), RFC 6749 6 (refresh), M365-FACTS.md 2, 5.
 */
#define G_LOG_DOMAIN "mb-route-signin"

#include "mb-route-signin-private.h"

#include "mb-smtp-reply.h"

/* What a prepare hands the pool. */
typedef struct
{
  char *secret; /* (owned) (nullable) wiped */
} Material;

enum
{
  PROP_0,
  PROP_PROBLEM,
  N_PROPS
};

static GParamSpec *props[N_PROPS];

G_DEFINE_FINAL_TYPE (MbRouteSignin, mb_route_signin, G_TYPE_OBJECT)

/* Helpers */

static void
material_free (Material *material)
{
  mb_smtp_secret_free (material->secret);
  g_free (material);
}

/* @text for a key="value" log field: one line, quotes escaped. */
static char *
quote_for_log (const char *text)
{
  GString *out = g_string_new (NULL);

  for (const char *p = text; *p != '\0'; p++)
    {
      if (*p == '"' || *p == '\\')
        g_string_append_c (out, '\\');
      g_string_append_c (out, (*p == '\n' || *p == '\r') ? ' ' : *p);
    }
  return g_string_free (out, FALSE);
}

static void
set_problem_text (MbRouteSignin *self, const char *text)
{
  if (g_strcmp0 (self->problem, text) == 0)
    return;
  g_free (self->problem);
  self->problem = g_strdup (text);
  g_object_notify_by_pspec (G_OBJECT (self), props[PROP_PROBLEM]);
}

/* The route's state */

void
mb_route_signin_apply_problem (MbRouteSignin *self,
                               ProblemKind    kind,
                               const char    *text)
{
  g_autofree char *quoted = NULL;

  if (self->problem_kind == PROBLEM_PAUSE && kind != PROBLEM_PAUSE
      && self->pause_reason != NULL
      && g_strcmp0 (mb_route_get_pause_reason (self->route), self->pause_reason)
             == 0)
    mb_route_resume (self->route);
  if (kind != PROBLEM_PAUSE)
    g_clear_pointer (&self->pause_reason, g_free);
  if (self->problem_kind == PROBLEM_NEEDS_SIGNIN
      && kind != PROBLEM_NEEDS_SIGNIN)
    mb_route_set_needs_signin (self->route, FALSE);

  if (kind != PROBLEM_NONE && self->problem_kind == kind
      && g_strcmp0 (self->problem, text) == 0)
    return;
  self->problem_kind = kind;
  set_problem_text (self, kind == PROBLEM_NONE ? NULL : text);

  switch (kind)
    {
    case PROBLEM_NONE:
      break;
    case PROBLEM_NEEDS_SIGNIN:
      quoted = quote_for_log (text);
      g_log_structured (
          G_LOG_DOMAIN, G_LOG_LEVEL_MESSAGE, "MB_ROUTE", self->name, "MESSAGE",
          "route=%s state=needs-signin reason=\"%s\"", self->name, quoted);
      mb_route_set_needs_signin (self->route, TRUE);
      break;
    case PROBLEM_PAUSE:
      g_free (self->pause_reason);
      self->pause_reason = g_strdup (text);
      mb_route_pause (self->route, text);
      break;
    }
}

/* Preparing a connection */

static void
return_material (GTask *task, const char *secret)
{
  Material *material = g_new0 (Material, 1);

  material->secret = g_strdup (secret);
  g_task_return_pointer (task, material, (GDestroyNotify)material_free);
}

static void
return_unavailable (MbRouteSignin *self, GTask *task)
{
  g_task_return_new_error (
      task, MB_SMTP_CLIENT_ERROR, MB_SMTP_CLIENT_ERROR_AUTH_UNAVAILABLE,
      "Route %s cannot sign in: %s", self->name,
      self->problem != NULL ? self->problem : "no sign-in material");
}

/* An OAuth failure as the pool sees it: the route's state for what the
 * admin must fix, a connection-level error for what may pass. */
static GError *
map_token_error (MbRouteSignin *self, const GError *error)
{
  MbSmtpClientError code;

  if (error->domain == MB_OAUTH_ERROR)
    switch ((MbOAuthError)error->code)
      {
      case MB_OAUTH_ERROR_NEEDS_SIGNIN:
        /* Concurrent requests share one refusal: the route hears of it
         * once. */
        if (self->usable)
          {
            g_autofree char *text = g_strdup_printf (
                "Sign in again (mailbridgectl signin %s): %s", self->name,
                error->message);

            self->usable = FALSE;
            mb_route_record_local_failure (self->route, "mb.auth-token-expired",
                                           error->message);
            mb_route_signin_apply_problem (self, PROBLEM_NEEDS_SIGNIN, text);
          }
        {
          return g_error_new (
              MB_SMTP_CLIENT_ERROR, MB_SMTP_CLIENT_ERROR_AUTH_UNAVAILABLE,
              "Route %s needs sign-in: %s", self->name, error->message);
        }
      case MB_OAUTH_ERROR_INVALID_CLIENT:
      case MB_OAUTH_ERROR_BLOCKED:
      case MB_OAUTH_ERROR_CONFIG:
      case MB_OAUTH_ERROR_DECLINED:
      case MB_OAUTH_ERROR_EXPIRED:
      case MB_OAUTH_ERROR_BAD_CODE:
        {
          g_autofree char *text = g_strdup_printf (
              "Microsoft Entra ID gave route %s no token: %s", self->name,
              error->message);

          mb_route_signin_apply_problem (self, PROBLEM_PAUSE, text);
          self->usable = FALSE;
          return g_error_new (MB_SMTP_CLIENT_ERROR,
                              MB_SMTP_CLIENT_ERROR_AUTH_UNAVAILABLE, "%s",
                              text);
        }
      case MB_OAUTH_ERROR_TLS_UNTRUSTED:
        code = MB_SMTP_CLIENT_ERROR_TLS_UNTRUSTED;
        break;
      case MB_OAUTH_ERROR_TLS_FAILED:
        code = MB_SMTP_CLIENT_ERROR_TLS_FAILED;
        break;
      case MB_OAUTH_ERROR_PROTOCOL:
        code = MB_SMTP_CLIENT_ERROR_PROTOCOL;
        break;
      case MB_OAUTH_ERROR_NETWORK:
      default:
        code = MB_SMTP_CLIENT_ERROR_CONNECT;
        break;
      }
  else
    code = MB_SMTP_CLIENT_ERROR_CONNECT;
  return g_error_new (MB_SMTP_CLIENT_ERROR, code,
                      "The sign-in service %s could not give route %s a "
                      "token: %s",
                      self->authority != NULL ? self->authority
                                              : MB_OAUTH_DEFAULT_AUTHORITY,
                      self->name, error->message);
}

static void
token_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  MbRouteSignin *self = g_task_get_source_object (task);
  g_autoptr (GError) error = NULL;
  char *token;

  token = mb_oauth_get_access_token_finish (MB_OAUTH_TOKEN_SOURCE (source),
                                            result, &error);
  if (token == NULL)
    {
      if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        g_task_return_error (task, g_steal_pointer (&error));
      else
        g_task_return_error (task, map_token_error (self, error));
      return;
    }
  return_material (task, token);
  mb_smtp_secret_free (token);
}

static void
continue_prepare (MbRouteSignin *self, GTask *task)
{
  if (!self->usable)
    {
      return_unavailable (self, task);
      g_object_unref (task);
      return;
    }
  if (self->token_source != NULL)
    {
      mb_oauth_get_access_token_async (
          self->token_source, g_task_get_cancellable (task), token_cb, task);
      return;
    }
  return_material (task, self->secret);
  g_object_unref (task);
}

void
mb_route_signin_complete_waiters (MbRouteSignin *self)
{
  g_autoptr (GPtrArray) waiters = g_steal_pointer (&self->waiters);
  g_autoptr (GPtrArray) reloads = g_steal_pointer (&self->reload_waiters);

  self->waiters = g_ptr_array_new ();
  self->reload_waiters = g_ptr_array_new ();
  for (guint i = 0; i < waiters->len; i++)
    continue_prepare (self, waiters->pdata[i]);
  for (guint i = 0; i < reloads->len; i++)
    {
      GTask *task = reloads->pdata[i];

      g_task_return_boolean (task, TRUE);
      g_object_unref (task);
    }
}

/* Overrides */

static void
mb_route_signin_get_property (GObject    *object,
                              guint       prop_id,
                              GValue     *value,
                              GParamSpec *pspec)
{
  MbRouteSignin *self = MB_ROUTE_SIGNIN (object);

  switch (prop_id)
    {
    case PROP_PROBLEM:
      g_value_set_string (value, self->problem);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
fail_pending (GPtrArray *tasks)
{
  for (guint i = 0; tasks != NULL && i < tasks->len; i++)
    {
      GTask *task = tasks->pdata[i];

      g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_CANCELLED,
                               "The relay is stopping");
      g_object_unref (task);
    }
  if (tasks != NULL)
    g_ptr_array_set_size (tasks, 0);
}

static void
mb_route_signin_dispose (GObject *object)
{
  MbRouteSignin *self = MB_ROUTE_SIGNIN (object);

  g_cancellable_cancel (self->cancellable);
  fail_pending (self->waiters);
  fail_pending (self->reload_waiters);
  mb_route_signin_set_token_source (self, NULL);
  G_OBJECT_CLASS (mb_route_signin_parent_class)->dispose (object);
}

static void
mb_route_signin_finalize (GObject *object)
{
  MbRouteSignin *self = MB_ROUTE_SIGNIN (object);

  g_clear_object (&self->route);
  g_clear_object (&self->credentials);
  g_clear_object (&self->oauth);
  g_clear_object (&self->tls_certificate);
  g_clear_object (&self->cancellable);
  g_clear_pointer (&self->secret, mb_smtp_secret_free);
  g_clear_pointer (&self->waiters, g_ptr_array_unref);
  g_clear_pointer (&self->reload_waiters, g_ptr_array_unref);
  g_free (self->name);
  g_free (self->mailbox);
  g_free (self->client_certificate);
  g_free (self->client_key);
  g_free (self->authority);
  g_free (self->oauth_error);
  g_free (self->problem);
  g_free (self->pause_reason);
  G_OBJECT_CLASS (mb_route_signin_parent_class)->finalize (object);
}

static void
mb_route_signin_class_init (MbRouteSigninClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->get_property = mb_route_signin_get_property;
  object_class->dispose = mb_route_signin_dispose;
  object_class->finalize = mb_route_signin_finalize;

  props[PROP_PROBLEM] = g_param_spec_string (
      "problem", NULL, NULL, NULL,
      G_PARAM_READABLE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);
  g_object_class_install_properties (object_class, N_PROPS, props);
}

static void
mb_route_signin_init (MbRouteSignin *self)
{
  self->cancellable = g_cancellable_new ();
  self->waiters = g_ptr_array_new ();
  self->reload_waiters = g_ptr_array_new ();
}

/* Public API */

MbRouteSignin *
mb_route_signin_new (MbRoute             *route,
                     const MbRouteConfig *config,
                     MbCredentials       *credentials)
{
  MbRouteSignin *self;

  g_return_val_if_fail (MB_IS_ROUTE (route), NULL);
  g_return_val_if_fail (config != NULL, NULL);

  self = g_object_new (MB_TYPE_ROUTE_SIGNIN, NULL);
  self->route = g_object_ref (route);
  self->credentials = credentials != NULL ? g_object_ref (credentials) : NULL;
  self->name = g_strdup (config->name);
  self->auth = config->auth;
  self->mailbox = g_strdup (config->mailbox);
  self->client_certificate = g_strdup (config->client_certificate);
  self->client_key = g_strdup (config->client_key);
  self->authority = g_strdup (config->authority);
  if (mb_route_signin_is_oauth (config->auth))
    {
      g_autoptr (GError) error = NULL;

      self->oauth = mb_oauth_client_new_for_route (config, &error);
      if (self->oauth == NULL)
        self->oauth_error = g_strdup (error->message);
    }
  mb_route_signin_start_load (self);
  return self;
}

void
mb_route_signin_reload_async (MbRouteSignin      *self,
                              MbCredentials      *credentials,
                              GAsyncReadyCallback callback,
                              gpointer            user_data)
{
  GTask *task;

  g_return_if_fail (MB_IS_ROUTE_SIGNIN (self));

  task = g_task_new (self, NULL, callback, user_data);
  g_task_set_source_tag (task, mb_route_signin_reload_async);
  if (credentials != NULL)
    g_set_object (&self->credentials, credentials);
  g_ptr_array_add (self->reload_waiters, task);
  /* A load under way read the old secrets: it is superseded. */
  mb_route_signin_start_load (self);
}

gboolean
mb_route_signin_reload_finish (MbRouteSignin *self,
                               GAsyncResult  *result,
                               GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  return g_task_propagate_boolean (G_TASK (result), error);
}

void
mb_route_signin_prepare_async (MbRouteSignin      *self,
                               GCancellable       *cancellable,
                               GAsyncReadyCallback callback,
                               gpointer            user_data)
{
  GTask *task;

  g_return_if_fail (MB_IS_ROUTE_SIGNIN (self));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, mb_route_signin_prepare_async);
  if (self->loading)
    {
      g_ptr_array_add (self->waiters, task);
      return;
    }
  continue_prepare (self, task);
}

gboolean
mb_route_signin_prepare_finish (MbRouteSignin       *self,
                                GAsyncResult        *result,
                                MbSmtpClientOptions *options,
                                GError             **error)
{
  Material *material;

  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  g_return_val_if_fail (options != NULL, FALSE);

  material = g_task_propagate_pointer (G_TASK (result), error);
  if (material == NULL)
    return FALSE;

  switch (self->auth)
    {
    case MB_ROUTE_AUTH_BASIC:
      /* Exchange Online offers LOGIN and XOAUTH2, never PLAIN (M365-FACTS
       * 5). */
      options->auth = MB_SMTP_CLIENT_AUTH_LOGIN;
      break;
    case MB_ROUTE_AUTH_OAUTH_DEVICE:
    case MB_ROUTE_AUTH_OAUTH_BROWSER:
    case MB_ROUTE_AUTH_OAUTH_APP:
      options->auth = MB_SMTP_CLIENT_AUTH_XOAUTH2;
      break;
    case MB_ROUTE_AUTH_NONE:
    default:
      options->auth = MB_SMTP_CLIENT_AUTH_NONE;
      break;
    }
  g_free (options->username);
  options->username = options->auth != MB_SMTP_CLIENT_AUTH_NONE
                          ? g_strdup (self->mailbox)
                          : NULL;
  g_clear_pointer (&options->secret, mb_smtp_secret_free);
  options->secret = g_steal_pointer (&material->secret);
  g_set_object (&options->client_certificate, self->tls_certificate);
  material_free (material);
  return TRUE;
}

gboolean
mb_route_signin_can_renew (MbRouteSignin *self)
{
  g_return_val_if_fail (MB_IS_ROUTE_SIGNIN (self), FALSE);
  return self->token_source != NULL;
}

void
mb_route_signin_token_refused (MbRouteSignin *self)
{
  g_return_if_fail (MB_IS_ROUTE_SIGNIN (self));

  if (self->token_source != NULL)
    mb_oauth_token_source_invalidate (self->token_source);
}

const char *
mb_route_signin_get_problem (MbRouteSignin *self)
{
  g_return_val_if_fail (MB_IS_ROUTE_SIGNIN (self), NULL);
  return self->problem;
}
