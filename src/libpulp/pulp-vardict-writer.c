/* SPDX-License-Identifier: LGPL-2.1-or-later */
#define G_LOG_DOMAIN "Pulp"

#include <string.h>

#include "pulp-vardict-writer.h"

/**
 * PulpVardictWriter:
 *
 * Writes `a{sv}` dictionaries (or a list of them, `aa{sv}`) straight into
 * their serialized form, GLib's "GVariant Serialization" specification:
 * values aligned to their type's alignment from the start of the data,
 * variable-size members followed by little-endian framing offsets of the
 * smallest width that addresses their container. Built as trees, the
 * rpm importer's package metadata and a ListUnits page cost an
 * allocation, a lock and a reference count per value, several times the
 * work around them; here they are one growing buffer, reused.
 *
 * Keys are written in the order given; callers give them sorted when the
 * result must be in normal form.
 */
struct _PulpVardictWriter
{
  guint8 *data;
  gsize len;
  gsize alloc;
  GArray *entry_ends;   /* gsize: where each entry of the open dict ends */
  GArray *item_ends;    /* gsize: where each string of the open `as` ends */
  GArray *element_ends; /* gsize: where each dict of the list ends */
  gboolean dict_open;
  gsize dict_start;
  gsize entry_start; /* of the open entry */
  gsize key_end;     /* of the open entry */
  gsize array_start; /* of the open `as` */
  gboolean embedded; /* holds data given by the caller, which GLib should check */
};

PulpVardictWriter *
pulp_vardict_writer_new (void)
{
  PulpVardictWriter *w = g_new0 (PulpVardictWriter, 1);

  w->alloc = 4096;
  w->data = g_malloc (w->alloc);
  w->entry_ends = g_array_sized_new (FALSE, FALSE, sizeof (gsize), 32);
  w->item_ends = g_array_sized_new (FALSE, FALSE, sizeof (gsize), 64);
  w->element_ends = g_array_new (FALSE, FALSE, sizeof (gsize));
  return w;
}

void
pulp_vardict_writer_free (PulpVardictWriter *w)
{
  if (w == NULL)
    return;
  g_free (w->data);
  g_array_unref (w->entry_ends);
  g_array_unref (w->item_ends);
  g_array_unref (w->element_ends);
  g_free (w);
}

static inline void
reserve (PulpVardictWriter *w, gsize n)
{
  if (w->len + n > w->alloc)
    {
      w->alloc = MAX (w->alloc * 2, w->len + n);
      w->data = g_realloc (w->data, w->alloc);
    }
}

/**
 * pulp_vardict_writer_append:
 *
 * Appends bytes to the value being written (see
 * pulp_vardict_writer_begin_value()).
 */
void
pulp_vardict_writer_append (PulpVardictWriter *w, gconstpointer data, gsize n)
{
  reserve (w, n);
  if (n > 0)
    memcpy (w->data + w->len, data, n);
  w->len += n;
}

void
pulp_vardict_writer_append_byte (PulpVardictWriter *w, guint8 c)
{
  reserve (w, 1);
  w->data[w->len++] = c;
}

/* Zeros up to the next multiple of 8 from the start of the data. */
static void
align8 (PulpVardictWriter *w)
{
  gsize pad = (8 - w->len % 8) % 8;

  reserve (w, pad);
  memset (w->data + w->len, 0, pad);
  w->len += pad;
}

/**
 * pulp_vardict_writer_get_length:
 *
 * Returns: how many bytes are written so far; with
 *   pulp_vardict_writer_peek() and pulp_vardict_writer_truncate() a caller
 *   may look at or take back what it appended to a value
 */
gsize
pulp_vardict_writer_get_length (PulpVardictWriter *w)
{
  return w->len;
}

guint8 *
pulp_vardict_writer_peek (PulpVardictWriter *w, gsize offset)
{
  g_return_val_if_fail (offset <= w->len, NULL);
  return w->data + offset;
}

void
pulp_vardict_writer_truncate (PulpVardictWriter *w, gsize length)
{
  g_return_if_fail (length <= w->len);
  w->len = length;
}

/* The width of the framing offsets of a container whose content is @body
 * bytes with @n offsets: the smallest that can address the whole
 * container, offsets included. */
static guint
offset_size (gsize body, gsize n)
{
  if (body + n == 0)
    return 0;
  if (body + n <= G_MAXUINT8)
    return 1;
  if (body + 2 * n <= G_MAXUINT16)
    return 2;
  if (body + 4 * n <= G_MAXUINT32)
    return 4;
  return 8;
}

/* Appends the framing offsets @ends (relative to @start) of the container
 * that began at @start. */
static void
append_offsets (PulpVardictWriter *w, const gsize *ends, guint n, gsize start)
{
  guint size = offset_size (w->len - start, n);

  reserve (w, (gsize) n * size);
  for (guint i = 0; i < n; i++)
    {
      guint64 v = GUINT64_TO_LE ((guint64) (ends[i] - start));
      memcpy (w->data + w->len, &v, size);
      w->len += size;
    }
}

/* A dict starts 8-aligned ({sv} is), also an empty one. */
static void
open_dict (PulpVardictWriter *w)
{
  if (w->dict_open)
    return;
  align8 (w);
  w->dict_start = w->len;
  w->dict_open = TRUE;
}

