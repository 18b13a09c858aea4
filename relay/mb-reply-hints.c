/* mb-reply-hints.c - what an SMTP reply means: finding its table entry
 *
 * WHAT IT DOES
 *   Maps an upstream reply (basic code, RFC 3463 enhanced status code,
 *   text) to one entry of the reply table (mb-reply-hints-table.c): a
 *   stable keyword, a one-sentence summary and a short fix for the admin
 *   of a small office, and whether the route must pause.  Parses one reply
 *   line or a "mb." pseudo reply, finds entries by keyword, and translates
 *   an entry's texts.
 *
 * GUARANTEES
 *   Matching uses the codes first; the text only separates replies that
 *   Microsoft sends with the same codes (the several 535 5.7.139), as a
 *   case-insensitive substring, so the bracketed server tag and small
 *   wording changes do not matter.  The most specific entry wins (see
 *   mb_reply_hints_lookup() in the header); with the table's class
 *   entries, a valid 4.x.x or 5.x.x code always finds at least one.  Pure
 *   and thread-safe: no allocation in the lookups, no state.
 *
 * WHAT IT DOES NOT DO
 *   It decides nothing: the scheduler reads pause_route and the reply code,
 *   the DSN and the GUI show the texts.  It does not parse whole SMTP
 *   transcripts; mb_reply_hints_lookup_line() takes one reply.  It holds no
 *   reply texts: a new or changed reply is an edit to the table only.
 *
 * RFC 3463 (enhanced status codes: class.subject.detail), RFC 5321 4.2
 * (reply codes).
 */
#define G_LOG_DOMAIN "mb-reply-hints"

#include "mb-reply-hints-private.h"

#include <string.h>

/* An enhanced status code; subject and detail are -1 in a wildcard. */
typedef struct
{
  int klass;
  int subject;
  int detail;
} Status;

/* How an entry's codes matched, from weakest to strongest. */
typedef enum
{
  TIER_NONE,
  TIER_FIRST_DIGIT, /* class entry "x.*.*", reply without enhanced code */
  TIER_BASIC_CODE,  /* entry without enhanced code, same basic code */
  TIER_CLASS,       /* "x.*.*" */
  TIER_SUBJECT,     /* "x.y.*" */
  TIER_RANGE,       /* "x.y.z" - "x.y.w" */
  TIER_EXACT,       /* "x.y.z" */
} Tier;

typedef struct
{
  Tier     tier;
  gboolean has_text;
  gboolean code_equal;
  gsize    text_len;
} Score;

/* One to three digits; RFC 3463 2 caps subject and detail at 999. */
static gsize
parse_number (const char *s, int *out)
{
  gsize n = 0;
  int   value = 0;

  while (n < 3 && g_ascii_isdigit (s[n]))
    value = value * 10 + (s[n++] - '0');
  if (n == 0 || g_ascii_isdigit (s[n]))
    return 0;
  *out = value;
  return n;
}

/* Parses "class.subject.detail" at the start of @s; with @wildcards also
 * "x.y.*" and "x.*.*".  Returns the length parsed, 0 if none. */
static gsize
parse_status (const char *s, gboolean wildcards, Status *status)
{
  gsize pos = 0;
  gsize n;

  if (s[0] != '2' && s[0] != '4' && s[0] != '5')
    return 0;
  status->klass = s[0] - '0';
  if (s[1] != '.')
    return 0;
  pos = 2;

  if (wildcards && strcmp (s + pos, "*.*") == 0)
    {
      status->subject = status->detail = -1;
      return pos + 3;
    }
  n = parse_number (s + pos, &status->subject);
  if (n == 0 || s[pos + n] != '.')
    return 0;
  pos += n + 1;

  if (wildcards && strcmp (s + pos, "*") == 0)
    {
      status->detail = -1;
      return pos + 1;
    }
  n = parse_number (s + pos, &status->detail);
  if (n == 0)
    return 0;
  return pos + n;
}

