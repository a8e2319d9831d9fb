import type { RateState } from "../contract/result";
// A token bucket per tenant, held in the tenant's object: `burst` tokens, refilled at
// `requestsPerSecond`. Time is passed in, so the bucket is exact and testable without sleeps.

export class TokenBucket {
  private tokens: number;
  private last: number;

  constructor(
    private rate: number,
    private burst: number,
    now: number,
  ) {
    this.tokens = burst;
    this.last = now;
  }

  /** Follows a limit change at once, keeping the tokens already earned (capped at the new size). */
  configure(rate: number, burst: number): void {
    this.rate = rate;
    this.burst = burst;
    this.tokens = Math.min(this.tokens, burst);
  }

  take(now: number): { allowed: boolean; state: RateState } {
    const elapsed = Math.max(0, now - this.last) / 1000;
    this.last = Math.max(now, this.last);
    this.tokens = Math.min(this.burst, this.tokens + elapsed * this.rate);
    const allowed = this.tokens >= 1;
    if (allowed) this.tokens -= 1;
    const perSecond = Math.max(this.rate, 1e-9);
    return {
      allowed,
      state: {
        limit: this.burst,
        remaining: Math.floor(this.tokens),
        reset: Math.ceil((this.burst - this.tokens) / perSecond),
        retryAfter: allowed ? 0 : Math.max(1, Math.ceil((1 - this.tokens) / perSecond)),
        window: Math.max(1, Math.ceil(this.burst / perSecond)),
      },
    };
  }
}
