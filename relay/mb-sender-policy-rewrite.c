/* mb-sender-policy-rewrite.c - applying a sender decision to a message
 *
 * WHAT IT DOES
 *   Reads a queued message's header section (never its body), finds its
 *   From: fields with GMime, and replaces them by the decision's From:,
 *   followed by X-Mailbridge-Original-From: and, unless the message has
 *   one, Reply-To:.  The result is a stream: the new header section, then
 *   the rest of the message as it comes from the spool file.  Also the
 *   whole step (read, decide, rewrite) in a worker thread for the
 *   scheduler.
 *
 * GUARANTEES
 *   - Nothing but the From: fields changes: every other byte of the header
 *     section, folded and 8-bit fields and odd blanks included, stays in
 *     its place; GMime only finds the fields, its offsets are checked
 *     against the bytes before anything is cut.
 *   - At most MB_SENDER_POLICY_MAX_HEADER bytes are held; the body streams
 *     through in the reader's own chunks, asynchronous reads included.
 *   - The fields we write are folded at blanks outside quoted strings
 *     before 78 columns, CRLF; a Reply-To: is never doubled or replaced.
 *   - KEEP and REWRITE_ENVELOPE read nothing: the message stream itself is
 *     returned.
 *
 * WHAT IT DOES NOT DO
 *   No decisions (mb-sender-policy.c) and no changes to Sender: or
 *   Return-Path:.  A device's own DKIM signature over From: would no
 *   longer verify; office devices do not sign, Microsoft 365 does.
 *
 * RFC 5322 2.2.3 (folding), 3.6.2 (originator fields), 4.5.8 (blanks
 * before the colon).
 */
#define G_LOG_DOMAIN "mb-sender-policy"

#include "mb-sender-policy.h"
#include "mb-sender-policy-private.h"
#include "mb-mime.h"

#include <gmime/gmime.h>
#include <string.h>

#define READ_CHUNK (16 * 1024)
#define FOLD_WIDTH 78

/* A stream of @prefix followed by @base: the rewritten header section,
 * then the rest of the queued message. */
struct _MbPrefixedStream
{
  GInputStream  parent_instance;
  GBytes       *prefix; /* (owned) */
  gsize         offset; /* bytes of @prefix already read */
  GInputStream *base;   /* (owned) */
};

#define MB_TYPE_PREFIXED_STREAM (mb_prefixed_stream_get_type ())
G_DECLARE_FINAL_TYPE (MbPrefixedStream,
                      mb_prefixed_stream,
                      MB,
                      PREFIXED_STREAM,
                      GInputStream)

typedef struct
{
  MbSenderPolicyConfig *config;  /* (owned) */
  char                 *sender;  /* (owned) */
  GInputStream         *message; /* (owned) */
} ApplyData;

typedef struct
{
  GInputStream     *stream;   /* (owned) */
  MbSenderDecision *decision; /* (owned) */
  gint64            size_delta;
} ApplyResult;

G_DEFINE_TYPE (MbPrefixedStream, mb_prefixed_stream, G_TYPE_INPUT_STREAM)

/* GMime 3.2 declares no cleanup functions of its own. */
G_DEFINE_AUTOPTR_CLEANUP_FUNC (GMimeStream, g_object_unref)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (GMimeParser, g_object_unref)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (GMimeMessage, g_object_unref)

/* Helpers */

static void
apply_data_free (ApplyData *data)
{
  g_clear_pointer (&data->config, mb_sender_policy_config_free);
  g_free (data->sender);
  g_clear_object (&data->message);
  g_free (data);
}

static void
apply_result_free (ApplyResult *result)
{
  g_clear_object (&result->stream);
  g_clear_pointer (&result->decision, mb_sender_decision_free);
  g_free (result);
}

/* Appends "Name: value" CRLF, folded before FOLD_WIDTH at blanks outside
 * quoted strings (RFC 5322 2.2.3), also right after the colon when the
 * first token does not fit.  Encoded words hold no blanks, so they are
 * never cut. */
