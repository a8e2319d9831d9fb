// Point-in-time recovery with the platform's bookmarks (SQLite-backed Durable Objects keep 30
// days): the bookmark for the asked time is set for the next session, then the object aborts so
// that it starts again on that state. workerd stores no history and says so when asked for a
// bookmark: that answer, not a guess about the environment, decides `not_available_locally`.
import { legalHoldFailure } from "../contract/legal-hold";
import { fail, ok, type Result } from "../contract/result";
import type { Store } from "../db/store";

const WINDOW_MS = 30 * 24 * 3600 * 1000;

export async function restoreToTime(
  store: Store,
  ctx: DurableObjectState,
  at: Date,
): Promise<Result<{ bookmark: string; at: string }>> {
  if (Number.isNaN(at.getTime())) return fail("validation_failed", "Invalid 'at': not a time.", { field: "at" });
  const age = Date.now() - at.getTime();
  if (age < 0 || age > WINDOW_MS) {
    return fail("validation_failed", "'at' must be within the last 30 days.", { field: "at" });
  }
  const held = legalHoldFailure(store.config, "Restoring to a point in time");
  if (held) return held;
  let bookmark: string;
  try {
    bookmark = await ctx.storage.getBookmarkForTime(at);
  } catch (err) {
    if (/does not implement point-in-time recovery/i.test(String(err))) {
      return fail("not_available_locally", "Point-in-time recovery needs the platform's storage; use a backup here.");
    }
    throw err;
  }
  await ctx.storage.onNextSessionRestoreBookmark(bookmark);
  // Answer first, then restart: the next request starts the object on the bookmarked state.
  setTimeout(() => ctx.abort("restoring to a point in time"), 0);
  return ok({ bookmark, at: at.toISOString() });
}
