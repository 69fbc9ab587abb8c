/* SPDX-License-Identifier: LGPL-2.1-or-later */
#define G_LOG_DOMAIN "FaultServer"

/*
 * fault-server: a small HTTP(S) server on 127.0.0.1 for end-to-end tests of
 * pulpd's downloads. It serves a directory, like any web server, and answers
 * chosen paths with faults described in a rules file that it reads again on
 * every request, so a test changes the faults between syncs by rewriting
 * the file.
 *
 *   fault-server --root DIR [--rules FILE] [--log FILE] [--tls-cert PEM --tls-key PEM]
 *
 * It listens on a free port of 127.0.0.1 and prints that port on stdout as
 * "PORT <n>" once it accepts connections. Every request is appended to the
 * log file as "<decoded path> <status>" (status "-" for the raw faults), so
 * tests can count what a sync fetched.
 *
 * Rules, one a line, "#" comments; the first rule whose path matches applies
 * ("*" matches every path, "/dir/" followed by "*" every path under /dir; otherwise the
 * decoded path, like "/dir/a b.bin"):
 *   PATH status CODE [TIMES]   answer CODE, only for the first TIMES requests
 *                              of that path when TIMES is given
 *   PATH redirect TARGET       302 to TARGET; when PATH and TARGET both end with "*", the
 *                              rest of the path is kept
 *   PATH auth USER PASSWORD    require HTTP basic auth
 *   PATH delay MS              answer normally after MS milliseconds
 *   PATH truncate              announce the whole length, send half, close
 *   PATH reset                 send half the body, then reset the connection
 *   PATH stall                 send half the body, then nothing, ever
 *   PATH slow BYTES MS         send BYTES every MS milliseconds
 */

#include <libsoup/soup.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

static gchar *opt_root;
static gchar *opt_rules;
static gchar *opt_log;
static gchar *opt_tls_cert;
static gchar *opt_tls_key;

/* Requests seen per path, for "status CODE TIMES". */
static GHashTable *seen;
/* Stalled connections are kept open until the server exits. */
static GPtrArray *stalled;

static void
log_request (const gchar *path, const gchar *status)
{
  g_autofree gchar *line = NULL;
  FILE *f;

  if (opt_log == NULL)
    return;
  line = g_strdup_printf ("%s %s\n", path, status);
  f = fopen (opt_log, "a");
  if (f == NULL)
    return;
  fputs (line, f);
  fclose (f);
}

/* The rule for @path, or NULL: a fresh read of the rules file. */
static gchar **
find_rule (const gchar *path)
{
  g_autofree gchar *text = NULL;
  g_auto (GStrv) lines = NULL;

  if (opt_rules == NULL || !g_file_get_contents (opt_rules, &text, NULL, NULL))
    return NULL;
  lines = g_strsplit (text, "\n", -1);
  for (guint i = 0; lines[i] != NULL; i++)
    {
      g_auto (GStrv) words = NULL;
      gint n = 0;

      g_strstrip (lines[i]);
      if (lines[i][0] == '\0' || lines[i][0] == '#')
        continue;
      if (!g_shell_parse_argv (lines[i], &n, &words, NULL) || n < 2)
        continue;
      if (g_str_equal (words[0], path)
          || (g_str_has_suffix (words[0], "*")
              && strncmp (path, words[0], strlen (words[0]) - 1) == 0))
        {
          gchar **rule = g_strdupv (words + 1);

          /* A prefix redirect keeps the rest of the path. */
          if (g_str_equal (rule[0], "redirect") && rule[1] != NULL
              && g_str_has_suffix (rule[1], "*") && g_str_has_suffix (words[0], "*"))
            {
              gchar *target = g_strdup_printf ("%.*s%s", (gint) strlen (rule[1]) - 1, rule[1],
                                               path + strlen (words[0]) - 1);
              g_free (rule[1]);
              rule[1] = target;
            }
          return rule;
        }
    }
  return NULL;
}

typedef struct
{
  GIOStream *stream;
  GBytes *body;
  gsize offset;
  gsize chunk;
} SlowWriter;

static void
slow_writer_free (SlowWriter *w)
{
  g_io_stream_close (w->stream, NULL, NULL);
  g_object_unref (w->stream);
  g_bytes_unref (w->body);
  g_free (w);
}

static gboolean
slow_write_cb (gpointer data)
{
  SlowWriter *w = data;
  gsize size;
  const guint8 *body = g_bytes_get_data (w->body, &size);
  gsize n = MIN (w->chunk, size - w->offset);
  GOutputStream *out = g_io_stream_get_output_stream (w->stream);

  if (!g_output_stream_write_all (out, body + w->offset, n, NULL, NULL, NULL))
    return G_SOURCE_REMOVE; /* the client went away */
  w->offset += n;
  return w->offset < size ? G_SOURCE_CONTINUE : G_SOURCE_REMOVE;
}

