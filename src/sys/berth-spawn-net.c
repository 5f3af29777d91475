// berth-spawn's VETH request (berth-spawn.c): a container's veth pair made and configured over
// rtnetlink, what src/network/link.ts's attachVeth otherwise asks of two `ip -batch` runs (one in
// the host's namespace, one in the container's). Each `ip` costs ~5 ms of start-up here (its
// dynamic libraries) beside well under a millisecond of netlink; a container start paid two.
//
// Called in a forked child of the helper, which it leaves in the container's network namespace.
// The steps, as the ip commands did them:
//   host:      link add name HOST [mtu M] master BRIDGE up type veth
//                  peer name NSIF [address MAC] [mtu M] netns NS
//   namespace: link set lo up; addr add ADDR4 dev NSIF; [addr add ADDR6 dev NSIF nodad];
//              link set NSIF up; [route add default via GW4 dev NSIF]; [... via GW6 ...]
// On failure: the errno, and `err` saying which step (with strerror's words, "File exists" for
// a host name taken, as ip says it). What was made is left for the caller to remove.
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>
#include <linux/veth.h>
#include <net/if.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

int veth_setup(const char *const s[9], uint32_t mtu, char *err, size_t cap);

typedef struct {
  struct nlmsghdr h;
  char body[4096];
} nlmsg_t;

static void nl_init(nlmsg_t *m, int type, int flags, const void *head, size_t len) {
  memset(m, 0, sizeof *m);
  m->h.nlmsg_len = NLMSG_LENGTH(len);
  m->h.nlmsg_type = (uint16_t)type;
  m->h.nlmsg_flags = (uint16_t)(NLM_F_REQUEST | NLM_F_ACK | flags);
  memcpy(NLMSG_DATA(&m->h), head, len);
}

/* Appends an attribute (the buffer is far larger than any request here). */
static struct rtattr *nl_attr(nlmsg_t *m, int type, const void *data, size_t len) {
  size_t off = NLMSG_ALIGN(m->h.nlmsg_len);
  if (off + RTA_SPACE(len) > sizeof *m) abort();
  struct rtattr *a = (struct rtattr *)((char *)m + off);
  a->rta_type = (unsigned short)type;
  a->rta_len = (unsigned short)RTA_LENGTH(len);
  if (len) memcpy(RTA_DATA(a), data, len);
  m->h.nlmsg_len = (uint32_t)(off + RTA_SPACE(len));
  return a;
}

static void nl_nest_end(nlmsg_t *m, struct rtattr *nest) {
  nest->rta_len = (unsigned short)((char *)m + m->h.nlmsg_len - (char *)nest);
}

/* Sends one request and waits for its acknowledgement: 0 or the errno the kernel answered. */
static int nl_talk(int fd, nlmsg_t *m) {
  static uint32_t seq;
  m->h.nlmsg_seq = ++seq;
  struct sockaddr_nl to = { .nl_family = AF_NETLINK };
  ssize_t w;
  do w = sendto(fd, m, m->h.nlmsg_len, 0, (struct sockaddr *)&to, sizeof to); while (w < 0 && errno == EINTR);
  if (w < 0) return errno;
  char buf[8192];
  for (;;) {
    ssize_t n = recv(fd, buf, sizeof buf, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return errno;
    int left = (int)n;
    for (struct nlmsghdr *r = (struct nlmsghdr *)buf; NLMSG_OK(r, left); r = NLMSG_NEXT(r, left)) {
      if (r->nlmsg_seq != m->h.nlmsg_seq || r->nlmsg_type != NLMSG_ERROR) continue;
      return -((struct nlmsgerr *)NLMSG_DATA(r))->error;
    }
  }
}

static int nl_socket(void) {
  int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
  if (fd < 0) return -1;
  struct sockaddr_nl me = { .nl_family = AF_NETLINK };
  /* The kernel always answers; should it not, the request fails (EAGAIN) instead of hanging a start. */
  struct timeval tv = { .tv_sec = 10 };
  if (bind(fd, (struct sockaddr *)&me, sizeof me) < 0 || setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) < 0) { close(fd); return -1; }
  return fd;
}

