/* SPDX-License-Identifier: LGPL-2.1-or-later */
#define G_LOG_DOMAIN "TestRpmMetadata"

#include <gio/gio.h>
#include <glib/gstdio.h>
#include <string.h>

#include "pulp-error.h"
#include "pulp-rpm-metadata.h"

/* Tests of the rpm importer's metadata reading, on real repositories that
 * createrepo_c builds from the real packages in fixtures/rpm-real/. */

#ifndef RPM_FIXTURES_DIR
#define RPM_FIXTURES_DIR "/work/shared/fixtures/rpm-real"
#endif

#ifndef MAKE_RPM_REPO
#define MAKE_RPM_REPO "tests/make-rpm-repo.sh"
#endif

typedef struct
{
  gchar *dir;      /* the repository: fixtures + repodata/ */
  gchar *work;     /* scratch room for downloads */
} Fixture;

static void
run (const gchar *const *argv)
{
  g_autoptr (GError) error = NULL;
  g_autofree gchar *out = NULL;
  g_autofree gchar *err = NULL;
  gint status = 0;

  g_spawn_sync (NULL, (gchar **) argv, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, &out, &err, &status,
                &error);
  g_assert_no_error (error);
  if (!g_spawn_check_wait_status (status, NULL))
    g_error ("%s failed: %s%s", argv[0], out, err);
}

static void
copy_fixtures (const gchar *dir)
{
  g_autoptr (GDir) d = g_dir_open (RPM_FIXTURES_DIR, 0, NULL);
  const gchar *name;

  g_assert_nonnull (d);
  while ((name = g_dir_read_name (d)) != NULL)
    {
      g_autofree gchar *src = NULL;
      g_autofree gchar *dest = NULL;
      g_autofree gchar *contents = NULL;
      gsize len;

      if (!g_str_has_suffix (name, ".rpm"))
        continue;
      src = g_build_filename (RPM_FIXTURES_DIR, name, NULL);
      dest = g_build_filename (dir, name, NULL);
      g_assert_true (g_file_get_contents (src, &contents, &len, NULL));
      g_assert_true (g_file_set_contents (dest, contents, len, NULL));
    }
}

static void
rm_rf (const gchar *path)
{
  const gchar *argv[] = { "rm", "-rf", path, NULL };
  run (argv);
}

static void
fixture_setup (Fixture *f, gconstpointer data)
{
  const gchar *compress = data;

  f->dir = g_dir_make_tmp ("pulp-rpm-test-XXXXXX", NULL);
  f->work = g_build_filename (f->dir, "work", NULL);
  g_assert_nonnull (f->dir);
  copy_fixtures (f->dir);
  if (compress != NULL)
    {
      const gchar *argv[] = { "createrepo_c", "--no-database", "--general-compress-type",
                              compress, f->dir, NULL };
      run (argv);
    }
  else
    {
      const gchar *argv[] = { "createrepo_c", "--no-database", f->dir, NULL };
      run (argv);
    }
  g_assert_cmpint (g_mkdir (f->work, 0700), ==, 0);
}

static void
fixture_teardown (Fixture *f, gconstpointer data)
{
  rm_rf (f->dir);
  g_free (f->dir);
  g_free (f->work);
}

static gboolean
collect_unit (PulpUnit *unit, gpointer user_data, GError **error)
{
  g_ptr_array_add (user_data, g_object_ref (unit));
  return TRUE;
}

/* What the importer does before parsing: read repomd.xml, verify (and
 * decompress) the primary file it names. */
static PulpRpmRepomd *
read_repomd (Fixture *f, gchar **primary_path, GError **error)
{
  g_autofree gchar *repomd_path = g_build_filename (f->dir, "repodata", "repomd.xml", NULL);
  g_autoptr (PulpRpmRepomd) repomd = pulp_rpm_repomd_parse (repomd_path, "repomd.xml", error);
  g_autofree gchar *path = NULL;

  if (repomd == NULL)
    return NULL;
  path = g_build_filename (f->dir, repomd->primary->location_href, NULL);
  *primary_path = pulp_rpm_prepare_metadata (path, repomd->primary, PULP_RPM_MAX_OPEN_SIZE, NULL,
                                             error);
  if (*primary_path == NULL)
    return NULL;
  return g_steal_pointer (&repomd);
}

static GPtrArray *
parse_repo (Fixture *f)
{
  g_autoptr (GError) error = NULL;
  g_autofree gchar *primary = NULL;
  g_autoptr (PulpRpmRepomd) repomd = read_repomd (f, &primary, &error);
  GPtrArray *units = g_ptr_array_new_with_free_func (g_object_unref);

  g_assert_no_error (error);
  g_assert_nonnull (repomd);
  g_assert_cmpuint (strlen (repomd->sha256), ==, 64);
  g_assert_true (pulp_rpm_parse_primary (primary, repomd->primary->location_href, collect_unit,
                                         units, NULL, &error));
  g_assert_no_error (error);
  return units;
}

static PulpUnit *
find_unit (GPtrArray *units, const gchar *name, const gchar *arch)
{
  for (guint i = 0; i < units->len; i++)
    {
      PulpUnit *u = g_ptr_array_index (units, i);
      const gchar *n = NULL;
      const gchar *a = NULL;
      g_variant_lookup (pulp_unit_get_key (u), "name", "&s", &n);
      g_variant_lookup (pulp_unit_get_key (u), "arch", "&s", &a);
      if (g_strcmp0 (n, name) == 0 && g_strcmp0 (a, arch) == 0)
        return u;
    }
  return NULL;
}

static gchar *
key_string (PulpUnit *unit, const gchar *field)
{
  gchar *s = NULL;
  g_assert_true (g_variant_lookup (pulp_unit_get_key (unit), field, "s", &s));
  return s;
}

static gchar *
meta_string (PulpUnit *unit, const gchar *field)
{
  gchar *s = NULL;
  g_assert_true (g_variant_lookup (pulp_unit_get_metadata (unit), field, "s", &s));
  return s;
}

static gchar *
file_sha256 (const gchar *path)
{
  g_autofree gchar *contents = NULL;
  gsize len;

  g_assert_true (g_file_get_contents (path, &contents, &len, NULL));
  return g_compute_checksum_for_data (G_CHECKSUM_SHA256, (const guchar *) contents, len);
}

/* The record of @name in the dependency list @kind (an `as` of fields
 * joined by U+001F: name, flags, epoch, version, release, pre), or NULL. */
static gchar *
dependency_record (PulpUnit *unit, const gchar *kind, const gchar *name)
{
  g_autoptr (GVariant) deps = g_variant_lookup_value (pulp_unit_get_metadata (unit), kind,
                                                      G_VARIANT_TYPE_STRING_ARRAY);
  g_autofree const gchar **records = NULL;
  gsize len = strlen (name);

  if (deps == NULL)
    return NULL;
  records = g_variant_get_strv (deps, NULL);
  for (guint i = 0; records[i] != NULL; i++)
    if (strncmp (records[i], name, len) == 0
        && (records[i][len] == '\0' || records[i][len] == '\x1f'))
      return g_strdup (records[i]);
  return NULL;
}

static gboolean
has_dependency (PulpUnit *unit, const gchar *kind, const gchar *name, gboolean *pre)
{
  g_autofree gchar *record = dependency_record (unit, kind, name);
  g_auto (GStrv) fields = NULL;

  if (record == NULL)
    return FALSE;
  fields = g_strsplit (record, "\x1f", -1);
  g_assert_cmpuint (g_strv_length (fields), <=, 6);
  if (pre != NULL)
    *pre = g_strv_length (fields) == 6 && g_str_equal (fields[5], "1");
  return TRUE;
}

/* Keys and metadata are written in GVariant's serialized form by hand and
 * handed to GLib as trusted: read back as untrusted data, they must be in
 * normal form (GLib checks every offset, alignment and string). */
static void
assert_normal_form (GVariant *dict)
{
  g_autoptr (GBytes) bytes = g_variant_get_data_as_bytes (dict);
  g_autoptr (GVariant) untrusted = g_variant_ref_sink (
    g_variant_new_from_bytes (G_VARIANT_TYPE_VARDICT, bytes, FALSE));

  g_assert_true (g_variant_is_normal_form (untrusted));
  g_assert_true (g_variant_equal (untrusted, dict));
}

/* Everything a user checks in the 12-package repository, whatever the
 * compression of primary. */
