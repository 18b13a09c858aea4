/* mb-smtp-session-commands.c - what each SMTP command does in a session
 *
 * What it does: takes one command line of an MbSmtpSession, checks its
 * syntax (mb-smtp-parser) and whether it may come now, changes the
 * session's transaction or state, and queues its reply.  EHLO/HELO, MAIL,
 * RCPT, DATA, BDAT, RSET, NOOP, QUIT, VRFY, EXPN, HELP, STARTTLS and AUTH;
 * anything else is 500.  A session started refused answers 503 to all but
 * QUIT (RFC 5321 3.1).
 *
 * Guarantees:
 * - Every command gets exactly one reply, in order, except BDAT: its reply
 *   comes once its chunk is read (RFC 3030 2), and a BDAT whose size
 *   cannot be read gets 501 and the connection closes, since its chunk
 *   could only be read as commands (no smuggling).
 * - A command out of sequence is refused with 503 5.5.1 and changes
 *   nothing.  EHLO, HELO and RSET end the transaction; after STARTTLS
 *   the session forgets everything (RFC 3207 4.2).
 * - EHLO announces exactly what is implemented: SIZE (the configured
 *   maximum), PIPELINING, 8BITMIME, SMTPUTF8, ENHANCEDSTATUSCODES, DSN,
 *   CHUNKING, and STARTTLS only with a certificate and before TLS.
 * - MAIL parameters need EHLO; SIZE= above the maximum is refused at once
 *   (552 5.3.4); BODY=BINARYMIME is not offered (555).  Recipients beyond
 *   max_recipients get 452 4.5.3, which is not counted as a client error.
 * - The EHLO/HELO name is kept as printable ASCII only: it goes into logs
 *   and the Received field.
 *
 * What it does not do: read input, batch or send replies, feed or commit
 * the message, close the connection (mb-smtp-session); AUTH (answered
 * 502: devices must not send credentials to the relay); VRFY and EXPN
 * (252 and 502, RFC 5321 3.5.3).
 *
 * RFCs: 5321 4.1.1 (commands), 4.1.4 (order of commands), 4.5.3.1.10
 * (recipients), 3.1 (a refused session); 1870 (SIZE), 6152 (8BITMIME),
 * 6531 (SMTPUTF8), 3461 (DSN), 3030 (BDAT), 3207 (STARTTLS).
 */
#define G_LOG_DOMAIN "mb-smtp-session"

#include "mb-smtp-session-private.h"

/* A refused client (RFC 5321 3.1) gets this many commands, then is closed. */
#define REFUSED_MAX_COMMANDS 5

/* Client-supplied words (the HELO name) go into logs and the Received
 * field: keep printable ASCII only, so nothing can forge a log line or
 * fold a header. */
static char *
sanitize_word (const char *text)
{
  GString *word = g_string_new (NULL);

  for (const char *p = text; *p != '\0' && *p != ' ' && word->len < 255; p++)
    g_string_append_c (word, g_ascii_isgraph (*p) ? *p : '?');
  return g_string_free (word, FALSE);
}

static void
handle_helo (MbSmtpSession *self, MbSmtpCommand *command, gboolean esmtp)
{
  const char *hostname = self->config->hostname;
  g_autoptr (GString) ehlo = NULL;

  if (command->argument[0] == '\0')
    {
      mb_smtp_session_reply (self, "501 5.5.4 Syntax: %s hostname",
                             esmtp ? "EHLO" : "HELO");
      return;
    }
  mb_smtp_session_reset_transaction (self);
  g_free (self->helo);
  self->helo = sanitize_word (command->argument);
  self->esmtp = esmtp;
  if (!esmtp)
    {
      mb_smtp_session_reply (self, "250 %s", hostname);
      return;
    }
  ehlo = g_string_new (NULL);
  g_string_append_printf (ehlo, "250-%s\r\n", hostname);
  g_string_append_printf (ehlo, "250-SIZE %" G_GUINT64_FORMAT "\r\n",
                          self->config->max_message_size);
  g_string_append (ehlo, "250-PIPELINING\r\n"
                         "250-8BITMIME\r\n"
                         "250-SMTPUTF8\r\n"
                         "250-ENHANCEDSTATUSCODES\r\n"
                         "250-DSN\r\n"
                         "250-CHUNKING\r\n");
  if (!self->tls && self->tls_certificate != NULL)
    g_string_append (ehlo, "250-STARTTLS\r\n");
  g_string_append (ehlo, "250 HELP\r\n");
  mb_smtp_connection_add_output (self->connection, ehlo->str, ehlo->len);
}

static gboolean
has_esmtp_params (const MbSmtpMailArgs *mail)
{
  return mail->size >= 0 || mail->body != MB_SMTP_BODY_UNSET || mail->smtputf8
         || mail->ret != MB_DSN_RET_UNSET || mail->envid != NULL;
}

