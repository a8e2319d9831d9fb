// Identifiers that are not fixed-pattern names (member subs, subjects, user principals) may hold
// any printable Unicode but never a control character (C0, DEL, C1): those forge log lines,
// terminal escapes and look-alike ids. Pattern-checked names (collections, fields, roles, record
// ids, tenant ids) exclude them by their patterns; file paths by file-path.ts.
import { z } from "zod";

const CONTROL = /\p{Cc}/u;

export const hasControlCharacters = (value: string) => CONTROL.test(value);

/** A user's id as identity providers issue it (`sub`): 1–255 characters, no control characters. */
export const SubjectSchema = z
  .string()
  .min(1)
  .max(255)
  .refine((s) => !hasControlCharacters(s), { message: "must not contain control characters" });

/** A record id, as the object generates them (and as imports keep them). */
export const RECORD_ID_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;
