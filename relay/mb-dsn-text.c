/* mb-dsn-text.c - what a delivery report says: the text for people and
 * the message/delivery-status fields
 *
 * WHAT IT DOES
 *   Writes the two bodies of a report that mb-dsn.c assembles:
 *     - the plain-language text: what happened, for each recipient the
 *       upstream's reply verbatim and the summary and fix of its entry in
 *       mb-reply-hints (translated by gettext; the frame is English like
 *       all the relay's outgoing mail), and what is attached;
 *     - the RFC 3464 fields: per message Reporting-MTA, our queue id and
 *       sender (X- extension fields, as Postfix does), Original-Envelope-Id,
 *       Arrival-Date; per recipient Original-Recipient, Final-Recipient,
 *       Action, Status, Remote-MTA, Diagnostic-Code, Last-Attempt-Date,
 *       Will-Retry-Until.
 *
 * GUARANTEES
 *   - Values built from envelope data hold no line breaks or control
 *     characters and are valid UTF-8; fields are folded at blanks before
 *     78 columns and never exceed 998 octets a line.
 *   - Status is the reply's enhanced code, else its class ("5.0.0"), else
 *     the kind's class; Diagnostic-Code is "smtp; <reply>" for an SMTP
 *     reply and "X-Mailbridge; <keyword> ..." for our pseudo replies.
 *   - The text wraps at 72 characters except the verbatim reply, which the
 *     admin may search for or quote to Microsoft's support.
 *
 * WHAT IT DOES NOT DO
 *   No MIME and no I/O: mb-dsn.c builds the message around these texts.
 *
 * RFC 3464 2.2, 2.3 (fields), RFC 3463 (status codes), RFC 6533 3
 * ("utf-8" address type).
 */
#define G_LOG_DOMAIN "mb-dsn"

#include "mb-dsn-private.h"

#include <gmime/gmime.h>
#include <string.h>

#include "mb-reply-hints.h"
#include "mb-smtp-reply.h"

#define TEXT_WIDTH 72
/* Delivery-status fields are folded here (RFC 5322 2.1.1). */
#define FOLD_WIDTH 78

/* Helpers */

/* The RFC 3463 status of @recipient, from its last reply when that has an
 * enhanced code, else from the reply's class, else from @kind. */
static char *
get_status (MbDsnKind kind, const MbSmtpReply *reply)
{
  if (reply != NULL && reply->enhanced != NULL)
    return g_strdup (reply->enhanced);
  if (reply != NULL && reply->code >= 200)
    return g_strdup_printf ("%u.0.0", reply->code / 100);
  switch (kind)
    {
    case MB_DSN_KIND_DELAY:
      return g_strdup ("4.0.0");
    case MB_DSN_KIND_RELAYED:
      return g_strdup ("2.0.0");
    case MB_DSN_KIND_FAILURE:
    default:
      return g_strdup ("5.0.0");
    }
}

/* Appends "Name: value" CRLF, folded at blanks before FOLD_WIDTH; a run
 * without blanks longer than 998 octets is cut with a fold. */
static void
append_field (GString *out, const char *name, const char *value)
{
  gsize line_start = out->len;

  g_string_append_printf (out, "%s: ", name);
  for (const char *p = value; *p != '\0';)
    {
      const char *word_end = p;
      gsize       word_len;

      while (*word_end == ' ')
        word_end++;
      while (*word_end != '\0' && *word_end != ' ')
        word_end++;
      word_len = (gsize)(word_end - p);

      if (out->len - line_start + word_len > FOLD_WIDTH && *p == ' '
          && out->len - line_start > strlen (name) + 2)
        {
          g_string_append (out, "\r\n");
          line_start = out->len;
        }
      while (word_len > 0)
        {
          gsize room = 998 - (out->len - line_start);
          gsize take = MIN (word_len, room);

          g_string_append_len (out, p, (gssize)take);
          p += take;
          word_len -= take;
          if (word_len > 0)
            {
              g_string_append (out, "\r\n ");
              line_start = out->len - 1;
            }
        }
    }
  g_string_append (out, "\r\n");
}

static void
append_date_field (GString *out, const char *name, gint64 when)
{
  g_autoptr (GDateTime) date = g_date_time_new_from_unix_local (when);
  g_autofree char *text = NULL;

  if (date == NULL)
    return;
  text = g_mime_utils_header_format_date (date);
  append_field (out, name, text);
}

/* "rfc822; a@b", or RFC 6533 3's "utf-8; ..." for an address beyond
 * ASCII. */
static char *
format_address (const char *address)
{
  g_autofree char *clean = mb_dsn_sanitize (address);

  return g_strdup_printf ("%s; %s",
                          mb_dsn_is_ascii (clean) ? "rfc822" : "utf-8", clean);
}

