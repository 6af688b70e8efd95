// What both daemons speak: csi.proto, the gRPC server, the Identity service, request checks, NodeError.
// The public face of this layer: what other layers may import (eslint.config.js allows nothing else).
export { CSI_POD_KEYS, EPHEMERAL_KEY, PV_NAME_KEY, PVC_NAME_KEY, PVC_NAMESPACE_KEY, TOKENS_KEY } from './csi-keys.ts';
export {
  type CreateVolumeRequest,
  type DeleteVolumeRequest,
  type NodePublishVolumeRequest,
  type NodeUnpublishVolumeRequest,
  type StringMap,
  type ValidateVolumeCapabilitiesRequest,
  type VolumeCapability,
} from './csi-proto.ts';
export { startCsiServer, type CsiServer } from './csi-server.ts';
export { identityService } from './identity-service.ts';
export { asNodeError, invalidField, NodeError, type NodeErrorCode } from './node-error.ts';
export { checkSubDir } from './sub-dir.ts';
export { type UnaryMethods } from './unary-service.ts';
export { capabilityProblem, checkMountCapability } from './volume-capability.ts';
export { readVolumeSource } from './volume-source.ts';
