// Compile-time check of the Worker ⇄ object seam, run by `npm run typecheck`: every RPC method of
// TenantDatabase must keep its whole answer through the runtime's RPC types. A field typed
// `unknown` (or anything not serializable) turns an answer into `never`, or silently drops its
// failure branch, and the Worker would then need casts; this file stops compiling instead, and
// the error names the methods.
import type { TenantDatabase } from "../durable-objects/tenant-database";

// biome-ignore lint/suspicious/noExplicitAny: matching any function signature
type Fn = (...args: any[]) => any;
type Stub = DurableObjectStub<TenantDatabase>;
type Methods = {
  [K in keyof TenantDatabase]-?: TenantDatabase[K] extends Fn ? K : never;
}[keyof TenantDatabase] &
  keyof Stub;
type Answered<K extends Methods> = Stub[K] extends Fn ? Awaited<ReturnType<Stub[K]>> : never;
type Direct<K extends Methods> = TenantDatabase[K] extends Fn ? Awaited<ReturnType<TenantDatabase[K]>> : never;
type IsNever<T> = [T] extends [never] ? true : false;

/** Methods whose answer (or one of its branches) the RPC types erase. */
type Lost<K extends Methods, Branch> =
  IsNever<Extract<Direct<K>, Branch>> extends true
    ? never
    : IsNever<Extract<Answered<K>, Branch>> extends true
      ? K
      : never;
type Erased = {
  [K in Methods]: IsNever<Answered<K>> extends true ? (IsNever<Direct<K>> extends true ? never : K) : never;
}[Methods];
type LostSuccess = { [K in Methods]: Lost<K, { ok: true }> }[Methods];
type LostFailure = { [K in Methods]: Lost<K, { ok: false }> }[Methods];

/** Compiles only for `never`; otherwise the error names the offending methods. */
type None<T extends never> = T;
export type SeamHolds = [None<Erased>, None<LostSuccess>, None<LostFailure>];
