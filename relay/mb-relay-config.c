/* mb-relay-config.c - the relay's configuration file
 *
 * What it does: reads a GKeyFile with one [relay] group and any number of
 * [route NAME] groups, fills in the defaults of DESIGN.md, checks every
 * value and returns an immutable, reference-counted MbRelayConfig.
 *
 * Guarantees:
 * - Nothing is silently ignored: an unknown group, an unknown key, a
 *   localized key (key[de]=), a key given twice, a NUL byte or a line that
 *   is not UTF-8 is an error.
 * - Every error names the origin, the line, the group, the key and the
 *   offending value, and says what is allowed:
 *   "mailbridge.conf:7: [relay] listen: “localhost:25” is not ...".
 *   GKeyFile keeps no line numbers, so scan_text() reads the text once
 *   more with GKeyFile's own line rules to find them.
 * - Only literal IP addresses are accepted where the relay binds or matches
 *   clients: loading never resolves a name and never blocks on the network.
 *   An allow range wider than /8 (IPv4) or /7 (IPv6) is refused: it would
 *   make an open relay.
 * - Relative paths are resolved against the directory of the file.
 * - Unset keys get safe defaults: loopback listeners, a loopback allow list.
 *
 * What it does not do: bind, open or create anything; read the secrets file
 * (only its path is kept); check that the files it names exist (the modules
 * using them report that).  Read errors other than a missing file keep
 * their G_FILE_ERROR code.
 *
 * Standards: RFC 5321 4.5.3.1 (size limits: the lower bounds of the line
 * limits), RFC 5321 4.1.2 and RFC 6531 (the addresses: Mailbox, UTF-8
 * allowed), RFC 4291 2.5.5.2 (IPv4-mapped IPv6 addresses), RFC 5890
 * (internationalized host names are stored as A-labels).
 */
#define G_LOG_DOMAIN "mb-relay-config"

#include "mb-relay-config.h"

#include "mb-smtp-parser.h"

#include <stddef.h>
#include <string.h>

#define DEFAULT_LISTEN "127.0.0.1:2525;[::1]:2525"
#define DEFAULT_ALLOW "127.0.0.0/8;::1/128"
#define DEFAULT_RETRY "1m;5m;15m;30m;1h"
#define DEFAULT_AUTHORITY "https://login.microsoftonline.com"
#define ROUTE_PREFIX "route "
#define KIB G_GINT64_CONSTANT (1024)
#define GIB (KIB * KIB * KIB)
#define DAY G_GINT64_CONSTANT (86400)
#define LISTEN_HINT "use e.g. 192.168.1.10:25 or [::1]:2525"

typedef struct KeyDef KeyDef;

/* One key=value line of the text. */
typedef struct
{
  char         *group; /* (owned) */
  char         *key;   /* (owned) */
  guint         line;
  const KeyDef *def; /* (unowned) */
} Entry;

typedef struct
{
  const char *origin;      /* (unowned) name used in messages */
  char       *base_dir;    /* (owned) relative paths start here */
  GKeyFile   *keyfile;     /* (owned) */
  GPtrArray  *entries;     /* (owned) (element-type Entry) file order */
  GHashTable *entry_index; /* (owned) "group\nkey" → Entry (unowned) */
  GPtrArray  *groups;      /* (owned) (element-type utf8) file order */
  GHashTable *group_lines; /* (owned) group → first line (GUINT_TO_POINTER) */
  GHashTable *routes;      /* (owned) group → MbRouteConfig (unowned) */
} Loader;

/* Parses the value of @entry into @field, the member of MbRelayConfig or
 * MbRouteConfig that @entry->def describes. */
typedef gboolean (*ParseFunc) (Loader      *loader,
                               const Entry *entry,
                               gpointer     field,
                               GError     **error);

/* (nullable) The value to store for @text (perhaps normalised), or NULL if
 * @text is not allowed. */
typedef char *(*CheckFunc) (const char *text);

struct KeyDef
{
  const char        *name;
  ParseFunc          parse;
  gsize              offset;
  gsize              size;
  gint64             min; /* numbers, sizes and durations */
  gint64             max;
  const char *const *choices; /* enums: names in enum order */
  CheckFunc          check;   /* text: the check ... */
  const char        *hint;    /* ... and what follows “value” on failure */
};

static const char *const method_names[]
    = { "submission", "direct-send", "connector", "hve", NULL };
static const char *const tls_names[] = { "required", "opportunistic", NULL };
static const char *const auth_names[]
    = { "none", "basic", "oauth-device", "oauth-browser", "oauth-app", NULL };

/* clang-format off */
G_DEFINE_QUARK (mb-relay-config-error-quark, mb_relay_config_error)
/* clang-format on */

/* Memory */

static void
entry_free (Entry *entry)
{
  g_free (entry->group);
  g_free (entry->key);
  g_free (entry);
}

static void
route_config_free (MbRouteConfig *route)
{
  g_free (route->name);
  g_free (route->host);
  g_free (route->mailbox);
  g_free (route->tenant);
  g_free (route->client_id);
  g_free (route->client_certificate);
  g_free (route->client_key);
  g_free (route->trust);
  g_free (route->authority);
  g_free (route->domain);
  g_free (route);
}

static void
relay_config_clear (MbRelayConfig *config)
{
  g_free (config->path);
  g_clear_pointer (&config->listen, g_ptr_array_unref);
  g_clear_pointer (&config->allow, g_ptr_array_unref);
  g_free (config->hostname);
  g_free (config->spool);
  g_free (config->admin_address);
  g_free (config->route);
  g_clear_pointer (&config->retry_schedule, g_array_unref);
  g_free (config->secrets);
  g_free (config->tls_certificate);
  g_free (config->tls_key);
  g_clear_pointer (&config->routes, g_ptr_array_unref);
}

