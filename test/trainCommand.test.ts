/**
 * What "Train on Workspace" accepts as a duration when the user types one (parseDuration in
 * src/extension/trainCommand.ts): minutes, a plain or decimal number with an optional unit, or a
 * whole number of steps; anything else, zero included, is refused (null).
 */
import './fakes/vscode'; // first: maps 'vscode' for the module below
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseDuration } from '../src/extension/trainCommand';

test('minutes: a number, with or without a unit, any case and spacing', () => {
  const minutes = (m: number) => ({ minutes: m, steps: 0 });
  assert.deepEqual(parseDuration('10'), minutes(10));
  assert.deepEqual(parseDuration('2.5'), minutes(2.5));
  assert.deepEqual(parseDuration('10m'), minutes(10));
  assert.deepEqual(parseDuration('10 min'), minutes(10));
  assert.deepEqual(parseDuration('1 minute'), minutes(1));
  assert.deepEqual(parseDuration('30 minutes'), minutes(30));
  assert.deepEqual(parseDuration('  3 MIN  '), minutes(3));
  assert.deepEqual(parseDuration('0.5 Minutes'), minutes(0.5));
});

test('steps: a whole number followed by step or steps', () => {
  const steps = (s: number) => ({ minutes: 0, steps: s });
  assert.deepEqual(parseDuration('2000 steps'), steps(2000));
  assert.deepEqual(parseDuration('2000steps'), steps(2000));
  assert.deepEqual(parseDuration('1 step'), steps(1));
  assert.deepEqual(parseDuration(' 500 STEPS '), steps(500));
});

test('refused: zero, negative, fractional steps, other units, words, empty', () => {
  for (const v of ['', '   ', '0', '0.0', '0 steps', '0 min', '-1', '-5 steps', '1.5 steps', '1e3', '.5', '5.', '10 hours', '10 s', 'steps', 'min', 'ten', '10 m s', '10 minutes 5 steps']) {
    assert.equal(parseDuration(v), null, JSON.stringify(v));
  }
});
