// A turn of the event loop between two model runs. onnxruntime-web's WASM runs settle in microtasks,
// so a whole generate() would otherwise hold a Worker's thread: its abort message (or a page's
// input, on the main thread) would wait until the transcript is done. A MessageChannel message is a
// task, like those, and unlike setTimeout(0) it is not clamped to 4 ms when nested.
export function yieldToEventLoop(): Promise<void> {
  if (typeof MessageChannel === 'undefined') return new Promise((resolve) => setTimeout(resolve, 0));
  return new Promise((resolve) => {
    const { port1, port2 } = new MessageChannel();
    port1.onmessage = () => {
      port1.close();
      resolve();
    };
    port2.postMessage(null);
  });
}
