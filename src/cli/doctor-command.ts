// `kidfs doctor <nfs-url>`: what an export lets processes on this node do, as findings, one a line:
// ok / warning / unknown. Exits 1 when there is a warning, so scripts and admission checks can act on it.
import type { Command } from 'commander';
import { loadConfig } from '../config/index.ts';
import { parseNfsUrl } from '../nfs/index.ts';
import { configOption } from './config-option.ts';

export function registerDoctorCommand(program: Command): void {
  program
    .command('doctor')
    .description(
      'check from this node that an export keeps tenants apart: root squashed, privileged ports required, its root writable only by root',
    )
    .argument('<nfs-url>', 'the export, as a volume names it: nfs://server/path[?nfsport=N&mountport=M]')
    .addOption(configOption())
    .action(async (url: string, options: { config: string }) => {
      const { examineExport } = await import('../mount/export-doctor.ts');
      const config = loadConfig(options.config);
      const findings = await examineExport(parseNfsUrl(url), {
        privilegedPort: config.mount.privilegedPort,
        timeoutMs: config.mount.nfsTimeoutMs,
      });
      for (const { level, text } of findings) process.stdout.write(`${level}: ${text}\n`);
      const warnings = findings.filter((f) => f.level === 'warning').length;
      process.stdout.write(warnings === 0 ? 'no warnings\n' : `${warnings} warning${warnings === 1 ? '' : 's'}\n`);
      if (warnings > 0) process.exitCode = 1;
    });
}
