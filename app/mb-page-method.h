/* mb-page-method.h - the setup assistant's "method" page (see mb-wizard.h) */
#pragma once

#include "mb-wizard-page.h"

G_BEGIN_DECLS

#define MB_TYPE_PAGE_METHOD (mb_page_method_get_type ())
G_DECLARE_FINAL_TYPE (MbPageMethod,
                      mb_page_method,
                      MB,
                      PAGE_METHOD,
                      MbWizardPage)

GtkWidget *mb_page_method_new (void);

G_END_DECLS
