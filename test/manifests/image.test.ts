// The Dockerfile and scripts/build-image.sh describe one image: the one the manifests name, on the Node version the
// tests run on, multi-stage with nothing to build with in the final stage, built by a non-root user, labelled.
// (scripts/build-image.sh builds it here and runs its smoke test; it downloads too much for the suite.)
import t from 'tap';
import { readFileSync } from 'node:fs';
import { KIDFS_VERSION } from '../../src/version.ts';

const root = new URL('../..', import.meta.url).pathname;
const dockerfile = readFileSync(`${root}Dockerfile`, 'utf8');
const script = readFileSync(`${root}scripts/build-image.sh`, 'utf8');
const stages = dockerfile.split(/^FROM /m).slice(1);

t.test('multi-stage: the build stage builds as a non-root user, the final stage only runs', async (t) => {
  t.equal(stages.length, 2, 'two stages');
  const [build, final] = stages as [string, string];
  t.match(build, /^node:\$\{NODE_VERSION\}-bookworm AS build/);
  t.match(build, /^USER builder$/m, 'a non-root build user');
  t.match(build, /bash scripts\/build-fuse-native\.sh/, 'the patched binding is built inside');
  t.match(final, /^node:\$\{NODE_VERSION\}-bookworm-slim/);
  t.notMatch(final, /\b(g\+\+|make|python3|gcc|patch)\b/, 'no build tools in the final stage');
  t.match(final, /libfuse3-3 fuse3/);
  t.match(final, /^COPY --from=build \/opt\/kidfs \/opt\/kidfs$/m);
  t.match(final, /^ENTRYPOINT \["kidfs"\]$/m, 'the manifests run command ["kidfs"]');
  for (const label of ['title', 'description', 'version', 'revision', 'licenses'])
    t.match(final, new RegExp(`org\\.opencontainers\\.image\\.${label}=`));
});

t.test('the versions agree: Node of the tests, the package version the manifests name', async (t) => {
  t.match(dockerfile, new RegExp(`^ARG NODE_VERSION=${process.versions.node.replace(/\./g, '\\.')}$`, 'm'), 'the Node the tests ran on');
  t.match(dockerfile, new RegExp(`^ARG VERSION=${KIDFS_VERSION.replace(/\./g, '\\.')}$`, 'm'));
  t.match(script, /^name=ghcr\.io\/kidfs\/kidfs$/m, 'build-image.sh tags the image the manifests name');
  t.match(script, /node_version=\$\(node -p 'process\.versions\.node'\)/, 'and puts the Node the tests ran on in it');
  t.match(script, /--include=libfuse3-3,fuse3,/, "with the final stage's packages");
});
