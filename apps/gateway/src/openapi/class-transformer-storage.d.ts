// class-transformer's metadata storage ships as JS at cjs/storage, its types at types/storage.
declare module 'class-transformer/cjs/storage' {
  export { defaultMetadataStorage } from 'class-transformer/types/storage';
}
