// CSI Identity: who this plugin is, which services it offers, and whether it is ready.
import { KIDFS_VERSION } from '../version.ts';
import type { UnaryMethods } from './unary-service.ts';

export interface IdentityServiceOptions {
  readonly driverName: string;
  /** This endpoint serves the Controller service (kidfs controller) rather than the Node service (kidfs node). */
  readonly controller: boolean;
  /** False while the node daemon is still recovering its mounts after a start. */
  readonly ready: () => boolean;
}

export function identityService(options: IdentityServiceOptions): UnaryMethods {
  return {
    GetPluginInfo: async () => ({ name: options.driverName, vendor_version: KIDFS_VERSION }),
    GetPluginCapabilities: async () => ({
      capabilities: options.controller ? [{ service: { type: 'CONTROLLER_SERVICE' } }] : [],
    }),
    Probe: async () => ({ ready: { value: options.ready() } }),
  };
}
