/* mb-credentials-file.c - upstream secrets from a 0600 file
 *
 * WHAT IT DOES
 *   The secrets-file backend of MbCredentials.  Reads the [relay] secrets
 *   file once: groups "[route NAME]", keys password, client-secret,
 *   refresh-token, client-key-passphrase and access-token, each optionally
 *   with KIND-expires (a date or ISO 8601 time).  Answers lookups by route
 *   and kind from memory.  Stores and clears re-read the file, change it
 *   and write it back, in a worker thread.
 *
 * GUARANTEES
 *   - A file that group or others may read or write, that belongs to
 *     another user, or that is not a regular file, is refused as a whole,
 *     with the chmod or chown command that fixes it.  The check is made on
 *     the open descriptor, so a rename in between cannot swap the file
 *     checked.  Writes re-check the file before they change it.
 *   - An unknown group or key, or a date we cannot read, is refused,
 *     naming it, so a typo does not silently leave a route without its
 *     password.  A write never produces a file that reading would refuse.
 *   - Writes replace the file atomically (g_file_set_contents_full with
 *     G_FILE_SET_CONTENTS_CONSISTENT: written, fsynced, renamed) as a 0600
 *     file of ours, then fsync the directory; comments are kept.  Writes
 *     run one at a time; lookups never wait for the disk.
 *   - Secrets are never logged or put in error messages.  Our copies, the
 *     read buffer and the text written are wiped before they are freed;
 *     lookups return copies the caller wipes with mb_smtp_secret_free().
 *
 * WHAT IT DOES NOT DO
 *   Watch the file for changes made by others (a reload makes a new
 *   object), or talk to the keyring.  GKeyFile's own parse buffers are
 *   freed unwiped: GLib offers no way to wipe them.
 */
#define G_LOG_DOMAIN "mb-credentials-file"

#include "mb-credentials-file.h"

#include "mb-smtp-reply.h"

#include <errno.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <pwd.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_FILE_SIZE (1024 * 1024)
#define EXPIRES_SUFFIX "-expires"

struct _MbCredentialsFile
{
  MbCredentials parent_instance;

  char       *path;       /* (owned) immutable */
  GMutex      lock;       /* guards secrets and expiries; held briefly */
  GMutex      write_lock; /* one read-change-write at a time (workers) */
  GHashTable *secrets;    /* (owned) "route\nkind" -> secret, wiped on free */
  GHashTable *expiries;   /* (owned) "route\nkind" -> gint64 *, unix s */
};

/* A store (secret != NULL) or a clear, for write_thread(). */
typedef struct
{
  char  *route;  /* (owned) */
  char  *kind;   /* (owned) */
  char  *secret; /* (owned) (nullable) wiped on free */
  gint64 expires_at;
} WriteData;

G_DEFINE_FINAL_TYPE (MbCredentialsFile,
                     mb_credentials_file,
                     MB_TYPE_CREDENTIALS)

GQuark
mb_credentials_file_error_quark (void)
{
  return g_quark_from_static_string ("mb-credentials-file-error-quark");
}

static void
write_data_free (WriteData *data)
{
  g_free (data->route);
  g_free (data->kind);
  mb_smtp_secret_free (data->secret);
  g_free (data);
}

/* Helpers */

static void
wipe_free (gpointer secret)
{
  mb_smtp_secret_free (secret);
}

static GHashTable *
new_secrets_table (void)
{
  return g_hash_table_new_full (g_str_hash, g_str_equal, g_free, wipe_free);
}

static GHashTable *
new_expiries_table (void)
{
  return g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
}

static char *
make_key (const char *route, const char *kind)
{
  return g_strconcat (route, "\n", kind, NULL);
}

/* The name of the effective user, for "run chown NAME FILE". */
static char *
get_user_name (uid_t uid)
{
  struct passwd  entry;
  struct passwd *found = NULL;
  char           buffer[1024];

  if (getpwuid_r (uid, &entry, buffer, sizeof buffer, &found) == 0
      && found != NULL)
    return g_strdup (found->pw_name);
  return g_strdup_printf ("%u", (unsigned)uid);
}

