// berth-spawn: a small long-lived process that starts programs for berthd (src/sys/spawner.ts).
//
// Why: Node starts a child by fork()ing itself. For a daemon of ~100 MB that costs 5-8 ms of the
// main thread per program on these machines (page tables copied, then every page it touches
// faults once more after the exec), and a container's run starts several (mount, conmon, umount).
// A fork() of this process (a few hundred KB) costs well under a millisecond, on another core.
//
// Protocol: frames on stdin (requests) and stdout (replies), each `len | type | fields`, integers
// little-endian u32, strings NUL-terminated.
//   requests
//     1 RUN    id | argc | envc | input length | argv... | cwd | env... | input
//              run to the end, stdout and stderr collected: one RESULT
//     2 SPAWN  id | argc | envc | flags (1: setsid) | nfds | fd specs | argv... | cwd | env...
//              a fd spec is `child fd | mode << 16`, mode 0 /dev/null, 1 the child reads (WRITE
//              frames feed it), 2 the child writes (DATA frames); fds 0-2 not given are /dev/null.
//              Replies STARTED (or RESULT kind 2), DATA/EOF as output comes, EXIT when it ends.
//     3 WRITE  id | child fd | bytes
//     4 CLOSE  id | child fd      (our end of that pipe: after pending writes, or at once)
//     5 MOUNT  id | op | flags | source | target | fstype | data | cwd
//              op 0: mount(2), 1: umount2(2), 2: a new network namespace bound on target (the
//              child unshares its network namespace and binds /proc/self/ns/net there, as `ip
//              netns add` does). Made by a forked child (so a call that blocks, on a dead NFS
//              server say, blocks only it), in cwd when it is not empty (overlay's relative
//              layer paths); empty source, fstype or data are NULL. One RESULT, kind 0 with
//              the call's errno as its value (0: done), without output.
//     6 VETH   id | mtu | netns path | host name | bridge | name inside | MAC | IPv4 CIDR |
//              IPv4 gateway | IPv6 CIDR | IPv6 gateway   (empty: none)
//              a container's veth pair made and configured over rtnetlink by a forked child
//              (berth-spawn-net.c). One RESULT, kind 0 with the errno (0: done); on failure its
//              stderr says which step.
//   replies
//     1 RESULT id | kind (0 exited, 1 killed by a signal, 2 not started) | value (exit code,
//              signal, errno) | stdout length | stderr length | stdout | stderr
//     2 STARTED id | pid
//     3 DATA   id | child fd | bytes
//     4 EOF    id | child fd
//     5 EXIT   id | kind | value
// argv[0] is the program: a path, or a name looked up in the PATH of the environment it gets;
// envc 0xffffffff means this process's environment; an empty cwd, this process's.
// A RUN's RESULT comes once the child has ended and its pipes are closed (Node's 'close').
// End-of-file on stdin (berthd gone) ends this process, which ignores the signals a terminal or
// a process group gets; children already started go on.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

#define MAX_FRAME (64u << 20)
#define MAX_FDS 16

enum { T_RUN = 1, T_SPAWN = 2, T_WRITE = 3, T_CLOSE = 4, T_MOUNT = 5, T_VETH = 6 };
enum { R_RESULT = 1, R_STARTED = 2, R_DATA = 3, R_EOF = 4, R_EXIT = 5 };
enum { M_NULL = 0, M_IN = 1, M_OUT = 2 };

typedef struct { char *p; size_t len, cap; } buf_t;

static void buf_add(buf_t *b, const void *d, size_t n) {
  if (!n) return;
  if (b->len + n > b->cap) {
    size_t c = b->cap ? b->cap : 4096;
    while (c < b->len + n) c *= 2;
    char *q = realloc(b->p, c);
    if (!q) abort();
    b->p = q;
    b->cap = c;
  }
  memcpy(b->p + b->len, d, n);
  b->len += n;
}

