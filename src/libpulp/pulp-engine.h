/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "pulp-importer.h"
#include "pulp-repository.h"
#include "pulp-task.h"

G_BEGIN_DECLS

#define PULP_TYPE_ENGINE (pulp_engine_get_type ())
G_DECLARE_FINAL_TYPE (PulpEngine, pulp_engine, PULP, ENGINE, GObject)

PulpEngine *pulp_engine_new (const gchar *state_dir,
                             GKeyFile *config,
                             const gchar *importer_dir,
                             GError **error);
const gchar *pulp_engine_get_state_dir (PulpEngine *self);
void pulp_engine_stop (PulpEngine *self);
gboolean pulp_engine_is_idle (PulpEngine *self);
GPtrArray *pulp_engine_list_importers (PulpEngine *self);
PulpImporter *pulp_engine_get_importer (PulpEngine *self, const gchar *type);

PulpRepository *pulp_engine_create_repository (PulpEngine *self,
                                               const gchar *id,
                                               const gchar *importer,
                                               GVariant *config,
                                               GError **error);
gboolean pulp_engine_delete_repository (PulpEngine *self, const gchar *id, GError **error);
PulpRepository *pulp_engine_get_repository (PulpEngine *self, const gchar *id, GError **error);
GPtrArray *pulp_engine_list_repositories (PulpEngine *self);
gboolean pulp_engine_configure_repository (PulpEngine *self,
                                           PulpRepository *repo,
                                           GVariant *config,
                                           GError **error);

PulpTask *pulp_engine_sync (PulpEngine *self,
                            PulpRepository *repo,
                            GVariant *options,
                            guint32 uid,
                            GError **error);
PulpTask *pulp_engine_get_task (PulpEngine *self, guint64 id);
GPtrArray *pulp_engine_list_tasks (PulpEngine *self);

GPtrArray *pulp_engine_list_units (PulpEngine *self,
                                   PulpRepository *repo,
                                   GVariant *filter,
                                   GError **error);
void pulp_engine_list_units_async (PulpEngine *self,
                                   PulpRepository *repo,
                                   GVariant *filter,
                                   GAsyncReadyCallback callback,
                                   gpointer user_data);
GVariant *pulp_engine_list_units_finish (PulpEngine *self, GAsyncResult *result, GError **error);
GArray *pulp_engine_list_versions (PulpEngine *self, PulpRepository *repo, GError **error);
PulpTask *pulp_engine_upload (PulpEngine *self,
                              PulpRepository *repo,
                              gint fd,
                              const gchar *type,
                              GVariant *metadata,
                              guint32 uid,
                              GError **error);
PulpTask *pulp_engine_remove_units (PulpEngine *self,
                                    PulpRepository *repo,
                                    const gchar *const *unit_ids,
                                    guint32 uid,
                                    GError **error);
PulpTask *pulp_engine_rollback (PulpEngine *self,
                                PulpRepository *repo,
                                guint64 version,
                                guint32 uid,
                                GError **error);
PulpTask *pulp_engine_cleanup_orphans (PulpEngine *self,
                                       GVariant *options,
                                       guint32 uid,
                                       GError **error);
gboolean pulp_engine_check_integrity (PulpEngine *self, GError **error);

gboolean pulp_validate_repository_id (const gchar *id, GError **error);

G_END_DECLS
