/** Command-line argument parsing on node:util's parseArgs, with errors that say what is wrong and how to fix it. */
import { existsSync, statSync } from 'node:fs';
import { type ParseArgsConfig, parseArgs } from 'node:util';
import { suggestion } from '../core/words.js';

/** A usage error: printed as one line, exit code 2. */
export class UsageError extends Error {}

type Options = NonNullable<ParseArgsConfig['options']>;

/** Parses `argv` strictly: unknown options and stray arguments are usage errors. */
export function parse<O extends Options>(argv: string[], options: O) {
  checkArguments(argv, options, false);
  try {
    return parseArgs({ args: argv, options, allowPositionals: false, strict: true });
  } catch (e) {
    throw new UsageError((e as Error).message.replace(/\. To specify a positional.*$/s, ''));
  }
}

/** As `parse`, for commands that take files after their options (`wasmnet predict --model m.wnet a.png b.png`). */
export function parseWithFiles<O extends Options>(argv: string[], options: O) {
  checkArguments(argv, options, true);
  try {
    return parseArgs({ args: argv, options, allowPositionals: true, strict: true });
  } catch (e) {
    throw new UsageError((e as Error).message.replace(/\. To specify a positional.*$/s, ''));
  }
}

/**
 * Finds what parseArgs would only call "unknown" or "unexpected" and says what was probably meant:
 * `--epoch 1` → did you mean --epochs?; `wasmnet eval m.wnet` → did you mean --model m.wnet?
 */
function checkArguments(argv: string[], options: Options, positionals: boolean): void {
  const names = Object.keys(options);
  const list = names.map((n) => `--${n}`).join(', ');
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--') return;
    if (arg.startsWith('--')) {
      const name = arg.slice(2).split('=')[0];
      const spec = options[name];
      if (!spec) throw new UsageError(`unknown option --${name}${suggestion(name, names, (s) => `--${s}`)} (options: ${list})`);
      if (spec.type === 'string' && !arg.includes('=')) {
        const value = argv[i + 1];
        if (value === undefined || value.startsWith('--')) throw new UsageError(`--${name} needs a value: --${name} <${valueHint(name)}>`);
        i++;
      }
    } else if (arg.startsWith('-') && arg.length > 1) {
      const short = Object.entries(options).find(([, o]) => o.short === arg.slice(1));
      if (short) continue;
      // -epochs for --epochs
      const long = arg.slice(1).split('=')[0];
      const meant = options[long] ? `, did you mean --${long}?` : suggestion(long, names, (s) => `--${s}`);
      throw new UsageError(`unknown option ${arg}${meant} (options: ${list})`);
    } else if (!positionals) {
      throw new UsageError(unexpected(arg, names));
    }
  }
}

function valueHint(name: string): string {
  if (name === 'model' || name === 'save' || name === 'png') return 'file';
  if (name === 'data') return 'dir|file.npz';
  return 'value';
}

/** An argument without an option name: which option it most likely belongs to. */
function unexpected(arg: string, names: string[]): string {
  const said = `unexpected argument ${JSON.stringify(arg)}`;
  if (names.includes('model') && /\.wnet$/i.test(arg)) return `${said}: did you mean --model ${arg}?`;
  const isDir = existsSync(arg) && statSync(arg).isDirectory();
  if (names.includes('data') && (isDir || /\.npz$/i.test(arg))) return `${said}: did you mean --data ${arg}?`;
  if (names.includes('model') && existsSync(arg) && !isDir) return `${said}: did you mean --model ${arg}?`;
  return `${said}: every value follows its option's name (e.g. --${names[0]} <${valueHint(names[0])}>); options: ${names.map((n) => `--${n}`).join(', ')}`;
}

export function intOption(name: string, value: string | undefined, fallback: number, min = 1): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min) throw new UsageError(`--${name} must be an integer ≥ ${min}, got ${JSON.stringify(value)}`);
  return n;
}

export function numberOption(name: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new UsageError(`--${name} must be a number > 0, got ${JSON.stringify(value)}`);
  return n;
}
