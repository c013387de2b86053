/**
 * The hub listens before NATS is connected and its projections are loaded, so /healthz answers at once
 * and every route that needs the fleet says 503 "starting" instead of refusing the connection. Those
 * routes are given this one handle (not a getter per object); main.ts opens it once everything is built.
 */
import { ArcError, ERROR_CODES } from '../../contract/index.js';

/** What a route sees: the started hub's objects, or not yet. */
export interface Started<T> {
  /** The objects once started; before that an ARM 503 ServiceUnavailable is thrown. */
  get(): T;
  /** The objects once started, else undefined (for routes that answer something else meanwhile). */
  peek(): T | undefined;
}

export class Startup<T> implements Started<T> {
  private value: T | undefined;

  open(value: T): void {
    this.value = value;
  }

  get(): T {
    if (this.value === undefined)
      throw new ArcError(ERROR_CODES.ServiceUnavailable, 'The hub is starting; retry shortly.', {
        status: 503,
      });
    return this.value;
  }

  peek(): T | undefined {
    return this.value;
  }
}
