/* mb-wizard.c - the setup assistant's frame
 *
 * Reads the relay's configuration file, builds the plan from it and walks
 * the pages in order: method, then submission or mx (by the method), then
 * network and summary.  Next saves the page into the plan and runs its
 * apply; the page's "complete" and "applying" drive the buttons.  Back
 * and Cancel cancel an apply that runs; the summary page's successful
 * apply ends the assistant with "applied".
 */
#define G_LOG_DOMAIN "mb-wizard"

#include "mb-wizard.h"

#include <gdk/gdkkeysyms.h>
#include <glib/gi18n.h>

#include "mb-page-method.h"
#include "mb-page-mx.h"
#include "mb-page-network.h"
#include "mb-page-submission.h"
#include "mb-page-summary.h"
#include "mb-wizard-page.h"

/* method, submission or mx, network, summary */
#define N_STEPS 4

struct _MbWizard
{
  GtkWindow parent_instance;

  MbRelayClient *client;            /* (owned) */
  MbSetupPlan   *plan;              /* (owned) (nullable) until loaded */
  char          *config_path;       /* (owned) */
  GCancellable  *cancellable;       /* (owned) loading; cancelled in dispose */
  GCancellable  *apply_cancellable; /* (owned) (nullable) while applying */
  GPtrArray     *history; /* (owned) (element-type MbWizardPage) (unowned
                           * elements) visited pages, the current last */

  MbWizardPage *method_page;     /* (unowned) */
  MbWizardPage *submission_page; /* (unowned) */
  MbWizardPage *mx_page;         /* (unowned) */
  MbWizardPage *network_page;    /* (unowned) */
  MbWizardPage *summary_page;    /* (unowned) */

  GtkHeaderBar *header_bar;
  GtkWidget    *cancel_button;
  GtkWidget    *back_button;
  GtkWidget    *next_button;
  GtkSpinner   *spinner;
  GtkInfoBar   *error_bar;
  GtkLabel     *error_label;
  GtkLabel     *page_title;
  GtkStack     *stack;
};

G_DEFINE_TYPE (MbWizard, mb_wizard, GTK_TYPE_WINDOW)

enum
{
  SIGNAL_APPLIED,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

static MbWizardPage *
get_current_page (MbWizard *self)
{
  if (self->history->len == 0)
    return NULL;
  return g_ptr_array_index (self->history, self->history->len - 1);
}

static void
show_error (MbWizard *self, const char *text)
{
  gtk_label_set_text (self->error_label, text);
  gtk_info_bar_set_revealed (self->error_bar, TRUE);
}

static void
hide_error (MbWizard *self)
{
  gtk_info_bar_set_revealed (self->error_bar, FALSE);
}

static void
update_buttons (MbWizard *self)
{
  MbWizardPage *page = get_current_page (self);
  gboolean      applying = page != NULL && mb_wizard_page_get_applying (page);
  gboolean      last = page == self->summary_page;

  gtk_widget_set_sensitive (self->next_button,
                            page != NULL && !applying
                                && mb_wizard_page_get_complete (page));
  gtk_button_set_label (GTK_BUTTON (self->next_button),
                        last ? _ ("_Apply") : _ ("_Next"));
  /* While a page applies, Back stays: it cancels the apply. */
  gtk_widget_set_visible (self->back_button,
                          self->history->len > 1 || applying);
  gtk_widget_set_visible (GTK_WIDGET (self->spinner), applying);
  if (applying)
    gtk_spinner_start (self->spinner);
  else
    gtk_spinner_stop (self->spinner);
  gtk_widget_set_sensitive (GTK_WIDGET (self->stack), !applying);
}

static void
update_title (MbWizard *self)
{
  MbWizardPage *page = get_current_page (self);
  const char   *title = page != NULL ? mb_wizard_page_get_title (page) : NULL;
  g_autofree char *step = NULL;

  gtk_label_set_text (self->page_title, title != NULL ? title : "");
  gtk_widget_set_visible (GTK_WIDGET (self->page_title), title != NULL);
  if (page != NULL)
    /* Translators: the header bar's subtitle, "Step 2 of 4" */
    step = g_strdup_printf (_ ("Step %u of %u"), self->history->len, N_STEPS);
  gtk_header_bar_set_subtitle (self->header_bar, step);
}

static void
show_current_page (MbWizard *self)
{
  MbWizardPage *page = get_current_page (self);

  gtk_stack_set_visible_child (self->stack, GTK_WIDGET (page));
  update_title (self);
  update_buttons (self);
  mb_wizard_page_shown (page);
}

/* The page after @page, NULL after the last. */
static MbWizardPage *
find_next_page (MbWizard *self, MbWizardPage *page)
{
  if (page == self->method_page)
    {
      /* The MX methods share one page; HVE, not offered, is a kind of
       * submission. */
      if (self->plan->method == MB_ROUTE_METHOD_DIRECT_SEND
          || self->plan->method == MB_ROUTE_METHOD_CONNECTOR)
        return self->mx_page;
      return self->submission_page;
    }
  if (page == self->submission_page || page == self->mx_page)
    return self->network_page;
  if (page == self->network_page)
    return self->summary_page;
  return NULL;
}

static void
cancel_apply (MbWizard *self)
{
  if (self->apply_cancellable == NULL)
    return;
  g_cancellable_cancel (self->apply_cancellable);
  g_clear_object (&self->apply_cancellable);
}

/* Callbacks */

static void
on_page_notify_cb (GObject *object, GParamSpec *pspec, gpointer user_data)
{
  MbWizard *self = user_data;

  if (MB_WIZARD_PAGE (object) != get_current_page (self))
    return;
  if (g_str_equal (pspec->name, "title"))
    update_title (self);
  else
    update_buttons (self);
}

static void
page_applied_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  MbWizardPage *page = MB_WIZARD_PAGE (source);
  MbWizard     *self = user_data;
  MbWizardPage *next;
  g_autoptr (GError) error = NULL;

