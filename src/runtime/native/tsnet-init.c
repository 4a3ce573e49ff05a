/*
 * tsnet-init — per-container helper and supervisor of tsnet.
 *
 *   tsnet-init run  <bundle-dir>
 *   tsnet-init exec <bundle-dir>
 *
 * This file: entry point, spec parsing, utilities, and the setup of the supervisor up to
 * "ready" (namespaces, pipes, fork, cgroup placement). child.c is the container side,
 * supervisor.c the poll loop after "ready". The contract is in docs/tsnet-init.md.
 */
#define _GNU_SOURCE
#include "tsnet-init.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

/* ------------------------------------------------------------------ utilities */

void *xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);
	if (!p) {
		report_error(EXIT_SETUP, "out of memory");
		_exit(EXIT_SETUP);
	}
	return p;
}

void *xrealloc(void *p, size_t n)
{
	p = realloc(p, n ? n : 1);
	if (!p) {
		report_error(EXIT_SETUP, "out of memory");
		_exit(EXIT_SETUP);
	}
	return p;
}

char *xstrdup(const char *s)
{
	size_t n = strlen(s) + 1;
	char *p = xmalloc(n);
	memcpy(p, s, n);
	return p;
}

int write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;
	while (len > 0) {
		ssize_t n = write(fd, p, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

size_t fmt_rfc3339nano(char *buf, size_t len, const struct timespec *ts)
{
	struct tm tm;
	time_t t = ts->tv_sec;
	gmtime_r(&t, &tm);
	size_t n = strftime(buf, len, "%Y-%m-%dT%H:%M:%S", &tm);
	n += (size_t)snprintf(buf + n, len - n, ".%09ldZ", (long)ts->tv_nsec);
	return n;
}

int write_file_atomic(int dirfd, const char *name, const char *content, int do_fsync)
{
	char tmp[64];
	snprintf(tmp, sizeof tmp, ".%s.tmp", name);
	int fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return -1;
	if (write_all(fd, content, strlen(content)) < 0 || (do_fsync && fsync(fd) < 0)) {
		int e = errno;
		close(fd);
		unlinkat(dirfd, tmp, 0);
		errno = e;
		return -1;
	}
	close(fd);
	if (renameat(dirfd, tmp, dirfd, name) < 0) {
		int e = errno;
		unlinkat(dirfd, tmp, 0);
		errno = e;
		return -1;
	}
	if (do_fsync)
		fsync(dirfd);
	return 0;
}

void report_error(int code, const char *msg)
{
	report_error_fd(STDOUT_FILENO, code, msg);
}

void report_error_fd(int fd, int code, const char *msg)
{
	char line[1024];
	int n = snprintf(line, sizeof line - 1, "error %d %s", code, msg);
	if (n < 0)
		return;
	if ((size_t)n > sizeof line - 2)
		n = sizeof line - 2;
	for (int i = 0; i < n; i++)
		if (line[i] == '\n' || line[i] == '\r')
			line[i] = ' ';
	line[n++] = '\n';
	write_all(fd, line, (size_t)n);
}

void set_nonblock(int fd)
{
	int fl = fcntl(fd, F_GETFL);
	if (fl >= 0)
		fcntl(fd, F_SETFL, fl | O_NONBLOCK);
}

const char *const cap_names[] = {
	"CHOWN", "DAC_OVERRIDE", "DAC_READ_SEARCH", "FOWNER", "FSETID", "KILL", "SETGID",
	"SETUID", "SETPCAP", "LINUX_IMMUTABLE", "NET_BIND_SERVICE", "NET_BROADCAST",
	"NET_ADMIN", "NET_RAW", "IPC_LOCK", "IPC_OWNER", "SYS_MODULE", "SYS_RAWIO",
	"SYS_CHROOT", "SYS_PTRACE", "SYS_PACCT", "SYS_ADMIN", "SYS_BOOT", "SYS_NICE",
	"SYS_RESOURCE", "SYS_TIME", "SYS_TTY_CONFIG", "MKNOD", "LEASE", "AUDIT_WRITE",
	"AUDIT_CONTROL", "SETFCAP", "MAC_OVERRIDE", "MAC_ADMIN", "SYSLOG", "WAKE_ALARM",
	"BLOCK_SUSPEND", "AUDIT_READ", "PERFMON", "BPF", "CHECKPOINT_RESTORE",
};
const int cap_names_count = (int)(sizeof cap_names / sizeof cap_names[0]);

/* ------------------------------------------------------------------ setup-phase failure */

static struct {
	pid_t child;
	int bundlefd;
	int sock_created;
} g = { .child = -1, .bundlefd = -1 };

static void die(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));
static void die(const char *fmt, ...)
{
	char msg[900];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	report_error(EXIT_SETUP, msg);
	if (g.child > 0) {
		kill(g.child, SIGKILL);
		while (waitpid(g.child, NULL, 0) < 0 && errno == EINTR)
			;
	}
	if (g.sock_created)
		unlinkat(g.bundlefd, "attach.sock", 0);
	_exit(EXIT_SETUP);
}

/* ------------------------------------------------------------------ spec */

enum { K_RUN = 1, K_EXEC = 2, K_REPEAT = 4 };

static const struct key {
	const char *name;
	int flags;
} keys[] = {
	{ "rootfs", K_RUN },
	{ "lower", K_RUN | K_REPEAT },
	{ "upper", K_RUN },
	{ "work", K_RUN },
	{ "readonly_rootfs", K_RUN },
	{ "netns", K_RUN },
	{ "share_uts", K_RUN },
	{ "ipc", K_RUN },
	{ "hold_mntns", K_RUN },
	{ "hostname", K_RUN },
	{ "bind", K_RUN | K_REPEAT },
	{ "tmpfs", K_RUN | K_REPEAT },
	{ "target_pid", K_EXEC },
	{ "arg", K_RUN | K_EXEC | K_REPEAT },
	{ "env", K_RUN | K_EXEC | K_REPEAT },
	{ "cwd", K_RUN | K_EXEC },
	{ "user", K_RUN | K_EXEC },
	{ "group_add", K_RUN | K_EXEC | K_REPEAT },
	{ "cgroup", K_RUN | K_EXEC | K_REPEAT },
	{ "tty", K_RUN | K_EXEC },
	{ "stdin", K_RUN | K_EXEC },
	{ "log", K_RUN | K_EXEC },
	{ "log_max_size", K_RUN | K_EXEC },
	{ "log_max_files", K_RUN | K_EXEC },
	{ "cap", K_RUN | K_EXEC | K_REPEAT },
	{ "privileged", K_RUN | K_EXEC },
	{ "cgroup_into", K_RUN | K_EXEC },
	{ "devices_bpf", K_RUN },
	{ "seccomp", K_RUN | K_EXEC },
	{ "seccomp_early", K_RUN | K_EXEC },
	{ "rlimit", K_RUN | K_EXEC | K_REPEAT },
	{ "sysctl", K_RUN | K_REPEAT },
	{ "shm_size", K_RUN },
	{ "oom_score_adj", K_RUN | K_EXEC },
};
#define NKEYS ((int)(sizeof keys / sizeof keys[0]))

static void push(char ***list, int *n, char *v)
{
	/* keep room for a trailing NULL plus one extra entry (HOME for env) */
	*list = xrealloc(*list, sizeof(char *) * (size_t)(*n + 3));
	(*list)[(*n)++] = v;
	(*list)[*n] = NULL;
}

static int parse_bool(const char *key, const char *v)
{
	if (!strcmp(v, "1") || !strcmp(v, "true"))
		return 1;
	if (!strcmp(v, "0") || !strcmp(v, "false") || !*v)
		return 0;
	die("spec: invalid value %.64s for %s (want 1 or 0)", v, key);
}

static uint64_t parse_cap(const char *v)
{
	const char *n = v;
	if (!strcasecmp(n, "ALL"))
		return ~(uint64_t)0;
	if (!*n || !strcasecmp(n, "NONE")) /* an explicitly empty set (cap-drop ALL) */
		return 0;
	if (!strncasecmp(n, "CAP_", 4))
		n += 4;
	for (int i = 0; i < cap_names_count; i++)
		if (!strcasecmp(n, cap_names[i]))
			return (uint64_t)1 << i;
	die("spec: unknown capability \"%.64s\"", v);
}

static void parse_bind(struct spec *s, char *v)
{
	char *dst = strchr(v, '\t');
	if (!dst)
		die("spec: bind %.200s: want <src>\\t<dst>\\t<opts>", v);
	*dst++ = 0;
	char *opts = strchr(dst, '\t');
	if (opts)
		*opts++ = 0;
	char *subpath = opts ? strchr(opts, '\t') : NULL;
	if (subpath) {
		*subpath++ = 0;
		if (!*subpath || subpath[0] == '/')
			die("spec: bind %.200s: subpath must be relative", v);
	}
	if (!*v || dst[0] != '/')
		die("spec: bind %.200s: source must be given and destination absolute", v);
	if (!strcmp(dst, "/") || dst[strspn(dst, "/")] == 0)
		die("spec: bind %.200s: destination must not be /", v);
	s->binds = xrealloc(s->binds, sizeof(struct bind) * (size_t)(s->nbinds + 1));
	struct bind *b = &s->binds[s->nbinds++];
	memset(b, 0, sizeof *b);
	b->src = v;
	b->dst = dst;
	b->subpath = subpath;
	while (opts && *opts) {
		char *o = opts;
		char *c = strchr(opts, ',');
		if (c)
			*c++ = 0;
		opts = c;
		if (!*o || !strcmp(o, "rw") || !strcmp(o, "bind"))
			;
		else if (!strcmp(o, "ro"))
			b->ro = 1;
		else if (!strcmp(o, "rbind"))
			b->rbind = 1;
		else if (!strcmp(o, "private") || !strcmp(o, "rprivate"))
			b->private_ = 1;
		else if (!strcmp(o, "nosuid"))
			b->nosuid = 1;
		else if (!strcmp(o, "nodev"))
			b->nodev = 1;
		else if (!strcmp(o, "noexec"))
			b->noexec = 1;
		else
			die("spec: bind %.200s: unknown option \"%.32s\"", v, o);
	}
}

/* tmpfs <dst>\t<flags and data>: flags ro,nosuid,nodev,noexec; the rest (size=, mode=, …) is data */
static void parse_tmpfs(struct spec *s, char *v)
{
	char *opts = strchr(v, '\t');
	if (opts)
		*opts++ = 0;
	if (v[0] != '/' || v[strspn(v, "/")] == 0)
		die("spec: tmpfs %.200s: destination must be absolute and not /", v);
	s->binds = xrealloc(s->binds, sizeof(struct bind) * (size_t)(s->nbinds + 1));
	struct bind *b = &s->binds[s->nbinds++];
	memset(b, 0, sizeof *b);
	b->src = "tmpfs";
	b->dst = v;
	size_t n = opts ? strlen(opts) : 0;
	char *data = xmalloc(n + 1);
	data[0] = 0;
	while (opts && *opts) {
		char *o = opts;
		char *c = strchr(opts, ',');
		if (c)
			*c++ = 0;
		opts = c;
		if (!*o || !strcmp(o, "rw"))
			;
		else if (!strcmp(o, "ro"))
			b->ro = 1;
		else if (!strcmp(o, "nosuid"))
			b->nosuid = 1;
		else if (!strcmp(o, "nodev"))
			b->nodev = 1;
		else if (!strcmp(o, "noexec"))
			b->noexec = 1;
		else if (!strncmp(o, "size=", 5) || !strncmp(o, "mode=", 5) || !strncmp(o, "uid=", 4) ||
			 !strncmp(o, "gid=", 4) || !strncmp(o, "nr_inodes=", 10)) {
			if (data[0])
				strcat(data, ",");
			strcat(data, o);
		} else
			die("spec: tmpfs %.200s: unknown option \"%.32s\"", v, o);
	}
	b->tmpfs = data;
}

static void parse_spec(int bundlefd, struct spec *s, enum mode mode)
{
	int fd = openat(bundlefd, "spec", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		die("open spec: %s", strerror(errno));
	struct stat st;
	if (fstat(fd, &st) < 0)
		die("stat spec: %s", strerror(errno));
	size_t cap = (size_t)st.st_size + 1, len = 0;
	char *buf = xmalloc(cap + 1);
	for (;;) {
		if (len == cap) {
			cap *= 2;
			buf = xrealloc(buf, cap + 1);
		}
		ssize_t n = read(fd, buf + len, cap - len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			die("read spec: %s", strerror(errno));
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	close(fd);
	buf[len] = 0; /* a final record without its NUL is accepted */

	memset(s, 0, sizeof *s);
	s->mode = mode;
	int seen[NKEYS] = { 0 };
	for (size_t off = 0; off < len;) {
		char *rec = buf + off;
		size_t rlen = strlen(rec);
		off += rlen + 1;
		if (rlen == 0)
			continue; /* tolerate empty records */
		char *eq = strchr(rec, '=');
		if (!eq)
			die("spec: record without '=': \"%.64s\"", rec);
		*eq = 0;
		char *v = eq + 1;
		int k;
		for (k = 0; k < NKEYS; k++)
			if (!strcmp(rec, keys[k].name))
				break;
		if (k == NKEYS)
			die("spec: unknown key \"%.64s\"", rec);
		if (!(keys[k].flags & (mode == MODE_RUN ? K_RUN : K_EXEC)))
			die("spec: key \"%s\" is not valid for %s", rec, mode == MODE_RUN ? "run" : "exec");
		if (seen[k]++ && !(keys[k].flags & K_REPEAT))
			die("spec: key \"%s\" given more than once", rec);
		const char *key = keys[k].name;
		if (!strcmp(key, "rootfs"))
			s->rootfs = v;
		else if (!strcmp(key, "lower"))
			push(&s->lower, &s->nlower, v);
		else if (!strcmp(key, "upper"))
			s->upper = v;
		else if (!strcmp(key, "work"))
			s->work = v;
		else if (!strcmp(key, "readonly_rootfs"))
			s->readonly_rootfs = parse_bool(key, v);
		else if (!strcmp(key, "netns"))
			s->netns = v;
		else if (!strcmp(key, "share_uts"))
			s->share_uts = parse_bool(key, v);
		else if (!strcmp(key, "ipc")) {
			if (!strcmp(v, "private"))
				s->ipc = IPC_PRIVATE;
			else if (!strcmp(v, "host"))
				s->ipc = IPC_HOST;
			else if (!strcmp(v, "none"))
				s->ipc = IPC_NONE;
			else
				die("spec: invalid ipc %.32s (private, host or none)", v);
		}
		else if (!strcmp(key, "hold_mntns"))
			s->hold_mntns = parse_bool(key, v);
		else if (!strcmp(key, "seccomp_early"))
			s->seccomp_early = parse_bool(key, v);
		else if (!strcmp(key, "hostname"))
			s->hostname = v;
		else if (!strcmp(key, "bind"))
			parse_bind(s, v);
		else if (!strcmp(key, "tmpfs"))
			parse_tmpfs(s, v);
		else if (!strcmp(key, "target_pid")) {
			char *end;
			long p = strtol(v, &end, 10);
			if (!*v || *end || p <= 0 || p > INT_MAX)
				die("spec: invalid target_pid %.32s", v);
			s->target_pid = (pid_t)p;
		} else if (!strcmp(key, "arg"))
			push(&s->argv, &s->argc, v);
		else if (!strcmp(key, "env")) {
			if (!strchr(v, '='))
				die("spec: env %.64s: want K=V", v);
			push(&s->envp, &s->envc, v);
		} else if (!strcmp(key, "cwd"))
			s->cwd = v;
		else if (!strcmp(key, "user"))
			s->user = v;
		else if (!strcmp(key, "group_add")) {
			if (!*v || strchr(v, ':') || s->ngroup_add >= 256)
				die("spec: invalid group_add %.64s (a group name or gid, at most 256 of them)", v);
			push(&s->group_add, &s->ngroup_add, v);
		}
		else if (!strcmp(key, "cgroup")) {
			if (v[0] != '/')
				die("spec: cgroup %.200s: must be an absolute path", v);
			push(&s->cgroups, &s->ncgroups, v);
		} else if (!strcmp(key, "tty"))
			s->tty = parse_bool(key, v);
		else if (!strcmp(key, "stdin"))
			s->stdin_open = parse_bool(key, v);
		else if (!strcmp(key, "log"))
			s->log = v;
		else if (!strcmp(key, "log_max_size")) {
			char *end;
			errno = 0;
			unsigned long long n = strtoull(v, &end, 10);
			if (!*v || *end || errno || n == 0)
				die("spec: invalid log_max_size %.32s", v);
			s->log_max_size = n;
		} else if (!strcmp(key, "log_max_files")) {
			char *end;
			long n = strtol(v, &end, 10);
			if (!*v || *end || n < 1 || n > 1000)
				die("spec: invalid log_max_files %.32s", v);
			s->log_max_files = (int)n;
		}
		else if (!strcmp(key, "rlimit")) {
			if (s->nrlimits >= 64)
				die("spec: more than 64 rlimit records");
			char shown[64];
			snprintf(shown, sizeof shown, "%s", v);
			s->rlimits = xrealloc(s->rlimits, sizeof(struct rlim) * (size_t)(s->nrlimits + 1));
			if (parse_rlimit(v, &s->rlimits[s->nrlimits]) < 0)
				die("spec: invalid rlimit \"%s\" (want <name> <soft> <hard>, soft <= hard)", shown);
			s->nrlimits++;
		} else if (!strcmp(key, "sysctl")) {
			char *val = strchr(v, '\t');
			if (val)
				*val++ = 0;
			if (!val || check_sysctl(v) < 0 || strlen(val) > 4096 || strpbrk(val, "\n\r"))
				die("spec: invalid sysctl \"%.64s\" (a namespaced key, a tab, a one-line value)", v);
			if (s->nsysctls >= 256)
				die("spec: more than 256 sysctl records");
			s->sysctls = xrealloc(s->sysctls, sizeof(struct sysctl_kv) * (size_t)(s->nsysctls + 1));
			s->sysctls[s->nsysctls].key = v;
			s->sysctls[s->nsysctls++].value = val;
		} else if (!strcmp(key, "oom_score_adj")) {
			char *end;
			long n = strtol(v, &end, 10);
			if (!*v || *end || n < -1000 || n > 1000)
				die("spec: invalid oom_score_adj %.32s (-1000..1000)", v);
			s->oom_score_adj = (int)n;
			s->oom_score_adj_given = 1;
		} else if (!strcmp(key, "shm_size")) {
			char *end;
			errno = 0;
			unsigned long long n = strtoull(v, &end, 10);
			if (!*v || *end || errno || n == 0 || v[0] == '-')
				die("spec: invalid shm_size %.32s", v);
			s->shm_size = n;
		}
		else if (!strcmp(key, "cap")) {
			s->caps |= parse_cap(v);
			s->caps_given = 1;
		} else if (!strcmp(key, "privileged"))
			s->privileged = parse_bool(key, v);
		else if (!strcmp(key, "cgroup_into") || !strcmp(key, "devices_bpf") || !strcmp(key, "seccomp")) {
			if (v[0] != '/')
				die("spec: %s %.200s: must be an absolute path", key, v);
			*(key[0] == 'c' ? &s->cgroup_into : key[0] == 'd' ? &s->devices_bpf : &s->seccomp) = v;
		}
	}
	if (s->devices_bpf && !s->cgroup_into)
		die("spec: devices_bpf needs cgroup_into");

	if (mode == MODE_RUN && (!s->rootfs || !*s->rootfs))
		die("spec: rootfs is required");
	if (mode == MODE_EXEC && !s->target_pid)
		die("spec: target_pid is required");
	if (s->argc == 0 || !*s->argv[0])
		die("spec: at least one arg is required");
	if ((s->upper || s->work) && s->nlower == 0)
		die("spec: upper/work given without lower");
	if (s->upper && !s->work)
		die("spec: upper given without work");
	if (s->hostname && strlen(s->hostname) > 64)
		die("spec: hostname too long");
	if (!s->envp) {
		s->envp = xmalloc(sizeof(char *) * 2);
		s->envp[0] = NULL;
	}
	if (!s->cwd || !*s->cwd)
		s->cwd = "/";
	if (s->cwd[0] != '/')
		die("spec: cwd %.200s: must be an absolute path", s->cwd);
	if (!s->caps_given)
		s->caps = (1ULL << 0) /* CHOWN */ | (1ULL << 1) /* DAC_OVERRIDE */ |
			  (1ULL << 4) /* FSETID */ | (1ULL << 3) /* FOWNER */ |
			  (1ULL << 27) /* MKNOD */ | (1ULL << 13) /* NET_RAW */ |
			  (1ULL << 6) /* SETGID */ | (1ULL << 7) /* SETUID */ |
			  (1ULL << 31) /* SETFCAP */ | (1ULL << 8) /* SETPCAP */ |
			  (1ULL << 10) /* NET_BIND_SERVICE */ | (1ULL << 18) /* SYS_CHROOT */ |
			  (1ULL << 5) /* KILL */ | (1ULL << 29) /* AUDIT_WRITE */;
	if (s->privileged)
		s->caps = ~(uint64_t)0;
}

/* ------------------------------------------------------------------ main */

static void usage(void) __attribute__((noreturn));
static void usage(void)
{
	report_error(EXIT_SETUP, "usage: tsnet-init run|exec <bundle-dir>");
	_exit(EXIT_SETUP);
}

static int read_cap_last(void)
{
	int fd = open("/proc/sys/kernel/cap_last_cap", O_RDONLY | O_CLOEXEC);
	char b[16] = { 0 };
	if (fd >= 0) {
		ssize_t n = read(fd, b, sizeof b - 1);
		close(fd);
		if (n > 0)
			return atoi(b);
	}
	return 40;
}

static int make_attach_socket(int bundlefd, const char *bundle)
{
	int s = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (s < 0)
		die("create attach socket: %s", strerror(errno));
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	/* bind relative to the bundle dir, so that long bundle paths work */
	int cwd = open(".", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (fchdir(bundlefd) < 0)
		die("chdir %s: %s", bundle, strerror(errno));
	unlink("attach.sock");
	strcpy(sa.sun_path, "attach.sock");
	mode_t old = umask(077);
	int r = bind(s, (struct sockaddr *)&sa, sizeof sa);
	int e = errno;
	umask(old);
	if (cwd >= 0) {
		if (fchdir(cwd) < 0)
			e = errno, r = -1;
		close(cwd);
	}
	if (r < 0)
		die("bind %s/attach.sock: %s", bundle, strerror(e));
	g.sock_created = 1;
	fchmodat(bundlefd, "attach.sock", 0600, 0);
	if (listen(s, 64) < 0)
		die("listen on attach socket: %s", strerror(errno));
	return s;
}

static int open_ns(pid_t pid, const char *ns)
{
	char p[64];
	snprintf(p, sizeof p, "/proc/%d/ns/%s", (int)pid, ns);
	int fd = open(p, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		die("open %s: %s", p, strerror(errno));
	return fd;
}

/* Receive one control message from the child; returns its length, 0 on EOF. */
static ssize_t recv_ctl(int sp, char *buf, size_t len, int *fd_out)
{
	char cbuf[CMSG_SPACE(sizeof(int))];
	struct iovec iov = { .iov_base = buf, .iov_len = len - 1 };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf,
			     .msg_controllen = sizeof cbuf };
	ssize_t n;
	do
		n = recvmsg(sp, &mh, MSG_CMSG_CLOEXEC);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -1;
	buf[n] = 0;
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c))
		if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
			int fd;
			memcpy(&fd, CMSG_DATA(c), sizeof fd);
			if (fd_out && *fd_out < 0)
				*fd_out = fd;
			else
				close(fd);
		}
	return n;
}

int main(int argc, char **argv)
{
	/* Only stdin, stdout and stderr are ours: the daemon spawns us from a thread of its pool while
	 * its other threads work, so an fd one of them made without close-on-exec (a library's
	 * socket before it is moved) may have come along; a supervisor lives as long as its container. */
	close_range(3, ~0U, 0);
	signal(SIGPIPE, SIG_IGN);
	if (argc != 3)
		usage();
	enum mode mode;
	if (!strcmp(argv[1], "run"))
		mode = MODE_RUN;
	else if (!strcmp(argv[1], "exec"))
		mode = MODE_EXEC;
	else
		usage();

	char *bundle = realpath(argv[2], NULL);
	if (!bundle)
		die("bundle %s: %s", argv[2], strerror(errno));
	int bundlefd = open(bundle, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (bundlefd < 0)
		die("open bundle %s: %s", bundle, strerror(errno));
	g.bundlefd = bundlefd;

	static struct spec spec;
	struct spec *s = &spec;
	parse_spec(bundlefd, s, mode);

	/* Host paths are resolved now: the supervisor moves to "/" below. */
	if (mode == MODE_RUN) {
		char *r = realpath(s->rootfs, NULL);
		if (!r)
			die("rootfs %s: %s", s->rootfs, strerror(errno));
		s->rootfs = r;
	}

	setsid(); /* fails harmlessly if already a session leader */

	int lsock = make_attach_socket(bundlefd, bundle);
	char line[64];
	snprintf(line, sizeof line, "%d\n", (int)getpid());
	if (write_file_atomic(bundlefd, "supervisor.pid", line, 0) < 0)
		die("write %s/supervisor.pid: %s", bundle, strerror(errno));

	int logfd = -1;
	if (s->log) {
		logfd = open(s->log, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
		if (logfd < 0)
			die("open log %s: %s", s->log, strerror(errno));
	}
	int devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (devnull < 0)
		die("open /dev/null: %s", strerror(errno));

	struct child_ctx c = { .s = s, .ns_mnt = -1, .ns_cgroup = -1, .cap_last = read_cap_last(),
			       .devnull = devnull };
	/* the child's copy of our stdout: after "go" the daemon hears the execve as its close */
	c.startfd = fcntl(STDOUT_FILENO, F_DUPFD_CLOEXEC, 3);
	if (c.startfd < 0)
		die("dup stdout: %s", strerror(errno));

	/*
	 * Our own network and IPC namespaces, to go back to once the child is forked: the child
	 * takes the container's with it; the supervisor may outlive the container (a slow attach
	 * client still reading its output) and must not keep them alive — the netns would keep the
	 * container's veth on the bridge with its address, the IPC one its SysV segments.
	 */
	int home_net = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC),
	    home_ipc = open("/proc/self/ns/ipc", O_RDONLY | O_CLOEXEC);
	if (home_net < 0 || home_ipc < 0)
		die("open /proc/self/ns: %s", strerror(errno));

	if (mode == MODE_RUN) {
		/* net.* sysctls only in a network namespace other than ours (the daemon's: the host's) */
		const char *netkey = NULL;
		for (int i = 0; i < s->nsysctls && !netkey; i++)
			if (!strncmp(s->sysctls[i].key, "net.", 4))
				netkey = s->sysctls[i].key;
		struct stat own, joined;
		if (netkey && (!s->netns || stat("/proc/self/ns/net", &own) < 0 || stat(s->netns, &joined) < 0 ||
			       (own.st_dev == joined.st_dev && own.st_ino == joined.st_ino)))
			die("sysctl \"%s\" is not allowed in the host's network namespace", netkey);
		if (s->netns) {
			int nfd = open(s->netns, O_RDONLY | O_CLOEXEC);
			if (nfd < 0)
				die("open netns %s: %s", s->netns, strerror(errno));
			if (setns(nfd, CLONE_NEWNET) < 0)
				die("setns net %s: %s", s->netns, strerror(errno));
			close(nfd);
		}
		/* IPC sysctls only in an IPC namespace of the container's own */
		for (int i = 0; i < s->nsysctls && s->ipc == IPC_HOST; i++)
			if (strncmp(s->sysctls[i].key, "net.", 4))
				die("sysctl \"%s\" is not allowed in the host's IPC namespace", s->sysctls[i].key);
		int fl = CLONE_NEWPID | (s->ipc == IPC_HOST ? 0 : CLONE_NEWIPC) | (s->share_uts ? 0 : CLONE_NEWUTS);
		if (unshare(fl) < 0)
			die("unshare pid%s%s: %s", s->ipc == IPC_HOST ? "" : ",ipc", s->share_uts ? "" : ",uts", strerror(errno));
	} else {
		pid_t t = s->target_pid;
		int ipc = open_ns(t, "ipc"), uts = open_ns(t, "uts"), net = open_ns(t, "net"),
		    pid = open_ns(t, "pid");
		c.ns_cgroup = open_ns(t, "cgroup");
		c.ns_mnt = open_ns(t, "mnt");
		if (setns(ipc, CLONE_NEWIPC) < 0)
			die("setns ipc of pid %d: %s", (int)t, strerror(errno));
		if (setns(uts, CLONE_NEWUTS) < 0)
			die("setns uts of pid %d: %s", (int)t, strerror(errno));
		if (setns(net, CLONE_NEWNET) < 0)
			die("setns net of pid %d: %s", (int)t, strerror(errno));
		if (setns(pid, CLONE_NEWPID) < 0)
			die("setns pid of pid %d: %s", (int)t, strerror(errno));
		close(ipc), close(uts), close(net), close(pid);
	}

	int sp[2];
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sp) < 0)
		die("socketpair: %s", strerror(errno));

	int outp[2][2] = { { -1, -1 }, { -1, -1 } }, inp[2] = { -1, -1 };
	c.stdio[0] = c.stdio[1] = c.stdio[2] = -1;
	if (!s->tty) {
		for (int i = 0; i < 2; i++) {
			if (pipe2(outp[i], O_CLOEXEC) < 0)
				die("pipe: %s", strerror(errno));
			c.stdio[i + 1] = outp[i][1];
		}
		if (s->stdin_open) {
			if (pipe2(inp, O_CLOEXEC) < 0)
				die("pipe: %s", strerror(errno));
			c.stdio[0] = inp[0];
		}
	}

	sigset_t set;
	sigemptyset(&set);
	int fwd[] = { SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGWINCH, SIGCHLD };
	for (size_t i = 0; i < sizeof fwd / sizeof fwd[0]; i++)
		sigaddset(&set, fwd[i]);
	sigprocmask(SIG_BLOCK, &set, NULL);
	int sigfd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
	if (sigfd < 0)
		die("signalfd: %s", strerror(errno));

	if (chdir("/") < 0)
		die("chdir /: %s", strerror(errno));

	if (s->seccomp && read_blob(s->seccomp, &c.seccomp) < 0)
		die("read seccomp filter %s: %s", s->seccomp, strerror(errno));
	int cgfd = -1;
	if (s->cgroup_into) {
		cgfd = open(s->cgroup_into, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (cgfd < 0)
			die("open cgroup %s: %s", s->cgroup_into, strerror(errno));
	}
	if (s->devices_bpf) {
		struct blob prog = { 0 };
		static char vlog[65536];
		if (read_blob(s->devices_bpf, &prog) < 0)
			die("read device program %s: %s", s->devices_bpf, strerror(errno));
		if (attach_device_prog(cgfd, &prog, vlog, sizeof vlog) < 0)
			die("attach device program to %s: %s%s%.200s", s->cgroup_into, strerror(errno),
			    vlog[0] ? ": " : "", vlog);
		free(prog.data);
	}

	/* The child is born in its cgroup2 dir (no cgroup.procs write); kernels before 5.7
	 * (no clone3 / CLONE_INTO_CGROUP) get the write below instead. */
	int born_in_cgroup = cgfd >= 0;
	pid_t child = fork_into_cgroup(cgfd);
	if (child < 0 && (errno == ENOSYS || errno == E2BIG || errno == EINVAL)) {
		born_in_cgroup = 0;
		child = fork();
	}
	if (child < 0)
		die("fork: %s", strerror(errno));
	if (child == 0) {
		close(home_net), close(home_ipc);
		close(sp[0]);
		close(lsock);
		close(sigfd);
		close(bundlefd);
		if (cgfd >= 0)
			close(cgfd);
		if (logfd >= 0)
			close(logfd);
		for (int i = 0; i < 2; i++)
			if (outp[i][0] >= 0)
				close(outp[i][0]);
		if (inp[1] >= 0)
			close(inp[1]);
		c.sp = sp[1];
		child_main(&c);
	}
	g.child = child;
	if (setns(home_net, CLONE_NEWNET) < 0 || setns(home_ipc, CLONE_NEWIPC) < 0)
		die("setns back to the supervisor's own namespaces: %s", strerror(errno));
	close(home_net), close(home_ipc);
	close(sp[1]);
	for (int i = 0; i < 2; i++)
		if (outp[i][1] >= 0)
			close(outp[i][1]);
	if (inp[0] >= 0)
		close(inp[0]);
	if (c.ns_mnt >= 0)
		close(c.ns_mnt);
	if (c.ns_cgroup >= 0)
		close(c.ns_cgroup);
	close(devnull);
	close(c.startfd);

	if (cgfd >= 0)
		close(cgfd);
	free(c.seccomp.data);

	/* Put the child into its cgroups, then let it continue its setup. */
	for (int i = 0; i < s->ncgroups + !born_in_cgroup * !!s->cgroup_into; i++) {
		const char *dir = i < s->ncgroups ? s->cgroups[i] : s->cgroup_into;
		char p[PATH_MAX + 32];
		snprintf(p, sizeof p, "%s/cgroup.procs", dir);
		int fd = open(p, O_WRONLY | O_CLOEXEC);
		if (fd < 0)
			die("join cgroup %s: %s", dir, strerror(errno));
		char pidbuf[16];
		int n = snprintf(pidbuf, sizeof pidbuf, "%d", (int)child);
		if (write(fd, pidbuf, (size_t)n) != n)
			die("join cgroup %s: %s", dir, strerror(errno));
		close(fd);
	}
	if (send(sp[0], "C", 1, MSG_NOSIGNAL) != 1)
		die("container init died during setup");

	char msg[1024];
	int master = -1;
	ssize_t n = recv_ctl(sp[0], msg, sizeof msg, &master);
	if (n < 0)
		die("read from container init: %s", strerror(errno));
	if (n == 0)
		die("container init died during setup");
	if (msg[0] == 'E') {
		char *sp_ = strchr(msg, ' ');
		die("%s", sp_ ? sp_ + 1 : msg + 1);
	}
	if (msg[0] != 'R')
		die("unexpected message from container init");
	if (s->tty && master < 0)
		die("container init sent no pty master");

	/*
	 * hold_mntns: a reference to the container's mount namespace (set up now), so that the exit
	 * of its last process does not unmount the tree before we are told (supervise closes it once
	 * the exit is reported). Best effort: without it the supervisor works as before.
	 */
	int mntns = -1;
	if (s->hold_mntns) {
		char nsp[64];
		snprintf(nsp, sizeof nsp, "/proc/%d/ns/mnt", (int)child);
		mntns = open(nsp, O_RDONLY | O_CLOEXEC);
	}

	snprintf(line, sizeof line, "%d\n", (int)child);
	if (write_file_atomic(bundlefd, "pid", line, 0) < 0)
		die("write %s/pid: %s", bundle, strerror(errno));
	snprintf(line, sizeof line, "ready %d\n", (int)child);
	write_all(STDOUT_FILENO, line, strlen(line));

	struct sup_init in = {
		.s = s,
		.bundlefd = bundlefd,
		.lsock = lsock,
		.child = child,
		.sp = sp[0],
		.out_fd = { outp[0][0], outp[1][0] },
		.in_fd = inp[1],
		.logfd = logfd,
		.sigfd = sigfd,
		.mntns = mntns,
	};
	if (s->tty) {
		in.out_fd[0] = master;
		in.in_fd = s->stdin_open ? fcntl(master, F_DUPFD_CLOEXEC, 3) : -1;
	}
	supervise(&in);
}
