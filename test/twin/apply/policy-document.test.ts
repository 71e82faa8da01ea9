/** `aws_iam_policy_document` rendered like the AWS provider (issue 10 twin): pure. */
import { crc32 } from "node:zlib";
import { decodeStringSet, renderPolicyDocument } from "./policy-document";

describe("renderPolicyDocument", () => {
  test("the provider's shape: indented Go JSON, statement key order, single values as strings, reverse-sorted sets", () => {
    const doc = renderPolicyDocument({
      statement: [
        {
          sid: "A1",
          actions: ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"],
          resources: ["arn:aws:s3:::b/*"],
          condition: [
            { test: "StringEquals", variable: "kms:ViaService", values: ["s3.eu-west-1.amazonaws.com", "secretsmanager.eu-west-1.amazonaws.com"] },
            { test: "Bool", variable: "aws:SecureTransport", values: ["false"] },
          ],
          principals: [{ type: "AWS", identifiers: ["arn:aws:iam::111122223333:root"] }],
        },
        { effect: "Deny", not_actions: ["iam:*"], not_resources: ["*"] },
      ],
    });
    expect(doc.json).toBe(
      [
        "{",
        '  "Version": "2012-10-17",',
        '  "Statement": [',
        "    {",
        '      "Sid": "A1",',
        '      "Effect": "Allow",',
        '      "Action": [',
        '        "s3:PutObject",',
        '        "s3:GetObject",',
        '        "s3:DeleteObject"',
        "      ],",
        '      "Resource": "arn:aws:s3:::b/*",',
        '      "Principal": {',
        '        "AWS": "arn:aws:iam::111122223333:root"',
        "      },",
        '      "Condition": {',
        '        "Bool": {',
        '          "aws:SecureTransport": "false"',
        "        },",
        '        "StringEquals": {',
        '          "kms:ViaService": [',
        '            "s3.eu-west-1.amazonaws.com",',
        '            "secretsmanager.eu-west-1.amazonaws.com"',
        "          ]",
        "        }",
        "      }",
        "    },",
        "    {",
        '      "Effect": "Deny",',
        '      "NotAction": "iam:*",',
        '      "NotResource": "*"',
        "    }",
        "  ]",
        "}",
      ].join("\n"),
    );
    expect(JSON.parse(doc.minified_json)).toEqual(JSON.parse(doc.json));
    expect(doc.minified_json).not.toMatch(/\n/);
    expect(doc.id).toBe(String(crc32(doc.json)));
  });

  test('a principal {type "*", identifiers ["*"]} is "*"; {type "AWS", identifiers ["*"]} stays a map', () => {
    const star = JSON.parse(renderPolicyDocument({ statement: [{ actions: ["s3:*"], principals: [{ type: "*", identifiers: ["*"] }] }] }).json);
    expect(star.Statement[0].Principal).toBe("*");
    const aws = JSON.parse(renderPolicyDocument({ statement: [{ actions: ["s3:*"], principals: [{ type: "AWS", identifiers: ["*"] }] }] }).json);
    expect(aws.Statement[0].Principal).toEqual({ AWS: "*" });
  });

  test("principal types sorted, several identifiers reverse-sorted, &{ policy variables become ${", () => {
    const d = JSON.parse(
      renderPolicyDocument({
        statement: [
          {
            actions: ["s3:GetObject"],
            resources: ["arn:aws:s3:::b/&{aws:username}/*"],
            principals: [
              { type: "Service", identifiers: ["ec2.amazonaws.com"] },
              { type: "AWS", identifiers: ["arn:aws:iam::1:role/a", "arn:aws:iam::1:role/b"] },
            ],
          },
        ],
      }).json,
    );
    expect(Object.keys(d.Statement[0].Principal)).toEqual(["AWS", "Service"]);
    expect(d.Statement[0].Principal.AWS).toEqual(["arn:aws:iam::1:role/b", "arn:aws:iam::1:role/a"]);
    expect(d.Statement[0].Resource).toBe("arn:aws:s3:::b/${aws:username}/*");
  });

  test("Go's HTML-safe escapes for <, >, & in strings", () => {
    const doc = renderPolicyDocument({ statement: [{ actions: ["s3:*"], resources: ["arn:aws:s3:::a<b>&c"] }] });
    expect(doc.json).toContain('"Resource": "arn:aws:s3:::a\\u003cb\\u003e\\u0026c"');
    expect(JSON.parse(doc.json).Statement[0].Resource).toBe("arn:aws:s3:::a<b>&c");
  });

  test("refuses what the provider refuses", () => {
    expect(() => renderPolicyDocument({ statement: [{ sid: "S", actions: ["a:b"] }, { sid: "S", actions: ["a:c"] }] })).toThrow(/duplicate Sid \(S\)/);
    expect(() => renderPolicyDocument({ statement: [{ sid: "not-alnum", actions: ["a:b"] }] })).toThrow(/alphanumeric/);
    expect(() => renderPolicyDocument({ statement: [{ effect: "Maybe" }] })).toThrow(/Allow or Deny/);
    expect(() => renderPolicyDocument({ version: "2020-01-01" })).toThrow(/version/);
  });

  test("an empty document has the version only", () => {
    expect(renderPolicyDocument({}).json).toBe('{\n  "Version": "2012-10-17"\n}');
  });
});

describe("decodeStringSet", () => {
  test("one element is a string; several are a deduplicated reverse-sorted list (Go byte order)", () => {
    expect(decodeStringSet(["a"])).toBe("a");
    expect(decodeStringSet(["a", "a"])).toBe("a");
    expect(decodeStringSet(["B", "a", "c"])).toEqual(["c", "a", "B"]);
  });
});
