// SPDX-License-Identifier: Apache-2.0
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "model.h"
#include "util.h"

struct model {
	struct cg **buckets;
	unsigned nbuckets;
	unsigned count;
	struct cg **sorted;
	bool sorted_valid;
};

static unsigned bucket_of(const struct model *m, uint64_t id)
{
	id ^= id >> 33;
	id *= 0xff51afd7ed558ccdULL;
	id ^= id >> 33;
	return (unsigned)(id & (m->nbuckets - 1));
}

struct model *model__new(void)
{
	struct model *m = calloc(1, sizeof(*m));

	if (!m)
		return NULL;
	m->nbuckets = 256;
	m->buckets = calloc(m->nbuckets, sizeof(*m->buckets));
	if (!m->buckets) {
		free(m);
		return NULL;
	}
	return m;
}

static void cg_free(struct cg *c)
{
	if (!c)
		return;
	free(c->path);
	free(c);
}

void model__free(struct model *m)
{
	if (!m)
		return;
	for (unsigned i = 0; i < m->nbuckets; i++) {
		struct cg *c = m->buckets[i];

		while (c) {
			struct cg *n = c->hnext;

			cg_free(c);
			c = n;
		}
	}
	free(m->buckets);
	free(m->sorted);
	free(m);
}

struct cg *model__find(const struct model *m, uint64_t id)
{
	for (struct cg *c = m->buckets[bucket_of(m, id)]; c; c = c->hnext)
		if (c->id == id)
			return c;
	return NULL;
}

struct cg *model__find_path(const struct model *m, const char *path)
{
	for (unsigned i = 0; i < m->nbuckets; i++)
		for (struct cg *c = m->buckets[i]; c; c = c->hnext)
			if (!c->dead_ns && !strcmp(c->path, path))
				return c;
	return NULL;
}

static int grow(struct model *m)
{
	unsigned nb = m->nbuckets * 2;
	struct cg **b = calloc(nb, sizeof(*b));
	struct cg **old = m->buckets;
	unsigned onb = m->nbuckets;

	if (!b)
		return -ENOMEM;
	m->buckets = b;
	m->nbuckets = nb;
	for (unsigned i = 0; i < onb; i++) {
		struct cg *c = old[i];

		while (c) {
			struct cg *n = c->hnext;
			unsigned k = bucket_of(m, c->id);

			c->hnext = b[k];
			b[k] = c;
			c = n;
		}
	}
	free(old);
	return 0;
}

int model__add(struct model *m, uint64_t id, const char *path, struct cg **ret)
{
	struct cg *c = model__find(m, id);
	char *p;

	if (c) {
		if (strcmp(c->path, path)) {
			p = strdup(path);
			if (!p)
				return -ENOMEM;
			free(c->path);
			c->path = p;
			m->sorted_valid = false;
		}
		c->dead_ns = 0;
		if (ret)
			*ret = c;
		return 0;
	}
	if (m->count + 1 > m->nbuckets * 2 && grow(m))
		return -ENOMEM;
	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->path = strdup(path);
	if (!c->path) {
		free(c);
		return -ENOMEM;
	}
	c->id = id;
	c->slot = -1;
	c->hnext = m->buckets[bucket_of(m, id)];
	m->buckets[bucket_of(m, id)] = c;
	m->count++;
	m->sorted_valid = false;
	if (ret)
		*ret = c;
	return 1;
}

void model__remove(struct model *m, uint64_t id)
{
	struct cg **pp = &m->buckets[bucket_of(m, id)];

	for (; *pp; pp = &(*pp)->hnext) {
		if ((*pp)->id == id) {
			struct cg *c = *pp;

			*pp = c->hnext;
			cg_free(c);
			m->count--;
			m->sorted_valid = false;
			return;
		}
	}
}

unsigned model__count(const struct model *m)
{
	return m->count;
}

static int cmp_path(const void *a, const void *b)
{
	const struct cg *x = *(struct cg *const *)a, *y = *(struct cg *const *)b;

	return strcmp(x->path, y->path);
}

struct cg **model__sorted(struct model *m, unsigned *ret_n)
{
	if (!m->sorted_valid) {
		struct cg **s = realloc(m->sorted, (m->count ? m->count : 1) * sizeof(*s));
		unsigned n = 0;

		if (!s)
			return NULL;
		m->sorted = s;
		for (unsigned i = 0; i < m->nbuckets; i++)
			for (struct cg *c = m->buckets[i]; c; c = c->hnext)
				s[n++] = c;
		qsort(s, n, sizeof(*s), cmp_path);
		m->sorted_valid = true;
	}
	*ret_n = m->count;
	return m->sorted;
}

struct cg *model__apply_event(struct model *m, const struct cgp_event *e, uint64_t now_ns)
{
	struct cg *c = NULL;
	char path[CGP_PATH_MAX + 1];

	switch (e->type) {
	case CGP_EV_CGROUP_MKDIR: {
		const char *p = path;

		memcpy(path, e->path, CGP_PATH_MAX);
		path[CGP_PATH_MAX] = 0;
		while (*p == '/')
			p++;
		if (model__add(m, e->cgid, p, &c) < 0)
			return NULL;
		return c;
	}
	case CGP_EV_CGROUP_RMDIR:
		c = model__find(m, e->cgid);
		if (c && !c->dead_ns)
			c->dead_ns = now_ns ? now_ns : 1;
		return c;
	case CGP_EV_ONSET:
		c = model__find(m, e->cgid);
		if (c && e->signal < CGP_SIG_MAX)
			c->active |= 1u << e->signal;
		return c;
	case CGP_EV_CLEARED:
		c = model__find(m, e->cgid);
		if (c && e->signal < CGP_SIG_MAX)
			c->active &= ~(1u << e->signal);
		return c;
	case CGP_EV_OOM_KILL:
		return e->cgid ? model__find(m, e->cgid) : NULL;
	default:
		return NULL;
	}
}

static double rate(uint64_t now_v, uint64_t prev_v, uint64_t dt_ns)
{
	if (!dt_ns || now_v < prev_v)
		return 0;
	return (double)(now_v - prev_v) / (double)dt_ns;
}

void model_update_bpf(struct cg_figures *f, const struct cgp_cg_stats *s, uint64_t now_ns)
{
	if (f->bpf_ns && now_ns > f->bpf_ns) {
		uint64_t dt = now_ns - f->bpf_ns;
		const struct cgp_cg_stats *p = &f->bpf;

		f->cpu_rate = rate(s->oncpu_ns, p->oncpu_ns, dt);
		f->cpu_wait_rate = rate(s->rq_delay_ns, p->rq_delay_ns, dt);
		f->reclaim_rate = rate(s->reclaim_ns, p->reclaim_ns, dt);
		f->iowait_rate = rate(s->iowait_ns, p->iowait_ns, dt);
		f->io_bytes_rate =
			rate(s->io_bytes[0] + s->io_bytes[1], p->io_bytes[0] + p->io_bytes[1], dt) *
			1e9;
	}
	f->bpf = *s;
	f->bpf_ns = now_ns;
}
