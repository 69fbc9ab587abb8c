/* SPDX-License-Identifier: LGPL-2.1-or-later */
#define G_LOG_DOMAIN "TestDownloader"

#include <glib/gstdio.h>
#include <libsoup/soup.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include "pulp-downloader.h"
#include "pulp-error.h"

/* ---- a real HTTP(S) server on 127.0.0.1, in its own thread ------------- */

typedef enum
{
  ROUTE_BODY,     /* `status` for the first `fail_count` requests, then 200 + body */
  ROUTE_TRUNCATE, /* announces the whole body, sends half, closes */
  ROUTE_RESET,    /* sends half the body, then a TCP reset */
  ROUTE_STALL,    /* reads the request and never answers */
  ROUTE_REDIRECT, /* 302 to `target` */
  ROUTE_AUTH,     /* body only with basic auth user:secret */
  ROUTE_PAUSE,    /* never answers, but keeps the message (for cancellation) */
  ROUTE_HUGE,     /* announces 1 GiB (or, with `status` 1, no length), sends the body, stalls */
  ROUTE_DRIP,     /* announces 1 MiB, sends 16 bytes every 200 ms */
} RouteKind;

typedef struct
{
  RouteKind kind;
  guint status;
  guint fail_count;
  GBytes *body;
  gchar *target;
} Route;

typedef struct
{
  GThread *thread;
  GMainContext *context;
  GMainLoop *loop;
  SoupServer *server;
  GTlsCertificate *certificate;
  GTlsDatabase *client_ca; /* when set, a client certificate is required */
  gboolean is_proxy;       /* answers 407 unless Proxy-Authorization is right */
  gchar *base;
  GMutex lock;
  GCond cond;
  gboolean ready;
  GHashTable *routes; /* path → Route */
  GHashTable *hits;   /* path → count */
  GHashTable *ports;  /* client ports seen: one per connection */
  GPtrArray *held;    /* stolen connections kept open */
} TestServer;

static void
route_free (gpointer data)
{
  Route *r = data;
  g_clear_pointer (&r->body, g_bytes_unref);
  g_free (r->target);
  g_free (r);
}

static void
write_head_and_half (GIOStream *stream, GBytes *body)
{
  gsize len;
  const gchar *data = g_bytes_get_data (body, &len);
  g_autofree gchar *head
      = g_strdup_printf ("HTTP/1.1 200 OK\r\nContent-Length: %" G_GSIZE_FORMAT "\r\n\r\n", len);
  GOutputStream *out = g_io_stream_get_output_stream (stream);

  g_output_stream_write_all (out, head, strlen (head), NULL, NULL, NULL);
  g_output_stream_write_all (out, data, len / 2, NULL, NULL, NULL);
  g_output_stream_flush (out, NULL, NULL);
}

static gboolean
drip_cb (gpointer data)
{
  GOutputStream *out = g_io_stream_get_output_stream (data);

  return g_output_stream_write_all (out, "0123456789abcdef", 16, NULL, NULL, NULL)
             && g_output_stream_flush (out, NULL, NULL)
           ? G_SOURCE_CONTINUE
           : G_SOURCE_REMOVE;
}

static void
server_handler (SoupServer *server,
                SoupServerMessage *msg,
                const char *path,
                GHashTable *query,
                gpointer data)
{
  TestServer *s = data;
  SoupMessageHeaders *request = soup_server_message_get_request_headers (msg);
  Route *route;
  guint n;

  if (s->is_proxy)
    {
      const gchar *auth = soup_message_headers_get_one (request, "Proxy-Authorization");
      g_autofree gchar *expected = NULL;
      g_autofree gchar *creds = g_base64_encode ((const guchar *) "proxyuser:proxypass", 19);

      expected = g_strdup_printf ("Basic %s", creds);
      if (g_strcmp0 (auth, expected) != 0)
        {
          soup_message_headers_append (soup_server_message_get_response_headers (msg),
                                       "Proxy-Authenticate", "Basic realm=\"proxy\"");
          soup_server_message_set_status (msg, SOUP_STATUS_PROXY_UNAUTHORIZED, NULL);
          return;
        }
    }

  g_mutex_lock (&s->lock);
  g_hash_table_add (s->ports,
                    GUINT_TO_POINTER (g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (
                        soup_server_message_get_remote_address (msg)))));
  n = GPOINTER_TO_UINT (g_hash_table_lookup (s->hits, path)) + 1;
  g_hash_table_insert (s->hits, g_strdup (path), GUINT_TO_POINTER (n));
  route = g_hash_table_lookup (s->routes, path);
  g_mutex_unlock (&s->lock);

  if (route == NULL)
    {
      soup_server_message_set_status (msg, SOUP_STATUS_NOT_FOUND, NULL);
      return;
    }
  switch (route->kind)
    {
    case ROUTE_BODY:
      if (n <= route->fail_count)
        soup_server_message_set_status (msg, route->status, NULL);
      else
        {
          soup_server_message_set_status (msg, SOUP_STATUS_OK, NULL);
          soup_message_body_append_bytes (soup_server_message_get_response_body (msg), route->body);
        }
      break;
    case ROUTE_AUTH:
      {
        const gchar *auth = soup_message_headers_get_one (request, "Authorization");
        g_autofree gchar *creds = g_base64_encode ((const guchar *) "user:secret", 11);
        g_autofree gchar *expected = g_strdup_printf ("Basic %s", creds);

        if (g_strcmp0 (auth, expected) != 0)
          {
            soup_message_headers_append (soup_server_message_get_response_headers (msg),
                                         "WWW-Authenticate", "Basic realm=\"test\"");
            soup_server_message_set_status (msg, SOUP_STATUS_UNAUTHORIZED, NULL);
          }
        else
          {
            soup_server_message_set_status (msg, SOUP_STATUS_OK, NULL);
            soup_message_body_append_bytes (soup_server_message_get_response_body (msg),
                                            route->body);
          }
        break;
      }
    case ROUTE_REDIRECT:
      soup_server_message_set_redirect (msg, SOUP_STATUS_FOUND, route->target);
      break;
    case ROUTE_HUGE:
      {
        g_autoptr (GIOStream) stream = soup_server_message_steal_connection (msg);
        GOutputStream *out = g_io_stream_get_output_stream (stream);
        const gchar *head = route->status == 1
                                ? "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n"
                                : "HTTP/1.1 200 OK\r\nContent-Length: 1073741824\r\n\r\n";
        gsize len;
        const gchar *data = g_bytes_get_data (route->body, &len);

        g_output_stream_write_all (out, head, strlen (head), NULL, NULL, NULL);
        g_output_stream_write_all (out, data, len, NULL, NULL, NULL);
        g_ptr_array_add (s->held, g_steal_pointer (&stream));
        break;
      }
    case ROUTE_DRIP:
      {
        g_autoptr (GIOStream) stream = soup_server_message_steal_connection (msg);
        const gchar *head = "HTTP/1.1 200 OK\r\nContent-Length: 1048576\r\n\r\n";
        g_autoptr (GSource) drip = g_timeout_source_new (200);

        g_output_stream_write_all (g_io_stream_get_output_stream (stream), head, strlen (head),
                                   NULL, NULL, NULL);
        g_source_set_callback (drip, drip_cb, g_object_ref (stream), g_object_unref);
        g_source_attach (drip, g_main_context_get_thread_default ());
        g_ptr_array_add (s->held, g_steal_pointer (&stream));
        break;
      }
    case ROUTE_TRUNCATE:
    case ROUTE_RESET:
    case ROUTE_STALL:
      {
        GSocket *socket = soup_server_message_get_socket (msg);
        g_autoptr (GIOStream) stream = soup_server_message_steal_connection (msg);

        if (route->kind == ROUTE_STALL)
          {
            g_ptr_array_add (s->held, g_steal_pointer (&stream));
            break;
          }
        write_head_and_half (stream, route->body);
        if (route->kind == ROUTE_RESET)
          {
            struct linger linger = { 1, 0 };
            setsockopt (g_socket_get_fd (socket), SOL_SOCKET, SO_LINGER, &linger, sizeof linger);
          }
        g_io_stream_close (stream, NULL, NULL);
        break;
      }
    case ROUTE_PAUSE:
      soup_server_message_pause (msg);
      break;
    }
}

/* SoupServer 3.2 refuses every client certificate unless a handler accepts
 * it; accept those the test CA vouches for. */
static gboolean
on_client_certificate (SoupServerMessage *msg,
                       GTlsCertificate *certificate,
                       GTlsCertificateFlags errors,
                       gpointer data)
{
  return errors == 0;
}

