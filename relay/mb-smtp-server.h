/* mb-smtp-server.h - the listeners, the access list and connection limits
 *
 * A GSocketService listening on every configured address (IPv4 and IPv6,
 * IPv6 sockets v6-only).  At connect it checks the allow list and the
 * per-client and total connection counts, then starts an MbSmtpSession.
 */
#pragma once

#include <gio/gio.h>

#include "mb-relay-config.h"
#include "mb-spool.h"

G_BEGIN_DECLS

#define MB_TYPE_SMTP_SERVER (mb_smtp_server_get_type ())
G_DECLARE_FINAL_TYPE (MbSmtpServer, mb_smtp_server, MB, SMTP_SERVER, GObject)

MbSmtpServer *mb_smtp_server_new (MbRelayConfig *config, MbSpool *spool);

/* Binds every `listen` address.  Fails if any cannot be bound. */
gboolean mb_smtp_server_start (MbSmtpServer *server, GError **error);
void     mb_smtp_server_stop (MbSmtpServer *server);

/* (nullable) Enables STARTTLS for new sessions. */
void mb_smtp_server_set_tls_certificate (MbSmtpServer    *server,
                                         GTlsCertificate *certificate);

/* A new configuration for new connections: allow list and limits apply at
 * once, open sessions keep theirs. */
void mb_smtp_server_set_config (MbSmtpServer *server, MbRelayConfig *config);

guint mb_smtp_server_get_n_sessions (MbSmtpServer *server);

/* The addresses actually bound (a `listen` port 0 resolved to the real
 * port), for tests and logs; empty before start.
 * Returns: (transfer full) (element-type GInetSocketAddress) a new array
 * that owns its elements: free it with g_ptr_array_unref(). */
GPtrArray *mb_smtp_server_get_bound_addresses (MbSmtpServer *server);

/* Signals: "message-accepted" (const char *queue_id). */

G_END_DECLS
