// The cursor + limit every list takes (DESIGN §5: limit up to 1000): a query schema and an opaque
// keyset cursor over one string key, percent-encoded because btoa only takes Latin-1.
import { z } from "@hono/zod-openapi";
import { decodeCursor, encodeCursor } from "./cursor";
import { invalid } from "./errors";

export const MAX_PAGE = 1000;

export const PageQuery = z.object({
  cursor: z.string().max(2000).optional().openapi({ description: "The previous page's nextCursor." }),
  limit: z.coerce.number().int().min(1).max(MAX_PAGE).default(100).openapi({ description: "1 to 1000." }),
});

const isAfter = (v: unknown): v is { after: string } => typeof (v as { after?: unknown })?.after === "string";

/** The key a cursor continues after, or null for the first page. */
export function afterOf(cursor: string | undefined): string | null {
  if (!cursor) return null;
  try {
    return decodeURIComponent(decodeCursor(cursor, isAfter).after);
  } catch {
    throw invalid("The cursor is not valid.", { field: "cursor" });
  }
}

export const cursorAfter = (key: string | null) =>
  key === null ? null : encodeCursor({ after: encodeURIComponent(key) });
