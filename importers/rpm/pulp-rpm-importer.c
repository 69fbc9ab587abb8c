/* SPDX-License-Identifier: LGPL-2.1-or-later */
#define G_LOG_DOMAIN "PulpRpm"

#include <string.h>
#include <glib/gi18n-lib.h>
#include <gmodule.h>
#include <rpm/rpmlog.h>

#include "pulp.h"
#include "pulp-rpm-metadata.h"

/* Units are saved (and, under the immediate policy, downloaded) this many
 * at a time: the database likes batches, and memory stays bounded however
 * many packages the repository holds. */
#define BATCH_SIZE 1000

/* How often, in packages, the scan reports progress. */
#define PROGRESS_EVERY 64

/* repomd.xml is kept whole in the importer state up to this size (real
 * ones are a few KiB); beyond it only its SHA-256 is compared. */
#define MAX_KEPT_REPOMD (256 * 1024)

#define PULP_TYPE_RPM_IMPORTER (pulp_rpm_importer_get_type ())
G_DECLARE_FINAL_TYPE (PulpRpmImporter, pulp_rpm_importer, PULP, RPM_IMPORTER, GObject)

/**
 * PulpRpmImporter:
 *
 * The `rpm` importer: syncs yum/dnf repositories (repodata/repomd.xml and
 * primary metadata in gz, bz2, xz or zstd) and accepts uploaded packages.
 *
 * A sync reads primary twice, one package at a time, so memory does not
 * grow with the repository: the first pass keeps the packages the
 * repository already holds, checks every location, and counts what is new
 * (so download progress has true totals); the second pass downloads and
 * saves the new packages in batches. Under the on_demand policy the first
 * pass saves the new packages directly and there is no second pass.
 * Parsing is cheap next to downloading (about a second for 50,000
 * packages).
 *
 * The feed is the repository's base URL (the folder holding repodata/),
 * without query or fragment: CreateRepository and Configure refuse others
 * (validate_feed()), and a sync checks again before any request, for a
 * configuration stored before pulpd refused them.
 *
 * Summary keys besides the core's: `packages` t (distinct packages in
 * primary; one listed twice counts once), `downloaded` t and `bytes` t
 * (package files transferred by this sync; content the store already had
 * is not counted), `failed` t, `skipped` b, `repomd-sha256` s.
 *
 * Importer configuration keys: `skip-failed` b (default false): when a
 * package cannot be downloaded, save the others and report the count as
 * `failed` in the summary instead of failing the sync.
 *
 * No-op shortcut: a successful sync leaves (as importer state, which the
 * conduit only returns while the repository is still at the version that
 * sync left) the repomd.xml it read, byte for byte, with the feed and
 * policies it ran under. A later sync whose repomd.xml is identical ends
 * after that one request with `skipped=true`, unless the `force` option is
 * set or the earlier sync did less than this one would (on_demand before
 * immediate, additive before mirror, a mirror sync that kept uploaded units
 * before one with `remove-uploaded`, packages left out by skip-failed).
 * `force` also looks for units whose file is missing from the content
 * store, under the immediate policy.
 * Revision numbers are never trusted: upstreams change primary without
 * bumping them, but then repomd.xml changes (it holds primary's digest).
 */
struct _PulpRpmImporter
{
  GObject parent_instance;
};

static void pulp_rpm_importer_iface_init (PulpImporterInterface *iface);

G_DEFINE_DYNAMIC_TYPE_EXTENDED (PulpRpmImporter,
                                pulp_rpm_importer,
                                G_TYPE_OBJECT,
                                0,
                                G_IMPLEMENT_INTERFACE_DYNAMIC (PULP_TYPE_IMPORTER,
                                                               pulp_rpm_importer_iface_init))

typedef struct
{
  PulpSyncConduit *conduit;
  PulpDownloader *downloader; /* the conduit's */
  GCancellable *cancellable;
  const gchar *feed;
  gboolean on_demand;
  gboolean mirror;
  gboolean remove_uploaded; /* a mirror sync also removes uploaded units */
  gboolean skip_failed;
  gboolean force;
  GVariant *old_state; /* (nullable): what the last sync left, if still valid */
  gboolean skipped;
  gchar *repomd_sha256;
  GBytes *repomd_bytes; /* (nullable): repomd.xml as read, unless too large */

  guint64 packages_total; /* declared in primary, 0 if unknown */
  guint64 seen;           /* entries of primary so far */
  /* the first 64 bits of the id of each entry, to count packages listed
   * more than once as one (8 bytes a package) */
  GArray *seen_ids;
  guint64 packages; /* distinct packages of primary, at the end */
  guint64 kept;
  guint64 new_count; /* new packages to download (immediate) */
  guint64 new_bytes;

  GPtrArray *batch; /* PulpUnit */
  GHashTable *batch_ids;
  /* ids of units the repository holds without their file (synced
   * on_demand before): an immediate sync downloads them too; NULL when
   * on_demand or when every unit is known to have its file */
  GHashTable *missing;

  guint64 files_done; /* of earlier download batches */
  guint64 bytes_done;
  gint64 download_start;
  guint64 downloaded;
  guint64 downloaded_bytes;
  guint64 saved;
  guint64 failed;
  GError *download_error; /* the first failure, unless skip-failed */
} SyncState;

