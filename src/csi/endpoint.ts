// CSI endpoints as drivers take them (--endpoint unix:///csi/csi.sock): only unix sockets, absolute paths.
import { isAbsolute } from 'node:path';

/** The socket path of `unix:///path` (or `unix:/path`); throws with a one-line reason for anything else. */
export function unixSocketPath(endpoint: string): string {
  // unix:///path has an empty authority; unix:/path has none. unix://name/... would put a host where the path goes.
  const path = endpoint.startsWith('unix://')
    ? endpoint.slice('unix://'.length)
    : endpoint.startsWith('unix:')
      ? endpoint.slice('unix:'.length)
      : '';
  if (!isAbsolute(path) || path.startsWith('//')) {
    throw new Error(`endpoint ${JSON.stringify(endpoint)} is not unix:///<absolute path> (kidfs serves CSI on a unix socket only)`);
  }
  return path;
}
