/* mb-config-key.c - key tables: configuration keys bound to struct fields
 *
 * What it does: parses the text of one configuration key into the struct
 * member its table entry names, with the syntax of mb-config-syntax and
 * the entry's bounds, and reports a refusal at the key's place in the file.
 *
 * Guarantees:
 * - A field changes only when its whole value is accepted: a list with one
 *   bad item leaves the previous value (the default) in place, and the
 *   struct stays consistent for freeing.
 * - Lists: a listen address or a send-as address given twice is an error
 *   (it would bind twice, or hide a typo); an empty listen or duration list
 *   is an error, an empty allow list is not (it refuses every client).
 * - Paths are stored absolute, so a reload from another directory, or a
 *   daemon that changed directory, still finds the same files.
 *
 * What it does not do: know which keys exist (the tables are the callers'),
 * defaults, or relations between keys.
 *
 * Standards: those of mb-config-syntax.
 */
#define G_LOG_DOMAIN "mb-config-key"

#include "mb-config-key.h"

#include "mb-config-syntax.h"

#define FIELD MB_CONFIG_KEY_FIELD

/* "“VALUE” detail", the value escaped. */
G_GNUC_PRINTF (3, 4)
static gboolean
refuse (GError **error, const char *value, const char *format, ...)
{
  va_list          args;
  g_autofree char *shown = mb_config_syntax_escape (value);
  g_autofree char *detail = NULL;

  va_start (args, format);
  detail = g_strdup_vprintf (format, args);
  va_end (args);
  g_set_error (error, MB_CONFIG_SYNTAX_ERROR, MB_CONFIG_SYNTAX_ERROR_INVALID,
               "“%s” %s", shown, detail);
  return FALSE;
}

static gboolean
refuse_literal (GError **error, const char *message)
{
  g_set_error_literal (error, MB_CONFIG_SYNTAX_ERROR,
                       MB_CONFIG_SYNTAX_ERROR_INVALID, message);
  return FALSE;
}

static void
store_uint (const MbConfigKey *key, gpointer base, guint64 value)
{
  if (key->size == sizeof (guint16))
    *FIELD (guint16, key, base) = value;
  else if (key->size == sizeof (guint))
    *FIELD (guint, key, base) = value;
  else
    *FIELD (guint64, key, base) = value;
}

/* Single values */

gboolean
mb_config_key_parse_text (const MbConfigKey *key,
                          const char        *value,
                          gpointer           base,
                          const char        *base_dir,
                          GError           **error)
{
  char *stored = key->check (value);

  if (stored == NULL)
    return refuse (error, value, "%s", key->hint);
  g_free (*FIELD (char *, key, base));
  *FIELD (char *, key, base) = stored;
  return TRUE;
}

gboolean
mb_config_key_parse_path (const MbConfigKey *key,
                          const char        *value,
                          gpointer           base,
                          const char        *base_dir,
                          GError           **error)
{
  if (*value == '\0')
    return refuse_literal (error,
                           "no path given; use a file or directory name (a "
                           "relative one starts from the configuration "
                           "file's directory)");
  g_free (*FIELD (char *, key, base));
  *FIELD (char *, key, base) = g_canonicalize_filename (value, base_dir);
  return TRUE;
}

gboolean
mb_config_key_parse_number (const MbConfigKey *key,
                            const char        *value,
                            gpointer           base,
                            const char        *base_dir,
                            GError           **error)
{
  guint64 number;

  if (!mb_config_syntax_parse_number (value, key->min, key->max, &number,
                                      error))
    return FALSE;
  store_uint (key, base, number);
  return TRUE;
}

gboolean
mb_config_key_parse_size (const MbConfigKey *key,
                          const char        *value,
                          gpointer           base,
                          const char        *base_dir,
                          GError           **error)
{
  guint64 bytes;

  if (!mb_config_syntax_parse_size (value, key->min, key->max, &bytes, error))
    return FALSE;
  store_uint (key, base, bytes);
  return TRUE;
}

gboolean
mb_config_key_parse_duration (const MbConfigKey *key,
                              const char        *value,
                              gpointer           base,
                              const char        *base_dir,
                              GError           **error)
{
  return mb_config_syntax_parse_duration (value, key->min, key->max,
                                          FIELD (gint64, key, base), error);
}

gboolean
mb_config_key_parse_enum (const MbConfigKey *key,
                          const char        *value,
                          gpointer           base,
                          const char        *base_dir,
                          GError           **error)
{
  guint index;

  if (!mb_config_syntax_parse_choice (value, key->choices, &index, error))
    return FALSE;
  store_uint (key, base, index);
  return TRUE;
}

gboolean
mb_config_key_parse_choice (const MbConfigKey *key,
                            const char        *value,
                            gpointer           base,
                            const char        *base_dir,
                            GError           **error)
{
  if (!mb_config_syntax_parse_choice (value, key->choices, NULL, error))
    return FALSE;
  g_free (*FIELD (char *, key, base));
  *FIELD (char *, key, base) = g_strdup (value);
  return TRUE;
}

/* Lists */

