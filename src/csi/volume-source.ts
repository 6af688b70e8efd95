// Where a volume's files are: server, export path and subDir from the volume's attributes (csi-driver-nfs's
// names), and ports from its mount options. Attributes an admin wrote (PV, StorageClass) are trusted;
// attributes a pod's author wrote (CSI inline volumes, FlexVolume) only pick an export the admin allowed
// and a subDir inside it.
import { parseByteRate, parseOpRate, type QosLimits, ValueProblem } from '../config/index.ts';

import { formatNfsUrl, type NfsUrl, NfsUrlError, parseNfsUrl } from '../nfs/index.ts';
import { checkSubDir } from './sub-dir.ts';
import { invalidField, NodeError } from './node-error.ts';

export interface VolumeSource {
  readonly export: NfsUrl;
  readonly subDir: string;
  /** QoS an admin set on the volume (PV / StorageClass); 0: no limit; a field left out is [mount]'s default. */
  readonly qos?: Partial<QosLimits>;
}

export interface AttributeRules {
  /** The attributes come from the pod's author. */
  readonly untrusted: boolean;
  /** Exports pod-defined volumes may use; the first is the one they get without server/share. */
  readonly podExports: readonly NfsUrl[];
  /** Mount options (CSI mount_flags from the PV or StorageClass); only `port=`, `mountport=` and `nfsvers=3` mean something. */
  readonly mountFlags?: readonly string[];
  /** How to name an attribute in a message, e.g. volume_context["subDir"]. */
  readonly field: (key: string) => string;
}

/** Attributes the node reads. */
const VOLUME_KEYS = ['server', 'share', 'subDir'];
/** csi-driver-nfs attributes that only the controller uses; a PV written for it may carry them. */
const CONTROLLER_KEYS = ['mountPermissions', 'onDelete'];
/** QoS of the volume's mounts ([mount] qos-* keys' values): only an admin sets them. */
const QOS_KEYS = { qosBytesPerSecond: parseByteRate, qosOpsPerSecond: parseOpRate };
/** Keys Kubernetes itself adds (pod information, ephemeral flag, provisioner identity, FlexVolume's own). */
const SYSTEM_PREFIXES = ['csi.storage.k8s.io/', 'storage.kubernetes.io/', 'kubernetes.io/'];

export function readVolumeSource(attributes: Readonly<Record<string, string>>, rules: AttributeRules): VolumeSource {
  const allowed = rules.untrusted ? VOLUME_KEYS : [...VOLUME_KEYS, ...CONTROLLER_KEYS, ...Object.keys(QOS_KEYS)];
  for (const key of Object.keys(attributes)) {
    if (allowed.includes(key) || SYSTEM_PREFIXES.some((prefix) => key.startsWith(prefix))) continue;
    if (rules.untrusted) {
      throw new NodeError(
        'PERMISSION_DENIED',
        `${rules.field(key)} is not allowed in a pod-defined volume: such volumes may set only ${VOLUME_KEYS.join(', ')}`,
      );
    }
    throw invalidField(rules.field(key), `is not a kidfs volume attribute (kidfs reads ${VOLUME_KEYS.join(', ')})`);
  }
  const subDir = checkSubDir(attributes['subDir'] ?? '', rules.field('subDir'));
  const source = { export: rules.untrusted ? podExport(attributes, rules) : adminExport(attributes, rules), subDir };
  const qos = volumeQos(attributes, rules);
  return qos ? { ...source, qos } : source;
}

function volumeQos(attributes: Readonly<Record<string, string>>, rules: AttributeRules): Partial<QosLimits> | undefined {
  const rate = (key: keyof typeof QOS_KEYS): number | undefined => {
    const value = attributes[key];
    if (value === undefined) return undefined;
    try {
      // `none` lifts the [mount] default for this volume: kept as 0 (no limit), which survives the JSON of records.
      return QOS_KEYS[key](value) ?? 0;
    } catch (err) {
      if (err instanceof ValueProblem) throw invalidField(rules.field(key), err.message);
      throw err;
    }
  };
  const bytesPerSecond = rate('qosBytesPerSecond');
  const opsPerSecond = rate('qosOpsPerSecond');
  if (bytesPerSecond === undefined && opsPerSecond === undefined) return undefined;
  return { ...(bytesPerSecond !== undefined ? { bytesPerSecond } : {}), ...(opsPerSecond !== undefined ? { opsPerSecond } : {}) };
}

