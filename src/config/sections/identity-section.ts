// [identity]: where identities come from and the rules every mapped identity obeys.
import { SectionReader, type ConfigSection } from '../config-section.ts';
import { isDnsSubdomain, parseNamespacedName, type NamespacedName } from '../kube-names.ts';
import { parseChoice, parseDuration, parseNonEmpty, parseUid, ValueProblem } from '../values.ts';

export interface ServiceAccountRef {
  readonly namespace: string;
  readonly serviceAccount: string;
}

export interface IdentityConfig {
  /** `static`: only the [static] table. `kubernetes`: [static] first, then namespace uid ranges. */
  readonly source: 'static' | 'kubernetes';
  /** No mapped uid is below this (and uid 0 never is). */
  readonly minUid: number;
  /** This node's Kubernetes name: pods must run here. From `node-name`, else $NODE_NAME; undefined if neither. */
  readonly nodeName: string | undefined;
  /** How long a verified identity is reused without asking the API server again. */
  readonly cacheTtlMs: number;
  /** Mounts without pod information: refused, or mapped to this service account's identity. */
  readonly unidentified: 'refuse' | ServiceAccountRef;
  /** Primary gid of a range-mapped identity: its namespace's group, or a group of its own (gid = uid). */
  readonly primaryGroup: 'namespace' | 'own';
  /** Group name of a namespace's group in `kidfs passwd`: prefix + namespace, e.g. ns-cms. */
  readonly namespaceGroupPrefix: string;
  /** Namespace annotation holding the namespace's uid range `<first>/<count>`. */
  readonly uidRangeAnnotation: string;
  /** ConfigMap `<namespace>/<name>` where the uid of each service account is recorded, shared by all nodes. */
  readonly uidAllocations: NamespacedName;
}

const keys = [
  'source',
  'min-uid',
  'node-name',
  'cache-ttl',
  'unidentified',
  'primary-group',
  'namespace-group-prefix',
  'uid-range-annotation',
  'uid-allocations',
] as const;

function parseNodeName(value: string): string {
  if (!isDnsSubdomain(value)) throw new ValueProblem(`${JSON.stringify(value)} is not a valid Kubernetes node name`);
  return value;
}

function parseUnidentified(value: string): IdentityConfig['unidentified'] {
  if (value === 'refuse') return 'refuse';
  try {
    const { namespace, name } = parseNamespacedName(value, 'serviceaccount');
    return { namespace, serviceAccount: name };
  } catch (err) {
    if (err instanceof ValueProblem) throw new ValueProblem(`${err.message}; write refuse or <namespace>/<serviceaccount>`);
    throw err;
  }
}

function parseGroupPrefix(value: string): string {
  if (!/^[a-z_][a-z0-9_.-]*$/.test(value)) {
    throw new ValueProblem(`${JSON.stringify(value)} cannot start a group name: use lower-case letters, digits, _ . -`);
  }
  return value;
}

function parseAnnotationKey(value: string): string {
  // <prefix>/<name> as Kubernetes validates annotation keys (a DNS subdomain prefix, a name of up to 63 chars).
  const match = /^(?:([^/]+)\/)?([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)$/.exec(value);
  if (!match || (match[1] !== undefined && !isDnsSubdomain(match[1]))) {
    throw new ValueProblem(`${JSON.stringify(value)} is not a Kubernetes annotation key`);
  }
  return value;
}

export const identitySection: ConfigSection<IdentityConfig> = {
  name: 'identity',
  parse(section, context) {
    const read = new SectionReader('identity', section, context, keys);
    return {
      source: read.get('source', parseChoice(['static', 'kubernetes']), 'static'),
      minUid: read.get('min-uid', parseUid, 1000),
      nodeName: read.get('node-name', parseNodeName, context.env['NODE_NAME'] || undefined),
      cacheTtlMs: read.get('cache-ttl', parseDuration, 30_000),
      unidentified: read.get('unidentified', parseUnidentified, 'refuse'),
      primaryGroup: read.get('primary-group', parseChoice(['namespace', 'own']), 'namespace'),
      namespaceGroupPrefix: read.get('namespace-group-prefix', parseGroupPrefix, 'ns-'),
      uidRangeAnnotation: read.get('uid-range-annotation', (v) => parseAnnotationKey(parseNonEmpty(v)), 'kidfs.io/uid-range'),
      uidAllocations: read.get('uid-allocations', (v) => parseNamespacedName(v, 'configmap'), { namespace: 'kidfs', name: 'kidfs-uids' }),
    };
  },
};
