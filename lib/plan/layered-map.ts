// A read-only map made from another and a few changes, without copying the other: the changes lie
// on top of a shared base. A table's parts (tens of thousands of service ports) are the last
// table's parts but one, and both tables stay whole: the applied one is what the next diff starts from.
const GONE = Symbol('gone');

export class LayeredMap<K, V> implements ReadonlyMap<K, V> {
  private readonly base: ReadonlyMap<K, V>;
  private readonly top: ReadonlyMap<K, V | typeof GONE>;
  readonly size: number;

  private constructor(base: ReadonlyMap<K, V>, top: ReadonlyMap<K, V | typeof GONE>, size: number) {
    this.base = base;
    this.top = top;
    this.size = size;
  }

  static of<K, V>(map: ReadonlyMap<K, V>): LayeredMap<K, V> {
    return map instanceof LayeredMap ? map : new LayeredMap(map, new Map(), map.size);
  }

  /** This map with `changes` made (a value of undefined: the key goes); this map stays as it is. */
  with(changes: Iterable<[K, V | undefined]>): LayeredMap<K, V> {
    const top = new Map(this.top);
    let size = this.size;
    for (const [k, v] of changes) {
      const had = top.has(k) ? top.get(k) !== GONE : this.base.has(k);
      if (v === undefined) {
        if (!had) continue;
        if (this.base.has(k)) top.set(k, GONE); else top.delete(k);
        size--;
      } else {
        top.set(k, v);
        if (!had) size++;
      }
    }
    // The layer is copied at every change: past a size it is folded into a new base (amortized, one
    // copy of the whole map per that many changed keys).
    if (top.size > Math.max(256, this.base.size >> 6)) return new LayeredMap(new Map(this.layered(top)), new Map(), size);
    return new LayeredMap(this.base, top, size);
  }

  get(k: K): V | undefined {
    const v = this.top.get(k);
    if (v === GONE) return undefined;
    return v !== undefined ? v : this.base.get(k);
  }

  has(k: K): boolean {
    const v = this.top.get(k);
    return v === undefined ? this.base.has(k) : v !== GONE;
  }

  /** The base's order, changed values where they were; new keys after, in the order they came. */
  *entries(): MapIterator<[K, V]> {
    yield* this.layered(this.top);
  }

  private *layered(top: ReadonlyMap<K, V | typeof GONE>): Generator<[K, V]> {
    for (const [k, v] of this.base) {
      const t = top.get(k);
      if (t === GONE) continue;
      yield [k, t !== undefined ? t : v];
    }
    for (const [k, t] of top) if (t !== GONE && !this.base.has(k)) yield [k, t];
  }

  *keys(): MapIterator<K> {
    for (const [k] of this.entries()) yield k;
  }

  *values(): MapIterator<V> {
    for (const [, v] of this.entries()) yield v;
  }

  [Symbol.iterator](): MapIterator<[K, V]> {
    return this.entries();
  }

  forEach(fn: (value: V, key: K, map: ReadonlyMap<K, V>) => void): void {
    for (const [k, v] of this.entries()) fn(v, k, this);
  }
}
