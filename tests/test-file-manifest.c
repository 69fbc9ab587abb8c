/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The PULP_MANIFEST parser of the file importer, without a conduit. */
#define G_LOG_DOMAIN "TestFileManifest"

#include <string.h>

#include "pulp-error.h"
#include "pulp-file-manifest.h"

#define SHA_A "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define SHA_A_63 "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define SHA_B "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define SHA_B_UPPER "0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF"

static PulpFileManifest *
parse (const gchar *text, GError **error)
{
  return pulp_file_manifest_parse (text, strlen (text), 0, NULL, error);
}

static void
test_valid (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (PulpFileManifest) m = NULL;
  const PulpFileManifestEntry *e;
  const gchar *text = "# a comment, with, commas\r\n"
                      "\n"
                      "plain.txt," SHA_A ",0\r\n"
                      "   \t\n"
                      "dir/with,comma, and space.iso," SHA_B_UPPER ",123456789012\n"
                      "#another comment\n"
                      "x/y/z/é #%?.bin," SHA_B ",42"; /* no final newline */

  m = parse (text, &error);
  g_assert_no_error (error);
  g_assert_nonnull (m);
  g_assert_cmpuint (pulp_file_manifest_get_n_entries (m), ==, 3);

  e = pulp_file_manifest_get_entry (m, 0);
  g_assert_cmpstr (e->relative_path, ==, "plain.txt");
  g_assert_cmpstr (e->sha256, ==, SHA_A);
  g_assert_cmpuint (e->size, ==, 0);
  g_assert_cmpuint (e->line, ==, 3);

  e = pulp_file_manifest_get_entry (m, 1);
  g_assert_cmpstr (e->relative_path, ==, "dir/with,comma, and space.iso");
  g_assert_cmpstr (e->sha256, ==, SHA_B); /* upper case normalised */
  g_assert_cmpuint (e->size, ==, G_GUINT64_CONSTANT (123456789012));
  g_assert_cmpuint (e->line, ==, 5);

  e = pulp_file_manifest_get_entry (m, 2);
  g_assert_cmpstr (e->relative_path, ==, "x/y/z/é #%?.bin");
  g_assert_cmpuint (e->size, ==, 42);
  g_assert_cmpuint (e->line, ==, 7);

  g_assert_cmpuint (pulp_file_manifest_get_total_size (m), ==, G_GUINT64_CONSTANT (123456789054));
}

/* The importer finds the manifest's entry of a unit by its path. */
static void
test_lookup (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (PulpFileManifest) m = parse ("# comment\n"
                                          "a/b.txt," SHA_A ",1\n"
                                          "\n"
                                          "c," SHA_B ",2\n",
                                          &error);
  guint index = 42;

  g_assert_no_error (error);
  g_assert_true (pulp_file_manifest_lookup (m, "a/b.txt", &index));
  g_assert_cmpuint (index, ==, 0);
  g_assert_true (pulp_file_manifest_lookup (m, "c", &index));
  g_assert_cmpuint (index, ==, 1);
  g_assert_true (pulp_file_manifest_lookup (m, "c", NULL));
  index = 42;
  g_assert_false (pulp_file_manifest_lookup (m, "a", &index));
  g_assert_false (pulp_file_manifest_lookup (m, "a/b.txt,", &index));
  g_assert_cmpuint (index, ==, 42);
}

static void
test_empty (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (PulpFileManifest) m = parse ("", &error);
  g_autoptr (PulpFileManifest) m2 = NULL;

  g_assert_no_error (error);
  g_assert_cmpuint (pulp_file_manifest_get_n_entries (m), ==, 0);

  m2 = parse ("# only a comment\n\n\r\n", &error);
  g_assert_no_error (error);
  g_assert_cmpuint (pulp_file_manifest_get_n_entries (m2), ==, 0);
}

static void
test_bom (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (PulpFileManifest) m = parse ("\xef\xbb\xbf" "a," SHA_A ",1\n", &error);

  g_assert_no_error (error);
  g_assert_cmpstr (pulp_file_manifest_get_entry (m, 0)->relative_path, ==, "a");
}

/* Each rejected line sits on line 3, after a comment and a good line, so the
 * test also checks that the line number is counted right. */
typedef struct
{
  const gchar *name;
  const gchar *line; /* NUL bytes cannot be written here; see test_reject_nul */
  const gchar *reason;
} RejectCase;