/* The refusals say what is wrong and the command that fixes it. */
static gboolean
check_file (const char *path, const struct stat *st, GError **error)
{
  if (!S_ISREG (st->st_mode))
    {
      g_set_error (error, MB_CREDENTIALS_FILE_ERROR,
                   MB_CREDENTIALS_FILE_ERROR_PERMISSIONS,
                   "%s: refused: the secrets file must be a regular file "
                   "with mode 0600",
                   path);
      return FALSE;
    }
  if ((st->st_mode & (S_IRWXG | S_IRWXO)) != 0)
    {
      g_set_error (error, MB_CREDENTIALS_FILE_ERROR,
                   MB_CREDENTIALS_FILE_ERROR_PERMISSIONS,
                   "%s: refused: the secrets file must have mode 0600 (it "
                   "is %04o, so other users may read or change it); run "
                   "chmod 600 %s",
                   path, (unsigned)(st->st_mode & 07777), path);
      return FALSE;
    }
  if (st->st_uid != geteuid ())
    {
      g_autofree char *user = get_user_name (geteuid ());

      g_set_error (error, MB_CREDENTIALS_FILE_ERROR,
                   MB_CREDENTIALS_FILE_ERROR_PERMISSIONS,
                   "%s: refused: the secrets file belongs to uid %u, not to "
                   "the user the relay runs as (%s, uid %u); run chown %s %s",
                   path, (unsigned)st->st_uid, user, (unsigned)geteuid (), user,
                   path);
      return FALSE;
    }
  return TRUE;
}

/* Reads the whole file from an already opened and checked descriptor. */
static char *
read_all (int fd, const char *path, gsize *len, GError **error)
{
  g_autoptr (GString) buffer = g_string_sized_new (4096);

  for (;;)
    {
      char    chunk[4096];
      ssize_t n = read (fd, chunk, sizeof chunk);

      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        {
          int saved = errno;

          explicit_bzero (buffer->str, buffer->allocated_len);
          g_set_error (error, MB_CREDENTIALS_FILE_ERROR,
                       MB_CREDENTIALS_FILE_ERROR_IO, "%s: %s", path,
                       g_strerror (saved));
          return NULL;
        }
      if (n == 0)
        break;
      if (buffer->len + n > MAX_FILE_SIZE)
        {
          explicit_bzero (buffer->str, buffer->allocated_len);
          explicit_bzero (chunk, sizeof chunk);
          g_set_error (error, MB_CREDENTIALS_FILE_ERROR,
                       MB_CREDENTIALS_FILE_ERROR_IO,
                       "%s: larger than %d bytes; not a secrets file", path,
                       MAX_FILE_SIZE);
          return NULL;
        }
      g_string_append_len (buffer, chunk, n);
      explicit_bzero (chunk, sizeof chunk);
    }
  *len = buffer->len;
  return g_string_free (g_steal_pointer (&buffer), FALSE);
}

/* Opens, checks and parses @path.  With @missing_ok a file that does not
 * exist reads as empty.  Blocks. */
static GKeyFile *
load_keyfile (const char   *path,
              GKeyFileFlags flags,
              gboolean      missing_ok,
              GError      **error)
{
  g_autoptr (GKeyFile) keyfile = g_key_file_new ();
  g_autoptr (GError) local_error = NULL;
  struct stat st;
  char       *data;
  gsize       len = 0;
  gboolean    ok;
  int         fd;

  fd = g_open (path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK, 0);
  if (fd < 0)
    {
      int saved = errno;

      if (saved == ENOENT && missing_ok)
        return g_steal_pointer (&keyfile);
      g_set_error (error, MB_CREDENTIALS_FILE_ERROR,
                   saved == ENOENT ? MB_CREDENTIALS_FILE_ERROR_NOT_FOUND
                                   : MB_CREDENTIALS_FILE_ERROR_IO,
                   "%s: %s", path, g_strerror (saved));
      return NULL;
    }
  if (fstat (fd, &st) != 0)
    {
      int saved = errno;

      g_set_error (error, MB_CREDENTIALS_FILE_ERROR,
                   MB_CREDENTIALS_FILE_ERROR_IO, "%s: %s", path,
                   g_strerror (saved));
      close (fd);
      return NULL;
    }
  if (!check_file (path, &st, error))
    {
      close (fd);
      return NULL;
    }
  data = read_all (fd, path, &len, error);
  close (fd);
  if (data == NULL)
    return NULL;

  ok = g_key_file_load_from_data (keyfile, data, len, flags, &local_error);
  explicit_bzero (data, len);
  g_free (data);
  if (!ok)
    {
      /* GKeyFile's message quotes the line it refused, and that line may
       * be a secret with a typo ("client-secret: ..."): say what is wrong,
       * never what is written. */
      g_set_error (
          error, MB_CREDENTIALS_FILE_ERROR, MB_CREDENTIALS_FILE_ERROR_PARSE,
          "%s: not a secrets file: %s", path,
          local_error->domain == G_KEY_FILE_ERROR
                  && local_error->code == G_KEY_FILE_ERROR_UNKNOWN_ENCODING
              ? "it is not UTF-8 text"
              : "each line must be a [route NAME] group, a "
                "key=value pair or a # comment");
      return NULL;
    }
  return g_steal_pointer (&keyfile);
}

