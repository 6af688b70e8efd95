// MOUNT protocol version 3 (RFC 1813 appendix I): the export's root handle, unmount, the export list.
import { XdrError, type XdrReader } from './xdr.ts';
import type { CallCredential, CallOptions, RpcTransport } from './rpc-transport.ts';
import { RpcProtocolError } from './rpc-errors.ts';
import { MountError, MountStatus } from './mount-error.ts';
import { decodeHandle } from './nfs3-attr-codec.ts';
import type { FileHandle } from './nfs3-types.ts';

export const MOUNT_PROGRAM = 100005;
export const MOUNT_V3 = 3;
const MOUNTPROC3_MNT = 1;
const MOUNTPROC3_UMNT = 3;
const MOUNTPROC3_EXPORT = 5;
const MNTPATHLEN = 1024;
const MNTNAMLEN = 255;

/** RPC auth flavors a server may list for an export. */
export const AuthFlavor = { AUTH_NONE: 0, AUTH_SYS: 1 } as const;

export interface MountResult {
  readonly rootHandle: FileHandle;
  /** The auth flavors the export accepts (AuthFlavor numbers), the server's preferred first. */
  readonly authFlavors: number[];
}

export interface ExportEntry {
  readonly path: string;
  /** Client names or groups allowed to mount it; empty means everyone. */
  readonly groups: string[];
}

export interface Mount3ClientOptions {
  readonly timeoutMs?: number;
  /** How error messages name the server, e.g. '127.0.0.1:20048'. */
  readonly serverName?: string;
}

export class Mount3Client {
  private readonly callOptions: CallOptions;
  private readonly serverName: string;

  constructor(
    readonly transport: RpcTransport,
    options: Mount3ClientOptions = {},
  ) {
    this.callOptions = options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs };
    this.serverName = options.serverName ?? 'the server';
  }

  private async call<T>(
    procedure: number,
    name: string,
    cred: CallCredential,
    path: string | null,
    decode: (r: XdrReader) => T,
  ): Promise<T> {
    const reply = await this.transport.call(
      MOUNT_PROGRAM,
      MOUNT_V3,
      procedure,
      cred,
      path === null ? null : (w) => w.string(path),
      this.callOptions,
    );
    try {
      return decode(reply);
    } catch (err) {
      if (err instanceof XdrError)
        throw new RpcProtocolError(`malformed MOUNT ${name} reply from ${this.serverName}: ${err.message}`, { cause: err });
      throw err;
    }
  }

  /** MNT: the root handle of the export at `path`; MountError when the server refuses. */
  async mnt(cred: CallCredential, path: string): Promise<MountResult> {
    const result = await this.call(MOUNTPROC3_MNT, 'MNT', cred, path, (r) => {
      const status = r.uint32();
      if (status !== MountStatus.MNT3_OK) return status;
      const rootHandle = decodeHandle(r);
      const count = r.uint32();
      if (count > r.remaining / 4) throw new XdrError(`${count} auth flavors do not fit in the reply`);
      const authFlavors = Array.from({ length: count }, () => r.uint32());
      return { rootHandle, authFlavors };
    });
    if (typeof result === 'number') throw new MountError(result, path, this.serverName);
    return result;
  }

  /** UMNT: tells the server this client no longer uses the export (advisory; the server answers nothing). */
  async umnt(cred: CallCredential, path: string): Promise<void> {
    await this.call(MOUNTPROC3_UMNT, 'UMNT', cred, path, () => undefined);
  }

  /** EXPORT: the server's export list. */
  export(cred: CallCredential): Promise<ExportEntry[]> {
    return this.call(MOUNTPROC3_EXPORT, 'EXPORT', cred, null, (r) => {
      const exports: ExportEntry[] = [];
      while (r.bool()) {
        const path = r.string(MNTPATHLEN);
        const groups: string[] = [];
        while (r.bool()) groups.push(r.string(MNTNAMLEN));
        exports.push({ path, groups });
      }
      return exports;
    });
  }
}
