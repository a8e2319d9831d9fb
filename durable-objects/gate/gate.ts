// The gate of every data-plane call: the tenant's rate limit before any work (an API key also
// its own share), the monthly request quota, then status, membership and one permission; then
// the work (once per Idempotency-Key), metered. Read counts are flushed up to a minute later, so a read never costs a write.
import { authorize, type Principal } from "../access/authorize";
import { ACCESS_FLUSH_AFTER, ACCESS_FLUSH_DELAY_MS, flushAccess, pendingAccess } from "../audit/access-audit";
import type { Permission } from "../contract/access";
import { actorOf, type Caller } from "../contract/caller";
import type { Limits } from "../contract/config";
import { type Answer, fail, ok, type Result } from "../contract/result";
import type { Db, Store } from "../db/store";
import { FLUSH_DELAY_MS, UsageMeter } from "../usage/usage-meter";
import { once, onceAsync } from "./idempotency";
import { TokenBucket } from "./rate-limit";

/** Calls that change the tenant: their counts are written at once, with the work. */
export const WRITE_PERMISSIONS: ReadonlySet<Permission> = new Set<Permission>([
  "records:write",
  "collections:manage",
  "files:write",
  "members:manage",
  "keys:manage",
  "settings:manage",
]);

type Work<T> = (store: Store, p: Principal) => Result<T>;

const missing = () => fail("not_found", "Tenant not found.");

/** Seconds a client is told to wait while the tenant is being restored. */
export const RESTORE_RETRY_AFTER = 5;
const restoring = () =>
  fail("service_unavailable", "This tenant is being restored from a backup; retry shortly.", {
    retryAfter: RESTORE_RETRY_AFTER,
  });

export class Gate {
  readonly meter = new UsageMeter();
  private bucket: TokenBucket | null = null;
  /** API keys' own buckets, made with the first key's call (most tenants' objects never see one). */
  private keyBuckets: Map<string, TokenBucket> | null = null;
  private flushScheduled = false;
  private flushIsSoon = false;
  /** No request served yet by this instance (objects are evicted when idle and started again). */
  private fresh = true;

  constructor(
    private readonly ctx: DurableObjectState,
    private readonly db: () => Db,
  ) {}

  admit<T>(store: Store | null, caller: Caller, permission: Permission | null, work: Work<T>): Answer<T> {
    if (!store) return missing();
    if (store.restoring) return restoring();
    const { limits } = store.config;
    this.bucket ??= new TokenBucket(limits.requestsPerSecond, limits.burst, Date.now());
    // An API key has its own share (half the tenant's rate and burst), so one machine client
    // cannot use up the whole tenant's budget; the tenant's bucket still applies on top.
    const keyLimited = caller.kind === "apikey" ? this.keyBucket(caller.sub, limits).take(Date.now()) : null;
    const { allowed, state: rate } = keyLimited && !keyLimited.allowed ? keyLimited : this.bucket.take(Date.now());
    if (!allowed) {
      this.meter.count("rateLimited");
      this.scheduleFlush();
      const detail = `This tenant may send ${limits.requestsPerSecond} requests per second.`;
      return { ...fail("rate_limited", detail, { retryAfter: rate.retryAfter }), rate };
    }
    const used = this.meter.current(store.sql, "requests");
    if (used >= limits.maxRequestsPerMonth) {
      const detail = "This tenant has used its requests for the month.";
      return { ...fail("quota_exceeded", detail, { limit: limits.maxRequestsPerMonth, current: used }), rate };
    }
    const p = authorize(this.db, store.storage, store.config, caller, permission);
    this.meter.count("requests");
    if (!p.ok) {
      this.scheduleFlush(store.storage);
      return { ...p, rate };
    }
    const principal = p.value;
    const run = () =>
      caller.idempotency
        ? once(store, actorOf(caller), caller.idempotency, () => work(store, principal))
        : work(store, principal);
    const writes = permission !== null && WRITE_PERMISSIONS.has(permission);
    let result: Result<T>;
    if (writes) {
      // A write's counts (and any buffered access events) go into its own transaction (the work's
      // nests inside): one commit, not two.
      result = store.storage.transactionSync(() => {
        const done = run();
        this.meter.count("writes");
        this.meter.flush(store.sql);
        flushAccess(store.storage, store.db);
        return done;
      });
    } else {
      result = run();
      this.meter.count("reads");
      // A just-started object writes its counts at once: it is most likely a tenant that calls now
      // and then, and an alarm would cost more than the write (and start the object again later).
      if (this.meter.due || this.fresh || pendingAccess(store.storage) >= ACCESS_FLUSH_AFTER) this.flush(store);
      else this.scheduleFlush(store.storage);
    }
    this.fresh = false;
    // The call's cursors are done with: their rows counted now, so none outlives the request.
    this.meter.sql.settle();
    return { ...result, rate };
  }