static void
assert_fixture_units (Fixture *f, GPtrArray *units)
{
  g_autoptr (GHashTable) ids = g_hash_table_new (g_str_hash, g_str_equal);
  PulpUnit *u;
  guint empties = 0;
  gboolean pre = FALSE;

  g_assert_cmpuint (units->len, ==, 12);
  for (guint i = 0; i < units->len; i++)
    {
      PulpUnit *unit = g_ptr_array_index (units, i);
      g_autofree gchar *href = meta_string (unit, "location-href");
      g_autofree gchar *path = g_build_filename (f->dir, href, NULL);
      g_autofree gchar *sum = file_sha256 (path);
      g_autofree gchar *checksum = key_string (unit, "checksum");
      g_autofree gchar *checksum_type = key_string (unit, "checksum-type");
      g_autofree gchar *name = key_string (unit, "name");

      g_assert_cmpstr (pulp_unit_get_type_id (unit), ==, "rpm");
      assert_normal_form (pulp_unit_get_key (unit));
      assert_normal_form (pulp_unit_get_metadata (unit));
      g_assert_cmpstr (pulp_unit_get_relative_path (unit), ==, href);
      g_assert_cmpstr (checksum_type, ==, "sha256");
      g_assert_cmpstr (checksum, ==, sum);
      g_assert_cmpstr (pulp_unit_get_sha256 (unit), ==, sum);
      g_hash_table_add (ids, (gpointer) pulp_unit_get_id (unit));
      if (g_strcmp0 (name, "empty") == 0)
        empties++;
    }
  /* The four `empty` x86_64 packages share a NEVRA but not a digest. */
  g_assert_cmpuint (empties, ==, 5);
  g_assert_cmpuint (g_hash_table_size (ids), ==, 12);

  u = find_unit (units, "Archer", "x86_64");
  g_assert_nonnull (u);
  {
    g_autofree gchar *epoch = key_string (u, "epoch");
    g_autofree gchar *version = key_string (u, "version");
    g_autofree gchar *release = key_string (u, "release");
    g_autofree gchar *sourcerpm = meta_string (u, "sourcerpm");
    g_autofree gchar *license = meta_string (u, "license");
    guint64 size = 0;

    g_assert_cmpstr (epoch, ==, "2");
    g_assert_cmpstr (version, ==, "3.4.5");
    g_assert_cmpstr (release, ==, "6");
    g_assert_cmpstr (sourcerpm, ==, "Archer-3.4.5-6.src.rpm");
    g_assert_cmpstr (license, ==, "GPL");
    g_assert_true (g_variant_lookup (pulp_unit_get_metadata (u), "size-package", "t", &size));
    g_assert_cmpuint (size, ==, 7737);
    g_assert_true (has_dependency (u, "provides", "bara", NULL));
    g_assert_true (has_dependency (u, "conflicts", "bbb", NULL));
    g_assert_true (has_dependency (u, "obsoletes", "aae", NULL));
    g_assert_true (has_dependency (u, "requires", "foof", &pre));
    g_assert_true (pre);
    g_assert_true (has_dependency (u, "requires", "fooa", &pre));
    g_assert_false (pre);
  }
  /* Everything else primary.xml says, so a publication can write it again:
   * dependency records exactly (trailing empty fields left out). */
  {
    g_autofree gchar *archer = dependency_record (u, "provides", "Archer");
    g_autofree gchar *barb = dependency_record (u, "provides", "barb");
    g_autofree gchar *bara = dependency_record (u, "provides", "bara");
    g_autofree gchar *foof = dependency_record (u, "requires", "foof");
    g_autofree gchar *packager = meta_string (u, "packager");
    g_autofree gchar *vendor = meta_string (u, "vendor");
    g_autofree gchar *group = meta_string (u, "group");
    g_autofree gchar *buildhost = meta_string (u, "buildhost");
    g_autoptr (GVariant) files = g_variant_lookup_value (pulp_unit_get_metadata (u), "files",
                                                         G_VARIANT_TYPE_STRING_ARRAY);
    guint64 start = 0;
    guint64 end = 0;

    g_assert_cmpstr (archer, ==, "Archer\x1f" "EQ\x1f" "2\x1f" "3.4.5\x1f" "6");
    g_assert_cmpstr (barb, ==, "barb\x1f" "GE\x1f" "0\x1f" "11.22.33\x1f" "44");
    g_assert_cmpstr (bara, ==, "bara\x1f" "LE\x1f" "0\x1f" "22");
    g_assert_cmpstr (foof, ==, "foof\x1f" "EQ\x1f" "0\x1f" "6\x1f\x1f" "1");
    g_assert_cmpstr (packager, ==, "Sterling Archer");
    g_assert_cmpstr (vendor, ==, "ISIS");
    g_assert_cmpstr (group, ==, "Development/Tools");
    g_assert_cmpstr (buildhost, ==, "localhost.localdomain");
    g_assert_true (g_variant_lookup (pulp_unit_get_metadata (u), "header-start", "t", &start));
    g_assert_true (g_variant_lookup (pulp_unit_get_metadata (u), "header-end", "t", &end));
    g_assert_cmpuint (start, ==, 4504);
    g_assert_cmpuint (end, ==, 7517);
    g_assert_nonnull (files);
    g_assert_cmpuint (g_variant_n_children (files), ==, 1);
    {
      g_autoptr (GVariant) file = g_variant_get_child_value (files, 0);
      g_assert_cmpstr (g_variant_get_string (file, NULL), ==, "/usr/bin/complex_a");
    }
  }

  u = find_unit (units, "Rimmer", "x86_64");
  g_assert_nonnull (u);
  {
    g_autoptr (GVariant) rec = g_variant_lookup_value (pulp_unit_get_metadata (u), "recommends",
                                                       NULL);
    g_assert_nonnull (rec);
    g_assert_cmpuint (g_variant_n_children (rec), >, 0);
    for (const gchar *k = "suggests"; k != NULL;
         k = g_str_equal (k, "suggests")       ? "supplements"
             : g_str_equal (k, "supplements") ? "enhances"
                                               : NULL)
      {
        g_autoptr (GVariant) v = g_variant_lookup_value (pulp_unit_get_metadata (u), k, NULL);
        g_assert_nonnull (v);
      }
  }

  u = find_unit (units, "balicek-utf8", "x86_64");
  g_assert_nonnull (u);
  {
    g_autofree gchar *summary = meta_string (u, "summary");
    g_assert_cmpstr (summary, ==, "Balíček s \"ěščřžýáíéů\"");
  }
  for (guint i = 0; i < 2; i++)
    {
      const gchar *name = i == 0 ? "balicek-iso88591" : "balicek-iso88592";
      g_autofree gchar *summary = NULL;
      g_autofree gchar *description = NULL;

      u = find_unit (units, name, "x86_64");
      g_assert_nonnull (u);
      summary = meta_string (u, "summary");
      description = meta_string (u, "description");
      g_assert_true (g_utf8_validate (summary, -1, NULL));
      g_assert_true (g_utf8_validate (description, -1, NULL));
      g_assert_true (g_str_has_prefix (summary, "Bal"));
    }

  u = find_unit (units, "empty", "src");
  g_assert_nonnull (u);
}

static void
test_parse_gz (Fixture *f, gconstpointer data)
{
  g_autoptr (GPtrArray) units = parse_repo (f);
  g_autofree gchar *primary = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (PulpRpmRepomd) repomd = read_repomd (f, &primary, &error);

  g_assert_no_error (error);
  g_assert_true (g_str_has_suffix (repomd->primary->location_href, ".xml.gz"));
  g_assert_cmpuint (pulp_rpm_primary_peek_count (primary), ==, 12);
  assert_fixture_units (f, units);
}

static void
test_parse_xz (Fixture *f, gconstpointer data)
{
  g_autoptr (GPtrArray) units = parse_repo (f);
  g_autofree gchar *primary = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (PulpRpmRepomd) repomd = read_repomd (f, &primary, &error);

  g_assert_true (g_str_has_suffix (repomd->primary->location_href, ".xml.xz"));
  g_assert_cmpuint (pulp_rpm_primary_peek_count (primary), ==, 12);
  assert_fixture_units (f, units);
}

/* Debian's createrepo_c cannot write zstd: compress the plain primary with
 * the zstd tool and rewrite its repomd.xml record, as upstream would.
 * @open_size_override: "" for a record without <open-size>; @zeros: when
 * not 0, compress that many zero bytes instead (a zstd bomb). */
