/* mb-pacer.h - pacing a route to Microsoft's limits before they bite
 *
 * Three independent limits, each optional (0 means "no limit"):
 *   - connections: at most N open at once;
 *   - messages: at most M submissions in any window of W microseconds
 *     (sliding, not per calendar minute);
 *   - recipients: at most R recipients in any window of D microseconds
 *     (24 h for Exchange Online's daily recipient limit).
 * The pacer only counts and answers "may I, and if not, how long until I
 * may": it starts no timers and sends nothing.  The caller asks before a
 * send and records the send afterwards.
 *
 * Pure logic with an injectable monotonic clock, for tests with a fake
 * clock.  Not thread-safe: use it from one thread (the relay's main loop).
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Returns monotonic time in microseconds, like g_get_monotonic_time(). */
typedef gint64 (*MbPacerNowFunc) (gpointer user_data);

typedef struct _MbPacer MbPacer;

/* @message_window and @recipient_window in microseconds; a window of 0
 * disables its limit, as does a count of 0. */
MbPacer *mb_pacer_new (guint  max_connections,
                       guint  max_messages,
                       gint64 message_window,
                       guint  max_recipients,
                       gint64 recipient_window);
void     mb_pacer_free (MbPacer *pacer);

/* Replaces the clock (default: g_get_monotonic_time).  Set it before the
 * first use; times already recorded are not converted. */
void mb_pacer_set_clock (MbPacer       *pacer,
                         MbPacerNowFunc now_func,
                         gpointer       user_data);

guint  mb_pacer_get_max_connections (const MbPacer *pacer);
guint  mb_pacer_get_max_messages (const MbPacer *pacer);
gint64 mb_pacer_get_message_window (const MbPacer *pacer);
guint  mb_pacer_get_max_recipients (const MbPacer *pacer);
gint64 mb_pacer_get_recipient_window (const MbPacer *pacer);

/* Connections.  try_acquire takes a slot and returns TRUE, or returns
 * FALSE when all slots are taken; every TRUE needs one release. */
gboolean mb_pacer_try_acquire_connection (MbPacer *pacer);
void     mb_pacer_release_connection (MbPacer *pacer);
guint    mb_pacer_get_connections (const MbPacer *pacer);

/* Microseconds until one more message may be submitted; 0: now. */
gint64 mb_pacer_delay_for_message (MbPacer *pacer);

/* Recipients left in the current window (G_MAXUINT without a limit). */
guint mb_pacer_recipient_budget (MbPacer *pacer);

/* Microseconds until @n_recipients fit into the budget; 0: now; -1: never,
 * because @n_recipients exceeds the whole budget (split the message). */
gint64 mb_pacer_delay_for_recipients (MbPacer *pacer, guint n_recipients);

/* Both of the above: the wait before a message with @n_recipients may be
 * submitted; -1 as in mb_pacer_delay_for_recipients(). */
gint64 mb_pacer_delay_for_send (MbPacer *pacer, guint n_recipients);

/* Records one submitted message with @n_recipients accepted recipients,
 * now.  Always counted, even when a delay was due: the send happened. */
void mb_pacer_record_message (MbPacer *pacer, guint n_recipients);

/* Records in @pacer, which has recorded nothing yet, the message sends and
 * recipients @from still counts, at their times: a route whose settings
 * changed goes on with the counts of the one it replaces.  Both must run
 * on the same clock; connections are not copied.  Sends @from no longer
 * keeps (beyond its message limit) cannot be copied. */
void mb_pacer_copy_counts (MbPacer *pacer, const MbPacer *from);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (MbPacer, mb_pacer_free)

G_END_DECLS
