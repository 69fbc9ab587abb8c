/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

#define PULP_TYPE_AUTHORITY (pulp_authority_get_type ())
G_DECLARE_FINAL_TYPE (PulpAuthority, pulp_authority, PULP, AUTHORITY, GObject)

/* Called when the caller may go ahead, with its uid; on denial the
 * invocation has been answered with org.pulp.Error.PermissionDenied. */
typedef void (*PulpAuthorizedFunc) (GDBusMethodInvocation *invocation, guint32 uid, gpointer user_data);

PulpAuthority *pulp_authority_new (gboolean system_bus);
void pulp_authority_check (PulpAuthority *self,
                           GDBusMethodInvocation *invocation,
                           const gchar *action_id,
                           PulpAuthorizedFunc func,
                           gpointer user_data);

G_END_DECLS
