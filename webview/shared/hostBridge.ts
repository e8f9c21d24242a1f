/**
 * A webview page's side of the host connection: the one acquireVsCodeApi() call, typed posting, the
 * persisted UI state, and error reports that reach the host's log.
 */
interface VsCodeApi<Out> {
  postMessage(message: Out): void;
  getState(): unknown;
  setState(state: unknown): void;
}
declare function acquireVsCodeApi<Out>(): VsCodeApi<Out>;

export interface HostBridge<Out> {
  post(message: Out): void;
  /** Send an error line to the host's log (every page's protocol has a `log` message). */
  reportError(message: string): void;
  getState(): unknown;
  setState(state: unknown): void;
}

export function connectToHost<Out>(page: string, logMessage: (level: 'error', message: string) => Out): HostBridge<Out> {
  const api = acquireVsCodeApi<Out>();
  return {
    post: (m) => api.postMessage(m),
    reportError: (message) => api.postMessage(logMessage('error', `${page}: ${message}`)),
    getState: () => api.getState(),
    setState: (s) => api.setState(s),
  };
}
