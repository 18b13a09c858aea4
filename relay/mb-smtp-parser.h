/* mb-smtp-parser.h - SMTP command, path, parameter and DATA framing parser
 *
 * Pure code: no GObject, no I/O, no allocation it does not hand back.
 * This is the fuzz target (tests/fuzz/fuzz-smtp-parser.c).
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef enum
{
  MB_SMTP_VERB_UNKNOWN,
  MB_SMTP_VERB_HELO,
  MB_SMTP_VERB_EHLO,
  MB_SMTP_VERB_MAIL,
  MB_SMTP_VERB_RCPT,
  MB_SMTP_VERB_DATA,
  MB_SMTP_VERB_BDAT,
  MB_SMTP_VERB_RSET,
  MB_SMTP_VERB_NOOP,
  MB_SMTP_VERB_QUIT,
  MB_SMTP_VERB_VRFY,
  MB_SMTP_VERB_EXPN,
  MB_SMTP_VERB_HELP,
  MB_SMTP_VERB_STARTTLS,
  MB_SMTP_VERB_AUTH,
} MbSmtpVerb;

/* RFC 6152 / RFC 3030 BODY= parameter. */
typedef enum
{
  MB_SMTP_BODY_UNSET,
  MB_SMTP_BODY_7BIT,
  MB_SMTP_BODY_8BITMIME,
  MB_SMTP_BODY_BINARYMIME,
} MbSmtpBodyType;

/* RFC 3461 RET= parameter. */
typedef enum
{
  MB_DSN_RET_UNSET,
  MB_DSN_RET_FULL,
  MB_DSN_RET_HDRS,
} MbDsnRet;

/* RFC 3461 NOTIFY= parameter, a set of flags; 0 means "not given". */
typedef enum
{
  MB_DSN_NOTIFY_NEVER = 1 << 0,
  MB_DSN_NOTIFY_SUCCESS = 1 << 1,
  MB_DSN_NOTIFY_FAILURE = 1 << 2,
  MB_DSN_NOTIFY_DELAY = 1 << 3,
} MbDsnNotify;

#define MB_SMTP_PARSER_ERROR (mb_smtp_parser_error_quark ())
GQuark mb_smtp_parser_error_quark (void);

/* Each code has one RFC 5321 / RFC 3463 reply, given by
 * mb_smtp_parser_error_reply(). The GError message is the human text. */
typedef enum
{
  MB_SMTP_PARSER_ERROR_SYNTAX,          /* 501 5.5.4 argument syntax */
  MB_SMTP_PARSER_ERROR_BAD_PATH,        /* 501 5.1.7 / 5.1.3 bad address */
  MB_SMTP_PARSER_ERROR_NEEDS_SMTPUTF8,  /* 553 5.6.7 non-ASCII address */
  MB_SMTP_PARSER_ERROR_UNKNOWN_PARAM,   /* 555 5.5.4 parameter not recognised */
  MB_SMTP_PARSER_ERROR_BAD_PARAM,       /* 501 5.5.4 bad parameter value */
  MB_SMTP_PARSER_ERROR_DUPLICATE_PARAM, /* 501 5.5.4 parameter given twice */
  MB_SMTP_PARSER_ERROR_NULL_RCPT,       /* 501 5.1.3 RCPT TO:<> */
} MbSmtpParserError;

/* A command line split into verb and argument.  @argument is the text after
 * the verb with surrounding spaces removed ("" when none). */
typedef struct
{
  MbSmtpVerb verb;
  char      *verb_text; /* (owned) the verb as sent, for logs */
  char      *argument;  /* (owned) */
} MbSmtpCommand;

/* MAIL FROM:<reverse-path> [params] */
typedef struct
{
  char          *reverse_path; /* (owned) "" for the null path <> */
  gint64         size;         /* SIZE=, -1 when not given */
  MbSmtpBodyType body;
  gboolean       smtputf8;
  MbDsnRet       ret;
  char          *envid; /* (owned) (nullable) ENVID=, xtext-decoded */
} MbSmtpMailArgs;

/* RCPT TO:<forward-path> [params] */
typedef struct
{
  char *forward_path; /* (owned) the mailbox; "postmaster" is allowed */
  guint notify;       /* MbDsnNotify flags, 0 when not given */
  char *orcpt;        /* (owned) (nullable) ORCPT= "type;addr", decoded */
} MbSmtpRcptArgs;

