// The manifests in native-config/ as a cluster would get them: every YAML document parses, and the fields that
// must agree with each other and with the code do (driver name, socket paths, token audience, RBAC verbs,
// daemon arguments as the real CLI parses them, StorageClass parameters as the controller reads them).
import t from 'tap';
import { execFile } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Command } from 'commander';
import { parseAllDocuments } from 'yaml';
import { DEFAULT_DRIVER_NAME, registerDaemonCommands } from '../../src/cli/daemon-commands.ts';
import type { ControllerFlags, NodeFlags } from '../../src/cli/daemon-flags.ts';
import { loadConfig } from '../../src/config/load-config.ts';
import { kubernetesSection } from '../../src/config/sections/kubernetes-section.ts';
import { readProvisionParameters } from '../../src/controller/provision-parameters.ts';
import { unixSocketPath } from '../../src/csi/endpoint.ts';
import { KIDFS_VERSION } from '../../src/version.ts';

// YAML objects are walked field by field; the assertions check their shape.
type Json = Record<string, any>;

const root = new URL('../..', import.meta.url).pathname;
const dir = join(root, 'native-config');
const files = readdirSync(dir)
  .filter((name) => name.endsWith('.yaml'))
  .sort();
const docs = new Map<string, Json[]>();
for (const file of files) {
  const parsed = parseAllDocuments(readFileSync(join(dir, file), 'utf8'));
  if (!Array.isArray(parsed)) throw new Error(`${file}: not a YAML stream`);
  docs.set(
    file,
    parsed.map((doc) => {
      if (doc.errors.length > 0) throw new Error(`${file}: ${doc.errors[0]!.message}`);
      return doc.toJS() as Json;
    }),
  );
}
const objects: (Json & { file: string })[] = [...docs.entries()]
  .filter(([file]) => file !== 'kustomization.yaml')
  .flatMap(([file, list]) => list.map((o) => ({ file, ...o })));
const find = (kind: string, name: string): Json => {
  const found = objects.find((o) => o['kind'] === kind && o['metadata']?.name === name);
  if (!found) throw new Error(`no ${kind} ${name} in native-config`);
  return found;
};
const config = loadConfig(join(dir, 'kidfs.ini'), {});
const daemonSet = find('DaemonSet', 'kidfs-node');
const deployment = find('Deployment', 'kidfs-controller');
const container = (workload: Json, name: string): Json => workload['spec'].template.spec.containers.find((c: Json) => c['name'] === name);
const volume = (workload: Json, name: string): Json => workload['spec'].template.spec.volumes.find((v: Json) => v['name'] === name);
const mountOf = (c: Json, path: string): Json | undefined => c['volumeMounts'].find((m: Json) => m['mountPath'] === path);
const flagOf = (c: Json, flag: string): string | undefined =>
  [...(c['args'] ?? [])].find((a: string) => a.startsWith(`${flag}=`))?.slice(flag.length + 1);

/** The container's args with $(VAR) expanded from its env, as kubelet does (fieldRefs become a stand-in). */
function expandedArgs(c: Json): string[] {
  const env = new Map<string, string>(
    (c['env'] ?? []).map((e: Json) => [e['name'], e['value'] ?? `<${e['valueFrom']?.fieldRef?.fieldPath}>`]),
  );
  return (c['args'] as string[]).map((arg) => arg.replace(/\$\((\w+)\)/g, (_, name: string) => env.get(name) ?? `$(${name})`));
}

/** Parses a kidfs container's command line with the real `kidfs` option parser. */
async function kidfsFlags<T>(c: Json): Promise<{ command: string; flags: T }> {
  if (JSON.stringify(c['command']) !== '["kidfs"]')
    throw new Error(`${c['name']} does not run the kidfs command: ${JSON.stringify(c['command'])}`);
  const program = new Command('kidfs').exitOverride();
  registerDaemonCommands(program);
  let parsed: { command: string; flags: T } | undefined;
  for (const command of program.commands) command.action((flags: T) => void (parsed = { command: command.name(), flags }));
  await program.parseAsync(expandedArgs(c), { from: 'user' });
  return parsed!;
}

