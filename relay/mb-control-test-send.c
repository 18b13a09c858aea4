/* mb-control-test-send.c - SendTest: one test message through the real path
 *
 * What it does
 *   Builds a short message with GMime (From, To, Subject "Mailbridge test
 *   message", Date, Message-ID, a few lines of text), queues it through
 *   the spool writer exactly like a message from a device (so the spool,
 *   the scheduler, the route and the upstream are all tested), then waits
 *   for the first delivery attempt and returns its outcome with the reply
 *   and its plain-language hint.
 *
 * Guarantees
 *   - The message is acknowledged to the caller only once the spool has
 *     committed it (fsynced, renamed, directory fsynced); a failure to
 *     queue is an Io or NoSpace error and leaves nothing behind.
 *   - The waiter is registered before the commit completes, so a delivery
 *     faster than the commit callback is not missed.
 *   - A message not attempted within the timeout stays queued and is
 *     reported as "queued": nothing is cancelled or deleted.
 *
 * What it does not do
 *   It does not talk to the upstream itself, and sends no DSN parameters.
 *   The sender defaults to the route's mailbox (submission sends as the
 *   mailbox, M365-FACTS.md 1), else the admin address, else
 *   postmaster@hostname.
 *
 * RFC 5322 3.6 (the header fields), RFC 5321 4.4 (our Received field).
 */
#define G_LOG_DOMAIN "mb-control"

#include "mb-control-private.h"

#include <gmime/gmime.h>

#include "mb-smtp-parser.h"
#include "mb-spool.h"

/* GMime 3.2 declares none. */
G_DEFINE_AUTOPTR_CLEANUP_FUNC (GMimeMessage, g_object_unref)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (GMimeTextPart, g_object_unref)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (GMimeFormatOptions, g_mime_format_options_free)

#define TEST_SEND_DEFAULT_TIMEOUT 60
#define TEST_SUBJECT "Mailbridge test message"

/* Shared by the commit and the outcome wait: each holds a reference; the
 * reply goes out once both are done, or at once on a failure to queue. */
typedef struct
{
  guint                  ref_count;
  MbControl             *self;       /* (owned) */
  GDBusMethodInvocation *invocation; /* (owned) (nullable) once answered */
  MbSpoolWriter         *writer;     /* (owned) */
  MbEnvelope            *envelope;   /* (owned) */
  GBytes                *message;    /* (owned) */
  char                  *queue_id;   /* (owned) */
  guint                  timeout;
  gboolean               committed;
  MbDeliveryRecord      *record; /* (owned) (nullable) */
  gboolean               waited; /* the outcome wait has completed */
} TestSendData;

static void
test_send_data_unref (TestSendData *data)
{
  if (--data->ref_count > 0)
    return;
  g_clear_pointer (&data->writer, mb_spool_writer_free);
  g_clear_pointer (&data->envelope, mb_envelope_free);
  g_clear_pointer (&data->message, g_bytes_unref);
  g_clear_pointer (&data->record, mb_delivery_record_free);
  g_clear_object (&data->invocation);
  g_clear_object (&data->self);
  g_free (data->queue_id);
  g_free (data);
}

static void
fail (TestSendData *data, GError *error)
{
  control_return_error (g_steal_pointer (&data->invocation), error);
}

static const char *
choose_sender (MbRelayConfig *config, MbRouteConfig *route, const char *from)
{
  if (from != NULL && *from != '\0')
    return from;
  if (route != NULL && route->mailbox != NULL)
    return route->mailbox;
  return config->admin_address;
}

