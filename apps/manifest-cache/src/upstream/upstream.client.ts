import { Injectable } from '@nestjs/common';
import type { Readable } from 'node:stream';
import type { ManifestSourceName } from '@app/contracts';
import { BgsClient, type BgsUser, type VeteranRecord } from './bgs.client';
import type { DocumentRef, UpstreamDocument } from './documents';
import { FileNumberUnknown, VbmsClient } from './vbms.client';
import { VvaClient } from './vva.client';

export type { DocumentRef, UpstreamDocument } from './documents';
export { UpstreamError } from './transport';

/** What a user may do with a veteran's file, decided as eFolder's UserAuthorizer does. */
export type Access =
  | { kind: 'allowed'; record: VeteranRecord }
  | { kind: 'sensitive' }
  | { kind: 'poa_denied' }
  | { kind: 'not_found' };

const ACCESS_TTL_MS = 10 * 60 * 1000; // eFolder caches a user's BGS veteran look-up 10 minutes
const ACCESS_CACHE_MAX = 10_000;

/**
 * The upstreams together: VBMS and VVA for documents, BGS for who the veteran is, which
 * file numbers they have and whether this user may see them.
 */
@Injectable()
export class UpstreamClient {
  /** Per user and file number: one user's answer is never another's (eFolder's warning). */
  private readonly access = new Map<string, { at: number; access: Access }>();

  constructor(
    private readonly vbms: VbmsClient,
    private readonly vva: VvaClient,
    private readonly bgs: BgsClient,
  ) {}

  listDocuments(source: ManifestSourceName, fileNumber: string): Promise<UpstreamDocument[]> {
    return source === 'VBMS'
      ? this.vbms.listDocuments(fileNumber)
      : this.vva.listDocuments(fileNumber);
  }

  /**
   * eFolder's ManifestFetcher: the documents under every file number BGS knows for the
   * veteran. A number the source does not know is skipped, as long as one is known.
   */
  async listVeteranDocuments(
    source: ManifestSourceName,
    fileNumber: string,
    /** The veteran's numbers, when the caller already has them (one BGS look-up for both sources). */
    numbers?: string[],
  ): Promise<UpstreamDocument[]> {
    numbers ??= await this.veteranFileNumbers(fileNumber);
    const lists: UpstreamDocument[][] = [];
    let unknown: FileNumberUnknown | null = null;
    for (const n of numbers) {
      try {
        lists.push(await this.listDocuments(source, n));
      } catch (err) {
        if (!(err instanceof FileNumberUnknown)) throw err;
        unknown ??= err;
      }
    }
    if (lists.length === 0 && unknown) throw unknown;
    return lists.flat();
  }

  content(source: ManifestSourceName, doc: DocumentRef): Promise<Readable> {
    return source === 'VBMS' ? this.vbms.content(doc) : this.vva.content(doc);
  }

  /**
   * eFolder's UserAuthorizer: the veteran as this user may read them; a sensitive file is
   * refused; when BGS denies by power of attorney, the user's organisations are compared
   * with the veteran's POA, as VBMS does. (The deceased veteran's claimants' POAs are not
   * consulted; see ADR 0015.)
   */
  async authorize(fileNumber: string, user: BgsUser): Promise<Access> {
    const key = `${user.cssId}\u0000${user.stationId}\u0000${fileNumber}`;
    const hit = this.access.get(key);
    if (hit && Date.now() - hit.at < ACCESS_TTL_MS) return hit.access;
    const access = await this.decide(fileNumber, user);
    if (this.access.size >= ACCESS_CACHE_MAX) this.access.delete(this.access.keys().next().value!);
    this.access.set(key, { at: Date.now(), access });
    return access;
  }

  private async decide(fileNumber: string, user: BgsUser): Promise<Access> {
    const mine = await this.bgs.findVeteran(fileNumber, user);
    if (mine.kind === 'found') return { kind: 'allowed', record: mine.record };
    if (mine.kind !== 'poa_denied') return mine;
    const [participantId, poa] = await Promise.all([
      this.bgs.userParticipantId(user),
      this.bgs.poaParticipantId(fileNumber),
    ]);
    const organisations = participantId ? await this.bgs.organisationPoaIds(participantId) : [];
    if (!poa || !organisations.includes(poa)) return { kind: 'poa_denied' };
    const system = await this.bgs.findVeteran(fileNumber, this.bgs.systemUser);
    return system.kind === 'found'
      ? { kind: 'allowed', record: system.record }
      : { kind: 'not_found' };
  }

  /**
   * Every file number the veteran's documents may be filed under (eFolder's VeteranFinder,
   * as its system user): the one asked for, BGS's file number for it, and that of a
   * duplicate record found by claim number or SSN.
   */
  async veteranFileNumbers(fileNumber: string): Promise<string[]> {
    const system = this.bgs.systemUser;
    const first = await this.bgs.findVeteran(fileNumber, system);
    if (first.kind !== 'found') return [fileNumber];
    const r = first.record;
    const numbers = [fileNumber, r.fileNumber];
    const again =
      r.claimNumber && r.fileNumber === r.ssn
        ? r.claimNumber
        : r.ssn && r.fileNumber === r.claimNumber
          ? r.ssn
          : null;
    if (again && again !== fileNumber) {
      const dup = await this.bgs.findVeteran(again, system);
      if (dup.kind === 'found') numbers.push(dup.record.fileNumber);
    }
    return [...new Set(numbers.filter((n): n is string => !!n))];
  }
}
