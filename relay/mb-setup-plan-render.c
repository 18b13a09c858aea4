/* mb-setup-plan-render.c - a setup plan applied to the text of a
 * configuration file
 *
 * WHAT IT DOES
 *   mb_setup_plan_render(): edits the existing text of the configuration
 *   file through GKeyFile so that it says what the plan says: [relay]
 *   listen and allow, the placement of keys new to a group, the comments
 *   around group headers, and the removal of the keys of the other methods.
 *
 * GUARANTEES
 *   - Groups, comments, translations and keys the assistant does not
 *     manage survive unchanged.  A key new to a group goes after the last
 *     key the assistant sets there (else the group's last key), before the
 *     comments that follow it (they describe what comes next); a new
 *     [relay] goes before the first group, a new route group at the end.
 *     Rendering the result again with the same plan changes nothing.
 *   - What the assistant manages: in [relay] listen, allow, route and
 *     admin-address; in the plan's [route NAME] the keys of the method
 *     (mb-setup-plan.h).  client-certificate is the plan's (oauth-app's or
 *     the connector's) and goes without one; client-key goes when
 *     client-certificate changes or goes.  With the mailbox gone (Direct
 *     Send, connector), send-as and a rewrite-* sender-policy go too: they
 *     need a mailbox.  An HVE route is written as submission is (it signs
 *     in the same way).
 *   - listen keeps the loopback listeners and puts the plan's LAN listener
 *     in place of the non-loopback ones.  A wildcard LAN listener
 *     (0.0.0.0:P, [::]:P) replaces the loopback listener of its family and
 *     port, which Linux would refuse to bind beside it, and gives it back
 *     when the LAN listener goes.  allow is loopback plus the plan's list.
 *   - The plan is validated first (mb_setup_plan_validate()), and the
 *     result is checked with mb_relay_config_load_data() before it is
 *     returned: the assistant never writes a file the relay refuses.
 *
 * WHAT IT DOES NOT DO
 *   No I/O: mb-setup-plan.c reads and writes the file.  No texts for
 *   Microsoft 365 (mb-setup-plan-texts.c).  Error messages are translated
 *   (GETTEXT_PACKAGE).
 *
 * No RFC: the file is a GKeyFile (the Desktop Entry syntax).
 */
#define G_LOG_DOMAIN "mb-setup-plan"

#include "mb-setup-plan-private.h"

#include "mb-config-syntax.h"

#include <glib/gi18n-lib.h>
#include <string.h>

#define LOOPBACK_LISTEN "127.0.0.1:2525;[::1]:2525"
#define LOOPBACK_ALLOW "127.0.0.0/8;::1/128"
#define ROUTE_PREFIX "route "
#define RENDER_ORIGIN "mailbridge.conf"
#define MX_PORT "25" /* M365-FACTS.md 1.1: Direct Send and connector */
#define KEYFILE_FLAGS (G_KEY_FILE_KEEP_COMMENTS | G_KEY_FILE_KEEP_TRANSLATIONS)

/* One change to a group: @value NULL removes @key.  A @raw value is
 * written as it is (a list already joined); otherwise GKeyFile escapes it. */
typedef struct
{
  const char *key;
  char       *value; /* (owned) (nullable) */
  gboolean    raw;
} Edit;

/* Lines to insert before line @at. */
typedef struct
{
  guint      at;
  GPtrArray *lines; /* (unowned) */
} Insert;

static void
edit_clear (Edit *edit)
{
  g_free (edit->value);
}

/* Rendering: the values */

/* A list value as GKeyFile writes one, without the trailing ';'. */
static char *
join_list (GPtrArray *items)
{
  GString *joined = g_string_new (NULL);

  for (guint i = 0; i < items->len; i++)
    {
      if (i > 0)
        g_string_append_c (joined, ';');
      for (const char *p = items->pdata[i]; *p != '\0'; p++)
        {
          if (*p == ';' || *p == '\\')
            g_string_append_c (joined, '\\');
          g_string_append_c (joined, *p);
        }
    }
  return g_string_free (joined, FALSE);
}

