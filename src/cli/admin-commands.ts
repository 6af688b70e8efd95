// `kidfs identity` and `kidfs passwd`: what admins ask kidfs about identities.
import type { Command } from 'commander';
import { configOption } from './config-option.ts';

// The commands load on use, so that other kidfs commands do not load src/identity (nor, with source = kubernetes, the
// Kubernetes client, which src/identity/kube-api.ts loads at the first API request).

export function registerAdminCommands(program: Command): void {
  program
    .command('identity')
    .description('print the identity a service account would get on NFS, and where it comes from')
    .argument('<namespace/serviceaccount>')
    .addOption(configOption())
    .action(async (account: string, options: { config: string }) => {
      const { identityCommand } = await import('./identity-command.ts');
      await identityCommand({ config: options.config, account }, process.stdout);
    });

  program
    .command('passwd')
    .description('print passwd(5) and group(5) lines for every identity kidfs knows, for the NFS server')
    .addOption(configOption())
    .option('--only <passwd|group>', 'print only the passwd lines, or only the group lines')
    .action(async (options: { config: string; only?: string }) => {
      if (options.only !== undefined && options.only !== 'passwd' && options.only !== 'group') {
        throw new Error(`--only must be "passwd" or "group", not "${options.only}"`);
      }
      const { passwdCommand } = await import('./passwd-command.ts');
      const { problems } = await passwdCommand({ config: options.config, only: options.only }, process.stdout, process.stderr);
      if (problems > 0) process.exitCode = 1;
    });
}
