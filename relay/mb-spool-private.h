/* mb-spool-private.h - what the parts of MbSpool share
 *
 * MbSpool lives in mb-spool.c (the queue on disk: layout, ids, list, load,
 * update, remove), mb-spool-recovery.c (startup recovery) and
 * mb-spool-writer.c (the receiving path: MbSpoolWriter and the
 * group-commit committer thread).  Only they include this.  Every
 * function here may run in a worker thread.
 */
#pragma once

#include "mb-spool.h"

G_BEGIN_DECLS

/* The committer's state (mb-spool-writer.c), refcounted apart from the
 * spool so that its thread never touches a finalized spool. */
typedef struct _MbSpoolCommitter MbSpoolCommitter;

struct _MbSpool
{
  GObject parent_instance;

  char             *directory;   /* (owned) */
  char             *tmp_dir;     /* (owned) */
  char             *queue_dir;   /* (owned) */
  char             *corrupt_dir; /* (owned) */
  GMainContext     *context;     /* (owned) where signals are emitted */
  MbSpoolCommitter *committer;   /* (owned) */

  /* Makes "does queue/ID.env exist, then rename over it" (update) and
   * "unlink queue/ID.env" (remove) atomic with respect to each other, so
   * an update never resurrects a removed message. */
  GMutex queue_lock;

  GMutex id_lock;
  gint64 last_id_time; /* (locked id_lock) keeps ids strictly increasing */
};

/* mb-spool.c */

/* Sets MB_SPOOL_ERROR_NO_SPACE for ENOSPC, EDQUOT and EFBIG, else
 * MB_SPOOL_ERROR_IO; the message is "@what “@path”: strerror". */
void mb_spool_set_errno_error (GError    **error,
                               int         saved_errno,
                               const char *what,
                               const char *path);
gboolean
mb_spool_fsync_fd (int fd, const char *what, const char *path, GError **error);
/* Opens the directory @path and fsyncs it. */
gboolean mb_spool_fsync_directory (const char *path, GError **error);
/* Unlinks @path; a failure other than ENOENT is logged, not returned. */
void mb_spool_unlink_quietly (const char *path);
/* Whether @id (nullable) has the form of a queue id (see mb-spool.c). */
gboolean mb_spool_is_valid_id (const char *id);
/* strcmp() of two (char **), for g_ptr_array_sort(): queue ids and their
 * file names sort by arrival. */
int mb_spool_compare_names (gconstpointer a, gconstpointer b);
/* A new queue id, time-ordered and unique (see mb-spool.c). */
char *mb_spool_generate_id (MbSpool *spool);
/* Emits "committed" (@id) from an idle on the spool's main context. */
void mb_spool_schedule_committed (MbSpool *spool, const char *id);

/* mb-spool-writer.c */

/* Writes @data to a new file at @path (O_EXCL, 0600) and fsyncs it; on
 * failure nothing is left at @path. */
gboolean
mb_spool_write_new_file_synced (const char *path, GBytes *data, GError **error);
/* Takes @queue_fd (queue/, opened O_DIRECTORY).  No thread yet: it starts
 * at the first commit. */
MbSpoolCommitter *mb_spool_committer_new (const char *queue_dir, int queue_fd);
/* queue/, for the directory fsync of updates and removals too. */
int mb_spool_committer_get_queue_fd (MbSpoolCommitter *committer);
/* Stops the thread (joined, unless this runs on it) and drops the spool's
 * reference.  Called from the spool's finalize. */
void mb_spool_committer_shutdown (MbSpoolCommitter *committer);

G_END_DECLS
