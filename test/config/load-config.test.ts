// The INI loader: typed values and defaults, and every mistake reported as `file:line: [section] key: problem`.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { ConfigError } from '../../src/config/config-error.ts';
import { loadConfig, parseConfig } from '../../src/config/load-config.ts';
import { makeTempDir } from '../helpers/kidfs-test-config.ts';

const seventeenGids = Array.from({ length: 17 }, (_, i) => 5000 + i).join(',');

// [name, file text, expected message]; the file is always called kidfs.ini.
const mistakes: [string, string, string][] = [
  ['uid 0', '[static]\ncms/editor = 0:1000\n', 'kidfs.ini:2: [static] cms/editor: uid "0" is not allowed (uid 0 is never mapped)'],
  ['gid 0', '[static]\ncms/editor = 2000:0\n', 'kidfs.ini:2: [static] cms/editor: gid "0" is not allowed (root\'s group is never mapped)'],
  [
    'supplementary gid 0',
    '[static]\ncms/editor = 2000:2000:3000,0\n',
    'kidfs.ini:2: [static] cms/editor: gid "0" is not allowed (root\'s group is never mapped)',
  ],
  [
    'static without gid',
    '; identities\n\n[static]\ncms/editor = 2000\n',
    'kidfs.ini:4: [static] cms/editor: "2000" is not <uid>:<gid>[:<gid>,<gid>...]',
  ],
  ['static not a number', '[static]\ncms/editor = alice:2000\n', 'kidfs.ini:2: [static] cms/editor: uid "alice" is not a number'],
  [
    'static uid too large',
    '[static]\ncms/editor = 4294967295:2000\n',
    'kidfs.ini:2: [static] cms/editor: uid "4294967295" is too large (at most 4294967293)',
  ],
  [
    'static 17 supplementary gids',
    `[static]\ncms/editor = 2000:2000:${seventeenGids}\n`,
    'kidfs.ini:2: [static] cms/editor: 17 supplementary gids; NFS (AUTH_SYS) carries at most 16',
  ],
  ['static gid listed twice', '[static]\ncms/editor = 2000:2000:3000,3000\n', 'kidfs.ini:2: [static] cms/editor: gid 3000 is listed twice'],
  [
    'static primary gid repeated',
    '[static]\ncms/editor = 2000:2000:2000\n',
    'kidfs.ini:2: [static] cms/editor: gid 2000 is already the primary group; list it once',
  ],
  [
    'static bad namespace',
    '[static]\nCMS/editor = 2000:2000\n',
    'kidfs.ini:2: [static] CMS/editor: namespace "CMS" is not a valid Kubernetes namespace name',
  ],
  [
    'static key without slash',
    '[static]\neditor = 2000:2000\n',
    'kidfs.ini:2: [static] editor: "editor" is not <namespace>/<serviceaccount>',
  ],
  [
    'static shared uid',
    '[static]\ncms/editor = 2000:2000\n# another\ncms/viewer = 2000:2000\n',
    "kidfs.ini:4: [static] cms/viewer: uid 2000 is already cms/editor's (line 2); every identity needs its own uid",
  ],
  [
    'static uid below min-uid',
    '[identity]\nmin-uid = 5000\n[static]\ncms/editor = 2000:2000\n',
    'kidfs.ini:4: [static] cms/editor: uid 2000 is below [identity] min-uid 5000',
  ],
  [
    'static with [groups] over 16',
    `[static]\ncms/editor = 2000:2000:${seventeenGids.split(',').slice(0, 16).join(',')}\n[groups]\nmedia = 7000: cms/*\n`,
    'kidfs.ini:2: [static] cms/editor: 17 supplementary gids with its [groups] memberships; NFS (AUTH_SYS) carries at most 16',
  ],
  [
    'unknown section with a hint',
    '[identity]\nsource = static\n\n[identiy]\nmin-uid = 1000\n',
    'kidfs.ini:4: [identiy]: unknown section (did you mean [identity]?); known sections: [static], [identity], [kubernetes], [groups], [mount], [log], [metrics]',
  ],
  [
    'unknown section',
    '[node]\nsocket = /run/kidfs.sock\n',
    'kidfs.ini:1: [node]: unknown section; known sections: [static], [identity], [kubernetes], [groups], [mount], [log], [metrics]',
  ],
  ['bad log level', '[log]\nlevel = loud\n', 'kidfs.ini:2: [log] level: "loud" is not one of: debug, info, warn, error'],
  ['bad log format', '[log]\nformat = xml\n', 'kidfs.ini:2: [log] format: "xml" is not one of: auto, json, pretty'],
  [
    'bad denial limit',
    '[log]\naudit-denials-per-minute = lots\n',
    'kidfs.ini:2: [log] audit-denials-per-minute: "lots" is not a whole number from 0 to 1000000',
  ],
  [
    'metrics address without a port',
    '[metrics]\nlisten = 127.0.0.1\n',
    'kidfs.ini:2: [metrics] listen: "127.0.0.1" is not an address to listen on: write host:port, [v6 address]:port or :port',
  ],
  [
    'bad owner view',
    '[mount]\nowner-view = postgres\n',
    'kidfs.ini:2: [mount] owner-view: "postgres" is not identity or <uid>:<gid> (numbers below 4294967295)',
  ],
  ['bad chown policy', '[mount]\nchown = allow\n', 'kidfs.ini:2: [mount] chown: "allow" is not one of: deny, ignore'],
  ['cache time too long', '[mount]\nattr-timeout = 25h\n', 'kidfs.ini:2: [mount] attr-timeout: "25h" is longer than a day'],
  ['nfs timeout too short', '[mount]\nnfs-timeout = 10ms\n', 'kidfs.ini:2: [mount] nfs-timeout: "10ms" must be from 100ms to 24d'],
  [
    'op timeout below nfs timeout',
    '[mount]\nnfs-timeout = 30s\nop-timeout = 10s\n',
    'kidfs.ini:3: [mount] op-timeout: "10s" is shorter than nfs-timeout; an operation needs at least one NFS call',
  ],
  [
    'size without unit',
    '[mount]\nmax-uncommitted = 64\n',
    'kidfs.ini:2: [mount] max-uncommitted: "64" is not a size: write e.g. 512KiB, 64MiB or 1GiB',
  ],
  [
    'uncommitted too small',
    '[mount]\nmax-uncommitted = 1MiB\n',
    'kidfs.ini:2: [mount] max-uncommitted: "1MiB" is below 2MiB (two write chunks)',
  ],
  [
    'mount memory too small',
    '[mount]\nmemory-per-mount = 2MiB\n',
    'kidfs.ini:2: [mount] memory-per-mount: "2MiB" is below 4MiB (two write chunks and two read-ahead blocks)',
  ],
  [
    "process memory below a mount's",
    '[mount]\nmemory-per-mount = 64MiB\nmemory-per-process = 32MiB\n',
    'kidfs.ini:3: [mount] memory-per-process: "32MiB" is below memory-per-mount; one mount could never use its share',
  ],
  [
    'no mounts per node',
    '[mount]\nmax-mounts-per-node = 0\n',
    'kidfs.ini:2: [mount] max-mounts-per-node: "0" is not a whole number from 1 to 100000',
  ],
  [
    'byte rate too low',
    '[mount]\nqos-bytes-per-second = 1KiB\n',
    'kidfs.ini:2: [mount] qos-bytes-per-second: "1KiB" is below 64KiB (per second), too slow for one read; write none for no limit',
  ],
  [
    'unknown key with a hint',
    '[identity]\nmin_uid = 1000\n',
    'kidfs.ini:2: [identity] min_uid: unknown key (did you mean min-uid?); known keys: source, min-uid, node-name, cache-ttl, unidentified, primary-group, namespace-group-prefix, uid-range-annotation, uid-allocations',
  ],
  [
    'unknown key',
    '[kubernetes]\nserver = https://10.0.0.1\n',
    'kidfs.ini:2: [kubernetes] server: unknown key; known keys: kubeconfig, context, token-audience, require-token, timeout',
  ],
  [
    'key twice',
    '[identity]\nsource = static\nmin-uid = 1000\nsource = kubernetes\n',
    'kidfs.ini:4: [identity] source: key appears twice in [identity] (first on line 2); keep one',
  ],
  [
    'section twice',
    '[static]\ncms/a = 2000:2000\n[identity]\n[static]\n',
    'kidfs.ini:4: [static]: section appears twice (first on line 1); merge them',
  ],
  [
    'key outside a section',
    'source = static\n[identity]\n',
    'kidfs.ini:1: source: key outside any section: put it under a [section] header',
  ],
  ['key without value', '[identity]\nsource\n', 'kidfs.ini:2: [identity] source: no value: write key = value'],
  ['line without key', '[identity]\n= static\n', 'kidfs.ini:2: [identity]: line "= static" has no key: write key = value'],
  [
    'malformed header',
    '[identity]\nsource = static\n[static\n',
    'kidfs.ini:3: malformed section header "[static": write [name] alone on its line',
  ],
  [
    'header with text after it',
    '[identity] source = static\n',
    'kidfs.ini:1: malformed section header "[identity] source = static": write [name] alone on its line',
  ],
  ['array key', '[groups]\nmedia[] = 3000\n', 'kidfs.ini:2: [groups] media[]: array keys (key[]) are not used by kidfs'],
  ['bad source', '[identity]\nsource = ldap\n', 'kidfs.ini:2: [identity] source: "ldap" is not one of: static, kubernetes'],
  ['min-uid 0', '[identity]\nmin-uid = 0\n', 'kidfs.ini:2: [identity] min-uid: uid "0" is not allowed (uid 0 is never mapped)'],
  [
    'duration without unit',
    '[identity]\ncache-ttl = 30\n',
    'kidfs.ini:2: [identity] cache-ttl: "30" is not a duration: write e.g. 500ms, 30s, 5m or 1h',
  ],
  ['bad node name', '[identity]\nnode-name = Node_A\n', 'kidfs.ini:2: [identity] node-name: "Node_A" is not a valid Kubernetes node name'],
  [
    'bad unidentified',
    '[identity]\nunidentified = nobody\n',
    'kidfs.ini:2: [identity] unidentified: "nobody" is not <namespace>/<serviceaccount>; write refuse or <namespace>/<serviceaccount>',
  ],
  [
    'unidentified not in [static]',
    '[identity]\nsource = static\nunidentified = cms/robot\n[static]\ncms/editor = 2000:2000\n',
    'kidfs.ini:3: [identity] unidentified: cms/robot is not in [static] (with source = static, only [static] identities exist)',
  ],
  [
    'bad primary group',
    '[identity]\nprimary-group = user\n',
    'kidfs.ini:2: [identity] primary-group: "user" is not one of: namespace, own',
  ],
  [
    'bad group prefix',
    '[identity]\nnamespace-group-prefix = 9ns\n',
    'kidfs.ini:2: [identity] namespace-group-prefix: "9ns" cannot start a group name: use lower-case letters, digits, _ . -',
  ],
  [
    'bad annotation key',
    '[identity]\nuid-range-annotation = kidfs.io/uid range\n',
    'kidfs.ini:2: [identity] uid-range-annotation: "kidfs.io/uid range" is not a Kubernetes annotation key',
  ],
  [
    'bad allocations configmap',
    '[identity]\nuid-allocations = kidfs-uids\n',
    'kidfs.ini:2: [identity] uid-allocations: "kidfs-uids" is not <namespace>/<configmap>',
  ],
  ['bad boolean', '[kubernetes]\nrequire-token = maybe\n', 'kidfs.ini:2: [kubernetes] require-token: "maybe" is not yes or no'],
  [
    'bad timeout',
    '[kubernetes]\ntimeout = soon\n',
    'kidfs.ini:2: [kubernetes] timeout: "soon" is not a duration: write e.g. 500ms, 30s, 5m or 1h',
  ],
  [
    'group gid twice',
    '[groups]\nmedia = 3000\nbackup = 3000: cms/*\n',
    'kidfs.ini:3: [groups] backup: gid 3000 is already group media (line 2); one name per gid',
  ],
  [
    'group name too long',
    '[groups]\nabcdefghijklmnopqrstuvwxyz0123456 = 3000\n',
    'kidfs.ini:2: [groups] abcdefghijklmnopqrstuvwxyz0123456: group names are at most 32 characters: lower-case letters, digits, _ . - (not starting with a digit, . or -)',
  ],
  [
    'group bad member',
    '[groups]\nmedia = 3000: cms/editor, cms\n',
    'kidfs.ini:2: [groups] media: "cms" is not <namespace>/<serviceaccount>',
  ],
  ['group gid 0', '[groups]\nwheel = 0: cms/*\n', 'kidfs.ini:2: [groups] wheel: gid "0" is not allowed (root\'s group is never mapped)'],
  [
    'CRLF line endings count lines',
    '[identity]\r\n\r\n; comment\r\nsource = nfs\r\n',
    'kidfs.ini:4: [identity] source: "nfs" is not one of: static, kubernetes',
  ],
];

