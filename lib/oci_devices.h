/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A bundle's devices (pure; lib/oci_devices.c): linux.devices, the nodes
 * the runtime makes in the container's /dev, and linux.resources.devices,
 * the rules of the device cgroup program cgpilot-run attaches
 * (tools/run/devices.c). Every field read, or refused by its path.
 */
#ifndef CGPILOT_OCI_DEVICES_H
#define CGPILOT_OCI_DEVICES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* access bits, as the kernel's BPF_DEVCG_ACC_* */
#define OCI_DEV_MKNOD 1u
#define OCI_DEV_READ 2u
#define OCI_DEV_WRITE 4u

struct oci_devrule {
	bool allow;
	char type; /* 'a' (any), 'c', 'b' */
	int64_t major, minor; /* -1: any */
	unsigned access; /* OCI_DEV_* */
};

struct oci_device {
	char *path; /* absolute, in the container */
	char type; /* 'c' ('u' too), 'b', 'p' */
	int64_t major, minor;
	uint32_t mode; /* fileMode's permission bits, default 0666 */
	uint32_t uid, gid;
};

/* linux.resources.devices (JSON text of the array) into *ret (caller frees). */
int oci_devrules_parse(const char *json, size_t len, struct oci_devrule **ret, size_t *ret_n,
		       char *err, size_t errlen);
/* linux.devices (JSON text of the array); free with oci_devices_free. */
int oci_devices_parse(const char *json, size_t len, struct oci_device **ret, size_t *ret_n,
		      char *err, size_t errlen);
void oci_devices_free(struct oci_device *d, size_t n);

#endif
