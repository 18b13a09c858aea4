/* mb-signin-outcome.c - the words for how a sign-in from the app ended
 *
 * Titles and advice by error code; the message is always the speaker's
 * own (the GError's, or the relay's state and reason), never reworded.
 */
#define G_LOG_DOMAIN "mb-signin-outcome"

#include "mb-signin-outcome.h"

#include <gio/gio.h>
#include <glib/gi18n.h>

#include "mb-oauth.h"
#include "mb-signin-flow.h"

/* Helpers */

/* What the admin can do about a failed sign-in, by error. */
static const char *
describe_flow_error (const GError *error, const char **advice)
{
  if (error->domain == MB_SIGNIN_FLOW_ERROR)
    switch ((MbSigninFlowError)error->code)
      {
      case MB_SIGNIN_FLOW_ERROR_NOT_APPLICABLE:
        *advice = _ ("Only routes that sign in with Microsoft 365 (device "
                     "code, browser or app sign-in) sign in here. Check "
                     "the route in the setup assistant.");
        return _ ("This route does not sign in to Microsoft 365");
      case MB_SIGNIN_FLOW_ERROR_NO_REFRESH_TOKEN:
        *advice = _ ("Grant the app registration the offline_access "
                     "permission in the Microsoft Entra admin center, then "
                     "try again.");
        return _ ("Microsoft 365 did not allow a lasting sign-in");
      case MB_SIGNIN_FLOW_ERROR_STORE_FAILED:
        *advice = _ ("Unlock the keyring, or make the relay’s secrets file "
                     "writable, then try again.");
        return _ ("The sign-in worked, but it could not be saved");
      case MB_SIGNIN_FLOW_ERROR_NEEDS_SECRET:
        break;
      }
  if (error->domain == MB_OAUTH_ERROR)
    switch ((MbOAuthError)error->code)
      {
      case MB_OAUTH_ERROR_DECLINED:
        *advice = _ ("Try again, and accept the request with the mailbox’s "
                     "account.");
        return _ ("The sign-in was declined");
      case MB_OAUTH_ERROR_EXPIRED:
        *advice = _ ("Try again, and finish signing in before the time "
                     "runs out.");
        return _ ("The sign-in took too long");
      case MB_OAUTH_ERROR_BAD_CODE:
      case MB_OAUTH_ERROR_NEEDS_SIGNIN:
        *advice = _ ("Try again with a new code.");
        return _ ("Microsoft 365 did not accept the sign-in");
      case MB_OAUTH_ERROR_INVALID_CLIENT:
        *advice = _ ("Check the route’s client ID and tenant, and the app "
                     "registration in the Microsoft Entra admin center, "
                     "then try again.");
        return _ ("The app registration refused the sign-in");
      case MB_OAUTH_ERROR_BLOCKED:
        *advice = _ ("Ask the Microsoft 365 administrator about the "
                     "policy named above, then try again.");
        return _ ("A policy of your organization blocked the sign-in");
      case MB_OAUTH_ERROR_NETWORK:
        *advice = _ ("Check this computer’s internet connection, then try "
                     "again.");
        return _ ("Microsoft 365 cannot be reached");
      case MB_OAUTH_ERROR_TLS_UNTRUSTED:
      case MB_OAUTH_ERROR_TLS_FAILED:
        *advice = _ ("Check this computer’s date and time, and any proxy "
                     "that intercepts secure connections. Mailbridge signs "
                     "in over verified connections only.");
        return _ ("The connection to Microsoft 365 is not trusted");
      case MB_OAUTH_ERROR_CONFIG:
        *advice = _ ("Check the route’s sign-in settings in the setup "
                     "assistant, then try again.");
        return _ ("The route’s sign-in settings are incomplete");
      case MB_OAUTH_ERROR_PROTOCOL:
        break;
      }
  *advice = _ ("Try again later. If it keeps failing, run “mailbridgectl "
               "signin” in a terminal for details.");
  return _ ("The sign-in failed");
}

/* Public API */

MbSigninOutcome *
mb_signin_outcome_new (gboolean    ready,
                       const char *title,
                       const char *detail,
                       const char *message,
                       const char *advice)
{
  MbSigninOutcome *outcome;

  g_return_val_if_fail (title != NULL, NULL);

  outcome = g_new0 (MbSigninOutcome, 1);
  outcome->ready = ready;
  outcome->title = g_strdup (title);
  outcome->detail = g_strdup (detail);
  outcome->message = g_strdup (message);
  outcome->advice = g_strdup (advice);
  return outcome;
}

void
mb_signin_outcome_free (MbSigninOutcome *outcome)
{
  if (outcome == NULL)
    return;
  g_free (outcome->title);
  g_free (outcome->detail);
  g_free (outcome->message);
  g_free (outcome->advice);
  g_free (outcome);
}

MbSigninOutcome *
mb_signin_outcome_new_for_config_error (const GError *error)
{
  g_return_val_if_fail (error != NULL, NULL);

  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND))
    return mb_signin_outcome_new (
        FALSE, _ ("The relay has no configuration file yet"), NULL,
        error->message,
        _ ("The relay runs on its built-in defaults, which have no "
           "route to Microsoft 365. Run the setup assistant."));
  return mb_signin_outcome_new (
      FALSE, _ ("The relay’s configuration cannot be read"), NULL,
      error->message, _ ("Check the file or run the setup assistant."));
}

MbSigninOutcome *
mb_signin_outcome_new_for_flow_error (const GError *error)
{
  const char *advice = NULL;
  const char *title;

  g_return_val_if_fail (error != NULL, NULL);

  title = describe_flow_error (error, &advice);
  return mb_signin_outcome_new (FALSE, title, NULL, error->message, advice);
}

MbSigninOutcome *
mb_signin_outcome_new_for_reload_error (const GError *error)
{
  g_return_val_if_fail (error != NULL, NULL);

  return mb_signin_outcome_new (
      FALSE,
      _ ("The sign-in is saved, but the relay did not "
         "take it up"),
      NULL, error->message,
      _ ("Make sure the relay runs (see the Status page), "
         "then try again. A relay that starts later reads "
         "the new sign-in by itself."));
}

MbSigninOutcome *
mb_signin_outcome_new_for_route_state (const char *route,
                                       const char *state,
                                       const char *reason,
                                       const char *hint)
{
  g_autofree char *title = NULL;
  g_autofree char *message = NULL;

  g_return_val_if_fail (route != NULL, NULL);

  if (g_strcmp0 (state, "ready") == 0)
    {
      /* Translators: %s is the name of a route, e.g. "m365" */
      title = g_strdup_printf (_ ("Route “%s” is signed in and ready."), route);
      return mb_signin_outcome_new (
          TRUE, title, _ ("Mail waiting for the sign-in goes out now."), NULL,
          NULL);
    }
  /* Translators: %s is the name of a route, e.g. "m365" */
  title = g_strdup_printf (_ ("Route “%s” is signed in, but not ready"), route);
  /* The relay's words: its state keyword and its reason (English); the
   * reply hint, when the relay has one, says what to do. */
  message = reason != NULL && *reason != '\0'
                ? g_strdup_printf ("%s: %s", state, reason)
                : g_strdup (state);
  return mb_signin_outcome_new (
      FALSE, title, NULL, message,
      hint != NULL ? hint
                   : _ ("The sign-in is saved. Fix what the relay reports "
                        "above (the Status page explains it too), then try "
                        "again."));
}