  if (!mb_wizard_page_apply_finish (page, result, &error))
    {
      /* Back, Cancel or the window's end cancelled it: leave self alone. */
      if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        return;
      g_clear_object (&self->apply_cancellable);
      if (error != NULL)
        show_error (self, error->message);
      update_buttons (self);
      return;
    }
  g_clear_object (&self->apply_cancellable);

  next = find_next_page (self, page);
  if (next == NULL)
    {
      g_autoptr (MbWizard) keep = g_object_ref (self);

      g_signal_emit (self, signals[SIGNAL_APPLIED], 0, self->plan->route);
      gtk_widget_destroy (GTK_WIDGET (self));
      return;
    }
  g_ptr_array_add (self->history, next);
  show_current_page (self);
}

static void
on_next_button_clicked_cb (MbWizard *self)
{
  MbWizardPage *page = get_current_page (self);

  if (page == NULL || self->apply_cancellable != NULL
      || !mb_wizard_page_get_complete (page)
      || mb_wizard_page_get_applying (page))
    return;
  hide_error (self);
  mb_wizard_page_save (page);
  self->apply_cancellable = g_cancellable_new ();
  mb_wizard_page_apply_async (page, self->apply_cancellable, page_applied_cb,
                              self);
  update_buttons (self);
}

static void
on_back_button_clicked_cb (MbWizard *self)
{
  if (self->apply_cancellable != NULL)
    {
      cancel_apply (self);
      return;
    }
  if (self->history->len <= 1)
    return;
  hide_error (self);
  /* Keep what was typed: the plan holds it when the page comes again. */
  mb_wizard_page_save (get_current_page (self));
  g_ptr_array_remove_index (self->history, self->history->len - 1);
  show_current_page (self);
}

static void
on_cancel_button_clicked_cb (MbWizard *self)
{
  cancel_apply (self);
  gtk_widget_destroy (GTK_WIDGET (self));
}

static void
on_error_bar_response_cb (MbWizard *self, int response)
{
  hide_error (self);
}