static void
sync_state_clear (SyncState *st)
{
  g_clear_pointer (&st->batch, g_ptr_array_unref);
  g_clear_pointer (&st->batch_ids, g_hash_table_unref);
  g_clear_pointer (&st->seen_ids, g_array_unref);
  g_clear_pointer (&st->missing, g_hash_table_unref);
  g_clear_pointer (&st->repomd_sha256, g_free);
  g_clear_pointer (&st->repomd_bytes, g_bytes_unref);
  g_clear_error (&st->download_error);
}

static gchar *
unit_metadata_string (PulpUnit *unit, const gchar *key)
{
  gchar *s = NULL;
  g_variant_lookup (pulp_unit_get_metadata (unit), key, "s", &s);
  return s;
}

static gchar *
unit_key_string (PulpUnit *unit, const gchar *key)
{
  gchar *s = NULL;
  g_variant_lookup (pulp_unit_get_key (unit), key, "s", &s);
  return s;
}

/* The URL of a package (its xml:base was checked in the first pass). */
static gchar *
unit_url (SyncState *st, PulpUnit *unit, GError **error)
{
  g_autofree gchar *base = unit_metadata_string (unit, "location-base");
  gchar *url = pulp_rpm_resolve_location (st->feed, pulp_unit_get_relative_path (unit), base,
                                          error);
  if (url == NULL)
    g_prefix_error (error, _("package %s: "), pulp_unit_get_relative_path (unit));
  return url;
}

static void
batch_add (SyncState *st, PulpUnit *unit)
{
  /* The same package listed twice in primary is one unit. */
  if (!g_hash_table_add (st->batch_ids, g_strdup (pulp_unit_get_id (unit))))
    return;
  g_ptr_array_add (st->batch, g_object_ref (unit));
}

static void
batch_reset (SyncState *st)
{
  g_ptr_array_set_size (st->batch, 0);
  g_hash_table_remove_all (st->batch_ids);
}

static gboolean
save_batch (SyncState *st, GError **error)
{
  if (st->batch->len == 0)
    return TRUE;
  if (!pulp_sync_conduit_save_units (st->conduit, st->batch, error))
    return FALSE;
  st->saved += st->batch->len;
  batch_reset (st);
  return TRUE;
}

static void
report_units (SyncState *st)
{
  pulp_sync_conduit_set_progress (st->conduit, "units", st->seen,
                                  MAX (st->packages_total, st->seen), NULL);
}

/* Whether an immediate sync must fetch the file of a unit the repository
 * already holds. */
static gboolean
needs_file (SyncState *st, PulpUnit *unit)
{
  return st->missing != NULL && g_hash_table_contains (st->missing, pulp_unit_get_id (unit));
}

/* First pass: one call per package of primary (whose location the parser
 * checked against the feed). */
static gboolean
scan_unit (PulpUnit *unit, gpointer user_data, GError **error)
{
  SyncState *st = user_data;
  const gchar *id = pulp_unit_get_id (unit);
  guint64 id_bits = 0;

  st->seen++;
  if (st->seen % PROGRESS_EVERY == 0)
    report_units (st);
  /* ids are hex digests: 64 of their bits tell packages apart (a collision
   * among a million packages has odds of about 1 in 3.7e7) */
  for (guint i = 0; i < 16 && g_ascii_isxdigit (id[i]); i++)
    id_bits = id_bits << 4 | (guint) g_ascii_xdigit_value (id[i]);
  g_array_append_val (st->seen_ids, id_bits);

  if (pulp_sync_conduit_has_unit (st->conduit, pulp_unit_get_id (unit)))
    {
      pulp_sync_conduit_keep_unit (st->conduit, pulp_unit_get_id (unit));
      if (!needs_file (st, unit))
        {
          st->kept++;
          return TRUE;
        }
    }
  else if (st->on_demand)
    {
      batch_add (st, unit);
      return st->batch->len < BATCH_SIZE || save_batch (st, error);
    }
  st->new_count++;
  st->new_bytes += pulp_unit_get_size (unit);
  return TRUE;
}

