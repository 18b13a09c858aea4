/* mb-header-stamper.c - our Received: field, and Date:/Message-ID: for
 * devices that leave them out
 *
 * What it does
 *   A streaming filter between the DATA decoder and the spool writer.  It
 *   holds back the start of the message until the end of the header
 *   section (the first empty line) is seen, reads the held header section
 *   with GMime to learn whether the device sent Date: and Message-ID:, then
 *   emits, in this order:
 *     our Received: field (RFC 5321 4.4, built by format_received()),
 *     "Date:" if the device sent none (RFC 5322 3.6.1 requires one),
 *     "Message-ID:" if the device sent none (RFC 5322 3.6.4 SHOULD; the
 *       queue view, the log and bounces name a message by it),
 *     then the device's bytes, unchanged.
 *
 * Guarantees
 *   - The device's bytes pass through byte for byte after what we add;
 *     nothing of theirs is re-serialized, re-folded or re-encoded (8-bit
 *     and UTF-8 headers included).  Our own lines end in CRLF.
 *   - At most 256 KiB is held back.  A header section longer than that
 *     without an empty line is not searched further: what was seen (up to
 *     its last complete line) decides, so Date:/Message-ID: are added only
 *     when absent from that part.  A Date: hiding beyond 256 KiB of headers
 *     would then appear twice; that costs less than holding an unbounded
 *     header section in memory.
 *   - A message that starts with an empty line (body only), an empty
 *     message, and one whose first line is not a header field ("Scan
 *     complete" from a device that sends no headers at all) still get
 *     Received:, Date: and Message-ID:.  In the last case an empty line is
 *     put between our fields and the device's text, so its text becomes
 *     the body instead of a broken header section.
 *   - get_message_id() returns the id without angle brackets: the device's
 *     (decoded by GMime) or the one we generated, from the moment the
 *     header section has been decided.
 *
 * What it does not do
 *   No I/O, no policy: it does not refuse, rewrite or remove any field
 *   (sender rewriting lives in mb-sender-policy).
 */
#define G_LOG_DOMAIN "mb-header-stamper"

#include "mb-header-stamper.h"
#include "mb-mime.h"

#include <gmime/gmime.h>
#include <string.h>

#define MAX_HELD (256 * 1024)
/* RFC 5322 2.1.1: lines SHOULD stay within 78 characters. */
#define FOLD_WIDTH 78

struct _MbHeaderStamper
{
  char       *received;   /* (owned) complete field, CRLF */
  char       *hostname;   /* (owned) for a generated Message-ID */
  GByteArray *held;       /* (owned) (nullable) NULL once released */
  gsize       scanned;    /* bytes of @held searched for the end */
  gsize       line_start; /* offset in @held of the current line */
  gboolean    first_line_done;
  char       *message_id; /* (owned) (nullable) without brackets */
};

/* Helpers */

/* RFC 5322 3.6.8: a field starts with printable ASCII other than ":", then
 * (obs-optional, 4.5.8) blanks, then ":".  Decides whether a device sent
 * any header at all. */
static gboolean
is_field_start (const guint8 *line, gsize len)
{
  gsize i = 0;

  while (i < len && line[i] >= 33 && line[i] <= 126 && line[i] != ':')
    i++;
  if (i == 0)
    return FALSE;
  while (i < len && (line[i] == ' ' || line[i] == '\t'))
    i++;
  return i < len && line[i] == ':';
}

static char *
strip_message_id (const char *text)
{
  g_autofree char *copy = g_strstrip (g_strdup (text));
  gsize            len = strlen (copy);

  if (len >= 2 && copy[0] == '<' && copy[len - 1] == '>')
    return g_strndup (copy + 1, len - 2);
  return g_steal_pointer (&copy);
}

/* Reads @len bytes of header section with GMime: whether it has a Date:
 * field, and its Message-ID (NULL when it has none). */
