/*
 * The thin client: the daemon runs the command line (src/cli/serve/host.ts) and this relays.
 *
 * The CLI socket is the API socket's path + ".cli" (/run/tsnet/tsnet.sock.cli by default), the
 * API socket being the one the command targets: -H/--host (leading), else TSNET_HOST, else
 * unix:///run/tsnet/tsnet.sock; a tcp:// host has none. Connect, send a hello (argv, environ,
 * cwd, which of fds 0/1/2 are terminals, the window size), then one poll loop: output frames to
 * fds 1 and 2, stdin when the daemon asks for it, raw mode on and off (restored at exit),
 * SIGWINCH as a resize, SIGINT/TERM/HUP/QUIT/USR1/USR2 as signal frames, and the exit code.
 * The wire format is src/cli/serve/frames.ts's. No socket, a refused connection, or `fallback`
 * returns to main, which runs node as always. A daemon that closes the session without a frame
 * died with the command under way: that is an error, never a second run through node.
 */
#define _GNU_SOURCE
#include "served.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <termios.h>
#include <unistd.h>

extern char **environ;

#define HEADER 5
#define PROTOCOL 1
#define HELLO_MAX (1u << 20)
#define DATA_MAX (1u << 16)

enum {
  T_HELLO = 'h', T_STDIN = 'i', T_RESIZE = 'w', T_SIGNAL = 's',
  T_FALLBACK = 'f', T_STDOUT = 'o', T_STDERR = 'e', T_READ = 'r', T_RAW = 't', T_KILL = 'k', T_EXIT = 'x',
};

static const int RELAYED[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGWINCH};
#define NRELAYED (sizeof RELAYED / sizeof RELAYED[0])

static int sig_pipe[2] = {-1, -1};
static struct termios saved_termios;
static int raw_saved = 0;

static void on_signal(int sig) {
  int e = errno;
  unsigned char b = (unsigned char)sig;
  if (write(sig_pipe[1], &b, 1) < 0) { /* the pipe is full: the signal is dropped, as a repeat */ }
  errno = e;
}

/* The API socket path the command targets, or NULL when it is not a unix socket. */
static const char *api_socket(int argc, char **argv) {
  const char *host = NULL;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if ((strcmp(a, "-H") == 0 || strcmp(a, "--host") == 0) && i + 1 < argc) host = argv[++i];
    else if (strncmp(a, "--host=", 7) == 0) host = a + 7;
    else if (strncmp(a, "-H", 2) == 0 && a[2] != '\0') host = a + 2;
    else break;
  }
  if (host == NULL || *host == '\0') host = getenv("TSNET_HOST");
  if (host == NULL || *host == '\0') host = "unix:///run/tsnet/tsnet.sock";
  if (strncmp(host, "unix://", 7) == 0) host += 7;
  else if (host[0] != '/') return NULL;
  return *host == '\0' ? NULL : host;
}

static void put32(unsigned char *p, uint32_t v) {
  p[0] = (unsigned char)(v >> 24); p[1] = (unsigned char)(v >> 16); p[2] = (unsigned char)(v >> 8); p[3] = (unsigned char)v;
}
static void put16(unsigned char *p, unsigned v) { p[0] = (unsigned char)(v >> 8); p[1] = (unsigned char)v; }
static uint32_t get32(const unsigned char *p) {
  return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

/* Write it all; waits out EAGAIN (a non-blocking fd shared with others). -1 with errno on failure. */
static int write_all(int fd, const unsigned char *p, size_t n) {
  while (n > 0) {
    ssize_t w = write(fd, p, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN) {
        struct pollfd pfd = {.fd = fd, .events = POLLOUT};
        poll(&pfd, 1, -1);
        continue;
      }
      return -1;
    }
    p += w;
    n -= (size_t)w;
  }
  return 0;
}

static int send_frame(int sock, int type, const void *payload, size_t len) {
  unsigned char head[HEADER];
  put32(head, (uint32_t)len);
  head[4] = (unsigned char)type;
  if (write_all(sock, head, HEADER) != 0) return -1;
  return len == 0 ? 0 : write_all(sock, payload, len);
}

