/* mb-envelope.c - the envelope of a queued message, as a versioned key file
 *
 * What it does
 *   Holds what SMTP told us about a message besides its bytes: the reverse
 *   path, each recipient with its own delivery state, the client, the route
 *   and the DSN parameters (RFC 3461), and turns it into the text of
 *   queue/ID.env and back.
 *
 * The format (GKeyFile, UTF-8, LF line ends)
 *     [envelope]
 *     version=1  recipients=N
 *     id=...  sender=...  received=UNIX-SECONDS  size=BYTES
 *     client-address= client-helo= route= message-id= envid=  (optional)
 *     smtputf8=true|false  body=|7bit|8bitmime|binarymime  ret=|full|hdrs
 *     delay-notice-sent=UNIX-SECONDS
 *     [recipient 0] ... [recipient N-1]
 *     address=...  notify=never,success,failure,delay (empty: not given)
 *     orcpt= last-reply= (optional)  attempts=N  next-attempt=UNIX-SECONDS
 *     state=queued|deferred|delivered|failed  (written last)
 *   A nullable string that is NULL is left out; an empty one is written
 *   empty, so NULL and "" survive a round trip.
 *
 * Guarantees
 *   - Text values round-trip exactly: g_key_file_set_string() escapes line
 *     breaks, tabs, backslashes and leading blanks.  Key files only hold
 *     UTF-8, so a value that is not valid UTF-8 (an upstream reply with
 *     stray 8-bit bytes, say) is written with U+FFFD in place of the bad
 *     bytes; addresses are validated before they get here and are UTF-8.
 *   - Parsing refuses anything incomplete or foreign: not a key file, a NUL
 *     byte, a missing required key (version, recipients, id, sender,
 *     received, a recipient with address and state), a recipient count
 *     that does not match, a bad enum or number, or a version newer than
 *     ours.  Because the count comes first and each recipient's state
 *     last, a file cut short at any byte (but its final newline) is
 *     refused: a torn file is reported, never half-trusted.  Unknown keys and
 * groups are ignored, so a later minor addition does not make an older reader
 * refuse the file.
 *
 * What it does not do
 *   No I/O and no locking: the spool owns the files.
 */
#define G_LOG_DOMAIN "mb-envelope"

#include "mb-envelope.h"

#include <string.h>

#define GROUP_ENVELOPE "envelope"
#define RECIPIENT_PREFIX "recipient "

GQuark
mb_envelope_error_quark (void)
{
  return g_quark_from_static_string ("mb-envelope-error-quark");
}

/* A private alias, so a g_autoptr cleanup for recipients being parsed does
 * not clash with one the header may declare later. */
typedef MbRecipient MbRecipientBox;
G_DEFINE_AUTOPTR_CLEANUP_FUNC (MbRecipientBox, mb_recipient_free)

static const char *const state_names[] = {
  [MB_RECIPIENT_STATE_QUEUED] = "queued",
  [MB_RECIPIENT_STATE_DEFERRED] = "deferred",
  [MB_RECIPIENT_STATE_DELIVERED] = "delivered",
  [MB_RECIPIENT_STATE_FAILED] = "failed",
};

/* Index = enum value; "" is the unset value. */
static const char *const body_names[] = {
  [MB_SMTP_BODY_UNSET] = "",
  [MB_SMTP_BODY_7BIT] = "7bit",
  [MB_SMTP_BODY_8BITMIME] = "8bitmime",
  [MB_SMTP_BODY_BINARYMIME] = "binarymime",
};

static const char *const ret_names[] = {
  [MB_DSN_RET_UNSET] = "",
  [MB_DSN_RET_FULL] = "full",
  [MB_DSN_RET_HDRS] = "hdrs",
};

static const struct
{
  MbDsnNotify flag;
  const char *name;
} notify_names[] = {
  { MB_DSN_NOTIFY_NEVER, "never" },
  { MB_DSN_NOTIFY_SUCCESS, "success" },
  { MB_DSN_NOTIFY_FAILURE, "failure" },
  { MB_DSN_NOTIFY_DELAY, "delay" },
};

/* Helpers: writing */

