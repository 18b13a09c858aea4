/* mb-test-send-dialog.c - send a test email and explain the outcome
 *
 * One SendTest call: the relay queues the message like any other and
 * answers after its first delivery attempt.  Closing the dialog cancels
 * the wait, not the message, which stays queued.
 */
#define G_LOG_DOMAIN "mb-test-send-dialog"

#include "mb-test-send-dialog.h"

#include <glib/gi18n.h>

#include "mb-format.h"

struct _MbTestSendDialog
{
  GtkDialog parent_instance;

  MbRelayClient *client;       /* (owned) */
  GCancellable  *cancellable;  /* (owned) (nullable) while sending */
  GtkWidget     *send_button;  /* (unowned) */
  GtkWidget     *close_button; /* (unowned) */

  GtkStack   *stack;
  GtkEntry   *to_entry;
  GtkEntry   *from_entry;
  GtkLabel   *route_label;
  GtkSpinner *spinner;
  GtkLabel   *running_label;
  GtkImage   *result_icon;
  GtkLabel   *result_title;
  GtkLabel   *result_detail;
  GtkLabel   *reply_title;
  GtkLabel   *reply_label;
  GtkLabel   *hint_title;
  GtkLabel   *hint_label;
};

G_DEFINE_TYPE (MbTestSendDialog, mb_test_send_dialog, GTK_TYPE_DIALOG)

static gboolean
looks_like_address (const char *text)
{
  const char *at = strrchr (text, '@');

  return at != NULL && at != text && at[1] != '\0'
         && strpbrk (text, " \t<>") == NULL;
}

static void
on_to_entry_changed_cb (MbTestSendDialog *self)
{
  if (self->cancellable != NULL)
    return;
  gtk_widget_set_sensitive (
      self->send_button,
      looks_like_address (gtk_entry_get_text (self->to_entry)));
}

static void
show_form (MbTestSendDialog *self)
{
  const MbRouteStatus *route = mb_relay_client_get_default_route (self->client);
  g_autofree char     *text = NULL;

  if (route != NULL)
    text = g_strdup_printf (_ ("%s (%s)"), route->name,
                            mb_format_method (route->method));
  gtk_label_set_text (self->route_label,
                      text != NULL ? text : _ ("None configured"));
  gtk_stack_set_visible_child_name (self->stack, "form");
  gtk_button_set_label (GTK_BUTTON (self->send_button), _ ("_Send"));
  gtk_button_set_label (GTK_BUTTON (self->close_button), _ ("_Cancel"));
  on_to_entry_changed_cb (self);
}

static void
show_result (MbTestSendDialog *self,
             const char       *icon,
             const char       *title,
             const char       *detail,
             const char       *reply,
             const char       *hint)
{
  gboolean has_reply = reply != NULL && *reply != '\0';
  gboolean has_hint = hint != NULL && *hint != '\0';

  gtk_spinner_stop (self->spinner);
  gtk_image_set_from_icon_name (self->result_icon, icon, GTK_ICON_SIZE_DIALOG);
  gtk_label_set_text (self->result_title, title);
  gtk_label_set_text (self->result_detail, detail ? detail : "");
  gtk_widget_set_visible (GTK_WIDGET (self->result_detail), detail != NULL);
  gtk_label_set_text (self->reply_label, has_reply ? reply : "");
  gtk_widget_set_visible (GTK_WIDGET (self->reply_title), has_reply);
  gtk_widget_set_visible (GTK_WIDGET (self->reply_label), has_reply);
  gtk_label_set_text (self->hint_label, has_hint ? hint : "");
  gtk_widget_set_visible (GTK_WIDGET (self->hint_title), has_hint);
  gtk_widget_set_visible (GTK_WIDGET (self->hint_label), has_hint);

  gtk_stack_set_visible_child_name (self->stack, "result");
  gtk_button_set_label (GTK_BUTTON (self->send_button), _ ("Send _Again"));
  gtk_widget_set_sensitive (self->send_button, TRUE);
  gtk_button_set_label (GTK_BUTTON (self->close_button), _ ("_Close"));
  gtk_widget_grab_focus (self->close_button);
}

