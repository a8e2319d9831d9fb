// The tenant's data keys, unwrapped on first use and kept only in this object's memory; a new
// configuration (a rotation adds or retires keys) unwraps again.
import type { TenantConfig } from "../contract/config";
import { type MasterKeys, unwrapDataKey } from "../contract/wrapped-key";
import { FieldCipher, KeyRing } from "./field-cipher";

export class KeyCache {
  private cached: { wrapped: string; ring: KeyRing } | null = null;

  constructor(private readonly keys: MasterKeys) {}

  ring(config: TenantConfig): KeyRing {
    const wrapped = [config.wrappedKey, ...(config.retiredKeys ?? [])].join("|");
    if (this.cached?.wrapped !== wrapped) {
      const [current, ...retired] = wrapped.split("|").map((w) => new FieldCipher(unwrapDataKey(this.keys, w)));
      this.cached = { wrapped, ring: new KeyRing(current as FieldCipher, retired) };
    }
    return this.cached.ring;
  }

  clear(): void {
    this.cached = null;
  }
}
