/* mb-oauth-grants.c - the grants without a user: refresh, app-only
 *
 * Contract:
 *  - Refresh (RFC 6749 6): grant_type=refresh_token with the delegated
 *    scope at the token endpoint.  The result carries the new refresh
 *    token Entra sent (it rotates them, M365-FACTS.md 2.3), or the old one
 *    when none came back.  A refused refresh token is NEEDS_SIGNIN with
 *    Entra's reason (mb-oauth-errors.c).
 *  - Client credentials (RFC 6749 4.4, M365-FACTS.md 2.2): scope
 *    https://outlook.office365.com/.default, authenticated with the client
 *    secret, or with a JWT client assertion (RFC 7523 2.2) built from the
 *    certificate and key files in a worker thread (reading files and
 *    signing never run on the main loop).  A certificate wins over a
 *    secret.  App tokens have no refresh token.
 *  - Secrets (refresh tokens, client secrets, assertions) are wiped when
 *    freed and never logged.
 *
 * Not here: HTTP and TLS (mb-oauth.c), caching tokens
 * (mb-oauth-token-source.c), building the assertion (mb-oauth-jwt.c).
 */
#define G_LOG_DOMAIN "mb-oauth"

#include "mb-oauth-private.h"

#include "mb-smtp-reply.h"

typedef struct
{
  MbOAuthAppCredential *credential; /* (owned) */
  char                 *client_id;  /* (owned) */
  char                 *audience;   /* (owned) */
} AssertionData;

static void
assertion_data_free (AssertionData *data)
{
  mb_oauth_app_credential_free (data->credential);
  g_free (data->client_id);
  g_free (data->audience);
  g_free (data);
}

/* Refresh */

static void
refresh_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  const char   *old_refresh_token = g_task_get_task_data (task);
  MbOAuthToken *token;
  GError       *error = NULL;

  token = mb_oauth_client_request_token_finish (MB_OAUTH_CLIENT (source),
                                                result, &error);
  if (token == NULL)
    {
      g_task_return_error (task, error);
      return;
    }
  /* RFC 6749 6: the server may keep the old refresh token. */
  if (token->refresh_token == NULL)
    token->refresh_token = g_strdup (old_refresh_token);
  g_task_return_pointer (task, token, (GDestroyNotify)mb_oauth_token_free);
}

/* Client credentials */

static void
app_token_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  MbOAuthToken *token;
  GError       *error = NULL;

  token = mb_oauth_client_request_token_finish (MB_OAUTH_CLIENT (source),
                                                result, &error);
  if (token == NULL)
    g_task_return_error (task, error);
  else
    g_task_return_pointer (task, token, (GDestroyNotify)mb_oauth_token_free);
}

static void
app_post (GTask *task_in, const char *assertion)
{
  g_autoptr (GTask) task = task_in;
  MbOAuthClient              *self = g_task_get_source_object (task);
  const MbOAuthAppCredential *credential = g_task_get_task_data (task);
  GString                    *form = mb_oauth_form_new (self);
  GCancellable               *cancellable = g_task_get_cancellable (task);

  mb_oauth_form_add (form, "scope", MB_OAUTH_SCOPE_APP);
  mb_oauth_form_add (form, "grant_type", "client_credentials");
  if (assertion != NULL)
    {
      mb_oauth_form_add (form, "client_assertion_type",
                         "urn:ietf:params:oauth:client-assertion-type:"
                         "jwt-bearer");
      mb_oauth_form_add (form, "client_assertion", assertion);
    }
  else
    {
      mb_oauth_form_add (form, "client_secret", credential->client_secret);
    }
  mb_oauth_client_request_token_async (self, form, MB_OAUTH_CONTEXT_APP,
                                       cancellable, app_token_cb,
                                       g_steal_pointer (&task));
}

