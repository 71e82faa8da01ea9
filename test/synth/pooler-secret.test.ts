/**
 * The PgBouncer tier's own secret and the published CA certificate, as synthesized: who names
 * what, and that the new references (node configuration → load balancer) close no cycle.
 */
import { props, resources, synthCluster } from "./helpers";
import { configLocals } from "../../src/terraform";

const s = synthCluster(props("distributed"));
const json = s.text;
const ref = (type: string, pattern: RegExp, attr: string) => {
  const ids = Object.keys(s.resource[type] ?? {}).filter((id) => pattern.test(id));
  expect(ids).toHaveLength(1);
  return `\${${type}.${ids[0]}.${attr}}`;
};
const locals = (pattern: RegExp) => Object.entries(configLocals(JSON.parse(json)) as Record<string, string>).filter(([id]) => pattern.test(id));

test("a second secret, managed-postgres/<cluster>/pooler, encrypted with the cluster key, without a version in Terraform", () => {
  const pooler = resources(s, "aws_secretsmanager_secret").find(([id]) => id.includes("pooler-secret"))![1];
  expect(pooler.name).toBe("managed-postgres/orders/pooler");
  expect(pooler.kms_key_id).toMatch(/^\$\{aws_kms_key\.[^.]+\.arn\}$/);
  expect(s.resource.aws_secretsmanager_secret_version).toBeUndefined();
});

test("the nodes' bootstrap names both secrets, the load balancer's DNS name and the CA parameter; the pooler's names its own secret only", () => {
  const clusterSecret = ref("aws_secretsmanager_secret", /^orders_secret_[0-9A-F]{8}$/, "arn");
  const poolerSecret = ref("aws_secretsmanager_secret", /pooler-secret/, "arn");
  const dns = ref("aws_lb", /load-balancer/, "dns_name");
  const nodeScripts = locals(/slot-\d_bootstrap-script-text/);
  expect(nodeScripts).toHaveLength(3);
  for (const [, text] of nodeScripts) {
    expect(text).toContain(`readonly SECRET_ID='${clusterSecret}'`);
    expect(text).toContain(`readonly POOLER_SECRET_ID='${poolerSecret}'`);
    expect(text).toContain(`readonly POOLER_CERT_NAMES='${dns}'`);
    expect(text).toContain("readonly CA_PARAMETER='/managed-postgres/orders/ca-certificate'");
  }
  const [[, poolerUserData]] = locals(/pooler_launch-template-user-data/);
  expect(poolerUserData).toContain(`readonly SECRET_ID='${poolerSecret}'`);
  expect(poolerUserData).not.toContain(clusterSecret);
  expect(poolerUserData).not.toContain("ca_key_pem");
});

test("the CA certificate parameter is a String that Terraform creates once and leaves to the nodes", () => {
  const [, p] = resources(s, "aws_ssm_parameter")[0]!;
  expect(p).toMatchObject({ name: "/managed-postgres/orders/ca-certificate", type: "String", tier: "Standard", lifecycle: { ignore_changes: ["value"] } });
  expect(p.value).toMatch(/^pending: /);
  expect(s.output.orders_ca_certificate_parameter.value).toBe("/managed-postgres/orders/ca-certificate");
});

test("no reference cycle among resources, data sources and locals (Terraform would refuse the plan)", () => {
  const doc = JSON.parse(json);
  const nodes = new Map<string, unknown>();
  for (const [type, byId] of Object.entries(doc.resource ?? {})) for (const [id, body] of Object.entries(byId as object)) nodes.set(`${type}.${id}`, body);
  for (const [type, byId] of Object.entries(doc.data ?? {})) for (const [id, body] of Object.entries(byId as object)) nodes.set(`data.${type}.${id}`, body);
  for (const [id, body] of Object.entries(doc.locals ?? {})) nodes.set(`local.${id}`, body);
  const edges = new Map<string, string[]>();
  for (const [name, body] of nodes) {
    const text = JSON.stringify(body);
    const deps = new Set<string>();
    for (const m of text.matchAll(/\b((?:data\.)?[a-z0-9_]+\.[A-Za-z0-9_-]+|local\.[A-Za-z0-9_-]+)/g)) if (nodes.has(m[1]!) && m[1] !== name) deps.add(m[1]!);
    edges.set(name, [...deps]);
  }
  const state = new Map<string, number>();
  const cycle: string[] = [];
  const visit = (n: string, path: string[]): boolean => {
    if (state.get(n) === 2) return false;
    if (state.get(n) === 1) return cycle.push(...path, n) > 0;
    state.set(n, 1);
    for (const d of edges.get(n) ?? []) if (visit(d, [...path, n])) return true;
    state.set(n, 2);
    return false;
  };
  for (const n of nodes.keys()) if (visit(n, [])) break;
  expect(cycle).toEqual([]);
  // the check sees the new edge: a node's bootstrap text depends on the load balancer (directly, or through the lines the slots share)
  const script = [...nodes.keys()].find((n) => /slot-0_bootstrap-script-text/.test(n))!;
  const reached = new Set<string>([script]);
  for (const n of reached) for (const d of edges.get(n) ?? []) reached.add(d);
  expect([...reached].some((d) => d.startsWith("aws_lb."))).toBe(true);
});
