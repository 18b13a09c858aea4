/* mb-page-mx.c - the setup assistant's page for the MX methods
 *
 * Direct Send and the connector both deliver to the tenant's MX host, read
 * from DNS and never built from a pattern (M365-FACTS.md 1.3): the admin
 * enters the accepted domain, the page looks its MX host up as typing
 * pauses (or on Look Up) and says whether it is Microsoft 365's.  When DNS
 * cannot answer (offline) or names no usable host, an entry for the MX
 * host appears.  Direct Send adds "Require TLS" and its limits; the
 * connector adds how Microsoft 365 recognises the relay (static public
 * IPv4 or a TLS certificate) and the PowerShell that creates it.  Both
 * show the SPF record to publish and what the domain publishes now.
 *
 * The lookups themselves, and the words for what they found, are
 * MbMxLookup's (mb-mx-lookup.h); every lookup is cancelled when a newer
 * one starts, when the page is left and on dispose.
 */
#define G_LOG_DOMAIN "mb-page-mx"

#include "mb-page-mx.h"

#include <glib/gi18n.h>
#include <string.h>

#include "mb-config-syntax.h"
#include "mb-mx-lookup.h"

/* Typing pauses this long before hints and texts follow the fields (the
 * domain's lookup waits a little longer: mb-mx-lookup.c). */
#define REFRESH_DELAY_MS 500

struct _MbPageMx
{
  MbWizardPage parent_instance;

  MbMxLookup   *lookup;     /* (owned) the domain's MX and SPF lookups */
  guint         refresh_id; /* pending debounced refresh, or 0 */
  gboolean      loaded;     /* the fields were filled from the plan */
  gboolean      spf_stale;  /* the IP changed since the SPF lookup */
  MbRouteMethod method;     /* the plan's when last shown */

  GtkLabel             *intro_label;
  GtkEntry             *domain_entry;
  GtkLabel             *domain_hint;
  GtkSpinner           *mx_spinner;
  GtkImage             *mx_icon;
  GtkLabel             *mx_label;
  GtkLabel             *mx_note;
  GtkRevealer          *manual_revealer;
  GtkLabel             *manual_label;
  GtkEntry             *mx_entry;
  GtkLabel             *mx_entry_hint;
  GtkWidget            *direct_send_box;
  GtkToggleButton      *require_tls_check;
  GtkLabel             *identity_title;
  GtkToggleButton      *ip_radio;
  GtkEntry             *ip_entry;
  GtkLabel             *ip_hint;
  GtkLabel             *ip_note;
  GtkToggleButton      *certificate_radio;
  GtkWidget            *certificate_grid;
  GtkEntry             *certificate_name_entry;
  GtkFileChooserButton *certificate_chooser;
  GtkLabel             *certificate_hint;
  GtkLabel             *plan_hint;
  GtkWidget            *connector_box;
  GtkTextView          *connector_view;
  GtkTextView          *spf_view;
  GtkLabel             *spf_status;
};

G_DEFINE_TYPE (MbPageMx, mb_page_mx, MB_TYPE_WIZARD_PAGE)

static void start_spf_lookup (MbPageMx *self);

/* A name with at least one dot, as the relay's configuration takes it
 * (domains and MX hosts alike). */
static gboolean
is_host_name (const char *text)
{
  g_autofree char *normal = mb_config_syntax_normalize_domain (text);

  return normal != NULL;
}

/* The entry's text without surrounding blanks, a trailing dot or
 * capitals; NULL when empty. */
static char *
dup_name (GtkEntry *entry)
{
  g_autofree char *text = g_strstrip (g_strdup (gtk_entry_get_text (entry)));
  gsize            len = strlen (text);

  if (len > 0 && text[len - 1] == '.')
    text[len - 1] = '\0';
  return *text != '\0' ? g_ascii_strdown (text, -1) : NULL;
}

static char *
dup_ip (MbPageMx *self)
{
  g_autofree char *text
      = g_strstrip (g_strdup (gtk_entry_get_text (self->ip_entry)));

  return *text != '\0' ? g_steal_pointer (&text) : NULL;
}

