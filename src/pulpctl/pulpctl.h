/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <gio/gio.h>
#include <gio/gunixfdlist.h>
#include <json-glib/json-glib.h>

G_BEGIN_DECLS

#define PULPCTL_BUS_NAME "org.pulp.Manager"
#define PULPCTL_MANAGER_PATH "/org/pulp/Manager"
#define PULPCTL_MANAGER_IFACE "org.pulp.Manager"
#define PULPCTL_REPOSITORY_IFACE "org.pulp.Repository"
#define PULPCTL_TASK_IFACE "org.pulp.Task"

/* Exit statuses, as the man page documents them. */
enum
{
  PULPCTL_EXIT_OK = 0,
  PULPCTL_EXIT_FAILURE = 1, /* the daemon refused, or the task failed or was cancelled */
  PULPCTL_EXIT_USAGE = 2,   /* the command line is wrong */
};

/* What every command gets: the bus and the output settings. */
typedef struct
{
  GDBusConnection *bus;
  gboolean json;
  gboolean quiet;
  gboolean terminal; /* stdout is a terminal: progress is drawn in place */
} Pulpctl;

GVariant *pulpctl_call (Pulpctl *ctl,
                        const gchar *path,
                        const gchar *iface,
                        const gchar *method,
                        GVariant *parameters,
                        const gchar *reply_type,
                        GUnixFDList *fd_list,
                        GError **error);
GVariant *pulpctl_get_properties (Pulpctl *ctl,
                                  const gchar *path,
                                  const gchar *iface,
                                  GError **error);
gchar *pulpctl_get_repository_path (Pulpctl *ctl, const gchar *id, GError **error);
gchar *pulpctl_task_path (const gchar *number, GError **error);
GVariant *pulpctl_get_managed_objects (Pulpctl *ctl, GError **error);

int pulpctl_fail (const GError *error, const gchar *method);
int pulpctl_usage_error (const gchar *format, ...) G_GNUC_PRINTF (1, 2);

gboolean pulpctl_parse_setting (const gchar *arg, GVariantDict *dict, GError **error);
gboolean pulpctl_parse_number (const gchar *arg, const gchar *what, guint64 *value, GError **error);

gchar *pulpctl_format_time (guint64 usec);
gchar *pulpctl_format_value (GVariant *value);
gchar *pulpctl_format_summary (GVariant *summary);
const gchar *pulpctl_task_number (const gchar *task_path);
JsonNode *pulpctl_properties_to_json (GVariant *properties);
gboolean pulpctl_stdout_ok (int *status);
gchar *pulpctl_json_text (JsonNode *node, guint indent);
void pulpctl_print_json (JsonNode *node);

/* A table printed with aligned columns. */
typedef struct _PulpctlTable PulpctlTable;
PulpctlTable *pulpctl_table_new (const gchar *first_heading, ...) G_GNUC_NULL_TERMINATED;
void pulpctl_table_add (PulpctlTable *table, const gchar *first_cell, ...) G_GNUC_NULL_TERMINATED;
void pulpctl_table_print (PulpctlTable *table);
void pulpctl_table_free (PulpctlTable *table);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (PulpctlTable, pulpctl_table_free)

/* Commands that start a task and follow it: see pulpctl-follow.c. */
typedef struct _PulpctlFollow PulpctlFollow;
PulpctlFollow *pulpctl_follow_new (Pulpctl *ctl,
                                   const gchar *repository_path,
                                   gboolean cancel_on_interrupt);
int pulpctl_follow_run (PulpctlFollow *self, const gchar *task_path);
void pulpctl_follow_free (PulpctlFollow *self);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (PulpctlFollow, pulpctl_follow_free)

/* The commands: each gets the positional arguments, already counted. */
int pulpctl_cmd_importers (Pulpctl *ctl, gchar **args);
int pulpctl_cmd_repo_list (Pulpctl *ctl, gchar **args);
int pulpctl_cmd_repo_show (Pulpctl *ctl, gchar **args);
int pulpctl_cmd_repo_create (Pulpctl *ctl, gchar **args);
int pulpctl_cmd_repo_configure (Pulpctl *ctl, gchar **args);
int pulpctl_cmd_repo_delete (Pulpctl *ctl, gchar **args);
int pulpctl_cmd_sync (Pulpctl *ctl, gchar **args);
int pulpctl_cmd_units (Pulpctl *ctl, gchar **args);
int pulpctl_cmd_versions (Pulpctl *ctl, gchar **args);
int pulpctl_cmd_rollback (Pulpctl *ctl, gchar **args);
int pulpctl_cmd_upload (Pulpctl *ctl, gchar **args);
int pulpctl_cmd_remove (Pulpctl *ctl, gchar **args);
int pulpctl_cmd_task_list (Pulpctl *ctl, gchar **args);
int pulpctl_cmd_task_show (Pulpctl *ctl, gchar **args);
int pulpctl_cmd_task_cancel (Pulpctl *ctl, gchar **args);
int pulpctl_cmd_task_wait (Pulpctl *ctl, gchar **args);
int pulpctl_cmd_cleanup (Pulpctl *ctl, gchar **args);

/* Options of the commands, set by the option parser in pulpctl.c. */
typedef struct
{
  gchar *importer;
  gchar *feed;
  gchar *policy;
  gchar **settings;
  gboolean force;
  gboolean no_wait;
  gchar *type;
  gchar *version;
  gchar *limit;
  gchar *path;
} PulpctlOptions;

extern PulpctlOptions pulpctl_options;

G_END_DECLS