static gboolean
contains (GPtrArray *items, const char *item)
{
  return g_ptr_array_find_with_equal_func (items, item, g_str_equal, NULL);
}

/* The loopback listener a wildcard listener stands in for. */
static char *
loopback_for_wildcard (GInetSocketAddress *address)
{
  GInetAddress *ip = g_inet_socket_address_get_address (address);
  guint16       port = g_inet_socket_address_get_port (address);

  if (!g_inet_address_get_is_any (ip))
    return NULL;
  if (g_inet_address_get_family (ip) == G_SOCKET_FAMILY_IPV4)
    return g_strdup_printf ("127.0.0.1:%u", port);
  return g_strdup_printf ("[::1]:%u", port);
}

/* Whether @lan (a wildcard) covers the loopback listener @text. */
static gboolean
is_covered (GInetSocketAddress *lan, const char *text)
{
  g_autoptr (GInetSocketAddress) address
      = mb_config_syntax_parse_listen (text, NULL);
  GInetAddress *lan_ip = g_inet_socket_address_get_address (lan);

  return address != NULL && g_inet_address_get_is_any (lan_ip)
         && g_inet_address_get_family (lan_ip)
                == g_inet_address_get_family (
                    g_inet_socket_address_get_address (address))
         && g_inet_socket_address_get_port (lan)
                == g_inet_socket_address_get_port (address);
}

static char *
render_listen (const MbSetupPlan *plan, GKeyFile *existing)
{
  g_auto (GStrv) current = NULL;
  g_autoptr (GPtrArray) loopback = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GPtrArray) result = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GInetSocketAddress) lan = NULL;

  current
      = g_key_file_get_string_list (existing, "relay", "listen", NULL, NULL);
  if (current == NULL)
    current = g_strsplit (LOOPBACK_LISTEN, ";", -1);
  for (gsize i = 0; current[i] != NULL; i++)
    {
      g_autoptr (GInetSocketAddress) address
          = mb_config_syntax_parse_listen (current[i], NULL);
      g_autofree char *stood_for = NULL;

      /* What the relay cannot read stays, for the check to name it. */
      if (address == NULL
          || g_inet_address_get_is_loopback (
              g_inet_socket_address_get_address (address)))
        {
          if (!contains (loopback, current[i]))
            g_ptr_array_add (loopback, g_strdup (current[i]));
          continue;
        }
      stood_for = loopback_for_wildcard (address);
      if (stood_for != NULL && !contains (loopback, stood_for))
        g_ptr_array_add (loopback, g_steal_pointer (&stood_for));
    }

  if (plan->lan)
    lan = mb_config_syntax_parse_listen (mb_setup_plan_get_lan_listen (plan),
                                         NULL);
  for (guint i = 0; i < loopback->len; i++)
    if (lan == NULL || !is_covered (lan, loopback->pdata[i]))
      g_ptr_array_add (result, g_strdup (loopback->pdata[i]));
  if (lan != NULL)
    g_ptr_array_add (result, g_strdup (mb_setup_plan_get_lan_listen (plan)));
  if (result->len == 0)
    return g_strdup (LOOPBACK_LISTEN);
  return join_list (result);
}

static gboolean
is_loopback_mask (const char *text)
{
  g_autoptr (GInetAddressMask) mask = mb_config_syntax_parse_allow (text, NULL);

  return mask != NULL
         && g_inet_address_get_is_loopback (
             g_inet_address_mask_get_address (mask));
}

static char *
render_allow (const MbSetupPlan *plan)
{
  g_auto (GStrv) loopback = g_strsplit (LOOPBACK_ALLOW, ";", -1);
  g_autoptr (GPtrArray) result = g_ptr_array_new ();

  for (gsize i = 0; loopback[i] != NULL; i++)
    g_ptr_array_add (result, loopback[i]);
  for (gsize i = 0; plan->allow != NULL && plan->allow[i] != NULL; i++)
    if (!is_loopback_mask (plan->allow[i])
        && !contains (result, plan->allow[i]))
      g_ptr_array_add (result, plan->allow[i]);
  return join_list (result);
}

