// SPDX-License-Identifier: Apache-2.0
/* A bundle's linux.devices and linux.resources.devices, parsed (oci_devices.h). */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "oci.h"
#include "oci_devices.h"
#include "util.h"

static int dfail(char *err, size_t errlen, const char *where, size_t i, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));
static int dfail(char *err, size_t errlen, const char *where, size_t i, const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	snprintf(err, errlen, "%s[%zu]%s", where, i, msg);
	return -EINVAL;
}

static json_object *array_of(const char *json, size_t len, const char *where, char *err,
			     size_t errlen)
{
	struct json_tokener *tok = json_tokener_new_ex(16);
	json_object *o;

	if (!tok)
		return NULL;
	o = json_tokener_parse_ex(tok, json, (int)len);
	json_tokener_free(tok);
	if (!o || !json_object_is_type(o, json_type_array) ||
	    json_object_array_length(o) > OCI_ARRAY_MAX) {
		json_object_put(o);
		snprintf(err, errlen, "%s: must be an array of at most %d entries", where,
			 OCI_ARRAY_MAX);
		return NULL;
	}
	return o;
}

/* major or minor: a number 0..2^32-1, or -1 / absent for any */
static int dev_number(json_object *e, const char *key, bool wildcard, int64_t *ret)
{
	json_object *v;
	int64_t x;

	*ret = -1;
	if (!json_object_object_get_ex(e, key, &v) || json_object_is_type(v, json_type_null))
		return wildcard ? 0 : -EINVAL;
	if (!json_object_is_type(v, json_type_int))
		return -EINVAL;
	x = json_object_get_int64(v);
	if (x < (wildcard ? -1 : 0) || x > UINT32_MAX)
		return -EINVAL;
	*ret = x;
	return 0;
}

int oci_devrules_parse(const char *json, size_t len, struct oci_devrule **ret, size_t *ret_n,
		       char *err, size_t errlen)
{
	static const char where[] = "linux.resources.devices";
	json_object *a = array_of(json, len, where, err, errlen);
	struct oci_devrule *r;
	size_t n;

	*ret = NULL;
	*ret_n = 0;
	if (!a)
		return -EINVAL;
	n = json_object_array_length(a);
	r = calloc(n + 1, sizeof(*r));
	if (!r) {
		json_object_put(a);
		return -ENOMEM;
	}
	for (size_t i = 0; i < n; i++) {
		json_object *e = json_object_array_get_idx(a, i), *v;
		const char *t = "a", *acc = "rwm";

		if (!json_object_is_type(e, json_type_object))
			goto bad_obj;
		json_object_object_foreach(e, key, val)
		{
			(void)val;
			if (!streq(key, "allow") && !streq(key, "type") && !streq(key, "major") &&
			    !streq(key, "minor") && !streq(key, "access")) {
				dfail(err, errlen, where, i, ".%s: unknown field", key);
				goto fail;
			}
		}
		if (!json_object_object_get_ex(e, "allow", &v) ||
		    !json_object_is_type(v, json_type_boolean)) {
			dfail(err, errlen, where, i, ".allow: must be true or false");
			goto fail;
		}
		r[i].allow = json_object_get_boolean(v);
		if (json_object_object_get_ex(e, "type", &v) &&
		    !json_object_is_type(v, json_type_null))
			t = json_object_is_type(v, json_type_string) ? json_object_get_string(v) :
								       "";
		if (strlen(t) != 1 || !strchr("acb", t[0])) {
			dfail(err, errlen, where, i, ".type: '%.20s' is not a, c or b", t);
			goto fail;
		}
		r[i].type = t[0];
		if (dev_number(e, "major", true, &r[i].major) ||
		    dev_number(e, "minor", true, &r[i].minor)) {
			dfail(err, errlen, where, i, ": major and minor are -1 or 0..4294967295");
			goto fail;
		}
		if (json_object_object_get_ex(e, "access", &v) &&
		    !json_object_is_type(v, json_type_null))
			acc = json_object_is_type(v, json_type_string) ? json_object_get_string(v) :
									 "?";
		for (const char *p = acc; *p; p++) {
			unsigned bit = *p == 'r' ? OCI_DEV_READ :
				       *p == 'w' ? OCI_DEV_WRITE :
				       *p == 'm' ? OCI_DEV_MKNOD :
						   0;

			if (!bit) {
				dfail(err, errlen, where, i, ".access: '%.20s' is not of r, w, m",
				      acc);
				goto fail;
			}
			r[i].access |= bit;
		}
		if (!acc[0])
			r[i].access = OCI_DEV_READ | OCI_DEV_WRITE | OCI_DEV_MKNOD;
		continue;
bad_obj:
		dfail(err, errlen, where, i, ": must be an object");
		goto fail;
	}
	json_object_put(a);
	*ret = r;
	*ret_n = n;
	return 0;
fail:
	json_object_put(a);
	free(r);
	return -EINVAL;
}

