/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <gio/gio.h>

#include "pulp-sync-conduit.h"
#include "pulp-unit.h"

G_BEGIN_DECLS

/* Importer modules call g_io_extension_point_implement() with this name,
 * the importer type id ("file", "rpm") as extension name, and their type. */
#define PULP_IMPORTER_EXTENSION_POINT_NAME "pulp-importer"

#define PULP_TYPE_IMPORTER (pulp_importer_get_type ())
G_DECLARE_INTERFACE (PulpImporter, pulp_importer, PULP, IMPORTER, GObject)

/**
 * PulpImporterInterface:
 * @get_description: a one-line description for `ListImporters`
 * @validate_config: called in the main thread with the importer's own keys
 *   of a configuration (core keys are validated and removed by the core);
 *   rejects unknown or malformed keys with %PULP_ERROR_INVALID_ARGUMENT
 * @sync_repo: called in a worker thread; drives the whole sync through
 *   @conduit and returns %TRUE to commit the pending version
 * @import_upload: called in a worker thread for `Upload`: derives the unit
 *   (type, key, metadata, relative path) from the stored content at
 *   @content_path and the caller's @metadata
 * @validate_upload: called in the main thread when `Upload` is called,
 *   before any content is read: rejects a @type the importer does not take
 *   and malformed @metadata with %PULP_ERROR_INVALID_ARGUMENT, so the
 *   caller learns of it at once; may be %NULL (then only import_upload checks)
 * @validate_feed: called in the main thread with the feed a configuration
 *   sets (the core checked that it is an http, https or file URL): rejects
 *   one the importer cannot sync from with %PULP_ERROR_INVALID_ARGUMENT, so
 *   that `CreateRepository` and `Configure` fail rather than every later
 *   sync; may be %NULL
 */
struct _PulpImporterInterface
{
  GTypeInterface parent_iface;

  const gchar *(*get_description) (PulpImporter *self);
  gboolean (*validate_config) (PulpImporter *self, GVariant *config, GError **error);
  gboolean (*sync_repo) (PulpImporter *self,
                         PulpSyncConduit *conduit,
                         GCancellable *cancellable,
                         GError **error);
  PulpUnit *(*import_upload) (PulpImporter *self,
                              const gchar *type,
                              const gchar *content_path,
                              GVariant *metadata,
                              GError **error);
  gboolean (*validate_upload) (PulpImporter *self,
                               const gchar *type,
                               GVariant *metadata,
                               GError **error);
  gboolean (*validate_feed) (PulpImporter *self, const gchar *feed, GError **error);
};

const gchar *pulp_importer_get_description (PulpImporter *self);
gboolean pulp_importer_validate_config (PulpImporter *self, GVariant *config, GError **error);
gboolean pulp_importer_validate_feed (PulpImporter *self, const gchar *feed, GError **error);
gboolean pulp_importer_sync_repo (PulpImporter *self,
                                  PulpSyncConduit *conduit,
                                  GCancellable *cancellable,
                                  GError **error);
PulpUnit *pulp_importer_import_upload (PulpImporter *self,
                                       const gchar *type,
                                       const gchar *content_path,
                                       GVariant *metadata,
                                       GError **error);

gboolean pulp_importer_validate_upload (PulpImporter *self,
                                        const gchar *type,
                                        GVariant *metadata,
                                        GError **error);

void pulp_importer_ensure_extension_point (void);

G_END_DECLS
