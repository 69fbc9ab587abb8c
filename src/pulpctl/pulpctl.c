/* SPDX-License-Identifier: LGPL-2.1-or-later */
#define G_LOG_DOMAIN "Pulpctl"

#include "config.h"

#include <errno.h>
#include <glib/gi18n.h>
#include <locale.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "pulpctl.h"

/*
 * pulpctl: the command line client of pulpd. It speaks only the public
 * D-Bus contract (dbus-api.md), so anything it does can be done with busctl
 * too. This file holds the command table, option parsing, the connection
 * and the helpers that the commands share: calls, error sentences, tables
 * and JSON.
 */

PulpctlOptions pulpctl_options;

static gboolean opt_system, opt_session, opt_json, opt_quiet;
static gchar *opt_address;

static const GOptionEntry global_entries[]
    = { { "system", 0, 0, G_OPTION_ARG_NONE, &opt_system,
          N_("Talk to pulpd on the system bus (default)"), NULL },
        { "session", 0, 0, G_OPTION_ARG_NONE, &opt_session, N_("Talk to pulpd on the session bus"),
          NULL },
        { "address", 0, 0, G_OPTION_ARG_STRING, &opt_address,
          N_("Talk to pulpd on the bus at ADDR"), N_("ADDR") },
        { "quiet", 'q', 0, G_OPTION_ARG_NONE, &opt_quiet,
          N_("Print only what scripts need: ids in listings, no progress"), NULL },
        { NULL } };

static const GOptionEntry json_entries[]
    = { { "json", 0, 0, G_OPTION_ARG_NONE, &opt_json, N_("Print JSON for scripts"), NULL },
        { NULL } };

#define NO_WAIT_ENTRY                                                                              \
  {                                                                                                \
    "no-wait", 0, 0, G_OPTION_ARG_NONE, &pulpctl_options.no_wait,                                  \
        N_("Print the task number and return without waiting for the task"), NULL                 \
  }
#define SET_ENTRY                                                                                  \
  {                                                                                                \
    "set", 0, 0, G_OPTION_ARG_STRING_ARRAY, &pulpctl_options.settings,                             \
        N_("Set a configuration key (repeatable); KEY:TYPE=VALUE gives the D-Bus type"),          \
        N_("KEY=VALUE")                                                                           \
  }
#define FEED_ENTRY                                                                                 \
  {                                                                                                \
    "feed", 0, 0, G_OPTION_ARG_STRING, &pulpctl_options.feed, N_("The upstream URL"), N_("URL")  \
  }
#define POLICY_ENTRY                                                                               \
  {                                                                                                \
    "policy", 0, 0, G_OPTION_ARG_STRING, &pulpctl_options.policy,                                  \
        N_("The sync policy: mirror or additive"), N_("POLICY")                                  \
  }

static const GOptionEntry no_entries[] = { { NULL } };
static const GOptionEntry create_entries[]
    = { { "importer", 0, 0, G_OPTION_ARG_STRING, &pulpctl_options.importer,
          N_("The importer type (see “pulpctl importers”)"), N_("TYPE") },
        FEED_ENTRY,
        POLICY_ENTRY,
        SET_ENTRY,
        { NULL } };
static const GOptionEntry configure_entries[] = { FEED_ENTRY, POLICY_ENTRY, SET_ENTRY, { NULL } };
static const GOptionEntry sync_entries[]
    = { { "force", 0, 0, G_OPTION_ARG_NONE, &pulpctl_options.force,
          N_("Do not skip unchanged upstream metadata"), NULL },
        POLICY_ENTRY,
        NO_WAIT_ENTRY,
        { NULL } };
static const GOptionEntry units_entries[]
    = { { "type", 0, 0, G_OPTION_ARG_STRING, &pulpctl_options.type, N_("Only units of this type"),
          N_("TYPE") },
        { "version", 0, 0, G_OPTION_ARG_STRING, &pulpctl_options.version,
          N_("List this version instead of the latest"), N_("N") },
        { "limit", 0, 0, G_OPTION_ARG_STRING, &pulpctl_options.limit, N_("List at most N units"),
          N_("N") },
        { NULL } };
static const GOptionEntry upload_entries[]
    = { { "type", 0, 0, G_OPTION_ARG_STRING, &pulpctl_options.type,
          N_("The unit type (default: the importer's type id)"), N_("TYPE") },
        { "path", 0, 0, G_OPTION_ARG_STRING, &pulpctl_options.path,
          N_("The relative path of the unit in the repository"), N_("PATH") },
        NO_WAIT_ENTRY,
        { NULL } };
static const GOptionEntry task_entries[] = { NO_WAIT_ENTRY, { NULL } };

typedef int (*PulpctlRun) (Pulpctl *ctl, gchar **args);

