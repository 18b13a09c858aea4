/* mb-page-summary.h - the setup assistant's "summary" page (see mb-wizard.h) */
#pragma once

#include "mb-wizard-page.h"

G_BEGIN_DECLS

#define MB_TYPE_PAGE_SUMMARY (mb_page_summary_get_type ())
G_DECLARE_FINAL_TYPE (MbPageSummary,
                      mb_page_summary,
                      MB,
                      PAGE_SUMMARY,
                      MbWizardPage)

GtkWidget *mb_page_summary_new (void);

G_END_DECLS
