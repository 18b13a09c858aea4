/* mb-mx-lookup.c - the MX page's DNS lookups and what they found
 *
 * Each lookup has its own GCancellable, replaced when a newer one starts;
 * the DNS callbacks hold no reference, so they handle
 * G_IO_ERROR_CANCELLED first and then leave `self` alone (dispose
 * cancels).
 */
#define G_LOG_DOMAIN "mb-mx-lookup"

#include "mb-mx-lookup.h"

#include <glib/gi18n.h>

#include "mb-dns-check.h"

/* Typing pauses this long before the domain is looked up. */
#define LOOKUP_DELAY_MS 800

struct _MbMxLookup
{
  GObject parent_instance;

  GCancellable *mx_cancellable;  /* (owned) (nullable) running MX lookup */
  GCancellable *spf_cancellable; /* (owned) (nullable) running SPF lookup */
  guint         lookup_id;       /* pending debounced lookup, or 0 */
  char         *scheduled;       /* (owned) (nullable) its domain */
  char         *looked_up;       /* (owned) (nullable) domain of found_mx */
  char         *found_mx;        /* (owned) (nullable) MX host from DNS */
  char         *spf_ip;          /* (owned) (nullable) IP the SPF lookup
                                  * asks about */
};

G_DEFINE_TYPE (MbMxLookup, mb_mx_lookup, G_TYPE_OBJECT)

enum
{
  SIGNAL_MX_STARTED,
  SIGNAL_MX_ANSWERED,
  SIGNAL_SPF_ANSWERED,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

/* Helpers */

static void
cancel_spf (MbMxLookup *self)
{
  if (self->spf_cancellable != NULL)
    g_cancellable_cancel (self->spf_cancellable);
  g_clear_object (&self->spf_cancellable);
}

static void
emit_mx_answered (MbMxLookup *self,
                  const char *icon,
                  const char *text,
                  const char *note,
                  const char *manual)
{
  g_signal_emit (self, signals[SIGNAL_MX_ANSWERED], 0, icon, text, note,
                 manual);
}

/* Callbacks */

static void
lookup_mx_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  MbMxLookup *self = user_data;
  g_autoptr (MbDnsMx) mx = NULL;
  g_autoptr (GError) error = NULL;

  mx = mb_dns_check_lookup_mx_finish (result, &error);
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;
  g_clear_object (&self->mx_cancellable);

  if (mx != NULL)
    {
      g_free (self->found_mx);
      self->found_mx = g_strdup (mx->host);
      if (mx->is_microsoft)
        emit_mx_answered (
            self, "emblem-ok-symbolic", mx->host,
            _ ("This is Microsoft 365’s mail server for the domain."), NULL);
      else
        emit_mx_answered (
            self, "dialog-warning-symbolic", mx->host,
            _ ("This is not a Microsoft 365 host: the domain’s mail goes to "
               "another service first, such as a filter. Mailbridge would "
               "deliver there."),
            _ ("To deliver to Microsoft 365 directly, type the MX host it "
               "shows for the domain in the admin center (Settings › "
               "Domains). Leave it empty to use the host above."));
    }
  else if (g_error_matches (error, MB_DNS_CHECK_ERROR,
                            MB_DNS_CHECK_ERROR_NOT_FOUND))
    /* An offline resolver may say so too: offer the entry either way. */
    emit_mx_answered (
        self, "dialog-warning-symbolic", _ ("None found"),
        _ ("No MX record was found for the domain. Check its spelling: "
           "it must be a domain your organisation receives mail for."),
        _ ("If the domain is right, or this computer cannot reach DNS, "
           "type the MX host Microsoft 365 shows for the domain in the "
           "admin center (Settings › Domains), like "
           "contoso-com.mail.protection.outlook.com."));
  else if (g_error_matches (error, MB_DNS_CHECK_ERROR,
                            MB_DNS_CHECK_ERROR_INVALID_DOMAIN))
    emit_mx_answered (self, NULL, _ ("Enter the domain to look it up."), NULL,
                      NULL);
  else
    {
      g_debug ("domain=%s mx lookup failed: %s", self->looked_up,
               error->message);
      emit_mx_answered (
          self, "dialog-warning-symbolic", _ ("Not known"), NULL,
          _ ("The domain’s MX record could not be read: DNS does not answer. "
             "Is this computer offline? Type the MX host Microsoft 365 shows "
             "for the domain in the admin center (Settings › Domains), like "
             "contoso-com.mail.protection.outlook.com, or try Look Up again "
             "later."));
    }
}

