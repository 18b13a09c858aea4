/* mb-relay-client.h - the app's view of the relay (org.mailbridge.Relay1)
 *
 * One MbRelayClient per application.  It finds the relay on the session bus,
 * starts it when none runs (D-Bus activation, else the mailbridged binary),
 * mirrors the relay's state in GObject properties and forwards its signals.
 * Pages bind to the properties and never see D-Bus.
 *
 * Every call is asynchronous.  Property changes that arrive in a burst are
 * applied in one idle: each property notifies at most once per main loop
 * iteration, and only when its value changed.  "queue-changed" collapses the
 * same way (each id named once).
 */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

#define MB_RELAY_CLIENT_ERROR (mb_relay_client_error_quark ())
GQuark mb_relay_client_error_quark (void);

/* The codes of the relay's D-Bus errors (org.mailbridge.Relay1.Error.*), and
 * UNREACHABLE when no relay answers. */
typedef enum
{
  MB_RELAY_CLIENT_ERROR_FAILED,
  MB_RELAY_CLIENT_ERROR_INVALID_ARGUMENT,
  MB_RELAY_CLIENT_ERROR_NOT_FOUND,
  MB_RELAY_CLIENT_ERROR_CONFIG_INVALID,
  MB_RELAY_CLIENT_ERROR_IO,
  MB_RELAY_CLIENT_ERROR_NO_SPACE,
  MB_RELAY_CLIENT_ERROR_BUSY,
  MB_RELAY_CLIENT_ERROR_TIMEOUT,
  MB_RELAY_CLIENT_ERROR_NOT_SUPPORTED,
  MB_RELAY_CLIENT_ERROR_UNREACHABLE,
} MbRelayClientError;

/* Whether the app talks to a relay. */
typedef enum
{
  MB_RELAY_CONNECTION_CONNECTING,  /* looking for it or starting it */
  MB_RELAY_CONNECTION_CONNECTED,   /* the relay owns its bus name */
  MB_RELAY_CONNECTION_UNREACHABLE, /* see mb_relay_client_get_connection_error
                                    */
} MbRelayConnection;

/* The relay's "State" property. */
typedef enum
{
  MB_RELAY_STATE_UNKNOWN, /* not connected */
  MB_RELAY_STATE_RUNNING,
  MB_RELAY_STATE_PAUSED,
  MB_RELAY_STATE_NEEDS_ATTENTION,
} MbRelayState;

/* A route's state, from "Routes" (stable words on the bus). */
typedef enum
{
  MB_ROUTE_STATE_READY,
  MB_ROUTE_STATE_PAUSED,
  MB_ROUTE_STATE_NEEDS_SIGNIN,
  MB_ROUTE_STATE_FAILING,
} MbRouteState;

/**
 * MbRouteStatus:
 * One entry of the relay's "Routes" property.  Plain data, every string
 * owned and never NULL ("" when the relay sent none).
 */
typedef struct
{
  char        *name;
  char        *method; /* submission, direct-send, connector, hve */
  MbRouteState state;
  char        *reason; /* why it is paused */
  char        *last_reply;
  char        *hint;      /* the mb-reply-hints keyword */
  char        *hint_text; /* its explanation and fix, relay's language */
  gboolean     is_default;
  char        *attention;      /* to do soon, though it works (English) */
  gint64       secret_expires; /* unix s: its client secret expires within
                                * 14 days or has expired; 0 otherwise */
} MbRouteStatus;

void mb_route_status_free (MbRouteStatus *status);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (MbRouteStatus, mb_route_status_free)

/**
 * MbTestSendResult:
 * The outcome of mb_relay_client_send_test_async().  @outcome is
 * "delivered", "deferred", "failed" or "queued" (no attempt in time).
 */
typedef struct
{
  char *queue_id;
  char *outcome;
  char *reply;
  char *hint;
  char *hint_text;
} MbTestSendResult;

void mb_test_send_result_free (MbTestSendResult *result);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (MbTestSendResult, mb_test_send_result_free)

#define MB_TYPE_RELAY_CLIENT (mb_relay_client_get_type ())
G_DECLARE_FINAL_TYPE (MbRelayClient, mb_relay_client, MB, RELAY_CLIENT, GObject)

MbRelayClient *mb_relay_client_new (void);

/* Connects to the relay, starting it if none runs.  Called once at startup
 * and again by "Try again" when it is unreachable; a no-op while
 * connecting or connected. */
