import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { Deployment, type IDeployment } from 'kubernetes-models/apps/v1/Deployment';
import {
  HorizontalPodAutoscaler,
  type IHorizontalPodAutoscaler,
} from 'kubernetes-models/autoscaling/v2/HorizontalPodAutoscaler';
import {
  NetworkPolicy,
  type INetworkPolicy,
} from 'kubernetes-models/networking.k8s.io/v1/NetworkPolicy';
import {
  PodDisruptionBudget,
  type IPodDisruptionBudget,
} from 'kubernetes-models/policy/v1/PodDisruptionBudget';
import { ConfigMap } from 'kubernetes-models/v1/ConfigMap';
import type { IContainer } from 'kubernetes-models/v1/Container';
import { Namespace } from 'kubernetes-models/v1/Namespace';
import { Service, type IService } from 'kubernetes-models/v1/Service';
import { ServiceAccount } from 'kubernetes-models/v1/ServiceAccount';
import { publisherConfigSchema } from '@eventpipe/publisher-api';
import { queryConfigSchema } from '@eventpipe/query-api';
import { workerConfigSchema } from '@eventpipe/subscriber-worker';

/** No cluster runs here: each overlay of deploy/k8s is rendered with `kubectl kustomize`, every
 * object is validated against the Kubernetes schemas (kubernetes-models; KEDA's by hand), and the
 * manifests are checked against what the services read and serve. */
const root = join(__dirname, '..', '..');
const OVERLAYS = ['staging', 'production'] as const;
type Overlay = (typeof OVERLAYS)[number];

const SERVICES = {
  'publisher-api': { schema: publisherConfigSchema, sa: 'publisher', api: true },
  'query-api': { schema: queryConfigSchema, sa: 'query', api: true },
  'subscriber-worker': { schema: workerConfigSchema, sa: 'worker', api: false },
} as const;
type ServiceName = keyof typeof SERVICES;
const NAMES = Object.keys(SERVICES) as ServiceName[];

/** Secrets are created out of band (deploy/k8s/README.md) and only referenced here. */
const SECRETS = { apiKeys: 'eventpipe-api-keys', cursor: 'eventpipe-cursor-secret' };

interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: {
    name: string;
    namespace?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
  };
  spec?: Record<string, unknown>;
  data?: Record<string, string>;
}

const MODELS: Record<string, new (data: never) => { validate(): void }> = {
  'v1/Namespace': Namespace,
  'v1/ServiceAccount': ServiceAccount,
  'v1/ConfigMap': ConfigMap,
  'v1/Service': Service,
  'apps/v1/Deployment': Deployment,
  'autoscaling/v2/HorizontalPodAutoscaler': HorizontalPodAutoscaler,
  'policy/v1/PodDisruptionBudget': PodDisruptionBudget,
  'networking.k8s.io/v1/NetworkPolicy': NetworkPolicy,
};
const KEDA = 'keda.sh/v1alpha1';

