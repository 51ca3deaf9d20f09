// Server-sent events over fetch(): EventSource cannot send the Authorization header.
// Reconnects after a drop, resuming with Last-Event-ID from the last event seen.

import { Unauthorised } from "./api.js";

/**
 * Read `url` as an event stream until `signal` aborts. `onEvent({id, event, data})` gets each
 * message; `onState("connecting" | "live" | "error", detail)` how the connection is.
 */
export async function follow(url, { token, onEvent, onState, signal }) {
  let lastId = null;
  let retry = 2000;
  while (!signal.aborted) {
    onState("connecting");
    try {
      const headers = { Authorization: `Bearer ${token}`, Accept: "text/event-stream" };
      if (lastId !== null) headers["Last-Event-ID"] = lastId;
      const answer = await fetch(url, { headers, signal, cache: "no-store" });
      if (answer.status === 401 || answer.status === 403) {
        throw new Unauthorised(`the feed answered ${answer.status}`, answer.status);
      }
      if (!answer.ok || !answer.body) throw new Error(`the feed answered ${answer.status}`);
      onState("live");
      for await (const message of messages(answer.body, signal)) {
        if (message.retry !== undefined) retry = message.retry;
        if (message.id !== undefined) lastId = message.id;
        if (message.data === undefined) continue;
        try {
          onEvent(message);
        } catch (error) {
          // One message the page cannot use must not stop the others.
          console.error("feed message", message.id, error);
        }
      }
    } catch (error) {
      if (signal.aborted) return;
      if (error instanceof Unauthorised) {
        onState("error", error.message);
        throw error;
      }
      onState("error", String(error.message || error));
    }
    // The stream ended or broke: wait, then resume where it left off.
    await sleep(retry, signal);
  }
}

/** The messages of a text/event-stream body (the WHATWG HTML "event stream" format). */
export async function* messages(body, signal) {
  const reader = body.pipeThrough(new TextDecoderStream()).getReader();
  const onAbort = () => reader.cancel().catch(() => {});
  signal?.addEventListener("abort", onAbort);
  let buffer = "";
  let message = {};
  let data = [];
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      let text = buffer + value;
      // A CR at the end may be half of a CRLF: keep it back until the next chunk says.
      const held = text.endsWith("\r") ? "\r" : "";
      if (held) text = text.slice(0, -1);
      const lines = text.split(/\r\n|\r|\n/);
      buffer = lines.pop() + held;
      for (const line of lines) {
        if (line === "") {
          if (data.length) message.data = data.join("\n");
          if (data.length || message.id !== undefined || message.retry !== undefined) {
            yield message;
          }
          message = {};
          data = [];
          continue;
        }
        if (line.startsWith(":")) continue; // a comment: a keep-alive
        const colon = line.indexOf(":");
        const field = colon < 0 ? line : line.slice(0, colon);
        let value = colon < 0 ? "" : line.slice(colon + 1);
        if (value.startsWith(" ")) value = value.slice(1);
        if (field === "data") data.push(value);
        else if (field === "event") message.event = value;
        else if (field === "id" && !value.includes("\0")) message.id = value;
        else if (field === "retry" && /^\d+$/.test(value)) message.retry = Number(value);
      }
    }
  } finally {
    signal?.removeEventListener("abort", onAbort);
  }
}

function sleep(ms, signal) {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener("abort", () => { clearTimeout(timer); resolve(); }, { once: true });
  });
}
