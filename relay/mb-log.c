/* mb-log.c - the relay's log writer
 *
 * Contract: installs one GLogWriterFunc for the process.  Records reach the
 * journal with all their fields when stderr is the journal (JOURNAL_STREAM),
 * otherwise a single line each on stderr, flushed per record so a crash
 * never loses the line that explains it.  Debug records are dropped unless
 * verbose.  Never formats message content: callers pass key=value text with
 * secrets already redacted.
 */
#define G_LOG_DOMAIN "mb-log"

#include "mb-log.h"

#include <stdio.h>
#include <unistd.h>

static gboolean log_verbose;

static const char *
level_name (GLogLevelFlags level)
{
  if (level & G_LOG_LEVEL_ERROR)
    return "ERROR";
  if (level & G_LOG_LEVEL_CRITICAL)
    return "CRITICAL";
  if (level & G_LOG_LEVEL_WARNING)
    return "WARNING";
  if (level & G_LOG_LEVEL_MESSAGE)
    return "NOTICE";
  if (level & G_LOG_LEVEL_INFO)
    return "INFO";
  return "DEBUG";
}

static GLogWriterOutput
write_log_cb (GLogLevelFlags   log_level,
              const GLogField *fields,
              gsize            n_fields,
              gpointer         user_data)
{
  const char *domain = NULL;
  const char *message = NULL;

  if ((log_level & G_LOG_LEVEL_DEBUG) && !log_verbose)
    {
      /* G_MESSAGES_DEBUG still works as GLib documents it. */
      if (g_log_writer_default_would_drop (log_level, NULL))
        return G_LOG_WRITER_HANDLED;
    }

  if (g_log_writer_is_journald (fileno (stderr)))
    {
      if (g_log_writer_journald (log_level, fields, n_fields, user_data)
          == G_LOG_WRITER_HANDLED)
        return G_LOG_WRITER_HANDLED;
    }

  for (gsize i = 0; i < n_fields; i++)
    {
      if (g_strcmp0 (fields[i].key, "GLIB_DOMAIN") == 0)
        domain = fields[i].value;
      else if (g_strcmp0 (fields[i].key, "MESSAGE") == 0)
        message = fields[i].value;
    }

  fprintf (stderr, "%s %s: %s\n", level_name (log_level),
           domain != NULL ? domain : "mailbridge",
           message != NULL ? message : "");
  fflush (stderr);
  return G_LOG_WRITER_HANDLED;
}

void
mb_log_install_writer (gboolean verbose)
{
  log_verbose = verbose;
  g_log_set_writer_func (write_log_cb, NULL, NULL);
}
