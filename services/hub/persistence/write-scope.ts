/**
 * The keys one ARM request changed, per store, so that its answer waits for those writes only
 * (arm/durable-writes.ts): not for every other request's changes (a burst of PUTs would each wait for
 * most of the fleet's), and not for a key that cannot be written (one record the broker refuses must not
 * hold every later write's answer). Carried with AsyncLocalStorage from the request's start.
 */
import { AsyncLocalStorage } from 'node:async_hooks';

/** Store → the keys the request marked changed in it. */
export type TouchedKeys = Map<object, Set<string>>;

const scope = new AsyncLocalStorage<TouchedKeys>();

/** Runs `next` (the rest of the request) with a fresh record of touched keys. */
export function withWriteScope(next: () => void): void {
  scope.run(new Map(), next);
}

/** The current request's touched keys; undefined outside a write scope. */
export function touchedKeys(): TouchedKeys | undefined {
  return scope.getStore();
}

/** A store marks `key` changed: remembered for the request being served, if any. */
export function noteTouched(store: object, key: string): void {
  const touched = scope.getStore();
  if (!touched) return;
  let keys = touched.get(store);
  if (!keys) touched.set(store, (keys = new Set()));
  keys.add(key);
}
