/* fuzz-envelope.c - libFuzzer target: the queue envelope parser
 *
 * Whatever the bytes, mb_envelope_parse() either refuses them with a
 * GError or returns an envelope that serializes and parses back to itself.
 */
#include <stdint.h>

#include "mb-envelope.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (MbEnvelope) envelope = NULL;
  g_autoptr (GBytes) bytes = NULL;
  g_autoptr (MbEnvelope) again = NULL;

  envelope = mb_envelope_parse ((const char *)data, size, &error);
  if (envelope == NULL)
    {
      g_assert_nonnull (error);
      return 0;
    }
  g_assert_no_error (error);
  g_assert_cmpuint (envelope->recipients->len, >, 0);

  /* What we accepted, we must be able to write and read back. */
  bytes = mb_envelope_serialize (envelope);
  again = mb_envelope_parse (g_bytes_get_data (bytes, NULL),
                             g_bytes_get_size (bytes), &error);
  g_assert_no_error (error);
  g_assert_nonnull (again);
  g_assert_cmpstr (again->id, ==, envelope->id);
  g_assert_cmpstr (again->sender, ==, envelope->sender);
  g_assert_cmpuint (again->recipients->len, ==, envelope->recipients->len);
  return 0;
}