static gint
compare_u64 (gconstpointer a, gconstpointer b)
{
  guint64 x = *(const guint64 *) a;
  guint64 y = *(const guint64 *) b;
  return x < y ? -1 : x > y;
}

/* The number of distinct packages the scan saw (so far, if it failed). */
static guint64
count_packages (SyncState *st)
{
  guint64 *ids = (guint64 *) (gpointer) st->seen_ids->data;
  guint64 n = 0;

  g_array_sort (st->seen_ids, compare_u64);
  for (guint i = 0; i < st->seen_ids->len; i++)
    if (i == 0 || ids[i] != ids[i - 1])
      n++;
  return n;
}

static void
download_progress (guint64 files_done,
                   guint64 files_total,
                   guint64 bytes_done,
                   guint64 bytes_total,
                   gpointer user_data)
{
  SyncState *st = user_data;
  guint64 all_bytes = st->bytes_done + bytes_done;
  gint64 elapsed = g_get_monotonic_time () - st->download_start;
  guint64 rate = elapsed > 0 ? (guint64) (all_bytes * (gdouble) G_USEC_PER_SEC / elapsed) : 0;
  GVariantBuilder details;

  g_variant_builder_init (&details, G_VARIANT_TYPE_VARDICT);
  g_variant_builder_add (&details, "{sv}", "bytes-done", g_variant_new_uint64 (all_bytes));
  g_variant_builder_add (&details, "{sv}", "bytes-total",
                         g_variant_new_uint64 (MAX (st->new_bytes, all_bytes)));
  g_variant_builder_add (&details, "{sv}", "rate", g_variant_new_uint64 (rate));
  if (st->failed > 0)
    g_variant_builder_add (&details, "{sv}", "failed", g_variant_new_uint64 (st->failed));
  pulp_sync_conduit_set_progress (st->conduit, "downloads", st->files_done + files_done,
                                  MAX (st->new_count, st->files_done + files_done),
                                  g_variant_builder_end (&details));
}

/* Downloads the batch into the store, verified against each package's
 * declared digest, and saves the units that arrived. A failed package does
 * not stop the others: by default the sync fails at the end, after
 * everything was tried (what arrived stays in the store for the next
 * sync); with skip-failed it is counted and left out. */