static void
set_text (GKeyFile   *keyfile,
          const char *group,
          const char *key,
          const char *value)
{
  g_autofree char *valid = NULL;

  if (value == NULL)
    return;
  if (!g_utf8_validate (value, -1, NULL))
    value = valid = g_utf8_make_valid (value, -1);
  g_key_file_set_string (keyfile, group, key, value);
}

static char *
format_notify (guint notify)
{
  g_autoptr (GString) text = g_string_new (NULL);

  for (gsize i = 0; i < G_N_ELEMENTS (notify_names); i++)
    {
      if ((notify & notify_names[i].flag) == 0)
        continue;
      if (text->len > 0)
        g_string_append_c (text, ',');
      g_string_append (text, notify_names[i].name);
    }
  return g_string_free (g_steal_pointer (&text), FALSE);
}

/* Helpers: reading.  Each takes the group for the error message, so a
 * refused file names the place that is wrong. */

static gboolean
get_required_text (GKeyFile   *keyfile,
                   const char *group,
                   const char *key,
                   char      **value,
                   GError    **error)
{
  g_autoptr (GError) local_error = NULL;

  /* GKeyFile may hand back a value and set an error (a bad escape): the
   * error wins, or "x\\q" would be read as text. */
  *value = g_key_file_get_string (keyfile, group, key, &local_error);
  if (local_error == NULL)
    return TRUE;
  g_clear_pointer (value, g_free);
  if (g_error_matches (local_error, G_KEY_FILE_ERROR,
                       G_KEY_FILE_ERROR_KEY_NOT_FOUND))
    g_set_error (error, MB_ENVELOPE_ERROR, MB_ENVELOPE_ERROR_MISSING,
                 "Key “%s” is missing in group [%s]", key, group);
  else
    g_set_error (error, MB_ENVELOPE_ERROR, MB_ENVELOPE_ERROR_PARSE,
                 "Key “%s” in group [%s] cannot be read: %s", key, group,
                 local_error->message);
  return FALSE;
}

/* A missing optional key leaves *value NULL; a present but unreadable one
 * is an error. */
static gboolean
get_optional_text (GKeyFile   *keyfile,
                   const char *group,
                   const char *key,
                   char      **value,
                   GError    **error)
{
  *value = NULL;
  if (!g_key_file_has_key (keyfile, group, key, NULL))
    return TRUE;
  return get_required_text (keyfile, group, key, value, error);
}

static gboolean
get_number (GKeyFile   *keyfile,
            const char *group,
            const char *key,
            gboolean    required,
            guint64     max,
            guint64    *number,
            GError    **error)
{
  g_autofree char *text = NULL;
  g_autoptr (GError) local_error = NULL;

  *number = 0;
  if (!required && !g_key_file_has_key (keyfile, group, key, NULL))
    return TRUE;
  if (!get_required_text (keyfile, group, key, &text, error))
    return FALSE;
  if (!g_ascii_string_to_unsigned (text, 10, 0, max, number, &local_error))
    {
      g_set_error (error, MB_ENVELOPE_ERROR, MB_ENVELOPE_ERROR_PARSE,
                   "Key “%s” in group [%s] is not a valid number: %s", key,
                   group, local_error->message);
      return FALSE;
    }
  return TRUE;
}

static gboolean
get_name (GKeyFile          *keyfile,
          const char        *group,
          const char        *key,
          const char *const *names,
          gsize              n_names,
          guint             *value,
          GError           **error)
{
  g_autofree char *text = NULL;

  *value = 0;
  if (!g_key_file_has_key (keyfile, group, key, NULL))
    return TRUE;
  if (!get_required_text (keyfile, group, key, &text, error))
    return FALSE;
  for (gsize i = 0; i < n_names; i++)
    {
      if (g_strcmp0 (text, names[i]) == 0)
        {
          *value = i;
          return TRUE;
        }
    }
  g_set_error (error, MB_ENVELOPE_ERROR, MB_ENVELOPE_ERROR_PARSE,
               "Key “%s” in group [%s] has an unknown value “%s”", key, group,
               text);
  return FALSE;
}

