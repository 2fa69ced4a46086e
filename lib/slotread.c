// SPDX-License-Identifier: Apache-2.0
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "slotread.h"

/* Per-CPU values of one batch lookup at most this large (the slots of a
 * batch shrink as the CPUs grow), and at most this many slots. */
#define READ_BATCH_BYTES (256u << 10)
#define READ_BATCH_MAX 512u
/* Unused slots a batch lookup goes over rather than start another. */
#define READ_BATCH_GAP 16u

int slot_reader_init(struct slot_reader *r, int hot_fd, int shared_fd, uint32_t max)
{
	memset(r, 0, sizeof(*r));
	r->hot_fd = hot_fd;
	r->shared_fd = shared_fd;
	r->max = max;
	r->ncpus = libbpf_num_possible_cpus();
	if (r->ncpus <= 0)
		return r->ncpus ? r->ncpus : -EINVAL;
	r->batch = READ_BATCH_BYTES / ((uint32_t)r->ncpus * sizeof(struct cgp_cg_hot));
	r->batch = r->batch < 16 ? 16 : r->batch > READ_BATCH_MAX ? READ_BATCH_MAX : r->batch;
	r->hot = calloc((size_t)r->batch * (size_t)r->ncpus, sizeof(*r->hot));
	r->shared = calloc(r->batch, sizeof(*r->shared));
	r->keys = calloc(r->batch, sizeof(*r->keys));
	if (!r->hot || !r->shared || !r->keys) {
		slot_reader_free(r);
		return -ENOMEM;
	}
	return 0;
}

void slot_reader_free(struct slot_reader *r)
{
	free(r->hot);
	free(r->shared);
	free(r->keys);
	r->hot = NULL;
	r->shared = NULL;
	r->keys = NULL;
}

/* A slot's view: its per-CPU counters (@ncpus of them) summed, and the
 * shared ones. */
static void combine(struct cgp_cg_stats *r, const struct cgp_cg_hot *hot, int ncpus,
		    const struct cgp_cg_shared *sh)
{
	struct cgp_cg_hot sum = { 0 };

	for (int c = 0; c < ncpus; c++) {
		sum.rq_delay_ns += hot[c].rq_delay_ns;
		sum.rq_count += hot[c].rq_count;
		sum.oncpu_ns += hot[c].oncpu_ns;
		sum.nvcsw += hot[c].nvcsw;
		sum.nivcsw += hot[c].nivcsw;
		sum.iowait_ns += hot[c].iowait_ns;
	}
	r->rq_delay_ns = sum.rq_delay_ns;
	r->rq_count = sum.rq_count;
	r->oncpu_ns = sum.oncpu_ns;
	r->nvcsw = sum.nvcsw;
	r->nivcsw = sum.nivcsw;
	r->iowait_ns = sum.iowait_ns;
	r->reclaim_ns = sh->reclaim_ns;
	r->reclaim_count = sh->reclaim_count;
	memcpy(r->io_bytes, sh->io_bytes, sizeof(r->io_bytes));
	memcpy(r->io_ops, sh->io_ops, sizeof(r->io_ops));
	r->io_lat_ns = sh->io_lat_ns;
	r->oom_kills = sh->oom_kills;
	memcpy(r->rq_hist, sh->rq_hist, sizeof(r->rq_hist));
	memcpy(r->io_hist, sh->io_hist, sizeof(r->io_hist));
}

int slot_reader_one(struct slot_reader *r, uint32_t slot, struct cgp_cg_stats *ret)
{
	if (slot >= r->max)
		return -EINVAL;
	/* the first of the batch buffer serves one slot */
	if (bpf_map_lookup_elem(r->hot_fd, &slot, r->hot) ||
	    bpf_map_lookup_elem(r->shared_fd, &slot, r->shared))
		return -errno;
	combine(ret, r->hot, r->ncpus, r->shared);
	return 0;
}

/* @count slots from @first of an array map into @vals. 0 or -errno. */
static int batch(struct slot_reader *r, int fd, uint32_t first, uint32_t count, void *vals)
{
	LIBBPF_OPTS(bpf_map_batch_opts, opts);
	uint32_t prev = first - 1, out, n = count;

	/* the batch starts after in_batch; none for slot 0 */
	if (bpf_map_lookup_batch(fd, first ? &prev : NULL, &out, r->keys, vals, &n, &opts) &&
	    errno != ENOENT) /* ENOENT: the map's end; n says how far */
		return -errno;
	if (n != count || r->keys[0] != first)
		return -EIO;
	return 0;
}

int slot_reader_many(struct slot_reader *r, const uint32_t *slots, unsigned n,
		     struct cgp_cg_stats *ret)
{
	unsigned i = 0;

	while (i < n) {
		uint32_t first = slots[i], last = first, count;
		unsigned j = i + 1;
		int e;

		if (first >= r->max || (i && first <= slots[i - 1]))
			return -EINVAL;
		while (j < n && slots[j] > last && slots[j] < r->max &&
		       slots[j] - last <= READ_BATCH_GAP && slots[j] - first < r->batch)
			last = slots[j++];
		count = last - first + 1;
		e = batch(r, r->hot_fd, first, count, r->hot);
		if (!e)
			e = batch(r, r->shared_fd, first, count, r->shared);
		if (e)
			return e;
		for (; i < j; i++) {
			uint32_t k = slots[i] - first;

			combine(&ret[i], r->hot + (size_t)k * (size_t)r->ncpus, r->ncpus,
				&r->shared[k]);
		}
	}
	return 0;
}
