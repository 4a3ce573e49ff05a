/*
 * tsnet-init — the container options that are kernel settings of its processes rather than
 * mounts: rlimits (HostConfig.Ulimits), namespaced sysctls (HostConfig.Sysctls), and the cgroup
 * file system shown at /sys/fs/cgroup. Used by the child (child.c); parsing by tsnet-init.c.
 */
#define _GNU_SOURCE
#include "tsnet-init.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/statfs.h>
#include <limits.h>
#include <unistd.h>

/* ------------------------------------------------------------------ rlimits */

/* Docker's names (github.com/docker/go-units ulimit.go) */
static const struct {
	const char *name;
	int resource;
} rlimit_names[] = {
	{ "as", RLIMIT_AS },	     { "core", RLIMIT_CORE },	    { "cpu", RLIMIT_CPU },
	{ "data", RLIMIT_DATA },     { "fsize", RLIMIT_FSIZE },	    { "locks", RLIMIT_LOCKS },
	{ "memlock", RLIMIT_MEMLOCK }, { "msgqueue", RLIMIT_MSGQUEUE }, { "nice", RLIMIT_NICE },
	{ "nofile", RLIMIT_NOFILE }, { "nproc", RLIMIT_NPROC },	    { "rss", RLIMIT_RSS },
	{ "rtprio", RLIMIT_RTPRIO }, { "rttime", RLIMIT_RTTIME },   { "sigpending", RLIMIT_SIGPENDING },
	{ "stack", RLIMIT_STACK },
};
#define NRLIMIT_NAMES ((int)(sizeof rlimit_names / sizeof rlimit_names[0]))

static const char *rlimit_name(int resource)
{
	for (int i = 0; i < NRLIMIT_NAMES; i++)
		if (rlimit_names[i].resource == resource)
			return rlimit_names[i].name;
	return "?";
}

static int parse_rlim_value(const char *v, uint64_t *out)
{
	if (!strcmp(v, "unlimited")) {
		*out = RLIM_INFINITY;
		return 0;
	}
	if (!*v || strspn(v, "0123456789") != strlen(v) || strlen(v) > 20)
		return -1;
	errno = 0;
	unsigned long long n = strtoull(v, NULL, 10);
	if (errno)
		return -1;
	*out = n;
	return 0;
}

/* "<name> <soft> <hard>", values decimal or "unlimited"; soft <= hard */
int parse_rlimit(char *v, struct rlim *out)
{
	char *soft = strchr(v, ' ');
	if (!soft)
		return -1;
	*soft++ = 0;
	char *hard = strchr(soft, ' ');
	if (!hard)
		return -1;
	*hard++ = 0;
	out->resource = -1;
	for (int i = 0; i < NRLIMIT_NAMES; i++)
		if (!strcmp(v, rlimit_names[i].name))
			out->resource = rlimit_names[i].resource;
	if (out->resource < 0 || parse_rlim_value(soft, &out->soft) < 0 || parse_rlim_value(hard, &out->hard) < 0 ||
	    out->soft > out->hard)
		return -1;
	return 0;
}

static void fmt_rlim(char *buf, size_t len, uint64_t v)
{
	if (v == RLIM_INFINITY)
		snprintf(buf, len, "unlimited");
	else
		snprintf(buf, len, "%llu", (unsigned long long)v);
}

/* /proc/self/oom_score_adj (lowering it below the daemon's needs CAP_SYS_RESOURCE) */
static int apply_oom_score_adj(const struct spec *s, char *err, size_t errlen)
{
	if (!s->oom_score_adj_given)
		return 0;
	char v[16];
	int n = snprintf(v, sizeof v, "%d", s->oom_score_adj);
	int fd = open("/proc/self/oom_score_adj", O_WRONLY | O_CLOEXEC);
	ssize_t w = fd < 0 ? -1 : write(fd, v, (size_t)n);
	int e = errno;
	if (fd >= 0)
		close(fd);
	if (w != n) {
		snprintf(err, errlen, "set oom_score_adj %d: %s%s", s->oom_score_adj, strerror(e),
			 e == EACCES ? " (lowering it needs CAP_SYS_RESOURCE, which the daemon does not have)" : "");
		return -1;
	}
	return 0;
}

