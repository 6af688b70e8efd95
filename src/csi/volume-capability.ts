// VolumeCapability checks: kidfs volumes are mounted file systems, usable in every access mode (an NFS
// export is shared by nature); reader-only modes mount read-only.
import { invalidField } from './node-error.ts';
import type { VolumeCapability } from './csi-proto.ts';

export interface MountCapability {
  readonly mountFlags: readonly string[];
  /** The access mode allows reading only. */
  readonly readOnlyMode: boolean;
}

/** Why kidfs cannot serve a capability, or undefined when it can. */
export function capabilityProblem(capability: VolumeCapability | null): string | undefined {
  if (!capability) return 'is required';
  if (capability.block) return 'asks for block access: kidfs volumes are file systems (use volumeMode: Filesystem)';
  if (!capability.mount) return 'names no access type (mount)';
  const mode = capability.access_mode?.mode;
  if (!mode || mode === 'UNKNOWN') return 'has no access_mode';
  return undefined;
}

export function checkMountCapability(capability: VolumeCapability | null, field: string): MountCapability {
  const problem = capabilityProblem(capability);
  if (problem) throw invalidField(field, problem);
  const mode = capability!.access_mode!.mode;
  return {
    mountFlags: capability!.mount!.mount_flags,
    readOnlyMode: mode === 'SINGLE_NODE_READER_ONLY' || mode === 'MULTI_NODE_READER_ONLY',
  };
}
