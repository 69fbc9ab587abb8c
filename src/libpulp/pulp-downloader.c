/* SPDX-License-Identifier: LGPL-2.1-or-later */
#define G_LOG_DOMAIN "Pulp"

#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <glib/gi18n-lib.h>
#include <glib/gstdio.h>
#include <libsoup/soup.h>
#include <string.h>
#include <unistd.h>

#include "pulp-digest.h"
#include "pulp-downloader.h"
#include "pulp-error.h"

/* One reusable read buffer per transfer slot: large enough that a small file
 * arrives in one read, small enough that 100 slots stay cheap. */
#define BUFFER_SIZE (64 * 1024)
#define MAX_CONCURRENCY 100
#define DEFAULT_CONCURRENCY 10
#define MAX_WORKERS 4
#define DEFAULT_MAX_RETRIES 3
#define DEFAULT_RETRY_BASE_MS 200
#define DEFAULT_TIMEOUT_S 30
#define MAX_RETRY_DELAY_MS (30 * 1000)
#define PROGRESS_INTERVAL_US (50 * 1000)
/* How much of a file may arrive before its write-back is started. */
#define WRITEBACK_CHUNK (8 * 1024 * 1024)
#define ERRORS_IN_SUMMARY 3
/* How many chunks a file:// reader handles before it lets other transfers run. */
#define FILE_CHUNKS_PER_ROUND 16
/* How many chunks an http reader takes without waiting before it lets other
 * transfers run. */
#define READS_PER_ROUND 4
/* A server that keeps a transfer alive with a trickle never hits the read
 * timeout: less than this many bytes a second, averaged over the timeout,
 * fails the attempt as a timeout does. */
#define LOW_SPEED_BYTES_PER_S 1024

/**
 * PulpDownloader:
 *
 * Fetches http, https and file URLs into the content store, verifying size
 * and digest while streaming.
 *
 * Network I/O happens in a few dedicated threads (workers), each owning a
 * #GMainContext and a #SoupSession and using libsoup's async API, the way
 * libsoup recommends: transfers run concurrently there without a thread per
 * transfer, and connections are reused. One worker per CPU (at most
 * MAX_WORKERS): for many small files the work per request (libsoup, the
 * file system) keeps one thread busy, not the network. A batch shares its
 * `download-concurrency` slots among the workers, which take the next
 * download from a common counter. The public functions block; they are
 * called from sync worker threads, hand a batch to the workers and wait on
 * a condition variable until it is done, calling the progress function in
 * their own thread meanwhile.
 *
 * Workers in helper processes instead of threads were tried. Bare libsoup
 * clients gain from it (10,000 files of 4 KiB from a loopback nginx, two
 * CPUs: 0.38-0.41 s in two processes, 0.68-0.81 s in two threads, which wait
 * for each other on GLib's process-wide locks for signals and object
 * disposal), but the downloader did not: passing each file's request and
 * result between processes cost the CPU time the waiting had, and with
 * both CPUs busy (libsoup, the server, the database) a sync of those files
 * took 1.00-1.09 s in processes against 0.99 s in threads.
 */
typedef struct _Worker Worker;

struct _PulpDownloader
{
  GObject parent_instance;

  PulpContentStore *store;
  guint concurrency;
  guint max_retries;
  guint retry_base_ms;
  guint timeout_s;
  gboolean tls_verify;
  GTlsDatabase *tls_database;
  GTlsCertificate *client_cert;
  GProxyResolver *proxy_resolver;
  gchar *proxy_username;
  gchar *proxy_password;
  gchar *proxy_authorization; /* "Basic …" for plain http requests through the proxy */
  gchar *username;
  gchar *password;

  Worker *workers;
  guint n_workers;

  /* Makes temp files ahead for the workers (see take_temp()). */
  GThreadPool *spare_maker;
  /* Writes stored files to disk while the next batch downloads (see
   * start_writeback()). */
  GThreadPool *writeback;
};

G_DEFINE_TYPE (PulpDownloader, pulp_downloader, G_TYPE_OBJECT)

/* A network thread with its own main context and session. */
struct _Worker
{
  PulpDownloader *self;
  GMainContext *context;
  GMainLoop *loop;
  GThread *thread;
  SoupSession *session; /* created, used and destroyed in the thread only */
  guint max_slots;      /* of one batch, so of connections to one host */
  GAsyncQueue *spares;  /* SpareTemp, ready or failed */
  guint spares_pending; /* asked for and not yet taken; this worker's thread */
};

typedef enum
{
  SINK_STORE,
  SINK_FILE,
  SINK_BYTES,
} SinkKind;

typedef struct _Batch Batch;
typedef struct _Part Part;

/* A transfer slot: at most `concurrency` exist per batch and are reused for
 * one download after another, so memory does not grow with the number of
 * files. Everything here is touched only in its worker's thread. At most
 * one async operation is in flight per slot at any time. */
typedef struct
{
  Batch *batch;
  Part *part;
  PulpDownload *download; /* NULL while the slot is free */
  gchar *display_url;     /* the URL without its password, for messages */
  gchar *redirected_url;  /* the same, "(redirected to …)": this attempt's, made when asked */
  GUri *uri;
  gboolean is_file;
  guint attempt;
  PulpDigest *sha256;
  PulpDigest *other;
  GCancellable *cancellable; /* this attempt's */
  SoupMessage *msg;
  GInputStream *in;
  GSource *source; /* retry timer, or file:// reader */
  gint fd;
  gchar *tmp_path;
  guint64 received;
  gint64 window_start;     /* when the current low-speed window began */
  guint64 window_received; /* received by then */
  guint64 written_back; /* bytes handed to sync_file_range() */
  gint64 length;        /* Content-Length, or -1 */
  GError *error; /* what the attempt failed with, while the stream closes */
  gboolean retryable;
  guint retry_after_ms;
  guchar *buffer;
} Transfer;

/* What one worker does of a batch. */
struct _Part
{
  Batch *batch;
  Worker *worker;

  /* this worker's thread only */
  Transfer *slots;
  guint n_slots;
  guint active;
  gboolean pumping;
  gboolean cancelled;
  gboolean done;
};

struct _Batch
{
  gint ref_count;
  PulpDownloader *self;
  SinkKind sink;
  GPtrArray *downloads;
  const gchar *dest_path;
  gsize max_size;
  GByteArray *bytes; /* SINK_BYTES has one download, so one part */

  Part *parts;
  guint n_parts;
  gint next; /* atomic: the index of the next download to start */

  /* shared with the calling thread, under mutex */
  GMutex mutex;
  GCond cond;
  guint parts_running;
  gboolean finished;
  gboolean cancelled;
  guint64 files_done;
  guint64 bytes_done;

  /* the calling thread's */
  GCancellable *cancellable;
  gulong cancel_handler;
  guint64 bytes_total;
};

static void attempt_start (Transfer *t);
static void spares_drop (Worker *worker);
static void part_pump (Part *part);

/**
 * pulp_url_for_display:
 * @url: a URL
 *
 * A repository's feed may hold a password; errors and logs are for others
 * to read too.
 *
 * Returns: (transfer full): @url as messages show it: without the password
 * of its user information, otherwise as it was written
 */
gchar *
pulp_url_for_display (const gchar *url)
{
  const GUriFlags flags = G_URI_FLAGS_HAS_PASSWORD | G_URI_FLAGS_ENCODED;
  g_autoptr (GUri) uri = NULL;

  g_return_val_if_fail (url != NULL, NULL);

  uri = g_uri_parse (url, flags, NULL);
  if (uri == NULL || g_uri_get_password (uri) == NULL)
    return g_strdup (url);
  return g_uri_to_string_partial (uri, G_URI_HIDE_PASSWORD);
}

/**
 * pulp_download_new:
 * @url: what to fetch
 * @checksum_type: (nullable): "sha256", "sha1", "sha512", "md5"…, or %NULL
 * @checksum: (nullable): the declared digest in hex
 * @size: the declared size, or -1
 *
 * Returns: (transfer full): a new #PulpDownload
 */
PulpDownload *
pulp_download_new (const gchar *url, const gchar *checksum_type, const gchar *checksum, gint64 size)
{
  PulpDownload *download;

  g_return_val_if_fail (url != NULL, NULL);

  download = g_new0 (PulpDownload, 1);
  download->url = g_strdup (url);
  download->checksum_type = g_strdup (checksum_type);
  download->checksum = g_strdup (checksum);
  download->size = size;
  return download;
}

/**
 * pulp_download_free:
 *
 * Frees a #PulpDownload (not its user_data).
 */
void
pulp_download_free (PulpDownload *download)
{
  if (download == NULL)
    return;
  g_free (download->url);
  g_free (download->checksum_type);
  g_free (download->checksum);
  g_free (download->sha256);
  g_free (download->path);
  g_clear_error (&download->error);
  g_free (download);
}

/* ---- batches ---------------------------------------------------------- */