int apply_rlimits(const struct spec *s, char *err, size_t errlen)
{
	if (apply_oom_score_adj(s, err, errlen) < 0)
		return -1;
	for (int i = 0; i < s->nrlimits; i++) {
		const struct rlim *r = &s->rlimits[i];
		struct rlimit rl = { .rlim_cur = r->soft, .rlim_max = r->hard };
		if (setrlimit(r->resource, &rl) < 0) {
			int e = errno;
			char a[24], b[24];
			fmt_rlim(a, sizeof a, r->soft);
			fmt_rlim(b, sizeof b, r->hard);
			snprintf(err, errlen, "set ulimit %s=%s:%s: %s%s", rlimit_name(r->resource), a, b, strerror(e),
				 e == EPERM ? " (a hard limit can only be raised up to the daemon's own)" : "");
			return -1;
		}
	}
	return 0;
}

/* ------------------------------------------------------------------ sysctls */

/* kernel.* sysctls of the IPC namespace (runc's list plus the *_next_id ones) */
static const char *const ipc_sysctls[] = {
	"kernel.msgmax", "kernel.msgmnb",  "kernel.msgmni",	    "kernel.msg_next_id", "kernel.sem",
	"kernel.sem_next_id", "kernel.shmall", "kernel.shmmax", "kernel.shmmni", "kernel.shm_next_id",
	"kernel.shm_rmid_forced",
};

/*
 * A dotted key of a namespaced sysctl: net.* (network namespace), the IPC ones above and
 * fs.mqueue.* (IPC namespace). Components are [A-Za-z0-9_-]: no '/', no "..", nothing empty.
 * The daemon refuses the rest at create with a clearer message; this is the last line.
 */