static void
show_outcome (MbTestSendDialog *self, const MbTestSendResult *result)
{
  g_autofree char *hint = mb_format_hint (result->hint, result->hint_text);
  g_autofree char *detail = NULL;
  const char      *to = gtk_entry_get_text (self->to_entry);

  if (g_str_equal (result->outcome, "delivered"))
    {
      /* Translators: %s is the recipient's address */
      detail = g_strdup_printf (_ ("It should arrive at %s within a few "
                                   "minutes. If it does not, look in the "
                                   "junk mail folder."),
                                to);
      show_result (self, "emblem-ok-symbolic",
                   _ ("Microsoft 365 accepted the test email"), detail,
                   result->reply, hint);
    }
  else if (g_str_equal (result->outcome, "deferred"))
    show_result (self, "dialog-warning-symbolic",
                 _ ("Microsoft 365 did not accept the test email yet"),
                 _ ("The relay keeps it in the queue and tries again later."),
                 result->reply, hint);
  else if (g_str_equal (result->outcome, "failed"))
    show_result (self, "dialog-error-symbolic",
                 _ ("Microsoft 365 refused the test email"),
                 _ ("The relay will not try again. Fix the cause below, then "
                    "send another test."),
                 result->reply, hint);
  else
    show_result (self, "mailbridge-deferred-symbolic",
                 _ ("The test email is still in the queue"),
                 _ ("No delivery attempt was made in time: delivery is "
                    "paused, or the relay is busy. The message stays queued."),
                 result->reply, hint);
}

static void
send_test_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  MbTestSendDialog *self = user_data;
  g_autoptr (MbTestSendResult) outcome = NULL;
  g_autoptr (GError) error = NULL;

  outcome = mb_relay_client_send_test_finish (MB_RELAY_CLIENT (source), result,
                                              &error);
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return; /* the dialog is gone or going: leave it alone */
  g_clear_object (&self->cancellable);

  if (outcome != NULL)
    show_outcome (self, outcome);
  else if (g_error_matches (error, MB_RELAY_CLIENT_ERROR,
                            MB_RELAY_CLIENT_ERROR_INVALID_ARGUMENT))
    show_result (self, "dialog-error-symbolic",
                 _ ("The relay did not accept an address"), error->message,
                 NULL,
                 _ ("Check the recipient and the sender, then try "
                    "again."));
  else if (g_error_matches (error, MB_RELAY_CLIENT_ERROR,
                            MB_RELAY_CLIENT_ERROR_NO_SPACE))
    show_result (self, "dialog-error-symbolic", _ ("The relay’s disk is full"),
                 error->message, NULL,
                 _ ("Free some space on the disk that holds the queue."));
  else
    show_result (self, "dialog-error-symbolic",
                 _ ("The test email could not be sent"), error->message, NULL,
                 NULL);
  g_object_unref (self);
}

static void
start_sending (MbTestSendDialog *self)
{
  const char      *to = gtk_entry_get_text (self->to_entry);
  const char      *from = gtk_entry_get_text (self->from_entry);
  g_autofree char *running = NULL;

  if (!looks_like_address (to))
    return;
  self->cancellable = g_cancellable_new ();
  /* Translators: %s is the recipient's address */
  running = g_strdup_printf (_ ("Sending a test email to %s…"), to);
  gtk_label_set_text (self->running_label, running);
  gtk_stack_set_visible_child_name (self->stack, "running");
  gtk_spinner_start (self->spinner);
  gtk_widget_set_sensitive (self->send_button, FALSE);
  gtk_button_set_label (GTK_BUTTON (self->close_button), _ ("_Cancel"));

  /* The reference keeps the widgets alive until the answer; closing the
   * dialog cancels, and the callback then touches nothing. */
  g_object_ref (self);
  mb_relay_client_send_test_async (self->client, to,
                                   *from != '\0' ? from : NULL, NULL, 0,
                                   self->cancellable, send_test_cb, self);
}

