// SPDX-License-Identifier: Apache-2.0
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "adopt.h"
#include "cgroupfs.h"
#include "util.h"

/* The kernel's NAME_MAX: no cgroup component is longer. */
#define COMP_MAX 255
#define POD_LEN 36
#define POD_HASH_LEN 32
#define ID_MAX 128

enum tok_kind { TOK_LIT, TOK_STAR, TOK_CAP };
enum cap_kind { CAP_POD, CAP_ID, CAP_NAME };

static const struct {
	const char *name;
	enum cap_kind kind;
} captures[] = {
	{ "pod", CAP_POD },
	{ "id", CAP_ID },
	{ "name", CAP_NAME },
};

struct tok {
	uint8_t kind;
	uint8_t cap; /* index in captures[] */
	uint8_t capi; /* index among the pattern's captures */
	uint16_t off, len; /* a literal's bytes in the pattern */
};

/* One pattern component, parsed. */
struct comp {
	struct tok tok[ADOPT_PATTERN_MAX];
	unsigned ntok;
};

/* A captured run of the path, in pattern order. */
struct span {
	unsigned cap; /* index in captures[] */
	const char *s;
	size_t len;
};

static bool is_ctrl(unsigned char c)
{
	return c < 0x20 || c == 0x7f;
}

static bool is_hex(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
}

/* Valid UTF-8 without control characters; @bad gets the first offending byte. */
static bool clean_text(const char *s, size_t *bad)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n;

	for (; *p; p += n) {
		n = is_ctrl(*p) ? 0 : cgfs_utf8_seq_len(p);
		if (!n) {
			*bad = (size_t)(p - (const unsigned char *)s);
			return false;
		}
	}
	return true;
}

static void set_err(char *err, size_t errlen, const char *fmt, const char *what)
{
	if (err && errlen)
		snprintf(err, errlen, fmt, what);
}

/*
 * Parse the component of @pat at @start (@len bytes) into @c; @caps collects
 * the captures of the whole pattern (their count is bounded).
 */
static int parse_comp(const char *pat, size_t start, size_t len, struct comp *c, unsigned *caps,
		      unsigned *ncaps, char *err, size_t errlen)
{
	const char *s = pat + start;

	c->ntok = 0;
	if (!len) {
		set_err(err, errlen, "pattern '%s' has an empty component", pat);
		return -EINVAL;
	}
	if ((len == 1 && s[0] == '.') || (len == 2 && s[0] == '.' && s[1] == '.')) {
		set_err(err, errlen, "pattern '%s' has a '.' or '..' component", pat);
		return -EINVAL;
	}
	for (size_t i = 0; i < len;) {
		struct tok *prev = c->ntok ? &c->tok[c->ntok - 1] : NULL;
		struct tok *t = &c->tok[c->ntok];

		if (s[i] == '*') {
			if (prev && prev->kind == TOK_CAP) {
				set_err(err, errlen,
					"pattern '%s' has '*' beside a capture (ambiguous)", pat);
				return -EINVAL;
			}
			if (!prev || prev->kind != TOK_STAR) {
				*t = (struct tok){ .kind = TOK_STAR };
				c->ntok++;
			}
			i++;
		} else if (s[i] == '{') {
			const char *end = memchr(s + i, '}', len - i);
			size_t nlen;
			unsigned k;

			if (!end) {
				set_err(err, errlen, "pattern '%s' has a '{' without '}'", pat);
				return -EINVAL;
			}
			nlen = (size_t)(end - (s + i)) - 1;
			for (k = 0; k < ARRAY_SIZE(captures); k++)
				if (strlen(captures[k].name) == nlen &&
				    !memcmp(captures[k].name, s + i + 1, nlen))
					break;
			if (k == ARRAY_SIZE(captures)) {
				if (err && errlen)
					snprintf(
						err, errlen,
						"pattern '%s' has an unknown capture '%.*s' (known: "
						"{pod}, {id}, {name})",
						pat, (int)(nlen + 2), s + i);
				return -EINVAL;
			}
			if (prev && prev->kind != TOK_LIT) {
				set_err(err, errlen,
					"pattern '%s' has a capture beside '*' or another capture "
					"(ambiguous)",
					pat);
				return -EINVAL;
			}
			if (*ncaps == ADOPT_MAX_CAPTURES) {
				if (err && errlen)
					snprintf(err, errlen,
						 "pattern '%s' has more than %d captures", pat,
						 ADOPT_MAX_CAPTURES);
				return -EINVAL;
			}
			*t = (struct tok){ .kind = TOK_CAP,
					   .cap = (uint8_t)k,
					   .capi = (uint8_t)*ncaps };
			caps[(*ncaps)++] = k;
			c->ntok++;
			i += nlen + 2;
		} else if (s[i] == '}') {
			set_err(err, errlen, "pattern '%s' has a '}' without '{'", pat);
			return -EINVAL;
		} else {
			if (prev && prev->kind == TOK_LIT) {
				prev->len++;
			} else {
				*t = (struct tok){ .kind = TOK_LIT,
						   .off = (uint16_t)(start + i),
						   .len = 1 };
				c->ntok++;
			}
			i++;
		}
	}
	return 0;
}

