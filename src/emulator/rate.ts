// Parses a request budget written as `N/WINDOW` (a CLI's `--rate`), e.g. "50/1s", "100/60s",
// "100/60000ms", "1000/10s", "20/1m". Pure: throws RangeError on anything else.

export interface ParsedRate {
  requests: number;
  windowMs: number;
}

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

export function parseRate(text: string): ParsedRate {
  const match = /^\s*(\d+)\s*\/\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)\s*$/.exec(text);
  if (!match) {
    throw new RangeError(
      `invalid rate "${text}": expected N/WINDOW with a unit, e.g. "100/60s", "50/1s" or "100/60000ms"`,
    );
  }
  const requests = Number(match[1]);
  const windowMs = Number(match[2]) * (UNIT_MS[match[3] ?? ''] ?? Number.NaN);
  if (!(requests >= 1)) throw new RangeError(`invalid rate "${text}": the request count must be at least 1`);
  if (!(windowMs >= 1)) throw new RangeError(`invalid rate "${text}": the window must be at least 1ms`);
  return { requests, windowMs: Math.round(windowMs) };
}
