// Record views: a record as the API answers it, its versions and search hits.
import { z } from "zod";
import type { Json } from "./result";
import { JsonValueSchema } from "./result";

/** A record: its fields plus id, version, createdAt, updatedAt (and owner, visibility, classification). */
export type ApiRecord = { [key: string]: Json };
export const RecordSchema = z.record(z.string(), JsonValueSchema);

export interface Page<T> {
  items: T[];
  nextCursor: string | null;
}

/**
 * A tenant's answer to a reference read (DESIGN §13): `shared: false` when it has no shared
 * collection of that name (a private one answers the same), so the Worker asks the next ancestor.
 */
export type ReferenceAnswer<T> = { shared: false } | { shared: true; value: T };

export interface VersionView {
  version: number;
  op: string;
  actor: string;
  at: string;
  data: ApiRecord;
}

export const SearchHitSchema = z.object({
  collection: z.string(),
  id: z.string(),
  score: z.number(),
  snippet: z.string(),
});
export type SearchHit = z.infer<typeof SearchHitSchema>;

/** What a batch answers: each operation's record, in order (a deleted one as deleted). */
export interface BatchAnswer {
  [key: string]: Json;
  results: ApiRecord[];
}

/** One group of an aggregate: the group's value (null when not grouped) and the metric's. */
export interface AggregateItem {
  [key: string]: Json;
  group: string | number | boolean | null;
  value: string | number | null;
}
