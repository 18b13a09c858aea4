/* mb-smtp-client.h - one outbound SMTP connection to the upstream
 *
 * An MbSmtpClient is one connection to one server: connect (greeting, EHLO,
 * STARTTLS, EHLO, AUTH), then any number of sends, then quit.  One
 * operation at a time.  Every step has the options' timeout.  After any
 * error other than a per-message refusal (TOO_BIG, NEEDS_SMTPUTF8,
 * BAD_REQUEST) the connection is closed and the object can only be
 * dropped: callers reconnect with a new client.
 *
 * TLS is verified against the system CAs, always; a trust file only adds
 * CAs.  Credentials are only ever sent over TLS.
 */
#pragma once

#include <gio/gio.h>

#include "mb-smtp-parser.h"
#include "mb-smtp-reply.h"

G_BEGIN_DECLS

#define MB_SMTP_CLIENT_ERROR (mb_smtp_client_error_quark ())
GQuark mb_smtp_client_error_quark (void);

/* Timeouts are G_IO_ERROR_TIMED_OUT ("Timed out waiting for the reply to
 * RCPT"), cancellation is G_IO_ERROR_CANCELLED.  Errors marked (reply)
 * carry the server's reply: mb_smtp_client_error_get_reply(). */
typedef enum
{
  MB_SMTP_CLIENT_ERROR_CONNECT,          /* resolving or connecting failed */
  MB_SMTP_CLIENT_ERROR_TLS_UNTRUSTED,    /* the certificate did not verify */
  MB_SMTP_CLIENT_ERROR_TLS_TOO_OLD,      /* TLS below 1.2 was negotiated */
  MB_SMTP_CLIENT_ERROR_TLS_FAILED,       /* any other TLS handshake failure */
  MB_SMTP_CLIENT_ERROR_NO_STARTTLS,      /* TLS required (or credentials to
                                          * send) and STARTTLS not offered or
                                          * refused (reply, when refused) */
  MB_SMTP_CLIENT_ERROR_AUTH_UNAVAILABLE, /* the mechanism is not offered */
  MB_SMTP_CLIENT_ERROR_AUTH_FAILED,      /* (reply) AUTH was refused */
  MB_SMTP_CLIENT_ERROR_REPLY,            /* (reply) an unexpected reply that
                                          * ends the session: a refused
                                          * greeting or EHLO, any 421 */
  MB_SMTP_CLIENT_ERROR_PROTOCOL,         /* garbage from the server, or it
                                          * closed the connection */
  MB_SMTP_CLIENT_ERROR_TOO_BIG,          /* message over the server's SIZE */
  MB_SMTP_CLIENT_ERROR_NEEDS_SMTPUTF8,   /* message needs SMTPUTF8, the server
                                          * lacks it (RFC 6531 3.4) */
  MB_SMTP_CLIENT_ERROR_BAD_REQUEST,      /* an address or parameter that
                                          * cannot be put on the wire */
} MbSmtpClientError;

/* The reply an MB_SMTP_CLIENT_ERROR carries, or NULL.  Survives
 * g_error_copy() and g_prefix_error(). */
const MbSmtpReply *mb_smtp_client_error_get_reply (const GError *error);

typedef enum
{
  MB_SMTP_CLIENT_TLS_REQUIRED,      /* STARTTLS or fail, before anything */
  MB_SMTP_CLIENT_TLS_OPPORTUNISTIC, /* STARTTLS when offered; a server that
                                     * offers it and then refuses it (4xx)
                                     * gets plain text */
} MbSmtpClientTls;

typedef enum
{
  MB_SMTP_CLIENT_AUTH_NONE,
  MB_SMTP_CLIENT_AUTH_LOGIN,   /* RFC 4954 + draft-murchison-sasl-login */
  MB_SMTP_CLIENT_AUTH_PLAIN,   /* RFC 4616 */
  MB_SMTP_CLIENT_AUTH_XOAUTH2, /* M365-FACTS.md 2.1, in two steps */
} MbSmtpClientAuth;