static void
reply_parser_error (MbSmtpSession *self, const GError *error)
{
  guint       code;
  const char *enhanced;

  mb_smtp_parser_error_reply (error, &code, &enhanced);
  mb_smtp_session_reply (self, "%u %s %s", code, enhanced, error->message);
}

static void
handle_mail (MbSmtpSession *self, MbSmtpCommand *command)
{
  g_autoptr (MbSmtpMailArgs) mail = NULL;
  g_autoptr (GError) error = NULL;

  if (self->helo == NULL)
    {
      mb_smtp_session_reply (self, "503 5.5.1 Error: send HELO/EHLO first");
      return;
    }
  if (self->mail != NULL)
    {
      mb_smtp_session_reply (self, "503 5.5.1 Error: nested MAIL command");
      return;
    }
  mail = mb_smtp_mail_args_parse (command->argument, &error);
  if (mail == NULL)
    {
      reply_parser_error (self, error);
      return;
    }
  if (!self->esmtp && has_esmtp_params (mail))
    {
      mb_smtp_session_reply (self, "555 5.5.4 MAIL parameters need EHLO");
      return;
    }
  if (mail->body == MB_SMTP_BODY_BINARYMIME)
    {
      mb_smtp_session_reply (self,
                             "555 5.5.4 BODY=BINARYMIME is not supported");
      return;
    }
  if (mail->size >= 0 && (guint64)mail->size > self->config->max_message_size)
    {
      mb_smtp_session_reply (
          self, "552 5.3.4 Message size exceeds fixed maximum message "
                "size");
      return;
    }
  self->mail = g_steal_pointer (&mail);
  mb_smtp_session_reply (self, "250 2.1.0 Ok");
}

static void
handle_rcpt (MbSmtpSession *self, MbSmtpCommand *command)
{
  g_autoptr (MbSmtpRcptArgs) rcpt = NULL;
  g_autoptr (GError) error = NULL;

  if (self->mail == NULL)
    {
      mb_smtp_session_reply (self, "503 5.5.1 Error: need MAIL command");
      return;
    }
  if (self->message != NULL)
    {
      mb_smtp_session_reply (self, "503 5.5.1 Error: RCPT during BDAT");
      return;
    }
  if (self->rcpts->len >= self->config->max_recipients)
    {
      /* RFC 5321 4.5.3.1.10: the client sends the rest in another
       * transaction, so this is not counted as a client error. */
      mb_smtp_session_reply_no_count (self, "452 4.5.3 Too many recipients");
      return;
    }
  rcpt = mb_smtp_rcpt_args_parse (command->argument, self->mail->smtputf8,
                                  &error);
  if (rcpt == NULL)
    {
      reply_parser_error (self, error);
      return;
    }
  g_ptr_array_add (self->rcpts, g_steal_pointer (&rcpt));
  mb_smtp_session_reply (self, "250 2.1.5 Ok");
}

/* DATA and BDAT need a transaction with a recipient. */
static const char *
check_transaction (MbSmtpSession *self)
{
  if (self->mail == NULL)
    return "503 5.5.1 Error: need MAIL command";
  if (self->rcpts->len == 0)
    return "503 5.5.1 Error: no valid recipients";
  return NULL;
}

static void
handle_data (MbSmtpSession *self, MbSmtpCommand *command)
{
  const char *error_line;

  if (command->argument[0] != '\0')
    {
      mb_smtp_session_reply (self, "501 5.5.4 Syntax: DATA");
      return;
    }
  error_line = check_transaction (self);
  if (error_line != NULL)
    {
      mb_smtp_session_reply (self, "%s", error_line);
      return;
    }
  if (self->message != NULL)
    {
      mb_smtp_session_reply (self, "503 5.5.1 Error: DATA during BDAT");
      return;
    }

  mb_smtp_session_start_message (self, MB_SMTP_MESSAGE_DATA);
  if (mb_smtp_message_get_refusal (self->message) != MB_SMTP_REFUSAL_NONE)
    {
      /* Answer now: the client need not send a message we cannot keep. */
      mb_smtp_session_refuse_message (self);
      return;
    }
  mb_smtp_session_reply (self, "354 End data with <CR><LF>.<CR><LF>");
  self->state = STATE_DATA;
}

static void
handle_bdat (MbSmtpSession *self, MbSmtpCommand *command)
{
  g_autoptr (GError) error = NULL;
  MbSmtpBdatArgs args = { 0 };
  const char    *error_line;

  if (!mb_smtp_bdat_args_parse (command->argument, &args, &error))
    {
      /* Without a chunk size the chunk cannot be skipped, and reading its
       * bytes as commands is what smuggling is made of: close. */
      reply_parser_error (self, error);
      mb_smtp_session_begin_close (self, NULL);
      return;
    }
  self->bdat_remaining = args.chunk_size;
  self->bdat_chunk = args.chunk_size;
  self->bdat_last = args.last;
  self->state = STATE_BDAT;

  /* RFC 3030 2: the chunk is read even when it will be refused. */
  error_line = check_transaction (self);
  if (error_line != NULL)
    self->bdat_error = g_strdup (error_line);
  else if (self->message == NULL)
    mb_smtp_session_start_message (self, MB_SMTP_MESSAGE_BDAT);
}