/* The checks every pattern passes before its components are parsed. */
static int check_text(const char *pat, char *err, size_t errlen)
{
	size_t bad;

	if (!pat || !*pat) {
		set_err(err, errlen, "%s", "the pattern is empty");
		return -EINVAL;
	}
	if (strnlen(pat, ADOPT_PATTERN_MAX) >= ADOPT_PATTERN_MAX) {
		if (err && errlen)
			snprintf(err, errlen, "pattern '%.40s...' is longer than %d bytes", pat,
				 ADOPT_PATTERN_MAX - 1);
		return -EINVAL;
	}
	if (!clean_text(pat, &bad)) {
		if (err && errlen)
			snprintf(err, errlen,
				 "pattern has a control character or invalid UTF-8 at byte %zu",
				 bad);
		return -EINVAL;
	}
	if (pat[0] == '/') {
		set_err(err, errlen,
			"pattern '%s' is absolute (patterns are relative to the cgroup mount)",
			pat);
		return -EINVAL;
	}
	return 0;
}

/* The component of @s at *pos: its start and length; *pos moves past it. */
static bool next_comp(const char *s, size_t *pos, size_t *ret_start, size_t *ret_len)
{
	const char *slash;
	size_t len;

	if (*pos == SIZE_MAX)
		return false;
	slash = strchr(s + *pos, '/');
	len = slash ? (size_t)(slash - (s + *pos)) : strlen(s + *pos);
	*ret_start = *pos;
	*ret_len = len;
	*pos = slash ? *pos + len + 1 : SIZE_MAX;
	return true;
}

int adopt_pattern_check(const char *path, char *err, size_t errlen)
{
	unsigned caps[ADOPT_MAX_CAPTURES];
	size_t pos = 0, start, len;
	unsigned ncaps = 0;
	struct comp c;
	int r;

	r = check_text(path, err, errlen);
	if (r)
		return r;
	while (next_comp(path, &pos, &start, &len)) {
		r = parse_comp(path, start, len, &c, caps, &ncaps, err, errlen);
		if (r)
			return r;
	}
	return 0;
}

/* The path: clean text of components of 1..NAME_MAX bytes, none "." or "..". */
static bool path_ok(const char *path)
{
	size_t pos = 0, start, len, bad;

	if (!path || !*path || !clean_text(path, &bad))
		return false;
	while (next_comp(path, &pos, &start, &len)) {
		const char *s = path + start;

		if (!len || len > COMP_MAX || (len == 1 && s[0] == '.') ||
		    (len == 2 && s[0] == '.' && s[1] == '.'))
			return false;
	}
	return true;
}

/* A pod UID at @s (@n bytes): the length of the one that is there, else 0. */
static size_t pod_len(const char *s, size_t n)
{
	size_t i;

	if (n >= POD_LEN && (s[8] == '-' || s[8] == '_')) {
		for (i = 0; i < POD_LEN; i++) {
			bool sep = i == 8 || i == 13 || i == 18 || i == 23;

			if (sep ? s[i] != s[8] : !is_hex(s[i]))
				break;
		}
		if (i == POD_LEN)
			return POD_LEN;
	}
	/* a static pod's: the kubelet's md5 of its manifest, in hex */
	if (n >= POD_HASH_LEN) {
		for (i = 0; i < POD_HASH_LEN; i++)
			if (!is_hex(s[i]))
				return 0;
		return POD_HASH_LEN;
	}
	return 0;
}

/* The longest run at @s (@n bytes) that {id} or {name} may capture. */
static size_t run_len(enum cap_kind kind, const char *s, size_t n)
{
	size_t i;

	if (kind == CAP_ID) {
		if (!n || s[0] == '.')
			return 0;
		for (i = 0; i < n && i < ID_MAX; i++) {
			char c = s[i];

			if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
			      (c >= 'A' && c <= 'Z') || c == '_' || c == '.' || c == '-'))
				break;
		}
		return i;
	}
	/* the path is clean text already: no control characters, no '/' */
	return n < COMP_MAX ? n : COMP_MAX;
}

