/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct _PulpDigest PulpDigest;

PulpDigest *pulp_digest_new (GChecksumType type);
void pulp_digest_update (PulpDigest *digest, const guchar *data, gsize length);
const gchar *pulp_digest_get_string (PulpDigest *digest);
void pulp_digest_reset (PulpDigest *digest);
void pulp_digest_free (PulpDigest *digest);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (PulpDigest, pulp_digest_free)

G_END_DECLS
