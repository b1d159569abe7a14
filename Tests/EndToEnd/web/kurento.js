// A minimal Kurento protocol client for the test pages: JSON-RPC 2.0 over one
// WebSocket, requests as promises, events (onEvent) to listeners.
export async function connect(url) {
  const ws = new WebSocket(url);
  const pending = new Map();
  const listeners = [];
  const notified = [];
  let nextId = 0;
  ws.onmessage = (e) => {
    const m = JSON.parse(e.data);
    if (m.method === "onEvent") { listeners.forEach((f) => f(m.params.value)); return; }
    if (m.method) { notified.forEach((f) => f(m.method, m.params)); return; }  // the room protocol's notifications
    const p = pending.get(m.id);
    if (!p) return;
    pending.delete(m.id);
    if (m.error) p.reject(new Error(JSON.stringify(m.error))); else p.resolve(m.result);
  };
  await new Promise((resolve, reject) => { ws.onopen = resolve; ws.onerror = reject; });
  return {
    rpc(method, params) {
      return new Promise((resolve, reject) => {
        const id = ++nextId;
        pending.set(id, { resolve, reject });
        ws.send(JSON.stringify({ jsonrpc: "2.0", id, method, params }));
      });
    },
    onEvent(f) { listeners.push(f); },
    onNotification(f) { notified.push(f); },
  };
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
