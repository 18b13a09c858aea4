/* mb-page-network.c - the setup assistant's network page
 *
 * Whether devices on the network may send (off: loopback only, the safe
 * default of DESIGN.md), where the relay listens for them, which of them
 * may relay, and the admin address.  "complete" follows the fields at
 * once; a field's hint turns into its problem 300 ms after the admin
 * stops typing (and back at once when it is fixed), as in
 * gnome-initial-setup's password page.  The values are checked with the
 * relay's own syntax (mb-config-syntax), so what passes here loads.
 */
#define G_LOG_DOMAIN "mb-page-network"

#include "mb-page-network.h"

#include <arpa/inet.h>
#include <glib/gi18n.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>

#include "mb-config-syntax.h"

#define VALIDATE_DELAY_MS 300
#define ROW_ENTRY_KEY "mb-allow-entry"
#define ROW_HINT_KEY "mb-allow-hint"

struct _MbPageNetwork
{
  MbWizardPage parent_instance;

  guint validate_id; /* pending hint update, 0 if none */

  GtkSwitch   *lan_switch;
  GtkRevealer *lan_revealer;
  GtkEntry    *listen_entry;
  GtkLabel    *listen_hint;
  GtkListBox  *allow_list;
  GtkLabel    *allow_hint;
  GtkEntry    *admin_entry;
  GtkLabel    *admin_hint;
};

G_DEFINE_TYPE (MbPageNetwork, mb_page_network, MB_TYPE_WIZARD_PAGE)

/* The widest ranges the relay accepts (mb-config-syntax.c). */
#define WIDEST_IPV4 8
#define WIDEST_IPV6 7

/* Helpers */

static char *
get_trimmed_text (GtkEntry *entry)
{
  return g_strstrip (g_strdup (gtk_entry_get_text (entry)));
}

/* The network of @address/@length, its host bits cleared. */
static char *
format_network (GInetAddress *address, guint length)
{
  gsize  size = g_inet_address_get_native_size (address);
  guint8 bytes[16];
  g_autoptr (GInetAddress) network = NULL;
  g_autofree char *text = NULL;

  memcpy (bytes, g_inet_address_to_bytes (address), size);
  for (guint i = length; i < size * 8; i++)
    bytes[i / 8] &= ~(0x80 >> (i % 8));
  network = g_inet_address_new_from_bytes (bytes,
                                           g_inet_address_get_family (address));
  text = g_inet_address_to_string (network);
  return g_strdup_printf ("%s/%u", text, length);
}

/* (nullable) What is wrong with the allow entry @text, in words. */
static char *
check_allow (const char *text)
{
  g_autoptr (GInetAddressMask) mask = NULL;
  g_autoptr (GInetAddress) address = NULL;
  g_auto (GStrv) parts = NULL;
  guint64 length;
  guint   bits;

  mask = mb_config_syntax_parse_allow (text, NULL);
  if (mask != NULL)
    return NULL;

  parts = g_strsplit (text, "/", 2);
  address = g_inet_address_new_from_string (parts[0]);
  if (address == NULL || parts[1] == NULL)
    /* Translators: %s is what the admin typed */
    return g_strdup_printf (_ ("“%s” is not an address or a network. Enter "
                               "one device, like 192.168.1.20, or a "
                               "network, like 192.168.1.0/24."),
                            text);
  bits = g_inet_address_get_native_size (address) * 8;
  if (!g_ascii_string_to_unsigned (parts[1], 10, 0, bits, &length, NULL))
    /* Translators: %s is what the admin typed */
    return g_strdup_printf (_ ("“%s” has no valid prefix length after the "
                               "“/”. Enter a network like 192.168.1.0/24."),
                            text);
  if (length < (bits == 32 ? WIDEST_IPV4 : WIDEST_IPV6))
    /* Translators: %s is what the admin typed, e.g. 0.0.0.0/0 */
    return g_strdup_printf (_ ("“%s” is too wide: it would let computers "
                               "far beyond your network send mail through "
                               "this relay, making it an open relay. Enter "
                               "your own network, like 192.168.1.0/24."),
                            text);
  {
    g_autofree char *network = format_network (address, (guint)length);

    /* Translators: the first %s is what the admin typed, the second the
     * network it probably means */
    return g_strdup_printf (_ ("“%s” is not the start of a network: did you "
                               "mean %s?"),
                            text, network);
  }
}

