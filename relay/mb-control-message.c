/* mb-control-message.c - ShowMessage: one queued message over D-Bus
 *
 * What it does
 *   ShowMessage of org.mailbridge.Relay1: a queued message's envelope,
 *   with each recipient's details, and the fields of its header section,
 *   decoded for display.
 *
 * Guarantees
 *   - The envelope and the header section are read in a worker thread;
 *     the main loop never waits for the disk.
 *   - Only the header section is read (up to the empty line), and about
 *     HEADER_LIMIT bytes of it at most; the body never is.
 *   - The reply is always valid: folded fields are unfolded (RFC 5322
 *     2.2.3), encoded words decoded (RFC 2047), and invalid UTF-8 in names
 *     or values replaced.  Lines without a colon are skipped.
 *
 * What it does not do
 *   It does not change the message or its envelope, and does not look at
 *   the MIME structure.  Pages of the queue are mb-control-queue.c.
 */
#define G_LOG_DOMAIN "mb-control"

#include "mb-control-private.h"

#include <errno.h>
#include <gmime/gmime.h>
#include <stdio.h>
#include <string.h>

#include "mb-spool.h"

#define HEADER_LIMIT (1024 * 1024)

typedef struct
{
  MbSpool *spool; /* (owned) */
  char    *id;    /* (owned) */
} ShowData;

static void
show_data_free (ShowData *data)
{
  g_clear_object (&data->spool);
  g_free (data->id);
  g_free (data);
}

/* The header section of @path: its lines up to the empty line, at most
 * HEADER_LIMIT bytes. */
static char *
read_header_section (const char *path, GError **error)
{
  g_autoptr (GString) header = g_string_new (NULL);
  FILE *file = fopen (path, "rb");
  char  line[4096];

  if (file == NULL)
    {
      int saved_errno = errno;

      g_set_error (error, G_FILE_ERROR, g_file_error_from_errno (saved_errno),
                   "Could not open “%s”: %s", path, g_strerror (saved_errno));
      return NULL;
    }
  while (header->len < HEADER_LIMIT && fgets (line, sizeof line, file))
    {
      if (strcmp (line, "\r\n") == 0 || strcmp (line, "\n") == 0)
        break;
      g_string_append (header, line);
    }
  fclose (file);
  return g_string_free (g_steal_pointer (&header), FALSE);
}

static GVariant *
parse_headers (const char *text)
{
  GVariantBuilder headers;
  g_auto (GStrv) lines = g_strsplit (text, "\n", -1);
  g_autoptr (GString) name = NULL;
  g_autoptr (GString) value = NULL;

  g_variant_builder_init (&headers, G_VARIANT_TYPE ("a(ss)"));
  for (guint i = 0;; i++)
    {
      const char *line = lines[i];
      gsize       len = line != NULL ? strlen (line) : 0;

      if (len > 0 && line[len - 1] == '\r')
        len--;
      if (line != NULL && (line[0] == ' ' || line[0] == '\t') && value)
        {
          /* Unfolding (RFC 5322 2.2.3): the CRLF goes, the space stays. */
          g_string_append_len (value, line, len);
          continue;
        }
      if (name != NULL)
        {
          g_autofree char *valid = g_utf8_make_valid (value->str, -1);
          g_autofree char *decoded
              = g_mime_utils_header_decode_text (NULL, g_strstrip (valid));

          g_variant_builder_add (&headers, "(ss)", name->str, decoded);
          g_string_free (g_steal_pointer (&name), TRUE);
          g_string_free (g_steal_pointer (&value), TRUE);
        }
      if (line == NULL)
        break;
      {
        const char      *colon = memchr (line, ':', len);
        g_autofree char *raw_name = NULL;

        if (colon == NULL)
          continue;
        raw_name = g_utf8_make_valid (line, colon - line);
        name = g_string_new (raw_name);
        value = g_string_new_len (colon + 1, len - (colon + 1 - line));
      }
    }
  return g_variant_builder_end (&headers);
}

static void
show_message_thread (GTask        *task,
                     gpointer      source_object,
                     gpointer      task_data,
                     GCancellable *cancellable)
{
  ShowData *data = task_data;
  GError   *error = NULL;
  g_autoptr (MbEnvelope) envelope = NULL;
  g_autofree char *path = NULL;
  g_autofree char *header = NULL;
  GVariant        *value;

  envelope = mb_spool_load_envelope (data->spool, data->id, &error);
  if (envelope == NULL)
    {
      g_task_return_error (task, error);
      return;
    }
  path = mb_spool_get_message_path (data->spool, data->id);
  header = read_header_section (path, &error);
  if (header == NULL)
    {
      g_task_return_error (task, error);
      return;
    }
  value = g_variant_new ("(@a{sv}@a(ss))",
                         control_envelope_to_variant (envelope, TRUE),
                         parse_headers (header));
  g_task_return_pointer (task, g_variant_ref_sink (value),
                         (GDestroyNotify)g_variant_unref);
}

static gboolean
on_handle_show_message_cb (MbControl             *self,
                           GDBusMethodInvocation *invocation,
                           const char            *id)
{
  g_autoptr (GTask) task
      = g_task_new (self, self->cancellable, control_return_variant_cb,
                    g_object_ref (invocation));
  ShowData *data = g_new0 (ShowData, 1);

  data->spool = g_object_ref (mb_daemon_get_spool (self->daemon));
  data->id = g_strdup (id);
  g_task_set_task_data (task, data, (GDestroyNotify)show_data_free);
  g_task_run_in_thread (task, show_message_thread);
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

void
control_message_setup (MbControl *self)
{
  g_signal_connect_swapped (self->skeleton, "handle-show-message",
                            G_CALLBACK (on_handle_show_message_cb), self);
}
