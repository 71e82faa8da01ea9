/** Template parsing and reference extraction of the twin's apply (issue 10): pure, hostile strings included. */
import { escapeLiteral, escapeValue, findReferences, isLiteral, parseTemplate, rewriteReferences, unescapeLiteral } from "./template";

const addresses = (t: string) => findReferences(t).map((r) => r.address);

describe("parseTemplate", () => {
  test("splits literal text, interpolations and directives, keeping offsets", () => {
    const t = "a ${x.y} b %{ if true }c%{ endif }";
    const parts = parseTemplate(t);
    expect(parts.map((p) => [p.kind, t.slice(p.start, p.end)])).toEqual([
      ["literal", "a "],
      ["interpolation", "${x.y}"],
      ["literal", " b "],
      ["directive", "%{ if true }"],
      ["literal", "c"],
      ["directive", "%{ endif }"],
    ]);
    expect(t.slice(parts[1].exprStart, parts[1].exprEnd)).toBe("x.y");
  });

  test("$${ and %%{ are escapes, not interpolations; a lone $ or % is literal", () => {
    for (const t of ["$${aws_vpc.x.id}", "%%{ if aws_vpc.x.id }", "100% $ { $x", "$$", "%", "$"]) {
      expect(parseTemplate(t).every((p) => p.kind === "literal")).toBe(true);
      expect(isLiteral(t)).toBe(true);
      expect(findReferences(t)).toEqual([]);
    }
    // Left to right, as Terraform scans: `$$${x}` is `$` + the escape `$${`, and so is any run of `$` before `{`
    // (terraform console: "$$$${1+1}" evaluates to "$$${1+1}").
    expect(isLiteral("$$${local.a}")).toBe(true);
    expect(isLiteral("$$$${local.a}")).toBe(true);
    expect(unescapeLiteral("$$$${1+1}")).toBe("$$${1+1}");
  });

  test("finds the end of an interpolation past nested braces, quoted strings with braces and nested templates", () => {
    const t = '${{ a = "}" , b = { c = local.x } }["a"]}tail ${"q${local.y}\\"}"} ${[for v in data.aws_x.y : v if v != "}"]}';
    const parts = parseTemplate(t);
    expect(parts.filter((p) => p.kind === "interpolation")).toHaveLength(3);
    expect(t.slice(parts[1].start, parts[1].end)).toBe("tail ");
    expect(addresses(t)).toEqual(["local.x", "local.y", "data.aws_x.y"]);
  });

  test("throws on an unterminated interpolation or quoted string", () => {
    expect(() => parseTemplate("${local.x")).toThrow(/unterminated interpolation at offset 0/);
    expect(() => parseTemplate('${"abc}')).toThrow(/unterminated quoted string/);
  });
});

describe("findReferences", () => {
  test("managed resources, data sources, locals, each/count/self, with hyphens in names", () => {
    const t =
      "${aws_network_interface.cms_slot-0_network-interface_0A29D4CD.private_ip}:8008 " +
      "${base64gzip(local.cms_slot-0_launch-template-user-data_050A7943)} " +
      "${toset(data.aws_ebs_volumes.cms_deployed-volume-ids_FBBE6782.ids)} ${each.value} ${count.index} ${self.id}";
    expect(findReferences(t).map((r) => [r.kind, r.address, t.slice(r.start, r.end)])).toEqual([
      ["managed", "aws_network_interface.cms_slot-0_network-interface_0A29D4CD", "aws_network_interface.cms_slot-0_network-interface_0A29D4CD"],
      ["local", "local.cms_slot-0_launch-template-user-data_050A7943", "local.cms_slot-0_launch-template-user-data_050A7943"],
      ["data", "data.aws_ebs_volumes.cms_deployed-volume-ids_FBBE6782", "data.aws_ebs_volumes.cms_deployed-volume-ids_FBBE6782"],
      ["each", "each", "each"],
      ["count", "count", "count"],
      ["self", "self", "self"],
    ]);
  });

  test("ignores function names, attribute names, for-expression variables, keywords, numbers and comments", () => {
    const t =
      '${alltrue([for v in data.aws_ebs_volume.d : v.size <= local.p.storage_gib if lookup(v.tags, "aws_vpc.no", "") == "0"])} ' +
      "${element(x.aws_vpc.y, 1.5e3) /* aws_vpc.c */ # aws_vpc.h\n} ${provider::aws::arn_parse(local.z)}";
    expect(addresses(t)).toEqual(["data.aws_ebs_volume.d", "local.p", "local.z"]);
  });

  test("references in quoted strings of an expression are found, literal text around them is not", () => {
    const t = 'aws_vpc.literal.id ${"arn:${data.aws_partition.p.partition}:s3:::${aws_s3_bucket.b.bucket}/*"}';
    expect(addresses(t)).toEqual(["data.aws_partition.p", "aws_s3_bucket.b"]);
  });

  test("references in directives and heredocs", () => {
    const t = "%{ for s in aws_subnet.all.ids }x%{ endfor }${<<EOT\nline ${local.h}\nEOT\n}";
    expect(addresses(t)).toEqual(["aws_subnet.all", "local.h"]);
  });

  test("a custom resource-type predicate decides which roots are resources", () => {
    expect(findReferences("${foo_bar.x.id} ${aws_vpc.y.id}", (n) => n === "aws_vpc").map((r) => r.address)).toEqual(["aws_vpc.y"]);
  });
});

describe("rewriteReferences", () => {
  test("rewrites only the address part of each reference, keeps the rest byte for byte", () => {
    const t = 'a $${aws_vpc.x.id} ${aws_vpc.x.id} "${data.aws_region.r.region}" ${local.l-1["k"]}';
    const refs = findReferences(t);
    const out = rewriteReferences(t, refs, (r) => (r.kind === "data" ? "local.d" : r.kind === "local" ? "local.q" : "local.r"));
    expect(out).toBe('a $${aws_vpc.x.id} ${local.r.id} "${local.d.region}" ${local.q["k"]}');
    expect(rewriteReferences(t, refs, () => undefined)).toBe(t);
  });
});

describe("escaping", () => {
  test("escapeLiteral and unescapeLiteral are inverse on any text", () => {
    for (const s of ["${x}", "%{ if }", "$${y}", "$$${z}", "a $ b % c {", "${", "}${%{"]) {
      expect(unescapeLiteral(escapeLiteral(s))).toBe(s);
      expect(isLiteral(escapeLiteral(s))).toBe(true);
    }
    expect(escapeLiteral("$${z}")).toBe("$$${z}");
  });

  test("escapeValue escapes strings and object keys at any depth, keeps other values", () => {
    expect(escapeValue({ "k${x}": ["${a}", 1, null, true, { "%{b}": "c" }] })).toEqual({ "k$${x}": ["$${a}", 1, null, true, { "%%{b}": "c" }] });
  });
});