/**
 * MbSmtpClientOptions:
 * @host: the server's name: what we resolve and connect to, and the TLS
 *   identity (SNI and certificate check).  An IP address works but
 *   Microsoft 365 refuses it as an identity.
 * @port: e.g. 587 or 25.
 * @helo_name: our name in EHLO/HELO.
 * @tls: see #MbSmtpClientTls.
 * @trust_file: (nullable): a PEM file of extra CAs that may vouch for
 *   @host in addition to the system's.  Never a way to skip verification.
 * @client_certificate: (nullable): presented when the server asks (the
 *   connector method matches on its name).
 * @auth: the mechanism; it must be offered after STARTTLS.
 * @username: (nullable): the mailbox, for every @auth but NONE.
 * @secret: (nullable): password (LOGIN, PLAIN) or access token (XOAUTH2).
 *   Never logged; zeroed when the options are freed.
 * @timeout_seconds: for each step (connect, each reply, each write,
 *   handshake); 0 means 300, RFC 5321 4.5.3.2's common value.
 */
typedef struct
{
  char            *host;
  guint16          port;
  char            *helo_name;
  MbSmtpClientTls  tls;
  char            *trust_file;
  GTlsCertificate *client_certificate;
  MbSmtpClientAuth auth;
  char            *username;
  char            *secret;
  guint            timeout_seconds;
} MbSmtpClientOptions;

MbSmtpClientOptions *mb_smtp_client_options_new (void);
MbSmtpClientOptions      *
mb_smtp_client_options_copy (const MbSmtpClientOptions *options);
void mb_smtp_client_options_free (MbSmtpClientOptions *options);

/* One RCPT: the mailbox and its RFC 3461 parameters, sent only when the
 * server offers DSN. */
typedef struct
{
  char *address; /* (owned) the mailbox, without angle brackets */
  guint notify;  /* MbDsnNotify flags, 0 = not given */
  char *orcpt;   /* (owned) (nullable) "rfc822;addr", decoded */
} MbSmtpSendRecipient;

/**
 * MbSmtpSendRequest:
 * @sender: the reverse path without angle brackets; "" for <>.
 * @recipients: (element-type MbSmtpSendRecipient): in RCPT order.
 * @smtputf8: the message needs SMTPUTF8 (RFC 6531).  Non-ASCII addresses
 *   imply it.  Sent when the server offers it; when it does not, the send
 *   fails with NEEDS_SMTPUTF8 before MAIL.
 * @body: BODY= of the message; BODY=8BITMIME is sent when the server
 *   offers 8BITMIME, otherwise the message goes as is.  BINARYMIME is not
 *   supported (the spool holds text).
 * @ret: (RFC 3461) RET=, sent when the server offers DSN.
 * @envid: (nullable): (RFC 3461) ENVID=, decoded; sent when DSN is offered.
 */
typedef struct
{
  char          *sender;
  GPtrArray     *recipients;
  gboolean       smtputf8;
  MbSmtpBodyType body;
  MbDsnRet       ret;
  char          *envid;
} MbSmtpSendRequest;

MbSmtpSendRequest *mb_smtp_send_request_new (const char *sender);
void mb_smtp_send_request_add_recipient (MbSmtpSendRequest *request,
                                         const char        *address,
                                         guint              notify,
                                         const char        *orcpt);
MbSmtpSendRequest *mb_smtp_send_request_copy (const MbSmtpSendRequest *request);
void               mb_smtp_send_request_free (MbSmtpSendRequest *request);

/**
 * MbSmtpSendResult:
 * @mail_reply: the reply to MAIL.  When it is not positive, nothing else
 *   was done for this message and @rcpt_replies is empty.
 * @rcpt_replies: (element-type MbSmtpReply): one per recipient, in the
 *   request's order, when MAIL was accepted.
 * @data_reply: (nullable): the final word on the message for every
 *   accepted recipient: the reply after the end of data, or the refusal of
 *   DATA itself.  NULL when MAIL failed or no recipient was accepted (the
 *   transaction was then reset with RSET).
 *
 * The caller decides who got the message: an accepted RCPT with a positive
 * @data_reply is delivered.
 */