function adminExport(attributes: Readonly<Record<string, string>>, rules: AttributeRules): NfsUrl {
  const server = attributes['server'];
  const share = attributes['share'];
  if (!server) throw invalidField(rules.field('server'), "is required (the NFS server's name or address)");
  if (!share) throw invalidField(rules.field('share'), 'is required (the export path on the server)');
  const location = exportLocation(server, share, rules);
  return { ...location, ...mountFlagPorts(rules.mountFlags ?? []) };
}

function podExport(attributes: Readonly<Record<string, string>>, rules: AttributeRules): NfsUrl {
  const [first] = rules.podExports;
  if (!first) {
    throw new NodeError(
      'PERMISSION_DENIED',
      'pod-defined (inline) kidfs volumes are not allowed on this node: an admin lists the exports they may use with kidfs node --pod-export',
    );
  }
  const server = attributes['server'];
  const share = attributes['share'];
  if (!server && !share) return first;
  if (!server || !share)
    throw invalidField(rules.field(server ? 'share' : 'server'), 'is required when the other of server and share is given');
  const wanted = exportLocation(server, share, rules);
  const match = rules.podExports.find((e) => e.host === wanted.host && e.path === wanted.path);
  if (!match) {
    throw new NodeError(
      'PERMISSION_DENIED',
      `${server}:${share} is not an export pod-defined volumes may use (allowed: ${rules.podExports.map(formatNfsUrl).join(', ')})`,
    );
  }
  return match;
}

/** Checks server and share by the NFS URL rules kidfs uses everywhere. */
function exportLocation(server: string, share: string, rules: AttributeRules): NfsUrl {
  if (!share.startsWith('/')) throw invalidField(rules.field('share'), `${JSON.stringify(share)} is not an absolute export path`);
  const segments = share.replace(/\/$/, '').split('/').slice(1);
  if (share !== '/' && segments.some((segment) => segment === '' || segment === '..' || segment === '.')) {
    throw invalidField(rules.field('share'), `${JSON.stringify(share)} is not a normalized path (no //, . or ..)`);
  }
  const host = server.includes(':') && !server.startsWith('[') ? `[${server}]` : server;
  try {
    const url = parseNfsUrl(`nfs://${host}${share.split('/').map(encodeURIComponent).join('/')}`);
    return { host: url.host, path: share === '/' ? '/' : `/${segments.join('/')}` };
  } catch (err) {
    if (err instanceof NfsUrlError)
      throw invalidField(`${rules.field('server')} or ${rules.field('share')}`, `do not name an NFS export: ${err.message}`);
    throw err;
  }
}

/** `port=N` and `mountport=N` (nfs(5) names); `nfsvers=3`/`vers=3` are accepted as what kidfs speaks anyway. */
export function mountFlagPorts(flags: readonly string[]): { nfsPort?: number; mountPort?: number } {
  const ports: { nfsPort?: number; mountPort?: number } = {};
  for (const flag of flags
    .flatMap((f) => f.split(','))
    .map((f) => f.trim())
    .filter(Boolean)) {
    const [key, value, ...rest] = flag.split('=');
    if ((key === 'nfsvers' || key === 'vers') && rest.length === 0) {
      if (value !== '3') throw invalidField(`mount option ${flag}`, 'is not supported: kidfs speaks NFS version 3');
      continue;
    }
    if ((key === 'port' || key === 'mountport') && rest.length === 0) {
      const port = /^\d{1,5}$/.test(value ?? '') ? Number(value) : NaN;
      if (!(port >= 1 && port <= 65535)) throw invalidField(`mount option ${flag}`, 'needs a TCP port (1-65535)');
      if (key === 'port') ports.nfsPort = port;
      else ports.mountPort = port;
      continue;
    }
    throw invalidField(`mount option ${flag}`, 'is not one kidfs knows (it takes port=N, mountport=N and nfsvers=3)');
  }
  return ports;
}