static char *
format_date (gint64 seconds)
{
  g_autoptr (GDateTime) when = g_date_time_new_from_unix_utc (seconds);

  return g_date_time_format_iso8601 (when);
}

/* Fills @secrets and @expiries from @keyfile; refuses what we do not know. */
static gboolean
parse_keyfile (const char *path,
               GKeyFile   *keyfile,
               GHashTable *secrets,
               GHashTable *expiries,
               GError    **error)
{
  g_auto (GStrv) groups = g_key_file_get_groups (keyfile, NULL);

  for (guint g = 0; groups[g] != NULL; g++)
    {
      g_auto (GStrv) keys = NULL;
      const char *route;

      if (!g_str_has_prefix (groups[g], "route ")
          || !mb_credentials_route_is_valid (groups[g] + 6))
        {
          g_set_error (
              error, MB_CREDENTIALS_FILE_ERROR, MB_CREDENTIALS_FILE_ERROR_PARSE,
              "%s: unknown group [%s]; use [route NAME]", path, groups[g]);
          return FALSE;
        }
      route = groups[g] + 6;
      keys = g_key_file_get_keys (keyfile, groups[g], NULL, NULL);
      for (guint k = 0; keys != NULL && keys[k] != NULL; k++)
        {
          g_autofree char *kind = NULL;
          char            *value;
          gint64           seconds;

          /* GKeyFile keeps every copy of a key set twice (also in a group
           * written twice) but sees and removes only the last: a store or
           * clear would leave the older secret in the file, to come back
           * on the next start. */
          if (g_strv_contains ((const char *const *)keys + k + 1, keys[k]))
            {
              g_set_error (error, MB_CREDENTIALS_FILE_ERROR,
                           MB_CREDENTIALS_FILE_ERROR_PARSE,
                           "%s: [%s] %s is set more than once; keep one", path,
                           groups[g], keys[k]);
              return FALSE;
            }
          if (mb_credentials_kind_is_valid (keys[k]))
            {
              value = g_key_file_get_string (keyfile, groups[g], keys[k], NULL);
              if (value != NULL)
                g_hash_table_replace (secrets, make_key (route, keys[k]),
                                      value);
              continue;
            }
          if (g_str_has_suffix (keys[k], EXPIRES_SUFFIX))
            kind = g_strndup (keys[k],
                              strlen (keys[k]) - strlen (EXPIRES_SUFFIX));
          if (kind == NULL || !mb_credentials_kind_is_valid (kind))
            {
              g_set_error (error, MB_CREDENTIALS_FILE_ERROR,
                           MB_CREDENTIALS_FILE_ERROR_PARSE,
                           "%s: [%s] unknown key %s", path, groups[g], keys[k]);
              return FALSE;
            }
          value = g_key_file_get_string (keyfile, groups[g], keys[k], NULL);
          if (value == NULL || !mb_credentials_parse_expiry (value, &seconds))
            {
              g_set_error (error, MB_CREDENTIALS_FILE_ERROR,
                           MB_CREDENTIALS_FILE_ERROR_PARSE,
                           "%s: [%s] %s: not a date; write it as 2027-03-01 "
                           "or 2027-03-01T12:00:00Z",
                           path, groups[g], keys[k]);
              g_free (value);
              return FALSE;
            }
          g_free (value);
          g_hash_table_replace (expiries, make_key (route, kind),
                                g_memdup2 (&seconds, sizeof seconds));
        }
    }
  return TRUE;
}

