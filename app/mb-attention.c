/* mb-attention.c - what needs the admin, worded for them */
#define G_LOG_DOMAIN "mb-attention"

#include "mb-attention.h"

#include <glib/gi18n.h>

#include "mb-format.h"
#include "mb-secret-expiry.h"

void
mb_attention_free (MbAttention *attention)
{
  if (attention == NULL)
    return;
  g_free (attention->title);
  g_free (attention->detail);
  g_clear_pointer (&attention->action_target, g_variant_unref);
  g_free (attention);
}

static void
describe_route (MbAttention *attention, const MbRouteStatus *route)
{
  g_autofree char *hint = mb_format_hint (route->hint, route->hint_text);
  /* "mb." pseudo replies are local failures, not Microsoft's words. */
  const char *reply
      = g_str_has_prefix (route->last_reply, "mb.") ? "" : route->last_reply;

  if (route->state == MB_ROUTE_STATE_NEEDS_SIGNIN)
    {
      attention->kind = MB_ATTENTION_SIGN_IN;
      /* Translators: %s is the name of a route, e.g. "m365" */
      attention->title = g_strdup_printf (
          _ ("Route “%s” needs you to sign in again"), route->name);
      attention->detail = g_strdup (
          hint != NULL ? hint
                       : _ ("Microsoft 365 no longer accepts the saved "
                            "sign-in. Mail waits in the queue until you sign "
                            "in again."));
      attention->action_label = _ ("_Sign In Again…");
      attention->action_name = "app.sign-in";
      attention->action_target
          = g_variant_ref_sink (g_variant_new_string (route->name));
      return;
    }

  attention->kind = MB_ATTENTION_ROUTE_PAUSED;
  if (route->state == MB_ROUTE_STATE_PAUSED)
    attention->title
        = g_strdup_printf (_ ("Delivery through “%s” is paused"), route->name);
  else
    attention->title = g_strdup_printf (
        _ ("Delivery through “%s” keeps failing"), route->name);
  if (*reply != '\0' && hint != NULL)
    /* Translators: %s is the server's reply, then the explanation */
    attention->detail
        = g_strdup_printf (_ ("Microsoft 365 replied “%s”. %s"), reply, hint);
  else if (hint != NULL)
    attention->detail = g_steal_pointer (&hint);
  else if (*reply != '\0')
    attention->detail
        = g_strdup_printf (_ ("Microsoft 365 replied “%s”."), reply);
  else if (*route->reason != '\0')
    /* The relay's own words (English): better than nothing. */
    attention->detail = g_strdup (route->reason);
  /* Resume releases a route paused after repeated failures. */
  attention->action_label = _ ("_Retry Now");
  attention->action_name = "app.resume-route";
}

/* The relay flags a client secret due within 14 days, or past; Entra,
 * not the date, decides whether it still works. */
static void
describe_secret (MbAttention *attention, const MbRouteStatus *route)
{
  g_autofree char *date = mb_secret_expiry_format (route->secret_expires);

  attention->kind = MB_ATTENTION_SECRET;
  if (route->secret_expires <= g_get_real_time () / G_USEC_PER_SEC)
    {
      /* Translators: a route name, e.g. "m365", then a date */
      attention->title = g_strdup_printf (
          _ ("The client secret of route “%s” expired on %s"), route->name,
          date);
      attention->detail = g_strdup (
          _ ("Microsoft 365 stops accepting a secret once it has expired, and "
             "mail then waits in the queue. In the Microsoft Entra admin "
             "center, add a new client secret to the app registration "
             "(Certificates & secrets), then enter its value and expiry "
             "date here."));
    }
  else
    {
      /* Translators: a route name, e.g. "m365", then a date */
      attention->title = g_strdup_printf (
          _ ("The client secret of route “%s” expires on %s"), route->name,
          date);
      attention->detail = g_strdup (
          _ ("Mail goes out until then. In the Microsoft Entra admin center, "
             "add a new client secret to the app registration (Certificates "
             "& secrets), enter its value and expiry date here, then delete "
             "the old secret there."));
    }
  attention->action_label = _ ("_Enter New Secret…");
  attention->action_name = "app.renew-secret";
  attention->action_target
      = g_variant_ref_sink (g_variant_new_string (route->name));
}

MbAttention *
mb_attention_new_for_client (MbRelayClient *client)
{
  g_autoptr (MbAttention) attention = g_new0 (MbAttention, 1);
  GPtrArray         *routes = mb_relay_client_get_routes (client);
  const char *const *reasons = mb_relay_client_get_attention_reasons (client);

  switch (mb_relay_client_get_connection (client))
    {
    case MB_RELAY_CONNECTION_CONNECTING:
      return g_steal_pointer (&attention);
    case MB_RELAY_CONNECTION_UNREACHABLE:
      attention->kind = MB_ATTENTION_NO_RELAY;
      attention->title = g_strdup (_ ("The relay is not running"));
      attention->detail
          = g_strdup (mb_relay_client_get_connection_error (client));
      attention->action_label = _ ("_Start Relay");
      attention->action_name = "app.start-relay";
      return g_steal_pointer (&attention);
    case MB_RELAY_CONNECTION_CONNECTED:
    default:
      break;
    }

  if (routes->len == 0)
    {
      attention->kind = MB_ATTENTION_NO_ROUTE;
      attention->title = g_strdup (_ ("No route to Microsoft 365 is set up"));
      attention->detail = g_strdup (
          _ ("Devices can send mail to the relay, but it stays in the queue "
             "until you choose how to deliver it."));
      attention->action_label = _ ("_Open Setup Assistant…");
      attention->action_name = "app.setup";
      return g_steal_pointer (&attention);
    }

  for (guint i = 0; i < routes->len; i++)
    {
      const MbRouteStatus *route = g_ptr_array_index (routes, i);

      if (route->state != MB_ROUTE_STATE_NEEDS_SIGNIN)
        continue;
      /* Its secret has expired: a new secret, not a sign-in, helps. */
      if (route->secret_expires != 0
          && route->secret_expires <= g_get_real_time () / G_USEC_PER_SEC)
        describe_secret (attention, route);
      else
        describe_route (attention, route);
      return g_steal_pointer (&attention);
    }
  for (guint i = 0; i < routes->len; i++)
    {
      const MbRouteStatus *route = g_ptr_array_index (routes, i);

      if (route->state == MB_ROUTE_STATE_PAUSED
          || route->state == MB_ROUTE_STATE_FAILING)
        {
          describe_route (attention, route);
          return g_steal_pointer (&attention);
        }
    }

  for (guint i = 0; i < routes->len; i++)
    {
      const MbRouteStatus *route = g_ptr_array_index (routes, i);

      if (route->secret_expires != 0)
        {
          describe_secret (attention, route);
          return g_steal_pointer (&attention);
        }
    }

  if (reasons[0] != NULL)
    {
      /* The relay words these itself (disk full, spool errors); they are
       * English sentences. */
      attention->kind = MB_ATTENTION_OTHER;
      attention->title = g_strdup (_ ("The relay needs your attention"));
      attention->detail = g_strjoinv ("\n", (char **)reasons);
      attention->action_label = _ ("_Retry Now");
      attention->action_name = "app.retry-all";
    }
  return g_steal_pointer (&attention);
}
