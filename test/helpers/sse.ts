// A server-sent events client for Node (what a page's EventSource does): one GET kept open, events parsed as they come.
import http from 'node:http';

export interface SseStream {
  /** Settles when the stream ends, whoever ended it. */
  closed: Promise<void>;
  close(): void;
}

/**
 * Opens `url` with `headers` and calls `onEvent(event, data)` for each event (comments and `retry:` lines are skipped).
 * Resolves once the server has answered 200; rejects with the status otherwise.
 */
export function openSse(url: string, headers: Record<string, string>, onEvent: (event: string, data: string) => void): Promise<SseStream> {
  return new Promise((resolve, reject) => {
    let ended!: () => void;
    const closed = new Promise<void>((done) => (ended = done));
    const req = http.get(url, { headers: { Accept: 'text/event-stream', ...headers } }, (res) => {
      if (res.statusCode !== 200) {
        res.resume();
        ended();
        return reject(new Error(`${url} answered ${res.statusCode}`));
      }
      res.setEncoding('utf8');
      let buffer = '';
      res.on('data', (chunk: string) => {
        buffer += chunk;
        for (let end = buffer.indexOf('\n\n'); end >= 0; end = buffer.indexOf('\n\n')) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          let event = 'message';
          const data: string[] = [];
          for (const line of block.split('\n')) {
            if (line.startsWith('event:')) event = line.slice(6).trim();
            else if (line.startsWith('data:')) data.push(line.slice(5).trimStart());
          }
          if (data.length > 0) onEvent(event, data.join('\n'));
        }
      });
      res.on('close', ended);
      res.on('error', ended);
      resolve({ closed, close: () => req.destroy() });
    });
    req.on('error', (err) => {
      ended();
      reject(err);
    });
  });
}
