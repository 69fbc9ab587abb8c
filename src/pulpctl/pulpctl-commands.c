/* SPDX-License-Identifier: LGPL-2.1-or-later */
#define G_LOG_DOMAIN "Pulpctl"

#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <glib/gi18n.h>
#include <gio/gunixinputstream.h>
#include <gio/gunixoutputstream.h>
#include <glib/gstdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pulpctl.h"

/*
 * The commands of pulpctl, one function each, in the order of the man
 * page. Each prints text for people (tables), ids only with --quiet, or
 * JSON with --json, and returns the exit status.
 */

/* ---- helpers ------------------------------------------------------------------- */

static gchar *
u64 (guint64 value)
{
  return g_strdup_printf ("%" G_GUINT64_FORMAT, value);
}

static guint64
lookup_t (GVariant *props, const gchar *name)
{
  guint64 value = 0;
  g_variant_lookup (props, name, "t", &value);
  return value;
}

static const gchar *
lookup_s (GVariant *props, const gchar *name)
{
  const gchar *value = "";
  if (!g_variant_lookup (props, name, "&s", &value))
    g_variant_lookup (props, name, "&o", &value);
  return value;
}

static gint
compare_by_id (gconstpointer a, gconstpointer b)
{
  GVariant *pa = *(GVariant *const *)a, *pb = *(GVariant *const *)b;
  GVariant *ia = g_variant_lookup_value (pa, "Id", NULL),
           *ib = g_variant_lookup_value (pb, "Id", NULL);
  gint result;

  if (ia != NULL && ib != NULL && g_variant_is_of_type (ia, G_VARIANT_TYPE_UINT64))
    result = (g_variant_get_uint64 (ia) > g_variant_get_uint64 (ib))
             - (g_variant_get_uint64 (ia) < g_variant_get_uint64 (ib));
  else if (ia != NULL && ib != NULL)
    result = g_strcmp0 (g_variant_get_string (ia, NULL), g_variant_get_string (ib, NULL));
  else
    result = 0;
  g_clear_pointer (&ia, g_variant_unref);
  g_clear_pointer (&ib, g_variant_unref);
  return result;
}

static gint
compare_names (gconstpointer a, gconstpointer b)
{
  return g_strcmp0 (*(const gchar *const *)a, *(const gchar *const *)b);
}

/* The properties of every exported object with @iface, sorted by their Id. */
static GPtrArray *
objects_with (GVariant *objects, const gchar *iface, GHashTable *paths)
{
  GPtrArray *found = g_ptr_array_new_with_free_func ((GDestroyNotify)g_variant_unref);
  GVariantIter iter;
  const gchar *path;
  GVariant *ifaces;

  g_variant_iter_init (&iter, objects);
  while (g_variant_iter_next (&iter, "{&o@a{sa{sv}}}", &path, &ifaces))
    {
      GVariant *props = g_variant_lookup_value (ifaces, iface, G_VARIANT_TYPE_VARDICT);
      if (props != NULL)
        {
          g_ptr_array_add (found, props);
          if (paths != NULL)
            g_hash_table_insert (paths, g_strdup (path), g_strdup (lookup_s (props, "Id")));
        }
      g_variant_unref (ifaces);
    }
  g_ptr_array_sort (found, compare_by_id);
  return found;
}

/* A task that does not exist: pulpd answers NotFound; an older pulpd left
 * the answer to GDBus (UnknownObject, UnknownMethod). */
static gboolean
is_missing_object (const GError *error)
{
  g_autofree gchar *remote = g_dbus_error_get_remote_error (error);

  return g_strcmp0 (remote, "org.pulp.Error.NotFound") == 0
         || g_strcmp0 (remote, "org.freedesktop.DBus.Error.UnknownObject") == 0
         || g_strcmp0 (remote, "org.freedesktop.DBus.Error.UnknownMethod") == 0
         || g_strcmp0 (remote, "org.freedesktop.DBus.Error.UnknownInterface") == 0;
}

static int
fail_task (const GError *error, const gchar *task_path, const gchar *method)
{
  if (is_missing_object (error))
    {
      g_printerr (_("%s: There is no task %s (pulpd keeps ended tasks only for a while).\n"),
                  g_get_prgname (), pulpctl_task_number (task_path));
      return PULPCTL_EXIT_FAILURE;
    }
  return pulpctl_fail (error, method);
}

