// Reading what R2 holds for a tenant as its plaintext, the way the tenant's own code opens it
// (objects are sealed under the tenant's data key; those without a descriptor are plaintext).
import { env } from "cloudflare:workers";
import { openStream, parseSealing, SEALING_META } from "../durable-objects/storage/object-seal";
import { tenantObjectKeys } from "../src/control/object-keys";

export async function plainBytes(key: string): Promise<Uint8Array | null> {
  const object = await env.FILES.get(key);
  if (!object) return null;
  const sealing = parseSealing(object.customMetadata?.[SEALING_META]);
  if (!sealing) return new Uint8Array(await object.arrayBuffer());
  const tenant = key.slice("tenant-".length, key.indexOf("/"));
  const keys = await tenantObjectKeys(env, tenant);
  const objectKey = keys.objectKey(
    sealing.keyId,
    Buffer.from(sealing.salt, "base64url"),
    key.slice(key.indexOf("/") + 1),
  );
  return new Uint8Array(await new Response(await openStream(objectKey, sealing, object.body, null)).arrayBuffer());
}

export async function plainText(key: string): Promise<string | null> {
  const bytes = await plainBytes(key);
  return bytes ? new TextDecoder().decode(bytes) : null;
}
