/* mb-relay-client-private.h - shared by mb-relay-client{,-calls}.c */
#pragma once

#include "mb-relay-client.h"
#include "mb-relay1-proxy.h"

G_BEGIN_DECLS

/* A log record seen while today's counts are being read. */
typedef struct
{
  gint64 id;
  gint64 time_us;
  GQuark status;
} CountedRecord;

struct _MbRelayClient
{
  GObject parent_instance;

  GCancellable    *cancellable; /* (owned) cancelled in dispose */
  GDBusConnection *bus;         /* (owned) (nullable) */
  MbClientRelay1  *proxy;       /* (owned) (nullable) */
  GSubprocess     *spawned;     /* (owned) (nullable) while it starts */
  char            *log_path;    /* (owned) (nullable) of a spawned relay */
  guint            start_timeout_id;
  gboolean         started;

  MbRelayConnection connection;
  char             *connection_error; /* (owned) (nullable) */

  /* Mirrors of the relay's properties. */
  MbRelayState state;
  gboolean     paused;
  GStrv        attention_reasons; /* (owned) */
  guint        queue_length;
  guint        deferred_count;
  gint64       oldest_received;
  GStrv        listen_addresses; /* (owned) */
  GPtrArray   *routes;           /* (owned) (element-type MbRouteStatus) */
  char        *version;          /* (owned) (nullable) */
  char        *config_path;      /* (owned) (nullable) */
  guint        sync_idle_id;

  /* From the configuration file. */
  char *admin_address;  /* (owned) (nullable) */
  char *default_sender; /* (owned) (nullable) */

  /* "queue-changed" collapsing: sets of ids. */
  GHashTable *pending_changed; /* (owned) */
  GHashTable *pending_removed; /* (owned) */
  guint       queue_idle_id;

  /* Today's counts. */
  GCancellable *count_cancellable; /* (owned) */
  gint64        today_start_us;
  guint         midnight_id;
  guint         delivered_today;
  guint         failed_today;
  gboolean      counting;
  guint         count_delivered;
  guint         count_failed;
  guint         count_offset;
  gint64        count_max_id;
  GArray       *counted_aside; /* (owned) (element-type CountedRecord) */
};

MbRouteState mb_route_state_from_string (const char *text);

G_END_DECLS
