/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <gio/gio.h>

#include "pulp-unit.h"

G_BEGIN_DECLS

/* Package units of this importer have this type. */
#define PULP_RPM_UNIT_TYPE "rpm"

/**
 * PulpRpmMetadataFile:
 * @type: the record type in repomd.xml ("primary", …)
 * @location_href: where the file is, relative to the repository
 * @location_base: (nullable): the record's xml:base, if any
 * @checksum_type: the declared digest type of the file as published
 * @checksum: the declared digest (hex) of the file as published
 * @size: the declared size of the file as published, or -1
 * @open_checksum_type: (nullable): the digest type of the uncompressed file
 * @open_checksum: (nullable): the digest of the uncompressed file
 * @open_size: the declared size of the uncompressed file, or -1
 *
 * One `<data>` record of repomd.xml.
 */
typedef struct
{
  gchar *type;
  gchar *location_href;
  gchar *location_base;
  gchar *checksum_type;
  gchar *checksum;
  gint64 size;
  gchar *open_checksum_type;
  gchar *open_checksum;
  gint64 open_size;
} PulpRpmMetadataFile;

void pulp_rpm_metadata_file_free (PulpRpmMetadataFile *file);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (PulpRpmMetadataFile, pulp_rpm_metadata_file_free)

/**
 * PulpRpmRepomd:
 * @revision: (nullable): the `<revision>` of repomd.xml
 * @sha256: the SHA-256 of the repomd.xml file as read
 * @primary: the primary metadata record
 *
 * What the importer needs from repomd.xml.
 */
typedef struct
{
  gchar *revision;
  gchar *sha256;
  PulpRpmMetadataFile *primary;
} PulpRpmRepomd;

void pulp_rpm_repomd_free (PulpRpmRepomd *repomd);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (PulpRpmRepomd, pulp_rpm_repomd_free)

/**
 * PulpRpmUnitFunc:
 * @unit: a unit built from one package of the primary metadata; the
 *   callee may take a reference
 * @user_data: the caller's data
 * @error: set it and return %FALSE to stop the parse
 */
typedef gboolean (*PulpRpmUnitFunc) (PulpUnit *unit, gpointer user_data, GError **error);

PulpRpmRepomd *pulp_rpm_repomd_parse (const gchar *path, const gchar *display_name, GError **error);

const gchar *pulp_rpm_normalize_checksum_type (const gchar *checksum_type);
gboolean pulp_rpm_verify_file (const gchar *path,
                               const gchar *display_name,
                               const gchar *checksum_type,
                               const gchar *checksum,
                               gint64 size,
                               GCancellable *cancellable,
                               GError **error);
gboolean pulp_rpm_is_zstd_file (const gchar *path);
gboolean pulp_rpm_zstd_decompress (const gchar *src_path,
                                   const gchar *dest_path,
                                   const gchar *display_name,
                                   gint64 declared_size,
                                   gint64 max_size,
                                   GCancellable *cancellable,
                                   GError **error);

/* The most a zstd metadata file may decompress to in the temp dir, whether
 * or not repomd.xml declares its open size (that declaration comes from the
 * same untrusted upstream). Generous: real primaries are far smaller
 * (50,000 packages make about 115 MB of primary.xml); a small file must
 * not fill the disk. */
#define PULP_RPM_MAX_OPEN_SIZE ((gint64) 1 << 30)

gchar *pulp_rpm_prepare_metadata (const gchar *path,
                                  PulpRpmMetadataFile *file,
                                  gint64 max_open_size,
                                  GCancellable *cancellable,
                                  GError **error);

gboolean pulp_rpm_check_location (const gchar *location_href,
                                  const gchar *location_base,
                                  const gchar *what,
                                  GError **error);
gboolean pulp_rpm_check_feed (const gchar *feed, GError **error);
gchar *pulp_rpm_resolve_location (const gchar *feed,
                                  const gchar *location_href,
                                  const gchar *location_base,
                                  GError **error);

guint64 pulp_rpm_primary_peek_count (const gchar *path);
gboolean pulp_rpm_parse_primary (const gchar *path,
                                 const gchar *display_name,
                                 PulpRpmUnitFunc func,
                                 gpointer user_data,
                                 GCancellable *cancellable,
                                 GError **error);
/**
 * PulpRpmParseFlags:
 * @PULP_RPM_PARSE_DEFAULT: units with their full metadata
 * @PULP_RPM_PARSE_KEYS_ONLY: units with key, location, size and digest only
 */
typedef enum
{
  PULP_RPM_PARSE_DEFAULT = 0,
  PULP_RPM_PARSE_KEYS_ONLY = 1 << 0,
} PulpRpmParseFlags;

gboolean pulp_rpm_parse_primary_for_feed (const gchar *path,
                                          const gchar *display_name,
                                          const gchar *feed,
                                          PulpRpmParseFlags flags,
                                          PulpRpmUnitFunc func,
                                          gpointer user_data,
                                          GCancellable *cancellable,
                                          GError **error);

PulpUnit *pulp_rpm_unit_from_rpm_file (const gchar *path, GError **error);

G_END_DECLS
