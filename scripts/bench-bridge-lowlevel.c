// A FUSE-to-NFS bridge on libfuse 3's low-level API, in C: what a write costs without path lookups, JavaScript or a
// general RPC library. A WRITE request is answered at once and its UNSTABLE WRITE stays in flight, up to 16 per file,
// as in kidfs and scripts/bench-bridge-fuse3.c; flush and fsync wait for them and COMMIT, and report a failed WRITE.
// WRITE and COMMIT are encoded here and sent on their own connection. By default the request's pages go from
// /dev/fuse into a pipe and from the pipe into the TCP socket without being copied by this process (the kernel lends
// the page cache's pages); built with -DNO_SPLICE, libfuse reads each request into memory and it is sent from there.
// Lookups, creates, opens and the rest go through libnfs's synchronous API on a second connection; reads too (no
// read-ahead: the write row is what this program is for). Names are resolved to paths; inode numbers are indexes of
// a table that only grows (a benchmark's life). A lost connection ends the program: nothing is sent again.
// Built and run by scripts/bench-mount.ts:
//   gcc -O2 [-DNO_SPLICE] -o bench-bridge-lowlevel bench-bridge-lowlevel.c $(pkg-config --cflags --libs fuse3) -lnfs -lpthread
//   bench-bridge-lowlevel NFS-URL UID GID MOUNTPOINT -f -o max_read=1048576,max_threads=16,...
// libfuse splices a request only into a pipe that holds it whole, 1 MiB and a header: more than
// /proc/sys/fs/pipe-max-size (1 MiB) allows a process without CAP_SYS_RESOURCE; else libfuse silently copies instead.
// The spliced build refuses to start when it cannot grow a pipe that far.
#define _GNU_SOURCE
#define FUSE_USE_VERSION 312
#include <fuse_lowlevel.h>
#include <nfsc/libnfs.h>
#include <nfsc/libnfs-raw.h>
#include "bench-nfs-stat.h"
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#ifndef WRITES_IN_FLIGHT
#define WRITES_IN_FLIGHT 16
#endif
#define MAX_REQUEST (1 << 20)
#define NFS_PROGRAM 100003
#define NFS_V3 3
#define PROC_WRITE 7
#define PROC_COMMIT 21

/** libnfs 4 declares nfs_get_fh() but keeps this private (libnfs-private.h); its layout there. */
struct nfs_fh {
  int len;
  char *val;
};

static struct nfs_context *nfs; // libnfs's synchronous calls, under `nfs_lock`
static pthread_mutex_t nfs_lock = PTHREAD_MUTEX_INITIALIZER;
static uint32_t uid, gid;

// ---- inodes: index + 1 is the inode number; the root is 1 ----
static char **paths;
static size_t path_count, path_capacity;

static fuse_ino_t inode_of(const char *path) { // under nfs_lock
  for (size_t i = 0; i < path_count; i++)
    if (strcmp(paths[i], path) == 0) return i + 1;
  if (path_count == path_capacity) {
    path_capacity = path_capacity ? path_capacity * 2 : 64;
    paths = realloc(paths, path_capacity * sizeof(*paths));
    if (paths == NULL) abort();
  }
  paths[path_count] = strdup(path);
  return ++path_count;
}

/** The root's path is "", so that a child's is "/name". */
static const char *path_of(fuse_ino_t ino) { return paths[ino - 1]; } // under nfs_lock

static char *child_path(fuse_ino_t parent, const char *name) { // under nfs_lock
  char *path;
  if (asprintf(&path, "%s/%s", path_of(parent), name) < 0) abort();
  return path;
}

// ---- the wire: WRITE and COMMIT encoded here, on their own connection ----
static int wire; // the socket
static pthread_mutex_t send_lock = PTHREAD_MUTEX_INITIALIZER; // one record at a time
static pthread_mutex_t calls_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t call_answered = PTHREAD_COND_INITIALIZER;

struct handle {
  struct nfsfh *fh;
  const struct nfs_fh *raw; // the file handle, owned by `fh`
  int writes_in_flight;     // under calls_lock
  int write_error;          // the first failed WRITE's -errno, reported by the next write, flush or fsync
  int uncommitted;          // a WRITE was sent since the last COMMIT
};

/** A call waiting for its reply; a WRITE's caller does not wait, its handle's count does. */
struct call {
  uint32_t xid;
  struct handle *write_of; // NULL for a COMMIT
  int done, status;
  struct call *next;
};
static struct call *calls; // under calls_lock
static uint32_t next_xid = 1;

