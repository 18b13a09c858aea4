/* mb-page-submission.h - the setup assistant's "submission" page (see
 * mb-wizard.h) */
#pragma once

#include "mb-wizard-page.h"

G_BEGIN_DECLS

#define MB_TYPE_PAGE_SUBMISSION (mb_page_submission_get_type ())
G_DECLARE_FINAL_TYPE (MbPageSubmission,
                      mb_page_submission,
                      MB,
                      PAGE_SUBMISSION,
                      MbWizardPage)

GtkWidget *mb_page_submission_new (void);

G_END_DECLS