static void
on_request_started (SoupServer *server, SoupServerMessage *msg, gpointer data)
{
  g_signal_connect (msg, "accept-certificate", G_CALLBACK (on_client_certificate), NULL);
}

static gpointer
server_thread (gpointer data)
{
  TestServer *s = data;
  g_autoptr (GError) error = NULL;
  g_autoptr (GInetAddress) loopback = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr (GSocketAddress) address = g_inet_socket_address_new (loopback, 0);
  GSList *uris;

  g_main_context_push_thread_default (s->context);
  s->server = soup_server_new ("tls-certificate", s->certificate, "tls-database", s->client_ca,
                               "tls-auth-mode",
                               s->client_ca != NULL ? G_TLS_AUTHENTICATION_REQUIRED
                                                    : G_TLS_AUTHENTICATION_NONE,
                               NULL);
  soup_server_add_handler (s->server, NULL, server_handler, s, NULL);
  g_signal_connect (s->server, "request-started", G_CALLBACK (on_request_started), NULL);
  soup_server_listen (s->server, address, s->certificate != NULL ? SOUP_SERVER_LISTEN_HTTPS : 0,
                      &error);
  g_assert_no_error (error);
  uris = soup_server_get_uris (s->server);
  g_mutex_lock (&s->lock);
  s->base = g_uri_to_string (uris->data);
  if (g_str_has_suffix (s->base, "/"))
    s->base[strlen (s->base) - 1] = '\0';
  s->ready = TRUE;
  g_cond_signal (&s->cond);
  g_mutex_unlock (&s->lock);
  g_slist_free_full (uris, (GDestroyNotify) g_uri_unref);

  g_main_loop_run (s->loop);

  g_ptr_array_set_size (s->held, 0);
  soup_server_disconnect (s->server);
  g_clear_object (&s->server);
  while (g_main_context_iteration (s->context, FALSE))
    ;
  g_main_context_pop_thread_default (s->context);
  return NULL;
}

static void
close_stream (gpointer data)
{
  g_io_stream_close (data, NULL, NULL);
  g_object_unref (data);
}

static TestServer *
test_server_new (GTlsCertificate *certificate, GTlsDatabase *client_ca)
{
  TestServer *s = g_new0 (TestServer, 1);

  g_mutex_init (&s->lock);
  g_cond_init (&s->cond);
  s->certificate = certificate != NULL ? g_object_ref (certificate) : NULL;
  s->client_ca = client_ca != NULL ? g_object_ref (client_ca) : NULL;
  s->routes = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, route_free);
  s->hits = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  s->ports = g_hash_table_new (NULL, NULL);
  s->held = g_ptr_array_new_with_free_func (close_stream);
  s->context = g_main_context_new ();
  s->loop = g_main_loop_new (s->context, FALSE);
  s->thread = g_thread_new ("test-server", server_thread, s);
  g_mutex_lock (&s->lock);
  while (!s->ready)
    g_cond_wait (&s->cond, &s->lock);
  g_mutex_unlock (&s->lock);
  return s;
}

static void
test_server_free (TestServer *s)
{
  g_main_loop_quit (s->loop);
  g_thread_join (s->thread);
  g_main_loop_unref (s->loop);
  g_main_context_unref (s->context);
  g_hash_table_unref (s->routes);
  g_hash_table_unref (s->hits);
  g_hash_table_unref (s->ports);
  g_ptr_array_unref (s->held);
  g_clear_object (&s->certificate);
  g_clear_object (&s->client_ca);
  g_mutex_clear (&s->lock);
  g_cond_clear (&s->cond);
  g_free (s->base);
  g_free (s);
}

static Route *
test_server_add (TestServer *s, const gchar *path, RouteKind kind, const gchar *body)
{
  Route *r = g_new0 (Route, 1);

  r->kind = kind;
  r->status = SOUP_STATUS_OK;
  r->body = g_bytes_new (body, strlen (body));
  g_mutex_lock (&s->lock);
  g_hash_table_insert (s->routes, g_strdup (path), r);
  g_mutex_unlock (&s->lock);
  return r;
}

static guint
test_server_hits (TestServer *s, const gchar *path)
{
  guint n;

  g_mutex_lock (&s->lock);
  n = GPOINTER_TO_UINT (g_hash_table_lookup (s->hits, path));
  g_mutex_unlock (&s->lock);
  return n;
}

static gchar *
test_server_url (TestServer *s, const gchar *path)
{
  return g_strconcat (s->base, path, NULL);
}

/* ---- fixture ------------------------------------------------------------ */

typedef struct
{
  gchar *dir;
  PulpContentStore *store;
  TestServer *server;
} Fixture;

static gchar *tls_dir;

static void
fixture_setup (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;

  f->dir = g_dir_make_tmp ("pulp-test-downloader-XXXXXX", &error);
  g_assert_no_error (error);
  f->store = pulp_content_store_new (f->dir, &error);
  g_assert_no_error (error);
  f->server = test_server_new (NULL, NULL);
}

static void
fixture_teardown (Fixture *f, gconstpointer data)
{
  g_autofree gchar *quoted = g_shell_quote (f->dir);
  g_autofree gchar *command = g_strdup_printf ("rm -rf %s", quoted);

  test_server_free (f->server);
  g_clear_object (&f->store);
  g_assert_true (g_spawn_command_line_sync (command, NULL, NULL, NULL, NULL));
  g_free (f->dir);
}

static gchar *
sha256_of (const gchar *text)
{
  return g_compute_checksum_for_string (G_CHECKSUM_SHA256, text, -1);
}

static PulpDownloader *
downloader_new (Fixture *f, const gchar *config_text)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GVariant) config = g_variant_parse (G_VARIANT_TYPE_VARDICT,
                                                 config_text != NULL ? config_text : "@a{sv} {}",
                                                 NULL, NULL, &error);
  PulpDownloader *downloader;

  g_assert_no_error (error);
  downloader = pulp_downloader_new (f->store, config, &error);
  g_assert_no_error (error);
  return downloader;
}

/* A route serving @body at @path, and a download of it declaring its sha256
 * and size. */
static PulpDownload *
add_file (Fixture *f, const gchar *path, const gchar *body)
{
  g_autofree gchar *url = test_server_url (f->server, path);
  g_autofree gchar *sha256 = sha256_of (body);

  test_server_add (f->server, path, ROUTE_BODY, body);
  return pulp_download_new (url, "sha256", sha256, (gint64) strlen (body));
}

