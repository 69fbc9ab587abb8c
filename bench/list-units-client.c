/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Times org.pulp.Repository.ListUnits as a GDBus client sees it (call,
 * reply received and unpacked), without printing the units: built and run
 * by bench/bench-list-units.sh.
 *
 *   list-units-client ADDRESS REPOSITORY_PATH OFFSET LIMIT RUNS [TYPE]
 *
 * OFFSET "walk" pages through the repository: offsets 0, LIMIT, 2 LIMIT…
 *
 * Prints "median_ms min_ms first_ms units": the first call of a page reads
 * past OFFSET units, later ones start at the mark it left.
 */
#include <gio/gio.h>
#include <stdlib.h>

static int
compare (const void *a, const void *b)
{
  gint64 x = *(const gint64 *) a, y = *(const gint64 *) b;
  return x < y ? -1 : x > y;
}

int
main (int argc, char **argv)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GDBusConnection) bus = NULL;
  g_autofree gint64 *times = NULL;
  gsize units = 0;
  gint64 first;
  guint runs;

  if (argc < 6)
    {
      g_printerr ("usage: %s ADDRESS REPOSITORY_PATH OFFSET LIMIT RUNS [TYPE]\n", argv[0]);
      return 2;
    }
  runs = (guint) atoi (argv[5]);
  times = g_new0 (gint64, runs);
  bus = g_dbus_connection_new_for_address_sync (argv[1],
                                                G_DBUS_CONNECTION_FLAGS_AUTHENTICATION_CLIENT
                                                    | G_DBUS_CONNECTION_FLAGS_MESSAGE_BUS_CONNECTION,
                                                NULL, NULL, &error);
  if (bus == NULL)
    {
      g_printerr ("%s\n", error->message);
      return 1;
    }
  for (guint i = 0; i < runs; i++)
    {
      GVariantDict filter;
      g_autoptr (GVariant) reply = NULL;
      g_autoptr (GVariant) list = NULL;
      gint64 t0;

      g_variant_dict_init (&filter, NULL);
      g_variant_dict_insert (&filter, "offset", "t",
                             g_str_equal (argv[3], "walk") ? i * g_ascii_strtoull (argv[4], NULL, 10)
                                                           : g_ascii_strtoull (argv[3], NULL, 10));
      g_variant_dict_insert (&filter, "limit", "t", g_ascii_strtoull (argv[4], NULL, 10));
      if (argc > 6)
        g_variant_dict_insert (&filter, "type", "s", argv[6]);
      t0 = g_get_monotonic_time ();
      reply = g_dbus_connection_call_sync (bus, "org.pulp.Manager", argv[2], "org.pulp.Repository",
                                           "ListUnits", g_variant_new ("(@a{sv})", g_variant_dict_end (&filter)),
                                           G_VARIANT_TYPE ("(aa{sv})"), G_DBUS_CALL_FLAGS_NONE, 60000,
                                           NULL, &error);
      if (reply == NULL)
        {
          g_printerr ("%s\n", error->message);
          return 1;
        }
      list = g_variant_get_child_value (reply, 0);
      units = g_variant_n_children (list);
      times[i] = g_get_monotonic_time () - t0;
    }
  first = times[0];
  qsort (times, runs, sizeof (gint64), compare);
  g_print ("%.1f %.1f %.1f %zu\n", times[runs / 2] / 1000.0, times[0] / 1000.0, first / 1000.0, units);
  return 0;
}
