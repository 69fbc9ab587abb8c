/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The engine without D-Bus: repositories, validation, syncs and versions,
 * the scheduler, cancellation and progress, with the test importer. */

#include <glib/gstdio.h>
#include <libgda/libgda.h>
#include <string.h>

#include "pulp-engine.h"
#include "pulp-error.h"
#include "pulp-store.h"
#include "pulp-unit.h"

typedef struct
{
  gchar *dir;
  gchar *desc;
  gchar *go;
  PulpEngine *engine;
} Fixture;

static PulpEngine *
open_engine_with_retention (Fixture *f, gint retention)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GKeyFile) config = g_key_file_new ();
  g_autofree gchar *state = g_build_filename (f->dir, "state", NULL);
  PulpEngine *engine;

  g_key_file_set_integer (config, "daemon", "max-parallel-tasks", 2);
  /* test-engine-postgresql.sh runs these tests on a PostgreSQL server */
  if (g_getenv ("PULP_TEST_POSTGRESQL") != NULL)
    {
      g_key_file_set_string (config, "database", "provider", "PostgreSQL");
      g_key_file_set_string (config, "database", "cnc-string", g_getenv ("PULP_TEST_POSTGRESQL"));
    }
  if (retention >= 0)
    g_key_file_set_integer (config, "daemon", "task-retention-seconds", retention);
  engine = pulp_engine_new (state, config, TEST_IMPORTER_DIR, &error);
  g_assert_no_error (error);
  return engine;
}

static PulpEngine *
open_engine (Fixture *f)
{
  return open_engine_with_retention (f, -1);
}

static void
fixture_set_up (Fixture *f, gconstpointer data)
{
  f->dir = g_dir_make_tmp ("pulp-engine-XXXXXX", NULL);
  f->desc = g_build_filename (f->dir, "desc", NULL);
  f->go = g_build_filename (f->dir, "go", NULL);
  f->engine = open_engine (f);
}

static void
rm_rf (const gchar *path)
{
  g_autoptr (GDir) dir = g_dir_open (path, 0, NULL);
  const gchar *name;

  while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree gchar *child = g_build_filename (path, name, NULL);
      if (g_file_test (child, G_FILE_TEST_IS_DIR) && !g_file_test (child, G_FILE_TEST_IS_SYMLINK))
        rm_rf (child);
      else
        {
          g_chmod (child, 0644);
          g_unlink (child);
        }
    }
  g_rmdir (path);
}

static void
fixture_tear_down (Fixture *f, gconstpointer data)
{
  g_clear_object (&f->engine);
  rm_rf (f->dir);
  g_free (f->dir);
  g_free (f->desc);
  g_free (f->go);
}

static void
write_desc (Fixture *f, const gchar *text)
{
  g_autoptr (GError) error = NULL;
  g_file_set_contents (f->desc, text, -1, &error);
  g_assert_no_error (error);
}

static PulpUnit *
old_unit (const gchar *name, const gchar *summary)
{
  PulpUnit *unit = pulp_unit_new ("test", g_variant_new_parsed ("{'name': <%s>}", name));
  pulp_unit_set_metadata (unit, g_variant_new_parsed ("{'summary': <%s>}", summary));
  pulp_unit_set_relative_path (unit, name);
  return unit;
}

/* The test database, as the engine with its state in @dir uses it: SQLite
 * there, or the PostgreSQL server test-postgresql.sh started. */
static PulpStore *
open_test_store (const gchar *dir)
{
  g_autoptr (GError) error = NULL;
  const gchar *postgresql = g_getenv ("PULP_TEST_POSTGRESQL");
  g_autofree gchar *cnc = g_strdup_printf ("DB_DIR=%s;DB_NAME=pulp", dir);
  PulpStore *store
      = postgresql != NULL
            ? pulp_store_new ("PostgreSQL", postgresql, PULP_STORE_FLAGS_NONE, &error)
            : pulp_store_new ("SQLite", cnc, PULP_STORE_FLAGS_NONE, &error);

  g_assert_no_error (error);
  return store;
}

static PulpRepository *
create_repo (Fixture *f, const gchar *id, const gchar *policy)
{
  g_autoptr (GError) error = NULL;
  g_autofree gchar *uri = g_filename_to_uri (f->desc, NULL, NULL);
  GVariantDict config;
  PulpRepository *repo;

  g_variant_dict_init (&config, NULL);
  g_variant_dict_insert (&config, "feed", "s", uri);
  g_variant_dict_insert (&config, "sync-policy", "s", policy);
  repo = pulp_engine_create_repository (f->engine, id, "test", g_variant_dict_end (&config), &error);
  g_assert_no_error (error);
  return repo;
}

static void
wait_finished (PulpTask *task)
{
  while (!pulp_task_is_finished (task))
    g_main_context_iteration (NULL, TRUE);
}

static PulpTask *
start_sync (Fixture *f, PulpRepository *repo)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GVariant) options = g_variant_ref_sink (g_variant_new ("a{sv}", NULL));
  PulpTask *task = pulp_engine_sync (f->engine, repo, options, 0, &error);
  g_assert_no_error (error);
  return task;
}

static PulpTask *
run_sync (Fixture *f, PulpRepository *repo)
{
  PulpTask *task = start_sync (f, repo);
  wait_finished (task);
  return task;
}

static void
wait_stage (PulpTask *task, const gchar *stage)
{
  while (g_strcmp0 (pulp_task_get_stage (task), stage) != 0)
    {
      g_assert_false (pulp_task_is_finished (task));
      g_main_context_iteration (NULL, TRUE);
    }
}

static void
test_validation (Fixture *f, gconstpointer data)
{
  const gchar *bad_ids[] = { "", "../x", "a b", ".a", "-a",
                             "0123456789012345678901234567890123456789012345678901234567890123456789" };
  g_autoptr (GPtrArray) repos = NULL;

  for (guint i = 0; i < G_N_ELEMENTS (bad_ids); i++)
    {
      g_autoptr (GError) error = NULL;
      g_assert_null (pulp_engine_create_repository (f->engine, bad_ids[i], "test",
                                                    g_variant_new ("a{sv}", NULL), &error));
      g_assert_error (error, PULP_ERROR, PULP_ERROR_INVALID_ARGUMENT);
      g_assert_true (strstr (error->message, "repository id") != NULL);
    }
  {
    g_autoptr (GError) error = NULL;
    g_assert_null (pulp_engine_create_repository (f->engine, "r", "nope", g_variant_new ("a{sv}", NULL),
                                                  &error));
    g_assert_error (error, PULP_ERROR, PULP_ERROR_NOT_FOUND);
  }
  {
    g_autoptr (GError) error = NULL;
    g_assert_null (pulp_engine_create_repository (f->engine, "r", "test",
                                                  g_variant_new_parsed ("{'max-retries': <'3'>}"), &error));
    g_assert_error (error, PULP_ERROR, PULP_ERROR_INVALID_ARGUMENT);
    g_assert_cmpstr (error->message, ==, "Configuration key “max-retries” must have type “u”, not “s”");
  }
  {
    g_autoptr (GError) error = NULL;
    g_assert_null (pulp_engine_create_repository (f->engine, "r", "test",
                                                  g_variant_new_parsed ("{'feed': <'http:///x'>}"), &error));
    g_assert_error (error, PULP_ERROR, PULP_ERROR_INVALID_ARGUMENT);
  }
  {
    g_autoptr (GError) error = NULL;
    g_assert_null (pulp_engine_create_repository (f->engine, "r", "test",
                                                  g_variant_new_parsed ("{'shape': <'round'>}"), &error));
    g_assert_error (error, PULP_ERROR, PULP_ERROR_INVALID_ARGUMENT);
    g_assert_true (strstr (error->message, "“shape”") != NULL);
  }
  repos = pulp_engine_list_repositories (f->engine);
  g_assert_cmpuint (repos->len, ==, 0);

  /* and nothing was written either */
  g_clear_object (&f->engine);
  f->engine = open_engine (f);
  g_clear_pointer (&repos, g_ptr_array_unref);
  repos = pulp_engine_list_repositories (f->engine);
  g_assert_cmpuint (repos->len, ==, 0);
}

