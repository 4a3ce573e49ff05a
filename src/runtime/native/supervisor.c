/*
 * tsnet-init — the supervisor after "ready": one poll() loop over the daemon's stdin (for
 * "go"), the child's control socket, its output (pipes or pty master), the signalfd, the
 * attach socket and its clients. Everything is non-blocking except the log file (a regular
 * file). Buffers are allocated on demand and bounded. An attach client that reads slower than
 * the container writes holds the container's output back, as Docker's attach does: once a
 * client has OUTPUT_HOLD bytes waiting, the output pipes are not read until it has taken them,
 * so the container blocks in write() instead of its output being lost (`run img cmd | slow`
 * gets every byte). After the container's exit its pipes are read to their end (the drain
 * deadline counts only while nothing holds the output and nothing arrives), the exit is told,
 * and then the attach clients get the rest however slowly they read it (`run … | less`); only
 * a client that goes away is dropped.
 */
#define _GNU_SOURCE
#include "tsnet-init.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#define CLIENT_OUT_MAX (1u << 20) /* per attach client; beyond this it is dropped */
#define READ_CHUNK (32u << 10)
/* an attach client with this much waiting stops the reading of the output (one more read fits) */
#define OUTPUT_HOLD (CLIENT_OUT_MAX - READ_CHUNK - 8)
#define STDIN_MAX (64u << 10)	  /* pending bytes for the child's stdin */
#define LOG_LINE_MAX (16u << 10)  /* CRI partial-line split */
#define LOG_OUT_MAX (64u << 10)
#define MAX_CLIENTS 128
#define DRAIN_MS 2000 /* after the exit: pipes still open this long with nothing arriving (and no client holding them) are closed */

struct buf {
	char *d;
	size_t start, end, cap;
};

static size_t buf_len(const struct buf *b) { return b->end - b->start; }

static int buf_append(struct buf *b, const void *p, size_t n, size_t max)
{
	if (buf_len(b) + n > max)
		return -1;
	if (b->end + n > b->cap) {
		if (b->start > 0) {
			memmove(b->d, b->d + b->start, buf_len(b));
			b->end -= b->start;
			b->start = 0;
		}
		if (b->end + n > b->cap) {
			size_t nc = b->cap ? b->cap * 2 : 4096;
			while (nc < b->end + n)
				nc *= 2;
			b->d = xrealloc(b->d, nc);
			b->cap = nc;
		}
	}
	memcpy(b->d + b->end, p, n);
	b->end += n;
	return 0;
}

static void buf_consume(struct buf *b, size_t n)
{
	b->start += n;
	if (b->start == b->end) {
		b->start = b->end = 0;
		if (b->cap > (64u << 10)) { /* give big bursts back */
			free(b->d);
			b->d = NULL;
			b->cap = 0;
		}
	}
}

static void buf_free(struct buf *b)
{
	free(b->d);
	memset(b, 0, sizeof *b);
}

enum ckind { CL_CMD, CL_ATTACH, CL_WAIT, CL_REPLY };

struct client {
	struct client *next;
	int fd;
	enum ckind kind;
	int f_in, f_out, f_err; /* attach flags */
	int rd_eof, closing, dead;
	short revents;
	size_t cmdlen;
	char cmd[256];
	struct buf out;
};

struct lbuf {
	char *d;
	size_t len;
};

static struct {
	const struct spec *s;
	int bundlefd, lsock, sigfd, sp, logfd, mntns;
	pid_t child;
	int child_alive, status;
	struct timespec finished, deadline;
	int out_fd[2];
	int master; /* tty: pty master (kept for resize), else -1 */
	int in_fd, in_close_pending;
	struct buf inbuf;
	enum { ST_WAIT_GO, ST_STARTING, ST_RUNNING } st;
	int exec_err; /* code of an "error" line after go */
	struct client *clients;
	int nclients;
	struct lbuf lb[2];
	struct buf logout;
	unsigned long long logsize; /* bytes in the live log file */
	char gobuf[64];
	size_t golen;
} S;

static const char *stream_name[2] = { "stdout", "stderr" };

/* ------------------------------------------------------------------ helpers */