t.test('every YAML document parses and names its kind and object', async (t) => {
  t.ok(files.length >= 8, `${files.length} files: ${files.join(', ')}`);
  for (const object of objects) {
    t.ok(
      object['apiVersion'] && object['kind'] && object['metadata']?.name,
      `${object.file}: ${object['kind']} ${object['metadata']?.name}`,
    );
  }
  const kustomization = docs.get('kustomization.yaml')![0]!;
  const listed = [...kustomization['resources']].sort();
  t.same(
    listed,
    files.filter((f) => f !== 'kustomization.yaml' && f !== 'tenant-networkpolicy.yaml' && !f.startsWith('example-')),
    'kustomization lists every manifest but the examples and the per-namespace NetworkPolicy',
  );
  t.same(
    kustomization['configMapGenerator'],
    [{ name: 'kidfs-config', namespace: 'kidfs', files: ['kidfs.ini'] }],
    'the config comes from kidfs.ini',
  );
  for (const object of objects.filter((o) => o.file !== 'example-cms.yaml' && o.file !== 'tenant-networkpolicy.yaml')) {
    const clusterScoped = ['Namespace', 'ClusterRole', 'ClusterRoleBinding', 'CSIDriver', 'StorageClass'].includes(object['kind']);
    t.equal(object['metadata'].namespace, clusterScoped ? undefined : 'kidfs', `${object['kind']} ${object['metadata'].name}: namespace`);
  }
});

t.test('one driver name everywhere', async (t) => {
  const driver = find('CSIDriver', DEFAULT_DRIVER_NAME);
  t.equal(driver['metadata'].name, 'kidfs.io');
  t.equal(find('StorageClass', 'kidfs')['provisioner'], DEFAULT_DRIVER_NAME, 'StorageClass provisioner');
  t.equal(
    flagOf(container(daemonSet, 'node-driver-registrar'), '--kubelet-registration-path'),
    `/var/lib/kubelet/plugins/${DEFAULT_DRIVER_NAME}/csi.sock`,
  );
  const node = await kidfsFlags<NodeFlags>(container(daemonSet, 'kidfs'));
  const controller = await kidfsFlags<ControllerFlags>(container(deployment, 'kidfs'));
  t.equal(node.flags.driverName, DEFAULT_DRIVER_NAME, 'the node daemon registers under it');
  t.equal(controller.flags.driverName, DEFAULT_DRIVER_NAME, 'the controller too');
});

t.test("CSIDriver: no attach, pod info, tokens for kidfs's audience, republish, no fsGroup", async (t) => {
  const spec = find('CSIDriver', DEFAULT_DRIVER_NAME)['spec'];
  t.match(spec, { attachRequired: false, podInfoOnMount: true, requiresRepublish: true, fsGroupPolicy: 'None' });
  const defaultAudience = kubernetesSection.parse(undefined, { file: 'x', dir: '/', env: {} }).tokenAudience;
  t.same(
    spec['tokenRequests'].map((r: Json) => r['audience']),
    [defaultAudience],
    'the audience is the config default',
  );
  t.equal(config.kubernetes.tokenAudience, defaultAudience, 'and kidfs.ini keeps it');
  t.ok(spec['tokenRequests'][0].expirationSeconds >= 600, 'a token lifetime Kubernetes accepts');
  t.same(spec['volumeLifecycleModes'], ['Persistent', 'Ephemeral']);
});

