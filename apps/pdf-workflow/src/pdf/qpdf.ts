import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * qpdf (a Debian package in the image) for what it does better than pdf-lib: decrypting a
 * form that has only an owner password, flattening annotations whatever way their appearances
 * are stored, and writing a file whose cross-reference table has no dangling entries. It runs
 * as a child process of the worker thread, on files in a private temporary directory.
 */
export class QpdfError extends Error {
  constructor(
    message: string,
    readonly stderr: string,
  ) {
    super(message);
  }
}

/** The form needs a password to be opened at all (a user password); none is asked for. */
export class NeedsPasswordError extends Error {}

export async function qpdf(args: string[], input: Buffer, timeoutMs = 60_000): Promise<Buffer> {
  const dir = await mkdtemp(join(tmpdir(), 'pdfw-'));
  try {
    const inFile = join(dir, 'in.pdf');
    const outFile = join(dir, 'out.pdf');
    await writeFile(inFile, input);
    await new Promise<void>((resolve, reject) => {
      execFile(
        'qpdf',
        // Exit 3 is "succeeded with warnings": the output is written and usable.
        ['--no-warn', '--warning-exit-0', ...args, inFile, outFile],
        { timeout: timeoutMs, maxBuffer: 1024 * 1024 },
        (err, _stdout, stderr) => {
          if (!err) return resolve();
          if (/invalid password/i.test(stderr))
            return reject(new NeedsPasswordError('the PDF needs a password to be opened'));
          reject(
            new QpdfError(`qpdf ${args.join(' ')} failed: ${stderr.trim().slice(0, 300)}`, stderr),
          );
        },
      );
    });
    return await readFile(outFile);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** An owner-password-only PDF opened for filling; a PDF that needs a password to open refused. */
export function decrypt(bytes: Buffer): Promise<Buffer> {
  return qpdf(['--decrypt'], bytes);
}

/** Every annotation with an appearance drawn into its page; the file rewritten clean. */
export function flattenAnnotations(bytes: Buffer): Promise<Buffer> {
  return qpdf(['--flatten-annotations=all', '--object-streams=generate'], bytes);
}
