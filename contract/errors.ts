/**
 * Typed errors with stable codes. Codes cross process boundaries (NATS replies, HTTP bodies, logs),
 * so they are part of the contract: never rename one, only add. Each is listed in docs/errors.md
 * (a unit test checks that).
 */
export const ERROR_CODES = {
  // configuration and set-up
  InvalidConfig: 'InvalidConfig',
  NatsServerMissing: 'NatsServerMissing',
  PortInUse: 'PortInUse',
  InvalidFleetSpec: 'InvalidFleetSpec',
  // message boundary
  InvalidMessage: 'InvalidMessage',
  UnsupportedProtocolVersion: 'UnsupportedProtocolVersion',
  MessageTooLarge: 'MessageTooLarge',
  // identity
  InvalidBootstrapToken: 'InvalidBootstrapToken',
  IdentityInvalid: 'IdentityInvalid',
  IdentityRevoked: 'IdentityRevoked',
  IdentityExpired: 'IdentityExpired',
  ClusterExpired: 'ClusterExpired',
  // ARM API (names are ARM's own)
  ResourceNotFound: 'ResourceNotFound',
  ResourceGroupNotFound: 'ResourceGroupNotFound',
  LocationRequired: 'LocationRequired',
  InvalidRequestContent: 'InvalidRequestContent',
  InvalidParameter: 'InvalidParameter',
  MissingApiVersionParameter: 'MissingApiVersionParameter',
  InvalidApiVersionParameter: 'InvalidApiVersionParameter',
  InvalidResourceName: 'InvalidResourceName',
  PropertyChangeNotAllowed: 'PropertyChangeNotAllowed',
  InvalidResourceLocation: 'InvalidResourceLocation',
  LocationNotAvailableForResourceType: 'LocationNotAvailableForResourceType',
  LocationNotAvailableForResourceGroup: 'LocationNotAvailableForResourceGroup',
  InvalidSubscriptionId: 'InvalidSubscriptionId',
  InvalidResourceGroup: 'InvalidResourceGroup',
  UnsupportedMediaType: 'UnsupportedMediaType',
  Conflict: 'Conflict',
  // Microsoft.Authorization (role assignments)
  RoleAssignmentExists: 'RoleAssignmentExists',
  RoleAssignmentNotFound: 'RoleAssignmentNotFound',
  RoleAssignmentUpdateNotPermitted: 'RoleAssignmentUpdateNotPermitted',
  RoleDefinitionDoesNotExist: 'RoleDefinitionDoesNotExist',
  // Microsoft.Authorization (custom role definitions)
  RoleDefinitionWithSameNameExists: 'RoleDefinitionWithSameNameExists',
  RoleDefinitionHasAssignments: 'RoleDefinitionHasAssignments',
  RoleScopeBeingRemovedContainsAssignments: 'RoleScopeBeingRemovedContainsAssignments',
  InvalidActionOrNotAction: 'InvalidActionOrNotAction',
  InvalidRoleDefinitionId: 'InvalidRoleDefinitionId',
  InvalidRoleAssignmentId: 'InvalidRoleAssignmentId',
  InvalidPrincipalId: 'InvalidPrincipalId',
  QuotaExceeded: 'QuotaExceeded',
  OnboardingFailed: 'OnboardingFailed',
  OperationCanceled: 'OperationCanceled',
  InternalServerError: 'InternalServerError',
  ServiceUnavailable: 'ServiceUnavailable',
  RequestEntityTooLarge: 'RequestEntityTooLarge',
  RequestTimeout: 'RequestTimeout',
  NotFound: 'NotFound',
  HttpsRequired: 'HttpsRequired',
  AuthenticationFailed: 'AuthenticationFailed',
  InvalidAuthenticationToken: 'InvalidAuthenticationToken',
  ExpiredAuthenticationToken: 'ExpiredAuthenticationToken',
  InvalidAuthenticationTokenTenant: 'InvalidAuthenticationTokenTenant',
  InvalidAuthenticationTokenAudience: 'InvalidAuthenticationTokenAudience',
  // cluster configuration (extensions, Flux configurations, Service Connector)
  InstallationFailed: 'InstallationFailed',
  AgentResponseTimeout: 'AgentResponseTimeout',
  ProtectedSettingsExpired: 'ProtectedSettingsExpired',
  ExtensionNotInstalled: 'ExtensionNotInstalled',
  FluxApplyFailed: 'FluxApplyFailed',
  // cluster connect
  Unauthorized: 'Unauthorized',
  Forbidden: 'Forbidden',
  ClusterConnectUnavailable: 'ClusterConnectUnavailable',
  ClusterConnectTimeout: 'ClusterConnectTimeout',
  // emulated apiserver
  KubeApiError: 'KubeApiError',
} as const;

export type ErrorCode = (typeof ERROR_CODES)[keyof typeof ERROR_CODES];

export interface ArcErrorOptions {
  /** HTTP status when the error crosses the ARM API. */
  status?: number;
  /** The request field at fault, e.g. `properties.agentPublicKeyCertificate`. */
  target?: string | undefined;
  cause?: unknown;
  details?: Record<string, unknown>;
}

export class ArcError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly target: string | undefined;
  readonly details: Record<string, unknown> | undefined;

  constructor(code: ErrorCode, message: string, options: ArcErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'ArcError';
    this.code = code;
    this.status = options.status ?? 500;
    this.target = options.target;
    this.details = options.details;
  }

  /** ARM error body: `{"error":{"code","message","target"?}}`. */
  toArm(): { error: { code: string; message: string; target?: string } } {
    return {
      error: {
        code: this.code,
        message: this.message,
        ...(this.target === undefined ? {} : { target: this.target }),
      },
    };
  }
}

export class ConfigError extends ArcError {
  constructor(
    readonly setting: string,
    message: string,
  ) {
    super(ERROR_CODES.InvalidConfig, `invalid setting ${setting}: ${message}`, {
      status: 400,
      target: setting,
    });
    this.name = 'ConfigError';
  }
}

export class MessageRejectedError extends ArcError {
  constructor(
    code: ErrorCode,
    message: string,
    readonly subject: string,
  ) {
    super(code, message, { status: 400 });
    this.name = 'MessageRejectedError';
  }
}

export class IdentityError extends ArcError {
  constructor(code: ErrorCode, message: string) {
    super(code, message, { status: 403 });
    this.name = 'IdentityError';
  }
}

export class FleetSpecError extends ArcError {
  constructor(
    message: string,
    readonly line: number | undefined,
    readonly field: string | undefined,
  ) {
    super(
      ERROR_CODES.InvalidFleetSpec,
      `${line === undefined ? '' : `line ${line}: `}${field === undefined ? '' : `${field}: `}${message}`,
      { status: 400, ...(field === undefined ? {} : { target: field }) },
    );
    this.name = 'FleetSpecError';
  }
}

export function isArcError(err: unknown): err is ArcError {
  return err instanceof ArcError;
}
