/* SPDX-License-Identifier: LGPL-2.1-or-later */
#define G_LOG_DOMAIN "PulpStore"

#include <sqlite3.h>
#include <string.h>

#include "pulp-error.h"
#include "pulp-store.h"

/**
 * PulpStore:
 *
 * The database: repositories, units, repository content by version,
 * versions and tasks, through libgda (SQLite by default).
 *
 * libgda walks a list of every statement run inside a transaction before
 * each new one, so transactions are kept to a few hundred statements; many
 * rows travel packed in a few binary parameters that the database unpacks
 * (see packed_select()), since libgda's binding of each parameter costs
 * more than SQLite's own work.
 * One connection serves all threads, serialized by a recursive mutex; a
 * transaction holds the mutex from begin to commit. With SQLite, a second
 * connection in a thread of its own writes the log back into the database
 * (see checkpoint_thread()), and a third, through SQLite's own API and
 * under the same mutex, writes the units of syncs (see
 * pulp_store_save_units()).
 */

/* libgda 5 has no autoptr declarations of its own */
G_DEFINE_AUTOPTR_CLEANUP_FUNC (GdaSqlParser, g_object_unref)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (GdaDataModel, g_object_unref)

typedef struct
{
  GdaStatement *stmt;
  GdaSet *params;
  GPtrArray *holders;
} Statement;

struct _PulpStore
{
  GObject parent_instance;
  GdaConnection *cnc;
  GdaConnection *lock_cnc; /* holds the advisory lock (PostgreSQL) */
  GRecMutex lock;
  GHashTable *statements; /* sql → Statement */
  gboolean is_sqlite;
  guint schema_version;
  guint transaction_depth; /* pulp_store_begin() without commit or rollback */
  gint64 last_used;        /* monotonic time of the last statement (not SQLite) */

  /* writes units (SQLite) */
  sqlite3 *bulk;
  sqlite3_stmt *bulk_unit;
  sqlite3_stmt *bulk_content;

  /* the checkpointer (SQLite) */
  GThread *checkpointer;
  GMutex checkpoint_lock;
  GCond checkpoint_cond;
  gboolean checkpoint_wanted; /* a commit since the last checkpoint */
  gboolean checkpoint_stop;
  gchar *cnc_string; /* as given, with the credentials it may hold */
};

G_DEFINE_TYPE (PulpStore, pulp_store, G_TYPE_OBJECT)

static void
statement_free (Statement *st)
{
  g_object_unref (st->stmt);
  g_clear_object (&st->params);
  g_ptr_array_unref (st->holders);
  g_free (st);
}

static void
pulp_store_finalize (GObject *object)
{
  PulpStore *self = PULP_STORE (object);

  if (self->checkpointer != NULL)
    {
      g_mutex_lock (&self->checkpoint_lock);
      self->checkpoint_stop = TRUE;
      g_cond_signal (&self->checkpoint_cond);
      g_mutex_unlock (&self->checkpoint_lock);
      g_thread_join (self->checkpointer);
    }
  g_mutex_clear (&self->checkpoint_lock);
  g_cond_clear (&self->checkpoint_cond);
  sqlite3_finalize (self->bulk_unit);
  sqlite3_finalize (self->bulk_content);
  sqlite3_close (self->bulk);
  g_free (self->cnc_string);
  g_hash_table_unref (self->statements);
  if (self->cnc != NULL)
    gda_connection_close (self->cnc);
  g_clear_object (&self->cnc);
  if (self->lock_cnc != NULL)
    gda_connection_close (self->lock_cnc);
  g_clear_object (&self->lock_cnc);
  g_rec_mutex_clear (&self->lock);
  G_OBJECT_CLASS (pulp_store_parent_class)->finalize (object);
}

static void
pulp_store_class_init (PulpStoreClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = pulp_store_finalize;
}

static void
pulp_store_init (PulpStore *self)
{
  g_rec_mutex_init (&self->lock);
  g_mutex_init (&self->checkpoint_lock);
  g_cond_init (&self->checkpoint_cond);
  self->statements = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                            (GDestroyNotify) statement_free);
}

void
pulp_store_repository_free (PulpStoreRepository *repo)
{
  g_free (repo->importer_state);
  g_free (repo->id);
  g_free (repo->importer);
  g_free (repo->config);
  g_free (repo);
}

void
pulp_store_task_free (PulpStoreTask *task)
{
  g_free (task->kind);
  g_free (task->repository);
  g_free (task->state);
  g_free (task->stage);
  g_free (task->error_name);
  g_free (task->error);
  g_free (task->summary);
  g_free (task);
}

static void
db_error (GError **error, const gchar *what)
{
  if (error != NULL && *error != NULL)
    {
      g_prefix_error (error, "Database error while %s: ", what);
      (*error)->domain = PULP_ERROR;
      (*error)->code = PULP_ERROR_FAILED;
    }
}

/* libgda 5 does not reconnect to a PostgreSQL server that closed the
 * connection (it restarted, or an administrator ended the session): every
 * later statement fails with "no connection to the server", and the first
 * one may crash the provider, which parses the SQLSTATE that libpq leaves
 * NULL for such errors. So a connection that sat idle for this long, which
 * is when such things happen unnoticed, is reopened before its next
 * statement (outside transactions); opening fails cleanly, with libpq's
 * reason, while the server is down. */
#define IDLE_REOPEN_USEC (2 * G_USEC_PER_SEC)

/* Call before each statement, with the lock held: FALSE if the connection
 * had to be reopened and could not be. */
static gboolean
reopen_if_idle (PulpStore *self, GError **error)
{
  gint64 now = g_get_monotonic_time ();

  if (self->is_sqlite || self->transaction_depth > 0)
    return TRUE;
  if (now - self->last_used > IDLE_REOPEN_USEC || !gda_connection_is_opened (self->cnc))
    {
      gda_connection_close (self->cnc);
      if (!gda_connection_open (self->cnc, error))
        return FALSE;
    }
  self->last_used = now;
  return TRUE;
}

/* Call after each statement: after a failure (the connection may be gone)
 * the next statement outside a transaction reopens the connection. */
static void
statement_done (PulpStore *self, gboolean failed)
{
  self->last_used = failed ? 0 : g_get_monotonic_time ();
}

/* Runs SQL without parameters; libgda returns -1 for statements without a
 * row count without setting an error, so the GError decides. */
static gboolean
exec (PulpStore *self, const gchar *sql, GError **error)
{
  g_autoptr (GError) local = NULL;

  if (!reopen_if_idle (self, error))
    return FALSE;
  gda_connection_execute_non_select_command (self->cnc, sql, &local);
  statement_done (self, local != NULL);
  if (local != NULL)
    {
      g_propagate_error (error, g_steal_pointer (&local));
      return FALSE;
    }
  return TRUE;
}

static Statement *
prepare (PulpStore *self, const gchar *sql, GError **error)
{
  Statement *st = g_hash_table_lookup (self->statements, sql);
  g_autoptr (GdaSqlParser) parser = NULL;
  GdaStatement *stmt;

  if (st != NULL)
    return st;
  parser = gda_connection_create_parser (self->cnc);
  if (parser == NULL)
    parser = gda_sql_parser_new ();
  stmt = gda_sql_parser_parse_string (parser, sql, NULL, error);
  if (stmt == NULL)
    return NULL;
  st = g_new0 (Statement, 1);
  st->stmt = stmt;
  st->holders = g_ptr_array_new ();
  if (!gda_statement_get_parameters (stmt, &st->params, error))
    {
      statement_free (st);
      return NULL;
    }
  if (st->params != NULL)
    for (GSList *l = st->params->holders; l != NULL; l = l->next)
      g_ptr_array_add (st->holders, l->data);
  g_hash_table_insert (self->statements, g_strdup (sql), st);
  return st;
}

static void
bind_string (Statement *st, guint i, const gchar *value)
{
  GValue v = G_VALUE_INIT;
  g_value_init (&v, G_TYPE_STRING);
  g_value_set_static_string (&v, value != NULL ? value : "");
  gda_holder_set_value (g_ptr_array_index (st->holders, i), &v, NULL);
  g_value_unset (&v);
}

static void
bind_int (Statement *st, guint i, gint64 value)
{
  GValue v = G_VALUE_INIT;
  g_value_init (&v, G_TYPE_INT64);
  g_value_set_int64 (&v, value);
  gda_holder_set_value (g_ptr_array_index (st->holders, i), &v, NULL);
}

/* @rows: (out) (optional): how many rows the statement changed */
static gboolean
run_counting (PulpStore *self, Statement *st, gint *rows, GError **error)
{
  g_autoptr (GError) local = NULL;
  gint n;

  if (!reopen_if_idle (self, error))
    return FALSE;
  n = gda_connection_statement_execute_non_select (self->cnc, st->stmt, st->params, NULL, &local);
  statement_done (self, local != NULL);
  if (local != NULL)
    {
      g_propagate_error (error, g_steal_pointer (&local));
      return FALSE;
    }
  if (rows != NULL)
    *rows = n;
  return TRUE;
}

static gboolean
run (PulpStore *self, Statement *st, GError **error)
{
  return run_counting (self, st, NULL, error);
}

/* SQL for "the rows of @repo's version @version" in repository_content
 * (as @prefix names it); bind_in_version() fills in the three values,
 * which come first in the statement. */
#define IN_VERSION(prefix)                                                                         \
  prefix "repository = ##r::string AND " prefix "version_added <= ##v::gint64 AND ("              \
  prefix "version_removed IS NULL OR " prefix "version_removed > ##v2::gint64)"

static void
bind_in_version (Statement *st, const gchar *repo, guint64 version)
{
  bind_string (st, 0, repo);
  bind_int (st, 1, (gint64) version);
  bind_int (st, 2, (gint64) version);
}

static GdaDataModel *
query (PulpStore *self, Statement *st, GType *col_types, GError **error)
{
  GdaDataModel *model;

  if (!reopen_if_idle (self, error))
    return NULL;
  model = gda_connection_statement_execute_select_full (self->cnc, st->stmt, st->params,
                                                        GDA_STATEMENT_MODEL_RANDOM_ACCESS,
                                                        col_types, error);
  statement_done (self, model == NULL);
  return model;
}

/* An aggregate gives one row, whatever it aggregates; when the database
 * fails after the first step (a damaged page), libgda gives none and
 * keeps the error as an exception of the result rather than failing. */
static gboolean
one_row (GdaDataModel *model, const gchar *what, GError **error)
{
  GError **exceptions;

  if (gda_data_model_get_n_rows (model) == 1)
    return TRUE;
  exceptions = gda_data_model_get_exceptions (model);
  g_set_error (error, PULP_ERROR, PULP_ERROR_FAILED, "Database error while %s: %s", what,
               exceptions != NULL && exceptions[0] != NULL ? exceptions[0]->message
                                                           : "no result");
  return FALSE;
}

static const gchar *
get_string (GdaDataModel *model, gint col, gint row)
{
  const GValue *v = gda_data_model_get_value_at (model, col, row, NULL);
  if (v == NULL || !G_VALUE_HOLDS_STRING (v))
    return NULL;
  return g_value_get_string (v);
}

