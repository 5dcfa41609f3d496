import { type INestApplication, SetMetadata, type Type } from '@nestjs/common';
import { ROUTE_ARGS_METADATA } from '@nestjs/common/constants';
import { RouteParamtypes } from '@nestjs/common/enums/route-paramtypes.enum';
import { ModulesContainer } from '@nestjs/core';
import { ApiOkResponse, DocumentBuilder, type OpenAPIObject, SwaggerModule } from '@nestjs/swagger';
import type { RpcPattern } from '@app/contracts';
// The storage class-transformer keeps its @Type() metadata in (for nested DTO schemas).
import { defaultMetadataStorage } from 'class-transformer/cjs/storage';
import { validationMetadatasToSchemas } from 'class-validator-jsonschema';
import { PUBLIC_ROUTE } from '@app/health';
import { SCOPES } from '../auth/decorators';
import { IDEMPOTENCY_HEADER } from '../http/idempotency';
import { CODE_BY_STATUS, PROBLEM_CONTENT_TYPE } from '../http/problem';
import { CONTRACT_SCHEMAS, RPC_RESPONSE_SCHEMAS } from './contract-schemas';
import { BODY_EXAMPLES } from './examples';

type Json = Record<string, unknown>;
type Operation = {
  operationId?: string;
  parameters?: Json[];
  requestBody?: Json;
  responses: Record<string, Json>;
  security?: Array<Record<string, string[]>>;
  description?: string;
  summary?: string;
  tags?: string[];
  'x-required-scopes'?: string[];
};

/** What the gateway's own headers mean, where the routes read them. */
const HEADER_DOCS: Record<string, { description: string; schema: Json }> = {
  'if-match': {
    description: 'The ETag of the version this write is based on (strong comparison), or `*`',
    schema: { type: 'string', examples: ['"3"'] },
  },
  'lease-token': {
    description: 'The fencing token the lease handed out',
    schema: { type: 'string', pattern: '^[1-9][0-9]{0,18}$' },
  },
  'x-access-code': {
    description: 'The code sent to the recipient, when the workflow asks for one',
    schema: { type: 'string', pattern: '^[0-9]{1,12}$' },
  },
  'css-id': { description: "The eFolder user's CSS id", schema: { type: 'string', maxLength: 64 } },
  'station-id': {
    description: "The eFolder user's station",
    schema: { type: 'string', maxLength: 16 },
  },
  'file-number': {
    description: "The veteran's file number (8 or 9 digits)",
    schema: { type: 'string', pattern: '^[0-9]{8,9}$' },
  },
  'if-none-match': { description: 'An entity tag the caller holds', schema: { type: 'string' } },
};

/** Routes the shared health library serves, which carry no summary of their own. */
const DEFAULT_SUMMARIES: Record<string, string> = {
  HealthController_live: 'Liveness: the process answers',
  HealthController_ready: 'Readiness: database, broker and migrations',
  GatewayMetricsController_metrics:
    'Prometheus metrics (the internal METRICS_PORT serves them without a key)',
};

const ERRORS: Record<string, string> = {
  '400': 'The request is malformed or a value is invalid (the problem names the field)',
  '401': 'No valid credential',
  '403': 'The credential lacks a scope this route needs, or the resource is not the caller’s',
  '404': 'No such resource for this caller',
  '409': 'The request conflicts with the resource’s state',
  '412': 'If-Match names a version that is no longer current',
  '413': 'The body is larger than the route accepts',
  '415': 'The body’s media type is not one the route accepts',
  '422': 'The request is well-formed but cannot be processed',
  '428': 'The route needs If-Match',
  '429': 'Too many requests for this key; retry after Retry-After',
  '500': 'An unexpected failure',
  '502': 'An upstream system failed',
  '503': 'A dependency is unavailable; retry later',
  '504': 'A service did not answer in time',
};

const served = new WeakMap<INestApplication, OpenAPIObject>();
const REQUEST_CONTENT = 'openapi:request-content';
const ANSWER = 'openapi:answer';

/**
 * The route answers this RPC's response (or one field of it) as its body, though it also
 * sets headers or status itself: the schema comes from the RPC contract's type.
 */
export const ApiAnswer = (pattern: RpcPattern, field?: string) =>
  SetMetadata(ANSWER, { pattern, field });

/** The route streams bytes of these media types. */
export const ApiBinaryAnswer = (...mediaTypes: string[]) =>
  ApiOkResponse({
    description: 'The bytes',
    content: Object.fromEntries(
      mediaTypes.map((t) => [t, { schema: { type: 'string', format: 'binary' } }]),
    ),
  });

