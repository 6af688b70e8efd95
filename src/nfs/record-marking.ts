// RFC 5531 section 11, record marking: over TCP every RPC message is a record sent as one or more
// fragments, each behind a 4-byte header (top bit: last fragment; low 31 bits: fragment length).

const LAST_FRAGMENT = 0x80000000;
const MAX_FRAGMENT_LENGTH = 0x7fffffff;

/**
 * The largest record the client accepts: a READ reply may carry 64 MiB of data (ganesha's rtmax),
 * so 80 MiB leaves room for the reply header while a garbage length still fails fast.
 */
export const DEFAULT_MAX_RECORD_SIZE = 80 * 1024 * 1024;

/** The byte stream is not a valid sequence of records: the connection cannot be read any further. */
export class RecordMarkingError extends Error {
  override name = 'RecordMarkingError';
}

/** The header word of a fragment of `length` bytes. */
export function fragmentHeaderWord(length: number, last: boolean): number {
  if (!Number.isInteger(length) || length < 0 || length > MAX_FRAGMENT_LENGTH) {
    throw new RangeError(`fragment length must be an integer from 0 to ${MAX_FRAGMENT_LENGTH}, got ${length}`);
  }
  return (last ? LAST_FRAGMENT : 0) + length;
}

function fragmentHeader(length: number, last: boolean): Buffer {
  const header = Buffer.allocUnsafe(4);
  header.writeUInt32BE(fragmentHeaderWord(length, last), 0);
  return header;
}

/**
 * One record as the buffers to write in order (headers and views of `payload`, nothing copied),
 * cut into fragments of at most `maxFragmentLength` bytes.
 */
export function encodeRecord(payload: Buffer, maxFragmentLength = MAX_FRAGMENT_LENGTH): Buffer[] {
  if (!Number.isInteger(maxFragmentLength) || maxFragmentLength < 1 || maxFragmentLength > MAX_FRAGMENT_LENGTH) {
    throw new RangeError(`maxFragmentLength must be an integer from 1 to ${MAX_FRAGMENT_LENGTH}, got ${maxFragmentLength}`);
  }
  const out: Buffer[] = [];
  let offset = 0;
  do {
    const end = Math.min(payload.length, offset + maxFragmentLength);
    out.push(fragmentHeader(end - offset, end === payload.length));
    if (end > offset) out.push(payload.subarray(offset, end));
    offset = end;
  } while (offset < payload.length);
  return out;
}

export interface RecordReaderOptions {
  /** The largest record accepted (default DEFAULT_MAX_RECORD_SIZE). */
  readonly maxRecordSize?: number;
  /**
   * A buffer to read the single-fragment record of `length` bytes with this xid (its first 4 bytes) into, lent by
   * its receiver: used when it is at least `length` long (the record is then a view of its start), else ignored.
   */
  readonly bufferFor?: (length: number, xid: number) => Buffer | undefined;
}

/** How much the socket reads at once when it is not reading into a fragment's own buffer. */
const SCRATCH_SIZE = 64 * 1024;

/**
 * Reassembles records from a TCP byte stream, reading them where they will stay. The socket asks nextBuffer() where
 * to read and reports with onRead() how much it got. While a scratch buffer's worth or more of a fragment is still to
 * come, that buffer is the fragment's own: the kernel's copy is the only one, and a scratch read could not have fetched
 * more anyway. Otherwise it is a small scratch buffer, which may also catch the next records, whose bytes are copied out.
 *
 * Each record is a buffer of its own that the reader never touches again: callers may keep it, and views into it.
 * A single-fragment record may instead be read into a buffer its receiver lends (`bufferFor`), until `detach`.
 */
export class RecordReader {
  private readonly scratch = Buffer.allocUnsafe(SCRATCH_SIZE);
  private readonly header = Buffer.alloc(4);
  private headerFilled = 0;
  /** The fragment being read, allocated whole once its header is checked; undefined while reading a header. */
  private fragment?: Buffer;
  private fragmentFilled = 0;
  private lastFragment = false;
  /** The current record's earlier fragments. */
  private parts: Buffer[] = [];
  /** Bytes of the current record, the fragment being read included. */
  private recordLength = 0;
  /** The buffer handed out last is the fragment's own, not the scratch buffer. */
  private direct = false;

