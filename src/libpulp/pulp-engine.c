/* SPDX-License-Identifier: LGPL-2.1-or-later */
#define G_LOG_DOMAIN "PulpEngine"

#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <glib/gi18n-lib.h>
#include <glib/gstdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pulp-content-store.h"
#include "pulp-engine.h"
#include "pulp-error.h"
#include "pulp-scheduler.h"
#include "pulp-store.h"
#include "pulp-sync-conduit-private.h"

/**
 * PulpEngine:
 *
 * The service without D-Bus: importers, repositories, tasks and their
 * scheduler, the database and the content store. Every method is called in
 * the main context; long work runs as #PulpTask in worker threads.
 */
struct _PulpEngine
{
  GObject parent_instance;

  gchar *state_dir;
  PulpStore *store;
  PulpContentStore *content;
  PulpScheduler *scheduler;
  GHashTable *importers;    /* type → PulpImporter */
  GHashTable *repositories; /* id → PulpRepository */
  GHashTable *tasks;        /* &id → PulpTask */
  guint64 task_retention;   /* µs */
  guint prune_source;
  guint64 upload_max_size; /* bytes, 0: no limit */
  gboolean stopping;       /* pulp_engine_stop() was called */
};

enum {
  SIGNAL_REPOSITORY_ADDED,
  SIGNAL_REPOSITORY_REMOVED,
  SIGNAL_TASK_ADDED,
  SIGNAL_TASK_REMOVED,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

G_DEFINE_TYPE (PulpEngine, pulp_engine, G_TYPE_OBJECT)

static void
pulp_engine_finalize (GObject *object)
{
  PulpEngine *self = PULP_ENGINE (object);

  if (self->prune_source != 0)
    g_source_remove (self->prune_source);
  g_hash_table_unref (self->tasks);
  g_hash_table_unref (self->repositories);
  g_hash_table_unref (self->importers);
  g_clear_object (&self->scheduler);
  g_clear_object (&self->content);
  g_clear_object (&self->store);
  g_free (self->state_dir);
  G_OBJECT_CLASS (pulp_engine_parent_class)->finalize (object);
}

static void
pulp_engine_class_init (PulpEngineClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->finalize = pulp_engine_finalize;
  signals[SIGNAL_REPOSITORY_ADDED] = g_signal_new ("repository-added", G_TYPE_FROM_CLASS (klass),
                                                   G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                                                   G_TYPE_NONE, 1, PULP_TYPE_REPOSITORY);
  signals[SIGNAL_REPOSITORY_REMOVED] = g_signal_new ("repository-removed", G_TYPE_FROM_CLASS (klass),
                                                     G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                                                     G_TYPE_NONE, 1, PULP_TYPE_REPOSITORY);
  signals[SIGNAL_TASK_ADDED] = g_signal_new ("task-added", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                                             0, NULL, NULL, NULL, G_TYPE_NONE, 1, PULP_TYPE_TASK);
  signals[SIGNAL_TASK_REMOVED] = g_signal_new ("task-removed", G_TYPE_FROM_CLASS (klass),
                                               G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL, G_TYPE_NONE, 1,
                                               PULP_TYPE_TASK);
}

static void
pulp_engine_init (PulpEngine *self)
{
  self->importers = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_object_unref);
  self->repositories = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_object_unref);
  self->tasks = g_hash_table_new_full (g_int64_hash, g_int64_equal, NULL, g_object_unref);
}

/* The values of @table, unowned (GLib 2.74 has no
 * g_hash_table_get_values_as_ptr_array()). */
static GPtrArray *
hash_values (GHashTable *table)
{
  GPtrArray *values = g_ptr_array_sized_new (g_hash_table_size (table));
  GHashTableIter iter;
  gpointer value;

  g_hash_table_iter_init (&iter, table);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    g_ptr_array_add (values, value);
  return values;
}

/* ---- configuration ---------------------------------------------------- */

static gboolean
check_choice (const gchar *key, GVariant *value, const gchar *const *choices, GError **error)
{
  const gchar *s = g_variant_get_string (value, NULL);
  if (g_strv_contains (choices, s))
    return TRUE;
  g_autofree gchar *list = g_strjoinv ("”, “", (gchar **) choices);
  g_set_error (error, PULP_ERROR, PULP_ERROR_INVALID_ARGUMENT,
               _("“%s” must be one of “%s”, not “%s”"), key, list, s);
  return FALSE;
}

static gboolean
check_url (const gchar *key, GVariant *value, const gchar *const *schemes, GError **error)
{
  const gchar *s = g_variant_get_string (value, NULL);
  g_autoptr (GError) local = NULL;
  g_autoptr (GUri) uri = g_uri_parse (s, G_URI_FLAGS_HAS_PASSWORD | G_URI_FLAGS_ENCODED, &local);

  if (uri == NULL)
    {
      g_set_error (error, PULP_ERROR, PULP_ERROR_INVALID_ARGUMENT, _("“%s” is not a valid URL: %s"),
                   key, local->message);
      return FALSE;
    }
  if (!g_strv_contains (schemes, g_uri_get_scheme (uri)))
    {
      g_autofree gchar *list = g_strjoinv (", ", (gchar **) schemes);
      g_set_error (error, PULP_ERROR, PULP_ERROR_INVALID_ARGUMENT,
                   _("“%s” must be a URL with one of the schemes %s, not “%s”"), key, list,
                   g_uri_get_scheme (uri));
      return FALSE;
    }
  if (g_str_equal (g_uri_get_scheme (uri), "file"))
    {
      /* file:relative or file://host/… would fail at every sync */
      if (*g_uri_get_path (uri) != '/'
          || (g_uri_get_host (uri) != NULL && *g_uri_get_host (uri) != '\0'))
        {
          g_set_error (error, PULP_ERROR, PULP_ERROR_INVALID_ARGUMENT,
                       _("“%s” must name a local file by its absolute path, as in "
                         "file:///srv/feed: “%s”"),
                       key, s);
          return FALSE;
        }
    }
  else if (g_uri_get_host (uri) == NULL || *g_uri_get_host (uri) == '\0')
    {
      g_set_error (error, PULP_ERROR, PULP_ERROR_INVALID_ARGUMENT, _("“%s” has no host: “%s”"), key, s);
      return FALSE;
    }
  return TRUE;
}

static gboolean
check_key (const gchar *key, GVariant *value, GError **error)
{
  static const gchar *const sync_policies[] = { "additive", "mirror", NULL };
  static const gchar *const download_policies[] = { "immediate", "on_demand", NULL };
  static const gchar *const feed_schemes[] = { "http", "https", "file", NULL };
  static const gchar *const proxy_schemes[] = { "http", "https", "socks", "socks4", "socks5", NULL };

  if (g_str_equal (key, "feed"))
    return check_url (key, value, feed_schemes, error);
  if (g_str_equal (key, "proxy"))
    return check_url (key, value, proxy_schemes, error);
  if (g_str_equal (key, "sync-policy"))
    return check_choice (key, value, sync_policies, error);
  if (g_str_equal (key, "download-policy"))
    return check_choice (key, value, download_policies, error);
  if (g_str_equal (key, "download-concurrency") || g_str_equal (key, "max-retries"))
    {
      guint32 v = g_variant_get_uint32 (value);
      guint32 max = g_str_equal (key, "max-retries") ? 20 : 100;
      guint32 min = g_str_equal (key, "max-retries") ? 0 : 1;
      if (v < min || v > max)
        {
          g_set_error (error, PULP_ERROR, PULP_ERROR_INVALID_ARGUMENT,
                       _("“%s” must be between %u and %u, not %u"), key, min, max, v);
          return FALSE;
        }
    }
  if (g_str_equal (key, "ca-cert") || g_str_equal (key, "client-cert") || g_str_equal (key, "client-key"))
    {
      const gchar *path = g_variant_get_string (value, NULL);
      if (!g_path_is_absolute (path))
        {
          g_set_error (error, PULP_ERROR, PULP_ERROR_INVALID_ARGUMENT,
                       _("“%s” must be an absolute path, not “%s”"), key, path);
          return FALSE;
        }
    }
  if (g_variant_is_of_type (value, G_VARIANT_TYPE_STRING) && g_variant_get_size (value) > 4096)
    {
      g_set_error (error, PULP_ERROR, PULP_ERROR_INVALID_ARGUMENT,
                   _("“%s” is longer than 4096 bytes"), key);
      return FALSE;
    }
  return TRUE;
}

/* The keys the core knows, with their types; every other key belongs to
 * the importer. */
static const struct
{
  const gchar *key;
  const gchar *type;
} core_keys[] = {
  { "feed", "s" },         { "display-name", "s" },    { "description", "s" },
  { "sync-policy", "s" },  { "download-policy", "s" }, { "download-concurrency", "u" },
  { "max-retries", "u" },  { "tls-verify", "b" },      { "ca-cert", "s" },
  { "client-cert", "s" },  { "client-key", "s" },      { "proxy", "s" },
  { "username", "s" },     { "password", "s" },        { "remove-uploaded", "b" },
};

static const gchar *
core_key_type (const gchar *key)
{
  for (guint i = 0; i < G_N_ELEMENTS (core_keys); i++)
    if (g_str_equal (core_keys[i].key, key))
      return core_keys[i].type;
  return NULL;
}

static gboolean
check_type (const gchar *message, const gchar *key, GVariant *value, const gchar *type, GError **error)
{
  if (g_variant_is_of_type (value, G_VARIANT_TYPE (type)))
    return TRUE;
  /* @message is one of the three translated sentences below */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
  g_set_error (error, PULP_ERROR, PULP_ERROR_INVALID_ARGUMENT, message, key, type,
               g_variant_get_type_string (value));
#pragma GCC diagnostic pop
  return FALSE;
}

