// SPDX-License-Identifier: Apache-2.0
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cgroupfs.h"
#include "util.h"

#define CGFS_PATH_MAX 4096

/* mountinfo escapes space, tab, newline and backslash as \ooo */
static void unescape_octal(char *s)
{
	char *w = s;

	for (; *s; s++) {
		if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' && s[2] >= '0' && s[2] <= '7' &&
		    s[3] >= '0' && s[3] <= '7') {
			*w++ = (char)((s[1] - '0') * 64 + (s[2] - '0') * 8 + (s[3] - '0'));
			s += 3;
		} else {
			*w++ = *s;
		}
	}
	*w = 0;
}

int cgfs_parse_mountinfo(const char *text, char **ret_path)
{
	const char *line = text;

	while (line && *line) {
		const char *eol = strchr(line, '\n');
		size_t n = eol ? (size_t)(eol - line) : strlen(line);
		_cleanup_free_ char *l = strndup(line, n);
		char *sep, *fields[5], *save = NULL, *tok, *fstype;
		int i = 0;

		if (!l)
			return -ENOMEM;
		/* fields: id parent major:minor root mountpoint ... - fstype source opts */
		sep = strstr(l, " - ");
		if (sep) {
			*sep = 0;
			fstype = sep + 3;
			for (tok = strtok_r(l, " ", &save); tok && i < 5;
			     tok = strtok_r(NULL, " ", &save))
				fields[i++] = tok;
			if (i == 5 && strncmp(fstype, "cgroup2 ", 8) == 0) {
				char *p = strdup(fields[4]);

				if (!p)
					return -ENOMEM;
				unescape_octal(p);
				*ret_path = p;
				return 0;
			}
		}
		line = eol ? eol + 1 : NULL;
	}
	return -ENOENT;
}

int cgfs_find_v2_mount(char **ret_path)
{
	_cleanup_fclose_ FILE *f = fopen("/proc/self/mountinfo", "re");
	_cleanup_free_ char *buf = NULL;
	size_t cap = 0, len = 0, n;

	if (!f)
		return -errno;
	for (;;) {
		if (cap - len < 4096) {
			char *nb = realloc(buf, cap + 65536);

			if (!nb)
				return -ENOMEM;
			buf = nb;
			cap += 65536;
		}
		n = fread(buf + len, 1, cap - len - 1, f);
		if (!n)
			break;
		len += n;
	}
	buf[len] = 0;
	return cgfs_parse_mountinfo(buf, ret_path);
}

int cgfs_normalize_path(const char *path, char **ret_norm, const char **ret_msg)
{
	_cleanup_free_ char *out = NULL;
	const char *p = path, *msg = NULL;
	size_t len, w = 0;

	if (!path) {
		msg = "missing cgroup path";
		goto bad;
	}
	len = strlen(path);
	if (len >= CGFS_PATH_MAX) {
		msg = "cgroup path too long";
		goto bad;
	}
	/* the kernel refuses newlines in cgroup names; other bytes are valid */
	if (memchr(path, '\n', len)) {
		msg = "cgroup path contains a newline (no cgroup can have one)";
		goto bad;
	}
	out = malloc(len + 1);
	if (!out)
		return -ENOMEM;
	while (*p) {
		const char *e;
		size_t n;

		while (*p == '/')
			p++;
		if (!*p)
			break;
		e = strchrnul(p, '/');
		n = (size_t)(e - p);
		if ((n == 1 && p[0] == '.') || (n == 2 && p[0] == '.' && p[1] == '.')) {
			msg = "cgroup path may not contain '.' or '..' components";
			goto bad;
		}
		if (w)
			out[w++] = '/';
		memcpy(out + w, p, n);
		w += n;
		p = e;
	}
	out[w] = 0;
	*ret_norm = TAKE_PTR(out);
	return 0;
bad:
	if (ret_msg)
		*ret_msg = msg;
	return -EINVAL;
}

int cgfs_parse_u64(const char *s, const char **end, uint64_t *ret)
{
	uint64_t v = 0;
	const char *p = s;

	if (*p < '0' || *p > '9')
		return -EINVAL;
	for (; *p >= '0' && *p <= '9'; p++) {
		unsigned d = (unsigned)(*p - '0');

		if (v > (UINT64_MAX - d) / 10)
			return -ERANGE;
		v = v * 10 + d;
	}
	*ret = v;
	if (end)
		*end = p;
	return 0;
}

int cgfs_parse_devnum_at(const char *s, const char **end, unsigned *ret_major, unsigned *ret_minor)
{
	uint64_t ma, mi;
	const char *p;

	if (cgfs_parse_u64(s, &p, &ma) || ma > 4095 || *p != ':' ||
	    cgfs_parse_u64(p + 1, &p, &mi) || mi > 1048575)
		return -EINVAL;
	*ret_major = (unsigned)ma;
	*ret_minor = (unsigned)mi;
	if (end)
		*end = p;
	return 0;
}

