/* SPDX-License-Identifier: LGPL-2.1-or-later */
#define G_LOG_DOMAIN "Pulp"

#include <gio/gio.h>

#include "pulp-error.h"

static const gchar *const error_names[PULP_ERROR_LAST] = {
  [PULP_ERROR_FAILED] = "org.pulp.Error.Failed",
  [PULP_ERROR_INVALID_ARGUMENT] = "org.pulp.Error.InvalidArgument",
  [PULP_ERROR_NOT_FOUND] = "org.pulp.Error.NotFound",
  [PULP_ERROR_EXISTS] = "org.pulp.Error.Exists",
  [PULP_ERROR_BUSY] = "org.pulp.Error.Busy",
  [PULP_ERROR_PERMISSION_DENIED] = "org.pulp.Error.PermissionDenied",
  [PULP_ERROR_CANCELLED] = "org.pulp.Error.Cancelled",
  [PULP_ERROR_NETWORK] = "org.pulp.Error.Network",
  [PULP_ERROR_CHECKSUM] = "org.pulp.Error.Checksum",
  [PULP_ERROR_INTERRUPTED] = "org.pulp.Error.Interrupted",
};

/**
 * pulp_error_quark:
 *
 * Returns: the #GQuark of %PULP_ERROR; it is registered with GDBus so that
 * errors cross the bus as `org.pulp.Error.*`.
 */
GQuark
pulp_error_quark (void)
{
  static gsize quark = 0;
  static const GDBusErrorEntry entries[] = {
    { PULP_ERROR_FAILED, "org.pulp.Error.Failed" },
    { PULP_ERROR_INVALID_ARGUMENT, "org.pulp.Error.InvalidArgument" },
    { PULP_ERROR_NOT_FOUND, "org.pulp.Error.NotFound" },
    { PULP_ERROR_EXISTS, "org.pulp.Error.Exists" },
    { PULP_ERROR_BUSY, "org.pulp.Error.Busy" },
    { PULP_ERROR_PERMISSION_DENIED, "org.pulp.Error.PermissionDenied" },
    { PULP_ERROR_CANCELLED, "org.pulp.Error.Cancelled" },
    { PULP_ERROR_NETWORK, "org.pulp.Error.Network" },
    { PULP_ERROR_CHECKSUM, "org.pulp.Error.Checksum" },
    { PULP_ERROR_INTERRUPTED, "org.pulp.Error.Interrupted" },
  };
  g_dbus_error_register_error_domain ("pulp-error-quark", &quark, entries, G_N_ELEMENTS (entries));
  return (GQuark) quark;
}

/**
 * pulp_error_to_dbus_name:
 * @code: a #PulpError
 *
 * Returns: the D-Bus error name of @code, e.g. `org.pulp.Error.NotFound`
 */
const gchar *
pulp_error_to_dbus_name (gint code)
{
  if (code < 0 || code >= PULP_ERROR_LAST)
    return error_names[PULP_ERROR_FAILED];
  return error_names[code];
}

/**
 * pulp_error_code_from_name:
 * @name: a D-Bus error name or its last component ("NotFound")
 *
 * Returns: the #PulpError code, or %PULP_ERROR_FAILED if unknown
 */
gint
pulp_error_code_from_name (const gchar *name)
{
  for (gint i = 0; i < PULP_ERROR_LAST; i++)
    {
      if (g_strcmp0 (name, error_names[i]) == 0
          || g_strcmp0 (name, error_names[i] + strlen ("org.pulp.Error.")) == 0)
        return i;
    }
  return PULP_ERROR_FAILED;
}

/**
 * pulp_error_convert:
 * @error: (inout) (optional): a #GError
 *
 * Turns errors of other domains (GIO, GLib) into the nearest %PULP_ERROR
 * code, keeping the message, so every failure leaves the service with an
 * `org.pulp.Error.*` name.
 */
void
pulp_error_convert (GError **error)
{
  if (error == NULL || *error == NULL || (*error)->domain == PULP_ERROR)
    return;
  if (g_error_matches (*error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    (*error)->code = PULP_ERROR_CANCELLED;
  else if (g_error_matches (*error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND))
    (*error)->code = PULP_ERROR_NOT_FOUND;
  else if (g_error_matches (*error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT)
           || (*error)->domain == G_KEY_FILE_ERROR || (*error)->domain == G_URI_ERROR
           || (*error)->domain == G_VARIANT_PARSE_ERROR)
    (*error)->code = PULP_ERROR_INVALID_ARGUMENT;
  else if (g_error_matches (*error, G_IO_ERROR, G_IO_ERROR_PERMISSION_DENIED))
    (*error)->code = PULP_ERROR_PERMISSION_DENIED;
  else if (g_error_matches (*error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT)
           || g_error_matches (*error, G_IO_ERROR, G_IO_ERROR_CONNECTION_REFUSED)
           || g_error_matches (*error, G_IO_ERROR, G_IO_ERROR_HOST_UNREACHABLE)
           || g_error_matches (*error, G_IO_ERROR, G_IO_ERROR_NETWORK_UNREACHABLE)
           || g_error_matches (*error, G_IO_ERROR, G_IO_ERROR_CONNECTION_CLOSED)
           || g_error_matches (*error, G_IO_ERROR, G_IO_ERROR_BROKEN_PIPE)
           || g_error_matches (*error, G_RESOLVER_ERROR, G_RESOLVER_ERROR_NOT_FOUND)
           || (*error)->domain == G_TLS_ERROR)
    (*error)->code = PULP_ERROR_NETWORK;
  else
    (*error)->code = PULP_ERROR_FAILED;
  (*error)->domain = PULP_ERROR;
}