static int link_up(int fd, int index) {
  nlmsg_t m;
  struct ifinfomsg ifi = { .ifi_family = AF_UNSPEC, .ifi_index = index, .ifi_flags = IFF_UP, .ifi_change = IFF_UP };
  nl_init(&m, RTM_NEWLINK, 0, &ifi, sizeof ifi);
  return nl_talk(fd, &m);
}

/* "a.b.c.d/n" or "x::y/n" into family, address and prefix length. */
static int parse_cidr(const char *s, int *family, unsigned char addr[16], int *prefix) {
  char ip[64];
  const char *slash = strchr(s, '/');
  size_t n = slash ? (size_t)(slash - s) : strlen(s);
  if (n >= sizeof ip) return 0;
  memcpy(ip, s, n);
  ip[n] = 0;
  *family = strchr(ip, ':') ? AF_INET6 : AF_INET;
  if (inet_pton(*family, ip, addr) != 1) return 0;
  int max = *family == AF_INET ? 32 : 128;
  if (!slash) { *prefix = max; return 1; }
  char *end;
  long p = strtol(slash + 1, &end, 10);
  if (*end || end == slash + 1 || p < 0 || p > max) return 0;
  *prefix = (int)p;
  return 1;
}

static int add_addr(int fd, int index, const char *cidr, int nodad) {
  int family, prefix;
  unsigned char a[16];
  if (!parse_cidr(cidr, &family, a, &prefix)) return EINVAL;
  nlmsg_t m;
  struct ifaddrmsg ifa = { .ifa_family = (unsigned char)family, .ifa_prefixlen = (unsigned char)prefix,
                           .ifa_flags = nodad ? IFA_F_NODAD : 0, .ifa_scope = RT_SCOPE_UNIVERSE, .ifa_index = (unsigned)index };
  nl_init(&m, RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL, &ifa, sizeof ifa);
  size_t len = family == AF_INET ? 4 : 16;
  nl_attr(&m, IFA_LOCAL, a, len);
  nl_attr(&m, IFA_ADDRESS, a, len);
  return nl_talk(fd, &m);
}

static int add_default_route(int fd, int index, const char *gw) {
  int family = strchr(gw, ':') ? AF_INET6 : AF_INET;
  unsigned char a[16];
  if (inet_pton(family, gw, a) != 1) return EINVAL;
  nlmsg_t m;
  struct rtmsg rt = { .rtm_family = (unsigned char)family, .rtm_table = RT_TABLE_MAIN, .rtm_protocol = RTPROT_BOOT,
                      .rtm_scope = RT_SCOPE_UNIVERSE, .rtm_type = RTN_UNICAST };
  nl_init(&m, RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL, &rt, sizeof rt);
  nl_attr(&m, RTA_GATEWAY, a, family == AF_INET ? 4 : 16);
  uint32_t oif = (uint32_t)index;
  nl_attr(&m, RTA_OIF, &oif, sizeof oif);
  return nl_talk(fd, &m);
}

static int parse_mac(const char *s, unsigned char mac[6]) {
  unsigned v[6];
  char tail;
  if (sscanf(s, "%2x:%2x:%2x:%2x:%2x:%2x%c", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &tail) != 6) return 0;
  for (int i = 0; i < 6; i++) mac[i] = (unsigned char)v[i];
  return 1;
}

#define FAIL(e, ...) do { int e_ = (e); snprintf(err, cap, __VA_ARGS__); snprintf(err + strlen(err), cap - strlen(err), ": %s", strerror(e_)); return e_; } while (0)

