import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { createHash } from 'node:crypto';
import { XMLBuilder, XMLParser, XMLValidator } from 'fast-xml-parser';
import type { SimDocument, SimState } from './sim';
import { applyFault, DOCUMENT_TYPES, documentBytes, seed } from './sim-data';

/**
 * VBMS, VVA and BGS as eFolder meets them, each answer a recorded or documented shape:
 *
 * - BGS (SOAP): department-of-veterans-affairs/ruby-bgs lib/bgs/services/veteran.rb
 *   (findVeteranByFileNumber → return/vetCorpRecord), security.rb (findPtcpntId), org.rb
 *   (findPOAsByPtcpntId), claimant.rb and caseflow-efolder app/services/concerns/poa_mapper.rb
 *   (findPOAByFileNumber's fields), faults as ruby-bgs spec/bgs/base_spec.rb records them
 *   (ShareException "Sensitive File - Access Violation", "Power of Attorney of Folder is …"),
 *   and caseflow-efolder's "No BIRLS record found" return message.
 * - VVA (SOAP): department-of-veterans-affairs/connect_vva spec/fixtures/document_list_response.xml,
 *   no_records_found_response.xml, document_content_response.xml.
 * - VBMS Claims Evidence (REST): department-of-veterans-affairs/ruby_claim_evidence_api
 *   spec/support/api_responses/file_folders_search_1.json (pages of files), fakes/DOCUMENT_TYPES.json.
 * - VBMS eFolder read service (SOAP): department-of-veterans-affairs/connect_vbms
 *   spec/fixtures/responses/find_document_version_reference_response.xml and
 *   get_document_content_response.xml (bytes inline).
 *
 * What the real services check is checked: a well-formed envelope with the operation in its
 * body, the BGS audit header's user and station, VVA's credentials, Claims Evidence's bearer
 * token and X-Folder-URI.
 */

const SOAP_ENV = 'http://schemas.xmlsoap.org/soap/envelope/';
const BGS_NS = 'http://services.share.benefits.vba.va.gov/';
const VVA_NS = 'http://service.bfi.va.gov/';
const VBMS_READ_NS = 'http://service.efolder.vbms.vba.va.gov/eFolderReadService';

const builder = new XMLBuilder({ ignoreAttributes: false, attributeNamePrefix: '@_' });
const parser = new XMLParser({
  removeNSPrefix: true,
  ignoreAttributes: false,
  attributeNamePrefix: '@',
  parseTagValue: false,
  trimValues: true,
});

type Xml = { [k: string]: unknown };

/** What BGS holds about a veteran (the fields eFolder reads). */
export interface SimVeteran {
  fileNumber: string;
  claimNumber: string;
  ssn: string;
  firstName: string;
  lastName: string;
  participantId: string;
}

const FIRST = ['James', 'Maria', 'Robert', 'Linda', 'Michael', 'Patricia', 'David', 'Jennifer'];
const LAST = ['Smith', 'Garcia', 'Johnson', "O'Brien", 'Williams', 'Nguyen', 'Brown', 'Davis'];

const digits = (n: number, ...parts: string[]) =>
  String(BigInt(`0x${createHash('sha256').update(parts.join(':')).digest('hex').slice(0, 15)}`))
    .padStart(n, '0')
    .slice(-n);

/** The BGS record for a number, whichever of the veteran's numbers it is. */
export function simVeteran(state: SimState, number: string): SimVeteran | null {
  const direct = state.veterans.get(number);
  if (direct?.notInBgs) return null;
  // A claim number filed besides an SSN-based file number finds the same person.
  for (const [fn, o] of state.veterans) {
    if (o.claimNumber === number) {
      const base = simVeteran(state, fn);
      return base && { ...base, fileNumber: number, claimNumber: number };
    }
  }
  const s = seed('vet', number);
  return {
    fileNumber: number,
    claimNumber: direct?.claimNumber ?? number,
    ssn: number.length === 9 ? number : `0${number}`,
    firstName: FIRST[s % 8],
    lastName: LAST[(s >>> 3) % 8],
    participantId: digits(9, 'participant', number),
  };
}

function soap(reply: FastifyReply, status: number, body: Xml): FastifyReply {
  return reply
    .status(status)
    .type('text/xml; charset=utf-8')
    .send(
      '<?xml version="1.0" encoding="UTF-8"?>' +
        builder.build({ 'S:Envelope': { '@_xmlns:S': SOAP_ENV, 'S:Body': body } }),
    );
}