static void
append_folded (GByteArray *out, const char *name, const char *value)
{
  g_autoptr (GString) line = g_string_new (NULL);
  gsize       line_start = 0;
  gboolean    quoted = FALSE;
  const char *p = value;

  g_string_append_printf (line, "%s:", name);
  while (*p != '\0')
    {
      const char *token = p;
      gsize       token_len;
      gboolean    first = token == value;

      /* A token: its leading blanks, then up to the next blank outside
       * quotes. */
      while (*p == ' ' || *p == '\t')
        p++;
      while (*p != '\0' && (quoted || (*p != ' ' && *p != '\t')))
        {
          if (*p == '\\' && quoted && p[1] != '\0')
            p++;
          else if (*p == '"')
            quoted = !quoted;
          p++;
        }
      token_len = (gsize)(p - token) + (first ? 1 : 0);
      if (line->len - line_start + token_len > FOLD_WIDTH)
        {
          g_string_append (line, "\r\n");
          line_start = line->len;
        }
      if (first)
        g_string_append_c (line, ' ');
      g_string_append_len (line, token, (gssize)(p - token));
    }
  g_string_append (line, "\r\n");
  g_byte_array_append (out, (const guint8 *)line->str, line->len);
}

/* Where the header section in @data stops: the offset of the empty line,
 * or @len when there is none. */
static gsize
find_terminator (const guint8 *data, gsize len)
{
  gsize end = mb_mime_find_header_end (data, len, 0);

  return end != 0 ? end - 2 : len;
}

/* The offset after the field that starts at @start: its first line and
 * every continuation line (one that starts with a blank). */
static gsize
find_field_end (const guint8 *data, gsize len, gsize start)
{
  gsize i = start;

  for (;;)
    {
      while (i < len && data[i] != '\n')
        i++;
      if (i >= len)
        return len;
      i++;
      if (i >= len || (data[i] != ' ' && data[i] != '\t'))
        return i;
    }
}

/* Whether a From: field starts at @offset: at a line start, "From", maybe
 * blanks (RFC 5322 4.5.8), ":". */
static gboolean
is_from_field (const guint8 *data, gsize len, gsize offset)
{
  gsize i = offset + 4;

  if (offset + 4 > len || (offset > 0 && data[offset - 1] != '\n')
      || g_ascii_strncasecmp ((const char *)data + offset, "From", 4) != 0)
    return FALSE;
  while (i < len && (data[i] == ' ' || data[i] == '\t'))
    i++;
  return i < len && data[i] == ':';
}

/* The header section parsed by GMime, or NULL when it holds no fields. */
static GMimeMessage *
parse_header (const guint8 *data, gsize len)
{
  g_autoptr (GMimeStream) stream = NULL;
  g_autoptr (GMimeParser) parser = NULL;

  if (len == 0)
    return NULL;
  mb_mime_ensure_init ();
  stream = g_mime_stream_mem_new_with_buffer ((const char *)data, len);
  parser = g_mime_parser_new_with_stream (stream);
  g_mime_parser_set_format (parser, GMIME_FORMAT_MESSAGE);
  return g_mime_parser_construct_message (parser, NULL);
}

/* Callbacks */

static void
prefixed_read_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  GError *error = NULL;
  gssize  n;

  n = g_input_stream_read_finish (G_INPUT_STREAM (source), result, &error);
  if (n < 0)
    g_task_return_error (task, error);
  else
    g_task_return_int (task, n);
}

static void
apply_thread (GTask        *task,
              gpointer      source_object,
              gpointer      task_data,
              GCancellable *cancellable)
{
  ApplyData *data = task_data;
  g_autoptr (MbSenderDecision) decision = NULL;
  ApplyResult  *result;
  GInputStream *stream;
  GError       *error = NULL;
  gint64        size_delta = 0;

  (void)source_object;
  stream = mb_sender_policy_apply (data->config, data->sender, data->message,
                                   &decision, &size_delta, cancellable, &error);
  if (stream == NULL)
    {
      g_task_return_error (task, error);
      return;
    }
  result = g_new0 (ApplyResult, 1);
  result->stream = stream;
  result->decision = g_steal_pointer (&decision);
  result->size_delta = size_delta;
  g_task_return_pointer (task, result, (GDestroyNotify)apply_result_free);
}

/* Overrides */

static gssize
mb_prefixed_stream_read (GInputStream *stream,
                         void         *buffer,
                         gsize         count,
                         GCancellable *cancellable,
                         GError      **error)
{
  MbPrefixedStream *self = MB_PREFIXED_STREAM (stream);
  gsize             len;
  const guint8     *data = g_bytes_get_data (self->prefix, &len);

  if (self->offset < len)
    {
      gsize n = MIN (count, len - self->offset);

      memcpy (buffer, data + self->offset, n);
      self->offset += n;
      return (gssize)n;
    }
  return g_input_stream_read (self->base, buffer, count, cancellable, error);
}