/* Queues a task with @method and, unless --no-wait, follows it to its end. */
static int
run_task (Pulpctl *ctl, const gchar *repo_path, const gchar *object_path, const gchar *iface,
          const gchar *method, GVariant *parameters, GUnixFDList *fd_list)
{
  g_autoptr (PulpctlFollow) follow = NULL;
  g_autoptr (GVariant) reply = NULL;
  g_autoptr (GError) error = NULL;
  const gchar *task;

  /* subscribed before the call, so no signal of the new task is missed */
  if (!pulpctl_options.no_wait)
    follow = pulpctl_follow_new (ctl, repo_path, TRUE);
  reply = pulpctl_call (ctl, object_path, iface, method, parameters, "(o)", fd_list, &error);
  if (reply == NULL)
    return pulpctl_fail (error, method);
  g_variant_get (reply, "(&o)", &task);
  if (follow != NULL)
    return pulpctl_follow_run (follow, task);
  if (ctl->quiet)
    g_print ("%s\n", pulpctl_task_number (task));
  else
    g_print (_("Task %s queued; follow it with “pulpctl task wait %s”.\n"),
             pulpctl_task_number (task), pulpctl_task_number (task));
  return PULPCTL_EXIT_OK;
}

static int
repository_path_or_fail (Pulpctl *ctl, const gchar *id, gchar **path)
{
  g_autoptr (GError) error = NULL;

  *path = pulpctl_get_repository_path (ctl, id, &error);
  return *path != NULL ? PULPCTL_EXIT_OK : pulpctl_fail (error, "GetRepository");
}

static gboolean
check_policy (const gchar *policy)
{
  return policy == NULL || g_str_equal (policy, "mirror") || g_str_equal (policy, "additive");
}

/* The configuration that --feed, --policy and --set give; NULL after a usage error. */
static GVariant *
config_from_options (void)
{
  g_auto (GVariantDict) dict = G_VARIANT_DICT_INIT (NULL);

  if (!check_policy (pulpctl_options.policy))
    {
      pulpctl_usage_error (_("The policy must be “mirror” or “additive”, not “%s”."),
                           pulpctl_options.policy);
      return NULL;
    }
  if (pulpctl_options.feed != NULL)
    g_variant_dict_insert (&dict, "feed", "s", pulpctl_options.feed);
  if (pulpctl_options.policy != NULL)
    g_variant_dict_insert (&dict, "sync-policy", "s", pulpctl_options.policy);
  for (guint i = 0; pulpctl_options.settings != NULL && pulpctl_options.settings[i] != NULL; i++)
    {
      g_autoptr (GError) error = NULL;
      if (!pulpctl_parse_setting (pulpctl_options.settings[i], &dict, &error))
        {
          pulpctl_usage_error ("%s", error->message);
          return NULL;
        }
    }
  return g_variant_ref_sink (g_variant_dict_end (&dict));
}

/* ---- importers ----------------------------------------------------------------- */

/* Ends a listing: prints @json with --json; otherwise the table, or
 * @when_empty (if not %NULL) when it has no rows (@n). --quiet printed
 * the ids already. */
static int
print_listing (Pulpctl *ctl, JsonNode *json, PulpctlTable *table, guint n, const gchar *when_empty)
{
  if (ctl->json)
    {
      pulpctl_print_json (json);
      return PULPCTL_EXIT_OK;
    }
  json_node_unref (json);
  if (ctl->quiet)
    return PULPCTL_EXIT_OK;
  if (n == 0 && when_empty != NULL)
    g_print ("%s", when_empty);
  else
    pulpctl_table_print (table);
  return PULPCTL_EXIT_OK;
}

int
pulpctl_cmd_importers (Pulpctl *ctl, gchar **args)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GVariant) reply = pulpctl_call (ctl, PULPCTL_MANAGER_PATH, PULPCTL_MANAGER_IFACE,
                                             "ListImporters", NULL, "(a(ss))", NULL, &error);
  g_autoptr (GVariantIter) iter = NULL;
  g_autoptr (PulpctlTable) table = pulpctl_table_new (_("TYPE"), _("DESCRIPTION"), NULL);
  g_autoptr (JsonBuilder) b = json_builder_new ();
  const gchar *type, *description;

  if (reply == NULL)
    return pulpctl_fail (error, "ListImporters");
  json_builder_begin_array (b);
  g_variant_get (reply, "(a(ss))", &iter);
  while (g_variant_iter_next (iter, "(&s&s)", &type, &description))
    {
      json_builder_begin_object (b);
      json_builder_set_member_name (b, "type");
      json_builder_add_string_value (b, type);
      json_builder_set_member_name (b, "description");
      json_builder_add_string_value (b, description);
      json_builder_end_object (b);
      if (ctl->quiet)
        g_print ("%s\n", type);
      pulpctl_table_add (table, type, description, NULL);
    }
  json_builder_end_array (b);
  return print_listing (ctl, json_builder_get_root (b), table, 1, NULL);
}

/* ---- repo ---------------------------------------------------------------------- */