/* NULL when @text is a public IPv4 address; else why not. */
static const char *
check_ip (const char *text)
{
  g_autoptr (GInetAddress) address = g_inet_address_new_from_string (text);

  if (address == NULL
      || g_inet_address_get_family (address) != G_SOCKET_FAMILY_IPV4)
    return _ ("Enter an IPv4 address, like 203.0.113.10: Microsoft 365 "
              "recognises a relay by its IPv4 address only.");
  if (g_inet_address_get_is_site_local (address)
      || g_inet_address_get_is_loopback (address)
      || g_inet_address_get_is_link_local (address)
      || g_inet_address_get_is_multicast (address)
      || g_inet_address_get_is_any (address))
    return _ ("This is an address inside your network. Enter the public "
              "address Microsoft 365 sees: your internet provider can tell "
              "you which it is.");
  return NULL;
}

/* A certificate name: a host or a wildcard in one of the tenant's
 * domains. */
static gboolean
is_certificate_name (const char *text)
{
  return is_host_name (g_str_has_prefix (text, "*.") ? text + 2 : text);
}

static gboolean
use_certificate (MbPageMx *self)
{
  return self->method == MB_ROUTE_METHOD_CONNECTOR
         && gtk_toggle_button_get_active (self->certificate_radio);
}

/* The MX host the route will use: the one typed by hand, else DNS's for
 * the domain in the entry. */
static char *
dup_mx_host (MbPageMx *self, const char *domain)
{
  g_autofree char *typed = dup_name (self->mx_entry);
  const char      *found = mb_mx_lookup_get_host (self->lookup);

  if (gtk_revealer_get_reveal_child (self->manual_revealer) && typed != NULL)
    return g_steal_pointer (&typed);
  if (found != NULL
      && g_strcmp0 (domain, mb_mx_lookup_get_domain (self->lookup)) == 0)
    return g_strdup (found);
  return NULL;
}

static void
save_fields (MbPageMx *self, MbSetupPlan *plan)
{
  gboolean certificate = use_certificate (self);

  g_free (plan->domain);
  plan->domain = dup_name (self->domain_entry);
  g_free (plan->mx_host);
  plan->mx_host = dup_mx_host (self, plan->domain);
  if (self->method == MB_ROUTE_METHOD_DIRECT_SEND)
    plan->tls = gtk_toggle_button_get_active (self->require_tls_check)
                    ? MB_ROUTE_TLS_REQUIRED
                    : MB_ROUTE_TLS_OPPORTUNISTIC;
  else
    plan->tls = MB_ROUTE_TLS_REQUIRED;
  g_free (plan->public_ip);
  plan->public_ip = certificate ? NULL : dup_ip (self);
  g_free (plan->certificate_name);
  plan->certificate_name
      = certificate ? dup_name (self->certificate_name_entry) : NULL;
  g_free (plan->connector_certificate);
  plan->connector_certificate
      = certificate ? gtk_file_chooser_get_filename (
            GTK_FILE_CHOOSER (self->certificate_chooser))
                    : NULL;
}

static MbSetupPlan *
dup_scratch_plan (MbPageMx *self)
{
  MbSetupPlan *plan = mb_wizard_page_get_plan (MB_WIZARD_PAGE (self));
  MbSetupPlan *scratch
      = plan != NULL ? mb_setup_plan_copy (plan) : mb_setup_plan_new ();

  scratch->method = self->method;
  save_fields (self, scratch);
  return scratch;
}

static void
set_hint (GtkLabel *label, const char *hint, gboolean now)
{
  if (hint == NULL)
    {
      gtk_widget_hide (GTK_WIDGET (label));
      return;
    }
  if (!now)
    return;
  gtk_label_set_text (label, hint);
  gtk_widget_show (GTK_WIDGET (label));
}

static void
set_view_text (GtkTextView *view, const char *text)
{
  GtkTextBuffer   *buffer = gtk_text_view_get_buffer (view);
  g_autofree char *old = NULL;
  GtkTextIter      start, end;

  gtk_text_buffer_get_bounds (buffer, &start, &end);
  old = gtk_text_buffer_get_text (buffer, &start, &end, FALSE);
  if (g_strcmp0 (old, text != NULL ? text : "") != 0)
    gtk_text_buffer_set_text (buffer, text != NULL ? text : "", -1);
}

static void
copy_view_text (GtkTextView *view)
{
  GtkTextBuffer   *buffer = gtk_text_view_get_buffer (view);
  g_autofree char *text = NULL;
  GtkTextIter      start, end;

  gtk_text_buffer_get_bounds (buffer, &start, &end);
  text = gtk_text_buffer_get_text (buffer, &start, &end, FALSE);
  gtk_clipboard_set_text (
      gtk_widget_get_clipboard (GTK_WIDGET (view), GDK_SELECTION_CLIPBOARD),
      text, -1);
}

