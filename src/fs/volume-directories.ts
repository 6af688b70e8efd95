// The controller's work on the NFS server: make, check, delete or archive one volume directory under an
// export, as the provisioner's own credential (uid 0 on an export with No_Root_Squash for the controller's
// address: kidfs's provisioner, never a pod). Nothing outside the export is reached: subDirs are checked and
// no symlink on the server is followed. Every directory on the way to a volume must be root's or the
// provisioner's and writable by no one else, and a directory is only treated as a volume when its marker
// (volume-markers.ts) says kidfs made it for that volume. Refusals are FsErrors: EEXIST for a directory that is another
// volume's or not kidfs's, EINVAL for a subDir using kidfs's own name, EACCES when the server refuses the provisioner,
// EREMOTEIO when the export cannot be reached; the walk's ENOTDIR and EPERM (export-directories.ts) pass through.
import {
  byteName,
  connectExport,
  type Credential,
  type FileHandle,
  formatNfsUrl,
  Ftype3,
  type Nfs3Client,
  Nfs3Status,
  NfsError,
  type NfsExport,
  type NfsUrl,
  RpcConnectionPool,
} from '../nfs/index.ts';

import { lookupDirectory, walkSubDir, type Directory } from './export-directories.ts';
import { Errno } from './errno.ts';
import { FsError } from './fs-error.ts';
import { MARKERS_DIR, VolumeMarkers, type VolumeMarker } from './volume-markers.ts';

/** Where a volume's directory is, and what DeleteVolume does with it. */
export interface VolumeRef {
  readonly export: NfsUrl;
  /** Never '' (a volume is never the export itself). */
  readonly subDir: string;
  readonly onDelete: 'delete' | 'retain' | 'archive';
}

export interface DirectoryOwner {
  readonly uid: number;
  readonly gid: number;
  /** Permission bits, setgid included. */
  readonly mode: number;
}

/** Parent directories kidfs makes on the way to a volume: root's, traversable by all. */
const PARENT_MODE = 0o755;

interface Located {
  readonly client: Nfs3Client;
  readonly markers: VolumeMarkers;
  /** The volume's parent directory; undefined when missing (and not made). */
  readonly parent: Directory | undefined;
  readonly parentPath: string;
  readonly leaf: string;
}

export class VolumeDirectories {
  private readonly pool = new RpcConnectionPool();
  private readonly exports = new Map<string, Promise<NfsExport>>();
  /** Who may own a directory on the way to a volume: root and the provisioner. */
  private readonly owners: readonly number[];

  constructor(
    private readonly credential: Credential,
    private readonly connection: { readonly privilegedPort: boolean; readonly timeoutMs?: number },
  ) {
    this.owners = [...new Set([0, credential.uid])];
  }

  /**
   * Makes the directory for `marker.volume`, or accepts the one kidfs made for the same volume with the same
   * owner, group and capacity; anything else in its place is ALREADY_EXISTS.
   */
  create(ref: VolumeRef, owner: DirectoryOwner, marker: VolumeMarker): Promise<'created' | 'exists'> {
    return asProvisioner(() => this.make(ref, owner, marker));
  }

  /** Whether kidfs made this volume and its directory exists (a refusal when something else is in its place). */
  exists(ref: VolumeRef): Promise<boolean> {
    return asProvisioner(() => this.find(ref));
  }

  /**
   * Applies the volume's onDelete to a directory kidfs made for a volume. One without a marker is no kidfs
   * volume ('absent', left alone); one that is gone already is fine.
   */
  delete(ref: VolumeRef): Promise<'deleted' | 'archived' | 'retained' | 'absent'> {
    return asProvisioner(() => this.remove(ref));
  }

  private async make(ref: VolumeRef, owner: DirectoryOwner, marker: VolumeMarker): Promise<'created' | 'exists'> {
    if (ref.subDir.split('/').includes(MARKERS_DIR))
      throw new FsError(Errno.EINVAL, `${describe(ref)}: ${MARKERS_DIR} is kidfs's own name`);
    const { client, markers, parent, parentPath, leaf } = await this.locate(ref, true);
    const recorded = await markers.read(parent!, leaf, markersPath(parentPath));
    const existing = await lookupDirectory(client, this.credential, parent!.handle, leaf, ref.subDir);
    if (recorded && recorded.volume !== marker.volume) {
      throw new FsError(
        Errno.EEXIST,
        `${describe(ref)} belongs to volume ${JSON.stringify(recorded.volume)}, not ${JSON.stringify(marker.volume)}: choose a subDir that is unique per volume`,
      );
    }
    if (existing && !recorded) {
      throw new FsError(
        Errno.EEXIST,
        `${describe(ref)} exists but kidfs did not make it for a volume (no marker in ${markersPath(parentPath)}): kidfs adopts only directories it made`,
      );
    }
    if (recorded && (recorded.requiredBytes !== marker.requiredBytes || recorded.limitBytes !== marker.limitBytes)) {
      throw new FsError(
        Errno.EEXIST,
        `volume ${JSON.stringify(marker.volume)} was created with capacity_range ${recorded.requiredBytes}/${recorded.limitBytes} (required/limit bytes); this request asks ${marker.requiredBytes}/${marker.limitBytes}`,
      );
    }
    if (existing) {
      const { uid, gid } = existing.attributes;
      if (uid !== owner.uid || gid !== owner.gid) {
        throw new FsError(
          Errno.EEXIST,
          `${describe(ref)} exists with owner ${uid} and group ${gid}; this request wants ${owner.uid} and ${owner.gid}`,
        );
      }
      return 'exists';
    }
    // The marker first: a CreateVolume interrupted after it finds its own marker and makes the directory.
    if (!recorded) await markers.write(parent!, leaf, marker, markersPath(parentPath));
    let made: Directory;
    try {
      const result = await client.mkdir(this.credential, parent!.handle, byteName(leaf), {
        mode: owner.mode,
        uid: owner.uid,
        gid: owner.gid,
      });
      made = { handle: result.handle, attributes: result.attributes ?? (await client.getattr(this.credential, result.handle)) };
    } catch (err) {
      // Someone made it meanwhile (a retried CreateVolume): the same checks as above.
      if (err instanceof NfsError && err.status === Nfs3Status.NFS3ERR_EXIST) return this.make(ref, owner, marker);
      throw err;
    }
    const { attributes } = made;
    // Servers may drop setgid or ownership from MKDIR's attributes: set what is missing explicitly.
    if ((attributes.mode & 0o7777) !== owner.mode || attributes.uid !== owner.uid || attributes.gid !== owner.gid) {
      await client.setattr(this.credential, made.handle, { mode: owner.mode, uid: owner.uid, gid: owner.gid });
    }
    return 'created';
  }

