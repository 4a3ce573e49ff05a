/*
 * raw-frames: a hostile container's sender and a frame counter, for the fast path's tests
 * (test/integration/network-fast-path-hostile.test.ts). Built by the test with gcc, statically.
 *
 *   raw-frames send IFNAME HEX...   each HEX is one whole Ethernet frame, sent as it is from an
 *                                   AF_PACKET socket (what CAP_NET_RAW, a default capability,
 *                                   allows); prints "sent" or "error <errno name>" per frame
 *   raw-frames count IFNAME [PORT]  counts the frames of the tests seen on IFNAME until SIGTERM:
 *                                   prints "ready", then at the end one line per case:
 *                                   "<case> host=<n> other=<n> outgoing=<n> taken=<n>"
 *
 * A frame of the tests names its case in its source MAC (02:fa:57:ca:5e:<case>) or, when the
 * source MAC is spoofed, in its payload ("FPCASE" then the case byte). host = the frames the
 * kernel took as addressed to this end (PACKET_HOST), other = any other incoming type
 * (broadcast, multicast, another host's), outgoing = the frames sent out of IFNAME (on a
 * bridge port: what the bridge delivered to it), taken = the datagrams of the case that reached
 * a UDP socket on PORT (IPv4 and IPv6): what the namespace's IP stack accepted.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

static volatile sig_atomic_t stop;
static void on_term(int sig) {
  (void)sig;
  stop = 1;
}

static int open_on(const char *ifname, int proto) {
  int fd = socket(AF_PACKET, SOCK_RAW, htons(proto));
  if (fd < 0) {
    fprintf(stderr, "socket: %s\n", strerror(errno));
    exit(2);
  }
  struct sockaddr_ll sll = {.sll_family = AF_PACKET, .sll_protocol = htons(proto)};
  sll.sll_ifindex = (int)if_nametoindex(ifname);
  if (!sll.sll_ifindex || bind(fd, (struct sockaddr *)&sll, sizeof sll) < 0) {
    fprintf(stderr, "bind %s: %s\n", ifname, strerror(errno));
    exit(2);
  }
  return fd;
}

static int send_frames(const char *ifname, int n, char **hex) {
  int fd = open_on(ifname, 0); /* protocol 0: sends, receives nothing */
  unsigned char frame[2048];
  for (int i = 0; i < n; i++) {
    size_t len = strlen(hex[i]) / 2;
    if (len > sizeof frame) len = sizeof frame;
    for (size_t j = 0; j < len; j++) {
      unsigned int b;
      if (sscanf(hex[i] + 2 * j, "%2x", &b) != 1) {
        fprintf(stderr, "frame %d: not hex\n", i);
        return 2;
      }
      frame[j] = (unsigned char)b;
    }
    if (send(fd, frame, len, 0) < 0)
      printf("error %s\n", strerrorname_np(errno));
    else
      printf("sent\n");
  }
  return 0;
}

static int case_of(const unsigned char *f, ssize_t len) {
  static const unsigned char mark[5] = {0x02, 0xfa, 0x57, 0xca, 0x5e};
  if (len >= 12 && memcmp(f + 6, mark, sizeof mark) == 0) return f[11];
  for (ssize_t i = 12; i + 7 <= len; i++)
    if (memcmp(f + i, "FPCASE", 6) == 0) return f[i + 6];
  return -1;
}

static int udp_on(int port) {
  int fd = socket(AF_INET6, SOCK_DGRAM, 0), off = 0;
  struct sockaddr_in6 a = {.sin6_family = AF_INET6, .sin6_port = htons((uint16_t)port), .sin6_addr = IN6ADDR_ANY_INIT};
  if (fd < 0 || setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof off) < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) < 0) {
    fprintf(stderr, "udp port %d: %s\n", port, strerror(errno));
    exit(2);
  }
  return fd;
}

static int count_frames(const char *ifname, int port) {
  static unsigned host[256], other[256], outgoing[256], taken[256];
  struct pollfd p[2] = {{.fd = open_on(ifname, ETH_P_ALL), .events = POLLIN}, {.fd = port ? udp_on(port) : -1, .events = POLLIN}};
  struct sigaction sa = {.sa_handler = on_term};
  sigaction(SIGTERM, &sa, NULL);
  sigaction(SIGINT, &sa, NULL);
  printf("ready\n");
  fflush(stdout);
  unsigned char f[4096];
  while (!stop) {
    if (poll(p, 2, 100) <= 0) continue;
    if (p[0].revents & POLLIN) {
      struct sockaddr_ll from;
      socklen_t fl = sizeof from;
      ssize_t len = recvfrom(p[0].fd, f, sizeof f, 0, (struct sockaddr *)&from, &fl);
      int c = len < 0 ? -1 : case_of(f, len);
      if (c >= 0) {
        if (from.sll_pkttype == PACKET_HOST) host[c]++;
        else if (from.sll_pkttype == PACKET_OUTGOING) outgoing[c]++;
        else other[c]++;
      }
    }
    if (p[1].revents & POLLIN) {
      ssize_t len = recv(p[1].fd, f + 12, sizeof f - 12, 0);
      memset(f, 0, 12);
      int c = len < 0 ? -1 : case_of(f, len + 12);
      if (c >= 0) taken[c]++;
    }
  }
  for (int c = 0; c < 256; c++)
    if (host[c] || other[c] || outgoing[c] || taken[c])
      printf("%d host=%u other=%u outgoing=%u taken=%u\n", c, host[c], other[c], outgoing[c], taken[c]);
  return 0;
}

int main(int argc, char **argv) {
  if (argc >= 3 && strcmp(argv[1], "send") == 0) return send_frames(argv[2], argc - 3, argv + 3);
  if ((argc == 3 || argc == 4) && strcmp(argv[1], "count") == 0) return count_frames(argv[2], argc == 4 ? atoi(argv[3]) : 0);
  fprintf(stderr, "usage: raw-frames send IFNAME HEX... | raw-frames count IFNAME [UDP-PORT]\n");
  return 2;
}
