// `kidfs doctor`: checks, from a node, what an export lets a process on this node do. AUTH_SYS trusts client
// addresses, so the export itself must keep a root process or an unprivileged one on a trusted address from
// acting as whoever it claims: root squashed (for every client but the provisioner's), privileged source ports
// required, and the export's root writable only by root. Each finding says what was seen and what to change.
import { randomBytes } from 'node:crypto';
import {
  connectExport,
  type Credential,
  formatNfsUrl,
  Nfs3Status,
  NfsError,
  type NfsExport,
  type NfsUrl,
  RpcAuthError,
} from '../nfs/index.ts';

import { checkTrusted, FsError } from '../fs/index.ts';

export interface Finding {
  /** ok: as it should be; warning: a tenant could use it; unknown: kidfs cannot tell from a node. */
  readonly level: 'ok' | 'warning' | 'unknown';
  readonly text: string;
}

export interface DoctorOptions {
  /** [mount] privileged-port: how kidfs's mounts connect. */
  readonly privilegedPort: boolean;
  readonly timeoutMs: number;
}

const ROOT: Credential = { uid: 0, gid: 0, gids: [] };

/** Checks the export; throws (one line) only when it cannot be reached at all. */
export async function examineExport(url: NfsUrl, options: DoctorOptions): Promise<Finding[]> {
  const where = formatNfsUrl(url);
  const exp = await connectExport(url, { credential: ROOT, timeoutMs: options.timeoutMs, privilegedPort: options.privilegedPort }).catch(
    (err: Error) => {
      throw new Error(
        `cannot reach ${where} as kidfs's mounts do (privileged-port = ${options.privilegedPort ? 'yes' : 'no'}): ${err.message}`,
      );
    },
  );
  try {
    return [await rootSquash(exp), await unprivilegedPorts(url, options), await exportRoot(exp), podReach(url)];
  } finally {
    await exp.close();
  }
}

/** Creates a file as uid 0 in the export's root: whose it becomes tells whether root is squashed. */
async function rootSquash(exp: NfsExport): Promise<Finding> {
  const name = `.kidfs-doctor-${randomBytes(6).toString('hex')}`;
  let owner: number;
  try {
    const made = await exp.client.create(ROOT, exp.rootHandle, name, { mode: 'guarded', attributes: { mode: 0o600 } });
    owner = (made.attributes ?? (await exp.client.getattr(ROOT, made.handle))).uid;
    await exp.client.remove(ROOT, exp.rootHandle, name);
  } catch (err) {
    if (err instanceof NfsError && (err.status === Nfs3Status.NFS3ERR_ACCES || err.status === Nfs3Status.NFS3ERR_PERM)) {
      return { level: 'ok', text: "root is squashed: uid 0 may not create a file in the export's root" };
    }
    if (err instanceof NfsError && err.status === Nfs3Status.NFS3ERR_ROFS) {
      return { level: 'unknown', text: 'the export is read-only, so whether root is squashed cannot be tried' };
    }
    throw err;
  }
  if (owner !== 0) return { level: 'ok', text: `root is squashed: a file created as uid 0 belongs to uid ${owner}` };
  return {
    level: 'warning',
    text:
      'root is not squashed for this node: a file created as uid 0 belongs to uid 0, so any root process here acts as root on the ' +
      "export and can take any identity. Squash root for every client but the provisioner's (ganesha Squash = Root_Squash, knfsd root_squash)",
  };
}

/** Calls the NFS program from an unprivileged source port, as any process on this node could. */
async function unprivilegedPorts(url: NfsUrl, options: DoctorOptions): Promise<Finding> {
  let exp: NfsExport;
  try {
    exp = await connectExport(url, { credential: null, timeoutMs: options.timeoutMs, privilegedPort: false });
  } catch (err) {
    if (err instanceof RpcAuthError && err.reason === 'AUTH_TOOWEAK') {
      return { level: 'ok', text: 'the server turns away NFS calls from unprivileged source ports (AUTH_TOOWEAK)' };
    }
    return { level: 'unknown', text: `a connection from an unprivileged source port failed for another reason: ${(err as Error).message}` };
  }
  await exp.close();
  return {
    level: 'warning',
    text:
      'the server answers NFS calls from unprivileged source ports: any process on this node, root or not, can claim any uid with ' +
      'AUTH_SYS. Require privileged ports (ganesha PrivilegedPort = true, knfsd secure) and keep [mount] privileged-port = yes',
  };
}

/** Whoever can write the export's root can swap a volume directory under it for one of their own. */
async function exportRoot(exp: NfsExport): Promise<Finding> {
  const attributes = await exp.client.getattr(ROOT, exp.rootHandle);
  try {
    checkTrusted({ handle: exp.rootHandle, attributes }, '', [0]);
  } catch (err) {
    if (!(err instanceof FsError)) throw err;
    return { level: 'warning', text: `${err.message}; the provisioner refuses to make volumes there` };
  }
  return { level: 'ok', text: "the export's root belongs to root and no one else can write it" };
}

function podReach(url: NfsUrl): Finding {
  return {
    level: 'unknown',
    text:
      `whether pods reach ${url.host} cannot be seen from a node: keep them off the server's NFS, MOUNT and portmapper ports ` +
      '(native-config/kidfs-networkpolicy.yaml) and forbid hostNetwork pods in namespaces that use kidfs',
  };
}
