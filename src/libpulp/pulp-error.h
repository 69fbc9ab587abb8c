/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/**
 * PulpError:
 * @PULP_ERROR_FAILED: anything not listed below
 * @PULP_ERROR_INVALID_ARGUMENT: a malformed id, URL, option, variant type or unknown key
 * @PULP_ERROR_NOT_FOUND: no such repository, task, unit, version or importer
 * @PULP_ERROR_EXISTS: the repository id is taken
 * @PULP_ERROR_BUSY: the operation conflicts with a running task
 * @PULP_ERROR_PERMISSION_DENIED: polkit said no
 * @PULP_ERROR_CANCELLED: the task was cancelled
 * @PULP_ERROR_NETWORK: the upstream could not be reached or answered with an error
 * @PULP_ERROR_CHECKSUM: content does not match its declared size or digest
 * @PULP_ERROR_INTERRUPTED: the daemon stopped while the task ran
 *
 * The one error domain of pulpd; each code maps to an `org.pulp.Error.*` name.
 */
typedef enum {
  PULP_ERROR_FAILED,
  PULP_ERROR_INVALID_ARGUMENT,
  PULP_ERROR_NOT_FOUND,
  PULP_ERROR_EXISTS,
  PULP_ERROR_BUSY,
  PULP_ERROR_PERMISSION_DENIED,
  PULP_ERROR_CANCELLED,
  PULP_ERROR_NETWORK,
  PULP_ERROR_CHECKSUM,
  PULP_ERROR_INTERRUPTED,
  PULP_ERROR_LAST
} PulpError;

#define PULP_ERROR (pulp_error_quark ())
GQuark pulp_error_quark (void);

const gchar *pulp_error_to_dbus_name (gint code);
gint pulp_error_code_from_name (const gchar *name);
void pulp_error_convert (GError **error);

G_END_DECLS