int check_sysctl(const char *key)
{
	size_t n = strlen(key);
	if (n == 0 || n > 255 || key[0] == '.' || key[n - 1] == '.' || strstr(key, ".."))
		return -1;
	if (strspn(key, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-.") != n)
		return -1;
	if (!strncmp(key, "net.", 4) || !strncmp(key, "fs.mqueue.", 10))
		return 0;
	for (size_t i = 0; i < sizeof ipc_sysctls / sizeof ipc_sysctls[0]; i++)
		if (!strcmp(key, ipc_sysctls[i]))
			return 0;
	return -1;
}

/*
 * Written through the host's /proc/sys before the container's mounts: /proc/sys/net resolves
 * against the network namespace of the writing task (the container's: the supervisor joined it),
 * the IPC ones against its IPC namespace (the supervisor unshared it). Opened beneath /proc/sys
 * with no symlinks and no other mount.
 */
int write_sysctls(const struct spec *s, char *err, size_t errlen)
{
	if (s->nsysctls == 0)
		return 0;
	int dir = open("/proc/sys", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (dir < 0) {
		snprintf(err, errlen, "open /proc/sys: %s", strerror(errno));
		return -1;
	}
	for (int i = 0; i < s->nsysctls; i++) {
		const struct sysctl_kv *kv = &s->sysctls[i];
		char path[256];
		snprintf(path, sizeof path, "%s", kv->key);
		for (char *p = path; *p; p++)
			if (*p == '.')
				*p = '/';
		struct open_how how = {
			.flags = O_WRONLY | O_CLOEXEC,
			.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV,
		};
		int fd = (int)syscall(SYS_openat2, dir, path, &how, sizeof how);
		size_t len = strlen(kv->value);
		ssize_t w = fd < 0 ? -1 : write(fd, kv->value, len);
		int e = errno;
		if (fd >= 0)
			close(fd);
		if (w < 0 || (size_t)w != len) {
			snprintf(err, errlen, "write sysctl %s=%.64s: %s", kv->key, kv->value,
				 w < 0 ? strerror(e) : "short write");
			close(dir);
			return -1;
		}
	}
	close(dir);
	return 0;
}

/* ------------------------------------------------------------------ /sys/fs/cgroup */

struct cgmount {
	dev_t dev;
	char name[128];    /* the host mount point's last component ("" = /sys/fs/cgroup itself);
			    * v1: the hierarchy's controllers, its mount options */
	char type[8];      /* cgroup | cgroup2 */
};

#ifndef CGROUP_SUPER_MAGIC
#define CGROUP_SUPER_MAGIC 0x27e0eb
#endif
#ifndef CGROUP2_SUPER_MAGIC
#define CGROUP2_SUPER_MAGIC 0x63677270
#endif

/*
 * The hierarchy a cgroup dir of the container is in, from the dir alone (no /proc/self/mountinfo,
 * whose size grows with the host's mounts — a netns file per sandbox among them): the layout every
 * systemd host and Docker have, `/sys/fs/cgroup` (cgroup v2) or `/sys/fs/cgroup/<name>` with v1
 * hierarchies named by their controllers ("memory", "cpu,cpuacct"; "cpu" is a symlink to it, so
 * the path is resolved first) and cgroup2 at `unified`. 0 if found.
 */
static int cgroup_mount_of(const char *dir, struct cgmount *out)
{
	static const char base[] = "/sys/fs/cgroup";
	char real[PATH_MAX];
	struct statfs sf;
	struct stat st, top;
	if (!realpath(dir, real) || strncmp(real, base, sizeof base - 1) || real[sizeof base - 1] != '/' ||
	    statfs(real, &sf) < 0 || stat(real, &st) < 0 || stat(base, &top) < 0)
		return -1;
	memset(out, 0, sizeof *out);
	out->dev = st.st_dev;
	int v2 = sf.f_type == CGROUP2_SUPER_MAGIC;
	if (!v2 && sf.f_type != CGROUP_SUPER_MAGIC)
		return -1;
	snprintf(out->type, sizeof out->type, "%s", v2 ? "cgroup2" : "cgroup");
	if (top.st_dev == st.st_dev) /* the hierarchy is mounted on /sys/fs/cgroup itself */
		return v2 ? 0 : -1;
	const char *name = real + sizeof base;
	size_t n = strcspn(name, "/");
	if (n == 0 || n >= sizeof out->name)
		return -1;
	memcpy(out->name, name, n);
	char mp[PATH_MAX];
	snprintf(mp, sizeof mp, "%s/%s", base, out->name);
	if (stat(mp, &top) < 0 || top.st_dev != st.st_dev)
		return -1;
	return 0;
}

static int cg_fail(char *err, size_t errlen, const char *what, const char *name)
{
	snprintf(err, errlen, "mount %s on /sys/fs/cgroup%s%s: %s", what, name[0] ? "/" : "", name, strerror(errno));
	return -1;
}

/*
 * /sys/fs/cgroup inside the container, as Docker shows it with a private cgroup namespace: every
 * hierarchy the container's process was placed in (its `cgroup` dirs and `cgroup_into`) mounted
 * there, read-only unless `rw` (privileged). The child has unshared its cgroup namespace after
 * being placed, so each mount's root is the container's own cgroup: `memory.limit_in_bytes` is
 * its --memory. A hierarchy it was not placed in (a v1 controller without a limit) is not shown:
 * its root would be the daemon's cgroup, with the other containers' cgroups in it.
 * cgroup v2 (unified at /sys/fs/cgroup): cgroup2 mounted on /sys/fs/cgroup. v1 / hybrid: a tmpfs
 * on /sys/fs/cgroup (mode 755, read-only at the end) holding one dir per hierarchy, named as on
 * the host ("cpu,cpuacct", "unified"), with symlinks for combined ones ("cpu"); a hierarchy that
 * cannot be mounted by its name's controllers is left out. `sysfd`: the container's /sys (O_PATH).
 */
static const char *fdpath_buf(char *buf, int fd)
{
	sprintf(buf, "/proc/self/fd/%d", fd);
	return buf;
}

int mount_cgroupfs(const struct spec *sp, int sysfd, char *err, size_t errlen)
{
	int rw = sp->privileged;
	struct cgmount m[32];
	int n = 0;
	for (int i = -1; i < sp->ncgroups && n < 32; i++) {
		const char *dir = i < 0 ? sp->cgroup_into : sp->cgroups[i];
		struct stat st;
		if (!dir || stat(dir, &st) < 0)
			continue;
		int dup = 0;
		for (int j = 0; j < n; j++)
			dup |= m[j].dev == st.st_dev;
		if (!dup && cgroup_mount_of(dir, &m[n]) == 0)
			n++;
	}
	if (n == 0)
		return 0;
	unsigned long fl = MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_RELATIME | (rw ? 0 : MS_RDONLY);
	int cg = openat(sysfd, "fs/cgroup", O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (cg < 0)
		return cg_fail(err, errlen, "cgroup", "");
	char p[64];
	for (int i = 0; i < n; i++) {
		if (m[i].name[0] == 0) { /* v2: the unified hierarchy is /sys/fs/cgroup */
			int r = mount("cgroup2", fdpath_buf(p, cg), "cgroup2", fl, NULL);
			close(cg);
			return r < 0 ? cg_fail(err, errlen, "cgroup2", "") : 0;
		}
	}
	if (mount("tmpfs", fdpath_buf(p, cg), "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_RELATIME, "mode=755") < 0) {
		int e = errno;
		close(cg);
		errno = e;
		return cg_fail(err, errlen, "tmpfs", "");
	}
	close(cg);
	int t = openat(sysfd, "fs/cgroup", O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC); /* the tmpfs */
	int dirfd = t < 0 ? -1 : openat(t, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (t < 0 || dirfd < 0)
		return cg_fail(err, errlen, "tmpfs", "");
	int rc = 0;
	for (int i = 0; i < n && rc == 0; i++) {
		int d = -1;
		if (mkdirat(dirfd, m[i].name, 0555) < 0 ||
		    (d = openat(dirfd, m[i].name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0) {
			rc = cg_fail(err, errlen, "tmpfs", m[i].name);
		} else if (mount(m[i].type, fdpath_buf(p, d), m[i].type, fl, m[i].type[6] ? NULL : m[i].name) < 0) {
			/* a hierarchy not named by its controllers (another layout than systemd's and
			 * Docker's): left out rather than failing the start for it */
			close(d);
			d = -1;
			unlinkat(dirfd, m[i].name, AT_REMOVEDIR);
			continue;
		}
		if (d >= 0)
			close(d);
		/* "cpu,cpuacct": symlinks cpu and cpuacct to it, as the host has them */
		if (rc == 0 && strchr(m[i].name, ',')) {
			char names[128];
			snprintf(names, sizeof names, "%s", m[i].name);
			for (char *save = NULL, *c = strtok_r(names, ",", &save); c; c = strtok_r(NULL, ",", &save))
				if (symlinkat(m[i].name, dirfd, c) < 0 && errno != EEXIST)
					rc = cg_fail(err, errlen, "symlink", c);
		}
	}
	if (rc == 0 && !rw) {
		struct mount_attr a = { .attr_set = MOUNT_ATTR_RDONLY };
		if (mount_setattr(t, "", AT_EMPTY_PATH, &a, sizeof a) < 0)
			rc = cg_fail(err, errlen, "read-only tmpfs", "");
	}
	close(dirfd);
	close(t);
	return rc;
}
