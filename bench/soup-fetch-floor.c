/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The least a libsoup-3 client built like pulpd's downloader spends on many
 * small files. It fetches URLs the way the downloader does: the async API,
 * THREADS threads each with its own context and session, CONCURRENCY
 * requests in flight in all, on kept-alive connections. Built and run by bench/bench-file.sh next to
 * the reference clients.
 *
 *   soup-fetch-floor URL_LIST CONCURRENCY THREADS [STORE_DIR]
 *
 * Without STORE_DIR each body is dropped. With it, each body is also
 * hashed (SHA-256, by libcrypto as pulpd does) and written, as it
 * arrives, to an unnamed file in STORE_DIR/tmp, which is then linked as
 * STORE_DIR/content/<2>/<62>: the work the issue asks of pulpd for each
 * file, without the checks against the manifest, the retries, the
 * durability and the database.
 *
 * URL_LIST has one URL a line. Prints the wall time in seconds; fails on
 * the first error or non-200 answer.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <libsoup/soup.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

static gchar **urls;
static guint n_urls;
static gint next_url;
static int tmp_fd = -1;
static int content_fd = -1;

typedef struct
{
  SoupSession *session;
  GMainLoop *loop;
  guint active;
  guint concurrency;
} Fetcher;

typedef struct
{
  Fetcher *f;
  const gchar *url;
  SoupMessage *msg;
  GInputStream *body;
  EVP_MD_CTX *sha256;
  int fd;
  gchar buffer[65536];
} Request;

static void fetch_more (Fetcher *f);
static void read_done (GObject *source, GAsyncResult *result, gpointer data);

static void
read_more (Request *r)
{
  g_input_stream_read_async (r->body, r->buffer, sizeof r->buffer, G_PRIORITY_DEFAULT, NULL,
                             read_done, r);
}

static void
fail (const gchar *what, const gchar *why)
{
  g_printerr ("%s: %s\n", what, why);
  exit (1);
}

static const EVP_MD *sha256_md;

/* Links the finished unnamed file under its digest. */
static void
store (Request *r)
{
  guchar digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  gchar hex[EVP_MAX_MD_SIZE * 2 + 1];

  EVP_DigestFinal_ex (r->sha256, digest, &len);
  for (unsigned int i = 0; i < len; i++)
    g_snprintf (hex + 2 * i, 3, "%02x", digest[i]);
  g_autofree gchar *from = g_strdup_printf ("/proc/self/fd/%d", r->fd);
  g_autofree gchar *name = g_strdup_printf ("%.2s/%s", hex, hex + 2);
  gchar dir[3] = { hex[0], hex[1], '\0' };

  if (linkat (AT_FDCWD, from, content_fd, name, AT_SYMLINK_FOLLOW) != 0 && errno == ENOENT)
    {
      mkdirat (content_fd, dir, 0755);
      if (linkat (AT_FDCWD, from, content_fd, name, AT_SYMLINK_FOLLOW) != 0 && errno != EEXIST)
        fail (r->url, g_strerror (errno));
    }
  close (r->fd);
}

static void
read_done (GObject *source, GAsyncResult *result, gpointer data)
{
  Request *r = data;
  g_autoptr (GError) error = NULL;
  gssize n = g_input_stream_read_finish (r->body, result, &error);

  if (n < 0)
    fail (r->url, error->message);
  if (n > 0)
    {
      if (r->sha256 != NULL)
        {
          EVP_DigestUpdate (r->sha256, r->buffer, n);
          if (write (r->fd, r->buffer, n) != n)
            fail (r->url, "short write");
        }
      read_more (r);
      return;
    }
  g_input_stream_close (r->body, NULL, NULL);
  g_object_unref (r->body);
  g_object_unref (r->msg);
  if (r->sha256 != NULL)
    {
      store (r);
      EVP_MD_CTX_free (r->sha256);
    }
  r->f->active--;
  fetch_more (r->f);
  g_free (r);
}

static void
sent (GObject *source, GAsyncResult *result, gpointer data)
{
  Request *r = data;
  g_autoptr (GError) error = NULL;

  r->body = soup_session_send_finish (r->f->session, result, &error);
  if (r->body == NULL)
    fail (r->url, error->message);
  if (soup_message_get_status (r->msg) != SOUP_STATUS_OK)
    fail (r->url, soup_message_get_reason_phrase (r->msg));
  read_more (r);
}

