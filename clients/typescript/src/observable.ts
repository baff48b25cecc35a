/**
 * Subscribable values: the TypeScript form of the Rust SDK's `tokio::sync::watch` receivers
 * (the reference's `ValueListenable`s).
 *
 * Values are published in batches ({@link publish}): every value of a batch is set before any
 * subscriber runs, so a subscriber that reads another value sees the same room version.
 * @module
 */

/** A function that stops a subscription. Calling it twice is harmless. */
export type Unsubscribe = () => void;

/**
 * A value that changes over time: read {@link ReadonlyObservable.value | value} for the
 * current one, {@link ReadonlyObservable.subscribe | subscribe} to hear of changes.
 */
export interface ReadonlyObservable<T> {
  /** The current value. Lists are frozen: replace, never mutate. */
  readonly value: T;
  /**
   * Calls `fn` with each new value, from now on (not with the current one: read `value`).
   * A value equal to the previous one is not announced. Subscribers run synchronously, in
   * subscription order; one that throws is reported and does not stop the others.
   * Returns the function that unsubscribes.
   */
  subscribe(fn: (value: T) => void): Unsubscribe;
}

/** @internal Reports an exception thrown by application code (a subscriber, a listener) without stopping the SDK. */
export function reportCallbackError(e: unknown): void {
  const g = globalThis as { reportError?: (e: unknown) => void };
  if (typeof g.reportError === "function") g.reportError(e);
  else console.error("coguest-client: a callback threw", e);
}

/** @internal Structural equality of plain JSON-like data. */
export function deepEqual(a: unknown, b: unknown): boolean {
  if (Object.is(a, b)) return true;
  if (typeof a !== "object" || typeof b !== "object" || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a) && Array.isArray(b)) {
    if (a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!deepEqual(a[i], b[i])) return false;
    return true;
  }
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  if (ka.length !== kb.length) return false;
  for (const k of ka) {
    if (!Object.prototype.hasOwnProperty.call(b, k)) return false;
    if (!deepEqual((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k])) {
      return false;
    }
  }
  return true;
}

/** @internal A value the SDK sets; the public sees it as a {@link ReadonlyObservable}. */
export class Observable<T> implements ReadonlyObservable<T> {
  #value: T;
  #subscribers: Array<(value: T) => void> = [];

  constructor(initial: T) {
    this.#value = initial;
  }

  get value(): T {
    return this.#value;
  }

  subscribe(fn: (value: T) => void): Unsubscribe {
    // A wrapper per subscription, so the same function subscribed twice is two subscriptions.
    const entry = (v: T): void => fn(v);
    this.#subscribers.push(entry);
    return () => {
      const i = this.#subscribers.indexOf(entry);
      if (i >= 0) this.#subscribers.splice(i, 1);
    };
  }

  /** Stores `value` without telling anyone; whether it differs from the previous one. */
  replace(value: T): boolean {
    if (deepEqual(this.#value, value)) return false;
    this.#value = value;
    return true;
  }

  /** Tells every subscriber the current value. */
  notify(): void {
    const value = this.#value;
    for (const s of [...this.#subscribers]) {
      // Skip one removed by an earlier subscriber of this same notification.
      if (!this.#subscribers.includes(s)) continue;
      try {
        s(value);
      } catch (e) {
        reportCallbackError(e);
      }
    }
  }

  /** Drops every subscriber. */
  clear(): void {
    this.#subscribers = [];
  }
}

/** @internal Sets every value first, then notifies the subscribers of those that changed. */
export function publish(updates: ReadonlyArray<readonly [Observable<any>, unknown]>): void {
  const changed: Array<Observable<unknown>> = [];
  for (const [o, v] of updates) if (o.replace(v)) changed.push(o);
  for (const o of changed) o.notify();
}