static gboolean
download_batch (SyncState *st, GError **error)
{
  g_autoptr (GPtrArray) downloads = g_ptr_array_new_with_free_func (
    (GDestroyNotify) pulp_download_free);
  g_autoptr (GPtrArray) arrived = g_ptr_array_new_with_free_func (g_object_unref);
  g_autoptr (GError) fetch_error = NULL;
  gboolean any_failed = FALSE;
  guint64 arrived_bytes = 0;
  gboolean ok;

  if (st->batch->len == 0)
    return TRUE;
  for (guint i = 0; i < st->batch->len; i++)
    {
      PulpUnit *unit = g_ptr_array_index (st->batch, i);
      g_autofree gchar *url = unit_url (st, unit, error);
      g_autofree gchar *type = unit_key_string (unit, "checksum-type");
      g_autofree gchar *checksum = unit_key_string (unit, "checksum");
      guint64 size = pulp_unit_get_size (unit);
      PulpDownload *d;

      if (url == NULL)
        return FALSE;
      d = pulp_download_new (url, type, checksum, size > 0 ? (gint64) size : -1);
      d->user_data = unit;
      g_ptr_array_add (downloads, d);
    }

  ok = pulp_downloader_fetch_to_store (st->downloader, downloads, download_progress, st,
                                       st->cancellable, &fetch_error);
  /* The packages that arrived stay in the store, also when the sync is
   * cancelled (the next one will not fetch them again), and the summary
   * counts them; content the store already had (from another repository,
   * or from a sync that failed or was cancelled) was not downloaded now. */
  for (guint i = 0; i < downloads->len; i++)
    {
      PulpDownload *d = g_ptr_array_index (downloads, i);

      if (d->error == NULL && d->fetched)
        {
          st->downloaded++;
          st->downloaded_bytes += pulp_unit_get_size (d->user_data);
        }
    }
  if (g_cancellable_is_cancelled (st->cancellable))
    {
      if (fetch_error != NULL)
        g_propagate_error (error, g_steal_pointer (&fetch_error));
      else
        g_cancellable_set_error_if_cancelled (st->cancellable, error);
      return FALSE;
    }

  for (guint i = 0; i < downloads->len; i++)
    {
      PulpDownload *d = g_ptr_array_index (downloads, i);
      PulpUnit *unit = d->user_data;

      if (d->error != NULL || d->sha256 == NULL)
        {
          any_failed = TRUE;
          st->failed++;
          pulp_sync_conduit_report_failed_unit (st->conduit, pulp_unit_get_relative_path (unit),
                                                d->error != NULL ? d->error->message
                                                                 : "not downloaded");
          if (!st->skip_failed && st->download_error == NULL)
            {
              if (d->error != NULL)
                {
                  st->download_error = g_error_copy (d->error);
                  pulp_error_convert (&st->download_error);
                  g_prefix_error (&st->download_error, _("package %s: "),
                                  pulp_unit_get_relative_path (unit));
                }
              else
                st->download_error = g_error_new (PULP_ERROR, PULP_ERROR_FAILED,
                                                  _("package %s: not downloaded"),
                                                  pulp_unit_get_relative_path (unit));
            }
          continue;
        }
      pulp_unit_set_sha256 (unit, d->sha256);
      pulp_unit_set_path (unit, d->path);
      if (st->missing != NULL)
        g_hash_table_remove (st->missing, pulp_unit_get_id (unit));
      arrived_bytes += pulp_unit_get_size (unit);
      g_ptr_array_add (arrived, g_object_ref (unit));
    }
  /* A failure the downloader did not pin on a file (configuration, store). */
  if (!ok && !any_failed)
    {
      if (fetch_error != NULL)
        g_propagate_error (error, g_steal_pointer (&fetch_error));
      else
        g_set_error (error, PULP_ERROR, PULP_ERROR_FAILED, _("downloading packages failed"));
      return FALSE;
    }

  /* Bytes of the packages that arrived, as the downloader counts them
   * while it works: a failed package's bytes were taken back when it
   * failed. */
  st->files_done += downloads->len;
  st->bytes_done += arrived_bytes;
  batch_reset (st);

  /* Once the sync is bound to fail, its pending version is thrown away:
   * saving more units would be wasted work. */
  if (st->download_error != NULL || arrived->len == 0)
    return TRUE;
  if (!pulp_sync_conduit_save_units (st->conduit, arrived, error))
    return FALSE;
  st->saved += arrived->len;
  return TRUE;
}

/* Second pass (immediate): one call per package of primary. */
static gboolean
fetch_unit (PulpUnit *unit, gpointer user_data, GError **error)
{
  SyncState *st = user_data;

  if (pulp_sync_conduit_has_unit (st->conduit, pulp_unit_get_id (unit)) && !needs_file (st, unit))
    return TRUE;
  batch_add (st, unit);
  return st->batch->len < BATCH_SIZE || download_batch (st, error);
}

/* Fetches a metadata file into the private temp dir. */
static gchar *
fetch_metadata (SyncState *st,
                const gchar *tmpdir,
                const gchar *href,
                const gchar *base,
                const gchar *name,
                GError **error)
{
  g_autofree gchar *url = pulp_rpm_resolve_location (st->feed, href, base, error);
  g_autofree gchar *dest = NULL;

  if (url == NULL)
    return NULL;
  dest = g_build_filename (tmpdir, name, NULL);
  /* The downloader's errors name the URL, without the password a feed may
   * hold: the URL must not be added here. */
  if (!pulp_downloader_fetch_file (st->downloader, url, dest, st->cancellable, error))
    {
      pulp_error_convert (error);
      return NULL;
    }
  return g_steal_pointer (&dest);
}

/* A common slip: the URL of repodata/ or of repomd.xml as the feed, which
 * then looks for repodata/repodata/repomd.xml. Says so in @error, with the
 * feed it meant. */
static void
add_feed_hint (const gchar *feed, GError **error)
{
  static const gchar *const slips[] = { "/repodata/repomd.xml", "/repodata/", "/repodata" };
  g_autofree gchar *shown = NULL;
  g_autofree gchar *message = NULL;
  gsize keep = 0;

  if (g_error_matches (*error, PULP_ERROR, PULP_ERROR_CANCELLED))
    return;
  shown = pulp_url_for_display (feed);
  for (guint i = 0; i < G_N_ELEMENTS (slips) && keep == 0; i++)
    if (g_str_has_suffix (shown, slips[i]))
      keep = strlen (shown) - strlen (slips[i]) + 1;
  if (keep == 0)
    return;
  shown[keep] = '\0';
  /* TRANSLATORS: an error, then a hint; %s is the feed the user meant */
  message = g_strdup_printf (_("%s (an rpm repository's feed is the folder that holds repodata/, "
                               "such as %s)"),
                             (*error)->message, shown);
  g_free ((*error)->message);
  (*error)->message = g_steal_pointer (&message);
}

