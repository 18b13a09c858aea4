/* mb-sender-policy.c - what the envelope sender and From: become on a route
 *
 * WHAT IT DOES
 *   Decides, per message and route, the reverse path (P1, MAIL FROM) and
 *   whether the From: field (P2) is replaced, so that Microsoft 365 takes
 *   the message (M365-FACTS.md 1.1, 4, 6, 7):
 *     submission, hve  REWRITE_FROM by default: only the signed-in mailbox
 *                      or an address it may Send As passes (5.7.60,
 *                      5.2.252 SendAsDenied, which also counts towards
 *                      the continuous-error block of 3.1);
 *     direct-send,     KEEP by default: any address of an accepted domain
 *     connector        passes, and the connector attributes the message by
 *                      the P1 domain (5.7.64), so P1 must stay the
 *                      device's own.
 *   A replaced From: is the mailbox with the device's display name and
 *   "(via Mailbridge)"; the device's From: goes to Reply-To: (replies
 *   still reach the person) and X-Mailbridge-Original-From: (the admin can
 *   tell devices apart).  mb-sender-policy-rewrite.c applies the decision
 *   to the message.
 *
 * GUARANTEES
 *   - Pure and thread-safe: no I/O, no global state but GMime's.
 *   - An unusable reverse path (empty, or not an RFC 5321 mailbox) never
 *     goes upstream when anything better is configured.
 *   - The field values we produce are ASCII (names beyond ASCII in
 *     RFC 2047 "Q" words of UTF-8, ASCII names quoted by GMime; only an
 *     address beyond ASCII stays UTF-8) and unfolded.
 *   - The reason is key=value text for log lines: policy=, envelope=
 *     (kept, mailbox, admin-address, none), from= (kept, rewritten) and
 *     maybe note= (unusable-sender, no-mailbox,
 *     sender-outside-accepted-domain).
 *
 * WHAT IT DOES NOT DO
 *   It does not check that the mailbox really has Send As rights (the
 *   send-as list is the admin's word), does not look at Sender:, and does
 *   not refuse anything: a sender outside the accepted domain on Direct
 *   Send or the connector is kept and the upstream decides (the note says
 *   so for the log).
 *
 * A note on GMime 3.2.13: its decoder drops an encoded word that follows
 * a "B" word with padding (jstedfast/gmime#133, fixed upstream), and its
 * encoder writes such pairs for most non-Latin names.  So names beyond
 * ASCII are encoded here as "Q" words, which any decoder, GMime's
 * included, reads back; the decision keeps encoded strings, never to be
 * decoded again; and a device's From: that is already ASCII is copied to
 * Reply-To: as it is, not decoded and re-encoded.  A device's own "B"
 * pairs can still lose a word in the display name we derive from them.
 *
 * RFC 5322 3.6.2 (From, Sender, Reply-To), RFC 5321 4.1.2 (paths),
 * RFC 2047 (encoded words).
 */
#define G_LOG_DOMAIN "mb-sender-policy"

#include "mb-sender-policy.h"
#include "mb-sender-policy-private.h"

#include <gmime/gmime.h>
#include <string.h>

#include "mb-smtp-parser.h"
#include "mb-mime.h"

#define VIA_SUFFIX " (via Mailbridge)"

GQuark
mb_sender_policy_error_quark (void)
{
  return g_quark_from_static_string ("mb-sender-policy-error-quark");
}

/* GMime 3.2 declares no cleanup functions of its own. */
G_DEFINE_AUTOPTR_CLEANUP_FUNC (InternetAddressList, g_object_unref)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (InternetAddress, g_object_unref)

/* Helpers */

static gboolean
is_ascii (const char *text)
{
  for (const char *p = text; *p != '\0'; p++)
    if ((guchar)*p >= 0x80)
      return FALSE;
  return TRUE;
}

static gboolean
is_usable_address (const char *address)
{
  return address != NULL && address[0] != '\0'
         && mb_smtp_parser_is_valid_mailbox (address, TRUE);
}

