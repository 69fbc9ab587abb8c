/* SPDX-License-Identifier: LGPL-2.1-or-later */
#define G_LOG_DOMAIN "PulpFile"

#include <glib/gi18n-lib.h>
#include <string.h>

#include "pulp-error.h"
#include "pulp-file-manifest.h"

/**
 * PulpFileManifest:
 *
 * A parsed PULP_MANIFEST: one line per file, `relative/path,sha256,size`.
 * The parser knows nothing of syncs or conduits so it can be tested alone;
 * it rejects the whole manifest on the first bad line, so a sync never
 * stores part of a manifest that turns out to be broken further down.
 */
struct _PulpFileManifest
{
  GArray *entries;      /* of PulpFileManifestEntry */
  GStringChunk *paths;  /* owns every entry's relative_path */
  GHashTable *by_path;  /* relative_path → GUINT_TO_POINTER (index + 1); built to find
                         * duplicate paths, kept for pulp_file_manifest_lookup() */
  guint64 total_size;
};

/* How often the parser looks at the cancellable, in lines. */
#define CANCEL_CHECK_LINES 512

void
pulp_file_manifest_free (PulpFileManifest *manifest)
{
  if (manifest == NULL)
    return;
  g_array_unref (manifest->entries);
  g_string_chunk_free (manifest->paths);
  g_clear_pointer (&manifest->by_path, g_hash_table_unref);
  g_free (manifest);
}

/**
 * pulp_file_manifest_get_n_entries:
 * @manifest: a #PulpFileManifest
 *
 * Returns: the number of files listed
 */
guint
pulp_file_manifest_get_n_entries (PulpFileManifest *manifest)
{
  g_return_val_if_fail (manifest != NULL, 0);
  return manifest->entries->len;
}

/**
 * pulp_file_manifest_get_entry:
 * @manifest: a #PulpFileManifest
 * @index: less than pulp_file_manifest_get_n_entries()
 *
 * Returns: (transfer none): the entry, in manifest order
 */
const PulpFileManifestEntry *
pulp_file_manifest_get_entry (PulpFileManifest *manifest, guint index)
{
  g_return_val_if_fail (manifest != NULL, NULL);
  g_return_val_if_fail (index < manifest->entries->len, NULL);
  return &g_array_index (manifest->entries, PulpFileManifestEntry, index);
}

/**
 * pulp_file_manifest_lookup:
 * @manifest: a #PulpFileManifest
 * @relative_path: a path
 * @index: (out) (optional): where the entry of @relative_path is
 *
 * Finds the file the manifest lists at @relative_path (a path is listed at
 * most once).
 *
 * Returns: %TRUE if the manifest lists @relative_path
 */
gboolean
pulp_file_manifest_lookup (PulpFileManifest *manifest, const gchar *relative_path, guint *index)
{
  guint found;

  g_return_val_if_fail (manifest != NULL, FALSE);
  g_return_val_if_fail (relative_path != NULL, FALSE);

  found = GPOINTER_TO_UINT (g_hash_table_lookup (manifest->by_path, relative_path));
  if (found == 0)
    return FALSE;
  if (index != NULL)
    *index = found - 1;
  return TRUE;
}

/**
 * pulp_file_manifest_get_total_size:
 * @manifest: a #PulpFileManifest
 *
 * Returns: the sum of the declared sizes (saturating at %G_MAXUINT64)
 */
guint64
pulp_file_manifest_get_total_size (PulpFileManifest *manifest)
{
  g_return_val_if_fail (manifest != NULL, 0);
  return manifest->total_size;
}

/* Bytes that need a closer look when scanning text: 1 for those that must
 * never appear in a path or a manifest line (NUL, C0 controls, DEL), 2 for
 * 0xC2 (the lead byte of the C1 controls U+0080–U+009F), 3 for any other
 * non-ASCII byte. Printable ASCII, nearly every byte of a manifest, is 0,
 * so the scan is one table look-up a byte. */
