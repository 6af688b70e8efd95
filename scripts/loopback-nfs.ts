// A loopback NFSv3 server (nfs-ganesha, FSAL_VFS) for the tests, the benchmark and the demo.
// It serves one fresh directory on 127.0.0.1 and stops exactly the processes it started, by pid.
//
// As a command:  node --import tsx scripts/loopback-nfs.ts [--dir D] [--nfs-port N] [--mount-port M]
//                [--squash none|root|all] [--privileged-port]
// serves until SIGINT/SIGTERM and prints the export URL once it is ready.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, mkdirSync, writeFileSync, existsSync, rmSync, readFileSync } from 'node:fs';
import { createConnection, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

export type Squash = 'none' | 'root' | 'all';

export interface LoopbackNfsOptions {
  /** Directory to export; a fresh temporary one by default. */
  dir?: string;
  nfsPort?: number;
  mountPort?: number;
  squash?: Squash;
  /** Anonymous ids for squashed callers (ganesha's default is 4294967294). */
  anonUid?: number;
  anonGid?: number;
  /** Require a source port below 1024 for NFS calls. */
  privilegedPort?: boolean;
  /** Changing it makes handles from an earlier start STALE. */
  exportId?: number;
  /** Let the server resolve the caller's groups itself, ignoring the credential's list. */
  manageGids?: boolean;
}

export interface LoopbackNfs {
  readonly dir: string;
  readonly nfsPort: number;
  readonly mountPort: number;
  /**
   * `nfs://127.0.0.1/DIR?nfsport=N&mountport=M`: explicit ports, so several servers can share one portmapper;
   * libnfs (nfs-cp) understands the same form.
   */
  readonly url: string;
  readonly pid: number;
  /** SIGKILL the server (no clean shutdown), leaving the directory. */
  kill(): Promise<void>;
  /** Start the server again on the same ports and directory, with a new boot time (new write verifier). */
  restart(): Promise<void>;
  /** Stop the server and remove its temporary files (and the export directory, when it made it). */
  stop(): Promise<void>;
}

const GANESHA = '/usr/bin/ganesha.nfsd';
const RPCBIND = '/usr/sbin/rpcbind';

let rpcbindChild: ChildProcess | undefined;
let rpcbindUsers = 0;

/**
 * What this process started and has not stopped yet, ended by pid when it exits: a test file that fails before its
 * teardown (a throw at the top level) must not leave ganesha or rpcbind running. (A process killed by a signal
 * runs no exit handler.)
 */
const leftAtExit = new Map<ChildProcess, () => void>();
process.on('exit', () => {
  for (const [child, cleanUp] of leftAtExit) {
    child.kill('SIGKILL');
    cleanUp();
  }
});

function spawnStoppedAtExit(command: string, args: string[], cleanUp: () => void = () => undefined): ChildProcess {
  const child = spawn(command, args, { stdio: 'ignore' });
  leftAtExit.set(child, cleanUp);
  child.once('exit', () => leftAtExit.delete(child));
  return child;
}

function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

async function waitFor(what: string, check: () => Promise<boolean>, timeoutMs: number, alive?: () => boolean) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    if (alive && !alive()) throw new Error(`${what}: the process exited during start-up`);
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`${what}: not ready after ${timeoutMs} ms`);
}

/** Starts rpcbind if nothing listens on 111; stopped again when the last server of this process stops. */
async function acquireRpcbind(): Promise<void> {
  rpcbindUsers++;
  if (rpcbindChild || (await portOpen(111))) return;
  if (!existsSync(RPCBIND)) throw new Error(`${RPCBIND} is missing: run scripts/setup.sh (apt-get install rpcbind)`);
  mkdirSync('/run/rpcbind', { recursive: true });
  const child = spawnStoppedAtExit(RPCBIND, ['-f', '-w']);
  rpcbindChild = child;
  child.once('exit', () => {
    if (rpcbindChild === child) rpcbindChild = undefined;
  });
  await waitFor(
    'rpcbind',
    () => portOpen(111),
    5000,
    () => child.exitCode === null,
  );
}

async function releaseRpcbind(): Promise<void> {
  rpcbindUsers--;
  if (rpcbindUsers > 0 || !rpcbindChild) return;
  await stopChild(rpcbindChild, 'SIGTERM');
}

function stopChild(child: ChildProcess, signal: NodeJS.Signals): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const force = setTimeout(() => child.kill('SIGKILL'), 5000);
    child.once('exit', () => {
      clearTimeout(force);
      resolve();
    });
    child.kill(signal);
  });
}

/** A TCP port nobody listens on right now (the kernel picks it), other than those in `taken`. */
export async function freePort(taken: readonly number[] = []): Promise<number> {
  // The kernel may hand out a port it just handed out (it was closed again), so one picked for a
  // server that has not started yet is passed in `taken`.
  for (;;) {
    const port = await anyFreePort();
    if (!taken.includes(port)) return port;
  }
}

function anyFreePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