static void buf_drop(buf_t *b, size_t n) {
  memmove(b->p, b->p + n, b->len - n);
  b->len -= n;
}

static void put_u32(buf_t *b, uint32_t v) {
  unsigned char c[4] = { v & 0xff, (v >> 8) & 0xff, (v >> 16) & 0xff, (v >> 24) & 0xff };
  buf_add(b, c, 4);
}

static uint32_t get_u32(const char *p) {
  const unsigned char *u = (const unsigned char *)p;
  return (uint32_t)u[0] | ((uint32_t)u[1] << 8) | ((uint32_t)u[2] << 16) | ((uint32_t)u[3] << 24);
}

/* One pipe between us and a child: `fd` is our end (-1 once closed). */
typedef struct {
  int childfd, mode, fd, closing;
  buf_t data; /* M_IN: bytes still to write; M_OUT of a RUN: what the child wrote */
} stream_t;

typedef struct {
  uint32_t id;
  pid_t pid;
  int run; /* a RUN (collect, one RESULT) or a SPAWN (forward) */
  int reaped, kind, value;
  int nstreams;
  stream_t s[MAX_FDS];
} child_t;

static child_t **kids;
static size_t nkids, capkids;
static buf_t inq, outq;

static void frame(uint32_t type, uint32_t id, const uint32_t *f, int nf, const void *d1, size_t l1, const void *d2, size_t l2) {
  put_u32(&outq, (uint32_t)(8 + 4 * nf + l1 + l2));
  put_u32(&outq, type);
  put_u32(&outq, id);
  for (int i = 0; i < nf; i++) put_u32(&outq, f[i]);
  buf_add(&outq, d1, l1);
  buf_add(&outq, d2, l2);
}

static void result(uint32_t id, int kind, int value, const buf_t *o, const buf_t *e) {
  uint32_t f[4] = { (uint32_t)kind, (uint32_t)value, o ? (uint32_t)o->len : 0, e ? (uint32_t)e->len : 0 };
  frame(R_RESULT, id, f, 4, o ? o->p : NULL, f[2], e ? e->p : NULL, f[3]);
}

static void close_fd(int *fd) {
  if (*fd >= 0) close(*fd);
  *fd = -1;
}

/* A program name without a slash, looked up in `path` (as execvp would). */
static int resolve(const char *file, const char *path, char *out, size_t cap) {
  if (strchr(file, '/')) {
    if (strlen(file) >= cap) return ENAMETOOLONG;
    strcpy(out, file);
    return 0;
  }
  if (!path) path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
  int err = ENOENT;
  for (const char *p = path;; ) {
    const char *colon = strchr(p, ':');
    size_t dl = colon ? (size_t)(colon - p) : strlen(p);
    const char *dir = p;
    if (dl == 0) { dl = 1; dir = "."; }
    if (dl + 1 + strlen(file) < cap) {
      memcpy(out, dir, dl);
      out[dl] = '/';
      strcpy(out + dl + 1, file);
      struct stat st;
      if (stat(out, &st) == 0 && S_ISREG(st.st_mode)) {
        if (access(out, X_OK) == 0) return 0;
        err = EACCES;
      }
    }
    if (!colon) break;
    p = colon + 1;
  }
  return err;
}

/*
 * fork() and execve(), as libuv does for Node but from this small process. The child first puts
 * every signal back to its default and unblocks them all (raw system calls, so glibc's own
 * real-time signals too), moves its ends of the pipes to their numbers (through fds >= 64, so no
 * move overwrites another's source) and opens /dev/null for the rest of 0-2. An exec that fails
 * reports its errno on a close-on-exec pipe.
 */
