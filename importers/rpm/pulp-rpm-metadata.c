/* SPDX-License-Identifier: LGPL-2.1-or-later */
#define G_LOG_DOMAIN "PulpRpm"

#include <createrepo_c/createrepo_c.h>
#include <glib/gi18n-lib.h>
#include <string.h>
#include <glib/gstdio.h>
#include <errno.h>
#include <fcntl.h>
#include <rpm/rpmlib.h>
#include <rpm/rpmpgp.h>
#include <rpm/rpmts.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zstd.h>

#include "pulp-digest.h"
#include "pulp-downloader.h"
#include "pulp-error.h"
#include "pulp-rpm-metadata.h"
#include "pulp-rpm-pipeline.h"
#include "pulp-vardict-writer.h"

/* Reading the metadata of a yum/dnf repository, with nothing of the sync
 * conduit in it, so that every rule about upstream data is tested on real
 * files. Upstream metadata is untrusted input: every file is verified
 * against its declared digest before it is parsed, package locations are
 * checked before anything is stored, and every string is made valid UTF-8
 * before it reaches a GVariant. */

#define READ_BUFFER_SIZE (64 * 1024)

void
pulp_rpm_metadata_file_free (PulpRpmMetadataFile *file)
{
  if (file == NULL)
    return;
  g_free (file->type);
  g_free (file->location_href);
  g_free (file->location_base);
  g_free (file->checksum_type);
  g_free (file->checksum);
  g_free (file->open_checksum_type);
  g_free (file->open_checksum);
  g_free (file);
}

void
pulp_rpm_repomd_free (PulpRpmRepomd *repomd)
{
  if (repomd == NULL)
    return;
  g_free (repomd->revision);
  g_free (repomd->sha256);
  pulp_rpm_metadata_file_free (repomd->primary);
  g_free (repomd);
}

static const gchar *
nonempty (const gchar *s)
{
  return s != NULL && *s != '\0' ? s : NULL;
}

/**
 * pulp_rpm_normalize_checksum_type:
 * @checksum_type: (nullable): a digest type as yum metadata spells it
 *
 * Old createrepo wrote "sha" for SHA-1; everything else is lowercased.
 *
 * Returns: one of "md5", "sha1", "sha256", "sha384", "sha512", or %NULL when
 * the type is not one pulpd can verify
 */
const gchar *
pulp_rpm_normalize_checksum_type (const gchar *checksum_type)
{
  static const gchar *const known[] = { "md5", "sha1", "sha256", "sha384", "sha512" };

  if (checksum_type == NULL)
    return NULL;
  if (g_ascii_strcasecmp (checksum_type, "sha") == 0)
    return "sha1";
  for (guint i = 0; i < G_N_ELEMENTS (known); i++)
    if (g_ascii_strcasecmp (checksum_type, known[i]) == 0)
      return known[i];
  return NULL;
}

static GChecksumType
checksum_type_from_name (const gchar *name)
{
  if (g_strcmp0 (name, "md5") == 0)
    return G_CHECKSUM_MD5;
  if (g_strcmp0 (name, "sha1") == 0)
    return G_CHECKSUM_SHA1;
  if (g_strcmp0 (name, "sha384") == 0)
    return G_CHECKSUM_SHA384;
  if (g_strcmp0 (name, "sha512") == 0)
    return G_CHECKSUM_SHA512;
  return G_CHECKSUM_SHA256;
}

/* Streams @path through a digest, and through @tail (if not %NULL) from
 * byte @tail_from on; memory stays constant whatever the size. libcrypto's
 * digests, as for downloads: GLib's need twice the instructions, and
 * primary is checked before parsing can start. */
static gchar *
digest_file_and_tail (const gchar *path,
                      GChecksumType type,
                      guint64 *size_out,
                      PulpDigest *tail,
                      guint64 tail_from,
                      GCancellable *cancellable,
                      GError **error)
{
  g_autoptr (GFile) file = g_file_new_for_path (path);
  g_autoptr (GFileInputStream) in = NULL;
  g_autoptr (PulpDigest) sum = pulp_digest_new (type);
  g_autofree guchar *buf = g_malloc (READ_BUFFER_SIZE);
  guint64 size = 0;

  in = g_file_read (file, cancellable, error);
  if (in == NULL)
    return NULL;
  for (;;)
    {
      gssize n = g_input_stream_read (G_INPUT_STREAM (in), buf, READ_BUFFER_SIZE, cancellable,
                                      error);
      if (n < 0)
        return NULL;
      if (n == 0)
        break;
      pulp_digest_update (sum, buf, n);
      if (tail != NULL && size + (guint64) n > tail_from)
        {
          gsize skip = size < tail_from ? (gsize) (tail_from - size) : 0;
          pulp_digest_update (tail, buf + skip, (gsize) n - skip);
        }
      size += n;
    }
  if (size_out != NULL)
    *size_out = size;
  return g_strdup (pulp_digest_get_string (sum));
}

static gchar *
digest_file (const gchar *path,
             GChecksumType type,
             guint64 *size_out,
             GCancellable *cancellable,
             GError **error)
{
  return digest_file_and_tail (path, type, size_out, NULL, 0, cancellable, error);
}

/**
 * pulp_rpm_verify_file:
 * @path: the downloaded file
 * @display_name: how errors name the file (its location in the repository)
 * @checksum_type: the declared digest type ("sha" is SHA-1)
 * @checksum: the declared digest, hex
 * @size: the declared size, or a negative value when none is declared
 * @cancellable: (nullable): a #GCancellable
 * @error: return location for a #GError
 *
 * Checks a metadata file against its repomd.xml record before anything
 * parses it, so tampered or truncated metadata never reaches the parser.
 *
 * Returns: %TRUE if size and digest match; else %PULP_ERROR_CHECKSUM
 */
