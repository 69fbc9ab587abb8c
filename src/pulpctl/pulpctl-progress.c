/* SPDX-License-Identifier: LGPL-2.1-or-later */
#define G_LOG_DOMAIN "Pulpctl"

#include "config.h"

#include <glib/gi18n.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "pulpctl-progress.h"

/*
 * PulpctlProgress renders the Progress signals of one task. On a terminal
 * each stage gets one line that is redrawn in place (carriage return and
 * "erase line") and left standing when the stage ends, so the screen ends
 * up with one line per stage. Into a pipe or a file it writes plain lines:
 * the first report of a stage, at most one a second after that, and the
 * last state of the stage when it ends — a log stays readable and short.
 */
struct _PulpctlProgress
{
  FILE *out;
  gboolean terminal;
  gchar *stage; /* NULL before the first report and after a stage ended */
  gint64 stage_start;
  guint64 done, total;
  guint64 bytes_done, bytes_total, rate, failed;
  guint frame;        /* reports seen in this stage: moves the unknown-total bar */
  guint bar_width;    /* terminal mode: narrowed to fit the terminal */
  gint64 last_plain;  /* when the last plain line was written */
  gboolean pending;   /* plain mode: the latest state is not written yet */
  gchar *last_line;   /* plain mode: not written twice in a row */
  gboolean line_open; /* terminal mode: a progress line without newline is shown */
};

#define BAR_WIDTH 24
#define BAR_WIDTH_MIN 8

PulpctlProgress *
pulpctl_progress_new (FILE *out, gboolean terminal)
{
  PulpctlProgress *self = g_new0 (PulpctlProgress, 1);
  self->out = out;
  self->terminal = terminal;
  return self;
}

void
pulpctl_progress_free (PulpctlProgress *self)
{
  if (self == NULL)
    return;
  g_free (self->stage);
  g_free (self->last_line);
  g_free (self);
}

/**
 * pulpctl_format_duration:
 * @seconds: a duration
 *
 * Returns: (transfer full): "m:ss" or "h:mm:ss"
 */
gchar *
pulpctl_format_duration (guint64 seconds)
{
  if (seconds >= 3600)
    return g_strdup_printf ("%" G_GUINT64_FORMAT ":%02u:%02u", seconds / 3600,
                            (guint)(seconds / 60 % 60), (guint)(seconds % 60));
  return g_strdup_printf ("%u:%02u", (guint)(seconds / 60), (guint)(seconds % 60));
}

static guint
terminal_width (FILE *out)
{
  struct winsize ws;

  if (ioctl (fileno (out), TIOCGWINSZ, &ws) == 0 && ws.ws_col >= 20)
    return ws.ws_col;
  return 80;
}

/* Seconds left, or -1 when there is nothing to estimate from yet. */
static gint64
estimate_left (PulpctlProgress *self)
{
  gint64 elapsed = g_get_monotonic_time () - self->stage_start;

  /* every unit done: bytes still missing are those of units that failed */
  if (self->total > 0 && self->done >= self->total)
    return -1;
  if (self->bytes_total > 0 && self->rate > 0 && self->bytes_done < self->bytes_total)
    return (gint64)((self->bytes_total - self->bytes_done) / self->rate);
  /* a rate from the first fraction of a second is noise */
  if (self->total > 0 && self->done > 0 && self->done < self->total && elapsed > G_USEC_PER_SEC / 2)
    return (gint64)((gdouble)elapsed / G_USEC_PER_SEC * (gdouble)(self->total - self->done)
                    / (gdouble)self->done);
  return -1;
}

static void
append_bar (PulpctlProgress *self, GString *line, guint width)
{
  g_string_append_c (line, '[');
  if (self->total > 0)
    {
      guint fill = (guint)(MIN (self->done, self->total) * width / self->total);
      for (guint i = 0; i < width; i++)
        g_string_append_c (line, i < fill ? '#' : '.');
    }
  else
    {
      /* unknown total: a block that bounces, so the line still shows life */
      guint span = width - 3, pos = self->frame % (2 * span);
      if (pos > span)
        pos = 2 * span - pos;
      for (guint i = 0; i < width; i++)
        g_string_append_c (line, i >= pos && i < pos + 3 ? '=' : ' ');
    }
  g_string_append_c (line, ']');
}

