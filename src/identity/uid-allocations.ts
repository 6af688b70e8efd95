// The uid of each range-mapped service account, recorded in one ConfigMap that every node reads and writes
// with optimistic concurrency: an update carries the resourceVersion it read, the API server answers
// 409 Conflict when another node wrote in between, and the loser reads again. So a service account gets
// one uid on every node, and a uid one service account, however nodes race. Entries read
// `<namespace>.<serviceaccount>: "<uid>"` (a namespace has no dot), e.g. `cms.editor: "200001"`.
import type { V1ConfigMap } from '@kubernetes/client-node';
import type { NamespacedName } from '../config/kube-names.ts';
import { accountKey, IdentityError, type ServiceAccountRef } from './identity.ts';
import type { KubeApi } from './kube-api.ts';

/** Recorded uids keyed by `<namespace>/<serviceaccount>`. */
export type UidRecords = ReadonlyMap<string, number>;

const MAX_ATTEMPTS = 30;

export class UidAllocations {
  /** This node's allocations, one at a time, so it does not race itself. */
  private queue: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly api: KubeApi,
    private readonly where: NamespacedName,
    private readonly log: (line: string) => void,
  ) {}

  get description(): string {
    return `configmap ${this.where.namespace}/${this.where.name}`;
  }

  async read(): Promise<UidRecords> {
    return this.parse(await this.api.readConfigMap(this.where.namespace, this.where.name));
  }

  /**
   * The recorded uid of `account`, or, when it has none, the uid `pick` chooses from the current records,
   * recorded before it is returned (`dryRun`: returned unrecorded). `pick` throws to refuse.
   */
  obtain(account: ServiceAccountRef, pick: (records: UidRecords) => number, dryRun = false): Promise<{ uid: number; recorded: boolean; records: UidRecords }> {
    const run = this.queue.then(() => this.obtainNow(account, pick, dryRun));
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async obtainNow(account: ServiceAccountRef, pick: (records: UidRecords) => number, dryRun: boolean) {
    const key = accountKey(account);
    for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
      const current = await this.api.readConfigMap(this.where.namespace, this.where.name);
      const records = this.parse(current);
      const existing = records.get(key);
      if (existing !== undefined) return { uid: existing, recorded: true, records };
      const uid = pick(records);
      if (dryRun) return { uid, recorded: false, records };
      const entry = { [`${account.namespace}.${account.serviceAccount}`]: String(uid) };
      const outcome = current
        ? await this.api.replaceConfigMap({ ...current, data: { ...current.data, ...entry } })
        : await this.api.createConfigMap({
          apiVersion: 'v1', kind: 'ConfigMap',
          metadata: { namespace: this.where.namespace, name: this.where.name },
          data: entry,
        });
      if (outcome === 'done') {
        this.log(`recorded uid ${uid} for ${key} in ${this.description}`);
        return { uid, recorded: true, records: new Map([...records, [key, uid]]) };
      }
      // Another node wrote first: read its record and choose again, after a short random pause.
      await new Promise((resolve) => setTimeout(resolve, Math.random() * 10 * attempt));
    }
    throw new IdentityError('unavailable', `could not record a uid for ${key} in ${this.description}: ${MAX_ATTEMPTS} conflicting updates in a row`);
  }

  private parse(configMap: V1ConfigMap | undefined): UidRecords {
    const records = new Map<string, number>();
    for (const [name, value] of Object.entries(configMap?.data ?? {})) {
      const dot = name.indexOf('.');
      if (dot <= 0 || dot === name.length - 1 || !/^[1-9]\d*$/.test(value)) {
        throw new IdentityError('refused', `${this.description}: entry ${name}: ${JSON.stringify(value)} is not <namespace>.<serviceaccount>: "<uid>"; an admin must fix it`);
      }
      records.set(`${name.slice(0, dot)}/${name.slice(dot + 1)}`, Number(value));
    }
    return records;
  }
}