static guint64
summary_u64 (PulpTask *task, const gchar *key)
{
  guint64 v = G_MAXUINT64;
  g_assert_true (g_variant_lookup (pulp_task_get_summary (task), key, "t", &v));
  return v;
}

static void
test_persist (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  PulpRepository *repo;
  const gchar *policy;

  PulpTask *task;
  guint64 task_id;

  write_desc (f, "units 10 a v1\n");
  repo = create_repo (f, "keep", "mirror");
  task = run_sync (f, repo);
  task_id = pulp_task_get_id (task);
  g_object_unref (task);
  g_clear_object (&f->engine);

  f->engine = open_engine (f);
  /* finished tasks are kept, with what they said */
  task = pulp_engine_get_task (f->engine, task_id);
  g_assert_nonnull (task);
  g_assert_cmpint (pulp_task_get_state (task), ==, PULP_TASK_STATE_COMPLETED);
  g_assert_cmpuint (summary_u64 (task, "added"), ==, 10);
  repo = pulp_engine_get_repository (f->engine, "keep", &error);
  g_assert_no_error (error);
  g_assert_cmpstr (pulp_repository_get_importer (repo), ==, "test");
  g_assert_true (g_variant_lookup (pulp_repository_get_config (repo), "sync-policy", "&s", &policy));
  g_assert_cmpstr (policy, ==, "mirror");
  g_assert_cmpuint (pulp_repository_get_latest_version (repo), ==, 1);
  g_assert_cmpuint (pulp_repository_get_unit_count (repo), ==, 10);
  g_assert_cmpuint (pulp_repository_get_last_sync (repo), >, 0);

  /* … for as long as task-retention-seconds says */
  g_clear_object (&f->engine);
  f->engine = open_engine_with_retention (f, 0);
  g_assert_null (pulp_engine_get_task (f->engine, task_id));
}


/* Every page equals its slice of the whole listing, whatever order the
 * pages are asked for in and however often (pages are read from marks
 * that earlier pages left). */
static void
assert_pages_match_listing (Fixture *f, PulpRepository *repo, guint64 version, const gchar *type)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) all = pulp_engine_list_units (
      f->engine, repo, g_variant_new_parsed ("{'version': <%t>, 'type': <%s>, 'limit': <uint64 10000>}",
                                             version, type), &error);
  const guint64 offsets[] = { 0, 7, 14, 21, 3, 10, 14, 49, 48, 50, 60, 35, 28, 42, 0, 1, 2, 7 };

  g_assert_no_error (error);
  for (guint64 limit = 5; limit <= 7; limit += 2)
    for (guint i = 0; i < G_N_ELEMENTS (offsets); i++)
      {
        g_autoptr (GPtrArray) page = pulp_engine_list_units (
            f->engine, repo,
            g_variant_new_parsed ("{'version': <%t>, 'type': <%s>, 'offset': <%t>, 'limit': <%t>}",
                                  version, type, offsets[i], limit), &error);
        guint64 expected = offsets[i] >= all->len ? 0 : MIN (limit, all->len - offsets[i]);

        g_assert_no_error (error);
        g_assert_cmpuint (page->len, ==, expected);
        for (guint j = 0; j < page->len; j++)
          g_assert_cmpstr (pulp_unit_get_id (g_ptr_array_index (page, j)), ==,
                           pulp_unit_get_id (g_ptr_array_index (all, offsets[i] + j)));
      }
}

static void
test_versions (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) units = NULL;
  g_autoptr (GArray) versions = NULL;
  PulpRepository *repo;
  PulpTask *task;

  write_desc (f, "units 50 a v1\n");
  repo = create_repo (f, "v", "mirror");
  task = run_sync (f, repo);
  g_assert_cmpint (pulp_task_get_state (task), ==, PULP_TASK_STATE_COMPLETED);
  g_assert_cmpuint (summary_u64 (task, "added"), ==, 50);
  g_object_unref (task);

  /* no change: no version */
  task = run_sync (f, repo);
  g_assert_cmpuint (summary_u64 (task, "added"), ==, 0);
  g_assert_cmpuint (summary_u64 (task, "version"), ==, 1);
  g_object_unref (task);
  g_assert_cmpuint (pulp_repository_get_latest_version (repo), ==, 1);

  /* one removed, one added, one changed in place */
  write_desc (f, "units 48 a v1\nunit a49 v2\nunit b v1\n");
  task = run_sync (f, repo);
  g_assert_cmpuint (summary_u64 (task, "added"), ==, 1);
  g_assert_cmpuint (summary_u64 (task, "removed"), ==, 1);
  g_object_unref (task);
  g_assert_cmpuint (pulp_repository_get_latest_version (repo), ==, 2);
  g_assert_cmpuint (pulp_repository_get_unit_count (repo), ==, 50);

  versions = pulp_engine_list_versions (f->engine, repo, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (versions->len, ==, 2);
  g_assert_cmpuint (g_array_index (versions, PulpStoreVersion, 0).unit_count, ==, 50);

  /* version 1 still lists a48, version 2 does not; paging sees each unit once */
  units = pulp_engine_list_units (f->engine, repo, g_variant_new_parsed ("{'version': <uint64 1>}"), &error);
  g_assert_no_error (error);
  g_assert_cmpuint (units->len, ==, 50);
  {
    g_autoptr (GHashTable) seen = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
    for (guint64 offset = 0; offset < 50; offset += 7)
      {
        g_autoptr (GPtrArray) page = pulp_engine_list_units (
            f->engine, repo, g_variant_new_parsed ("{'offset': <%t>, 'limit': <uint64 7>}", offset), &error);
        g_assert_no_error (error);
        for (guint i = 0; i < page->len; i++)
          g_assert_true (g_hash_table_add (seen, g_strdup (pulp_unit_get_id (g_ptr_array_index (page, i)))));
      }
    g_assert_cmpuint (g_hash_table_size (seen), ==, 50);
  }
  assert_pages_match_listing (f, repo, 1, "");
  assert_pages_match_listing (f, repo, 2, "");
  assert_pages_match_listing (f, repo, 2, "test");
  /* an offset past what any repository holds is an empty page, and leaves
   * later listings alone (it once wrapped around into a negative offset) */
  {
    g_autoptr (GPtrArray) far = pulp_engine_list_units (
        f->engine, repo, g_variant_new_parsed ("{'offset': <uint64 18446744073709551614>, 'limit': <uint64 2>}"), &error);
    g_assert_no_error (error);
    g_assert_cmpuint (far->len, ==, 0);
  }
  assert_pages_match_listing (f, repo, 2, "");
  {
    g_autoptr (GPtrArray) none = pulp_engine_list_units (
        f->engine, repo, g_variant_new_parsed ("{'version': <uint64 3>}"), &error);
    g_assert_error (error, PULP_ERROR, PULP_ERROR_NOT_FOUND);
    g_assert_null (none);
  }
}

static void
list_done (GObject *source, GAsyncResult *result, gpointer user_data)
{
  *(GAsyncResult **) user_data = g_object_ref (result);
}

/* ListUnits as the daemon runs it, with @filter */
static GVariant *
list_units_async (Fixture *f, PulpRepository *repo, GVariant *filter, GError **error)
{
  g_autoptr (GAsyncResult) result = NULL;

  pulp_engine_list_units_async (f->engine, repo, filter, list_done, &result);
  while (result == NULL)
    g_main_context_iteration (NULL, TRUE);
  return pulp_engine_list_units_finish (f->engine, result, error);
}

