/* mb-retry.h - what is due when: retry schedule, expiry, delay notices
 *
 * Pure functions of an envelope, the configuration's durations and an
 * explicit `now` (unix seconds), so the scheduler's decisions can be
 * tested with a table of times.  No I/O, no clock, no state.
 */
#pragma once

#include <glib.h>

#include "mb-envelope.h"

G_BEGIN_DECLS

/* Used when a schedule is empty or missing: [relay] retry-schedule's
 * first default step. */
#define MB_RETRY_DEFAULT_DELAY 60

/* Whether @recipient still waits for delivery (QUEUED or DEFERRED). */
gboolean mb_retry_is_pending (const MbRecipient *recipient);

/* The wait in seconds after the @attempts-th failed attempt (>= 1):
 * schedule[attempts - 1], the last step repeating.  @schedule: (nullable)
 * (element-type gint64). */
gint64 mb_retry_get_delay (const GArray *schedule, guint attempts);

/* @now + mb_retry_get_delay (). */
gint64
mb_retry_next_attempt (const GArray *schedule, guint attempts, gint64 now);

/* When @envelope expires: its arrival plus @expire_after. */
gint64 mb_retry_expiry_time (const MbEnvelope *envelope, gint64 expire_after);

/* Whether @envelope has expired at @now and still has pending recipients
 * (a finished message never expires). */
gboolean mb_retry_is_expired (const MbEnvelope *envelope,
                              gint64            expire_after,
                              gint64            now);

/* When a delay notice becomes due: arrival plus @delay_notice_after, or
 * G_MAXINT64 when one was sent already or nothing is pending. */
gint64 mb_retry_delay_notice_time (const MbEnvelope *envelope,
                                   gint64            delay_notice_after);

/* Whether a delay notice is due at @now. */
gboolean mb_retry_delay_notice_due (const MbEnvelope *envelope,
                                    gint64            delay_notice_after,
                                    gint64            now);

/* The earliest next_attempt over the pending recipients (0 for one never
 * tried), or G_MAXINT64 when none is pending. */
gint64 mb_retry_due_time (const MbEnvelope *envelope);

/* When the scheduler must look at @envelope next: the earliest of its due
 * time, its expiry and its delay notice; 0 (at once) when nothing is
 * pending, since a finished message waits only for its reports and its
 * removal. */
gint64 mb_retry_wake_time (const MbEnvelope *envelope,
                           gint64            delay_notice_after,
                           gint64            expire_after);

/* The indexes (guint) into @envelope->recipients of the pending recipients
 * due at @now, in order. */
GArray *mb_retry_due_recipients (const MbEnvelope *envelope, gint64 now);

G_END_DECLS
