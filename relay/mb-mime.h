/* mb-mime.h - small message helpers shared by the modules that use GMime
 *
 * GMime is initialised once per process, whichever module needs it first,
 * and the end of a header section is found the same way everywhere.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* g_mime_init() once per process; safe from any thread. */
void mb_mime_ensure_init (void);

/* The offset just past the empty line that ends the header section of the
 * CRLF text @data, searching from @from on; 2 when @data starts with the
 * empty line (no fields); 0 when there is none (yet). */
gsize mb_mime_find_header_end (const guint8 *data, gsize len, gsize from);

G_END_DECLS
