/*
 * tsnet: first ask the daemon to run the command line (served.c: the thin client, no node at
 * all); when the daemon cannot or will not, start the CLI (dist/cli-bundle/main.cjs) with node,
 * from its V8 start-up snapshot (tsnet.blob, made by scripts/bundle-cli.mjs) when the snapshot
 * fits, else from the bundle.
 *
 * It replaces the `#!/usr/bin/env -S -u NODE_EXTRA_CA_CERTS node` shebang: one execve of a
 * small static program instead of one of env, and then node. No fork, no shell.
 *
 * The snapshot fits when tsnet.blob.stamp, written after the blob was built, still describes
 * the node found on PATH (device, inode, size, mtime: an upgraded or other node differs) and the
 * sizes of the blob and main.cjs (a copied install still fits), and NODE_OPTIONS is empty (V8 flags there change the
 * flag hash node checks, and node would refuse the blob). Otherwise node runs main.cjs: the
 * same CLI, a few milliseconds slower to start, never an error.
 *
 * TSNET_CLI_DIRECT=0 skips the daemon; TSNET_NO_SNAPSHOT=1 forces the bundle;
 * TSNET_LAUNCH_DEBUG=1 says on stderr which path runs.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "served.h"

#define STAMP_MAX 512

/* The first executable `node` on PATH, as env(1) would find it. */
static int find_node(char *out, size_t size) {
  const char *path = getenv("PATH");
  if (path == NULL || *path == '\0') path = "/usr/local/bin:/usr/bin:/bin";
  for (const char *p = path;;) {
    const char *end = strchrnul(p, ':');
    int len = (int)(end - p);
    int n = len == 0 ? snprintf(out, size, "node") : snprintf(out, size, "%.*s/node", len, p);
    struct stat st;
    if (n > 0 && (size_t)n < size && access(out, X_OK) == 0 && stat(out, &st) == 0 && S_ISREG(st.st_mode)) return 0;
    if (*end == '\0') return -1;
    p = end + 1;
  }
}

/*
 * Appended to buf: " dev ino size mtime.nsec" of a file when `whole`, else " size" (the blob and
 * main.cjs: an install copies them, a rebuild rewrites the stamp); -1 if it cannot be stat'ed.
 */
static int identity(char *buf, size_t size, const char *file, int whole) {
  struct stat st;
  if (stat(file, &st) != 0) return -1;
  size_t used = strlen(buf);
  int n = whole ? snprintf(buf + used, size - used, " %llu %llu %lld %lld.%09ld", (unsigned long long)st.st_dev,
                           (unsigned long long)st.st_ino, (long long)st.st_size, (long long)st.st_mtim.tv_sec,
                           st.st_mtim.tv_nsec)
                : snprintf(buf + used, size - used, " %lld", (long long)st.st_size);
  return n > 0 && (size_t)n < size - used ? 0 : -1;
}

/* Why the snapshot does not fit, or NULL when it does. */
static const char *snapshot_misfit(const char *node, const char *blob, const char *main_js, const char *stamp) {
  const char *opts = getenv("NODE_OPTIONS");
  if (opts != NULL && *opts != '\0') return "NODE_OPTIONS is set";
  const char *off = getenv("TSNET_NO_SNAPSHOT");
  if (off != NULL && *off != '\0' && strcmp(off, "0") != 0) return "TSNET_NO_SNAPSHOT is set";
  char want[STAMP_MAX] = "tsnet-snapshot-2";
  if (identity(want, sizeof want, node, 1) || identity(want, sizeof want, blob, 0) ||
      identity(want, sizeof want, main_js, 0))
    return "no snapshot blob";
  strcat(want, "\n");
  char have[STAMP_MAX];
  int fd = open(stamp, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return "no snapshot stamp";
  ssize_t n = read(fd, have, sizeof have - 1);
  close(fd);
  if (n < 0) return "unreadable snapshot stamp";
  have[n] = '\0';
  return strcmp(want, have) == 0 ? NULL : "the snapshot was built for another node or bundle";
}

int main(int argc, char **argv) {
  char self[PATH_MAX];
  ssize_t len = readlink("/proc/self/exe", self, sizeof self - 1);
  if (len <= 0) {
    if (realpath(argv[0], self) == NULL) {
      fprintf(stderr, "tsnet: cannot find where the tsnet launcher is (no /proc/self/exe): run node %s instead\n",
              "dist/cli-bundle/main.cjs");
      return 127;
    }
  } else {
    self[len] = '\0';
  }
  const char *debug = getenv("TSNET_LAUNCH_DEBUG");
  int debugging = debug != NULL && *debug != '\0';
  /* returns only when node is to run the command line (no daemon socket, or its answer: fallback) */
  try_served(argc, argv, debugging);
  char *slash = strrchr(self, '/');
  if (slash == NULL) return 127;
  *slash = '\0';
  char node[PATH_MAX], blob[PATH_MAX + 32], main_js[PATH_MAX + 32], stamp[PATH_MAX + 32];
  snprintf(blob, sizeof blob, "%s/tsnet.blob", self);
  snprintf(stamp, sizeof stamp, "%s/tsnet.blob.stamp", self);
  snprintf(main_js, sizeof main_js, "%s/main.cjs", self);
  if (find_node(node, sizeof node) != 0) {
    fprintf(stderr, "tsnet: node is not on PATH: install Node.js 20 or newer (or add it to PATH)\n");
    return 127;
  }
  const char *misfit = snapshot_misfit(node, blob, main_js, stamp);
  if (debugging) {
    if (misfit == NULL) fprintf(stderr, "tsnet: launch: %s from the snapshot %s\n", node, blob);
    else fprintf(stderr, "tsnet: launch: %s %s (%s)\n", node, main_js, misfit);
  }
  /* NODE_EXTRA_CA_CERTS makes every node start read the CA bundle (~50 ms); the CLI uses no TLS. */
  unsetenv("NODE_EXTRA_CA_CERTS");
  char **args = calloc((size_t)argc + 4, sizeof *args);
  if (args == NULL) return 127;
  int i = 0;
  args[i++] = "node";
  if (misfit == NULL) {
    args[i++] = "--snapshot-blob";
    args[i++] = blob;
  }
  /* with the snapshot node does not run main.cjs, but takes it as argv[1]: the CLI finds full.cjs beside it */
  args[i++] = main_js;
  for (int a = 1; a < argc; a++) args[i++] = argv[a];
  args[i] = NULL;
  execv(node, args);
  fprintf(stderr, "tsnet: cannot run %s: %s\n", node, strerror(errno));
  return 127;
}