static long ms_until(const struct timespec *t)
{
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	long ms = (t->tv_sec - now.tv_sec) * 1000 + (t->tv_nsec - now.tv_nsec) / 1000000;
	return ms < 0 ? 0 : ms;
}

static void deadline_in(struct timespec *t, long ms)
{
	clock_gettime(CLOCK_MONOTONIC, t);
	t->tv_sec += ms / 1000;
	t->tv_nsec += (ms % 1000) * 1000000;
	if (t->tv_nsec >= 1000000000) {
		t->tv_sec++;
		t->tv_nsec -= 1000000000;
	}
}

static void detach_stdio(void)
{
	int fd = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return;
	for (int i = 0; i < 3; i++)
		dup2(fd, i);
	close(fd);
}

static void client_drop(struct client *c)
{
	if (c->dead)
		return;
	close(c->fd);
	c->fd = -1;
	c->dead = 1;
	buf_free(&c->out);
}

static void client_flush(struct client *c)
{
	while (!c->dead && buf_len(&c->out) > 0) {
		ssize_t n = send(c->fd, c->out.d + c->out.start, buf_len(&c->out), MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN)
				client_drop(c);
			return;
		}
		buf_consume(&c->out, (size_t)n);
	}
	if (!c->dead && c->closing && buf_len(&c->out) == 0)
		client_drop(c);
}

/* Whether an attach client has so much output waiting that the container's must wait too. */
static int output_held(void)
{
	for (const struct client *c = S.clients; c; c = c->next)
		if (!c->dead && c->kind == CL_ATTACH && (c->f_out || c->f_err) && buf_len(&c->out) >= OUTPUT_HOLD)
			return 1;
	return 0;
}

static void client_send(struct client *c, const void *p, size_t n)
{
	if (c->dead)
		return;
	if (buf_append(&c->out, p, n, CLIENT_OUT_MAX) < 0) {
		client_drop(c); /* too slow: never block the container on one client */
		return;
	}
	client_flush(c);
}

static void client_reply(struct client *c, const char *msg)
{
	c->kind = CL_REPLY;
	c->closing = 1;
	client_send(c, msg, strlen(msg));
}

static void sweep_clients(void)
{
	for (struct client **pp = &S.clients; *pp;) {
		struct client *c = *pp;
		if (c->dead) {
			*pp = c->next;
			free(c);
			S.nclients--;
		} else
			pp = &c->next;
	}
}

/* ------------------------------------------------------------------ log */

/*
 * Rotation (`log_max_size`, `log_max_files`), as Docker's json-file driver does it: the live
 * file moves to <log>.1, <log>.1 to <log>.2 … up to max-files - 1, and a new live file is
 * opened; with one file the live file is truncated. It happens before a line that would
 * take the file past max-size, so files stay within it and no line is split across two.
 */
static void log_rotate(void)
{
	const char *path = S.s->log;
	int keep = S.s->log_max_files > 0 ? S.s->log_max_files : 1;
	if (keep == 1) {
		if (ftruncate(S.logfd, 0) == 0)
			S.logsize = 0;
		return;
	}
	size_t len = strlen(path) + 16;
	char *from = xmalloc(len), *to = xmalloc(len);
	for (int i = keep - 1; i >= 1; i--) {
		if (i == 1)
			snprintf(from, len, "%s", path);
		else
			snprintf(from, len, "%s.%d", path, i - 1);
		snprintf(to, len, "%s.%d", path, i);
		(void)rename(from, to); /* a missing older file is fine */
	}
	free(from);
	free(to);
	int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
	if (fd < 0)
		return; /* keep writing to the renamed file */
	dup2(fd, S.logfd); /* the fd number stays: O_CLOEXEC is not copied, set it again */
	fcntl(S.logfd, F_SETFD, FD_CLOEXEC);
	close(fd);
	S.logsize = 0;
}

static void log_flush(void)
{
	size_t n = buf_len(&S.logout);
	if (n > 0) {
		write_all(S.logfd, S.logout.d + S.logout.start, n);
		buf_consume(&S.logout, n);
		S.logsize += n;
	}
}

