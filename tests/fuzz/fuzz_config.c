// SPDX-License-Identifier: Apache-2.0
/* libFuzzer: cgp_conf_parse_string on arbitrary bytes, then validate and dump. */
#include <ctype.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"

static void check_error(const char *err, size_t len)
{
	static const char prefix[] = "fuzz.conf:";
	const char *p = err + sizeof(prefix) - 1;

	/* always terminated, always "NAME:LINE: message" */
	if (!memchr(err, 0, len) || strncmp(err, prefix, sizeof(prefix) - 1) ||
	    !isdigit((unsigned char)*p))
		abort();
	while (isdigit((unsigned char)*p))
		p++;
	if (p[0] != ':' || p[1] != ' ')
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cgp_conf c;
	char err[512], verr[512];
	char *text = malloc(size + 1), *dump = NULL;
	size_t dlen = 0;
	FILE *f;
	int r;

	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = 0;
	cgp_conf_defaults(&c);
	memset(err, 'Z', sizeof(err));
	r = cgp_conf_parse_string(&c, text, "fuzz.conf", err, sizeof(err));
	if (r) {
		if (r != -EINVAL)
			abort();
		check_error(err, sizeof(err));
	} else {
		/* every numeric value inside its documented range */
		/* max_cgroups: 0 is auto */
		if (c.window_ms < 10 || c.window_ms > 60000 ||
		    (c.max_cgroups && c.max_cgroups < 64) || c.max_cgroups > 1048576 ||
		    c.sample_interval_ms < 50 || c.sample_interval_ms > 60000 ||
		    c.psi_sweep_s < 1 || c.psi_sweep_s > 3600 || c.log_level < 0 || c.log_level > 3)
			abort();
		r = cgp_conf_validate(&c, verr, sizeof(verr));
		if (r && (r != -EINVAL || !memchr(verr, 0, sizeof(verr))))
			abort();
		f = open_memstream(&dump, &dlen);
		if (f) {
			cgp_conf_dump(&c, f);
			fclose(f);
			free(dump);
		}
	}
	free(text);
	return 0;
}
