/* mb-smtp-reply.h - what an SMTP server says: replies, EHLO keywords, XOAUTH2
 *
 * Pure code: no GObject, no I/O.  The outbound client (mb-smtp-client) feeds
 * the bytes it reads into an MbSmtpReplyParser; the scheduler, the log and
 * the reply hints work on the resulting MbSmtpReply.
 */
#pragma once

#include <glib-object.h>

G_BEGIN_DECLS

/* Longest reply line we accept, without its line end.  RFC 5321 4.5.3.1.5
 * allows 512 octets with the CRLF; real servers append long tags, so we are
 * lenient by a factor of eight and no more. */
#define MB_SMTP_REPLY_MAX_LINE 4096
/* Longest whole reply (all lines with their line ends). */
#define MB_SMTP_REPLY_MAX_SIZE 65536

#define MB_SMTP_REPLY_ERROR (mb_smtp_reply_error_quark ())
GQuark mb_smtp_reply_error_quark (void);

typedef enum
{
  MB_SMTP_REPLY_ERROR_SYNTAX,       /* a line that is not "ddd[ -]text" */
  MB_SMTP_REPLY_ERROR_INCONSISTENT, /* the lines of one reply differ in code */
  MB_SMTP_REPLY_ERROR_TOO_LONG,     /* a line or the reply exceeds the limit */
} MbSmtpReplyError;

/**
 * MbSmtpReply:
 * @code: the reply code, 200..559 (RFC 5321 4.2: first digit 2-5, second
 *   0-5).
 * @enhanced: (nullable): the RFC 2034 enhanced status code of the first
 *   line, e.g. "5.7.139"; only set when its class digit equals the first
 *   digit of @code.
 * @text: every line's text joined with "\n", without the reply codes and
 *   without the enhanced code where a line starts with it; "" when empty.
 *   Always valid UTF-8 and free of control characters other than TAB.
 */
typedef struct
{
  guint code;
  char *enhanced;
  char *text;
} MbSmtpReply;

#define MB_TYPE_SMTP_REPLY (mb_smtp_reply_get_type ())
GType mb_smtp_reply_get_type (void) G_GNUC_CONST;

MbSmtpReply *
mb_smtp_reply_new (guint code, const char *enhanced, const char *text);
MbSmtpReply *mb_smtp_reply_copy (const MbSmtpReply *reply);
void         mb_smtp_reply_free (MbSmtpReply *reply);

/* "550 5.7.60 text" on one line (the lines of a multi-line reply joined with
 * a space), for logs and for an envelope's last_reply. */
char *mb_smtp_reply_to_string (const MbSmtpReply *reply);

/* 2xx / 3xx / 4xx / 5xx (RFC 5321 4.2.1). */
gboolean mb_smtp_reply_is_positive (const MbSmtpReply *reply);
gboolean mb_smtp_reply_is_intermediate (const MbSmtpReply *reply);
gboolean mb_smtp_reply_is_transient (const MbSmtpReply *reply);
gboolean mb_smtp_reply_is_permanent (const MbSmtpReply *reply);

/* Parses one complete reply, e.g. "250-a\r\n250 b\r\n"; the final line end
 * may be missing ("550 5.7.60 text").  Bytes after the reply are an
 * error. */
MbSmtpReply *mb_smtp_reply_parse (const char *data, gsize len, GError **error);

/* The incremental parser (RFC 5321 4.2, 4.2.1): lines end in CRLF, a bare
 * LF is tolerated; "ddd-" continues a reply and "ddd " or "ddd" ends it.
 * Invalid UTF-8 in the text is repaired rather than refused (old servers
 * send Latin-1 banners). */
typedef struct _MbSmtpReplyParser MbSmtpReplyParser;

typedef enum
{
  MB_SMTP_REPLY_PARSER_MORE, /* all input consumed, the reply is not complete */
  MB_SMTP_REPLY_PARSER_DONE, /* *reply is set; *consumed bytes belonged to it */
  MB_SMTP_REPLY_PARSER_ERROR, /* *error is set; the parser must be reset */
} MbSmtpReplyParserStatus;

