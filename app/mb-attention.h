#pragma once

#include <glib.h>

#include "mb-relay-client.h"

G_BEGIN_DECLS

/* What needs the admin right now, worded for them.  One source for the
 * status page's banner, the tray and the notifications, so they agree. */

typedef enum
{
  MB_ATTENTION_NONE,
  MB_ATTENTION_NO_RELAY,     /* the relay cannot be reached */
  MB_ATTENTION_NO_ROUTE,     /* no route is configured */
  MB_ATTENTION_SIGN_IN,      /* a route needs sign-in */
  MB_ATTENTION_ROUTE_PAUSED, /* paused or failing after repeated failures */
  MB_ATTENTION_SECRET,       /* a route's client secret expires soon or has
                              * expired (before SIGN_IN when it is the
                              * likely reason of a needed sign-in) */
  MB_ATTENTION_OTHER,        /* a reason only the relay can name (disk full) */
} MbAttentionKind;

typedef struct
{
  MbAttentionKind kind;
  char           *title;         /* one line */
  char           *detail;        /* (nullable) what happened and what to do */
  const char     *action_label;  /* (nullable) with a mnemonic */
  const char     *action_name;   /* (nullable) a detailed action, "app.x" */
  GVariant       *action_target; /* (nullable) */
} MbAttention;

/* Never NULL; kind NONE when all is well.  Only the first problem is
 * described (in the order above): fixing it reveals the next. */
MbAttention *mb_attention_new_for_client (MbRelayClient *client);
void         mb_attention_free (MbAttention *attention);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (MbAttention, mb_attention_free)

G_END_DECLS