/* Sets SO_LINGER to 0 so that closing sends a RST instead of a FIN. */
static void
prepare_reset (GIOStream *stream)
{
  GIOStream *base = stream;

  if (G_IS_TLS_CONNECTION (stream))
    g_object_get (stream, "base-io-stream", &base, NULL);
  else
    g_object_ref (base);
  if (G_IS_SOCKET_CONNECTION (base))
    {
      GSocket *socket = g_socket_connection_get_socket (G_SOCKET_CONNECTION (base));
      struct linger linger = { 1, 0 };

      setsockopt (g_socket_get_fd (socket), SOL_SOCKET, SO_LINGER, &linger, sizeof linger);
    }
  g_object_unref (base);
}

/* Takes over the connection and answers by hand, the way no polite server
 * would. */
static void
raw_fault (SoupServerMessage *msg, const gchar *fault, gchar **args, GBytes *body)
{
  g_autoptr (GIOStream) stream = soup_server_message_steal_connection (msg);
  GOutputStream *out = g_io_stream_get_output_stream (stream);
  gsize size = g_bytes_get_size (body);
  const guint8 *data = g_bytes_get_data (body, NULL);
  g_autofree gchar *head = g_strdup_printf ("HTTP/1.1 200 OK\r\nContent-Length: %" G_GSIZE_FORMAT
                                            "\r\nConnection: close\r\n\r\n",
                                            size);

  if (!g_output_stream_write_all (out, head, strlen (head), NULL, NULL, NULL))
    return;
  if (g_str_equal (fault, "slow"))
    {
      SlowWriter *w = g_new0 (SlowWriter, 1);
      guint ms = args[0] != NULL && args[1] != NULL ? (guint) atoi (args[1]) : 100;

      w->stream = g_object_ref (stream);
      w->body = g_bytes_ref (body);
      w->chunk = args[0] != NULL ? MAX (1, (gsize) atoi (args[0])) : 1024;
      g_timeout_add_full (G_PRIORITY_DEFAULT, ms, slow_write_cb, w,
                          (GDestroyNotify) slow_writer_free);
      return;
    }
  g_output_stream_write_all (out, data, size / 2, NULL, NULL, NULL);
  g_output_stream_flush (out, NULL, NULL);
  if (g_str_equal (fault, "stall"))
    {
      g_ptr_array_add (stalled, g_steal_pointer (&stream));
      return;
    }
  if (g_str_equal (fault, "reset"))
    prepare_reset (stream);
  g_io_stream_close (stream, NULL, NULL);
}

static void
set_status (SoupServerMessage *msg, const gchar *path, guint status)
{
  g_autofree gchar *text = g_strdup_printf ("%u", status);

  soup_server_message_set_status (msg, status, NULL);
  log_request (path, text);
}

static gboolean
serve_file (SoupServerMessage *msg, const gchar *path, GBytes **out_body)
{
  g_autofree gchar *file = g_build_filename (opt_root, path, NULL);
  gchar *contents = NULL;
  gsize length = 0;

  if (strstr (path, "/../") != NULL || g_str_has_suffix (path, "/..")
      || !g_file_test (file, G_FILE_TEST_IS_REGULAR)
      || !g_file_get_contents (file, &contents, &length, NULL))
    return FALSE;
  *out_body = g_bytes_new_take (contents, length);
  return TRUE;
}

typedef struct
{
  SoupServerMessage *msg;
  gchar *path;
  GBytes *body;
} Delayed;

static gboolean
delayed_cb (gpointer data)
{
  Delayed *d = data;

  soup_server_message_set_response (d->msg, "application/octet-stream", SOUP_MEMORY_COPY,
                                    g_bytes_get_data (d->body, NULL), g_bytes_get_size (d->body));
  set_status (d->msg, d->path, SOUP_STATUS_OK);
  soup_server_message_unpause (d->msg);
  g_object_unref (d->msg);
  g_free (d->path);
  g_bytes_unref (d->body);
  g_free (d);
  return G_SOURCE_REMOVE;
}

static gboolean
authorized (SoupServerMessage *msg, const gchar *user, const gchar *password)
{
  const gchar *header = soup_message_headers_get_one (
      soup_server_message_get_request_headers (msg), "Authorization");
  g_autofree gchar *plain = g_strdup_printf ("%s:%s", user, password != NULL ? password : "");
  g_autofree gchar *expected = NULL;
  g_autofree gchar *encoded = g_base64_encode ((const guchar *) plain, strlen (plain));

  expected = g_strdup_printf ("Basic %s", encoded);
  return header != NULL && g_str_equal (header, expected);
}

