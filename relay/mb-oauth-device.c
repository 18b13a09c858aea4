/* mb-oauth-device.c - the device code sign-in (RFC 8628)
 *
 * Contract:
 *  - Asks {authority}/{tenant}/oauth2/v2.0/devicecode for a code with the
 *    delegated scope, hands user_code, verification_uri, expires_in,
 *    interval and Microsoft's message to the caller's prompt once, then
 *    polls the token endpoint (grant urn:ietf:params:oauth:grant-type:
 *    device_code) never faster than the interval Entra gave (default 5 s,
 *    RFC 8628 3.2): authorization_pending (or AADSTS70016) polls again,
 *    slow_down adds the slow-down step (5 s) to the interval for this and
 *    every later poll (RFC 8628 3.5).
 *  - Ends with a token, or DECLINED (authorization_declined), EXPIRED
 *    (expired_token, or the code's lifetime ran out on our clock: no poll
 *    is sent after it), BAD_CODE (bad_verification_code), or the error the
 *    answer maps to (mb-oauth-errors.c).  A network failure while polling
 *    does not end the sign-in the user may be in the middle of: the next
 *    poll waits twice as long (RFC 8628 3.5), until the code expires.
 *  - The device code is a secret: never logged.  The user code is shown to
 *    the user, but not logged either.
 *  - Cancelling stops the polling at once (the wait is a timeout source
 *    with the cancellable as a child source).
 *
 * Not here: showing the prompt (the wizard, mailbridgectl signin), storing
 * the refresh token (the credentials layer).
 */
#define G_LOG_DOMAIN "mb-oauth"

#include "mb-oauth-private.h"

#include <string.h>

/* RFC 8628 3.2: the interval when the server names none. */
#define DEFAULT_INTERVAL_SECONDS 5
/* Entra's default lifetime (M365-FACTS.md 2.3) when the answer lacks one. */
#define DEFAULT_EXPIRES_IN 900
/* "Authorization is pending", whatever the error string says. */
#define AADSTS_PENDING 70016
/* A poll after a network failure waits at most this long. */
#define MAX_BACKOFF_MS (60 * 1000)

typedef struct
{
  char                   *scope;       /* (owned) */
  MbOAuthDevicePromptFunc prompt;      /* (nullable) */
  gpointer                prompt_data; /* (unowned) */
  char                   *device_code; /* (owned) secret */
  guint                   interval_ms;
  guint                   backoff_ms; /* extra wait after a network failure */
  gint64                  deadline;   /* monotonic, µs */
  GSource                *wait;       /* (owned) (nullable) */
  guint                   polls;
} DeviceData;

static void poll_token (GTask *task);

static void
device_data_free (DeviceData *data)
{
  if (data->wait != NULL)
    {
      g_source_destroy (data->wait);
      g_source_unref (data->wait);
    }
  g_free (data->scope);
  if (data->device_code != NULL)
    explicit_bzero (data->device_code, strlen (data->device_code));
  g_free (data->device_code);
  g_free (data);
}

static gint64
get_int_member (JsonObject *object, const char *name, gint64 fallback)
{
  JsonNode *node = json_object_get_member (object, name);

  if (node == NULL || !JSON_NODE_HOLDS_VALUE (node))
    return fallback;
  if (json_node_get_value_type (node) == G_TYPE_INT64)
    return json_node_get_int (node);
  if (json_node_get_value_type (node) == G_TYPE_STRING)
    return g_ascii_strtoll (json_node_get_string (node), NULL, 10);
  return fallback;
}

static const char *
get_string_member (JsonObject *object, const char *name)
{
  JsonNode *node = json_object_get_member (object, name);

  if (node == NULL || !JSON_NODE_HOLDS_VALUE (node)
      || json_node_get_value_type (node) != G_TYPE_STRING)
    return NULL;
  return json_node_get_string (node);
}

static gboolean
wait_done_cb (gpointer user_data)
{
  GTask      *task = user_data;
  DeviceData *data = g_task_get_task_data (task);

  g_clear_pointer (&data->wait, g_source_unref);
  if (g_task_return_error_if_cancelled (task))
    return G_SOURCE_REMOVE;
  poll_token (g_object_ref (task));
  return G_SOURCE_REMOVE;
}

