// berth-spawn: a small long-lived process that runs programs for berthd (src/sys/spawner.ts).
//
// Why: Node starts a child by fork()ing itself. For a daemon of ~100 MB that costs 5-8 ms of the
// main thread per program on these machines (page tables copied, then every page it touches
// faults once more after the exec), and a container's run starts several (mount, umount, ...).
// A fork() of this process (a few hundred KB) costs well under a millisecond, on another core.
//
// Protocol, on stdin (requests) and stdout (replies), integers little-endian u32 unless noted:
//   request: len (of the rest) | id | argc | envc (0xffffffff: this process's environment) |
//            input length | argc NUL-terminated strings (argv[0] is the program: a path, or a
//            name looked up in the PATH of the environment it gets) | cwd, NUL-terminated (empty:
//            this process's) | envc NUL-terminated strings | the input bytes (the child's stdin,
//            then end-of-file)
//   reply:   len (of the rest) | id | kind (0 exited, 1 killed by a signal, 2 not started) |
//            value (exit code, signal number, errno) | stdout length | stderr length | stdout |
//            stderr
// A reply is sent once the child has ended and both its output pipes are closed (as Node's
// 'close'). End-of-file on stdin (berthd gone) ends this process, which ignores the signals a
// terminal or a process group gets; children already started go on.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

#define MAX_REQUEST (64u << 20)

typedef struct { char *p; size_t len, cap; } buf_t;

static void buf_add(buf_t *b, const void *d, size_t n) {
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

typedef struct {
  uint32_t id;
  pid_t pid;
  int reaped, kind, value;
  int in, out, err; /* our ends; -1 once closed */
  buf_t obuf, ebuf;
  char *input;
  size_t inlen, inoff;
} child_t;

static child_t **kids;
static size_t nkids, capkids;
static buf_t inq, outq;

static void reply(uint32_t id, int kind, int value, const buf_t *o, const buf_t *e) {
  size_t ol = o ? o->len : 0, el = e ? e->len : 0;
  put_u32(&outq, (uint32_t)(20 + ol + el));
  put_u32(&outq, id);
  put_u32(&outq, (uint32_t)kind);
  put_u32(&outq, (uint32_t)value);
  put_u32(&outq, (uint32_t)ol);
  put_u32(&outq, (uint32_t)el);
  if (ol) buf_add(&outq, o->p, ol);
  if (el) buf_add(&outq, e->p, el);
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
 * fork() and execve(), as libuv does for Node but from this small process: the child first puts
 * every signal back to its default and unblocks them all (raw system calls, so glibc's own
 * real-time signals too: posix_spawn would leave those two ignored in the new program). An exec
 * that fails reports its errno on a close-on-exec pipe.
 */
static int fork_exec(const char *file, char **argv, char **envp, const char *cwd, int in, int out, int err, pid_t *pidp) {
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
    int e = 0;
    if (dup2(in, 0) < 0 || dup2(out, 1) < 0 || dup2(err, 2) < 0 || (cwd[0] && chdir(cwd) < 0)) e = errno;
    else { execve(file, argv, envp); e = errno; }
    while (write(ep[1], &e, sizeof e) < 0 && errno == EINTR) {}
    _exit(127);
  }
  close(ep[1]);
  int e = 0;
  ssize_t n;
  do n = read(ep[0], &e, sizeof e); while (n < 0 && errno == EINTR);
  close(ep[0]);
  if (n == (ssize_t)sizeof e) {
    while (waitpid(pid, NULL, 0) < 0 && errno == EINTR) {}
    return e;
  }
  *pidp = pid;
  return 0;
}

static void start(const char *msg, uint32_t len) {
  if (len < 16) return;
  uint32_t id = get_u32(msg), argc = get_u32(msg + 4), envc = get_u32(msg + 8), inlen = get_u32(msg + 12);
  const char *p = msg + 16, *end = msg + len;
  if (argc == 0 || argc > 65536 || (envc != 0xffffffffu && envc > 65536) || inlen > (uint32_t)(end - p)) {
    reply(id, 2, EINVAL, NULL, NULL);
    return;
  }
  const char *strend = end - inlen;
  size_t nstr = argc + 1 + (envc == 0xffffffffu ? 0 : envc);
  char **strs = calloc(nstr, sizeof(char *));
  if (!strs) abort();
  for (size_t i = 0; i < nstr; i++) {
    const char *z = memchr(p, 0, (size_t)(strend - p));
    if (!z) { free(strs); reply(id, 2, EINVAL, NULL, NULL); return; }
    strs[i] = (char *)p;
    p = z + 1;
  }
  char **argv = calloc(argc + 1, sizeof(char *));
  if (!argv) abort();
  for (uint32_t i = 0; i < argc; i++) argv[i] = strs[i];
  const char *cwd = strs[argc];
  char **envp = environ;
  char **own = NULL;
  if (envc != 0xffffffffu) {
    own = calloc(envc + 1, sizeof(char *));
    if (!own) abort();
    for (uint32_t i = 0; i < envc; i++) own[i] = strs[argc + 1 + i];
    envp = own;
  }
  const char *path = NULL;
  for (char **e = envp; *e; e++) if (!strncmp(*e, "PATH=", 5)) { path = *e + 5; break; }

  char file[4096];
  int ip[2] = { -1, -1 }, op[2] = { -1, -1 }, ep[2] = { -1, -1 };
  pid_t pid = 0;
  int rc = resolve(argv[0], path, file, sizeof file);
  if (rc == 0 && (pipe2(ip, O_CLOEXEC) || pipe2(op, O_CLOEXEC) || pipe2(ep, O_CLOEXEC))) rc = errno;
  if (rc == 0) rc = fork_exec(file, argv, envp, cwd, ip[0], op[1], ep[1], &pid);
  close_fd(&ip[0]);
  close_fd(&op[1]);
  close_fd(&ep[1]);
  free(argv);
  free(own);
  if (rc != 0) {
    close_fd(&ip[1]);
    close_fd(&op[0]);
    close_fd(&ep[0]);
    free(strs);
    reply(id, 2, rc, NULL, NULL);
    return;
  }
  child_t *c = calloc(1, sizeof *c);
  if (!c) abort();
  c->id = id;
  c->pid = pid;
  c->in = ip[1];
  c->out = op[0];
  c->err = ep[0];
  fcntl(c->in, F_SETFL, O_NONBLOCK);
  fcntl(c->out, F_SETFL, O_NONBLOCK);
  fcntl(c->err, F_SETFL, O_NONBLOCK);
  if (inlen) {
    c->input = malloc(inlen);
    if (!c->input) abort();
    memcpy(c->input, strend, inlen);
    c->inlen = inlen;
  } else {
    close_fd(&c->in);
  }
  free(strs);
  if (nkids == capkids) {
    capkids = capkids ? capkids * 2 : 16;
    kids = realloc(kids, capkids * sizeof *kids);
    if (!kids) abort();
  }
  kids[nkids++] = c;
}

/* Reads what a pipe has; closes it at end-of-file or on error. */
static void drain(int *fd, buf_t *b) {
  char tmp[65536];
  for (;;) {
    ssize_t n = read(*fd, tmp, sizeof tmp);
    if (n > 0) { buf_add(b, tmp, (size_t)n); continue; }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) return;
    close_fd(fd);
    return;
  }
}