/* s: netns path, host name, bridge, name in the namespace, MAC, IPv4 CIDR, IPv4 gateway, IPv6 CIDR, IPv6 gateway ("" = none). */
int veth_setup(const char *const s[9], uint32_t mtu, char *err, size_t cap) {
  const char *ns = s[0], *host = s[1], *bridge = s[2], *nsif = s[3], *mac = s[4], *a4 = s[5], *gw4 = s[6], *a6 = s[7], *gw6 = s[8];
  unsigned char hw[6];
  if (!ns[0] || !host[0] || !bridge[0] || !nsif[0] || strlen(host) >= IFNAMSIZ || strlen(nsif) >= IFNAMSIZ || (mac[0] && !parse_mac(mac, hw))) FAIL(EINVAL, "veth request");
  int nsfd = open(ns, O_RDONLY | O_CLOEXEC);
  if (nsfd < 0) FAIL(errno, "open %s", ns);
  unsigned br = if_nametoindex(bridge);
  if (!br) FAIL(errno, "bridge %s", bridge);
  int fd = nl_socket();
  if (fd < 0) FAIL(errno, "netlink socket");
  nlmsg_t m;
  struct ifinfomsg ifi = { .ifi_family = AF_UNSPEC, .ifi_flags = IFF_UP, .ifi_change = IFF_UP };
  nl_init(&m, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, &ifi, sizeof ifi);
  nl_attr(&m, IFLA_IFNAME, host, strlen(host) + 1);
  if (mtu) nl_attr(&m, IFLA_MTU, &mtu, sizeof mtu);
  nl_attr(&m, IFLA_MASTER, &br, sizeof br);
  struct rtattr *info = nl_attr(&m, IFLA_LINKINFO, NULL, 0);
  nl_attr(&m, IFLA_INFO_KIND, "veth", 4);
  struct rtattr *data = nl_attr(&m, IFLA_INFO_DATA, NULL, 0);
  struct rtattr *peer = nl_attr(&m, VETH_INFO_PEER, NULL, 0);
  struct ifinfomsg pifi = { .ifi_family = AF_UNSPEC };
  /* The peer's ifinfomsg, then its own attributes. */
  size_t off = NLMSG_ALIGN(m.h.nlmsg_len);
  memcpy((char *)&m + off, &pifi, sizeof pifi);
  m.h.nlmsg_len = (uint32_t)(off + NLMSG_ALIGN(sizeof pifi));
  nl_attr(&m, IFLA_IFNAME, nsif, strlen(nsif) + 1);
  if (mac[0]) nl_attr(&m, IFLA_ADDRESS, hw, 6);
  if (mtu) nl_attr(&m, IFLA_MTU, &mtu, sizeof mtu);
  uint32_t nsfd32 = (uint32_t)nsfd;
  nl_attr(&m, IFLA_NET_NS_FD, &nsfd32, sizeof nsfd32);
  nl_nest_end(&m, peer);
  nl_nest_end(&m, data);
  nl_nest_end(&m, info);
  int e = nl_talk(fd, &m);
  close(fd);
  if (e) FAIL(e, "link add %s type veth peer name %s", host, nsif);

  if (setns(nsfd, CLONE_NEWNET) < 0) FAIL(errno, "setns %s", ns);
  close(nsfd);
  fd = nl_socket();
  if (fd < 0) FAIL(errno, "netlink socket in %s", ns);
  unsigned lo = if_nametoindex("lo"), dev = if_nametoindex(nsif);
  if (!lo || !dev) FAIL(errno ? errno : ENODEV, "%s in %s", lo ? nsif : "lo", ns);
  if ((e = link_up(fd, (int)lo))) FAIL(e, "link set lo up");
  if (a4[0] && (e = add_addr(fd, (int)dev, a4, 0))) FAIL(e, "addr add %s dev %s", a4, nsif);
  if (a6[0] && (e = add_addr(fd, (int)dev, a6, 1))) FAIL(e, "addr add %s dev %s", a6, nsif);
  if ((e = link_up(fd, (int)dev))) FAIL(e, "link set %s up", nsif);
  if (gw4[0] && (e = add_default_route(fd, (int)dev, gw4))) FAIL(e, "route add default via %s dev %s", gw4, nsif);
  if (gw6[0] && (e = add_default_route(fd, (int)dev, gw6))) FAIL(e, "route add default via %s dev %s", gw6, nsif);
  close(fd);
  return 0;
}