static void
mb_prefixed_stream_read_async (GInputStream       *stream,
                               void               *buffer,
                               gsize               count,
                               int                 io_priority,
                               GCancellable       *cancellable,
                               GAsyncReadyCallback callback,
                               gpointer            user_data)
{
  MbPrefixedStream *self = MB_PREFIXED_STREAM (stream);
  g_autoptr (GTask) task
      = g_task_new (stream, cancellable, callback, user_data);
  gsize len;

  g_task_set_source_tag (task, mb_prefixed_stream_read_async);
  g_bytes_get_data (self->prefix, &len);
  if (self->offset < len)
    {
      g_task_return_int (
          task, mb_prefixed_stream_read (stream, buffer, count, NULL, NULL));
      return;
    }
  g_input_stream_read_async (self->base, buffer, count, io_priority,
                             cancellable, prefixed_read_cb,
                             g_steal_pointer (&task));
}

static gssize
mb_prefixed_stream_read_finish (GInputStream *stream,
                                GAsyncResult *result,
                                GError      **error)
{
  g_return_val_if_fail (g_task_is_valid (result, stream), -1);

  return g_task_propagate_int (G_TASK (result), error);
}

static gboolean
mb_prefixed_stream_close (GInputStream *stream,
                          GCancellable *cancellable,
                          GError      **error)
{
  MbPrefixedStream *self = MB_PREFIXED_STREAM (stream);

  return g_input_stream_close (self->base, cancellable, error);
}

static void
mb_prefixed_stream_finalize (GObject *object)
{
  MbPrefixedStream *self = MB_PREFIXED_STREAM (object);

  g_clear_pointer (&self->prefix, g_bytes_unref);
  g_clear_object (&self->base);
  G_OBJECT_CLASS (mb_prefixed_stream_parent_class)->finalize (object);
}

static void
mb_prefixed_stream_class_init (MbPrefixedStreamClass *klass)
{
  GObjectClass      *object_class = G_OBJECT_CLASS (klass);
  GInputStreamClass *stream_class = G_INPUT_STREAM_CLASS (klass);

  object_class->finalize = mb_prefixed_stream_finalize;
  stream_class->read_fn = mb_prefixed_stream_read;
  stream_class->read_async = mb_prefixed_stream_read_async;
  stream_class->read_finish = mb_prefixed_stream_read_finish;
  stream_class->close_fn = mb_prefixed_stream_close;
}

static void
mb_prefixed_stream_init (MbPrefixedStream *self)
{
  (void)self;
}

static GInputStream *
prefixed_stream_new (GBytes *prefix, GInputStream *base)
{
  MbPrefixedStream *self = g_object_new (MB_TYPE_PREFIXED_STREAM, NULL);

  self->prefix = g_bytes_ref (prefix);
  self->base = g_object_ref (base);
  return G_INPUT_STREAM (self);
}

/* The stream of the rewritten @header, then @rest, then the unread rest
 * of @message. */
static GInputStream *
make_rewritten_stream (GInputStream           *message,
                       GBytes                 *header,
                       GBytes                 *rest,
                       const MbSenderDecision *decision,
                       gint64                 *size_delta)
{
  g_autoptr (GBytes) rewritten = NULL;
  g_autoptr (GByteArray) prefix = NULL;
  g_autoptr (GBytes) bytes = NULL;
  gconstpointer data;
  gsize         len;

  rewritten = mb_sender_policy_rewrite_header (header, decision);
  data = g_bytes_get_data (rewritten, &len);
  prefix = g_byte_array_sized_new ((guint)(len + g_bytes_get_size (rest)));
  g_byte_array_append (prefix, data, (guint)len);
  if (size_delta != NULL)
    *size_delta = (gint64)len - (gint64)g_bytes_get_size (header);
  data = g_bytes_get_data (rest, &len);
  g_byte_array_append (prefix, data, (guint)len);
  bytes = g_byte_array_free_to_bytes (g_steal_pointer (&prefix));
  return prefixed_stream_new (bytes, message);
}

/* Public API */

