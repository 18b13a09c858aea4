/* mb-page-method.c - the setup assistant's choice of sending method
 *
 * Three choices with what each needs and when it fits (DESIGN.md "The
 * methods", M365-FACTS.md 1.1-1.3).  One is always chosen, so the page is
 * always complete.
 */
#define G_LOG_DOMAIN "mb-page-method"

#include "mb-page-method.h"

#include <glib/gi18n.h>

struct _MbPageMethod
{
  MbWizardPage parent_instance;

  GtkToggleButton *submission_radio;
  GtkToggleButton *direct_send_radio;
  GtkToggleButton *connector_radio;
};

G_DEFINE_TYPE (MbPageMethod, mb_page_method, MB_TYPE_WIZARD_PAGE)

static GtkToggleButton *
get_radio (MbPageMethod *self, MbRouteMethod method)
{
  switch (method)
    {
    case MB_ROUTE_METHOD_DIRECT_SEND:
      return self->direct_send_radio;
    case MB_ROUTE_METHOD_CONNECTOR:
      return self->connector_radio;
    case MB_ROUTE_METHOD_SUBMISSION:
    case MB_ROUTE_METHOD_HVE:
    default:
      return self->submission_radio;
    }
}

static MbRouteMethod
get_chosen_method (MbPageMethod *self)
{
  if (gtk_toggle_button_get_active (self->direct_send_radio))
    return MB_ROUTE_METHOD_DIRECT_SEND;
  if (gtk_toggle_button_get_active (self->connector_radio))
    return MB_ROUTE_METHOD_CONNECTOR;
  return MB_ROUTE_METHOD_SUBMISSION;
}

static void
on_radio_toggled_cb (MbPageMethod *self)
{
  mb_wizard_page_set_complete (MB_WIZARD_PAGE (self), TRUE);
}

static void
mb_page_method_shown (MbWizardPage *page)
{
  MbPageMethod    *self = MB_PAGE_METHOD (page);
  MbSetupPlan     *plan = mb_wizard_page_get_plan (page);
  GtkToggleButton *radio;

  if (plan == NULL)
    return;
  /* HVE is not offered here; a route that uses it shows as SMTP AUTH,
   * and keeping that choice writes it as submission. */
  radio = get_radio (self, plan->method);
  gtk_toggle_button_set_active (radio, TRUE);
  gtk_widget_grab_focus (GTK_WIDGET (radio));
}

static void
mb_page_method_save (MbWizardPage *page, MbSetupPlan *plan)
{
  plan->method = get_chosen_method (MB_PAGE_METHOD (page));
}

static void
mb_page_method_class_init (MbPageMethodClass *klass)
{
  GtkWidgetClass    *widget_class = GTK_WIDGET_CLASS (klass);
  MbWizardPageClass *page_class = MB_WIZARD_PAGE_CLASS (klass);

  page_class->shown = mb_page_method_shown;
  page_class->save = mb_page_method_save;

  gtk_widget_class_set_template_from_resource (
      widget_class, "/org/mailbridge/Mailbridge/ui/mb-page-method.ui");
  gtk_widget_class_bind_template_child (widget_class, MbPageMethod,
                                        submission_radio);
  gtk_widget_class_bind_template_child (widget_class, MbPageMethod,
                                        direct_send_radio);
  gtk_widget_class_bind_template_child (widget_class, MbPageMethod,
                                        connector_radio);
  gtk_widget_class_bind_template_callback (widget_class, on_radio_toggled_cb);
}

static void
mb_page_method_init (MbPageMethod *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
  mb_wizard_page_set_title (MB_WIZARD_PAGE (self),
                            _ ("How Should Mail Reach Microsoft 365?"));
  mb_wizard_page_set_complete (MB_WIZARD_PAGE (self), TRUE);
}

GtkWidget *
mb_page_method_new (void)
{
  return g_object_new (MB_TYPE_PAGE_METHOD, NULL);
}