static void
assertion_thread (GTask        *task,
                  gpointer      source_object,
                  gpointer      task_data,
                  GCancellable *cancellable)
{
  AssertionData *data = task_data;
  GError        *error = NULL;
  char          *assertion;

  assertion = mb_oauth_build_client_assertion (
      data->credential, data->client_id, data->audience,
      g_get_real_time () / G_USEC_PER_SEC, &error);
  if (assertion == NULL)
    g_task_return_error (task, error);
  else
    g_task_return_pointer (task, assertion,
                           (GDestroyNotify)mb_smtp_secret_free);
}

static void
assertion_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  GError *error = NULL;
  char   *assertion;

  assertion = g_task_propagate_pointer (G_TASK (result), &error);
  if (assertion == NULL)
    {
      g_task_return_error (task, error);
      return;
    }
  app_post (g_steal_pointer (&task), assertion);
  mb_smtp_secret_free (assertion);
}

/* Public API */

void
mb_oauth_client_refresh_async (MbOAuthClient      *self,
                               const char         *refresh_token,
                               const char         *scope,
                               GCancellable       *cancellable,
                               GAsyncReadyCallback callback,
                               gpointer            user_data)
{
  g_autoptr (GTask) task = NULL;
  GString *form;

  g_return_if_fail (MB_IS_OAUTH_CLIENT (self));
  g_return_if_fail (refresh_token != NULL);

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, mb_oauth_client_refresh_async);
  g_task_set_task_data (task, g_strdup (refresh_token),
                        (GDestroyNotify)mb_smtp_secret_free);
  form = mb_oauth_form_new (self);
  mb_oauth_form_add (form, "grant_type", "refresh_token");
  mb_oauth_form_add (form, "refresh_token", refresh_token);
  mb_oauth_form_add (form, "scope",
                     scope != NULL ? scope : MB_OAUTH_SCOPE_DELEGATED);
  mb_oauth_client_request_token_async (self, form, MB_OAUTH_CONTEXT_REFRESH,
                                       cancellable, refresh_cb,
                                       g_steal_pointer (&task));
}

MbOAuthToken *
mb_oauth_client_refresh_finish (MbOAuthClient *self,
                                GAsyncResult  *result,
                                GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}

void
mb_oauth_client_request_app_token_async (MbOAuthClient              *self,
                                         const MbOAuthAppCredential *credential,
                                         GCancellable       *cancellable,
                                         GAsyncReadyCallback callback,
                                         gpointer            user_data)
{
  g_autoptr (GTask) task = NULL;
  g_autoptr (GTask) thread_task = NULL;
  AssertionData *data;

  g_return_if_fail (MB_IS_OAUTH_CLIENT (self));
  g_return_if_fail (credential != NULL);

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, mb_oauth_client_request_app_token_async);
  g_task_set_task_data (task, mb_oauth_app_credential_copy (credential),
                        (GDestroyNotify)mb_oauth_app_credential_free);

  if (credential->certificate_file == NULL)
    {
      if (credential->client_secret == NULL)
        {
          g_task_return_new_error (
              task, MB_OAUTH_ERROR, MB_OAUTH_ERROR_CONFIG,
              "App-only sign-in needs a client secret or a certificate");
          return;
        }
      app_post (g_steal_pointer (&task), NULL);
      return;
    }

  data = g_new0 (AssertionData, 1);
  data->credential = mb_oauth_app_credential_copy (credential);
  data->client_id = g_strdup (self->client_id);
  data->audience = g_strdup (self->token_endpoint);
  thread_task
      = g_task_new (self, cancellable, assertion_cb, g_steal_pointer (&task));
  g_task_set_source_tag (thread_task, assertion_thread);
  g_task_set_task_data (thread_task, data, (GDestroyNotify)assertion_data_free);
  g_task_run_in_thread (thread_task, assertion_thread);
}

MbOAuthToken *
mb_oauth_client_request_app_token_finish (MbOAuthClient *self,
                                          GAsyncResult  *result,
                                          GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}
