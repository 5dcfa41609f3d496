import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { Registry } from 'prom-client';
import {
  createHttpMetrics,
  createMessagingMetrics,
  createMetricsRegistry,
  registerMessagingGauges,
} from '@app/observability';
import { UploadMetrics } from '../apps/upload-status/src/uploads/upload-metrics';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { APPS, generated, RULE_FILES } from './monitoring';

/**
 * Renders every k8s overlay with kustomize and validates each object against the
 * Kubernetes schemas, then checks the house rules the schemas cannot express; validates
 * docker-compose.yml with the compose tool. Exits non-zero on the first kind of failure.
 */
const root = join(__dirname, '..', '..');
const problems: string[] = [];

interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string };
  spec?: Record<string, unknown>;
}

interface Container {
  name: string;
  image?: string;
  resources?: { requests?: object; limits?: object };
  securityContext?: { readOnlyRootFilesystem?: boolean; allowPrivilegeEscalation?: boolean };
  livenessProbe?: unknown;
  readinessProbe?: unknown;
  startupProbe?: unknown;
  env?: Array<{ name: string; value?: string }>;
}

function validateSchema(o: K8sObject, where: string): void {
  let Model: new (o: unknown) => { validate(): void };
  try {
    // The model's module path follows apiVersion and kind, so it is only known at run time.
    const pkg = o.apiVersion.startsWith('monitoring.coreos.com/')
      ? '@kubernetes-models/prometheus-operator'
      : 'kubernetes-models';
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const mod = require(`${pkg}/${o.apiVersion}/${o.kind}`) as Record<string, typeof Model>;
    Model = mod[o.kind];
  } catch {
    problems.push(`${where}: no Kubernetes schema for ${o.apiVersion} ${o.kind}`);
    return;
  }
  try {
    new Model(o).validate();
  } catch (err) {
    problems.push(`${where}: ${(err as Error).message}`);
  }
}

function checkPodRules(o: K8sObject, where: string): void {
  const template = (
    o.spec as {
      template?: {
        spec?: { securityContext?: { runAsNonRoot?: boolean }; containers?: Container[] };
      };
    }
  )?.template;
  const pod = template?.spec;
  if (!pod) return;
  if (pod.securityContext?.runAsNonRoot !== true)
    problems.push(`${where}: pod must set runAsNonRoot`);
  for (const c of pod.containers ?? []) {
    const at = `${where} container ${c.name}`;
    if (!c.resources?.requests || !c.resources?.limits)
      problems.push(`${at}: needs resource requests and limits`);
    if (c.securityContext?.readOnlyRootFilesystem !== true)
      problems.push(`${at}: root filesystem must be read-only`);
    if (c.securityContext?.allowPrivilegeEscalation !== false)
      problems.push(`${at}: must forbid privilege escalation`);
    if (o.kind === 'Deployment' && (!c.livenessProbe || !c.readinessProbe || !c.startupProbe)) {
      problems.push(`${at}: needs liveness, readiness and startup probes`);
    }
    for (const e of c.env ?? []) {
      if (
        /PASSWORD|PASSPHRASE|SECRET|TOKEN|ASSERTION|API_KEYS|ENCRYPTION_KEYS|LINK_SECRET|SEAL_P12$|DATABASE_URL|RABBITMQ_URL/.test(
          e.name,
        ) &&
        e.value !== undefined
      ) {
        problems.push(`${at}: ${e.name} must come from a Secret, not a literal`);
      }
    }
  }
}

/**
 * What a release needs that the schemas cannot say: an HPA owns its Deployment's replica
 * count, each app runs as its own ServiceAccount with no token, replicas are spread, every
 * release has a migration Job of its own, prod runs images by digest, and the namespace
 * denies traffic no policy allows.
 */