struct mctx {
	const char *pat;
	const struct comp *c;
	const char *s; /* the path component */
	size_t n;
	struct span *spans;
	/* failures seen, so no state is tried twice: a '*' at token t fails from
	 * star_fail[t] on; a capture at token t fails where cap_fail has a bit */
	uint16_t star_fail[ADOPT_PATTERN_MAX];
	uint64_t cap_fail[ADOPT_MAX_CAPTURES][(COMP_MAX + 64) / 64];
};

static bool match_from(struct mctx *x, unsigned ti, size_t j);

/* The capture at token @ti from byte @j, then the rest. */
static bool match_cap(struct mctx *x, unsigned ti, size_t j)
{
	const struct tok *t = &x->c->tok[ti];
	uint64_t *bits = x->cap_fail[t->capi];
	size_t len;

	if (bits[j / 64] & (1ULL << (j % 64)))
		return false;
	if (captures[t->cap].kind == CAP_POD) {
		len = pod_len(x->s + j, x->n - j);
		if (len && match_from(x, ti + 1, j + len))
			goto matched;
	} else {
		for (len = run_len(captures[t->cap].kind, x->s + j, x->n - j); len; len--) {
			/* a run ends on a character, not inside one */
			if (j + len < x->n && (x->s[j + len] & 0xc0) == 0x80)
				continue;
			if (match_from(x, ti + 1, j + len))
				goto matched;
		}
	}
	bits[j / 64] |= 1ULL << (j % 64);
	return false;
matched:
	x->spans[t->capi] = (struct span){ .cap = t->cap, .s = x->s + j, .len = len };
	return true;
}

/*
 * Tokens from @ti on against the component from byte @j on. '*' and
 * captures take the longest run that lets the rest match.
 */
static bool match_from(struct mctx *x, unsigned ti, size_t j)
{
	for (; ti < x->c->ntok; ti++) {
		const struct tok *t = &x->c->tok[ti];

		if (t->kind == TOK_LIT) {
			if (x->n - j < t->len || memcmp(x->s + j, x->pat + t->off, t->len))
				return false;
			j += t->len;
			continue;
		}
		if (t->kind == TOK_STAR) {
			if (j >= x->star_fail[ti])
				return false;
			for (size_t k = x->star_fail[ti]; k-- > j;)
				if (match_from(x, ti + 1, k))
					return true;
			x->star_fail[ti] = (uint16_t)j;
			return false;
		}
		return match_cap(x, ti, j);
	}
	return j == x->n;
}

/* @path (checked by path_ok) against one pattern; @spans gets the captures. */
static bool match_pattern(const char *pat, const char *path, struct span *spans,
			  unsigned *ret_nspans)
{
	unsigned caps[ADOPT_MAX_CAPTURES];
	size_t ppos = 0, pstart, plen, spos = 0, sstart, slen;
	unsigned ncaps = 0;
	struct mctx x;
	struct comp c;

	if (check_text(pat, NULL, 0))
		return false;
	x.pat = pat;
	x.c = &c;
	x.spans = spans;
	for (;;) {
		bool more_p = next_comp(pat, &ppos, &pstart, &plen);
		bool more_s = next_comp(path, &spos, &sstart, &slen);

		if (!more_p || !more_s) {
			if (more_p || more_s)
				return false; /* a prefix, or too short */
			break;
		}
		if (parse_comp(pat, pstart, plen, &c, caps, &ncaps, NULL, 0))
			return false;
		x.s = path + sstart;
		x.n = slen;
		for (unsigned t = 0; t < c.ntok; t++)
			x.star_fail[t] = (uint16_t)(slen + 1);
		memset(x.cap_fail, 0, sizeof(x.cap_fail));
		if (!match_from(&x, 0, 0))
			return false;
	}
	*ret_nspans = ncaps;
	return true;
}

bool adopt_match(const struct adopt_pattern *patterns, unsigned n, const char *path,
		 struct adopt_match *ret)
{
	struct span spans[ADOPT_MAX_CAPTURES] = { 0 };
	struct adopt_match m = { 0 };
	unsigned nspans;

	if (!patterns || !path_ok(path))
		return false;
	for (unsigned i = 0; i < n; i++) {
		if (!match_pattern(patterns[i].path, path, spans, &nspans))
			continue;
		m.pattern = &patterns[i];
		for (unsigned k = 0; k < nspans; k++) {
			struct adopt_capture *cap = &m.captures[k];

			if (spans[k].len >= sizeof(cap->value))
				goto next; /* does not fit: no match */
			snprintf(cap->name, sizeof(cap->name), "%s", captures[spans[k].cap].name);
			if (spans[k].len)
				memcpy(cap->value, spans[k].s, spans[k].len);
			cap->value[spans[k].len] = '\0';
			if (captures[spans[k].cap].kind == CAP_POD)
				for (char *p = cap->value; *p; p++)
					if (*p == '_')
						*p = '-';
		}
		m.ncaptures = nspans;
		if (ret)
			*ret = m;
		return true;
next:
		memset(&m, 0, sizeof(m));
	}
	return false;
}

