import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/** The platform's version: APP_VERSION if set (images), else the root package.json. */
export function platformVersion(): string {
  if (process.env.APP_VERSION) return process.env.APP_VERSION;
  for (const dir of [
    process.cwd(),
    join(__dirname, '..', '..', '..'),
    join(__dirname, '..', '..', '..', '..'),
  ]) {
    try {
      return (JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { version: string })
        .version;
    } catch {
      /* try the next place */
    }
  }
  return '0.0.0';
}