static gboolean
parse_notify (const char *text, guint *notify, GError **error)
{
  g_auto (GStrv) words = NULL;

  *notify = 0;
  if (*text == '\0')
    return TRUE;
  words = g_strsplit (text, ",", -1);
  for (gsize i = 0; words[i] != NULL; i++)
    {
      gsize j;

      for (j = 0; j < G_N_ELEMENTS (notify_names); j++)
        {
          if (g_strcmp0 (words[i], notify_names[j].name) == 0)
            break;
        }
      if (j == G_N_ELEMENTS (notify_names))
        {
          g_set_error (error, MB_ENVELOPE_ERROR, MB_ENVELOPE_ERROR_PARSE,
                       "Unknown DSN notify value “%s”", words[i]);
          return FALSE;
        }
      *notify |= notify_names[j].flag;
    }
  return TRUE;
}

static MbRecipient *
parse_recipient (GKeyFile *keyfile, const char *group, GError **error)
{
  g_autoptr (MbRecipientBox) recipient = g_new0 (MbRecipient, 1);
  g_autofree char *state = NULL;
  g_autofree char *notify = NULL;
  guint64          number;

  if (!get_required_text (keyfile, group, "address", &recipient->address, error)
      || !get_required_text (keyfile, group, "state", &state, error))
    return NULL;
  if (!mb_recipient_state_from_string (state, &recipient->state))
    {
      g_set_error (error, MB_ENVELOPE_ERROR, MB_ENVELOPE_ERROR_PARSE,
                   "Key “state” in group [%s] has an unknown value “%s”", group,
                   state);
      return NULL;
    }
  if (!get_optional_text (keyfile, group, "notify", &notify, error)
      || (notify != NULL && !parse_notify (notify, &recipient->notify, error))
      || !get_optional_text (keyfile, group, "orcpt", &recipient->orcpt, error)
      || !get_optional_text (keyfile, group, "last-reply",
                             &recipient->last_reply, error))
    return NULL;
  if (!get_number (keyfile, group, "attempts", FALSE, G_MAXUINT, &number,
                   error))
    return NULL;
  recipient->attempts = (guint)number;
  if (!get_number (keyfile, group, "next-attempt", FALSE, G_MAXINT64, &number,
                   error))
    return NULL;
  recipient->next_attempt = (gint64)number;
  return g_steal_pointer (&recipient);
}

/* Recipients are [recipient 0] .. [recipient N-1], N given by "recipients"
 * in [envelope], with no gap and nothing else under that prefix: a torn or
 * hand-edited file that lost one is refused rather than silently skipping
 * a recipient. */
static gboolean
parse_recipients (GKeyFile *keyfile, MbEnvelope *envelope, GError **error)
{
  g_auto (GStrv) groups = g_key_file_get_groups (keyfile, NULL);
  guint   n_groups = 0;
  guint64 n_recipients;

  for (gsize i = 0; groups[i] != NULL; i++)
    {
      if (g_str_has_prefix (groups[i], RECIPIENT_PREFIX))
        n_groups++;
    }
  if (!get_number (keyfile, GROUP_ENVELOPE, "recipients", TRUE, G_MAXUINT,
                   &n_recipients, error))
    return FALSE;
  if (n_recipients != n_groups)
    {
      g_set_error (error, MB_ENVELOPE_ERROR, MB_ENVELOPE_ERROR_PARSE,
                   "The envelope announces %" G_GUINT64_FORMAT
                   " recipients but holds %u",
                   n_recipients, n_groups);
      return FALSE;
    }
  for (guint n = 0; n < n_groups; n++)
    {
      g_autofree char *group = g_strdup_printf (RECIPIENT_PREFIX "%u", n);
      MbRecipient     *recipient;

      if (!g_key_file_has_group (keyfile, group))
        {
          g_set_error (error, MB_ENVELOPE_ERROR, MB_ENVELOPE_ERROR_PARSE,
                       "Group [%s] is missing (recipients must be numbered "
                       "from 0 without gaps)",
                       group);
          return FALSE;
        }
      recipient = parse_recipient (keyfile, group, error);
      if (recipient == NULL)
        return FALSE;
      g_ptr_array_add (envelope->recipients, recipient);
    }
  if (envelope->recipients->len == 0)
    {
      g_set_error_literal (error, MB_ENVELOPE_ERROR, MB_ENVELOPE_ERROR_MISSING,
                           "The envelope has no recipient");
      return FALSE;
    }
  return TRUE;
}