/* Validates @config (core keys here, the rest by the importer) and
 * returns it merged over @base. */
static GVariant *
validate_config (PulpImporter *importer, GVariant *base, GVariant *config, GError **error)
{
  g_auto (GVariantDict) merged = G_VARIANT_DICT_INIT (NULL);
  g_auto (GVariantDict) own = G_VARIANT_DICT_INIT (NULL);
  g_autoptr (GVariant) own_v = NULL;
  GVariantIter iter;
  const gchar *key;
  const gchar *feed;
  GVariant *value;

  g_variant_dict_clear (&merged);
  g_variant_dict_init (&merged, base);
  g_variant_iter_init (&iter, config);
  while (g_variant_iter_next (&iter, "{&sv}", &key, &value))
    {
      g_autoptr (GVariant) owned = value; /* freed on every way out of the loop */
      const gchar *type = core_key_type (key);
      if (type != NULL
          && (!check_type (_("Configuration key “%s” must have type “%s”, not “%s”"), key, value, type, error)))
        return NULL;
      /* an empty string unsets a key of the core (a proxy, a CA no longer
       * needed): its default applies again */
      if (type != NULL && g_str_equal (type, "s") && *g_variant_get_string (value, NULL) == '\0')
        {
          g_variant_dict_remove (&merged, key);
          continue;
        }
      if (type != NULL && !check_key (key, value, error))
        return NULL;
      g_variant_dict_insert_value (&merged, key, value);
    }

  /* the importer sees all of its own keys, old and new */
  g_autoptr (GVariant) all = g_variant_ref_sink (g_variant_dict_end (&merged));
  /* (a client-cert file may hold the key too; a key alone is no use, and
   * a sync would only find that out) */
  if (g_variant_lookup (all, "client-key", "&s", NULL)
      && !g_variant_lookup (all, "client-cert", "&s", NULL))
    {
      g_set_error_literal (error, PULP_ERROR, PULP_ERROR_INVALID_ARGUMENT,
                           _("“client-key” is set without “client-cert”: set the certificate "
                             "too (its file may hold the key as well)"));
      return NULL;
    }
  g_variant_iter_init (&iter, all);
  while (g_variant_iter_loop (&iter, "{&sv}", &key, &value))
    if (core_key_type (key) == NULL)
      g_variant_dict_insert_value (&own, key, value);
  own_v = g_variant_ref_sink (g_variant_dict_end (&own));
  if (!pulp_importer_validate_config (importer, own_v, error)
      || (g_variant_lookup (all, "feed", "&s", &feed)
          && !pulp_importer_validate_feed (importer, feed, error)))
    {
      pulp_error_convert (error);
      return NULL;
    }
  return g_steal_pointer (&all);
}

/**
 * pulp_validate_repository_id:
 *
 * Returns: %TRUE if @id matches `^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`
 */
gboolean
pulp_validate_repository_id (const gchar *id, GError **error)
{
  gsize len = strlen (id);

  if (len == 0 || len > 64)
    {
      g_set_error (error, PULP_ERROR, PULP_ERROR_INVALID_ARGUMENT,
                   _("A repository id must have 1 to 64 characters, not %zu"), len);
      return FALSE;
    }
  for (gsize i = 0; i < len; i++)
    {
      gchar c = id[i];
      if (g_ascii_isalnum (c) || (i > 0 && (c == '.' || c == '_' || c == '-')))
        continue;
      g_set_error (error, PULP_ERROR, PULP_ERROR_INVALID_ARGUMENT,
                   _("Invalid repository id “%s”: it may contain only letters, digits, “.”, “_” and “-”,"
                     " and must start with a letter or digit"),
                   id);
      return FALSE;
    }
  return TRUE;
}

/* ---- importers ---------------------------------------------------------- */

static GHashTable *loaded_dirs;
G_LOCK_DEFINE_STATIC (loaded_dirs);

static void
load_importers (PulpEngine *self, const gchar *dir)
{
  g_autoptr (GDir) d = NULL;
  GIOExtensionPoint *ep;
  const gchar *name;

  pulp_importer_ensure_extension_point ();
  /* Modules stay loaded for the life of the process (GIO keeps them), and
   * a type can be registered only once: load each folder once. */
  G_LOCK (loaded_dirs);
  if (loaded_dirs == NULL)
    loaded_dirs = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  if (g_hash_table_add (loaded_dirs, g_strdup (dir)))
    {
      g_list_free (g_io_modules_load_all_in_directory (dir));
      /* uninstalled, each importer sits in its own folder of the build tree */
      d = g_dir_open (dir, 0, NULL);
      while (d != NULL && (name = g_dir_read_name (d)) != NULL)
        {
          g_autofree gchar *sub = g_build_filename (dir, name, NULL);
          if (g_file_test (sub, G_FILE_TEST_IS_DIR))
            g_list_free (g_io_modules_load_all_in_directory (sub));
        }
    }
  G_UNLOCK (loaded_dirs);

  ep = g_io_extension_point_lookup (PULP_IMPORTER_EXTENSION_POINT_NAME);
  for (GList *l = g_io_extension_point_get_extensions (ep); l != NULL; l = l->next)
    {
      GIOExtension *ext = l->data;
      const gchar *type = g_io_extension_get_name (ext);
      if (g_hash_table_contains (self->importers, type))
        continue;
      g_hash_table_insert (self->importers, g_strdup (type),
                           g_object_new (g_io_extension_get_type (ext), NULL));
      g_info ("loaded importer %s", type);
    }
  if (g_hash_table_size (self->importers) == 0)
    g_warning ("No importers found in %s: no repository can be created or synced", dir);
}

static gint
compare_strings (gconstpointer a, gconstpointer b)
{
  return g_strcmp0 (*(const gchar *const *) a, *(const gchar *const *) b);
}

/**
 * pulp_engine_list_importers:
 *
 * Returns: (transfer container) (element-type utf8): the loaded importer
 * types, sorted
 */
GPtrArray *
pulp_engine_list_importers (PulpEngine *self)
{
  GPtrArray *types = g_ptr_array_new ();
  GHashTableIter iter;
  gpointer key;

  g_return_val_if_fail (PULP_IS_ENGINE (self), NULL);
  g_hash_table_iter_init (&iter, self->importers);
  while (g_hash_table_iter_next (&iter, &key, NULL))
    g_ptr_array_add (types, key);
  g_ptr_array_sort (types, compare_strings);
  return types;
}

/**
 * pulp_engine_get_importer:
 *
 * Returns: (transfer none) (nullable): the importer of @type
 */
PulpImporter *
pulp_engine_get_importer (PulpEngine *self, const gchar *type)
{
  g_return_val_if_fail (PULP_IS_ENGINE (self), NULL);
  return g_hash_table_lookup (self->importers, type);
}

/* ---- tasks -------------------------------------------------------------- */

static void
save_task (PulpEngine *self, PulpTask *task)
{
  g_autoptr (GError) error = NULL;
  g_autofree gchar *summary = pulp_variant_to_canonical_text (pulp_task_get_summary (task));
  PulpStoreTask row = {
    .id = pulp_task_get_id (task),
    .kind = (gchar *) pulp_task_get_kind (task),
    .repository = (gchar *) pulp_task_get_repository (task),
    .state = (gchar *) pulp_task_get_state_string (task),
    .stage = (gchar *) pulp_task_get_stage (task),
    .error_name = (gchar *) pulp_task_get_error_name (task),
    .error = (gchar *) pulp_task_get_error (task),
    .summary = summary,
    .created = pulp_task_get_created (task),
    .started = pulp_task_get_started (task),
    .finished = pulp_task_get_finished (task),
    .uid = pulp_task_get_uid (task),
  };
  if (!pulp_store_save_task (self->store, &row, &error))
    g_warning ("cannot record task %" G_GUINT64_FORMAT ": %s", row.id, error->message);
}

static void
refresh_repository (PulpEngine *self, const gchar *id)
{
  g_autoptr (GPtrArray) rows = pulp_store_list_repositories (self->store, NULL);
  PulpRepository *repo = g_hash_table_lookup (self->repositories, id);

  for (guint i = 0; repo != NULL && rows != NULL && i < rows->len; i++)
    {
      PulpStoreRepository *row = g_ptr_array_index (rows, i);
      if (g_str_equal (row->id, id))
        pulp_repository_set_state (repo, row->latest_version, row->unit_count, row->last_sync);
    }
}

static void
task_state_changed (PulpTask *task, GParamSpec *pspec, PulpEngine *self)
{
  save_task (self, task);
}

static void
task_finished (PulpTask *task, PulpEngine *self)
{
  const gchar *repo = pulp_task_get_repository (task);

  /* the final state was saved by task_state_changed(): a task announces
   * its state only once summary, error and finish time are set */
  g_signal_handlers_disconnect_by_func (task, task_state_changed, self);
  /* LastSync is the finish time of the last sync that completed (the
   * contract): the task's own, to the microsecond */
  if (g_str_equal (pulp_task_get_kind (task), "sync")
      && pulp_task_get_state (task) == PULP_TASK_STATE_COMPLETED)
    {
      g_autoptr (GError) error = NULL;
      if (!pulp_store_set_last_sync (self->store, repo, pulp_task_get_finished (task), &error))
        g_warning ("cannot record the sync time of %s: %s", repo, error->message);
    }
  if (*repo != '\0')
    {
      PulpRepository *repository = g_hash_table_lookup (self->repositories, repo);

      refresh_repository (self, repo);
      /* This handler runs before the daemon's, which announces Finished: a
       * client that hears it must not find the task still active. */
      if (repository != NULL)
        pulp_repository_set_active_task (
            repository, pulp_scheduler_get_active_task (self->scheduler, repo));
    }
}

