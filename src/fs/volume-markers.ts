// What the controller knows about the volumes it made: one marker file per volume directory, in a root-only
// `.kidfs-volumes` directory beside it (never inside it, where the volume's owner could change it and its pods
// would see it). A directory is a kidfs volume only when its marker says so: CreateVolume adopts nothing
// else and DeleteVolume removes nothing else. The marker also keeps what the volume was created with (CSI:
// the same name with another capacity is ALREADY_EXISTS). A marker kidfs did not write is refused (FsError EPERM).
import { byteName, type Credential, Ftype3, type Nfs3Client, Nfs3Status, NfsError, StableHow } from '../nfs/index.ts';

import { checkTrusted, lookupDirectory, type Directory } from './export-directories.ts';
import { Errno } from './errno.ts';
import { FsError } from './fs-error.ts';

/** The markers of the volumes in a directory live in this directory of it; no volume may take the name. */
export const MARKERS_DIR = '.kidfs-volumes';
const MARKERS_MODE = 0o700;
const MARKER_MODE = 0o600;
const MAX_MARKER = 4096;

export interface VolumeMarker {
  /** CreateVolume's name (the PV's name): unique in the cluster. */
  readonly volume: string;
  /** capacity_range as asked, decimal byte counts ('0': not given). */
  readonly requiredBytes: string;
  readonly limitBytes: string;
}

export class VolumeMarkers {
  constructor(
    private readonly client: Nfs3Client,
    private readonly credential: Credential,
    private readonly owners: readonly number[],
  ) {}

  /** The marker of `leaf` in `parent`; undefined when it has none. `path`: the markers directory's, for messages. */
  async read(parent: Directory, leaf: string, path: string): Promise<VolumeMarker | undefined> {
    const markers = await this.markersDirectory(parent, path, false);
    if (!markers) return undefined;
    let found;
    try {
      found = await this.client.lookup(this.credential, markers.handle, byteName(leaf));
    } catch (err) {
      if (err instanceof NfsError && err.status === Nfs3Status.NFS3ERR_NOENT) return undefined;
      throw err;
    }
    const attributes = found.attributes ?? (await this.client.getattr(this.credential, found.handle));
    if (attributes.type !== Ftype3.REG || !this.owners.includes(attributes.uid)) {
      throw new FsError(Errno.EPERM, `${path}/${leaf} is not a marker kidfs wrote (a regular file of the provisioner's)`);
    }
    const { data } = await this.client.read(this.credential, found.handle, 0n, MAX_MARKER);
    return parseMarker(data.toString('utf8'), `${path}/${leaf}`);
  }

  /** Writes the marker of `leaf` (replacing one of the same volume left by an interrupted CreateVolume). */
  async write(parent: Directory, leaf: string, marker: VolumeMarker, path: string): Promise<void> {
    const markers = (await this.markersDirectory(parent, path, true))!;
    const made = await this.client.create(this.credential, markers.handle, byteName(leaf), {
      mode: 'unchecked',
      attributes: { mode: MARKER_MODE, size: 0n },
    });
    await this.client.write(this.credential, made.handle, 0n, Buffer.from(`${JSON.stringify(marker)}\n`), StableHow.FILE_SYNC);
  }

  /** Removes the marker of `leaf`; one that is gone already is fine. */
  async remove(parent: Directory, leaf: string, path: string): Promise<void> {
    const markers = await this.markersDirectory(parent, path, false);
    if (!markers) return;
    try {
      await this.client.remove(this.credential, markers.handle, byteName(leaf));
    } catch (err) {
      if (!(err instanceof NfsError && err.status === Nfs3Status.NFS3ERR_NOENT)) throw err;
    }
  }

  private async markersDirectory(parent: Directory, path: string, create: boolean): Promise<Directory | undefined> {
    let markers = await lookupDirectory(this.client, this.credential, parent.handle, MARKERS_DIR, path);
    if (!markers && create) {
      try {
        const made = await this.client.mkdir(this.credential, parent.handle, MARKERS_DIR, { mode: MARKERS_MODE });
        markers = { handle: made.handle, attributes: made.attributes ?? (await this.client.getattr(this.credential, made.handle)) };
      } catch (err) {
        if (!(err instanceof NfsError && err.status === Nfs3Status.NFS3ERR_EXIST)) throw err;
        markers = await lookupDirectory(this.client, this.credential, parent.handle, MARKERS_DIR, path);
      }
    }
    if (markers) checkTrusted(markers, path, this.owners);
    return markers;
  }
}

function parseMarker(text: string, path: string): VolumeMarker {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    value = undefined;
  }
  const marker = value as Partial<VolumeMarker> | undefined;
  const isCount = (v: unknown) => typeof v === 'string' && /^\d+$/.test(v);
  if (!marker || typeof marker.volume !== 'string' || !isCount(marker.requiredBytes) || !isCount(marker.limitBytes)) {
    throw new FsError(Errno.EPERM, `${path} is not a kidfs volume marker (expected {"volume", "requiredBytes", "limitBytes"})`);
  }
  return { volume: marker.volume, requiredBytes: marker.requiredBytes!, limitBytes: marker.limitBytes! };
}
