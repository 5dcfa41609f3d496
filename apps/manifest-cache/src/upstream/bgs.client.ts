import { Inject, Injectable } from '@nestjs/common';
import { SERVICE_CONFIG } from '@app/service-kit';
import type { ManifestCacheConfig } from '../config';
import { asArray, SoapFault, soapCall, str, WSSE, type XmlObject } from './soap';
import { UpstreamTransport } from './transport';

/** Who a BGS call is made as: BGS decides sensitivity and POA by this user. */
export interface BgsUser {
  cssId: string;
  stationId: string;
}

/** A veteran's corporate record (findVeteranByFileNumber's `vetCorpRecord`). */
export interface VeteranRecord {
  fileNumber: string | null;
  claimNumber: string | null;
  ssn: string | null;
  firstName: string | null;
  lastName: string | null;
  participantId: string | null;
  deceased: boolean;
}

export type VeteranLookup =
  | { kind: 'found'; record: VeteranRecord }
  | { kind: 'not_found' }
  /** Above this user's sensitivity level. */
  | { kind: 'sensitive' }
  /** A representative's user whose organisation is not the veteran's POA (as BGS sees it). */
  | { kind: 'poa_denied' };

/** The target namespace of BGS's share services (their WSDLs). */
const BGS_NS = 'http://services.share.benefits.vba.va.gov/';

/**
 * BGS over SOAP, as department-of-veterans-affairs/ruby-bgs speaks it: services at
 * `<base>/<Bean>/<Service>`, VA's audit header (lib/bgs/base.rb#header) naming the user,
 * station, client machine and application, faults carrying a ShareException message.
 */
@Injectable()
export class BgsClient {
  constructor(
    private readonly transport: UpstreamTransport,
    @Inject(SERVICE_CONFIG) private readonly config: ManifestCacheConfig,
  ) {}

  /** The system user eFolder's fetcher uses for its own look-ups (ManifestFetcher#bgs_client). */
  get systemUser(): BgsUser {
    return { cssId: this.config.BGS_SYSTEM_CSS_ID, stationId: this.config.BGS_SYSTEM_STATION_ID };
  }

  /**
   * The veteran by file number, as this user may see them. The outcomes are what eFolder's
   * UserAuthorizer#fetch_veteran_record tells apart: "Sensitive File - Access Violation",
   * "Power of Attorney of Folder is …", and a return message "No BIRLS record found".
   */
  async findVeteran(fileNumber: string, as: BgsUser): Promise<VeteranLookup> {
    let ret: XmlObject;
    try {
      ret = await this.call(
        'VetRecordServiceBean/VetRecordService',
        'findVeteranByFileNumber',
        { fileNumber },
        as,
      );
    } catch (err) {
      if (err instanceof SoapFault) {
        if (err.faultMessage.includes('Sensitive File - Access Violation'))
          return { kind: 'sensitive' };
        if (err.faultMessage.includes('Power of Attorney of Folder is'))
          return { kind: 'poa_denied' };
      }
      throw err;
    }
    const r = ((ret.return as XmlObject | undefined)?.vetCorpRecord ?? {}) as XmlObject;
    const message = str(r.returnMessage) ?? '';
    const record: VeteranRecord = {
      fileNumber: str(r.fileNumber) ?? str(r.claimNumber),
      claimNumber: str(r.claimNumber),
      ssn: str(r.ssn) ?? str(r.socSecNumber),
      firstName: str(r.firstName),
      lastName: str(r.lastName),
      participantId: str(r.ptcpntId),
      deceased: str(r.dateOfDeath) !== null,
    };
    // ExternalApi::BGSService#record_found?: a return message, a file number or an SSN,
    // and not "No BIRLS record found".
    if (
      !message ||
      (!record.fileNumber && !record.ssn) ||
      message.includes('No BIRLS record found')
    )
      return { kind: 'not_found' };
    return { kind: 'found', record };
  }

  /** The user's own participant id (SecurityWebService#findPtcpntId). */
  async userParticipantId(user: BgsUser): Promise<string | null> {
    const ret = await this.call(
      'SecurityWebServiceBean/SecurityWebService',
      'findPtcpntId',
      { stationNumber: user.stationId, userId: user.cssId },
      this.systemUser,
    );
    return str(ret.return);
  }

  /** The participant ids of the organisations this participant works for (findPOAsByPtcpntId). */
  async organisationPoaIds(participantId: string): Promise<string[]> {
    const ret = await this.call(
      'OrgWebServiceBean/OrgWebService',
      'findPOAsByPtcpntId',
      { ptcpntId: participantId },
      this.systemUser,
      ['return'],
    );
    return asArray(ret.return as XmlObject[])
      .map((p) => str(p.ptcpntId))
      .filter((p): p is string => p !== null);
  }

  /** The participant id of the veteran's POA, if any (ClaimantWebService#findPOAByFileNumber). */
  async poaParticipantId(fileNumber: string): Promise<string | null> {
    const ret = await this.call(
      'ClaimantServiceBean/ClaimantWebService',
      'findPOAByFileNumber',
      { fileNumber },
      this.systemUser,
    );
    const r = (ret.return ?? {}) as XmlObject;
    // POAMapper#get_claimant_poa_from_bgs_claimants_poa: no relationship, no POA.
    return str(r.relationshipName) ? str(r.personOrgPtcpntId) : null;
  }

  private call(
    service: string,
    operation: string,
    args: XmlObject,
    as: BgsUser,
    arrays: string[] = [],
  ): Promise<XmlObject> {
    return soapCall(this.transport, {
      upstream: 'BGS',
      source: 'BGS',
      url: `${this.config.BGS_URL}/${service}`,
      namespace: BGS_NS,
      operation,
      args,
      header: this.header(as),
      arrays,
      maxBytes: 4 * 1024 * 1024,
    });
  }

  private header(as: BgsUser): XmlObject {
    return {
      'wsse:Security': {
        '@_xmlns:wsse': WSSE,
        'wsse:UsernameToken': { 'wsse:Username': as.cssId },
        'vaws:VaServiceHeaders': {
          '@_xmlns:vaws': 'http://vbawebservices.vba.va.gov/vawss',
          'vaws:CLIENT_MACHINE': this.config.BGS_CLIENT_IP,
          'vaws:STN_ID': as.stationId,
          'vaws:applicationName': this.config.BGS_APPLICATION,
        },
      },
    };
  }
}