typedef struct
{
  const gchar *name;       /* one or two words */
  const gchar *parameters; /* shown in the usage line */
  const gchar *summary;
  const GOptionEntry *entries;
  guint min_args, max_args;
  gboolean json;
  PulpctlRun run;
} PulpctlCommand;

static const PulpctlCommand commands[] = {
  { "importers", "", N_("List the loaded importers"), no_entries, 0, 0, TRUE,
    pulpctl_cmd_importers },
  { "repo list", "", N_("List the repositories"), no_entries, 0, 0, TRUE, pulpctl_cmd_repo_list },
  { "repo show", N_("REPO"), N_("Show a repository and its configuration"), no_entries, 1, 1,
    TRUE, pulpctl_cmd_repo_show },
  { "repo create", N_("REPO"), N_("Create a repository"), create_entries, 1, 1, FALSE,
    pulpctl_cmd_repo_create },
  { "repo configure", N_("REPO"), N_("Change the configuration of a repository"),
    configure_entries, 1, 1, FALSE, pulpctl_cmd_repo_configure },
  { "repo delete", N_("REPO"), N_("Delete a repository and its versions"), no_entries, 1, 1,
    FALSE, pulpctl_cmd_repo_delete },
  { "sync", N_("REPO"), N_("Sync a repository from its feed"), sync_entries, 1, 1, FALSE,
    pulpctl_cmd_sync },
  { "units", N_("REPO"), N_("List the units of a repository version"), units_entries, 1, 1, TRUE,
    pulpctl_cmd_units },
  { "versions", N_("REPO"), N_("List the versions of a repository"), no_entries, 1, 1, TRUE,
    pulpctl_cmd_versions },
  { "rollback", N_("REPO VERSION"), N_("Make a new version with the content of an older one"),
    task_entries, 2, 2, FALSE, pulpctl_cmd_rollback },
  { "upload", N_("REPO FILE"), N_("Upload a file as a unit"), upload_entries, 2, 2, FALSE,
    pulpctl_cmd_upload },
  { "remove", N_("REPO UNIT-ID…"), N_("Make a new version without some units"), task_entries, 2,
    G_MAXUINT, FALSE, pulpctl_cmd_remove },
  { "task list", "", N_("List the tasks pulpd keeps"), no_entries, 0, 0, TRUE,
    pulpctl_cmd_task_list },
  { "task show", N_("TASK"), N_("Show a task"), no_entries, 1, 1, TRUE, pulpctl_cmd_task_show },
  { "task cancel", N_("TASK"), N_("Cancel a queued or running task"), no_entries, 1, 1, FALSE,
    pulpctl_cmd_task_cancel },
  { "task wait", N_("TASK"), N_("Follow a task until it ends"), no_entries, 1, 1, FALSE,
    pulpctl_cmd_task_wait },
  { "cleanup", "", N_("Remove content that no repository version references"), task_entries, 0, 0,
    FALSE, pulpctl_cmd_cleanup },
};

/* ---- messages ------------------------------------------------------------------ */

/**
 * pulpctl_usage_error:
 *
 * Prints a usage error with a pointer to the help.
 *
 * Returns: %PULPCTL_EXIT_USAGE
 */
int
pulpctl_usage_error (const gchar *format, ...)
{
  g_autofree gchar *message = NULL;
  va_list args;

  va_start (args, format);
  message = g_strdup_vprintf (format, args);
  va_end (args);
  g_printerr ("%s: %s\n", g_get_prgname (), message);
  g_printerr (_("Try “%s --help”.\n"), g_get_prgname ());
  return PULPCTL_EXIT_USAGE;
}

typedef struct
{
  const gchar *method;
  const gchar *action;
  const gchar *what;
} PulpctlAction;

/* The polkit actions of the contract, so that a denial names what was denied. */
static const PulpctlAction actions[] = {
  { "CreateRepository", "org.pulp.manage-repositories", N_("create repositories") },
  { "DeleteRepository", "org.pulp.manage-repositories", N_("delete repositories") },
  { "Configure", "org.pulp.manage-repositories", N_("configure repositories") },
  { "Sync", "org.pulp.sync", N_("sync repositories") },
  { "Upload", "org.pulp.modify-content", N_("change the content of repositories") },
  { "RemoveUnits", "org.pulp.modify-content", N_("change the content of repositories") },
  { "Rollback", "org.pulp.modify-content", N_("change the content of repositories") },
  { "CleanupOrphans", "org.pulp.cleanup", N_("clean up orphaned content") },
  { "Cancel", "org.pulp.cancel-task", N_("cancel tasks that other users started") },
};

/**
 * pulpctl_fail:
 * @error: what a call returned
 * @method: (nullable): the D-Bus method that was called, to name a denied action
 *
 * Prints @error as a sentence: without the "GDBus.Error:…" prefix, and for
 * the errors a person meets most (no daemon, denied) in plain words.
 *
 * Returns: %PULPCTL_EXIT_FAILURE
 */
