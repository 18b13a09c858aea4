/* mb-keyfile-scan.c - a key file read with line numbers and known keys
 *
 * What it does: reads a key file's text line by line with GKeyFile's rules
 * (leading white space skipped, '#' comments, "[group]", "key=value" with
 * the key's trailing white space dropped), checks each group and key
 * against a schema, records the line of each, and loads the same text into
 * a GKeyFile for the values.
 *
 * Guarantees:
 * - Nothing GKeyFile would quietly accept goes through: an unknown group
 *   or key, a localized key (key[de]=), a key set twice (also in a
 *   repeated group, which GKeyFile merges), a key before any group, a NUL
 *   byte (GKeyFile would cut the line there and read on), a line that is
 *   not UTF-8.
 * - The first problem in file order is the one reported, with its line;
 *   for an unknown key, a close known key is suggested ("did you mean").
 * - Messages escape control characters, so they are safe to print.
 *
 * What it does not do: interpret values (mb-config-syntax does), know
 * defaults or relations between keys, read files.
 *
 * Standards: the Desktop Entry Specification 1.5, "Basic format of the
 * file" (GKeyFile's format), less its localized keys.
 */
#define G_LOG_DOMAIN "mb-keyfile-scan"

#include "mb-keyfile-scan.h"

#include "mb-config-syntax.h"

#include <string.h>

struct _MbKeyfileScan
{
  char                    *origin;      /* (owned) */
  const MbKeyfileGroupDef *schema;      /* (unowned) */
  GKeyFile                *keyfile;     /* (owned) */
  GPtrArray               *entries;     /* (owned) (element-type Entry) */
  GHashTable              *entry_index; /* (owned) "group\nkey" → entry */
  GPtrArray               *groups;      /* (owned) (element-type utf8) */
  GHashTable              *group_lines; /* (owned) group → first line */
};

GQuark
mb_keyfile_scan_error_quark (void)
{
  return g_quark_from_static_string ("mb-keyfile-scan-error-quark");
}

static void
entry_free (MbKeyfileEntry *entry)
{
  g_free (entry->group);
  g_free (entry->key);
  g_free (entry);
}

/* Messages */

