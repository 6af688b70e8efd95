// The small-file reference of scripts/bench-mount.ts: libnfs (the library fuse-nfs and nfs-cp are built on) creating
// files one after another in one process, each as an application would with the guarantee a kidfs close gives:
// create with O_EXCL, write a few bytes, fsync (COMMIT), close.
//
//   bench-libnfs-create <nfs-url of the export> <new directory, from the export's root> <count> <uid> <gid>
//
// Prints the seconds the files took (the MNT and the mkdir before them not included).
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/time.h>
#include <time.h>
#include <nfsc/libnfs.h>

static int fail(struct nfs_context *nfs, const char *what, const char *path) {
  fprintf(stderr, "bench-libnfs-create: %s %s: %s\n", what, path, nfs_get_error(nfs));
  return 1;
}

int main(int argc, char **argv) {
  if (argc != 6) {
    fprintf(stderr, "usage: bench-libnfs-create <nfs-url> <directory> <count> <uid> <gid>\n");
    return 2;
  }
  const char *dir = argv[2];
  int count = atoi(argv[3]);
  struct nfs_context *nfs = nfs_init_context();
  if (nfs == NULL) return fail(nfs, "init", "");
  struct nfs_url *url = nfs_parse_url_dir(nfs, argv[1]);
  if (url == NULL) return fail(nfs, "parse", argv[1]);
  nfs_set_uid(nfs, atoi(argv[4]));
  nfs_set_gid(nfs, atoi(argv[5]));
  if (nfs_mount(nfs, url->server, url->path) != 0) return fail(nfs, "mount", url->path);
  if (nfs_mkdir(nfs, dir) != 0) return fail(nfs, "mkdir", dir);

  struct timespec start, end;
  clock_gettime(CLOCK_MONOTONIC, &start);
  char path[4096], text[32];
  for (int i = 0; i < count; i++) {
    struct nfsfh *fh;
    snprintf(path, sizeof path, "%s/f%d", dir, i);
    int length = snprintf(text, sizeof text, "file %d\n", i);
    if (nfs_create(nfs, path, O_EXCL | O_WRONLY, 0644, &fh) != 0) return fail(nfs, "create", path);
    if (nfs_write(nfs, fh, length, text) != length) return fail(nfs, "write", path);
    if (nfs_fsync(nfs, fh) != 0) return fail(nfs, "fsync", path);
    if (nfs_close(nfs, fh) != 0) return fail(nfs, "close", path);
  }
  clock_gettime(CLOCK_MONOTONIC, &end);
  printf("%.6f\n", (double) (end.tv_sec - start.tv_sec) + (end.tv_nsec - start.tv_nsec) / 1e9);

  nfs_destroy_url(url);
  nfs_destroy_context(nfs);
  return 0;
}
