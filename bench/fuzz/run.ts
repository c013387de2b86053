/**
 * Runs the fuzzer over every boundary of a running fleet (fast-check, a fixed seed): per boundary the
 * inputs tried, accepted, rejected, what its metric counted, and the crashes (the first, shrunk to a
 * small counterexample by fast-check, is kept). Afterwards every process must still answer its health
 * probe and every cluster be Connected again: junk must not have hurt the fleet.
 *
 *   const report = await runFuzz(fleet, { runs: 200, seed: 17 });
 */
import fc from 'fast-check';
import type { FleetHandle } from '../../fleet/index.js';
import { FEED_PATH } from '../../services/hub/live/live-page.js';
import type { Boundary } from './boundary.js';
import { armBoundary, egressBoundary, kubeBoundary } from './http-boundaries.js';
import { agentMessageBoundary, feedBoundary } from './wire-boundaries.js';

export interface BoundaryReport {
  readonly name: string;
  readonly tried: number;
  readonly accepted: number;
  readonly rejected: number;
  readonly skipped: number;
  /** Refusals the fuzzer saw (a feed input may carry several). */
  readonly refusals: number;
  /** What the boundary's own metric counted meanwhile (others may add to it: at least `refusals`). */
  readonly counted: number;
  readonly crashes: number;
  /** Refusals by what they said (`404 ResourceGroupNotFound`), most frequent first. */
  readonly codes: ReadonlyArray<readonly [string, number]>;
  readonly firstCrash: string | undefined;
  readonly seconds: number;
}

export interface FuzzOptions {
  readonly runs: number;
  readonly seed: number;
  readonly log?: (line: string) => void;
}

/** Real ms a counter may lag behind the answer (the servers count in a response hook). */
const COUNT_LAG_MS = 2000;

async function countedSince(b: Boundary<unknown>, before: number, expected: number): Promise<number> {
  const deadline = Date.now() + COUNT_LAG_MS;
  let counted = (await b.counted()) - before;
  while (counted < expected && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 20));
    counted = (await b.counted()) - before;
  }
  return counted;
}

async function fuzzOne<I>(b: Boundary<I>, o: FuzzOptions): Promise<BoundaryReport> {
  const t0 = Date.now();
  await b.prepare?.();
  const start = await b.counted();
  const tally = { tried: 0, accepted: 0, rejected: 0, skipped: 0, refusals: 0, crashes: 0 };
  const codes = new Map<string, number>();
  let firstCrash: string | undefined;
  try {
    await fc.assert(
      fc.asyncProperty(b.input, async (input) => {
        tally.tried++;
        const before = await b.counted();
        const v = await b.send(input);
        if (v.outcome === 'crash') {
          tally.crashes++;
          throw new Error(v.detail);
        }
        tally[v.outcome]++;
        if (v.outcome !== 'rejected') return;
        const refusals = v.refusals ?? 1;
        tally.refusals += refusals;
        if (v.code) codes.set(v.code, (codes.get(v.code) ?? 0) + 1);
        // Every refusal shows in the boundary's own counter (others' traffic can only add to it).
        const counted = await countedSince(b as Boundary<unknown>, before, refusals);
        if (counted < refusals) {
          tally.crashes++;
          throw new Error(`refused but not counted: the counter moved ${counted} for ${refusals} refusals`);
        }
      }),
      // Shrinking re-sends smaller inputs: those count as tried too, which is what they are.
      { numRuns: o.runs, seed: o.seed },
    );
  } catch (err) {
    // fast-check 4 keeps the property's own error as the cause.
    const cause = (err as { cause?: unknown }).cause;
    firstCrash =
      `${(err as Error).message.split('\n\nHint:')[0]}\n${cause instanceof Error ? cause.message : ''}`.slice(
        0,
        3000,
      );
  } finally {
    await b.close?.();
  }
  const counted = await countedSince(b as Boundary<unknown>, start, tally.refusals);
  const byCount = [...codes].sort((a, b) => b[1] - a[1]);
  return { name: b.name, ...tally, counted, codes: byCount, firstCrash, seconds: (Date.now() - t0) / 1000 };
}

export async function runFuzz(fleet: FleetHandle, o: FuzzOptions): Promise<BoundaryReport[]> {
  const boundaries: Array<() => Promise<Boundary<never>>> = [
    async () => (await armBoundary(fleet)) as Boundary<never>,
    async () => (await agentMessageBoundary(fleet)) as Boundary<never>,
    async () => feedBoundary(fleet, FEED_PATH) as Boundary<never>,
    async () => egressBoundary(fleet) as Boundary<never>,
    async () => (await kubeBoundary(fleet)) as Boundary<never>,
  ];
  const reports: BoundaryReport[] = [];
  for (const make of boundaries) {
    const report = await fuzzOne(await make(), o);
    o.log?.(
      `${report.name}: ${report.tried} tried, ${report.rejected} rejected, ${report.crashes} crashes (${report.seconds.toFixed(1)} s)`,
    );
    reports.push(report);
  }
  return reports;
}

/** The table `npm run bench -- --fuzz` prints and docs/fuzzing.md records. */
export function fuzzLines(reports: readonly BoundaryReport[]): string[] {
  const row = (cells: Array<string | number>): string =>
    `  ${String(cells[0]).padEnd(38)}${cells
      .slice(1)
      .map((c) => String(c).padStart(10))
      .join('')}`;
  return [
    row(['boundary', 'tried', 'accepted', 'rejected', 'refusals', 'counted', 'crashes', 'seconds']),
    ...reports.map((r) =>
      row([r.name, r.tried, r.accepted, r.rejected, r.refusals, r.counted, r.crashes, r.seconds.toFixed(1)]),
    ),
    ...reports.map(
      (r) =>
        `  ${r.name} refusals: ${r.codes
          .slice(0, 8)
          .map(([c, n]) => `${c} ×${n}`)
          .join(', ')}${r.codes.length > 8 ? `, ${r.codes.length - 8} more kinds` : ''}`,
    ),
    ...reports.filter((r) => r.firstCrash).map((r) => `  first crash at ${r.name}:\n${r.firstCrash}`),
  ];
}
