/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "analysis/itl.h"

#include "core/csv.h"
#include "core/error.h"
#include "core/parse.h"

#include <inttypes.h>
#include <limits.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

/* ---- name_pool: open addressing, slots hold id + 1 (0 = empty) ---- */

struct name_pool {
    char **names;
    uint64_t *hashes;
    uint32_t count, capacity;
    uint32_t *slots;
    size_t num_slots; /* a power of two, at least twice count */
};

struct name_pool *
name_pool_new(void)
{
    return calloc(1, sizeof(struct name_pool));
}

static size_t
pool_slot(const struct name_pool *pool, const char *text, uint64_t hash)
{
    size_t mask = pool->num_slots - 1;
    for (size_t s = (size_t)hash & mask;; s = (s + 1) & mask) {
        uint32_t v = pool->slots[s];
        if (!v) return s;
        if (pool->hashes[v - 1] == hash && strcmp(pool->names[v - 1], text) == 0) return s;
    }
}

static int
pool_grow(struct name_pool *pool)
{
    size_t num_slots = pool->num_slots ? 2 * pool->num_slots : 16;
    uint32_t *slots = calloc(num_slots, sizeof *slots);
    if (!slots) return internal_error("out of memory");
    free(pool->slots);
    pool->slots = slots;
    pool->num_slots = num_slots;
    for (uint32_t id = 0; id < pool->count; id++)
        slots[pool_slot(pool, pool->names[id], pool->hashes[id])] = id + 1;
    return 0;
}

int
name_pool_intern(struct name_pool *pool, const char *text, uint32_t *id)
{
    uint64_t hash = XXH3_64bits(text, strlen(text));
    if (pool->num_slots) {
        uint32_t v = pool->slots[pool_slot(pool, text, hash)];
        if (v) {
            *id = v - 1;
            return 0;
        }
    }
    if (pool->count == UINT32_MAX - 1) return internal_error("too many distinct names");
    if (2 * ((size_t)pool->count + 1) > pool->num_slots && pool_grow(pool)) return ERR_INTERNAL;
    if (pool->count == pool->capacity) {
        uint32_t capacity = pool->capacity ? 2 * pool->capacity : 16;
        char **names = realloc(pool->names, capacity * sizeof *names);
        if (names) pool->names = names;
        uint64_t *hashes = names ? realloc(pool->hashes, capacity * sizeof *hashes) : NULL;
        if (!hashes) return internal_error("out of memory");
        pool->hashes = hashes;
        pool->capacity = capacity;
    }
    char *copy = strdup(text);
    if (!copy) return internal_error("out of memory");
    uint32_t new_id = pool->count++;
    pool->names[new_id] = copy;
    pool->hashes[new_id] = hash;
    pool->slots[pool_slot(pool, text, hash)] = new_id + 1;
    *id = new_id;
    return 0;
}

int64_t
name_pool_find(const struct name_pool *pool, const char *text)
{
    if (!pool->num_slots) return -1;
    uint32_t v = pool->slots[pool_slot(pool, text, XXH3_64bits(text, strlen(text)))];
    return v ? (int64_t)v - 1 : -1;
}

const char *
name_pool_name(const struct name_pool *pool, uint32_t id)
{
    return id < pool->count ? pool->names[id] : NULL;
}

uint32_t
name_pool_count(const struct name_pool *pool)
{
    return pool->count;
}

void
name_pool_free(struct name_pool *pool)
{
    if (!pool) return;
    for (uint32_t id = 0; id < pool->count; id++)
        free(pool->names[id]);
    free(pool->names);
    free(pool->hashes);
    free(pool->slots);
    free(pool);
}

/* ---- the histogram: entries in insertion order, indexed by a hash table ---- */

struct itl_entry {
    uint32_t slo_class, tenant; /* name_pool ids */
    int32_t instance;
    int64_t gap_us;
    int64_t count;
};

