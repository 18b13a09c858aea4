/* mb-oauth-token-source.c - one route's valid access token
 *
 * Contract:
 *  - mb_oauth_get_access_token_async() answers from the cached token while
 *    more than the refresh margin (5 minutes, plus up to a fifth more,
 *    chosen at random per token) remains; otherwise it renews: the
 *    refresh_token grant (delegated) or client credentials (app-only).
 *    Concurrent requests wait for the same renewal; each caller's
 *    cancellable ends its own wait only.
 *  - After a renewal that brought a new refresh token, "refresh-token-
 *    changed" is emitted before any waiter completes, so the credentials
 *    layer stores it first (Entra rotates refresh tokens, M365-FACTS.md
 *    2.3).  The old refresh token is wiped and forgotten.
 *  - A refused refresh token (NEEDS_SIGNIN) is forgotten and sets
 *    needs-signin: no further request reaches Entra until a new sign-in
 *    (mb_oauth_token_source_set_token()).  Other errors are returned to
 *    the waiters and the next request tries again.
 *  - Delegated sources refresh at least every keepalive interval (7 days)
 *    even when no mail flows, so the refresh token never reaches its
 *    90-day inactivity expiry.  The check runs at most hourly against the
 *    wall clock, so it catches up after a suspend.
 *  - Tokens are never logged.  Main context of creation only.
 *
 * Not here: HTTP (mb-oauth.c), storing secrets (the credentials layer),
 * the route's state (the delivery code sets mb_route_set_needs_signin()
 * from needs-signin).
 */
#define G_LOG_DOMAIN "mb-oauth"

#include "mb-oauth-private.h"

#include "mb-smtp-reply.h"

#include <string.h>

#define DEFAULT_REFRESH_MARGIN 300
#define DEFAULT_KEEPALIVE (7 * 24 * 3600)
#define MAX_KEEPALIVE_CHECK 3600

struct _MbOAuthTokenSource
{
  GObject parent_instance;

  MbOAuthClient        *client;        /* (owned) */
  MbOAuthAppCredential *credential;    /* (owned) (nullable) app-only */
  char                 *refresh_token; /* (owned) (nullable) secret */
  MbOAuthToken         *token;         /* (owned) (nullable) cached */
  gint64                renew_at;      /* Unix s: renew from then on */
  gint64                last_refresh;  /* Unix s of the last refresh, 0 */
  gboolean              needs_signin;
  guint                 refresh_margin;
  guint                 keepalive;
  GSource              *keepalive_source; /* (owned) (nullable) */

  gboolean      renewing;
  GPtrArray    *waiters;     /* (element-type Waiter) (owned) */
  GCancellable *cancellable; /* (owned) the renewal; cancelled in dispose */
};

/* One pending request. */
typedef struct
{
  GTask   *task;          /* (owned) */
  GSource *cancel_source; /* (owned) (nullable) */
} Waiter;

enum
{
  PROP_0,
  PROP_NEEDS_SIGNIN,
  N_PROPS
};

enum
{
  SIGNAL_REFRESH_TOKEN_CHANGED,
  N_SIGNALS
};

static GParamSpec *props[N_PROPS];
static guint       signals[N_SIGNALS];

G_DEFINE_FINAL_TYPE (MbOAuthTokenSource, mb_oauth_token_source, G_TYPE_OBJECT)

static void
drop_source (GSource **source)
{
  if (*source == NULL)
    return;
  g_source_destroy (*source);
  g_clear_pointer (source, g_source_unref);
}

static void
waiter_free (Waiter *waiter)
{
  drop_source (&waiter->cancel_source);
  g_clear_object (&waiter->task);
  g_free (waiter);
}

static gint64
now_seconds (void)
{
  return g_get_real_time () / G_USEC_PER_SEC;
}

static void
set_needs_signin (MbOAuthTokenSource *self, gboolean needs_signin)
{
  if (self->needs_signin == needs_signin)
    return;
  self->needs_signin = needs_signin;
  g_object_notify_by_pspec (G_OBJECT (self), props[PROP_NEEDS_SIGNIN]);
}

/* Stores @token (taken) as the cached one and picks when to renew it. */
static void
take_token (MbOAuthTokenSource *self, MbOAuthToken *token)
{
  guint jitter = g_random_int_range (0, self->refresh_margin / 5 + 1);

  g_clear_pointer (&self->token, mb_oauth_token_free);
  self->token = token;
  self->renew_at = token->expires_at - self->refresh_margin - jitter;
}

