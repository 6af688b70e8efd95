// The bound of a FUSE-to-NFS bridge on this machine: the least a kidfs mount could cost with its design and
// guarantees, written in C with no JavaScript. libfuse 3's high-level API (as the kidfs binding uses it, 1 MiB
// requests, the same worker limits) in front of libnfs (the library nfs-cp is built on), acting as one uid:gid.
// A write is copied out of libfuse's request buffer, answered at once, and sent as an UNSTABLE WRITE beside the
// chain, up to 16 in flight per file (kidfs's default); fsync and close wait for them and COMMIT, and report a failed
// WRITE, as a kidfs mount does. Reads wait for their READ. Only what a sequential copy needs is served: getattr,
// create, open, truncate, read, write, flush, fsync, release, and unlink (a file removed on ganesha's backing
// directory stays open in ganesha and slows what follows). Built and run by scripts/bench-mount.ts:
//   gcc -O2 -o bench-bridge-fuse3 bench-bridge-fuse3.c $(pkg-config --cflags --libs fuse3) -lnfs -lpthread
//   bench-bridge-fuse3 NFS-URL UID GID MOUNTPOINT -f -o max_read=1048576,max_threads=16,...
// libnfs's context is not thread-safe: every call into it holds `lock`; one service thread polls its socket, and a
// libfuse worker that waits for an answer sleeps on `answered`.
#define FUSE_USE_VERSION 312
#include <fuse.h>
#include <nfsc/libnfs.h>
#include "bench-nfs-stat.h"
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#ifndef WRITES_IN_FLIGHT // -DWRITES_IN_FLIGHT=n to try another depth
#define WRITES_IN_FLIGHT 16
#endif
#define MAX_REQUEST (1 << 20)

static struct nfs_context *nfs;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t answered = PTHREAD_COND_INITIALIZER;
/** Wakes the service thread when a call was queued, so that it polls for POLLOUT too. */
static int wake_fd;

struct handle {
  struct nfsfh *fh;
  int writes_in_flight;
  int write_error; // the first failed WRITE's -errno, reported by the next write, flush or fsync
  int uncommitted; // a WRITE was sent since the last COMMIT
};

/** One call a libfuse worker waits for; `copy_out` takes what the callback's data points to (valid only then). */
struct call {
  int done;
  int status;
  void *data;
  void (*copy_out)(struct call *call, void *data);
  void *out;
};

/** A WRITE's copy of its data; kept for the next once answered (a fresh 1 MiB malloc faults its pages in again). */
struct pending_write {
  struct pending_write *next_free;
  struct handle *handle;
  size_t size;
  char data[MAX_REQUEST];
};
static struct pending_write *free_writes;

static void wake_service(void) {
  uint64_t one = 1;
  if (write(wake_fd, &one, sizeof(one)) < 0) abort();
}

static void call_answered(int status, struct nfs_context *ctx, void *data, void *private_data) {
  (void) ctx;
  struct call *call = private_data;
  call->status = status;
  if (status >= 0 && call->copy_out != NULL) call->copy_out(call, data);
  else call->data = data;
  call->done = 1;
}

/** Waits (holding `lock`) for `call`, queued by `queued` (libnfs's return value); returns its status. */
static int wait_for(struct call *call, int queued) {
  if (queued != 0) return -EIO;
  wake_service();
  while (!call->done) pthread_cond_wait(&answered, &lock);
  return call->status;
}

static void *service(void *unused) {
  (void) unused;
  for (;;) {
    pthread_mutex_lock(&lock);
    struct pollfd fds[2] = {{.fd = nfs_get_fd(nfs), .events = nfs_which_events(nfs)}, {.fd = wake_fd, .events = POLLIN}};
    pthread_mutex_unlock(&lock);
    if (poll(fds, 2, -1) < 0 && errno != EINTR) abort();
    uint64_t count;
    if (fds[1].revents & POLLIN && read(wake_fd, &count, sizeof(count)) < 0) abort();
    pthread_mutex_lock(&lock);
    if (nfs_service(nfs, fds[0].revents) < 0) {
      fprintf(stderr, "bench-bridge-fuse3: the NFS connection failed: %s\n", nfs_get_error(nfs));
      exit(1);
    }
    pthread_mutex_unlock(&lock);
    pthread_cond_broadcast(&answered);
  }
  return NULL;
}

