/* mb-delivery.h - one delivery attempt: one transaction of one message
 *
 * Sends one batch of a queued message's recipients over one connected
 * MbSmtpClient (or records why no connection came about), maps every
 * reply to the recipients' states, records the outcome on the route,
 * writes the envelope to the spool and appends the delivery log, in that
 * order, before it reports back.
 */
#pragma once

#include <gio/gio.h>

#include "mb-delivery-log.h"
#include "mb-envelope.h"
#include "mb-route.h"
#include "mb-sender-policy.h"
#include "mb-smtp-client.h"
#include "mb-spool.h"

G_BEGIN_DECLS

/**
 * MbDeliveryRequest:
 * @spool: the spool the message is queued in.
 * @log: (nullable): the delivery log.
 * @route: the route: its result is recorded, its name logged.
 * @client: (nullable): a connected, ready client; NULL together with
 *   @connect_error when no connection could be made for this attempt.
 * @connect_error: (nullable): why there is no @client.
 * @sender_policy: the route's sender settings.
 * @retry_schedule: (element-type gint64): [relay] retry-schedule.
 * @envelope: the message's envelope as last written.
 * @batch: (element-type guint): indexes into @envelope->recipients, at
 *   most one transaction's worth (mb_route_split_recipients()).
 * @now: unix seconds of the attempt (for next_attempt).
 *
 * Everything is copied or referenced by mb_delivery_run_async().
 */
typedef struct
{
  MbSpool                    *spool;
  MbDeliveryLog              *log;
  MbRoute                    *route;
  MbSmtpClient               *client;
  const GError               *connect_error;
  const MbSenderPolicyConfig *sender_policy;
  const GArray               *retry_schedule;
  const MbEnvelope           *envelope;
  const GArray               *batch;
  gint64                      now;
} MbDeliveryRequest;

/**
 * MbDeliveryResult:
 * @envelope: the envelope with the batch's new states (what was written,
 *   or should have been when @write_error is set).
 * @write_error: (nullable): the envelope could not be written: the caller
 *   must write @envelope before any further attempt of this message.
 * @client_usable: the connection can take the next message.
 * @sent: a transaction got as far as DATA (it counts for pacing).
 * @n_delivered, @n_deferred, @n_failed: the batch's recipients by outcome.
 */
typedef struct
{
  MbEnvelope *envelope;
  GError     *write_error;
  gboolean    client_usable;
  gboolean    sent;
  guint       n_delivered;
  guint       n_deferred;
  guint       n_failed;
} MbDeliveryResult;

void mb_delivery_result_free (MbDeliveryResult *result);

/* Runs the attempt.  Never fails: every problem ends up in the recipients'
 * states and last replies, or in @write_error. */
void              mb_delivery_run_async (const MbDeliveryRequest *request,
                                         GAsyncReadyCallback      callback,
                                         gpointer                 user_data);
MbDeliveryResult *mb_delivery_run_finish (GAsyncResult *result);

/* The last_reply text for a connection-level failure: the server's reply
 * when @error carries one ("421 4.3.2 ..."), else an "mb." pseudo reply
 * of mb-reply-hints with the error's message ("mb.tls-untrusted The
 * certificate ...").  @keyword: (out) (optional) (transfer none): the
 * "mb." keyword, or NULL for a server reply. */
char *mb_delivery_describe_error (const GError *error, const char **keyword);

/* Records a connection-level failure on @route (the reply, or the pseudo
 * reply's keyword). */
void mb_delivery_record_error (MbRoute *route, const GError *error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (MbDeliveryResult, mb_delivery_result_free)

G_END_DECLS