static gboolean
cancelled_source_cb (GCancellable *cancellable, gpointer user_data)
{
  /* Dispatching the child dispatches the parent (wait_done_cb). */
  return G_SOURCE_CONTINUE;
}

/* Waits the interval (plus any backoff), then polls; EXPIRED when the next
 * poll would come after the code's end. */
static void
schedule_poll (GTask *task_in)
{
  g_autoptr (GTask) task = task_in;
  DeviceData   *data = g_task_get_task_data (task);
  GCancellable *cancellable = g_task_get_cancellable (task);
  guint         wait_ms = data->interval_ms + data->backoff_ms;

  if (g_get_monotonic_time () + (gint64)wait_ms * 1000 >= data->deadline)
    {
      g_debug ("grant=device_code result=expired polls=%u", data->polls);
      g_task_return_new_error (task, MB_OAUTH_ERROR, MB_OAUTH_ERROR_EXPIRED,
                               "The code expired before the sign-in was "
                               "completed: start again");
      return;
    }
  data->wait = g_timeout_source_new (wait_ms);
  if (cancellable != NULL)
    {
      g_autoptr (GSource) child = g_cancellable_source_new (cancellable);

      g_source_set_callback (child, G_SOURCE_FUNC (cancelled_source_cb), NULL,
                             NULL);
      g_source_add_child_source (data->wait, child);
    }
  g_source_set_callback (data->wait, wait_done_cb, g_steal_pointer (&task),
                         g_object_unref);
  g_source_attach (data->wait, g_main_context_get_thread_default ());
}

static void
poll_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  MbOAuthClient *self = MB_OAUTH_CLIENT (source);
  DeviceData    *data = g_task_get_task_data (task);
  g_autoptr (MbOAuthResponse) response = NULL;
  MbOAuthToken *token;
  GError       *error = NULL;
  const char   *oauth_error;

  response = mb_oauth_client_post_finish (self, result, &error);
  if (response == NULL)
    {
      if (g_error_matches (error, MB_OAUTH_ERROR, MB_OAUTH_ERROR_NETWORK))
        {
          g_debug ("grant=device_code result=network-error error=\"%s\"",
                   error->message);
          g_error_free (error);
          data->backoff_ms
              = MIN (MAX (data->backoff_ms * 2, MAX (data->interval_ms, 1000)),
                     MAX_BACKOFF_MS);
          schedule_poll (g_steal_pointer (&task));
          return;
        }
      g_task_return_error (task, error);
      return;
    }
  data->backoff_ms = 0;

  if (response->status == SOUP_STATUS_OK)
    {
      token = mb_oauth_token_from_response (response, &error);
      if (token == NULL)
        {
          g_task_return_error (task, error);
          return;
        }
      g_debug ("grant=device_code result=token polls=%u refresh-token=%s",
               data->polls, token->refresh_token != NULL ? "yes" : "no");
      g_task_return_pointer (task, token, (GDestroyNotify)mb_oauth_token_free);
      return;
    }

  oauth_error = mb_oauth_response_get_error (response);
  if (g_strcmp0 (oauth_error, "authorization_pending") == 0
      || mb_oauth_response_get_aadsts (response) == AADSTS_PENDING)
    {
      schedule_poll (g_steal_pointer (&task));
      return;
    }
  if (g_strcmp0 (oauth_error, "slow_down") == 0)
    {
      data->interval_ms += self->slow_down_step_ms;
      g_debug ("grant=device_code slow-down interval-ms=%u", data->interval_ms);
      schedule_poll (g_steal_pointer (&task));
      return;
    }
  if (response->status >= 500 || response->status == 429)
    {
      data->backoff_ms
          = MIN (MAX (data->backoff_ms * 2, MAX (data->interval_ms, 1000)),
                 MAX_BACKOFF_MS);
      schedule_poll (g_steal_pointer (&task));
      return;
    }
  error = mb_oauth_error_from_response (response, MB_OAUTH_CONTEXT_SIGNIN);
  g_debug ("grant=device_code result=failed error=\"%s\"", error->message);
  g_task_return_error (task, error);
}