static void copy_stat(struct call *call, void *data) { stat_from_nfs(data, call->out); }

static void copy_read(struct call *call, void *data) {
  memcpy(call->out, data, (size_t) call->status);
}

static void *bridge_init(struct fuse_conn_info *conn, struct fuse_config *cfg) {
  conn->max_write = MAX_REQUEST;
  conn->max_readahead = MAX_REQUEST;
  conn->max_read = MAX_REQUEST;
  conn->want &= ~FUSE_CAP_SPLICE_READ; // as a kidfs mount (no_splice_read): a spliced write is copied once more
  cfg->attr_timeout = 1;
  cfg->entry_timeout = 1;
  return NULL;
}

static int bridge_getattr(const char *path, struct stat *st, struct fuse_file_info *fi) {
  struct call call = {.copy_out = copy_stat, .out = st};
  pthread_mutex_lock(&lock);
  int queued = fi != NULL ? nfs_fstat64_async(nfs, ((struct handle *) fi->fh)->fh, call_answered, &call)
                          : nfs_stat64_async(nfs, path, call_answered, &call);
  int status = wait_for(&call, queued);
  pthread_mutex_unlock(&lock);
  return status < 0 ? status : 0;
}

/** Keeps the libnfs file handle of a successful open or create in `fi`. */
static int opened(struct fuse_file_info *fi, struct call *call, int status) {
  if (status < 0) return status;
  struct handle *handle = calloc(1, sizeof(*handle));
  if (handle == NULL) return -ENOMEM;
  handle->fh = call->data;
  fi->fh = (uint64_t) (uintptr_t) handle;
  return 0;
}

static int bridge_open(const char *path, struct fuse_file_info *fi) {
  struct call call = {0};
  pthread_mutex_lock(&lock);
  int status = wait_for(&call, nfs_open_async(nfs, path, fi->flags & O_ACCMODE, call_answered, &call));
  pthread_mutex_unlock(&lock);
  return opened(fi, &call, status);
}

static int bridge_create(const char *path, mode_t mode, struct fuse_file_info *fi) {
  struct call call = {0};
  pthread_mutex_lock(&lock);
  int flags = (fi->flags & (O_ACCMODE | O_EXCL)) | O_CREAT;
  int status = wait_for(&call, nfs_create_async(nfs, path, flags, (int) mode, call_answered, &call));
  pthread_mutex_unlock(&lock);
  return opened(fi, &call, status);
}

static int bridge_truncate(const char *path, off_t size, struct fuse_file_info *fi) {
  struct call call = {0};
  pthread_mutex_lock(&lock);
  int queued = fi != NULL ? nfs_ftruncate_async(nfs, ((struct handle *) fi->fh)->fh, (uint64_t) size, call_answered, &call)
                          : nfs_truncate_async(nfs, path, (uint64_t) size, call_answered, &call);
  int status = wait_for(&call, queued);
  pthread_mutex_unlock(&lock);
  return status < 0 ? status : 0;
}

static int bridge_unlink(const char *path) {
  struct call call = {0};
  pthread_mutex_lock(&lock);
  int status = wait_for(&call, nfs_unlink_async(nfs, path, call_answered, &call));
  pthread_mutex_unlock(&lock);
  return status < 0 ? status : 0;
}

static int bridge_read(const char *path, char *buf, size_t size, off_t offset, struct fuse_file_info *fi) {
  (void) path;
  struct call call = {.copy_out = copy_read, .out = buf};
  pthread_mutex_lock(&lock);
  int queued = nfs_pread_async(nfs, ((struct handle *) fi->fh)->fh, (uint64_t) offset, size, call_answered, &call);
  int status = wait_for(&call, queued);
  pthread_mutex_unlock(&lock);
  return status;
}

static void write_answered(int status, struct nfs_context *ctx, void *data, void *private_data) {
  (void) ctx;
  (void) data;
  struct pending_write *write = private_data;
  struct handle *handle = write->handle;
  if (handle->write_error == 0 && (status < 0 || (size_t) status != write->size))
    handle->write_error = status < 0 ? status : -EIO;
  handle->writes_in_flight--;
  write->next_free = free_writes;
  free_writes = write;
}

