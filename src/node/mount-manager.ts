// The node's mount manager: every kidfs mount of this node goes through it, whichever front end asked
// (CSI, FlexVolume, the CLI). It verifies the pod's identity before mounting, keeps one record per target
// in the state directory, makes publish idempotent, and brings mounts back after a restart.
import { mkdir, rmdir } from 'node:fs/promises';
import type { NodeMountStatus } from '../control-socket/index.ts';
import { type Identity, IdentityError, type PodInfo } from '../identity/index.ts';
import { type Audit, type AuditFields, NO_AUDIT } from '../log/index.ts';
import { formatNfsUrl } from '../nfs/index.ts';
import type { IdentitySource } from './identity-source.ts';
import { KeyedLock } from './keyed-lock.ts';
import type { PublishRecord, PublishRecords } from './publish-records.ts';
import { lazyUnmount, targetState } from '../mount/index.ts';
import type { Mounter } from './mounter.ts';
import { asNodeError, NodeError } from '../csi/index.ts';
import { mountDifference, sameMount, type PublishRequest } from './publish-request.ts';

export interface MountManagerOptions {
  readonly records: PublishRecords;
  readonly mounter: Mounter;
  readonly identities: IdentitySource;
  /** Who may own the directories on the way to a PersistentVolume's directory: root and the provisioner. */
  readonly trustedOwners: readonly number[];
  /** Why a recorded pod-defined volume's export may no longer be used (kidfs node --pod-export changed); undefined: it may. */
  readonly exportRefusal: (request: PublishRequest) => string | undefined;
  /** Mounts this node serves at most ([mount] max-mounts-per-node); default: no limit. */
  readonly maxMounts?: number;
  /** One line per event and problem; default stderr. */
  readonly log?: (line: string) => void;
  /** Every publish, unpublish, remount, recovery and refusal, with pod, identity, export and subDir. */
  readonly audit?: Audit;
}

/** What an audit record says about a request (never its token). */
function requestFields(request: PublishRequest, identity?: Identity): AuditFields {
  const { pod } = request;
  return {
    target: request.target,
    volumeId: request.volumeId,
    export: formatNfsUrl(request.export),
    subDir: request.subDir,
    readOnly: request.readOnly,
    via: request.via,
    ...(pod ? { pod: { namespace: pod.namespace, name: pod.podName, uid: pod.podUid, serviceAccount: pod.serviceAccount } } : {}),
    ...(identity ? { identity: { name: identity.name, uid: identity.uid, gid: identity.gid, groups: identity.groups } } : {}),
  };
}

/**
 * mounted: a new mount. unchanged: the same live mount was asked for again. refreshed: a republish brought
 * a new token, which was verified and recorded. remounted: the recorded mount was not alive and was made again.
 */
export type PublishOutcome = 'mounted' | 'unchanged' | 'refreshed' | 'remounted';

export interface RecoveryFailure {
  readonly target: string;
  readonly reason: string;
}

export interface RecoverySummary {
  readonly alive: number;
  readonly remounted: readonly string[];
  /** Targets whose pod is gone: unmounted, record and target removed. */
  readonly cleaned: readonly string[];
  readonly failed: readonly RecoveryFailure[];
}

export class MountManager {
  private readonly lock = new KeyedLock();
  private readonly problems = new Map<string, string>();
  /** New targets being mounted now: they count against maxMounts before their record exists. */
  private starting = 0;
  private readonly log: (line: string) => void;
  private readonly audit: Audit;

  private constructor(
    private readonly options: MountManagerOptions,
    private readonly records: Map<string, PublishRecord>,
  ) {
    this.log = options.log ?? ((line) => process.stderr.write(`kidfs node: ${line}\n`));
    this.audit = options.audit ?? NO_AUDIT;
  }

  /** Loads the state directory's records; nothing is mounted until recover() or a publish. */
  static async open(options: MountManagerOptions): Promise<MountManager> {
    const log = options.log ?? ((line: string) => process.stderr.write(`kidfs node: ${line}\n`));
    const records = await options.records.loadAll(log);
    return new MountManager(options, new Map(records.map((r) => [r.request.target, r])));
  }

  get size(): number {
    return this.records.size;
  }

