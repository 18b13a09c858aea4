/* mb-oauth-errors.c - what the authority's answers mean
 *
 * Contract:
 *  - A 200 answer holds a token (RFC 6749 5.1): access_token, token_type
 *    Bearer, expires_in (a number, or a string as Entra v1 sent it),
 *    optionally refresh_token and scope.  expires_at is computed from our
 *    clock when the answer arrives.
 *  - Any other answer is an error (RFC 6749 5.2; RFC 8628 3.5): its
 *    "error" picks the MB_OAUTH_ERROR code for the context (the same
 *    invalid_grant is a refused code during a sign-in and a dead refresh
 *    token on refresh), and Entra's AADSTS code (error_codes, or the start
 *    of error_description) picks a plain-language explanation from the one
 *    table below, which may also pick the code.  5xx, 429 and
 *    temporarily_unavailable are NETWORK: try later.
 *  - Messages never hold a token or a code, only Entra's description's
 *    first line (without its trace and correlation IDs).
 *
 * Sources: M365-FACTS.md 2.3 and [S9], [S10], [S12], [S13]; Entra's error
 * code reference (learn.microsoft.com/entra/identity-platform/
 * reference-error-codes).  AADSTS70016 (pending) is handled by the device
 * flow before it gets here (mb_oauth_response_get_aadsts()).
 */
#define G_LOG_DOMAIN "mb-oauth"

#include "mb-oauth-private.h"

#include <stdlib.h>
#include <string.h>

/* Entra defaults to 60-90 minutes (M365-FACTS.md 2.3); used only when an
 * answer lacks expires_in, which RFC 6749 5.1 allows. */
#define DEFAULT_EXPIRES_IN 3600
#define MAX_EXPIRES_IN (24 * 3600)

typedef struct
{
  guint       aadsts;
  int         code; /* MbOAuthError, or -1: keep the code of "error" */
  const char *explanation;
} AadstsHint;

/* The one table: Entra's AADSTS codes a relay admin meets, in plain
 * language with the fix. */
static const AadstsHint aadsts_hints[] = {
  { 7000218, MB_OAUTH_ERROR_INVALID_CLIENT,
    "The app registration does not allow public client flows: in the "
    "Entra admin center open the app's Authentication page and set "
    "\"Allow public client flows\" to Yes" },
  { 50076, MB_OAUTH_ERROR_BLOCKED,
    "The tenant requires multi-factor authentication for this sign-in: "
    "sign in again and complete it" },
  { 50079, MB_OAUTH_ERROR_BLOCKED,
    "The account must register for multi-factor authentication before it "
    "can sign in: do that at https://aka.ms/mfasetup, then sign in again" },
  { 53003, MB_OAUTH_ERROR_BLOCKED,
    "Conditional Access blocked the sign-in (policies often block the "
    "device code flow): use the browser sign-in, or ask the tenant admin "
    "to exclude this app or account from the policy" },
  { 50105, MB_OAUTH_ERROR_BLOCKED,
    "The account is not assigned to this app: assign it under Enterprise "
    "applications, Users and groups" },
  { 50173, MB_OAUTH_ERROR_NEEDS_SIGNIN,
    "The sign-in was revoked, for example by a password change or reset: "
    "sign in again" },
  { 70008, MB_OAUTH_ERROR_NEEDS_SIGNIN,
    "The sign-in expired after a long time without use, or was revoked: "
    "sign in again" },
  { 700082, MB_OAUTH_ERROR_NEEDS_SIGNIN,
    "The sign-in expired after 90 days without use: sign in again" },
  { 700016, MB_OAUTH_ERROR_INVALID_CLIENT,
    "No app with this client ID exists in the tenant: check client-id and "
    "tenant" },
  { 7000215, MB_OAUTH_ERROR_INVALID_CLIENT,
    "The client secret is wrong: use the secret's Value, not its Secret "
    "ID" },
  { 7000222, MB_OAUTH_ERROR_INVALID_CLIENT,
    "The client secret has expired: create a new one under Certificates & "
    "secrets" },
  { 700027, MB_OAUTH_ERROR_INVALID_CLIENT,
    "The certificate was refused: upload this certificate to the app "
    "registration under Certificates & secrets" },
  { 65001, MB_OAUTH_ERROR_INVALID_CLIENT,
    "The app has no consent for the permission: grant admin consent for "
    "SMTP.Send (delegated) or SMTP.SendAsApp (application)" },
  { 90002, MB_OAUTH_ERROR_CONFIG,
    "The tenant does not exist: check the route's tenant" },
};

