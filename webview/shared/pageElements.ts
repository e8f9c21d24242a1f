/**
 * Building an LSTM Lab page: elements with attributes and children, buttons, and the theme's colours
 * for canvases. No inline styles or scripts: the pages run under a strict CSP; CSSOM is allowed.
 */
import '@vscode-elements/elements/dist/vscode-button/index.js';

export function el<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Record<string, string> = {}, ...children: (Node | string)[]): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  e.append(...children);
  return e;
}

/** The value of a theme variable (or of `fallbackVar`, or the text colour). */
export function cssVar(name: string, fallbackVar = '--vscode-foreground'): string {
  const style = getComputedStyle(document.documentElement);
  return style.getPropertyValue(name).trim() || style.getPropertyValue(fallbackVar).trim() || getComputedStyle(document.body).color;
}

/** A CSS colour with an opacity, for the canvas (which cannot read CSS variables). */
export function withAlpha(colour: string, alpha: number): string {
  if (alpha >= 1) return colour;
  const g = document.createElement('canvas').getContext('2d');
  if (!g) return colour;
  g.fillStyle = colour;
  const hex = /^#([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})$/i.exec(String(g.fillStyle));
  return hex ? `rgba(${parseInt(hex[1], 16)}, ${parseInt(hex[2], 16)}, ${parseInt(hex[3], 16)}, ${alpha})` : colour;
}

export function button(label: string, title: string, onClick: () => void, secondary = false): HTMLElement {
  const b = el('vscode-button', { title, ...(secondary ? { secondary: '' } : {}) }, label);
  b.addEventListener('click', onClick);
  return b;
}
