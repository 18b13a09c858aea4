/* mb-route.h - the sending methods as profiles, and one route at run time
 *
 * A profile is what Microsoft 365 prescribes for a method (DESIGN.md "The
 * methods"): endpoint, port, TLS, sign-in, who may be a recipient, and the
 * limits the relay paces itself to.  All profiles live in one static table
 * in mb-route.c, each value with its source in M365-FACTS.md.
 *
 * An MbRoute is one configured [route NAME] while the relay runs: its
 * effective limits (configuration over profile), where to connect (MX
 * lookup where the method needs one), how to split a recipient list into
 * transactions, and its health: a state machine fed with the replies of
 * every attempt, which pauses the route before Exchange Online's
 * continuous-error throttling (5.2.251-5.2.255) can be provoked.
 *
 * Main-loop only; not thread-safe.
 */
#pragma once

#include <gio/gio.h>

#include "mb-pacer.h"
#include "mb-relay-config.h"
#include "mb-reply-hints.h"
#include "mb-smtp-reply.h"

G_BEGIN_DECLS

#define MB_ROUTE_ERROR (mb_route_error_quark ())
GQuark mb_route_error_quark (void);

typedef enum
{
  MB_ROUTE_ERROR_NO_DOMAIN,       /* MX needed, but no domain to look up */
  MB_ROUTE_ERROR_NO_MX,           /* the domain has no (usable) MX record */
  MB_ROUTE_ERROR_RESOLVE,         /* the DNS lookup failed (temporary) */
  MB_ROUTE_ERROR_INVALID_ADDRESS, /* a recipient without a domain */
  MB_ROUTE_ERROR_OUTSIDE_TENANT,  /* a recipient the method cannot reach */
} MbRouteError;

/* Where a profile's pacing numbers (connections, rate, daily recipients)
 * come from. */
typedef enum
{
  MB_ROUTE_LIMITS_DOCUMENTED,  /* published by Microsoft */
  MB_ROUTE_LIMITS_CHOSEN,      /* none published: Mailbridge's choice */
  MB_ROUTE_LIMITS_UNCONFIRMED, /* not confirmed; a safe stand-in */
} MbRouteLimitsSource;

/**
 * MbRouteLimits:
 * @max_connections: concurrent connections.
 * @rate_limit_messages: messages per @rate_limit_window.
 * @rate_limit_window: seconds.
 * @daily_recipient_limit: recipients per 24 h (sliding).
 * @recipients_per_transaction: at most this many RCPT per transaction; for
 *   methods that split by domain, of one domain per transaction.
 */
typedef struct
{
  guint  max_connections;
  guint  rate_limit_messages;
  gint64 rate_limit_window;
  guint  daily_recipient_limit;
  guint  recipients_per_transaction;
} MbRouteLimits;

/**
 * MbRouteProfile:
 * @method: the method.
 * @host: (nullable): the fixed endpoint; NULL: the tenant's MX host, read
 *   from DNS (never built from a pattern).
 * @port: the default port.
 * @tls: the default TLS policy.
 * @auth_required: the method signs in (a mailbox or HVE account).
 * @internal_only: only the tenant's own mailboxes can be recipients.
 * @split_by_domain: @limits.recipients_per_transaction counts recipients
 *   of one domain (the MX endpoints' rule), not the whole list.
 * @limits: the default limits.
 * @limits_source: where the pacing numbers in @limits come from.
 */
typedef struct
{
  MbRouteMethod       method;
  const char         *host;
  guint16             port;
  MbRouteTls          tls;
  gboolean            auth_required;
  gboolean            internal_only;
  gboolean            split_by_domain;
  MbRouteLimits       limits;
  MbRouteLimitsSource limits_source;
} MbRouteProfile;

/* The profile of @method; static, never NULL for a valid method. */
const MbRouteProfile *mb_route_profile_lookup (MbRouteMethod method);

/* A route's health. */
typedef enum
{
  MB_ROUTE_STATE_READY,        /* nothing wrong that we know of */
  MB_ROUTE_STATE_PAUSED,       /* held until mb_route_resume(); see reason */
  MB_ROUTE_STATE_NEEDS_SIGNIN, /* the OAuth sign-in must be repeated */
  MB_ROUTE_STATE_FAILING,      /* attempts keep failing (pause-threshold
                                * in a row); still retrying */
} MbRouteState;

#define MB_TYPE_ROUTE_STATE (mb_route_state_get_type ())
GType mb_route_state_get_type (void) G_GNUC_CONST;
/* "ready", "paused", "needs-signin", "failing" (status JSON, D-Bus). */
const char *mb_route_state_to_string (MbRouteState state);

/* Replies of the same kind in a row that pause a route by default. */
#define MB_ROUTE_DEFAULT_PAUSE_THRESHOLD 3

/**
 * MbRoute:
 *
 * Properties (all notify only on change): "name" (string, read-only),
 * "state" (#MbRouteState), "pause-reason" (string, nullable),
 * "last-reply" (string, nullable: "550 5.7.64 TenantAttribution; ..." or
 * "mb.timeout ..."), "hint" (pointer to a static #MbReplyHint, nullable),
 * "pause-threshold" (uint, read-write).
 *
 * Signal "state-changed" (MbRoute *route, MbRouteState old_state): after
 * the properties of a change were notified.
 */
#define MB_TYPE_ROUTE (mb_route_get_type ())
G_DECLARE_FINAL_TYPE (MbRoute, mb_route, MB, ROUTE, GObject)