static void log_emit(int st, char tag, const char *p, size_t n, const char *ts, size_t tslen)
{
	if (S.s->tty && tag == 'F' && n > 0 && p[n - 1] == '\r')
		n--;
	if (buf_len(&S.logout) + tslen + n + 16 > LOG_OUT_MAX)
		log_flush();
	char head[96];
	int hl = snprintf(head, sizeof head, "%.*s %s %c ", (int)tslen, ts, stream_name[st], tag);
	/* Rotate before a line that would take the file past max-size (never an empty file). */
	if (S.s->log_max_size > 0 && S.s->log) {
		unsigned long long used = S.logsize + buf_len(&S.logout);
		if (used > 0 && used + (unsigned long long)hl + n + 1 > S.s->log_max_size) {
			log_flush();
			log_rotate();
		}
	}
	buf_append(&S.logout, head, (size_t)hl, SIZE_MAX);
	buf_append(&S.logout, p, n, SIZE_MAX);
	buf_append(&S.logout, "\n", 1, SIZE_MAX);
}

static void log_data(int st, const char *p, size_t n, const char *ts, size_t tslen)
{
	struct lbuf *lb = &S.lb[st];
	while (n > 0) {
		const char *nl = memchr(p, '\n', n);
		size_t seg = nl ? (size_t)(nl - p) : n;
		while (seg > 0) {
			if (!lb->d)
				lb->d = xmalloc(LOG_LINE_MAX);
			if (lb->len == LOG_LINE_MAX) {
				log_emit(st, 'P', lb->d, lb->len, ts, tslen);
				lb->len = 0;
			}
			size_t c = LOG_LINE_MAX - lb->len;
			if (c > seg)
				c = seg;
			memcpy(lb->d + lb->len, p, c);
			lb->len += c;
			p += c;
			n -= c;
			seg -= c;
		}
		if (nl) {
			log_emit(st, 'F', lb->d ? lb->d : "", lb->len, ts, tslen);
			lb->len = 0;
			p++;
			n--;
		}
	}
}

static void log_eof(int st)
{
	struct lbuf *lb = &S.lb[st];
	if (S.logfd >= 0 && lb->len > 0) {
		char ts[48];
		struct timespec now;
		clock_gettime(CLOCK_REALTIME, &now);
		size_t tl = fmt_rfc3339nano(ts, sizeof ts, &now);
		log_emit(st, 'P', lb->d, lb->len, ts, tl);
		lb->len = 0;
		log_flush();
	}
	free(lb->d);
	lb->d = NULL;
}

/* ------------------------------------------------------------------ output and stdin */

static void dispatch(int st, const char *p, size_t n)
{
	if (S.logfd >= 0) {
		char ts[48];
		struct timespec now;
		clock_gettime(CLOCK_REALTIME, &now);
		size_t tl = fmt_rfc3339nano(ts, sizeof ts, &now);
		log_data(st, p, n, ts, tl);
		log_flush();
	}
	unsigned char hdr[8] = { (unsigned char)(st + 1), 0, 0, 0, (unsigned char)(n >> 24),
				 (unsigned char)(n >> 16), (unsigned char)(n >> 8), (unsigned char)n };
	for (struct client *c = S.clients; c; c = c->next) {
		if (c->dead || c->kind != CL_ATTACH || !(st == 0 ? c->f_out : c->f_err))
			continue;
		if (S.s->tty) {
			client_send(c, p, n);
		} else {
			if (buf_len(&c->out) + sizeof hdr + n > CLIENT_OUT_MAX) {
				client_drop(c);
				continue;
			}
			buf_append(&c->out, hdr, sizeof hdr, CLIENT_OUT_MAX);
			client_send(c, p, n);
		}
	}
}

static void read_output(int st)
{
	static char *chunk;
	if (!chunk)
		chunk = xmalloc(READ_CHUNK);
	ssize_t n = read(S.out_fd[st], chunk, READ_CHUNK);
	if (n > 0) {
		dispatch(st, chunk, (size_t)n);
		if (!S.child_alive)
			deadline_in(&S.deadline, DRAIN_MS);
		return;
	}
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	/* EOF, or EIO from a pty master once every slave is closed */
	if (S.out_fd[st] != S.master)
		close(S.out_fd[st]);
	S.out_fd[st] = -1;
	log_eof(st);
}

