// The flags of `kidfs node` and `kidfs controller` as commander hands them over (daemon-commands.ts declares them).
import type { ListenAddress } from '../config/index.ts';
import type { NfsUrl } from '../nfs/index.ts';

export interface NodeFlags {
  readonly config: string;
  readonly endpoint: string;
  readonly nodeid?: string;
  readonly driverName: string;
  readonly stateDir: string;
  readonly controlSocket: string;
  readonly podExport: NfsUrl[];
  readonly reconcileInterval: number;
  readonly reverifyInterval: number;
  readonly kubeletDir: string;
  readonly provisionerUid: number;
  readonly metricsListen?: ListenAddress;
}

export interface ControllerFlags {
  readonly config: string;
  readonly endpoint: string;
  readonly driverName: string;
  readonly provisionerUid: number;
  readonly provisionerGid: number;
  readonly metricsListen?: ListenAddress;
}
