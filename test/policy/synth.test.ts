import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { App, TerraformStack, Testing } from "cdktf";
import { AwsProvider } from "@cdktf/provider-aws/lib/provider";
import { Lb } from "@cdktf/provider-aws/lib/lb";
import { SnsTopic } from "@cdktf/provider-aws/lib/sns-topic";
import { Construct } from "constructs";
import { PolicyPack } from "../../constructs/policy-pack";
import { KUBERNETES_RULES, POLICY_RULES, loadStacksFromDir, runPolicyPack } from "../../src/rules/policy";
import { buildProgram } from "../../src/cli/main";

function stackWith(build: (s: TerraformStack) => void): { app: App; stack: TerraformStack } {
  const app = Testing.app();
  const stack = new TerraformStack(app, "s");
  new AwsProvider(stack, "aws", { region: "eu-west-1" });
  build(stack);
  return { app, stack };
}

function outdir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), "h6-policy-"));
}

describe("PolicyPack at synth", () => {
  test("enforce calls on one stack add up in any order: the stack runs the union of their rules", () => {
    const messages = (order: "k8s-first" | "default-first") => {
      const { app } = stackWith((s) => {
        const calls = [() => PolicyPack.enforce(s, { rules: KUBERNETES_RULES }), () => PolicyPack.enforce(s)];
        (order === "k8s-first" ? calls : calls.reverse()).forEach((c) => c());
        new Lb(s, "public-nlb", { loadBalancerType: "network", internal: false, enableDeletionProtection: true });
      });
      try {
        app.synth();
        return "synthesized";
      } catch (e) {
        return (e as Error).message;
      }
    };
    // The AWS rule MP-ELB-1 runs whether the default call came first or second.
    expect(messages("k8s-first")).toMatch(/MP-ELB-1 error\] s\/aws_lb\.public-nlb/);
    expect(messages("default-first")).toMatch(/MP-ELB-1 error\] s\/aws_lb\.public-nlb/);
  });

  describe("the stack is resolved once less per synth when nothing can change it after the pack's check", () => {
    /** Synthesizes a stack holding one SNS topic, counting the topic's resolutions; `build` adds more. */
    const synthCounting = (enforce: boolean, build: (s: TerraformStack, topic: SnsTopic) => void = () => undefined) => {
      const dir = outdir();
      const app = new App({ outdir: dir });
      const s = new TerraformStack(app, "s");
      new AwsProvider(s, "aws", { region: "eu-west-1" });
      if (enforce) PolicyPack.enforce(s);
      const topic = new SnsTopic(s, "topic", { name: "t", kmsMasterKeyId: "alias/aws/sns" });
      const original = topic.toTerraform.bind(topic);
      let calls = 0;
      topic.toTerraform = () => {
        calls++;
        return original();
      };
      build(s, topic);
      app.synth();
      const written = JSON.parse(fs.readFileSync(path.join(dir, "stacks", "s", "cdk.tf.json"), "utf8"));
      fs.rmSync(dir, { recursive: true, force: true });
      return { s, calls, written };
    };

    test("only read-only validations (the library's and cdktf's): cdktf writes the JSON the pack checked, and nothing is left behind", () => {
      const without = synthCounting(false);
      const withPack = synthCounting(true);
      // cdktf resolves each element when it prepares the stack and when it writes it; the
      // pack's validation resolves it once more and hands that result to cdktf's write.
      expect(without.calls).toBe(2);
      expect(withPack.calls).toBe(2);
      expect(withPack.written).toEqual(JSON.parse(JSON.stringify(withPack.s.toTerraform())));
      expect(Object.prototype.hasOwnProperty.call(withPack.s, "toTerraform")).toBe(false);
    });

    test("a user's validation that changes the stack after the pack's check: the written JSON has the change", () => {
      const r = synthCounting(true, (s, topic) => {
        topic.node.addValidation({
          validate: () => {
            topic.addOverride("display_name", "changed by a validation");
            new SnsTopic(s, "late", { name: "late", kmsMasterKeyId: "alias/aws/sns" });
            return [];
          },
        });
      });
      expect(r.calls).toBe(3);
      expect(r.written.resource.aws_sns_topic.topic.display_name).toBe("changed by a validation");
      expect(r.written.resource.aws_sns_topic.late.name).toBe("late");
    });

    test("a construct with a custom-synthesis hook (run after the validations) that changes the stack: the written JSON has the change", () => {
      const r = synthCounting(true, (s, topic) => {
        Object.defineProperty(topic, Symbol.for("cdktf/customSynthesis"), {
          value: { onSynthesize: () => topic.addOverride("display_name", "changed at custom synthesis") },
        });
      });
      expect(r.calls).toBe(3);
      expect(r.written.resource.aws_sns_topic.topic.display_name).toBe("changed at custom synthesis");
    });

    test("a stack changed after a failed synth is resolved afresh", () => {
      const { app, stack } = stackWith((s) => {
        PolicyPack.enforce(s);
        new Lb(s, "public-nlb", { loadBalancerType: "network", internal: false, enableDeletionProtection: true });
      });
      expect(() => app.synth()).toThrow(/MP-ELB-1/);
      new SnsTopic(stack, "late", { name: "late", kmsMasterKeyId: "alias/aws/sns" });
      expect((stack.toTerraform() as any).resource.aws_sns_topic.late.name).toBe("late");
    });
  });

  test("enforce refuses a different rule under an id the stack already enforces", () => {
    const { stack } = stackWith((s) => PolicyPack.enforce(s));
    const impostor = { ...POLICY_RULES[0] };
    expect(() => PolicyPack.enforce(stack, { rules: [impostor] })).toThrow(new RegExp(`already enforces another rule with id "${POLICY_RULES[0].id}"`));
  });

  test("an unsuppressed error finding stops synth, naming the rule, the resource address and the fix", () => {
    const { app } = stackWith((s) => {
      PolicyPack.enforce(s);
      new Lb(s, "public-nlb", { loadBalancerType: "network", internal: false, enableDeletionProtection: true });
    });
    expect(() => app.synth()).toThrow(/MP-ELB-1 error\] s\/aws_lb\.public-nlb.*internal is not true.*PolicyPack\.suppress/s);
  });

  test("a suppression with a reason lets synth pass and travels in the resource's // metadata", () => {
    const dir = outdir();
    const app = new App({ outdir: dir });
    const s = new TerraformStack(app, "s");
    new AwsProvider(s, "aws", { region: "eu-west-1" });
    PolicyPack.enforce(s);
    const lb = new Lb(s, "public-nlb", { loadBalancerType: "network", internal: false, enableDeletionProtection: true });
    PolicyPack.suppress(lb, "MP-ELB-1", "demo endpoint, reviewed");
    app.synth();
    const json = JSON.parse(fs.readFileSync(path.join(dir, "stacks", "s", "cdk.tf.json"), "utf8"));
    expect(json.resource.aws_lb["public-nlb"]["//"].managed_postgres_policy).toEqual({
      suppressions: [{ id: "MP-ELB-1", reason: "demo endpoint, reviewed" }],
    });
    const report = runPolicyPack(loadStacksFromDir(dir));
    expect(report.findings).toEqual([]);
    expect(report.suppressed.map((f) => [f.ruleId, f.reason])).toEqual([["MP-ELB-1", "demo endpoint, reviewed"]]);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test("a suppression on a scope covers the resources under it", () => {
    const { stack } = stackWith((s) => {
      const group = new Construct(s, "endpoints");
      new Lb(group, "a", { internal: false, enableDeletionProtection: true });
      new Lb(group, "b", { internal: false, enableDeletionProtection: true });
      PolicyPack.suppress(group, "MP-ELB-1", "public demo");
    });
    const report = PolicyPack.check(stack);
    expect(report.findings).toEqual([]);
    expect(report.suppressed).toHaveLength(2);
  });

  test("warning findings become warning annotations and do not stop synth", () => {
    const { app, stack } = stackWith((s) => {
      PolicyPack.enforce(s);
      new SnsTopic(s, "plain-topic", { name: "t" });
    });
    app.synth();
    const warnings = stack.node.findAll().flatMap((c) => c.node.metadata.filter((m) => m.type === "@cdktf/warn").map((m) => String(m.data)));
    expect(warnings.some((w) => w.includes("MP-SNS-1 warning"))).toBe(true);
  });

  test("suppress refuses an unknown rule id", () => {
    const { stack } = stackWith(() => undefined);
    expect(() => PolicyPack.suppress(stack, "MP-NOPE-1", "x")).toThrow(/unknown rule id "MP-NOPE-1"; rules are MP-S3-1/);
  });

  test("suppress refuses an empty reason", () => {
    const { stack } = stackWith(() => undefined);
    expect(() => PolicyPack.suppress(stack, "MP-ELB-1", "  ")).toThrow(/needs a non-empty reason/);
  });

  test("enforce twice on one stack adds one validation", () => {
    const { stack } = stackWith((s) => {
      PolicyPack.enforce(s);
      PolicyPack.enforce(s);
    });
    expect(stack.node.validate()).toEqual([]);
  });
});

