// source = kubernetes: a service account's identity from [static] or its namespace's uid range, with the
// uid recorded cluster-wide. Only admin-controlled objects are read for the mapping; a kidfs annotation on a
// ServiceAccount (which namespace users may edit) is refused, so nobody mistakes it for a way to choose a uid.
import type { KidfsConfig } from '../config/index.ts';
import { accountKey, IdentityError, type Identity, type ServiceAccountRef } from './identity.ts';
import type { KubeApi } from './kube-api.ts';
import { checkRecordedUid, pickFreeUid, rangeIdentity, staticIdentity } from './mapping-policy.ts';
import { rangeOf, readNamespaceRanges, type NamespaceRanges } from './namespace-ranges.ts';
import type { RecordsRead, UidAllocations } from './uid-allocations.ts';
import { formatRange, type UidRange } from './uid-range.ts';

export class KubernetesSource {
  constructor(
    private readonly config: KidfsConfig,
    private readonly api: KubeApi,
    private readonly allocations: UidAllocations,
  ) {}

  async identity(account: ServiceAccountRef, dryRun: boolean): Promise<Identity> {
    await this.checkServiceAccount(account);
    const ranges = await this.ranges();
    const entry = this.config.static.get(accountKey(account));
    if (entry) return staticIdentity(this.config, entry, ranges);
    const range = rangeOf(ranges, account.namespace, account.serviceAccount);
    const { uid, recorded, records, where } = await this.allocations.obtain(
      account,
      (current) => pickFreeUid(this.config, account, range, current),
      dryRun,
    );
    checkRecordedUid(this.config, account, range, uid, records, where);
    const source = `${this.rangeSource(account.namespace, range)}, uid ${
      recorded ? `recorded in ${where}` : `not recorded yet (the first mount records it in ${where})`
    }`;
    return rangeIdentity(this.config, account, range, uid, ranges, source);
  }

  /** Every namespace's range (one list, so overlaps are seen). */
  async ranges(): Promise<NamespaceRanges> {
    return readNamespaceRanges(await this.api.listNamespaces(), this.config.identity.uidRangeAnnotation, this.config.identity.minUid);
  }

  /** The records of every namespace that has a range annotation. */
  records(ranges: NamespaceRanges): Promise<RecordsRead> {
    return this.allocations.read([...ranges.valid.keys(), ...ranges.invalid.keys()]);
  }

  /** The identity of an account from its record, for listings (no look-up of the ServiceAccount itself). */
  recordedIdentity(account: ServiceAccountRef, uid: number, ranges: NamespaceRanges, read: RecordsRead): Identity {
    const range = rangeOf(ranges, account.namespace, account.serviceAccount);
    const where = read.where.get(accountKey(account))!;
    checkRecordedUid(this.config, account, range, uid, read.records, where);
    const source = `${this.rangeSource(account.namespace, range)}, uid recorded in ${where}`;
    return rangeIdentity(this.config, account, range, uid, ranges, source);
  }

  private rangeSource(namespace: string, range: UidRange): string {
    return `namespace ${namespace} uid range ${formatRange(range)} (annotation ${this.config.identity.uidRangeAnnotation})`;
  }

  private async checkServiceAccount(account: ServiceAccountRef): Promise<void> {
    const serviceAccount = await this.api.readServiceAccount(account.namespace, account.serviceAccount);
    if (!serviceAccount) {
      throw new IdentityError('refused', `${accountKey(account)}: serviceaccount not found in the API server`);
    }
    const rangeAnnotation = this.config.identity.uidRangeAnnotation;
    for (const [key, value] of Object.entries(serviceAccount.metadata?.annotations ?? {})) {
      if (key.startsWith('kidfs.io/') || key === rangeAnnotation) {
        throw new IdentityError(
          'refused',
          `${accountKey(account)}: serviceaccount annotation ${key}=${JSON.stringify(value)} is not allowed: ` +
            'identities are set only by cluster admins (namespace range, [static], [groups]); remove the annotation',
        );
      }
    }
  }
}
