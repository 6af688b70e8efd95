// Portmapper (RFC 1833, PMAP version 2) GETPORT over TCP: which port serves a program/version.
import { RpcClient } from './rpc-client.ts';
import { RpcError, RpcProtocolError } from './rpc-errors.ts';
import { programName } from './rpc-names.ts';

export const PORTMAP_PORT = 111;
const PMAP_PROGRAM = 100000;
const PMAP_VERSION = 2;
const PMAPPROC_GETPORT = 3;
const IPPROTO_TCP = 6;

/** The portmapper answered, but has no TCP registration for the program and version asked for. */
export class ProgramNotRegisteredError extends RpcError {
  override name = 'ProgramNotRegisteredError';
  readonly code = 'RPC_PROGRAM_NOT_REGISTERED';
}

/** The TCP port of `program` `version` on `host`, asked of its portmapper (port 111). */
export async function getPort(host: string, program: number, version: number, options: { timeoutMs?: number } = {}): Promise<number> {
  const client = new RpcClient({ host, port: PORTMAP_PORT, timeoutMs: options.timeoutMs ?? 10_000 });
  try {
    const results = await client.call(PMAP_PROGRAM, PMAP_VERSION, PMAPPROC_GETPORT, null, (w) => {
      w.uint32(program).uint32(version).uint32(IPPROTO_TCP).uint32(0);
    });
    let port: number;
    try {
      port = results.uint32();
    } catch (err) {
      throw new RpcProtocolError(`the portmapper on ${client.server} sent a GETPORT reply without a port: ${(err as Error).message}`, {
        cause: err,
      });
    }
    if (port === 0) {
      throw new ProgramNotRegisteredError(
        `no ${programName(program)} v${version} service registered with the portmapper on ${client.server}` +
          ' (over TCP): is the server running, or does it need an explicit port?',
      );
    }
    if (port > 65535) throw new RpcProtocolError(`the portmapper on ${client.server} answered port ${port}, which is not a TCP port`);
    return port;
  } finally {
    await client.close();
  }
}
