/* mb-config-syntax.h - the syntax of configuration values
 *
 * One value at a time, no I/O and no key file: listen addresses, allow
 * ranges, host names, addresses, durations, sizes, numbers, rates.  The
 * relay's configuration reader uses it for every key, and the GUI can use
 * it to check a field as the admin types.
 *
 * The parse functions with a GError explain a refusal in English, starting
 * with the value in quotes (control characters escaped):
 *   “localhost:25” is not an IP address and port; host names are not ...
 * so a caller only puts its own "file:line: [group] key: " in front.
 *
 * All functions take UTF-8 text (as GKeyFile and GTK entries give it).
 */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

#define MB_CONFIG_SYNTAX_ERROR (mb_config_syntax_error_quark ())
GQuark mb_config_syntax_error_quark (void);

typedef enum
{
  MB_CONFIG_SYNTAX_ERROR_INVALID, /* the value is not allowed (message says
                                   * why and what is) */
} MbConfigSyntaxError;

/* Values, with their messages */

/* (nullable) One listen address: "192.168.1.10:25", "[::1]:2525",
 * "[fe80::1%eth0]:25".  Only literal IP addresses (inet_pton() rules, so
 * "127.1" is refused), never a name to look up; port 1 to 65535. */
GInetSocketAddress *mb_config_syntax_parse_listen (const char *text,
                                                   GError    **error);

/* (nullable) One allow entry: "192.168.1.0/24", "10.0.0.5", "fd00::/8".
 * An IPv4-mapped IPv6 range (::ffff:a.b.c.d/LEN, LEN >= 96) becomes the
 * IPv4 range, as clients are matched (mb_config_syntax_unmap_ipv4()).
 * Refused: host bits set (the message names the range probably meant), and
 * ranges wider than /8 (IPv4) or /7 (IPv6), which would make an open
 * relay. */
GInetAddressMask *mb_config_syntax_parse_allow (const char *text,
                                                GError    **error);

/* "5m", "2h", "2d", "1w", "90s" or plain seconds, from @min to @max; no
 * sign, no spaces, no fractions, no overflow.  @seconds may be NULL. */
gboolean mb_config_syntax_parse_duration (const char *text,
                                          gint64      min,
                                          gint64      max,
                                          gint64     *seconds,
                                          GError    **error);

/* "35M", "20MiB", "512K", "1G", "2T" or plain bytes (binary multiples, any
 * case, optional B or iB), from @min to @max.  @bytes may be NULL. */
gboolean mb_config_syntax_parse_size (const char *text,
                                      guint64     min,
                                      guint64     max,
                                      guint64    *bytes,
                                      GError    **error);

/* A whole number in decimal digits only, from @min to @max. */
gboolean mb_config_syntax_parse_number (const char *text,
                                        guint64     min,
                                        guint64     max,
                                        guint64    *number,
                                        GError    **error);

/* "COUNT/DURATION", e.g. "30/1m": at most COUNT messages per DURATION.
 * COUNT from 1 to @max_count, DURATION (as above) from 1s to @max_window. */
gboolean mb_config_syntax_parse_rate (const char *text,
                                      guint       max_count,
                                      gint64      max_window,
                                      guint      *count,
                                      gint64     *window,
                                      GError    **error);

/* Which of the NULL-terminated @choices @text is, exactly. */
gboolean mb_config_syntax_parse_choice (const char        *text,
                                        const char *const *choices,
                                        guint             *index,
                                        GError           **error);

/* Text values: each returns the form to store, or NULL if @text is not
 * allowed (the caller knows the hint that fits its field). */

/* A host name (letters, digits, '-' per label, 253 octets at most);
 * internationalized names come back as A-labels (RFC 5890). */
char *mb_config_syntax_normalize_hostname (const char *text);
/* A literal IP address (as written) or a host name. */
char *mb_config_syntax_normalize_host (const char *text);
/* A host name with at least one dot (a domain such as contoso.com). */
char *mb_config_syntax_normalize_domain (const char *text);
/* An Entra tenant: a GUID or a verified domain (both are DNS names). */
char *mb_config_syntax_normalize_tenant (const char *text);
/* A bare address with '@', RFC 5321 4.1.2 Mailbox (RFC 6531 UTF-8 allowed):
 * no name, no angle brackets. */
char *mb_config_syntax_normalize_mailbox (const char *text);
/* An application (client) ID: 1 to 256 of A-Z a-z 0-9 - . _ ~. */
char *mb_config_syntax_normalize_client_id (const char *text);
/* An https:// URL without user, query or fragment, trailing '/' removed. */
char *mb_config_syntax_normalize_authority (const char *text);

/* A NAME as in [route NAME]: 1 to 64 of letters, digits, '.', '_', '-'. */
gboolean mb_config_syntax_is_name (const char *text);

/* Helpers for messages and matching */

/* @value with control characters escaped (\xNN), for messages and logs. */
char *mb_config_syntax_escape (const char *value);
/* "a, b, c or d" */
char *mb_config_syntax_format_choices (const char *const *choices);
/* The largest unit that divides @seconds: "4h", "90s", "2d", "1w". */
char *mb_config_syntax_format_duration (gint64 seconds);
/* The largest of G, M, K that divides @bytes: "35M", "1023". */
char *mb_config_syntax_format_size (guint64 bytes);
/* (transfer full) The IPv4 address of an IPv4-mapped IPv6 address
 * (RFC 4291 2.5.5.2), else @address itself (a new reference). */
GInetAddress *mb_config_syntax_unmap_ipv4 (GInetAddress *address);

G_END_DECLS