t.test('each mistake is reported with file:line, section and key', async (t) => {
  for (const [name, text, expected] of mistakes) {
    const error = t.throws(() => parseConfig(text, 'kidfs.ini', {}), ConfigError, name) as ConfigError;
    t.equal(error.message, expected, name);
  }
});

t.test('a file with nothing in it gives the documented defaults', async (t) => {
  const config = parseConfig('', '/etc/kidfs/kidfs.ini', {});
  t.same(config.identity, {
    source: 'static',
    minUid: 1000,
    nodeName: undefined,
    cacheTtlMs: 30_000,
    unidentified: 'refuse',
    primaryGroup: 'namespace',
    namespaceGroupPrefix: 'ns-',
    uidRangeAnnotation: 'kidfs.io/uid-range',
    uidAllocations: { namespace: 'kidfs', name: 'kidfs-uids' },
  });
  t.same(config.kubernetes, { kubeconfig: undefined, context: undefined, tokenAudience: 'kidfs', requireToken: false, timeoutMs: 10_000 });
  t.same(config.mount, {
    ownerView: undefined,
    chown: 'ignore',
    attrTimeoutMs: 1000,
    entryTimeoutMs: 1000,
    negativeTimeoutMs: 0,
    nfsTimeoutMs: 60_000,
    opTimeoutMs: 600_000,
    maxUncommittedBytes: 64 * 1024 * 1024,
    readOnly: false,
    privilegedPort: true,
    memoryPerMountBytes: 64 * 1024 * 1024,
    memoryPerProcessBytes: 192 * 1024 * 1024,
    maxMountsPerNode: 100,
    qos: { bytesPerSecond: undefined, opsPerSecond: undefined },
  });
  t.same(config.log, { level: 'info', format: 'auto', auditFile: undefined, auditStdout: false, auditDenialsPerMinute: 60 });
  t.same(config.metrics, { listen: undefined }, 'no metrics endpoint unless asked for');
  t.equal(config.static.size, 0);
  t.equal(config.groups.size, 0);
});