static void
handle_starttls (MbSmtpSession *self, MbSmtpCommand *command)
{
  if (command->argument[0] != '\0')
    mb_smtp_session_reply (self, "501 5.5.4 Syntax: STARTTLS");
  else if (self->tls)
    mb_smtp_session_reply (self, "503 5.5.1 Error: TLS already active");
  else if (self->tls_certificate == NULL)
    mb_smtp_session_reply (self, "502 5.5.1 Error: command not implemented");
  else if (!self->esmtp)
    mb_smtp_session_reply (self, "503 5.5.1 Error: send EHLO first");
  else if (self->mail != NULL)
    mb_smtp_session_reply (
        self, "503 5.5.1 Error: STARTTLS not allowed during a mail "
              "transaction");
  else
    {
      mb_smtp_session_reply (self, "220 2.0.0 Ready to start TLS");
      /* RFC 3207 4.2 and CVE-2011-0411: nothing sent before the handshake
       * may be taken as a command after it; the connection discards it,
       * sends the 220 and runs the handshake ("tls-done"). */
      mb_smtp_connection_start_tls (self->connection, self->tls_certificate);
      self->state = STATE_TLS;
    }
}

static void
handle_refused_command (MbSmtpSession *self, MbSmtpCommand *command)
{
  if (command->verb == MB_SMTP_VERB_QUIT)
    {
      mb_smtp_session_reply_no_count (self, "221 2.0.0 Bye");
      mb_smtp_session_begin_close (self, NULL);
      return;
    }
  /* RFC 5321 3.1: after a 554 greeting, 503 to everything but QUIT. */
  mb_smtp_session_reply_no_count (self,
                                  "503 5.5.1 Error: access denied, send QUIT");
  if (self->n_commands >= REFUSED_MAX_COMMANDS)
    mb_smtp_session_begin_close (self, NULL);
}

void
mb_smtp_session_handle_command (MbSmtpSession *self,
                                const char    *line,
                                gsize          len)
{
  g_autoptr (MbSmtpCommand) command = mb_smtp_command_parse (line, len);
  gboolean no_argument = command->argument[0] == '\0';

  self->n_commands++;
  if (self->refused)
    {
      handle_refused_command (self, command);
      return;
    }

  switch (command->verb)
    {
    case MB_SMTP_VERB_HELO:
      handle_helo (self, command, FALSE);
      break;
    case MB_SMTP_VERB_EHLO:
      handle_helo (self, command, TRUE);
      break;
    case MB_SMTP_VERB_MAIL:
      handle_mail (self, command);
      break;
    case MB_SMTP_VERB_RCPT:
      handle_rcpt (self, command);
      break;
    case MB_SMTP_VERB_DATA:
      handle_data (self, command);
      break;
    case MB_SMTP_VERB_BDAT:
      handle_bdat (self, command);
      break;
    case MB_SMTP_VERB_RSET:
      if (!no_argument)
        {
          mb_smtp_session_reply (self, "501 5.5.4 Syntax: RSET");
          break;
        }
      mb_smtp_session_reset_transaction (self);
      mb_smtp_session_reply (self, "250 2.0.0 Ok");
      break;
    case MB_SMTP_VERB_NOOP:
      mb_smtp_session_reply (self, "250 2.0.0 Ok");
      break;
    case MB_SMTP_VERB_QUIT:
      mb_smtp_session_reply (self, "221 2.0.0 Bye");
      mb_smtp_session_begin_close (self, NULL);
      break;
    case MB_SMTP_VERB_VRFY:
      mb_smtp_session_reply (
          self, "252 2.5.0 Cannot VRFY user, but will accept message");
      break;
    case MB_SMTP_VERB_EXPN:
      mb_smtp_session_reply (self, "502 5.5.1 Error: EXPN not supported");
      break;
    case MB_SMTP_VERB_HELP:
      mb_smtp_session_reply (self, "214 2.0.0 Mailbridge relay: see "
                                   "https://www.rfc-editor.org/rfc/rfc5321");
      break;
    case MB_SMTP_VERB_STARTTLS:
      handle_starttls (self, command);
      break;
    case MB_SMTP_VERB_AUTH:
      /* Not offered: devices must not send credentials here. */
      mb_smtp_session_reply (self,
                             "502 5.5.1 Error: authentication not enabled");
      break;
    case MB_SMTP_VERB_UNKNOWN:
    default:
      mb_smtp_session_reply (self, "500 5.5.2 Error: command not recognized");
      break;
    }
}