void mb_relay_client_connect (MbRelayClient *self);

/* Properties (all notify): "connection", "connection-error", "state",
 * "paused", "attention-reasons", "queue-length", "deferred-count",
 * "oldest-received", "listen-addresses", "routes", "version",
 * "config-path", "delivered-today", "failed-today", "admin-address",
 * "default-sender". */
MbRelayConnection mb_relay_client_get_connection (MbRelayClient *self);
/* (nullable) Why the relay cannot be reached, translated. */
const char  *mb_relay_client_get_connection_error (MbRelayClient *self);
MbRelayState mb_relay_client_get_state (MbRelayClient *self);
gboolean     mb_relay_client_get_paused (MbRelayClient *self);
/* Never NULL; empty when nothing needs the admin. */
const char *const *mb_relay_client_get_attention_reasons (MbRelayClient *self);
guint              mb_relay_client_get_queue_length (MbRelayClient *self);
guint              mb_relay_client_get_deferred_count (MbRelayClient *self);
/* Unix seconds, 0 with an empty queue. */
gint64             mb_relay_client_get_oldest_received (MbRelayClient *self);
const char *const *mb_relay_client_get_listen_addresses (MbRelayClient *self);
/* (element-type MbRouteStatus) Never NULL. */
GPtrArray *mb_relay_client_get_routes (MbRelayClient *self);
/* (nullable) The route the relay uses: the default one, else the first. */
const MbRouteStatus *mb_relay_client_get_default_route (MbRelayClient *self);
const char          *mb_relay_client_get_version (MbRelayClient *self);
const char          *mb_relay_client_get_config_path (MbRelayClient *self);
/* The file the relay reads (transfer full): its ConfigPath, or, for a
 * relay running on the defaults (or not reachable), the user
 * configuration file it reads once that exists. */
char *mb_relay_client_dup_config_file (MbRelayClient *self);
/* Delivery log counts since local midnight (recipients). */
guint mb_relay_client_get_delivered_today (MbRelayClient *self);
guint mb_relay_client_get_failed_today (MbRelayClient *self);
/* (nullable) From the configuration file the relay uses. */
const char *mb_relay_client_get_admin_address (MbRelayClient *self);
/* (nullable) The default route's mailbox (the sender of a test). */
const char *mb_relay_client_get_default_sender (MbRelayClient *self);

/* Signals:
 * "queue-changed" (GStrv changed_ids, GStrv removed_ids): collapsed, see
 *   above.
 * "log-record-added" (GVariant *record): an a{sv} with the keys of ReadLog.
 * "delivery-failed" (queue_id, recipient, route, status, reply, hint,
 *   hint_text): each failed attempt, status deferred/failed/expired/bounced.
 * "route-state-changed" (route, state, reason, hint): after "routes" was
 *   updated. */

void mb_relay_client_list_queue_async (MbRelayClient      *self,
                                       guint               offset,
                                       guint               limit,
                                       GCancellable       *cancellable,
                                       GAsyncReadyCallback callback,
                                       gpointer            user_data);
/* Returns the page as an aa{sv} (see the interface XML). */
GVariant *mb_relay_client_list_queue_finish (MbRelayClient *self,
                                             GAsyncResult  *result,
                                             guint         *total,
                                             GError       **error);

/* The first @limit messages matching @text (case-insensitive, in the
 * relay: id, sender, route, recipients, last replies), oldest first;
 * @total: how many match. */
void      mb_relay_client_search_queue_async (MbRelayClient      *self,
                                              const char         *text,
                                              guint               limit,
                                              GCancellable       *cancellable,
                                              GAsyncReadyCallback callback,
                                              gpointer            user_data);
GVariant *mb_relay_client_search_queue_finish (MbRelayClient *self,
                                               GAsyncResult  *result,
                                               guint         *total,
                                               GError       **error);

void     mb_relay_client_show_message_async (MbRelayClient      *self,
                                             const char         *id,
                                             GCancellable       *cancellable,
                                             GAsyncReadyCallback callback,
                                             gpointer            user_data);
gboolean mb_relay_client_show_message_finish (MbRelayClient *self,
                                              GAsyncResult  *result,
                                              GVariant     **envelope,
                                              GVariant     **headers,
                                              GError       **error);

void     mb_relay_client_retry_message_async (MbRelayClient      *self,
                                              const char         *id,
                                              GCancellable       *cancellable,
                                              GAsyncReadyCallback callback,
                                              gpointer            user_data);