/* A reply larger than the bus carries would cost pulpd its connection:
 * a page that large is refused with a hint, a smaller page of the same
 * units is fine, and a unit too large to list is never stored. */
static void
test_list_size (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GVariant) page = NULL;
  g_autofree gchar *big = g_strnfill (3 * 1024 * 1024, 'x');
  g_autofree gchar *huge = g_strnfill (PULP_MAX_UNIT_METADATA + 1, 'x');
  g_autofree gchar *desc = g_strdup_printf ("units 10 big %s\n", big);
  PulpRepository *repo;
  PulpTask *task;

  write_desc (f, desc);
  repo = create_repo (f, "big", "mirror");
  task = run_sync (f, repo);
  g_assert_cmpint (pulp_task_get_state (task), ==, PULP_TASK_STATE_COMPLETED);
  g_object_unref (task);

  page = list_units_async (f, repo, g_variant_new_parsed ("{'limit': <uint64 10>}"), &error);
  g_assert_error (error, PULP_ERROR, PULP_ERROR_INVALID_ARGUMENT);
  g_assert_nonnull (strstr (error->message, "“limit”"));
  g_assert_null (page);
  g_clear_error (&error);
  page = list_units_async (f, repo, g_variant_new_parsed ("{'limit': <uint64 5>}"), &error);
  g_assert_no_error (error);
  g_assert_cmpuint (g_variant_n_children (page), ==, 5);

  g_free (desc);
  desc = g_strdup_printf ("units 10 big %s\nunit huge %s\n", big, huge);
  write_desc (f, desc);
  task = run_sync (f, repo);
  g_assert_cmpint (pulp_task_get_state (task), ==, PULP_TASK_STATE_FAILED);
  g_assert_nonnull (strstr (pulp_task_get_error (task), "“huge”"));
  g_object_unref (task);
  g_assert_cmpuint (pulp_repository_get_latest_version (repo), ==, 1);
}

/* Rows of version @version of @repo that no sync committed, as a failed
 * sync leaves them when its discard fails too (the database was locked by
 * another program, say); written through a second connection. */
static void
leave_stray_rows (Fixture *f, const gchar *repo, guint64 version)
{
  g_autoptr (GError) error = NULL;
  g_autofree gchar *state = g_build_filename (f->dir, "state", NULL);
  g_autoptr (PulpStore) store = open_test_store (state);
  g_autoptr (PulpUnit) stray = old_unit ("stray", "from a failed sync");
  g_autoptr (GPtrArray) units = g_ptr_array_new ();

  g_ptr_array_add (units, stray);
  g_assert_true (pulp_store_save_units (store, repo, version, units, units, &error));
  g_assert_no_error (error);
}

static gboolean
lists_unit (Fixture *f, PulpRepository *repo, const gchar *name)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) units = pulp_engine_list_units (f->engine, repo, g_variant_new_parsed ("@a{sv} {}"), &error);
  g_autoptr (PulpUnit) probe = pulp_unit_new ("test", g_variant_new_parsed ("{'name': <%s>}", name));

  g_assert_no_error (error);
  for (guint i = 0; i < units->len; i++)
    if (g_str_equal (pulp_unit_get_id (g_ptr_array_index (units, i)), pulp_unit_get_id (probe)))
      return TRUE;
  return FALSE;
}

/* Leftovers of a failed sync never become part of a later version, made
 * by a sync or by a content operation. */
static void
test_stray_rows (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (PulpUnit) a0 = pulp_unit_new ("test", g_variant_new_parsed ("{'name': <'a0'>}"));
  const gchar *remove[] = { pulp_unit_get_id (a0), NULL };
  PulpRepository *repo;
  PulpTask *task;

  write_desc (f, "units 5 a v1\n");
  repo = create_repo (f, "stray", "mirror");
  g_object_unref (run_sync (f, repo));
  g_assert_cmpuint (pulp_repository_get_latest_version (repo), ==, 1);

  leave_stray_rows (f, "stray", 2);
  write_desc (f, "units 5 a v1\nunit b v1\n");
  task = run_sync (f, repo);
  g_assert_cmpint (pulp_task_get_state (task), ==, PULP_TASK_STATE_COMPLETED);
  g_object_unref (task);
  g_assert_cmpuint (pulp_repository_get_latest_version (repo), ==, 2);
  g_assert_cmpuint (pulp_repository_get_unit_count (repo), ==, 6);
  g_assert_true (lists_unit (f, repo, "b"));
  g_assert_false (lists_unit (f, repo, "stray"));

  leave_stray_rows (f, "stray", 3);
  task = pulp_engine_remove_units (f->engine, repo, remove, 0, &error);
  g_assert_no_error (error);
  wait_finished (task);
  g_assert_cmpint (pulp_task_get_state (task), ==, PULP_TASK_STATE_COMPLETED);
  g_object_unref (task);
  g_assert_cmpuint (pulp_repository_get_latest_version (repo), ==, 3);
  g_assert_cmpuint (pulp_repository_get_unit_count (repo), ==, 5);
  g_assert_false (lists_unit (f, repo, "a0"));
  g_assert_false (lists_unit (f, repo, "stray"));
}

static void
test_failure (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  PulpRepository *repo;
  PulpTask *task;

  write_desc (f, "units 20 a v1\n");
  repo = create_repo (f, "f", "mirror");
  g_object_unref (run_sync (f, repo));

  write_desc (f, "fail-after 15\nunits 30 b v1\n");
  task = run_sync (f, repo);
  g_assert_cmpint (pulp_task_get_state (task), ==, PULP_TASK_STATE_FAILED);
  g_assert_cmpstr (pulp_task_get_error (task), ==,
                   "Sync of f failed: test importer: failing as told after 15 units");
  g_assert_cmpstr (pulp_task_get_error_name (task), ==, "org.pulp.Error.Failed");
  g_object_unref (task);
  g_assert_cmpuint (pulp_repository_get_latest_version (repo), ==, 1);
  g_assert_cmpuint (pulp_repository_get_unit_count (repo), ==, 20);
  g_assert_true (pulp_engine_check_integrity (f->engine, &error));

  /* the next sync is not confused by what the failed one wrote */
  write_desc (f, "units 30 b v1\n");
  task = run_sync (f, repo);
  g_assert_cmpuint (summary_u64 (task, "added"), ==, 30);
  g_assert_cmpuint (summary_u64 (task, "removed"), ==, 20);
  g_object_unref (task);
}

static void
test_cancel (Fixture *f, gconstpointer data)
{
  g_autofree gchar *text = g_strdup_printf ("block-after 5 %s\nunits 10 a v1\n", f->go);
  PulpRepository *repo;
  g_autoptr (PulpTask) task = NULL;

  write_desc (f, text);
  repo = create_repo (f, "c", "additive");
  task = start_sync (f, repo);
  wait_stage (task, "blocked");
  pulp_task_cancel (task);
  wait_finished (task);
  g_assert_cmpint (pulp_task_get_state (task), ==, PULP_TASK_STATE_CANCELLED);
  g_assert_cmpstr (pulp_task_get_error_name (task), ==, "org.pulp.Error.Cancelled");
  g_assert_cmpuint (pulp_repository_get_latest_version (repo), ==, 0);
  g_assert_cmpuint (pulp_repository_get_unit_count (repo), ==, 0);
}