static uint8_t *put32(uint8_t *p, uint32_t v) {
  p[0] = v >> 24, p[1] = v >> 16, p[2] = v >> 8, p[3] = v;
  return p + 4;
}

static uint32_t get32(const uint8_t *p) { return (uint32_t)p[0] << 24 | p[1] << 16 | p[2] << 8 | p[3]; }

static uint8_t *put_opaque(uint8_t *p, const void *data, uint32_t length) {
  p = put32(p, length);
  memcpy(p, data, length);
  memset(p + length, 0, (4 - length % 4) % 4);
  return p + (length + 3) / 4 * 4;
}

/** Encodes the record marker, the call header and `fh` for `proc`; the marker counts `more` bytes after them. */
static size_t encode_call(uint8_t *out, uint32_t xid, uint32_t proc, const struct nfs_fh *fh, uint32_t more) {
  uint8_t *p = out + 4, cred[64], *c = cred;
  c = put32(c, 0);                                 // stamp
  c = put_opaque(c, "kidfs-bench", 11);            // machine name
  c = put32(put32(put32(c, uid), gid), 0);         // uid, gid, no groups
  p = put32(put32(put32(put32(p, xid), 0), 2), NFS_PROGRAM); // CALL, RPC version 2
  p = put32(put32(p, NFS_V3), proc);
  p = put_opaque(put32(p, 1), cred, c - cred);     // AUTH_SYS
  p = put32(put32(p, 0), 0);                       // AUTH_NONE verifier
  p = put_opaque(p, fh->val, fh->len);
  put32(out, 0x80000000u | (uint32_t)(p - out - 4 + more));
  return p - out;
}

static void send_all(const void *data, size_t size, int flags) {
  for (size_t sent = 0; sent < size;) {
    ssize_t n = send(wire, (const char *)data + sent, size - sent, flags);
    if (n < 0 && errno != EINTR) {
      perror("bench-bridge-lowlevel: sending to the NFS server");
      exit(1);
    }
    if (n > 0) sent += n;
  }
}

/** WRITE requests whose data came through a pipe, and those libfuse had copied: printed at exit. */
static unsigned long spliced_writes, copied_writes;

/** Sends `bufv`'s data: spliced from its pipe when libfuse left it there, else from memory. */
static void send_data(struct fuse_bufvec *bufv, int last_flags) {
  __atomic_add_fetch(bufv->buf[bufv->idx].flags & FUSE_BUF_IS_FD ? &spliced_writes : &copied_writes, 1, __ATOMIC_RELAXED);
  for (size_t i = bufv->idx; i < bufv->count; i++) {
    const struct fuse_buf *buf = &bufv->buf[i];
    size_t skip = i == bufv->idx ? bufv->off : 0, size = buf->size - skip;
    int last = i + 1 == bufv->count;
    if (!(buf->flags & FUSE_BUF_IS_FD)) {
      send_all((const char *)buf->mem + skip, size, last ? last_flags : MSG_MORE);
      continue;
    }
    loff_t pos = buf->pos + skip;
    while (size > 0) {
      ssize_t n = splice(buf->fd, buf->flags & FUSE_BUF_FD_SEEK ? &pos : NULL, wire, NULL, size,
                         SPLICE_F_MOVE | (last && !last_flags ? 0 : SPLICE_F_MORE));
      if (n <= 0 && errno != EINTR) {
        perror("bench-bridge-lowlevel: splicing to the NFS server");
        exit(1);
      }
      if (n > 0) size -= n;
    }
  }
  bufv->idx = bufv->count; // consumed: else libfuse throws the pipe away and makes a new one for the next request
}

static struct call *register_call(struct handle *write_of) { // under calls_lock
  struct call *call = calloc(1, sizeof(*call));
  if (call == NULL) abort();
  call->xid = next_xid++;
  call->write_of = write_of;
  call->next = calls;
  calls = call;
  return call;
}

static int errno_of(uint32_t nfsstat) { return nfsstat < 100 ? -(int)nfsstat : -EIO; }

