// Constant tables looked up by names a client chooses (a field, a role, an operator): built
// without a prototype, so `constructor`, `toString` or `__proto__` find nothing instead of one of
// Object's own members.

/** `entries` as a frozen table with no inherited keys. */
export function nameTable<T extends object>(entries: T): Readonly<T> {
  return Object.freeze(Object.assign(Object.create(null) as T, entries));
}
