// Preloaded into a kidfs process (preload.ts): writes one line to stderr, naming the module, when the process first
// loads a module of @kubernetes/client-node, so that a test can tell whether it did.
import { register } from 'node:module';

const hooks = `
import { writeSync } from 'node:fs';
let told = false;
export async function load(url, context, nextLoad) {
  if (!told && url.includes('/node_modules/@kubernetes/client-node/')) {
    told = true;
    writeSync(2, 'kube-client-watch: loaded ' + url + '\\n');
  }
  return nextLoad(url, context);
}`;
register(`data:text/javascript,${encodeURIComponent(hooks)}`);
