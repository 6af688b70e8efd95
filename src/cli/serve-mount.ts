// The process behind one `kidfs mount`: resolves the identity, mounts, keeps a record for `kidfs unmount`, and serves
// until SIGTERM/SIGINT/SIGHUP (commit every open file, unmount, exit). A second signal unmounts without waiting for
// the server. An internal error unmounts too: the mount never outlives its process as a dead end that hangs callers.
import { type ListenAddress, loadConfig, parseNamespacedName } from '../config/index.ts';

import { KIDFS_FSTYPE, type KidfsMount, mountAt, MountHost } from '../mount/index.ts';

import { type Identity, IdentityResolver } from '../identity/index.ts';

import { parseNfsUrl } from '../nfs/index.ts';
import { processStartTime, recordPath, removeRecord, writeRecord } from './standalone-records.ts';
import { serveMountSocket } from './standalone-socket.ts';
import { standaloneTelemetry } from './standalone-telemetry.ts';

import { createLogger, lineLog } from '../log/index.ts';

export interface MountRequest {
  readonly url: string;
  /** Absolute. */
  readonly target: string;
  /** `<namespace>/<serviceaccount>` */
  readonly identity: string;
  /** Path of the kidfs INI file, absolute. */
  readonly config: string;
  /** Read-only whatever [mount] read-only says. */
  readonly readOnly: boolean;
  /** Serve metrics here ([metrics] listen otherwise; off when neither). */
  readonly metricsListen?: ListenAddress;
}

/** How often the process checks that its mount is still in the mount table (someone may umount it). */
const MOUNT_CHECK_MS = 5000;

/** The process's log; once the mount's identity is known, its records carry it (standaloneTelemetry). */
let log = lineLog(createLogger('mount'));

/** After this long without the server's answers, the person waiting is told what for. */
const PATIENCE_MS = 5000;

/**
 * Mounts; calls `ready` with the one line to show once the mount is usable, `waiting` with a line saying what it waits
 * for when the server is slow to answer; resolves with the exit code when the mount ends.
 */
export async function serveMount(request: MountRequest, ready: (line: string) => void, waiting: (line: string) => void): Promise<number> {
  const config = loadConfig(request.config);
  const url = parseNfsUrl(request.url);
  const identity = await new IdentityResolver(config, { log: () => {} }).resolveServiceAccount(parseAccount(request.identity));
  const existing = await mountAt(request.target);
  if (existing) {
    throw new Error(
      `${request.target} is already a mount point (${existing.fstype} ${existing.source}): unmount it first or choose another directory`,
    );
  }

  const telemetry = standaloneTelemetry({
    config,
    url: request.url,
    target: request.target,
    account: request.identity,
    identity,
    metricsListen: request.metricsListen,
  });
  log = telemetry.log;
  const lifetime = new Lifetime();
  const readOnly = request.readOnly || config.mount.readOnly;
  const patience = setTimeout(
    () =>
      waiting(
        `waiting for the NFS server ${url.host} to answer (mounting ${request.url}): no answer after ${PATIENCE_MS / 1000} s; ` +
          `each call gives up after ${config.mount.nfsTimeoutMs / 1000} s ([mount] nfs-timeout)`,
      ),
    PATIENCE_MS,
  );
  // This process serves this one mount: its memory budget is the smaller of the two [mount] gives.
  const host = new MountHost(config.mount, { shareConnections: false, ...(telemetry.rpcStats ? { rpcStats: telemetry.rpcStats } : {}) });
  const mount = await host
    .open({
      mountpoint: request.target,
      export: url,
      subDir: '',
      identity,
      readOnly,
      log,
      observe: telemetry.observe,
    })
    .catch((err: Error) => {
      telemetry.audit('refusal', { reason: err.message });
      throw err;
    })
    .finally(() => clearTimeout(patience));
  try {
    if (lifetime.reason) throw new Error(`stopped by ${lifetime.reason} before the mount was ready`);
    await writeRecord({
      target: request.target,
      pid: process.pid,
      startTime: processStartTime(process.pid) ?? '',
      url: request.url,
      identity: request.identity,
      uid: identity.uid,
      gid: identity.gid,
      groups: identity.groups,
      readOnly,
      startedAt: new Date().toISOString(),
    }).catch((err: Error) => {
      throw new Error(`cannot write the mount record ${recordPath(request.target)}: ${err.message}`);
    });
    const metrics = await telemetry.serving(mount.fs);
    if (metrics) log(`serving metrics on http://${metrics.host}:${metrics.port}/metrics`);
  } catch (err) {
    await mount.commitAndUnmount({ force: true }).catch(() => undefined);
    await telemetry.close();
    throw err;
  }

  lifetime.mount = mount;
  const socket = await serveMountSocket(request.target, {
    use: () => ({ openFiles: mount.fs.openFiles, openForWriting: mount.fs.openForWriting, bytesHeld: mount.fs.bytesHeld }),
    unmount: () => lifetime.end('kidfs unmount'),
  });
  telemetry.audit('mount', { readOnly });
  ready(readyLine(request, identity, readOnly));
  // Unmounted from outside (umount -l): once no file is open any more, nothing can reach this process again.
  const watch = setInterval(() => {
    void stillMounted(request.target).then((mounted) => {
      if (!mounted && mount.fs.openFiles === 0) lifetime.end(VANISHED);
    });
  }, MOUNT_CHECK_MS);
  const reason = await lifetime.ended;
  clearInterval(watch);
  await socket.close();
  const code = await shutdown(mount, reason, lifetime);
  telemetry.audit('unmount', { reason });
  await telemetry.close();
  await removeRecord(request.target, process.pid);
  return code;
}

