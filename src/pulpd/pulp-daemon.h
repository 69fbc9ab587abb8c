/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "pulp-engine.h"

G_BEGIN_DECLS

#define PULP_TYPE_DAEMON (pulp_daemon_get_type ())
G_DECLARE_FINAL_TYPE (PulpDaemon, pulp_daemon, PULP, DAEMON, GObject)

PulpDaemon *pulp_daemon_new (PulpEngine *engine, GDBusConnection *connection, gboolean system_bus);

G_END_DECLS
