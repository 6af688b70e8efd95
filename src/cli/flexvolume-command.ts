// `kidfs flexvolume <operation> [args...]`: the FlexVolume driver kubelet runs (through the wrapper
// scripts/kidfs-flexvolume). It prints exactly one JSON answer on stdout and nothing on stderr (kubelet
// reads both as the answer). The daemon's control socket: $KIDFS_CONTROL_SOCKET, else the default.
import type { Command } from 'commander';
import { DEFAULT_CONTROL_SOCKET } from '../control-socket/index.ts';
import { runFlexDriver } from '../flexvolume/index.ts';

export function registerFlexVolumeCommand(program: Command): void {
  program
    .command('flexvolume')
    .description('the FlexVolume driver: init | mount <dir> <json> | unmount <dir>, answered in JSON')
    .argument('<operation>')
    .argument('[args...]')
    .allowUnknownOption()
    .helpOption(false) // kubelet's arguments are never options: --help only as the operation, below
    .action(async (operation: string, args: string[], _options: unknown, command: Command) => {
      // A person asking, not kubelet (which never passes it): usage on stdout, not a FlexVolume answer.
      if (operation === '--help' || operation === '-h') command.help();
      const answer = await runFlexDriver([operation, ...args], process.env['KIDFS_CONTROL_SOCKET'] || DEFAULT_CONTROL_SOCKET);
      process.stdout.write(`${JSON.stringify(answer)}\n`);
      process.exitCode = answer.status === 'Failure' ? 1 : 0;
    });
}
