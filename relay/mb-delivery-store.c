/* mb-delivery-store.c - the SQLite file behind the delivery log
 *
 * What it does
 *   Keeps MbDeliveryRecords in one SQLite table, "delivery", with indexes
 *   on time, queue_id, recipient and sender; inserts batches, selects and
 *   counts by filter, deletes by age.  Status is stored as its string name
 *   so the file reads well in the sqlite3 shell.
 *
 * Guarantees
 *   - The file is created 0600 (SQLite gives its -wal and -shm files the
 *     same mode) in a directory created 0700; an existing file readable by
 *     others is narrowed to 0600.
 *   - Schema versioned by PRAGMA user_version; version 0 (a new file) gets
 *     the schema in one transaction.  WAL journal, synchronous=NORMAL: a
 *     power cut may lose the last transactions, never the file's
 *     consistency.  That is the right trade for history.
 *   - A file SQLite calls corrupt or "not a database", at open or in any
 *     later statement, a database with tables but no version, and one
 *     written by a newer schema are renamed with their -wal and -journal to
 *     PATH.corrupt-YYYYMMDDTHHMMSSZ (PATH.vN-... for a newer schema, so a
 *     downgrade keeps its data), the -shm removed, a warning logged, and a
 *     new file started; the failed operation is run once more on it.
 *   - Insert is one transaction: all records or none.
 *   - A long statement stops soon after its GCancellable is cancelled.
 *
 * What it does not do
 *   No threads and no locking: MbDeliveryLog calls it from its one worker
 *   thread.  No quick_check at open (linear in the file size): damage is
 *   found by the statements that touch it.  The sender and recipient
 *   indexes serve exact lookups; the substring filter scans.
 */
#define G_LOG_DOMAIN "mb-delivery-log"

#include "mb-delivery-store.h"

#include <errno.h>
#include <fcntl.h>
#include <sqlite3.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib/gstdio.h>

#define BUSY_TIMEOUT_MS 5000
#define EXPIRE_CHUNK 5000
#define PROGRESS_OPS 1000
#define MAX_BINDINGS 8

#define COLUMNS                                                                \
  "id, time, queue_id, message_id, sender, recipient, route, status, "         \
  "reply, hint, duration_ms"

static const char schema_v1[]
    = "BEGIN IMMEDIATE;"
      "CREATE TABLE delivery ("
      "  id INTEGER PRIMARY KEY,"
      "  time INTEGER NOT NULL,"
      "  queue_id TEXT NOT NULL,"
      "  message_id TEXT,"
      "  sender TEXT NOT NULL,"
      "  recipient TEXT NOT NULL,"
      "  route TEXT,"
      "  status TEXT NOT NULL,"
      "  reply TEXT,"
      "  hint TEXT,"
      "  duration_ms INTEGER NOT NULL DEFAULT 0);"
      "CREATE INDEX delivery_time ON delivery (time);"
      "CREATE INDEX delivery_queue_id ON delivery (queue_id);"
      "CREATE INDEX delivery_recipient ON delivery (recipient COLLATE NOCASE);"
      "CREATE INDEX delivery_sender ON delivery (sender COLLATE NOCASE);"
      "PRAGMA user_version = 1;"
      "COMMIT;";

struct _MbDeliveryStore
{
  char         *path;        /* (owned) */
  sqlite3      *db;          /* (owned) (nullable) NULL until opened */
  sqlite3_stmt *insert;      /* (owned) (nullable) */
  gboolean      corrupt;     /* the last SQLite error said "damaged" */
  gboolean      unavailable; /* the last open failed, and said so */
  GCancellable *cancellable; /* (unowned) (nullable) of the running call */
};

typedef enum
{
  OPEN_OK,
  OPEN_FAILED,   /* cannot open: permissions, disk, path */
  OPEN_UNUSABLE, /* opened, but the file is not ours to use */
} OpenResult;

typedef struct
{
  gboolean    is_text;
  gint64      number;
  const char *text;
} Binding;

typedef gboolean (*StoreOp) (MbDeliveryStore *store,
                             gpointer         data,
                             GError         **error);

/* Helpers: errors and plain statements */

