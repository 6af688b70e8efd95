// libnfs's attributes as a struct stat, for the C bridges scripts/bench-mount.ts builds.
#ifndef BENCH_NFS_STAT_H
#define BENCH_NFS_STAT_H
#include <nfsc/libnfs.h>
#include <string.h>
#include <sys/stat.h>

static inline void stat_from_nfs(const struct nfs_stat_64 *from, struct stat *st) {
  memset(st, 0, sizeof(*st));
  st->st_ino = from->nfs_ino;
  st->st_mode = from->nfs_mode;
  st->st_nlink = from->nfs_nlink;
  st->st_uid = from->nfs_uid;
  st->st_gid = from->nfs_gid;
  st->st_size = from->nfs_size;
  st->st_blocks = from->nfs_blocks;
  st->st_blksize = 1 << 20; // a request's size
  st->st_atim = (struct timespec){from->nfs_atime, from->nfs_atime_nsec};
  st->st_mtim = (struct timespec){from->nfs_mtime, from->nfs_mtime_nsec};
  st->st_ctim = (struct timespec){from->nfs_ctime, from->nfs_ctime_nsec};
}
#endif