t.test('[log] and [metrics] values are typed; a relative audit file is relative to the config', async (t) => {
  const text = [
    '[log]',
    'level = debug',
    'format = json',
    'audit-file = audit.log',
    'audit-stdout = yes',
    'audit-denials-per-minute = 5',
    '[metrics]',
    'listen = :9809',
  ].join('\n');
  const config = parseConfig(text, '/etc/kidfs/kidfs.ini', {});
  t.same(config.log, { level: 'debug', format: 'json', auditFile: '/etc/kidfs/audit.log', auditStdout: true, auditDenialsPerMinute: 5 });
  t.same(config.metrics.listen, { host: '0.0.0.0', port: 9809 });
  t.same(parseConfig('[metrics]\nlisten = [::1]:9809\n', 'kidfs.ini', {}).metrics.listen, { host: '::1', port: 9809 });
});

t.test('[mount] values are typed', async (t) => {
  const text = [
    '[mount]',
    'owner-view = 999:999',
    'chown = deny',
    'attr-timeout = 0s',
    'entry-timeout = 500ms',
    'negative-timeout = 5s',
    'nfs-timeout = 20m',
    'max-uncommitted = 1GiB',
    'read-only = yes',
    'privileged-port = yes',
    'memory-per-mount = 16MiB',
    'memory-per-process = 1GiB',
    'max-mounts-per-node = 250',
    'qos-bytes-per-second = 10MiB',
    'qos-ops-per-second = 500',
  ].join('\n');
  const config = parseConfig(text, 'kidfs.ini', {});
  t.same(
    config.mount,
    {
      ownerView: { uid: 999, gid: 999 },
      chown: 'deny',
      attrTimeoutMs: 0,
      entryTimeoutMs: 500,
      negativeTimeoutMs: 5000,
      nfsTimeoutMs: 1_200_000,
      opTimeoutMs: 1_200_000,
      maxUncommittedBytes: 1024 ** 3,
      readOnly: true,
      privilegedPort: true,
      memoryPerMountBytes: 16 * 1024 * 1024,
      memoryPerProcessBytes: 1024 ** 3,
      maxMountsPerNode: 250,
      qos: { bytesPerSecond: 10 * 1024 * 1024, opsPerSecond: 500 },
    },
    'op-timeout follows a long nfs-timeout',
  );
  t.same(
    parseConfig('[mount]\nowner-view = 0:0\n', 'kidfs.ini', {}).mount.ownerView,
    { uid: 0, gid: 0 },
    "a container's root may be shown as owner",
  );
  t.equal(parseConfig('[mount]\nowner-view = identity\n', 'kidfs.ini', {}).mount.ownerView, undefined);
});

