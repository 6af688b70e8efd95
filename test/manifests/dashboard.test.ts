// The Grafana dashboard in native-config/ is built on metrics kidfs serves: every kidfs_* name in its queries is one
// the node daemon, a mount or the controller registers (histograms with their _bucket/_sum/_count series).
import t from 'tap';
import { readFileSync } from 'node:fs';
import { countingAudit, registerMountStates, timedLookups } from '../../src/metrics/daemon-metrics.ts';
import { MountMetrics } from '../../src/metrics/mount-metrics.ts';
import { createRegistry } from '../../src/metrics/registry.ts';
import { registerRpcMetrics } from '../../src/metrics/rpc-metrics.ts';
import { NO_AUDIT } from '../../src/log/audit.ts';
import { RpcStats } from '../../src/nfs/rpc-stats.ts';

type Json = Record<string, any>;

const dashboard = JSON.parse(readFileSync(new URL('../../native-config/kidfs-grafana-dashboard.json', import.meta.url), 'utf8')) as Json;

function servedNames(): Set<string> {
  const registry = createRegistry();
  new MountMetrics(registry);
  registerRpcMetrics(registry, new RpcStats());
  countingAudit(NO_AUDIT, registry);
  registerMountStates(registry, async () => []);
  timedLookups(registry);
  const names = new Set<string>();
  for (const metric of registry.getMetricsAsArray()) {
    const { name, type } = metric as unknown as { name: string; type: string };
    names.add(name);
    if (type === 'histogram') for (const suffix of ['_bucket', '_sum', '_count']) names.add(`${name}${suffix}`);
  }
  return names;
}

t.test('every metric the dashboard queries is served', async (t) => {
  const served = servedNames();
  const exprs: string[] = dashboard['panels'].flatMap((p: Json) => (p['targets'] ?? []).map((target: Json) => target['expr'] as string));
  const queried = new Set(
    [...exprs, ...dashboard['templating'].list.map((v: Json) => v['query'] as string)].flatMap((e) => e.match(/\bkidfs_\w+/g) ?? []),
  );
  t.ok(queried.size >= 20, `${queried.size} metrics queried`);
  for (const name of queried) t.ok(served.has(name), `${name} is served`);
  t.ok(exprs.length > 15);
  const ids = dashboard['panels'].map((p: Json) => p['id']);
  t.equal(new Set(ids).size, ids.length, 'panel ids are unique');
});
