/*
 * tsnet-init — the container side (the forked child).
 *
 * run:  PID 1 of the new pid namespace. unshare(mnt, cgroup) → mounts → pivot_root →
 *       masks → hostname → user, caps, no_new_privs → "R" → wait "G" → execve.
 * exec: setns(cgroup, mnt) of the target → user, caps, no_new_privs → "R" → "G" → execve.
 *
 * Every path inside the rootfs is resolved with openat2(RESOLVE_IN_ROOT), so symlinks in an
 * image can never make us create or mount anything outside the rootfs, and mounts are made
 * on /proc/self/fd/<n> of those fds (as runc does).
 *
 * Failures are sent to the supervisor as "E<code> <message>" on the control socket and the
 * child exits with <code>.
 */
#define _GNU_SOURCE
#include "tsnet-init.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <linux/capability.h>
#include <linux/openat2.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

static struct child_ctx *C;
/* "go" came: the daemon reads our errors on C->startfd (the supervisor no longer writes there) */
static int after_go;

static void fail(int code, const char *fmt, ...) __attribute__((noreturn, format(printf, 2, 3)));
static void fail(int code, const char *fmt, ...)
{
	char msg[1024];
	int n = snprintf(msg, sizeof msg, "E%d ", code);
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg + n, sizeof msg - (size_t)n, fmt, ap);
	va_end(ap);
	if (after_go)
		report_error_fd(C->startfd, code, msg + n);
	send(C->sp, msg, strlen(msg), MSG_NOSIGNAL);
	_exit(code);
}

#define E strerror(errno)

