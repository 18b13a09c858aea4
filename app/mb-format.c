/* mb-format.c - plain-language text for the relay's values */
#define G_LOG_DOMAIN "mb-format"

#include "mb-format.h"

#include <glib/gi18n.h>

#include "mb-reply-hints.h"

char *
mb_format_age (gint64 seconds)
{
  gint64 n;

  if (seconds < 60)
    return g_strdup (_ ("less than a minute"));
  if (seconds < 3600)
    {
      n = seconds / 60;
      return g_strdup_printf (ngettext ("%d minute", "%d minutes", n), (int)n);
    }
  if (seconds < 2 * 86400)
    {
      n = seconds / 3600;
      return g_strdup_printf (ngettext ("%d hour", "%d hours", n), (int)n);
    }
  n = seconds / 86400;
  return g_strdup_printf (ngettext ("%d day", "%d days", n), (int)n);
}

const char *
mb_format_method (const char *method)
{
  if (g_strcmp0 (method, "submission") == 0)
    return _ ("SMTP AUTH submission");
  if (g_strcmp0 (method, "direct-send") == 0)
    return _ ("Direct Send");
  if (g_strcmp0 (method, "connector") == 0)
    return _ ("SMTP relay through a connector");
  if (g_strcmp0 (method, "hve") == 0)
    return _ ("High Volume Email");
  return method;
}

const char *
mb_format_route_state (MbRouteState state)
{
  switch (state)
    {
    case MB_ROUTE_STATE_PAUSED:
      return _ ("Paused");
    case MB_ROUTE_STATE_NEEDS_SIGNIN:
      return _ ("Sign-in needed");
    case MB_ROUTE_STATE_FAILING:
      return _ ("Failing");
    case MB_ROUTE_STATE_READY:
    default:
      return _ ("Ready");
    }
}

char *
mb_format_hint (const char *keyword, const char *fallback)
{
  const MbReplyHint *hint = NULL;

  if (keyword != NULL && *keyword != '\0')
    hint = mb_reply_hints_lookup_keyword (keyword);
  if (hint != NULL)
    return g_strdup_printf ("%s %s", mb_reply_hint_get_summary (hint),
                            mb_reply_hint_get_fix (hint));
  if (fallback != NULL && *fallback != '\0')
    return g_strdup (fallback);
  return NULL;
}

char *
mb_format_list (const char *const *items)
{
  /* Translators: the separator of a list such as "127.0.0.1:2525, [::1]:2525"
   */
  return g_strjoinv (_ (", "), (char **)items);
}
