/* mb-page-mx.h - the setup assistant's "mx" page (see mb-wizard.h) */
#pragma once

#include "mb-wizard-page.h"

G_BEGIN_DECLS

#define MB_TYPE_PAGE_MX (mb_page_mx_get_type ())
G_DECLARE_FINAL_TYPE (MbPageMx, mb_page_mx, MB, PAGE_MX, MbWizardPage)

GtkWidget *mb_page_mx_new (void);

G_END_DECLS