  publish(request: PublishRequest): Promise<PublishOutcome> {
    return this.lock
      .run(request.target, async () => {
        const existing = this.records.get(request.target);
        if (!existing) {
          const limit = this.options.maxMounts ?? Infinity;
          if (this.records.size + this.starting >= limit) {
            throw new NodeError(
              'RESOURCE_EXHAUSTED',
              `this node serves ${limit} kidfs mounts, its limit ([mount] max-mounts-per-node): the pod must run on another node (kubelet schedules by max_volumes_per_node), or an admin raises the limit`,
            );
          }
          this.starting++;
          try {
            await this.mountAndRecord(request, undefined);
            this.audit.record('publish', { ...requestFields(request, this.records.get(request.target)?.identity), outcome: 'mounted' });
          } finally {
            this.starting--;
          }
          return 'mounted';
        }
        if (!sameMount(existing.request, request)) {
          throw new NodeError(
            'ALREADY_EXISTS',
            `${request.target} already has another kidfs mount: ${mountDifference(existing.request, request)}`,
          );
        }
        if (!(await this.options.mounter.isAlive(request.target))) {
          await this.mountAndRecord(request, existing);
          this.audit.record('publish', { ...requestFields(request, this.records.get(request.target)?.identity), outcome: 'remounted' });
          return 'remounted';
        }
        if ((request.token?.token ?? '') === (existing.request.token?.token ?? '')) {
          this.audit.record('publish', { ...requestFields(request, existing.identity), outcome: 'unchanged' });
          return 'unchanged';
        }
        // A republish with a new token: verify it. A pod that is gone or maps to another identity now ends the
        // mount; a token that is not the pod's own is refused and the mount kept.
        let identity: Identity;
        try {
          identity = await this.options.identities.resolve(podInfo(request));
        } catch (err) {
          if (
            request.pod &&
            err instanceof IdentityError &&
            err.kind === 'refused' &&
            (await this.options.identities.podGone(request.pod))
          ) {
            await this.revoke(request.target, `pod ${request.pod.namespace}/${request.pod.podName} is gone`);
          }
          throw err;
        }
        if (!sameIdentity(identity, existing.identity)) {
          const reason = `the pod's identity is now ${describeIdentity(identity)}, the mount acted as ${describeIdentity(existing.identity)}`;
          await this.revoke(request.target, reason);
          throw new NodeError(
            'FAILED_PRECONDITION',
            `${request.target}: ${reason}; the mount is ended: restart the pod to use the new identity`,
          );
        }
        await this.save({ ...existing, request });
        this.audit.record('publish', { ...requestFields(request, identity), outcome: 'refreshed' });
        return 'refreshed';
      })
      .catch((err: unknown) => {
        const error = asNodeError(err);
        this.log(`publish ${request.target} refused (${error.code}): ${error.message}`);
        this.audit.record('refusal', { ...requestFields(request), code: error.code, reason: error.message });
        throw error;
      });
  }

  /**
   * Checks every live mount again as a republish would: one whose pod is gone, whose pod-defined export is no
   * longer allowed, or whose pod is refused or maps to another identity now is ended. One that cannot be
   * checked (API server unreachable) is kept and checked next time.
   */
  async reverify(): Promise<{ readonly kept: number; readonly revoked: readonly string[] }> {
    let kept = 0;
    const revoked: string[] = [];
    for (const target of [...this.records.keys()]) {
      await this.lock.run(target, async () => {
        const record = this.records.get(target);
        if (!record || !(await this.options.mounter.isAlive(target))) return;
        const reason = await this.noLongerValid(record).catch((err: unknown) => {
          this.log(`cannot check ${target} again: ${asNodeError(err).message}`);
          return undefined;
        });
        if (reason === undefined) {
          kept++;
          return;
        }
        await this.revoke(target, reason);
        revoked.push(target);
      });
    }
    return { kept, revoked };
  }

  /**
   * A request that is refused before it becomes a PublishRequest (malformed, or against the publish rules) is logged and
   * audited like any refusal, with what it claimed (`fields`: target, via, the pod it names, unverified).
   */
  parseOrRefuse(fields: AuditFields, parse: () => PublishRequest): PublishRequest {
    try {
      return parse();
    } catch (err) {
      const error = asNodeError(err);
      this.log(`publish ${String(fields['target'])} refused (${error.code}): ${error.message}`);
      this.audit.record('refusal', { ...fields, code: error.code, reason: error.message });
      throw error;
    }
  }

  /** Unmounts and removes the target; a target that is not mounted is fine (it is just removed). */
  unpublish(target: string): Promise<void> {
    return this.lock
      .run(target, async () => {
        const record = this.records.get(target);
        await this.clearTarget(target, record !== undefined);
        if (record) await this.forget(target);
        await removeTarget(target);
        if (record) {
          this.log(`unpublished ${target}`);
          this.audit.record('unpublish', requestFields(record.request, record.identity));
        }
      })
      .catch((err: unknown) => {
        throw asNodeError(err);
      });
  }

