/* mb-wizard-page.h - one page of the setup assistant
 *
 * The abstract base of the assistant's pages, after gnome-initial-setup's
 * GisPage: a page shows part of the MbSetupPlan the assistant (MbWizard)
 * owns and edits it.  Its "complete" property says whether Next may be
 * pressed (the page validates its fields as the admin types, debounced,
 * with the hint beside the field); "applying" is TRUE while its apply
 * runs (the assistant shows a spinner and disables the buttons).
 *
 * The assistant calls, in this order, for the page being left by Next:
 *   save (plan)       copy the fields into the plan (synchronous, cheap);
 *   apply_async       optional: slow work before the next page (a DNS
 *                     lookup, writing the file); the default completes at
 *                     once with TRUE.  FALSE with an error keeps the page
 *                     (the assistant shows the error in the page's
 *                     infobar); cancellable (Back or Cancel cancels it).
 * and "shown" each time a page becomes visible (load from the plan, focus
 * the first field).
 */
#pragma once

#include <gtk/gtk.h>

#include "mb-relay-client.h"
#include "mb-setup-plan.h"

G_BEGIN_DECLS

#define MB_TYPE_WIZARD_PAGE (mb_wizard_page_get_type ())
G_DECLARE_DERIVABLE_TYPE (MbWizardPage, mb_wizard_page, MB, WIZARD_PAGE, GtkBin)

struct _MbWizardPageClass
{
  GtkBinClass parent_class;

  /* Called each time the page becomes the visible one. */
  void (*shown) (MbWizardPage *page);
  /* Copy the fields into @plan. */
  void (*save) (MbWizardPage *page, MbSetupPlan *plan);
  void (*apply_async) (MbWizardPage       *page,
                       GCancellable       *cancellable,
                       GAsyncReadyCallback callback,
                       gpointer            user_data);
  gboolean (*apply_finish) (MbWizardPage *page,
                            GAsyncResult *result,
                            GError      **error);

  gpointer padding[8];
};

/* Properties (set by the assistant before the page is shown):
 *   "plan"   (MbSetupPlan *, unowned pointer, the assistant's);
 *   "client" (MbRelayClient *);
 *   "title"  (string) the header bar's subtitle for the page;
 *   "complete", "applying" (boolean, notified on change). */

MbSetupPlan   *mb_wizard_page_get_plan (MbWizardPage *self);
void           mb_wizard_page_set_plan (MbWizardPage *self, MbSetupPlan *plan);
MbRelayClient *mb_wizard_page_get_client (MbWizardPage *self);
void mb_wizard_page_set_client (MbWizardPage *self, MbRelayClient *client);

const char *mb_wizard_page_get_title (MbWizardPage *self);
void        mb_wizard_page_set_title (MbWizardPage *self, const char *title);

gboolean mb_wizard_page_get_complete (MbWizardPage *self);
void     mb_wizard_page_set_complete (MbWizardPage *self, gboolean complete);
gboolean mb_wizard_page_get_applying (MbWizardPage *self);
void     mb_wizard_page_set_applying (MbWizardPage *self, gboolean applying);

/* For the assistant: */
void     mb_wizard_page_shown (MbWizardPage *self);
void     mb_wizard_page_save (MbWizardPage *self);
void     mb_wizard_page_apply_async (MbWizardPage       *self,
                                     GCancellable       *cancellable,
                                     GAsyncReadyCallback callback,
                                     gpointer            user_data);
gboolean mb_wizard_page_apply_finish (MbWizardPage *self,
                                      GAsyncResult *result,
                                      GError      **error);

G_END_DECLS