/* Checks the fields and sets "complete"; @now (after the typing pause)
 * also shows new hints and updates the PowerShell and SPF texts. */
static void
refresh (MbPageMx *self, gboolean now)
{
  g_autoptr (MbSetupPlan) scratch = dup_scratch_plan (self);
  g_autoptr (GError) error = NULL;
  g_autofree char *ip = dup_ip (self);
  g_autofree char *typed_mx = dup_name (self->mx_entry);
  gboolean         certificate = use_certificate (self);
  const char      *domain_hint = NULL;
  const char      *mx_hint = NULL;
  const char      *ip_hint = NULL;
  const char      *certificate_hint = NULL;
  gboolean         identity_ok = TRUE;
  gboolean         fields_ok;
  gboolean         complete;

  if (scratch->domain != NULL && !is_host_name (scratch->domain))
    domain_hint = _ ("Enter a domain name, like contoso.com.");
  if (typed_mx != NULL && !is_host_name (typed_mx))
    mx_hint = _ ("Enter a host name, like "
                 "contoso-com.mail.protection.outlook.com.");
  if (ip != NULL && !certificate)
    ip_hint = check_ip (ip);

  if (self->method == MB_ROUTE_METHOD_CONNECTOR && !certificate)
    identity_ok = ip != NULL && ip_hint == NULL;
  else if (certificate)
    {
      if (scratch->certificate_name != NULL
          && !is_certificate_name (scratch->certificate_name))
        certificate_hint = _ ("Enter the name on the certificate, like "
                              "relay.contoso.com or *.contoso.com.");
      identity_ok = scratch->certificate_name != NULL
                    && certificate_hint == NULL
                    && scratch->connector_certificate != NULL;
    }
  else
    identity_ok = ip_hint == NULL; /* Direct Send: the IP is optional */

  set_hint (self->domain_hint, domain_hint, now);
  set_hint (self->mx_entry_hint, mx_hint, now);
  set_hint (self->ip_hint, ip_hint, now);
  set_hint (self->certificate_hint, certificate_hint, now);

  fields_ok = scratch->domain != NULL && domain_hint == NULL
              && scratch->mx_host != NULL && is_host_name (scratch->mx_host)
              && identity_ok;
  /* The plan's own check has the last word (the assistant writes only
   * what it accepts); its message shows when every field looks right. */
  complete = fields_ok && mb_setup_plan_validate (scratch, &error);
  set_hint (self->plan_hint, fields_ok && !complete ? error->message : NULL,
            now);
  mb_wizard_page_set_complete (MB_WIZARD_PAGE (self), complete);

  if (now)
    {
      g_autofree char *powershell = NULL;
      g_autofree char *spf = mb_setup_plan_spf_record (scratch);

      if (self->method == MB_ROUTE_METHOD_CONNECTOR)
        powershell = mb_setup_plan_connector_powershell (scratch);
      set_view_text (self->connector_view, powershell);
      set_view_text (self->spf_view, spf);
    }
}

static gboolean
refresh_timeout_cb (gpointer user_data)
{
  MbPageMx *self = user_data;

  self->refresh_id = 0;
  refresh (self, TRUE);
  if (self->spf_stale)
    start_spf_lookup (self);
  return G_SOURCE_REMOVE;
}

static void
schedule_refresh (MbPageMx *self)
{
  refresh (self, FALSE);
  g_clear_handle_id (&self->refresh_id, g_source_remove);
  self->refresh_id = g_timeout_add (REFRESH_DELAY_MS, refresh_timeout_cb, self);
}

static void
on_field_changed_cb (MbPageMx *self)
{
  schedule_refresh (self);
}

/* Shows the outcome of a lookup: @icon (nullable), the host line, a note
 * (nullable), and whether the admin should type the host. */
static void
show_mx (MbPageMx   *self,
         const char *icon,
         const char *text,
         const char *note,
         const char *manual)
{
  gtk_spinner_stop (self->mx_spinner);
  gtk_widget_hide (GTK_WIDGET (self->mx_spinner));
  gtk_image_set_from_icon_name (self->mx_icon, icon, GTK_ICON_SIZE_MENU);
  gtk_widget_set_visible (GTK_WIDGET (self->mx_icon), icon != NULL);
  gtk_label_set_text (self->mx_label, text);
  gtk_label_set_text (self->mx_note, note != NULL ? note : "");
  gtk_widget_set_visible (GTK_WIDGET (self->mx_note), note != NULL);
  if (manual != NULL)
    gtk_label_set_text (self->manual_label, manual);
  gtk_revealer_set_reveal_child (self->manual_revealer, manual != NULL);
}

