import { generateApiKey, hashApiKey } from '../apps/gateway/src/auth/api-keys';

/** Prints a new API key once, and the entry to add to the gateway's API_KEYS. */
const [id = 'caller', ...scopes] = process.argv.slice(2);
const key = generateApiKey();
console.log(`key (give it to the caller; it is not stored anywhere): ${key}`);
console.log(
  `API_KEYS entry: ${JSON.stringify({ id, sha256: hashApiKey(key), scopes: scopes.length ? scopes : ['status:read'] })}`,
);
