// kidfs's version, from package.json (CSI GetPluginInfo vendor_version, logs).
import { readFileSync } from 'node:fs';

export const KIDFS_VERSION: string = (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string })
  .version;
