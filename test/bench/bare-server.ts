// The baseline the HTTP read benches compare against: a bare Fastify hello-world route in its own process,
// as the CareQueue server runs in its own. Prints "bare listening on <port>" once it listens.
import Fastify from 'fastify';

const app = Fastify({ logger: false });
app.get('/hello', async () => ({ hello: 'world' }));
await app.listen({ port: 0, host: '127.0.0.1' });
console.log(`bare listening on ${(app.server.address() as { port: number }).port}`);
process.on('SIGTERM', () => {
  void app.close().then(() => process.exit(0));
});
