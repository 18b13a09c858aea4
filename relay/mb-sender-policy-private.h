/* mb-sender-policy-private.h - shared by mb-sender-policy.c (the
 * decision) and mb-sender-policy-rewrite.c (the header rewrite) */
#pragma once

#include "mb-sender-policy.h"

G_BEGIN_DECLS

/* g_mime_init() once per process, from any thread. */

/* A header value as one line: folds removed, other line breaks and control
 * characters turned into spaces, trimmed. */
char *mb_sender_policy_unfold (const char *value);

G_END_DECLS
