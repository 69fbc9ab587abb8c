/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <libgda/libgda.h>

#include "pulp-unit.h"

G_BEGIN_DECLS

#define PULP_TYPE_STORE (pulp_store_get_type ())
G_DECLARE_FINAL_TYPE (PulpStore, pulp_store, PULP, STORE, GObject)

/* A row of the repositories table. */
typedef struct
{
  gchar *id;
  gchar *importer;
  gchar *config;
  guint64 latest_version;
  guint64 unit_count;
  guint64 last_sync;
  gchar *importer_state;
  gint64 importer_state_version;
} PulpStoreRepository;

void pulp_store_repository_free (PulpStoreRepository *repo);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (PulpStoreRepository, pulp_store_repository_free)

/* A row of the tasks table. */
typedef struct
{
  guint64 id;
  gchar *kind;
  gchar *repository;
  gchar *state;
  gchar *stage;
  gchar *error_name;
  gchar *error;
  gchar *summary;
  guint64 created;
  guint64 started;
  guint64 finished;
  guint32 uid;
} PulpStoreTask;

void pulp_store_task_free (PulpStoreTask *task);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (PulpStoreTask, pulp_store_task_free)

#define PULP_STORE_SCHEMA_VERSION 5

/**
 * PulpStoreFlags:
 * @PULP_STORE_FLAGS_NONE: no flags
 * @PULP_STORE_FLAGS_EXCLUSIVE: the daemon's store: no other daemon may
 *   use the database (see pulp_store_new())
 */
typedef enum
{
  PULP_STORE_FLAGS_NONE = 0,
  PULP_STORE_FLAGS_EXCLUSIVE = 1 << 0,
} PulpStoreFlags;

PulpStore *pulp_store_new (const gchar *provider,
                           const gchar *cnc_string,
                           PulpStoreFlags flags,
                           GError **error);
guint pulp_store_get_schema_version (PulpStore *self);

gboolean pulp_store_begin (PulpStore *self, GError **error);
gboolean pulp_store_commit (PulpStore *self, GError **error);
void pulp_store_rollback (PulpStore *self);

GPtrArray *pulp_store_list_repositories (PulpStore *self, GError **error);
gboolean pulp_store_insert_repository (PulpStore *self,
                                       const gchar *id,
                                       const gchar *importer,
                                       const gchar *config,
                                       GError **error);
gboolean pulp_store_update_repository_config (PulpStore *self,
                                              const gchar *id,
                                              const gchar *config,
                                              GError **error);
gboolean pulp_store_delete_repository (PulpStore *self, const gchar *id, GError **error);

GHashTable *pulp_store_load_content (PulpStore *self,
                                     const gchar *repo,
                                     guint64 version,
                                     GError **error);
gboolean pulp_store_save_units (PulpStore *self,
                                const gchar *repo,
                                guint64 version,
                                GPtrArray *units,
                                GPtrArray *fresh,
                                GError **error);
gboolean pulp_store_remove_content (PulpStore *self,
                                    const gchar *repo,
                                    guint64 version,
                                    GPtrArray *unit_ids,
                                    GError **error);
gboolean pulp_store_discard_pending (PulpStore *self, const gchar *repo, GError **error);
gboolean pulp_store_add_version (PulpStore *self,
                                 const gchar *repo,
                                 guint64 version,
                                 guint64 unit_count,
                                 guint64 created,
                                 GError **error);
gboolean pulp_store_set_importer_state (PulpStore *self,
                                        const gchar *repo,
                                        const gchar *state,
                                        guint64 version,
                                        GError **error);
gboolean pulp_store_set_last_sync (PulpStore *self,
                                   const gchar *repo,
                                   guint64 when,
                                   GError **error);
GArray *pulp_store_list_versions (PulpStore *self, const gchar *repo, GError **error);
GPtrArray *pulp_store_list_units (PulpStore *self,
                                  const gchar *repo,
                                  guint64 version,
                                  const gchar *type,
                                  const gchar *after_id,
                                  guint64 offset,
                                  guint64 limit,
                                  GError **error);
GPtrArray *pulp_store_find_at_path (PulpStore *self,
                                     const gchar *repo,
                                     guint64 version,
                                     PulpUnit *unit,
                                     GError **error);
GHashTable *pulp_store_find_content (PulpStore *self,
                                     const gchar *repo,
                                     guint64 version,
                                     GPtrArray *unit_ids,
                                     GError **error);
gboolean pulp_store_delete_orphan_units (PulpStore *self, guint64 *removed, GError **error);
GHashTable *pulp_store_list_unit_digests (PulpStore *self, GError **error);

guint64 pulp_store_next_task_id (PulpStore *self, GError **error);
gboolean pulp_store_save_task (PulpStore *self, const PulpStoreTask *task, GError **error);
GPtrArray *pulp_store_list_tasks (PulpStore *self, GError **error);
gboolean pulp_store_interrupt_tasks (PulpStore *self, const gchar *message, GError **error);
gboolean pulp_store_prune_tasks (PulpStore *self, guint64 finished_before, GError **error);

gboolean pulp_store_check_integrity (PulpStore *self, GError **error);

/* One row of ListVersions. */
typedef struct
{
  guint64 number;
  guint64 created;
  guint64 unit_count;
} PulpStoreVersion;

G_END_DECLS