static void
assert_stored (Fixture *f, PulpDownload *dl, const gchar *body)
{
  g_autofree gchar *sha256 = sha256_of (body);
  g_autofree gchar *prefix = g_strndup (sha256, 2);
  g_autofree gchar *expected_path
      = g_build_filename (f->dir, "content", "sha256", prefix, sha256 + 2, NULL);
  g_autofree gchar *contents = NULL;
  g_autoptr (GError) error = NULL;

  g_assert_no_error (dl->error);
  g_assert_cmpstr (dl->sha256, ==, sha256);
  g_assert_cmpstr (dl->path, ==, expected_path);
  g_file_get_contents (expected_path, &contents, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (contents, ==, body);
}

static void
assert_tmp_empty (Fixture *f)
{
  g_autofree gchar *tmp = g_build_filename (f->dir, "tmp", NULL);
  g_autoptr (GDir) dir = g_dir_open (tmp, 0, NULL);

  g_assert_nonnull (dir);
  g_assert_null (g_dir_read_name (dir));
}

/* Fetches a single download and returns its error (or NULL). */
static GError *
fetch_one (PulpDownloader *downloader, PulpDownload *dl)
{
  g_autoptr (GPtrArray) downloads = g_ptr_array_new ();
  g_autoptr (GError) error = NULL;
  gboolean ok;

  g_ptr_array_add (downloads, dl);
  ok = pulp_downloader_fetch_to_store (downloader, downloads, NULL, NULL, NULL, &error);
  g_assert_true (ok == (error == NULL));
  g_assert_true (ok == (dl->error == NULL));
  if (dl->error != NULL)
    g_assert_cmpint (error->code, ==, dl->error->code);
  return g_steal_pointer (&error);
}

static gchar *
body_for (guint i)
{
  GString *s = g_string_new (NULL);

  /* 4 KiB, different for every file. */
  while (s->len < 4096)
    g_string_append_printf (s, "file %u line %" G_GSIZE_FORMAT "\n", i, s->len);
  g_string_truncate (s, 4096);
  return g_string_free (s, FALSE);
}

typedef struct
{
  guint calls;
  guint64 files_done;
  guint64 files_total;
  guint64 bytes_done;
  guint64 bytes_total;
  GCancellable *cancel_at;
  guint64 cancel_after;
} Progress;

static void
on_progress (guint64 files_done, guint64 files_total, guint64 bytes_done, guint64 bytes_total,
             gpointer data)
{
  Progress *p = data;

  p->calls++;
  g_assert_cmpuint (files_done, >=, p->files_done);
  p->files_done = files_done;
  p->files_total = files_total;
  p->bytes_done = bytes_done;
  p->bytes_total = bytes_total;
  if (p->cancel_at != NULL && files_done >= p->cancel_after)
    g_cancellable_cancel (p->cancel_at);
}

/* ---- tests -------------------------------------------------------------- */

static void
test_many (Fixture *f, gconstpointer data)
{
  g_autoptr (PulpDownloader) downloader = downloader_new (f, NULL);
  g_autoptr (GPtrArray) downloads
      = g_ptr_array_new_with_free_func ((GDestroyNotify) pulp_download_free);
  g_autoptr (GPtrArray) bodies = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GError) error = NULL;
  Progress progress = { 0 };

  for (guint i = 0; i < 200; i++)
    {
      g_autofree gchar *path = g_strdup_printf ("/files/f%u.bin", i);
      g_ptr_array_add (bodies, body_for (i));
      g_ptr_array_add (downloads, add_file (f, path, bodies->pdata[i]));
    }
  g_assert_true (pulp_downloader_fetch_to_store (downloader, downloads, on_progress, &progress,
                                                 NULL, &error));
  g_assert_no_error (error);
  for (guint i = 0; i < downloads->len; i++)
    assert_stored (f, downloads->pdata[i], bodies->pdata[i]);
  g_assert_cmpuint (progress.calls, >=, 1);
  g_assert_cmpuint (progress.files_done, ==, 200);
  g_assert_cmpuint (progress.files_total, ==, 200);
  g_assert_cmpuint (progress.bytes_done, ==, 200 * 4096);
  g_assert_cmpuint (progress.bytes_total, ==, 200 * 4096);
  g_assert_cmpuint (test_server_hits (f->server, "/files/f7.bin"), ==, 1);
  /* Connections are reused: at most download-concurrency of them. */
  g_assert_cmpuint (g_hash_table_size (f->server->ports), <=, 10);
  assert_tmp_empty (f);
}

/* Bodies of many reads, over http and from a file, with a digest other than
 * sha256 declared. */
static void
test_large (Fixture *f, gconstpointer data)
{
  g_autoptr (PulpDownloader) downloader = downloader_new (f, NULL);
  g_autofree gchar *src = g_build_filename (f->dir, "large.bin", NULL);
  g_autofree gchar *file_url = g_filename_to_uri (src, NULL, NULL);
  g_autofree gchar *http_url = test_server_url (f->server, "/large.bin");
  GString *body = g_string_new (NULL);
  g_autofree gchar *sha512 = NULL;
  g_autoptr (GError) error = NULL;

  for (guint i = 0; body->len < 3 * 1024 * 1024 + 17; i++)
    g_string_append_printf (body, "%u,", i * 2654435761u);
  sha512 = g_compute_checksum_for_string (G_CHECKSUM_SHA512, body->str, (gssize) body->len);
  g_file_set_contents (src, body->str, (gssize) body->len, &error);
  g_assert_no_error (error);
  test_server_add (f->server, "/large.bin", ROUTE_BODY, body->str);

  for (const gchar **url = (const gchar *[]){ http_url, file_url, NULL }; *url != NULL; url++)
    {
      g_autoptr (PulpDownload) dl = pulp_download_new (*url, "sha512", sha512, (gint64) body->len);

      error = fetch_one (downloader, dl);
      g_assert_no_error (error);
      assert_stored (f, dl, body->str);
      g_assert_true (pulp_content_store_remove (f->store, dl->sha256, NULL, NULL));
    }
  g_string_free (body, TRUE);
}

static void
test_already_stored (Fixture *f, gconstpointer data)
{
  g_autoptr (PulpDownloader) downloader = downloader_new (f, NULL);
  g_autoptr (GPtrArray) downloads
      = g_ptr_array_new_with_free_func ((GDestroyNotify) pulp_download_free);
  g_autoptr (GError) error = NULL;
  Progress progress = { 0 };

  for (guint i = 0; i < 5; i++)
    {
      g_autofree gchar *path = g_strdup_printf ("/s%u", i);
      g_autofree gchar *body = body_for (i);
      g_ptr_array_add (downloads, add_file (f, path, body));
    }
  g_assert_true (pulp_downloader_fetch_to_store (downloader, downloads, NULL, NULL, NULL, &error));
  g_assert_no_error (error);
  g_assert_true (pulp_downloader_fetch_to_store (downloader, downloads, on_progress, &progress,
                                                 NULL, &error));
  g_assert_no_error (error);
  for (guint i = 0; i < 5; i++)
    {
      g_autofree gchar *path = g_strdup_printf ("/s%u", i);
      g_autofree gchar *body = body_for (i);
      g_assert_cmpuint (test_server_hits (f->server, path), ==, 1);
      assert_stored (f, downloads->pdata[i], body);
    }
  g_assert_cmpuint (progress.files_done, ==, 5);
  g_assert_cmpuint (progress.bytes_done, ==, 5 * 4096);
}

static void
test_not_found (Fixture *f, gconstpointer data)
{
  g_autoptr (PulpDownloader) downloader = downloader_new (f, NULL);
  g_autofree gchar *url = test_server_url (f->server, "/missing/PULP_MANIFEST");
  g_autoptr (PulpDownload) dl = pulp_download_new (url, NULL, NULL, -1);
  g_autoptr (GError) error = fetch_one (downloader, dl);

  g_assert_error (error, PULP_ERROR, PULP_ERROR_NETWORK);
  g_assert_error (dl->error, PULP_ERROR, PULP_ERROR_NETWORK);
  g_assert_nonnull (strstr (dl->error->message, url));
  g_assert_nonnull (strstr (dl->error->message, "HTTP 404 Not Found"));
  g_assert_nonnull (strstr (error->message, "1 of 1 downloads failed"));
  g_assert_nonnull (strstr (error->message, url));
  g_assert_cmpuint (test_server_hits (f->server, "/missing/PULP_MANIFEST"), ==, 1);
  assert_tmp_empty (f);
}

static void
test_server_error_retried (Fixture *f, gconstpointer data)
{
  g_autoptr (PulpDownloader) downloader = downloader_new (f, NULL);
  g_autoptr (PulpDownload) dl = add_file (f, "/flaky", "flaky content\n");
  Route *route = g_hash_table_lookup (f->server->routes, "/flaky");
  g_autoptr (GError) error = NULL;

  route->status = SOUP_STATUS_INTERNAL_SERVER_ERROR;
  route->fail_count = 2;
  error = fetch_one (downloader, dl);
  g_assert_no_error (error);
  assert_stored (f, dl, "flaky content\n");
  g_assert_cmpuint (test_server_hits (f->server, "/flaky"), ==, 3);
}

static void
test_server_error_gives_up (Fixture *f, gconstpointer data)
{
  g_autoptr (PulpDownloader) downloader = downloader_new (f, "{'max-retries': <@u 2>}");
  g_autoptr (PulpDownload) dl = add_file (f, "/broken", "never served\n");
  Route *route = g_hash_table_lookup (f->server->routes, "/broken");
  g_autoptr (GError) error = NULL;

  route->status = SOUP_STATUS_SERVICE_UNAVAILABLE;
  route->fail_count = 100;
  error = fetch_one (downloader, dl);
  g_assert_error (error, PULP_ERROR, PULP_ERROR_NETWORK);
  g_assert_nonnull (strstr (dl->error->message, "HTTP 503"));
  g_assert_nonnull (strstr (dl->error->message, "3 attempts"));
  g_assert_cmpuint (test_server_hits (f->server, "/broken"), ==, 3);
  assert_tmp_empty (f);
}

static void
test_forbidden (Fixture *f, gconstpointer data)
{
  g_autoptr (PulpDownloader) downloader = downloader_new (f, NULL);
  g_autoptr (PulpDownload) dl = add_file (f, "/secret", "x");
  Route *route = g_hash_table_lookup (f->server->routes, "/secret");
  g_autoptr (GError) error = NULL;

  route->status = SOUP_STATUS_FORBIDDEN;
  route->fail_count = 100;
  error = fetch_one (downloader, dl);
  g_assert_error (error, PULP_ERROR, PULP_ERROR_NETWORK);
  g_assert_nonnull (strstr (dl->error->message, "/secret: HTTP 403"));
  g_assert_cmpuint (test_server_hits (f->server, "/secret"), ==, 1);
}

