// The libfuse 3 option set of a kidfs mount, built and checked before anything is mounted.
// kidfs writes every option itself (fuse-native's own option names drop zero values such as
// attr_timeout=0 and umask=0, and lack max_write / max_read / the worker-pool bounds).

export interface MountOptions {
  /** shown in /proc/mounts as kidfs:<name>; letters, digits and . _ - : / @ + only */
  name: string;
  /** let every uid use the mount, as pods do (default true) */
  allowOther?: boolean;
  readOnly?: boolean;
  /** seconds the kernel may cache attributes / names / misses; 0 asks every time (defaults 1, 1, 0) */
  attrTimeoutSeconds?: number;
  entryTimeoutSeconds?: number;
  negativeTimeoutSeconds?: number;
  /** writes of up to maxWriteBytes instead of 4 KiB pages (default true; false is max_write=4096) */
  bigWrites?: boolean;
  /** largest write / read request, 4096 to 1048576 (the kernel's 256 pages; default 1048576); read-ahead matches maxReadBytes */
  maxWriteBytes?: number;
  maxReadBytes?: number;
  /**
   * st_ino (and readdir's d_ino) is the handlers' `ino` instead of libfuse's own node number (libfuse's use_ino):
   * for handlers that give every file its number (a listed entry with number 0 is skipped by readdir(3))
   */
  useIno?: boolean;
  /**
   * keep the kernel's page cache of a file across opens while its attributes, fetched again at every open, show the
   * same mtime and size (libfuse's auto_cache with ac_attr_timeout=0: what the Linux NFS client does); a file changed
   * elsewhere is read afresh after its open
   */
  autoCache?: boolean;
  /**
   * libfuse worker threads of the mount: at most maxThreads, of which at most maxIdleThreads wait idle (defaults 16, 4).
   * The kernel sends a few requests at a time even for one application: with fewer idle workers allowed, libfuse ends
   * a worker after a request and starts another for the next (test/mount/worker-reuse).
   */
  maxThreads?: number;
  maxIdleThreads?: number;
  /** replace every permission bit the file system reports by 0777 & ~umask (libfuse's umask=) */
  umask?: number;
  /** report every file as owned by this uid / gid (libfuse's uid= / gid=) */
  uid?: number;
  gid?: number;
  /** libfuse prints every request on stderr */
  debug?: boolean;
  /** further libfuse 3 options, from the list below */
  extraOptions?: string[];
}

export class MountOptionsError extends Error {
  override name = 'MountOptionsError';
}

/** The kernel's limit (FUSE_MAX_MAX_PAGES, 256 pages), which libfuse 3's request buffer follows. */
export const MAX_REQUEST_BYTES = 1048576;
/** A page: the smallest request, and what writes are without bigWrites. */
const PAGE_BYTES = 4096;

// Options a mount may add through extraOptions: flags, and options that take a number.
const EXTRA_FLAGS = new Set([
  'kernel_cache',
  'auto_cache',
  'noauto_cache',
  'direct_io',
  'hard_remove',
  'use_ino',
  'readdir_ino',
  'async_read',
  'sync_read',
  'atomic_o_trunc',
  'no_remote_lock',
  'noatime',
  'noexec',
  'sync',
  'dirsync',
  'intr',
  'noforget',
]);
const EXTRA_NUMBERS = new Set(['ac_attr_timeout', 'max_readahead', 'max_background', 'congestion_threshold', 'remember', 'intr_signal']);
// Options kidfs sets itself or must never have, with the reason a person gets.
const REFUSED: Record<string, string> = {
  default_permissions: 'kidfs leaves permission checks to the NFS server',
  splice_read: 'a spliced write would be copied out of its pipe once more: kidfs mounts set no_splice_read',
  no_splice_read: 'kidfs sets it',
  splice_write: 'the binding reads and answers /dev/fuse itself (fast writes), and libfuse cannot splice through it',
  splice_move: 'the binding reads and answers /dev/fuse itself (fast writes), and libfuse cannot splice through it',
  suid: 'kidfs mounts are always nosuid',
  dev: 'kidfs mounts are always nodev',
  allow_root: 'use allowOther',
  allow_other: 'use allowOther',
  user_id: 'libfuse sets it',
  group_id: 'libfuse sets it',
  fd: 'libfuse sets it',
  rootmode: 'libfuse sets it',
  blkdev: 'kidfs is not a block-device file system',
  fsname: 'use name',
  subtype: 'kidfs sets it',
  big_writes: 'use bigWrites',
  max_write: 'use maxWriteBytes',
  max_read: 'use maxReadBytes',
  max_threads: 'use maxThreads',
  max_idle_threads: 'use maxIdleThreads',
  attr_timeout: 'use attrTimeoutSeconds',
  entry_timeout: 'use entryTimeoutSeconds',
  negative_timeout: 'use negativeTimeoutSeconds',
  umask: 'use umask',
  uid: 'use uid',
  gid: 'use gid',
  debug: 'use debug',
  ro: 'use readOnly',
  rw: 'use readOnly',
};

const NAME = /^[A-Za-z0-9._:/@+-]{1,200}$/;
/** fuse-native copies the option string into 1024 bytes, silently cutting what is longer. */
const MAX_OPTION_STRING = 1000;

