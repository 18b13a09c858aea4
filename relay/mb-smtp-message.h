/* mb-smtp-message.h - the message being received in one SMTP transaction
 *
 * From 354 (or the first BDAT) to the reply: decodes and checks the
 * message octets, stamps the header, streams them into a spool writer with
 * back-pressure, decides whether the message is refused and with which
 * reply, builds the MbEnvelope and commits the message to the spool.  The
 * session (mb-smtp-session) owns the conversation and feeds it.
 */
#pragma once

#include <gio/gio.h>

#include "mb-envelope.h"
#include "mb-relay-config.h"
#include "mb-smtp-parser.h"
#include "mb-spool.h"

G_BEGIN_DECLS

#define MB_SMTP_MESSAGE_ERROR (mb_smtp_message_error_quark ())
GQuark mb_smtp_message_error_quark (void);

/* Why a message is refused; also the codes of MB_SMTP_MESSAGE_ERROR.  The
 * first reason found is kept, except that the smuggling reasons win over
 * the others found in the same piece of input. */
typedef enum
{
  MB_SMTP_REFUSAL_NONE,
  MB_SMTP_REFUSAL_BARE_LF,       /* 550 5.6.11 */
  MB_SMTP_REFUSAL_BARE_CR,       /* 550 5.6.11 */
  MB_SMTP_REFUSAL_LINE_TOO_LONG, /* 500 5.5.2 */
  MB_SMTP_REFUSAL_TOO_BIG,       /* 552 5.3.4 */
  MB_SMTP_REFUSAL_NO_SPACE,      /* 452 4.3.1, the relay's own trouble */
  MB_SMTP_REFUSAL_SPOOL_ERROR,   /* 451 4.3.0, the relay's own trouble */
} MbSmtpRefusal;

typedef enum
{
  MB_SMTP_MESSAGE_DATA, /* dot-stuffed, ends with <CRLF>.<CRLF> */
  MB_SMTP_MESSAGE_BDAT, /* raw chunks (RFC 3030), ends with BDAT LAST */
} MbSmtpMessageFraming;

/* What the session knows of the message; mb_smtp_message_new() copies
 * what it needs. */
typedef struct
{
  const char           *session_id; /* for log lines */
  const char           *client_ip;
  const char           *helo;     /* (nullable) sanitized EHLO/HELO name */
  const char           *protocol; /* RFC 3848 "with" keyword, e.g. "ESMTPS" */
  const MbSmtpMailArgs *mail;
  GPtrArray            *rcpts; /* (element-type MbSmtpRcptArgs) not empty */
} MbSmtpMessageOrigin;

#define MB_TYPE_SMTP_MESSAGE (mb_smtp_message_get_type ())
G_DECLARE_FINAL_TYPE (MbSmtpMessage, mb_smtp_message, MB, SMTP_MESSAGE, GObject)

/* Opens a spool writer and prepares the Received: field.  Never fails: a
 * spool error becomes the message's refusal (logged). */
MbSmtpMessage *mb_smtp_message_new (MbSpool                   *spool,
                                    MbRelayConfig             *config,
                                    const MbSmtpMessageOrigin *origin,
                                    MbSmtpMessageFraming       framing);

/* Whether the spool holds the message: a write or the commit is
 * outstanding.  Feed nothing while it does; "ready" follows a write. */
gboolean mb_smtp_message_is_busy (MbSmtpMessage *message);

/* DATA input as received (dot-stuffed); *@consumed is how much of @data
 * belongs to the message.  Returns TRUE once the end of data was
 * consumed.  A refused message is still read to its end. */
gboolean mb_smtp_message_feed_data (MbSmtpMessage *message,
                                    const guint8  *data,
                                    gsize          len,
                                    gsize         *consumed);
/* BDAT chunk content; all of @data belongs to the message. */
void mb_smtp_message_feed_chunk (MbSmtpMessage *message,
                                 const guint8  *data,
                                 gsize          len);
/* The current BDAT chunk is complete; @last: it was BDAT ... LAST, which
 * ends the message.  Returns FALSE when the message is refused (RFC 3030 2:
 * a failed chunk fails the transaction). */
gboolean mb_smtp_message_end_chunk (MbSmtpMessage *message, gboolean last);

MbSmtpRefusal mb_smtp_message_get_refusal (MbSmtpMessage *message);
/* The reply line (without CRLF) that refuses @message. */
char *mb_smtp_message_format_refusal (MbSmtpMessage *message);
/* "bare-lf", "message-too-big"...: the reason= of the session's log. */
const char *mb_smtp_refusal_to_string (MbSmtpRefusal refusal);
/* Whether the refusal is the relay's fault, not the client's (it does not
 * count as a client error). */
gboolean mb_smtp_refusal_is_local (MbSmtpRefusal refusal);

/* After the end of the message: waits for the outstanding write, writes
 * the rest, builds the envelope and commits it to the spool.  Fails with
 * MB_SMTP_MESSAGE_ERROR (the code is the MbSmtpRefusal, the message the
 * reply line) when the message is refused, before or during the commit.
 * Not cancellable: once the client has sent the whole message, the commit
 * is finished and answered (RFC 5321 6.1). */
void     mb_smtp_message_commit_async (MbSmtpMessage      *message,
                                       GAsyncReadyCallback callback,
                                       gpointer            user_data);
gboolean mb_smtp_message_commit_finish (MbSmtpMessage *message,
                                        GAsyncResult  *result,
                                        GError       **error);

/* (nullable) the spool's queue id; NULL once refused. */
const char *mb_smtp_message_get_queue_id (MbSmtpMessage *message);
/* Bytes written to the spool so far (stamped header included). */
guint64 mb_smtp_message_get_size (MbSmtpMessage *message);
/* The envelope: complete (id, size, Message-ID) once committed. */
const MbEnvelope *mb_smtp_message_get_envelope (MbSmtpMessage *message);

/* Signals:
 *   "ready" (void): a spool write finished before the end of the message;
 *   the session may feed more.  Not emitted once the commit started. */

G_END_DECLS