/* Under self->lock: a copy of the secret and its expiry. */
static char *
copy_secret (MbCredentialsFile *self,
             const char        *route,
             const char        *kind,
             gint64            *expires_at)
{
  g_autofree char *key = make_key (route, kind);
  char            *secret;
  gint64          *expiry;

  g_mutex_lock (&self->lock);
  secret = g_strdup (g_hash_table_lookup (self->secrets, key));
  expiry = g_hash_table_lookup (self->expiries, key);
  if (expires_at != NULL)
    *expires_at = secret != NULL && expiry != NULL ? *expiry : 0;
  g_mutex_unlock (&self->lock);
  return secret;
}

/* The directory entry of the renamed file is durable only once the
 * directory itself is fsynced. */
static gboolean
sync_directory (const char *path, GError **error)
{
  g_autofree char *dir = g_path_get_dirname (path);
  int              fd = g_open (dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);
  int              saved;

  if (fd >= 0 && fsync (fd) == 0)
    {
      close (fd);
      return TRUE;
    }
  saved = errno;
  if (fd >= 0)
    close (fd);
  g_set_error (error, MB_CREDENTIALS_FILE_ERROR, MB_CREDENTIALS_FILE_ERROR_IO,
               "%s: cannot sync the directory: %s", dir, g_strerror (saved));
  return FALSE;
}

/* Applies @data to a fresh read of the file and writes it back.  Called
 * with write_lock held, in a worker thread. */
static gboolean
rewrite_file (MbCredentialsFile *self, WriteData *data, GError **error)
{
  g_autoptr (GKeyFile) keyfile = NULL;
  g_autoptr (GHashTable) secrets = new_secrets_table ();
  g_autoptr (GHashTable) expiries = new_expiries_table ();
  g_autoptr (GError) local_error = NULL;
  g_autofree char *group = g_strconcat ("route ", data->route, NULL);
  g_autofree char *expires_key = g_strconcat (data->kind, EXPIRES_SUFFIX, NULL);
  gboolean         changed = TRUE;
  char            *text;
  gsize            len = 0;
  gboolean         ok;

  keyfile = load_keyfile (
      self->path, G_KEY_FILE_KEEP_COMMENTS | G_KEY_FILE_KEEP_TRANSLATIONS, TRUE,
      error);
  if (keyfile == NULL)
    return FALSE;
  /* A file edited into something we would refuse is not rewritten. */
  if (!parse_keyfile (self->path, keyfile, secrets, expiries, error))
    return FALSE;

  if (data->secret != NULL)
    {
      g_key_file_set_string (keyfile, group, data->kind, data->secret);
      if (data->expires_at > 0)
        {
          g_autofree char *date = format_date (data->expires_at);

          g_key_file_set_string (keyfile, group, expires_key, date);
        }
      else
        g_key_file_remove_key (keyfile, group, expires_key, NULL);
    }
  else if (g_key_file_has_key (keyfile, group, data->kind, NULL)
           || g_key_file_has_key (keyfile, group, expires_key, NULL))
    {
      g_auto (GStrv) left = NULL;

      g_key_file_remove_key (keyfile, group, data->kind, NULL);
      g_key_file_remove_key (keyfile, group, expires_key, NULL);
      left = g_key_file_get_keys (keyfile, group, NULL, NULL);
      if (left != NULL && left[0] == NULL)
        g_key_file_remove_group (keyfile, group, NULL);
    }
  else
    changed = FALSE;

  if (changed)
    {
      g_hash_table_remove_all (secrets);
      g_hash_table_remove_all (expiries);
      if (!parse_keyfile (self->path, keyfile, secrets, expiries, error))
        return FALSE;
      text = g_key_file_to_data (keyfile, &len, NULL);
      ok = g_file_set_contents_full (self->path, text, len,
                                     G_FILE_SET_CONTENTS_CONSISTENT, 0600,
                                     &local_error);
      explicit_bzero (text, len);
      g_free (text);
      if (!ok)
        {
          g_set_error (error, MB_CREDENTIALS_FILE_ERROR,
                       MB_CREDENTIALS_FILE_ERROR_IO, "%s: cannot write: %s",
                       self->path, local_error->message);
          return FALSE;
        }
      if (!sync_directory (self->path, error))
        return FALSE;
    }

  /* Memory follows the file as just read and written. */
  g_mutex_lock (&self->lock);
  g_hash_table_unref (self->secrets);
  self->secrets = g_steal_pointer (&secrets);
  g_hash_table_unref (self->expiries);
  self->expiries = g_steal_pointer (&expiries);
  g_mutex_unlock (&self->lock);
  return TRUE;
}