typedef struct
{
  const char *error;
  int         code; /* MbOAuthError; -1: depends on the context */
  const char *summary;
} ErrorName;

/* RFC 6749 5.2, RFC 8628 3.5, OpenID Connect 3.1.2.6. */
static const ErrorName error_names[] = {
  { "invalid_grant", -1, NULL },
  { "interaction_required", -1, NULL },
  { "authorization_declined", MB_OAUTH_ERROR_DECLINED,
    "The user declined the sign-in" },
  { "access_denied", MB_OAUTH_ERROR_DECLINED,
    "The sign-in was declined or denied" },
  { "expired_token", MB_OAUTH_ERROR_EXPIRED,
    "The code expired before the sign-in was completed: start again" },
  { "bad_verification_code", MB_OAUTH_ERROR_BAD_CODE,
    "The sign-in service did not recognise the device code: start again" },
  { "invalid_client", MB_OAUTH_ERROR_INVALID_CLIENT,
    "The app registration refused the client credentials" },
  { "unauthorized_client", MB_OAUTH_ERROR_INVALID_CLIENT,
    "The app registration does not allow this kind of sign-in" },
  { "invalid_scope", MB_OAUTH_ERROR_INVALID_CLIENT,
    "The app registration refused the requested permission (scope)" },
  { "temporarily_unavailable", MB_OAUTH_ERROR_NETWORK,
    "The sign-in service is temporarily unavailable: trying again later" },
  { "server_error", MB_OAUTH_ERROR_NETWORK,
    "The sign-in service had an internal error: trying again later" },
};

static const AadstsHint *
lookup_aadsts (guint aadsts)
{
  for (gsize i = 0; i < G_N_ELEMENTS (aadsts_hints); i++)
    if (aadsts_hints[i].aadsts == aadsts)
      return &aadsts_hints[i];
  return NULL;
}

static const char *
get_string_member (JsonObject *object, const char *name)
{
  JsonNode *node;

  if (object == NULL)
    return NULL;
  node = json_object_get_member (object, name);
  if (node == NULL || !JSON_NODE_HOLDS_VALUE (node)
      || json_node_get_value_type (node) != G_TYPE_STRING)
    return NULL;
  return json_node_get_string (node);
}

/* Entra's first AADSTS code: error_codes[0], or "AADSTS<n>:" at the start
 * of error_description. */
static guint
find_aadsts (JsonObject *object, const char *description)
{
  JsonNode *node = json_object_get_member (object, "error_codes");

  if (node != NULL && JSON_NODE_HOLDS_ARRAY (node)
      && json_array_get_length (json_node_get_array (node)) > 0)
    {
      JsonNode *first = json_array_get_element (json_node_get_array (node), 0);

      if (JSON_NODE_HOLDS_VALUE (first)
          && json_node_get_value_type (first) == G_TYPE_INT64
          && json_node_get_int (first) > 0
          && json_node_get_int (first) < G_MAXUINT)
        return (guint)json_node_get_int (first);
    }
  if (description != NULL && g_str_has_prefix (description, "AADSTS")
      && g_ascii_isdigit (description[6]))
    {
      guint64 value = g_ascii_strtoull (description + 6, NULL, 10);

      if (value > 0 && value < G_MAXUINT)
        return (guint)value;
    }
  return 0;
}

/* @text as one line of valid UTF-8: what the authority wrote goes into
 * messages, the log and D-Bus. */