int
pulpctl_cmd_repo_list (Pulpctl *ctl, gchar **args)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GVariant) objects = pulpctl_get_managed_objects (ctl, &error);
  g_autoptr (GPtrArray) repos = NULL;
  g_autoptr (PulpctlTable) table = NULL;
  g_autoptr (JsonArray) array = json_array_new ();

  if (objects == NULL)
    return pulpctl_fail (error, "GetManagedObjects");
  repos = objects_with (objects, PULPCTL_REPOSITORY_IFACE, NULL);
  table = pulpctl_table_new (_("REPOSITORY"), _("IMPORTER"), _("VERSION"), _("UNITS"),
                             _("LAST SYNC"), _("TASK"), NULL);
  for (guint i = 0; i < repos->len; i++)
    {
      GVariant *props = g_ptr_array_index (repos, i);
      const gchar *task = lookup_s (props, "ActiveTask");
      g_autofree gchar *version = u64 (lookup_t (props, "LatestVersion"));
      g_autofree gchar *units = u64 (lookup_t (props, "UnitCount"));
      g_autofree gchar *last = pulpctl_format_time (lookup_t (props, "LastSync"));

      json_array_add_element (array, pulpctl_properties_to_json (props));
      if (ctl->quiet && !ctl->json)
        g_print ("%s\n", lookup_s (props, "Id"));
      pulpctl_table_add (table, lookup_s (props, "Id"), lookup_s (props, "Importer"), version,
                         units, last, g_str_equal (task, "/") ? "-" : pulpctl_task_number (task),
                         NULL);
    }
  return print_listing (ctl, json_node_init_array (json_node_alloc (), array), table, repos->len,
                        _("No repositories. Create one with “pulpctl repo create”.\n"));
}

int
pulpctl_cmd_repo_show (Pulpctl *ctl, gchar **args)
{
  g_autoptr (GError) error = NULL;
  g_autofree gchar *path = NULL;
  g_autoptr (GVariant) props = NULL;
  g_autoptr (GVariant) config = NULL;
  g_autoptr (PulpctlTable) table = NULL;
  g_autofree gchar *version = NULL, *units = NULL, *last = NULL;
  const gchar *task;

  if (repository_path_or_fail (ctl, args[0], &path) != PULPCTL_EXIT_OK)
    return PULPCTL_EXIT_FAILURE;
  props = pulpctl_get_properties (ctl, path, PULPCTL_REPOSITORY_IFACE, &error);
  if (props == NULL)
    return pulpctl_fail (error, NULL);
  if (ctl->json)
    {
      pulpctl_print_json (pulpctl_properties_to_json (props));
      return PULPCTL_EXIT_OK;
    }
  version = u64 (lookup_t (props, "LatestVersion"));
  units = u64 (lookup_t (props, "UnitCount"));
  last = pulpctl_format_time (lookup_t (props, "LastSync"));
  task = lookup_s (props, "ActiveTask");
  table = pulpctl_table_new (_("Repository:"), lookup_s (props, "Id"), NULL);
  pulpctl_table_add (table, _("Importer:"), lookup_s (props, "Importer"), NULL);
  pulpctl_table_add (table, _("Latest version:"), version, NULL);
  pulpctl_table_add (table, _("Units:"), units, NULL);
  pulpctl_table_add (table, _("Last sync:"), last, NULL);
  pulpctl_table_add (table, _("Active task:"),
                     g_str_equal (task, "/") ? _("none") : pulpctl_task_number (task), NULL);
  pulpctl_table_add (table, _("Configuration:"), "", NULL);
  config = g_variant_lookup_value (props, "Config", G_VARIANT_TYPE_VARDICT);
  if (config != NULL)
    {
      g_autoptr (GVariantDict) dict = g_variant_dict_new (config);
      g_autoptr (GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
      GVariantIter iter;
      const gchar *key;

      g_variant_iter_init (&iter, config);
      while (g_variant_iter_next (&iter, "{&sv}", &key, NULL))
        g_ptr_array_add (names, g_strdup (key));
      g_ptr_array_sort (names, compare_names);
      for (guint i = 0; i < names->len; i++)
        {
          const gchar *name = g_ptr_array_index (names, i);
          g_autoptr (GVariant) value = g_variant_dict_lookup_value (dict, name, NULL);
          g_autofree gchar *text = pulpctl_format_value (value);
          g_autofree gchar *label = g_strdup_printf ("  %s", name);
          pulpctl_table_add (table, label, text, NULL);
        }
    }
  pulpctl_table_print (table);
  return PULPCTL_EXIT_OK;
}

int
pulpctl_cmd_repo_create (Pulpctl *ctl, gchar **args)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GVariant) config = NULL;
  g_autoptr (GVariant) reply = NULL;

  if (pulpctl_options.importer == NULL)
    return pulpctl_usage_error (
        _("“repo create” needs --importer TYPE (see “pulpctl importers”)."));
  config = config_from_options ();
  if (config == NULL)
    return PULPCTL_EXIT_USAGE;
  reply = pulpctl_call (ctl, PULPCTL_MANAGER_PATH, PULPCTL_MANAGER_IFACE, "CreateRepository",
                        g_variant_new ("(ss@a{sv})", args[0], pulpctl_options.importer, config),
                        "(o)", NULL, &error);
  if (reply == NULL)
    return pulpctl_fail (error, "CreateRepository");
  if (!ctl->quiet)
    g_print (_("Created repository “%s”.\n"), args[0]);
  return PULPCTL_EXIT_OK;
}