/* Whether this sync would change nothing: see the type's comment. */
static gboolean
can_skip (SyncState *st)
{
  const gchar *sha256 = NULL;
  const gchar *feed = NULL;
  const gchar *download_policy = NULL;
  const gchar *sync_policy = NULL;
  gboolean complete = FALSE;
  gboolean remove_uploaded = FALSE;
  g_autoptr (GVariant) kept = NULL;

  if (st->force || st->old_state == NULL)
    return FALSE;
  if (!g_variant_lookup (st->old_state, "repomd-sha256", "&s", &sha256)
      || !g_variant_lookup (st->old_state, "feed", "&s", &feed)
      || !g_variant_lookup (st->old_state, "download-policy", "&s", &download_policy)
      || !g_variant_lookup (st->old_state, "sync-policy", "&s", &sync_policy)
      || !g_variant_lookup (st->old_state, "complete", "b", &complete))
    return FALSE;
  if (!complete || g_strcmp0 (sha256, st->repomd_sha256) != 0 || g_strcmp0 (feed, st->feed) != 0)
    return FALSE;
  /* Byte for byte, not only the digest, whenever the file was kept. */
  kept = g_variant_lookup_value (st->old_state, "repomd", G_VARIANT_TYPE_BYTESTRING);
  if (st->repomd_bytes != NULL)
    {
      g_autoptr (GBytes) old = kept != NULL ? g_variant_get_data_as_bytes (kept) : NULL;
      if (old == NULL || !g_bytes_equal (old, st->repomd_bytes))
        return FALSE;
    }
  if (g_str_equal (download_policy, "on_demand") && !st->on_demand)
    return FALSE;
  if (!g_str_equal (sync_policy, "mirror") && st->mirror)
    return FALSE;
  /* A mirror sync that kept uploaded units left work for one that removes
   * them (states written before this was recorded kept them). */
  if (st->mirror && st->remove_uploaded
      && !(g_variant_lookup (st->old_state, "remove-uploaded", "b", &remove_uploaded)
           && remove_uploaded))
    return FALSE;
  return TRUE;
}

/* What the next sync compares with. @complete: the version holds every
 * package of primary (with its file, under the immediate policy). */
static GVariant *
new_state (SyncState *st, gboolean complete)
{
  GVariantBuilder b;

  g_variant_builder_init (&b, G_VARIANT_TYPE_VARDICT);
  g_variant_builder_add (&b, "{sv}", "repomd-sha256", g_variant_new_string (st->repomd_sha256));
  if (st->repomd_bytes != NULL)
    g_variant_builder_add (&b, "{sv}", "repomd",
                           g_variant_new_from_bytes (G_VARIANT_TYPE_BYTESTRING, st->repomd_bytes,
                                                     TRUE));
  g_variant_builder_add (&b, "{sv}", "feed", g_variant_new_string (st->feed));
  g_variant_builder_add (&b, "{sv}", "download-policy",
                         g_variant_new_string (st->on_demand ? "on_demand" : "immediate"));
  g_variant_builder_add (&b, "{sv}", "sync-policy",
                         g_variant_new_string (st->mirror ? "mirror" : "additive"));
  g_variant_builder_add (&b, "{sv}", "remove-uploaded",
                         g_variant_new_boolean (st->mirror && st->remove_uploaded));
  g_variant_builder_add (&b, "{sv}", "complete", g_variant_new_boolean (complete));
  g_variant_builder_add (&b, "{sv}", "packages", g_variant_new_uint64 (st->packages));
  return g_variant_builder_end (&b);
}

static gboolean
collect_missing (PulpUnit *unit, gpointer user_data, GError **error)
{
  SyncState *st = user_data;

  if (*pulp_unit_get_path (unit) == '\0')
    g_hash_table_add (st->missing, g_strdup (pulp_unit_get_id (unit)));
  return TRUE;
}

/* Under the immediate policy, finds the units of the repository that have
 * no file yet (synced on_demand earlier), unless the last sync left every
 * file in place and nothing changed the repository since. `force` always
 * looks: a file can also vanish from the content store behind pulpd's
 * back, and force is how a user asks for it again. */
