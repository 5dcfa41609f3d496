import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

/**
 * The shared corpus of real documents and recorded traffic, read where it lives (beside the
 * project, or CORPUS_DIR), never copied into the project.
 */
export function corpusDir(): string {
  return process.env.CORPUS_DIR ?? resolve(__dirname, '..', '..', '..', '..', 'shared', 'corpus');
}

export function corpusFile(...parts: string[]): string | null {
  const p = join(corpusDir(), ...parts);
  return existsSync(p) ? p : null;
}

export function corpusJson<T>(...parts: string[]): T | null {
  const p = corpusFile(...parts);
  return p ? (JSON.parse(readFileSync(p, 'utf8')) as T) : null;
}

/** `describe` when the corpus file is there, else a skipped suite that says why. */
export function describeWithCorpus(name: string, file: string[], fn: () => void): void {
  if (corpusFile(...file)) describe(name, fn);
  else {
    process.stderr.write(
      `corpus file ${join(corpusDir(), ...file)} not found: "${name}" skipped\n`,
    );
    describe.skip(name, fn);
  }
}