int
pulpctl_fail (const GError *error, const gchar *method)
{
  g_autofree gchar *remote = g_dbus_error_get_remote_error (error);
  g_autoptr (GError) plain = g_error_copy (error);
  const gchar *prgname = g_get_prgname ();

  g_dbus_error_strip_remote_error (plain);
  if (g_strcmp0 (remote, "org.pulp.Error.PermissionDenied") == 0)
    {
      for (guint i = 0; method != NULL && i < G_N_ELEMENTS (actions); i++)
        if (g_str_equal (actions[i].method, method))
          {
            g_printerr (
                _("%s: Permission denied: you are not allowed to %s (polkit action “%s”).\n"),
                prgname, _(actions[i].what), actions[i].action);
            return PULPCTL_EXIT_FAILURE;
          }
      g_printerr (_("%s: Permission denied: %s\n"), prgname, plain->message);
    }
  else if (g_strcmp0 (remote, "org.freedesktop.DBus.Error.ServiceUnknown") == 0
           || g_strcmp0 (remote, "org.freedesktop.DBus.Error.NameHasNoOwner") == 0
           || (remote != NULL && g_str_has_prefix (remote, "org.freedesktop.DBus.Error.Spawn.")))
    g_printerr (_("%s: pulpd is not running on this bus and could not be started (%s).\n"),
                prgname, plain->message);
  else if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT)
           || g_strcmp0 (remote, "org.freedesktop.DBus.Error.NoReply") == 0)
    g_printerr (_("%s: pulpd did not answer (%s).\n"), prgname, plain->message);
  else
    g_printerr ("%s: %s\n", prgname, plain->message);
  return PULPCTL_EXIT_FAILURE;
}

/* ---- calls --------------------------------------------------------------------- */

/**
 * pulpctl_call:
 * @parameters: (nullable) (transfer floating): the arguments
 * @reply_type: (nullable): the expected reply signature
 * @fd_list: (nullable): file descriptors that @parameters refer to
 *
 * Calls pulpd. Every call may prompt through a polkit agent, and none
 * times out on the client side: a person may take a while to type a
 * password, and Task.Wait lasts as long as the task.
 *
 * Returns: (transfer full): the reply, or %NULL with @error set
 */
GVariant *
pulpctl_call (Pulpctl *ctl, const gchar *path, const gchar *iface, const gchar *method,
              GVariant *parameters, const gchar *reply_type, GUnixFDList *fd_list, GError **error)
{
  return g_dbus_connection_call_with_unix_fd_list_sync (
      ctl->bus, PULPCTL_BUS_NAME, path, iface, method, parameters,
      reply_type != NULL ? G_VARIANT_TYPE (reply_type) : NULL,
      G_DBUS_CALL_FLAGS_ALLOW_INTERACTIVE_AUTHORIZATION, G_MAXINT, fd_list, NULL, NULL, error);
}

/**
 * pulpctl_get_properties:
 *
 * Returns: (transfer full): all properties of @iface at @path, an `a{sv}`
 */
GVariant *
pulpctl_get_properties (Pulpctl *ctl, const gchar *path, const gchar *iface, GError **error)
{
  g_autoptr (GVariant) reply = pulpctl_call (ctl, path, "org.freedesktop.DBus.Properties", "GetAll",
                                             g_variant_new ("(s)", iface), "(a{sv})", NULL, error);
  return reply != NULL ? g_variant_get_child_value (reply, 0) : NULL;
}

/**
 * pulpctl_get_repository_path:
 *
 * Returns: (transfer full): the object path of the repository @id
 */
gchar *
pulpctl_get_repository_path (Pulpctl *ctl, const gchar *id, GError **error)
{
  g_autoptr (GVariant) reply
      = pulpctl_call (ctl, PULPCTL_MANAGER_PATH, PULPCTL_MANAGER_IFACE, "GetRepository",
                      g_variant_new ("(s)", id), "(o)", NULL, error);
  gchar *path = NULL;

  if (reply != NULL)
    g_variant_get (reply, "(o)", &path);
  return path;
}

/**
 * pulpctl_get_managed_objects:
 *
 * Returns: (transfer full): every object pulpd exports, an `a{oa{sa{sv}}}`
 */
GVariant *
pulpctl_get_managed_objects (Pulpctl *ctl, GError **error)
{
  g_autoptr (GVariant) reply
      = pulpctl_call (ctl, "/org/pulp", "org.freedesktop.DBus.ObjectManager", "GetManagedObjects",
                      NULL, "(a{oa{sa{sv}}})", NULL, error);
  return reply != NULL ? g_variant_get_child_value (reply, 0) : NULL;
}

