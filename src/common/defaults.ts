/** Job defaults, documented here and in the README; used by the master, workers and clients alike. */
export const JOB_DEFAULTS = {
  /** 64 MiB: input splits of this many bytes (the last may be up to 10% longer). */
  splitSize: 64 * 1024 * 1024,
  /** Memory limit of a map container. */
  mapMemoryMb: 512,
  /** Memory limit of a reduce container. */
  reduceMemoryMb: 512,
  /** A task attempt running longer than this is killed with cause TIMEOUT. */
  taskTimeoutMs: 10 * 60 * 1000,
  /** Share of a map container's memory used to buffer map output before spilling. */
  sortBufferFraction: 0.2,
} as const;
