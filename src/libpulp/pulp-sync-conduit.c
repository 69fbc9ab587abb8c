/* SPDX-License-Identifier: LGPL-2.1-or-later */
#define G_LOG_DOMAIN "PulpConduit"

#include <glib/gi18n-lib.h>

#include "pulp-error.h"
#include "pulp-sync-conduit-private.h"

/**
 * PulpSyncConduit:
 *
 * What an importer's sync_repo() talks to. Everything it changes goes into
 * a pending version (number latest + 1) whose rows are invisible until
 * pulp_sync_conduit_commit() records the version in one transaction; if
 * the sync fails, is cancelled or the daemon dies, the pending rows are
 * discarded and the repository stays as it was.
 *
 * A conduit is used from the one thread that runs sync_repo().
 */

/* Pages of units read for foreach_unit(): small enough that the page text
 * and its units stay in the CPU caches (5,000 made no-op resyncs slower). */
#define PAGE_SIZE 1000
/* Saved units wait in memory until this many, or this much metadata, go
 * to the database in one transaction. Each commit writes every page the
 * transaction touched to the log again, and unit ids are hashes, so a
 * batch touches most pages of the id index and of the content table:
 * a metadata-only sync of 50,000 rpm packages wrote 371 MB with 1 MiB,
 * 292 MB with 4 MiB, at the same peak RSS (68 MB), since the store writes
 * a flush row by row (SQLite) or in statements of at most 512 KiB. */
#define PENDING_MAX 10000
#define PENDING_MAX_BYTES (4 * 1024 * 1024)
/* How many failed units the summary lists (the log lists them all). */
#define MAX_FAILED_LISTED 100

struct _PulpSyncConduit
{
  GObject parent_instance;

  PulpStore *store;
  PulpContentStore *content;
  PulpTask *task;
  PulpDownloader *downloader;
  gchar *tmp_dir; /* see pulp_sync_conduit_get_tmp_dir() */
  gchar *repo_id;
  guint64 base_version;
  GVariant *config;
  gboolean remove_uploaded;

  GHashTable *current;   /* id → GINT_TO_POINTER (uploaded + 1), the base version */
  GHashTable *confirmed; /* ids of the base version the importer kept or saved */
  GHashTable *added;     /* id → GINT_TO_POINTER (uploaded + 1), new in the pending version */
  GHashTable *removed;   /* ids of the base version removed in the pending version */
  guint64 kept_uploaded;
  GVariantDict summary;
  GPtrArray *failed_units; /* relative paths, the first MAX_FAILED_LISTED */
  guint64 n_failed_units;   /* all that were reported */
  GPtrArray *pending_units; /* saved, not yet written */
  GPtrArray *pending_fresh; /* of those, the ones new to the repository */
  gsize pending_bytes;      /* their metadata, roughly */
  GVariant *importer_state;     /* what the last sync left, if still valid */
  GVariant *new_importer_state; /* what this sync leaves */
};

G_DEFINE_TYPE (PulpSyncConduit, pulp_sync_conduit, G_TYPE_OBJECT)

static void
pulp_sync_conduit_finalize (GObject *object)
{
  PulpSyncConduit *self = PULP_SYNC_CONDUIT (object);

  g_clear_object (&self->store);
  g_clear_object (&self->content);
  g_clear_object (&self->task);
  g_clear_object (&self->downloader);
  if (self->tmp_dir != NULL)
    pulp_content_store_remove_tmp_dir (self->tmp_dir);
  g_free (self->tmp_dir);
  g_free (self->repo_id);
  g_clear_pointer (&self->config, g_variant_unref);
  g_clear_pointer (&self->current, g_hash_table_unref);
  g_hash_table_unref (self->confirmed);
  g_hash_table_unref (self->added);
  g_hash_table_unref (self->removed);
  g_variant_dict_clear (&self->summary);
  g_ptr_array_unref (self->failed_units);
  g_ptr_array_unref (self->pending_units);
  g_ptr_array_unref (self->pending_fresh);
  g_clear_pointer (&self->importer_state, g_variant_unref);
  g_clear_pointer (&self->new_importer_state, g_variant_unref);
  G_OBJECT_CLASS (pulp_sync_conduit_parent_class)->finalize (object);
}