/**
 * pulpctl_task_path:
 * @number: a task number as the user typed it (or a task object path)
 *
 * Returns: (transfer full): the task's object path, or %NULL with @error set
 */
gchar *
pulpctl_task_path (const gchar *number, GError **error)
{
  guint64 n;

  if (g_str_has_prefix (number, "/org/pulp/tasks/"))
    number += strlen ("/org/pulp/tasks/");
  if (!pulpctl_parse_number (number, _("task number"), &n, error))
    return NULL;
  return g_strdup_printf ("/org/pulp/tasks/%" G_GUINT64_FORMAT, n);
}

/**
 * pulpctl_task_number:
 *
 * Returns: the number at the end of a task object path
 */
const gchar *
pulpctl_task_number (const gchar *task_path)
{
  const gchar *slash = strrchr (task_path, '/');
  return slash != NULL ? slash + 1 : task_path;
}

/* ---- values -------------------------------------------------------------------- */

/**
 * pulpctl_parse_number:
 * @what: what the number is, for the error message
 */
gboolean
pulpctl_parse_number (const gchar *arg, const gchar *what, guint64 *value, GError **error)
{
  g_autoptr (GError) local = NULL;

  if (!g_ascii_string_to_unsigned (arg, 10, 0, G_MAXUINT64, value, &local))
    {
      g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                   _("“%s” is not a valid %s: give a number such as 3"), arg, what);
      return FALSE;
    }
  return TRUE;
}

/* The configuration keys that are not strings: the core keys of
 * dbus-api.md and those of the importers that come with pulpd (file: both,
 * rpm: skip-failed), so that "--set skip-failed=true" works as written. */
static const gchar *
known_key_type (const gchar *key)
{
  static const struct
  {
    const gchar *key, *type;
  } keys[] = {
    { "download-concurrency", "u" },
    { "max-retries", "u" },
    { "tls-verify", "b" },
    { "remove-uploaded", "b" },
    { "skip-failed", "b" },
    { "max-manifest-size", "u" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (keys); i++)
    if (g_str_equal (keys[i].key, key))
      return keys[i].type;
  return "s";
}

static GVariant *
parse_typed_value (const gchar *type, const gchar *text, GError **error)
{
  guint64 u;
  gint64 i;

  switch (type[1] != '\0' ? '\0' : type[0])
    {
    case 's':
      return g_variant_new_string (text);
    case 'o':
      if (!g_variant_is_object_path (text))
        break;
      return g_variant_new_object_path (text);
    case 'b':
      if (g_ascii_strcasecmp (text, "true") == 0 || g_ascii_strcasecmp (text, "yes") == 0
          || g_str_equal (text, "1") || g_ascii_strcasecmp (text, "on") == 0)
        return g_variant_new_boolean (TRUE);
      if (g_ascii_strcasecmp (text, "false") == 0 || g_ascii_strcasecmp (text, "no") == 0
          || g_str_equal (text, "0") || g_ascii_strcasecmp (text, "off") == 0)
        return g_variant_new_boolean (FALSE);
      break;
    case 'y':
      if (g_ascii_string_to_unsigned (text, 10, 0, G_MAXUINT8, &u, NULL))
        return g_variant_new_byte ((guchar)u);
      break;
    case 'q':
      if (g_ascii_string_to_unsigned (text, 10, 0, G_MAXUINT16, &u, NULL))
        return g_variant_new_uint16 ((guint16)u);
      break;
    case 'u':
      if (g_ascii_string_to_unsigned (text, 10, 0, G_MAXUINT32, &u, NULL))
        return g_variant_new_uint32 ((guint32)u);
      break;
    case 't':
      if (g_ascii_string_to_unsigned (text, 10, 0, G_MAXUINT64, &u, NULL))
        return g_variant_new_uint64 (u);
      break;
    case 'n':
      if (g_ascii_string_to_signed (text, 10, G_MININT16, G_MAXINT16, &i, NULL))
        return g_variant_new_int16 ((gint16)i);
      break;
    case 'i':
      if (g_ascii_string_to_signed (text, 10, G_MININT32, G_MAXINT32, &i, NULL))
        return g_variant_new_int32 ((gint32)i);
      break;
    case 'x':
      if (g_ascii_string_to_signed (text, 10, G_MININT64, G_MAXINT64, &i, NULL))
        return g_variant_new_int64 (i);
      break;
    default:
      {
        /* containers and doubles: GVariant text format, e.g. key:as=['a','b'] */
        GVariant *v = g_variant_parse (G_VARIANT_TYPE (type), text, NULL, NULL, NULL);
        if (v != NULL)
          return v;
      }
      break;
    }
  g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
               _("“%s” is not a value of D-Bus type “%s”"), text, type);
  return NULL;
}

