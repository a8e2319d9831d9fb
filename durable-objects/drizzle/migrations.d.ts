// Types for drizzle-kit's generated migrations bundle.
declare const bundle: {
  journal: { entries: { idx: number; when: number; tag: string; breakpoints: boolean }[] } & Record<string, unknown>;
  migrations: Record<string, string>;
};
export default bundle;
