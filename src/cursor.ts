// Opaque list cursors: base64url JSON. A cursor that does not decode is a 400, never a 500.
import { invalid } from "./errors";

export function encodeCursor(position: Record<string, unknown>): string {
  return btoa(JSON.stringify(position)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

export function decodeCursor<T extends Record<string, unknown>>(cursor: string, isValid: (v: unknown) => v is T): T {
  try {
    const value: unknown = JSON.parse(atob(cursor.replace(/-/g, "+").replace(/_/g, "/")));
    if (isValid(value)) return value;
  } catch {
    // fall through to the refusal
  }
  throw invalid("The cursor is not valid.", { field: "cursor" });
}