static const char *
get_domain (const char *address)
{
  const char *at = strrchr (address, '@');

  return at != NULL ? at + 1 : "";
}

static char *
get_local_part (const char *address)
{
  const char *at = strrchr (address, '@');

  return at != NULL ? g_strndup (address, (gsize)(at - address))
                    : g_strdup (address);
}

static gboolean
is_mailer_daemon (const char *address)
{
  g_autofree char *local = get_local_part (address);

  return g_ascii_strcasecmp (local, "MAILER-DAEMON") == 0;
}

/* Whether @domain is @accepted or a subdomain of it. */
static gboolean
is_in_domain (const char *domain, const char *accepted)
{
  gsize len = strlen (domain);
  gsize accepted_len = strlen (accepted);

  if (g_ascii_strcasecmp (domain, accepted) == 0)
    return TRUE;
  return len > accepted_len + 1 && domain[len - accepted_len - 1] == '.'
         && g_ascii_strcasecmp (domain + len - accepted_len, accepted) == 0;
}

/* The first mailbox of an address list, or NULL (a group, or nothing
 * parsable). */
static InternetAddressMailbox *
get_first_mailbox (InternetAddressList *list)
{
  if (list == NULL || internet_address_list_length (list) == 0)
    return NULL;
  {
    InternetAddress *address = internet_address_list_get_address (list, 0);

    return INTERNET_ADDRESS_IS_MAILBOX (address)
               ? INTERNET_ADDRESS_MAILBOX (address)
               : NULL;
  }
}

/* Appends the "Q" encoding (RFC 2047 4.2, the phrase rules of 5(3)) of
 * the character at @p. */
static void
append_q_char (GString *out, const char *p)
{
  const char *next = g_utf8_next_char (p);

  for (const char *b = p; b < next && *b != '\0'; b++)
    {
      guchar c = (guchar)*b;

      if (c == ' ')
        g_string_append_c (out, '_');
      else if (g_ascii_isalnum (c) || strchr ("!*+-/", c) != NULL)
        g_string_append_c (out, (char)c);
      else
        g_string_append_printf (out, "=%02X", c);
    }
}

/* RFC 2047 5(3): a phrase beyond ASCII as "Q" words of UTF-8, each within
 * 75 characters and holding whole characters.  A new word starts after a
 * blank where it can: decoders that wrongly put a blank between adjacent
 * words (Python's email package does) then only double one.  "Q" and not
 * GMime's choice: GMime 3.2.13 picks "B" for most non-Latin text and then
 * cannot read its own output (see the note at the top). */
static char *
encode_phrase (const char *text)
{
  /* 75 minus "=?UTF-8?Q?" and "?=". */
  const gsize budget = 63;
  GString    *out = g_string_new ("=?UTF-8?Q?");
  gsize       word_start = out->len;
  /* A device's raw From: may hold any bytes: stepping by UTF-8 characters
   * over a cut-off sequence would run past the end of the string. */
  g_autofree char *valid = g_utf8_make_valid (text, -1);
  const char      *p = valid;

  while (*p != '\0')
    {
      g_autoptr (GString) chunk = g_string_new (NULL);

      /* A chunk: up to and including the next blank, or one character
       * more when the chunk alone would not fit a word. */
      while (*p != '\0')
        {
          gsize    before = chunk->len;
          gboolean blank = *p == ' ';

          append_q_char (chunk, p);
          if (chunk->len > budget && before > 0)
            {
              g_string_truncate (chunk, before);
              break;
            }
          p = g_utf8_next_char (p);
          if (blank)
            break;
        }
      if (out->len > word_start && out->len - word_start + chunk->len > budget)
        {
          g_string_append (out, "?= =?UTF-8?Q?");
          word_start = out->len;
        }
      g_string_append_len (out, chunk->str, (gssize)chunk->len);
    }
  g_string_append (out, "?=");
  return g_string_free (out, FALSE);
}

/* One mailbox as a field value: an ASCII name quoted as needed by GMime, a
 * name beyond ASCII in encoded words. */
