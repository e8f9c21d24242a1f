/**
 * The protocol's validator tables (src/extension/protocol/validation.ts) are typed by their message
 * unions: a missing message type, a missing field or a field the message does not have fails to
 * compile (each `@ts-expect-error` below stops compiling if the typing lets that through), and at
 * run time the row the message's `type` picks decides.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { int, num, opt, shape, str, validator } from '../src/extension/protocol/validation';

type Message = { type: 'ping' } | { type: 'move'; x: number; label?: string };

test('a table with a row per message type and a check per field validates by the type', () => {
  const isMessage = validator<Message>({ ping: {}, move: { x: num, label: opt(str) } });
  assert.equal(isMessage({ type: 'ping' }), true);
  assert.equal(isMessage({ type: 'move', x: 1 }), true);
  assert.equal(isMessage({ type: 'move', x: 1, label: 'a' }), true);
  assert.equal(isMessage({ type: 'move', x: 'one' }), false);
  assert.equal(isMessage({ type: 'move', x: 1, label: 2 }), false);
  assert.equal(isMessage({ type: 'jump' }), false);
  assert.equal(isMessage({ x: 1 }), false);
  for (const inherited of ['toString', 'constructor', '__proto__', 'hasOwnProperty']) assert.equal(isMessage({ type: inherited }), false, inherited);
  assert.equal(isMessage(null), false);
});

test('a missing message type, a missing field or an unknown field does not compile', () => {
  // @ts-expect-error the 'move' row is missing
  validator<Message>({ ping: {} });
  // @ts-expect-error 'move' lacks a check for its optional field 'label'
  validator<Message>({ ping: {}, move: { x: num } });
  // @ts-expect-error 'ping' has no field 'x'
  validator<Message>({ ping: { x: num }, move: { x: num, label: opt(str) } });
  // @ts-expect-error a nested shape lacks 'y'
  shape<{ x: number; y: number }>({ x: int });
});
