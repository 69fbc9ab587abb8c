/* SPDX-License-Identifier: LGPL-2.1-or-later */
#define G_LOG_DOMAIN "PulpTask"

#include <glib/gi18n-lib.h>

#include "pulp-error.h"
#include "pulp-task.h"

/**
 * PulpTask:
 *
 * One unit of work (a sync, an upload, …) with a state, progress and a
 * summary. Its work runs in a worker thread; everything observable (its
 * properties and signals) changes in the main context it was created in.
 *
 * Progress reported from the worker is rate-limited to one
 * #PulpTask::progress emission per %PROGRESS_INTERVAL, plus one with the
 * last values of each stage when the stage ends.
 */

#define PROGRESS_INTERVAL (100 * G_TIME_SPAN_MILLISECOND)

typedef struct
{
  gchar *stage;
  guint64 done;
  guint64 total;
  GVariant *details;
} Progress;

struct _PulpTask
{
  GObject parent_instance;

  guint64 id;
  gchar *kind;
  gchar *repository;
  guint32 uid;
  gboolean exclusive;
  PulpTaskState state;
  gchar *stage;
  guint64 done;
  guint64 total;
  gchar *error;
  gchar *error_name;
  GVariant *summary;
  GVariant *failure_summary; /* set by the worker, read once it returned */
  guint64 created;
  guint64 started;
  guint64 finished;

  GCancellable *cancellable;
  gboolean interrupted; /* cancelled because the daemon stops */
  GMainContext *context;
  PulpTaskFunc func;
  gpointer func_data;
  GDestroyNotify func_data_free;

  /* written by the worker, read by the main context */
  GMutex lock;
  Progress current;
  gboolean dirty;
  GQueue ended; /* of Progress*, stages that ended and were not yet announced */
  GSource *flush_source;
  gint64 last_emit;
};

enum {
  PROP_0,
  PROP_STATE,
  PROP_STAGE,
  PROP_DONE,
  PROP_TOTAL,
  PROP_ERROR,
  PROP_SUMMARY,
  PROP_STARTED,
  PROP_FINISHED,
  N_PROPS
};

enum {
  SIGNAL_PROGRESS,
  SIGNAL_FINISHED,
  N_SIGNALS
};

static GParamSpec *props[N_PROPS];
static guint signals[N_SIGNALS];

G_DEFINE_TYPE (PulpTask, pulp_task, G_TYPE_OBJECT)

static void
progress_clear (Progress *p)
{
  g_clear_pointer (&p->stage, g_free);
  g_clear_pointer (&p->details, g_variant_unref);
}

static void
progress_free (Progress *p)
{
  progress_clear (p);
  g_free (p);
}

static void
pulp_task_finalize (GObject *object)
{
  PulpTask *self = PULP_TASK (object);

  if (self->flush_source != NULL)
    {
      g_source_destroy (self->flush_source);
      g_source_unref (self->flush_source);
    }
  g_queue_clear_full (&self->ended, (GDestroyNotify) progress_free);
  progress_clear (&self->current);
  g_mutex_clear (&self->lock);
  if (self->func_data_free != NULL)
    self->func_data_free (self->func_data);
  g_free (self->kind);
  g_free (self->repository);
  g_free (self->stage);
  g_free (self->error);
  g_free (self->error_name);
  g_clear_pointer (&self->summary, g_variant_unref);
  g_clear_pointer (&self->failure_summary, g_variant_unref);
  g_clear_object (&self->cancellable);
  g_main_context_unref (self->context);
  G_OBJECT_CLASS (pulp_task_parent_class)->finalize (object);
}

