/* SPDX-License-Identifier: LGPL-2.1-or-later */
#define G_LOG_DOMAIN "Pulp"

#include <errno.h>
#include <fcntl.h>
#include <glib/gi18n-lib.h>
#include <glib/gstdio.h>
#include <sys/stat.h>
#include <string.h>
#include <unistd.h>

#include "pulp-content-store.h"
#include "pulp-digest.h"
#include "pulp-error.h"

/**
 * PulpContentStore:
 *
 * Content files named by their SHA-256 under
 * `<state-dir>/content/sha256/<2 hex>/<62 hex>`, read-only, each stored
 * once. New content is written to `<state-dir>/tmp/` on the same file
 * system and renamed into place once its digest is known.
 */
struct _PulpContentStore
{
  GObject parent_instance;
  gchar *content_dir;
  gchar *tmp_dir;
  /* The same two folders, open (O_PATH): names relative to them spare the
   * kernel a walk of the whole state-dir path per file, which shows for
   * thousands of small files. */
  gint content_fd;
  gint tmp_fd;
  /* One bit per two-hex-digit prefix folder known to exist, so storing a
   * file costs no mkdir or stat of its folder after the first (the
   * downloader thread and task threads store at the same time: atomic). */
  gint prefix_made[256 / 32];
  /* Files stored (or found stored), and how many of them the last
   * syncfs() covered: with none since, there is nothing to make durable. */
  gint stored;
  gint synced;
  GThread *first_sync;
};

G_DEFINE_TYPE (PulpContentStore, pulp_content_store, G_TYPE_OBJECT)

static void
pulp_content_store_finalize (GObject *object)
{
  PulpContentStore *self = PULP_CONTENT_STORE (object);
  if (self->first_sync != NULL)
    g_thread_join (self->first_sync);
  if (self->content_fd >= 0)
    close (self->content_fd);
  if (self->tmp_fd >= 0)
    close (self->tmp_fd);
  g_free (self->content_dir);
  g_free (self->tmp_dir);
  G_OBJECT_CLASS (pulp_content_store_parent_class)->finalize (object);
}

static void
pulp_content_store_class_init (PulpContentStoreClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = pulp_content_store_finalize;
}

static void
pulp_content_store_init (PulpContentStore *self)
{
  self->content_fd = -1;
  self->tmp_fd = -1;
  /* what an earlier process stored may not be on disk yet (see
   * first_sync_run()) */
  self->stored = 1;
}

/* Content an earlier process stored for a sync that never committed may
 * still be only in memory, and a later sync may use it as it is: one
 * syncfs() at start covers it, in the background. A commit before it ends
 * makes its own. */
static gpointer
first_sync_run (gpointer data)
{
  g_autoptr (GError) error = NULL;

  if (!pulp_content_store_sync (data, &error))
    g_debug ("%s", error->message);
  return NULL;
}

static gint
open_dir (const gchar *path, GError **error)
{
  gint fd = open (path, O_PATH | O_DIRECTORY | O_CLOEXEC);

  if (fd < 0)
    {
      int saved = errno;
      g_set_error (error, PULP_ERROR, PULP_ERROR_FAILED, _("Cannot open %s: %s"), path,
                   g_strerror (saved));
    }
  return fd;
}

static gboolean
make_dir (const gchar *path, GError **error)
{
  if (g_mkdir_with_parents (path, 0755) != 0)
    {
      int saved = errno;
      g_set_error (error, PULP_ERROR, PULP_ERROR_FAILED, _("Cannot create %s: %s"), path,
                   g_strerror (saved));
      return FALSE;
    }
  return TRUE;
}

/* Removes everything in the folder @path (temp files and folders); logs
 * what cannot be removed. FALSE if @path cannot be read. */
