/* SPDX-License-Identifier: LGPL-2.1-or-later */
#define G_LOG_DOMAIN "Pulpctl"

#include "config.h"

#include <glib-unix.h>
#include <glib/gi18n.h>
#include <stdio.h>

#include "pulpctl-progress.h"
#include "pulpctl.h"

/*
 * PulpctlFollow follows one task until it ends: it shows the Progress
 * signals of the task's repository and waits for the task's Finished
 * signal. It subscribes before the task exists (pulpctl_follow_new() comes
 * before the call that queues the task) and learns the task path from the
 * reply; GDBus delivers the signals that arrived meanwhile only when the
 * main loop runs, which is after the path is known, so none is lost. It
 * then reads the task's State once too: a task that had already ended
 * (task wait on an old task) sends no more Finished; one that ended just
 * now left its signals queued, and they are shown before its outcome.
 */
struct _PulpctlFollow
{
  Pulpctl *ctl;
  GMainLoop *loop;
  PulpctlProgress *progress;
  gchar *task_path;
  gboolean cancel_on_interrupt;
  guint interrupts;
  gboolean cancel_asked;
  gboolean ended;
  gboolean gave_up; /* stopped waiting: second Ctrl-C, or the daemon went away */
  gchar *state;
  gchar *error;
  GVariant *summary;
  guint progress_id, finished_id, properties_id, sigint_id, watch_id;
};

static void
end_with (PulpctlFollow *self, const gchar *state, const gchar *error, GVariant *summary)
{
  if (self->ended)
    return;
  self->ended = TRUE;
  self->state = g_strdup (state);
  self->error = g_strdup (error);
  self->summary = g_variant_ref (summary);
  g_main_loop_quit (self->loop);
}

static void
on_progress (GDBusConnection *bus, const gchar *sender, const gchar *path, const gchar *iface,
             const gchar *signal, GVariant *parameters, gpointer user_data)
{
  PulpctlFollow *self = user_data;
  const gchar *task, *stage;
  guint64 done, total;
  g_autoptr (GVariant) details = NULL;

  if (!g_variant_is_of_type (parameters, G_VARIANT_TYPE ("(ostta{sv})")))
    return;
  g_variant_get (parameters, "(&o&stt@a{sv})", &task, &stage, &done, &total, &details);
  if (self->task_path == NULL || self->ended || !g_str_equal (task, self->task_path))
    return;
  if (self->progress != NULL)
    pulpctl_progress_update (self->progress, stage, done, total, details);
}

/* Tasks on no repository send no Progress; their Stage, Done and Total
 * properties say the same, a little less often. */
static void
on_properties_changed (GDBusConnection *bus, const gchar *sender, const gchar *path,
                       const gchar *iface, const gchar *signal, GVariant *parameters,
                       gpointer user_data)
{
  PulpctlFollow *self = user_data;
  g_autoptr (GVariant) changed = NULL;
  g_autoptr (GVariant) props = NULL;
  const gchar *stage = NULL;
  guint64 done = 0, total = 0;

  if (self->task_path == NULL || self->ended || self->progress_id != 0 || self->progress == NULL
      || !g_str_equal (path, self->task_path))
    return;
  g_variant_get (parameters, "(&s@a{sv}@as)", NULL, &changed, NULL);
  if (!g_variant_lookup (changed, "Stage", "&s", &stage)
      && !g_variant_lookup (changed, "Done", "t", &done))
    return;
  /* the signal carries only what changed: read the rest */
  props = pulpctl_get_properties (self->ctl, self->task_path, PULPCTL_TASK_IFACE, NULL);
  if (props == NULL || !g_variant_lookup (props, "Stage", "&s", &stage) || *stage == '\0')
    return;
  g_variant_lookup (props, "Done", "t", &done);
  g_variant_lookup (props, "Total", "t", &total);
  pulpctl_progress_update (self->progress, stage, done, total, NULL);
}

static void
on_finished (GDBusConnection *bus, const gchar *sender, const gchar *path, const gchar *iface,
             const gchar *signal, GVariant *parameters, gpointer user_data)
{
  PulpctlFollow *self = user_data;
  const gchar *state, *error;
  g_autoptr (GVariant) summary = NULL;

  if (self->task_path == NULL || !g_str_equal (path, self->task_path)
      || !g_variant_is_of_type (parameters, G_VARIANT_TYPE ("(ssa{sv})")))
    return;
  g_variant_get (parameters, "(&s&s@a{sv})", &state, &error, &summary);
  end_with (self, state, error, summary);
}

