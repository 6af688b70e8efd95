// NFS export URLs in libnfs's form: nfs://host[:port]/path[?nfsport=N&mountport=M].
// The authority's port is the NFS port (as in libnfs); a missing port is asked of the server's portmapper.

export interface NfsUrl {
  /** A host name, an IPv4 address, or an IPv6 address without brackets. */
  readonly host: string;
  /** The export path: absolute, percent-escapes decoded. */
  readonly path: string;
  readonly nfsPort?: number;
  readonly mountPort?: number;
}

/** An export URL that kidfs cannot use; the message names what is wrong. */
export class NfsUrlError extends Error {
  override name = 'NfsUrlError';
}

const QUERY_KEYS = { nfsport: 'nfsPort', mountport: 'mountPort' } as const;
const HOST_NAME = /^[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*$/;
const IPV6 = /^[0-9A-Fa-f:.]+$/;

function parsePort(text: string, what: string, url: string): number {
  const port = /^[0-9]{1,5}$/.test(text) ? Number(text) : NaN;
  if (!(port >= 1 && port <= 65535)) throw new NfsUrlError(`${what} '${text}' in ${url} is not a TCP port (1-65535)`);
  return port;
}

function parseHost(authority: string, url: string): { host: string; port?: string } {
  if (authority.includes('@')) throw new NfsUrlError(`${url}: user names in NFS URLs are not supported (the identity comes from the pod)`);
  if (authority.startsWith('[')) {
    const close = authority.indexOf(']');
    const host = authority.slice(1, close);
    const rest = authority.slice(close + 1);
    if (close < 0 || !IPV6.test(host) || !host.includes(':'))
      throw new NfsUrlError(`${url}: '${authority}' is not a bracketed IPv6 address like [::1]`);
    if (rest !== '' && !rest.startsWith(':')) throw new NfsUrlError(`${url}: unexpected '${rest}' after the IPv6 address`);
    return { host, port: rest ? rest.slice(1) : undefined };
  }
  const colon = authority.lastIndexOf(':');
  const host = colon < 0 ? authority : authority.slice(0, colon);
  if (host === '') throw new NfsUrlError(`${url} names no server (expected nfs://host/path)`);
  if (!HOST_NAME.test(host)) {
    const hint = host.includes(':') ? ' (write IPv6 addresses in brackets, like [::1])' : '';
    throw new NfsUrlError(`${url}: '${host}' is not a host name or IP address${hint}`);
  }
  return { host, port: colon < 0 ? undefined : authority.slice(colon + 1) };
}

function decodePath(raw: string, url: string): string {
  try {
    return decodeURIComponent(raw);
  } catch {
    throw new NfsUrlError(`${url}: the path has a malformed percent escape (write % as %25)`);
  }
}

/** Parses `nfs://host[:port]/path[?nfsport=N&mountport=M]`; throws NfsUrlError naming the problem. */
export function parseNfsUrl(url: string): NfsUrl {
  const match = /^nfs:\/\/([^/?#]*)([^?#]*)(?:\?([^#]*))?$/i.exec(url);
  if (!match) {
    if (url.includes('#')) throw new NfsUrlError(`${url}: NFS URLs take no #fragment`);
    throw new NfsUrlError(`'${url}' is not an NFS URL (expected nfs://host/path)`);
  }
  const [, authority = '', rawPath = '', query] = match;
  const { host, port } = parseHost(authority, url);
  if (!rawPath.startsWith('/')) throw new NfsUrlError(`${url} has no export path (expected nfs://host/path, the path absolute)`);
  const path = decodePath(rawPath, url);
  if (path.includes('\0')) throw new NfsUrlError(`${url}: the path contains a NUL byte`);

  const result: { host: string; path: string; nfsPort?: number; mountPort?: number } = { host, path };
  if (port !== undefined) result.nfsPort = parsePort(port, 'port', url);
  const given = new Set<string>();
  for (const pair of query ? query.split('&') : []) {
    const eq = pair.indexOf('=');
    const key = eq < 0 ? pair : pair.slice(0, eq);
    if (!(key in QUERY_KEYS)) {
      throw new NfsUrlError(`${url}: unknown option '${key}' (kidfs knows ${Object.keys(QUERY_KEYS).join(', ')})`);
    }
    if (eq < 0) throw new NfsUrlError(`${url}: option '${key}' needs a value (${key}=PORT)`);
    if (given.has(key)) throw new NfsUrlError(`${url}: option '${key}' is given twice`);
    given.add(key);
    const value = parsePort(pair.slice(eq + 1), key, url);
    const field = QUERY_KEYS[key as keyof typeof QUERY_KEYS];
    if (field === 'nfsPort' && result.nfsPort !== undefined && result.nfsPort !== value) {
      throw new NfsUrlError(`${url}: port ${result.nfsPort} and nfsport=${value} disagree (give one)`);
    }
    result[field] = value;
  }
  return result;
}

/** The URL of a parsed export, in the form parseNfsUrl reads. */
export function formatNfsUrl(url: NfsUrl): string {
  const host = url.host.includes(':') ? `[${url.host}]` : url.host;
  const path = url.path.split('/').map(encodeURIComponent).join('/');
  const query = [
    url.nfsPort === undefined ? '' : `nfsport=${url.nfsPort}`,
    url.mountPort === undefined ? '' : `mountport=${url.mountPort}`,
  ].filter(Boolean);
  return `nfs://${host}${path}${query.length ? `?${query.join('&')}` : ''}`;
}