/** A request body by media type, for routes that take more than one (JSON Patch, Merge Patch). */
export const ApiRequestContent = (content: Record<string, Json>) =>
  SetMetadata(REQUEST_CONTENT, content);

/** The document this app serves at /docs/openapi.json. */
export function gatewayOpenApi(app: INestApplication): OpenAPIObject {
  const doc = served.get(app);
  if (!doc) throw new Error('this app has no OpenAPI document');
  return doc;
}

/**
 * The gateway's OpenAPI 3.1 document: what Nest's explorer finds (routes, path parameters,
 * tags, summaries), completed from the code itself: request and query schemas from the
 * DTOs' class-validator rules, the headers each handler reads, the scopes each route
 * requires, and the error answers every route can give (problem+json, or eFolder's shapes).
 */
export function buildOpenApi(app: INestApplication, version: string): OpenAPIObject {
  const doc = SwaggerModule.createDocument(
    app,
    new DocumentBuilder()
      .setTitle('Document platform gateway')
      .setVersion(version)
      .setDescription(
        'Every route but health needs a key: `X-Api-Key: <key>` (eFolder routes also take `Authorization: Token token=<key>`). Each operation lists the scopes its key needs in `x-required-scopes`. Errors are RFC 9457 problem+json, except on eFolder routes, which keep eFolder’s own shapes.',
      )
      .addApiKey({ type: 'apiKey', in: 'header', name: 'X-Api-Key' }, 'api-key')
      .addBearerAuth(
        {
          type: 'http',
          scheme: 'bearer',
          bearerFormat: 'JWT',
          description: "Google's OIDC identity token, as a Pub/Sub push subscription sends it",
        },
        'google-oidc',
      )
      .addServer('/', 'This gateway')
      .build(),
  );
  const schemas = validationMetadatasToSchemas({
    classTransformerMetadataStorage: defaultMetadataStorage,
    refPointerPrefix: '#/components/schemas/',
  }) as Record<string, Json>;
  const components = (doc.components ??= {}) as unknown as Json & {
    schemas: Record<string, Json>;
    responses: Record<string, Json>;
    securitySchemes: Record<string, Json>;
  };
  components.schemas = {
    ...(components.schemas ?? {}),
    ...schemas,
    ...CONTRACT_SCHEMAS,
    ...commonSchemas(),
  };
  components.securitySchemes['efolder-token'] = {
    type: 'apiKey',
    in: 'header',
    name: 'Authorization',
    description: 'eFolder’s scheme: `Authorization: Token token=<key>`',
  };
  components.responses = errorResponses();

  const handlers = handlerIndex(app);
  for (const [path, item] of Object.entries(doc.paths)) {
    for (const [method, raw] of Object.entries(item as Record<string, Operation>)) {
      const op = raw;
      const h = op.operationId ? handlers.get(op.operationId) : undefined;
      if (!h) continue;
      op.summary ??= DEFAULT_SUMMARIES[op.operationId ?? ''];
      if (op.operationId?.startsWith('HealthController_'))
        setSuccess(op, {
          type: 'object',
          description: "Terminus' health answer",
          properties: {
            status: { type: 'string', examples: ['ok'] },
            info: {},
            error: {},
            details: {},
          },
        });
      if (op.operationId === 'GatewayMetricsController_metrics' && op.responses['200'])
        op.responses['200'] = {
          description: 'Prometheus text exposition',
          content: { 'text/plain; version=0.0.4': { schema: { type: 'string' } } },
        };
      const efolder = path.startsWith('/api/v2/');
      const isPublic =
        Reflect.getMetadata(PUBLIC_ROUTE, h.fn) === true ||
        Reflect.getMetadata(PUBLIC_ROUTE, h.cls) === true;
      const scopes = [
        ...new Set([
          ...((Reflect.getMetadata(SCOPES, h.cls) as string[] | undefined) ?? []),
          ...((Reflect.getMetadata(SCOPES, h.fn) as string[] | undefined) ?? []),
        ]),
      ];
      if (path.startsWith('/api/v1/r/'))
        op.description = `${op.description ? `${op.description}\n\n` : ''}The credential is the recipient's secret link token in the path (and the access code, when the workflow asks for one); no API key.`;
      op.security = isPublic
        ? path === GMAIL_PUSH_PATH
          ? [{ 'google-oidc': [] }]
          : []
        : efolder
          ? [{ 'api-key': [] }, { 'efolder-token': [] }]
          : [{ 'api-key': [] }];
      if (!isPublic) {
        op['x-required-scopes'] = scopes;
        if (scopes.length)
          op.description = `${op.description ? `${op.description}\n\n` : ''}Scopes: ${scopes.map((s) => `\`${s}\``).join(', ')}.`;
      }
      addRpcResponse(op, h);
      const content = Reflect.getMetadata(REQUEST_CONTENT, h.fn) as Json | undefined;
      if (content) op.requestBody = { required: true, content };
      addParameters(op, h, schemas, method);
      addBodyExample(op, h);
      addErrors(op, path, method, !!isPublic, efolder);
    }
  }
  pruneUnusedResponses(doc);
  const out = toOpenApi31(doc);
  served.set(app, out);
  return out;
}

/** Public to API keys; its credential is Google's identity token. */
const GMAIL_PUSH_PATH = '/api/v1/integrations/google/gmail/push';

interface Handler {
  cls: Type;
  fn: (...args: unknown[]) => unknown;
  method: string;
}

interface RouteArg {
  kind: RouteParamtypes;
  /** The decorator's argument: a header or parameter name, undefined for the whole object. */
  data: unknown;
  /** The parameter's declared type (a DTO class, for whole-object arguments). */
  type: Type | undefined;
}

/** The arguments Nest records for a handler (@Body, @Query, @Param, @Headers, @Res…). */
function routeArgs(h: { cls: Type; method: string }): RouteArg[] {
  const args =
    (Reflect.getMetadata(ROUTE_ARGS_METADATA, h.cls, h.method) as
      Record<string, { index: number; data?: unknown }> | undefined) ?? {};
  const types = (Reflect.getMetadata('design:paramtypes', h.cls.prototype as object, h.method) ??
    []) as Array<Type | undefined>;
  return Object.entries(args).map(([key, a]) => ({
    kind: Number(key.split(':')[0]),
    data: a.data,
    type: types[a.index],
  }));
}

/** Every controller method, by the operationId Nest's explorer gives it. */
function handlerIndex(app: INestApplication): Map<string, Handler> {
  const out = new Map<string, Handler>();
  for (const mod of app.get(ModulesContainer).values())
    for (const wrapper of mod.controllers.values()) {
      const cls = wrapper.metatype as Type | undefined;
      if (!cls?.prototype) continue;
      // Inherited handlers too (a controller may extend a shared one).
      for (
        let proto = cls.prototype as object;
        proto && proto !== Object.prototype;
        proto = Object.getPrototypeOf(proto) as object
      )
        for (const method of Object.getOwnPropertyNames(proto)) {
          const fn = (cls.prototype as Record<string, unknown>)[method];
          if (
            method !== 'constructor' &&
            typeof fn === 'function' &&
            !out.has(`${cls.name}_${method}`)
          )
            out.set(`${cls.name}_${method}`, { cls, fn: fn as Handler['fn'], method });
        }
    }
  return out;
}

/**
 * A handler that answers an RPC's response unchanged (`return this.rpc.send('<pattern>', …)`,
 * the only call it makes, no reply of its own) documents that response's schema, generated
 * from the RPC contract's type.
 */
function addRpcResponse(op: Operation, h: Handler): void {
  const explicit = Reflect.getMetadata(ANSWER, h.fn) as
    { pattern: string; field?: string } | undefined;
  if (explicit) {
    let schema = RPC_RESPONSE_SCHEMAS[explicit.pattern];
    if (schema && explicit.field) {
      const ref = (schema as { $ref?: string }).$ref;
      const target = ref ? CONTRACT_SCHEMAS[ref.replace('#/components/schemas/', '')] : schema;
      schema = ((target?.properties ?? {}) as Record<string, Json>)[explicit.field];
    }
    if (!schema)
      throw new Error(`no response schema for ${explicit.pattern} ${explicit.field ?? ''}`);
    setSuccess(op, schema);
    return;
  }
  const src = h.fn.toString();
  const sends = src.match(/\.rpc\.send\(/g)?.length ?? 0;
  const m = /return (?:await )?this\.rpc\.send\(\s*'([^']+)'/.exec(src);
  const replies = routeArgs(h).some((a) => a.kind === RouteParamtypes.RESPONSE);
  if (!m || sends !== 1 || replies) return;
  const schema = RPC_RESPONSE_SCHEMAS[m[1]];
  if (!schema) return;
  setSuccess(op, schema);
}

function setSuccess(op: Operation, schema: Json): void {
  const ok = Object.keys(op.responses).find((c) => /^2\d\d$/.test(c));
  if (!ok || ok === '204') return;
  const current = op.responses[ok];
  if (current.content) return;
  op.responses[ok] = {
    description: current.description || 'The answer',
    content: { 'application/json': { schema } },
  };
}

/** The body DTO a handler takes, if any. */
export function bodyClass(h: { cls: Type; method: string }): Type | undefined {
  return routeArgs(h).find((a) => a.kind === RouteParamtypes.BODY && a.data === undefined)?.type;
}

/** Every body DTO the routes take, with its example (for the test that validates them). */
export function bodyExamples(app: INestApplication): Array<{ cls: Type; example: unknown }> {
  const out = new Map<Type, unknown>();
  for (const h of handlerIndex(app).values()) {
    const cls = bodyClass(h);
    if (cls && cls !== Object) out.set(cls, BODY_EXAMPLES[cls.name]);
  }
  return [...out].map(([cls, example]) => ({ cls, example }));
}

function addBodyExample(op: Operation, h: Handler): void {
  const cls = bodyClass(h);
  const example = cls && BODY_EXAMPLES[cls.name];
  const json = (op.requestBody?.content as Record<string, Json> | undefined)?.['application/json'];
  if (example !== undefined && json) json.example = example;
}

/** Headers the handler reads, its query DTO's fields, and Idempotency-Key on writes. */
function addParameters(op: Operation, h: Handler, schemas: Record<string, Json>, method: string) {
  const params = (op.parameters ??= []);
  const has = (name: string, where: string) =>
    params.some((p) => String(p.name).toLowerCase() === name.toLowerCase() && p.in === where);
  for (const a of routeArgs(h)) {
    const kind = a.kind;
    if (kind === RouteParamtypes.HEADERS && typeof a.data === 'string') {
      const name = a.data.toLowerCase();
      const docs = HEADER_DOCS[name];
      // OpenAPI describes these by media types and security schemes, not as parameters.
      if (['content-type', 'accept', 'authorization'].includes(name)) continue;
      if (!has(name, 'header'))
        params.push({
          name: titleCase(name),
          in: 'header',
          required: false,
          description: docs?.description,
          schema: docs?.schema ?? { type: 'string' },
        });
    }
    if (kind === RouteParamtypes.PARAM && a.data === undefined) {
      const dto = a.type;
      const props = ((dto && schemas[dto.name]?.properties) ?? {}) as Record<string, Json>;
      for (const [name, s] of Object.entries(props))
        if (!has(name, 'path')) params.push({ name, in: 'path', required: true, schema: s });
    }
    if (kind === RouteParamtypes.QUERY && a.data === undefined) {
      const dto = a.type;
      const schema = dto && schemas[dto.name];
      const props = (schema?.properties ?? {}) as Record<string, Json>;
      const required = new Set((schema?.required as string[] | undefined) ?? []);
      for (const [name, s] of Object.entries(props))
        if (!has(name, 'query'))
          params.push({ name, in: 'query', required: required.has(name), schema: s });
      // Nest's own guess at a query object, when it made one, is replaced by its fields.
      op.parameters = params.filter((p) => !(p.in === 'query' && p.name === dto?.name));
    }
  }
  if (['post', 'patch', 'put', 'delete'].includes(method) && !has(IDEMPOTENCY_HEADER, 'header'))
    (op.parameters ??= []).push({
      name: 'Idempotency-Key',
      in: 'header',
      required: false,
      description:
        'Repeating a write with the same key answers the first result and has no second effect (24 h)',
      schema: { type: 'string', minLength: 1, maxLength: 255 },
    });
  if (op.parameters?.length === 0) delete op.parameters;
}

function addErrors(
  op: Operation,
  path: string,
  method: string,
  isPublic: boolean,
  efolder: boolean,
) {
  const codes = new Set<string>(['500', '503']);
  if (!isPublic) ['401', '403', '429', '504'].forEach((c) => codes.add(c));
  if (path === GMAIL_PUSH_PATH) codes.add('401');
  if (op.requestBody || op.parameters?.length || method !== 'get') codes.add('400');
  if (path.includes('{')) codes.add('404');
  if (op.requestBody) ['413', '415'].forEach((c) => codes.add(c));
  if (op.parameters?.some((p) => String(p.name).toLowerCase() === 'if-match'))
    ['412', '428'].forEach((c) => codes.add(c));
  for (const c of codes)
    op.responses[c] ??= {
      $ref: `#/components/responses/${efolder ? `Efolder${c}` : `Problem${c}`}`,
    };
}

