// The uid of each range-mapped service account, recorded in one ConfigMap per namespace (`<name>-<namespace>`
// beside the configured [identity] uid-allocations `<namespace>/<name>`) that every node reads and writes with
// optimistic concurrency: an update carries the resourceVersion it read, the API server answers 409 Conflict
// when another node wrote in between, and the loser reads again. So a service account gets one uid on every
// node, and a uid one service account, however nodes race. One map per namespace: a namespace with many long
// service account names fills only its own (a ConfigMap holds at most 1 MiB), and a record an admin broke
// refuses only its own account. Entries read `<namespace>.<serviceaccount>: "<uid>"` (a namespace has no dot),
// e.g. `cms.editor: "200001"`. The configured map itself held every namespace's records before; it is still
// read, never written, so a uid recorded there stays.
import type { V1ConfigMap } from '@kubernetes/client-node';
import type { NamespacedName } from '../config/index.ts';
import { accountKey, IdentityError, type ServiceAccountRef } from './identity.ts';
import type { KubeApi } from './kube-api.ts';

/** Recorded uids keyed by `<namespace>/<serviceaccount>`. */
export type UidRecords = ReadonlyMap<string, number>;

/** Records, where each was found (for messages), and the entries that are no record, with why. */
export interface RecordsRead {
  readonly records: UidRecords;
  readonly where: ReadonlyMap<string, string>;
  readonly broken: ReadonlyMap<string, string>;
}

const MAX_ATTEMPTS = 30;

export class UidAllocations {
  /** This node's allocations, one at a time, so it does not race itself. */
  private queue: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly api: KubeApi,
    private readonly where: NamespacedName,
    private readonly log: (line: string) => void,
  ) {}

  /** Where `namespace`'s new records go. */
  description(namespace: string): string {
    return `configmap ${this.where.namespace}/${this.mapName(namespace)}`;
  }

  /** Every record of these namespaces (and of the shared map of earlier versions). */
  async read(namespaces: readonly string[]): Promise<RecordsRead> {
    const { namespace } = this.where;
    const shared = this.api.readConfigMap(namespace, this.where.name).then((map) => this.parse(map, this.where.name, undefined));
    const own = namespaces.map((name) =>
      this.api.readConfigMap(namespace, this.mapName(name)).then((map) => this.parse(map, this.mapName(name), name)),
    );
    return this.combine(await Promise.all([shared, ...own]));
  }

  /**
   * The recorded uid of `account`, or, when it has none, the uid `pick` chooses from the current records,
   * recorded before it is returned (`dryRun`: returned unrecorded). `pick` throws to refuse.
   */
  obtain(
    account: ServiceAccountRef,
    pick: (records: UidRecords) => number,
    dryRun = false,
  ): Promise<{ uid: number; recorded: boolean; records: UidRecords; where: string }> {
    const run = this.queue.then(() => this.obtainNow(account, pick, dryRun));
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async obtainNow(account: ServiceAccountRef, pick: (records: UidRecords) => number, dryRun: boolean) {
    const key = accountKey(account);
    const name = this.mapName(account.namespace);
    const description = this.description(account.namespace);
    for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
      const [shared, current] = await Promise.all([
        this.api.readConfigMap(this.where.namespace, this.where.name),
        this.api.readConfigMap(this.where.namespace, name),
      ]);
      const { records, where, broken } = this.combine([
        this.parse(shared, this.where.name, undefined),
        this.parse(current, name, account.namespace),
      ]);
      const problem = broken.get(key);
      if (problem) throw new IdentityError('refused', problem);
      const existing = records.get(key);
      if (existing !== undefined) return { uid: existing, recorded: true, records, where: where.get(key)! };
      const uid = pick(records);
      if (dryRun) return { uid, recorded: false, records, where: description };
      const entry = { [`${account.namespace}.${account.serviceAccount}`]: String(uid) };
      const outcome = current
        ? await this.api.replaceConfigMap({ ...current, data: { ...current.data, ...entry } })
        : await this.api.createConfigMap({
            apiVersion: 'v1',
            kind: 'ConfigMap',
            metadata: { namespace: this.where.namespace, name },
            data: entry,
          });
      if (outcome === 'done') {
        this.log(`recorded uid ${uid} for ${key} in ${description}`);
        return { uid, recorded: true, records: new Map([...records, [key, uid]]), where: description };
      }
      // Another node wrote first: read its record and choose again, after a short random pause.
      await new Promise((resolve) => setTimeout(resolve, Math.random() * 10 * attempt));
    }
    throw new IdentityError(
      'unavailable',
      `could not record a uid for ${key} in ${description}: ${MAX_ATTEMPTS} conflicting updates in a row`,
    );
  }

  private mapName(namespace: string): string {
    return `${this.where.name}-${namespace}`;
  }

  /** The maps' records together; an account recorded twice keeps its first record. */
  private combine(parts: readonly RecordsRead[]): RecordsRead {
    const records = new Map<string, number>();
    const where = new Map<string, string>();
    const broken = new Map<string, string>();
    for (const part of parts) {
      for (const [key, uid] of part.records) {
        if (records.has(key)) continue;
        records.set(key, uid);
        where.set(key, part.where.get(key)!);
      }
      for (const [key, problem] of part.broken) broken.set(key, problem);
    }
    return { records, where, broken };
  }

  /**
   * The records of one map. An entry that is no record is logged and refuses only its own account (listed in
   * `broken`); a namespace's map holds only that namespace's accounts (`namespace`; undefined: the shared map).
   */
  private parse(configMap: V1ConfigMap | undefined, name: string, namespace: string | undefined): RecordsRead {
    const records = new Map<string, number>();
    const where = new Map<string, string>();
    const broken = new Map<string, string>();
    const description = `configmap ${this.where.namespace}/${name}`;
    for (const [entry, value] of Object.entries(configMap?.data ?? {})) {
      const dot = entry.indexOf('.');
      const key = dot > 0 && dot < entry.length - 1 ? `${entry.slice(0, dot)}/${entry.slice(dot + 1)}` : undefined;
      let problem: string | undefined;
      if (!key || !/^[1-9]\d*$/.test(value)) {
        problem = `${description}: entry ${entry}: ${JSON.stringify(value)} is not <namespace>.<serviceaccount>: "<uid>"; an admin must fix it`;
      } else if (namespace !== undefined && entry.slice(0, dot) !== namespace) {
        problem = `${description}: entry ${entry} is not of namespace ${namespace}, whose records this map holds; an admin must move it`;
      }
      if (problem) {
        this.log(`ignored a record: ${problem}`);
        if (key) broken.set(key, problem);
        continue;
      }
      records.set(key!, Number(value));
      where.set(key!, description);
    }
    return { records, where, broken };
  }
}
