/**
 * `cdktf-managed-postgres/policy`: the security policy pack — its pure rules and report
 * (`runPolicyPack`, `POLICY_RULES`, `KUBERNETES_RULES`, …) and the synth-time construct API
 * (`PolicyPack.enforce`, `PolicyPack.suppress`, `PolicyPack.check`). See docs/policy.md.
 */
export * from "../src/rules/policy";
export * from "./policy-pack";
