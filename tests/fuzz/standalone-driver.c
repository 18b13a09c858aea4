/* standalone-driver.c - runs a libFuzzer target over a corpus under gcc
 *
 * Each file of the corpus directory (or each file given) is fed once to
 * LLVMFuzzerTestOneInput; the output is TAP, one line per input.  A crash or
 * a sanitizer report fails the test run.
 */
#include <glib.h>
#include <stdint.h>
#include <stdio.h>

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

static void
run_file (const char *path, guint *n)
{
  g_autofree char *contents = NULL;
  gsize            length = 0;
  g_autoptr (GError) error = NULL;

  if (!g_file_get_contents (path, &contents, &length, &error))
    {
      printf ("not ok %u - %s: %s\n", ++*n, path, error->message);
      return;
    }
  LLVMFuzzerTestOneInput ((const uint8_t *)contents, length);
  printf ("ok %u - %s\n", ++*n, path);
}

int
main (int argc, char **argv)
{
  guint n = 0;

  for (int i = 1; i < argc; i++)
    {
      g_autoptr (GDir) dir = g_dir_open (argv[i], 0, NULL);
      const char *name;

      if (dir == NULL)
        {
          run_file (argv[i], &n);
          continue;
        }
      while ((name = g_dir_read_name (dir)) != NULL)
        {
          g_autofree char *path = g_build_filename (argv[i], name, NULL);
          run_file (path, &n);
        }
    }
  printf ("1..%u\n", n);
  return 0;
}
