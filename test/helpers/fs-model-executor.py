#!/usr/bin/env python3
# Applies each file-system operation it reads (one JSON object per line on stdin) to two trees at once, the kidfs
# mount and a reference directory on local disk, and writes one JSON line back: the result on each, then a snapshot of
# each tree (every name: type, permission bits, size, nlink, content hash, which names are one file). The test
# compares them. A third root, another mount of the same export, is read after each close (close-to-open).
# Runs in a process of its own: the process serving a mount must never wait on a call into it.
import ctypes, errno, hashlib, json, mmap, os, shutil, stat, sys, time

MOUNT, REFERENCE, OTHER_HOST = sys.argv[1:4]
LIBC = ctypes.CDLL(None, use_errno=True)
LIBC.fallocate.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int64, ctypes.c_int64]
ACCESS = {'r': os.O_RDONLY, 'w': os.O_WRONLY, 'rw': os.O_RDWR}
FLAGS = {'creat': os.O_CREAT, 'excl': os.O_EXCL, 'trunc': os.O_TRUNC, 'append': os.O_APPEND}


def pattern(length, seed):
    return bytes((seed + i * 7) % 251 for i in range(length))


def digest(data):
    return f'{len(data)}:{hashlib.sha1(data).hexdigest()[:16]}'


class Tree:
    """One root and its open fds (slot -> fd); paths are relative to the run's directory."""

    def __init__(self, root, is_reference):
        self.root = root
        self.is_reference = is_reference
        self.run = root
        self.fds = {}
        # slot -> the path it was opened by
        self.paths = {}

    def path(self, name):
        return os.path.join(self.run, name)

    def close_all(self):
        for fd in self.fds.values():
            os.close(fd)
        self.fds.clear()
        self.paths.clear()

    def fd(self, slot):
        if slot not in self.fds:
            raise OSError(errno.EBADF, 'slot not open')
        return self.fds[slot]


def apply(tree, op):
    """The result of one operation on one tree: a value, or the errno's name."""
    kind, a = op['op'], op
    if kind == 'open':
        if a['slot'] in tree.fds:
            tree.paths.pop(a['slot'])
            os.close(tree.fds.pop(a['slot']))
        flags = ACCESS[a['access']]
        for flag in a['flags']:
            flags |= FLAGS[flag]
        tree.fds[a['slot']] = os.open(tree.path(a['path']), flags, a['mode'])
        tree.paths[a['slot']] = a['path']
        return 'opened'
    if kind == 'close':
        tree.paths.pop(a['slot'], None)
        os.close(tree.fds.pop(a['slot']) if a['slot'] in tree.fds else -1)
        return 'closed'
    if kind == 'write':
        return os.write(tree.fd(a['slot']), pattern(a['length'], a['seed']))
    if kind == 'pwrite':
        return os.pwrite(tree.fd(a['slot']), pattern(a['length'], a['seed']), a['offset'])
    if kind == 'read':
        return digest(os.read(tree.fd(a['slot']), a['length']))
    if kind == 'pread':
        return digest(os.pread(tree.fd(a['slot']), a['length'], a['offset']))
    if kind == 'seek':
        return os.lseek(tree.fd(a['slot']), a['offset'], a['whence'])
    if kind == 'ftruncate':
        os.ftruncate(tree.fd(a['slot']), a['size'])
        return os.fstat(tree.fd(a['slot'])).st_size
    if kind == 'truncate':
        os.truncate(tree.path(a['path']), a['size'])
        return 'truncated'
    if kind == 'fsync':
        os.fsync(tree.fd(a['slot']))
        return os.fstat(tree.fd(a['slot'])).st_size
    if kind == 'fstat':
        s = os.fstat(tree.fd(a['slot']))
        return [stat.S_IFMT(s.st_mode), s.st_size, s.st_nlink]
    if kind in ('mmap_read', 'mmap_write'):
        fd = tree.fd(a['slot'])
        writing = kind == 'mmap_write'
        try:
            mapped = mmap.mmap(fd, 0, access=mmap.ACCESS_WRITE if writing else mmap.ACCESS_READ)
        except (ValueError, OSError) as e:
            return f'mmap failed: {errno.errorcode.get(getattr(e, "errno", None) or 0, "ValueError")}'
        with mapped:
            end = min(len(mapped), a['offset'] + a['length'])
            start = min(a['offset'], end)
            if not writing:
                return digest(mapped[start:end])
            mapped[start:end] = pattern(end - start, a['seed'])
            mapped.flush()
            return end - start
    if kind == 'copy':
        # As programs do it: until the whole length is copied or the source ends (0).
        src, dst = tree.fd(a['from']), tree.fd(a['to'])
        copied, offset_in, offset_out = 0, a['fromOffset'], a['toOffset']
        while copied < a['length']:
            n = os.copy_file_range(src, dst, a['length'] - copied, offset_in + copied, offset_out + copied)
            if n == 0:
                break
            copied += n
        return copied
    if kind == 'fallocate':
        # fallocate(2) itself: posix_fallocate would hide an EOPNOTSUPP behind glibc's own emulation.
        if LIBC.fallocate(tree.fd(a['slot']), 0, a['offset'], a['length']) != 0:
            raise OSError(ctypes.get_errno(), 'fallocate')
        return os.fstat(tree.fd(a['slot'])).st_size
    if kind == 'rename':
        os.rename(tree.path(a['from']), tree.path(a['to']))
        return 'renamed'
    if kind == 'link':
        os.link(tree.path(a['from']), tree.path(a['to']))
        return 'linked'
    if kind == 'symlink':
        os.symlink(a['target'], tree.path(a['path']))
        return 'made'
    if kind == 'readlink':
        return os.readlink(tree.path(a['path']))
    if kind == 'unlink':
        os.unlink(tree.path(a['path']))
        return 'removed'
    if kind == 'mkdir':
        os.mkdir(tree.path(a['path']), a['mode'])
        return 'made'
    if kind == 'rmdir':
        os.rmdir(tree.path(a['path']))
        return 'removed'
    if kind == 'chmod':
        mode = a['mode']
        if tree.is_reference:
            # What kidfs does on purpose (README, POSIX behaviour): no setuid, no setgid but on directories.
            mode &= ~(stat.S_ISUID | (0 if os.path.isdir(tree.path(a['path'])) else stat.S_ISGID))
        os.chmod(tree.path(a['path']), mode)
        return 'changed'
    if kind == 'utime':
        os.utime(tree.path(a['path']), ns=(a['atime'], a['mtime']))
        s = os.stat(tree.path(a['path']))
        return [s.st_atime_ns, s.st_mtime_ns]
    if kind == 'verify':
        return 'compared'
    if kind == 'stat':
        s = os.stat(tree.path(a['path']))
        return [stat.S_IFMT(s.st_mode), s.st_mode & 0o7777, s.st_size, s.st_nlink]
    raise ValueError(f'unknown operation {kind!r}')


