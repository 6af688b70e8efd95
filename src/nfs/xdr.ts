// XDR (RFC 4506) encoding: big-endian, every item padded to a multiple of four bytes.

/** A reply or message that does not decode: truncated, a length past the end, or a value out of range. */
export class XdrError extends Error {
  override name = 'XdrError';
}

const pad4 = (n: number): number => (4 - (n & 3)) & 3;

/** Opaques shorter than this are copied even when passed by reference: a separate piece to write costs more. */
const MIN_REFERENCED_OPAQUE = 4096;

export class XdrWriter {
  private buf: Buffer;
  private pos = 0;
  /** Finished pieces in order: earlier bytes of the writer's buffers, and opaques taken by reference. */
  private readonly done: Buffer[] = [];
  private doneLength = 0;
  /** Where the bytes of `buf` not yet in `done` start. */
  private start = 0;

  constructor(initialSize = 256) {
    this.buf = Buffer.allocUnsafe(initialSize);
  }

  /** Bytes encoded so far. */
  get length(): number {
    return this.doneLength + this.pos - this.start;
  }

  private reserve(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    // At least double (amortised growth), but no more than needed for one large item such as a WRITE's data:
    // rounding 1 MiB + header up to 2 MiB would allocate twice the memory per call.
    const live = this.pos - this.start;
    const next = Buffer.allocUnsafe(Math.max(this.buf.length * 2, live + n));
    this.buf.copy(next, 0, this.start, this.pos);
    this.buf = next;
    this.pos = live;
    this.start = 0;
  }

  uint32(v: number): this {
    if (!Number.isInteger(v) || v < 0 || v > 0xffffffff) throw new XdrError(`uint32 out of range: ${v}`);
    this.reserve(4);
    this.buf.writeUInt32BE(v, this.pos);
    this.pos += 4;
    return this;
  }

  int32(v: number): this {
    if (!Number.isInteger(v) || v < -0x80000000 || v > 0x7fffffff) throw new XdrError(`int32 out of range: ${v}`);
    this.reserve(4);
    this.buf.writeInt32BE(v, this.pos);
    this.pos += 4;
    return this;
  }

  uint64(v: bigint): this {
    if (v < 0n || v > 0xffffffffffffffffn) throw new XdrError(`uint64 out of range: ${v}`);
    this.reserve(8);
    this.buf.writeBigUInt64BE(v, this.pos);
    this.pos += 8;
    return this;
  }

  bool(v: boolean): this {
    return this.uint32(v ? 1 : 0);
  }

  /** Fixed-length opaque: exactly `data.length` bytes plus padding, no length word. */
  fixedOpaque(data: Uint8Array): this {
    this.reserve(data.length + pad4(data.length));
    this.buf.set(data, this.pos);
    this.pos += data.length;
    return this.padding(data.length);
  }

  /** Variable-length opaque: a length word, the bytes, padding. */
  opaque(data: Uint8Array): this {
    this.uint32(data.length);
    return this.fixedOpaque(data);
  }

  string(s: string): this {
    return this.opaque(Buffer.from(s, 'utf8'));
  }

  /** A file name or symlink target: bytes held one per character (latin1), as the FUSE adapter passes them. */
  byteString(s: string): this {
    return this.opaque(Buffer.from(s, 'latin1'));
  }

  /**
   * Variable-length opaque sent from `data` itself, not a copy (when it is large): `data` must not change until the
   * encoded message is no longer needed, i.e. sent, and sent again if it must be.
   */
  opaqueByReference(data: Uint8Array): this {
    if (data.length < MIN_REFERENCED_OPAQUE) return this.opaque(data);
    this.uint32(data.length);
    this.finishPiece();
    this.done.push(Buffer.from(data.buffer, data.byteOffset, data.length));
    this.doneLength += data.length;
    return this.padding(data.length);
  }

  /** The encoded bytes as pieces to write in order: views, nothing copied. */
  pieces(): Buffer[] {
    this.finishPiece();
    return [...this.done];
  }

  /** The encoded bytes as one buffer: a view over the internal buffer (valid until the next write), or a copy once pieces were made. */
  bytes(): Buffer {
    return this.done.length === 0 ? this.buf.subarray(0, this.pos) : Buffer.concat(this.pieces(), this.length);
  }

  /** The zero bytes that round an item of `length` bytes up to a multiple of four. */
  private padding(length: number): this {
    const n = pad4(length);
    this.reserve(n);
    this.buf.fill(0, this.pos, this.pos + n);
    this.pos += n;
    return this;
  }

  private finishPiece(): void {
    if (this.pos === this.start) return;
    this.done.push(this.buf.subarray(this.start, this.pos));
    this.doneLength += this.pos - this.start;
    this.start = this.pos;
  }
}

export class XdrReader {
  private pos: number;

  constructor(
    private readonly buf: Buffer,
    offset = 0,
  ) {
    this.pos = offset;
  }

  get offset(): number {
    return this.pos;
  }

  get remaining(): number {
    return this.buf.length - this.pos;
  }

  private need(n: number, what: string): void {
    if (this.pos + n > this.buf.length) {
      throw new XdrError(`truncated XDR: ${what} needs ${n} bytes at offset ${this.pos}, ${this.remaining} left`);
    }
  }

  uint32(): number {
    this.need(4, 'uint32');
    const v = this.buf.readUInt32BE(this.pos);
    this.pos += 4;
    return v;
  }

  int32(): number {
    this.need(4, 'int32');
    const v = this.buf.readInt32BE(this.pos);
    this.pos += 4;
    return v;
  }

  uint64(): bigint {
    this.need(8, 'uint64');
    const v = this.buf.readBigUInt64BE(this.pos);
    this.pos += 8;
    return v;
  }

  bool(): boolean {
    const v = this.uint32();
    if (v > 1) throw new XdrError(`bool must be 0 or 1, got ${v}`);
    return v === 1;
  }

  /** Bytes of a fixed-length opaque; a view into the message (copy it to keep it past the message). */
  fixedOpaque(length: number): Buffer {
    const padded = length + pad4(length);
    this.need(padded, `opaque<${length}>`);
    const out = this.buf.subarray(this.pos, this.pos + length);
    this.pos += padded;
    return out;
  }

  /** A variable-length opaque, refused when longer than `max` (the protocol's bound for that field). */
  opaque(max = 0xffffffff): Buffer {
    const length = this.uint32();
    if (length > max) throw new XdrError(`opaque length ${length} exceeds its limit of ${max}`);
    return this.fixedOpaque(length);
  }

  string(max = 0xffffffff): string {
    return this.opaque(max).toString('utf8');
  }

  /** A file name or symlink target as a byte string (latin1: one character per byte), so any bytes round-trip. */
  byteString(max = 0xffffffff): string {
    return this.opaque(max).toString('latin1');
  }

  /** An XDR optional (`*T`): a bool, then the value when present. */
  optional<T>(read: (r: XdrReader) => T): T | undefined {
    return this.bool() ? read(this) : undefined;
  }
}
