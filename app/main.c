/* main.c - the Mailbridge desktop application */
#include <glib/gi18n.h>
#include <locale.h>

#include "mb-application.h"

int
main (int argc, char **argv)
{
  g_autoptr (MbApplication) app = NULL;
  const char *localedir = g_getenv ("MB_LOCALEDIR"); /* the build tree's */

  setlocale (LC_ALL, "");
  bindtextdomain (GETTEXT_PACKAGE, localedir ? localedir : LOCALEDIR);
  bind_textdomain_codeset (GETTEXT_PACKAGE, "UTF-8");
  textdomain (GETTEXT_PACKAGE);

  app = mb_application_new ();
  return g_application_run (G_APPLICATION (app), argc, argv);
}
