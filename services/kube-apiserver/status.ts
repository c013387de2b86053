/**
 * Kubernetes `Status` objects (meta/v1) and the error that carries one. Every failure of the
 * emulated apiserver reaches the client as a Status with the matching HTTP code, so kubectl and
 * client libraries print the message they would print against a real cluster.
 */
import { ArcError, ERROR_CODES } from '../../contract/index.js';

export type StatusReason =
  | 'NotFound'
  | 'AlreadyExists'
  | 'Conflict'
  | 'Invalid'
  | 'BadRequest'
  | 'MethodNotAllowed'
  | 'Forbidden'
  | 'Expired'
  | 'UnsupportedMediaType'
  | 'NotAcceptable'
  | 'RequestEntityTooLarge'
  | 'Timeout'
  | 'InternalError';

export interface StatusCause {
  readonly reason: string;
  readonly message: string;
  readonly field?: string;
}

export interface StatusDetails {
  readonly name?: string;
  readonly group?: string;
  readonly kind?: string;
  readonly uid?: string;
  readonly causes?: readonly StatusCause[];
}

export interface KubeStatus {
  readonly kind: 'Status';
  readonly apiVersion: 'v1';
  readonly metadata: Record<string, never>;
  readonly status: 'Success' | 'Failure';
  readonly message?: string;
  readonly reason?: StatusReason;
  readonly details?: StatusDetails;
  readonly code: number;
}

const CODES: Record<StatusReason, number> = {
  NotFound: 404,
  AlreadyExists: 409,
  Conflict: 409,
  Invalid: 422,
  BadRequest: 400,
  MethodNotAllowed: 405,
  Forbidden: 403,
  Expired: 410,
  UnsupportedMediaType: 415,
  NotAcceptable: 406,
  RequestEntityTooLarge: 413,
  Timeout: 504,
  InternalError: 500,
};

/** The Status for what fails before a route runs (an unparseable request or URL), with its HTTP code. */
export function frameworkStatus(code: number, message: string): KubeStatus {
  const reason: StatusReason =
    code === 413 ? 'RequestEntityTooLarge' : code === 408 ? 'Timeout' : 'BadRequest';
  return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, code };
}

export class KubeStatusError extends ArcError {
  readonly reason: StatusReason;
  readonly statusDetails: StatusDetails | undefined;

  constructor(reason: StatusReason, message: string, details?: StatusDetails) {
    super(ERROR_CODES.KubeApiError, message, { status: CODES[reason] });
    this.name = 'KubeStatusError';
    this.reason = reason;
    this.statusDetails = details;
  }

  toStatus(): KubeStatus {
    return {
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message: this.message,
      reason: this.reason,
      ...(this.statusDetails ? { details: this.statusDetails } : {}),
      code: this.status,
    };
  }

  static badRequest(message: string): KubeStatusError {
    return new KubeStatusError('BadRequest', message);
  }

  /** `configmaps "x" not found`, as the real apiserver words it. */
  static notFound(resource: string, name: string, group = ''): KubeStatusError {
    const what = group === '' ? resource : `${resource}.${group}`;
    return new KubeStatusError('NotFound', `${what} "${name}" not found`, { name, group, kind: resource });
  }

  static alreadyExists(resource: string, name: string, group = ''): KubeStatusError {
    const what = group === '' ? resource : `${resource}.${group}`;
    return new KubeStatusError('AlreadyExists', `${what} "${name}" already exists`, {
      name,
      group,
      kind: resource,
    });
  }

  static invalid(kind: string, name: string, causes: readonly StatusCause[], group = ''): KubeStatusError {
    const text = causes.map((c) => (c.field ? `${c.field}: ${c.message}` : c.message)).join(', ');
    return new KubeStatusError('Invalid', `${kind} "${name}" is invalid: ${text}`, {
      name,
      group,
      kind,
      causes,
    });
  }
}

export function successStatus(details: StatusDetails): KubeStatus {
  return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', details, code: 200 };
}
