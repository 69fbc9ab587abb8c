/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "pulp-task.h"

G_BEGIN_DECLS

#define PULP_TYPE_REPOSITORY (pulp_repository_get_type ())
G_DECLARE_FINAL_TYPE (PulpRepository, pulp_repository, PULP, REPOSITORY, GObject)

PulpRepository *pulp_repository_new (const gchar *id, const gchar *importer, GVariant *config);
const gchar *pulp_repository_get_id (PulpRepository *self);
const gchar *pulp_repository_get_importer (PulpRepository *self);
GVariant *pulp_repository_get_config (PulpRepository *self);
GVariant *pulp_repository_get_public_config (PulpRepository *self);
void pulp_repository_set_config (PulpRepository *self, GVariant *config);
guint64 pulp_repository_get_latest_version (PulpRepository *self);
guint64 pulp_repository_get_unit_count (PulpRepository *self);
guint64 pulp_repository_get_last_sync (PulpRepository *self);
void pulp_repository_set_state (PulpRepository *self,
                                guint64 latest_version,
                                guint64 unit_count,
                                guint64 last_sync);
PulpTask *pulp_repository_get_active_task (PulpRepository *self);
void pulp_repository_set_active_task (PulpRepository *self, PulpTask *task);
gchar *pulp_repository_get_page_mark (PulpRepository *self,
                                      guint64 version,
                                      const gchar *type,
                                      guint64 offset);
void pulp_repository_set_page_mark (PulpRepository *self,
                                    guint64 version,
                                    const gchar *type,
                                    guint64 offset,
                                    const gchar *unit_id);

G_END_DECLS
