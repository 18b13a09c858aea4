/* mb-dsn.h - delivery status notifications (RFC 3464): bounces, delay
 * notices and relay reports
 *
 * Builds the report message the relay sends back to a message's sender:
 * a multipart/report (RFC 6522) with a plain-language text part, a
 * message/delivery-status part and the original message (or its header
 * section).  The caller queues the bytes like any other message, with the
 * null reverse path <> and the recipients of mb_dsn_get_report_recipients():
 * the original sender, plus the admin address for failures (one report,
 * two envelope recipients; the admin is not named in the header).
 */
#pragma once

#include <gio/gio.h>

#include "mb-envelope.h"

G_BEGIN_DECLS

/* Above this size the original is returned as its header section only
 * (RFC 3461 4.3 leaves the choice to us when RET is not given). */
#define MB_DSN_MAX_FULL_ORIGINAL (1024 * 1024)

#define MB_DSN_ERROR (mb_dsn_error_quark ())
GQuark mb_dsn_error_quark (void);

typedef enum
{
  MB_DSN_ERROR_INVALID, /* nothing to report on: no recipients, a recipient
                         * without an address, no reporting MTA */
} MbDsnError;

typedef enum
{
  MB_DSN_KIND_FAILURE, /* Action: failed (RFC 3464 2.3.3) */
  MB_DSN_KIND_DELAY,   /* Action: delayed, with Will-Retry-Until */
  MB_DSN_KIND_RELAYED, /* Action: relayed: passed to an upstream that does
                        * not report success itself (it lacks the DSN
                        * extension), for NOTIFY=SUCCESS */
} MbDsnKind;

/* Why no report was built.  mb_dsn_build() returns NULL without an error
 * and sets one of these. */
typedef enum
{
  MB_DSN_SKIP_NONE,          /* a report was built */
  MB_DSN_SKIP_NULL_SENDER,   /* the message's sender is <> */
  MB_DSN_SKIP_MAILER_DAEMON, /* the sender is MAILER-DAEMON@...: a report */
  MB_DSN_SKIP_AUTO_REPLIED,  /* the original says Auto-Submitted:
                              * auto-replied, or is itself a delivery
                              * report (RFC 3834 2, RFC 3461 6.2) */
  MB_DSN_SKIP_NOT_REQUESTED, /* no recipient asked for this kind (NOTIFY) */
} MbDsnSkip;

/**
 * MbDsnOptions:
 * @reporting_mta: our host name ([relay] hostname): Reporting-MTA and the
 *   domain of MAILER-DAEMON@ in From: and of the Message-ID.
 * @remote_mta: (nullable): the upstream host that gave the replies
 *   (Remote-MTA).
 * @last_attempt: unix seconds of the last delivery attempt
 *   (Last-Attempt-Date); 0 leaves the field out.
 * @retry_until: for a delay notice: unix seconds until which delivery is
 *   retried (Will-Retry-Until), the envelope's arrival plus expire-after;
 *   0 leaves it out.
 * @now: (nullable): the report's Date:; NULL means the current time.
 *
 * The settings of one report that are not in the envelope.
 */
typedef struct
{
  const char *reporting_mta;
  const char *remote_mta;
  gint64      last_attempt;
  gint64      retry_until;
  GDateTime  *now;
} MbDsnOptions;

/* Whether @recipient asked for a report of @kind (RFC 3461 4.1): NEVER
 * gets none; without NOTIFY a recipient gets failure and delay reports
 * (the common MTA policy), never a relay report.  Also FALSE whenever the
 * envelope's sender cannot get a report at all (<>, MAILER-DAEMON). */
gboolean mb_dsn_should_report (MbDsnKind          kind,
                               const MbEnvelope  *envelope,
                               const MbRecipient *recipient);

/* The envelope recipients of a report on @envelope: its sender, and for
 * MB_DSN_KIND_FAILURE also @admin_address (nullable; left out when it is
 * the sender, compared without case).  A sender that is not a usable
 * mailbox is replaced by the admin address (the report's To: then says
 * "undisclosed-recipients: ;").  Empty (never NULL) when the sender is <>
 * or MAILER-DAEMON.  Queue the report with the reverse path <>, so that
 * it is never reported on itself. */
GStrv mb_dsn_get_report_recipients (MbDsnKind         kind,
                                    const MbEnvelope *envelope,
                                    const char       *admin_address);

/**
 * mb_dsn_build:
 * @kind: which report.
 * @envelope: the original message's envelope (sender, ENVID, RET, arrival,
 *   queue id).
 * @recipients: (nullable) (element-type MbRecipient): the recipients to
 *   report on, usually elements of @envelope->recipients; NULL means every
 *   recipient of @envelope in the state that matches @kind (FAILED,
 *   QUEUED or DEFERRED, DELIVERED).  Those that did not ask for @kind
 *   (mb_dsn_should_report()) are left out.  Each one's last_reply is the
 *   Diagnostic-Code and decides the Status and the hint.
 * @options: see #MbDsnOptions.
 * @original: (nullable): the queued message (queue/ID.eml, CRLF) at its
 *   start.  Read up to the end of its header section when RET=HDRS or when
 *   it is larger than MB_DSN_MAX_FULL_ORIGINAL, otherwise whole; never
 *   more than MB_DSN_MAX_FULL_ORIGINAL bytes are held.  Not closed.  NULL
 *   (the file is lost) leaves the third part out.
 * @skip: (out) (optional): why no report was built, or MB_DSN_SKIP_NONE.
 * @cancellable: (nullable)
 * @error: a read error of @original, or MB_DSN_ERROR_INVALID.
 *
 * Builds the whole report message, CRLF line ends, ready to queue.  It is
 * 7-bit unless the returned original holds 8-bit octets: queue it with
 * mb_dsn_get_body_type().  Blocks on @original: run it in a thread (or use
 * mb_dsn_build_async()).  Thread-safe.
 *
 * Returns: (transfer full) (nullable): the report, or NULL with @error
 *   set, or NULL without error when there is nothing to send (@skip).
 */
GBytes *mb_dsn_build (MbDsnKind           kind,
                      const MbEnvelope   *envelope,
                      GPtrArray          *recipients,
                      const MbDsnOptions *options,
                      GInputStream       *original,
                      MbDsnSkip          *skip,
                      GCancellable       *cancellable,
                      GError            **error);

/* The same in a worker thread.  @envelope, @recipients and @options are
 * copied before this returns; @original is used by the thread until the
 * callback runs and must not be used by anyone else meanwhile. */
void mb_dsn_build_async (MbDsnKind           kind,
                         const MbEnvelope   *envelope,
                         GPtrArray          *recipients,
                         const MbDsnOptions *options,
                         GInputStream       *original,
                         GCancellable       *cancellable,
                         GAsyncReadyCallback callback,
                         gpointer            user_data);
GBytes *
mb_dsn_build_finish (GAsyncResult *result, MbDsnSkip *skip, GError **error);

/* BODY= for queueing @report: MB_SMTP_BODY_8BITMIME when it holds an octet
 * above 127 (an 8-bit original returned whole), else MB_SMTP_BODY_7BIT. */
MbSmtpBodyType mb_dsn_get_body_type (GBytes *report);

/* "null-sender", "mailer-daemon", ... for log lines; "none" for NONE. */
const char *mb_dsn_skip_to_string (MbDsnSkip skip);
/* "failure", "delay", "relayed". */
const char *mb_dsn_kind_to_string (MbDsnKind kind);

G_END_DECLS
