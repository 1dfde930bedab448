/** Bounded memory of routing keys whose trigger fired recently, to tell duplicates from strays. */
export class RecentKeys {
  private readonly keys = new Map<string, true>();

  constructor(private readonly max = 50_000) {}

  add(key: string): void {
    this.keys.delete(key);
    this.keys.set(key, true);
    if (this.keys.size > this.max) {
      const oldest = this.keys.keys().next();
      if (!oldest.done) this.keys.delete(oldest.value);
    }
  }

  has(key: string): boolean {
    return this.keys.has(key);
  }
}