/**
 * Keeps only the shared answers and schemas something refers to (query and path DTOs are
 * written out as parameters, so their own schemas would otherwise stand unused).
 */
function pruneUnusedResponses(doc: OpenAPIObject): void {
  const text = JSON.stringify(doc.paths);
  const responses = (doc.components?.responses ?? {}) as Record<string, unknown>;
  for (const name of Object.keys(responses))
    if (!text.includes(`"#/components/responses/${name}"`)) delete responses[name];
  const schemas = (doc.components?.schemas ?? {}) as Record<string, unknown>;
  const used = new Set<string>();
  const visit = (v: unknown) => {
    for (const [, name] of (JSON.stringify(v) ?? '').matchAll(/"#\/components\/schemas\/([^"]+)"/g))
      if (!used.has(name)) {
        used.add(name);
        visit(schemas[name]);
      }
  };
  visit([doc.paths, responses]);
  for (const name of Object.keys(schemas)) if (!used.has(name)) delete schemas[name];
}

function commonSchemas(): Record<string, Json> {
  return {
    Problem: {
      type: 'object',
      description: 'RFC 9457 problem details',
      required: ['type', 'title', 'status'],
      properties: {
        type: { type: 'string', examples: ['urn:problem-type:validation_failed'] },
        title: { type: 'string', examples: ['Bad Request'] },
        status: { type: 'integer', minimum: 400, maximum: 599 },
        detail: { type: 'string' },
        instance: { type: 'string' },
        correlationId: { type: 'string' },
        errors: {
          type: 'array',
          description: 'Per field, what is wrong with it',
          items: {
            type: 'object',
            properties: {
              field: { type: 'string' },
              messages: { type: 'array', items: { type: 'string' } },
            },
          },
        },
      },
    },
    EfolderStatusError: {
      type: 'object',
      description: 'eFolder’s 4xx shape',
      required: ['status'],
      properties: { status: { type: 'string', examples: ['missing header: File Number'] } },
    },
    EfolderErrors: {
      type: 'object',
      description: 'eFolder’s 404 and 5xx shape',
      required: ['errors'],
      properties: {
        errors: {
          type: 'array',
          items: {
            type: 'object',
            properties: {
              status: { type: 'string' },
              title: { type: 'string' },
              detail: { type: 'string' },
            },
          },
        },
      },
    },
  };
}