static void
scan_headers (const guint8 *data,
              gsize         len,
              gboolean     *has_date,
              char        **message_id)
{
  GMimeStream     *stream;
  GMimeParser     *parser;
  GMimeMessage    *message;
  GMimeHeaderList *headers;

  *has_date = FALSE;
  *message_id = NULL;
  if (len == 0)
    return;

  mb_mime_ensure_init ();
  stream = g_mime_stream_mem_new_with_buffer ((const char *)data, len);
  parser = g_mime_parser_new_with_stream (stream);
  g_mime_parser_set_format (parser, GMIME_FORMAT_MESSAGE);
  message = g_mime_parser_construct_message (parser, NULL);
  g_object_unref (parser);
  g_object_unref (stream);
  if (message == NULL)
    return;

  headers = g_mime_object_get_header_list (GMIME_OBJECT (message));
  *has_date = g_mime_header_list_contains (headers, "Date");
  if (g_mime_header_list_contains (headers, "Message-Id"))
    {
      const char  *id = g_mime_message_get_message_id (message);
      GMimeHeader *header;

      /* A field that GMime cannot decode still counts as present: a second
       * Message-ID would be worse than an odd one. */
      if (id == NULL)
        {
          header = g_mime_header_list_get_header (headers, "Message-Id");
          id = g_mime_header_get_raw_value (header);
        }
      *message_id = strip_message_id (id != NULL ? id : "");
    }
  g_object_unref (message);
}

/* Emits our fields and everything held, and switches to pass-through.
 * @header_len: bytes of @held that are header section (0 for none);
 * @separate: put an empty line before the device's bytes. */
static void
release (MbHeaderStamper *self,
         gsize            header_len,
         gboolean         separate,
         GByteArray      *out)
{
  gboolean has_date;
  char    *device_id;

  scan_headers (self->held->data, header_len, &has_date, &device_id);
  g_byte_array_append (out, (const guint8 *)self->received,
                       strlen (self->received));
  if (!has_date)
    {
      g_autoptr (GDateTime) now = g_date_time_new_now_local ();
      g_autofree char *date = NULL;
      g_autofree char *line = NULL;

      mb_mime_ensure_init ();
      date = g_mime_utils_header_format_date (now);
      line = g_strdup_printf ("Date: %s\r\n", date);
      g_byte_array_append (out, (const guint8 *)line, strlen (line));
    }
  if (device_id == NULL)
    {
      g_autofree char *line = NULL;

      mb_mime_ensure_init ();
      self->message_id = g_mime_utils_generate_message_id (self->hostname);
      line = g_strdup_printf ("Message-ID: <%s>\r\n", self->message_id);
      g_byte_array_append (out, (const guint8 *)line, strlen (line));
    }
  else
    {
      self->message_id = device_id;
    }
  if (separate)
    g_byte_array_append (out, (const guint8 *)"\r\n", 2);
  g_byte_array_append (out, self->held->data, self->held->len);
  g_clear_pointer (&self->held, g_byte_array_unref);
}

/* Called when the header section is cut short (limit or end of message):
 * decides on the complete lines seen. */
static void
release_without_end (MbHeaderStamper *self, gboolean at_end, GByteArray *out)
{
  const guint8 *data = self->held->data;
  gsize         len = self->held->len;
  gsize         header_len = at_end ? len : self->line_start;

  if (len == 0)
    {
      release (self, 0, FALSE, out);
      return;
    }
  /* The first line, as far as it goes, says whether there are headers. */
  if (!is_field_start (data, len))
    {
      release (self, 0, TRUE, out);
      return;
    }
  release (self, header_len, FALSE, out);
}

/* Searches the newly held bytes for the end of the header section; returns
 * TRUE once released. */
