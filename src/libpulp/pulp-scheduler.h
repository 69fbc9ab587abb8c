/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "pulp-task.h"

G_BEGIN_DECLS

#define PULP_TYPE_SCHEDULER (pulp_scheduler_get_type ())
G_DECLARE_FINAL_TYPE (PulpScheduler, pulp_scheduler, PULP, SCHEDULER, GObject)

PulpScheduler *pulp_scheduler_new (guint max_parallel);
void pulp_scheduler_add (PulpScheduler *self, PulpTask *task);
PulpTask *pulp_scheduler_get_active_task (PulpScheduler *self, const gchar *repository);
guint pulp_scheduler_get_n_running (PulpScheduler *self);
gboolean pulp_scheduler_is_idle (PulpScheduler *self);

G_END_DECLS
