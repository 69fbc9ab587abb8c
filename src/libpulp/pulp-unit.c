/* SPDX-License-Identifier: LGPL-2.1-or-later */
#define G_LOG_DOMAIN "Pulp"

#include <glib/gi18n-lib.h>
#include <string.h>

#include "pulp-digest.h"
#include "pulp-error.h"
#include "pulp-unit.h"
#include "pulp-vardict-writer.h"

/**
 * PulpUnit:
 *
 * One piece of content: a type ("file", "rpm"), a unit key (the natural
 * key fields, an a{sv}) that identifies it among all units of that type,
 * free-form metadata, and the stored content it points at. The unit id is
 * derived from type and key, so an importer never needs to look it up.
 */
struct _PulpUnit
{
  GObject parent_instance;
  gchar *id;
  gchar *type;
  GVariant *key;
  gchar *key_text;
  GVariant *metadata;
  gchar *relative_path;
  gchar *sha256;
  guint64 size;
  gchar *path;
  gboolean uploaded;
};

G_DEFINE_TYPE (PulpUnit, pulp_unit, G_TYPE_OBJECT)

static void
pulp_unit_finalize (GObject *object)
{
  PulpUnit *self = PULP_UNIT (object);
  g_free (self->id);
  g_free (self->type);
  g_clear_pointer (&self->key, g_variant_unref);
  g_free (self->key_text);
  g_clear_pointer (&self->metadata, g_variant_unref);
  g_free (self->relative_path);
  g_free (self->sha256);
  g_free (self->path);
  G_OBJECT_CLASS (pulp_unit_parent_class)->finalize (object);
}

static void
pulp_unit_class_init (PulpUnitClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = pulp_unit_finalize;
}

static void
pulp_unit_init (PulpUnit *self)
{
}

static gint
compare_entries (gconstpointer a, gconstpointer b)
{
  return g_strcmp0 (*(const gchar *const *) a, *(const gchar *const *) b);
}

static gsize
read_offset (const guint8 *p, guint size)
{
  guint64 v = 0;

  memcpy (&v, p, size);
  return (gsize) GUINT64_FROM_LE (v);
}

/* Whether the keys of @dict are strictly increasing, read straight from
 * its serialized form, since units are made by the tens of thousands and
 * importers build their keys in order. An `a{sv}` is its entries, each
 * starting 8-aligned with its nul-terminated key, followed by the end
 * offset of every entry (each as many bytes as the size of the whole
 * needs). Anything unexpected answers FALSE: the caller then sorts the
 * slow way. */
static gboolean
keys_in_order (GVariant *dict)
{
  g_autoptr (GVariant) normal = g_variant_get_normal_form (dict);
  const guint8 *data = g_variant_get_data (normal);
  gsize size = g_variant_get_size (normal);
  guint framing = size <= G_MAXUINT8 ? 1 : size <= G_MAXUINT16 ? 2 : size <= G_MAXUINT32 ? 4 : 8;
  const gchar *prev = NULL;
  gsize table;
  gsize start = 0;

  if (size == 0)
    return TRUE;
  table = read_offset (data + size - framing, framing);
  if (table > size - framing || (size - table) % framing != 0)
    return FALSE;
  for (gsize at = table; at < size; at += framing)
    {
      gsize end = read_offset (data + at, framing);
      const gchar *key = (const gchar *) data + start;

      if (end < start || end > table || memchr (key, '\0', end - start) == NULL
          || (prev != NULL && strcmp (prev, key) >= 0))
        return FALSE;
      prev = key;
      start = (end + 7) & ~(gsize) 7;
    }
  return TRUE;
}

static GVariant *
sorted_dict (GVariant *dict)
{
  g_autoptr (GPtrArray) keys = g_ptr_array_new_with_free_func (g_free);
  GVariantBuilder b;
  GVariantIter iter;
  gchar *k;

  /* most keys are built in order already: nothing to rebuild */
  if (keys_in_order (dict))
    return g_variant_ref (dict);
  g_variant_iter_init (&iter, dict);
  while (g_variant_iter_next (&iter, "{sv}", &k, NULL))
    g_ptr_array_add (keys, k);
  g_ptr_array_sort (keys, compare_entries);

  g_variant_builder_init (&b, G_VARIANT_TYPE_VARDICT);
  for (guint i = 0; i < keys->len; i++)
    {
      const gchar *name = g_ptr_array_index (keys, i);
      if (i > 0 && g_strcmp0 (name, g_ptr_array_index (keys, i - 1)) == 0)
        continue;
      g_autoptr (GVariant) value = g_variant_lookup_value (dict, name, NULL);
      g_variant_builder_add (&b, "{sv}", name, value);
    }
  return g_variant_ref_sink (g_variant_builder_end (&b));
}