function errorResponses(): Record<string, Json> {
  const out: Record<string, Json> = {};
  for (const [code, description] of Object.entries(ERRORS)) {
    const status = Number(code);
    out[`Problem${code}`] = {
      description,
      content: {
        [PROBLEM_CONTENT_TYPE]: {
          schema: { $ref: '#/components/schemas/Problem' },
          example: { type: `urn:problem-type:${problemCode(status)}`, title: description, status },
        },
      },
      ...(status === 429 || status === 503
        ? {
            headers: {
              'Retry-After': { description: 'Seconds to wait', schema: { type: 'integer' } },
            },
          }
        : {}),
    };
    out[`Efolder${code}`] = {
      description,
      content: {
        'application/json': {
          schema: {
            $ref: `#/components/schemas/${status === 404 || status >= 500 ? 'EfolderErrors' : 'EfolderStatusError'}`,
          },
        },
      },
    };
  }
  return out;
}

function problemCode(status: number): string {
  return CODE_BY_STATUS[status] ?? 'internal';
}

const titleCase = (h: string) =>
  h
    .split('-')
    .map((w) => (w === 'id' ? 'ID' : w[0].toUpperCase() + w.slice(1)))
    .join('-');

/** Nest writes OpenAPI 3.0; 3.1 is JSON Schema: `nullable` becomes a type union. */
function toOpenApi31(doc: OpenAPIObject): OpenAPIObject {
  const walk = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(walk);
    if (!v || typeof v !== 'object') return v;
    const o = { ...(v as Json) };
    if (o.nullable === true && typeof o.type === 'string') o.type = [o.type, 'null'];
    delete o.nullable;
    for (const k of Object.keys(o)) o[k] = walk(o[k]);
    return o;
  };
  return { ...(walk(doc) as OpenAPIObject), openapi: '3.1.0' };
}
