/* SPDX-License-Identifier: LGPL-2.1-or-later */
#define G_LOG_DOMAIN "Pulpd"

#include "config.h"

#include <gio/gunixfdlist.h>
#include <glib/gi18n.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif

#include "pulp-authority.h"
#include "pulp-daemon.h"
#include "pulp-error.h"
#include "pulp-generated.h"
#include "pulp-store.h"

/**
 * PulpDaemon:
 *
 * The D-Bus front of the engine: exports org.pulp.Manager, one
 * org.pulp.Repository object per repository and one org.pulp.Task object
 * per kept task under an ObjectManager at /org/pulp. Each handler
 * unpacks, authorizes, calls the engine and packs the answer.
 */
struct _PulpDaemon
{
  GObject parent_instance;
  PulpEngine *engine;
  GDBusConnection *connection;
  GDBusObjectManagerServer *object_manager;
  PulpDBusManager *manager;
  PulpAuthority *authority;
  GHashTable *repositories; /* object path → PulpRepository */
  guint not_found_filter;
};

G_DEFINE_TYPE (PulpDaemon, pulp_daemon, G_TYPE_OBJECT)

#define ACTION_MANAGE "org.pulp.manage-repositories"
#define ACTION_SYNC "org.pulp.sync"
#define ACTION_CANCEL "org.pulp.cancel-task"
#define ACTION_MODIFY "org.pulp.modify-content"
#define ACTION_CLEANUP "org.pulp.cleanup"

static gchar *
repository_path (const gchar *id)
{
  g_autofree gchar *escaped = g_dbus_escape_object_path (id);
  return g_strconcat ("/org/pulp/repositories/", escaped, NULL);
}

static gchar *
task_path (guint64 id)
{
  return g_strdup_printf ("/org/pulp/tasks/%" G_GUINT64_FORMAT, id);
}

static void
return_error (GDBusMethodInvocation *invocation, GError *error)
{
  pulp_error_convert (&error);
  g_dbus_method_invocation_return_gerror (invocation, error);
}

/* ---- tasks ----------------------------------------------------------------- */

static void
sync_task_properties (PulpTask *task, GParamSpec *pspec, PulpDBusTask *iface)
{
  const gchar *repo = pulp_task_get_repository (task);
  g_autofree gchar *repo_path = *repo != '\0' ? repository_path (repo) : g_strdup ("/");

  pulp_dbus_task_set_id (iface, pulp_task_get_id (task));
  pulp_dbus_task_set_kind (iface, pulp_task_get_kind (task));
  pulp_dbus_task_set_repository (iface, repo_path);
  pulp_dbus_task_set_state (iface, pulp_task_get_state_string (task));
  pulp_dbus_task_set_stage (iface, pulp_task_get_stage (task));
  pulp_dbus_task_set_done (iface, pulp_task_get_done (task));
  pulp_dbus_task_set_total (iface, pulp_task_get_total (task));
  pulp_dbus_task_set_error (iface, pulp_task_get_error (task));
  pulp_dbus_task_set_summary (iface, pulp_task_get_summary (task));
  pulp_dbus_task_set_created (iface, pulp_task_get_created (task));
  pulp_dbus_task_set_started (iface, pulp_task_get_started (task));
  pulp_dbus_task_set_finished (iface, pulp_task_get_finished (task));
}

static void
complete_waiters (PulpTask *task)
{
  GPtrArray *waiters = g_object_get_data (G_OBJECT (task), "pulp-waiters");

  for (guint i = 0; waiters != NULL && i < waiters->len; i++)
    pulp_dbus_task_complete_wait (NULL, g_ptr_array_index (waiters, i),
                                  pulp_task_get_state_string (task));
  g_object_set_data (G_OBJECT (task), "pulp-waiters", NULL);
}

static gchar *repository_path (const gchar *id);

/* Sends the property changes GDBus holds back for an idle moment: a client
 * that hears Finished must find the task and its repository as they ended
 * (LatestVersion, UnitCount), not as they were. */