static void
test_too_many_requests (Fixture *f, gconstpointer data)
{
  g_autoptr (PulpDownloader) downloader = downloader_new (f, NULL);
  g_autoptr (PulpDownload) dl = add_file (f, "/busy", "busy content\n");
  Route *route = g_hash_table_lookup (f->server->routes, "/busy");
  g_autoptr (GError) error = NULL;

  route->status = 429;
  route->fail_count = 1;
  error = fetch_one (downloader, dl);
  g_assert_no_error (error);
  assert_stored (f, dl, "busy content\n");
  g_assert_cmpuint (test_server_hits (f->server, "/busy"), ==, 2);
}

static void
test_truncated (Fixture *f, gconstpointer data)
{
  g_autoptr (PulpDownloader) downloader = downloader_new (f, "{'max-retries': <@u 2>}");
  g_autofree gchar *body = body_for (1);
  g_autoptr (PulpDownload) dl = add_file (f, "/cut", body);
  Route *route = g_hash_table_lookup (f->server->routes, "/cut");
  g_autoptr (GError) error = NULL;

  route->kind = ROUTE_TRUNCATE;
  error = fetch_one (downloader, dl);
  g_assert_nonnull (error);
  g_assert_true (error->code == PULP_ERROR_NETWORK || error->code == PULP_ERROR_CHECKSUM);
  g_assert_nonnull (strstr (dl->error->message, "/cut: "));
  g_assert_cmpuint (test_server_hits (f->server, "/cut"), ==, 3);
  assert_tmp_empty (f);
}

static void
test_reset (Fixture *f, gconstpointer data)
{
  g_autoptr (PulpDownloader) downloader = downloader_new (f, "{'max-retries': <@u 1>}");
  g_autofree gchar *body = body_for (2);
  g_autoptr (PulpDownload) dl = add_file (f, "/reset", body);
  Route *route = g_hash_table_lookup (f->server->routes, "/reset");
  g_autoptr (GError) error = NULL;

  route->kind = ROUTE_RESET;
  error = fetch_one (downloader, dl);
  g_assert_error (error, PULP_ERROR, PULP_ERROR_NETWORK);
  g_assert_nonnull (strstr (dl->error->message, "/reset: "));
  g_assert_cmpuint (test_server_hits (f->server, "/reset"), ==, 2);
  assert_tmp_empty (f);
}

static void
test_wrong_digest (Fixture *f, gconstpointer data)
{
  g_autoptr (PulpDownloader) downloader = downloader_new (f, "{'max-retries': <@u 1>}");
  g_autofree gchar *url = test_server_url (f->server, "/a.iso");
  g_autofree gchar *declared = sha256_of ("what the manifest says");
  g_autofree gchar *actual = sha256_of ("what the server has");
  g_autoptr (PulpDownload) dl = pulp_download_new (url, "sha256", declared, -1);
  g_autofree gchar *expected = NULL;
  g_autoptr (GError) error = NULL;

  test_server_add (f->server, "/a.iso", ROUTE_BODY, "what the server has");
  error = fetch_one (downloader, dl);
  g_assert_error (error, PULP_ERROR, PULP_ERROR_CHECKSUM);
  expected = g_strdup_printf ("%s: expected sha256 %s, got %s", url, declared, actual);
  g_assert_nonnull (strstr (dl->error->message, expected));
  g_assert_cmpuint (test_server_hits (f->server, "/a.iso"), ==, 2);
  g_assert_false (pulp_content_store_has (f->store, actual));
  assert_tmp_empty (f);
}

static void
test_wrong_size (Fixture *f, gconstpointer data)
{
  g_autoptr (PulpDownloader) downloader = downloader_new (f, "{'max-retries': <@u 0>}");
  g_autofree gchar *url = test_server_url (f->server, "/sized");
  g_autoptr (PulpDownload) dl = pulp_download_new (url, NULL, NULL, 1234);
  g_autoptr (PulpDownload) dl2 = pulp_download_new (url, NULL, NULL, 10);
  g_autofree gchar *body = body_for (3);
  g_autoptr (GError) error = NULL;

  test_server_add (f->server, "/sized", ROUTE_BODY, body);
  error = fetch_one (downloader, dl);
  g_assert_error (error, PULP_ERROR, PULP_ERROR_CHECKSUM);
  g_assert_nonnull (strstr (dl->error->message, "/sized: expected 1234 bytes"));
  g_clear_error (&error);
  error = fetch_one (downloader, dl2);
  g_assert_error (error, PULP_ERROR, PULP_ERROR_CHECKSUM);
  g_assert_nonnull (strstr (dl2->error->message, "/sized: expected 10 bytes"));
  assert_tmp_empty (f);
}

/* A body that is larger than declared is abandoned at once, not read to
 * its end or to a timeout. */
static void
test_abort_oversized (Fixture *f, gconstpointer data)
{
  g_autoptr (PulpDownloader) downloader = downloader_new (f, "{'max-retries': <@u 0>}");
  g_autofree gchar *announced = test_server_url (f->server, "/announced");
  g_autofree gchar *unannounced = test_server_url (f->server, "/unannounced");
  g_autoptr (PulpDownload) dl = pulp_download_new (announced, NULL, NULL, 100);
  g_autoptr (PulpDownload) dl2 = pulp_download_new (unannounced, NULL, NULL, 100);
  g_autofree gchar *body = body_for (4);
  g_autoptr (GError) error = NULL;
  g_autoptr (GBytes) bytes = NULL;
  gint64 start = g_get_monotonic_time ();

  test_server_add (f->server, "/announced", ROUTE_HUGE, body);
  test_server_add (f->server, "/unannounced", ROUTE_HUGE, body)->status = 1;
  error = fetch_one (downloader, dl);
  g_assert_error (error, PULP_ERROR, PULP_ERROR_CHECKSUM);
  g_assert_nonnull (strstr (dl->error->message, "/announced: expected 100 bytes"));
  g_clear_error (&error);
  error = fetch_one (downloader, dl2);
  g_assert_error (error, PULP_ERROR, PULP_ERROR_CHECKSUM);
  g_assert_nonnull (strstr (dl2->error->message, "/unannounced: expected 100 bytes"));
  g_clear_error (&error);
  bytes = pulp_downloader_fetch_bytes (downloader, announced, 1000, NULL, &error);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_MESSAGE_TOO_LARGE);
  g_clear_error (&error);
  bytes = pulp_downloader_fetch_bytes (downloader, unannounced, 1000, NULL, &error);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_MESSAGE_TOO_LARGE);
  g_assert_nonnull (strstr (error->message, "limit of 1000 bytes"));
  g_assert_cmpint (g_get_monotonic_time () - start, <, 5 * G_USEC_PER_SEC);
  assert_tmp_empty (f);
}

static void
test_other_checksums (Fixture *f, gconstpointer data)
{
  g_autoptr (PulpDownloader) downloader = downloader_new (f, "{'max-retries': <@u 0>}");
  g_autofree gchar *url = test_server_url (f->server, "/pkg.rpm");
  const gchar *body = "an rpm, honestly\n";
  g_autofree gchar *sha1 = g_compute_checksum_for_string (G_CHECKSUM_SHA1, body, -1);
  g_autofree gchar *md5 = g_compute_checksum_for_string (G_CHECKSUM_MD5, body, -1);
  g_autofree gchar *sha512 = g_compute_checksum_for_string (G_CHECKSUM_SHA512, body, -1);
  g_autofree gchar *upper = g_ascii_strup (sha512, -1);
  g_autoptr (PulpDownload) a = pulp_download_new (url, "sha1", sha1, -1);
  g_autoptr (PulpDownload) b = pulp_download_new (url, "md5", md5, -1);
  g_autoptr (PulpDownload) c = pulp_download_new (url, "sha512", upper, -1);
  g_autoptr (PulpDownload) bad = pulp_download_new (url, "sha1", md5, -1);
  g_autoptr (PulpDownload) unknown = pulp_download_new (url, "crc32", "1234", -1);
  g_autoptr (GError) error = NULL;

  test_server_add (f->server, "/pkg.rpm", ROUTE_BODY, body);
  for (PulpDownload **dl = (PulpDownload *[]){ a, b, c, NULL }; *dl != NULL; dl++)
    {
      error = fetch_one (downloader, *dl);
      g_assert_no_error (error);
      assert_stored (f, *dl, body);
    }
  error = fetch_one (downloader, bad);
  g_assert_error (error, PULP_ERROR, PULP_ERROR_CHECKSUM);
  g_assert_nonnull (strstr (bad->error->message, "expected sha1"));
  g_clear_error (&error);
  error = fetch_one (downloader, unknown);
  g_assert_error (error, PULP_ERROR, PULP_ERROR_INVALID_ARGUMENT);
  g_assert_nonnull (strstr (unknown->error->message, "crc32"));
}

