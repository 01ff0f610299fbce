/** `wasmnet gradcheck`: the gradient-check suite, or one saved network, as a table; exit code 1 on a failure. */
import { SequentialNet, init } from '../index.js';
import { type GradcheckRow, checkNetwork, gradientCheckSuite } from '../gradcheck-suite.js';
import { UsageError, intOption, parse } from './args.js';
import { loadModelFile } from './files.js';

export const GRADCHECK_HELP = `wasmnet gradcheck — backpropagation against central differences

Without --model: every registered layer kind in every configuration that
changes its mathematics (padding, stride, overlapping windows, both tie rules,
batch norm in both modes, dropout, …), every activation and loss on its own,
and small networks in inference and training mode. With --model: that saved
network, on random inputs and labels, in both modes.

Each row: the largest error relative to the tensor's largest gradient (see
gradientCheck), the entries compared and those skipped at a kink (ReLU at 0, a
change of pooling winner). Tolerances: 1e-3 where the function is smooth,
1e-2 where it has kinks. Exit code 1 when a row fails.

Options:
  --model <file>         check this saved network instead of the suite
  --seed <n>             seed for the inputs and the entries checked (default 1)
  --samples <n>          entries checked per tensor (default 30)
  --json                 print the rows as JSON on stdout
  -h, --help             this text
`;

export async function gradcheckCommand(argv: string[]): Promise<number> {
  const { values: o } = parse(argv, {
    model: { type: 'string' },
    seed: { type: 'string' },
    samples: { type: 'string' },
    json: { type: 'boolean' },
    help: { type: 'boolean', short: 'h' },
  });
  if (o.help) {
    process.stdout.write(GRADCHECK_HELP);
    return 0;
  }
  const seed = intOption('seed', o.seed, 1, 0);
  const samples = intOption('samples', o.samples, 30);
  await init();
  let rows: GradcheckRow[];
  if (o.model) {
    const net = await loadModelFile(o.model);
    try {
      rows = checkNetwork(net, o.model, 'model', { seed, samples });
    } finally {
      net.dispose();
    }
  } else {
    rows = gradientCheckSuite({ seed, samples });
  }
  const failed = rows.filter((r) => !r.pass).length;
  if (o.json) process.stdout.write(`${JSON.stringify({ rows, passed: rows.length - failed, failed })}\n`);
  else process.stdout.write(formatTable(rows) + `\n${rows.length - failed} passed, ${failed} failed\n`);
  return failed > 0 ? 1 : 0;
}

function formatTable(rows: GradcheckRow[]): string {
  const header = ['group', 'what', 'max rel. error', 'tolerance', 'worst tensor', 'checked', 'kinks skipped', 'result'];
  const cells = rows.map((r) => [r.group, r.what, r.maxError.toExponential(2), r.tolerance.toExponential(0), r.worst, String(r.checked), String(r.skipped), r.pass ? 'pass' : 'FAIL']);
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i].length)));
  const line = (c: string[]) => c.map((v, i) => (i >= 2 && i !== 4 && i !== 7 ? v.padStart(widths[i]) : v.padEnd(widths[i]))).join('  ').trimEnd();
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...cells.map(line)].join('\n');
}