t.test('sockets: kubelet, the registrar, the probe and the daemon meet at the same paths', async (t) => {
  const kidfs = container(daemonSet, 'kidfs');
  const node = await kidfsFlags<NodeFlags>(kidfs);
  t.equal(node.command, 'node');
  const socket = unixSocketPath(node.flags.endpoint);
  t.equal(socket, '/csi/csi.sock');
  const socketVolume = mountOf(kidfs, '/csi')!['name'];
  for (const sidecar of ['node-driver-registrar', 'liveness-probe']) {
    const c = container(daemonSet, sidecar);
    t.equal(flagOf(c, '--csi-address'), socket, `${sidecar} dials the daemon's socket`);
    t.equal(mountOf(c, '/csi')?.['name'], socketVolume, `${sidecar} mounts the same volume there`);
  }
  t.equal(
    `${volume(daemonSet, socketVolume)['hostPath'].path}/csi.sock`,
    flagOf(container(daemonSet, 'node-driver-registrar'), '--kubelet-registration-path'),
    'kubelet finds the socket where the registrar says',
  );
  t.equal(mountOf(container(daemonSet, 'node-driver-registrar'), '/registration')?.['name'], 'registration-dir');
  t.equal(volume(daemonSet, 'registration-dir')['hostPath'].path, '/var/lib/kubelet/plugins_registry');

  const probePort = flagOf(container(daemonSet, 'liveness-probe'), '--http-endpoint')!.split(':')[1];
  t.equal(String(kidfs['ports'][0].containerPort), probePort, 'the liveness probe asks the livenessprobe sidecar');

  const controller = await kidfsFlags<ControllerFlags>(container(deployment, 'kidfs'));
  t.equal(controller.command, 'controller');
  const provisioner = container(deployment, 'csi-provisioner');
  const address = provisioner['env'].find((e: Json) => e['name'] === 'ADDRESS').value;
  t.equal(unixSocketPath(controller.flags.endpoint), address, "external-provisioner dials the controller's socket");
  t.equal(mountOf(provisioner, '/csi')?.['name'], mountOf(container(deployment, 'kidfs'), '/csi')?.['name']);
});

t.test('the node daemon: FUSE, Bidirectional propagation, state that survives, and nothing more privileged than needed', async (t) => {
  const kidfs = container(daemonSet, 'kidfs');
  const { flags } = await kidfsFlags<NodeFlags>(kidfs);
  t.equal(flags.nodeid, '<spec.nodeName>', '--nodeid comes from the downward API');
  t.equal(flags.config, '/etc/kidfs/kidfs.ini');
  t.equal(mountOf(kidfs, '/etc/kidfs')?.['name'], 'config');
  t.equal(volume(daemonSet, 'config')['configMap'].name, 'kidfs-config');
  t.same(volume(daemonSet, mountOf(kidfs, '/dev/fuse')!['name'])['hostPath'], { path: '/dev/fuse', type: 'CharDevice' });
  const pods = mountOf(kidfs, '/var/lib/kubelet/pods')!;
  t.equal(pods['mountPropagation'], 'Bidirectional', 'mounts reach kubelet and the pods');
  t.equal(volume(daemonSet, pods['name'])['hostPath'].path, '/var/lib/kubelet/pods');
  t.equal(volume(daemonSet, mountOf(kidfs, flags.stateDir)!['name'])['hostPath'].path, '/var/lib/kidfs', 'mount records on the host');
  const controlDir = mountOf(kidfs, '/run/kidfs')!;
  t.ok(flags.controlSocket.startsWith('/run/kidfs/'), 'the control socket is in a host directory');
  t.equal(
    volume(daemonSet, controlDir['name'])['hostPath'].path,
    '/run/kidfs',
    'where kidfs status and the FlexVolume driver on the host find it',
  );
  t.equal(kidfs['securityContext'].privileged, true, 'privileged: Bidirectional propagation requires it');
  for (const sidecar of ['node-driver-registrar', 'liveness-probe']) {
    const c = container(daemonSet, sidecar);
    t.match(c['securityContext'], { allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } }, `${sidecar} has no privileges`);
    t.notOk(
      c['volumeMounts'].some((m: Json) => m['mountPropagation']),
      `${sidecar} propagates no mounts`,
    );
  }
  t.equal(daemonSet['spec'].template.spec.serviceAccountName, 'kidfs-node');
  t.equal(kidfs['image'], `ghcr.io/kidfs/kidfs:${KIDFS_VERSION}`, 'the image of this version');
});

