/* mb-smtp-client-private.h - what the three parts of MbSmtpClient share
 *
 * MbSmtpClient lives in mb-smtp-client.c (the object, the step timer, line
 * I/O, QUIT), mb-smtp-client-connect.c (greeting to AUTH) and
 * mb-smtp-client-send.c (one mail transaction).  Only they include this.
 *
 * Operations run one at a time.  Each public operation calls
 * mb_smtp_client_begin_op() and ends through mb_smtp_client_end_op() (done)
 * or mb_smtp_client_fail_op() (done, connection dropped).  The internal
 * I/O calls complete on the thread-default main context and use the
 * operation's cancellable, which the step timer and the caller's
 * cancellable both cancel.
 */
#pragma once

#include "mb-smtp-client.h"

G_BEGIN_DECLS

#define MB_SMTP_CLIENT_READ_SIZE 4096
#define MB_SMTP_CLIENT_REDACTED "********"

struct _MbSmtpClient
{
  GObject parent_instance;

  MbSmtpClientOptions *options;  /* (owned) */
  GSocketConnectable  *identity; /* (owned) host and port */
  GSocketConnection   *socket;   /* (owned) (nullable) */
  GIOStream           *stream;   /* (owned) (nullable) socket or TLS on it */
  gboolean             ready;    /* connected, no transaction open */
  gboolean             encrypted;

  MbSmtpReplyParser   *parser; /* (owned) */
  GByteArray          *inbuf;  /* (owned) read, not yet parsed */
  guint8               readbuf[MB_SMTP_CLIENT_READ_SIZE];
  MbSmtpReply         *greeting;      /* (owned) (nullable) */
  MbSmtpCapabilities  *caps;          /* (owned) (nullable) */
  char                *tls_summary;   /* (owned) (nullable) */
  GTlsCertificateFlags tls_errors;    /* why the certificate was refused */
  char                *trust_problem; /* (owned) (nullable) */

  /* The operation in progress. */
  gboolean      busy;
  GCancellable *io_cancellable;   /* (owned) (nullable) */
  GCancellable *user_cancellable; /* (owned) (nullable) */
  gulong        user_cancelled_id;
  GSource      *timeout_source; /* (owned) (nullable) */
  char         *step;           /* (owned) (nullable) "waiting for ..." */
  gboolean      timed_out;
  guint         auth_round;
};

/* Completes @task with G_IO_ERROR_PENDING and returns FALSE when another
 * operation runs. */
gboolean mb_smtp_client_check_idle (MbSmtpClient *self, GTask *task);
void mb_smtp_client_begin_op (MbSmtpClient *self, GCancellable *cancellable);
void mb_smtp_client_end_op (MbSmtpClient *self);
/* (Re)starts the step timer; @format completes "Timed out ...", e.g.
 * "waiting for the reply to RCPT". */
void mb_smtp_client_start_step (MbSmtpClient *self, const char *format, ...)
    G_GNUC_PRINTF (2, 3);
/* Ends the operation of @task with @error (taken), turning a cancellation
 * by the step timer into G_IO_ERROR_TIMED_OUT, and drops the connection. */
void mb_smtp_client_fail_op (GTask *task, GError *error);
/* The _finish of mb_smtp_client_command_async() and
 * mb_smtp_client_read_reply_async() for the steps of a chain: the reply
 * (transfer full), or NULL after failing the operation of @task with the
 * error. */
MbSmtpReply *mb_smtp_client_reply_or_fail (GTask *task, GAsyncResult *result);
/* The same for mb_smtp_client_write_async(): FALSE after failing the
 * operation of @task with the error. */
gboolean mb_smtp_client_write_or_fail (GTask *task, GAsyncResult *result);
/* A 421 anywhere ends the session (RFC 5321 3.8): fails @task with REPLY
 * and returns TRUE. */
gboolean mb_smtp_client_fail_if_closing (GTask *task, const MbSmtpReply *reply);
void     mb_smtp_client_close_connection (MbSmtpClient *self);
/* An MB_SMTP_CLIENT_ERROR that carries a copy of @reply; the message is
 * the formatted text, ": ", and the reply on one line. */
GError *mb_smtp_client_new_reply_error (MbSmtpClientError  code,
                                        const MbSmtpReply *reply,
                                        const char        *format,
                                        ...) G_GNUC_PRINTF (3, 4);
void
mb_smtp_client_emit_line (MbSmtpClient *self, gboolean sent, const char *line);

/* Writes all of @bytes. */
void     mb_smtp_client_write_async (MbSmtpClient       *self,
                                     GBytes             *bytes,
                                     GAsyncReadyCallback callback,
                                     gpointer            user_data);
gboolean mb_smtp_client_write_finish (MbSmtpClient *self,
                                      GAsyncResult *result,
                                      GError      **error);
/* Reads one reply (buffered bytes first); @what names it for the step
 * timer, e.g. "the greeting".  Errors: PROTOCOL for garbage or EOF. */
void         mb_smtp_client_read_reply_async (MbSmtpClient       *self,
                                              const char         *what,
                                              GAsyncReadyCallback callback,
                                              gpointer            user_data);
MbSmtpReply *mb_smtp_client_read_reply_finish (MbSmtpClient *self,
                                               GAsyncResult *result,
                                               GError      **error);
/* Sends @line + CRLF and reads the reply.  @verb names the step ("RCPT").
 * @secret: the line holds credentials: the transcript shows "********" and
 * the buffer is zeroed after the write. */
void         mb_smtp_client_command_async (MbSmtpClient       *self,
                                           const char         *line,
                                           const char         *verb,
                                           gboolean            secret,
                                           GAsyncReadyCallback callback,
                                           gpointer            user_data);
MbSmtpReply *mb_smtp_client_command_finish (MbSmtpClient *self,
                                            GAsyncResult *result,
                                            GError      **error);

G_END_DECLS