static const guint8 byte_class[256] = {
  [0x00 ... 0x1f] = 1,
  [0x7f] = 1,
  [0x80 ... 0xc1] = 3,
  [0xc2] = 2,
  [0xc3 ... 0xff] = 3,
};

/* Finds the first forbidden byte: NUL, a C0 control, DEL or a C1 control
 * encoded in UTF-8. Returns its offset, or -1; @ascii says whether all
 * bytes were ASCII (then UTF-8 validation can be skipped). Looking at 0xC2
 * before validation is safe: it can only be a lead byte in UTF-8. */
static gssize
find_control_byte (const gchar *s, gsize length, guint *value, gboolean *ascii)
{
  const guchar *u = (const guchar *) s;
  gboolean only_ascii = TRUE;

  for (gsize i = 0; i < length; i++)
    {
      guint8 c = byte_class[u[i]];

      if (G_LIKELY (c == 0))
        continue;
      if (c == 1)
        {
          *value = u[i];
          return (gssize) i;
        }
      only_ascii = FALSE;
      if (c == 2 && i + 1 < length && u[i + 1] >= 0x80 && u[i + 1] <= 0x9f)
        {
          *value = u[i + 1];
          return (gssize) i;
        }
    }
  *ascii = only_ascii;
  return -1;
}

/* Checks text for NUL, control characters and invalid UTF-8; @is_path
 * says whether the message names the text "the path" or "the line" (whole
 * sentences for each, so that translators see them whole). The text
 * itself is never printed here: it is what is broken. */
static gboolean
check_text (const gchar *s, gsize length, gboolean is_path, GError **error)
{
  const gchar *end = NULL;
  guint value = 0;
  gboolean ascii = FALSE;
  gssize at = find_control_byte (s, length, &value, &ascii);

  if (at >= 0)
    {
      if (value == 0)
        g_set_error (error, PULP_ERROR, PULP_ERROR_INVALID_ARGUMENT,
                     is_path ? _("the path contains a NUL byte at byte %lld")
                             : _("the line contains a NUL byte at byte %lld"),
                     (long long) at + 1);
      else
        g_set_error (error, PULP_ERROR, PULP_ERROR_INVALID_ARGUMENT,
                     is_path ? _("the path contains the control character 0x%02X at byte %lld")
                             : _("the line contains the control character 0x%02X at byte %lld"),
                     value, (long long) at + 1);
      return FALSE;
    }
  if (!ascii && !g_utf8_validate_len (s, length, &end))
    {
      g_set_error (error, PULP_ERROR, PULP_ERROR_INVALID_ARGUMENT,
                   is_path ? _("the path is not valid UTF-8 (at byte %llu)")
                           : _("the line is not valid UTF-8 (at byte %llu)"),
                   (unsigned long long) (end - s) + 1);
      return FALSE;
    }
  return TRUE;
}

/* The checks of pulp_file_check_relative_path() after the text checks;
 * the parser has already checked the whole line's text. */
static gboolean
check_path_components (const gchar *path, gsize length, GError **error)
{
  gsize start = 0;

  if (length == 0)
    {
      g_set_error_literal (error, PULP_ERROR, PULP_ERROR_INVALID_ARGUMENT, _("the path is empty"));
      return FALSE;
    }
  if (path[0] == '/')
    {
      g_set_error (error, PULP_ERROR, PULP_ERROR_INVALID_ARGUMENT,
                   _("the path “%.*s” is absolute"), (gint) length, path);
      return FALSE;
    }

  while (start <= length)
    {
      const gchar *slash = memchr (path + start, '/', length - start);
      gsize end = slash != NULL ? (gsize) (slash - path) : length;
      gsize n = end - start;

      /* One whole message for each case, for the translators. */
      if (n == 0)
        g_set_error (error, PULP_ERROR, PULP_ERROR_INVALID_ARGUMENT,
                     _("the path “%.*s” has an empty component"), (gint) length, path);
      else if (n == 1 && path[start] == '.')
        g_set_error (error, PULP_ERROR, PULP_ERROR_INVALID_ARGUMENT,
                     _("the path “%.*s” has a “.” component"), (gint) length, path);
      else if (n == 2 && path[start] == '.' && path[start + 1] == '.')
        g_set_error (error, PULP_ERROR, PULP_ERROR_INVALID_ARGUMENT,
                     _("the path “%.*s” has a “..” component"), (gint) length, path);
      else
        {
          start = end + 1;
          continue;
        }
      return FALSE;
    }
  return TRUE;
}

