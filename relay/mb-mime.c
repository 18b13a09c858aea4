/* mb-mime.c - small message helpers shared by the modules that use GMime
 *
 * Contract: mb_mime_ensure_init() calls g_mime_init() exactly once per
 * process, however many threads race to it (GMime's own init is not meant
 * to be called concurrently).  mb_mime_find_header_end() is pure and only
 * understands CRLF line ends, which is what the spool holds (RFC 5322 2.1).
 */
#define G_LOG_DOMAIN "mb-mime"

#include "mb-mime.h"

#include <gmime/gmime.h>

void
mb_mime_ensure_init (void)
{
  static gsize initialized = 0;

  if (g_once_init_enter (&initialized))
    {
      g_mime_init ();
      g_once_init_leave (&initialized, 1);
    }
}

gsize
mb_mime_find_header_end (const guint8 *data, gsize len, gsize from)
{
  if (len >= 2 && data[0] == '\r' && data[1] == '\n')
    return 2;
  for (gsize i = from; i + 2 < len; i++)
    if (data[i] == '\n' && data[i + 1] == '\r' && data[i + 2] == '\n')
      return i + 3;
  return 0;
}