static gboolean
is_corruption (int rc)
{
  return (rc & 0xff) == SQLITE_CORRUPT || (rc & 0xff) == SQLITE_NOTADB;
}

static void
set_sqlite_error (MbDeliveryStore *store,
                  GError         **error,
                  int              rc,
                  const char      *what)
{
  if (is_corruption (rc))
    store->corrupt = TRUE;
  if ((rc & 0xff) == SQLITE_INTERRUPT && store->cancellable != NULL
      && g_cancellable_is_cancelled (store->cancellable))
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_CANCELLED,
                           "Operation was cancelled");
      return;
    }
  g_set_error (
      error, MB_DELIVERY_LOG_ERROR, MB_DELIVERY_LOG_ERROR_IO, "%s: %s", what,
      store->db != NULL ? sqlite3_errmsg (store->db) : sqlite3_errstr (rc));
}

static gboolean
exec_sql (MbDeliveryStore *store, const char *sql, GError **error)
{
  int rc = sqlite3_exec (store->db, sql, NULL, NULL, NULL);

  if (rc != SQLITE_OK)
    {
      set_sqlite_error (store, error, rc, "SQL failed");
      return FALSE;
    }
  return TRUE;
}

/* Runs a statement that returns one integer (a pragma, a count). */
static gboolean
query_int (MbDeliveryStore *store,
           const char      *sql,
           gint64          *value,
           GError         **error)
{
  sqlite3_stmt *stmt = NULL;
  int           rc = sqlite3_prepare_v2 (store->db, sql, -1, &stmt, NULL);

  if (rc == SQLITE_OK)
    rc = sqlite3_step (stmt);
  if (rc == SQLITE_ROW)
    {
      *value = sqlite3_column_int64 (stmt, 0);
      rc = SQLITE_OK;
    }
  if (rc != SQLITE_OK)
    set_sqlite_error (store, error, rc, sql);
  sqlite3_finalize (stmt);
  return rc == SQLITE_OK;
}

static void
close_db (MbDeliveryStore *store)
{
  g_clear_pointer (&store->insert, sqlite3_finalize);
  /* close_v2 never fails on a connection without live statements. */
  g_clear_pointer (&store->db, sqlite3_close_v2);
}

static int
progress_cb (void *user_data)
{
  MbDeliveryStore *store = user_data;

  return store->cancellable != NULL
         && g_cancellable_is_cancelled (store->cancellable);
}

/* Helpers: the address filter */

/* Whether @haystack contains @folded (already case-folded) ignoring case:
 * ASCII without allocating, valid UTF-8 through g_utf8_casefold(). */
static gboolean
contains_folded (const char *haystack, const char *folded)
{
  gboolean ascii = TRUE;
  gsize    n = strlen (folded);

  for (const char *p = haystack; *p != '\0' && ascii; p++)
    ascii = ((guchar)*p < 0x80);
  if (!ascii && g_utf8_validate (haystack, -1, NULL))
    {
      g_autofree char *hay = g_utf8_casefold (haystack, -1);

      return strstr (hay, folded) != NULL;
    }
  for (const char *p = haystack; *p != '\0'; p++)
    {
      gsize i = 0;

      while (i < n && p[i] != '\0' && g_ascii_tolower (p[i]) == folded[i])
        i++;
      if (i == n)
        return TRUE;
    }
  return n == 0;
}

/* SQL: mb_contains(text, folded_needle) */
static void
contains_fn (sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
  const char *haystack = (const char *)sqlite3_value_text (argv[0]);
  const char *needle = (const char *)sqlite3_value_text (argv[1]);

  sqlite3_result_int (ctx, haystack != NULL && needle != NULL
                               && contains_folded (haystack, needle));
}

/* Helpers: opening */

/* Creates the file 0600 before SQLite sees it (SQLite would use 0644). */
static gboolean
prepare_file (const char *path, GError **error)
{
  g_autofree char *dir = g_path_get_dirname (path);
  struct stat      st;
  int              fd;

  if (g_mkdir_with_parents (dir, 0700) != 0)
    {
      int saved_errno = errno;

      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved_errno),
                   "Could not create directory “%s”: %s", dir,
                   g_strerror (saved_errno));
      return FALSE;
    }
  fd = g_open (path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0 || fstat (fd, &st) != 0
      || ((st.st_mode & 077) != 0 && fchmod (fd, 0600) != 0))
    {
      int saved_errno = errno;

      if (fd >= 0)
        close (fd);
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved_errno),
                   "Could not create “%s”: %s", path, g_strerror (saved_errno));
      return FALSE;
    }
  close (fd);
  return TRUE;
}

