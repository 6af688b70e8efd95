// What a standalone `kidfs mount` tells operators: its log (pino, with the mount's identity, export and target on every
// record), its audit records (mount, unmount, permission denials) and, when asked for, its metrics on /metrics.
import type { KidfsConfig, ListenAddress } from '../config/index.ts';

import type { OpOutcome } from '../mount/index.ts';
import type { NfsFileSystem } from '../fs/index.ts';
import type { Identity } from '../identity/index.ts';
import { type AuditEvent, type AuditFields, createAudit, createLogger, lineLog } from '../log/index.ts';

import {
  createRegistry,
  type MetricsServer,
  MountMetrics,
  type MountTracker,
  registerRpcMetrics,
  startMetricsServer,
} from '../metrics/index.ts';

import { RpcStats } from '../nfs/index.ts';

export interface StandaloneTelemetry {
  readonly log: (line: string) => void;
  /** Counts its traffic when metrics are served. */
  readonly rpcStats?: RpcStats;
  readonly observe: (outcome: OpOutcome) => void;
  /** Starts the per-mount series (and the metrics endpoint) once the file system exists; resolves with where it listens. */
  serving(fs: NfsFileSystem): Promise<ListenAddress | undefined>;
  audit(event: AuditEvent, fields?: AuditFields): void;
  /** Records the denials left out, removes the series, stops the endpoint. */
  close(): Promise<void>;
}

export interface StandaloneTelemetryRequest {
  readonly config: KidfsConfig;
  readonly url: string;
  readonly target: string;
  /** `<namespace>/<serviceaccount>` */
  readonly account: string;
  readonly identity: Identity;
  readonly metricsListen: ListenAddress | undefined;
}

export function standaloneTelemetry(request: StandaloneTelemetryRequest): StandaloneTelemetry {
  const { config, identity } = request;
  const [namespace = '', serviceAccount = ''] = request.account.split('/');
  const fields: AuditFields = {
    target: request.target,
    export: request.url,
    identity: { account: request.account, name: identity.name, uid: identity.uid, gid: identity.gid, groups: identity.groups },
  };
  const logger = createLogger('mount', config.log).child(fields);
  const audit = createAudit('mount', config.log);
  const denials = audit.denials(fields);
  const listen = request.metricsListen ?? config.metrics.listen;
  const registry = listen && createRegistry();
  const rpcStats = registry ? new RpcStats() : undefined;
  if (registry && rpcStats) registerRpcMetrics(registry, rpcStats);
  const metrics = registry ? new MountMetrics(registry) : undefined;
  let tracker: MountTracker | undefined;
  let server: MetricsServer | undefined;
  return {
    log: lineLog(logger),
    ...(rpcStats ? { rpcStats } : {}),
    observe(outcome) {
      tracker?.observe(outcome);
      if (outcome.deniedByServer) denials.denied(outcome.op, outcome.path, outcome.errno!);
    },
    async serving(fs) {
      if (!listen || !registry || !metrics) return undefined;
      tracker = metrics.track(
        { namespace, pod: '', service_account: serviceAccount, uid: String(identity.uid), volume: request.target },
        fs,
      );
      server = await startMetricsServer(listen, registry);
      return server.address;
    },
    audit: (event, extra = {}) => audit.record(event, { ...fields, ...extra }),
    async close() {
      denials.close();
      tracker?.close();
      await server?.stop();
    },
  };
}