static void
pulp_sync_conduit_class_init (PulpSyncConduitClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = pulp_sync_conduit_finalize;
}

static void
pulp_sync_conduit_init (PulpSyncConduit *self)
{
  self->confirmed = g_hash_table_new (g_str_hash, g_str_equal);
  self->added = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  self->removed = g_hash_table_new (g_str_hash, g_str_equal);
  g_variant_dict_init (&self->summary, NULL);
  self->failed_units = g_ptr_array_new_with_free_func (g_free);
  self->pending_units = g_ptr_array_new_with_free_func (g_object_unref);
  self->pending_fresh = g_ptr_array_new_with_free_func (g_object_unref);
}

/**
 * pulp_sync_conduit_new: (skip)
 * @repo: the repository as stored when the sync starts
 * @config: the repository configuration with the sync's overrides applied
 *
 * Returns: (transfer full): a conduit for one sync of @repo, or %NULL
 */
PulpSyncConduit *
pulp_sync_conduit_new (PulpStore *store,
                       PulpContentStore *content,
                       PulpTask *task,
                       const PulpStoreRepository *repo,
                       GVariant *config,
                       GError **error)
{
  const gchar *repo_id = repo->id;
  guint64 latest_version = repo->latest_version;
  g_autoptr (PulpSyncConduit) self = g_object_new (PULP_TYPE_SYNC_CONDUIT, NULL);

  self->store = g_object_ref (store);
  self->content = g_object_ref (content);
  self->task = g_object_ref (task);
  self->repo_id = g_strdup (repo_id);
  self->base_version = latest_version;
  self->config = g_variant_ref (config);
  g_variant_lookup (config, "remove-uploaded", "b", &self->remove_uploaded);
  /* state left by a sync is only trusted while nothing changed the
   * repository since (a rollback or an upload makes a new version) */
  if (repo->importer_state_version == (gint64) latest_version && *repo->importer_state != '\0')
    self->importer_state = pulp_variant_decode (repo->importer_state, NULL);
  /* rows an earlier failed sync could not discard (the database was
   * locked, say) must not become part of this version */
  if (!pulp_store_discard_pending (store, repo_id, error))
    return NULL;
  self->current = pulp_store_load_content (store, repo_id, latest_version, error);
  if (self->current == NULL)
    return NULL;
  return g_steal_pointer (&self);
}

const gchar *
pulp_sync_conduit_get_repository_id (PulpSyncConduit *self)
{
  g_return_val_if_fail (PULP_IS_SYNC_CONDUIT (self), NULL);
  return self->repo_id;
}

/**
 * pulp_sync_conduit_get_config:
 *
 * Returns: (transfer none): the repository's configuration (`a{sv}`) with
 * this sync's option overrides applied
 */
GVariant *
pulp_sync_conduit_get_config (PulpSyncConduit *self)
{
  g_return_val_if_fail (PULP_IS_SYNC_CONDUIT (self), NULL);
  return self->config;
}

/**
 * pulp_sync_conduit_get_config_string:
 *
 * Returns: (transfer none): the string value of @key, or @default_value
 */
const gchar *
pulp_sync_conduit_get_config_string (PulpSyncConduit *self,
                                     const gchar *key,
                                     const gchar *default_value)
{
  const gchar *value = NULL;

  g_return_val_if_fail (PULP_IS_SYNC_CONDUIT (self), NULL);
  if (!g_variant_lookup (self->config, key, "&s", &value))
    return default_value;
  return value;
}

gboolean
pulp_sync_conduit_get_config_boolean (PulpSyncConduit *self, const gchar *key, gboolean default_value)
{
  gboolean value;

  g_return_val_if_fail (PULP_IS_SYNC_CONDUIT (self), default_value);
  if (!g_variant_lookup (self->config, key, "b", &value))
    return default_value;
  return value;
}

guint32
pulp_sync_conduit_get_config_uint (PulpSyncConduit *self, const gchar *key, guint32 default_value)
{
  guint32 value;

  g_return_val_if_fail (PULP_IS_SYNC_CONDUIT (self), default_value);
  if (!g_variant_lookup (self->config, key, "u", &value))
    return default_value;
  return value;
}

