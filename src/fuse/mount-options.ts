// The libfuse 2 option set of a kidfs mount, built and checked before anything is mounted.
// kidfs writes every option itself (fuse-native's own option names drop zero values such as
// attr_timeout=0 and umask=0, and lack big_writes / max_write).

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
  /** writes of up to maxWriteBytes instead of 4 KiB pages (default true) */
  bigWrites?: boolean;
  /** largest write / read request, 4096 to 131072 (libfuse 2's limit; default 131072) */
  maxWriteBytes?: number;
  maxReadBytes?: number;
  /** replace every permission bit the file system reports by 0777 & ~umask (libfuse's umask=) */
  umask?: number;
  /** report every file as owned by this uid / gid (libfuse's uid= / gid=) */
  uid?: number;
  gid?: number;
  /** libfuse prints every request on stderr */
  debug?: boolean;
  /** further libfuse 2 options, from the list below */
  extraOptions?: string[];
}

export class MountOptionsError extends Error {
  override name = 'MountOptionsError';
}

/** libfuse's own limit: its request buffer holds 128 KiB of data (fuse_kern_chan MIN_BUFSIZE). */
export const LIBFUSE2_MAX_REQUEST_BYTES = 131072;

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
  'splice_read',
  'splice_write',
  'splice_move',
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
  if (options.allowOther ?? true) list.push('allow_other');
  if (options.readOnly) list.push('ro');
  list.push(`attr_timeout=${seconds('attrTimeoutSeconds', options.attrTimeoutSeconds ?? 1)}`);
  list.push(`entry_timeout=${seconds('entryTimeoutSeconds', options.entryTimeoutSeconds ?? 1)}`);
  list.push(`negative_timeout=${seconds('negativeTimeoutSeconds', options.negativeTimeoutSeconds ?? 0)}`);
  if (options.bigWrites ?? true) list.push('big_writes');
  list.push(`max_write=${requestBytes('maxWriteBytes', options.maxWriteBytes)}`);
  list.push(`max_read=${requestBytes('maxReadBytes', options.maxReadBytes)}`);
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

function requestBytes(field: string, value = LIBFUSE2_MAX_REQUEST_BYTES): number {
  if (!Number.isInteger(value) || value < 4096 || value > LIBFUSE2_MAX_REQUEST_BYTES) {
    throw new MountOptionsError(
      `${field} must be an integer from 4096 to ${LIBFUSE2_MAX_REQUEST_BYTES} (libfuse 2's request buffer), not ${value}`,
    );
  }
  return value;
}

function integer(field: string, value: number, max: number): number {
  if (!Number.isInteger(value) || value < 0 || value > max)
    throw new MountOptionsError(`${field} must be an integer from 0 to ${max}, not ${value}`);
  return value;
}