static char *
format_mailbox (const char *name, const char *address)
{
  g_autoptr (InternetAddressList) list = NULL;
  g_autoptr (InternetAddress) mailbox = NULL;
  g_autofree char *phrase = NULL;

  /* GMime's default format options exist only after g_mime_init(); a
   * decision without a From: may get here before anything else used it. */
  mb_mime_ensure_init ();
  if (name != NULL && name[0] != '\0' && !is_ascii (name))
    {
      phrase = encode_phrase (name);
      return g_strdup_printf ("%s <%s>", phrase, address);
    }
  list = internet_address_list_new ();
  mailbox = internet_address_mailbox_new (name, address);
  internet_address_list_add (list, mailbox);
  return internet_address_list_to_string (list, NULL, TRUE);
}

/* An address list as a field value, ASCII but for addresses beyond ASCII
 * (SMTPUTF8).  Groups are left to GMime. */
static char *
format_list (InternetAddressList *list)
{
  g_autoptr (GString) out = g_string_new (NULL);

  for (int i = 0; i < internet_address_list_length (list); i++)
    {
      InternetAddress *address = internet_address_list_get_address (list, i);
      g_autofree char *text = NULL;

      if (!INTERNET_ADDRESS_IS_MAILBOX (address))
        return internet_address_list_to_string (list, NULL, TRUE);
      text = format_mailbox (internet_address_get_name (address),
                             internet_address_mailbox_get_addr (
                                 INTERNET_ADDRESS_MAILBOX (address)));
      g_string_append_printf (out, "%s%s", i > 0 ? ", " : "", text);
    }
  return g_strdup (out->str);
}

/* "NAME (via Mailbridge)" <mailbox>. */
static char *
format_new_from (const char *display, const char *mailbox)
{
  g_autofree char *name = NULL;

  name = display != NULL && display[0] != '\0'
             ? g_strconcat (display, VIA_SUFFIX, NULL)
             : g_strdup ("Mailbridge");
  return format_mailbox (name, mailbox);
}

static MbSenderDecision *
decision_new (const char *envelope_sender)
{
  MbSenderDecision *decision = g_new0 (MbSenderDecision, 1);

  decision->envelope_sender = g_strdup (envelope_sender);
  return decision;
}

/* Fills the From: part of a REWRITE_FROM decision.  @header_from is the
 * device's field value (or NULL), @sender its usable reverse path (or
 * NULL). */
static void
decide_from (const MbSenderPolicyConfig *config,
             const char                 *header_from,
             const char                 *sender,
             MbSenderDecision           *decision)
{
  g_autoptr (InternetAddressList) list = NULL;
  g_autofree char        *raw = NULL;
  g_autofree char        *display = NULL;
  InternetAddressMailbox *first = NULL;
  const char             *address = NULL;
  const char             *name = NULL;

  if (header_from != NULL)
    {
      mb_mime_ensure_init ();
      raw = mb_sender_policy_unfold (header_from);
      list = internet_address_list_parse (NULL, raw);
      first = get_first_mailbox (list);
    }
  if (first != NULL)
    {
      address = internet_address_mailbox_get_addr (first);
      name = internet_address_get_name (INTERNET_ADDRESS (first));
    }
  if (address != NULL && mb_sender_policy_is_allowed (config, address))
    return;

  /* The display name that tells people which device sent it. */
  if (name != NULL && name[0] != '\0')
    display = mb_sender_policy_unfold (name);
  else if (address != NULL && address[0] != '\0')
    display = get_local_part (address);
  else if (sender != NULL)
    display = get_local_part (sender);

  decision->rewrite_from = TRUE;
  decision->new_from = format_new_from (display, config->mailbox);
  if (first != NULL)
    {
      /* ASCII as the device wrote it (no decode/encode round trip, see the
       * note at the top); raw 8-bit text encoded by GMime. */
      char *original = is_ascii (raw) ? g_strdup (raw) : format_list (list);

      decision->original_from = original;
      if (!is_mailer_daemon (address))
        decision->reply_to = g_strdup (original);
    }
  else if (raw != NULL && raw[0] != '\0')
    {
      decision->original_from
          = is_ascii (raw) ? g_strdup (raw) : encode_phrase (raw);
    }
  else if (sender != NULL && !is_mailer_daemon (sender))
    {
      decision->reply_to = g_strdup (sender);
    }
}

