/* test-delivery-log.c - unit tests for mb-delivery-log */
#include "mb-delivery-log.h"

#include "mb-test-util.h"

#include <sqlite3.h>
#include <string.h>
#include <sys/stat.h>

#include <glib/gstdio.h>

#define T0 ((gint64)1700000000 * G_USEC_PER_SEC)
#define DAY ((gint64)86400 * G_USEC_PER_SEC)
#define N_BURST 10000

typedef struct
{
  char          *dir;   /* (owned) */
  char          *path;  /* (owned) the database */
  MbDeliveryLog *log;   /* (owned) (nullable) */
  GPtrArray     *added; /* (owned) (element-type MbDeliveryRecord) */
} Fixture;

static void
on_record_added_cb (MbDeliveryLog          *log,
                    const MbDeliveryRecord *record,
                    gpointer                user_data)
{
  Fixture *f = user_data;

  g_ptr_array_add (f->added, mb_delivery_record_copy (record));
}

static void
open_log (Fixture *f)
{
  f->log = mb_delivery_log_new (f->path);
  g_signal_connect (f->log, "record-added", G_CALLBACK (on_record_added_cb), f);
}

static void
close_log (Fixture *f)
{
  g_clear_object (&f->log);
  while (g_main_context_iteration (NULL, FALSE))
    ;
}

static void
fixture_setup (Fixture *f, gconstpointer data)
{
  f->dir = mb_test_make_tmpdir ("delivery-log");
  f->path = g_build_filename (f->dir, "state", "mailbridge",
                              "delivery-log.sqlite", NULL);
  f->added = g_ptr_array_new_with_free_func (
      (GDestroyNotify)mb_delivery_record_free);
  mb_test_clear_warnings ();
  if (data == NULL)
    open_log (f);
}

static void
fixture_teardown (Fixture *f, gconstpointer data)
{
  close_log (f);
  mb_test_remove_tree (f->dir);
  g_free (f->dir);
  g_free (f->path);
  g_ptr_array_unref (f->added);
}

/* Helpers: waiting for async results */

static gboolean
flush_sync (MbDeliveryLog *log, GError **error)
{
  g_autoptr (GAsyncResult) result = NULL;

  mb_delivery_log_flush_async (log, NULL, mb_test_store_result_cb, &result);
  return mb_delivery_log_flush_finish (log, mb_test_wait_for_result (&result),
                                       error);
}

static GPtrArray *
query_sync (MbDeliveryLog            *log,
            const MbDeliveryLogQuery *query,
            GCancellable             *cancellable,
            GError                  **error)
{
  g_autoptr (GAsyncResult) result = NULL;

  mb_delivery_log_query_async (log, query, cancellable, mb_test_store_result_cb,
                               &result);
  return mb_delivery_log_query_finish (log, mb_test_wait_for_result (&result),
                                       error);
}

static GPtrArray *
query_all (MbDeliveryLog *log)
{
  MbDeliveryLogQuery query = MB_DELIVERY_LOG_QUERY_INIT;
  g_autoptr (GError) error = NULL;
  GPtrArray *records = query_sync (log, &query, NULL, &error);

  g_assert_no_error (error);
  g_assert_nonnull (records);
  return records;
}

static guint64
count_sync (MbDeliveryLog *log, const MbDeliveryLogQuery *query)
{
  g_autoptr (GAsyncResult) result = NULL;
  g_autoptr (GError) error = NULL;
  guint64 count = G_MAXUINT64;

  mb_delivery_log_count_async (log, query, NULL, mb_test_store_result_cb,
                               &result);
  g_assert_true (mb_delivery_log_count_finish (
      log, mb_test_wait_for_result (&result), &count, &error));
  g_assert_no_error (error);
  return count;
}

static guint64
expire_sync (MbDeliveryLog *log, guint days)
{
  g_autoptr (GAsyncResult) result = NULL;
  g_autoptr (GError) error = NULL;
  guint64 n = G_MAXUINT64;

  mb_delivery_log_expire_async (log, days, NULL, mb_test_store_result_cb,
                                &result);
  g_assert_true (mb_delivery_log_expire_finish (
      log, mb_test_wait_for_result (&result), &n, &error));
  g_assert_no_error (error);
  return n;
}

/* Helpers: records and the file */

static MbDeliveryRecord *
make_record (gint64           time,
             const char      *queue_id,
             const char      *sender,
             const char      *recipient,
             MbDeliveryStatus status)
{
  MbDeliveryRecord *record = mb_delivery_record_new ();

  record->time = time;
  record->queue_id = g_strdup (queue_id);
  record->sender = g_strdup (sender);
  record->recipient = g_strdup (recipient);
  record->status = status;
  record->route = g_strdup ("m365");
  return record;
}

