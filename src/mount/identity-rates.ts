// QoS on a node: the mounts of one identity with the same limits share one pair of rates (bytes and operations per
// second), so an identity's pods together get what the admin set, each mount served in turn. A volume's own limits
// (PV / StorageClass) replace [mount]'s defaults field by field; 0 there means no limit.
import type { QosLimits } from '../config/index.ts';
import { QosShare, SharedRate } from '../fs/index.ts';

interface Rates {
  readonly bytes: SharedRate | undefined;
  readonly ops: SharedRate | undefined;
  mounts: number;
}

export interface QosLease {
  readonly share: QosShare;
  /** The mount is gone: rates nobody uses any more are dropped. */
  release(): void;
}

export class IdentityRates {
  private readonly rates = new Map<string, Rates>();

  constructor(private readonly defaults: QosLimits) {}

  /** A share of the rates of `identity` (its name) with the volume's limits; undefined when nothing limits it. */
  lease(identity: string, volume: Partial<QosLimits> = {}): QosLease | undefined {
    const limit = (wanted: number | undefined) => (wanted === 0 ? undefined : wanted);
    const bytesPerSecond = limit(volume.bytesPerSecond ?? this.defaults.bytesPerSecond);
    const opsPerSecond = limit(volume.opsPerSecond ?? this.defaults.opsPerSecond);
    if (bytesPerSecond === undefined && opsPerSecond === undefined) return undefined;
    const key = `${identity} ${bytesPerSecond ?? '-'} ${opsPerSecond ?? '-'}`;
    let rates = this.rates.get(key);
    if (!rates) {
      rates = {
        bytes: bytesPerSecond === undefined ? undefined : new SharedRate(bytesPerSecond),
        ops: opsPerSecond === undefined ? undefined : new SharedRate(opsPerSecond),
        mounts: 0,
      };
      this.rates.set(key, rates);
    }
    rates.mounts++;
    let released = false;
    return {
      share: new QosShare(rates.bytes, rates.ops),
      release: () => {
        if (released) return;
        released = true;
        if (--rates.mounts === 0) this.rates.delete(key);
      },
    };
  }
}
