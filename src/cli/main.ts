#!/usr/bin/env node
import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { Command } from "commander";
import { registerValidate } from "./validate";
import { registerReview } from "./review";
import { registerPolicy } from "./policy";

/** The package version, from the nearest package.json above this file (works from src/ and dist/). */
function packageVersion(): string {
  let dir = __dirname;
  for (let i = 0; i < 5; i++) {
    const candidate = join(dir, "package.json");
    if (existsSync(candidate)) return JSON.parse(readFileSync(candidate, "utf8")).version;
    dir = dirname(dir);
  }
  return "0.0.0";
}

/** Builds the `managed-postgres` command line; each subcommand registers itself from its own file. */
export function buildProgram(): Command {
  const program = new Command();
  program
    .name("managed-postgres")
    .description("cdktf-managed-postgres: validate cluster specs, review plans, check policies")
    .version(packageVersion())
    // an extra argument or an unknown option is an error (exit 1), never ignored
    .allowExcessArguments(false)
    .showSuggestionAfterError(true);
  registerValidate(program);
  registerReview(program);
  registerPolicy(program);
  return program;
}

if (require.main === module) {
  // an input that cannot be read or parsed: the message once (it names the file), no stack trace
  buildProgram().parseAsync(process.argv).catch((err: unknown) => {
    process.stderr.write(`managed-postgres: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 2;
  });
}
