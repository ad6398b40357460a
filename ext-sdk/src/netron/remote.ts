// Typed proxies for remote services: `Remote<T>` maps a service's methods to calls that return a
// promise of the answer which, for generator methods, you can also `for await` directly.

import { inspect } from "node:util";
import { summarize } from "./errors.js";
import { RemoteStream } from "./stream.js";

/**
 * What every remote call returns: a promise of the answer that is also async-iterable. Awaiting it
 * gives the value (for a generator method, the {@link RemoteStream}); `for await` over it consumes the
 * stream (or the items of an iterable answer such as an array) without awaiting it first.
 */
export type RemoteCall<T, Y = unknown> = Promise<T> & AsyncIterable<Y>;

/** A call to a generator method: `for await (const item of calc.count(3))`. */
export type RemoteStreamCall<Y> = RemoteCall<RemoteStream<Y>, Y>;

/** What calling a method that returns `R` on the server gives the client. */
export type RemoteResult<R> = 0 extends 1 & R
  ? RemoteCall<any, any> // an untyped (any) method: anything goes
  : [R] extends [never]
    ? Promise<never> // a method that always throws (never would match every case below)
    : [R] extends [Generator<infer Y, any, any> | AsyncGenerator<infer Y, any, any>]
      ? RemoteStreamCall<Y>
      : [R] extends [AsyncIterable<infer Y>]
        ? RemoteStreamCall<Y>
        : [Awaited<R>] extends [string]
          ? Promise<Awaited<R>>
          : [Awaited<R>] extends [Iterable<infer Y>]
            ? RemoteCall<Awaited<R>, Y>
            : Promise<Awaited<R>>;

/** A method as the client calls it: the same arguments (`this` dropped), a {@link RemoteResult}. */
export type RemoteMethod<F> = F extends (...args: infer A) => infer R ? (...args: A) => RemoteResult<R> : never;

/** A proxy with no type information: any method name, any arguments. */
export type UntypedRemote = { readonly [method: string]: (...args: any[]) => RemoteCall<any, any> };

/**
 * The client's view of a service `T` (an interface or a methods object): each method becomes a
 * {@link RemoteMethod}; properties that are not functions are left out (see {@link RemoteOf} for a
 * service's declared `properties`).
 */
export type Remote<T> = 0 extends 1 & T
  ? UntypedRemote
  : unknown extends T
    ? UntypedRemote
    : { readonly [K in keyof T as T[K] extends (...args: any[]) => any ? K : never]: RemoteMethod<T[K]> };

/** A service definition as `defineService` returns it: `{ name, version, methods: {...} }`. */
export interface ServiceDefinitionLike {
  readonly name: string;
  readonly version?: string;
  readonly methods: object;
  readonly properties?: object;
}

/** A service's declared `properties` as the client reads them: each access is a GET, a promise of the value. */
export type RemoteProperties<S> = S extends { readonly properties: infer P extends object } ? { readonly [K in keyof P]: Promise<Awaited<P[K]>> } : {};

/** The remote type of a service definition: `RemoteOf<typeof calculatorService>`. */
export type RemoteOf<S extends { readonly methods: object }> = Remote<S["methods"]> & RemoteProperties<S>;

/** The properties a service's Definition declares, and how to read one. */
export interface RemotePropertyAccess {
  names: ReadonlySet<string>;
  read(name: string): Promise<unknown>;
}

/** `name@version`, or `name` when the definition has no version. */
export function qualifiedName(service: ServiceDefinitionLike): string {
  if (!service || typeof service !== "object" || typeof service.name !== "string") {
    throw new TypeError(`expected a service name ("calculator@1.0.0") or a service definition { name, version, methods }, got ${summarize(service)}`);
  }
  return service.version ? `${service.name}@${service.version}` : service.name;
}

/**
 * Property names the proxy does not turn into calls, because JavaScript itself probes for them:
 * `then` (await would treat the proxy as a promise) and `toJSON` (JSON.stringify). Reach methods
 * with these names through `peer.call(service, name, ...args)`.
 */
const RESERVED = new Set(["then", "toJSON"]);

/** A proxy whose every method calls `invoke(method, args)`, and whose declared properties read through `properties`. */
export function createRemote<T>(service: string, invoke: (method: string, args: unknown[]) => RemoteCall<unknown, unknown>, properties?: RemotePropertyAccess): Remote<T> {
  const methods = new Map<string, (...args: unknown[]) => RemoteCall<unknown, unknown>>();
  // util.inspect looks at a proxy's target, not through its traps: the label lives on the target.
  const target = Object.create(null) as object;
  Object.defineProperty(target, inspect.custom, { value: () => `Remote<${service}>` });
  const handler: ProxyHandler<object> = {
    get(_target, property) {
      if (typeof property === "symbol") return Reflect.get(target, property);
      if (RESERVED.has(property)) return undefined;
      // A fresh GET per access: `await calc.precision` reads the current value.
      if (properties?.names.has(property)) return properties.read(property);
      let method = methods.get(property);
      if (!method) {
        method = (...args: unknown[]) => invoke(property, args);
        methods.set(property, method);
      }
      return method;
    },
    set(_target, property) {
      throw new TypeError(`cannot set ${String(property)} on Remote<${service}>: a remote service's methods are called and its properties read, not assigned`);
    },
  };
  return new Proxy(target, handler) as Remote<T>;
}

/** Makes the promise of a call's answer async-iterable too (see {@link RemoteCall}). */
export function remoteCall<T, Y>(answer: Promise<T>, what: string): RemoteCall<T, Y> {
  const call = answer as RemoteCall<T, Y>;
  Object.defineProperty(call, Symbol.asyncIterator, { value: () => iterateAnswer<Y>(answer, what) });
  return call;
}

function iterateAnswer<Y>(answer: Promise<unknown>, what: string): AsyncIterator<Y> {
  let inner: Promise<AsyncIterator<Y> | Iterator<Y>> | undefined;
  let finished = false;
  const open = (): Promise<AsyncIterator<Y> | Iterator<Y>> => (inner ??= answer.then((value) => iteratorOf<Y>(value, what)));
  return {
    async next() {
      if (finished) return { value: undefined, done: true };
      try {
        const result = await (await open()).next();
        if (result.done) finished = true;
        return result;
      } catch (error) {
        finished = true;
        throw error;
      }
    },
    async return(value?: unknown) {
      finished = true;
      if (inner) {
        const iterator = await inner.catch(() => undefined);
        await iterator?.return?.();
      } else {
        // Left before the answer arrived: cancel the stream when it does.
        answer.then(
          (result) => result instanceof RemoteStream && result.cancel(),
          () => {},
        );
      }
      return { value: value as Y, done: true };
    },
  };
}

function iteratorOf<Y>(value: unknown, what: string): AsyncIterator<Y> | Iterator<Y> {
  if (value !== null && typeof value === "object") {
    if (Symbol.asyncIterator in value) return (value as AsyncIterable<Y>)[Symbol.asyncIterator]();
    if (Symbol.iterator in value) return (value as Iterable<Y>)[Symbol.iterator]();
  }
  throw new TypeError(`${what} answered ${summarize(value)}, not a stream: await the call instead of iterating it with for await`);
}