/* Wait for a one-byte message from the supervisor; its death (EOF) ends us quietly. */
static void wait_msg(char want)
{
	char b;
	for (;;) {
		ssize_t n = read(C->sp, &b, 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			_exit(EXIT_SETUP);
		if (b == want)
			return;
	}
}

/* ------------------------------------------------------------------ paths in the rootfs */

static int openat2_in_root(int rootfd, const char *path, int flags)
{
	struct open_how how = {
		.flags = (uint64_t)(flags | O_CLOEXEC),
		.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
	};
	return (int)syscall(SYS_openat2, rootfd, path, &how, sizeof how);
}

enum { K_DIR, K_FILE };

/*
 * O_PATH fd for <path> inside the root, creating missing components (directories; the last
 * one as an empty file when kind == K_FILE).
 */
static int in_root_depth(int rootfd, const char *path, int kind, int depth);
static int in_root(int rootfd, const char *path, int kind)
{
	return in_root_depth(rootfd, path, kind, 0);
}

static int in_root_depth(int rootfd, const char *path, int kind, int depth)
{
	int fd = openat2_in_root(rootfd, path, O_PATH);
	if (fd >= 0)
		return fd;
	if (errno != ENOENT)
		fail(EXIT_SETUP, "open %s in rootfs: %s", path, E);

	char buf[PATH_MAX];
	if (strlen(path) >= sizeof buf)
		fail(EXIT_SETUP, "path too long: %.100s", path);
	strcpy(buf, path);
	int parent = openat2_in_root(rootfd, "/", O_PATH | O_DIRECTORY);
	if (parent < 0)
		fail(EXIT_SETUP, "open rootfs: %s", E);
	char *p = buf;
	for (;;) {
		while (*p == '/')
			p++;
		if (!*p)
			break;
		char *slash = strchr(p, '/');
		if (slash)
			*slash = 0;
		int last = !slash || !slash[1 + strspn(slash + 1, "/")];
		if (strcmp(p, ".") != 0) {
			int f = openat2_in_root(rootfd, buf, O_PATH);
			if (f < 0 && errno == ENOENT) {
				if (last && kind == K_FILE) {
					int t = openat(parent, p, O_CREAT | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0644);
					if (t < 0 && errno != EEXIST)
						fail(EXIT_SETUP, "create %s in rootfs: %s", buf, E);
					if (t >= 0)
						close(t);
				} else if (mkdirat(parent, p, 0755) < 0 && errno != EEXIST)
					fail(EXIT_SETUP, "mkdir %s in rootfs: %s", buf, E);
				f = openat2_in_root(rootfd, buf, O_PATH);
				char link[PATH_MAX];
				ssize_t ln;
				if (f < 0 && errno == ENOENT && depth < 40 &&
				    (ln = readlinkat(parent, p, link, sizeof link - 1)) > 0) {
					/* a dangling symlink: create its target, inside the root */
					link[ln] = 0;
					char np[PATH_MAX];
					const char *rest = slash ? slash + 1 : "";
					int w = link[0] == '/'
							? snprintf(np, sizeof np, "%s/%s", link, rest)
							: snprintf(np, sizeof np, "%.*s%s/%s", (int)(p - buf), buf, link, rest);
					if (w < 0 || (size_t)w >= sizeof np)
						fail(EXIT_SETUP, "path too long: %.100s", path);
					close(parent);
					return in_root_depth(rootfd, np, kind, depth + 1);
				}
			}
			if (f < 0)
				fail(EXIT_SETUP, "open %s in rootfs: %s", buf, E);
			close(parent);
			parent = f;
		}
		if (!slash)
			break;
		*slash = '/';
		p = slash + 1;
	}
	return parent;
}

/* /proc/self/fd/<fd>[/rel] */
static const char *fdpath(char *buf, int fd, const char *rel)
{
	sprintf(buf, "/proc/self/fd/%d%s%s", fd, rel ? "/" : "", rel ? rel : "");
	return buf;
}

static void mount_on(int fd, const char *src, const char *type, unsigned long flags,
		     const char *data, const char *what)
{
	char p[64];
	if (mount(src, fdpath(p, fd, NULL), type, flags, data) < 0)
		fail(EXIT_SETUP, "mount %s on %s: %s", type ? type : src, what, E);
}

static void setattr_fd(int fd, int recursive, uint64_t set, uint64_t propagation, const char *what)
{
	struct mount_attr a = { .attr_set = set, .propagation = propagation };
	if (mount_setattr(fd, "", AT_EMPTY_PATH | (recursive ? AT_RECURSIVE : 0), &a, sizeof a) < 0)
		fail(EXIT_SETUP, "set mount attributes of %s: %s", what, E);
}

/*
 * Clone the mount tree at host path src (or at the object srcfd refers to, when >= 0), apply
 * attributes, attach it at target fd.
 */
static void bind_tree_at(int srcfd, const char *src, int target, int recursive, uint64_t set, uint64_t prop,
			 const char *what)
{
	int t = open_tree(srcfd >= 0 ? srcfd : AT_FDCWD, srcfd >= 0 ? "" : src,
			  OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | (recursive ? AT_RECURSIVE : 0) |
				  (srcfd >= 0 ? AT_EMPTY_PATH : 0));
	if (t < 0)
		fail(EXIT_SETUP, "bind %s on %s: %s", src, what, E);
	if (set || prop)
		setattr_fd(t, recursive, set, prop, what);
	if (move_mount(t, "", target, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0)
		fail(EXIT_SETUP, "bind %s on %s: %s", src, what, E);
	close(t);
}

static void bind_tree(const char *src, int target, int recursive, uint64_t set, uint64_t prop, const char *what)
{
	bind_tree_at(-1, src, target, recursive, set, prop, what);
}

/*
 * A volume's Subpath, as Docker resolves it: opened beneath the volume's directory with no
 * symlink followed and nothing leading out (openat2 RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS |
 * RESOLVE_NO_MAGICLINKS), and that very object is what gets mounted — a container that swaps a
 * path component for a symlink afterwards changes nothing. Returns an O_PATH fd.
 */
/* Go-style error text ("permission denied"), as Docker prints it. */
static const char *lower_err(int err, char *buf, size_t len);

static int open_subpath(const struct bind *b)
{
	char eb[64];
	int base = open(b->src, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (base < 0)
		fail(EXIT_SETUP, "cannot access path %s: %s", b->src, lower_err(errno, eb, sizeof eb));
	struct open_how how = { .flags = O_PATH | O_CLOEXEC,
				.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS };
	int fd = (int)syscall(SYS_openat2, base, b->subpath, &how, sizeof how);
	int err = errno;
	close(base);
	if (fd < 0 && err == EXDEV)
		fail(EXIT_SETUP, "path concatenation escapes the base directory, base: %s, subpath: %s", b->src, b->subpath);
	if (fd < 0)
		fail(EXIT_SETUP, "cannot access path %s/%s: %s", b->src, b->subpath, lower_err(err, eb, sizeof eb));
	return fd;
}

/* ------------------------------------------------------------------ run: mounts */

static void mount_overlay(const struct spec *s)
{
	if (s->nlower == 1 && !s->upper) {
		/* overlayfs needs two lowers without an upper: a read-only bind is the same thing */
		int t = open(s->rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
		if (t < 0)
			fail(EXIT_SETUP, "open rootfs %s: %s", s->rootfs, E);
		bind_tree(s->lower[0], t, 1, MOUNT_ATTR_RDONLY, 0, "rootfs");
		close(t);
		return;
	}
	size_t len = 64;
	int special = 0;
	for (int i = 0; i < s->nlower; i++) {
		len += strlen(s->lower[i]) + 1;
		special |= strpbrk(s->lower[i], ",:\\") != NULL;
	}
	if (s->upper) {
		len += strlen(s->upper) + strlen(s->work);
		special |= strpbrk(s->upper, ",:\\") || strpbrk(s->work, ",:\\");
	}
	if (!special && len < 4000) {
		char *data = xmalloc(len);
		char *p = data + sprintf(data, "lowerdir=");
		for (int i = 0; i < s->nlower; i++)
			p += sprintf(p, "%s%s", i ? ":" : "", s->lower[i]);
		if (s->upper)
			sprintf(p, ",upperdir=%s,workdir=%s", s->upper, s->work);
		if (mount("overlay", s->rootfs, "overlay", 0, data) < 0)
			fail(EXIT_SETUP, "mount overlay on %s: %s", s->rootfs, E);
		free(data);
		return;
	}
	/* Long or awkward paths: the new mount API takes each layer on its own (6.8+). */
	int fs = fsopen("overlay", FSOPEN_CLOEXEC);
	if (fs < 0)
		fail(EXIT_SETUP, "fsopen overlay: %s", E);
	for (int i = 0; i < s->nlower; i++)
		if (fsconfig(fs, FSCONFIG_SET_STRING, "lowerdir+", s->lower[i], 0) < 0)
			fail(EXIT_SETUP, "overlay lowerdir %s: %s", s->lower[i], E);
	if (s->upper && (fsconfig(fs, FSCONFIG_SET_STRING, "upperdir", s->upper, 0) < 0 ||
			 fsconfig(fs, FSCONFIG_SET_STRING, "workdir", s->work, 0) < 0))
		fail(EXIT_SETUP, "overlay upperdir/workdir: %s", E);
	if (fsconfig(fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0)
		fail(EXIT_SETUP, "mount overlay on %s: %s", s->rootfs, E);
	int m = fsmount(fs, FSMOUNT_CLOEXEC, 0);
	if (m < 0 || move_mount(m, "", AT_FDCWD, s->rootfs, MOVE_MOUNT_F_EMPTY_PATH) < 0)
		fail(EXIT_SETUP, "mount overlay on %s: %s", s->rootfs, E);
	close(m);
	close(fs);
}

static void mount_dev(const struct spec *s, int rootfd, int *master, int *slave)
{
	char shm[64] = "mode=1777,size=65536k"; /* Docker's default: 64 MiB */
	if (s->shm_size)
		snprintf(shm, sizeof shm, "mode=1777,size=%llu", s->shm_size);
	int fd = in_root(rootfd, "/dev", K_DIR);
	mount_on(fd, "tmpfs", "tmpfs", MS_NOSUID | MS_STRICTATIME, "mode=755,size=65536k", "/dev");
	close(fd);
	int dev = in_root(rootfd, "/dev", K_DIR); /* now the tmpfs */
	char p[64], src[32];

	static const char *const nodes[] = { "null", "zero", "full", "random", "urandom", "tty" };
	for (size_t i = 0; i < sizeof nodes / sizeof nodes[0]; i++) {
		int f = openat(dev, nodes[i], O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0666);
		if (f < 0)
			fail(EXIT_SETUP, "create /dev/%s: %s", nodes[i], E);
		close(f);
		f = openat(dev, nodes[i], O_PATH | O_NOFOLLOW | O_CLOEXEC);
		snprintf(src, sizeof src, "/dev/%s", nodes[i]);
		if (f < 0 || mount(src, fdpath(p, f, NULL), NULL, MS_BIND, NULL) < 0)
			fail(EXIT_SETUP, "bind %s on %s: %s", src, src, E);
		close(f);
	}

	const struct {
		const char *name, *type;
		unsigned long flags;
		const char *data;
	} fss[] = {
		{ "pts", "devpts", MS_NOSUID | MS_NOEXEC, "newinstance,ptmxmode=0666,mode=0620,gid=5" },
		{ "shm", "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, shm },
		{ "mqueue", "mqueue", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL },
	};
	for (size_t i = 0; i < sizeof fss / sizeof fss[0]; i++) {
		int is_shm = !strcmp(fss[i].name, "shm");
		if (is_shm && s->ipc == IPC_NONE)
			continue; /* --ipc none: no /dev/shm, as Docker */
		char what[32];
		snprintf(what, sizeof what, "/dev/%s", fss[i].name);
		if (mkdirat(dev, fss[i].name, 0755) < 0)
			fail(EXIT_SETUP, "mkdir %s: %s", what, E);
		int f = openat(dev, fss[i].name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (f < 0)
			fail(EXIT_SETUP, "open %s: %s", what, E);
		if (is_shm && s->ipc == IPC_HOST) {
			/* --ipc host: the host's /dev/shm, as Docker binds it */
			if (mount("/dev/shm", fdpath(p, f, NULL), NULL, MS_BIND | MS_REC, NULL) < 0)
				fail(EXIT_SETUP, "bind /dev/shm on /dev/shm: %s", E);
		} else /* the source shows in mountinfo and df: "shm" for /dev/shm, as Docker */
			mount_on(f, is_shm ? "shm" : fss[i].type, fss[i].type, fss[i].flags, fss[i].data, what);
		close(f);
	}

	static const char *const links[][2] = {
		{ "pts/ptmx", "ptmx" },	       { "/proc/self/fd", "fd" },
		{ "/proc/self/fd/0", "stdin" }, { "/proc/self/fd/1", "stdout" },
		{ "/proc/self/fd/2", "stderr" }, { "/proc/kcore", "core" },
	};
	for (size_t i = 0; i < sizeof links / sizeof links[0]; i++)
		if (symlinkat(links[i][0], dev, links[i][1]) < 0)
			fail(EXIT_SETUP, "symlink /dev/%s: %s", links[i][1], E);

	if (master) {
		/* the pty comes from the container's own devpts instance */
		int m = openat(dev, "pts/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
		if (m < 0)
			fail(EXIT_SETUP, "open /dev/pts/ptmx: %s", E);
		int zero = 0;
		if (ioctl(m, TIOCSPTLCK, &zero) < 0)
			fail(EXIT_SETUP, "unlock pty: %s", E);
		int sl = ioctl(m, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
		if (sl < 0)
			fail(EXIT_SETUP, "open pty slave: %s", E);
		int f = openat(dev, "console", O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0620);
		if (f < 0)
			fail(EXIT_SETUP, "create /dev/console: %s", E);
		close(f);
		f = openat(dev, "console", O_PATH | O_NOFOLLOW | O_CLOEXEC);
		if (f < 0 || mount(fdpath(src, sl, NULL), fdpath(p, f, NULL), NULL, MS_BIND, NULL) < 0)
			fail(EXIT_SETUP, "bind pty on /dev/console: %s", E);
		close(f);
		*master = m;
		*slave = sl;
	}
	close(dev);
}

static void mount_binds(const struct spec *s, int rootfd)
{
	for (int i = 0; i < s->nbinds; i++) {
		const struct bind *b = &s->binds[i];
		if (b->tmpfs) {
			int t = in_root(rootfd, b->dst, K_DIR);
			unsigned long fl = (b->ro ? MS_RDONLY : 0) | (b->nosuid ? MS_NOSUID : 0) |
					   (b->nodev ? MS_NODEV : 0) | (b->noexec ? MS_NOEXEC : 0);
			mount_on(t, "tmpfs", "tmpfs", fl, b->tmpfs[0] ? b->tmpfs : NULL, b->dst);
			close(t);
			continue;
		}
		struct stat st;
		int srcfd = b->subpath ? open_subpath(b) : -1;
		if (srcfd >= 0 ? fstat(srcfd, &st) < 0 : stat(b->src, &st) < 0)
			fail(EXIT_SETUP, "bind %s on %s: stat %s: %s", b->src, b->dst, b->src, E);
		int t = in_root(rootfd, b->dst, S_ISDIR(st.st_mode) ? K_DIR : K_FILE);
		uint64_t set = (b->ro ? MOUNT_ATTR_RDONLY : 0) | (b->nosuid ? MOUNT_ATTR_NOSUID : 0) |
			       (b->nodev ? MOUNT_ATTR_NODEV : 0) | (b->noexec ? MOUNT_ATTR_NOEXEC : 0);
		bind_tree_at(srcfd, b->src, t, b->rbind, set, b->private_ ? MS_PRIVATE : 0, b->dst);
		close(t);
		if (srcfd >= 0)
			close(srcfd);
	}
}

static void mkdir_p(const char *path)
{
	char buf[PATH_MAX];
	if (strlen(path) >= sizeof buf)
		fail(EXIT_SETUP, "path too long: %.100s", path);
	strcpy(buf, path);
	for (char *p = buf + 1;; p++) {
		if (*p == '/' || !*p) {
			char c = *p;
			*p = 0;
			struct stat st;
			if (mkdir(buf, 0755) < 0 && errno != EEXIST &&
			    !(stat(buf, &st) == 0 && S_ISDIR(st.st_mode)))
				fail(EXIT_SETUP, "mkdir cwd %s: %s", buf, E);
			*p = c;
			if (!c)
				break;
		}
	}
}

static void mask_paths(void)
{
	static const char *const masked[] = {
		"/proc/asound",	    "/proc/acpi",	 "/proc/interrupts",	      "/proc/kcore",	      "/proc/keys",
		"/proc/latency_stats", "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug",
		"/proc/scsi",	    "/sys/firmware",	 "/sys/devices/virtual/powercap",
	};
	static const char *const ro[] = {
		"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger",
	};
	struct stat st;
	for (size_t i = 0; i < sizeof masked / sizeof masked[0]; i++) {
		if (lstat(masked[i], &st) < 0) {
			if (errno == ENOENT)
				continue;
			fail(EXIT_SETUP, "mask %s: %s", masked[i], E);
		}
		int r = S_ISDIR(st.st_mode) ? mount("tmpfs", masked[i], "tmpfs", MS_RDONLY, "size=0")
					    : mount("/dev/null", masked[i], NULL, MS_BIND, NULL);
		if (r < 0)
			fail(EXIT_SETUP, "mask %s: %s", masked[i], E);
	}
	/* each CPU's thermal_throttle dir, as current Docker (its counters leak a neighbour's load) */
	DIR *cpus = opendir("/sys/devices/system/cpu");
	if (cpus) {
		struct dirent *e;
		while ((e = readdir(cpus))) {
			if (strncmp(e->d_name, "cpu", 3) || !isdigit((unsigned char)e->d_name[3]))
				continue;
			char p[320];
			snprintf(p, sizeof p, "/sys/devices/system/cpu/%s/thermal_throttle", e->d_name);
			if (lstat(p, &st) == 0 && S_ISDIR(st.st_mode) && mount("tmpfs", p, "tmpfs", MS_RDONLY, "size=0") < 0)
				fail(EXIT_SETUP, "mask %s: %s", p, E);
		}
		closedir(cpus);
	}
	for (size_t i = 0; i < sizeof ro / sizeof ro[0]; i++) {
		if (lstat(ro[i], &st) < 0) {
			if (errno == ENOENT)
				continue;
			fail(EXIT_SETUP, "make %s read-only: %s", ro[i], E);
		}
		struct mount_attr a = { .attr_set = MOUNT_ATTR_RDONLY };
		if (mount(ro[i], ro[i], NULL, MS_BIND | MS_REC, NULL) < 0 ||
		    mount_setattr(AT_FDCWD, ro[i], AT_RECURSIVE, &a, sizeof a) < 0)
			fail(EXIT_SETUP, "make %s read-only: %s", ro[i], E);
	}
}

static void setup_rootfs(const struct spec *s, int *master, int *slave)
{
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		fail(EXIT_SETUP, "make / rprivate: %s", E);
	if (s->nlower > 0)
		mount_overlay(s);
	else if (mount(s->rootfs, s->rootfs, NULL, MS_BIND | MS_REC, NULL) < 0)
		fail(EXIT_SETUP, "bind rootfs %s on itself: %s", s->rootfs, E);
	int rootfd = open(s->rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (rootfd < 0)
		fail(EXIT_SETUP, "open rootfs %s: %s", s->rootfs, E);

	int fd = in_root(rootfd, "/proc", K_DIR);
	mount_on(fd, "proc", "proc", MS_NOSUID | MS_NOEXEC | MS_NODEV, NULL, "/proc");
	close(fd);

	fd = in_root(rootfd, "/sys", K_DIR);
	char p[64];
	unsigned long sysfl = MS_NOSUID | MS_NOEXEC | MS_NODEV | (s->privileged ? 0 : MS_RDONLY);
	if (mount("sysfs", fdpath(p, fd, NULL), "sysfs", sysfl, NULL) < 0) {
		if (errno != EPERM || s->netns)
			fail(EXIT_SETUP, "mount sysfs on /sys: %s", E);
		bind_tree("/sys", fd, 1,
			  MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC |
				  (s->privileged ? 0 : MOUNT_ATTR_RDONLY),
			  0, "/sys");
	}
	char err[512];
	int sys = in_root(rootfd, "/sys", K_DIR); /* now the container's sysfs */
	if (mount_cgroupfs(s, sys, err, sizeof err) < 0)
		fail(EXIT_SETUP, "%s", err);
	close(sys);
	close(fd);

	mount_dev(s, rootfd, s->tty ? master : NULL, slave);
	mount_binds(s, rootfd);

	if (fchdir(rootfd) < 0)
		fail(EXIT_SETUP, "chdir rootfs: %s", E);
	if (syscall(SYS_pivot_root, ".", ".") < 0)
		fail(EXIT_SETUP, "pivot_root %s: %s", s->rootfs, E);
	if (umount2(".", MNT_DETACH) < 0)
		fail(EXIT_SETUP, "unmount old root: %s", E);
	if (chdir("/") < 0)
		fail(EXIT_SETUP, "chdir /: %s", E);
	close(rootfd);

	mkdir_p(s->cwd);
	if (!s->privileged)
		mask_paths();
	if (s->readonly_rootfs) {
		struct mount_attr a = { .attr_set = MOUNT_ATTR_RDONLY };
		if (mount_setattr(AT_FDCWD, "/", 0, &a, sizeof a) < 0)
			fail(EXIT_SETUP, "remount / read-only: %s", E);
	}
	if (!s->share_uts && s->hostname && sethostname(s->hostname, strlen(s->hostname)) < 0)
		fail(EXIT_SETUP, "sethostname %s: %s", s->hostname, E);
}

/* ------------------------------------------------------------------ user */

#define MAX_MEMBER_GROUPS 128 /* groups the user is listed in, from /etc/group */
struct ids {
	uid_t uid;
	gid_t gid;
	gid_t groups[1 + MAX_MEMBER_GROUPS + 256]; /* primary, member-of, GroupAdd */
	int ngroups;
	char home[PATH_MAX];
};

static int all_digits(const char *s)
{
	if (!*s)
		return 0;
	for (; *s; s++)
		if (!isdigit((unsigned char)*s))
			return 0;
	return 1;
}

/* Split a passwd/group line into up to n ':' fields; returns the count. */
static int split_fields(char *line, char **f, int n)
{
	int i = 0;
	line[strcspn(line, "\n")] = 0;
	f[i++] = line;
	for (char *p = line; *p && i < n; p++)
		if (*p == ':') {
			*p = 0;
			f[i++] = p + 1;
		}
	return i;
}

static void add_group(struct ids *id, gid_t g)
{
	for (int i = 0; i < id->ngroups; i++)
		if (id->groups[i] == g)
			return;
	if (id->ngroups < (int)(sizeof id->groups / sizeof id->groups[0]))
		id->groups[id->ngroups++] = g;
}

/*
 * HostConfig.GroupAdd as Docker resolves it, in the container's /etc/group: a name must be
 * there; a number is taken as it is (within 0..2^31-1) when no group has it.
 */
static void resolve_group_add(const struct spec *s, struct ids *id)
{
	for (int i = 0; i < s->ngroup_add; i++) {
		const char *want = s->group_add[i];
		int numeric = all_digits(want);
		if (numeric && (strlen(want) > 10 || strtoull(want, NULL, 10) > 2147483647ULL))
			fail(EXIT_SETUP, "uids and gids must be in range 0-2147483647");
		int found = 0;
		FILE *f = fopen("/etc/group", "re");
		char *line = NULL;
		size_t cap = 0;
		while (f && !found && getline(&line, &cap, f) > 0) {
			char *fl[4];
			if (split_fields(line, fl, 4) < 3 || !all_digits(fl[2]))
				continue;
			if (numeric ? strtoull(fl[2], NULL, 10) == strtoull(want, NULL, 10) : !strcmp(fl[0], want)) {
				add_group(id, (gid_t)strtoul(fl[2], NULL, 10));
				found = 1;
			}
		}
		free(line);
		if (f)
			fclose(f);
		if (!found && !numeric)
			fail(EXIT_SETUP, "unable to find group %s: no matching entries in group file", want);
		if (!found)
			add_group(id, (gid_t)strtoul(want, NULL, 10));
	}
}

static void resolve_user(const char *spec_user, struct ids *id)
{
	char user[256] = "0", *group = NULL;
	if (spec_user && *spec_user) {
		snprintf(user, sizeof user, "%s", spec_user);
		group = strchr(user, ':');
		if (group)
			*group++ = 0;
	}
	memset(id, 0, sizeof *id);
	strcpy(id->home, "/");
	char pwname[256] = "";
	int by_name = !all_digits(user), found = 0;
	if (!by_name)
		id->uid = (uid_t)strtoul(user, NULL, 10);

	FILE *f = fopen("/etc/passwd", "re");
	char *line = NULL;
	size_t cap = 0;
	if (f) {
		while (getline(&line, &cap, f) > 0) {
			char *fl[7];
			if (split_fields(line, fl, 7) < 7 || !all_digits(fl[2]) || !all_digits(fl[3]))
				continue;
			uid_t u = (uid_t)strtoul(fl[2], NULL, 10);
			if (by_name ? strcmp(fl[0], user) == 0 : u == id->uid) {
				id->uid = u;
				id->gid = (gid_t)strtoul(fl[3], NULL, 10);
				snprintf(id->home, sizeof id->home, "%s", fl[5]);
				snprintf(pwname, sizeof pwname, "%s", fl[0]);
				found = 1;
				break;
			}
		}
		fclose(f);
	}
	if (by_name && !found)
		fail(EXIT_SETUP, "unable to find user %s: no matching entries in passwd file", user);

	if (group && *group && all_digits(group))
		id->gid = (gid_t)strtoul(group, NULL, 10);
	int group_found = !(group && *group && !all_digits(group));
	f = fopen("/etc/group", "re");
	if (f) {
		while (getline(&line, &cap, f) > 0) {
			char *fl[4];
			if (split_fields(line, fl, 4) < 4 || !all_digits(fl[2]))
				continue;
			gid_t gg = (gid_t)strtoul(fl[2], NULL, 10);
			if (!group_found && strcmp(fl[0], group) == 0) {
				id->gid = gg;
				group_found = 1;
			}
			if (!*pwname)
				continue;
			for (char *m = strtok(fl[3], ","); m; m = strtok(NULL, ","))
				if (!strcmp(m, pwname)) {
					if (id->ngroups < 1 + MAX_MEMBER_GROUPS)
						add_group(id, gg);
					break;
				}
		}
		fclose(f);
	}
	free(line);
	if (!group_found)
		fail(EXIT_SETUP, "unable to find group %s: no matching entries in group file", group);
	add_group(id, id->gid); /* as Docker: the primary group is also a supplementary one */
}

/* ------------------------------------------------------------------ caps, exec */

static void drop_privileges(const struct ids *id, uint64_t keep, int cap_last)
{
	for (int i = 0; i <= cap_last && i < 64; i++)
		if (!(keep & (1ULL << i)) && prctl(PR_CAPBSET_DROP, i, 0, 0, 0) < 0 && errno != EINVAL)
			fail(EXIT_SETUP, "drop capability %d from the bounding set: %s", i, E);
	if (setgroups((size_t)id->ngroups, id->groups) < 0)
		fail(EXIT_SETUP, "setgroups: %s", E);
	if (setresgid(id->gid, id->gid, id->gid) < 0)
		fail(EXIT_SETUP, "setgid %u: %s", (unsigned)id->gid, E);
	if (setresuid(id->uid, id->uid, id->uid) < 0)
		fail(EXIT_SETUP, "setuid %u: %s", (unsigned)id->uid, E);

	struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct d[2];
	if (syscall(SYS_capget, &h, d) < 0)
		fail(EXIT_SETUP, "capget: %s", E);
	uint64_t perm = (uint64_t)d[0].permitted | ((uint64_t)d[1].permitted << 32);
	uint64_t want = id->uid == 0 ? keep & perm : 0;
	for (int i = 0; i < 2; i++) {
		d[i].effective = d[i].permitted = (uint32_t)(want >> (32 * i));
		d[i].inheritable = 0;
	}
	if (syscall(SYS_capset, &h, d) < 0)
		fail(EXIT_SETUP, "capset: %s", E);
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL)
		fail(EXIT_SETUP, "clear ambient capabilities: %s", E);
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		fail(EXIT_SETUP, "set no_new_privs: %s", E);
}

static const char *lower_err(int err, char *buf, size_t len)
{
	snprintf(buf, len, "%s", strerror(err));
	buf[0] = (char)tolower((unsigned char)buf[0]);
	return buf;
}

static void exec_failed(const char *file, int err) __attribute__((noreturn));
static void exec_failed(const char *file, int err)
{
	char b[128];
	fail(err == ENOENT || err == ENOTDIR ? EXIT_NOTFOUND : EXIT_NOEXEC, "exec: \"%s\": %s", file,
	     lower_err(err, b, sizeof b));
}

static void do_exec(char **argv, char **envp) __attribute__((noreturn));
static void do_exec(char **argv, char **envp)
{
	const char *file = argv[0];
	struct stat st;
	char b[128];
	if (strchr(file, '/')) {
		if (stat(file, &st) < 0)
			fail(errno == ENOENT || errno == ENOTDIR ? EXIT_NOTFOUND : EXIT_NOEXEC,
			     "exec: \"%s\": stat %s: %s", file, file, lower_err(errno, b, sizeof b));
		execve(file, argv, envp);
		exec_failed(file, errno);
	}
	const char *path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
	for (char **e = envp; *e; e++)
		if (!strncmp(*e, "PATH=", 5))
			path = *e + 5;
	char cand[PATH_MAX];
	for (const char *p = path;;) {
		const char *colon = strchr(p, ':');
		size_t dl = colon ? (size_t)(colon - p) : strlen(p);
		int n = dl ? snprintf(cand, sizeof cand, "%.*s/%s", (int)dl, p, file)
			   : snprintf(cand, sizeof cand, "./%s", file);
		if (n > 0 && (size_t)n < sizeof cand && stat(cand, &st) == 0 && S_ISREG(st.st_mode) &&
		    (st.st_mode & 0111)) {
			execve(cand, argv, envp);
			exec_failed(file, errno);
		}
		if (!colon)
			break;
		p = colon + 1;
	}
	fail(EXIT_NOTFOUND, "exec: \"%s\": executable file not found in $PATH", file);
}

static void send_ready(int master)
{
	char cbuf[CMSG_SPACE(sizeof(int))];
	memset(cbuf, 0, sizeof cbuf);
	struct iovec iov = { .iov_base = "R", .iov_len = 1 };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	if (master >= 0) {
		mh.msg_control = cbuf;
		mh.msg_controllen = sizeof cbuf;
		struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(c), &master, sizeof master);
	}
	if (sendmsg(C->sp, &mh, MSG_NOSIGNAL) < 0)
		_exit(EXIT_SETUP);
}

static void finish_and_exec(const struct spec *s, int master, int slave) __attribute__((noreturn));
static void finish_and_exec(const struct spec *s, int master, int slave)
{
	static struct ids id;
	resolve_user(s->user, &id);
	resolve_group_add(s, &id);

	char **envp = s->envp;
	int has_home = 0;
	for (char **e = envp; *e; e++)
		has_home |= !strncmp(*e, "HOME=", 5);
	if (!has_home) {
		char *h = xmalloc(strlen(id.home) + 6);
		sprintf(h, "HOME=%s", id.home);
		envp[s->envc] = h;
		envp[s->envc + 1] = NULL;
	}

	if (chdir(s->cwd) < 0)
		fail(EXIT_SETUP, "chdir to cwd %s: %s", s->cwd, E);

	setsid();
	if (slave >= 0) {
		if (ioctl(slave, TIOCSCTTY, 0) < 0)
			fail(EXIT_SETUP, "set controlling terminal: %s", E);
		for (int i = 0; i < 3; i++)
			if (dup2(slave, i) < 0)
				fail(EXIT_SETUP, "dup2 pty: %s", E);
		if (fchown(slave, id.uid, (gid_t)-1) < 0)
			fail(EXIT_SETUP, "chown pty: %s", E);
		close(slave);
	}

	char err[512];
	if (apply_rlimits(s, err, sizeof err) < 0)
		fail(EXIT_SETUP, "%s", err);
	drop_privileges(&id, s->caps, C->cap_last);

	sigset_t none;
	sigemptyset(&none);
	for (int i = 1; i < NSIG; i++)
		if (i != SIGKILL && i != SIGSTOP)
			signal(i, SIG_DFL);
	sigprocmask(SIG_SETMASK, &none, NULL);
	close_range(3, ~0U, CLOSE_RANGE_CLOEXEC);

	/*
	 * no_new_privs is set: from the filter on, every syscall is filtered. As late as possible
	 * (right before execve), unless the daemon says the filter allows what comes after "ready"
	 * (sendmsg, close, read, stat, execve, send, exit: Docker's default profile does): then here,
	 * so that loading it (~0.3 ms: the kernel checks and JITs ~900 instructions) is not between
	 * "go" and the execve that a start waits for.
	 */
	int early = s->seccomp_early && C->seccomp.len;
	if (early && install_seccomp(&C->seccomp) < 0)
		fail(EXIT_SETUP, "install seccomp filter: %s", E);
	send_ready(master);
	if (master >= 0)
		close(master);
	wait_msg('G');
	after_go = 1;
	if (!early && C->seccomp.len && install_seccomp(&C->seccomp) < 0)
		fail(EXIT_SETUP, "install seccomp filter: %s", E);
	do_exec(s->argv, envp);
}

void child_main(struct child_ctx *c)
{
	C = c;
	const struct spec *s = c->s;

	/* stdio: the daemon's pipes must never reach the container */
	if (s->tty) {
		for (int i = 0; i < 3; i++)
			dup2(c->devnull, i);
	} else {
		dup2(c->stdio[0] >= 0 ? c->stdio[0] : c->devnull, 0);
		dup2(c->stdio[1], 1);
		dup2(c->stdio[2], 2);
		for (int i = 0; i < 3; i++)
			if (c->stdio[i] > 2)
				close(c->stdio[i]);
	}
	close(c->devnull);
	umask(022); /* as runc: the daemon's umask is not the container's */

	wait_msg('C'); /* we are in our cgroups now */

	int master = -1, slave = -1;
	if (s->mode == MODE_RUN) {
		char err[512];
		if (write_sysctls(s, err, sizeof err) < 0)
			fail(EXIT_SETUP, "%s", err);
		if (unshare(CLONE_NEWNS | CLONE_NEWCGROUP) < 0)
			fail(EXIT_SETUP, "unshare mnt,cgroup: %s", E);
		setup_rootfs(s, &master, &slave);
	} else {
		if (setns(c->ns_cgroup, CLONE_NEWCGROUP) < 0)
			fail(EXIT_SETUP, "setns cgroup: %s", E);
		if (setns(c->ns_mnt, CLONE_NEWNS) < 0)
			fail(EXIT_SETUP, "setns mnt: %s", E);
		close(c->ns_cgroup);
		close(c->ns_mnt);
		if (s->tty) {
			master = open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
			if (master < 0)
				fail(EXIT_SETUP, "open /dev/ptmx: %s", E);
			int zero = 0;
			if (ioctl(master, TIOCSPTLCK, &zero) < 0)
				fail(EXIT_SETUP, "unlock pty: %s", E);
			slave = ioctl(master, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
			if (slave < 0)
				fail(EXIT_SETUP, "open pty slave: %s", E);
		}
	}
	finish_and_exec(s, master, slave);
}
