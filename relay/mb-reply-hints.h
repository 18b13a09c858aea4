/* mb-reply-hints.h - what an SMTP reply means, and what the admin can do
 *
 * One table maps the replies of Microsoft 365 (M365-FACTS.md section 4),
 * the RFC 3463 status classes and Mailbridge's own local failures to a
 * one-sentence summary and a one- or two-sentence fix, written for the admin
 * of a small office.  The log, mailbridgectl, the GUI, bounces and
 * notifications all take their hint from here.
 *
 * Pure code: no I/O, no global state apart from gettext; thread-safe.  The
 * table is static and lives as long as the program.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/**
 * MbReplyHint:
 * @code: the basic reply code (RFC 5321 4.2), e.g. 535, or 0 for any.  An
 *   exact enhanced code or a range names the condition itself, so there the
 *   code only breaks ties (Microsoft may change 550 to 554); a wildcard
 *   entry ("5.7.*") with a code matches only that code; an entry without
 *   enhanced code matches on the code alone.  0 together with no enhanced
 *   code marks a local pseudo reply, found by keyword only.
 * @enhanced_first: (nullable) the enhanced status code (RFC 3463) or the
 *   first of a range, e.g. "5.7.139", "5.2.251"; a class is written with
 *   wildcards: "5.7.*" (subject), "4.*.*" (class).
 * @enhanced_last: (nullable) the last code of a range, inclusive; NULL for
 *   a single code or a class.
 * @text_match: (nullable) for codes Microsoft reuses with different texts:
 *   substrings of the reply text, any of them matching, separated by '|',
 *   compared case-insensitively (ASCII).
 * @keyword: stable, unique, language-neutral id, e.g.
 *   "m365.smtp-auth-disabled-tenant", "smtp.mailbox-full",
 *   "mb.tls-untrusted".  Log lines, JSON and D-Bus carry this.  Prefixes:
 *   "m365." Microsoft 365 replies, "smtp." RFC 5321 / RFC 3463 meanings,
 *   "mb." Mailbridge's own local failures (pseudo replies).
 * @summary: what happened, one sentence, English (msgid; see
 *   mb_reply_hint_get_summary() for the translation).
 * @fix: what to do, one or two sentences, English (msgid).
 * @pause_route: the route itself (account, tenant, connector, IP address)
 *   is blocked or misconfigured: every further message would fail the same
 *   way, and repeating the failure can extend the block (Exchange Online's
 *   continuous-error throttling, 5.2.251-5.2.255).  The scheduler holds the
 *   route instead of retrying or bouncing until the admin resumes it.
 *
 * One entry of the table.  A process that must log in English (the daemon)
 * uses @summary and @fix as they are; everything shown to a person uses the
 * getters.
 */
typedef struct
{
  guint       code;
  const char *enhanced_first;
  const char *enhanced_last;
  const char *text_match;
  const char *keyword;
  const char *summary;
  const char *fix;
  gboolean    pause_route;
} MbReplyHint;

/* Finds the most specific entry for a reply: by enhanced code first
 * (exact code > range > subject class "x.y.*" > class "x.*.*"), within that
 * an entry whose text matches beats one without text, then a matching
 * basic code, then the longer text match, then table order.  A reply
 * without a valid enhanced code (or one whose class disagrees with @code)
 * matches the entries for its basic code, else the class of its first
 * digit.  @code 0 means "unknown": then @enhanced alone decides (a DSN
 * Status field), or, with no enhanced code, @text names an "mb." keyword.
 * @text may hold the whole reply text, server tag included; the tag is
 * never needed.  Returns NULL for success codes or when nothing applies. */
const MbReplyHint *
mb_reply_hints_lookup (guint code, const char *enhanced, const char *text);

/* Parses a reply as it appears in a transcript or an envelope's
 * last_reply, "550 5.7.64 TenantAttribution; ..." (a multi-line reply
 * "550-...\r\n550 ..." is fine), or a pseudo reply "mb.timeout ...", and
 * looks it up.  NULL when the line is not a reply or nothing applies. */
const MbReplyHint *mb_reply_hints_lookup_line (const char *line);

/* The entry with this keyword, or NULL. */
const MbReplyHint *mb_reply_hints_lookup_keyword (const char *keyword);

/* The summary and fix translated into the current locale (text domain
 * GETTEXT_PACKAGE); owned by gettext, valid for the program's life. */
const char *mb_reply_hint_get_summary (const MbReplyHint *hint);
const char *mb_reply_hint_get_fix (const MbReplyHint *hint);

/* "summary — fix" on one line, translated, for the CLI and notifications;
 * NULL when no entry applies.  Free with g_free(). */
char *
mb_reply_hints_describe (guint code, const char *enhanced, const char *text);

/* The whole table in match order, for tests and generated docs. */
const MbReplyHint *mb_reply_hints_get_table (gsize *n_entries);

G_END_DECLS
