// Per-tenant data keys: 256-bit AES keys, stored only wrapped (AES-256-GCM) by MASTER_KEY.
// Format of a wrapped key: "v1.<base64 iv>.<base64 ciphertext>".

const b64 = (bytes: Uint8Array) => btoa(String.fromCharCode(...bytes));
const unb64 = (text: string) => Uint8Array.from(atob(text), (ch) => ch.charCodeAt(0));

async function masterKey(masterKeyB64: string | undefined): Promise<CryptoKey> {
  const raw = masterKeyB64 ? unb64(masterKeyB64) : new Uint8Array();
  if (raw.length !== 32) throw new Error("MASTER_KEY must be 32 bytes, base64-encoded");
  return crypto.subtle.importKey("raw", raw, "AES-GCM", false, ["encrypt", "decrypt"]);
}

export async function wrapNewDataKey(masterKeyB64: string | undefined): Promise<string> {
  const key = await masterKey(masterKeyB64);
  const dataKey = crypto.getRandomValues(new Uint8Array(32));
  const iv = crypto.getRandomValues(new Uint8Array(12));
  const sealed = new Uint8Array(await crypto.subtle.encrypt({ name: "AES-GCM", iv }, key, dataKey));
  return `v1.${b64(iv)}.${b64(sealed)}`;
}

export async function unwrapDataKey(masterKeyB64: string | undefined, wrapped: string): Promise<Uint8Array> {
  const [version, iv, sealed] = wrapped.split(".");
  if (version !== "v1" || !iv || !sealed) throw new Error("unknown wrapped key format");
  const key = await masterKey(masterKeyB64);
  return new Uint8Array(await crypto.subtle.decrypt({ name: "AES-GCM", iv: unb64(iv) }, key, unb64(sealed)));
}

/**
 * Re-wraps a data key under the current MASTER_KEY (master key rotation): it is unwrapped with
 * MASTER_KEY or, during a rotation, MASTER_KEY_PREVIOUS. The data key itself, and so every
 * ciphertext, stays the same.
 */
export async function rewrapDataKey(
  env: { MASTER_KEY?: string; MASTER_KEY_PREVIOUS?: string },
  wrapped: string,
): Promise<string> {
  let dataKey: Uint8Array;
  try {
    dataKey = await unwrapDataKey(env.MASTER_KEY, wrapped);
  } catch (err) {
    if (!env.MASTER_KEY_PREVIOUS) throw err;
    dataKey = await unwrapDataKey(env.MASTER_KEY_PREVIOUS, wrapped);
  }
  const key = await masterKey(env.MASTER_KEY);
  const iv = crypto.getRandomValues(new Uint8Array(12));
  const sealed = new Uint8Array(await crypto.subtle.encrypt({ name: "AES-GCM", iv }, key, dataKey));
  return `v1.${b64(iv)}.${b64(sealed)}`;
}