static void
scheduler_changed (PulpScheduler *scheduler, PulpEngine *self)
{
  GHashTableIter iter;
  gpointer value;

  g_hash_table_iter_init (&iter, self->repositories);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    pulp_repository_set_active_task (value, pulp_scheduler_get_active_task (
                                                scheduler, pulp_repository_get_id (value)));
}

static void
add_task (PulpEngine *self, PulpTask *task)
{
  guint64 *key = g_new (guint64, 1);

  *key = pulp_task_get_id (task);
  g_hash_table_insert (self->tasks, key, g_object_ref (task));
  /* the key lives as long as the task: free it with the task */
  g_object_set_data_full (G_OBJECT (task), "pulp-engine-key", key, g_free);
  g_signal_emit (self, signals[SIGNAL_TASK_ADDED], 0, task);
}

static PulpTask *
queue_task (PulpEngine *self,
            const gchar *kind,
            const gchar *repo,
            guint32 uid,
            gboolean exclusive,
            PulpTaskFunc func,
            gpointer data,
            GDestroyNotify data_free,
            GError **error)
{
  g_autoptr (PulpTask) task = NULL;
  guint64 id;

  if (self->stopping)
    {
      g_set_error_literal (error, PULP_ERROR, PULP_ERROR_FAILED,
                           _("pulpd is stopping and takes no new tasks"));
      data_free (data);
      return NULL;
    }
  id = pulp_store_next_task_id (self->store, error);
  if (id == 0)
    {
      data_free (data);
      return NULL;
    }
  task = pulp_task_new (id, kind, repo, uid, exclusive);
  pulp_task_set_func (task, func, data, data_free);
  save_task (self, task);
  g_signal_connect (task, "notify::state", G_CALLBACK (task_state_changed), self);
  g_signal_connect (task, "finished", G_CALLBACK (task_finished), self);
  add_task (self, task);
  pulp_scheduler_add (self->scheduler, task);
  return g_steal_pointer (&task);
}

static gboolean
prune_tasks (gpointer user_data)
{
  PulpEngine *self = user_data;
  guint64 now = (guint64) g_get_real_time ();
  guint64 cutoff;
  g_autoptr (GPtrArray) expired = g_ptr_array_new_with_free_func (g_object_unref);
  GHashTableIter iter;
  gpointer value;

  /* (a retention longer than time so far keeps everything) */
  if (self->task_retention >= now)
    return G_SOURCE_CONTINUE;
  cutoff = now - self->task_retention;

  g_hash_table_iter_init (&iter, self->tasks);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    if (pulp_task_is_finished (value) && pulp_task_get_finished (value) < cutoff)
      g_ptr_array_add (expired, g_object_ref (value));
  for (guint i = 0; i < expired->len; i++)
    {
      PulpTask *task = g_ptr_array_index (expired, i);
      guint64 id = pulp_task_get_id (task);
      g_hash_table_remove (self->tasks, &id);
      g_signal_emit (self, signals[SIGNAL_TASK_REMOVED], 0, task);
    }
  pulp_store_prune_tasks (self->store, cutoff, NULL);
  return G_SOURCE_CONTINUE;
}

/**
 * pulp_engine_get_task:
 *
 * Returns: (transfer none) (nullable): the task with @id, if it is still kept
 */
PulpTask *
pulp_engine_get_task (PulpEngine *self, guint64 id)
{
  g_return_val_if_fail (PULP_IS_ENGINE (self), NULL);
  return g_hash_table_lookup (self->tasks, &id);
}

/**
 * pulp_engine_list_tasks:
 *
 * Returns: (transfer container) (element-type PulpTask): the kept tasks
 */
GPtrArray *
pulp_engine_list_tasks (PulpEngine *self)
{
  g_return_val_if_fail (PULP_IS_ENGINE (self), NULL);
  return hash_values (self->tasks);
}

/* ---- start-up ------------------------------------------------------------ */

static gboolean
load_state (PulpEngine *self, GError **error)
{
  g_autoptr (GPtrArray) repos = NULL;
  g_autoptr (GPtrArray) tasks = NULL;
  guint64 start = (guint64) g_get_real_time ();

  /* whatever a crash left unfinished is thrown away before anyone looks */
  if (!pulp_store_discard_pending (self->store, NULL, error)
      || !pulp_store_interrupt_tasks (self->store, _("The daemon stopped while the task ran"), error))
    return FALSE;
  pulp_store_prune_tasks (self->store, (guint64) g_get_real_time () - self->task_retention, NULL);

  repos = pulp_store_list_repositories (self->store, error);
  if (repos == NULL)
    return FALSE;
  for (guint i = 0; i < repos->len; i++)
    {
      PulpStoreRepository *row = g_ptr_array_index (repos, i);
      g_autoptr (GError) local = NULL;
      g_autoptr (GVariant) config = pulp_variant_from_text (row->config, &local);
      PulpRepository *repo;

      if (config == NULL)
        {
          g_warning ("repository %s has a damaged configuration: %s", row->id, local->message);
          config = g_variant_ref_sink (g_variant_new ("a{sv}", NULL));
        }
      if (!g_hash_table_contains (self->importers, row->importer))
        g_warning ("repository %s needs the importer “%s”, which is not loaded", row->id, row->importer);
      repo = pulp_repository_new (row->id, row->importer, config);
      pulp_repository_set_state (repo, row->latest_version, row->unit_count, row->last_sync);
      g_hash_table_insert (self->repositories, g_strdup (row->id), repo);
    }

  tasks = pulp_store_list_tasks (self->store, error);
  if (tasks == NULL)
    return FALSE;
  for (guint i = 0; i < tasks->len; i++)
    {
      PulpStoreTask *row = g_ptr_array_index (tasks, i);
      g_autoptr (GVariant) summary = pulp_variant_from_text (row->summary, NULL);
      PulpTaskState state = PULP_TASK_STATE_FAILED;
      g_autoptr (PulpTask) task = NULL;

      for (PulpTaskState s = PULP_TASK_STATE_COMPLETED; s <= PULP_TASK_STATE_CANCELLED; s++)
        if (g_str_equal (row->state, pulp_task_state_to_string (s)))
          state = s;
      task = pulp_task_new_finished (row->id, row->kind, row->repository, row->uid, state, row->stage,
                                     row->error_name, row->error, g_steal_pointer (&summary),
                                     row->created, row->started, row->finished);
      /* interrupted just now: a crash cut it short */
      if (row->finished >= start && g_strcmp0 (row->error_name, "org.pulp.Error.Interrupted") == 0)
        pulp_task_log_end (task);
      add_task (self, task);
    }
  return TRUE;
}

/* The database holds repository passwords: readable by pulpd's user
 * alone (the state directory stays open, for the content files). SQLite
 * gives its -wal and -shm files the mode of the database; those of older
 * versions of pulpd, made with the umask, are closed too. */
static gboolean
make_private_database (const gchar *state_dir, GError **error)
{
  static const gchar *const names[] = { "pulp.db", "pulp.db-wal", "pulp.db-shm" };

  for (guint i = 0; i < G_N_ELEMENTS (names); i++)
    {
      g_autofree gchar *path = g_build_filename (state_dir, names[i], NULL);
      gint fd = g_open (path, O_RDONLY | O_CLOEXEC | (i == 0 ? O_CREAT : 0), 0600);

      if (fd < 0 && errno == ENOENT)
        continue;
      if (fd < 0 || fchmod (fd, 0600) != 0)
        {
          gint saved = errno;
          if (fd >= 0)
            close (fd);
          g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved),
                       _("Cannot make %s private: %s"), path, g_strerror (saved));
          return FALSE;
        }
      close (fd);
    }
  return TRUE;
}

/* What pulpd.conf may hold (data/pulpd.conf describes each key). */
static const struct
{
  const gchar *group;
  const gchar *keys[4];
} config_keys[] = {
  { "daemon", { "max-parallel-tasks", "task-retention-seconds", "upload-max-size", NULL } },
  { "database", { "provider", "cnc-string", NULL } },
};

/* A group or key pulpd does not know is most likely a typo, whose setting
 * would silently not apply: said in the log, then ignored, as systemd does
 * with its unit files. */
static void
warn_unknown_config (GKeyFile *config)
{
  g_auto (GStrv) groups = g_key_file_get_groups (config, NULL);

  for (guint i = 0; groups[i] != NULL; i++)
    {
      g_auto (GStrv) keys = g_key_file_get_keys (config, groups[i], NULL, NULL);
      guint g = 0;

      while (g < G_N_ELEMENTS (config_keys) && !g_str_equal (config_keys[g].group, groups[i]))
        g++;
      if (g == G_N_ELEMENTS (config_keys))
        {
          g_warning ("Unknown group [%s] in the configuration, ignored", groups[i]);
          continue;
        }
      for (guint k = 0; keys != NULL && keys[k] != NULL; k++)
        if (!g_strv_contains (config_keys[g].keys, keys[k]))
          g_warning ("Unknown key “%s” in group [%s] of the configuration, ignored", keys[k],
                     groups[i]);
    }
}

/* Sets @value from @key if the configuration has it: a whole number from
 * @min to @max, or an error that names the key and the value. */
