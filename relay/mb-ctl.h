/* mb-ctl.h - what mailbridgectl's commands share
 *
 * mailbridgectl.c holds main() and the command table; each mb-ctl-*.c
 * implements a few commands.  A command gets the parsed global options and
 * its own arguments (argv[0] is the command word), prints to stdout, and
 * returns the exit status.  mailbridgectl is the one program allowed to
 * block: every D-Bus call here is synchronous.
 */
#pragma once

#include <gio/gio.h>
#include <json-glib/json-glib.h>

#include "mb-relay1-generated.h"

G_BEGIN_DECLS

#define MB_CTL_EXIT_OK 0
#define MB_CTL_EXIT_FAILURE 1     /* the relay refused or reported failure */
#define MB_CTL_EXIT_USAGE 2       /* bad command line */
#define MB_CTL_EXIT_UNREACHABLE 3 /* no relay answers */

typedef struct
{
  gboolean  json;
  GBusType  bus_type;
  MbRelay1 *proxy; /* (owned) (nullable) connected on first use */
} MbCtl;

typedef int (*MbCtlCommandFunc) (MbCtl *ctl, int argc, char **argv);

/* mb-ctl-common.c */

/* The relay's proxy, started by D-Bus activation if none runs; NULL with
 * a message printed when no relay can be reached. */
MbRelay1 *mb_ctl_get_proxy (MbCtl *ctl, GError **error);
/* Prints "mailbridgectl: MESSAGE" for @error on stderr; returns the exit
 * status it means. */
int mb_ctl_report_error (const GError *error);
int mb_ctl_usage_error (const char *format, ...) G_GNUC_PRINTF (1, 2);
/* Parses the options of a subcommand; on error prints it (exit 2). */
gboolean mb_ctl_parse_options (const char         *command,
                               const GOptionEntry *entries,
                               int                *argc,
                               char             ***argv);

/* Prints @node as pretty JSON on stdout (takes it). */
void mb_ctl_print_json (JsonNode *node);
/* An a{sv} as a JSON object: unix-seconds fields named in @time_keys
 * become ISO 8601 strings (null for 0), "time_us" becomes "time"; nested
 * aa{sv} become arrays of objects (same rules). */
JsonNode *mb_ctl_dict_to_json (GVariant *dict, const char *const *time_keys);
/* The same for each element of an aa{sv}. */
JsonNode *mb_ctl_dicts_to_json (GVariant *dicts, const char *const *time_keys);

/* "2025-03-01 14:02:11" in local time, "" for 0. */
char *mb_ctl_format_time (gint64 unix_seconds);
/* "3 min", "2 h 5 min", "1 day 4 h". */
char *mb_ctl_format_age (gint64 seconds);
/* "1.2 MB". */
char *mb_ctl_format_size (guint64 bytes);
/* A string entry of @dict, "" when absent. */
const char *mb_ctl_lookup_string (GVariant *dict, const char *key);

/* The commands */
int mb_ctl_status (MbCtl *ctl, int argc, char **argv);
int mb_ctl_pause (MbCtl *ctl, int argc, char **argv);
int mb_ctl_resume (MbCtl *ctl, int argc, char **argv);
int mb_ctl_queue_list (MbCtl *ctl, int argc, char **argv);
int mb_ctl_queue_show (MbCtl *ctl, int argc, char **argv);
int mb_ctl_queue_retry (MbCtl *ctl, int argc, char **argv);
int mb_ctl_queue_delete (MbCtl *ctl, int argc, char **argv);
int mb_ctl_queue_flush (MbCtl *ctl, int argc, char **argv);
int mb_ctl_test_send (MbCtl *ctl, int argc, char **argv);
int mb_ctl_log (MbCtl *ctl, int argc, char **argv);
int mb_ctl_check_config (MbCtl *ctl, int argc, char **argv);
int mb_ctl_reload (MbCtl *ctl, int argc, char **argv);
int mb_ctl_signin (MbCtl *ctl, int argc, char **argv);

G_END_DECLS