const VANISHED = 'an unmount from outside';

async function shutdown(mount: KidfsMount, reason: string, lifetime: Lifetime): Promise<number> {
  let code: number;
  if (reason === VANISHED) {
    log('unmounted from outside, and no file is open any more: exiting');
    await mount.close();
    code = 0;
  } else {
    log(`${reason}: committing open files and unmounting`);
    const clean = mount.commitAndUnmount({ force: lifetime.forced }).then(
      () => (lifetime.forced ? 1 : 0),
      (err: Error) => {
        log(`some data may not be on the server: ${err.message}`);
        return 1;
      },
    );
    code = await Promise.race([clean, lifetime.forceClosed.then(() => 1)]);
  }
  log(statsLine(mount));
  return code;
}

function parseAccount(text: string) {
  try {
    const { namespace, name } = parseNamespacedName(text, 'serviceaccount');
    return { namespace, serviceAccount: name };
  } catch (err) {
    throw new Error(`--identity: ${(err as Error).message}: write --identity <namespace>/<serviceaccount>`);
  }
}

function readyLine(request: MountRequest, identity: Identity, readOnly: boolean): string {
  const groups = identity.groups.length ? identity.groups.join(',') : 'none';
  return (
    `mounted ${request.url} on ${request.target} as ${request.identity} (uid ${identity.uid} gid ${identity.gid} groups ${groups})` +
    (readOnly ? ' read-only' : '')
  );
}

async function stillMounted(target: string): Promise<boolean> {
  const entry = await mountAt(target).catch(() => undefined);
  return entry?.fstype === KIDFS_FSTYPE;
}

function statsLine(mount: KidfsMount): string {
  const stats = mount.fs.stats;
  const ops = Object.values(stats.ops).reduce((a, b) => a + b, 0);
  const errors =
    Object.entries(stats.errors)
      .map(([code, n]) => `${code} ${n}`)
      .join(', ') || 'none';
  return (
    `served ${ops} operations (errors: ${errors}); read ${stats.bytesRead} bytes in ${stats.readRpcs} READs; ` +
    `wrote ${stats.bytesWritten} bytes in ${stats.writeRpcs} WRITEs, ${stats.commits} COMMITs, ` +
    `${stats.replayedChunks} chunks sent again after a server restart`
  );
}

/** What ends the mount: signals (a second one forces the unmount) and internal errors, caught from the start. */
class Lifetime {
  reason?: string;
  forced = false;
  mount?: KidfsMount;
  readonly ended: Promise<string>;
  /** Resolves when a forced unmount, overtaking a clean one that waits for the server, is done. */
  readonly forceClosed: Promise<void>;
  private resolveEnded!: (reason: string) => void;
  private resolveForceClosed!: () => void;

  constructor() {
    this.ended = new Promise((resolve) => (this.resolveEnded = resolve));
    this.forceClosed = new Promise((resolve) => (this.resolveForceClosed = resolve));
    for (const signal of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) process.on(signal, () => this.end(signal));
    const fatal = (err: unknown) => {
      log(`internal error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
      this.forced = true;
      this.end('an internal error');
    };
    process.on('uncaughtException', fatal);
    process.on('unhandledRejection', fatal);
  }

  end(reason: string): void {
    if (this.reason === undefined) {
      this.reason = reason;
      this.resolveEnded(reason);
    } else if (this.mount && !this.forced) {
      this.forced = true;
      log(`${reason} again: unmounting without waiting for the server to commit open files`);
      void this.mount
        .commitAndUnmount({ force: true })
        .catch(() => undefined)
        .then(this.resolveForceClosed);
    }
  }
}