static gboolean
config_get_int64 (GKeyFile *config,
                  const gchar *group,
                  const gchar *key,
                  gint64 min,
                  gint64 max,
                  gint64 *value,
                  GError **error)
{
  g_autofree gchar *text = g_key_file_get_value (config, group, key, NULL);

  if (text == NULL)
    return TRUE;
  if (!g_ascii_string_to_signed (g_strstrip (text), 10, min, max, value, NULL))
    {
      g_set_error (error, PULP_ERROR, PULP_ERROR_INVALID_ARGUMENT,
                   "[%s] %s is “%s”, not a whole number from %" G_GINT64_FORMAT
                   " to %" G_GINT64_FORMAT,
                   group, key, text, min, max);
      return FALSE;
    }
  return TRUE;
}

/**
 * pulp_engine_new:
 * @state_dir: where the database and the content store live
 * @config: (nullable): the daemon configuration ([daemon], [database])
 * @importer_dir: where importer modules are loaded from
 *
 * Opens (or creates) the database, discards what a crash left unfinished,
 * marks interrupted tasks and loads the importers and repositories.
 *
 * Returns: (transfer full): a new #PulpEngine, or %NULL
 */
PulpEngine *
pulp_engine_new (const gchar *state_dir, GKeyFile *config, const gchar *importer_dir, GError **error)
{
  g_autoptr (PulpEngine) self = g_object_new (PULP_TYPE_ENGINE, NULL);
  g_autofree gchar *provider = NULL;
  g_autofree gchar *cnc = NULL;
  gint64 max_parallel = 2;
  gint64 retention = 86400;
  gint64 upload_max = G_GINT64_CONSTANT (4) << 30;

  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (config != NULL)
    {
      warn_unknown_config (config);
      /* (the retention is kept in µs) */
      if (!config_get_int64 (config, "daemon", "max-parallel-tasks", 1, 64, &max_parallel, error)
          || !config_get_int64 (config, "daemon", "task-retention-seconds", 0,
                                G_MAXINT64 / G_USEC_PER_SEC, &retention, error)
          || !config_get_int64 (config, "daemon", "upload-max-size", 0, G_MAXINT64, &upload_max,
                                error))
        return NULL;
      provider = g_key_file_get_string (config, "database", "provider", NULL);
      cnc = g_key_file_get_string (config, "database", "cnc-string", NULL);
      /* empty, as data/pulpd.conf shows it, is the default */
      if (cnc != NULL && *g_strstrip (cnc) == '\0')
        g_clear_pointer (&cnc, g_free);
    }
  /* libgda knows the provider by this spelling */
  if (provider == NULL || g_ascii_strcasecmp (provider, "SQLite") == 0)
    {
      g_free (provider);
      provider = g_strdup ("SQLite");
    }
  else if (cnc == NULL)
    {
      g_set_error (error, PULP_ERROR, PULP_ERROR_INVALID_ARGUMENT,
                   "[database] provider %s needs a cnc-string that names the server and the "
                   "database, such as HOST=db.example.com;DB_NAME=pulp",
                   provider);
      return NULL;
    }
  self->state_dir = g_strdup (state_dir);
  self->task_retention = (guint64) retention * G_USEC_PER_SEC;
  self->upload_max_size = (guint64) upload_max;

  self->content = pulp_content_store_new (state_dir, error);
  if (self->content == NULL)
    return NULL;
  /* (only SQLite gets here without a connection string) */
  if (cnc == NULL)
    {
      g_autofree gchar *quoted = NULL;

      if (!make_private_database (state_dir, error))
        return NULL;
      /* libgda reads ';' and '=' as separators: escape the path */
      quoted = gda_rfc1738_encode (state_dir);
      cnc = g_strdup_printf ("DB_DIR=%s;DB_NAME=pulp", quoted);
    }
  self->store = pulp_store_new (provider, cnc, PULP_STORE_FLAGS_EXCLUSIVE, error);
  if (self->store == NULL)
    return NULL;

  load_importers (self, importer_dir);
  if (!load_state (self, error))
    return NULL;

  self->scheduler = pulp_scheduler_new ((guint) max_parallel);
  g_signal_connect (self->scheduler, "changed", G_CALLBACK (scheduler_changed), self);
  self->prune_source = g_timeout_add_seconds (60, prune_tasks, self);
  return g_steal_pointer (&self);
}

/**
 * pulp_engine_stop:
 *
 * For a daemon about to stop: ends every queued task and asks every
 * running one to stop, each as failed with %PULP_ERROR_INTERRUPTED, and
 * refuses new tasks. Running tasks end when their work returns (see
 * pulp_engine_is_idle()); what they leave unfinished is discarded, as
 * after a crash.
 */
void
pulp_engine_stop (PulpEngine *self)
{
  g_autoptr (GPtrArray) tasks = g_ptr_array_new_with_free_func (g_object_unref);
  GHashTableIter iter;
  gpointer task;

  g_return_if_fail (PULP_IS_ENGINE (self));
  self->stopping = TRUE;
  /* (a queued task ends at once, and the scheduler starts the next one) */
  g_hash_table_iter_init (&iter, self->tasks);
  while (g_hash_table_iter_next (&iter, NULL, &task))
    if (!pulp_task_is_finished (task))
      g_ptr_array_add (tasks, g_object_ref (task));
  for (guint i = 0; i < tasks->len; i++)
    pulp_task_interrupt (g_ptr_array_index (tasks, i));
}

/**
 * pulp_engine_is_idle:
 *
 * Returns: %TRUE if no task is queued or running
 */
gboolean
pulp_engine_is_idle (PulpEngine *self)
{
  g_return_val_if_fail (PULP_IS_ENGINE (self), TRUE);
  return pulp_scheduler_is_idle (self->scheduler);
}

const gchar *
pulp_engine_get_state_dir (PulpEngine *self)
{
  g_return_val_if_fail (PULP_IS_ENGINE (self), NULL);
  return self->state_dir;
}

/* ---- repositories ------------------------------------------------------- */

/**
 * pulp_engine_create_repository:
 * @config: (transfer floating): an `a{sv}`, validated by the core and then by the importer
 *
 * Returns: (transfer none): the new repository, or %NULL
 */