static int bridge_write(const char *path, const char *buf, size_t size, off_t offset, struct fuse_file_info *fi) {
  (void) path;
  struct handle *handle = (struct handle *) fi->fh;
  pthread_mutex_lock(&lock);
  struct pending_write *write = free_writes;
  if (write != NULL) free_writes = write->next_free;
  pthread_mutex_unlock(&lock);
  if (write == NULL && (write = malloc(sizeof(*write))) == NULL) return -ENOMEM;
  write->handle = handle;
  write->size = size;
  memcpy(write->data, buf, size); // libfuse reuses its buffer after the answer; the WRITE goes out later
  pthread_mutex_lock(&lock);
  while (handle->writes_in_flight >= WRITES_IN_FLIGHT && handle->write_error == 0) pthread_cond_wait(&answered, &lock);
  int status = handle->write_error;
  if (status == 0 && nfs_pwrite_async(nfs, handle->fh, (uint64_t) offset, size, write->data, write_answered, write) != 0)
    status = -EIO;
  if (status == 0) {
    handle->writes_in_flight++;
    handle->uncommitted = 1;
    wake_service();
  }
  if (status != 0) {
    write->next_free = free_writes;
    free_writes = write;
  }
  pthread_mutex_unlock(&lock);
  return status != 0 ? status : (int) size;
}

/** What fsync and close wait for: every WRITE answered, then a COMMIT of them. */
static int bridge_fsync(const char *path, int datasync, struct fuse_file_info *fi) {
  (void) path;
  (void) datasync;
  struct handle *handle = (struct handle *) fi->fh;
  pthread_mutex_lock(&lock);
  while (handle->writes_in_flight > 0) pthread_cond_wait(&answered, &lock);
  int status = handle->write_error;
  if (status == 0 && handle->uncommitted) {
    struct call call = {0};
    status = wait_for(&call, nfs_fsync_async(nfs, handle->fh, call_answered, &call));
    if (status == 0) handle->uncommitted = 0;
  }
  pthread_mutex_unlock(&lock);
  return status < 0 ? status : 0;
}

static int bridge_flush(const char *path, struct fuse_file_info *fi) {
  return bridge_fsync(path, 0, fi);
}

static int bridge_release(const char *path, struct fuse_file_info *fi) {
  (void) path;
  struct handle *handle = (struct handle *) fi->fh;
  struct call call = {0};
  pthread_mutex_lock(&lock);
  while (handle->writes_in_flight > 0) pthread_cond_wait(&answered, &lock);
  wait_for(&call, nfs_close_async(nfs, handle->fh, call_answered, &call));
  pthread_mutex_unlock(&lock);
  free(handle);
  return 0;
}

static const struct fuse_operations bridge_ops = {
  .init = bridge_init,
  .getattr = bridge_getattr,
  .open = bridge_open,
  .create = bridge_create,
  .truncate = bridge_truncate,
  .unlink = bridge_unlink,
  .read = bridge_read,
  .write = bridge_write,
  .flush = bridge_flush,
  .fsync = bridge_fsync,
  .release = bridge_release,
};

int main(int argc, char *argv[]) {
  if (argc < 5) {
    fprintf(stderr, "usage: bench-bridge-fuse3 NFS-URL UID GID MOUNTPOINT [libfuse options]\n");
    return 2;
  }
  nfs = nfs_init_context();
  struct nfs_url *url = nfs == NULL ? NULL : nfs_parse_url_dir(nfs, argv[1]);
  if (url == NULL) {
    fprintf(stderr, "bench-bridge-fuse3: %s: %s\n", argv[1], nfs == NULL ? "no libnfs context" : nfs_get_error(nfs));
    return 1;
  }
  nfs_set_uid(nfs, atoi(argv[2]));
  nfs_set_gid(nfs, atoi(argv[3]));
  if (nfs_mount(nfs, url->server, url->path) != 0) {
    fprintf(stderr, "bench-bridge-fuse3: cannot mount %s: %s\n", argv[1], nfs_get_error(nfs));
    return 1;
  }
  wake_fd = eventfd(0, EFD_CLOEXEC);
  pthread_t thread;
  if (wake_fd < 0 || pthread_create(&thread, NULL, service, NULL) != 0) return 1;
  argv[3] = argv[0];
  return fuse_main(argc - 3, argv + 3, &bridge_ops, NULL);
}