/**
 * pulp_variant_to_canonical_text:
 * @dict: an `a{sv}`
 *
 * Prints @dict in the GVariant text format with its keys sorted and every
 * value type-annotated: readable, and it parses back to the same types.
 * Used for what people may read in the database (configuration, task
 * summaries).
 *
 * Returns: (transfer full): the text
 */
gchar *
pulp_variant_to_canonical_text (GVariant *dict)
{
  g_autoptr (GVariant) sorted = NULL;

  g_return_val_if_fail (g_variant_is_of_type (dict, G_VARIANT_TYPE_VARDICT), NULL);
  sorted = sorted_dict (dict);
  return g_variant_print (sorted, TRUE);
}

static const gchar base64_alphabet[] =
  "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* Base64 (RFC 4648, padded, no line breaks), as g_base64_encode() writes
 * it, three bytes at a time through a table of character pairs: GLib's
 * incremental encoder handles one byte at a time and cost a sixth of a
 * metadata-only rpm sync's database thread. */
static gchar *
base64_encode (const guchar *data, gsize len)
{
  static guint16 pairs[4096];
  static gsize pairs_ready = 0;
  gchar *out = g_malloc ((len + 2) / 3 * 4 + 1);
  gchar *o = out;
  gsize i = 0;

  if (g_once_init_enter (&pairs_ready))
    {
      for (guint p = 0; p < 4096; p++)
        {
          const gchar pair[2] = { base64_alphabet[p >> 6], base64_alphabet[p & 63] };
          memcpy (&pairs[p], pair, 2);
        }
      g_once_init_leave (&pairs_ready, 1);
    }
  for (; i + 3 <= len; i += 3)
    {
      guint32 v = (guint32) data[i] << 16 | (guint32) data[i + 1] << 8 | data[i + 2];
      memcpy (o, &pairs[v >> 12], 2);
      memcpy (o + 2, &pairs[v & 4095], 2);
      o += 4;
    }
  if (i < len)
    {
      guint32 v = (guint32) data[i] << 16 | (i + 1 < len ? (guint32) data[i + 1] << 8 : 0);
      o[0] = base64_alphabet[v >> 18];
      o[1] = base64_alphabet[(v >> 12) & 63];
      o[2] = i + 1 < len ? base64_alphabet[(v >> 6) & 63] : '=';
      o[3] = '=';
      o += 4;
    }
  *o = '\0';
  return out;
}

/**
 * pulp_variant_encode:
 * @dict: an `a{sv}`
 * @canonical: sort the keys first, so equal dictionaries give equal text
 *
 * Encodes @dict as Base64 of its GVariant serialization: the compact form
 * for unit keys and importer state, about ten times cheaper to write and read
 * back than the text format.
 *
 * Returns: (transfer full): the encoded text
 */
gchar *
pulp_variant_encode (GVariant *dict, gboolean canonical)
{
  g_autoptr (GVariant) normal = NULL;

  g_return_val_if_fail (g_variant_is_of_type (dict, G_VARIANT_TYPE_VARDICT), NULL);
  if (canonical)
    {
      g_autoptr (GVariant) sorted = sorted_dict (dict);
      normal = g_variant_get_normal_form (sorted);
    }
  else
    normal = g_variant_get_normal_form (dict);
  return base64_encode (g_variant_get_data (normal), g_variant_get_size (normal));
}

/**
 * pulp_variant_decode:
 * @text: (nullable): text written by pulp_variant_encode()
 *
 * Returns: (transfer full): the `a{sv}` (empty for %NULL or ""), or %NULL
 */
GVariant *
pulp_variant_decode (const gchar *text, GError **error)
{
  g_autoptr (GBytes) bytes = NULL;
  guchar *data;
  gsize len;

  if (text == NULL || *text == '\0')
    return g_variant_ref_sink (g_variant_new ("a{sv}", NULL));
  data = g_base64_decode (text, &len);
  bytes = g_bytes_new_take (data, len);
  /* untrusted: GVariant checks the data as it is read */
  return g_variant_ref_sink (g_variant_new_from_bytes (G_VARIANT_TYPE_VARDICT, bytes, FALSE));
}

/**
 * pulp_variant_from_text:
 * @text: (nullable): text written by pulp_variant_to_canonical_text()
 * @error: return location for a #GError
 *
 * Returns: (transfer full): an `a{sv}` (empty for %NULL or ""), or %NULL
 */
GVariant *
pulp_variant_from_text (const gchar *text, GError **error)
{
  GVariant *v;

  if (text == NULL || *text == '\0')
    return g_variant_ref_sink (g_variant_new ("a{sv}", NULL));
  /* g_variant_parse() returns a full, not a floating reference */
  v = g_variant_parse (G_VARIANT_TYPE_VARDICT, text, NULL, NULL, error);
  return v;
}

