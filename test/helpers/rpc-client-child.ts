// One RpcClient scenario in a process of its own, so a test can see that the process exits by itself:
//   node --import tsx test/helpers/rpc-client-child.ts MODE PORT
// MODE: idle (one call, no close), timeout (call times out), close-pending (close with a call pending),
// privileged (one call from a privileged source port). Prints the outcome on stdout.
import { RpcClient } from '../../src/nfs/rpc-client.ts';

const [mode, port] = process.argv.slice(2);
const client = new RpcClient({
  host: '127.0.0.1',
  port: Number(port),
  privilegedPort: mode === 'privileged',
  reconnectDelayMs: { initial: 10, max: 50 },
});
const report = (err: Error) => console.log(`${err.name}: ${err.message}`);
const call = (timeoutMs?: number) => client.call(200000, 1, 0, null, null, { timeoutMs });

if (mode === 'idle' || mode === 'privileged') {
  await call().then(() => console.log('replied'), report);
} else if (mode === 'timeout') {
  await call(200).catch(report);
} else if (mode === 'close-pending') {
  const pending = call().catch(report);
  setTimeout(() => void client.close(), 100);
  await pending;
} else {
  throw new Error(`unknown mode ${mode}`);
}
