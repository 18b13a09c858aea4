/* mb-smtp-session.h - one inbound SMTP conversation (the state machine)
 *
 * Speaks ESMTP (RFC 5321) with a device over a GIOStream: EHLO/HELO, MAIL,
 * RCPT, DATA, BDAT (RFC 3030), RSET, NOOP, QUIT, VRFY (252), HELP, STARTTLS
 * (RFC 3207).  Announces SIZE, PIPELINING, 8BITMIME, SMTPUTF8,
 * ENHANCEDSTATUSCODES, DSN, CHUNKING.  Streams each message through the
 * DATA decoder and the header stamper into a spool writer, and answers 250
 * only after the spool commit returned.  All I/O is asynchronous.
 */
#pragma once

#include <gio/gio.h>

#include "mb-relay-config.h"
#include "mb-spool.h"

G_BEGIN_DECLS

#define MB_TYPE_SMTP_SESSION (mb_smtp_session_get_type ())
G_DECLARE_FINAL_TYPE (MbSmtpSession, mb_smtp_session, MB, SMTP_SESSION, GObject)

/* @remote: (nullable) the client's address, for logs and Received.
 * @tls_certificate: (nullable) without one, STARTTLS is not offered. */
MbSmtpSession *mb_smtp_session_new (GIOStream       *stream,
                                    GSocketAddress  *remote,
                                    MbRelayConfig   *config,
                                    MbSpool         *spool,
                                    GTlsCertificate *tls_certificate);

const char *mb_smtp_session_get_id (MbSmtpSession *session);

/* Sends the 220 greeting and starts reading. */
void mb_smtp_session_start (MbSmtpSession *session);

/* Refuses the client: sends @reply (a complete reply line without CRLF,
 * e.g. "554 5.7.1 ...") instead of the greeting, answers 503 to anything
 * but QUIT (RFC 5321 3.1), and closes soon. */
void mb_smtp_session_start_refused (MbSmtpSession *session, const char *reply);

/* Closes now (server shutdown): "421 4.3.2" and close; a message being
 * received is dropped, never half-queued. */
void mb_smtp_session_close (MbSmtpSession *session);

/* Signals:
 *   "closed" (void): the connection is gone; the session may be dropped.
 *   "message-accepted" (const char *queue_id): after the 250. */

G_END_DECLS
