// The node daemon as a node runs it: `kidfs node` in a process of its own (the test process serves no mount, so it
// may call into the mounts synchronously), serving real FUSE mounts of a loopback ganesha export, with real CSI gRPC
// and control sockets and the loopback Kubernetes API server. Teardown stops the daemon by pid and detaches
// (umount -l) every target this fixture handed out, also when a test failed.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { LoopbackNfs } from '../../scripts/loopback-nfs.ts';
import { controlRequest } from '../../src/control-socket/control-client.ts';
import type { NodeMountStatus } from '../../src/control-socket/control-protocol.ts';
import { connectCsi, type CsiClient } from './csi-client.ts';
import { KIDFS, kidfsEnv, run, USER_1000 } from './kidfs-mount.ts';
import { makeTempDir } from './kidfs-test-config.ts';
import { flexTarget, kubeletTarget, publishRequest, type TestCluster, type TestPod } from './node-fixture.ts';

interface Teardown {
  teardown(fn: () => unknown): void;
}

export interface NodeProcessOptions {
  readonly cluster: TestCluster;
  /** The NFS server; its export is also the one pod-defined volumes (FlexVolume) may use. */
  readonly server: LoopbackNfs;
  /** [identity] cache-ttl (default 0s: every publish asks the API server). */
  readonly cacheTtl?: string;
  /** Lines for the [mount] section. */
  readonly mount?: readonly string[];
  /** More sections, after [mount] (e.g. [log], [metrics]). */
  readonly sections?: readonly string[];
}

/** The directory under the export that the tests' volume presents (subDir), mode 0777. */
export const VOLUME_DIR = 'cms';

export class NodeProcess {
  readonly dir: string;
  readonly config: string;
  csi!: CsiClient;
  private child: ChildProcess | undefined;
  private output = '';
  private readonly targets = new Set<string>();

  private constructor(
    private readonly options: NodeProcessOptions,
    t: Teardown,
  ) {
    const dir = makeTempDir('kidfs-node-process-');
    // Drivers run as uid 1000 must reach the targets below it.
    chmodSync(dir.path, 0o755);
    this.dir = dir.path;
    const api = options.cluster.api;
    this.config = join(this.dir, 'kidfs.ini');
    writeFileSync(
      this.config,
      [
        '[identity]',
        'source = kubernetes',
        'node-name = node-a',
        `cache-ttl = ${options.cacheTtl ?? '0s'}`,
        '[kubernetes]',
        `kubeconfig = ${api.writeKubeconfig(this.dir, api.addClient('*'))}`,
        'timeout = 5s',
        '[mount]',
        ...(options.mount ?? []),
        ...(options.sections ?? []),
        '',
      ].join('\n'),
    );
    // As a safe deployment has it: the export's root is root's and writable by no one else (PersistentVolumes
    // are reached only through such directories); the volume's own directory is open to every test user.
    chmodSync(options.server.dir, 0o755);
    mkdirSync(join(options.server.dir, VOLUME_DIR), { recursive: true, mode: 0o777 });
    chmodSync(join(options.server.dir, VOLUME_DIR), 0o777);
    t.teardown(async () => {
      this.csi?.close();
      await this.stop().catch(() => undefined);
      for (const target of this.targets) spawnSync('umount', ['-l', target]);
      if (!mounted(this.dir)) dir.remove();
    });
  }

