/* mb-autostart.c - the tray's autostart entry, on or off */
#define G_LOG_DOMAIN "mb-autostart"

#include "mb-autostart.h"

#define ENTRY "org.mailbridge.Mailbridge-autostart.desktop"

static GFile *
find_source (void)
{
  g_autoptr (GFile) installed
      = g_file_new_build_filename (DATADIR, "mailbridge", ENTRY, NULL);

  if (g_file_query_exists (installed, NULL))
    return g_steal_pointer (&installed);
  /* Running from the build tree. */
  return g_file_new_build_filename (MB_BUILD_DATADIR, ENTRY, NULL);
}

static void
set_enabled_thread (GTask        *task,
                    gpointer      source_object,
                    gpointer      task_data,
                    GCancellable *cancellable)
{
  gboolean enabled = GPOINTER_TO_INT (task_data);
  g_autoptr (GFile) dir
      = g_file_new_build_filename (g_get_user_config_dir (), "autostart", NULL);
  g_autoptr (GFile) target = g_file_get_child (dir, ENTRY);
  g_autoptr (GFile) source = NULL;
  g_autoptr (GError) error = NULL;

  if (!enabled)
    {
      if (!g_file_delete (target, cancellable, &error)
          && !g_error_matches (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND))
        {
          g_task_return_error (task, g_steal_pointer (&error));
          return;
        }
      g_task_return_boolean (task, TRUE);
      return;
    }

  source = find_source ();
  if (!g_file_make_directory_with_parents (dir, cancellable, &error)
      && !g_error_matches (error, G_IO_ERROR, G_IO_ERROR_EXISTS))
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  if (!g_file_copy (source, target, G_FILE_COPY_OVERWRITE, cancellable, NULL,
                    NULL, &error))
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  g_task_return_boolean (task, TRUE);
}

void
mb_autostart_set_enabled_async (gboolean            enabled,
                                GCancellable       *cancellable,
                                GAsyncReadyCallback callback,
                                gpointer            user_data)
{
  g_autoptr (GTask) task = g_task_new (NULL, cancellable, callback, user_data);

  g_task_set_source_tag (task, mb_autostart_set_enabled_async);
  g_task_set_task_data (task, GINT_TO_POINTER (enabled), NULL);
  g_task_run_in_thread (task, set_enabled_thread);
}

gboolean
mb_autostart_set_enabled_finish (GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, NULL), FALSE);
  return g_task_propagate_boolean (G_TASK (result), error);
}