static Batch *
batch_new (PulpDownloader *self, SinkKind sink, GPtrArray *downloads)
{
  Batch *b = g_new0 (Batch, 1);
  guint n_slots = MAX (1, MIN (self->concurrency, downloads->len));

  b->ref_count = 1;
  b->self = self;
  b->sink = sink;
  b->downloads = g_ptr_array_ref (downloads);
  /* The slots are dealt out among the workers like cards. */
  b->n_parts = MIN (self->n_workers, n_slots);
  b->parts = g_new0 (Part, b->n_parts);
  b->parts_running = b->n_parts;
  for (guint p = 0; p < b->n_parts; p++)
    {
      Part *part = &b->parts[p];

      part->batch = b;
      part->worker = &self->workers[p];
      part->n_slots = n_slots / b->n_parts + (p < n_slots % b->n_parts ? 1 : 0);
      part->slots = g_new0 (Transfer, part->n_slots);
      for (guint i = 0; i < part->n_slots; i++)
        {
          part->slots[i].batch = b;
          part->slots[i].part = part;
          part->slots[i].fd = -1;
        }
    }
  g_mutex_init (&b->mutex);
  g_cond_init (&b->cond);
  return b;
}

static Batch *
batch_ref (Batch *b)
{
  g_atomic_int_inc (&b->ref_count);
  return b;
}

static void
batch_unref (gpointer data)
{
  Batch *b = data;

  if (!g_atomic_int_dec_and_test (&b->ref_count))
    return;
  for (guint p = 0; p < b->n_parts; p++)
    {
      Part *part = &b->parts[p];

      for (guint i = 0; i < part->n_slots; i++)
        {
          g_clear_pointer (&part->slots[i].sha256, pulp_digest_free);
          g_free (part->slots[i].buffer);
        }
      g_free (part->slots);
    }
  g_free (b->parts);
  g_ptr_array_unref (b->downloads);
  if (b->bytes != NULL)
    g_byte_array_unref (b->bytes);
  g_mutex_clear (&b->mutex);
  g_cond_clear (&b->cond);
  g_free (b);
}

static void
batch_add_progress (Batch *b, guint64 files, gint64 bytes)
{
  g_mutex_lock (&b->mutex);
  b->files_done += files;
  b->bytes_done += (guint64) bytes;
  g_mutex_unlock (&b->mutex);
}

static gboolean
release_cb (gpointer data)
{
  return G_SOURCE_REMOVE;
}

/* This worker is done with the batch; the batch is done with its last
 * part. */
static void
part_finish (Part *part)
{
  Batch *b = part->batch;
  GSource *source;

  part->done = TRUE;
  /* no temp file outlives the batch that asked for it */
  spares_drop (part->worker);
  /* The caller may free the batch as soon as it sees `finished`: keep it
   * alive until the current dispatch has unwound. */
  source = g_idle_source_new ();
  g_source_set_callback (source, release_cb, batch_ref (b), batch_unref);
  g_source_attach (source, part->worker->context);
  g_source_unref (source);

  g_mutex_lock (&b->mutex);
  b->cancelled |= part->cancelled;
  if (--b->parts_running == 0)
    {
      b->finished = TRUE;
      g_cond_broadcast (&b->cond);
    }
  g_mutex_unlock (&b->mutex);
}

/* ---- one transfer ----------------------------------------------------- */

/* How messages name the transfer. After a redirect they name where it led
 * as well: the TLS certificate or the 401 of another server are not the
 * feed's. Worked out only when a message needs it, not for every request. */
static const gchar *
transfer_url (Transfer *t)
{
  const gchar *asked = t->display_url != NULL ? t->display_url : t->download->url;

  if (t->redirected_url == NULL && t->msg != NULL)
    {
      GUri *now = soup_message_get_uri (t->msg);
      g_autofree gchar *requested = g_uri_to_string (t->uri);
      g_autofree gchar *got = g_uri_to_string (now);

      if (!g_str_equal (requested, got))
        {
          g_autofree gchar *shown = g_uri_to_string_partial (now, G_URI_HIDE_PASSWORD);
          t->redirected_url = g_strdup_printf (_("%s (redirected to %s)"), asked, shown);
        }
    }
  return t->redirected_url != NULL ? t->redirected_url : asked;
}

static void
transfer_clear_source (Transfer *t)
{
  if (t->source == NULL)
    return;
  g_source_destroy (t->source);
  g_clear_pointer (&t->source, g_source_unref);
}

static void
transfer_done (Transfer *t, GError *error)
{
  Batch *b = t->batch;
  PulpDownload *dl = t->download;

  if (error != NULL)
    {
      g_debug ("%s", error->message);
      g_clear_error (&dl->error);
      dl->error = error;
    }
  t->download = NULL;
  g_clear_pointer (&t->display_url, g_free);
  g_clear_pointer (&t->redirected_url, g_free);
  g_clear_pointer (&t->uri, g_uri_unref);
  g_clear_pointer (&t->other, pulp_digest_free);
  t->part->active--;
  batch_add_progress (b, 1, 0);
  part_pump (t->part);
}

static void
sink_discard (Transfer *t)
{
  Batch *b = t->batch;

  if (t->fd >= 0)
    {
      close (t->fd);
      t->fd = -1;
    }
  if (t->tmp_path != NULL)
    {
      g_unlink (t->tmp_path);
      g_clear_pointer (&t->tmp_path, g_free);
    }
  if (b->sink == SINK_BYTES)
    g_byte_array_set_size (b->bytes, 0);
}

static gboolean
retry_cb (gpointer data)
{
  Transfer *t = data;

  transfer_clear_source (t);
  attempt_start (t);
  return G_SOURCE_REMOVE;
}

/* Ends the current attempt with @error (taken): either schedules another
 * attempt after a backoff or ends the transfer. Must only be called when no
 * async operation of this transfer is in flight. */
static void
attempt_failed (Transfer *t, GError *error, gboolean retryable)
{
  Batch *b = t->batch;
  PulpDownloader *self = b->self;

  if (t->in != NULL)
    {
      /* Abort rather than read the rest of a body we do not want. */
      g_cancellable_cancel (t->cancellable);
      g_clear_object (&t->in);
    }
  g_clear_object (&t->msg);
  g_clear_object (&t->cancellable);
  transfer_clear_source (t);
  g_clear_error (&t->error);
  sink_discard (t);
  batch_add_progress (b, 0, -(gint64) t->received);
  t->received = 0;

  if (t->part->cancelled)
    {
      g_clear_error (&error);
      error = g_error_new (PULP_ERROR, PULP_ERROR_CANCELLED, _("%s: cancelled"), transfer_url (t));
    }
  else if (retryable && !t->is_file && t->attempt < self->max_retries)
    {
      guint delay = MIN ((guint64) self->retry_base_ms << t->attempt, MAX_RETRY_DELAY_MS);

      /* Jitter, so that many transfers failing together do not come back
       * together. */
      delay = delay * 3 / 4 + g_random_int_range (0, (gint32) (delay / 2 + 1));
      delay = MAX (delay, MIN (t->retry_after_ms, MAX_RETRY_DELAY_MS));
      g_debug ("%s; retrying in %u ms", error->message, delay);
      g_error_free (error);
      t->attempt++;
      t->source = g_timeout_source_new (delay);
      g_source_set_callback (t->source, retry_cb, t, NULL);
      g_source_attach (t->source, t->part->worker->context);
      return;
    }
  else if (t->attempt > 0)
    {
      gchar *message = g_strdup_printf (_("%s (%u attempts)"), error->message, t->attempt + 1);
      g_free (error->message);
      error->message = message;
    }
  if (b->sink == SINK_FILE)
    g_unlink (b->dest_path);
  transfer_done (t, error);
}

static void G_GNUC_PRINTF (4, 5)
attempt_fail (Transfer *t, gint code, gboolean retryable, const gchar *format, ...)
{
  g_autofree gchar *reason = NULL;
  va_list args;

  va_start (args, format);
  reason = g_strdup_vprintf (format, args);
  va_end (args);
  attempt_failed (t, g_error_new_literal (PULP_ERROR, code, reason), retryable);
}

static gboolean
error_is_transient (const GError *error)
{
  if (error->domain == G_TLS_ERROR)
    return FALSE;
  if (error->domain == G_RESOLVER_ERROR)
    return error->code == G_RESOLVER_ERROR_TEMPORARY_FAILURE;
  if (error->domain == SOUP_SESSION_ERROR)
    return error->code == SOUP_SESSION_ERROR_PARSING || error->code == SOUP_SESSION_ERROR_ENCODING;
  if (error->domain == G_IO_ERROR)
    return !(error->code == G_IO_ERROR_CANCELLED || error->code == G_IO_ERROR_NOT_SUPPORTED
             || error->code == G_IO_ERROR_INVALID_ARGUMENT || error->code == G_IO_ERROR_NOT_FOUND
             || error->code == G_IO_ERROR_PERMISSION_DENIED);
  return FALSE;
}

/* A transport (GIO, TLS, libsoup) error of the current attempt. */
static void
attempt_failed_with (Transfer *t, const GError *error)
{
  gint code = PULP_ERROR_NETWORK;

  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    code = PULP_ERROR_CANCELLED;
  attempt_fail (t, code, !t->is_file && error_is_transient (error), "%s: %s", transfer_url (t),
                error->message);
}

/* The folder of @fd's file, which has no name of its own (O_TMPFILE): the
 * kernel names it "<folder>/#<inode> (deleted)". */
static gchar *
unnamed_file_folder (gint fd)
{
  g_autofree gchar *link = g_strdup_printf ("/proc/self/fd/%d", fd);
  g_autofree gchar *target = fd >= 0 ? g_file_read_link (link, NULL) : NULL;

  if (target == NULL || !g_path_is_absolute (target))
    return NULL;
  return g_path_get_dirname (target);
}