t.test('values are typed; node name comes from NODE_NAME unless node-name is set', async (t) => {
  const text = [
    '[identity]',
    'source = kubernetes',
    'cache-ttl = 2m',
    'unidentified = cms/robot ; for the demo VM',
    'primary-group = own',
    '[kubernetes]',
    'kubeconfig = ../kube/config',
    'timeout = 1500ms',
    'require-token = yes',
    'token-audience = "kidfs;csi"',
    '[static]',
    'cms/editor = 2000 : 2000 : 3000, 3001',
    '[groups]',
    'media = 3000: cms/editor, shop/*',
  ].join('\n');
  const config = parseConfig(text, '/etc/kidfs/kidfs.ini', { NODE_NAME: 'worker-3' });
  t.equal(config.identity.source, 'kubernetes');
  t.equal(config.identity.nodeName, 'worker-3');
  t.equal(config.identity.cacheTtlMs, 120_000);
  t.same(config.identity.unidentified, { namespace: 'cms', serviceAccount: 'robot' });
  t.equal(config.identity.primaryGroup, 'own');
  t.equal(config.kubernetes.kubeconfig, '/etc/kube/config', 'relative to the config file');
  t.equal(config.kubernetes.timeoutMs, 1500);
  t.equal(config.kubernetes.requireToken, true);
  t.equal(config.kubernetes.tokenAudience, 'kidfs;csi', 'quoted values keep ; and #');
  t.same(config.static.get('cms/editor'), {
    namespace: 'cms',
    serviceAccount: 'editor',
    uid: 2000,
    gid: 2000,
    groups: [3000, 3001],
    line: 12,
  });
  t.same(config.groups.get('media'), { name: 'media', gid: 3000, members: ['cms/editor', 'shop/*'], line: 14 });

  const pinned = parseConfig('[identity]\nnode-name = worker-1\n', 'kidfs.ini', { NODE_NAME: 'worker-3' });
  t.equal(pinned.identity.nodeName, 'worker-1');
});