static void
mb_test_send_dialog_response (GtkDialog *dialog, int response)
{
  MbTestSendDialog *self = MB_TEST_SEND_DIALOG (dialog);

  if (response == GTK_RESPONSE_OK)
    {
      if (g_str_equal (gtk_stack_get_visible_child_name (self->stack),
                       "result"))
        show_form (self);
      else
        start_sending (self);
      return;
    }
  gtk_widget_destroy (GTK_WIDGET (self));
}

static void
mb_test_send_dialog_dispose (GObject *object)
{
  MbTestSendDialog *self = MB_TEST_SEND_DIALOG (object);

  if (self->cancellable != NULL)
    {
      g_cancellable_cancel (self->cancellable);
      /* send_test_cb will not run its body: drop its reference here. */
      g_clear_object (&self->cancellable);
      g_object_unref (self);
    }
  g_clear_object (&self->client);
  G_OBJECT_CLASS (mb_test_send_dialog_parent_class)->dispose (object);
}

static void
mb_test_send_dialog_class_init (MbTestSendDialogClass *klass)
{
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  G_OBJECT_CLASS (klass)->dispose = mb_test_send_dialog_dispose;
  GTK_DIALOG_CLASS (klass)->response = mb_test_send_dialog_response;

  gtk_widget_class_set_template_from_resource (
      widget_class, "/org/mailbridge/Mailbridge/ui/mb-test-send-dialog.ui");
  gtk_widget_class_bind_template_child (widget_class, MbTestSendDialog, stack);
  gtk_widget_class_bind_template_child (widget_class, MbTestSendDialog,
                                        to_entry);
  gtk_widget_class_bind_template_child (widget_class, MbTestSendDialog,
                                        from_entry);
  gtk_widget_class_bind_template_child (widget_class, MbTestSendDialog,
                                        route_label);
  gtk_widget_class_bind_template_child (widget_class, MbTestSendDialog,
                                        spinner);
  gtk_widget_class_bind_template_child (widget_class, MbTestSendDialog,
                                        running_label);
  gtk_widget_class_bind_template_child (widget_class, MbTestSendDialog,
                                        result_icon);
  gtk_widget_class_bind_template_child (widget_class, MbTestSendDialog,
                                        result_title);
  gtk_widget_class_bind_template_child (widget_class, MbTestSendDialog,
                                        result_detail);
  gtk_widget_class_bind_template_child (widget_class, MbTestSendDialog,
                                        reply_title);
  gtk_widget_class_bind_template_child (widget_class, MbTestSendDialog,
                                        reply_label);
  gtk_widget_class_bind_template_child (widget_class, MbTestSendDialog,
                                        hint_title);
  gtk_widget_class_bind_template_child (widget_class, MbTestSendDialog,
                                        hint_label);
  gtk_widget_class_bind_template_callback (widget_class,
                                           on_to_entry_changed_cb);
}

static void
mb_test_send_dialog_init (MbTestSendDialog *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
  self->close_button = gtk_dialog_add_button (GTK_DIALOG (self), _ ("_Cancel"),
                                              GTK_RESPONSE_CANCEL);
  self->send_button
      = gtk_dialog_add_button (GTK_DIALOG (self), _ ("_Send"), GTK_RESPONSE_OK);
  gtk_style_context_add_class (gtk_widget_get_style_context (self->send_button),
                               "suggested-action");
  gtk_dialog_set_default_response (GTK_DIALOG (self), GTK_RESPONSE_OK);
}

GtkWidget *
mb_test_send_dialog_new (GtkWindow *parent, MbRelayClient *client)
{
  MbTestSendDialog *self
      = g_object_new (MB_TYPE_TEST_SEND_DIALOG, "use-header-bar", TRUE,
                      "transient-for", parent, NULL);
  const char *admin = mb_relay_client_get_admin_address (client);
  const char *sender = mb_relay_client_get_default_sender (client);

  self->client = g_object_ref (client);
  gtk_entry_set_text (self->to_entry, admin != NULL ? admin : "");
  gtk_entry_set_text (self->from_entry, sender != NULL ? sender : "");
  show_form (self);
  gtk_widget_grab_focus (GTK_WIDGET (self->to_entry));
  return GTK_WIDGET (self);
}