static void
write_thread (GTask        *task,
              gpointer      source_object,
              gpointer      task_data,
              GCancellable *cancellable)
{
  MbCredentialsFile *self = source_object;
  g_autoptr (GError) error = NULL;
  gboolean ok;

  if (g_task_return_error_if_cancelled (task))
    return;
  g_mutex_lock (&self->write_lock);
  ok = rewrite_file (self, task_data, &error);
  g_mutex_unlock (&self->write_lock);
  if (ok)
    g_task_return_boolean (task, TRUE);
  else
    g_task_return_error (task, g_steal_pointer (&error));
}

/* Overrides */

static void
file_lookup_async (MbCredentials      *credentials,
                   const char         *route,
                   const char         *kind,
                   GCancellable       *cancellable,
                   GAsyncReadyCallback callback,
                   gpointer            user_data)
{
  MbCredentialsFile *self = MB_CREDENTIALS_FILE (credentials);
  g_autoptr (GTask) task = NULL;
  gint64 *expires_at = g_new0 (gint64, 1);
  char   *secret;

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, file_lookup_async);
  secret = copy_secret (self, route, kind, expires_at);
  g_task_set_task_data (task, expires_at, g_free);
  /* GTask defers the callback to the main loop: never called from here. */
  g_task_return_pointer (task, secret, wipe_free);
}

static void
start_write (MbCredentialsFile  *self,
             WriteData          *data,
             gpointer            tag,
             GCancellable       *cancellable,
             GAsyncReadyCallback callback,
             gpointer            user_data)
{
  g_autoptr (GTask) task = g_task_new (self, cancellable, callback, user_data);

  g_task_set_source_tag (task, tag);
  g_task_set_task_data (task, data, (GDestroyNotify)write_data_free);
  g_task_run_in_thread (task, write_thread);
}

static void
file_store_async (MbCredentials      *credentials,
                  const char         *route,
                  const char         *kind,
                  const char         *secret,
                  gint64              expires_at,
                  GCancellable       *cancellable,
                  GAsyncReadyCallback callback,
                  gpointer            user_data)
{
  WriteData *data = g_new0 (WriteData, 1);

  data->route = g_strdup (route);
  data->kind = g_strdup (kind);
  data->secret = g_strdup (secret);
  data->expires_at = expires_at;
  start_write (MB_CREDENTIALS_FILE (credentials), data, file_store_async,
               cancellable, callback, user_data);
}

static void
file_clear_async (MbCredentials      *credentials,
                  const char         *route,
                  const char         *kind,
                  GCancellable       *cancellable,
                  GAsyncReadyCallback callback,
                  gpointer            user_data)
{
  WriteData *data = g_new0 (WriteData, 1);

  data->route = g_strdup (route);
  data->kind = g_strdup (kind);
  start_write (MB_CREDENTIALS_FILE (credentials), data, file_clear_async,
               cancellable, callback, user_data);
}

static void
file_lookup_expiry_async (MbCredentials      *credentials,
                          const char         *route,
                          const char         *kind,
                          GCancellable       *cancellable,
                          GAsyncReadyCallback callback,
                          gpointer            user_data)
{
  MbCredentialsFile *self = MB_CREDENTIALS_FILE (credentials);
  g_autoptr (GTask) task = NULL;
  gint64 *expires_at = g_new0 (gint64, 1);

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, file_lookup_expiry_async);
  mb_smtp_secret_free (copy_secret (self, route, kind, expires_at));
  g_task_set_task_data (task, expires_at, g_free);
  g_task_return_boolean (task, TRUE);
}

