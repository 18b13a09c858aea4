/* mb-page-network.h - the setup assistant's "network" page (see mb-wizard.h) */
#pragma once

#include "mb-wizard-page.h"

G_BEGIN_DECLS

#define MB_TYPE_PAGE_NETWORK (mb_page_network_get_type ())
G_DECLARE_FINAL_TYPE (MbPageNetwork,
                      mb_page_network,
                      MB,
                      PAGE_NETWORK,
                      MbWizardPage)

GtkWidget *mb_page_network_new (void);

G_END_DECLS