static const RejectCase reject_cases[] = {
  { "absolute", "/etc/passwd," SHA_A ",1", "the path “/etc/passwd” is absolute" },
  { "dotdot", "a/../../b," SHA_A ",1", "the path “a/../../b” has a “..” component" },
  { "dotdot-only", "..," SHA_A ",1", "has a “..” component" },
  { "dot", "./a," SHA_A ",1", "the path “./a” has a “.” component" },
  { "empty-component", "a//b," SHA_A ",1", "the path “a//b” has an empty component" },
  { "trailing-slash", "a/," SHA_A ",1", "has an empty component" },
  { "empty-path", "," SHA_A ",1", "the path is empty" },
  { "control", "a\tb," SHA_A ",1", "the line contains the control character 0x09 at byte 2" },
  { "escape", "a\033[31mb," SHA_A ",1", "control character 0x1B at byte 2" },
  { "c1-control", "a\xc2\x85" "b," SHA_A ",1", "control character 0x85 at byte 2" },
  { "inner-cr", "a\rb," SHA_A ",1", "control character 0x0D at byte 2" },
  { "invalid-utf8", "caf\xe9," SHA_A ",1", "the line is not valid UTF-8 (at byte 4)" },
  { "no-commas", "just-a-name", "expected “relative/path,sha256,size”" },
  { "one-comma", "name," SHA_A, "expected “relative/path,sha256,size”" },
  { "sha-short", "a,abc,1", "the sha256 “abc” is not 64 hexadecimal digits" },
  { "sha-long", "a," SHA_A "a,1", "is not 64 hexadecimal digits" },
  { "sha-nonhex", "a,g" SHA_A "," "1", "is not 64 hexadecimal digits" },
  { "sha-nonhex-64", "a,g" SHA_A_63 ",1",
    "the sha256 “g" SHA_A_63 "” is not 64 hexadecimal digits" },
  { "sha-empty", "a,,1", "the sha256 “” is not 64 hexadecimal digits" },
  { "size-negative", "a," SHA_A ",-1", "the size “-1” is not a non-negative decimal number" },
  { "size-text", "a," SHA_A ",12k", "the size “12k” is not a non-negative decimal number" },
  { "size-space", "a," SHA_A ", 12", "the size “ 12” is not a non-negative decimal number" },
  { "size-empty", "a," SHA_A ",", "the size is empty" },
  { "size-overflow", "a," SHA_A ",18446744073709551616",
    "the size “18446744073709551616” is too large" },
  { "size-over-int64", "a," SHA_A ",9223372036854775808", "is too large" },
  { "duplicate", "good.txt," SHA_B ",2", "the path “good.txt” is listed twice (first on line 2)" },
};

static void
test_reject (gconstpointer data)
{
  const RejectCase *c = data;
  g_autoptr (GError) error = NULL;
  g_autofree gchar *text = g_strconcat ("# header\ngood.txt," SHA_A ",1\n", c->line, "\n",
                                        "later.txt," SHA_A ",1\n", NULL);
  g_autoptr (PulpFileManifest) m = parse (text, &error);

  g_assert_null (m);
  g_assert_error (error, PULP_ERROR, PULP_ERROR_INVALID_ARGUMENT);
  g_test_message ("%s: %s", c->name, error->message);
  g_assert_true (g_str_has_prefix (error->message, "Invalid PULP_MANIFEST, line 3: "));
  g_assert_nonnull (strstr (error->message, c->reason));
}

static void
test_reject_nul (void)
{
  static const gchar text[] = "ok," SHA_A ",1\nbad\0name," SHA_A ",1\n";
  g_autoptr (GError) error = NULL;
  g_autoptr (PulpFileManifest) m = pulp_file_manifest_parse (text, sizeof text - 1, 0, NULL,
                                                             &error);

  g_assert_null (m);
  g_assert_error (error, PULP_ERROR, PULP_ERROR_INVALID_ARGUMENT);
  g_assert_cmpstr (error->message, ==,
                   "Invalid PULP_MANIFEST, line 2: the line contains a NUL byte at byte 4");
}

