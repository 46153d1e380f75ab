/**
 * A small seeded pseudo-random generator (xoshiro128**, seeded through splitmix32).
 * Every random choice of the Raft core and of the simulator comes from one of
 * these, so a seed replays a run exactly.
 */
export interface Prng {
  /** A uniformly distributed unsigned 32-bit integer. */
  nextUint32(): number;
  /** An integer in [0, maxExclusive). `maxExclusive` must be a positive safe integer ≤ 2^32. */
  int(maxExclusive: number): number;
  /** An integer in [min, max] (both inclusive). */
  intBetween(min: number, max: number): number;
  /** A float in [0, 1). */
  float(): number;
  /** True with the given probability in [0, 1]. */
  chance(probability: number): boolean;
  /** One element of a non-empty array. */
  pick<T>(items: readonly T[]): T;
}

export function createPrng(seed: number): Prng {
  let s = seed >>> 0;
  const splitmix = (): number => {
    s = (s + 0x9e3779b9) >>> 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    return (z ^ (z >>> 16)) >>> 0;
  };
  let a = splitmix();
  let b = splitmix();
  let c = splitmix();
  let d = splitmix();
  if ((a | b | c | d) === 0) a = 1; // xoshiro's state must not be all zero.

  const nextUint32 = (): number => {
    const result = Math.imul(rotl(Math.imul(b, 5) >>> 0, 7), 9) >>> 0;
    const t = (b << 9) >>> 0;
    c = (c ^ a) >>> 0;
    d = (d ^ b) >>> 0;
    b = (b ^ c) >>> 0;
    a = (a ^ d) >>> 0;
    c = (c ^ t) >>> 0;
    d = rotl(d, 11);
    return result;
  };

  const int = (maxExclusive: number): number => {
    if (!(Number.isSafeInteger(maxExclusive) && maxExclusive > 0 && maxExclusive <= 0x1_0000_0000)) {
      throw new RangeError(`Cannot draw an integer below ${maxExclusive}: the bound must be in [1, 2^32]`);
    }
    // Rejection sampling keeps the distribution uniform.
    const limit = 0x1_0000_0000 - (0x1_0000_0000 % maxExclusive);
    for (;;) {
      const x = nextUint32();
      if (x < limit) return x % maxExclusive;
    }
  };

  return {
    nextUint32,
    int,
    intBetween: (min, max) => min + int(max - min + 1),
    float: () => nextUint32() / 0x1_0000_0000,
    chance: (probability) => nextUint32() / 0x1_0000_0000 < probability,
    pick: <T>(items: readonly T[]): T => {
      if (items.length === 0) throw new RangeError("Cannot pick from an empty list");
      return items[int(items.length)] as T;
    },
  };
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}
