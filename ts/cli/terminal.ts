/** Drawing for the terminal: a progress line and MNIST digits as text. */

/** Shades from light to dark, for digits drawn in plain text. */
const RAMP = ' .:-=+*#%@';

/**
 * Draws 28×28 images (values in [0, 1]) side by side, two pixel rows per text
 * line, with a caption under each.
 */
export function drawDigits(images: Float32Array[], rows: number, cols: number, captions: string[]): string {
  const width = Math.max(cols, ...captions.map((c) => c.length));
  const lines: string[] = [];
  for (let y = 0; y < rows; y += 2) {
    lines.push(
      images
        .map((img) => {
          let s = '';
          for (let x = 0; x < cols; x++) {
            const v = (img[y * cols + x] + (y + 1 < rows ? img[(y + 1) * cols + x] : 0)) / 2;
            s += RAMP[Math.min(RAMP.length - 1, Math.floor(v * RAMP.length))];
          }
          return s.padEnd(width);
        })
        .join('   ')
        .trimEnd(),
    );
  }
  lines.push(captions.map((c) => c.padEnd(width)).join('   ').trimEnd());
  return lines.join('\n');
}

export function formatSeconds(s: number): string {
  if (!Number.isFinite(s)) return '?';
  if (s < 60) return `${s.toFixed(0)}s`;
  const m = Math.floor(s / 60);
  return `${m}m${String(Math.round(s - 60 * m)).padStart(2, '0')}s`;
}

/** A one-line progress bar on a TTY stream (rewritten in place), silent elsewhere. */
export class ProgressBar {
  private lastDraw = 0;
  constructor(private readonly stream: NodeJS.WriteStream, private readonly width = 24) {}

  get live(): boolean {
    return Boolean(this.stream.isTTY);
  }

  update(label: string, done: number, total: number, detail: string, force = false): void {
    if (!this.live) return;
    const now = Date.now();
    if (!force && now - this.lastDraw < 100) return;
    this.lastDraw = now;
    const filled = Math.round((done / total) * this.width);
    const bar = '='.repeat(Math.max(0, filled - 1)) + (filled > 0 ? (done < total ? '>' : '=') : '') + ' '.repeat(this.width - filled);
    const cols = this.stream.columns || 100;
    this.stream.write(`\r${`${label} [${bar}] ${done}/${total} ${detail}`.slice(0, cols - 1)}\x1b[K`);
  }

  clear(): void {
    if (this.live) this.stream.write('\r\x1b[K');
  }
}
