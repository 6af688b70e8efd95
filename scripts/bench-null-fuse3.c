// The ceiling of FUSE itself on this machine: a null file system in C on libfuse 3's high-level API, as the kidfs
// binding uses it, with 1 MiB requests. Every name is a file of SIZE bytes of zeros; writes are taken and dropped.
// Built and run by scripts/bench-mount.ts:
//   gcc -O2 -o bench-null-fuse3 bench-null-fuse3.c $(pkg-config --cflags --libs fuse3)
//   bench-null-fuse3 SIZE MOUNTPOINT -f -o max_read=1048576,max_threads=16,...
// (max_write and max_readahead are set in init: libfuse 3 takes them only there, as the kidfs binding does)
#define FUSE_USE_VERSION 312
#include <fuse.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static off_t file_size;

static void *null_init(struct fuse_conn_info *conn, struct fuse_config *cfg) {
  conn->max_write = 1 << 20;
  conn->max_readahead = 1 << 20;
  conn->max_read = 1 << 20; // the same as -o max_read (libfuse checks that they agree)
  conn->want &= ~FUSE_CAP_SPLICE_READ; // as a kidfs mount (no_splice_read): a spliced write is copied once more
  cfg->attr_timeout = 1;
  cfg->entry_timeout = 1;
  return NULL;
}

static int null_getattr(const char *path, struct stat *st, struct fuse_file_info *fi) {
  (void) fi;
  memset(st, 0, sizeof(*st));
  if (strcmp(path, "/") == 0) {
    st->st_mode = S_IFDIR | 0777;
    st->st_nlink = 2;
  } else {
    st->st_mode = S_IFREG | 0666;
    st->st_nlink = 1;
    st->st_size = file_size;
  }
  return 0;
}

static int null_open(const char *path, struct fuse_file_info *fi) {
  (void) path;
  (void) fi;
  return 0;
}

static int null_create(const char *path, mode_t mode, struct fuse_file_info *fi) {
  (void) path;
  (void) mode;
  (void) fi;
  return 0;
}

static int null_truncate(const char *path, off_t size, struct fuse_file_info *fi) {
  (void) path;
  (void) size;
  (void) fi;
  return 0;
}

static int null_read(const char *path, char *buf, size_t size, off_t offset, struct fuse_file_info *fi) {
  (void) path;
  (void) fi;
  if (offset >= file_size) return 0;
  if ((off_t) size > file_size - offset) size = (size_t) (file_size - offset);
  memset(buf, 0, size);
  return (int) size;
}

static int null_write(const char *path, const char *buf, size_t size, off_t offset, struct fuse_file_info *fi) {
  (void) path;
  (void) buf;
  (void) offset;
  (void) fi;
  return (int) size;
}

static int null_fsync(const char *path, int datasync, struct fuse_file_info *fi) {
  (void) path;
  (void) datasync;
  (void) fi;
  return 0;
}

static const struct fuse_operations null_ops = {
  .init = null_init,
  .getattr = null_getattr,
  .open = null_open,
  .create = null_create,
  .truncate = null_truncate,
  .read = null_read,
  .write = null_write,
  .fsync = null_fsync,
};

int main(int argc, char *argv[]) {
  if (argc < 3) return 2;
  file_size = (off_t) strtoll(argv[1], NULL, 10);
  argv[1] = argv[0];
  return fuse_main(argc - 1, argv + 1, &null_ops, NULL);
}
