/* mb-spool-recovery.c - MbSpool: startup recovery of the queue on disk
 *
 * What it does
 *   Brings the spool back to a consistent queue after any stop, a crash
 *   at any instant included, from the disk alone: tmp/ is emptied (half
 *   written messages and envelopes, never acknowledged); an .eml without
 *   its .env (never committed, or removed after its envelope) is deleted;
 *   every .env is parsed and checked against its .eml.  For the daemon's
 *   startup it hands over the envelopes it parsed, so the scheduler does
 *   not read them a second time (mb_spool_recover_full()).
 *
 * Guarantees
 *   - Nothing readable is ever dropped: an .env that does not parse,
 *     names another id, lacks its .eml or disagrees with its size, and any
 *     stray file, is moved to corrupt/ (never over an earlier file there)
 *     with one warning log line naming the id, the file and the reason.
 *   - A message stays queued only if its envelope parsed and matched; the
 *     envelopes handed over are exactly those, as parsed, in id (arrival)
 *     order, owned by the caller alone.
 *   - queue/ is fsynced at the end (and corrupt/ when something moved
 *     there), so what recovery decided survives the next crash.
 *   - It may block: it runs before the relay serves anyone, in the thread
 *     that calls it.
 *
 * What it does not do
 *   It does not repair a file, does not look inside a message beyond its
 *   size, and does not lock the spool against a second daemon.
 *
 * Follows RFC 5321 6.1: an acknowledged message must survive a crash.
 */
#define G_LOG_DOMAIN "mb-spool"

#include "mb-spool-private.h"

#include <errno.h>
#include <string.h>
#include <sys/stat.h>

#include <glib/gstdio.h>

/* Helpers */

static void
log_corrupt (const char *id,
             const char *name,
             const char *reason,
             const char *detail)
{
  g_log_structured (G_LOG_DOMAIN, G_LOG_LEVEL_WARNING, "MB_QUEUE_ID", id,
                    "MESSAGE",
                    "corrupt queue file moved id=%s file=%s reason=%s%s%s%s",
                    id, name, reason, detail != NULL ? " error=\"" : "",
                    detail != NULL ? detail : "", detail != NULL ? "\"" : "");
}

/* Moves queue/NAME to corrupt/, never over an earlier file of that name. */
static gboolean
move_to_corrupt (MbSpool *spool, const char *name, GError **error)
{
  g_autofree char *from = g_build_filename (spool->queue_dir, name, NULL);
  g_autofree char *to = g_build_filename (spool->corrupt_dir, name, NULL);

  for (guint n = 1; g_file_test (to, G_FILE_TEST_EXISTS); n++)
    {
      g_free (to);
      to = g_strdup_printf ("%s/%s.%u", spool->corrupt_dir, name, n);
    }
  if (g_rename (from, to) != 0)
    {
      mb_spool_set_errno_error (error, errno,
                                "Could not move to corrupt/ the file", from);
      return FALSE;
    }
  return TRUE;
}