static void
append_one (MbDeliveryLog   *log,
            gint64           time,
            const char      *queue_id,
            const char      *recipient,
            MbDeliveryStatus status)
{
  g_autoptr (MbDeliveryRecord) record = make_record (
      time, queue_id, "scanner@office.example", recipient, status);

  mb_delivery_log_append (log, record);
}

static void
assert_records_equal (const MbDeliveryRecord *a, const MbDeliveryRecord *b)
{
  g_assert_cmpint (a->time, ==, b->time);
  g_assert_cmpstr (a->queue_id, ==, b->queue_id);
  g_assert_cmpstr (a->message_id, ==, b->message_id);
  g_assert_cmpstr (a->sender, ==, b->sender);
  g_assert_cmpstr (a->recipient, ==, b->recipient);
  g_assert_cmpstr (a->route, ==, b->route);
  g_assert_cmpint (a->status, ==, b->status);
  g_assert_cmpstr (a->reply, ==, b->reply);
  g_assert_cmpstr (a->hint, ==, b->hint);
  g_assert_cmpint (a->duration_ms, ==, b->duration_ms);
}

static sqlite3 *
open_direct (const char *path)
{
  sqlite3 *db = NULL;

  g_assert_cmpint (sqlite3_open_v2 (path, &db, SQLITE_OPEN_READWRITE, NULL), ==,
                   SQLITE_OK);
  return db;
}

static gint64
direct_int (sqlite3 *db, const char *sql)
{
  sqlite3_stmt *stmt = NULL;
  gint64        value;

  g_assert_cmpint (sqlite3_prepare_v2 (db, sql, -1, &stmt, NULL), ==,
                   SQLITE_OK);
  g_assert_cmpint (sqlite3_step (stmt), ==, SQLITE_ROW);
  value = sqlite3_column_int64 (stmt, 0);
  sqlite3_finalize (stmt);
  return value;
}

/* The files beside the database whose names start with "BASE.PREFIX". */
static GPtrArray *
list_moved_aside (Fixture *f, const char *prefix)
{
  g_autofree char *dir_path = g_path_get_dirname (f->path);
  g_autofree char *base = g_path_get_basename (f->path);
  g_autofree char *start = g_strconcat (base, ".", prefix, NULL);
  g_autoptr (GDir) dir = g_dir_open (dir_path, 0, NULL);
  GPtrArray  *found = g_ptr_array_new_with_free_func (g_free);
  const char *name;

  g_assert_nonnull (dir);
  while ((name = g_dir_read_name (dir)) != NULL)
    if (g_str_has_prefix (name, start))
      g_ptr_array_add (found, g_build_filename (dir_path, name, NULL));
  return found;
}

/* Tests: plain data */

/* Every status has a stable name that round-trips; others are refused. */
static void
test_status_strings (void)
{
  static const struct
  {
    MbDeliveryStatus status;
    const char      *name;
  } table[] = {
    { MB_DELIVERY_STATUS_DELIVERED, "delivered" },
    { MB_DELIVERY_STATUS_DEFERRED, "deferred" },
    { MB_DELIVERY_STATUS_FAILED, "failed" },
    { MB_DELIVERY_STATUS_BOUNCED, "bounced" },
    { MB_DELIVERY_STATUS_EXPIRED, "expired" },
    { MB_DELIVERY_STATUS_DELETED, "deleted" },
    { MB_DELIVERY_STATUS_SENT_DSN, "sent-dsn" },
  };
  MbDeliveryStatus status = MB_DELIVERY_STATUS_DEFERRED;

  g_assert_cmpuint (G_N_ELEMENTS (table), ==, MB_DELIVERY_STATUS_LAST + 1);
  for (gsize i = 0; i < G_N_ELEMENTS (table); i++)
    {
      MbDeliveryStatus parsed = MB_DELIVERY_STATUS_LAST;

      g_assert_cmpstr (mb_delivery_status_to_string (table[i].status), ==,
                       table[i].name);
      g_assert_true (mb_delivery_status_from_string (table[i].name, &parsed));
      g_assert_cmpint (parsed, ==, table[i].status);
    }
  g_assert_null (mb_delivery_status_to_string (MB_DELIVERY_STATUS_LAST + 1));
  g_assert_null (mb_delivery_status_to_string ((MbDeliveryStatus)-1));
  g_assert_false (mb_delivery_status_from_string ("Delivered", &status));
  g_assert_false (mb_delivery_status_from_string ("", &status));
  g_assert_false (mb_delivery_status_from_string (NULL, &status));
  g_assert_cmpint (status, ==, MB_DELIVERY_STATUS_DEFERRED);
}