static int fork_exec(const char *file, char **argv, char **envp, const char *cwd, int setsid_,
                     int n, const int *target, const int *source, pid_t *pidp) {
  int ep[2];
  if (pipe2(ep, O_CLOEXEC)) return errno;
  pid_t pid = fork();
  if (pid < 0) {
    int e = errno;
    close(ep[0]);
    close(ep[1]);
    return e;
  }
  if (pid == 0) {
    struct { void *handler; unsigned long flags; void *restorer; uint64_t mask; } dfl = { SIG_DFL, 0, NULL, 0 };
    for (int sig = 1; sig <= 64; sig++) if (sig != SIGKILL && sig != SIGSTOP) syscall(SYS_rt_sigaction, sig, &dfl, NULL, 8);
    uint64_t none = 0;
    syscall(SYS_rt_sigprocmask, SIG_SETMASK, &none, NULL, 8);
    int e = 0, high[MAX_FDS + 3], have[3] = { 0, 0, 0 };
    if (setsid_ && setsid() < 0) e = errno;
    for (int i = 0; !e && i < n; i++) {
      int src = source[i] >= 0 ? source[i] : open("/dev/null", O_RDWR | O_CLOEXEC);
      if (src < 0 || (high[i] = fcntl(src, F_DUPFD_CLOEXEC, 64)) < 0) e = errno;
      if (target[i] < 3) have[target[i]] = 1;
    }
    for (int i = 0; !e && i < n; i++) if (dup2(high[i], target[i]) < 0) e = errno;
    for (int t = 0; !e && t < 3; t++) {
      if (have[t]) continue;
      int z = open("/dev/null", O_RDWR | O_CLOEXEC);
      if (z < 0 || dup2(z, t) < 0) e = errno;
    }
    if (!e && cwd[0] && chdir(cwd) < 0) e = errno;
    if (!e) { execve(file, argv, envp); e = errno; }
    while (write(ep[1], &e, sizeof e) < 0 && errno == EINTR) {}
    _exit(127);
  }
  close(ep[1]);
  int e = 0;
  ssize_t r;
  do r = read(ep[0], &e, sizeof e); while (r < 0 && errno == EINTR);
  close(ep[0]);
  if (r == (ssize_t)sizeof e) {
    while (waitpid(pid, NULL, 0) < 0 && errno == EINTR) {}
    return e;
  }
  *pidp = pid;
  return 0;
}

static child_t *find(uint32_t id) {
  for (size_t i = 0; i < nkids; i++) if (kids[i]->id == id && !kids[i]->run) return kids[i];
  return NULL;
}

static stream_t *stream_of(child_t *c, int childfd) {
  for (int i = 0; i < c->nstreams; i++) if (c->s[i].childfd == childfd) return &c->s[i];
  return NULL;
}

/* Strings of a request, up to `end`: argc of them, the cwd, then envc (unless 0xffffffff). */
static int strings(const char **pp, const char *end, uint32_t argc, uint32_t envc, char ***argvp, const char **cwdp, char ***envpp) {
  if (argc == 0 || argc > 65536 || (envc != 0xffffffffu && envc > 65536)) return EINVAL;
  size_t nstr = argc + 1 + (envc == 0xffffffffu ? 0 : envc);
  char **strs = calloc(nstr + 2, sizeof(char *));
  if (!strs) abort();
  const char *p = *pp;
  for (size_t i = 0; i < nstr; i++) {
    const char *z = memchr(p, 0, (size_t)(end - p));
    if (!z) { free(strs); return EINVAL; }
    strs[i] = (char *)p;
    p = z + 1;
  }
  /* Exactly as many strings as announced: more (a NUL inside one) would shift every string after. */
  if (p != end) { free(strs); return EINVAL; }
  *pp = p;
  char **argv = calloc(argc + 1, sizeof(char *));
  if (!argv) abort();
  memcpy(argv, strs, argc * sizeof(char *));
  *argvp = argv;
  *cwdp = strs[argc];
  if (envc == 0xffffffffu) {
    *envpp = NULL;
  } else {
    char **env = calloc(envc + 1, sizeof(char *));
    if (!env) abort();
    memcpy(env, strs + argc + 1, envc * sizeof(char *));
    *envpp = env;
  }
  free(strs);
  return 0;
}

