// Plan features: named parts of the data plane a plan (or a tenant's subscription) grants. The
// Worker names the feature of each request's route (featureOfRoute, the one table); the object's
// gate refuses a caller whose tenant's configuration lacks it (403 feature_not_in_plan).

export const FEATURES = ["search", "changes", "realtime", "webhooks", "aggregate"] as const;
export type Feature = (typeof FEATURES)[number];

export const isFeature = (v: unknown): v is Feature => FEATURES.includes(v as Feature);

/** The routes behind each feature (path patterns; {name} is any one segment). */
const ROUTES: [RegExp, Feature][] = [
  [/^\/v1\/search$/, "search"],
  [/^\/v1\/changes$/, "changes"],
  [/^\/v1\/realtime(?:\/tickets)?$/, "realtime"],
  [/^\/v1\/webhooks(?:\/.*)?$/, "webhooks"],
  [/^\/v1\/collections\/[^/]+\/aggregate$/, "aggregate"],
];

/** The feature a data-plane path needs, or null when every plan has it. */
export function featureOfRoute(path: string): Feature | null {
  for (const [pattern, feature] of ROUTES) if (pattern.test(path)) return feature;
  return null;
}