G_GNUC_PRINTF (5, 6)
static gboolean
fail_at (MbKeyfileScan *scan,
         GError       **error,
         guint          line,
         gint           code,
         const char    *format,
         ...)
{
  va_list          args;
  g_autofree char *detail = NULL;

  va_start (args, format);
  detail = g_strdup_vprintf (format, args);
  va_end (args);
  if (line > 0)
    g_set_error (error, MB_KEYFILE_SCAN_ERROR, code, "%s:%u: %s", scan->origin,
                 line, detail);
  else
    g_set_error (error, MB_KEYFILE_SCAN_ERROR, code, "%s: %s", scan->origin,
                 detail);
  return FALSE;
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

static gboolean
fail_unknown_key (MbKeyfileScan           *scan,
                  const MbKeyfileGroupDef *def,
                  const char              *group,
                  const char              *key,
                  guint                    line,
                  GError                 **error)
{
  g_autofree char *shown_group = mb_config_syntax_escape (group);
  g_autofree char *shown = mb_config_syntax_escape (key);
  g_autofree char *known = NULL;
  const char      *best = NULL;
  gsize            best_edits = 3; /* suggest only close matches */

  if (strchr (key, '[') != NULL)
    return fail_at (scan, error, line, MB_KEYFILE_SCAN_ERROR_UNKNOWN_KEY,
                    "[%s] %s: localized keys (key[locale]=) are not "
                    "supported; remove the [...] part",
                    shown_group, shown);
  for (gsize i = 0; def->keys[i] != NULL; i++)
    {
      gsize edits = count_edits (key, def->keys[i]);

      if (edits < best_edits)
        {
          best_edits = edits;
          best = def->keys[i];
        }
    }
  if (best != NULL)
    return fail_at (scan, error, line, MB_KEYFILE_SCAN_ERROR_UNKNOWN_KEY,
                    "[%s] %s: unknown key; did you mean “%s”?", shown_group,
                    shown, best);
  known = g_strjoinv (", ", (GStrv)def->keys);
  return fail_at (scan, error, line, MB_KEYFILE_SCAN_ERROR_UNKNOWN_KEY,
                  "[%s] %s: unknown key; the keys of this group are %s",
                  shown_group, shown, known);
}

/* Reading the text */

/* (nullable) The definition @group falls under; for a named group, @name
 * (if not NULL) points at its NAME. */
static const MbKeyfileGroupDef *
match_group (const MbKeyfileGroupDef *schema,
             const char              *group,
             const char             **name)
{
  for (const MbKeyfileGroupDef *def = schema; def->name != NULL; def++)
    {
      gsize len = strlen (def->name);

      if (!def->named && strcmp (group, def->name) == 0)
        return def;
      if (def->named && strncmp (group, def->name, len) == 0
          && group[len] == ' ')
        {
          if (name != NULL)
            *name = group + len + 1;
          return def;
        }
    }
  return NULL;
}

/* "[relay] or [route NAME]" */
static char *
format_groups (const MbKeyfileGroupDef *schema)
{
  g_autoptr (GPtrArray) forms = g_ptr_array_new_with_free_func (g_free);

  for (const MbKeyfileGroupDef *def = schema; def->name != NULL; def++)
    g_ptr_array_add (forms, g_strdup_printf ("[%s%s]", def->name,
                                             def->named ? " NAME" : ""));
  g_ptr_array_add (forms, NULL);
  return mb_config_syntax_format_choices ((const char *const *)forms->pdata);
}

/* @def gets the definition of @group. */
static gboolean
add_group (MbKeyfileScan            *scan,
           const char               *group,
           guint                     line,
           const MbKeyfileGroupDef **def,
           GError                  **error)
{
  g_autofree char *shown = mb_config_syntax_escape (group);
  const char      *name = NULL;

  *def = match_group (scan->schema, group, &name);
  if (*def == NULL)
    {
      g_autofree char *allowed = format_groups (scan->schema);

      return fail_at (scan, error, line, MB_KEYFILE_SCAN_ERROR_UNKNOWN_GROUP,
                      "[%s]: unknown group; use %s", shown, allowed);
    }
  if (g_hash_table_contains (scan->group_lines, group))
    return TRUE; /* GKeyFile merges a repeated group; keys still must differ */
  if ((*def)->named && !mb_config_syntax_is_name (name))
    {
      g_autofree char *shown_name = mb_config_syntax_escape (name);
      g_autofree char *example
          = (*def)->example != NULL ? g_strdup_printf (
                ", e.g. [%s %s]", (*def)->name, (*def)->example)
                                    : g_strdup ("");

      return fail_at (scan, error, line, MB_KEYFILE_SCAN_ERROR_INVALID_NAME,
                      "[%s]: “%s” is not a %s name; use letters, digits, "
                      "'.', '_' or '-'%s",
                      shown, shown_name, (*def)->name, example);
    }
  g_hash_table_insert (scan->group_lines, g_strdup (group),
                       GUINT_TO_POINTER (line));
  g_ptr_array_add (scan->groups, g_strdup (group));
  return TRUE;
}

static gboolean
add_entry (MbKeyfileScan           *scan,
           const char              *group,
           const MbKeyfileGroupDef *def,
           const char              *key,
           guint                    line,
           GError                 **error)
{
  const MbKeyfileEntry *previous;
  MbKeyfileEntry       *entry;
  guint                 index;

  for (index = 0; def->keys[index] != NULL; index++)
    if (strcmp (def->keys[index], key) == 0)
      break;
  if (def->keys[index] == NULL)
    return fail_unknown_key (scan, def, group, key, line, error);
  previous = mb_keyfile_scan_lookup (scan, group, key);
  if (previous != NULL)
    return fail_at (scan, error, line, MB_KEYFILE_SCAN_ERROR_SYNTAX,
                    "[%s] %s: set twice (also on line %u); keep one", group,
                    key, previous->line);
  entry = g_new0 (MbKeyfileEntry, 1);
  entry->group = g_strdup (group);
  entry->key = g_strdup (key);
  entry->line = line;
  entry->group_def = def;
  entry->key_index = index;
  g_ptr_array_add (scan->entries, entry);
  g_hash_table_insert (scan->entry_index, g_strconcat (group, "\n", key, NULL),
                       entry);
  return TRUE;
}

static gboolean
scan_text (MbKeyfileScan *scan, const char *data, gsize len, GError **error)
{
  const char              *end = data + len;
  g_autofree char         *group = NULL;
  const MbKeyfileGroupDef *group_def = NULL;
  guint                    line = 0;

  for (const char *p = data; p < end; line++)
    {
      const char      *newline = memchr (p, '\n', end - p);
      const char      *eol = newline != NULL ? newline : end;
      g_autofree char *text = NULL;
      char            *eq;

      /* GKeyFile would cut the line at a NUL and read what follows as
       * part of the value: refuse instead of guessing. */
      if (memchr (p, '\0', eol - p) != NULL)
        return fail_at (scan, error, line + 1, MB_KEYFILE_SCAN_ERROR_SYNTAX,
                        "contains a NUL byte");
      text = g_strndup (p, eol - p);
      p = newline != NULL ? newline + 1 : end;
      if (!g_utf8_validate (text, -1, NULL))
        return fail_at (scan, error, line + 1, MB_KEYFILE_SCAN_ERROR_SYNTAX,
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
          if (!add_group (scan, group, line + 1, &group_def, error))
            return FALSE;
          continue;
        }

      eq = strchr (text, '=');
      if (eq == NULL || eq == text || text[0] == '[')
        {
          g_autofree char *shown = mb_config_syntax_escape (text);

          return fail_at (scan, error, line + 1, MB_KEYFILE_SCAN_ERROR_SYNTAX,
                          "“%s” is not a [group], a key=value line or a "
                          "# comment",
                          shown);
        }
      *eq = '\0';
      g_strchomp (text);
      if (group == NULL)
        {
          g_autofree char *groups = format_groups (scan->schema);
          g_autofree char *shown = mb_config_syntax_escape (text);

          return fail_at (scan, error, line + 1, MB_KEYFILE_SCAN_ERROR_SYNTAX,
                          "“%s” comes before any group; put it under %s", shown,
                          groups);
        }
      if (!add_entry (scan, group, group_def, text, line + 1, error))
        return FALSE;
    }
  return TRUE;
}

/* Public API */

MbKeyfileScan *
mb_keyfile_scan_new (const char              *data,
                     gsize                    len,
                     const char              *origin,
                     const MbKeyfileGroupDef *schema,
                     GError                 **error)
{
  g_autoptr (MbKeyfileScan) scan = NULL;
  g_autoptr (GError) local_error = NULL;

  g_return_val_if_fail (data != NULL || len == 0, NULL);
  g_return_val_if_fail (origin != NULL, NULL);
  g_return_val_if_fail (schema != NULL && schema->name != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  scan = g_new0 (MbKeyfileScan, 1);
  scan->origin = g_strdup (origin);
  scan->schema = schema;
  scan->keyfile = g_key_file_new ();
  scan->entries = g_ptr_array_new_with_free_func ((GDestroyNotify)entry_free);
  scan->entry_index
      = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  scan->groups = g_ptr_array_new_with_free_func (g_free);
  scan->group_lines
      = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);

  /* Structure first: a misspelt key is reported as such, never as some
   * consequence of what GKeyFile made of it. */
  if (!scan_text (scan, data != NULL ? data : "", len, error))
    return NULL;
  if (!g_key_file_load_from_data (scan->keyfile, data != NULL ? data : "", len,
                                  G_KEY_FILE_NONE, &local_error))
    {
      fail_at (scan, error, 0, MB_KEYFILE_SCAN_ERROR_SYNTAX, "%s",
               local_error->message);
      return NULL;
    }
  return g_steal_pointer (&scan);
}

void
mb_keyfile_scan_free (MbKeyfileScan *scan)
{
  if (scan == NULL)
    return;
  g_free (scan->origin);
  g_clear_pointer (&scan->keyfile, g_key_file_unref);
  g_clear_pointer (&scan->entry_index, g_hash_table_unref);
  g_clear_pointer (&scan->entries, g_ptr_array_unref);
  g_clear_pointer (&scan->group_lines, g_hash_table_unref);
  g_clear_pointer (&scan->groups, g_ptr_array_unref);
  g_free (scan);
}

const char *
mb_keyfile_scan_get_origin (const MbKeyfileScan *scan)
{
  g_return_val_if_fail (scan != NULL, NULL);
  return scan->origin;
}

GKeyFile *
mb_keyfile_scan_get_keyfile (const MbKeyfileScan *scan)
{
  g_return_val_if_fail (scan != NULL, NULL);
  return scan->keyfile;
}

GPtrArray *
mb_keyfile_scan_get_entries (const MbKeyfileScan *scan)
{
  g_return_val_if_fail (scan != NULL, NULL);
  return scan->entries;
}

GPtrArray *
mb_keyfile_scan_get_groups (const MbKeyfileScan *scan)
{
  g_return_val_if_fail (scan != NULL, NULL);
  return scan->groups;
}

const MbKeyfileEntry *
mb_keyfile_scan_lookup (const MbKeyfileScan *scan,
                        const char          *group,
                        const char          *key)
{
  g_autofree char *id = NULL;

  g_return_val_if_fail (scan != NULL, NULL);
  g_return_val_if_fail (group != NULL && key != NULL, NULL);

  id = g_strconcat (group, "\n", key, NULL);
  return g_hash_table_lookup (scan->entry_index, id);
}

guint
mb_keyfile_scan_get_line (const MbKeyfileScan *scan,
                          const char          *group,
                          const char          *key)
{
  const MbKeyfileEntry *entry = mb_keyfile_scan_lookup (scan, group, key);

  if (entry != NULL)
    return entry->line;
  return GPOINTER_TO_UINT (g_hash_table_lookup (scan->group_lines, group));
}

char *
mb_keyfile_scan_get_raw (const MbKeyfileScan *scan,
                         const char          *group,
                         const char          *key)
{
  g_autofree char *raw = NULL;

  g_return_val_if_fail (scan != NULL, NULL);

  raw = g_key_file_get_value (scan->keyfile, group, key, NULL);
  return mb_config_syntax_escape (raw != NULL ? g_strstrip (raw) : "");
}

static gboolean
fail_unreadable (const MbKeyfileScan  *scan,
                 const MbKeyfileEntry *entry,
                 GError              **error)
{
  g_autofree char *shown
      = mb_keyfile_scan_get_raw (scan, entry->group, entry->key);

  mb_keyfile_scan_set_error (
      scan, error, MB_KEYFILE_SCAN_ERROR, MB_KEYFILE_SCAN_ERROR_INVALID_VALUE,
      entry->group, entry->key, entry->line,
      "“%s” has an escape other than \\s \\n \\t \\r \\\\ or (in lists) \\;",
      shown);
  return FALSE;
}

/* GKeyFile reports a bad escape but still returns a value: the error
 * decides. */
gboolean
mb_keyfile_scan_get_string (const MbKeyfileScan  *scan,
                            const MbKeyfileEntry *entry,
                            char                **value,
                            GError              **error)
{
  g_autoptr (GError) local_error = NULL;
  g_autofree char *text = NULL;

  g_return_val_if_fail (scan != NULL && entry != NULL, FALSE);
  g_return_val_if_fail (value != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  text = g_key_file_get_string (scan->keyfile, entry->group, entry->key,
                                &local_error);
  if (local_error != NULL || text == NULL)
    return fail_unreadable (scan, entry, error);
  *value = g_strstrip (g_steal_pointer (&text));
  return TRUE;
}

gboolean
mb_keyfile_scan_get_list (const MbKeyfileScan  *scan,
                          const MbKeyfileEntry *entry,
                          GStrv                *items,
                          GError              **error)
{
  g_autoptr (GError) local_error = NULL;
  g_auto (GStrv) raw = NULL;
  g_autoptr (GStrvBuilder) builder = NULL;

  g_return_val_if_fail (scan != NULL && entry != NULL, FALSE);
  g_return_val_if_fail (items != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  raw = g_key_file_get_string_list (scan->keyfile, entry->group, entry->key,
                                    NULL, &local_error);
  if (local_error != NULL || raw == NULL)
    return fail_unreadable (scan, entry, error);
  builder = g_strv_builder_new ();
  for (gsize i = 0; raw[i] != NULL; i++)
    if (*g_strstrip (raw[i]) != '\0')
      g_strv_builder_add (builder, raw[i]);
  *items = g_strv_builder_end (builder);
  return TRUE;
}

void
mb_keyfile_scan_set_error (const MbKeyfileScan *scan,
                           GError             **error,
                           GQuark               domain,
                           gint                 code,
                           const char          *group,
                           const char          *key,
                           guint                line,
                           const char          *format,
                           ...)
{
  va_list          args;
  g_autofree char *detail = NULL;
  g_autofree char *where = NULL;

  g_return_if_fail (scan != NULL && group != NULL && format != NULL);

  va_start (args, format);
  detail = g_strdup_vprintf (format, args);
  va_end (args);
  where = line > 0 ? g_strdup_printf ("%s:%u", scan->origin, line)
                   : g_strdup (scan->origin);
  g_set_error (error, domain, code, "%s: [%s]%s%s: %s", where, group,
               key != NULL ? " " : "", key != NULL ? key : "", detail);
}
