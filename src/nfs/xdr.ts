// XDR (RFC 4506) encoding: big-endian, every item padded to a multiple of four bytes.

/** A reply or message that does not decode: truncated, a length past the end, or a value out of range. */
export class XdrError extends Error {
  override name = 'XdrError';
}

const pad4 = (n: number): number => (4 - (n & 3)) & 3;

export class XdrWriter {
  private buf: Buffer;
  private pos = 0;

  constructor(initialSize = 256) {
    this.buf = Buffer.allocUnsafe(initialSize);
  }

  get length(): number {
    return this.pos;
  }

  private reserve(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    // At least double (amortised growth), but no more than needed for one large item such as a WRITE's data:
    // rounding 1 MiB + header up to 2 MiB would allocate twice the memory per call.
    const next = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.pos + n));
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
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
    const padding = pad4(data.length);
    this.reserve(data.length + padding);
    this.buf.set(data, this.pos);
    this.pos += data.length;
    this.buf.fill(0, this.pos, this.pos + padding);
    this.pos += padding;
    return this;
  }

  /** Variable-length opaque: a length word, the bytes, padding. */
  opaque(data: Uint8Array): this {
    this.uint32(data.length);
    return this.fixedOpaque(data);
  }

  string(s: string): this {
    return this.opaque(Buffer.from(s, 'utf8'));
  }

  /** The encoded bytes; a view over the internal buffer, valid until the next write. */
  bytes(): Buffer {
    return this.buf.subarray(0, this.pos);
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

  /** An XDR optional (`*T`): a bool, then the value when present. */
  optional<T>(read: (r: XdrReader) => T): T | undefined {
    return this.bool() ? read(this) : undefined;
  }
}
