/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

#define PULP_TYPE_TASK (pulp_task_get_type ())
G_DECLARE_FINAL_TYPE (PulpTask, pulp_task, PULP, TASK, GObject)

typedef enum {
  PULP_TASK_STATE_QUEUED,
  PULP_TASK_STATE_RUNNING,
  PULP_TASK_STATE_COMPLETED,
  PULP_TASK_STATE_FAILED,
  PULP_TASK_STATE_CANCELLED,
} PulpTaskState;

/* The work of a task, run in a worker thread; returns the summary. */
typedef GVariant *(*PulpTaskFunc) (PulpTask *task,
                                   gpointer data,
                                   GCancellable *cancellable,
                                   GError **error);

PulpTask *pulp_task_new (guint64 id,
                         const gchar *kind,
                         const gchar *repository,
                         guint32 uid,
                         gboolean exclusive);
PulpTask *pulp_task_new_finished (guint64 id,
                                  const gchar *kind,
                                  const gchar *repository,
                                  guint32 uid,
                                  PulpTaskState state,
                                  const gchar *stage,
                                  const gchar *error_name,
                                  const gchar *error,
                                  GVariant *summary,
                                  guint64 created,
                                  guint64 started,
                                  guint64 finished);
void pulp_task_set_failure_summary (PulpTask *self, GVariant *summary);
void pulp_task_set_func (PulpTask *self,
                         PulpTaskFunc func,
                         gpointer data,
                         GDestroyNotify data_free);

guint64 pulp_task_get_id (PulpTask *self);
const gchar *pulp_task_get_kind (PulpTask *self);
const gchar *pulp_task_get_repository (PulpTask *self);
guint32 pulp_task_get_uid (PulpTask *self);
gboolean pulp_task_get_exclusive (PulpTask *self);
PulpTaskState pulp_task_get_state (PulpTask *self);
const gchar *pulp_task_get_state_string (PulpTask *self);
const gchar *pulp_task_state_to_string (PulpTaskState state);
gboolean pulp_task_is_finished (PulpTask *self);
const gchar *pulp_task_get_stage (PulpTask *self);
guint64 pulp_task_get_done (PulpTask *self);
guint64 pulp_task_get_total (PulpTask *self);
const gchar *pulp_task_get_error (PulpTask *self);
const gchar *pulp_task_get_error_name (PulpTask *self);
GVariant *pulp_task_get_summary (PulpTask *self);
guint64 pulp_task_get_created (PulpTask *self);
guint64 pulp_task_get_started (PulpTask *self);
guint64 pulp_task_get_finished (PulpTask *self);
GCancellable *pulp_task_get_cancellable (PulpTask *self);

void pulp_task_log_end (PulpTask *self);
void pulp_task_cancel (PulpTask *self);
void pulp_task_interrupt (PulpTask *self);
void pulp_task_report_progress (PulpTask *self,
                                const gchar *stage,
                                guint64 done,
                                guint64 total,
                                GVariant *details);
void pulp_task_run (PulpTask *self, GAsyncReadyCallback callback, gpointer user_data);
gboolean pulp_task_run_finish (PulpTask *self, GAsyncResult *result, GError **error);

G_END_DECLS