static void
make_zstd_primary (Fixture *f, const gchar *open_size_override, guint64 zeros)
{
  g_autoptr (GError) error = NULL;
  g_autofree gchar *primary = NULL;
  g_autoptr (PulpRpmRepomd) repomd = read_repomd (f, &primary, &error);
  g_autofree gchar *gz = NULL;
  g_autofree gchar *plain = g_build_filename (f->work, "primary.xml", NULL);
  g_autofree gchar *zst = NULL;
  g_autofree gchar *zst_href = NULL;
  g_autofree gchar *repomd_path = g_build_filename (f->dir, "repodata", "repomd.xml", NULL);
  g_autofree gchar *repomd_text = NULL;
  g_autofree gchar *record = NULL;
  g_autofree gchar *new_text = NULL;
  g_autofree gchar *zst_sum = NULL;
  g_autofree gchar *plain_sum = NULL;
  g_autoptr (GRegex) re = NULL;
  g_autofree gchar *open_size = NULL;
  GStatBuf st_zst, st_plain;

  g_assert_no_error (error);
  gz = g_build_filename (f->dir, repomd->primary->location_href, NULL);
  {
    g_autofree gchar *cmd = zeros > 0 ? g_strdup_printf ("head -c %" G_GUINT64_FORMAT
                                                        " /dev/zero > '%s'", zeros, plain)
                                      : g_strdup_printf ("gzip -dc '%s' > '%s'", gz, plain);
    const gchar *argv[] = { "sh", "-c", cmd, NULL };
    run (argv);
  }
  plain_sum = file_sha256 (plain);
  zst_href = g_strdup_printf ("repodata/%s-primary.xml.zst", plain_sum);
  zst = g_build_filename (f->dir, zst_href, NULL);
  {
    const gchar *argv[] = { "zstd", "-q", "-f", "-19", plain, "-o", zst, NULL };
    run (argv);
  }
  g_assert_cmpint (g_unlink (gz), ==, 0);
  zst_sum = file_sha256 (zst);
  g_assert_cmpint (g_stat (zst, &st_zst), ==, 0);
  g_assert_cmpint (g_stat (plain, &st_plain), ==, 0);
  open_size = open_size_override != NULL
                ? g_strdup (open_size_override)
                : g_strdup_printf ("%" G_GINT64_FORMAT, (gint64) st_plain.st_size);
  record = g_strdup_printf ("<data type=\"primary\">\n"
                            "    <checksum type=\"sha256\">%s</checksum>\n"
                            "    <open-checksum type=\"sha256\">%s</open-checksum>\n"
                            "    <location href=\"%s\"/>\n"
                            "    <timestamp>1700000000</timestamp>\n"
                            "    <size>%" G_GINT64_FORMAT "</size>\n"
                            "%s%s%s"
                            "  </data>",
                            zst_sum, plain_sum, zst_href, (gint64) st_zst.st_size,
                            *open_size != '\0' ? "    <open-size>" : "", open_size,
                            *open_size != '\0' ? "</open-size>\n" : "");
  g_assert_true (g_file_get_contents (repomd_path, &repomd_text, NULL, NULL));
  re = g_regex_new ("<data type=\"primary\">.*?</data>", G_REGEX_DOTALL, 0, NULL);
  new_text = g_regex_replace_literal (re, repomd_text, -1, 0, record, 0, NULL);
  g_assert_cmpstr (new_text, !=, repomd_text);
  g_assert_true (g_file_set_contents (repomd_path, new_text, -1, NULL));
}

static void
test_parse_zstd (Fixture *f, gconstpointer data)
{
  g_autoptr (GPtrArray) units = NULL;
  g_autofree gchar *primary = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (PulpRpmRepomd) repomd = NULL;

  make_zstd_primary (f, NULL, 0);
  repomd = read_repomd (f, &primary, &error);
  g_assert_no_error (error);
  g_assert_true (g_str_has_suffix (repomd->primary->location_href, ".xml.zst"));
  g_assert_cmpint (repomd->primary->open_size, >, 0);
  g_assert_cmpuint (pulp_rpm_primary_peek_count (primary), ==, 12);
  units = parse_repo (f);
  assert_fixture_units (f, units);
}

/* A record that understates the open size must stop decompression rather
 * than fill the temp disk. */
static void
test_zstd_open_size (Fixture *f, gconstpointer data)
{
  g_autofree gchar *primary = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (PulpRpmRepomd) repomd = NULL;

  make_zstd_primary (f, "100", 0);
  repomd = read_repomd (f, &primary, &error);
  g_assert_error (error, PULP_ERROR, PULP_ERROR_CHECKSUM);
  g_assert_nonnull (strstr (error->message, "primary.xml.zst"));
  g_assert_nonnull (strstr (error->message, "100"));
  g_assert_null (repomd);
}

/* Without <open-size> a zstd primary is read all the same. */
static void
test_zstd_no_open_size (Fixture *f, gconstpointer data)
{
  g_autoptr (GPtrArray) units = NULL;
  g_autofree gchar *primary = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (PulpRpmRepomd) repomd = NULL;

  make_zstd_primary (f, "", 0);
  repomd = read_repomd (f, &primary, &error);
  g_assert_no_error (error);
  g_assert_cmpint (repomd->primary->open_size, ==, -1);
  units = parse_repo (f);
  assert_fixture_units (f, units);
}

/* A small file that expands far beyond anything real stops at the limit,
 * whether its record declares no open size or a huge one: the temp disk
 * never holds more than the limit. */
static void
test_zstd_bomb (Fixture *f, gconstpointer data)
{
  const gchar *declared[] = { "", "1099511627776" };
  const gint64 limit = 1024 * 1024;

  for (guint i = 0; i < G_N_ELEMENTS (declared); i++)
    {
      g_autofree gchar *repomd_path = NULL;
      g_autoptr (PulpRpmRepomd) repomd = NULL;
      g_autoptr (GError) error = NULL;
      g_autofree gchar *path = NULL;
      g_autofree gchar *plain = NULL;
      g_autofree gchar *result = NULL;
      GStatBuf st_zst, st_plain;

      if (i > 0)
        {
          fixture_teardown (f, data);
          fixture_setup (f, data);
        }
      make_zstd_primary (f, declared[i], 16 * 1024 * 1024);
      repomd_path = g_build_filename (f->dir, "repodata", "repomd.xml", NULL);
      repomd = pulp_rpm_repomd_parse (repomd_path, "repomd.xml", &error);
      g_assert_no_error (error);
      path = g_build_filename (f->dir, repomd->primary->location_href, NULL);
      g_assert_cmpint (g_stat (path, &st_zst), ==, 0);
      g_assert_cmpint (st_zst.st_size, <, 4096);
      result = pulp_rpm_prepare_metadata (path, repomd->primary, limit, NULL, &error);
      g_assert_null (result);
      g_test_message ("open-size “%s”: %s", declared[i], error->message);
      g_assert_error (error, PULP_ERROR, PULP_ERROR_INVALID_ARGUMENT);
      g_assert_nonnull (strstr (error->message, repomd->primary->location_href));
      g_assert_nonnull (strstr (error->message, "more than 1048576 bytes"));
      plain = g_strconcat (path, ".plain.xml", NULL);
      g_assert_cmpint (g_stat (plain, &st_plain), ==, 0);
      g_assert_cmpint (st_plain.st_size, <=, limit);
    }
}

static void
test_tampered (Fixture *f, gconstpointer data)
{
  g_autofree gchar *repomd_path = g_build_filename (f->dir, "repodata", "repomd.xml", NULL);
  g_autoptr (GError) error = NULL;
  g_autoptr (PulpRpmRepomd) repomd = pulp_rpm_repomd_parse (repomd_path, "repomd.xml", &error);
  g_autofree gchar *path = NULL;
  g_autofree gchar *contents = NULL;
  g_autofree gchar *result = NULL;
  gsize len;

  g_assert_no_error (error);
  path = g_build_filename (f->dir, repomd->primary->location_href, NULL);
  g_assert_true (g_file_get_contents (path, &contents, &len, NULL));
  contents[len / 2] ^= 0x01;
  g_assert_true (g_file_set_contents (path, contents, len, NULL));

  result = pulp_rpm_prepare_metadata (path, repomd->primary, PULP_RPM_MAX_OPEN_SIZE, NULL, &error);
  g_assert_null (result);
  g_assert_error (error, PULP_ERROR, PULP_ERROR_CHECKSUM);
  g_assert_nonnull (strstr (error->message, repomd->primary->location_href));
  g_assert_nonnull (strstr (error->message, "does not match"));

  /* A truncated file is caught by its declared size. */
  g_clear_error (&error);
  g_assert_true (g_file_set_contents (path, contents, len - 1, NULL));
  result = pulp_rpm_prepare_metadata (path, repomd->primary, PULP_RPM_MAX_OPEN_SIZE, NULL, &error);
  g_assert_error (error, PULP_ERROR, PULP_ERROR_CHECKSUM);
  g_assert_nonnull (strstr (error->message, "size"));
}

#define PACKAGE_XML(LOCATION, SUMMARY)                                                            \
  "<package type=\"rpm\">\n"                                                                      \
  "  <name>foo</name>\n"                                                                          \
  "  <arch>noarch</arch>\n"                                                                       \
  "  <version epoch=\"0\" ver=\"1.0\" rel=\"1\"/>\n"                                              \
  "  <checksum type=\"sha256\" pkgid=\"YES\">"                                                    \
  "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef</checksum>\n"                 \
  "  <summary>" SUMMARY "</summary>\n"                                                            \
  "  <description>d</description>\n"                                                              \
  "  <packager></packager>\n"                                                                     \
  "  <url></url>\n"                                                                               \
  "  <time file=\"1\" build=\"2\"/>\n"                                                            \
  "  <size package=\"3\" installed=\"4\" archive=\"5\"/>\n"                                       \
  "  <location href=\"" LOCATION "\"/>\n"                                                         \
  "  <format><rpm:license>MIT</rpm:license></format>\n"                                           \
  "</package>\n"

#define PRIMARY_HEAD                                                                              \
  "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"                                                  \
  "<metadata xmlns=\"http://linux.duke.edu/metadata/common\" "                                    \
  "xmlns:rpm=\"http://linux.duke.edu/metadata/rpm\" packages=\"1\">\n"