static void
file_list_expiries_async (MbCredentials      *credentials,
                          GCancellable       *cancellable,
                          GAsyncReadyCallback callback,
                          gpointer            user_data)
{
  MbCredentialsFile *self = MB_CREDENTIALS_FILE (credentials);
  g_autoptr (GTask) task = NULL;
  g_autoptr (GPtrArray) list = g_ptr_array_new_with_free_func (
      (GDestroyNotify)mb_credentials_expiry_free);
  GHashTableIter iter;
  gpointer       key, value;

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, file_list_expiries_async);
  g_mutex_lock (&self->lock);
  g_hash_table_iter_init (&iter, self->expiries);
  while (g_hash_table_iter_next (&iter, &key, &value))
    {
      g_auto (GStrv) parts = NULL;

      /* An expiry without its secret expires nothing. */
      if (!g_hash_table_contains (self->secrets, key))
        continue;
      parts = g_strsplit (key, "\n", 2);
      g_ptr_array_add (list, mb_credentials_expiry_new (parts[0], parts[1],
                                                        *(gint64 *)value));
    }
  g_mutex_unlock (&self->lock);
  g_task_return_pointer (task, g_steal_pointer (&list),
                         (GDestroyNotify)g_ptr_array_unref);
}

static void
mb_credentials_file_finalize (GObject *object)
{
  MbCredentialsFile *self = MB_CREDENTIALS_FILE (object);

  g_clear_pointer (&self->secrets, g_hash_table_unref);
  g_clear_pointer (&self->expiries, g_hash_table_unref);
  g_clear_pointer (&self->path, g_free);
  g_mutex_clear (&self->lock);
  g_mutex_clear (&self->write_lock);
  G_OBJECT_CLASS (mb_credentials_file_parent_class)->finalize (object);
}

static void
mb_credentials_file_class_init (MbCredentialsFileClass *klass)
{
  GObjectClass       *object_class = G_OBJECT_CLASS (klass);
  MbCredentialsClass *credentials_class = MB_CREDENTIALS_CLASS (klass);

  object_class->finalize = mb_credentials_file_finalize;
  credentials_class->lookup_async = file_lookup_async;
  credentials_class->store_async = file_store_async;
  credentials_class->clear_async = file_clear_async;
  credentials_class->lookup_expiry_async = file_lookup_expiry_async;
  credentials_class->list_expiries_async = file_list_expiries_async;
}

static void
mb_credentials_file_init (MbCredentialsFile *self)
{
  g_mutex_init (&self->lock);
  g_mutex_init (&self->write_lock);
  self->secrets = new_secrets_table ();
  self->expiries = new_expiries_table ();
}

/* Public API */

MbCredentialsFile *
mb_credentials_file_new (const char *path, GError **error)
{
  g_autoptr (MbCredentialsFile) self = NULL;
  g_autoptr (GKeyFile) keyfile = NULL;

  g_return_val_if_fail (path != NULL, NULL);

  self = g_object_new (MB_TYPE_CREDENTIALS_FILE, NULL);
  self->path = g_strdup (path);
  /* With the translations kept, password[de]= is refused as the unknown
   * key it is, whatever the locale, and as the writes refuse it. */
  keyfile = load_keyfile (path, G_KEY_FILE_KEEP_TRANSLATIONS, FALSE, error);
  if (keyfile == NULL)
    return NULL;
  if (!parse_keyfile (path, keyfile, self->secrets, self->expiries, error))
    return NULL;
  return g_steal_pointer (&self);
}

const char *
mb_credentials_file_get_path (MbCredentialsFile *self)
{
  g_return_val_if_fail (MB_IS_CREDENTIALS_FILE (self), NULL);
  return self->path;
}

char *
mb_credentials_file_lookup (MbCredentialsFile *self,
                            const char        *route,
                            const char        *kind)
{
  g_return_val_if_fail (MB_IS_CREDENTIALS_FILE (self), NULL);
  g_return_val_if_fail (route != NULL && kind != NULL, NULL);

  return copy_secret (self, route, kind, NULL);
}