static void
close_dict (PulpVardictWriter *w)
{
  open_dict (w);
  append_offsets (w, (const gsize *) w->entry_ends->data, w->entry_ends->len, w->dict_start);
  g_array_set_size (w->entry_ends, 0);
  w->dict_open = FALSE;
}

/**
 * pulp_vardict_writer_begin_value:
 *
 * Starts the entry @key; its value's serialized bytes follow (written
 * with pulp_vardict_writer_append()), then pulp_vardict_writer_end_value().
 */
void
pulp_vardict_writer_begin_value (PulpVardictWriter *w, const gchar *key)
{
  open_dict (w);
  align8 (w);
  w->entry_start = w->len;
  pulp_vardict_writer_append (w, key, strlen (key) + 1);
  w->key_end = w->len;
  /* a variant is 8-aligned */
  align8 (w);
}

/**
 * pulp_vardict_writer_end_value:
 * @type: the type string of the value just written
 *
 * Closes the variant (a nul and its type) and the entry (the offset of
 * the key's end, the one variable-size member that is not last).
 */
void
pulp_vardict_writer_end_value (PulpVardictWriter *w, const gchar *type)
{
  gsize end;

  pulp_vardict_writer_append_byte (w, 0);
  pulp_vardict_writer_append (w, type, strlen (type));
  append_offsets (w, &w->key_end, 1, w->entry_start);
  end = w->len;
  g_array_append_val (w->entry_ends, end);
}

/**
 * pulp_vardict_writer_add_string:
 * @value: valid UTF-8
 */
void
pulp_vardict_writer_add_string (PulpVardictWriter *w, const gchar *key, const gchar *value)
{
  pulp_vardict_writer_begin_value (w, key);
  pulp_vardict_writer_append (w, value, strlen (value) + 1);
  pulp_vardict_writer_end_value (w, "s");
}

void
pulp_vardict_writer_add_uint64 (PulpVardictWriter *w, const gchar *key, guint64 value)
{
  pulp_vardict_writer_begin_value (w, key);
  pulp_vardict_writer_append (w, &value, sizeof value); /* host order, like GVariant */
  pulp_vardict_writer_end_value (w, "t");
}

void
pulp_vardict_writer_add_boolean (PulpVardictWriter *w, const gchar *key, gboolean value)
{
  pulp_vardict_writer_begin_value (w, key);
  pulp_vardict_writer_append_byte (w, value ? 1 : 0);
  pulp_vardict_writer_end_value (w, "b");
}

/**
 * pulp_vardict_writer_add_vardict:
 * @dict: an `a{sv}`, copied as it is serialized
 */
void
pulp_vardict_writer_add_vardict (PulpVardictWriter *w, const gchar *key, GVariant *dict)
{
  pulp_vardict_writer_begin_value (w, key);
  pulp_vardict_writer_append (w, g_variant_get_data (dict), g_variant_get_size (dict));
  pulp_vardict_writer_end_value (w, "a{sv}");
  w->embedded = TRUE;
}

/**
 * pulp_vardict_writer_begin_strv:
 *
 * Starts the entry @key, an `as`: each string is appended, then ended
 * with pulp_vardict_writer_end_strv_item(); pulp_vardict_writer_end_strv()
 * closes the entry.
 */
void
pulp_vardict_writer_begin_strv (PulpVardictWriter *w, const gchar *key)
{
  pulp_vardict_writer_begin_value (w, key);
  w->array_start = w->len;
  g_array_set_size (w->item_ends, 0);
}

void
pulp_vardict_writer_end_strv_item (PulpVardictWriter *w)
{
  gsize end;

  pulp_vardict_writer_append_byte (w, 0);
  end = w->len;
  g_array_append_val (w->item_ends, end);
}

void
pulp_vardict_writer_end_strv (PulpVardictWriter *w)
{
  append_offsets (w, (const gsize *) w->item_ends->data, w->item_ends->len, w->array_start);
  pulp_vardict_writer_end_value (w, "as");
}

static GVariant *
take_result (PulpVardictWriter *w, const GVariantType *type)
{
  g_autoptr (GBytes) bytes = g_bytes_new (w->data, w->len);
  /* what the writer wrote itself is in normal form; data a caller gave
   * is checked by GLib as it is read */
  GVariant *result = g_variant_new_from_bytes (type, bytes, !w->embedded);

  w->len = 0;
  w->embedded = FALSE;
  g_array_set_size (w->element_ends, 0);
  return result;
}

/**
 * pulp_vardict_writer_end:
 *
 * Returns: (transfer floating): the `a{sv}` written; the writer is ready
 *   for the next
 */
GVariant *
pulp_vardict_writer_end (PulpVardictWriter *w)
{
  close_dict (w);
  return take_result (w, G_VARIANT_TYPE_VARDICT);
}

/**
 * pulp_vardict_writer_end_element:
 *
 * Ends the dict written so far as an element of a list, and starts the
 * next one.
 */
void
pulp_vardict_writer_end_element (PulpVardictWriter *w)
{
  gsize end;

  close_dict (w);
  end = w->len;
  g_array_append_val (w->element_ends, end);
}

/**
 * pulp_vardict_writer_end_list:
 *
 * Returns: (transfer floating): the `aa{sv}` of the elements ended so
 *   far; the writer is ready for the next
 */
GVariant *
pulp_vardict_writer_end_list (PulpVardictWriter *w)
{
  append_offsets (w, (const gsize *) w->element_ends->data, w->element_ends->len, 0);
  return take_result (w, G_VARIANT_TYPE ("aa{sv}"));
}