/**
 * pulpctl_parse_setting:
 * @arg: `KEY=VALUE` or `KEY:TYPE=VALUE`
 * @dict: where the value goes
 *
 * The type of a known key is the contract's or its importer's; other keys
 * are strings unless the user names a D-Bus type, because the client cannot
 * know the keys of every importer.
 */
gboolean
pulpctl_parse_setting (const gchar *arg, GVariantDict *dict, GError **error)
{
  const gchar *eq = strchr (arg, '=');
  g_autofree gchar *key = NULL;
  const gchar *type;
  gchar *colon;
  GVariant *value;

  if (eq == NULL || eq == arg)
    {
      g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                   _("“%s” is not a setting: write KEY=VALUE or KEY:TYPE=VALUE"), arg);
      return FALSE;
    }
  key = g_strndup (arg, eq - arg);
  colon = strchr (key, ':');
  if (colon != NULL)
    {
      *colon = '\0';
      type = colon + 1;
      if (!g_variant_type_string_is_valid (type)
          || !g_variant_type_is_definite (G_VARIANT_TYPE (type)))
        {
          g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                       _("“%s” in “%s” is not a D-Bus type such as s, b, u or as"), type, arg);
          return FALSE;
        }
    }
  else
    type = known_key_type (key);
  value = parse_typed_value (type, eq + 1, error);
  if (value == NULL)
    {
      g_prefix_error (error, _("Setting “%s”: "), key);
      return FALSE;
    }
  g_variant_dict_insert_value (dict, key, value);
  return TRUE;
}

/**
 * pulpctl_format_time:
 * @usec: microseconds since the epoch, 0 for never
 *
 * Returns: (transfer full): local time, or "never"
 */
gchar *
pulpctl_format_time (guint64 usec)
{
  g_autoptr (GDateTime) dt = NULL;

  if (usec == 0)
    return g_strdup (_("never"));
  dt = g_date_time_new_from_unix_local ((gint64)(usec / G_USEC_PER_SEC));
  return dt != NULL ? g_date_time_format (dt, "%Y-%m-%d %H:%M:%S") : g_strdup ("?");
}

/**
 * pulpctl_format_value:
 *
 * Returns: (transfer full): strings as they are, anything else in GVariant text format
 */
gchar *
pulpctl_format_value (GVariant *value)
{
  g_autoptr (GVariant) inner = NULL;

  if (g_variant_is_of_type (value, G_VARIANT_TYPE_VARIANT))
    value = inner = g_variant_get_variant (value);
  if (g_variant_is_of_type (value, G_VARIANT_TYPE_STRING)
      || g_variant_is_of_type (value, G_VARIANT_TYPE_OBJECT_PATH))
    return g_variant_dup_string (value, NULL);
  return g_variant_print (value, FALSE);
}

static gint
compare_strings (gconstpointer a, gconstpointer b)
{
  return g_strcmp0 (*(const gchar *const *)a, *(const gchar *const *)b);
}

/**
 * pulpctl_format_summary:
 * @summary: a task summary, `a{sv}`
 *
 * Returns: (transfer full): "added 3, 1.2 MB, removed 0, …", sorted by key
 */
gchar *
pulpctl_format_summary (GVariant *summary)
{
  g_autoptr (GPtrArray) keys = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GPtrArray) parts = g_ptr_array_new_with_free_func (g_free);
  GVariantIter iter;
  const gchar *key;

  g_variant_iter_init (&iter, summary);
  while (g_variant_iter_next (&iter, "{&sv}", &key, NULL))
    g_ptr_array_add (keys, g_strdup (key));
  g_ptr_array_sort (keys, compare_strings);
  for (guint i = 0; i < keys->len; i++)
    {
      g_autoptr (GVariant) value = NULL;
      g_autofree gchar *text = NULL;

      key = g_ptr_array_index (keys, i);
      value = g_variant_lookup_value (summary, key, NULL);
      /* the size names its unit ("17 bytes", "1.2 MB"): "bytes" before it would repeat it */
      if (g_str_equal (key, "bytes") && g_variant_is_of_type (value, G_VARIANT_TYPE_UINT64))
        {
          g_ptr_array_add (parts, g_format_size (g_variant_get_uint64 (value)));
          continue;
        }
      if (g_str_equal (key, "bytes-freed") && g_variant_is_of_type (value, G_VARIANT_TYPE_UINT64))
        {
          g_autofree gchar *size = g_format_size (g_variant_get_uint64 (value));
          g_ptr_array_add (parts, g_strdup_printf (_("%s freed"), size));
          continue;
        }
      text = pulpctl_format_value (value);
      g_ptr_array_add (parts, g_strdup_printf ("%s %s", key, text));
    }
  g_ptr_array_add (parts, NULL);
  return g_strjoinv (", ", (gchar **)parts->pdata);
}

