/* mb-sender-policy.h - what the envelope sender and From: become on a route
 *
 * Microsoft 365 accepts a sender per method (M365-FACTS.md 1.1): SMTP AUTH
 * and HVE only the signed-in mailbox or an address it may Send As (else
 * 5.7.60 / 5.2.252 SendAsDenied); Direct Send and the connector any
 * address of an accepted domain, the connector attributing by the MAIL
 * FROM (P1) domain (5.7.64).  This module decides, per message, the
 * reverse path and whether From: is replaced, and rewrites the header
 * section accordingly without touching anything else.
 */
#pragma once

#include <gio/gio.h>

#include "mb-relay-config.h"

G_BEGIN_DECLS

/* The longest header section mb_sender_policy_rewrite_stream() reads. */
#define MB_SENDER_POLICY_MAX_HEADER (1024 * 1024)

#define MB_SENDER_POLICY_ERROR (mb_sender_policy_error_quark ())
GQuark mb_sender_policy_error_quark (void);

typedef enum
{
  MB_SENDER_POLICY_ERROR_HEADER_TOO_LONG, /* no end of the header section
                                           * within MAX_HEADER bytes */
} MbSenderPolicyError;

/* The `sender-policy` key of [route NAME]. */
typedef enum
{
  MB_SENDER_POLICY_MODE_KEEP,             /* envelope and From: unchanged */
  MB_SENDER_POLICY_MODE_REWRITE_ENVELOPE, /* MAIL FROM := the mailbox */
  MB_SENDER_POLICY_MODE_REWRITE_FROM,     /* MAIL FROM and From: := the
                                           * mailbox, the device's address
                                           * in Reply-To: */
} MbSenderPolicyMode;

/**
 * MbSenderPolicyConfig:
 * @mode: see #MbSenderPolicyMode; mb_sender_policy_mode_for_method() gives
 *   the default.
 * @send_as: (nullable) (array zero-terminated=1): the `send-as` key:
 *   addresses the mailbox may send as; they are kept as they are.
 * @mailbox: (nullable): the route's mailbox (the HVE account for hve).
 * @admin_address: (nullable): [relay] admin-address.
 * @method: the route's method.
 * @accepted_domain: (nullable): the route's `domain`, for the log only.
 *
 * A route's sender settings.  All strings are owned copies, so a decision
 * can be made after the configuration was reloaded.
 */
typedef struct
{
  MbSenderPolicyMode mode;
  GStrv              send_as;
  char              *mailbox;
  char              *admin_address;
  MbRouteMethod      method;
  char              *accepted_domain;
} MbSenderPolicyConfig;

/* With the default mode of @method and nothing else set. */
MbSenderPolicyConfig *mb_sender_policy_config_new (MbRouteMethod method);
/* From a route (method, mailbox, domain) and [relay] admin-address
 * (nullable).  The mode is the method's default until MbRouteConfig
 * carries `sender-policy` and `send-as`. */
MbSenderPolicyConfig *
mb_sender_policy_config_new_from_route (const MbRouteConfig *route,
                                        const char          *admin_address);
MbSenderPolicyConfig      *
mb_sender_policy_config_copy (const MbSenderPolicyConfig *config);
void mb_sender_policy_config_free (MbSenderPolicyConfig *config);

/* submission and hve: REWRITE_FROM; direct-send and connector: KEEP. */
MbSenderPolicyMode mb_sender_policy_mode_for_method (MbRouteMethod method);
/* "keep", "rewrite-envelope", "rewrite-from" (the config key's values). */
const char *mb_sender_policy_mode_to_string (MbSenderPolicyMode mode);
gboolean    mb_sender_policy_mode_from_string (const char         *text,
                                               MbSenderPolicyMode *mode);

/**
 * MbSenderDecision:
 * @envelope_sender: the reverse path to send, without brackets; "" only
 *   when the device's was unusable and neither an admin address nor a
 *   mailbox is configured.
 * @rewrite_from: whether From: is replaced by @new_from.
 * @new_from: (nullable): the new From: field value, ASCII (RFC 2047
 *   encoded), unfolded; set when @rewrite_from.
 * @reply_to: (nullable): a Reply-To: value (the device's From:) to add
 *   when the message has none; only with @rewrite_from, never for
 *   MAILER-DAEMON.
 * @original_from: (nullable): the device's From: for the
 *   X-Mailbridge-Original-From: field; only with @rewrite_from.
 * @reason: why, for log lines, as key=value text:
 *   "policy=rewrite-from envelope=mailbox from=rewritten",
 *   "policy=keep envelope=kept from=kept note=sender-outside-accepted-domain",
 *   "policy=keep envelope=admin-address from=kept note=unusable-sender".
 *
 * The field values are ASCII (names in RFC 2047 words), but for an address
 * beyond ASCII (SMTPUTF8), and unfolded.
 */
typedef struct
{
  char    *envelope_sender;
  gboolean rewrite_from;
  char    *new_from;
  char    *reply_to;
  char    *original_from;
  char    *reason;
} MbSenderDecision;

