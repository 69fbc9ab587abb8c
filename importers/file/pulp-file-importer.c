/* SPDX-License-Identifier: LGPL-2.1-or-later */
#define G_LOG_DOMAIN "PulpFile"

#include <glib/gi18n-lib.h>
#include <string.h>

#include "pulp.h"
#include "pulp-file-manifest.h"

/* The type lives in a GIOModule, so nothing outside this file needs its
 * declaration: the core finds it through the extension point. */
#define PULP_TYPE_FILE_IMPORTER (pulp_file_importer_get_type ())
G_DECLARE_FINAL_TYPE (PulpFileImporter, pulp_file_importer, PULP, FILE_IMPORTER, GObject)

/**
 * PulpFileImporter:
 *
 * The `file` importer: a tree of files described by a PULP_MANIFEST at the
 * feed URL, one `relative/path,sha256,size` line per file.
 *
 * Its own configuration keys:
 * - `max-manifest-size` (u): the largest PULP_MANIFEST accepted, in MiB
 *   (1–4096, default 64); protects the daemon's memory from a feed that
 *   serves something endless.
 * - `skip-failed` (b): when some downloads fail, still commit a version with
 *   the files that did arrive and list the others in the task summary
 *   (`failed`, `failed-units`); by default (false) one failed file fails
 *   the sync and nothing is committed.
 *
 * Under the immediate policy a sync fetches every file of the manifest
 * that the content store lacks, also those of units the repository already
 * holds (synced on_demand before). The unit key is the path and the
 * digest, so a file that changed upstream is a new unit: a mirror sync
 * replaces the old one, an additive sync removes nothing and keeps both.
 */
struct _PulpFileImporter
{
  GObject parent_instance;
};

#define FILE_UNIT_TYPE "file"
#define MIB (G_GUINT64_CONSTANT (1024) * 1024)

/* Units are saved, and files fetched, this many at a time: memory stays
 * bounded by the batch, not by the size of the repository. */
#define BATCH_SIZE 1000
/* How often the comparison loop reports progress and checks cancellation. */
#define UNITS_CHECK_EVERY 256

static void pulp_file_importer_iface_init (PulpImporterInterface *iface);

G_DEFINE_DYNAMIC_TYPE_EXTENDED (PulpFileImporter,
                                pulp_file_importer,
                                G_TYPE_OBJECT,
                                G_TYPE_FLAG_FINAL,
                                G_IMPLEMENT_INTERFACE_DYNAMIC (PULP_TYPE_IMPORTER,
                                                               pulp_file_importer_iface_init))

static void
pulp_file_importer_class_init (PulpFileImporterClass *klass)
{
}

static void
pulp_file_importer_class_finalize (PulpFileImporterClass *klass)
{
}

static void
pulp_file_importer_init (PulpFileImporter *self)
{
}

static const gchar *
pulp_file_importer_get_description (PulpImporter *importer)
{
  return "Trees of files listed in a PULP_MANIFEST (relative/path,sha256,size)";
}

static gboolean
check_key_type (const gchar *key, GVariant *value, const GVariantType *type, GError **error)
{
  if (g_variant_is_of_type (value, type))
    return TRUE;
  g_set_error (error, PULP_ERROR, PULP_ERROR_INVALID_ARGUMENT,
               _("Configuration key “%s” of the file importer must be of type “%s”, "
                 "not “%s”"),
               key, (const gchar *) type, g_variant_get_type_string (value));
  return FALSE;
}

static gboolean
pulp_file_importer_validate_config (PulpImporter *importer, GVariant *config, GError **error)
{
  GVariantIter iter;
  const gchar *key;
  GVariant *value;

  if (!g_variant_is_of_type (config, G_VARIANT_TYPE_VARDICT))
    {
      g_set_error (error, PULP_ERROR, PULP_ERROR_INVALID_ARGUMENT,
                   _("The configuration must be of type “a{sv}”, not “%s”"),
                   g_variant_get_type_string (config));
      return FALSE;
    }

  g_variant_iter_init (&iter, config);
  while (g_variant_iter_next (&iter, "{&sv}", &key, &value))
    {
      g_autoptr (GVariant) owned = value;

      if (g_str_equal (key, "max-manifest-size"))
        {
          guint32 mib;

          if (!check_key_type (key, value, G_VARIANT_TYPE_UINT32, error))
            return FALSE;
          mib = g_variant_get_uint32 (value);
          if (mib < 1 || mib > PULP_FILE_MANIFEST_LIMIT_MAX_MIB)
            {
              g_set_error (error, PULP_ERROR, PULP_ERROR_INVALID_ARGUMENT,
                           _("Configuration key “max-manifest-size” is in MiB and must be "
                             "between 1 and %u, not %u"),
                           PULP_FILE_MANIFEST_LIMIT_MAX_MIB, mib);
              return FALSE;
            }
        }
      else if (g_str_equal (key, "skip-failed"))
        {
          if (!check_key_type (key, value, G_VARIANT_TYPE_BOOLEAN, error))
            return FALSE;
        }
      else
        {
          g_set_error (error, PULP_ERROR, PULP_ERROR_INVALID_ARGUMENT,
                       _("Unknown configuration key “%s” for the file importer"), key);
          return FALSE;
        }
    }
  return TRUE;
}

