// The daemons' own series. Publishes, refusals and volumes are counted from the audit records as they are made (one
// source of truth for "what happened"); mounts by state are read at each scrape; identity look-ups are timed around
// the resolver (their time is mostly the API server's).
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { Audit, AuditEvent, AuditFields } from '../log/index.ts';

/** An Audit that also counts what it records: publishes by outcome, refusals by reason, volumes by outcome. */
export function countingAudit(audit: Audit, registry: Registry): Audit {
  const registers = [registry];
  const publishes = new Counter({
    name: 'kidfs_publishes_total',
    help: 'mount requests served, by outcome',
    labelNames: ['outcome'],
    registers,
  });
  const refusals = new Counter({
    name: 'kidfs_publish_refusals_total',
    help: 'mount requests refused, by reason',
    labelNames: ['reason'],
    registers,
  });
  const recoveries = new Counter({
    name: 'kidfs_recoveries_total',
    help: 'recorded mounts brought back, cleaned up or failed at recovery',
    labelNames: ['outcome'],
    registers,
  });
  const volumes = new Counter({
    name: 'kidfs_volumes_total',
    help: 'CSI volumes created, deleted or refused',
    labelNames: ['outcome'],
    registers,
  });
  const count = (event: AuditEvent, fields: AuditFields) => {
    if (event === 'publish') publishes.inc({ outcome: String(fields['outcome']) });
    else if (event === 'refusal') refusals.inc({ reason: String(fields['code']) });
    else if (event === 'recovery') recoveries.inc({ outcome: String(fields['outcome']) });
    else if (event === 'cleanup') recoveries.inc({ outcome: 'cleaned' });
    else if (event === 'volume-created') volumes.inc({ outcome: 'created' });
    else if (event === 'volume-deleted') volumes.inc({ outcome: 'deleted' });
    else if (event === 'volume-refused') volumes.inc({ outcome: 'refused' });
  };
  return {
    record(event, fields) {
      count(event, fields);
      audit.record(event, fields);
    },
    denials: (fields) => audit.denials(fields),
  };
}

/** kidfs_mounts{state}: the node's recorded mounts, mounted or not, read at each scrape. */
export function registerMountStates(registry: Registry, states: () => Promise<readonly { state: string }[]>): void {
  new Gauge({
    name: 'kidfs_mounts',
    help: "the node daemon's recorded mounts, by state",
    labelNames: ['state'],
    registers: [registry],
    async collect() {
      this.reset();
      this.set({ state: 'mounted' }, 0);
      this.set({ state: 'not mounted' }, 0);
      for (const { state } of await states()) this.inc({ state });
    },
  });
}

/** Wraps an identity look-up so that each is counted by result and timed. */
export function timedLookups(registry: Registry): <T>(lookup: () => Promise<T>) => Promise<T> {
  const lookups = new Counter({
    name: 'kidfs_identity_lookups_total',
    help: 'pod identity look-ups (API server and cache), by result',
    labelNames: ['result'],
    registers: [registry],
  });
  const duration = new Histogram({
    name: 'kidfs_identity_lookup_duration_seconds',
    help: "time to verify a pod and map its identity (mostly the API server's)",
    buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10],
    registers: [registry],
  });
  return async (lookup) => {
    const end = duration.startTimer();
    try {
      const result = await lookup();
      lookups.inc({ result: 'ok' });
      return result;
    } catch (err) {
      lookups.inc({ result: 'refused' });
      throw err;
    } finally {
      end();
    }
  };
}