static void add_child(child_t *c) {
  if (nkids == capkids) {
    capkids = capkids ? capkids * 2 : 16;
    kids = realloc(kids, capkids * sizeof *kids);
    if (!kids) abort();
  }
  kids[nkids++] = c;
}

/* RUN and SPAWN: pipes per stream, fork and exec, then STARTED (SPAWN) or nothing until the end. */
static void start(int run, const char *msg, uint32_t len) {
  if (len < 4) return;
  uint32_t id = get_u32(msg);
  if (len < (run ? 16u : 20u)) { result(id, 2, EINVAL, NULL, NULL); return; }
  uint32_t argc = get_u32(msg + 4), envc = get_u32(msg + 8), inlen = 0, flags = 0, nfds = 3;
  const char *p = msg + 16, *end = msg + len;
  uint32_t spec[MAX_FDS];
  if (run) {
    inlen = get_u32(msg + 12);
    if (inlen > (uint32_t)(end - p)) { result(id, 2, EINVAL, NULL, NULL); return; }
    end -= inlen;
    spec[0] = 0 | (M_IN << 16);
    spec[1] = 1 | (M_OUT << 16);
    spec[2] = 2 | (M_OUT << 16);
  } else {
    flags = get_u32(msg + 12);
    nfds = get_u32(msg + 16);
    p = msg + 20;
    if (nfds > MAX_FDS || (size_t)(end - p) < 4 * (size_t)nfds) { result(id, 2, EINVAL, NULL, NULL); return; }
    for (uint32_t i = 0; i < nfds; i++, p += 4) {
      spec[i] = get_u32(p);
      if ((spec[i] & 0xffff) >= 64 || (spec[i] >> 16) > M_OUT) { result(id, 2, EINVAL, NULL, NULL); return; }
    }
  }
  char **argv = NULL, **own = NULL;
  const char *cwd = "";
  int rc = strings(&p, end, argc, envc, &argv, &cwd, &own);
  if (rc) { result(id, 2, rc, NULL, NULL); return; }
  char **envp = own ? own : environ;
  const char *path = NULL;
  for (char **e = envp; *e; e++) if (!strncmp(*e, "PATH=", 5)) { path = *e + 5; break; }

  child_t *c = calloc(1, sizeof *c);
  if (!c) abort();
  c->id = id;
  c->run = run;
  int target[MAX_FDS], source[MAX_FDS];
  for (int i = 0; i < MAX_FDS; i++) source[i] = -1;
  char file[4096];
  rc = resolve(argv[0], path, file, sizeof file);
  for (uint32_t i = 0; !rc && i < nfds; i++) {
    stream_t *s = &c->s[c->nstreams];
    int mode = (int)(spec[i] >> 16), pf[2];
    target[i] = (int)(spec[i] & 0xffff);
    source[i] = -1;
    if (mode == M_NULL) continue;
    if (pipe2(pf, O_CLOEXEC)) { rc = errno; break; }
    s->childfd = target[i];
    s->mode = mode;
    s->fd = mode == M_IN ? pf[1] : pf[0];
    source[i] = mode == M_IN ? pf[0] : pf[1];
    fcntl(s->fd, F_SETFL, O_NONBLOCK);
    c->nstreams++;
  }
  if (!rc) rc = fork_exec(file, argv, envp, cwd, (int)(flags & 1), (int)nfds, target, source, &c->pid);
  /* The child's ends are its own now (or, after a failure, useless): close them here. */
  for (uint32_t i = 0; i < nfds; i++) close_fd(&source[i]);
  free(argv);
  free(own);
  if (rc) {
    for (int i = 0; i < c->nstreams; i++) close_fd(&c->s[i].fd);
    free(c);
    result(id, 2, rc, NULL, NULL);
    return;
  }
  if (run) {
    stream_t *in = stream_of(c, 0);
    if (inlen) buf_add(&in->data, end, inlen);
    in->closing = 1;
    if (!inlen) close_fd(&in->fd);
  } else {
    uint32_t f[1] = { (uint32_t)c->pid };
    frame(R_STARTED, id, f, 1, NULL, 0, NULL, 0);
  }
  add_child(c);
}

