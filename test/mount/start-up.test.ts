// What a `kidfs mount` process loads: the Kubernetes client library (~900 modules, seconds of start-up on a busy node,
// ~80 MB in every mount process) only when the identity comes from the API server, not for source = static.
import t from 'tap';
import { FakeKubeApi } from '../helpers/fake-kube-api.ts';
import { makeWorkDir, startMount, startServer, STATIC_TABLE, writeConfig } from '../helpers/kidfs-mount.ts';
import { kubernetesConfig } from '../helpers/kidfs-test-config.ts';
import { preloadOptions } from '../helpers/preload.ts';

const KUBE_CLIENT_LOADED = /^kube-client-watch: loaded .*\/@kubernetes\/client-node\//m;
const watched = { NODE_OPTIONS: preloadOptions([new URL('../helpers/kube-client-watch.ts', import.meta.url).pathname]) };

const server = await startServer(t);
const work = makeWorkDir(t);

t.test('a mount with source = static never loads the Kubernetes client', async (t) => {
  const config = writeConfig(work, STATIC_TABLE);
  const mount = await startMount(t, { url: server.url, identity: 'cms/editor', config, dir: work, name: 'static', env: watched });
  t.match(mount.readyLine, '(uid 2001 gid 2000 groups 3000)');
  const { code, stderr } = await mount.stop();
  t.equal(code, 0);
  t.notMatch(stderr, KUBE_CLIENT_LOADED);
});

t.test('with source = kubernetes it does, when it asks the API server (the watch sees it)', async (t) => {
  const api = new FakeKubeApi();
  await api.start();
  t.teardown(() => api.stop());
  api.addNamespace('kidfs');
  api.addNamespace('cms', { 'kidfs.io/uid-range': '200000/1000' });
  api.addServiceAccount('cms', 'editor');
  const config = kubernetesConfig(api, work).file;
  const mount = await startMount(t, { url: server.url, identity: 'cms/editor', config, dir: work, name: 'kubernetes', env: watched });
  t.match(mount.readyLine, '(uid 200001 gid 200000 groups none)');
  const { code, stderr } = await mount.stop();
  t.equal(code, 0);
  t.match(stderr, KUBE_CLIENT_LOADED);
});
