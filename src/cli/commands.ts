// Every subcommand of `kidfs`, each defined in a module of its own.
import type { Command } from 'commander';
import { registerAdminCommands } from './admin-commands.ts';
import { registerMountCommand } from './mount-command.ts';
import { registerUnmountCommand } from './unmount-command.ts';
import { registerDaemonCommands } from './daemon-commands.ts';
import { registerDoctorCommand } from './doctor-command.ts';
import { registerFlexVolumeCommand } from './flexvolume-command.ts';
import { registerStatusCommand } from './status-command.ts';

export function registerCommands(program: Command): void {
  registerAdminCommands(program);
  registerMountCommand(program);
  registerUnmountCommand(program);
  registerDaemonCommands(program);
  registerStatusCommand(program);
  registerFlexVolumeCommand(program);
  registerDoctorCommand(program);
}
