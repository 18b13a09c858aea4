#pragma once

#include <glib.h>

#include "mb-relay-client.h"

G_BEGIN_DECLS

/* Plain-language text for the relay's values, translated. */

/* "just now", "5 minutes", "3 hours", "2 days" for an age in seconds. */
char *mb_format_age (gint64 seconds);
/* "SMTP AUTH submission", "Direct Send", ...; the word itself if unknown. */
const char *mb_format_method (const char *method);
const char *mb_format_route_state (MbRouteState state);
/* The explanation and fix of a reply-hints keyword in the admin's
 * language, else @fallback (the relay's own text), else NULL. */
char *mb_format_hint (const char *keyword, const char *fallback);
/* "a, b, c" */
char *mb_format_list (const char *const *items);

G_END_DECLS