PulpRepository *
pulp_engine_create_repository (PulpEngine *self,
                               const gchar *id,
                               const gchar *importer_type,
                               GVariant *config,
                               GError **error)
{
  g_autoptr (GVariant) config_ref = g_variant_ref_sink (config);
  g_autoptr (GVariant) empty = g_variant_ref_sink (g_variant_new ("a{sv}", NULL));
  g_autoptr (GVariant) valid = NULL;
  g_autofree gchar *text = NULL;
  PulpImporter *importer;
  PulpRepository *repo;

  g_return_val_if_fail (PULP_IS_ENGINE (self), NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (!pulp_validate_repository_id (id, error))
    return NULL;
  importer = g_hash_table_lookup (self->importers, importer_type);
  if (importer == NULL)
    {
      g_set_error (error, PULP_ERROR, PULP_ERROR_NOT_FOUND, _("No importer “%s” is loaded"), importer_type);
      return NULL;
    }
  if (g_hash_table_contains (self->repositories, id))
    {
      g_set_error (error, PULP_ERROR, PULP_ERROR_EXISTS, _("A repository “%s” exists already"), id);
      return NULL;
    }
  valid = validate_config (importer, empty, config, error);
  if (valid == NULL)
    return NULL;
  text = pulp_variant_to_canonical_text (valid);
  if (!pulp_store_insert_repository (self->store, id, importer_type, text, error))
    return NULL;
  repo = pulp_repository_new (id, importer_type, valid);
  g_hash_table_insert (self->repositories, g_strdup (id), repo);
  g_signal_emit (self, signals[SIGNAL_REPOSITORY_ADDED], 0, repo);
  return repo;
}

/**
 * pulp_engine_delete_repository:
 *
 * Removes a repository and its versions; its content becomes orphaned.
 * Fails with %PULP_ERROR_BUSY while a task holds it.
 */
gboolean
pulp_engine_delete_repository (PulpEngine *self, const gchar *id, GError **error)
{
  g_autoptr (PulpRepository) repo = NULL;
  PulpRepository *found;

  g_return_val_if_fail (PULP_IS_ENGINE (self), FALSE);

  found = pulp_engine_get_repository (self, id, error);
  if (found == NULL)
    return FALSE;
  if (pulp_repository_get_active_task (found) != NULL)
    {
      g_set_error (error, PULP_ERROR, PULP_ERROR_BUSY,
                   _("Repository “%s” has task %llu queued or running; cancel it or wait for it"),
                   id, (unsigned long long) pulp_task_get_id (pulp_repository_get_active_task (found)));
      return FALSE;
    }
  if (!pulp_store_delete_repository (self->store, id, error))
    return FALSE;
  repo = g_object_ref (found);
  g_hash_table_remove (self->repositories, id);
  g_signal_emit (self, signals[SIGNAL_REPOSITORY_REMOVED], 0, repo);
  return TRUE;
}

/**
 * pulp_engine_get_repository:
 *
 * Returns: (transfer none): the repository, or %NULL with
 *   %PULP_ERROR_INVALID_ARGUMENT for an id no repository may have, or
 *   %PULP_ERROR_NOT_FOUND
 */
PulpRepository *
pulp_engine_get_repository (PulpEngine *self, const gchar *id, GError **error)
{
  PulpRepository *repo;

  g_return_val_if_fail (PULP_IS_ENGINE (self), NULL);
  if (!pulp_validate_repository_id (id, error))
    return NULL;
  repo = g_hash_table_lookup (self->repositories, id);
  if (repo == NULL)
    g_set_error (error, PULP_ERROR, PULP_ERROR_NOT_FOUND, _("No repository “%s”"), id);
  return repo;
}

static gint
compare_repositories (gconstpointer a, gconstpointer b)
{
  return g_strcmp0 (pulp_repository_get_id (*(PulpRepository **) a),
                    pulp_repository_get_id (*(PulpRepository **) b));
}

/**
 * pulp_engine_list_repositories:
 *
 * Returns: (transfer container) (element-type PulpRepository): sorted by id
 */
GPtrArray *
pulp_engine_list_repositories (PulpEngine *self)
{
  GPtrArray *repos;

  g_return_val_if_fail (PULP_IS_ENGINE (self), NULL);
  repos = hash_values (self->repositories);
  g_ptr_array_sort (repos, compare_repositories);
  return repos;
}

/**
 * pulp_engine_configure_repository:
 * @config: (transfer floating): keys to merge into the stored configuration
 *
 * Returns: %TRUE if the merged configuration was valid and stored
 */
gboolean
pulp_engine_configure_repository (PulpEngine *self,
                                  PulpRepository *repo,
                                  GVariant *config,
                                  GError **error)
{
  g_autoptr (GVariant) config_ref = g_variant_ref_sink (config);
  g_autoptr (GVariant) valid = NULL;
  g_autofree gchar *text = NULL;
  PulpImporter *importer;

  g_return_val_if_fail (PULP_IS_ENGINE (self), FALSE);

  importer = g_hash_table_lookup (self->importers, pulp_repository_get_importer (repo));
  if (importer == NULL)
    {
      g_set_error (error, PULP_ERROR, PULP_ERROR_NOT_FOUND, _("No importer “%s” is loaded"),
                   pulp_repository_get_importer (repo));
      return FALSE;
    }
  valid = validate_config (importer, pulp_repository_get_config (repo), config, error);
  if (valid == NULL)
    return FALSE;
  text = pulp_variant_to_canonical_text (valid);
  if (!pulp_store_update_repository_config (self->store, pulp_repository_get_id (repo), text, error))
    return FALSE;
  pulp_repository_set_config (repo, valid);
  return TRUE;
}

/* ---- sync --------------------------------------------------------------- */

typedef struct
{
  PulpStore *store;
  PulpContentStore *content;
  PulpImporter *importer;
  gchar *repo_id;
  GVariant *config;
} SyncJob;

static void
sync_job_free (SyncJob *job)
{
  g_object_unref (job->store);
  g_object_unref (job->content);
  g_object_unref (job->importer);
  g_free (job->repo_id);
  g_variant_unref (job->config);
  g_free (job);
}

static PulpStoreRepository *
find_repository_row (PulpStore *store, const gchar *id, GError **error)
{
  g_autoptr (GPtrArray) rows = pulp_store_list_repositories (store, error);
  for (guint i = 0; rows != NULL && i < rows->len; i++)
    {
      PulpStoreRepository *row = g_ptr_array_index (rows, i);
      if (g_str_equal (row->id, id))
        return g_ptr_array_steal_index (rows, i);
    }
  if (rows != NULL)
    g_set_error (error, PULP_ERROR, PULP_ERROR_NOT_FOUND, _("No repository “%s”"), id);
  return NULL;
}

static GVariant *
sync_run (PulpTask *task, gpointer data, GCancellable *cancellable, GError **error)
{
  SyncJob *job = data;
  g_autoptr (PulpSyncConduit) conduit = NULL;
  g_autoptr (GError) local = NULL;
  GVariant *summary = NULL;
  g_autoptr (PulpStoreRepository) row = find_repository_row (job->store, job->repo_id, &local);

  if (row != NULL)
    conduit = pulp_sync_conduit_new (job->store, job->content, task, row, job->config, &local);
  if (conduit != NULL && pulp_importer_sync_repo (job->importer, conduit, cancellable, &local)
      && !g_cancellable_set_error_if_cancelled (cancellable, &local))
    summary = pulp_sync_conduit_commit (conduit, &local);
  if (summary == NULL)
    {
      if (conduit != NULL)
        {
          pulp_sync_conduit_discard (conduit);
          pulp_task_set_failure_summary (task, pulp_sync_conduit_end_failed_summary (conduit));
        }
      pulp_error_convert (&local);
      g_prefix_error (&local, _("Sync of %s failed: "), job->repo_id);
      g_propagate_error (error, g_steal_pointer (&local));
      return NULL;
    }
  return summary;
}

/**
 * pulp_engine_sync:
 * @options: (transfer floating): an `a{sv}` overriding the configuration for this sync:
 *   `sync-policy`, `download-policy`, `force`
 * @uid: the user who asked
 *
 * Queues a sync of @repo.
 *
 * Returns: (transfer full): the queued task, or %NULL
 */
PulpTask *
pulp_engine_sync (PulpEngine *self, PulpRepository *repo, GVariant *options, guint32 uid, GError **error)
{
  g_autoptr (GVariant) options_ref = g_variant_ref_sink (options);
  g_auto (GVariantDict) merged = G_VARIANT_DICT_INIT (NULL);
  GVariantIter iter;
  const gchar *key;
  GVariant *value;
  PulpImporter *importer;
  SyncJob *job;

  g_return_val_if_fail (PULP_IS_ENGINE (self), NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  importer = g_hash_table_lookup (self->importers, pulp_repository_get_importer (repo));
  if (importer == NULL)
    {
      g_set_error (error, PULP_ERROR, PULP_ERROR_NOT_FOUND, _("No importer “%s” is loaded"),
                   pulp_repository_get_importer (repo));
      return NULL;
    }
  g_variant_dict_clear (&merged);
  g_variant_dict_init (&merged, pulp_repository_get_config (repo));
  g_variant_iter_init (&iter, options);
  while (g_variant_iter_next (&iter, "{&sv}", &key, &value))
    {
      g_autoptr (GVariant) owned = value; /* freed on every way out of the loop */
      const gchar *type = g_str_equal (key, "force") ? "b" : NULL;
      if (g_str_equal (key, "sync-policy") || g_str_equal (key, "download-policy"))
        type = "s";
      if (type == NULL)
        {
          g_set_error (error, PULP_ERROR, PULP_ERROR_INVALID_ARGUMENT,
                       _("Unknown sync option “%s” (known: sync-policy, download-policy, force)"), key);
          return NULL;
        }
      if (!check_type (_("Sync option “%s” must have type “%s”, not “%s”"), key, value, type, error) || !check_key (key, value, error))
        return NULL;
      g_variant_dict_insert_value (&merged, key, value);
    }
  if (!g_variant_dict_contains (&merged, "feed"))
    {
      g_set_error (error, PULP_ERROR, PULP_ERROR_INVALID_ARGUMENT,
                   _("Repository “%s” has no feed to sync from; set one with Configure"),
                   pulp_repository_get_id (repo));
      return NULL;
    }

  job = g_new0 (SyncJob, 1);
  job->store = g_object_ref (self->store);
  job->content = g_object_ref (self->content);
  job->importer = g_object_ref (importer);
  job->repo_id = g_strdup (pulp_repository_get_id (repo));
  job->config = g_variant_ref_sink (g_variant_dict_end (&merged));
  return queue_task (self, "sync", job->repo_id, uid, FALSE, sync_run, job,
                     (GDestroyNotify) sync_job_free, error);
}

/* ---- content ------------------------------------------------------------ */

/* @type is a GVariant format string: "&s" borrows a string from @filter,
 * whose type is "s". */
static gboolean
lookup_filter (GVariant *filter, const gchar *key, const gchar *type, gpointer out, GError **error)
{
  g_autoptr (GVariant) v = g_variant_lookup_value (filter, key, NULL);
  if (v == NULL)
    return TRUE;
  /* a format string such as "&s" names the type "s" */
  if (!check_type (_("Filter key “%s” must have type “%s”, not “%s”"), key, v, type + (type[0] == '&'),
                   error))
    return FALSE;
  g_variant_get (v, type, out);
  return TRUE;
}

typedef struct
{
  PulpStore *store;
  PulpContentStore *content;
  PulpRepository *repository;
  gchar *repo;
  gchar *type;
  guint64 version;
  guint64 offset;
  guint64 limit;
} UnitQuery;

static void
unit_query_free (UnitQuery *q)
{
  g_object_unref (q->store);
  g_object_unref (q->content);
  g_object_unref (q->repository);
  g_free (q->repo);
  g_free (q->type);
  g_free (q);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (UnitQuery, unit_query_free)

/* Checks a ListUnits filter where the caller is (the main context). */
static UnitQuery *
unit_query_new (PulpEngine *self, PulpRepository *repo, GVariant *filter, GError **error)
{
  g_autoptr (UnitQuery) q = g_new0 (UnitQuery, 1);
  const gchar *type = "";
  GVariantIter iter;
  const gchar *key;

  q->store = g_object_ref (self->store);
  q->content = g_object_ref (self->content);
  q->repository = g_object_ref (repo);
  q->repo = g_strdup (pulp_repository_get_id (repo));
  q->version = pulp_repository_get_latest_version (repo);
  q->limit = 1000;
  g_variant_iter_init (&iter, filter);
  while (g_variant_iter_next (&iter, "{&sv}", &key, NULL))
    if (!g_strv_contains ((const gchar *const[]){ "type", "version", "offset", "limit", NULL }, key))
      {
        g_set_error (error, PULP_ERROR, PULP_ERROR_INVALID_ARGUMENT,
                     _("Unknown filter key “%s” (known: type, version, offset, limit)"), key);
        return NULL;
      }
  if (!lookup_filter (filter, "type", "&s", &type, error)
      || !lookup_filter (filter, "version", "t", &q->version, error)
      || !lookup_filter (filter, "offset", "t", &q->offset, error)
      || !lookup_filter (filter, "limit", "t", &q->limit, error))
    return NULL;
  q->type = g_strdup (type);
  if (q->limit > 10000)
    {
      g_set_error (error, PULP_ERROR, PULP_ERROR_INVALID_ARGUMENT,
                   _("“limit” may be at most 10000, not %llu"), (unsigned long long) q->limit);
      return NULL;
    }
  if (q->version > pulp_repository_get_latest_version (repo))
    {
      g_set_error (error, PULP_ERROR, PULP_ERROR_NOT_FOUND,
                   _("Repository “%s” has no version %llu (latest: %llu)"), pulp_repository_get_id (repo),
                   (unsigned long long) q->version,
                   (unsigned long long) pulp_repository_get_latest_version (repo));
      return NULL;
    }
  return g_steal_pointer (&q);
}

/* The database work of a ListUnits, in any thread. */
static GPtrArray *
unit_query_run (UnitQuery *q, GError **error)
{
  g_autofree gchar *mark = NULL;
  g_autoptr (GPtrArray) units = NULL;

  /* No repository holds that many units; the arithmetic below (and SQL's
   * signed integers) could not count them. */
  if (q->offset > (guint64) G_MAXINT64 - q->limit - 1)
    return g_ptr_array_new_with_free_func (g_object_unref);
  mark = pulp_repository_get_page_mark (q->repository, q->version, q->type, q->offset);

  /* Skipping offset units costs as much as reading them. Pages are read
   * from the mark of their offset when there is one; otherwise one unit
   * more is read in front of the page, to mark it for the next call with
   * this offset. The page's last unit marks the page after it. */
  if (mark != NULL)
    units = pulp_store_list_units (q->store, q->repo, q->version, q->type, mark, 0, q->limit, error);
  else if (q->offset > 0)
    units = pulp_store_list_units (q->store, q->repo, q->version, q->type, "", q->offset - 1,
                                   q->limit + 1, error);
  else
    units = pulp_store_list_units (q->store, q->repo, q->version, q->type, "", 0, q->limit, error);
  if (units == NULL)
    return NULL;
  if (mark == NULL && q->offset > 0 && units->len > 0)
    {
      pulp_repository_set_page_mark (q->repository, q->version, q->type, q->offset,
                                     pulp_unit_get_id (g_ptr_array_index (units, 0)));
      g_ptr_array_remove_index (units, 0);
    }
  if (units->len == q->limit && units->len > 0)
    pulp_repository_set_page_mark (q->repository, q->version, q->type, q->offset + q->limit,
                                   pulp_unit_get_id (g_ptr_array_index (units, units->len - 1)));
  for (guint i = 0; i < units->len; i++)
    {
      PulpUnit *unit = g_ptr_array_index (units, i);
      const gchar *sha256 = pulp_unit_get_sha256 (unit);
      if (*sha256 != '\0' && pulp_content_store_has (q->content, sha256))
        {
          g_autofree gchar *path = pulp_content_store_get_path (q->content, sha256);
          pulp_unit_set_path (unit, path);
        }
    }
  return g_steal_pointer (&units);
}

/**
 * pulp_engine_list_units:
 * @filter: (transfer floating): an `a{sv}`: `type` s, `version` t (default latest), `offset` t,
 *   `limit` t (default 1000, at most 10000)
 *
 * Returns: (transfer container) (element-type PulpUnit): a page of units in
 * a stable order (by unit id)
 */
GPtrArray *
pulp_engine_list_units (PulpEngine *self, PulpRepository *repo, GVariant *filter, GError **error)
{
  g_autoptr (GVariant) filter_ref = g_variant_ref_sink (filter);
  g_autoptr (UnitQuery) q = NULL;

  g_return_val_if_fail (PULP_IS_ENGINE (self), NULL);
  q = unit_query_new (self, repo, filter, error);
  return q != NULL ? unit_query_run (q, error) : NULL;
}

static void
list_units_in_thread (GTask *task, gpointer source, gpointer data, GCancellable *cancellable)
{
  GError *error = NULL;
  g_autoptr (GPtrArray) units = unit_query_run (data, &error);
  g_autoptr (GVariant) list = NULL;

  if (units == NULL)
    {
      g_task_return_error (task, error);
      return;
    }
  list = g_variant_ref_sink (pulp_unit_list_to_variant (units));
  if (g_variant_get_size (list) > PULP_MAX_LIST_BYTES)
    {
      g_autofree gchar *size = g_format_size (g_variant_get_size (list));
      g_autofree gchar *max = g_format_size (PULP_MAX_LIST_BYTES);
      g_task_return_new_error (task, PULP_ERROR, PULP_ERROR_INVALID_ARGUMENT,
                               _("These %u units take %s, more than a reply may carry (%s): "
                                 "ask for fewer with “limit”"),
                               units->len, size, max);
      return;
    }
  g_task_return_pointer (task, g_steal_pointer (&list), (GDestroyNotify) g_variant_unref);
}

/**
 * pulp_engine_list_units_async:
 * @filter: (transfer floating): as for pulp_engine_list_units()
 *
 * Checks @filter at once (errors reach @callback), then reads the page and
 * packs it as `aa{sv}` in a worker thread, so the main context never waits
 * for the database.
 */
void
pulp_engine_list_units_async (PulpEngine *self,
                              PulpRepository *repo,
                              GVariant *filter,
                              GAsyncReadyCallback callback,
                              gpointer user_data)
{
  g_autoptr (GVariant) filter_ref = g_variant_ref_sink (filter);
  g_autoptr (GTask) task = g_task_new (self, NULL, callback, user_data);
  GError *error = NULL;
  UnitQuery *q = unit_query_new (self, repo, filter, &error);

  if (q == NULL)
    {
      g_task_return_error (task, error);
      return;
    }
  g_task_set_task_data (task, q, (GDestroyNotify) unit_query_free);
  g_task_run_in_thread (task, list_units_in_thread);
}

/**
 * pulp_engine_list_units_finish:
 *
 * Returns: (transfer full): the units as `aa{sv}`, or %NULL
 */
GVariant *
pulp_engine_list_units_finish (PulpEngine *self, GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);
  return g_task_propagate_pointer (G_TASK (result), error);
}

/**
 * pulp_engine_list_versions:
 *
 * Returns: (transfer full) (element-type PulpStoreVersion): oldest first
 */
GArray *
pulp_engine_list_versions (PulpEngine *self, PulpRepository *repo, GError **error)
{
  g_return_val_if_fail (PULP_IS_ENGINE (self), NULL);
  return pulp_store_list_versions (self->store, pulp_repository_get_id (repo), error);
}

/**
 * pulp_engine_check_integrity:
 *
 * Returns: %TRUE if the database passes its integrity check
 */
gboolean
pulp_engine_check_integrity (PulpEngine *self, GError **error)
{
  g_return_val_if_fail (PULP_IS_ENGINE (self), FALSE);
  return pulp_store_check_integrity (self->store, error);
}

/* ---- upload, remove, rollback, orphan cleanup ---------------------------- */

/* The work of a task that changes a repository (or, for cleanup, the
 * store) without an importer's sync; each field is used by some kinds. */
typedef struct
{
  PulpStore *store;
  PulpContentStore *content;
  PulpImporter *importer;
  gchar *repo_id;
  gint fd;
  guint64 max_size;
  gchar *type;
  GVariant *metadata;
  GPtrArray *unit_ids;
  guint64 version;
} ContentJob;

static void
content_job_free (ContentJob *job)
{
  g_object_unref (job->store);
  g_object_unref (job->content);
  g_clear_object (&job->importer);
  g_free (job->repo_id);
  if (job->fd >= 0)
    close (job->fd);
  g_free (job->type);
  g_clear_pointer (&job->metadata, g_variant_unref);
  g_clear_pointer (&job->unit_ids, g_ptr_array_unref);
  g_free (job);
}

static ContentJob *
content_job_new (PulpEngine *self, const gchar *repo_id)
{
  ContentJob *job = g_new0 (ContentJob, 1);
  job->store = g_object_ref (self->store);
  job->content = g_object_ref (self->content);
  job->repo_id = g_strdup (repo_id);
  job->fd = -1;
  return job;
}

/* Makes the next version of the repository of @row from its latest:
 * without the units @remove names, then with @add (units carrying their
 * uploaded flag; @upsert, if given, is stored too). Everything happens
 * in one transaction, so the version appears whole or not at all. No
 * change makes no version. */
static gboolean
commit_version (ContentJob *job,
                PulpTask *task,
                const PulpStoreRepository *row,
                GPtrArray *upsert,
                GPtrArray *add,
                GPtrArray *remove,
                GVariantDict *summary,
                GError **error)
{
  guint64 version = row->latest_version;
  guint64 count = row->unit_count;

  if (add->len > 0 || remove->len > 0)
    {
      version++;
      count = count + add->len - remove->len;
      pulp_task_report_progress (task, "committing", 0, 1, NULL);
      /* content a new version references is durable before the version */
      if (add->len > 0 && !pulp_content_store_sync (job->content, error))
        return FALSE;
      /* (and rows a failed sync could not discard are not part of it) */
      if (!pulp_store_discard_pending (job->store, job->repo_id, error)
          || !pulp_store_begin (job->store, error))
        return FALSE;
      if (!pulp_store_remove_content (job->store, job->repo_id, version, remove, error)
          || !pulp_store_save_units (job->store, job->repo_id, version, upsert, add, error)
          || !pulp_store_add_version (job->store, job->repo_id, version, count,
                                      (guint64) g_get_real_time (), error))
        {
          pulp_store_rollback (job->store);
          return FALSE;
        }
      if (!pulp_store_commit (job->store, error))
        return FALSE;
      pulp_task_report_progress (task, "committing", 1, 1, NULL);
    }
  g_variant_dict_insert (summary, "added", "t", (guint64) add->len);
  g_variant_dict_insert (summary, "removed", "t", (guint64) remove->len);
  g_variant_dict_insert (summary, "version", "t", version);
  g_variant_dict_insert (summary, "unit-count", "t", count);
  return TRUE;
}

static GVariant *
fail_task (GError *local, const gchar *format, const gchar *repo_id, GError **error)
{
  pulp_error_convert (&local);
  g_prefix_error (&local, format, repo_id);
  g_propagate_error (error, local);
  return NULL;
}

static GVariant *
upload_run (PulpTask *task, gpointer data, GCancellable *cancellable, GError **error)
{
  ContentJob *job = data;
  g_auto (GVariantDict) summary;
  g_autoptr (GError) local = NULL;
  g_autoptr (PulpUnit) unit = NULL;
  g_autoptr (PulpStoreRepository) row = NULL;
  g_autoptr (GHashTable) present = NULL;
  g_autoptr (GPtrArray) same_path = NULL;
  g_autoptr (GPtrArray) units = g_ptr_array_new ();
  g_autoptr (GPtrArray) remove = g_ptr_array_new ();
  g_autoptr (GPtrArray) ids = g_ptr_array_new ();
  g_autofree gchar *tmp_path = NULL;
  g_autofree gchar *sha256 = NULL;
  guint64 size = 0;
  gpointer flag;

  g_variant_dict_init (&summary, NULL);
  pulp_task_report_progress (task, "reading", 0, 0, NULL);
  if (!pulp_content_store_read_fd (job->content, job->fd, job->max_size, &tmp_path, &sha256, &size,
                                   cancellable, &local))
    return fail_task (g_steal_pointer (&local), _("Upload to %s failed: "), job->repo_id, error);
  pulp_task_report_progress (task, "reading", size, size, NULL);

  /* the importer sees the content before it is stored: what it rejects
   * never reaches the content store */
  pulp_task_report_progress (task, "importing", 0, 1, NULL);
  unit = pulp_importer_import_upload (job->importer, job->type, tmp_path, job->metadata, &local);
  if (unit != NULL && !pulp_unit_check_size (unit, &local))
    g_clear_object (&unit);
  if (unit != NULL && *pulp_unit_get_sha256 (unit) == '\0')
    pulp_unit_set_sha256 (unit, sha256);
  if (unit != NULL && g_strcmp0 (pulp_unit_get_sha256 (unit), sha256) != 0)
    g_set_error (&local, PULP_ERROR, PULP_ERROR_FAILED,
                 _("the importer gave the unit the digest %s, but the content has %s"),
                 pulp_unit_get_sha256 (unit), sha256);
  if (local == NULL)
    {
      pulp_unit_set_size (unit, size);
      pulp_unit_set_uploaded (unit, TRUE);
      pulp_unit_set_path (unit, "");
      if (pulp_content_store_commit_temp (job->content, tmp_path, sha256, &local))
        g_clear_pointer (&tmp_path, g_free);
    }
  if (local != NULL)
    {
      if (tmp_path != NULL)
        g_unlink (tmp_path);
      return fail_task (g_steal_pointer (&local), _("Upload to %s failed: "), job->repo_id, error);
    }
  pulp_task_report_progress (task, "importing", 1, 1, NULL);

  row = find_repository_row (job->store, job->repo_id, &local);
  g_ptr_array_add (ids, (gpointer) pulp_unit_get_id (unit));
  if (row != NULL)
    present = pulp_store_find_content (job->store, job->repo_id, row->latest_version, ids, &local);
  /* a version holds one unit of a type at a path: the upload replaces
   * what is there (a newer file under the same name) */
  if (present != NULL)
    same_path = pulp_store_find_at_path (job->store, job->repo_id, row->latest_version, unit,
                                         &local);
  if (same_path == NULL)
    return fail_task (g_steal_pointer (&local), _("Upload to %s failed: "), job->repo_id, error);
  g_ptr_array_extend (remove, same_path, NULL, NULL);
  /* a unit a sync brought becomes an uploaded one: its row is replaced */
  flag = g_hash_table_lookup (present, pulp_unit_get_id (unit));
  if (flag != NULL && GPOINTER_TO_INT (flag) - 1 == 0)
    g_ptr_array_add (remove, (gpointer) pulp_unit_get_id (unit));
  if (flag == NULL || GPOINTER_TO_INT (flag) - 1 == 0)
    g_ptr_array_add (units, unit);
  if (!commit_version (job, task, row, units->len > 0 ? units : NULL, units, remove, &summary,
                       &local))
    return fail_task (g_steal_pointer (&local), _("Upload to %s failed: "), job->repo_id, error);
  g_variant_dict_insert (&summary, "unit-id", "s", pulp_unit_get_id (unit));
  g_variant_dict_insert (&summary, "sha256", "s", sha256);
  g_variant_dict_insert (&summary, "bytes", "t", size);
  return g_variant_dict_end (&summary);
}

/**
 * pulp_engine_upload:
 * @fd: a file descriptor open for reading on a regular file; the engine
 *   takes it over (and closes it, also on error)
 * @type: the unit type, one the repository's importer accepts
 * @metadata: an `a{sv}` for the importer
 * @uid: the user who asked
 *
 * Checks what can be checked without reading the content (the file
 * descriptor, its size against `upload-max-size`, type and metadata) and
 * queues a task that reads the content, lets the importer derive the unit
 * and commits a new version with the unit flagged uploaded.
 *
 * Returns: (transfer full): the queued task, or %NULL
 */
PulpTask *
pulp_engine_upload (PulpEngine *self,
                    PulpRepository *repo,
                    gint fd,
                    const gchar *type,
                    GVariant *metadata,
                    guint32 uid,
                    GError **error)
{
  PulpImporter *importer;
  ContentJob *job;
  struct stat st;
  gint flags;

  g_return_val_if_fail (PULP_IS_ENGINE (self), NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  importer = g_hash_table_lookup (self->importers, pulp_repository_get_importer (repo));
  flags = fd >= 0 ? fcntl (fd, F_GETFL) : -1;
  if (fd < 0 || flags < 0 || fstat (fd, &st) != 0)
    g_set_error_literal (error, PULP_ERROR, PULP_ERROR_INVALID_ARGUMENT,
                         _("The file descriptor passed to Upload is not open"));
  else if (S_ISDIR (st.st_mode))
    g_set_error_literal (error, PULP_ERROR, PULP_ERROR_INVALID_ARGUMENT,
                         _("The file descriptor passed to Upload is a directory, not a file"));
  else if (!S_ISREG (st.st_mode))
    g_set_error_literal (error, PULP_ERROR, PULP_ERROR_INVALID_ARGUMENT,
                         _("The file descriptor passed to Upload is not a regular file"));
  else if ((flags & O_PATH) != 0 || (flags & O_ACCMODE) == O_WRONLY)
    g_set_error_literal (error, PULP_ERROR, PULP_ERROR_INVALID_ARGUMENT,
                         _("The file descriptor passed to Upload is not open for reading"));
  else if (self->upload_max_size > 0 && (guint64) st.st_size > self->upload_max_size)
    g_set_error (error, PULP_ERROR, PULP_ERROR_INVALID_ARGUMENT,
                 _("The file is %llu bytes, more than the upload limit of %llu bytes"
                   " (upload-max-size)"),
                 (unsigned long long) st.st_size, (unsigned long long) self->upload_max_size);
  else if (importer == NULL)
    g_set_error (error, PULP_ERROR, PULP_ERROR_NOT_FOUND, _("No importer “%s” is loaded"),
                 pulp_repository_get_importer (repo));
  else if (!pulp_importer_validate_upload (importer, type, metadata, error))
    pulp_error_convert (error);
  if (error != NULL && *error != NULL)
    {
      if (fd >= 0)
        close (fd);
      return NULL;
    }

  job = content_job_new (self, pulp_repository_get_id (repo));
  job->importer = g_object_ref (importer);
  job->fd = fd;
  job->max_size = self->upload_max_size;
  job->type = g_strdup (type);
  job->metadata = g_variant_ref_sink (metadata);
  return queue_task (self, "upload", job->repo_id, uid, FALSE, upload_run, job,
                     (GDestroyNotify) content_job_free, error);
}

/* Describes the first few of @missing for an error message. */
static gchar *
describe_missing (GPtrArray *missing)
{
  GString *text = g_string_new (NULL);

  for (guint i = 0; i < missing->len && i < 3; i++)
    g_string_append_printf (text, "%s“%s”", i > 0 ? ", " : "",
                            (gchar *) g_ptr_array_index (missing, i));
  if (missing->len > 3)
    g_string_append_printf (text, _(" and %u more"), missing->len - 3);
  return g_string_free (text, FALSE);
}

/* Sets NotFound unless @version of @repo_id holds every unit of @ids. */
static gboolean
check_units_present (PulpStore *store, const gchar *repo_id, guint64 version, GPtrArray *ids,
                     GError **error)
{
  g_autoptr (GHashTable) found = pulp_store_find_content (store, repo_id, version, ids, error);
  g_autoptr (GPtrArray) missing = g_ptr_array_new ();
  g_autofree gchar *list = NULL;

  if (found == NULL)
    return FALSE;
  for (guint i = 0; i < ids->len; i++)
    if (!g_hash_table_contains (found, g_ptr_array_index (ids, i)))
      g_ptr_array_add (missing, g_ptr_array_index (ids, i));
  if (missing->len == 0)
    return TRUE;
  list = describe_missing (missing);
  g_set_error (error, PULP_ERROR, PULP_ERROR_NOT_FOUND,
               _("Version %llu of repository “%s” has no unit %s"), (unsigned long long) version,
               repo_id, list);
  return FALSE;
}

static GVariant *
remove_units_run (PulpTask *task, gpointer data, GCancellable *cancellable, GError **error)
{
  ContentJob *job = data;
  g_auto (GVariantDict) summary;
  g_autoptr (GError) local = NULL;
  g_autoptr (GPtrArray) none = g_ptr_array_new ();
  g_autoptr (PulpStoreRepository) row = find_repository_row (job->store, job->repo_id, &local);

  g_variant_dict_init (&summary, NULL);
  /* a sync queued before may have changed the repository since the call */
  if (row == NULL
      || !check_units_present (job->store, job->repo_id, row->latest_version, job->unit_ids,
                               &local)
      || g_cancellable_set_error_if_cancelled (cancellable, &local)
      || !commit_version (job, task, row, NULL, none, job->unit_ids, &summary, &local))
    return fail_task (g_steal_pointer (&local), _("Removing units from %s failed: "), job->repo_id,
                      error);
  return g_variant_dict_end (&summary);
}

/**
 * pulp_engine_remove_units:
 * @unit_ids: (array zero-terminated=1): ids of units of the latest version
 *
 * Queues a task that makes a new version without those units (uploaded
 * ones too: the caller asks for it by id). Ids the latest version does not
 * hold fail the call with %PULP_ERROR_NOT_FOUND.
 *
 * Returns: (transfer full): the queued task, or %NULL
 */
PulpTask *
pulp_engine_remove_units (PulpEngine *self,
                          PulpRepository *repo,
                          const gchar *const *unit_ids,
                          guint32 uid,
                          GError **error)
{
  g_autoptr (GPtrArray) ids = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GHashTable) seen = g_hash_table_new (g_str_hash, g_str_equal);
  ContentJob *job;

  g_return_val_if_fail (PULP_IS_ENGINE (self), NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  for (guint i = 0; unit_ids[i] != NULL; i++)
    if (g_hash_table_add (seen, (gpointer) unit_ids[i]))
      g_ptr_array_add (ids, g_strdup (unit_ids[i]));
  if (ids->len == 0)
    {
      g_set_error_literal (error, PULP_ERROR, PULP_ERROR_INVALID_ARGUMENT,
                           _("RemoveUnits needs at least one unit id"));
      return NULL;
    }
  if (!check_units_present (self->store, pulp_repository_get_id (repo),
                            pulp_repository_get_latest_version (repo), ids, error))
    return NULL;
  job = content_job_new (self, pulp_repository_get_id (repo));
  job->unit_ids = g_steal_pointer (&ids);
  return queue_task (self, "remove-units", job->repo_id, uid, FALSE, remove_units_run, job,
                     (GDestroyNotify) content_job_free, error);
}

static GVariant *
rollback_run (PulpTask *task, gpointer data, GCancellable *cancellable, GError **error)
{
  ContentJob *job = data;
  g_auto (GVariantDict) summary;
  g_autoptr (GError) local = NULL;
  g_autoptr (GHashTable) target = NULL;
  g_autoptr (GHashTable) current = NULL;
  g_autoptr (GPtrArray) add = g_ptr_array_new_with_free_func (g_object_unref);
  g_autoptr (GPtrArray) remove = g_ptr_array_new ();
  g_autoptr (PulpStoreRepository) row = find_repository_row (job->store, job->repo_id, &local);
  GHashTableIter iter;
  gpointer id, flag;

  g_variant_dict_init (&summary, NULL);
  pulp_task_report_progress (task, "comparing", 0, 0, NULL);
  if (row != NULL)
    target = pulp_store_load_content (job->store, job->repo_id, job->version, &local);
  if (target != NULL)
    current = pulp_store_load_content (job->store, job->repo_id, row->latest_version, &local);
  if (current == NULL)
    return fail_task (g_steal_pointer (&local), _("Rollback of %s failed: "), job->repo_id, error);

  /* a unit whose uploaded flag differs is replaced, so the flag returns too */
  g_hash_table_iter_init (&iter, current);
  while (g_hash_table_iter_next (&iter, &id, &flag))
    if (g_hash_table_lookup (target, id) != flag)
      g_ptr_array_add (remove, id);
  g_hash_table_iter_init (&iter, target);
  while (g_hash_table_iter_next (&iter, &id, &flag))
    if (g_hash_table_lookup (current, id) != flag)
      {
        PulpUnit *unit = pulp_unit_new_stored ("", id, "");
        pulp_unit_set_uploaded (unit, GPOINTER_TO_INT (flag) - 1);
        g_ptr_array_add (add, unit);
      }
  if (g_cancellable_set_error_if_cancelled (cancellable, &local)
      || !commit_version (job, task, row, NULL, add, remove, &summary, &local))
    return fail_task (g_steal_pointer (&local), _("Rollback of %s failed: "), job->repo_id, error);
  g_variant_dict_insert (&summary, "source-version", "t", job->version);
  return g_variant_dict_end (&summary);
}

/**
 * pulp_engine_rollback:
 * @version: an existing version of @repo (0: the empty start)
 *
 * Queues a task that makes a new version whose content (and uploaded
 * flags) equal those of @version; older versions stay, so a rollback can
 * itself be rolled back.
 *
 * Returns: (transfer full): the queued task, or %NULL
 */
PulpTask *
pulp_engine_rollback (PulpEngine *self,
                      PulpRepository *repo,
                      guint64 version,
                      guint32 uid,
                      GError **error)
{
  g_autoptr (GArray) versions = NULL;
  gboolean found = version == 0;
  ContentJob *job;

  g_return_val_if_fail (PULP_IS_ENGINE (self), NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  versions = pulp_store_list_versions (self->store, pulp_repository_get_id (repo), error);
  if (versions == NULL)
    return NULL;
  for (guint i = 0; i < versions->len; i++)
    found = found || g_array_index (versions, PulpStoreVersion, i).number == version;
  if (!found)
    {
      g_set_error (error, PULP_ERROR, PULP_ERROR_NOT_FOUND,
                   _("Repository “%s” has no version %llu (latest: %llu)"),
                   pulp_repository_get_id (repo), (unsigned long long) version,
                   (unsigned long long) pulp_repository_get_latest_version (repo));
      return NULL;
    }
  job = content_job_new (self, pulp_repository_get_id (repo));
  job->version = version;
  return queue_task (self, "rollback", job->repo_id, uid, FALSE, rollback_run, job,
                     (GDestroyNotify) content_job_free, error);
}

static GVariant *
cleanup_run (PulpTask *task, gpointer data, GCancellable *cancellable, GError **error)
{
  ContentJob *job = data;
  g_auto (GVariantDict) summary;
  g_autoptr (GError) local = NULL;
  g_autoptr (GHashTable) digests = NULL;
  guint64 units = 0, files = 0, bytes = 0;

  g_variant_dict_init (&summary, NULL);
  /* The scheduler runs this task alone, so no sync or upload is between
   * storing a file and recording its unit: every file no unit names is
   * garbage (also what a failed sync downloaded). */
  pulp_task_report_progress (task, "units", 0, 0, NULL);
  if (pulp_store_delete_orphan_units (job->store, &units, &local))
    {
      pulp_task_report_progress (task, "units", units, units, NULL);
      pulp_task_report_progress (task, "files", 0, 0, NULL);
      digests = pulp_store_list_unit_digests (job->store, &local);
    }
  if (digests == NULL
      || !pulp_content_store_remove_unreferenced (job->content, digests, &files, &bytes,
                                                  cancellable, &local))
    {
      pulp_error_convert (&local);
      g_prefix_error (&local, _("Orphan cleanup failed: "));
      g_propagate_error (error, g_steal_pointer (&local));
      return NULL;
    }
  pulp_task_report_progress (task, "files", files, files, NULL);
  g_variant_dict_insert (&summary, "removed", "t", units);
  g_variant_dict_insert (&summary, "files-removed", "t", files);
  g_variant_dict_insert (&summary, "bytes-freed", "t", bytes);
  return g_variant_dict_end (&summary);
}

/**
 * pulp_engine_cleanup_orphans:
 * @options: an `a{sv}`; no keys are defined yet
 *
 * Queues an exclusive task that deletes the units no version of any
 * repository holds and the stored files no unit names.
 *
 * Returns: (transfer full): the queued task, or %NULL
 */
PulpTask *
pulp_engine_cleanup_orphans (PulpEngine *self, GVariant *options, guint32 uid, GError **error)
{
  GVariantIter iter;
  const gchar *key;

  g_return_val_if_fail (PULP_IS_ENGINE (self), NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  g_variant_iter_init (&iter, options);
  if (g_variant_iter_next (&iter, "{&sv}", &key, NULL))
    {
      g_set_error (error, PULP_ERROR, PULP_ERROR_INVALID_ARGUMENT,
                   _("Unknown cleanup option “%s” (none are defined)"), key);
      return NULL;
    }
  return queue_task (self, "cleanup-orphans", "", uid, TRUE, cleanup_run,
                     content_job_new (self, ""), (GDestroyNotify) content_job_free, error);
}