static gboolean
parse_envelope_group (GKeyFile *keyfile, MbEnvelope *envelope, GError **error)
{
  const char      *group = GROUP_ENVELOPE;
  guint64          number;
  guint            value;
  g_autofree char *smtputf8 = NULL;

  g_clear_pointer (&envelope->sender, g_free);
  if (!get_required_text (keyfile, group, "id", &envelope->id, error)
      || !get_required_text (keyfile, group, "sender", &envelope->sender,
                             error))
    return FALSE;
  if (envelope->id[0] == '\0')
    {
      g_set_error_literal (error, MB_ENVELOPE_ERROR, MB_ENVELOPE_ERROR_PARSE,
                           "Key “id” in group [envelope] is empty");
      return FALSE;
    }
  if (!get_number (keyfile, group, "received", TRUE, G_MAXINT64, &number,
                   error))
    return FALSE;
  envelope->received = (gint64)number;
  if (!get_number (keyfile, group, "size", FALSE, G_MAXUINT64, &envelope->size,
                   error)
      || !get_number (keyfile, group, "delay-notice-sent", FALSE, G_MAXINT64,
                      &number, error))
    return FALSE;
  envelope->delay_notice_sent = (gint64)number;

  if (!get_optional_text (keyfile, group, "client-address",
                          &envelope->client_address, error)
      || !get_optional_text (keyfile, group, "client-helo",
                             &envelope->client_helo, error)
      || !get_optional_text (keyfile, group, "route", &envelope->route, error)
      || !get_optional_text (keyfile, group, "message-id",
                             &envelope->message_id, error)
      || !get_optional_text (keyfile, group, "envid", &envelope->envid, error))
    return FALSE;

  if (!get_optional_text (keyfile, group, "smtputf8", &smtputf8, error))
    return FALSE;
  if (smtputf8 != NULL && g_strcmp0 (smtputf8, "true") != 0
      && g_strcmp0 (smtputf8, "false") != 0)
    {
      g_set_error (error, MB_ENVELOPE_ERROR, MB_ENVELOPE_ERROR_PARSE,
                   "Key “smtputf8” in group [envelope] is not true or false: "
                   "“%s”",
                   smtputf8);
      return FALSE;
    }
  envelope->smtputf8 = g_strcmp0 (smtputf8, "true") == 0;

  if (!get_name (keyfile, group, "body", body_names, G_N_ELEMENTS (body_names),
                 &value, error))
    return FALSE;
  envelope->body = value;
  if (!get_name (keyfile, group, "ret", ret_names, G_N_ELEMENTS (ret_names),
                 &value, error))
    return FALSE;
  envelope->ret = value;
  return TRUE;
}

/* Public API */

MbEnvelope *
mb_envelope_new (void)
{
  MbEnvelope *envelope = g_new0 (MbEnvelope, 1);

  envelope->sender = g_strdup ("");
  envelope->recipients
      = g_ptr_array_new_with_free_func ((GDestroyNotify)mb_recipient_free);
  return envelope;
}

void
mb_recipient_free (MbRecipient *recipient)
{
  if (recipient == NULL)
    return;
  g_free (recipient->address);
  g_free (recipient->orcpt);
  g_free (recipient->last_reply);
  g_free (recipient);
}

void
mb_envelope_free (MbEnvelope *envelope)
{
  if (envelope == NULL)
    return;
  g_free (envelope->id);
  g_free (envelope->sender);
  g_clear_pointer (&envelope->recipients, g_ptr_array_unref);
  g_free (envelope->client_address);
  g_free (envelope->client_helo);
  g_free (envelope->route);
  g_free (envelope->message_id);
  g_free (envelope->envid);
  g_free (envelope);
}

