/**
 * The rules engine's confidence as a measured probability. Its raw scores (which path found a
 * value, how cleanly it parsed, whether the sums agree, OCR's certainty) order values well
 * but are not probabilities; this table maps them onto the share of values that were right
 * at that score on the dev corpus: the corpus' 18 e-invoices scored against their own XML and
 * the generated invoices of bench/extraction-accuracy, both runs (with and without hints).
 *
 * Fitted by `npm run bench:extraction-accuracy -- --fit`: isotonic regression (pool adjacent
 * violators) of right/wrong on the raw score, each pooled block's share smoothed as
 * (right + 1) / (n + 2), so a small block is not believed to be certain. Each knot is a
 * block's highest score and its share: a score takes the share of the first knot at or above
 * it (a step function, monotone: a higher raw score never means a lower probability).
 * Refit when the rules change, and look at the bench's calibration table after.
 */
export const CALIBRATION: ReadonlyArray<readonly [raw: number, probability: number]> = [
  [0, 0],
  [0.3, 0.885],
  [1, 0.985],
];

/** The probability that a value the rules gave this raw score is right. */
export function calibrate(raw: number): number {
  if (raw <= 0) return 0;
  const knot = CALIBRATION.find(([hi]) => raw <= hi) ?? CALIBRATION[CALIBRATION.length - 1];
  return Math.round(knot[1] * 100) / 100;
}

/**
 * Fits the table: (raw, right) pairs → knots. Pool adjacent violators over the pairs sorted
 * by score; each block becomes a knot at its highest score.
 */
export function fitCalibration(
  samples: Array<{ raw: number; right: boolean }>,
): Array<[number, number]> {
  const sorted = samples.filter((s) => s.raw > 0).sort((a, b) => a.raw - b.raw);
  const blocks: Array<{ hi: number; right: number; n: number }> = [];
  for (const s of sorted) {
    const last = blocks[blocks.length - 1];
    // Equal scores are one block: the map is a function of the score.
    if (last && last.hi === s.raw) {
      last.right += s.right ? 1 : 0;
      last.n++;
    } else blocks.push({ hi: s.raw, right: s.right ? 1 : 0, n: 1 });
    // Merge while the shares decrease.
    while (blocks.length > 1) {
      const b = blocks[blocks.length - 1];
      const a = blocks[blocks.length - 2];
      if (a.right / a.n <= b.right / b.n) break;
      blocks.splice(-2, 2, { hi: b.hi, right: a.right + b.right, n: a.n + b.n });
    }
  }
  const round = (n: number) => Math.round(n * 1000) / 1000;
  return [
    [0, 0],
    ...blocks.map((b): [number, number] => [round(b.hi), round((b.right + 1) / (b.n + 2))]),
  ];
}