const char *adopt_capture(const struct adopt_match *m, const char *name)
{
	if (!m || !name)
		return NULL;
	for (unsigned i = 0; i < m->ncaptures && i < ADOPT_MAX_CAPTURES; i++)
		if (!strcmp(m->captures[i].name, name))
			return m->captures[i].value;
	return NULL;
}

struct preset_pattern {
	const char *name;
	const char *path;
	enum cgp_class class;
};

static const struct preset_pattern kubelet_systemd[] = {
	{ "kubelet-systemd-guaranteed", "kubepods.slice/kubepods-pod{pod}.slice",
	  CGP_CLASS_GUARANTEED },
	{ "kubelet-systemd-burstable",
	  "kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod{pod}.slice",
	  CGP_CLASS_BURSTABLE },
	{ "kubelet-systemd-besteffort",
	  "kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod{pod}.slice",
	  CGP_CLASS_BESTEFFORT },
};

static const struct preset_pattern kubelet_cgroupfs[] = {
	{ "kubelet-cgroupfs-guaranteed", "kubepods/pod{pod}", CGP_CLASS_GUARANTEED },
	{ "kubelet-cgroupfs-burstable", "kubepods/burstable/pod{pod}", CGP_CLASS_BURSTABLE },
	{ "kubelet-cgroupfs-besteffort", "kubepods/besteffort/pod{pod}", CGP_CLASS_BESTEFFORT },
};

static const struct preset_pattern mesos[] = {
	{ "mesos", "mesos/{id}", CGP_CLASS_BURSTABLE },
};

static const struct {
	const char *name;
	const char *engine;
	const struct preset_pattern *patterns;
	unsigned n;
} presets[] = {
	{ "kubelet-systemd", "kubelet", kubelet_systemd, ARRAY_SIZE(kubelet_systemd) },
	{ "kubelet-cgroupfs", "kubelet", kubelet_cgroupfs, ARRAY_SIZE(kubelet_cgroupfs) },
	{ "mesos", "mesos", mesos, ARRAY_SIZE(mesos) },
};

const char *const adopt_preset_names[] = { "kubelet-systemd", "kubelet-cgroupfs", "mesos", NULL };

int adopt_preset(const char *preset, const char *knobs, struct adopt_pattern *out, unsigned cap)
{
	unsigned i;

	if (!knobs)
		knobs = "";
	for (i = 0; i < ARRAY_SIZE(presets); i++)
		if (preset && !strcmp(presets[i].name, preset))
			break;
	if (i == ARRAY_SIZE(presets))
		return -ENOENT;
	if (strlen(knobs) >= ADOPT_KNOBS_MAX)
		return -EINVAL;
	if (presets[i].n > cap)
		return -ENOSPC;
	if (!out)
		return -EINVAL;
	for (unsigned k = 0; k < presets[i].n; k++) {
		const struct preset_pattern *pp = &presets[i].patterns[k];
		struct adopt_pattern *p = &out[k];

		memset(p, 0, sizeof(*p));
		snprintf(p->name, sizeof(p->name), "%s", pp->name);
		snprintf(p->engine, sizeof(p->engine), "%s", presets[i].engine);
		snprintf(p->path, sizeof(p->path), "%s", pp->path);
		p->class = pp->class;
		snprintf(p->knobs, sizeof(p->knobs), "%s", knobs);
	}
	return (int)presets[i].n;
}

static bool is_space(char c)
{
	return c == ' ' || c == '\t';
}

bool adopt_knob_allowed(const struct adopt_pattern *p, const char *knob)
{
	size_t klen;
	const char *s;

	/* a file name, never a path */
	if (!p || !knob || !*knob || strchr(knob, '/') || streq(knob, ".") || streq(knob, ".."))
		return false;
	klen = strlen(knob);
	s = p->knobs;
	for (size_t n = strnlen(s, sizeof(p->knobs)); n;) {
		size_t w;

		while (n && is_space(*s)) {
			s++;
			n--;
		}
		for (w = 0; w < n && !is_space(s[w]); w++)
			;
		if (w && w == klen && !memcmp(s, knob, w))
			return true;
		s += w;
		n -= w;
	}
	return false;
}
