// `kidfs mount <nfs-url> <target> --identity <namespace>/<serviceaccount>`: one line when the mount is ready; the
// mount is served in the background (a detached kidfs process) unless --foreground.
import { Option, type Command } from 'commander';
import { resolve } from 'node:path';
import { reportProgress, reportStatus, runDetached } from './background.ts';
import { configOption } from './config-option.ts';
import { metricsOption } from './metrics-option.ts';
import { formatListenAddress, type ListenAddress } from '../config/index.ts';
import { logPath, MOUNT_RECORD_DIR } from './standalone-records.ts';
import type { MountRequest } from './serve-mount.ts';

interface MountOptions {
  identity: string;
  config: string;
  readOnly?: boolean;
  foreground?: boolean;
  metricsListen?: ListenAddress;
}

export function registerMountCommand(program: Command): void {
  program
    .command('mount')
    .description("mount an NFS export so that every process using it acts as one service account's identity on the server")
    .argument('<nfs-url>', 'nfs://host[:port]/path[?nfsport=N&mountport=M]')
    .argument('<target>', 'the directory to mount on')
    .addOption(new Option('--identity <namespace/serviceaccount>', 'whose identity the mount acts as').makeOptionMandatory())
    .addOption(configOption())
    .option('--read-only', 'refuse every change (EROFS)')
    .addOption(metricsOption())
    .option(
      '--foreground',
      `serve the mount in this process until SIGTERM or SIGINT (default: in the background, logging to ${MOUNT_RECORD_DIR}/<target>.log)`,
    )
    .action(async (url: string, target: string, options: MountOptions) => {
      const request: MountRequest = {
        url,
        target: resolve(target),
        identity: options.identity,
        config: resolve(options.config),
        readOnly: options.readOnly ?? false,
        ...(options.metricsListen ? { metricsListen: options.metricsListen } : {}),
      };
      if (!options.foreground) {
        process.stdout.write(`${await runDetached(foregroundArgs(request), logPath(request.target))}\n`);
        return;
      }
      // Loaded only here: the parent of a background mount needs none of the ~60 modules that serve a mount.
      const { serveMount } = await import('./serve-mount.ts');
      let code: number;
      try {
        code = await serveMount(
          request,
          (line) => {
            process.stdout.write(`${line}\n`);
            reportStatus('ready', line);
          },
          (line) => {
            process.stderr.write(`kidfs: ${line}\n`);
            reportProgress(line);
          },
        );
      } catch (err) {
        reportStatus('error', (err as Error).message);
        throw err;
      }
      process.exit(code);
    });
}

function foregroundArgs(request: MountRequest): string[] {
  return [
    'mount',
    request.url,
    request.target,
    '--identity',
    request.identity,
    '--config',
    request.config,
    ...(request.readOnly ? ['--read-only'] : []),
    ...(request.metricsListen ? ['--metrics-listen', formatListenAddress(request.metricsListen)] : []),
    '--foreground',
  ];
}