static const GdaBinary *
get_binary (GdaDataModel *model, gint col, gint row)
{
  const GValue *v = gda_data_model_get_value_at (model, col, row, NULL);
  if (v == NULL || !G_VALUE_HOLDS (v, GDA_TYPE_BINARY))
    return NULL;
  return gda_value_get_binary (v);
}

static gint64
get_int (GdaDataModel *model, gint col, gint row)
{
  const GValue *v = gda_data_model_get_value_at (model, col, row, NULL);
  if (v == NULL)
    return 0;
  if (G_VALUE_HOLDS_INT64 (v))
    return g_value_get_int64 (v);
  if (G_VALUE_HOLDS_INT (v))
    return g_value_get_int (v);
  return 0;
}

/* The schema, one step per version; a database is brought forward one
 * step at a time, each in its own transaction: a step's SQL, then what SQL
 * alone cannot do. */
typedef struct
{
  const gchar *sql;
  gboolean (*convert) (PulpStore *self, GError **error);
} Migration;

static gboolean binary_metadata (PulpStore *self, GError **error);

static const Migration migrations[] = {
  /* 1 */
  { "CREATE TABLE repositories (id TEXT PRIMARY KEY, importer TEXT NOT NULL, config TEXT NOT NULL,"
    " latest_version INTEGER NOT NULL DEFAULT 0, last_sync INTEGER NOT NULL DEFAULT 0);"
    "CREATE TABLE units (id TEXT PRIMARY KEY, type TEXT NOT NULL, unit_key TEXT NOT NULL,"
    " metadata TEXT NOT NULL, relative_path TEXT NOT NULL, sha256 TEXT NOT NULL,"
    " size INTEGER NOT NULL) WITHOUT ROWID;"
    "CREATE INDEX units_sha256 ON units (sha256);"
    "CREATE TABLE repository_content (repository TEXT NOT NULL, unit TEXT NOT NULL,"
    " version_added INTEGER NOT NULL, version_removed INTEGER, uploaded INTEGER NOT NULL,"
    " PRIMARY KEY (repository, unit, version_added)) WITHOUT ROWID;"
    "CREATE INDEX repository_content_unit ON repository_content (unit);"
    "CREATE TABLE versions (repository TEXT NOT NULL, number INTEGER NOT NULL,"
    " created INTEGER NOT NULL, unit_count INTEGER NOT NULL, PRIMARY KEY (repository, number));"
    "CREATE TABLE tasks (id INTEGER PRIMARY KEY, kind TEXT NOT NULL, repository TEXT NOT NULL,"
    " state TEXT NOT NULL, stage TEXT NOT NULL, error_name TEXT NOT NULL, error TEXT NOT NULL,"
    " summary TEXT NOT NULL, created INTEGER NOT NULL, started INTEGER NOT NULL,"
    " finished INTEGER NOT NULL, uid INTEGER NOT NULL);"
    "CREATE TABLE counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL);"
    "INSERT INTO counters (name, value) VALUES ('next-task-id', 1);" },
  /* 2: what an importer keeps between syncs (e.g. the digest of the last
   * repomd.xml), valid only while the repository is at the version that
   * sync left */
  { "ALTER TABLE repositories ADD COLUMN importer_state TEXT NOT NULL DEFAULT '';"
    "ALTER TABLE repositories ADD COLUMN importer_state_version INTEGER NOT NULL DEFAULT -1;" },
  /* 3: no query needs these, and keeping them up to date was a third of
   * the cost of storing a unit (ids and digests are hashes: every insert
   * lands on another page); orphan cleanup, which reads them, is rare */
  { "DROP INDEX units_sha256;"
    "DROP INDEX repository_content_unit;" },
  /* 4: units in the order they were stored, found by id through an index:
   * rows run to kilobytes (rpm metadata), and in a table ordered by the
   * hashed id every batch of inserts split and rewrote pages all over it
   * (and rows over a quarter of a page went to overflow pages) */
  { "CREATE TABLE units_by_row (id TEXT NOT NULL UNIQUE, type TEXT NOT NULL,"
    " unit_key TEXT NOT NULL, metadata TEXT NOT NULL, relative_path TEXT NOT NULL,"
    " sha256 TEXT NOT NULL, size INTEGER NOT NULL);"
    "INSERT INTO units_by_row (id, type, unit_key, metadata, relative_path, sha256, size)"
    " SELECT id, type, unit_key, metadata, relative_path, sha256, size FROM units;"
    "DROP TABLE units;"
    "ALTER TABLE units_by_row RENAME TO units;" },
  /* 5: metadata as its GVariant serialization itself rather than Base64
   * text of it: a quarter less to write, and no encoding (SQLite keeps the
   * column's declared type, which only matters for numbers) */
  { NULL, binary_metadata },
};

G_STATIC_ASSERT (G_N_ELEMENTS (migrations) == PULP_STORE_SCHEMA_VERSION);

/* The migrations are written for SQLite. For other databases: no WITHOUT
 * ROWID (an SQLite storage choice), and 64-bit integers (SQLite's INTEGER
 * is; PostgreSQL's is 32 bits, too small for timestamps in µs). */
static gchar *
for_dialect (PulpStore *self, const gchar *sql)
{
  g_autoptr (GString) s = g_string_new (sql);

  if (!self->is_sqlite)
    {
      g_string_replace (s, " WITHOUT ROWID", "", 0);
      g_string_replace (s, " INTEGER", " BIGINT", 0);
    }
  return g_string_free (g_steal_pointer (&s), FALSE);
}

static gboolean
exec_script (PulpStore *self, const gchar *script, GError **error)
{
  g_autofree gchar *sql = for_dialect (self, script);
  g_auto (GStrv) parts = g_strsplit (sql, ";", -1);
  for (guint i = 0; parts[i] != NULL; i++)
    {
      if (*g_strstrip (parts[i]) == '\0')
        continue;
      if (!exec (self, parts[i], error))
        return FALSE;
    }
  return TRUE;
}

static gboolean
migrate (PulpStore *self, GError **error)
{
  g_autoptr (GdaDataModel) model = NULL;
  Statement *st;
  guint version = 0;

  if (!exec (self, "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)", error))
    return FALSE;
  st = prepare (self, "SELECT version FROM schema_version", error);
  if (st == NULL)
    return FALSE;
  model = query (self, st, (GType[]){ G_TYPE_INT64, G_TYPE_NONE }, error);
  if (model == NULL)
    return FALSE;
  if (gda_data_model_get_n_rows (model) > 0)
    version = (guint) get_int (model, 0, 0);
  else if (!exec (self, "INSERT INTO schema_version (version) VALUES (0)", error))
    return FALSE;

  if (version > PULP_STORE_SCHEMA_VERSION)
    {
      g_set_error (error, PULP_ERROR, PULP_ERROR_FAILED,
                   "The database has schema version %u, newer than this pulpd knows (%u)", version,
                   PULP_STORE_SCHEMA_VERSION);
      return FALSE;
    }
  for (; version < PULP_STORE_SCHEMA_VERSION; version++)
    {
      const Migration *m = &migrations[version];
      g_autofree gchar *bump = NULL;

      g_info ("migrating the database from schema version %u to %u", version, version + 1);
      if (!pulp_store_begin (self, error))
        return FALSE;
      bump = g_strdup_printf ("UPDATE schema_version SET version = %u", version + 1);
      if ((m->sql != NULL && !exec_script (self, m->sql, error))
          || (m->convert != NULL && !m->convert (self, error)) || !exec (self, bump, error))
        {
          pulp_store_rollback (self);
          return FALSE;
        }
      if (!pulp_store_commit (self, error))
        return FALSE;
    }
  self->schema_version = version;
  return TRUE;
}

/* PRAGMAs that answer with a row must run as a SELECT for libgda. */
static gboolean
pragma_select (PulpStore *self, const gchar *sql, GError **error)
{
  g_autoptr (GdaDataModel) model = NULL;
  Statement *st = prepare (self, sql, error);
  return st != NULL && (model = query (self, st, NULL, error)) != NULL;
}

/* How pulpd uses SQLite. WAL: readers (ListUnits) do not wait for a
 * sync's writes; NORMAL synchronisation keeps the database consistent
 * across crashes. Pages of 64 KiB, SQLite's largest (for new databases;
 * an existing one keeps its size): units of rpm metadata take kilobytes
 * each, and with fewer, larger pages a B-tree insert splits and rebalances
 * less; a metadata-only sync of 50,000 rpm packages took 10-15% less CPU
 * than with 16 KiB pages, ListUnits pages no longer, and 100,000 small
 * units of the file importer as long. Statement
 * journals stay in memory: SQLite otherwise spills one to a temporary file
 * for any statement that changes more than 64 KiB of existing pages, and a
 * metadata-only sync of 50,000 rpm packages created 58 of them and wrote
 * 60 MB more (432 MB instead of 371 MB). The checkpointer
 * writes the log back. While a sync writes without pause the log cannot
 * start over and grows; past 1 GiB the connection that commits
 * checkpoints itself, and a log that started over is cut back to 64 MiB.
 * All but the first two are settings of each connection. */
static const gchar *const connection_pragmas[] = {
  "PRAGMA synchronous=NORMAL",
  "PRAGMA busy_timeout=10000",
  "PRAGMA cache_size=-16384",
  "PRAGMA journal_size_limit=67108864",
  "PRAGMA temp_store=MEMORY",
};

/* @checkpoint: (out): the wal_autocheckpoint PRAGMA it ran, for
 * open_bulk() */
static gboolean
setup_sqlite (PulpStore *self, gchar **checkpoint, GError **error)
{
  g_autoptr (GdaDataModel) model = NULL;
  Statement *st;

  if (!pragma_select (self, "PRAGMA page_size=65536", error)
      || !pragma_select (self, "PRAGMA journal_mode=WAL", error))
    return FALSE;
  for (guint i = 0; i < G_N_ELEMENTS (connection_pragmas); i++)
    if (!pragma_select (self, connection_pragmas[i], error))
      return FALSE;
  if ((st = prepare (self, "PRAGMA page_size", error)) == NULL
      || (model = query (self, st, NULL, error)) == NULL)
    return FALSE;
  *checkpoint = g_strdup_printf ("PRAGMA wal_autocheckpoint=%" G_GINT64_FORMAT,
                                 1024 * 1024 * 1024 / MAX (get_int (model, 0, 0), 512));
  return pragma_select (self, *checkpoint, error);
}

#define UNITS_INSERT "INSERT INTO units (id, type, unit_key, metadata, relative_path, sha256, size) "
/* a stored unit only gains the content digest it lacked */
#define UNITS_ON_CONFLICT                                                                          \
  " ON CONFLICT (id) DO UPDATE SET sha256 = excluded.sha256, size = excluded.size"                 \
  " WHERE units.sha256 = '' AND excluded.sha256 <> ''"
#define CONTENT_INSERT "INSERT INTO repository_content (repository, unit, version_added, uploaded)"

static gboolean
bulk_failed (PulpStore *self, const gchar *what, GError **error)
{
  g_set_error (error, PULP_ERROR, PULP_ERROR_FAILED, "Database error while %s: %s", what,
               sqlite3_errmsg (self->bulk));
  return FALSE;
}

