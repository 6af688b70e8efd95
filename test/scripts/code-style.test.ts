// The code's shape is checked like its behaviour: eslint (each layer imports only the layers below it, and only
// through their index.ts) and prettier (one formatting) pass on the checkout, and the layer rule catches a planted
// upward import and a planted import of another layer's internal file.
import t from 'tap';
import { spawnSync } from 'node:child_process';

const REPO = new URL('../..', import.meta.url).pathname;
const npx = (args: readonly string[], input?: string) =>
  spawnSync('npx', ['--no-install', ...args], { cwd: REPO, input, encoding: 'utf8', timeout: 240_000 });

t.test('eslint finds nothing in src/', async (t) => {
  const lint = npx(['eslint', 'src']);
  t.equal(lint.status, 0, lint.stdout + lint.stderr);
});

t.test('prettier finds every file formatted', async (t) => {
  const check = npx(['prettier', '--check', '--log-level=warn', 'src/**/*.ts', 'test/**/*.ts', 'scripts/**/*.ts', 'eslint.config.js']);
  t.equal(check.status, 0, check.stdout + check.stderr);
});

t.test("an upward import and an import of another layer's internal file are refused, each saying why", async (t) => {
  const planted =
    "import { NodeDaemon } from '../node/index.ts';\nimport { RpcClient } from '../nfs/rpc-client.ts';\nexport const used = [NodeDaemon, RpcClient];\n";
  const lint = npx(['eslint', '--stdin', '--stdin-filename', 'src/fs/planted.ts'], planted);
  t.equal(lint.status, 1, 'eslint fails');
  t.match(lint.stdout, /1:1 +error +'\.\.\/node\/index\.ts' .*fs may not import this layer/, 'fs -> node: upward');
  t.match(lint.stdout, /2:1 +error +'\.\.\/nfs\/rpc-client\.ts' .*through its index\.ts/, 'fs -> an nfs file: internals');
});