static gboolean
parse_text (Fixture *f, const gchar *text, GPtrArray *units, GError **error)
{
  g_autofree gchar *path = g_build_filename (f->work, "primary.xml", NULL);

  g_assert_true (g_file_set_contents (path, text, -1, NULL));
  return pulp_rpm_parse_primary (path, "repodata/primary.xml", collect_unit, units, NULL, error);
}

static void
test_handmade_ok (Fixture *f, gconstpointer data)
{
  g_autoptr (GPtrArray) units = g_ptr_array_new_with_free_func (g_object_unref);
  g_autoptr (GError) error = NULL;

  g_assert_true (parse_text (f, PRIMARY_HEAD PACKAGE_XML ("Packages/f/foo-1.0-1.noarch.rpm", "s")
                                  "</metadata>\n",
                             units, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (units->len, ==, 1);
  g_assert_cmpstr (pulp_unit_get_relative_path (g_ptr_array_index (units, 0)), ==,
                   "Packages/f/foo-1.0-1.noarch.rpm");
}

/* createrepo_c 0.17 hands every '&' of an attribute value over as "&#38;"
 * (libxml2 without entity substitution); element text is decoded. Each
 * spelling of '&' must come back as '&', and a literal "&#38;" in the
 * original value (written "&amp;#38;") as itself. */
static void
test_ampersand_attributes (Fixture *f, gconstpointer data)
{
  g_autoptr (GPtrArray) units = g_ptr_array_new_with_free_func (g_object_unref);
  g_autoptr (GPtrArray) keys = g_ptr_array_new_with_free_func (g_object_unref);
  g_autoptr (GError) error = NULL;
  g_autofree gchar *path = g_build_filename (f->work, "primary.xml", NULL);
  g_autofree gchar *name = NULL;
  g_autofree gchar *version = NULL;
  g_autofree gchar *release = NULL;
  g_autofree gchar *href = NULL;
  g_autofree gchar *base = NULL;
  g_autofree gchar *tom = NULL;
  g_autofree gchar *literal = NULL;
  g_autofree gchar *req = NULL;
  PulpUnit *u;

  g_assert_true (parse_text (
    f,
    PRIMARY_HEAD "<package type=\"rpm\"><name>tom&amp;jerry</name><arch>noarch</arch>"
                 "<version epoch=\"0\" ver=\"1.0&amp;x\" rel=\"1&#38;2&#x26;3\"/>"
                 "<checksum type=\"sha256\" pkgid=\"YES\">"
                 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef</checksum>"
                 "<summary>a &amp; b</summary><description/><packager/><url/>"
                 "<time file=\"1\" build=\"2\"/><size package=\"3\" installed=\"4\" archive=\"5\"/>"
                 "<location href=\"Packages/semi;colon&amp;amp.rpm\" "
                 "xml:base=\"http://127.0.0.1:8/a&amp;b/\"/>"
                 "<format><rpm:provides><rpm:entry name=\"tom&amp;jerry\"/>"
                 "<rpm:entry name=\"lit&amp;#38;eral\" flags=\"EQ\" epoch=\"0\" ver=\"&amp;1\" "
                 "rel=\"&lt;&amp;&gt;\"/></rpm:provides>"
                 "<rpm:requires><rpm:entry name=\"(a &amp; b)\"/></rpm:requires>"
                 "</format></package></metadata>\n",
    units, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (units->len, ==, 1);
  u = g_ptr_array_index (units, 0);
  name = key_string (u, "name");
  version = key_string (u, "version");
  release = key_string (u, "release");
  href = meta_string (u, "location-href");
  base = meta_string (u, "location-base");
  tom = dependency_record (u, "provides", "tom&jerry");
  literal = dependency_record (u, "provides", "lit&#38;eral");
  req = dependency_record (u, "requires", "(a & b)");
  g_assert_cmpstr (name, ==, "tom&jerry");
  g_assert_cmpstr (version, ==, "1.0&x");
  g_assert_cmpstr (release, ==, "1&2&3");
  g_assert_cmpstr (href, ==, "Packages/semi;colon&amp.rpm");
  g_assert_cmpstr (pulp_unit_get_relative_path (u), ==, "Packages/semi;colon&amp.rpm");
  g_assert_cmpstr (base, ==, "http://127.0.0.1:8/a&b/");
  g_assert_cmpstr (tom, ==, "tom&jerry");
  g_assert_cmpstr (literal, ==, "lit&#38;eral\x1f" "EQ\x1f" "0\x1f" "&1\x1f" "<&>");
  g_assert_cmpstr (req, ==, "(a & b)");
  assert_normal_form (pulp_unit_get_key (u));
  assert_normal_form (pulp_unit_get_metadata (u));

  /* The scan before downloads sees the same key and location. */
  g_assert_true (pulp_rpm_parse_primary_for_feed (path, "primary.xml", "http://127.0.0.1:8/",
                                                  PULP_RPM_PARSE_KEYS_ONLY, collect_unit, keys,
                                                  NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (keys->len, ==, 1);
  g_assert_cmpstr (pulp_unit_get_id (g_ptr_array_index (keys, 0)), ==, pulp_unit_get_id (u));
  g_assert_cmpstr (pulp_unit_get_relative_path (g_ptr_array_index (keys, 0)), ==,
                   "Packages/semi;colon&amp.rpm");
}

/* A primary of one package: PACKAGE_XML with its epoch, checksum type and
 * checksum replaced. */
static gchar *
primary_with (const gchar *epoch, const gchar *type, const gchar *checksum)
{
  g_autoptr (GString) xml = g_string_new (PACKAGE_XML ("Packages/f/foo-1.0-1.noarch.rpm", "s"));

  g_string_replace (xml, "epoch=\"0\"", epoch, 1);
  g_string_replace (xml, "type=\"sha256\"", type, 1);
  g_string_replace (xml, "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
                    checksum, 1);
  g_string_prepend (xml, PRIMARY_HEAD);
  g_string_append (xml, "</metadata>\n");
  return g_string_free (g_steal_pointer (&xml), FALSE);
}

/* Values primary declares that no package can have: refused before
 * anything is handed on, naming the file and the package. */
static void
test_bad_values (Fixture *f, gconstpointer data)
{
  const gchar *sha1 = "0123456789abcdef0123456789abcdef01234567";
  const gchar *sha256 = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
  g_autofree gchar *sha512 = g_strconcat (sha256, sha256, NULL);
  g_autofree gchar *sha384 = g_strndup (sha512, 96);
  g_autofree gchar *md5 = g_strndup (sha256, 32);
  struct
  {
    const gchar *epoch, *type, *checksum, *problem;
  } cases[] = {
    { "epoch=\"0\"", "type=\"sha256\"", "abc", "not 64 hexadecimal digits as" },
    { "epoch=\"0\"", "type=\"sha256\"", sha1, "not 64 hexadecimal digits as" },
    { "epoch=\"0\"", "type=\"sha256\"", sha512, "not 64 hexadecimal digits as" },
    { "epoch=\"0\"", "type=\"md5\"", sha256, "not 32 hexadecimal digits as" },
    { "epoch=\"0\"", "type=\"sha\"", md5, "not 40 hexadecimal digits as" },
    { "epoch=\"0\"", "type=\"sha384\"", sha512, "not 96 hexadecimal digits as" },
    { "epoch=\"0\"", "type=\"sha512\"", sha384, "not 128 hexadecimal digits as" },
    { "epoch=\"0\"", "type=\"sha256\"", "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdeg",
      "not 64 hexadecimal digits as" },
    { "epoch=\"abc\"", "type=\"sha256\"", sha256, "epoch “abc”" },
    { "epoch=\"-1\"", "type=\"sha256\"", sha256, "epoch “-1”" },
    { "epoch=\"+1\"", "type=\"sha256\"", sha256, "epoch “+1”" },
    { "epoch=\"1 \"", "type=\"sha256\"", sha256, "epoch “1 ”" },
    { "epoch=\"4294967296\"", "type=\"sha256\"", sha256, "epoch “4294967296”" },
  };
  struct
  {
    const gchar *epoch, *type, *checksum;
  } good[] = {
    { "epoch=\"0\"", "type=\"md5\"", md5 },
    { "epoch=\"0\"", "type=\"sha\"", sha1 },
    { "epoch=\"0\"", "type=\"SHA1\"", sha1 },
    { "epoch=\"0\"", "type=\"sha384\"", sha384 },
    { "epoch=\"0\"", "type=\"sha512\"", sha512 },
    { "epoch=\"4294967295\"", "type=\"sha256\"", sha256 },
    { "epoch=\"\"", "type=\"sha256\"", sha256 },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr (GPtrArray) units = g_ptr_array_new_with_free_func (g_object_unref);
      g_autoptr (GError) error = NULL;
      g_autofree gchar *text = primary_with (cases[i].epoch, cases[i].type, cases[i].checksum);

      g_assert_false (parse_text (f, text, units, &error));
      g_test_message ("%s %s %s: %s", cases[i].epoch, cases[i].type, cases[i].checksum,
                      error->message);
      g_assert_error (error, PULP_ERROR, PULP_ERROR_INVALID_ARGUMENT);
      g_assert_nonnull (strstr (error->message, "repodata/primary.xml"));
      g_assert_nonnull (strstr (error->message, "package foo-"));
      g_assert_nonnull (strstr (error->message, cases[i].problem));
      g_assert_cmpuint (units->len, ==, 0);
    }
  for (guint i = 0; i < G_N_ELEMENTS (good); i++)
    {
      g_autoptr (GPtrArray) units = g_ptr_array_new_with_free_func (g_object_unref);
      g_autoptr (GError) error = NULL;
      g_autofree gchar *text = primary_with (good[i].epoch, good[i].type, good[i].checksum);

      g_assert_true (parse_text (f, text, units, &error));
      g_assert_no_error (error);
      g_assert_cmpuint (units->len, ==, 1);
    }
}

static gboolean
collect_keys_only (PulpUnit *unit, gpointer user_data, GError **error)
{
  g_assert_cmpuint (g_variant_n_children (pulp_unit_get_metadata (unit)), ==, 0);
  g_ptr_array_add (user_data, g_object_ref (unit));
  return TRUE;
}

/* Values big enough for every width of GVariant framing offsets (1, 2 and
 * 4 bytes), file types, and the keys-only scan giving the same units. */
static void
test_handmade_large (Fixture *f, gconstpointer data)
{
  g_autoptr (GPtrArray) units = g_ptr_array_new_with_free_func (g_object_unref);
  g_autoptr (GPtrArray) keys = g_ptr_array_new_with_free_func (g_object_unref);
  g_autoptr (GError) error = NULL;
  g_autoptr (GString) xml = g_string_new (PRIMARY_HEAD);
  g_autofree gchar *path = g_build_filename (f->work, "primary.xml", NULL);
  g_autofree gchar *summary = NULL;
  g_autofree const gchar **requires = NULL;
  g_autofree const gchar **files = NULL;
  g_autoptr (GVariant) v = NULL;
  PulpUnit *u;

  g_string_replace (xml, "packages=\"1\"", "packages=\"2\"", 1);
  g_string_append (xml, PACKAGE_XML ("Packages/f/foo-1.0-1.noarch.rpm", "s"));
  g_string_append (xml, "<package type=\"rpm\"><name>big</name><arch>noarch</arch>"
                        "<version epoch=\"0\" ver=\"1\" rel=\"1\"/>"
                        "<checksum type=\"sha256\" pkgid=\"YES\">"
                        "1123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
                        "</checksum><summary>");
  for (guint i = 0; i < 7000; i++)
    g_string_append (xml, "0123456789");
  g_string_append (xml, "</summary><description/><packager/><url/><time file=\"1\" build=\"2\"/>"
                        "<size package=\"3\" installed=\"4\" archive=\"5\"/>"
                        "<location href=\"big.rpm\"/><format><rpm:requires>");
  for (guint i = 0; i < 5000; i++)
    g_string_append_printf (xml, "<rpm:entry name=\"lib%u.so()(64bit)\" flags=\"GE\" epoch=\"0\" "
                                 "ver=\"1\"/>", i);
  g_string_append (xml, "<rpm:entry name=\"(a if b)\"/></rpm:requires>"
                        "<file>/usr/bin/big</file><file type=\"dir\">/etc/big</file>"
                        "<file type=\"ghost\">/etc/big/state</file></format></package>"
                        "</metadata>\n");
  g_assert_true (parse_text (f, xml->str, units, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (units->len, ==, 2);
  for (guint i = 0; i < units->len; i++)
    {
      assert_normal_form (pulp_unit_get_key (g_ptr_array_index (units, i)));
      assert_normal_form (pulp_unit_get_metadata (g_ptr_array_index (units, i)));
    }
  u = g_ptr_array_index (units, 1);
  summary = meta_string (u, "summary");
  g_assert_cmpuint (strlen (summary), ==, 70000);
  v = g_variant_lookup_value (pulp_unit_get_metadata (u), "requires", G_VARIANT_TYPE_STRING_ARRAY);
  requires = g_variant_get_strv (v, NULL);
  g_assert_cmpuint (g_strv_length ((gchar **) requires), ==, 5001);
  g_assert_cmpstr (requires[4999], ==, "lib4999.so()(64bit)\x1f" "GE\x1f" "0\x1f" "1");
  g_assert_cmpstr (requires[5000], ==, "(a if b)");
  g_clear_pointer (&v, g_variant_unref);
  v = g_variant_lookup_value (pulp_unit_get_metadata (u), "files", G_VARIANT_TYPE_STRING_ARRAY);
  files = g_variant_get_strv (v, NULL);
  g_assert_cmpuint (g_strv_length ((gchar **) files), ==, 3);
  g_assert_cmpstr (files[0], ==, "/usr/bin/big");
  g_assert_cmpstr (files[1], ==, "/etc/big\x1f" "dir");
  g_assert_cmpstr (files[2], ==, "/etc/big/state\x1f" "ghost");

  g_assert_true (pulp_rpm_parse_primary_for_feed (path, "primary.xml", NULL,
                                                  PULP_RPM_PARSE_KEYS_ONLY, collect_keys_only,
                                                  keys, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (keys->len, ==, 2);
  for (guint i = 0; i < keys->len; i++)
    {
      PulpUnit *full = g_ptr_array_index (units, i);
      PulpUnit *key = g_ptr_array_index (keys, i);
      g_assert_cmpstr (pulp_unit_get_id (key), ==, pulp_unit_get_id (full));
      g_assert_cmpstr (pulp_unit_get_relative_path (key), ==, pulp_unit_get_relative_path (full));
      g_assert_cmpuint (pulp_unit_get_size (key), ==, pulp_unit_get_size (full));
      g_assert_cmpstr (pulp_unit_get_sha256 (key), ==, pulp_unit_get_sha256 (full));
    }
}

typedef struct
{
  GCancellable *cancellable;
  guint seen;
} CancelAt;

static gboolean
cancel_at_ten (PulpUnit *unit, gpointer user_data, GError **error)
{
  CancelAt *c = user_data;

  if (++c->seen == 10)
    g_cancellable_cancel (c->cancellable);
  return TRUE;
}

/* The parser runs in a thread of its own, a few hundred packages ahead:
 * cancelling stops it there, and the units already parsed are all that
 * reach the callback. */
static void
test_cancel (Fixture *f, gconstpointer data)
{
  g_autoptr (GCancellable) cancellable = g_cancellable_new ();
  g_autoptr (GError) error = NULL;
  g_autoptr (GString) xml = g_string_new (PRIMARY_HEAD);
  g_autofree gchar *path = g_build_filename (f->work, "primary.xml", NULL);
  CancelAt c = { .cancellable = cancellable };

  g_string_replace (xml, "packages=\"1\"", "packages=\"5000\"", 1);
  for (guint i = 0; i < 5000; i++)
    g_string_append (xml, PACKAGE_XML ("Packages/f/foo-1.0-1.noarch.rpm", "s"));
  g_string_append (xml, "</metadata>\n");
  g_assert_true (g_file_set_contents (path, xml->str, -1, NULL));

  g_assert_false (pulp_rpm_parse_primary (path, "primary.xml", cancel_at_ten, &c, cancellable,
                                          &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_assert_cmpuint (c.seen, >=, 10);
  g_assert_cmpuint (c.seen, <, 1000);
}

static void
test_malformed (Fixture *f, gconstpointer data)
{
  g_autoptr (GPtrArray) units = g_ptr_array_new_with_free_func (g_object_unref);
  g_autoptr (GError) error = NULL;

  /* Not well-formed: a closing tag that does not match. */
  g_assert_false (parse_text (f,
                              PRIMARY_HEAD "<package type=\"rpm\">\n  <name>foo</nam>\n"
                                           "</package></metadata>\n",
                              units, &error));
  g_assert_error (error, PULP_ERROR, PULP_ERROR_INVALID_ARGUMENT);
  g_assert_nonnull (strstr (error->message, "repodata/primary.xml"));
  g_test_message ("malformed: %s", error->message);
  g_clear_error (&error);

  /* Well-formed, but not primary metadata at all. */
  g_assert_false (parse_text (f, "<?xml version=\"1.0\"?>\n<html><body/></html>\n", units,
                              &error));
  g_assert_error (error, PULP_ERROR, PULP_ERROR_INVALID_ARGUMENT);
  g_assert_nonnull (strstr (error->message, "repodata/primary.xml"));
  g_test_message ("not primary: %s", error->message);
  g_clear_error (&error);

  /* Cut off in the middle of a package. */
  g_assert_false (parse_text (f, PRIMARY_HEAD "<package type=\"rpm\">\n  <name>fo", units, &error));
  g_assert_error (error, PULP_ERROR, PULP_ERROR_INVALID_ARGUMENT);
  g_test_message ("truncated: %s", error->message);
  g_assert_cmpuint (units->len, ==, 0);
  g_clear_error (&error);
}

/* Errors that createrepo_c gives without a line say which package: in a
 * primary of 50,000 packages the message must lead to the bad one. */
static void
test_malformed_package_named (Fixture *f, gconstpointer data)
{
  g_autoptr (GPtrArray) units = g_ptr_array_new_with_free_func (g_object_unref);
  g_autoptr (GString) xml = g_string_new (PRIMARY_HEAD);
  g_autoptr (GError) error = NULL;

  /* a size that is not a number, in the third package */
  g_string_append (xml, PACKAGE_XML ("a.rpm", "s") PACKAGE_XML ("b.rpm", "s"));
  g_string_append (xml, "<package type=\"rpm\">\n  <name>bar</name>\n  <arch>noarch</arch>\n"
                        "  <version epoch=\"0\" ver=\"1.0\" rel=\"1\"/>\n"
                        "  <size package=\"x8209\"/>\n  <location href=\"c.rpm\"/>\n"
                        "</package></metadata>\n");
  g_assert_false (parse_text (f, xml->str, units, &error));
  g_assert_error (error, PULP_ERROR, PULP_ERROR_INVALID_ARGUMENT);
  g_test_message ("bad number: %s", error->message);
  g_assert_true (g_str_has_prefix (error->message,
                                   "repodata/primary.xml is malformed in package 3 (“bar”): "));
  g_assert_nonnull (strstr (error->message, "x8209"));
  g_clear_error (&error);

  /* a package without its checksum: createrepo_c finds out at its end */
  g_assert_false (parse_text (f,
                              PRIMARY_HEAD PACKAGE_XML ("a.rpm", "s")
                              "<package type=\"rpm\"><name>zz</name></package></metadata>\n",
                              units, &error));
  g_assert_error (error, PULP_ERROR, PULP_ERROR_INVALID_ARGUMENT);
  g_test_message ("no checksum: %s", error->message);
  g_assert_true (g_str_has_prefix (error->message,
                                   "repodata/primary.xml is malformed in package 2 (“zz”): "));
}

static gboolean
variant_mentions (GVariant *v, const gchar *needle)
{
  g_autofree gchar *text = g_variant_print (v, FALSE);
  return strstr (text, needle) != NULL;
}

static void
test_external_entity (Fixture *f, gconstpointer data)
{
  g_autoptr (GPtrArray) units = g_ptr_array_new_with_free_func (g_object_unref);
  g_autoptr (GError) error = NULL;
  g_autofree gchar *secret = g_build_filename (f->work, "secret.txt", NULL);
  g_autofree gchar *secret_uri = g_filename_to_uri (secret, NULL, NULL);
  g_autofree gchar *text = NULL;
  gboolean ok;

  g_assert_true (g_file_set_contents (secret, "TOPSECRET-4711", -1, NULL));
  text = g_strdup_printf ("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                          "<!DOCTYPE metadata [ <!ENTITY xxe SYSTEM \"%s\"> ]>\n"
                          "<metadata xmlns=\"http://linux.duke.edu/metadata/common\" "
                          "xmlns:rpm=\"http://linux.duke.edu/metadata/rpm\" packages=\"1\">\n"
                          PACKAGE_XML ("foo-1.0-1.noarch.rpm", "&xxe;") "</metadata>\n",
                          secret_uri);
  ok = parse_text (f, text, units, &error);
  g_test_message ("external entity: %s", ok ? "parsed" : error->message);
  if (!ok)
    g_assert_null (strstr (error->message, "TOPSECRET"));
  for (guint i = 0; i < units->len; i++)
    {
      PulpUnit *u = g_ptr_array_index (units, i);
      g_assert_false (variant_mentions (pulp_unit_get_metadata (u), "TOPSECRET"));
      g_assert_false (variant_mentions (pulp_unit_get_key (u), "TOPSECRET"));
    }
}

static void
test_location_rejected (Fixture *f, gconstpointer data)
{
  const gchar *bad[] = { "../../etc/passwd.rpm", "Packages/../../x.rpm", "/etc/passwd",
                         "http://evil.example/x.rpm", "Packages/", "Packages/./p.rpm",
                         "Packages//q.rpm", ".", "./p.rpm", "Packages/.", "a/../b.rpm" };
  g_autoptr (GPtrArray) units = g_ptr_array_new_with_free_func (g_object_unref);
  g_autoptr (GError) error = NULL;

  /* Through the parser: the package is named and nothing is handed on. */
  g_assert_false (parse_text (f, PRIMARY_HEAD PACKAGE_XML ("Packages/../../../etc/shadow", "s")
                                   "</metadata>\n",
                              units, &error));
  g_assert_error (error, PULP_ERROR, PULP_ERROR_INVALID_ARGUMENT);
  g_assert_nonnull (strstr (error->message, "foo-0:1.0-1.noarch"));
  g_assert_nonnull (strstr (error->message, "../"));
  g_assert_cmpuint (units->len, ==, 0);
  for (guint i = 0; i < 2; i++)
    {
      g_clear_error (&error);
      g_assert_false (parse_text (f,
                                  i == 0 ? PRIMARY_HEAD PACKAGE_XML ("Packages/./p.rpm", "s")
                                             "</metadata>\n"
                                         : PRIMARY_HEAD PACKAGE_XML ("Packages//q.rpm", "s")
                                             "</metadata>\n",
                                  units, &error));
      g_assert_error (error, PULP_ERROR, PULP_ERROR_INVALID_ARGUMENT);
      g_assert_nonnull (strstr (error->message, "repodata/primary.xml"));
      g_assert_nonnull (strstr (error->message, "foo-0:1.0-1.noarch"));
      g_assert_nonnull (strstr (error->message, "empty or “.” component"));
      g_assert_cmpuint (units->len, ==, 0);
    }

  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_clear_error (&error);
      g_assert_false (pulp_rpm_check_location (bad[i], NULL, "package x", &error));
      g_assert_error (error, PULP_ERROR, PULP_ERROR_INVALID_ARGUMENT);
      g_assert_nonnull (strstr (error->message, "package x"));
    }
  g_clear_error (&error);
  g_assert_true (pulp_rpm_check_location ("Packages/a/a..b-1.rpm", NULL, "p", &error));
  g_assert_true (pulp_rpm_check_location ("Packages/.a/..b/.c.rpm", NULL, "p", &error));
  g_assert_true (pulp_rpm_check_location ("p.rpm", NULL, "p", &error));
  g_assert_true (pulp_rpm_check_location ("foo:1.rpm/x", NULL, "p", &error) == FALSE
                 || error == NULL);
  g_clear_error (&error);
}

static void
test_resolve_location (void)
{
  g_autoptr (GError) error = NULL;
  g_autofree gchar *a = NULL;
  g_autofree gchar *b = NULL;
  g_autofree gchar *c = NULL;
  g_autofree gchar *d = NULL;
  g_autofree gchar *e = NULL;

  a = pulp_rpm_resolve_location ("http://127.0.0.1:8/repo", "Packages/a/a-1.rpm", NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (a, ==, "http://127.0.0.1:8/repo/Packages/a/a-1.rpm");
  /* A name is a name: "%", "?" and "#" do not change the URL's meaning. */
  b = pulp_rpm_resolve_location ("http://127.0.0.1:8/repo/", "P/a%2e%2e?x#y+1.rpm", NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (b, ==, "http://127.0.0.1:8/repo/P/a%252e%252e%3Fx%23y+1.rpm");
  c = pulp_rpm_resolve_location ("http://127.0.0.1:8/repo/", "x.rpm", "https://mirror.example/base",
                                 &error);
  g_assert_no_error (error);
  g_assert_cmpstr (c, ==, "https://mirror.example/base/x.rpm");
  /* Remote metadata cannot point the daemon at local files. */
  d = pulp_rpm_resolve_location ("http://127.0.0.1:8/repo/", "shadow", "file:///etc/", &error);
  g_assert_null (d);
  g_assert_error (error, PULP_ERROR, PULP_ERROR_INVALID_ARGUMENT);
  g_assert_nonnull (strstr (error->message, "xml:base"));
  g_clear_error (&error);
  e = pulp_rpm_resolve_location ("file:///srv/repo", "x.rpm", "file:///srv/other/", &error);
  g_assert_no_error (error);
  g_assert_cmpstr (e, ==, "file:///srv/other/x.rpm");
}

/* Every URL of a sync is resolved against the feed: a fragment would move
 * them, a query would be dropped. */
static void
test_check_feed (void)
{
  const gchar *good[] = { "http://127.0.0.1:8/repo", "http://127.0.0.1:8/repo/",
                          "https://u:p@mirror.example/a%3Fb%23c/", "file:///srv/repo" };
  const gchar *bad[] = { "http://127.0.0.1:8/real#frag", "http://127.0.0.1:8/real?token=x",
                         "http://127.0.0.1:8/real/?", "http://127.0.0.1:8/real/#",
                         "file:///srv/repo?x" };

  for (guint i = 0; i < G_N_ELEMENTS (good); i++)
    {
      g_autoptr (GError) error = NULL;
      g_assert_true (pulp_rpm_check_feed (good[i], &error));
      g_assert_no_error (error);
    }
  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autoptr (GError) error = NULL;
      g_assert_false (pulp_rpm_check_feed (bad[i], &error));
      g_assert_error (error, PULP_ERROR, PULP_ERROR_INVALID_ARGUMENT);
      g_assert_nonnull (strstr (error->message, bad[i]));
      g_assert_nonnull (strstr (error->message, "base URL"));
      g_assert_nonnull (strstr (error->message, "without query or fragment"));
    }
  /* the feed is shown, but not its password */
  {
    g_autoptr (GError) error = NULL;
    g_assert_false (pulp_rpm_check_feed ("https://u:s3cr3t@mirror.example/x/?y", &error));
    g_assert_error (error, PULP_ERROR, PULP_ERROR_INVALID_ARGUMENT);
    g_assert_nonnull (strstr (error->message, "“https://u@mirror.example/x/?y”"));
    g_assert_null (strstr (error->message, "s3cr3t"));
  }
}

/* Metadata of the same package from its header and from primary.xml: all
 * equal but where the file is and when it was written. */
static void
assert_same_metadata (PulpUnit *uploaded, PulpUnit *synced)
{
  GVariant *up = pulp_unit_get_metadata (uploaded);
  GVariant *sy = pulp_unit_get_metadata (synced);
  GVariantIter iter;
  const gchar *k;
  GVariant *v;

  g_assert_cmpuint (g_variant_n_children (up), ==, g_variant_n_children (sy));
  g_variant_iter_init (&iter, up);
  while (g_variant_iter_loop (&iter, "{&sv}", &k, &v))
    {
      g_autoptr (GVariant) other = NULL;
      g_autofree gchar *a = NULL;
      g_autofree gchar *b = NULL;

      if (g_str_equal (k, "location-href") || g_str_equal (k, "time-file"))
        continue;
      other = g_variant_lookup_value (sy, k, NULL);
      a = g_variant_print (v, TRUE);
      b = other != NULL ? g_variant_print (other, TRUE) : g_strdup ("(none)");
      if (!g_str_equal (a, b))
        g_error ("%s: uploaded %s, synced %s", k, a, b);
    }
}

/* Every fixture package uploaded gives the same unit as the same package
 * synced from a createrepo_c repository. */
static void
test_upload_fixtures (Fixture *f, gconstpointer data)
{
  g_autoptr (GPtrArray) units = parse_repo (f);

  for (guint i = 0; i < units->len; i++)
    {
      PulpUnit *synced = g_ptr_array_index (units, i);
      g_autofree gchar *href = meta_string (synced, "location-href");
      g_autofree gchar *path = g_build_filename (f->dir, href, NULL);
      g_autoptr (GError) error = NULL;
      g_autoptr (PulpUnit) up = pulp_rpm_unit_from_rpm_file (path, &error);
      g_autofree gchar *name = NULL;
      g_autofree gchar *arch = NULL;
      g_autofree gchar *expected_path = NULL;
      g_autofree gchar *s1 = NULL;
      g_autofree gchar *s2 = NULL;
      g_autofree gchar *d1 = NULL;
      g_autofree gchar *d2 = NULL;

      g_assert_no_error (error);
      g_assert_nonnull (up);
      g_assert_cmpstr (pulp_unit_get_key_text (up), ==, pulp_unit_get_key_text (synced));
      g_assert_cmpstr (pulp_unit_get_id (up), ==, pulp_unit_get_id (synced));
      assert_normal_form (pulp_unit_get_key (up));
      assert_normal_form (pulp_unit_get_metadata (up));
      assert_same_metadata (up, synced);
      s1 = meta_string (up, "summary");
      s2 = meta_string (synced, "summary");
      g_assert_cmpstr (s1, ==, s2);
      d1 = meta_string (up, "description");
      d2 = meta_string (synced, "description");
      g_assert_cmpstr (d1, ==, d2);
      g_assert_cmpstr (pulp_unit_get_sha256 (up), ==, pulp_unit_get_sha256 (synced));
      name = key_string (up, "name");
      arch = key_string (up, "arch");
      g_assert_true (g_str_has_prefix (pulp_unit_get_relative_path (up), "Packages/"));
      g_assert_true (g_str_has_suffix (pulp_unit_get_relative_path (up), ".rpm"));
      if (g_strcmp0 (name, "Archer") == 0)
        g_assert_cmpstr (pulp_unit_get_relative_path (up), ==,
                         "Packages/a/Archer-3.4.5-6.x86_64.rpm");
      if (g_strcmp0 (name, "empty") == 0 && g_strcmp0 (arch, "src") == 0)
        g_assert_cmpstr (pulp_unit_get_relative_path (up), ==, "Packages/e/empty-0-0.src.rpm");
      g_assert_true (has_dependency (up, "provides", name, NULL) || g_str_equal (arch, "src"));
    }
}

static void
test_upload_not_rpm (Fixture *f, gconstpointer data)
{
  g_autofree gchar *path = g_build_filename (f->work, "notes.txt", NULL);
  g_autofree gchar *half = g_build_filename (f->work, "half.rpm", NULL);
  g_autofree gchar *contents = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (PulpUnit) unit = NULL;
  gsize len;

  g_assert_true (g_file_set_contents (path, "this is not a package\n", -1, NULL));
  unit = pulp_rpm_unit_from_rpm_file (path, &error);
  g_assert_null (unit);
  g_assert_error (error, PULP_ERROR, PULP_ERROR_INVALID_ARGUMENT);
  g_assert_cmpstr (error->message, ==,
                   "not a valid RPM package: the file does not begin as an RPM package does");
  g_clear_error (&error);

  /* The first half of a real package. */
  g_assert_true (g_file_get_contents (RPM_FIXTURES_DIR "/Archer-3.4.5-6.x86_64.rpm", &contents,
                                      &len, NULL));
  g_assert_true (g_file_set_contents (half, contents, 2000, NULL));
  unit = pulp_rpm_unit_from_rpm_file (half, &error);
  g_assert_null (unit);
  g_assert_error (error, PULP_ERROR, PULP_ERROR_INVALID_ARGUMENT);
  g_assert_true (g_str_has_prefix (error->message,
                                   "not a valid RPM package: its header is damaged or cut short"));
  g_clear_error (&error);

  /* Whole header, cut payload: createrepo_c reads the header alone, and
   * rpm itself calls the package broken (rpm -K: DIGESTS NOT OK). */
  g_assert_cmpuint (len, ==, 7737);
  g_assert_true (g_file_set_contents (half, contents, 7600, NULL));
  unit = pulp_rpm_unit_from_rpm_file (half, &error);
  g_assert_null (unit);
  g_assert_error (error, PULP_ERROR, PULP_ERROR_INVALID_ARGUMENT);
  g_assert_cmpstr (error->message, ==,
                   "not a valid RPM package: its header says the package is 7737 bytes long, "
                   "but the file has 7600");
  g_clear_error (&error);

  /* Bytes after the end. */
  {
    g_autofree gchar *longer = g_malloc (len + 5);
    memcpy (longer, contents, len);
    memcpy (longer + len, "junk\n", 5);
    g_assert_true (g_file_set_contents (half, longer, len + 5, NULL));
  }
  unit = pulp_rpm_unit_from_rpm_file (half, &error);
  g_assert_null (unit);
  g_assert_error (error, PULP_ERROR, PULP_ERROR_INVALID_ARGUMENT);
  g_assert_nonnull (strstr (error->message, "but the file has 7742"));
  g_clear_error (&error);

  /* One byte of the payload changed, the size right. */
  contents[7700] ^= 0x20;
  g_assert_true (g_file_set_contents (half, contents, len, NULL));
  unit = pulp_rpm_unit_from_rpm_file (half, &error);
  g_assert_null (unit);
  g_assert_error (error, PULP_ERROR, PULP_ERROR_INVALID_ARGUMENT);
  g_assert_true (g_str_has_prefix (
      error->message, "not a valid RPM package: its payload does not match the digest in its header"));
}

static void
test_repomd_errors (Fixture *f, gconstpointer data)
{
  g_autofree gchar *path = g_build_filename (f->work, "repomd.xml", NULL);
  g_autoptr (GError) error = NULL;
  g_autoptr (PulpRpmRepomd) repomd = NULL;

  /* An empty file is called empty (libxml2 speaks of "extra content"). */
  g_assert_true (g_file_set_contents (path, "", 0, NULL));
  repomd = pulp_rpm_repomd_parse (path, "http://x/repodata/repomd.xml", &error);
  g_assert_null (repomd);
  g_assert_error (error, PULP_ERROR, PULP_ERROR_INVALID_ARGUMENT);
  g_assert_cmpstr (error->message, ==, "http://x/repodata/repomd.xml is empty");
  g_clear_error (&error);

  g_assert_true (g_file_set_contents (path, "<repomd><data type=\"primary\"", -1, NULL));
  repomd = pulp_rpm_repomd_parse (path, "http://x/repodata/repomd.xml", &error);
  g_assert_null (repomd);
  g_assert_error (error, PULP_ERROR, PULP_ERROR_INVALID_ARGUMENT);
  g_assert_nonnull (strstr (error->message, "http://x/repodata/repomd.xml"));
  g_clear_error (&error);

  g_assert_true (g_file_set_contents (
    path,
    "<?xml version=\"1.0\"?>\n<repomd xmlns=\"http://linux.duke.edu/metadata/repo\">\n"
    "<data type=\"primary\"><checksum type=\"sha256\">00</checksum>"
    "<location href=\"../repodata/p.xml.gz\"/></data></repomd>\n",
    -1, NULL));
  repomd = pulp_rpm_repomd_parse (path, "repomd.xml", &error);
  g_assert_null (repomd);
  g_assert_error (error, PULP_ERROR, PULP_ERROR_INVALID_ARGUMENT);
  g_assert_nonnull (strstr (error->message, "primary metadata"));
  g_clear_error (&error);

  g_assert_true (g_file_set_contents (
    path,
    "<?xml version=\"1.0\"?>\n<repomd xmlns=\"http://linux.duke.edu/metadata/repo\">\n"
    "<data type=\"other\"><checksum type=\"sha256\">00</checksum>"
    "<location href=\"repodata/o.xml.gz\"/></data></repomd>\n",
    -1, NULL));
  repomd = pulp_rpm_repomd_parse (path, "repomd.xml", &error);
  g_assert_null (repomd);
  g_assert_error (error, PULP_ERROR, PULP_ERROR_INVALID_ARGUMENT);
  g_assert_nonnull (strstr (error->message, "no complete primary"));
  g_clear_error (&error);

  /* A negative size would turn the size check off. */
  for (guint i = 0; i < 2; i++)
    {
      g_autofree gchar *xml = g_strdup_printf (
        "<?xml version=\"1.0\"?>\n<repomd xmlns=\"http://linux.duke.edu/metadata/repo\">\n"
        "<data type=\"primary\"><checksum type=\"sha256\">00</checksum>"
        "<location href=\"repodata/p.xml.gz\"/><%s>-19138</%s></data></repomd>\n",
        i == 0 ? "size" : "open-size", i == 0 ? "size" : "open-size");
      g_assert_true (g_file_set_contents (path, xml, -1, NULL));
      repomd = pulp_rpm_repomd_parse (path, "repomd.xml", &error);
      g_assert_null (repomd);
      g_assert_error (error, PULP_ERROR, PULP_ERROR_INVALID_ARGUMENT);
      g_assert_cmpstr (error->message, ==,
                       "repomd.xml declares a negative size for repodata/p.xml.gz");
      g_clear_error (&error);
    }
}

/* A repository of the kind the sync tests use: packages spread over
 * sub-folders by tests/make-rpm-repo.sh, read back in full. */
static gboolean
count_unit (PulpUnit *unit, gpointer user_data, GError **error)
{
  GHashTable *paths = user_data;
  g_assert_true (g_str_has_prefix (pulp_unit_get_relative_path (unit), "Packages/"));
  g_hash_table_add (paths, g_strdup (pulp_unit_get_relative_path (unit)));
  return TRUE;
}

static gboolean
stop_at_ten (PulpUnit *unit, gpointer user_data, GError **error)
{
  guint *n = user_data;
  if (++(*n) < 10)
    return TRUE;
  g_set_error (error, PULP_ERROR, PULP_ERROR_CANCELLED, "stopped by the test");
  return FALSE;
}

static void
test_generated_repo (void)
{
  g_autofree gchar *dir = g_dir_make_tmp ("pulp-rpm-gen-XXXXXX", NULL);
  g_autofree gchar *repo = g_build_filename (dir, "repo", NULL);
  g_autofree gchar *repomd_path = g_build_filename (repo, "repodata", "repomd.xml", NULL);
  g_autoptr (GHashTable) paths = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_autoptr (PulpRpmRepomd) repomd = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree gchar *primary = NULL;
  g_autofree gchar *download = NULL;
  const gchar *script = g_getenv ("MAKE_RPM_REPO") ? g_getenv ("MAKE_RPM_REPO") : MAKE_RPM_REPO;
  const gchar *argv[] = { "bash", script, "-n", "300", "-s", "7", repo, NULL };
  guint n = 0;

  run (argv);
  repomd = pulp_rpm_repomd_parse (repomd_path, "repomd.xml", &error);
  g_assert_no_error (error);
  download = g_build_filename (repo, repomd->primary->location_href, NULL);
  primary = pulp_rpm_prepare_metadata (download, repomd->primary, PULP_RPM_MAX_OPEN_SIZE, NULL,
                                       &error);
  g_assert_no_error (error);
  g_assert_cmpuint (pulp_rpm_primary_peek_count (primary), ==, 300);
  g_assert_true (pulp_rpm_parse_primary (primary, "primary", count_unit, paths, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (g_hash_table_size (paths), ==, 300);
  g_assert_true (g_hash_table_contains (paths, "Packages/06/tpkg-007-1.0-1.noarch.rpm"));

  /* A callback error stops the parse and comes back as it was set. */
  g_assert_false (pulp_rpm_parse_primary (primary, "primary", stop_at_ten, &n, NULL, &error));
  g_assert_error (error, PULP_ERROR, PULP_ERROR_CANCELLED);
  g_assert_cmpstr (error->message, ==, "stopped by the test");
  g_assert_cmpuint (n, ==, 10);
  rm_rf (dir);
}

/* createrepo_c logs g_critical() for every malformed document before it
 * returns the error; the error is what the tests check. */
static gboolean
ignore_createrepo_criticals (const gchar *log_domain,
                             GLogLevelFlags log_level,
                             const gchar *message,
                             gpointer user_data)
{
  return g_strcmp0 (log_domain, "C_CREATEREPOLIB") != 0;
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_log_set_fatal_handler (ignore_createrepo_criticals, NULL);
  /* createrepo_c logs through the structured API, which the fatal handler
   * does not see: make criticals non-fatal process-wide, but keep them
   * fatal for our own code and GLib. */
  g_log_set_always_fatal (G_LOG_FATAL_MASK | G_LOG_LEVEL_ERROR);
  g_log_set_fatal_mask ("PulpRpm", G_LOG_LEVEL_WARNING | G_LOG_LEVEL_CRITICAL);
  g_log_set_fatal_mask ("Pulp", G_LOG_LEVEL_WARNING | G_LOG_LEVEL_CRITICAL);
  g_log_set_fatal_mask ("GLib", G_LOG_LEVEL_WARNING | G_LOG_LEVEL_CRITICAL);
  g_log_set_fatal_mask ("GLib-GObject", G_LOG_LEVEL_WARNING | G_LOG_LEVEL_CRITICAL);
  g_log_set_fatal_mask ("GLib-GIO", G_LOG_LEVEL_WARNING | G_LOG_LEVEL_CRITICAL);

#define ADD(path, data, fn) g_test_add (path, Fixture, data, fixture_setup, fn, fixture_teardown)
  ADD ("/pulp/rpm/metadata/gz", NULL, test_parse_gz);
  ADD ("/pulp/rpm/metadata/xz", "xz", test_parse_xz);
  ADD ("/pulp/rpm/metadata/zstd", NULL, test_parse_zstd);
  ADD ("/pulp/rpm/metadata/zstd-open-size", NULL, test_zstd_open_size);
  ADD ("/pulp/rpm/metadata/zstd-no-open-size", NULL, test_zstd_no_open_size);
  ADD ("/pulp/rpm/metadata/zstd-bomb", NULL, test_zstd_bomb);
  ADD ("/pulp/rpm/metadata/tampered", NULL, test_tampered);
  ADD ("/pulp/rpm/metadata/repomd-errors", NULL, test_repomd_errors);
  ADD ("/pulp/rpm/primary/handmade", NULL, test_handmade_ok);
  ADD ("/pulp/rpm/primary/large-values", NULL, test_handmade_large);
  ADD ("/pulp/rpm/primary/ampersand-attributes", NULL, test_ampersand_attributes);
  ADD ("/pulp/rpm/primary/bad-values", NULL, test_bad_values);
  ADD ("/pulp/rpm/primary/malformed", NULL, test_malformed);
  ADD ("/pulp/rpm/primary/malformed-package-named", NULL, test_malformed_package_named);
  ADD ("/pulp/rpm/primary/cancel", NULL, test_cancel);
  ADD ("/pulp/rpm/primary/external-entity", NULL, test_external_entity);
  ADD ("/pulp/rpm/primary/location-rejected", NULL, test_location_rejected);
  ADD ("/pulp/rpm/upload/fixtures", NULL, test_upload_fixtures);
  ADD ("/pulp/rpm/upload/not-rpm", NULL, test_upload_not_rpm);
  g_test_add_func ("/pulp/rpm/location/resolve", test_resolve_location);
  g_test_add_func ("/pulp/rpm/location/feed", test_check_feed);
  g_test_add_func ("/pulp/rpm/metadata/generated", test_generated_repo);
  return g_test_run ();
}
