/* mb-config-key.h - key tables: configuration keys bound to struct fields
 *
 * A group's keys are described by a table of MbConfigKey: each names its
 * parser, the struct member it fills (by offset and size) and its bounds,
 * choices or check.  mb_config_key_apply() reads a key's text from an
 * MbKeyfileScan and parses it into the struct, so the relay's
 * configuration (and the secrets file) are declared, not hand-parsed.
 */
#pragma once

#include <gio/gio.h>

#include "mb-keyfile-scan.h"

G_BEGIN_DECLS

typedef struct _MbConfigKey MbConfigKey;

/* Parses @value into the field of @base that @key describes.  A refusal's
 * message is the detail only ("“value” is not ..."): apply() puts the
 * location in front.  @base_dir: where relative paths start. */
typedef gboolean (*MbConfigKeyParseFunc) (const MbConfigKey *key,
                                          const char        *value,
                                          gpointer           base,
                                          const char        *base_dir,
                                          GError           **error);
/* The same for a list: its items, stripped, none empty. */
typedef gboolean (*MbConfigKeyParseListFunc) (const MbConfigKey *key,
                                              const char *const *items,
                                              gpointer           base,
                                              GError           **error);
/* (nullable) The value to store for @text (perhaps normalised), or NULL if
 * @text is not allowed; the normalisers of mb-config-syntax fit. */
typedef char *(*MbConfigKeyCheckFunc) (const char *text);

/**
 * MbConfigKey:
 * @name: the key; NULL ends a table.
 * @parse: for a single value; or @parse_list for a ';' list.
 * @offset: offsetof() the member in the struct given as base.
 * @size: sizeof() the member (numbers are stored by it: guint16, guint or
 *   guint64).
 * @min: @max: bounds of numbers, sizes and durations.
 * @choices: (array zero-terminated=1): enum names in enum order.
 * @check: @hint: for text: the check, and what follows “value” when it
 *   fails.
 */
struct _MbConfigKey
{
  const char              *name;
  MbConfigKeyParseFunc     parse;
  MbConfigKeyParseListFunc parse_list;
  gsize                    offset;
  gsize                    size;
  gint64                   min;
  gint64                   max;
  const char *const       *choices;
  MbConfigKeyCheckFunc     check;
  const char              *hint;
};

/* The member of @base that @key describes, as a @type pointer. */
#define MB_CONFIG_KEY_FIELD(type, key, base)                                   \
  ((type *)((char *)(base) + (key)->offset))

/* Parsers for @parse: text (@check, @hint), a path made absolute against
 * base_dir, a number, a size or a duration within @min..@max, an enum
 * (stored as its index) or a choice (stored as a string) of @choices. */
gboolean mb_config_key_parse_text (const MbConfigKey *key,
                                   const char        *value,
                                   gpointer           base,
                                   const char        *base_dir,
                                   GError           **error);
gboolean mb_config_key_parse_path (const MbConfigKey *key,
                                   const char        *value,
                                   gpointer           base,
                                   const char        *base_dir,
                                   GError           **error);
gboolean mb_config_key_parse_number (const MbConfigKey *key,
                                     const char        *value,
                                     gpointer           base,
                                     const char        *base_dir,
                                     GError           **error);
gboolean mb_config_key_parse_size (const MbConfigKey *key,
                                   const char        *value,
                                   gpointer           base,
                                   const char        *base_dir,
                                   GError           **error);
gboolean mb_config_key_parse_duration (const MbConfigKey *key,
                                       const char        *value,
                                       gpointer           base,
                                       const char        *base_dir,
                                       GError           **error);
gboolean mb_config_key_parse_enum (const MbConfigKey *key,
                                   const char        *value,
                                   gpointer           base,
                                   const char        *base_dir,
                                   GError           **error);
gboolean mb_config_key_parse_choice (const MbConfigKey *key,
                                     const char        *value,
                                     gpointer           base,
                                     const char        *base_dir,
                                     GError           **error);

/* Parsers for @parse_list: listen addresses (each once, at least one) into
 * a GPtrArray of GInetSocketAddress; allow ranges (maybe none) into a
 * GPtrArray of GInetAddressMask; durations within @min..@max (at least
 * one) into a GArray of gint64; addresses passing @check (each once,
 * without case) into a GStrv, NULL when none. */
gboolean mb_config_key_parse_listen (const MbConfigKey *key,
                                     const char *const *items,
                                     gpointer           base,
                                     GError           **error);
gboolean mb_config_key_parse_allow (const MbConfigKey *key,
                                    const char *const *items,
                                    gpointer           base,
                                    GError           **error);
gboolean mb_config_key_parse_durations (const MbConfigKey *key,
                                        const char *const *items,
                                        gpointer           base,
                                        GError           **error);
gboolean mb_config_key_parse_mailboxes (const MbConfigKey *key,
                                        const char *const *items,
                                        gpointer           base,
                                        GError           **error);

/* (transfer full) The names of a table, for MbKeyfileGroupDef.keys. */
GStrv mb_config_key_collect_names (const MbConfigKey *keys);

/* Reads @entry's value from @scan and parses it into @base with @key.  A
 * refusal is MB_KEYFILE_SCAN_ERROR_INVALID_VALUE, "ORIGIN:LINE: [GROUP]
 * KEY: detail". */
gboolean mb_config_key_apply (const MbConfigKey    *key,
                              const MbKeyfileScan  *scan,
                              const MbKeyfileEntry *entry,
                              gpointer              base,
                              const char           *base_dir,
                              GError              **error);

G_END_DECLS