/* Completes every waiter, with a copy of the access token or @error. */
static void
complete_waiters (MbOAuthTokenSource *self, const GError *error)
{
  g_autoptr (GPtrArray) waiters = g_steal_pointer (&self->waiters);

  self->waiters = g_ptr_array_new_with_free_func ((GDestroyNotify)waiter_free);
  for (guint i = 0; i < waiters->len; i++)
    {
      Waiter *waiter = waiters->pdata[i];

      drop_source (&waiter->cancel_source);
      if (g_task_return_error_if_cancelled (waiter->task))
        continue;
      if (error != NULL)
        g_task_return_error (waiter->task, g_error_copy (error));
      else
        g_task_return_pointer (waiter->task,
                               g_strdup (self->token->access_token),
                               (GDestroyNotify)mb_smtp_secret_free);
    }
}

static void
renewed (MbOAuthTokenSource *self, MbOAuthToken *token, GError *error_in)
{
  g_autoptr (GError) error = error_in;

  self->renewing = FALSE;
  if (token == NULL)
    {
      g_debug ("token=renew result=failed error=\"%s\"", error->message);
      if (g_error_matches (error, MB_OAUTH_ERROR, MB_OAUTH_ERROR_NEEDS_SIGNIN))
        {
          g_clear_pointer (&self->refresh_token, mb_smtp_secret_free);
          g_clear_pointer (&self->token, mb_oauth_token_free);
          set_needs_signin (self, TRUE);
        }
      complete_waiters (self, error);
      return;
    }

  if (self->credential == NULL)
    {
      self->last_refresh = now_seconds ();
      if (token->refresh_token != NULL
          && g_strcmp0 (token->refresh_token, self->refresh_token) != 0)
        {
          g_clear_pointer (&self->refresh_token, mb_smtp_secret_free);
          self->refresh_token = g_strdup (token->refresh_token);
          g_debug ("token=renew refresh-token=" MB_OAUTH_REDACTED
                   " changed=yes");
          g_signal_emit (self, signals[SIGNAL_REFRESH_TOKEN_CHANGED], 0,
                         self->refresh_token);
        }
    }
  /* The cache keeps no refresh token: it lives in self->refresh_token. */
  g_clear_pointer (&token->refresh_token, mb_smtp_secret_free);
  take_token (self, token);
  g_debug ("token=renew result=ok expires-in=%" G_GINT64_FORMAT,
           self->token->expires_at - now_seconds ());
  complete_waiters (self, NULL);
}

static void
renew_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  MbOAuthClient      *client = MB_OAUTH_CLIENT (source);
  MbOAuthTokenSource *self;
  MbOAuthToken       *token;
  GError             *error = NULL;

  if (g_async_result_is_tagged (result, mb_oauth_client_refresh_async))
    token = mb_oauth_client_refresh_finish (client, result, &error);
  else
    token = mb_oauth_client_request_app_token_finish (client, result, &error);
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    {
      /* Only dispose cancels: self is gone or going. */
      g_error_free (error);
      return;
    }
  self = MB_OAUTH_TOKEN_SOURCE (user_data);
  renewed (self, token, error);
}

static void
start_renewal (MbOAuthTokenSource *self)
{
  if (self->renewing)
    return;
  if (self->credential == NULL && self->refresh_token == NULL)
    {
      g_autoptr (GError) error = g_error_new_literal (
          MB_OAUTH_ERROR, MB_OAUTH_ERROR_NEEDS_SIGNIN,
          "There is no stored sign-in for this route: sign in");

      set_needs_signin (self, TRUE);
      complete_waiters (self, error);
      return;
    }
  self->renewing = TRUE;
  /* The callback gets self unreferenced: dispose cancels the renewal. */
  if (self->credential != NULL)
    mb_oauth_client_request_app_token_async (self->client, self->credential,
                                             self->cancellable, renew_cb, self);
  else
    mb_oauth_client_refresh_async (self->client, self->refresh_token, NULL,
                                   self->cancellable, renew_cb, self);
}

