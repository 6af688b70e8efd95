// `kidfs node` and `kidfs controller`: the two long-running CSI processes. Their flags follow CSI drivers'
// conventions (--endpoint, --nodeid). The work loads on use (./node-command.ts, ./controller-command.ts): it
// brings gRPC and the Kubernetes client, start-up time every other kidfs command would pay.
import { Option, type Command } from 'commander';
import { isAbsolute, normalize } from 'node:path';
import { parseDuration } from '../config/index.ts';
import { type NfsUrl, parseNfsUrl } from '../nfs/index.ts';
import { DEFAULT_CONTROL_SOCKET } from '../control-socket/index.ts';
import { DEFAULT_KUBELET_DIR } from '../node/index.ts';
import { configOption } from './config-option.ts';
import type { ControllerFlags, NodeFlags } from './daemon-flags.ts';
import { metricsOption } from './metrics-option.ts';

/** The CSI driver name kidfs registers under (CSIDriver metadata.name, StorageClass provisioner). */
export const DEFAULT_DRIVER_NAME = 'kidfs.io';
export const DEFAULT_ENDPOINT = 'unix:///csi/csi.sock';

function absoluteDir(value: string): string {
  if (!isAbsolute(value) || normalize(value) !== value || (value.length > 1 && value.endsWith('/'))) {
    throw new Error(`${JSON.stringify(value)} is not a normalized absolute directory`);
  }
  return value;
}

/** A uid or gid flag: 0 is allowed here (the provisioner acts as root on its export). */
function id(kind: string): (value: string) => number {
  return (value) => {
    const n = /^\d+$/.test(value) ? Number(value) : NaN;
    if (!(n >= 0 && n <= 4294967294)) throw new Error(`${kind} ${JSON.stringify(value)} is not a number from 0 to 4294967294`);
    return n;
  };
}

export function registerDaemonCommands(program: Command): void {
  program
    .command('node')
    .description('run the node daemon: CSI Identity and Node services for kubelet, the control socket for the CLI and FlexVolume')
    .addOption(configOption())
    .option('--endpoint <unix:///path>', 'CSI endpoint', DEFAULT_ENDPOINT)
    .option('--nodeid <name>', "this node's Kubernetes name (default: [identity] node-name or $NODE_NAME)")
    .option('--driver-name <name>', "CSI driver name (the CSIDriver object's name)", DEFAULT_DRIVER_NAME)
    .option('--state-dir <dir>', 'where mount records are kept (must survive restarts of the daemon)', '/var/lib/kidfs')
    .option('--control-socket <path>', 'the root-only control socket', DEFAULT_CONTROL_SOCKET)
    .option(
      '--pod-export <nfs-url>',
      "an export that volumes defined in a pod's spec (CSI inline, FlexVolume) may use; repeat for more, the first is their default",
      (value: string, list: NfsUrl[]) => [...list, parseNfsUrl(value)],
      [] as NfsUrl[],
    )
    .addOption(
      new Option('--reconcile-interval <duration>', 'how often mounts that are down are tried again (0s: never)')
        .argParser(parseDuration)
        .default(30_000, '30s'),
    )
    .addOption(
      new Option(
        '--reverify-interval <duration>',
        'how often every live mount is checked again: a pod gone, an identity changed or an export no longer allowed ends it (0s: never)',
      )
        .argParser(parseDuration)
        .default(300_000, '5m'),
    )
    .option(
      '--kubelet-dir <dir>',
      "kubelet's root directory (kubelet --root-dir): a pod's mounts must be under <dir>/pods/<pod uid>/volumes/",
      absoluteDir,
      DEFAULT_KUBELET_DIR,
    )
    .option(
      '--provisioner-uid <uid>',
      "uid of the controller's provisioner: with root, the only owner allowed for directories on the way to a PersistentVolume",
      id('uid'),
      0,
    )
    .addOption(metricsOption())
    .action(async (flags: NodeFlags) => {
      const { runNode } = await import('./node-command.ts');
      await runNode(flags);
    });

  program
    .command('controller')
    .description("run the CSI controller: makes and removes a directory per volume on the StorageClass's export")
    .addOption(configOption())
    .option('--endpoint <unix:///path>', 'CSI endpoint', DEFAULT_ENDPOINT)
    .option('--driver-name <name>', "CSI driver name (the CSIDriver object's name)", DEFAULT_DRIVER_NAME)
    .option('--provisioner-uid <uid>', 'uid the provisioner acts as on the NFS server (the export must not squash it)', id('uid'), 0)
    .option('--provisioner-gid <gid>', 'its gid', id('gid'), 0)
    .addOption(metricsOption())
    .action(async (flags: ControllerFlags) => {
      const { runController } = await import('./controller-command.ts');
      await runController(flags);
    });
}