/* Dictionaries are written straight into serialized form by a writer of
 * the calling thread: a sync makes the key of every manifest entry, to
 * learn its id, and building GVariant trees (then serializing them for the
 * id) was most of the cost of a no-op resync of a large manifest. */
static PulpVardictWriter *
thread_writer (void)
{
  static GPrivate writer_of_thread = G_PRIVATE_INIT ((GDestroyNotify) pulp_vardict_writer_free);
  PulpVardictWriter *w = g_private_get (&writer_of_thread);

  if (w == NULL)
    {
      w = pulp_vardict_writer_new ();
      g_private_set (&writer_of_thread, w);
    }
  return w;
}

/* The unit key is the path *and* the digest: a file whose content changes
 * upstream becomes a new unit. Its entries are in name order, as its
 * canonical form wants them. */
static GVariant *
file_key_new (const gchar *relative_path, const gchar *sha256)
{
  PulpVardictWriter *w = thread_writer ();

  pulp_vardict_writer_add_string (w, "relative-path", relative_path);
  pulp_vardict_writer_add_string (w, "sha256", sha256);
  return pulp_vardict_writer_end (w);
}

/* The id of the unit file_unit_new() would make, without making it. */
static gchar *
file_unit_id (const gchar *relative_path, const gchar *sha256)
{
  g_autoptr (GVariant) key = g_variant_ref_sink (file_key_new (relative_path, sha256));
  g_autofree gchar *key_text = pulp_variant_encode (key, TRUE);

  return pulp_unit_compute_id (FILE_UNIT_TYPE, key_text);
}

static PulpUnit *
file_unit_new (const gchar *relative_path, const gchar *sha256, guint64 size)
{
  PulpUnit *unit = pulp_unit_new (FILE_UNIT_TYPE, file_key_new (relative_path, sha256));
  PulpVardictWriter *w = thread_writer ();

  pulp_vardict_writer_add_uint64 (w, "size", size);
  pulp_unit_set_metadata (unit, pulp_vardict_writer_end (w));
  pulp_unit_set_relative_path (unit, relative_path);
  pulp_unit_set_sha256 (unit, sha256);
  pulp_unit_set_size (unit, size);
  return unit;
}

static gboolean
check_cancelled (GCancellable *cancellable, GError **error)
{
  if (!g_cancellable_is_cancelled (cancellable))
    return TRUE;
  g_set_error_literal (error, PULP_ERROR, PULP_ERROR_CANCELLED, _("The sync was cancelled"));
  return FALSE;
}

/* What a sync does with one file of the manifest. */
typedef enum
{
  ENTRY_NEW,        /* the repository lacks its unit: saved (and fetched, with immediate) */
  ENTRY_KEPT,       /* the repository has its unit */
  ENTRY_FETCH,      /* the repository has its unit, the content store lacks its content */
} EntryState;

/* State of one sync_repo() call. */
typedef struct
{
  PulpSyncConduit *conduit;
  GCancellable *cancellable;
  const gchar *feed;
  gchar *feed_folder; /* what file URLs are resolved against */
  PulpFileManifest *manifest;
  gboolean on_demand;
  gboolean force;
  gboolean skip_failed;

  gboolean has_units;       /* the repository had units before this sync */
  gboolean was_complete;    /* the last sync left every unit with its content */
  gboolean scanned_units;   /* this sync read every unit of the repository */
  gboolean missing_outside; /* a unit without content is none of the manifest's */
  guint8 *states;           /* an EntryState for each manifest entry */
  guint64 scanned;
  GArray *new_entries; /* of guint: manifest indices to save (and fetch, with immediate) */

  /* the downloads stage, over all batches */
  guint64 files_base;
  guint64 files_total;
  guint64 bytes_base;
  guint64 bytes_total;
  gint64 started;

  guint64 downloaded;
  guint64 bytes;
  guint64 n_failed;
  GError *first_failure; /* or the first that found the disk full */
  gboolean no_space;     /* a download failed because the disk is full */
} FileSync;

