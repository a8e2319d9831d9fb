// The README's configuration for each identity provider, value for value (a node test checks the
// README shows exactly these). The provider tests run the Worker with these settings and nothing
// else; the only substitution is the key source: the test's own JWKS (AUTH_JWKS) stands in for
// the provider's AUTH_JWKS_URL, since tests have no network.

export interface ProviderSetup {
  /** The README's heading for the provider. */
  title: string;
  vars: Record<string, string>;
}

export const PROVIDERS = {
  auth0: {
    title: "Auth0 (Organizations)",
    vars: {
      AUTH_JWKS_URL: "https://silo-example.eu.auth0.com/.well-known/jwks.json",
      AUTH_ISSUER: "https://silo-example.eu.auth0.com/",
      AUTH_AUDIENCE: "https://api.silo.example",
      TENANT_CLAIM: "org_id",
      ROLES_CLAIM: "https://silo.example/roles",
    },
  },
  clerk: {
    title: "Clerk (Organizations, session token v2)",
    vars: {
      AUTH_JWKS_URL: "https://clerk.silo.example/.well-known/jwks.json",
      AUTH_ISSUER: "https://clerk.silo.example",
      TENANT_CLAIM: "o.id",
      ROLES_CLAIM: "o.rol",
    },
  },
  cognito: {
    title: "Amazon Cognito",
    vars: {
      AUTH_JWKS_URL: "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_Ab12Cd34E/.well-known/jwks.json",
      AUTH_ISSUER: "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_Ab12Cd34E",
      AUTH_AUDIENCE: "5r1u9lfqgdkoj2vt3e0h8c6m4a",
      AUTH_TOKEN_USE: "any",
      TENANT_CLAIM: "custom:tenantId",
      ROLES_CLAIM: "cognito:groups",
    },
  },
  entra: {
    title: "Microsoft Entra ID (multi-tenant app)",
    vars: {
      AUTH_JWKS_URL: "https://login.microsoftonline.com/common/discovery/v2.0/keys",
      AUTH_ISSUER: "https://login.microsoftonline.com/{tid}/v2.0",
      AUTH_AUDIENCE: "0f8fad5b-d9cb-469f-a165-70867728950e",
      TENANT_CLAIM: "tid",
      ROLES_CLAIM: "roles",
    },
  },
  firebase: {
    title: "Firebase Authentication / Identity Platform (multi-tenancy)",
    vars: {
      AUTH_JWKS_URL: "https://www.googleapis.com/service_accounts/v1/jwk/securetoken@system.gserviceaccount.com",
      AUTH_ISSUER: "https://securetoken.google.com/silo-example",
      AUTH_AUDIENCE: "silo-example",
      TENANT_CLAIM: "firebase.tenant",
      ROLES_CLAIM: "roles",
    },
  },
} satisfies Record<string, ProviderSetup>;

/** Every setting a provider's configuration may set; the rest of the test bindings stay. */
export const IDENTITY_SETTINGS = [
  "AUTH_HS256_SECRET",
  "AUTH_JWKS",
  "AUTH_JWKS_URL",
  "AUTH_ISSUER",
  "AUTH_AUDIENCE",
  "AUTH_TOKEN_USE",
  "TENANT_CLAIM",
  "ROLES_CLAIM",
] as const;

/** The Worker's settings for a provider: its README values, keys from `jwks`, nothing else. */
export function providerEnv(vars: Record<string, string>, jwks: string): Record<string, string | undefined> {
  const settings: Record<string, string | undefined> = Object.fromEntries(IDENTITY_SETTINGS.map((k) => [k, undefined]));
  const { AUTH_JWKS_URL: _replacedByTheTestKeys, ...rest } = vars;
  return { ...settings, ...rest, AUTH_JWKS: jwks };
}
