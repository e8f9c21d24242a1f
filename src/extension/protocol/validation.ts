/**
 * How the protocol's messages are checked: small structural checks composed into one validator per
 * channel direction. Each side validates what it receives (a message of the wrong shape is ignored
 * and logged, never acted on).
 *
 * A validator's table is typed by its message union: a message type without an entry, an entry
 * without a check for one of the message's fields, or a check for a field the message does not have
 * does not compile. `shape<T>` holds nested objects to the same rule.
 *
 * Like every module of the protocol, this one imports nothing from `vscode` or the engine at run
 * time, so the webview bundles, the workers and the host all import it.
 */

export type Check = (v: unknown) => boolean;

/** A check for every field of T (optional ones too), and for no other (none at all when T has no field). */
export type FieldChecks<T> = [keyof T] extends [never] ? Record<string, never> : { [F in keyof T]-?: Check };

/** For every type of message in M, a check for each of its fields but `type`. */
export type ValidatorTable<M extends { type: string }> = {
  [K in M['type']]: FieldChecks<Omit<Extract<M, { type: K }>, 'type'>>;
};

export const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
export const str: Check = (v) => typeof v === 'string';
export const num: Check = (v) => typeof v === 'number' && !Number.isNaN(v);
export const numOrNull: Check = (v) => v === null || num(v);
export const int: Check = (v) => Number.isInteger(v);
export const bool: Check = (v) => typeof v === 'boolean';
export const f32: Check = (v) => v instanceof Float32Array;
export const f32OrNull: Check = (v) => v === null || f32(v);

export const opt = (c: Check): Check => (v) => v === undefined || c(v);
export const orNull = (c: Check): Check => (v) => v === null || c(v);
export const arr = (c: Check): Check => (v) => Array.isArray(v) && v.every(c);
export const oneOf = (...xs: string[]): Check => (v) => typeof v === 'string' && xs.includes(v);
export const shape = <T>(fields: FieldChecks<T>): Check => (v) => isObj(v) && Object.entries(fields as Record<string, Check>).every(([k, c]) => c(v[k]));
export const record = (c: Check): Check => (v) => isObj(v) && Object.values(v).every(c);

/** The validator of one channel direction: the message's `type` picks the row of checks its fields must pass. */
export function validator<M extends { type: string }>(table: ValidatorTable<M>): (v: unknown) => v is M {
  const rows = table as unknown as Record<string, Record<string, Check>>;
  return (v: unknown): v is M => {
    if (!isObj(v) || typeof v.type !== 'string') return false;
    // Own rows only: a type such as 'toString' must not find an inherited function.
    const fields = Object.hasOwn(rows, v.type) ? rows[v.type] : undefined;
    return fields !== undefined && Object.entries(fields).every(([k, c]) => c(v[k]));
  };
}

/** Describe a rejected message for the log without dumping it whole. */
export function describeRejected(v: unknown): string {
  const type = isObj(v) && typeof v.type === 'string' ? v.type : typeof v;
  let text: string;
  try {
    text = JSON.stringify(v) ?? String(v);
  } catch {
    text = String(v);
  }
  return `message of type ${JSON.stringify(type)} does not fit the protocol: ${text.slice(0, 200)}`;
}