/**
 * pulp_unit_compute_id:
 * @type: unit type
 * @key_text: the canonical encoding of the unit key
 *
 * Returns: (transfer full): the unit id: 32 hex digits of the SHA-256 of
 * type and key, stable across machines and databases
 */
gchar *
pulp_unit_compute_id (const gchar *type, const gchar *key_text)
{
  /* one digest per thread, reused: a sync computes the id of every
   * upstream unit, and a new digest costs more than the hashing */
  static GPrivate digest_of_thread = G_PRIVATE_INIT ((GDestroyNotify) pulp_digest_free);
  PulpDigest *digest = g_private_get (&digest_of_thread);

  if (digest == NULL)
    {
      digest = pulp_digest_new (G_CHECKSUM_SHA256);
      g_private_set (&digest_of_thread, digest);
    }
  else
    pulp_digest_reset (digest);
  pulp_digest_update (digest, (const guchar *) type, strlen (type));
  pulp_digest_update (digest, (const guchar *) "\n", 1);
  pulp_digest_update (digest, (const guchar *) key_text, strlen (key_text));
  return g_strndup (pulp_digest_get_string (digest), 32);
}

/**
 * pulp_unit_new:
 * @type: the unit type, e.g. "file"
 * @key: (transfer floating): the unit key, an `a{sv}`
 *
 * Returns: (transfer full): a new #PulpUnit
 */
PulpUnit *
pulp_unit_new (const gchar *type, GVariant *key)
{
  PulpUnit *self;

  g_return_val_if_fail (type != NULL, NULL);
  g_return_val_if_fail (g_variant_is_of_type (key, G_VARIANT_TYPE_VARDICT), NULL);

  self = g_object_new (PULP_TYPE_UNIT, NULL);
  self->type = g_strdup (type);
  self->key = g_variant_ref_sink (key);
  self->key_text = pulp_variant_encode (self->key, TRUE);
  self->id = pulp_unit_compute_id (type, self->key_text);
  return self;
}

/**
 * pulp_unit_new_stored: (skip)
 * @id: the id the database has for it
 * @key_text: the encoded key the database has for it
 *
 * Recreates a unit read from the database without computing its id again.
 *
 * Returns: (transfer full): a new #PulpUnit
 */
PulpUnit *
pulp_unit_new_stored (const gchar *type, const gchar *id, const gchar *key_text)
{
  PulpUnit *self = g_object_new (PULP_TYPE_UNIT, NULL);
  self->type = g_strdup (type);
  self->id = g_strdup (id);
  /* the key is decoded when asked for: a sync reads every unit of the
   * repository, and most importers only look at ids and metadata */
  self->key_text = g_strdup (key_text);
  return self;
}

const gchar *
pulp_unit_get_id (PulpUnit *self)
{
  g_return_val_if_fail (PULP_IS_UNIT (self), NULL);
  return self->id;
}

const gchar *
pulp_unit_get_type_id (PulpUnit *self)
{
  g_return_val_if_fail (PULP_IS_UNIT (self), NULL);
  return self->type;
}

/**
 * pulp_unit_get_key:
 *
 * Returns: (transfer none): the unit key, an `a{sv}`
 */
GVariant *
pulp_unit_get_key (PulpUnit *self)
{
  g_return_val_if_fail (PULP_IS_UNIT (self), NULL);
  if (self->key == NULL)
    self->key = pulp_variant_decode (self->key_text, NULL);
  return self->key;
}

const gchar *
pulp_unit_get_key_text (PulpUnit *self)
{
  g_return_val_if_fail (PULP_IS_UNIT (self), NULL);
  return self->key_text;
}

/**
 * pulp_unit_get_metadata:
 *
 * Returns: (transfer none): the metadata, an `a{sv}` (empty if never set)
 */
GVariant *
pulp_unit_get_metadata (PulpUnit *self)
{
  g_return_val_if_fail (PULP_IS_UNIT (self), NULL);
  if (self->metadata == NULL)
    self->metadata = g_variant_ref_sink (g_variant_new ("a{sv}", NULL));
  return self->metadata;
}

/**
 * pulp_unit_set_metadata:
 * @metadata: (transfer floating): an `a{sv}`
 */
void
pulp_unit_set_metadata (PulpUnit *self, GVariant *metadata)
{
  g_return_if_fail (PULP_IS_UNIT (self));
  g_return_if_fail (g_variant_is_of_type (metadata, G_VARIANT_TYPE_VARDICT));
  g_clear_pointer (&self->metadata, g_variant_unref);
  self->metadata = g_variant_ref_sink (metadata);
}

const gchar *
pulp_unit_get_relative_path (PulpUnit *self)
{
  g_return_val_if_fail (PULP_IS_UNIT (self), NULL);
  return self->relative_path != NULL ? self->relative_path : "";
}