static gboolean
empty_tmp (MbSpool *spool, guint *removed, GError **error)
{
  g_autoptr (GDir) dir = g_dir_open (spool->tmp_dir, 0, error);
  const char *name;

  if (dir == NULL)
    return FALSE;
  while ((name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *path = g_build_filename (spool->tmp_dir, name, NULL);

      if (g_unlink (path) != 0 && g_rmdir (path) != 0)
        {
          mb_spool_set_errno_error (error, errno,
                                    "Could not remove the leftover", path);
          return FALSE;
        }
      (*removed)++;
    }
  return TRUE;
}

/* Why the message @id (both files present) cannot be trusted, or NULL
 * with its envelope in @envelope_out (transfer full). */
static const char *
check_message (MbSpool     *spool,
               const char  *id,
               MbEnvelope **envelope_out,
               char       **detail)
{
  g_autofree char *env_path = NULL;
  g_autofree char *eml_path = NULL;
  g_autofree char *contents = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (MbEnvelope) envelope = NULL;
  gsize    len;
  GStatBuf st;

  env_path = g_strdup_printf ("%s/%s.env", spool->queue_dir, id);
  eml_path = g_strdup_printf ("%s/%s.eml", spool->queue_dir, id);
  if (!g_file_get_contents (env_path, &contents, &len, &error))
    {
      *detail = g_strdup (error->message);
      return "unreadable-envelope";
    }
  envelope = mb_envelope_parse (contents, len, &error);
  if (envelope == NULL)
    {
      *detail = g_strdup (error->message);
      return "bad-envelope";
    }
  if (g_strcmp0 (envelope->id, id) != 0)
    {
      *detail = g_strdup_printf ("the envelope names id %s", envelope->id);
      return "id-mismatch";
    }
  if (g_stat (eml_path, &st) != 0)
    {
      *detail = g_strdup (g_strerror (errno));
      return "unreadable-message";
    }
  if ((guint64)st.st_size != envelope->size)
    {
      *detail = g_strdup_printf ("the message has %" G_GUINT64_FORMAT
                                 " bytes, the envelope says %" G_GUINT64_FORMAT,
                                 (guint64)st.st_size, envelope->size);
      return "size-mismatch";
    }
  *envelope_out = g_steal_pointer (&envelope);
  return NULL;
}

/* Public API */

gboolean
mb_spool_recover (MbSpool *spool, MbSpoolRecovery *recovery, GError **error)
{
  return mb_spool_recover_full (spool, recovery, NULL, error);
}

gboolean
mb_spool_recover_full (MbSpool         *spool,
                       MbSpoolRecovery *recovery,
                       GPtrArray      **envelopes,
                       GError         **error)
{
  g_autoptr (GHashTable) files = NULL; /* names in queue/ */
  g_autoptr (GPtrArray) queued = NULL; /* (element-type MbEnvelope) */
  g_autoptr (GPtrArray) names = NULL;  /* (element-type filename) owned */
  g_autoptr (GDir) dir = NULL;
  MbSpoolRecovery stats = { 0 };
  const char     *name;

  g_return_val_if_fail (MB_IS_SPOOL (spool), FALSE);
  g_return_val_if_fail (envelopes == NULL || *envelopes == NULL, FALSE);

  if (!empty_tmp (spool, &stats.tmp_removed, error))
    return FALSE;

  dir = g_dir_open (spool->queue_dir, 0, error);
  if (dir == NULL)
    return FALSE;
  names = g_ptr_array_new_with_free_func (g_free);
  files = g_hash_table_new (g_str_hash, g_str_equal);
  if (envelopes != NULL)
    queued = g_ptr_array_new_with_free_func ((GDestroyNotify)mb_envelope_free);
  while ((name = g_dir_read_name (dir)) != NULL)
    {
      char *copy = g_strdup (name);

      g_ptr_array_add (names, copy);
      g_hash_table_add (files, copy);
    }
  g_clear_pointer (&dir, g_dir_close);
  /* Arrival order, so the log reads like the queue. */
  g_ptr_array_sort (names, mb_spool_compare_names);

  for (guint i = 0; i < names->len; i++)
    {
      const char      *file = g_ptr_array_index (names, i);
      g_autofree char *id = NULL;
      g_autofree char *env = NULL;
      g_autofree char *path = g_build_filename (spool->queue_dir, file, NULL);
      g_autofree char *detail = NULL;
      g_autoptr (MbEnvelope) envelope = NULL;
      const char *reason;
      GStatBuf    st;

      if (g_lstat (path, &st) != 0)
        continue; /* an .env already moved along with its .eml */
      if (g_str_has_suffix (file, ".eml") || g_str_has_suffix (file, ".env"))
        id = g_strndup (file, strlen (file) - 4);
      if (id == NULL || !mb_spool_is_valid_id (id) || !S_ISREG (st.st_mode))
        {
          log_corrupt (id != NULL ? id : "-", file, "stray-file", NULL);
          if (!move_to_corrupt (spool, file, error))
            return FALSE;
          stats.corrupt++;
          continue;
        }
      if (g_str_has_suffix (file, ".env"))
        continue; /* with its .eml, or in the loop below if it has none */

      env = g_strconcat (id, ".env", NULL);
      if (!g_hash_table_contains (files, env))
        {
          /* Never committed, or removed after its envelope: not ours. */
          if (g_unlink (path) != 0)
            {
              mb_spool_set_errno_error (
                  error, errno, "Could not remove the uncommitted message",
                  path);
              return FALSE;
            }
          stats.incomplete++;
          continue;
        }
      reason = check_message (spool, id, &envelope, &detail);
      if (reason == NULL)
        {
          stats.queued++;
          if (queued != NULL)
            g_ptr_array_add (queued, g_steal_pointer (&envelope));
          continue;
        }
      log_corrupt (id, env, reason, detail);
      if (!move_to_corrupt (spool, env, error)
          || !move_to_corrupt (spool, file, error))
        return FALSE;
      stats.corrupt++;
    }

  /* What is left: envelopes whose message is missing (or was a stray). */
  for (guint i = 0; i < names->len; i++)
    {
      const char      *file = g_ptr_array_index (names, i);
      g_autofree char *id = NULL;
      g_autofree char *eml_path = NULL;
      g_autofree char *env_path = NULL;

      if (!g_str_has_suffix (file, ".env"))
        continue;
      id = g_strndup (file, strlen (file) - 4);
      env_path = g_build_filename (spool->queue_dir, file, NULL);
      eml_path = g_strdup_printf ("%s/%s.eml", spool->queue_dir, id);
      if (!g_file_test (env_path, G_FILE_TEST_EXISTS)
          || g_file_test (eml_path, G_FILE_TEST_EXISTS))
        continue;
      log_corrupt (id, file, "missing-message", NULL);
      if (!move_to_corrupt (spool, file, error))
        return FALSE;
      stats.corrupt++;
    }

  if (!mb_spool_fsync_directory (spool->queue_dir, error)
      || (stats.corrupt > 0
          && !mb_spool_fsync_directory (spool->corrupt_dir, error)))
    return FALSE;
  if (recovery != NULL)
    *recovery = stats;
  if (envelopes != NULL)
    *envelopes = g_steal_pointer (&queued);
  return TRUE;
}