/* "LatestVersion" → "latest-version": JSON keys as the configuration keys are written */
static gchar *
kebab_case (const gchar *name)
{
  GString *s = g_string_new (NULL);

  for (const gchar *p = name; *p != '\0'; p++)
    {
      if (g_ascii_isupper (*p) && p != name)
        g_string_append_c (s, '-');
      g_string_append_c (s, g_ascii_tolower (*p));
    }
  return g_string_free (s, FALSE);
}

/**
 * pulpctl_properties_to_json:
 * @properties: an `a{sv}` of D-Bus properties
 *
 * Returns: (transfer full): a JSON object; the object path "/" (none) becomes null
 */
JsonNode *
pulpctl_properties_to_json (GVariant *properties)
{
  g_autoptr (JsonBuilder) b = json_builder_new ();
  GVariantIter iter;
  const gchar *name;
  GVariant *value;

  json_builder_begin_object (b);
  g_variant_iter_init (&iter, properties);
  while (g_variant_iter_next (&iter, "{&sv}", &name, &value))
    {
      g_autofree gchar *key = kebab_case (name);
      json_builder_set_member_name (b, key);
      if (g_variant_is_of_type (value, G_VARIANT_TYPE_OBJECT_PATH)
          && g_str_equal (g_variant_get_string (value, NULL), "/"))
        json_builder_add_null_value (b);
      else
        json_builder_add_value (b, json_gvariant_serialize (value));
      g_variant_unref (value);
    }
  json_builder_end_object (b);
  return json_builder_get_root (b);
}

/**
 * pulpctl_json_text:
 * @node: (transfer full): what to print
 * @indent: spaces in front of every line
 *
 * Returns: (transfer full): @node as pretty JSON text, without a final
 *   newline
 */
gchar *
pulpctl_json_text (JsonNode *node, guint indent)
{
  g_autoptr (JsonGenerator) gen = json_generator_new ();
  g_autofree gchar *text = NULL;
  GString *out;

  json_generator_set_pretty (gen, TRUE);
  json_generator_set_root (gen, node);
  json_node_unref (node);
  text = json_generator_to_data (gen, NULL);
  out = g_string_sized_new (strlen (text) + indent);
  g_string_append_printf (out, "%*s", (int) indent, "");
  for (const gchar *p = text; *p != '\0'; p++)
    {
      /* json-glib 1.6 leaves U+001F unescaped (it escapes below it),
       * which JSON does not allow; rpm dependencies hold it as their
       * field separator. Outside strings JSON has no control characters. */
      if (*p == '\x1f')
        g_string_append (out, "\\u001f");
      else
        g_string_append_c (out, *p);
      if (*p == '\n')
        g_string_append_printf (out, "%*s", (int) indent, "");
    }
  return g_string_free (out, FALSE);
}

/**
 * pulpctl_print_json:
 * @node: (transfer full): what to print
 */
void
pulpctl_print_json (JsonNode *node)
{
  g_autofree gchar *text = pulpctl_json_text (node, 0);

  g_print ("%s\n", text);
}

/**
 * pulpctl_stdout_ok:
 * @status: (out): the exit status if not
 *
 * Whether what was printed so far got out. A reader that went away (as
 * `| head` does) is no error: @status becomes success, and the rest would
 * go nowhere. Any other failure (a full disk) is reported.
 */
gboolean
pulpctl_stdout_ok (int *status)
{
  int saved;

  *status = PULPCTL_EXIT_OK;
  if (fflush (stdout) == 0 && !ferror (stdout))
    return TRUE;
  saved = errno;
  if (saved != EPIPE)
    {
      g_printerr (_("%s: Cannot write the output: %s\n"), g_get_prgname (), g_strerror (saved));
      *status = PULPCTL_EXIT_FAILURE;
    }
  return FALSE;
}

/* ---- tables -------------------------------------------------------------------- */

struct _PulpctlTable
{
  GPtrArray *rows; /* of GStrv, not printed yet; the headings first */
  guint columns;
  guint *widths; /* of the columns as printed so far */
};

static GStrv
collect_cells (const gchar *first, va_list args)
{
  g_autoptr (GStrvBuilder) b = g_strv_builder_new ();

  for (const gchar *cell = first; cell != NULL; cell = va_arg (args, const gchar *))
    g_strv_builder_add (b, cell);
  return g_strv_builder_end (b);
}

/**
 * pulpctl_table_new:
 * @first_heading: the heading of the first column; the list ends with %NULL
 */
PulpctlTable *
pulpctl_table_new (const gchar *first_heading, ...)
{
  PulpctlTable *self = g_new0 (PulpctlTable, 1);
  va_list args;
  GStrv headings;

  va_start (args, first_heading);
  headings = collect_cells (first_heading, args);
  va_end (args);
  self->rows = g_ptr_array_new_with_free_func ((GDestroyNotify)g_strfreev);
  self->columns = g_strv_length (headings);
  self->widths = g_new0 (guint, self->columns);
  g_ptr_array_add (self->rows, headings);
  return self;
}

