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

/**
 * Reassembles records from a TCP byte stream cut anywhere. A record comes back as a view of the chunk
 * it arrived in when it fits in one, else as one buffer joined once when its last fragment completes.
 */
export class RecordDecoder {
  private readonly header = Buffer.alloc(4);
  private headerFilled = 0;
  /** Bytes still to come of the current fragment; -1 while reading a header. */
  private fragmentLeft = -1;
  private lastFragment = false;
  private parts: Buffer[] = [];
  private recordLength = 0;

  constructor(private readonly maxRecordSize = DEFAULT_MAX_RECORD_SIZE) {}

  /** Consumes one chunk and returns the records it completed, in order. Throws RecordMarkingError. */
  push(chunk: Buffer): Buffer[] {
    const records: Buffer[] = [];
    let pos = 0;
    while (pos < chunk.length) {
      if (this.fragmentLeft < 0) {
        const n = Math.min(4 - this.headerFilled, chunk.length - pos);
        chunk.copy(this.header, this.headerFilled, pos, pos + n);
        this.headerFilled += n;
        pos += n;
        if (this.headerFilled < 4) break;
        this.startFragment(this.header.readUInt32BE(0));
      } else {
        const n = Math.min(this.fragmentLeft, chunk.length - pos);
        if (n > 0) this.parts.push(chunk.subarray(pos, pos + n));
        this.fragmentLeft -= n;
        pos += n;
      }
      if (this.fragmentLeft === 0) {
        this.fragmentLeft = -1;
        if (this.lastFragment) records.push(this.takeRecord());
      }
    }
    return records;
  }

  private startFragment(word: number): void {
    this.headerFilled = 0;
    const length = word & MAX_FRAGMENT_LENGTH;
    if (length > this.maxRecordSize - this.recordLength) {
      throw new RecordMarkingError(
        `fragment of ${length} bytes would make a record of ${this.recordLength + length} bytes, ` +
          `over the limit of ${this.maxRecordSize}: the stream is garbled or not ONC RPC`,
      );
    }
    this.lastFragment = word >= LAST_FRAGMENT;
    this.fragmentLeft = length;
    this.recordLength += length;
  }

  private takeRecord(): Buffer {
    const record = this.parts.length === 1 ? this.parts[0]! : Buffer.concat(this.parts, this.recordLength);
    this.parts = [];
    this.recordLength = 0;
    return record;
  }
}