def result(tree, op):
    if op['op'].startswith('mmap'):
        return in_child(lambda: plain_result(tree, op))
    return plain_result(tree, op)


def plain_result(tree, op):
    try:
        return {'ok': apply(tree, op)}
    except OSError as e:
        return {'errno': errno.errorcode.get(e.errno, str(e.errno))}


def in_child(work):
    """`work()` in a forked child: a page the file system cannot fill kills a process that touches its mapping (SIGBUS),
    which is then the result, and the executor goes on."""
    readable, writable = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(readable)
        try:
            os.write(writable, json.dumps(work()).encode())
        finally:
            os._exit(0)
    os.close(writable)
    with os.fdopen(readable, 'rb') as pipe:
        data = pipe.read()
    _, status = os.waitpid(pid, 0)
    if os.WIFSIGNALED(status):
        return {'signal': os.WTERMSIG(status)}
    return json.loads(data)


def snapshot(tree, contents):
    """Every name below the run's directory, and which of them are one file; with `contents`, what each file holds (read
    through a new fd, which would send the mount's pending writes: only after close, fsync and at the end)."""
    names, inodes = {}, {}
    for dirpath, dirnames, filenames in os.walk(tree.run):
        for name in sorted(dirnames + filenames):
            full = os.path.join(dirpath, name)
            rel = os.path.relpath(full, tree.run)
            try:
                s = os.lstat(full)
            except OSError as e:
                names[rel] = errno.errorcode.get(e.errno)
                continue
            entry = [stat.S_IFMT(s.st_mode), s.st_mode & 0o7777, s.st_nlink]
            if stat.S_ISREG(s.st_mode):
                entry.append(s.st_size)
                if contents:
                    entry.append(content(full))
                inodes.setdefault(s.st_ino, []).append(rel)
            elif stat.S_ISLNK(s.st_mode):
                entry.append(os.readlink(full))
            names[rel] = entry
    links = sorted(sorted(group) for group in inodes.values() if len(group) > 1)
    return {'names': names, 'links': links}


def answered_as_open(mount, snapshots):
    """FUSE sends fstat of an open file as a stat of its path, so kidfs answers that path from the open file even
    when search permission above it was taken away (README, POSIX behaviour): such a name is not compared."""
    open_inodes = {os.fstat(fd).st_ino for fd in mount.fds.values()}
    for name, entry in snapshots['reference']['names'].items():
        if entry == 'EACCES' and isinstance(snapshots['mount']['names'].get(name), list):
            try:
                if os.lstat(mount.path(name)).st_ino in open_inodes:
                    snapshots['mount']['names'][name] = entry
            except OSError:
                pass


