import { XMLBuilder, XMLParser, XMLValidator } from 'fast-xml-parser';
import type { UpstreamName } from '../config';
import { discard, UpstreamError, type UpstreamTransport } from './transport';

export const SOAP_ENV = 'http://schemas.xmlsoap.org/soap/envelope/';
export const WSSE =
  'http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd';

/** An XML element as the builder takes it: `@_name` attributes, `#text`, child elements. */
export type XmlObject = { [name: string]: unknown };

/**
 * A SOAP fault. BGS puts what went wrong in `detail/ShareException/Message` (or
 * `cssRepoGenericFault/message`), below a generic faultstring (department-of-veterans-affairs/
 * ruby-bgs lib/bgs/base.rb#handle_request_error); that message is what callers match on.
 */
export class SoapFault extends UpstreamError {
  constructor(
    source: string,
    readonly faultMessage: string,
    status?: number,
  ) {
    super(source, `fault: ${faultMessage}`, status);
    this.name = 'SoapFault';
  }
}

const builder = new XMLBuilder({ ignoreAttributes: false, attributeNamePrefix: '@_' });

const parsers = new Map<string, XMLParser>();
/** A parser that drops namespace prefixes and keeps every value a string (file numbers!). */
function parser(arrays: readonly string[]): XMLParser {
  const key = arrays.join(',');
  let p = parsers.get(key);
  if (!p) {
    const set = new Set(arrays);
    p = new XMLParser({
      removeNSPrefix: true,
      ignoreAttributes: false,
      attributeNamePrefix: '@',
      parseTagValue: false,
      parseAttributeValue: false,
      trimValues: true,
      isArray: (name) => set.has(name),
    });
    parsers.set(key, p);
  }
  return p;
}

export function soapEnvelope(
  namespace: string,
  operation: string,
  args: XmlObject,
  header?: XmlObject,
): string {
  const body: XmlObject = { [`tns:${operation}`]: { '@_xmlns:tns': namespace, ...args } };
  return (
    '<?xml version="1.0" encoding="UTF-8"?>' +
    builder.build({
      'soapenv:Envelope': {
        '@_xmlns:soapenv': SOAP_ENV,
        ...(header ? { 'soapenv:Header': header } : {}),
        'soapenv:Body': body,
      },
    })
  );
}

/**
 * Parses a SOAP answer: its Body, or the SoapFault it carries. A document type declaration
 * is refused (SOAP 1.1 forbids one; it is how entity-expansion attacks arrive).
 */
export function parseSoap(
  source: string,
  xml: string,
  arrays: readonly string[] = [],
  status?: number,
): XmlObject {
  if (/<!DOCTYPE/i.test(xml)) throw new UpstreamError(source, 'answer carries a DTD');
  if (XMLValidator.validate(xml) !== true)
    throw new UpstreamError(source, 'answer is not well-formed XML', status);
  const doc = parser(arrays).parse(xml) as XmlObject;
  const body = (doc.Envelope as XmlObject | undefined)?.Body as XmlObject | undefined;
  if (!body || typeof body !== 'object')
    throw new UpstreamError(source, 'answer is not a SOAP envelope', status);
  const fault = body.Fault as XmlObject | undefined;
  if (fault) throw new SoapFault(source, faultMessage(fault), status);
  return body;
}

function faultMessage(fault: XmlObject): string {
  const detail = (fault.detail ?? fault.Detail) as XmlObject | undefined;
  const share = detail?.ShareException as XmlObject | undefined;
  const css = detail?.cssRepoGenericFault as XmlObject | undefined;
  const text = (v: unknown) => (typeof v === 'string' && v.trim() ? v.trim() : undefined);
  return (
    text(share?.Message) ??
    text(share?.message) ??
    text(css?.message) ??
    text(fault.faultstring) ??
    'unknown fault'
  );
}

interface SoapRequest {
  upstream: UpstreamName;
  source: string;
  url: string;
  namespace: string;
  operation: string;
  args: XmlObject;
  header?: XmlObject;
  maxBytes: number;
}

/**
 * POSTs one envelope and answers the raw XML of a successful call. A fault (HTTP 500 with a
 * SOAP body) is thrown as a SoapFault; any other failure, or an answer that is not XML, as
 * an UpstreamError.
 */
export async function soapPost(transport: UpstreamTransport, call: SoapRequest): Promise<string> {
  const res = await transport.send(call.upstream, call.source, call.url, {
    method: 'POST',
    headers: { 'content-type': 'text/xml; charset=utf-8', soapaction: '""' },
    body: soapEnvelope(call.namespace, call.operation, call.args, call.header),
  });
  const ct = String(res.headers['content-type'] ?? '');
  if (!/xml/i.test(ct)) {
    discard(res);
    throw new UpstreamError(call.source, `answered ${res.status} (${ct || 'no type'})`, res.status);
  }
  const xml = await transport.text(res, call.source, call.maxBytes);
  if (res.status >= 400) {
    parseSoap(call.source, xml, [], res.status); // throws the fault, if there is one
    throw new UpstreamError(call.source, `answered ${res.status}`, res.status);
  }
  return xml;
}

/** The `<operation>Response` element of a parsed answer. */
export function soapAnswer(
  source: string,
  xml: string,
  operation: string,
  arrays: readonly string[] = [],
): XmlObject {
  const answer = parseSoap(source, xml, arrays)[`${operation}Response`];
  if (answer === undefined) throw new UpstreamError(source, `answer has no ${operation}Response`);
  return (typeof answer === 'object' && answer !== null ? answer : {}) as XmlObject;
}

/** One SOAP call: POST the envelope, parse the answer. */
export async function soapCall(
  transport: UpstreamTransport,
  call: SoapRequest & { arrays?: readonly string[] },
): Promise<XmlObject> {
  return soapAnswer(call.source, await soapPost(transport, call), call.operation, call.arrays);
}

/**
 * Takes the text of one large element (base64 document bytes) out of an answer, so the
 * rest parses cheaply and the bytes are decoded natively instead of by the XML parser.
 */
export function takeElement(xml: string, localName: string): { xml: string; text: string | null } {
  const open = new RegExp(`<((?:[\\w.-]+:)?${localName})(?:\\s[^>]*)?>`).exec(xml);
  if (!open) return { xml, text: null };
  const close = xml.indexOf(`</${open[1]}>`, open.index);
  if (close < 0) return { xml, text: null };
  const start = open.index + open[0].length;
  return { xml: xml.slice(0, start) + xml.slice(close), text: xml.slice(start, close) };
}

export const str = (v: unknown): string | null =>
  typeof v === 'string' && v.trim().length > 0 ? v.trim() : null;

export const asArray = <T>(v: T | T[] | undefined | null): T[] =>
  v === undefined || v === null || (v as unknown) === '' ? [] : Array.isArray(v) ? v : [v];
