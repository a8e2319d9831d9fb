// API keys as machine clients present them: "silo_<tenant>_<key id><secret>". The tenant in the
// prefix routes the request; only the SHA-256 of the whole key travels to the tenant's object.
import { createHash } from "node:crypto";
import { ApiError } from "../errors";

export const API_KEY_PREFIX = "silo_";
const KEY = /^silo_([a-z0-9](?:[a-z0-9-]{1,38}[a-z0-9]))_([a-z0-9]{12})([A-Za-z0-9]{32})$/;
const ALPHABET = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";

export const hashKey = (key: string) => createHash("sha256").update(key).digest("hex");

function random(length: number, alphabet: string): string {
  // Rejection sampling keeps every character uniformly likely.
  const out: string[] = [];
  while (out.length < length) {
    for (const b of crypto.getRandomValues(new Uint8Array(length * 2))) {
      if (b < 256 - (256 % alphabet.length) && out.length < length) out.push(alphabet[b % alphabet.length] as string);
    }
  }
  return out.join("");
}

export function mintApiKey(tenantId: string): { id: string; key: string; hash: string } {
  const id = random(12, "abcdefghijklmnopqrstuvwxyz0123456789");
  const key = `${API_KEY_PREFIX}${tenantId}_${id}${random(32, ALPHABET)}`;
  return { id, key, hash: hashKey(key) };
}

export function parseApiKey(key: string): { tenantId: string; keyId: string; keyHash: string } {
  const m = KEY.exec(key);
  if (!m) throw new ApiError("unauthenticated", "The API key is malformed.");
  return { tenantId: m[1] as string, keyId: m[2] as string, keyHash: hashKey(key) };
}
