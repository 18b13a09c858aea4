/* mb-relay-config.h - the relay's configuration (a GKeyFile)
 *
 * Defaults, parsing and validation of DESIGN.md's contract.  Every error
 * names the group, the key and the line.  The loaded configuration is
 * immutable and reference counted: a reload builds a new one, and sessions
 * keep the one they started with.
 */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

#define MB_RELAY_CONFIG_ERROR (mb_relay_config_error_quark ())
GQuark mb_relay_config_error_quark (void);

typedef enum
{
  MB_RELAY_CONFIG_ERROR_SYNTAX,        /* not a key file */
  MB_RELAY_CONFIG_ERROR_UNKNOWN_KEY,   /* a key or group we do not know */
  MB_RELAY_CONFIG_ERROR_INVALID_VALUE, /* a key's value is not allowed */
  MB_RELAY_CONFIG_ERROR_MISSING,       /* a required key is missing */
  MB_RELAY_CONFIG_ERROR_NOT_FOUND,     /* the file does not exist */
} MbRelayConfigError;

typedef enum
{
  MB_ROUTE_METHOD_SUBMISSION,
  MB_ROUTE_METHOD_DIRECT_SEND,
  MB_ROUTE_METHOD_CONNECTOR,
  MB_ROUTE_METHOD_HVE,
} MbRouteMethod;

typedef enum
{
  MB_ROUTE_TLS_REQUIRED,
  MB_ROUTE_TLS_OPPORTUNISTIC,
} MbRouteTls;

typedef enum
{
  MB_ROUTE_AUTH_NONE,
  MB_ROUTE_AUTH_BASIC,
  MB_ROUTE_AUTH_OAUTH_DEVICE,
  MB_ROUTE_AUTH_OAUTH_BROWSER,
  MB_ROUTE_AUTH_OAUTH_APP,
} MbRouteAuth;

/* [route NAME] */
typedef struct
{
  char         *name; /* (owned) */
  MbRouteMethod method;
  char         *host; /* (owned) (nullable) NULL: MX lookup / method default */
  guint16       port; /* 0: the method's default */
  MbRouteTls    tls;
  MbRouteAuth   auth;
  char         *mailbox;            /* (owned) (nullable) */
  char         *tenant;             /* (owned) (nullable) */
  char         *client_id;          /* (owned) (nullable) */
  char         *client_certificate; /* (owned) (nullable) file */
  char         *client_key;         /* (owned) (nullable) file */
  char         *trust;              /* (owned) (nullable) extra CA file */
  char         *authority;          /* (owned) */
  char         *domain;             /* (owned) (nullable) tenant domain */

  /* Delivery tuning; 0 / NULL means "the method's profile default"
   * (relay/mb-route.c holds the limits table).  sender_policy is keep,
   * rewrite-envelope or rewrite-from; send_as lists the addresses the
   * mailbox may send as. */
  char  *sender_policy;              /* (owned) (nullable) */
  GStrv  send_as;                    /* (owned) (nullable) */
  guint  max_connections;            /* concurrent connections */
  guint  rate_limit_messages;        /* messages per rate_limit_window */
  gint64 rate_limit_window;          /* seconds */
  guint  daily_recipient_limit;      /* recipients per 24 h */
  guint  recipients_per_transaction; /* split larger recipient lists */
} MbRouteConfig;

/* Whether @a and @b are the same [route NAME]: the name and every key
 * alike (a reload keeps the running route of an unchanged group, and
 * replaces the others). */
gboolean mb_route_config_equal (const MbRouteConfig *a, const MbRouteConfig *b);

typedef struct
{
  char *path; /* (owned) (nullable) the file it came from */

  /* [relay] */
  GPtrArray *listen;           /* (element-type GInetSocketAddress) */
  GPtrArray *allow;            /* (element-type GInetAddressMask) */
  char      *hostname;         /* (owned) our name in banners and Received */
  char      *spool;            /* (owned) spool directory */
  char      *admin_address;    /* (owned) (nullable) */
  guint64    max_message_size; /* bytes, announced in EHLO SIZE */
  char      *route;            /* (owned) (nullable) route to use */
  GArray    *retry_schedule;   /* (element-type gint64) seconds; last repeats */
  gint64     delay_notice_after; /* seconds */
  gint64     expire_after;       /* seconds */
  char      *secrets;            /* (owned) (nullable) secrets file */

  /* Limits (RFC 5321 4.5.3) */
  guint  max_recipients;             /* per message, default 500 */
  gsize  max_line_length;            /* text line, octets without CRLF, 998 */
  gsize  max_command_line_length;    /* octets without CRLF, default 2048 */
  gint64 idle_timeout;               /* seconds, default 300 */
  gint64 session_timeout;            /* seconds, default 1800 */
  guint  max_connections;            /* in total, default 100 */
  guint  max_connections_per_client; /* default 20 */
  guint  max_errors;                 /* per session, default 10 */

  /* STARTTLS for devices */
  char *tls_certificate; /* (owned) PEM file; generated if missing */
  char *tls_key;         /* (owned) PEM file */

  GPtrArray *routes; /* (element-type MbRouteConfig) */
} MbRelayConfig;

/* Built-in defaults (loopback only; spool under $XDG_STATE_HOME). */
MbRelayConfig *mb_relay_config_new_default (void);
/* The user's configuration file, $XDG_CONFIG_HOME/mailbridge/mailbridge.conf:
 * what a relay started without --config reads (transfer full). */
char          *mb_relay_config_dup_user_path (void);
MbRelayConfig *mb_relay_config_load_file (const char *path, GError **error);
/* @origin names the data in error messages (a file name). */
MbRelayConfig *mb_relay_config_load_data (const char *data,
                                          gssize      len,
                                          const char *origin,
                                          GError    **error);

MbRelayConfig *mb_relay_config_ref (MbRelayConfig *config);
void           mb_relay_config_unref (MbRelayConfig *config);

/* Whether @address is inside the allow list (IPv4-mapped IPv6 addresses are
 * matched as IPv4). */
gboolean mb_relay_config_allows (const MbRelayConfig *config,
                                 GInetAddress        *address);
/* (nullable) The route named @name. */
MbRouteConfig *mb_relay_config_lookup_route (const MbRelayConfig *config,
                                             const char          *name);

/* "5m", "2h", "2d", "90s" or plain seconds. */
gboolean mb_relay_config_parse_duration (const char *text, gint64 *seconds);
/* "35M", "20MiB", "512K", "1G" or plain bytes (binary multiples). */
gboolean mb_relay_config_parse_size (const char *text, guint64 *bytes);

const char *mb_route_method_to_string (MbRouteMethod method);
const char *mb_route_auth_to_string (MbRouteAuth auth);
const char *mb_route_tls_to_string (MbRouteTls tls);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (MbRelayConfig, mb_relay_config_unref)

G_END_DECLS