static gchar *
describe (PulpctlProgress *self, guint bar_width)
{
  g_autoptr (GString) line = g_string_new (NULL);
  const gchar *sep = self->terminal ? "  " : ", ";
  gint64 left = estimate_left (self);

  if (self->terminal)
    {
      g_string_append_printf (line, "%-10s ", self->stage);
      append_bar (self, line, bar_width);
      g_string_append (line, "  ");
    }
  else
    g_string_append_printf (line, "%s: ", self->stage);

  if (self->total > 0)
    g_string_append_printf (line, "%" G_GUINT64_FORMAT "/%" G_GUINT64_FORMAT, self->done,
                            self->total);
  else
    g_string_append_printf (line, "%" G_GUINT64_FORMAT, self->done);
  if (!self->terminal && self->total > 0)
    g_string_append_printf (line, " (%u%%)",
                            (guint)(MIN (self->done, self->total) * 100 / self->total));

  if (self->bytes_total > 0 || self->bytes_done > 0)
    {
      g_autofree gchar *d = g_format_size (self->bytes_done);
      g_string_append_printf (line, "%s%s", sep, d);
      if (self->bytes_total > 0)
        {
          g_autofree gchar *t = g_format_size (self->bytes_total);
          g_string_append_printf (line, "/%s", t);
        }
    }
  if (self->rate > 0)
    {
      g_autofree gchar *r = g_format_size (self->rate);
      /* TRANSLATORS: a transfer rate, e.g. "3.1 MB/s" */
      g_string_append (line, sep);
      g_string_append_printf (line, _("%s/s"), r);
    }
  if (self->failed > 0)
    {
      g_autofree gchar *n = g_strdup_printf ("%" G_GUINT64_FORMAT, self->failed);
      g_string_append (line, sep);
      /* TRANSLATORS: units that could not be handled in a stage, e.g. "3 failed" */
      g_string_append_printf (line, _("%s failed"), n);
    }
  if (left >= 0)
    {
      g_autofree gchar *eta = pulpctl_format_duration ((guint64)left);
      g_string_append (line, sep);
      /* TRANSLATORS: estimated time left, e.g. "ETA 1:05" */
      g_string_append_printf (line, _("ETA %s"), eta);
    }
  return g_string_free (g_steal_pointer (&line), FALSE);
}

static void
draw_terminal (PulpctlProgress *self)
{
  guint width = terminal_width (self->out);
  g_autofree gchar *line = describe (self, self->bar_width);
  glong excess = g_utf8_strlen (line, -1) - (glong) width + 1;

  /* A narrow terminal gets a shorter bar before the line loses its ETA; the
   * bar only shrinks within a stage, so it does not jitter as numbers grow. */
  if (excess > 0 && self->bar_width > BAR_WIDTH_MIN)
    {
      self->bar_width = (guint) MAX ((glong) BAR_WIDTH_MIN, (glong) self->bar_width - excess);
      g_free (line);
      line = describe (self, self->bar_width);
    }
  /* a line that wraps can no longer be redrawn with a carriage return */
  if (g_utf8_strlen (line, -1) >= width)
    *g_utf8_offset_to_pointer (line, width - 1) = '\0';
  fprintf (self->out, "\r\033[K%s", line);
  fflush (self->out);
  self->line_open = TRUE;
}

static void
write_plain (PulpctlProgress *self)
{
  g_autofree gchar *line = describe (self, BAR_WIDTH);

  self->pending = FALSE;
  if (g_strcmp0 (line, self->last_line) == 0)
    return;
  fprintf (self->out, "%s\n", line);
  fflush (self->out);
  self->last_plain = g_get_monotonic_time ();
  g_free (self->last_line);
  self->last_line = g_steal_pointer (&line);
}

static void
end_stage (PulpctlProgress *self)
{
  if (self->stage == NULL)
    return;
  if (self->terminal && self->line_open)
    {
      fputc ('\n', self->out);
      fflush (self->out);
      self->line_open = FALSE;
    }
  else if (!self->terminal && self->pending)
    write_plain (self);
  g_clear_pointer (&self->stage, g_free);
}

static guint64
detail (GVariant *details, const gchar *key)
{
  guint64 value = 0;

  if (details != NULL)
    g_variant_lookup (details, key, "t", &value);
  return value;
}

/**
 * pulpctl_progress_update:
 * @stage: the stage the task reports
 * @details: (nullable): the `a{sv}` details of the Progress signal
 *
 * Shows one Progress report; a new @stage ends the line of the previous one.
 */
void
pulpctl_progress_update (PulpctlProgress *self, const gchar *stage, guint64 done, guint64 total,
                         GVariant *details)
{
  gboolean new_stage = self->stage == NULL || !g_str_equal (self->stage, stage);

  if (new_stage)
    {
      end_stage (self);
      self->stage = g_strdup (stage);
      self->stage_start = g_get_monotonic_time ();
      self->frame = 0;
      self->bar_width = BAR_WIDTH;
    }
  self->done = done;
  self->total = total;
  self->bytes_done = detail (details, "bytes-done");
  self->bytes_total = detail (details, "bytes-total");
  self->rate = detail (details, "rate");
  self->failed = detail (details, "failed");
  self->frame++;

  if (self->terminal)
    draw_terminal (self);
  else if (new_stage || g_get_monotonic_time () - self->last_plain >= G_USEC_PER_SEC)
    write_plain (self);
  else
    self->pending = TRUE;
}

/**
 * pulpctl_progress_finish:
 *
 * Ends the line of the current stage, if any; call it when the task ended
 * and before writing anything else to the same stream.
 */
void
pulpctl_progress_finish (PulpctlProgress *self)
{
  end_stage (self);
}