/**
 * pulp_sync_conduit_get_cancellable:
 *
 * Returns: (transfer none): cancelled when the sync is
 */
GCancellable *
pulp_sync_conduit_get_cancellable (PulpSyncConduit *self)
{
  g_return_val_if_fail (PULP_IS_SYNC_CONDUIT (self), NULL);
  return pulp_task_get_cancellable (self->task);
}

/**
 * pulp_sync_conduit_get_downloader:
 *
 * Returns: (transfer none): a downloader set up from the repository's
 * configuration (concurrency, retries, TLS, proxy, credentials) that
 * stores into the content store, or %NULL if the configuration is unusable
 */
PulpDownloader *
pulp_sync_conduit_get_downloader (PulpSyncConduit *self, GError **error)
{
  g_return_val_if_fail (PULP_IS_SYNC_CONDUIT (self), NULL);
  if (self->downloader == NULL)
    self->downloader = pulp_downloader_new (self->content, self->config, error);
  return self->downloader;
}

/**
 * pulp_sync_conduit_get_tmp_dir:
 *
 * A folder of this sync's own for temp files, such as upstream metadata
 * that is read once: it is on the state directory's file system, which
 * has room for content, unlike /tmp, which is often memory. It is removed
 * with everything in it when the sync ends, and after a crash when pulpd
 * next starts.
 *
 * Returns: (transfer none): the folder's path, or %NULL if it cannot be made
 */
const gchar *
pulp_sync_conduit_get_tmp_dir (PulpSyncConduit *self, GError **error)
{
  g_return_val_if_fail (PULP_IS_SYNC_CONDUIT (self), NULL);
  if (self->tmp_dir == NULL)
    self->tmp_dir = pulp_content_store_make_tmp_dir (self->content, "sync", error);
  return self->tmp_dir;
}

static gboolean
in_current (PulpSyncConduit *self, const gchar *id)
{
  return g_hash_table_contains (self->current, id) && !g_hash_table_contains (self->removed, id);
}

/**
 * pulp_sync_conduit_get_unit_count:
 *
 * Returns: how many units the pending version holds now
 */
guint64
pulp_sync_conduit_get_unit_count (PulpSyncConduit *self)
{
  g_return_val_if_fail (PULP_IS_SYNC_CONDUIT (self), 0);
  return g_hash_table_size (self->current) - g_hash_table_size (self->removed)
         + g_hash_table_size (self->added);
}

/**
 * pulp_sync_conduit_has_unit:
 * @unit_id: a unit id (see pulp_unit_get_id())
 *
 * Returns: %TRUE if the pending version holds the unit
 */
gboolean
pulp_sync_conduit_has_unit (PulpSyncConduit *self, const gchar *unit_id)
{
  g_return_val_if_fail (PULP_IS_SYNC_CONDUIT (self), FALSE);
  return in_current (self, unit_id) || g_hash_table_contains (self->added, unit_id);
}

/**
 * pulp_sync_conduit_foreach_unit:
 * @type: (nullable): only units of this type
 * @func: called for each unit of the repository's version before this sync,
 *   with its id, key, metadata, storage path, checksum and uploaded flag
 *
 * Reads the units page by page, so a large repository is never held in
 * memory whole.
 *
 * Returns: %FALSE if @func or the database failed
 */
