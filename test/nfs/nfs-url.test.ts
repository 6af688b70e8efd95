import t from 'tap';
import { formatNfsUrl, NfsUrlError, parseNfsUrl, type NfsUrl } from '../../src/nfs/nfs-url.ts';

t.test('parses libnfs-style URLs', async (t) => {
  const cases: [string, NfsUrl][] = [
    ['nfs://127.0.0.1/export', { host: '127.0.0.1', path: '/export' }],
    ['nfs://server.example.com/srv/data/', { host: 'server.example.com', path: '/srv/data/' }],
    ['nfs://127.0.0.1/', { host: '127.0.0.1', path: '/' }],
    ['nfs://127.0.0.1:2049/export', { host: '127.0.0.1', path: '/export', nfsPort: 2049 }],
    [
      'nfs://127.0.0.1/tmp/kidfs-ganesha-x/export?nfsport=40001&mountport=40002',
      { host: '127.0.0.1', path: '/tmp/kidfs-ganesha-x/export', nfsPort: 40001, mountPort: 40002 },
    ],
    ['nfs://127.0.0.1/e?mountport=635', { host: '127.0.0.1', path: '/e', mountPort: 635 }],
    ['nfs://[::1]/export', { host: '::1', path: '/export' }],
    ['nfs://[fe80::1:2]:2049/export?mountport=20048', { host: 'fe80::1:2', path: '/export', nfsPort: 2049, mountPort: 20048 }],
    ['nfs://h:2049/e?nfsport=2049', { host: 'h', path: '/e', nfsPort: 2049 }],
    ['NFS://h/e', { host: 'h', path: '/e' }],
    ['nfs://h/with%20space/x%3Fy', { host: 'h', path: '/with space/x?y' }],
    ['nfs://h/e?', { host: 'h', path: '/e' }],
  ];
  for (const [url, expected] of cases) t.same(parseNfsUrl(url), expected, url);
});

t.test('refuses bad URLs with a one-line message naming the problem', async (t) => {
  const cases: [string, RegExp][] = [
    ['http://h/e', /is not an NFS URL/],
    ['nfs:/h/e', /is not an NFS URL/],
    ['/local/path', /is not an NFS URL/],
    ['nfs:///export', /names no server/],
    ['nfs://h', /has no export path/],
    ['nfs://h?nfsport=1', /has no export path/],
    ['nfs://h:0/e', /port '0' .* is not a TCP port/],
    ['nfs://h:65536/e', /port '65536' .* is not a TCP port/],
    ['nfs://h:/e', /port '' .* is not a TCP port/],
    ['nfs://h:x/e', /port 'x'/],
    ['nfs://h/e?nfsport=abc', /nfsport 'abc' .* is not a TCP port/],
    ['nfs://h/e?mountport=-1', /mountport '-1'/],
    ['nfs://h/e?mountport=1.5', /mountport '1.5'/],
    ['nfs://h/e?uid=0', /unknown option 'uid' \(kidfs knows nfsport, mountport\)/],
    ['nfs://h/e?version=4', /unknown option 'version'/],
    ['nfs://h/e?nfsport', /option 'nfsport' needs a value/],
    ['nfs://h/e?nfsport=1&nfsport=2', /option 'nfsport' is given twice/],
    ['nfs://h:2049/e?nfsport=2050', /port 2049 and nfsport=2050 disagree/],
    ['nfs://::1/e', /write IPv6 addresses in brackets/],
    ['nfs://[::1/e', /not a bracketed IPv6 address/],
    ['nfs://[zz]/e', /not a bracketed IPv6 address/],
    ['nfs://[::1]x/e', /unexpected 'x' after the IPv6 address/],
    ['nfs://user@h/e', /user names in NFS URLs are not supported/],
    ['nfs://bad_host/e', /'bad_host' is not a host name/],
    ['nfs://h/e#frag', /take no #fragment/],
    ['nfs://h/bad%zzescape', /malformed percent escape/],
    ['nfs://h/nul%00byte', /NUL byte/],
  ];
  for (const [url, message] of cases) {
    const err = t.throws(() => parseNfsUrl(url), NfsUrlError, url) as Error;
    t.match(err.message, message, url);
    t.notMatch(err.message, /\n/, `${url}: one line`);
  }
});

t.test('formatNfsUrl writes what parseNfsUrl reads', async (t) => {
  const urls: NfsUrl[] = [
    { host: '127.0.0.1', path: '/e', nfsPort: 1, mountPort: 2 },
    { host: '::1', path: '/a b/c?d', mountPort: 635 },
    { host: 'h', path: '/' },
  ];
  for (const url of urls) t.same(parseNfsUrl(formatNfsUrl(url)), url, formatNfsUrl(url));
  t.equal(formatNfsUrl({ host: '::1', path: '/e', nfsPort: 7 }), 'nfs://[::1]/e?nfsport=7');
});