int
pulpctl_cmd_repo_configure (Pulpctl *ctl, gchar **args)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GVariant) config = NULL;
  g_autoptr (GVariant) reply = NULL;
  g_autofree gchar *path = NULL;

  config = config_from_options ();
  if (config == NULL)
    return PULPCTL_EXIT_USAGE;
  if (g_variant_n_children (config) == 0)
    return pulpctl_usage_error (_("Nothing to change: give --feed, --policy or --set KEY=VALUE."));
  if (repository_path_or_fail (ctl, args[0], &path) != PULPCTL_EXIT_OK)
    return PULPCTL_EXIT_FAILURE;
  reply = pulpctl_call (ctl, path, PULPCTL_REPOSITORY_IFACE, "Configure",
                        g_variant_new ("(@a{sv})", config), "()", NULL, &error);
  if (reply == NULL)
    return pulpctl_fail (error, "Configure");
  if (!ctl->quiet)
    g_print (_("Configured repository “%s”.\n"), args[0]);
  return PULPCTL_EXIT_OK;
}

int
pulpctl_cmd_repo_delete (Pulpctl *ctl, gchar **args)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GVariant) reply
      = pulpctl_call (ctl, PULPCTL_MANAGER_PATH, PULPCTL_MANAGER_IFACE, "DeleteRepository",
                      g_variant_new ("(s)", args[0]), "()", NULL, &error);

  if (reply == NULL)
    return pulpctl_fail (error, "DeleteRepository");
  if (!ctl->quiet)
    g_print (_("Deleted repository “%s”.\n"), args[0]);
  return PULPCTL_EXIT_OK;
}

/* ---- content ------------------------------------------------------------------- */

int
pulpctl_cmd_sync (Pulpctl *ctl, gchar **args)
{
  g_auto (GVariantDict) options = G_VARIANT_DICT_INIT (NULL);
  g_autofree gchar *path = NULL;

  if (!check_policy (pulpctl_options.policy))
    return pulpctl_usage_error (_("The policy must be “mirror” or “additive”, not “%s”."),
                                pulpctl_options.policy);
  if (pulpctl_options.force)
    g_variant_dict_insert (&options, "force", "b", TRUE);
  if (pulpctl_options.policy != NULL)
    g_variant_dict_insert (&options, "sync-policy", "s", pulpctl_options.policy);
  if (repository_path_or_fail (ctl, args[0], &path) != PULPCTL_EXIT_OK)
    return PULPCTL_EXIT_FAILURE;
  return run_task (ctl, path, path, PULPCTL_REPOSITORY_IFACE, "Sync",
                   g_variant_new ("(@a{sv})", g_variant_dict_end (&options)), NULL);
}

/* Units asked for at once (ListUnits gives at most 10,000). Pages of 2,000
 * keep pulpctl small (61 MB listing 50,000 rpm units, against 278 MB with
 * pages of 10,000) and were faster too: 500,000 file units in 37 s, not 42. */
#define UNITS_PAGE 2000

/* Prints a page of units as it arrives: held whole until the end, the
 * units of a distribution's repository (rpm metadata) took gigabytes. */
static void
print_units (Pulpctl *ctl, GVariant *page, PulpctlTable *table, guint64 *printed)
{
  for (gsize i = 0; i < g_variant_n_children (page); i++, (*printed)++)
    {
      g_autoptr (GVariant) unit = g_variant_get_child_value (page, i);
      g_autofree gchar *size = NULL;
      g_autofree gchar *shown = NULL;
      gboolean uploaded = FALSE;

      if (ctl->json)
        {
          g_autofree gchar *text = pulpctl_json_text (json_gvariant_serialize (unit), 2);
          g_print ("%s%s", *printed == 0 ? "[\n" : ",\n", text);
          continue;
        }
      if (ctl->quiet)
        {
          g_print ("%s\n", lookup_s (unit, "id"));
          continue;
        }
      size = g_format_size (lookup_t (unit, "size"));
      g_variant_lookup (unit, "uploaded", "b", &uploaded);
      /* TRANSLATORS: after the path of a unit that was uploaded by hand */
      shown
          = g_strconcat (lookup_s (unit, "relative-path"), uploaded ? _(" (uploaded)") : "", NULL);
      pulpctl_table_add (table, lookup_s (unit, "id"), lookup_s (unit, "type"), size, shown, NULL);
    }
  if (!ctl->json && !ctl->quiet)
    pulpctl_table_print (table);
}

