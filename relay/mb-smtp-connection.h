/* mb-smtp-connection.h - the byte transport under one inbound SMTP session
 *
 * Owns the GIOStream of one client: an input buffer filled by one read at
 * a time, only when the session asks for input; an ordered queue of reply
 * batches written one after the other; the idle and session timers;
 * STARTTLS (the server side of the handshake); and closing, gracefully or
 * at once.  It knows nothing of SMTP commands: mb-smtp-session pulls lines
 * or raw bytes from the input and pushes reply bytes into the output.
 */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

#define MB_TYPE_SMTP_CONNECTION (mb_smtp_connection_get_type ())
G_DECLARE_FINAL_TYPE (MbSmtpConnection,
                      mb_smtp_connection,
                      MB,
                      SMTP_CONNECTION,
                      GObject)

/* The argument of "timeout". */
typedef enum
{
  MB_SMTP_CONNECTION_TIMEOUT_IDLE,    /* nothing read or written for long */
  MB_SMTP_CONNECTION_TIMEOUT_SESSION, /* the whole session took too long */
} MbSmtpConnectionTimeout;

/* What mb_smtp_connection_take_line() found. */
typedef enum
{
  MB_SMTP_CONNECTION_LINE_INCOMPLETE, /* no line end yet: request input */
  MB_SMTP_CONNECTION_LINE_COMPLETE,   /* *line holds one line */
  MB_SMTP_CONNECTION_LINE_TOO_LONG,   /* a line over the limit was dropped */
} MbSmtpConnectionLine;

/* @remote: (nullable) the client's address.  @session_id: for log lines.
 * Nothing happens on @stream before mb_smtp_connection_start(). */
MbSmtpConnection *mb_smtp_connection_new (GIOStream      *stream,
                                          GSocketAddress *remote,
                                          const char     *session_id);

/* The client's IP address as text, "unknown" without @remote. */
const char *mb_smtp_connection_get_client_ip (MbSmtpConnection *connection);
/* "IP:port", "[IPv6]:port" or "unknown". */
const char *
mb_smtp_connection_get_client_address (MbSmtpConnection *connection);

/* Arms the timers, in seconds, 0 for none: the idle timer restarts on
 * every completed read and write; the session timer runs once. */
void mb_smtp_connection_start (MbSmtpConnection *connection,
                               guint             idle_timeout,
                               guint             session_timeout);
/* Gives the client a whole idle period again (the session waits for its
 * own disk, not for the client). */
void mb_smtp_connection_restart_idle_timer (MbSmtpConnection *connection);

/* Input.  Bytes stay buffered until consumed; more are read only on
 * request (back-pressure). */

/* Reads more, unless a read is outstanding, the connection is closing or
 * in STARTTLS, or the output is full.  "input-available" follows. */
void mb_smtp_connection_request_input (MbSmtpConnection *connection);
/* (transfer none) (nullable) the unconsumed input, NULL when *@len is 0;
 * valid until the next call. */
const guint8 *mb_smtp_connection_peek_input (MbSmtpConnection *connection,
                                             gsize            *len);
void mb_smtp_connection_consume_input (MbSmtpConnection *connection, gsize n);
/* Takes the next line (RFC 5321 2.3.8: up to LF, without CRLF or a lone
 * LF).  A line longer than @limit octets is TOO_LONG: it is dropped, up to
 * its line end even if that is yet to come.  For COMPLETE, *@line
 * (transfer full) is NUL-terminated and *@len its length; the line may
 * hold NULs. */
MbSmtpConnectionLine mb_smtp_connection_take_line (MbSmtpConnection *connection,
                                                   gsize             limit,
                                                   char            **line,
                                                   gsize            *len);

/* Output.  Bytes are batched until flushed; batches go out in order, one
 * write at a time (RFC 2920: flush before waiting for anything). */

/* Appends @len bytes (complete reply lines, CRLF included) to the batch. */
void mb_smtp_connection_add_output (MbSmtpConnection *connection,
                                    const char       *text,
                                    gsize             len);
void mb_smtp_connection_flush (MbSmtpConnection *connection);
/* Whether more than 64 KiB of output wait for a client that does not
 * read them: take no more commands until "output-sent". */
gboolean mb_smtp_connection_is_output_full (MbSmtpConnection *connection);

/* STARTTLS (RFC 3207): discards the buffered input (4.2: plaintext sent
 * after the command is never taken as commands), reads nothing more, and
 * once every queued byte is sent (the 220) wraps the stream in a TLS server
 * connection with @certificate and runs the handshake.  "tls-done" or
 * "lost" follows. */
void mb_smtp_connection_start_tls (MbSmtpConnection *connection,
                                   GTlsCertificate  *certificate);

/* Stops reading, sends what is queued and flushed so far, then closes.
 * The idle timer bounds how long that may take.  During the TLS handshake
 * nothing can be sent: then it aborts.  Does nothing once closing. */
void mb_smtp_connection_close (MbSmtpConnection *connection);
/* Drops what is not sent yet, cancels all I/O and closes. */
void mb_smtp_connection_abort (MbSmtpConnection *connection);

/* Signals, emitted from the callbacks of the main context (only "lost" also
 * from mb_smtp_connection_flush(), when STARTTLS cannot wrap the stream):
 *   "input-available" (void): a read added input.
 *   "output-sent" (void): a batch was written (not once closing).
 *   "timeout" (guint MbSmtpConnectionTimeout): a timer fired while not
 *     closing; the handler decides.  (An idle timeout while closing aborts
 *     without a signal: the client does not read its last reply.)
 *   "tls-done" (void): the handshake succeeded; the client starts over.
 *   "lost" (gboolean eof): the client went away (@eof) or an I/O or TLS
 *     error (logged) broke the stream; the connection aborts right after
 *     the handlers ran.
 *   "closed" (void): the stream is closed; emitted once, last. */

G_END_DECLS