static gboolean
scan_held (MbHeaderStamper *self, GByteArray *out)
{
  const guint8 *data = self->held->data;

  for (gsize i = self->scanned; i < self->held->len; i++)
    {
      gsize line_len;

      if (data[i] != '\n')
        continue;
      line_len = i - self->line_start;
      /* An empty line: LF or CRLF alone (a bare LF is refused later by the
       * session, but must not make us hold the whole message). */
      if (line_len == 0 || (line_len == 1 && data[i - 1] == '\r'))
        {
          release (self, i + 1, FALSE, out);
          return TRUE;
        }
      if (!self->first_line_done)
        {
          self->first_line_done = TRUE;
          if (!is_field_start (data, line_len))
            {
              release (self, 0, TRUE, out);
              return TRUE;
            }
        }
      self->line_start = i + 1;
    }
  self->scanned = self->held->len;
  return FALSE;
}

/* Keeps what the device sent in a header comment or a domain position
 * from breaking the field: only characters of domains, address literals
 * and atoms stay; anything else becomes "_". */
static char *
sanitize_token (const char *text, gsize max_len)
{
  GString *out = g_string_new (NULL);

  for (const char *p = text; *p != '\0' && out->len < max_len; p++)
    {
      if (g_ascii_isalnum (*p) || strchr ("-._:[]", *p) != NULL)
        g_string_append_c (out, *p);
      else
        g_string_append_c (out, '_');
    }
  return g_string_free (out, FALSE);
}

/* An address for "for <...>": UTF-8 is kept (RFC 6532), control
 * characters and broken UTF-8 are not. */
static char *
sanitize_address (const char *address)
{
  g_autofree char *valid = g_utf8_make_valid (address, -1);
  GString         *out = g_string_new (NULL);

  for (const char *p = valid; *p != '\0'; p++)
    {
      guchar c = *p;

      g_string_append_c (
          out, (c < 0x20 || c == 0x7f || c == '<' || c == '>') ? '_' : *p);
    }
  return g_string_free (out, FALSE);
}

/* RFC 5321 4.1.3 address literal for the client's IP. */
static char *
format_address_literal (const char *ip)
{
  g_autoptr (GInetAddress) address = g_inet_address_new_from_string (ip);
  g_autofree char *text = NULL;

  if (address == NULL)
    return NULL;
  if (g_inet_address_get_family (address) == G_SOCKET_FAMILY_IPV6
      && !g_inet_address_get_is_any (address)
      && g_str_has_prefix (ip, "::ffff:") && strchr (ip, '.') != NULL)
    return g_strdup_printf ("[%s]", ip + strlen ("::ffff:"));
  text = g_inet_address_to_string (address);
  if (g_inet_address_get_family (address) == G_SOCKET_FAMILY_IPV6)
    return g_strdup_printf ("[IPv6:%s]", text);
  return g_strdup_printf ("[%s]", text);
}

static void
append_folded (GString *field, gsize *line_len, const char *token)
{
  gsize len = strlen (token);

  if (*line_len + 1 + len > FOLD_WIDTH)
    {
      g_string_append (field, "\r\n\t");
      *line_len = 1;
    }
  else
    {
      g_string_append_c (field, ' ');
      *line_len += 1;
    }
  g_string_append (field, token);
  *line_len += len;
}

/* Public API */

MbHeaderStamper *
mb_header_stamper_new (const char *received, const char *hostname)
{
  MbHeaderStamper *self;

  g_return_val_if_fail (received != NULL, NULL);

  self = g_new0 (MbHeaderStamper, 1);
  self->received = g_strdup (received);
  self->hostname = g_strdup (hostname != NULL ? hostname : g_get_host_name ());
  self->held = g_byte_array_new ();
  return self;
}

void
mb_header_stamper_free (MbHeaderStamper *stamper)
{
  if (stamper == NULL)
    return;
  g_free (stamper->received);
  g_free (stamper->hostname);
  g_clear_pointer (&stamper->held, g_byte_array_unref);
  g_free (stamper->message_id);
  g_free (stamper);
}

