// `kidfs status`: the node's kidfs mounts, with pod, identity, export and state, asked of the node daemon.
import type { Command } from 'commander';
import { controlRequest, DEFAULT_CONTROL_SOCKET } from '../node/control/control-client.ts';
import type { NodeStatus } from '../node/control/control-protocol.ts';
import type { MountUsage } from '../node/mounter.ts';

export function registerStatusCommand(program: Command): void {
  program.command('status')
    .description('list this node\'s kidfs mounts: pod, identity, export, state')
    .option('--control-socket <path>', 'the node daemon\'s control socket', DEFAULT_CONTROL_SOCKET)
    .option('--json', 'print JSON for tools instead of a table')
    .action(async (flags: { controlSocket: string; json?: boolean }) => {
      const status = (await controlRequest(flags.controlSocket, { op: 'status' }))!;
      process.stdout.write(flags.json ? `${JSON.stringify(status, null, 2)}\n` : statusTable(status));
    });
}

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
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!))).join('  ');
  const out = [`node ${status.node}: ${status.mounts.length} kidfs mount${status.mounts.length === 1 ? '' : 's'}`, line(header)];
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
  const memory = `memory: ${mib(u.memoryBytes)} of ${mib(u.memoryLimitBytes)} (most ${mib(u.memoryHighWaterBytes)}), ` +
    `${u.memoryWaits} waits for memory, ${u.readAheadSkipped} read-ahead blocks skipped, ${u.openFiles} open files`;
  if (!u.qos) return `${memory}; qos: none`;
  const rates = [u.qos.bytesPerSecond && `${mib(u.qos.bytesPerSecond)}/s`, u.qos.opsPerSecond && `${u.qos.opsPerSecond} ops/s`].filter(Boolean).join(', ');
  return `${memory}; qos: ${rates} for the identity, ${u.qos.waits} calls throttled for ${(u.qos.waitedMs / 1000).toFixed(1)} s`;
}