static gboolean
configure_db (MbDeliveryStore *store, GError **error)
{
  int rc;

  sqlite3_extended_result_codes (store->db, 1);
  sqlite3_busy_timeout (store->db, BUSY_TIMEOUT_MS);
  sqlite3_progress_handler (store->db, PROGRESS_OPS, progress_cb, store);
  rc = sqlite3_create_function_v2 (store->db, "mb_contains", 2,
                                   SQLITE_UTF8 | SQLITE_DETERMINISTIC
                                       | SQLITE_INNOCUOUS,
                                   NULL, contains_fn, NULL, NULL, NULL);
  if (rc != SQLITE_OK)
    {
      set_sqlite_error (store, error, rc, "Could not register mb_contains");
      return FALSE;
    }
  /* The first statement that reads the file: a foreign or damaged file
   * fails here with SQLITE_NOTADB or SQLITE_CORRUPT. */
  return exec_sql (store,
                   "PRAGMA journal_mode = WAL;"
                   "PRAGMA synchronous = NORMAL;"
                   "PRAGMA journal_size_limit = 8388608;",
                   error);
}

/* Brings the schema to our version.  Returns FALSE without an error and
 * sets *@unusable to the version of a file written by a newer Mailbridge,
 * or to -1 for a foreign file (tables, no version). */
static gboolean
migrate_db (MbDeliveryStore *store, gint64 *unusable, GError **error)
{
  gint64 version = 0;
  gint64 n_objects = 0;

  *unusable = 0;
  if (!query_int (store, "PRAGMA user_version", &version, error))
    return FALSE;
  if (version == MB_DELIVERY_STORE_SCHEMA_VERSION)
    return TRUE;
  if (version > MB_DELIVERY_STORE_SCHEMA_VERSION || version < 0)
    {
      *unusable = version > 0 ? version : -1;
      return FALSE;
    }
  if (!query_int (store, "SELECT count(*) FROM sqlite_master", &n_objects,
                  error))
    return FALSE;
  if (n_objects > 0)
    {
      *unusable = -1;
      return FALSE;
    }
  if (!exec_sql (store, schema_v1, error))
    {
      sqlite3_exec (store->db, "ROLLBACK", NULL, NULL, NULL);
      return FALSE;
    }
  return TRUE;
}

static OpenResult
open_file (MbDeliveryStore *store, char **reason, GError **error)
{
  g_autoptr (GError) local_error = NULL;
  gint64 unusable = 0;
  int    rc;

  store->corrupt = FALSE;
  if (!prepare_file (store->path, error))
    return OPEN_FAILED;
  rc = sqlite3_open_v2 (store->path, &store->db,
                        SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL);
  if (rc == SQLITE_OK && configure_db (store, &local_error)
      && migrate_db (store, &unusable, &local_error))
    rc = sqlite3_prepare_v3 (store->db,
                             "INSERT INTO delivery (time, queue_id,"
                             " message_id, sender, recipient, route, status,"
                             " reply, hint, duration_ms)"
                             " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                             -1, SQLITE_PREPARE_PERSISTENT, &store->insert,
                             NULL);
  if (rc != SQLITE_OK && local_error == NULL)
    set_sqlite_error (store, &local_error, rc, "Could not open the database");
  if (local_error == NULL && unusable == 0)
    return OPEN_OK;

  close_db (store);
  if (unusable > 0)
    {
      *reason = g_strdup_printf ("v%" G_GINT64_FORMAT, unusable);
      g_set_error (error, MB_DELIVERY_LOG_ERROR, MB_DELIVERY_LOG_ERROR_IO,
                   "schema version %" G_GINT64_FORMAT " is newer than %d",
                   unusable, MB_DELIVERY_STORE_SCHEMA_VERSION);
      return OPEN_UNUSABLE;
    }
  if (unusable < 0)
    {
      *reason = g_strdup ("corrupt");
      g_set_error_literal (error, MB_DELIVERY_LOG_ERROR,
                           MB_DELIVERY_LOG_ERROR_IO,
                           "tables but no schema version: not ours");
      return OPEN_UNUSABLE;
    }
  g_propagate_error (error, g_steal_pointer (&local_error));
  if (store->corrupt)
    {
      *reason = g_strdup ("corrupt");
      return OPEN_UNUSABLE;
    }
  return OPEN_FAILED;
}

