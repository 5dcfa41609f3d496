import { STATUS_CODES } from 'node:http';

export const PROBLEM_CONTENT_TYPE = 'application/problem+json';

/** RFC 9457 problem details, with `errors` listing bad fields when validation failed. */
export interface Problem {
  type: string;
  title: string;
  status: number;
  detail?: string;
  instance?: string;
  correlationId?: string;
  errors?: Array<{ field: string; messages: string[] }>;
  [extension: string]: unknown;
}

export const CODE_BY_STATUS: Record<number, string> = {
  400: 'bad_request',
  401: 'unauthorized',
  403: 'forbidden',
  404: 'not_found',
  405: 'method_not_allowed',
  406: 'not_acceptable',
  409: 'conflict',
  410: 'gone',
  412: 'precondition_failed',
  413: 'payload_too_large',
  415: 'unsupported_media_type',
  422: 'unprocessable',
  423: 'locked',
  428: 'precondition_required',
  429: 'rate_limited',
  500: 'internal',
  502: 'bad_gateway',
  503: 'unavailable',
  504: 'timeout',
};

export function problemType(code: string): string {
  return `urn:problem-type:${code}`;
}

export function problem(
  status: number,
  detail?: string,
  code?: string,
  extra: Partial<Problem> = {},
): Problem {
  const c = code ?? CODE_BY_STATUS[status] ?? (status >= 500 ? 'internal' : 'bad_request');
  return { type: problemType(c), title: STATUS_CODES[status] ?? 'Error', status, detail, ...extra };
}
