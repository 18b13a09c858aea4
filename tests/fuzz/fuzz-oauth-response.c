/* fuzz-oauth-response.c - fuzz target for the token answers of
 * relay/mb-oauth-private.h (mb-oauth-errors.c)
 *
 * The input is the body of an answer of the token endpoint.  It is read
 * as mb-oauth.c reads it (JSON; anything but an object leaves no object)
 * and judged as a 200 answer (mb_oauth_token_from_response()) and as an
 * error answer of several statuses in each context
 * (mb_oauth_error_from_response()).  Then:
 *   - a token has the access_token of the answer and an expiry that is
 *     not in the past (and no arithmetic overflow on the way);
 *   - an error is in MB_OAUTH_ERROR with a known code, and its message is
 *     one line of UTF-8 (it goes to the log and over D-Bus) that holds no
 *     token or code of the answer.
 * A broken property aborts.
 */
#include "mb-oauth-private.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

static const char *
get_string (JsonObject *object, const char *name)
{
  JsonNode *node;

  if (object == NULL || (node = json_object_get_member (object, name)) == NULL
      || !JSON_NODE_HOLDS_VALUE (node)
      || json_node_get_value_type (node) != G_TYPE_STRING)
    return NULL;
  return json_node_get_string (node);
}

static gboolean
is_one_line (const char *text)
{
  if (!g_utf8_validate (text, -1, NULL))
    return FALSE;
  for (const guchar *p = (const guchar *)text; *p != '\0'; p++)
    if (*p < 0x20 || *p == 0x7f)
      return FALSE;
  return TRUE;
}

/* No secret of the answer may show in @message, unless the answer also
 * wrote it where a message may quote from. */
static void
check_no_secret (JsonObject *object, const char *message)
{
  static const char *const secrets[]
      = { "access_token", "refresh_token", "id_token", "device_code", "code" };
  const char *quotable[] = { get_string (object, "error"),
                             get_string (object, "error_description"),
                             get_string (object, "token_type") };

  for (gsize i = 0; i < G_N_ELEMENTS (secrets); i++)
    {
      const char *secret = get_string (object, secrets[i]);
      gboolean    quoted = FALSE;

      if (secret == NULL || strlen (secret) < 12)
        continue;
      for (gsize q = 0; q < G_N_ELEMENTS (quotable); q++)
        if (quotable[q] != NULL && strstr (quotable[q], secret) != NULL)
          quoted = TRUE;
      if (!quoted && strstr (message, secret) != NULL)
        abort ();
    }
}

static void
check_error (const MbOAuthResponse *response, MbOAuthContext context)
{
  g_autoptr (GError) error = mb_oauth_error_from_response (response, context);

  if (error == NULL || error->domain != MB_OAUTH_ERROR
      || error->code < MB_OAUTH_ERROR_NETWORK
      || error->code > MB_OAUTH_ERROR_PROTOCOL || !is_one_line (error->message))
    abort ();
  if (response->object != NULL)
    check_no_secret (response->object, error->message);
}

static void
check_token (const MbOAuthResponse *response)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (MbOAuthToken) token
      = mb_oauth_token_from_response (response, &error);
  gint64 now = g_get_real_time () / G_USEC_PER_SEC;

  if (token == NULL)
    {
      if (error == NULL || error->domain != MB_OAUTH_ERROR
          || error->code != MB_OAUTH_ERROR_PROTOCOL
          || !is_one_line (error->message))
        abort ();
      return;
    }
  if (error != NULL || token->access_token == NULL
      || *token->access_token == '\0'
      || g_strcmp0 (token->access_token,
                    get_string (response->object, "access_token"))
             != 0
      || token->expires_at < now)
    abort ();
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  static const guint statuses[] = { 400, 401, 403, 429, 500, 503 };
  g_autoptr (JsonParser) parser = json_parser_new ();
  MbOAuthResponse response = { 0 };

  /* As post_cb() in mb-oauth.c. */
  if (size > 0
      && json_parser_load_from_data (parser, (const char *)data, (gssize)size,
                                     NULL)
      && json_parser_get_root (parser) != NULL
      && JSON_NODE_HOLDS_OBJECT (json_parser_get_root (parser)))
    response.object = json_node_get_object (json_parser_get_root (parser));

  response.status = 200;
  check_token (&response);
  for (gsize i = 0; i < G_N_ELEMENTS (statuses); i++)
    {
      response.status = statuses[i];
      check_error (&response, MB_OAUTH_CONTEXT_SIGNIN);
      check_error (&response, MB_OAUTH_CONTEXT_REFRESH);
      check_error (&response, MB_OAUTH_CONTEXT_APP);
    }
  mb_oauth_response_get_error (&response);
  mb_oauth_response_get_aadsts (&response);
  return 0;
}