static const char *
get_action (MbDsnKind kind)
{
  switch (kind)
    {
    case MB_DSN_KIND_DELAY:
      return "delayed";
    case MB_DSN_KIND_RELAYED:
      return "relayed";
    case MB_DSN_KIND_FAILURE:
    default:
      return "failed";
    }
}

/* Appends @text wrapped at TEXT_WIDTH columns (counted in characters),
 * the first line after @first, the others after @rest. */
static void
append_wrapped (GString    *out,
                const char *first,
                const char *rest,
                const char *text)
{
  g_auto (GStrv) words = g_strsplit (text, " ", -1);
  glong    column = g_utf8_strlen (first, -1);
  gboolean line_empty = TRUE;

  g_string_append (out, first);
  for (guint i = 0; words[i] != NULL; i++)
    {
      glong len = g_utf8_strlen (words[i], -1);

      if (len == 0)
        continue;
      if (!line_empty && column + 1 + len > TEXT_WIDTH)
        {
          g_string_append_printf (out, "\n%s", rest);
          column = g_utf8_strlen (rest, -1);
          line_empty = TRUE;
        }
      if (!line_empty)
        {
          g_string_append_c (out, ' ');
          column++;
        }
      g_string_append (out, words[i]);
      column += len;
      line_empty = FALSE;
    }
  g_string_append_c (out, '\n');
}

static void
append_paragraph (GString *out, const char *text)
{
  append_wrapped (out, "", "", text);
  g_string_append_c (out, '\n');
}

static char *
format_date (gint64 when)
{
  g_autoptr (GDateTime) date = g_date_time_new_from_unix_local (when);

  return date != NULL ? g_mime_utils_header_format_date (date) : g_strdup ("?");
}

/* Private API (mb-dsn-private.h) */

/* A field value from envelope data: no line breaks, no control
 * characters, valid UTF-8. */
char *
mb_dsn_sanitize (const char *text)
{
  char *copy = g_utf8_make_valid (text, -1);

  for (char *p = copy; *p != '\0'; p++)
    if ((guchar)*p < 0x20 || *p == 0x7f)
      *p = ' ';
  return g_strstrip (copy);
}

gboolean
mb_dsn_is_ascii (const char *text)
{
  for (const char *p = text; *p != '\0'; p++)
    if ((guchar)*p >= 0x80)
      return FALSE;
  return TRUE;
}

/* The message/delivery-status body (RFC 3464 2.1): one per-message block,
 * then one block per recipient, separated by empty lines. */
char *
mb_dsn_format_delivery_status (MbDsnKind           kind,
                               const MbEnvelope   *envelope,
                               GPtrArray          *recipients,
                               const MbDsnOptions *options)
{
  GString *out = g_string_new (NULL);

  {
    g_autofree char *mta = g_strdup_printf ("dns; %s", options->reporting_mta);

    append_field (out, "Reporting-MTA", mta);
  }
  if (envelope->id != NULL)
    {
      g_autofree char *id = mb_dsn_sanitize (envelope->id);

      append_field (out, "X-Mailbridge-Queue-ID", id);
    }
  {
    g_autofree char *sender = format_address (envelope->sender);

    append_field (out, "X-Mailbridge-Sender", sender);
  }
  if (envelope->envid != NULL)
    {
      g_autofree char *envid = mb_dsn_sanitize (envelope->envid);

      append_field (out, "Original-Envelope-Id", envid);
    }
  if (envelope->received > 0)
    append_date_field (out, "Arrival-Date", envelope->received);

  for (guint i = 0; i < recipients->len; i++)
    {
      const MbRecipient *recipient = g_ptr_array_index (recipients, i);
      g_autoptr (MbSmtpReply) reply = NULL;
      g_autofree char *final = format_address (recipient->address);
      g_autofree char *status = NULL;

      if (recipient->last_reply != NULL)
        reply = mb_smtp_reply_parse (recipient->last_reply,
                                     strlen (recipient->last_reply), NULL);
      status = get_status (kind, reply);

      g_string_append (out, "\r\n");
      if (recipient->orcpt != NULL && strchr (recipient->orcpt, ';') != NULL)
        {
          g_autofree char *orcpt = mb_dsn_sanitize (recipient->orcpt);
          char            *semicolon = strchr (orcpt, ';');
          g_autofree char *value = NULL;

          /* "type;addr" as given; we only add the space RFC 3464 shows. */
          *semicolon = '\0';
          value = g_strdup_printf ("%s; %s", g_strstrip (orcpt),
                                   g_strchug (semicolon + 1));
          append_field (out, "Original-Recipient", value);
        }
      append_field (out, "Final-Recipient", final);
      append_field (out, "Action", get_action (kind));
      append_field (out, "Status", status);
      if (options->remote_mta != NULL)
        {
          g_autofree char *host = mb_dsn_sanitize (options->remote_mta);
          g_autofree char *value = g_strdup_printf ("dns; %s", host);

          append_field (out, "Remote-MTA", value);
        }
      if (recipient->last_reply != NULL)
        {
          g_autofree char *text = mb_dsn_sanitize (recipient->last_reply);
          g_autofree char *value = NULL;

          /* RFC 3464 2.3.6: "smtp" for an SMTP reply; our own pseudo
           * replies ("mb.timeout ...") are of our own type. */
          value = g_strdup_printf (
              "%s; %s", reply != NULL ? "smtp" : "X-Mailbridge", text);
          append_field (out, "Diagnostic-Code", value);
        }
      if (options->last_attempt > 0)
        append_date_field (out, "Last-Attempt-Date", options->last_attempt);
      if (kind == MB_DSN_KIND_DELAY && options->retry_until > 0)
        append_date_field (out, "Will-Retry-Until", options->retry_until);
    }
  return g_string_free (out, FALSE);
}