/* Renames the database and its journal to PATH.REASON-STAMP, never over an
 * earlier one.  The WAL must go with it: left beside a new file, SQLite
 * would replay its frames into it. */
static gboolean
move_aside (MbDeliveryStore *store,
            const char      *reason,
            const char      *detail,
            GError         **error)
{
  static const char *const moved[] = { "-wal", "-journal" };
  g_autoptr (GDateTime) now = g_date_time_new_now_utc ();
  g_autofree char *stamp = g_date_time_format (now, "%Y%m%dT%H%M%SZ");
  g_autofree char *target
      = g_strdup_printf ("%s.%s-%s", store->path, reason, stamp);
  g_autofree char *shm = g_strconcat (store->path, "-shm", NULL);

  close_db (store);
  for (guint n = 1; g_file_test (target, G_FILE_TEST_EXISTS); n++)
    {
      g_free (target);
      target = g_strdup_printf ("%s.%s-%s.%u", store->path, reason, stamp, n);
    }
  if (g_rename (store->path, target) != 0 && errno != ENOENT)
    {
      int saved_errno = errno;

      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved_errno),
                   "Could not move “%s” aside: %s", store->path,
                   g_strerror (saved_errno));
      return FALSE;
    }
  for (gsize i = 0; i < G_N_ELEMENTS (moved); i++)
    {
      g_autofree char *from = g_strconcat (store->path, moved[i], NULL);
      g_autofree char *to = g_strconcat (target, moved[i], NULL);

      if (g_rename (from, to) != 0 && errno != ENOENT)
        g_unlink (from);
    }
  g_unlink (shm);
  g_log_structured (G_LOG_DOMAIN, G_LOG_LEVEL_WARNING, "MESSAGE",
                    "delivery log unusable, moved aside, starting a new one "
                    "path=%s moved_to=%s reason=%s error=\"%s\"",
                    store->path, target, reason, detail);
  return TRUE;
}

/* Helpers: running an operation with corruption recovery */

/* Runs @op; if SQLite found the file damaged, moves it aside and runs @op
 * once more on a new file. */
static gboolean
run_op (MbDeliveryStore *store,
        StoreOp          op,
        gpointer         data,
        GCancellable    *cancellable,
        GError         **error)
{
  g_autoptr (GError) local_error = NULL;
  g_autoptr (GError) move_error = NULL;
  gboolean ok;

  if (!mb_delivery_store_open (store, error))
    return FALSE;
  store->cancellable = cancellable;
  store->corrupt = FALSE;
  ok = op (store, data, &local_error);
  if (!ok && store->corrupt)
    {
      if (!move_aside (store, "corrupt", local_error->message, &move_error))
        {
          g_clear_error (&local_error);
          g_set_error (&local_error, MB_DELIVERY_LOG_ERROR,
                       MB_DELIVERY_LOG_ERROR_UNAVAILABLE, "%s",
                       move_error->message);
        }
      else if (mb_delivery_store_open (store, error))
        {
          g_clear_error (&local_error);
          ok = op (store, data, &local_error);
        }
      else
        {
          g_clear_error (&local_error);
        }
    }
  store->cancellable = NULL;
  if (local_error != NULL)
    g_propagate_error (error, g_steal_pointer (&local_error));
  return ok;
}

static void
bind_text (sqlite3_stmt *stmt, int index, const char *text)
{
  if (text != NULL)
    sqlite3_bind_text (stmt, index, text, -1, SQLITE_TRANSIENT);
  else
    sqlite3_bind_null (stmt, index);
}