/* `n` NUL-terminated strings filling [p, end) exactly; 0 or EINVAL. */
static int cstrings(const char *p, const char *end, const char **out, int n) {
  for (int i = 0; i < n; i++) {
    const char *z = memchr(p, 0, (size_t)(end - p));
    if (!z) return EINVAL;
    out[i] = p;
    p = z + 1;
  }
  return p == end ? 0 : EINVAL;
}

/* A RUN-like child that makes system calls instead of exec'ing: it exits with the errno; with
   `errtext`, what it writes on *errfd comes back as the RESULT's stderr. Returns 0 in the
   child, its pid in this process, -1 when it could not be made (the RESULT is sent). */
static pid_t fork_call(uint32_t id, int errtext, int *errfd) {
  int pf[2] = { -1, -1 };
  if (errtext && pipe2(pf, O_CLOEXEC)) { result(id, 2, errno, NULL, NULL); return -1; }
  pid_t pid = fork();
  if (pid < 0) {
    result(id, 2, errno, NULL, NULL);
    if (errtext) { close(pf[0]); close(pf[1]); }
    return -1;
  }
  if (pid == 0) {
    if (errtext) close(pf[0]);
    *errfd = pf[1];
    return 0;
  }
  child_t *c = calloc(1, sizeof *c);
  if (!c) abort();
  c->id = id;
  c->run = 1;
  c->pid = pid;
  if (errtext) {
    close(pf[1]);
    c->s[0].childfd = 2;
    c->s[0].mode = M_OUT;
    c->s[0].fd = pf[0];
    fcntl(pf[0], F_SETFL, O_NONBLOCK);
    c->nstreams = 1;
  }
  add_child(c);
  return pid;
}

static int child_errno(int r) { return r < 0 ? (errno > 0 && errno < 256 ? errno : EIO) : 0; }

/* MOUNT: the strings are checked here, the call made in a child that exits with its errno. */
static void do_mount(const char *msg, uint32_t len) {
  if (len < 4) return;
  uint32_t id = get_u32(msg);
  const char *str[5];
  if (len < 12 || cstrings(msg + 12, msg + len, str, 5) || get_u32(msg + 4) > 2 || !str[1][0]) { result(id, 2, EINVAL, NULL, NULL); return; }
  uint32_t op = get_u32(msg + 4), flags = get_u32(msg + 8);
  int unused;
  if (fork_call(id, 0, &unused) != 0) return;
  int r = str[4][0] ? chdir(str[4]) : 0;
  if (r == 0 && op == 0) r = mount(str[0][0] ? str[0] : NULL, str[1], str[2][0] ? str[2] : NULL, flags, str[3][0] ? str[3] : NULL);
  else if (r == 0 && op == 1) r = umount2(str[1], (int)flags);
  else if (r == 0 && (r = unshare(CLONE_NEWNET)) == 0) r = mount("/proc/self/ns/net", str[1], "none", MS_BIND, NULL);
  _exit(child_errno(r));
}

int veth_setup(const char *const s[9], uint32_t mtu, char *err, size_t cap); /* berth-spawn-net.c */

/* VETH: the strings are checked here, the pair made by a child (berth-spawn-net.c). */
static void do_veth(const char *msg, uint32_t len) {
  if (len < 4) return;
  uint32_t id = get_u32(msg);
  const char *str[9];
  if (len < 8 || cstrings(msg + 8, msg + len, str, 9)) { result(id, 2, EINVAL, NULL, NULL); return; }
  int errfd = -1;
  if (fork_call(id, 1, &errfd) != 0) return;
  char err[512] = "";
  int e = veth_setup(str, get_u32(msg + 4), err, sizeof err);
  if (e) { ssize_t w = write(errfd, err, strlen(err)); (void)w; }
  _exit(e > 0 && e < 256 ? e : e ? EIO : 0);
}

