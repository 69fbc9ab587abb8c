/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib-object.h>

G_BEGIN_DECLS

/* dbus-daemon disconnects a peer that sends a message larger than its
 * max_message_size (32 MiB unless configured otherwise), and pulpd stops
 * when it loses the bus: a ListUnits reply stays well below that, and one
 * unit's metadata below what a page of one unit may carry. */
#define PULP_MAX_LIST_BYTES (24 * 1024 * 1024)
#define PULP_MAX_UNIT_METADATA (8 * 1024 * 1024)

#define PULP_TYPE_UNIT (pulp_unit_get_type ())
G_DECLARE_FINAL_TYPE (PulpUnit, pulp_unit, PULP, UNIT, GObject)

PulpUnit *pulp_unit_new (const gchar *type, GVariant *key);

const gchar *pulp_unit_get_id (PulpUnit *self);
const gchar *pulp_unit_get_type_id (PulpUnit *self);
GVariant *pulp_unit_get_key (PulpUnit *self);
const gchar *pulp_unit_get_key_text (PulpUnit *self);
GVariant *pulp_unit_get_metadata (PulpUnit *self);
void pulp_unit_set_metadata (PulpUnit *self, GVariant *metadata);
const gchar *pulp_unit_get_relative_path (PulpUnit *self);
void pulp_unit_set_relative_path (PulpUnit *self, const gchar *relative_path);
const gchar *pulp_unit_get_sha256 (PulpUnit *self);
void pulp_unit_set_sha256 (PulpUnit *self, const gchar *sha256);
guint64 pulp_unit_get_size (PulpUnit *self);
void pulp_unit_set_size (PulpUnit *self, guint64 size);
const gchar *pulp_unit_get_path (PulpUnit *self);
void pulp_unit_set_path (PulpUnit *self, const gchar *path);
gboolean pulp_unit_get_uploaded (PulpUnit *self);
void pulp_unit_set_uploaded (PulpUnit *self, gboolean uploaded);
gboolean pulp_unit_check_size (PulpUnit *self, GError **error);

gchar *pulp_unit_compute_id (const gchar *type, const gchar *key_text);
gchar *pulp_variant_to_canonical_text (GVariant *dict);
GVariant *pulp_variant_from_text (const gchar *text, GError **error);
gchar *pulp_variant_encode (GVariant *dict, gboolean canonical);
GVariant *pulp_variant_decode (const gchar *text, GError **error);
PulpUnit *pulp_unit_new_stored (const gchar *type, const gchar *id, const gchar *key_text);
GVariant *pulp_unit_list_to_variant (GPtrArray *units);

G_END_DECLS
