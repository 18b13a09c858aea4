/* mb-header-stamper.h - our Received: header, and Date:/Message-ID: for
 * devices that leave them out
 *
 * Pure streaming filter between the DATA decoder and the spool writer.  It
 * holds back the header section (up to a limit) until its end is seen, reads
 * it with GMime, and emits: our Received: line, then Date: and Message-ID:
 * if the device did not send them, then the device's bytes unchanged.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct _MbHeaderStamper MbHeaderStamper;

/* @received: the complete Received: field, folded, ending in CRLF.
 * @hostname: the right-hand side for a generated Message-ID. */
MbHeaderStamper *mb_header_stamper_new (const char *received,
                                        const char *hostname);
void             mb_header_stamper_free (MbHeaderStamper *stamper);

/* Appends to @out what can be written so far. */
void mb_header_stamper_feed (MbHeaderStamper *stamper,
                             const guint8    *data,
                             gsize            len,
                             GByteArray      *out);
/* End of message: appends the rest to @out. */
void mb_header_stamper_finish (MbHeaderStamper *stamper, GByteArray *out);

/* The message's Message-ID (the device's or ours) without angle brackets,
 * once the header section has been seen; NULL before. */
const char *mb_header_stamper_get_message_id (MbHeaderStamper *stamper);

/* Builds our Received: field (RFC 5321 4.4), folded, ending in CRLF:
 * "from HELO (rDNS-less [IP]) by HOSTNAME (Mailbridge) with PROTOCOL id ID
 * for <rcpt>; DATE".  @protocol is "SMTP", "ESMTP", "ESMTPS", "UTF8SMTPS"...
 * (RFC 3848).  @recipient may be NULL (more than one recipient). */
char *mb_header_stamper_format_received (const char *helo,
                                         const char *client_ip,
                                         const char *hostname,
                                         const char *protocol,
                                         const char *queue_id,
                                         const char *recipient,
                                         GDateTime  *when);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (MbHeaderStamper, mb_header_stamper_free)

G_END_DECLS
