// CSI Controller for dynamic provisioning: one directory per volume under the StorageClass's export, owned
// by the identity or group its parameters name; deleted, archived or kept per onDelete.
import type { GroupTable } from '../config/index.ts';
import type { Identity, ServiceAccountRef } from '../identity/index.ts';
import { readProvisionParameters } from './provision-parameters.ts';
import type { VolumeDirectories, VolumeRef } from '../fs/index.ts';
import { formatVolumeId, parseVolumeId } from './volume-id.ts';
import {
  capabilityProblem,
  type CreateVolumeRequest,
  type DeleteVolumeRequest,
  invalidField,
  NodeError,
  type UnaryMethods,
  type ValidateVolumeCapabilitiesRequest,
  type VolumeCapability,
} from '../csi/index.ts';

export interface ControllerServiceOptions {
  readonly directories: VolumeDirectories;
  /** The identity of a StorageClass's `owner` (IdentityResolver.resolveServiceAccount: records a new uid once). */
  readonly ownerIdentity: (account: ServiceAccountRef) => Promise<Identity>;
  /** [groups] of the kidfs config, for a `group` parameter given by name. */
  readonly groups: GroupTable;
  /** Owner of a volume directory whose parameters name only a group: the provisioner's own uid. */
  readonly provisionerUid: number;
  readonly log: (line: string) => void;
}

export function controllerService(options: ControllerServiceOptions): UnaryMethods {
  const { directories, log } = options;
  return {
    CreateVolume: async (request: CreateVolumeRequest) => {
      const name = request.name;
      if (!name) throw invalidField('name', 'is required');
      if (/[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f]/.test(name)) throw invalidField('name', 'contains a control character');
      checkCapabilities(request.volume_capabilities, 'volume_capabilities');
      if (request.volume_content_source) {
        throw invalidField('volume_content_source', 'is not supported: kidfs does not clone volumes or restore snapshots');
      }
      const mountFlags = request.volume_capabilities.flatMap((c) => c.mount?.mount_flags ?? []);
      const parameters = readProvisionParameters(request.parameters, name, mountFlags, options.groups);
      const identity = parameters.owner ? await options.ownerIdentity(parameters.owner) : undefined;
      const owner = { uid: identity?.uid ?? options.provisionerUid, gid: parameters.gid ?? identity!.gid, mode: parameters.mode };
      const ref: VolumeRef = { export: parameters.export, subDir: parameters.subDir, onDelete: parameters.onDelete };
      const capacity = {
        requiredBytes: request.capacity_range?.required_bytes || '0',
        limitBytes: request.capacity_range?.limit_bytes || '0',
      };
      const outcome = await directories.create(ref, owner, { volume: name, ...capacity });
      const volumeId = formatVolumeId(ref);
      log(`CreateVolume ${name}: ${outcome} ${volumeId} (uid ${owner.uid}, gid ${owner.gid}, mode ${owner.mode.toString(8)})`);
      return {
        volume: {
          volume_id: volumeId,
          capacity_bytes: capacity.requiredBytes,
          volume_context: { server: ref.export.host, share: ref.export.path, subDir: ref.subDir, ...parameters.attributes },
        },
      };
    },
    DeleteVolume: async (request: DeleteVolumeRequest) => {
      if (!request.volume_id) throw invalidField('volume_id', 'is required');
      // CSI: a volume that does not exist is deleted already, and an id kidfs could not have made names none.
      const ref = volumeRefOrProblem(request.volume_id);
      if (typeof ref === 'string') {
        log(`DeleteVolume ${request.volume_id}: absent (${ref})`);
        return {};
      }
      const outcome = await directories.delete(ref);
      log(`DeleteVolume ${request.volume_id}: ${outcome}`);
      return {};
    },
    ValidateVolumeCapabilities: async (request: ValidateVolumeCapabilitiesRequest) => {
      if (!request.volume_id) throw invalidField('volume_id', 'is required');
      if (request.volume_capabilities.length === 0) throw invalidField('volume_capabilities', 'is required');
      const ref = volumeRefOrProblem(request.volume_id);
      if (typeof ref === 'string') throw new NodeError('NOT_FOUND', `volume ${request.volume_id} does not exist: ${ref}`);
      if (!(await directories.exists(ref))) throw new NodeError('NOT_FOUND', `volume ${request.volume_id} does not exist`);
      const problems = request.volume_capabilities
        .map((c, i) => [i, capabilityProblem(c)] as const)
        .filter(([, problem]) => problem !== undefined)
        .map(([i, problem]) => `volume_capabilities[${i}] ${problem}`);
      if (problems.length > 0) return { message: problems.join('; ') };
      return {
        confirmed: {
          volume_context: request.volume_context,
          volume_capabilities: request.volume_capabilities,
          parameters: request.parameters,
        },
      };
    },
    ControllerGetCapabilities: async () => ({ capabilities: [{ rpc: { type: 'CREATE_DELETE_VOLUME' } }] }),
  };
}

/** The volume an id names, or why it names none. */
function volumeRefOrProblem(volumeId: string): VolumeRef | string {
  try {
    return parseVolumeId(volumeId);
  } catch (err) {
    if (err instanceof NodeError && err.code === 'INVALID_ARGUMENT') return err.message;
    throw err;
  }
}

function checkCapabilities(capabilities: VolumeCapability[], field: string): void {
  if (capabilities.length === 0) throw invalidField(field, 'is required');
  capabilities.forEach((capability, i) => {
    const problem = capabilityProblem(capability);
    if (problem) throw invalidField(`${field}[${i}]`, problem);
  });
}