static void
lookup_spf_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  MbMxLookup *self = user_data;
  g_autoptr (MbDnsSpf) spf = NULL;
  g_autoptr (GError) error = NULL;
  GString *text;

  spf = mb_dns_check_lookup_spf_finish (result, &error);
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;
  g_clear_object (&self->spf_cancellable);

  if (spf == NULL)
    {
      g_signal_emit (
          self, signals[SIGNAL_SPF_ANSWERED], 0,
          g_error_matches (error, MB_DNS_CHECK_ERROR,
                           MB_DNS_CHECK_ERROR_NOT_FOUND)
              ? _ ("The domain has no SPF record yet: publish the one above.")
              : _ ("The domain’s current SPF record could not be read."));
      return;
    }

  text = g_string_new (NULL);
  /* Translators: %s is the domain's SPF record */
  g_string_append_printf (text, _ ("The domain publishes: %s"), spf->record);
  g_string_append_c (text, '\n');
  g_string_append (text, spf->includes_microsoft
                             ? _ ("It includes Microsoft 365.")
                             : _ ("It does not include Microsoft 365 "
                                  "(include:spf.protection.outlook.com)."));
  if (self->spf_ip != NULL)
    {
      g_string_append_c (text, ' ');
      /* Translators: %s is an IP address */
      g_string_append_printf (text,
                              spf->allows_ip ? _ ("It allows %s.")
                                             : _ ("It does not allow %s yet."),
                              self->spf_ip);
    }
  g_signal_emit (self, signals[SIGNAL_SPF_ANSWERED], 0, text->str);
  g_string_free (text, TRUE);
}

static gboolean
lookup_timeout_cb (gpointer user_data)
{
  MbMxLookup      *self = user_data;
  g_autofree char *domain = g_steal_pointer (&self->scheduled);

  self->lookup_id = 0;
  mb_mx_lookup_start (self, domain);
  return G_SOURCE_REMOVE;
}

/* Overrides */

static void
mb_mx_lookup_dispose (GObject *object)
{
  mb_mx_lookup_cancel (MB_MX_LOOKUP (object));
  G_OBJECT_CLASS (mb_mx_lookup_parent_class)->dispose (object);
}

static void
mb_mx_lookup_finalize (GObject *object)
{
  MbMxLookup *self = MB_MX_LOOKUP (object);

  g_free (self->scheduled);
  g_free (self->looked_up);
  g_free (self->found_mx);
  g_free (self->spf_ip);
  G_OBJECT_CLASS (mb_mx_lookup_parent_class)->finalize (object);
}

static void
mb_mx_lookup_class_init (MbMxLookupClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = mb_mx_lookup_dispose;
  object_class->finalize = mb_mx_lookup_finalize;

  signals[SIGNAL_MX_STARTED]
      = g_signal_new ("mx-started", G_TYPE_FROM_CLASS (klass),
                      G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL, G_TYPE_NONE, 0);
  signals[SIGNAL_MX_ANSWERED] = g_signal_new (
      "mx-answered", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL,
      NULL, NULL, G_TYPE_NONE, 4, G_TYPE_STRING | G_SIGNAL_TYPE_STATIC_SCOPE,
      G_TYPE_STRING | G_SIGNAL_TYPE_STATIC_SCOPE,
      G_TYPE_STRING | G_SIGNAL_TYPE_STATIC_SCOPE,
      G_TYPE_STRING | G_SIGNAL_TYPE_STATIC_SCOPE);
  signals[SIGNAL_SPF_ANSWERED] = g_signal_new (
      "spf-answered", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL,
      NULL, NULL, G_TYPE_NONE, 1, G_TYPE_STRING | G_SIGNAL_TYPE_STATIC_SCOPE);
}