/* Public API */

MbSenderPolicyMode
mb_sender_policy_mode_for_method (MbRouteMethod method)
{
  switch (method)
    {
    case MB_ROUTE_METHOD_SUBMISSION:
    case MB_ROUTE_METHOD_HVE:
      return MB_SENDER_POLICY_MODE_REWRITE_FROM;
    case MB_ROUTE_METHOD_DIRECT_SEND:
    case MB_ROUTE_METHOD_CONNECTOR:
    default:
      return MB_SENDER_POLICY_MODE_KEEP;
    }
}

const char *
mb_sender_policy_mode_to_string (MbSenderPolicyMode mode)
{
  switch (mode)
    {
    case MB_SENDER_POLICY_MODE_KEEP:
      return "keep";
    case MB_SENDER_POLICY_MODE_REWRITE_ENVELOPE:
      return "rewrite-envelope";
    case MB_SENDER_POLICY_MODE_REWRITE_FROM:
      return "rewrite-from";
    default:
      return "unknown";
    }
}

gboolean
mb_sender_policy_mode_from_string (const char *text, MbSenderPolicyMode *mode)
{
  static const MbSenderPolicyMode modes[] = {
    MB_SENDER_POLICY_MODE_KEEP,
    MB_SENDER_POLICY_MODE_REWRITE_ENVELOPE,
    MB_SENDER_POLICY_MODE_REWRITE_FROM,
  };

  g_return_val_if_fail (text != NULL, FALSE);

  for (gsize i = 0; i < G_N_ELEMENTS (modes); i++)
    if (g_strcmp0 (text, mb_sender_policy_mode_to_string (modes[i])) == 0)
      {
        if (mode != NULL)
          *mode = modes[i];
        return TRUE;
      }
  return FALSE;
}

MbSenderPolicyConfig *
mb_sender_policy_config_new (MbRouteMethod method)
{
  MbSenderPolicyConfig *config = g_new0 (MbSenderPolicyConfig, 1);

  config->method = method;
  config->mode = mb_sender_policy_mode_for_method (method);
  return config;
}

MbSenderPolicyConfig *
mb_sender_policy_config_new_from_route (const MbRouteConfig *route,
                                        const char          *admin_address)
{
  MbSenderPolicyConfig *config;

  g_return_val_if_fail (route != NULL, NULL);

  config = mb_sender_policy_config_new (route->method);
  /* relay-config has validated the name; unset keeps the method default. */
  if (route->sender_policy != NULL)
    mb_sender_policy_mode_from_string (route->sender_policy, &config->mode);
  g_strfreev (config->send_as);
  config->send_as = g_strdupv (route->send_as);
  config->mailbox = g_strdup (route->mailbox);
  config->accepted_domain = g_strdup (route->domain);
  config->admin_address = g_strdup (admin_address);
  return config;
}

MbSenderPolicyConfig *
mb_sender_policy_config_copy (const MbSenderPolicyConfig *config)
{
  MbSenderPolicyConfig *copy;

  g_return_val_if_fail (config != NULL, NULL);

  copy = g_new0 (MbSenderPolicyConfig, 1);
  copy->mode = config->mode;
  copy->send_as = g_strdupv (config->send_as);
  copy->mailbox = g_strdup (config->mailbox);
  copy->admin_address = g_strdup (config->admin_address);
  copy->method = config->method;
  copy->accepted_domain = g_strdup (config->accepted_domain);
  return copy;
}

void
mb_sender_policy_config_free (MbSenderPolicyConfig *config)
{
  if (config == NULL)
    return;
  g_strfreev (config->send_as);
  g_free (config->mailbox);
  g_free (config->admin_address);
  g_free (config->accepted_domain);
  g_free (config);
}