/* Opens the connection that writes units: SQLite's own API binds each
 * value of a row without copying it, where libgda 5 costs tens of
 * microseconds and a few GObject signals for every value bound, so that
 * its many rows must travel packed (see packed_select()) and be unpacked
 * again by SQL. A metadata-only sync of 50,000 rpm packages spent a third
 * less CPU in its database thread this way. libgda's provider loads the
 * same libsqlite3, so the connections share SQLite's locks as any two
 * connections of one process do. */
static gboolean
open_bulk (PulpStore *self, const gchar *checkpoint, GError **error)
{
  g_autoptr (GdaDataModel) model = NULL;
  GType types[] = { G_TYPE_STRING, G_TYPE_NONE };
  Statement *st = prepare (self, "SELECT file FROM pragma_database_list WHERE name = 'main'",
                           error);
  const gchar *file;

  if (st == NULL || (model = query (self, st, types, error)) == NULL)
    {
      db_error (error, "opening the database");
      return FALSE;
    }
  if (!one_row (model, "opening the database", error))
    return FALSE;
  file = get_string (model, 0, 0);
  /* a database without a file (in memory) has no second connection */
  if (file == NULL || *file == '\0')
    return TRUE;
  if (sqlite3_open_v2 (file, &self->bulk, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL)
      != SQLITE_OK)
    return bulk_failed (self, "opening the database", error);
  for (guint i = 0; i < G_N_ELEMENTS (connection_pragmas); i++)
    if (sqlite3_exec (self->bulk, connection_pragmas[i], NULL, NULL, NULL) != SQLITE_OK)
      return bulk_failed (self, "setting up SQLite", error);
  if (sqlite3_exec (self->bulk, checkpoint, NULL, NULL, NULL) != SQLITE_OK)
    return bulk_failed (self, "setting up SQLite", error);
  if (sqlite3_prepare_v2 (self->bulk, UNITS_INSERT "VALUES (?, ?, ?, ?, ?, ?, ?)" UNITS_ON_CONFLICT,
                          -1, &self->bulk_unit, NULL) != SQLITE_OK
      || sqlite3_prepare_v2 (self->bulk, CONTENT_INSERT " VALUES (?, ?, ?, ?)", -1,
                             &self->bulk_content, NULL) != SQLITE_OK)
    return bulk_failed (self, "preparing to store units", error);
  return TRUE;
}

/* Checkpoints write the log back into the database, and SQLite syncs
 * both files to disk for each: run by the connection that commits, they
 * held a metadata-only sync of 50,000 rpm packages in fdatasync() for
 * about a second. Here a connection of its own runs them, at most once
 * every CHECKPOINT_INTERVAL while commits come in. A PASSIVE checkpoint
 * waits for no one: what it cannot write back yet, the next one does. */
#define CHECKPOINT_INTERVAL G_USEC_PER_SEC

static gpointer
checkpoint_thread (gpointer data)
{
  PulpStore *self = data;
  g_autoptr (GError) error = NULL;
  GdaConnection *cnc = gda_connection_open_from_string ("SQLite", self->cnc_string, NULL,
                                                        GDA_CONNECTION_OPTIONS_NONE, &error);

  if (cnc == NULL)
    g_warning ("Cannot open the database for checkpoints: %s", error->message);
  g_mutex_lock (&self->checkpoint_lock);
  while (cnc != NULL && !self->checkpoint_stop)
    {
      g_autoptr (GdaDataModel) result = NULL;
      gint64 next;

      if (!self->checkpoint_wanted)
        {
          g_cond_wait (&self->checkpoint_cond, &self->checkpoint_lock);
          continue;
        }
      self->checkpoint_wanted = FALSE;
      g_mutex_unlock (&self->checkpoint_lock);
      result = gda_connection_execute_select_command (cnc, "PRAGMA wal_checkpoint(PASSIVE)",
                                                      &error);
      if (result == NULL)
        {
          g_warning ("Checkpoint failed: %s", error->message);
          g_clear_error (&error);
        }
      g_mutex_lock (&self->checkpoint_lock);
      next = g_get_monotonic_time () + CHECKPOINT_INTERVAL;
      while (!self->checkpoint_stop
             && g_cond_wait_until (&self->checkpoint_cond, &self->checkpoint_lock, next))
        ;
    }
  g_mutex_unlock (&self->checkpoint_lock);
  if (cnc != NULL)
    {
      gda_connection_close (cnc);
      g_object_unref (cnc);
    }
  return NULL;
}

#define ADVISORY_LOCK_KEY "483006378084" /* "pulpd" in ASCII */

/* One pulpd per database: a daemon keeps repositories and tasks in
 * memory, and when it starts it discards the unfinished versions and fails
 * the running tasks of every repository, which would undo another daemon's
 * syncs. On PostgreSQL an advisory lock, taken by a connection of its own
 * that runs nothing else (so reopen_if_idle() never drops it), keeps a
 * second pulpd out for as long as the server runs; SQLite lives in the
 * state directory, which the daemon locks itself. Fails with
 * %PULP_ERROR_BUSY if another daemon uses the database. */
static gboolean
lock_database (PulpStore *self, const gchar *provider, GError **error)
{
  g_autoptr (GdaDataModel) model = NULL;
  g_autoptr (GError) local = NULL;
  const GValue *held;

  if (g_ascii_strcasecmp (provider, "PostgreSQL") != 0)
    return TRUE;
  self->lock_cnc = gda_connection_open_from_string (provider, self->cnc_string, NULL,
                                                    GDA_CONNECTION_OPTIONS_NONE, &local);
  if (self->lock_cnc != NULL)
    model = gda_connection_execute_select_command (
        self->lock_cnc, "SELECT pg_try_advisory_lock(" ADVISORY_LOCK_KEY ")", &local);
  if (model == NULL || (held = gda_data_model_get_value_at (model, 0, 0, &local)) == NULL)
    {
      g_propagate_error (error, g_steal_pointer (&local));
      db_error (error, "locking the database");
      return FALSE;
    }
  if (!G_VALUE_HOLDS_BOOLEAN (held) || !g_value_get_boolean (held))
    {
      g_set_error (error, PULP_ERROR, PULP_ERROR_BUSY,
                   "The database is in use by another pulpd, which holds its PostgreSQL "
                   "advisory lock %s: a database serves one pulpd",
                   ADVISORY_LOCK_KEY);
      return FALSE;
    }
  return TRUE;
}

/**
 * pulp_store_new:
 * @provider: a libgda provider name ("SQLite", "PostgreSQL")
 * @cnc_string: its connection string, e.g. "DB_DIR=/var/lib/pulp;DB_NAME=pulp"
 * @flags: %PULP_STORE_FLAGS_EXCLUSIVE for the daemon's store, which fails
 *   with %PULP_ERROR_BUSY while another daemon uses the database, before
 *   it changes anything, and keeps other daemons out
 *
 * Opens the database and brings its schema up to date.
 *
 * Returns: (transfer full): a new #PulpStore, or %NULL
 */
PulpStore *
pulp_store_new (const gchar *provider, const gchar *cnc_string, PulpStoreFlags flags, GError **error)
{
  g_autoptr (PulpStore) self = g_object_new (PULP_TYPE_STORE, NULL);
  g_autofree gchar *checkpoint = NULL;

  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  gda_init ();
  self->cnc = gda_connection_open_from_string (provider, cnc_string, NULL,
                                               GDA_CONNECTION_OPTIONS_NONE, error);
  if (self->cnc == NULL)
    {
      /* (libgda fails some arguments with a critical warning and no error) */
      if (error != NULL && *error == NULL)
        g_set_error (error, PULP_ERROR, PULP_ERROR_FAILED, "libgda gave no reason");
      db_error (error, "opening the database");
      return NULL;
    }
  self->is_sqlite = g_ascii_strcasecmp (provider, "SQLite") == 0;
  self->cnc_string = g_strdup (cnc_string);
  statement_done (self, FALSE);
  if ((flags & PULP_STORE_FLAGS_EXCLUSIVE) && !lock_database (self, provider, error))
    return NULL;
  if (self->is_sqlite && !setup_sqlite (self, &checkpoint, error))
    {
      db_error (error, "setting up SQLite");
      return NULL;
    }
  if (!migrate (self, error))
    {
      db_error (error, "migrating the schema");
      return NULL;
    }
  if (self->is_sqlite && !open_bulk (self, checkpoint, error))
    return NULL;
  if (self->is_sqlite)
    {
      self->checkpointer = g_thread_try_new ("pulp-checkpoint", checkpoint_thread, self, error);
      if (self->checkpointer == NULL)
        {
          pulp_error_convert (error);
          return NULL;
        }
    }
  return g_steal_pointer (&self);
}

guint
pulp_store_get_schema_version (PulpStore *self)
{
  g_return_val_if_fail (PULP_IS_STORE (self), 0);
  return self->schema_version;
}

/**
 * pulp_store_begin:
 *
 * Starts a transaction and holds the store's lock until
 * pulp_store_commit() or pulp_store_rollback().
 */
gboolean
pulp_store_begin (PulpStore *self, GError **error)
{
  g_return_val_if_fail (PULP_IS_STORE (self), FALSE);

  g_rec_mutex_lock (&self->lock);
  if (!exec (self, "BEGIN", error))
    {
      g_rec_mutex_unlock (&self->lock);
      db_error (error, "starting a transaction");
      return FALSE;
    }
  self->transaction_depth++;
  return TRUE;
}

/* Lets the checkpointer know there is a commit to write back. */
static void
want_checkpoint (PulpStore *self)
{
  if (self->checkpointer == NULL)
    return;
  g_mutex_lock (&self->checkpoint_lock);
  self->checkpoint_wanted = TRUE;
  g_cond_signal (&self->checkpoint_cond);
  g_mutex_unlock (&self->checkpoint_lock);
}

gboolean
pulp_store_commit (PulpStore *self, GError **error)
{
  gboolean ok;

  g_return_val_if_fail (PULP_IS_STORE (self), FALSE);
  ok = exec (self, "COMMIT", error);
  if (!ok)
    {
      exec (self, "ROLLBACK", NULL);
      db_error (error, "committing");
    }
  self->transaction_depth--;
  g_rec_mutex_unlock (&self->lock);
  if (ok)
    want_checkpoint (self);
  return ok;
}

void
pulp_store_rollback (PulpStore *self)
{
  g_return_if_fail (PULP_IS_STORE (self));
  exec (self, "ROLLBACK", NULL);
  self->transaction_depth--;
  g_rec_mutex_unlock (&self->lock);
}

/**
 * pulp_store_list_repositories:
 *
 * Returns: (transfer container) (element-type PulpStoreRepository): every repository
 */