static gboolean
insert_op (MbDeliveryStore *store, gpointer data, GError **error)
{
  GPtrArray    *records = data;
  sqlite3_stmt *stmt = store->insert;
  int           rc = SQLITE_DONE;

  if (!exec_sql (store, "BEGIN IMMEDIATE", error))
    return FALSE;
  for (guint i = 0; i < records->len && rc == SQLITE_DONE; i++)
    {
      MbDeliveryRecord *record = g_ptr_array_index (records, i);

      sqlite3_bind_int64 (stmt, 1, record->time);
      bind_text (stmt, 2, record->queue_id != NULL ? record->queue_id : "");
      bind_text (stmt, 3, record->message_id);
      bind_text (stmt, 4, record->sender != NULL ? record->sender : "");
      bind_text (stmt, 5, record->recipient != NULL ? record->recipient : "");
      bind_text (stmt, 6, record->route);
      bind_text (stmt, 7, mb_delivery_status_to_string (record->status));
      bind_text (stmt, 8, record->reply);
      bind_text (stmt, 9, record->hint);
      sqlite3_bind_int64 (stmt, 10, record->duration_ms);
      rc = sqlite3_step (stmt);
      record->id = sqlite3_last_insert_rowid (store->db);
      sqlite3_reset (stmt);
    }
  sqlite3_clear_bindings (stmt);
  if (rc != SQLITE_DONE)
    {
      set_sqlite_error (store, error, rc, "Could not insert");
      sqlite3_exec (store->db, "ROLLBACK", NULL, NULL, NULL);
      return FALSE;
    }
  return exec_sql (store, "COMMIT", error);
}

/* Appends " AND ..." for each filter of @query to @sql.  @folded keeps the
 * case-folded address alive while the bindings point at it. */
static guint
build_where (const MbDeliveryLogQuery *query,
             GString                  *sql,
             Binding                   bindings[MAX_BINDINGS],
             char                    **folded)
{
  guint n = 0;

  g_string_append (sql, " WHERE 1");
  if (query->since != 0)
    {
      g_string_append (sql, " AND time >= ?");
      bindings[n++] = (Binding){ FALSE, query->since, NULL };
    }
  if (query->until != 0)
    {
      g_string_append (sql, " AND time < ?");
      bindings[n++] = (Binding){ FALSE, query->until, NULL };
    }
  if (query->status >= 0)
    {
      const char *name = mb_delivery_status_to_string (query->status);

      g_string_append (sql, " AND status = ?");
      /* An unknown status matches nothing rather than everything. */
      bindings[n++] = (Binding){ TRUE, 0, name != NULL ? name : "" };
    }
  if (query->queue_id != NULL)
    {
      g_string_append (sql, " AND queue_id = ?");
      bindings[n++] = (Binding){ TRUE, 0, query->queue_id };
    }
  if (query->address != NULL)
    {
      g_autofree char *valid = g_utf8_make_valid (query->address, -1);

      *folded = g_utf8_casefold (valid, -1);
      g_string_append (sql, " AND (mb_contains (sender, ?)"
                            " OR mb_contains (recipient, ?))");
      bindings[n++] = (Binding){ TRUE, 0, *folded };
      bindings[n++] = (Binding){ TRUE, 0, *folded };
    }
  return n;
}

static gboolean
prepare_query (MbDeliveryStore          *store,
               const MbDeliveryLogQuery *query,
               const char               *select,
               gboolean                  paged,
               char                    **folded,
               sqlite3_stmt            **stmt,
               GError                  **error)
{
  g_autoptr (GString) sql = g_string_new (select);
  Binding bindings[MAX_BINDINGS];
  guint   n = build_where (query, sql, bindings, folded);
  int     rc;

  if (paged)
    g_string_append_printf (
        sql, " ORDER BY time %s, id %s LIMIT %" G_GINT64_FORMAT " OFFSET %u",
        query->newest_first ? "DESC" : "ASC",
        query->newest_first ? "DESC" : "ASC",
        query->limit > 0 ? (gint64)query->limit : -1, query->offset);
  rc = sqlite3_prepare_v2 (store->db, sql->str, -1, stmt, NULL);
  if (rc != SQLITE_OK)
    {
      set_sqlite_error (store, error, rc, "Could not prepare the query");
      return FALSE;
    }
  for (guint i = 0; i < n; i++)
    {
      if (bindings[i].is_text)
        bind_text (*stmt, (int)i + 1, bindings[i].text);
      else
        sqlite3_bind_int64 (*stmt, (int)i + 1, bindings[i].number);
    }
  return TRUE;
}