  private readonly maxRecordSize: number;
  private readonly bufferFor?: (length: number, xid: number) => Buffer | undefined;

  constructor(
    /** Called with each record, in order, as soon as its last fragment is complete. */
    private readonly onRecord: (record: Buffer) => void,
    { maxRecordSize = DEFAULT_MAX_RECORD_SIZE, bufferFor }: RecordReaderOptions = {},
  ) {
    this.maxRecordSize = maxRecordSize;
    this.bufferFor = bufferFor;
  }

  /** Where the next read should go: it may fill any prefix of this buffer. */
  nextBuffer(): Buffer {
    const left = this.fragment ? this.fragment.length - this.fragmentFilled : 0;
    this.direct = left >= this.scratch.length;
    return this.direct ? this.fragment!.subarray(this.fragmentFilled) : this.scratch;
  }

  /**
   * Stops filling `buffer`, lent through bufferFor, so that its owner may reuse it: a fragment being read into it
   * moves to a buffer of its own (the bytes so far copied), and the record still arrives whole. Returns false when
   * that cannot be kept: the read handed out by nextBuffer() last already aims into `buffer` (a socket fixes the
   * buffer of its next read in advance), and only closing the socket stops it from being written.
   */
  detach(buffer: Buffer): boolean {
    const fragment = this.fragment;
    const inside =
      fragment !== undefined &&
      fragment.buffer === buffer.buffer &&
      fragment.byteOffset >= buffer.byteOffset &&
      fragment.byteOffset < buffer.byteOffset + buffer.byteLength;
    if (!inside) return true;
    if (this.direct) return false;
    this.fragment = Buffer.allocUnsafe(fragment.length);
    fragment.copy(this.fragment, 0, 0, this.fragmentFilled);
    return true;
  }

  /** The read into the buffer nextBuffer() returned last got `bytes` bytes. Throws RecordMarkingError. */
  onRead(bytes: number): void {
    if (!this.direct) {
      this.push(this.scratch.subarray(0, bytes));
      return;
    }
    this.fragmentFilled += bytes;
    if (this.fragmentFilled === this.fragment!.length) this.endFragment();
  }

  /** Consumes bytes read elsewhere (a 'data' event's chunk), copying them: `chunk` may be reused. Throws RecordMarkingError. */
  push(chunk: Buffer): void {
    let pos = 0;
    while (pos < chunk.length) {
      if (this.fragment) {
        const n = chunk.copy(this.fragment, this.fragmentFilled, pos);
        this.fragmentFilled += n;
        pos += n;
      } else {
        const n = chunk.copy(this.header, this.headerFilled, pos);
        this.headerFilled += n;
        pos += n;
        if (this.headerFilled === 4)
          this.startFragment(this.header.readUInt32BE(0), pos + 4 <= chunk.length ? chunk.readUInt32BE(pos) : undefined);
      }
      if (this.fragment && this.fragmentFilled === this.fragment.length) this.endFragment();
    }
  }

  /** `xid`: the fragment's first 4 bytes, when they are at hand. */
  private startFragment(word: number, xid: number | undefined): void {
    this.headerFilled = 0;
    const length = word & MAX_FRAGMENT_LENGTH;
    if (length > this.maxRecordSize - this.recordLength) {
      throw new RecordMarkingError(
        `fragment of ${length} bytes would make a record of ${this.recordLength + length} bytes, ` +
          `over the limit of ${this.maxRecordSize}: the stream is garbled or not ONC RPC`,
      );
    }
    this.lastFragment = word >= LAST_FRAGMENT;
    this.recordLength += length;
    const single = this.lastFragment && this.recordLength === length && length >= 4;
    const lent = single && xid !== undefined ? this.bufferFor?.(length, xid) : undefined;
    this.fragment = lent && lent.length >= length ? lent.subarray(0, length) : Buffer.allocUnsafe(length);
    this.fragmentFilled = 0;
  }

  private endFragment(): void {
    const fragment = this.fragment!;
    this.fragment = undefined;
    if (!this.lastFragment) {
      if (fragment.length > 0) this.parts.push(fragment); // endless empty fragments must not grow the list
      return;
    }
    const record = this.parts.length === 0 ? fragment : Buffer.concat([...this.parts, fragment], this.recordLength);
    this.parts = [];
    this.recordLength = 0;
    this.onRecord(record);
  }
}
