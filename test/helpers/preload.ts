// NODE_OPTIONS that preload test modules into a kidfs process a test starts (kidfs-mount.ts: startMount's env).
const TSX_LOADER = new URL('../../node_modules/tsx/dist/loader.mjs', import.meta.url).pathname;

/**
 * `--import` of tsx, then of each of `modules` (paths of TypeScript files). tsx comes first so that they may be
 * TypeScript; the kidfs command's own `--import` of the same loader is then a no-op.
 */
export function preloadOptions(modules: readonly string[]): string {
  return [TSX_LOADER, ...modules].map((path) => `--import=${path}`).join(' ');
}