static gboolean
waiter_cancelled_cb (GCancellable *cancellable, gpointer user_data)
{
  Waiter             *waiter = user_data;
  MbOAuthTokenSource *self = g_task_get_source_object (waiter->task);

  /* Removing frees the waiter and destroys this source. */
  g_task_return_error_if_cancelled (waiter->task);
  g_ptr_array_remove_fast (self->waiters, waiter);
  return G_SOURCE_REMOVE;
}

static gboolean
keepalive_cb (gpointer user_data)
{
  MbOAuthTokenSource *self = user_data;

  if (!self->needs_signin && self->refresh_token != NULL
      && now_seconds () - self->last_refresh >= (gint64)self->keepalive)
    {
      g_debug ("token=keepalive last-refresh-age=%" G_GINT64_FORMAT,
               now_seconds () - self->last_refresh);
      start_renewal (self);
    }
  return G_SOURCE_CONTINUE;
}

static void
restart_keepalive (MbOAuthTokenSource *self)
{
  drop_source (&self->keepalive_source);
  if (self->credential != NULL)
    return;
  self->keepalive_source = g_timeout_source_new_seconds (
      MIN (self->keepalive, MAX_KEEPALIVE_CHECK));
  /* Destroyed in dispose: self is alive whenever it fires. */
  g_source_set_callback (self->keepalive_source, keepalive_cb, self, NULL);
  g_source_attach (self->keepalive_source,
                   g_main_context_get_thread_default ());
}

/* GObject */

