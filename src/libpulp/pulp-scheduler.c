/* SPDX-License-Identifier: LGPL-2.1-or-later */
#define G_LOG_DOMAIN "PulpScheduler"

#include "pulp-scheduler.h"

/**
 * PulpScheduler:
 *
 * Decides when tasks run: tasks on the same repository run one after
 * another in the order they arrived; tasks on different repositories run in
 * parallel, up to a maximum; an exclusive task (orphan cleanup) runs alone,
 * and nothing queued after it starts before it has run.
 *
 * #PulpScheduler::changed is emitted in the main context whenever a task
 * was added, started or ended.
 */
struct _PulpScheduler
{
  GObject parent_instance;
  guint max_parallel;
  GQueue tasks; /* queued and running, in arrival order; owns a ref */
  guint n_running;
};

enum {
  SIGNAL_CHANGED,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

G_DEFINE_TYPE (PulpScheduler, pulp_scheduler, G_TYPE_OBJECT)

static void
pulp_scheduler_finalize (GObject *object)
{
  PulpScheduler *self = PULP_SCHEDULER (object);
  for (GList *l = self->tasks.head; l != NULL; l = l->next)
    g_signal_handlers_disconnect_by_data (l->data, self);
  g_queue_clear_full (&self->tasks, g_object_unref);
  G_OBJECT_CLASS (pulp_scheduler_parent_class)->finalize (object);
}

static void
pulp_scheduler_class_init (PulpSchedulerClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = pulp_scheduler_finalize;
  signals[SIGNAL_CHANGED] = g_signal_new ("changed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0,
                                          NULL, NULL, NULL, G_TYPE_NONE, 0);
}

static void
pulp_scheduler_init (PulpScheduler *self)
{
  g_queue_init (&self->tasks);
}

/**
 * pulp_scheduler_new:
 * @max_parallel: how many tasks may run at once (at least 1)
 *
 * Returns: (transfer full): a new #PulpScheduler
 */
PulpScheduler *
pulp_scheduler_new (guint max_parallel)
{
  PulpScheduler *self = g_object_new (PULP_TYPE_SCHEDULER, NULL);
  self->max_parallel = MAX (max_parallel, 1);
  return self;
}

static void schedule (PulpScheduler *self);

static void
task_done (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (PulpScheduler) self = user_data;
  PulpTask *task = PULP_TASK (source);

  pulp_task_run_finish (task, result, NULL);
  self->n_running--;
  schedule (self);
}

static void
task_finished (PulpTask *task, PulpScheduler *self)
{
  GList *link = g_queue_find (&self->tasks, task);

  g_signal_handlers_disconnect_by_data (task, self);
  if (link != NULL)
    {
      g_queue_delete_link (&self->tasks, link);
      g_object_unref (task);
    }
  schedule (self);
}

static void
schedule (PulpScheduler *self)
{
  g_autoptr (GHashTable) busy = g_hash_table_new (g_str_hash, g_str_equal);

  for (GList *l = self->tasks.head; l != NULL; l = l->next)
    {
      PulpTask *task = l->data;
      const gchar *repo = pulp_task_get_repository (task);
      gboolean repo_busy = *repo != '\0' && g_hash_table_contains (busy, repo);

      if (pulp_task_get_exclusive (task))
        {
          if (pulp_task_get_state (task) == PULP_TASK_STATE_QUEUED && self->n_running == 0
              && l == self->tasks.head)
            {
              self->n_running++;
              pulp_task_run (task, task_done, g_object_ref (self));
            }
          /* nothing queued after an exclusive task overtakes it */
          break;
        }
      if (pulp_task_get_state (task) == PULP_TASK_STATE_QUEUED && !repo_busy
          && self->n_running < self->max_parallel)
        {
          g_debug ("starting task %" G_GUINT64_FORMAT, pulp_task_get_id (task));
          self->n_running++;
          pulp_task_run (task, task_done, g_object_ref (self));
        }
      if (*repo != '\0')
        g_hash_table_add (busy, (gpointer) repo);
    }
  g_signal_emit (self, signals[SIGNAL_CHANGED], 0);
}

/**
 * pulp_scheduler_add:
 *
 * Queues @task and starts it as soon as the rules allow.
 */
void
pulp_scheduler_add (PulpScheduler *self, PulpTask *task)
{
  g_return_if_fail (PULP_IS_SCHEDULER (self));
  g_return_if_fail (pulp_task_get_state (task) == PULP_TASK_STATE_QUEUED);

  g_queue_push_tail (&self->tasks, g_object_ref (task));
  g_signal_connect (task, "finished", G_CALLBACK (task_finished), self);
  schedule (self);
}

/**
 * pulp_scheduler_get_active_task:
 *
 * Returns: (transfer none) (nullable): the running task on @repository, or
 * the first queued one; never one that has ended, even while its
 * "finished" handlers run
 */
PulpTask *
pulp_scheduler_get_active_task (PulpScheduler *self, const gchar *repository)
{
  g_return_val_if_fail (PULP_IS_SCHEDULER (self), NULL);
  for (GList *l = self->tasks.head; l != NULL; l = l->next)
    if ((pulp_task_get_state (l->data) == PULP_TASK_STATE_QUEUED
         || pulp_task_get_state (l->data) == PULP_TASK_STATE_RUNNING)
        && g_strcmp0 (pulp_task_get_repository (l->data), repository) == 0)
      return l->data;
  return NULL;
}

guint
pulp_scheduler_get_n_running (PulpScheduler *self)
{
  g_return_val_if_fail (PULP_IS_SCHEDULER (self), 0);
  return self->n_running;
}

/**
 * pulp_scheduler_is_idle:
 *
 * Returns: %TRUE if no task is queued or running
 */
gboolean
pulp_scheduler_is_idle (PulpScheduler *self)
{
  g_return_val_if_fail (PULP_IS_SCHEDULER (self), TRUE);
  return g_queue_is_empty (&self->tasks) && self->n_running == 0;
}
