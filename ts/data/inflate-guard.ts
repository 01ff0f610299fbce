/**
 * Deflate cannot expand data by more than 1032:1, so a gzip or zip header that
 * claims more than that from its compressed size is damaged (or hostile): it is
 * refused before anything is inflated, so it cannot make us allocate gigabytes.
 */

/** Deflate's largest expansion ratio. */
const MAX_DEFLATE_RATIO = 1032;
/** Headers, trailers and tiny inputs: slack so small files are never refused. */
const SLACK_BYTES = 1024;

/** Whether `claimed` inflated bytes could come from `compressed` deflated bytes. */
export function plausibleInflatedSize(claimed: number, compressed: number): boolean {
  return claimed <= MAX_DEFLATE_RATIO * compressed + SLACK_BYTES;
}
