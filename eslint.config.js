// Lint of src/: every layer imports only the layers below it (docs/ARCHITECTURE.md, "Who may import whom"), and
// only through their index.ts, the public face each layer keeps. Formatting is prettier's (.prettierrc.json).
import tseslint from 'typescript-eslint';

/** Each layer and the layers it may import; a layer not listed may not be imported. */
const MAY_IMPORT = {
  cli: ['node', 'controller', 'flexvolume', 'control-socket', 'csi', 'metrics', 'mount', 'identity', 'fs', 'fuse', 'nfs', 'config', 'log'],
  node: ['control-socket', 'csi', 'metrics', 'mount', 'identity', 'nfs', 'config', 'log'],
  controller: ['csi', 'identity', 'fs', 'nfs', 'config', 'log'],
  flexvolume: ['control-socket', 'csi'],
  'control-socket': ['csi', 'mount', 'identity'],
  csi: ['identity', 'fs', 'nfs', 'config'],
  metrics: ['mount', 'fs', 'nfs', 'config', 'log'],
  mount: ['identity', 'fs', 'fuse', 'nfs', 'config'],
  identity: ['config'],
  fs: ['nfs'],
  fuse: [],
  nfs: [],
  log: ['config'],
  config: [],
};
const LAYERS = Object.keys(MAY_IMPORT);
/** An import path that leaves the importing file's layer for `layers` (from any depth below src/<layer>/). */
const into = (layers) => `^(\\.\\./)+(${layers.join('|')})/`;

const layerRules = LAYERS.map((layer) => {
  const others = LAYERS.filter((other) => other !== layer);
  const forbidden = others.filter((other) => !MAY_IMPORT[layer].includes(other));
  const patterns = [
    {
      regex: `${into(others)}(?!index\\.ts$)`,
      message: 'import another layer through its index.ts (its public face), not its internal files',
    },
  ];
  if (forbidden.length > 0) {
    patterns.push({
      regex: into(forbidden),
      message: `${layer} may not import this layer (see docs/ARCHITECTURE.md, "Who may import whom")`,
    });
  }
  return { files: [`src/${layer}/**/*.ts`], rules: { 'no-restricted-imports': ['error', { patterns }] } };
});

export default [{ files: ['src/**/*.ts'], languageOptions: { parser: tseslint.parser } }, ...layerRules];
