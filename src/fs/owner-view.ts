// The ownership a mount presents, and what chown/chgrp through it may do. On the server every file the mount makes
// belongs to the identity; the view can show those files as owned by a uid/gid of the container's choosing (software
// such as PostgreSQL refuses a data directory it does not own), and chown maps back through the same view.
import { Errno } from './errno.ts';
import type { Credential, Fattr3 } from '../nfs/index.ts';

import type { Owner } from './file-stat.ts';
import { FsError } from './fs-error.ts';
import type { ChownPolicy } from './fs-options.ts';

/** chown(2)'s "leave unchanged", as a signed or an unsigned 32-bit number. */
const isUnchanged = (id: number): boolean => id === -1 || id === 0xffffffff;

export class OwnerView {
  private readonly shown: Owner;

  constructor(
    private readonly credential: Credential,
    view: Owner | undefined,
    private readonly policy: ChownPolicy,
  ) {
    this.shown = view ?? { uid: credential.uid, gid: credential.gid };
  }

  present(a: Fattr3): Owner {
    return {
      uid: a.uid === this.credential.uid ? this.shown.uid : a.uid,
      gid: a.gid === this.credential.gid ? this.shown.gid : a.gid,
    };
  }

  /**
   * The uid/gid to send to the server for chown(path, uid, gid) on a file the server reports as `current`: nothing
   * for what already holds or is the presented owner; the server decides chgrp to the identity's groups; any other
   * owner is refused (EPERM) or left out, per the chown policy.
   */
  planChown(current: Fattr3, uid: number, gid: number, path: string): { uid?: number; gid?: number } {
    const plan: { uid?: number; gid?: number } = {};
    if (!isUnchanged(uid)) {
      const serverUid = uid === this.shown.uid ? this.credential.uid : uid;
      if (serverUid === this.credential.uid) {
        if (current.uid !== serverUid) plan.uid = serverUid; // taking a file over: the server refuses it
      } else {
        this.refuse(`chown of ${path} to uid ${uid}`);
      }
    }
    if (!isUnchanged(gid)) {
      const serverGid = gid === this.shown.gid ? this.credential.gid : gid;
      if (serverGid !== current.gid) {
        if (serverGid === this.credential.gid || this.credential.gids.includes(serverGid)) plan.gid = serverGid;
        else this.refuse(`chgrp of ${path} to gid ${gid}`);
      }
    }
    return plan;
  }

  private refuse(what: string): void {
    if (this.policy === 'ignore') return;
    throw new FsError(
      Errno.EPERM,
      `${what} refused: this mount acts as uid ${this.credential.uid} (groups ${[this.credential.gid, ...this.credential.gids].join(',')}) ` +
        "on the server and cannot give files to others (chown policy 'deny')",
    );
  }
}
