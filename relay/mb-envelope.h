/* mb-envelope.h - the envelope of a queued message (queue/ID.env)
 *
 * Plain data: the sender, each recipient with its own delivery state, the
 * client it came from and the DSN parameters.  Serialised as a versioned
 * GKeyFile text; parsing refuses anything incomplete, so a torn or foreign
 * file is detected, never half-trusted.
 */
#pragma once

#include <glib.h>

#include "mb-smtp-parser.h"

G_BEGIN_DECLS

#define MB_ENVELOPE_VERSION 1

#define MB_ENVELOPE_ERROR (mb_envelope_error_quark ())
GQuark mb_envelope_error_quark (void);

typedef enum
{
  MB_ENVELOPE_ERROR_PARSE,   /* not a key file, or a key has a bad value */
  MB_ENVELOPE_ERROR_VERSION, /* written by a newer Mailbridge */
  MB_ENVELOPE_ERROR_MISSING, /* a required key is missing */
} MbEnvelopeError;

typedef enum
{
  MB_RECIPIENT_STATE_QUEUED,    /* not tried yet */
  MB_RECIPIENT_STATE_DEFERRED,  /* a 4xx: will be retried at next_attempt */
  MB_RECIPIENT_STATE_DELIVERED, /* accepted upstream (final) */
  MB_RECIPIENT_STATE_FAILED,    /* 5xx or expired; bounced (final) */
} MbRecipientState;

typedef struct
{
  char            *address; /* (owned) */
  MbRecipientState state;
  guint            notify; /* MbDsnNotify flags, 0 = not given */
  char            *orcpt;  /* (owned) (nullable) */
  guint            attempts;
  gint64           next_attempt; /* unix seconds; 0 = as soon as possible */
  char            *last_reply; /* (owned) (nullable) the last upstream reply */
} MbRecipient;

typedef struct
{
  char          *id;             /* (owned) queue id */
  char          *sender;         /* (owned) "" for the null reverse path */
  GPtrArray     *recipients;     /* (owned) (element-type MbRecipient) */
  gint64         received;       /* unix seconds, first seen */
  guint64        size;           /* bytes of ID.eml */
  char          *client_address; /* (owned) (nullable) IP of the device */
  char          *client_helo;    /* (owned) (nullable) its HELO/EHLO name */
  char          *route;          /* (owned) (nullable) route to use */
  char          *message_id;     /* (owned) (nullable) Message-ID header */
  gboolean       smtputf8;
  MbSmtpBodyType body;
  MbDsnRet       ret;
  char          *envid;             /* (owned) (nullable) */
  gint64         delay_notice_sent; /* unix seconds, 0 = not sent */
} MbEnvelope;

MbEnvelope  *mb_envelope_new (void);
void         mb_envelope_free (MbEnvelope *envelope);
MbEnvelope  *mb_envelope_copy (const MbEnvelope *envelope);
MbRecipient *mb_envelope_add_recipient (MbEnvelope *envelope,
                                        const char *address,
                                        guint       notify,
                                        const char *orcpt);
/* Whether every recipient is DELIVERED or FAILED. */
gboolean mb_envelope_is_finished (const MbEnvelope *envelope);

/* The key file text of @envelope (UTF-8, LF line ends). */
GBytes     *mb_envelope_serialize (const MbEnvelope *envelope);
MbEnvelope *mb_envelope_parse (const char *data, gsize len, GError **error);

const char *mb_recipient_state_to_string (MbRecipientState state);
gboolean    mb_recipient_state_from_string (const char       *text,
                                            MbRecipientState *state);
void        mb_recipient_free (MbRecipient *recipient);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (MbEnvelope, mb_envelope_free)

G_END_DECLS