static char *
dup_column (sqlite3_stmt *stmt, int column)
{
  return g_strdup ((const char *)sqlite3_column_text (stmt, column));
}

typedef struct
{
  const MbDeliveryLogQuery *query;
  GPtrArray                *records; /* (owned) (nullable) the result */
  guint64                   count;
} SelectData;

static gboolean
select_op (MbDeliveryStore *store, gpointer data, GError **error)
{
  SelectData      *select = data;
  g_autofree char *folded = NULL;
  sqlite3_stmt    *stmt = NULL;
  g_autoptr (GPtrArray) records = g_ptr_array_new_with_free_func (
      (GDestroyNotify)mb_delivery_record_free);
  int rc;

  if (!prepare_query (store, select->query, "SELECT " COLUMNS " FROM delivery",
                      TRUE, &folded, &stmt, error))
    return FALSE;
  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    {
      g_autoptr (MbDeliveryRecord) record = mb_delivery_record_new ();
      const char *status = (const char *)sqlite3_column_text (stmt, 7);

      /* A status from a newer schema cannot be represented; skip it. */
      if (!mb_delivery_status_from_string (status, &record->status))
        continue;
      record->id = sqlite3_column_int64 (stmt, 0);
      record->time = sqlite3_column_int64 (stmt, 1);
      record->queue_id = dup_column (stmt, 2);
      record->message_id = dup_column (stmt, 3);
      record->sender = dup_column (stmt, 4);
      record->recipient = dup_column (stmt, 5);
      record->route = dup_column (stmt, 6);
      record->reply = dup_column (stmt, 8);
      record->hint = dup_column (stmt, 9);
      record->duration_ms = sqlite3_column_int64 (stmt, 10);
      g_ptr_array_add (records, g_steal_pointer (&record));
    }
  if (rc != SQLITE_DONE)
    set_sqlite_error (store, error, rc, "Could not query");
  sqlite3_finalize (stmt);
  if (rc != SQLITE_DONE)
    return FALSE;
  select->records = g_steal_pointer (&records);
  return TRUE;
}

static gboolean
count_op (MbDeliveryStore *store, gpointer data, GError **error)
{
  SelectData      *select = data;
  g_autofree char *folded = NULL;
  sqlite3_stmt    *stmt = NULL;
  int              rc;

  if (!prepare_query (store, select->query, "SELECT count(*) FROM delivery",
                      FALSE, &folded, &stmt, error))
    return FALSE;
  rc = sqlite3_step (stmt);
  if (rc == SQLITE_ROW)
    select->count = (guint64)sqlite3_column_int64 (stmt, 0);
  else
    set_sqlite_error (store, error, rc, "Could not count");
  sqlite3_finalize (stmt);
  return rc == SQLITE_ROW;
}

typedef struct
{
  gint64  cutoff;
  guint64 deleted;
} DeleteData;

/* Deletes in chunks, each its own transaction, so a first expiry of a
 * large log neither grows the WAL without bound nor ignores cancellation
 * for long. */
static gboolean
delete_op (MbDeliveryStore *store, gpointer data, GError **error)
{
  DeleteData   *expiry = data;
  sqlite3_stmt *stmt = NULL;
  int           rc;
  int           changes;

  rc = sqlite3_prepare_v2 (store->db,
                           "DELETE FROM delivery WHERE id IN (SELECT id"
                           " FROM delivery WHERE time < ? LIMIT ?)",
                           -1, &stmt, NULL);
  if (rc != SQLITE_OK)
    {
      set_sqlite_error (store, error, rc, "Could not prepare the delete");
      return FALSE;
    }
  sqlite3_bind_int64 (stmt, 1, expiry->cutoff);
  sqlite3_bind_int (stmt, 2, EXPIRE_CHUNK);
  do
    {
      rc = sqlite3_step (stmt);
      changes = sqlite3_changes (store->db);
      sqlite3_reset (stmt);
      if (rc == SQLITE_DONE)
        expiry->deleted += (guint64)changes;
      if (rc == SQLITE_DONE && changes == EXPIRE_CHUNK
          && g_cancellable_is_cancelled (store->cancellable))
        rc = SQLITE_INTERRUPT;
    }
  while (rc == SQLITE_DONE && changes == EXPIRE_CHUNK);
  if (rc != SQLITE_DONE)
    set_sqlite_error (store, error, rc, "Could not delete");
  sqlite3_finalize (stmt);
  return rc == SQLITE_DONE;
}