int cgfs_keyed_u64(const char *text, const char *key, uint64_t *ret)
{
	size_t kl = strlen(key);
	bool colon = kl && key[kl - 1] == ':';

	for (const char *p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL) {
		const char *v;

		if (strncmp(p, key, kl) || (!colon && p[kl] != ' '))
			continue;
		v = p + kl;
		v += strspn(v, " \t");
		if (cgfs_parse_u64(v, &v, ret) || (*v && *v != '\n' && *v != ' '))
			return -EINVAL;
		return 0;
	}
	return -ENOENT;
}

int cgfs_parse_cpu_max(const char *text, uint64_t *ret_quota, uint64_t *ret_period)
{
	const char *p = text;
	uint64_t q, per = 0;

	if (!strncmp(p, "max", 3)) {
		q = UINT64_MAX;
		p += 3;
	} else if (cgfs_parse_u64(p, &p, &q)) {
		return -EINVAL;
	}
	if (*p == ' ' && (cgfs_parse_u64(p + 1, &p, &per) || !per))
		return -EINVAL;
	if (*p && strcmp(p, "\n"))
		return -EINVAL;
	*ret_quota = q;
	*ret_period = per;
	return 0;
}

static int parse_total(const char *line, uint64_t *ret)
{
	size_t n = strcspn(line, "\n");
	const char *t = memmem(line, n, "total=", 6);

	return t && !cgfs_parse_u64(t + 6, NULL, ret) ? 0 : -EINVAL;
}

int cgfs_parse_psi(const char *text, struct psi_totals *ret)
{
	struct psi_totals r = { 0 };
	const char *some = strstr(text, "some ");
	const char *full = strstr(text, "full ");

	if (!some || some != text || parse_total(some, &r.some_us))
		return -EINVAL;
	if (full) {
		if (parse_total(full, &r.full_us))
			return -EINVAL;
		r.has_full = true;
	}
	*ret = r;
	return 0;
}

int cgfs_parse_cpu_usage(const char *text, uint64_t *ret_usec)
{
	return cgfs_keyed_u64(text, "usage_usec", ret_usec);
}

int cgfs_parse_io_stat(const char *text, struct io_stat_totals *ret)
{
	static const char *const keys[] = { "rbytes=", "wbytes=", "rios=", "wios=" };
	struct io_stat_totals t = { 0 };
	uint64_t *sums[] = { &t.rbytes, &t.wbytes, &t.rios, &t.wios };
	const char *p = text;

	while (*p) {
		const char *eol = strchr(p, '\n'), *w0;
		unsigned maj, min;

		if (!eol)
			eol = p + strlen(p);
		if (eol == p) {
			p++;
			continue;
		}
		if (cgfs_parse_devnum_at(p, &w0, &maj, &min) || (*w0 != ' ' && w0 != eol))
			return -EINVAL;
		for (const char *w = w0; w < eol;) {
			w += strspn(w, " ");
			for (size_t k = 0; k < ARRAY_SIZE(keys); k++) {
				size_t kl = strlen(keys[k]);
				const char *end;
				uint64_t v;

				if (strncmp(w, keys[k], kl))
					continue;
				if (cgfs_parse_u64(w + kl, &end, &v) ||
				    (*end != ' ' && *end != '\n' && *end))
					return -EINVAL;
				*sums[k] += v;
			}
			w = memchr(w, ' ', (size_t)(eol - w)) ?: eol;
		}
		p = *eol ? eol + 1 : eol;
	}
	*ret = t;
	return 0;
}

const char *const cgfs_controller_names[] = { "cpu", "cpuset", "memory", "io", "pids", "hugetlb" };
const unsigned cgfs_controller_bits[] = { CGFS_CPU, CGFS_CPUSET, CGFS_MEMORY,
					  CGFS_IO,  CGFS_PIDS,	 CGFS_HUGETLB };
const unsigned cgfs_n_controllers = ARRAY_SIZE(cgfs_controller_names);

unsigned cgfs_parse_controllers(const char *text)
{
	unsigned mask = 0;
	const char *p = text;

	while (*p) {
		size_t n;

		while (*p == ' ' || *p == '\n' || *p == '\t')
			p++;
		n = strcspn(p, " \n\t");
		for (unsigned i = 0; i < cgfs_n_controllers; i++)
			if (n && strlen(cgfs_controller_names[i]) == n &&
			    !strncmp(p, cgfs_controller_names[i], n))
				mask |= cgfs_controller_bits[i];
		p += n;
	}
	return mask;
}

void cgfs_controllers_str(unsigned mask, char *buf, size_t len)
{
	size_t w = 0;

	if (!len)
		return;
	buf[0] = 0;
	for (unsigned i = 0; i < cgfs_n_controllers; i++) {
		if (!(mask & cgfs_controller_bits[i]))
			continue;
		w += (size_t)snprintf(buf + w, w < len ? len - w : 0, "%s%s", w ? " " : "",
				      cgfs_controller_names[i]);
		if (w >= len) {
			buf[len - 1] = 0;
			return;
		}
	}
}

int cgfs_read_at(int dirfd, const char *name, char *buf, size_t len)
{
	_cleanup_close_ int fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = read(fd, buf, len - 1);
	if (n < 0)
		return -errno;
	buf[n] = 0;
	return (int)n;
}

