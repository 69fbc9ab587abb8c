/* SPDX-License-Identifier: LGPL-2.1-or-later */
#define G_LOG_DOMAIN "PulpTestImporter"

#include <pulp.h>

/*
 * The "test" importer, built only for the tests: its feed is a file:// URL
 * of a small description, one command a line:
 *
 *   units N PREFIX VALUE   N units named PREFIX0…, metadata value VALUE
 *   unit NAME VALUE        one unit
 *   remove NAME            unassociate a unit explicitly
 *   fail-after N           fail once N units were handled
 *   block-after N PATH     once N units were handled, report the stage
 *                          "blocked" and wait until PATH exists (or the
 *                          sync is cancelled)
 *   total N                report N as the total of the "units" stage
 *   unit-bytes N           report bytes-done/bytes-total/rate details as if
 *                          each unit were N bytes
 *   failed-units N         with unit-bytes: report the last N units of the
 *                          total as failed, their bytes never done (as a
 *                          skip-failed sync does), and complete all the same
 *   pace-us N              take N microseconds per unit (a slow upstream,
 *                          so that clients see the progress move)
 *
 * It drives every conduit call: it reads the current units, keeps the
 * unchanged ones, saves the others in batches, removes what it is told and,
 * with sync-policy=mirror, everything it did not confirm.
 */

#define PULP_TYPE_TEST_IMPORTER (pulp_test_importer_get_type ())
G_DECLARE_FINAL_TYPE (PulpTestImporter, pulp_test_importer, PULP, TEST_IMPORTER, GObject)

struct _PulpTestImporter
{
  GObject parent_instance;
};

static void pulp_test_importer_iface_init (PulpImporterInterface *iface);

G_DEFINE_DYNAMIC_TYPE_EXTENDED (PulpTestImporter, pulp_test_importer, G_TYPE_OBJECT, G_TYPE_FLAG_FINAL,
                                G_IMPLEMENT_INTERFACE_DYNAMIC (PULP_TYPE_IMPORTER,
                                                               pulp_test_importer_iface_init))

/* The units the repository has, for comparison. Ids live in one string
 * chunk and each distinct metadata is kept once, so that a sync of
 * 100,000 units does not end by freeing 400,000 small blocks long gone
 * from the CPU caches. */
typedef struct
{
  GStringChunk *ids;
  GHashTable *metadata; /* GBytes, each distinct serialized metadata once */
  GHashTable *by_id;    /* id → its metadata (in the set above) */
} Existing;

