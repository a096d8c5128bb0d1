/** Bucket arithmetic of the expiry index. */
export class ExpiryBuckets {
  constructor(readonly bucketMs: number) {}

  bucketOf(at: number): number {
    return Math.floor(at / this.bucketMs);
  }

  /**
   * The bucket an entry is written to: its expiry's, but never one before the current bucket.
   * GC keeps a cursor and never walks back before the current bucket (minus a margin), so an
   * entry for an already expired record must land where GC will still look.
   */
  indexBucket(expiresAt: number): number {
    return Math.max(this.bucketOf(expiresAt), this.bucketOf(Date.now()));
  }

  /** `indexBucket` as the index's set key. Upserts mostly land in one bucket: its key string is reused. */
  indexKey(expiresAt: number): string {
    const bucket = this.indexBucket(expiresAt);
    if (bucket !== this.lastBucket) {
      this.lastBucket = bucket;
      this.lastKey = String(bucket);
    }
    return this.lastKey;
  }

  private lastBucket = Number.NaN;
  private lastKey = "";
}

/** Buckets GC re-reads behind the current one, so writers whose clock lags a little are not missed. */
export const CURSOR_MARGIN = 2;