t.test('loadConfig reads a file; a missing file is one clear line', async (t) => {
  const dir = makeTempDir();
  t.teardown(() => dir.remove());
  const file = join(dir.path, 'kidfs.ini');
  writeFileSync(file, '[static]\ncms/editor = 2000:2000\n\n[static]\n');
  t.throws(() => loadConfig(file, {}), { message: `${file}:4: [static]: section appears twice (first on line 1); merge them` });
  t.throws(() => loadConfig(join(dir.path, 'missing.ini'), {}), {
    message: `${join(dir.path, 'missing.ini')}: cannot read the config file (ENOENT)`,
  });
});

t.test('the annotated example config loads', async (t) => {
  const config = loadConfig(new URL('../../native-config/kidfs.ini', import.meta.url).pathname, {});
  t.equal(config.identity.source, 'static');
  t.same([...config.static.keys()], ['cms/editor', 'cms/viewer', 'shop/api']);
  t.equal(config.static.get('cms/editor')!.uid, 2001);
  t.equal(config.groups.get('shared-media')!.gid, 3000);
  t.equal(config.kubernetes.kubeconfig, undefined, 'in-cluster by default');
  t.same(config.mount, parseConfig('', 'kidfs.ini', {}).mount, 'its [mount] shows the defaults');
});