/* (nullable) */
static char *
check_listen (const char *text)
{
  g_autoptr (GInetSocketAddress) address = NULL;

  if (*text == '\0')
    return g_strdup (_ ("Enter the address and port to listen on, like "
                        "0.0.0.0:2525 (all addresses of this computer)."));
  address = mb_config_syntax_parse_listen (text, NULL);
  if (address == NULL)
    /* Translators: %s is what the admin typed */
    return g_strdup_printf (_ ("“%s” is not an IP address and a port. Enter "
                               "one like 0.0.0.0:2525 or 192.168.1.10:2525; "
                               "host names do not work here."),
                            text);
  if (g_inet_address_get_is_loopback (
          g_inet_socket_address_get_address (address)))
    /* Translators: %s is what the admin typed */
    return g_strdup_printf (_ ("“%s” reaches only this computer, not the "
                               "devices. Use 0.0.0.0:2525, or this "
                               "computer’s address in the network."),
                            text);
  return NULL;
}

/* (nullable) */
static char *
check_admin (const char *text)
{
  g_autofree char *normal = NULL;

  if (*text == '\0')
    return NULL;
  normal = mb_config_syntax_normalize_mailbox (text);
  if (normal == NULL)
    return g_strdup (_ ("Enter one email address, like it@contoso.com, "
                        "without a name or angle brackets."));
  return NULL;
}

static void
set_hint (GtkLabel *label, const char *problem, const char *normal)
{
  GtkStyleContext *context = gtk_widget_get_style_context (GTK_WIDGET (label));

  gtk_label_set_text (label, problem != NULL ? problem : normal);
  gtk_widget_set_visible (GTK_WIDGET (label),
                          problem != NULL || (normal != NULL && *normal));
  if (problem != NULL)
    {
      gtk_style_context_remove_class (context, "dim-label");
      gtk_style_context_add_class (context, "error");
    }
  else
    {
      gtk_style_context_remove_class (context, "error");
      gtk_style_context_add_class (context, "dim-label");
    }
}

static void
mark_entry (GtkEntry *entry, gboolean wrong)
{
  GtkStyleContext *context = gtk_widget_get_style_context (GTK_WIDGET (entry));

  if (wrong)
    gtk_style_context_add_class (context, "error");
  else
    gtk_style_context_remove_class (context, "error");
}

static GList *
get_allow_rows (MbPageNetwork *self)
{
  return gtk_container_get_children (GTK_CONTAINER (self->allow_list));
}

static const char *
listen_normal_hint (void)
{
  return _ ("Devices then send to this computer’s address on port 2525 (or "
            "the port you enter). For devices that only know port 25, let "
            "the firewall forward port 25 to this port: Mailbridge does "
            "not run as root.");
}

static const char *
allow_normal_hint (void)
{
  return _ ("Only these devices may send; any other is refused. Enter one "
            "device, like 192.168.1.20, or a network, like 192.168.1.0/24.");
}

static const char *
admin_normal_hint (void)
{
  return _ ("Bounces of mail that cannot be delivered, and notices about "
            "delays, go to this address.");
}

/* Checks every field; updates "complete" always, and the hints when
 * @show_problems (a problem that went away disappears at once either
 * way). */
