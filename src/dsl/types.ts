// The types users write in descope.config.ts and environments/*.ts. Everything a builder returns is
// plain, frozen, JSON-serialisable data with a `kind` field (see STYLE.md: the module-identity trap).

/** A secret is never written in a config: it names where to read it from at apply time. */
export interface SecretRef {
  /** The name of the environment variable that holds the secret, e.g. `ACME_OIDC_SECRET`. */
  readonly env: string;
}

export type ExpirationUnit = 'minutes' | 'hours' | 'days' | 'weeks';

/** A duration as Descope stores it: a number and a unit. */
export interface Duration {
  readonly value: number;
  readonly unit: ExpirationUnit;
}

export type CustomAttributeValue = string | number | boolean | readonly string[];

/** Per-tenant session settings (Descope's tenant settings). Only the fields you set are managed. */
export interface TenantSettings {
  /**
   * Whether these tenant-level session settings override the project's (Descope: `enabled`).
   * Default: true when you set a token lifetime or the inactivity timeout; otherwise unmanaged.
   */
  readonly sessionSettingsEnabled?: boolean;
  readonly sessionTokenExpiration?: Duration;
  readonly refreshTokenExpiration?: Duration;
  readonly stepupTokenExpiration?: Duration;
  /** Log users out after this much inactivity; `false` turns inactivity timeout off. */
  readonly inactivityTimeout?: Duration | false;
  /** Just-in-time provisioning of SSO users (Descope: `JITDisabled`, inverted). */
  readonly jitProvisioning?: boolean;
}

/** Standard user attributes mapped from the identity provider's claims or attributes. */
export interface AttributeMapping {
  readonly name?: string;
  readonly email?: string;
  readonly username?: string;
  readonly phoneNumber?: string;
  readonly givenName?: string;
  readonly middleName?: string;
  readonly familyName?: string;
  readonly picture?: string;
  readonly verifiedEmail?: string;
  readonly verifiedPhone?: string;
  readonly group?: string;
  readonly customAttributes?: Readonly<Record<string, string>>;
}

export interface OidcAttributeMapping extends AttributeMapping {
  readonly loginId?: string;
}

/** Users in these IdP groups get this role. */
export interface RoleMapping {
  /** The name of a role declared in this config. */
  readonly role: string;
  readonly groups: readonly string[];
}

interface SsoCommon {
  /** Email domains routed to this IdP. */
  readonly domains?: readonly string[];
  readonly roleMappings?: readonly RoleMapping[];
}

export interface OidcSso extends SsoCommon {
  readonly type: 'oidc';
  /** Display name of the IdP. */
  readonly name: string;
  readonly clientId: string;
  /** Never a literal: `{ env: 'ACME_OIDC_SECRET' }`. */
  readonly clientSecret?: SecretRef;
  readonly issuer?: string;
  readonly authUrl?: string;
  readonly tokenUrl?: string;
  readonly userDataUrl?: string;
  readonly jwksUrl?: string;
  readonly redirectUrl?: string;
  readonly callbackDomain?: string;
  readonly scope?: readonly string[];
  readonly prompt?: readonly ('none' | 'login' | 'consent' | 'select_account')[];
  readonly grantType?: 'authorization_code' | 'implicit';
  readonly manageProviderTokens?: boolean;
  readonly attributeMapping?: OidcAttributeMapping;
}

export interface SamlSso extends SsoCommon {
  readonly type: 'saml';
  readonly idpUrl: string;
  readonly entityId: string;
  /** The IdP's signing certificate (PEM). Public, so it may be written inline. */
  readonly idpCert: string;
  readonly spACSUrl?: string;
  readonly spEntityId?: string;
  readonly redirectUrl?: string;
  readonly attributeMapping?: AttributeMapping;
  readonly defaultSSORoles?: readonly string[];
}