static void
add_edit (GArray *edits, const char *key, const char *value)
{
  Edit edit = { key, g_strdup (value), FALSE };

  g_array_append_val (edits, edit);
}

static void
add_raw_edit (GArray *edits, const char *key, char *value)
{
  Edit edit = { key, value, TRUE };

  g_array_append_val (edits, edit);
}

static GArray *
new_edits (void)
{
  GArray *edits = g_array_new (FALSE, TRUE, sizeof (Edit));

  g_array_set_clear_func (edits, (GDestroyNotify)edit_clear);
  return edits;
}

static GArray *
relay_edits (const MbSetupPlan *plan, GKeyFile *existing)
{
  GArray *edits = new_edits ();

  add_raw_edit (edits, "listen", render_listen (plan, existing));
  add_raw_edit (edits, "allow", render_allow (plan));
  add_edit (edits, "route", plan->route);
  add_edit (edits, "admin-address",
            mb_setup_plan_has_text (plan->admin_address) ? plan->admin_address
                                                         : NULL);
  return edits;
}

/* The certificate the route presents, and client-key: kept while the
 * certificate stays the same file, removed with a new one (it belonged to
 * the old certificate). */
static void
add_certificate_edits (GArray     *edits,
                       GKeyFile   *existing,
                       const char *group,
                       const char *certificate,
                       const char *base_dir)
{
  g_autofree char *current
      = g_key_file_get_string (existing, group, "client-certificate", NULL);
  g_autofree char *resolved
      = current != NULL ? g_canonicalize_filename (current, base_dir) : NULL;

  if (certificate != NULL && g_strcmp0 (resolved, certificate) == 0)
    return;
  add_edit (edits, "client-certificate", certificate);
  add_edit (edits, "client-key", NULL);
}

/* Direct Send and connector: the MX host, no sign-in. */
static void
add_mx_edits (GArray            *edits,
              const MbSetupPlan *plan,
              GKeyFile          *existing,
              const char        *group,
              const char        *base_dir)
{
  gboolean    connector = plan->method == MB_ROUTE_METHOD_CONNECTOR;
  MbRouteTls  tls = connector ? MB_ROUTE_TLS_REQUIRED : plan->tls;
  gboolean    has_host = mb_setup_plan_has_text (plan->mx_host);
  const char *certificate
      = connector && mb_setup_plan_has_text (plan->certificate_name)
                && mb_setup_plan_has_text (plan->connector_certificate)
            ? plan->connector_certificate
            : NULL;
  g_autofree char *policy
      = g_key_file_get_string (existing, group, "sender-policy", NULL);

  add_edit (edits, "domain", plan->domain);
  add_edit (edits, "host", has_host ? plan->mx_host : NULL);
  add_edit (edits, "port", has_host ? MX_PORT : NULL);
  add_edit (edits, "tls", mb_route_tls_to_string (tls));
  add_certificate_edits (edits, existing, group, certificate, base_dir);
  add_edit (edits, "auth", NULL);
  add_edit (edits, "mailbox", NULL);
  add_edit (edits, "tenant", NULL);
  add_edit (edits, "client-id", NULL);
  /* Both need the mailbox that just went. */
  add_edit (edits, "send-as", NULL);
  if (policy != NULL && g_str_has_prefix (policy, "rewrite-"))
    add_edit (edits, "sender-policy", NULL);
}