void
mb_header_stamper_feed (MbHeaderStamper *stamper,
                        const guint8    *data,
                        gsize            len,
                        GByteArray      *out)
{
  gsize room;

  g_return_if_fail (stamper != NULL);
  g_return_if_fail (data != NULL || len == 0);
  g_return_if_fail (out != NULL);

  while (stamper->held != NULL && len > 0)
    {
      room = MAX_HELD - stamper->held->len;
      g_byte_array_append (stamper->held, data, MIN (len, room));
      data += MIN (len, room);
      len -= MIN (len, room);
      if (scan_held (stamper, out))
        break;
      if (stamper->held->len >= MAX_HELD)
        release_without_end (stamper, FALSE, out);
    }
  if (len > 0)
    g_byte_array_append (out, data, len);
}

void
mb_header_stamper_finish (MbHeaderStamper *stamper, GByteArray *out)
{
  g_return_if_fail (stamper != NULL);
  g_return_if_fail (out != NULL);

  if (stamper->held != NULL)
    release_without_end (stamper, TRUE, out);
}

const char *
mb_header_stamper_get_message_id (MbHeaderStamper *stamper)
{
  g_return_val_if_fail (stamper != NULL, NULL);

  return stamper->message_id;
}

char *
mb_header_stamper_format_received (const char *helo,
                                   const char *client_ip,
                                   const char *hostname,
                                   const char *protocol,
                                   const char *queue_id,
                                   const char *recipient,
                                   GDateTime  *when)
{
  g_autoptr (GString) field = g_string_new ("Received:");
  g_autoptr (GDateTime) now = NULL;
  g_autofree char *literal = NULL;
  g_autofree char *from = NULL;
  g_autofree char *by = NULL;
  g_autofree char *with = NULL;
  g_autofree char *id = NULL;
  g_autofree char *date = NULL;
  g_autoptr (GPtrArray) tokens = g_ptr_array_new_with_free_func (g_free);
  gsize line_len = field->len;

  g_return_val_if_fail (hostname != NULL, NULL);

  literal = client_ip != NULL ? format_address_literal (client_ip) : NULL;
  /* RFC 5321 4.4: "from" names the EHLO/HELO domain, and the address in
   * the comment (TCP-info); we do no reverse lookup, so the comment holds
   * the address literal alone.  A device that sent no usable name is
   * shown by its address literal. */
  from = helo != NULL ? sanitize_token (helo, 255) : g_strdup ("");
  if (*from == '\0')
    {
      g_free (from);
      from = g_strdup (literal != NULL ? literal : "unknown");
    }
  g_ptr_array_add (tokens, g_strdup_printf ("from %s", from));
  if (literal != NULL)
    g_ptr_array_add (tokens, g_strdup_printf ("(%s)", literal));

  by = sanitize_token (hostname, 255);
  g_ptr_array_add (tokens, g_strdup_printf ("by %s", by));
  g_ptr_array_add (tokens, g_strdup ("(Mailbridge)"));
  /* RFC 3848 / RFC 6531 protocol type names. */
  with = sanitize_token (protocol != NULL ? protocol : "SMTP", 32);
  g_ptr_array_add (tokens, g_strdup_printf ("with %s", with));
  if (queue_id != NULL)
    {
      id = sanitize_token (queue_id, 64);
      g_ptr_array_add (tokens, g_strdup_printf ("id %s", id));
    }
  if (recipient != NULL)
    {
      g_autofree char *address = sanitize_address (recipient);

      g_ptr_array_add (tokens, g_strdup_printf ("for <%s>", address));
    }
  /* The clauses end in ";" before the date (RFC 5321 4.4 Time-stamp-line). */
  {
    char **last = (char **)&g_ptr_array_index (tokens, tokens->len - 1);
    char  *with_semicolon = g_strconcat (*last, ";", NULL);

    g_free (*last);
    *last = with_semicolon;
  }

  mb_mime_ensure_init ();
  if (when == NULL)
    when = now = g_date_time_new_now_local ();
  date = g_mime_utils_header_format_date (when);
  g_ptr_array_add (tokens, g_strdup (date));

  for (guint i = 0; i < tokens->len; i++)
    append_folded (field, &line_len, g_ptr_array_index (tokens, i));
  g_string_append (field, "\r\n");
  return g_string_free (g_steal_pointer (&field), FALSE);
}