/* Copies what it needs from @config. */
MbRoute *mb_route_new (const MbRouteConfig *config);

const char           *mb_route_get_name (MbRoute *route);
MbRouteMethod         mb_route_get_method (MbRoute *route);
const MbRouteProfile *mb_route_get_profile (MbRoute *route);
/* (nullable) The configured host; NULL: the profile's, or MX lookup. */
const char *mb_route_get_host (MbRoute *route);
/* The configured port, else the profile's. */
guint16     mb_route_get_port (MbRoute *route);
MbRouteTls  mb_route_get_tls (MbRoute *route);
MbRouteAuth mb_route_get_auth (MbRoute *route);
/* (nullable) */
const char *mb_route_get_mailbox (MbRoute *route);
/* (nullable) The tenant's domain. */
const char *mb_route_get_domain (MbRoute *route);

/* The configuration's values where set, else the profile's.  A
 * recipients_per_transaction above the daily limit is lowered to it, so
 * every batch fits into an empty daily budget. */
const MbRouteLimits *mb_route_get_limits (MbRoute *route);

/* (transfer none) The route's pacer, made from its limits (24 h recipient
 * window) on first use; tests may replace its clock. */
MbPacer *mb_route_get_pacer (MbRoute *route);

MbRouteState mb_route_get_state (MbRoute *route);
/* (nullable) */
const char *mb_route_get_pause_reason (MbRoute *route);
/* (nullable) */
const char *mb_route_get_last_reply (MbRoute *route);
/* (nullable) The hint for the last reply. */
const MbReplyHint *mb_route_get_hint (MbRoute *route);

guint mb_route_get_pause_threshold (MbRoute *route);
/* @threshold >= 1. */
void mb_route_set_pause_threshold (MbRoute *route, guint threshold);

/* Feeds the reply that ended an attempt (the final reply of a transaction,
 * or the reply that broke off the session):
 *   - 2xx/3xx: success; the route is no longer failing and the counts of
 *     failures and repeated replies start over;
 *   - a reply whose hint has pause_route: failing at once; when the same
 *     reply (basic and enhanced code) came pause-threshold times in a row,
 *     the route pauses, with a log line naming the reply and the hint;
 *   - any other 4xx: a transient failure; the route is failing once
 *     pause-threshold failures came in a row (one greylisting 451 leaves
 *     it READY); the count of repeated replies starts over;
 *   - any other 5xx: the upstream refused one message, the route itself
 *     works: no longer failing, both counts start over.
 * last-reply and hint always follow the newest reply.  A paused route stays
 * paused whatever comes in, until mb_route_resume(). */
void mb_route_record_result (MbRoute *route, const MbSmtpReply *reply);

/* The same for a failure without a reply: @keyword is an "mb." pseudo
 * reply of mb-reply-hints ("mb.timeout", "mb.tls-untrusted", ...),
 * @detail (nullable) the specifics for the log and last-reply.  Counts as
 * a transient failure like a 4xx; repeated pause_route keywords pause as
 * above. */
void mb_route_record_local_failure (MbRoute    *route,
                                    const char *keyword,
                                    const char *detail);

/* Holds the route (state PAUSED) with @reason, e.g. by the admin.  A
 * paused route keeps its first reason. */
void mb_route_pause (MbRoute *route, const char *reason);
/* Clears a pause and the count of repeated replies. */
void mb_route_resume (MbRoute *route);

/* Set by the OAuth code when the refresh token is gone or refused; cleared
 * after a new sign-in. */
void mb_route_set_needs_signin (MbRoute *route, gboolean needs_signin);

/* Where to connect: the configured host; else the profile's fixed host;
 * else the MX hosts of the route's domain, or without one of
 * @recipient_domain (nullable), lowest preference first, so the caller can
 * try the next on a connect failure.  @resolver: (nullable): NULL for
 * g_resolver_get_default().  The result is a GPtrArray of host names (owned
 * strings, never empty); @port: (out) (optional) the port to use. */
void       mb_route_resolve_async (MbRoute            *route,
                                   GResolver          *resolver,
                                   const char         *recipient_domain,
                                   GCancellable       *cancellable,
                                   GAsyncReadyCallback callback,
                                   gpointer            user_data);
GPtrArray *mb_route_resolve_finish (MbRoute      *route,
                                    GAsyncResult *result,
                                    guint16      *port,
                                    GError      **error);

/* Splits @addresses (element-type utf8) into the transactions the method
 * allows: batches of at most recipients_per_transaction in input order;
 * for the MX methods first grouped by domain (case-insensitive, domains in
 * order of first appearance), one domain per batch.  Returns a GPtrArray
 * of GPtrArray of const char *, pointing into @addresses' strings (which
 * must outlive it); freeing the outer array frees the inner ones. */
GPtrArray *mb_route_split_recipients (MbRoute *route, GPtrArray *addresses);

/* Whether the route can deliver to @address.  FALSE with
 * MB_ROUTE_ERROR_INVALID_ADDRESS for an address without a domain; with
 * MB_ROUTE_ERROR_OUTSIDE_TENANT when the method reaches only the tenant's
 * mailboxes (Direct Send, HVE), the route has a domain, and @address is in
 * neither it nor one of its subdomains.  Without a configured domain no
 * domain is refused here (Microsoft refuses, M365-FACTS.md 7). */
gboolean mb_route_accepts_recipient (MbRoute    *route,
                                     const char *address,
                                     GError    **error);

G_END_DECLS