static void window_size(unsigned *rows, unsigned *cols) {
  struct winsize ws;
  if (ioctl(1, TIOCGWINSZ, &ws) == 0) {
    *rows = ws.ws_row;
    *cols = ws.ws_col;
  } else {
    *rows = *cols = 0;
  }
}

/* The hello frame (header included), or NULL when it would be too big (node runs it then). */
static unsigned char *hello(int argc, char **argv, size_t *len) {
  char cwd[4096];
  if (getcwd(cwd, sizeof cwd) == NULL) return NULL;
  size_t size = HEADER + 14 + strlen(cwd) + 1;
  uint32_t envc = 0;
  for (int i = 1; i < argc; i++) size += strlen(argv[i]) + 1;
  for (char **e = environ; *e != NULL; e++, envc++) size += strlen(*e) + 1;
  if (size - HEADER > HELLO_MAX) return NULL;
  unsigned char *buf = malloc(size);
  if (buf == NULL) return NULL;
  put32(buf, (uint32_t)(size - HEADER));
  buf[4] = T_HELLO;
  unsigned char *p = buf + HEADER;
  p[0] = PROTOCOL;
  p[1] = (unsigned char)((isatty(0) ? 1 : 0) | (isatty(1) ? 2 : 0) | (isatty(2) ? 4 : 0));
  unsigned rows, cols;
  window_size(&rows, &cols);
  put16(p + 2, rows);
  put16(p + 4, cols);
  put32(p + 6, (uint32_t)(argc - 1));
  put32(p + 10, envc);
  p += 14;
  size_t n = strlen(cwd) + 1;
  memcpy(p, cwd, n);
  p += n;
  for (int i = 1; i < argc; i++) {
    n = strlen(argv[i]) + 1;
    memcpy(p, argv[i], n);
    p += n;
  }
  for (char **e = environ; *e != NULL; e++) {
    n = strlen(*e) + 1;
    memcpy(p, *e, n);
    p += n;
  }
  *len = size;
  return buf;
}

/* Raw mode as node (libuv's UV_TTY_MODE_RAW) sets it on stdin; off restores what was there. */
static void set_raw(int on) {
  if (on) {
    struct termios t;
    if (tcgetattr(0, &t) != 0) return;
    if (!raw_saved) {
      saved_termios = t;
      raw_saved = 1;
    }
    t.c_iflag &= (tcflag_t) ~(BRKINT | ICRNL | INPCK | ISTRIP | IXON);
    t.c_oflag |= ONLCR;
    t.c_cflag |= CS8;
    t.c_lflag &= (tcflag_t) ~(ECHO | ICANON | IEXTEN | ISIG);
    t.c_cc[VMIN] = 1;
    t.c_cc[VTIME] = 0;
    tcsetattr(0, TCSADRAIN, &t);
  } else if (raw_saved) {
    tcsetattr(0, TCSADRAIN, &saved_termios);
  }
}

static void leave(int code) {
  if (raw_saved) tcsetattr(0, TCSADRAIN, &saved_termios);
  _exit(code);
}

static void die_of(int sig) {
  if (raw_saved) tcsetattr(0, TCSADRAIN, &saved_termios);
  signal(sig, SIG_DFL);
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, sig);
  sigprocmask(SIG_UNBLOCK, &set, NULL);
  raise(sig);
  _exit(128 + sig);
}

static void fail(const char *what) {
  dprintf(2, "tsnet: %s\n", what);
  leave(125);
}