static void on_write(const char *msg, uint32_t len, int close_it) {
  if (len < 8) return;
  child_t *c = find(get_u32(msg));
  stream_t *s = c ? stream_of(c, (int)get_u32(msg + 4)) : NULL;
  if (!s || s->fd < 0) return;
  if (!close_it) { if (s->mode == M_IN && !s->closing) buf_add(&s->data, msg + 8, len - 8); return; }
  if (s->mode == M_IN && s->data.len) s->closing = 1;
  else close_fd(&s->fd);
}

/* Reads what a child's output pipe has: kept (RUN) or forwarded (SPAWN); closed at end-of-file. */
static void drain(child_t *c, stream_t *s) {
  char tmp[65536];
  for (;;) {
    ssize_t n = read(s->fd, tmp, sizeof tmp);
    if (n > 0) {
      if (c->run) buf_add(&s->data, tmp, (size_t)n);
      else { uint32_t f[1] = { (uint32_t)s->childfd }; frame(R_DATA, c->id, f, 1, tmp, (size_t)n, NULL, 0); }
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) return;
    close_fd(&s->fd);
    if (!c->run) { uint32_t f[1] = { (uint32_t)s->childfd }; frame(R_EOF, c->id, f, 1, NULL, 0, NULL, 0); }
    return;
  }
}

static void feed(stream_t *s) {
  while (s->data.len) {
    ssize_t n = write(s->fd, s->data.p, s->data.len);
    if (n > 0) { buf_drop(&s->data, (size_t)n); continue; }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) return;
    s->data.len = 0; /* EPIPE: the child does not read it; its status tells */
    s->closing = 1;
    break;
  }
  if (s->closing) close_fd(&s->fd);
}

static void reap(void) {
  int st;
  pid_t pid;
  while ((pid = waitpid(-1, &st, WNOHANG)) > 0) {
    for (size_t i = 0; i < nkids; i++) {
      child_t *c = kids[i];
      if (c->pid != pid || c->reaped) continue;
      c->reaped = 1;
      if (WIFSIGNALED(st)) { c->kind = 1; c->value = WTERMSIG(st); }
      else { c->kind = 0; c->value = WEXITSTATUS(st); }
      if (!c->run) { uint32_t f[2] = { (uint32_t)c->kind, (uint32_t)c->value }; frame(R_EXIT, c->id, f, 2, NULL, 0, NULL, 0); }
      break;
    }
  }
}

static void finish(void) {
  for (size_t i = 0; i < nkids; ) {
    child_t *c = kids[i];
    int open_out = 0;
    for (int j = 0; j < c->nstreams; j++) if (c->s[j].fd >= 0 && (c->s[j].mode == M_OUT || !c->run)) open_out = 1;
    if (c->reaped && !open_out) {
      /* A RUN's input is moot now: a child that ended without reading it is done. */
      for (int j = 0; j < c->nstreams; j++) close_fd(&c->s[j].fd);
      stream_t *o = stream_of(c, 1), *e = stream_of(c, 2); /* a MOUNT's child has none */
      if (c->run) result(c->id, c->kind, c->value, o ? &o->data : NULL, e ? &e->data : NULL);
      for (int j = 0; j < c->nstreams; j++) free(c->s[j].data.p);
      free(c);
      kids[i] = kids[--nkids];
    } else {
      i++;
    }
  }
}