static void stdin_close(void)
{
	if (S.in_fd >= 0)
		close(S.in_fd);
	S.in_fd = -1;
	buf_free(&S.inbuf);
	S.in_close_pending = 0;
}

static void stdin_flush(void)
{
	while (S.in_fd >= 0 && buf_len(&S.inbuf) > 0) {
		ssize_t n = write(S.in_fd, S.inbuf.d + S.inbuf.start, buf_len(&S.inbuf));
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN)
				stdin_close(); /* EPIPE: the child closed its stdin */
			return;
		}
		buf_consume(&S.inbuf, (size_t)n);
	}
	if (S.in_fd >= 0 && S.in_close_pending && buf_len(&S.inbuf) == 0)
		stdin_close();
}

static void stdin_feed(const char *p, size_t n)
{
	if (S.in_fd < 0 || n == 0)
		return;
	buf_append(&S.inbuf, p, n, SIZE_MAX); /* bounded by the reads (see client_wants_read) */
	stdin_flush();
}

static void stdin_eof(void)
{
	if (S.s->tty || S.in_fd < 0)
		return;
	S.in_close_pending = 1;
	stdin_flush();
}

/* ------------------------------------------------------------------ commands */

static int exit_code(void)
{
	if (WIFEXITED(S.status))
		return WEXITSTATUS(S.status);
	if (WIFSIGNALED(S.status))
		return 128 + WTERMSIG(S.status);
	return 255;
}

static void command(struct client *c, char *line, const char *rest, size_t restlen)
{
	char reply[160];
	if (!strncmp(line, "attach", 6) && (line[6] == 0 || line[6] == ' ')) {
		c->kind = CL_ATTACH;
		for (const char *f = line + 6; *f; f++) {
			if (*f == 'i')
				c->f_in = 1;
			else if (*f == 'o')
				c->f_out = 1;
			else if (*f == 'e')
				c->f_err = 1;
			else if (*f != ' ') {
				client_reply(c, "error unknown attach flag\n");
				return;
			}
		}
		if (c->f_in)
			stdin_feed(rest, restlen);
	} else if (!strcmp(line, "wait")) {
		c->kind = CL_WAIT; /* answered when the exit file is written */
	} else if (!strncmp(line, "resize ", 7)) {
		unsigned rows, cols;
		char extra;
		if (sscanf(line + 7, "%u %u %c", &rows, &cols, &extra) != 2 || rows > 65535 || cols > 65535)
			client_reply(c, "error usage: resize <rows> <cols>\n");
		else if (S.master < 0)
			client_reply(c, "error container has no tty\n");
		else {
			struct winsize ws = { .ws_row = (unsigned short)rows, .ws_col = (unsigned short)cols };
			if (ioctl(S.master, TIOCSWINSZ, &ws) < 0)
				snprintf(reply, sizeof reply, "error %s\n", strerror(errno));
			else
				strcpy(reply, "ok\n");
			client_reply(c, reply);
		}
	} else if (!strncmp(line, "signal ", 7)) {
		char *end;
		long sig = strtol(line + 7, &end, 10);
		if (end == line + 7 || *end || sig < 0 || sig >= NSIG)
			client_reply(c, "error usage: signal <n>\n");
		else if (!S.child_alive)
			client_reply(c, "error container is not running\n");
		else {
			if (kill(S.child, (int)sig) < 0)
				snprintf(reply, sizeof reply, "error %s\n", strerror(errno));
			else
				strcpy(reply, "ok\n");
			client_reply(c, reply);
		}
	} else {
		client_reply(c, "error unknown command\n");
	}
}

static int client_wants_read(const struct client *c)
{
	if (c->dead || c->rd_eof || c->closing)
		return 0;
	if (c->kind == CL_CMD)
		return 1;
	if (c->kind != CL_ATTACH)
		return 0;
	if (c->f_in && S.in_fd >= 0)
		return buf_len(&S.inbuf) < STDIN_MAX;
	return 1; /* read and discard, to notice EOF */
}