MbEnvelope *
mb_envelope_copy (const MbEnvelope *envelope)
{
  MbEnvelope *copy;

  g_return_val_if_fail (envelope != NULL, NULL);

  copy = mb_envelope_new ();
  copy->id = g_strdup (envelope->id);
  g_free (copy->sender);
  copy->sender = g_strdup (envelope->sender);
  copy->received = envelope->received;
  copy->size = envelope->size;
  copy->client_address = g_strdup (envelope->client_address);
  copy->client_helo = g_strdup (envelope->client_helo);
  copy->route = g_strdup (envelope->route);
  copy->message_id = g_strdup (envelope->message_id);
  copy->smtputf8 = envelope->smtputf8;
  copy->body = envelope->body;
  copy->ret = envelope->ret;
  copy->envid = g_strdup (envelope->envid);
  copy->delay_notice_sent = envelope->delay_notice_sent;
  for (guint i = 0; i < envelope->recipients->len; i++)
    {
      const MbRecipient *from = g_ptr_array_index (envelope->recipients, i);
      MbRecipient       *to = g_new0 (MbRecipient, 1);

      to->address = g_strdup (from->address);
      to->state = from->state;
      to->notify = from->notify;
      to->orcpt = g_strdup (from->orcpt);
      to->attempts = from->attempts;
      to->next_attempt = from->next_attempt;
      to->last_reply = g_strdup (from->last_reply);
      g_ptr_array_add (copy->recipients, to);
    }
  return copy;
}

MbRecipient *
mb_envelope_add_recipient (MbEnvelope *envelope,
                           const char *address,
                           guint       notify,
                           const char *orcpt)
{
  MbRecipient *recipient;

  g_return_val_if_fail (envelope != NULL, NULL);
  g_return_val_if_fail (address != NULL, NULL);

  recipient = g_new0 (MbRecipient, 1);
  recipient->address = g_strdup (address);
  recipient->state = MB_RECIPIENT_STATE_QUEUED;
  recipient->notify = notify;
  recipient->orcpt = g_strdup (orcpt);
  g_ptr_array_add (envelope->recipients, recipient);
  return recipient;
}

gboolean
mb_envelope_is_finished (const MbEnvelope *envelope)
{
  g_return_val_if_fail (envelope != NULL, FALSE);

  for (guint i = 0; i < envelope->recipients->len; i++)
    {
      const MbRecipient *recipient
          = g_ptr_array_index (envelope->recipients, i);

      if (recipient->state != MB_RECIPIENT_STATE_DELIVERED
          && recipient->state != MB_RECIPIENT_STATE_FAILED)
        return FALSE;
    }
  return TRUE;
}

GBytes *
mb_envelope_serialize (const MbEnvelope *envelope)
{
  g_autoptr (GKeyFile) keyfile = g_key_file_new ();
  const char *group = GROUP_ENVELOPE;
  char       *data;
  gsize       len;

  g_return_val_if_fail (envelope != NULL, NULL);

  g_key_file_set_integer (keyfile, group, "version", MB_ENVELOPE_VERSION);
  g_key_file_set_uint64 (keyfile, group, "recipients",
                         envelope->recipients->len);
  set_text (keyfile, group, "id", envelope->id != NULL ? envelope->id : "");
  set_text (keyfile, group, "sender",
            envelope->sender != NULL ? envelope->sender : "");
  g_key_file_set_int64 (keyfile, group, "received", envelope->received);
  g_key_file_set_uint64 (keyfile, group, "size", envelope->size);
  set_text (keyfile, group, "client-address", envelope->client_address);
  set_text (keyfile, group, "client-helo", envelope->client_helo);
  set_text (keyfile, group, "route", envelope->route);
  set_text (keyfile, group, "message-id", envelope->message_id);
  g_key_file_set_boolean (keyfile, group, "smtputf8", envelope->smtputf8);
  if ((guint)envelope->body < G_N_ELEMENTS (body_names))
    g_key_file_set_string (keyfile, group, "body", body_names[envelope->body]);
  if ((guint)envelope->ret < G_N_ELEMENTS (ret_names))
    g_key_file_set_string (keyfile, group, "ret", ret_names[envelope->ret]);
  set_text (keyfile, group, "envid", envelope->envid);
  g_key_file_set_int64 (keyfile, group, "delay-notice-sent",
                        envelope->delay_notice_sent);

  for (guint i = 0; i < envelope->recipients->len; i++)
    {
      const MbRecipient *recipient
          = g_ptr_array_index (envelope->recipients, i);
      g_autofree char *rgroup = g_strdup_printf (RECIPIENT_PREFIX "%u", i);
      g_autofree char *notify = format_notify (recipient->notify);

      set_text (keyfile, rgroup, "address", recipient->address);
      g_key_file_set_string (keyfile, rgroup, "notify", notify);
      set_text (keyfile, rgroup, "orcpt", recipient->orcpt);
      g_key_file_set_uint64 (keyfile, rgroup, "attempts", recipient->attempts);
      g_key_file_set_int64 (keyfile, rgroup, "next-attempt",
                            recipient->next_attempt);
      set_text (keyfile, rgroup, "last-reply", recipient->last_reply);
      /* Last, so a file cut short anywhere loses a required key or a whole
       * recipient (counted above) and is refused.  An out-of-range state
       * is left out for the same reason: refused, not read as "queued". */
      set_text (keyfile, rgroup, "state",
                mb_recipient_state_to_string (recipient->state));
    }

  data = g_key_file_to_data (keyfile, &len, NULL);
  return g_bytes_new_take (data, len);
}