static GBytes *
build_message (const char *queue_id,
               const char *hostname,
               const char *from,
               const char *to,
               const char *route)
{
  g_autoptr (GMimeMessage) message = g_mime_message_new (TRUE);
  g_autoptr (GMimeTextPart) part = g_mime_text_part_new_with_subtype ("plain");
  g_autoptr (GMimeFormatOptions) options = g_mime_format_options_new ();
  g_autoptr (GDateTime) now = g_date_time_new_now_local ();
  g_autofree char *date = g_mime_utils_header_format_date (now);
  g_autofree char *message_id = g_mime_utils_generate_message_id (hostname);
  g_autofree char *received = NULL;
  g_autofree char *text = NULL;
  g_autofree char *body = NULL;
  gsize            len;

  g_mime_message_add_mailbox (message, GMIME_ADDRESS_TYPE_FROM, NULL, from);
  g_mime_message_add_mailbox (message, GMIME_ADDRESS_TYPE_TO, NULL, to);
  g_mime_message_set_subject (message, TEST_SUBJECT, NULL);
  g_mime_message_set_date (message, now);
  g_mime_message_set_message_id (message, message_id);
  received = g_strdup_printf ("from localhost by %s (Mailbridge) id %s; %s",
                              hostname, queue_id, date);
  g_mime_object_prepend_header (GMIME_OBJECT (message), "Received", received,
                                NULL);

  text = g_strdup_printf (
      "This is a test message from Mailbridge on %s.\n"
      "\n"
      "It went from the relay's queue through route \"%s\" to Microsoft "
      "365.\n"
      "If you can read this, mail from your devices can reach %s.\n",
      hostname, route, to);
  g_mime_text_part_set_text (part, text);
  g_mime_message_set_mime_part (message, GMIME_OBJECT (part));

  g_mime_format_options_set_newline_format (options, GMIME_NEWLINE_FORMAT_DOS);
  body = g_mime_object_to_string (GMIME_OBJECT (message), options);
  len = strlen (body);
  return g_bytes_new_take (g_steal_pointer (&body), len);
}

/* Outcome */

static void
maybe_complete (TestSendData *data)
{
  const MbDeliveryRecord *record = data->record;
  const MbRecipient      *recipient;
  const char             *outcome = "queued";
  const char             *reply = "";
  const char             *keyword = NULL;
  g_autofree char        *hint_text = NULL;

  if (data->invocation == NULL || !data->committed || !data->waited)
    return;
  if (record != NULL)
    {
      outcome = mb_delivery_status_to_string (record->status);
      reply = record->reply != NULL ? record->reply : "";
      hint_text = control_hint_text_for_reply (reply, &keyword);
      if (record->hint != NULL && *record->hint != '\0')
        keyword = record->hint;
    }
  recipient = g_ptr_array_index (data->envelope->recipients, 0);
  g_info ("queue-id=%s recipient=%s outcome=%s test message", data->queue_id,
          recipient->address, outcome);
  mb_relay1_complete_send_test (
      data->self->skeleton, g_steal_pointer (&data->invocation), data->queue_id,
      outcome, reply, keyword != NULL ? keyword : "",
      hint_text != NULL ? hint_text : "");
}

static void
outcome_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  TestSendData *data = user_data;

  /* Cancelled (the relay stops) reads as "no attempt yet": queued. */
  data->record
      = control_wait_outcome_finish (MB_CONTROL (source), result, NULL);
  data->waited = TRUE;
  maybe_complete (data);
  test_send_data_unref (data);
}

static void
committed_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  TestSendData *data = user_data;
  g_autoptr (GError) error = NULL;

  if (!mb_spool_writer_commit_finish (data->writer, result, &error))
    {
      g_prefix_error (&error, "Could not queue the test message: ");
      fail (data, g_steal_pointer (&error));
    }
  else
    {
      data->committed = TRUE;
      g_info ("queue-id=%s test message queued", data->queue_id);
      maybe_complete (data);
    }
  test_send_data_unref (data);
}

static void
written_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  TestSendData *data = user_data;
  g_autoptr (GError) error = NULL;

  if (!mb_spool_writer_write_finish (data->writer, result, &error))
    {
      g_prefix_error (&error, "Could not queue the test message: ");
      fail (data, g_steal_pointer (&error));
      test_send_data_unref (data);
      return;
    }
  /* Wait first: the scheduler may deliver before commit_cb runs. */
  data->ref_count++;
  control_wait_outcome_async (data->self, data->queue_id, data->timeout, FALSE,
                              outcome_cb, data);
  mb_spool_writer_commit_async (data->writer, data->envelope,
                                data->self->cancellable, committed_cb, data);
}

