/* mb-route.c - the methods' profiles and limits table, and MbRoute
 *
 * WHAT IT DOES
 *   Holds the one table of what Microsoft 365 prescribes per sending method
 *   (endpoint, port, TLS, sign-in, recipients, limits), each value with its
 *   source in M365-FACTS.md.  An MbRoute is one [route NAME] at run time:
 *   it merges the configuration's tuning over its profile, finds the hosts
 *   to connect to (the tenant's MX host from DNS for Direct Send and the
 *   connector), splits recipient lists into transactions the endpoint
 *   accepts, refuses locally what the method cannot deliver, and tracks the
 *   route's health from the replies of each attempt.
 *
 * GUARANTEES
 *   - The MX host is read from DNS, never built from a pattern (new domains
 *     get <domain>.<random>.mx.microsoft, M365-FACTS.md 1.3); hosts come
 *     lowest preference first, equal preferences in DNS order.
 *   - Splitting keeps input order, is deterministic, and never puts more
 *     than recipients_per_transaction recipients (of one domain, for the MX
 *     methods: 4.5.3 "Too many recipients" above 200, M365-FACTS.md 3.3)
 *     into one transaction.
 *   - A reply that says the route itself is blocked or misconfigured
 *     (mb-reply-hints' pause_route) and comes pause-threshold times in a
 *     row, with the same basic and enhanced code, pauses the route, with
 *     one log line.  Exchange Online blocks a mailbox that keeps repeating
 *     the same error (continuous-error throttling, 5.2.251-5.2.255,
 *     M365-FACTS.md 3.1), so the relay stops before it gets there.
 *   - FAILING means "keeps failing": pause-threshold failed attempts in a
 *     row (any 4xx or local failure, e.g. greylisting's 451 4.7.500), or
 *     one pause_route reply; a success or a one-message 5xx ends it.  A
 *     single transient failure leaves the route READY.
 *
 * WHAT IT DOES NOT DO
 *   It sends nothing and starts no timers: the scheduler decides when to
 *   deliver (asking the pacer and the state), mb-smtp-client talks SMTP,
 *   mb-oauth decides when a sign-in is needed.  It does not randomise
 *   equal MX preferences (RFC 5321 5.1 SHOULD): Microsoft publishes one MX
 *   per domain, and a fixed order keeps the logs and tests reproducible.
 *   No implicit MX (the A record): a Microsoft 365 domain always has an MX.
 *
 * RFC 5321 5.1 (MX lookup, preference order), RFC 7505 (null MX),
 * RFC 3463 (enhanced status codes).
 */
#define G_LOG_DOMAIN "mb-route"

#include "mb-route.h"

#include <string.h>

#define DAY_USEC ((gint64)24 * 60 * 60 * G_USEC_PER_SEC)

struct _MbRoute
{
  GObject parent_instance;

  char                 *name;    /* (owned) */
  const MbRouteProfile *profile; /* (unowned) static */
  char                 *host;    /* (owned) (nullable) */
  guint16               port;
  MbRouteTls            tls;
  MbRouteAuth           auth;
  char                 *mailbox; /* (owned) (nullable) */
  char                 *domain;  /* (owned) (nullable) lower case, no dot
                                  * at the end */
  MbRouteLimits limits;
  MbPacer      *pacer; /* (owned) (nullable) until first asked */

  MbRouteState       state;
  char              *pause_reason; /* (owned) (nullable) set: paused */
  gboolean           needs_signin;
  gboolean           failing;
  char              *last_reply; /* (owned) (nullable) */
  const MbReplyHint *hint;       /* (unowned) (nullable) static */

  guint pause_threshold;
  char *repeat_key; /* (owned) (nullable) code + enhanced code of the
                     * current run of pause_route replies */
  guint repeat_count;
  guint n_failures; /* failed attempts in a row, of any kind */
};

typedef enum
{
  OUTCOME_SUCCESS, /* delivered, or the session went on */
  OUTCOME_FAILURE, /* the route failed: 4xx, local failure, pause_route */
  OUTCOME_REFUSED, /* a 5xx for one message; the route itself works */
} Outcome;

enum
{
  PROP_0,
  PROP_NAME,
  PROP_STATE,
  PROP_PAUSE_REASON,
  PROP_LAST_REPLY,
  PROP_HINT,
  PROP_PAUSE_THRESHOLD,
  N_PROPS
};

static GParamSpec *props[N_PROPS];