export interface SamlMetadataSso extends SsoCommon {
  readonly type: 'saml-metadata';
  readonly idpMetadataUrl: string;
  readonly entityId?: string;
  readonly spACSUrl?: string;
  readonly spEntityId?: string;
  readonly redirectUrl?: string;
  readonly attributeMapping?: AttributeMapping;
  readonly defaultSSORoles?: readonly string[];
}

export type TenantSso = OidcSso | SamlSso | SamlMetadataSso;

export interface TenantInput {
  /** The tenant's id in Descope; also its address, `tenants/<id>`. */
  readonly id: string;
  readonly name: string;
  /** Users signing up with these email domains join this tenant. */
  readonly selfProvisioningDomains?: readonly string[];
  readonly customAttributes?: Readonly<Record<string, CustomAttributeValue>>;
  /** Members must sign in through the tenant's SSO. */
  readonly enforceSSO?: boolean;
  readonly disabled?: boolean;
  /** The id of the parent tenant. Set at creation only: Descope cannot move a tenant. */
  readonly parent?: string;
  /** Roles (declared in this config) that new members of the tenant get. */
  readonly defaultRoles?: readonly string[];
  readonly settings?: TenantSettings;
  readonly sso?: TenantSso;
  /** Never delete or replace this tenant; a plan that would is an error. */
  readonly protect?: boolean;
}

export interface TenantSpec extends TenantInput {
  readonly kind: 'tenant';
}

export interface PermissionInput {
  readonly name: string;
  readonly description?: string;
  readonly protect?: boolean;
}

export interface PermissionSpec extends PermissionInput {
  readonly kind: 'permission';
}

export interface RoleInput {
  readonly name: string;
  readonly description?: string;
  /** Names of permissions declared in this config. */
  readonly permissions?: readonly string[];
  /** Scope the role to one tenant (its id); project-wide when absent. */
  readonly tenant?: string;
  /** Assign this role to new users by default. */
  readonly default?: boolean;
  /** The role's previous name: it is renamed in place, so users keep it. */
  readonly renamedFrom?: string;
  readonly protect?: boolean;
}

export interface RoleSpec extends RoleInput {
  readonly kind: 'role';
}

/** A flow document as JSON (console/v1 `{flow, screens}` or exported/v2 `{flowId, metadata, contents, …}`). */
export type FlowJson = Readonly<Record<string, unknown>>;

interface FlowCommon {
  /** The flow's id in Descope, e.g. `sign-up-or-in`; also its address, `flows/<id>`. */
  readonly id: string;
  /** Overrides the name in the flow document. */
  readonly name?: string;
  readonly description?: string;
  readonly disabled?: boolean;
  readonly protect?: boolean;
}

export interface TemplateFlowInput extends FlowCommon {
  /** A file under the templates folder, e.g. `sign-up-or-in.json.njk`. */
  readonly template: string;
  /** Values for the template, next to `env` and `vars`. */
  readonly vars?: Readonly<Record<string, unknown>>;
  readonly json?: never;
}

export interface InlineFlowInput extends FlowCommon {
  readonly json: FlowJson;
  readonly template?: never;
  readonly vars?: never;
}

export type FlowInput = TemplateFlowInput | InlineFlowInput;

export type FlowSpec = FlowInput & { readonly kind: 'flow' };

export type ThemeInput =
  | { readonly template: string; readonly vars?: Readonly<Record<string, unknown>>; readonly json?: never }
  | { readonly json: Readonly<Record<string, unknown>>; readonly template?: never; readonly vars?: never };

export type ThemeSpec = ThemeInput & { readonly kind: 'theme' };

/** The project's password policy (Descope's password settings). Only the fields you set are managed. */
export interface PasswordPolicyInput {
  readonly enabled?: boolean;
  readonly minLength?: number;
  readonly lowercase?: boolean;
  readonly uppercase?: boolean;
  readonly number?: boolean;
  readonly nonAlphaNumeric?: boolean;
  readonly expiration?: boolean;
  readonly expirationWeeks?: number;
  readonly reuse?: boolean;
  readonly reuseAmount?: number;
  readonly lock?: boolean;
  readonly lockAttempts?: number;
}