/** A fault as BGS sends one: a generic faultstring, the reason in a ShareException. */
function fault(
  reply: FastifyReply,
  message: string,
  faultstring = 'Fault occurred while processing.',
) {
  return soap(reply, 500, {
    'S:Fault': {
      faultcode: 'S:Server',
      faultstring,
      detail: { ShareException: { Message: message } },
    },
  });
}

/** The operation and its arguments, after the checks the real endpoints make. */
function readEnvelope(req: FastifyRequest): { op: string; args: Xml; header: Xml } | null {
  const text = typeof req.body === 'string' ? req.body : '';
  if (!text || /<!DOCTYPE/i.test(text) || XMLValidator.validate(text) !== true) return null;
  const env = (parser.parse(text) as Xml).Envelope as Xml | undefined;
  const body = env?.Body as Xml | undefined;
  if (!body || typeof body !== 'object') return null;
  const op = Object.keys(body).find((k) => !k.startsWith('@'));
  if (!op) return null;
  return { op, args: (body[op] ?? {}) as Xml, header: (env?.Header ?? {}) as Xml };
}

const text = (v: unknown) => (typeof v === 'string' ? v : '');

export function registerEfolderUpstreams(app: FastifyInstance, state: SimState): void {
  app.addContentTypeParser(
    ['text/xml', 'application/soap+xml'],
    { parseAs: 'string' },
    (_r, b, done) => done(null, b),
  );

  // ---- BGS -------------------------------------------------------------------------------
  app.post<{ Params: { bean: string; service: string } }>(
    '/bgs/:bean/:service',
    async (req, reply) => {
      const call = readEnvelope(req);
      if (!call) return fault(reply, 'Unable to parse SOAP message');
      const security = (call.header.Security ?? {}) as Xml;
      const user = text(((security.UsernameToken ?? {}) as Xml).Username);
      const station = text(((security.VaServiceHeaders ?? {}) as Xml).STN_ID);
      if (!user || !station) return fault(reply, `Logon ID ${user || '(none)'} Not Found`);
      if (await applyFault(state.faults.bgs, reply, 'soap')) return reply;
      const respond = (ret: unknown) =>
        soap(reply, 200, { [`ns0:${call.op}Response`]: { '@_xmlns:ns0': BGS_NS, return: ret } });
      const key = `${req.params.bean}/${req.params.service}#${call.op}`;
      switch (key) {
        case 'VetRecordServiceBean/VetRecordService#findVeteranByFileNumber': {
          const number = text(call.args.fileNumber);
          state.count(`bgs:veteran:${number}`);
          const vso = state.vsoUsers.get(user);
          const o = state.veterans.get(number);
          if ((state.restricted.has(number) || o?.restricted) && user !== state.systemUser)
            return fault(reply, 'Sensitive File - Access Violation !');
          // A representative's user reads no corporate record directly; VBMS's POA rules decide.
          if (vso && user !== state.systemUser)
            return fault(
              reply,
              `Power of Attorney of Folder is '${o?.poaCode ?? 'none'}'. Access to this record is denied.`,
            );
          const v = simVeteran(state, number);
          if (!v) return respond({ vetCorpRecord: { returnMessage: 'No BIRLS record found' } });
          return respond({
            vetBirlsRecord: { sexCode: 'M' },
            vetCorpRecord: {
              fileNumber: v.fileNumber,
              claimNumber: v.claimNumber,
              ssn: v.ssn,
              firstName: v.firstName,
              lastName: v.lastName,
              ptcpntId: v.participantId,
              returnMessage: 'BPNQ0301',
            },
          });
        }
        case 'SecurityWebServiceBean/SecurityWebService#findPtcpntId':
          return respond(digits(9, 'user', text(call.args.userId)));
        case 'OrgWebServiceBean/OrgWebService#findPOAsByPtcpntId': {
          const pid = text(call.args.ptcpntId);
          const orgs = [...state.vsoUsers.entries()]
            .filter(([css]) => digits(9, 'user', css) === pid)
            .map(([, org]) => ({ ptcpntId: org, orgTypeNm: 'POA National Organization' }));
          return respond(orgs);
        }
        case 'ClaimantServiceBean/ClaimantWebService#findPOAByFileNumber': {
          const o = state.veterans.get(text(call.args.fileNumber));
          if (!o?.poaParticipantId) return respond('');
          return respond({
            relationshipName: 'Power of Attorney For',
            personOrgPtcpntId: o.poaParticipantId,
            personOrgName: 'SIMULATED VETERANS ORGANIZATION',
            personOrganizationName: 'POA National Organization',
            veteranPtcpntId: digits(9, 'participant', text(call.args.fileNumber)),
          });
        }
        default:
          return fault(reply, `Unable to find SOAP operation: ${call.op}`);
      }
    },
  );

  // ---- VVA -------------------------------------------------------------------------------
  app.post('/vva', async (req, reply) => {
    const call = readEnvelope(req);
    if (!call) return fault(reply, 'Unable to parse SOAP message');
    const token = ((call.header.Security ?? {}) as Xml).UsernameToken as Xml | undefined;
    if (state.vvaCredentials) {
      const { username, password } = state.vvaCredentials;
      if (text(token?.Username) !== username || text(token?.Password) !== password)
        return fault(reply, 'The security token could not be authenticated or authorized');
    }
    if (call.op === 'GetDocumentList') {
      const claim = text(call.args.claimNbr);
      state.count(`vva:list:${claim}`);
      if (await applyFault(state.faults.vva, reply, 'soap')) return reply;
      state.known.add(claim);
      const docs = state.documents('vva', claim);
      const v = simVeteran(state, claim);
      const answer =
        docs.length === 0
          ? { message: 'No records found', size: '0' }
          : {
              dcmntRecord: docs.map((d) => ({
                dcmntFormatCd: d.mime_type === 'image/tiff' ? 'TIFF' : 'PDF',
                dcmntTypeLupId: d.type_id,
                rcvdDt: usDate(d.received_at),
                rstrcdDcmntInd: 'N',
                storgDt: usDate(d.upload_date),
                dcmntTypeDescpTxt: d.type_description,
                fnDcmntId: d.document_id,
                fnDcmntSource: 'P8',
                claimNbr: claim,
                ssnNbr: v?.ssn ?? claim,
                vetFirstName: v?.firstName.toUpperCase() ?? '',
                vetLastName: v?.lastName.toUpperCase() ?? '',
                jrsdtnRoNbr: d.jro ?? '',
              })),
            };
      return soap(reply, 200, { GetDocumentListResponse: { '@_xmlns': VVA_NS, ...answer } });
    }
    if (call.op === 'GetDocumentContent') {
      state.count('vva:content');
      if (await applyFault(state.faults.vva, reply, 'soap')) return reply;
      // connect_vva: all five are required fields.
      for (const f of ['fnDcmntId', 'fnDcmntSource', 'dcmntFormatCd', 'jro', 'userId'])
        if (!text(call.args[f])) return fault(reply, `missing required data: ${f}`);
      const doc = state.find('vva', text(call.args.fnDcmntId));
      if (!doc) return fault(reply, 'Document not found');
      return soap(reply, 200, {
        GetDocumentContentResponse: {
          '@_xmlns': VVA_NS,
          content: (await documentBytes(doc)).toString('base64'),
          mimeType: 'application/octet-stream',
        },
      });
    }
    return fault(reply, `Unable to find SOAP operation: ${call.op}`);
  });

  // ---- VBMS: Claims Evidence (REST) ------------------------------------------------------
  // No error body is recorded in ruby_claim_evidence_api (its client reads the status only):
  // the statuses are what the client handles, the `{ message }` bodies are placeholders.
  const ceAuthorized = (req: FastifyRequest) =>
    !state.claimEvidenceToken || req.headers.authorization === `Bearer ${state.claimEvidenceToken}`;

  app.post<{ Body: { pageRequest?: { resultsPerPage?: number; page?: number } } }>(
    '/ce/api/v1/rest/folders/files:search',
    async (req, reply) => {
      if (!ceAuthorized(req)) return reply.status(401).send({ message: 'Unauthorized' });
      const uri = /^VETERAN:FILENUMBER:(\d+)$/.exec(String(req.headers['x-folder-uri'] ?? ''));
      if (!uri) return reply.status(400).send({ message: 'X-Folder-URI is required' });
      const fn = uri[1];
      const per = Number(req.body?.pageRequest?.resultsPerPage ?? 20);
      const page = Number(req.body?.pageRequest?.page ?? 1);
      if (!Number.isInteger(per) || per < 1 || !Number.isInteger(page) || page < 1)
        return reply.status(400).send({ message: 'invalid pageRequest' });
      if (page === 1) state.count(`vbms:list:${fn}`);
      const f = state.faults.vbms;
      if (f.mode === 'error' && f.fromPage && page < f.fromPage) {
        // a partial failure: the first pages answer, a later one does not
      } else if (await applyFault(f, reply, 'json')) return reply;
      if (state.veterans.get(fn)?.vbmsUnknown)
        return reply.status(404).send({ message: 'Folder not found' });
      state.known.add(fn);
      const docs = state.documents('vbms', fn);
      const totalPages = Math.max(1, Math.ceil(docs.length / per));
      return {
        page: {
          totalPages,
          requestedResultsPerPage: per,
          currentPage: page,
          totalResults: docs.length,
        },
        files: docs.slice((page - 1) * per, page * per).map((d) => ceFile(d, fn)),
      };
    },
  );

  app.get('/ce/api/v1/rest/documenttypes', async (req, reply) => {
    if (!ceAuthorized(req)) return reply.status(401).send({ message: 'Unauthorized' });
    return {
      documentTypes: DOCUMENT_TYPES.map(([id, description]) => ({ id: Number(id), description })),
    };
  });

  app.get<{ Params: { uuid: string } }>(
    '/ce/api/v1/rest/files/:uuid/content',
    async (req, reply) => {
      if (!ceAuthorized(req)) return reply.status(401).send({ message: 'Unauthorized' });
      state.count('vbms:content');
      if (await applyFault(state.faults.vbms, reply, 'json')) return reply;
      const series = `{${req.params.uuid.toUpperCase()}}`;
      const doc = state.find('vbms', series, 'series_id');
      if (!doc) return reply.status(404).send({ message: 'File not found' });
      return reply
        .type(doc.mime_type)
        .header('content-length', doc.size)
        .send(await documentBytes(doc));
    },
  );

  // ---- VBMS: eFolder read service (SOAP) -------------------------------------------------
  app.post('/vbms', async (req, reply) => {
    const call = readEnvelope(req);
    if (!call) return fault(reply, 'Unable to parse SOAP message');
    const respond = (result: unknown) =>
      soap(reply, 200, {
        [`${call.op}Response`]: {
          '@_xmlns': VBMS_READ_NS,
          '@_xmlns:ns2': 'http://vbms.vba.va.gov/cdm/document/v5',
          '@_xmlns:ns5': VBMS_READ_NS,
          'ns5:result': result,
        },
      });
    if (call.op === 'findDocumentVersionReference') {
      const criteria = (call.args.criteria ?? {}) as Xml;
      const fn = text(((criteria.veteran ?? {}) as Xml)['@fileNumber']);
      if (!fn) return fault(reply, 'Missing required field: Veteran Identifier.');
      state.count(`vbms:list:${fn}`);
      if (await applyFault(state.faults.vbms, reply, 'soap')) return reply;
      if (state.veterans.get(fn)?.vbmsUnknown)
        return fault(reply, 'File Number does not exist within the system.');
      state.known.add(fn);
      return respond(
        state.documents('vbms', fn).map((d) => ({
          '@_documentSeriesRefId': d.series_id,
          '@_documentVersionRefId': d.document_id,
          '@_mimeType': d.mime_type,
          'ns2:typeCategory': {
            '@_typeDescriptionText': d.type_description,
            '@_typeId': d.type_id,
          },
          'ns2:metadata': [{ '@_key': 'restricted', 'ns2:value': 'false' }],
          'ns2:vaReceiveDate': d.received_at.slice(0, 10),
          'ns2:vbmsUploadDate': d.upload_date.slice(0, 10),
          'ns2:version': { '@_major': '1' },
        })),
      );
    }
    if (call.op === 'getDocumentContent') {
      state.count('vbms:content');
      if (await applyFault(state.faults.vbms, reply, 'soap')) return reply;
      const doc = state.find('vbms', text(call.args.documentVersionRefID));
      if (!doc) return fault(reply, 'Document not found');
      return respond({
        '@_documentVersionReferenceId': doc.document_id,
        'ns2:bytes': (await documentBytes(doc)).toString('base64'),
      });
    }
    return fault(reply, `Unable to find SOAP operation: ${call.op}`);
  });
}

/** One Claims Evidence file (file_folders_search_1.json's shape). */
function ceFile(d: SimDocument, fileNumber: string) {
  const bare = (id: string) => id.replace(/^\{|\}$/g, '').toLowerCase();
  return {
    owner: { type: 'VETERAN', id: fileNumber },
    uuid: bare(d.series_id),
    currentVersionUuid: bare(d.document_id),
    currentVersion: {
      systemData: {
        uploadedDateTime: d.upload_date.slice(0, 19),
        contentName: `${fileNumber} - ${d.type_description}.pdf`,
        mimeType: d.mime_type,
        uploadSource: 'VBMS-UI',
      },
      providerData: {
        subject: d.type_description,
        documentTypeId: Number(d.type_id),
        systemSource: 'VBMS-UI',
        dateVaReceivedDocument: d.received_at.slice(0, 10),
        contentSource: 'VBMS',
      },
    },
  };
}

const usDate = (iso: string) => `${iso.slice(5, 7)}/${iso.slice(8, 10)}/${iso.slice(0, 4)}`;