/* The human part: what happened, per recipient the reply and the hint,
 * and what is attached.  LF line ends (GMime writes CRLF). */
char *
mb_dsn_format_text (MbDsnKind            kind,
                    const MbEnvelope    *envelope,
                    GPtrArray           *recipients,
                    const MbDsnOptions  *options,
                    const MbDsnOriginal *original,
                    gboolean             have_original)
{
  GString         *out = g_string_new (NULL);
  g_autofree char *intro = g_strdup_printf (
      "This is the mail relay Mailbridge at %s.", options->reporting_mta);

  append_paragraph (out, intro);
  switch (kind)
    {
    case MB_DSN_KIND_FAILURE:
      append_paragraph (
          out, "Your message could not be delivered to the recipients "
               "listed below, and Mailbridge has stopped trying. For each "
               "recipient you find the answer of the receiving mail server "
               "and what you can do about it.");
      break;
    case MB_DSN_KIND_DELAY:
      {
        g_autofree char *until = NULL;
        g_autofree char *text = NULL;

        if (options->retry_until > 0)
          {
            until = format_date (options->retry_until);
            text = g_strdup_printf (
                "Mailbridge keeps trying until %s. You do not need to send "
                "the message again. If it still cannot be delivered by then, "
                "you will get another report.",
                until);
          }
        append_paragraph (out, "Your message has not been delivered yet to "
                               "the recipients listed below.");
        append_paragraph (out, text != NULL
                                   ? text
                                   : "Mailbridge keeps trying. You do not "
                                     "need to send the message again.");
      }
      break;
    case MB_DSN_KIND_RELAYED:
      {
        g_autofree char *text = g_strdup_printf (
            "Your message was handed over to the mail server %s for the "
            "recipients listed below. That server does not send delivery "
            "reports, so this is the last report you get about this "
            "message.",
            options->remote_mta != NULL ? options->remote_mta
                                        : "of Microsoft 365");

        append_paragraph (out, text);
      }
      break;
    default:
      break;
    }

  if (original->subject != NULL)
    g_string_append_printf (out, "  Subject:  %s\n", original->subject);
  if (envelope->received > 0)
    {
      g_autofree char *sent = format_date (envelope->received);

      g_string_append_printf (out, "  Received: %s\n", sent);
    }
  if (envelope->id != NULL)
    {
      g_autofree char *id = mb_dsn_sanitize (envelope->id);

      g_string_append_printf (out, "  Queue ID: %s\n", id);
    }
  g_string_append_c (out, '\n');

  for (guint i = 0; i < recipients->len; i++)
    {
      const MbRecipient *recipient = g_ptr_array_index (recipients, i);
      g_autofree char   *address = mb_dsn_sanitize (recipient->address);
      const MbReplyHint *hint = NULL;

      g_string_append_printf (out, "<%s>\n", address);
      if (recipient->last_reply != NULL)
        {
          g_autofree char *reply = mb_dsn_sanitize (recipient->last_reply);

          /* Verbatim, not wrapped: this is what the admin may search for
           * or quote to Microsoft's support. */
          g_string_append_printf (out, "  %s %s\n",
                                  kind == MB_DSN_KIND_DELAY
                                      ? "Last answer of the server:"
                                      : "The server answered:",
                                  reply);
          hint = mb_reply_hints_lookup_line (recipient->last_reply);
        }
      if (hint != NULL)
        {
          append_wrapped (out, "  What it means: ", "    ",
                          mb_reply_hint_get_summary (hint));
          append_wrapped (out, "  What to do: ", "    ",
                          mb_reply_hint_get_fix (hint));
        }
      g_string_append_c (out, '\n');
    }

  if (!have_original)
    append_paragraph (out, "The original message could not be attached.");
  else if (original->full)
    append_paragraph (out, "The original message is attached.");
  else if (original->too_large)
    append_paragraph (out, "The header of the original message is attached; "
                           "the message itself is too large to return.");
  else
    append_paragraph (out, "The header of the original message is "
                           "attached.");
  append_wrapped (out, "", "",
                  "If you need help, forward this report to "
                  "the person who looks after your office's "
                  "email.");
  return g_string_free (out, FALSE);
}
