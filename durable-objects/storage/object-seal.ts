// Chunked AES-256-GCM for every object a tenant keeps in R2. Each object has its own key, derived
// from the tenant's data key, a random salt and the object's name (HKDF-SHA256), so destroying
// the data key leaves no object readable and an object moved to another name does not open.
// Plaintext is cut into 64 KiB chunks, sealed one by one: nonce = part number ‖ chunk index,
// associated data = nonce ‖ last-chunk flag, so chunks cannot be reordered, swapped or cut off.
// A multipart object's parts are sealed independently (each a whole number of chunks except the
// last part, as R2's equal part sizes allow); its layout is the part size and the part count.
// The descriptor "s1.<keyId>.<salt>.<chunk>.<partSize>.<parts>.<size>" says how to open it.
import { createCipheriv, createDecipheriv, createHash, createHmac, randomBytes } from "node:crypto";

export const CHUNK = 64 * 1024;
const TAG = 16;
/** customMetadata names: the descriptor (an object without it is plaintext) and the plain ETag. */
export const SEALING_META = "silo-sealing";
export const ETAG_META = "silo-etag";

export interface Sealing {
  keyId: string;
  salt: string;
  chunk: number;
  partSize: number;
  parts: number;
  size: number;
}

/** What opens and seals a tenant's objects: the key ring's data keys by key id. */
export interface ObjectKeys {
  readonly keyId: string;
  objectKey(keyId: string, salt: Buffer, name: string): Buffer;
}

export const keyIdOf = (dataKey: Buffer) => createHash("sha256").update(dataKey).digest("hex").slice(0, 8);

/** HKDF-SHA256 (one block): the object's own key. */
export function deriveObjectKey(dataKey: Buffer, salt: Buffer, name: string): Buffer {
  const prk = createHmac("sha256", salt).update(dataKey).digest();
  return createHmac("sha256", prk).update(`silo r2 object v1\0${name}\x01`).digest();
}

export const newSalt = () => randomBytes(16).toString("base64url");

export const formatSealing = (s: Sealing) => ["s1", s.keyId, s.salt, s.chunk, s.partSize, s.parts, s.size].join(".");

export function parseSealing(text: string | null | undefined): Sealing | null {
  if (!text) return null;
  const [v, keyId, salt, chunk, partSize, parts, size] = text.split(".");
  const n = [chunk, partSize, parts, size].map(Number);
  if (v !== "s1" || !keyId || !salt || n.some((x) => !Number.isSafeInteger(x) || x < 0)) {
    throw new Error("unknown sealing descriptor");
  }
  return { keyId, salt, chunk: n[0] as number, partSize: n[1] as number, parts: n[2] as number, size: n[3] as number };
}

const chunksIn = (length: number, chunk: number) => Math.max(1, Math.ceil(length / chunk));
/** Bytes R2 holds for `length` plaintext bytes sealed as one part. */
export const sealedLength = (length: number, chunk = CHUNK) => length + TAG * chunksIn(length, chunk);

const nonceOf = (part: number, index: number) => {
  const nonce = Buffer.alloc(12);
  nonce.writeUInt32BE(part, 0);
  nonce.writeUInt32BE(Math.floor(index / 2 ** 32), 4);
  nonce.writeUInt32BE(index % 2 ** 32, 8);
  return nonce;
};
const aadOf = (nonce: Buffer, last: boolean) => Buffer.concat([nonce, Buffer.from([last ? 1 : 0])]);

function sealChunk(key: Buffer, part: number, index: number, last: boolean, plain: Uint8Array): Uint8Array {
  const nonce = nonceOf(part, index);
  const cipher = createCipheriv("aes-256-gcm", key, nonce);
  cipher.setAAD(aadOf(nonce, last));
  return Buffer.concat([cipher.update(plain), cipher.final(), cipher.getAuthTag()]);
}

function openChunk(key: Buffer, part: number, index: number, last: boolean, sealed: Uint8Array): Uint8Array {
  const nonce = nonceOf(part, index);
  const decipher = createDecipheriv("aes-256-gcm", key, nonce);
  decipher.setAAD(aadOf(nonce, last));
  decipher.setAuthTag(sealed.subarray(sealed.length - TAG));
  try {
    return Buffer.concat([decipher.update(sealed.subarray(0, sealed.length - TAG)), decipher.final()]);
  } catch {
    throw new SealError(`chunk ${part}:${index} does not authenticate`);
  }
}

