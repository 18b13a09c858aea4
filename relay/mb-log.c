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
#include <string.h>
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

/* The key=value words of a message that become journal fields, so that
 * `journalctl MB_QUEUE_ID=...` finds every line about one message. */
static const struct
{
  const char *key;
  const char *field;
} journal_keys[] = {
  { "session", "MB_SESSION" }, { "queue-id", "MB_QUEUE_ID" },
  { "route", "MB_ROUTE" },     { "recipient", "MB_RECIPIENT" },
  { "rcpt", "MB_RECIPIENT" },
};

/* The value of @key in a "key=value key=value" message, or NULL.  Values
 * end at a blank; quoted values are not lifted (they are free text). */
char *
mb_log_message_value (const char *message, const char *key)
{
  gsize       key_len = strlen (key);
  const char *p = message;

  while (p != NULL && *p != '\0')
    {
      if ((p == message || p[-1] == ' ') && strncmp (p, key, key_len) == 0
          && p[key_len] == '=' && p[key_len + 1] != '"')
        {
          const char *value = p + key_len + 1;
          gsize       len = strcspn (value, " ");

          return len > 0 ? g_strndup (value, len) : NULL;
        }
      p = strchr (p, ' ');
      if (p != NULL)
        p++;
    }
  return NULL;
}

static gboolean
write_journal (GLogLevelFlags   log_level,
               const GLogField *fields,
               gsize            n_fields,
               gpointer         user_data)
{
  g_autoptr (GArray) all = g_array_new (FALSE, FALSE, sizeof (GLogField));
  g_autoptr (GPtrArray) values = g_ptr_array_new_with_free_func (g_free);
  const char *message = NULL;

  g_array_append_vals (all, fields, n_fields);
  for (gsize i = 0; i < n_fields; i++)
    if (g_strcmp0 (fields[i].key, "MESSAGE") == 0 && fields[i].length < 0)
      message = fields[i].value;

  for (gsize k = 0; message != NULL && k < G_N_ELEMENTS (journal_keys); k++)
    {
      gboolean present = FALSE;
      char    *value;

      /* A caller that already passed the field keeps its own value. */
      for (gsize i = 0; i < all->len; i++)
        if (g_strcmp0 (g_array_index (all, GLogField, i).key,
                       journal_keys[k].field)
            == 0)
          present = TRUE;
      if (present)
        continue;

      value = mb_log_message_value (message, journal_keys[k].key);
      if (value != NULL)
        {
          GLogField field = { journal_keys[k].field, value, -1 };

          g_ptr_array_add (values, value);
          g_array_append_val (all, field);
        }
    }

  return g_log_writer_journald (log_level, (const GLogField *)all->data,
                                all->len, user_data)
         == G_LOG_WRITER_HANDLED;
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

  if (g_log_writer_is_journald (fileno (stderr))
      && write_journal (log_level, fields, n_fields, user_data))
    return G_LOG_WRITER_HANDLED;

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
