/* mb-reply-hints-private.h - shared by mb-reply-hints.c (matching a reply
 * to an entry) and mb-reply-hints-table.c (the entries themselves)
 *
 * The entry type is MbReplyHint from mb-reply-hints.h.  Only these two
 * files include this; everyone else reads the table through
 * mb_reply_hints_get_table().
 */
#pragma once

#include "mb-reply-hints.h"

G_BEGIN_DECLS

/* Every entry, in match order (table order breaks the last tie);
 * constant data that lives as long as the program.  Summaries and fixes
 * are the English msgids. */
extern const MbReplyHint mb_reply_hints_table[];

/* The number of entries in mb_reply_hints_table. */
extern const gsize mb_reply_hints_table_length;

G_END_DECLS