export interface PasswordPolicySpec extends PasswordPolicyInput {
  readonly kind: 'passwordPolicy';
}

/** Kinds that may be pruned: live resources of these kinds that the config does not declare are deleted. */
export interface PruneOptions {
  readonly tenants?: boolean;
  readonly roles?: boolean;
  readonly permissions?: boolean;
  readonly flows?: boolean;
}

/** What a module may contribute. */
export interface ModuleParts {
  readonly tenants?: readonly TenantSpec[];
  readonly roles?: readonly RoleSpec[];
  readonly permissions?: readonly PermissionSpec[];
  readonly flows?: readonly FlowSpec[];
}

/** One use of a module: its parts plus where they came from. */
export interface ModuleInstance extends ModuleParts {
  readonly kind: 'module';
  readonly name: string;
  /** The module's own templates folder, as a `file:` URL or absolute path. */
  readonly templatesDir?: string;
  /** The parameters it was called with, for messages. */
  readonly params: unknown;
}

export interface ConfigInput extends ModuleParts {
  readonly modules?: readonly ModuleInstance[];
  readonly theme?: ThemeSpec;
  readonly passwordPolicy?: PasswordPolicySpec;
  /** The templates folder, relative to the config file. Default: `templates`. */
  readonly templatesDir?: string;
  readonly prune?: PruneOptions;
}

export interface ConfigSpec extends ConfigInput {
  readonly kind: 'config';
}

// Environment values are whatever the user puts there; `any` lets `vars.domain` be used as a
// string without a cast. Users who want checking pass their own type to defineConfig<Vars>.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Vars = Readonly<Record<string, any>>;

export interface ConfigContext<V extends Vars = Vars> {
  /** The environment's name, e.g. `staging`. */
  readonly env: string;
  /** The environment's values (`vars` of environments/<name>.ts). */
  readonly vars: V;
}

export type ConfigFactory<V extends Vars = Vars> = (context: ConfigContext<V>) => ConfigInput;

/** The default export of descope.config.ts. */
export type ConfigDefinition = ConfigSpec | { readonly kind: 'config-factory'; readonly factory: ConfigFactory };

export interface RequestBudget {
  /** Requests allowed per window. Default 100. */
  readonly requests: number;
  /** Window length in seconds. Default 60. */
  readonly windowSeconds: number;
}

export interface EmulatorEnvironment {
  /** Where the embedded emulator keeps its state, relative to the project. Default `.descope/local/state.json`. */
  readonly stateFile?: string;
}

export interface EnvironmentInput {
  /** The Descope project id this environment is (`P2…`). DESCOPE_PROJECT_ID fills it in when absent; a different one stops every command. */
  readonly projectId?: string;
  /**
   * Where the management key comes from; default `{ env: 'DESCOPE_MANAGEMENT_KEY' }`. A literal key is
   * refused. When named, the key is read from that variable only: a DESCOPE_MANAGEMENT_KEY that is
   * also set, to another key or in place of it, stops every command.
   */
  readonly managementKey?: SecretRef;
  /**
   * The API base URL: an http(s) origin with an optional path (no query, fragment or credentials).
   * DESCOPE_BASE_URL fills it in when absent; a different one stops every command.
   */
  readonly baseUrl?: string;
  /** Ask the user to type the project's id or name before applying. */
  readonly protected?: boolean;
  /** Values available to the config (`vars`) and to templates. */
  readonly vars?: Vars;
  /** The request budget the runner paces itself to. Default 100 requests per 60 s. */
  readonly budget?: RequestBudget;
  /** Run against the embedded emulator instead of a Descope project (the `local` environment). */
  readonly emulator?: EmulatorEnvironment | true;
}

export interface EnvironmentSpec extends EnvironmentInput {
  readonly kind: 'environment';
}
