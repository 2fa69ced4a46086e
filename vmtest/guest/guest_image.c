// SPDX-License-Identifier: Apache-2.0
/*
 * The container image of `make image` in podman (profile engines): run.sh's
 * engines archive carries the OCI archive at IMAGE_ARCHIVE. podman loads it
 * under the name its index gives (io.containerd.image.name), reads the
 * entrypoint and version label from its config, and runs
 * `cgpilotd --version` from it with crun: the binary and the libraries
 * the image brought, on this guest's kernel, print the version of the
 * cgpilotd the guest has. Then containerd imports it into the CRI plugin's
 * namespace under the name the DaemonSet gives. The host's
 * test_kubernetes.py inspects the same archive with skopeo.
 */
#include "guest.h"

#define IMAGE_ARCHIVE "/usr/share/vmtest/cgpilot-image.tar"
#define IMAGE_NAME_PREFIX "localhost/cgpilot:"

enum result engines_image_setup(struct ctx *ctx)
{
	enum result res = needs_engines(ctx);

	if (res != RES_PASS)
		return res;
	if (access(CRUN, X_OK) < 0)
		return skip(ctx, "no %s in the guest", CRUN);
	if (access(IMAGE_ARCHIVE, R_OK) < 0)
		return skip(ctx, "no %s in the guest (make image before vmtest/run.sh)",
			    IMAGE_ARCHIVE);
	return RES_PASS;
}

/* The version the guest's own cgpilotd prints (its second word). */
static enum result guest_version(struct ctx *ctx, char buf[64])
{
	char *argv[] = { CGPILOTD, "--version", NULL };
	char out[256];
	int st = 0;

	if (run_capture(argv, out, sizeof(out), 10000, &st) < 0 || !WIFEXITED(st) ||
	    WEXITSTATUS(st) != 0 || sscanf(out, "cgpilotd %63s", buf) != 1)
		return fail(ctx, "%s --version failed: %.100s", CGPILOTD, out);
	return RES_PASS;
}

/*
 * docs/kubernetes.md's way onto a node without a registry: containerd's
 * import (the CRI plugin's namespace k8s.io) names the image as the
 * DaemonSet does. Not unpacked: the guest has no overlay snapshotter.
 */
static enum result containerd_import(struct ctx *ctx, const char *name, double load_s, double run_s,
				     const char *version)
{
	static struct engine_out o;
	enum result res = containerd_start(ctx);
	double import_s;
	int r;

	if (res != RES_PASS)
		return res;
	r = ctr(ctx, &o,
		(const char *const[]){ "--namespace", "k8s.io", "images", "import", "--no-unpack",
				       IMAGE_ARCHIVE, NULL });
	res = engine_expect(ctx, r, &o, 0, "ctr images import");
	if (res != RES_PASS)
		return res;
	import_s = o.secs;
	r = ctr(ctx, &o,
		(const char *const[]){ "--namespace", "k8s.io", "images", "ls", "-q", NULL });
	res = engine_expect(ctx, r, &o, 0, "ctr images ls");
	if (res != RES_PASS)
		return res;
	if (!has_line(o.out, name))
		return fail(ctx, "containerd imported no %s: %.300s", name, o.out);
	res = containerd_stop(ctx);
	if (res != RES_PASS)
		return res;
	return verdict(ctx, RES_PASS,
		       "podman load %.2f s, run --version %.2f s: cgpilotd %s; ctr import %.2f s",
		       load_s, run_s, version, import_s);
}

enum result engines_image_run(struct ctx *ctx)
{
	static struct engine_out o;
	char version[64], name[128], want[160], *p;
	double load_s, run_s;
	enum result res;
	int r;

	res = guest_version(ctx, version);
	if (res != RES_PASS)
		return res;
	r = podman(ctx, CRUN, &o, (const char *const[]){ "load", "-i", IMAGE_ARCHIVE, NULL });
	res = engine_expect(ctx, r, &o, 0, "podman load");
	if (res != RES_PASS)
		return res;
	load_s = o.secs;
	/* "Loaded image: NAME" (podman 4.3), "Loaded image(s): NAME" elsewhere */
	p = strstr(o.out, IMAGE_NAME_PREFIX);
	if (!p || sscanf(p, "%127s", name) != 1)
		return fail(ctx, "podman load named no %s image: %.200s", IMAGE_NAME_PREFIX, o.out);
	snprintf(want, sizeof(want), IMAGE_NAME_PREFIX "%s", version);
	if (!streq(name, want))
		return fail(ctx, "the image is %s, want %s (the guest's cgpilotd)", name, want);

	r = podman(ctx, CRUN, &o,
		   (const char *const[]){ "image", "inspect", "--format",
					  "{{json .Config.Entrypoint}} "
					  "{{index .Labels \"org.opencontainers.image.version\"}}",
					  name, NULL });
	res = engine_expect(ctx, r, &o, 0, "podman image inspect");
	if (res != RES_PASS)
		return res;
	snprintf(want, sizeof(want), "[\"/usr/sbin/cgpilotd\"] %s", version);
	o.out[strcspn(o.out, "\n")] = '\0';
	if (!streq(o.out, want))
		return fail(ctx, "podman image inspect: %.200s, want %s", o.out, want);

	r = podman(ctx, CRUN, &o,
		   (const char *const[]){ "run", "--rm", "--network", "none", "--cgroup-parent",
					  "/" ENGINES_CG, "--name", "vmtest-image", name,
					  "--version", NULL });
	res = engine_expect(ctx, r, &o, 0, "podman run IMAGE --version");
	if (res != RES_PASS)
		return res;
	snprintf(want, sizeof(want), "cgpilotd %s\n", version);
	if (!streq(o.out, want))
		return fail(ctx, "cgpilotd --version in the image printed %.200s, want %s", o.out,
			    want);
	run_s = o.secs;
	return containerd_import(ctx, name, load_s, run_s, version);
}