function ganeshaConfig(o: Required<Omit<LoopbackNfsOptions, 'anonUid' | 'anonGid'>> & LoopbackNfsOptions): string {
  const squash = { none: 'No_Root_Squash', root: 'Root_Squash', all: 'All_Squash' }[o.squash];
  const anon = [
    o.anonUid === undefined ? '' : `Anonymous_uid = ${o.anonUid};`,
    o.anonGid === undefined ? '' : `Anonymous_gid = ${o.anonGid};`,
  ].join(' ');
  return `
NFS_CORE_PARAM {
  Enable_UDP = false;
  Bind_addr = 127.0.0.1;
  NFS_Port = ${o.nfsPort};
  MNT_Port = ${o.mountPort};
  NLM_Port = 0;
  Rquota_Port = 0;
  Enable_NLM = false;
  Enable_RQUOTA = false;
  Protocols = 3;
}
NFSv4 { Graceless = true; }
EXPORT {
  Export_Id = ${o.exportId};
  Path = "${o.dir}";
  Pseudo = "${o.dir}";
  Protocols = 3;
  Transports = TCP;
  Access_Type = RW;
  Squash = ${squash};
  ${anon}
  SecType = sys, none;
  PrivilegedPort = ${o.privilegedPort};
  Manage_Gids = ${o.manageGids};
  Attr_Expiration_Time = 0;
  FSAL { Name = VFS; }
}
LOG { Default_Log_Level = EVENT; }
`;
}

export async function startLoopbackNfs(options: LoopbackNfsOptions = {}): Promise<LoopbackNfs> {
  if (!existsSync(GANESHA)) throw new Error(`${GANESHA} is missing: run scripts/setup.sh (apt-get install nfs-ganesha nfs-ganesha-vfs)`);
  const work = mkdtempSync(join(tmpdir(), 'kidfs-ganesha-'));
  const dir = options.dir ?? join(work, 'export');
  mkdirSync(dir, { recursive: true, mode: 0o777 });
  const nfsPort = options.nfsPort ?? (await freePort());
  const settings = {
    dir,
    nfsPort,
    mountPort: options.mountPort ?? (await freePort([nfsPort])),
    squash: options.squash ?? 'none',
    privilegedPort: options.privilegedPort ?? false,
    exportId: options.exportId ?? 1,
    manageGids: options.manageGids ?? false,
    anonUid: options.anonUid,
    anonGid: options.anonGid,
  };
  const configPath = join(work, 'ganesha.conf');
  writeFileSync(configPath, ganeshaConfig(settings));
  await acquireRpcbind();

  let child: ChildProcess;
  let epoch = Math.floor(Date.now() / 1000);
  const launch = async () => {
    // -E sets the boot epoch that ganesha's write verifier is made from: a restart always changes it.
    const args = ['-F', '-f', configPath, '-L', join(work, 'ganesha.log'), '-p', join(work, 'ganesha.pid'), '-E', String(epoch)];
    child = spawnStoppedAtExit(GANESHA, args, () => rmSync(work, { recursive: true, force: true }));
    const started = child;
    try {
      await waitFor(
        'nfs-ganesha',
        async () => (await portOpen(settings.nfsPort)) && (await portOpen(settings.mountPort)),
        20000,
        () => started.exitCode === null && started.signalCode === null,
      );
    } catch (err) {
      await stopChild(started, 'SIGKILL');
      const log = existsSync(join(work, 'ganesha.log'))
        ? readFileSync(join(work, 'ganesha.log'), 'utf8').trim().split('\n').slice(-5).join('\n')
        : '';
      throw new Error(`${(err as Error).message}; last log lines:\n${log}`);
    }
  };
  try {
    await launch();
  } catch (err) {
    await releaseRpcbind();
    rmSync(work, { recursive: true, force: true });
    throw err;
  }

  let stopped = false;
  const server: LoopbackNfs = {
    dir,
    nfsPort: settings.nfsPort,
    mountPort: settings.mountPort,
    url: `nfs://127.0.0.1${dir}?nfsport=${settings.nfsPort}&mountport=${settings.mountPort}`,
    get pid() {
      return child.pid ?? -1;
    },
    kill: () => stopChild(child, 'SIGKILL'),
    async restart() {
      await stopChild(child, 'SIGTERM');
      epoch = Math.max(epoch + 1, Math.floor(Date.now() / 1000));
      await launch();
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      await stopChild(child, 'SIGTERM');
      await releaseRpcbind();
      rmSync(work, { recursive: true, force: true });
    },
  };
  return server;
}

async function main(argv: string[]): Promise<void> {
  const options: LoopbackNfsOptions = {};
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    const value = () => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${flag} needs a value`);
      return v;
    };
    const port = () => {
      const v = Number(value());
      if (!Number.isInteger(v) || v < 1 || v > 65535) throw new Error(`${flag} must be a TCP port (1-65535)`);
      return v;
    };
    if (flag === '--dir') options.dir = value();
    else if (flag === '--nfs-port') options.nfsPort = port();
    else if (flag === '--mount-port') options.mountPort = port();
    else if (flag === '--squash') {
      const v = value();
      if (v !== 'none' && v !== 'root' && v !== 'all') throw new Error('--squash must be none, root or all');
      options.squash = v;
    } else if (flag === '--privileged-port') options.privilegedPort = true;
    else throw new Error(`unknown option ${flag} (see the comment at the top of scripts/loopback-nfs.ts)`);
  }
  const server = await startLoopbackNfs(options);
  console.log(`serving ${server.dir} at ${server.url} (ganesha pid ${server.pid}); Ctrl-C stops it`);
  const stop = () => void server.stop().then(() => process.exit(0));
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  main(process.argv.slice(2)).catch((err: Error) => {
    console.error(`loopback-nfs: ${err.message}`);
    process.exit(1);
  });
}