/* A record copy is deep, keeps NULL fields NULL, and free accepts NULL. */
static void
test_record_copy (void)
{
  g_autoptr (MbDeliveryRecord) record = make_record (
      T0, "Q1", "a@example.com", "b@example.com", MB_DELIVERY_STATUS_FAILED);
  g_autoptr (MbDeliveryRecord) copy = NULL;
  MbDeliveryLogQuery query;

  record->reply = g_strdup ("550 5.1.1 unknown");
  record->id = 42;
  record->duration_ms = 17;
  copy = mb_delivery_record_copy (record);
  assert_records_equal (copy, record);
  g_assert_cmpint (copy->id, ==, 42);
  g_assert_true (copy->reply != record->reply);
  g_assert_true (copy->sender != record->sender);
  g_assert_null (copy->message_id);
  g_assert_null (copy->hint);
  mb_delivery_record_free (NULL);

  memset (&query, 0xff, sizeof query);
  mb_delivery_log_query_init (&query);
  g_assert_cmpint (query.status, ==, -1);
  g_assert_cmpint (query.since, ==, 0);
  g_assert_null (query.address);
  g_assert_cmpuint (query.limit, ==, 0);
  g_assert_false (query.newest_first);
}

/* Tests: the log */

/* Every field, including a reply full of quotes, SQL, control characters
 * and UTF-8, is stored and read back exactly; time 0 becomes "now". */
static void
test_exact_text (Fixture *f, gconstpointer data)
{
  g_autoptr (MbDeliveryRecord) record = make_record (
      T0 + 123456, "0001869f3c2a1b00-1a2b3c4d", "Scanner <>@office",
      "Jörg.Müller@contoso.example", MB_DELIVERY_STATUS_FAILED);
  g_autoptr (MbDeliveryRecord) now_record = make_record (
      0, "Q-now", "", "admin@office.example", MB_DELIVERY_STATUS_DELIVERED);
  g_autoptr (GPtrArray) records = NULL;
  g_autoptr (GError) error = NULL;
  gint64 before = g_get_real_time ();
  gint64 after;

  record->message_id = g_strdup ("<20240102.abc@office.example>");
  record->reply = g_strdup (
      "550-5.7.1 first line\r\n550 5.7.1 Service unavailable; Client host "
      "[192.0.2.1] 'quoted' \"double\" 100% _under_ \\back\tTab ünï €; "
      "'); DROP TABLE delivery;--");
  record->hint = g_strdup ("m365.delivery-not-authorized");
  record->duration_ms = 1234;
  mb_delivery_log_append (f->log, record);
  mb_delivery_log_append (f->log, now_record);
  g_assert_true (flush_sync (f->log, &error));
  g_assert_no_error (error);
  after = g_get_real_time ();

  records = query_all (f->log);
  g_assert_cmpuint (records->len, ==, 2);
  assert_records_equal (g_ptr_array_index (records, 0), record);
  g_assert_cmpint (((MbDeliveryRecord *)g_ptr_array_index (records, 0))->id, >,
                   0);

  now_record->time = ((MbDeliveryRecord *)g_ptr_array_index (records, 1))->time;
  g_assert_cmpint (now_record->time, >=, before);
  g_assert_cmpint (now_record->time, <=, after);
  assert_records_equal (g_ptr_array_index (records, 1), now_record);
  g_assert_null (
      ((MbDeliveryRecord *)g_ptr_array_index (records, 1))->message_id);
  g_assert_null (((MbDeliveryRecord *)g_ptr_array_index (records, 1))->reply);
}

/* A query sees the records appended before it, with no flush between. */
static void
test_query_sees_appends (Fixture *f, gconstpointer data)
{
  g_autoptr (GPtrArray) records = NULL;

  for (guint i = 0; i < 3; i++)
    append_one (f->log, T0 + i, "Q1", "a@example.com",
                MB_DELIVERY_STATUS_DEFERRED);
  records = query_all (f->log);
  g_assert_cmpuint (records->len, ==, 3);
}

/* The records of the filter tests, in time order. */
static const struct
{
  const char      *queue_id;
  const char      *sender;
  const char      *recipient;
  MbDeliveryStatus status;
} filter_records[] = {
  { "Q1", "scanner@office.example", "alice@contoso.example",
    MB_DELIVERY_STATUS_DELIVERED },
  { "Q1", "scanner@office.example", "bob@contoso.example",
    MB_DELIVERY_STATUS_DEFERRED },
  { "Q2", "copier@office.example", "Alice.Smith@Fabrikam.example",
    MB_DELIVERY_STATUS_FAILED },
  { "Q2", "copier@office.example", "bob@contoso.example",
    MB_DELIVERY_STATUS_BOUNCED },
  { "Q3", "", "admin@office.example", MB_DELIVERY_STATUS_DELIVERED },
  { "Q4", "fax@büro.example", "Jörg.Müller@contoso.example",
    MB_DELIVERY_STATUS_DELETED },
  { "Q5", "100%_done@office.example", "carol@contoso.example",
    MB_DELIVERY_STATUS_EXPIRED },
  { "Q5", "100%_done@office.example", "dave@contoso.example",
    MB_DELIVERY_STATUS_SENT_DSN },
};

