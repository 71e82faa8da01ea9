/**
 * `upgradeFrom` end to end at synth (issue 15): a green cluster's IAM, security group rules,
 * data volume tag, bootstrap header and outputs; the refusals with and without prior state;
 * hostile and token values; the Kubernetes refusal.
 */
import { App, TerraformLocal, TerraformOutput, TerraformStack, TerraformVariable } from "cdktf";
import { AwsProvider } from "@cdktf/provider-aws/lib/provider";
import { ManagedPostgres } from "../../constructs/aws/managed-postgres";
import { SpecValidationError, type UpgradeFrom } from "../../src/cluster-spec";
import { clusterProps, filesUnder, freshDir, synthCluster, writeStateFrom } from "./synth-helpers";
import { configLocals } from "../../src/terraform";
import { estimatedUserDataBytes, USER_DATA_LIMIT_BYTES } from "../../constructs/aws/launch";
import { props as k8sProps, synth as k8sSynth } from "../kubernetes/fixtures";

const CTX = "managed-postgres:priorState";

const UPGRADE_FROM: UpgradeFrom = {
  clusterName: "orders",
  majorVersion: 15,
  secretArn: "arn:aws:secretsmanager:eu-west-1:123456789012:secret:managed-postgres/orders-AbCdEf",
  kmsKeyArn: "arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab",
  nodeAddresses: ["10.0.1.10", "10.0.2.10", "10.0.3.10"],
  securityGroupId: "sg-0abc12345",
};

const green = (over: Partial<UpgradeFrom> = {}, props: Record<string, unknown> = {}) =>
  clusterProps("distributed", { name: "orders-v17", majorVersion: 17, upgradeFrom: { ...UPGRADE_FROM, ...over }, ...props });

/** Every string of a JSON document. */
function strings(value: unknown, out: string[] = []): string[] {
  if (typeof value === "string") out.push(value);
  else if (Array.isArray(value)) value.forEach((v) => strings(v, out));
  else if (value && typeof value === "object") for (const v of Object.values(value)) strings(v, out);
  return out;
}

/** An app writing to a fresh directory, with one stack "db" and the AWS provider. */
function awsStack(): { outdir: string; app: App; stack: TerraformStack } {
  const outdir = freshDir();
  const app = new App({ outdir });
  const stack = new TerraformStack(app, "db");
  new AwsProvider(stack, "aws", { region: "eu-west-1" });
  return { outdir, app, stack };
}

function refusal(run: () => unknown): SpecValidationError {
  try {
    run();
  } catch (e) {
    if (e instanceof SpecValidationError) return e;
    throw e;
  }
  throw new Error("synth did not refuse");
}