  /**
   * Brings every recorded mount that is not alive back: a pod that is gone is cleaned up (unmounted, record
   * and target removed); otherwise the pod's identity is verified again and the mount made again at the same
   * target. A mount that cannot be made stays down (a dead FUSE mount keeps failing with ENOTCONN rather
   * than showing the node's empty directory) and is tried again on the next call.
   */
  async recover(): Promise<RecoverySummary> {
    const summary = { alive: 0, remounted: [] as string[], cleaned: [] as string[], failed: [] as RecoveryFailure[] };
    for (const target of [...this.records.keys()]) {
      await this.lock.run(target, async () => {
        const record = this.records.get(target);
        if (!record) return;
        try {
          const outcome = await this.recoverOne(record);
          if (outcome === 'alive') summary.alive++;
          else summary[outcome].push(target);
          if (outcome === 'remounted')
            this.audit.record('recovery', { ...requestFields(record.request, this.records.get(target)?.identity), outcome });
        } catch (err) {
          const reason = asNodeError(err).message;
          this.problems.set(target, reason);
          this.log(`cannot recover ${target}: ${reason}`);
          this.audit.record('recovery', { ...requestFields(record.request, record.identity), outcome: 'failed', reason });
          summary.failed.push({ target, reason });
        }
      });
    }
    return summary;
  }

  async status(): Promise<NodeMountStatus[]> {
    const list: NodeMountStatus[] = [];
    for (const { request, identity, publishedAt } of this.records.values()) {
      const alive = await this.options.mounter.isAlive(request.target);
      const problem = alive ? undefined : this.problems.get(request.target);
      const usage = this.options.mounter.usage?.(request.target);
      list.push({
        target: request.target,
        volumeId: request.volumeId,
        export: formatNfsUrl(request.export),
        subDir: request.subDir,
        ...(request.pod
          ? {
              pod: {
                namespace: request.pod.namespace,
                name: request.pod.podName,
                uid: request.pod.podUid,
                serviceAccount: request.pod.serviceAccount,
              },
            }
          : {}),
        identity: { uid: identity.uid, gid: identity.gid, groups: identity.groups, name: identity.name, source: identity.source },
        readOnly: request.readOnly,
        ephemeral: request.ephemeral,
        via: request.via,
        publishedAt,
        state: alive ? 'mounted' : 'not mounted',
        ...(problem ? { problem } : {}),
        ...(usage ? { usage } : {}),
      });
    }
    return list.sort((a, b) => a.target.localeCompare(b.target));
  }

  private async recoverOne(record: PublishRecord): Promise<'alive' | 'cleaned' | 'remounted'> {
    const { target, pod } = record.request;
    if (await this.options.mounter.isAlive(target)) return 'alive';
    const exportRefused = this.options.exportRefusal(record.request);
    if (exportRefused !== undefined) {
      await this.revoke(target, exportRefused);
      return 'cleaned';
    }
    if (pod && (await this.options.identities.podGone(pod))) {
      await this.clearTarget(target, true);
      await this.forget(target);
      await removeTarget(target).catch((err: Error) => this.log(`cleaned up ${target} but left the directory: ${err.message}`));
      this.log(`cleaned up ${target}: pod ${pod.namespace}/${pod.podName} (uid ${pod.podUid}) is gone`);
      this.audit.record('cleanup', { ...requestFields(record.request, record.identity), reason: 'the pod is gone' });
      return 'cleaned';
    }
    // An expired token cannot be verified any more; the pod itself still can, and kubelet's next republish brings a new token.
    const { token, ...rest } = record.request;
    await this.mountAndRecord(token && !expired(token.expiresAt) ? { ...rest, token } : rest, record);
    return 'remounted';
  }

  /** Why a live mount must end now; undefined while it is still what a publish would make. Throws when it cannot tell. */
  private async noLongerValid(record: PublishRecord): Promise<string | undefined> {
    const { request } = record;
    const exportRefused = this.options.exportRefusal(request);
    if (exportRefused !== undefined) return exportRefused;
    if (request.pod && (await this.options.identities.podGone(request.pod)))
      return `pod ${request.pod.namespace}/${request.pod.podName} is gone`;
    const { token, ...rest } = request;
    let identity: Identity;
    try {
      identity = await this.options.identities.resolve(podInfo(token && !expired(token.expiresAt) ? request : rest));
    } catch (err) {
      if (err instanceof IdentityError && err.kind === 'refused') return `its identity is refused now: ${err.message}`;
      throw err;
    }
    if (!sameIdentity(identity, record.identity))
      return `the pod's identity is now ${describeIdentity(identity)}, the mount acted as ${describeIdentity(record.identity)}`;
    return undefined;
  }

