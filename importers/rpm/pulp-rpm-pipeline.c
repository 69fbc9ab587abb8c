/* SPDX-License-Identifier: LGPL-2.1-or-later */
#define G_LOG_DOMAIN "PulpRpm"

#include <glib/gi18n-lib.h>

#include "pulp-error.h"
#include "pulp-rpm-pipeline.h"

/* Two stages of work on two threads: a producer in a thread of its own
 * hands items to the calling thread, which consumes them while the
 * producer goes on. Items travel in chunks through a queue; chunks are
 * recycled through a second queue that starts with a fixed number of
 * them, so the producer runs at most that far ahead and memory stays
 * bounded.
 *
 * Consumed items go back with their chunk and the producer frees them as
 * it takes the chunk up again: memory is freed by the thread that
 * allocated it. glibc gives each thread an arena of its own and a free()
 * from another thread takes that arena's lock, so with the consumer
 * freeing, the two threads of a metadata-only rpm sync waited on each
 * other's lock more than a thousand times (perf sched, 50,000 packages). */

struct _PulpRpmPipeline
{
  guint chunk_size;
  PulpRpmProduceFunc produce;
  gpointer produce_data;
  GAsyncQueue *full;  /* GPtrArray of items, then the end marker */
  GAsyncQueue *empty; /* GPtrArray, emptied */
  GPtrArray *chunk;   /* being filled; producer thread */
  gint stop;          /* set by the consumer when it fails */
  gboolean ok;        /* the producer's result, read after the end marker */
  GError *error;
};

/* Any non-NULL pointer that is not a chunk. */
#define PIPELINE_END ((gpointer) &pipeline_end_marker)
static const gint pipeline_end_marker = 0;

/**
 * pulp_rpm_pipeline_push:
 * @item: (transfer full): the next item
 *
 * Hands @item to the consumer; waits while the lookahead is full.
 *
 * Returns: %FALSE (@item freed) once the consumer has failed
 */
gboolean
pulp_rpm_pipeline_push (PulpRpmPipeline *p, gpointer item, GError **error)
{
  g_ptr_array_add (p->chunk, item);
  if (g_atomic_int_get (&p->stop))
    {
      g_ptr_array_set_size (p->chunk, 0);
      g_set_error_literal (error, PULP_ERROR, PULP_ERROR_FAILED, _("stopped"));
      return FALSE;
    }
  if (p->chunk->len >= p->chunk_size)
    {
      g_async_queue_push (p->full, p->chunk);
      p->chunk = g_async_queue_pop (p->empty);
      g_ptr_array_set_size (p->chunk, 0); /* frees what was consumed */
    }
  return TRUE;
}

static gpointer
produce_in_thread (gpointer data)
{
  PulpRpmPipeline *p = data;

  p->chunk = g_async_queue_pop (p->empty);
  p->ok = p->produce (p, p->produce_data, &p->error);
  if (p->chunk->len > 0)
    g_async_queue_push (p->full, p->chunk);
  else
    g_ptr_array_unref (p->chunk);
  p->chunk = NULL;
  g_async_queue_push (p->full, PIPELINE_END);
  return NULL;
}

/**
 * pulp_rpm_pipeline_run:
 * @thread_name: names the producer's thread
 * @chunk_size: items handed over at a time
 * @chunks: how many chunks the producer may fill ahead
 * @free_item: frees an item
 *
 * Runs @produce in a thread of its own and @consume here, for each item
 * it pushes.
 *
 * Returns: %TRUE if both succeeded; otherwise the consumer's error, or the
 *   producer's if the consumer did not fail (the producer only stopped
 *   because of it)
 */
gboolean
pulp_rpm_pipeline_run (const gchar *thread_name,
                       guint chunk_size,
                       guint chunks,
                       GDestroyNotify free_item,
                       PulpRpmProduceFunc produce,
                       gpointer produce_data,
                       PulpRpmConsumeFunc consume,
                       gpointer consume_data,
                       GError **error)
{
  PulpRpmPipeline p = {
    .chunk_size = chunk_size,
    .produce = produce,
    .produce_data = produce_data,
  };
  g_autoptr (GError) local = NULL;
  GThread *thread;
  gpointer item;

  p.full = g_async_queue_new ();
  p.empty = g_async_queue_new_full ((GDestroyNotify) g_ptr_array_unref);
  for (guint i = 0; i < chunks; i++)
    g_async_queue_push (p.empty, g_ptr_array_new_full (chunk_size, free_item));
  thread = g_thread_try_new (thread_name, produce_in_thread, &p, error);
  if (thread == NULL)
    {
      g_async_queue_unref (p.full);
      g_async_queue_unref (p.empty);
      pulp_error_convert (error);
      return FALSE;
    }
  while ((item = g_async_queue_pop (p.full)) != PIPELINE_END)
    {
      GPtrArray *chunk = item;

      for (guint i = 0; i < chunk->len && local == NULL; i++)
        if (!consume (g_ptr_array_index (chunk, i), consume_data, &local) && local == NULL)
          g_set_error_literal (&local, PULP_ERROR, PULP_ERROR_FAILED, _("stopped"));
      if (local != NULL)
        g_atomic_int_set (&p.stop, TRUE);
      /* recycled even after a failure, so the producer is never left waiting */
      g_async_queue_push (p.empty, chunk);
    }
  g_thread_join (thread);
  g_async_queue_unref (p.full);
  g_async_queue_unref (p.empty);

  if (local != NULL)
    {
      g_clear_error (&p.error);
      g_propagate_error (error, g_steal_pointer (&local));
      return FALSE;
    }
  if (!p.ok)
    {
      g_propagate_error (error, p.error);
      return FALSE;
    }
  return TRUE;
}