static void client_read(struct client *c)
{
	char b[16384];
	size_t want = sizeof b;
	if (c->kind == CL_ATTACH && c->f_in && S.in_fd >= 0 && STDIN_MAX - buf_len(&S.inbuf) < want)
		want = STDIN_MAX - buf_len(&S.inbuf);
	if (c->kind == CL_CMD)
		want = sizeof c->cmd - 1 - c->cmdlen;
	ssize_t n = recv(c->fd, c->kind == CL_CMD ? c->cmd + c->cmdlen : b, want, MSG_DONTWAIT);
	if (n < 0) {
		if (errno != EAGAIN && errno != EINTR)
			client_drop(c);
		return;
	}
	if (n == 0) {
		c->rd_eof = 1;
		if (c->kind == CL_CMD)
			client_drop(c);
		else if (c->kind == CL_ATTACH && c->f_in)
			stdin_eof();
		return;
	}
	if (c->kind == CL_CMD) {
		c->cmdlen += (size_t)n;
		char *nl = memchr(c->cmd, '\n', c->cmdlen);
		if (!nl) {
			if (c->cmdlen >= sizeof c->cmd - 1)
				client_reply(c, "error command too long\n");
			return;
		}
		*nl = 0;
		if (nl > c->cmd && nl[-1] == '\r')
			nl[-1] = 0;
		command(c, c->cmd, nl + 1, c->cmdlen - (size_t)(nl + 1 - c->cmd));
		return;
	}
	if (c->kind == CL_ATTACH && c->f_in)
		stdin_feed(b, (size_t)n);
}

static void accept_clients(void)
{
	while (S.nclients < MAX_CLIENTS) {
		int fd = accept4(S.lsock, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0)
			return;
		struct client *c = calloc(1, sizeof *c);
		if (!c) {
			close(fd);
			return;
		}
		c->fd = fd;
		c->kind = CL_CMD;
		c->next = S.clients;
		S.clients = c;
		S.nclients++;
	}
}

/* ------------------------------------------------------------------ lifecycle */

static void abort_setup(const char *msg) __attribute__((noreturn));
static void abort_setup(const char *msg)
{
	report_error(EXIT_SETUP, msg);
	if (S.child_alive) {
		kill(S.child, SIGKILL);
		while (waitpid(S.child, NULL, 0) < 0 && errno == EINTR)
			;
	}
	unlinkat(S.bundlefd, "attach.sock", 0);
	_exit(EXIT_SETUP);
}

static void handle_sp(void)
{
	char msg[1024];
	ssize_t n = recv(S.sp, msg, sizeof msg - 1, MSG_DONTWAIT);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		/* EOF: the control socket is CLOEXEC, so execve succeeded (or the child died) */
		close(S.sp);
		S.sp = -1;
		if (S.st == ST_WAIT_GO)
			abort_setup("container init exited before start");
		if (S.st == ST_STARTING)
			S.st = ST_RUNNING; /* the daemon saw the pipe end (decision 51) */
		return;
	}
	msg[n] = 0;
	if (msg[0] != 'E')
		return;
	char *text = strchr(msg, ' ');
	int code = atoi(msg + 1);
	if (S.st == ST_WAIT_GO)
		abort_setup(text ? text + 1 : "container init failed");
	if (S.st == ST_STARTING) {
		/* (the child wrote the error line to the daemon itself) */
		S.exec_err = code ? code : EXIT_SETUP;
		S.st = ST_RUNNING;
	}
}

static void reap(void)
{
	int st;
	pid_t p;
	while ((p = waitpid(-1, &st, WNOHANG)) > 0) {
		if (p != S.child)
			continue;
		S.child_alive = 0;
		S.status = st;
		clock_gettime(CLOCK_REALTIME, &S.finished);
		deadline_in(&S.deadline, DRAIN_MS);
		/* collect what the child said before dying (exec error) */
		for (int i = 0; i < 8 && S.sp >= 0; i++)
			handle_sp();
	}
}

static void handle_signals(void)
{
	struct signalfd_siginfo si;
	while (read(S.sigfd, &si, sizeof si) == (ssize_t)sizeof si) {
		if (si.ssi_signo == SIGCHLD)
			reap();
		else if (S.child_alive)
			kill(S.child, (int)si.ssi_signo);
	}
}

