/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "pulp-content-store.h"
#include "pulp-store.h"
#include "pulp-sync-conduit.h"
#include "pulp-task.h"

G_BEGIN_DECLS

PulpSyncConduit *pulp_sync_conduit_new (PulpStore *store,
                                        PulpContentStore *content,
                                        PulpTask *task,
                                        const PulpStoreRepository *repo,
                                        GVariant *config,
                                        GError **error);
GVariant *pulp_sync_conduit_commit (PulpSyncConduit *self, GError **error);
void pulp_sync_conduit_discard (PulpSyncConduit *self);
GVariant *pulp_sync_conduit_end_failed_summary (PulpSyncConduit *self);
gboolean pulp_sync_conduit_associate_units (PulpSyncConduit *self, GPtrArray *units, GError **error);

G_END_DECLS