def other_host_view(mount, reference, path):
    """After a close: the closed path read through another mount equals the reference, unless the file is still open."""
    if not path:
        return None
    try:
        s = os.stat(reference.path(path))
    except OSError:
        return None
    if not stat.S_ISREG(s.st_mode) or any(os.fstat(fd).st_ino == s.st_ino for fd in reference.fds.values()):
        return None
    run = os.path.relpath(mount.run, mount.root)
    return {'expected': content(reference.path(path)), 'seen': content(os.path.join(OTHER_HOST, run, path))}


def content(path):
    """The file's length and hash, or the errno's name."""
    try:
        with open(path, 'rb') as f:
            return digest(f.read())
    except OSError as e:
        return errno.errorcode.get(e.errno)


def chmod_tree(root):
    """Lets rmtree into every directory (a run may have taken search or write permission away)."""
    for dirpath, dirnames, _ in os.walk(root):
        for name in dirnames:
            full = os.path.join(dirpath, name)
            if not os.path.islink(full):
                os.chmod(full, 0o755)


def remove_mount_tree(root):
    """remove_tree of the mount's run; None, or why it could not (a hidden name is left: readdir never lists it)."""
    try:
        remove_tree(root)
        return None
    except OSError as e:
        if e.errno != errno.ENOTEMPTY:
            raise
        return str(e)


def remove_tree(root):
    """rmtree; a file unlinked while open keeps its directory until the mount has the release of its last fd, which
    the kernel sends after close() returns: waits for that (at most 10 s)."""
    deadline = time.monotonic() + 10
    while True:
        try:
            shutil.rmtree(root)
            return
        except OSError as e:
            if e.errno != errno.ENOTEMPTY or time.monotonic() > deadline:
                raise
            time.sleep(0.01)


def stats_open_file_below_unsearchable(reference, op):
    """A stat, by its path, of a file open through that path below a directory the identity may no longer search:
    FUSE asks for it as for the open file, which kidfs answers (listed in the README); skipped on both trees."""
    if op['op'] != 'stat' or op['path'] not in reference.paths.values():
        return False
    parent = os.path.dirname(op['path'])
    while parent:
        if not os.access(reference.path(parent), os.X_OK):
            return True
        parent = os.path.dirname(parent)
    return False


def main():
    os.umask(0o022)
    mount, reference = Tree(MOUNT, False), Tree(REFERENCE, True)
    for line in sys.stdin:
        op = json.loads(line)
        reply = {}
        if op['op'] == 'begin':
            for tree in (mount, reference):
                tree.close_all()
                tree.run = os.path.join(tree.root, op['name'])
                os.mkdir(tree.run)
        elif op['op'] == 'end':
            for tree in (mount, reference):
                # Permissions first: a file unlinked while open keeps a hidden name until its last close, and that
                # name can be removed only where the identity may still write (as with any NFS client's .nfs names).
                os.chmod(tree.run, 0o755)
                chmod_tree(tree.run)
                tree.close_all()
            remove_tree(reference.run)
            reply['leftover'] = remove_mount_tree(mount.run)
        elif op['op'] == 'purge':
            # Hidden names a close could not remove (see ModelExecutor.check): removed by name, then the tree.
            for path in op['paths']:
                try:
                    os.unlink(os.path.join(mount.run, path))
                except FileNotFoundError:
                    pass
            reply['leftover'] = remove_mount_tree(mount.run)
        else:
            known = stats_open_file_below_unsearchable(reference, op)
            if not op.get('skip') and not known:
                closed = mount.paths.get(op['slot']) if op['op'] == 'close' else None
                reply['mount'] = result(mount, op)
                # A clean EOPNOTSUPP is a right answer to fallocate: then the reference is left as it is too.
                unsupported = op['op'] == 'fallocate' and reply['mount'].get('errno') in ('EOPNOTSUPP', 'ENOTSUP')
                reply['reference'] = reply['mount'] if unsupported else result(reference, op)
                if closed:
                    reply['otherHost'] = other_host_view(mount, reference, closed)
            contents = op['op'] in ('close', 'fsync', 'verify')
            reply['snapshot'] = {'mount': snapshot(mount, contents), 'reference': snapshot(reference, contents)}
            answered_as_open(mount, reply['snapshot'])
        sys.stdout.write(json.dumps(reply) + '\n')
        sys.stdout.flush()


main()