gboolean
pulp_sync_conduit_foreach_unit (PulpSyncConduit *self,
                                const gchar *type,
                                PulpUnitFunc func,
                                gpointer user_data,
                                GError **error)
{
  g_autofree gchar *after = g_strdup ("");

  g_return_val_if_fail (PULP_IS_SYNC_CONDUIT (self), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  for (;;)
    {
      g_autoptr (GPtrArray) page = pulp_store_list_units (self->store, self->repo_id, self->base_version,
                                                          type, after, 0, PAGE_SIZE, error);
      if (page == NULL)
        return FALSE;
      for (guint i = 0; i < page->len; i++)
        {
          PulpUnit *unit = g_ptr_array_index (page, i);
          const gchar *sha256 = pulp_unit_get_sha256 (unit);
          if (*sha256 != '\0' && pulp_content_store_has (self->content, sha256))
            {
              g_autofree gchar *path = pulp_content_store_get_path (self->content, sha256);
              pulp_unit_set_path (unit, path);
            }
          if (!func (unit, user_data, error))
            return FALSE;
        }
      if (page->len < PAGE_SIZE)
        return TRUE;
      g_free (after);
      after = g_strdup (pulp_unit_get_id (g_ptr_array_index (page, page->len - 1)));
    }
}

/* Writes the buffered units in one transaction. Rows of the pending
 * version are invisible until the commit, so they may wait in memory;
 * writing many at once keeps SQLite from rewriting the same pages for
 * every small transaction (unit ids are hashes: inserts land all over the
 * tree). */
static gboolean
flush_pending (PulpSyncConduit *self, GError **error)
{
  if (self->pending_units->len == 0)
    return TRUE;
  if (!pulp_store_save_units (self->store, self->repo_id, self->base_version + 1,
                              self->pending_units, self->pending_fresh, error))
    return FALSE;
  g_ptr_array_set_size (self->pending_units, 0);
  g_ptr_array_set_size (self->pending_fresh, 0);
  self->pending_bytes = 0;
  return TRUE;
}

/**
 * pulp_sync_conduit_associate_units: (skip)
 *
 * Stores @units (a stored unit stays as it is, see
 * pulp_store_upsert_units()) and makes them part of the pending version,
 * keeping each unit's uploaded flag; units already there are confirmed.
 */
gboolean
pulp_sync_conduit_associate_units (PulpSyncConduit *self, GPtrArray *units, GError **error)
{
  for (guint i = 0; i < units->len; i++)
    {
      PulpUnit *unit = g_ptr_array_index (units, i);
      const gchar *id = pulp_unit_get_id (unit);
      gpointer key;

      if (!pulp_unit_check_size (unit, error))
        return FALSE;
      g_ptr_array_add (self->pending_units, g_object_ref (unit));
      self->pending_bytes += g_variant_get_size (pulp_unit_get_metadata (unit));
      if (in_current (self, id) && g_hash_table_lookup_extended (self->current, id, &key, NULL))
        g_hash_table_add (self->confirmed, key);
      else if (!g_hash_table_contains (self->added, id))
        {
          g_ptr_array_add (self->pending_fresh, g_object_ref (unit));
          g_hash_table_insert (self->added, g_strdup (id),
                               GINT_TO_POINTER (pulp_unit_get_uploaded (unit) + 1));
        }
    }
  /* rpm metadata runs to kilobytes a unit: bound the buffer by size too */
  if (self->pending_units->len >= PENDING_MAX || self->pending_bytes >= PENDING_MAX_BYTES)
    return flush_pending (self, error);
  return TRUE;
}

/**
 * pulp_sync_conduit_save_units:
 * @units: (element-type PulpUnit): units from upstream
 *
 * Adds each unit (matched by type and key) and associates it with the
 * repository, in one idempotent call: the batch form, and the fast path
 * for many units. Each unit's id is derived from its key. A unit already
 * stored (by this repository or another) keeps its metadata and relative
 * path: versions are immutable, and no feed may change what another
 * repository holds. It only gains its content digest if it had none.
 *
 * Returns: %TRUE on success
 */
gboolean
pulp_sync_conduit_save_units (PulpSyncConduit *self, GPtrArray *units, GError **error)
{
  g_return_val_if_fail (PULP_IS_SYNC_CONDUIT (self), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  for (guint i = 0; i < units->len; i++)
    pulp_unit_set_uploaded (g_ptr_array_index (units, i), FALSE);
  return pulp_sync_conduit_associate_units (self, units, error);
}

/**
 * pulp_sync_conduit_save_unit:
 *
 * The single-unit form of pulp_sync_conduit_save_units().
 *
 * Returns: (transfer none): the unit id, or %NULL on error
 */
const gchar *
pulp_sync_conduit_save_unit (PulpSyncConduit *self, PulpUnit *unit, GError **error)
{
  g_autoptr (GPtrArray) units = g_ptr_array_new ();

  g_return_val_if_fail (PULP_IS_SYNC_CONDUIT (self), NULL);
  g_return_val_if_fail (PULP_IS_UNIT (unit), NULL);

  g_ptr_array_add (units, unit);
  if (!pulp_sync_conduit_save_units (self, units, error))
    return NULL;
  return pulp_unit_get_id (unit);
}

/**
 * pulp_sync_conduit_flush:
 *
 * Writes the units saved so far to the database now instead of when the
 * buffer fills or at the commit. An importer that saves units in batches
 * while the files of the next batch download calls it after each batch:
 * the database work then overlaps the transfers instead of all of it
 * waiting for the last file.
 *
 * Returns: %TRUE on success
 */
gboolean
pulp_sync_conduit_flush (PulpSyncConduit *self, GError **error)
{
  g_return_val_if_fail (PULP_IS_SYNC_CONDUIT (self), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  return flush_pending (self, error);
}

/**
 * pulp_sync_conduit_keep_unit:
 * @unit_id: a unit the repository already holds
 *
 * Confirms that upstream still has this unit unchanged, without writing
 * anything; a mirror sync keeps confirmed units.
 */
void
pulp_sync_conduit_keep_unit (PulpSyncConduit *self, const gchar *unit_id)
{
  gpointer key;

  g_return_if_fail (PULP_IS_SYNC_CONDUIT (self));
  if (g_hash_table_lookup_extended (self->current, unit_id, &key, NULL))
    g_hash_table_add (self->confirmed, key);
}

static gboolean
remove_ids (PulpSyncConduit *self, GPtrArray *ids, GError **error)
{
  if (ids->len == 0)
    return TRUE;
  if (!flush_pending (self, error) || !pulp_store_begin (self->store, error))
    return FALSE;
  if (!pulp_store_remove_content (self->store, self->repo_id, self->base_version + 1, ids, error))
    {
      pulp_store_rollback (self->store);
      return FALSE;
    }
  if (!pulp_store_commit (self->store, error))
    return FALSE;
  for (guint i = 0; i < ids->len; i++)
    {
      const gchar *id = g_ptr_array_index (ids, i);
      gpointer key;
      if (g_hash_table_lookup_extended (self->current, id, &key, NULL))
        {
          g_hash_table_add (self->removed, key);
          g_hash_table_remove (self->confirmed, key);
        }
      g_hash_table_remove (self->added, id);
    }
  return TRUE;
}

static gboolean
may_remove (PulpSyncConduit *self, const gchar *id)
{
  gpointer flag = g_hash_table_lookup (self->current, id);
  if (flag == NULL)
    flag = g_hash_table_lookup (self->added, id);
  if (flag == NULL)
    return FALSE;
  if (GPOINTER_TO_INT (flag) - 1 && !self->remove_uploaded)
    {
      self->kept_uploaded++;
      return FALSE;
    }
  return TRUE;
}

/**
 * pulp_sync_conduit_unassociate_units:
 * @unit_ids: (array zero-terminated=1): ids of units to remove
 *
 * Removes units from the pending version. Units that were uploaded by
 * hand stay unless the configuration sets `remove-uploaded`; ids the
 * repository does not hold are ignored.
 *
 * Returns: %TRUE on success
 */
gboolean
pulp_sync_conduit_unassociate_units (PulpSyncConduit *self,
                                     const gchar *const *unit_ids,
                                     GError **error)
{
  g_autoptr (GPtrArray) ids = g_ptr_array_new ();

  g_return_val_if_fail (PULP_IS_SYNC_CONDUIT (self), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  for (guint i = 0; unit_ids[i] != NULL; i++)
    if (pulp_sync_conduit_has_unit (self, unit_ids[i]) && may_remove (self, unit_ids[i]))
      g_ptr_array_add (ids, (gpointer) unit_ids[i]);
  return remove_ids (self, ids, error);
}

/**
 * pulp_sync_conduit_unassociate_unconfirmed:
 *
 * The end of a mirror sync: removes every unit of the version before this
 * sync that the importer neither saved nor kept (uploaded units stay unless
 * `remove-uploaded` is set).
 *
 * Returns: %TRUE on success
 */
gboolean
pulp_sync_conduit_unassociate_unconfirmed (PulpSyncConduit *self, GError **error)
{
  g_autoptr (GPtrArray) ids = g_ptr_array_new ();
  GHashTableIter iter;
  gpointer id;

  g_return_val_if_fail (PULP_IS_SYNC_CONDUIT (self), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  g_hash_table_iter_init (&iter, self->current);
  while (g_hash_table_iter_next (&iter, &id, NULL))
    if (!g_hash_table_contains (self->confirmed, id) && !g_hash_table_contains (self->removed, id)
        && may_remove (self, id))
      g_ptr_array_add (ids, id);
  return remove_ids (self, ids, error);
}

/**
 * pulp_sync_conduit_set_progress:
 * @stage: the stage ("metadata", "units", "downloads", …)
 * @done: work done in the stage
 * @total: work in the stage, 0 if unknown
 * @details: (nullable) (transfer floating): an `a{sv}`: bytes-done,
 *   bytes-total, rate, failed
 *
 * Cheap enough to call for every unit: the core rate-limits what reaches
 * the bus.
 */
void
pulp_sync_conduit_set_progress (PulpSyncConduit *self,
                                const gchar *stage,
                                guint64 done,
                                guint64 total,
                                GVariant *details)
{
  g_return_if_fail (PULP_IS_SYNC_CONDUIT (self));
  pulp_task_report_progress (self->task, stage, done, total, details);
}

/**
 * pulp_sync_conduit_set_summary:
 * @value: (transfer floating): the value
 *
 * Adds @key to the summary of the sync task (e.g. `downloaded`, `bytes`,
 * `failed`).
 */
void
pulp_sync_conduit_set_summary (PulpSyncConduit *self, const gchar *key, GVariant *value)
{
  g_return_if_fail (PULP_IS_SYNC_CONDUIT (self));
  g_variant_dict_insert_value (&self->summary, key, value);
}

/**
 * pulp_sync_conduit_report_failed_unit:
 * @relative_path: where the unit that could not be stored belongs
 * @reason: why, as a person reads it
 *
 * Logs the failure, naming the repository, and lists the first 100 failed
 * units in the summary (`failed-units`): the log names them all.
 */
void
pulp_sync_conduit_report_failed_unit (PulpSyncConduit *self,
                                      const gchar *relative_path,
                                      const gchar *reason)
{
  g_return_if_fail (PULP_IS_SYNC_CONDUIT (self));
  g_message ("Sync of %s: %s: %s", self->repo_id, relative_path, reason);
  self->n_failed_units++;
  if (self->failed_units->len >= MAX_FAILED_LISTED)
    return;
  g_ptr_array_add (self->failed_units, g_strdup (relative_path));
  g_variant_dict_insert_value (
      &self->summary, "failed-units",
      g_variant_new_strv ((const gchar *const *) self->failed_units->pdata,
                          (gssize) self->failed_units->len));
}

/**
 * pulp_sync_conduit_name_failed_units:
 * @max: how many to name (at most 100)
 *
 * For the error of a sync some of whose units failed: the relative paths
 * of the first @max units reported with
 * pulp_sync_conduit_report_failed_unit(), and how many more there are.
 *
 * Returns: (transfer full): e.g. "a.iso, b.iso, c.iso and 7 more"
 */
gchar *
pulp_sync_conduit_name_failed_units (PulpSyncConduit *self, guint max)
{
  g_autoptr (GString) names = g_string_new (NULL);
  guint n;

  g_return_val_if_fail (PULP_IS_SYNC_CONDUIT (self), NULL);
  n = MIN (max, self->failed_units->len);
  for (guint i = 0; i < n; i++)
    g_string_append_printf (names, "%s%s", i > 0 ? ", " : "",
                            (const gchar *) g_ptr_array_index (self->failed_units, i));
  if (self->n_failed_units > n)
    return g_strdup_printf (_("%s and %llu more"), names->str,
                            (unsigned long long) (self->n_failed_units - n));
  return g_string_free (g_steal_pointer (&names), FALSE);
}

/**
 * pulp_sync_conduit_end_failed_summary: (skip)
 *
 * For a sync that failed or was cancelled: ends the summary with only what
 * the importer reported with pulp_sync_conduit_set_summary().
 *
 * Returns: (transfer floating): an `a{sv}`
 */
GVariant *
pulp_sync_conduit_end_failed_summary (PulpSyncConduit *self)
{
  g_return_val_if_fail (PULP_IS_SYNC_CONDUIT (self), NULL);
  return g_variant_dict_end (&self->summary);
}

/**
 * pulp_sync_conduit_get_importer_state:
 *
 * What the importer stored with pulp_sync_conduit_set_importer_state() in
 * the last successful sync, provided the repository is still at the
 * version that sync left (no upload, removal or rollback since). An
 * importer uses it for shortcuts such as skipping unchanged metadata.
 *
 * Returns: (transfer none) (nullable): an `a{sv}`, or %NULL
 */
GVariant *
pulp_sync_conduit_get_importer_state (PulpSyncConduit *self)
{
  g_return_val_if_fail (PULP_IS_SYNC_CONDUIT (self), NULL);
  return self->importer_state;
}

/**
 * pulp_sync_conduit_set_importer_state:
 * @state: (transfer floating): an `a{sv}`
 *
 * Keeps @state for the next sync; it is stored with the commit of this
 * sync, and dropped if the sync fails.
 */
void
pulp_sync_conduit_set_importer_state (PulpSyncConduit *self, GVariant *state)
{
  g_return_if_fail (PULP_IS_SYNC_CONDUIT (self));
  g_return_if_fail (g_variant_is_of_type (state, G_VARIANT_TYPE_VARDICT));
  g_clear_pointer (&self->new_importer_state, g_variant_unref);
  self->new_importer_state = g_variant_ref_sink (state);
}

/**
 * pulp_sync_conduit_commit: (skip)
 *
 * Makes the pending version the repository's latest, in one transaction,
 * after the content it references is durable on disk. A sync that changed
 * nothing makes no version.
 *
 * Returns: (transfer floating): the summary, or %NULL
 */
GVariant *
pulp_sync_conduit_commit (PulpSyncConduit *self, GError **error)
{
  guint64 added = g_hash_table_size (self->added);
  guint64 removed = g_hash_table_size (self->removed);
  guint64 count = pulp_sync_conduit_get_unit_count (self);
  guint64 version = self->base_version;

  g_autofree gchar *state = self->new_importer_state != NULL
                                ? pulp_variant_encode (self->new_importer_state, FALSE)
                                : g_strdup ("");
  gboolean changed = added > 0 || removed > 0;

  if (!flush_pending (self, error))
    return NULL;

  if (changed)
    {
      pulp_task_report_progress (self->task, "committing", 0, 1, NULL);
      if (!pulp_content_store_sync (self->content, error))
        return NULL;
      version = self->base_version + 1;
    }
  if (!pulp_store_begin (self->store, error))
    return NULL;
  if ((changed
       && !pulp_store_add_version (self->store, self->repo_id, version, count,
                                   (guint64) g_get_real_time (), error))
      || !pulp_store_set_importer_state (self->store, self->repo_id, state, version, error))
    {
      pulp_store_rollback (self->store);
      return NULL;
    }
  if (!pulp_store_commit (self->store, error))
    return NULL;
  if (changed)
    pulp_task_report_progress (self->task, "committing", 1, 1, NULL);
  g_variant_dict_insert (&self->summary, "added", "t", added);
  g_variant_dict_insert (&self->summary, "removed", "t", removed);
  g_variant_dict_insert (&self->summary, "unchanged", "t", count - added);
  g_variant_dict_insert (&self->summary, "version", "t", version);
  g_variant_dict_insert (&self->summary, "unit-count", "t", count);
  if (self->kept_uploaded > 0)
    g_variant_dict_insert (&self->summary, "kept-uploaded", "t", self->kept_uploaded);
  return g_variant_dict_end (&self->summary);
}

/**
 * pulp_sync_conduit_discard: (skip)
 *
 * Drops the pending version. If this fails (the database is gone), the
 * next start discards it.
 */
void
pulp_sync_conduit_discard (PulpSyncConduit *self)
{
  g_autoptr (GError) error = NULL;

  if (!pulp_store_discard_pending (self->store, self->repo_id, &error))
    g_warning ("could not discard the unfinished version of %s: %s", self->repo_id, error->message);
}
