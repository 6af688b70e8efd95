// `kidfs controller`: CSI Identity + Controller on a unix socket for external-provisioner, beside it in
// the controller Deployment. It needs no FUSE and no node privileges, only the provisioner's NFS credential
// and the API access that mapping a StorageClass's owner takes.
import type { GroupTable } from '../config/sections/groups-section.ts';
import type { Identity, ServiceAccountRef } from '../identity/identity.ts';
import type { Credential } from '../nfs/rpc-transport.ts';
import { VolumeDirectories } from './controller/volume-directories.ts';
import { controllerService } from './csi/controller-service.ts';
import { identityService } from './csi/identity-service.ts';
import { startCsiServer, type CsiServer } from './csi/csi-server.ts';

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
}

export class ControllerDaemon {
  private constructor(private readonly csi: CsiServer, private readonly directories: VolumeDirectories) {}

  static async start(options: ControllerDaemonOptions): Promise<ControllerDaemon> {
    const log = options.log ?? ((line: string) => process.stderr.write(`kidfs controller: ${line}\n`));
    const directories = new VolumeDirectories(options.credential, { privilegedPort: options.privilegedPort });
    const csi = await startCsiServer(options.endpoint, {
      Identity: identityService({ driverName: options.driverName, controller: true, ready: () => true }),
      Controller: controllerService({
        directories, ownerIdentity: options.ownerIdentity, groups: options.groups, provisionerUid: options.credential.uid, log,
      }),
    }, log);
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