static void
test_scheduler (Fixture *f, gconstpointer data)
{
  g_autofree gchar *text = g_strdup_printf ("block-after 1 %s\nunits 2 a v1\n", f->go);
  g_autoptr (PulpTask) a1 = NULL;
  g_autoptr (PulpTask) a2 = NULL;
  g_autoptr (PulpTask) b1 = NULL;
  PulpRepository *a, *b;

  write_desc (f, text);
  a = create_repo (f, "a", "additive");
  b = create_repo (f, "b", "additive");
  a1 = start_sync (f, a);
  a2 = start_sync (f, a);
  b1 = start_sync (f, b);

  /* different repositories run side by side, the same one in order */
  wait_stage (a1, "blocked");
  wait_stage (b1, "blocked");
  g_assert_cmpint (pulp_task_get_state (a2), ==, PULP_TASK_STATE_QUEUED);
  g_assert_true (pulp_repository_get_active_task (a) == a1);
  g_assert_true (pulp_repository_get_active_task (b) == b1);
  {
    g_autoptr (GError) error = NULL;
    g_assert_false (pulp_engine_delete_repository (f->engine, "a", &error));
    g_assert_error (error, PULP_ERROR, PULP_ERROR_BUSY);
  }

  g_file_set_contents (f->go, "", 0, NULL);
  wait_finished (a1);
  wait_finished (a2);
  wait_finished (b1);
  g_assert_cmpint (pulp_task_get_state (a2), ==, PULP_TASK_STATE_COMPLETED);
  g_assert_cmpuint (pulp_task_get_started (a2), >=, pulp_task_get_finished (a1));
  g_assert_cmpuint (pulp_task_get_started (b1), <, pulp_task_get_finished (a1));
  g_assert_cmpuint (pulp_task_get_id (a2), >, pulp_task_get_id (a1));
  g_assert_null (pulp_repository_get_active_task (a));
}

typedef struct
{
  GPtrArray *stages;   /* stage names in order of first appearance */
  GHashTable *last;    /* stage → last done */
  GHashTable *count;   /* stage → signals */
  gboolean monotonic;
  guint total_signals;
} Seen;

static void
on_progress (PulpTask *task, const gchar *stage, guint64 done, guint64 total, GVariant *details,
             Seen *seen)
{
  gpointer last;

  seen->total_signals++;
  if (!g_hash_table_lookup_extended (seen->last, stage, NULL, &last))
    g_ptr_array_add (seen->stages, g_strdup (stage));
  else if (done < GPOINTER_TO_SIZE (last))
    seen->monotonic = FALSE;
  g_hash_table_insert (seen->last, g_strdup (stage), GSIZE_TO_POINTER (done));
  g_hash_table_insert (seen->count, g_strdup (stage),
                       GUINT_TO_POINTER (GPOINTER_TO_UINT (g_hash_table_lookup (seen->count, stage)) + 1));
}

static void
test_progress (Fixture *f, gconstpointer data)
{
  Seen seen = { g_ptr_array_new_with_free_func (g_free),
                g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL),
                g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL), TRUE, 0 };
  g_autoptr (PulpTask) task = NULL;
  PulpRepository *repo;
  gdouble seconds;

  write_desc (f, "units 30000 p v1\n");
  repo = create_repo (f, "p", "additive");
  task = start_sync (f, repo);
  g_signal_connect (task, "progress", G_CALLBACK (on_progress), &seen);
  wait_finished (task);
  g_assert_cmpint (pulp_task_get_state (task), ==, PULP_TASK_STATE_COMPLETED);
  seconds = (gdouble) (pulp_task_get_finished (task) - pulp_task_get_started (task)) / G_USEC_PER_SEC;
  g_test_message ("%u progress signals in %.2f s", seen.total_signals, seconds);

  g_assert_true (seen.monotonic);
  /* each stage ends with its final values */
  g_assert_cmpstr (g_ptr_array_index (seen.stages, 0), ==, "metadata");
  g_assert_cmpuint (GPOINTER_TO_SIZE (g_hash_table_lookup (seen.last, "metadata")), ==, 1);
  g_assert_cmpuint (GPOINTER_TO_SIZE (g_hash_table_lookup (seen.last, "units")), ==, 30000);
  g_assert_cmpuint (GPOINTER_TO_SIZE (g_hash_table_lookup (seen.last, "committing")), ==, 1);
  /* at most ~10 a second, plus one at the end of each stage */
  g_assert_cmpuint (seen.total_signals, <=, (guint) (seconds * 10) + 2 + 2 * seen.stages->len);
  g_assert_cmpuint (GPOINTER_TO_UINT (g_hash_table_lookup (seen.count, "units")), >=, 1);

  g_ptr_array_unref (seen.stages);
  g_hash_table_unref (seen.last);
  g_hash_table_unref (seen.count);
}

static void
test_interrupted (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autofree gchar *state = g_build_filename (f->dir, "state", NULL);
  PulpStoreTask row = { 41, "sync", "", "running", "units", "", "", "", 1, 2, 0, 0 };
  PulpTask *task;

  /* a task the daemon was running when it died, as the database has it */
  g_clear_object (&f->engine);
  {
    g_autoptr (PulpStore) store = open_test_store (state);
    g_assert_true (pulp_store_save_task (store, &row, &error));
  }
  f->engine = open_engine (f);
  task = pulp_engine_get_task (f->engine, 41);
  g_assert_nonnull (task);
  g_assert_cmpint (pulp_task_get_state (task), ==, PULP_TASK_STATE_FAILED);
  g_assert_cmpstr (pulp_task_get_error_name (task), ==, "org.pulp.Error.Interrupted");
  g_assert_cmpstr (pulp_task_get_error (task), ==, "The daemon stopped while the task ran");
}

