/**
 * Integration suites ask here for the emulator that jest's global setup found. Without one they
 * are skipped with the printed reason; EVENTPIPE_REQUIRE_EMULATOR=1 (set by .ci/run) makes the
 * global setup fail instead, so a skipped suite can never make CI pass.
 */
export function emulatorHost(): string | undefined {
  return process.env.PUBSUB_EMULATOR_HOST || undefined;
}

export function describeWithEmulator(name: string, fn: (host: string) => void): void {
  const host = emulatorHost();
  if (host) {
    describe(name, () => fn(host));
    return;
  }
  const reason = process.env.EVENTPIPE_EMULATOR_SKIP_REASON ?? 'no Pub/Sub emulator';
  process.stderr.write(`SKIPPED "${name}": ${reason}\n`);
  const skip: jest.Describe = describe.skip;
  skip(name, () => fn(''));
}