static void
flush_task_and_repository (PulpDaemon *self, PulpTask *task, PulpDBusTask *iface)
{
  const gchar *repo = pulp_task_get_repository (task);

  g_dbus_interface_skeleton_flush (G_DBUS_INTERFACE_SKELETON (iface));
  if (*repo != '\0')
    {
      g_autofree gchar *path = repository_path (repo);
      g_autoptr (GDBusInterface) repo_iface = g_dbus_object_manager_get_interface (
          G_DBUS_OBJECT_MANAGER (self->object_manager), path, "org.pulp.Repository");
      if (repo_iface != NULL)
        g_dbus_interface_skeleton_flush (G_DBUS_INTERFACE_SKELETON (repo_iface));
    }
}

static void
task_finished (PulpTask *task, PulpDBusTask *iface)
{
  sync_task_properties (task, NULL, iface);
  flush_task_and_repository (g_object_get_data (G_OBJECT (task), "pulp-daemon"), task, iface);
  pulp_dbus_task_emit_finished (iface, pulp_task_get_state_string (task), pulp_task_get_error (task),
                                pulp_task_get_summary (task));
  complete_waiters (task);
#ifdef __GLIBC__
  /* what a task freed goes back to the system (see main()) */
  malloc_trim (0);
#endif
}

static void
cancel_authorized (GDBusMethodInvocation *invocation, guint32 uid, gpointer user_data)
{
  PulpTask *task = user_data;
  pulp_task_cancel (task);
  pulp_dbus_task_complete_cancel (NULL, invocation);
}

static void
cancel_caller_known (GDBusMethodInvocation *invocation, guint32 uid, gpointer user_data)
{
  PulpTask *task = user_data;
  PulpDaemon *self = g_object_get_data (G_OBJECT (task), "pulp-daemon");

  /* the starter may always cancel its own task */
  if (uid == pulp_task_get_uid (task))
    cancel_authorized (invocation, uid, task);
  else
    pulp_authority_check (self->authority, invocation, ACTION_CANCEL, cancel_authorized, task);
}