gboolean
pulp_rpm_verify_file (const gchar *path,
                      const gchar *display_name,
                      const gchar *checksum_type,
                      const gchar *checksum,
                      gint64 size,
                      GCancellable *cancellable,
                      GError **error)
{
  const gchar *type;
  guint64 actual_size = 0;
  g_autofree gchar *actual = NULL;

  g_return_val_if_fail (path != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  type = pulp_rpm_normalize_checksum_type (checksum_type);
  if (type == NULL || nonempty (checksum) == NULL)
    {
      g_set_error (error, PULP_ERROR, PULP_ERROR_INVALID_ARGUMENT,
                   _("%s: unsupported or missing checksum type “%s”"), display_name,
                   checksum_type != NULL ? checksum_type : "");
      return FALSE;
    }
  actual = digest_file (path, checksum_type_from_name (type), &actual_size, cancellable, error);
  if (actual == NULL)
    {
      g_prefix_error (error, "%s: ", display_name);
      return FALSE;
    }
  if (size >= 0 && actual_size != (guint64) size)
    {
      g_set_error (error, PULP_ERROR, PULP_ERROR_CHECKSUM,
                   _("%s: size %llu does not match the declared size %lld"), display_name,
                   (unsigned long long) actual_size, (long long) size);
      return FALSE;
    }
  if (g_ascii_strcasecmp (actual, checksum) != 0)
    {
      g_set_error (error, PULP_ERROR, PULP_ERROR_CHECKSUM,
                   _("%s: %s digest %s does not match the declared %s"), display_name, type, actual,
                   checksum);
      return FALSE;
    }
  return TRUE;
}

/**
 * pulp_rpm_is_zstd_file:
 * @path: a file
 *
 * Looks at the magic number rather than the name: the name in repomd.xml
 * is upstream's to choose.
 *
 * Returns: %TRUE if @path starts with a zstd frame
 */
gboolean
pulp_rpm_is_zstd_file (const gchar *path)
{
  static const guchar magic[4] = { 0x28, 0xb5, 0x2f, 0xfd };
  guchar head[4] = { 0 };
  FILE *f = fopen (path, "rb");
  gsize n;

  if (f == NULL)
    return FALSE;
  n = fread (head, 1, sizeof head, f);
  fclose (f);
  return n == sizeof head && memcmp (head, magic, sizeof magic) == 0;
}

static void
dstream_free (ZSTD_DStream *ds)
{
  ZSTD_freeDStream (ds);
}
G_DEFINE_AUTOPTR_CLEANUP_FUNC (ZSTD_DStream, dstream_free)

/**
 * pulp_rpm_zstd_decompress:
 * @src_path: a zstd-compressed file
 * @dest_path: where the decompressed content goes
 * @display_name: how errors name the file
 * @declared_size: the declared size of the output, or a negative value when
 *   none is declared: more is %PULP_ERROR_CHECKSUM
 * @max_size: the most this may write whatever is declared, or a negative
 *   value for no limit: more is %PULP_ERROR_INVALID_ARGUMENT
 * @cancellable: (nullable): a #GCancellable
 * @error: return location for a #GError
 *
 * Decompresses as a stream (createrepo_c 0.17 cannot read zstd), so memory
 * stays constant whatever the size of the metadata. Both sizes guard the
 * temp disk against a small file that expands without end: the output
 * stops before it grows beyond either.
 *
 * Returns: %TRUE on success; %PULP_ERROR_INVALID_ARGUMENT for data that is
 *   not complete zstd
 */
gboolean
pulp_rpm_zstd_decompress (const gchar *src_path,
                          const gchar *dest_path,
                          const gchar *display_name,
                          gint64 declared_size,
                          gint64 max_size,
                          GCancellable *cancellable,
                          GError **error)
{
  g_autoptr (GFile) src = g_file_new_for_path (src_path);
  g_autoptr (GFile) dest = g_file_new_for_path (dest_path);
  g_autoptr (GFileInputStream) in = NULL;
  g_autoptr (GFileOutputStream) out = NULL;
  g_autoptr (ZSTD_DStream) ds = ZSTD_createDStream ();
  gsize in_size = ZSTD_DStreamInSize ();
  gsize out_size = ZSTD_DStreamOutSize ();
  g_autofree guchar *in_buf = g_malloc (in_size);
  g_autofree guchar *out_buf = g_malloc (out_size);
  guint64 written = 0;
  gsize last = 1; /* what ZSTD_decompressStream last said; 0 at a frame end */
  gboolean any_input = FALSE;

  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (ds == NULL || ZSTD_isError (ZSTD_initDStream (ds)))
    {
      g_set_error (error, PULP_ERROR, PULP_ERROR_FAILED, _("%s: cannot set up zstd"), display_name);
      return FALSE;
    }
  in = g_file_read (src, cancellable, error);
  if (in == NULL)
    return FALSE;
  out = g_file_replace (dest, NULL, FALSE, G_FILE_CREATE_PRIVATE, cancellable, error);
  if (out == NULL)
    return FALSE;

  for (;;)
    {
      ZSTD_inBuffer input;
      gssize n = g_input_stream_read (G_INPUT_STREAM (in), in_buf, in_size, cancellable, error);

      if (n < 0)
        return FALSE;
      if (n == 0)
        break;
      any_input = TRUE;
      input = (ZSTD_inBuffer) { in_buf, (gsize) n, 0 };
      while (input.pos < input.size)
        {
          ZSTD_outBuffer output = { out_buf, out_size, 0 };

          last = ZSTD_decompressStream (ds, &output, &input);
          if (ZSTD_isError (last))
            {
              g_set_error (error, PULP_ERROR, PULP_ERROR_INVALID_ARGUMENT,
                           _("%s is not valid zstd data: %s"), display_name,
                           ZSTD_getErrorName (last));
              return FALSE;
            }
          written += output.pos;
          if (declared_size >= 0 && written > (guint64) declared_size
              && (max_size < 0 || declared_size <= max_size))
            {
              g_set_error (error, PULP_ERROR, PULP_ERROR_CHECKSUM,
                           _("%s decompresses to more than the declared %lld bytes"),
                           display_name, (long long) declared_size);
              return FALSE;
            }
          if (max_size >= 0 && written > (guint64) max_size)
            {
              g_set_error (error, PULP_ERROR, PULP_ERROR_INVALID_ARGUMENT,
                           _("%s decompresses to more than %lld bytes, the most pulpd accepts for "
                             "one metadata file"),
                           display_name, (long long) max_size);
              return FALSE;
            }
          if (output.pos > 0
              && !g_output_stream_write_all (G_OUTPUT_STREAM (out), out_buf, output.pos, NULL,
                                             cancellable, error))
            return FALSE;
        }
    }
  /* A stream cut inside a frame leaves the decoder waiting for more. */
  if (!any_input || last != 0)
    {
      g_set_error (error, PULP_ERROR, PULP_ERROR_INVALID_ARGUMENT,
                   _("%s is not valid zstd data: truncated"), display_name);
      return FALSE;
    }
  return g_output_stream_close (G_OUTPUT_STREAM (out), cancellable, error);
}

/**
 * pulp_rpm_prepare_metadata:
 * @path: a downloaded metadata file
 * @file: its repomd.xml record
 * @max_open_size: the most a zstd file may decompress to, whatever its
 *   record declares (%PULP_RPM_MAX_OPEN_SIZE; tests lower it)
 * @cancellable: (nullable): a #GCancellable
 * @error: return location for a #GError
 *
 * Verifies @path against @file and, for zstd, decompresses it next to
 * @path (and verifies the open size and digest when declared), so that the
 * result can be given to createrepo_c, which detects gz, bz2, xz and zchunk
 * itself.
 *
 * Returns: (transfer full): the path to parse, or %NULL
 */
gchar *
pulp_rpm_prepare_metadata (const gchar *path,
                           PulpRpmMetadataFile *file,
                           gint64 max_open_size,
                           GCancellable *cancellable,
                           GError **error)
{
  g_autofree gchar *plain = NULL;

  g_return_val_if_fail (path != NULL && file != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (!pulp_rpm_verify_file (path, file->location_href, file->checksum_type, file->checksum,
                             file->size, cancellable, error))
    return NULL;
  if (!pulp_rpm_is_zstd_file (path))
    return g_strdup (path);

  plain = g_strconcat (path, ".plain.xml", NULL);
  if (!pulp_rpm_zstd_decompress (path, plain, file->location_href, file->open_size, max_open_size,
                                 cancellable, error))
    return NULL;
  if (nonempty (file->open_checksum) != NULL)
    {
      g_autofree gchar *name = g_strdup_printf ("%s (decompressed)", file->location_href);
      if (!pulp_rpm_verify_file (plain, name, file->open_checksum_type, file->open_checksum,
                                 file->open_size, cancellable, error))
        return NULL;
    }
  return g_steal_pointer (&plain);
}

/* Why a non-empty location is not acceptable, as the untranslated format of
 * the whole message (what, location), or %NULL. Runs for every package: one
 * scan, no copies. */
static const gchar *
location_problem (const gchar *location_href)
{
  const gchar *segment = location_href;

  if (!g_utf8_validate (location_href, -1, NULL))
    return N_("%s: location “%s” is not valid UTF-8");
  if (location_href[0] == '/' || g_path_is_absolute (location_href))
    return N_("%s: location “%s” is an absolute path");
  if (g_uri_peek_scheme (location_href) != NULL)
    return N_("%s: location “%s” is a URL (use xml:base for content on other hosts)");
  for (const gchar *p = location_href;; p++)
    {
      if (*p == '/' || *p == '\0')
        {
          if (p - segment == 2 && segment[0] == '.' && segment[1] == '.')
            return N_("%s: location “%s” leaves the repository (“..”)");
          if (*p == '\0' && p[-1] == '/')
            return N_("%s: location “%s” names a folder");
          /* "a//b" and "a/./b" name the same file as "a/b": one package
           * would have several relative paths, and publication one
           * file several names. */
          if (p == segment || (p - segment == 1 && segment[0] == '.'))
            return N_("%s: location “%s” has an empty or “.” component");
          if (*p == '\0')
            return NULL;
          segment = p + 1;
        }
      else if ((guchar) *p < 0x20 || *p == 0x7f)
        return N_("%s: location “%s” contains control characters");
    }
}

/**
 * pulp_rpm_check_location:
 * @location_href: a location from the metadata
 * @location_base: (nullable): its xml:base
 * @what: what the location belongs to, for the error ("package foo-1-1.noarch")
 * @error: return location for a #GError
 *
 * A location is a path inside the repository: it becomes the unit's
 * relative path (where it is published later) and, joined to the feed, the
 * URL it is fetched from. Absolute paths, `..` components and URLs would
 * let upstream metadata reach outside the repository, so they are refused;
 * content elsewhere must be declared with xml:base.
 *
 * Returns: %TRUE if the location is acceptable; else
 *   %PULP_ERROR_INVALID_ARGUMENT naming @what
 */
gboolean
pulp_rpm_check_location (const gchar *location_href,
                         const gchar *location_base,
                         const gchar *what,
                         GError **error)
{
  const gchar *reason;

  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (nonempty (location_href) == NULL)
    {
      g_set_error (error, PULP_ERROR, PULP_ERROR_INVALID_ARGUMENT, _("%s has no location"), what);
      return FALSE;
    }
  reason = location_problem (location_href);
  if (reason != NULL)
    {
      g_autofree gchar *shown = g_utf8_make_valid (location_href, -1);
      g_set_error (error, PULP_ERROR, PULP_ERROR_INVALID_ARGUMENT, _(reason), what, shown);
      return FALSE;
    }
  return TRUE;
}

/**
 * pulp_rpm_check_feed:
 * @feed: the configured feed
 * @error: return location for a #GError
 *
 * The feed is the folder holding repodata/, and every URL of a sync is
 * built by resolving a path against it: a fragment would move them all
 * (`http://h/real#x` fetches `http://h/repodata/repomd.xml`) and a query
 * would be dropped from each, so neither can mean what the user wants.
 *
 * Returns: %TRUE if @feed has neither; else %PULP_ERROR_INVALID_ARGUMENT
 */
gboolean
pulp_rpm_check_feed (const gchar *feed, GError **error)
{
  g_autoptr (GUri) uri = NULL;
  g_autoptr (GError) local_error = NULL;

  g_return_val_if_fail (feed != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  uri = g_uri_parse (feed, G_URI_FLAGS_HAS_PASSWORD | G_URI_FLAGS_ENCODED, &local_error);
  if (uri == NULL)
    {
      g_set_error (error, PULP_ERROR, PULP_ERROR_INVALID_ARGUMENT,
                   _("The feed “%s” is not a valid URL: %s"), feed, local_error->message);
      return FALSE;
    }
  if (g_uri_get_query (uri) != NULL || g_uri_get_fragment (uri) != NULL)
    {
      g_autofree gchar *shown = pulp_url_for_display (feed);

      g_set_error (error, PULP_ERROR, PULP_ERROR_INVALID_ARGUMENT,
                   _("The feed “%s” has a query or fragment: the rpm importer needs the "
                     "repository's base URL (the folder holding repodata/) without query or "
                     "fragment"),
                   shown);
      return FALSE;
    }
  return TRUE;
}

/**
 * pulp_rpm_resolve_location:
 * @feed: the repository base URL (the folder holding repodata/)
 * @location_href: a location checked with pulp_rpm_check_location()
 * @location_base: (nullable): its xml:base
 * @error: return location for a #GError
 *
 * Locations are file paths, not URL references: they are percent-encoded
 * before being joined, so `%`, `?` and `#` in a file name stay part of the
 * name. An xml:base must be an absolute http(s) URL; a file: base is only
 * allowed when the feed itself is a file: URL, so remote metadata cannot
 * make the daemon read local files.
 *
 * Returns: (transfer full): the URL to fetch, or %NULL with
 *   %PULP_ERROR_INVALID_ARGUMENT
 */
gchar *
pulp_rpm_resolve_location (const gchar *feed,
                           const gchar *location_href,
                           const gchar *location_base,
                           GError **error)
{
  const gchar *root = feed;
  g_autofree gchar *root_dir = NULL;
  g_autofree gchar *escaped = NULL;
  g_autofree gchar *feed_scheme = NULL;
  gchar *url;

  g_return_val_if_fail (feed != NULL && location_href != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  feed_scheme = g_uri_parse_scheme (feed);
  if (nonempty (location_base) != NULL)
    {
      g_autofree gchar *scheme = g_uri_parse_scheme (location_base);
      gboolean ok = scheme != NULL
                    && (g_ascii_strcasecmp (scheme, "http") == 0
                        || g_ascii_strcasecmp (scheme, "https") == 0
                        || (g_ascii_strcasecmp (scheme, "file") == 0
                            && g_strcmp0 (feed_scheme, "file") == 0))
                    && g_uri_is_valid (location_base, G_URI_FLAGS_NONE, NULL);
      if (!ok)
        {
          g_autofree gchar *shown = g_utf8_make_valid (location_base, -1);
          g_set_error (error, PULP_ERROR, PULP_ERROR_INVALID_ARGUMENT,
                       _("“%s”: xml:base “%s” is not an absolute http or https URL"),
                       location_href, shown);
          return NULL;
        }
      root = location_base;
    }
  root_dir = g_str_has_suffix (root, "/") ? g_strdup (root) : g_strconcat (root, "/", NULL);
  escaped = g_uri_escape_string (location_href, G_URI_RESERVED_CHARS_ALLOWED_IN_PATH, TRUE);
  url = g_uri_resolve_relative (root_dir, escaped, G_URI_FLAGS_ENCODED, error);
  if (url == NULL)
    g_prefix_error (error, "“%s”: ", location_href);
  return url;
}

/* createrepo_c's callbacks: they run in the parser's thread */
typedef struct
{
  const gchar *path;
  const gchar *display_name;
  PulpRpmParseFlags flags;
  PulpRpmPipeline *pipeline; /* where packages go */
  GCancellable *cancellable;
  GError *error;
  /* The package being filled in: ours (we allocated it in newpkg_cb), and
   * createrepo_c does not free it when the document ends inside it. */
  cr_Package *current;
  guint64 packages; /* begun so far */
} ParseContext;

/* Turns the parser's packages into units, in the thread that called
 * pulp_rpm_parse_primary_for_feed() */
typedef struct
{
  const gchar *display_name;
  PulpRpmParseFlags flags;
  PulpVardictWriter *writer; /* reused for every package */
  PulpRpmUnitFunc func;
  gpointer user_data;
  /* (nullable): the feed package locations are resolved against, and the
   * last xml:base that resolved (nearly every package has the same one) */
  const gchar *feed;
  gchar *checked_base;
  gboolean unescape_attributes; /* see unescape_ampersands() */
} UnitBuilder;

/* "@display_name is malformed: @msg", saying where when a package was
 * being read: createrepo_c names a line only for XML syntax errors, and a
 * bad value in one of 50,000 packages must be findable. */
static void
set_malformed (ParseContext *ctx, const gchar *msg, GError **error)
{
  g_autofree gchar *number = g_strdup_printf ("%" G_GUINT64_FORMAT, ctx->packages);
  const gchar *name = ctx->current != NULL ? nonempty (ctx->current->name) : NULL;
  g_autofree gchar *shown = name != NULL ? g_utf8_make_valid (name, -1) : NULL;

  if (ctx->packages == 0)
    g_set_error (error, PULP_ERROR, PULP_ERROR_INVALID_ARGUMENT, _("%s is malformed: %s"),
                 ctx->display_name, msg);
  else if (ctx->current == NULL)
    g_set_error (error, PULP_ERROR, PULP_ERROR_INVALID_ARGUMENT,
                 _("%s is malformed after package %s: %s"), ctx->display_name, number, msg);
  else if (shown == NULL)
    g_set_error (error, PULP_ERROR, PULP_ERROR_INVALID_ARGUMENT,
                 _("%s is malformed in package %s: %s"), ctx->display_name, number, msg);
  else
    g_set_error (error, PULP_ERROR, PULP_ERROR_INVALID_ARGUMENT,
                 _("%s is malformed in package %s (“%s”): %s"), ctx->display_name, number, shown,
                 msg);
}

/* createrepo_c reports structural problems as warnings and goes on; a
 * document that is not the metadata it claims to be, or holds values that
 * do not parse, must stop the sync instead of silently losing packages.
 * Unknown tags are harmless (newer metadata adds some). */
static int
warning_cb (cr_XmlParserWarningType type, char *msg, void *data, GError **err)
{
  ParseContext *ctx = data;

  if (type == CR_XML_WARNING_BADMDTYPE || type == CR_XML_WARNING_BADATTRVAL)
    {
      if (ctx->error == NULL)
        set_malformed (ctx, msg, &ctx->error);
      return CR_CB_RET_ERR;
    }
  g_debug ("%s: %s", ctx->display_name, msg);
  return CR_CB_RET_OK;
}

/* Turns a createrepo_c failure into ours; our own error (from a callback)
 * wins because createrepo_c only says "interrupted". */
static gboolean
parse_failed (ParseContext *ctx, GError *cr_error, GError **error)
{
  if (ctx->error != NULL)
    {
      g_propagate_error (error, g_steal_pointer (&ctx->error));
      return FALSE;
    }
  if (cr_error == NULL)
    {
      g_set_error (error, PULP_ERROR, PULP_ERROR_FAILED, _("%s: parse failed"), ctx->display_name);
      return FALSE;
    }
  switch (cr_error->code)
    {
    case CRE_IO:
    case CRE_NOFILE:
    case CRE_MEMORY:
    case CRE_STAT:
      g_set_error (error, PULP_ERROR, PULP_ERROR_FAILED, "%s: %s", ctx->display_name,
                   cr_error->message);
      break;
    default:
      {
        /* Bad XML, bad values, broken compression: upstream published it.
         * createrepo_c names our temp file; the user knows the location. */
        g_autoptr (GString) msg = g_string_new (cr_error->message);
        if (ctx->path != NULL)
          g_string_replace (msg, ctx->path, ctx->display_name, 0);
        g_string_replace (msg, "\n", " ", 0);
        set_malformed (ctx, g_strstrip (msg->str), error);
      }
      break;
    }
  return FALSE;
}

/* ---- '&' in attribute values ----
 *
 * createrepo_c 0.17 reads metadata with libxml2 without entity
 * substitution, and libxml2 then hands over every '&' of an attribute value
 * (written "&amp;", "&#38;" or "&#x26;") as the five characters "&#38;"
 * (createrepo_c issues #286 and #308); element text is decoded. Every other
 * reference in an attribute is decoded and a bare '&' is not well-formed,
 * so there each "&#38;" stands for one '&' and nothing else produces one:
 * a literal "&#38;" in the original value was written "&amp;#38;" and
 * arrives as "&#38;#38;". Turning each "&#38;" back into '&' is the exact
 * inverse. It applies to values from XML attributes only, never to RPM
 * headers or element text, where "&#38;" is what it says. */

/* The probe's href: createrepo_c gives "&#38;" when it needs our help. */
#define AMPERSAND_PROBE                                                                            \
  "<package type=\"rpm\"><name>p</name><arch>noarch</arch>"                                        \
  "<version epoch=\"0\" ver=\"1\" rel=\"1\"/><checksum type=\"sha256\" pkgid=\"YES\">0</checksum>" \
  "<location href=\"&amp;\"/></package>"

static int
ampersand_probe_cb (cr_Package *pkg, void *data, GError **err)
{
  gboolean *escaped = data;

  *escaped = g_strcmp0 (pkg->location_href, "&#38;") == 0;
  cr_package_free (pkg);
  return CR_CB_RET_OK;
}

/* Whether attribute values need unescape_ampersands(): later createrepo_c
 * releases decode them themselves, and decoding twice would turn a literal
 * "&#38;" into '&'. Asked once, of the library in use. */
static gboolean
attributes_keep_ampersand_references (void)
{
  static gsize answer = 0; /* 1: no, 2: yes */

  if (g_once_init_enter (&answer))
    {
      g_autoptr (GError) local_error = NULL;
      gboolean escaped = TRUE; /* what 0.17 does, should the probe fail */

      if (cr_xml_parse_primary_snippet (AMPERSAND_PROBE, NULL, NULL, ampersand_probe_cb, &escaped,
                                        NULL, NULL, FALSE, &local_error)
          != CRE_OK)
        g_debug ("createrepo_c '&' probe failed: %s",
                 local_error != NULL ? local_error->message : "?");
      g_once_init_leave (&answer, escaped ? 2 : 1);
    }
  return answer == 2;
}

/* Turns each "&#38;" of @s back into '&', in place (never longer). */
static void
unescape_ampersands (gchar *s)
{
  gchar *r;
  gchar *w;

  if (s == NULL || (r = strchr (s, '&')) == NULL)
    return;
  for (w = r; *r != '\0';)
    {
      if (strncmp (r, "&#38;", 5) == 0)
        {
          *w++ = '&';
          r += 5;
        }
      else
        *w++ = *r++;
    }
  *w = '\0';
}

static void
unescape_dependencies (GSList *deps)
{
  for (GSList *l = deps; l != NULL; l = l->next)
    {
      cr_Dependency *d = l->data;
      unescape_ampersands (d->name);
      unescape_ampersands (d->flags);
      unescape_ampersands (d->epoch);
      unescape_ampersands (d->version);
      unescape_ampersands (d->release);
    }
}

/* Every string createrepo_c's primary parser takes from an attribute (the
 * numbers fail to parse with an '&' anyway; a file's type is one of its
 * own constants). Its strings live in the package's string chunk, so they
 * may be rewritten in place. @with_dependencies: %FALSE when they are not
 * used. */
static void
unescape_package_attributes (cr_Package *pkg, gboolean with_dependencies)
{
  unescape_ampersands (pkg->epoch);
  unescape_ampersands (pkg->version);
  unescape_ampersands (pkg->release);
  unescape_ampersands (pkg->checksum_type);
  unescape_ampersands (pkg->location_href);
  unescape_ampersands (pkg->location_base);
  if (!with_dependencies)
    return;
  unescape_dependencies (pkg->provides);
  unescape_dependencies (pkg->requires);
  unescape_dependencies (pkg->conflicts);
  unescape_dependencies (pkg->obsoletes);
  unescape_dependencies (pkg->suggests);
  unescape_dependencies (pkg->enhances);
  unescape_dependencies (pkg->recommends);
  unescape_dependencies (pkg->supplements);
}

static PulpRpmMetadataFile *
metadata_file_from_record (cr_RepomdRecord *rec)
{
  PulpRpmMetadataFile *file = g_new0 (PulpRpmMetadataFile, 1);

  file->type = g_strdup (rec->type);
  file->location_href = g_strdup (rec->location_href);
  file->location_base = g_strdup (nonempty (rec->location_base));
  file->checksum_type = g_strdup (rec->checksum_type);
  file->checksum = g_strdup (rec->checksum);
  file->size = rec->size > 0 ? rec->size : -1;
  file->open_checksum_type = g_strdup (nonempty (rec->checksum_open_type));
  file->open_checksum = g_strdup (nonempty (rec->checksum_open));
  file->open_size = rec->size_open > 0 ? rec->size_open : -1;
  /* repomd.xml is read by the same parser as primary: its attributes too */
  if (attributes_keep_ampersand_references ())
    {
      unescape_ampersands (file->location_href);
      unescape_ampersands (file->location_base);
      unescape_ampersands (file->checksum_type);
      unescape_ampersands (file->open_checksum_type);
    }
  return file;
}

/**
 * pulp_rpm_repomd_parse:
 * @path: a downloaded repomd.xml
 * @display_name: how errors name it (its URL)
 * @error: return location for a #GError
 *
 * Reads the primary record of repomd.xml and the SHA-256 of the file as a
 * whole (reported in the sync summary; a later "unchanged metadata"
 * shortcut compares it).
 *
 * Returns: (transfer full): the parsed record, or %NULL with
 *   %PULP_ERROR_INVALID_ARGUMENT for an empty or malformed file, one without
 *   primary metadata, or a primary location that leaves the repository
 */
PulpRpmRepomd *
pulp_rpm_repomd_parse (const gchar *path, const gchar *display_name, GError **error)
{
  ParseContext ctx = { .path = path, .display_name = display_name };
  g_autoptr (GError) cr_error = NULL;
  g_autoptr (PulpRpmRepomd) result = g_new0 (PulpRpmRepomd, 1);
  cr_Repomd *repomd;
  cr_RepomdRecord *rec;
  guint64 size = 0;
  gboolean ok;

  g_return_val_if_fail (path != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  result->sha256 = digest_file (path, G_CHECKSUM_SHA256, &size, NULL, error);
  if (result->sha256 == NULL)
    return NULL;
  /* libxml2 calls an empty document "Extra content at the end of the
   * document", which sends the user looking for content */
  if (size == 0)
    {
      g_set_error (error, PULP_ERROR, PULP_ERROR_INVALID_ARGUMENT, _("%s is empty"), display_name);
      return NULL;
    }

  repomd = cr_repomd_new ();
  ok = cr_xml_parse_repomd (path, repomd, warning_cb, &ctx, &cr_error) == CRE_OK
       && ctx.error == NULL;
  if (!ok)
    {
      cr_repomd_free (repomd);
      parse_failed (&ctx, cr_error, error);
      return NULL;
    }
  rec = cr_repomd_get_record (repomd, "primary");
  if (rec == NULL || nonempty (rec->location_href) == NULL || nonempty (rec->checksum) == NULL)
    {
      cr_repomd_free (repomd);
      g_set_error (error, PULP_ERROR, PULP_ERROR_INVALID_ARGUMENT,
                   _("%s has no complete primary metadata record"), display_name);
      return NULL;
    }
  /* createrepo_c gives a size left out as 0, an open-size as -1 */
  if (rec->size < 0 || rec->size_open < -1)
    {
      g_autofree gchar *href = g_utf8_make_valid (rec->location_href, -1);
      cr_repomd_free (repomd);
      g_set_error (error, PULP_ERROR, PULP_ERROR_INVALID_ARGUMENT,
                   _("%s declares a negative size for %s"), display_name, href);
      return NULL;
    }
  result->primary = metadata_file_from_record (rec);
  if (repomd->revision != NULL)
    result->revision = g_utf8_make_valid (repomd->revision, -1);
  cr_repomd_free (repomd);

  if (!pulp_rpm_check_location (result->primary->location_href, result->primary->location_base,
                                /* TRANSLATORS: names what a location belongs to in
                                 * messages such as "%s has no location" */
                                _("primary metadata"), error))
    return NULL;
  if (pulp_rpm_normalize_checksum_type (result->primary->checksum_type) == NULL)
    {
      g_set_error (error, PULP_ERROR, PULP_ERROR_INVALID_ARGUMENT,
                   _("%s: unsupported checksum type “%s” for %s"), display_name,
                   result->primary->checksum_type != NULL ? result->primary->checksum_type : "",
                   result->primary->location_href);
      return NULL;
    }
  return g_steal_pointer (&result);
}

/* ---- Unit keys and metadata, written in GVariant's serialized form ----
 *
 * The metadata of an `rpm` unit (what ListUnits shows) is an a{sv}:
 *
 *   summary, description, url, license, sourcerpm, packager, vendor,
 *   group, buildhost                                       s
 *   location-href                                          s
 *   location-base    s   only when primary gives an xml:base
 *   size-package, size-installed, size-archive, time-build, time-file,
 *   header-start, header-end                               t
 *   provides, requires, conflicts, obsoletes               as (always)
 *   recommends, suggests, supplements, enhances            as (only when
 *                                                          not empty)
 *   files                                                  as (the files
 *                                  primary lists: /etc, bin/, sendmail)
 *
 * Each dependency is one string: the fields name, flags, epoch, version,
 * release and pre joined by U+001F (the ASCII unit separator), with empty
 * trailing fields left out; pre is "1" for a pre-install requirement, else
 * empty. So `libc.so.6()(64bit)` is a bare name,
 * `foo<US>GE<US>0<US>1.0` is "foo >= 0:1.0" and `/bin/sh<US><US><US><US><US>1` a
 * Requires(pre). Each file is its path, followed by U+001F and "dir" or
 * "ghost" for those types. U+001F cannot occur in XML 1.0 documents, so
 * splitting on it gives back exactly what primary.xml said; from an RPM
 * header (an upload), a U+001F in those fields is stored as "?".
 *
 * Together with the unit key (name, epoch, version, release, arch,
 * checksum-type, checksum) this is everything primary.xml says about a
 * package, so a publication can write primary.xml again.
 *
 * 50,000 packages make about a million such strings. Built as GVariant
 * trees (an allocation, a lock and a reference count per value, format
 * strings parsed per call) they cost several times the XML parse, and the
 * tree is serialized anyway when the unit is stored. So they are written
 * directly in the serialized form (GLib's "GVariant Serialization"
 * specification) for the only types used here, s, t and as, into one
 * reused buffer. The result is in normal form — the tests check that with
 * g_variant_is_normal_form() — and is handed to GLib as trusted data. */

#define DEP_SEPARATOR '\x1f'

/* @s as valid UTF-8: @s itself, or a conversion stored in @converted.
 * Package headers may carry ISO-8859 text (rpm never enforced an
 * encoding): bytes that are not UTF-8 are converted with createrepo_c's own
 * ISO-8859-1 conversion, the one it applies when it writes primary.xml,
 * so an uploaded package gets exactly the strings of the same package
 * synced. */
static const gchar *
as_utf8 (const gchar *s, gchar **converted)
{
  gsize len = strlen (s);

  if (g_utf8_validate (s, len, NULL))
    return s;
  *converted = g_malloc0 (len * 2 + 1);
  cr_latin1_to_utf8 ((const unsigned char *) s, (unsigned char *) *converted);
  if (!g_utf8_validate (*converted, -1, NULL))
    {
      g_free (*converted);
      *converted = g_utf8_make_valid (s, len);
    }
  return *converted;
}

/* Appends @s as it is if all of it is ASCII from @lowest up (most of
 * primary.xml is): such text is UTF-8 already. Returns whether it did. */
static gboolean
append_if_ascii (PulpVardictWriter *w, const gchar *s, guchar lowest)
{
  const guchar *p = (const guchar *) s;

  while (*p >= lowest && *p < 0x80)
    p++;
  if (*p != '\0')
    return FALSE;
  pulp_vardict_writer_append (w, s, (const gchar *) p - s);
  return TRUE;
}

/* Appends @s (if any) as valid UTF-8, without its nul. */
static void
append_utf8 (PulpVardictWriter *w, const gchar *s)
{
  g_autofree gchar *converted = NULL;
  const gchar *utf8;

  if (s == NULL || append_if_ascii (w, s, 1))
    return;
  utf8 = as_utf8 (s, &converted);
  pulp_vardict_writer_append (w, utf8, strlen (utf8));
}

/* A field of a dependency or file record: the separator never appears in
 * one. */
static gboolean
append_field (PulpVardictWriter *w, const gchar *s)
{
  gsize start = pulp_vardict_writer_get_length (w);
  guint8 *p;
  guint8 *end;

  if (s == NULL)
    return FALSE;
  /* printable ASCII (nearly always) cannot hold the separator, a control
   * character */
  if (append_if_ascii (w, s, 0x20))
    return pulp_vardict_writer_get_length (w) > start;
  append_utf8 (w, s);
  p = pulp_vardict_writer_peek (w, start);
  end = pulp_vardict_writer_peek (w, pulp_vardict_writer_get_length (w));
  while ((p = memchr (p, DEP_SEPARATOR, end - p)) != NULL)
    *p++ = '?';
  return pulp_vardict_writer_get_length (w) > start;
}

/* A string entry, NULL as "". */
static void
add_string (PulpVardictWriter *w, const gchar *key, const gchar *value)
{
  pulp_vardict_writer_begin_value (w, key);
  append_utf8 (w, value);
  pulp_vardict_writer_append_byte (w, 0);
  pulp_vardict_writer_end_value (w, "s");
}

/* A number entry, negative as 0. */
static void
add_u64 (PulpVardictWriter *w, const gchar *key, gint64 value)
{
  pulp_vardict_writer_add_uint64 (w, key, value > 0 ? (guint64) value : 0);
}

static void
add_dependencies (PulpVardictWriter *w, const gchar *key, GSList *deps, gboolean always)
{
  if (deps == NULL && !always)
    return;
  pulp_vardict_writer_begin_strv (w, key);
  for (GSList *l = deps; l != NULL; l = l->next)
    {
      cr_Dependency *d = l->data;
      const gchar *rest[] = { d->flags, d->epoch, d->version, d->release, d->pre ? "1" : NULL };
      gsize keep;

      append_field (w, d->name);
      keep = pulp_vardict_writer_get_length (w);
      for (guint i = 0; i < G_N_ELEMENTS (rest); i++)
        {
          pulp_vardict_writer_append_byte (w, DEP_SEPARATOR);
          if (append_field (w, rest[i]))
            keep = pulp_vardict_writer_get_length (w);
        }
      pulp_vardict_writer_truncate (w, keep);
      pulp_vardict_writer_end_strv_item (w);
    }
  pulp_vardict_writer_end_strv (w);
}

/* @only_primary: keep the files createrepo_c lists in primary.xml (an RPM
 * header lists them all). */
static void
add_files (PulpVardictWriter *w, GSList *files, gboolean only_primary)
{
  pulp_vardict_writer_begin_strv (w, "files");
  for (GSList *l = files; l != NULL; l = l->next)
    {
      cr_PackageFile *f = l->data;
      gsize start = pulp_vardict_writer_get_length (w);

      append_field (w, f->path);
      append_field (w, f->name);
      pulp_vardict_writer_append_byte (w, 0);
      if (only_primary && !cr_is_primary ((const gchar *) pulp_vardict_writer_peek (w, start)))
        {
          pulp_vardict_writer_truncate (w, start);
          continue;
        }
      pulp_vardict_writer_truncate (w, pulp_vardict_writer_get_length (w) - 1);
      if (nonempty (f->type) != NULL)
        {
          pulp_vardict_writer_append_byte (w, DEP_SEPARATOR);
          append_field (w, f->type);
        }
      pulp_vardict_writer_end_strv_item (w);
    }
  pulp_vardict_writer_end_strv (w);
}

/* How errors name a package; only built when there is an error. */
static gchar *
package_what (cr_Package *pkg, const gchar *display_name)
{
  const gchar *epoch = nonempty (pkg->epoch) != NULL ? pkg->epoch : "0";
  g_autofree gchar *nevra = g_strdup_printf ("%s-%s:%s-%s.%s", pkg->name ? pkg->name : "?", epoch,
                                             pkg->version ? pkg->version : "?",
                                             pkg->release ? pkg->release : "?",
                                             pkg->arch ? pkg->arch : "?");
  g_autofree gchar *valid = g_utf8_make_valid (nevra, -1);

  /* TRANSLATORS: how messages name a package: the metadata file, then the
   * package's name-epoch:version-release.arch */
  return g_strdup_printf (_("%s: package %s"), display_name, valid);
}

static gboolean
is_hex (const gchar *s)
{
  for (; *s != '\0'; s++)
    if (!g_ascii_isxdigit (*s))
      return FALSE;
  return TRUE;
}

/* The number of hex digits of a digest of @type (a normalized name). */
static gsize
checksum_hex_length (const gchar *type)
{
  return g_checksum_type_get_length (checksum_type_from_name (type)) * 2;
}

/* An RPM epoch is an unsigned 32-bit number, written in decimal. */
static gboolean
is_epoch (const gchar *s)
{
  guint64 value = 0;

  return g_ascii_isdigit (*s) && g_ascii_string_to_unsigned (s, 10, 0, G_MAXUINT32, &value, NULL);
}

/* The one place that turns a cr_Package (from primary.xml or from an RPM
 * header) into a unit, so both paths give the same key and metadata. The
 * digest and location are passed separately because a header has neither.
 * @with_metadata: %FALSE for a unit that only needs its id, location and
 * size (the scan before downloads). */
static PulpUnit *
unit_from_package (PulpVardictWriter *w,
                   cr_Package *pkg,
                   const gchar *display_name,
                   const gchar *checksum_type,
                   const gchar *checksum,
                   const gchar *location_href,
                   const gchar *location_base,
                   gboolean with_metadata,
                   gboolean only_primary_files,
                   GError **error)
{
  gchar checksum_lower[129];
  const gchar *type;
  const gchar *epoch = nonempty (pkg->epoch) != NULL ? pkg->epoch : "0";
  gsize checksum_len;
  PulpUnit *unit;

  if (nonempty (pkg->name) == NULL || nonempty (pkg->version) == NULL
      || nonempty (pkg->release) == NULL || nonempty (pkg->arch) == NULL)
    {
      g_autofree gchar *what = package_what (pkg, display_name);
      g_set_error (error, PULP_ERROR, PULP_ERROR_INVALID_ARGUMENT,
                   _("%s lacks a name, version, release or architecture"), what);
      return NULL;
    }
  if (!is_epoch (epoch))
    {
      g_autofree gchar *what = package_what (pkg, display_name);
      g_autofree gchar *shown = g_utf8_make_valid (epoch, -1);
      g_set_error (error, PULP_ERROR, PULP_ERROR_INVALID_ARGUMENT,
                   _("%s has an epoch “%s” that is not a decimal number"), what, shown);
      return NULL;
    }
  type = pulp_rpm_normalize_checksum_type (checksum_type);
  checksum_len = checksum != NULL ? strlen (checksum) : 0;
  if (type == NULL || checksum_len == 0)
    {
      g_autofree gchar *what = package_what (pkg, display_name);
      g_set_error (error, PULP_ERROR, PULP_ERROR_INVALID_ARGUMENT,
                   _("%s has no usable checksum (type “%s”)"), what,
                   checksum_type != NULL ? checksum_type : "");
      return NULL;
    }
  /* A digest of the wrong length can match no file: on_demand it would be
   * stored, shown and later fail every download. */
  if (checksum_len != checksum_hex_length (type) || !is_hex (checksum))
    {
      g_autofree gchar *what = package_what (pkg, display_name);
      /* no longer than the longest digest: upstream chose the value */
      g_autofree gchar *shown = g_utf8_make_valid (checksum, MIN (checksum_len, 128));
      g_set_error (error, PULP_ERROR, PULP_ERROR_INVALID_ARGUMENT,
                   _("%s has checksum “%s%s”, not %u hexadecimal digits as %s requires"), what,
                   shown, checksum_len > 128 ? "…" : "", (guint) checksum_hex_length (type), type);
      return NULL;
    }
  g_assert (checksum_len < sizeof checksum_lower);
  if (nonempty (location_href) == NULL || location_problem (location_href) != NULL)
    {
      g_autofree gchar *what = package_what (pkg, display_name);
      pulp_rpm_check_location (location_href, location_base, what, error);
      return NULL;
    }
  for (gsize i = 0; i <= checksum_len; i++)
    checksum_lower[i] = g_ascii_tolower (checksum[i]);

  /* keys in sorted order: the key's canonical form needs no reordering */
  add_string (w, "arch", pkg->arch);
  add_string (w, "checksum", checksum_lower);
  add_string (w, "checksum-type", type);
  add_string (w, "epoch", epoch);
  add_string (w, "name", pkg->name);
  add_string (w, "release", pkg->release);
  add_string (w, "version", pkg->version);
  unit = pulp_unit_new (PULP_RPM_UNIT_TYPE, pulp_vardict_writer_end (w));

  if (with_metadata)
    {
      add_string (w, "summary", pkg->summary);
      add_string (w, "description", pkg->description);
      add_string (w, "url", pkg->url);
      add_string (w, "license", pkg->rpm_license);
      add_string (w, "sourcerpm", pkg->rpm_sourcerpm);
      add_string (w, "packager", pkg->rpm_packager);
      add_string (w, "vendor", pkg->rpm_vendor);
      add_string (w, "group", pkg->rpm_group);
      add_string (w, "buildhost", pkg->rpm_buildhost);
      add_string (w, "location-href", location_href);
      if (nonempty (location_base) != NULL)
        add_string (w, "location-base", location_base);
      add_u64 (w, "size-package", pkg->size_package);
      add_u64 (w, "size-installed", pkg->size_installed);
      add_u64 (w, "size-archive", pkg->size_archive);
      add_u64 (w, "time-build", pkg->time_build);
      add_u64 (w, "time-file", pkg->time_file);
      add_u64 (w, "header-start", pkg->rpm_header_start);
      add_u64 (w, "header-end", pkg->rpm_header_end);
      add_dependencies (w, "provides", pkg->provides, TRUE);
      add_dependencies (w, "requires", pkg->requires, TRUE);
      add_dependencies (w, "conflicts", pkg->conflicts, TRUE);
      add_dependencies (w, "obsoletes", pkg->obsoletes, TRUE);
      add_dependencies (w, "recommends", pkg->recommends, FALSE);
      add_dependencies (w, "suggests", pkg->suggests, FALSE);
      add_dependencies (w, "supplements", pkg->supplements, FALSE);
      add_dependencies (w, "enhances", pkg->enhances, FALSE);
      add_files (w, pkg->files, only_primary_files);
      pulp_unit_set_metadata (unit, pulp_vardict_writer_end (w));
    }
  pulp_unit_set_relative_path (unit, location_href);
  if (pkg->size_package > 0)
    pulp_unit_set_size (unit, pkg->size_package);
  /* The store names content by SHA-256: when upstream declares exactly
   * that, the unit knows its content before any download (on_demand). */
  if (g_str_equal (type, "sha256"))
    pulp_unit_set_sha256 (unit, checksum_lower);
  return unit;
}

static int
newpkg_cb (cr_Package **pkg,
           const char *pkg_id,
           const char *name,
           const char *arch,
           void *data,
           GError **err)
{
  ParseContext *ctx = data;

  g_clear_pointer (&ctx->current, cr_package_free);
  ctx->current = cr_package_new ();
  ctx->packages++;
  *pkg = ctx->current;
  return CR_CB_RET_OK;
}

/* Called once per <package>: the package goes to the thread that turns it
 * into a unit, which frees it, so memory does not grow with the size of
 * the metadata. */
static int
pkg_cb (cr_Package *pkg, void *data, GError **err)
{
  ParseContext *ctx = data;

  ctx->current = NULL;
  if (g_cancellable_set_error_if_cancelled (ctx->cancellable, &ctx->error))
    {
      cr_package_free (pkg);
      return CR_CB_RET_ERR;
    }
  return pulp_rpm_pipeline_push (ctx->pipeline, pkg, &ctx->error) ? CR_CB_RET_OK : CR_CB_RET_ERR;
}

static gboolean
build_unit (gpointer item, gpointer data, GError **error)
{
  cr_Package *pkg = item;
  UnitBuilder *b = data;
  g_autoptr (PulpUnit) unit = NULL;

  if (b->unescape_attributes)
    unescape_package_attributes (pkg, (b->flags & PULP_RPM_PARSE_KEYS_ONLY) == 0);
  unit = unit_from_package (b->writer, pkg, b->display_name, pkg->checksum_type, pkg->pkgId,
                            pkg->location_href, pkg->location_base,
                            (b->flags & PULP_RPM_PARSE_KEYS_ONLY) == 0, FALSE, error);
  if (unit == NULL)
    return FALSE;
  if (b->feed != NULL && nonempty (pkg->location_base) != NULL
      && g_strcmp0 (pkg->location_base, b->checked_base) != 0)
    {
      g_autofree gchar *url = pulp_rpm_resolve_location (b->feed, pkg->location_href,
                                                         pkg->location_base, error);
      if (url == NULL)
        {
          g_prefix_error (error, _("%s: package %s: "), b->display_name,
                          pulp_unit_get_relative_path (unit));
          return FALSE;
        }
      g_free (b->checked_base);
      b->checked_base = g_strdup (pkg->location_base);
    }
  return b->func (unit, b->user_data, error);
}

/**
 * pulp_rpm_primary_peek_count:
 * @path: a (possibly compressed, not zstd) primary.xml
 *
 * Reads the `packages` attribute of the root element from the first bytes
 * of the file, for progress reporting.
 *
 * Returns: the declared package count, or 0 when unknown
 */
guint64
pulp_rpm_primary_peek_count (const gchar *path)
{
  g_autoptr (GError) local_error = NULL;
  g_autofree gchar *buf = g_malloc0 (8193);
  const gchar *root;
  const gchar *attr;
  const gchar *end;
  CR_FILE *f;
  int n;

  f = cr_open (path, CR_CW_MODE_READ, CR_CW_AUTO_DETECT_COMPRESSION, &local_error);
  if (f == NULL)
    return 0;
  n = cr_read (f, buf, 8192, &local_error);
  cr_close (f, NULL);
  if (n <= 0)
    return 0;
  buf[n] = '\0';
  root = strstr (buf, "<metadata");
  if (root == NULL)
    return 0;
  end = strchr (root, '>');
  attr = strstr (root, " packages=\"");
  if (attr == NULL || end == NULL || attr > end)
    return 0;
  return g_ascii_strtoull (attr + strlen (" packages=\""), NULL, 10);
}

/* createrepo_c (libxml2 underneath) takes about as long to parse a
 * package as building its unit and storing it do together, so the parser
 * has a thread of its own and the rest runs in the calling thread: two
 * threads for two cores. (With units built in a third thread, the three
 * took turns on the CPUs and the parser, which sets the pace, lost a
 * tenth of its time: a metadata-only sync of 50,000 packages took a
 * fifth longer.) The parser runs far enough ahead to go on while the
 * caller stores a batch: an rpm sync writes one every 4 MiB of metadata,
 * about 2,400 packages. */
#define PARSE_CHUNK 100
#define PARSE_CHUNKS 32

static gboolean
parse_packages (PulpRpmPipeline *pipeline, gpointer data, GError **error)
{
  ParseContext *ctx = data;
  g_autoptr (GError) cr_error = NULL;
  gboolean ok;
  int rc;

  ctx->pipeline = pipeline;
  rc = cr_xml_parse_primary (ctx->path, newpkg_cb, ctx, pkg_cb, ctx, warning_cb, ctx,
                             (ctx->flags & PULP_RPM_PARSE_KEYS_ONLY) == 0, &cr_error);
  ok = rc == CRE_OK && ctx->error == NULL;
  if (!ok) /* (names the package being read, if any) */
    parse_failed (ctx, cr_error, error);
  g_clear_pointer (&ctx->current, cr_package_free);
  return ok;
}

/**
 * pulp_rpm_parse_primary:
 * @path: a verified primary.xml (plain, gz, bz2, xz or zchunk)
 * @display_name: how errors name the file (its location)
 * @func: called with one unit per package, in document order
 * @user_data: for @func
 * @cancellable: (nullable): checked before each package
 * @error: return location for a #GError
 *
 * Streams through primary.xml with createrepo_c's SAX parser, in a thread
 * of its own: at most a few hundred packages are held at a time, and @func
 * runs in the calling thread. createrepo_c's SAX handlers declare no entity
 * handling, so external entities are never fetched.
 *
 * Returns: %TRUE if every package was handed to @func;
 *   %PULP_ERROR_INVALID_ARGUMENT naming @display_name for malformed XML or
 *   a package with a bad location; or the error @func set
 */
gboolean
pulp_rpm_parse_primary (const gchar *path,
                        const gchar *display_name,
                        PulpRpmUnitFunc func,
                        gpointer user_data,
                        GCancellable *cancellable,
                        GError **error)
{
  return pulp_rpm_parse_primary_for_feed (path, display_name, NULL, PULP_RPM_PARSE_DEFAULT, func,
                                          user_data, cancellable, error);
}

/**
 * pulp_rpm_parse_primary_for_feed:
 * @feed: (nullable): the repository base URL
 * @flags: %PULP_RPM_PARSE_KEYS_ONLY for units without metadata
 *
 * pulp_rpm_parse_primary(), and every package location must also resolve
 * against @feed (its xml:base is checked with pulp_rpm_resolve_location()),
 * so a sync stops at a bad one before anything is stored, without looking
 * the base up again in each unit's metadata.
 *
 * With %PULP_RPM_PARSE_KEYS_ONLY the units carry their key, relative path,
 * size and digest but no metadata, and the file lists are not read: about
 * half the cost, for a scan that only decides what to download.
 *
 * Returns: %TRUE if every package was handed to @func
 */
gboolean
pulp_rpm_parse_primary_for_feed (const gchar *path,
                                 const gchar *display_name,
                                 const gchar *feed,
                                 PulpRpmParseFlags flags,
                                 PulpRpmUnitFunc func,
                                 gpointer user_data,
                                 GCancellable *cancellable,
                                 GError **error)
{
  g_autoptr (PulpVardictWriter) writer = pulp_vardict_writer_new ();
  ParseContext ctx = {
    .path = path,
    .display_name = display_name,
    .flags = flags,
    .cancellable = cancellable,
  };
  UnitBuilder builder = {
    .display_name = display_name,
    .flags = flags,
    .writer = writer,
    .func = func,
    .user_data = user_data,
    .feed = feed,
    .unescape_attributes = attributes_keep_ampersand_references (),
  };
  gboolean ok;

  g_return_val_if_fail (path != NULL && func != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  ok = pulp_rpm_pipeline_run ("pulp-rpm-xml", PARSE_CHUNK, PARSE_CHUNKS,
                              (GDestroyNotify) cr_package_free, parse_packages, &ctx, build_unit,
                              &builder, error);
  g_free (builder.checked_base);
  return ok;
}

/* createrepo_c reads a package's header and nothing more, so a package cut
 * short after its header, or damaged in its payload, would be stored as
 * sound. The header knows better, as rpm does before it installs: @total
 * is the size of header and payload together (a signature tag, which
 * librpm merges into the header; 0 when absent) and, since rpm 4.14,
 * @payload_hex the digest of the payload, which starts where the header
 * ends; @payload is a digest of that kind to feed the payload to (both
 * %NULL without one). Signatures are not checked: there is no keyring to
 * check them against. */
static gboolean
read_payload_facts (const gchar *path,
                    guint64 *total,
                    PulpDigest **payload,
                    gchar **payload_hex,
                    GError **error)
{
  rpmts ts = rpmtsCreate ();
  Header h = NULL;
  FD_t fd;
  rpmRC rc;
  gboolean ok = FALSE;
  struct rpmtd_s td;

  *payload = NULL;
  *payload_hex = NULL;
  rpmtsSetVSFlags (ts, RPMVSF_MASK_NOSIGNATURES);
  fd = Fopen (path, "r.ufdio");
  if (fd == NULL || Ferror (fd))
    {
      g_set_error (error, PULP_ERROR, PULP_ERROR_FAILED, _("Cannot read %s: %s"), path,
                   fd != NULL ? Fstrerror (fd) : g_strerror (errno));
      goto out;
    }
  rc = rpmReadPackageFile (ts, fd, path, &h);
  if ((rc != RPMRC_OK && rc != RPMRC_NOKEY && rc != RPMRC_NOTTRUSTED) || h == NULL)
    {
      g_set_error_literal (error, PULP_ERROR, PULP_ERROR_INVALID_ARGUMENT,
                           _("its header does not match its digests"));
      goto out;
    }
  *total = headerGetNumber (h, RPMTAG_LONGSIGSIZE);
  if (*total == 0)
    *total = headerGetNumber (h, RPMTAG_SIGSIZE);
  if (headerGet (h, RPMTAG_PAYLOADDIGEST, &td, HEADERGET_MINMEM))
    {
      *payload_hex = g_strdup (rpmtdGetString (&td));
      rpmtdFreeData (&td);
    }
  if (*payload_hex != NULL)
    {
      /* rpm's default, and what it assumes without the tag */
      gint algo = (gint) headerGetNumber (h, RPMTAG_PAYLOADDIGESTALGO);
      switch (algo != 0 ? algo : PGPHASHALGO_SHA256)
        {
        case PGPHASHALGO_MD5: *payload = pulp_digest_new (G_CHECKSUM_MD5); break;
        case PGPHASHALGO_SHA1: *payload = pulp_digest_new (G_CHECKSUM_SHA1); break;
        case PGPHASHALGO_SHA256: *payload = pulp_digest_new (G_CHECKSUM_SHA256); break;
        case PGPHASHALGO_SHA384: *payload = pulp_digest_new (G_CHECKSUM_SHA384); break;
        case PGPHASHALGO_SHA512: *payload = pulp_digest_new (G_CHECKSUM_SHA512); break;
        default:
          g_set_error (error, PULP_ERROR, PULP_ERROR_INVALID_ARGUMENT,
                       _("its header names an unknown digest algorithm (%d)"), algo);
          g_clear_pointer (payload_hex, g_free);
          goto out;
        }
    }
  ok = TRUE;
out:
  headerFree (h);
  if (fd != NULL)
    Fclose (fd);
  rpmtsFree (ts);
  return ok;
}

/* Whether @path begins with the magic bytes of an RPM package's lead. */
static gboolean
has_rpm_lead (const gchar *path)
{
  static const guchar magic[] = { 0xed, 0xab, 0xee, 0xdb };
  guchar start[sizeof magic] = { 0 };
  gssize n = -1;
  int fd = open (path, O_RDONLY | O_CLOEXEC);

  if (fd >= 0)
    {
      n = read (fd, start, sizeof start);
      close (fd);
    }
  return n == (gssize) sizeof magic && memcmp (start, magic, sizeof magic) == 0;
}

/**
 * pulp_rpm_unit_from_rpm_file:
 * @path: a file that should be an RPM package
 * @error: return location for a #GError
 *
 * Builds the unit of an uploaded package from its header. The digest in
 * the key is the file's SHA-256, as createrepo_c writes by default, so a
 * package uploaded and the same package synced from a sha256 repository are
 * one unit. The relative path follows the Fedora layout,
 * `Packages/<first letter of the name, lowercased>/<name>-<version>-<release>.<arch>.rpm`,
 * from the header rather than the uploaded file's name (which the store
 * does not keep).
 *
 * Returns: (transfer full): the unit, or %NULL with
 *   %PULP_ERROR_INVALID_ARGUMENT "not a valid RPM package: …"
 */
PulpUnit *
pulp_rpm_unit_from_rpm_file (const gchar *path, GError **error)
{
  g_autoptr (GError) cr_error = NULL;
  g_autofree gchar *sha256 = NULL;
  g_autofree gchar *href = NULL;
  g_autofree gchar *first = NULL;
  g_autofree gchar *display = NULL;
  g_autofree gchar *payload_hex = NULL;
  g_autoptr (PulpDigest) payload = NULL;
  g_autoptr (GError) local_error = NULL;
  guint64 size = 0;
  guint64 total = 0;
  struct stat st;
  g_autoptr (PulpVardictWriter) writer = NULL;
  struct cr_HeaderRangeStruct range;
  cr_Package *pkg;
  PulpUnit *unit;

  g_return_val_if_fail (path != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  pkg = cr_package_from_rpm_base (path, 0, CR_HDRR_NONE, &cr_error);
  if (pkg == NULL)
    {
      /* createrepo_c says "rpmReadPackageFile() error" either way: say
       * which it is, a file that is no package or a package whose header
       * is damaged */
      if (!has_rpm_lead (path))
        g_set_error_literal (error, PULP_ERROR, PULP_ERROR_INVALID_ARGUMENT,
                             _("not a valid RPM package: the file does not begin as an RPM "
                               "package does"));
      else
        g_set_error (error, PULP_ERROR, PULP_ERROR_INVALID_ARGUMENT,
                     _("not a valid RPM package: its header is damaged or cut short (%s)"),
                     cr_error != NULL ? cr_error->message : "");
      return NULL;
    }
  if (nonempty (pkg->name) == NULL || nonempty (pkg->version) == NULL
      || nonempty (pkg->release) == NULL || nonempty (pkg->arch) == NULL
      || strchr (pkg->name, '/') != NULL || strchr (pkg->version, '/') != NULL
      || strchr (pkg->release, '/') != NULL || strchr (pkg->arch, '/') != NULL)
    {
      cr_package_free (pkg);
      g_set_error (error, PULP_ERROR, PULP_ERROR_INVALID_ARGUMENT,
                   _("not a valid RPM package: its name, version, release or architecture is "
                     "missing or contains “/”"));
      return NULL;
    }

  /* what createrepo_c would write in primary.xml for this file */
  range = cr_get_header_byte_range (path, &local_error);
  if (local_error != NULL)
    {
      cr_package_free (pkg);
      g_set_error (error, PULP_ERROR, PULP_ERROR_INVALID_ARGUMENT,
                   _("not a valid RPM package: %s"), local_error->message);
      return NULL;
    }
  pkg->rpm_header_start = range.start;
  pkg->rpm_header_end = range.end;
  /* one pass over the file: its SHA-256 and the payload's digest */
  if (read_payload_facts (path, &total, &payload, &payload_hex, &local_error))
    sha256 = digest_file_and_tail (path, G_CHECKSUM_SHA256, &size, payload, range.end, NULL,
                                   &local_error);
  if (sha256 != NULL && total != 0 && range.start + total != size)
    g_set_error (&local_error, PULP_ERROR, PULP_ERROR_INVALID_ARGUMENT,
                 _("its header says the package is %llu bytes long, but the file has %llu"),
                 (unsigned long long) (range.start + total), (unsigned long long) size);
  else if (sha256 != NULL && payload != NULL
           && g_ascii_strcasecmp (pulp_digest_get_string (payload), payload_hex) != 0)
    g_set_error (&local_error, PULP_ERROR, PULP_ERROR_INVALID_ARGUMENT,
                 _("its payload does not match the digest in its header (%s, got %s)"),
                 payload_hex, pulp_digest_get_string (payload));
  if (local_error != NULL)
    {
      cr_package_free (pkg);
      if (g_error_matches (local_error, PULP_ERROR, PULP_ERROR_INVALID_ARGUMENT))
        g_prefix_error (&local_error, _("not a valid RPM package: "));
      g_propagate_error (error, g_steal_pointer (&local_error));
      return NULL;
    }
  pkg->size_package = size;
  if (g_stat (path, &st) == 0)
    pkg->time_file = st.st_mtime;

  {
    g_autofree gchar *name = g_utf8_make_valid (pkg->name, -1);
    gunichar c = g_unichar_tolower (g_utf8_get_char (name));
    gchar out[8] = { 0 };
    g_unichar_to_utf8 (c, out);
    first = g_strdup (out);
  }
  href = g_strdup_printf ("Packages/%s/%s-%s-%s.%s.rpm", first, pkg->name, pkg->version,
                          pkg->release, pkg->arch);
  {
    /* Header strings may be ISO-8859: the path must be UTF-8 like the rest. */
    gchar *converted = NULL;
    if (as_utf8 (href, &converted) == converted)
      {
        g_free (href);
        href = converted;
      }
  }
  display = g_path_get_basename (href);
  writer = pulp_vardict_writer_new ();
  unit = unit_from_package (writer, pkg, display, "sha256", sha256, href, NULL, TRUE, TRUE,
                            error);
  cr_package_free (pkg);
  if (unit == NULL)
    {
      g_prefix_error (error, _("not a valid RPM package: "));
      return NULL;
    }
  pulp_unit_set_sha256 (unit, sha256);
  pulp_unit_set_size (unit, size);
  return unit;
}