static void
poll_token (GTask *task)
{
  MbOAuthClient *self = g_task_get_source_object (task);
  DeviceData    *data = g_task_get_task_data (task);
  GString       *form = mb_oauth_form_new (self);

  data->polls++;
  mb_oauth_form_add (form, "grant_type",
                     "urn:ietf:params:oauth:grant-type:device_code");
  mb_oauth_form_add (form, "device_code", data->device_code);
  mb_oauth_client_post_async (self, self->token_endpoint, form,
                              g_task_get_cancellable (task), poll_cb, task);
}

static void
device_code_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  MbOAuthClient *self = MB_OAUTH_CLIENT (source);
  DeviceData    *data = g_task_get_task_data (task);
  g_autoptr (MbOAuthResponse) response = NULL;
  MbOAuthDevicePrompt prompt = { 0 };
  GError             *error = NULL;
  const char         *device_code;
  gint64              interval;

  response = mb_oauth_client_post_finish (self, result, &error);
  if (response == NULL)
    {
      g_task_return_error (task, error);
      return;
    }
  if (response->status != SOUP_STATUS_OK)
    {
      g_task_return_error (task, mb_oauth_error_from_response (
                                     response, MB_OAUTH_CONTEXT_SIGNIN));
      return;
    }

  device_code = response->object != NULL
                    ? get_string_member (response->object, "device_code")
                    : NULL;
  prompt.user_code = device_code != NULL
                         ? get_string_member (response->object, "user_code")
                         : NULL;
  /* Entra's v1 endpoint spelt it verification_url. */
  prompt.verification_uri
      = device_code != NULL
            ? get_string_member (response->object, "verification_uri")
            : NULL;
  if (prompt.verification_uri == NULL && device_code != NULL)
    prompt.verification_uri
        = get_string_member (response->object, "verification_url");
  if (device_code == NULL || prompt.user_code == NULL
      || prompt.verification_uri == NULL)
    {
      g_task_return_new_error (task, MB_OAUTH_ERROR, MB_OAUTH_ERROR_PROTOCOL,
                               "The sign-in service answered the device "
                               "code request without a code");
      return;
    }

  prompt.expires_in
      = get_int_member (response->object, "expires_in", DEFAULT_EXPIRES_IN);
  interval
      = get_int_member (response->object, "interval", DEFAULT_INTERVAL_SECONDS);
  prompt.interval = (guint)CLAMP (interval, 0, 3600);
  prompt.message = get_string_member (response->object, "message");
  data->device_code = g_strdup (device_code);
  data->interval_ms = prompt.interval * 1000;
  data->deadline = g_get_monotonic_time ()
                   + CLAMP (prompt.expires_in, 0, 86400) * G_USEC_PER_SEC;
  g_debug ("grant=device_code code=" MB_OAUTH_REDACTED
           " expires-in=%" G_GINT64_FORMAT " interval=%u",
           prompt.expires_in, prompt.interval);

  if (data->prompt != NULL)
    data->prompt (&prompt, data->prompt_data);
  if (g_task_return_error_if_cancelled (task))
    return;
  schedule_poll (g_steal_pointer (&task));
}

/* Public API */

void
mb_oauth_client_sign_in_device_async (MbOAuthClient          *self,
                                      const char             *scope,
                                      MbOAuthDevicePromptFunc prompt,
                                      gpointer                prompt_data,
                                      GCancellable           *cancellable,
                                      GAsyncReadyCallback     callback,
                                      gpointer                user_data)
{
  g_autoptr (GTask) task = NULL;
  DeviceData *data;
  GString    *form;

  g_return_if_fail (MB_IS_OAUTH_CLIENT (self));
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, mb_oauth_client_sign_in_device_async);
  data = g_new0 (DeviceData, 1);
  data->scope = g_strdup (scope != NULL ? scope : MB_OAUTH_SCOPE_DELEGATED);
  data->prompt = prompt;
  data->prompt_data = prompt_data;
  g_task_set_task_data (task, data, (GDestroyNotify)device_data_free);

  form = mb_oauth_form_new (self);
  mb_oauth_form_add (form, "scope", data->scope);
  mb_oauth_client_post_async (self, self->device_endpoint, form, cancellable,
                              device_code_cb, g_steal_pointer (&task));
}

MbOAuthToken *
mb_oauth_client_sign_in_device_finish (MbOAuthClient *self,
                                       GAsyncResult  *result,
                                       GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}