struct itl_histogram {
    struct name_pool *names;
    struct itl_entry *entries;
    size_t count, capacity;
    uint32_t *slots; /* entry index + 1; 0 = empty */
    size_t num_slots;
    /* The last strings interned: consecutive calls usually repeat them. */
    uint32_t last_slo_class, last_tenant;
    bool have_last;
};

struct itl_histogram *
itl_histogram_new(void)
{
    struct itl_histogram *h = calloc(1, sizeof *h);
    if (h && !(h->names = name_pool_new())) {
        free(h);
        h = NULL;
    }
    return h;
}

static uint64_t
mix(uint64_t x)
{
    /* splitmix64's finalizer */
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9u;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebu;
    return x ^ (x >> 31);
}

static uint64_t
key_hash(uint32_t slo_class, uint32_t tenant, int32_t instance, int64_t gap_us)
{
    uint64_t a = ((uint64_t)slo_class << 32) | tenant;
    return mix(a ^ mix((uint64_t)gap_us ^ ((uint64_t)(uint32_t)instance << 40)));
}

static size_t
entry_slot(const struct itl_histogram *h, uint32_t slo_class, uint32_t tenant, int32_t instance,
           int64_t gap_us)
{
    size_t mask = h->num_slots - 1;
    for (size_t s = (size_t)key_hash(slo_class, tenant, instance, gap_us) & mask;;
         s = (s + 1) & mask) {
        uint32_t v = h->slots[s];
        if (!v) return s;
        const struct itl_entry *e = &h->entries[v - 1];
        if (e->gap_us == gap_us && e->instance == instance && e->slo_class == slo_class &&
            e->tenant == tenant)
            return s;
    }
}

static int
grow_slots(struct itl_histogram *h)
{
    size_t num_slots = h->num_slots ? 2 * h->num_slots : 64;
    uint32_t *slots = calloc(num_slots, sizeof *slots);
    if (!slots) return internal_error("out of memory");
    free(h->slots);
    h->slots = slots;
    h->num_slots = num_slots;
    for (size_t i = 0; i < h->count; i++) {
        const struct itl_entry *e = &h->entries[i];
        slots[entry_slot(h, e->slo_class, e->tenant, e->instance, e->gap_us)] = (uint32_t)i + 1;
    }
    return 0;
}

static int
intern(struct itl_histogram *h, const char *slo_class, const char *tenant, uint32_t *slo_id,
       uint32_t *tenant_id)
{
    if (h->have_last && strcmp(slo_class, h->names->names[h->last_slo_class]) == 0 &&
        strcmp(tenant, h->names->names[h->last_tenant]) == 0) {
        *slo_id = h->last_slo_class;
        *tenant_id = h->last_tenant;
        return 0;
    }
    int rc = name_pool_intern(h->names, slo_class, slo_id);
    if (!rc) rc = name_pool_intern(h->names, tenant, tenant_id);
    if (rc) return rc;
    h->last_slo_class = *slo_id;
    h->last_tenant = *tenant_id;
    h->have_last = true;
    return 0;
}

/* Adds to the key with interned names: 0; ERR_DATA with *why set, not yet
 * reported (the caller knows the line); ERR_INTERNAL (reported). */
static int
add_interned(struct itl_histogram *h, uint32_t slo_class, uint32_t tenant, int32_t instance,
             int64_t gap_us, int64_t count, const char **why)
{
    if (2 * (h->count + 1) > h->num_slots && grow_slots(h)) return ERR_INTERNAL;
    size_t s = entry_slot(h, slo_class, tenant, instance, gap_us);
    if (h->slots[s]) {
        struct itl_entry *e = &h->entries[h->slots[s] - 1];
        if (count > ITL_MAX_COUNT - e->count) {
            *why = "count overflows";
            return ERR_DATA;
        }
        e->count += count;
        return 0;
    }
    if (h->count == UINT32_MAX - 1) return internal_error("itl: too many distinct keys");
    if (h->count == h->capacity) {
        size_t capacity = h->capacity ? 2 * h->capacity : 64;
        struct itl_entry *grown = realloc(h->entries, capacity * sizeof *grown);
        if (!grown) return internal_error("out of memory");
        h->entries = grown;
        h->capacity = capacity;
    }
    h->entries[h->count] = (struct itl_entry){slo_class, tenant, instance, gap_us, count};
    h->slots[s] = (uint32_t)++h->count;
    return 0;
}

