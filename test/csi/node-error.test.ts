// asNodeError: the one place a lower layer's refusal becomes the gRPC status kubelet, the provisioner, the control
// socket and FlexVolume see. The file-system layer's refusals (walking to a volume's directory, provisioning it) keep
// their message and get the status their errno means.
import t from 'tap';
import { asNodeError, NodeError } from '../../src/csi/node-error.ts';
import { FsError } from '../../src/fs/fs-error.ts';
import { Errno } from '../../src/fs/errno.ts';

t.test('an FsError gets the status its errno means, with its message', async (t) => {
  const cases: [number, string][] = [
    [Errno.ENOENT, 'NOT_FOUND'],
    [Errno.EEXIST, 'ALREADY_EXISTS'],
    [Errno.EACCES, 'PERMISSION_DENIED'],
    [Errno.EINVAL, 'INVALID_ARGUMENT'],
    [Errno.EREMOTEIO, 'UNAVAILABLE'],
    // The server's tree is not in the state kidfs requires: a symlink or a file on the way, a directory others can write.
    [Errno.ENOTDIR, 'FAILED_PRECONDITION'],
    [Errno.EPERM, 'FAILED_PRECONDITION'],
  ];
  for (const [errno, code] of cases) {
    const error = asNodeError(new FsError(errno, `refused with errno ${errno}`));
    t.same({ code: error.code, message: error.message }, { code, message: `refused with errno ${errno}` }, `errno ${errno}: ${code}`);
  }
});

t.test('a NodeError passes as it is; anything unexpected is INTERNAL with its first line', async (t) => {
  const own = new NodeError('RESOURCE_EXHAUSTED', 'too many mounts');
  t.equal(asNodeError(own), own);
  const unexpected = asNodeError(new Error('cannot mount FUSE on /x: fuse failed\nstack'));
  t.same({ code: unexpected.code, message: unexpected.message }, { code: 'INTERNAL', message: 'cannot mount FUSE on /x: fuse failed' });
});

t.test('the NodeError keeps what it stands for as its cause', async (t) => {
  const refusal = new FsError(Errno.EPERM, 'not trusted');
  t.equal(asNodeError(refusal).cause, refusal, 'an FsError');
  const unexpected = new TypeError('a bug');
  t.equal(asNodeError(unexpected).cause, unexpected, 'anything else');
});