describe("a green cluster", () => {
  const { json } = synthCluster(green());
  const all = strings(json);

  test("its nodes' bootstrap header carries blue's cluster, major version, secret, addresses and cutover 0", () => {
    const text = all.join("\n");
    expect(text).toContain("readonly UPGRADE_FROM_CLUSTER='orders'\n");
    expect(text).toContain("readonly UPGRADE_FROM_MAJOR=15\n");
    expect(text).toContain(`readonly UPGRADE_FROM_SECRET='${UPGRADE_FROM.secretArn}'\n`);
    expect(text).toContain("readonly UPGRADE_FROM_ADDRESSES='10.0.1.10 10.0.2.10 10.0.3.10'\n");
    expect(text).toContain("readonly UPGRADE_CUTOVER=0\n");
  });

  test("cutover: true renders UPGRADE_CUTOVER=1", () => {
    const text = strings(synthCluster(green({ cutover: true })).json).join("\n");
    expect(text).toContain("readonly UPGRADE_CUTOVER=1\n");
    expect(text).not.toContain("readonly UPGRADE_CUTOVER=0\n");
  });

  test("the node role reads blue's secret only and decrypts through Secrets Manager only", () => {
    const docs = Object.values<any>(json.data.aws_iam_policy_document);
    const statements = docs.flatMap((d) => d.statement ?? []);
    const read = statements.filter((s: any) => s.resources?.includes(UPGRADE_FROM.secretArn));
    expect(read).toEqual([{ sid: "UpgradeSourceSecretRead", effect: "Allow", actions: ["secretsmanager:GetSecretValue"], resources: [UPGRADE_FROM.secretArn] }]);
    const decrypt = statements.filter((s: any) => s.resources?.includes(UPGRADE_FROM.kmsKeyArn));
    expect(decrypt).toHaveLength(1);
    expect(decrypt[0].actions).toEqual(["kms:Decrypt"]);
    expect(decrypt[0].condition).toEqual([{ test: "StringEquals", variable: "kms:ViaService", values: [expect.stringMatching(/^secretsmanager\.\$\{data\.aws_region\.[^}]+\}\.amazonaws\.com$/)] }]);
  });

  test("blue's node security group admits green's nodes on 5432 and 8008 (rules tagged as green's), and green's nodes may reach them", () => {
    const ingress = Object.values<any>(json.resource.aws_vpc_security_group_ingress_rule).filter((r) => r.security_group_id === UPGRADE_FROM.securityGroupId);
    expect(ingress.map((r) => r.from_port).sort()).toEqual([5432, 8008]);
    for (const r of ingress) {
      expect(r.referenced_security_group_id).toMatch(/^\$\{aws_security_group\.orders_security-groups_nodes_[0-9A-F]+\.id\}$/);
      expect(r.tags["managed-postgres:cluster"]).toBe("orders-v17");
    }
    const egress = Object.values<any>(json.resource.aws_vpc_security_group_egress_rule).filter((r) => r.referenced_security_group_id === UPGRADE_FROM.securityGroupId);
    expect(egress.map((r) => r.from_port).sort()).toEqual([5432, 8008]);
  });

  test("its data volumes carry managed-postgres:upgrade-from = blue", () => {
    const volumes = Object.values<any>(json.resource.aws_ebs_volume);
    expect(volumes).toHaveLength(3);
    for (const v of volumes) expect(v.tags["managed-postgres:upgrade-from"]).toBe("orders");
  });

  test("every cluster outputs its node addresses and node security group (blue's side of upgradeFrom)", () => {
    expect(json.output.orders_node_addresses.value).toHaveLength(3);
    expect(json.output.orders_node_security_group_id.value).toMatch(/^\$\{aws_security_group\.orders_security-groups_nodes_[0-9A-F]+\.id\}$/);
  });
});

describe("green's node files (the node side, src/render/upgrade.ts)", () => {
  const userData = (json: any) => Object.values<any>(configLocals(json)).filter((v) => typeof v === "string" && v.startsWith("#cloud-config"));

  test.each(["distributed", "standalone"] as const)("%s: each node gets managed-postgres-upgrade with blue's values as an S3 object, its loader, units and a fetch drop-in in the user data, within EC2's limit", (deployment) => {
    const props = clusterProps(deployment, { name: "orders-v17", majorVersion: 17, upgradeFrom: UPGRADE_FROM });
    const { json } = synthCluster(props);
    const count = deployment === "distributed" ? 3 : 1;
    const nodes = userData(json).filter((u) => u.includes("/etc/patroni/"));
    expect(nodes).toHaveLength(count);
    for (const u of nodes) {
      expect(u).toContain("path: /usr/local/sbin/managed-postgres-fetch-upgrade");
      expect(u).toContain("readonly TARGET='/usr/local/sbin/managed-postgres-upgrade'");
      expect(u).toMatch(/readonly KEY='\$\{aws_s3_object\.orders_slot-\d_upgrade-script_[0-9A-F]+\.key\}'/);
      expect(u).toContain("path: /etc/systemd/system/managed-postgres-upgrade.timer");
      expect(u).toContain("path: /etc/systemd/system/managed-postgres-upgrade.service.d/fetch.conf");
      expect(u).toContain("ExecStartPre=+/bin/sh -c 'test -x /usr/local/sbin/managed-postgres-upgrade || exec /usr/local/sbin/managed-postgres-fetch-upgrade'");
      expect(estimatedUserDataBytes(u)).toBeLessThanOrEqual(USER_DATA_LIMIT_BYTES - 4000);
    }
    const objects = Object.values<any>(json.resource.aws_s3_object).filter((o) => String(o.key).endsWith("/managed-postgres-upgrade"));
    expect(objects).toHaveLength(count);
    for (const o of objects) expect(o.key).toMatch(/^config\/orders-v17\/orders-v17-\d\/managed-postgres-upgrade$/);
    const texts = Object.values<any>(configLocals(json)).filter((v) => typeof v === "string" && v.startsWith("#!/bin/bash\n# managed-postgres-upgrade:"));
    expect(texts).toHaveLength(count);
    for (const t of texts) {
      for (const line of ["UPGRADE_FROM_CLUSTER='orders'", "UPGRADE_FROM_MAJOR=15", `UPGRADE_FROM_SECRET='${UPGRADE_FROM.secretArn}'`, "UPGRADE_FROM_ADDRESSES='10.0.1.10 10.0.2.10 10.0.3.10'", "UPGRADE_CUTOVER=0"]) {
        expect(t).toContain(`readonly ${line}\n`);
      }
    }
    // the bootstrap enables the timer with the other units
    expect(strings(json).join("\n")).toMatch(/readonly UNITS='[^']*managed-postgres-upgrade\.timer'/);
  });

  test("without upgradeFrom no node gets the upgrade script or timer", () => {
    const { json } = synthCluster(clusterProps("distributed"));
    expect(JSON.stringify(json)).not.toContain("managed-postgres-upgrade");
  });
});

