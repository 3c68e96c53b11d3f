#!/usr/bin/env node
// Does the Pub/Sub emulator give back the messages a killed subscriber held? The raw
// @google-cloud/pubsub client alone, no eventpipe code: for each subscription policy (none,
// dead-letter, retry, both) it publishes N messages, lets a child process receive M of them
// without acking and SIGKILLs it, then acks with a fresh subscriber for a while and counts what
// came back, and what reached the dead-letter topic. docs/RELIABILITY.md keeps the results.
//
//   node scripts/emulator-redelivery.mjs [--host 127.0.0.1:8085] [--messages 5000] [--held 2000]
//                                        [--wait 120] [--ack-deadline 60] [--policies none,dlq,retry,both]
// Without --host it starts the emulator from the Google Cloud CLI on a free port.
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { parseArgs } from 'node:util';
import { PubSub } from '@google-cloud/pubsub';

const { values: args } = parseArgs({
  options: {
    host: { type: 'string' },
    messages: { type: 'string', default: '5000' },
    held: { type: 'string', default: '2000' },
    wait: { type: 'string', default: '120' },
    'ack-deadline': { type: 'string', default: '60' },
    policies: { type: 'string', default: 'none,dlq,retry,both' },
    child: { type: 'string' }, // internal: the subscriber that gets killed
  },
});
process.env.METADATA_SERVER_DETECTION ??= 'none';
const PROJECT = 'emulator-probe';
const client = (host) => new PubSub({ projectId: PROJECT, apiEndpoint: host, emulatorMode: true });

if (args.child) {
  // Receive, never ack, tell the parent how many are held.
  const [host, subscription] = args.child.split('|');
  const sub = client(host).subscription(subscription, {
    flowControl: { maxMessages: Number(args.held), allowExcessMessages: false },
  });
  let held = 0;
  sub.on('message', () => {
    held += 1;
    if (held === Number(args.held)) process.stdout.write('held\n');
  });
} else {
  await main();
}

async function freePort() {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

async function startEmulator() {
  const sdk = await new Promise((resolve, reject) => {
    const p = spawn('gcloud', ['info', '--format=value(installation.sdk_root)']);
    let out = '';
    p.stdout.on('data', (d) => (out += d));
    p.on('exit', (code) => (code === 0 ? resolve(out.trim()) : reject(new Error('no gcloud'))));
  });
  const port = await freePort();
  const emulator = spawn(
    `${sdk}/platform/pubsub-emulator/bin/cloud-pubsub-emulator`,
    ['--host=127.0.0.1', `--port=${port}`],
    { stdio: 'ignore', detached: true },
  );
  const host = `127.0.0.1:${port}`;
  for (let i = 0; i < 100; i++) {
    try {
      await client(host).getTopics();
      return { host, stop: () => process.kill(-emulator.pid, 'SIGKILL') };
    } catch {
      await new Promise((r) => setTimeout(r, 300));
    }
  }
  throw new Error('the emulator did not start');
}

async function probe(host, policy) {
  const pubsub = client(host);
  const base = `probe-${policy}-${Date.now()}`;
  const [topic] = await pubsub.createTopic(`${base}-t`);
  const [dlqTopic] = await pubsub.createTopic(`${base}-dlq`);
  const [dlqSub] = await dlqTopic.createSubscription(`${base}-dlq-s`);
  const options = { ackDeadlineSeconds: Number(args['ack-deadline']) };
  if (policy === 'dlq' || policy === 'both') {
    options.deadLetterPolicy = {
      deadLetterTopic: `projects/${PROJECT}/topics/${base}-dlq`,
      maxDeliveryAttempts: 5,
    };
  }
  if (policy === 'retry' || policy === 'both') {
    options.retryPolicy = { minimumBackoff: { seconds: 1 }, maximumBackoff: { seconds: 60 } };
  }
  await topic.createSubscription(`${base}-s`, options);
  const total = Number(args.messages);
  const publisher = pubsub.topic(`${base}-t`, {
    batching: { maxMessages: 500, maxMilliseconds: 5 },
  });
  await Promise.all(
    Array.from({ length: total }, (_, i) =>
      publisher.publishMessage({ data: Buffer.from(`m-${i}`) }),
    ),
  );

  // A subscriber takes `held` messages, never acks, and is killed.
  const child = spawn(process.execPath, [
    new URL(import.meta.url).pathname,
    '--child',
    `${host}|${base}-s`,
    '--held',
    args.held,
  ]);
  await new Promise((resolve) =>
    child.stdout.on('data', (d) => String(d).includes('held') && resolve()),
  );
  child.kill('SIGKILL');

  // A fresh subscriber acks everything it gets, for `wait` seconds.
  const seen = new Set();
  const fresh = pubsub.subscription(`${base}-s`);
  fresh.on('message', (m) => {
    seen.add(m.data.toString());
    m.ack();
  });
  const dead = new Set();
  const dlq = pubsub.subscription(`${base}-dlq-s`);
  dlq.on('message', (m) => {
    dead.add(m.data.toString());
    m.ack();
  });
  await new Promise((r) => setTimeout(r, Number(args.wait) * 1000));
  await fresh.close();
  await dlq.close();
  void dlqSub;
  await pubsub.close();
  const lost = total - new Set([...seen, ...dead]).size;
  return {
    policy,
    published: total,
    held: Number(args.held),
    back: seen.size,
    deadLettered: dead.size,
    lost,
  };
}

async function main() {
  const emulator = args.host ? { host: args.host, stop: () => {} } : await startEmulator();
  const rows = [];
  try {
    for (const policy of args.policies.split(',')) {
      const r = await probe(emulator.host, policy);
      process.stderr.write(`${JSON.stringify(r)}\n`);
      rows.push(r);
    }
  } finally {
    emulator.stop();
  }
  process.stdout.write(
    [
      `| policy | published | held by the killed subscriber | came back in ${args.wait} s | dead-lettered | lost |`,
      '| --- | --- | --- | --- | --- | --- |',
      ...rows.map(
        (r) =>
          `| ${r.policy} | ${r.published} | ${r.held} | ${r.back} | ${r.deadLettered} | ${r.lost} |`,
      ),
      '',
    ].join('\n'),
  );
  process.exit(0);
}