function kubectlAvailable(): boolean {
  try {
    execFileSync('kubectl', ['version', '--client'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}
const hasKubectl = kubectlAvailable();
// Without kubectl the suite is skipped on a workstation, but CI must not pass by skipping it.
const describeRendered = hasKubectl || process.env.CI ? describe : describe.skip;

const rendered = new Map<Overlay, K8sObject[]>();
function render(overlay: Overlay): K8sObject[] {
  const cached = rendered.get(overlay);
  if (cached) return cached;
  const text = execFileSync(
    'kubectl',
    ['kustomize', join(root, 'deploy', 'k8s', 'overlays', overlay)],
    { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const objects = parseAllDocuments(text).map((doc) => {
    if (doc.errors.length > 0) throw doc.errors[0];
    return doc.toJS() as K8sObject;
  });
  rendered.set(overlay, objects);
  return objects;
}

const ofKind = <T = K8sObject>(objects: K8sObject[], kind: string): T[] =>
  objects.filter((o) => o.kind === kind) as T[];
const named = <T extends { metadata?: { name?: string } }>(list: T[], name: string): T => {
  const found = list.find((o) => o.metadata?.name === name);
  if (!found) throw new Error(`no object named ${name}`);
  return found;
};

/** CPU in millicores or memory in bytes. */
function quantity(q: string | number): number {
  const m = /^(\d+(?:\.\d+)?)(m|Ki|Mi|Gi)?$/.exec(String(q));
  if (!m) throw new Error(`unsupported quantity ${q}`);
  const n = Number(m[1]);
  const unit = { m: 1, Ki: 1024, Mi: 1024 ** 2, Gi: 1024 ** 3 }[m[2] ?? ''];
  return unit === undefined ? n * 1000 : m[2] === 'm' ? n : n * unit;
}

const matches = (selector: Record<string, string> | undefined, labels: Record<string, string>) =>
  !!selector && Object.entries(selector).every(([k, v]) => labels[k] === v);

describe('Kubernetes manifests (deploy/k8s)', () => {
  it('when CI runs, then kubectl is installed, so the overlays are rendered and not skipped', () => {
    if (process.env.CI) expect(hasKubectl).toBe(true);
  });
});

describeRendered.each(OVERLAYS)('the %s overlay rendered with kubectl kustomize', (overlay) => {
  let objects: K8sObject[];
  let deployments: IDeployment[];
  beforeAll(() => {
    objects = render(overlay);
    deployments = ofKind<IDeployment>(objects, 'Deployment');
  });
  const namespace = `eventpipe-${overlay}`;
  const podLabels = (d: IDeployment) => d.spec!.template.metadata!.labels!;
  const containerOf = (name: ServiceName): IContainer => {
    const containers = named(deployments, name).spec!.template.spec!.containers;
    expect(containers).toHaveLength(1);
    return containers[0]!;
  };

  it('when each object is validated against its Kubernetes schema, then all are valid', () => {
    expect(objects.length).toBeGreaterThan(0);
    for (const o of objects) {
      if (o.apiVersion === KEDA) continue;
      const Model = MODELS[`${o.apiVersion}/${o.kind}`];
      expect([`${o.apiVersion}/${o.kind}`, Model !== undefined]).toEqual([
        `${o.apiVersion}/${o.kind}`,
        true,
      ]);
      expect(() => new Model!(o as never).validate()).not.toThrow();
    }
  });

  it('when the KEDA objects are checked by hand, then they carry the fields KEDA requires', () => {
    const keda = objects.filter((o) => o.apiVersion === KEDA);
    expect(keda.map((o) => o.kind).sort()).toEqual(['ScaledObject', 'TriggerAuthentication']);
    const [auth] = ofKind(keda, 'TriggerAuthentication');
    expect(auth!.metadata.name).toMatch(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/);
    expect(auth!.spec).toEqual({ podIdentity: { provider: 'gcp' } });

    const [scaled] = ofKind(keda, 'ScaledObject');
    const spec = scaled!.spec as {
      scaleTargetRef: { apiVersion?: string; kind?: string; name: string };
      minReplicaCount: number;
      maxReplicaCount: number;
      pollingInterval?: number;
      cooldownPeriod?: number;
      triggers: {
        type: string;
        metadata: Record<string, unknown>;
        authenticationRef?: { name: string };
      }[];
    };
    expect(typeof spec.scaleTargetRef.name).toBe('string');
    expect(Number.isInteger(spec.minReplicaCount)).toBe(true);
    expect(Number.isInteger(spec.maxReplicaCount)).toBe(true);
    expect(spec.minReplicaCount).toBeGreaterThanOrEqual(1);
    expect(spec.maxReplicaCount).toBeGreaterThanOrEqual(spec.minReplicaCount);
    expect(spec.triggers).toHaveLength(1);
    const [trigger] = spec.triggers;
    expect(trigger!.type).toBe('gcp-pubsub');
    // Trigger metadata is a map of strings.
    for (const v of Object.values(trigger!.metadata)) expect(typeof v).toBe('string');
    expect(trigger!.metadata.mode).toBe('SubscriptionSize');
    expect(Number(trigger!.metadata.value)).toBeGreaterThan(0);
    expect(trigger!.authenticationRef?.name).toBe(auth!.metadata.name);
  });

  it('when the worker is scaled, then KEDA targets its Deployment on the subscription it pulls', () => {
    const [scaled] = ofKind(objects, 'ScaledObject');
    const spec = scaled!.spec as {
      scaleTargetRef: { apiVersion?: string; kind?: string; name: string };
      triggers: { metadata: Record<string, string> }[];
    };
    expect(spec.scaleTargetRef).toMatchObject({ name: 'subscriber-worker' });
    expect(spec.scaleTargetRef.kind ?? 'Deployment').toBe('Deployment');
    const env = resolvedEnv(containerOf('subscriber-worker'));
    expect(spec.triggers[0]!.metadata.subscriptionName).toBe(
      `projects/${env.GOOGLE_CLOUD_PROJECT}/subscriptions/${env.PUBSUB_SUBSCRIPTION}`,
    );
    expect(env.PUBSUB_SUBSCRIPTION).toBe(`events-worker-${overlay}`);
  });

  it('when it is applied, then everything lands in its namespace, which enforces the restricted pod security', () => {
    const [ns] = ofKind(objects, 'Namespace');
    expect(ns!.metadata.name).toBe(namespace);
    expect(ns!.metadata.labels?.['pod-security.kubernetes.io/enforce']).toBe('restricted');
    for (const o of objects.filter((o) => o.kind !== 'Namespace'))
      expect([o.kind, o.metadata.name, o.metadata.namespace]).toEqual([
        o.kind,
        o.metadata.name,
        namespace,
      ]);
  });

  it('when the services run, then there is one Deployment per service, with no replica count an apply would reset', () => {
    expect(deployments.map((d) => d.metadata!.name).sort()).toEqual([...NAMES].sort());
    for (const d of deployments) {
      expect(d.spec!.replicas).toBeUndefined();
      expect(matches(d.spec!.selector.matchLabels, podLabels(d))).toBe(true);
    }
  });

  it.each(NAMES)(
    'when %s runs, then its pod and container are non-root, read-only, unprivileged and seccomp-confined',
    (name) => {
      const pod = named(deployments, name).spec!.template.spec!;
      expect(pod.securityContext).toMatchObject({
        runAsNonRoot: true,
        runAsUser: 1000,
        seccompProfile: { type: 'RuntimeDefault' },
      });
      expect(pod.hostNetwork ?? false).toBe(false);
      expect(pod.hostPID ?? false).toBe(false);
      for (const c of [...(pod.initContainers ?? []), ...pod.containers]) {
        expect(c.securityContext).toMatchObject({
          runAsNonRoot: true,
          runAsUser: 1000,
          readOnlyRootFilesystem: true,
          allowPrivilegeEscalation: false,
          capabilities: { drop: ['ALL'] },
          seccompProfile: { type: 'RuntimeDefault' },
        });
        expect(c.securityContext!.privileged ?? false).toBe(false);
        expect(c.securityContext!.capabilities!.add ?? []).toEqual([]);
        // A read-only root needs a writable /tmp.
        const tmp = c.volumeMounts?.find((m) => m.mountPath === '/tmp');
        expect(pod.volumes?.find((v) => v.name === tmp?.name)?.emptyDir).toBeDefined();
      }
    },
  );

  it.each(NAMES)(
    'when %s runs, then it listens on its port with readiness on /readyz, liveness on /healthz and bounded resources',
    (name) => {
      const c = containerOf(name);
      const port = SERVICES[name].schema.parse({}).PORT;
      expect(c.ports).toEqual([{ name: 'http', containerPort: port, protocol: 'TCP' }]);
      expect(c.env?.find((e) => e.name === 'PORT')?.value).toBe(String(port));
      expect(c.readinessProbe?.httpGet).toMatchObject({ path: '/readyz', port: 'http' });
      expect(c.livenessProbe?.httpGet).toMatchObject({ path: '/healthz', port: 'http' });
      expect(c.startupProbe?.httpGet?.path ?? '/healthz').toBe('/healthz');
      const { requests, limits } = c.resources ?? {};
      for (const r of ['cpu', 'memory']) {
        expect(requests?.[r]).toBeDefined();
        expect(limits?.[r]).toBeDefined();
        expect(quantity(requests![r]!)).toBeLessThanOrEqual(quantity(limits![r]!));
      }
    },
  );

  it.each(NAMES)(
    'when %s starts, then every variable is one its config reads and the values pass it under production rules',
    (name) => {
      const { schema } = SERVICES[name];
      const c = containerOf(name);
      const names = (c.env ?? []).map((e) => e.name);
      expect(c.envFrom ?? []).toEqual([]);
      expect(new Set(names).size).toBe(names.length);
      // NODE_OPTIONS is read by Node itself (the worker's heap cap, docs/PERFORMANCE.md).
      const known = [...Object.keys(schema.shape), 'NODE_OPTIONS'];
      expect(names.filter((n) => !known.includes(n))).toEqual([]);
      const env = resolvedEnv(c);
      delete env.NODE_OPTIONS;
      // The image sets NODE_ENV=production: API keys are required, nothing is auto-created.
      expect(schema.safeParse({ NODE_ENV: 'production', ...env }).error?.issues ?? []).toEqual([]);
      if (name !== 'publisher-api') expect(env.STORE).toBe('bigquery');
      if (name !== 'query-api') expect(env.BUS ?? 'pubsub').toBe('pubsub');
      expect(env.GOOGLE_CLOUD_PROJECT).toMatch(/^[a-z][a-z0-9-]{4,28}[a-z0-9]$/);
      expect(names).not.toContain('PUBSUB_EMULATOR_HOST');
      expect(names).not.toContain('BIGQUERY_EMULATOR_HOST');
    },
  );

  it('when the APIs start, then their keys come from the mounted Secret and the cursor secret by reference', () => {
    for (const name of NAMES.filter((n) => SERVICES[n].api)) {
      const pod = named(deployments, name).spec!.template.spec!;
      const c = containerOf(name);
      const keysFile = c.env?.find((e) => e.name === 'API_KEYS_FILE')?.value;
      const volume = pod.volumes?.find((v) => v.secret?.secretName === SECRETS.apiKeys);
      const mount = c.volumeMounts?.find((m) => m.name === volume?.name);
      expect(mount?.readOnly).toBe(true);
      const item = volume!.secret!.items?.find((i) => keysFile === `${mount!.mountPath}/${i.path}`);
      expect(item).toBeDefined();
      // Not world-readable (0440, group node via fsGroup).
      expect((volume!.secret!.defaultMode ?? 0o644) & 0o007).toBe(0);
      expect(pod.securityContext?.fsGroup).toBe(1000);
    }
    const cursor = containerOf('query-api').env?.find((e) => e.name === 'CURSOR_SECRET');
    expect(cursor?.value).toBeUndefined();
    expect(cursor?.valueFrom?.secretKeyRef?.name).toBe(SECRETS.cursor);
  });

  it('when the manifests are read, then they hold no secret values, only references', () => {
    expect(ofKind(objects, 'Secret')).toEqual([]);
    const referenced = new Set<string>();
    for (const d of deployments) {
      const pod = d.spec!.template.spec!;
      for (const v of pod.volumes ?? []) if (v.secret) referenced.add(v.secret.secretName!);
      for (const c of pod.containers) {
        for (const e of c.env ?? []) {
          if (e.valueFrom?.secretKeyRef) referenced.add(e.valueFrom.secretKeyRef.name!);
          // Keys and secrets never as literal values.
          if (/^(API_KEYS|CURSOR_SECRET)$|SECRET|PASSWORD|TOKEN|CREDENTIALS/.test(e.name))
            expect([e.name, e.value]).toEqual([e.name, undefined]);
        }
      }
    }
    expect([...referenced].sort()).toEqual([SECRETS.apiKeys, SECRETS.cursor].sort());
    for (const cm of ofKind(objects, 'ConfigMap'))
      for (const key of Object.keys(cm.data ?? {})) expect(key).not.toMatch(/SECRET|KEY/);
  });

  it('when images are pulled, then each is its service from Artifact Registry at a pinned tag, never latest', () => {
    for (const name of NAMES) {
      const image = containerOf(name).image!;
      const m =
        /^([a-z0-9-]+-docker\.pkg\.dev\/[^/]+\/[^/]+\/([^/:@]+))(?::([\w][\w.-]{0,127}))?(@sha256:[a-f0-9]{64})?$/.exec(
          image,
        );
      expect(m).not.toBeNull();
      expect(m![2]).toBe(name);
      expect(m![3] ?? m![4]).toBeDefined();
      expect(m![3]).not.toBe('latest');
      expect(containerOf(name).imagePullPolicy ?? 'IfNotPresent').not.toBe('Never');
    }
  });

  it('when the cluster drains nodes, then every Deployment has exactly one PodDisruptionBudget', () => {
    const pdbs = ofKind<IPodDisruptionBudget>(objects, 'PodDisruptionBudget');
    for (const d of deployments) {
      const covering = pdbs.filter((p) => matches(p.spec?.selector?.matchLabels, podLabels(d)));
      expect([d.metadata!.name, covering.length]).toEqual([d.metadata!.name, 1]);
      // Never blocks a drain outright: one pod may always go.
      expect(covering[0]!.spec!.maxUnavailable ?? 0).not.toBe(0);
    }
  });

  it('when load changes, then an autoscaling/v2 HPA scales each API and none fights KEDA over the worker', () => {
    const hpas = ofKind<IHorizontalPodAutoscaler>(objects, 'HorizontalPodAutoscaler');
    expect(hpas.map((h) => h.spec!.scaleTargetRef.name).sort()).toEqual([
      'publisher-api',
      'query-api',
    ]);
    for (const h of hpas) {
      expect(h.apiVersion).toBe('autoscaling/v2');
      expect(h.spec!.scaleTargetRef).toMatchObject({ apiVersion: 'apps/v1', kind: 'Deployment' });
      expect(h.spec!.minReplicas).toBeGreaterThanOrEqual(overlay === 'production' ? 2 : 1);
      expect(h.spec!.maxReplicas).toBeGreaterThan(h.spec!.minReplicas!);
      expect(h.spec!.metrics?.length).toBeGreaterThan(0);
    }
  });

  it('when a pod uses Google Cloud, then its ServiceAccount is bound to the environment’s Google service account', () => {
    const accounts = ofKind(objects, 'ServiceAccount');
    for (const d of deployments) {
      const name = d.metadata!.name as ServiceName;
      const ksa = d.spec!.template.spec!.serviceAccountName;
      expect(ksa).toBeDefined();
      const gsa = named(accounts, ksa!).metadata.annotations?.['iam.gke.io/gcp-service-account'];
      const project = resolvedEnv(containerOf(name)).GOOGLE_CLOUD_PROJECT;
      expect(gsa).toBe(`ep-${SERVICES[name].sa}-${overlay}@${project}.iam.gserviceaccount.com`);
    }
    // One Kubernetes service account per service, as on Google Cloud.
    expect(new Set(deployments.map((d) => d.spec!.template.spec!.serviceAccountName)).size).toBe(
      deployments.length,
    );
  });

  it('when traffic arrives, then ingress is denied by default, the APIs are open on their port and the worker only to the metrics scraper', () => {
    const policies = ofKind<INetworkPolicy>(objects, 'NetworkPolicy');
    const deny = policies.filter(
      (p) => Object.keys(p.spec!.podSelector).length === 0 && !p.spec!.ingress,
    );
    expect(deny).toHaveLength(1);
    expect(deny[0]!.spec!.policyTypes).toContain('Ingress');
    for (const name of NAMES) {
      const port = SERVICES[name].schema.parse({}).PORT;
      const rules = policies
        .filter((p) =>
          matches(p.spec!.podSelector.matchLabels, podLabels(named(deployments, name))),
        )
        .flatMap((p) => p.spec!.ingress ?? []);
      expect(rules.length).toBeGreaterThan(0);
      for (const r of rules) {
        expect(r.ports).toEqual([{ port, protocol: 'TCP' }]);
        if (SERVICES[name].api) continue;
        // The worker: only from the namespace of the metrics scraper, never from everywhere.
        expect(r.from?.length).toBeGreaterThan(0);
        for (const peer of r.from!) {
          expect(peer.namespaceSelector?.matchLabels?.['kubernetes.io/metadata.name']).toBeTruthy();
          expect(peer.ipBlock).toBeUndefined();
        }
      }
    }
  });

  it('when the APIs are exposed, then a Service routes to each on its named port and the worker has none', () => {
    const services = ofKind<IService>(objects, 'Service');
    expect(services.map((s) => s.metadata!.name).sort()).toEqual(['publisher-api', 'query-api']);
    for (const s of services) {
      const d = named(deployments, s.metadata!.name!);
      expect(matches(s.spec!.selector, podLabels(d))).toBe(true);
      expect(s.spec!.type ?? 'ClusterIP').toBe('ClusterIP');
      expect(s.spec!.ports).toEqual([
        {
          name: 'http',
          port: d.spec!.template.spec!.containers[0]!.ports![0]!.containerPort,
          targetPort: 'http',
          protocol: 'TCP',
        },
      ]);
    }
  });

  /** The container's environment with configMapKeyRef resolved from the rendered ConfigMaps and
   * secretKeyRef replaced by a stand-in (the Secret exists only in the cluster). */
  function resolvedEnv(c: IContainer): Record<string, string> {
    const configMaps = ofKind(objects, 'ConfigMap');
    const env: Record<string, string> = {};
    for (const e of c.env ?? []) {
      if (e.value !== undefined) env[e.name] = e.value;
      else if (e.valueFrom?.configMapKeyRef) {
        const { name, key } = e.valueFrom.configMapKeyRef;
        const value = named(configMaps, name!).data?.[key];
        if (value === undefined) throw new Error(`${e.name}: no key ${key} in ConfigMap ${name}`);
        env[e.name] = value;
      } else if (e.valueFrom?.secretKeyRef) env[e.name] = 'a secret of at least 16 bytes';
      else throw new Error(`${e.name}: unsupported value source`);
    }
    return env;
  }
});
