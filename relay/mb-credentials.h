/* mb-credentials.h - where the routes' secrets live
 *
 * MbCredentials is the abstract store of upstream secrets, keyed by route
 * name and kind (DESIGN.md "Data that must not be lost": secrets live in
 * the keyring or in the 0600 secrets file, never in the config, the spool
 * or the log).  Two backends, as in GNOME Remote Desktop's grd-credentials:
 *   MbCredentialsKeyring  the Secret Service (libsecret, schema
 *                         org.mailbridge.Secret), for a desktop session;
 *   MbCredentialsFile     the [relay] secrets key file, for headless use.
 * mb_credentials_new_for_config() picks one the way the daemon does.
 *
 * Every call is asynchronous and completes on the thread-default main
 * context of the caller, never inside the _async call itself.  Secrets
 * handed out are copies: wipe and free them with mb_smtp_secret_free().
 *
 * A secret may carry an expiry date (Entra ID client secrets expire after
 * at most 24 months): it is stored beside the secret and changes with it.
 * mb_credentials_check_expiry_async() lists the secrets that expire within
 * MB_CREDENTIALS_EXPIRY_WARNING_DAYS, for the warning log line and the
 * route's attention state.
 */
#pragma once

#include <gio/gio.h>

#include "mb-relay-config.h"

G_BEGIN_DECLS

/* The kinds of secret of a route (keys of a secrets-file [route NAME]
 * group, values of the keyring attribute "kind"). */
#define MB_CREDENTIALS_KIND_PASSWORD "password"
#define MB_CREDENTIALS_KIND_CLIENT_SECRET "client-secret"
#define MB_CREDENTIALS_KIND_REFRESH_TOKEN "refresh-token"
#define MB_CREDENTIALS_KIND_CLIENT_KEY_PASSPHRASE "client-key-passphrase"
/* A static OAuth access token for XOAUTH2 (tests, or a token another tool
 * keeps fresh). */
#define MB_CREDENTIALS_KIND_ACCESS_TOKEN "access-token"

/* Days ahead of a secret's expiry that the relay starts warning. */
#define MB_CREDENTIALS_EXPIRY_WARNING_DAYS 14

#define MB_CREDENTIALS_ERROR (mb_credentials_error_quark ())
GQuark mb_credentials_error_quark (void);

/* Errors of the keyring backend and of argument checks.  The file backend
 * reports MB_CREDENTIALS_FILE_ERROR (mb-credentials-file.h). */
typedef enum
{
  MB_CREDENTIALS_ERROR_INVALID,     /* a route name or kind that cannot be
                                     * stored (empty, control characters,
                                     * brackets, an unknown kind) */
  MB_CREDENTIALS_ERROR_UNAVAILABLE, /* no Secret Service on the bus, or the
                                     * keyring stays locked */
  MB_CREDENTIALS_ERROR_FAILED,      /* the keyring refused the operation */
} MbCredentialsError;

/* One secret's expiry. */
typedef struct
{
  char  *route;      /* (owned) */
  char  *kind;       /* (owned) */
  gint64 expires_at; /* unix seconds */
} MbCredentialsExpiry;

MbCredentialsExpiry *mb_credentials_expiry_new (const char *route,
                                                const char *kind,
                                                gint64      expires_at);
void                 mb_credentials_expiry_free (MbCredentialsExpiry *expiry);

/* Whether @expires_at (unix seconds, 0 = never) is at most
 * MB_CREDENTIALS_EXPIRY_WARNING_DAYS after @now (or already past). */
gboolean mb_credentials_expiry_is_due (gint64 expires_at, gint64 now);

/* The log text for a due secret, key=value and English:
 * "route=R kind=client-secret expires=2026-03-01T00:00:00Z days_left=12
 * action=\"...\"".  Never contains the secret. */
char *mb_credentials_expiry_describe (const MbCredentialsExpiry *expiry,
                                      gint64                     now);

/* Logs mb_credentials_expiry_describe() as a warning with the MB_ROUTE
 * field. */
void mb_credentials_log_expiry (const MbCredentialsExpiry *expiry, gint64 now);