static void
test_broken_module (Fixture *f, gconstpointer data)
{
  /* a module that cannot load is reported (GIO prints why on stderr, which
   * the journal keeps) and skipped; the engine starts with the others */
  g_clear_object (&f->engine); /* one engine per database */
  if (g_test_subprocess ())
    {
      g_autoptr (GError) error = NULL;
      g_autofree gchar *dir = g_build_filename (f->dir, "importers", NULL);
      g_autofree gchar *so = g_build_filename (dir, "libbroken.so", NULL);
      g_autofree gchar *state = g_build_filename (f->dir, "state2", NULL);
      g_autoptr (PulpEngine) engine = NULL;

      g_assert_cmpint (g_mkdir_with_parents (dir, 0755), ==, 0);
      g_assert_true (g_file_set_contents (so, "not an ELF file", -1, NULL));
      engine = pulp_engine_new (state, NULL, dir, &error);
      g_assert_no_error (error);
      g_assert_nonnull (engine);
      return;
    }
  g_test_trap_subprocess (NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
  g_test_trap_assert_passed ();
  g_test_trap_assert_stderr ("*libbroken.so*");
}

/* The unit list of ListUnits is serialized by hand: it must be the exact
 * normal form GLib builds, for small units and for units big enough to
 * need 2- and 4-byte framing offsets. */
static GVariant *
unit_as_tree (PulpUnit *unit)
{
  GVariantBuilder b;

  g_variant_builder_init (&b, G_VARIANT_TYPE_VARDICT);
  g_variant_builder_add (&b, "{sv}", "id", g_variant_new_string (pulp_unit_get_id (unit)));
  g_variant_builder_add (&b, "{sv}", "type", g_variant_new_string (pulp_unit_get_type_id (unit)));
  g_variant_builder_add (&b, "{sv}", "key", pulp_unit_get_key (unit));
  g_variant_builder_add (&b, "{sv}", "metadata", pulp_unit_get_metadata (unit));
  g_variant_builder_add (&b, "{sv}", "relative-path",
                         g_variant_new_string (pulp_unit_get_relative_path (unit)));
  g_variant_builder_add (&b, "{sv}", "sha256", g_variant_new_string (pulp_unit_get_sha256 (unit)));
  g_variant_builder_add (&b, "{sv}", "size", g_variant_new_uint64 (pulp_unit_get_size (unit)));
  g_variant_builder_add (&b, "{sv}", "path", g_variant_new_string (pulp_unit_get_path (unit)));
  g_variant_builder_add (&b, "{sv}", "uploaded", g_variant_new_boolean (pulp_unit_get_uploaded (unit)));
  return g_variant_builder_end (&b);
}

static void
test_unit_list_variant (void)
{
  const gsize sizes[] = { 0, 1, 200, 70000, 300 };
  g_autoptr (GPtrArray) units = g_ptr_array_new_with_free_func (g_object_unref);

  for (guint n = 0; n <= G_N_ELEMENTS (sizes); n++)
    {
      g_autoptr (GVariant) mine = NULL;
      g_autoptr (GVariant) expected = NULL;
      g_autoptr (GVariant) tree = NULL;
      GVariantBuilder b;

      g_variant_builder_init (&b, G_VARIANT_TYPE ("aa{sv}"));
      for (guint i = 0; i < units->len; i++)
        g_variant_builder_add_value (&b, unit_as_tree (g_ptr_array_index (units, i)));
      tree = g_variant_ref_sink (g_variant_builder_end (&b));
      expected = g_variant_get_normal_form (tree);
      mine = g_variant_ref_sink (pulp_unit_list_to_variant (units));
      g_assert_true (g_variant_is_normal_form (mine));
      g_assert_cmpvariant (mine, expected);
      g_assert_cmpmem (g_variant_get_data (mine), g_variant_get_size (mine),
                       g_variant_get_data (expected), g_variant_get_size (expected));

      if (n < G_N_ELEMENTS (sizes))
        {
          g_autofree gchar *name = g_strdup_printf ("u%u", n);
          g_autofree gchar *text = g_strnfill (sizes[n], 'x');
          PulpUnit *unit = pulp_unit_new ("test", g_variant_new_parsed ("{'name': <%s>}", name));
          if (sizes[n] > 0)
            pulp_unit_set_metadata (unit, g_variant_new_parsed ("{'text': <%s>, 'n': <@t 7>}", text));
          pulp_unit_set_relative_path (unit, text);
          pulp_unit_set_sha256 (unit, n % 2 ? "ab" : "");
          pulp_unit_set_size (unit, sizes[n]);
          pulp_unit_set_path (unit, n % 2 ? "/var/lib/pulp/x" : NULL);
          pulp_unit_set_uploaded (unit, n % 2);
          g_ptr_array_add (units, unit);
        }
    }
}

/* A unit's id and key text do not depend on the order its key was built
 * in: whatever the size of the key (1-, 2- and 4-byte offsets in its
 * serialized form), in order or not, with a repeated name or not. */
static void
test_unit_key_order (void)
{
  const gsize sizes[] = { 4, 300, 70000 };

  for (guint i = 0; i < G_N_ELEMENTS (sizes); i++)
    {
      g_autofree gchar *long_value = g_strnfill (sizes[i], 'x');
      GVariantBuilder b;
      g_autoptr (PulpUnit) sorted = NULL;
      g_autoptr (PulpUnit) unsorted = NULL;
      g_autoptr (PulpUnit) other = NULL;

      g_variant_builder_init (&b, G_VARIANT_TYPE_VARDICT);
      g_variant_builder_add (&b, "{sv}", "arch", g_variant_new_string ("noarch"));
      g_variant_builder_add (&b, "{sv}", "name", g_variant_new_string (long_value));
      g_variant_builder_add (&b, "{sv}", "version", g_variant_new_uint64 (2));
      sorted = pulp_unit_new ("test", g_variant_builder_end (&b));

      g_variant_builder_init (&b, G_VARIANT_TYPE_VARDICT);
      g_variant_builder_add (&b, "{sv}", "version", g_variant_new_uint64 (2));
      g_variant_builder_add (&b, "{sv}", "name", g_variant_new_string (long_value));
      g_variant_builder_add (&b, "{sv}", "arch", g_variant_new_string ("noarch"));
      unsorted = pulp_unit_new ("test", g_variant_builder_end (&b));
      g_assert_cmpstr (pulp_unit_get_id (unsorted), ==, pulp_unit_get_id (sorted));
      g_assert_cmpstr (pulp_unit_get_key_text (unsorted), ==, pulp_unit_get_key_text (sorted));

      /* "arch" twice, out of order: the first one counts */
      g_variant_builder_init (&b, G_VARIANT_TYPE_VARDICT);
      g_variant_builder_add (&b, "{sv}", "arch", g_variant_new_string ("noarch"));
      g_variant_builder_add (&b, "{sv}", "name", g_variant_new_string (long_value));
      g_variant_builder_add (&b, "{sv}", "arch", g_variant_new_string ("x86_64"));
      g_variant_builder_add (&b, "{sv}", "version", g_variant_new_uint64 (2));
      unsorted = (g_object_unref (unsorted), pulp_unit_new ("test", g_variant_builder_end (&b)));
      g_assert_cmpstr (pulp_unit_get_id (unsorted), ==, pulp_unit_get_id (sorted));

      g_variant_builder_init (&b, G_VARIANT_TYPE_VARDICT);
      g_variant_builder_add (&b, "{sv}", "arch", g_variant_new_string ("x86_64"));
      g_variant_builder_add (&b, "{sv}", "name", g_variant_new_string (long_value));
      g_variant_builder_add (&b, "{sv}", "version", g_variant_new_uint64 (2));
      other = pulp_unit_new ("test", g_variant_builder_end (&b));
      g_assert_cmpstr (pulp_unit_get_id (other), !=, pulp_unit_get_id (sorted));
    }
}

/* Keys (and importer state) are stored as Base64 of their serialized form: the
 * text is what GLib's own encoder writes (unit ids of earlier databases
 * stay valid) for every length modulo three, and decodes back. */
static void
test_variant_encode (void)
{
  for (gsize n = 0; n < 40; n++)
    {
      g_autofree gchar *value = g_strnfill (n, (gchar) ('a' + n % 26));
      g_autoptr (GVariant) dict = NULL;
      g_autoptr (GVariant) back = NULL;
      g_autofree gchar *encoded = NULL;
      g_autofree gchar *expected = NULL;
      GVariantBuilder b;

      g_variant_builder_init (&b, G_VARIANT_TYPE_VARDICT);
      g_variant_builder_add (&b, "{sv}", "v", g_variant_new_string (value));
      g_variant_builder_add (&b, "{sv}", "b", g_variant_new_byte ((guchar) (0xff - n)));
      dict = g_variant_ref_sink (g_variant_builder_end (&b));
      encoded = pulp_variant_encode (dict, FALSE);
      expected = g_base64_encode (g_variant_get_data (dict), g_variant_get_size (dict));
      g_assert_cmpstr (encoded, ==, expected);
      back = pulp_variant_decode (encoded, NULL);
      g_assert_true (g_variant_equal (back, dict));
    }
}

/* The tables as schema 3 (pulpd before units were stored in row order)
 * left them, holding one repository at version 1 with two units. */
static const gchar *const schema_3[] = {
  "CREATE TABLE schema_version (version INTEGER NOT NULL)",
  "INSERT INTO schema_version (version) VALUES (3)",
  "CREATE TABLE repositories (id TEXT PRIMARY KEY, importer TEXT NOT NULL, config TEXT NOT NULL,"
  " latest_version INTEGER NOT NULL DEFAULT 0, last_sync INTEGER NOT NULL DEFAULT 0,"
  " importer_state TEXT NOT NULL DEFAULT '', importer_state_version INTEGER NOT NULL DEFAULT -1)",
  "CREATE TABLE units (id TEXT PRIMARY KEY, type TEXT NOT NULL, unit_key TEXT NOT NULL,"
  " metadata TEXT NOT NULL, relative_path TEXT NOT NULL, sha256 TEXT NOT NULL,"
  " size INTEGER NOT NULL) WITHOUT ROWID",
  "CREATE TABLE repository_content (repository TEXT NOT NULL, unit TEXT NOT NULL,"
  " version_added INTEGER NOT NULL, version_removed INTEGER, uploaded INTEGER NOT NULL,"
  " PRIMARY KEY (repository, unit, version_added)) WITHOUT ROWID",
  "CREATE TABLE versions (repository TEXT NOT NULL, number INTEGER NOT NULL,"
  " created INTEGER NOT NULL, unit_count INTEGER NOT NULL, PRIMARY KEY (repository, number))",
  "CREATE TABLE tasks (id INTEGER PRIMARY KEY, kind TEXT NOT NULL, repository TEXT NOT NULL,"
  " state TEXT NOT NULL, stage TEXT NOT NULL, error_name TEXT NOT NULL, error TEXT NOT NULL,"
  " summary TEXT NOT NULL, created INTEGER NOT NULL, started INTEGER NOT NULL,"
  " finished INTEGER NOT NULL, uid INTEGER NOT NULL)",
  "CREATE TABLE counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL)",
  "INSERT INTO counters (name, value) VALUES ('next-task-id', 1)",
  "INSERT INTO repositories (id, importer, config, latest_version) VALUES ('old', 'test', '', 1)",
  "INSERT INTO versions VALUES ('old', 1, 1, 2)",
};

/* (WITHOUT ROWID is SQLite's alone) */
static void
run_sql (GdaConnection *cnc, const gchar *sql)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GString) s = g_string_new (sql);

  if (g_getenv ("PULP_TEST_POSTGRESQL") != NULL)
    g_string_replace (s, " WITHOUT ROWID", "", 0);
  gda_connection_execute_non_select_command (cnc, s->str, &error);
  g_assert_no_error (error);
}