static void
cancel_done (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GVariant) reply
      = g_dbus_connection_call_finish (G_DBUS_CONNECTION (source), result, &error);

  /* the task goes on then; keep waiting for it */
  if (reply == NULL)
    pulpctl_fail (error, "Cancel");
}

static void
ask_cancel (PulpctlFollow *self)
{
  if (self->cancel_asked || self->task_path == NULL)
    return;
  self->cancel_asked = TRUE;
  if (self->progress != NULL)
    pulpctl_progress_finish (self->progress);
  g_printerr (_("Cancelling task %s…\n"), pulpctl_task_number (self->task_path));
  g_dbus_connection_call (self->ctl->bus, PULPCTL_BUS_NAME, self->task_path, PULPCTL_TASK_IFACE,
                          "Cancel", NULL, NULL, G_DBUS_CALL_FLAGS_ALLOW_INTERACTIVE_AUTHORIZATION,
                          G_MAXINT, NULL, cancel_done, NULL);
}

static gboolean
on_sigint (gpointer user_data)
{
  PulpctlFollow *self = user_data;

  self->interrupts++;
  if (self->cancel_on_interrupt && self->interrupts == 1)
    {
      /* before the task path is known, pulpctl_follow_run() asks */
      ask_cancel (self);
      return G_SOURCE_CONTINUE;
    }
  if (self->progress != NULL)
    pulpctl_progress_finish (self->progress);
  if (self->task_path != NULL)
    g_printerr (_("Stopped waiting; task %s goes on in pulpd.\n"),
                pulpctl_task_number (self->task_path));
  self->gave_up = TRUE;
  g_main_loop_quit (self->loop);
  return G_SOURCE_CONTINUE;
}

static void
on_name_vanished (GDBusConnection *bus, const gchar *name, gpointer user_data)
{
  PulpctlFollow *self = user_data;

  if (self->ended)
    return;
  if (self->progress != NULL)
    pulpctl_progress_finish (self->progress);
  g_printerr (_("%s: pulpd stopped while task %s ran.\n"), g_get_prgname (),
              pulpctl_task_number (self->task_path));
  self->gave_up = TRUE;
  g_main_loop_quit (self->loop);
}

/**
 * pulpctl_follow_new:
 * @repository_path: (nullable): the repository whose Progress signals to show
 * @cancel_on_interrupt: whether Ctrl-C cancels the task (the command started
 *   it) or only stops waiting (task wait)
 *
 * Subscribes to the signals; call it before the call that queues the task.
 */
PulpctlFollow *
pulpctl_follow_new (Pulpctl *ctl, const gchar *repository_path, gboolean cancel_on_interrupt)
{
  PulpctlFollow *self = g_new0 (PulpctlFollow, 1);

  self->ctl = ctl;
  self->loop = g_main_loop_new (NULL, FALSE);
  self->cancel_on_interrupt = cancel_on_interrupt;
  if (!ctl->quiet)
    self->progress = pulpctl_progress_new (stdout, ctl->terminal);
  if (repository_path != NULL && g_strcmp0 (repository_path, "/") != 0)
    self->progress_id = g_dbus_connection_signal_subscribe (
        ctl->bus, PULPCTL_BUS_NAME, PULPCTL_REPOSITORY_IFACE, "Progress", repository_path, NULL,
        G_DBUS_SIGNAL_FLAGS_NONE, on_progress, self, NULL);
  self->properties_id = g_dbus_connection_signal_subscribe (
      ctl->bus, PULPCTL_BUS_NAME, "org.freedesktop.DBus.Properties", "PropertiesChanged", NULL,
      PULPCTL_TASK_IFACE, G_DBUS_SIGNAL_FLAGS_NONE, on_properties_changed, self, NULL);
  self->finished_id = g_dbus_connection_signal_subscribe (
      ctl->bus, PULPCTL_BUS_NAME, PULPCTL_TASK_IFACE, "Finished", NULL, NULL,
      G_DBUS_SIGNAL_FLAGS_NONE, on_finished, self, NULL);
  self->sigint_id = g_unix_signal_add (SIGINT, on_sigint, self);
  return self;
}

