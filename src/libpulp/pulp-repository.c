/* SPDX-License-Identifier: LGPL-2.1-or-later */
#define G_LOG_DOMAIN "Pulp"

#include "pulp-repository.h"

#include "pulp-downloader.h"

/**
 * PulpRepository:
 *
 * A repository as the engine holds it in memory: its id, importer type,
 * configuration and the state of its latest version. Every change is
 * announced with GObject::notify in the main context.
 */
struct _PulpRepository
{
  GObject parent_instance;
  gchar *id;
  gchar *importer;
  GVariant *config;
  guint64 latest_version;
  guint64 unit_count;
  guint64 last_sync;
  PulpTask *active_task;

  /* ListUnits page marks: "version/type/offset" → the id of the unit just
   * before that offset. Read and written from ListUnits worker threads. */
  GMutex page_marks_lock;
  GHashTable *page_marks;
};

enum {
  PROP_0,
  PROP_CONFIG,
  PROP_LATEST_VERSION,
  PROP_UNIT_COUNT,
  PROP_LAST_SYNC,
  PROP_ACTIVE_TASK,
  N_PROPS
};

static GParamSpec *props[N_PROPS];

G_DEFINE_TYPE (PulpRepository, pulp_repository, G_TYPE_OBJECT)

static void
pulp_repository_finalize (GObject *object)
{
  PulpRepository *self = PULP_REPOSITORY (object);
  g_free (self->id);
  g_free (self->importer);
  g_variant_unref (self->config);
  g_clear_object (&self->active_task);
  g_mutex_clear (&self->page_marks_lock);
  g_hash_table_unref (self->page_marks);
  G_OBJECT_CLASS (pulp_repository_parent_class)->finalize (object);
}

