/* fuzz-relay-config.c - libFuzzer target: the configuration file reader
 *
 * Whatever the bytes, mb_relay_config_load_data() either refuses them with
 * an MB_RELAY_CONFIG_ERROR whose message is UTF-8 and starts with the
 * origin, or returns a configuration that keeps the module's promises
 * (limits in range, the chosen route exists, ...).  The same bytes also go
 * through the value parsers of mb-config-syntax, which either accept them
 * or refuse them with a message quoting the value.
 */
#include <stdint.h>
#include <string.h>

#include "mb-config-syntax.h"
#include "mb-relay-config.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

static void
check_config (const MbRelayConfig *config)
{
  g_autoptr (GInetAddress) loopback
      = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr (GInetAddress) mapped
      = g_inet_address_new_from_string ("::ffff:127.0.0.1");

  g_assert_cmpuint (config->listen->len, >, 0);
  g_assert_nonnull (config->allow);
  g_assert_nonnull (config->hostname);
  g_assert_true (g_path_is_absolute (config->spool));
  g_assert_cmpuint (config->max_message_size, >=, 1024);
  g_assert_cmpuint (config->max_message_size, <=, G_GUINT64_CONSTANT (2) << 30);
  g_assert_cmpuint (config->retry_schedule->len, >, 0);
  for (guint i = 0; i < config->retry_schedule->len; i++)
    g_assert_cmpint (g_array_index (config->retry_schedule, gint64, i), >, 0);
  g_assert_cmpint (config->delay_notice_after, >, 0);
  g_assert_cmpint (config->expire_after, >, config->delay_notice_after);
  g_assert_cmpuint (config->max_line_length, >=, 78);
  g_assert_cmpuint (config->max_command_line_length, >=, 512);
  g_assert_cmpuint (config->max_connections_per_client, >=, 1);
  g_assert_cmpuint (config->max_connections_per_client, <=,
                    config->max_connections);
  g_assert_true (config->route == NULL
                 || mb_relay_config_lookup_route (config, config->route));
  for (guint i = 0; i < config->routes->len; i++)
    {
      const MbRouteConfig *route = config->routes->pdata[i];

      g_assert_true (mb_relay_config_lookup_route (config, route->name)
                     == route);
      g_assert_true (g_str_has_prefix (route->authority, "https://"));
      g_assert_nonnull (mb_route_method_to_string (route->method));
      g_assert_nonnull (mb_route_auth_to_string (route->auth));
      g_assert_nonnull (mb_route_tls_to_string (route->tls));
      /* Delivery tuning: 0 / NULL (the profile's) or within its bounds. */
      g_assert_cmpuint (route->max_connections, <=, 50);
      g_assert_cmpuint (route->daily_recipient_limit, <=, 1000000);
      g_assert_cmpuint (route->recipients_per_transaction, <=, 1000);
      g_assert_cmpuint (route->rate_limit_messages, <=, 100000);
      g_assert_true ((route->rate_limit_messages == 0)
                     == (route->rate_limit_window == 0));
      g_assert_cmpint (route->rate_limit_window, >=, 0);
      g_assert_cmpint (route->rate_limit_window, <=, 86400);
      g_assert_true (route->sender_policy == NULL
                     || strcmp (route->sender_policy, "keep") == 0
                     || route->mailbox != NULL);
      g_assert_true (route->send_as == NULL
                     || (route->send_as[0] != NULL && route->mailbox != NULL));
    }
  /* Both forms of an address get the same answer. */
  g_assert_cmpint (mb_relay_config_allows (config, loopback), ==,
                   mb_relay_config_allows (config, mapped));
}

static void
check_refusal (GError *error, const char *text)
{
  g_autofree char *shown = mb_config_syntax_escape (text);
  g_autofree char *quoted = g_strdup_printf ("“%s” ", shown);

  g_assert_error (error, MB_CONFIG_SYNTAX_ERROR,
                  MB_CONFIG_SYNTAX_ERROR_INVALID);
  g_assert_true (g_utf8_validate (error->message, -1, NULL)
                 || !g_utf8_validate (text, -1, NULL));
  g_assert_true (g_str_has_prefix (error->message, quoted));
}

/* Each value parser accepts @text within its bounds or refuses it with a
 * message quoting it. */
static void
check_syntax (const char *text)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GInetSocketAddress) listen = NULL;
  g_autoptr (GInetAddressMask) allow = NULL;
  guint  count = 0;
  gint64 window = 0;

  listen = mb_config_syntax_parse_listen (text, &error);
  if (listen == NULL)
    check_refusal (error, text);
  else
    g_assert_cmpuint (g_inet_socket_address_get_port (listen), >, 0);
  g_clear_error (&error);

  allow = mb_config_syntax_parse_allow (text, &error);
  if (allow == NULL)
    check_refusal (error, text);
  else
    g_assert_cmpuint (g_inet_address_mask_get_length (allow), >=, 7);
  g_clear_error (&error);

  if (mb_config_syntax_parse_rate (text, 100000, 86400, &count, &window,
                                   &error))
    {
      g_assert_cmpuint (count, >=, 1);
      g_assert_cmpuint (count, <=, 100000);
      g_assert_cmpint (window, >=, 1);
      g_assert_cmpint (window, <=, 86400);
    }
  else
    check_refusal (error, text);
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (MbRelayConfig) config = NULL;
  g_autofree char *text = g_strndup ((const char *)data, size);
  gint64           seconds;
  guint64          bytes;

  mb_relay_config_parse_duration (text, &seconds);
  mb_relay_config_parse_size (text, &bytes);
  check_syntax (text);

  config = mb_relay_config_load_data ((const char *)data, size, "fuzz.conf",
                                      &error);
  if (config == NULL)
    {
      g_assert_nonnull (error);
      g_assert_true (error->domain == MB_RELAY_CONFIG_ERROR);
      g_assert_true (g_utf8_validate (error->message, -1, NULL));
      g_assert_true (g_str_has_prefix (error->message, "fuzz.conf:"));
      return 0;
    }
  g_assert_no_error (error);
  check_config (config);
  return 0;
}
