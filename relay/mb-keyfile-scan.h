/* mb-keyfile-scan.h - a key file read with line numbers and known keys
 *
 * GKeyFile keeps no line numbers and quietly accepts what a typo makes of
 * a file (an unknown key, a key set twice, key[de]=).  MbKeyfileScan reads
 * the text once more with GKeyFile's own line rules, checks each group and
 * key against a schema, and remembers where each one is, so that every
 * message can say "FILE:LINE: [group] key: ...".  The relay's
 * configuration and the secrets file are read through it.
 */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

#define MB_KEYFILE_SCAN_ERROR (mb_keyfile_scan_error_quark ())
GQuark mb_keyfile_scan_error_quark (void);

typedef enum
{
  MB_KEYFILE_SCAN_ERROR_SYNTAX,        /* not a key file line, a NUL byte, not
                                        * UTF-8, a key set twice */
  MB_KEYFILE_SCAN_ERROR_UNKNOWN_GROUP, /* a group the schema does not have */
  MB_KEYFILE_SCAN_ERROR_UNKNOWN_KEY,   /* a key its group does not have, or a
                                        * localized key (key[de]=) */
  MB_KEYFILE_SCAN_ERROR_INVALID_NAME,  /* [route NAME] with a bad NAME */
  MB_KEYFILE_SCAN_ERROR_INVALID_VALUE, /* a value GKeyFile cannot read (an
                                        * unknown escape), or one its key
                                        * refuses (mb_config_key_apply()) */
} MbKeyfileScanError;

/**
 * MbKeyfileGroupDef:
 * @name: the group, "relay"; for a named group the word before NAME,
 *   "route" for [route NAME].
 * @named: whether the group is [@name NAME], with NAME as in
 *   mb_config_syntax_is_name(); any number of them may appear.
 * @example: (nullable): a NAME for messages, e.g. "office365".
 * @keys: (array zero-terminated=1): the keys the group may hold.
 * @user_data: (nullable): for the caller (a table parallel to @keys).
 *
 * One kind of group of a schema: an array of these ending with a zeroed
 * one (@name NULL).  The schema must outlive the scan.
 */
typedef struct
{
  const char        *name;
  gboolean           named;
  const char        *example;
  const char *const *keys;
  gconstpointer      user_data;
} MbKeyfileGroupDef;

/* One key=value line. */
typedef struct
{
  char                    *group; /* (owned) as written: "route office365" */
  char                    *key;   /* (owned) */
  guint                    line;  /* 1-based */
  const MbKeyfileGroupDef *group_def; /* (unowned) */
  guint                    key_index; /* in group_def->keys */
} MbKeyfileEntry;

typedef struct _MbKeyfileScan MbKeyfileScan;

/**
 * mb_keyfile_scan_new:
 * @data: the text, @len bytes, not necessarily NUL-terminated.
 * @origin: names the text in messages (a file name).
 * @schema: the groups and keys allowed.
 *
 * Scans @data and loads it into a GKeyFile.  The first problem in file
 * order is the error, "ORIGIN:LINE: ...": a line that is not a [group], a
 * key=value or a # comment, a key before any group, a NUL byte, a line
 * that is not UTF-8, an unknown group or key (with a "did you mean" for a
 * close one), a bad NAME, a key set twice (also across repeated groups,
 * which GKeyFile merges).  Values are not looked at.
 *
 * Returns: (transfer full) (nullable): the scan.
 */
MbKeyfileScan *mb_keyfile_scan_new (const char              *data,
                                    gsize                    len,
                                    const char              *origin,
                                    const MbKeyfileGroupDef *schema,
                                    GError                 **error);
void           mb_keyfile_scan_free (MbKeyfileScan *scan);

const char *mb_keyfile_scan_get_origin (const MbKeyfileScan *scan);
/* (transfer none) The values. */
GKeyFile *mb_keyfile_scan_get_keyfile (const MbKeyfileScan *scan);
/* (transfer none) (element-type MbKeyfileEntry) Every key, in file
 * order. */
GPtrArray *mb_keyfile_scan_get_entries (const MbKeyfileScan *scan);
/* (transfer none) (element-type utf8) Every group once, in file order. */
GPtrArray *mb_keyfile_scan_get_groups (const MbKeyfileScan *scan);

/* (nullable) The entry of @key in @group. */
const MbKeyfileEntry *mb_keyfile_scan_lookup (const MbKeyfileScan *scan,
                                              const char          *group,
                                              const char          *key);
/* The line of @key, or of its group's header when it is not set (0 when
 * neither is in the file). */
guint mb_keyfile_scan_get_line (const MbKeyfileScan *scan,
                                const char          *group,
                                const char          *key);

/* The value as written, stripped and escaped for messages; "" when
 * unset. */
char *mb_keyfile_scan_get_raw (const MbKeyfileScan *scan,
                               const char          *group,
                               const char          *key);
/* The value of @entry, unescaped and stripped; INVALID_VALUE with its line
 * on an escape GKeyFile does not know. */
gboolean mb_keyfile_scan_get_string (const MbKeyfileScan  *scan,
                                     const MbKeyfileEntry *entry,
                                     char                **value,
                                     GError              **error);
/* The ';'-separated items of @entry, stripped, empty ones left out
 * (GKeyFile writes lists with a trailing ';', and "a; b" means "a;b"). */
gboolean mb_keyfile_scan_get_list (const MbKeyfileScan  *scan,
                                   const MbKeyfileEntry *entry,
                                   GStrv                *items,
                                   GError              **error);

/* Sets @error to "ORIGIN:LINE: [GROUP] KEY: DETAIL" ("ORIGIN: ..." when
 * @line is 0; no " KEY" when @key is NULL), in the caller's domain. */
G_GNUC_PRINTF (8, 9)
void mb_keyfile_scan_set_error (const MbKeyfileScan *scan,
                                GError             **error,
                                GQuark               domain,
                                gint                 code,
                                const char          *group,
                                const char          *key,
                                guint                line,
                                const char          *format,
                                ...);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (MbKeyfileScan, mb_keyfile_scan_free)

G_END_DECLS
