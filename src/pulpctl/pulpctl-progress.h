/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>
#include <stdio.h>

G_BEGIN_DECLS

typedef struct _PulpctlProgress PulpctlProgress;

PulpctlProgress *pulpctl_progress_new (FILE *out, gboolean terminal);
void pulpctl_progress_free (PulpctlProgress *self);
void pulpctl_progress_update (PulpctlProgress *self,
                              const gchar *stage,
                              guint64 done,
                              guint64 total,
                              GVariant *details);
void pulpctl_progress_finish (PulpctlProgress *self);

gchar *pulpctl_format_duration (guint64 seconds);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (PulpctlProgress, pulpctl_progress_free)

G_END_DECLS
