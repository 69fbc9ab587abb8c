/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The least any libsoup-3 client spends on many small files: fetches URLs
 * the way pulpd's downloader does (async API, one thread with its own
 * context and session, CONCURRENCY requests in flight on kept-alive
 * connections) and drops each body: no digest, no file, no record. Built
 * and run by bench/bench-file.sh next to the reference clients.
 *
 *   soup-fetch-floor URL_LIST CONCURRENCY
 *
 * URL_LIST has one URL a line. Prints the wall time in seconds; fails on
 * the first error or non-200 answer.
 */
#include <libsoup/soup.h>
#include <stdlib.h>

typedef struct
{
  SoupSession *session;
  GMainLoop *loop;
  gchar **urls;
  guint next;
  guint active;
  guint concurrency;
} Fetcher;

typedef struct
{
  Fetcher *f;
  const gchar *url;
  SoupMessage *msg;
  GInputStream *body;
  gchar buffer[65536];
} Request;

static void fetch_more (Fetcher *f);

static void
fail (const gchar *url, const gchar *what)
{
  g_printerr ("%s: %s\n", url, what);
  exit (1);
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
      g_input_stream_read_async (r->body, r->buffer, sizeof r->buffer, G_PRIORITY_DEFAULT, NULL,
                                 read_done, r);
      return;
    }
  g_input_stream_close (r->body, NULL, NULL);
  g_object_unref (r->body);
  g_object_unref (r->msg);
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
  g_input_stream_read_async (r->body, r->buffer, sizeof r->buffer, G_PRIORITY_DEFAULT, NULL,
                             read_done, r);
}

static void
fetch_more (Fetcher *f)
{
  while (f->active < f->concurrency && f->urls[f->next] != NULL)
    {
      Request *r = g_new0 (Request, 1);

      r->f = f;
      r->url = f->urls[f->next];
      r->msg = soup_message_new (SOUP_METHOD_GET, r->url);
      if (r->msg == NULL)
        fail (r->url, "not a URL");
      f->next++;
      f->active++;
      soup_session_send_async (f->session, r->msg, G_PRIORITY_DEFAULT, NULL, sent, r);
    }
  if (f->active == 0)
    g_main_loop_quit (f->loop);
}

int
main (int argc, char **argv)
{
  g_autoptr (GError) error = NULL;
  g_autofree gchar *text = NULL;
  g_autoptr (GMainContext) context = g_main_context_new ();
  Fetcher f = { 0 };
  gint64 start;

  if (argc != 3 || atoi (argv[2]) <= 0)
    {
      g_printerr ("usage: %s URL_LIST CONCURRENCY\n", argv[0]);
      return 2;
    }
  if (!g_file_get_contents (argv[1], &text, NULL, &error))
    fail (argv[1], error->message);
  f.urls = g_strsplit (g_strstrip (text), "\n", -1);
  f.concurrency = (guint) atoi (argv[2]);

  g_main_context_push_thread_default (context);
  f.session = soup_session_new_with_options ("max-conns", f.concurrency, "max-conns-per-host",
                                             f.concurrency, NULL);
  f.loop = g_main_loop_new (context, FALSE);
  start = g_get_monotonic_time ();
  fetch_more (&f);
  if (f.active > 0)
    g_main_loop_run (f.loop);
  g_print ("%.2f\n", (g_get_monotonic_time () - start) / 1e6);
  g_main_loop_unref (f.loop);
  g_object_unref (f.session);
  g_strfreev (f.urls);
  return 0;
}