gboolean
mb_sender_policy_is_allowed (const MbSenderPolicyConfig *config,
                             const char                 *address)
{
  g_return_val_if_fail (config != NULL, FALSE);

  if (address == NULL || address[0] == '\0')
    return FALSE;
  if (config->mailbox != NULL
      && g_ascii_strcasecmp (address, config->mailbox) == 0)
    return TRUE;
  for (guint i = 0; config->send_as != NULL && config->send_as[i] != NULL; i++)
    if (g_ascii_strcasecmp (address, config->send_as[i]) == 0)
      return TRUE;
  return FALSE;
}

MbSenderDecision *
mb_sender_policy_decide (const MbSenderPolicyConfig *config,
                         const char                 *envelope_sender,
                         const char                 *header_from)
{
  MbSenderPolicyMode mode;
  MbSenderDecision  *decision;
  const char        *sender = NULL;
  const char        *envelope_note;
  const char        *note = NULL;
  gboolean           have_mailbox;

  g_return_val_if_fail (config != NULL, NULL);

  mode = config->mode;
  have_mailbox = config->mailbox != NULL && config->mailbox[0] != '\0';
  if (is_usable_address (envelope_sender))
    sender = envelope_sender;
  if (mode != MB_SENDER_POLICY_MODE_KEEP && !have_mailbox)
    {
      mode = MB_SENDER_POLICY_MODE_KEEP;
      note = "no-mailbox";
    }

  if (mode == MB_SENDER_POLICY_MODE_KEEP)
    {
      const char *admin = config->admin_address;

      if (sender != NULL)
        {
          decision = decision_new (sender);
          envelope_note = "kept";
          if (note == NULL && config->accepted_domain != NULL
              && (config->method == MB_ROUTE_METHOD_DIRECT_SEND
                  || config->method == MB_ROUTE_METHOD_CONNECTOR)
              && !is_in_domain (get_domain (sender), config->accepted_domain))
            note = "sender-outside-accepted-domain";
        }
      else if (admin != NULL && admin[0] != '\0')
        {
          decision = decision_new (admin);
          envelope_note = "admin-address";
        }
      else if (have_mailbox)
        {
          decision = decision_new (config->mailbox);
          envelope_note = "mailbox";
        }
      else
        {
          decision = decision_new ("");
          envelope_note = "none";
        }
    }
  else
    {
      if (sender != NULL && mb_sender_policy_is_allowed (config, sender))
        {
          decision = decision_new (sender);
          envelope_note = "kept";
        }
      else
        {
          decision = decision_new (config->mailbox);
          envelope_note = "mailbox";
        }
      if (mode == MB_SENDER_POLICY_MODE_REWRITE_FROM)
        decide_from (config, header_from, sender, decision);
    }

  if (sender == NULL && note == NULL)
    note = "unusable-sender";
  decision->reason = g_strdup_printf (
      "policy=%s envelope=%s from=%s%s%s",
      mb_sender_policy_mode_to_string (mode), envelope_note,
      decision->rewrite_from ? "rewritten" : "kept",
      note != NULL ? " note=" : "", note != NULL ? note : "");
  return decision;
}

void
mb_sender_decision_free (MbSenderDecision *decision)
{
  if (decision == NULL)
    return;
  g_free (decision->envelope_sender);
  g_free (decision->new_from);
  g_free (decision->reply_to);
  g_free (decision->original_from);
  g_free (decision->reason);
  g_free (decision);
}

/* Private API (mb-sender-policy-private.h) */

/* A header value as one line: folds removed, other line breaks and
 * control characters turned into spaces. */
char *
mb_sender_policy_unfold (const char *value)
{
  char *text = g_mime_utils_header_unfold (value);

  for (char *p = text; *p != '\0'; p++)
    if ((guchar)*p < 0x20 || *p == 0x7f)
      *p = ' ';
  return g_strstrip (text);
}