/* A transfer from @path (served as @kind) fails as a network error within
 * @max_s seconds, retried once, with @reason (if given) in the message. */
static void
assert_times_out (Fixture *f, const gchar *path, RouteKind kind, const gchar *reason, gint max_s)
{
  g_autoptr (PulpDownloader) downloader = NULL;
  g_autofree gchar *url = test_server_url (f->server, path);
  g_autoptr (PulpDownload) dl = pulp_download_new (url, NULL, NULL, -1);
  g_autoptr (GError) error = NULL;
  gint64 start;

  test_server_add (f->server, path, kind, "");
  g_setenv ("PULP_DOWNLOAD_TIMEOUT_S", "1", TRUE);
  downloader = downloader_new (f, "{'max-retries': <@u 1>}");
  g_unsetenv ("PULP_DOWNLOAD_TIMEOUT_S");

  start = g_get_monotonic_time ();
  error = fetch_one (downloader, dl);
  g_assert_error (error, PULP_ERROR, PULP_ERROR_NETWORK);
  g_assert_nonnull (strstr (dl->error->message, url));
  if (reason != NULL)
    g_assert_nonnull (strstr (dl->error->message, reason));
  g_assert_cmpint (g_get_monotonic_time () - start, <, max_s * G_USEC_PER_SEC);
  g_assert_cmpuint (test_server_hits (f->server, path), ==, 2);
}

static void
test_stall (Fixture *f, gconstpointer data)
{
  assert_times_out (f, "/stall", ROUTE_STALL, NULL, 6);
}

/* A server that answers, but with a trickle, fails like one that stalls. */
static void
test_drip (Fixture *f, gconstpointer data)
{
  assert_times_out (f, "/drip", ROUTE_DRIP, "less than 1024 bytes a second over 1 s", 8);
}

static void
test_redirect (Fixture *f, gconstpointer data)
{
  g_autoptr (PulpDownloader) downloader = downloader_new (f, NULL);
  g_autoptr (PulpDownload) dl = add_file (f, "/old", "moved content\n");
  Route *route = g_hash_table_lookup (f->server->routes, "/old");
  g_autoptr (GError) error = NULL;

  route->kind = ROUTE_REDIRECT;
  route->target = g_strdup ("/new/place");
  test_server_add (f->server, "/new/place", ROUTE_BODY, "moved content\n");
  error = fetch_one (downloader, dl);
  g_assert_no_error (error);
  assert_stored (f, dl, "moved content\n");
  g_assert_cmpuint (test_server_hits (f->server, "/old"), ==, 1);
  g_assert_cmpuint (test_server_hits (f->server, "/new/place"), ==, 1);
}

static void
test_basic_auth (Fixture *f, gconstpointer data)
{
  g_autoptr (PulpDownloader) anonymous = downloader_new (f, NULL);
  g_autoptr (PulpDownloader) wrong
      = downloader_new (f, "{'username': <'user'>, 'password': <'guess'>}");
  g_autoptr (PulpDownloader) right
      = downloader_new (f, "{'username': <'user'>, 'password': <'secret'>}");
  g_autoptr (PulpDownload) dl = add_file (f, "/private", "private content\n");
  g_autoptr (GError) error = NULL;

  ((Route *) g_hash_table_lookup (f->server->routes, "/private"))->kind = ROUTE_AUTH;
  error = fetch_one (anonymous, dl);
  g_assert_error (error, PULP_ERROR, PULP_ERROR_NETWORK);
  g_assert_nonnull (strstr (dl->error->message, "/private: HTTP 401"));
  g_clear_error (&error);
  error = fetch_one (wrong, dl);
  g_assert_error (error, PULP_ERROR, PULP_ERROR_NETWORK);
  g_assert_nonnull (strstr (dl->error->message, "HTTP 401"));
  g_clear_error (&error);
  error = fetch_one (right, dl);
  g_assert_no_error (error);
  assert_stored (f, dl, "private content\n");
}

/* Credentials in the URL work without a username in the configuration (the
 * downloader leaves libsoup's auth manager out until a URL needs it), and
 * the password never shows in an error. */
static void
test_basic_auth_in_url (Fixture *f, gconstpointer data)
{
  g_autoptr (PulpDownloader) downloader = downloader_new (f, NULL);
  g_autoptr (PulpDownload) dl = add_file (f, "/private", "private content\n");
  g_autoptr (PulpDownload) wrong = NULL;
  g_autofree gchar *url = NULL;
  g_autoptr (GError) error = NULL;

  ((Route *) g_hash_table_lookup (f->server->routes, "/private"))->kind = ROUTE_AUTH;
  g_assert_true (g_str_has_prefix (dl->url, "http://"));
  url = g_strdup_printf ("http://user:guess@%s", dl->url + strlen ("http://"));
  wrong = pulp_download_new (url, dl->checksum_type, dl->checksum, dl->size);
  error = fetch_one (downloader, wrong);
  g_assert_error (error, PULP_ERROR, PULP_ERROR_NETWORK);
  g_assert_nonnull (strstr (wrong->error->message, "HTTP 401"));
  g_assert_null (strstr (wrong->error->message, "guess"));
  g_clear_error (&error);

  g_free (url);
  url = g_strdup_printf ("http://user:secret@%s", dl->url + strlen ("http://"));
  g_free (dl->url);
  dl->url = g_steal_pointer (&url);
  error = fetch_one (downloader, dl);
  g_assert_no_error (error);
  assert_stored (f, dl, "private content\n");
}

/* A redirect to another server does not take the feed's credentials along. */
static void
test_basic_auth_redirect (Fixture *f, gconstpointer data)
{
  TestServer *other = test_server_new (NULL, NULL);
  g_autoptr (PulpDownloader) downloader
      = downloader_new (f, "{'username': <'user'>, 'password': <'secret'>}");
  g_autofree gchar *target = test_server_url (other, "/private");
  g_autoptr (PulpDownload) dl = add_file (f, "/elsewhere", "private content\n");
  Route *route = g_hash_table_lookup (f->server->routes, "/elsewhere");
  g_autoptr (GError) error = NULL;

  route->kind = ROUTE_REDIRECT;
  route->target = g_strdup (target);
  test_server_add (other, "/private", ROUTE_AUTH, "private content\n");
  error = fetch_one (downloader, dl);
  g_assert_error (error, PULP_ERROR, PULP_ERROR_NETWORK);
  g_assert_nonnull (strstr (dl->error->message, "HTTP 401"));
  g_assert_cmpuint (test_server_hits (other, "/private"), ==, 1);
  test_server_free (other);
}

static void
test_one_of_many_fails (Fixture *f, gconstpointer data)
{
  g_autoptr (PulpDownloader) downloader = downloader_new (f, NULL);
  g_autoptr (GPtrArray) downloads
      = g_ptr_array_new_with_free_func ((GDestroyNotify) pulp_download_free);
  g_autoptr (GError) error = NULL;
  g_autofree gchar *bad_url = test_server_url (f->server, "/gone");

  for (guint i = 0; i < 30; i++)
    {
      g_autofree gchar *path = g_strdup_printf ("/m%u", i);
      g_autofree gchar *body = body_for (i);

      if (i == 12)
        g_ptr_array_add (downloads, pulp_download_new (bad_url, NULL, NULL, -1));
      else
        g_ptr_array_add (downloads, add_file (f, path, body));
    }
  g_assert_false (pulp_downloader_fetch_to_store (downloader, downloads, NULL, NULL, NULL, &error));
  g_assert_error (error, PULP_ERROR, PULP_ERROR_NETWORK);
  g_assert_true (g_str_has_prefix (error->message, "1 of 30 downloads failed: "));
  g_assert_nonnull (strstr (error->message, bad_url));
  g_assert_nonnull (strstr (error->message, "404"));
  for (guint i = 0; i < 30; i++)
    {
      PulpDownload *dl = downloads->pdata[i];
      g_autofree gchar *body = body_for (i);

      if (i == 12)
        {
          g_assert_error (dl->error, PULP_ERROR, PULP_ERROR_NETWORK);
          g_assert_null (dl->path);
        }
      else
        assert_stored (f, dl, body);
    }
}

