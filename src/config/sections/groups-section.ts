// [groups]: named groups an admin grants to service accounts (the only place besides [static] that adds groups):
//   <group name> = <gid>[: <namespace>/<serviceaccount>, <namespace>/*, ...]
// `<namespace>/*` makes every service account of the namespace a member. A group without members just
// names a gid (e.g. one listed in [static]) for `kidfs passwd`.
import { ConfigError } from '../config-error.ts';
import { parseEntry, type ConfigSection } from '../config-section.ts';
import { isDnsLabel, parseNamespacedName } from '../kube-names.ts';
import { parseGid, ValueProblem } from '../values.ts';

export interface GroupEntry {
  readonly name: string;
  readonly gid: number;
  /** `<namespace>/<serviceaccount>` or `<namespace>/*`. */
  readonly members: readonly string[];
  readonly line: number;
}

/** Keyed by group name. */
export type GroupTable = ReadonlyMap<string, GroupEntry>;

/** Names that passwd(5)/group(5) tools accept everywhere: at most 32 characters, lower case. */
export function isPortableName(name: string): boolean {
  return name.length <= 32 && /^[a-z_][a-z0-9_.-]*$/.test(name);
}

function parseMember(member: string): string {
  const star = /^([^/]+)\/\*$/.exec(member);
  if (star) {
    if (!isDnsLabel(star[1]!)) throw new ValueProblem(`namespace ${JSON.stringify(star[1])} is not a valid Kubernetes namespace name`);
    return member;
  }
  parseNamespacedName(member, 'serviceaccount');
  return member;
}

function parseGroup(value: string): Pick<GroupEntry, 'gid' | 'members'> {
  const colon = value.indexOf(':');
  const gid = parseGid((colon < 0 ? value : value.slice(0, colon)).trim());
  const members: string[] = [];
  const list = colon < 0 ? '' : value.slice(colon + 1).trim();
  for (const member of list === '' ? [] : list.split(',').map((m) => m.trim())) {
    if (members.includes(member)) throw new ValueProblem(`member ${member} is listed twice`);
    members.push(parseMember(member));
  }
  return { gid, members };
}

export const groupsSection: ConfigSection<GroupTable> = {
  name: 'groups',
  parse(section, context) {
    const table = new Map<string, GroupEntry>();
    for (const entry of section?.entries ?? []) {
      if (!isPortableName(entry.key)) {
        throw new ConfigError(
          context.file,
          entry.line,
          `[groups] ${entry.key}`,
          'group names are at most 32 characters: lower-case letters, digits, _ . - (not starting with a digit, . or -)',
        );
      }
      const group = parseEntry(context, 'groups', entry, parseGroup);
      const sameGid = [...table.values()].find((g) => g.gid === group.gid);
      if (sameGid) {
        throw new ConfigError(
          context.file,
          entry.line,
          `[groups] ${entry.key}`,
          `gid ${group.gid} is already group ${sameGid.name} (line ${sameGid.line}); one name per gid`,
        );
      }
      table.set(entry.key, { name: entry.key, ...group, line: entry.line });
    }
    return table;
  },
};