static void
fetch_more (Fetcher *f)
{
  gint i;

  while (f->active < f->concurrency && (i = g_atomic_int_add (&next_url, 1)) < (gint) n_urls)
    {
      Request *r = g_new0 (Request, 1);

      r->f = f;
      r->url = urls[i];
      r->msg = soup_message_new (SOUP_METHOD_GET, r->url);
      if (r->msg == NULL)
        fail (r->url, "not a URL");
      if (tmp_fd >= 0)
        {
          r->fd = openat (tmp_fd, ".", O_TMPFILE | O_WRONLY | O_CLOEXEC, 0444);
          if (r->fd < 0)
            fail (r->url, g_strerror (errno));
          r->sha256 = EVP_MD_CTX_new ();
          EVP_DigestInit_ex (r->sha256, sha256_md, NULL);
        }
      f->active++;
      soup_session_send_async (f->session, r->msg, G_PRIORITY_DEFAULT, NULL, sent, r);
    }
  if (f->active == 0)
    g_main_loop_quit (f->loop);
}

static gpointer
run (gpointer data)
{
  Fetcher *f = data;
  g_autoptr (GMainContext) context = g_main_context_new ();

  g_main_context_push_thread_default (context);
  f->session = soup_session_new_with_options ("max-conns", f->concurrency, "max-conns-per-host",
                                              f->concurrency, NULL);
  f->loop = g_main_loop_new (context, FALSE);
  fetch_more (f);
  if (f->active > 0)
    g_main_loop_run (f->loop);
  g_main_loop_unref (f->loop);
  g_object_unref (f->session);
  g_main_context_pop_thread_default (context);
  return NULL;
}

/* Opens (making it if needed) the folder @name under @top. */
static int
open_dir (const gchar *top, const gchar *name)
{
  g_autofree gchar *path = g_build_filename (top, name, NULL);
  int fd;

  g_mkdir_with_parents (path, 0755);
  fd = open (path, O_DIRECTORY | O_CLOEXEC);
  if (fd < 0)
    fail (path, g_strerror (errno));
  return fd;
}

int
main (int argc, char **argv)
{
  g_autoptr (GError) error = NULL;
  g_autofree gchar *text = NULL;
  g_autofree Fetcher *fetchers = NULL;
  g_autofree GThread **threads = NULL;
  guint concurrency;
  guint n_threads;
  gint64 start;

  if ((argc != 4 && argc != 5) || atoi (argv[2]) <= 0 || atoi (argv[3]) <= 0)
    {
      g_printerr ("usage: %s URL_LIST CONCURRENCY THREADS [STORE_DIR]\n", argv[0]);
      return 2;
    }
  if (!g_file_get_contents (argv[1], &text, NULL, &error))
    fail (argv[1], error->message);
  urls = g_strsplit (g_strstrip (text), "\n", -1);
  n_urls = g_strv_length (urls);
  concurrency = (guint) atoi (argv[2]);
  n_threads = MIN ((guint) atoi (argv[3]), concurrency);
  if (argc == 5)
    {
      tmp_fd = open_dir (argv[4], "tmp");
      content_fd = open_dir (argv[4], "content");
      /* fetched once, as pulpd does: libcrypto 3 looks up EVP_sha256()'s
       * implementation again at every init */
      sha256_md = EVP_MD_fetch (NULL, "SHA256", NULL);
      if (sha256_md == NULL)
        fail ("libcrypto", "no SHA256");
    }

  fetchers = g_new0 (Fetcher, n_threads);
  threads = g_new0 (GThread *, n_threads);
  start = g_get_monotonic_time ();
  for (guint i = 0; i < n_threads; i++)
    {
      /* the requests in flight shared out as pulpd's downloader does */
      fetchers[i].concurrency = concurrency / n_threads + (i < concurrency % n_threads);
      threads[i] = g_thread_new ("fetch", run, &fetchers[i]);
    }
  for (guint i = 0; i < n_threads; i++)
    g_thread_join (threads[i]);
  g_print ("%.2f\n", (g_get_monotonic_time () - start) / 1e6);
  g_strfreev (urls);
  return 0;
}