MbEnvelope *
mb_envelope_parse (const char *data, gsize len, GError **error)
{
  g_autoptr (GKeyFile) keyfile = g_key_file_new ();
  g_autoptr (MbEnvelope) envelope = mb_envelope_new ();
  g_autoptr (GError) local_error = NULL;
  guint64 version;

  g_return_val_if_fail (data != NULL || len == 0, NULL);

  /* GKeyFile would stop at a NUL and read a torn file as a shorter one. */
  if (len > 0 && memchr (data, '\0', len) != NULL)
    {
      g_set_error_literal (error, MB_ENVELOPE_ERROR, MB_ENVELOPE_ERROR_PARSE,
                           "The envelope contains a NUL byte");
      return NULL;
    }
  if (!g_key_file_load_from_data (keyfile, len > 0 ? data : "", len,
                                  G_KEY_FILE_NONE, &local_error))
    {
      g_set_error (error, MB_ENVELOPE_ERROR, MB_ENVELOPE_ERROR_PARSE,
                   "The envelope is not a key file: %s", local_error->message);
      return NULL;
    }
  if (!g_key_file_has_group (keyfile, GROUP_ENVELOPE))
    {
      g_set_error_literal (error, MB_ENVELOPE_ERROR, MB_ENVELOPE_ERROR_MISSING,
                           "Group [envelope] is missing");
      return NULL;
    }
  if (!get_number (keyfile, GROUP_ENVELOPE, "version", TRUE, G_MAXUINT,
                   &version, error))
    return NULL;
  if (version > MB_ENVELOPE_VERSION)
    {
      g_set_error (error, MB_ENVELOPE_ERROR, MB_ENVELOPE_ERROR_VERSION,
                   "The envelope has version %" G_GUINT64_FORMAT
                   ", newer than this Mailbridge understands (%d)",
                   version, MB_ENVELOPE_VERSION);
      return NULL;
    }
  if (version == 0)
    {
      g_set_error_literal (error, MB_ENVELOPE_ERROR, MB_ENVELOPE_ERROR_PARSE,
                           "The envelope has version 0");
      return NULL;
    }
  if (!parse_envelope_group (keyfile, envelope, error)
      || !parse_recipients (keyfile, envelope, error))
    return NULL;
  return g_steal_pointer (&envelope);
}

const char *
mb_recipient_state_to_string (MbRecipientState state)
{
  g_return_val_if_fail ((guint)state < G_N_ELEMENTS (state_names), NULL);

  return state_names[state];
}

gboolean
mb_recipient_state_from_string (const char *text, MbRecipientState *state)
{
  for (gsize i = 0; i < G_N_ELEMENTS (state_names); i++)
    {
      if (g_strcmp0 (text, state_names[i]) == 0)
        {
          if (state != NULL)
            *state = i;
          return TRUE;
        }
    }
  return FALSE;
}
