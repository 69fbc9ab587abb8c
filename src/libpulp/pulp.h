/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The importer SDK: the only header an importer includes. */
#pragma once

#define __PULP_H_INSIDE__

#include "pulp-content-store.h"
#include "pulp-downloader.h"
#include "pulp-error.h"
#include "pulp-importer.h"
#include "pulp-sync-conduit.h"
#include "pulp-unit.h"
#include "pulp-vardict-writer.h"

#undef __PULP_H_INSIDE__