/** Stored bytes that do not open: tampered, swapped, or sealed under a destroyed key. */
export class SealError extends Error {}

/** Reads exactly `n` bytes at a time from a stream. */
function exactReader(stream: ReadableStream<Uint8Array>) {
  const reader = stream.getReader();
  let held: Uint8Array[] = [];
  let heldBytes = 0;
  let done = false;
  return {
    async take(n: number): Promise<Uint8Array> {
      while (heldBytes < n && !done) {
        const next = await reader.read();
        if (next.done) done = true;
        else if (next.value.byteLength) {
          held.push(next.value);
          heldBytes += next.value.byteLength;
        }
      }
      const all = held.length === 1 ? (held[0] as Uint8Array) : Buffer.concat(held);
      const out = all.subarray(0, Math.min(n, all.byteLength));
      const rest = all.subarray(out.byteLength);
      held = rest.byteLength ? [rest] : [];
      heldBytes = rest.byteLength;
      return out;
    },
    /** True when the stream has nothing more. */
    async ended(): Promise<boolean> {
      if (heldBytes > 0) return false;
      const next = await reader.read();
      if (next.done) return true;
      held = [next.value];
      heldBytes = next.value.byteLength;
      return next.value.byteLength === 0 ? this.ended() : false;
    },
    cancel: () => reader.cancel().catch(() => {}),
  };
}

export interface SealedBody {
  /** The sealed bytes, of known length (R2 needs it). */
  body: ReadableStream<Uint8Array>;
  length: number;
  /** The plaintext's digests (hex), once the body has been read to its end. */
  digests: Promise<{ md5: string; sha256: string }>;
}

/**
 * Seals `size` plaintext bytes as part `part`. Expected checksums (hex) are compared before the
 * last chunk is released: a mismatch errors the stream, so R2 never commits the object.
 */
export function sealStream(
  key: Buffer,
  source: ReadableStream<Uint8Array> | Uint8Array | string,
  size: number,
  options: { part?: number; chunk?: number; md5?: string; sha256?: string } = {},
): SealedBody {
  const part = options.part ?? 1;
  const chunk = options.chunk ?? CHUNK;
  const count = chunksIn(size, chunk);
  const md5 = createHash("md5");
  const sha = createHash("sha256");
  let settle: (d: { md5: string; sha256: string }) => void = () => {};
  let refuse: (e: unknown) => void = () => {};
  const digests = new Promise<{ md5: string; sha256: string }>((res, rej) => {
    settle = res;
    refuse = rej;
  });
  digests.catch(() => {});
  const input = exactReader(
    typeof source === "string" || source instanceof Uint8Array ? new Blob([source]).stream() : source,
  );
  let index = 0;
  const sealed = new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        const want = index === count - 1 ? size - index * chunk : chunk;
        const plain = await input.take(want);
        if (plain.byteLength !== want) throw new Error("the body is shorter than its declared length");
        md5.update(plain);
        sha.update(plain);
        const last = index === count - 1;
        if (last) {
          if (!(await input.ended())) throw new Error("the body is longer than its declared length");
          const d = { md5: md5.digest("hex"), sha256: sha.digest("hex") };
          if ((options.md5 && options.md5 !== d.md5) || (options.sha256 && options.sha256 !== d.sha256)) {
            throw new Error("The body does not match its checksum.");
          }
          settle(d);
        }
        controller.enqueue(sealChunk(key, part, index, last, plain));
        index++;
        if (last) controller.close();
      } catch (err) {
        refuse(err);
        input.cancel();
        controller.error(err);
      }
    },
    cancel: () => input.cancel(),
  });
  const length = sealedLength(size, chunk);
  const fixed = new FixedLengthStream(length);
  sealed.pipeTo(fixed.writable).catch(() => {});
  return { body: fixed.readable, length, digests };
}

/** Seals bytes held in memory (parts the object writes itself), with their plaintext SHA-256. */
export function sealBytes(key: Buffer, plain: Uint8Array, chunk = CHUNK): Uint8Array {
  const count = chunksIn(plain.byteLength, chunk);
  const out: Uint8Array[] = [];
  for (let i = 0; i < count; i++) {
    out.push(sealChunk(key, 1, i, i === count - 1, plain.subarray(i * chunk, (i + 1) * chunk)));
  }
  return Buffer.concat(out);
}

