import { createUpstreamSim } from './sim';

/** The eFolder upstreams' simulators refuse what the real services refuse. */
describe('VBMS, VVA and BGS simulators', () => {
  const { app, state } = createUpstreamSim();
  const envelope = (op: string, args: string, header = '') =>
    `<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"><soapenv:Header>${header}</soapenv:Header><soapenv:Body><tns:${op} xmlns:tns="x">${args}</tns:${op}></soapenv:Body></soapenv:Envelope>`;
  const soap = (url: string, payload: string) =>
    app.inject({ method: 'POST', url, headers: { 'content-type': 'text/xml' }, payload });
  const BGS_HEADER =
    '<wsse:Security xmlns:wsse="w"><wsse:UsernameToken><wsse:Username>ALICE</wsse:Username></wsse:UsernameToken><vaws:VaServiceHeaders xmlns:vaws="v"><vaws:STN_ID>101</vaws:STN_ID></vaws:VaServiceHeaders></wsse:Security>';

  afterAll(() => app.close());

  it('answers a fault for what is not a SOAP envelope, or names no user', async () => {
    for (const payload of ['not xml', '<a><b></a>', '<!DOCTYPE a []><a/>']) {
      const res = await soap('/bgs/VetRecordServiceBean/VetRecordService', payload);
      expect(res.statusCode).toBe(500);
      expect(res.body).toContain('Unable to parse SOAP message');
    }
    const anonymous = await soap(
      '/bgs/VetRecordServiceBean/VetRecordService',
      envelope('findVeteranByFileNumber', '<fileNumber>500000001</fileNumber>'),
    );
    expect(anonymous.body).toContain('Logon ID (none) Not Found');
    const ok = await soap(
      '/bgs/VetRecordServiceBean/VetRecordService',
      envelope('findVeteranByFileNumber', '<fileNumber>500000001</fileNumber>', BGS_HEADER),
    );
    expect(ok.statusCode).toBe(200);
    expect(ok.body).toContain('<fileNumber>500000001</fileNumber>');
    const unknownOp = await soap(
      '/bgs/VetRecordServiceBean/VetRecordService',
      envelope('dropAllVeterans', '', BGS_HEADER),
    );
    expect(unknownOp.body).toContain('Unable to find SOAP operation: dropAllVeterans');
  });

  it('wants every field of a VVA content request', async () => {
    const res = await soap('/vva', envelope('GetDocumentContent', '<fnDcmntId>{X}</fnDcmntId>'));
    expect(res.statusCode).toBe(500);
    expect(res.body).toContain('missing required data: fnDcmntSource');
  });

  it('wants Claims Evidence’s bearer token and folder header', async () => {
    state.claimEvidenceToken = 't';
    const search = (headers: Record<string, string>) =>
      app.inject({
        method: 'POST',
        url: '/ce/api/v1/rest/folders/files:search',
        headers: { 'content-type': 'application/json', ...headers },
        payload: { pageRequest: { resultsPerPage: 20, page: 1 }, filters: {} },
      });
    expect((await search({ 'x-folder-uri': 'VETERAN:FILENUMBER:500000001' })).statusCode).toBe(401);
    expect((await search({ authorization: 'Bearer t' })).statusCode).toBe(400);
    const ok = await search({
      authorization: 'Bearer t',
      'x-folder-uri': 'VETERAN:FILENUMBER:500000001',
    });
    expect(ok.statusCode).toBe(200);
    expect(ok.json<{ page: { currentPage: number } }>().page.currentPage).toBe(1);
  });
});