static gboolean
on_key_pressed_cb (GtkWidget *widget, GdkEventKey *event, gpointer user_data)
{
  MbWizard  *self = MB_WIZARD (widget);
  GtkWidget *focus = gtk_window_get_focus (GTK_WINDOW (self));
  guint      keyval = event->keyval;
  guint      mods = event->state & gtk_accelerator_get_default_mod_mask ();

  /* Entries activate the default (Next) themselves; a choice (radio,
   * check button or switch) would only toggle again. */
  if ((keyval == GDK_KEY_Return || keyval == GDK_KEY_KP_Enter
       || keyval == GDK_KEY_ISO_Enter)
      && mods == 0 && (GTK_IS_CHECK_BUTTON (focus) || GTK_IS_SWITCH (focus)))
    {
      if (gtk_widget_is_sensitive (self->next_button))
        gtk_widget_activate (self->next_button);
      return GDK_EVENT_STOP;
    }
  return GDK_EVENT_PROPAGATE;
}

/* After the focus widget had its say (a popover or a menu closes first),
 * Escape is Cancel. */
static gboolean
on_key_pressed_after_cb (GtkWidget   *widget,
                         GdkEventKey *event,
                         gpointer     user_data)
{
  guint mods = event->state & gtk_accelerator_get_default_mod_mask ();

  if (event->keyval != GDK_KEY_Escape || mods != 0)
    return GDK_EVENT_PROPAGATE;
  on_cancel_button_clicked_cb (MB_WIZARD (widget));
  return GDK_EVENT_STOP;
}

static void
start_pages (MbWizard *self, MbRelayConfig *config)
{
  MbWizardPage *pages[]
      = { self->method_page, self->submission_page, self->mx_page,
          self->network_page, self->summary_page };

  self->plan = mb_setup_plan_new_from_config (config);
  for (gsize i = 0; i < G_N_ELEMENTS (pages); i++)
    mb_wizard_page_set_plan (pages[i], self->plan);
  g_ptr_array_add (self->history, self->method_page);
  show_current_page (self);
}

static void
config_loaded_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  MbWizard        *self = user_data;
  g_autofree char *contents = NULL;
  gsize            length = 0;
  g_autoptr (GError) error = NULL;
  g_autoptr (MbRelayConfig) config = NULL;
  g_autofree char *text = NULL;

  if (!g_file_load_contents_finish (G_FILE (source), result, &contents, &length,
                                    NULL, &error))
    {
      if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        return;
      if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND))
        /* Translators: %s is a file name, the second %s why it failed */
        text = g_strdup_printf (_ ("The configuration file %s cannot be "
                                   "read: %s. Check its permissions before "
                                   "you apply the new settings."),
                                self->config_path, error->message);
    }
  else
    {
      config = mb_relay_config_load_data (contents, length, self->config_path,
                                          &error);
      if (config == NULL)
        /* Translators: %s is the configuration's error (file, key, line) */
        text = g_strdup_printf (_ ("The current configuration has an error: "
                                   "%s. The assistant starts from the "
                                   "defaults; correct or remove the file "
                                   "before you apply."),
                                error->message);
    }
  if (text != NULL)
    show_error (self, text);
  start_pages (self, config);
}

/* Overrides */

static void
mb_wizard_dispose (GObject *object)
{
  MbWizard *self = MB_WIZARD (object);

  g_cancellable_cancel (self->cancellable);
  cancel_apply (self);
  g_clear_object (&self->client);
  G_OBJECT_CLASS (mb_wizard_parent_class)->dispose (object);
}

static void
mb_wizard_finalize (GObject *object)
{
  MbWizard *self = MB_WIZARD (object);

  g_clear_object (&self->cancellable);
  g_clear_pointer (&self->history, g_ptr_array_unref);
  g_clear_pointer (&self->plan, mb_setup_plan_free);
  g_free (self->config_path);
  G_OBJECT_CLASS (mb_wizard_parent_class)->finalize (object);
}

