/**
 * configLocals (src/terraform/config.ts): string locals with bare `${local.x}` references to
 * other string locals spliced in, recursively; nothing else touched.
 */
import { configLocals } from "../../src/terraform";

test("splices bare references to string locals, recursively, and leaves every other interpolation", () => {
  const config = {
    locals: {
      a: "A${local.b}|${local.c}|${sha256(local.b)}|$${local.b}|$$${local.b}|${local.missing}|${local.n}",
      b: "B${local.c}",
      c: "C",
      n: { storage_gib: 5 },
    },
  };
  expect(configLocals(config)).toEqual({
    a: "ABC|C|${sha256(local.b)}|$${local.b}|$$BC|${local.missing}|${local.n}",
    b: "BC",
    c: "C",
    n: { storage_gib: 5 },
  });
  expect(config.locals.a.startsWith("A${local.b}")).toBe(true); // the input is not modified
});

test("a reference cycle is left unexpanded where it closes; no locals, no output", () => {
  expect(configLocals({ locals: { x: "x${local.y}", y: "y${local.x}" } })).toEqual({ x: "xy${local.x}", y: "y${local.x}" });
  expect(configLocals({})).toEqual({});
  expect(configLocals(null)).toEqual({});
});