static gboolean
find_missing_files (SyncState *st, GError **error)
{
  const gchar *download_policy = NULL;
  gboolean complete = FALSE;

  if (st->on_demand || pulp_sync_conduit_get_unit_count (st->conduit) == 0)
    return TRUE;
  if (!st->force && st->old_state != NULL
      && g_variant_lookup (st->old_state, "download-policy", "&s", &download_policy)
      && g_variant_lookup (st->old_state, "complete", "b", &complete)
      && g_str_equal (download_policy, "immediate") && complete)
    return TRUE;
  st->missing = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  if (!pulp_sync_conduit_foreach_unit (st->conduit, PULP_RPM_UNIT_TYPE, collect_missing, st,
                                       error))
    return FALSE;
  if (g_hash_table_size (st->missing) == 0)
    g_clear_pointer (&st->missing, g_hash_table_unref);
  return TRUE;
}

static gboolean
sync_in_dir (SyncState *st, const gchar *tmpdir, GError **error)
{
  g_autofree gchar *repomd_path = NULL;
  g_autofree gchar *repomd_url = NULL;
  g_autofree gchar *primary_name = NULL;
  g_autofree gchar *primary_download = NULL;
  g_autofree gchar *primary_path = NULL;
  g_autofree gchar *href_base = NULL;
  g_autoptr (PulpRpmRepomd) repomd = NULL;
  PulpRpmMetadataFile *primary;

  pulp_sync_conduit_set_progress (st->conduit, "metadata", 0, 2, NULL);
  repomd_path = fetch_metadata (st, tmpdir, "repodata/repomd.xml", NULL, "repomd.xml", error);
  if (repomd_path == NULL)
    {
      add_feed_hint (st->feed, error);
      return FALSE;
    }
  repomd_url = pulp_rpm_resolve_location (st->feed, "repodata/repomd.xml", NULL, NULL);
  repomd = pulp_rpm_repomd_parse (repomd_path, repomd_url, error);
  if (repomd == NULL)
    return FALSE;
  pulp_sync_conduit_set_summary (st->conduit, "repomd-sha256",
                                 g_variant_new_string (repomd->sha256));
  st->repomd_sha256 = g_strdup (repomd->sha256);
  {
    gchar *contents = NULL;
    gsize length = 0;
    if (g_file_get_contents (repomd_path, &contents, &length, NULL) && length <= MAX_KEPT_REPOMD)
      st->repomd_bytes = g_bytes_new_take (g_steal_pointer (&contents), length);
    g_free (contents);
  }
  if (can_skip (st))
    {
      /* the stage ends: primary is not needed */
      pulp_sync_conduit_set_progress (st->conduit, "metadata", 2, 2, NULL);
      st->skipped = TRUE;
      return TRUE;
    }
  pulp_sync_conduit_set_progress (st->conduit, "metadata", 1, 2, NULL);

  primary = repomd->primary;
  href_base = g_path_get_basename (primary->location_href);
  primary_name = g_strconcat ("primary-", href_base, NULL);
  primary_download = fetch_metadata (st, tmpdir, primary->location_href, primary->location_base,
                                     primary_name, error);
  if (primary_download == NULL)
    return FALSE;
  primary_path = pulp_rpm_prepare_metadata (primary_download, primary, PULP_RPM_MAX_OPEN_SIZE,
                                            st->cancellable, error);
  if (primary_path == NULL)
    return FALSE;
  pulp_sync_conduit_set_progress (st->conduit, "metadata", 2, 2, NULL);

  if (!find_missing_files (st, error))
    return FALSE;
  st->packages_total = pulp_rpm_primary_peek_count (primary_path);
  report_units (st);
  /* Under the immediate policy this scan only decides what to download:
   * the units it sees need no metadata. */
  if (!pulp_rpm_parse_primary_for_feed (primary_path, primary->location_href, st->feed,
                                        st->on_demand ? PULP_RPM_PARSE_DEFAULT
                                                      : PULP_RPM_PARSE_KEYS_ONLY,
                                        scan_unit, st, st->cancellable, error))
    return FALSE;
  if (!save_batch (st, error))
    return FALSE;
  report_units (st);

  if (!st->on_demand && st->new_count > 0)
    {
      st->download_start = g_get_monotonic_time ();
      download_progress (0, 0, 0, 0, st);
      if (!pulp_rpm_parse_primary_for_feed (primary_path, primary->location_href, NULL,
                                            PULP_RPM_PARSE_DEFAULT, fetch_unit, st,
                                            st->cancellable, error))
        return FALSE;
      if (!download_batch (st, error))
        return FALSE;
      download_progress (0, 0, 0, 0, st);
    }
  return TRUE;
}