static gboolean
empty_dir (const gchar *path, GError **error)
{
  g_autoptr (GDir) dir = g_dir_open (path, 0, error);
  const gchar *name;

  if (dir == NULL)
    return FALSE;
  while ((name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree gchar *child = g_build_filename (path, name, NULL);

      if (g_file_test (child, G_FILE_TEST_IS_DIR) && !g_file_test (child, G_FILE_TEST_IS_SYMLINK))
        pulp_content_store_remove_tmp_dir (child);
      else if (g_unlink (child) != 0)
        g_warning ("Cannot remove %s: %s", child, g_strerror (errno));
    }
  return TRUE;
}

/**
 * pulp_content_store_new:
 * @state_dir: the daemon's state directory
 *
 * Creates the store's folders and removes the temp files and folders a crash
 * left behind.
 *
 * Returns: (transfer full): a new #PulpContentStore, or %NULL
 */
PulpContentStore *
pulp_content_store_new (const gchar *state_dir, GError **error)
{
  g_autoptr (PulpContentStore) self = g_object_new (PULP_TYPE_CONTENT_STORE, NULL);

  self->content_dir = g_build_filename (state_dir, "content", "sha256", NULL);
  self->tmp_dir = g_build_filename (state_dir, "tmp", NULL);
  if (!make_dir (self->content_dir, error) || !make_dir (self->tmp_dir, error))
    return NULL;
  self->content_fd = open_dir (self->content_dir, error);
  if (self->content_fd < 0)
    return NULL;
  self->tmp_fd = open_dir (self->tmp_dir, error);
  if (self->tmp_fd < 0)
    return NULL;

  if (!empty_dir (self->tmp_dir, error))
    return NULL;
  self->first_sync = g_thread_try_new ("pulp-first-sync", first_sync_run, self, NULL);
  return g_steal_pointer (&self);
}

static gboolean
is_sha256 (const gchar *sha256)
{
  if (sha256 == NULL || strlen (sha256) != 64)
    return FALSE;
  for (const gchar *p = sha256; *p != '\0'; p++)
    if (!g_ascii_isxdigit (*p) || g_ascii_isupper (*p))
      return FALSE;
  return TRUE;
}

/**
 * pulp_content_store_get_path:
 * @sha256: a lower-case hex SHA-256
 *
 * Returns: (transfer full): where content with that digest is (or would be)
 * stored
 */
gchar *
pulp_content_store_get_path (PulpContentStore *self, const gchar *sha256)
{
  g_autofree gchar *prefix = NULL;

  g_return_val_if_fail (PULP_IS_CONTENT_STORE (self), NULL);
  g_return_val_if_fail (is_sha256 (sha256), NULL);

  prefix = g_strndup (sha256, 2);
  return g_build_filename (self->content_dir, prefix, sha256 + 2, NULL);
}

/* "<2>/<62>": where @sha256 is stored, relative to content_fd. */
static void
relative_path (const gchar *sha256, gchar name[2 + 1 + 62 + 1])
{
  name[0] = sha256[0];
  name[1] = sha256[1];
  name[2] = '/';
  memcpy (name + 3, sha256 + 2, 62 + 1);
}

/**
 * pulp_content_store_has:
 *
 * Returns: %TRUE if content with this digest is stored
 */
gboolean
pulp_content_store_has (PulpContentStore *self, const gchar *sha256)
{
  gchar name[2 + 1 + 62 + 1];
  struct stat st;

  g_return_val_if_fail (PULP_IS_CONTENT_STORE (self), FALSE);
  if (!is_sha256 (sha256))
    return FALSE;
  relative_path (sha256, name);
  return fstatat (self->content_fd, name, &st, 0) == 0 && S_ISREG (st.st_mode);
}

/**
 * pulp_content_store_make_tmp_dir:
 * @prefix: starts the folder's name
 *
 * Makes a new, empty folder for temp files next to the store's own, on
 * the state directory's file system (not in /tmp, which is often memory).
 * The caller removes it with pulp_content_store_remove_tmp_dir(); one that
 * a crash left behind is removed when the store is next opened.
 *
 * Returns: (transfer full): the folder's path, or %NULL
 */
gchar *
pulp_content_store_make_tmp_dir (PulpContentStore *self, const gchar *prefix, GError **error)
{
  g_autofree gchar *name = g_strconcat (prefix, "-XXXXXX", NULL);
  g_autofree gchar *path = NULL;

  g_return_val_if_fail (PULP_IS_CONTENT_STORE (self), NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  path = g_build_filename (self->tmp_dir, name, NULL);
  if (g_mkdtemp_full (path, 0700) == NULL)
    {
      int saved = errno;
      g_set_error (error, PULP_ERROR, PULP_ERROR_FAILED, _("Cannot create a temp folder in %s: %s"),
                   self->tmp_dir, g_strerror (saved));
      return NULL;
    }
  return g_steal_pointer (&path);
}

/**
 * pulp_content_store_remove_tmp_dir:
 * @path: a folder from pulp_content_store_make_tmp_dir()
 *
 * Removes the folder and everything in it; logs what cannot be removed.
 */
void
pulp_content_store_remove_tmp_dir (const gchar *path)
{
  empty_dir (path, NULL);
  if (g_rmdir (path) != 0)
    g_warning ("Cannot remove %s: %s", path, g_strerror (errno));
}

/**
 * pulp_content_store_open_temp:
 * @tmp_path: (out): where the temp file is
 *
 * Returns: a file descriptor open for writing, or -1
 */
gint
pulp_content_store_open_temp (PulpContentStore *self, gchar **tmp_path, GError **error)
{
  g_autofree gchar *path = NULL;
  gint fd;

  g_return_val_if_fail (PULP_IS_CONTENT_STORE (self), -1);
  g_return_val_if_fail (error == NULL || *error == NULL, -1);

  path = g_build_filename (self->tmp_dir, "dl-XXXXXX", NULL);
  /* Read-only from the start: the descriptor can still write, and the
   * file goes into the store as it is, without a chmod per file. */
  fd = g_mkstemp_full (path, O_WRONLY | O_CLOEXEC, 0444);
  if (fd < 0)
    {
      int saved = errno;
      g_set_error (error, PULP_ERROR, PULP_ERROR_FAILED, _("Cannot create a temp file in %s: %s"),
                   self->tmp_dir, g_strerror (saved));
      return -1;
    }
  *tmp_path = g_steal_pointer (&path);
  return fd;
}

static guint
prefix_index (const gchar *sha256)
{
  return (guint) (g_ascii_xdigit_value (sha256[0]) * 16 + g_ascii_xdigit_value (sha256[1]));
}

static gboolean
prefix_known (PulpContentStore *self, guint index)
{
  return (g_atomic_int_get (&self->prefix_made[index / 32]) & (1u << (index % 32))) != 0;
}

static void
prefix_set_known (PulpContentStore *self, guint index, gboolean known)
{
  if (known)
    g_atomic_int_or ((guint *) &self->prefix_made[index / 32], 1u << (index % 32));
  else
    g_atomic_int_and ((guint *) &self->prefix_made[index / 32], ~(1u << (index % 32)));
}

/**
 * pulp_content_store_commit_temp:
 * @tmp_path: a temp file from pulp_content_store_open_temp(), closed
 * @sha256: its verified digest
 *
 * Moves the temp file into place, read-only. If the content is already
 * stored the temp file is dropped.
 *
 * Returns: %TRUE on success
 */
gboolean
pulp_content_store_commit_temp (PulpContentStore *self,
                                const gchar *tmp_path,
                                const gchar *sha256,
                                GError **error)
{
  g_autofree gchar *path = NULL;
  guint index;
  int saved = 0;

  g_return_val_if_fail (PULP_IS_CONTENT_STORE (self), FALSE);
  g_return_val_if_fail (is_sha256 (sha256), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  path = pulp_content_store_get_path (self, sha256);
  if (g_file_test (path, G_FILE_TEST_IS_REGULAR))
    {
      g_atomic_int_inc (&self->stored);
      g_unlink (tmp_path);
      return TRUE;
    }
  /* temp files are created read-only (see pulp_content_store_open_temp) */
  index = prefix_index (sha256);
  for (guint attempt = 0; attempt < 2; attempt++)
    {
      if (!prefix_known (self, index))
        {
          g_autofree gchar *parent = g_path_get_dirname (path);
          if (!make_dir (parent, error))
            {
              g_unlink (tmp_path);
              return FALSE;
            }
          prefix_set_known (self, index, TRUE);
        }
      if (g_rename (tmp_path, path) == 0)
        {
          g_atomic_int_inc (&self->stored);
          return TRUE;
        }
      saved = errno;
      /* the folder went away (orphan cleanup removes empty ones): once more */
      prefix_set_known (self, index, FALSE);
      if (saved != ENOENT)
        break;
    }
  g_set_error (error, PULP_ERROR, PULP_ERROR_FAILED, _("Cannot store %s: %s"), path,
               g_strerror (saved));
  g_unlink (tmp_path);
  return FALSE;
}

/**
 * pulp_content_store_open_new:
 * @tmp_path: (out): %NULL, or the temp file's path when the file system
 *   cannot make files without a name
 *
 * Opens a file for new content, to be completed by
 * pulp_content_store_commit_fd() while it is still open. Where the file
 * system allows (O_TMPFILE) the file has no name until then: nothing needs
 * cleaning up after a crash, and committing it is one linkat() instead of a
 * chmod(), a stat() and a rename(), which counts for thousands of small
 * files. Otherwise it is a named temp file as from
 * pulp_content_store_open_temp().
 *
 * Returns: a file descriptor open for writing, or -1
 */
gint
pulp_content_store_open_new (PulpContentStore *self, gchar **tmp_path, GError **error)
{
  gint fd;

  g_return_val_if_fail (PULP_IS_CONTENT_STORE (self), -1);
  g_return_val_if_fail (tmp_path != NULL, -1);
  g_return_val_if_fail (error == NULL || *error == NULL, -1);

  *tmp_path = NULL;
  fd = openat (self->tmp_fd, ".", O_TMPFILE | O_WRONLY | O_CLOEXEC, 0444);
  if (fd >= 0)
    return fd;
  if (errno != EOPNOTSUPP && errno != EISDIR && errno != EINVAL)
    {
      int saved = errno;
      g_set_error (error, PULP_ERROR, PULP_ERROR_FAILED, _("Cannot create a temp file in %s: %s"),
                   self->tmp_dir, g_strerror (saved));
      return -1;
    }
  return pulp_content_store_open_temp (self, tmp_path, error);
}

/**
 * pulp_content_store_commit_fd:
 * @fd: the still open file descriptor from pulp_content_store_open_new()
 * @tmp_path: (nullable): the temp path it returned
 * @sha256: the content's verified digest
 *
 * Gives the new content its name in the store, read-only. Content that is
 * already stored is kept as it is. The caller closes @fd afterwards.
 *
 * Returns: %TRUE on success
 */
gboolean
pulp_content_store_commit_fd (PulpContentStore *self,
                              gint fd,
                              const gchar *tmp_path,
                              const gchar *sha256,
                              GError **error)
{
  g_autofree gchar *path = NULL;
  g_autofree gchar *parent = NULL;
  gchar proc_path[64];
  gchar name[2 + 1 + 62 + 1];
  int saved;

  g_return_val_if_fail (PULP_IS_CONTENT_STORE (self), FALSE);
  g_return_val_if_fail (fd >= 0, FALSE);
  g_return_val_if_fail (is_sha256 (sha256), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (tmp_path != NULL)
    return pulp_content_store_commit_temp (self, tmp_path, sha256, error);

  relative_path (sha256, name);
  g_snprintf (proc_path, sizeof proc_path, "/proc/self/fd/%d", fd);
  if (linkat (AT_FDCWD, proc_path, self->content_fd, name, AT_SYMLINK_FOLLOW) == 0
      || errno == EEXIST)
    {
      g_atomic_int_inc (&self->stored);
      return TRUE;
    }
  saved = errno;
  path = pulp_content_store_get_path (self, sha256);
  /* The first file of its prefix: make the folder and try once more. */
  if (saved == ENOENT)
    {
      parent = g_path_get_dirname (path);
      if (!make_dir (parent, error))
        return FALSE;
      if (linkat (AT_FDCWD, proc_path, self->content_fd, name, AT_SYMLINK_FOLLOW) == 0
          || errno == EEXIST)
        {
          g_atomic_int_inc (&self->stored);
          return TRUE;
        }
      saved = errno;
    }
  g_set_error (error, PULP_ERROR, PULP_ERROR_FAILED, _("Cannot store %s: %s"), path,
               g_strerror (saved));
  return FALSE;
}

/**
 * pulp_content_store_read_fd:
 * @fd: a readable file descriptor of a regular file (the caller keeps it)
 * @max_size: refuse content larger than this (0: no limit)
 * @tmp_path: (out): the temp file that holds what was read
 * @sha256: (out): the digest of what was read
 * @size: (out): how many bytes were read
 *
 * Copies what @fd holds into a temp file of the store, hashing it on the
 * way, so that it can be checked before it is stored with
 * pulp_content_store_commit_temp() (or dropped with g_unlink()).
 *
 * Returns: %TRUE on success
 */
gboolean
pulp_content_store_read_fd (PulpContentStore *self,
                            gint fd,
                            guint64 max_size,
                            gchar **tmp_path,
                            gchar **sha256,
                            guint64 *size,
                            GCancellable *cancellable,
                            GError **error)
{
  g_autoptr (PulpDigest) sum = pulp_digest_new (G_CHECKSUM_SHA256);
  g_autofree gchar *path = NULL;
  g_autofree guchar *buf = g_malloc (256 * 1024);
  g_autoptr (GError) local = NULL;
  guint64 total = 0;
  struct stat st;
  gint out;

  g_return_val_if_fail (PULP_IS_CONTENT_STORE (self), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (fstat (fd, &st) != 0 || !S_ISREG (st.st_mode))
    {
      g_set_error_literal (error, PULP_ERROR, PULP_ERROR_INVALID_ARGUMENT,
                           _("The file descriptor does not refer to a regular file"));
      return FALSE;
    }
  if (max_size > 0 && (guint64) st.st_size > max_size)
    {
      g_set_error (error, PULP_ERROR, PULP_ERROR_INVALID_ARGUMENT,
                   _("The file is %llu bytes, more than the limit of %llu"),
                   (unsigned long long) st.st_size, (unsigned long long) max_size);
      return FALSE;
    }

  out = pulp_content_store_open_temp (self, &path, error);
  if (out < 0)
    return FALSE;
  while (local == NULL)
    {
      gssize n = pread (fd, buf, 256 * 1024, (off_t) total);
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        {
          int saved = errno;
          g_set_error (&local, PULP_ERROR, PULP_ERROR_INVALID_ARGUMENT,
                       _("Cannot read the uploaded file: %s"), g_strerror (saved));
          break;
        }
      if (n == 0)
        break;
      total += (guint64) n;
      if (max_size > 0 && total > max_size)
        {
          g_set_error (&local, PULP_ERROR, PULP_ERROR_INVALID_ARGUMENT,
                       _("The file is larger than the limit of %llu bytes"),
                       (unsigned long long) max_size);
          break;
        }
      pulp_digest_update (sum, buf, (gsize) n);
      for (gssize off = 0; off < n && local == NULL;)
        {
          gssize w = write (out, buf + off, (gsize) (n - off));
          if (w < 0 && errno == EINTR)
            continue;
          if (w < 0)
            {
              int saved = errno;
              g_set_error (&local, PULP_ERROR, PULP_ERROR_FAILED, _("Cannot write %s: %s"), path,
                           g_strerror (saved));
              break;
            }
          off += w;
        }
      g_cancellable_set_error_if_cancelled (cancellable, local == NULL ? &local : NULL);
    }
  if (close (out) != 0 && local == NULL)
    g_set_error (&local, PULP_ERROR, PULP_ERROR_FAILED, _("Cannot close %s"), path);
  if (local != NULL)
    {
      g_unlink (path);
      g_propagate_error (error, g_steal_pointer (&local));
      return FALSE;
    }
  *tmp_path = g_steal_pointer (&path);
  *sha256 = g_strdup (pulp_digest_get_string (sum));
  *size = total;
  return TRUE;
}

/**
 * pulp_content_store_import_fd:
 * @fd: a readable file descriptor (the caller keeps it)
 * @max_size: refuse content larger than this (0: no limit)
 * @sha256: (out): the digest of what was read
 * @size: (out): how many bytes were read
 *
 * Copies what @fd holds into the store, for uploads.
 *
 * Returns: %TRUE on success
 */
gboolean
pulp_content_store_import_fd (PulpContentStore *self,
                              gint fd,
                              guint64 max_size,
                              gchar **sha256,
                              guint64 *size,
                              GCancellable *cancellable,
                              GError **error)
{
  g_autofree gchar *tmp_path = NULL;
  g_autofree gchar *digest = NULL;

  g_return_val_if_fail (PULP_IS_CONTENT_STORE (self), FALSE);

  if (!pulp_content_store_read_fd (self, fd, max_size, &tmp_path, &digest, size, cancellable, error)
      || !pulp_content_store_commit_temp (self, tmp_path, digest, error))
    return FALSE;
  *sha256 = g_steal_pointer (&digest);
  return TRUE;
}

/**
 * pulp_content_store_sync:
 *
 * Makes everything stored so far durable, with one syncfs() for the whole
 * file system rather than an fsync() per file; called before a version
 * that references new content commits. When no file was written since the
 * last syncfs() (a metadata-only sync, say) there is nothing to wait for:
 * a syncfs() would only write back other data, such as the database's
 * log.
 *
 * Returns: %TRUE on success
 */
gboolean
pulp_content_store_sync (PulpContentStore *self, GError **error)
{
  gint stored;
  gint64 started;
  gint fd;

  g_return_val_if_fail (PULP_IS_CONTENT_STORE (self), FALSE);

  /* read first: what is stored after this is not sure to be covered */
  stored = g_atomic_int_get (&self->stored);
  if (stored == g_atomic_int_get (&self->synced))
    return TRUE;
  started = g_get_monotonic_time ();
  fd = open (self->content_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0 || syncfs (fd) != 0)
    {
      int saved = errno;
      if (fd >= 0)
        close (fd);
      g_set_error (error, PULP_ERROR, PULP_ERROR_FAILED, _("Cannot sync %s: %s"), self->content_dir,
                   g_strerror (saved));
      return FALSE;
    }
  close (fd);
  g_atomic_int_set (&self->synced, stored);
  /* It waits for everything dirty on the file system, other programs'
   * writes included: worth seeing when a commit is slow. */
  g_debug ("syncfs() of %s took %.3f s", self->content_dir,
           (gdouble) (g_get_monotonic_time () - started) / G_USEC_PER_SEC);
  return TRUE;
}

/**
 * pulp_content_store_remove:
 * @bytes_freed: (out) (optional): the size of the removed file
 *
 * Removes stored content (orphan cleanup). Content that is not stored is
 * not an error.
 *
 * Returns: %TRUE on success
 */
gboolean
pulp_content_store_remove (PulpContentStore *self,
                           const gchar *sha256,
                           guint64 *bytes_freed,
                           GError **error)
{
  g_autofree gchar *path = NULL;
  struct stat st;

  g_return_val_if_fail (PULP_IS_CONTENT_STORE (self), FALSE);

  if (bytes_freed != NULL)
    *bytes_freed = 0;
  if (!is_sha256 (sha256))
    return TRUE;
  path = pulp_content_store_get_path (self, sha256);
  if (g_stat (path, &st) != 0)
    return TRUE;
  if (g_unlink (path) != 0)
    {
      int saved = errno;
      g_set_error (error, PULP_ERROR, PULP_ERROR_FAILED, _("Cannot remove %s: %s"), path,
                   g_strerror (saved));
      return FALSE;
    }
  if (bytes_freed != NULL)
    *bytes_freed = (guint64) st.st_size;
  return TRUE;
}

/**
 * pulp_content_store_remove_unreferenced:
 * @referenced: (element-type utf8 utf8): the set of digests to keep
 * @files: (out): how many files were removed
 * @bytes: (out): how many bytes they held
 *
 * Removes every stored file whose digest is not in @referenced, and the
 * folders left empty. Only for orphan cleanup, which runs while no other
 * task does: a sync or upload may store a file before the database knows
 * it.
 *
 * Returns: %TRUE on success
 */
gboolean
pulp_content_store_remove_unreferenced (PulpContentStore *self,
                                        GHashTable *referenced,
                                        guint64 *files,
                                        guint64 *bytes,
                                        GCancellable *cancellable,
                                        GError **error)
{
  g_autoptr (GDir) top = NULL;
  const gchar *prefix;

  g_return_val_if_fail (PULP_IS_CONTENT_STORE (self), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  *files = 0;
  *bytes = 0;
  top = g_dir_open (self->content_dir, 0, error);
  if (top == NULL)
    return FALSE;
  while ((prefix = g_dir_read_name (top)) != NULL)
    {
      g_autofree gchar *sub = g_build_filename (self->content_dir, prefix, NULL);
      g_autoptr (GDir) dir = NULL;
      const gchar *rest;

      if (g_cancellable_set_error_if_cancelled (cancellable, error))
        return FALSE;
      dir = g_dir_open (sub, 0, NULL);
      if (dir == NULL)
        continue;
      while ((rest = g_dir_read_name (dir)) != NULL)
        {
          g_autofree gchar *sha256 = g_strconcat (prefix, rest, NULL);
          guint64 freed = 0;

          if (g_hash_table_contains (referenced, sha256))
            continue;
          if (is_sha256 (sha256))
            {
              if (!pulp_content_store_remove (self, sha256, &freed, error))
                return FALSE;
            }
          else
            {
              /* not the store's: leave it, but say so */
              g_warning ("unexpected file %s/%s in the content store", sub, rest);
              continue;
            }
          (*files)++;
          *bytes += freed;
        }
      /* fails harmlessly while the folder still holds files */
      if (g_rmdir (sub) == 0 && strlen (prefix) == 2 && g_ascii_isxdigit (prefix[0])
          && g_ascii_isxdigit (prefix[1]))
        prefix_set_known (self, prefix_index (prefix), FALSE);
    }
  return TRUE;
}