static void
mb_wizard_class_init (MbWizardClass *klass)
{
  GObjectClass   *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = mb_wizard_dispose;
  object_class->finalize = mb_wizard_finalize;

  /**
   * MbWizard::applied:
   * @route: the route the configuration now uses
   *
   * The summary page wrote the configuration and the relay took it (or
   * will when it starts).  Emitted just before the assistant closes;
   * mb_wizard_get_plan() still answers in the handler.
   */
  signals[SIGNAL_APPLIED]
      = g_signal_new ("applied", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                      0, NULL, NULL, NULL, G_TYPE_NONE, 1, G_TYPE_STRING);

  gtk_widget_class_set_template_from_resource (
      widget_class, "/org/mailbridge/Mailbridge/ui/mb-wizard.ui");
  gtk_widget_class_bind_template_child (widget_class, MbWizard, header_bar);
  gtk_widget_class_bind_template_child (widget_class, MbWizard, cancel_button);
  gtk_widget_class_bind_template_child (widget_class, MbWizard, back_button);
  gtk_widget_class_bind_template_child (widget_class, MbWizard, next_button);
  gtk_widget_class_bind_template_child (widget_class, MbWizard, spinner);
  gtk_widget_class_bind_template_child (widget_class, MbWizard, error_bar);
  gtk_widget_class_bind_template_child (widget_class, MbWizard, error_label);
  gtk_widget_class_bind_template_child (widget_class, MbWizard, page_title);
  gtk_widget_class_bind_template_child (widget_class, MbWizard, stack);
  gtk_widget_class_bind_template_callback (widget_class,
                                           on_next_button_clicked_cb);
  gtk_widget_class_bind_template_callback (widget_class,
                                           on_back_button_clicked_cb);
  gtk_widget_class_bind_template_callback (widget_class,
                                           on_cancel_button_clicked_cb);
  gtk_widget_class_bind_template_callback (widget_class,
                                           on_error_bar_response_cb);
  gtk_widget_class_bind_template_callback (widget_class, on_key_pressed_cb);
  gtk_widget_class_bind_template_callback (widget_class,
                                           on_key_pressed_after_cb);
}

static MbWizardPage *
add_page (MbWizard *self, GtkWidget *widget)
{
  MbWizardPage *page = MB_WIZARD_PAGE (widget);

  gtk_widget_show (widget);
  gtk_container_add (GTK_CONTAINER (self->stack), widget);
  g_signal_connect_object (page, "notify::complete",
                           G_CALLBACK (on_page_notify_cb), self, 0);
  g_signal_connect_object (page, "notify::applying",
                           G_CALLBACK (on_page_notify_cb), self, 0);
  g_signal_connect_object (page, "notify::title",
                           G_CALLBACK (on_page_notify_cb), self, 0);
  return page;
}

static void
mb_wizard_init (MbWizard *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
  self->cancellable = g_cancellable_new ();
  self->history = g_ptr_array_new ();

  self->method_page = add_page (self, mb_page_method_new ());
  self->submission_page = add_page (self, mb_page_submission_new ());
  self->mx_page = add_page (self, mb_page_mx_new ());
  self->network_page = add_page (self, mb_page_network_new ());
  self->summary_page = add_page (self, mb_page_summary_new ());
  gtk_window_set_default (GTK_WINDOW (self), self->next_button);
}

/* Public API */

MbWizard *
mb_wizard_new (GtkWindow *parent, MbRelayClient *client)
{
  MbWizard *self = g_object_new (MB_TYPE_WIZARD, "transient-for", parent, NULL);
  GtkWidget *pages[]
      = { GTK_WIDGET (self->method_page), GTK_WIDGET (self->submission_page),
          GTK_WIDGET (self->mx_page), GTK_WIDGET (self->network_page),
          GTK_WIDGET (self->summary_page) };
  g_autoptr (GFile) file = NULL;

  self->client = g_object_ref (client);
  self->config_path = mb_relay_client_dup_config_file (client);
  for (gsize i = 0; i < G_N_ELEMENTS (pages); i++)
    mb_wizard_page_set_client (MB_WIZARD_PAGE (pages[i]), client);

  file = g_file_new_for_path (self->config_path);
  g_file_load_contents_async (file, self->cancellable, config_loaded_cb, self);
  return self;
}

const MbSetupPlan *
mb_wizard_get_plan (MbWizard *self)
{
  g_return_val_if_fail (MB_IS_WIZARD (self), NULL);
  return self->plan;
}

const char *
mb_wizard_get_config_path (MbWizard *self)
{
  g_return_val_if_fail (MB_IS_WIZARD (self), NULL);
  return self->config_path;
}
