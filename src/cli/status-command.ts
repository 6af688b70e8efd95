// `kidfs status`: the node's kidfs mounts, with pod, identity, export and state, asked of the node daemon.
import type { Command } from 'commander';
import { controlRequest, DEFAULT_CONTROL_SOCKET } from '../node/control/control-client.ts';
import type { NodeStatus } from '../node/control/control-protocol.ts';

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
  });
  return `${out.join('\n')}\n`;
}