typedef struct
{
  MbSmtpReply *mail_reply;
  GPtrArray   *rcpt_replies;
  MbSmtpReply *data_reply;
} MbSmtpSendResult;

void mb_smtp_send_result_free (MbSmtpSendResult *result);

#define MB_TYPE_SMTP_CLIENT (mb_smtp_client_get_type ())
G_DECLARE_FINAL_TYPE (MbSmtpClient, mb_smtp_client, MB, SMTP_CLIENT, GObject)

/* Signal "transcript" (gboolean sent, const char *line): every line sent
 * (sent = TRUE) or received, without CRLF, credentials replaced by
 * "********" and message data summarised as "[N bytes of message data]".
 * The same lines go to g_debug as "host=H > line" / "host=H < line". */

MbSmtpClient *mb_smtp_client_new (const MbSmtpClientOptions *options);

/* Connects, reads the greeting, EHLO (HELO when EHLO is refused with 500 or
 * 502), STARTTLS per the options, EHLO again, AUTH.  After success the
 * client is ready for mb_smtp_client_send_async(). */
void     mb_smtp_client_connect_async (MbSmtpClient       *client,
                                       GCancellable       *cancellable,
                                       GAsyncReadyCallback callback,
                                       gpointer            user_data);
gboolean mb_smtp_client_connect_finish (MbSmtpClient *client,
                                        GAsyncResult *result,
                                        GError      **error);

/* Sends one message: MAIL, each RCPT, DATA (in one write when the server
 * offers PIPELINING), then @message from its current position to its end.
 * @message must hold CRLF lines (the spool's format); it is dot-stuffed and
 * read in chunks, never whole.  @size is its length in octets, for SIZE=.
 * A refusal by the server is not an error: it is in the result. */
void              mb_smtp_client_send_async (MbSmtpClient            *client,
                                             const MbSmtpSendRequest *request,
                                             GInputStream            *message,
                                             guint64                  size,
                                             GCancellable            *cancellable,
                                             GAsyncReadyCallback      callback,
                                             gpointer                 user_data);
MbSmtpSendResult *mb_smtp_client_send_finish (MbSmtpClient *client,
                                              GAsyncResult *result,
                                              GError      **error);

/* QUIT, then closes the connection.  The connection is closed even when
 * this fails. */
void     mb_smtp_client_quit_async (MbSmtpClient       *client,
                                    GCancellable       *cancellable,
                                    GAsyncReadyCallback callback,
                                    gpointer            user_data);
gboolean mb_smtp_client_quit_finish (MbSmtpClient *client,
                                     GAsyncResult *result,
                                     GError      **error);

/* Closes at once, without QUIT (e.g. on shutdown).  Idempotent. */
void mb_smtp_client_close (MbSmtpClient *client);

/* Whether the client is connected and can take another send. */
gboolean mb_smtp_client_is_ready (MbSmtpClient *client);
/* What the server announced in its last EHLO reply; (transfer none), NULL
 * before EHLO. */
const MbSmtpCapabilities *
mb_smtp_client_get_capabilities (MbSmtpClient *client);
/* (transfer none) (nullable) */
const MbSmtpReply *mb_smtp_client_get_greeting (MbSmtpClient *client);
/* "TLSv1.3 TLS_AES_256_GCM_SHA384" for the log, or NULL without TLS.
 * (transfer none) */
const char *mb_smtp_client_get_tls_summary (MbSmtpClient *client);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (MbSmtpClientOptions, mb_smtp_client_options_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (MbSmtpSendRequest, mb_smtp_send_request_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (MbSmtpSendResult, mb_smtp_send_result_free)

G_END_DECLS
