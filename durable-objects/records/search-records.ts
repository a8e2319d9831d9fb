// Search as a caller sees it: FTS hits filtered by record visibility in collections with ACLs.
import type { Principal } from "../access/authorize";
import { canSee } from "../access/record-access";
import { loadDefinition } from "../collections/collections";
import type { SearchHit } from "../contract/records";
import type { Store } from "../db/store";
import { rowToRecord } from "./record-codec";
import { readRow } from "./record-writes";
import { searchIndex } from "./search";

export function searchRecords(store: Store, p: Principal, text: string, collection: string | null, limit: number) {
  const hits: SearchHit[] = [];
  // Over-fetch so hits the caller may not see do not leave a short page.
  for (const hit of searchIndex(store, text, collection, limit * 4)) {
    const def = loadDefinition(store, hit.collection);
    if (!def) continue;
    if (def.acl) {
      const row = readRow(store, def.name, hit.id);
      if (!row || !canSee(store, p, def, rowToRecord(def, row))) continue;
    }
    hits.push(hit);
    if (hits.length === limit) break;
  }
  return { items: hits, nextCursor: null };
}
