/* mb-route-signin-private.h - what the parts of MbRouteSignin share
 *
 * mb-route-signin.c: the object, the route's state (the problem it set)
 * and preparing a connection.  mb-route-signin-secrets.c: a load (reading
 * the secrets from MbCredentials and deciding what the route signs in
 * with) and the token source it makes.  mb-route-signin-cert.c: reading
 * the TLS client certificate in a worker thread.  Only they include this.
 *
 * A load runs from mb_route_signin_start_load() to
 * mb_route_signin_complete_waiters(); while it runs, self->loading is
 * set and prepares wait in self->waiters.  A newer load (generation)
 * supersedes an older one, whose steps then drop their results.
 * Main-loop only, except the certificate thread, which touches no object.
 */
#pragma once

#include "mb-oauth.h"
#include "mb-route-signin.h"

G_BEGIN_DECLS

/* What the route's state says about its sign-in, as this object set it. */
typedef enum
{
  PROBLEM_NONE,
  PROBLEM_NEEDS_SIGNIN,
  PROBLEM_PAUSE,
} ProblemKind;

struct _MbRouteSignin
{
  GObject parent_instance;

  MbRoute       *route;       /* (owned) */
  MbCredentials *credentials; /* (owned) (nullable) */

  /* From the [route NAME] group. */
  char          *name; /* (owned) */
  MbRouteAuth    auth;
  char          *mailbox;            /* (owned) (nullable) */
  char          *client_certificate; /* (owned) (nullable) */
  char          *client_key;         /* (owned) (nullable) */
  char          *authority;          /* (owned) (nullable) for messages */
  MbOAuthClient *oauth;              /* (owned) (nullable) OAuth routes */
  char          *oauth_error;        /* (owned) (nullable) why there is none */

  /* The material of the last completed load. */
  guint               generation; /* of the load under way or last done */
  gboolean            loading;
  gboolean            usable;
  char               *secret;          /* (owned) (nullable) wiped */
  MbOAuthTokenSource *token_source;    /* (owned) (nullable) */
  GTlsCertificate    *tls_certificate; /* (owned) (nullable) */

  ProblemKind problem_kind;
  char       *problem;      /* (owned) (nullable) */
  char       *pause_reason; /* (owned) (nullable) the pause we set */

  GPtrArray    *waiters;        /* (owned) (element-type GTask) prepare */
  GPtrArray    *reload_waiters; /* (owned) (element-type GTask) reload */
  GCancellable *cancellable;    /* (owned) */
};

/* mb-route-signin.c */

/* Puts the route in the state @kind says (@text: the reason, ignored for
 * PROBLEM_NONE), lifting what an earlier problem of ours set; logs a
 * NEEDS_SIGNIN once and notifies "problem" on change. */
void mb_route_signin_apply_problem (MbRouteSignin *self,
                                    ProblemKind    kind,
                                    const char    *text);

/* A load is done: serves the waiting prepares with the new material and
 * completes the waiting reloads. */
void mb_route_signin_complete_waiters (MbRouteSignin *self);

/* mb-route-signin-secrets.c */

/* Whether @auth signs in with an OAuth token (delegated or app-only). */
gboolean mb_route_signin_is_oauth (MbRouteAuth auth);

/* Starts a new load, superseding one under way. */
void mb_route_signin_start_load (MbRouteSignin *self);

/* Replaces the token source (@source: (transfer full) (nullable)),
 * following its rotated refresh tokens and its "needs-signin". */
void mb_route_signin_set_token_source (MbRouteSignin      *self,
                                       MbOAuthTokenSource *source);

/* mb-route-signin-cert.c */

/* Reads the certificate chain of @cert_path and the key of @key_path (the
 * certificate file itself when it also holds the key), decrypted with
 * @passphrase (nullable), in a worker thread.  Fails with
 * G_IO_ERROR_PERMISSION_DENIED when the key is encrypted and @passphrase
 * is NULL, with another error when the files cannot be read or used. */
void mb_route_signin_read_certificate_async (const char         *cert_path,
                                             const char         *key_path,
                                             const char         *passphrase,
                                             GCancellable       *cancellable,
                                             GAsyncReadyCallback callback,
                                             gpointer            user_data);

/* (transfer full) The certificate with its key, or NULL and @error. */
GTlsCertificate *mb_route_signin_read_certificate_finish (GAsyncResult *result,
                                                          GError      **error);

G_END_DECLS
