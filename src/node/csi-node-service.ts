// CSI Node: publish and unpublish per-pod mounts through the mount manager. No staging (every publish is
// its own FUSE mount with its own identity), no volume stats.
import type { MountManager } from './mount-manager.ts';
import { invalidField, type NodePublishVolumeRequest, type NodeUnpublishVolumeRequest, type UnaryMethods } from '../csi/index.ts';
import { checkTargetPath } from './publish-request.ts';

import { publishRequestFromCsi, type CsiPublishRules } from './csi-publish-request.ts';

export interface NodeServiceOptions {
  readonly manager: MountManager;
  /** This node's name (--nodeid), as kubelet knows it. */
  readonly nodeId: string;
  readonly rules: CsiPublishRules;
  /** Mounts the node takes at most (kubelet's scheduler counts them); undefined: no limit (0 in CSI). */
  readonly maxVolumes?: number;
}

export function nodeService(options: NodeServiceOptions): UnaryMethods {
  return {
    NodePublishVolume: async (request: NodePublishVolumeRequest) => {
      const context = request.volume_context ?? {};
      const claimed = {
        target: request.target_path,
        volumeId: request.volume_id,
        via: 'csi',
        claimedPod: { namespace: context['csi.storage.k8s.io/pod.namespace'], name: context['csi.storage.k8s.io/pod.name'] },
      };
      await options.manager.publish(options.manager.parseOrRefuse(claimed, () => publishRequestFromCsi(request, options.rules)));
      return {};
    },
    NodeUnpublishVolume: async (request: NodeUnpublishVolumeRequest) => {
      if (!request.volume_id) throw invalidField('volume_id', 'is required');
      await options.manager.unpublish(checkTargetPath(request.target_path, 'target_path'));
      return {};
    },
    NodeGetCapabilities: async () => ({ capabilities: [] }),
    NodeGetInfo: async () => ({ node_id: options.nodeId, max_volumes_per_node: String(options.maxVolumes ?? 0) }),
  };
}
