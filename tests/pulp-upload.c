/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* pulp-upload: calls org.pulp.Repository.Upload on the system bus with a
 * file descriptor (busctl and gdbus cannot pass one), for the tests.
 *
 *   pulp-upload [--fd=MODE] REPOSITORY_PATH TYPE FILE [METADATA]
 *
 * METADATA is an a{sv} in GVariant text form, e.g. "{'relative-path': <'a/b'>}".
 * MODE says what to pass: read (default; FILE opened for reading), write
 * (opened write-only), directory (FILE is a directory), path (an O_PATH
 * descriptor) or none (the handle names a descriptor the call does not
 * carry, as if it had been closed).
 * Prints `o "TASK_PATH"` like busctl and exits 0, or prints the D-Bus error
 * name and message and exits 1.
 */
#define G_LOG_DOMAIN "PulpUpload"

#include <fcntl.h>
#include <stdio.h>
#include <gio/gio.h>
#include <gio/gunixfdlist.h>
#include <unistd.h>

int
main (int argc, char **argv)
{
  g_autofree gchar *mode = NULL;
  GOptionEntry entries[] = {
    { "fd", 0, 0, G_OPTION_ARG_STRING, &mode, "What to pass: read, write, directory, path, none",
      "MODE" },
    { NULL },
  };
  g_autoptr (GOptionContext) context = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (GDBusConnection) bus = NULL;
  g_autoptr (GUnixFDList) fds = g_unix_fd_list_new ();
  g_autoptr (GVariant) metadata = NULL;
  g_autoptr (GVariant) reply = NULL;
  const gchar *task = NULL;
  gint handle = 0;
  gint fd = -1;

  context = g_option_context_new ("REPOSITORY_PATH TYPE FILE [METADATA]");
  g_option_context_add_main_entries (context, entries, NULL);
  if (!g_option_context_parse (context, &argc, &argv, &error) || argc < 4 || argc > 5)
    {
      g_printerr ("usage: %s [--fd=MODE] REPOSITORY_PATH TYPE FILE [METADATA]\n", argv[0]);
      return 2;
    }
  metadata = g_variant_parse (G_VARIANT_TYPE_VARDICT, argc == 5 ? argv[4] : "@a{sv} {}", NULL, NULL,
                              &error);
  if (metadata == NULL)
    {
      g_printerr ("bad METADATA: %s\n", error->message);
      return 2;
    }

  if (mode == NULL || g_str_equal (mode, "read"))
    fd = open (argv[3], O_RDONLY | O_CLOEXEC);
  else if (g_str_equal (mode, "write"))
    fd = open (argv[3], O_WRONLY | O_CLOEXEC);
  else if (g_str_equal (mode, "directory"))
    fd = open (argv[3], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  else if (g_str_equal (mode, "path"))
    fd = open (argv[3], O_PATH | O_CLOEXEC);
  else if (g_str_equal (mode, "none"))
    handle = 3;
  else
    {
      g_printerr ("unknown --fd mode %s\n", mode);
      return 2;
    }
  if (handle == 0)
    {
      if (fd < 0)
        {
          g_printerr ("cannot open %s: %s\n", argv[3], g_strerror (errno));
          return 2;
        }
      handle = g_unix_fd_list_append (fds, fd, &error);
      close (fd);
      if (handle < 0)
        {
          g_printerr ("%s\n", error->message);
          return 2;
        }
    }

  bus = g_bus_get_sync (G_BUS_TYPE_SYSTEM, NULL, &error);
  if (bus == NULL)
    {
      g_printerr ("%s\n", error->message);
      return 2;
    }
  reply = g_dbus_connection_call_with_unix_fd_list_sync (
      bus, "org.pulp.Manager", argv[1], "org.pulp.Repository", "Upload",
      g_variant_new ("(hs@a{sv})", handle, argv[2], metadata), G_VARIANT_TYPE ("(o)"),
      G_DBUS_CALL_FLAGS_NONE, 60000, fds, NULL, NULL, &error);
  if (reply == NULL)
    {
      g_autofree gchar *name = g_dbus_error_get_remote_error (error);
      g_dbus_error_strip_remote_error (error);
      /* not g_print(): the messages are UTF-8 whatever the locale */
      printf ("%s: %s\n", name != NULL ? name : "(local)", error->message);
      return 1;
    }
  g_variant_get (reply, "(&o)", &task);
  printf ("o \"%s\"\n", task);
  return 0;
}
