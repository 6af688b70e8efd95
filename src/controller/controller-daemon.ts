// `kidfs controller`: CSI Identity + Controller on a unix socket for external-provisioner, beside it in
// the controller Deployment. It needs no FUSE and no node privileges, only the provisioner's NFS credential
// and the API access that mapping a StorageClass's owner takes.
import type { GroupTable } from '../config/index.ts';
import type { Identity, ServiceAccountRef } from '../identity/index.ts';
import { type Audit, type AuditFields, NO_AUDIT } from '../log/index.ts';
import type { Credential } from '../nfs/index.ts';
import { asNodeError, type CsiServer, identityService, startCsiServer, type UnaryMethods } from '../csi/index.ts';

import { VolumeDirectories } from '../fs/index.ts';
import { controllerService } from './csi-controller-service.ts';

export interface ControllerDaemonOptions {
  readonly endpoint: string;
  readonly driverName: string;
  /** What the provisioner sends to the NFS server (uid 0 by default, on an export that does not squash it). */
  readonly credential: Credential;
  /** Connect from a source port below 1024 ([mount] privileged-port). */
  readonly privilegedPort: boolean;
  readonly ownerIdentity: (account: ServiceAccountRef) => Promise<Identity>;
  readonly groups: GroupTable;
  readonly log?: (line: string) => void;
  /** Every volume created, deleted or refused. */
  readonly audit?: Audit;
}

/** CreateVolume and DeleteVolume, recorded in the audit stream as they end: created, deleted, or refused and why. */
function audited(methods: UnaryMethods, audit: Audit): UnaryMethods {
  const wrap =
    (method: string, done: 'volume-created' | 'volume-deleted', fields: (request: Record<string, unknown>) => AuditFields) =>
    async (request: Record<string, unknown>) => {
      try {
        const response = await methods[method]!(request as never);
        audit.record(done, {
          method,
          ...fields(request),
          ...(done === 'volume-created' ? { volumeId: (response as { volume?: { volume_id?: string } }).volume?.volume_id } : {}),
        });
        return response;
      } catch (err) {
        const error = asNodeError(err);
        audit.record('volume-refused', { method, ...fields(request), code: error.code, reason: error.message });
        throw err;
      }
    };
  return {
    ...methods,
    CreateVolume: wrap('CreateVolume', 'volume-created', (r) => ({ name: r['name'], parameters: r['parameters'] })),
    DeleteVolume: wrap('DeleteVolume', 'volume-deleted', (r) => ({ volumeId: r['volume_id'] })),
  };
}

export class ControllerDaemon {
  private constructor(
    private readonly csi: CsiServer,
    private readonly directories: VolumeDirectories,
  ) {}

  static async start(options: ControllerDaemonOptions): Promise<ControllerDaemon> {
    const log = options.log ?? ((line: string) => process.stderr.write(`kidfs controller: ${line}\n`));
    const directories = new VolumeDirectories(options.credential, { privilegedPort: options.privilegedPort });
    const csi = await startCsiServer(
      options.endpoint,
      {
        Identity: identityService({ driverName: options.driverName, controller: true, ready: () => true }),
        Controller: audited(
          controllerService({
            directories,
            ownerIdentity: options.ownerIdentity,
            groups: options.groups,
            provisionerUid: options.credential.uid,
            log,
          }),
          options.audit ?? NO_AUDIT,
        ),
      },
      log,
    );
    log(`serving CSI on ${csi.socketPath}`);
    return new ControllerDaemon(csi, directories);
  }

  get csiSocket(): string {
    return this.csi.socketPath;
  }

  async stop(): Promise<void> {
    await this.csi.stop();
    await this.directories.close();
  }
}
