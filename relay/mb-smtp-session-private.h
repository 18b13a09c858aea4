/* mb-smtp-session-private.h - what the two parts of MbSmtpSession share
 *
 * MbSmtpSession lives in mb-smtp-session.c (the object, the input loop,
 * the message of the transaction, closing, the connection's signals) and
 * mb-smtp-session-commands.c (what each command does and which reply it
 * gets).  Only they include this.
 *
 * Replies are batched on the connection and sent when the input loop
 * waits; a command handler never waits itself: it changes the state, and
 * the input loop goes on from there.
 */
#pragma once

#include "mb-smtp-connection.h"
#include "mb-smtp-message.h"
#include "mb-smtp-parser.h"
#include "mb-smtp-session.h"

G_BEGIN_DECLS

/* In the order of a session's life: the code compares them. */
typedef enum
{
  STATE_NEW,     /* not started */
  STATE_COMMAND, /* reading command lines */
  STATE_DATA,    /* after 354: the message takes the input */
  STATE_BDAT,    /* inside a BDAT chunk */
  STATE_COMMIT,  /* end of message seen: spool writes and commit; input waits */
  STATE_TLS,     /* after "220 Ready to start TLS": the connection's turn */
  STATE_CLOSING, /* no more input; the connection drains, then closes */
  STATE_CLOSED,
} MbSmtpSessionState;

struct _MbSmtpSession
{
  GObject parent_instance;

  char             *id;
  MbSmtpConnection *connection;      /* (owned) */
  const char       *client_ip;       /* (unowned) the connection's */
  MbRelayConfig    *config;          /* (owned) */
  MbSpool          *spool;           /* (owned) */
  GTlsCertificate  *tls_certificate; /* (owned) (nullable) */

  MbSmtpSessionState state;
  gboolean           refused;    /* started with start_refused() */
  gboolean           tls;        /* STARTTLS done */
  gboolean           running;    /* holds a reference on itself until closed */
  gboolean           processing; /* process_input() is on the stack */
  char *deferred_close;          /* (owned) (nullable) 421 after the commit */

  /* SMTP state */
  char           *helo; /* (owned) (nullable) */
  gboolean        esmtp;
  MbSmtpMailArgs *mail;    /* (owned) (nullable) */
  GPtrArray      *rcpts;   /* (owned) (element-type MbSmtpRcptArgs) */
  MbSmtpMessage  *message; /* (owned) (nullable) from 354 or BDAT */
  guint64         bdat_remaining;
  guint64         bdat_chunk;
  gboolean        bdat_last;
  char           *bdat_error; /* (owned) (nullable) reply after the chunk */

  /* Counters for the log and the limits. */
  guint n_commands;
  guint n_errors;
  guint n_messages;
};

/* Queues one reply line (without CRLF) on the connection; a 4xx or 5xx
 * counts as an error of the client (max_errors).  Control characters in
 * the text, which may quote the client, become '?'. */
G_GNUC_PRINTF (2, 3)
void mb_smtp_session_reply (MbSmtpSession *self, const char *format, ...);
/* The same for replies that are not the client's fault: local errors, the
 * recipient limit (RFC 5321 4.5.3.1.10 expects the client to carry on). */
G_GNUC_PRINTF (2, 3)
void
mb_smtp_session_reply_no_count (MbSmtpSession *self, const char *format, ...);

/* Forgets MAIL, RCPT and any message (RFC 5321 4.1.1.5). */
void mb_smtp_session_reset_transaction (MbSmtpSession *self);
/* Starts the message of the transaction (354 or the first BDAT). */
void mb_smtp_session_start_message (MbSmtpSession       *self,
                                    MbSmtpMessageFraming framing);
/* Answers with the message's refusal and ends the transaction. */
void mb_smtp_session_refuse_message (MbSmtpSession *self);
/* Stops taking input, sends @reply (nullable) after the replies already
 * queued, then closes. */
void mb_smtp_session_begin_close (MbSmtpSession *self, const char *reply);

/* mb-smtp-session-commands.c: handles one command line (without CRLF). */
void mb_smtp_session_handle_command (MbSmtpSession *self,
                                     const char    *line,
                                     gsize          len);

G_END_DECLS
