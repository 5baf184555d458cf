// The benchmark's baseline: a bare Node http server answering one static TwiML document, in its own process; with a
// size argument (bytes), a static HTML page of that size instead (the reports benchmark's floor).
import http from 'node:http';
import { conferenceTwiml } from '../src/twilio/twiml';

const port = Number(process.argv[2]);
const twiml = conferenceTwiml({ name: 'static', startConferenceOnEnter: false, endConferenceOnExit: true, waitUrl: 'https://bench.example.test/conference/wait' });
const pageBytes = Number(process.argv[3] ?? 0);
const page = pageBytes > 0 ? `<!doctype html><p>${'x'.repeat(Math.max(0, pageBytes - 20))}</p>` : undefined;
const server = http.createServer((req, res) => {
  req.resume();
  req.on('end', () => {
    res.writeHead(200, { 'Content-Type': page ? 'text/html' : 'text/xml' });
    res.end(page ?? twiml);
  });
});
server.listen(port, '127.0.0.1', () => process.stdout.write('listening\n'));
process.on('SIGTERM', () => server.close(() => process.exit(0)));