function checkReleaseRules(overlay: string, objects: K8sObject[], name: string): void {
  const scaled = new Set(
    objects
      .filter((o) => o.kind === 'HorizontalPodAutoscaler')
      .map((o) => (o.spec as { scaleTargetRef?: { name?: string } })?.scaleTargetRef?.name),
  );
  const accounts = new Map(
    objects
      .filter((o) => o.kind === 'ServiceAccount')
      .map((o) => [o.metadata.name, o as K8sObject & { automountServiceAccountToken?: boolean }]),
  );
  for (const o of objects) {
    const where = `${name}: ${o.kind}/${o.metadata?.name}`;
    const pod = (
      o.spec as {
        template?: {
          spec?: {
            serviceAccountName?: string;
            automountServiceAccountToken?: boolean;
            topologySpreadConstraints?: unknown[];
            containers?: Container[];
          };
        };
      }
    )?.template?.spec;
    if (o.kind === 'Deployment' && scaled.has(o.metadata.name) && o.spec?.replicas !== undefined)
      problems.push(`${where}: sets replicas under an HPA (the HPA owns the count)`);
    if (o.kind === 'Deployment' && APPS.includes(o.metadata.name)) {
      const account = accounts.get(pod?.serviceAccountName ?? '');
      if (!account || pod?.serviceAccountName !== o.metadata.name)
        problems.push(`${where}: needs a ServiceAccount of its own`);
      else if (
        account.automountServiceAccountToken !== false ||
        pod?.automountServiceAccountToken !== false
      )
        problems.push(`${where}: must not mount a service account token`);
      if (!pod?.topologySpreadConstraints?.length)
        problems.push(`${where}: needs topology spread constraints`);
    }
    if (o.kind === 'Job' && !/^migrate-.+/.test(o.metadata.name))
      problems.push(`${where}: the migration Job's name must carry the release`);
    if (overlay === 'prod')
      for (const c of pod?.containers ?? [])
        if (!c.image?.includes('@sha256:'))
          problems.push(`${where} container ${c.name}: prod images are pinned by digest`);
  }
  const denyAll = objects.some(
    (o) =>
      o.kind === 'NetworkPolicy' &&
      Object.keys((o.spec as { podSelector?: object })?.podSelector ?? { x: 1 }).length === 0 &&
      !(o.spec as { ingress?: unknown })?.ingress &&
      !(o.spec as { egress?: unknown })?.egress,
  );
  if (!denyAll) problems.push(`${name}: needs a default-deny NetworkPolicy`);
}

function checkOverlay(dir: string): void {
  const name = `k8s/overlays/${dir}`;
  let rendered: string;
  try {
    rendered = execFileSync('kubectl', ['kustomize', join(root, name)], { encoding: 'utf8' });
  } catch (err) {
    problems.push(`${name}: kustomize failed: ${(err as Error).message}`);
    return;
  }
  const objects = parseAllDocuments(rendered).map((d) => d.toJS() as K8sObject);
  const kinds = new Map<string, number>();
  for (const o of objects) {
    const where = `${name}: ${o.kind}/${o.metadata?.name}`;
    kinds.set(o.kind, (kinds.get(o.kind) ?? 0) + 1);
    validateSchema(o, where);
    checkPodRules(o, where);
    if (o.kind === 'Secret') problems.push(`${where}: Secrets are referenced, never committed`);
  }
  checkReleaseRules(dir, objects, name);
  for (const [kind, min] of Object.entries({
    Deployment: 6,
    Service: 6,
    PodDisruptionBudget: 6,
    HorizontalPodAutoscaler: 5,
    Job: 1,
    ConfigMap: 1,
    ServiceAccount: 6,
    NetworkPolicy: 4,
    PodMonitor: 6,
    PrometheusRule: 1,
  })) {
    if ((kinds.get(kind) ?? 0) < min)
      problems.push(`${name}: expected at least ${min} ${kind}, found ${kinds.get(kind) ?? 0}`);
  }
  console.log(`${name}: ${objects.length} objects rendered and validated`);
}

function checkCompose(): void {
  const file = join(root, 'docker-compose.yml');
  for (const cmd of [
    ['docker-compose', '-f', file, 'config', '-q'],
    ['docker', 'compose', '-f', file, 'config', '-q'],
  ]) {
    try {
      execFileSync(cmd[0], cmd.slice(1), {
        stdio: ['ignore', 'ignore', 'pipe'],
        env: {
          ...process.env,
          DEV_API_KEY: '',
          LINK_SECRET: process.env.LINK_SECRET ?? 'x'.repeat(32),
          OAUTH_STATE_SECRET: process.env.OAUTH_STATE_SECRET ?? 'x'.repeat(32),
          SEAL_P12: process.env.SEAL_P12 ?? 'eA==',
        },
      });
      console.log(
        `docker-compose.yml: valid (${cmd.slice(0, cmd[0] === 'docker' ? 2 : 1).join(' ')})`,
      );
      return;
    } catch (err) {
      const e = err as { code?: string; stderr?: Buffer };
      if (e.code === 'ENOENT' || /unknown command|is not a docker command/.test(String(e.stderr)))
        continue;
      problems.push(`docker-compose.yml: ${String(e.stderr ?? (err as Error).message)}`);
      return;
    }
  }
  problems.push(
    'docker-compose.yml: no compose tool found to validate it (install docker-compose)',
  );
}

/**
 * Alert rules and dashboards must name metrics the apps really export: every
 * `upload_status_*`, HTTP, RPC, event and outbox series they read is checked against the
 * registries that define them.
 */