GBytes *
mb_sender_policy_rewrite_header (GBytes                 *header,
                                 const MbSenderDecision *decision)
{
  g_autoptr (GMimeMessage) message = NULL;
  g_autoptr (GByteArray) out = NULL;
  g_autoptr (GByteArray) fields = NULL;
  GMimeHeaderList *headers = NULL;
  gboolean         has_reply_to = FALSE;
  gboolean         inserted = FALSE;
  const guint8    *data;
  gsize            len;
  gsize            terminator;
  gsize            pos = 0;

  g_return_val_if_fail (header != NULL, NULL);
  g_return_val_if_fail (decision != NULL, NULL);

  if (!decision->rewrite_from || decision->new_from == NULL)
    return g_bytes_ref (header);

  data = g_bytes_get_data (header, &len);
  terminator = find_terminator (data, len);
  message = parse_header (data, terminator);
  if (message != NULL)
    {
      headers = g_mime_object_get_header_list (GMIME_OBJECT (message));
      has_reply_to = g_mime_header_list_contains (headers, "Reply-To");
    }

  /* Our fields, in the order a reader expects them. */
  fields = g_byte_array_new ();
  append_folded (fields, "From", decision->new_from);
  if (decision->original_from != NULL)
    append_folded (fields, "X-Mailbridge-Original-From",
                   decision->original_from);
  if (decision->reply_to != NULL && !has_reply_to)
    append_folded (fields, "Reply-To", decision->reply_to);

  out = g_byte_array_sized_new (len + fields->len);
  for (int i = 0; headers != NULL && i < g_mime_header_list_get_count (headers);
       i++)
    {
      GMimeHeader *field = g_mime_header_list_get_header_at (headers, i);
      gint64       offset = g_mime_header_get_offset (field);

      /* GMime finds the fields (and skips lines that are none); its
       * offsets are checked against the bytes, so only a real From: line
       * at or after what we copied is cut out. */
      if (offset < (gint64)pos || offset >= (gint64)terminator
          || !is_from_field (data, terminator, (gsize)offset))
        continue;
      g_byte_array_append (out, data + pos, (guint)((gsize)offset - pos));
      if (!inserted)
        g_byte_array_append (out, fields->data, fields->len);
      inserted = TRUE;
      pos = find_field_end (data, terminator, (gsize)offset);
    }
  g_byte_array_append (out, data + pos, (guint)(terminator - pos));
  if (!inserted)
    {
      /* No From: at all: ours goes last, after a line end of its own when
       * the section ends without one (a message that is all header). */
      if (terminator > 0 && data[terminator - 1] != '\n')
        g_byte_array_append (out, (const guint8 *)"\r\n", 2);
      g_byte_array_append (out, fields->data, fields->len);
    }
  g_byte_array_append (out, data + terminator, (guint)(len - terminator));
  return g_byte_array_free_to_bytes (g_steal_pointer (&out));
}