static void
mb_mx_lookup_init (MbMxLookup *self)
{
}

/* Public API */

MbMxLookup *
mb_mx_lookup_new (void)
{
  return g_object_new (MB_TYPE_MX_LOOKUP, NULL);
}

void
mb_mx_lookup_schedule (MbMxLookup *self, const char *domain)
{
  g_return_if_fail (MB_IS_MX_LOOKUP (self));
  g_return_if_fail (domain != NULL);

  mb_mx_lookup_forget (self);
  self->scheduled = g_strdup (domain);
  self->lookup_id = g_timeout_add (LOOKUP_DELAY_MS, lookup_timeout_cb, self);
}

void
mb_mx_lookup_start (MbMxLookup *self, const char *domain)
{
  g_return_if_fail (MB_IS_MX_LOOKUP (self));
  g_return_if_fail (domain != NULL);

  mb_mx_lookup_cancel (self);
  g_free (self->looked_up);
  self->looked_up = g_strdup (domain);
  g_clear_pointer (&self->found_mx, g_free);
  g_signal_emit (self, signals[SIGNAL_MX_STARTED], 0);
  self->mx_cancellable = g_cancellable_new ();
  mb_dns_check_lookup_mx_async (domain, self->mx_cancellable, lookup_mx_cb,
                                self);
}

void
mb_mx_lookup_start_spf (MbMxLookup *self, const char *ip)
{
  g_return_if_fail (MB_IS_MX_LOOKUP (self));

  if (self->found_mx == NULL || self->looked_up == NULL)
    return; /* DNS did not answer for the domain: no use asking again */
  cancel_spf (self);
  g_free (self->spf_ip);
  self->spf_ip = g_strdup (ip);
  self->spf_cancellable = g_cancellable_new ();
  mb_dns_check_lookup_spf_async (self->looked_up, ip, self->spf_cancellable,
                                 lookup_spf_cb, self);
}

void
mb_mx_lookup_cancel (MbMxLookup *self)
{
  g_return_if_fail (MB_IS_MX_LOOKUP (self));

  g_clear_handle_id (&self->lookup_id, g_source_remove);
  g_clear_pointer (&self->scheduled, g_free);
  if (self->mx_cancellable != NULL)
    g_cancellable_cancel (self->mx_cancellable);
  g_clear_object (&self->mx_cancellable);
  cancel_spf (self);
}

void
mb_mx_lookup_forget (MbMxLookup *self)
{
  g_return_if_fail (MB_IS_MX_LOOKUP (self));

  mb_mx_lookup_cancel (self);
  g_clear_pointer (&self->looked_up, g_free);
  g_clear_pointer (&self->found_mx, g_free);
}

const char *
mb_mx_lookup_get_domain (MbMxLookup *self)
{
  g_return_val_if_fail (MB_IS_MX_LOOKUP (self), NULL);

  return self->looked_up;
}

const char *
mb_mx_lookup_get_host (MbMxLookup *self)
{
  g_return_val_if_fail (MB_IS_MX_LOOKUP (self), NULL);

  return self->found_mx;
}

gboolean
mb_mx_lookup_is_running (MbMxLookup *self)
{
  g_return_val_if_fail (MB_IS_MX_LOOKUP (self), FALSE);

  return self->mx_cancellable != NULL;
}

gboolean
mb_mx_lookup_is_pending (MbMxLookup *self)
{
  g_return_val_if_fail (MB_IS_MX_LOOKUP (self), FALSE);

  return self->lookup_id != 0;
}
