/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <gio/gio.h>

#include "pulp-content-store.h"

G_BEGIN_DECLS

#define PULP_TYPE_DOWNLOADER (pulp_downloader_get_type ())
G_DECLARE_FINAL_TYPE (PulpDownloader, pulp_downloader, PULP, DOWNLOADER, GObject)

/**
 * PulpDownload:
 * @url: what to fetch (http, https or file)
 * @checksum_type: the declared digest type: "sha256", "sha1", "sha512", "md5"
 *   or %NULL when none is declared
 * @checksum: the declared digest (hex), or %NULL
 * @size: the declared size, or -1 when unknown
 * @sha256: after success: the SHA-256 of the content (its name in the store)
 * @path: after success: where the content is stored
 * @error: after failure: why this one failed
 * @fetched: after success: %TRUE if the content was transferred, %FALSE if
 *   the store already had it
 * @user_data: the caller's, untouched
 *
 * One file to fetch into the content store.
 */
typedef struct
{
  gchar *url;
  gchar *checksum_type;
  gchar *checksum;
  gint64 size;
  gchar *sha256;
  gchar *path;
  GError *error;
  gboolean fetched;
  gpointer user_data;
} PulpDownload;

gchar *pulp_url_for_display (const gchar *url);

PulpDownload *pulp_download_new (const gchar *url,
                                 const gchar *checksum_type,
                                 const gchar *checksum,
                                 gint64 size);
void pulp_download_free (PulpDownload *download);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (PulpDownload, pulp_download_free)

/**
 * PulpDownloadProgressFunc:
 *
 * Called in the calling thread while pulp_downloader_fetch_to_store() runs,
 * often (the conduit rate-limits what it passes on).
 */
typedef void (*PulpDownloadProgressFunc) (guint64 files_done,
                                          guint64 files_total,
                                          guint64 bytes_done,
                                          guint64 bytes_total,
                                          gpointer user_data);

PulpDownloader *pulp_downloader_new (PulpContentStore *store, GVariant *config, GError **error);
GBytes *pulp_downloader_fetch_bytes (PulpDownloader *self,
                                     const gchar *url,
                                     gsize max_size,
                                     GCancellable *cancellable,
                                     GError **error);
gboolean pulp_downloader_fetch_file (PulpDownloader *self,
                                     const gchar *url,
                                     const gchar *dest_path,
                                     GCancellable *cancellable,
                                     GError **error);
gboolean pulp_downloader_fetch_to_store (PulpDownloader *self,
                                         GPtrArray *downloads,
                                         PulpDownloadProgressFunc progress,
                                         gpointer user_data,
                                         GCancellable *cancellable,
                                         GError **error);

typedef struct _PulpDownloadJob PulpDownloadJob;

PulpDownloadJob *pulp_downloader_start_to_store (PulpDownloader *self,
                                                 GPtrArray *downloads,
                                                 GCancellable *cancellable);
gboolean pulp_downloader_finish_to_store (PulpDownloader *self,
                                          PulpDownloadJob *job,
                                          PulpDownloadProgressFunc progress,
                                          gpointer user_data,
                                          GError **error);

G_END_DECLS