static gboolean
handle_cancel (PulpDBusTask *iface, GDBusMethodInvocation *invocation, PulpTask *task)
{
  PulpDaemon *self = g_object_get_data (G_OBJECT (task), "pulp-daemon");

  /* The checks are asynchronous (polkit may ask a person), and an ended
   * task may be pruned meanwhile: the invocation, which they hold, keeps
   * the task alive until they are done. */
  g_object_set_data_full (G_OBJECT (invocation), "pulp-task", g_object_ref (task), g_object_unref);
  pulp_authority_check (self->authority, invocation, NULL, cancel_caller_known, task);
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

static gboolean
handle_wait (PulpDBusTask *iface, GDBusMethodInvocation *invocation, PulpTask *task)
{
  GPtrArray *waiters;

  if (pulp_task_is_finished (task))
    {
      pulp_dbus_task_complete_wait (iface, invocation, pulp_task_get_state_string (task));
      return G_DBUS_METHOD_INVOCATION_HANDLED;
    }
  waiters = g_object_get_data (G_OBJECT (task), "pulp-waiters");
  if (waiters == NULL)
    {
      waiters = g_ptr_array_new_with_free_func (g_object_unref);
      g_object_set_data_full (G_OBJECT (task), "pulp-waiters", waiters, (GDestroyNotify) g_ptr_array_unref);
    }
  g_ptr_array_add (waiters, g_object_ref (invocation));
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

static void
task_progress (PulpTask *task, const gchar *stage, guint64 done, guint64 total, GVariant *details,
               PulpDaemon *self)
{
  g_autofree gchar *path = repository_path (pulp_task_get_repository (task));
  g_autofree gchar *tpath = task_path (pulp_task_get_id (task));
  g_autoptr (GDBusObject) object = NULL;
  g_autoptr (PulpDBusRepository) repo = NULL;

  object = g_dbus_object_manager_get_object (G_DBUS_OBJECT_MANAGER (self->object_manager), path);
  if (object == NULL)
    return;
  repo = pulp_dbus_object_get_repository (PULP_DBUS_OBJECT (object));
  if (repo != NULL)
    pulp_dbus_repository_emit_progress (repo, tpath, stage, done, total, details);
}

static void
task_added (PulpEngine *engine, PulpTask *task, PulpDaemon *self)
{
  g_autofree gchar *path = task_path (pulp_task_get_id (task));
  g_autoptr (PulpDBusObjectSkeleton) object = pulp_dbus_object_skeleton_new (path);
  g_autoptr (PulpDBusTask) iface = pulp_dbus_task_skeleton_new ();

  g_object_set_data (G_OBJECT (task), "pulp-daemon", self);
  sync_task_properties (task, NULL, iface);
  g_signal_connect_object (task, "notify", G_CALLBACK (sync_task_properties), iface, 0);
  g_signal_connect_object (task, "finished", G_CALLBACK (task_finished), iface, 0);
  g_signal_connect_object (task, "progress", G_CALLBACK (task_progress), self, 0);
  g_signal_connect_object (iface, "handle-cancel", G_CALLBACK (handle_cancel), task, 0);
  g_signal_connect_object (iface, "handle-wait", G_CALLBACK (handle_wait), task, 0);
  pulp_dbus_object_skeleton_set_task (object, iface);
  g_dbus_object_manager_server_export (self->object_manager, G_DBUS_OBJECT_SKELETON (object));
}

static void
task_removed (PulpEngine *engine, PulpTask *task, PulpDaemon *self)
{
  g_autofree gchar *path = task_path (pulp_task_get_id (task));
  g_dbus_object_manager_server_unexport (self->object_manager, path);
}

/* ---- repositories ---------------------------------------------------------- */

static PulpRepository *
lookup_repository (PulpDaemon *self, GDBusMethodInvocation *invocation)
{
  PulpRepository *repo = g_hash_table_lookup (self->repositories,
                                              g_dbus_method_invocation_get_object_path (invocation));
  if (repo == NULL)
    g_dbus_method_invocation_return_error (invocation, PULP_ERROR, PULP_ERROR_NOT_FOUND,
                                           _("The repository was deleted"));
  return repo;
}

static void
sync_repository_properties (PulpRepository *repo, GParamSpec *pspec, PulpDBusRepository *iface)
{
  PulpTask *active = pulp_repository_get_active_task (repo);
  g_autofree gchar *active_path = active != NULL ? task_path (pulp_task_get_id (active)) : g_strdup ("/");

  pulp_dbus_repository_set_id (iface, pulp_repository_get_id (repo));
  pulp_dbus_repository_set_importer (iface, pulp_repository_get_importer (repo));
  pulp_dbus_repository_set_config (iface, pulp_repository_get_public_config (repo));
  pulp_dbus_repository_set_latest_version (iface, pulp_repository_get_latest_version (repo));
  pulp_dbus_repository_set_unit_count (iface, pulp_repository_get_unit_count (repo));
  pulp_dbus_repository_set_last_sync (iface, pulp_repository_get_last_sync (repo));
  pulp_dbus_repository_set_active_task (iface, active_path);
}

/* Answers a method that queued @task, or failed with @error. */
static void
return_task (GDBusMethodInvocation *invocation, PulpTask *task, GError **error)
{
  g_autofree gchar *path = NULL;

  if (task == NULL)
    {
      return_error (invocation, g_steal_pointer (error));
      return;
    }
  path = task_path (pulp_task_get_id (task));
  g_object_unref (task);
  g_dbus_method_invocation_return_value (invocation, g_variant_new ("(o)", path));
}

static void
sync_authorized (GDBusMethodInvocation *invocation, guint32 uid, gpointer user_data)
{
  PulpDaemon *self = user_data;
  PulpRepository *repo = lookup_repository (self, invocation);
  g_autoptr (GVariant) options = NULL;
  g_autoptr (GError) error = NULL;

  if (repo == NULL)
    return;
  g_variant_get (g_dbus_method_invocation_get_parameters (invocation), "(@a{sv})", &options);
  return_task (invocation, pulp_engine_sync (self->engine, repo, options, uid, &error), &error);
}

static gboolean
handle_sync (PulpDBusRepository *iface, GDBusMethodInvocation *invocation, GVariant *options,
             PulpDaemon *self)
{
  pulp_authority_check (self->authority, invocation, ACTION_SYNC, sync_authorized, self);
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

static void
configure_authorized (GDBusMethodInvocation *invocation, guint32 uid, gpointer user_data)
{
  PulpDaemon *self = user_data;
  PulpRepository *repo = lookup_repository (self, invocation);
  g_autoptr (GVariant) config = NULL;
  g_autoptr (GError) error = NULL;

  if (repo == NULL)
    return;
  g_variant_get (g_dbus_method_invocation_get_parameters (invocation), "(@a{sv})", &config);
  if (!pulp_engine_configure_repository (self->engine, repo, config, &error))
    return_error (invocation, g_steal_pointer (&error));
  else
    pulp_dbus_repository_complete_configure (NULL, invocation);
}

static gboolean
handle_configure (PulpDBusRepository *iface, GDBusMethodInvocation *invocation, GVariant *config,
                  PulpDaemon *self)
{
  pulp_authority_check (self->authority, invocation, ACTION_MANAGE, configure_authorized, self);
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

static void
list_units_done (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GDBusMethodInvocation) invocation = user_data;
  g_autoptr (GError) error = NULL;
  g_autoptr (GVariant) units = pulp_engine_list_units_finish (PULP_ENGINE (source), result, &error);

  if (units == NULL)
    return_error (invocation, g_steal_pointer (&error));
  else
    pulp_dbus_repository_complete_list_units (NULL, invocation, units);
}

static gboolean
handle_list_units (PulpDBusRepository *iface, GDBusMethodInvocation *invocation, GVariant *filter,
                   PulpDaemon *self)
{
  PulpRepository *repo = lookup_repository (self, invocation);

  if (repo != NULL)
    pulp_engine_list_units_async (self->engine, repo, filter, list_units_done,
                                  g_object_ref (invocation));
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

static gboolean
handle_list_versions (PulpDBusRepository *iface, GDBusMethodInvocation *invocation, PulpDaemon *self)
{
  PulpRepository *repo = lookup_repository (self, invocation);
  g_autoptr (GArray) versions = NULL;
  g_autoptr (GError) error = NULL;
  GVariantBuilder b;

  if (repo == NULL)
    return G_DBUS_METHOD_INVOCATION_HANDLED;
  versions = pulp_engine_list_versions (self->engine, repo, &error);
  if (versions == NULL)
    {
      return_error (invocation, g_steal_pointer (&error));
      return G_DBUS_METHOD_INVOCATION_HANDLED;
    }
  g_variant_builder_init (&b, G_VARIANT_TYPE ("a(ttt)"));
  for (guint i = 0; i < versions->len; i++)
    {
      PulpStoreVersion *v = &g_array_index (versions, PulpStoreVersion, i);
      g_variant_builder_add (&b, "(ttt)", v->number, v->created, v->unit_count);
    }
  pulp_dbus_repository_complete_list_versions (iface, invocation, g_variant_builder_end (&b));
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

static void
upload_authorized (GDBusMethodInvocation *invocation, guint32 uid, gpointer user_data)
{
  PulpDaemon *self = user_data;
  PulpRepository *repo = lookup_repository (self, invocation);
  GDBusMessage *message = g_dbus_method_invocation_get_message (invocation);
  GUnixFDList *fds = g_dbus_message_get_unix_fd_list (message);
  g_autoptr (GVariant) metadata = NULL;
  g_autoptr (GError) error = NULL;
  const gchar *type;
  gint32 handle;
  gint fd = -1;

  if (repo == NULL)
    return;
  g_variant_get (g_dbus_method_invocation_get_parameters (invocation), "(h&s@a{sv})", &handle,
                 &type, &metadata);
  if (fds == NULL || handle < 0 || handle >= g_unix_fd_list_get_length (fds))
    {
      g_dbus_method_invocation_return_error (invocation, PULP_ERROR, PULP_ERROR_INVALID_ARGUMENT,
                                             _("Upload needs a file descriptor passed with the call"
                                               " (handle %d, %d passed)"),
                                             handle,
                                             fds != NULL ? g_unix_fd_list_get_length (fds) : 0);
      return;
    }
  /* our own copy: the message keeps its descriptor until it is freed */
  fd = g_unix_fd_list_get (fds, handle, NULL);
  return_task (invocation,
               pulp_engine_upload (self->engine, repo, fd, type, metadata, uid, &error), &error);
}

static gboolean
handle_upload (PulpDBusRepository *iface, GDBusMethodInvocation *invocation, GUnixFDList *fd_list,
               GVariant *file, const gchar *type, GVariant *metadata, PulpDaemon *self)
{
  pulp_authority_check (self->authority, invocation, ACTION_MODIFY, upload_authorized, self);
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

static void
remove_units_authorized (GDBusMethodInvocation *invocation, guint32 uid, gpointer user_data)
{
  PulpDaemon *self = user_data;
  PulpRepository *repo = lookup_repository (self, invocation);
  g_autofree const gchar **ids = NULL;
  g_autoptr (GError) error = NULL;

  if (repo == NULL)
    return;
  g_variant_get (g_dbus_method_invocation_get_parameters (invocation), "(^a&s)", &ids);
  return_task (invocation, pulp_engine_remove_units (self->engine, repo, ids, uid, &error), &error);
}

static gboolean
handle_remove_units (PulpDBusRepository *iface, GDBusMethodInvocation *invocation,
                     const gchar *const *unit_ids, PulpDaemon *self)
{
  pulp_authority_check (self->authority, invocation, ACTION_MODIFY, remove_units_authorized, self);
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

static void
rollback_authorized (GDBusMethodInvocation *invocation, guint32 uid, gpointer user_data)
{
  PulpDaemon *self = user_data;
  PulpRepository *repo = lookup_repository (self, invocation);
  g_autoptr (GError) error = NULL;
  guint64 version;

  if (repo == NULL)
    return;
  g_variant_get (g_dbus_method_invocation_get_parameters (invocation), "(t)", &version);
  return_task (invocation, pulp_engine_rollback (self->engine, repo, version, uid, &error), &error);
}

static gboolean
handle_rollback (PulpDBusRepository *iface, GDBusMethodInvocation *invocation, guint64 version,
                 PulpDaemon *self)
{
  pulp_authority_check (self->authority, invocation, ACTION_MODIFY, rollback_authorized, self);
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

static void
repository_added (PulpEngine *engine, PulpRepository *repo, PulpDaemon *self)
{
  g_autofree gchar *path = repository_path (pulp_repository_get_id (repo));
  g_autoptr (PulpDBusObjectSkeleton) object = pulp_dbus_object_skeleton_new (path);
  g_autoptr (PulpDBusRepository) iface = pulp_dbus_repository_skeleton_new ();

  sync_repository_properties (repo, NULL, iface);
  g_signal_connect_object (repo, "notify", G_CALLBACK (sync_repository_properties), iface, 0);
  g_signal_connect (iface, "handle-sync", G_CALLBACK (handle_sync), self);
  g_signal_connect (iface, "handle-configure", G_CALLBACK (handle_configure), self);
  g_signal_connect (iface, "handle-list-units", G_CALLBACK (handle_list_units), self);
  g_signal_connect (iface, "handle-list-versions", G_CALLBACK (handle_list_versions), self);
  g_signal_connect (iface, "handle-upload", G_CALLBACK (handle_upload), self);
  g_signal_connect (iface, "handle-remove-units", G_CALLBACK (handle_remove_units), self);
  g_signal_connect (iface, "handle-rollback", G_CALLBACK (handle_rollback), self);
  pulp_dbus_object_skeleton_set_repository (object, iface);
  g_hash_table_insert (self->repositories, g_strdup (path), g_object_ref (repo));
  g_dbus_object_manager_server_export (self->object_manager, G_DBUS_OBJECT_SKELETON (object));
}

static void
repository_removed (PulpEngine *engine, PulpRepository *repo, PulpDaemon *self)
{
  g_autofree gchar *path = repository_path (pulp_repository_get_id (repo));
  g_signal_handlers_disconnect_matched (repo, G_SIGNAL_MATCH_FUNC, 0, 0, NULL,
                                        sync_repository_properties, NULL);
  g_dbus_object_manager_server_unexport (self->object_manager, path);
  g_hash_table_remove (self->repositories, path);
}

/* ---- manager ---------------------------------------------------------------- */

static void
create_authorized (GDBusMethodInvocation *invocation, guint32 uid, gpointer user_data)
{
  PulpDaemon *self = user_data;
  const gchar *id, *importer;
  g_autoptr (GVariant) config = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree gchar *path = NULL;

  g_variant_get (g_dbus_method_invocation_get_parameters (invocation), "(&s&s@a{sv})", &id, &importer,
                 &config);
  if (pulp_engine_create_repository (self->engine, id, importer, config, &error) == NULL)
    {
      return_error (invocation, g_steal_pointer (&error));
      return;
    }
  path = repository_path (id);
  pulp_dbus_manager_complete_create_repository (self->manager, invocation, path);
}

static gboolean
handle_create_repository (PulpDBusManager *iface, GDBusMethodInvocation *invocation, const gchar *id,
                          const gchar *importer, GVariant *config, PulpDaemon *self)
{
  pulp_authority_check (self->authority, invocation, ACTION_MANAGE, create_authorized, self);
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

static void
delete_authorized (GDBusMethodInvocation *invocation, guint32 uid, gpointer user_data)
{
  PulpDaemon *self = user_data;
  g_autoptr (GError) error = NULL;
  const gchar *id;

  g_variant_get (g_dbus_method_invocation_get_parameters (invocation), "(&s)", &id);
  if (!pulp_engine_delete_repository (self->engine, id, &error))
    return_error (invocation, g_steal_pointer (&error));
  else
    pulp_dbus_manager_complete_delete_repository (self->manager, invocation);
}

static gboolean
handle_delete_repository (PulpDBusManager *iface, GDBusMethodInvocation *invocation, const gchar *id,
                          PulpDaemon *self)
{
  pulp_authority_check (self->authority, invocation, ACTION_MANAGE, delete_authorized, self);
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

static gboolean
handle_get_repository (PulpDBusManager *iface, GDBusMethodInvocation *invocation, const gchar *id,
                       PulpDaemon *self)
{
  g_autoptr (GError) error = NULL;
  g_autofree gchar *path = NULL;

  if (pulp_engine_get_repository (self->engine, id, &error) == NULL)
    {
      return_error (invocation, g_steal_pointer (&error));
      return G_DBUS_METHOD_INVOCATION_HANDLED;
    }
  path = repository_path (id);
  pulp_dbus_manager_complete_get_repository (iface, invocation, path);
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

static gboolean
handle_list_repositories (PulpDBusManager *iface, GDBusMethodInvocation *invocation, PulpDaemon *self)
{
  g_autoptr (GPtrArray) repos = pulp_engine_list_repositories (self->engine);
  g_autoptr (GPtrArray) paths = g_ptr_array_new_with_free_func (g_free);

  for (guint i = 0; i < repos->len; i++)
    g_ptr_array_add (paths, repository_path (pulp_repository_get_id (g_ptr_array_index (repos, i))));
  g_ptr_array_add (paths, NULL);
  pulp_dbus_manager_complete_list_repositories (iface, invocation, (const gchar *const *) paths->pdata);
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

static gboolean
handle_list_importers (PulpDBusManager *iface, GDBusMethodInvocation *invocation, PulpDaemon *self)
{
  g_autoptr (GPtrArray) types = pulp_engine_list_importers (self->engine);
  GVariantBuilder b;

  g_variant_builder_init (&b, G_VARIANT_TYPE ("a(ss)"));
  for (guint i = 0; i < types->len; i++)
    {
      const gchar *type = g_ptr_array_index (types, i);
      g_variant_builder_add (&b, "(ss)", type,
                             pulp_importer_get_description (pulp_engine_get_importer (self->engine, type)));
    }
  pulp_dbus_manager_complete_list_importers (iface, invocation, g_variant_builder_end (&b));
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

static void
cleanup_authorized (GDBusMethodInvocation *invocation, guint32 uid, gpointer user_data)
{
  PulpDaemon *self = user_data;
  g_autoptr (GVariant) options = NULL;
  g_autoptr (GError) error = NULL;

  g_variant_get (g_dbus_method_invocation_get_parameters (invocation), "(@a{sv})", &options);
  return_task (invocation, pulp_engine_cleanup_orphans (self->engine, options, uid, &error),
               &error);
}

static gboolean
handle_cleanup_orphans (PulpDBusManager *iface,
                        GDBusMethodInvocation *invocation,
                        GVariant *options,
                        PulpDaemon *self)
{
  pulp_authority_check (self->authority, invocation, ACTION_CLEANUP, cleanup_authorized, self);
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

/* ---- objects that do not exist ------------------------------------------------ */

/* What a call on /org/pulp/tasks/N or /org/pulp/repositories/ID that is
 * not exported should answer: dbus-api.md promises NotFound for a task or
 * repository that does not exist, where GDBus would answer
 * "org.freedesktop.DBus.Error.UnknownMethod: Object does not exist at
 * path …" — which is also what a script waiting on a task that pulpd no
 * longer keeps would see. Returns %NULL for every other message. */
static gchar *
missing_object_message (GDBusObjectManager *manager, GDBusMessage *message)
{
  static const struct
  {
    const gchar *prefix;
    const gchar *interface;
  } kinds[] = { { "/org/pulp/tasks/", "org.pulp.Task" },
                { "/org/pulp/repositories/", "org.pulp.Repository" } };
  const gchar *path = g_dbus_message_get_path (message);
  const gchar *interface = g_dbus_message_get_interface (message);
  g_autoptr (GDBusObject) object = NULL;

  if (g_dbus_message_get_message_type (message) != G_DBUS_MESSAGE_TYPE_METHOD_CALL || path == NULL)
    return NULL;
  for (guint i = 0; i < G_N_ELEMENTS (kinds); i++)
    {
      const gchar *child;

      if (!g_str_has_prefix (path, kinds[i].prefix))
        continue;
      child = path + strlen (kinds[i].prefix);
      if (*child == '\0' || strchr (child, '/') != NULL
          || (interface != NULL && !g_str_equal (interface, kinds[i].interface)
              && !g_str_equal (interface, "org.freedesktop.DBus.Properties")))
        return NULL;
      object = g_dbus_object_manager_get_object (manager, path);
      if (object != NULL)
        return NULL;
      if (i == 0)
        return g_strdup_printf (_("No task %s: it never existed, or it ended longer ago than "
                                  "pulpd keeps tasks (task-retention-seconds in pulpd.conf)"),
                                child);
      {
        g_autofree gchar *id = (gchar *) g_dbus_unescape_object_path (child);
        g_autofree gchar *shown = g_utf8_make_valid (id != NULL ? id : child, -1);
        return g_strdup_printf (_("No repository “%s”"), shown);
      }
    }
  return NULL;
}

/* A connection filter: it runs in GDBus's worker thread, before the call
 * is dispatched (the object manager's lookup takes its own lock). */
static GDBusMessage *
answer_missing_objects (GDBusConnection *connection,
                        GDBusMessage *message,
                        gboolean incoming,
                        gpointer user_data)
{
  g_autofree gchar *text = NULL;

  if (!incoming || (text = missing_object_message (user_data, message)) == NULL)
    return message;
  if ((g_dbus_message_get_flags (message) & G_DBUS_MESSAGE_FLAGS_NO_REPLY_EXPECTED) == 0)
    {
      g_autoptr (GDBusMessage) reply
          = g_dbus_message_new_method_error_literal (message, "org.pulp.Error.NotFound", text);
      g_dbus_connection_send_message (connection, reply, G_DBUS_SEND_MESSAGE_FLAGS_NONE, NULL,
                                      NULL);
    }
  g_object_unref (message);
  return NULL;
}

/* ---- object ------------------------------------------------------------------ */

static void
pulp_daemon_finalize (GObject *object)
{
  PulpDaemon *self = PULP_DAEMON (object);

  g_signal_handlers_disconnect_by_data (self->engine, self);
  g_dbus_connection_remove_filter (self->connection, self->not_found_filter);
  g_hash_table_unref (self->repositories);
  g_object_unref (self->authority);
  g_object_unref (self->manager);
  g_object_unref (self->object_manager);
  g_object_unref (self->connection);
  g_object_unref (self->engine);
  G_OBJECT_CLASS (pulp_daemon_parent_class)->finalize (object);
}

static void
pulp_daemon_class_init (PulpDaemonClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = pulp_daemon_finalize;
}

static void
pulp_daemon_init (PulpDaemon *self)
{
  self->repositories = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_object_unref);
}

/**
 * pulp_daemon_new:
 * @system_bus: %TRUE when serving the system bus (polkit with bus-name subjects)
 *
 * Exports the engine's objects on @connection; the caller then owns the
 * well-known name.
 *
 * Returns: (transfer full): a new #PulpDaemon
 */
PulpDaemon *
pulp_daemon_new (PulpEngine *engine, GDBusConnection *connection, gboolean system_bus)
{
  PulpDaemon *self = g_object_new (PULP_TYPE_DAEMON, NULL);
  g_autoptr (PulpDBusObjectSkeleton) object = pulp_dbus_object_skeleton_new ("/org/pulp/Manager");
  g_autoptr (GPtrArray) repos = NULL;
  g_autoptr (GPtrArray) tasks = NULL;
  g_autoptr (GPtrArray) types = NULL;

  /* registers the org.pulp.Error.* names with GDBus */
  (void) pulp_error_quark ();

  self->engine = g_object_ref (engine);
  self->connection = g_object_ref (connection);
  self->authority = pulp_authority_new (system_bus);
  self->object_manager = g_dbus_object_manager_server_new ("/org/pulp");

  self->manager = pulp_dbus_manager_skeleton_new ();
  pulp_dbus_manager_set_version (self->manager, PACKAGE_VERSION);
  types = pulp_engine_list_importers (engine);
  g_ptr_array_add (types, NULL);
  pulp_dbus_manager_set_importers (self->manager, (const gchar *const *) types->pdata);
  g_signal_connect (self->manager, "handle-create-repository", G_CALLBACK (handle_create_repository), self);
  g_signal_connect (self->manager, "handle-delete-repository", G_CALLBACK (handle_delete_repository), self);
  g_signal_connect (self->manager, "handle-get-repository", G_CALLBACK (handle_get_repository), self);
  g_signal_connect (self->manager, "handle-list-repositories", G_CALLBACK (handle_list_repositories), self);
  g_signal_connect (self->manager, "handle-list-importers", G_CALLBACK (handle_list_importers), self);
  g_signal_connect (self->manager, "handle-cleanup-orphans", G_CALLBACK (handle_cleanup_orphans),
                    self);
  pulp_dbus_object_skeleton_set_manager (object, self->manager);
  g_dbus_object_manager_server_export (self->object_manager, G_DBUS_OBJECT_SKELETON (object));

  repos = pulp_engine_list_repositories (engine);
  for (guint i = 0; i < repos->len; i++)
    repository_added (engine, g_ptr_array_index (repos, i), self);
  tasks = pulp_engine_list_tasks (engine);
  for (guint i = 0; i < tasks->len; i++)
    task_added (engine, g_ptr_array_index (tasks, i), self);
  g_signal_connect (engine, "repository-added", G_CALLBACK (repository_added), self);
  g_signal_connect (engine, "repository-removed", G_CALLBACK (repository_removed), self);
  g_signal_connect (engine, "task-added", G_CALLBACK (task_added), self);
  g_signal_connect (engine, "task-removed", G_CALLBACK (task_removed), self);

  g_dbus_object_manager_server_set_connection (self->object_manager, connection);
  self->not_found_filter = g_dbus_connection_add_filter (
      connection, answer_missing_objects, g_object_ref (self->object_manager), g_object_unref);
  return self;
}
