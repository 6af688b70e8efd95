// Writes a kidfs.ini (and a kubeconfig for a FakeKubeApi) into a temp dir and loads it, for identity tests.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig, type KidfsConfig } from '../../src/config/load-config.ts';
import type { Test } from 'tap';
import { FakeKubeApi } from './fake-kube-api.ts';

export interface TempDir {
  readonly path: string;
  remove(): void;
}

export function makeTempDir(prefix = 'kidfs-test-'): TempDir {
  const path = mkdtempSync(join(tmpdir(), prefix));
  return { path, remove: () => rmSync(path, { recursive: true, force: true }) };
}

/**
 * A config with source = kubernetes on node `nodeName` (default node-a), no caching unless `cacheTtl`, talking to `api`
 * with a client token that has every permission (or the given token), plus `extra` INI text appended (sections of its
 * own).
 */
export function kubernetesConfig(
  api: FakeKubeApi,
  dir: string,
  options: {
    nodeName?: string;
    token?: string;
    cacheTtl?: string;
    timeout?: string;
    identity?: string;
    kubernetes?: string;
    extra?: string;
  } = {},
): KidfsConfig {
  const kubeconfig = api.writeKubeconfig(dir, options.token ?? api.addClient('*'));
  const file = join(dir, `kidfs-${Math.random().toString(36).slice(2)}.ini`);
  writeFileSync(
    file,
    [
      '[identity]',
      'source = kubernetes',
      `node-name = ${options.nodeName ?? 'node-a'}`,
      `cache-ttl = ${options.cacheTtl ?? '0s'}`,
      options.identity ?? '',
      '[kubernetes]',
      `kubeconfig = ${kubeconfig}`,
      `timeout = ${options.timeout ?? '3s'}`,
      options.kubernetes ?? '',
      options.extra ?? '',
    ].join('\n'),
  );
  return loadConfig(file, {});
}

/**
 * A fake API server holding kidfs's own namespace, started before the file's tests and stopped after them
 * (also when they fail), and a temporary directory removed with it.
 */
export function fakeCluster(t: Test): { api: FakeKubeApi; dir: TempDir } {
  const api = new FakeKubeApi();
  const dir = makeTempDir();
  t.before(() => api.start());
  t.teardown(async () => {
    await api.stop();
    dir.remove();
  });
  api.addNamespace('kidfs');
  return { api, dir };
}
