/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct _PulpVardictWriter PulpVardictWriter;

PulpVardictWriter *pulp_vardict_writer_new (void);
void pulp_vardict_writer_free (PulpVardictWriter *w);

void pulp_vardict_writer_begin_value (PulpVardictWriter *w, const gchar *key);
void pulp_vardict_writer_end_value (PulpVardictWriter *w, const gchar *type);
void pulp_vardict_writer_append (PulpVardictWriter *w, gconstpointer data, gsize n);
void pulp_vardict_writer_append_byte (PulpVardictWriter *w, guint8 c);
gsize pulp_vardict_writer_get_length (PulpVardictWriter *w);
guint8 *pulp_vardict_writer_peek (PulpVardictWriter *w, gsize offset);
void pulp_vardict_writer_truncate (PulpVardictWriter *w, gsize length);

void pulp_vardict_writer_add_string (PulpVardictWriter *w, const gchar *key, const gchar *value);
void pulp_vardict_writer_add_uint64 (PulpVardictWriter *w, const gchar *key, guint64 value);
void pulp_vardict_writer_add_boolean (PulpVardictWriter *w, const gchar *key, gboolean value);
void pulp_vardict_writer_add_vardict (PulpVardictWriter *w, const gchar *key, GVariant *dict);
void pulp_vardict_writer_begin_strv (PulpVardictWriter *w, const gchar *key);
void pulp_vardict_writer_end_strv_item (PulpVardictWriter *w);
void pulp_vardict_writer_end_strv (PulpVardictWriter *w);

GVariant *pulp_vardict_writer_end (PulpVardictWriter *w);
void pulp_vardict_writer_end_element (PulpVardictWriter *w);
GVariant *pulp_vardict_writer_end_list (PulpVardictWriter *w);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (PulpVardictWriter, pulp_vardict_writer_free)

G_END_DECLS
