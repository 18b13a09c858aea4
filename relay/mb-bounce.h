/* mb-bounce.h - queueing a delivery report (bounce, delay notice)
 *
 * Builds an RFC 3464 report on a queued message with mb-dsn and commits it
 * into the spool as a new message from <>, to the recipients mb-dsn names
 * (the sender, plus the admin address for failures).  The scheduler then
 * delivers it like any other message.
 */
#pragma once

#include <gio/gio.h>

#include "mb-dsn.h"
#include "mb-spool.h"

G_BEGIN_DECLS

/**
 * MbBounceRequest:
 * @spool: the spool of the original, and where the report goes.
 * @kind: failure or delay.
 * @envelope: the original's envelope.
 * @recipients: (nullable) (element-type MbRecipient): whom to report on;
 *   NULL: as mb_dsn_build() decides by @kind.
 * @admin_address: (nullable): [relay] admin-address.
 * @reporting_mta: [relay] hostname.
 * @remote_mta: (nullable): the upstream host.
 * @last_attempt: unix seconds, 0 if unknown.
 * @retry_until: unix seconds (delay notices), 0 if unknown.
 * @now: unix seconds: the report's arrival time in its envelope; 0 for
 *   the current time.
 *
 * Copied by mb_bounce_queue_async().
 */
typedef struct
{
  MbSpool          *spool;
  MbDsnKind         kind;
  const MbEnvelope *envelope;
  GPtrArray        *recipients;
  const char       *admin_address;
  const char       *reporting_mta;
  const char       *remote_mta;
  gint64            last_attempt;
  gint64            retry_until;
  gint64            now;
} MbBounceRequest;

/* Reads the original (in a worker thread), builds the report and commits
 * it to the spool (fsynced like any received message). */
void mb_bounce_queue_async (const MbBounceRequest *request,
                            GCancellable          *cancellable,
                            GAsyncReadyCallback    callback,
                            gpointer               user_data);

/* The queue id of the committed report; NULL without error when no report
 * was due (@skip says why: a null sender, a report on a report, no NOTIFY
 * asked for it); NULL with @error when building or committing failed.
 * @skip: (out) (optional). */
char *
mb_bounce_queue_finish (GAsyncResult *result, MbDsnSkip *skip, GError **error);

G_END_DECLS
