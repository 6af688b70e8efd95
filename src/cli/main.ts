// The `kidfs` command: parses arguments and hands each subcommand to its module.
import { Command, CommanderError } from 'commander';
import { registerCommands } from './commands.ts';
import { KIDFS_VERSION } from '../version.ts';

const program = new Command('kidfs')
  .description("Per-pod FUSE mounts that act on shared NFS storage under each pod's cluster-wide identity")
  .version(KIDFS_VERSION, '-V, --version', "print kidfs's version")
  .showHelpAfterError('(run "kidfs --help" for usage)')
  .exitOverride();

registerCommands(program);

try {
  await program.parseAsync(process.argv);
} catch (err) {
  if (err instanceof CommanderError) process.exit(err.exitCode);
  console.error(`kidfs: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
}
