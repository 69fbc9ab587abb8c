/* SPDX-License-Identifier: LGPL-2.1-or-later */
#define G_LOG_DOMAIN "Pulp"

#include "pulp-error.h"
#include "pulp-importer.h"

/**
 * PulpImporter:
 *
 * The interface an importer module implements: one per upstream format.
 */
G_DEFINE_INTERFACE (PulpImporter, pulp_importer, G_TYPE_OBJECT)

static void
pulp_importer_default_init (PulpImporterInterface *iface)
{
}

/**
 * pulp_importer_ensure_extension_point:
 *
 * Registers the "pulp-importer" extension point; importer modules must find
 * it registered before they are loaded.
 */
void
pulp_importer_ensure_extension_point (void)
{
  static gsize registered = 0;

  if (g_once_init_enter (&registered))
    {
      GIOExtensionPoint *ep = g_io_extension_point_register (PULP_IMPORTER_EXTENSION_POINT_NAME);
      g_io_extension_point_set_required_type (ep, PULP_TYPE_IMPORTER);
      g_once_init_leave (&registered, 1);
    }
}

/**
 * pulp_importer_get_description:
 *
 * Returns: a one-line description of the importer
 */
const gchar *
pulp_importer_get_description (PulpImporter *self)
{
  PulpImporterInterface *iface;

  g_return_val_if_fail (PULP_IS_IMPORTER (self), NULL);
  iface = PULP_IMPORTER_GET_IFACE (self);
  return iface->get_description != NULL ? iface->get_description (self) : "";
}

/**
 * pulp_importer_validate_config:
 * @config: an `a{sv}` holding only the importer's own keys
 *
 * Returns: %TRUE if the importer accepts @config
 */
gboolean
pulp_importer_validate_config (PulpImporter *self, GVariant *config, GError **error)
{
  PulpImporterInterface *iface;
  GVariantIter iter;
  const gchar *key;

  g_return_val_if_fail (PULP_IS_IMPORTER (self), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  iface = PULP_IMPORTER_GET_IFACE (self);
  if (iface->validate_config != NULL)
    return iface->validate_config (self, config, error);

  /* An importer without keys of its own accepts none. */
  g_variant_iter_init (&iter, config);
  if (g_variant_iter_next (&iter, "{&sv}", &key, NULL))
    {
      g_set_error (error, PULP_ERROR, PULP_ERROR_INVALID_ARGUMENT,
                   "Unknown configuration key “%s”", key);
      return FALSE;
    }
  return TRUE;
}

/**
 * pulp_importer_validate_feed:
 * @feed: the feed a configuration sets
 *
 * Returns: %TRUE if the importer can sync from @feed
 */
gboolean
pulp_importer_validate_feed (PulpImporter *self, const gchar *feed, GError **error)
{
  PulpImporterInterface *iface;

  g_return_val_if_fail (PULP_IS_IMPORTER (self), FALSE);
  g_return_val_if_fail (feed != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  iface = PULP_IMPORTER_GET_IFACE (self);
  return iface->validate_feed == NULL || iface->validate_feed (self, feed, error);
}

/**
 * pulp_importer_sync_repo:
 * @conduit: the sync conduit of this sync
 * @cancellable: (nullable): checked between steps
 *
 * Runs in a worker thread.
 *
 * Returns: %TRUE to commit the pending version
 */
gboolean
pulp_importer_sync_repo (PulpImporter *self,
                         PulpSyncConduit *conduit,
                         GCancellable *cancellable,
                         GError **error)
{
  g_return_val_if_fail (PULP_IS_IMPORTER (self), FALSE);
  g_return_val_if_fail (PULP_IS_SYNC_CONDUIT (conduit), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);
  return PULP_IMPORTER_GET_IFACE (self)->sync_repo (self, conduit, cancellable, error);
}

/**
 * pulp_importer_import_upload:
 * @type: the unit type the caller asked for
 * @content_path: the stored content
 * @metadata: the caller's `a{sv}`
 *
 * Returns: (transfer full): the unit to associate, or %NULL
 */
PulpUnit *
pulp_importer_import_upload (PulpImporter *self,
                             const gchar *type,
                             const gchar *content_path,
                             GVariant *metadata,
                             GError **error)
{
  PulpImporterInterface *iface;

  g_return_val_if_fail (PULP_IS_IMPORTER (self), NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  iface = PULP_IMPORTER_GET_IFACE (self);
  if (iface->import_upload == NULL)
    {
      g_set_error (error, PULP_ERROR, PULP_ERROR_INVALID_ARGUMENT,
                   "This importer does not accept uploads");
      return NULL;
    }
  return iface->import_upload (self, type, content_path, metadata, error);
}

/**
 * pulp_importer_validate_upload:
 * @type: the unit type the caller asked for
 * @metadata: the caller's `a{sv}`
 *
 * The checks of an upload that need no content, run when `Upload` is
 * called so that bad arguments fail the call rather than the task.
 *
 * Returns: %TRUE if the importer takes uploads of @type with @metadata
 */
gboolean
pulp_importer_validate_upload (PulpImporter *self,
                               const gchar *type,
                               GVariant *metadata,
                               GError **error)
{
  PulpImporterInterface *iface;

  g_return_val_if_fail (PULP_IS_IMPORTER (self), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  iface = PULP_IMPORTER_GET_IFACE (self);
  if (iface->import_upload == NULL)
    {
      g_set_error (error, PULP_ERROR, PULP_ERROR_INVALID_ARGUMENT,
                   "This importer does not accept uploads");
      return FALSE;
    }
  if (iface->validate_upload == NULL)
    return TRUE;
  return iface->validate_upload (self, type, metadata, error);
}