void
pulp_unit_set_relative_path (PulpUnit *self, const gchar *relative_path)
{
  g_return_if_fail (PULP_IS_UNIT (self));
  g_free (self->relative_path);
  self->relative_path = g_strdup (relative_path);
}

const gchar *
pulp_unit_get_sha256 (PulpUnit *self)
{
  g_return_val_if_fail (PULP_IS_UNIT (self), NULL);
  return self->sha256 != NULL ? self->sha256 : "";
}

void
pulp_unit_set_sha256 (PulpUnit *self, const gchar *sha256)
{
  g_return_if_fail (PULP_IS_UNIT (self));
  g_free (self->sha256);
  self->sha256 = g_strdup (sha256);
}

guint64
pulp_unit_get_size (PulpUnit *self)
{
  g_return_val_if_fail (PULP_IS_UNIT (self), 0);
  return self->size;
}

void
pulp_unit_set_size (PulpUnit *self, guint64 size)
{
  g_return_if_fail (PULP_IS_UNIT (self));
  self->size = size;
}

/**
 * pulp_unit_get_path:
 *
 * Returns: where the content is stored, or "" when it is not downloaded
 */
const gchar *
pulp_unit_get_path (PulpUnit *self)
{
  g_return_val_if_fail (PULP_IS_UNIT (self), NULL);
  return self->path != NULL ? self->path : "";
}

void
pulp_unit_set_path (PulpUnit *self, const gchar *path)
{
  g_return_if_fail (PULP_IS_UNIT (self));
  g_free (self->path);
  self->path = g_strdup (path);
}

gboolean
pulp_unit_get_uploaded (PulpUnit *self)
{
  g_return_val_if_fail (PULP_IS_UNIT (self), FALSE);
  return self->uploaded;
}

void
pulp_unit_set_uploaded (PulpUnit *self, gboolean uploaded)
{
  g_return_if_fail (PULP_IS_UNIT (self));
  self->uploaded = uploaded;
}

/**
 * pulp_unit_check_size:
 *
 * A unit whose metadata is larger than %PULP_MAX_UNIT_METADATA could be
 * stored but never listed: it is refused before it is stored.
 *
 * Returns: %TRUE if the unit is small enough; else %PULP_ERROR_INVALID_ARGUMENT
 */
gboolean
pulp_unit_check_size (PulpUnit *self, GError **error)
{
  g_autofree gchar *has = NULL;
  g_autofree gchar *max = NULL;
  const gchar *path;
  gsize size;

  g_return_val_if_fail (PULP_IS_UNIT (self), FALSE);
  size = g_variant_get_size (pulp_unit_get_metadata (self));
  if (size <= PULP_MAX_UNIT_METADATA)
    return TRUE;
  has = g_format_size (size);
  max = g_format_size (PULP_MAX_UNIT_METADATA);
  path = pulp_unit_get_relative_path (self);
  g_set_error (error, PULP_ERROR, PULP_ERROR_INVALID_ARGUMENT,
               _("Unit “%s” has %s of metadata, more than the %s a unit may have"),
               *path != '\0' ? path : pulp_unit_get_id (self), has, max);
  return FALSE;
}

/**
 * pulp_unit_list_to_variant:
 * @units: (element-type PulpUnit): units
 *
 * Returns: (transfer floating): the units as the D-Bus contract lists them,
 *   an `aa{sv}`, written straight into its serialized form: ListUnits
 *   sends pages of up to 10,000 units, and as a tree of GVariants a unit
 *   was some forty allocations that GDBus walked and freed again
 */
GVariant *
pulp_unit_list_to_variant (GPtrArray *units)
{
  g_autoptr (PulpVardictWriter) w = pulp_vardict_writer_new ();

  for (guint i = 0; i < units->len; i++)
    {
      PulpUnit *unit = g_ptr_array_index (units, i);

      pulp_vardict_writer_add_string (w, "id", unit->id);
      pulp_vardict_writer_add_string (w, "type", unit->type);
      pulp_vardict_writer_add_vardict (w, "key", pulp_unit_get_key (unit));
      pulp_vardict_writer_add_vardict (w, "metadata", pulp_unit_get_metadata (unit));
      pulp_vardict_writer_add_string (w, "relative-path", pulp_unit_get_relative_path (unit));
      pulp_vardict_writer_add_string (w, "sha256", pulp_unit_get_sha256 (unit));
      pulp_vardict_writer_add_uint64 (w, "size", unit->size);
      pulp_vardict_writer_add_string (w, "path", pulp_unit_get_path (unit));
      pulp_vardict_writer_add_boolean (w, "uploaded", unit->uploaded);
      pulp_vardict_writer_end_element (w);
    }
  return pulp_vardict_writer_end_list (w);
}