function checkMonitoring(): void {
  const dir = join(root, 'k8s', 'monitoring');
  if (!existsSync(dir)) return;
  const registry = new Registry();
  new UploadMetrics(registry);
  createMessagingMetrics(registry);
  createHttpMetrics(registry);
  registerMessagingGauges(registry, {
    outbox: () => Promise.resolve({ pending: 0, oldestAgeSeconds: 0 }),
    deadLetters: () => Promise.resolve(0),
  });
  const known = new Set(
    [...registry.getMetricsAsArray(), ...createMetricsRegistry('check').getMetricsAsArray()].map(
      (m) => m.name,
    ),
  );
  const checkExpr = (where: string, expr: unknown) => {
    if (typeof expr !== 'string' || !expr.trim()) return problems.push(`${where}: no expression`);
    const names = /\b(platform_[a-z_]+)/g;
    for (const [name] of expr.matchAll(names)) {
      const base = name.replace(/_(bucket|sum|count)$/, '');
      if (!known.has(base)) problems.push(`${where}: ${name} is not a metric the platform exports`);
    }
  };
  const files = [
    ...readdirSync(dir),
    ...readdirSync(join(dir, 'dashboards')).map((f) => `dashboards/${f}`),
  ];
  const alerts: string[] = [];
  for (const file of files) {
    const path = join(dir, file);
    const where = `k8s/monitoring/${file}`;
    if (file.endsWith('.rules.yml')) {
      const doc = parseAllDocuments(readFileSync(path, 'utf8'))[0]?.toJS() as {
        groups?: Array<{ name?: string; rules?: Array<Record<string, unknown>> }>;
      };
      const rules = doc?.groups?.flatMap((g) => g.rules ?? []) ?? [];
      if (rules.length === 0) problems.push(`${where}: no rules`);
      for (const r of rules) {
        const at = `${where}: ${typeof r.alert === 'string' ? r.alert : '(unnamed)'}`;
        if (typeof r.alert !== 'string') problems.push(`${at}: not an alert`);
        else alerts.push(r.alert);
        if (!(r.labels as { severity?: string })?.severity)
          problems.push(`${at}: needs a severity label`);
        if (!(r.annotations as { summary?: string })?.summary)
          problems.push(`${at}: needs a summary`);
        checkExpr(at, r.expr);
      }
      console.log(`${where}: ${rules.length} alert rules checked`);
    } else if (file.endsWith('.json')) {
      const dash = JSON.parse(readFileSync(path, 'utf8')) as {
        panels?: Array<{ title?: string; targets?: Array<{ expr?: string }> }>;
      };
      const panels = dash.panels ?? [];
      for (const p of panels)
        for (const t of p.targets ?? []) checkExpr(`${where}: panel "${p.title}"`, t.expr);
      console.log(`${where}: ${panels.length} dashboard panels checked`);
    }
  }
  for (const [file, text] of generated())
    if (!existsSync(join(dir, file)) || readFileSync(join(dir, file), 'utf8') !== text)
      problems.push(`k8s/monitoring/${file}: out of date (run npm run monitoring:sync)`);
  checkRuleTests(dir, alerts);
}

/** promtool's own checks and unit tests; every alert must have a test that names it. */
function checkRuleTests(dir: string, alerts: string[]): void {
  const testDir = join(dir, 'tests');
  const tests = readdirSync(testDir).filter((f) => f.endsWith('.test.yml'));
  const tested = new Set(
    tests.flatMap((f) =>
      [...readFileSync(join(testDir, f), 'utf8').matchAll(/alertname:\s*(\w+)/g)].map((m) => m[1]),
    ),
  );
  for (const a of alerts)
    if (!tested.has(a)) problems.push(`alert ${a}: no promtool test names it`);
  const run = (args: string[], cwd: string) => {
    try {
      execFileSync('promtool', args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
      return true;
    } catch (err) {
      const e = err as { code?: string; stdout?: Buffer; stderr?: Buffer };
      problems.push(
        e.code === 'ENOENT'
          ? 'promtool not found: install Prometheus (Debian: apt-get install prometheus)'
          : `promtool ${args[0]} ${args[1]}: ${String(e.stdout ?? '')}${String(e.stderr ?? '')}`,
      );
      return false;
    }
  };
  if (run(['check', 'rules', ...RULE_FILES], dir) && run(['test', 'rules', ...tests], testDir))
    console.log(
      `promtool: ${RULE_FILES.length} rule files checked, ${tests.length} test files passed (${alerts.length} alerts, each tested)`,
    );
}

const overlays = readdirSync(join(root, 'k8s', 'overlays')).filter((d) =>
  existsSync(join(root, 'k8s', 'overlays', d, 'kustomization.yaml')),
);
overlays.forEach(checkOverlay);
checkMonitoring();
checkCompose();
if (problems.length) {
  console.error(`deployment checks failed:\n  - ${problems.join('\n  - ')}`);
  process.exit(1);
}
console.log('deployment checks passed');
