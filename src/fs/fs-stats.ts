// Counters of one file system, for metrics and tests: plain numbers, only ever increased (high-water marks only raised).

export class FsStats {
  /** Operations called through the API, by name (e.g. ops.write). */
  readonly ops: Record<string, number> = {};
  /** Operations that failed, by errno name. */
  readonly errors: Record<string, number> = {};
  /** Bytes the application wrote / was given by read(). */
  bytesWritten = 0;
  bytesRead = 0;
  /** WRITE calls and their payload, replays included. */
  writeRpcs = 0;
  writeRpcBytes = 0;
  /** READ calls and their payload (read-ahead included). */
  readRpcs = 0;
  readRpcBytes = 0;
  /** Buffers allocated for READ replies of read-ahead (the rest reuse pooled ones). */
  readBuffersAllocated = 0;
  commits = 0;
  /** Chunks sent again because a COMMIT's verifier differed from their WRITE's (the server restarted). */
  replayedChunks = 0;
  /** WRITE replies that took fewer bytes than sent (the rest is sent again). */
  shortWrites = 0;
  /** Operations that met a STALE handle and looked the path up again. */
  staleRetries = 0;
  /** The most data any one file held uncommitted (bounded by maxUncommittedBytes). */
  uncommittedHighWater = 0;
  /** The most WRITEs any one file had in flight at once. */
  writesInFlightHighWater = 0;

  op(name: string): void {
    this.ops[name] = (this.ops[name] ?? 0) + 1;
  }

  error(code: string): void {
    this.errors[code] = (this.errors[code] ?? 0) + 1;
  }

  holding(bytes: number): void {
    if (bytes > this.uncommittedHighWater) this.uncommittedHighWater = bytes;
  }

  writing(inFlight: number): void {
    if (inFlight > this.writesInFlightHighWater) this.writesInFlightHighWater = inFlight;
  }
}
