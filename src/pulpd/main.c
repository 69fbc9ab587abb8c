/* SPDX-License-Identifier: LGPL-2.1-or-later */
#define G_LOG_DOMAIN "Pulpd"

#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <glib-unix.h>
#include <glib/gi18n.h>
#include <glib/gstdio.h>
#include <locale.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif

#include "pulp-daemon.h"
#include "pulp-engine.h"

#define BUS_NAME "org.pulp.Manager"
/* how long --replace waits for the pulpd it replaces to finish */
#define REPLACE_WAIT_S 30

/* how long a stop waits for running tasks to end */
#define STOP_WAIT_S 20

typedef struct
{
  GMainLoop *loop;
  PulpEngine *engine;
  gboolean acquired;
  gint status;
  gint64 stop_deadline; /* 0 until a signal asked to stop */
} Context;

static gboolean
check_stopped (gpointer user_data)
{
  Context *ctx = user_data;

  if (!pulp_engine_is_idle (ctx->engine) && g_get_monotonic_time () < ctx->stop_deadline)
    return G_SOURCE_CONTINUE;
  g_main_loop_quit (ctx->loop);
  return G_SOURCE_REMOVE;
}

/* The first signal ends the tasks (as interrupted) and stops once they
 * have ended, so that whoever waits for one gets its outcome; a second
 * one, or STOP_WAIT_S, stops at once. */
static gboolean
on_signal (gpointer user_data)
{
  Context *ctx = user_data;

  if (ctx->stop_deadline != 0)
    {
      g_info ("stopping now");
      g_main_loop_quit (ctx->loop);
      return G_SOURCE_CONTINUE;
    }
  g_info ("stopping on a signal");
  ctx->stop_deadline = g_get_monotonic_time () + STOP_WAIT_S * G_USEC_PER_SEC;
  pulp_engine_stop (ctx->engine);
  g_timeout_add (50, check_stopped, ctx);
  check_stopped (ctx);
  return G_SOURCE_CONTINUE;
}

static void
name_acquired (GDBusConnection *connection, const gchar *name, gpointer user_data)
{
  Context *ctx = user_data;
  ctx->acquired = TRUE;
  g_info ("acquired the name %s", name);
}

static void
name_lost (GDBusConnection *connection, const gchar *name, gpointer user_data)
{
  Context *ctx = user_data;
  if (!ctx->acquired)
    {
      g_printerr (_("Cannot own the bus name %s (is another pulpd running? try --replace)\n"), name);
      ctx->status = EXIT_FAILURE;
    }
  else
    {
      /* replaced: the tasks end as on a signal */
      g_info ("lost the name %s, stopping", name);
      if (ctx->engine != NULL && ctx->stop_deadline == 0)
        {
          on_signal (ctx);
          return;
        }
    }
  g_main_loop_quit (ctx->loop);
}

static void
connection_closed (GDBusConnection *connection, gboolean remote, GError *error, gpointer user_data)
{
  Context *ctx = user_data;
  g_info ("the bus connection closed, stopping");
  g_main_loop_quit (ctx->loop);
}

/* One pulpd per state directory: a second one would empty tmp/ under the
 * first one's downloads and discard the version its sync is writing. The
 * lock goes with the process, also when it is killed. Waits up to
 * @wait_s seconds for it; the file says which pulpd holds it. Returns the
 * locked file, or -1. */
static gint
lock_state_dir (const gchar *state_dir, gint wait_s, GError **error)
{
  g_autofree gchar *path = g_build_filename (state_dir, "lock", NULL);
  gint64 deadline = g_get_monotonic_time () + wait_s * G_USEC_PER_SEC;
  g_autofree gchar *pid = NULL;
  gint fd;

  if (g_mkdir_with_parents (state_dir, 0755) != 0
      || (fd = g_open (path, O_RDWR | O_CREAT | O_CLOEXEC, 0644)) < 0)
    {
      gint saved = errno;
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved), _("Cannot open %s: %s"), path,
                   g_strerror (saved));
      return -1;
    }
  while (flock (fd, LOCK_EX | LOCK_NB) != 0)
    {
      gint saved = errno;
      if (saved == EWOULDBLOCK && g_get_monotonic_time () < deadline)
        {
          g_usleep (G_USEC_PER_SEC / 20);
          continue;
        }
      if (saved == EWOULDBLOCK)
        {
          gchar holder[32] = "";
          gssize n = pread (fd, holder, sizeof holder - 1, 0);
          holder[MAX (n, 0)] = '\0';
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_BUSY,
                       _("The state directory %s is in use by another pulpd (process %s)"),
                       state_dir, *g_strstrip (holder) != '\0' ? holder : "?");
        }
      else
        g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved), _("Cannot lock %s: %s"),
                     path, g_strerror (saved));
      close (fd);
      return -1;
    }
  pid = g_strdup_printf ("%d\n", (int) getpid ());
  if (ftruncate (fd, 0) != 0 || pwrite (fd, pid, strlen (pid), 0) < 0)
    g_warning ("cannot write the process id to %s: %s", path, g_strerror (errno));
  return fd;
}