int
pulpctl_cmd_units (Pulpctl *ctl, gchar **args)
{
  g_autoptr (GError) error = NULL;
  g_autofree gchar *path = NULL;
  g_autoptr (PulpctlTable) table
      = pulpctl_table_new (_("UNIT"), _("TYPE"), _("SIZE"), _("PATH"), NULL);
  guint64 version = 0, limit = G_MAXUINT64, offset = 0, page_size = UNITS_PAGE, printed = 0;
  gboolean pinned = FALSE;
  int status;

  if (pulpctl_options.version != NULL)
    {
      if (!pulpctl_parse_number (pulpctl_options.version, _("version"), &version, &error))
        return pulpctl_usage_error ("%s", error->message);
      pinned = TRUE;
    }
  if (pulpctl_options.limit != NULL
      && !pulpctl_parse_number (pulpctl_options.limit, _("limit"), &limit, &error))
    return pulpctl_usage_error ("%s", error->message);
  if (repository_path_or_fail (ctl, args[0], &path) != PULPCTL_EXIT_OK)
    return PULPCTL_EXIT_FAILURE;
  if (!pinned && limit > UNITS_PAGE)
    {
      /* pages of one version, even if a sync makes a new one meanwhile */
      g_autoptr (GVariant) props
          = pulpctl_get_properties (ctl, path, PULPCTL_REPOSITORY_IFACE, &error);
      if (props == NULL)
        return pulpctl_fail (error, NULL);
      version = lookup_t (props, "LatestVersion");
      pinned = version > 0;
    }

  while (offset < limit)
    {
      g_auto (GVariantDict) filter = G_VARIANT_DICT_INIT (NULL);
      g_autoptr (GVariant) reply = NULL;
      g_autoptr (GVariant) page = NULL;
      guint64 want = MIN (limit - offset, page_size);

      if (pulpctl_options.type != NULL)
        g_variant_dict_insert (&filter, "type", "s", pulpctl_options.type);
      if (pinned)
        g_variant_dict_insert (&filter, "version", "t", version);
      g_variant_dict_insert (&filter, "offset", "t", offset);
      g_variant_dict_insert (&filter, "limit", "t", want);
      reply = pulpctl_call (ctl, path, PULPCTL_REPOSITORY_IFACE, "ListUnits",
                            g_variant_new ("(@a{sv})", g_variant_dict_end (&filter)), "(aa{sv})",
                            NULL, &error);
      /* a page of large units (rpm metadata) may be more than a reply
       * carries: pulpd says so, and smaller pages will do */
      if (reply == NULL && want > 1 && g_dbus_error_is_remote_error (error))
        {
          g_autofree gchar *name = g_dbus_error_get_remote_error (error);
          if (g_str_equal (name, "org.pulp.Error.InvalidArgument"))
            {
              page_size = want / 2;
              g_clear_error (&error);
              continue;
            }
        }
      if (reply == NULL)
        {
          /* what was printed stays valid JSON */
          if (ctl->json && printed > 0)
            g_print ("\n]\n");
          return pulpctl_fail (error, "ListUnits");
        }
      page = g_variant_get_child_value (reply, 0);
      print_units (ctl, page, table, &printed);
      if (!pulpctl_stdout_ok (&status))
        return status;
      offset += g_variant_n_children (page);
      if (g_variant_n_children (page) < want)
        break;
    }
  if (ctl->json)
    g_print (printed == 0 ? "[]\n" : "\n]\n");
  else if (!ctl->quiet)
    pulpctl_table_print (table); /* the headings of an empty listing */
  return PULPCTL_EXIT_OK;
}

int
pulpctl_cmd_versions (Pulpctl *ctl, gchar **args)
{
  g_autoptr (GError) error = NULL;
  g_autofree gchar *path = NULL;
  g_autoptr (GVariant) reply = NULL;
  g_autoptr (GVariantIter) iter = NULL;
  g_autoptr (PulpctlTable) table
      = pulpctl_table_new (_("VERSION"), _("CREATED"), _("UNITS"), NULL);
  g_autoptr (JsonBuilder) b = json_builder_new ();
  guint64 number, created, count;

  if (repository_path_or_fail (ctl, args[0], &path) != PULPCTL_EXIT_OK)
    return PULPCTL_EXIT_FAILURE;
  reply = pulpctl_call (ctl, path, PULPCTL_REPOSITORY_IFACE, "ListVersions", NULL, "(a(ttt))", NULL,
                        &error);
  if (reply == NULL)
    return pulpctl_fail (error, "ListVersions");
  json_builder_begin_array (b);
  g_variant_get (reply, "(a(ttt))", &iter);
  while (g_variant_iter_next (iter, "(ttt)", &number, &created, &count))
    {
      g_autofree gchar *n = u64 (number), *c = u64 (count), *when = pulpctl_format_time (created);
      json_builder_begin_object (b);
      json_builder_set_member_name (b, "number");
      json_builder_add_int_value (b, (gint64)number);
      json_builder_set_member_name (b, "created");
      json_builder_add_int_value (b, (gint64)created);
      json_builder_set_member_name (b, "unit-count");
      json_builder_add_int_value (b, (gint64)count);
      json_builder_end_object (b);
      if (ctl->quiet && !ctl->json)
        g_print ("%s\n", n);
      pulpctl_table_add (table, n, when, c, NULL);
    }
  json_builder_end_array (b);
  return print_listing (ctl, json_builder_get_root (b), table, 1, NULL);
}