GPtrArray *
pulp_store_list_repositories (PulpStore *self, GError **error)
{
  g_autoptr (GRecMutexLocker) locker = g_rec_mutex_locker_new (&self->lock);
  g_autoptr (GdaDataModel) model = NULL;
  g_autoptr (GPtrArray) repos = g_ptr_array_new_with_free_func ((GDestroyNotify) pulp_store_repository_free);
  Statement *st;
  GType types[] = { G_TYPE_STRING, G_TYPE_STRING, G_TYPE_STRING, G_TYPE_INT64, G_TYPE_INT64,
                    G_TYPE_INT64,  G_TYPE_STRING, G_TYPE_INT64, G_TYPE_NONE };

  st = prepare (self,
                "SELECT r.id, r.importer, r.config, r.latest_version, r.last_sync,"
                " COALESCE((SELECT v.unit_count FROM versions v WHERE v.repository = r.id"
                " AND v.number = r.latest_version), 0), r.importer_state,"
                " r.importer_state_version FROM repositories r ORDER BY r.id",
                error);
  if (st == NULL || (model = query (self, st, types, error)) == NULL)
    {
      db_error (error, "listing repositories");
      return NULL;
    }
  for (gint i = 0; i < gda_data_model_get_n_rows (model); i++)
    {
      PulpStoreRepository *repo = g_new0 (PulpStoreRepository, 1);
      repo->id = g_strdup (get_string (model, 0, i));
      repo->importer = g_strdup (get_string (model, 1, i));
      repo->config = g_strdup (get_string (model, 2, i));
      repo->latest_version = (guint64) get_int (model, 3, i);
      repo->last_sync = (guint64) get_int (model, 4, i);
      repo->unit_count = (guint64) get_int (model, 5, i);
      repo->importer_state = g_strdup (get_string (model, 6, i));
      repo->importer_state_version = get_int (model, 7, i);
      g_ptr_array_add (repos, repo);
    }
  return g_steal_pointer (&repos);
}

gboolean
pulp_store_insert_repository (PulpStore *self,
                              const gchar *id,
                              const gchar *importer,
                              const gchar *config,
                              GError **error)
{
  g_autoptr (GRecMutexLocker) locker = g_rec_mutex_locker_new (&self->lock);
  Statement *st = prepare (self,
                           "INSERT INTO repositories (id, importer, config, latest_version,"
                           " last_sync) VALUES (##id::string, ##importer::string,"
                           " ##config::string, 0, 0)",
                           error);
  if (st == NULL)
    return FALSE;
  bind_string (st, 0, id);
  bind_string (st, 1, importer);
  bind_string (st, 2, config);
  if (!run (self, st, error))
    {
      db_error (error, "creating the repository");
      return FALSE;
    }
  return TRUE;
}

gboolean
pulp_store_update_repository_config (PulpStore *self,
                                     const gchar *id,
                                     const gchar *config,
                                     GError **error)
{
  g_autoptr (GRecMutexLocker) locker = g_rec_mutex_locker_new (&self->lock);
  Statement *st = prepare (self,
                           "UPDATE repositories SET config = ##config::string WHERE id = ##id::string",
                           error);
  if (st == NULL)
    return FALSE;
  bind_string (st, 0, config);
  bind_string (st, 1, id);
  if (!run (self, st, error))
    {
      db_error (error, "saving the configuration");
      return FALSE;
    }
  return TRUE;
}

static gboolean
exec_for_repo (PulpStore *self, const gchar *sql, const gchar *repo, GError **error)
{
  Statement *st = prepare (self, sql, error);
  if (st == NULL)
    return FALSE;
  bind_string (st, 0, repo);
  return run (self, st, error);
}

/**
 * pulp_store_delete_repository:
 *
 * Removes the repository, its versions and its content rows in one
 * transaction; the units stay (orphans until cleanup).
 */
gboolean
pulp_store_delete_repository (PulpStore *self, const gchar *id, GError **error)
{
  if (!pulp_store_begin (self, error))
    return FALSE;
  if (!exec_for_repo (self, "DELETE FROM repository_content WHERE repository = ##r::string", id, error)
      || !exec_for_repo (self, "DELETE FROM versions WHERE repository = ##r::string", id, error)
      || !exec_for_repo (self, "DELETE FROM repositories WHERE id = ##r::string", id, error))
    {
      pulp_store_rollback (self);
      db_error (error, "deleting the repository");
      return FALSE;
    }
  return pulp_store_commit (self, error);
}

/**
 * pulp_store_load_content:
 *
 * Returns: (transfer full): unit id → GINT_TO_POINTER (uploaded + 1) for
 * every unit in @version of @repo
 */
GHashTable *
pulp_store_load_content (PulpStore *self, const gchar *repo, guint64 version, GError **error)
{
  g_autoptr (GRecMutexLocker) locker = g_rec_mutex_locker_new (&self->lock);
  g_autoptr (GHashTable) ids = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_autoptr (GdaDataModel) model = NULL;
  GType types[] = { G_TYPE_STRING, G_TYPE_NONE };
  const gchar *text;
  Statement *st;

  /* One text of "<id><uploaded 0|1>" items: unit ids are hex digits, and
   * reading 100,000 rows one by one through libgda costs a second. */
  st = prepare (self,
                self->is_sqlite
                    ? "SELECT group_concat (unit || uploaded, ',') FROM repository_content"
                      " WHERE " IN_VERSION ("")
                    : "SELECT string_agg (unit || uploaded::text, ',') FROM repository_content"
                      " WHERE " IN_VERSION (""),
                error);
  if (st == NULL)
    return NULL;
  bind_in_version (st, repo, version);
  model = query (self, st, types, error);
  if (model == NULL)
    {
      db_error (error, "reading the repository content");
      return NULL;
    }
  if (!one_row (model, "reading the repository content", error))
    return NULL;
  text = get_string (model, 0, 0);
  while (text != NULL && *text != '\0')
    {
      const gchar *end = strchr (text, ',');
      gsize len = end != NULL ? (gsize) (end - text) : strlen (text);

      if (len < 2)
        {
          g_set_error (error, PULP_ERROR, PULP_ERROR_FAILED,
                       "Database error while reading the repository content: damaged row");
          return NULL;
        }
      g_hash_table_insert (ids, g_strndup (text, len - 1),
                           GINT_TO_POINTER ((text[len - 1] == '1') + 1));
      text = end != NULL ? end + 1 : text + len;
    }
  return g_steal_pointer (&ids);
}

/* Rows go to the database packed in binary values bound as parameters
 * and are unpacked there by substr(), which slices binary values in
 * constant time: for each field, ##dK holds its values one after another
 * and ##xK where each starts and how long it is, as fixed-width decimal
 * numbers. libgda binds each parameter with GObject signals, which cost
 * more than SQLite's own work when every value is a parameter; rows as
 * JSON cost SQLite a parse of the row for every field it extracted. A
 * value per field, because libgda binds (and SQLite copies) a parameter
 * for every place that names it. Each statement's values are copied a few
 * times (here, for libgda, by SQLite), so a statement also ends at
 * PACKED_BYTES: a flush of thousands of large units is not held several
 * times over. */
#define PACKED_ROWS 2000
#define PACKED_BYTES (512 * 1024)
#define PACKED_FIELDS 7
#define DIGITS 10

typedef struct
{
  guint n_fields;
  guint field; /* the next one of the current row */
  guint rows;
  gsize bytes; /* of values */
  GString *data[PACKED_FIELDS];
  GString *index[PACKED_FIELDS];
} PackedRows;

/* Values start after a byte of padding: libgda binds an empty binary
 * value as NULL. */
static void
packed_rows_reset (PackedRows *p)
{
  p->field = p->rows = 0;
  p->bytes = 0;
  for (guint k = 0; k < p->n_fields; k++)
    {
      g_string_assign (p->data[k], "-");
      g_string_truncate (p->index[k], 0);
    }
}

/* @fields: the letters packed_select() got for the statement */
static void
packed_rows_init (PackedRows *p, const gchar *fields)
{
  p->n_fields = (guint) strlen (fields);
  g_assert (p->n_fields <= PACKED_FIELDS);
  for (guint k = 0; k < p->n_fields; k++)
    {
      p->data[k] = g_string_new (NULL);
      p->index[k] = g_string_new (NULL);
    }
  packed_rows_reset (p);
}

static void
packed_rows_clear (PackedRows *p)
{
  for (guint k = 0; k < p->n_fields; k++)
    {
      g_string_free (p->data[k], TRUE);
      g_string_free (p->index[k], TRUE);
    }
}

static void
packed_number (GString *index, gsize value)
{
  gsize at = index->len;

  g_assert (value < 10000000000);
  g_string_set_size (index, at + DIGITS);
  for (gint i = DIGITS - 1; i >= 0; i--, value /= 10)
    index->str[at + i] = (gchar) ('0' + value % 10);
}

/* Adds the next field of the current row; the last one ends the row. */
static void
packed_field_len (PackedRows *p, const gchar *value, gsize len)
{
  GString *data = p->data[p->field];

  packed_number (p->index[p->field], data->len + 1); /* substr() counts from 1 */
  packed_number (p->index[p->field], len);
  g_string_append_len (data, value, (gssize) len);
  p->bytes += len;
  if (++p->field == p->n_fields)
    {
      p->field = 0;
      p->rows++;
    }
}

static void
packed_field (PackedRows *p, const gchar *value)
{
  packed_field_len (p, value, strlen (value));
}

static void
packed_int (PackedRows *p, guint64 value)
{
  gchar text[24];

  packed_field_len (p, text, (gsize) g_snprintf (text, sizeof text, "%" G_GUINT64_FORMAT, value));
}

/* SQL for bytes [@start, @start + @length) of the binary parameter
 * ##@name as a value of @type (TEXT, INTEGER or BIGINT), or as they are
 * for a %NULL @type */
static gchar *
slice_sql (PulpStore *self, const gchar *name, const gchar *start, const gchar *length,
           const gchar *type)
{
  if (type == NULL)
    return self->is_sqlite
             ? g_strdup_printf ("substr (##%s::binary, %s, %s)", name, start, length)
             : g_strdup_printf ("substr (CAST (##%s::binary AS bytea), %s, %s)", name, start,
                                length);
  return self->is_sqlite
           ? g_strdup_printf ("CAST (substr (##%s::binary, %s, %s) AS %s)", name, start, length,
                              type)
           : g_strdup_printf ("CAST (convert_from (substr (CAST (##%s::binary AS bytea), %s, %s),"
                              " 'UTF8') AS %s)",
                              name, start, length, type);
}

/* A SELECT of the packed rows, a column c0, c1, … per letter of @fields:
 * 's' text, 'i' integer, 'b' binary. */
static gchar *
packed_select (PulpStore *self, const gchar *fields)
{
  GString *sql = g_string_new ("SELECT ");
  g_autofree gchar *start_at = g_strdup_printf ("i * %d + 1", 2 * DIGITS);
  g_autofree gchar *length_at = g_strdup_printf ("i * %d + %d", 2 * DIGITS, DIGITS + 1);

  for (guint k = 0; fields[k] != '\0'; k++)
    {
      g_autofree gchar *d = g_strdup_printf ("d%u", k), *x = g_strdup_printf ("x%u", k);
      g_autofree gchar *start = slice_sql (self, x, start_at, G_STRINGIFY (DIGITS), "INTEGER");
      g_autofree gchar *length = slice_sql (self, x, length_at, G_STRINGIFY (DIGITS), "INTEGER");
      g_autofree gchar *value = slice_sql (self, d, start, length,
                                           fields[k] == 'i'   ? "BIGINT"
                                           : fields[k] == 's' ? "TEXT"
                                                              : NULL);

      g_string_append_printf (sql, "%s%s AS c%u", k > 0 ? ", " : "", value, k);
    }
  g_string_append (sql, self->is_sqlite
                          ? " FROM (WITH RECURSIVE r (i) AS (SELECT 0 UNION ALL SELECT i + 1"
                            " FROM r WHERE i + 1 < ##n::gint64) SELECT i FROM r)"
                          : " FROM generate_series (0, CAST (##n::gint64 AS integer) - 1) AS i");
  return g_string_free (sql, FALSE);
}