static GArray *
route_edits (const MbSetupPlan *plan,
             GKeyFile          *existing,
             const char        *group,
             const char        *base_dir)
{
  GArray          *edits = new_edits ();
  const char      *method = mb_route_method_to_string (plan->method);
  g_autofree char *current_method
      = g_key_file_get_string (existing, group, "method", NULL);
  gboolean same_method = g_strcmp0 (current_method, method) == 0;
  gboolean oauth = mb_setup_plan_is_oauth (plan->auth);

  add_edit (edits, "method", method);
  if (mb_setup_plan_signs_in (plan->method))
    {
      const char *certificate
          = plan->auth == MB_ROUTE_AUTH_OAUTH_APP
                    && mb_setup_plan_has_text (plan->client_certificate)
                ? plan->client_certificate
                : NULL;

      add_edit (edits, "mailbox", plan->mailbox);
      add_edit (edits, "auth", mb_route_auth_to_string (plan->auth));
      add_edit (edits, "tenant",
                oauth && mb_setup_plan_has_text (plan->tenant) ? plan->tenant
                                                               : NULL);
      add_edit (edits, "client-id", oauth ? plan->client_id : NULL);
      add_certificate_edits (edits, existing, group, certificate, base_dir);
      add_edit (edits, "domain", NULL);
      /* A private upstream (tests) or a smart host stays; after a switch
       * from an MX method, the method's endpoint is the default. */
      if (!same_method)
        {
          add_edit (edits, "host", NULL);
          add_edit (edits, "port", NULL);
          add_edit (edits, "tls", NULL);
        }
      return edits;
    }

  add_mx_edits (edits, plan, existing, group, base_dir);
  return edits;
}

/* Rendering: the text */

static const char *
skip_space (const char *line)
{
  while (g_ascii_isspace (*line))
    line++;
  return line;
}

/* The group a header line opens, by GKeyFile's rules; NULL for other
 * lines. */
static char *
header_group (const char *line)
{
  const char *start = skip_space (line);
  const char *end;

  if (*start != '[')
    return NULL;
  end = strrchr (start, ']');
  return end != NULL ? g_strndup (start + 1, end - start - 1) : NULL;
}

static gboolean
is_key_line (const char *line)
{
  const char *start = skip_space (line);

  return *start != '\0' && *start != '#' && *start != '[';
}

/* Lines "KEY=" for the keys @edits sets that @group lacks, in the edits'
 * order; GKeyFile fills in the values where they stand. */
static GPtrArray *
new_key_lines (GKeyFile *existing, const char *group, GArray *edits)
{
  GPtrArray *lines = g_ptr_array_new_with_free_func (g_free);

  for (guint i = 0; i < edits->len; i++)
    {
      const Edit *edit = &g_array_index (edits, Edit, i);

      if (edit->value != NULL
          && !g_key_file_has_key (existing, group, edit->key, NULL))
        g_ptr_array_add (lines, g_strconcat (edit->key, "=", NULL));
    }
  return lines;
}

/* The key of a key line ("  key = value"), else NULL. */
static char *
line_key (const char *line)
{
  const char *start = skip_space (line);
  const char *equals = strchr (start, '=');

  if (!is_key_line (line) || equals == NULL)
    return NULL;
  return g_strstrip (g_strndup (start, equals - start));
}

/* Whether @edits sets @key (keeps it, with a new value). */
static gboolean
is_set_by (GArray *edits, const char *key)
{
  for (guint i = 0; key != NULL && i < edits->len; i++)
    {
      const Edit *edit = &g_array_index (edits, Edit, i);

      if (strcmp (edit->key, key) == 0)
        return edit->value != NULL;
    }
  return FALSE;
}

/* Where new keys go in a group: after the last key the assistant sets,
 * else after the last key or the header; -1 if the group is not there. */
typedef struct
{
  const char *group;
  GArray     *edits; /* (unowned) */
  gint        last_line;
  gint        last_managed;
} Place;

static void
place_see_line (Place *place, const char *group, const char *line, guint i)
{
  g_autofree char *key = NULL;
  g_autofree char *header = NULL;

  if (g_strcmp0 (group, place->group) != 0)
    return;
  key = line_key (line);
  header = header_group (line);
  if (key == NULL && header == NULL)
    return;
  place->last_line = i;
  if (is_set_by (place->edits, key))
    place->last_managed = i;
}

static gint
place_get_line (const Place *place)
{
  return place->last_managed >= 0 ? place->last_managed : place->last_line;
}

/* @lines with the keys new to [relay] and the route group inserted where
 * Place says, not below the comments that end a group (they are about
 * what follows), where GKeyFile would put them.  A missing [relay] goes
 * before the first group and the comments right above it; a missing route
 * group is left to GKeyFile, which appends it. */