static void
start_mx_lookup (MbPageMx *self)
{
  g_autofree char *domain = dup_name (self->domain_entry);

  if (domain == NULL || !is_host_name (domain))
    {
      mb_mx_lookup_cancel (self->lookup);
      refresh (self, TRUE);
      return;
    }
  mb_mx_lookup_start (self->lookup, domain);
}

static void
start_spf_lookup (MbPageMx *self)
{
  g_autofree char *ip = use_certificate (self) ? NULL : dup_ip (self);

  self->spf_stale = FALSE;
  mb_mx_lookup_start_spf (self->lookup,
                          ip != NULL && check_ip (ip) == NULL ? ip : NULL);
}

static void
on_lookup_mx_started_cb (MbMxLookup *lookup, gpointer user_data)
{
  MbPageMx *self = user_data;

  gtk_label_set_text (self->spf_status, "");
  gtk_widget_hide (GTK_WIDGET (self->mx_icon));
  gtk_widget_hide (GTK_WIDGET (self->mx_note));
  gtk_widget_show (GTK_WIDGET (self->mx_spinner));
  gtk_spinner_start (self->mx_spinner);
  gtk_label_set_text (self->mx_label, _ ("Looking it up…"));
}

static void
on_lookup_mx_answered_cb (MbMxLookup *lookup,
                          const char *icon,
                          const char *text,
                          const char *note,
                          const char *manual,
                          gpointer    user_data)
{
  MbPageMx *self = user_data;

  show_mx (self, icon, text, note, manual);
  if (mb_mx_lookup_get_host (lookup) != NULL)
    start_spf_lookup (self);
  refresh (self, TRUE);
}

static void
on_lookup_spf_answered_cb (MbMxLookup *lookup,
                           const char *status,
                           gpointer    user_data)
{
  MbPageMx *self = user_data;

  gtk_label_set_text (self->spf_status, status);
}

static void
on_domain_changed_cb (MbPageMx *self)
{
  g_autofree char *domain = dup_name (self->domain_entry);

  if (g_strcmp0 (domain, mb_mx_lookup_get_domain (self->lookup)) != 0)
    {
      mb_mx_lookup_forget (self->lookup);
      show_mx (self, NULL,
               domain != NULL ? "" : _ ("Enter the domain to look it up."),
               NULL,
               gtk_revealer_get_reveal_child (self->manual_revealer)
                   ? gtk_label_get_text (self->manual_label)
                   : NULL);
      gtk_label_set_text (self->spf_status, "");
      if (domain != NULL && is_host_name (domain))
        mb_mx_lookup_schedule (self->lookup, domain);
    }
  else if (domain == NULL)
    /* Emptied while a lookup waits for the pause: none is due. */
    mb_mx_lookup_cancel (self->lookup);
  schedule_refresh (self);
}

static void
on_lookup_clicked_cb (MbPageMx *self)
{
  start_mx_lookup (self);
}

static void
on_ip_changed_cb (MbPageMx *self)
{
  self->spf_stale = TRUE;
  schedule_refresh (self);
}

static void
on_identity_toggled_cb (MbPageMx *self, GtkToggleButton *button)
{
  gboolean certificate;

  if (!gtk_toggle_button_get_active (button))
    return;
  certificate = use_certificate (self);
  gtk_widget_set_sensitive (GTK_WIDGET (self->ip_entry), !certificate);
  gtk_widget_set_sensitive (self->certificate_grid, certificate);
  g_clear_handle_id (&self->refresh_id, g_source_remove);
  refresh (self, TRUE);
  start_spf_lookup (self);
}

static void
on_copy_connector_clicked_cb (MbPageMx *self)
{
  copy_view_text (self->connector_view);
}

static void
on_copy_spf_clicked_cb (MbPageMx *self)
{
  copy_view_text (self->spf_view);
}