static void feed(child_t *c) {
  while (c->inoff < c->inlen) {
    ssize_t n = write(c->in, c->input + c->inoff, c->inlen - c->inoff);
    if (n > 0) { c->inoff += (size_t)n; continue; }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) return;
    break; /* EPIPE: the child does not read its input; its exit status tells */
  }
  close_fd(&c->in);
  free(c->input);
  c->input = NULL;
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
      break;
    }
  }
}

static void finish(void) {
  for (size_t i = 0; i < nkids; ) {
    child_t *c = kids[i];
    if (c->reaped && c->out < 0 && c->err < 0) {
      /* Its input is moot now: a child that ended without reading it is done. */
      close_fd(&c->in);
      free(c->input);
      reply(c->id, c->kind, c->value, &c->obuf, &c->ebuf);
      free(c->obuf.p);
      free(c->ebuf.p);
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
  size_t cap = 0;
  for (;;) {
    size_t need = 3 + nkids * 3;
    if (need > cap) {
      cap = need * 2;
      pf = realloc(pf, cap * sizeof *pf);
      who = realloc(who, cap * sizeof *who);
      if (!pf || !who) abort();
    }
    size_t n = 0;
    pf[n++] = (struct pollfd){ .fd = sfd, .events = POLLIN };
    pf[n++] = (struct pollfd){ .fd = 0, .events = POLLIN };
    pf[n++] = (struct pollfd){ .fd = 1, .events = outq.len ? POLLOUT : 0 };
    for (size_t i = 0; i < nkids; i++) {
      child_t *c = kids[i];
      if (c->out >= 0) { who[n] = c; pf[n++] = (struct pollfd){ .fd = c->out, .events = POLLIN }; }
      if (c->err >= 0) { who[n] = c; pf[n++] = (struct pollfd){ .fd = c->err, .events = POLLIN }; }
      if (c->in >= 0) { who[n] = c; pf[n++] = (struct pollfd){ .fd = c->in, .events = POLLOUT }; }
    }
    if (poll(pf, n, -1) < 0) {
      if (errno == EINTR) continue;
      return 1;
    }
    if (pf[0].revents) {
      struct signalfd_siginfo si;
      while (read(sfd, &si, sizeof si) > 0) {}
      reap();
    }
    for (size_t i = 3; i < n; i++) {
      if (!pf[i].revents) continue;
      child_t *c = who[i];
      if (pf[i].fd == c->out) drain(&c->out, &c->obuf);
      else if (pf[i].fd == c->err) drain(&c->err, &c->ebuf);
      else if (pf[i].fd == c->in) feed(c);
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
      while (inq.len >= 4) {
        uint32_t len = get_u32(inq.p);
        if (len > MAX_REQUEST) return 1;
        if (inq.len < 4 + (size_t)len) break;
        start(inq.p + 4, len);
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