int
itl_histogram_add(struct itl_histogram *h, const char *slo_class, const char *tenant, int instance,
                  int64_t gap_us, int64_t count)
{
    if (instance < 0 || gap_us < 0 || count < 1 || count > ITL_MAX_COUNT)
        return error("itl: bad gap run (instance %d, gap_us %" PRId64 ", count %" PRId64 ")",
                     instance, gap_us, count);
    uint32_t slo_id, tenant_id;
    int rc = intern(h, slo_class, tenant, &slo_id, &tenant_id);
    const char *why = NULL;
    if (!rc) rc = add_interned(h, slo_id, tenant_id, instance, gap_us, count, &why);
    if (rc == ERR_DATA)
        return error("itl: %s for slo_class '%s', tenant '%s', instance %d, gap_us %" PRId64, why,
                     slo_class, tenant, instance, gap_us);
    return rc;
}

size_t
itl_histogram_size(const struct itl_histogram *h)
{
    return h->count;
}

/* Sort keys: names replaced by their rank in byte order. */
struct sort_key {
    uint32_t slo_rank, tenant_rank;
    int32_t instance;
    int64_t gap_us;
    size_t entry;
};

struct named_id {
    const char *name;
    uint32_t id;
};

static int
compare_names(const void *a, const void *b)
{
    return strcmp(((const struct named_id *)a)->name, ((const struct named_id *)b)->name);
}

static int
compare_keys(const void *a, const void *b)
{
    const struct sort_key *x = a, *y = b;
    if (x->slo_rank != y->slo_rank) return x->slo_rank < y->slo_rank ? -1 : 1;
    if (x->tenant_rank != y->tenant_rank) return x->tenant_rank < y->tenant_rank ? -1 : 1;
    if (x->instance != y->instance) return x->instance < y->instance ? -1 : 1;
    if (x->gap_us != y->gap_us) return x->gap_us < y->gap_us ? -1 : 1;
    return 0;
}

int
itl_histogram_bins(const struct itl_histogram *h, struct itl_bin **out, size_t *count)
{
    *out = NULL;
    *count = 0;
    if (!h->count) return 0;
    uint32_t n_names = h->names->count;
    struct named_id *ids = malloc(n_names * sizeof *ids);
    uint32_t *rank = malloc(n_names * sizeof *rank);
    struct sort_key *keys = malloc(h->count * sizeof *keys);
    struct itl_bin *bins = malloc(h->count * sizeof *bins);
    if (!ids || !rank || !keys || !bins) {
        free(ids);
        free(rank);
        free(keys);
        free(bins);
        return internal_error("out of memory");
    }
    for (uint32_t i = 0; i < n_names; i++)
        ids[i] = (struct named_id){h->names->names[i], i};
    qsort(ids, n_names, sizeof *ids, compare_names);
    for (uint32_t i = 0; i < n_names; i++)
        rank[ids[i].id] = i;
    for (size_t i = 0; i < h->count; i++) {
        const struct itl_entry *e = &h->entries[i];
        keys[i] = (struct sort_key){rank[e->slo_class], rank[e->tenant], e->instance, e->gap_us, i};
    }
    qsort(keys, h->count, sizeof *keys, compare_keys);
    for (size_t i = 0; i < h->count; i++) {
        const struct itl_entry *e = &h->entries[keys[i].entry];
        bins[i] = (struct itl_bin){h->names->names[e->slo_class], h->names->names[e->tenant],
                                   e->instance, e->gap_us, e->count};
    }
    free(ids);
    free(rank);
    free(keys);
    *out = bins;
    *count = h->count;
    return 0;
}

