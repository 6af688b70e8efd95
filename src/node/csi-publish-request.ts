// NodePublishVolumeRequest -> PublishRequest: every field checked, every refusal naming the field as the
// CSI spec and kubelet spell it.
import type { NfsUrl } from '../nfs/index.ts';
import {
  checkMountCapability,
  CSI_POD_KEYS,
  EPHEMERAL_KEY,
  invalidField,
  type NodePublishVolumeRequest,
  readVolumeSource,
  type StringMap,
  TOKENS_KEY,
} from '../csi/index.ts';
import { checkTargetOfPod, readPodRef } from './pod-ref.ts';
import { checkTargetPath, type PodToken, type PublishRequest } from './publish-request.ts';

export interface CsiPublishRules {
  /** Exports that pod-defined (inline ephemeral) volumes may use; none: such volumes are refused. */
  readonly podExports: readonly NfsUrl[];
  /** The audience of the tokens kidfs verifies ([kubernetes] token-audience, the CSIDriver's tokenRequests). */
  readonly tokenAudience: string;
  /** [kubernetes] require-token: a tokens map without tokenAudience is refused rather than taken for no token. */
  readonly requireToken: boolean;
  /** kubelet's root directory: a pod's volumes are mounted under <kubelet dir>/pods/<pod uid>/volumes/. */
  readonly kubeletDir: string;
}

export function publishRequestFromCsi(request: NodePublishVolumeRequest, rules: CsiPublishRules): PublishRequest {
  if (!request.volume_id) throw invalidField('volume_id', 'is required');
  const target = checkTargetPath(request.target_path, 'target_path');
  const capability = checkMountCapability(request.volume_capability, 'volume_capability');
  const context = request.volume_context;
  const contextField = (key: string) => `volume_context[${JSON.stringify(key)}]`;

  const ephemeralFlag = context[EPHEMERAL_KEY];
  if (ephemeralFlag !== undefined && ephemeralFlag !== 'true' && ephemeralFlag !== 'false') {
    throw invalidField(contextField(EPHEMERAL_KEY), `is ${JSON.stringify(ephemeralFlag)}, not "true" or "false"`);
  }
  const ephemeral = ephemeralFlag === 'true';
  const pod = readPodRef(context, CSI_POD_KEYS, contextField);
  if (ephemeral && !pod) {
    throw invalidField(
      contextField(CSI_POD_KEYS.name),
      'is missing: an inline volume is only mounted for a known pod (set podInfoOnMount: true in the CSIDriver)',
    );
  }
  // Defence in depth: kubelet alone sets these keys over CSI, but the claim must still match where it mounts.
  if (pod) checkTargetOfPod(target, pod, rules.kubeletDir, 'target_path');
  const token = readToken(request.secrets, context, rules.tokenAudience, rules.requireToken);
  const source = readVolumeSource(context, {
    untrusted: ephemeral,
    podExports: rules.podExports,
    mountFlags: capability.mountFlags,
    field: contextField,
  });
  return {
    volumeId: request.volume_id,
    target,
    export: source.export,
    subDir: source.subDir,
    ...(source.qos ? { qos: source.qos } : {}),
    readOnly: request.readonly || capability.readOnlyMode,
    ...(pod ? { pod } : {}),
    ...(token ? { token } : {}),
    ephemeral,
    via: 'csi',
  };
}

/**
 * The token for `audience` from the tokens map kubelet sends in volume_context. secrets are looked at only when
 * volume_context has no tokens map: on an inline volume the pod's author chooses them (nodePublishSecretRef), so
 * they must never replace or hide kubelet's. A map without `audience` is no token, unless `requireToken`: then
 * it is refused, naming the audience the CSIDriver's tokenRequests must ask for.
 */
export function readToken(secrets: StringMap, context: StringMap, audience: string, requireToken: boolean): PodToken | undefined {
  const [where, raw] = context[TOKENS_KEY] !== undefined ? ['volume_context', context[TOKENS_KEY]] : ['secrets', secrets[TOKENS_KEY]];
  if (raw === undefined) return undefined;
  const field = `${where}[${JSON.stringify(TOKENS_KEY)}]`;
  let tokens: unknown;
  try {
    tokens = JSON.parse(raw);
  } catch {
    throw invalidField(field, 'is not JSON (expected {"<audience>": {"token": "...", "expirationTimestamp": "..."}})');
  }
  if (typeof tokens !== 'object' || tokens === null || Array.isArray(tokens)) {
    throw invalidField(field, 'is not a JSON object of audiences');
  }
  const entry = (tokens as Record<string, unknown>)[audience] as { token?: unknown; expirationTimestamp?: unknown } | undefined;
  if (entry === undefined) {
    if (!requireToken) return undefined;
    throw invalidField(
      field,
      `has no token for audience ${JSON.stringify(audience)} and [kubernetes] require-token = yes (the CSIDriver's tokenRequests must ask for it)`,
    );
  }
  if (typeof entry !== 'object' || entry === null || typeof entry.token !== 'string' || entry.token === '') {
    throw invalidField(field, `has no token string for audience ${JSON.stringify(audience)}`);
  }
  const expires = entry.expirationTimestamp;
  if (expires !== undefined && (typeof expires !== 'string' || Number.isNaN(Date.parse(expires)))) {
    throw invalidField(field, `has an expirationTimestamp for audience ${JSON.stringify(audience)} that is not a time`);
  }
  return expires === undefined ? { token: entry.token } : { token: entry.token, expiresAt: expires };
}