/* The parts and words of the plan's method. */
static void
show_method (MbPageMx *self)
{
  gboolean connector = self->method == MB_ROUTE_METHOD_CONNECTOR;

  gtk_label_set_text (
      self->intro_label,
      connector
          ? _ ("Mailbridge delivers to your organisation’s Microsoft 365 "
               "mail server (its MX host, port 25) over TLS, without "
               "signing in. An inbound connector in Microsoft 365 recognises "
               "this relay and lets it send to anyone, from any address of "
               "your accepted domains.")
          : _ ("Mailbridge delivers straight to your "
               "organisation’s Microsoft 365 mail server (its MX host, port "
               "25), without signing in."));
  mb_wizard_page_set_title (MB_WIZARD_PAGE (self),
                            connector ? _ ("Relay Through a Connector")
                                      : _ ("Direct Send"));
  gtk_widget_set_visible (self->direct_send_box, !connector);
  gtk_widget_set_visible (self->connector_box, connector);
  gtk_widget_set_visible (GTK_WIDGET (self->ip_radio), connector);
  gtk_widget_set_visible (GTK_WIDGET (self->certificate_radio), connector);
  gtk_widget_set_visible (self->certificate_grid, connector);
  gtk_widget_set_margin_start (GTK_WIDGET (self->ip_entry), connector ? 26 : 0);
  gtk_widget_set_margin_start (GTK_WIDGET (self->ip_note), connector ? 26 : 0);
  gtk_label_set_text_with_mnemonic (
      self->identity_title, connector
                                ? _ ("How Microsoft 365 recognises this relay")
                                : _ ("This office’s _public IP address "
                                     "(optional)"));
  gtk_label_set_text (
      self->ip_note,
      connector ? _ ("IPv4 only. The address must be static and used by your "
                     "organisation alone (not shared hosting or a provider’s "
                     "shared NAT). Microsoft 365 then relays mail whose sender "
                     "(MAIL FROM) is in one of your accepted domains.")
                : _ ("For the SPF record below: without it, Microsoft 365 will "
                     "likely treat the mail as spam."));
  gtk_widget_set_sensitive (GTK_WIDGET (self->ip_entry),
                            !use_certificate (self));
  gtk_widget_set_sensitive (self->certificate_grid, use_certificate (self));
}

static void
load_fields (MbPageMx *self, const MbSetupPlan *plan)
{
  gtk_entry_set_text (self->domain_entry, plan->domain ? plan->domain : "");
  gtk_toggle_button_set_active (self->require_tls_check,
                                plan->method == MB_ROUTE_METHOD_DIRECT_SEND
                                    && plan->tls == MB_ROUTE_TLS_REQUIRED);
  gtk_entry_set_text (self->ip_entry, plan->public_ip ? plan->public_ip : "");
  gtk_entry_set_text (self->certificate_name_entry,
                      plan->certificate_name ? plan->certificate_name : "");
  if (plan->connector_certificate != NULL)
    gtk_file_chooser_set_filename (GTK_FILE_CHOOSER (self->certificate_chooser),
                                   plan->connector_certificate);
  gtk_toggle_button_set_active (self->certificate_radio,
                                plan->certificate_name != NULL
                                    && plan->public_ip == NULL);
  /* The host the configuration has: offered when DNS cannot answer. */
  gtk_entry_set_text (self->mx_entry, plan->mx_host ? plan->mx_host : "");
}

static void
mb_page_mx_shown (MbWizardPage *page)
{
  MbPageMx    *self = MB_PAGE_MX (page);
  MbSetupPlan *plan = mb_wizard_page_get_plan (page);
  GtkWidget   *scrolled
      = gtk_widget_get_ancestor (GTK_WIDGET (page), GTK_TYPE_SCROLLED_WINDOW);

  /* The assistant scrolls its pages: Tab brings the focused field into
   * view. */
  if (scrolled != NULL)
    gtk_container_set_focus_vadjustment (
        GTK_CONTAINER (page),
        gtk_scrolled_window_get_vadjustment (GTK_SCROLLED_WINDOW (scrolled)));

  if (plan != NULL)
    self->method = plan->method == MB_ROUTE_METHOD_CONNECTOR
                       ? MB_ROUTE_METHOD_CONNECTOR
                       : MB_ROUTE_METHOD_DIRECT_SEND;
  show_method (self);
  /* Fill the fields once: going Back and Next again keeps what was typed. */
  if (!self->loaded && plan != NULL)
    {
      self->loaded = TRUE;
      load_fields (self, plan);
    }
  g_clear_handle_id (&self->refresh_id, g_source_remove);
  refresh (self, TRUE);
  if (mb_mx_lookup_get_host (self->lookup) == NULL
      && !mb_mx_lookup_is_running (self->lookup))
    start_mx_lookup (self);
  gtk_widget_grab_focus (GTK_WIDGET (self->domain_entry));
}

static void
mb_page_mx_save (MbWizardPage *page, MbSetupPlan *plan)
{
  save_fields (MB_PAGE_MX (page), plan);
}

/* Leaving the page (it is unmapped with the assistant's stack) stops its
 * lookups; showing it again starts what is missing. */
