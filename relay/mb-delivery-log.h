/* mb-delivery-log.h - the history of delivery attempts (SQLite)
 *
 * One record per delivery attempt per recipient, and per final event
 * (bounced, expired, deleted by the admin, a report sent), kept in an SQLite
 * database the caller places (e.g. $XDG_STATE_HOME/mailbridge/
 * delivery-log.sqlite).  The log is history, never the truth: the spool's
 * envelopes are.  Losing the last records in a crash, or the whole file to
 * corruption, loses history only.
 *
 * Threads: every SQLite call runs on one worker thread owned by the log.
 * Nothing here blocks the caller, except dropping the last reference, which
 * waits for the worker to write what is queued (flush first to avoid it).
 * Callbacks and "record-added" run on the main context that was the thread
 * default when the log was created.
 */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

#define MB_DELIVERY_LOG_ERROR (mb_delivery_log_error_quark ())
GQuark mb_delivery_log_error_quark (void);

typedef enum
{
  MB_DELIVERY_LOG_ERROR_UNAVAILABLE, /* the database cannot be opened or
                                      * created (see the log line) */
  MB_DELIVERY_LOG_ERROR_IO,          /* a statement failed (disk full, I/O,
                                      * locked by another process) */
  MB_DELIVERY_LOG_ERROR_DROPPED,     /* flush: records appended since the
                                      * last flush were lost */
} MbDeliveryLogError;

typedef enum
{
  MB_DELIVERY_STATUS_DELIVERED, /* "delivered": accepted upstream (2xx) */
  MB_DELIVERY_STATUS_DEFERRED,  /* "deferred": 4xx or no connection; retried */
  MB_DELIVERY_STATUS_FAILED,    /* "failed": permanent (5xx) refusal */
  MB_DELIVERY_STATUS_BOUNCED,   /* "bounced": a failure report (DSN) about
                                 * this recipient was queued to the sender */
  MB_DELIVERY_STATUS_EXPIRED,   /* "expired": given up after expire-after */
  MB_DELIVERY_STATUS_DELETED,   /* "deleted": removed from the queue by the
                                 * admin */
  MB_DELIVERY_STATUS_SENT_DSN,  /* "sent-dsn": a delay notice or relay report
                                 * about this recipient was queued to the
                                 * sender */
} MbDeliveryStatus;

#define MB_DELIVERY_STATUS_LAST MB_DELIVERY_STATUS_SENT_DSN

/* The stable lower-case names above, for the database, JSON and D-Bus.
 * to_string returns NULL for a value outside the enum; from_string is
 * exact (case-sensitive) and returns FALSE for unknown text. */
const char *mb_delivery_status_to_string (MbDeliveryStatus status);
gboolean    mb_delivery_status_from_string (const char       *text,
                                            MbDeliveryStatus *status);

/**
 * MbDeliveryRecord:
 * @id: the row id, set by queries and in "record-added"; 0 when appending.
 *   Ids increase with insertion (not necessarily with @time).
 * @time: unix microseconds of the event; 0 when appending means "now".
 * @queue_id: the spool id (NULL is stored as "").
 * @message_id: (nullable) the message's Message-ID header.
 * @sender: the envelope sender, "" for the null reverse path (NULL is
 *   stored as "").
 * @recipient: the envelope recipient (NULL is stored as "").
 * @route: (nullable) the route's name.
 * @reply: (nullable) the upstream reply line(s), exactly as given.  Callers
 *   pass replies, never commands: nothing secret belongs here.
 * @hint: (nullable) the keyword of mb-reply-hints.h, e.g.
 *   "m365.smtp-auth-disabled-tenant".
 * @duration_ms: how long the attempt took, 0 when not an attempt.
 *
 * Plain data; every string is owned.
 */
typedef struct
{
  gint64           id;
  gint64           time;
  char            *queue_id;
  char            *message_id;
  char            *sender;
  char            *recipient;
  char            *route;
  MbDeliveryStatus status;
  char            *reply;
  char            *hint;
  gint64           duration_ms;
} MbDeliveryRecord;

#define MB_TYPE_DELIVERY_RECORD (mb_delivery_record_get_type ())
GType mb_delivery_record_get_type (void);

MbDeliveryRecord *mb_delivery_record_new (void);
MbDeliveryRecord *mb_delivery_record_copy (const MbDeliveryRecord *record);
void              mb_delivery_record_free (MbDeliveryRecord *record);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (MbDeliveryRecord, mb_delivery_record_free)

