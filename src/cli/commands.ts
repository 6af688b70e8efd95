// Every subcommand of `kidfs`, each defined in a module of its own.
import type { Command } from 'commander';
import { registerAdminCommands } from './admin-commands.ts';

export function registerCommands(program: Command): void {
  registerAdminCommands(program);
}
