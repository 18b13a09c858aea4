/* mb-mx-lookup.h - the MX page's DNS lookups and what they found
 *
 * The setup assistant's MX page (mb-page-mx.h) looks the accepted
 * domain's MX host up as typing pauses or on Look Up, then the domain's
 * SPF record (mb-dns-check.h).  MbMxLookup runs at most one MX and one
 * SPF lookup: a newer one, mb_mx_lookup_cancel() and dispose cancel the
 * one that runs, and a cancelled lookup reports nothing.  It remembers
 * the domain looked up last and the MX host DNS named for it (the route
 * uses that host unless the admin types one), and says what each answer
 * means in the admin's words; the page shows them.  No widgets.
 */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

#define MB_TYPE_MX_LOOKUP (mb_mx_lookup_get_type ())
G_DECLARE_FINAL_TYPE (MbMxLookup, mb_mx_lookup, MB, MX_LOOKUP, GObject)

MbMxLookup *mb_mx_lookup_new (void);

/* Forgets the last answer, cancels what runs or waits, and looks @domain
 * (a checked domain name) up once typing has paused for a moment. */
void mb_mx_lookup_schedule (MbMxLookup *self, const char *domain);
/* Cancels what runs or waits, forgets the last MX host, and looks
 * @domain (a checked domain name) up now. */
void mb_mx_lookup_start (MbMxLookup *self, const char *domain);
/* Reads the SPF record of the domain whose MX host was found (does
 * nothing when none was) and whether it allows @ip (nullable: a checked
 * public IPv4 address).  Cancels the SPF lookup that runs. */
void mb_mx_lookup_start_spf (MbMxLookup *self, const char *ip);
/* Cancels the lookups that run or wait; keeps the last answer. */
void mb_mx_lookup_cancel (MbMxLookup *self);
/* Cancels them and forgets the last domain and MX host. */
void mb_mx_lookup_forget (MbMxLookup *self);

/* (nullable) The domain looked up last, or being looked up (not one
 * that waits for the typing pause). */
const char *mb_mx_lookup_get_domain (MbMxLookup *self);
/* (nullable) The MX host DNS named for that domain. */
const char *mb_mx_lookup_get_host (MbMxLookup *self);
/* Whether an MX lookup runs (not: waits for the typing pause). */
gboolean mb_mx_lookup_is_running (MbMxLookup *self);
/* Whether an MX lookup waits for the typing pause. */
gboolean mb_mx_lookup_is_pending (MbMxLookup *self);

/* Signal "mx-started": an MX lookup starts, now or after the pause.
 *
 * Signal "mx-answered" (const char *icon, const char *text,
 * const char *note, const char *manual): an MX lookup ended (not by
 * cancelling).  @icon (nullable) is an icon name, @text the host line,
 * @note (nullable) what the host is, @manual (nullable) why and how the
 * admin may type the host (NULL: no need).  mb_mx_lookup_get_host() has
 * the host when one was found.
 *
 * Signal "spf-answered" (const char *status): an SPF lookup ended (not by
 * cancelling); @status says what the domain publishes, whether it
 * includes Microsoft 365 and allows the IP asked about. */

G_END_DECLS
