// One RPC connection per server shared by every export and mount that talks to it; the last user closes it.
import { RpcClient } from './rpc-client.ts';
import type { RpcTransport } from './rpc-transport.ts';

export interface TransportTarget {
  readonly host: string;
  readonly port: number;
  /** Connect from a source port below 1024. */
  readonly privilegedPort: boolean;
}

/** Makes the connection to a target; injectable so tests and the node daemon can shape it. */
export type TransportFactory = (target: TransportTarget) => RpcTransport;

export interface TransportLease {
  readonly transport: RpcTransport;
  /** Gives the lease back (once; later calls do nothing); the transport closes when no lease is left. */
  release(): Promise<void>;
}

export const createRpcClient: TransportFactory = (target) => new RpcClient(target);

export class RpcConnectionPool {
  private readonly shared = new Map<string, { transport: RpcTransport; leases: number }>();

  constructor(private readonly createTransport: TransportFactory = createRpcClient) {}

  /** Connections open now. */
  get size(): number {
    return this.shared.size;
  }

  acquire(target: TransportTarget): TransportLease {
    const key = `${target.host}|${target.port}|${target.privilegedPort}`;
    let entry = this.shared.get(key);
    if (!entry) {
      entry = { transport: this.createTransport(target), leases: 0 };
      this.shared.set(key, entry);
    }
    entry.leases++;
    const held = entry;
    let released = false;
    return {
      transport: held.transport,
      release: async () => {
        if (released) return;
        released = true;
        if (--held.leases > 0) return;
        if (this.shared.get(key) === held) this.shared.delete(key);
        await held.transport.close();
      },
    };
  }
}
