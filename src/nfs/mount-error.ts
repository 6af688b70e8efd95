// The MOUNT server's refusals (RFC 1813 mountstat3), and an export kidfs cannot use: errors with a stable `code`.

/** mountstat3 */
export const MountStatus = {
  MNT3_OK: 0,
  MNT3ERR_PERM: 1,
  MNT3ERR_NOENT: 2,
  MNT3ERR_IO: 5,
  MNT3ERR_ACCES: 13,
  MNT3ERR_NOTDIR: 20,
  MNT3ERR_INVAL: 22,
  MNT3ERR_NAMETOOLONG: 63,
  MNT3ERR_NOTSUPP: 10004,
  MNT3ERR_SERVERFAULT: 10006,
} as const;
export type MountStatusName = keyof typeof MountStatus;

const MOUNT_MEANINGS: Record<Exclude<MountStatusName, 'MNT3_OK'>, string> = {
  MNT3ERR_PERM: "the server does not let this client mount it (check the export's client list)",
  MNT3ERR_NOENT: 'no such export on the server (check the path against its export list)',
  MNT3ERR_IO: 'I/O error on the server',
  // ganesha also answers this for a path it does not export at all.
  MNT3ERR_ACCES: "access denied: the path is not exported to this client (check the path and the export's client list)",
  MNT3ERR_NOTDIR: 'the export path is not a directory',
  MNT3ERR_INVAL: 'the server refused the export path as invalid',
  MNT3ERR_NAMETOOLONG: 'the export path is too long',
  MNT3ERR_NOTSUPP: 'the server does not support this mount operation',
  MNT3ERR_SERVERFAULT: 'server fault',
};

const mountStatusNames = new Map<number, MountStatusName>(Object.entries(MountStatus).map(([name, n]) => [n, name as MountStatusName]));

/** The MOUNT server refused MNT (or another MOUNT procedure). */
export class MountError extends Error {
  override name = 'MountError';
  /** The status's name, e.g. 'MNT3ERR_ACCES' ('mountstat3 N' for one RFC 1813 does not define). */
  readonly code: string;

  constructor(
    readonly status: number,
    /** The export path asked for. */
    readonly path: string,
    server: string,
  ) {
    const name = mountStatusNames.get(status);
    const meaning = name && name !== 'MNT3_OK' ? MOUNT_MEANINGS[name] : undefined;
    const code = name ?? `mountstat3 ${status}`;
    super(`mounting ${path} from ${server} failed: ${code}: ${meaning ?? 'unknown status'}`);
    this.code = code;
  }
}

/** The export does not take AUTH_SYS, the only flavor kidfs sends file operations with. */
export class ExportFlavorError extends Error {
  override name = 'ExportFlavorError';
  readonly code = 'NO_AUTH_SYS';
}