static void
existing_clear (Existing *existing)
{
  g_clear_pointer (&existing->by_id, g_hash_table_unref);
  g_clear_pointer (&existing->metadata, g_hash_table_unref);
  g_clear_pointer (&existing->ids, g_string_chunk_free);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (Existing, existing_clear)

/* The metadata bytes as the set holds them, or NULL if no unit has them. */
static GBytes *
existing_find_metadata (Existing *existing, GVariant *metadata)
{
  g_autoptr (GBytes) bytes = g_variant_get_data_as_bytes (metadata);
  return g_hash_table_lookup (existing->metadata, bytes);
}

static gboolean
remember_unit (PulpUnit *unit, gpointer user_data, GError **error)
{
  Existing *existing = user_data;
  GBytes *bytes = existing_find_metadata (existing, pulp_unit_get_metadata (unit));

  if (bytes == NULL)
    {
      bytes = g_variant_get_data_as_bytes (pulp_unit_get_metadata (unit));
      g_hash_table_add (existing->metadata, bytes);
    }
  g_hash_table_insert (existing->by_id, g_string_chunk_insert (existing->ids, pulp_unit_get_id (unit)),
                       bytes);
  return TRUE;
}

typedef struct
{
  PulpSyncConduit *conduit;
  Existing *existing;
  GPtrArray *batch;
  guint64 handled;
  guint64 fail_after;
  guint64 block_after;
  gchar *block_path;
  guint64 total;
  guint64 unit_bytes;
  guint64 failed_units;
  guint64 pace_us;
  gint64 started;
  gchar *metadata_value;
  GVariant *metadata;     /* of metadata_value */
  GBytes *metadata_known; /* the same, if some existing unit has it */
} Run;

static void
run_clear (Run *run)
{
  g_free (run->metadata_value);
  g_clear_pointer (&run->metadata, g_variant_unref);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (Run, run_clear)

static GVariant *
one_entry (const gchar *key, const gchar *value)
{
  GVariant *entry = g_variant_new_dict_entry (g_variant_new_string (key),
                                              g_variant_new_variant (g_variant_new_string (value)));
  return g_variant_new_array (G_VARIANT_TYPE ("{sv}"), &entry, 1);
}

static gboolean
flush (Run *run, GError **error)
{
  if (run->batch->len == 0)
    return TRUE;
  if (!pulp_sync_conduit_save_units (run->conduit, run->batch, error))
    return FALSE;
  g_ptr_array_set_size (run->batch, 0);
  return TRUE;
}

static gboolean
handle_unit (Run *run, const gchar *name, const gchar *value, GCancellable *cancellable, GError **error)
{
  g_autoptr (PulpUnit) unit = NULL;
  GBytes *known;

  /* units of one description line share their metadata: built once, and
   * found once among the kept metadata of existing units; a unit is
   * unchanged if its id has those very bytes */
  if (run->metadata == NULL || !g_str_equal (run->metadata_value, value))
    {
      g_clear_pointer (&run->metadata, g_variant_unref);
      g_free (run->metadata_value);
      run->metadata = g_variant_ref_sink (one_entry ("value", value));
      run->metadata_value = g_strdup (value);
      run->metadata_known = existing_find_metadata (run->existing, run->metadata);
    }
  unit = pulp_unit_new ("test", one_entry ("name", name));
  known = g_hash_table_lookup (run->existing->by_id, pulp_unit_get_id (unit));
  if (known != NULL && known == run->metadata_known)
    pulp_sync_conduit_keep_unit (run->conduit, pulp_unit_get_id (unit));
  else
    {
      pulp_unit_set_metadata (unit, run->metadata);
      pulp_unit_set_relative_path (unit, name);
      g_ptr_array_add (run->batch, g_steal_pointer (&unit));
    }
  if (run->batch->len >= 1000 && !flush (run, error))
    return FALSE;

  run->handled++;
  if (run->pace_us > 0)
    g_usleep (run->pace_us);
  if (run->unit_bytes > 0)
    {
      gint64 elapsed = MAX (g_get_monotonic_time () - run->started, 1);
      guint64 good = run->failed_units == 0
                       ? run->handled
                       : MIN (run->handled, run->total - MIN (run->failed_units, run->total));
      guint64 bytes = good * run->unit_bytes;
      GVariantDict details;

      g_variant_dict_init (&details, NULL);
      g_variant_dict_insert (&details, "bytes-done", "t", bytes);
      if (run->handled > good)
        g_variant_dict_insert (&details, "failed", "t", run->handled - good);
      g_variant_dict_insert (&details, "bytes-total", "t", run->total * run->unit_bytes);
      g_variant_dict_insert (&details, "rate", "t", (guint64) (bytes * G_USEC_PER_SEC / elapsed));
      pulp_sync_conduit_set_progress (run->conduit, "units", run->handled, run->total,
                                      g_variant_dict_end (&details));
    }
  else
    pulp_sync_conduit_set_progress (run->conduit, "units", run->handled, run->total, NULL);
  if (run->fail_after > 0 && run->handled >= run->fail_after)
    {
      if (!flush (run, error))
        return FALSE;
      g_set_error (error, PULP_ERROR, PULP_ERROR_FAILED, "test importer: failing as told after %" G_GUINT64_FORMAT " units",
                   run->handled);
      return FALSE;
    }
  if (run->block_path != NULL && run->handled == run->block_after)
    {
      if (!flush (run, error))
        return FALSE;
      pulp_sync_conduit_set_progress (run->conduit, "blocked", run->handled, 0, NULL);
      /* waits for a file the test creates; an importer may poll, a test may not */
      while (!g_file_test (run->block_path, G_FILE_TEST_EXISTS))
        {
          if (g_cancellable_set_error_if_cancelled (cancellable, error))
            return FALSE;
          g_usleep (10 * 1000);
        }
    }
  return g_cancellable_set_error_if_cancelled (cancellable, error) == FALSE;
}

static gboolean
pulp_test_importer_sync_repo (PulpImporter *importer,
                              PulpSyncConduit *conduit,
                              GCancellable *cancellable,
                              GError **error)
{
  const gchar *feed = pulp_sync_conduit_get_config_string (conduit, "feed", "");
  g_autoptr (GFile) file = g_file_new_for_uri (feed);
  g_autofree gchar *text = NULL;
  g_auto (GStrv) lines = NULL;
  g_auto (Existing) existing = { g_string_chunk_new (64 * 1024),
                                 g_hash_table_new_full (g_bytes_hash, g_bytes_equal,
                                                        (GDestroyNotify) g_bytes_unref, NULL),
                                 g_hash_table_new (g_str_hash, g_str_equal) };
  g_autoptr (GPtrArray) batch = g_ptr_array_new_with_free_func (g_object_unref);
  g_auto (Run) run = {
    .conduit = conduit,
    .existing = &existing,
    .batch = batch,
    .started = g_get_monotonic_time (),
  };
  g_autofree gchar *block_path = NULL;

  pulp_sync_conduit_set_progress (conduit, "metadata", 0, 1, NULL);
  if (!g_file_load_contents (file, cancellable, &text, NULL, NULL, error))
    return FALSE;
  pulp_sync_conduit_set_progress (conduit, "metadata", 1, 1, NULL);
  if (!pulp_sync_conduit_foreach_unit (conduit, "test", remember_unit, &existing, error))
    return FALSE;

  lines = g_strsplit (text, "\n", -1);
  for (guint i = 0; lines[i] != NULL; i++)
    {
      g_auto (GStrv) w = g_strsplit (g_strstrip (lines[i]), " ", 4);
      guint n = g_strv_length (w);

      if (n == 0 || *w[0] == '\0' || *w[0] == '#')
        continue;
      if (g_str_equal (w[0], "fail-after") && n == 2)
        run.fail_after = g_ascii_strtoull (w[1], NULL, 10);
      else if (g_str_equal (w[0], "block-after") && n == 3)
        {
          run.block_after = g_ascii_strtoull (w[1], NULL, 10);
          g_free (block_path);
          run.block_path = block_path = g_strdup (w[2]);
        }
      else if (g_str_equal (w[0], "total") && n == 2)
        run.total = g_ascii_strtoull (w[1], NULL, 10);
      else if (g_str_equal (w[0], "unit-bytes") && n == 2)
        run.unit_bytes = g_ascii_strtoull (w[1], NULL, 10);
      else if (g_str_equal (w[0], "failed-units") && n == 2)
        run.failed_units = g_ascii_strtoull (w[1], NULL, 10);
      else if (g_str_equal (w[0], "pace-us") && n == 2)
        run.pace_us = g_ascii_strtoull (w[1], NULL, 10);
      else if (g_str_equal (w[0], "unit") && n == 3)
        {
          if (!handle_unit (&run, w[1], w[2], cancellable, error))
            return FALSE;
        }
      else if (g_str_equal (w[0], "units") && n == 4)
        {
          guint64 count = g_ascii_strtoull (w[1], NULL, 10);
          for (guint64 j = 0; j < count; j++)
            {
              g_autofree gchar *name = g_strdup_printf ("%s%" G_GUINT64_FORMAT, w[2], j);
              if (!handle_unit (&run, name, w[3], cancellable, error))
                return FALSE;
            }
        }
      else if (g_str_equal (w[0], "remove") && n == 2)
        {
          g_autoptr (PulpUnit) unit = pulp_unit_new ("test", one_entry ("name", w[1]));
          const gchar *ids[] = { pulp_unit_get_id (unit), NULL };
          if (!flush (&run, error) || !pulp_sync_conduit_unassociate_units (conduit, ids, error))
            return FALSE;
        }
      else
        {
          g_set_error (error, PULP_ERROR, PULP_ERROR_INVALID_ARGUMENT, "%s: line %u is not understood",
                       feed, i + 1);
          return FALSE;
        }
    }
  if (!flush (&run, error))
    return FALSE;
  if (g_str_equal (pulp_sync_conduit_get_config_string (conduit, "sync-policy", "additive"), "mirror")
      && !pulp_sync_conduit_unassociate_unconfirmed (conduit, error))
    return FALSE;
  pulp_sync_conduit_set_summary (conduit, "described", g_variant_new_uint64 (run.handled));
  return TRUE;
}

static const gchar *
pulp_test_importer_get_description (PulpImporter *importer)
{
  return "Test units from a local description (for the test suite)";
}

static void
pulp_test_importer_iface_init (PulpImporterInterface *iface)
{
  iface->get_description = pulp_test_importer_get_description;
  iface->sync_repo = pulp_test_importer_sync_repo;
}

static void
pulp_test_importer_class_init (PulpTestImporterClass *klass)
{
}

static void
pulp_test_importer_class_finalize (PulpTestImporterClass *klass)
{
}

static void
pulp_test_importer_init (PulpTestImporter *self)
{
}

G_MODULE_EXPORT void
g_io_module_load (GIOModule *module)
{
  pulp_test_importer_register_type (G_TYPE_MODULE (module));
  g_io_extension_point_implement (PULP_IMPORTER_EXTENSION_POINT_NAME, pulp_test_importer_get_type (),
                                  "test", 0);
}

G_MODULE_EXPORT void
g_io_module_unload (GIOModule *module)
{
}
