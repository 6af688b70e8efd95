// A node daemon for tests: real CSI gRPC and control sockets in a temporary directory, the real identity
// resolver against the loopback Kubernetes API server (node node-a; namespaces cms and shop with uid ranges),
// and a RecordingMounter in place of FUSE. Everything is stopped and removed in teardown.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { KidfsConfig } from '../../src/config/load-config.ts';
import { IdentityResolver } from '../../src/identity/identity-resolver.ts';
import type { NfsUrl } from '../../src/nfs/nfs-url.ts';
import { resolverIdentitySource } from '../../src/node/identity-source.ts';
import { NodeDaemon } from '../../src/node/node-daemon.ts';
import { connectCsi, type CsiClient } from './csi-client.ts';
import { FakeKubeApi } from './fake-kube-api.ts';
import { kubernetesConfig, makeTempDir } from './kidfs-test-config.ts';
import { RecordingMounter } from './recording-mounter.ts';

interface Teardown {
  teardown(fn: () => unknown): void;
}

export interface TestPod {
  readonly namespace: string;
  readonly name: string;
  readonly uid: string;
  readonly serviceAccount: string;
}

export interface NodeFixtureOptions {
  readonly podExports?: readonly NfsUrl[];
  /** The daemon's reconcile interval (default 0: tests call recover() themselves). */
  readonly reconcileIntervalMs?: number;
}

export class NodeFixture {
  readonly log: string[] = [];
  mounter = new RecordingMounter();
  daemon!: NodeDaemon;
  csi!: CsiClient;
  private podCount = 0;

  private constructor(
    readonly api: FakeKubeApi,
    readonly dir: string,
    readonly config: KidfsConfig,
    private readonly options: NodeFixtureOptions,
  ) {}

  static async start(t: Teardown, options: NodeFixtureOptions = {}): Promise<NodeFixture> {
    const api = new FakeKubeApi();
    await api.start();
    const dir = makeTempDir('kidfs-node-test-');
    t.teardown(async () => {
      await api.stop();
      dir.remove();
    });
    api.addNamespace('kidfs');
    api.addNamespace('cms', { 'kidfs.io/uid-range': '200000/1000' });
    api.addNamespace('shop', { 'kidfs.io/uid-range': '300000/1000' });
    for (const [namespace, name] of [['cms', 'editor'], ['cms', 'viewer'], ['shop', 'api']] as const) api.addServiceAccount(namespace, name);
    const fixture = new NodeFixture(api, dir.path, kubernetesConfig(api, dir.path, { nodeName: 'node-a' }), options);
    await fixture.startDaemon();
    t.teardown(() => fixture.stop());
    return fixture;
  }

  get endpoint(): string {
    return `unix://${join(this.dir, 'csi', 'csi.sock')}`;
  }

  get controlSocket(): string {
    return join(this.dir, 'run', 'control.sock');
  }

  get stateDir(): string {
    return join(this.dir, 'state');
  }

  /** A running pod on node-a. */
  pod(serviceAccount: 'editor' | 'viewer' | 'api' = 'editor', overrides: { nodeName?: string; phase?: 'Succeeded' } = {}): TestPod {
    const namespace = serviceAccount === 'api' ? 'shop' : 'cms';
    const name = `${serviceAccount}-${++this.podCount}`;
    const uid = this.api.addPod({ namespace, name, serviceAccount, nodeName: overrides.nodeName ?? 'node-a', ...(overrides.phase ? { phase: overrides.phase } : {}) });
    return { namespace, name, uid, serviceAccount };
  }

  /** A bound token for the pod and kidfs's audience, as kubelet requests it. */
  token(pod: TestPod, audiences: readonly string[] = ['kidfs'], lifetimeMs?: number): string {
    return this.api.issueToken(pod, audiences, lifetimeMs);
  }

  /** kubelet's target path for a CSI volume of the pod: its parent exists, the target does not. */
  target(pod: TestPod, volume = 'shared'): string {
    const parent = join(this.dir, 'kubelet', 'pods', pod.uid, 'volumes', 'kubernetes.io~csi', volume);
    mkdirSync(parent, { recursive: true });
    return join(parent, 'mount');
  }

  /**
   * Stops the daemon as a crash would leave things (records stay, the mounter's mounts are gone) and starts
   * a new one on the same state directory and sockets, with a fresh mounter.
   */
  async restart(): Promise<void> {
    await this.stop();
    this.mounter = new RecordingMounter();
    await this.startDaemon();
  }

  async stop(): Promise<void> {
    this.csi?.close();
    await this.daemon?.stop();
  }

  private async startDaemon(): Promise<void> {
    const source = resolverIdentitySource(new IdentityResolver(this.config, { log: (line) => this.log.push(`identity: ${line}`) }));
    this.daemon = await NodeDaemon.start({
      endpoint: this.endpoint, nodeId: 'node-a', driverName: 'kidfs.io', stateDir: this.stateDir, controlSocket: this.controlSocket,
      podExports: this.options.podExports ?? [], tokenAudience: 'kidfs', mounter: this.mounter,
      identities: source, reconcileIntervalMs: this.options.reconcileIntervalMs ?? 0, log: (line) => this.log.push(line),
    });
    this.csi = connectCsi(this.daemon.csiSocket);
  }
}

/** What kubelet sends in NodePublishVolume for a PV with server/share/subDir attributes, mounted by `pod`. */
export function publishRequest(pod: TestPod, target: string, options: {
  volumeId?: string; token?: string; tokenExpires?: Date; readonly?: boolean; context?: Record<string, string>; secrets?: Record<string, string>;
  mode?: string; mountFlags?: string[];
} = {}): object {
  const expirationTimestamp = (options.tokenExpires ?? new Date(Date.now() + 3_600_000)).toISOString();
  const tokens = options.token === undefined ? {} : {
    'csi.storage.k8s.io/serviceAccount.tokens': JSON.stringify({ kidfs: { token: options.token, expirationTimestamp } }),
  };
  return {
    volume_id: options.volumeId ?? 'nfs://127.0.0.1/exports/shared#cms#retain',
    target_path: target,
    volume_capability: { mount: { fs_type: '', mount_flags: options.mountFlags ?? [] }, access_mode: { mode: options.mode ?? 'MULTI_NODE_MULTI_WRITER' } },
    readonly: options.readonly ?? false,
    secrets: options.secrets ?? {},
    volume_context: {
      server: '127.0.0.1', share: '/exports/shared', subDir: 'cms',
      'csi.storage.k8s.io/pod.name': pod.name,
      'csi.storage.k8s.io/pod.namespace': pod.namespace,
      'csi.storage.k8s.io/pod.uid': pod.uid,
      'csi.storage.k8s.io/serviceAccount.name': pod.serviceAccount,
      'csi.storage.k8s.io/ephemeral': 'false',
      ...tokens,
      ...options.context,
    },
  };
}