/** Reads the replies; a WRITE's settles its handle's count, a COMMIT's wakes its caller. */
static void *receive_replies(void *unused) {
  (void)unused;
  static uint8_t record[65536];
  for (;;) {
    size_t length = 0;
    for (int last = 0; !last;) {
      uint8_t marker[4];
      if (recv(wire, marker, 4, MSG_WAITALL) != 4) goto lost;
      uint32_t fragment = get32(marker) & 0x7fffffff;
      last = marker[0] >> 7;
      if (length + fragment > sizeof(record)) goto lost;
      if (fragment > 0 && recv(wire, record + length, fragment, MSG_WAITALL) != (ssize_t)fragment) goto lost;
      length += fragment;
    }
    if (length < 24) goto lost;
    uint32_t xid = get32(record), verifier_length = get32(record + 16);
    size_t at = 20 + (verifier_length + 3) / 4 * 4;
    int status = -EIO; // denied, or not accepted
    if (get32(record + 8) == 0 && at + 8 <= length && get32(record + at) == 0) status = errno_of(get32(record + at + 4));
    pthread_mutex_lock(&calls_lock);
    struct call **link = &calls;
    while (*link != NULL && (*link)->xid != xid) link = &(*link)->next;
    struct call *call = *link;
    if (call != NULL) {
      *link = call->next;
      if (call->write_of != NULL) {
        call->write_of->writes_in_flight--;
        if (status < 0 && call->write_of->write_error == 0) call->write_of->write_error = status;
        free(call);
      } else {
        call->status = status;
        call->done = 1;
      }
    }
    pthread_mutex_unlock(&calls_lock);
    pthread_cond_broadcast(&call_answered);
  }
lost:
  fprintf(stderr, "bench-bridge-lowlevel: the NFS connection failed\n");
  exit(1);
}

/** Waits for `handle`'s WRITEs and COMMITs them; returns the first error. */
static int settle(struct handle *handle) {
  pthread_mutex_lock(&calls_lock);
  while (handle->writes_in_flight > 0) pthread_cond_wait(&call_answered, &calls_lock);
  int status = handle->write_error;
  handle->write_error = 0;
  if (status == 0 && handle->uncommitted) {
    handle->uncommitted = 0;
    struct call *commit = register_call(NULL);
    pthread_mutex_unlock(&calls_lock);
    uint8_t head[256], *p = head + encode_call(head, commit->xid, PROC_COMMIT, handle->raw, 12);
    p = put32(put32(put32(p, 0), 0), 0); // offset 0, count 0: the whole file
    pthread_mutex_lock(&send_lock);
    send_all(head, p - head, 0);
    pthread_mutex_unlock(&send_lock);
    pthread_mutex_lock(&calls_lock);
    while (!commit->done) pthread_cond_wait(&call_answered, &calls_lock);
    status = commit->status;
    free(commit);
  }
  pthread_mutex_unlock(&calls_lock);
  return status;
}

// ---- the file system ----

/** Stats `path` (under nfs_lock) into an entry that the kernel may not cache: another client removes files. */
static int entry_of(const char *path, struct fuse_entry_param *entry) {
  struct nfs_stat_64 st;
  int status = nfs_stat64(nfs, path[0] ? path : "/", &st);
  if (status < 0) return status;
  memset(entry, 0, sizeof(*entry));
  entry->ino = inode_of(path);
  stat_from_nfs(&st, &entry->attr);
  entry->attr.st_ino = entry->ino;
  return 0;
}

static void bridge_init(void *userdata, struct fuse_conn_info *conn) {
  (void)userdata;
  conn->max_read = MAX_REQUEST; // as the max_read mount option says
  conn->max_write = MAX_REQUEST;
  conn->max_readahead = MAX_REQUEST;
#ifdef NO_SPLICE
  conn->want &= ~FUSE_CAP_SPLICE_READ;
#else
  conn->want |= FUSE_CAP_SPLICE_READ;
#endif
}

static void bridge_lookup(fuse_req_t req, fuse_ino_t parent, const char *name) {
  struct fuse_entry_param entry;
  pthread_mutex_lock(&nfs_lock);
  char *path = child_path(parent, name);
  int status = entry_of(path, &entry);
  pthread_mutex_unlock(&nfs_lock);
  free(path);
  if (status < 0) fuse_reply_err(req, -status);
  else fuse_reply_entry(req, &entry);
}

static void bridge_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi) {
  (void)fi;
  struct fuse_entry_param entry;
  pthread_mutex_lock(&nfs_lock);
  int status = entry_of(path_of(ino), &entry);
  pthread_mutex_unlock(&nfs_lock);
  if (status < 0) fuse_reply_err(req, -status);
  else fuse_reply_attr(req, &entry.attr, 0);
}

static void bridge_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr, int to_set, struct fuse_file_info *fi) {
  (void)fi;
  struct fuse_entry_param entry;
  pthread_mutex_lock(&nfs_lock);
  int status = to_set & FUSE_SET_ATTR_SIZE ? nfs_truncate(nfs, path_of(ino), attr->st_size) : 0;
  if (status == 0) status = entry_of(path_of(ino), &entry);
  pthread_mutex_unlock(&nfs_lock);
  if (status < 0) fuse_reply_err(req, -status);
  else fuse_reply_attr(req, &entry.attr, 0);
}

