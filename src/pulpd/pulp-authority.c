/* SPDX-License-Identifier: LGPL-2.1-or-later */
#define G_LOG_DOMAIN "PulpAuthority"

#include "config.h"

#include <glib/gi18n.h>
#include <polkit/polkit.h>
#include <unistd.h>

#include "pulp-authority.h"
#include "pulp-error.h"

/**
 * PulpAuthority:
 *
 * Decides whether the caller of a method may change state. On the system
 * bus polkit decides, with the caller's bus name as subject. On a session
 * or private bus polkit decides for the caller's process if polkitd runs;
 * without it only callers with the daemon's own uid may change state.
 */
struct _PulpAuthority
{
  GObject parent_instance;
  gboolean system_bus;
  PolkitAuthority *polkit;
};

G_DEFINE_TYPE (PulpAuthority, pulp_authority, G_TYPE_OBJECT)

static void
pulp_authority_finalize (GObject *object)
{
  PulpAuthority *self = PULP_AUTHORITY (object);
  g_clear_object (&self->polkit);
  G_OBJECT_CLASS (pulp_authority_parent_class)->finalize (object);
}

static void
pulp_authority_class_init (PulpAuthorityClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = pulp_authority_finalize;
}

static void
pulp_authority_init (PulpAuthority *self)
{
}

/**
 * pulp_authority_new:
 * @system_bus: %TRUE if the daemon serves the system bus
 *
 * Returns: (transfer full): a new #PulpAuthority
 */
PulpAuthority *
pulp_authority_new (gboolean system_bus)
{
  PulpAuthority *self = g_object_new (PULP_TYPE_AUTHORITY, NULL);
  g_autoptr (GError) error = NULL;

  self->system_bus = system_bus;
  self->polkit = polkit_authority_get_sync (NULL, &error);
  if (self->polkit == NULL)
    g_info ("polkit is not available: %s", error->message);
  return self;
}

typedef struct
{
  PulpAuthority *self;
  GDBusMethodInvocation *invocation;
  gchar *action_id;
  PulpAuthorizedFunc func;
  gpointer user_data;
  guint32 uid;
} Check;

static void
check_free (Check *check)
{
  g_object_unref (check->self);
  g_object_unref (check->invocation);
  g_free (check->action_id);
  g_free (check);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (Check, check_free)

static void
deny (Check *check, const gchar *reason)
{
  g_dbus_method_invocation_return_error (check->invocation, PULP_ERROR, PULP_ERROR_PERMISSION_DENIED,
                                         _("Not authorized to perform “%s”: %s"), check->action_id,
                                         reason);
}

static void
polkit_done (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (Check) check = user_data;
  g_autoptr (GError) error = NULL;
  g_autoptr (PolkitAuthorizationResult) res
      = polkit_authority_check_authorization_finish (POLKIT_AUTHORITY (source), result, &error);

  if (res == NULL)
    deny (check, error->message);
  else if (!polkit_authorization_result_get_is_authorized (res))
    deny (check, polkit_authorization_result_get_is_challenge (res)
                     ? _("authentication is required")
                     : _("polkit refused"));
  else
    check->func (check->invocation, check->uid, check->user_data);
}

static void
credentials_done (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (Check) check = user_data;
  g_autoptr (GError) error = NULL;
  g_autoptr (GVariant) reply = g_dbus_connection_call_finish (G_DBUS_CONNECTION (source), result, &error);
  g_autoptr (GVariant) creds = NULL;
  g_autoptr (PolkitSubject) subject = NULL;
  g_autofree gchar *owner = NULL;
  PolkitCheckAuthorizationFlags flags = POLKIT_CHECK_AUTHORIZATION_FLAGS_NONE;
  PolkitAuthority *polkit;
  const gchar *action_id;
  guint32 pid = 0;

  if (reply == NULL)
    {
      check->action_id = check->action_id != NULL ? check->action_id : g_strdup ("");
      deny (check, error->message);
      return;
    }
  creds = g_variant_get_child_value (reply, 0);
  if (!g_variant_lookup (creds, "UnixUserID", "u", &check->uid))
    {
      deny (check, _("the bus did not tell the caller's user"));
      return;
    }
  g_variant_lookup (creds, "ProcessID", "u", &pid);
  if (check->action_id == NULL)
    {
      check->func (check->invocation, check->uid, check->user_data);
      return;
    }

  if (check->self->polkit != NULL)
    owner = polkit_authority_get_owner (check->self->polkit);
  if (check->self->system_bus)
    subject = polkit_system_bus_name_new (g_dbus_method_invocation_get_sender (check->invocation));
  else if (owner != NULL && pid != 0)
    subject = polkit_unix_process_new_for_owner ((gint) pid, 0, (gint) check->uid);
  else
    {
      /* a private bus without polkit: the daemon's own user only */
      if (check->uid == getuid ())
        check->func (check->invocation, check->uid, check->user_data);
      else
        deny (check, _("polkit is not available, and the caller is not the daemon's user"));
      return;
    }
  if (check->self->polkit == NULL)
    {
      deny (check, _("polkit is not available"));
      return;
    }
  if (g_dbus_message_get_flags (g_dbus_method_invocation_get_message (check->invocation))
      & G_DBUS_MESSAGE_FLAGS_ALLOW_INTERACTIVE_AUTHORIZATION)
    flags |= POLKIT_CHECK_AUTHORIZATION_FLAGS_ALLOW_USER_INTERACTION;
  polkit = check->self->polkit;
  action_id = check->action_id;
  polkit_authority_check_authorization (polkit, subject, action_id, NULL, flags, NULL, polkit_done,
                                        g_steal_pointer (&check));
}

/**
 * pulp_authority_check:
 * @action_id: (nullable): the polkit action, or %NULL to only learn the
 *   caller's uid
 * @func: called if the caller is authorized
 *
 * Looks up the caller's credentials and asks polkit, without blocking;
 * the caller may be prompted if the message allows interactive
 * authorization.
 */
void
pulp_authority_check (PulpAuthority *self,
                      GDBusMethodInvocation *invocation,
                      const gchar *action_id,
                      PulpAuthorizedFunc func,
                      gpointer user_data)
{
  Check *check = g_new0 (Check, 1);

  g_return_if_fail (PULP_IS_AUTHORITY (self));

  check->self = g_object_ref (self);
  check->invocation = g_object_ref (invocation);
  check->action_id = g_strdup (action_id);
  check->func = func;
  check->user_data = user_data;
  g_dbus_connection_call (g_dbus_method_invocation_get_connection (invocation), "org.freedesktop.DBus",
                          "/org/freedesktop/DBus", "org.freedesktop.DBus", "GetConnectionCredentials",
                          g_variant_new ("(s)", g_dbus_method_invocation_get_sender (invocation)),
                          G_VARIANT_TYPE ("(a{sv})"), G_DBUS_CALL_FLAGS_NONE, -1, NULL,
                          credentials_done, check);
}
