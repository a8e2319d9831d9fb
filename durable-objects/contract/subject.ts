// User ids (a token's `sub`, a member's id): what identity providers issue, 1–255 characters and
// no control characters or lone surrogates, so an id can never split a log line, an audit resource or a header.

export const MAX_SUBJECT_LENGTH = 255;

// \p{Cc}: C0 controls (NUL, newline, escape ...), DEL and the C1 controls; \p{Cs}: a lone
// surrogate, half of a character (it cannot be stored, encoded in a URL or compared as sent).
const CONTROL = /[\p{Cc}\p{Cs}]/u;

export const isSubject = (value: unknown): value is string =>
  typeof value === "string" && value.length > 0 && value.length <= MAX_SUBJECT_LENGTH && !CONTROL.test(value);

export const hasControlCharacters = (value: string) => CONTROL.test(value);