/**
 * pulp_file_check_relative_path:
 * @path: a path as listed in a manifest or given to `Upload`
 * @length: its length in bytes
 * @error: return location for a #GError
 *
 * A relative path names a place below the repository's root: it must be
 * valid UTF-8 without control characters, not absolute, and made of
 * non-empty components other than "." and "..", so that no name can escape
 * the tree when it is published or resolved against the feed URL.
 *
 * Returns: %TRUE if @path is acceptable; otherwise sets
 * %PULP_ERROR_INVALID_ARGUMENT with the reason
 */
gboolean
pulp_file_check_relative_path (const gchar *path, gsize length, GError **error)
{
  g_return_val_if_fail (path != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (length > 0 && !check_text (path, length, TRUE, error))
    return FALSE;
  return check_path_components (path, length, error);
}

static gboolean
parse_sha256 (const gchar *s, gsize length, gchar out[65], GError **error)
{
  if (length != 64)
    {
      g_set_error (error, PULP_ERROR, PULP_ERROR_INVALID_ARGUMENT,
                   _("the sha256 “%.*s” is not 64 hexadecimal digits"), (gint) length, s);
      return FALSE;
    }
  for (gsize i = 0; i < 64; i++)
    {
      gchar c = s[i];

      if (c >= 'A' && c <= 'F')
        c = (gchar) (c - 'A' + 'a');
      else if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
        {
          g_set_error (error, PULP_ERROR, PULP_ERROR_INVALID_ARGUMENT,
                       _("the sha256 “%.*s” is not 64 hexadecimal digits"), (gint) length, s);
          return FALSE;
        }
      /* Digests are compared as text everywhere (unit keys, store names). */
      out[i] = c;
    }
  out[64] = '\0';
  return TRUE;
}

static gboolean
parse_size (const gchar *s, gsize length, guint64 *out, GError **error)
{
  guint64 value = 0;

  if (length == 0)
    {
      g_set_error_literal (error, PULP_ERROR, PULP_ERROR_INVALID_ARGUMENT, _("the size is empty"));
      return FALSE;
    }
  for (gsize i = 0; i < length; i++)
    {
      guint digit;

      if (s[i] < '0' || s[i] > '9')
        {
          g_set_error (error, PULP_ERROR, PULP_ERROR_INVALID_ARGUMENT,
                       _("the size “%.*s” is not a non-negative decimal number"), (gint) length,
                       s);
          return FALSE;
        }
      digit = (guint) (s[i] - '0');
      /* Sizes travel as gint64 to the downloader, hence the bound. */
      if (value > ((guint64) G_MAXINT64 - digit) / 10)
        {
          g_set_error (error, PULP_ERROR, PULP_ERROR_INVALID_ARGUMENT,
                       _("the size “%.*s” is too large"), (gint) length, s);
          return FALSE;
        }
      value = value * 10 + digit;
    }
  *out = value;
  return TRUE;
}

/* memrchr() is a GNU extension; the fields after the last two commas are
 * short, so a backward scan finds them at once. */
static const gchar *
find_last_comma (const gchar *s, gsize length)
{
  while (length > 0)
    {
      length--;
      if (s[length] == ',')
        return s + length;
    }
  return NULL;
}

static gboolean
is_blank (const gchar *s, gsize length)
{
  for (gsize i = 0; i < length; i++)
    if (s[i] != ' ' && s[i] != '\t')
      return FALSE;
  return TRUE;
}

/* Parses one non-blank, non-comment line into @entry; on failure @error
 * holds the reason only (the caller adds the line number). */
static gboolean
parse_line (PulpFileManifest *manifest,
            const gchar *line,
            gsize length,
            PulpFileManifestEntry *entry,
            GError **error)
{
  const gchar *last_comma;
  const gchar *sha_comma;
  gsize path_len;
  gpointer first;
  gchar *path;

  if (!check_text (line, length, FALSE, error))
    return FALSE;

  /* Split at the last two commas: a path may contain commas, a digest and
   * a size never do. */
  last_comma = find_last_comma (line, length);
  sha_comma = last_comma != NULL ? find_last_comma (line, (gsize) (last_comma - line)) : NULL;
  if (sha_comma == NULL)
    {
      g_set_error_literal (error, PULP_ERROR, PULP_ERROR_INVALID_ARGUMENT,
                           _("expected “relative/path,sha256,size”"));
      return FALSE;
    }
  path_len = (gsize) (sha_comma - line);

  if (!check_path_components (line, path_len, error))
    return FALSE;
  if (!parse_sha256 (sha_comma + 1, (gsize) (last_comma - sha_comma - 1), entry->sha256, error))
    return FALSE;
  if (!parse_size (last_comma + 1, length - (gsize) (last_comma - line) - 1, &entry->size, error))
    return FALSE;

  path = g_string_chunk_insert_len (manifest->paths, line, (gssize) path_len);
  if (g_hash_table_lookup_extended (manifest->by_path, path, NULL, &first))
    {
      g_set_error (error, PULP_ERROR, PULP_ERROR_INVALID_ARGUMENT,
                   _("the path “%s” is listed twice (first on line %u)"), path,
                   g_array_index (manifest->entries, PulpFileManifestEntry,
                                  GPOINTER_TO_UINT (first) - 1)
                       .line);
      return FALSE;
    }
  /* the entry is appended next, at index len */
  g_hash_table_insert (manifest->by_path, path, GUINT_TO_POINTER (manifest->entries->len + 1));
  entry->relative_path = path;
  return TRUE;
}

/**
 * pulp_file_manifest_parse:
 * @data: the manifest's bytes (need not be NUL-terminated)
 * @length: the number of bytes in @data
 * @max_size: the largest manifest accepted, in bytes; 0 for no limit
 * @cancellable: (nullable): checked every few hundred lines
 * @error: return location for a #GError
 *
 * Parses a PULP_MANIFEST: one `relative/path,sha256,size` per line, split at
 * the last two commas; lines starting with `#` and blank lines are ignored,
 * and a trailing "\r" is tolerated. Anything else wrong — a bad path (see
 * pulp_file_check_relative_path()), a digest that is not 64 hex digits, a
 * size that is not a decimal number up to %G_MAXINT64, a path listed twice,
 * a line longer than %PULP_FILE_MANIFEST_MAX_LINE bytes, or a manifest
 * larger than @max_size — rejects the whole manifest.
 *
 * Returns: (transfer full): the manifest, or %NULL with
 * %PULP_ERROR_INVALID_ARGUMENT naming the line and the reason (or
 * %G_IO_ERROR_CANCELLED)
 */
PulpFileManifest *
pulp_file_manifest_parse (const gchar *data,
                          gsize length,
                          guint64 max_size,
                          GCancellable *cancellable,
                          GError **error)
{
  g_autoptr (PulpFileManifest) manifest = NULL;
  const gchar *p = data;
  const gchar *end = data + length;
  guint line_no = 0;

  g_return_val_if_fail (data != NULL || length == 0, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (max_size > 0 && length > max_size)
    {
      g_set_error (error, PULP_ERROR, PULP_ERROR_INVALID_ARGUMENT,
                   _("%s is %llu bytes, more than the limit of %llu bytes (configuration key "
                     "“max-manifest-size”)"),
                   PULP_FILE_MANIFEST_NAME, (unsigned long long) length,
                   (unsigned long long) max_size);
      return NULL;
    }

  manifest = g_new0 (PulpFileManifest, 1);
  manifest->entries = g_array_sized_new (FALSE, FALSE, sizeof (PulpFileManifestEntry),
                                         (guint) MIN (length / 80 + 1, 1u << 20));
  manifest->paths = g_string_chunk_new (64 * 1024);
  manifest->by_path = g_hash_table_new (g_str_hash, g_str_equal);

  /* Editors on some systems start UTF-8 files with a byte order mark. */
  if (length >= 3 && memcmp (p, "\xef\xbb\xbf", 3) == 0)
    p += 3;

  while (p < end)
    {
      const gchar *nl = memchr (p, '\n', (gsize) (end - p));
      const gchar *line = p;
      gsize line_len = (nl != NULL ? nl : end) - p;
      g_autoptr (GError) local_error = NULL;
      PulpFileManifestEntry entry;

      p = nl != NULL ? nl + 1 : end;
      line_no++;

      if (line_no % CANCEL_CHECK_LINES == 0 && g_cancellable_set_error_if_cancelled (cancellable,
                                                                                    error))
        return NULL;

      if (line_len > 0 && line[line_len - 1] == '\r')
        line_len--;
      if (line_len > PULP_FILE_MANIFEST_MAX_LINE)
        {
          g_set_error (error, PULP_ERROR, PULP_ERROR_INVALID_ARGUMENT,
                       _("Invalid %s, line %u: the line is longer than %u bytes"),
                       PULP_FILE_MANIFEST_NAME, line_no, PULP_FILE_MANIFEST_MAX_LINE);
          return NULL;
        }
      if (line_len == 0 || line[0] == '#' || is_blank (line, line_len))
        continue;

      entry.line = line_no;
      if (!parse_line (manifest, line, line_len, &entry, &local_error))
        {
          g_set_error (error, PULP_ERROR, PULP_ERROR_INVALID_ARGUMENT, _("Invalid %s, line %u: %s"),
                       PULP_FILE_MANIFEST_NAME, line_no, local_error->message);
          return NULL;
        }
      manifest->total_size = entry.size > G_MAXUINT64 - manifest->total_size
                               ? G_MAXUINT64
                               : manifest->total_size + entry.size;
      g_array_append_val (manifest->entries, entry);
    }

  return g_steal_pointer (&manifest);
}

/**
 * pulp_file_feed_folder:
 * @manifest_url: the URL of the PULP_MANIFEST (the `feed`)
 * @error: return location for a #GError
 *
 * Returns: (transfer full): the URL of the folder that holds the manifest,
 * ending in '/', for pulp_file_build_url(); or %NULL with
 * %PULP_ERROR_INVALID_ARGUMENT if @manifest_url is not a valid URL
 */
gchar *
pulp_file_feed_folder (const gchar *manifest_url, GError **error)
{
  g_autoptr (GError) local_error = NULL;
  gchar *folder;

  g_return_val_if_fail (manifest_url != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  folder = g_uri_resolve_relative (manifest_url, ".", G_URI_FLAGS_ENCODED, &local_error);
  if (folder == NULL)
    {
      g_set_error (error, PULP_ERROR, PULP_ERROR_INVALID_ARGUMENT,
                   _("Cannot find the folder of the feed “%s”: %s"), manifest_url,
                   local_error->message);
      return NULL;
    }
  return folder;
}

/**
 * pulp_file_build_url:
 * @feed_folder: from pulp_file_feed_folder()
 * @relative_path: a path that passed pulp_file_check_relative_path()
 *
 * Resolves @relative_path against the manifest's folder. Each component is
 * percent-encoded (spaces, '#', '%', '?', ':', non-ASCII…), so a file name
 * can never turn into a query, a fragment, a scheme or another directory;
 * and as a checked path has no "." or ".." components, resolving it is
 * appending it. Called once per file: the folder is resolved once per sync.
 *
 * Returns: (transfer full): the file's URL
 */
gchar *
pulp_file_build_url (const gchar *feed_folder, const gchar *relative_path)
{
  g_autofree gchar *escaped = NULL;

  g_return_val_if_fail (feed_folder != NULL, NULL);
  g_return_val_if_fail (relative_path != NULL, NULL);

  escaped = g_uri_escape_string (relative_path, "/", FALSE);
  return g_strconcat (feed_folder, escaped, NULL);
}
