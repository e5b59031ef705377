// The benchmark Worker: GET /handshake?port=N (body: the CA in PEM) runs one STARTTLS session with smtp-wasm
// (connect, EHLO, STARTTLS + handshake, EHLO, QUIT) against 127.0.0.1:N; GET /noop answers at once (the cost of a
// request alone). CPU is measured from outside, on the workerd process.
import { SmtpClient, connectTcp } from 'smtp-wasm';

export default {
  async fetch(request) {
    const url = new URL(request.url);
    if (url.pathname === '/noop') return new Response('ok');
    if (url.pathname !== '/handshake') return new Response('not found', { status: 404 });
    try {
      return await session(url, await request.text());
    } catch (error) {
      return new Response(`${error?.name}: ${error?.message}\n${error?.stack}`, { status: 500 });
    }
  },
};

async function session(url, ca) {
  const duplex = await connectTcp('127.0.0.1', Number(url.searchParams.get('port')));
  const client = await SmtpClient.connect(duplex, { serverName: 'localhost', rootCertificates: [ca] });
  await client.startTls();
  const info = client.tlsInfo();
  await client.quit();
  return Response.json({ ok: true, protocol: info?.protocolVersion, cipher: info?.cipherSuite });
}