static void
pulp_repository_get_property (GObject *object, guint prop_id, GValue *value, GParamSpec *pspec)
{
  PulpRepository *self = PULP_REPOSITORY (object);

  switch (prop_id)
    {
    case PROP_CONFIG:
      g_value_set_variant (value, self->config);
      break;
    case PROP_LATEST_VERSION:
      g_value_set_uint64 (value, self->latest_version);
      break;
    case PROP_UNIT_COUNT:
      g_value_set_uint64 (value, self->unit_count);
      break;
    case PROP_LAST_SYNC:
      g_value_set_uint64 (value, self->last_sync);
      break;
    case PROP_ACTIVE_TASK:
      g_value_set_object (value, self->active_task);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
pulp_repository_class_init (PulpRepositoryClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GParamFlags flags = G_PARAM_READABLE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY;

  object_class->finalize = pulp_repository_finalize;
  object_class->get_property = pulp_repository_get_property;
  props[PROP_CONFIG] = g_param_spec_variant ("config", NULL, NULL, G_VARIANT_TYPE_VARDICT, NULL, flags);
  props[PROP_LATEST_VERSION] = g_param_spec_uint64 ("latest-version", NULL, NULL, 0, G_MAXUINT64, 0, flags);
  props[PROP_UNIT_COUNT] = g_param_spec_uint64 ("unit-count", NULL, NULL, 0, G_MAXUINT64, 0, flags);
  props[PROP_LAST_SYNC] = g_param_spec_uint64 ("last-sync", NULL, NULL, 0, G_MAXUINT64, 0, flags);
  props[PROP_ACTIVE_TASK] = g_param_spec_object ("active-task", NULL, NULL, PULP_TYPE_TASK, flags);
  g_object_class_install_properties (object_class, N_PROPS, props);
}

static void
pulp_repository_init (PulpRepository *self)
{
  g_mutex_init (&self->page_marks_lock);
  self->page_marks = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
}

/**
 * pulp_repository_new:
 * @config: (transfer floating): the validated configuration, an `a{sv}`
 *
 * Returns: (transfer full): a new #PulpRepository
 */
PulpRepository *
pulp_repository_new (const gchar *id, const gchar *importer, GVariant *config)
{
  PulpRepository *self = g_object_new (PULP_TYPE_REPOSITORY, NULL);
  self->id = g_strdup (id);
  self->importer = g_strdup (importer);
  self->config = g_variant_ref_sink (config);
  return self;
}

const gchar *
pulp_repository_get_id (PulpRepository *self)
{
  g_return_val_if_fail (PULP_IS_REPOSITORY (self), NULL);
  return self->id;
}

const gchar *
pulp_repository_get_importer (PulpRepository *self)
{
  g_return_val_if_fail (PULP_IS_REPOSITORY (self), NULL);
  return self->importer;
}

/**
 * pulp_repository_get_config:
 *
 * Returns: (transfer none): the whole stored configuration, secrets included
 */
GVariant *
pulp_repository_get_config (PulpRepository *self)
{
  g_return_val_if_fail (PULP_IS_REPOSITORY (self), NULL);
  return self->config;
}

/**
 * pulp_repository_get_public_config:
 *
 * Returns: (transfer floating): the configuration without secrets: no
 * password, and no password in the feed or proxy URL
 */
GVariant *
pulp_repository_get_public_config (PulpRepository *self)
{
  GVariantBuilder b;
  GVariantIter iter;
  const gchar *key;
  GVariant *value;

  g_return_val_if_fail (PULP_IS_REPOSITORY (self), NULL);

  g_variant_builder_init (&b, G_VARIANT_TYPE_VARDICT);
  g_variant_iter_init (&iter, self->config);
  while (g_variant_iter_loop (&iter, "{&sv}", &key, &value))
    {
      gchar *safe = NULL;

      if (g_str_equal (key, "password"))
        continue;
      if ((g_str_equal (key, "proxy") || g_str_equal (key, "feed"))
          && g_variant_is_of_type (value, G_VARIANT_TYPE_STRING))
        safe = pulp_url_for_display (g_variant_get_string (value, NULL));
      g_variant_builder_add (&b, "{sv}", key,
                             safe != NULL ? g_variant_new_take_string (safe) : value);
    }
  return g_variant_builder_end (&b);
}

/**
 * pulp_repository_set_config:
 * @config: (transfer floating): the new validated configuration
 */
void
pulp_repository_set_config (PulpRepository *self, GVariant *config)
{
  g_return_if_fail (PULP_IS_REPOSITORY (self));
  g_variant_unref (self->config);
  self->config = g_variant_ref_sink (config);
  g_object_notify_by_pspec (G_OBJECT (self), props[PROP_CONFIG]);
}

guint64
pulp_repository_get_latest_version (PulpRepository *self)
{
  g_return_val_if_fail (PULP_IS_REPOSITORY (self), 0);
  return self->latest_version;
}

guint64
pulp_repository_get_unit_count (PulpRepository *self)
{
  g_return_val_if_fail (PULP_IS_REPOSITORY (self), 0);
  return self->unit_count;
}

guint64
pulp_repository_get_last_sync (PulpRepository *self)
{
  g_return_val_if_fail (PULP_IS_REPOSITORY (self), 0);
  return self->last_sync;
}

/**
 * pulp_repository_set_state:
 *
 * Updates the state of the latest version, notifying what changed.
 */
void
pulp_repository_set_state (PulpRepository *self,
                           guint64 latest_version,
                           guint64 unit_count,
                           guint64 last_sync)
{
  GObject *obj = G_OBJECT (self);

  g_return_if_fail (PULP_IS_REPOSITORY (self));
  g_object_freeze_notify (obj);
  if (self->latest_version != latest_version)
    {
      self->latest_version = latest_version;
      g_object_notify_by_pspec (obj, props[PROP_LATEST_VERSION]);
    }
  if (self->unit_count != unit_count)
    {
      self->unit_count = unit_count;
      g_object_notify_by_pspec (obj, props[PROP_UNIT_COUNT]);
    }
  if (self->last_sync != last_sync)
    {
      self->last_sync = last_sync;
      g_object_notify_by_pspec (obj, props[PROP_LAST_SYNC]);
    }
  g_object_thaw_notify (obj);
}

/**
 * pulp_repository_get_active_task:
 *
 * Returns: (transfer none) (nullable): the running or first queued write
 * task on this repository
 */
PulpTask *
pulp_repository_get_active_task (PulpRepository *self)
{
  g_return_val_if_fail (PULP_IS_REPOSITORY (self), NULL);
  return self->active_task;
}

void
pulp_repository_set_active_task (PulpRepository *self, PulpTask *task)
{
  g_return_if_fail (PULP_IS_REPOSITORY (self));
  if (g_set_object (&self->active_task, task))
    g_object_notify_by_pspec (G_OBJECT (self), props[PROP_ACTIVE_TASK]);
}

/* Enough for a few clients paging through a few versions at once. */
#define PAGE_MARKS_MAX 1024

static gchar *
page_mark_key (guint64 version, const gchar *type, guint64 offset)
{
  return g_strdup_printf ("%" G_GUINT64_FORMAT "/%s/%" G_GUINT64_FORMAT, version, type, offset);
}

/**
 * pulp_repository_get_page_mark:
 * @type: the type filter of the listing ("" for none)
 *
 * A committed version never changes, so the unit just before an offset of
 * a listing stays the same: with it, a page further on is read from that
 * unit on instead of skipping @offset units again. Thread-safe.
 *
 * Returns: (transfer full) (nullable): the id of the unit just before
 *   @offset in the listing of @version filtered by @type, if known
 */
gchar *
pulp_repository_get_page_mark (PulpRepository *self, guint64 version, const gchar *type, guint64 offset)
{
  g_autofree gchar *key = page_mark_key (version, type, offset);
  g_autoptr (GMutexLocker) locker = NULL;

  g_return_val_if_fail (PULP_IS_REPOSITORY (self), NULL);
  locker = g_mutex_locker_new (&self->page_marks_lock);
  return g_strdup (g_hash_table_lookup (self->page_marks, key));
}

/**
 * pulp_repository_set_page_mark:
 * @unit_id: the id of the unit just before @offset in the listing
 *
 * Remembers a mark for pulp_repository_get_page_mark(). Thread-safe.
 */
void
pulp_repository_set_page_mark (PulpRepository *self,
                               guint64 version,
                               const gchar *type,
                               guint64 offset,
                               const gchar *unit_id)
{
  g_autoptr (GMutexLocker) locker = NULL;

  g_return_if_fail (PULP_IS_REPOSITORY (self));
  locker = g_mutex_locker_new (&self->page_marks_lock);
  if (g_hash_table_size (self->page_marks) >= PAGE_MARKS_MAX)
    g_hash_table_remove_all (self->page_marks);
  g_hash_table_insert (self->page_marks, page_mark_key (version, type, offset), g_strdup (unit_id));
}