int
pulpctl_cmd_rollback (Pulpctl *ctl, gchar **args)
{
  g_autoptr (GError) error = NULL;
  g_autofree gchar *path = NULL;
  guint64 version;

  if (!pulpctl_parse_number (args[1], _("version"), &version, &error))
    return pulpctl_usage_error ("%s", error->message);
  if (repository_path_or_fail (ctl, args[0], &path) != PULPCTL_EXIT_OK)
    return PULPCTL_EXIT_FAILURE;
  return run_task (ctl, path, path, PULPCTL_REPOSITORY_IFACE, "Rollback",
                   g_variant_new ("(t)", version), NULL);
}

/* pulpd reads an upload only from a regular file (it needs its size and
 * reads it at offsets), so the content of a pipe, such as standard input
 * often is, goes to an unlinked temporary file first. Takes @fd; returns a
 * descriptor of a regular file, or -1 with @error set. */
static int
regular_file_fd (int fd, GError **error)
{
  g_autoptr (GInputStream) in = NULL;
  g_autoptr (GOutputStream) out = NULL;
  g_autofree gchar *name = NULL;
  struct stat st;
  int tmp;

  if (fstat (fd, &st) == 0 && S_ISREG (st.st_mode))
    return fd;
  in = g_unix_input_stream_new (fd, TRUE);
  tmp = g_file_open_tmp ("pulpctl-upload-XXXXXX", &name, error);
  if (tmp < 0)
    return -1;
  /* unlinked at once: nothing is left behind however pulpctl ends */
  g_unlink (name);
  out = g_unix_output_stream_new (tmp, FALSE);
  if (g_output_stream_splice (out, in, G_OUTPUT_STREAM_SPLICE_NONE, NULL, error) < 0)
    {
      close (tmp);
      return -1;
    }
  return tmp;
}

int
pulpctl_cmd_upload (Pulpctl *ctl, gchar **args)
{
  g_autoptr (GError) error = NULL;
  g_autofree gchar *path = NULL;
  g_autoptr (GVariant) props = NULL;
  g_autofree gchar *basename = NULL;
  g_autoptr (GUnixFDList) fd_list = g_unix_fd_list_new ();
  g_auto (GVariantDict) metadata = G_VARIANT_DICT_INIT (NULL);
  const gchar *file = args[1];
  const gchar *importer, *type;
  gboolean from_stdin = g_str_equal (file, "-");
  struct stat st;
  int fd;

  if (repository_path_or_fail (ctl, args[0], &path) != PULPCTL_EXIT_OK)
    return PULPCTL_EXIT_FAILURE;
  props = pulpctl_get_properties (ctl, path, PULPCTL_REPOSITORY_IFACE, &error);
  if (props == NULL)
    return pulpctl_fail (error, NULL);
  importer = lookup_s (props, "Importer");
  type = pulpctl_options.type != NULL ? pulpctl_options.type : importer;
  if (from_stdin && pulpctl_options.path == NULL && g_str_equal (importer, "file"))
    return pulpctl_usage_error (
        _("An upload from standard input to a file repository needs --path PATH."));

  fd = from_stdin ? dup (STDIN_FILENO) : g_open (file, O_RDONLY | O_CLOEXEC, 0);
  if (fd < 0 || fstat (fd, &st) != 0 || S_ISDIR (st.st_mode))
    {
      int saved = fd < 0 ? errno : EISDIR;
      if (fd >= 0)
        close (fd);
      g_printerr (_("%s: Cannot read “%s”: %s\n"), g_get_prgname (), file, g_strerror (saved));
      return PULPCTL_EXIT_FAILURE;
    }
  fd = regular_file_fd (fd, &error);
  if (fd < 0)
    {
      g_printerr (_("%s: Cannot read “%s”: %s\n"), g_get_prgname (), file, error->message);
      return PULPCTL_EXIT_FAILURE;
    }
  /* the list holds a duplicate: ours is closed at once */
  g_unix_fd_list_append (fd_list, fd, &error);
  close (fd);
  if (error != NULL)
    return pulpctl_fail (error, NULL);

  /* Only file units have a path the uploader chooses; an rpm's comes from
   * its header, and the rpm importer rejects any metadata. */
  if (pulpctl_options.path != NULL)
    g_variant_dict_insert (&metadata, "relative-path", "s", pulpctl_options.path);
  else if (!from_stdin && g_str_equal (importer, "file"))
    {
      basename = g_path_get_basename (file);
      if (!g_utf8_validate (basename, -1, NULL))
        {
          g_autofree gchar *shown = g_utf8_make_valid (basename, -1);
          return pulpctl_usage_error (
              _("The file name “%s” is not valid UTF-8, as paths in a repository must be: "
                "give the path with --path."),
              shown);
        }
      g_variant_dict_insert (&metadata, "relative-path", "s", basename);
    }
  return run_task (ctl, path, path, PULPCTL_REPOSITORY_IFACE, "Upload",
                   g_variant_new ("(hs@a{sv})", 0, type, g_variant_dict_end (&metadata)), fd_list);
}