/* Reads an expiry as the secrets file and `mailbridgectl signin
 * --client-secret-expires` take it: a date ("2027-03-01", midnight UTC)
 * or an ISO 8601 time ("2027-03-01T12:00:00Z"; UTC when it has no zone).
 * FALSE, leaving @expires_at alone, for anything else. */
gboolean mb_credentials_parse_expiry (const char *text, gint64 *expires_at);

/* The known kinds, NULL-terminated. */
const char *const *mb_credentials_get_kinds (void);
gboolean           mb_credentials_kind_is_valid (const char *kind);
/* A route name every backend can store: non-empty UTF-8 without control
 * characters or brackets (it becomes a "[route NAME]" group). */
gboolean mb_credentials_route_is_valid (const char *route);

#define MB_TYPE_CREDENTIALS (mb_credentials_get_type ())
G_DECLARE_DERIVABLE_TYPE (MbCredentials,
                          mb_credentials,
                          MB,
                          CREDENTIALS,
                          GObject)

/**
 * MbCredentialsClass:
 * @lookup_async: start reading the secret of (@route, @kind).
 * @lookup_finish: the secret (transfer full, wiped by the caller), or NULL
 *   without an error when there is none.  @expires_at (nullable) receives
 *   its expiry, 0 for none.
 * @store_async: store @secret for (@route, @kind) with @expires_at (unix
 *   seconds, 0 = none), replacing any earlier secret and expiry.
 * @store_finish: whether it is stored.
 * @clear_async: remove the secret of (@route, @kind) and its expiry;
 *   removing what is not there is a success.
 * @clear_finish: whether it is gone.
 * @lookup_expiry_async: read the expiry of (@route, @kind) without reading
 *   the secret.
 * @lookup_expiry_finish: FALSE on error; *@expires_at is 0 when the secret
 *   has no expiry or does not exist.
 * @list_expiries_async: every secret of this store that has an expiry.
 * @list_expiries_finish: (element-type MbCredentialsExpiry) (transfer
 *   full).
 *
 * The base class checks the arguments before calling a vfunc: a backend
 * only ever sees valid routes and kinds and non-NULL secrets.
 *
 * The _finish vfuncs default to a GTask whose source object is the
 * backend: lookup returns the secret as the task's pointer (freed with
 * mb_smtp_secret_free()) and lookup_expiry a boolean, both with a gint64
 * expiry as task data; store and clear return a boolean, list_expiries the
 * GPtrArray as the pointer.  A backend that completes so sets only the
 * _async vfuncs.
 */
struct _MbCredentialsClass
{
  GObjectClass parent_class;

  void (*lookup_async) (MbCredentials      *self,
                        const char         *route,
                        const char         *kind,
                        GCancellable       *cancellable,
                        GAsyncReadyCallback callback,
                        gpointer            user_data);
  char *(*lookup_finish) (MbCredentials *self,
                          GAsyncResult  *result,
                          gint64        *expires_at,
                          GError       **error);

  void (*store_async) (MbCredentials      *self,
                       const char         *route,
                       const char         *kind,
                       const char         *secret,
                       gint64              expires_at,
                       GCancellable       *cancellable,
                       GAsyncReadyCallback callback,
                       gpointer            user_data);
  gboolean (*store_finish) (MbCredentials *self,
                            GAsyncResult  *result,
                            GError       **error);

  void (*clear_async) (MbCredentials      *self,
                       const char         *route,
                       const char         *kind,
                       GCancellable       *cancellable,
                       GAsyncReadyCallback callback,
                       gpointer            user_data);
  gboolean (*clear_finish) (MbCredentials *self,
                            GAsyncResult  *result,
                            GError       **error);

  void (*lookup_expiry_async) (MbCredentials      *self,
                               const char         *route,
                               const char         *kind,
                               GCancellable       *cancellable,
                               GAsyncReadyCallback callback,
                               gpointer            user_data);
  gboolean (*lookup_expiry_finish) (MbCredentials *self,
                                    GAsyncResult  *result,
                                    gint64        *expires_at,
                                    GError       **error);