/* A database of schema 3 is brought forward on start: its units keep
 * their keys, metadata and membership, their table is now in row order
 * and their metadata binary. */
static void
test_schema_upgrade (void)
{
  g_autoptr (GError) error = NULL;
  g_autofree gchar *dir = g_dir_make_tmp ("pulp-schema-XXXXXX", NULL);
  const gchar *postgresql = g_getenv ("PULP_TEST_POSTGRESQL");
  const gchar *provider = postgresql != NULL ? "PostgreSQL" : "SQLite";
  g_autofree gchar *cnc_string = postgresql != NULL
                                   ? g_strdup (postgresql)
                                   : g_strdup_printf ("DB_DIR=%s;DB_NAME=pulp", dir);
  g_autoptr (PulpUnit) a = old_unit ("a", "first");
  g_autoptr (PulpUnit) b = old_unit ("b", "second, with \"quotes\"");
  g_autoptr (GPtrArray) units = NULL;
  g_autoptr (PulpStore) store = NULL;
  GdaConnection *cnc;
  PulpUnit *units_in[] = { a, b };
  gboolean a_first = strcmp (pulp_unit_get_id (a), pulp_unit_get_id (b)) < 0;
  GdaDataModel *model;

  gda_init ();
  cnc = gda_connection_open_from_string (provider, cnc_string, NULL, GDA_CONNECTION_OPTIONS_NONE,
                                         &error);
  g_assert_no_error (error);
  for (guint i = 0; i < G_N_ELEMENTS (schema_3); i++)
    run_sql (cnc, schema_3[i]);
  for (guint i = 0; i < G_N_ELEMENTS (units_in); i++)
    {
      PulpUnit *u = units_in[i];
      g_autofree gchar *metadata = pulp_variant_encode (pulp_unit_get_metadata (u), FALSE);
      g_autofree gchar *sql = g_strdup_printf (
          "INSERT INTO units VALUES ('%s', 'test', '%s', '%s', '%s', '', 0);"
          "INSERT INTO repository_content VALUES ('old', '%s', 1, NULL, 0)",
          pulp_unit_get_id (u), pulp_unit_get_key_text (u), metadata,
          pulp_unit_get_relative_path (u), pulp_unit_get_id (u));
      g_auto (GStrv) statements = g_strsplit (sql, ";", -1);
      for (guint j = 0; statements[j] != NULL; j++)
        run_sql (cnc, statements[j]);
    }
  gda_connection_close (cnc);
  g_object_unref (cnc);

  store = pulp_store_new (provider, cnc_string, PULP_STORE_FLAGS_NONE, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (pulp_store_get_schema_version (store), ==, PULP_STORE_SCHEMA_VERSION);
  units = pulp_store_list_units (store, "old", 1, NULL, NULL, 0, 10, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (units->len, ==, 2);
  for (guint i = 0; i < units->len; i++)
    {
      PulpUnit *got = g_ptr_array_index (units, i);
      /* listed in id order */
      PulpUnit *want = a_first ? units_in[i] : units_in[1 - i];
      g_assert_cmpstr (pulp_unit_get_id (got), ==, pulp_unit_get_id (want));
      g_assert_cmpstr (pulp_unit_get_key_text (got), ==, pulp_unit_get_key_text (want));
      g_assert_cmpstr (pulp_unit_get_relative_path (got), ==, pulp_unit_get_relative_path (want));
      g_assert_true (g_variant_equal (pulp_unit_get_metadata (got), pulp_unit_get_metadata (want)));
    }
  g_clear_object (&store);

  cnc = gda_connection_open_from_string (provider, cnc_string, NULL, GDA_CONNECTION_OPTIONS_NONE,
                                         &error);
  g_assert_no_error (error);
  /* the metadata is binary, and on SQLite the table has rowids (WITHOUT
   * ROWID tables have none to select) */
  model = gda_connection_execute_select_command (
    cnc,
    postgresql != NULL ? "SELECT id FROM units WHERE pg_typeof (metadata) = 'bytea'::regtype"
                       : "SELECT rowid FROM units WHERE typeof (metadata) = 'blob'",
    &error);
  g_assert_no_error (error);
  g_assert_cmpint (gda_data_model_get_n_rows (model), ==, 2);
  g_object_unref (model);
  gda_connection_close (cnc);
  g_object_unref (cnc);
  rm_rf (dir);
}

/* pulp_store_save_units() in a transaction of its own (with SQLite,
 * through its own connection) or, if @in_transaction, in the caller's */
static gboolean
save_units (PulpStore *store,
            gboolean in_transaction,
            const gchar *repo,
            guint64 version,
            GPtrArray *units,
            GPtrArray *fresh,
            GError **error)
{
  if (!in_transaction)
    return pulp_store_save_units (store, repo, version, units, fresh, error);
  if (!pulp_store_begin (store, error))
    return FALSE;
  if (!pulp_store_save_units (store, repo, version, units, fresh, error))
    {
      pulp_store_rollback (store);
      return FALSE;
    }
  return pulp_store_commit (store, error);
}

/* A stored unit is shared by every repository and version that holds it:
 * saving it again (another repository's sync, an upload) changes nothing
 * of it, except that a unit stored without its content digest (an
 * on_demand sync of a package declared by SHA-1) gains it. */
static void
test_store_units_immutable (gconstpointer data)
{
  gboolean in_transaction = GPOINTER_TO_INT (data);
  g_autoptr (GError) error = NULL;
  g_autofree gchar *dir = g_dir_make_tmp ("pulp-immutable-XXXXXX", NULL);
  g_autoptr (PulpStore) store = open_test_store (dir);
  g_autoptr (PulpUnit) stored = old_unit ("stored", "from the first repository");
  g_autoptr (PulpUnit) again = old_unit ("stored", "poisoned");
  g_autoptr (PulpUnit) pending = old_unit ("pending", "declared by SHA-1");
  g_autoptr (PulpUnit) arrived = old_unit ("pending", "declared by SHA-1");
  g_autoptr (GPtrArray) first = g_ptr_array_new ();
  g_autoptr (GPtrArray) second = g_ptr_array_new ();
  g_autoptr (GPtrArray) none = g_ptr_array_new ();
  g_autoptr (GPtrArray) listed = NULL;
  const gchar *digest = "5f8f0a3c0d5e6b7a8c9d0e1f2a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d";

  pulp_unit_set_sha256 (stored, digest);
  pulp_unit_set_size (stored, 10);
  pulp_unit_set_relative_path (again, "elsewhere/stored");
  pulp_unit_set_size (arrived, 20);
  pulp_unit_set_sha256 (arrived, digest);
  g_ptr_array_add (first, stored);
  g_ptr_array_add (first, pending);
  g_assert_true (save_units (store, in_transaction, "r", 1, first, first, &error));
  g_assert_no_error (error);
  /* the same units again, as another repository's sync brings them */
  g_ptr_array_add (second, again);
  g_ptr_array_add (second, arrived);
  g_assert_true (save_units (store, in_transaction, "other", 1, second, none, &error));
  g_assert_no_error (error);

  listed = pulp_store_list_units (store, "r", 1, NULL, NULL, 0, 10, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (listed->len, ==, 2);
  for (guint i = 0; i < listed->len; i++)
    {
      PulpUnit *unit = g_ptr_array_index (listed, i);
      const gchar *summary = NULL;

      g_assert_true (g_variant_lookup (pulp_unit_get_metadata (unit), "summary", "&s", &summary));
      g_assert_cmpstr (pulp_unit_get_sha256 (unit), ==, digest);
      if (g_str_equal (pulp_unit_get_id (unit), pulp_unit_get_id (stored)))
        {
          g_assert_cmpstr (summary, ==, "from the first repository");
          g_assert_cmpstr (pulp_unit_get_relative_path (unit), ==, "stored");
          g_assert_cmpuint (pulp_unit_get_size (unit), ==, 10);
        }
      else
        {
          g_assert_cmpstr (summary, ==, "declared by SHA-1");
          g_assert_cmpuint (pulp_unit_get_size (unit), ==, 20);
        }
    }
  g_clear_object (&store);
  rm_rf (dir);
}

/* A save that fails stores nothing of what it was given, says why, and
 * leaves the store ready for the next. */
static void
test_store_save_fails_whole (gconstpointer data)
{
  gboolean in_transaction = GPOINTER_TO_INT (data);
  g_autoptr (GError) error = NULL;
  g_autofree gchar *dir = g_dir_make_tmp ("pulp-save-fails-XXXXXX", NULL);
  g_autoptr (PulpStore) store = open_test_store (dir);
  g_autoptr (PulpUnit) a = old_unit ("a", "first");
  g_autoptr (PulpUnit) b = old_unit ("b", "second");
  g_autoptr (GPtrArray) units = g_ptr_array_new ();
  g_autoptr (GPtrArray) twice = g_ptr_array_new ();
  g_autoptr (GPtrArray) listed = NULL;
  guint64 orphans = G_MAXUINT64;

  g_ptr_array_add (units, a);
  g_ptr_array_add (units, b);
  /* the same unit twice in one version of one repository */
  g_ptr_array_add (twice, b);
  g_ptr_array_add (twice, b);
  g_assert_false (save_units (store, in_transaction, "r", 1, units, twice, &error));
  g_assert_error (error, PULP_ERROR, PULP_ERROR_FAILED);
  g_test_message ("%s", error->message);
  g_assert_nonnull (strstr (error->message, "Database error while adding content"));
  g_clear_error (&error);
  /* no unit was stored: there are none to clean up */
  g_assert_true (pulp_store_delete_orphan_units (store, &orphans, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (orphans, ==, 0);

  g_assert_true (save_units (store, in_transaction, "r", 1, units, units, &error));
  g_assert_no_error (error);
  listed = pulp_store_list_units (store, "r", 1, NULL, NULL, 0, 10, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (listed->len, ==, 2);
  g_clear_object (&store);
  rm_rf (dir);
}

/* A database in memory (no file for a second connection) stores units
 * too. */
static void
test_store_in_memory (void)
{
  g_autoptr (GError) error = NULL;
  g_autofree gchar *dir = g_dir_make_tmp ("pulp-in-memory-XXXXXX", NULL);
  g_autofree gchar *cnc_string = g_strdup_printf (
    "DB_DIR=%s;DB_NAME=:memory:;APPEND_DB_EXTENSION=FALSE", dir);
  g_autoptr (PulpStore) store
      = pulp_store_new ("SQLite", cnc_string, PULP_STORE_FLAGS_NONE, &error);
  g_autoptr (PulpUnit) unit = old_unit ("kept", "in memory");
  g_autoptr (GPtrArray) units = g_ptr_array_new ();
  g_autoptr (GPtrArray) listed = NULL;

  g_assert_no_error (error);
  g_ptr_array_add (units, unit);
  g_assert_true (pulp_store_save_units (store, "r", 1, units, units, &error));
  g_assert_no_error (error);
  listed = pulp_store_list_units (store, "r", 1, NULL, NULL, 0, 10, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (listed->len, ==, 1);
  g_assert_cmpstr (pulp_unit_get_id (g_ptr_array_index (listed, 0)), ==, pulp_unit_get_id (unit));
  /* and nothing was written to disk */
  g_assert_cmpint (g_rmdir (dir), ==, 0);
}

/* pulpd.conf values that are not what a key takes stop the engine before
 * it touches the state directory, with an error that names key and value. */
static void
test_config_bad_values (void)
{
  static const struct
  {
    const gchar *key;
    const gchar *value;
    const gchar *message;
  } cases[] = {
    { "max-parallel-tasks", "abc", "[daemon] max-parallel-tasks is “abc”, not a whole number from 1 to 64" },
    { "max-parallel-tasks", "0", "[daemon] max-parallel-tasks is “0”, not a whole number from 1 to 64" },
    { "task-retention-seconds", "-1", "[daemon] task-retention-seconds is “-1”, not a whole number from 0 to" },
    /* a typo here once meant "no limit" */
    { "upload-max-size", "4M", "[daemon] upload-max-size is “4M”, not a whole number from 0 to" },
  };
  g_autofree gchar *dir = g_dir_make_tmp ("pulp-config-XXXXXX", NULL);
  g_autofree gchar *state = g_build_filename (dir, "state", NULL);

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr (GError) error = NULL;
      g_autoptr (GKeyFile) config = g_key_file_new ();
      g_autoptr (PulpEngine) engine = NULL;

      g_key_file_set_value (config, "daemon", cases[i].key, cases[i].value);
      engine = pulp_engine_new (state, config, TEST_IMPORTER_DIR, &error);
      g_assert_null (engine);
      g_assert_error (error, PULP_ERROR, PULP_ERROR_INVALID_ARGUMENT);
      g_assert_true (g_str_has_prefix (error->message, cases[i].message));
      g_assert_false (g_file_test (state, G_FILE_TEST_EXISTS));
    }
  g_assert_cmpint (g_rmdir (dir), ==, 0);
}

/* The [database] group: an empty cnc-string, as pulpd.conf shows it, is
 * the default SQLite database (it once crashed pulpd); another provider
 * without one is refused before the state directory is touched. */
static void
test_config_database (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GKeyFile) config = g_key_file_new ();
  g_autoptr (PulpEngine) engine = NULL;
  g_autofree gchar *dir = g_dir_make_tmp ("pulp-config-XXXXXX", NULL);
  g_autofree gchar *state = g_build_filename (dir, "state", NULL);
  g_autofree gchar *db = g_build_filename (state, "pulp.db", NULL);

  g_key_file_set_value (config, "database", "provider", "PostgreSQL");
  engine = pulp_engine_new (state, config, TEST_IMPORTER_DIR, &error);
  g_assert_null (engine);
  g_assert_error (error, PULP_ERROR, PULP_ERROR_INVALID_ARGUMENT);
  g_assert_cmpstr (error->message, ==,
                   "[database] provider PostgreSQL needs a cnc-string that names the server and "
                   "the database, such as HOST=db.example.com;DB_NAME=pulp");
  g_assert_false (g_file_test (state, G_FILE_TEST_EXISTS));
  g_clear_error (&error);

  g_key_file_set_value (config, "database", "provider", "SQLite");
  g_key_file_set_value (config, "database", "cnc-string", "");
  engine = pulp_engine_new (state, config, TEST_IMPORTER_DIR, &error);
  g_assert_no_error (error);
  g_assert_nonnull (engine);
  g_assert_true (g_file_test (db, G_FILE_TEST_IS_REGULAR));
  g_clear_object (&engine);
  rm_rf (dir);
}

/* @n units with 4,000 bytes of metadata each */
static GPtrArray *
units_of_4k (guint n)
{
  g_autofree gchar *summary = g_strnfill (4000, 's');
  GPtrArray *units = g_ptr_array_new_with_free_func (g_object_unref);

  for (guint i = 0; i < n; i++)
    {
      g_autofree gchar *name = g_strdup_printf ("unit-%04u", i);
      g_ptr_array_add (units, old_unit (name, summary));
    }
  return units;
}

/* A damaged database gives an error, not a short or empty page. */
static void
test_store_damaged (void)
{
  g_autoptr (GError) error = NULL;
  g_autofree gchar *dir = g_dir_make_tmp ("pulp-damaged-XXXXXX", NULL);
  g_autofree gchar *cnc_string = g_strdup_printf ("DB_DIR=%s;DB_NAME=pulp", dir);
  g_autofree gchar *db = g_build_filename (dir, "pulp.db", NULL);
  g_autofree gchar *noise = g_malloc (1024 * 1024);
  g_autoptr (PulpStore) store = NULL;
  g_autoptr (GPtrArray) units = units_of_4k (2000);
  g_autoptr (GPtrArray) listed = NULL;
  g_autoptr (GRand) rand = g_rand_new_with_seed (7);
  FILE *f;

  store = pulp_store_new ("SQLite", cnc_string, PULP_STORE_FLAGS_NONE, &error);
  g_assert_no_error (error);
  g_assert_true (pulp_store_save_units (store, "r", 1, units, units, &error));
  g_assert_no_error (error);
  g_clear_object (&store);

  for (gsize i = 0; i < 1024 * 1024; i++)
    noise[i] = (gchar) g_rand_int (rand);
  f = fopen (db, "r+b");
  g_assert_nonnull (f);
  g_assert_cmpint (fseek (f, 2 * 1024 * 1024, SEEK_SET), ==, 0);
  g_assert_cmpuint (fwrite (noise, 1, 1024 * 1024, f), ==, 1024 * 1024);
  fclose (f);

  store = pulp_store_new ("SQLite", cnc_string, PULP_STORE_FLAGS_NONE, &error);
  g_assert_no_error (error);
  listed = pulp_store_list_units (store, "r", 1, NULL, NULL, 0, 5000, &error);
  g_assert_error (error, PULP_ERROR, PULP_ERROR_FAILED);
  g_test_message ("%s", error->message);
  g_assert_nonnull (strstr (error->message, "malformed"));
  g_assert_null (listed);
  g_clear_object (&store);
  rm_rf (dir);
}

/* What a sync commits is written back from the log into the database
 * file while the store stays open (by its checkpointer, not only when the
 * log reaches its limit or the last connection closes), and a reader sees
 * all of it. */
static void
test_store_checkpoint (void)
{
  g_autoptr (GError) error = NULL;
  g_autofree gchar *dir = g_dir_make_tmp ("pulp-checkpoint-XXXXXX", NULL);
  g_autofree gchar *cnc_string = g_strdup_printf ("DB_DIR=%s;DB_NAME=pulp", dir);
  g_autofree gchar *db = g_build_filename (dir, "pulp.db", NULL);
  g_autoptr (PulpStore) store = NULL;
  g_autoptr (GPtrArray) units = units_of_4k (2000);
  g_autoptr (GPtrArray) listed = NULL;
  const gsize written = 2000 * 4000;
  gint64 deadline = g_get_monotonic_time () + 20 * G_USEC_PER_SEC;
  GStatBuf st = { 0 };

  store = pulp_store_new ("SQLite", cnc_string, PULP_STORE_FLAGS_NONE, &error);
  g_assert_no_error (error);
  for (guint start = 0; start < units->len; start += 500)
    {
      g_autoptr (GPtrArray) part = g_ptr_array_new ();

      g_ptr_array_extend (part, units, NULL, NULL);
      g_ptr_array_remove_range (part, 0, start);
      g_ptr_array_set_size (part, 500);
      g_assert_true (pulp_store_save_units (store, "r", 1, part, part, &error));
      g_assert_no_error (error);
    }

  while (g_stat (db, &st) == 0 && (gsize) st.st_size < written
         && g_get_monotonic_time () < deadline)
    g_usleep (G_USEC_PER_SEC / 20);
  g_assert_cmpint (st.st_size, >=, written);

  listed = pulp_store_list_units (store, "r", 1, NULL, NULL, 0, 5000, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (listed->len, ==, units->len);
  g_clear_object (&store);
  rm_rf (dir);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
#define ADD(path, fn) g_test_add (path, Fixture, NULL, fixture_set_up, fn, fixture_tear_down)
  ADD ("/pulp/engine/repository/validation", test_validation);
  ADD ("/pulp/engine/repository/persist", test_persist);
  ADD ("/pulp/engine/sync/versions", test_versions);
  ADD ("/pulp/engine/sync/failure", test_failure);
  ADD ("/pulp/engine/sync/list-size", test_list_size);
  ADD ("/pulp/engine/sync/stray-rows", test_stray_rows);
  ADD ("/pulp/engine/sync/cancel", test_cancel);
  ADD ("/pulp/engine/scheduler/queue", test_scheduler);
  ADD ("/pulp/engine/task/progress", test_progress);
  ADD ("/pulp/engine/task/interrupted", test_interrupted);
  ADD ("/pulp/engine/importer/broken-module", test_broken_module);
  g_test_add_func ("/pulp/engine/unit/list-variant", test_unit_list_variant);
  g_test_add_func ("/pulp/engine/unit/key-order", test_unit_key_order);
  g_test_add_func ("/pulp/engine/unit/encode", test_variant_encode);
  g_test_add_func ("/pulp/engine/store/schema-upgrade", test_schema_upgrade);
  g_test_add_func ("/pulp/engine/store/checkpoint", test_store_checkpoint);
  g_test_add_data_func ("/pulp/engine/store/units-immutable/own-transaction", GINT_TO_POINTER (FALSE),
                        test_store_units_immutable);
  g_test_add_data_func ("/pulp/engine/store/units-immutable/in-transaction", GINT_TO_POINTER (TRUE),
                        test_store_units_immutable);
  g_test_add_data_func ("/pulp/engine/store/save-fails-whole/own-transaction", GINT_TO_POINTER (FALSE),
                        test_store_save_fails_whole);
  g_test_add_data_func ("/pulp/engine/store/save-fails-whole/in-transaction",
                        GINT_TO_POINTER (TRUE), test_store_save_fails_whole);
  g_test_add_func ("/pulp/engine/store/damaged", test_store_damaged);
  g_test_add_func ("/pulp/engine/store/in-memory", test_store_in_memory);
  g_test_add_func ("/pulp/engine/config/bad-values", test_config_bad_values);
  g_test_add_func ("/pulp/engine/config/database", test_config_database);
  return g_test_run ();
}
