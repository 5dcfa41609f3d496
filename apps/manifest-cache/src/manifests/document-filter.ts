import type { UpstreamDocument } from '../upstream/upstream.client';

/**
 * eFolder's DocumentFilter, which hides these types from every listing and count whatever
 * the deployment says (department-of-veterans-affairs/caseflow-efolder,
 * app/services/document_filter.rb). RESTRICTED_DOCUMENT_TYPES adds to them, never removes.
 */
/** C&P exam (DBQ) sent as both XML and PDF: the XML. */
const IGNORED = ['999981'];
/** Fiduciary documents. */
const FIDUCIARY = `552 600 607 601 602 546 603 604 545 605 606 608 609 575 543 452 547 610 611 445
  574 458 535 612 614 442 595 644 615 616 541 540 456 403 617 618 620 619 715 621 622 623 624 716
  625 626 628 629 630 631 443 632 633 634 635 636 439 440 438 441 551 550 637 638 639 596 640 642
  643 511 402 538 645 646 647 648 544 649 650 536 539 537 576 457 455 421 422 424 594 425 426 169
  404 454 128 429 430 431 432 433 434 435 436 437 657 651 542 444 548 549`.split(/\s+/);
/** IRS/SSA, IVM and financial actions (VVA). */
const RESTRICTED_VVA = `804 807 808 809 810 811 812 813 814 815 816 817 818 819 821 822 823 824 825
  826 830 722 723 724 725 726 727 728 729 752 753 831 832 880 881`.split(/\s+/);

export const EFOLDER_RESTRICTED_TYPES: ReadonlySet<string> = new Set([
  ...IGNORED,
  ...FIDUCIARY,
  ...RESTRICTED_VVA,
]);

/**
 * What a user may see of a listing: no restricted type (eFolder's and the deployment's), no
 * document the source marks restricted, one entry per document id.
 */
export function visibleDocuments(
  docs: UpstreamDocument[],
  extraRestricted: readonly string[] = [],
): UpstreamDocument[] {
  const extra = new Set(extraRestricted);
  const seen = new Map<string, UpstreamDocument>();
  for (const d of docs) {
    if (d.restricted) continue;
    if (d.typeId && (EFOLDER_RESTRICTED_TYPES.has(d.typeId) || extra.has(d.typeId))) continue;
    if (!seen.has(d.externalDocumentId)) seen.set(d.externalDocumentId, d);
  }
  return [...seen.values()];
}