static void
bind_binary (Statement *st, const gchar *name, const GString *bytes)
{
  GValue *v = gda_value_new (GDA_TYPE_BINARY);
  GdaBinary *bin = g_new (GdaBinary, 1);

  bin->binary_length = (glong) bytes->len;
  bin->data = g_memdup2 (bytes->str, bytes->len);
  gda_value_take_binary (v, bin);
  gda_holder_take_value (gda_set_get_holder (st->params, name), v, NULL);
}

/* Binds @p to @st, by name wherever packed_select() put it in the
 * statement. */
static void
bind_packed_rows (Statement *st, const PackedRows *p)
{
  GValue n = G_VALUE_INIT;

  g_value_init (&n, G_TYPE_INT64);
  g_value_set_int64 (&n, p->rows);
  gda_holder_set_value (gda_set_get_holder (st->params, "n"), &n, NULL);
  for (guint k = 0; k < p->n_fields; k++)
    {
      gchar name[8];

      g_snprintf (name, sizeof name, "d%u", k);
      bind_binary (st, name, p->data[k]);
      name[0] = 'x';
      bind_binary (st, name, p->index[k]);
    }
}

/* How packed_ids() packs ids */
#define ID_FIELDS "s"

/* SQL for "the ids packed as rows" */
static gchar *
packed_ids (PulpStore *self)
{
  g_autofree gchar *select = packed_select (self, ID_FIELDS);

  return g_strdup_printf ("(SELECT c0 FROM (%s) AS ids)", select);
}

typedef void (*PackRowFunc) (PackedRows *p, gpointer item);
typedef gboolean (*PackedBatchFunc) (PulpStore *self, const PackedRows *p, gpointer data,
                                     GError **error);

/* Packs @items, each row by @row into @fields (as for packed_select()),
 * and hands them to @batch PACKED_ROWS rows (or PACKED_BYTES) at a time. */
static gboolean
run_packed (PulpStore *self,
            GPtrArray *items,
            const gchar *fields,
            PackRowFunc row,
            PackedBatchFunc batch,
            gpointer data,
            GError **error)
{
  PackedRows p;
  gboolean ok = TRUE;

  packed_rows_init (&p, fields);
  for (guint i = 0; i < items->len && ok; i++)
    {
      row (&p, g_ptr_array_index (items, i));
      if (p.rows == PACKED_ROWS || p.bytes >= PACKED_BYTES || i + 1 == items->len)
        {
          ok = batch (self, &p, data, error);
          packed_rows_reset (&p);
        }
    }
  packed_rows_clear (&p);
  return ok;
}

/* A PackedBatchFunc: runs the statement @data for the rows. */
static gboolean
run_batch (PulpStore *self, const PackedRows *p, gpointer data, GError **error)
{
  bind_packed_rows (data, p);
  return run (self, data, error);
}

static void
pack_unit (PackedRows *p, gpointer item)
{
  PulpUnit *unit = item;
  g_autoptr (GVariant) metadata = g_variant_get_normal_form (pulp_unit_get_metadata (unit));

  packed_field (p, pulp_unit_get_id (unit));
  packed_field (p, pulp_unit_get_type_id (unit));
  packed_field (p, pulp_unit_get_key_text (unit));
  packed_field_len (p, g_variant_get_data (metadata), g_variant_get_size (metadata));
  packed_field (p, pulp_unit_get_relative_path (unit));
  packed_field (p, pulp_unit_get_sha256 (unit));
  packed_int (p, pulp_unit_get_size (unit));
}

static void
pack_content (PackedRows *p, gpointer item)
{
  packed_field (p, pulp_unit_get_id (item));
  packed_int (p, pulp_unit_get_uploaded (item) ? 1 : 0);
}

static void
pack_id (PackedRows *p, gpointer id)
{
  packed_field (p, id);
}

static gint
compare_unit_ids (gconstpointer a, gconstpointer b)
{
  return strcmp (pulp_unit_get_id (*(PulpUnit *const *) a),
                 pulp_unit_get_id (*(PulpUnit *const *) b));
}

/* @units in id order: new rows go to the end of the table, and the units
 * of a batch are side by side when read back in id order. */
static GPtrArray *
sorted_by_id (GPtrArray *units)
{
  GPtrArray *sorted = g_ptr_array_sized_new (units->len);

  g_ptr_array_extend (sorted, units, NULL, NULL);
  g_ptr_array_sort (sorted, compare_unit_ids);
  return sorted;
}

/* pulp_store_save_units() through libgda, in the caller's transaction */
static gboolean
upsert_units (PulpStore *self, GPtrArray *units, GError **error)
{
  g_autoptr (GPtrArray) sorted = sorted_by_id (units);
  const gchar *fields = "sssbssi";
  g_autofree gchar *select = packed_select (self, fields);
  /* (SQLite needs a WHERE between a SELECT and ON CONFLICT) */
  g_autofree gchar *sql = g_strconcat (UNITS_INSERT, select, " WHERE true" UNITS_ON_CONFLICT, NULL);
  Statement *st = prepare (self, sql, error);

  if (st == NULL || !run_packed (self, sorted, fields, pack_unit, run_batch, st, error))
    {
      db_error (error, "storing units");
      return FALSE;
    }
  return TRUE;
}

static gboolean
add_content (PulpStore *self, const gchar *repo, guint64 version, GPtrArray *units, GError **error)
{
  const gchar *fields = "si";
  g_autofree gchar *select = packed_select (self, fields);
  g_autofree gchar *sql = g_strconcat (
    CONTENT_INSERT " SELECT ##r::string, c0, ##v::gint64, c1 FROM (", select, ") AS rows", NULL);
  Statement *st = prepare (self, sql, error);
  gboolean ok = st != NULL;

  if (ok)
    {
      bind_string (st, 0, repo);
      bind_int (st, 1, (gint64) version);
      ok = run_packed (self, units, fields, pack_content, run_batch, st, error);
    }
  if (!ok)
    {
      db_error (error, "adding content");
      return FALSE;
    }
  return TRUE;
}

static gboolean
bulk_step (sqlite3_stmt *st)
{
  int rc = sqlite3_step (st);

  sqlite3_reset (st);
  return rc == SQLITE_DONE;
}

/* pulp_store_save_units() through the bulk connection, in a transaction
 * of its own (the store's lock held) */
