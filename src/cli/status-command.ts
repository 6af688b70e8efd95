// `kidfs status`: the node's kidfs mounts, with pod, identity, export and state, asked of the node daemon; and the
// standalone `kidfs mount`s of this machine, from their records (the only ones listed when no daemon runs).
import type { Command } from 'commander';
import { controlRequest, DEFAULT_CONTROL_SOCKET, type NodeStatus } from '../control-socket/index.ts';

import type { MountUsage } from '../mount/index.ts';
import { NodeError } from '../csi/index.ts';
import { standaloneMounts, type StandaloneMount } from './standalone-mounts.ts';

export function registerStatusCommand(program: Command): void {
  program
    .command('status')
    .description("list this node's kidfs mounts (pod, identity, export, state) and standalone kidfs mounts")
    .option('--control-socket <path>', "the node daemon's control socket", DEFAULT_CONTROL_SOCKET)
    .option('--json', 'print JSON for tools instead of a table')
    .action(async (flags: { controlSocket: string; json?: boolean }) => {
      let node: NodeStatus | undefined;
      let noDaemon: NodeError | undefined;
      try {
        node = (await controlRequest(flags.controlSocket, { op: 'status' }))!;
      } catch (err) {
        if (!(err instanceof NodeError && err.code === 'UNAVAILABLE')) throw err;
        noDaemon = err;
      }
      const standalone = await standaloneMounts();
      if (noDaemon && standalone.length === 0) throw noDaemon;
      if (flags.json) {
        process.stdout.write(`${JSON.stringify({ ...node, standalone }, null, 2)}\n`);
        return;
      }
      const parts = [node ? statusTable(node) : `no node daemon: ${noDaemon!.message}\n`];
      if (standalone.length > 0) parts.push(standaloneTable(standalone));
      process.stdout.write(parts.join('\n'));
    });
}

/** Columns padded to their widest cell; the last one is not padded. */
function columns(header: string[], rows: string[][]): (cells: string[]) => string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  return (cells) => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!))).join('  ');
}

const plural = (n: number, what: string) => `${n} ${what}${n === 1 ? '' : 's'}`;

/** Aligned columns, one mount per line, and the reason under a mount that is down. */
export function statusTable(status: NodeStatus): string {
  if (status.mounts.length === 0) return `node ${status.node}: no kidfs mounts\n`;
  const rows = status.mounts.map((m) => [
    m.pod ? `${m.pod.namespace}/${m.pod.name}` : '-',
    `${m.identity.name} ${m.identity.uid}:${m.identity.gid}${m.identity.groups.length ? `:${m.identity.groups.join(',')}` : ''}`,
    `${m.export}${m.subDir ? ` ${m.subDir}` : ''}${m.readOnly ? ' (ro)' : ''}`,
    m.state,
    m.target,
  ]);
  const header = ['POD', 'IDENTITY', 'EXPORT', 'STATE', 'TARGET'];
  const line = columns(header, rows);
  const out = [`node ${status.node}: ${plural(status.mounts.length, 'kidfs mount')}`, line(header)];
  status.mounts.forEach((m, i) => {
    out.push(line(rows[i]!));
    if (m.problem) out.push(`  problem: ${m.problem}`);
    if (m.usage) out.push(`  ${usageLine(m.usage)}`);
  });
  return `${out.join('\n')}\n`;
}

const mib = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MiB`;

/** memory: held of its share (the most held), how often writers waited; qos: the rates and how long calls waited. */
function usageLine(u: MountUsage): string {
  const memory =
    `memory: ${mib(u.memoryBytes)} of ${mib(u.memoryLimitBytes)} (most ${mib(u.memoryHighWaterBytes)}), ` +
    `${u.memoryWaits} waits for memory, ${u.readAheadSkipped} read-ahead blocks skipped, ${u.openFiles} open files`;
  if (!u.qos) return `${memory}; qos: none`;
  const rates = [u.qos.bytesPerSecond && `${mib(u.qos.bytesPerSecond)}/s`, u.qos.opsPerSecond && `${u.qos.opsPerSecond} ops/s`]
    .filter(Boolean)
    .join(', ');
  return `${memory}; qos: ${rates} for the identity, ${u.qos.waits} calls throttled for ${(u.qos.waitedMs / 1000).toFixed(1)} s`;
}

/** Standalone mounts: identity, export, state, open files and bytes of written data not yet committed. */
export function standaloneTable(mounts: readonly StandaloneMount[]): string {
  const rows = mounts.map((m) => [
    `${m.identity.account} ${m.identity.uid}:${m.identity.gid}${m.identity.groups.length ? `:${m.identity.groups.join(',')}` : ''}`,
    `${m.export}${m.readOnly ? ' (ro)' : ''}`,
    m.state,
    m.use ? `${m.use.openFiles} (${m.use.openForWriting} w)` : '-',
    m.use ? String(m.use.bytesHeld) : '-',
    String(m.pid),
    m.target,
  ]);
  const header = ['IDENTITY', 'EXPORT', 'STATE', 'OPEN', 'HELD BYTES', 'PID', 'TARGET'];
  const line = columns(header, rows);
  return `${[`${plural(mounts.length, 'standalone kidfs mount')}`, line(header), ...rows.map(line)].join('\n')}\n`;
}