/**
 * pulpctl_table_add:
 * @first_cell: the first cell of a row; the list ends with %NULL
 */
void
pulpctl_table_add (PulpctlTable *self, const gchar *first_cell, ...)
{
  va_list args;

  va_start (args, first_cell);
  g_ptr_array_add (self->rows, collect_cells (first_cell, args));
  va_end (args);
}

/**
 * pulpctl_table_print:
 *
 * Prints the rows added since the last call (the headings the first time)
 * with the columns aligned (by characters, not bytes, so translated
 * headings line up too), and forgets them: a long listing is printed in
 * parts as it arrives. A column is as wide as its widest cell so far.
 */
void
pulpctl_table_print (PulpctlTable *self)
{
  for (guint r = 0; r < self->rows->len; r++)
    {
      GStrv row = g_ptr_array_index (self->rows, r);
      for (guint c = 0; c < self->columns && row[c] != NULL; c++)
        self->widths[c] = MAX (self->widths[c], (guint)g_utf8_strlen (row[c], -1));
    }
  for (guint r = 0; r < self->rows->len; r++)
    {
      GStrv row = g_ptr_array_index (self->rows, r);
      g_autoptr (GString) line = g_string_new (NULL);
      for (guint c = 0; c < self->columns && row[c] != NULL; c++)
        {
          g_string_append (line, row[c]);
          if (c + 1 < self->columns)
            for (guint pad = g_utf8_strlen (row[c], -1); pad < self->widths[c] + 2; pad++)
              g_string_append_c (line, ' ');
        }
      while (line->len > 0 && line->str[line->len - 1] == ' ')
        g_string_truncate (line, line->len - 1);
      g_print ("%s\n", line->str);
    }
  g_ptr_array_set_size (self->rows, 0);
}

void
pulpctl_table_free (PulpctlTable *self)
{
  if (self == NULL)
    return;
  g_ptr_array_unref (self->rows);
  g_free (self->widths);
  g_free (self);
}

/* ---- main ---------------------------------------------------------------------- */

static gchar *
commands_description (void)
{
  GString *s = g_string_new (_("Commands:"));

  g_string_append_c (s, '\n');
  for (guint i = 0; i < G_N_ELEMENTS (commands); i++)
    {
      g_autofree gchar *usage
          = g_strdup_printf ("%s %s", commands[i].name, _(commands[i].parameters));
      /* padded by characters: a translated usage may hold "…" and umlauts */
      g_string_append_printf (s, "  %s", usage);
      for (glong pad = g_utf8_strlen (usage, -1); pad < 29; pad++)
        g_string_append_c (s, ' ');
      g_string_append_printf (s, "%s\n", _(commands[i].summary));
    }
  g_string_append_printf (s, "\n%s\n",
                          _("Run “pulpctl COMMAND --help” for the options of a command."));
  return g_string_free (s, FALSE);
}

static GOptionContext *
main_context (void)
{
  GOptionContext *octx = g_option_context_new (_("COMMAND"));
  g_autofree gchar *description = commands_description ();

  g_option_context_set_summary (octx, _("Manage the content repositories of pulpd."));
  g_option_context_set_description (octx, description);
  g_option_context_add_main_entries (octx, global_entries, GETTEXT_PACKAGE);
  return octx;
}

static void
print_help (void)
{
  g_autoptr (GOptionContext) octx = main_context ();
  g_autofree gchar *help = g_option_context_get_help (octx, TRUE, NULL);
  g_print ("%s", help);
}

/* Takes the first argument that is no option out of argv. */
static gchar *
take_word (int *argc, char **argv, int from)
{
  for (int i = from; i < *argc; i++)
    {
      if (g_str_equal (argv[i], "--"))
        return NULL;
      if (argv[i][0] != '-')
        {
          gchar *word = argv[i];
          memmove (&argv[i], &argv[i + 1], (*argc - i) * sizeof (char *));
          (*argc)--;
          return word;
        }
    }
  return NULL;
}

static GDBusConnection *
connect_bus (GError **error)
{
  if (opt_address != NULL)
    return g_dbus_connection_new_for_address_sync (
        opt_address,
        G_DBUS_CONNECTION_FLAGS_AUTHENTICATION_CLIENT
            | G_DBUS_CONNECTION_FLAGS_MESSAGE_BUS_CONNECTION,
        NULL, NULL, error);
  return g_bus_get_sync (opt_session ? G_BUS_TYPE_SESSION : G_BUS_TYPE_SYSTEM, NULL, error);
}

