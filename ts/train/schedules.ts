/**
 * Learning-rate schedules, as PyTorch's `lr_scheduler` closed forms: the
 * learning rate of epoch `epoch` (counted from 0) from the optimizer's base
 * learning rate. The training loop sets `optim.lr = schedule.lrAt(epoch, baseLr)`
 * before each epoch, so a schedule is a pure function of the epoch: no state
 * to save, and resuming at epoch k gives the same rates as an unbroken run.
 */
import { ValueError, checkInt, checkPositive, optionsObject, show } from '../core/errors.js';

/** A schedule's settings, as model files store them. */
export type ScheduleConfig =
  | {
      /** Which schedule. */
      type: 'StepDecay';
      /** `StepDecay.stepSize`. */
      stepSize: number;
      /** `StepDecay.gamma`. */
      gamma: number;
    }
  | {
      /** Which schedule. */
      type: 'ExponentialDecay';
      /** `ExponentialDecay.gamma`. */
      gamma: number;
    }
  | {
      /** Which schedule. */
      type: 'CosineAnnealing';
      /** `CosineAnnealing.tMax`. */
      tMax: number;
      /** `CosineAnnealing.etaMin`. */
      etaMin: number;
    };

/** A plain function from the epoch (counted from 0) and the base learning rate to the epoch's learning rate. */
export type LrFunction = (epoch: number, baseLr: number) => number;

/** A learning-rate schedule: the rate of each epoch from the base rate, a pure function of the epoch. */
export interface LrSchedule {
  /** The learning rate of epoch `epoch` (counted from 0; fractional epochs allowed) for base rate `baseLr`. */
  lrAt(epoch: number, baseLr: number): number;
  /** Settings for a model file; null for a schedule made from a plain function, which cannot be stored. */
  config(): ScheduleConfig | null;
}

function checkArguments(what: string, epoch: number, baseLr: number): void {
  checkPositive(`${what} epoch`, epoch, true);
  // 0: a frozen layer's optimizer (`lr` may be set to 0).
  checkPositive(`${what} baseLr`, baseLr, true);
}

/** PyTorch's `StepLR`: lr = baseLr·gamma^⌊epoch/stepSize⌋ (default gamma 0.1). */
export class StepDecay implements LrSchedule {
  /** Epochs between decays. */
  readonly stepSize: number;
  /** Factor per decay (default 0.1). */
  readonly gamma: number;

  constructor(options: { stepSize: number; gamma?: number }) {
    const o = optionsObject('StepDecay options', options, ['stepSize', 'gamma']);
    this.stepSize = checkInt('StepDecay stepSize', o.stepSize, 1);
    this.gamma = checkPositive('StepDecay gamma', o.gamma ?? 0.1);
  }

  lrAt(epoch: number, baseLr: number): number {
    checkArguments('StepDecay', epoch, baseLr);
    return baseLr * Math.pow(this.gamma, Math.floor(epoch / this.stepSize));
  }

  config(): ScheduleConfig {
    return { type: 'StepDecay', stepSize: this.stepSize, gamma: this.gamma };
  }
}

/** PyTorch's `ExponentialLR`: lr = baseLr·gamma^epoch. */
export class ExponentialDecay implements LrSchedule {
  /** Factor per epoch. */
  readonly gamma: number;

  constructor(options: { gamma: number }) {
    const o = optionsObject('ExponentialDecay options', options, ['gamma']);
    this.gamma = checkPositive('ExponentialDecay gamma', o.gamma);
  }

  lrAt(epoch: number, baseLr: number): number {
    checkArguments('ExponentialDecay', epoch, baseLr);
    return baseLr * Math.pow(this.gamma, epoch);
  }

  config(): ScheduleConfig {
    return { type: 'ExponentialDecay', gamma: this.gamma };
  }
}

/**
 * PyTorch's `CosineAnnealingLR` in its closed form:
 * lr = etaMin + (baseLr − etaMin)·(1 + cos(π·epoch/tMax))/2 (default etaMin 0).
 * It reaches etaMin at epoch tMax and, as PyTorch's, rises again after it
 * (period 2·tMax); train for tMax epochs to end near etaMin.
 */
export class CosineAnnealing implements LrSchedule {
  /** Epochs from the base rate down to `etaMin`. */
  readonly tMax: number;
  /** The lowest rate (default 0). */
  readonly etaMin: number;

  constructor(options: { tMax: number; etaMin?: number }) {
    const o = optionsObject('CosineAnnealing options', options, ['tMax', 'etaMin']);
    this.tMax = checkInt('CosineAnnealing tMax', o.tMax, 1);
    this.etaMin = checkPositive('CosineAnnealing etaMin', o.etaMin ?? 0, true);
  }

  lrAt(epoch: number, baseLr: number): number {
    checkArguments('CosineAnnealing', epoch, baseLr);
    return this.etaMin + ((baseLr - this.etaMin) * (1 + Math.cos((Math.PI * epoch) / this.tMax))) / 2;
  }

  config(): ScheduleConfig {
    return { type: 'CosineAnnealing', tMax: this.tMax, etaMin: this.etaMin };
  }
}

/** A schedule from a plain function. Its `config()` is null: a function cannot be stored in a model file. */
export class FunctionSchedule implements LrSchedule {
  constructor(
    /** The function `(epoch, baseLr) => lr`. */
    readonly fn: LrFunction,
  ) {
    if (typeof fn !== 'function') throw new ValueError(`FunctionSchedule fn must be a function (epoch, baseLr) => lr, got ${show(fn)}`);
  }

  lrAt(epoch: number, baseLr: number): number {
    checkArguments('lr schedule', epoch, baseLr);
    const lr = this.fn(epoch, baseLr);
    if (typeof lr !== 'number' || !Number.isFinite(lr) || lr < 0) {
      throw new ValueError(`lr schedule function must return a finite number ≥ 0, got ${show(lr)} for epoch ${epoch}`);
    }
    return lr;
  }

  config(): null {
    return null;
  }
}

/** A schedule from a schedule or a plain function `(epoch, baseLr) => lr` (what `train({ lrSchedule })` accepts). */
export function asLrSchedule(s: LrSchedule | LrFunction): LrSchedule {
  if (typeof s === 'function' && /^class[\s{]/.test(Function.prototype.toString.call(s))) {
    throw new ValueError(`lrSchedule must be a schedule object such as new ${s.name || 'CosineAnnealing'}({ … }), got the class ${s.name || ''} itself`);
  }
  if (typeof s === 'function') return new FunctionSchedule(s);
  if (!s || typeof s !== 'object' || typeof (s as LrSchedule).lrAt !== 'function') {
    throw new ValueError(`lrSchedule must be a schedule (StepDecay, ExponentialDecay, CosineAnnealing) or a function (epoch, baseLr) => lr, got ${show(s)}`);
  }
  return s;
}

/** The schedule a model file's settings describe. */
export function scheduleFromConfig(c: ScheduleConfig): LrSchedule {
  if (!c || typeof c !== 'object') throw new ValueError(`schedule config must be an object, got ${show(c)}`);
  const { type, ...options } = c;
  if (type === 'StepDecay') return new StepDecay(options as { stepSize: number; gamma: number });
  if (type === 'ExponentialDecay') return new ExponentialDecay(options as { gamma: number });
  if (type === 'CosineAnnealing') return new CosineAnnealing(options as { tMax: number; etaMin: number });
  throw new ValueError(`unknown schedule type ${show(type)}: expected StepDecay, ExponentialDecay or CosineAnnealing`);
}