describe("managed-postgres policy (CLI)", () => {
  async function run(args: string[]): Promise<{ out: string; err: string; code: number }> {
    let out = "";
    let err = "";
    const so = jest.spyOn(process.stdout, "write").mockImplementation((s: string | Uint8Array) => ((out += String(s)), true));
    const se = jest.spyOn(process.stderr, "write").mockImplementation((s: string | Uint8Array) => ((err += String(s)), true));
    process.exitCode = 0;
    try {
      await buildProgram().exitOverride().parseAsync(["node", "managed-postgres", ...args]);
    } finally {
      so.mockRestore();
      se.mockRestore();
    }
    const code = Number(process.exitCode ?? 0);
    process.exitCode = 0;
    return { out, err, code };
  }

  function writeStack(dir: string, name: string, tf: object): void {
    fs.mkdirSync(path.join(dir, "stacks", name), { recursive: true });
    fs.writeFileSync(path.join(dir, "stacks", name, "cdk.tf.json"), JSON.stringify(tf));
  }

  test("exits 1 and lists every finding of every stack in Markdown", async () => {
    const dir = outdir();
    writeStack(dir, "one", { resource: { aws_lb: { nlb: { internal: false, enable_deletion_protection: true } } } });
    writeStack(dir, "two", { resource: { aws_sns_topic: { t: { name: "t" } } } });
    const { out, code } = await run(["policy", dir]);
    expect(code).toBe(1);
    expect(out).toContain("| MP-ELB-1 | error | one | `aws_lb.nlb` |");
    expect(out).toContain("| MP-SNS-1 | warning | two | `aws_sns_topic.t` |");
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test("exits 0 with --format json when every finding is suppressed, and lists the suppression", async () => {
    const dir = outdir();
    writeStack(dir, "one", {
      resource: { aws_sns_topic: { t: { name: "t", "//": { managed_postgres_policy: { suppressions: [{ id: "MP-SNS-1", reason: "no payload" }] } } } } },
    });
    const { out, code } = await run(["policy", dir, "--format", "json"]);
    expect(code).toBe(0);
    const report = JSON.parse(out);
    expect(report.findings).toEqual([]);
    expect(report.suppressed[0]).toMatchObject({ ruleId: "MP-SNS-1", reason: "no payload", stack: "one" });
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test("exits 2 on a directory without synthesized stacks", async () => {
    const dir = outdir();
    const { err, code } = await run(["policy", dir]);
    expect(code).toBe(2);
    expect(err).toMatch(/no synthesized stack found/);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test("refuses an unknown --format", async () => {
    const dir = outdir();
    writeStack(dir, "one", { resource: {} });
    const { err, code } = await run(["policy", dir, "--format", "html"]);
    expect(code).toBe(2);
    expect(err).toMatch(/--format must be "markdown" or "json"/);
    fs.rmSync(dir, { recursive: true, force: true });
  });
});