static void
test_reject_long_line (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GString) text = g_string_new ("ok," SHA_A ",1\n");
  g_autoptr (PulpFileManifest) m = NULL;
  g_autoptr (PulpFileManifest) m2 = NULL;
  gsize line_start;

  /* Exactly at the limit is fine (a CR does not count) ... */
  line_start = text->len;
  for (gsize n = PULP_FILE_MANIFEST_MAX_LINE - strlen ("," SHA_A ",1"); n > 0; n--)
    g_string_append_c (text, 'x');
  g_string_append (text, "," SHA_A ",1\r\n");
  g_assert_cmpuint (text->len - line_start, ==, PULP_FILE_MANIFEST_MAX_LINE + 2);
  m = pulp_file_manifest_parse (text->str, text->len, 0, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (pulp_file_manifest_get_n_entries (m), ==, 2);

  /* ... one byte more is not, even in a comment. */
  g_string_append_c (text, '#');
  for (gsize n = PULP_FILE_MANIFEST_MAX_LINE; n > 0; n--)
    g_string_append_c (text, 'y');
  g_string_append_c (text, '\n');
  m2 = pulp_file_manifest_parse (text->str, text->len, 0, NULL, &error);
  g_assert_null (m2);
  g_assert_error (error, PULP_ERROR, PULP_ERROR_INVALID_ARGUMENT);
  g_assert_cmpstr (error->message, ==,
                   "Invalid PULP_MANIFEST, line 3: the line is longer than 4096 bytes");
}

static void
test_reject_too_big (void)
{
  const gchar *text = "a," SHA_A ",1\nb," SHA_A ",1\n";
  gsize len = strlen (text);
  g_autoptr (GError) error = NULL;
  g_autoptr (PulpFileManifest) m = pulp_file_manifest_parse (text, len, len, NULL, &error);
  g_autoptr (PulpFileManifest) m2 = NULL;
  g_autofree gchar *expected = NULL;

  g_assert_no_error (error);
  g_assert_nonnull (m);

  m2 = pulp_file_manifest_parse (text, len, len - 1, NULL, &error);
  g_assert_null (m2);
  g_assert_error (error, PULP_ERROR, PULP_ERROR_INVALID_ARGUMENT);
  expected = g_strdup_printf ("PULP_MANIFEST is %" G_GSIZE_FORMAT " bytes, more than the limit of "
                              "%" G_GSIZE_FORMAT " bytes (configuration key “max-manifest-size”)",
                              len, len - 1);
  g_assert_cmpstr (error->message, ==, expected);
}

static void
test_cancelled (void)
{
  g_autoptr (GCancellable) cancellable = g_cancellable_new ();
  g_autoptr (GString) text = g_string_new (NULL);
  g_autoptr (GError) error = NULL;
  g_autoptr (PulpFileManifest) m = NULL;

  for (guint i = 0; i < 2000; i++)
    g_string_append_printf (text, "f%u," SHA_A ",%u\n", i, i);
  g_cancellable_cancel (cancellable);
  m = pulp_file_manifest_parse (text->str, text->len, 0, cancellable, &error);
  g_assert_null (m);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
}

