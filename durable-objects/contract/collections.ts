// Collection views: a collection's definition as the API answers it.
import { z } from "zod";
import { JsonValueSchema } from "./result";

export const CollectionSchema = z.object({
  name: z.string(),
  fields: z.array(z.record(z.string(), JsonValueSchema)),
  acl: z.boolean(),
  indexes: z.array(z.object({ name: z.string(), fields: z.array(z.string()), unique: z.boolean() })),
  renames: z.record(z.string(), z.string()),
  createdAt: z.string(),
  updatedAt: z.string(),
});