static gchar *
default_importer_dir (void)
{
  g_autofree gchar *exe = g_file_read_link ("/proc/self/exe", NULL);
  g_autofree gchar *build_pulpd = g_build_filename (PULP_BUILD_ROOT, "src", "pulpd", "pulpd", NULL);

  /* uninstalled: use the modules of the build tree */
  if (exe != NULL && g_str_equal (exe, build_pulpd))
    return g_strdup (PULP_BUILD_IMPORTER_DIR);
  return g_strdup (PULP_IMPORTER_DIR);
}

int
main (int argc, char **argv)
{
  gboolean opt_system = FALSE, opt_session = FALSE, opt_replace = FALSE, opt_verbose = FALSE;
  g_autofree gchar *opt_address = NULL;
  g_autofree gchar *opt_state_dir = NULL;
  g_autofree gchar *opt_config = NULL;
  g_autofree gchar *opt_importer_dir = NULL;
  const GOptionEntry entries[] = {
    { "system", 0, 0, G_OPTION_ARG_NONE, &opt_system, N_("Serve the system bus (default)"), NULL },
    { "session", 0, 0, G_OPTION_ARG_NONE, &opt_session, N_("Serve the session bus"), NULL },
    { "address", 0, 0, G_OPTION_ARG_STRING, &opt_address, N_("Serve the bus at this address"), N_("ADDR") },
    { "state-dir", 0, 0, G_OPTION_ARG_FILENAME, &opt_state_dir,
      N_("Where the database and the content store live"), N_("DIR") },
    { "config", 0, 0, G_OPTION_ARG_FILENAME, &opt_config, N_("Read settings from FILE"), N_("FILE") },
    { "importer-dir", 0, 0, G_OPTION_ARG_FILENAME, &opt_importer_dir,
      N_("Load importer modules from DIR"), N_("DIR") },
    { "replace", 0, 0, G_OPTION_ARG_NONE, &opt_replace, N_("Replace a running pulpd"), NULL },
    { "verbose", 'v', 0, G_OPTION_ARG_NONE, &opt_verbose, N_("Log debug messages"), NULL },
    { NULL }
  };
  g_autoptr (GOptionContext) octx = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (GKeyFile) config = g_key_file_new ();
  g_autoptr (GDBusConnection) connection = NULL;
  g_autoptr (PulpEngine) engine = NULL;
  g_autoptr (PulpDaemon) daemon = NULL;
  g_autoptr (GMainLoop) loop = NULL;
  Context ctx = { NULL, NULL, FALSE, EXIT_SUCCESS, 0 };
  const gchar *state_dir;
  gboolean system_bus;
  guint owner_id = 0;
  gint lock_fd;

#ifdef __GLIBC__
  /* A sync allocates and frees blocks of megabytes (batches of rows and
   * their copies in libgda and SQLite) all the time: on the heap, not from
   * mmap(), and kept there while it runs rather than given back and faulted
   * in again (a metadata-only sync of 50,000 rpm packages: 167k page
   * faults down to 16k, 12% less CPU, peak RSS 68 -> 75-80 MB). Fixed
   * thresholds, as glibc's own follow the largest block freed (up to 32
   * MiB); memory goes back to the system when a task finishes (see
   * pulp-daemon.c). */
  mallopt (M_MMAP_THRESHOLD, 4 * 1024 * 1024);
  mallopt (M_TRIM_THRESHOLD, 16 * 1024 * 1024);
#endif
  /* GIO's proxy resolver reads GSettings, and dconf's backend wants a
   * cache in a home directory the service may not see (ProtectHome=):
   * a daemon has no desktop settings to read, and repositories name their
   * proxy. */
  g_setenv ("GSETTINGS_BACKEND", "memory", FALSE);
  setlocale (LC_ALL, "");
  bindtextdomain (GETTEXT_PACKAGE, LOCALEDIR);
  bind_textdomain_codeset (GETTEXT_PACKAGE, "UTF-8");
  textdomain (GETTEXT_PACKAGE);

  octx = g_option_context_new (NULL);
  g_autofree gchar *defaults = NULL;

  g_option_context_set_summary (octx, _("The pulpd content repository service"));
  defaults = g_strdup_printf (_("By default the state lives in %s and settings are read from %s."),
                              PULP_DEFAULT_STATE_DIR, PULP_DEFAULT_CONFIG);
  g_option_context_set_description (octx, defaults);
  g_option_context_add_main_entries (octx, entries, GETTEXT_PACKAGE);
  if (!g_option_context_parse (octx, &argc, &argv, &error))
    {
      g_printerr ("%s\n", error->message);
      return 2;
    }
  if ((opt_system + opt_session + (opt_address != NULL)) > 1)
    {
      g_printerr (_("Give only one of --system, --session and --address\n"));
      return 2;
    }
  if (opt_verbose)
    g_log_set_debug_enabled (TRUE);
  system_bus = !opt_session && opt_address == NULL;

  if (!g_key_file_load_from_file (config, opt_config != NULL ? opt_config : PULP_DEFAULT_CONFIG,
                                  G_KEY_FILE_NONE, &error))
    {
      /* the default file is optional; one that was named is not */
      if (opt_config != NULL || !g_error_matches (error, G_FILE_ERROR, G_FILE_ERROR_NOENT))
        {
          g_printerr (_("Cannot read the configuration %s: %s\n"),
                      opt_config != NULL ? opt_config : PULP_DEFAULT_CONFIG, error->message);
          return EXIT_FAILURE;
        }
      g_clear_error (&error);
    }
  if (opt_importer_dir == NULL)
    opt_importer_dir = default_importer_dir ();

  state_dir = opt_state_dir != NULL ? opt_state_dir : PULP_DEFAULT_STATE_DIR;
  loop = g_main_loop_new (NULL, FALSE);
  ctx.loop = loop;
  if (opt_address != NULL)
    connection = g_dbus_connection_new_for_address_sync (
        opt_address,
        G_DBUS_CONNECTION_FLAGS_AUTHENTICATION_CLIENT | G_DBUS_CONNECTION_FLAGS_MESSAGE_BUS_CONNECTION,
        NULL, NULL, &error);
  else
    connection = g_bus_get_sync (opt_session ? G_BUS_TYPE_SESSION : G_BUS_TYPE_SYSTEM, NULL, &error);
  if (connection == NULL)
    {
      g_printerr (_("Cannot connect to the bus: %s\n"), error->message);
      return EXIT_FAILURE;
    }
  g_dbus_connection_set_exit_on_close (connection, FALSE);
  g_signal_connect (connection, "closed", G_CALLBACK (connection_closed), &ctx);

  /* held until the process ends */
  lock_fd = lock_state_dir (state_dir, 0, &error);
  if (lock_fd < 0 && opt_replace && g_error_matches (error, G_IO_ERROR, G_IO_ERROR_BUSY))
    {
      /* the pulpd that holds it stops when it loses the name to us */
      g_clear_error (&error);
      owner_id = g_bus_own_name_on_connection (
          connection, BUS_NAME,
          G_BUS_NAME_OWNER_FLAGS_ALLOW_REPLACEMENT | G_BUS_NAME_OWNER_FLAGS_REPLACE, name_acquired,
          name_lost, &ctx, NULL);
      while (!ctx.acquired && ctx.status == EXIT_SUCCESS && !g_dbus_connection_is_closed (connection))
        g_main_context_iteration (NULL, TRUE);
      if (!ctx.acquired)
        return EXIT_FAILURE;
      lock_fd = lock_state_dir (state_dir, REPLACE_WAIT_S, &error);
      if (lock_fd < 0 && g_error_matches (error, G_IO_ERROR, G_IO_ERROR_BUSY))
        g_prefix_error (&error, _("The pulpd to replace did not stop within %d s: "),
                        REPLACE_WAIT_S);
    }
  if (lock_fd < 0)
    {
      g_printerr (_("Cannot start: %s\n"), error->message);
      return EXIT_FAILURE;
    }
  engine = pulp_engine_new (state_dir, config, opt_importer_dir, &error);
  if (engine == NULL)
    {
      g_printerr (_("Cannot start: %s\n"), error->message);
      return EXIT_FAILURE;
    }

  ctx.engine = engine;
  daemon = pulp_daemon_new (engine, connection, system_bus);
  if (owner_id == 0)
    owner_id = g_bus_own_name_on_connection (
        connection, BUS_NAME,
        G_BUS_NAME_OWNER_FLAGS_ALLOW_REPLACEMENT | (opt_replace ? G_BUS_NAME_OWNER_FLAGS_REPLACE : 0),
        name_acquired, name_lost, &ctx, NULL);
  g_unix_signal_add (SIGTERM, on_signal, &ctx);
  g_unix_signal_add (SIGINT, on_signal, &ctx);

  g_main_loop_run (loop);

  /* the replies to Wait and the Finished signals of the ended tasks */
  if (!g_dbus_connection_is_closed (connection))
    g_dbus_connection_flush_sync (connection, NULL, NULL);
  g_bus_unown_name (owner_id);
  return ctx.status;
}
