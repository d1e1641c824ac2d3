/**
 * The check of a published version's files against its manifest, for a
 * process that reads a version in place (the master, before an incremental
 * build merges it): every block's checksum, the whole file's CRC-32, its
 * size and its record count. The serving layer checks its local copies the
 * same way as it opens them (src/serving/version-loader.ts).
 */
import { LaminateError } from '../common/errors.js';
import { joinStorePath } from '../storage/store-path.js';
import { ViewFileReader } from './view-file-reader.js';
import type { ViewManifest } from './view-manifest.js';

/**
 * Reads every file of the version in `dir` (a folder, or a prefix in an
 * object store, read in place) once and checks it against
 * `manifest`. Read-only; safe to repeat. Costs one pass over the version's
 * bytes (what an incremental build's reducers read anyway).
 *
 * @throws LaminateError DATA_LOSS naming the file for a damaged, truncated
 *   or resized file (or one missing: NOT_FOUND from the reader is turned
 *   into DATA_LOSS, as the manifest promised the file).
 */
export async function verifyVersionFiles(dir: string, manifest: ViewManifest): Promise<void> {
  for (const f of manifest.files) {
    const path = joinStorePath(dir, f.name);
    let reader: ViewFileReader;
    try {
      reader = await ViewFileReader.openStored(path);
    } catch (err) {
      if (err instanceof LaminateError && err.code === 'NOT_FOUND') {
        throw new LaminateError('DATA_LOSS', `View file '${path}' of version ${manifest.version} of view '${manifest.view}' is missing`, { cause: err });
      }
      throw err;
    }
    try {
      const check = await reader.verify({ checksum: f.checksum });
      if (check.bytes !== f.bytes || reader.records !== f.records) {
        throw new LaminateError('DATA_LOSS', `View file '${path}' holds ${reader.records} records in ${check.bytes} bytes, its manifest says ${f.records} in ${f.bytes}`);
      }
    } finally {
      await reader.close();
    }
  }
}
