/** The blob store pdf-workflow keeps originals, documents and attachments in. */
export const BLOB_STORAGE = Symbol('BLOB_STORAGE');
