/* test-delivery.c - unit tests for mb-delivery's failure descriptions
 *
 * The attempt itself (replies to recipient states, envelope write, log) is
 * covered end to end by tests/integration/test_delivery.py against the
 * fake Microsoft 365; here the table that turns a connection-level error
 * into the last_reply and the route's record.
 */
#include "mb-delivery.h"

#include "mb-reply-hints.h"
#include "mb-smtp-client-private.h"

#include <string.h>

/* Each connection-level error becomes an "mb." pseudo reply whose keyword
 * exists in mb-reply-hints, followed by the error's message. */
static void
test_pseudo_replies (void)
{
  static const struct
  {
    GQuark (*domain) (void);
    int         code;
    const char *keyword;
  } cases[] = {
    { mb_smtp_client_error_quark, MB_SMTP_CLIENT_ERROR_CONNECT,
      "mb.connect-failed" },
    { mb_smtp_client_error_quark, MB_SMTP_CLIENT_ERROR_TLS_UNTRUSTED,
      "mb.tls-untrusted" },
    { mb_smtp_client_error_quark, MB_SMTP_CLIENT_ERROR_TLS_TOO_OLD,
      "mb.tls-failed" },
    { mb_smtp_client_error_quark, MB_SMTP_CLIENT_ERROR_TLS_FAILED,
      "mb.tls-failed" },
    { mb_smtp_client_error_quark, MB_SMTP_CLIENT_ERROR_NO_STARTTLS,
      "mb.starttls-unavailable" },
    { mb_smtp_client_error_quark, MB_SMTP_CLIENT_ERROR_AUTH_UNAVAILABLE,
      "mb.auth-unavailable" },
    { mb_smtp_client_error_quark, MB_SMTP_CLIENT_ERROR_PROTOCOL,
      "mb.connection-lost" },
    { g_io_error_quark, G_IO_ERROR_TIMED_OUT, "mb.timeout" },
    { g_io_error_quark, G_IO_ERROR_CONNECTION_CLOSED, "mb.connection-lost" },
    { g_resolver_error_quark, G_RESOLVER_ERROR_NOT_FOUND, "mb.dns-failed" },
    { mb_route_error_quark, MB_ROUTE_ERROR_NO_MX, "mb.dns-failed" },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr (GError) error
          = g_error_new (cases[i].domain (), cases[i].code, "detail %zu", i);
      g_autofree char *expected
          = g_strdup_printf ("%s detail %zu", cases[i].keyword, i);
      g_autofree char *line = NULL;
      const char      *keyword = NULL;

      line = mb_delivery_describe_error (error, &keyword);
      g_assert_cmpstr (line, ==, expected);
      g_assert_cmpstr (keyword, ==, cases[i].keyword);
      g_assert_nonnull (mb_reply_hints_lookup_keyword (keyword));
      g_assert_true (mb_reply_hints_lookup_line (line)
                     == mb_reply_hints_lookup_keyword (keyword));
    }
}

/* An error carrying the server's reply (AUTH refused, a 421) is described
 * by the reply itself, and the route records it as a reply: repeated, it
 * pauses the route. */
static void
test_server_replies (void)
{
  g_autoptr (MbSmtpReply) reply
      = mb_smtp_reply_new (535, "5.7.3", "Authentication unsuccessful");
  g_autoptr (GError) error = mb_smtp_client_new_reply_error (
      MB_SMTP_CLIENT_ERROR_AUTH_FAILED, reply, "AUTH refused");
  g_autoptr (MbRoute) route = NULL;
  g_autofree char *line = NULL;
  MbRouteConfig    config = { 0 };
  const char      *keyword = "unset";

  line = mb_delivery_describe_error (error, &keyword);
  g_assert_cmpstr (line, ==, "535 5.7.3 Authentication unsuccessful");
  g_assert_null (keyword);

  config.name = (char *)"m365";
  config.method = MB_ROUTE_METHOD_SUBMISSION;
  config.auth = MB_ROUTE_AUTH_BASIC;
  route = mb_route_new (&config);
  for (guint i = 0; i < MB_ROUTE_DEFAULT_PAUSE_THRESHOLD; i++)
    {
      g_assert_cmpint (mb_route_get_state (route), !=, MB_ROUTE_STATE_PAUSED);
      mb_delivery_record_error (route, error);
    }
  g_assert_cmpint (mb_route_get_state (route), ==, MB_ROUTE_STATE_PAUSED);
  g_assert_cmpstr (mb_route_get_hint (route)->keyword, ==, "m365.auth-failed");
}

/* A refused STARTTLS carries a reply, but the cause shown is ours. */
static void
test_starttls_refused (void)
{
  g_autoptr (MbSmtpReply) reply
      = mb_smtp_reply_new (454, "4.7.0", "TLS not available");
  g_autoptr (GError) error = mb_smtp_client_new_reply_error (
      MB_SMTP_CLIENT_ERROR_NO_STARTTLS, reply, "STARTTLS refused");
  g_autofree char *line = NULL;
  const char      *keyword = NULL;

  line = mb_delivery_describe_error (error, &keyword);
  g_assert_cmpstr (keyword, ==, "mb.starttls-unavailable");
  g_assert_true (g_str_has_prefix (line, "mb.starttls-unavailable "));
}

int
main (int argc, char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/relay/delivery/describe/pseudo-replies",
                   test_pseudo_replies);
  g_test_add_func ("/relay/delivery/describe/server-replies",
                   test_server_replies);
  g_test_add_func ("/relay/delivery/describe/starttls-refused",
                   test_starttls_refused);
  return g_test_run ();
}