static void
mb_page_mx_unmap (GtkWidget *widget)
{
  MbPageMx *self = MB_PAGE_MX (widget);

  if (mb_mx_lookup_is_running (self->lookup)
      || mb_mx_lookup_is_pending (self->lookup))
    {
      mb_mx_lookup_forget (self->lookup);
      show_mx (self, NULL, "", NULL,
               gtk_revealer_get_reveal_child (self->manual_revealer)
                   ? gtk_label_get_text (self->manual_label)
                   : NULL);
    }
  mb_mx_lookup_cancel (self->lookup);
  GTK_WIDGET_CLASS (mb_page_mx_parent_class)->unmap (widget);
}

static void
mb_page_mx_dispose (GObject *object)
{
  MbPageMx *self = MB_PAGE_MX (object);

  g_clear_handle_id (&self->refresh_id, g_source_remove);
  /* Kept until finalize: the parent's dispose may unmap the page. */
  mb_mx_lookup_cancel (self->lookup);
  G_OBJECT_CLASS (mb_page_mx_parent_class)->dispose (object);
}

static void
mb_page_mx_finalize (GObject *object)
{
  MbPageMx *self = MB_PAGE_MX (object);

  g_object_unref (self->lookup);
  G_OBJECT_CLASS (mb_page_mx_parent_class)->finalize (object);
}

static void
mb_page_mx_class_init (MbPageMxClass *klass)
{
  GObjectClass      *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass    *widget_class = GTK_WIDGET_CLASS (klass);
  MbWizardPageClass *page_class = MB_WIZARD_PAGE_CLASS (klass);

  object_class->dispose = mb_page_mx_dispose;
  object_class->finalize = mb_page_mx_finalize;
  widget_class->unmap = mb_page_mx_unmap;
  page_class->shown = mb_page_mx_shown;
  page_class->save = mb_page_mx_save;

  gtk_widget_class_set_template_from_resource (
      widget_class, "/org/mailbridge/Mailbridge/ui/mb-page-mx.ui");
#define BIND(name)                                                             \
  gtk_widget_class_bind_template_child (widget_class, MbPageMx, name)
  BIND (intro_label);
  BIND (domain_entry);
  BIND (domain_hint);
  BIND (mx_spinner);
  BIND (mx_icon);
  BIND (mx_label);
  BIND (mx_note);
  BIND (manual_revealer);
  BIND (manual_label);
  BIND (mx_entry);
  BIND (mx_entry_hint);
  BIND (direct_send_box);
  BIND (require_tls_check);
  BIND (identity_title);
  BIND (ip_radio);
  BIND (ip_entry);
  BIND (ip_hint);
  BIND (ip_note);
  BIND (certificate_radio);
  BIND (certificate_grid);
  BIND (certificate_name_entry);
  BIND (certificate_chooser);
  BIND (certificate_hint);
  BIND (plan_hint);
  BIND (connector_box);
  BIND (connector_view);
  BIND (spf_view);
  BIND (spf_status);
#undef BIND
  gtk_widget_class_bind_template_callback (widget_class, on_field_changed_cb);
  gtk_widget_class_bind_template_callback (widget_class, on_domain_changed_cb);
  gtk_widget_class_bind_template_callback (widget_class, on_lookup_clicked_cb);
  gtk_widget_class_bind_template_callback (widget_class, on_ip_changed_cb);
  gtk_widget_class_bind_template_callback (widget_class,
                                           on_identity_toggled_cb);
  gtk_widget_class_bind_template_callback (widget_class,
                                           on_copy_connector_clicked_cb);
  gtk_widget_class_bind_template_callback (widget_class,
                                           on_copy_spf_clicked_cb);
}

static void
mb_page_mx_init (MbPageMx *self)
{
  self->method = MB_ROUTE_METHOD_DIRECT_SEND;
  self->lookup = mb_mx_lookup_new ();
  g_signal_connect (self->lookup, "mx-started",
                    G_CALLBACK (on_lookup_mx_started_cb), self);
  g_signal_connect (self->lookup, "mx-answered",
                    G_CALLBACK (on_lookup_mx_answered_cb), self);
  g_signal_connect (self->lookup, "spf-answered",
                    G_CALLBACK (on_lookup_spf_answered_cb), self);
  gtk_widget_init_template (GTK_WIDGET (self));
  show_method (self);
}

GtkWidget *
mb_page_mx_new (void)
{
  return g_object_new (MB_TYPE_PAGE_MX, NULL);
}
