// The --config option every command shares, with one default.
import { Option } from 'commander';

export const DEFAULT_CONFIG_PATH = '/etc/kidfs/kidfs.ini';

export function configOption(): Option {
  return new Option('-c, --config <file>', 'kidfs INI configuration').env('KIDFS_CONFIG').default(DEFAULT_CONFIG_PATH);
}
