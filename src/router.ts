// The Worker's router: Hono's RegExpRouter (each method's routes compiled into one regular
// expression, static paths looked up in a map), with one adjustment the contract's paths need.
// Hono's default falls back to its TrieRouter, which walks the path segment by segment and
// allocates on every request (~4% of a record read's CPU against the RegExpRouter's ~1%), as
// soon as one route is refused. RegExpRouter reads a colon anywhere in a path as a parameter,
// so `/v1/collections/:name/records:batch` became `records` followed by a parameter named
// `batch`, which it refuses beside `/records/:id`. Here a colon inside a segment is literal, as
// the TrieRouter reads it: it is stood in for by a character no request path can hold (URLs
// percent-encode control characters), in the routes and in the paths matched, and put back in
// the parameters matched.
import type { ParamIndexMap, ParamStash, Result, Router } from "hono/router";
import { RegExpRouter } from "hono/router/reg-exp-router";

const STAND_IN = "\u0001";
/** A colon that does not open a segment (`/:name` opens one; `records:batch` holds one). */
const IN_SEGMENT = /(?<=[^/]):/g;

const restore = (value: string) => value.replaceAll(STAND_IN, ":");

export class ContractRouter<T> implements Router<T> {
  readonly name = "RegExpRouter (literal colons)";
  readonly #inner = new RegExpRouter<T>();

  add(method: string, path: string, handler: T): void {
    this.#inner.add(method, path.replace(IN_SEGMENT, STAND_IN), handler);
  }

  match(method: string, path: string): Result<T> {
    if (!path.includes(":")) return this.#inner.match(method, path);
    // RegExpRouter answers with a stash of matched strings (the parameters index into it).
    const [handlers, stash] = this.#inner.match(method, path.replaceAll(":", STAND_IN)) as [
      [T, ParamIndexMap][],
      ParamStash,
    ];
    return [handlers, stash.map((s) => (typeof s === "string" ? restore(s) : s))];
  }
}
