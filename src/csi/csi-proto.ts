// The CSI services and messages as @grpc/proto-loader reads them from csi.proto, with TypeScript shapes for
// the messages kidfs handles (proto field names kept; enums as their names; int64 as decimal strings;
// unset strings, maps and lists filled with defaults, unset messages null).
import { loadPackageDefinition, type GrpcObject, type ServiceDefinition } from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import { fileURLToPath } from 'node:url';

export const CSI_PROTO = fileURLToPath(new URL('./csi.proto', import.meta.url));

export const protoLoaderOptions = { keepCase: true, enums: String, longs: String, defaults: true, oneofs: true } as const;

export interface CsiServices {
  readonly Identity: ServiceDefinition;
  readonly Controller: ServiceDefinition;
  readonly Node: ServiceDefinition;
}

let loaded: GrpcObject | undefined;

/** The csi.v1 package: service definitions for a server, and client constructors (tests act as kubelet with them). */
export function csiPackage(): GrpcObject {
  loaded ??= (loadPackageDefinition(loadSync(CSI_PROTO, protoLoaderOptions)) as { csi: { v1: GrpcObject } }).csi.v1;
  return loaded;
}

export function csiServices(): CsiServices {
  const pkg = csiPackage() as unknown as Record<keyof CsiServices, { service: ServiceDefinition }>;
  return { Identity: pkg.Identity.service, Controller: pkg.Controller.service, Node: pkg.Node.service };
}

export type AccessModeName =
  | 'UNKNOWN'
  | 'SINGLE_NODE_WRITER'
  | 'SINGLE_NODE_READER_ONLY'
  | 'MULTI_NODE_READER_ONLY'
  | 'MULTI_NODE_SINGLE_WRITER'
  | 'MULTI_NODE_MULTI_WRITER'
  | 'SINGLE_NODE_SINGLE_WRITER'
  | 'SINGLE_NODE_MULTI_WRITER';

export interface VolumeCapability {
  block?: Record<string, never> | null;
  mount?: { fs_type: string; mount_flags: string[]; volume_mount_group: string } | null;
  access_mode: { mode: AccessModeName } | null;
  access_type?: 'block' | 'mount';
}

export type StringMap = Record<string, string>;

export interface NodePublishVolumeRequest {
  volume_id: string;
  publish_context: StringMap;
  staging_target_path: string;
  target_path: string;
  volume_capability: VolumeCapability | null;
  readonly: boolean;
  secrets: StringMap;
  volume_context: StringMap;
}

export interface NodeUnpublishVolumeRequest {
  volume_id: string;
  target_path: string;
}

export interface CreateVolumeRequest {
  name: string;
  capacity_range: { required_bytes: string; limit_bytes: string } | null;
  volume_capabilities: VolumeCapability[];
  parameters: StringMap;
  secrets: StringMap;
  volume_content_source: { type?: string } | null;
  accessibility_requirements: unknown;
}

export interface Volume {
  capacity_bytes: string;
  volume_id: string;
  volume_context: StringMap;
}

export interface DeleteVolumeRequest {
  volume_id: string;
  secrets: StringMap;
}

export interface ValidateVolumeCapabilitiesRequest {
  volume_id: string;
  volume_context: StringMap;
  volume_capabilities: VolumeCapability[];
  parameters: StringMap;
  secrets: StringMap;
}