int
itl_histogram_write(const struct itl_histogram *h, FILE *out)
{
    struct itl_bin *bins;
    size_t count;
    int rc = itl_histogram_bins(h, &bins, &count);
    if (rc) return rc;
    fputs(ITL_CSV_HEADER "\n", out);
    for (size_t i = 0; i < count; i++) {
        csv_write_field(out, bins[i].slo_class);
        fputc(',', out);
        csv_write_field(out, bins[i].tenant);
        fprintf(out, ",%d,%" PRId64 ",%" PRId64 "\n", bins[i].instance, bins[i].gap_us,
                bins[i].count);
    }
    free(bins);
    return 0;
}

enum column { SLO_CLASS, TENANT, INSTANCE, GAP, COUNT, NCOLUMNS };

static const struct csv_column columns[NCOLUMNS] = {
    {"slo_class", true}, {"tenant", true}, {"instance", true}, {"gap_us", true}, {"count", true},
};

/* strcmp-style order of a row's key against the previous row's. */
static int
compare_rows(const char *slo_a, const char *tenant_a, int64_t instance_a, int64_t gap_a,
             const char *slo_b, const char *tenant_b, int64_t instance_b, int64_t gap_b)
{
    int c = strcmp(slo_a, slo_b);
    if (!c) c = strcmp(tenant_a, tenant_b);
    if (!c) c = instance_a < instance_b ? -1 : instance_a > instance_b;
    if (!c) c = gap_a < gap_b ? -1 : gap_a > gap_b;
    return c;
}

static int
read_rows(struct itl_histogram *h, struct csv_table *t)
{
    const char *name = csv_table_name(t);
    struct csv_record rec;
    int rc;
    bool first = true;
    uint32_t prev_slo = 0, prev_tenant = 0;
    int64_t prev_instance = 0, prev_gap = 0;
    while ((rc = csv_table_next(t, &rec)) > 0) {
        int64_t instance, gap_us, count;
        if (csv_table_i64(t, &rec, INSTANCE, 0, INT_MAX, &instance) ||
            csv_table_i64(t, &rec, GAP, 0, INT64_MAX / 2, &gap_us) ||
            csv_table_i64(t, &rec, COUNT, 1, ITL_MAX_COUNT, &count))
            return ERR_DATA;
        const char *slo = csv_table_field(t, &rec, SLO_CLASS);
        const char *tenant = csv_table_field(t, &rec, TENANT);
        if (!first) {
            int order = compare_rows(slo, tenant, instance, gap_us, h->names->names[prev_slo],
                                     h->names->names[prev_tenant], prev_instance, prev_gap);
            if (order == 0)
                return error("%s:%ld: duplicate row for key (slo_class '%s', tenant '%s', "
                             "instance %" PRId64 ", gap_us %" PRId64 ")",
                             name, rec.line, slo, tenant, instance, gap_us);
            if (order < 0)
                return error("%s:%ld: rows out of order (sorted by slo_class, tenant, "
                             "instance, gap_us)",
                             name, rec.line);
        }
        uint32_t slo_id, tenant_id;
        if ((rc = intern(h, slo, tenant, &slo_id, &tenant_id))) return rc;
        const char *why = NULL;
        rc = add_interned(h, slo_id, tenant_id, (int32_t)instance, gap_us, count, &why);
        if (rc == ERR_DATA) return csv_table_bad(t, &rec, COUNT, why);
        if (rc) return rc;
        first = false;
        prev_slo = slo_id;
        prev_tenant = tenant_id;
        prev_instance = instance;
        prev_gap = gap_us;
    }
    return rc;
}

int
itl_histogram_read(struct itl_histogram *h, FILE *in, const char *name)
{
    struct csv_table table;
    int rc = csv_table_open(&table, in, name, columns, NCOLUMNS);
    if (rc) return rc;
    rc = read_rows(h, &table);
    csv_table_close(&table);
    return rc;
}

void
itl_histogram_free(struct itl_histogram *h)
{
    if (!h) return;
    name_pool_free(h->names);
    free(h->entries);
    free(h->slots);
    free(h);
}