static void
validate (MbPageNetwork *self, gboolean show_problems)
{
  gboolean         lan = gtk_switch_get_active (self->lan_switch);
  g_autofree char *listen = get_trimmed_text (self->listen_entry);
  g_autofree char *admin = get_trimmed_text (self->admin_entry);
  g_autofree char *listen_problem = check_listen (listen);
  g_autofree char *admin_problem = check_admin (admin);
  g_autoptr (GList) rows = get_allow_rows (self);
  gboolean complete = admin_problem == NULL;
  guint    allowed = 0;
  guint    typed = 0;

  if (lan)
    complete = complete && listen_problem == NULL;
  for (GList *l = rows; l != NULL; l = l->next)
    {
      GtkEntry        *entry = g_object_get_data (l->data, ROW_ENTRY_KEY);
      GtkLabel        *hint = g_object_get_data (l->data, ROW_HINT_KEY);
      g_autofree char *text = get_trimmed_text (entry);
      g_autofree char *problem = *text != '\0' ? check_allow (text) : NULL;

      if (*text != '\0')
        typed++;
      if (*text != '\0' && problem == NULL)
        allowed++;
      if (lan && problem != NULL)
        complete = FALSE;
      if (problem == NULL || show_problems)
        {
          set_hint (hint, problem, NULL);
          mark_entry (entry, problem != NULL);
        }
    }
  if (lan && allowed == 0)
    complete = FALSE;

  if (listen_problem == NULL || show_problems)
    {
      set_hint (self->listen_hint, listen_problem, listen_normal_hint ());
      mark_entry (self->listen_entry, listen_problem != NULL);
    }
  /* An empty list is the problem only when no entry has its own. */
  if (typed > 0 || show_problems)
    set_hint (self->allow_hint,
              typed == 0 ? _ ("Add the address of at least one device, or "
                              "the network they are on.")
                         : NULL,
              allow_normal_hint ());
  if (admin_problem == NULL || show_problems)
    {
      set_hint (self->admin_hint, admin_problem, admin_normal_hint ());
      mark_entry (self->admin_entry, admin_problem != NULL);
    }
  mb_wizard_page_set_complete (MB_WIZARD_PAGE (self), complete);
}

static gboolean
on_validate_timeout_cb (gpointer user_data)
{
  MbPageNetwork *self = user_data;

  self->validate_id = 0;
  validate (self, TRUE);
  return G_SOURCE_REMOVE;
}

static void
on_field_changed_cb (MbPageNetwork *self)
{
  validate (self, FALSE);
  g_clear_handle_id (&self->validate_id, g_source_remove);
  self->validate_id
      = g_timeout_add (VALIDATE_DELAY_MS, on_validate_timeout_cb, self);
}

static void
on_remove_button_clicked_cb (GtkButton *button, gpointer user_data)
{
  MbPageNetwork *self = user_data;
  GtkWidget     *row
      = gtk_widget_get_ancestor (GTK_WIDGET (button), GTK_TYPE_LIST_BOX_ROW);

  gtk_widget_destroy (row);
  gtk_widget_grab_focus (GTK_WIDGET (self->allow_list));
  on_field_changed_cb (self);
}

static GtkEntry *
add_allow_row (MbPageNetwork *self, const char *text)
{
  GtkWidget *row = gtk_list_box_row_new ();
  GtkWidget *box = gtk_box_new (GTK_ORIENTATION_VERTICAL, 4);
  GtkWidget *line = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 6);
  GtkWidget *entry = gtk_entry_new ();
  GtkWidget *remove = gtk_button_new_from_icon_name ("list-remove-symbolic",
                                                     GTK_ICON_SIZE_BUTTON);
  GtkWidget *hint = gtk_label_new (NULL);

  gtk_list_box_row_set_activatable (GTK_LIST_BOX_ROW (row), FALSE);
  gtk_list_box_row_set_selectable (GTK_LIST_BOX_ROW (row), FALSE);
  g_object_set (box, "margin", 6, NULL);

  gtk_entry_set_text (GTK_ENTRY (entry), text);
  gtk_entry_set_activates_default (GTK_ENTRY (entry), TRUE);
  gtk_entry_set_placeholder_text (GTK_ENTRY (entry), "192.168.1.0/24");
  gtk_widget_set_hexpand (entry, TRUE);
  atk_object_set_name (gtk_widget_get_accessible (entry),
                       _ ("Allowed address or network"));
  g_signal_connect_object (entry, "changed", G_CALLBACK (on_field_changed_cb),
                           self, G_CONNECT_SWAPPED);

  gtk_button_set_relief (GTK_BUTTON (remove), GTK_RELIEF_NONE);
  gtk_widget_set_tooltip_text (remove, _ ("Remove this entry"));
  atk_object_set_name (gtk_widget_get_accessible (remove), _ ("Remove"));
  g_signal_connect_object (remove, "clicked",
                           G_CALLBACK (on_remove_button_clicked_cb), self, 0);

  gtk_label_set_xalign (GTK_LABEL (hint), 0);
  gtk_label_set_line_wrap (GTK_LABEL (hint), TRUE);
  gtk_label_set_max_width_chars (GTK_LABEL (hint), 50);
  gtk_widget_set_no_show_all (hint, TRUE);

  gtk_container_add (GTK_CONTAINER (line), entry);
  gtk_container_add (GTK_CONTAINER (line), remove);
  gtk_container_add (GTK_CONTAINER (box), line);
  gtk_container_add (GTK_CONTAINER (box), hint);
  gtk_container_add (GTK_CONTAINER (row), box);
  gtk_widget_show_all (row);
  g_object_set_data (G_OBJECT (row), ROW_ENTRY_KEY, entry);
  g_object_set_data (G_OBJECT (row), ROW_HINT_KEY, hint);
  gtk_container_add (GTK_CONTAINER (self->allow_list), row);
  return GTK_ENTRY (entry);
}