enum
{
  SIGNAL_STATE_CHANGED,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

GQuark
mb_route_error_quark (void)
{
  return g_quark_from_static_string ("mb-route-error-quark");
}

G_DEFINE_ENUM_TYPE (MbRouteState,
                    mb_route_state,
                    G_DEFINE_ENUM_VALUE (MB_ROUTE_STATE_READY, "ready"),
                    G_DEFINE_ENUM_VALUE (MB_ROUTE_STATE_PAUSED, "paused"),
                    G_DEFINE_ENUM_VALUE (MB_ROUTE_STATE_NEEDS_SIGNIN,
                                         "needs-signin"),
                    G_DEFINE_ENUM_VALUE (MB_ROUTE_STATE_FAILING, "failing"))
G_DEFINE_FINAL_TYPE (MbRoute, mb_route, G_TYPE_OBJECT)

/* The limits table (DESIGN.md "What the product must know").  Sources are
 * the sections of /work/shared/M365-FACTS.md.  A value Microsoft may change
 * is a one-line edit here; a route's configuration overrides any limit. */
/* clang-format off */
static const MbRouteProfile profiles[] = {
  {
    .method = MB_ROUTE_METHOD_SUBMISSION,
    .host = "smtp.office365.com",        /* 1.1 endpoint */
    .port = 587,                         /* 1.1: 587 recommended, no 465 */
    .tls = MB_ROUTE_TLS_REQUIRED,        /* 1.1: STARTTLS, TLS >= 1.2 */
    .auth_required = TRUE,               /* 1.1: mailbox, OAuth or basic */
    .internal_only = FALSE,              /* 1.1: anyone */
    .split_by_domain = FALSE,
    .limits = {
      .max_connections = 3,              /* 3.1: 3 concurrent per mailbox */
      .rate_limit_messages = 30,         /* 3.1: 30 messages a minute */
      .rate_limit_window = 60,
      .daily_recipient_limit = 10000,    /* 3.1: 10,000 recipients / 24 h */
      .recipients_per_transaction = 500, /* 3.1: 500 per message (default) */
    },
    .limits_source = MB_ROUTE_LIMITS_DOCUMENTED,
  },
  {
    .method = MB_ROUTE_METHOD_DIRECT_SEND,
    .host = NULL,                        /* 1.1, 1.3: the MX host, from DNS */
    .port = 25,                          /* 1.1 */
    .tls = MB_ROUTE_TLS_OPPORTUNISTIC,   /* 1.1: TLS optional; "required"
                                          * selectable (DESIGN.md) */
    .auth_required = FALSE,              /* 1.1: anonymous */
    .internal_only = TRUE,               /* 1.1, 7: own mailboxes only */
    .split_by_domain = TRUE,
    .limits = {
      /* CHOICE: "standard throttling", no numbers published (1.1).
       * 3 connections: the only connection limit Microsoft publishes
       * (3.1).  60 a minute: the 3,600 messages an hour one recipient may
       * receive (3.3, 5.2.121/5.2.122), so even a device that mails one
       * person only stays within it. */
      .max_connections = 3,
      .rate_limit_messages = 60,
      .rate_limit_window = 60,
      /* CHOICE: none published; a mailbox's 10,000 (3.1) stops a runaway
       * device long before Microsoft throttles the IP (4.7.500, 4). */
      .daily_recipient_limit = 10000,
      .recipients_per_transaction = 200, /* 3.3: 200 of one domain, else
                                          * 4.5.3 Too many recipients */
    },
    .limits_source = MB_ROUTE_LIMITS_CHOSEN,
  },
  {
    .method = MB_ROUTE_METHOD_CONNECTOR,
    .host = NULL,                        /* 1.1: same tenant MX host */
    .port = 25,                          /* 1.1 */
    .tls = MB_ROUTE_TLS_REQUIRED,        /* 1.1, 6: certificate connectors
                                          * need TLS; DESIGN.md: required */
    .auth_required = FALSE,              /* 1.1: IP or certificate match */
    .internal_only = FALSE,              /* 1.1: anyone */
    .split_by_domain = TRUE,
    .limits = {
      /* CHOICE: "reasonable limits", not for bulk mail (1.1); as for
       * Direct Send, above. */
      .max_connections = 3,
      .rate_limit_messages = 60,
      .rate_limit_window = 60,
      /* CHOICE: the tenant's external limit (TERRL, 3.2) is 10,000 a day
       * for one licence and more for more; counting internal recipients
       * too keeps us below it.  Trial tenants (5,000) set their own. */
      .daily_recipient_limit = 10000,
      .recipients_per_transaction = 200, /* 3.3: 200 of one domain */
    },
    .limits_source = MB_ROUTE_LIMITS_CHOSEN,
  },
  {
    .method = MB_ROUTE_METHOD_HVE,
    .host = "smtp.hve.mx.microsoft",     /* 3.4: the recommended endpoint */
    .port = 587,                         /* 3.4 */
    .tls = MB_ROUTE_TLS_REQUIRED,        /* 3.4 */
    .auth_required = TRUE,               /* 3.4: HVE account, basic/OAuth */
    .internal_only = TRUE,               /* 3.4: internal only (5.5.105) */
    .split_by_domain = FALSE,
    .limits = {
      /* UNCONFIRMED: the GA limits are not known (3.4, 8.3); the
       * submission limits (3.1) stand in as a safe default. */
      .max_connections = 3,
      .rate_limit_messages = 30,
      .rate_limit_window = 60,
      .daily_recipient_limit = 10000,
      .recipients_per_transaction = 500,
    },
    .limits_source = MB_ROUTE_LIMITS_UNCONFIRMED,
  },
};
/* clang-format on */

/* Helpers */

/* The domain of an address (after the last '@', since a quoted local part
 * may hold one), or NULL. */
static const char *
address_domain (const char *address)
{
  const char *at = strrchr (address, '@');

  if (at == NULL || at[1] == '\0')
    return NULL;
  return at + 1;
}

/* Lower case, without a final dot; NULL for NULL or "". */
static char *
normalize_domain (const char *domain)
{
  gsize len;

  if (domain == NULL)
    return NULL;
  len = strlen (domain);
  if (len > 0 && domain[len - 1] == '.')
    len--;
  if (len == 0)
    return NULL;
  return g_ascii_strdown (domain, (gssize)len);
}

/* Whether @domain is @tenant or one of its subdomains; both normalized. */
static gboolean
domain_within (const char *domain, const char *tenant)
{
  gsize len = strlen (domain);
  gsize tenant_len = strlen (tenant);

  if (len == tenant_len)
    return strcmp (domain, tenant) == 0;
  return len > tenant_len && domain[len - tenant_len - 1] == '.'
         && strcmp (domain + len - tenant_len, tenant) == 0;
}

/* A value for a key="..." log field: quotes become apostrophes and control
 * characters spaces, so the line stays one parseable line. */
static char *
quote_safe (const char *text)
{
  char *copy = g_strdup (text != NULL ? text : "");

  for (char *p = copy; *p != '\0'; p++)
    {
      if (*p == '"')
        *p = '\'';
      else if ((guchar)*p < 0x20 || *p == 0x7f)
        *p = ' ';
    }
  return copy;
}

/* Appends @items to @batches in chunks of at most @per_batch, in order. */
static void
append_chunks (GPtrArray *batches, GPtrArray *items, guint per_batch)
{
  for (guint i = 0; i < items->len; i += per_batch)
    {
      guint      n = MIN (per_batch, items->len - i);
      GPtrArray *batch = g_ptr_array_sized_new (n);

      for (guint j = 0; j < n; j++)
        g_ptr_array_add (batch, items->pdata[i + j]);
      g_ptr_array_add (batches, batch);
    }
}

static void
set_string (MbRoute *self, char **field, const char *value, guint prop)
{
  if (g_strcmp0 (*field, value) == 0)
    return;
  g_free (*field);
  *field = g_strdup (value);
  g_object_notify_by_pspec (G_OBJECT (self), props[prop]);
}

static void
set_hint (MbRoute *self, const MbReplyHint *hint)
{
  if (self->hint == hint)
    return;
  self->hint = hint;
  g_object_notify_by_pspec (G_OBJECT (self), props[PROP_HINT]);
}

static MbRouteState
compute_state (MbRoute *self)
{
  if (self->pause_reason != NULL)
    return MB_ROUTE_STATE_PAUSED;
  if (self->needs_signin)
    return MB_ROUTE_STATE_NEEDS_SIGNIN;
  if (self->failing)
    return MB_ROUTE_STATE_FAILING;
  return MB_ROUTE_STATE_READY;
}

/* Every change runs between begin_change() and end_change(), so property
 * notifications come out together and "state-changed" after them. */
static void
begin_change (MbRoute *self)
{
  g_object_freeze_notify (G_OBJECT (self));
}

static void
end_change (MbRoute *self)
{
  MbRouteState old_state = self->state;
  MbRouteState new_state = compute_state (self);

  if (new_state != old_state)
    {
      self->state = new_state;
      g_object_notify_by_pspec (G_OBJECT (self), props[PROP_STATE]);
    }
  g_object_thaw_notify (G_OBJECT (self));
  if (new_state != old_state)
    g_signal_emit (self, signals[SIGNAL_STATE_CHANGED], 0, old_state);
}

static void
reset_repeats (MbRoute *self)
{
  g_clear_pointer (&self->repeat_key, g_free);
  self->repeat_count = 0;
}

static void
log_pause (MbRoute *self, const char *reply, const MbReplyHint *hint)
{
  g_autofree char *safe_reply = quote_safe (reply);
  g_autofree char *hint_text
      = g_strconcat (hint->summary, " ", hint->fix, NULL);
  g_autofree char *safe_hint = quote_safe (hint_text);

  g_log_structured (G_LOG_DOMAIN, G_LOG_LEVEL_MESSAGE, "MB_ROUTE", self->name,
                    "MB_HINT", hint->keyword, "MESSAGE",
                    "route=%s paused reply=\"%s\" hint=\"%s\"", self->name,
                    safe_reply, safe_hint);
}

/* One attempt's outcome.  @key identifies "the same reply" for the
 * repeat count, @line is what last-reply shows. */
static void
record (MbRoute           *self,
        Outcome            outcome,
        const char        *key,
        const char        *line,
        const MbReplyHint *hint)
{
  gboolean counts
      = outcome != OUTCOME_SUCCESS && hint != NULL && hint->pause_route;

  begin_change (self);
  set_string (self, &self->last_reply, line, PROP_LAST_REPLY);
  set_hint (self, hint);
  /* One transient failure (greylisting, a busy server, a timeout) is
   * routine and the next retry usually gets through: only a run of
   * pause-threshold of them makes the route FAILING, which the GUI and
   * the tray show as "delivery keeps failing".  A reply that says the
   * route itself is broken (pause_route) is news at once.  A success, or
   * a refusal of one message (the route works), ends the run. */
  if (outcome == OUTCOME_FAILURE || counts)
    {
      self->n_failures++;
      if (counts || self->n_failures >= self->pause_threshold)
        self->failing = TRUE;
    }
  else
    {
      self->n_failures = 0;
      self->failing = FALSE;
    }

  if (!counts)
    reset_repeats (self);
  else if (g_strcmp0 (self->repeat_key, key) == 0)
    self->repeat_count++;
  else
    {
      g_free (self->repeat_key);
      self->repeat_key = g_strdup (key);
      self->repeat_count = 1;
    }

  if (counts && self->repeat_count >= self->pause_threshold
      && self->pause_reason == NULL)
    {
      g_autofree char *reason
          = g_strdup_printf ("The same reply came %u times in a row: %s",
                             self->repeat_count, line);

      set_string (self, &self->pause_reason, reason, PROP_PAUSE_REASON);
      log_pause (self, line, hint);
    }
  end_change (self);
}

/* Callbacks */

typedef struct
{
  guint16 preference;
  char   *host; /* (owned) */
} MxHost;

static void
mx_host_free (MxHost *mx)
{
  g_free (mx->host);
  g_free (mx);
}

static gint
compare_mx_host (gconstpointer a, gconstpointer b)
{
  const MxHost *mx_a = *(const MxHost *const *)a;
  const MxHost *mx_b = *(const MxHost *const *)b;

  return (gint)mx_a->preference - (gint)mx_b->preference;
}

/* The task's data: the domain looked up. */
static void
lookup_mx_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  MbRoute    *self = g_task_get_source_object (task);
  const char *domain = g_task_get_task_data (task);
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) mx_hosts = NULL;
  g_autoptr (GPtrArray) hosts = NULL;
  GList *records;

  records
      = g_resolver_lookup_records_finish (G_RESOLVER (source), result, &error);
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  if (g_error_matches (error, G_RESOLVER_ERROR, G_RESOLVER_ERROR_NOT_FOUND))
    {
      g_task_return_new_error (
          task, MB_ROUTE_ERROR, MB_ROUTE_ERROR_NO_MX,
          "The domain %s has no MX record; set host= in [route %s] or check "
          "the domain",
          domain, self->name);
      return;
    }
  if (error != NULL)
    {
      g_task_return_new_error (task, MB_ROUTE_ERROR, MB_ROUTE_ERROR_RESOLVE,
                               "Could not look up the MX record of %s: %s",
                               domain, error->message);
      return;
    }

  mx_hosts = g_ptr_array_new_with_free_func ((GDestroyNotify)mx_host_free);
  for (GList *l = records; l != NULL; l = l->next)
    {
      guint16     preference;
      const char *name;
      MxHost     *mx;

      if (!g_variant_is_of_type (l->data, G_VARIANT_TYPE ("(qs)")))
        continue;
      g_variant_get (l->data, "(q&s)", &preference, &name);
      mx = g_new0 (MxHost, 1);
      mx->preference = preference;
      mx->host = normalize_domain (name);
      /* "." (RFC 7505 null MX) normalizes to NULL: no mail accepted. */
      if (mx->host == NULL)
        {
          mx_host_free (mx);
          continue;
        }
      g_ptr_array_add (mx_hosts, mx);
    }
  g_list_free_full (records, (GDestroyNotify)g_variant_unref);

  /* Stable (GLib >= 2.32): equal preferences keep the DNS order. */
  g_ptr_array_sort (mx_hosts, compare_mx_host);
  hosts = g_ptr_array_new_with_free_func (g_free);
  for (guint i = 0; i < mx_hosts->len; i++)
    {
      const MxHost *mx = mx_hosts->pdata[i];

      if (!g_ptr_array_find_with_equal_func (hosts, mx->host, g_str_equal,
                                             NULL))
        g_ptr_array_add (hosts, g_strdup (mx->host));
    }
  if (hosts->len == 0)
    {
      g_task_return_new_error (
          task, MB_ROUTE_ERROR, MB_ROUTE_ERROR_NO_MX,
          "The domain %s has no MX record that accepts mail; set host= in "
          "[route %s] or check the domain",
          domain, self->name);
      return;
    }
  g_task_return_pointer (task, g_steal_pointer (&hosts),
                         (GDestroyNotify)g_ptr_array_unref);
}

