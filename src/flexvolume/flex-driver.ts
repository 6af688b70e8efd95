// The FlexVolume driver kubelet runs (kubelet-plugins/volume/exec/kidfs.io~kidfs/kidfs): `init`,
// `mount <dir> <json>`, `unmount <dir>`; it answers with one JSON object on stdout. It holds no mount
// itself: mount and unmount are asked of the node daemon over its control socket.
import { controlRequest } from '../control-socket/index.ts';
import { asNodeError } from '../csi/index.ts';

export interface FlexAnswer {
  readonly status: 'Success' | 'Failure' | 'Not supported';
  readonly message?: string;
  readonly capabilities?: { readonly attach: boolean; readonly fsGroup: boolean; readonly selinuxRelabel: boolean };
}

/** kidfs needs no attach step; ownership and labels come from the NFS server, never from kubelet's chown/relabel. */
const CAPABILITIES = { attach: false, fsGroup: false, selinuxRelabel: false } as const;

export async function runFlexDriver(args: readonly string[], controlSocket: string): Promise<FlexAnswer> {
  const [operation, ...rest] = args;
  try {
    switch (operation) {
      case 'init':
        return { status: 'Success', capabilities: CAPABILITIES };
      case 'mount': {
        const [dir, json] = rest;
        if (!dir || json === undefined) return failure('usage: mount <mount dir> <json options>');
        let options: unknown;
        try {
          options = JSON.parse(json);
        } catch {
          return failure('the options argument is not JSON');
        }
        if (typeof options !== 'object' || options === null || Array.isArray(options))
          return failure('the options argument is not a JSON object');
        await controlRequest(controlSocket, { op: 'mount', target: dir, options: options as Record<string, string> });
        return { status: 'Success', message: `kidfs mounted ${dir}` };
      }
      case 'unmount': {
        const [dir] = rest;
        if (!dir) return failure('usage: unmount <mount dir>');
        await controlRequest(controlSocket, { op: 'unmount', target: dir });
        return { status: 'Success', message: `kidfs unmounted ${dir}` };
      }
      default:
        return { status: 'Not supported', message: `kidfs does not implement ${operation ?? '(no operation)'}` };
    }
  } catch (err) {
    const error = asNodeError(err);
    return failure(`${error.code}: ${error.message}`);
  }
}

const failure = (message: string): FlexAnswer => ({ status: 'Failure', message });