  void (*list_expiries_async) (MbCredentials      *self,
                               GCancellable       *cancellable,
                               GAsyncReadyCallback callback,
                               gpointer            user_data);
  GPtrArray *(*list_expiries_finish) (MbCredentials *self,
                                      GAsyncResult  *result,
                                      GError       **error);

  gpointer padding[8];
};

/**
 * mb_credentials_new_for_config:
 *
 * The store the daemon uses for @config: the secrets file when [relay]
 * secrets is set (read now, and refused unless it is 0600 and ours: see
 * mb_credentials_file_new(), which blocks briefly), else the keyring
 * (nothing is contacted until the first call).
 *
 * Returns: (transfer full): an MbCredentialsFile or MbCredentialsKeyring.
 */
MbCredentials *mb_credentials_new_for_config (const MbRelayConfig *config,
                                              GError             **error);

/* Returns: (transfer full) (nullable): the secret, or NULL without an
 * error when none is stored.  Wipe it with mb_smtp_secret_free(). */
void  mb_credentials_lookup_async (MbCredentials      *self,
                                   const char         *route,
                                   const char         *kind,
                                   GCancellable       *cancellable,
                                   GAsyncReadyCallback callback,
                                   gpointer            user_data);
char *mb_credentials_lookup_finish (MbCredentials *self,
                                    GAsyncResult  *result,
                                    gint64        *expires_at,
                                    GError       **error);

/* @expires_at: unix seconds, 0 = does not expire. */
void     mb_credentials_store_async (MbCredentials      *self,
                                     const char         *route,
                                     const char         *kind,
                                     const char         *secret,
                                     gint64              expires_at,
                                     GCancellable       *cancellable,
                                     GAsyncReadyCallback callback,
                                     gpointer            user_data);
gboolean mb_credentials_store_finish (MbCredentials *self,
                                      GAsyncResult  *result,
                                      GError       **error);

void     mb_credentials_clear_async (MbCredentials      *self,
                                     const char         *route,
                                     const char         *kind,
                                     GCancellable       *cancellable,
                                     GAsyncReadyCallback callback,
                                     gpointer            user_data);
gboolean mb_credentials_clear_finish (MbCredentials *self,
                                      GAsyncResult  *result,
                                      GError       **error);

void     mb_credentials_lookup_expiry_async (MbCredentials      *self,
                                             const char         *route,
                                             const char         *kind,
                                             GCancellable       *cancellable,
                                             GAsyncReadyCallback callback,
                                             gpointer            user_data);
gboolean mb_credentials_lookup_expiry_finish (MbCredentials *self,
                                              GAsyncResult  *result,
                                              gint64        *expires_at,
                                              GError       **error);

/* Returns: (element-type MbCredentialsExpiry) (transfer full): every
 * secret with an expiry, sorted by expiry, then route, then kind. */
void       mb_credentials_list_expiries_async (MbCredentials      *self,
                                               GCancellable       *cancellable,
                                               GAsyncReadyCallback callback,
                                               gpointer            user_data);
GPtrArray *mb_credentials_list_expiries_finish (MbCredentials *self,
                                                GAsyncResult  *result,
                                                GError       **error);

/**
 * mb_credentials_check_expiry_async:
 * @now: unix seconds; 0 for the current time.
 *
 * The secrets that expire within MB_CREDENTIALS_EXPIRY_WARNING_DAYS of
 * @now, or have expired.  The caller logs each with
 * mb_credentials_log_expiry() and gives the route attention (run it at
 * startup, on reload and daily).
 *
 * Returns: (element-type MbCredentialsExpiry) (transfer full): sorted by
 * expiry, soonest first; empty when nothing is due.
 */
void       mb_credentials_check_expiry_async (MbCredentials      *self,
                                              gint64              now,
                                              GCancellable       *cancellable,
                                              GAsyncReadyCallback callback,
                                              gpointer            user_data);
GPtrArray *mb_credentials_check_expiry_finish (MbCredentials *self,
                                               GAsyncResult  *result,
                                               GError       **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (MbCredentialsExpiry, mb_credentials_expiry_free)

G_END_DECLS