static int
compare_status (const Status *a, const Status *b)
{
  if (a->subject != b->subject)
    return a->subject < b->subject ? -1 : 1;
  if (a->detail != b->detail)
    return a->detail < b->detail ? -1 : 1;
  return 0;
}

static Tier
match_codes (const MbReplyHint *hint, guint code, const Status *status)
{
  Status first;
  Status last;

  if (hint->enhanced_first == NULL)
    {
      if (status == NULL && hint->code != 0 && hint->code == code)
        return TIER_BASIC_CODE;
      return TIER_NONE;
    }

  if (parse_status (hint->enhanced_first, TRUE, &first) == 0)
    return TIER_NONE;

  /* A wildcard is vague, so its basic code must match when it has one; an
   * exact code or a range names the condition itself. */
  if (first.detail < 0 && hint->code != 0 && hint->code != code)
    return TIER_NONE;

  if (status == NULL)
    {
      if (first.subject < 0 && code / 100 == (guint)first.klass)
        return TIER_FIRST_DIGIT;
      return TIER_NONE;
    }

  if (status->klass != first.klass)
    return TIER_NONE;
  if (first.subject < 0)
    return TIER_CLASS;
  if (first.detail < 0)
    return status->subject == first.subject ? TIER_SUBJECT : TIER_NONE;
  if (hint->enhanced_last == NULL)
    return compare_status (status, &first) == 0 ? TIER_EXACT : TIER_NONE;

  if (parse_status (hint->enhanced_last, FALSE, &last) == 0
      || last.klass != first.klass)
    return TIER_NONE;
  if (compare_status (status, &first) >= 0
      && compare_status (status, &last) <= 0)
    return TIER_RANGE;
  return TIER_NONE;
}

static gboolean
contains_ascii_nocase (const char *haystack,
                       const char *needle,
                       gsize       needle_len)
{
  for (const char *h = haystack; *h != '\0'; h++)
    {
      if (g_ascii_strncasecmp (h, needle, needle_len) == 0)
        return TRUE;
    }
  return FALSE;
}

/* The length of the longest alternative of @pattern found in @text, 0 if
 * none is. */
static gsize
match_text (const char *pattern, const char *text)
{
  gsize best = 0;

  if (text == NULL)
    return 0;

  while (*pattern != '\0')
    {
      const char *bar = strchr (pattern, '|');
      gsize       len = bar != NULL ? (gsize)(bar - pattern) : strlen (pattern);

      if (len > best && contains_ascii_nocase (text, pattern, len))
        best = len;
      pattern += len;
      if (*pattern == '|')
        pattern++;
    }
  return best;
}

static gboolean
score_better (const Score *a, const Score *b)
{
  if (a->tier != b->tier)
    return a->tier > b->tier;
  if (a->has_text != b->has_text)
    return a->has_text;
  if (a->code_equal != b->code_equal)
    return a->code_equal;
  return a->text_len > b->text_len;
}

static const MbReplyHint *
lookup_keyword_len (const char *keyword, gsize len)
{
  for (gsize i = 0; i < mb_reply_hints_table_length; i++)
    {
      if (strncmp (mb_reply_hints_table[i].keyword, keyword, len) == 0
          && mb_reply_hints_table[i].keyword[len] == '\0')
        return &mb_reply_hints_table[i];
    }
  return NULL;
}

/* A keyword at the start of @text, ending at a space, ':' or ';'. */
static const MbReplyHint *
lookup_keyword_prefix (const char *text)
{
  gsize len = strcspn (text, " \t\r\n:;");

  if (len == 0)
    return NULL;
  return lookup_keyword_len (text, len);
}

