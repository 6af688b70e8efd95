// What one mount holds now and how often it was held back.

/** What a mount holds and how often it was held back, for `kidfs status`. */
export interface MountUsage {
  readonly openFiles: number;
  /** Memory held now for write-back and read-ahead, the mount's share, the most it held, and calls that waited for it. */
  readonly memoryBytes: number;
  readonly memoryLimitBytes: number;
  readonly memoryHighWaterBytes: number;
  readonly memoryWaits: number;
  /** Read-ahead blocks not fetched for lack of memory. */
  readonly readAheadSkipped: number;
  /** The identity's rates this mount shares, and how its calls waited for them; absent without limits. */
  readonly qos?: {
    readonly bytesPerSecond?: number;
    readonly opsPerSecond?: number;
    readonly waits: number;
    readonly waitedMs: number;
  };
}