static void
test_many_fail (Fixture *f, gconstpointer data)
{
  g_autoptr (PulpDownloader) downloader = downloader_new (f, NULL);
  g_autoptr (GPtrArray) downloads
      = g_ptr_array_new_with_free_func ((GDestroyNotify) pulp_download_free);
  g_autoptr (GError) error = NULL;

  for (guint i = 0; i < 10; i++)
    {
      g_autofree gchar *path = g_strdup_printf ("/nothing%u", i);
      g_autofree gchar *url = test_server_url (f->server, path);
      g_ptr_array_add (downloads, pulp_download_new (url, NULL, NULL, -1));
    }
  g_assert_false (pulp_downloader_fetch_to_store (downloader, downloads, NULL, NULL, NULL, &error));
  g_assert_error (error, PULP_ERROR, PULP_ERROR_NETWORK);
  g_assert_true (g_str_has_prefix (error->message, "10 of 10 downloads failed: "));
  /* The first few are named, the rest summed up. */
  g_assert_nonnull (strstr (error->message, "/nothing0: HTTP 404"));
  g_assert_nonnull (strstr (error->message, "/nothing2: HTTP 404"));
  g_assert_null (strstr (error->message, "/nothing3"));
  g_assert_true (g_str_has_suffix (error->message, "; …"));
}

static void
test_cancel (Fixture *f, gconstpointer data)
{
  g_autoptr (PulpDownloader) downloader = downloader_new (f, "{'download-concurrency': <@u 4>}");
  g_autoptr (GPtrArray) downloads
      = g_ptr_array_new_with_free_func ((GDestroyNotify) pulp_download_free);
  g_autoptr (GCancellable) cancellable = g_cancellable_new ();
  g_autoptr (GError) error = NULL;
  Progress progress = { 0 };
  gint64 start;

  for (guint i = 0; i < 100; i++)
    {
      g_autofree gchar *path = g_strdup_printf ("/c%u", i);
      g_autofree gchar *body = body_for (i);

      g_ptr_array_add (downloads, add_file (f, path, body));
      /* From the 21st file on, the server never answers: the batch can only
       * end by cancellation. */
      if (i >= 20)
        ((Route *) g_hash_table_lookup (f->server->routes, path))->kind = ROUTE_PAUSE;
    }
  progress.cancel_at = cancellable;
  progress.cancel_after = 20;
  start = g_get_monotonic_time ();
  g_assert_false (pulp_downloader_fetch_to_store (downloader, downloads, on_progress, &progress,
                                                  cancellable, &error));
  g_assert_error (error, PULP_ERROR, PULP_ERROR_CANCELLED);
  g_assert_cmpint (g_get_monotonic_time () - start, <, 5 * G_USEC_PER_SEC);
  for (guint i = 0; i < 100; i++)
    {
      PulpDownload *dl = downloads->pdata[i];
      g_autofree gchar *body = body_for (i);

      if (i < 20)
        assert_stored (f, dl, body);
      else
        {
          g_assert_error (dl->error, PULP_ERROR, PULP_ERROR_CANCELLED);
          g_assert_null (dl->path);
        }
    }
  assert_tmp_empty (f);

  /* Cancelled before it starts: nothing is fetched. */
  g_clear_error (&error);
  g_assert_false (pulp_downloader_fetch_to_store (downloader, downloads, NULL, NULL, cancellable,
                                                  &error));
  g_assert_error (error, PULP_ERROR, PULP_ERROR_CANCELLED);
  g_assert_cmpuint (test_server_hits (f->server, "/c0"), ==, 1);

  /* What was cancelled is named without the password of its URL. */
  {
    g_autofree gchar *url = test_server_url (f->server, "/c0");
    g_autofree gchar *secret_url = NULL;
    g_autofree gchar *shown = NULL;
    g_autoptr (PulpDownload) dl = NULL;

    g_assert_true (g_str_has_prefix (url, "http://"));
    secret_url = g_strconcat ("http://pulp:s3cr3t@", url + strlen ("http://"), NULL);
    shown = g_strconcat ("http://pulp@", url + strlen ("http://"), ": cancelled", NULL);
    dl = pulp_download_new (secret_url, NULL, NULL, -1);
    g_ptr_array_set_size (downloads, 0);
    g_ptr_array_add (downloads, g_steal_pointer (&dl));
    g_assert_false (pulp_downloader_fetch_to_store (downloader, downloads, NULL, NULL,
                                                    cancellable, NULL));
    g_assert_cmpstr (((PulpDownload *) downloads->pdata[0])->error->message, ==, shown);
    g_clear_error (&error);
    g_assert_false (pulp_downloader_fetch_file (downloader, secret_url, "/nonexistent/x",
                                                cancellable, &error));
    g_assert_error (error, PULP_ERROR, PULP_ERROR_CANCELLED);
    g_assert_null (strstr (error->message, "s3cr3t"));
  }
}