static char *
make_printable (const char *text)
{
  char *copy = g_utf8_make_valid (text, -1);

  for (char *p = copy; *p != '\0'; p++)
    if ((guchar)*p < 0x20 || *p == 0x7f)
      *p = ' ';
  return copy;
}

/* The description's first line without "AADSTSn: " (Entra appends trace
 * and correlation IDs on further lines). */
static char *
first_line (const char *description)
{
  const char      *start = description;
  const char      *end;
  g_autofree char *line = NULL;

  if (description == NULL)
    return NULL;
  if (g_str_has_prefix (start, "AADSTS"))
    {
      const char *colon = strchr (start, ':');

      if (colon != NULL)
        start = colon + 1;
    }
  while (*start == ' ')
    start++;
  end = start + strcspn (start, "\r\n");
  while (end > start && (end[-1] == ' ' || end[-1] == '.'))
    end--;
  if (end == start)
    return NULL;
  line = g_strndup (start, end - start);
  return make_printable (line);
}

static int
code_for_context (const char *error, MbOAuthContext context)
{
  gboolean refused_grant = g_strcmp0 (error, "invalid_grant") == 0;

  if (!refused_grant && g_strcmp0 (error, "interaction_required") != 0)
    return -1;
  switch (context)
    {
    case MB_OAUTH_CONTEXT_REFRESH:
      return MB_OAUTH_ERROR_NEEDS_SIGNIN;
    case MB_OAUTH_CONTEXT_SIGNIN:
      return refused_grant ? MB_OAUTH_ERROR_BAD_CODE : MB_OAUTH_ERROR_BLOCKED;
    case MB_OAUTH_CONTEXT_APP:
    default:
      return MB_OAUTH_ERROR_INVALID_CLIENT;
    }
}

static const char *
summary_for_context (int code, MbOAuthContext context)
{
  switch (code)
    {
    case MB_OAUTH_ERROR_NEEDS_SIGNIN:
      return "The stored sign-in is no longer valid: sign in again";
    case MB_OAUTH_ERROR_BAD_CODE:
      return "The sign-in service refused the sign-in code: start again";
    case MB_OAUTH_ERROR_BLOCKED:
      return "A tenant policy requires an interactive sign-in";
    case MB_OAUTH_ERROR_INVALID_CLIENT:
    default:
      return context == MB_OAUTH_CONTEXT_APP
                 ? "The app registration refused the client credentials"
                 : "The sign-in service refused the request";
    }
}

/* Public (private header) API */

const char *
mb_oauth_response_get_error (const MbOAuthResponse *response)
{
  return get_string_member (response->object, "error");
}

guint
mb_oauth_response_get_aadsts (const MbOAuthResponse *response)
{
  if (response->object == NULL)
    return 0;
  return find_aadsts (
      response->object,
      get_string_member (response->object, "error_description"));
}