static void
place_new_keys (GPtrArray  *lines,
                GKeyFile   *existing,
                const char *route_group,
                GArray     *relay,
                GArray     *route)
{
  g_autoptr (GPtrArray) relay_lines = new_key_lines (existing, "relay", relay);
  g_autoptr (GPtrArray) route_lines
      = new_key_lines (existing, route_group, route);
  Place            relay_place = { "relay", relay, -1, -1 };
  Place            route_place = { route_group, route, -1, -1 };
  g_autofree char *current = NULL;
  gint             first_group = -1;
  Insert           inserts[2];
  guint            n = 0;

  for (guint i = 0; i < lines->len; i++)
    {
      char *group = header_group (lines->pdata[i]);

      if (group != NULL)
        {
          g_free (current);
          current = group;
          if (first_group < 0)
            first_group = i;
        }
      place_see_line (&relay_place, current, lines->pdata[i], i);
      place_see_line (&route_place, current, lines->pdata[i], i);
    }

  if (place_get_line (&relay_place) >= 0)
    inserts[n++] = (Insert){ place_get_line (&relay_place) + 1, relay_lines };
  else if (first_group >= 0)
    {
      guint at = first_group;

      while (at > 0 && *skip_space (lines->pdata[at - 1]) == '#')
        at--;
      g_ptr_array_insert (relay_lines, 0, g_strdup ("[relay]"));
      g_ptr_array_add (relay_lines, g_strdup (""));
      inserts[n++] = (Insert){ at, relay_lines };
    }
  if (place_get_line (&route_place) >= 0)
    inserts[n++] = (Insert){ place_get_line (&route_place) + 1, route_lines };
  /* The later place first, so the earlier one stays valid. */
  if (n == 2 && inserts[0].at < inserts[1].at)
    {
      Insert first = inserts[0];

      inserts[0] = inserts[1];
      inserts[1] = first;
    }
  for (guint i = 0; i < n; i++)
    for (guint j = inserts[i].lines->len; j > 0; j--)
      g_ptr_array_insert (lines, inserts[i].at,
                          g_strdup (inserts[i].lines->pdata[j - 1]));
}

/* The groups whose header directly follows a comment line in @lines. */
static GHashTable *
find_commented_groups (GPtrArray *lines)
{
  GHashTable *groups
      = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);

  for (guint i = 1; i < lines->len; i++)
    {
      char *group = header_group (lines->pdata[i]);

      if (group != NULL && *skip_space (lines->pdata[i - 1]) == '#')
        g_hash_table_add (groups, group);
      else
        g_free (group);
    }
  return groups;
}

/* g_key_file_to_data() puts an empty line before every group header,
 * which parts a comment from the group it describes; this takes those
 * lines out again where the original had none. */
static char *
rejoin_group_comments (const char *text, GHashTable *commented)
{
  g_auto (GStrv) lines = g_strsplit (text, "\n", -1);
  GString *joined = g_string_new (NULL);

  for (gsize i = 0; lines[i] != NULL; i++)
    {
      if (lines[i][0] == '\0' && i > 0 && lines[i + 1] != NULL
          && *skip_space (lines[i - 1]) == '#')
        {
          g_autofree char *group = header_group (lines[i + 1]);

          if (group != NULL && g_hash_table_contains (commented, group))
            continue;
        }
      g_string_append (joined, lines[i]);
      if (lines[i + 1] != NULL)
        g_string_append_c (joined, '\n');
    }
  return g_string_free (joined, FALSE);
}

static void
apply_edits (GKeyFile *keyfile, const char *group, GArray *edits)
{
  for (guint i = 0; i < edits->len; i++)
    {
      const Edit *edit = &g_array_index (edits, Edit, i);

      if (edit->value == NULL)
        g_key_file_remove_key (keyfile, group, edit->key, NULL);
      else if (edit->raw)
        g_key_file_set_value (keyfile, group, edit->key, edit->value);
      else
        g_key_file_set_string (keyfile, group, edit->key, edit->value);
    }
}