static void
handler (SoupServer *server,
         SoupServerMessage *msg,
         const gchar *path,
         GHashTable *query,
         gpointer user_data)
{
  g_auto (GStrv) rule = find_rule (path);
  g_autoptr (GBytes) body = NULL;
  guint count = GPOINTER_TO_UINT (g_hash_table_lookup (seen, path)) + 1;
  const gchar *fault = rule != NULL ? rule[0] : "";
  gchar **args = rule != NULL ? rule + 1 : NULL;

  g_hash_table_replace (seen, g_strdup (path), GUINT_TO_POINTER (count));

  if (soup_server_message_get_method (msg) != SOUP_METHOD_GET)
    {
      set_status (msg, path, SOUP_STATUS_NOT_IMPLEMENTED);
      return;
    }
  if (g_str_equal (fault, "status") && args[0] != NULL
      && (args[1] == NULL || count <= (guint) atoi (args[1])))
    {
      set_status (msg, path, (guint) atoi (args[0]));
      return;
    }
  if (g_str_equal (fault, "redirect") && args[0] != NULL)
    {
      soup_server_message_set_redirect (msg, SOUP_STATUS_FOUND, args[0]);
      log_request (path, "302");
      return;
    }
  if (g_str_equal (fault, "auth") && args[0] != NULL && !authorized (msg, args[0], args[1]))
    {
      soup_message_headers_replace (soup_server_message_get_response_headers (msg),
                                    "WWW-Authenticate", "Basic realm=\"pulp-test\"");
      set_status (msg, path, SOUP_STATUS_UNAUTHORIZED);
      return;
    }
  if (!serve_file (msg, path, &body))
    {
      set_status (msg, path, SOUP_STATUS_NOT_FOUND);
      return;
    }
  if (g_str_equal (fault, "truncate") || g_str_equal (fault, "reset")
      || g_str_equal (fault, "stall") || g_str_equal (fault, "slow"))
    {
      log_request (path, "-");
      raw_fault (msg, fault, args, body);
      return;
    }
  if (g_str_equal (fault, "delay") && args[0] != NULL)
    {
      Delayed *d = g_new0 (Delayed, 1);

      d->msg = g_object_ref (msg);
      d->path = g_strdup (path);
      d->body = g_bytes_ref (body);
      soup_server_message_pause (msg);
      g_timeout_add ((guint) atoi (args[0]), delayed_cb, d);
      return;
    }
  soup_server_message_set_response (msg, "application/octet-stream", SOUP_MEMORY_COPY,
                                    g_bytes_get_data (body, NULL), g_bytes_get_size (body));
  set_status (msg, path, SOUP_STATUS_OK);
}

int
main (int argc, char **argv)
{
  const GOptionEntry entries[] = {
    { "root", 0, 0, G_OPTION_ARG_FILENAME, &opt_root, "Directory to serve", "DIR" },
    { "rules", 0, 0, G_OPTION_ARG_FILENAME, &opt_rules, "Fault rules, read per request", "FILE" },
    { "log", 0, 0, G_OPTION_ARG_FILENAME, &opt_log, "Append each request here", "FILE" },
    { "tls-cert", 0, 0, G_OPTION_ARG_FILENAME, &opt_tls_cert, "Serve HTTPS with this", "PEM" },
    { "tls-key", 0, 0, G_OPTION_ARG_FILENAME, &opt_tls_key, "Key of --tls-cert", "PEM" },
    { NULL }
  };
  g_autoptr (GOptionContext) context = g_option_context_new ("- HTTP server with faults");
  g_autoptr (GError) error = NULL;
  g_autoptr (SoupServer) server = NULL;
  g_autoptr (GMainLoop) loop = NULL;
  g_autoptr (GInetAddress) loopback = NULL;
  g_autoptr (GSocketAddress) address = NULL;
  SoupServerListenOptions options = 0;
  GSList *uris;

  g_option_context_add_main_entries (context, entries, NULL);
  if (!g_option_context_parse (context, &argc, &argv, &error) || opt_root == NULL)
    {
      g_printerr ("fault-server: %s\n", error != NULL ? error->message : "--root is required");
      return 2;
    }
  seen = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  stalled = g_ptr_array_new_with_free_func (g_object_unref);

  server = soup_server_new ("server-header", "fault-server", NULL);
  if (opt_tls_cert != NULL)
    {
      g_autoptr (GTlsCertificate) cert
          = g_tls_certificate_new_from_files (opt_tls_cert, opt_tls_key, &error);
      if (cert == NULL)
        {
          g_printerr ("fault-server: %s\n", error->message);
          return 1;
        }
      soup_server_set_tls_certificate (server, cert);
      options |= SOUP_SERVER_LISTEN_HTTPS;
    }
  soup_server_add_handler (server, NULL, handler, NULL, NULL);

  loopback = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  address = g_inet_socket_address_new (loopback, 0);
  if (!soup_server_listen (server, address, options, &error))
    {
      g_printerr ("fault-server: %s\n", error->message);
      return 1;
    }
  uris = soup_server_get_uris (server);
  g_print ("PORT %d\n", g_uri_get_port (uris->data));
  fflush (stdout);
  g_slist_free_full (uris, (GDestroyNotify) g_uri_unref);

  loop = g_main_loop_new (NULL, FALSE);
  g_main_loop_run (loop);
  return 0;
}
