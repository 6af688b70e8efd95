// The mapping rules, as pure functions: service account -> uid, gid and groups, from the sources a cluster
// admin controls ([static], [groups], namespace ranges and the uid records). Refusals name what to fix.
import { type KidfsConfig, MAX_SUPPLEMENTARY_GROUPS, type StaticEntry } from '../config/index.ts';

import { accountKey, IdentityError, type Identity, type ServiceAccountRef } from './identity.ts';
import { namespaceHolding, type NamespaceRanges } from './namespace-ranges.ts';
import { userName } from './passwd-names.ts';
import { formatRange, inRange, lastId, type UidRange } from './uid-range.ts';
import type { UidRecords } from './uid-allocations.ts';

const refuse = (account: ServiceAccountRef, reason: string): IdentityError =>
  new IdentityError('refused', `${accountKey(account)}: ${reason}`);

/** Gids of the [groups] the account is a member of (by name or `<namespace>/*`). */
export function memberGids(config: KidfsConfig, account: ServiceAccountRef): number[] {
  return [...config.groups.values()]
    .filter((g) => g.members.includes(accountKey(account)) || g.members.includes(`${account.namespace}/*`))
    .map((g) => g.gid);
}

/** The Identity, with supplementary gids merged, deduplicated and limited to what AUTH_SYS carries. */
export function makeIdentity(
  account: ServiceAccountRef,
  ids: { uid: number; gid: number; groups: readonly number[] },
  source: string,
): Identity {
  const groups = [...new Set(ids.groups)].filter((g) => g !== ids.gid);
  if (groups.length > MAX_SUPPLEMENTARY_GROUPS) {
    throw refuse(
      account,
      `${groups.length} supplementary groups; NFS (AUTH_SYS) carries at most ${MAX_SUPPLEMENTARY_GROUPS}: remove some [groups] memberships`,
    );
  }
  return {
    uid: ids.uid,
    gid: ids.gid,
    groups,
    name: userName(account.namespace, account.serviceAccount),
    source,
    namespace: account.namespace,
    serviceAccount: account.serviceAccount,
  };
}

export function staticSource(config: KidfsConfig, entry: StaticEntry): string {
  return `[static] ${config.file}:${entry.line}`;
}

/** A [static] identity; with namespace ranges known (source = kubernetes), its namespace's group is added. */
export function staticIdentity(config: KidfsConfig, entry: StaticEntry, ranges?: NamespaceRanges): Identity {
  const account = { namespace: entry.namespace, serviceAccount: entry.serviceAccount };
  const namespaceRange = ranges?.valid.get(entry.namespace);
  if (ranges) {
    const holder = namespaceHolding(ranges, entry.uid);
    if (holder !== undefined && holder !== entry.namespace) {
      throw refuse(
        account,
        `[static] uid ${entry.uid} (${config.file}:${entry.line}) lies in namespace ${holder}'s uid range ${formatRange(ranges.valid.get(holder)!)}`,
      );
    }
    if (namespaceRange?.first === entry.uid) {
      throw refuse(
        account,
        `[static] uid ${entry.uid} (${config.file}:${entry.line}) is namespace ${entry.namespace}'s group id (first of its range)`,
      );
    }
  }
  const groups = [...entry.groups, ...(namespaceRange ? [namespaceRange.first] : []), ...memberGids(config, account)];
  checkGroupGids(config, account, ranges);
  if (namespaceRange) checkRangeIsFree(config, account, namespaceRange);
  return makeIdentity(account, { uid: entry.uid, gid: entry.gid, groups }, staticSource(config, entry));
}

/** A range-mapped identity from its uid (recorded or about to be). */
export function rangeIdentity(
  config: KidfsConfig,
  account: ServiceAccountRef,
  range: UidRange,
  uid: number,
  ranges: NamespaceRanges,
  source: string,
): Identity {
  checkGroupGids(config, account, ranges);
  checkRangeIsFree(config, account, range);
  const own = config.identity.primaryGroup === 'own';
  const gid = own ? uid : range.first;
  const groups = [...(own ? [range.first] : []), ...memberGids(config, account)];
  return makeIdentity(account, { uid, gid, groups }, source);
}

/** Refuses a recorded uid that no longer fits: outside the range, on the group id, or shared. */
export function checkRecordedUid(
  config: KidfsConfig,
  account: ServiceAccountRef,
  range: UidRange,
  uid: number,
  records: UidRecords,
  where: string,
): void {
  const problem = (text: string) => refuse(account, `uid ${uid} recorded in ${where} ${text}; a cluster admin must fix the record`);
  if (!inRange(range, uid) || uid === range.first) {
    throw problem(`is not in namespace ${account.namespace}'s range ${formatRange(range)} (after its first id, the group)`);
  }
  for (const [other, otherUid] of records) {
    if (otherUid === uid && other !== accountKey(account)) throw problem(`is also recorded for ${other}`);
  }
  for (const [other, entry] of config.static) {
    if (entry.uid === uid && other !== accountKey(account)) throw problem(`is also [static] ${other}'s (${config.file}:${entry.line})`);
  }
}

/** The lowest uid of the range that nothing holds: the same choice on every node that sees the same records. */
export function pickFreeUid(config: KidfsConfig, account: ServiceAccountRef, range: UidRange, records: UidRecords): number {
  const taken = new Set([...records.values(), ...[...config.static.values()].map((e) => e.uid)]);
  for (let uid = range.first + 1; uid <= lastId(range); uid++) if (!taken.has(uid)) return uid;
  throw refuse(
    account,
    `namespace ${account.namespace}'s uid range ${formatRange(range)} is full: a cluster admin must give it a larger one`,
  );
}

/** A [groups] gid inside a namespace's range would give one gid two meanings: refused. */
function checkGroupGids(config: KidfsConfig, account: ServiceAccountRef, ranges: NamespaceRanges | undefined): void {
  if (!ranges) return;
  for (const group of config.groups.values()) {
    if (!group.members.includes(accountKey(account)) && !group.members.includes(`${account.namespace}/*`)) continue;
    const holder = namespaceHolding(ranges, group.gid);
    if (holder !== undefined) {
      throw refuse(
        account,
        `[groups] ${group.name} gid ${group.gid} (${config.file}:${group.line}) lies in namespace ${holder}'s uid range; choose a gid outside all ranges`,
      );
    }
  }
}

/**
 * A namespace's range must not hold an id the config gives someone else: any [groups] gid, or a uid or gid of
 * another namespace's [static] entry. Otherwise the namespace's group (the range's first id) or one of its
 * uids would be that group or that account, and every identity of the namespace would share its files.
 */
function checkRangeIsFree(config: KidfsConfig, account: ServiceAccountRef, range: UidRange): void {
  const clash = (what: string) =>
    refuse(
      account,
      `namespace ${account.namespace}'s uid range ${formatRange(range)} holds ${what}: a cluster admin must move one of them`,
    );
  for (const group of config.groups.values()) {
    if (inRange(range, group.gid)) throw clash(`[groups] ${group.name} gid ${group.gid} (${config.file}:${group.line})`);
  }
  for (const [key, entry] of config.static) {
    if (entry.namespace === account.namespace) continue;
    const id = [entry.uid, entry.gid, ...entry.groups].find((i) => inRange(range, i));
    if (id !== undefined) throw clash(`id ${id} of [static] ${key} (${config.file}:${entry.line})`);
  }
}
