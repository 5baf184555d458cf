// The benchmark's baseline: a bare Node http server answering one static TwiML document, in its own process.
import http from 'node:http';
import { conferenceTwiml } from '../src/twilio/twiml';

const port = Number(process.argv[2]);
const twiml = conferenceTwiml({ name: 'static', startConferenceOnEnter: false, endConferenceOnExit: true, waitUrl: 'https://bench.example.test/conference/wait' });
const server = http.createServer((req, res) => {
  req.resume();
  req.on('end', () => {
    res.writeHead(200, { 'Content-Type': 'text/xml' });
    res.end(twiml);
  });
});
server.listen(port, '127.0.0.1', () => process.stdout.write('listening\n'));
process.on('SIGTERM', () => server.close(() => process.exit(0)));