static void
mb_oauth_token_source_get_property (GObject    *object,
                                    guint       prop_id,
                                    GValue     *value,
                                    GParamSpec *pspec)
{
  MbOAuthTokenSource *self = MB_OAUTH_TOKEN_SOURCE (object);

  switch (prop_id)
    {
    case PROP_NEEDS_SIGNIN:
      g_value_set_boolean (value, self->needs_signin);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
mb_oauth_token_source_dispose (GObject *object)
{
  MbOAuthTokenSource *self = MB_OAUTH_TOKEN_SOURCE (object);

  g_cancellable_cancel (self->cancellable);
  drop_source (&self->keepalive_source);

  G_OBJECT_CLASS (mb_oauth_token_source_parent_class)->dispose (object);
}

static void
mb_oauth_token_source_finalize (GObject *object)
{
  MbOAuthTokenSource *self = MB_OAUTH_TOKEN_SOURCE (object);

  /* Waiters hold references: none is left by now. */
  g_ptr_array_unref (self->waiters);
  g_clear_object (&self->cancellable);
  g_clear_object (&self->client);
  mb_oauth_app_credential_free (self->credential);
  mb_smtp_secret_free (self->refresh_token);
  mb_oauth_token_free (self->token);

  G_OBJECT_CLASS (mb_oauth_token_source_parent_class)->finalize (object);
}

static void
mb_oauth_token_source_class_init (MbOAuthTokenSourceClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->get_property = mb_oauth_token_source_get_property;
  object_class->dispose = mb_oauth_token_source_dispose;
  object_class->finalize = mb_oauth_token_source_finalize;

  props[PROP_NEEDS_SIGNIN] = g_param_spec_boolean (
      "needs-signin", NULL, NULL, FALSE,
      G_PARAM_READABLE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);
  g_object_class_install_properties (object_class, N_PROPS, props);

  signals[SIGNAL_REFRESH_TOKEN_CHANGED]
      = g_signal_new ("refresh-token-changed", G_TYPE_FROM_CLASS (klass),
                      G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL, G_TYPE_NONE, 1,
                      G_TYPE_STRING | G_SIGNAL_TYPE_STATIC_SCOPE);
}

static void
mb_oauth_token_source_init (MbOAuthTokenSource *self)
{
  self->refresh_margin = DEFAULT_REFRESH_MARGIN;
  self->keepalive = DEFAULT_KEEPALIVE;
  self->waiters = g_ptr_array_new_with_free_func ((GDestroyNotify)waiter_free);
  self->cancellable = g_cancellable_new ();
}

/* Public API */

MbOAuthTokenSource *
mb_oauth_token_source_new_delegated (MbOAuthClient *client,
                                     const char    *refresh_token)
{
  MbOAuthTokenSource *self;

  g_return_val_if_fail (MB_IS_OAUTH_CLIENT (client), NULL);

  self = g_object_new (MB_TYPE_OAUTH_TOKEN_SOURCE, NULL);
  self->client = g_object_ref (client);
  self->refresh_token = g_strdup (refresh_token);
  self->needs_signin = refresh_token == NULL;
  restart_keepalive (self);
  return self;
}

MbOAuthTokenSource *
mb_oauth_token_source_new_app (MbOAuthClient              *client,
                               const MbOAuthAppCredential *credential)
{
  MbOAuthTokenSource *self;

  g_return_val_if_fail (MB_IS_OAUTH_CLIENT (client), NULL);
  g_return_val_if_fail (credential != NULL, NULL);

  self = g_object_new (MB_TYPE_OAUTH_TOKEN_SOURCE, NULL);
  self->client = g_object_ref (client);
  self->credential = mb_oauth_app_credential_copy (credential);
  return self;
}

void
mb_oauth_token_source_set_token (MbOAuthTokenSource *self,
                                 const MbOAuthToken *token)
{
  MbOAuthToken *copy;

  g_return_if_fail (MB_IS_OAUTH_TOKEN_SOURCE (self));
  g_return_if_fail (token != NULL && token->access_token != NULL);

  copy = mb_oauth_token_copy (token);
  if (copy->refresh_token != NULL)
    {
      g_clear_pointer (&self->refresh_token, mb_smtp_secret_free);
      self->refresh_token = g_steal_pointer (&copy->refresh_token);
    }
  take_token (self, copy);
  self->last_refresh = now_seconds ();
  if (self->credential != NULL || self->refresh_token != NULL)
    set_needs_signin (self, FALSE);
}

void
mb_oauth_token_source_invalidate (MbOAuthTokenSource *self)
{
  g_return_if_fail (MB_IS_OAUTH_TOKEN_SOURCE (self));

  g_clear_pointer (&self->token, mb_oauth_token_free);
  self->renew_at = 0;
}

gboolean
mb_oauth_token_source_get_needs_signin (MbOAuthTokenSource *self)
{
  g_return_val_if_fail (MB_IS_OAUTH_TOKEN_SOURCE (self), FALSE);
  return self->needs_signin;
}

void
mb_oauth_token_source_set_refresh_margin (MbOAuthTokenSource *self,
                                          guint               seconds)
{
  g_return_if_fail (MB_IS_OAUTH_TOKEN_SOURCE (self));
  self->refresh_margin = seconds;
  if (self->token != NULL)
    self->renew_at = self->token->expires_at - seconds;
}

void
mb_oauth_token_source_set_keepalive_interval (MbOAuthTokenSource *self,
                                              guint               seconds)
{
  g_return_if_fail (MB_IS_OAUTH_TOKEN_SOURCE (self));
  g_return_if_fail (seconds > 0);
  self->keepalive = seconds;
  restart_keepalive (self);
}

void
mb_oauth_get_access_token_async (MbOAuthTokenSource *source,
                                 GCancellable       *cancellable,
                                 GAsyncReadyCallback callback,
                                 gpointer            user_data)
{
  MbOAuthTokenSource *self = source;
  g_autoptr (GTask) task = NULL;
  Waiter *waiter;

  g_return_if_fail (MB_IS_OAUTH_TOKEN_SOURCE (self));
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, mb_oauth_get_access_token_async);
  if (self->needs_signin)
    {
      g_task_return_new_error (task, MB_OAUTH_ERROR,
                               MB_OAUTH_ERROR_NEEDS_SIGNIN,
                               "The route needs a new sign-in");
      return;
    }
  if (self->token != NULL && now_seconds () < self->renew_at)
    {
      g_task_return_pointer (task, g_strdup (self->token->access_token),
                             (GDestroyNotify)mb_smtp_secret_free);
      return;
    }

  waiter = g_new0 (Waiter, 1);
  waiter->task = g_steal_pointer (&task);
  if (cancellable != NULL)
    {
      waiter->cancel_source = g_cancellable_source_new (cancellable);
      g_source_set_callback (waiter->cancel_source,
                             G_SOURCE_FUNC (waiter_cancelled_cb), waiter, NULL);
      g_source_attach (waiter->cancel_source,
                       g_main_context_get_thread_default ());
    }
  g_ptr_array_add (self->waiters, waiter);
  start_renewal (self);
}

char *
mb_oauth_get_access_token_finish (MbOAuthTokenSource *source,
                                  GAsyncResult       *result,
                                  GError            **error)
{
  g_return_val_if_fail (g_task_is_valid (result, source), NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}