  static async start(t: Teardown, options: NodeProcessOptions): Promise<NodeProcess> {
    const node = new NodeProcess(options, t);
    await node.startDaemon();
    return node;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** How the last daemon ended: its exit code, or the signal that killed it; null while it runs. */
  get exit(): number | NodeJS.Signals | null {
    return this.child?.exitCode ?? this.child?.signalCode ?? null;
  }

  get controlSocket(): string {
    return join(this.dir, 'run', 'control.sock');
  }

  /** Everything every daemon of this fixture wrote to stderr so far. */
  get log(): string {
    return this.output;
  }

  /** The export path on the server, and the backing directory of the tests' volume. */
  get volumeDir(): string {
    return join(this.options.server.dir, VOLUME_DIR);
  }

  /** kubelet's target for a CSI volume of the pod (detached in teardown). */
  target(pod: TestPod, volume = 'shared'): string {
    return this.track(kubeletTarget(this.dir, pod, volume));
  }

  /** kubelet's mount directory for the pod's FlexVolume (detached in teardown). */
  flexTarget(pod: TestPod): string {
    return this.track(flexTarget(this.dir, pod));
  }

  /** NodePublishVolume of the tests' volume (a PV: server, share, subDir cms, the server's ports as mount options). */
  publishRequest(pod: TestPod, target: string, options: Parameters<typeof publishRequest>[2] = {}): object {
    const { server } = this.options;
    return publishRequest(pod, target, {
      volumeId: `volume-${VOLUME_DIR}`,
      mountFlags: [`port=${server.nfsPort}`, `mountport=${server.mountPort}`],
      ...options,
      context: { server: '127.0.0.1', share: server.dir, subDir: VOLUME_DIR, ...options.context },
    });
  }

  /** Publishes the tests' volume for `pod` with its bound token, as kubelet does; resolves with the target. */
  async publish(pod: TestPod, volume = 'shared'): Promise<string> {
    const target = this.target(pod, volume);
    await this.csi.call('Node', 'NodePublishVolume', this.publishRequest(pod, target, { token: this.options.cluster.token(pod) }));
    return target;
  }

  /** The daemon's own account of the mount at `target` (kidfs status over the control socket). */
  async status(target: string): Promise<NodeMountStatus | undefined> {
    const answer = (await controlRequest(this.controlSocket, { op: 'status' })) as { mounts: readonly NodeMountStatus[] };
    return answer.mounts.find((m) => m.target === target);
  }

  /** The owner, on the server's backing directory, of a file that uid 1000 creates in the mount at `target` now. */
  ownerOfNewFile(target: string, name: string): number {
    const result = run(USER_1000, target, `echo ${name} > ${name}`);
    if (result.status !== 0) throw new Error(`writing ${name} in ${target} failed: ${result.stderr}`);
    return statSync(join(this.volumeDir, name)).uid;
  }

  async unpublish(target: string): Promise<void> {
    await this.csi.call('Node', 'NodeUnpublishVolume', { volume_id: `volume-${VOLUME_DIR}`, target_path: target });
  }

  /** SIGKILL: the daemon dies as in a crash; its mounts are left dead (ENOTCONN). */
  async kill(): Promise<void> {
    await this.signal('SIGKILL', 10_000);
  }

  /** SIGTERM (commit, stop), SIGKILL after 10 s. */
  async stop(): Promise<void> {
    if (!(await this.signal('SIGTERM', 10_000))) await this.kill();
  }

  /** Starts a daemon again on the same state directory and sockets; resolves once it has recovered. */
  async startDaemon(): Promise<void> {
    const { server } = this.options;
    const child = spawn(
      KIDFS,
      [
        'node',
        '--config',
        this.config,
        '--endpoint',
        `unix://${join(this.dir, 'csi', 'csi.sock')}`,
        '--nodeid',
        'node-a',
        '--state-dir',
        join(this.dir, 'state'),
        '--control-socket',
        this.controlSocket,
        '--reconcile-interval',
        '0s',
        '--kubelet-dir',
        join(this.dir, 'kubelet'),
        '--pod-export',
        `nfs://127.0.0.1${server.dir}?nfsport=${server.nfsPort}&mountport=${server.mountPort}`,
      ],
      { stdio: ['ignore', 'ignore', 'pipe'], env: kidfsEnv() },
    );
    this.child = child;
    await new Promise<void>((resolve, reject) => {
      const seen = this.output.length;
      child.stderr!.on('data', (chunk: Buffer) => {
        this.output += chunk.toString();
        if (/"component":"node".*"msg":"ready: /.test(this.output.slice(seen))) resolve();
      });
      child.once('exit', (code, signal) =>
        reject(new Error(`kidfs node exited (${code ?? signal}) before it was ready: ${this.output.slice(seen).trim()}`)),
      );
    });
    this.csi?.close();
    this.csi = connectCsi(join(this.dir, 'csi', 'csi.sock'));
  }

  private track(target: string): string {
    this.targets.add(target);
    return target;
  }

  /** Sends `signal`; resolves whether the daemon exited within `timeoutMs`. */
  private async signal(signal: NodeJS.Signals, timeoutMs: number): Promise<boolean> {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return true;
    const exited = new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => resolve(false), timeoutMs);
      child.once('exit', () => {
        clearTimeout(timer);
        resolve(true);
      });
    });
    child.kill(signal);
    return exited;
  }
}

/** Whether anything is still mounted below `dir`. */
const mounted = (dir: string): boolean => readFileSync('/proc/self/mountinfo', 'utf8').includes(` ${dir}/`);
