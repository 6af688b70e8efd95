// Every identity and group kidfs knows, with names, for `kidfs passwd` and `kidfs identity`:
// [static] entries, recorded range uids, namespace groups, [groups], own groups (primary-group = own)
// and names for any other gid in use. What cannot be listed consistently is left out and reported.
import type { KidfsConfig } from '../config/index.ts';
import { accountKey, IdentityError, type Identity } from './identity.ts';
import type { IdentityResolver } from './identity-resolver.ts';
import { staticIdentity } from './mapping-policy.ts';
import type { NamespaceRanges } from './namespace-ranges.ts';
import { namespaceGroupName, unnamedGroupName } from './passwd-names.ts';

export interface GroupInfo {
  readonly name: string;
  readonly gid: number;
  /** Names of the identities that have it as a supplementary group. */
  readonly members: readonly string[];
}

export interface IdentityDirectory {
  /** Sorted by uid. */
  readonly identities: readonly Identity[];
  /** Sorted by gid. */
  readonly groups: readonly GroupInfo[];
  /** One line for each identity or group left out, saying why. */
  readonly problems: readonly string[];
}

export async function listIdentities(resolver: IdentityResolver): Promise<IdentityDirectory> {
  const config = resolver.config;
  const problems: string[] = [];
  const candidates: Identity[] = [];
  const attempt = (make: () => Identity) => {
    try {
      candidates.push(make());
    } catch (err) {
      if (!(err instanceof IdentityError)) throw err;
      problems.push(err.message);
    }
  };

  let ranges: NamespaceRanges | undefined;
  if (config.identity.source === 'kubernetes') {
    const { source } = resolver.kubernetes();
    ranges = await source.ranges();
    const read = await source.records(ranges);
    problems.push(...new Set(read.broken.values()));
    for (const [key, uid] of read.records) {
      if (config.static.has(key)) continue; // [static] wins over a record; listed below
      const [namespace, serviceAccount] = key.split('/') as [string, string];
      attempt(() => source.recordedIdentity({ namespace, serviceAccount }, uid, ranges!, read));
    }
  }
  for (const entry of config.static.values()) attempt(() => staticIdentity(config, entry, ranges));

  const identities = uniqueBy(
    candidates,
    (i) => i.name,
    (i) => accountKey(i),
    'user name',
    problems,
  ).sort((a, b) => a.uid - b.uid);
  const groups = namedGroups(config, identities, ranges, problems);
  return { identities, groups, problems };
}

function namedGroups(
  config: KidfsConfig,
  identities: readonly Identity[],
  ranges: NamespaceRanges | undefined,
  problems: string[],
): GroupInfo[] {
  const named: { name: string; gid: number; origin: string }[] = [];
  for (const group of config.groups.values()) {
    named.push({ name: group.name, gid: group.gid, origin: `[groups] ${group.name} (${config.file}:${group.line})` });
  }
  for (const [namespace, range] of ranges?.valid ?? []) {
    named.push({
      name: namespaceGroupName(config.identity.namespaceGroupPrefix, namespace),
      gid: range.first,
      origin: `namespace ${namespace}'s group`,
    });
  }
  if (config.identity.primaryGroup === 'own') {
    for (const identity of identities) {
      if (!config.static.has(accountKey(identity))) {
        named.push({ name: identity.name, gid: identity.gid, origin: `${accountKey(identity)}'s own group` });
      }
    }
  }
  const byGid = uniqueBy(
    uniqueBy(
      named,
      (g) => String(g.gid),
      (g) => g.origin,
      'gid',
      problems,
    ),
    (g) => g.name,
    (g) => g.origin,
    'group name',
    problems,
  );
  const known = new Set(byGid.map((g) => g.gid));
  for (const gid of new Set(identities.flatMap((i) => [i.gid, ...i.groups]))) {
    if (!known.has(gid)) byGid.push({ name: unnamedGroupName(gid), gid, origin: `gid ${gid}` });
  }
  return byGid
    .map((g) => ({ name: g.name, gid: g.gid, members: identities.filter((i) => i.groups.includes(g.gid)).map((i) => i.name) }))
    .sort((a, b) => a.gid - b.gid);
}

/** Keeps the first of each key; reports every later one (a name or id must mean one thing). */
function uniqueBy<T>(items: readonly T[], key: (item: T) => string, label: (item: T) => string, what: string, problems: string[]): T[] {
  const kept = new Map<string, T>();
  for (const item of items) {
    const first = kept.get(key(item));
    if (first === undefined) kept.set(key(item), item);
    else problems.push(`${label(item)}: ${what} ${key(item)} is already ${label(first)}'s; left out`);
  }
  return [...kept.values()];
}