typedef struct
{
  const char *name;
  gint64      since; /* offsets from T0 in seconds, -1 = open */
  gint64      until;
  const char *address;
  int         status;
  const char *queue_id;
  const char *expected; /* indexes into filter_records, in order */
} FilterCase;

/* Each filter, alone and combined, selects exactly the expected records,
 * and count agrees with the query. */
static void
test_filters (Fixture *f, gconstpointer data)
{
  static const FilterCase cases[] = {
    { "all", -1, -1, NULL, -1, NULL, "01234567" },
    { "since", 2, -1, NULL, -1, NULL, "234567" },
    { "until (exclusive)", -1, 2, NULL, -1, NULL, "01" },
    { "since+until", 2, 5, NULL, -1, NULL, "234" },
    { "empty range", 5, 5, NULL, -1, NULL, "" },
    { "address recipient, case", -1, -1, "ALICE", -1, NULL, "02" },
    { "address sender or recipient", -1, -1, "office.example", -1, NULL,
      "0123467" },
    { "address null sender", -1, -1, "admin@", -1, NULL, "4" },
    { "address unicode case", -1, -1, "JÖRG.MÜLLER", -1, NULL, "5" },
    { "address unicode sender", -1, -1, "BÜRO", -1, NULL, "5" },
    { "address percent literal", -1, -1, "%", -1, NULL, "67" },
    { "address underscore literal", -1, -1, "0%_D", -1, NULL, "67" },
    { "address no wildcard", -1, -1, "x%", -1, NULL, "" },
    { "address empty", -1, -1, "", -1, NULL, "01234567" },
    { "status delivered", -1, -1, NULL, MB_DELIVERY_STATUS_DELIVERED, NULL,
      "04" },
    { "status sent-dsn", -1, -1, NULL, MB_DELIVERY_STATUS_SENT_DSN, NULL, "7" },
    { "status unknown", -1, -1, NULL, 99, NULL, "" },
    { "queue id", -1, -1, NULL, -1, "Q2", "23" },
    { "queue id exact", -1, -1, NULL, -1, "q2", "" },
    { "queue+status", -1, -1, NULL, MB_DELIVERY_STATUS_DEFERRED, "Q1", "1" },
    { "address+since", 2, -1, "bob", -1, NULL, "3" },
    { "address+status+until", -1, 4, "contoso", MB_DELIVERY_STATUS_DELIVERED,
      NULL, "0" },
    { "address+queue disjoint", -1, -1, "fabrikam", -1, "Q1", "" },
    { "everything", 1, 4, "BOB", MB_DELIVERY_STATUS_DEFERRED, "Q1", "1" },
  };
  g_autoptr (GPtrArray) all = NULL;
  g_autoptr (GError) error = NULL;

  for (gsize i = 0; i < G_N_ELEMENTS (filter_records); i++)
    {
      g_autoptr (MbDeliveryRecord) record
          = make_record (T0 + (gint64)i * G_USEC_PER_SEC,
                         filter_records[i].queue_id, filter_records[i].sender,
                         filter_records[i].recipient, filter_records[i].status);

      mb_delivery_log_append (f->log, record);
    }
  g_assert_true (flush_sync (f->log, &error));
  all = query_all (f->log);
  g_assert_cmpuint (all->len, ==, G_N_ELEMENTS (filter_records));

  for (gsize c = 0; c < G_N_ELEMENTS (cases); c++)
    {
      const FilterCase  *fc = &cases[c];
      MbDeliveryLogQuery query = MB_DELIVERY_LOG_QUERY_INIT;
      g_autoptr (GPtrArray) found = NULL;
      g_autoptr (GString) got = g_string_new (NULL);

      g_test_message ("case: %s", fc->name);
      query.since = fc->since >= 0 ? T0 + fc->since * G_USEC_PER_SEC : 0;
      query.until = fc->until >= 0 ? T0 + fc->until * G_USEC_PER_SEC : 0;
      query.address = (char *)fc->address;
      query.status = fc->status;
      query.queue_id = (char *)fc->queue_id;
      found = query_sync (f->log, &query, NULL, &error);
      g_assert_no_error (error);
      for (guint i = 0; i < found->len; i++)
        {
          MbDeliveryRecord *record = g_ptr_array_index (found, i);

          for (guint j = 0; j < all->len; j++)
            if (((MbDeliveryRecord *)g_ptr_array_index (all, j))->id
                == record->id)
              g_string_append_printf (got, "%u", j);
        }
      g_assert_cmpstr (got->str, ==, fc->expected);
      g_assert_cmpuint (count_sync (f->log, &query), ==, strlen (fc->expected));
    }
}

static gint
compare_time_id (gconstpointer a, gconstpointer b)
{
  const MbDeliveryRecord *ra = *(MbDeliveryRecord *const *)a;
  const MbDeliveryRecord *rb = *(MbDeliveryRecord *const *)b;

  if (ra->time != rb->time)
    return ra->time < rb->time ? -1 : 1;
  return ra->id < rb->id ? -1 : ra->id > rb->id;
}