int
main (int argc, char **argv)
{
  g_autoptr (GOptionContext) first = NULL;
  g_autoptr (GOptionContext) octx = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (GDBusConnection) bus = NULL;
  g_autofree gchar *name = NULL;
  g_autofree gchar *usage = NULL;
  const PulpctlCommand *command = NULL;
  gchar *word, *sub;
  GOptionGroup *group;
  guint nargs;
  Pulpctl ctl = { NULL };
  int status;

  setlocale (LC_ALL, "");
  bindtextdomain (GETTEXT_PACKAGE, LOCALEDIR);
  bind_textdomain_codeset (GETTEXT_PACKAGE, "UTF-8");
  textdomain (GETTEXT_PACKAGE);
  g_set_prgname ("pulpctl");

  /* Global options may stand anywhere; the command's own come in a second pass. */
  first = main_context ();
  g_option_context_set_ignore_unknown_options (first, TRUE);
  g_option_context_set_help_enabled (first, FALSE);
  if (!g_option_context_parse (first, &argc, &argv, &error))
    return pulpctl_usage_error ("%s", error->message);

  word = take_word (&argc, argv, 1);
  if (word == NULL || g_str_equal (word, "help"))
    {
      for (int i = 1; word == NULL && i < argc; i++)
        if (g_str_equal (argv[i], "--help") || g_str_equal (argv[i], "-h")
            || g_str_equal (argv[i], "-?"))
          word = "help";
      if (word == NULL)
        return pulpctl_usage_error (_("No command given."));
      print_help ();
      return PULPCTL_EXIT_OK;
    }
  if (g_str_equal (word, "repo") || g_str_equal (word, "task"))
    {
      sub = take_word (&argc, argv, 1);
      if (sub == NULL)
        return pulpctl_usage_error (_("“%s” needs a subcommand, such as “%s list”."), word, word);
      name = g_strdup_printf ("%s %s", word, sub);
    }
  else
    name = g_strdup (word);
  for (guint i = 0; i < G_N_ELEMENTS (commands); i++)
    if (g_str_equal (commands[i].name, name))
      command = &commands[i];
  if (command == NULL)
    return pulpctl_usage_error (_("Unknown command “%s”."), name);

  usage = g_strdup_printf ("%s %s", command->name, _(command->parameters));
  octx = g_option_context_new (usage);
  g_option_context_set_summary (octx, _(command->summary));
  g_option_context_add_main_entries (octx, command->entries, GETTEXT_PACKAGE);
  if (command->json)
    g_option_context_add_main_entries (octx, json_entries, GETTEXT_PACKAGE);
  group = g_option_group_new ("global", _("Global options:"), _("Show the global options"), NULL,
                              NULL);
  g_option_group_add_entries (group, global_entries);
  g_option_group_set_translation_domain (group, GETTEXT_PACKAGE);
  g_option_context_add_group (octx, group);
  if (!g_option_context_parse (octx, &argc, &argv, &error))
    return pulpctl_usage_error ("%s", error->message);
  /* "--" ends the options, so that an argument may start with "-" (a file
   * to upload, say); GLib stops at it but leaves it in argv */
  for (int i = 1; i < argc; i++)
    if (g_str_equal (argv[i], "--"))
      {
        memmove (&argv[i], &argv[i + 1], (argc - i) * sizeof (char *));
        argc--;
        break;
      }

  /* argv[0] is the program; what is left are the command's arguments */
  nargs = (guint)argc - 1;
  if (nargs < command->min_args)
    return pulpctl_usage_error (_("Missing arguments. Usage: pulpctl %s %s"), command->name,
                                _(command->parameters));
  if (nargs > command->max_args)
    return pulpctl_usage_error (_("Too many arguments for “%s”: %s."), command->name,
                                argv[command->max_args + 1]);
  if (opt_system + opt_session + (opt_address != NULL) > 1)
    return pulpctl_usage_error (_("Give only one of --system, --session and --address."));
  /* What goes on the bus must be UTF-8; the file to upload is a local name
   * and only read. */
  for (guint i = 1; i <= nargs; i++)
    if (!(g_str_equal (command->name, "upload") && i == 2) && !g_utf8_validate (argv[i], -1, NULL))
      {
        g_autofree gchar *shown = g_utf8_make_valid (argv[i], -1);
        return pulpctl_usage_error (_("“%s” is not valid UTF-8."), shown);
      }

  bus = connect_bus (&error);
  if (bus == NULL)
    {
      g_printerr (_("%s: Cannot connect to the bus: %s\n"), g_get_prgname (), error->message);
      return PULPCTL_EXIT_FAILURE;
    }
  ctl.bus = bus;
  ctl.json = opt_json;
  ctl.quiet = opt_quiet;
  ctl.terminal = isatty (STDOUT_FILENO);
  status = command->run (&ctl, argv + 1);
  if (status == PULPCTL_EXIT_OK)
    pulpctl_stdout_ok (&status);
  return status;
}
