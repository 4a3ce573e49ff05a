/*
 * tsnet-init — per-container helper and supervisor of tsnet.
 * Shared declarations. The contract is documented in docs/tsnet-init.md.
 */
#ifndef TSNET_INIT_H
#define TSNET_INIT_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#define EXIT_SETUP 125   /* setup failure (also exit status of tsnet-init) */
#define EXIT_NOEXEC 126  /* command found but cannot be executed */
#define EXIT_NOTFOUND 127 /* command not found */

enum mode { MODE_RUN, MODE_EXEC };
enum ipc_mode { IPC_PRIVATE, IPC_HOST, IPC_NONE };

struct bind {
	char *src;       /* host path */
	char *dst;       /* absolute path inside the container */
	int ro, rbind, private_, nosuid, nodev, noexec;
	char *tmpfs;     /* non-NULL: mount a tmpfs with these options at dst (src unused) */
	char *subpath;   /* non-NULL: mount src/subpath, resolved beneath src with no symlinks */
};

/* One setrlimit of the container's processes (HostConfig.Ulimits). */
struct rlim {
	int resource;       /* RLIMIT_* */
	uint64_t soft, hard; /* RLIM_INFINITY for "unlimited" */
};

/* One namespaced sysctl (HostConfig.Sysctls), key in dotted form. */
struct sysctl_kv {
	char *key;
	char *value;
};

struct spec {
	enum mode mode;
	/* run */
	char *rootfs;
	char **lower; int nlower;
	char *upper, *work;
	int readonly_rootfs;
	char *netns;
	int share_uts;
	int ipc;                      /* IPC_PRIVATE (own namespace), IPC_HOST (ours), IPC_NONE (own, no /dev/shm) */
	int hold_mntns;
	char *hostname;
	struct bind *binds; int nbinds;
	unsigned long long shm_size;  /* /dev/shm's size in bytes; 0 = 64 MiB */
	struct sysctl_kv *sysctls; int nsysctls;
	/* exec */
	pid_t target_pid;
	/* both */
	char **argv; int argc;        /* NULL-terminated */
	char **envp; int envc;        /* NULL-terminated, room for one more (HOME) */
	char *cwd;
	char *user;
	char **group_add; int ngroup_add; /* HostConfig.GroupAdd: names or gids, at most 256 */
	char **cgroups; int ncgroups;
	int tty, stdin_open;
	char *log;
	unsigned long long log_max_size; /* rotate the log past this many bytes; 0 = never */
	int log_max_files;               /* files kept, the live one included (>= 1) */
	uint64_t caps; int caps_given;
	int privileged;
	char *cgroup_into;            /* cgroup2 dir the child is created in (clone3) */
	char *devices_bpf;            /* run: cgroup device program to attach to cgroup_into */
	char *seccomp;                /* classic BPF filter installed just before execve */
	int seccomp_early;            /* ... or before "ready": it allows what the child calls after */
	struct rlim *rlimits; int nrlimits;
	int oom_score_adj; int oom_score_adj_given; /* HostConfig.OomScoreAdj, -1000..1000 */
};

/* A file read whole (a BPF program). */
struct blob {
	void *data;
	size_t len;
};

/* What the child gets from the supervisor (all inherited across fork). */
struct child_ctx {
	const struct spec *s;
	int sp;              /* control socket (SOCK_SEQPACKET), child end, CLOEXEC */
	int stdio[3];        /* fds to become 0,1,2 (non-tty); -1 = /dev/null */
	int devnull;         /* host /dev/null, O_RDWR */
	int ns_mnt, ns_cgroup; /* exec mode: namespace fds of the target */
	int cap_last;        /* /proc/sys/kernel/cap_last_cap */
	struct blob seccomp; /* len 0 = no filter */
	int startfd;         /* a close-on-exec copy of the daemon's stdout pipe: after "go" its only
			      * writer (the supervisor detaches), so its close at the execve is
			      * "started"; an exec error is written on it first */
};

/* child.c */
void child_main(struct child_ctx *c) __attribute__((noreturn));

/* supervisor.c */
struct sup_init {
	const struct spec *s;
	int bundlefd;
	int lsock;               /* listening attach socket */
	pid_t child;
	int sp;                  /* control socket, supervisor end */
	int out_fd[2];           /* stdout/stderr read ends (non-tty), -1 otherwise */
	int in_fd;               /* stdin write end (non-tty, stdin=1), -1 otherwise */
	int logfd;               /* -1 if no log */
	int sigfd;
	int mntns;               /* run: the container's mount namespace, held until its exit is told (-1: none) */
};
int supervise(struct sup_init *in) __attribute__((noreturn));

/* security.c */
int read_blob(const char *path, struct blob *b); /* -1 + errno; 8-byte records, <= 1 MiB */
int attach_device_prog(int cgfd, const struct blob *prog, char *log, size_t loglen);
pid_t fork_into_cgroup(int cgfd); /* clone3 (+ CLONE_INTO_CGROUP when cgfd >= 0) */
int install_seccomp(const struct blob *filter);

/* options.c: rlimits, sysctls, the cgroup file system inside the container */
int parse_rlimit(char *v, struct rlim *out);     /* -1: bad value */
int check_sysctl(const char *key);              /* -1: not a namespaced sysctl tsnet writes */
/* 0, or -1 with a one-line message in err */
int apply_rlimits(const struct spec *s, char *err, size_t errlen); /* and oom_score_adj */
int write_sysctls(const struct spec *s, char *err, size_t errlen);
int mount_cgroupfs(const struct spec *s, int sysfd, char *err, size_t errlen);

/* tsnet-init.c (utilities) */
void *xmalloc(size_t n);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
int write_all(int fd, const void *buf, size_t len);
/* "2006-01-02T15:04:05.123456789Z" (always 9 fraction digits); buf >= 40 bytes */
size_t fmt_rfc3339nano(char *buf, size_t len, const struct timespec *ts);
int write_file_atomic(int dirfd, const char *name, const char *content, int do_fsync);
/* Print "error <code> <msg>\n" on stdout (newlines in msg flattened). */
void report_error(int code, const char *msg);
void report_error_fd(int fd, int code, const char *msg);
void set_nonblock(int fd);

extern const char *const cap_names[];
extern const int cap_names_count;

#endif
