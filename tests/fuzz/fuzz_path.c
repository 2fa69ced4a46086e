// SPDX-License-Identifier: Apache-2.0
/* libFuzzer: the cgroup path resolver: a user's path normalised, made
 * relative to the mount, checked against a root; the display form's round
 * trip; the adoption patterns matched against it. The input is a path, or
 * "root\0path" for the below-root checks. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cgroupfs.h"
#include "policy/adopt.h"

/* The reference: component by component. */
static bool below_ref(const char *root, const char *path)
{
	size_t n = strlen(root);

	if (!n)
		return false;
	if (strncmp(root, path, n))
		return false;
	return path[n] == 0 || path[n] == '/';
}

static void check_norm(const char *norm)
{
	size_t n = strlen(norm);

	if (n && (norm[0] == '/' || norm[n - 1] == '/'))
		abort();
	if (strstr(norm, "//") || strchr(norm, '\n'))
		abort();
	for (const char *c = norm; *c;) {
		size_t l = strcspn(c, "/");

		if (!l || (l == 1 && c[0] == '.') || (l == 2 && c[0] == '.' && c[1] == '.'))
			abort(); /* no empty, "." or ".." component */
		c += l;
		if (*c)
			c++;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct adopt_pattern pats[16];
	static int npats = -1;
	char *text = malloc(size + 1), *norm = NULL, *disp = NULL, *back = NULL;
	const char *path, *msg = NULL, *below;
	struct adopt_match m;
	size_t rootlen;
	int r;

	if (!text)
		return 0;
	if (npats < 0) {
		int a = adopt_preset("kubelet-systemd", "cpu.weight", pats, 16);
		int b = adopt_preset("kubelet-cgroupfs", NULL, pats + a, 16 - (unsigned)a);
		int c = adopt_preset("mesos", NULL, pats + a + b, 16 - (unsigned)(a + b));

		npats = a + b + c;
	}
	memcpy(text, data, size);
	text[size] = 0;
	rootlen = strlen(text);
	path = rootlen < size ? text + rootlen + 1 : text;
	r = cgfs_normalize_path(path, &norm, &msg);
	if (r) {
		if (r != -EINVAL || !msg || norm)
			abort(); /* refused with a reason, nothing returned */
		goto out;
	}
	check_norm(norm);
	/* the same path given under the mount: the part below it is the path */
	below = cgfs_below_mount("/sys/fs/cgroup", norm);
	if (below) {
		char *again = NULL;

		if (cgfs_normalize_path(below, &again, NULL))
			abort();
		check_norm(again);
		free(again);
	}
	if (path != text) {
		char *root = NULL;

		if (!cgfs_normalize_path(text, &root, NULL)) {
			if (cgfs_path_below(root, norm) != below_ref(root, norm))
				abort();
			if (cgfs_path_strictly_below(root, norm) &&
			    (!cgfs_path_below(root, norm) || !strcmp(root, norm)))
				abort();
			free(root);
		}
	}
	/* the display form decodes to the same bytes */
	r = cgfs_display_path(norm, &disp);
	if (r < 0)
		goto out;
	if (disp) {
		if (cgfs_decode_display(disp, &back) < 0 || !back || strcmp(back, norm))
			abort();
	}
	if (adopt_match(pats, (unsigned)npats, norm, &m) &&
	    (!m.pattern || m.ncaptures > ADOPT_MAX_CAPTURES))
		abort();
out:
	free(norm);
	free(disp);
	free(back);
	free(text);
	return 0;
}