static gboolean
pulp_rpm_importer_sync_repo (PulpImporter *importer,
                             PulpSyncConduit *conduit,
                             GCancellable *cancellable,
                             GError **error)
{
  SyncState st = { 0 };
  const gchar *tmpdir;
  gboolean ok;

  st.conduit = conduit;
  st.cancellable = cancellable;
  st.feed = pulp_sync_conduit_get_config_string (conduit, "feed", NULL);
  if (st.feed == NULL || *st.feed == '\0')
    {
      g_set_error (error, PULP_ERROR, PULP_ERROR_INVALID_ARGUMENT,
                   _("The rpm importer needs a feed: the URL of the folder holding repodata/"));
      return FALSE;
    }
  if (!pulp_rpm_check_feed (st.feed, error))
    return FALSE;
  st.on_demand = g_strcmp0 (pulp_sync_conduit_get_config_string (conduit, "download-policy",
                                                                 "immediate"),
                            "on_demand")
                 == 0;
  st.mirror = g_strcmp0 (pulp_sync_conduit_get_config_string (conduit, "sync-policy", "additive"),
                         "mirror")
              == 0;
  st.remove_uploaded = pulp_sync_conduit_get_config_boolean (conduit, "remove-uploaded", FALSE);
  st.skip_failed = pulp_sync_conduit_get_config_boolean (conduit, "skip-failed", FALSE);
  st.force = pulp_sync_conduit_get_config_boolean (conduit, "force", FALSE);
  st.old_state = pulp_sync_conduit_get_importer_state (conduit);
  st.downloader = pulp_sync_conduit_get_downloader (conduit, error);
  if (st.downloader == NULL)
    return FALSE;
  st.batch = g_ptr_array_new_with_free_func (g_object_unref);
  st.batch_ids = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  st.seen_ids = g_array_new (FALSE, FALSE, sizeof (guint64));

  /* Metadata stays out of the content store: it is only read once. */
  tmpdir = pulp_sync_conduit_get_tmp_dir (conduit, error);
  if (tmpdir == NULL)
    {
      sync_state_clear (&st);
      return FALSE;
    }
  ok = sync_in_dir (&st, tmpdir, error);

  if (ok && st.skipped)
    {
      /* Nothing changed: the state stays what the last sync left (the
       * conduit takes its own reference of the non-floating variant). */
      g_variant_lookup (st.old_state, "packages", "t", &st.packages);
      pulp_sync_conduit_set_importer_state (conduit, st.old_state);
    }
  else
    st.packages = count_packages (&st);
  pulp_sync_conduit_set_summary (conduit, "skipped", g_variant_new_boolean (st.skipped));
  pulp_sync_conduit_set_summary (conduit, "packages", g_variant_new_uint64 (st.packages));
  pulp_sync_conduit_set_summary (conduit, "downloaded", g_variant_new_uint64 (st.downloaded));
  pulp_sync_conduit_set_summary (conduit, "bytes", g_variant_new_uint64 (st.downloaded_bytes));
  pulp_sync_conduit_set_summary (conduit, "failed", g_variant_new_uint64 (st.failed));

  if (ok && st.download_error != NULL)
    {
      g_propagate_error (error, g_steal_pointer (&st.download_error));
      if (st.failed > 1)
        {
          g_autofree gchar *which = pulp_sync_conduit_name_failed_units (conduit, 3);
          g_prefix_error (error, _("%llu packages could not be downloaded (%s); the first: "),
                          (unsigned long long) st.failed, which);
        }
      ok = FALSE;
    }
  if (ok && !st.skipped)
    {
      if (st.mirror)
        ok = pulp_sync_conduit_unassociate_unconfirmed (conduit, error);
      if (ok)
        pulp_sync_conduit_set_importer_state (conduit, new_state (&st, st.failed == 0));
    }
  sync_state_clear (&st);
  return ok;
}

static gboolean
pulp_rpm_importer_validate_config (PulpImporter *importer, GVariant *config, GError **error)
{
  GVariantIter iter;
  const gchar *key;
  GVariant *value;

  g_variant_iter_init (&iter, config);
  while (g_variant_iter_loop (&iter, "{&sv}", &key, &value))
    {
      if (g_strcmp0 (key, "skip-failed") != 0)
        {
          g_set_error (error, PULP_ERROR, PULP_ERROR_INVALID_ARGUMENT,
                       _("Unknown configuration key “%s” for the rpm importer"), key);
          g_variant_unref (value);
          return FALSE;
        }
      if (!g_variant_is_of_type (value, G_VARIANT_TYPE_BOOLEAN))
        {
          g_set_error (error, PULP_ERROR, PULP_ERROR_INVALID_ARGUMENT,
                       _("Configuration key “%s” must be a boolean (b), not “%s”"), key,
                       g_variant_get_type_string (value));
          g_variant_unref (value);
          return FALSE;
        }
    }
  return TRUE;
}

