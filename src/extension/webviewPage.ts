/**
 * The HTML shell every LSTM Lab webview page shares: a strict Content-Security-Policy with a fresh
 * nonce per render, and the page's bundle and stylesheet from dist/webview (the only local resource
 * root), loaded through asWebviewUri.
 */
import { randomBytes } from 'crypto';
import * as vscode from 'vscode';

/** The one folder webviews may load from. */
export function webviewRoot(extensionUri: vscode.Uri): vscode.Uri {
  return vscode.Uri.joinPath(extensionUri, 'dist', 'webview');
}

/** Options for createWebviewPanel / a serializer's revived panel. */
export function webviewOptions(extensionUri: vscode.Uri): vscode.WebviewOptions & vscode.WebviewPanelOptions {
  return { enableScripts: true, localResourceRoots: [webviewRoot(extensionUri)] };
}

/** Render page `name` (dist/webview/<name>.js and .css) into the webview. */
export function renderWebviewPage(webview: vscode.Webview, extensionUri: vscode.Uri, name: string, title: string): void {
  const nonce = randomBytes(18).toString('base64');
  const root = webviewRoot(extensionUri);
  const script = webview.asWebviewUri(vscode.Uri.joinPath(root, `${name}.js`));
  const style = webview.asWebviewUri(vscode.Uri.joinPath(root, `${name}.css`));
  const csp = [
    "default-src 'none'",
    `img-src ${webview.cspSource} data:`,
    `style-src ${webview.cspSource}`,
    `script-src 'nonce-${nonce}'`,
    `font-src ${webview.cspSource}`,
  ].join('; ');
  webview.html = `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="${csp}">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<link rel="stylesheet" href="${style.toString()}">
<title>${title}</title>
</head>
<body>
<div id="app"></div>
<script nonce="${nonce}" src="${script.toString()}"></script>
</body>
</html>`;
}

/**
 * The one panel of a kind (the dashboard, the activations panel): `show` reveals it, or creates it
 * beside the active editor; `registerSerializer` revives it after a window reload, closing a second
 * revived one. `make` wraps a new webview panel into the panel object; the object calls `release`
 * when it is disposed.
 */
export class PanelSlot<T extends { readonly panel: vscode.WebviewPanel }> {
  private current: T | undefined;

  constructor(
    private readonly viewType: string,
    private readonly title: string,
  ) {}

  get instance(): T | undefined {
    return this.current;
  }

  show(extensionUri: vscode.Uri, make: (panel: vscode.WebviewPanel) => T, preserveFocus = true): T {
    if (this.current) {
      this.current.panel.reveal(undefined, preserveFocus);
      return this.current;
    }
    const panel = vscode.window.createWebviewPanel(this.viewType, this.title, { viewColumn: vscode.ViewColumn.Beside, preserveFocus }, webviewOptions(extensionUri));
    return this.adopt(panel, extensionUri, make);
  }

  registerSerializer(extensionUri: vscode.Uri, make: (panel: vscode.WebviewPanel) => T): vscode.Disposable {
    return vscode.window.registerWebviewPanelSerializer(this.viewType, {
      deserializeWebviewPanel: async (panel: vscode.WebviewPanel): Promise<void> => {
        if (this.current) {
          panel.dispose(); // one of each kind: a second revived panel would show the same thing
          return;
        }
        panel.webview.options = webviewOptions(extensionUri);
        this.adopt(panel, extensionUri, make);
      },
    });
  }

  release(t: T): void {
    if (this.current === t) this.current = undefined;
  }

  private adopt(panel: vscode.WebviewPanel, extensionUri: vscode.Uri, make: (panel: vscode.WebviewPanel) => T): T {
    panel.iconPath = vscode.Uri.joinPath(extensionUri, 'media', 'lstm.svg');
    return (this.current = make(panel));
  }
}