static gboolean
on_handle_send_test_cb (MbControl             *self,
                        GDBusMethodInvocation *invocation,
                        const char            *to,
                        const char            *from,
                        const char            *route_name,
                        guint                  timeout)
{
  MbRelayConfig *config = mb_daemon_get_config (self->daemon);
  MbRouteConfig *route = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree char *fallback_sender = NULL;
  const char      *sender;
  const char      *effective_route;
  TestSendData    *data;
  MbRecipient     *recipient;

  effective_route = *route_name != '\0' ? route_name : config->route;
  if (effective_route != NULL)
    route = mb_relay_config_lookup_route (config, effective_route);
  if (*route_name != '\0' && route == NULL)
    {
      g_dbus_method_invocation_return_error (
          invocation, MB_CONTROL_ERROR, MB_CONTROL_ERROR_NOT_FOUND,
          "There is no route “%s” in the configuration", route_name);
      return G_DBUS_METHOD_INVOCATION_HANDLED;
    }
  sender = choose_sender (config, route, from);
  if (sender == NULL)
    sender = fallback_sender
        = g_strdup_printf ("postmaster@%s", config->hostname);
  if (!mb_smtp_parser_is_valid_mailbox (to, TRUE))
    {
      g_dbus_method_invocation_return_error (
          invocation, MB_CONTROL_ERROR, MB_CONTROL_ERROR_INVALID_ARGUMENT,
          "“%s” is not a valid recipient address", to);
      return G_DBUS_METHOD_INVOCATION_HANDLED;
    }
  if (!mb_smtp_parser_is_valid_mailbox (sender, TRUE))
    {
      g_dbus_method_invocation_return_error (
          invocation, MB_CONTROL_ERROR, MB_CONTROL_ERROR_INVALID_ARGUMENT,
          "“%s” is not a valid sender address", sender);
      return G_DBUS_METHOD_INVOCATION_HANDLED;
    }

  data = g_new0 (TestSendData, 1);
  data->ref_count = 1;
  data->self = g_object_ref (self);
  data->invocation = g_object_ref (invocation);
  data->timeout = timeout != 0 ? timeout : TEST_SEND_DEFAULT_TIMEOUT;
  data->writer
      = mb_spool_writer_new (mb_daemon_get_spool (self->daemon), &error);
  if (data->writer == NULL)
    {
      g_prefix_error (&error, "Could not queue the test message: ");
      fail (data, g_steal_pointer (&error));
      test_send_data_unref (data);
      return G_DBUS_METHOD_INVOCATION_HANDLED;
    }
  data->queue_id = g_strdup (mb_spool_writer_get_id (data->writer));
  data->message
      = build_message (data->queue_id, config->hostname, sender, to,
                       effective_route != NULL ? effective_route : "(none)");

  data->envelope = mb_envelope_new ();
  g_free (data->envelope->sender);
  data->envelope->sender = g_strdup (sender);
  recipient = mb_envelope_add_recipient (data->envelope, to, 0, NULL);
  recipient->state = MB_RECIPIENT_STATE_QUEUED;
  data->envelope->received = g_get_real_time () / G_USEC_PER_SEC;
  data->envelope->route = g_strdup (*route_name != '\0' ? route_name : NULL);
  data->envelope->client_helo = g_strdup ("localhost");
  data->envelope->smtputf8 = !g_str_is_ascii (to) || !g_str_is_ascii (sender);

  g_info ("queue-id=%s from=%s to=%s route=%s test message requested",
          data->queue_id, sender, to,
          effective_route != NULL ? effective_route : "");
  mb_spool_writer_write_async (
      data->writer, g_bytes_get_data (data->message, NULL),
      g_bytes_get_size (data->message), self->cancellable, written_cb, data);
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

void
control_test_send_setup (MbControl *self)
{
  g_signal_connect_swapped (self->skeleton, "handle-send-test",
                            G_CALLBACK (on_handle_send_test_cb), self);
}