/* Results come in (time, id) order, ascending or descending, and pages of
 * any size put together give the whole result exactly once. */
static void
test_order_and_paging (Fixture *f, gconstpointer data)
{
  MbDeliveryLogQuery query = MB_DELIVERY_LOG_QUERY_INIT;
  g_autoptr (GPtrArray) ascending = NULL;
  g_autoptr (GPtrArray) descending = NULL;
  g_autoptr (GPtrArray) expected = g_ptr_array_new ();
  g_autoptr (GError) error = NULL;

  /* Out of time order, with ties, so neither id nor time alone orders. */
  for (guint i = 0; i < 25; i++)
    append_one (f->log, T0 + ((i * 7) % 25) / 3, "Q", "r@example.com",
                MB_DELIVERY_STATUS_DELIVERED);
  g_assert_true (flush_sync (f->log, &error));

  ascending = query_all (f->log);
  g_assert_cmpuint (ascending->len, ==, 25);
  for (guint i = 0; i < ascending->len; i++)
    g_ptr_array_add (expected, g_ptr_array_index (ascending, i));
  g_ptr_array_sort (expected, compare_time_id);
  for (guint i = 0; i < ascending->len; i++)
    g_assert_true (g_ptr_array_index (ascending, i)
                   == g_ptr_array_index (expected, i));

  query.newest_first = TRUE;
  descending = query_sync (f->log, &query, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (descending->len, ==, 25);
  for (guint i = 0; i < 25; i++)
    g_assert_cmpint (
        ((MbDeliveryRecord *)g_ptr_array_index (descending, i))->id, ==,
        ((MbDeliveryRecord *)g_ptr_array_index (ascending, 24 - i))->id);

  for (guint page_size = 1; page_size <= 26; page_size += 4)
    for (int newest = 0; newest <= 1; newest++)
      {
        GPtrArray *whole = newest ? descending : ascending;
        guint      seen = 0;

        query.newest_first = newest;
        query.limit = page_size;
        for (query.offset = 0; query.offset <= 25; query.offset += page_size)
          {
            g_autoptr (GPtrArray) page
                = query_sync (f->log, &query, NULL, &error);

            g_assert_no_error (error);
            g_assert_cmpuint (page->len, ==,
                              MIN (page_size, 25 - query.offset));
            for (guint i = 0; i < page->len; i++, seen++)
              g_assert_cmpint (
                  ((MbDeliveryRecord *)g_ptr_array_index (page, i))->id, ==,
                  ((MbDeliveryRecord *)g_ptr_array_index (whole, seen))->id);
          }
        g_assert_cmpuint (seen, ==, 25);
      }
  /* Count ignores paging. */
  g_assert_cmpuint (count_sync (f->log, &query), ==, 25);
}

/* Expiry deletes exactly the records older than N days, also when there
 * are more than one delete chunk of them. */
static void
test_retention (Fixture *f, gconstpointer data)
{
  gint64 now = g_get_real_time ();
  g_autoptr (GPtrArray) left = NULL;
  g_autoptr (GError) error = NULL;

  for (guint i = 0; i < 12000; i++)
    append_one (f->log, now - 400 * DAY + i, "Qold", "old@example.com",
                MB_DELIVERY_STATUS_DELIVERED);
  append_one (f->log, now - 31 * DAY, "Q31", "a@example.com",
              MB_DELIVERY_STATUS_DELIVERED);
  append_one (f->log, now - 29 * DAY, "Q29", "a@example.com",
              MB_DELIVERY_STATUS_DELIVERED);
  append_one (f->log, now - 8 * DAY, "Q8", "a@example.com",
              MB_DELIVERY_STATUS_DELIVERED);
  append_one (f->log, now - G_USEC_PER_SEC, "Qnow", "a@example.com",
              MB_DELIVERY_STATUS_DELIVERED);

  g_assert_cmpuint (expire_sync (f->log, 30), ==, 12001);
  left = query_all (f->log);
  g_assert_cmpuint (left->len, ==, 3);
  g_assert_cmpstr (((MbDeliveryRecord *)g_ptr_array_index (left, 0))->queue_id,
                   ==, "Q29");
  g_assert_cmpuint (expire_sync (f->log, 30), ==, 0);
  g_assert_cmpuint (expire_sync (f->log, 7), ==, 2);
  g_assert_cmpuint (expire_sync (f->log, 0), ==, 1);
  g_clear_pointer (&left, g_ptr_array_unref);
  left = query_all (f->log);
  g_assert_cmpuint (left->len, ==, 0);
  g_assert_true (flush_sync (f->log, &error));
  g_assert_no_error (error);
}

/* Records survive closing and reopening; the file is 0600 in a 0700
 * directory created for it, versioned, in WAL mode, with the indexes. */
static void
test_persistence (Fixture *f, gconstpointer data)
{
  g_autoptr (GPtrArray) before = NULL;
  g_autoptr (GPtrArray) after = NULL;
  g_autofree char *dir = g_path_get_dirname (f->path);
  g_autoptr (GError) error = NULL;
  GStatBuf st;
  sqlite3 *db;

  for (guint i = 0; i < 3; i++)
    append_one (f->log, T0 + i, "Q1", "a@example.com",
                MB_DELIVERY_STATUS_DEFERRED);
  g_assert_true (flush_sync (f->log, &error));
  before = query_all (f->log);
  close_log (f);

  g_assert_cmpint (g_stat (f->path, &st), ==, 0);
  g_assert_cmpuint (st.st_mode & 07777, ==, 0600);
  g_assert_cmpint (g_stat (dir, &st), ==, 0);
  g_assert_cmpuint (st.st_mode & 07777, ==, 0700);
  db = open_direct (f->path);
  g_assert_cmpint (direct_int (db, "PRAGMA user_version"), ==, 1);
  g_assert_cmpint (direct_int (db, "SELECT count(*) FROM pragma_journal_mode"
                                   " WHERE journal_mode = 'wal'"),
                   ==, 1);
  g_assert_cmpint (direct_int (db, "SELECT count(*) FROM sqlite_master WHERE"
                                   " type = 'index' AND name IN"
                                   " ('delivery_time', 'delivery_queue_id',"
                                   " 'delivery_recipient', 'delivery_sender')"),
                   ==, 4);
  sqlite3_close (db);

  open_log (f);
  after = query_all (f->log);
  g_assert_cmpuint (after->len, ==, 3);
  for (guint i = 0; i < 3; i++)
    {
      assert_records_equal (g_ptr_array_index (after, i),
                            g_ptr_array_index (before, i));
      g_assert_cmpint (((MbDeliveryRecord *)g_ptr_array_index (after, i))->id,
                       ==,
                       ((MbDeliveryRecord *)g_ptr_array_index (before, i))->id);
    }
}

/* Appends one record, flushes and checks it is the only one found. */
static void
assert_fresh_log_works (Fixture *f)
{
  g_autoptr (GPtrArray) records = NULL;
  g_autoptr (GError) error = NULL;

  append_one (f->log, T0, "Qnew", "new@example.com",
              MB_DELIVERY_STATUS_DELIVERED);
  g_assert_true (flush_sync (f->log, &error));
  g_assert_no_error (error);
  records = query_all (f->log);
  g_assert_cmpuint (records->len, ==, 1);
  g_assert_cmpstr (
      ((MbDeliveryRecord *)g_ptr_array_index (records, 0))->queue_id, ==,
      "Qnew");
}

/* A file that is not a database is renamed to .corrupt-TIMESTAMP intact,
 * with a warning, and a new log works at the same path. */
static void
test_corrupt_not_database (Fixture *f, gconstpointer data)
{
  g_autofree char *dir = g_path_get_dirname (f->path);
  g_autoptr (GString) garbage = g_string_new (NULL);
  g_autoptr (GPtrArray) moved = NULL;
  g_autofree char *contents = NULL;
  gsize            length = 0;

  while (garbage->len < 8192)
    g_string_append (garbage, "this is not an SQLite database\n");
  g_assert_cmpint (g_mkdir_with_parents (dir, 0700), ==, 0);
  g_assert_true (
      g_file_set_contents (f->path, garbage->str, garbage->len, NULL));

  open_log (f);
  assert_fresh_log_works (f);

  moved = list_moved_aside (f, "corrupt-");
  g_assert_cmpuint (moved->len, ==, 1);
  g_assert_true (g_file_get_contents (g_ptr_array_index (moved, 0), &contents,
                                      &length, NULL));
  g_assert_cmpmem (contents, length, garbage->str, garbage->len);
  g_assert_cmpuint (mb_test_count_warnings ("moved aside"), ==, 1);
}

/* Damage found in a statement after a clean open (table pages
 * overwritten) moves the file aside and runs the statement on a new one. */
static void
test_corrupt_pages (Fixture *f, gconstpointer data)
{
  g_autofree char *wal = g_strconcat (f->path, "-wal", NULL);
  g_autofree char *contents = NULL;
  g_autoptr (GPtrArray) records = NULL;
  g_autoptr (GPtrArray) moved = NULL;
  g_autoptr (GError) error = NULL;
  gsize length = 0;

  for (guint i = 0; i < 200; i++)
    append_one (f->log, T0 + i, "Qold", "old@example.com",
                MB_DELIVERY_STATUS_DELIVERED);
  g_assert_true (flush_sync (f->log, &error));
  close_log (f);
  /* Closing checkpointed the WAL into the file and removed it. */
  g_assert_false (g_file_test (wal, G_FILE_TEST_EXISTS));

  g_assert_true (g_file_get_contents (f->path, &contents, &length, NULL));
  g_assert_cmpuint (length, >, 4096 * 3);
  memset (contents + 4096, 0xab, length - 4096);
  g_assert_true (g_file_set_contents (f->path, contents, length, NULL));

  open_log (f);
  records = query_all (f->log);
  g_assert_cmpuint (records->len, ==, 0);
  moved = list_moved_aside (f, "corrupt-");
  g_assert_cmpuint (moved->len, ==, 1);
  g_assert_cmpuint (mb_test_count_warnings ("moved aside"), ==, 1);
  assert_fresh_log_works (f);
}

/* A database from a newer schema is kept aside as .vN-TIMESTAMP, not
 * overwritten, and a new log starts. */
static void
test_newer_schema (Fixture *f, gconstpointer data)
{
  g_autofree char *dir = g_path_get_dirname (f->path);
  g_autoptr (GPtrArray) moved = NULL;
  sqlite3 *db = NULL;

  g_assert_cmpint (g_mkdir_with_parents (dir, 0700), ==, 0);
  g_assert_cmpint (sqlite3_open (f->path, &db), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_exec (db,
                                 "CREATE TABLE future (x); "
                                 "PRAGMA user_version = 7;",
                                 NULL, NULL, NULL),
                   ==, SQLITE_OK);
  sqlite3_close (db);

  open_log (f);
  assert_fresh_log_works (f);
  moved = list_moved_aside (f, "v7-");
  g_assert_cmpuint (moved->len, ==, 1);
  db = open_direct (g_ptr_array_index (moved, 0));
  g_assert_cmpint (direct_int (db, "PRAGMA user_version"), ==, 7);
  sqlite3_close (db);
}

/* When no database can be created, appends are dropped with one warning
 * and flush and queries report UNAVAILABLE; nothing crashes. */
static void
test_unavailable (Fixture *f, gconstpointer data)
{
  MbDeliveryLogQuery query = MB_DELIVERY_LOG_QUERY_INIT;
  g_autofree char   *blocker = g_build_filename (f->dir, "file", NULL);
  g_autoptr (GPtrArray) records = NULL;
  g_autoptr (GError) error = NULL;

  g_assert_true (g_file_set_contents (blocker, "", 0, NULL));
  g_free (f->path);
  f->path = g_build_filename (blocker, "sub", "delivery-log.sqlite", NULL);
  open_log (f);

  append_one (f->log, T0, "Q1", "a@example.com", MB_DELIVERY_STATUS_FAILED);
  g_assert_false (flush_sync (f->log, &error));
  g_assert_error (error, MB_DELIVERY_LOG_ERROR,
                  MB_DELIVERY_LOG_ERROR_UNAVAILABLE);
  g_clear_error (&error);
  records = query_sync (f->log, &query, NULL, &error);
  g_assert_null (records);
  g_assert_error (error, MB_DELIVERY_LOG_ERROR,
                  MB_DELIVERY_LOG_ERROR_UNAVAILABLE);
  g_assert_cmpuint (mb_test_count_warnings ("unavailable"), ==, 1);
  g_assert_cmpuint (f->added->len, ==, 0);
}

/* A cancelled query completes with G_IO_ERROR_CANCELLED. */
static void
test_cancelled (Fixture *f, gconstpointer data)
{
  MbDeliveryLogQuery query = MB_DELIVERY_LOG_QUERY_INIT;
  g_autoptr (GCancellable) cancellable = g_cancellable_new ();
  g_autoptr (GPtrArray) records = NULL;
  g_autoptr (GError) error = NULL;

  g_cancellable_cancel (cancellable);
  records = query_sync (f->log, &query, cancellable, &error);
  g_assert_null (records);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
}

static void
on_added_check_committed_cb (MbDeliveryLog          *log,
                             const MbDeliveryRecord *record,
                             gpointer                user_data)
{
  sqlite3      *db = user_data;
  sqlite3_stmt *stmt = NULL;

  /* Another connection sees the row: its transaction has committed. */
  g_assert_cmpint (
      sqlite3_prepare_v2 (db, "SELECT recipient FROM delivery WHERE id = ?", -1,
                          &stmt, NULL),
      ==, SQLITE_OK);
  sqlite3_bind_int64 (stmt, 1, record->id);
  g_assert_cmpint (sqlite3_step (stmt), ==, SQLITE_ROW);
  g_assert_cmpstr ((const char *)sqlite3_column_text (stmt, 0), ==,
                   record->recipient);
  sqlite3_finalize (stmt);
}

/* "record-added" fires once per record, in order, with its id, after the
 * record is visible to another connection. */
static void
test_record_added (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  sqlite3 *db;

  /* An empty flush waits until the worker has created the file. */
  g_assert_true (flush_sync (f->log, &error));
  db = open_direct (f->path);
  g_signal_connect (f->log, "record-added",
                    G_CALLBACK (on_added_check_committed_cb), db);
  for (guint i = 0; i < 5; i++)
    {
      g_autofree char *recipient = g_strdup_printf ("r%u@example.com", i);

      append_one (f->log, T0 + i, "Q1", recipient,
                  MB_DELIVERY_STATUS_DELIVERED);
    }
  MB_TEST_WAIT_UNTIL (f->added->len >= 5);
  for (guint i = 0; i < 5; i++)
    {
      MbDeliveryRecord *record = g_ptr_array_index (f->added, i);
      g_autofree char  *recipient = g_strdup_printf ("r%u@example.com", i);

      g_assert_cmpstr (record->recipient, ==, recipient);
      g_assert_cmpint (record->id, >, 0);
      if (i > 0)
        g_assert_cmpint (
            record->id, >,
            ((MbDeliveryRecord *)g_ptr_array_index (f->added, i - 1))->id);
    }
  g_signal_handlers_disconnect_by_data (f->log, db);
  sqlite3_close (db);
}

typedef struct
{
  Fixture *f;
  guint    added_at_flush;
  gboolean done;
  GError  *error;
} BurstFlush;

static void
burst_flushed_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  BurstFlush *burst = user_data;

  burst->added_at_flush = burst->f->added->len;
  mb_delivery_log_flush_finish (MB_DELIVERY_LOG (source), result,
                                &burst->error);
  burst->done = TRUE;
}

