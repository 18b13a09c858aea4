/* mb-signin-outcome.h - the words for how a sign-in from the app ended
 *
 * The sign-in dialog (mb-signin-dialog.h) ends every pass on one page: a
 * title, a line under it, what happened and what to do.  This module
 * chooses those words from how the pass ended: the relay's configuration
 * could not be read; MbSigninFlow failed (MB_SIGNIN_FLOW_ERROR,
 * MB_OAUTH_ERROR); the relay did not take the new sign-in up
 * (ReloadCredentials failed: MB_RELAY_CLIENT_ERROR or a D-Bus error); or
 * the route's state after ReloadCredentials.  "What happened" is always
 * in the words of whoever said it (Entra, the relay, the file system):
 * the GError's message, or the relay's state keyword and reason.
 *
 * Plain data, no widgets and no I/O: the dialog shows it.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct
{
  gboolean ready;   /* the route is signed in and ready */
  char    *title;   /* (owned) */
  char    *detail;  /* (owned) (nullable) a line under the title */
  char    *message; /* (owned) (nullable) what happened */
  char    *advice;  /* (owned) (nullable) what to do next */
} MbSigninOutcome;

MbSigninOutcome *mb_signin_outcome_new (gboolean    ready,
                                        const char *title,
                                        const char *detail,
                                        const char *message,
                                        const char *advice);
void             mb_signin_outcome_free (MbSigninOutcome *outcome);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (MbSigninOutcome, mb_signin_outcome_free)

/* The relay's configuration file could not be loaded or parsed: it does
 * not exist yet (G_IO_ERROR_NOT_FOUND), or it cannot be read. */
MbSigninOutcome *mb_signin_outcome_new_for_config_error (const GError *error);

/* MbSigninFlow could not be made or failed: the title and advice follow
 * the MB_SIGNIN_FLOW_ERROR or MB_OAUTH_ERROR code; anything else gets
 * general words.  (MB_SIGNIN_FLOW_ERROR_NEEDS_SECRET is not an outcome:
 * the dialog asks for the secret.) */
MbSigninOutcome *mb_signin_outcome_new_for_flow_error (const GError *error);

/* The sign-in is stored but ReloadCredentials failed, whatever the code:
 * the relay is not running or not reachable, or refused; its message
 * says which. */
MbSigninOutcome *mb_signin_outcome_new_for_reload_error (const GError *error);

/* The relay took the sign-in up and reports @route in @state (its keyword,
 * "ready" when it is) for @reason (nullable, English).  @hint (nullable)
 * is the route's reply hint in the admin's language: what to do when the
 * route is not ready. */
MbSigninOutcome *mb_signin_outcome_new_for_route_state (const char *route,
                                                        const char *state,
                                                        const char *reason,
                                                        const char *hint);

G_END_DECLS