static gboolean
bulk_save_units (PulpStore *self,
                 const gchar *repo,
                 guint64 version,
                 GPtrArray *units,
                 GPtrArray *fresh,
                 GError **error)
{
  g_autoptr (GPtrArray) sorted = units != NULL ? sorted_by_id (units) : g_ptr_array_new ();
  const gchar *what = "storing units";
  gboolean ok = sqlite3_exec (self->bulk, "BEGIN IMMEDIATE", NULL, NULL, NULL) == SQLITE_OK;

  for (guint i = 0; ok && i < sorted->len; i++)
    {
      PulpUnit *unit = g_ptr_array_index (sorted, i);
      g_autoptr (GVariant) metadata = g_variant_get_normal_form (pulp_unit_get_metadata (unit));
      sqlite3_stmt *st = self->bulk_unit;

      sqlite3_bind_text (st, 1, pulp_unit_get_id (unit), -1, SQLITE_STATIC);
      sqlite3_bind_text (st, 2, pulp_unit_get_type_id (unit), -1, SQLITE_STATIC);
      sqlite3_bind_text (st, 3, pulp_unit_get_key_text (unit), -1, SQLITE_STATIC);
      sqlite3_bind_blob64 (st, 4, g_variant_get_data (metadata), g_variant_get_size (metadata),
                           SQLITE_STATIC);
      sqlite3_bind_text (st, 5, pulp_unit_get_relative_path (unit), -1, SQLITE_STATIC);
      sqlite3_bind_text (st, 6, pulp_unit_get_sha256 (unit), -1, SQLITE_STATIC);
      sqlite3_bind_int64 (st, 7, (sqlite3_int64) pulp_unit_get_size (unit));
      ok = bulk_step (st);
    }
  if (ok)
    what = "adding content";
  for (guint i = 0; ok && i < fresh->len; i++)
    {
      PulpUnit *unit = g_ptr_array_index (fresh, i);
      sqlite3_stmt *st = self->bulk_content;

      sqlite3_bind_text (st, 1, repo, -1, SQLITE_STATIC);
      sqlite3_bind_text (st, 2, pulp_unit_get_id (unit), -1, SQLITE_STATIC);
      sqlite3_bind_int64 (st, 3, (sqlite3_int64) version);
      sqlite3_bind_int (st, 4, pulp_unit_get_uploaded (unit) ? 1 : 0);
      ok = bulk_step (st);
    }
  if (ok)
    what = "committing";
  if (!ok || sqlite3_exec (self->bulk, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
    {
      bulk_failed (self, what, error);
      sqlite3_exec (self->bulk, "ROLLBACK", NULL, NULL, NULL);
      return FALSE;
    }
  want_checkpoint (self);
  return TRUE;
}

/**
 * pulp_store_save_units:
 * @repo: the repository that gains @fresh
 * @version: the version that adds them
 * @units: (nullable) (element-type PulpUnit): units to store
 * @fresh: (element-type PulpUnit): those of @units (or of units stored
 *   before) that join @repo as of @version, each with its uploaded flag
 *
 * Stores units by id (derived from type and key) and adds content rows for
 * @fresh, in one transaction, or in the caller's if there is one. Units
 * are shared by every repository and every version that holds them, so a
 * stored unit never changes: the only thing a later save adds is the
 * content digest (and size) of a unit stored without one (an on_demand
 * sync of a package declared by SHA-1, say), once its file arrives.
 *
 * Returns: %TRUE on success
 */
gboolean
pulp_store_save_units (PulpStore *self,
                       const gchar *repo,
                       guint64 version,
                       GPtrArray *units,
                       GPtrArray *fresh,
                       GError **error)
{
  g_autoptr (GRecMutexLocker) locker = NULL;
  gboolean own;

  g_return_val_if_fail (PULP_IS_STORE (self), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  locker = g_rec_mutex_locker_new (&self->lock);
  own = self->transaction_depth == 0;
  if (own && self->bulk != NULL)
    return bulk_save_units (self, repo, version, units, fresh, error);
  if (own && !pulp_store_begin (self, error))
    return FALSE;
  if ((units != NULL && !upsert_units (self, units, error))
      || !add_content (self, repo, version, fresh, error))
    {
      if (own)
        pulp_store_rollback (self);
      return FALSE;
    }
  return !own || pulp_store_commit (self, error);
}

/* A PackedBatchFunc: runs both statements of @data (a Statement *[2]) for
 * the rows. */
static gboolean
run_batch_twice (PulpStore *self, const PackedRows *p, gpointer data, GError **error)
{
  Statement **st = data;

  return run_batch (self, p, st[0], error) && run_batch (self, p, st[1], error);
}

/**
 * pulp_store_remove_content:
 * @unit_ids: (element-type utf8): units to drop from @repo as of @version
 *
 * Rows added in @version itself (the pending version) are deleted; older
 * rows get @version as the version that removed them.
 */
gboolean
pulp_store_remove_content (PulpStore *self,
                           const gchar *repo,
                           guint64 version,
                           GPtrArray *unit_ids,
                           GError **error)
{
  g_autoptr (GRecMutexLocker) locker = g_rec_mutex_locker_new (&self->lock);
  g_autofree gchar *ids = packed_ids (self);
  g_autofree gchar *del = g_strconcat (
      "DELETE FROM repository_content WHERE repository = ##r::string AND version_added ="
      " ##v::gint64 AND unit IN ", ids, NULL);
  g_autofree gchar *upd = g_strconcat (
      "UPDATE repository_content SET version_removed = ##v::gint64 WHERE repository ="
      " ##r::string AND version_removed IS NULL AND unit IN ", ids, NULL);
  Statement *st[2] = { prepare (self, del, error), NULL };

  if (st[0] == NULL || (st[1] = prepare (self, upd, error)) == NULL)
    return FALSE;
  bind_string (st[0], 0, repo);
  bind_int (st[0], 1, (gint64) version);
  bind_int (st[1], 0, (gint64) version);
  bind_string (st[1], 1, repo);
  if (!run_packed (self, unit_ids, ID_FIELDS, pack_id, run_batch_twice, st, error))
    {
      db_error (error, "removing content");
      return FALSE;
    }
  return TRUE;
}

/**
 * pulp_store_discard_pending:
 * @repo: (nullable): the repository, or %NULL for all
 *
 * Throws away every change that belongs to a version that was never
 * committed (a failed or cancelled sync, or one a crash interrupted).
 */
gboolean
pulp_store_discard_pending (PulpStore *self, const gchar *repo, GError **error)
{
  /* one repository's rows are found by the primary key's prefix; all
   * repositories' (at start) by a scan, which also finds the rows of
   * deleted repositories */
  const gchar *where = repo != NULL
                         ? "repository = ##r::string AND %s > (SELECT latest_version FROM"
                           " repositories WHERE id = ##r::string)"
                         : "(repository NOT IN (SELECT id FROM repositories) OR %s > (SELECT"
                           " r.latest_version FROM repositories r WHERE r.id ="
                           " repository_content.repository))";
  g_autofree gchar *del_where = g_strdup_printf (where, "version_added");
  g_autofree gchar *upd_where = g_strdup_printf (where, "version_removed");
  g_autofree gchar *del_sql = g_strconcat ("DELETE FROM repository_content WHERE ", del_where, NULL);
  g_autofree gchar *upd_sql = g_strconcat (
    "UPDATE repository_content SET version_removed = NULL WHERE ", upd_where, NULL);
  Statement *del, *upd;

  if (!pulp_store_begin (self, error))
    return FALSE;
  del = prepare (self, del_sql, error);
  upd = del != NULL ? prepare (self, upd_sql, error) : NULL;
  if (upd != NULL && repo != NULL)
    {
      bind_string (del, 0, repo);
      bind_string (upd, 0, repo);
    }
  if (upd == NULL || !run (self, del, error) || !run (self, upd, error))
    {
      pulp_store_rollback (self);
      db_error (error, "discarding an unfinished version");
      return FALSE;
    }
  return pulp_store_commit (self, error);
}

/**
 * pulp_store_add_version:
 *
 * Records @version of @repo and makes it the latest; the caller runs this
 * in the transaction that commits the version.
 */
gboolean
pulp_store_add_version (PulpStore *self,
                        const gchar *repo,
                        guint64 version,
                        guint64 unit_count,
                        guint64 created,
                        GError **error)
{
  g_autoptr (GRecMutexLocker) locker = g_rec_mutex_locker_new (&self->lock);
  Statement *st = prepare (self,
                           "INSERT INTO versions (repository, number, created, unit_count)"
                           " VALUES (##r::string, ##n::gint64, ##c::gint64, ##u::gint64)",
                           error);
  Statement *up = st != NULL ? prepare (self,
                                        "UPDATE repositories SET latest_version = ##n::gint64"
                                        " WHERE id = ##r::string",
                                        error)
                             : NULL;
  if (up == NULL)
    return FALSE;
  bind_string (st, 0, repo);
  bind_int (st, 1, (gint64) version);
  bind_int (st, 2, (gint64) created);
  bind_int (st, 3, (gint64) unit_count);
  bind_int (up, 0, (gint64) version);
  bind_string (up, 1, repo);
  if (!run (self, st, error) || !run (self, up, error))
    {
      db_error (error, "recording the version");
      return FALSE;
    }
  return TRUE;
}

/**
 * pulp_store_set_importer_state:
 * @state: encoded importer state
 * @version: the repository version it belongs to
 *
 * Runs inside the caller's transaction if there is one.
 */
gboolean
pulp_store_set_importer_state (PulpStore *self,
                               const gchar *repo,
                               const gchar *state,
                               guint64 version,
                               GError **error)
{
  g_autoptr (GRecMutexLocker) locker = g_rec_mutex_locker_new (&self->lock);
  Statement *st = prepare (self,
                           "UPDATE repositories SET importer_state = ##s::string,"
                           " importer_state_version = ##v::gint64 WHERE id = ##r::string",
                           error);
  if (st == NULL)
    return FALSE;
  bind_string (st, 0, state);
  bind_int (st, 1, (gint64) version);
  bind_string (st, 2, repo);
  if (!run (self, st, error))
    {
      db_error (error, "saving the importer state");
      return FALSE;
    }
  return TRUE;
}

gboolean
pulp_store_set_last_sync (PulpStore *self, const gchar *repo, guint64 when, GError **error)
{
  g_autoptr (GRecMutexLocker) locker = g_rec_mutex_locker_new (&self->lock);
  Statement *st = prepare (self,
                           "UPDATE repositories SET last_sync = ##t::gint64 WHERE id = ##r::string",
                           error);
  if (st == NULL)
    return FALSE;
  bind_int (st, 0, (gint64) when);
  bind_string (st, 1, repo);
  return run (self, st, error);
}

/**
 * pulp_store_list_versions:
 *
 * Returns: (transfer full) (element-type PulpStoreVersion): oldest first
 */
GArray *
pulp_store_list_versions (PulpStore *self, const gchar *repo, GError **error)
{
  g_autoptr (GRecMutexLocker) locker = g_rec_mutex_locker_new (&self->lock);
  g_autoptr (GArray) versions = g_array_new (FALSE, FALSE, sizeof (PulpStoreVersion));
  g_autoptr (GdaDataModel) model = NULL;
  GType types[] = { G_TYPE_INT64, G_TYPE_INT64, G_TYPE_INT64, G_TYPE_NONE };
  Statement *st = prepare (self,
                           "SELECT number, created, unit_count FROM versions WHERE repository ="
                           " ##r::string ORDER BY number",
                           error);
  if (st == NULL)
    return NULL;
  bind_string (st, 0, repo);
  model = query (self, st, types, error);
  if (model == NULL)
    {
      db_error (error, "listing versions");
      return NULL;
    }
  for (gint i = 0; i < gda_data_model_get_n_rows (model); i++)
    {
      PulpStoreVersion v = { (guint64) get_int (model, 0, i), (guint64) get_int (model, 1, i),
                             (guint64) get_int (model, 2, i) };
      g_array_append_val (versions, v);
    }
  return g_steal_pointer (&versions);
}

/* A reader for the one JSON shape the database hands back to
 * pulp_store_list_units(): an array of rows, each an array of strings and
 * integers. */
typedef struct
{
  const gchar *p;
  gboolean failed;
} Json;

static void
json_skip (Json *j, gchar c)
{
  while (g_ascii_isspace (*j->p))
    j->p++;
  if (*j->p != c)
    j->failed = TRUE;
  else
    j->p++;
}

static gboolean
json_peek (Json *j, gchar c)
{
  while (g_ascii_isspace (*j->p))
    j->p++;
  return *j->p == c;
}

static gunichar
json_hex4 (Json *j)
{
  gunichar u = 0;
  for (gint i = 0; i < 4; i++)
    {
      gint d = g_ascii_xdigit_value (j->p[i]);
      if (d < 0)
        {
          j->failed = TRUE;
          return 0;
        }
      u = u * 16 + (gunichar) d;
    }
  j->p += 4;
  return u;
}

/* Reads a string into @out (reused between calls); NULL for JSON null. */
static const gchar *
json_read_string (Json *j, GString *out)
{
  g_string_truncate (out, 0);
  while (g_ascii_isspace (*j->p))
    j->p++;
  if (g_str_has_prefix (j->p, "null"))
    {
      j->p += 4;
      return NULL;
    }
  json_skip (j, '"');
  while (!j->failed && *j->p != '"')
    {
      /* plain characters in one piece: most values have no escapes */
      gsize plain = strcspn (j->p, "\"\\");

      g_string_append_len (out, j->p, (gssize) plain);
      j->p += plain;
      if (*j->p == '\0')
        j->failed = TRUE;
      else if (*j->p == '"')
        break;
      else
        {
          gchar e = j->p[1];
          gunichar u;
          j->p += 2;
          switch (e)
            {
            case 'n': g_string_append_c (out, '\n'); break;
            case 't': g_string_append_c (out, '\t'); break;
            case 'r': g_string_append_c (out, '\r'); break;
            case 'b': g_string_append_c (out, '\b'); break;
            case 'f': g_string_append_c (out, '\f'); break;
            case 'u':
              u = json_hex4 (j);
              if (u >= 0xd800 && u < 0xdc00 && j->p[0] == '\\' && j->p[1] == 'u')
                {
                  gunichar lo;
                  j->p += 2;
                  lo = json_hex4 (j);
                  u = 0x10000 + ((u - 0xd800) << 10) + (lo - 0xdc00);
                }
              g_string_append_unichar (out, u);
              break;
            default: g_string_append_c (out, e); break;
            }
        }
    }
  json_skip (j, '"');
  return out->str;
}

static gint64
json_read_int (Json *j)
{
  gchar *end = NULL;
  gint64 v;

  while (g_ascii_isspace (*j->p))
    j->p++;
  v = g_ascii_strtoll (j->p, &end, 10);
  if (end == j->p)
    j->failed = TRUE;
  j->p = end;
  return v;
}

/* The next @len bytes of @all from *@at, as the metadata they hold;
 * %NULL if @all has fewer. */
static GVariant *
metadata_slice (const GdaBinary *all, gsize *at, gint64 len)
{
  g_autoptr (GBytes) bytes = NULL;

  if (len < 0 || (len > 0 && (all == NULL || *at + (gsize) len > (gsize) all->binary_length)))
    return NULL;
  bytes = g_bytes_new (len > 0 ? all->data + *at : NULL, (gsize) len);
  *at += (gsize) len;
  /* untrusted: GVariant checks the data as it is read */
  return g_variant_ref_sink (g_variant_new_from_bytes (G_VARIANT_TYPE_VARDICT, bytes, FALSE));
}

/* Schema 5: metadata from Base64 text to binary. PostgreSQL converts the
 * column itself; in SQLite, whose columns hold values of any type, the
 * rows are rewritten a batch at a time, in row order. */
static gboolean
binary_metadata (PulpStore *self, GError **error)
{
  const gchar *fields = "ib"; /* rowid, metadata */
  g_autofree gchar *select = NULL;
  g_autofree gchar *sql = NULL;
  GType types[] = { G_TYPE_STRING, G_TYPE_NONE };
  Statement *page, *update;
  gint64 after = 0;
  gboolean done = FALSE;

  if (!self->is_sqlite)
    return exec (self,
                 "ALTER TABLE units ALTER COLUMN metadata TYPE bytea"
                 " USING decode (metadata, 'base64')",
                 error);
  select = packed_select (self, fields);
  sql = g_strconcat ("UPDATE units SET metadata = rows.c1 FROM (", select,
                     ") AS rows WHERE units.rowid = rows.c0", NULL);
  page = prepare (self,
                  "SELECT json_group_array (json_array (rowid, metadata)) FROM (SELECT rowid,"
                  " metadata FROM units WHERE rowid > ##after::gint64 ORDER BY rowid LIMIT 2000)",
                  error);
  update = page != NULL ? prepare (self, sql, error) : NULL;
  while (update != NULL && !done)
    {
      g_autoptr (GdaDataModel) model = NULL;
      g_autoptr (GString) text = g_string_new (NULL);
      PackedRows p;
      Json j;

      bind_int (page, 0, after);
      model = query (self, page, types, error);
      if (model == NULL)
        return FALSE;
      j.p = get_string (model, 0, 0);
      j.failed = j.p == NULL;
      packed_rows_init (&p, fields);
      json_skip (&j, '[');
      while (!j.failed && !json_peek (&j, ']'))
        {
          g_autofree guchar *data = NULL;
          gsize len = 0;

          if (p.rows > 0)
            json_skip (&j, ',');
          json_skip (&j, '[');
          after = json_read_int (&j);
          json_skip (&j, ',');
          if (json_read_string (&j, text) == NULL)
            j.failed = TRUE;
          else
            data = g_base64_decode (text->str, &len);
          json_skip (&j, ']');
          packed_int (&p, (guint64) after);
          packed_field_len (&p, (const gchar *) data, len);
        }
      done = p.rows == 0;
      if (j.failed)
        g_set_error (error, PULP_ERROR, PULP_ERROR_FAILED,
                     "Database error while converting unit metadata: damaged row");
      else if (!done)
        bind_packed_rows (update, &p);
      packed_rows_clear (&p);
      if (j.failed || (!done && !run (self, update, error)))
        return FALSE;
    }
  return update != NULL;
}

/**
 * pulp_store_list_units:
 * @type: (nullable): only units of this type
 * @after_id: (nullable): only units whose id sorts after this (keyset paging)
 *
 * Returns: (transfer container) (element-type PulpUnit): units of @version
 *   of @repo ordered by id, with their uploaded flag; the storage path is
 *   left to the caller
 */
GPtrArray *
pulp_store_list_units (PulpStore *self,
                       const gchar *repo,
                       guint64 version,
                       const gchar *type,
                       const gchar *after_id,
                       guint64 offset,
                       guint64 limit,
                       GError **error)
{
  g_autoptr (GRecMutexLocker) locker = g_rec_mutex_locker_new (&self->lock);
  g_autoptr (GPtrArray) units = g_ptr_array_new_with_free_func (g_object_unref);
  g_autoptr (GdaDataModel) model = NULL;
  g_autoptr (GString) type_s = g_string_new (NULL);
  g_autoptr (GString) id_s = g_string_new (NULL);
  g_autoptr (GString) key_s = g_string_new (NULL);
  g_autoptr (GString) s = g_string_new (NULL);
  GType types[] = { G_TYPE_STRING, GDA_TYPE_BINARY, G_TYPE_NONE };
  const GdaBinary *metadata_all;
  gsize metadata_at = 0;
  /* Skipped rows (offset) are counted in repository_content alone (its
   * primary key holds every column needed) and only the page's rows are
   * joined; without an offset, one join in key order reads the page
   * without the sort the subquery needs. A type needs the join for every
   * row. */
  gboolean any_type = type == NULL || *type == '\0';
  gboolean count_then_join = any_type && offset > 0;
  const gchar *text;
  Statement *st;
  guint h = 3; /* after those of bind_in_version() */
  Json j;

  /* The page comes back as one JSON text built by the database, the
   * metadata of its units (binary) one after another in a second value:
   * reading rows one by one through libgda costs several GObject signals a
   * row, and JSON has no binary values. */
#define SQLITE_PAGE                                                                                 \
  "SELECT json_group_array (json_array (type, unit, unit_key, length (metadata), relative_path,"    \
  " sha256, size, uploaded)), CAST (group_concat (metadata, '') AS BLOB) FROM (SELECT u.type,"      \
  " c.unit, u.unit_key, u.metadata, u.relative_path, u.sha256, u.size, c.uploaded"
#define POSTGRESQL_PAGE                                                                             \
  "SELECT COALESCE (json_agg (json_build_array (type, unit, unit_key, length (metadata),"           \
  " relative_path, sha256, size, uploaded) ORDER BY unit), '[]'), string_agg (metadata,"            \
  " ''::bytea ORDER BY unit) FROM (SELECT u.type, c.unit, u.unit_key, u.metadata, u.relative_path," \
  " u.sha256, u.size, c.uploaded"
#define SQLITE_UNIT_PAGE(condition)                                                                        \
  SQLITE_PAGE " FROM repository_content c JOIN units u ON u.id = c.unit WHERE " IN_VERSION ("c.") \
  " AND c.unit > ##a::string" condition " ORDER BY c.unit LIMIT ##l::gint64 OFFSET ##o::gint64)"

  if (self->is_sqlite && count_then_join)
    st = prepare (self,
                  SQLITE_PAGE " FROM (SELECT unit, uploaded FROM repository_content"
                  " WHERE " IN_VERSION ("") " AND unit > ##a::string ORDER BY unit"
                  " LIMIT ##l::gint64 OFFSET ##o::gint64) c"
                  " JOIN units u ON u.id = c.unit ORDER BY c.unit)",
                  error);
  else if (self->is_sqlite && any_type)
    st = prepare (self, SQLITE_UNIT_PAGE (""), error);
  else if (self->is_sqlite)
    st = prepare (self, SQLITE_UNIT_PAGE (" AND u.type = ##t::string"), error);
#undef SQLITE_UNIT_PAGE
#undef SQLITE_PAGE
  else if (any_type)
    st = prepare (self,
                  POSTGRESQL_PAGE " FROM (SELECT unit, uploaded FROM repository_content"
                  " WHERE " IN_VERSION ("") " AND unit > ##a::string ORDER BY unit"
                  " LIMIT ##l::gint64 OFFSET ##o::gint64) AS c"
                  " JOIN units u ON u.id = c.unit) AS page",
                  error);
  else
    st = prepare (self,
                  POSTGRESQL_PAGE " FROM repository_content c JOIN units u ON u.id = c.unit"
                  " WHERE " IN_VERSION ("c.") " AND c.unit > ##a::string AND u.type = ##t::string"
                  " ORDER BY c.unit"
                  " LIMIT ##l::gint64 OFFSET ##o::gint64) AS page",
                  error);
#undef POSTGRESQL_PAGE
  if (st == NULL)
    return NULL;
  bind_in_version (st, repo, version);
  bind_string (st, h++, after_id);
  if (!any_type)
    bind_string (st, h++, type);
  bind_int (st, h++, (gint64) limit);
  bind_int (st, h++, (gint64) offset);
  model = query (self, st, types, error);
  if (model == NULL)
    {
      db_error (error, "listing units");
      return NULL;
    }
  if (!one_row (model, "listing units", error))
    return NULL;
  text = get_string (model, 0, 0);
  metadata_all = get_binary (model, 1, 0);
  j.p = text != NULL ? text : "[]";
  j.failed = FALSE;
  json_skip (&j, '[');
  while (!j.failed && !json_peek (&j, ']'))
    {
      g_autoptr (GVariant) metadata = NULL;
      PulpUnit *unit;

      if (units->len > 0)
        json_skip (&j, ',');
      json_skip (&j, '[');
      json_read_string (&j, type_s);
      json_skip (&j, ',');
      json_read_string (&j, id_s);
      json_skip (&j, ',');
      json_read_string (&j, key_s);
      json_skip (&j, ',');
      metadata = metadata_slice (metadata_all, &metadata_at, json_read_int (&j));
      if (metadata == NULL)
        j.failed = TRUE;
      unit = pulp_unit_new_stored (type_s->str, id_s->str, key_s->str);
      g_ptr_array_add (units, unit);
      pulp_unit_set_metadata (unit, metadata);
      json_skip (&j, ',');
      pulp_unit_set_relative_path (unit, json_read_string (&j, s));
      json_skip (&j, ',');
      pulp_unit_set_sha256 (unit, json_read_string (&j, s));
      json_skip (&j, ',');
      pulp_unit_set_size (unit, (guint64) json_read_int (&j));
      json_skip (&j, ',');
      pulp_unit_set_uploaded (unit, json_read_int (&j) != 0);
      json_skip (&j, ']');
    }
  if (j.failed)
    {
      g_set_error (error, PULP_ERROR, PULP_ERROR_FAILED,
                   "Database error while listing units: unexpected data near “%.20s”", j.p);
      return NULL;
    }
  return g_steal_pointer (&units);
}

typedef struct
{
  Statement *st;
  GHashTable *found; /* unit id → GINT_TO_POINTER (uploaded + 1) */
} FindBatch;

/* A PackedBatchFunc: adds the rows of @data's statement to its table. */
static gboolean
find_batch (PulpStore *self, const PackedRows *p, gpointer data, GError **error)
{
  FindBatch *find = data;
  GType types[] = { G_TYPE_STRING, G_TYPE_INT64, G_TYPE_NONE };
  g_autoptr (GdaDataModel) model = NULL;

  bind_packed_rows (find->st, p);
  model = query (self, find->st, types, error);
  if (model == NULL)
    return FALSE;
  for (gint r = 0, n = gda_data_model_get_n_rows (model); r < n; r++)
    g_hash_table_insert (find->found, g_strdup (get_string (model, 0, r)),
                         GINT_TO_POINTER (get_int (model, 1, r) + 1));
  return TRUE;
}

/**
 * pulp_store_find_content:
 * @unit_ids: (element-type utf8): unit ids to look for
 *
 * Returns: (transfer full): unit id → GINT_TO_POINTER (uploaded + 1) for
 *   those of @unit_ids that @version of @repo holds, or %NULL on error
 */
GHashTable *
pulp_store_find_content (PulpStore *self,
                         const gchar *repo,
                         guint64 version,
                         GPtrArray *unit_ids,
                         GError **error)
{
  g_autoptr (GRecMutexLocker) locker = g_rec_mutex_locker_new (&self->lock);
  g_autoptr (GHashTable) found = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_autofree gchar *ids = packed_ids (self);
  g_autofree gchar *sql = g_strconcat (
      "SELECT unit, uploaded FROM repository_content WHERE " IN_VERSION ("") " AND unit IN ", ids,
      NULL);
  FindBatch find = { prepare (self, sql, error), found };

  if (find.st == NULL)
    return NULL;
  bind_in_version (find.st, repo, version);
  if (!run_packed (self, unit_ids, ID_FIELDS, pack_id, find_batch, &find, error))
    {
      db_error (error, "looking up units");
      return NULL;
    }
  return g_steal_pointer (&found);
}

/**
 * pulp_store_find_at_path:
 * @unit: a unit about to join @repo
 *
 * Returns: (transfer full) (element-type utf8): the ids of the other units
 *   of @unit's type that @version of @repo holds at @unit's relative path,
 *   or %NULL on error
 */
GPtrArray *
pulp_store_find_at_path (PulpStore *self,
                         const gchar *repo,
                         guint64 version,
                         PulpUnit *unit,
                         GError **error)
{
  g_autoptr (GRecMutexLocker) locker = g_rec_mutex_locker_new (&self->lock);
  g_autoptr (GPtrArray) ids = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GdaDataModel) model = NULL;
  GType types[] = { G_TYPE_STRING, G_TYPE_NONE };
  Statement *st = prepare (self,
                           "SELECT c.unit FROM repository_content c JOIN units u ON u.id = c.unit"
                           " WHERE " IN_VERSION ("c.") " AND u.type = ##t::string"
                           " AND u.relative_path = ##p::string"
                           " AND c.unit <> ##i::string",
                           error);

  if (st == NULL)
    return NULL;
  bind_in_version (st, repo, version);
  bind_string (st, 3, pulp_unit_get_type_id (unit));
  bind_string (st, 4, pulp_unit_get_relative_path (unit));
  bind_string (st, 5, pulp_unit_get_id (unit));
  model = query (self, st, types, error);
  if (model == NULL)
    {
      db_error (error, "looking up units by path");
      return NULL;
    }
  for (gint i = 0; i < gda_data_model_get_n_rows (model); i++)
    g_ptr_array_add (ids, g_strdup (get_string (model, 0, i)));
  return g_steal_pointer (&ids);
}

/**
 * pulp_store_delete_orphan_units:
 * @removed: (out): how many units were deleted
 *
 * Deletes the units that no version of any repository holds (no content
 * row names them); their files are the caller's business.
 *
 * Returns: %TRUE on success
 */
gboolean
pulp_store_delete_orphan_units (PulpStore *self, guint64 *removed, GError **error)
{
  g_autoptr (GRecMutexLocker) locker = g_rec_mutex_locker_new (&self->lock);
  Statement *st = prepare (self,
                           "DELETE FROM units WHERE id NOT IN"
                           " (SELECT unit FROM repository_content)",
                           error);
  gint rows = 0;

  if (st == NULL)
    return FALSE;
  if (!run_counting (self, st, &rows, error))
    {
      db_error (error, "deleting orphaned units");
      return FALSE;
    }
  *removed = rows > 0 ? (guint64) rows : 0;
  return TRUE;
}

/**
 * pulp_store_list_unit_digests:
 *
 * Returns: (transfer full) (element-type utf8 gpointer): the set of the
 *   sha256 of every stored unit, or %NULL on error
 */
GHashTable *
pulp_store_list_unit_digests (PulpStore *self, GError **error)
{
  g_autoptr (GRecMutexLocker) locker = g_rec_mutex_locker_new (&self->lock);
  g_autoptr (GHashTable) digests = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_autoptr (GdaDataModel) model = NULL;
  GType types[] = { G_TYPE_STRING, G_TYPE_NONE };
  Statement *st = prepare (self, "SELECT DISTINCT sha256 FROM units WHERE sha256 != ''", error);

  if (st == NULL || (model = query (self, st, types, error)) == NULL)
    {
      db_error (error, "listing stored content");
      return NULL;
    }
  for (gint i = 0, n = gda_data_model_get_n_rows (model); i < n; i++)
    g_hash_table_add (digests, g_strdup (get_string (model, 0, i)));
  return g_steal_pointer (&digests);
}

/**
 * pulp_store_next_task_id:
 *
 * Returns: a task id never handed out before, also across restarts, or 0
 */
guint64
pulp_store_next_task_id (PulpStore *self, GError **error)
{
  g_autoptr (GdaDataModel) model = NULL;
  GType types[] = { G_TYPE_INT64, G_TYPE_NONE };
  Statement *st;
  guint64 id;

  if (!pulp_store_begin (self, error))
    return 0;
  st = prepare (self, "SELECT value FROM counters WHERE name = 'next-task-id'", error);
  if (st == NULL || (model = query (self, st, types, error)) == NULL
      || gda_data_model_get_n_rows (model) != 1
      || !exec (self, "UPDATE counters SET value = value + 1 WHERE name = 'next-task-id'", error))
    {
      pulp_store_rollback (self);
      db_error (error, "allocating a task id");
      return 0;
    }
  id = (guint64) get_int (model, 0, 0);
  if (!pulp_store_commit (self, error))
    return 0;
  return id;
}

gboolean
pulp_store_save_task (PulpStore *self, const PulpStoreTask *task, GError **error)
{
  g_autoptr (GRecMutexLocker) locker = g_rec_mutex_locker_new (&self->lock);
  Statement *st = prepare (
      self,
      "INSERT INTO tasks (id, kind, repository, state, stage, error_name, error, summary, created,"
      " started, finished, uid) VALUES (##id::gint64, ##k::string, ##r::string, ##s::string,"
      " ##g::string, ##en::string, ##e::string, ##m::string, ##c::gint64, ##b::gint64,"
      " ##f::gint64, ##u::gint64) ON CONFLICT (id) DO UPDATE SET state = excluded.state,"
      " stage = excluded.stage, error_name = excluded.error_name, error = excluded.error,"
      " summary = excluded.summary, started = excluded.started, finished = excluded.finished",
      error);
  if (st == NULL)
    return FALSE;
  bind_int (st, 0, (gint64) task->id);
  bind_string (st, 1, task->kind);
  bind_string (st, 2, task->repository);
  bind_string (st, 3, task->state);
  bind_string (st, 4, task->stage);
  bind_string (st, 5, task->error_name);
  bind_string (st, 6, task->error);
  bind_string (st, 7, task->summary);
  bind_int (st, 8, (gint64) task->created);
  bind_int (st, 9, (gint64) task->started);
  bind_int (st, 10, (gint64) task->finished);
  bind_int (st, 11, task->uid);
  if (!run (self, st, error))
    {
      db_error (error, "saving a task");
      return FALSE;
    }
  return TRUE;
}

/**
 * pulp_store_list_tasks:
 *
 * Returns: (transfer container) (element-type PulpStoreTask): all stored tasks, by id
 */
GPtrArray *
pulp_store_list_tasks (PulpStore *self, GError **error)
{
  g_autoptr (GRecMutexLocker) locker = g_rec_mutex_locker_new (&self->lock);
  g_autoptr (GPtrArray) tasks = g_ptr_array_new_with_free_func ((GDestroyNotify) pulp_store_task_free);
  g_autoptr (GdaDataModel) model = NULL;
  GType types[] = { G_TYPE_INT64,  G_TYPE_STRING, G_TYPE_STRING, G_TYPE_STRING,
                    G_TYPE_STRING, G_TYPE_STRING, G_TYPE_STRING, G_TYPE_STRING,
                    G_TYPE_INT64,  G_TYPE_INT64,  G_TYPE_INT64,  G_TYPE_INT64, G_TYPE_NONE };
  Statement *st = prepare (self,
                           "SELECT id, kind, repository, state, stage, error_name, error, summary,"
                           " created, started, finished, uid FROM tasks ORDER BY id",
                           error);
  if (st == NULL || (model = query (self, st, types, error)) == NULL)
    {
      db_error (error, "listing tasks");
      return NULL;
    }
  for (gint i = 0; i < gda_data_model_get_n_rows (model); i++)
    {
      PulpStoreTask *t = g_new0 (PulpStoreTask, 1);
      t->id = (guint64) get_int (model, 0, i);
      t->kind = g_strdup (get_string (model, 1, i));
      t->repository = g_strdup (get_string (model, 2, i));
      t->state = g_strdup (get_string (model, 3, i));
      t->stage = g_strdup (get_string (model, 4, i));
      t->error_name = g_strdup (get_string (model, 5, i));
      t->error = g_strdup (get_string (model, 6, i));
      t->summary = g_strdup (get_string (model, 7, i));
      t->created = (guint64) get_int (model, 8, i);
      t->started = (guint64) get_int (model, 9, i);
      t->finished = (guint64) get_int (model, 10, i);
      t->uid = (guint32) get_int (model, 11, i);
      g_ptr_array_add (tasks, t);
    }
  return g_steal_pointer (&tasks);
}

/**
 * pulp_store_interrupt_tasks:
 * @message: the error text the interrupted tasks get
 *
 * Marks tasks that were queued or running when the daemon stopped as
 * failed with `org.pulp.Error.Interrupted`.
 */
gboolean
pulp_store_interrupt_tasks (PulpStore *self, const gchar *message, GError **error)
{
  g_autoptr (GRecMutexLocker) locker = g_rec_mutex_locker_new (&self->lock);
  Statement *st = prepare (self,
                           "UPDATE tasks SET state = 'failed', error_name ="
                           " 'org.pulp.Error.Interrupted', error = ##e::string, finished ="
                           " ##f::gint64 WHERE state IN ('queued', 'running')",
                           error);
  if (st == NULL)
    return FALSE;
  bind_string (st, 0, message);
  bind_int (st, 1, g_get_real_time ());
  if (!run (self, st, error))
    {
      db_error (error, "marking interrupted tasks");
      return FALSE;
    }
  return TRUE;
}

gboolean
pulp_store_prune_tasks (PulpStore *self, guint64 finished_before, GError **error)
{
  g_autoptr (GRecMutexLocker) locker = g_rec_mutex_locker_new (&self->lock);
  Statement *st = prepare (self,
                           "DELETE FROM tasks WHERE finished > 0 AND finished < ##f::gint64",
                           error);
  if (st == NULL)
    return FALSE;
  bind_int (st, 0, (gint64) finished_before);
  return run (self, st, error);
}

/**
 * pulp_store_check_integrity:
 *
 * Runs SQLite's integrity check (a no-op on other databases).
 */
gboolean
pulp_store_check_integrity (PulpStore *self, GError **error)
{
  g_autoptr (GRecMutexLocker) locker = g_rec_mutex_locker_new (&self->lock);
  g_autoptr (GdaDataModel) model = NULL;
  GType types[] = { G_TYPE_STRING, G_TYPE_NONE };
  Statement *st;
  const gchar *result;

  if (!self->is_sqlite)
    return TRUE;
  st = prepare (self, "PRAGMA integrity_check", error);
  if (st == NULL || (model = query (self, st, types, error)) == NULL)
    return FALSE;
  result = get_string (model, 0, 0);
  if (g_strcmp0 (result, "ok") != 0)
    {
      g_set_error (error, PULP_ERROR, PULP_ERROR_FAILED, "Database integrity check: %s", result);
      return FALSE;
    }
  return TRUE;
}