  /** Ends a mount: commits and unmounts it (open files fail from now on), forgets its record, removes the target. */
  private async revoke(target: string, reason: string): Promise<void> {
    const record = this.records.get(target);
    await this.options.mounter.revoke(target);
    await this.clearTarget(target, true);
    await this.forget(target);
    await removeTarget(target).catch((err: Error) => this.log(`ended ${target} but left the directory: ${err.message}`));
    this.log(`ended the mount at ${target}: ${reason}`);
    this.audit.record('revocation', { ...(record ? requestFields(record.request, record.identity) : { target }), reason });
  }

  /** Verifies the identity, makes the target ready, mounts, records. `previous`: the record being replaced. */
  private async mountAndRecord(request: PublishRequest, previous: PublishRecord | undefined): Promise<void> {
    const identity = await this.options.identities.resolve(podInfo(request));
    await this.prepareTarget(request.target, previous !== undefined);
    const { target, subDir, readOnly, volumeId, qos } = request;
    // A PersistentVolume's directory is reached only through directories no tenant can change (swap it for theirs).
    const trustedOwners = request.ephemeral ? {} : { trustedOwners: this.options.trustedOwners };
    await this.options.mounter.mount({
      target,
      export: request.export,
      subDir,
      readOnly,
      identity,
      volumeId,
      ...trustedOwners,
      ...(request.pod ? { pod: request.pod } : {}),
      ...(qos ? { qos } : {}),
    });
    try {
      await this.save({ version: 1, request, identity, publishedAt: previous?.publishedAt ?? new Date().toISOString() });
    } catch (err) {
      await this.options.mounter.unmount(target);
      throw new NodeError(
        'INTERNAL',
        `mounted ${target} but could not record it in ${this.options.records.dir}, so unmounted it again: ${(err as Error).message}`,
      );
    }
    this.problems.delete(target);
    const pod = request.pod ? `pod ${request.pod.namespace}/${request.pod.podName}` : 'no pod';
    if (previous) this.audit.record('remount', requestFields(request, identity));
    this.log(
      `${previous ? 'remounted' : 'mounted'} ${formatNfsUrl(request.export)}${subDir ? ` ${subDir}` : ''} at ${target} for ${pod} as ${describeIdentity(identity)}`,
    );
  }

  /**
   * An empty directory that is no mount point. A dead FUSE mount there (an earlier daemon's) is detached;
   * a live mount is refused unless it is `ours` by record.
   */
  private async prepareTarget(target: string, ours: boolean): Promise<void> {
    await this.clearTarget(target, ours);
    const state = await targetState(target);
    if (state === 'absent') await mkdir(target, { recursive: true, mode: 0o750 });
    else if (state === 'not a directory') throw new NodeError('FAILED_PRECONDITION', `${target} exists and is not a directory`);
  }

  /** Unmounts what this node's mounter serves at `target`, and a dead mount; a live foreign mount only if `ours`. */
  private async clearTarget(target: string, ours: boolean): Promise<void> {
    await this.options.mounter.unmount(target);
    const state = await targetState(target);
    if (state === 'dead mount' || (state === 'mount point' && ours)) {
      await lazyUnmount(target);
      this.log(`detached the left-over ${state} at ${target}`);
    } else if (state === 'mount point') {
      throw new NodeError('FAILED_PRECONDITION', `${target} is a mount point kidfs has no record of; unmount it first`);
    }
  }

  private async save(record: PublishRecord): Promise<void> {
    await this.options.records.save(record);
    this.records.set(record.request.target, record);
  }

  private async forget(target: string): Promise<void> {
    await this.options.records.remove(target);
    this.records.delete(target);
    this.problems.delete(target);
  }
}

function podInfo(request: PublishRequest): PodInfo | undefined {
  if (!request.pod) return undefined;
  return request.token ? { ...request.pod, token: request.token.token } : request.pod;
}

/** rmdir: never recursive, so files under a target that was not mounted are never deleted. */
async function removeTarget(target: string): Promise<void> {
  try {
    await rmdir(target);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return;
    if (code === 'ENOTEMPTY')
      throw new NodeError(
        'FAILED_PRECONDITION',
        `${target} is not empty after unmounting; kidfs leaves its files alone: look at them and remove it`,
      );
    throw err;
  }
}

const sameIdentity = (a: Identity, b: Identity): boolean =>
  a.uid === b.uid && a.gid === b.gid && a.groups.length === b.groups.length && a.groups.every((g, i) => g === b.groups[i]);

export const describeIdentity = (identity: Pick<Identity, 'uid' | 'gid' | 'groups' | 'name'>): string =>
  `${identity.name} (uid ${identity.uid}, gid ${identity.gid}${identity.groups.length ? `, groups ${identity.groups.join(',')}` : ''})`;

const expired = (expiresAt: string | undefined): boolean => expiresAt !== undefined && Date.parse(expiresAt) <= Date.now();