int main(void) {
  signal(SIGPIPE, SIG_IGN);
  /* A terminal's Ctrl-C or a signal to berthd's process group is for berthd, which may still
     start programs while it shuts down: this process ends when berthd closes its stdin. */
  signal(SIGINT, SIG_IGN);
  signal(SIGTERM, SIG_IGN);
  signal(SIGHUP, SIG_IGN);
  signal(SIGQUIT, SIG_IGN);
  sigset_t chld;
  sigemptyset(&chld);
  sigaddset(&chld, SIGCHLD);
  sigprocmask(SIG_BLOCK, &chld, NULL);
  int sfd = signalfd(-1, &chld, SFD_NONBLOCK | SFD_CLOEXEC);
  if (sfd < 0) return 1;
  fcntl(0, F_SETFL, fcntl(0, F_GETFL) | O_NONBLOCK);
  fcntl(1, F_SETFL, fcntl(1, F_GETFL) | O_NONBLOCK);
  struct pollfd *pf = NULL;
  child_t **who = NULL;
  stream_t **which = NULL;
  size_t cap = 0;
  for (;;) {
    size_t need = 3 + nkids * MAX_FDS;
    if (need > cap) {
      cap = need * 2;
      pf = realloc(pf, cap * sizeof *pf);
      who = realloc(who, cap * sizeof *who);
      which = realloc(which, cap * sizeof *which);
      if (!pf || !who || !which) abort();
    }
    size_t n = 0;
    pf[n++] = (struct pollfd){ .fd = sfd, .events = POLLIN };
    pf[n++] = (struct pollfd){ .fd = 0, .events = POLLIN };
    pf[n++] = (struct pollfd){ .fd = 1, .events = outq.len ? POLLOUT : 0 };
    for (size_t i = 0; i < nkids; i++) {
      child_t *c = kids[i];
      for (int j = 0; j < c->nstreams; j++) {
        stream_t *s = &c->s[j];
        if (s->fd < 0) continue;
        short ev = s->mode == M_OUT ? POLLIN : (s->data.len || s->closing ? POLLOUT : 0);
        who[n] = c;
        which[n] = s;
        pf[n++] = (struct pollfd){ .fd = s->fd, .events = ev };
      }
    }
    if (poll(pf, n, -1) < 0) {
      if (errno == EINTR) continue;
      return 1;
    }
    if (pf[0].revents) {
      struct signalfd_siginfo si;
      while (read(sfd, &si, sizeof si) > 0) {}
    }
    for (size_t i = 3; i < n; i++) {
      stream_t *s = which[i];
      if (!pf[i].revents || s->fd != pf[i].fd) continue;
      if (s->mode == M_OUT) drain(who[i], s);
      else if (s->data.len || s->closing) feed(s);
      else if (pf[i].revents & (POLLERR | POLLHUP)) close_fd(&s->fd); /* reader gone */
    }
    if (pf[1].revents) {
      char tmp[65536];
      for (;;) {
        ssize_t r = read(0, tmp, sizeof tmp);
        if (r > 0) { buf_add(&inq, tmp, (size_t)r); continue; }
        if (r < 0 && errno == EINTR) continue;
        if (r < 0 && errno == EAGAIN) break;
        return 0; /* berthd is gone */
      }
      while (inq.len >= 8) {
        uint32_t len = get_u32(inq.p);
        if (len > MAX_FRAME || len < 4) return 1;
        if (inq.len < 4 + (size_t)len) break;
        uint32_t type = get_u32(inq.p + 4);
        const char *body = inq.p + 8;
        uint32_t blen = len - 4;
        if (type == T_RUN || type == T_SPAWN) start(type == T_RUN, body, blen);
        else if (type == T_WRITE || type == T_CLOSE) on_write(body, blen, type == T_CLOSE);
        else if (type == T_MOUNT) do_mount(body, blen);
        else if (type == T_VETH) do_veth(body, blen);
        buf_drop(&inq, 4 + (size_t)len);
      }
    }
    reap();
    finish();
    while (outq.len) {
      ssize_t w = write(1, outq.p, outq.len);
      if (w > 0) { buf_drop(&outq, (size_t)w); continue; }
      if (w < 0 && errno == EINTR) continue;
      if (w < 0 && errno == EAGAIN) break;
      return 1;
    }
  }
}
