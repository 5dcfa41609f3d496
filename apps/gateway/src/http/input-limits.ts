import { type ArgumentMetadata, Injectable, type PipeTransform } from '@nestjs/common';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import {
  findUnsafeValue,
  isFencingToken,
  isUuid,
  jsonDepthExceeds,
  unsafeStringReason,
} from '@app/contracts';
import { problem } from './problem';
import { RequestValidationError } from './validation';

/** Media types whose bodies are JSON (the copies routes' patches included). */
export const JSON_MEDIA_TYPES = [
  'application/json',
  'application/json-patch+json',
  'application/merge-patch+json',
];

/** A refusal raised inside Fastify's request pipeline, carried to the problem filter as is. */
function refusal(field: string, message: string): Error {
  const p = problem(400, `${field} ${message}`, 'validation_failed', {
    errors: [{ field, messages: [message] }],
  });
  return Object.assign(new Error(p.detail), { statusCode: 400, problem: p });
}

/**
 * Every request's strings and nesting are checked before any route, pipe or validator runs:
 * JSON bodies deeper than `maxDepth` (counted before parsing), NUL characters and lone
 * surrogates in any body string or key, query value or path parameter are a 400 that names
 * where they are. Nothing downstream has to survive them.
 */
export function registerInputLimits(fastify: FastifyInstance, maxDepth: number): void {
  const parseJson = fastify.getDefaultJsonParser('error', 'error');
  fastify.removeContentTypeParser('application/json');
  fastify.addContentTypeParser(JSON_MEDIA_TYPES, { parseAs: 'string' }, (req, body, done) => {
    const text = body as string;
    if (jsonDepthExceeds(text, maxDepth))
      return done(refusal('body', `is nested more than ${maxDepth} levels deep`), undefined);
    void parseJson(req, text, (err, value) => {
      if (err) return done(err, undefined);
      const unsafe = findUnsafeValue(value, maxDepth);
      if (unsafe) return done(refusal(`body${unsafe.path}`, unsafe.reason), undefined);
      done(null, value);
    });
  });

  fastify.addHook('preValidation', (req, _reply, done) => {
    const bad = unsafeQueryOrParam(req);
    done(bad ?? undefined);
  });
}

function unsafeQueryOrParam(req: FastifyRequest): Error | null {
  const sources: Array<[string, unknown]> = [
    ['query', req.query],
    ['path', req.params],
  ];
  for (const [where, values] of sources) {
    if (typeof values !== 'object' || values === null) continue;
    for (const [k, v] of Object.entries(values as Record<string, unknown>)) {
      const keyWhy = unsafeStringReason(k);
      if (keyWhy) return refusal(`${where} parameter name`, keyWhy);
      for (const one of Array.isArray(v) ? v : [v]) {
        const why = typeof one === 'string' ? unsafeStringReason(one) : null;
        if (why) return refusal(`${where} parameter ${k}`, why);
      }
    }
  }
  return null;
}

/** A path parameter that must be a UUID: anything else is a 400 before any RPC. */
@Injectable()
export class UuidParam implements PipeTransform<string, string> {
  transform(value: string, meta: ArgumentMetadata): string {
    if (!isUuid(value)) {
      const field = meta.data ?? 'id';
      throw new RequestValidationError([{ field, messages: [`${field} must be a UUID`] }]);
    }
    return value;
  }
}

/** `Lease-Token`: the fencing token a lease handed out, a positive integer. */
export function leaseTokenHeader(value: string | undefined, required: boolean): string | undefined {
  if (value === undefined || value === '') {
    if (!required) return undefined;
    throw new RequestValidationError([
      { field: 'Lease-Token', messages: ['the Lease-Token header is required'] },
    ]);
  }
  if (!isFencingToken(value.trim()))
    throw new RequestValidationError([
      { field: 'Lease-Token', messages: ['Lease-Token must be the positive integer a lease gave'] },
    ]);
  return value.trim();
}

/** `X-Access-Code`: digits only (the code sent to a recipient), at most 12 of them. */
export function accessCodeHeader(value: string | undefined): string | undefined {
  if (value === undefined || value === '') return undefined;
  if (!/^[0-9]{1,12}$/.test(value.trim()))
    throw new RequestValidationError([
      { field: 'X-Access-Code', messages: ['X-Access-Code must be the digits sent to you'] },
    ]);
  return value.trim();
}