int
pulpctl_cmd_remove (Pulpctl *ctl, gchar **args)
{
  g_autofree gchar *path = NULL;

  if (repository_path_or_fail (ctl, args[0], &path) != PULPCTL_EXIT_OK)
    return PULPCTL_EXIT_FAILURE;
  return run_task (ctl, path, path, PULPCTL_REPOSITORY_IFACE, "RemoveUnits",
                   g_variant_new ("(^as)", (const gchar *const *)args + 1), NULL);
}

int
pulpctl_cmd_cleanup (Pulpctl *ctl, gchar **args)
{
  return run_task (ctl, NULL, PULPCTL_MANAGER_PATH, PULPCTL_MANAGER_IFACE, "CleanupOrphans",
                   g_variant_new_parsed ("(@a{sv} {},)"), NULL);
}

/* ---- tasks --------------------------------------------------------------------- */

static gchar *
task_progress_text (GVariant *props)
{
  const gchar *state = lookup_s (props, "State"), *stage = lookup_s (props, "Stage");
  guint64 done = lookup_t (props, "Done"), total = lookup_t (props, "Total");

  if (!g_str_equal (state, "running") || *stage == '\0')
    return g_strdup ("-");
  if (total > 0)
    return g_strdup_printf ("%s %" G_GUINT64_FORMAT "/%" G_GUINT64_FORMAT, stage, done, total);
  return g_strdup_printf ("%s %" G_GUINT64_FORMAT, stage, done);
}

/* The repository's id rather than its escaped path. */
static const gchar *
repository_name (GVariant *props, GHashTable *repo_ids)
{
  const gchar *path = lookup_s (props, "Repository");
  const gchar *id = repo_ids != NULL ? g_hash_table_lookup (repo_ids, path) : NULL;

  if (g_str_equal (path, "/") || *path == '\0')
    return "-";
  return id != NULL ? id : path;
}

static JsonNode *
task_to_json (GVariant *props, GHashTable *repo_ids)
{
  JsonNode *node = pulpctl_properties_to_json (props);
  const gchar *name = repository_name (props, repo_ids);

  json_object_set_member (json_node_get_object (node), "repository-id",
                          g_str_equal (name, "-")
                              ? json_node_new (JSON_NODE_NULL)
                              : json_node_init_string (json_node_alloc (), name));
  return node;
}

int
pulpctl_cmd_task_list (Pulpctl *ctl, gchar **args)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GVariant) objects = pulpctl_get_managed_objects (ctl, &error);
  g_autoptr (GHashTable) repo_ids = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  g_autoptr (GPtrArray) repos = NULL;
  g_autoptr (GPtrArray) tasks = NULL;
  g_autoptr (PulpctlTable) table = NULL;
  g_autoptr (JsonArray) array = json_array_new ();

  if (objects == NULL)
    return pulpctl_fail (error, "GetManagedObjects");
  repos = objects_with (objects, PULPCTL_REPOSITORY_IFACE, repo_ids);
  tasks = objects_with (objects, PULPCTL_TASK_IFACE, NULL);
  table = pulpctl_table_new (_("TASK"), _("KIND"), _("REPOSITORY"), _("STATE"), _("PROGRESS"),
                             _("CREATED"), NULL);
  for (guint i = 0; i < tasks->len; i++)
    {
      GVariant *props = g_ptr_array_index (tasks, i);
      g_autofree gchar *id = u64 (lookup_t (props, "Id"));
      g_autofree gchar *progress = task_progress_text (props);
      g_autofree gchar *created = pulpctl_format_time (lookup_t (props, "Created"));

      json_array_add_element (array, task_to_json (props, repo_ids));
      if (ctl->quiet && !ctl->json)
        g_print ("%s\n", id);
      pulpctl_table_add (table, id, lookup_s (props, "Kind"), repository_name (props, repo_ids),
                         lookup_s (props, "State"), progress, created, NULL);
    }
  return print_listing (ctl, json_node_init_array (json_node_alloc (), array), table, tasks->len,
                        _("No tasks.\n"));
}

