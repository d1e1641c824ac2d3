/**
 * Partitioners: which reducer a key goes to. The default hashes the key with
 * 32-bit FNV-1a over its UTF-16 code units, so every node, every run and
 * every Node.js version agrees.
 */
export function hashKey(key: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) {
    h ^= key.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

export function hashPartition(key: string, reducers: number): number {
  return hashKey(key) % reducers;
}

/**
 * Total order: reducer i takes the keys k with splitPoints[i-1] <= k < splitPoints[i]
 * (Hadoop's TotalOrderPartitioner). `compare` orders keys; splitPoints are sorted by it.
 */
export function rangePartitioner(splitPoints: readonly string[], compare: (a: string, b: string) => number): (key: string) => number {
  return (key) => {
    let lo = 0;
    let hi = splitPoints.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (compare(key, splitPoints[mid]!) < 0) hi = mid;
      else lo = mid + 1;
    }
    return lo;
  };
}
