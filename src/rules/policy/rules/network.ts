/**
 * Network: security groups (descriptions, no ingress from anywhere) and load balancers
 * (internal, deletion protection).
 */
import { blocks, isTrue, nonEmpty, strings } from "../../../terraform";
import type { PolicyRule, RuleResult, TfResource } from "../types";

const OK: RuleResult = { status: "compliant" };
const NA: RuleResult = { status: "not-applicable" };
const bad = (detail: string): RuleResult => ({ status: "non-compliant", detail });

/** The AWS provider's default description, which says nothing. */
const DEFAULT_SG_DESCRIPTION = "Managed by Terraform";
const WORLD = ["0.0.0.0/0", "::/0"];

/** MP-SG-1: security groups describe their purpose. */
export const SG_DESCRIPTION: PolicyRule = {
  id: "MP-SG-1",
  level: "warning",
  info: "Security groups have a description saying what they protect.",
  explanation:
    "A reviewer reading a plan or the console must tell the database, pooler and load balancer groups apart. Set description (not the provider's default \"Managed by Terraform\").",
  resourceTypes: ["aws_security_group"],
  checkov: ["CKV_AWS_23"],
  fsbp: [],
  evaluate(sg) {
    const d = sg.config.description;
    return nonEmpty(d) && d !== DEFAULT_SG_DESCRIPTION ? OK : bad("description is missing or the provider default");
  },
};

function ruleList(r: TfResource): { kind: "ingress" | "egress"; rule: Record<string, unknown> }[] {
  switch (r.type) {
    case "aws_security_group":
      return [
        ...blocks(r.config.ingress).map((rule) => ({ kind: "ingress" as const, rule })),
        ...blocks(r.config.egress).map((rule) => ({ kind: "egress" as const, rule })),
      ];
    case "aws_security_group_rule":
      return [{ kind: r.config.type === "egress" ? "egress" : "ingress", rule: r.config as Record<string, unknown> }];
    case "aws_vpc_security_group_ingress_rule":
      return [{ kind: "ingress", rule: r.config as Record<string, unknown> }];
    case "aws_vpc_security_group_egress_rule":
      return [{ kind: "egress", rule: r.config as Record<string, unknown> }];
    default:
      return [];
  }
}

const SG_RULE_TYPES = ["aws_security_group", "aws_security_group_rule", "aws_vpc_security_group_ingress_rule", "aws_vpc_security_group_egress_rule"];

/** MP-SG-2: every rule has a description. */
export const SG_RULE_DESCRIPTION: PolicyRule = {
  id: "MP-SG-2",
  level: "warning",
  info: "Security group rules (inline or separate) have a description saying who may connect and why.",
  explanation: "Each opening should say which traffic it is for (clients, replication, etcd peers, health checks). Set description on every rule.",
  resourceTypes: SG_RULE_TYPES,
  checkov: ["CKV_AWS_23"],
  fsbp: [],
  evaluate(r) {
    const rules = ruleList(r);
    if (rules.length === 0) return NA;
    const missing = rules.filter((x) => !nonEmpty(x.rule.description)).length;
    return missing === 0 ? OK : bad(`${missing} rule(s) without a description`);
  },
};

/** MP-SG-3: no ingress from 0.0.0.0/0 or ::/0. */
export const SG_NO_WORLD_INGRESS: PolicyRule = {
  id: "MP-SG-3",
  level: "error",
  info: "Security groups allow no ingress from 0.0.0.0/0 or ::/0.",
  explanation:
    "Cloud Temple Managed PostgreSQL: access only from the client's private network. Allow the clients' CIDRs or security groups (`network.allowedCidrs`, `network.allowedSecurityGroupIds`) instead.",
  resourceTypes: SG_RULE_TYPES,
  checkov: [],
  fsbp: ["EC2.18"],
  evaluate(r) {
    const ingress = ruleList(r).filter((x) => x.kind === "ingress");
    if (ingress.length === 0) return NA;
    const open = ingress.filter((x) =>
      [...strings(x.rule.cidr_blocks), ...strings(x.rule.ipv6_cidr_blocks), ...strings(x.rule.cidr_ipv4), ...strings(x.rule.cidr_ipv6)].some((c) =>
        WORLD.includes(c),
      ),
    );
    return open.length === 0 ? OK : bad(`ingress from anywhere on port(s) ${open.map((x) => `${x.rule.from_port ?? "?"}-${x.rule.to_port ?? "?"}`).join(", ")}`);
  },
};

/** MP-ELB-1: load balancers are internal. */
export const LB_INTERNAL: PolicyRule = {
  id: "MP-ELB-1",
  level: "error",
  info: "Load balancers are internal (internal = true).",
  explanation: "Cloud Temple Managed PostgreSQL: the endpoints are reachable only from the private network. Set internal = true.",
  resourceTypes: ["aws_lb", "aws_alb"],
  checkov: [],
  fsbp: [],
  evaluate(lb) {
    return isTrue(lb.config.internal) ? OK : bad("internal is not true (internet-facing)");
  },
};

/** MP-ELB-2: load balancers have deletion protection. */
export const LB_DELETION_PROTECTION: PolicyRule = {
  id: "MP-ELB-2",
  level: "warning",
  info: "Load balancers have deletion protection enabled.",
  explanation:
    "Deleting the endpoint load balancer cuts every client of the cluster and changes its DNS name. Set enable_deletion_protection = true; turn it off deliberately before decommissioning.",
  resourceTypes: ["aws_lb", "aws_alb"],
  checkov: ["CKV_AWS_150"],
  fsbp: ["ELB.6"],
  evaluate(lb) {
    return isTrue(lb.config.enable_deletion_protection) ? OK : bad("enable_deletion_protection is not true");
  },
};

/** The network rules. */
export const NETWORK_RULES: readonly PolicyRule[] = [SG_DESCRIPTION, SG_RULE_DESCRIPTION, SG_NO_WORLD_INGRESS, LB_INTERNAL, LB_DELETION_PROTECTION];