/** The libfuse options ("-o" items) for a mount; throws MountOptionsError naming what is wrong. */
export function fuseOptionList(options: MountOptions): string[] {
  if (!NAME.test(options.name)) {
    throw new MountOptionsError(`mount name ${JSON.stringify(options.name)} must be 1-200 of: letters, digits, . _ - : / @ +`);
  }
  const list = ['nosuid', 'nodev', `fsname=kidfs:${options.name}`, 'subtype=kidfs'];
  if (options.useIno) list.push('use_ino');
  if (options.autoCache) list.push('auto_cache', 'ac_attr_timeout=0');
  // The page cache is kept or dropped at open (autoCache), as the NFS client does: libfuse 3's default would also have
  // the kernel ask for the attributes before every read(2) while they are expired, a GETATTR round trip per read.
  list.push('no_auto_inval_data');
  // kidfs's binding reads /dev/fuse itself (fast writes: a write is handed to JavaScript in the buffer it was read
  // into), so libfuse cannot splice; said outright, so that a mount without fast writes behaves the same: there, where
  // a pipe may hold a whole request (CAP_SYS_RESOURCE, or a raised fs.pipe-max-size), libfuse 3 would splice each write
  // into a pipe and copy it out again for the path-based write, and a mount's speed would depend on the node.
  list.push('no_splice_read');
  if (options.allowOther ?? true) list.push('allow_other');
  if (options.readOnly) list.push('ro');
  list.push(`attr_timeout=${seconds('attrTimeoutSeconds', options.attrTimeoutSeconds ?? 1)}`);
  list.push(`entry_timeout=${seconds('entryTimeoutSeconds', options.entryTimeoutSeconds ?? 1)}`);
  list.push(`negative_timeout=${seconds('negativeTimeoutSeconds', options.negativeTimeoutSeconds ?? 0)}`);
  const maxWrite = requestBytes('maxWriteBytes', options.maxWriteBytes);
  const maxRead = requestBytes('maxReadBytes', options.maxReadBytes);
  list.push(`max_write=${(options.bigWrites ?? true) ? maxWrite : PAGE_BYTES}`);
  list.push(`max_read=${maxRead}`);
  // the kernel reads ahead at most max_readahead, so a sequential read fills whole requests
  if (!(options.extraOptions ?? []).some((extra) => extra.startsWith('max_readahead='))) list.push(`max_readahead=${maxRead}`);
  list.push(`max_threads=${integerFrom('maxThreads', options.maxThreads ?? 16, 1, 1024)}`);
  list.push(`max_idle_threads=${integerFrom('maxIdleThreads', options.maxIdleThreads ?? 4, 1, 1024)}`);
  if (options.umask !== undefined) list.push(`umask=${integer('umask', options.umask, 0o777).toString(8)}`);
  if (options.uid !== undefined) list.push(`uid=${integer('uid', options.uid, 0xfffffffe)}`);
  if (options.gid !== undefined) list.push(`gid=${integer('gid', options.gid, 0xfffffffe)}`);
  if (options.debug) list.push('debug');
  for (const extra of options.extraOptions ?? []) list.push(checkExtra(extra));

  const optionString = list.join(',');
  if (optionString.length > MAX_OPTION_STRING) {
    throw new MountOptionsError(
      `FUSE options are ${optionString.length} characters, at most ${MAX_OPTION_STRING} fit: shorten name or extraOptions`,
    );
  }
  return list;
}

function checkExtra(option: string): string {
  const [key, value, ...rest] = option.split('=');
  const refusal = REFUSED[key];
  if (refusal) throw new MountOptionsError(`FUSE option '${option}' is not allowed in extraOptions: ${refusal}`);
  if (EXTRA_FLAGS.has(key) && value === undefined) return option;
  if (EXTRA_NUMBERS.has(key) && rest.length === 0 && /^\d+(\.\d+)?$/.test(value ?? '')) return option;
  if (EXTRA_FLAGS.has(key) || EXTRA_NUMBERS.has(key)) {
    throw new MountOptionsError(`FUSE option '${option}': ${key} ${EXTRA_FLAGS.has(key) ? 'takes no value' : 'needs =<number>'}`);
  }
  const known = [...EXTRA_FLAGS, ...[...EXTRA_NUMBERS].map((name) => `${name}=N`)].join(', ');
  throw new MountOptionsError(`unknown FUSE option '${option}'; extraOptions accepts: ${known}`);
}

function seconds(field: string, value: number): string {
  if (!Number.isFinite(value) || value < 0) throw new MountOptionsError(`${field} must be a number of seconds >= 0, not ${value}`);
  return String(value);
}

function requestBytes(field: string, value = MAX_REQUEST_BYTES): number {
  if (!Number.isInteger(value) || value < PAGE_BYTES || value > MAX_REQUEST_BYTES) {
    throw new MountOptionsError(
      `${field} must be an integer from ${PAGE_BYTES} to ${MAX_REQUEST_BYTES} (the kernel's largest FUSE request), not ${value}`,
    );
  }
  return value;
}

function integer(field: string, value: number, max: number): number {
  return integerFrom(field, value, 0, max);
}

function integerFrom(field: string, value: number, min: number, max: number): number {
  if (!Number.isInteger(value) || value < min || value > max)
    throw new MountOptionsError(`${field} must be an integer from ${min} to ${max}, not ${value}`);
  return value;
}