const partLength = (s: Sealing, p: number) => (p < s.parts - 1 ? s.partSize : s.size - (s.parts - 1) * s.partSize);

/** The chunks that hold plaintext [offset, offset + length), in order, and where they sit in R2. */
export function chunksOf(s: Sealing, range: { offset: number; length: number } | null) {
  const offset = range?.offset ?? 0;
  const end = range ? offset + range.length : s.size;
  const partSealed = sealedLength(s.partSize, s.chunk);
  const locate = (at: number) => {
    const p = s.parts === 1 ? 0 : Math.min(Math.floor(at / s.partSize), s.parts - 1);
    const i = Math.floor((at - p * s.partSize) / s.chunk);
    return { p, i };
  };
  const first = locate(offset);
  const lastAt = locate(Math.max(end - 1, 0));
  const chunks: { part: number; index: number; plain: number; last: boolean }[] = [];
  for (let p = first.p; p <= lastAt.p; p++) {
    const len = partLength(s, p);
    const count = chunksIn(len, s.chunk);
    const from = p === first.p ? first.i : 0;
    const to = p === lastAt.p ? lastAt.i : count - 1;
    for (let i = from; i <= to; i++) {
      chunks.push({ part: p + 1, index: i, plain: Math.min(s.chunk, len - i * s.chunk), last: i === count - 1 });
    }
  }
  const cipherOffset = first.p * partSealed + first.i * (s.chunk + TAG);
  const cipherLength = chunks.reduce((n, c) => n + c.plain + TAG, 0);
  const skip = offset - (first.p * s.partSize + first.i * s.chunk);
  return { chunks, cipher: { offset: cipherOffset, length: cipherLength }, skip, length: end - offset };
}

/**
 * Opens sealed bytes read from R2 (`cipher` = exactly chunksOf(...).cipher) into the plaintext
 * range. The first chunk is opened before the stream is handed out, so a chunk that does not
 * authenticate at the start of a read is an error answer, later ones error the stream.
 */
export async function openStream(
  key: Buffer,
  s: Sealing,
  cipher: ReadableStream<Uint8Array>,
  range: { offset: number; length: number } | null,
): Promise<ReadableStream<Uint8Array>> {
  const plan = chunksOf(s, range);
  const input = exactReader(cipher);
  let n = 0;
  let skip = plan.skip;
  let left = plan.length;
  const next = async (): Promise<Uint8Array | null> => {
    const c = plan.chunks[n++];
    if (!c || left <= 0) return null;
    const sealed = await input.take(c.plain + TAG);
    if (sealed.byteLength !== c.plain + TAG) throw new SealError("the stored object is shorter than its layout");
    let plain = openChunk(key, c.part, c.index, c.last, sealed).subarray(skip);
    skip = 0;
    if (plain.byteLength > left) plain = plain.subarray(0, left);
    left -= plain.byteLength;
    return plain;
  };
  let first: Uint8Array | null;
  try {
    first = await next();
  } catch (err) {
    input.cancel();
    throw err;
  }
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        const out = first ?? (await next());
        first = null;
        if (out === null) {
          input.cancel();
          controller.close();
        } else controller.enqueue(out);
      } catch (err) {
        input.cancel();
        controller.error(err);
      }
    },
    cancel: () => input.cancel(),
  });
}

/** The plaintext ETag of a multipart object, as R2 gives it for plaintext: md5 of the md5s, "-n". */
export function multipartEtag(partMd5s: string[]): string {
  const all = createHash("md5");
  for (const m of partMd5s) all.update(Buffer.from(m, "hex"));
  return `"${all.digest("hex")}-${partMd5s.length}"`;
}

/** Object keys from raw data keys (the current first), for readers outside the tenant's object. */
export function objectKeysOf(dataKeys: Buffer[]): ObjectKeys {
  const byId = new Map(dataKeys.map((k) => [keyIdOf(k), k]));
  return {
    keyId: keyIdOf(dataKeys[0] ?? Buffer.alloc(0)),
    objectKey(keyId, salt, name) {
      const dataKey = byId.get(keyId);
      if (!dataKey) throw new SealError("object sealed under an unknown key");
      return deriveObjectKey(dataKey, salt, name);
    },
  };
}
