// A node daemon for tests: real CSI gRPC and control sockets in a temporary directory, the real identity
// resolver against the loopback Kubernetes API server (node node-a; namespaces cms and shop with uid ranges),
// and a RecordingMounter in place of FUSE. Everything is stopped and removed in teardown. Also what the tests of
// the real daemon process (node-process.ts) share with it: the cluster, kubelet's paths and requests.
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
  /** Lines for the daemon's [kubernetes] section. */
  readonly kubernetes?: string;
}

/**
 * The loopback Kubernetes API server of the node tests: node node-a, namespaces cms (uid range 200000/1000) and
 * shop (300000/1000), service accounts cms/editor, cms/viewer and shop/api; stopped in teardown.
 */
export class TestCluster {
  private podCount = 0;

  private constructor(readonly api: FakeKubeApi) {}

  static async start(t: Teardown): Promise<TestCluster> {
    const api = new FakeKubeApi();
    await api.start();
    t.teardown(() => api.stop());
    api.addNamespace('kidfs');
    api.addNamespace('cms', { 'kidfs.io/uid-range': '200000/1000' });
    api.addNamespace('shop', { 'kidfs.io/uid-range': '300000/1000' });
    for (const [namespace, name] of [
      ['cms', 'editor'],
      ['cms', 'viewer'],
      ['shop', 'api'],
    ] as const)
      api.addServiceAccount(namespace, name);
    return new TestCluster(api);
  }

  /** A running pod on node-a. */
  pod(serviceAccount: 'editor' | 'viewer' | 'api' = 'editor', overrides: { nodeName?: string; phase?: 'Succeeded' } = {}): TestPod {
    const namespace = serviceAccount === 'api' ? 'shop' : 'cms';
    const name = `${serviceAccount}-${++this.podCount}`;
    const uid = this.api.addPod({
      namespace,
      name,
      serviceAccount,
      nodeName: overrides.nodeName ?? 'node-a',
      ...(overrides.phase ? { phase: overrides.phase } : {}),
    });
    return { namespace, name, uid, serviceAccount };
  }

  /** A bound token for the pod and kidfs's audience, as kubelet requests it. */
  token(pod: TestPod, audiences: readonly string[] = ['kidfs'], lifetimeMs?: number): string {
    return this.api.issueToken(pod, audiences, lifetimeMs);
  }
}

/** kubelet's target path for a CSI volume of the pod under `dir`: its parent exists, the target does not. */
export function kubeletTarget(dir: string, pod: TestPod, volume = 'shared'): string {
  const parent = join(dir, 'kubelet', 'pods', pod.uid, 'volumes', 'kubernetes.io~csi', volume);
  mkdirSync(parent, { recursive: true });
  return join(parent, 'mount');
}

/** kubelet's mount directory for a FlexVolume `media` of the pod under `dir` (its parent exists). */
export function flexTarget(dir: string, pod: TestPod): string {
  const parent = join(dir, 'kubelet', 'pods', pod.uid, 'volumes', 'kidfs.io~kidfs');
  mkdirSync(parent, { recursive: true });
  return join(parent, 'media');
}

/** The options kubelet passes to a FlexVolume driver's `mount` for a volume `media` of `pod`, plus the volume's own. */
export const flexOptions = (pod: TestPod, own: Record<string, string> = {}, readwrite = 'rw'): string =>
  JSON.stringify({
    'kubernetes.io/fsType': '',
    'kubernetes.io/readwrite': readwrite,
    'kubernetes.io/pvOrVolumeName': 'media',
    'kubernetes.io/pod.name': pod.name,
    'kubernetes.io/pod.namespace': pod.namespace,
    'kubernetes.io/pod.uid': pod.uid,
    'kubernetes.io/serviceAccount.name': pod.serviceAccount,
    ...own,
  });

export class NodeFixture {
  readonly log: string[] = [];
  mounter = new RecordingMounter();
  daemon!: NodeDaemon;
  csi!: CsiClient;

  private constructor(
    readonly cluster: TestCluster,
    readonly dir: string,
    readonly config: KidfsConfig,
    private options: NodeFixtureOptions,
  ) {}

  static async start(t: Teardown, options: NodeFixtureOptions = {}): Promise<NodeFixture> {
    const cluster = await TestCluster.start(t);
    const dir = makeTempDir('kidfs-node-test-');
    t.teardown(() => dir.remove());
    const fixture = new NodeFixture(
      cluster,
      dir.path,
      kubernetesConfig(cluster.api, dir.path, { nodeName: 'node-a', ...(options.kubernetes ? { kubernetes: options.kubernetes } : {}) }),
      options,
    );
    await fixture.startDaemon();
    t.teardown(() => fixture.stop());
    return fixture;
  }

  get api(): FakeKubeApi {
    return this.cluster.api;
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

  pod(serviceAccount: 'editor' | 'viewer' | 'api' = 'editor', overrides: { nodeName?: string; phase?: 'Succeeded' } = {}): TestPod {
    return this.cluster.pod(serviceAccount, overrides);
  }

  token(pod: TestPod, audiences: readonly string[] = ['kidfs'], lifetimeMs?: number): string {
    return this.cluster.token(pod, audiences, lifetimeMs);
  }

  target(pod: TestPod, volume = 'shared'): string {
    return kubeletTarget(this.dir, pod, volume);
  }

  /**
   * Stops the daemon as a crash would leave things (records stay, the mounter's mounts are gone) and starts
   * a new one on the same state directory and sockets, with a fresh mounter (and `options` changed).
   */
  async restart(options: NodeFixtureOptions = {}): Promise<void> {
    this.options = { ...this.options, ...options };
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
      endpoint: this.endpoint,
      nodeId: 'node-a',
      driverName: 'kidfs.io',
      stateDir: this.stateDir,
      controlSocket: this.controlSocket,
      podExports: this.options.podExports ?? [],
      tokenAudience: 'kidfs',
      requireToken: this.config.kubernetes.requireToken,
      kubeletDir: join(this.dir, 'kubelet'),
      provisionerUid: 0,
      mounter: this.mounter,
      identities: source,
      reconcileIntervalMs: this.options.reconcileIntervalMs ?? 0,
      reverifyIntervalMs: 0,
      log: (line) => this.log.push(line),
    });
    this.csi = connectCsi(this.daemon.csiSocket);
  }
}

/** What kubelet sends in NodePublishVolume for a PV with server/share/subDir attributes, mounted by `pod`. */
export function publishRequest(
  pod: TestPod,
  target: string,
  options: {
    volumeId?: string;
    token?: string;
    tokenExpires?: Date;
    readonly?: boolean;
    context?: Record<string, string>;
    secrets?: Record<string, string>;
    mode?: string;
    mountFlags?: string[];
  } = {},
): object {
  const expirationTimestamp = (options.tokenExpires ?? new Date(Date.now() + 3_600_000)).toISOString();
  const tokens =
    options.token === undefined
      ? {}
      : {
          'csi.storage.k8s.io/serviceAccount.tokens': JSON.stringify({ kidfs: { token: options.token, expirationTimestamp } }),
        };
  return {
    volume_id: options.volumeId ?? 'nfs://127.0.0.1/exports/shared#cms#retain',
    target_path: target,
    volume_capability: {
      mount: { fs_type: '', mount_flags: options.mountFlags ?? [] },
      access_mode: { mode: options.mode ?? 'MULTI_NODE_MULTI_WRITER' },
    },
    readonly: options.readonly ?? false,
    secrets: options.secrets ?? {},
    volume_context: {
      server: '127.0.0.1',
      share: '/exports/shared',
      subDir: 'cms',
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
