// The controller's work on the NFS server: make, check, delete or archive one volume directory under an
// export, as the provisioner's own credential (uid 0 on an export with No_Root_Squash for the controller's
// address: kidfs's provisioner, never a pod). Nothing outside the export is reached: subDirs are checked and
// no symlink on the server is followed.
import { RpcConnectionPool } from '../../nfs/connection-pool.ts';
import { byteName } from '../../nfs/byte-names.ts';
import { NfsError } from '../../nfs/errno.ts';
import { connectExport, type NfsExport } from '../../nfs/nfs-export.ts';
import { formatNfsUrl } from '../../nfs/nfs-url.ts';
import type { Nfs3Client } from '../../nfs/nfs3-client.ts';
import { Ftype3, Nfs3Status, type FileHandle } from '../../nfs/nfs3-types.ts';
import type { Credential } from '../../nfs/rpc-transport.ts';
import { lookupDirectory, walkSubDir, type Directory } from '../export-path.ts';
import { NodeError } from '../node-error.ts';
import type { VolumeRef } from './volume-id.ts';

export interface DirectoryOwner {
  readonly uid: number;
  readonly gid: number;
  /** Permission bits, setgid included. */
  readonly mode: number;
}

/** Parent directories kidfs makes on the way to a volume: root's, traversable by all. */
const PARENT_MODE = 0o755;

export class VolumeDirectories {
  private readonly pool = new RpcConnectionPool();
  private readonly exports = new Map<string, Promise<NfsExport>>();

  constructor(private readonly credential: Credential, private readonly timeoutMs = 30_000) {}

  /** Makes the directory, or accepts an existing one with the same owner and group; ALREADY_EXISTS otherwise. */
  async create(ref: VolumeRef, owner: DirectoryOwner): Promise<'created' | 'exists'> {
    const { client, parent, leaf } = await this.locate(ref, true);
    const existing = await lookupDirectory(client, this.credential, parent!.handle, leaf, ref.subDir);
    if (existing) {
      const { uid, gid } = existing.attributes;
      if (uid !== owner.uid || gid !== owner.gid) {
        throw new NodeError('ALREADY_EXISTS',
          `${describe(ref)} exists with owner ${uid} and group ${gid}; this request wants ${owner.uid} and ${owner.gid}`);
      }
      return 'exists';
    }
    let made: Directory | undefined;
    try {
      const result = await client.mkdir(this.credential, parent!.handle, byteName(leaf), { mode: owner.mode, uid: owner.uid, gid: owner.gid });
      made = { handle: result.handle, attributes: result.attributes ?? (await client.getattr(this.credential, result.handle)) };
    } catch (err) {
      // Someone made it meanwhile (a retried CreateVolume): the same checks as above.
      if (err instanceof NfsError && err.status === Nfs3Status.NFS3ERR_EXIST) return this.create(ref, owner);
      throw err;
    }
    const { attributes } = made;
    // Servers may drop setgid or ownership from MKDIR's attributes: set what is missing explicitly.
    if ((attributes.mode & 0o7777) !== owner.mode || attributes.uid !== owner.uid || attributes.gid !== owner.gid) {
      await client.setattr(this.credential, made.handle, { mode: owner.mode, uid: owner.uid, gid: owner.gid });
    }
    return 'created';
  }

  /** Whether the volume directory exists (FAILED_PRECONDITION when something else is in its place). */
  async exists(ref: VolumeRef): Promise<boolean> {
    const { client, parent, leaf } = await this.locate(ref, false);
    return parent !== undefined && (await lookupDirectory(client, this.credential, parent.handle, leaf, ref.subDir)) !== undefined;
  }

  /** Applies the volume's onDelete; a directory that is already gone is fine. */
  async delete(ref: VolumeRef): Promise<'deleted' | 'archived' | 'retained' | 'absent'> {
    const { client, parent, leaf } = await this.locate(ref, false);
    const existing = parent && (await lookupDirectory(client, this.credential, parent.handle, leaf, ref.subDir));
    if (!parent || !existing) return 'absent';
    if (ref.onDelete === 'retain') return 'retained';
    if (ref.onDelete === 'archive') {
      await this.archive(client, parent.handle, leaf);
      return 'archived';
    }
    await this.removeContents(client, existing.handle);
    await client.rmdir(this.credential, parent.handle, byteName(leaf));
    return 'deleted';
  }

  async close(): Promise<void> {
    const exports = [...this.exports.values()];
    this.exports.clear();
    await Promise.all(exports.map((e) => e.then((exp) => exp.close(), () => undefined)));
  }

  /** The export's client and the volume's parent directory (made when `create`); parent undefined when missing. */
  private async locate(ref: VolumeRef, create: boolean) {
    const exp = await this.connect(ref);
    const root: Directory = { handle: exp.rootHandle, attributes: await exp.client.getattr(this.credential, exp.rootHandle) };
    const slash = ref.subDir.lastIndexOf('/');
    const parentPath = slash < 0 ? '' : ref.subDir.slice(0, slash);
    const parent = await walkSubDir(exp.client, this.credential, root, parentPath, create ? { create: { mode: PARENT_MODE } } : {});
    return { client: exp.client, parent, leaf: ref.subDir.slice(slash + 1) };
  }

  /** One connection per export, shared by all calls; a failed connection is forgotten so the next call tries again. */
  private connect(ref: VolumeRef): Promise<NfsExport> {
    const key = formatNfsUrl(ref.export);
    let exp = this.exports.get(key);
    if (!exp) {
      exp = connectExport(ref.export, { credential: this.credential, timeoutMs: this.timeoutMs, pool: this.pool });
      this.exports.set(key, exp);
      exp.catch(() => this.exports.delete(key));
    }
    return exp.catch((err: Error) => {
      throw new NodeError('UNAVAILABLE', `cannot reach the export ${key}: ${err.message}`);
    });
  }

  /** Renames to archived-<name>, or archived-<name>-<time> when that is taken. */
  private async archive(client: Nfs3Client, parent: FileHandle, leaf: string): Promise<void> {
    const names = [`archived-${leaf}`, `archived-${leaf}-${new Date().toISOString().replace(/[-:.]/g, '')}`];
    for (const [i, name] of names.entries()) {
      try {
        await client.rename(this.credential, parent, leaf, parent, name);
        return;
      } catch (err) {
        const taken = err instanceof NfsError && (err.status === Nfs3Status.NFS3ERR_EXIST || err.status === Nfs3Status.NFS3ERR_NOTEMPTY);
        if (!taken || i === names.length - 1) throw err;
      }
    }
  }

  /** Removes everything in a directory, depth first; symlinks are removed as entries, never followed. */
  private async removeContents(client: Nfs3Client, dir: FileHandle): Promise<void> {
    const { entries } = await client.readdirplusAll(this.credential, dir);
    for (const entry of entries) {
      if (entry.name === '.' || entry.name === '..') continue;
      const type = entry.attributes?.type ?? (await client.lookup(this.credential, dir, entry.name)).attributes?.type;
      if (type === Ftype3.DIR) {
        const handle = entry.handle ?? (await client.lookup(this.credential, dir, entry.name)).handle;
        await this.removeContents(client, handle);
        await client.rmdir(this.credential, dir, entry.name);
      } else {
        await client.remove(this.credential, dir, entry.name);
      }
    }
  }
}

function describe(ref: VolumeRef): string {
  return `${formatNfsUrl(ref.export)} ${ref.subDir}`;
}