static gboolean
pulp_rpm_importer_validate_feed (PulpImporter *importer, const gchar *feed, GError **error)
{
  return pulp_rpm_check_feed (feed, error);
}

/* Everything comes from the package header, so the caller may give no
 * metadata: a key is more likely a mistake than something to drop. */
static gboolean
pulp_rpm_importer_validate_upload (PulpImporter *importer,
                                   const gchar *type,
                                   GVariant *metadata,
                                   GError **error)
{
  if (g_strcmp0 (type, PULP_RPM_UNIT_TYPE) != 0)
    {
      g_set_error (error, PULP_ERROR, PULP_ERROR_INVALID_ARGUMENT,
                   _("The rpm importer accepts uploads of type “rpm”, not “%s”"), type);
      return FALSE;
    }
  if (metadata != NULL && g_variant_n_children (metadata) > 0)
    {
      g_set_error_literal (error, PULP_ERROR, PULP_ERROR_INVALID_ARGUMENT,
                           _("Uploads of type “rpm” take no metadata: everything is read "
                             "from the package header"));
      return FALSE;
    }
  return TRUE;
}

/* The caller's metadata is not used: everything comes from the header. */
static PulpUnit *
pulp_rpm_importer_import_upload (PulpImporter *importer,
                                 const gchar *type,
                                 const gchar *content_path,
                                 GVariant *metadata,
                                 GError **error)
{
  PulpUnit *unit;

  if (g_strcmp0 (type, PULP_RPM_UNIT_TYPE) != 0)
    {
      g_set_error (error, PULP_ERROR, PULP_ERROR_INVALID_ARGUMENT,
                   _("The rpm importer accepts uploads of type “rpm”, not “%s”"), type);
      return NULL;
    }
  unit = pulp_rpm_unit_from_rpm_file (content_path, error);
  if (unit == NULL)
    return NULL;
  pulp_unit_set_path (unit, content_path);
  pulp_unit_set_uploaded (unit, TRUE);
  return unit;
}

static const gchar *
pulp_rpm_importer_get_description (PulpImporter *importer)
{
  return "yum/dnf repositories (repodata/repomd.xml) of RPM packages";
}

static void
pulp_rpm_importer_iface_init (PulpImporterInterface *iface)
{
  iface->get_description = pulp_rpm_importer_get_description;
  iface->validate_config = pulp_rpm_importer_validate_config;
  iface->validate_feed = pulp_rpm_importer_validate_feed;
  iface->sync_repo = pulp_rpm_importer_sync_repo;
  iface->import_upload = pulp_rpm_importer_import_upload;
  iface->validate_upload = pulp_rpm_importer_validate_upload;
}

static void
pulp_rpm_importer_class_init (PulpRpmImporterClass *klass)
{
}

static void
pulp_rpm_importer_class_finalize (PulpRpmImporterClass *klass)
{
}

static void
pulp_rpm_importer_init (PulpRpmImporter *self)
{
}

/* libcreaterepo_c pulls in librpm and libxml2, which must not be unloaded
 * once used (they keep global state and exit handlers), so the module
 * stays resident even when GIO would unload an unused module. */
G_MODULE_EXPORT const gchar *
g_module_check_init (GModule *module)
{
  g_module_make_resident (module);
  return NULL;
}

/* librpm prints its warnings to stderr: one for every signed package read
 * without the signer's key, which pulpd never has, naming a temp file. What
 * matters reaches the caller as an error; the rest is for --verbose. */
static int
rpmlog_to_debug (rpmlogRec rec, rpmlogCallbackData data)
{
  const char *msg = rpmlogRecMessage (rec);
  gsize len = strlen (msg);

  while (len > 0 && msg[len - 1] == '\n')
    len--;
  g_debug ("librpm: %.*s", (int) len, msg);
  return 0;
}

/**
 * g_io_module_load:
 * @module: the #GIOModule of this importer
 *
 * Registers the `rpm` importer type on the "pulp-importer" extension point.
 */
G_MODULE_EXPORT void
g_io_module_load (GIOModule *module)
{
  rpmlogSetCallback (rpmlog_to_debug, NULL);
  pulp_rpm_importer_register_type (G_TYPE_MODULE (module));
  g_io_extension_point_implement (PULP_IMPORTER_EXTENSION_POINT_NAME, PULP_TYPE_RPM_IMPORTER,
                                  "rpm", 0);
}

/**
 * g_io_module_unload:
 * @module: the #GIOModule of this importer
 */
G_MODULE_EXPORT void
g_io_module_unload (GIOModule *module)
{
}