/**
 * mb_sender_policy_decide:
 * @config: the route's settings.
 * @envelope_sender: the device's reverse path, "" for <>.
 * @header_from: (nullable): the device's From: field value: an address
 *   list as in the header, or a bare addr-spec; NULL when the message has
 *   no From: (or it was not read, which only matters for REWRITE_FROM).
 *
 * The decision table (an "allowed" address is the mailbox or one of
 * send_as, compared without case):
 *   - An empty or syntactically unusable reverse path becomes, with KEEP,
 *     the admin address (else the mailbox), so that the upstream's
 *     bounces reach a person; with the rewrite modes, the mailbox.
 *   - KEEP: the reverse path is kept, also outside the accepted domain
 *     (the upstream decides; the reason says so for the log).
 *   - REWRITE_ENVELOPE: the reverse path becomes the mailbox unless it is
 *     allowed; From: stays.
 *   - REWRITE_FROM: as REWRITE_ENVELOPE, and From: becomes the mailbox
 *     unless the first From: mailbox is allowed, with the display name
 *     "NAME (via Mailbridge)" (NAME: the device's display name, else its
 *     local part); Reply-To: and X-Mailbridge-Original-From: carry the
 *     device's From: (no Reply-To when it is MAILER-DAEMON).
 *   - A rewrite mode without a mailbox acts as KEEP.
 * Pure; thread-safe.
 */
MbSenderDecision *mb_sender_policy_decide (const MbSenderPolicyConfig *config,
                                           const char *envelope_sender,
                                           const char *header_from);
void              mb_sender_decision_free (MbSenderDecision *decision);

/* Whether @address is the mailbox or in send_as, without case. */
gboolean mb_sender_policy_is_allowed (const MbSenderPolicyConfig *config,
                                      const char                 *address);

/**
 * mb_sender_policy_rewrite_header:
 * @header: a header section: from the start of a message up to and
 *   including the empty line that ends it (or the whole message when it
 *   has no body); CRLF line ends.
 * @decision: what to do.
 *
 * Replaces every From: field by one "From: NEW" at the place of the
 * first (appended at the end when there was none), followed by
 * X-Mailbridge-Original-From: and, unless the section has a Reply-To:,
 * Reply-To:.  Every other byte stays as it was, in order: folded and
 * 8-bit fields included.  Without @decision->rewrite_from, returns
 * @header itself (a new reference).  Pure; thread-safe.
 *
 * Returns: (transfer full): the new header section.
 */
GBytes *mb_sender_policy_rewrite_header (GBytes                 *header,
                                         const MbSenderDecision *decision);

/**
 * mb_sender_policy_read_header:
 * @message: a message (CRLF) at its start.
 * @header: (out) (transfer full): its header section, as for
 *   mb_sender_policy_rewrite_header().
 * @rest: (out) (transfer full): bytes read past the header section (the
 *   start of the body).
 *
 * Reads from @message up to the end of its header section and a little
 * beyond (the read size); the body stays in @message.  Blocks.  Fails with
 * MB_SENDER_POLICY_ERROR_HEADER_TOO_LONG after MAX_HEADER bytes without
 * an empty line, or with the stream's error.
 */
gboolean mb_sender_policy_read_header (GInputStream *message,
                                       GBytes      **header,
                                       GBytes      **rest,
                                       GCancellable *cancellable,
                                       GError      **error);

/* The From: field value of a header section (unfolded, as in the header,
 * decoded only of its line breaks), or NULL when it has none.  Feed it to
 * mb_sender_policy_decide(). */
char *mb_sender_policy_get_from (GBytes *header);

/**
 * mb_sender_policy_rewrite_stream:
 * @message: a message (CRLF) at its start; the returned stream reads it on
 *   and closes it when closed itself.
 * @decision: what to do.
 * @size_delta: (out) (optional): how many bytes longer the message gets
 *   (negative when shorter), for SIZE=.
 *
 * Reads the header section (blocking, as mb_sender_policy_read_header()),
 * rewrites it, and returns a stream of the new header section followed by
 * the rest of @message, unchanged and never held in memory.  Without
 * @decision->rewrite_from, returns @message itself (a new reference) and
 * reads nothing.  The returned stream's reads, also the asynchronous ones,
 * go to @message once the header is out.
 *
 * Returns: (transfer full) (nullable): the stream, or NULL with @error.
 */
GInputStream *mb_sender_policy_rewrite_stream (GInputStream           *message,
                                               const MbSenderDecision *decision,
                                               gint64       *size_delta,
                                               GCancellable *cancellable,
                                               GError      **error);

/**
 * mb_sender_policy_apply_async:
 * @config: the route's settings (copied).
 * @envelope_sender: the device's reverse path.
 * @message: the queued message (CRLF) at its start.
 *
 * The whole step for one message in a worker thread: reads the header
 * section when the mode may need From:, decides, and rewrites the stream.
 * mb_sender_policy_apply_finish() returns the stream to send and the
 * decision (log its reason; send its envelope_sender).
 */
void          mb_sender_policy_apply_async (const MbSenderPolicyConfig *config,
                                            const char                 *envelope_sender,
                                            GInputStream               *message,
                                            GCancellable               *cancellable,
                                            GAsyncReadyCallback         callback,
                                            gpointer                    user_data);
GInputStream *mb_sender_policy_apply_finish (GAsyncResult      *result,
                                             MbSenderDecision **decision,
                                             gint64            *size_delta,
                                             GError           **error);
/* The same, blocking; for mailbridgectl, tests and worker threads. */
GInputStream *mb_sender_policy_apply (const MbSenderPolicyConfig *config,
                                      const char        *envelope_sender,
                                      GInputStream      *message,
                                      MbSenderDecision **decision,
                                      gint64            *size_delta,
                                      GCancellable      *cancellable,
                                      GError           **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (MbSenderPolicyConfig,
                               mb_sender_policy_config_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (MbSenderDecision, mb_sender_decision_free)

G_END_DECLS