t.test('the node daemon and the controller serve metrics where their scrape annotations and PodMonitor say', async (t) => {
  const monitor = find('PodMonitor', 'kidfs');
  t.same(monitor['spec'].selector.matchLabels, { 'app.kubernetes.io/name': 'kidfs' });
  for (const workload of [daemonSet, deployment]) {
    const kidfs = container(workload, 'kidfs');
    const { flags } = await kidfsFlags<NodeFlags | ControllerFlags>(kidfs);
    const port = kidfs['ports'].find((p: Json) => p['name'] === monitor['spec'].podMetricsEndpoints[0].port)?.containerPort;
    t.equal(flags.metricsListen?.port, port, `${workload['metadata'].name}: --metrics-listen is the metrics port`);
    t.same(
      workload['spec'].template.metadata.annotations,
      {
        'prometheus.io/scrape': 'true',
        'prometheus.io/port': String(port),
        'prometheus.io/path': '/metrics',
      },
      'with scrape annotations',
    );
  }
});

t.test('the controller: external-provisioner with --extra-create-metadata, kidfs as nobody', async (t) => {
  const args = container(deployment, 'csi-provisioner')['args'] as string[];
  t.ok(args.includes('--extra-create-metadata=true'), 'PVC name and namespace reach CreateVolume');
  t.ok(args.includes('--leader-election'));
  t.match(container(deployment, 'kidfs')['securityContext'], {
    runAsNonRoot: true,
    runAsUser: 65534,
    allowPrivilegeEscalation: false,
    readOnlyRootFilesystem: true,
    capabilities: { drop: ['ALL'] },
  });
  const { flags } = await kidfsFlags<ControllerFlags>(container(deployment, 'kidfs'));
  t.equal(flags.provisionerUid, 0, 'root on NFS (a number in the credential, not local root)');
  t.equal(deployment['spec'].template.spec.serviceAccountName, 'kidfs-controller');
  t.equal(container(deployment, 'kidfs')['image'], `ghcr.io/kidfs/kidfs:${KIDFS_VERSION}`);
});