describe("without upgradeFrom", () => {
  test("no UPGRADE_ variable, no upgrade-from tag, no rule on another security group", () => {
    const { json } = synthCluster(clusterProps("distributed"));
    const text = strings(json).join("\n");
    expect(text).not.toContain("UPGRADE_");
    expect(JSON.stringify(json)).not.toContain("managed-postgres:upgrade-from");
    expect(JSON.stringify(json)).not.toContain("UpgradeSource");
  });
});

describe("refusals without prior state", () => {
  test("the same major version is refused naming the field, the value and what is allowed", () => {
    const e = refusal(() => synthCluster(green({}, { majorVersion: 15 })));
    expect(e.issues.map((i) => i.path)).toEqual(["upgradeFrom.majorVersion"]);
    expect(e.message).toMatch(/`upgradeFrom\.majorVersion`: got 15 with this cluster's `majorVersion` 15; expected a version lower than 15/);
  });

  test("a downgrade is refused", () => {
    const e = refusal(() => synthCluster(green({ majorVersion: 16 }, { majorVersion: 15 })));
    expect(e.message).toMatch(/got 16 with this cluster's `majorVersion` 15/);
  });

  test("upgradeFrom with restoreFrom is refused", () => {
    const restoreFrom = { backupBucket: "orders-backups-0a1b2c", stanza: "orders", target: "latest", secretArn: UPGRADE_FROM.secretArn };
    const e = refusal(() => synthCluster(green({}, { restoreFrom })));
    expect(e.issues.map((i) => i.path)).toEqual(["upgradeFrom"]);
    expect(e.message).toMatch(/`upgradeFrom` and `restoreFrom` exclude each other/);
  });

  test.each([
    ["clusterName", "orders${var.x}"],
    ["clusterName", "orders'; id; '"],
    ["secretArn", "arn:aws:secretsmanager:eu-west-1:123456789012:secret:x%{ if true }y"],
    ["securityGroupId", "sg-0abc12345\"}"],
  ])("hostile upgradeFrom.%s %j is refused at synth, before anything is written", (field, value) => {
    const outdir = freshDir();
    const e = refusal(() => synthCluster(green({ [field]: value } as Partial<UpgradeFrom>), { outdir }));
    expect(e.issues.map((i) => i.path)).toEqual([`upgradeFrom.${field}`]);
    expect(filesUnder(outdir)).toEqual([]);
  });

  test("a hostile node address is refused naming the entry", () => {
    const e = refusal(() => synthCluster(green({ nodeAddresses: ["10.0.1.10", "$(reboot)"] })));
    expect(e.issues.map((i) => i.path)).toEqual(["upgradeFrom.nodeAddresses[1]"]);
  });
});

describe("tokens", () => {
  test("Terraform variables reach the header as references, with plan-time checks of their patterns", () => {
    const { outdir, app, stack } = awsStack();
    const secret = new TerraformVariable(stack, "blue_secret", { type: "string" });
    const addresses = new TerraformVariable(stack, "blue_addresses", { type: "list(string)" });
    const cluster = new ManagedPostgres(stack, "orders", {
      ...green(),
      upgradeFrom: { ...UPGRADE_FROM, secretArn: secret.stringValue, nodeAddresses: addresses.listValue },
    });
    app.synth();
    const json = JSON.parse(require("fs").readFileSync(`${outdir}/stacks/db/cdk.tf.json`, "utf8"));
    const text = strings(json).join("\n");
    expect(text).toContain("readonly UPGRADE_FROM_SECRET='${var.blue_secret}'\n");
    expect(text).toContain(`readonly UPGRADE_FROM_ADDRESSES='\${join(" ", var.blue_addresses)}'\n`);
    expect(cluster.deferredChecks.map((c) => c.path).sort()).toEqual(["upgradeFrom.nodeAddresses", "upgradeFrom.secretArn"]);
  });
});

/** A cycle of references between the resources and locals of a synthesized stack (Terraform's "Cycle" error), if any. */
function referenceCycle(json: any): string[] | undefined {
  const ref = /\b(local\.[A-Za-z0-9_-]+|data\.[a-z0-9_]+\.[A-Za-z0-9_-]+|aws_[a-z0-9_]+\.[A-Za-z0-9_-]+)/g;
  const edges = new Map<string, Set<string>>();
  const add = (node: string, body: unknown) => edges.set(node, new Set(strings(body).flatMap((t) => [...t.matchAll(ref)].map((m) => m[1]!)).filter((d) => d !== node)));
  for (const [type, byName] of Object.entries<any>(json.resource ?? {})) for (const [name, body] of Object.entries<any>(byName)) add(`${type}.${name}`, body);
  for (const [name, body] of Object.entries<any>(json.locals ?? {})) add(`local.${name}`, body);
  const state = new Map<string, "open" | "done">();
  const visit = (n: string, path: string[]): string[] | undefined => {
    if (state.get(n) === "open") return [...path.slice(path.indexOf(n)), n];
    if (state.get(n) === "done" || !edges.has(n)) return undefined;
    state.set(n, "open");
    for (const d of edges.get(n)!) {
      const c = visit(d, [...path, n]);
      if (c) return c;
    }
    state.set(n, "done");
    return undefined;
  };
  for (const n of edges.keys()) {
    const c = visit(n, []);
    if (c) return c;
  }
  return undefined;
}

// Found applying the twin's upgrade fixture (test/twin/apps/upgrade): the plan-time checks of
// blue's upgradeTo (green's slot address) and green's upgradeFrom (blue's slot addresses) were
// preconditions of each cluster's slot-0 ENI, so blue's ENI referenced green's and green's blue's.
describe("blue and green in one stack, each referencing the other's slot addresses (docs/UPGRADING.md step 2)", () => {
  const { outdir, app, stack } = awsStack();
  const greenSlot0 = new TerraformLocal(stack, "green-slot-0-address", "");
  const blue = new ManagedPostgres(stack, "orders", { ...clusterProps("distributed", { majorVersion: 15 }), upgradeTo: { nodeAddresses: [greenSlot0.asString] } });
  const greenCluster = new ManagedPostgres(stack, "orders-v17", {
    ...clusterProps("standalone", { name: "orders-v17", majorVersion: 17 }),
    upgradeFrom: { ...UPGRADE_FROM, secretArn: blue.secretArn, kmsKeyArn: blue.kmsKeyArn, nodeAddresses: blue.slots.map((x) => x.privateIp), securityGroupId: blue.securityGroups.nodes.id },
  });
  greenSlot0.expression = greenCluster.slots[0]!.privateIp;
  app.synth();
  const json = JSON.parse(require("fs").readFileSync(`${outdir}/stacks/db/cdk.tf.json`, "utf8"));

  test("no reference cycle (Terraform would refuse to plan)", () => {
    expect(referenceCycle(json)).toBeUndefined();
  });

  test("the checks of the other cluster's values guard slot 0's launch template; the ENIs reference no other cluster", () => {
    expect(blue.deferredChecks.map((c) => c.path)).toContain("upgradeTo.nodeAddresses[0]");
    expect(greenCluster.deferredChecks.map((c) => c.path)).toEqual(expect.arrayContaining(["upgradeFrom.secretArn", "upgradeFrom.nodeAddresses[0]", "upgradeFrom.securityGroupId"]));
    const enis = json.resource.aws_network_interface as Record<string, any>;
    for (const [name, eni] of Object.entries(enis)) {
      const other = name.startsWith("orders-v17_") ? /aws_network_interface\.orders_|aws_secretsmanager_secret\.orders_/ : /local\.green|orders-v17_/;
      expect({ name, refs: strings(eni).filter((t) => other.test(t)) }).toEqual({ name, refs: [] });
    }
    const templates = json.resource.aws_launch_template as Record<string, any>;
    const conditions = (prefix: string) => Object.entries(templates).filter(([n]) => n.startsWith(prefix)).flatMap(([, t]) => (t.lifecycle?.precondition ?? []).map((p: any) => String(p.condition)));
    expect(conditions("orders_slot-0_").some((c) => c.includes("local.green-slot-0-address"))).toBe(true);
    expect(conditions("orders-v17_slot-0_").some((c) => c.includes("aws_network_interface.orders_slot-0_"))).toBe(true);
  });
});

describe("blue's endpoints follow green: green admits blue's PgBouncer hosts on its endpoint ports (upgradeFrom.poolerSecurityGroupId)", () => {
  const BLUE_POOLERS = "sg-0fed98765";
  const rules = (json: any, kind: "ingress" | "egress") => Object.values<any>(json.resource[`aws_vpc_security_group_${kind}_rule`]);
  const mentions = (json: any) => [...rules(json, "ingress"), ...rules(json, "egress")].filter((r) => strings(r).some((t) => t.includes(BLUE_POOLERS)));

  test.each([
    ["distributed", "endpoint", [5432, 5433]],
    ["standalone", "nodes", [6432]],
  ] as const)("%s green: ingress on its %s group from blue's PgBouncer group and blue's egress to it, on %j only, tagged as green's", (deployment, group, ports) => {
    const props = clusterProps(deployment, { name: "orders-v17", majorVersion: 17, upgradeFrom: { ...UPGRADE_FROM, poolerSecurityGroupId: BLUE_POOLERS } });
    const { json } = synthCluster(props);
    const target = new RegExp(`^\\$\\{aws_security_group\\.orders_security-groups_${group}_[0-9A-F]+\\.id\\}$`);
    const ingress = rules(json, "ingress").filter((r) => r.referenced_security_group_id === BLUE_POOLERS);
    const egress = rules(json, "egress").filter((r) => r.security_group_id === BLUE_POOLERS);
    for (const [list, own, peer] of [[ingress, "security_group_id", "referenced_security_group_id"], [egress, "referenced_security_group_id", "security_group_id"]] as const) {
      expect(list.map((r) => r.from_port).sort()).toEqual([...ports]);
      for (const r of list) {
        expect([r.ip_protocol, r.to_port, r[peer], r.cidr_ipv4, r.prefix_list_id]).toEqual(["tcp", r.from_port, BLUE_POOLERS, undefined, undefined]);
        expect(r[own]).toMatch(target);
        expect(r.tags["managed-postgres:cluster"]).toBe("orders-v17");
        expect(r.description).toMatch(/upgradeFrom/);
      }
    }
    // nothing else mentions blue's PgBouncer group, and nothing else changes
    expect(mentions(json)).toHaveLength(2 * ports.length);
    const without = synthCluster(clusterProps(deployment, { name: "orders-v17", majorVersion: 17, upgradeFrom: UPGRADE_FROM })).json;
    expect(rules(json, "ingress").length + rules(json, "egress").length).toBe(rules(without, "ingress").length + rules(without, "egress").length + 2 * ports.length);
    expect(mentions(without)).toEqual([]);
  });

  test.each([
    ["distributed", "pooler", /the pooler instances/],
    ["standalone", "nodes", /the database node: PgBouncer runs on it/],
  ] as const)("a %s cluster outputs its PgBouncer hosts' group (%s) as <id>_pooler_security_group_id, and exposes it as poolerSecurityGroupId", (deployment, group, what) => {
    const { outdir, app, stack } = awsStack();
    const cluster = new ManagedPostgres(stack, "orders", clusterProps(deployment, { majorVersion: 15 }));
    new TerraformOutput(stack, "probe", { value: cluster.poolerSecurityGroupId });
    app.synth();
    const json = JSON.parse(require("fs").readFileSync(`${outdir}/stacks/db/cdk.tf.json`, "utf8"));
    const out = json.output.orders_pooler_security_group_id;
    expect(out.value).toMatch(new RegExp(`^\\$\\{aws_security_group\\.orders_security-groups_${group}_[0-9A-F]+\\.id\\}$`));
    expect(out.description).toMatch(what);
    expect(out.description).toMatch(/a green cluster's upgradeFrom\.poolerSecurityGroupId/);
    expect(json.output.probe.value).toBe(out.value);
  });
});

// The full blue/green wiring of docs/UPGRADING.md step 2, both distributed: blue's upgradeTo names
// green's node addresses and endpoints, green's upgradeFrom blue's secret, key, addresses and both
// security groups. Green is declared second, so blue reads green's values through locals.
describe("blue and green in one stack with blue's endpoints following green (upgradeTo endpoints, upgradeFrom.poolerSecurityGroupId)", () => {
  const { outdir, app, stack } = awsStack();
  const local = (id: string) => new TerraformLocal(stack, id, "");
  const greenAddresses = [0, 1, 2].map((i) => local(`green-slot-${i}-address`));
  const greenEndpoint = local("green-endpoint");
  const blue = new ManagedPostgres(stack, "orders", {
    ...clusterProps("distributed", { majorVersion: 15 }),
    upgradeTo: { nodeAddresses: greenAddresses.map((l) => l.asString), readWriteEndpoint: greenEndpoint.asString, readWritePort: 5432, readOnlyEndpoint: greenEndpoint.asString, readOnlyPort: 5433 },
  });
  const greenCluster = new ManagedPostgres(stack, "orders-v17", {
    ...clusterProps("distributed", { name: "orders-v17", majorVersion: 17 }),
    upgradeFrom: {
      ...UPGRADE_FROM,
      secretArn: blue.secretArn,
      kmsKeyArn: blue.kmsKeyArn,
      nodeAddresses: blue.slots.map((x) => x.privateIp),
      securityGroupId: blue.securityGroups.nodes.id,
      poolerSecurityGroupId: blue.poolerSecurityGroupId,
    },
  });
  greenAddresses.forEach((l, i) => (l.expression = greenCluster.slots[i]!.privateIp));
  greenEndpoint.expression = greenCluster.readWriteEndpoint;
  app.synth();
  const json = JSON.parse(require("fs").readFileSync(`${outdir}/stacks/db/cdk.tf.json`, "utf8"));

  test("no reference cycle (Terraform would refuse to plan)", () => {
    expect(referenceCycle(json)).toBeUndefined();
  });

  test("the token endpoints are checked at plan time on blue's slot 0 launch template; green's rules reference blue's pooler group", () => {
    expect(blue.deferredChecks.map((c) => c.path)).toEqual(expect.arrayContaining(["upgradeTo.readWriteEndpoint", "upgradeTo.readOnlyEndpoint"]));
    expect(greenCluster.deferredChecks.map((c) => c.path)).toContain("upgradeFrom.poolerSecurityGroupId");
    const templates = json.resource.aws_launch_template as Record<string, any>;
    const conditions = Object.entries(templates)
      .filter(([n]) => n.startsWith("orders_slot-0_"))
      .flatMap(([, t]) => (t.lifecycle?.precondition ?? []).map((p: any) => String(p.condition)));
    expect(conditions.filter((c) => c.includes("local.green-endpoint") && c.includes("<= 253"))).toHaveLength(2);
    const ingress = Object.values<any>(json.resource.aws_vpc_security_group_ingress_rule).filter((r) => /orders_security-groups_pooler_/.test(String(r.referenced_security_group_id)) && /orders-v17_/.test(String(r.security_group_id)));
    expect(ingress.map((r) => [r.from_port, String(r.security_group_id).replace(/_[0-9A-F]+\.id\}$/, "")]).sort()).toEqual([
      [5432, "${aws_security_group.orders-v17_security-groups_endpoint"],
      [5433, "${aws_security_group.orders-v17_security-groups_endpoint"],
    ]);
  });
});

/** Green's and blue's data volumes in one document (blue's renamed: both constructs have the id `orders`). */
function withBlue(greenJson: any, blueJson: any): any {
  const blueVolumes = Object.fromEntries(Object.entries<any>(blueJson.resource.aws_ebs_volume).map(([k, v]) => [`blue_${k}`, v]));
  return { resource: { ...greenJson.resource, aws_ebs_volume: { ...greenJson.resource.aws_ebs_volume, ...blueVolumes } } };
}

describe("prior state", () => {
  const blueState = () => writeStateFrom(synthCluster(clusterProps("distributed", { majorVersion: 15 })).json);

  test("green's first deployment with blue in the prior state synthesizes", () => {
    expect(() => synthCluster(green(), { context: { [CTX]: blueState() } })).not.toThrow();
  });

  test("a blue the prior state does not hold is refused", () => {
    const state = writeStateFrom(synthCluster(clusterProps("distributed", { name: "billing" })).json);
    const e = refusal(() => synthCluster(green(), { context: { [CTX]: state } }));
    expect(e.message).toMatch(/MP-SAFE-UPGRADE-SOURCE.*`upgradeFrom\.clusterName`: got "orders", which the prior state .* does not hold; expected one of its clusters \("billing"\)/s);
  });

  test("upgradeFrom added to a deployed cluster is refused", () => {
    const deployed = synthCluster(clusterProps("distributed", { name: "orders-v17" })).json;
    const blue = synthCluster(clusterProps("distributed", { majorVersion: 15 })).json;
    const both = withBlue(deployed, blue);
    const e = refusal(() => synthCluster(green(), { context: { [CTX]: writeStateFrom(both) } }));
    expect(e.message).toMatch(/MP-SAFE-UPGRADE-INTO-DEPLOYED.*"orders-v17" is deployed .* without `upgradeFrom`/s);
  });

  test("a deployed green (synthesized with upgradeFrom) may set cutover: true", () => {
    const deployedGreen = synthCluster(green()).json;
    const blue = synthCluster(clusterProps("distributed", { majorVersion: 15 })).json;
    const both = withBlue(deployedGreen, blue);
    expect(() => synthCluster(green({ cutover: true }), { context: { [CTX]: writeStateFrom(both) } })).not.toThrow();
  });
});

describe("blue's upgradeTo", () => {
  test("blue's nodes' patroni.yml admits the superuser from each green node address (tokens of green's ENIs allowed)", () => {
    const { json } = synthCluster(clusterProps("distributed", { majorVersion: 15, upgradeTo: { nodeAddresses: ["10.0.1.20", "10.0.2.20", "10.0.3.20"] } }));
    const nodes = Object.values<any>(configLocals(json)).filter((v) => typeof v === "string" && v.startsWith("#cloud-config") && v.includes("/etc/patroni/"));
    expect(nodes).toHaveLength(3);
    for (const u of nodes) for (const a of ["10.0.1.20", "10.0.2.20", "10.0.3.20"]) expect(u).toContain(`hostssl all postgres ${a}/32 scram-sha-256`);
  });

  test("a list token is refused (one rule per address); a hostile address is refused naming the entry", () => {
    const { stack } = awsStack();
    const green = new TerraformVariable(stack, "green_addresses", { type: "list(string)" });
    const e = refusal(() => new ManagedPostgres(stack, "orders", { ...clusterProps("distributed", { majorVersion: 15 }), upgradeTo: { nodeAddresses: green.listValue } }));
    expect(e.issues.map((i) => i.path)).toEqual(["upgradeTo.nodeAddresses"]);
    expect(e.message).toMatch(/must be a list literal \(its items may be tokens\)/);
    const h = refusal(() => synthCluster(clusterProps("distributed", { majorVersion: 15, upgradeTo: { nodeAddresses: ["10.0.1.20/0 trust"] } })));
    expect(h.issues.map((i) => i.path)).toEqual(["upgradeTo.nodeAddresses[0]"]);
  });
});

describe("Kubernetes", () => {
  test("upgradeFrom and upgradeTo are refused as not supported on Kubernetes yet", () => {
    const e = refusal(() => k8sSynth(k8sProps({ majorVersion: 17, upgradeFrom: UPGRADE_FROM })));
    expect(e.issues.map((i) => i.path)).toContain("upgradeFrom");
    expect(e.message).toMatch(/`upgradeFrom`: not supported on Kubernetes yet/);
    const t = refusal(() => k8sSynth(k8sProps({ upgradeTo: { nodeAddresses: ["10.0.1.20"] } })));
    expect(t.issues.map((i) => i.path)).toContain("upgradeTo");
    expect(t.message).toMatch(/`upgradeTo`: not supported on Kubernetes yet/);
  });
});
