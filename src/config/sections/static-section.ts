// [static]: fixed identities an admin writes down, one line per service account:
//   <namespace>/<serviceaccount> = <uid>:<gid>[:<gid>,<gid>...]   (uid, primary gid, supplementary gids)
import { ConfigError } from '../config-error.ts';
import { parseEntry, type ConfigSection } from '../config-section.ts';
import { parseNamespacedName } from '../kube-names.ts';
import { parseGid, parseUid, ValueProblem } from '../values.ts';

/** AUTH_SYS carries at most 16 supplementary gids; servers reject a credential with more. */
export const MAX_SUPPLEMENTARY_GROUPS = 16;

export interface StaticEntry {
  readonly namespace: string;
  readonly serviceAccount: string;
  readonly uid: number;
  readonly gid: number;
  /** Supplementary gids, without the primary one, in the order written. */
  readonly groups: readonly number[];
  /** Line in the config file, for messages and `kidfs identity` output. */
  readonly line: number;
}

/** Keyed by `<namespace>/<serviceaccount>`. */
export type StaticTable = ReadonlyMap<string, StaticEntry>;

const format = '<uid>:<gid>[:<gid>,<gid>...]';

function parseIds(value: string): Pick<StaticEntry, 'uid' | 'gid' | 'groups'> {
  const parts = value.split(':').map((p) => p.trim());
  if (parts.length < 2 || parts.length > 3) {
    throw new ValueProblem(`${JSON.stringify(value)} is not ${format}`);
  }
  const uid = parseUid(parts[0]!);
  const gid = parseGid(parts[1]!);
  const groups: number[] = [];
  for (const item of parts[2] === undefined ? [] : parts[2].split(',').map((g) => g.trim())) {
    const group = parseGid(item);
    if (group === gid) throw new ValueProblem(`gid ${group} is already the primary group; list it once`);
    if (groups.includes(group)) throw new ValueProblem(`gid ${group} is listed twice`);
    groups.push(group);
  }
  if (groups.length > MAX_SUPPLEMENTARY_GROUPS) {
    throw new ValueProblem(`${groups.length} supplementary gids; NFS (AUTH_SYS) carries at most ${MAX_SUPPLEMENTARY_GROUPS}`);
  }
  return { uid, gid, groups };
}

export const staticSection: ConfigSection<StaticTable> = {
  name: 'static',
  parse(section, context) {
    const table = new Map<string, StaticEntry>();
    for (const entry of section?.entries ?? []) {
      const account = parseEntry(context, 'static', entry, (key) => parseNamespacedName(key, 'serviceaccount'), entry.key);
      const ids = parseEntry(context, 'static', entry, parseIds);
      const sameUid = [...table.values()].find((e) => e.uid === ids.uid);
      if (sameUid) {
        throw new ConfigError(
          context.file,
          entry.line,
          `[static] ${entry.key}`,
          `uid ${ids.uid} is already ${sameUid.namespace}/${sameUid.serviceAccount}'s (line ${sameUid.line}); every identity needs its own uid`,
        );
      }
      table.set(entry.key, { namespace: account.namespace, serviceAccount: account.name, ...ids, line: entry.line });
    }
    return table;
  },
};