/* Writing what arrived failed with @saved_errno. The error is a
 * %G_IO_ERROR from the errno, so that callers can tell a full disk
 * (%G_IO_ERROR_NO_SPACE) from other failures; the message names the file,
 * or for a download into the store that has no name yet, the folder it is
 * written in (the store's temp folder, on the file system that is full). */
static void
attempt_fail_write (Transfer *t, int saved_errno)
{
  const gchar *path = t->tmp_path != NULL ? t->tmp_path : t->batch->dest_path;
  g_autofree gchar *folder = path == NULL ? unnamed_file_folder (t->fd) : NULL;
  g_autofree gchar *message = NULL;
  GIOErrorEnum code;

  if (path != NULL)
    message = g_strdup_printf (_("%s: cannot write %s: %s"), transfer_url (t), path,
                               g_strerror (saved_errno));
  else if (folder != NULL)
    message = g_strdup_printf (_("%s: cannot write a new file in %s: %s"), transfer_url (t),
                               folder, g_strerror (saved_errno));
  else
    message = g_strdup_printf (_("%s: cannot write a new file in the content store: %s"),
                               transfer_url (t), g_strerror (saved_errno));
  /* a quota is a full disk for us; GLib has no code of its own for it */
  code = saved_errno == EDQUOT ? G_IO_ERROR_NO_SPACE : g_io_error_from_errno (saved_errno);
  attempt_failed (t, g_error_new_literal (G_IO_ERROR, code, message), FALSE);
}

static gboolean
write_all (gint fd, const guchar *data, gsize len)
{
  while (len > 0)
    {
      gssize n = write (fd, data, len);
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        return FALSE;
      data += n;
      len -= (gsize) n;
    }
  return TRUE;
}

/* Takes @n bytes just read into the buffer; FALSE (and the attempt ended)
 * on failure. */
static gboolean
consume (Transfer *t, gsize n)
{
  Batch *b = t->batch;
  PulpDownload *dl = t->download;

  t->received += n;
  if (b->sink == SINK_STORE && dl->size >= 0 && t->received > (guint64) dl->size)
    {
      attempt_fail (t, PULP_ERROR_CHECKSUM, TRUE,
                    _("%s: expected %lld bytes, got more than that"), transfer_url (t),
                    (long long) dl->size);
      return FALSE;
    }
  if (b->sink == SINK_BYTES && t->received > b->max_size)
    {
      attempt_failed (t,
                      g_error_new (G_IO_ERROR, G_IO_ERROR_MESSAGE_TOO_LARGE,
                                   _("%s: larger than the limit of %llu bytes"), transfer_url (t),
                                   (unsigned long long) b->max_size),
                      FALSE);
      return FALSE;
    }
  if (t->sha256 != NULL)
    pulp_digest_update (t->sha256, t->buffer, n);
  if (t->other != NULL)
    pulp_digest_update (t->other, t->buffer, n);
  if (b->sink == SINK_BYTES)
    g_byte_array_append (b->bytes, t->buffer, (guint) n);
  else if (!write_all (t->fd, t->buffer, n))
    {
      attempt_fail_write (t, errno);
      return FALSE;
    }
  else if (t->received - t->written_back >= WRITEBACK_CHUNK)
    {
      /* Start writing what arrived to disk, without waiting for it: the
       * disk works while the network does, and the syncfs() before the
       * commit finds little left to do. Left alone, the kernel would hold
       * a large download in the page cache until that syncfs(). */
      sync_file_range (t->fd, (off_t) t->written_back, (off_t) (t->received - t->written_back),
                       SYNC_FILE_RANGE_WRITE);
      t->written_back = t->received;
    }
  batch_add_progress (b, 0, (gint64) n);
  return TRUE;
}

/* The body is complete: verify it and put it in place. */
static void
attempt_succeeded (Transfer *t)
{
  Batch *b = t->batch;
  PulpDownload *dl = t->download;
  g_autoptr (GError) error = NULL;
  const gchar *sha256;

  g_clear_object (&t->msg);
  g_clear_object (&t->cancellable);

  /* libsoup ends the body stream quietly when the connection closes early;
   * a document of no declared size (a manifest) would otherwise pass as a
   * shorter one, and a mirror sync would drop what it no longer lists. */
  if (t->length >= 0 && t->received != (guint64) t->length)
    {
      attempt_fail (t, PULP_ERROR_NETWORK, TRUE,
                    _("%s: the server announced %lld bytes and sent %llu"), transfer_url (t),
                    (long long) t->length, (unsigned long long) t->received);
      return;
    }
  if (dl->size >= 0 && t->received != (guint64) dl->size)
    {
      attempt_fail (t, PULP_ERROR_CHECKSUM, TRUE,
                    _("%s: expected %lld bytes, got %llu"), transfer_url (t),
                    (long long) dl->size, (unsigned long long) t->received);
      return;
    }
  if (t->sha256 != NULL && dl->checksum != NULL && dl->checksum_type != NULL && t->other == NULL
      && g_ascii_strcasecmp (dl->checksum, pulp_digest_get_string (t->sha256)) != 0)
    {
      attempt_fail (t, PULP_ERROR_CHECKSUM, TRUE, _("%s: expected sha256 %s, got %s"),
                    transfer_url (t), dl->checksum,
                    pulp_digest_get_string (t->sha256));
      return;
    }
  if (t->other != NULL && g_ascii_strcasecmp (dl->checksum, pulp_digest_get_string (t->other)) != 0)
    {
      attempt_fail (t, PULP_ERROR_CHECKSUM, TRUE, _("%s: expected %s %s, got %s"),
                    transfer_url (t), dl->checksum_type, dl->checksum,
                    pulp_digest_get_string (t->other));
      return;
    }

  if (b->sink == SINK_STORE)
    {
      g_autofree gchar *tmp_path = NULL;

      /* Committed while still open: an unnamed (O_TMPFILE) file would
       * vanish on close. */
      sha256 = pulp_digest_get_string (t->sha256);
      if (!pulp_content_store_commit_fd (b->self->store, t->fd, t->tmp_path, sha256, &error))
        {
          attempt_fail (t, PULP_ERROR_FAILED, FALSE, "%s: %s", transfer_url (t), error->message);
          return;
        }
      tmp_path = g_steal_pointer (&t->tmp_path);
      /* Write errors of local files show at write() or at the syncfs()
       * before the commit, not here. */
      if (close (t->fd) != 0)
        g_warning ("Closing the stored %s: %s", sha256, g_strerror (errno));
      t->fd = -1;
      g_free (dl->sha256);
      g_free (dl->path);
      dl->sha256 = g_strdup (sha256);
      dl->path = pulp_content_store_get_path (b->self->store, sha256);
      dl->fetched = TRUE;
    }
  else if (t->fd >= 0)
    {
      gint fd = t->fd;

      t->fd = -1;
      if (close (fd) != 0)
        {
          attempt_fail_write (t, errno);
          return;
        }
    }
  transfer_done (t, NULL);
}