int oci_devices_parse(const char *json, size_t len, struct oci_device **ret, size_t *ret_n,
		      char *err, size_t errlen)
{
	static const char where[] = "linux.devices";
	json_object *a = array_of(json, len, where, err, errlen);
	struct oci_device *d;
	size_t n;

	*ret = NULL;
	*ret_n = 0;
	if (!a)
		return -EINVAL;
	n = json_object_array_length(a);
	d = calloc(n + 1, sizeof(*d));
	if (!d) {
		json_object_put(a);
		return -ENOMEM;
	}
	for (size_t i = 0; i < n; i++) {
		json_object *e = json_object_array_get_idx(a, i), *v;
		const char *t, *p;
		int64_t x;

		if (!json_object_is_type(e, json_type_object)) {
			dfail(err, errlen, where, i, ": must be an object");
			goto fail;
		}
		json_object_object_foreach(e, key, val)
		{
			(void)val;
			if (!streq(key, "path") && !streq(key, "type") && !streq(key, "major") &&
			    !streq(key, "minor") && !streq(key, "fileMode") && !streq(key, "uid") &&
			    !streq(key, "gid")) {
				dfail(err, errlen, where, i, ".%s: unknown field", key);
				goto fail;
			}
		}
		if (!json_object_object_get_ex(e, "path", &v) ||
		    !json_object_is_type(v, json_type_string) ||
		    (p = json_object_get_string(v))[0] != '/' || strstr(p, "/../") ||
		    strlen(p) >= 4096 || (strlen(p) >= 3 && streq(p + strlen(p) - 3, "/.."))) {
			dfail(err, errlen, where, i, ".path: must be an absolute path without ..");
			goto fail;
		}
		d[i].path = strdup(p);
		if (!d[i].path)
			goto fail;
		t = json_object_object_get_ex(e, "type", &v) &&
				    json_object_is_type(v, json_type_string) ?
			    json_object_get_string(v) :
			    "";
		if (strlen(t) != 1 || !strchr("cubp", t[0])) {
			dfail(err, errlen, where, i, ".type: '%.20s' is not c, u, b or p", t);
			goto fail;
		}
		d[i].type = t[0] == 'u' ? 'c' : t[0];
		if (d[i].type != 'p' && (dev_number(e, "major", false, &d[i].major) ||
					 dev_number(e, "minor", false, &d[i].minor))) {
			dfail(err, errlen, where, i, ": major and minor are 0..4294967295");
			goto fail;
		}
		d[i].mode = 0666;
		if (json_object_object_get_ex(e, "fileMode", &v) &&
		    !json_object_is_type(v, json_type_null)) {
			x = json_object_is_type(v, json_type_int) ? json_object_get_int64(v) : -1;
			if (x < 0 || x > 07777) {
				dfail(err, errlen, where, i, ".fileMode: not a mode (0..07777)");
				goto fail;
			}
			d[i].mode = (uint32_t)x & 07777;
		}
		for (int k = 0; k < 2; k++) {
			const char *key = k ? "gid" : "uid";

			if (json_object_object_get_ex(e, key, &v) &&
			    !json_object_is_type(v, json_type_null)) {
				x = json_object_is_type(v, json_type_int) ?
					    json_object_get_int64(v) :
					    -1;
				if (x < 0 || x > UINT32_MAX) {
					dfail(err, errlen, where, i, ".%s: not an id", key);
					goto fail;
				}
				*(k ? &d[i].gid : &d[i].uid) = (uint32_t)x;
			}
		}
	}
	json_object_put(a);
	*ret = d;
	*ret_n = n;
	return 0;
fail:
	json_object_put(a);
	oci_devices_free(d, n);
	return -EINVAL;
}

void oci_devices_free(struct oci_device *d, size_t n)
{
	for (size_t i = 0; d && i < n; i++)
		free(d[i].path);
	free(d);
}