gboolean
mb_sender_policy_read_header (GInputStream *message,
                              GBytes      **header,
                              GBytes      **rest,
                              GCancellable *cancellable,
                              GError      **error)
{
  g_autoptr (GByteArray) data = g_byte_array_new ();
  gsize end = 0;

  g_return_val_if_fail (G_IS_INPUT_STREAM (message), FALSE);
  g_return_val_if_fail (header != NULL && rest != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  for (;;)
    {
      gsize  old_len = data->len;
      gsize  from = old_len >= 2 ? old_len - 2 : 0;
      gssize n;

      if (old_len >= MB_SENDER_POLICY_MAX_HEADER)
        {
          g_set_error (error, MB_SENDER_POLICY_ERROR,
                       MB_SENDER_POLICY_ERROR_HEADER_TOO_LONG,
                       "The header section is longer than %u bytes",
                       (guint)MB_SENDER_POLICY_MAX_HEADER);
          return FALSE;
        }
      g_byte_array_set_size (data, old_len + READ_CHUNK);
      n = g_input_stream_read (message, data->data + old_len, READ_CHUNK,
                               cancellable, error);
      if (n < 0)
        return FALSE;
      g_byte_array_set_size (data, old_len + (gsize)n);
      if (n == 0)
        {
          end = data->len; /* all header, no body */
          break;
        }

      /* Search only the new bytes, plus two for an empty line that
       * straddles two reads. */
      end = mb_mime_find_header_end (data->data, data->len, from);
      if (end != 0)
        break;
    }

  *header = g_bytes_new (data->data, end);
  *rest = g_bytes_new (data->data + end, data->len - end);
  return TRUE;
}

char *
mb_sender_policy_get_from (GBytes *header)
{
  g_autoptr (GMimeMessage) message = NULL;
  GMimeHeaderList *headers;
  GMimeHeader     *field;
  const guint8    *data;
  gsize            len;

  g_return_val_if_fail (header != NULL, NULL);

  data = g_bytes_get_data (header, &len);
  message = parse_header (data, find_terminator (data, len));
  if (message == NULL)
    return NULL;
  headers = g_mime_object_get_header_list (GMIME_OBJECT (message));
  field = g_mime_header_list_get_header (headers, "From");
  if (field == NULL || g_mime_header_get_raw_value (field) == NULL)
    return NULL;
  return mb_sender_policy_unfold (g_mime_header_get_raw_value (field));
}

GInputStream *
mb_sender_policy_rewrite_stream (GInputStream           *message,
                                 const MbSenderDecision *decision,
                                 gint64                 *size_delta,
                                 GCancellable           *cancellable,
                                 GError                **error)
{
  g_autoptr (GBytes) header = NULL;
  g_autoptr (GBytes) rest = NULL;

  g_return_val_if_fail (G_IS_INPUT_STREAM (message), NULL);
  g_return_val_if_fail (decision != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (size_delta != NULL)
    *size_delta = 0;
  if (!decision->rewrite_from)
    return g_object_ref (message);
  if (!mb_sender_policy_read_header (message, &header, &rest, cancellable,
                                     error))
    return NULL;
  return make_rewritten_stream (message, header, rest, decision, size_delta);
}

GInputStream *
mb_sender_policy_apply (const MbSenderPolicyConfig *config,
                        const char                 *envelope_sender,
                        GInputStream               *message,
                        MbSenderDecision          **decision,
                        gint64                     *size_delta,
                        GCancellable               *cancellable,
                        GError                    **error)
{
  g_autoptr (MbSenderDecision) decided = NULL;
  g_autoptr (GBytes) header = NULL;
  g_autoptr (GBytes) rest = NULL;
  g_autofree char *from = NULL;
  GInputStream    *stream;

  g_return_val_if_fail (config != NULL, NULL);
  g_return_val_if_fail (G_IS_INPUT_STREAM (message), NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (size_delta != NULL)
    *size_delta = 0;
  /* Only REWRITE_FROM looks at From:; the other modes read nothing. */
  if (config->mode != MB_SENDER_POLICY_MODE_REWRITE_FROM)
    {
      decided = mb_sender_policy_decide (config, envelope_sender, NULL);
      stream = g_object_ref (message);
    }
  else
    {
      if (!mb_sender_policy_read_header (message, &header, &rest, cancellable,
                                         error))
        return NULL;
      from = mb_sender_policy_get_from (header);
      decided = mb_sender_policy_decide (config, envelope_sender, from);
      stream
          = make_rewritten_stream (message, header, rest, decided, size_delta);
    }
  if (decision != NULL)
    *decision = g_steal_pointer (&decided);
  return stream;
}

void
mb_sender_policy_apply_async (const MbSenderPolicyConfig *config,
                              const char                 *envelope_sender,
                              GInputStream               *message,
                              GCancellable               *cancellable,
                              GAsyncReadyCallback         callback,
                              gpointer                    user_data)
{
  g_autoptr (GTask) task = NULL;
  ApplyData *data;

  g_return_if_fail (config != NULL);
  g_return_if_fail (G_IS_INPUT_STREAM (message));

  data = g_new0 (ApplyData, 1);
  data->config = mb_sender_policy_config_copy (config);
  data->sender = g_strdup (envelope_sender);
  data->message = g_object_ref (message);

  task = g_task_new (NULL, cancellable, callback, user_data);
  g_task_set_source_tag (task, mb_sender_policy_apply_async);
  g_task_set_task_data (task, data, (GDestroyNotify)apply_data_free);
  g_task_run_in_thread (task, apply_thread);
}

GInputStream *
mb_sender_policy_apply_finish (GAsyncResult      *result,
                               MbSenderDecision **decision,
                               gint64            *size_delta,
                               GError           **error)
{
  ApplyResult  *applied;
  GInputStream *stream;

  g_return_val_if_fail (g_task_is_valid (result, NULL), NULL);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result))
                            == mb_sender_policy_apply_async,
                        NULL);

  applied = g_task_propagate_pointer (G_TASK (result), error);
  if (applied == NULL)
    return NULL;
  stream = g_steal_pointer (&applied->stream);
  if (decision != NULL)
    *decision = g_steal_pointer (&applied->decision);
  if (size_delta != NULL)
    *size_delta = applied->size_delta;
  apply_result_free (applied);
  return stream;
}
