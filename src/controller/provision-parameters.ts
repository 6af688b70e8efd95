// StorageClass parameters of CreateVolume, with csi-driver-nfs's names where the meaning is the same:
//   server, share          the export volumes are made in (required)
//   subDir                 the volume's directory under it; ${pvc.metadata.name}, ${pvc.metadata.namespace} and
//                          ${pv.metadata.name} are replaced (default ${pv.metadata.name}, the volume's name). It
//                          must name each volume apart: ${pv.metadata.name}, or both ${pvc.metadata.namespace}
//                          and ${pvc.metadata.name} (PVCs of one name in two namespaces are two volumes)
//   onDelete               delete (default) | retain | archive (renamed to archived-<name>)
//   mountPermissions       mode of the volume directory, octal (default 2770); setgid is always added so files
//                          created in it keep its group
//   owner                  <namespace>/<serviceaccount> whose kidfs identity owns the directory; the namespace may
//                          be ${pvc.metadata.namespace}
//   group                  gid, or a [groups] name, of the directory (default: the owner's primary gid)
//   qosBytesPerSecond,     QoS of the volume's mounts, as [mount] qos-bytes-per-second / qos-ops-per-second;
//   qosOpsPerSecond        passed on to the PV's volume attributes
import { type GroupTable, parseNamespacedName, ValueProblem } from '../config/index.ts';

import type { ServiceAccountRef } from '../identity/index.ts';
import type { NfsUrl } from '../nfs/index.ts';
import { checkSubDir, invalidField, PV_NAME_KEY, PVC_NAME_KEY, PVC_NAMESPACE_KEY, readVolumeSource } from '../csi/index.ts';

import { ON_DELETE, type OnDelete } from './volume-id.ts';

export interface ProvisionParameters {
  readonly export: NfsUrl;
  readonly subDir: string;
  readonly onDelete: OnDelete;
  /** Permission bits with setgid. */
  readonly mode: number;
  readonly owner?: ServiceAccountRef;
  readonly gid?: number;
  /** Volume attributes the PV carries besides the export (QoS), checked. */
  readonly attributes: Readonly<Record<string, string>>;
}

const QOS_KEYS = ['qosBytesPerSecond', 'qosOpsPerSecond'];
const KEYS = ['server', 'share', 'subDir', 'onDelete', 'mountPermissions', 'owner', 'group', ...QOS_KEYS];
const METADATA_KEYS = [PVC_NAME_KEY, PVC_NAMESPACE_KEY, PV_NAME_KEY];
const field = (key: string) => `parameters[${JSON.stringify(key)}]`;

export function readProvisionParameters(
  parameters: Readonly<Record<string, string>>,
  name: string,
  mountFlags: readonly string[],
  groups: GroupTable,
): ProvisionParameters {
  for (const key of Object.keys(parameters)) {
    if (!KEYS.includes(key) && !METADATA_KEYS.includes(key)) {
      throw invalidField(field(key), `is not a kidfs StorageClass parameter (kidfs reads ${KEYS.join(', ')})`);
    }
  }
  const attributes = Object.fromEntries(QOS_KEYS.filter((key) => parameters[key] !== undefined).map((key) => [key, parameters[key]!]));
  const source = readVolumeSource(
    { server: parameters['server'] ?? '', share: parameters['share'] ?? '', ...attributes },
    { untrusted: false, podExports: [], mountFlags, field },
  );
  const template = parameters['subDir'] ?? '${pv.metadata.name}';
  const subDir = checkSubDir(expand(template, parameters, name, 'subDir'), field('subDir'));
  if (
    !template.includes('${pv.metadata.name}') &&
    !(template.includes('${pvc.metadata.namespace}') && template.includes('${pvc.metadata.name}'))
  ) {
    throw invalidField(
      field('subDir'),
      `${JSON.stringify(template)} could give two volumes one directory: use \${pv.metadata.name}, or both \${pvc.metadata.namespace} and \${pvc.metadata.name}`,
    );
  }
  if (subDir === '') throw invalidField(field('subDir'), 'names the export itself: every volume needs a directory of its own');

  const onDelete = parameters['onDelete'] ?? 'delete';
  if (!(ON_DELETE as readonly string[]).includes(onDelete)) {
    throw invalidField(field('onDelete'), `is ${JSON.stringify(onDelete)}, not one of ${ON_DELETE.join(', ')}`);
  }
  const permissions = parameters['mountPermissions'] ?? '2770';
  if (!/^0?[0-7]{3,4}$/.test(permissions) || (parseInt(permissions, 8) & 0o4000) !== 0) {
    throw invalidField(field('mountPermissions'), `is ${JSON.stringify(permissions)}, not an octal mode like 2770 (setuid is not allowed)`);
  }
  const owner = parameters['owner'] === undefined ? undefined : readOwner(expand(parameters['owner'], parameters, name, 'owner'));
  const gid = parameters['group'] === undefined ? undefined : readGroup(parameters['group'], groups);
  if (!owner && gid === undefined) {
    throw invalidField(
      `${field('owner')} or ${field('group')}`,
      'is required: say who may use the volume (owner <namespace>/<serviceaccount>, group <gid or [groups] name>)',
    );
  }
  return {
    export: source.export,
    subDir,
    onDelete: onDelete as OnDelete,
    mode: (parseInt(permissions, 8) & 0o1777) | 0o2000,
    ...(owner ? { owner } : {}),
    ...(gid === undefined ? {} : { gid }),
    attributes,
  };
}

/** Replaces ${pvc.metadata.name}, ${pvc.metadata.namespace}, ${pv.metadata.name}; anything else in ${} is refused. */
function expand(template: string, parameters: Readonly<Record<string, string>>, name: string, key: string): string {
  const values: Record<string, string | undefined> = {
    'pvc.metadata.name': parameters[PVC_NAME_KEY],
    'pvc.metadata.namespace': parameters[PVC_NAMESPACE_KEY],
    'pv.metadata.name': parameters[PV_NAME_KEY] ?? name,
  };
  return template.replace(/\$\{([^}]*)\}/g, (_, variable: string) => {
    if (!(variable in values))
      throw invalidField(
        field(key),
        `uses \${${variable}}; kidfs knows ${Object.keys(values)
          .map((v) => `\${${v}}`)
          .join(', ')}`,
      );
    const value = values[variable];
    if (value === undefined)
      throw invalidField(field(key), `uses \${${variable}}, which needs external-provisioner --extra-create-metadata`);
    return value;
  });
}

function readOwner(value: string): ServiceAccountRef {
  try {
    const { namespace, name } = parseNamespacedName(value, 'serviceaccount');
    return { namespace, serviceAccount: name };
  } catch (err) {
    if (err instanceof ValueProblem) throw invalidField(field('owner'), `${err.message}`);
    throw err;
  }
}

function readGroup(value: string, groups: GroupTable): number {
  if (/^\d+$/.test(value)) {
    const gid = Number(value);
    if (gid === 0 || gid > 4294967293) throw invalidField(field('group'), `gid ${value} is not allowed (1 to 4294967293)`);
    return gid;
  }
  const group = groups.get(value);
  if (!group) throw invalidField(field('group'), `${JSON.stringify(value)} is neither a gid nor a group in [groups] of the kidfs config`);
  return group.gid;
}
