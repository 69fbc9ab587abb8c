/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

typedef struct _PulpRpmPipeline PulpRpmPipeline;

/* Runs in a thread of its own and hands items on with
 * pulp_rpm_pipeline_push(). */
typedef gboolean (*PulpRpmProduceFunc) (PulpRpmPipeline *pipeline,
                                        gpointer user_data,
                                        GError **error);

/* Runs in the calling thread, once for each item in the order pushed,
 * until it fails; the pipeline frees the item afterwards, in the
 * producer's thread. */
typedef gboolean (*PulpRpmConsumeFunc) (gpointer item, gpointer user_data, GError **error);

gboolean pulp_rpm_pipeline_run (const gchar *thread_name,
                                guint chunk_size,
                                guint chunks,
                                GDestroyNotify free_item,
                                PulpRpmProduceFunc produce,
                                gpointer produce_data,
                                PulpRpmConsumeFunc consume,
                                gpointer consume_data,
                                GError **error);

gboolean pulp_rpm_pipeline_push (PulpRpmPipeline *pipeline, gpointer item, GError **error);

G_END_DECLS