MbSmtpReplyParser *mb_smtp_reply_parser_new (void);
void               mb_smtp_reply_parser_free (MbSmtpReplyParser *parser);
void               mb_smtp_reply_parser_reset (MbSmtpReplyParser *parser);

/* Feeds @len bytes.  Never consumes past the end of the reply it completes,
 * so pipelined replies that arrive in one read are returned one per call.
 * After DONE the parser is ready for the next reply.  @reply: (out)
 * (transfer full). */
MbSmtpReplyParserStatus mb_smtp_reply_parser_feed (MbSmtpReplyParser *parser,
                                                   const guint8      *data,
                                                   gsize              len,
                                                   gsize             *consumed,
                                                   MbSmtpReply      **reply,
                                                   GError           **error);

/* ESMTP service extensions announced in an EHLO reply. */
typedef enum
{
  MB_SMTP_EXT_SIZE = 1 << 0,                /* RFC 1870 */
  MB_SMTP_EXT_PIPELINING = 1 << 1,          /* RFC 2920 */
  MB_SMTP_EXT_8BITMIME = 1 << 2,            /* RFC 6152 */
  MB_SMTP_EXT_SMTPUTF8 = 1 << 3,            /* RFC 6531 */
  MB_SMTP_EXT_DSN = 1 << 4,                 /* RFC 3461 */
  MB_SMTP_EXT_STARTTLS = 1 << 5,            /* RFC 3207 */
  MB_SMTP_EXT_AUTH = 1 << 6,                /* RFC 4954 */
  MB_SMTP_EXT_CHUNKING = 1 << 7,            /* RFC 3030 */
  MB_SMTP_EXT_BINARYMIME = 1 << 8,          /* RFC 3030 */
  MB_SMTP_EXT_ENHANCEDSTATUSCODES = 1 << 9, /* RFC 2034 */
} MbSmtpExtension;

/**
 * MbSmtpCapabilities:
 * @extensions: #MbSmtpExtension flags.
 * @size: the SIZE limit in octets; 0 when SIZE has no limit or is absent.
 * @auth_mechanisms: (array zero-terminated=1): the SASL mechanisms of the
 *   AUTH keyword (also the old "AUTH=" form), upper case, without
 *   duplicates; empty, never NULL.
 *
 * What a server announced after EHLO.  Unknown keywords are ignored.
 */
typedef struct
{
  guint   extensions;
  guint64 size;
  char  **auth_mechanisms;
} MbSmtpCapabilities;

/* An empty table: what a server that only speaks HELO offers. */
MbSmtpCapabilities *mb_smtp_capabilities_new (void);
/* Reads the keyword lines (all but the first) of a 250 reply to EHLO. */
MbSmtpCapabilities *mb_smtp_capabilities_parse (const MbSmtpReply *ehlo_reply);
MbSmtpCapabilities *mb_smtp_capabilities_copy (const MbSmtpCapabilities *caps);
void                mb_smtp_capabilities_free (MbSmtpCapabilities *caps);
gboolean            mb_smtp_capabilities_has (const MbSmtpCapabilities *caps,
                                              MbSmtpExtension           extension);
/* Case-insensitive. */
gboolean mb_smtp_capabilities_has_auth (const MbSmtpCapabilities *caps,
                                        const char               *mechanism);

/* The SASL XOAUTH2 initial client response (M365-FACTS.md 2.1):
 * base64 ("user=" user "\x01auth=Bearer " token "\x01\x01").  Contains the
 * token: wipe and free it with mb_smtp_secret_free(). */
char *mb_smtp_xoauth2_encode (const char *user, const char *token);

/* Overwrites a NUL-terminated secret with zeros, then frees it.  NULL is
 * fine. */
void mb_smtp_secret_free (char *secret);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (MbSmtpReply, mb_smtp_reply_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (MbSmtpReplyParser, mb_smtp_reply_parser_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (MbSmtpCapabilities, mb_smtp_capabilities_free)

G_END_DECLS