static struct handle *handle_of(struct nfsfh *fh) {
  struct handle *handle = calloc(1, sizeof(*handle));
  if (handle == NULL) abort();
  handle->fh = fh;
  handle->raw = nfs_get_fh(fh);
  return handle;
}

static void bridge_create(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode, struct fuse_file_info *fi) {
  struct fuse_entry_param entry;
  struct nfsfh *fh;
  pthread_mutex_lock(&nfs_lock);
  char *path = child_path(parent, name);
  int status = nfs_create(nfs, path, fi->flags & (O_EXCL | O_TRUNC), mode & 07777, &fh);
  if (status == 0) status = entry_of(path, &entry);
  pthread_mutex_unlock(&nfs_lock);
  free(path);
  if (status < 0) return (void)fuse_reply_err(req, -status);
  fi->fh = (uintptr_t)handle_of(fh);
  fuse_reply_create(req, &entry, fi);
}

static void bridge_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi) {
  struct nfsfh *fh;
  pthread_mutex_lock(&nfs_lock);
  int status = nfs_open(nfs, path_of(ino), fi->flags & (O_ACCMODE | O_TRUNC), &fh);
  pthread_mutex_unlock(&nfs_lock);
  if (status < 0) return (void)fuse_reply_err(req, -status);
  fi->fh = (uintptr_t)handle_of(fh);
  fuse_reply_open(req, fi);
}

static void bridge_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, struct fuse_file_info *fi) {
  (void)ino;
  static __thread char buffer[MAX_REQUEST];
  struct handle *handle = (struct handle *)(uintptr_t)fi->fh;
  pthread_mutex_lock(&nfs_lock);
  int count = nfs_pread(nfs, handle->fh, off, size < MAX_REQUEST ? size : MAX_REQUEST, buffer);
  pthread_mutex_unlock(&nfs_lock);
  if (count < 0) fuse_reply_err(req, -count);
  else fuse_reply_buf(req, buffer, count);
}

static void bridge_write_buf(fuse_req_t req, fuse_ino_t ino, struct fuse_bufvec *bufv, off_t off,
                             struct fuse_file_info *fi) {
  (void)ino;
  struct handle *handle = (struct handle *)(uintptr_t)fi->fh;
  size_t size = fuse_buf_size(bufv);
  pthread_mutex_lock(&calls_lock);
  while (handle->writes_in_flight >= WRITES_IN_FLIGHT) pthread_cond_wait(&call_answered, &calls_lock);
  int status = handle->write_error;
  handle->write_error = 0;
  struct call *write = status < 0 ? NULL : register_call(handle);
  if (write != NULL) handle->writes_in_flight++, handle->uncommitted = 1;
  pthread_mutex_unlock(&calls_lock);
  if (write == NULL) return (void)fuse_reply_err(req, -status); // libfuse empties the pipe
  uint8_t head[256], *p = head + encode_call(head, write->xid, PROC_WRITE, handle->raw, 20 + (size + 3) / 4 * 4);
  p = put32(put32(put32(p, (uint64_t)off >> 32), (uint32_t)off), size);
  p = put32(put32(p, 0), size); // UNSTABLE, the data's length
  static const uint8_t padding[4];
  pthread_mutex_lock(&send_lock);
  send_all(head, p - head, MSG_MORE);
  send_data(bufv, size % 4 ? MSG_MORE : 0);
  if (size % 4) send_all(padding, 4 - size % 4, 0);
  pthread_mutex_unlock(&send_lock);
  fuse_reply_write(req, size);
}

static void bridge_flush(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi) {
  (void)ino;
  fuse_reply_err(req, -settle((struct handle *)(uintptr_t)fi->fh));
}

static void bridge_fsync(fuse_req_t req, fuse_ino_t ino, int datasync, struct fuse_file_info *fi) {
  (void)datasync;
  bridge_flush(req, ino, fi);
}

static void bridge_release(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi) {
  (void)ino;
  struct handle *handle = (struct handle *)(uintptr_t)fi->fh;
  int status = settle(handle);
  pthread_mutex_lock(&nfs_lock);
  nfs_close(nfs, handle->fh);
  pthread_mutex_unlock(&nfs_lock);
  free(handle);
  fuse_reply_err(req, -status);
}