/* BDAT chunk-size [LAST] (RFC 3030) */
typedef struct
{
  guint64  chunk_size;
  gboolean last;
} MbSmtpBdatArgs;

/* Finds the next command line in @buf.  Returns TRUE when a line feed was
 * found: *line_len is the length without CRLF (or a lone LF), *consumed the
 * length including it.  Returns FALSE when more input is needed. */
gboolean mb_smtp_parser_next_line (const guint8 *buf,
                                   gsize         len,
                                   gsize        *line_len,
                                   gsize        *consumed);

MbSmtpCommand *mb_smtp_command_parse (const char *line, gsize len);
void           mb_smtp_command_free (MbSmtpCommand *command);

MbSmtpMailArgs *mb_smtp_mail_args_parse (const char *argument, GError **error);
void            mb_smtp_mail_args_free (MbSmtpMailArgs *args);

/* @smtputf8: whether the transaction's MAIL carried SMTPUTF8 (RFC 6531). */
MbSmtpRcptArgs *mb_smtp_rcpt_args_parse (const char *argument,
                                         gboolean    smtputf8,
                                         GError    **error);
void            mb_smtp_rcpt_args_free (MbSmtpRcptArgs *args);

gboolean mb_smtp_bdat_args_parse (const char     *argument,
                                  MbSmtpBdatArgs *args,
                                  GError        **error);

/* Validates a mailbox (RFC 5321 4.1.2 Mailbox, RFC 6531 when @smtputf8). */
gboolean mb_smtp_parser_is_valid_mailbox (const char *mailbox,
                                          gboolean    smtputf8);

/* RFC 3461 4 xtext. */
char *mb_smtp_xtext_encode (const char *text);
char *mb_smtp_xtext_decode (const char *xtext, GError **error);

/* The reply for a parser error: @code (e.g. 501) and @enhanced
 * (e.g. "5.5.4"). */
void mb_smtp_parser_error_reply (const GError *error,
                                 guint        *code,
                                 const char  **enhanced);

/* DATA framing (RFC 5321 4.1.1.4, 4.5.2).
 *
 * The decoder takes the raw bytes that follow "354" and yields the message:
 * CRLF line endings, dot-stuffing removed.  The only end of data is
 * <CRLF>.<CRLF> (the first CRLF being the end of the last line, or the start
 * of the data).  A bare LF, a bare CR, or an over-long line never ends the
 * data: they are recorded in the problem flags, so the caller can refuse the
 * message once the real end is reached (no SMTP smuggling). */
typedef enum
{
  MB_SMTP_DATA_PROBLEM_BARE_LF = 1 << 0,
  MB_SMTP_DATA_PROBLEM_BARE_CR = 1 << 1,
  MB_SMTP_DATA_PROBLEM_LINE_TOO_LONG = 1 << 2,
} MbSmtpDataProblem;

typedef enum
{
  MB_SMTP_DATA_MORE, /* all input consumed, the end was not seen yet */
  MB_SMTP_DATA_END,  /* <CRLF>.<CRLF> seen; *consumed bytes belong to DATA */
} MbSmtpDataStatus;

typedef struct _MbSmtpDataDecoder MbSmtpDataDecoder;

/* @max_line_length: longest text line in octets without its CRLF (998 per
 * RFC 5322 2.1.1); 0 means no limit. */
MbSmtpDataDecoder *mb_smtp_data_decoder_new (gsize max_line_length);
void               mb_smtp_data_decoder_free (MbSmtpDataDecoder *decoder);

/* Decodes @in, appending message bytes to @out (which may be NULL when the
 * caller discards the message).  Never consumes past the end of data. */
MbSmtpDataStatus mb_smtp_data_decoder_feed (MbSmtpDataDecoder *decoder,
                                            const guint8      *in,
                                            gsize              in_len,
                                            gsize             *consumed,
                                            GByteArray        *out);
guint            mb_smtp_data_decoder_get_problems (MbSmtpDataDecoder *decoder);
/* Message bytes produced so far (after unstuffing). */
guint64 mb_smtp_data_decoder_get_size (MbSmtpDataDecoder *decoder);
/* Whether any byte >= 0x80 was seen. */
gboolean mb_smtp_data_decoder_saw_8bit (MbSmtpDataDecoder *decoder);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (MbSmtpCommand, mb_smtp_command_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (MbSmtpMailArgs, mb_smtp_mail_args_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (MbSmtpRcptArgs, mb_smtp_rcpt_args_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (MbSmtpDataDecoder, mb_smtp_data_decoder_free)

G_END_DECLS