static void
file_sync_clear (FileSync *sync)
{
  g_clear_pointer (&sync->feed_folder, g_free);
  g_clear_pointer (&sync->manifest, pulp_file_manifest_free);
  g_clear_pointer (&sync->states, g_free);
  g_clear_pointer (&sync->new_entries, g_array_unref);
  g_clear_error (&sync->first_failure);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (FileSync, file_sync_clear)

static GVariant *
download_details (FileSync *sync, guint64 bytes_done)
{
  gdouble seconds = (gdouble) (g_get_monotonic_time () - sync->started) / G_USEC_PER_SEC;
  guint64 rate = seconds > 0.001 ? (guint64) ((gdouble) bytes_done / seconds) : 0;
  GVariantBuilder b;

  g_variant_builder_init (&b, G_VARIANT_TYPE_VARDICT);
  g_variant_builder_add (&b, "{sv}", "bytes-done", g_variant_new_uint64 (bytes_done));
  g_variant_builder_add (&b, "{sv}", "bytes-total", g_variant_new_uint64 (sync->bytes_total));
  g_variant_builder_add (&b, "{sv}", "rate", g_variant_new_uint64 (rate));
  if (sync->n_failed > 0)
    g_variant_builder_add (&b, "{sv}", "failed", g_variant_new_uint64 (sync->n_failed));
  return g_variant_builder_end (&b);
}

/* Runs in the sync's thread, inside pulp_downloader_fetch_to_store(); the
 * numbers are those of the current batch. */
static void
on_download_progress (guint64 files_done,
                      guint64 files_total,
                      guint64 bytes_done,
                      guint64 bytes_total,
                      gpointer user_data)
{
  FileSync *sync = user_data;
  guint64 all_bytes = sync->bytes_base + bytes_done;

  pulp_sync_conduit_set_progress (sync->conduit, "downloads", sync->files_base + files_done,
                                  sync->files_total, download_details (sync, all_bytes));
}

/* Two common slips give a feed that is no manifest: the URL of the folder
 * that holds it (its listing, or a 403 or 404, comes back), or of a web
 * page. @body: what the feed sent, if anything. Says so in @error. */
static void
add_feed_hint (const gchar *shown_feed, GBytes *body, GError **error)
{
  gboolean folder = g_str_has_suffix (shown_feed, "/");
  gboolean web_page = FALSE;
  g_autofree gchar *message = NULL;

  if (body != NULL)
    {
      gsize length;
      const gchar *data = g_bytes_get_data (body, &length);
      g_autofree gchar *start = NULL;

      while (length > 0 && g_ascii_isspace (*data))
        data++, length--;
      start = g_ascii_strdown (data, MIN (length, 14));
      web_page = g_str_has_prefix (start, "<!doctype html") || g_str_has_prefix (start, "<html");
    }
  if (folder)
    /* TRANSLATORS: an error, then a hint; the last two %s make the URL of
     * the manifest in the folder the feed names */
    message = g_strdup_printf (_("%s (a file repository's feed is the URL of its %s, such as %s%s)"),
                               (*error)->message, PULP_FILE_MANIFEST_NAME, shown_feed,
                               PULP_FILE_MANIFEST_NAME);
  else if (web_page)
    /* TRANSLATORS: an error, then a hint */
    message = g_strdup_printf (_("%s (the server sent a web page: a file repository's feed is the "
                                 "URL of its %s)"),
                               (*error)->message, PULP_FILE_MANIFEST_NAME);
  else
    return;
  g_free ((*error)->message);
  (*error)->message = g_steal_pointer (&message);
}

static gboolean
fetch_manifest (FileSync *sync, GError **error)
{
  guint32 max_mib = pulp_sync_conduit_get_config_uint (sync->conduit, "max-manifest-size",
                                                       PULP_FILE_MANIFEST_DEFAULT_MAX_MIB);
  guint64 max_size = (guint64) max_mib * MIB;
  PulpDownloader *downloader;
  g_autoptr (GBytes) bytes = NULL;
  g_autofree gchar *shown = NULL;
  gconstpointer data;
  gsize length;

  pulp_sync_conduit_set_progress (sync->conduit, "metadata", 0, 1, NULL);

  downloader = pulp_sync_conduit_get_downloader (sync->conduit, error);
  if (downloader == NULL)
    return FALSE;
  shown = pulp_url_for_display (sync->feed);
  bytes = pulp_downloader_fetch_bytes (downloader, sync->feed, (gsize) MIN (max_size, G_MAXSIZE),
                                       sync->cancellable, error);
  if (bytes == NULL)
    {
      if (g_error_matches (*error, G_IO_ERROR, G_IO_ERROR_MESSAGE_TOO_LARGE))
        {
          /* upstream's document, refused by a setting the user can change */
          g_autoptr (GError) too_large = g_steal_pointer (error);
          g_set_error (error, PULP_ERROR, PULP_ERROR_INVALID_ARGUMENT,
                       _("%s is too large: %s (configuration key “max-manifest-size”, in MiB)"),
                       PULP_FILE_MANIFEST_NAME, too_large->message);
          return FALSE;
        }
      pulp_error_convert (error);
      if (!g_error_matches (*error, PULP_ERROR, PULP_ERROR_CANCELLED))
        {
          g_prefix_error (error, _("Cannot download %s: "), PULP_FILE_MANIFEST_NAME);
          add_feed_hint (shown, NULL, error);
        }
      return FALSE;
    }
  data = g_bytes_get_data (bytes, &length);
  pulp_sync_conduit_set_progress (sync->conduit, "metadata", 1, 1, NULL);

  sync->manifest = pulp_file_manifest_parse (data, length, max_size, sync->cancellable, error);
  if (sync->manifest == NULL)
    {
      pulp_error_convert (error);
      if (g_error_matches (*error, PULP_ERROR, PULP_ERROR_CANCELLED))
        g_prefix_error (error, _("The sync was cancelled: "));
      else
        {
          g_prefix_error (error, "%s: ", shown);
          add_feed_hint (shown, bytes, error);
        }
      return FALSE;
    }
  g_debug ("%s lists %u files", shown, pulp_file_manifest_get_n_entries (sync->manifest));
  return TRUE;
}

static gboolean
save_batch (FileSync *sync, GPtrArray *units, GError **error)
{
  if (units->len == 0)
    return TRUE;
  if (!pulp_sync_conduit_save_units (sync->conduit, units, error))
    return FALSE;
  g_ptr_array_set_size (units, 0);
  return TRUE;
}

/* Called for each file unit of the repository's current version, with its
 * `path` set when the content store has its content: finds the units of
 * the manifest whose content is missing (on_demand before, or a sync that
 * failed), and whether other units lack theirs. */
static gboolean
scan_unit (PulpUnit *unit, gpointer user_data, GError **error)
{
  FileSync *sync = user_data;
  const gchar *relative_path = pulp_unit_get_relative_path (unit);
  gboolean stored = *pulp_unit_get_path (unit) != '\0';
  guint index;

  if (++sync->scanned % UNITS_CHECK_EVERY == 0 && !check_cancelled (sync->cancellable, error))
    return FALSE;
  /* the entry's own unit: the key is the path and the digest */
  if (relative_path != NULL && pulp_file_manifest_lookup (sync->manifest, relative_path, &index)
      && g_strcmp0 (pulp_unit_get_sha256 (unit),
                    pulp_file_manifest_get_entry (sync->manifest, index)->sha256) == 0)
    {
      if (sync->states[index] == ENTRY_KEPT && !stored)
        sync->states[index] = ENTRY_FETCH;
      return TRUE;
    }
  sync->missing_outside |= !stored;
  return TRUE;
}

/* Sorts the manifest into units the repository already has (confirmed, so
 * a mirror sync keeps them) and new ones, and lists what to save (and to
 * fetch, with immediate) in new_entries. */
static gboolean
compare_units (FileSync *sync, GError **error)
{
  guint n = pulp_file_manifest_get_n_entries (sync->manifest);
  gboolean has_units = sync->has_units;

  sync->states = g_new0 (guint8, MAX (n, 1));
  for (guint i = 0; has_units && i < n; i++)
    {
      const PulpFileManifestEntry *e = pulp_file_manifest_get_entry (sync->manifest, i);
      g_autofree gchar *id = NULL;

      if (i % UNITS_CHECK_EVERY == 0)
        {
          if (!check_cancelled (sync->cancellable, error))
            return FALSE;
          pulp_sync_conduit_set_progress (sync->conduit, "units", i, n, NULL);
        }
      id = file_unit_id (e->relative_path, e->sha256);
      if (pulp_sync_conduit_has_unit (sync->conduit, id))
        {
          pulp_sync_conduit_keep_unit (sync->conduit, id);
          sync->states[i] = ENTRY_KEPT;
        }
    }

  /* The repository's units tell which have no content, which matters with
   * immediate. Reading them costs about as much as the rest of a no-op
   * resync, so it is skipped when it cannot find anything: when the policy
   * is on_demand, `force` fetches every file anyway, or the last sync left
   * every unit with its content and nothing changed the repository since
   * (the conduit drops the importer's state then). Content that vanished
   * from the store behind pulpd's back is only found by `force`. */
  if (has_units && !sync->on_demand && !sync->force && !sync->was_complete)
    {
      if (!pulp_sync_conduit_foreach_unit (sync->conduit, FILE_UNIT_TYPE, scan_unit, sync, error))
        return FALSE;
      sync->scanned_units = TRUE;
    }

  sync->new_entries = g_array_new (FALSE, FALSE, sizeof (guint));
  for (guint i = 0; i < n; i++)
    {
      switch ((EntryState) sync->states[i])
        {
        case ENTRY_KEPT:
          /* `force` saves (and, with immediate, fetches whatever is missing
           * from the content store) even units the repository has. */
          if (!sync->force)
            break;
          G_GNUC_FALLTHROUGH;
        case ENTRY_NEW:
        case ENTRY_FETCH:
          g_array_append_val (sync->new_entries, i);
          break;
        }
    }
  pulp_sync_conduit_set_progress (sync->conduit, "units", n, n, NULL);
  return TRUE;
}

/* on_demand: saves the new units, without content. */
static gboolean
save_new_units (FileSync *sync, GError **error)
{
  guint n = sync->new_entries->len;
  g_autoptr (GPtrArray) batch = g_ptr_array_new_with_free_func (g_object_unref);

  for (guint i = 0; i < n; i++)
    {
      guint index = g_array_index (sync->new_entries, guint, i);
      const PulpFileManifestEntry *e = pulp_file_manifest_get_entry (sync->manifest, index);

      if (i % UNITS_CHECK_EVERY == 0)
        {
          if (!check_cancelled (sync->cancellable, error))
            return FALSE;
          pulp_sync_conduit_set_progress (sync->conduit, "units", i, n, NULL);
        }
      g_ptr_array_add (batch, file_unit_new (e->relative_path, e->sha256, e->size));
      if (batch->len >= BATCH_SIZE && !save_batch (sync, batch, error))
        return FALSE;
    }
  if (!save_batch (sync, batch, error))
    return FALSE;
  pulp_sync_conduit_set_progress (sync->conduit, "units", n, n, NULL);
  return TRUE;
}

static void
record_failure (FileSync *sync, const PulpFileManifestEntry *e, const GError *failure)
{
  gboolean no_space = g_error_matches (failure, G_IO_ERROR, G_IO_ERROR_NO_SPACE);

  sync->n_failed++;
  pulp_sync_conduit_report_failed_unit (sync->conduit, e->relative_path, failure->message);
  /* A full disk is the failure to report: it is why the others will fail
   * too, and what the user must fix. */
  if (sync->first_failure == NULL || (no_space && !sync->no_space))
    {
      g_clear_error (&sync->first_failure);
      sync->first_failure = g_error_copy (failure);
    }
  sync->no_space |= no_space;
}

/* One batch of new files, from its downloads to its saved units. */
typedef struct
{
  guint from;
  guint to;
  GPtrArray *downloads;
  PulpDownloadJob *job;
} FileBatch;

static void
file_batch_free (FileBatch *batch)
{
  /* a job is always finished before its batch goes */
  g_warn_if_fail (batch->job == NULL);
  g_ptr_array_unref (batch->downloads);
  g_free (batch);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (FileBatch, file_batch_free)

/* Starts fetching new entries @from to @to. */
static FileBatch *
download_batch_start (FileSync *sync, PulpDownloader *downloader, guint from, guint to)
{
  g_autoptr (FileBatch) batch = g_new0 (FileBatch, 1);

  batch->from = from;
  batch->to = to;
  batch->downloads = g_ptr_array_new_with_free_func ((GDestroyNotify) pulp_download_free);
  for (guint i = from; i < to; i++)
    {
      guint index = g_array_index (sync->new_entries, guint, i);
      const PulpFileManifestEntry *e = pulp_file_manifest_get_entry (sync->manifest, index);
      g_autofree gchar *url = pulp_file_build_url (sync->feed_folder, e->relative_path);
      PulpDownload *d;

      d = pulp_download_new (url, "sha256", e->sha256, (gint64) e->size);
      d->user_data = GUINT_TO_POINTER (index);
      g_ptr_array_add (batch->downloads, d);
    }
  batch->job = pulp_downloader_start_to_store (downloader, batch->downloads, sync->cancellable);
  return g_steal_pointer (&batch);
}

/* Waits for @batch's files. Failures are counted, not fatal, so the sync
 * tries every file: what did arrive stays in the content store for the next
 * sync either way. */
static gboolean
download_batch_finish (FileSync *sync, PulpDownloader *downloader, FileBatch *batch,
                       GError **error)
{
  g_autoptr (GError) local_error = NULL;
  gboolean any_item_error = FALSE;
  gboolean ok;

  ok = pulp_downloader_finish_to_store (downloader, g_steal_pointer (&batch->job),
                                        on_download_progress, sync, &local_error);
  /* The files that arrived stay in the store, also when the sync is
   * cancelled (the next one will not fetch them again), and the summary
   * counts them; content the store already had (from another repository,
   * or from a sync that failed or was cancelled) was not downloaded now. */
  for (guint i = 0; i < batch->downloads->len; i++)
    {
      PulpDownload *d = g_ptr_array_index (batch->downloads, i);

      any_item_error |= d->error != NULL;
      if (d->error == NULL && d->fetched)
        {
          guint index = GPOINTER_TO_UINT (d->user_data);

          sync->downloaded++;
          sync->bytes += pulp_file_manifest_get_entry (sync->manifest, index)->size;
        }
    }
  if (g_cancellable_is_cancelled (sync->cancellable)
      || g_error_matches (local_error, G_IO_ERROR, G_IO_ERROR_CANCELLED)
      || g_error_matches (local_error, PULP_ERROR, PULP_ERROR_CANCELLED))
    {
      g_set_error_literal (error, PULP_ERROR, PULP_ERROR_CANCELLED, _("The sync was cancelled"));
      return FALSE;
    }

  /* A failure the downloader does not pin on any file (it could not start
   * at all) is not something skip-failed can skip. */
  if (!ok && !any_item_error)
    {
      if (local_error == NULL)
        g_set_error_literal (error, PULP_ERROR, PULP_ERROR_FAILED,
                             _("The downloader failed without a reason"));
      else
        g_propagate_error (error, g_steal_pointer (&local_error));
      pulp_error_convert (error);
      return FALSE;
    }
  /* (bytes_base grows as the batch is saved) */
  sync->files_base += batch->to - batch->from;
  return TRUE;
}

/* Saves the units of @batch's files that arrived (while the next batch
 * downloads). */
static gboolean
download_batch_save (FileSync *sync, FileBatch *batch, GError **error)
{
  g_autoptr (GPtrArray) units = g_ptr_array_new_with_free_func (g_object_unref);

  for (guint i = 0; i < batch->downloads->len; i++)
    {
      PulpDownload *d = g_ptr_array_index (batch->downloads, i);
      guint index = GPOINTER_TO_UINT (d->user_data);
      const PulpFileManifestEntry *e = pulp_file_manifest_get_entry (sync->manifest, index);
      PulpUnit *unit;

      if (d->error != NULL)
        {
          record_failure (sync, e, d->error);
          continue;
        }
      if (d->path == NULL || *d->path == '\0')
        {
          g_autoptr (GError) missing = g_error_new (PULP_ERROR, PULP_ERROR_FAILED,
                                                    _("%s: the downloader stored nothing"),
                                                    d->url);
          record_failure (sync, e, missing);
          continue;
        }
      /* Bytes of the files that arrived, as the downloader counts them
       * while it works: a failed file's bytes were taken back when it
       * failed. Saved before the next batch reports progress. */
      sync->bytes_base += e->size;
      unit = file_unit_new (e->relative_path, e->sha256, e->size);
      pulp_unit_set_path (unit, d->path);
      g_ptr_array_add (units, unit);
    }

  /* Once a file failed without skip-failed the version is thrown away, so
   * saving more would only cost time; downloading goes on all the same. */
  if (sync->n_failed > 0 && !sync->skip_failed)
    return TRUE;
  /* Written now, while the next batch downloads, rather than all at once
   * after the last file. */
  return save_batch (sync, units, error) && pulp_sync_conduit_flush (sync->conduit, error);
}

static gboolean
download_units (FileSync *sync, GError **error)
{
  guint n = sync->new_entries->len;
  PulpDownloader *downloader;

  sync->files_total = n;
  sync->bytes_total = 0;
  for (guint i = 0; i < n; i++)
    {
      guint index = g_array_index (sync->new_entries, guint, i);
      sync->bytes_total += pulp_file_manifest_get_entry (sync->manifest, index)->size;
    }
  sync->started = g_get_monotonic_time ();
  pulp_sync_conduit_set_progress (sync->conduit, "downloads", 0, n, download_details (sync, 0));

  downloader = pulp_sync_conduit_get_downloader (sync->conduit, error);
  if (downloader == NULL)
    return FALSE;
  sync->feed_folder = pulp_file_feed_folder (sync->feed, error);
  if (sync->feed_folder == NULL)
    return FALSE;

  /* Batch k is saved while batch k + 1 downloads: the database work and the
   * transfers use different threads, and neither waits for the other. */
  if (n > 0)
    {
      g_autoptr (FileBatch) current = download_batch_start (sync, downloader, 0,
                                                            MIN (n, BATCH_SIZE));

      while (current != NULL)
        {
          g_autoptr (FileBatch) next = NULL;
          g_autoptr (GError) save_error = NULL;

          if (!download_batch_finish (sync, downloader, current, error))
            return FALSE;
          if (current->to < n)
            {
              if (!check_cancelled (sync->cancellable, error))
                return FALSE;
              next = download_batch_start (sync, downloader, current->to,
                                           MIN (n, current->to + BATCH_SIZE));
            }
          if (!download_batch_save (sync, current, &save_error))
            {
              /* The next batch must end before the sync does. */
              if (next != NULL)
                pulp_downloader_finish_to_store (downloader, g_steal_pointer (&next->job), NULL,
                                                 NULL, NULL);
              g_propagate_error (error, g_steal_pointer (&save_error));
              return FALSE;
            }
          g_clear_pointer (&current, file_batch_free);
          current = g_steal_pointer (&next);
        }
    }
  pulp_sync_conduit_set_progress (sync->conduit, "downloads", n, n,
                                  download_details (sync, sync->bytes_base));

  pulp_sync_conduit_set_summary (sync->conduit, "failed", g_variant_new_uint64 (sync->n_failed));
  if (sync->n_failed == 0)
    return TRUE;
  if (!sync->skip_failed)
    {
      /* The code of the first failure (Network, Checksum…) tells the user
       * what kind of trouble it is; the first few files are named here,
       * each with its error in the log. */
      g_autoptr (GError) first = g_error_copy (sync->first_failure);
      g_autofree gchar *which = pulp_sync_conduit_name_failed_units (sync->conduit, 3);

      pulp_error_convert (&first);
      /* With the disk full, committing what did arrive is no way out; when
       * nothing arrived there is nothing to keep. */
      if (sync->no_space || sync->n_failed == n)
        g_set_error (error, PULP_ERROR, first->code, _("%llu of %u downloads failed (%s): %s"),
                     (unsigned long long) sync->n_failed, n, which, first->message);
      else
        g_set_error (error, PULP_ERROR, first->code,
                     _("%llu of %u downloads failed (%s): %s (set “skip-failed” to keep the "
                       "files that arrived)"),
                     (unsigned long long) sync->n_failed, n, which, first->message);
      return FALSE;
    }

  g_info ("%s: %" G_GUINT64_FORMAT " of %u downloads failed and were skipped; first: %s",
          pulp_sync_conduit_get_repository_id (sync->conduit), sync->n_failed, n,
          sync->first_failure->message);
  return TRUE;
}

static gboolean
read_policy (PulpSyncConduit *conduit,
             const gchar *key,
             const gchar *default_value,
             const gchar *other_value,
             gboolean *is_other,
             GError **error)
{
  const gchar *value = pulp_sync_conduit_get_config_string (conduit, key, default_value);

  if (value == NULL || *value == '\0')
    value = default_value;
  if (g_str_equal (value, default_value) || g_str_equal (value, other_value))
    {
      *is_other = g_str_equal (value, other_value);
      return TRUE;
    }
  g_set_error (error, PULP_ERROR, PULP_ERROR_INVALID_ARGUMENT,
               _("Unknown %s “%s” (expected “%s” or “%s”)"), key, value, default_value,
               other_value);
  return FALSE;
}

static gboolean
pulp_file_importer_sync_repo (PulpImporter *importer,
                              PulpSyncConduit *conduit,
                              GCancellable *cancellable,
                              GError **error)
{
  g_auto (FileSync) sync = { 0 };
  GVariantBuilder new_state;
  gboolean mirror = FALSE;
  gboolean complete;
  gboolean ok;
  GVariant *state;

  sync.conduit = conduit;
  sync.cancellable = cancellable;
  sync.feed = pulp_sync_conduit_get_config_string (conduit, "feed", NULL);
  sync.skip_failed = pulp_sync_conduit_get_config_boolean (conduit, "skip-failed", FALSE);
  sync.force = pulp_sync_conduit_get_config_boolean (conduit, "force", FALSE);
  sync.has_units = pulp_sync_conduit_get_unit_count (conduit) > 0;
  state = pulp_sync_conduit_get_importer_state (conduit);
  if (state != NULL)
    g_variant_lookup (state, "complete", "b", &sync.was_complete);

  if (sync.feed == NULL || *sync.feed == '\0')
    {
      g_set_error (error, PULP_ERROR, PULP_ERROR_INVALID_ARGUMENT,
                   _("The repository has no feed: set “feed” to the URL of a %s"),
                   PULP_FILE_MANIFEST_NAME);
      return FALSE;
    }
  if (!read_policy (conduit, "download-policy", "immediate", "on_demand", &sync.on_demand, error)
      || !read_policy (conduit, "sync-policy", "additive", "mirror", &mirror, error))
    return FALSE;

  if (!check_cancelled (cancellable, error) || !fetch_manifest (&sync, error))
    return FALSE;
  if (!check_cancelled (cancellable, error) || !compare_units (&sync, error))
    return FALSE;
  ok = sync.on_demand ? save_new_units (&sync, error) : download_units (&sync, error);
  /* what arrived stays in the store, also when the sync fails */
  pulp_sync_conduit_set_summary (conduit, "downloaded", g_variant_new_uint64 (sync.downloaded));
  pulp_sync_conduit_set_summary (conduit, "bytes", g_variant_new_uint64 (sync.bytes));
  if (!ok)
    return FALSE;

  if (!check_cancelled (cancellable, error))
    return FALSE;
  /* Only now that every listed file is confirmed or saved; the core keeps
   * uploaded units unless `remove-uploaded` says otherwise. */
  if (mirror && !pulp_sync_conduit_unassociate_unconfirmed (conduit, error))
    return FALSE;

  /* Whether every unit of the new version has its content, for the next
   * sync's shortcut: known when this sync read every unit, or when the
   * version before had them all and every new file arrived. */
  complete = !sync.on_demand && sync.n_failed == 0
             && (sync.scanned_units ? !sync.missing_outside
                                    : (sync.was_complete || !sync.has_units));
  g_variant_builder_init (&new_state, G_VARIANT_TYPE_VARDICT);
  g_variant_builder_add (&new_state, "{sv}", "complete", g_variant_new_boolean (complete));
  pulp_sync_conduit_set_importer_state (conduit, g_variant_builder_end (&new_state));
  return TRUE;
}

static gboolean
hash_file (const gchar *path, gchar **sha256, guint64 *size, GError **error)
{
  g_autoptr (GFile) file = g_file_new_for_path (path);
  g_autoptr (GFileInputStream) stream = NULL;
  g_autoptr (GChecksum) checksum = g_checksum_new (G_CHECKSUM_SHA256);
  g_autofree guchar *buffer = g_malloc (256 * 1024);
  guint64 total = 0;

  stream = g_file_read (file, NULL, error);
  if (stream == NULL)
    return FALSE;
  for (;;)
    {
      gssize n = g_input_stream_read (G_INPUT_STREAM (stream), buffer, 256 * 1024, NULL, error);
      if (n < 0)
        return FALSE;
      if (n == 0)
        break;
      g_checksum_update (checksum, buffer, (gsize) n);
      total += (guint64) n;
    }
  *sha256 = g_strdup (g_checksum_get_string (checksum));
  *size = total;
  return TRUE;
}

/* Everything about an upload that needs no content: the type and the
 * metadata, whose only key is a valid relative-path. */
static gboolean
pulp_file_importer_validate_upload (PulpImporter *importer,
                                    const gchar *type,
                                    GVariant *metadata,
                                    GError **error)
{
  const gchar *relative_path = NULL;
  GVariantIter iter;
  const gchar *key;
  GVariant *value;

  if (g_strcmp0 (type, FILE_UNIT_TYPE) != 0)
    {
      g_set_error (error, PULP_ERROR, PULP_ERROR_INVALID_ARGUMENT,
                   _("The file importer only accepts uploads of type “file”, not “%s”"),
                   type != NULL ? type : "");
      return FALSE;
    }
  if (metadata == NULL || !g_variant_is_of_type (metadata, G_VARIANT_TYPE_VARDICT))
    {
      g_set_error_literal (error, PULP_ERROR, PULP_ERROR_INVALID_ARGUMENT,
                           _("Upload metadata must be of type “a{sv}”"));
      return FALSE;
    }

  g_variant_iter_init (&iter, metadata);
  while (g_variant_iter_loop (&iter, "{&sv}", &key, &value))
    {
      if (!g_str_equal (key, "relative-path"))
        {
          g_set_error (error, PULP_ERROR, PULP_ERROR_INVALID_ARGUMENT,
                       _("Unknown upload metadata key “%s” for type “file” (it takes only "
                         "“relative-path”)"),
                       key);
          return FALSE;
        }
      if (!g_variant_is_of_type (value, G_VARIANT_TYPE_STRING))
        {
          g_set_error (error, PULP_ERROR, PULP_ERROR_INVALID_ARGUMENT,
                       _("Upload metadata “relative-path” must be of type “s”, "
                         "not “%s”"),
                       g_variant_get_type_string (value));
          return FALSE;
        }
    }
  if (!g_variant_lookup (metadata, "relative-path", "&s", &relative_path))
    {
      g_set_error_literal (error, PULP_ERROR, PULP_ERROR_INVALID_ARGUMENT,
                           _("Uploads of type “file” need the metadata key "
                             "“relative-path” (s): where the file goes in the repository"));
      return FALSE;
    }
  if (!pulp_file_check_relative_path (relative_path, strlen (relative_path), error))
    {
      g_prefix_error (error, _("Invalid upload metadata “relative-path”: "));
      return FALSE;
    }
  return TRUE;
}

static PulpUnit *
pulp_file_importer_import_upload (PulpImporter *importer,
                                  const gchar *type,
                                  const gchar *content_path,
                                  GVariant *metadata,
                                  GError **error)
{
  g_autofree gchar *sha256 = NULL;
  const gchar *relative_path = NULL;
  PulpUnit *unit;
  guint64 size = 0;

  if (!pulp_file_importer_validate_upload (importer, type, metadata, error))
    return NULL;
  g_variant_lookup (metadata, "relative-path", "&s", &relative_path);

  if (!hash_file (content_path, &sha256, &size, error))
    {
      pulp_error_convert (error);
      g_prefix_error (error, _("Cannot read the uploaded content %s: "), content_path);
      return NULL;
    }

  unit = file_unit_new (relative_path, sha256, size);
  pulp_unit_set_path (unit, content_path);
  return unit;
}

static void
pulp_file_importer_iface_init (PulpImporterInterface *iface)
{
  iface->get_description = pulp_file_importer_get_description;
  iface->validate_config = pulp_file_importer_validate_config;
  iface->sync_repo = pulp_file_importer_sync_repo;
  iface->import_upload = pulp_file_importer_import_upload;
  iface->validate_upload = pulp_file_importer_validate_upload;
}

/**
 * g_io_module_load:
 * @module: this module
 *
 * Registers the importer type and implements the importer extension point
 * as "file". GIO calls it again whenever it reloads the module; both calls
 * are idempotent.
 */
G_MODULE_EXPORT void
g_io_module_load (GIOModule *module)
{
  pulp_importer_ensure_extension_point ();
  pulp_file_importer_register_type (G_TYPE_MODULE (module));
  g_io_extension_point_implement (PULP_IMPORTER_EXTENSION_POINT_NAME, PULP_TYPE_FILE_IMPORTER,
                                  FILE_UNIT_TYPE, 0);
}

/**
 * g_io_module_unload:
 * @module: this module
 *
 * Nothing to release: the type stays registered with the type system.
 */
G_MODULE_EXPORT void
g_io_module_unload (GIOModule *module)
{
}

/**
 * g_io_module_query:
 *
 * Lets GIO's module cache know which extension point this module
 * implements without loading it.
 *
 * Returns: (transfer full): the extension point names
 */
G_MODULE_EXPORT gchar **
g_io_module_query (void)
{
  const gchar *const points[] = { PULP_IMPORTER_EXTENSION_POINT_NAME, NULL };
  return g_strdupv ((gchar **) points);
}