static void
print_outcome (PulpctlFollow *self)
{
  const gchar *n = pulpctl_task_number (self->task_path);

  if (g_str_equal (self->state, "completed"))
    {
      g_autofree gchar *summary = pulpctl_format_summary (self->summary);
      if (self->ctl->quiet)
        return;
      if (*summary != '\0')
        g_print (_("Task %s completed: %s.\n"), n, summary);
      else
        g_print (_("Task %s completed.\n"), n);
    }
  else if (g_str_equal (self->state, "cancelled"))
    g_printerr (_("Task %s was cancelled.\n"), n);
  else
    g_printerr (_("Task %s failed: %s\n"), n,
                *self->error != '\0' ? self->error : _("no reason given"));
}

/**
 * pulpctl_follow_run:
 * @task_path: the task that the call returned
 *
 * Shows progress until the task ends and prints how it ended.
 *
 * Returns: the exit status: 0 when the task completed, 1 otherwise
 */
int
pulpctl_follow_run (PulpctlFollow *self, const gchar *task_path)
{
  g_autoptr (GVariant) props = NULL;
  g_autoptr (GError) error = NULL;
  const gchar *state = NULL;

  self->task_path = g_strdup (task_path);
  /* watched only now: before the first call the daemon may still have been starting */
  self->watch_id = g_bus_watch_name_on_connection (self->ctl->bus, PULPCTL_BUS_NAME,
                                                   G_BUS_NAME_WATCHER_FLAGS_NONE, NULL,
                                                   on_name_vanished, self, NULL);
  if (self->interrupts > 0 && self->cancel_on_interrupt)
    ask_cancel (self);

  props = pulpctl_get_properties (self->ctl, task_path, PULPCTL_TASK_IFACE, &error);
  if (props == NULL)
    return pulpctl_fail (error, NULL);
  /* The signals that came before that answer first: a short task may have
   * run whole, its progress and its Finished waiting in the queue. */
  while (!self->ended && g_main_context_iteration (NULL, FALSE))
    ;
  g_variant_lookup (props, "State", "&s", &state);
  /* say why nothing moves yet: the repository is busy, or as many tasks
   * as pulpd runs at once are running */
  if (!self->ended && g_strcmp0 (state, "queued") == 0 && !self->ctl->quiet)
    g_printerr (_("Task %s is queued: it starts once the tasks ahead of it end.\n"),
                pulpctl_task_number (task_path));
  if (!self->ended
      && (g_strcmp0 (state, "completed") == 0 || g_strcmp0 (state, "failed") == 0
          || g_strcmp0 (state, "cancelled") == 0))
    {
      const gchar *message = "";
      g_autoptr (GVariant) summary
          = g_variant_lookup_value (props, "Summary", G_VARIANT_TYPE_VARDICT);
      g_variant_lookup (props, "Error", "&s", &message);
      if (summary == NULL)
        summary = g_variant_ref_sink (g_variant_new ("a{sv}", NULL));
      end_with (self, state, message, summary);
    }
  if (!self->ended && !self->gave_up)
    g_main_loop_run (self->loop);

  if (self->progress != NULL)
    pulpctl_progress_finish (self->progress);
  if (self->gave_up)
    return PULPCTL_EXIT_FAILURE;
  print_outcome (self);
  return g_str_equal (self->state, "completed") ? PULPCTL_EXIT_OK : PULPCTL_EXIT_FAILURE;
}

void
pulpctl_follow_free (PulpctlFollow *self)
{
  if (self == NULL)
    return;
  if (self->progress_id != 0)
    g_dbus_connection_signal_unsubscribe (self->ctl->bus, self->progress_id);
  g_dbus_connection_signal_unsubscribe (self->ctl->bus, self->properties_id);
  g_dbus_connection_signal_unsubscribe (self->ctl->bus, self->finished_id);
  if (self->watch_id != 0)
    g_bus_unwatch_name (self->watch_id);
  g_source_remove (self->sigint_id);
  pulpctl_progress_free (self->progress);
  g_main_loop_unref (self->loop);
  g_free (self->task_path);
  g_free (self->state);
  g_free (self->error);
  g_clear_pointer (&self->summary, g_variant_unref);
  g_free (self);
}
