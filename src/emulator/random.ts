// Random numbers and Descope-like ids. With a seed everything is reproducible (mulberry32), so a
// test or a benchmark can rely on the same ids and the same fault rolls run after run.

import { randomBytes } from 'node:crypto';

const ALPHANUMERIC = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

/** A source of floats in [0, 1). */
export type RandomSource = () => number;

export function seededRandom(seed: number): RandomSource {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function cryptoRandom(): RandomSource {
  return () => randomBytes(4).readUInt32BE(0) / 4294967296;
}

export interface IdGenerator {
  /** `prefix` followed by `length` alphanumerics, e.g. id('T2') → `T2` + 26 characters. */
  id(prefix: string, length?: number): string;
}

export function createIdGenerator(random: RandomSource): IdGenerator {
  return {
    id(prefix, length = 26) {
      let out = prefix;
      for (let i = 0; i < length; i += 1) {
        out += ALPHANUMERIC[Math.floor(random() * ALPHANUMERIC.length)] ?? 'A';
      }
      return out;
    },
  };
}

/** Independent streams for ids and for fault rolls, so turning faults on never changes ids. */
export function createRandomStreams(seed: number | undefined): { ids: RandomSource; faults: RandomSource } {
  if (seed === undefined) return { ids: cryptoRandom(), faults: cryptoRandom() };
  return { ids: seededRandom(seed), faults: seededRandom((seed ^ 0x9e3779b9) >>> 0) };
}
