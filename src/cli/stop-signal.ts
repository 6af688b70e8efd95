// How the daemons are told to stop (Kubernetes stops pods with SIGTERM).

/** Resolves on the first SIGTERM or SIGINT (Kubernetes stops pods with SIGTERM). */
export function waitForStopSignal(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    const stop = (signal: NodeJS.Signals) => {
      process.off('SIGTERM', stop);
      process.off('SIGINT', stop);
      resolve(signal);
    };
    process.on('SIGTERM', stop);
    process.on('SIGINT', stop);
  });
}
