/* mb-spool.h - the durable message queue on disk
 *
 * Layout under the spool directory: tmp/ (being written), queue/ID.eml
 * (the message, CRLF) + queue/ID.env (its envelope), corrupt/.
 *
 * Guarantees: mb_spool_writer_commit_finish() returns TRUE only once both
 * files are fsynced, renamed into queue/ and the queue directory fsynced.
 * The envelope's arrival in queue/ is the commit point.  Concurrent commits
 * share one directory fsync (group commit).  fsync, rename and directory
 * fsync never run on the caller's main loop.
 */
#pragma once

#include <gio/gio.h>

#include "mb-envelope.h"

G_BEGIN_DECLS

#define MB_SPOOL_ERROR (mb_spool_error_quark ())
GQuark mb_spool_error_quark (void);

typedef enum
{
  MB_SPOOL_ERROR_NO_SPACE,  /* ENOSPC, EDQUOT, EFBIG: reply 452 4.3.1 */
  MB_SPOOL_ERROR_IO,        /* any other I/O error: reply 451 4.3.0 */
  MB_SPOOL_ERROR_NOT_FOUND, /* no such queue id */
  MB_SPOOL_ERROR_CORRUPT,   /* the files of that id cannot be read */
} MbSpoolError;

/* What startup recovery did. */
typedef struct
{
  guint queued;      /* messages in queue/ after recovery */
  guint tmp_removed; /* leftovers removed from tmp/ */
  guint incomplete;  /* queue/ID.eml without ID.env: never committed */
  guint corrupt;     /* moved to corrupt/ */
} MbSpoolRecovery;

#define MB_TYPE_SPOOL (mb_spool_get_type ())
G_DECLARE_FINAL_TYPE (MbSpool, mb_spool, MB, SPOOL, GObject)

/* Creates the directories (0700) if needed.  Does not read the queue. */
MbSpool *mb_spool_new (const char *directory, GError **error);

/* Startup recovery from disk alone: empties tmp/, removes uncommitted
 * halves, moves unreadable messages to corrupt/ with a log line.  Runs
 * before the main loop serves anyone, so it may block. */
gboolean
mb_spool_recover (MbSpool *spool, MbSpoolRecovery *recovery, GError **error);

/* mb_spool_recover(), handing over what it parsed: on success @envelopes
 * (which must point to NULL) gets a new array (element-type MbEnvelope)
 * (transfer full) with the envelope of every message left queued, in id
 * (arrival) order, shared with no one.  The daemon gives it to
 * mb_scheduler_set_recovered(), so startup parses each envelope once. */
gboolean mb_spool_recover_full (MbSpool         *spool,
                                MbSpoolRecovery *recovery,
                                GPtrArray      **envelopes,
                                GError         **error);

const char *mb_spool_get_directory (MbSpool *spool);
/* Group commit counters since the spool was created: directory fsync
 * rounds run, and messages committed by them (commits / rounds = the
 * average group size).  Thread-safe. */
guint64 mb_spool_get_commit_rounds (MbSpool *spool);
guint64 mb_spool_get_commits (MbSpool *spool);

/* Queue ids currently committed, oldest first. */
GPtrArray *mb_spool_list_ids (MbSpool *spool);
guint      mb_spool_get_length (MbSpool *spool);
/* queue/ID.eml */
char *mb_spool_get_message_path (MbSpool *spool, const char *id);

MbEnvelope *
mb_spool_load_envelope (MbSpool *spool, const char *id, GError **error);

/* Rewrites queue/ID.env atomically (tmp + fsync + rename + dir fsync), off
 * the main loop.  Used to record per-recipient state before the next
 * attempt.  The spool takes a copy of @envelope. */
void     mb_spool_update_envelope_async (MbSpool            *spool,
                                         const MbEnvelope   *envelope,
                                         GCancellable       *cancellable,
                                         GAsyncReadyCallback callback,
                                         gpointer            user_data);
gboolean mb_spool_update_envelope_finish (MbSpool      *spool,
                                          GAsyncResult *result,
                                          GError      **error);

/* Removes a message: the envelope first (uncommit), then the message. */
void mb_spool_remove_async (MbSpool            *spool,
                            const char         *id,
                            GCancellable       *cancellable,
                            GAsyncReadyCallback callback,
                            gpointer            user_data);
gboolean
mb_spool_remove_finish (MbSpool *spool, GAsyncResult *result, GError **error);

/* Emitted on the main context once a message is committed: "committed"
 * (const char *id).  Emitted after removal: "removed" (const char *id). */

/* One message being received. */
typedef struct _MbSpoolWriter MbSpoolWriter;

/* Opens tmp/ID.eml with a new unique, time-ordered id. */
MbSpoolWriter *mb_spool_writer_new (MbSpool *spool, GError **error);
const char    *mb_spool_writer_get_id (MbSpoolWriter *writer);
guint64        mb_spool_writer_get_size (MbSpoolWriter *writer);

/* Appends @data (copied) to the message, off the main loop.  One write may
 * be outstanding at a time. */
void     mb_spool_writer_write_async (MbSpoolWriter      *writer,
                                      const guint8       *data,
                                      gsize               len,
                                      GCancellable       *cancellable,
                                      GAsyncReadyCallback callback,
                                      gpointer            user_data);
gboolean mb_spool_writer_write_finish (MbSpoolWriter *writer,
                                       GAsyncResult  *result,
                                       GError       **error);

/* Writes the envelope (its id and size are set from the writer), fsyncs
 * both files, renames them into queue/ and fsyncs the directory, sharing
 * that fsync with concurrent commits.  On error nothing is left in queue/
 * or tmp/. */
void     mb_spool_writer_commit_async (MbSpoolWriter      *writer,
                                       MbEnvelope         *envelope,
                                       GCancellable       *cancellable,
                                       GAsyncReadyCallback callback,
                                       gpointer            user_data);
gboolean mb_spool_writer_commit_finish (MbSpoolWriter *writer,
                                        GAsyncResult  *result,
                                        GError       **error);

/* Frees the writer; an uncommitted tmp file is removed. */
void mb_spool_writer_free (MbSpoolWriter *writer);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (MbSpoolWriter, mb_spool_writer_free)

G_END_DECLS