static void
test_file_urls (Fixture *f, gconstpointer data)
{
  g_autoptr (PulpDownloader) downloader = downloader_new (f, NULL);
  g_autofree gchar *src = g_build_filename (f->dir, "upstream.txt", NULL);
  g_autofree gchar *missing = g_build_filename (f->dir, "missing.txt", NULL);
  g_autofree gchar *url = g_filename_to_uri (src, NULL, NULL);
  g_autofree gchar *missing_url = g_filename_to_uri (missing, NULL, NULL);
  g_autofree gchar *body = body_for (9);
  g_autofree gchar *sha256 = sha256_of (body);
  g_autofree gchar *wrong = sha256_of ("other");
  g_autoptr (PulpDownload) dl = pulp_download_new (url, "sha256", sha256, 4096);
  g_autoptr (PulpDownload) bad = pulp_download_new (url, "sha256", wrong, 4096);
  g_autoptr (PulpDownload) absent = pulp_download_new (missing_url, NULL, NULL, -1);
  g_autoptr (GError) error = NULL;
  g_autoptr (GBytes) bytes = NULL;

  g_file_set_contents (src, body, -1, &error);
  g_assert_no_error (error);
  error = fetch_one (downloader, dl);
  g_assert_no_error (error);
  assert_stored (f, dl, body);
  error = fetch_one (downloader, bad);
  g_assert_error (error, PULP_ERROR, PULP_ERROR_CHECKSUM);
  g_assert_nonnull (strstr (bad->error->message, "expected sha256"));
  g_clear_error (&error);
  error = fetch_one (downloader, absent);
  g_assert_error (error, PULP_ERROR, PULP_ERROR_NETWORK);
  g_assert_nonnull (strstr (absent->error->message, missing_url));
  g_clear_error (&error);

  bytes = pulp_downloader_fetch_bytes (downloader, url, 1 << 20, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpmem (g_bytes_get_data (bytes, NULL), g_bytes_get_size (bytes), body, 4096);
}

static void
test_fetch_bytes_and_file (Fixture *f, gconstpointer data)
{
  g_autoptr (PulpDownloader) downloader = downloader_new (f, NULL);
  g_autofree gchar *url = test_server_url (f->server, "/repodata/repomd.xml");
  g_autofree gchar *missing = test_server_url (f->server, "/repodata/nothing.xml");
  g_autofree gchar *dest = g_build_filename (f->dir, "primary.xml", NULL);
  g_autofree gchar *contents = NULL;
  g_autoptr (GBytes) bytes = NULL;
  g_autoptr (GError) error = NULL;
  Route *route;

  route = test_server_add (f->server, "/repodata/repomd.xml", ROUTE_BODY, "<repomd/>\n");
  route->status = SOUP_STATUS_BAD_GATEWAY;
  route->fail_count = 1;
  bytes = pulp_downloader_fetch_bytes (downloader, url, 1024, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpmem (g_bytes_get_data (bytes, NULL), g_bytes_get_size (bytes), "<repomd/>\n", 10);
  g_assert_cmpuint (test_server_hits (f->server, "/repodata/repomd.xml"), ==, 2);
  g_clear_pointer (&bytes, g_bytes_unref);

  bytes = pulp_downloader_fetch_bytes (downloader, url, 5, NULL, &error);
  g_assert_null (bytes);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_MESSAGE_TOO_LARGE);
  g_assert_nonnull (strstr (error->message, url));
  g_assert_nonnull (strstr (error->message, "limit of 5 bytes"));
  g_clear_error (&error);

  g_assert_true (pulp_downloader_fetch_file (downloader, url, dest, NULL, &error));
  g_assert_no_error (error);
  g_file_get_contents (dest, &contents, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (contents, ==, "<repomd/>\n");

  g_assert_false (pulp_downloader_fetch_file (downloader, missing, dest, NULL, &error));
  g_assert_error (error, PULP_ERROR, PULP_ERROR_NETWORK);
  g_assert_nonnull (strstr (error->message, "nothing.xml: HTTP 404"));
  g_assert_false (g_file_test (dest, G_FILE_TEST_EXISTS));
}

/* A download the store cannot write fails with the errno's G_IO_ERROR, and
 * its message names where it was written: with O_TMPFILE the file has no
 * name, so the store's temp folder (it once said "cannot write (null)"). A
 * file size limit stands in for a full disk. */
static void
test_store_write_fails (Fixture *f, gconstpointer data)
{
  g_autoptr (PulpDownloader) downloader = downloader_new (f, NULL);
  g_autofree gchar *body = body_for (7);
  g_autoptr (PulpDownload) dl = add_file (f, "/too-big", body);
  g_autoptr (GPtrArray) downloads = g_ptr_array_new ();
  g_autofree gchar *tmp = g_build_filename (f->dir, "tmp", NULL);
  g_autofree gchar *unnamed = g_strdup_printf ("cannot write a new file in %s: %s", tmp,
                                               g_strerror (EFBIG));
  g_autofree gchar *named = g_strdup_printf ("cannot write %s/dl-", tmp);
  g_autoptr (GError) error = NULL;
  struct rlimit saved;
  struct rlimit small;
  void (*handler) (int);
  gboolean ok;

  g_assert_cmpint (getrlimit (RLIMIT_FSIZE, &saved), ==, 0);
  small = saved;
  small.rlim_cur = 1024;
  /* write() then fails with EFBIG instead of the process getting killed */
  handler = signal (SIGXFSZ, SIG_IGN);
  g_assert_cmpint (setrlimit (RLIMIT_FSIZE, &small), ==, 0);
  g_ptr_array_add (downloads, dl);
  ok = pulp_downloader_fetch_to_store (downloader, downloads, NULL, NULL, NULL, &error);
  g_assert_cmpint (setrlimit (RLIMIT_FSIZE, &saved), ==, 0);
  signal (SIGXFSZ, handler);

  g_assert_false (ok);
  g_assert_error (error, PULP_ERROR, PULP_ERROR_FAILED);
  g_assert_error (dl->error, G_IO_ERROR, (gint) g_io_error_from_errno (EFBIG));
  g_test_message ("%s", dl->error->message);
  g_assert_null (strstr (dl->error->message, "(null)"));
  /* a named temp file where the file system has no O_TMPFILE */
  g_assert_true (strstr (dl->error->message, unnamed) != NULL
                 || strstr (dl->error->message, named) != NULL);
  g_assert_nonnull (strstr (error->message, dl->error->message));
  g_assert_cmpuint (test_server_hits (f->server, "/too-big"), ==, 1);
  assert_tmp_empty (f);
}

/* A full disk is G_IO_ERROR_NO_SPACE, so that an importer can tell; the
 * message names the file. /dev/full is written through a link: a failed
 * fetch_file() removes its destination. */
static void
test_file_disk_full (Fixture *f, gconstpointer data)
{
  g_autoptr (PulpDownloader) downloader = downloader_new (f, NULL);
  g_autofree gchar *url = test_server_url (f->server, "/repodata/primary.xml");
  g_autofree gchar *dest = g_build_filename (f->dir, "full", NULL);
  g_autofree gchar *expected = g_strdup_printf ("/repodata/primary.xml: cannot write %s: %s", dest,
                                                g_strerror (ENOSPC));
  g_autoptr (GError) error = NULL;

  test_server_add (f->server, "/repodata/primary.xml", ROUTE_BODY, "<metadata/>\n");
  g_assert_cmpint (symlink ("/dev/full", dest), ==, 0);
  g_assert_false (pulp_downloader_fetch_file (downloader, url, dest, NULL, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_NO_SPACE);
  g_assert_nonnull (strstr (error->message, expected));
  g_assert_false (g_file_test (dest, G_FILE_TEST_EXISTS | G_FILE_TEST_IS_SYMLINK));
  g_assert_true (g_file_test ("/dev/full", G_FILE_TEST_EXISTS));
  pulp_error_convert (&error);
  g_assert_error (error, PULP_ERROR, PULP_ERROR_FAILED);
}

static void
test_bad_config (Fixture *f, gconstpointer data)
{
  struct
  {
    const gchar *config;
    const gchar *message;
  } cases[] = {
    { "{'ca-cert': <'/nonexistent/ca.pem'>}", "/nonexistent/ca.pem" },
    { "{'client-cert': <'/nonexistent/client.pem'>, 'client-key': <'/nonexistent/client.key'>}",
      "/nonexistent/client.pem" },
    { "{'download-concurrency': <'ten'>}", "download-concurrency" },
    { "{'download-concurrency': <@u 0>}", "download-concurrency" },
    { "{'proxy': <'::not a url::'>}", "proxy" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr (GVariant) config = g_variant_parse (NULL, cases[i].config, NULL, NULL, NULL);
      g_autoptr (GError) error = NULL;
      g_autoptr (PulpDownloader) downloader = pulp_downloader_new (f->store, config, &error);

      g_assert_null (downloader);
      g_assert_error (error, PULP_ERROR, PULP_ERROR_INVALID_ARGUMENT);
      g_assert_nonnull (strstr (error->message, cases[i].message));
    }
}

/* ---- TLS ---------------------------------------------------------------- */

static gchar *
tls_path (const gchar *name)
{
  return g_build_filename (tls_dir, name, NULL);
}

static gboolean
run_openssl (const gchar *args)
{
  g_autofree gchar *command = g_strdup_printf ("openssl %s", args);
  g_autofree gchar *err = NULL;
  gint status = 0;
  g_autoptr (GError) error = NULL;
  g_auto (GStrv) argv = NULL;

  g_shell_parse_argv (command, NULL, &argv, &error);
  g_assert_no_error (error);
  if (!g_spawn_sync (tls_dir, argv, NULL, G_SPAWN_SEARCH_PATH | G_SPAWN_STDOUT_TO_DEV_NULL, NULL,
                     NULL, NULL, &err, &status, &error))
    return FALSE;
  if (!g_spawn_check_wait_status (status, NULL))
    {
      g_printerr ("%s failed: %s\n", command, err);
      return FALSE;
    }
  return TRUE;
}

/* A test CA, a server certificate for 127.0.0.1 and a client certificate. */
static gboolean
make_certificates (void)
{
  const gchar *ec = "-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2";
  g_autofree gchar *ca = NULL;
  g_autofree gchar *server = NULL;
  g_autofree gchar *client = NULL;
  g_autofree gchar *openssl = g_find_program_in_path ("openssl");

  if (openssl == NULL)
    return FALSE;
  tls_dir = g_dir_make_tmp ("pulp-test-tls-XXXXXX", NULL);
  ca = g_strdup_printf ("req -x509 %s -keyout ca.key -out ca.pem -subj /CN=PulpTestCA "
                        "-addext basicConstraints=critical,CA:TRUE "
                        "-addext keyUsage=critical,keyCertSign,cRLSign",
                        ec);
  server = g_strdup_printf ("req -x509 %s -keyout server.key -out server.pem -subj /CN=127.0.0.1 "
                            "-CA ca.pem -CAkey ca.key -addext subjectAltName=IP:127.0.0.1 "
                            "-addext basicConstraints=critical,CA:FALSE "
                            "-addext extendedKeyUsage=serverAuth",
                            ec);
  client = g_strdup_printf ("req -x509 %s -keyout client.key -out client.pem -subj /CN=pulpd "
                            "-CA ca.pem -CAkey ca.key "
                            "-addext basicConstraints=critical,CA:FALSE "
                            "-addext extendedKeyUsage=clientAuth",
                            ec);
  return run_openssl (ca) && run_openssl (server) && run_openssl (client);
}

static TestServer *
https_server_new (gboolean require_client_cert)
{
  g_autofree gchar *cert_path = tls_path ("server.pem");
  g_autofree gchar *key_path = tls_path ("server.key");
  g_autofree gchar *ca_path = tls_path ("ca.pem");
  g_autoptr (GError) error = NULL;
  g_autoptr (GTlsCertificate) certificate = NULL;
  g_autoptr (GTlsDatabase) client_ca = NULL;

  certificate = g_tls_certificate_new_from_files (cert_path, key_path, &error);
  g_assert_no_error (error);
  if (require_client_cert)
    {
      client_ca = g_tls_file_database_new (ca_path, &error);
      g_assert_no_error (error);
    }
  return test_server_new (certificate, client_ca);
}

static void
test_tls (Fixture *f, gconstpointer data)
{
  TestServer *https;
  g_autofree gchar *ca_path = tls_path ("ca.pem");
  g_autofree gchar *config = NULL;
  g_autoptr (PulpDownloader) with_ca = NULL;
  g_autoptr (PulpDownloader) system_ca = NULL;
  g_autoptr (PulpDownloader) no_verify = NULL;
  g_autofree gchar *url = NULL;
  g_autofree gchar *sha256 = sha256_of ("tls content\n");
  g_autoptr (PulpDownload) dl = NULL;
  g_autoptr (GError) error = NULL;

  if (tls_dir == NULL)
    {
      g_test_skip ("openssl is needed to make test certificates");
      return;
    }
  https = https_server_new (FALSE);
  test_server_add (https, "/secure", ROUTE_BODY, "tls content\n");
  url = test_server_url (https, "/secure");
  g_assert_true (g_str_has_prefix (url, "https://127.0.0.1:"));
  dl = pulp_download_new (url, "sha256", sha256, -1);

  system_ca = downloader_new (f, "{'max-retries': <@u 3>}");
  error = fetch_one (system_ca, dl);
  g_assert_error (error, PULP_ERROR, PULP_ERROR_NETWORK);
  g_assert_nonnull (strstr (dl->error->message, url));
  /* A certificate problem is not retried. */
  g_assert_cmpuint (test_server_hits (https, "/secure"), ==, 0);
  g_clear_error (&error);

  config = g_strdup_printf ("{'ca-cert': <'%s'>}", ca_path);
  with_ca = downloader_new (f, config);
  error = fetch_one (with_ca, dl);
  g_assert_no_error (error);
  assert_stored (f, dl, "tls content\n");
  g_assert_true (pulp_content_store_remove (f->store, sha256, NULL, NULL));

  no_verify = downloader_new (f, "{'tls-verify': <false>}");
  error = fetch_one (no_verify, dl);
  g_assert_no_error (error);
  assert_stored (f, dl, "tls content\n");
  g_assert_cmpuint (test_server_hits (https, "/secure"), ==, 2);
  test_server_free (https);
}

static void
test_tls_client_cert (Fixture *f, gconstpointer data)
{
  TestServer *https;
  g_autofree gchar *ca_path = tls_path ("ca.pem");
  g_autofree gchar *cert_path = tls_path ("client.pem");
  g_autofree gchar *key_path = tls_path ("client.key");
  g_autofree gchar *config = NULL;
  g_autofree gchar *config_with_cert = NULL;
  g_autoptr (PulpDownloader) without = NULL;
  g_autoptr (PulpDownloader) with = NULL;
  g_autofree gchar *url = NULL;
  g_autoptr (PulpDownload) dl = NULL;
  g_autoptr (GError) error = NULL;

  if (tls_dir == NULL)
    {
      g_test_skip ("openssl is needed to make test certificates");
      return;
    }
  https = https_server_new (TRUE);
  test_server_add (https, "/entitled", ROUTE_BODY, "for subscribers\n");
  url = test_server_url (https, "/entitled");
  dl = pulp_download_new (url, NULL, NULL, -1);

  config = g_strdup_printf ("{'ca-cert': <'%s'>, 'max-retries': <@u 0>}", ca_path);
  without = downloader_new (f, config);
  error = fetch_one (without, dl);
  g_assert_error (error, PULP_ERROR, PULP_ERROR_NETWORK);
  g_assert_nonnull (strstr (dl->error->message, url));
  g_clear_error (&error);

  config_with_cert = g_strdup_printf ("{'ca-cert': <'%s'>, 'client-cert': <'%s'>, "
                                      "'client-key': <'%s'>}",
                                      ca_path, cert_path, key_path);
  with = downloader_new (f, config_with_cert);
  error = fetch_one (with, dl);
  g_assert_no_error (error);
  assert_stored (f, dl, "for subscribers\n");
  test_server_free (https);
}

static void
test_proxy (Fixture *f, gconstpointer data)
{
  TestServer *proxy = test_server_new (NULL, NULL);
  g_autofree gchar *proxy_url = NULL;
  g_autofree gchar *config = NULL;
  g_autoptr (PulpDownloader) downloader = NULL;
  g_autoptr (PulpDownload) dl = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree gchar *sha256 = sha256_of ("via the proxy\n");

  /* Only the proxy can reach this host name. */
  proxy->is_proxy = TRUE;
  test_server_add (proxy, "/feed/file", ROUTE_BODY, "via the proxy\n");
  dl = pulp_download_new ("http://upstream.invalid/feed/file", "sha256", sha256, -1);
  proxy_url = g_strdup_printf ("http://proxyuser:proxypass@%s", proxy->base + strlen ("http://"));
  config = g_strdup_printf ("{'proxy': <'%s'>}", proxy_url);
  downloader = downloader_new (f, config);
  error = fetch_one (downloader, dl);
  g_assert_no_error (error);
  assert_stored (f, dl, "via the proxy\n");
  g_assert_cmpuint (test_server_hits (proxy, "/feed/file"), ==, 1);
  test_server_free (proxy);
}

int
main (int argc, char **argv)
{
  gint status;

  /* Only loopback traffic, whatever the environment says. */
  g_unsetenv ("http_proxy");
  g_unsetenv ("https_proxy");
  g_unsetenv ("HTTP_PROXY");
  g_unsetenv ("HTTPS_PROXY");
  g_unsetenv ("no_proxy");
  g_setenv ("GIO_USE_PROXY_RESOLVER", "dummy", TRUE);
  g_setenv ("PULP_RETRY_BASE_MS", "10", TRUE);
  g_test_init (&argc, &argv, NULL);

  make_certificates ();

#define ADD(path, func) g_test_add (path, Fixture, NULL, fixture_setup, func, fixture_teardown)
  ADD ("/pulp/downloader/many", test_many);
  ADD ("/pulp/downloader/large", test_large);
  ADD ("/pulp/downloader/already-stored", test_already_stored);
  ADD ("/pulp/downloader/not-found", test_not_found);
  ADD ("/pulp/downloader/retry/server-error", test_server_error_retried);
  ADD ("/pulp/downloader/retry/gives-up", test_server_error_gives_up);
  ADD ("/pulp/downloader/retry/forbidden", test_forbidden);
  ADD ("/pulp/downloader/retry/too-many-requests", test_too_many_requests);
  ADD ("/pulp/downloader/truncated", test_truncated);
  ADD ("/pulp/downloader/reset", test_reset);
  ADD ("/pulp/downloader/wrong-digest", test_wrong_digest);
  ADD ("/pulp/downloader/wrong-size", test_wrong_size);
  ADD ("/pulp/downloader/abort-oversized", test_abort_oversized);
  ADD ("/pulp/downloader/other-checksums", test_other_checksums);
  ADD ("/pulp/downloader/stall", test_stall);
  ADD ("/pulp/downloader/drip", test_drip);
  ADD ("/pulp/downloader/redirect", test_redirect);
  ADD ("/pulp/downloader/basic-auth", test_basic_auth);
  ADD ("/pulp/downloader/basic-auth-redirect", test_basic_auth_redirect);
  ADD ("/pulp/downloader/basic-auth-in-url", test_basic_auth_in_url);
  ADD ("/pulp/downloader/one-of-many-fails", test_one_of_many_fails);
  ADD ("/pulp/downloader/many-fail", test_many_fail);
  ADD ("/pulp/downloader/cancel", test_cancel);
  ADD ("/pulp/downloader/file-urls", test_file_urls);
  ADD ("/pulp/downloader/fetch-bytes-and-file", test_fetch_bytes_and_file);
  ADD ("/pulp/downloader/store-write-fails", test_store_write_fails);
  ADD ("/pulp/downloader/file-disk-full", test_file_disk_full);
  ADD ("/pulp/downloader/bad-config", test_bad_config);
  ADD ("/pulp/downloader/tls", test_tls);
  ADD ("/pulp/downloader/tls-client-cert", test_tls_client_cert);
  ADD ("/pulp/downloader/proxy", test_proxy);
#undef ADD

  status = g_test_run ();
  if (tls_dir != NULL)
    {
      g_autofree gchar *quoted = g_shell_quote (tls_dir);
      g_autofree gchar *command = g_strdup_printf ("rm -rf %s", quoted);
      g_spawn_command_line_sync (command, NULL, NULL, NULL, NULL);
    }
  return status;
}
