/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

#define PULP_TYPE_CONTENT_STORE (pulp_content_store_get_type ())
G_DECLARE_FINAL_TYPE (PulpContentStore, pulp_content_store, PULP, CONTENT_STORE, GObject)

PulpContentStore *pulp_content_store_new (const gchar *state_dir, GError **error);
gchar *pulp_content_store_get_path (PulpContentStore *self, const gchar *sha256);
gboolean pulp_content_store_has (PulpContentStore *self, const gchar *sha256);
gchar *pulp_content_store_make_tmp_dir (PulpContentStore *self, const gchar *prefix, GError **error);
void pulp_content_store_remove_tmp_dir (const gchar *path);
gint pulp_content_store_open_temp (PulpContentStore *self, gchar **tmp_path, GError **error);
gboolean pulp_content_store_commit_temp (PulpContentStore *self,
                                         const gchar *tmp_path,
                                         const gchar *sha256,
                                         GError **error);
gint pulp_content_store_open_new (PulpContentStore *self, gchar **tmp_path, GError **error);
gboolean pulp_content_store_commit_fd (PulpContentStore *self,
                                       gint fd,
                                       const gchar *tmp_path,
                                       const gchar *sha256,
                                       GError **error);
gboolean pulp_content_store_read_fd (PulpContentStore *self,
                                     gint fd,
                                     guint64 max_size,
                                     gchar **tmp_path,
                                     gchar **sha256,
                                     guint64 *size,
                                     GCancellable *cancellable,
                                     GError **error);
gboolean pulp_content_store_import_fd (PulpContentStore *self,
                                       gint fd,
                                       guint64 max_size,
                                       gchar **sha256,
                                       guint64 *size,
                                       GCancellable *cancellable,
                                       GError **error);
gboolean pulp_content_store_sync (PulpContentStore *self, GError **error);
gboolean pulp_content_store_remove (PulpContentStore *self,
                                    const gchar *sha256,
                                    guint64 *bytes_freed,
                                    GError **error);
gboolean pulp_content_store_remove_unreferenced (PulpContentStore *self,
                                                 GHashTable *referenced,
                                                 guint64 *files,
                                                 guint64 *bytes,
                                                 GCancellable *cancellable,
                                                 GError **error);

G_END_DECLS
