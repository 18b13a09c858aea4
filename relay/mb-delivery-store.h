/* mb-delivery-store.h - the SQLite file behind mb-delivery-log (private)
 *
 * Synchronous and single-threaded: only MbDeliveryLog's worker thread
 * calls it.  Errors are MB_DELIVERY_LOG_ERROR codes, or G_IO_ERROR_CANCELLED.
 */
#pragma once

#include "mb-delivery-log.h"

G_BEGIN_DECLS

#define MB_DELIVERY_STORE_SCHEMA_VERSION 1

typedef struct _MbDeliveryStore MbDeliveryStore;

/* Remembers @path; the file is opened by the first operation. */
MbDeliveryStore *mb_delivery_store_new (const char *path);
void             mb_delivery_store_free (MbDeliveryStore *store);

/* Opens the file if it is not open; moves a corrupt one aside. */
gboolean mb_delivery_store_open (MbDeliveryStore *store, GError **error);

/* Inserts @records (element-type MbDeliveryRecord) in one transaction and
 * sets their ids (and a time of 0 to now).  All or nothing. */
gboolean mb_delivery_store_insert (MbDeliveryStore *store,
                                   GPtrArray       *records,
                                   GError         **error);

GPtrArray *mb_delivery_store_select (MbDeliveryStore          *store,
                                     const MbDeliveryLogQuery *query,
                                     GCancellable             *cancellable,
                                     GError                  **error);

gboolean mb_delivery_store_count (MbDeliveryStore          *store,
                                  const MbDeliveryLogQuery *query,
                                  GCancellable             *cancellable,
                                  guint64                  *count,
                                  GError                  **error);

/* Deletes the records with time < @cutoff (unix microseconds). */
gboolean mb_delivery_store_delete_before (MbDeliveryStore *store,
                                          gint64           cutoff,
                                          GCancellable    *cancellable,
                                          guint64         *n_deleted,
                                          GError         **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (MbDeliveryStore, mb_delivery_store_free)

G_END_DECLS