static void handle_stdin(void)
{
	ssize_t n = read(STDIN_FILENO, S.gobuf + S.golen, sizeof S.gobuf - 1 - S.golen);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0)
		abort_setup("stdin closed before go");
	S.golen += (size_t)n;
	char *nl;
	while ((nl = memchr(S.gobuf, '\n', S.golen))) {
		*nl = 0;
		int go = !strcmp(S.gobuf, "go");
		size_t used = (size_t)(nl + 1 - S.gobuf);
		memmove(S.gobuf, nl + 1, S.golen - used);
		S.golen -= used;
		if (go) {
			/*
			 * Attach clients whose command was written before "go" must see all output:
			 * take them from the backlog and read their command line now.
			 */
			accept_clients();
			for (struct client *c = S.clients; c; c = c->next)
				if (!c->dead && c->kind == CL_CMD)
					client_read(c);
			if (send(S.sp, "G", 1, MSG_NOSIGNAL) != 1)
				abort_setup("container init exited before start");
			/*
			 * The child's close-on-exec copy of the daemon's pipe is now its only writer:
			 * the daemon reads "started" as the pipe's end at the execve (one wakeup of
			 * ours less on the start's path), and an exec error from the child itself.
			 */
			detach_stdio();
			S.st = ST_STARTING;
			return;
		}
	}
	if (S.golen >= sizeof S.gobuf - 1)
		S.golen = 0; /* junk without newline */
}

static void finish(void) __attribute__((noreturn));
static void finish(void)
{
	for (int i = 0; i < 2; i++)
		if (S.out_fd[i] >= 0) {
			if (S.out_fd[i] != S.master)
				close(S.out_fd[i]);
			S.out_fd[i] = -1;
			log_eof(i);
		}
	if (S.logfd >= 0) {
		log_flush();
		close(S.logfd);
	}
	stdin_close();

	int code = exit_code();
	int sig = WIFSIGNALED(S.status) ? WTERMSIG(S.status) : 0;
	char ts[48], content[160];
	fmt_rfc3339nano(ts, sizeof ts, &S.finished);
	snprintf(content, sizeof content, "code=%d\nsignal=%d\nfinished=%s\n", code, sig, ts);
	/*
	 * Atomic (rename) but not fsynced: the page cache outlives a daemon crash, and a power loss
	 * ends the container with the machine (the exec-root is normally a tmpfs). The fsyncs of the
	 * file and the dir were ~7 ms between the exit and the `wait` answer.
	 */
	write_file_atomic(S.bundlefd, "exit", content, 0);

	close(S.lsock);
	unlinkat(S.bundlefd, "attach.sock", 0);

	char wmsg[32];
	snprintf(wmsg, sizeof wmsg, "exit %d\n", code);
	for (struct client *c = S.clients; c; c = c->next) {
		if (c->dead)
			continue;
		if (c->kind == CL_CMD) {
			client_drop(c);
			continue;
		}
		c->closing = 1;
		if (c->kind == CL_WAIT)
			client_send(c, wmsg, strlen(wmsg));
		else
			client_flush(c);
	}
	sweep_clients();

	/*
	 * The container's mount namespace dies here, once the exit was told, not in the exit of its
	 * PID 1: the unmount of its tree (and an RCU grace period) then delayed our SIGCHLD, and with
	 * it both. It does not wait for slow attach clients either.
	 */
	if (S.mntns >= 0)
		close(S.mntns);
	S.mntns = -1;
	while (S.clients) {
		struct pollfd pfd[MAX_CLIENTS];
		int n = 0;
		for (struct client *c = S.clients; c && n < MAX_CLIENTS; c = c->next)
			pfd[n++] = (struct pollfd){ .fd = c->fd, .events = POLLOUT };
		if (poll(pfd, (nfds_t)n, -1) < 0 && errno != EINTR)
			break;
		for (struct client *c = S.clients; c; c = c->next)
			client_flush(c); /* a client that went away fails its send and is dropped */
		sweep_clients();
	}
	for (struct client *c = S.clients; c; c = c->next)
		client_drop(c);
	_exit(S.exec_err ? S.exec_err : 0);
}

