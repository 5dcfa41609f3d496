/** The blob store files, exports and results are kept in (local disk or S3). */
export const BLOB_STORAGE = Symbol('BLOB_STORAGE');