  /**
   * Work that awaits (erasure reaches R2): admitted like any call, then done once per
   * Idempotency-Key (the replay check before it, its answer kept after it).
   */
  async admitAsync<T>(
    store: Store | null,
    caller: Caller,
    permission: Permission,
    work: (store: Store, p: Principal) => Promise<Result<T>>,
  ): Promise<Answer<T>> {
    const { idempotency, ...plain } = caller;
    const allowed = this.admit(store, plain, permission, (s, p) => ok({ s, p }));
    if (!allowed.ok) return allowed;
    const { s, p } = allowed.value;
    return idempotency ? onceAsync(s, actorOf(caller), idempotency, () => work(s, p)) : work(s, p);
  }

  /**
   * The second half of an upload the gate already admitted (commit, part checks): permission
   * only, so a rate limit can never strand bytes that R2 has already accepted.
   */
  followUp<T>(store: Store | null, caller: Caller, permission: Permission, work: Work<T>): Result<T> {
    if (!store) return missing();
    if (store.restoring) return restoring();
    const p = authorize(this.db, store.storage, store.config, caller, permission);
    return p.ok ? work(store, p.value) : p;
  }

  /** Follows a limits change at once. */
  configure(limits: Limits): void {
    this.bucket?.configure(limits.requestsPerSecond, limits.burst);
  }

  reset(): void {
    this.bucket = null;
    this.keyBuckets = null;
  }

  /** Writes the usage counts and the buffered access events (audit/access-audit.ts) together. */
  flush(store: Store): void {
    store.storage.transactionSync(() => {
      this.meter.flush(store.sql);
      flushAccess(store.storage, store.db);
    });
  }

  /** Access events were buffered outside a call (audit/access-audit.ts): written within seconds. */
  flushSoon(store: Store): void {
    this.scheduleFlush(store.storage);
  }

  /** The alarm fired: whatever it flushes, a later count schedules a new one. */
  alarmed(store: Store): void {
    this.flushScheduled = false;
    this.flushIsSoon = false;
    this.flush(store);
  }

  private keyBucket(keyId: string, limits: Limits): TokenBucket {
    this.keyBuckets ??= new Map();
    let bucket = this.keyBuckets.get(keyId);
    const rate = Math.max(1, limits.requestsPerSecond / 2);
    const burst = Math.max(1, Math.floor(limits.burst / 2));
    if (!bucket) {
      if (this.keyBuckets.size > 10_000) this.keyBuckets.clear();
      bucket = new TokenBucket(rate, burst, Date.now());
      this.keyBuckets.set(keyId, bucket);
    } else {
      bucket.configure(rate, burst);
    }
    return bucket;
  }

  /** Flushes read counters up to a minute later, so a read never costs a write of its own. */
  private scheduleFlush(storage?: DurableObjectStorage): void {
    // Buffered access events are written within seconds; counts alone may wait a minute.
    const soon = storage !== undefined && pendingAccess(storage) > 0;
    if (!(this.meter.hasPending || soon) || (this.flushScheduled && (!soon || this.flushIsSoon))) return;
    this.flushScheduled = true;
    this.flushIsSoon = soon;
    // One alarm serves every deferred job: never push back an earlier one (an export's next
    // chunk, a retention continuation) to the flush's later time.
    const at = Date.now() + (soon ? ACCESS_FLUSH_DELAY_MS : FLUSH_DELAY_MS);
    this.ctx.waitUntil(
      (async () => {
        const current = await this.ctx.storage.getAlarm();
        if (current === null || current > at) await this.ctx.storage.setAlarm(at);
      })(),
    );
  }
}
