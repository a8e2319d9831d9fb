// File views: what the tenant's catalogue says about a file in R2, and a listing page.
import { z } from "zod";

export const FileSchema = z.object({
  path: z.string(),
  size: z.number(),
  contentType: z.string(),
  etag: z.string(),
  sha256: z.string().nullable(),
  uploadedBy: z.string(),
  createdAt: z.string(),
  updatedAt: z.string(),
  /** Downloads are audited (file.downloaded); set by X-Silo-Audit-Reads: true on upload, sticky. */
  auditReads: z.boolean().optional(),
  /** "Standard", or "InfrequentAccess" once the archival sweep moved it. */
  storageClass: z.string().optional(),
});
export type FileView = z.infer<typeof FileSchema>;

/** What R2 said about an object the Worker stored, for the catalogue row. */
export interface StoredObject {
  path: string;
  size: number;
  contentType: string;
  etag: string;
  sha256: string | null;
  auditReads?: boolean;
  /** How R2 holds it (storage/object-seal.ts); absent or null: in clear. */
  sealing?: string | null;
}

/** An object's own key for one write or read, handed to the Worker (never the data key). */
export interface ObjectSeal {
  keyId: string;
  salt: string;
  /** base64 */
  key: string;
}

/** A file to read: its view, and how to open its bytes (null: stored in clear). */
export interface FileOpen {
  file: FileView;
  sealing: string | null;
  key: string | null;
}

export const FileListingSchema = z.object({
  items: z.array(FileSchema),
  folders: z.array(z.string()),
  nextCursor: z.string().nullable(),
});
export type FileListing = z.infer<typeof FileListingSchema>;