static void
on_closed (GObject *source, GAsyncResult *result, gpointer data)
{
  Transfer *t = data;
  g_autoptr (GError) error = NULL;

  if (!g_input_stream_close_finish (G_INPUT_STREAM (source), result, &error))
    {
      if (t->error == NULL && g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        {
          t->error = g_error_new (PULP_ERROR, PULP_ERROR_CANCELLED, _("%s: cancelled"),
                                  transfer_url (t));
          t->retryable = FALSE;
        }
      else
        g_debug ("%s: closing: %s", transfer_url (t), error->message);
    }
  g_clear_object (&t->in);
  if (t->error != NULL)
    attempt_failed (t, g_steal_pointer (&t->error), t->retryable);
  else
    attempt_succeeded (t);
}

/* Ends the body stream the polite way (so the connection can be reused),
 * then finishes the attempt with t->error, if set. */
static void
close_stream (Transfer *t)
{
  g_input_stream_close_async (t->in, G_PRIORITY_DEFAULT, t->cancellable, on_closed, t);
}

/* Finishes the attempt once the whole announced body is in. */
static void
body_complete (Transfer *t)
{
  /* libsoup has nothing left to do on this connection and the close cannot
   * block; skipping the read that would return 0, and a main loop round
   * per file, is measurably faster for many small files. */
  g_input_stream_close (t->in, NULL, NULL);
  g_clear_object (&t->in);
  attempt_succeeded (t);
}

/* Whether the transfer got at least LOW_SPEED_BYTES_PER_S over the last
 * timeout's worth of time; fails the attempt if not. */
static gboolean
fast_enough (Transfer *t)
{
  guint timeout_s = t->batch->self->timeout_s;
  gint64 now = g_get_monotonic_time ();

  if (now - t->window_start < (gint64) timeout_s * G_USEC_PER_SEC)
    return TRUE;
  if (t->received - t->window_received < (guint64) LOW_SPEED_BYTES_PER_S * timeout_s)
    {
      attempt_fail (t, PULP_ERROR_NETWORK, TRUE,
                    _("%s: timed out: less than %u bytes a second over %u s"),
                    transfer_url (t), LOW_SPEED_BYTES_PER_S, timeout_s);
      return FALSE;
    }
  t->window_start = now;
  t->window_received = t->received;
  return TRUE;
}

/* Takes the result of one read: TRUE if the transfer wants more. */
static gboolean
handle_read (Transfer *t, gssize n, const GError *error)
{
  if (n < 0)
    {
      attempt_failed_with (t, error);
      return FALSE;
    }
  if (n == 0)
    {
      if (t->length >= 0 && t->received == (guint64) t->length)
        body_complete (t);
      else
        close_stream (t);
      return FALSE;
    }
  /* Even with the whole announced body in, the read that returns 0 is
   * needed: it is what lets libsoup put the connection back for reuse. With
   * the body known complete it returns at once. */
  return consume (t, (gsize) n) && fast_enough (t);
}

static void on_read (GObject *source, GAsyncResult *result, gpointer data);

/* Reads on. A small body has usually arrived with its headers: what is
 * there already is read at once, and only when nothing is does the
 * transfer wait in the main loop. A few chunks at most, so one fast
 * transfer does not hold up the others. */
static void
read_more (Transfer *t)
{
  if (G_IS_POLLABLE_INPUT_STREAM (t->in)
      && g_pollable_input_stream_can_poll (G_POLLABLE_INPUT_STREAM (t->in)))
    {
      for (guint i = 0; i < READS_PER_ROUND; i++)
        {
          g_autoptr (GError) error = NULL;
          gssize n = g_pollable_input_stream_read_nonblocking (
              G_POLLABLE_INPUT_STREAM (t->in), t->buffer, BUFFER_SIZE, t->cancellable, &error);

          if (n < 0 && g_error_matches (error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK))
            break;
          if (!handle_read (t, n, error))
            return;
        }
    }
  g_input_stream_read_async (t->in, t->buffer, BUFFER_SIZE, G_PRIORITY_DEFAULT, t->cancellable,
                             on_read, t);
}

static void
on_read (GObject *source, GAsyncResult *result, gpointer data)
{
  Transfer *t = data;
  g_autoptr (GError) error = NULL;
  gssize n;

  n = g_input_stream_read_finish (G_INPUT_STREAM (source), result, &error);
  if (handle_read (t, n, error))
    read_more (t);
}

static void
on_sent (GObject *source, GAsyncResult *result, gpointer data)
{
  Transfer *t = data;
  Batch *b = t->batch;
  PulpDownload *dl = t->download;
  g_autoptr (GError) error = NULL;
  SoupMessageHeaders *headers;
  SoupStatus status;
  goffset length = -1;

  t->in = soup_session_send_finish (SOUP_SESSION (source), result, &error);
  if (t->in == NULL)
    {
      attempt_failed_with (t, error);
      return;
    }

  status = soup_message_get_status (t->msg);
  headers = soup_message_get_response_headers (t->msg);
  if (!SOUP_STATUS_IS_SUCCESSFUL (status))
    {
      const gchar *retry_after = soup_message_headers_get_one (headers, "Retry-After");

      t->error = g_error_new (PULP_ERROR, PULP_ERROR_NETWORK, "%s: HTTP %u %s", transfer_url (t),
                              status, soup_message_get_reason_phrase (t->msg));
      t->retryable = status == 429 || status >= 500;
      t->retry_after_ms = 0;
      if (retry_after != NULL && g_ascii_isdigit (*retry_after))
        t->retry_after_ms = (guint) MIN (g_ascii_strtoull (retry_after, NULL, 10), 3600) * 1000;
      close_stream (t);
      return;
    }

  if (soup_message_headers_get_encoding (headers) == SOUP_ENCODING_CONTENT_LENGTH)
    length = soup_message_headers_get_content_length (headers);
  t->length = length;
  if (b->sink == SINK_STORE && dl->size >= 0 && length >= 0 && length != dl->size)
    {
      attempt_fail (t, PULP_ERROR_CHECKSUM, TRUE,
                    _("%s: expected %lld bytes, the server announced %lld"), transfer_url (t),
                    (long long) dl->size, (long long) length);
      return;
    }
  if (b->sink == SINK_BYTES && length >= 0 && (guint64) length > b->max_size)
    {
      attempt_failed (t,
                      g_error_new (G_IO_ERROR, G_IO_ERROR_MESSAGE_TOO_LARGE,
                                   _("%s: %lld bytes, larger than the limit of %llu bytes"),
                                   transfer_url (t), (long long) length,
                                   (unsigned long long) b->max_size),
                      FALSE);
      return;
    }
  read_more (t);
}

static gboolean
on_accept_certificate (SoupMessage *msg, GTlsCertificate *certificate, GTlsCertificateFlags errors,
                       gpointer data)
{
  /* Only connected when the configuration says tls-verify=false. */
  return TRUE;
}

static gboolean
on_authenticate (SoupMessage *msg, SoupAuth *auth, gboolean retrying, gpointer data)
{
  Transfer *t = data;
  PulpDownloader *self = t->batch->self;
  GUri *target = soup_message_get_uri (msg);

  /* Rejected credentials are not tried again: the 401/407 becomes the error. */
  if (retrying)
    return FALSE;
  if (soup_auth_is_for_proxy (auth))
    {
      if (self->proxy_username == NULL)
        return FALSE;
      soup_auth_authenticate (auth, self->proxy_username, self->proxy_password);
      return TRUE;
    }
  /* The repository's credentials are for the feed's server only, not for
   * wherever a redirect leads. */
  if (self->username == NULL
      || g_ascii_strcasecmp (g_uri_get_host (target), g_uri_get_host (t->uri)) != 0
      || g_uri_get_port (target) != g_uri_get_port (t->uri))
    return FALSE;
  soup_auth_authenticate (auth, self->username, self->password != NULL ? self->password : "");
  return TRUE;
}

static void
http_start (Transfer *t)
{
  PulpDownloader *self = t->batch->self;
  SoupSession *session = t->part->worker->session;

  /* Credentials in the URL need the auth manager left out at the start. */
  if (g_uri_get_user (t->uri) != NULL
      && !soup_session_has_feature (session, SOUP_TYPE_AUTH_MANAGER))
    {
      g_autoptr (SoupSessionFeature) manager = g_object_new (SOUP_TYPE_AUTH_MANAGER, NULL);

      soup_session_add_feature (session, manager);
      soup_session_add_feature_by_type (session, SOUP_TYPE_AUTH_BASIC);
      soup_session_add_feature_by_type (session, SOUP_TYPE_AUTH_DIGEST);
    }
  g_clear_pointer (&t->redirected_url, g_free);
  t->msg = soup_message_new_from_uri (SOUP_METHOD_GET, t->uri);
  if (self->client_cert != NULL)
    soup_message_set_tls_client_certificate (t->msg, self->client_cert);
  if (!self->tls_verify)
    g_signal_connect (t->msg, "accept-certificate", G_CALLBACK (on_accept_certificate), NULL);
  /* libsoup 3.2 sends the request to the wrong URI when it restarts it after
   * a 407, so plain http requests carry the proxy credentials from the
   * start. https goes through a CONNECT tunnel that GIO authenticates from
   * the proxy URL itself; the header must not travel inside the tunnel. */
  if (self->proxy_authorization != NULL && g_strcmp0 (g_uri_get_scheme (t->uri), "http") == 0)
    soup_message_headers_replace (soup_message_get_request_headers (t->msg),
                                  "Proxy-Authorization", self->proxy_authorization);
  if (self->username != NULL || self->proxy_username != NULL)
    g_signal_connect (t->msg, "authenticate", G_CALLBACK (on_authenticate), t);
  soup_session_send_async (session, t->msg, G_PRIORITY_DEFAULT, t->cancellable, on_sent, t);
}

/* Local files are read synchronously but in rounds from an idle source, so
 * a large one neither blocks other transfers nor cancellation. */
static gboolean
file_read_cb (gpointer data)
{
  Transfer *t = data;

  for (guint i = 0; i < FILE_CHUNKS_PER_ROUND; i++)
    {
      g_autoptr (GError) error = NULL;
      gssize n = g_input_stream_read (t->in, t->buffer, BUFFER_SIZE, NULL, &error);

      if (n < 0)
        {
          transfer_clear_source (t);
          attempt_failed_with (t, error);
          return G_SOURCE_REMOVE;
        }
      if (n == 0)
        {
          transfer_clear_source (t);
          g_input_stream_close (t->in, NULL, NULL);
          g_clear_object (&t->in);
          attempt_succeeded (t);
          return G_SOURCE_REMOVE;
        }
      if (!consume (t, (gsize) n))
        return G_SOURCE_REMOVE;
    }
  return G_SOURCE_CONTINUE;
}

static void
file_start (Transfer *t)
{
  g_autoptr (GFile) file = g_file_new_for_uri (t->download->url);
  g_autoptr (GError) error = NULL;
  GFileInputStream *in;

  in = g_file_read (file, t->cancellable, &error);
  if (in == NULL)
    {
      attempt_failed_with (t, error);
      return;
    }
  t->in = G_INPUT_STREAM (in);
  t->source = g_idle_source_new ();
  g_source_set_callback (t->source, file_read_cb, t, NULL);
  g_source_attach (t->source, t->part->worker->context);
}

/* ---- temp files made ahead --------------------------------------------- */

/* Creating a file can take a millisecond or more (a busy ext4 skips every
 * recently deleted inode when it allocates one; NFS makes it a round
 * trip), even for a file without a name; done in the downloader thread, it
 * would stall every transfer in flight, 2,000 times for 2,000 small
 * packages. A helper thread opens the new files of the store ahead instead,
 * about one per transfer slot. */
typedef struct
{
  gint fd;
  gchar *path;
} SpareTemp;

/* What a worker asks the helper for: @count spares. */
typedef struct
{
  Worker *worker;
  guint count;
} SpareOrder;

static void
spare_make (gpointer data, gpointer user_data)
{
  SpareOrder *order = data;

  for (guint i = 0; i < order->count; i++)
    {
      SpareTemp *spare = g_new0 (SpareTemp, 1);

      spare->fd = pulp_content_store_open_new (order->worker->self->store, &spare->path, NULL);
      g_async_queue_push (order->worker->spares, spare);
    }
  g_free (order);
}

static void
spare_free (SpareTemp *spare)
{
  if (spare->fd >= 0)
    {
      close (spare->fd);
      /* a file without a name (O_TMPFILE) goes away with its descriptor */
      if (spare->path != NULL)
        g_unlink (spare->path);
    }
  g_free (spare->path);
  g_free (spare);
}

/* Asks for spares up to what this part of the batch can still use: about
 * two per slot, asked for a slot's worth at a time in one order, so that
 * the helper is woken once per few files rather than once per file (a
 * push per file cost a futex wake-up per file). */
static void
spares_request (Part *part)
{
  Batch *b = part->batch;
  Worker *worker = part->worker;
  guint next = (guint) g_atomic_int_get (&b->next);
  guint remaining = next < b->downloads->len ? b->downloads->len - next : 0;
  guint want = MIN (2 * part->n_slots, remaining);
  SpareOrder *order;

  if (want == 0 || worker->spares_pending > want / 2)
    return;
  order = g_new (SpareOrder, 1);
  order->worker = worker;
  order->count = want - worker->spares_pending;
  g_thread_pool_push (b->self->spare_maker, order, NULL);
  worker->spares_pending = want;
}

/* Drops the spares nobody took, waiting for those still being made. */
static void
spares_drop (Worker *worker)
{
  while (worker->spares_pending > 0)
    {
      spare_free (g_async_queue_pop (worker->spares));
      worker->spares_pending--;
    }
}

/* A temp file of the store for @t: a spare if one is ready, else made
 * here. */
static gint
take_temp (Transfer *t, gchar **path, GError **error)
{
  Worker *worker = t->part->worker;
  SpareTemp *spare = worker->spares_pending > 0 ? g_async_queue_try_pop (worker->spares) : NULL;
  gint fd = -1;

  if (spare != NULL)
    {
      worker->spares_pending--;
      if (spare->fd >= 0)
        {
          fd = spare->fd;
          *path = g_steal_pointer (&spare->path);
        }
      g_free (spare->path);
      g_free (spare);
    }
  spares_request (t->part);
  if (fd >= 0)
    return fd;
  return pulp_content_store_open_new (t->batch->self->store, path, error);
}

static void
attempt_start (Transfer *t)
{
  Batch *b = t->batch;
  g_autoptr (GError) error = NULL;

  t->received = 0;
  t->window_start = g_get_monotonic_time ();
  t->window_received = 0;
  t->written_back = 0;
  t->length = -1;
  t->retry_after_ms = 0;
  if (t->sha256 != NULL)
    pulp_digest_reset (t->sha256);
  if (t->other != NULL)
    pulp_digest_reset (t->other);

  if (b->sink == SINK_STORE)
    {
      t->fd = take_temp (t, &t->tmp_path, &error);
      if (t->fd < 0)
        {
          attempt_fail (t, PULP_ERROR_FAILED, FALSE, "%s: %s", transfer_url (t), error->message);
          return;
        }
    }
  else if (b->sink == SINK_FILE)
    {
      t->fd = g_open (b->dest_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
      if (t->fd < 0)
        {
          int saved = errno;
          attempt_fail (t, PULP_ERROR_FAILED, FALSE, _("%s: cannot write %s: %s"),
                        transfer_url (t), b->dest_path,
                        g_strerror (saved));
          return;
        }
    }
  else
    g_byte_array_set_size (b->bytes, 0);

  t->cancellable = g_cancellable_new ();
  if (t->is_file)
    file_start (t);
  else
    http_start (t);
}

static gboolean
parse_checksum_type (const gchar *name, GChecksumType *type)
{
  /* "sha" is how yum metadata spells SHA-1. */
  if (g_ascii_strcasecmp (name, "sha256") == 0)
    *type = G_CHECKSUM_SHA256;
  else if (g_ascii_strcasecmp (name, "sha1") == 0 || g_ascii_strcasecmp (name, "sha") == 0)
    *type = G_CHECKSUM_SHA1;
  else if (g_ascii_strcasecmp (name, "sha512") == 0)
    *type = G_CHECKSUM_SHA512;
  else if (g_ascii_strcasecmp (name, "sha384") == 0)
    *type = G_CHECKSUM_SHA384;
  else if (g_ascii_strcasecmp (name, "md5") == 0)
    *type = G_CHECKSUM_MD5;
  else
    return FALSE;
  return TRUE;
}

static void
transfer_begin (Transfer *t, PulpDownload *dl)
{
  Batch *b = t->batch;
  g_autoptr (GError) error = NULL;
  const gchar *scheme;

  t->download = dl;
  t->attempt = 0;
  if (t->buffer == NULL)
    t->buffer = g_malloc (BUFFER_SIZE);

  t->uri = g_uri_parse (dl->url, SOUP_HTTP_URI_FLAGS, &error);
  if (t->uri == NULL)
    {
      transfer_done (t, g_error_new (PULP_ERROR, PULP_ERROR_INVALID_ARGUMENT, "%s: %s", dl->url,
                                     error->message));
      return;
    }
  if (g_uri_get_password (t->uri) != NULL)
    t->display_url = g_uri_to_string_partial (t->uri, G_URI_HIDE_PASSWORD);
  scheme = g_uri_get_scheme (t->uri);
  t->is_file = g_strcmp0 (scheme, "file") == 0;
  if (!t->is_file && g_strcmp0 (scheme, "http") != 0 && g_strcmp0 (scheme, "https") != 0)
    {
      transfer_done (t, g_error_new (PULP_ERROR, PULP_ERROR_INVALID_ARGUMENT,
                                     _("%s: unsupported URL scheme %s"), transfer_url (t), scheme));
      return;
    }

  if (b->sink == SINK_STORE)
    {
      GChecksumType type = G_CHECKSUM_SHA256;

      if (t->sha256 == NULL)
        t->sha256 = pulp_digest_new (G_CHECKSUM_SHA256);
      if (dl->checksum != NULL && dl->checksum_type != NULL
          && !parse_checksum_type (dl->checksum_type, &type))
        {
          transfer_done (t, g_error_new (PULP_ERROR, PULP_ERROR_INVALID_ARGUMENT,
                                         _("%s: unsupported checksum type %s"), transfer_url (t),
                                         dl->checksum_type));
          return;
        }
      if (dl->checksum != NULL && dl->checksum_type != NULL && type != G_CHECKSUM_SHA256)
        t->other = pulp_digest_new (type);
      else if (dl->checksum != NULL && dl->checksum_type != NULL)
        {
          g_autofree gchar *sha256 = g_ascii_strdown (dl->checksum, -1);

          /* Content we already have is never fetched again. */
          if (pulp_content_store_has (b->self->store, sha256))
            {
              g_free (dl->path);
              dl->path = pulp_content_store_get_path (b->self->store, sha256);
              g_free (dl->sha256);
              dl->sha256 = g_steal_pointer (&sha256);
              batch_add_progress (b, 0, MAX (dl->size, 0));
              transfer_done (t, NULL);
              return;
            }
        }
    }
  attempt_start (t);
}

/* Whether every download of @b has been taken by some worker. */
static gboolean
batch_all_taken (Batch *b)
{
  return (guint) g_atomic_int_get (&b->next) >= b->downloads->len;
}

/* Starts transfers while slots of this part are free. Re-entrant calls (a
 * transfer that ends at once) return early and the outer loop carries on,
 * so 10,000 stored files do not recurse 10,000 deep. */
static void
part_pump (Part *part)
{
  Batch *b = part->batch;

  if (part->pumping || part->done)
    return;
  part->pumping = TRUE;
  while (!part->cancelled && part->active < part->n_slots && !batch_all_taken (b))
    {
      Transfer *t = NULL;
      guint index = (guint) g_atomic_int_add (&b->next, 1);

      /* another worker took the last one meanwhile */
      if (index >= b->downloads->len)
        break;
      for (guint i = 0; i < part->n_slots && t == NULL; i++)
        if (part->slots[i].download == NULL)
          t = &part->slots[i];
      g_assert (t != NULL);
      part->active++;
      transfer_begin (t, g_ptr_array_index (b->downloads, index));
    }
  part->pumping = FALSE;
  if (part->active == 0 && (part->cancelled || batch_all_taken (b)))
    part_finish (part);
}

static gboolean
part_start_cb (gpointer data)
{
  part_pump (data);
  return G_SOURCE_REMOVE;
}

static gboolean
part_cancel_cb (gpointer data)
{
  Part *part = data;

  if (part->done || part->cancelled)
    return G_SOURCE_REMOVE;
  part->cancelled = TRUE;
  part->pumping = TRUE;
  for (guint i = 0; i < part->n_slots; i++)
    {
      Transfer *t = &part->slots[i];

      if (t->download == NULL)
        continue;
      if (t->source != NULL)
        {
          /* Waiting for a retry, or a file:// reader between rounds. */
          transfer_clear_source (t);
          attempt_failed (t, g_error_new_literal (PULP_ERROR, PULP_ERROR_CANCELLED, _("cancelled")),
                          FALSE);
        }
      else if (t->cancellable != NULL)
        {
          /* The pending operation ends with G_IO_ERROR_CANCELLED, maybe at
           * once from inside this call. */
          g_autoptr (GCancellable) cancellable = g_object_ref (t->cancellable);
          g_cancellable_cancel (cancellable);
        }
    }
  part->pumping = FALSE;
  part_pump (part);
  return G_SOURCE_REMOVE;
}

static void
part_unref_batch (gpointer data)
{
  batch_unref (((Part *) data)->batch);
}

/* Runs @func on each part in its worker's thread. */
static void
batch_invoke (Batch *b, gint priority, GSourceFunc func)
{
  for (guint p = 0; p < b->n_parts; p++)
    {
      GSource *source = g_idle_source_new ();

      g_source_set_priority (source, priority);
      g_source_set_callback (source, func, &b->parts[p], part_unref_batch);
      batch_ref (b);
      g_source_attach (source, b->parts[p].worker->context);
      g_source_unref (source);
    }
}

static void
on_caller_cancelled (GCancellable *cancellable, gpointer data)
{
  /* Any thread: each part belongs to its worker's thread. */
  batch_invoke (data, G_PRIORITY_HIGH, part_cancel_cb);
}

/* Hands @b to the workers. */
static void
batch_start (Batch *b, GCancellable *cancellable)
{
  batch_invoke (b, G_PRIORITY_DEFAULT, part_start_cb);
  if (cancellable != NULL)
    {
      b->cancellable = g_object_ref (cancellable);
      b->cancel_handler = g_cancellable_connect (cancellable, G_CALLBACK (on_caller_cancelled),
                                                 batch_ref (b), batch_unref);
    }
}

/* Once cancelled, every transfer ends at once and counts as done, and the
 * bytes of those cut short are taken back: reported, that would make the
 * file count jump to the end and the byte count go back. The last
 * progress before the cancel stands instead. */
static gboolean
batch_cancelled (Batch *b)
{
  return b->cancellable != NULL && g_cancellable_is_cancelled (b->cancellable);
}

/* Waits in the calling thread for @b to end, calling @progress every
 * PROGRESS_INTERVAL_US when something changed, and once at the end
 * unless cancelled. */
static void
batch_wait (Batch *b, PulpDownloadProgressFunc progress, gpointer user_data)
{
  gboolean cancelled;
  guint64 files_total = b->downloads->len;
  guint64 files_seen = G_MAXUINT64;
  guint64 bytes_seen = G_MAXUINT64;
  guint64 files_done;
  guint64 bytes_done;

  g_mutex_lock (&b->mutex);
  while (!b->finished)
    {
      gint64 deadline;

      if (progress == NULL)
        {
          g_cond_wait (&b->cond, &b->mutex);
          continue;
        }
      deadline = g_get_monotonic_time () + PROGRESS_INTERVAL_US;
      while (!b->finished && g_cond_wait_until (&b->cond, &b->mutex, deadline))
        ;
      if (b->finished)
        break;
      files_done = b->files_done;
      bytes_done = b->bytes_done;
      if ((files_done != files_seen || bytes_done != bytes_seen) && !batch_cancelled (b))
        {
          files_seen = files_done;
          bytes_seen = bytes_done;
          g_mutex_unlock (&b->mutex);
          progress (files_done, files_total, bytes_done, b->bytes_total, user_data);
          g_mutex_lock (&b->mutex);
        }
    }
  files_done = b->files_done;
  bytes_done = b->bytes_done;
  g_mutex_unlock (&b->mutex);

  cancelled = batch_cancelled (b);
  if (b->cancellable != NULL)
    {
      g_cancellable_disconnect (b->cancellable, b->cancel_handler);
      g_clear_object (&b->cancellable);
    }
  if (progress != NULL && !cancelled)
    progress (files_done, files_total, bytes_done, b->bytes_total, user_data);
}

/* Runs @b in the workers' threads and waits for it in the calling thread. */
static void
batch_run (Batch *b, GCancellable *cancellable)
{
  batch_start (b, cancellable);
  batch_wait (b, NULL, NULL);
}

/* ---- write-back ------------------------------------------------------- */

static void
writeback_run (gpointer data, gpointer user_data)
{
  PulpDownloader *self = user_data;
  g_autoptr (GError) error = NULL;

  /* The commit syncs again and reports what fails. */
  if (!pulp_content_store_sync (self->store, &error))
    g_debug ("early write-back: %s", error->message);
}

/* Starts writing what the store received to disk, in the background, when
 * a batch starts: the files of the earlier batches are written while it
 * downloads, and the syncfs() before the commit finds only the last batch
 * left to write instead of every file of the sync (0.15-0.3 s for 10,000
 * small files). After the last batch the commit's own syncfs() does the
 * writing: one more running next to it gains nothing (and a sync of one
 * batch of 20 files of 50 MiB looked slower with it). The store skips the
 * syncfs() when it has stored nothing since the last one (the first batch
 * of a sync, usually). One runs at a time; one more may wait. */
static void
start_writeback (PulpDownloader *self)
{
  if (g_thread_pool_unprocessed (self->writeback) == 0)
    g_thread_pool_push (self->writeback, GINT_TO_POINTER (1), NULL);
}

/* ---- the object -------------------------------------------------------- */

static gpointer
worker_thread (gpointer data)
{
  Worker *worker = data;
  PulpDownloader *self = worker->self;
  guint max_conns = MAX (worker->max_slots * 2, 10);

  g_main_context_push_thread_default (worker->context);

  /* Configured completely before its first request. */
  worker->session = soup_session_new_with_options (
      "max-conns", max_conns, "max-conns-per-host", worker->max_slots, "timeout", self->timeout_s,
      "user-agent", "pulpd/" PACKAGE_VERSION, NULL);
  if (self->proxy_resolver != NULL)
    soup_session_set_proxy_resolver (worker->session, self->proxy_resolver);
  if (self->tls_database != NULL)
    soup_session_set_tls_database (worker->session, self->tls_database);
  /* We store exactly the bytes upstream publishes: a .gz file served with
   * Content-Encoding: gzip must not be decompressed on the way. */
  soup_session_remove_feature_by_type (worker->session, SOUP_TYPE_CONTENT_DECODER);
  /* The auth manager hooks into every message (status handlers connected
   * and disconnected per request), a measurable part of the work per small
   * file: without credentials it has nothing to do. A URL with credentials
   * brings it back (see http_start()). */
  if (self->username == NULL && self->proxy_username == NULL)
    soup_session_remove_feature_by_type (worker->session, SOUP_TYPE_AUTH_MANAGER);

  g_main_loop_run (worker->loop);

  soup_session_abort (worker->session);
  g_clear_object (&worker->session);
  while (g_main_context_iteration (worker->context, FALSE))
    ;
  g_main_context_pop_thread_default (worker->context);
  return NULL;
}

static gboolean
worker_quit_cb (gpointer data)
{
  Worker *worker = data;

  g_main_loop_quit (worker->loop);
  return G_SOURCE_REMOVE;
}

static void
pulp_downloader_finalize (GObject *object)
{
  PulpDownloader *self = PULP_DOWNLOADER (object);

  for (guint i = 0; i < self->n_workers; i++)
    {
      Worker *worker = &self->workers[i];

      if (worker->thread != NULL)
        {
          /* Through the context: a worker never used may not have
           * reached g_main_loop_run() yet, and would miss a direct quit. */
          GSource *source = g_idle_source_new ();

          g_source_set_callback (source, worker_quit_cb, worker, NULL);
          g_source_attach (source, worker->context);
          g_source_unref (source);
          g_thread_join (worker->thread);
        }
    }
  /* waits for the spares being made and a write-back that runs */
  if (self->spare_maker != NULL)
    g_thread_pool_free (self->spare_maker, FALSE, TRUE);
  if (self->writeback != NULL)
    g_thread_pool_free (self->writeback, FALSE, TRUE);
  for (guint i = 0; i < self->n_workers; i++)
    {
      Worker *worker = &self->workers[i];

      spares_drop (worker);
      g_clear_pointer (&worker->spares, g_async_queue_unref);
      g_clear_pointer (&worker->loop, g_main_loop_unref);
      g_clear_pointer (&worker->context, g_main_context_unref);
    }
  g_free (self->workers);
  g_clear_object (&self->store);
  g_clear_object (&self->tls_database);
  g_clear_object (&self->client_cert);
  g_clear_object (&self->proxy_resolver);
  g_free (self->proxy_username);
  g_free (self->proxy_password);
  g_free (self->proxy_authorization);
  g_free (self->username);
  g_free (self->password);
  G_OBJECT_CLASS (pulp_downloader_parent_class)->finalize (object);
}

static void
pulp_downloader_class_init (PulpDownloaderClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = pulp_downloader_finalize;
}

static void
pulp_downloader_init (PulpDownloader *self)
{
  self->concurrency = DEFAULT_CONCURRENCY;
  self->max_retries = DEFAULT_MAX_RETRIES;
  self->retry_base_ms = DEFAULT_RETRY_BASE_MS;
  self->timeout_s = DEFAULT_TIMEOUT_S;
  self->tls_verify = TRUE;
}

/* One worker per CPU: beyond that threads only take turns. */
static guint
default_workers (void)
{
  return CLAMP (g_get_num_processors (), 1, MAX_WORKERS);
}

/* The value of @key if present; an error if it has another type. */
static gboolean
lookup (GVariant *config, const gchar *key, const GVariantType *type, GVariant **value,
        GError **error)
{
  *value = config != NULL ? g_variant_lookup_value (config, key, NULL) : NULL;
  if (*value != NULL && !g_variant_is_of_type (*value, type))
    {
      g_set_error (error, PULP_ERROR, PULP_ERROR_INVALID_ARGUMENT,
                   _("Configuration key %s must be of type %.*s"), key,
                   (int) g_variant_type_get_string_length (type),
                   g_variant_type_peek_string (type));
      g_clear_pointer (value, g_variant_unref);
      return FALSE;
    }
  return TRUE;
}

static gboolean
lookup_string (GVariant *config, const gchar *key, gchar **out, GError **error)
{
  g_autoptr (GVariant) value = NULL;

  if (!lookup (config, key, G_VARIANT_TYPE_STRING, &value, error))
    return FALSE;
  if (value != NULL && *g_variant_get_string (value, NULL) != '\0')
    *out = g_variant_dup_string (value, NULL);
  return TRUE;
}

static guint
env_uint (const gchar *name, guint fallback)
{
  const gchar *value = g_getenv (name);
  guint64 n;

  if (value == NULL || !g_ascii_string_to_unsigned (value, 10, 1, G_MAXUINT, &n, NULL))
    return fallback;
  return (guint) n;
}

static gboolean
configure_proxy (PulpDownloader *self, const gchar *proxy, GError **error)
{
  g_autoptr (GUri) uri = g_uri_parse (proxy, G_URI_FLAGS_HAS_PASSWORD, NULL);
  g_autofree gchar *credentials = NULL;
  g_autofree gchar *encoded = NULL;

  /* Never echo the setting: it may hold a password. */
  if (uri == NULL || g_uri_get_host (uri) == NULL)
    {
      g_set_error_literal (error, PULP_ERROR, PULP_ERROR_INVALID_ARGUMENT,
                           _("The proxy setting is not a valid URL"));
      return FALSE;
    }
  if (g_uri_get_user (uri) != NULL)
    {
      self->proxy_username = g_uri_unescape_string (g_uri_get_user (uri), NULL);
      self->proxy_password = g_uri_get_password (uri) != NULL
                                 ? g_uri_unescape_string (g_uri_get_password (uri), NULL)
                                 : g_strdup ("");
      credentials = g_strdup_printf ("%s:%s", self->proxy_username, self->proxy_password);
      encoded = g_base64_encode ((const guchar *) credentials, strlen (credentials));
      self->proxy_authorization = g_strdup_printf ("Basic %s", encoded);
      explicit_bzero (credentials, strlen (credentials));
    }
  self->proxy_resolver = g_simple_proxy_resolver_new (proxy, NULL);
  return TRUE;
}

/**
 * pulp_downloader_new:
 * @store: where downloads go
 * @config: (nullable): an `a{sv}` with the download keys of a repository's
 *   configuration (`download-concurrency`, `max-retries`, `tls-verify`,
 *   `ca-cert`, `client-cert`, `client-key`, `proxy`, `username`,
 *   `password`); other keys are ignored
 *
 * Creates a downloader and its network threads. The environment variables
 * `PULP_RETRY_BASE_MS` (first retry delay, default 200) and
 * `PULP_DOWNLOAD_TIMEOUT_S` (connect and read timeout, default 30) exist for
 * tests, and `PULP_DOWNLOAD_THREADS` (how many network threads, default one
 * per CPU up to 4) for benchmarks.
 *
 * Returns: (transfer full): a new #PulpDownloader, or %NULL with
 * %PULP_ERROR_INVALID_ARGUMENT if a value is unusable
 */
PulpDownloader *
pulp_downloader_new (PulpContentStore *store, GVariant *config, GError **error)
{
  g_autoptr (PulpDownloader) self = NULL;
  g_autoptr (GVariant) value = NULL;
  g_autofree gchar *ca_cert = NULL;
  g_autofree gchar *client_cert = NULL;
  g_autofree gchar *client_key = NULL;
  g_autofree gchar *proxy = NULL;
  g_autoptr (GError) local_error = NULL;

  g_return_val_if_fail (PULP_IS_CONTENT_STORE (store), NULL);
  g_return_val_if_fail (config == NULL || g_variant_is_of_type (config, G_VARIANT_TYPE_VARDICT),
                        NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  self = g_object_new (PULP_TYPE_DOWNLOADER, NULL);
  self->store = g_object_ref (store);
  self->retry_base_ms = env_uint ("PULP_RETRY_BASE_MS", DEFAULT_RETRY_BASE_MS);
  self->timeout_s = env_uint ("PULP_DOWNLOAD_TIMEOUT_S", DEFAULT_TIMEOUT_S);

  if (!lookup (config, "download-concurrency", G_VARIANT_TYPE_UINT32, &value, error))
    return NULL;
  if (value != NULL)
    {
      guint n = g_variant_get_uint32 (value);
      if (n == 0 || n > MAX_CONCURRENCY)
        {
          g_set_error (error, PULP_ERROR, PULP_ERROR_INVALID_ARGUMENT,
                       _("download-concurrency must be between 1 and %u, not %u"), MAX_CONCURRENCY,
                       n);
          return NULL;
        }
      self->concurrency = n;
    }
  g_clear_pointer (&value, g_variant_unref);
  if (!lookup (config, "max-retries", G_VARIANT_TYPE_UINT32, &value, error))
    return NULL;
  if (value != NULL)
    self->max_retries = MIN (g_variant_get_uint32 (value), 20);
  g_clear_pointer (&value, g_variant_unref);
  if (!lookup (config, "tls-verify", G_VARIANT_TYPE_BOOLEAN, &value, error))
    return NULL;
  if (value != NULL)
    self->tls_verify = g_variant_get_boolean (value);
  g_clear_pointer (&value, g_variant_unref);

  if (!lookup_string (config, "ca-cert", &ca_cert, error)
      || !lookup_string (config, "client-cert", &client_cert, error)
      || !lookup_string (config, "client-key", &client_key, error)
      || !lookup_string (config, "proxy", &proxy, error)
      || !lookup_string (config, "username", &self->username, error)
      || !lookup_string (config, "password", &self->password, error))
    return NULL;

  if (ca_cert != NULL)
    {
      self->tls_database = g_tls_file_database_new (ca_cert, &local_error);
      if (self->tls_database == NULL)
        {
          g_set_error (error, PULP_ERROR, PULP_ERROR_INVALID_ARGUMENT,
                       _("Cannot use the CA certificate file %s: %s"), ca_cert,
                       local_error->message);
          return NULL;
        }
    }
  if (client_cert != NULL)
    {
      if (client_key != NULL)
        self->client_cert
            = g_tls_certificate_new_from_files (client_cert, client_key, &local_error);
      else
        self->client_cert = g_tls_certificate_new_from_file (client_cert, &local_error);
      if (self->client_cert == NULL)
        {
          if (client_key != NULL)
            g_set_error (error, PULP_ERROR, PULP_ERROR_INVALID_ARGUMENT,
                         _("Cannot use the client certificate %s with the key %s: %s"),
                         client_cert, client_key, local_error->message);
          else
            g_set_error (error, PULP_ERROR, PULP_ERROR_INVALID_ARGUMENT,
                         _("Cannot use the client certificate %s: %s"), client_cert,
                         local_error->message);
          return NULL;
        }
    }
  else if (client_key != NULL)
    {
      g_set_error (error, PULP_ERROR, PULP_ERROR_INVALID_ARGUMENT,
                   _("client-key %s is set without client-cert"), client_key);
      return NULL;
    }
  if (proxy != NULL && !configure_proxy (self, proxy, error))
    return NULL;

  self->spare_maker = g_thread_pool_new (spare_make, self, 1, FALSE, error);
  if (self->spare_maker != NULL)
    self->writeback = g_thread_pool_new (writeback_run, self, 1, FALSE, error);
  if (self->spare_maker == NULL || self->writeback == NULL)
    {
      pulp_error_convert (error);
      return NULL;
    }
  self->n_workers = MIN (self->concurrency, env_uint ("PULP_DOWNLOAD_THREADS", default_workers ()));
  self->workers = g_new0 (Worker, self->n_workers);
  for (guint i = 0; i < self->n_workers; i++)
    {
      Worker *worker = &self->workers[i];

      worker->self = self;
      worker->max_slots = (self->concurrency + self->n_workers - 1) / self->n_workers;
      worker->spares = g_async_queue_new ();
      worker->context = g_main_context_new ();
      worker->loop = g_main_loop_new (worker->context, FALSE);
    }
  for (guint i = 0; i < self->n_workers; i++)
    {
      self->workers[i].thread
          = g_thread_try_new ("pulp-download", worker_thread, &self->workers[i], error);
      if (self->workers[i].thread == NULL)
        {
          pulp_error_convert (error);
          return NULL;
        }
    }
  return g_steal_pointer (&self);
}

/* A batch of one download of @url, for fetch_bytes() and fetch_file();
 * %NULL if @cancellable is already cancelled. */
static Batch *
single_new (PulpDownloader *self, SinkKind sink, const gchar *url, GCancellable *cancellable,
            GError **error)
{
  g_autoptr (GPtrArray) downloads = NULL;

  if (g_cancellable_set_error_if_cancelled (cancellable, error))
    {
      pulp_error_convert (error);
      return NULL;
    }
  downloads = g_ptr_array_new_with_free_func ((GDestroyNotify) pulp_download_free);
  g_ptr_array_add (downloads, pulp_download_new (url, NULL, NULL, -1));
  return batch_new (self, sink, downloads);
}

/* Runs a batch of single_new(): %FALSE with the download's error, or
 * %PULP_ERROR_CANCELLED. */
static gboolean
single_run (Batch *b, const gchar *url, GCancellable *cancellable, GError **error)
{
  PulpDownload *dl = g_ptr_array_index (b->downloads, 0);

  batch_run (b, cancellable);
  if (dl->error != NULL)
    {
      g_propagate_error (error, g_steal_pointer (&dl->error));
      return FALSE;
    }
  if (b->cancelled)
    {
      g_autofree gchar *shown = pulp_url_for_display (url);
      g_set_error (error, PULP_ERROR, PULP_ERROR_CANCELLED, _("%s: cancelled"), shown);
      return FALSE;
    }
  return TRUE;
}

/**
 * pulp_downloader_fetch_bytes:
 * @url: what to fetch
 * @max_size: the largest body accepted
 *
 * Fetches a (small) document into memory, retrying transient failures.
 * Blocks; call it from a worker thread.
 *
 * Returns: (transfer full): the body, or %NULL; %G_IO_ERROR_MESSAGE_TOO_LARGE
 *   when it is larger than @max_size
 */
GBytes *
pulp_downloader_fetch_bytes (PulpDownloader *self,
                             const gchar *url,
                             gsize max_size,
                             GCancellable *cancellable,
                             GError **error)
{
  Batch *b;
  GBytes *bytes = NULL;

  g_return_val_if_fail (PULP_IS_DOWNLOADER (self), NULL);
  g_return_val_if_fail (url != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  b = single_new (self, SINK_BYTES, url, cancellable, error);
  if (b == NULL)
    return NULL;
  b->max_size = max_size;
  b->bytes = g_byte_array_new ();
  if (single_run (b, url, cancellable, error))
    bytes = g_byte_array_free_to_bytes (g_steal_pointer (&b->bytes));
  batch_unref (b);
  return bytes;
}

/**
 * pulp_downloader_fetch_file:
 * @url: what to fetch
 * @dest_path: where to write it (replaced)
 *
 * Streams a (large) document to a file, retrying transient failures; on
 * failure @dest_path is removed. Blocks; call it from a worker thread.
 *
 * Returns: %TRUE on success; a failure to write @dest_path is a
 * %G_IO_ERROR (%G_IO_ERROR_NO_SPACE when the disk is full), any other a
 * %PULP_ERROR
 */
gboolean
pulp_downloader_fetch_file (PulpDownloader *self,
                            const gchar *url,
                            const gchar *dest_path,
                            GCancellable *cancellable,
                            GError **error)
{
  Batch *b;
  gboolean ok;

  g_return_val_if_fail (PULP_IS_DOWNLOADER (self), FALSE);
  g_return_val_if_fail (url != NULL, FALSE);
  g_return_val_if_fail (dest_path != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  b = single_new (self, SINK_FILE, url, cancellable, error);
  if (b == NULL)
    return FALSE;
  b->dest_path = dest_path;
  ok = single_run (b, url, cancellable, error);
  batch_unref (b);
  return ok;
}

/**
 * PulpDownloadJob:
 *
 * Downloads into the content store that run while the caller does something
 * else; see pulp_downloader_start_to_store().
 */
struct _PulpDownloadJob
{
  GPtrArray *downloads;
  Batch *batch; /* NULL if there was nothing to do */
  gboolean cancelled;
};

/**
 * pulp_downloader_start_to_store:
 * @downloads: (element-type PulpDownload): what to fetch; kept (and
 *   changed) until pulp_downloader_finish_to_store()
 *
 * Starts what pulp_downloader_fetch_to_store() does and returns at once, so
 * that the caller can work (save the previous batch, say) while the files
 * arrive. Only one job of a downloader should run at a time: two would
 * have twice `download-concurrency` transfers in flight. Every job must be
 * finished with pulp_downloader_finish_to_store().
 *
 * Returns: (transfer full): the running job
 */
PulpDownloadJob *
pulp_downloader_start_to_store (PulpDownloader *self,
                                GPtrArray *downloads,
                                GCancellable *cancellable)
{
  PulpDownloadJob *job;
  guint64 bytes_total = 0;

  g_return_val_if_fail (PULP_IS_DOWNLOADER (self), NULL);
  g_return_val_if_fail (downloads != NULL, NULL);

  job = g_new0 (PulpDownloadJob, 1);
  job->downloads = g_ptr_array_ref (downloads);
  for (guint i = 0; i < downloads->len; i++)
    {
      PulpDownload *dl = g_ptr_array_index (downloads, i);

      g_return_val_if_fail (dl != NULL && dl->url != NULL, job);
      g_clear_pointer (&dl->sha256, g_free);
      g_clear_pointer (&dl->path, g_free);
      g_clear_error (&dl->error);
      dl->fetched = FALSE;
      bytes_total += (guint64) MAX (dl->size, 0);
    }
  job->cancelled = g_cancellable_is_cancelled (cancellable);
  if (downloads->len == 0 || job->cancelled)
    return job;
  start_writeback (self);
  job->batch = batch_new (self, SINK_STORE, downloads);
  job->batch->bytes_total = bytes_total;
  batch_start (job->batch, cancellable);
  return job;
}

/**
 * pulp_downloader_finish_to_store:
 * @job: (transfer full): from pulp_downloader_start_to_store()
 * @progress: (nullable): called in this thread, at most every 50 ms and
 *   once at the end
 *
 * Waits for @job to end and frees it. The result is that of
 * pulp_downloader_fetch_to_store().
 *
 * Returns: %TRUE if every download succeeded
 */
gboolean
pulp_downloader_finish_to_store (PulpDownloader *self,
                                 PulpDownloadJob *job,
                                 PulpDownloadProgressFunc progress,
                                 gpointer user_data,
                                 GError **error)
{
  g_autoptr (GPtrArray) downloads = NULL;
  g_autoptr (GString) summary = NULL;
  g_autoptr (GError) first_code = NULL;
  const GError *first = NULL;
  guint failed = 0;
  gboolean cancelled;

  g_return_val_if_fail (PULP_IS_DOWNLOADER (self), FALSE);
  g_return_val_if_fail (job != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  downloads = g_steal_pointer (&job->downloads);
  cancelled = job->cancelled;
  if (job->batch != NULL)
    {
      batch_wait (job->batch, progress, user_data);
      cancelled = job->batch->cancelled;
      batch_unref (job->batch);
    }
  else if (progress != NULL && downloads->len == 0)
    progress (0, 0, 0, 0, user_data);
  g_free (job);
  if (downloads->len == 0)
    return TRUE;

  for (guint i = 0; i < downloads->len; i++)
    {
      PulpDownload *dl = g_ptr_array_index (downloads, i);

      if (dl->error == NULL && dl->path == NULL)
        {
          g_autofree gchar *shown = pulp_url_for_display (dl->url);
          dl->error = g_error_new (PULP_ERROR, PULP_ERROR_CANCELLED, _("%s: cancelled"), shown);
        }
      if (dl->error == NULL)
        continue;
      failed++;
      if (first == NULL)
        first = dl->error;
      if (failed <= ERRORS_IN_SUMMARY)
        {
          if (summary == NULL)
            summary = g_string_new (NULL);
          else
            g_string_append (summary, "; ");
          g_string_append (summary, dl->error->message);
        }
    }
  if (failed == 0)
    return TRUE;
  if (cancelled)
    {
      g_set_error (error, PULP_ERROR, PULP_ERROR_CANCELLED,
                   _("Downloads cancelled, %u of %u not done"), failed, downloads->len);
      return FALSE;
    }
  if (failed > ERRORS_IN_SUMMARY)
    g_string_append (summary, "; …");
  /* a failed write is a G_IO_ERROR (see attempt_fail_write()) */
  first_code = g_error_copy (first);
  pulp_error_convert (&first_code);
  g_set_error (error, PULP_ERROR, first_code->code, _("%u of %u downloads failed: %s"), failed,
               downloads->len, summary->str);
  return FALSE;
}

/**
 * pulp_downloader_fetch_to_store:
 * @downloads: (element-type PulpDownload): what to fetch
 * @progress: (nullable): called in this thread, at most every 50 ms and
 *   once at the end
 *
 * Fetches every download into the content store, `download-concurrency` at
 * a time, verifying declared sizes and digests. Content whose declared
 * sha256 is already stored is not fetched. A failed download does not stop
 * the others: each #PulpDownload gets its @sha256 and @path, or its @error:
 * a %G_IO_ERROR when writing it failed (%G_IO_ERROR_NO_SPACE when the disk
 * is full), a %PULP_ERROR otherwise. Stored files stay even when others
 * fail or the call is cancelled. Blocks; call it from a worker thread.
 *
 * Returns: %TRUE if every download succeeded; otherwise %FALSE with a
 * %PULP_ERROR that has the code of the first failed download (see
 * pulp_error_convert()) and names the first few
 */
gboolean
pulp_downloader_fetch_to_store (PulpDownloader *self,
                                GPtrArray *downloads,
                                PulpDownloadProgressFunc progress,
                                gpointer user_data,
                                GCancellable *cancellable,
                                GError **error)
{
  g_return_val_if_fail (PULP_IS_DOWNLOADER (self), FALSE);
  g_return_val_if_fail (downloads != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  return pulp_downloader_finish_to_store (
      self, pulp_downloader_start_to_store (self, downloads, cancellable), progress, user_data,
      error);
}