/* Whether @text loads on its own; if not, why. */
static gboolean
loads (const char *text, const char *origin, GError **error)
{
  g_autoptr (MbRelayConfig) config
      = mb_relay_config_load_data (text, -1, origin, error);

  return config != NULL;
}

char *
mb_setup_plan_render_with_origin (const MbSetupPlan *plan,
                                  const char        *existing,
                                  const char        *origin,
                                  GError           **error)
{
  g_autoptr (GKeyFile) current = g_key_file_new ();
  g_autoptr (GKeyFile) keyfile = g_key_file_new ();
  g_autoptr (GError) local_error = NULL;
  g_autofree char *route_group = NULL;
  g_autofree char *dir = g_path_get_dirname (origin);
  g_autofree char *base_dir = g_canonicalize_filename (dir, NULL);
  g_autoptr (GArray) relay = NULL;
  g_autoptr (GArray) route = NULL;
  g_auto (GStrv) split = NULL;
  g_autoptr (GPtrArray) lines = g_ptr_array_new_with_free_func (g_free);
  g_autofree char *placed = NULL;
  g_autoptr (GHashTable) commented = NULL;
  g_autofree char *data = NULL;
  g_autofree char *text = NULL;

  if (!mb_setup_plan_validate (plan, error))
    return NULL;
  if (existing == NULL)
    existing = "";
  if (!g_key_file_load_from_data (current, existing, -1, KEYFILE_FLAGS,
                                  &local_error))
    {
      g_set_error (error, MB_SETUP_PLAN_ERROR, MB_SETUP_PLAN_ERROR_EXISTING,
                   _ ("The current configuration cannot be read: %s"),
                   local_error->message);
      return NULL;
    }

  route_group = g_strconcat (ROUTE_PREFIX, plan->route, NULL);
  relay = relay_edits (plan, current);
  route = route_edits (plan, current, route_group, base_dir);

  split = g_strsplit (existing, "\n", -1);
  for (gsize i = 0; split[i] != NULL; i++)
    /* The last piece is what follows the final newline. */
    if (split[i + 1] != NULL || *split[i] != '\0')
      g_ptr_array_add (lines, g_strdup (split[i]));
  place_new_keys (lines, current, route_group, relay, route);
  commented = find_commented_groups (lines);
  g_ptr_array_add (lines, NULL);
  placed = g_strjoinv ("\n", (char **)lines->pdata);

  if (!g_key_file_load_from_data (keyfile, placed, -1, KEYFILE_FLAGS,
                                  &local_error))
    {
      g_set_error (error, MB_SETUP_PLAN_ERROR, MB_SETUP_PLAN_ERROR_EXISTING,
                   _ ("The current configuration cannot be read: %s"),
                   local_error->message);
      return NULL;
    }
  apply_edits (keyfile, "relay", relay);
  apply_edits (keyfile, route_group, route);
  data = g_key_file_to_data (keyfile, NULL, NULL);
  text = rejoin_group_comments (data, commented);

  if (!loads (text, origin, &local_error))
    {
      g_autoptr (GError) existing_error = NULL;

      /* A fault the plan did not bring in is the file's own. */
      if (!loads (existing, origin, &existing_error))
        g_set_error (error, MB_SETUP_PLAN_ERROR, MB_SETUP_PLAN_ERROR_EXISTING,
                     _ ("The current configuration has an error the "
                        "assistant does not change: %s"),
                     existing_error->message);
      else
        g_set_error (error, MB_SETUP_PLAN_ERROR, MB_SETUP_PLAN_ERROR_INVALID,
                     _ ("The new configuration would not load: %s"),
                     local_error->message);
      return NULL;
    }
  return g_steal_pointer (&text);
}

/* Public API */

char *
mb_setup_plan_render (const MbSetupPlan *plan,
                      const char        *existing,
                      GError           **error)
{
  g_return_val_if_fail (plan != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  return mb_setup_plan_render_with_origin (plan, existing, RENDER_ORIGIN,
                                           error);
}