static const MbReplyHint *
lookup_parsed (guint code, const Status *status, const char *text)
{
  const MbReplyHint *best = NULL;
  Score              best_score = { TIER_NONE, FALSE, FALSE, 0 };

  if (code != 0 && (code < 400 || code > 599))
    return NULL;
  /* RFC 3463 2: the class must agree with the basic code's first digit; a
   * server that breaks this is judged by its basic code alone. */
  if (status != NULL && code != 0 && (guint)status->klass != code / 100)
    status = NULL;
  if (code == 0 && status == NULL)
    return text != NULL ? lookup_keyword_prefix (text) : NULL;

  for (gsize i = 0; i < mb_reply_hints_table_length; i++)
    {
      const MbReplyHint *hint = &mb_reply_hints_table[i];
      Score              score = { TIER_NONE, FALSE, FALSE, 0 };

      score.tier = match_codes (hint, code, status);
      if (score.tier == TIER_NONE)
        continue;
      if (hint->text_match != NULL)
        {
          score.text_len = match_text (hint->text_match, text);
          if (score.text_len == 0)
            continue;
          score.has_text = TRUE;
        }
      score.code_equal = hint->code != 0 && hint->code == code;

      if (best == NULL || score_better (&score, &best_score))
        {
          best = hint;
          best_score = score;
        }
    }
  return best;
}

const MbReplyHint *
mb_reply_hints_lookup (guint code, const char *enhanced, const char *text)
{
  Status   status;
  gboolean have_status = FALSE;

  if (enhanced != NULL)
    {
      gsize n = parse_status (enhanced, FALSE, &status);
      have_status = n > 0 && enhanced[n] == '\0';
    }
  return lookup_parsed (code, have_status ? &status : NULL, text);
}

const MbReplyHint *
mb_reply_hints_lookup_line (const char *line)
{
  const char *p;
  guint       code;
  Status      status;
  gsize       n;

  g_return_val_if_fail (line != NULL, NULL);

  p = line;
  while (*p == ' ' || *p == '\t')
    p++;
  if (g_str_has_prefix (p, "mb."))
    return lookup_keyword_prefix (p);

  if (!g_ascii_isdigit (p[0]) || !g_ascii_isdigit (p[1])
      || !g_ascii_isdigit (p[2]))
    return NULL;
  code = (guint)((p[0] - '0') * 100 + (p[1] - '0') * 10 + (p[2] - '0'));
  p += 3;
  if (*p != '\0' && *p != ' ' && *p != '-' && *p != '\r' && *p != '\n')
    return NULL;
  if (*p == ' ' || *p == '-')
    p++;

  n = parse_status (p, FALSE, &status);
  if (n > 0 && (p[n] == '\0' || g_ascii_isspace (p[n])))
    return lookup_parsed (code, &status, p + n);
  return lookup_parsed (code, NULL, p);
}

const MbReplyHint *
mb_reply_hints_lookup_keyword (const char *keyword)
{
  g_return_val_if_fail (keyword != NULL, NULL);

  return lookup_keyword_len (keyword, strlen (keyword));
}

const char *
mb_reply_hint_get_summary (const MbReplyHint *hint)
{
  g_return_val_if_fail (hint != NULL, NULL);

  return g_dgettext (GETTEXT_PACKAGE, hint->summary);
}

const char *
mb_reply_hint_get_fix (const MbReplyHint *hint)
{
  g_return_val_if_fail (hint != NULL, NULL);

  return g_dgettext (GETTEXT_PACKAGE, hint->fix);
}

char *
mb_reply_hints_describe (guint code, const char *enhanced, const char *text)
{
  const MbReplyHint *hint = mb_reply_hints_lookup (code, enhanced, text);

  if (hint == NULL)
    return NULL;
  return g_strdup_printf ("%s — %s", mb_reply_hint_get_summary (hint),
                          mb_reply_hint_get_fix (hint));
}

const MbReplyHint *
mb_reply_hints_get_table (gsize *n_entries)
{
  if (n_entries != NULL)
    *n_entries = mb_reply_hints_table_length;
  return mb_reply_hints_table;
}
