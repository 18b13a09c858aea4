/* mb-wizard.h - the setup assistant
 *
 * A window that walks the admin through connecting the relay to
 * Microsoft 365, after gnome-initial-setup's assistant: a header bar with
 * Cancel / Back / Next (Apply on the last page), a GtkStack of
 * MbWizardPage, and an infobar for a page's error.  Pages:
 *   method     (mb-page-method)     SMTP AUTH (recommended), Direct Send,
 *                                   or a connector; what each needs;
 *   submission (mb-page-submission) mailbox, sign-in kind, tenant, app;
 *     or mx    (mb-page-mx)         domain, MX host from DNS, connector
 *                                   identity, the PowerShell and SPF;
 *   network    (mb-page-network)    devices on the LAN, allow list, the
 *                                   admin address;
 *   summary    (mb-page-summary)    what will be written; Apply writes the
 *                                   file, has the relay check and reload
 *                                   it, then offers the sign-in (the
 *                                   submission page stores a password
 *                                   itself when it is left).
 * Next runs the page's save and apply; the buttons follow the page's
 * "complete" and "applying".  It starts from the relay's current
 * configuration (MbSetupPlan from it) so it can be run again.
 */
#pragma once

#include <gtk/gtk.h>

#include "mb-relay-client.h"
#include "mb-setup-plan.h"

G_BEGIN_DECLS

#define MB_TYPE_WIZARD (mb_wizard_get_type ())
G_DECLARE_FINAL_TYPE (MbWizard, mb_wizard, MB, WIZARD, GtkWindow)

MbWizard *mb_wizard_new (GtkWindow *parent, MbRelayClient *client);

/* The plan the pages edit (NULL until the configuration was read); in an
 * "applied" handler, what was written. */
const MbSetupPlan *mb_wizard_get_plan (MbWizard *self);
/* The configuration file the assistant reads and writes: the relay's, or
 * $XDG_CONFIG_HOME/mailbridge/mailbridge.conf when the relay names none. */
const char *mb_wizard_get_config_path (MbWizard *self);

/* Signal "applied" (const char *route): the configuration was written
 * and the relay reloaded it; the route may need a sign-in next. */

G_END_DECLS