void try_served(int argc, char **argv, int debug) {
  const char *direct = getenv("TSNET_CLI_DIRECT");
  if (direct != NULL && strcmp(direct, "0") == 0) return;
  const char *api = api_socket(argc, argv);
  if (api == NULL) return;
  struct sockaddr_un sa = {.sun_family = AF_UNIX};
  if ((size_t)snprintf(sa.sun_path, sizeof sa.sun_path, "%s.cli", api) >= sizeof sa.sun_path) return;
  int sock = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (sock < 0) return;
  size_t hello_len = 0;
  unsigned char *h = NULL;
  if (connect(sock, (struct sockaddr *)&sa, sizeof sa) != 0 || (h = hello(argc, argv, &hello_len)) == NULL ||
      write_all(sock, h, hello_len) != 0) {
    if (debug) dprintf(2, "tsnet: launch: no daemon CLI socket at %s (%s)\n", sa.sun_path, strerror(errno));
    free(h);
    close(sock);
    return;
  }
  free(h);

  /* signals: from here to the first frame they are relayed; a fallback puts everything back */
  struct sigaction old[NRELAYED], old_pipe;
  if (pipe2(sig_pipe, O_CLOEXEC | O_NONBLOCK) != 0) {
    close(sock);
    return;
  }
  struct sigaction sa_sig = {.sa_handler = on_signal};
  sigemptyset(&sa_sig.sa_mask);
  for (size_t i = 0; i < NRELAYED; i++) sigaction(RELAYED[i], &sa_sig, &old[i]);
  struct sigaction ign = {.sa_handler = SIG_IGN};
  sigaction(SIGPIPE, &ign, &old_pipe);

  static unsigned char buf[HEADER + DATA_MAX];
  static unsigned char in[DATA_MAX];
  size_t have = 0;
  int first = 1, reading = 0;
  for (;;) {
    struct pollfd fds[3] = {{.fd = sock, .events = POLLIN}, {.fd = sig_pipe[0], .events = POLLIN}, {.fd = 0, .events = POLLIN}};
    if (poll(fds, reading ? 3 : 2, -1) < 0) {
      if (errno == EINTR) continue;
      fail("poll failed");
    }
    if (fds[1].revents & POLLIN) {
      unsigned char sigs[16];
      ssize_t n = read(sig_pipe[0], sigs, sizeof sigs);
      for (ssize_t i = 0; i < n; i++) {
        if (sigs[i] == SIGWINCH) {
          unsigned rows, cols;
          unsigned char p[4];
          window_size(&rows, &cols);
          put16(p, rows);
          put16(p + 2, cols);
          send_frame(sock, T_RESIZE, p, 4);
        } else {
          send_frame(sock, T_SIGNAL, &sigs[i], 1);
        }
      }
    }
    if (reading && fds[2].revents) {
      ssize_t n = read(0, in, sizeof in);
      if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
      if (n <= 0) {
        reading = 0;
        n = 0;
      }
      send_frame(sock, T_STDIN, in, (size_t)n);
    }
    if (!fds[0].revents) continue;
    ssize_t n = read(sock, buf + have, sizeof buf - have);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      /* A daemon with a CLI host always answers (fallback, when it will not run the command),
         so a close without a frame means it died with the command under way, and the command
         may be half done: never run it again with node. */
      fail(first ? "the daemon closed the CLI session without an answer (did tsnetd stop?): the command may or may not have been carried out"
                 : "the daemon closed the CLI session before the command ended");
    }
    have += (size_t)n;
    while (have >= HEADER) {
      uint32_t len = get32(buf);
      int type = buf[4];
      if (len > DATA_MAX) fail("the daemon sent a malformed frame on the CLI socket");
      if (have < HEADER + len) break;
      const unsigned char *p = buf + HEADER;
      if (first) {
        first = 0;
        if (type == T_FALLBACK) goto fallback;
        if (debug) dprintf(2, "tsnet: launch: served by the daemon at %s\n", sa.sun_path);
      }
      switch (type) {
        case T_STDOUT:
          if (write_all(1, p, len) != 0 && errno == EPIPE) leave(0); /* `tsnet ps | head`, as node */
          break;
        case T_STDERR:
          write_all(2, p, len);
          break;
        case T_READ:
          reading = len == 1 && p[0] == 1;
          break;
        case T_RAW:
          if (len == 1) set_raw(p[0] == 1);
          break;
        case T_KILL:
          die_of(len == 1 ? p[0] : SIGTERM);
          break;
        case T_EXIT:
          leave(len == 1 ? p[0] : 125);
          break;
        default:
          fail("the daemon sent a malformed frame on the CLI socket");
      }
      memmove(buf, buf + HEADER + len, have - HEADER - len);
      have -= HEADER + len;
    }
  }
fallback:
  if (debug) dprintf(2, "tsnet: launch: the daemon at %s answered fallback\n", sa.sun_path);
  for (size_t i = 0; i < NRELAYED; i++) sigaction(RELAYED[i], &old[i], NULL);
  sigaction(SIGPIPE, &old_pipe, NULL);
  close(sig_pipe[0]);
  close(sig_pipe[1]);
  close(sock);
}