GError *
mb_oauth_error_from_response (const MbOAuthResponse *response,
                              MbOAuthContext         context)
{
  const char *error = mb_oauth_response_get_error (response);
  const char *description
      = get_string_member (response->object, "error_description");
  g_autofree char  *detail = first_line (description);
  const char       *summary = NULL;
  const AadstsHint *hint = NULL;
  int               code = -1;
  guint             aadsts = 0;
  g_autofree char  *aadsts_text = NULL;
  g_autofree char  *shown_error = NULL;

  if (error == NULL)
    {
      if (response->status >= 500 || response->status == 429)
        return g_error_new (MB_OAUTH_ERROR, MB_OAUTH_ERROR_NETWORK,
                            "The sign-in service answered HTTP %u: trying "
                            "again later",
                            response->status);
      return g_error_new (MB_OAUTH_ERROR, MB_OAUTH_ERROR_PROTOCOL,
                          "The sign-in service answered HTTP %u without an "
                          "OAuth error",
                          response->status);
    }

  for (gsize i = 0; i < G_N_ELEMENTS (error_names); i++)
    if (strcmp (error_names[i].error, error) == 0)
      {
        code = error_names[i].code;
        summary = error_names[i].summary;
        break;
      }
  if (code == -1)
    code = code_for_context (error, context);

  aadsts = find_aadsts (response->object, description);
  hint = aadsts != 0 ? lookup_aadsts (aadsts) : NULL;
  /* A dead refresh token stays NEEDS_SIGNIN whatever the reason: the
   * admin's way out is a new sign-in, and the hint says why. */
  if (hint != NULL && hint->code >= 0
      && !(context == MB_OAUTH_CONTEXT_REFRESH
           && code == MB_OAUTH_ERROR_NEEDS_SIGNIN))
    code = hint->code;
  if (code == -1)
    code = response->status >= 500 ? MB_OAUTH_ERROR_NETWORK
                                   : MB_OAUTH_ERROR_PROTOCOL;
  if (hint != NULL)
    return g_error_new (MB_OAUTH_ERROR, code, "%s (AADSTS%u)",
                        hint->explanation, aadsts);
  if (summary == NULL)
    summary = code == MB_OAUTH_ERROR_PROTOCOL
                  ? "The sign-in service refused the request"
                  : summary_for_context (code, context);
  if (aadsts != 0)
    aadsts_text = g_strdup_printf ("; AADSTS%u", aadsts);
  shown_error = make_printable (error);
  /* "The user declined the sign-in (Entra: authorization_declined: The
   * user has declined ...; AADSTS70000)" */
  return g_error_new (MB_OAUTH_ERROR, code, "%s (Entra: %s%s%s%s)", summary,
                      shown_error, detail != NULL ? ": " : "",
                      detail != NULL ? detail : "",
                      aadsts_text != NULL ? aadsts_text : "");
}

MbOAuthToken *
mb_oauth_token_from_response (const MbOAuthResponse *response, GError **error)
{
  g_autoptr (MbOAuthToken) token = NULL;
  const char *access_token
      = get_string_member (response->object, "access_token");
  const char *token_type = get_string_member (response->object, "token_type");
  JsonNode   *expires = NULL;
  gint64      expires_in = DEFAULT_EXPIRES_IN;

  if (access_token == NULL || *access_token == '\0')
    {
      g_set_error_literal (error, MB_OAUTH_ERROR, MB_OAUTH_ERROR_PROTOCOL,
                           "The sign-in service answered without an access "
                           "token");
      return NULL;
    }
  /* RFC 6749 7.1: only Bearer tokens go into XOAUTH2. */
  if (token_type != NULL && g_ascii_strcasecmp (token_type, "Bearer") != 0)
    {
      g_autofree char *shown = make_printable (token_type);

      g_set_error (error, MB_OAUTH_ERROR, MB_OAUTH_ERROR_PROTOCOL,
                   "The sign-in service issued a token of type %s, not "
                   "Bearer",
                   shown);
      return NULL;
    }

  expires = json_object_get_member (response->object, "expires_in");
  if (expires != NULL && JSON_NODE_HOLDS_VALUE (expires))
    {
      if (json_node_get_value_type (expires) == G_TYPE_INT64)
        expires_in = json_node_get_int (expires);
      else if (json_node_get_value_type (expires) == G_TYPE_STRING)
        expires_in = g_ascii_strtoll (json_node_get_string (expires), NULL, 10);
    }
  /* Entra's tokens live 60-90 minutes, at most a day; a longer promise
   * only makes us refresh early, and the sum below cannot overflow. */
  expires_in = CLAMP (expires_in, 0, MAX_EXPIRES_IN);

  token = mb_oauth_token_new ();
  token->access_token = g_strdup (access_token);
  token->refresh_token
      = g_strdup (get_string_member (response->object, "refresh_token"));
  token->scope = g_strdup (get_string_member (response->object, "scope"));
  token->expires_at = g_get_real_time () / G_USEC_PER_SEC + expires_in;
  return g_steal_pointer (&token);
}
