/**
 * Building the activations panel's page: elements with attributes and children, buttons, and the
 * theme's colours. No inline styles or scripts: the page runs under a strict CSP; CSSOM is allowed.
 */
import '@vscode-elements/elements/dist/vscode-button/index.js';


export function el<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Record<string, string> = {}, ...children: (Node | string)[]): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  e.append(...children);
  return e;
}

export function cssVar(name: string, fallback = '--vscode-foreground'): string {
  const style = getComputedStyle(document.documentElement);
  return style.getPropertyValue(name).trim() || style.getPropertyValue(fallback).trim() || getComputedStyle(document.body).color;
}

export function button(label: string, title: string, onClick: () => void, secondary = false): HTMLElement {
  const b = el('vscode-button', { title, ...(secondary ? { secondary: '' } : {}) }, label);
  b.addEventListener('click', onClick);
  return b;
}