/* Public API */

MbDeliveryStore *
mb_delivery_store_new (const char *path)
{
  MbDeliveryStore *store = g_new0 (MbDeliveryStore, 1);

  store->path = g_strdup (path);
  return store;
}

void
mb_delivery_store_free (MbDeliveryStore *store)
{
  if (store == NULL)
    return;
  close_db (store);
  g_free (store->path);
  g_free (store);
}

gboolean
mb_delivery_store_open (MbDeliveryStore *store, GError **error)
{
  g_autoptr (GError) local_error = NULL;
  g_autofree char *reason = NULL;
  OpenResult       result;

  if (store->db != NULL)
    return TRUE;
  result = open_file (store, &reason, &local_error);
  if (result == OPEN_UNUSABLE)
    {
      g_autoptr (GError) move_error = NULL;

      if (move_aside (store, reason, local_error->message, &move_error))
        {
          g_clear_error (&local_error);
          result = open_file (store, &reason, &local_error);
        }
      else
        {
          g_clear_error (&local_error);
          local_error = g_steal_pointer (&move_error);
        }
    }
  if (result != OPEN_OK)
    {
      if (!store->unavailable)
        g_log_structured (G_LOG_DOMAIN, G_LOG_LEVEL_WARNING, "MESSAGE",
                          "delivery log unavailable, records are dropped "
                          "path=%s error=\"%s\"",
                          store->path, local_error->message);
      store->unavailable = TRUE;
      g_set_error (error, MB_DELIVERY_LOG_ERROR,
                   MB_DELIVERY_LOG_ERROR_UNAVAILABLE,
                   "Delivery log “%s” unavailable: %s", store->path,
                   local_error->message);
      return FALSE;
    }
  if (store->unavailable)
    g_message ("delivery log available again path=%s", store->path);
  store->unavailable = FALSE;
  g_debug ("delivery log open path=%s", store->path);
  return TRUE;
}

gboolean
mb_delivery_store_insert (MbDeliveryStore *store,
                          GPtrArray       *records,
                          GError         **error)
{
  gint64 now = g_get_real_time ();

  for (guint i = 0; i < records->len; i++)
    {
      MbDeliveryRecord *record = g_ptr_array_index (records, i);

      if (record->time == 0)
        record->time = now;
    }
  return run_op (store, insert_op, records, NULL, error);
}

GPtrArray *
mb_delivery_store_select (MbDeliveryStore          *store,
                          const MbDeliveryLogQuery *query,
                          GCancellable             *cancellable,
                          GError                  **error)
{
  SelectData select = { query, NULL, 0 };

  if (!run_op (store, select_op, &select, cancellable, error))
    return NULL;
  return select.records;
}

gboolean
mb_delivery_store_count (MbDeliveryStore          *store,
                         const MbDeliveryLogQuery *query,
                         GCancellable             *cancellable,
                         guint64                  *count,
                         GError                  **error)
{
  SelectData select = { query, NULL, 0 };

  if (!run_op (store, count_op, &select, cancellable, error))
    return FALSE;
  *count = select.count;
  return TRUE;
}

gboolean
mb_delivery_store_delete_before (MbDeliveryStore *store,
                                 gint64           cutoff,
                                 GCancellable    *cancellable,
                                 guint64         *n_deleted,
                                 GError         **error)
{
  DeleteData expiry = { cutoff, 0 };
  gboolean   ok = run_op (store, delete_op, &expiry, cancellable, error);

  if (n_deleted != NULL)
    *n_deleted = expiry.deleted;
  return ok;
}
