/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

/* The name users see in messages; it is also the file name upstream. */
#define PULP_FILE_MANIFEST_NAME "PULP_MANIFEST"

/* Longer lines are rejected: no sane path is this long, and the limit keeps
 * a hostile manifest from making us hold one huge line. */
#define PULP_FILE_MANIFEST_MAX_LINE 4096

/* Default of the `max-manifest-size` configuration key, in MiB. */
#define PULP_FILE_MANIFEST_DEFAULT_MAX_MIB 64
/* Upper bound accepted for `max-manifest-size`, in MiB. */
#define PULP_FILE_MANIFEST_LIMIT_MAX_MIB 4096

/**
 * PulpFileManifestEntry:
 * @relative_path: the file's path below the manifest's directory (valid
 *   UTF-8, no empty, "." or ".." components, not absolute)
 * @sha256: the declared SHA-256, 64 lower-case hex digits
 * @size: the declared size in bytes (at most %G_MAXINT64)
 * @line: the line of the manifest it came from (1-based)
 *
 * One file listed in a PULP_MANIFEST. The entry belongs to its manifest.
 */
typedef struct
{
  const gchar *relative_path;
  gchar sha256[65];
  guint64 size;
  guint line;
} PulpFileManifestEntry;

typedef struct _PulpFileManifest PulpFileManifest;

PulpFileManifest *pulp_file_manifest_parse (const gchar *data,
                                            gsize length,
                                            guint64 max_size,
                                            GCancellable *cancellable,
                                            GError **error);
void pulp_file_manifest_free (PulpFileManifest *manifest);
guint pulp_file_manifest_get_n_entries (PulpFileManifest *manifest);
const PulpFileManifestEntry *pulp_file_manifest_get_entry (PulpFileManifest *manifest, guint index);
gboolean pulp_file_manifest_lookup (PulpFileManifest *manifest,
                                    const gchar *relative_path,
                                    guint *index);
guint64 pulp_file_manifest_get_total_size (PulpFileManifest *manifest);

gboolean pulp_file_check_relative_path (const gchar *path, gsize length, GError **error);
gchar *pulp_file_feed_folder (const gchar *manifest_url, GError **error);
gchar *pulp_file_build_url (const gchar *feed_folder, const gchar *relative_path);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (PulpFileManifest, pulp_file_manifest_free)

G_END_DECLS
