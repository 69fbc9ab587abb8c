/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <gio/gio.h>

#include "pulp-downloader.h"
#include "pulp-unit.h"

G_BEGIN_DECLS

#define PULP_TYPE_SYNC_CONDUIT (pulp_sync_conduit_get_type ())
G_DECLARE_FINAL_TYPE (PulpSyncConduit, pulp_sync_conduit, PULP, SYNC_CONDUIT, GObject)

/**
 * PulpUnitFunc:
 * @unit: a unit of the repository's current version
 * @user_data: the data given to pulp_sync_conduit_foreach_unit()
 * @error: set it and return %FALSE to stop
 */
typedef gboolean (*PulpUnitFunc) (PulpUnit *unit, gpointer user_data, GError **error);

const gchar *pulp_sync_conduit_get_repository_id (PulpSyncConduit *self);
GVariant *pulp_sync_conduit_get_config (PulpSyncConduit *self);
const gchar *pulp_sync_conduit_get_config_string (PulpSyncConduit *self,
                                                  const gchar *key,
                                                  const gchar *default_value);
gboolean pulp_sync_conduit_get_config_boolean (PulpSyncConduit *self,
                                               const gchar *key,
                                               gboolean default_value);
guint32 pulp_sync_conduit_get_config_uint (PulpSyncConduit *self,
                                           const gchar *key,
                                           guint32 default_value);
GCancellable *pulp_sync_conduit_get_cancellable (PulpSyncConduit *self);
PulpDownloader *pulp_sync_conduit_get_downloader (PulpSyncConduit *self, GError **error);
const gchar *pulp_sync_conduit_get_tmp_dir (PulpSyncConduit *self, GError **error);

guint64 pulp_sync_conduit_get_unit_count (PulpSyncConduit *self);
gboolean pulp_sync_conduit_has_unit (PulpSyncConduit *self, const gchar *unit_id);
gboolean pulp_sync_conduit_foreach_unit (PulpSyncConduit *self,
                                         const gchar *type,
                                         PulpUnitFunc func,
                                         gpointer user_data,
                                         GError **error);

const gchar *pulp_sync_conduit_save_unit (PulpSyncConduit *self, PulpUnit *unit, GError **error);
gboolean pulp_sync_conduit_save_units (PulpSyncConduit *self, GPtrArray *units, GError **error);
gboolean pulp_sync_conduit_flush (PulpSyncConduit *self, GError **error);
void pulp_sync_conduit_keep_unit (PulpSyncConduit *self, const gchar *unit_id);
gboolean pulp_sync_conduit_unassociate_units (PulpSyncConduit *self,
                                              const gchar *const *unit_ids,
                                              GError **error);
gboolean pulp_sync_conduit_unassociate_unconfirmed (PulpSyncConduit *self, GError **error);

void pulp_sync_conduit_set_progress (PulpSyncConduit *self,
                                     const gchar *stage,
                                     guint64 done,
                                     guint64 total,
                                     GVariant *details);
GVariant *pulp_sync_conduit_get_importer_state (PulpSyncConduit *self);
void pulp_sync_conduit_set_importer_state (PulpSyncConduit *self, GVariant *state);
void pulp_sync_conduit_set_summary (PulpSyncConduit *self, const gchar *key, GVariant *value);
void pulp_sync_conduit_report_failed_unit (PulpSyncConduit *self,
                                          const gchar *relative_path,
                                          const gchar *reason);
gchar *pulp_sync_conduit_name_failed_units (PulpSyncConduit *self, guint max);

G_END_DECLS