static void
on_add_button_clicked_cb (MbPageNetwork *self)
{
  GtkEntry *entry = add_allow_row (self, "");

  gtk_widget_grab_focus (GTK_WIDGET (entry));
  validate (self, FALSE);
}

static void
on_lan_switch_active_notify_cb (MbPageNetwork *self)
{
  gboolean lan = gtk_switch_get_active (self->lan_switch);

  gtk_revealer_set_reveal_child (self->lan_revealer, lan);
  /* Hidden fields must not take the focus (or be read aloud). */
  gtk_widget_set_sensitive (gtk_bin_get_child (GTK_BIN (self->lan_revealer)),
                            lan);
  on_field_changed_cb (self);
}

/* The IPv4 networks of this computer's interfaces (not loopback, not
 * link-local), as a suggestion for the allow list.  getifaddrs() asks
 * the kernel over netlink: no disk, no network, no waiting. */
static GPtrArray *
find_local_networks (void)
{
  GPtrArray      *networks = g_ptr_array_new_with_free_func (g_free);
  struct ifaddrs *list = NULL;

  if (getifaddrs (&list) != 0)
    return networks;
  for (struct ifaddrs *ifa = list; ifa != NULL; ifa = ifa->ifa_next)
    {
      const struct sockaddr_in *addr = (void *)ifa->ifa_addr;
      const struct sockaddr_in *mask = (void *)ifa->ifa_netmask;
      g_autoptr (GInetAddress) address = NULL;
      guint32 host_order_mask;
      guint   length;
      char   *network;

      if (addr == NULL || mask == NULL || addr->sin_family != AF_INET
          || (ifa->ifa_flags & IFF_LOOPBACK) || !(ifa->ifa_flags & IFF_UP))
        continue;
      host_order_mask = ntohl (mask->sin_addr.s_addr);
      length = (guint)__builtin_popcount (host_order_mask);
      /* Never suggest a range the relay would refuse as an open relay. */
      if (length < WIDEST_IPV4)
        continue;
      address = g_inet_address_new_from_bytes ((const guint8 *)&addr->sin_addr,
                                               G_SOCKET_FAMILY_IPV4);
      if (g_inet_address_get_is_link_local (address))
        continue;
      network = format_network (address, length);
      if (g_ptr_array_find_with_equal_func (networks, network, g_str_equal,
                                            NULL))
        g_free (network);
      else
        g_ptr_array_add (networks, network);
    }
  freeifaddrs (list);
  return networks;
}

static void
load_plan (MbPageNetwork *self, const MbSetupPlan *plan)
{
  g_autoptr (GList) rows = get_allow_rows (self);

  for (GList *l = rows; l != NULL; l = l->next)
    gtk_widget_destroy (l->data);
  if (plan->allow != NULL && plan->allow[0] != NULL)
    {
      for (guint i = 0; plan->allow[i] != NULL; i++)
        add_allow_row (self, plan->allow[i]);
    }
  else
    {
      g_autoptr (GPtrArray) networks = find_local_networks ();

      for (guint i = 0; i < networks->len; i++)
        add_allow_row (self, networks->pdata[i]);
    }
  gtk_entry_set_text (self->listen_entry,
                      plan->lan_listen != NULL
                          ? plan->lan_listen
                          : MB_SETUP_PLAN_DEFAULT_LAN_LISTEN);
  gtk_entry_set_text (self->admin_entry,
                      plan->admin_address != NULL ? plan->admin_address : "");
  gtk_switch_set_active (self->lan_switch, plan->lan);
  on_lan_switch_active_notify_cb (self);
}

