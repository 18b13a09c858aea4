/* mb-setup-plan-private.h - shared by mb-setup-plan.c (the plan, its
 * checks, writing), mb-setup-plan-render.c (the file's text) and
 * mb-setup-plan-texts.c (the texts for Microsoft 365) */
#pragma once

#include "mb-setup-plan.h"

G_BEGIN_DECLS

/* Whether @text (nullable) is set and not empty. */
gboolean mb_setup_plan_has_text (const char *text);

/* Whether @method signs in to a mailbox (submission and HVE). */
gboolean mb_setup_plan_signs_in (MbRouteMethod method);

/* Whether @auth signs in with OAuth (device, browser or app). */
gboolean mb_setup_plan_is_oauth (MbRouteAuth auth);

/* The plan's LAN listener, else MB_SETUP_PLAN_DEFAULT_LAN_LISTEN. */
const char *mb_setup_plan_get_lan_listen (const MbSetupPlan *plan);

/* mb_setup_plan_render() for the file at @origin (names it in errors). */
char *mb_setup_plan_render_with_origin (const MbSetupPlan *plan,
                                        const char        *existing,
                                        const char        *origin,
                                        GError           **error);

G_END_DECLS