  private async find(ref: VolumeRef): Promise<boolean> {
    const { client, markers, parent, parentPath, leaf } = await this.locate(ref, false);
    if (!parent || !(await markers.read(parent, leaf, markersPath(parentPath)))) return false;
    return (await lookupDirectory(client, this.credential, parent.handle, leaf, ref.subDir)) !== undefined;
  }

  private async remove(ref: VolumeRef): Promise<'deleted' | 'archived' | 'retained' | 'absent'> {
    const { client, markers, parent, parentPath, leaf } = await this.locate(ref, false);
    if (!parent || !(await markers.read(parent, leaf, markersPath(parentPath)))) return 'absent';
    if (ref.onDelete === 'retain') return 'retained';
    const existing = await lookupDirectory(client, this.credential, parent.handle, leaf, ref.subDir);
    if (existing && ref.onDelete === 'archive') await this.archive(client, parent.handle, leaf);
    else if (existing) {
      await this.removeContents(client, existing.handle);
      await client.rmdir(this.credential, parent.handle, byteName(leaf));
    }
    await markers.remove(parent, leaf, markersPath(parentPath));
    if (!existing) return 'absent';
    return ref.onDelete === 'archive' ? 'archived' : 'deleted';
  }

  async close(): Promise<void> {
    const exports = [...this.exports.values()];
    this.exports.clear();
    await Promise.all(
      exports.map((e) =>
        e.then(
          (exp) => exp.close(),
          () => undefined,
        ),
      ),
    );
  }

  /**
   * The export's client and the volume's parent directory (made when `create`), every directory on the way
   * checked (checkTrusted); parent undefined when missing.
   */
  private async locate(ref: VolumeRef, create: boolean): Promise<Located> {
    const exp = await this.connect(ref);
    const root: Directory = { handle: exp.rootHandle, attributes: await exp.client.getattr(this.credential, exp.rootHandle) };
    const slash = ref.subDir.lastIndexOf('/');
    const parentPath = slash < 0 ? '' : ref.subDir.slice(0, slash);
    const parent = await walkSubDir(exp.client, this.credential, root, parentPath, {
      ...(create ? { create: { mode: PARENT_MODE } } : {}),
      trusted: { owners: this.owners, last: true },
    });
    return {
      client: exp.client,
      markers: new VolumeMarkers(exp.client, this.credential, this.owners),
      parent,
      parentPath,
      leaf: ref.subDir.slice(slash + 1),
    };
  }

  /** One connection per export, shared by all calls; a failed connection is forgotten so the next call tries again. */
  private connect(ref: VolumeRef): Promise<NfsExport> {
    const key = formatNfsUrl(ref.export);
    let exp = this.exports.get(key);
    if (!exp) {
      exp = connectExport(ref.export, {
        credential: this.credential,
        timeoutMs: this.connection.timeoutMs ?? 30_000,
        privilegedPort: this.connection.privilegedPort,
        pool: this.pool,
      });
      this.exports.set(key, exp);
      exp.catch(() => this.exports.delete(key));
    }
    return exp.catch((err: Error) => {
      throw new FsError(Errno.EREMOTEIO, `cannot reach the export ${key}: ${err.message}`);
    });
  }

  /** Renames to archived-<name>, or archived-<name>-<time> when that is taken. */
  private async archive(client: Nfs3Client, parent: FileHandle, leaf: string): Promise<void> {
    const names = [`archived-${leaf}`, `archived-${leaf}-${new Date().toISOString().replace(/[-:.]/g, '')}`];
    for (const [i, name] of names.entries()) {
      try {
        await client.rename(this.credential, parent, byteName(leaf), parent, byteName(name));
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

/** The server refusing the provisioner's credential is a deployment problem with a known fix: say it. */
async function asProvisioner<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (err) {
    if (err instanceof NfsError && (err.status === Nfs3Status.NFS3ERR_ACCES || err.status === Nfs3Status.NFS3ERR_PERM)) {
      throw new FsError(
        Errno.EACCES,
        `${err.message}: the provisioner must act as root on the export (ganesha: Squash = No_Root_Squash for the controller's address)`,
      );
    }
    throw err;
  }
}

const markersPath = (parentPath: string): string => (parentPath ? `${parentPath}/${MARKERS_DIR}` : MARKERS_DIR);

function describe(ref: VolumeRef): string {
  return `${formatNfsUrl(ref.export)} ${ref.subDir}`;
}