/* Overrides */

static void
mb_page_network_shown (MbWizardPage *page)
{
  MbPageNetwork *self = MB_PAGE_NETWORK (page);
  MbSetupPlan   *plan = mb_wizard_page_get_plan (page);

  if (plan != NULL)
    load_plan (self, plan);
  /* What is there is shown as it is: problems at once. */
  g_clear_handle_id (&self->validate_id, g_source_remove);
  validate (self, TRUE);
  gtk_widget_grab_focus (GTK_WIDGET (self->lan_switch));
}

static void
mb_page_network_save (MbWizardPage *page, MbSetupPlan *plan)
{
  MbPageNetwork   *self = MB_PAGE_NETWORK (page);
  g_autofree char *admin = get_trimmed_text (self->admin_entry);
  g_autoptr (GStrvBuilder) allow = g_strv_builder_new ();
  g_autoptr (GList) rows = get_allow_rows (self);

  plan->lan = gtk_switch_get_active (self->lan_switch);
  g_free (plan->lan_listen);
  plan->lan_listen = get_trimmed_text (self->listen_entry);
  for (GList *l = rows; l != NULL; l = l->next)
    {
      g_autofree char *text
          = get_trimmed_text (g_object_get_data (l->data, ROW_ENTRY_KEY));

      if (*text != '\0')
        g_strv_builder_add (allow, text);
    }
  g_strfreev (plan->allow);
  /* Without the LAN listener only loopback can connect: no list needed. */
  plan->allow = plan->lan ? g_strv_builder_end (allow) : NULL;
  g_free (plan->admin_address);
  plan->admin_address = *admin != '\0' ? g_steal_pointer (&admin) : NULL;
}

static void
mb_page_network_dispose (GObject *object)
{
  MbPageNetwork *self = MB_PAGE_NETWORK (object);

  g_clear_handle_id (&self->validate_id, g_source_remove);
  G_OBJECT_CLASS (mb_page_network_parent_class)->dispose (object);
}

static void
mb_page_network_class_init (MbPageNetworkClass *klass)
{
  GtkWidgetClass    *widget_class = GTK_WIDGET_CLASS (klass);
  MbWizardPageClass *page_class = MB_WIZARD_PAGE_CLASS (klass);

  G_OBJECT_CLASS (klass)->dispose = mb_page_network_dispose;
  page_class->shown = mb_page_network_shown;
  page_class->save = mb_page_network_save;

  gtk_widget_class_set_template_from_resource (
      widget_class, "/org/mailbridge/Mailbridge/ui/mb-page-network.ui");
  gtk_widget_class_bind_template_child (widget_class, MbPageNetwork,
                                        lan_switch);
  gtk_widget_class_bind_template_child (widget_class, MbPageNetwork,
                                        lan_revealer);
  gtk_widget_class_bind_template_child (widget_class, MbPageNetwork,
                                        listen_entry);
  gtk_widget_class_bind_template_child (widget_class, MbPageNetwork,
                                        listen_hint);
  gtk_widget_class_bind_template_child (widget_class, MbPageNetwork,
                                        allow_list);
  gtk_widget_class_bind_template_child (widget_class, MbPageNetwork,
                                        allow_hint);
  gtk_widget_class_bind_template_child (widget_class, MbPageNetwork,
                                        admin_entry);
  gtk_widget_class_bind_template_child (widget_class, MbPageNetwork,
                                        admin_hint);
  gtk_widget_class_bind_template_callback (widget_class,
                                           on_lan_switch_active_notify_cb);
  gtk_widget_class_bind_template_callback (widget_class, on_field_changed_cb);
  gtk_widget_class_bind_template_callback (widget_class,
                                           on_add_button_clicked_cb);
}

static void
mb_page_network_init (MbPageNetwork *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
  mb_wizard_page_set_title (MB_WIZARD_PAGE (self),
                            _ ("Which Devices May Send?"));
  set_hint (self->listen_hint, NULL, listen_normal_hint ());
  set_hint (self->allow_hint, NULL, allow_normal_hint ());
  set_hint (self->admin_hint, NULL, admin_normal_hint ());
}

GtkWidget *
mb_page_network_new (void)
{
  return g_object_new (MB_TYPE_PAGE_NETWORK, NULL);
}
