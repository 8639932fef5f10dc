/* SPDX-License-Identifier: GPL-2.0-or-later */
/* json.h: the cache's JSON, read by the importer only (sprout-import links jansson,
 * `sprout` does not): image config string arrays, a bundle's config.json, and the
 * meta.json of a format 1 cache's entries, converted to records on use. */
#ifndef SPROUT_CACHE_JSON_H
#define SPROUT_CACHE_JSON_H

#include <jansson.h>
#include <stdbool.h>
#include "error.h"
#include "cache/cache.h"
#include "cache/image.h"

/* A JSON array of strings as a NULL-terminated vector; NULL for null/missing.
 * -1 with *err when it is not an array of strings. Also the importer's (oci.c). */
int sp_cache_json_strv (json_t *j, const char *what, char ***out, sp_error_t *err);

/* A bundle (config.json + root) or a plain root file system used in place: fill img
 * (its rootfs resolved; a default PATH where the config has no environment). With
 * root not NULL, *root is the bundle's root as config.json names it, made absolute
 * (malloc'd; NULL for a root file system). 0 or -1 with *err naming ref. */
int sp_image_in_place (const char *ref, const char *path, bool bundle, struct sp_image *img, char **root,
                       sp_error_t *err);

/* Convert entry hex of a format 1 cache (meta.json, no record) to a record, under the
 * entry's import lock (locks/<hex>), which the caller holds. 1 when converted, 0 when
 * there is nothing to convert, -1 with *err (its meta.json is damaged). */
int sp_cache_entry_migrate (struct sp_cache *s, const char *hex, sp_error_t *err);

#endif