gboolean mb_relay_client_retry_message_finish (MbRelayClient *self,
                                               GAsyncResult  *result,
                                               GError       **error);

void     mb_relay_client_delete_message_async (MbRelayClient      *self,
                                               const char         *id,
                                               GCancellable       *cancellable,
                                               GAsyncReadyCallback callback,
                                               gpointer            user_data);
gboolean mb_relay_client_delete_message_finish (MbRelayClient *self,
                                                GAsyncResult  *result,
                                                GError       **error);

void     mb_relay_client_retry_all_async (MbRelayClient      *self,
                                          GCancellable       *cancellable,
                                          GAsyncReadyCallback callback,
                                          gpointer            user_data);
gboolean mb_relay_client_retry_all_finish (MbRelayClient *self,
                                           GAsyncResult  *result,
                                           guint         *count,
                                           GError       **error);

/* Pause or resume delivery (Resume also releases routes paused after
 * repeated failures). */
void     mb_relay_client_set_paused_async (MbRelayClient      *self,
                                           gboolean            paused,
                                           GCancellable       *cancellable,
                                           GAsyncReadyCallback callback,
                                           gpointer            user_data);
gboolean mb_relay_client_set_paused_finish (MbRelayClient *self,
                                            GAsyncResult  *result,
                                            GError       **error);

/* @from and @route may be NULL (the relay's choice); @timeout in seconds,
 * 0 for the relay's default. */
void              mb_relay_client_send_test_async (MbRelayClient      *self,
                                                   const char         *to,
                                                   const char         *from,
                                                   const char         *route,
                                                   guint               timeout,
                                                   GCancellable       *cancellable,
                                                   GAsyncReadyCallback callback,
                                                   gpointer            user_data);
MbTestSendResult *mb_relay_client_send_test_finish (MbRelayClient *self,
                                                    GAsyncResult  *result,
                                                    GError       **error);

/* @filter: an a{sv} as ReadLog takes it (floating references are sunk). */
void mb_relay_client_read_log_async (MbRelayClient      *self,
                                     GVariant           *filter,
                                     GCancellable       *cancellable,
                                     GAsyncReadyCallback callback,
                                     gpointer            user_data);
/* Returns the records as an aa{sv}. */
GVariant *mb_relay_client_read_log_finish (MbRelayClient *self,
                                           GAsyncResult  *result,
                                           GError       **error);

/* Reads the configuration file again (Reload); fails with the relay's
 * ConfigInvalid error (naming group, key and line) and then nothing
 * changed. */
void     mb_relay_client_reload_async (MbRelayClient      *self,
                                       GCancellable       *cancellable,
                                       GAsyncReadyCallback callback,
                                       gpointer            user_data);
gboolean mb_relay_client_reload_finish (MbRelayClient *self,
                                        GAsyncResult  *result,
                                        GError       **error);

/* Validates @path ("" or NULL: the file in force) without applying it. */
void     mb_relay_client_check_config_async (MbRelayClient      *self,
                                             const char         *path,
                                             GCancellable       *cancellable,
                                             GAsyncReadyCallback callback,
                                             gpointer            user_data);
gboolean mb_relay_client_check_config_finish (MbRelayClient *self,
                                              GAsyncResult  *result,
                                              GError       **error);

/* Asks the relay to read @route's secrets again ("" or NULL: every
 * route) after a sign-in stored new ones; @state and @reason (nullable,
 * transfer full) are the route's state ("ready", "needs-signin", ...) and
 * reason afterwards. */
void     mb_relay_client_reload_credentials_async (MbRelayClient      *self,
                                                   const char         *route,
                                                   GCancellable       *cancellable,
                                                   GAsyncReadyCallback callback,
                                                   gpointer            user_data);
gboolean mb_relay_client_reload_credentials_finish (MbRelayClient *self,
                                                    GAsyncResult  *result,
                                                    char         **state,
                                                    char         **reason,
                                                    GError       **error);

/* Stops the relay process that owns the bus name (SIGTERM to its pid, so a
 * relay started by systemd, by D-Bus or by the app stops the same way). */
void     mb_relay_client_stop_relay_async (MbRelayClient      *self,
                                           GCancellable       *cancellable,
                                           GAsyncReadyCallback callback,
                                           gpointer            user_data);
gboolean mb_relay_client_stop_relay_finish (MbRelayClient *self,
                                            GAsyncResult  *result,
                                            GError       **error);

G_END_DECLS