static void bridge_unlink(fuse_req_t req, fuse_ino_t parent, const char *name) {
  pthread_mutex_lock(&nfs_lock);
  char *path = child_path(parent, name);
  int status = nfs_unlink(nfs, path);
  pthread_mutex_unlock(&nfs_lock);
  free(path);
  fuse_reply_err(req, -status);
}

static const struct fuse_lowlevel_ops bridge_ops = {
    .init = bridge_init,
    .lookup = bridge_lookup,
    .getattr = bridge_getattr,
    .setattr = bridge_setattr,
    .create = bridge_create,
    .open = bridge_open,
    .read = bridge_read,
    .write_buf = bridge_write_buf,
    .flush = bridge_flush,
    .fsync = bridge_fsync,
    .release = bridge_release,
    .unlink = bridge_unlink,
};

/** Opens the WRITE connection to the server libnfs mounted from. */
static void connect_wire(void) {
  struct sockaddr_storage server;
  socklen_t length = sizeof(server);
  int one = 1;
  wire = socket(AF_INET, SOCK_STREAM, 0);
  if (getpeername(rpc_get_fd(nfs_get_rpc_context(nfs)), (struct sockaddr *)&server, &length) != 0 || wire < 0 ||
      connect(wire, (struct sockaddr *)&server, length) != 0 ||
      setsockopt(wire, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) != 0) {
    perror("bench-bridge-lowlevel: connecting to the NFS server");
    exit(1);
  }
}

#ifndef NO_SPLICE
/** libfuse copies when a request does not fit its pipe: refuse to measure that as splice. */
static void require_pipe_size(void) {
  int pipe_ends[2], needed = MAX_REQUEST + 4096;
  if (pipe(pipe_ends) != 0 || fcntl(pipe_ends[0], F_SETPIPE_SZ, needed) < needed) {
    perror("bench-bridge-lowlevel: a pipe cannot hold a 1 MiB request (raise /proc/sys/fs/pipe-max-size to 2097152, or give this process CAP_SYS_RESOURCE)");
    exit(1);
  }
  close(pipe_ends[0]);
  close(pipe_ends[1]);
}
#endif

int main(int argc, char *argv[]) {
  if (argc < 5) {
    fprintf(stderr, "usage: bench-bridge-lowlevel NFS-URL UID GID MOUNTPOINT [-f] [-o OPTIONS]\n");
    return 2;
  }
#ifndef NO_SPLICE
  require_pipe_size();
#endif
  uid = atoi(argv[2]), gid = atoi(argv[3]);
  nfs = nfs_init_context();
  struct nfs_url *url = nfs == NULL ? NULL : nfs_parse_url_dir(nfs, argv[1]);
  if (url == NULL) {
    fprintf(stderr, "bench-bridge-lowlevel: %s: %s\n", argv[1], nfs == NULL ? "no memory" : nfs_get_error(nfs));
    return 1;
  }
  nfs_set_uid(nfs, uid);
  nfs_set_gid(nfs, gid);
  if (nfs_mount(nfs, url->server, url->path) != 0) {
    fprintf(stderr, "bench-bridge-lowlevel: cannot mount %s: %s\n", argv[1], nfs_get_error(nfs));
    return 1;
  }
  inode_of(""); // the root, inode 1
  connect_wire();
  pthread_t receiver;
  if (pthread_create(&receiver, NULL, receive_replies, NULL) != 0) abort();

  struct fuse_args args = FUSE_ARGS_INIT(argc - 3, argv + 3);
  struct fuse_cmdline_opts opts;
  if (fuse_parse_cmdline(&args, &opts) != 0 || opts.mountpoint == NULL) return 2;
  struct fuse_session *se = fuse_session_new(&args, &bridge_ops, sizeof(bridge_ops), NULL);
  if (se == NULL || fuse_set_signal_handlers(se) != 0 || fuse_session_mount(se, opts.mountpoint) != 0) return 1;
  struct fuse_loop_config *config = fuse_loop_cfg_create();
  fuse_loop_cfg_set_max_threads(config, opts.max_threads);
  fuse_loop_cfg_set_idle_threads(config, opts.max_idle_threads);
  int status = fuse_session_loop_mt(se, config);
  fprintf(stderr, "bench-bridge-lowlevel: %lu WRITE requests spliced, %lu copied by libfuse\n", spliced_writes, copied_writes);
  fuse_session_unmount(se);
  fuse_remove_signal_handlers(se);
  fuse_session_destroy(se);
  return status == 0 ? 0 : 1;
}