int supervise(struct sup_init *in)
{
	S.s = in->s;
	S.bundlefd = in->bundlefd;
	S.lsock = in->lsock;
	S.sigfd = in->sigfd;
	S.sp = in->sp;
	S.logfd = in->logfd;
	S.mntns = in->mntns;
	struct stat lst;
	S.logsize = (S.logfd >= 0 && fstat(S.logfd, &lst) == 0) ? (unsigned long long)lst.st_size : 0;
	S.child = in->child;
	S.child_alive = 1;
	S.out_fd[0] = in->out_fd[0];
	S.out_fd[1] = in->out_fd[1];
	S.in_fd = in->in_fd;
	S.master = in->s->tty ? in->out_fd[0] : -1;
	S.st = ST_WAIT_GO;
	for (int i = 0; i < 2; i++)
		if (S.out_fd[i] >= 0)
			set_nonblock(S.out_fd[i]);
	if (S.in_fd >= 0)
		set_nonblock(S.in_fd);

	struct pollfd pfd[8 + MAX_CLIENTS];
	struct client *pcl[8 + MAX_CLIENTS];
	for (;;) {
		int n = 0, i_sig, i_sp = -1, i_ls = -1, i_stdin = -1, i_out[2] = { -1, -1 }, i_in = -1;
#define ADD(fd_, ev_) (pfd[n] = (struct pollfd){ .fd = (fd_), .events = (ev_) }, pcl[n] = NULL, n++)
		i_sig = ADD(S.sigfd, POLLIN);
		if (S.sp >= 0)
			i_sp = ADD(S.sp, POLLIN);
		if (S.nclients < MAX_CLIENTS)
			i_ls = ADD(S.lsock, POLLIN);
		if (S.st == ST_WAIT_GO)
			i_stdin = ADD(STDIN_FILENO, POLLIN);
		int held = output_held();
		for (int i = 0; i < 2; i++)
			if (S.out_fd[i] >= 0 && !held)
				i_out[i] = ADD(S.out_fd[i], POLLIN);
		if (S.in_fd >= 0 && buf_len(&S.inbuf) > 0)
			i_in = ADD(S.in_fd, POLLOUT);
		for (struct client *c = S.clients; c; c = c->next) {
			c->revents = 0;
			short ev = (short)((client_wants_read(c) ? POLLIN : 0) | (buf_len(&c->out) ? POLLOUT : 0));
			if (ev) {
				ADD(c->fd, ev);
				pcl[n - 1] = c;
			}
		}
#undef ADD
		int timeout = -1;
		if (!S.child_alive && held)
			deadline_in(&S.deadline, DRAIN_MS); /* a client holding the output is not the pipes' fault */
		if (!S.child_alive)
			timeout = (int)ms_until(&S.deadline);
		int r = poll(pfd, (nfds_t)n, timeout);
		if (r < 0 && errno != EINTR)
			abort_setup("poll failed");
		if (r > 0) {
			for (int k = 0; k < n; k++)
				if (pcl[k])
					pcl[k]->revents = pfd[k].revents;
			if (i_sp >= 0 && pfd[i_sp].revents)
				handle_sp();
			for (int i = 0; i < 2; i++)
				if (i_out[i] >= 0 && pfd[i_out[i]].revents && S.out_fd[i] >= 0)
					read_output(i);
			if (pfd[i_sig].revents)
				handle_signals();
			if (i_stdin >= 0 && pfd[i_stdin].revents && S.st == ST_WAIT_GO)
				handle_stdin();
			if (i_in >= 0 && pfd[i_in].revents)
				stdin_flush();
			for (struct client *c = S.clients; c; c = c->next) {
				if (c->dead || !c->revents)
					continue;
				if (c->revents & POLLOUT)
					client_flush(c);
				if (!c->dead && (c->revents & (POLLIN | POLLHUP | POLLERR))) {
					if (client_wants_read(c))
						client_read(c);
					else if (c->revents & (POLLHUP | POLLERR))
						client_drop(c);
				}
			}
			if (i_ls >= 0 && pfd[i_ls].revents)
				accept_clients();
			sweep_clients();
		}
		if (!S.child_alive &&
		    ((S.sp < 0 && S.out_fd[0] < 0 && S.out_fd[1] < 0) || ms_until(&S.deadline) == 0))
			finish();
	}
}
