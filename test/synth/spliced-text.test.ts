/**
 * SplicedText (constructs/private/tokens.ts): a large text with tokens, resolved in one pass,
 * synthesizes exactly as the same text given to cdktf as a plain string.
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { App, Fn, TerraformLocal, TerraformStack, TerraformVariable } from "cdktf";
import { SplicedText } from "../../constructs/private/tokens";

function synthesized(build: (app: App) => void): Record<string, any> {
  const outdir = mkdtempSync(join(tmpdir(), "spliced-"));
  try {
    const app = new App({ outdir, stackTraces: false });
    build(app);
    app.synth();
    const manifest = JSON.parse(readFileSync(join(outdir, "manifest.json"), "utf8"));
    return Object.fromEntries(
      Object.entries(manifest.stacks).map(([name, s]: [string, any]) => [name, JSON.parse(readFileSync(join(outdir, s.synthesizedStackPath), "utf8"))]),
    );
  } finally {
    rmSync(outdir, { recursive: true, force: true });
  }
}

/** A cloud-init-like text: braces, quotes, backslashes, unicode, and the tokens in between. */
function text(tokens: string[]): string {
  const body = Array.from({ length: 200 }, (_, i) => `  f${i}() { echo "line ${i} \\ ok é"; } # {x}\n`).join("");
  return tokens.map((t, i) => `#cloud-config ${i}\nvalue: '${t}'\n${body}`).join("") + "end }\n";
}

test("synthesizes the same value as the plain text, preparing runs included", () => {
  const out = synthesized((app) => {
    const stack = new TerraformStack(app, "one");
    const v = new TerraformVariable(stack, "v", { type: "string" });
    const tokens = [v.stringValue, Fn.upper(v.stringValue), `${v.stringValue}-x`, Fn.join(",", [v.stringValue, "y"])];
    new TerraformLocal(stack, "plain", text(tokens));
    new TerraformLocal(stack, "spliced", new SplicedText(text(tokens)));
  });
  const locals = out.one.locals;
  expect(locals.spliced).toBe(locals.plain);
  expect(locals.spliced).toContain("value: '${upper(var.v)}'");
  expect(locals.spliced).not.toContain("TfToken");
});

test("a cross-stack reference in the text is wired as cdktf wires it for the plain text", () => {
  const out = synthesized((app) => {
    const a = new TerraformStack(app, "a");
    const source = new TerraformVariable(a, "source", { type: "string" });
    const b = new TerraformStack(app, "b");
    new TerraformLocal(b, "spliced", new SplicedText(text([source.stringValue])));
  });
  expect(Object.keys(out.a.output ?? {}).some((k) => k.startsWith("cross-stack-output-"))).toBe(true);
  expect(out.b.locals.spliced).toMatch(/value: '\$\{data\.terraform_remote_state\.[^}]+\}'/);
});

test("a text with a literal ${ is left to cdktf, which resolves it as before", () => {
  const out = synthesized((app) => {
    const stack = new TerraformStack(app, "one");
    const v = new TerraformVariable(stack, "v", { type: "string" });
    const t = `a \${literal} b ${v.stringValue} }`;
    new TerraformLocal(stack, "plain", t);
    new TerraformLocal(stack, "spliced", new SplicedText(t));
  });
  expect(out.one.locals.spliced).toBe(out.one.locals.plain);
});