static void
pulp_task_get_property (GObject *object, guint prop_id, GValue *value, GParamSpec *pspec)
{
  PulpTask *self = PULP_TASK (object);

  switch (prop_id)
    {
    case PROP_STATE:
      g_value_set_uint (value, self->state);
      break;
    case PROP_STAGE:
      g_value_set_string (value, self->stage);
      break;
    case PROP_DONE:
      g_value_set_uint64 (value, self->done);
      break;
    case PROP_TOTAL:
      g_value_set_uint64 (value, self->total);
      break;
    case PROP_ERROR:
      g_value_set_string (value, self->error);
      break;
    case PROP_SUMMARY:
      g_value_set_variant (value, self->summary);
      break;
    case PROP_STARTED:
      g_value_set_uint64 (value, self->started);
      break;
    case PROP_FINISHED:
      g_value_set_uint64 (value, self->finished);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
pulp_task_class_init (PulpTaskClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GParamFlags flags = G_PARAM_READABLE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY;

  object_class->finalize = pulp_task_finalize;
  object_class->get_property = pulp_task_get_property;

  props[PROP_STATE] = g_param_spec_uint ("state", NULL, NULL, 0, PULP_TASK_STATE_CANCELLED, 0, flags);
  props[PROP_STAGE] = g_param_spec_string ("stage", NULL, NULL, "", flags);
  props[PROP_DONE] = g_param_spec_uint64 ("done", NULL, NULL, 0, G_MAXUINT64, 0, flags);
  props[PROP_TOTAL] = g_param_spec_uint64 ("total", NULL, NULL, 0, G_MAXUINT64, 0, flags);
  props[PROP_ERROR] = g_param_spec_string ("error", NULL, NULL, "", flags);
  props[PROP_SUMMARY] = g_param_spec_variant ("summary", NULL, NULL, G_VARIANT_TYPE_VARDICT, NULL, flags);
  props[PROP_STARTED] = g_param_spec_uint64 ("started", NULL, NULL, 0, G_MAXUINT64, 0, flags);
  props[PROP_FINISHED] = g_param_spec_uint64 ("finished", NULL, NULL, 0, G_MAXUINT64, 0, flags);
  g_object_class_install_properties (object_class, N_PROPS, props);

  /**
   * PulpTask::progress:
   * @stage: the stage
   * @done: units of work done in the stage
   * @total: units of work in the stage, 0 if unknown
   * @details: an `a{sv}` (bytes-done, bytes-total, rate, …)
   */
  signals[SIGNAL_PROGRESS] = g_signal_new ("progress", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                                           0, NULL, NULL, NULL, G_TYPE_NONE, 4, G_TYPE_STRING,
                                           G_TYPE_UINT64, G_TYPE_UINT64, G_TYPE_VARIANT);
  /**
   * PulpTask::finished:
   *
   * Emitted once, when the task has reached its final state.
   */
  signals[SIGNAL_FINISHED] = g_signal_new ("finished", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                                           0, NULL, NULL, NULL, G_TYPE_NONE, 0);
}

static void
pulp_task_init (PulpTask *self)
{
  g_mutex_init (&self->lock);
  g_queue_init (&self->ended);
  self->stage = g_strdup ("");
  self->error = g_strdup ("");
  self->error_name = g_strdup ("");
  self->summary = g_variant_ref_sink (g_variant_new ("a{sv}", NULL));
  self->cancellable = g_cancellable_new ();
  self->context = g_main_context_ref_thread_default ();
}

/**
 * pulp_task_new:
 * @kind: "sync", "upload", …
 * @repository: (nullable): the repository id the task writes to
 * @uid: the user who asked for it
 * @exclusive: %TRUE if no other task may run at the same time
 *
 * Returns: (transfer full): a new queued task
 */
PulpTask *
pulp_task_new (guint64 id, const gchar *kind, const gchar *repository, guint32 uid, gboolean exclusive)
{
  PulpTask *self = g_object_new (PULP_TYPE_TASK, NULL);
  self->id = id;
  self->kind = g_strdup (kind);
  self->repository = g_strdup (repository != NULL ? repository : "");
  self->uid = uid;
  self->exclusive = exclusive;
  self->created = (guint64) g_get_real_time ();
  return self;
}

/* @summary (transfer full, nullable) with `error-name` added: the error's
 * D-Bus name tells a script what kind of trouble ended the task (Network,
 * Checksum, Interrupted…), where the Error property is for people. */
static GVariant *
with_error_name (GVariant *summary, const gchar *error_name)
{
  g_autoptr (GVariant) partial = summary != NULL ? g_variant_take_ref (summary) : NULL;
  GVariantDict dict;

  g_variant_dict_init (&dict, partial);
  g_variant_dict_insert (&dict, "error-name", "s", error_name);
  return g_variant_dict_end (&dict);
}

/**
 * pulp_task_new_finished:
 *
 * Recreates a task that ended before the daemon started (from the database).
 *
 * Returns: (transfer full): a finished task
 */
PulpTask *
pulp_task_new_finished (guint64 id,
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
                        guint64 finished)
{
  PulpTask *self = pulp_task_new (id, kind, repository, uid, FALSE);
  self->state = state;
  g_free (self->stage);
  self->stage = g_strdup (stage);
  g_free (self->error_name);
  self->error_name = g_strdup (error_name);
  g_free (self->error);
  self->error = g_strdup (error);
  /* (tasks a crash interrupted are marked failed in the database alone) */
  if (error_name != NULL && *error_name != '\0')
    summary = with_error_name (summary, error_name);
  if (summary != NULL)
    {
      g_variant_unref (self->summary);
      self->summary = g_variant_take_ref (summary);
    }
  self->created = created;
  self->started = started;
  self->finished = finished;
  return self;
}

void
pulp_task_set_func (PulpTask *self, PulpTaskFunc func, gpointer data, GDestroyNotify data_free)
{
  g_return_if_fail (PULP_IS_TASK (self));
  self->func = func;
  self->func_data = data;
  self->func_data_free = data_free;
}

guint64
pulp_task_get_id (PulpTask *self)
{
  g_return_val_if_fail (PULP_IS_TASK (self), 0);
  return self->id;
}

const gchar *
pulp_task_get_kind (PulpTask *self)
{
  g_return_val_if_fail (PULP_IS_TASK (self), NULL);
  return self->kind;
}

/**
 * pulp_task_get_repository:
 *
 * Returns: the repository id, or "" for a task on no repository
 */
const gchar *
pulp_task_get_repository (PulpTask *self)
{
  g_return_val_if_fail (PULP_IS_TASK (self), NULL);
  return self->repository;
}

guint32
pulp_task_get_uid (PulpTask *self)
{
  g_return_val_if_fail (PULP_IS_TASK (self), 0);
  return self->uid;
}

gboolean
pulp_task_get_exclusive (PulpTask *self)
{
  g_return_val_if_fail (PULP_IS_TASK (self), FALSE);
  return self->exclusive;
}

PulpTaskState
pulp_task_get_state (PulpTask *self)
{
  g_return_val_if_fail (PULP_IS_TASK (self), PULP_TASK_STATE_FAILED);
  return self->state;
}

const gchar *
pulp_task_state_to_string (PulpTaskState state)
{
  static const gchar *const names[] = { "queued", "running", "completed", "failed", "cancelled" };
  g_return_val_if_fail (state <= PULP_TASK_STATE_CANCELLED, NULL);
  return names[state];
}

const gchar *
pulp_task_get_state_string (PulpTask *self)
{
  return pulp_task_state_to_string (pulp_task_get_state (self));
}

gboolean
pulp_task_is_finished (PulpTask *self)
{
  g_return_val_if_fail (PULP_IS_TASK (self), TRUE);
  return self->state >= PULP_TASK_STATE_COMPLETED;
}

const gchar *
pulp_task_get_stage (PulpTask *self)
{
  g_return_val_if_fail (PULP_IS_TASK (self), NULL);
  return self->stage;
}

guint64
pulp_task_get_done (PulpTask *self)
{
  g_return_val_if_fail (PULP_IS_TASK (self), 0);
  return self->done;
}

guint64
pulp_task_get_total (PulpTask *self)
{
  g_return_val_if_fail (PULP_IS_TASK (self), 0);
  return self->total;
}

/**
 * pulp_task_get_error:
 *
 * Returns: a human message; "" unless the task failed
 */
const gchar *
pulp_task_get_error (PulpTask *self)
{
  g_return_val_if_fail (PULP_IS_TASK (self), NULL);
  return self->error;
}

/**
 * pulp_task_get_error_name:
 *
 * Returns: the D-Bus error name of the failure, "" if none
 */
const gchar *
pulp_task_get_error_name (PulpTask *self)
{
  g_return_val_if_fail (PULP_IS_TASK (self), NULL);
  return self->error_name;
}

/**
 * pulp_task_get_summary:
 *
 * Returns: (transfer none): an `a{sv}`, empty until the task ends
 */
GVariant *
pulp_task_get_summary (PulpTask *self)
{
  g_return_val_if_fail (PULP_IS_TASK (self), NULL);
  return self->summary;
}

guint64
pulp_task_get_created (PulpTask *self)
{
  g_return_val_if_fail (PULP_IS_TASK (self), 0);
  return self->created;
}

guint64
pulp_task_get_started (PulpTask *self)
{
  g_return_val_if_fail (PULP_IS_TASK (self), 0);
  return self->started;
}

guint64
pulp_task_get_finished (PulpTask *self)
{
  g_return_val_if_fail (PULP_IS_TASK (self), 0);
  return self->finished;
}

/**
 * pulp_task_get_cancellable:
 *
 * Returns: (transfer none): cancelled when the task is
 */
GCancellable *
pulp_task_get_cancellable (PulpTask *self)
{
  g_return_val_if_fail (PULP_IS_TASK (self), NULL);
  return self->cancellable;
}

static void
emit_progress (PulpTask *self, Progress *p)
{
  g_autoptr (GVariant) details = p->details != NULL ? g_variant_ref (p->details)
                                                     : g_variant_ref_sink (g_variant_new ("a{sv}", NULL));
  g_object_freeze_notify (G_OBJECT (self));
  if (g_strcmp0 (self->stage, p->stage) != 0)
    {
      g_free (self->stage);
      self->stage = g_strdup (p->stage);
      g_object_notify_by_pspec (G_OBJECT (self), props[PROP_STAGE]);
    }
  if (self->done != p->done)
    {
      self->done = p->done;
      g_object_notify_by_pspec (G_OBJECT (self), props[PROP_DONE]);
    }
  if (self->total != p->total)
    {
      self->total = p->total;
      g_object_notify_by_pspec (G_OBJECT (self), props[PROP_TOTAL]);
    }
  g_object_thaw_notify (G_OBJECT (self));
  g_signal_emit (self, signals[SIGNAL_PROGRESS], 0, p->stage, p->done, p->total, details);
}

/* In the main context: announce the stages that ended, then the current
 * values if they changed. */
static gboolean
flush_progress (gpointer user_data)
{
  PulpTask *self = user_data;
  GQueue ended = G_QUEUE_INIT;
  Progress current = { NULL };
  Progress *p;

  g_mutex_lock (&self->lock);
  if (self->flush_source != NULL)
    {
      /* called directly at the end: the timer must not hold the task */
      g_source_destroy (self->flush_source);
      g_source_unref (self->flush_source);
      self->flush_source = NULL;
    }
  ended = self->ended;
  g_queue_init (&self->ended);
  if (self->dirty)
    {
      current.stage = g_strdup (self->current.stage);
      current.done = self->current.done;
      current.total = self->current.total;
      current.details = self->current.details != NULL ? g_variant_ref (self->current.details) : NULL;
      self->dirty = FALSE;
    }
  self->last_emit = g_get_monotonic_time ();
  g_mutex_unlock (&self->lock);

  while ((p = g_queue_pop_head (&ended)) != NULL)
    {
      emit_progress (self, p);
      progress_free (p);
    }
  if (current.stage != NULL)
    emit_progress (self, &current);
  progress_clear (&current);
  return G_SOURCE_REMOVE;
}

/**
 * pulp_task_report_progress:
 * @stage: the current stage
 * @done: work done in the stage
 * @total: work in the stage, 0 if unknown
 * @details: (nullable) (transfer floating): an `a{sv}`
 *
 * Thread-safe and cheap enough to call for every unit: it only records
 * the values; the main context announces them at most every 100 ms.
 */
void
pulp_task_report_progress (PulpTask *self,
                           const gchar *stage,
                           guint64 done,
                           guint64 total,
                           GVariant *details)
{
  g_return_if_fail (PULP_IS_TASK (self));
  g_return_if_fail (stage != NULL);

  if (details != NULL)
    g_variant_ref_sink (details);
  g_mutex_lock (&self->lock);
  if (self->current.stage != NULL && strcmp (self->current.stage, stage) != 0)
    {
      Progress *end = g_new0 (Progress, 1);
      *end = self->current;
      g_queue_push_tail (&self->ended, end);
      self->current.stage = NULL;
      self->current.details = NULL;
    }
  if (self->current.stage == NULL)
    self->current.stage = g_strdup (stage);
  self->current.done = done;
  self->current.total = total;
  g_clear_pointer (&self->current.details, g_variant_unref);
  self->current.details = details;
  self->dirty = TRUE;
  if (self->flush_source == NULL)
    {
      gint64 wait = self->last_emit + PROGRESS_INTERVAL - g_get_monotonic_time ();
      self->flush_source = g_timeout_source_new (wait > 0 ? (guint) (wait / 1000) : 0);
      g_source_set_callback (self->flush_source, flush_progress, g_object_ref (self), g_object_unref);
      g_source_attach (self->flush_source, self->context);
    }
  g_mutex_unlock (&self->lock);
}

/**
 * pulp_task_log_end:
 *
 * Logs the task if it failed or was cancelled: whoever started it may be
 * gone, and the log keeps what went wrong. Tasks log themselves when they
 * end; the daemon calls this for those a crash cut short.
 */
void
pulp_task_log_end (PulpTask *self)
{
  const gchar *of = *self->repository != '\0' ? " of " : "";

  g_return_if_fail (PULP_IS_TASK (self));
  if (self->state == PULP_TASK_STATE_FAILED)
    g_message ("Task %" G_GUINT64_FORMAT " (%s%s%s) failed: %s", self->id, self->kind, of,
               self->repository, self->error != NULL ? self->error : "");
  else if (self->state == PULP_TASK_STATE_CANCELLED)
    g_message ("Task %" G_GUINT64_FORMAT " (%s%s%s) was cancelled", self->id, self->kind, of,
               self->repository);
}

static void
finish (PulpTask *self, PulpTaskState state, GError *error, GVariant *summary)
{
  GObject *obj = G_OBJECT (self);

  /* The last stage ends with the task: announce its final values. */
  g_mutex_lock (&self->lock);
  if (self->current.stage != NULL)
    self->dirty = TRUE;
  g_mutex_unlock (&self->lock);
  flush_progress (self);

  g_object_freeze_notify (obj);
  self->state = state;
  g_object_notify_by_pspec (obj, props[PROP_STATE]);
  if (error != NULL && state == PULP_TASK_STATE_FAILED)
    {
      g_free (self->error);
      self->error = g_strdup (error->message);
      g_object_notify_by_pspec (obj, props[PROP_ERROR]);
    }
  if (error != NULL)
    {
      g_free (self->error_name);
      self->error_name = g_strdup (pulp_error_to_dbus_name (error->code));
      summary = with_error_name (summary, self->error_name);
    }
  if (summary != NULL)
    {
      g_variant_unref (self->summary);
      self->summary = g_variant_take_ref (summary);
      g_object_notify_by_pspec (obj, props[PROP_SUMMARY]);
    }
  self->finished = (guint64) g_get_real_time ();
  g_object_notify_by_pspec (obj, props[PROP_FINISHED]);
  g_object_thaw_notify (obj);
  pulp_task_log_end (self);
  g_signal_emit (self, signals[SIGNAL_FINISHED], 0);
}

/* A queued task ends at once with @state and the error @code, @message; a running one is
 * asked to stop and ends when its work returns. */
static void
stop (PulpTask *self, PulpTaskState state, gint code, const gchar *message)
{
  if (self->state == PULP_TASK_STATE_QUEUED)
    {
      g_autoptr (GError) error = g_error_new_literal (PULP_ERROR, code, message);
      g_cancellable_cancel (self->cancellable);
      finish (self, state, error, NULL);
    }
  else if (self->state == PULP_TASK_STATE_RUNNING)
    g_cancellable_cancel (self->cancellable);
}

/**
 * pulp_task_cancel:
 *
 * A queued task ends at once as cancelled; a running one is asked to stop
 * and ends when its work returns.
 */
void
pulp_task_cancel (PulpTask *self)
{
  g_return_if_fail (PULP_IS_TASK (self));
  stop (self, PULP_TASK_STATE_CANCELLED, PULP_ERROR_CANCELLED,
        _("The task was cancelled"));
}

/**
 * pulp_task_interrupt:
 *
 * As pulp_task_cancel(), for a daemon that stops: the task ends as failed
 * with %PULP_ERROR_INTERRUPTED, as it would be marked at the next start
 * had the daemon stopped without waiting for it.
 */
void
pulp_task_interrupt (PulpTask *self)
{
  g_return_if_fail (PULP_IS_TASK (self));
  self->interrupted = TRUE;
  stop (self, PULP_TASK_STATE_FAILED, PULP_ERROR_INTERRUPTED,
        _("The daemon stopped before the task ran"));
}

/**
 * pulp_task_set_failure_summary:
 * @summary: (transfer floating): an `a{sv}`
 *
 * What the task's work did before it failed or was cancelled (files that
 * arrived and stay in the content store, failures counted), shown as the
 * task's summary if the work then fails. Called by the work, in its
 * thread, before it returns.
 */
void
pulp_task_set_failure_summary (PulpTask *self, GVariant *summary)
{
  g_return_if_fail (PULP_IS_TASK (self));
  g_return_if_fail (g_variant_is_of_type (summary, G_VARIANT_TYPE_VARDICT));
  g_clear_pointer (&self->failure_summary, g_variant_unref);
  self->failure_summary = g_variant_ref_sink (summary);
}

static void
run_in_thread (GTask *gtask, gpointer source, gpointer task_data, GCancellable *cancellable)
{
  PulpTask *self = source;
  GError *error = NULL;
  GVariant *summary = self->func (self, self->func_data, self->cancellable, &error);

  if (summary == NULL)
    g_task_return_error (gtask, error);
  else
    g_task_return_pointer (gtask, g_variant_ref_sink (summary), (GDestroyNotify) g_variant_unref);
}

static void
run_done (GObject *source, GAsyncResult *result, gpointer user_data)
{
  PulpTask *self = PULP_TASK (source);
  g_autoptr (GTask) outer = user_data;
  g_autoptr (GError) error = NULL;
  g_autoptr (GVariant) summary = g_task_propagate_pointer (G_TASK (result), &error);
  PulpTaskState state = PULP_TASK_STATE_COMPLETED;

  if (summary == NULL)
    {
      pulp_error_convert (&error);
      if (self->interrupted)
        {
          g_clear_error (&error);
          error = g_error_new_literal (PULP_ERROR, PULP_ERROR_INTERRUPTED,
                                       _("The daemon stopped while the task ran"));
          state = PULP_TASK_STATE_FAILED;
        }
      else if (g_cancellable_is_cancelled (self->cancellable)
               || g_error_matches (error, PULP_ERROR, PULP_ERROR_CANCELLED))
        {
          g_clear_error (&error);
          error = g_error_new_literal (PULP_ERROR, PULP_ERROR_CANCELLED, _("The task was cancelled"));
          state = PULP_TASK_STATE_CANCELLED;
        }
      else
        state = PULP_TASK_STATE_FAILED;
      /* the worker has returned: its failure summary is complete */
      summary = g_steal_pointer (&self->failure_summary);
    }
  finish (self, state, error, g_steal_pointer (&summary));
  g_task_return_boolean (outer, TRUE);
}

/**
 * pulp_task_run:
 *
 * Runs the task's work in a worker thread; @callback is called in the
 * main context after #PulpTask::finished.
 */
void
pulp_task_run (PulpTask *self, GAsyncReadyCallback callback, gpointer user_data)
{
  GTask *outer = g_task_new (self, NULL, callback, user_data);
  g_autoptr (GTask) inner = g_task_new (self, NULL, run_done, outer);

  g_return_if_fail (self->state == PULP_TASK_STATE_QUEUED);
  g_return_if_fail (self->func != NULL);

  self->state = PULP_TASK_STATE_RUNNING;
  self->started = (guint64) g_get_real_time ();
  g_object_freeze_notify (G_OBJECT (self));
  g_object_notify_by_pspec (G_OBJECT (self), props[PROP_STATE]);
  g_object_notify_by_pspec (G_OBJECT (self), props[PROP_STARTED]);
  g_object_thaw_notify (G_OBJECT (self));
  g_task_run_in_thread (inner, run_in_thread);
}

gboolean
pulp_task_run_finish (PulpTask *self, GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  return g_task_propagate_boolean (G_TASK (result), error);
}
