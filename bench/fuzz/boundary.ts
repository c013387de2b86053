/**
 * One boundary of the fleet as the fuzzer drives it: what it generates, how one input is sent and
 * judged, and the boundary's own count of what it refused (its metric), which must cover every
 * refusal the fuzzer saw.
 */
import type fc from 'fast-check';

export type Verdict =
  | { readonly outcome: 'accepted' }
  /**
   * `refusals`: how many the boundary's counter must show for this input (default 1); `code`: what
   * the refusal said (`400 InvalidParameter`), for the report.
   */
  | { readonly outcome: 'rejected'; readonly refusals?: number; readonly code?: string }
  /** The input could not be sent as made (the client library refused it): not counted. */
  | { readonly outcome: 'skipped' }
  /** A 5xx, an answer outside the boundary's shape, a reset, no answer, a dead process. */
  | { readonly outcome: 'crash'; readonly detail: string };

export interface Boundary<I> {
  readonly name: string;
  readonly input: fc.Arbitrary<I>;
  /** Once before the first input (fixtures the inputs aim at). */
  prepare?(): Promise<void>;
  send(input: I): Promise<Verdict>;
  /** The boundary's refusals so far, as its metric counts them. */
  counted(): Promise<number>;
  close?(): Promise<void>;
}
