// Identifiers that are not fixed-pattern names (member subs, subjects, user principals) may hold
// any printable Unicode but never a control character (C0, DEL, C1): those forge log lines,
// terminal escapes and look-alike ids. Pattern-checked names (collections, fields, roles, record
// ids, tenant ids) exclude them by their patterns; file paths by file-path.ts.
import { z } from "zod";
import { isSubject, MAX_SUBJECT_LENGTH } from "./subject";

/** A user's id as identity providers issue it (`sub`): subject.ts's rule, as a schema. */
export const SubjectSchema = z
  .string()
  .min(1)
  .max(MAX_SUBJECT_LENGTH)
  .refine(isSubject, { message: "must not contain control characters or lone surrogates" });

/** A record id, as the object generates them (and as imports keep them). */
export const RECORD_ID_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;