/* Overrides */

static void
mb_route_finalize (GObject *object)
{
  MbRoute *self = MB_ROUTE (object);

  g_free (self->name);
  g_free (self->host);
  g_free (self->mailbox);
  g_free (self->domain);
  mb_pacer_free (self->pacer);
  g_free (self->pause_reason);
  g_free (self->last_reply);
  g_free (self->repeat_key);

  G_OBJECT_CLASS (mb_route_parent_class)->finalize (object);
}

static void
mb_route_get_property (GObject    *object,
                       guint       prop_id,
                       GValue     *value,
                       GParamSpec *pspec)
{
  MbRoute *self = MB_ROUTE (object);

  switch (prop_id)
    {
    case PROP_NAME:
      g_value_set_string (value, self->name);
      break;
    case PROP_STATE:
      g_value_set_enum (value, self->state);
      break;
    case PROP_PAUSE_REASON:
      g_value_set_string (value, self->pause_reason);
      break;
    case PROP_LAST_REPLY:
      g_value_set_string (value, self->last_reply);
      break;
    case PROP_HINT:
      g_value_set_pointer (value, (gpointer)self->hint);
      break;
    case PROP_PAUSE_THRESHOLD:
      g_value_set_uint (value, self->pause_threshold);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
mb_route_set_property (GObject      *object,
                       guint         prop_id,
                       const GValue *value,
                       GParamSpec   *pspec)
{
  MbRoute *self = MB_ROUTE (object);

  switch (prop_id)
    {
    case PROP_PAUSE_THRESHOLD:
      mb_route_set_pause_threshold (self, g_value_get_uint (value));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
mb_route_class_init (MbRouteClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->finalize = mb_route_finalize;
  object_class->get_property = mb_route_get_property;
  object_class->set_property = mb_route_set_property;

  props[PROP_NAME] = g_param_spec_string (
      "name", NULL, NULL, NULL, G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  props[PROP_STATE] = g_param_spec_enum (
      "state", NULL, NULL, MB_TYPE_ROUTE_STATE, MB_ROUTE_STATE_READY,
      G_PARAM_READABLE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);
  props[PROP_PAUSE_REASON] = g_param_spec_string (
      "pause-reason", NULL, NULL, NULL,
      G_PARAM_READABLE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);
  props[PROP_LAST_REPLY] = g_param_spec_string (
      "last-reply", NULL, NULL, NULL,
      G_PARAM_READABLE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);
  props[PROP_HINT] = g_param_spec_pointer (
      "hint", NULL, NULL,
      G_PARAM_READABLE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);
  props[PROP_PAUSE_THRESHOLD] = g_param_spec_uint (
      "pause-threshold", NULL, NULL, 1, G_MAXUINT,
      MB_ROUTE_DEFAULT_PAUSE_THRESHOLD,
      G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);
  g_object_class_install_properties (object_class, N_PROPS, props);

  signals[SIGNAL_STATE_CHANGED] = g_signal_new (
      "state-changed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL,
      NULL, NULL, G_TYPE_NONE, 1, MB_TYPE_ROUTE_STATE);
}

static void
mb_route_init (MbRoute *self)
{
  self->state = MB_ROUTE_STATE_READY;
  self->pause_threshold = MB_ROUTE_DEFAULT_PAUSE_THRESHOLD;
}

/* Public API */

const MbRouteProfile *
mb_route_profile_lookup (MbRouteMethod method)
{
  for (gsize i = 0; i < G_N_ELEMENTS (profiles); i++)
    if (profiles[i].method == method)
      return &profiles[i];
  g_return_val_if_reached (NULL);
}

const char *
mb_route_state_to_string (MbRouteState state)
{
  switch (state)
    {
    case MB_ROUTE_STATE_READY:
      return "ready";
    case MB_ROUTE_STATE_PAUSED:
      return "paused";
    case MB_ROUTE_STATE_NEEDS_SIGNIN:
      return "needs-signin";
    case MB_ROUTE_STATE_FAILING:
      return "failing";
    default:
      g_return_val_if_reached (NULL);
    }
}

MbRoute *
mb_route_new (const MbRouteConfig *config)
{
  const MbRouteProfile *profile;
  MbRoute              *self;
  MbRouteLimits        *limits;

  g_return_val_if_fail (config != NULL, NULL);
  profile = mb_route_profile_lookup (config->method);
  g_return_val_if_fail (profile != NULL, NULL);

  self = g_object_new (MB_TYPE_ROUTE, NULL);
  self->name = g_strdup (config->name != NULL ? config->name : "");
  self->profile = profile;
  self->host = config->host != NULL && config->host[0] != '\0'
                   ? g_strdup (config->host)
                   : NULL;
  self->port = config->port != 0 ? config->port : profile->port;
  self->tls = config->tls;
  self->auth = config->auth;
  self->mailbox = g_strdup (config->mailbox);
  self->domain = normalize_domain (config->domain);

  limits = &self->limits;
  *limits = profile->limits;
  if (config->max_connections != 0)
    limits->max_connections = config->max_connections;
  if (config->rate_limit_messages != 0)
    limits->rate_limit_messages = config->rate_limit_messages;
  if (config->rate_limit_window != 0)
    limits->rate_limit_window = config->rate_limit_window;
  if (config->daily_recipient_limit != 0)
    limits->daily_recipient_limit = config->daily_recipient_limit;
  if (config->recipients_per_transaction != 0)
    limits->recipients_per_transaction = config->recipients_per_transaction;
  /* A batch larger than the daily budget could never be sent. */
  if (limits->daily_recipient_limit > 0
      && limits->recipients_per_transaction > limits->daily_recipient_limit)
    limits->recipients_per_transaction = limits->daily_recipient_limit;
  return self;
}

const char *
mb_route_get_name (MbRoute *route)
{
  g_return_val_if_fail (MB_IS_ROUTE (route), NULL);
  return route->name;
}

MbRouteMethod
mb_route_get_method (MbRoute *route)
{
  g_return_val_if_fail (MB_IS_ROUTE (route), MB_ROUTE_METHOD_SUBMISSION);
  return route->profile->method;
}

const MbRouteProfile *
mb_route_get_profile (MbRoute *route)
{
  g_return_val_if_fail (MB_IS_ROUTE (route), NULL);
  return route->profile;
}

const char *
mb_route_get_host (MbRoute *route)
{
  g_return_val_if_fail (MB_IS_ROUTE (route), NULL);
  return route->host;
}

guint16
mb_route_get_port (MbRoute *route)
{
  g_return_val_if_fail (MB_IS_ROUTE (route), 0);
  return route->port;
}

MbRouteTls
mb_route_get_tls (MbRoute *route)
{
  g_return_val_if_fail (MB_IS_ROUTE (route), MB_ROUTE_TLS_REQUIRED);
  return route->tls;
}

MbRouteAuth
mb_route_get_auth (MbRoute *route)
{
  g_return_val_if_fail (MB_IS_ROUTE (route), MB_ROUTE_AUTH_NONE);
  return route->auth;
}

const char *
mb_route_get_mailbox (MbRoute *route)
{
  g_return_val_if_fail (MB_IS_ROUTE (route), NULL);
  return route->mailbox;
}

const char *
mb_route_get_domain (MbRoute *route)
{
  g_return_val_if_fail (MB_IS_ROUTE (route), NULL);
  return route->domain;
}

const MbRouteLimits *
mb_route_get_limits (MbRoute *route)
{
  g_return_val_if_fail (MB_IS_ROUTE (route), NULL);
  return &route->limits;
}

MbPacer *
mb_route_get_pacer (MbRoute *route)
{
  g_return_val_if_fail (MB_IS_ROUTE (route), NULL);

  if (route->pacer == NULL)
    route->pacer = mb_pacer_new (
        route->limits.max_connections, route->limits.rate_limit_messages,
        route->limits.rate_limit_window * G_USEC_PER_SEC,
        route->limits.daily_recipient_limit, DAY_USEC);
  return route->pacer;
}

MbRouteState
mb_route_get_state (MbRoute *route)
{
  g_return_val_if_fail (MB_IS_ROUTE (route), MB_ROUTE_STATE_READY);
  return route->state;
}

const char *
mb_route_get_pause_reason (MbRoute *route)
{
  g_return_val_if_fail (MB_IS_ROUTE (route), NULL);
  return route->pause_reason;
}

const char *
mb_route_get_last_reply (MbRoute *route)
{
  g_return_val_if_fail (MB_IS_ROUTE (route), NULL);
  return route->last_reply;
}

const MbReplyHint *
mb_route_get_hint (MbRoute *route)
{
  g_return_val_if_fail (MB_IS_ROUTE (route), NULL);
  return route->hint;
}

guint
mb_route_get_pause_threshold (MbRoute *route)
{
  g_return_val_if_fail (MB_IS_ROUTE (route), 0);
  return route->pause_threshold;
}

void
mb_route_set_pause_threshold (MbRoute *route, guint threshold)
{
  g_return_if_fail (MB_IS_ROUTE (route));
  g_return_if_fail (threshold >= 1);

  if (route->pause_threshold == threshold)
    return;
  route->pause_threshold = threshold;
  g_object_notify_by_pspec (G_OBJECT (route), props[PROP_PAUSE_THRESHOLD]);
}

void
mb_route_record_result (MbRoute *route, const MbSmtpReply *reply)
{
  g_autofree char   *line = NULL;
  g_autofree char   *key = NULL;
  const MbReplyHint *hint;
  Outcome            outcome;

  g_return_if_fail (MB_IS_ROUTE (route));
  g_return_if_fail (reply != NULL);

  line = mb_smtp_reply_to_string (reply);
  /* Microsoft's texts carry a per-server tag, so "the same reply" is the
   * same codes, never the same text. */
  key = g_strdup_printf ("%03u %s", reply->code,
                         reply->enhanced != NULL ? reply->enhanced : "");
  hint = mb_reply_hints_lookup (reply->code, reply->enhanced, reply->text);
  if (reply->code < 400)
    outcome = OUTCOME_SUCCESS;
  else if (reply->code < 500)
    outcome = OUTCOME_FAILURE;
  else
    outcome = OUTCOME_REFUSED;
  record (route, outcome, key, line, hint);
}

void
mb_route_record_local_failure (MbRoute    *route,
                               const char *keyword,
                               const char *detail)
{
  g_autofree char *line = NULL;

  g_return_if_fail (MB_IS_ROUTE (route));
  g_return_if_fail (keyword != NULL);

  line = detail != NULL && detail[0] != '\0'
             ? g_strconcat (keyword, " ", detail, NULL)
             : g_strdup (keyword);
  record (route, OUTCOME_FAILURE, keyword, line,
          mb_reply_hints_lookup_keyword (keyword));
}

void
mb_route_pause (MbRoute *route, const char *reason)
{
  g_autofree char *safe_reason = NULL;

  g_return_if_fail (MB_IS_ROUTE (route));
  g_return_if_fail (reason != NULL);

  if (route->pause_reason != NULL)
    return;
  safe_reason = quote_safe (reason);
  begin_change (route);
  set_string (route, &route->pause_reason, reason, PROP_PAUSE_REASON);
  end_change (route);
  g_log_structured (G_LOG_DOMAIN, G_LOG_LEVEL_MESSAGE, "MB_ROUTE", route->name,
                    "MESSAGE", "route=%s paused reason=\"%s\"", route->name,
                    safe_reason);
}

void
mb_route_resume (MbRoute *route)
{
  g_return_if_fail (MB_IS_ROUTE (route));

  reset_repeats (route);
  if (route->pause_reason == NULL)
    return;
  begin_change (route);
  set_string (route, &route->pause_reason, NULL, PROP_PAUSE_REASON);
  end_change (route);
  g_log_structured (G_LOG_DOMAIN, G_LOG_LEVEL_MESSAGE, "MB_ROUTE", route->name,
                    "MESSAGE", "route=%s resumed", route->name);
}

void
mb_route_set_needs_signin (MbRoute *route, gboolean needs_signin)
{
  g_return_if_fail (MB_IS_ROUTE (route));

  needs_signin = !!needs_signin;
  if (route->needs_signin == needs_signin)
    return;
  begin_change (route);
  route->needs_signin = needs_signin;
  end_change (route);
}

void
mb_route_resolve_async (MbRoute            *route,
                        GResolver          *resolver,
                        const char         *recipient_domain,
                        GCancellable       *cancellable,
                        GAsyncReadyCallback callback,
                        gpointer            user_data)
{
  g_autoptr (GTask) task = NULL;
  g_autoptr (GPtrArray) hosts = NULL;
  g_autoptr (GResolver) default_resolver = NULL;
  g_autofree char *domain = NULL;
  g_autofree char *ascii = NULL;
  const char      *fixed;

  g_return_if_fail (MB_IS_ROUTE (route));
  g_return_if_fail (resolver == NULL || G_IS_RESOLVER (resolver));

  task = g_task_new (route, cancellable, callback, user_data);
  g_task_set_source_tag (task, mb_route_resolve_async);

  fixed = route->host != NULL ? route->host : route->profile->host;
  if (fixed != NULL)
    {
      hosts = g_ptr_array_new_with_free_func (g_free);
      g_ptr_array_add (hosts, g_strdup (fixed));
      g_task_return_pointer (task, g_steal_pointer (&hosts),
                             (GDestroyNotify)g_ptr_array_unref);
      return;
    }

  domain = route->domain != NULL ? g_strdup (route->domain)
                                 : normalize_domain (recipient_domain);
  if (domain == NULL)
    {
      g_task_return_new_error (
          task, MB_ROUTE_ERROR, MB_ROUTE_ERROR_NO_DOMAIN,
          "Route %s needs the tenant's domain to look up its MX host; set "
          "domain= or host= in [route %s]",
          route->name, route->name);
      return;
    }
  ascii = g_hostname_to_ascii (domain);
  if (ascii == NULL)
    {
      g_task_return_new_error (task, MB_ROUTE_ERROR, MB_ROUTE_ERROR_NO_DOMAIN,
                               "“%s” is not a valid domain name; check "
                               "domain= in [route %s]",
                               domain, route->name);
      return;
    }

  if (resolver == NULL)
    resolver = default_resolver = g_resolver_get_default ();
  g_task_set_task_data (task, g_strdup (ascii), g_free);
  g_resolver_lookup_records_async (resolver, ascii, G_RESOLVER_RECORD_MX,
                                   cancellable, lookup_mx_cb,
                                   g_steal_pointer (&task));
}

GPtrArray *
mb_route_resolve_finish (MbRoute      *route,
                         GAsyncResult *result,
                         guint16      *port,
                         GError      **error)
{
  GPtrArray *hosts;

  g_return_val_if_fail (MB_IS_ROUTE (route), NULL);
  g_return_val_if_fail (g_task_is_valid (result, route), NULL);
  g_return_val_if_fail (
      g_task_get_source_tag (G_TASK (result)) == mb_route_resolve_async, NULL);

  hosts = g_task_propagate_pointer (G_TASK (result), error);
  if (hosts != NULL && port != NULL)
    *port = route->port;
  return hosts;
}

GPtrArray *
mb_route_split_recipients (MbRoute *route, GPtrArray *addresses)
{
  g_autoptr (GHashTable) groups_by_domain = NULL;
  g_autoptr (GPtrArray) groups = NULL;
  GPtrArray *batches;
  guint      per_batch;

  g_return_val_if_fail (MB_IS_ROUTE (route), NULL);
  g_return_val_if_fail (addresses != NULL, NULL);

  per_batch = MAX (route->limits.recipients_per_transaction, 1);
  batches = g_ptr_array_new_with_free_func ((GDestroyNotify)g_ptr_array_unref);
  if (!route->profile->split_by_domain)
    {
      append_chunks (batches, addresses, per_batch);
      return batches;
    }

  /* Group by domain, in order of first appearance, then chunk each. */
  groups_by_domain
      = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  groups = g_ptr_array_new_with_free_func ((GDestroyNotify)g_ptr_array_unref);
  for (guint i = 0; i < addresses->len; i++)
    {
      const char *address = addresses->pdata[i];
      const char *domain = address_domain (address);
      char       *key = g_ascii_strdown (domain != NULL ? domain : "", -1);
      GPtrArray  *group = g_hash_table_lookup (groups_by_domain, key);

      if (group == NULL)
        {
          group = g_ptr_array_new ();
          g_ptr_array_add (groups, group);
          g_hash_table_insert (groups_by_domain, key, group);
        }
      else
        g_free (key);
      g_ptr_array_add (group, (gpointer)address);
    }
  for (guint g = 0; g < groups->len; g++)
    append_chunks (batches, groups->pdata[g], per_batch);
  return batches;
}

gboolean
mb_route_accepts_recipient (MbRoute *route, const char *address, GError **error)
{
  const char      *raw_domain;
  g_autofree char *domain = NULL;

  g_return_val_if_fail (MB_IS_ROUTE (route), FALSE);
  g_return_val_if_fail (address != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  raw_domain = address_domain (address);
  domain = normalize_domain (raw_domain);
  if (domain == NULL)
    {
      g_set_error (error, MB_ROUTE_ERROR, MB_ROUTE_ERROR_INVALID_ADDRESS,
                   "The recipient %s has no domain", address);
      return FALSE;
    }
  if (!route->profile->internal_only || route->domain == NULL
      || domain_within (domain, route->domain))
    return TRUE;

  g_set_error (error, MB_ROUTE_ERROR, MB_ROUTE_ERROR_OUTSIDE_TENANT,
               "%s cannot reach recipients outside the organisation: %s is "
               "not in %s; use the submission or connector method to send "
               "outside",
               route->profile->method == MB_ROUTE_METHOD_HVE
                   ? "High Volume Email"
                   : "Direct Send",
               address, route->domain);
  return FALSE;
}