static void
test_many (void)
{
  g_autoptr (GString) text = g_string_new (NULL);
  g_autoptr (GError) error = NULL;
  g_autoptr (PulpFileManifest) m = NULL;
  const guint n = 100000;

  for (guint i = 0; i < n; i++)
    g_string_append_printf (text, "dir%03u/file-%06u.bin," SHA_B ",%u\n", i % 997, i, i);
  m = pulp_file_manifest_parse (text->str, text->len, 0, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (pulp_file_manifest_get_n_entries (m), ==, n);
  g_assert_cmpstr (pulp_file_manifest_get_entry (m, n - 1)->relative_path, ==,
                   "dir299/file-099999.bin");
  g_assert_cmpuint (pulp_file_manifest_get_entry (m, n - 1)->line, ==, n);
  for (guint i = 0; i < n; i += 9973)
    {
      g_autofree gchar *path = g_strdup_printf ("dir%03u/file-%06u.bin", i % 997, i);
      guint index = 0;

      g_assert_true (pulp_file_manifest_lookup (m, path, &index));
      g_assert_cmpuint (index, ==, i);
    }
}

static void
test_check_path (void)
{
  g_autoptr (GError) error = NULL;
  const gchar *ok[] = { "a", "a/b/c", "a b/c,d#e%f?g", "é/ü", ".hidden/..x/x..", "...", NULL };

  for (guint i = 0; ok[i] != NULL; i++)
    {
      g_assert_true (pulp_file_check_relative_path (ok[i], strlen (ok[i]), &error));
      g_assert_no_error (error);
    }
  g_assert_false (pulp_file_check_relative_path ("a/./b", 5, &error));
  g_assert_error (error, PULP_ERROR, PULP_ERROR_INVALID_ARGUMENT);
  g_assert_cmpstr (error->message, ==, "the path “a/./b” has a “.” component");
  g_clear_error (&error);
  g_assert_false (pulp_file_check_relative_path ("a\nb", 3, &error));
  g_assert_cmpstr (error->message, ==,
                   "the path contains the control character 0x0A at byte 2");
}

typedef struct
{
  const gchar *base;
  const gchar *path;
  const gchar *url;
} UrlCase;

static void
test_url (void)
{
  static const UrlCase cases[] = {
    { "http://127.0.0.1:8080/repo/PULP_MANIFEST", "a.txt", "http://127.0.0.1:8080/repo/a.txt" },
    { "http://h/repo/PULP_MANIFEST", "dir/sub/a.txt", "http://h/repo/dir/sub/a.txt" },
    { "http://h/repo/PULP_MANIFEST", "with space.txt", "http://h/repo/with%20space.txt" },
    { "http://h/repo/PULP_MANIFEST", "a#b?c%d.txt", "http://h/repo/a%23b%3Fc%25d.txt" },
    { "http://h/repo/PULP_MANIFEST", "a,b/c;d+e&f=g", "http://h/repo/a%2Cb/c%3Bd%2Be%26f%3Dg" },
    { "http://h/repo/PULP_MANIFEST", "café/ñ.txt", "http://h/repo/caf%C3%A9/%C3%B1.txt" },
    /* would be a scheme if left alone */
    { "http://h/repo/PULP_MANIFEST", "c:d", "http://h/repo/c%3Ad" },
    { "http://h/repo/PULP_MANIFEST", "x\\y", "http://h/repo/x%5Cy" },
    { "http://h/repo/PULP_MANIFEST?token=1", "a", "http://h/repo/a" },
    { "http://h/r%20x/PULP_MANIFEST", "a b", "http://h/r%20x/a%20b" },
    { "file:///srv/tree/PULP_MANIFEST", "d/a b.txt", "file:///srv/tree/d/a%20b.txt" },
    { "https://h/PULP_MANIFEST", "~user/a-b_c.d", "https://h/~user/a-b_c.d" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr (GError) error = NULL;
      g_autofree gchar *folder = pulp_file_feed_folder (cases[i].base, &error);
      g_autofree gchar *url = NULL;

      g_assert_no_error (error);
      url = pulp_file_build_url (folder, cases[i].path);
      g_assert_cmpstr (url, ==, cases[i].url);
    }
}

static void
test_url_bad_base (void)
{
  g_autoptr (GError) error = NULL;
  g_autofree gchar *folder = pulp_file_feed_folder ("not a url", &error);

  g_assert_null (folder);
  g_assert_error (error, PULP_ERROR, PULP_ERROR_INVALID_ARGUMENT);
  g_assert_nonnull (strstr (error->message, "the feed “not a url”"));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/pulp/file/manifest/valid", test_valid);
  g_test_add_func ("/pulp/file/manifest/lookup", test_lookup);
  g_test_add_func ("/pulp/file/manifest/empty", test_empty);
  g_test_add_func ("/pulp/file/manifest/bom", test_bom);
  for (guint i = 0; i < G_N_ELEMENTS (reject_cases); i++)
    {
      g_autofree gchar *path = g_strdup_printf ("/pulp/file/manifest/reject/%s",
                                                reject_cases[i].name);
      g_test_add_data_func (path, &reject_cases[i], test_reject);
    }
  g_test_add_func ("/pulp/file/manifest/reject/nul", test_reject_nul);
  g_test_add_func ("/pulp/file/manifest/reject/long-line", test_reject_long_line);
  g_test_add_func ("/pulp/file/manifest/reject/too-big", test_reject_too_big);
  g_test_add_func ("/pulp/file/manifest/cancelled", test_cancelled);
  g_test_add_func ("/pulp/file/manifest/many", test_many);
  g_test_add_func ("/pulp/file/manifest/check-path", test_check_path);
  g_test_add_func ("/pulp/file/manifest/url", test_url);
  g_test_add_func ("/pulp/file/manifest/url-bad-base", test_url_bad_base);

  return g_test_run ();
}