size_t cgfs_utf8_seq_len(const unsigned char *s)
{
	unsigned c = s[0];
	size_t n;
	unsigned cp, min;

	if (c < 0x80)
		return c ? 1 : 0;
	if ((c & 0xe0) == 0xc0) {
		n = 2;
		cp = c & 0x1f;
		min = 0x80;
	} else if ((c & 0xf0) == 0xe0) {
		n = 3;
		cp = c & 0x0f;
		min = 0x800;
	} else if ((c & 0xf8) == 0xf0) {
		n = 4;
		cp = c & 0x07;
		min = 0x10000;
	} else {
		return 0;
	}
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0; /* the NUL terminator stops here too */
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	/* overlong forms, UTF-16 surrogates and beyond U+10FFFF are not UTF-8 */
	if (cp < min || (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
		return 0;
	return n;
}

/* Bytes of raw at p to pass through unchanged (0: encode the byte at p). */
static size_t display_keep(const unsigned char *p)
{
	if (*p == '%' || *p < 0x20 || *p == 0x7f)
		return 0;
	return cgfs_utf8_seq_len(p);
}

int cgfs_display_path(const char *raw, char **ret)
{
	static const char hex[] = "0123456789ABCDEF";
	const unsigned char *p = (const unsigned char *)raw;
	size_t need = 0, n;
	bool plain = true;
	char *out, *w;

	for (; *p; p += n ? n : 1) {
		n = display_keep(p);
		need += n ? n : 3;
		plain &= n != 0;
	}
	*ret = NULL;
	if (plain)
		return 0;
	out = malloc(need + 1);
	if (!out)
		return -ENOMEM;
	w = out;
	for (p = (const unsigned char *)raw; *p; p += n ? n : 1) {
		n = display_keep(p);
		if (n) {
			memcpy(w, p, n);
			w += n;
		} else {
			*w++ = '%';
			*w++ = hex[*p >> 4];
			*w++ = hex[*p & 15];
		}
	}
	*w = 0;
	*ret = out;
	return 1;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

bool cgfs_path_below(const char *root, const char *path)
{
	size_t n = strlen(root);

	return n && !strncmp(root, path, n) && (path[n] == '/' || !path[n]);
}

bool cgfs_path_strictly_below(const char *root, const char *path)
{
	size_t n = strlen(root);

	return n && !strncmp(root, path, n) && path[n] == '/' && path[n + 1];
}

const char *cgfs_below_mount(const char *mount, const char *norm)
{
	const char *m = mount, *p = norm;

	/* component by component, so that "//sys/fs//cgroup/" is /sys/fs/cgroup */
	for (;;) {
		size_t n;

		while (*m == '/')
			m++;
		if (!*m)
			break;
		n = strcspn(m, "/");
		if (strncmp(m, p, n) || (p[n] && p[n] != '/'))
			return NULL;
		m += n;
		p += n;
		while (*p == '/')
			p++;
	}
	/* a mount of no component ("/") strips nothing */
	return p == norm ? NULL : p;
}

int cgfs_decode_display(const char *display, char **ret)
{
	const char *p = display;
	char *out, *w;

	*ret = NULL;
	if (!strchr(display, '%'))
		return 0;
	out = malloc(strlen(display) + 1);
	if (!out)
		return -ENOMEM;
	for (w = out; *p;) {
		int hi, lo;

		if (p[0] == '%' && (hi = hexval(p[1])) >= 0 && (lo = hexval(p[2])) >= 0) {
			if (!hi && !lo) {
				free(out);
				return -EINVAL;
			}
			*w++ = (char)(hi << 4 | lo);
			p += 3;
		} else {
			*w++ = *p++;
		}
	}
	*w = 0;
	*ret = out;
	return 1;
}

/* cgroupfs (kernfs) handles: type FILEID_KERNFS, 8 bytes, the node id */
#define CGFS_FILEID_KERNFS 0xfe

int cgfs_open_by_id(int mount_fd, uint64_t id, int flags)
{
	struct {
		struct file_handle fh;
		uint64_t id;
	} h = { .fh = { .handle_bytes = sizeof(uint64_t), .handle_type = CGFS_FILEID_KERNFS } };
	int fd;

	memcpy(h.fh.f_handle, &id, sizeof(id));
	fd = open_by_handle_at(mount_fd, &h.fh, flags | O_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

int cgfs_path_of_fd(int fd, const char *mount_path, char **ret_rel)
{
	char link[64], buf[CGFS_PATH_MAX + 256];
	size_t ml = strlen(mount_path);
	const char *rel;
	ssize_t n;

	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	n = readlink(link, buf, sizeof(buf) - 1);
	if (n < 0)
		return -errno;
	if ((size_t)n >= sizeof(buf) - 1)
		return -ENAMETOOLONG;
	buf[n] = 0;
	while (ml > 1 && mount_path[ml - 1] == '/')
		ml--;
	if (strncmp(buf, mount_path, ml) || (buf[ml] && buf[ml] != '/'))
		return -EXDEV;
	rel = buf + ml;
	while (*rel == '/')
		rel++;
	*ret_rel = strdup(rel);
	return *ret_rel ? 0 : -ENOMEM;
}