gboolean
mb_config_key_parse_listen (const MbConfigKey *key,
                            const char *const *items,
                            gpointer           base,
                            GError           **error)
{
  g_autoptr (GPtrArray) addresses
      = g_ptr_array_new_with_free_func (g_object_unref);
  g_autoptr (GHashTable) seen
      = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);

  for (gsize i = 0; items[i] != NULL; i++)
    {
      GInetSocketAddress *address
          = mb_config_syntax_parse_listen (items[i], error);

      if (address == NULL)
        return FALSE;
      g_ptr_array_add (addresses, address);
      if (!g_hash_table_add (seen, g_socket_connectable_to_string (
                                       G_SOCKET_CONNECTABLE (address))))
        return refuse (error, items[i],
                       "is listed twice; list each address once");
    }
  if (addresses->len == 0)
    return refuse_literal (error, "no address given; use e.g. "
                                  "192.168.1.10:25 or [::1]:2525");
  g_clear_pointer (FIELD (GPtrArray *, key, base), g_ptr_array_unref);
  *FIELD (GPtrArray *, key, base) = g_steal_pointer (&addresses);
  return TRUE;
}

gboolean
mb_config_key_parse_allow (const MbConfigKey *key,
                           const char *const *items,
                           gpointer           base,
                           GError           **error)
{
  g_autoptr (GPtrArray) masks = g_ptr_array_new_with_free_func (g_object_unref);

  for (gsize i = 0; items[i] != NULL; i++)
    {
      GInetAddressMask *mask = mb_config_syntax_parse_allow (items[i], error);

      if (mask == NULL)
        return FALSE;
      g_ptr_array_add (masks, mask);
    }
  g_clear_pointer (FIELD (GPtrArray *, key, base), g_ptr_array_unref);
  *FIELD (GPtrArray *, key, base) = g_steal_pointer (&masks);
  return TRUE;
}

gboolean
mb_config_key_parse_durations (const MbConfigKey *key,
                               const char *const *items,
                               gpointer           base,
                               GError           **error)
{
  g_autoptr (GArray) durations = g_array_new (FALSE, FALSE, sizeof (gint64));

  for (gsize i = 0; items[i] != NULL; i++)
    {
      gint64 seconds;

      if (!mb_config_syntax_parse_duration (items[i], key->min, key->max,
                                            &seconds, error))
        return FALSE;
      g_array_append_val (durations, seconds);
    }
  if (durations->len == 0)
    return refuse_literal (error, "no duration given; use e.g. "
                                  "1m;5m;15m;30m;1h");
  g_clear_pointer (FIELD (GArray *, key, base), g_array_unref);
  *FIELD (GArray *, key, base) = g_steal_pointer (&durations);
  return TRUE;
}

gboolean
mb_config_key_parse_mailboxes (const MbConfigKey *key,
                               const char *const *items,
                               gpointer           base,
                               GError           **error)
{
  g_autoptr (GStrvBuilder) builder = g_strv_builder_new ();
  g_autoptr (GHashTable) seen
      = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  GStrv *field = FIELD (GStrv, key, base);

  for (gsize i = 0; items[i] != NULL; i++)
    {
      g_autofree char *mailbox = key->check (items[i]);

      if (mailbox == NULL)
        return refuse (error, items[i], "%s", key->hint);
      /* Exchange compares addresses without case, and so do we. */
      if (!g_hash_table_add (seen, g_utf8_casefold (mailbox, -1)))
        return refuse (error, items[i],
                       "is listed twice; list each address once");
      g_strv_builder_add (builder, mailbox);
    }
  g_strfreev (*field);
  *field = items[0] != NULL ? g_strv_builder_end (builder) : NULL;
  return TRUE;
}

/* Tables */

GStrv
mb_config_key_collect_names (const MbConfigKey *keys)
{
  g_autoptr (GStrvBuilder) names = g_strv_builder_new ();

  g_return_val_if_fail (keys != NULL, NULL);

  for (; keys->name != NULL; keys++)
    g_strv_builder_add (names, keys->name);
  return g_strv_builder_end (names);
}

gboolean
mb_config_key_apply (const MbConfigKey    *key,
                     const MbKeyfileScan  *scan,
                     const MbKeyfileEntry *entry,
                     gpointer              base,
                     const char           *base_dir,
                     GError              **error)
{
  g_autoptr (GError) local_error = NULL;
  g_autofree char *value = NULL;
  g_auto (GStrv) items = NULL;
  gboolean ok;

  g_return_val_if_fail (key != NULL && scan != NULL && entry != NULL, FALSE);
  g_return_val_if_fail ((key->parse != NULL) != (key->parse_list != NULL),
                        FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  /* The scanner's own refusals (a bad escape) come with their place. */
  if (key->parse_list != NULL)
    {
      if (!mb_keyfile_scan_get_list (scan, entry, &items, error))
        return FALSE;
      ok = key->parse_list (key, (const char *const *)items, base,
                            &local_error);
    }
  else
    {
      if (!mb_keyfile_scan_get_string (scan, entry, &value, error))
        return FALSE;
      ok = key->parse (key, value, base, base_dir, &local_error);
    }
  if (!ok)
    mb_keyfile_scan_set_error (
        scan, error, MB_KEYFILE_SCAN_ERROR, MB_KEYFILE_SCAN_ERROR_INVALID_VALUE,
        entry->group, entry->key, entry->line, "%s", local_error->message);
  return ok;
}
