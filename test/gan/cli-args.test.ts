import { describe, expect, it } from 'vitest';
import { parseTrainArgs, TRAIN_HELP } from '../../src/bin/train-args.ts';

describe('npm run train flags', () => {
  it('parses the run, model and technique switches', () => {
    const a = parseTrainArgs([
      '--steps',
      '500',
      '--resume',
      '--dataset',
      'zappos',
      '--image-size',
      '64',
      '--channels',
      '3',
      '--ngf',
      '64',
      '--batch-size',
      '32',
      '--no-freezing',
      '--no-label-smoothing',
      '--wd-mode',
      'decoupled',
      '--saturating',
      '--max-minutes',
      '1.5',
    ]);
    expect(a).toMatchObject({
      steps: 500,
      resume: true,
      dataset: 'zappos',
      maxMinutes: 1.5,
      activate: true,
      evaluate: true,
    });
    expect(a.config).toEqual({ imageSize: 64, channels: 3, ngf: 64 });
    expect(a.trainOptions).toEqual({
      batchSize: 32,
      freezing: false,
      labelSmoothing: false,
      weightDecayMode: 'decoupled',
      nonSaturating: false,
    });
    expect(parseTrainArgs(['--resume', '20261128-120000-s000100']).resume).toBe('20261128-120000-s000100');
    expect(parseTrainArgs([]).resume).toBe(false);
    expect(parseTrainArgs(['--freeze-ratio', '0.5', '--real-label', '0.8']).trainOptions).toEqual({
      freezeRatio: 0.5,
      realLabel: 0.8,
    });
    expect(parseTrainArgs(['--threads', '2']).threads).toBe(2);
  });

  it('rejects bad values with one readable line', () => {
    expect(() => parseTrainArgs(['--steps', '1.5'])).toThrow('--steps must be an integer, got "1.5"');
    expect(() => parseTrainArgs(['--image-size', '48'])).toThrow('--image-size must be 32, 64 or 128, got 48');
    expect(() => parseTrainArgs(['--channels', '2'])).toThrow(/--channels must be 1 or 3/);
    expect(() => parseTrainArgs(['--wd-mode', 'x'])).toThrow(/--wd-mode must be l2 or decoupled/);
    expect(() => parseTrainArgs(['--threads', '3'])).toThrow('--threads must be <= 2, got 3');
    expect(() => parseTrainArgs(['--nope'])).toThrow(/Unknown option '--nope' \(see --help\)/);
    expect(TRAIN_HELP).toMatch(/--resume/);
  });
});
