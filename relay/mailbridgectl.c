/* mailbridgectl - command the Mailbridge relay over D-Bus
 *
 * main() with the global options and the command table; the commands live
 * in mb-ctl-*.c.  Talks to org.mailbridge.Relay1 on the session bus (the
 * system bus with --system), which starts the relay by D-Bus activation if
 * none runs.  Exit status: 0 success, 1 the relay refused or a delivery
 * failed, 2 bad command line, 3 no relay could be reached.
 */
#define G_LOG_DOMAIN "mailbridgectl"

#include <gmime/gmime.h>
#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mb-ctl.h"

typedef struct
{
  const char      *word;    /* "status", "queue" */
  const char      *subword; /* "list" for "queue list", or NULL */
  MbCtlCommandFunc func;
  const char      *synopsis;
} Command;

static const Command commands[] = {
  { "status", NULL, mb_ctl_status, "status" },
  { "queue", "list", mb_ctl_queue_list,
    "queue list [--limit N] [--offset N | --grep TEXT]" },
  { "queue", "show", mb_ctl_queue_show, "queue show ID" },
  { "queue", "retry", mb_ctl_queue_retry, "queue retry ID|--all" },
  { "queue", "delete", mb_ctl_queue_delete, "queue delete ID" },
  { "queue", "flush", mb_ctl_queue_flush, "queue flush [--timeout SECONDS]" },
  { "pause", NULL, mb_ctl_pause, "pause" },
  { "resume", NULL, mb_ctl_resume, "resume" },
  { "test-send", NULL, mb_ctl_test_send,
    "test-send --to ADDR [--from ADDR] [--route NAME] [--timeout SECONDS]" },
  { "log", NULL, mb_ctl_log,
    "log [--since T] [--follow] [--grep S] [--limit N]" },
  { "check-config", NULL, mb_ctl_check_config, "check-config [FILE]" },
  { "reload", NULL, mb_ctl_reload, "reload" },
  { "signin", NULL, mb_ctl_signin, "signin ROUTE" },
};

static void
print_usage (FILE *out)
{
  fprintf (out, "Usage: mailbridgectl [--json] [--system] COMMAND\n\n"
                "Commands:\n");
  for (gsize i = 0; i < G_N_ELEMENTS (commands); i++)
    fprintf (out, "  %s\n", commands[i].synopsis);
  fprintf (out, "\nOptions:\n"
                "  --json     machine-readable output\n"
                "  --system   the relay on the system bus (system mode)\n"
                "  --session  the relay on the session bus (default)\n"
                "  --version  print the version\n"
                "  --help     this text\n\n"
                "See mailbridgectl(1).\n");
}

static const Command *
find_command (int argc, char **argv, int *consumed)
{
  for (gsize i = 0; i < G_N_ELEMENTS (commands); i++)
    {
      if (strcmp (argv[0], commands[i].word) != 0)
        continue;
      if (commands[i].subword == NULL)
        {
          *consumed = 1;
          return &commands[i];
        }
      if (argc > 1 && strcmp (argv[1], commands[i].subword) == 0)
        {
          *consumed = 2;
          return &commands[i];
        }
    }
  return NULL;
}

int
main (int argc, char **argv)
{
  MbCtl            ctl = { .bus_type = G_BUS_TYPE_SESSION };
  const Command   *command;
  int              first = 1;
  int              consumed = 0;
  int              status;
  g_autofree char *name = NULL;

  setlocale (LC_ALL, "");
  g_mime_init ();

  /* Global options come before the command. */
  for (; first < argc && argv[first][0] == '-'; first++)
    {
      const char *arg = argv[first];

      if (strcmp (arg, "--json") == 0)
        ctl.json = TRUE;
      else if (strcmp (arg, "--system") == 0)
        ctl.bus_type = G_BUS_TYPE_SYSTEM;
      else if (strcmp (arg, "--session") == 0)
        ctl.bus_type = G_BUS_TYPE_SESSION;
      else if (strcmp (arg, "--help") == 0 || strcmp (arg, "-h") == 0)
        {
          print_usage (stdout);
          return MB_CTL_EXIT_OK;
        }
      else if (strcmp (arg, "--version") == 0)
        {
          printf ("mailbridgectl %s\n", MB_VERSION);
          return MB_CTL_EXIT_OK;
        }
      else
        {
          fprintf (stderr, "mailbridgectl: unknown option %s\n", arg);
          print_usage (stderr);
          return MB_CTL_EXIT_USAGE;
        }
    }
  if (first >= argc)
    {
      print_usage (stderr);
      return MB_CTL_EXIT_USAGE;
    }

  command = find_command (argc - first, argv + first, &consumed);
  if (command == NULL)
    {
      fprintf (stderr, "mailbridgectl: unknown command “%s”\n", argv[first]);
      print_usage (stderr);
      return MB_CTL_EXIT_USAGE;
    }

  /* The command sees itself as argv[0] ("queue list"), then its own
   * arguments. */
  name = command->subword != NULL
             ? g_strdup_printf ("%s %s", command->word, command->subword)
             : g_strdup (command->word);
  {
    g_autofree char **sub_argv = g_new0 (char *, argc - first - consumed + 2);
    int               sub_argc = 0;

    sub_argv[sub_argc++] = name;
    for (int i = first + consumed; i < argc; i++)
      sub_argv[sub_argc++] = argv[i];
    status = command->func (&ctl, sub_argc, sub_argv);
  }

  g_clear_object (&ctl.proxy);
  g_mime_shutdown ();
  return status;
}
