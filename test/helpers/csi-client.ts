// A CSI client acting as kubelet or a sidecar: the same csi.proto over real gRPC on the daemon's unix socket.
import { credentials, type Client, type ServiceClientConstructor, type ServiceError } from '@grpc/grpc-js';
import { csiPackage } from '../../src/csi/csi-proto.ts';

export type CsiService = 'Identity' | 'Node' | 'Controller';

export interface CsiClient {
  call<T = Record<string, unknown>>(service: CsiService, method: string, request?: object): Promise<T>;
  /** The call's gRPC error (code and details); throws if the call succeeds. */
  error(service: CsiService, method: string, request?: object): Promise<ServiceError>;
  close(): void;
}

export function connectCsi(socketPath: string): CsiClient {
  const pkg = csiPackage();
  const clients = new Map<CsiService, Client>();
  const client = (service: CsiService): Client => {
    let made = clients.get(service);
    if (!made) {
      made = new (pkg[service] as ServiceClientConstructor)(`unix://${socketPath}`, credentials.createInsecure());
      clients.set(service, made);
    }
    return made;
  };
  const call = <T>(service: CsiService, method: string, request: object = {}) =>
    new Promise<T>((resolve, reject) => {
      const stub = client(service) as unknown as Record<string, (r: object, cb: (e: ServiceError | null, v: T) => void) => void>;
      stub[method]!.call(client(service), request, (err, value) => (err ? reject(err) : resolve(value)));
    });
  return {
    call,
    async error(service, method, request) {
      try {
        await call(service, method, request);
      } catch (err) {
        return err as ServiceError;
      }
      throw new Error(`${service}.${method} succeeded where a gRPC error was expected`);
    },
    close: () => {
      for (const made of clients.values()) made.close();
    },
  };
}