static void
loader_clear (Loader *loader)
{
  g_clear_pointer (&loader->base_dir, g_free);
  g_clear_pointer (&loader->keyfile, g_key_file_unref);
  g_clear_pointer (&loader->entry_index, g_hash_table_unref);
  g_clear_pointer (&loader->entries, g_ptr_array_unref);
  g_clear_pointer (&loader->group_lines, g_hash_table_unref);
  g_clear_pointer (&loader->groups, g_ptr_array_unref);
  g_clear_pointer (&loader->routes, g_hash_table_unref);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (Loader, loader_clear)

/* Messages */

/* @value with control characters escaped, for messages and logs. */
static char *
make_printable (const char *value)
{
  GString *out = g_string_new (NULL);

  for (const char *p = value; *p != '\0'; p++)
    if ((guchar)*p < 0x20 || *p == 0x7f)
      g_string_append_printf (out, "\\x%02x", (guchar)*p);
    else
      g_string_append_c (out, *p);
  return g_string_free (out, FALSE);
}

G_GNUC_PRINTF (5, 6)
static gboolean
fail_at (GError    **error,
         const char *origin,
         guint       line,
         gint        code,
         const char *format,
         ...)
{
  va_list          args;
  g_autofree char *detail = NULL;

  va_start (args, format);
  detail = g_strdup_vprintf (format, args);
  va_end (args);
  if (line > 0)
    g_set_error (error, MB_RELAY_CONFIG_ERROR, code, "%s:%u: %s", origin, line,
                 detail);
  else
    g_set_error (error, MB_RELAY_CONFIG_ERROR, code, "%s: %s", origin, detail);
  return FALSE;
}

/* "origin:LINE: [group] key: detail" */
G_GNUC_PRINTF (7, 8)
static gboolean
fail (GError    **error,
      Loader     *loader,
      gint        code,
      const char *group,
      const char *key,
      guint       line,
      const char *format,
      ...)
{
  va_list          args;
  g_autofree char *detail = NULL;

  va_start (args, format);
  detail = g_strdup_vprintf (format, args);
  va_end (args);
  return fail_at (error, loader->origin, line, code, "[%s]%s%s: %s", group,
                  key != NULL ? " " : "", key != NULL ? key : "", detail);
}

G_GNUC_PRINTF (4, 5)
static gboolean
fail_value (GError     **error,
            Loader      *loader,
            const Entry *entry,
            const char  *format,
            ...)
{
  va_list          args;
  g_autofree char *detail = NULL;

  va_start (args, format);
  detail = g_strdup_vprintf (format, args);
  va_end (args);
  return fail (error, loader, MB_RELAY_CONFIG_ERROR_INVALID_VALUE, entry->group,
               entry->key, entry->line, "%s", detail);
}

/* "a, b, c or d" */
static char *
join_choices (const char *const *choices)
{
  GString *out = g_string_new (NULL);

  for (gsize i = 0; choices[i] != NULL; i++)
    {
      if (i > 0)
        g_string_append (out, choices[i + 1] == NULL ? " or " : ", ");
      g_string_append (out, choices[i]);
    }
  return g_string_free (out, FALSE);
}

/* The largest unit that divides @seconds: "4h", "90s", "2d". */
static char *
format_duration (gint64 seconds)
{
  static const struct
  {
    gint64 factor;
    char   unit;
  } units[] = { { 7 * DAY, 'w' }, { DAY, 'd' }, { 3600, 'h' }, { 60, 'm' } };

  for (gsize i = 0; i < G_N_ELEMENTS (units); i++)
    if (seconds > 0 && seconds % units[i].factor == 0)
      return g_strdup_printf ("%" G_GINT64_FORMAT "%c",
                              seconds / units[i].factor, units[i].unit);
  return g_strdup_printf ("%" G_GINT64_FORMAT "s", seconds);
}

static char *
format_size (guint64 bytes)
{
  static const char units[] = "GMK";

  for (gsize i = 0; i < 3; i++)
    {
      guint64 factor = (guint64)1 << (10 * (3 - i));

      if (bytes > 0 && bytes % factor == 0)
        return g_strdup_printf ("%" G_GUINT64_FORMAT "%c", bytes / factor,
                                units[i]);
    }
  return g_strdup_printf ("%" G_GUINT64_FORMAT, bytes);
}

/* Edit distance, for "did you mean" on a mistyped key. */
static gsize
count_edits (const char *a, const char *b)
{
  gsize             la = strlen (a), lb = strlen (b);
  g_autofree gsize *row = g_new (gsize, lb + 1);

  for (gsize j = 0; j <= lb; j++)
    row[j] = j;
  for (gsize i = 1; i <= la; i++)
    {
      gsize diagonal = row[0];

      row[0] = i;
      for (gsize j = 1; j <= lb; j++)
        {
          gsize above = row[j];

          row[j] = MIN (MIN (row[j] + 1, row[j - 1] + 1),
                        diagonal + (a[i - 1] != b[j - 1]));
          diagonal = above;
        }
    }
  return row[lb];
}

/* Lexical checks (no I/O) */

static gboolean
parse_uint (const char *text, guint64 max, guint64 *out)
{
  guint64 n = 0;

  if (!g_ascii_isdigit (*text))
    return FALSE;
  for (; g_ascii_isdigit (*text); text++)
    {
      guint digit = *text - '0';

      if (n > (max - digit) / 10)
        return FALSE;
      n = n * 10 + digit;
    }
  *out = n;
  return *text == '\0';
}

static gboolean
is_domain_name (const char *text)
{
  gsize len = strlen (text);
  gsize label = 0;

  if (len == 0 || len > 253)
    return FALSE;
  for (gsize i = 0; i <= len; i++)
    {
      if (text[i] == '.' || text[i] == '\0')
        {
          if (label == 0 || label > 63 || text[i - 1] == '-')
            return FALSE;
          label = 0;
        }
      else if (g_ascii_isalnum (text[i]) || (text[i] == '-' && label > 0))
        label++;
      else
        return FALSE;
    }
  return TRUE;
}

static gboolean
is_route_name (const char *text)
{
  gsize len = strlen (text);

  return len > 0 && len <= 64
         && strspn (text, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                          "0123456789._-")
                == len;
}

static gboolean
is_v4_mapped (GInetAddress *address)
{
  static const guint8 prefix[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

  return g_inet_address_get_family (address) == G_SOCKET_FAMILY_IPV6
         && memcmp (g_inet_address_to_bytes (address), prefix, 12) == 0;
}

static GInetAddress *
unmap_v4 (GInetAddress *address)
{
  return g_inet_address_new_from_bytes (g_inet_address_to_bytes (address) + 12,
                                        G_SOCKET_FAMILY_IPV4);
}

/* Text keys: each returns the value to store, or NULL. */

/* A host name, internationalized ones in their ASCII form for the wire. */
static char *
check_hostname (const char *text)
{
  g_autofree char *ascii = g_hostname_is_non_ascii (text)
                               ? g_hostname_to_ascii (text)
                               : g_strdup (text);

  return ascii != NULL && is_domain_name (ascii) ? g_steal_pointer (&ascii)
                                                 : NULL;
}

static char *
check_host (const char *text)
{
  g_autoptr (GInetAddress) address = g_inet_address_new_from_string (text);

  return address != NULL ? g_strdup (text) : check_hostname (text);
}

static char *
check_domain (const char *text)
{
  char *domain = check_hostname (text);

  if (domain != NULL && strchr (domain, '.') == NULL)
    g_clear_pointer (&domain, g_free);
  return domain;
}

/* A GUID is a valid DNS label: one check covers IDs and domains. */
static char *
check_tenant (const char *text)
{
  return is_domain_name (text) ? g_strdup (text) : NULL;
}

/* RFC 5321 4.1.2 Mailbox (with RFC 6531 UTF-8): these addresses go into
 * SMTP envelopes, so the SMTP parser's own check applies. */
static char *
check_mailbox (const char *text)
{
  return strchr (text, '@') != NULL
                 && mb_smtp_parser_is_valid_mailbox (text, TRUE)
             ? g_strdup (text)
             : NULL;
}

static char *
check_route_name (const char *text)
{
  return is_route_name (text) ? g_strdup (text) : NULL;
}

static char *
check_client_id (const char *text)
{
  gsize len = strlen (text);

  return len > 0 && len <= 256
                 && strspn (
                        text,
                        "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                        "0123456789-._~")
                        == len
             ? g_strdup (text)
             : NULL;
}

/* An https:// URL without user, query or fragment; paths get
 * "/{tenant}/oauth2/v2.0/..." appended, so trailing slashes go. */
static char *
check_authority (const char *text)
{
  g_autoptr (GUri) uri = g_uri_parse (text, G_URI_FLAGS_NONE, NULL);
  gsize len = strlen (text);

  if (uri == NULL || g_ascii_strcasecmp (g_uri_get_scheme (uri), "https") != 0
      || g_uri_get_host (uri) == NULL || *g_uri_get_host (uri) == '\0'
      || g_uri_get_userinfo (uri) != NULL || g_uri_get_query (uri) != NULL
      || g_uri_get_fragment (uri) != NULL)
    return NULL;
  while (len > 0 && text[len - 1] == '/')
    len--;
  return g_strndup (text, len);
}

/* (nullable) "192.168.1.10:25", "[::1]:2525", "[fe80::1%eth0]:25".
 * On failure @problem says why, to follow the quoted value. */
static GSocketAddress *
parse_socket_address (const char *text, const char **problem)
{
  const char      *port_text;
  const char      *bracket = strchr (text, ']');
  const char      *colon = strrchr (text, ':');
  g_autofree char *host = NULL;
  g_autoptr (GInetAddress) address = NULL;
  guint64 port;

  *problem = "is not an IP address and port; " LISTEN_HINT;
  if (text[0] == '[')
    {
      if (bracket == NULL || (bracket[1] != ':' && bracket[1] != '\0'))
        return NULL;
      host = g_strndup (text + 1, bracket - text - 1);
      port_text = bracket[1] == ':' ? bracket + 2 : NULL;
      if (strchr (host, ':') == NULL)
        return NULL;
    }
  else if (colon != NULL && strchr (text, ':') != colon)
    {
      *problem = "is not an IP address and port; write IPv6 addresses in "
                 "brackets, e.g. [::1]:2525";
      return NULL;
    }
  else
    {
      host = colon != NULL ? g_strndup (text, colon - text) : g_strdup (text);
      port_text = colon != NULL ? colon + 1 : NULL;
    }

  if (strchr (host, '%') != NULL)
    {
      /* Link-local IPv6 with a scope: GLib resolves it numerically. */
      g_autofree char *bare = g_strndup (host, strchr (host, '%') - host);
      g_autoptr (GInetAddress) check = g_inet_address_new_from_string (bare);

      if (check == NULL
          || g_inet_address_get_family (check) != G_SOCKET_FAMILY_IPV6)
        return NULL;
    }
  /* inet_pton() rules, not getaddrinfo()'s: "127.1" or "0x7f.0.0.1" would
   * bind somewhere the admin did not write. */
  else if ((address = g_inet_address_new_from_string (host)) == NULL)
    {
      if (is_domain_name (host))
        *problem = "is not an IP address and port; host names are not looked "
                   "up here, use an IP address, e.g. 192.168.1.10:25 or "
                   "[::1]:2525";
      return NULL;
    }

  if (port_text == NULL)
    {
      *problem = "has no port; " LISTEN_HINT;
      return NULL;
    }
  if (!parse_uint (port_text, 65535, &port) || port == 0)
    {
      *problem = "has no valid port (1 to 65535); " LISTEN_HINT;
      return NULL;
    }
  if (address != NULL)
    return g_inet_socket_address_new (address, port);
  return g_inet_socket_address_new_from_string (host, port);
}

/* (nullable) "192.168.1.0/24", "10.0.0.5", "fd00::/8".  If only host bits
 * are set, @network (if not NULL) gets the range probably meant. */
static GInetAddressMask *
parse_mask (const char *text, char **network)
{
  const char      *slash = strchr (text, '/');
  g_autofree char *ip
      = slash != NULL ? g_strndup (text, slash - text) : g_strdup (text);
  g_autoptr (GInetAddress) address = g_inet_address_new_from_string (ip);
  guint64           length;
  guint             bits;
  GInetAddressMask *mask;

  if (address == NULL)
    return NULL;
  bits = g_inet_address_get_native_size (address) * 8;
  length = bits;
  if (slash != NULL && !parse_uint (slash + 1, bits, &length))
    return NULL;
  /* allows() matches mapped clients as IPv4, so a mapped range must be
   * IPv4 too, or it would never match. */
  if (is_v4_mapped (address) && length >= 96)
    {
      GInetAddress *v4 = unmap_v4 (address);

      g_object_unref (address);
      address = v4;
      length -= 96;
      bits = 32;
    }
  mask = g_inet_address_mask_new (address, length, NULL);
  if (mask == NULL && network != NULL)
    {
      guint8 bytes[16];
      g_autoptr (GInetAddress) net = NULL;
      g_autofree char *net_text = NULL;

      memcpy (bytes, g_inet_address_to_bytes (address), bits / 8);
      for (guint i = length; i < bits; i++)
        bytes[i / 8] &= ~(0x80 >> (i % 8));
      net = g_inet_address_new_from_bytes (bytes,
                                           g_inet_address_get_family (address));
      net_text = g_inet_address_to_string (net);
      *network = g_strdup_printf ("%s/%u", net_text, (guint)length);
    }
  return mask;
}

/* Values */

static const Entry *
find_entry (Loader *loader, const char *group, const char *key)
{
  g_autofree char *id = g_strconcat (group, "\n", key, NULL);

  return g_hash_table_lookup (loader->entry_index, id);
}

/* The line of @key, or of its group's header when it is not set. */
static guint
find_line (Loader *loader, const char *group, const char *key)
{
  const Entry *entry = find_entry (loader, group, key);

  if (entry != NULL)
    return entry->line;
  return GPOINTER_TO_UINT (g_hash_table_lookup (loader->group_lines, group));
}

/* The value as written (for messages), or "" when unset. */
static char *
get_raw (Loader *loader, const char *group, const char *key)
{
  g_autofree char *raw
      = g_key_file_get_value (loader->keyfile, group, key, NULL);

  return make_printable (raw != NULL ? g_strstrip (raw) : "");
}

static gboolean
fail_unreadable (Loader *loader, const Entry *entry, GError **error)
{
  g_autofree char *shown = get_raw (loader, entry->group, entry->key);

  return fail_value (error, loader, entry,
                     "“%s” has an escape other than \\s \\n \\t \\r \\\\ or "
                     "(in lists) \\;",
                     shown);
}

/* GKeyFile reports a bad escape but still returns a value: the error
 * decides. */
static gboolean
get_value (Loader *loader, const Entry *entry, char **value, GError **error)
{
  g_autoptr (GError) local_error = NULL;
  g_autofree char *text = g_key_file_get_string (loader->keyfile, entry->group,
                                                 entry->key, &local_error);

  if (local_error != NULL || text == NULL)
    return fail_unreadable (loader, entry, error);
  *value = g_strstrip (g_steal_pointer (&text));
  return TRUE;
}

/* The ';'-separated items, stripped, without empty ones: GKeyFile itself
 * writes lists with a trailing ';', and "a; b" should mean "a;b". */
static gboolean
get_list (Loader *loader, const Entry *entry, GStrv *items, GError **error)
{
  g_autoptr (GError) local_error = NULL;
  g_auto (GStrv) raw = g_key_file_get_string_list (
      loader->keyfile, entry->group, entry->key, NULL, &local_error);
  g_autoptr (GStrvBuilder) builder = g_strv_builder_new ();

  if (local_error != NULL || raw == NULL)
    return fail_unreadable (loader, entry, error);
  for (gsize i = 0; raw[i] != NULL; i++)
    if (*g_strstrip (raw[i]) != '\0')
      g_strv_builder_add (builder, raw[i]);
  *items = g_strv_builder_end (builder);
  return TRUE;
}

static void
store_uint (const KeyDef *def, gpointer field, guint64 value)
{
  if (def->size == sizeof (guint16))
    *(guint16 *)field = value;
  else if (def->size == sizeof (guint))
    *(guint *)field = value;
  else
    *(guint64 *)field = value;
}

static gboolean
parse_listen (Loader      *loader,
              const Entry *entry,
              gpointer     field,
              GError     **error)
{
  g_auto (GStrv) items = NULL;
  g_autoptr (GPtrArray) addresses
      = g_ptr_array_new_with_free_func (g_object_unref);
  g_autoptr (GHashTable) seen
      = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);

  if (!get_list (loader, entry, &items, error))
    return FALSE;
  for (gsize i = 0; items[i] != NULL; i++)
    {
      const char      *problem;
      g_autofree char *shown = make_printable (items[i]);
      GSocketAddress  *address = parse_socket_address (items[i], &problem);

      if (address == NULL)
        return fail_value (error, loader, entry, "“%s” %s", shown, problem);
      g_ptr_array_add (addresses, address);
      if (!g_hash_table_add (seen, g_socket_connectable_to_string (
                                       G_SOCKET_CONNECTABLE (address))))
        return fail_value (error, loader, entry,
                           "“%s” is listed twice; list each address once",
                           shown);
    }
  if (addresses->len == 0)
    return fail_value (error, loader, entry, "no address given; " LISTEN_HINT);
  g_clear_pointer ((GPtrArray **)field, g_ptr_array_unref);
  *(GPtrArray **)field = g_steal_pointer (&addresses);
  return TRUE;
}

static gboolean
parse_allow (Loader *loader, const Entry *entry, gpointer field, GError **error)
{
  g_auto (GStrv) items = NULL;
  g_autoptr (GPtrArray) masks = g_ptr_array_new_with_free_func (g_object_unref);

  if (!get_list (loader, entry, &items, error))
    return FALSE;
  for (gsize i = 0; items[i] != NULL; i++)
    {
      g_autofree char  *shown = make_printable (items[i]);
      g_autofree char  *network = NULL;
      GInetAddressMask *mask = parse_mask (items[i], &network);
      guint             widest;

      if (mask == NULL && network != NULL)
        return fail_value (error, loader, entry,
                           "“%s” has host bits set; use %s", shown, network);
      if (mask == NULL)
        return fail_value (error, loader, entry,
                           "“%s” is not an IP address or CIDR range; use e.g. "
                           "192.168.1.0/24, 10.0.0.5 or fd00::/8",
                           shown);
      g_ptr_array_add (masks, mask);
      /* fc00::/7 (unique local) is the widest private IPv6 range. */
      widest = g_inet_address_mask_get_family (mask) == G_SOCKET_FAMILY_IPV4
                   ? 8
                   : 7;
      if (g_inet_address_mask_get_length (mask) < widest)
        return fail_value (error, loader, entry,
                           "“%s” is too wide: it would let much of the "
                           "Internet relay through Mailbridge (an open "
                           "relay); list your LAN ranges, e.g. 192.168.1.0/24",
                           shown);
    }
  /* An empty list is valid: the relay then refuses every client. */
  g_clear_pointer ((GPtrArray **)field, g_ptr_array_unref);
  *(GPtrArray **)field = g_steal_pointer (&masks);
  return TRUE;
}

static gboolean
parse_text (Loader *loader, const Entry *entry, gpointer field, GError **error)
{
  g_autofree char *value = NULL;
  g_autofree char *shown = NULL;
  char            *stored;

  if (!get_value (loader, entry, &value, error))
    return FALSE;
  stored = entry->def->check (value);
  if (stored == NULL)
    {
      shown = make_printable (value);
      return fail_value (error, loader, entry, "“%s” %s", shown,
                         entry->def->hint);
    }
  g_free (*(char **)field);
  *(char **)field = stored;
  return TRUE;
}

static gboolean
parse_path (Loader *loader, const Entry *entry, gpointer field, GError **error)
{
  g_autofree char *value = NULL;

  if (!get_value (loader, entry, &value, error))
    return FALSE;
  /* Absolute from here on: a reload from another directory, or a daemon
   * that changed directory, still finds the same files. */
  if (*value == '\0')
    return fail_value (error, loader, entry,
                       "no path given; use a file or directory name (a "
                       "relative one starts from the configuration file's "
                       "directory)");
  g_free (*(char **)field);
  *(char **)field = g_canonicalize_filename (value, loader->base_dir);
  return TRUE;
}

static gboolean
parse_size (Loader *loader, const Entry *entry, gpointer field, GError **error)
{
  g_autofree char *value = NULL;
  g_autofree char *shown = NULL;
  g_autofree char *min = format_size (entry->def->min);
  g_autofree char *max = format_size (entry->def->max);
  guint64          bytes;

  if (!get_value (loader, entry, &value, error))
    return FALSE;
  shown = make_printable (value);
  if (!mb_relay_config_parse_size (value, &bytes)
      || bytes < (guint64)entry->def->min || bytes > (guint64)entry->def->max)
    return fail_value (error, loader, entry,
                       "“%s” is not allowed; use a size from %s to %s in "
                       "bytes or with K, M or G (binary multiples), e.g. 35M",
                       shown, min, max);
  store_uint (entry->def, field, bytes);
  return TRUE;
}

static gboolean
check_duration (Loader      *loader,
                const Entry *entry,
                const char  *text,
                gint64      *seconds,
                GError     **error)
{
  g_autofree char *shown = make_printable (text);
  g_autofree char *min = format_duration (entry->def->min);
  g_autofree char *max = format_duration (entry->def->max);

  if (!mb_relay_config_parse_duration (text, seconds)
      || *seconds < entry->def->min || *seconds > entry->def->max)
    return fail_value (error, loader, entry,
                       "“%s” is not allowed; use a duration from %s to %s: "
                       "seconds, or a number with s, m, h, d or w, e.g. 90s, "
                       "5m, 4h, 2d",
                       shown, min, max);
  return TRUE;
}

static gboolean
parse_duration (Loader      *loader,
                const Entry *entry,
                gpointer     field,
                GError     **error)
{
  g_autofree char *value = NULL;

  return get_value (loader, entry, &value, error)
         && check_duration (loader, entry, value, field, error);
}

static gboolean
parse_schedule (Loader      *loader,
                const Entry *entry,
                gpointer     field,
                GError     **error)
{
  g_auto (GStrv) items = NULL;
  g_autoptr (GArray) schedule = g_array_new (FALSE, FALSE, sizeof (gint64));

  if (!get_list (loader, entry, &items, error))
    return FALSE;
  for (gsize i = 0; items[i] != NULL; i++)
    {
      gint64 seconds;

      if (!check_duration (loader, entry, items[i], &seconds, error))
        return FALSE;
      g_array_append_val (schedule, seconds);
    }
  if (schedule->len == 0)
    return fail_value (error, loader, entry,
                       "no duration given; use e.g. " DEFAULT_RETRY);
  g_clear_pointer ((GArray **)field, g_array_unref);
  *(GArray **)field = g_steal_pointer (&schedule);
  return TRUE;
}

static gboolean
parse_number (Loader      *loader,
              const Entry *entry,
              gpointer     field,
              GError     **error)
{
  g_autofree char *value = NULL;
  g_autofree char *shown = NULL;
  guint64          number;

  if (!get_value (loader, entry, &value, error))
    return FALSE;
  shown = make_printable (value);
  if (!parse_uint (value, G_MAXUINT64, &number)
      || number < (guint64)entry->def->min || number > (guint64)entry->def->max)
    return fail_value (error, loader, entry,
                       "“%s” is not allowed; use a whole number from "
                       "%" G_GINT64_FORMAT " to %" G_GINT64_FORMAT,
                       shown, entry->def->min, entry->def->max);
  store_uint (entry->def, field, number);
  return TRUE;
}

static gboolean
parse_enum (Loader *loader, const Entry *entry, gpointer field, GError **error)
{
  const char *const *choices = entry->def->choices;
  g_autofree char   *value = NULL;
  g_autofree char   *shown = NULL;
  g_autofree char   *allowed = join_choices (choices);

  if (!get_value (loader, entry, &value, error))
    return FALSE;
  for (guint i = 0; choices[i] != NULL; i++)
    if (strcmp (value, choices[i]) == 0)
      {
        store_uint (entry->def, field, i);
        return TRUE;
      }
  shown = make_printable (value);
  return fail_value (error, loader, entry, "“%s” is not allowed; use %s", shown,
                     allowed);
}

/* The keys */

#define RELAY(member)                                                          \
  .offset = offsetof (MbRelayConfig, member),                                  \
  .size = sizeof (((MbRelayConfig *)NULL)->member)
#define ROUTE(member)                                                          \
  .offset = offsetof (MbRouteConfig, member),                                  \
  .size = sizeof (((MbRouteConfig *)NULL)->member)

/* Bounds as documented in mailbridge.conf.example.  The line limits start
 * at RFC 5321 4.5.3.1.4 (512 octets for a command line) and at RFC 5322
 * 2.1.1's recommended 78; the durations stop where a typo (an extra digit)
 * is likelier than intent. */
/* clang-format off */
static const KeyDef relay_keys[] = {
  { "listen", parse_listen, RELAY (listen) },
  { "allow", parse_allow, RELAY (allow) },
  { "hostname", parse_text, RELAY (hostname), .check = check_hostname,
    .hint = "is not a host name; use the relay's fully qualified name, "
            "e.g. relay.example.com" },
  { "spool", parse_path, RELAY (spool) },
  { "admin-address", parse_text, RELAY (admin_address),
    .check = check_mailbox,
    .hint = "is not an email address; use a bare address without name or "
            "angle brackets, e.g. postmaster@example.com" },
  { "max-message-size", parse_size, RELAY (max_message_size),
    .min = KIB, .max = 2 * GIB },
  { "route", parse_text, RELAY (route), .check = check_route_name,
    .hint = "is not a route name; use the NAME of a [route NAME] group "
            "(letters, digits, '.', '_', '-')" },
  { "retry-schedule", parse_schedule, RELAY (retry_schedule),
    .min = 1, .max = 7 * DAY },
  { "delay-notice-after", parse_duration, RELAY (delay_notice_after),
    .min = 1, .max = 365 * DAY },
  { "expire-after", parse_duration, RELAY (expire_after),
    .min = 1, .max = 365 * DAY },
  { "secrets", parse_path, RELAY (secrets) },
  { "max-recipients", parse_number, RELAY (max_recipients),
    .min = 1, .max = 100000 },
  { "max-line-length", parse_number, RELAY (max_line_length),
    .min = 78, .max = 1000000 },
  { "max-command-line-length", parse_number, RELAY (max_command_line_length),
    .min = 512, .max = 1000000 },
  { "idle-timeout", parse_duration, RELAY (idle_timeout),
    .min = 1, .max = DAY },
  { "session-timeout", parse_duration, RELAY (session_timeout),
    .min = 1, .max = DAY },
  { "max-connections", parse_number, RELAY (max_connections),
    .min = 1, .max = 100000 },
  { "max-connections-per-client", parse_number,
    RELAY (max_connections_per_client), .min = 1, .max = 100000 },
  { "max-errors", parse_number, RELAY (max_errors), .min = 1, .max = 1000 },
  { "tls-certificate", parse_path, RELAY (tls_certificate) },
  { "tls-key", parse_path, RELAY (tls_key) },
  { NULL },
};

static const KeyDef route_keys[] = {
  { "method", parse_enum, ROUTE (method), .choices = method_names },
  { "host", parse_text, ROUTE (host), .check = check_host,
    .hint = "is not a host name or IP address (without a port; set port "
            "separately); use e.g. smtp.office365.com" },
  { "port", parse_number, ROUTE (port), .min = 1, .max = 65535 },
  { "tls", parse_enum, ROUTE (tls), .choices = tls_names },
  { "auth", parse_enum, ROUTE (auth), .choices = auth_names },
  { "mailbox", parse_text, ROUTE (mailbox), .check = check_mailbox,
    .hint = "is not an email address; use a bare address without name or "
            "angle brackets, e.g. scanner@contoso.com" },
  { "tenant", parse_text, ROUTE (tenant), .check = check_tenant,
    .hint = "is not a tenant; use the directory (tenant) ID, a GUID, or a "
            "verified domain such as contoso.onmicrosoft.com" },
  { "client-id", parse_text, ROUTE (client_id), .check = check_client_id,
    .hint = "is not a client ID; use the application (client) ID of the app "
            "registration, e.g. 9e5f94bc-e8a4-4e73-b8be-63364c29d753" },
  { "client-certificate", parse_path, ROUTE (client_certificate) },
  { "client-key", parse_path, ROUTE (client_key) },
  { "trust", parse_path, ROUTE (trust) },
  { "authority", parse_text, ROUTE (authority), .check = check_authority,
    .hint = "is not an https:// URL without query or fragment; use e.g. "
            DEFAULT_AUTHORITY },
  { "domain", parse_text, ROUTE (domain), .check = check_domain,
    .hint = "is not a domain name; use the tenant's accepted domain, e.g. "
            "contoso.com" },
  { NULL },
};
/* clang-format on */

/* Reading the text */

static const KeyDef *
find_key_def (const KeyDef *defs, const char *name)
{
  for (; defs->name != NULL; defs++)
    if (strcmp (defs->name, name) == 0)
      return defs;
  return NULL;
}

static gboolean
fail_unknown_key (Loader       *loader,
                  const KeyDef *defs,
                  const char   *group,
                  const char   *key,
                  guint         line,
                  GError      **error)
{
  g_autofree char *shown = make_printable (key);
  g_autoptr (GStrvBuilder) names = g_strv_builder_new ();
  g_auto (GStrv) list = NULL;
  g_autofree char *known = NULL;
  const char      *best = NULL;
  gsize            best_edits = 3; /* suggest only close matches */

  if (strchr (key, '[') != NULL)
    return fail (error, loader, MB_RELAY_CONFIG_ERROR_UNKNOWN_KEY, group, shown,
                 line,
                 "localized keys (key[locale]=) are not supported; remove "
                 "the [...] part");
  for (const KeyDef *def = defs; def->name != NULL; def++)
    {
      gsize edits = count_edits (key, def->name);

      g_strv_builder_add (names, def->name);
      if (edits < best_edits)
        {
          best_edits = edits;
          best = def->name;
        }
    }
  if (best != NULL)
    return fail (error, loader, MB_RELAY_CONFIG_ERROR_UNKNOWN_KEY, group, shown,
                 line, "unknown key; did you mean “%s”?", best);
  list = g_strv_builder_end (names);
  known = g_strjoinv (", ", list);
  return fail (error, loader, MB_RELAY_CONFIG_ERROR_UNKNOWN_KEY, group, shown,
               line, "unknown key; the keys of this group are %s", known);
}

static gboolean
add_group (Loader *loader, const char *name, guint line, GError **error)
{
  g_autofree char *shown = make_printable (name);

  if (g_hash_table_contains (loader->group_lines, name))
    return TRUE; /* GKeyFile merges a repeated group; keys still must differ */
  if (strcmp (name, "relay") != 0 && !g_str_has_prefix (name, ROUTE_PREFIX))
    return fail_at (error, loader->origin, line,
                    MB_RELAY_CONFIG_ERROR_UNKNOWN_KEY,
                    "[%s]: unknown group; use [relay] or [route NAME]", shown);
  if (g_str_has_prefix (name, ROUTE_PREFIX)
      && !is_route_name (name + strlen (ROUTE_PREFIX)))
    return fail_at (error, loader->origin, line,
                    MB_RELAY_CONFIG_ERROR_INVALID_VALUE,
                    "[%s]: “%s” is not a route name; use letters, digits, "
                    "'.', '_' or '-', e.g. [route office365]",
                    shown, shown + strlen (ROUTE_PREFIX));
  g_hash_table_insert (loader->group_lines, g_strdup (name),
                       GUINT_TO_POINTER (line));
  g_ptr_array_add (loader->groups, g_strdup (name));
  return TRUE;
}

static gboolean
add_entry (Loader     *loader,
           const char *group,
           char       *key,
           guint       line,
           GError    **error)
{
  g_autofree char *owned_key = key;
  const KeyDef *defs = strcmp (group, "relay") == 0 ? relay_keys : route_keys;
  const KeyDef *def = find_key_def (defs, key);
  const Entry  *previous;
  Entry        *entry;

  if (def == NULL)
    return fail_unknown_key (loader, defs, group, key, line, error);
  previous = find_entry (loader, group, key);
  if (previous != NULL)
    return fail (error, loader, MB_RELAY_CONFIG_ERROR_SYNTAX, group, key, line,
                 "set twice (also on line %u); keep one", previous->line);
  entry = g_new0 (Entry, 1);
  entry->group = g_strdup (group);
  entry->key = g_steal_pointer (&owned_key);
  entry->line = line;
  entry->def = def;
  g_ptr_array_add (loader->entries, entry);
  g_hash_table_insert (loader->entry_index,
                       g_strconcat (group, "\n", entry->key, NULL), entry);
  return TRUE;
}

/* Reads the text line by line with GKeyFile's rules (leading white space
 * skipped, '#' comments, "[group]", "key=value" with the key's trailing
 * white space dropped), to know each key's line and to refuse what GKeyFile
 * would quietly accept. */
static gboolean
scan_text (Loader *loader, const char *data, gsize len, GError **error)
{
  const char      *end = data + len;
  g_autofree char *group = NULL;
  guint            line = 0;

  for (const char *p = data; p < end; line++)
    {
      const char      *newline = memchr (p, '\n', end - p);
      const char      *eol = newline != NULL ? newline : end;
      g_autofree char *text = NULL;
      char            *eq;

      /* GKeyFile would cut the line at a NUL and read what follows as
       * part of the value: refuse instead of guessing. */
      if (memchr (p, '\0', eol - p) != NULL)
        return fail_at (error, loader->origin, line + 1,
                        MB_RELAY_CONFIG_ERROR_SYNTAX, "contains a NUL byte");
      text = g_strndup (p, eol - p);
      p = newline != NULL ? newline + 1 : end;
      if (!g_utf8_validate (text, -1, NULL))
        return fail_at (error, loader->origin, line + 1,
                        MB_RELAY_CONFIG_ERROR_SYNTAX,
                        "not valid UTF-8; save the file as UTF-8");
      g_strstrip (text);
      if (text[0] == '\0' || text[0] == '#')
        continue;

      if (text[0] == '[' && text[strlen (text) - 1] == ']'
          && strchr (text, ']') == text + strlen (text) - 1)
        {
          text[strlen (text) - 1] = '\0';
          g_free (group);
          group = g_strdup (text + 1);
          if (!add_group (loader, group, line + 1, error))
            return FALSE;
          continue;
        }

      eq = strchr (text, '=');
      if (eq == NULL || eq == text || text[0] == '[')
        {
          g_autofree char *shown = make_printable (text);

          return fail_at (error, loader->origin, line + 1,
                          MB_RELAY_CONFIG_ERROR_SYNTAX,
                          "“%s” is not a [group], a key=value line or a "
                          "# comment",
                          shown);
        }
      *eq = '\0';
      g_strchomp (text);
      if (group == NULL)
        return fail_at (error, loader->origin, line + 1,
                        MB_RELAY_CONFIG_ERROR_SYNTAX,
                        "“%s” comes before any group; put it under [relay] "
                        "or [route NAME]",
                        text);
      if (!add_entry (loader, group, g_strdup (text), line + 1, error))
        return FALSE;
    }
  return TRUE;
}

/* Checks across keys */

/* Defaults that depend on the method, and the combinations DESIGN.md's
 * method table rules out (M365-FACTS.md 1.1). */
static gboolean
finish_route (Loader *loader, MbRouteConfig *route, GError **error)
{
  g_autofree char *group = g_strconcat (ROUTE_PREFIX, route->name, NULL);
  const Entry     *method = find_entry (loader, group, "method");
  const Entry     *tls = find_entry (loader, group, "tls");
  const Entry     *auth = find_entry (loader, group, "auth");
  const char      *method_name = method_names[route->method];
  const char      *auth_name;
  gboolean         signs_in;

  if (method == NULL)
    return fail (error, loader, MB_RELAY_CONFIG_ERROR_MISSING, group, "method",
                 find_line (loader, group, "method"),
                 "missing; use submission, direct-send, connector or hve");
  signs_in = route->method == MB_ROUTE_METHOD_SUBMISSION
             || route->method == MB_ROUTE_METHOD_HVE;
  /* Direct Send takes TLS when offered (M365 makes it optional), unless a
   * client certificate is to be shown, which needs TLS. */
  if (tls == NULL && route->method == MB_ROUTE_METHOD_DIRECT_SEND
      && route->client_certificate == NULL)
    route->tls = MB_ROUTE_TLS_OPPORTUNISTIC;
  if (auth == NULL && signs_in)
    route->auth = MB_ROUTE_AUTH_OAUTH_DEVICE;
  auth_name = auth_names[route->auth];

  if (!signs_in && route->auth != MB_ROUTE_AUTH_NONE)
    return fail (error, loader, MB_RELAY_CONFIG_ERROR_INVALID_VALUE, group,
                 "auth", auth->line,
                 "“%s” is not allowed with method %s, which does not sign "
                 "in; use none or leave auth out",
                 auth_name, method_name);
  if (signs_in && route->auth == MB_ROUTE_AUTH_NONE)
    return fail (error, loader, MB_RELAY_CONFIG_ERROR_INVALID_VALUE, group,
                 "auth", auth->line,
                 "“none” is not allowed with method %s, which signs in; use "
                 "oauth-device, oauth-browser, oauth-app or basic",
                 method_name);
  if (route->tls == MB_ROUTE_TLS_OPPORTUNISTIC
      && (signs_in || route->client_certificate != NULL))
    return fail (error, loader, MB_RELAY_CONFIG_ERROR_INVALID_VALUE, group,
                 "tls", find_line (loader, group, "tls"),
                 "“opportunistic” is not allowed here: it would send %s "
                 "without TLS; use required",
                 signs_in ? "credentials" : "the client certificate's name");
  if (signs_in && route->mailbox == NULL)
    return fail (error, loader, MB_RELAY_CONFIG_ERROR_MISSING, group, "mailbox",
                 find_line (loader, group, "mailbox"),
                 "missing; a %s route signs in as this mailbox, e.g. "
                 "mailbox=scanner@contoso.com",
                 method_name);
  if ((route->auth == MB_ROUTE_AUTH_OAUTH_DEVICE
       || route->auth == MB_ROUTE_AUTH_OAUTH_BROWSER
       || route->auth == MB_ROUTE_AUTH_OAUTH_APP)
      && route->client_id == NULL)
    return fail (error, loader, MB_RELAY_CONFIG_ERROR_MISSING, group,
                 "client-id", find_line (loader, group, "client-id"),
                 "missing; auth %s needs the application (client) ID of "
                 "the app registration",
                 auth_name);
  if (route->auth == MB_ROUTE_AUTH_OAUTH_APP && route->tenant == NULL)
    return fail (error, loader, MB_RELAY_CONFIG_ERROR_MISSING, group, "tenant",
                 find_line (loader, group, "tenant"),
                 "missing; auth oauth-app needs the tenant ID or a verified "
                 "domain of the tenant");
  if (route->client_key != NULL && route->client_certificate == NULL)
    return fail (error, loader, MB_RELAY_CONFIG_ERROR_MISSING, group,
                 "client-certificate", find_line (loader, group, "client-key"),
                 "missing; client-key is set, so set the certificate it "
                 "belongs to as well");
  if (!signs_in && route->host == NULL && route->domain == NULL)
    return fail (error, loader, MB_RELAY_CONFIG_ERROR_MISSING, group, "domain",
                 find_line (loader, group, "domain"),
                 "missing; method %s needs the tenant's accepted domain "
                 "(its MX host is looked up) or a host",
                 method_name);
  return TRUE;
}

static gboolean
finish_relay (Loader *loader, MbRelayConfig *config, GError **error)
{
  const Entry *cert = find_entry (loader, "relay", "tls-certificate");
  const Entry *key = find_entry (loader, "relay", "tls-key");

  if ((cert == NULL) != (key == NULL))
    return fail (error, loader, MB_RELAY_CONFIG_ERROR_MISSING, "relay",
                 cert == NULL ? "tls-certificate" : "tls-key",
                 cert == NULL ? key->line : cert->line,
                 "missing; set tls-certificate and tls-key together, or "
                 "neither to use a generated pair");
  if (config->expire_after <= config->delay_notice_after)
    {
      g_autofree char *expire = format_duration (config->expire_after);
      g_autofree char *notice = format_duration (config->delay_notice_after);
      g_autofree char *expire_raw = get_raw (loader, "relay", "expire-after");
      g_autofree char *notice_raw
          = get_raw (loader, "relay", "delay-notice-after");

      /* Point at the key the admin wrote. */
      if (find_entry (loader, "relay", "expire-after") != NULL)
        return fail (error, loader, MB_RELAY_CONFIG_ERROR_INVALID_VALUE,
                     "relay", "expire-after",
                     find_line (loader, "relay", "expire-after"),
                     "“%s” is not allowed; it must be longer than "
                     "delay-notice-after (%s): the delay notice comes before "
                     "the bounce",
                     expire_raw, notice);
      return fail (error, loader, MB_RELAY_CONFIG_ERROR_INVALID_VALUE, "relay",
                   "delay-notice-after",
                   find_line (loader, "relay", "delay-notice-after"),
                   "“%s” is not allowed; it must be shorter than "
                   "expire-after (%s): the delay notice comes before the "
                   "bounce",
                   notice_raw, expire);
    }
  if (config->max_connections_per_client > config->max_connections)
    {
      g_autofree char *per_client_raw
          = get_raw (loader, "relay", "max-connections-per-client");

      /* Only the default is above: it follows max-connections down. */
      if (find_entry (loader, "relay", "max-connections-per-client") == NULL)
        config->max_connections_per_client = config->max_connections;
      else
        return fail (error, loader, MB_RELAY_CONFIG_ERROR_INVALID_VALUE,
                     "relay", "max-connections-per-client",
                     find_line (loader, "relay", "max-connections-per-client"),
                     "“%s” is not allowed; it must not exceed "
                     "max-connections (%u)",
                     per_client_raw, config->max_connections);
    }
  if (config->route != NULL
      && mb_relay_config_lookup_route (config, config->route) == NULL)
    return fail (error, loader, MB_RELAY_CONFIG_ERROR_INVALID_VALUE, "relay",
                 "route", find_line (loader, "relay", "route"),
                 "“%s” is not defined; add a [route %s] group or name one "
                 "of the routes in this file",
                 config->route, config->route);
  /* One route and no choice made: that route is the choice. */
  if (config->route == NULL && config->routes->len == 1)
    config->route
        = g_strdup (((MbRouteConfig *)config->routes->pdata[0])->name);
  return TRUE;
}

static MbRelayConfig *
load_text (const char *data,
           gsize       len,
           const char *origin,
           const char *base_dir,
           GError    **error)
{
  g_auto (Loader) loader = { 0 };
  g_autoptr (MbRelayConfig) config = mb_relay_config_new_default ();
  g_autoptr (GError) local_error = NULL;

  loader.origin = origin;
  loader.base_dir = g_strdup (base_dir);
  loader.keyfile = g_key_file_new ();
  loader.entries = g_ptr_array_new_with_free_func ((GDestroyNotify)entry_free);
  loader.entry_index
      = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  loader.groups = g_ptr_array_new_with_free_func (g_free);
  loader.group_lines
      = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  loader.routes = g_hash_table_new (g_str_hash, g_str_equal);

  /* Structure first, values second: a misspelt key is reported as such,
   * never as some consequence of its absence. */
  if (!scan_text (&loader, data, len, error))
    return NULL;
  if (!g_key_file_load_from_data (loader.keyfile, data, len, G_KEY_FILE_NONE,
                                  &local_error))
    {
      fail_at (error, origin, 0, MB_RELAY_CONFIG_ERROR_SYNTAX, "%s",
               local_error->message);
      return NULL;
    }

  for (guint i = 0; i < loader.groups->len; i++)
    {
      const char    *group = loader.groups->pdata[i];
      MbRouteConfig *route;

      if (!g_str_has_prefix (group, ROUTE_PREFIX))
        continue;
      route = g_new0 (MbRouteConfig, 1);
      route->name = g_strdup (group + strlen (ROUTE_PREFIX));
      route->tls = MB_ROUTE_TLS_REQUIRED;
      route->auth = MB_ROUTE_AUTH_NONE;
      route->authority = g_strdup (DEFAULT_AUTHORITY);
      g_ptr_array_add (config->routes, route);
      g_hash_table_insert (loader.routes, (gpointer)group, route);
    }

  /* File order, so the first error reported is the first in the file. */
  for (guint i = 0; i < loader.entries->len; i++)
    {
      const Entry *entry = loader.entries->pdata[i];
      gpointer     base = g_hash_table_lookup (loader.routes, entry->group);

      if (base == NULL)
        base = config;
      if (!entry->def->parse (&loader, entry, (char *)base + entry->def->offset,
                              error))
        return NULL;
    }

  for (guint i = 0; i < config->routes->len; i++)
    if (!finish_route (&loader, config->routes->pdata[i], error))
      return NULL;
  if (!finish_relay (&loader, config, error))
    return NULL;
  return g_steal_pointer (&config);
}

/* Defaults, public API */

static GPtrArray *
make_default_listen (void)
{
  GPtrArray *listen = g_ptr_array_new_with_free_func (g_object_unref);
  g_auto (GStrv) items = g_strsplit (DEFAULT_LISTEN, ";", -1);
  const char *problem;

  for (gsize i = 0; items[i] != NULL; i++)
    g_ptr_array_add (listen, parse_socket_address (items[i], &problem));
  return listen;
}

static GPtrArray *
make_default_allow (void)
{
  GPtrArray *allow = g_ptr_array_new_with_free_func (g_object_unref);
  g_auto (GStrv) items = g_strsplit (DEFAULT_ALLOW, ";", -1);

  for (gsize i = 0; items[i] != NULL; i++)
    g_ptr_array_add (allow, parse_mask (items[i], NULL));
  return allow;
}

static GArray *
make_default_retry (void)
{
  GArray *retry = g_array_new (FALSE, FALSE, sizeof (gint64));
  g_auto (GStrv) items = g_strsplit (DEFAULT_RETRY, ";", -1);

  for (gsize i = 0; items[i] != NULL; i++)
    {
      gint64 seconds = 0;

      mb_relay_config_parse_duration (items[i], &seconds);
      g_array_append_val (retry, seconds);
    }
  return retry;
}

MbRelayConfig *
mb_relay_config_new_default (void)
{
  MbRelayConfig *config = g_atomic_rc_box_new0 (MbRelayConfig);
  const char    *state = g_get_user_state_dir ();

  config->listen = make_default_listen ();
  config->allow = make_default_allow ();
  config->hostname = g_strdup (g_get_host_name ());
  config->spool = g_build_filename (state, "mailbridge", "spool", NULL);
  config->max_message_size = 35 * 1024 * 1024;
  config->retry_schedule = make_default_retry ();
  config->delay_notice_after = 4 * 3600;
  config->expire_after = 2 * DAY;
  config->max_recipients = 500;
  config->max_line_length = 998;
  config->max_command_line_length = 2048;
  config->idle_timeout = 5 * 60;
  config->session_timeout = 30 * 60;
  config->max_connections = 100;
  config->max_connections_per_client = 20;
  config->max_errors = 10;
  config->tls_certificate
      = g_build_filename (state, "mailbridge", "tls", "relay.crt", NULL);
  config->tls_key
      = g_build_filename (state, "mailbridge", "tls", "relay.key", NULL);
  config->routes
      = g_ptr_array_new_with_free_func ((GDestroyNotify)route_config_free);
  return config;
}

MbRelayConfig *
mb_relay_config_load_data (const char *data,
                           gssize      len,
                           const char *origin,
                           GError    **error)
{
  g_autofree char *dir = NULL;
  g_autofree char *base_dir = NULL;

  g_return_val_if_fail (data != NULL || len == 0, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (origin == NULL)
    origin = "configuration";
  if (len < 0)
    len = strlen (data);
  dir = g_path_get_dirname (origin);
  base_dir = g_canonicalize_filename (dir, NULL);
  return load_text (data != NULL ? data : "", len, origin, base_dir, error);
}

MbRelayConfig *
mb_relay_config_load_file (const char *path, GError **error)
{
  g_autofree char *contents = NULL;
  gsize            length = 0;
  g_autoptr (GError) local_error = NULL;
  MbRelayConfig *config;

  g_return_val_if_fail (path != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (!g_file_get_contents (path, &contents, &length, &local_error))
    {
      if (g_error_matches (local_error, G_FILE_ERROR, G_FILE_ERROR_NOENT))
        g_set_error (error, MB_RELAY_CONFIG_ERROR,
                     MB_RELAY_CONFIG_ERROR_NOT_FOUND,
                     "%s: no such file; copy mailbridge.conf.example there "
                     "or give another file",
                     path);
      else
        g_propagate_error (error, g_steal_pointer (&local_error));
      return NULL;
    }
  config = mb_relay_config_load_data (contents, length, path, error);
  if (config != NULL)
    config->path = g_canonicalize_filename (path, NULL);
  return config;
}

MbRelayConfig *
mb_relay_config_ref (MbRelayConfig *config)
{
  g_return_val_if_fail (config != NULL, NULL);
  return g_atomic_rc_box_acquire (config);
}

void
mb_relay_config_unref (MbRelayConfig *config)
{
  g_return_if_fail (config != NULL);
  g_atomic_rc_box_release_full (config, (GDestroyNotify)relay_config_clear);
}

gboolean
mb_relay_config_allows (const MbRelayConfig *config, GInetAddress *address)
{
  g_autoptr (GInetAddress) client = NULL;

  g_return_val_if_fail (config != NULL, FALSE);
  g_return_val_if_fail (G_IS_INET_ADDRESS (address), FALSE);

  /* A dual-stack listener sees IPv4 clients as ::ffff:a.b.c.d. */
  client = is_v4_mapped (address) ? unmap_v4 (address) : g_object_ref (address);
  for (guint i = 0; i < config->allow->len; i++)
    if (g_inet_address_mask_matches (config->allow->pdata[i], client))
      return TRUE;
  return FALSE;
}

MbRouteConfig *
mb_relay_config_lookup_route (const MbRelayConfig *config, const char *name)
{
  g_return_val_if_fail (config != NULL, NULL);

  for (guint i = 0; name != NULL && i < config->routes->len; i++)
    {
      MbRouteConfig *route = config->routes->pdata[i];

      if (strcmp (route->name, name) == 0)
        return route;
    }
  return NULL;
}

gboolean
mb_relay_config_parse_duration (const char *text, gint64 *seconds)
{
  static const struct
  {
    char   unit;
    gint64 factor;
  } units[] = {
    { 's', 1 }, { 'm', 60 }, { 'h', 3600 }, { 'd', 86400 }, { 'w', 604800 }
  };
  const char *unit;
  guint64     n;
  gint64      factor = 1;

  g_return_val_if_fail (text != NULL, FALSE);

  unit = text + strspn (text, "0123456789");
  if (unit == text || (unit[0] != '\0' && unit[1] != '\0'))
    return FALSE;
  if (unit[0] != '\0')
    {
      gsize i;

      for (i = 0; i < G_N_ELEMENTS (units) && units[i].unit != unit[0]; i++)
        ;
      if (i == G_N_ELEMENTS (units))
        return FALSE;
      factor = units[i].factor;
    }
  {
    g_autofree char *digits = g_strndup (text, unit - text);

    if (!parse_uint (digits, G_MAXINT64 / factor, &n))
      return FALSE;
  }
  if (seconds != NULL)
    *seconds = (gint64)n * factor;
  return TRUE;
}

gboolean
mb_relay_config_parse_size (const char *text, guint64 *bytes)
{
  static const struct
  {
    const char *suffix;
    guint       shift;
  } units[] = { { "", 0 },     { "B", 0 },   { "K", 10 },   { "KB", 10 },
                { "KiB", 10 }, { "M", 20 },  { "MB", 20 },  { "MiB", 20 },
                { "G", 30 },   { "GB", 30 }, { "GiB", 30 }, { "T", 40 },
                { "TB", 40 },  { "TiB", 40 } };
  const char      *suffix;
  g_autofree char *digits = NULL;
  guint64          n;

  g_return_val_if_fail (text != NULL, FALSE);

  suffix = text + strspn (text, "0123456789");
  digits = g_strndup (text, suffix - text);
  for (gsize i = 0; i < G_N_ELEMENTS (units); i++)
    if (g_ascii_strcasecmp (suffix, units[i].suffix) == 0)
      {
        if (!parse_uint (digits, G_MAXUINT64 >> units[i].shift, &n))
          return FALSE;
        if (bytes != NULL)
          *bytes = n << units[i].shift;
        return TRUE;
      }
  return FALSE;
}

const char *
mb_route_method_to_string (MbRouteMethod method)
{
  g_return_val_if_fail ((guint)method < G_N_ELEMENTS (method_names) - 1, NULL);
  return method_names[method];
}

const char *
mb_route_auth_to_string (MbRouteAuth auth)
{
  g_return_val_if_fail ((guint)auth < G_N_ELEMENTS (auth_names) - 1, NULL);
  return auth_names[auth];
}

const char *
mb_route_tls_to_string (MbRouteTls tls)
{
  g_return_val_if_fail ((guint)tls < G_N_ELEMENTS (tls_names) - 1, NULL);
  return tls_names[tls];
}