int
pulpctl_cmd_task_show (Pulpctl *ctl, gchar **args)
{
  g_autoptr (GError) error = NULL;
  g_autofree gchar *path = pulpctl_task_path (args[0], &error);
  g_autoptr (GVariant) props = NULL;
  g_autoptr (GVariant) summary = NULL;
  g_autoptr (GVariant) repo_props = NULL;
  g_autoptr (GHashTable) repo_ids = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  g_autoptr (PulpctlTable) table = NULL;
  g_autofree gchar *id = NULL, *progress = NULL, *created = NULL, *started = NULL, *finished = NULL;
  g_autofree gchar *summary_text = NULL;
  const gchar *repo;

  if (path == NULL)
    return pulpctl_usage_error ("%s", error->message);
  props = pulpctl_get_properties (ctl, path, PULPCTL_TASK_IFACE, &error);
  if (props == NULL)
    return fail_task (error, path, NULL);
  /* the repository's id; a deleted repository leaves its path */
  repo = lookup_s (props, "Repository");
  if (!g_str_equal (repo, "/"))
    repo_props = pulpctl_get_properties (ctl, repo, PULPCTL_REPOSITORY_IFACE, NULL);
  if (repo_props != NULL)
    g_hash_table_insert (repo_ids, g_strdup (repo), g_strdup (lookup_s (repo_props, "Id")));
  if (ctl->json)
    {
      pulpctl_print_json (task_to_json (props, repo_ids));
      return PULPCTL_EXIT_OK;
    }
  id = u64 (lookup_t (props, "Id"));
  progress = task_progress_text (props);
  created = pulpctl_format_time (lookup_t (props, "Created"));
  started = pulpctl_format_time (lookup_t (props, "Started"));
  finished = pulpctl_format_time (lookup_t (props, "Finished"));
  summary = g_variant_lookup_value (props, "Summary", G_VARIANT_TYPE_VARDICT);
  summary_text = summary != NULL ? pulpctl_format_summary (summary) : g_strdup ("");
  table = pulpctl_table_new (_("Task:"), id, NULL);
  pulpctl_table_add (table, _("Kind:"), lookup_s (props, "Kind"), NULL);
  pulpctl_table_add (table, _("Repository:"), repository_name (props, repo_ids), NULL);
  pulpctl_table_add (table, _("State:"), lookup_s (props, "State"), NULL);
  pulpctl_table_add (table, _("Progress:"), progress, NULL);
  if (*lookup_s (props, "Error") != '\0')
    pulpctl_table_add (table, _("Error:"), lookup_s (props, "Error"), NULL);
  if (*summary_text != '\0')
    pulpctl_table_add (table, _("Summary:"), summary_text, NULL);
  pulpctl_table_add (table, _("Created:"), created, NULL);
  pulpctl_table_add (table, _("Started:"), started, NULL);
  pulpctl_table_add (table, _("Finished:"), finished, NULL);
  pulpctl_table_print (table);
  return PULPCTL_EXIT_OK;
}

int
pulpctl_cmd_task_cancel (Pulpctl *ctl, gchar **args)
{
  g_autoptr (GError) error = NULL;
  g_autofree gchar *path = pulpctl_task_path (args[0], &error);
  g_autoptr (GVariant) props = NULL;
  g_autoptr (GVariant) reply = NULL;
  const gchar *state;

  if (path == NULL)
    return pulpctl_usage_error ("%s", error->message);
  /* pulpd accepts Cancel of an ended task as a no-op; saying "asked to
   * cancel" then would hide that the task completed or failed. */
  props = pulpctl_get_properties (ctl, path, PULPCTL_TASK_IFACE, &error);
  if (props == NULL)
    return fail_task (error, path, NULL);
  state = lookup_s (props, "State");
  if (!g_str_equal (state, "queued") && !g_str_equal (state, "running"))
    {
      g_printerr (_("%s: Task %s already ended (%s).\n"), g_get_prgname (),
                  pulpctl_task_number (path), state);
      return PULPCTL_EXIT_FAILURE;
    }
  reply = pulpctl_call (ctl, path, PULPCTL_TASK_IFACE, "Cancel", NULL, "()", NULL, &error);
  if (reply == NULL)
    return fail_task (error, path, "Cancel");
  if (!ctl->quiet)
    g_print (_("Asked pulpd to cancel task %s.\n"), pulpctl_task_number (path));
  return PULPCTL_EXIT_OK;
}

int
pulpctl_cmd_task_wait (Pulpctl *ctl, gchar **args)
{
  g_autoptr (GError) error = NULL;
  g_autofree gchar *path = pulpctl_task_path (args[0], &error);
  g_autoptr (GVariant) props = NULL;
  g_autoptr (PulpctlFollow) follow = NULL;

  if (path == NULL)
    return pulpctl_usage_error ("%s", error->message);
  props = pulpctl_get_properties (ctl, path, PULPCTL_TASK_IFACE, &error);
  if (props == NULL)
    return fail_task (error, path, NULL);
  /* Ctrl-C only stops waiting: the task may be someone else's */
  follow = pulpctl_follow_new (ctl, lookup_s (props, "Repository"), FALSE);
  return pulpctl_follow_run (follow, path);
}