/** `<verb> <group>/<resource>` for every API call src/identity/kube-api.ts makes, from its source. */
function verbsOfKubeApi(): string[] {
  const calls: Record<string, string> = {
    readNamespacedPod: 'get /pods',
    readNamespacedServiceAccount: 'get /serviceaccounts',
    listNamespace: 'list /namespaces',
    readNamespacedConfigMap: 'get /configmaps',
    createNamespacedConfigMap: 'create /configmaps',
    replaceNamespacedConfigMap: 'update /configmaps',
    createTokenReview: 'create authentication.k8s.io/tokenreviews',
  };
  const source = readFileSync(join(root, 'src/identity/kube-api.ts'), 'utf8');
  const methods = [...source.matchAll(/\b(?:core|authentication)\.(\w+)\(/g)].map((m) => m[1]!);
  return [
    ...new Set(
      methods.map((method) => {
        const verb = calls[method];
        if (!verb) throw new Error(`kube-api.ts calls ${method}: add its verb to this test and to native-config/kidfs-rbac.yaml`);
        return verb;
      }),
    ),
  ].sort();
}

/** Every `<verb> <group>/<resource>` a service account gets from the roles bound to it. */
function grantsOf(account: string): { grants: string[]; rules: Json[] } {
  const rules: Json[] = [];
  for (const binding of objects.filter((o) => o['kind'] === 'ClusterRoleBinding' || o['kind'] === 'RoleBinding')) {
    if (!binding['subjects'].some((s: Json) => s['kind'] === 'ServiceAccount' && s['name'] === account && s['namespace'] === 'kidfs'))
      continue;
    const role = find(binding['roleRef'].kind, binding['roleRef'].name);
    if (binding['kind'] === 'RoleBinding' && role['metadata'].namespace !== binding['metadata'].namespace) {
      throw new Error(`RoleBinding ${binding['metadata'].name} binds a Role of another namespace`);
    }
    rules.push(...role['rules']);
  }
  const grants = rules.flatMap((rule) =>
    rule['apiGroups'].flatMap((group: string) =>
      rule['resources'].flatMap((resource: string) => rule['verbs'].map((verb: string) => `${verb} ${group}/${resource}`)),
    ),
  );
  return { grants: [...new Set(grants)].sort(), rules };
}

t.test("RBAC: the node daemon gets exactly the verbs kidfs's code uses", async (t) => {
  const used = verbsOfKubeApi();
  t.same(used, [
    'create /configmaps',
    'create authentication.k8s.io/tokenreviews',
    'get /configmaps',
    'get /pods',
    'get /serviceaccounts',
    'list /namespaces',
    'update /configmaps',
  ]);
  const { grants, rules } = grantsOf('kidfs-node');
  t.same(grants, used, 'no more, no less');
  for (const rule of rules) {
    t.notOk([...rule['verbs'], ...rule['resources'], ...rule['apiGroups']].includes('*'), 'no wildcards');
  }
  // One uid-records ConfigMap per namespace (names not known in advance): ConfigMaps only in the namespace of kidfs.ini's uid-allocations.
  const records = find('Role', 'kidfs-uid-allocations');
  t.equal(records['metadata'].namespace, config.identity.uidAllocations.namespace, "a Role in the records' namespace");
  t.same(records['rules'], [{ apiGroups: [''], resources: ['configmaps'], verbs: ['create', 'get', 'update'] }]);
  t.notOk(
    rules.some((r) => r['resources'].includes('configmaps') && !records['rules'].includes(r)),
    'no ConfigMap access anywhere else',
  );
});

t.test("RBAC: the controller gets external-provisioner's needs and the identity mapping, never pods or tokens", async (t) => {
  const { grants } = grantsOf('kidfs-controller');
  for (const needed of [
    'create /persistentvolumes',
    'delete /persistentvolumes',
    'update /persistentvolumeclaims',
    'watch storage.k8s.io/storageclasses',
    'create /events',
    'create coordination.k8s.io/leases',
    'get /serviceaccounts',
    'list /namespaces',
    'update /configmaps',
  ]) {
    t.ok(grants.includes(needed), needed);
  }
  t.notOk(
    grants.some((g) => g.endsWith('/pods') || g.endsWith('/tokenreviews') || g.endsWith('/secrets')),
    'no pods, tokens or secrets',
  );
  t.ok(objects.some((o) => o['kind'] === 'ServiceAccount' && o['metadata'].name === 'kidfs-controller'));
});

t.test('StorageClass parameters are what the controller reads', async (t) => {
  const storageClass = find('StorageClass', 'kidfs');
  const parameters = {
    ...storageClass['parameters'],
    'csi.storage.k8s.io/pvc/name': 'media',
    'csi.storage.k8s.io/pvc/namespace': 'cms',
    'csi.storage.k8s.io/pv/name': 'pvc-1',
  };
  const read = readProvisionParameters(parameters, 'pvc-1', storageClass['mountOptions'], config.groups);
  t.same(read, {
    export: { host: 'nfs.example.internal', path: '/exports/kubernetes' },
    subDir: 'cms/pvc-1',
    onDelete: 'delete',
    mode: 0o2770,
    gid: 3000,
    attributes: {},
  });
});

t.test('the example: a CMS on several nodes sharing one ReadWriteMany volume as cms/editor', async (t) => {
  const claim = find('PersistentVolumeClaim', 'cms-media');
  t.same(claim['spec'].accessModes, ['ReadWriteMany']);
  t.equal(claim['spec'].storageClassName, 'kidfs');
  const cms = find('Deployment', 'cms');
  const spec = cms['spec'].template.spec;
  t.ok(cms['spec'].replicas >= 2, `${cms['spec'].replicas} replicas`);
  t.match(
    spec['affinity'].podAntiAffinity.requiredDuringSchedulingIgnoredDuringExecution,
    [{ topologyKey: 'kubernetes.io/hostname', labelSelector: { matchLabels: cms['spec'].selector.matchLabels } }],
    'one replica per node',
  );
  t.equal(spec['serviceAccountName'], 'editor');
  t.ok(objects.some((o) => o['kind'] === 'ServiceAccount' && o['metadata'].name === 'editor' && o['metadata'].namespace === 'cms'));
  t.match(config.static.get('cms/editor'), { uid: 2001, gid: 2000, groups: [3000] }, 'kidfs.ini gives cms/editor an identity');
  t.equal(config.groups.get('shared-media')?.gid, 3000, 'which is in the group that owns the volume');
  const media = spec['volumes'].find((v: Json) => v['persistentVolumeClaim']?.claimName === 'cms-media');
  t.ok(media, 'the pods use the claim');
  t.equal(
    mountOf(spec['containers'][0], '/var/www/html/wp-content/uploads')?.['mountPropagation'],
    'HostToContainer',
    'a remount after a daemon restart reaches the container',
  );
});

const kubectl = ['/usr/bin/kubectl', '/usr/local/bin/kubectl'].find((path) => existsSync(path));
t.test('kubectl builds the kustomization', { skip: kubectl ? false : 'kubectl is not installed' }, async (t) => {
  const { stdout } = await promisify(execFile)(kubectl!, ['kustomize', dir]);
  const built = parseAllDocuments(stdout) as unknown as { toJS(): Json }[];
  const kinds = built.map((doc) => doc.toJS()).map((o) => `${o['kind']}/${o['metadata'].name}`);
  t.ok(
    kinds.some((k) => /^ConfigMap\/kidfs-config-[a-z0-9]+$/.test(k)),
    'the config map, with its content hash',
  );
  const node = built.map((doc) => doc.toJS()).find((o) => o['kind'] === 'DaemonSet')!;
  t.match(volume(node, 'config')['configMap'].name, /^kidfs-config-[a-z0-9]+$/, 'the DaemonSet refers to the hashed name');
  t.equal(
    kinds.length,
    objects.filter((o) => !o.file.startsWith('example-') && o.file !== 'tenant-networkpolicy.yaml').length + 1,
    'every object plus the config map',
  );
});

t.test("safe deployment: the controller only on control-plane nodes, tenants' pods kept off the NFS server", async (t) => {
  const affinity = deployment['spec'].template.spec.affinity.nodeAffinity;
  t.same(
    affinity['requiredDuringSchedulingIgnoredDuringExecution'],
    {
      nodeSelectorTerms: [{ matchExpressions: [{ key: 'node-role.kubernetes.io/control-plane', operator: 'Exists' }] }],
    },
    'the provisioner (root on the export) is required to run on control-plane nodes',
  );
  t.notOk(affinity['preferredDuringSchedulingIgnoredDuringExecution'], 'not merely preferred');

  const policy = find('NetworkPolicy', 'kidfs-no-nfs-server');
  t.equal(policy.file, 'tenant-networkpolicy.yaml');
  t.equal(policy['metadata'].namespace, undefined, 'applied to each tenant namespace with -n');
  t.same(policy['spec'].podSelector, {}, 'every pod of the namespace');
  t.same(policy['spec'].policyTypes, ['Egress']);
  const blocks = policy['spec'].egress
    .flatMap((rule: Json) => rule['to'])
    .filter((peer: Json) => peer['ipBlock'])
    .map((peer: Json) => peer['ipBlock']);
  t.same(
    blocks.map((b: Json) => b['cidr']),
    ['0.0.0.0/0', '::/0'],
    'everything outside the cluster...',
  );
  t.ok(
    blocks.every((b: Json) => b['except'].length === 1),
    '...but the NFS server',
  );
  t.notOk(
    policy['spec'].egress.some((rule: Json) => rule['ports']),
    'no rule opens any port to the server',
  );

  const tenant = objects.find((o) => o.file === 'example-cms.yaml' && o['kind'] === 'Namespace')!;
  t.equal(
    tenant['metadata'].labels['pod-security.kubernetes.io/enforce'],
    'baseline',
    'the example tenant namespace forbids hostNetwork pods',
  );
});