/**
 * MbDeliveryLogQuery:
 * @since: unix microseconds, records with time >= @since; 0 = open.
 * @until: unix microseconds, records with time < @until; 0 = open.
 * @address: (nullable) a substring of the sender or the recipient,
 *   case-insensitive (Unicode case folding).
 * @status: an MbDeliveryStatus, or -1 for any.
 * @queue_id: (nullable) exactly this queue id.
 * @limit: at most this many records; 0 = no limit.
 * @offset: skip this many records first (paging).
 * @newest_first: order by time (then id) descending instead of ascending.
 *
 * Filters combine with AND.  The caller owns the strings; the log copies
 * what it needs before the call returns.  Start from
 * MB_DELIVERY_LOG_QUERY_INIT or mb_delivery_log_query_init(): a
 * zero-filled struct would filter on status 0 (delivered).
 */
typedef struct
{
  gint64   since;
  gint64   until;
  char    *address;
  int      status;
  char    *queue_id;
  guint    limit;
  guint    offset;
  gboolean newest_first;
} MbDeliveryLogQuery;

#define MB_DELIVERY_LOG_QUERY_INIT                                             \
  {                                                                            \
    .status = -1                                                               \
  }

void mb_delivery_log_query_init (MbDeliveryLogQuery *query);

#define MB_TYPE_DELIVERY_LOG (mb_delivery_log_get_type ())
G_DECLARE_FINAL_TYPE (MbDeliveryLog, mb_delivery_log, MB, DELIVERY_LOG, GObject)

/* Starts the worker, which creates the parent directory (0700) and the
 * file (0600) if needed and opens it.  Never fails: a corrupt file is
 * renamed to PATH.corrupt-YYYYMMDDTHHMMSSZ and a new one started, with a
 * warning log line; if no database can be opened at all, appends are
 * dropped and every _finish reports MB_DELIVERY_LOG_ERROR_UNAVAILABLE
 * until a later job manages to open it. */
MbDeliveryLog *mb_delivery_log_new (const char *path);

const char *mb_delivery_log_get_path (MbDeliveryLog *log);

/* Copies @record and queues it; returns at once.  Records appended in one
 * main-context iteration (and whatever piles up while the worker is busy)
 * are written in one transaction.  Thread-safe. */
void mb_delivery_log_append (MbDeliveryLog          *log,
                             const MbDeliveryRecord *record);

/* Completes once every record appended before the call is committed and
 * its "record-added" emitted.  Fails with MB_DELIVERY_LOG_ERROR_DROPPED if
 * any record appended since the previous flush was lost, or
 * MB_DELIVERY_LOG_ERROR_UNAVAILABLE. */
void     mb_delivery_log_flush_async (MbDeliveryLog      *log,
                                      GCancellable       *cancellable,
                                      GAsyncReadyCallback callback,
                                      gpointer            user_data);
gboolean mb_delivery_log_flush_finish (MbDeliveryLog *log,
                                       GAsyncResult  *result,
                                       GError       **error);

/* Records matching @query, in the order it asks for.  Sees every record
 * appended before the call.  Returns (element-type MbDeliveryRecord)
 * (transfer full), possibly empty; NULL on error. */
void       mb_delivery_log_query_async (MbDeliveryLog            *log,
                                        const MbDeliveryLogQuery *query,
                                        GCancellable             *cancellable,
                                        GAsyncReadyCallback       callback,
                                        gpointer                  user_data);
GPtrArray *mb_delivery_log_query_finish (MbDeliveryLog *log,
                                         GAsyncResult  *result,
                                         GError       **error);

/* How many records match @query's filters (limit and offset ignored). */
void     mb_delivery_log_count_async (MbDeliveryLog            *log,
                                      const MbDeliveryLogQuery *query,
                                      GCancellable             *cancellable,
                                      GAsyncReadyCallback       callback,
                                      gpointer                  user_data);
gboolean mb_delivery_log_count_finish (MbDeliveryLog *log,
                                       GAsyncResult  *result,
                                       guint64       *count,
                                       GError       **error);

/* Retention: deletes the records whose time is more than @older_than_days
 * days before the call.  The caller schedules it (e.g. at startup and
 * daily).  @n_deleted (optional) receives the number removed. */
void     mb_delivery_log_expire_async (MbDeliveryLog      *log,
                                       guint               older_than_days,
                                       GCancellable       *cancellable,
                                       GAsyncReadyCallback callback,
                                       gpointer            user_data);
gboolean mb_delivery_log_expire_finish (MbDeliveryLog *log,
                                        GAsyncResult  *result,
                                        guint64       *n_deleted,
                                        GError       **error);

/* Write transactions committed for appends since the log was created
 * (records / transactions = the average batch).  Thread-safe. */
guint64 mb_delivery_log_get_transactions (MbDeliveryLog *log);

/* "record-added" (const MbDeliveryRecord *record): emitted on the log's
 * main context after the record is committed, with its id set, in
 * commit order.  A follower connects first, then queries, and skips ids
 * it has already seen. */

G_END_DECLS