/* 10,000 appends in a burst go in far fewer transactions, every record is
 * queryable, and all their signals came before the flush completed. */
static void
test_burst (Fixture *f, gconstpointer data)
{
  MbDeliveryLogQuery query = MB_DELIVERY_LOG_QUERY_INIT;
  BurstFlush         burst = { f, 0, FALSE, NULL };
  g_autoptr (GPtrArray) records = NULL;
  guint64 transactions;

  for (guint i = 0; i < N_BURST; i++)
    {
      g_autofree char *recipient = g_strdup_printf ("user%u@example.com", i);

      append_one (f->log, T0 + i, "Qburst", recipient,
                  MB_DELIVERY_STATUS_DELIVERED);
    }
  mb_delivery_log_flush_async (f->log, NULL, burst_flushed_cb, &burst);
  MB_TEST_WAIT_UNTIL (burst.done);
  g_assert_no_error (burst.error);
  g_assert_cmpuint (burst.added_at_flush, ==, N_BURST);

  transactions = mb_delivery_log_get_transactions (f->log);
  g_test_message ("%u records in %" G_GUINT64_FORMAT " transactions", N_BURST,
                  transactions);
  g_assert_cmpuint (transactions, >=, 1);
  g_assert_cmpuint (transactions, <=, N_BURST / 100);

  g_assert_cmpuint (count_sync (f->log, &query), ==, N_BURST);
  records = query_all (f->log);
  g_assert_cmpuint (records->len, ==, N_BURST);
  for (guint i = 0; i < N_BURST; i++)
    {
      MbDeliveryRecord *record = g_ptr_array_index (records, i);

      g_assert_cmpint (record->time, ==, T0 + i);
      g_assert_cmpint (
          record->id, ==,
          ((MbDeliveryRecord *)g_ptr_array_index (f->added, i))->id);
    }
  query.address = (char *)"USER9999@";
  g_assert_cmpuint (count_sync (f->log, &query), ==, 1);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  /* Warnings from mb-delivery-log (any thread) are captured, and counted
   * by the tests, instead of aborting the test. */
  mb_test_capture_warnings ("mb-delivery-log");

  g_test_add_func ("/relay/delivery-log/status/strings", test_status_strings);
  g_test_add_func ("/relay/delivery-log/record/copy", test_record_copy);

#define ADD(path, func, opened)                                                \
  g_test_add ("/relay/delivery-log/" path, Fixture, opened ? NULL : "closed",  \
              fixture_setup, func, fixture_teardown)

  ADD ("append/exact-text", test_exact_text, TRUE);
  ADD ("query/sees-earlier-appends", test_query_sees_appends, TRUE);
  ADD ("query/filters", test_filters, TRUE);
  ADD ("query/order-and-paging", test_order_and_paging, TRUE);
  ADD ("retention/expire", test_retention, TRUE);
  ADD ("persistence/reopen", test_persistence, TRUE);
  ADD ("corrupt/not-a-database", test_corrupt_not_database, FALSE);
  ADD ("corrupt/damaged-pages", test_corrupt_pages, TRUE);
  ADD ("corrupt/newer-schema", test_newer_schema, FALSE);
  ADD ("errors/unavailable", test_unavailable, FALSE);
  ADD ("errors/cancelled", test_cancelled, TRUE);
  ADD ("signal/record-added", test_record_added, TRUE);
  ADD ("append/burst-batched", test_burst, TRUE);

#undef ADD

  return g_test_run ();
}
