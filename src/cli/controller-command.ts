// `kidfs controller`: starts the CSI controller with the provisioner's credential, serves until SIGTERM.
import { loadConfig } from '../config/load-config.ts';
import { IdentityResolver } from '../identity/identity-resolver.ts';
import { ControllerDaemon } from '../node/controller-daemon.ts';
import { waitForStopSignal, type ControllerFlags } from './daemon-commands.ts';

export async function runController(flags: ControllerFlags): Promise<void> {
  const config = loadConfig(flags.config);
  const resolver = new IdentityResolver(config);
  const daemon = await ControllerDaemon.start({
    endpoint: flags.endpoint, driverName: flags.driverName,
    credential: { uid: flags.provisionerUid, gid: flags.provisionerGid, gids: [] }, privilegedPort: config.mount.privilegedPort,
    ownerIdentity: (account) => resolver.resolveServiceAccount(account), groups: config.groups,
  });
  await waitForStopSignal();
  await daemon.stop();
}
